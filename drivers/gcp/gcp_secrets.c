/* gcp_secrets.c - Secret Manager references (gcp-sm://...): the account
 * the workload runs as (its own under the broker's identity, else the
 * configured runtime account) gets roles/secretmanager.secretAccessor on
 * exactly the secrets the spec names (each secret's own policy, read-
 * modify-written with its etag), before a revision that reads them starts.
 * Nothing is granted at project level, and nothing is revoked on destroy:
 * another workload running as the same account may read the same secret.
 * The broker's portable secrets (secret://NAME) are copied here first, one
 * copy per workload, deleted with it (docs/identity.md). */
#include "config.h"
#include "gcp.h"

#include "fbk_zip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACCESSOR "roles/secretmanager.secretAccessor"
#define SECRET_TYPE "secretmanager-secret"
#define VERSION_KEY "fedbroker-version"

/* Calls fn for each secret the spec names: its policy path and name. */
static fb_status each_secret(fb_driver_ctx *ctx, const fbk_wl *wl, const char *sa, fb_diag *diag,
                             fb_status (*fn)(fb_driver_ctx *, const char *path, const char *name, const char *member,
                                             void *ud, fb_diag *),
                             void *ud)
{
    size_t i;
    json_t *s;
    fb_status st = FB_OK;
    char *member = fbk_xasprintf("serviceAccount:%s", sa ? sa : gcp_runtime_sa(ctx));
    json_array_foreach(wl->secrets, i, s) {
        char proj[256], sec[256], ver[256];
        const char *why;
        if (gcp_parse_secret(json_string_value(json_object_get(s, "ref")), ctx->project, proj, sec, ver, sizeof sec,
                             &why) != 0)
            continue; /* validate refused it */
        char *path = fbk_xasprintf("v1/projects/%s/secrets/%s", proj, sec);
        char *name = fbk_xasprintf("projects/%s/secrets/%s", proj, sec);
        st = fn(ctx, path, name, member, ud, diag);
        free(path);
        free(name);
        if (st != FB_OK) break;
    }
    free(member);
    return st;
}

static fb_status grant_one(fb_driver_ctx *ctx, const char *path, const char *name, const char *member, void *ud,
                           fb_diag *diag)
{
    (void)ud;
    fb_status st = gcp_iam_member(ctx, diag, GCP_API_SECRETS, path, ACCESSOR, member, 1, NULL);
    if (st == FB_NOTFOUND)
        fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL,
                 "gcp: Secret Manager secret %s does not exist\ncreate it (gcloud secrets create) before "
                 "deploying a workload that reads it", name);
    return st;
}

fb_status gcp_secrets_grant(fb_driver_ctx *ctx, const fbk_wl *wl, const char *sa, fb_diag *diag)
{
    if (!json_array_size(wl->secrets)) return FB_OK;
    return each_secret(ctx, wl, sa, diag, grant_one, NULL);
}

static fb_status observe_one(fb_driver_ctx *ctx, const char *path, const char *name, const char *member, void *ud,
                             fb_diag *diag)
{
    json_t *drift = ud;
    int holds = 0;
    fb_status st = gcp_iam_holds(ctx, diag, GCP_API_SECRETS, path, ACCESSOR, member, &holds);
    if (st == FB_OK && !holds) {
        char *f = fbk_xasprintf("secrets.%s.%s", name, ACCESSOR);
        json_array_append_new(drift, json_pack("{s:s,s:s,s:n}", "field", f, "want", member, "live"));
        free(f);
    }
    return st;
}

/* A portable secret's copy older than the broker's latest version is
 * drift (the next plan updates the workload, its apply adds the version).
 * Only the version number is asked for; a broker that cannot say (no
 * master key here) reports nothing. */
static fb_status observe_versions(fb_driver_ctx *ctx, const fbk_wl *wl, json_t *drift, fb_diag *diag)
{
    size_t i;
    json_t *s;
    fb_status st = FB_OK;
    json_array_foreach(wl->secrets, i, s) {
        const char *portable = json_string_value(json_object_get(s, "portable"));
        const char *ref = json_string_value(json_object_get(s, "ref"));
        char proj[256], sec[256], ver[256], vkey[96];
        const char *why;
        if (!portable || !ref || gcp_parse_secret(ref, ctx->project, proj, sec, ver, sizeof sec, &why) != 0)
            continue;
        snprintf(vkey, sizeof vkey, "secret-version://%s", portable + 9);
        char *version = NULL;
        if (gcp_host->credential(diag, vkey, &version) != FB_OK) continue;
        char *name = fbk_xasprintf("projects/%s/secrets/%s", ctx->project, sec);
        json_t *live = NULL;
        int found = 0;
        st = gcp_get(ctx, diag, GCP_API_SECRETS, "secrets.get", name, &live, &found);
        const char *have = json_string_value(json_object_get(json_object_get(live, "annotations"), VERSION_KEY));
        if (st == FB_OK && (!have || strcmp(have, version) != 0)) {
            char *f = fbk_xasprintf("secrets.%s.%s", sec, VERSION_KEY);
            json_array_append_new(drift, json_pack("{s:s,s:s,s:s?}", "field", f, "want", version, "live", have));
            free(f);
        }
        json_decref(live);
        free(name);
        gcp_host->free(version);
        if (st != FB_OK) break;
    }
    return st;
}

fb_status gcp_secrets_observe(fb_driver_ctx *ctx, const fbk_wl *wl, const char *sa, json_t *drift, fb_diag *diag)
{
    if (!json_array_size(wl->secrets)) return FB_OK;
    fb_status st = observe_versions(ctx, wl, drift, diag);
    if (st != FB_OK || (!sa && !gcp_runtime_sa(ctx)[0])) return st;
    return each_secret(ctx, wl, sa, diag, observe_one, drift);
}

/* One portable secret copied into Secret Manager as id (in ctx->project). */
static fb_status materialise_one(fb_driver_ctx *ctx, const json_t *in, const fbk_wl *wl, const char *portable,
                                 const char *id, const char *ptr, const char *region, json_t *resources,
                                 int *changed, fb_diag *diag)
{
    const json_t *prev = json_object_get(in, "deployment");
    char *value = NULL, *version = NULL;
    fb_status st = gcp_host->credential(diag, portable, &value);
    if (st == FB_NOTFOUND) {
        fbk_diag(gcp_host, diag, FB_SEV_ERROR, ptr,
                 "gcp: %s: the broker has no such secret for this tenant\nstore it with: "
                 "fedbroker secret put %s --tenant TENANT < FILE", portable, portable + 9);
        return FB_INVALID;
    }
    if (st != FB_OK) return st;
    char vkey[96];
    snprintf(vkey, sizeof vkey, "secret-version://%s", portable + 9);
    st = gcp_host->credential(diag, vkey, &version);
    char *want = fbk_xasprintf("%lld", st == FB_OK ? atoll(version) : 0LL);
    if (version) gcp_host->free(version);
    char *name = fbk_xasprintf("projects/%s/secrets/%s", ctx->project, id);
    json_t *live = NULL;
    int found = 0;
    if (st == FB_OK && !gcp_host->dry_run(diag))
        st = gcp_get(ctx, diag, GCP_API_SECRETS, "secrets.get", name, &live, &found);
    if (st == FB_OK && found && gcp_labels_ours(json_object_get(live, "labels"), wl) != 1) {
        fbk_diag(gcp_host, diag, FB_SEV_ERROR, ptr,
                 "gcp: a Secret Manager secret %s exists and is not this workload's copy (its managed-by, "
                 "tenant or workload labels differ)\nremove or rename it", name);
        st = FB_CONFLICT;
    }
    if (st == FB_OK && !found) {
        /* made without a version, marked "none": a crash before the
         * version is added leaves a copy the next apply completes */
        char *p = fbk_xasprintf("v1/projects/%s/secrets", ctx->project);
        char *q = fbk_xasprintf("secretId=%s", id);
        json_t *body = json_pack("{s:{s:{}},s:o,s:{s:s}}", "replication", "automatic", "labels", gcp_labels_of(wl),
                                 "annotations", VERSION_KEY, "none");
        gcp_req rq = {GCP_API_SECRETS, "secrets.create", "POST", p, q, body, FB_HTTP_TOKEN_GUARDED};
        gcp_res res;
        st = gcp_call(ctx, diag, &rq, &res);
        if (st == FB_OK && res.err != FB_OK && !(res.code && !strcmp(res.code, "ALREADY_EXISTS")))
            st = gcp_fail(diag, &rq, &res, NULL);
        gcp_res_clear(&res);
        json_decref(body);
        free(p);
        free(q);
    }
    if (st == FB_OK) {
        st = gcp_record(diag, prev, SECRET_TYPE, name, region, id);
        if (!gcp_host->dry_run(diag))
            json_array_append_new(resources, json_pack("{s:s,s:s,s:s,s:s}", "type", SECRET_TYPE, "id", name,
                                                       "region", region, "name", id));
    }
    const char *have = json_string_value(json_object_get(json_object_get(live, "annotations"), VERSION_KEY));
    if (st == FB_OK && !(have && !strcmp(have, want))) {
        /* the payload is base64: redact that form too wherever the
         * request is shown */
        char *b64 = fbk_base64((const unsigned char *)value, strlen(value));
        char *p = fbk_xasprintf("v1/%s:addVersion", name);
        json_t *body = json_pack("{s:{s:s}}", "payload", "data", b64);
        gcp_req rq = {GCP_API_SECRETS, "secrets.addVersion", "POST", p, NULL, body, FB_HTTP_TOKEN_GUARDED};
        gcp_res res;
        st = gcp_call_secret(ctx, diag, &rq, b64, &res);
        if (st == FB_OK && res.err != FB_OK) st = gcp_fail(diag, &rq, &res, NULL);
        gcp_res_clear(&res);
        json_decref(body);
        free(p);
        fbk_free_secret(b64);
        if (st == FB_OK) {
            p = fbk_xasprintf("v1/%s", name);
            body = json_pack("{s:{s:s}}", "annotations", VERSION_KEY, want);
            gcp_req pq = {GCP_API_SECRETS, "secrets.patch", "PATCH", p, "updateMask=annotations", body,
                          FB_HTTP_IDEMPOTENT};
            st = gcp_call(ctx, diag, &pq, &res);
            if (st == FB_OK && res.err != FB_OK) st = gcp_fail(diag, &pq, &res, NULL);
            gcp_res_clear(&res);
            json_decref(body);
            free(p);
            *changed = 1;
        }
    }
    json_decref(live);
    free(name);
    free(want);
    /* the host keeps it only to redact it; wipe our copy */
    fbk_wipe(value, strlen(value));
    gcp_host->free(value);
    return st;
}

fb_status gcp_secrets_materialise(fb_driver_ctx *ctx, const json_t *in, const fbk_wl *wl, const char *region,
                                  json_t *resources, int *changed, fb_diag *diag)
{
    *changed = 0;
    size_t i;
    json_t *s;
    fb_status st = FB_OK;
    json_array_foreach(wl->secrets, i, s) {
        const char *portable = json_string_value(json_object_get(s, "portable"));
        const char *ref = json_string_value(json_object_get(s, "ref"));
        char proj[256], sec[256], ver[256], ptr[64];
        const char *why;
        if (!portable || !ref ||
            gcp_parse_secret(ref, ctx->project, proj, sec, ver, sizeof sec, &why) != 0)
            continue;
        snprintf(ptr, sizeof ptr, "/spec/secrets/%zu/ref", i);
        st = materialise_one(ctx, in, wl, portable, sec, ptr, region, resources, changed, diag);
        if (st != FB_OK) break;
    }
    return st;
}

fb_status gcp_secrets_destroy(fb_driver_ctx *ctx, const json_t *dep, json_t *deleted, fb_diag *diag)
{
    fb_status st = FB_OK;
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(dep, "resources"), i, r) {
        const char *t = json_string_value(json_object_get(r, "type"));
        const char *id = json_string_value(json_object_get(r, "id"));
        if (st != FB_OK) break;
        if (!t || !id || strcmp(t, SECRET_TYPE) != 0) continue;
        char *p = fbk_xasprintf("v1/%s", id);
        gcp_req rq = {GCP_API_SECRETS, "secrets.delete", "DELETE", p, NULL, NULL, FB_HTTP_IDEMPOTENT};
        gcp_res res;
        st = gcp_call(ctx, diag, &rq, &res);
        if (st == FB_OK && res.err != FB_OK && res.err != FB_NOTFOUND) st = gcp_fail(diag, &rq, &res, NULL);
        if (st == FB_OK) json_array_append_new(deleted, json_string(id));
        gcp_res_clear(&res);
        free(p);
    }
    return st;
}
