/* vault.c - portable secrets: a value stored once, sealed per tenant, and
 * materialised into whichever provider's store a workload lands on.
 *
 * Each tenant's values are sealed under its own key, derived from the
 * master key with crypto_kdf (subkey id from the tenant's name), and the
 * additional data binds each sealed value to (tenant, name, version): a
 * row copied to another tenant or name, or renumbered, fails
 * authentication instead of handing one workload another's secret.
 * Plain values and derived keys live only in locked memory, wiped on
 * release. */
#include "config.h"
#include "identity/identity.h"
#include "base/util.h"
#include "state/state.h"

#include <stdlib.h>
#include <string.h>

int fbi_secret_name_check(const char *name, char **why)
{
    *why = NULL;
    size_t n = strlen(name);
    int bad = n == 0 || n > 63 || name[0] < 'a' || name[0] > 'z';
    for (size_t i = 0; i < n && !bad; i++) {
        char c = name[i];
        bad = !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
    }
    /* the drivers join tenant and name with '/', '_' or '.' in the
     * providers' stores, characters no name holds, so no two (tenant,
     * name) pairs map to one provider secret */
    if (bad)
        *why = fbi_xasprintf("secret name '%s' is not a lowercase letter followed by up to 62 "
                             "lowercase letters, digits and '-' (a name every provider's secret "
                             "store accepts)", name);
    return bad ? -1 : 0;
}

/* tenant NUL name NUL version: names hold no NUL, so this is unambiguous */
static char *secret_ad(const char *tenant, const char *name, long long version, size_t *n)
{
    char v[24];
    snprintf(v, sizeof v, "%lld", version);
    size_t tl = strlen(tenant), nl = strlen(name), vl = strlen(v);
    *n = tl + 1 + nl + 1 + vl;
    char *ad = fbi_xmalloc(*n + 1);
    memcpy(ad, tenant, tl + 1);
    memcpy(ad + tl + 1, name, nl + 1);
    memcpy(ad + tl + 1 + nl + 1, v, vl + 1);
    return ad;
}

static unsigned char *tenant_key(const fbi_master_key *mk, const char *tenant)
{
    unsigned char *k = fbi_locked_alloc(32);
    fbi_master_derive(mk, "fbtenant", fbi_tenant_subkey_id(tenant), k);
    return k;
}

static json_t *rows(fb_store *store, const char *tenant, const char *name, fb_diag *diag,
                    fb_status *st)
{
    char *text = NULL;
    *st = fbi_store_secret_list(store, tenant, name, &text, diag);
    json_t *r = *st == FB_OK ? json_loads(text, 0, NULL) : NULL;
    free(text);
    if (*st == FB_OK && !r) *st = FB_INTERNAL;
    return r;
}

fb_status fbi_secret_put(const fbi_master_key *mk, fb_store *store, const char *tenant,
                         const char *name, const unsigned char *value, size_t n,
                         long long *version, fb_diag *diag)
{
    *version = 0;
    char *why = NULL;
    if (fbi_secret_name_check(name, &why) != 0) {
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, why, NULL);
        free(why);
        return FB_INVALID;
    }
    if (n > FBI_SECRET_MAX) {
        char *m = fbi_xasprintf("the value is %zu bytes; at most %d (what the providers' secret "
                                "stores accept)", n, FBI_SECRET_MAX);
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, m, NULL);
        free(m);
        return FB_INVALID;
    }
    /* the next version is read and written in one transaction */
    fb_status st = fb_store_begin(store, diag);
    if (st != FB_OK) return st;
    json_t *r = rows(store, tenant, name, diag, &st);
    long long v = 1;
    size_t i;
    json_t *e;
    json_array_foreach(r, i, e) {
        long long ev = json_integer_value(json_object_get(e, "version"));
        if (ev >= v) v = ev + 1;
    }
    json_decref(r);
    if (st == FB_OK) {
        size_t adn;
        char *ad = secret_ad(tenant, name, v, &adn);
        unsigned char *k = tenant_key(mk, tenant);
        char *sealed = fbi_seal(k, value, n, ad, adn);
        fbi_locked_free(k);
        free(ad);
        st = fbi_store_secret_put(store, tenant, name, v, sealed, diag);
        free(sealed);
    }
    if (st == FB_OK) st = fb_store_commit(store, diag);
    else fb_store_rollback(store);
    if (st == FB_OK) *version = v;
    return st;
}

/* Opens one row; 0 or -1. */
static int open_row(const fbi_master_key *mk, const json_t *row, unsigned char **value, size_t *n)
{
    const char *tenant = json_string_value(json_object_get(row, "tenant"));
    const char *name = json_string_value(json_object_get(row, "name"));
    long long v = json_integer_value(json_object_get(row, "version"));
    size_t adn;
    char *ad = secret_ad(tenant, name, v, &adn);
    unsigned char *k = tenant_key(mk, tenant);
    int rc = fbi_unseal(k, json_string_value(json_object_get(row, "sealed")), ad, adn, value, n);
    fbi_locked_free(k);
    free(ad);
    return rc;
}

fb_status fbi_secret_open(const fbi_master_key *mk, fb_store *store, const char *tenant,
                          const char *name, long long version, unsigned char **value, size_t *n,
                          long long *got, fb_diag *diag)
{
    *value = NULL;
    *n = 0;
    *got = 0;
    fb_status st;
    json_t *r = rows(store, tenant, name, diag, &st);
    if (st != FB_OK) return st;
    json_t *row = NULL, *e;
    size_t i;
    json_array_foreach(r, i, e) {
        long long ev = json_integer_value(json_object_get(e, "version"));
        if (version ? ev == version : 1) row = e; /* rows come in version order */
    }
    if (!row) {
        char *m = version ? fbi_xasprintf("secret %s/%s has no version %lld", tenant, name, version)
                          : fbi_xasprintf("no secret %s/%s in the store", tenant, name);
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, m,
                    "store it with: fedbroker secret put NAME --tenant TENANT < FILE");
        free(m);
        json_decref(r);
        return FB_NOTFOUND;
    }
    long long v = json_integer_value(json_object_get(row, "version"));
    if (open_row(mk, row, value, n) != 0) {
        char *m = fbi_xasprintf("secret %s/%s version %lld does not open: its sealed value was "
                                "changed, or moved from another tenant, name or version, or the "
                                "master key is not the one that sealed it", tenant, name, v);
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, m,
                    "put the value again (fedbroker secret put), or restore the state and the "
                    "master key that belong together");
        free(m);
        json_decref(r);
        return FB_INVALID;
    }
    *got = v;
    json_decref(r);
    return FB_OK;
}

fb_status fbi_secret_list(fb_store *store, const char *tenant, json_t **out, fb_diag *diag)
{
    *out = NULL;
    fb_status st;
    json_t *r = rows(store, tenant, NULL, diag, &st);
    if (st != FB_OK) return st;
    json_t *list = json_array(), *last = NULL, *e;
    size_t i;
    json_array_foreach(r, i, e) {
        /* rows come ordered by tenant, name, version: one entry per name */
        if (!last || !json_equal(json_object_get(last, "tenant"), json_object_get(e, "tenant")) ||
            !json_equal(json_object_get(last, "name"), json_object_get(e, "name"))) {
            last = json_pack("{s:O, s:O, s:i, s:O, s:O, s:O}", "tenant", json_object_get(e, "tenant"),
                             "name", json_object_get(e, "name"), "versions", 0, "latest",
                             json_object_get(e, "version"), "created_at",
                             json_object_get(e, "created_at"), "updated_at",
                             json_object_get(e, "created_at"));
            json_array_append_new(list, last);
        }
        json_object_set_new(last, "versions",
                            json_integer(json_integer_value(json_object_get(last, "versions")) + 1));
        json_object_set(last, "latest", json_object_get(e, "version"));
        json_object_set(last, "updated_at", json_object_get(e, "created_at"));
    }
    json_decref(r);
    *out = list;
    return FB_OK;
}

fb_status fbi_secret_verify(const fbi_master_key *mk, fb_store *store, const char *tenant,
                            json_t **out, fb_diag *diag)
{
    *out = NULL;
    fb_status st;
    json_t *r = rows(store, tenant, NULL, diag, &st);
    if (st != FB_OK) return st;
    json_t *list = json_array(), *e;
    size_t i;
    json_array_foreach(r, i, e) {
        unsigned char *v = NULL;
        size_t n = 0;
        int good = open_row(mk, e, &v, &n) == 0;
        fbi_locked_free(v);
        json_array_append_new(list, json_pack("{s:O, s:O, s:O, s:b}", "tenant",
                                              json_object_get(e, "tenant"), "name",
                                              json_object_get(e, "name"), "version",
                                              json_object_get(e, "version"), "ok", good));
    }
    json_decref(r);
    *out = list;
    return FB_OK;
}
