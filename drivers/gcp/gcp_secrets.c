/* gcp_secrets.c - Secret Manager references (gcp-sm://...): the runtime
 * service account gets roles/secretmanager.secretAccessor on exactly the
 * secrets the spec names (each secret's own policy, read-modify-written
 * with its etag), before a revision that reads them starts. Nothing is
 * granted at project level, and nothing is revoked on destroy: another
 * workload running as the same account may read the same secret. */
#include "config.h"
#include "gcp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACCESSOR "roles/secretmanager.secretAccessor"

/* Calls fn for each secret the spec names: its policy path and name. */
static fb_status each_secret(fb_driver_ctx *ctx, const fbk_wl *wl, fb_diag *diag,
                             fb_status (*fn)(fb_driver_ctx *, const char *path, const char *name, const char *member,
                                             void *ud, fb_diag *),
                             void *ud)
{
    size_t i;
    json_t *s;
    fb_status st = FB_OK;
    char *member = fbk_xasprintf("serviceAccount:%s", gcp_runtime_sa(ctx));
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

fb_status gcp_secrets_grant(fb_driver_ctx *ctx, const fbk_wl *wl, fb_diag *diag)
{
    if (!json_array_size(wl->secrets)) return FB_OK;
    return each_secret(ctx, wl, diag, grant_one, NULL);
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

fb_status gcp_secrets_observe(fb_driver_ctx *ctx, const fbk_wl *wl, json_t *drift, fb_diag *diag)
{
    if (!json_array_size(wl->secrets) || !gcp_runtime_sa(ctx)[0]) return FB_OK;
    return each_secret(ctx, wl, diag, observe_one, drift);
}
