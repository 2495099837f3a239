/* gcp_functions.c - Cloud Functions 2nd gen (API v2): the source zipped
 * deterministically (the kit's zip, as for Lambda), uploaded the way Google
 * documents (generateUploadUrl, then a PUT of the zip to the signed URL
 * with Content-Type application/zip and no Authorization), the function
 * created with a deterministic functionId or adopted when it carries our
 * labels, updated with PATCH and an update mask, the operation waited for;
 * its HTTP endpoint is a Cloud Run service of its own name, whose invoker
 * policy says who may call it. apply, observe, destroy and discover are
 * Cloud Run's (gcp_service.c) with this file's body, status, drift and
 * settling. The zip's SHA-256 is kept in the label source-sha256, so a
 * changed source is uploaded again and an unchanged one is not. */
#include "config.h"
#include "gcp.h"
#include "fbk_zip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FN_TYPE "cloud-function"
#define GCF_MAX_ZIP (100u * 1024 * 1024)      /* generateUploadUrl's object limit */
#define GCF_MAX_UNZIPPED (500u * 1024 * 1024) /* Cloud Functions' source limit */
#define SOURCE_LABEL "source-sha256"

/* The source zip of spec.code.path (new) and its SHA-256 hex (label values
 * are at most 63 characters: the first 40 digits). */
static fb_status source_zip(const fbk_wl *wl, unsigned char **zip, size_t *len, char sha[41], fb_diag *diag)
{
    *zip = NULL;
    *len = 0;
    const char *path = json_string_value(json_object_get(wl->code, "path"));
    if (!path) {
        fbk_diag(gcp_host, diag, FB_SEV_ERROR, "/spec/code", "gcp: a Cloud Function is deployed from "
                 "spec.code.path");
        return FB_INVALID;
    }
    char *err = NULL;
    if (fbk_zip_path(path, GCF_MAX_ZIP, GCF_MAX_UNZIPPED, zip, len, &err) != 0) {
        fbk_diag(gcp_host, diag, FB_SEV_ERROR, "/spec/code/path", "gcp: cannot package the source: %s\nCloud "
                 "Functions takes at most 100 MB zipped and 500 MB unzipped", err);
        free(err);
        return FB_INVALID;
    }
    char hex[65];
    fbk_sha256_hex(*zip, *len, hex);
    memcpy(sha, hex, 40);
    sha[40] = '\0';
    return FB_OK;
}

/* generateUploadUrl, then the PUT of the zip. *storage = the answer's
 * storageSource (new). */
static fb_status upload(fb_driver_ctx *ctx, const char *parent, const unsigned char *zip, size_t len,
                        json_t **storage, fb_diag *diag)
{
    *storage = NULL;
    char *p = fbk_xasprintf("v2/%s/functions:generateUploadUrl", parent);
    json_t *empty = json_object();
    /* no state changes: a retried call only mints another URL */
    gcp_req rq = {GCP_API_FUNCTIONS, "functions.generateUploadUrl", "POST", p, NULL, empty, FB_HTTP_IDEMPOTENT};
    gcp_res res;
    fb_status st = gcp_call(ctx, diag, &rq, &res);
    json_decref(empty);
    free(p);
    if (st == FB_OK && res.err != FB_OK) st = gcp_fail(diag, &rq, &res, NULL);
    const char *url = json_string_value(json_object_get(res.body, "uploadUrl"));
    const json_t *ss = json_object_get(res.body, "storageSource");
    if (st == FB_OK && (!url || !json_is_object(ss))) {
        fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL, "gcp: generateUploadUrl answered without uploadUrl or "
                 "storageSource");
        st = FB_INTERNAL;
    }
    if (st == FB_OK) {
        /* the URL is signed: it is the credential (a secret of the call),
         * sent without Authorization, with the content type it is signed
         * for */
        fb_http_header h[] = {{"Content-Type", "application/zip"}};
        const char *secrets[] = {url};
        fb_http_request req = {.struct_size = sizeof req, .method = "PUT", .url = url, .headers = h,
                               .n_headers = 1, .body = zip, .body_len = len, .flags = FB_HTTP_IDEMPOTENT,
                               .service = "gcs-upload", .secrets = secrets, .n_secrets = 1};
        fb_http_response resp;
        st = gcp_host->http(diag, &req, &resp);
        if (st == FB_OK) {
            if (resp.status < 200 || resp.status >= 300) {
                fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL, "gcp: uploading the source to the signed URL failed: "
                         "HTTP %ld %.300s", resp.status, resp.body ? resp.body : "");
                st = resp.status >= 500 || resp.status == 429 ? FB_RETRYABLE : FB_INVALID;
            }
            gcp_host->http_free(&resp);
        }
    }
    if (st == FB_OK) *storage = json_deep_copy(ss);
    gcp_res_clear(&res);
    return st;
}

/* The function's state: "ready", "pending" or "failed"; *msg borrowed. */
static const char *fn_status(const json_t *live, const char **msg)
{
    const char *s = json_string_value(json_object_get(live, "state"));
    *msg = json_string_value(json_object_get(json_array_get(json_object_get(live, "stateMessages"), 0), "message"));
    if (s && !strcmp(s, "ACTIVE")) return "ready";
    if (s && !strcmp(s, "FAILED")) return "failed";
    return "pending";
}

/* What a function is busy with: "DEPLOYING" or "DELETING" (an operation
 * another run started), else NULL. Borrowed from live. */
static const char *fn_busy(const json_t *live)
{
    const char *s = json_string_value(json_object_get(live, "state"));
    return s && (!strcmp(s, "DEPLOYING") || !strcmp(s, "DELETING")) ? s : NULL;
}

/* The wanted function: render's body with the source in storage and the
 * source label. new. */
static json_t *want_body(fb_driver_ctx *ctx, const fbk_wl *wl, const gcp_shape *sh, const json_t *storage,
                         const char *sha)
{
    const char *b = json_string_value(json_object_get(storage, "bucket"));
    const char *o = json_string_value(json_object_get(storage, "object"));
    json_t *body = gcp_function_body(ctx, wl, sh, b ? b : "", o ? o : "");
    json_t *gen = json_object_get(storage, "generation");
    if (gen) json_object_set(json_object_get(json_object_get(json_object_get(body, "buildConfig"), "source"),
                                             "storageSource"), "generation", gen);
    json_object_set_new(json_object_get(body, "labels"), SOURCE_LABEL, json_string(sha));
    return body;
}

/* The update mask: the members of the Function that differ. new. */
static char *update_mask(const json_t *want, const json_t *live)
{
    static const char *const members[] = {"description", "labels", "buildConfig", "serviceConfig", "eventTrigger",
                                          NULL};
    fbk_buf m;
    fbk_buf_init(&m);
    for (size_t i = 0; members[i]; i++) {
        const json_t *w = json_object_get(want, members[i]);
        /* an eventTrigger the spec dropped is cleared by masking it */
        int differs = w ? gcp_drift(w, json_object_get(live, members[i]), members[i], NULL)
                        : json_object_get(live, members[i]) != NULL && !strcmp(members[i], "eventTrigger");
        if (differs) fbk_buf_printf(&m, "%s%s", m.len ? "," : "", members[i]);
    }
    return fbk_buf_steal(&m);
}

/* allUsers on the function's own Cloud Run service when public (removed
 * when not), the invoker service account when a schedule calls it. */
static fb_status fn_invokers(fb_driver_ctx *ctx, const fbk_wl *wl, const char *service, fb_diag *diag)
{
    char *p = fbk_xasprintf("v2/%s", service);
    fb_status st = gcp_iam_member(ctx, diag, GCP_API_RUN, p, "roles/run.invoker", "allUsers", wl->public_http, NULL);
    /* Scheduler's OIDC token, or the eventTrigger's identity, calls it */
    if (st == FB_OK && (wl->schedule_triggers || wl->queue_triggers) && !wl->public_http &&
        gcp_invoker_sa(ctx)[0]) {
        char *m = fbk_xasprintf("serviceAccount:%s", gcp_invoker_sa(ctx));
        st = gcp_iam_member(ctx, diag, GCP_API_RUN, p, "roles/run.invoker", m, 1, NULL);
        free(m);
    }
    free(p);
    return st;
}

/* apply's preparation: the source zip, before anything is granted. */
static fb_status fn_prepare(gcp_apply_call *a, fb_diag *diag)
{
    return source_zip(a->wl, &a->zip, &a->zip_len, a->sha, diag);
}

/* apply's body: for a create, the source uploaded; for an update, the
 * deployed source kept unless its label says it changed (or does not say),
 * then uploaded again. */
static fb_status fn_body(gcp_apply_call *a, const json_t *live, json_t **body, fb_diag *diag)
{
    *body = NULL;
    const char *lsha = json_string_value(json_object_get(json_object_get(live, "labels"), SOURCE_LABEL));
    if (live && lsha && !strcmp(lsha, a->sha)) {
        const json_t *ls =
            json_object_get(json_object_get(json_object_get(live, "buildConfig"), "source"), "storageSource");
        *body = want_body(a->ctx, a->wl, a->sh, ls, a->sha);
        return FB_OK;
    }
    json_decref(a->storage);
    a->storage = NULL;
    fb_status st = upload(a->ctx, a->parent, a->zip, a->zip_len, &a->storage, diag);
    if (st == FB_OK) *body = want_body(a->ctx, a->wl, a->sh, a->storage, a->sha);
    return st;
}

/* A function's HTTP is its own Cloud Run service: the one it names, else
 * (a dry run, an event function) the one of its id. new. */
static char *fn_http_service(const gcp_apply_call *a, const json_t *live)
{
    const char *service = json_string_value(json_object_get(json_object_get(live, "serviceConfig"), "service"));
    return service ? fbk_xstrdup(service) : fbk_xasprintf("%s/services/%s", a->parent, a->id);
}

static fb_status fn_apply_invokers(gcp_apply_call *a, const char *service, int created, fb_diag *diag)
{
    (void)created; /* Cloud Functions makes the service: its policy is read either way */
    return fn_invokers(a->ctx, a->wl, service, diag);
}

/* apply's state.sourceSha256. new or NULL (a dry run zips nothing). */
static json_t *fn_out_extra(const gcp_apply_call *a, const json_t *live)
{
    (void)live;
    return a->sha[0] ? json_pack("{s:s}", "sourceSha256", a->sha) : NULL;
}

/* observe's view of a live function: its state and its service. new. */
static json_t *fn_live_view(const json_t *live, const char *msg)
{
    (void)msg; /* stateMessages carries it */
    const json_t *sc = json_object_get(live, "serviceConfig");
    return json_pack("{s:O?,s:O?,s:O?,s:O?,s:O?}", "url", json_object_get(live, "url"), "state",
                     json_object_get(live, "state"), "stateMessages", json_object_get(live, "stateMessages"),
                     "revision", json_object_get(sc, "revision"), "service", json_object_get(sc, "service"));
}

/* observe's wanted body of a function, from the source as it is now on
 * disk against the deployed one, and the invoker policy of its HTTP
 * service (none for an event function, which nobody calls over HTTP). */
static fb_status fn_want(fb_driver_ctx *ctx, const char *name, const fbk_wl *wl, const gcp_shape *sh,
                         const json_t *live, json_t **want, char **iam_path, fb_diag *diag)
{
    (void)name;
    *want = NULL;
    *iam_path = NULL;
    unsigned char *zip = NULL;
    size_t zlen = 0;
    char sha[41] = "";
    fb_status st = source_zip(wl, &zip, &zlen, sha, diag);
    free(zip);
    if (st != FB_OK) return st;
    const json_t *ls =
        json_object_get(json_object_get(json_object_get(live, "buildConfig"), "source"), "storageSource");
    *want = want_body(ctx, wl, sh, ls, sha);
    const char *service = json_string_value(json_object_get(json_object_get(live, "serviceConfig"), "service"));
    if (service && !sh->event_function) *iam_path = fbk_xasprintf("v2/%s", service);
    return FB_OK;
}

const gcp_svc gcp_functions_svc = {
    .type = FN_TYPE, .service = "cloud-functions", .noun = "Cloud Function", .collection = "functions",
    .api = GCP_API_FUNCTIONS, .get_method = "functions.get", .delete_method = "functions.delete",
    .list_method = "functions.list", .url_member = "url",
    .status = fn_status, .live_view = fn_live_view, .want = fn_want, .busy = fn_busy,
    /* an operation still running on it may refuse the delete */
    .settle_on_destroy = 1, .listed = NULL,
    /* apply; the function is read back after its operation */
    .product = "Cloud Functions", .create_method = "functions.create", .patch_method = "functions.patch",
    .id_param = "functionId", .op_has_resource = 0, .topics_first = 1, .dry_run_invokers = 0,
    /* a new secret version is read by a new deployment; a failed function is built again */
    .refresh_query = "updateMask=serviceConfig", .rebuild_query = "updateMask=buildConfig",
    .prepare = fn_prepare, .body = fn_body, .update_mask = update_mask,
    .http_service = fn_http_service, .invokers = fn_apply_invokers, .out_extra = fn_out_extra};
