/* cmd_identity.c - `fedbroker identity`: the broker as the OIDC issuer of
 * its trust domain (docs/identity.md). show prints a workload's SPIFFE ID
 * and issuer; token signs a JWT-SVID; publish writes the discovery
 * document and the JWK Set for an HTTPS origin; keys lists and rotates
 * the signing keys. Keys and the master key: core/identity/. */
#include "config.h"
#include "cli/cli.h"
#include "base/util.h"
#include "identity/identity.h"
#include "spec/spec.h"

#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "fedbroker identity show WORKLOAD [--tenant T] [--format table|json]\n"
    "       fedbroker identity token WORKLOAD --audience AUD [--ttl 10m] [--tenant T] [--alg RS256|ES256]\n"
    "       fedbroker identity publish DIR\n"
    "       fedbroker identity keys [list|rotate] [--format table|json]";

static const char description[] =
    "Every workload has an identity: spiffe://TRUST-DOMAIN/tenant/TENANT/workload/NAME, with\n"
    "the trust domain from identity.trustDomain in the configuration. The broker is the OIDC\n"
    "issuer of that trust domain (identity.issuer, default https://TRUST-DOMAIN):\n"
    "  show WORKLOAD        the SPIFFE ID, the issuer and the workload's bindings\n"
    "  token WORKLOAD       a JWT-SVID (sub = SPIFFE ID, one aud, exp <= 1 h) on stdout\n"
    "  publish DIR          DIR/.well-known/openid-configuration and DIR/jwks.json, to host\n"
    "                       at the issuer URL (an S3 or GCS bucket behind HTTPS)\n"
    "  keys [list]          the signing keys: next (published, not signing yet), current,\n"
    "                       retired (published until every token it signed has expired)\n"
    "  keys rotate          next becomes current, current is retired, a new next is made;\n"
    "                       publish again afterwards\n"
    "Signing keys are sealed in the state under the master key (identity.masterKeyFile,\n"
    "default $FEDBROKER_HOME/master.key, made on first use; mode 600 required).";

/* Loads the configuration's identity section (need_td: the trust domain
 * is required); prints what is wrong. */
int fbc_identity_cfg(int need_td, fbi_identity_cfg *cfg)
{
    fb_diag *d = fb_diag_new();
    fbi_config_src src = {0};
    json_t *config = fbi_config_load(&src, d);
    fb_status st = config ? FB_OK : FB_INVALID;
    if (config) {
        fb_diag *cd = fb_diag_new();
        st = fbi_identity_cfg_load(config, need_td, cfg, cd);
        for (size_t i = 0; i < fb_diag_count(cd); i++)
            fbi_config_diag(&src, d, fb_diag_severity(cd, i), fb_diag_pointer(cd, i),
                            fb_diag_summary(cd, i), fb_diag_detail(cd, i));
        fb_diag_free(cd);
    }
    fb_diag_print(d, stderr);
    fb_diag_free(d);
    json_decref(config);
    fbi_config_src_free(&src);
    return st == FB_OK ? FB_EXIT_OK : FB_EXIT_INVALID;
}

/* Opens the store and the keyring; prints what is wrong. */
static int open_keyring(const fbi_identity_cfg *cfg, fb_store **store, fbi_keyring **k)
{
    *k = NULL;
    int rc = fbc_open_store(store);
    if (rc != FB_EXIT_OK) return rc;
    fb_diag *d = fb_diag_new();
    fb_status st = fbi_keyring_open(cfg, *store, k, d);
    fb_diag_print(d, stderr);
    fb_diag_free(d);
    if (st != FB_OK) {
        fb_store_close(*store);
        *store = NULL;
        return st == FB_INVALID ? FB_EXIT_INVALID : FB_EXIT_FAILURE;
    }
    return FB_EXIT_OK;
}

static char *workload_id(const fbi_identity_cfg *cfg, const char *tenant, const char *name)
{
    fb_diag *d = fb_diag_new();
    char *id = fbi_spiffe_workload_id(cfg->trust_domain, tenant, name, d);
    fb_diag_print(d, stderr);
    fb_diag_free(d);
    return id;
}

static int cmd_show(const fbi_identity_cfg *cfg, const char *tenant, const char *name,
                    fbc_format fmt)
{
    char *id = workload_id(cfg, tenant, name);
    if (!id) return FB_EXIT_INVALID;
    fb_store *store = NULL;
    int rc = fbc_open_store(&store);
    if (rc != FB_EXIT_OK) {
        free(id);
        return rc;
    }
    /* where the workload is deployed: each deployment is where a binding
     * of its provider's native kind belongs */
    fb_diag *d = fb_diag_new();
    char *text = NULL;
    json_t *deps = NULL;
    if (fb_store_list_deployments(store, tenant, name, &text, d) == FB_OK)
        deps = json_loads(text, 0, NULL);
    free(text);
    rc = fbc_report_diag(d, FB_EXIT_FAILURE);
    fb_diag_free(d);
    json_t *bindings = json_array();
    size_t i;
    json_t *dep;
    json_array_foreach(deps, i, dep) {
        /* the recorded resources that bind the identity (docs/identity.md):
         * AWS its IAM role; GCP its service accounts and IAM bindings;
         * Kubernetes its ServiceAccount and the NetworkPolicies admitting
         * its callers (not the tenant's isolation policy) */
        json_t *b = json_array(), *r;
        size_t k;
        json_array_foreach(json_object_get(dep, "resources"), k, r) {
            const char *t = json_string_value(json_object_get(r, "type"));
            const char *rid = json_string_value(json_object_get(r, "id"));
            int np = t && !strcmp(t, "k8s:NetworkPolicy") && rid && !strstr(rid, "fb-tenant-isolation");
            if (t && (!strcmp(t, "iam-role") || !strcmp(t, "gcp-service-account") || !strcmp(t, "gcp-iam-binding") ||
                      !strcmp(t, "k8s:ServiceAccount") || np))
                json_array_append(b, r);
        }
        json_array_append_new(bindings, json_pack("{s:O, s:O, s:o}", "provider",
                                                  json_object_get(dep, "provider"), "region",
                                                  json_object_get(dep, "region"), "binding",
                                                  json_array_size(b) ? b : (json_decref(b), json_null())));
    }
    json_decref(deps);
    fb_store_close(store);
    json_t *out = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "tenant", tenant, "workload", name,
                            "spiffe_id", id, "trust_domain", cfg->trust_domain, "issuer",
                            cfg->issuer, "bindings", bindings);
    if (fmt == FBC_FMT_JSON) {
        fbc_print_json(out);
    } else {
        printf("workload      %s/%s\nspiffe id     %s\nissuer        %s\njwks          %s/jwks.json\n",
               tenant, name, id, cfg->issuer, cfg->issuer);
        if (json_array_size(bindings) == 0) printf("bindings      (not deployed)\n");
        json_array_foreach(bindings, i, dep) {
            json_t *b = json_object_get(dep, "binding");
            char *bs = json_is_null(b) ? NULL : json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
            printf("binding       %s:%s  %s\n", json_string_value(json_object_get(dep, "provider")),
                   json_string_value(json_object_get(dep, "region")),
                   bs ? bs : "(none recorded)");
            free(bs);
        }
    }
    json_decref(out);
    free(id);
    return rc;
}

static int cmd_token(const fbi_identity_cfg *cfg, const char *tenant, const char *name,
                     const char *aud, const char *ttl_s, const char *alg)
{
    int64_t ttl_ms = 10 * 60 * 1000;
    char *err = NULL;
    if (ttl_s && fbi_parse_duration(ttl_s, &ttl_ms, &err) != 0) {
        fprintf(stderr, "fedbroker identity token: --ttl: %s\n", err);
        free(err);
        return FB_EXIT_USAGE;
    }
    if (!aud) {
        fprintf(stderr, "fedbroker identity token: --audience is required: the one service that "
                        "will accept the token\n");
        return FB_EXIT_USAGE;
    }
    if (alg && strcmp(alg, "RS256") != 0 && strcmp(alg, "ES256") != 0) {
        fprintf(stderr, "fedbroker identity token: --alg must be RS256 or ES256, not '%s'\n", alg);
        return FB_EXIT_USAGE;
    }
    char *id = workload_id(cfg, tenant, name);
    if (!id) return FB_EXIT_INVALID;
    fb_store *store = NULL;
    fbi_keyring *k = NULL;
    int rc = open_keyring(cfg, &store, &k);
    if (rc == FB_EXIT_OK) {
        fb_diag *d = fb_diag_new();
        char *jwt = NULL;
        fb_status st = fbi_keyring_token(k, alg ? alg : "RS256", id, aud, ttl_ms / 1000, &jwt,
                                         NULL, d);
        rc = fbc_report_diag(d, st == FB_INVALID ? FB_EXIT_INVALID : FB_EXIT_FAILURE);
        if (st == FB_OK) puts(jwt);
        free(jwt);
        fb_diag_free(d);
    }
    fbi_keyring_free(k);
    fb_store_close(store);
    free(id);
    return rc;
}

static int cmd_publish(const fbi_identity_cfg *cfg, const char *dir)
{
    fb_store *store = NULL;
    fbi_keyring *k = NULL;
    int rc = open_keyring(cfg, &store, &k);
    if (rc != FB_EXIT_OK) return rc;
    fb_diag *d = fb_diag_new();
    json_t *written = NULL;
    fb_status st = fbi_identity_publish(k, dir, &written, d);
    rc = fbc_report_diag(d, FB_EXIT_FAILURE);
    if (st == FB_OK) {
        size_t i;
        json_t *p;
        json_array_foreach(written, i, p) printf("wrote %s\n", json_string_value(p));
        printf("host them at %s (the discovery document at %s/.well-known/openid-configuration)\n",
               cfg->issuer, cfg->issuer);
    }
    json_decref(written);
    fb_diag_free(d);
    fbi_keyring_free(k);
    fb_store_close(store);
    return rc;
}

static void print_keys(json_t *keys)
{
    size_t i;
    json_t *r;
    printf("%-44s %-6s %-8s %-21s %s\n", "KID", "ALG", "STATE", "SINCE", "PUBLISHED UNTIL");
    json_array_foreach(keys, i, r) {
        const char *state = json_string_value(json_object_get(r, "state"));
        const char *since = json_string_value(json_object_get(
            r, !strcmp(state, "current") ? "activated_at"
                                         : !strcmp(state, "retired") ? "retired_at" : "created_at"));
        const char *until = json_string_value(json_object_get(r, "unpublish_at"));
        printf("%-44s %-6s %-8s %-21s %s\n", json_string_value(json_object_get(r, "kid")),
               json_string_value(json_object_get(r, "alg")), state, since ? since : "",
               until ? until : "-");
    }
}

static int cmd_keys(const fbi_identity_cfg *cfg, const char *action, fbc_format fmt)
{
    if (action && strcmp(action, "list") != 0 && strcmp(action, "rotate") != 0) {
        fprintf(stderr, "fedbroker identity keys: unknown action '%s' (list or rotate)\n", action);
        return FB_EXIT_USAGE;
    }
    fb_store *store = NULL;
    fbi_keyring *k = NULL;
    int rc = open_keyring(cfg, &store, &k);
    if (rc != FB_EXIT_OK) return rc;
    json_t *summary = NULL;
    if (action && strcmp(action, "rotate") == 0) {
        fb_diag *d = fb_diag_new();
        fb_status st = fbi_keyring_rotate(k, &summary, d);
        rc = fbc_report_diag(d, FB_EXIT_FAILURE);
        fb_diag_free(d);
        if (st != FB_OK) rc = FB_EXIT_FAILURE;
    }
    if (rc == FB_EXIT_OK) {
        json_t *keys = fbi_keyring_status(k);
        if (fmt == FBC_FMT_JSON) {
            json_t *out = json_pack("{s:o}", "keys", keys);
            if (summary) json_object_set(out, "rotated", summary);
            fbc_print_json(out);
            json_decref(out);
        } else {
            print_keys(keys);
            json_decref(keys);
            if (summary)
                printf("\nrotated: the next keys sign from now on; run `fedbroker identity "
                       "publish` to publish the new next keys\n");
        }
    }
    json_decref(summary);
    fbi_keyring_free(k);
    fb_store_close(store);
    return rc;
}

int fbc_cmd_identity(int argc, char **argv)
{
    const char *tenant = NULL, *aud = NULL, *ttl = NULL, *alg = NULL, *format = NULL;
    fbc_opt opts[] = {
        {"tenant", "T", "the workload's tenant (default: default)", &tenant, NULL, NULL},
        {"audience", "AUD", "token: the one audience (aud) the token is for", &aud, NULL, NULL},
        {"ttl", "DURATION", "token: how long it is valid, at most 1h (default 10m)", &ttl, NULL,
         NULL},
        {"alg", "ALG", "token: RS256 (default; AWS, GCP, Kubernetes) or ES256", &alg, NULL, NULL},
        {"format", "FMT", "show, keys: table or json", &format, NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, opts, usage_text, description, &pos, &npos, &rc)) return rc;
    fbc_format fmt;
    if (fbc_format_parse(format, (1u << FBC_FMT_TABLE) | (1u << FBC_FMT_JSON), &fmt) != 0) {
        free(pos);
        return FB_EXIT_USAGE;
    }
    const char *sub = npos > 0 ? pos[0] : NULL;
    int need = !sub ? 0 : !strcmp(sub, "keys") ? -1 : 2; /* positional arguments wanted */
    if (!sub || (need > 0 && npos != need) || (need < 0 && npos > 2) ||
        (strcmp(sub, "show") && strcmp(sub, "token") && strcmp(sub, "publish") &&
         strcmp(sub, "keys"))) {
        fprintf(stderr, "usage: %s\n", usage_text);
        free(pos);
        return FB_EXIT_USAGE;
    }
    fbi_identity_cfg cfg;
    rc = fbc_identity_cfg(1, &cfg);
    if (rc != FB_EXIT_OK) {
        free(pos);
        return rc;
    }
    const char *t = tenant ? tenant : "default";
    if (!strcmp(sub, "show")) rc = cmd_show(&cfg, t, pos[1], fmt);
    else if (!strcmp(sub, "token")) rc = cmd_token(&cfg, t, pos[1], aud, ttl, alg);
    else if (!strcmp(sub, "publish")) rc = cmd_publish(&cfg, pos[1]);
    else rc = cmd_keys(&cfg, npos > 1 ? pos[1] : NULL, fmt);
    fbi_identity_cfg_free(&cfg);
    free(pos);
    return rc;
}
