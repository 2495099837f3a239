/* keyring.c - the issuer's signing keys: made with OpenSSL, sealed under
 * a key derived from the master key (the additional data binds each
 * sealed private key to its kid, so rows cannot be swapped), published as
 * a JWK Set, rotated with an overlap:
 *
 *   next     published, does not sign yet: relying parties that cache the
 *            JWKS learn it before the first token it signs;
 *   current  signs (one per algorithm);
 *   retired  no longer signs, stays published FBI_TOKEN_MAX_TTL after its
 *            retirement, when every token it signed has expired; then it
 *            is deleted.
 *
 * The kid is the key's RFC 7638 thumbprint, so anyone can check it
 * against the published key. */
#include "config.h"
#include "identity/identity.h"
#include "base/util.h"
#include "state/state.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const char *const algs[] = {"RS256", "ES256"};
#define N_ALGS 2

struct fbi_keyring {
    const fbi_identity_cfg *cfg;
    fb_store *store;
    fbi_master_key *mk;
    json_t *keys; /* the rows of signing_keys */
};

static int64_t now_s(void)
{
    int64_t t = 0;
    fbi_now(&t, NULL); /* checked by main() before any verb runs */
    return t;
}

/* The sealing key of signing keys (locked memory, fbi_locked_free). */
static unsigned char *sealing_key(const fbi_keyring *k)
{
    unsigned char *key = fbi_locked_alloc(32);
    fbi_master_derive(k->mk, "fbsignky", 1, key);
    return key;
}

static char *key_ad(const char *kid)
{
    return fbi_xasprintf("fedbroker signing key\n%s", kid);
}

/* Makes a key for alg, seals it and stores it in state. */
static fb_status make_key(fbi_keyring *k, const char *alg, const char *state, fb_diag *diag)
{
    EVP_PKEY *key = strcmp(alg, "RS256") == 0 ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
    if (!key) {
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, "OpenSSL could not make a signing key",
                    NULL);
        return FB_INTERNAL;
    }
    json_t *jwk = fbi_jwk_public(key, alg, NULL);
    char *kid = fbi_jwk_thumbprint(jwk);
    json_object_set_new(jwk, "kid", json_string(kid));
    unsigned char *der = NULL;
    int n = i2d_PrivateKey(key, &der);
    EVP_PKEY_free(key);
    fb_status st = FB_INTERNAL;
    if (n > 0) {
        unsigned char *sk = sealing_key(k);
        char *ad = key_ad(kid);
        char *sealed = fbi_seal(sk, der, (size_t)n, ad, strlen(ad));
        fbi_locked_free(sk);
        OPENSSL_clear_free(der, (size_t)n);
        char *pub = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS);
        st = fbi_store_key_put(k->store, kid, alg, state, pub, sealed, now_s(), diag);
        free(pub);
        free(sealed);
        free(ad);
    } else {
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, "OpenSSL could not encode the key", NULL);
    }
    free(kid);
    json_decref(jwk);
    return st;
}

static fb_status reload(fbi_keyring *k, fb_diag *diag)
{
    char *text = NULL;
    fb_status st = fbi_store_key_list(k->store, &text, diag);
    if (st != FB_OK) return st;
    json_decref(k->keys);
    k->keys = json_loads(text, 0, NULL);
    free(text);
    return k->keys ? FB_OK : FB_INTERNAL;
}

/* borrowed: alg's key in state, or NULL. */
static json_t *find(const fbi_keyring *k, const char *alg, const char *state)
{
    size_t i;
    json_t *r;
    json_array_foreach(k->keys, i, r) {
        if (strcmp(json_string_value(json_object_get(r, "alg")), alg) == 0 &&
            strcmp(json_string_value(json_object_get(r, "state")), state) == 0)
            return r;
    }
    return NULL;
}

fb_status fbi_keyring_open(const fbi_identity_cfg *cfg, fb_store *store, fbi_keyring **out,
                           fb_diag *diag)
{
    *out = NULL;
    fbi_keyring *k = fbi_xcalloc(1, sizeof *k);
    k->cfg = cfg;
    k->store = store;
    fb_status st = fbi_master_key_load(cfg, 1, &k->mk, diag);
    if (st == FB_OK) st = fb_store_begin(store, diag);
    if (st != FB_OK) {
        fbi_keyring_free(k);
        return st;
    }
    st = fbi_store_key_delete_unpublished(store, now_s(), diag);
    if (st == FB_OK) st = reload(k, diag);
    int made = 0;
    for (int a = 0; a < N_ALGS && st == FB_OK; a++) {
        if (!find(k, algs[a], "current")) {
            st = make_key(k, algs[a], "current", diag);
            made = 1;
        }
        if (st == FB_OK && !find(k, algs[a], "next")) {
            st = make_key(k, algs[a], "next", diag);
            made = 1;
        }
    }
    if (st == FB_OK) st = fb_store_commit(store, diag);
    else fb_store_rollback(store);
    if (st == FB_OK && made) st = reload(k, diag);
    if (st != FB_OK) {
        fbi_keyring_free(k);
        return st;
    }
    *out = k;
    return FB_OK;
}

void fbi_keyring_free(fbi_keyring *k)
{
    if (!k) return;
    fbi_master_key_free(k->mk);
    json_decref(k->keys);
    free(k);
}

/* Is the row published at now? */
static int published(const json_t *r, int64_t now)
{
    const char *state = json_string_value(json_object_get(r, "state"));
    if (strcmp(state, "retired") != 0) return 1;
    return json_integer_value(json_object_get(r, "unpublish_at")) > now;
}

json_t *fbi_keyring_jwks(fbi_keyring *k)
{
    json_t *keys = json_array();
    int64_t now = now_s();
    size_t i;
    json_t *r;
    json_array_foreach(k->keys, i, r) {
        if (published(r, now)) json_array_append(keys, json_object_get(r, "jwk"));
    }
    return json_pack("{s:o}", "keys", keys);
}

static json_t *time_or_null(const json_t *v)
{
    if (!json_is_integer(v)) return json_null();
    char t[21];
    fbi_format_rfc3339(json_integer_value(v), t);
    return json_string(t);
}

json_t *fbi_keyring_status(fbi_keyring *k)
{
    json_t *out = json_array();
    int64_t now = now_s();
    size_t i;
    json_t *r;
    json_array_foreach(k->keys, i, r) {
        if (!published(r, now)) continue;
        json_array_append_new(out, json_pack(
            "{s:O, s:O, s:O, s:o, s:o, s:o, s:o}", "kid", json_object_get(r, "kid"), "alg",
            json_object_get(r, "alg"), "state", json_object_get(r, "state"), "created_at",
            time_or_null(json_object_get(r, "created_at")), "activated_at",
            time_or_null(json_object_get(r, "activated_at")), "retired_at",
            time_or_null(json_object_get(r, "retired_at")), "unpublish_at",
            time_or_null(json_object_get(r, "unpublish_at"))));
    }
    return out;
}

fb_status fbi_identity_published_jwks(fb_store *store, json_t **out, fb_diag *diag)
{
    *out = NULL;
    char *text = NULL;
    fb_status st = fbi_store_key_list(store, &text, diag);
    json_t *rows = st == FB_OK ? json_loads(text, 0, NULL) : NULL;
    free(text);
    if (st != FB_OK) return st;
    fbi_keyring k = {0};
    k.keys = rows ? rows : json_array();
    *out = fbi_keyring_jwks(&k);
    json_decref(k.keys);
    return FB_OK;
}

char *fbi_identity_issuer_path(const fbi_identity_cfg *cfg)
{
    const char *p = strstr(cfg->issuer, "://");
    p = p ? strchr(p + 3, '/') : NULL;
    return fbi_xstrdup(p ? p : "");
}

json_t *fbi_identity_discovery(const fbi_identity_cfg *cfg)
{
    char *jwks = fbi_xasprintf("%s/jwks.json", cfg->issuer);
    /* what AWS IAM and GCP STS read: issuer and jwks_uri; the rest is what
     * OpenID Connect Discovery 1.0 section 3 requires of any provider */
    json_t *d = json_pack("{s:s, s:s, s:[s], s:[s], s:[s,s], s:[s,s,s,s,s]}",
                          "issuer", cfg->issuer, "jwks_uri", jwks,
                          "response_types_supported", "id_token",
                          "subject_types_supported", "public",
                          "id_token_signing_alg_values_supported", "RS256", "ES256",
                          "claims_supported", "sub", "aud", "exp", "iat", "iss");
    free(jwks);
    return d;
}

fb_status fbi_keyring_rotate(fbi_keyring *k, json_t **summary, fb_diag *diag)
{
    if (summary) *summary = NULL;
    int64_t now = now_s();
    fb_status st = fb_store_begin(k->store, diag);
    if (st != FB_OK) return st;
    st = reload(k, diag); /* another process may have rotated meanwhile */
    json_t *sum = json_array();
    for (int a = 0; a < N_ALGS && st == FB_OK; a++) {
        json_t *cur = find(k, algs[a], "current"), *next = find(k, algs[a], "next");
        const char *ck = cur ? json_string_value(json_object_get(cur, "kid")) : NULL;
        const char *nk = next ? json_string_value(json_object_get(next, "kid")) : NULL;
        if (ck) st = fbi_store_key_set_state(k->store, ck, "retired", now, now + FBI_TOKEN_MAX_TTL,
                                             diag);
        if (st == FB_OK && nk)
            st = fbi_store_key_set_state(k->store, nk, "current", now, 0, diag);
        else if (st == FB_OK)
            st = make_key(k, algs[a], "current", diag);
        if (st == FB_OK) st = make_key(k, algs[a], "next", diag);
        json_array_append_new(sum, json_pack("{s:s, s:s?, s:s?}", "alg", algs[a], "retired", ck,
                                             "current", nk));
    }
    if (st == FB_OK) st = fb_store_commit(k->store, diag);
    else fb_store_rollback(k->store);
    if (st == FB_OK) st = reload(k, diag);
    if (st == FB_OK) {
        /* name the new next keys */
        size_t i;
        json_t *e;
        json_array_foreach(sum, i, e) {
            json_t *n = find(k, json_string_value(json_object_get(e, "alg")), "next");
            json_object_set(e, "next", n ? json_object_get(n, "kid") : json_null());
        }
    }
    if (st == FB_OK && summary) *summary = sum;
    else json_decref(sum);
    return st;
}

/* The private key of row r (new), unsealed in locked memory. */
static EVP_PKEY *unseal_key(fbi_keyring *k, const json_t *r, fb_diag *diag)
{
    const char *kid = json_string_value(json_object_get(r, "kid"));
    unsigned char *sk = sealing_key(k);
    char *ad = key_ad(kid);
    unsigned char *der = NULL;
    size_t n = 0;
    int bad = fbi_unseal(sk, json_string_value(json_object_get(r, "sealed")), ad, strlen(ad), &der,
                         &n);
    fbi_locked_free(sk);
    free(ad);
    if (bad) {
        char *m = fbi_xasprintf("signing key %s does not unseal: the store was changed or the "
                                "master key is not the one that sealed it", kid);
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, m,
                    "restore the master key file that belongs to this state, or run `fedbroker "
                    "identity keys rotate` twice to replace the keys");
        free(m);
        return NULL;
    }
    const unsigned char *p = der;
    EVP_PKEY *key = d2i_AutoPrivateKey(NULL, &p, (long)n);
    fbi_locked_free(der);
    if (!key)
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, "a sealed signing key does not decode",
                    NULL);
    return key;
}

fb_status fbi_keyring_token(fbi_keyring *k, const char *alg, const char *sub, const char *aud,
                            int64_t ttl, char **jwt, json_t **claims, fb_diag *diag)
{
    *jwt = NULL;
    if (claims) *claims = NULL;
    if (ttl < 1 || ttl > FBI_TOKEN_MAX_TTL) {
        char *m = fbi_xasprintf("a token lives 1 s to %d s (1 h); %lld s was asked",
                                FBI_TOKEN_MAX_TTL, (long long)ttl);
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, m,
                    "a short life limits what a stolen token allows; ask for a new one instead");
        free(m);
        return FB_INVALID;
    }
    if (!aud || !*aud) {
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, "a token needs an audience",
                    "name the service that will accept it (--audience)");
        return FB_INVALID;
    }
    json_t *row = find(k, alg, "current");
    if (!row) {
        char *m = fbi_xasprintf("no current %s signing key (RS256 or ES256)", alg);
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, m, NULL);
        free(m);
        return FB_INVALID;
    }
    EVP_PKEY *key = unseal_key(k, row, diag);
    if (!key) return FB_INVALID;
    int64_t now = now_s();
    unsigned char rnd[16];
    randombytes_buf(rnd, sizeof rnd);
    char *jti = fbi_b64url(rnd, sizeof rnd);
    /* JWT-SVID section 2: only alg, kid and typ in the header */
    json_t *hdr = json_pack("{s:s, s:O, s:s}", "alg", alg, "kid", json_object_get(row, "kid"),
                            "typ", "JWT");
    json_t *c = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "iss", k->cfg->issuer, "sub", sub,
                          "aud", aud, "iat", (json_int_t)now, "nbf", (json_int_t)now, "exp",
                          (json_int_t)(now + ttl), "jti", jti);
    free(jti);
    *jwt = fbi_jws_sign(key, alg, hdr, c, diag);
    EVP_PKEY_free(key);
    json_decref(hdr);
    if (!*jwt) {
        json_decref(c);
        return FB_INTERNAL;
    }
    if (claims) *claims = c;
    else json_decref(c);
    return FB_OK;
}

static fb_status write_json(const char *path, json_t *j, json_t *written, fb_diag *diag)
{
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
    size_t n = strlen(text);
    text = fbi_xrealloc(text, n + 2);
    text[n] = '\n';
    text[n + 1] = 0;
    char *err = NULL;
    int bad = fbi_write_file_atomic(path, text, n + 1, &err);
    free(text);
    if (bad) {
        fb_diag_add(diag, FB_SEV_ERROR, path, 0, 0, NULL, err, NULL);
        free(err);
        return FB_INTERNAL;
    }
    json_array_append_new(written, json_string(path));
    return FB_OK;
}

fb_status fbi_identity_publish(fbi_keyring *k, const char *dir, json_t **written, fb_diag *diag)
{
    if (written) *written = NULL;
    char *wk = fbi_xasprintf("%s/.well-known", dir);
    char *err = NULL;
    if (fbi_mkdirs(wk, 0755, &err) != 0) {
        fb_diag_add(diag, FB_SEV_ERROR, wk, 0, 0, NULL, err, NULL);
        free(err);
        free(wk);
        return FB_INTERNAL;
    }
    json_t *w = json_array();
    json_t *jwks = fbi_keyring_jwks(k), *disc = fbi_identity_discovery(k->cfg);
    /* the keys first: a discovery document never names keys not yet there */
    char *jp = fbi_xasprintf("%s/jwks.json", dir);
    char *dp = fbi_xasprintf("%s/openid-configuration", wk);
    fb_status st = write_json(jp, jwks, w, diag);
    if (st == FB_OK) st = write_json(dp, disc, w, diag);
    free(jp);
    free(dp);
    free(wk);
    json_decref(jwks);
    json_decref(disc);
    if (st == FB_OK && written) *written = w;
    else json_decref(w);
    return st;
}
