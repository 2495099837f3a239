/* gcp_run.c - Cloud Run services (Admin API v2): what apply, observe,
 * destroy and discover (gcp_service.c) need of a service: its body and
 * update mask (PATCH of the top-level members that differ), when it is
 * reconciling, who may invoke it, its status, conditions and drift,
 * which listed services are its own.
 * Also the dry run shared with Cloud Functions: render's documents sent
 * through the host, which records them. */
#include "config.h"
#include "gcp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RUN_TYPE "run-service"

/* gcp_api of a rendered document's "api" ("run.googleapis.com/v2"). */
static gcp_api doc_api(const char *api)
{
    static const struct {
        const char *prefix;
        gcp_api api;
    } m[] = {{"run.", GCP_API_RUN},
             {"cloudfunctions.", GCP_API_FUNCTIONS},
             {"cloudscheduler.", GCP_API_SCHEDULER},
             {"pubsub.", GCP_API_PUBSUB},
             {"secretmanager.", GCP_API_SECRETS}};
    for (size_t i = 0; api && i < sizeof m / sizeof *m; i++)
        if (!strncmp(api, m[i].prefix, strlen(m[i].prefix))) return m[i].api;
    return GCP_API_RUN;
}

/* A dry run: render's documents, in order, through the host (which records
 * them and sends nothing). A function's source upload is shown as
 * generateUploadUrl and the PUT of the zip to the URL it would answer. */
static fb_status send_docs(fb_driver_ctx *ctx, const json_t *docs, fb_diag *diag)
{
    size_t i;
    const json_t *d;
    fb_status st = FB_OK;
    json_array_foreach(docs, i, d) {
        const char *path = json_string_value(json_object_get(d, "path"));
        const char *q = strchr(path, '?');
        char *p = q ? fbk_xstrndup(path, (size_t)(q - path)) : fbk_xstrdup(path);
        gcp_api api = doc_api(json_string_value(json_object_get(d, "api")));
        if (json_object_get(d, "upload")) {
            /* generateUploadUrl on the function's parent */
            const char *fs = strstr(p, "/functions");
            char *up = fbk_xasprintf("%.*s/functions:generateUploadUrl", (int)(fs - p), p);
            json_t *empty = json_object();
            gcp_req rq = {api, "functions.generateUploadUrl", "POST", up, NULL, empty, FB_HTTP_IDEMPOTENT};
            gcp_res res;
            st = gcp_call(ctx, diag, &rq, &res);
            gcp_res_clear(&res);
            json_decref(empty);
            free(up);
            if (st == FB_OK) {
                char text[200];
                snprintf(text, sizeof text, "(the zip of %s)",
                         json_string_value(json_object_get(json_object_get(json_object_get(d, "upload"), "from"),
                                                           "path"))
                             ? "spec.code.path"
                             : "spec.code");
                fb_http_header h[] = {{"Content-Type", "application/zip"}};
                fb_http_request req = {.struct_size = sizeof req, .method = "PUT",
                                       .url = "https://storage.googleapis.com/${generateUploadUrl.uploadUrl}",
                                       .headers = h, .n_headers = 1, .body = text, .body_len = strlen(text),
                                       .flags = FB_HTTP_IDEMPOTENT, .service = "gcs-upload"};
                fb_http_response resp;
                st = gcp_host->http(diag, &req, &resp);
                if (st == FB_OK) gcp_host->http_free(&resp);
            }
        }
        if (st == FB_OK) {
            gcp_req rq = {api, json_string_value(json_object_get(d, "kind")),
                          json_string_value(json_object_get(d, "method")), p, q ? q + 1 : NULL,
                          json_object_get(d, "body"), FB_HTTP_TOKEN_GUARDED};
            gcp_res res;
            st = gcp_call(ctx, diag, &rq, &res);
            gcp_res_clear(&res);
        }
        free(p);
        if (st != FB_OK) break;
    }
    return st;
}

/* What a service is busy with: "reconciling" (an update sent before, or
 * a crash during the wait), else NULL. */
static const char *run_busy(const json_t *live)
{
    return json_is_true(json_object_get(live, "reconciling")) ? "reconciling" : NULL;
}

/* The update mask: the service's top-level members whose wanted value
 * differs from the live one. new ("" when nothing differs). */
static char *update_mask(const json_t *want, const json_t *live)
{
    fbk_buf m;
    fbk_buf_init(&m);
    const char **keys;
    size_t n;
    keys = fbk_sorted_keys((json_t *)want, &n);
    for (size_t i = 0; i < n; i++) {
        if (!gcp_drift(json_object_get(want, keys[i]), json_object_get(live, keys[i]), keys[i], NULL)) continue;
        fbk_buf_printf(&m, "%s%s", m.len ? "," : "", keys[i]);
    }
    free(keys);
    return fbk_buf_steal(&m);
}

/* The service's Ready condition: "ready", "failed" or "pending"; *msg
 * borrowed (the failure's message) or NULL. */
static const char *run_status(const json_t *live, const char **msg)
{
    const json_t *tc = json_object_get(live, "terminalCondition");
    const char *state = json_string_value(json_object_get(tc, "state"));
    *msg = json_string_value(json_object_get(tc, "message"));
    if (state && !strcmp(state, "CONDITION_FAILED")) return "failed";
    if (json_is_true(json_object_get(live, "reconciling"))) return "pending";
    if (state && !strcmp(state, "CONDITION_SUCCEEDED")) return "ready";
    return "pending";
}

/* Who may call the service: allUsers when public (removed when it is not),
 * and the invoker service account when its triggers call it. A service
 * created by this call has an empty policy: nothing to remove there. */
static fb_status run_invokers(fb_driver_ctx *ctx, const fbk_wl *wl, const gcp_shape *sh, const char *name,
                              int created, fb_diag *diag)
{
    char *p = fbk_xasprintf("v2/%s", name);
    fb_status st = FB_OK;
    if (wl->public_http || !created)
        st = gcp_iam_member(ctx, diag, GCP_API_RUN, p, "roles/run.invoker", "allUsers", wl->public_http, NULL);
    int oidc = wl->schedule_triggers || (sh->svc == GCP_RUN && wl->queue_triggers);
    if (st == FB_OK && oidc && !wl->public_http) {
        char *m = fbk_xasprintf("serviceAccount:%s", gcp_invoker_sa(ctx));
        st = gcp_iam_member(ctx, diag, GCP_API_RUN, p, "roles/run.invoker", m, 1, NULL);
        free(m);
    }
    free(p);
    return st;
}

/* apply's body of a service: render's (the same for a create and an
 * update). */
static fb_status run_body(gcp_apply_call *a, const json_t *live, json_t **body, fb_diag *diag)
{
    (void)live;
    (void)diag;
    *body = gcp_run_body(a->ctx, a->wl, a->sh);
    return FB_OK;
}

/* A service answers its own HTTP. new. */
static char *run_http_service(const gcp_apply_call *a, const json_t *live)
{
    (void)live;
    return fbk_xstrdup(a->name);
}

static fb_status run_apply_invokers(gcp_apply_call *a, const char *service, int created, fb_diag *diag)
{
    return run_invokers(a->ctx, a->wl, a->sh, service, created, diag);
}

/* apply's state.revision: the revision serving. new or NULL. */
static json_t *run_out_extra(const gcp_apply_call *a, const json_t *live)
{
    (void)a;
    const char *rev = json_string_value(json_object_get(live, "latestReadyRevision"));
    return rev ? json_pack("{s:s}", "revision", rev) : NULL;
}

/* observe's view of a live service: its conditions and revisions. new. */
static json_t *run_live_view(const json_t *live, const char *msg)
{
    const char *ready_rev = json_string_value(json_object_get(live, "latestReadyRevision"));
    const char *created_rev = json_string_value(json_object_get(live, "latestCreatedRevision"));
    json_t *lv = json_pack("{s:O?,s:O?,s:O?,s:O?,s:O?,s:O?,s:O?,s:b}", "uri", json_object_get(live, "uri"),
                           "terminalCondition", json_object_get(live, "terminalCondition"), "conditions",
                           json_object_get(live, "conditions"), "latestReadyRevision",
                           json_object_get(live, "latestReadyRevision"), "latestCreatedRevision",
                           json_object_get(live, "latestCreatedRevision"), "generation",
                           json_object_get(live, "generation"), "observedGeneration",
                           json_object_get(live, "observedGeneration"), "latestRevisionServing",
                           ready_rev && created_rev && !strcmp(ready_rev, created_rev));
    if (msg) json_object_set_new(lv, "message", json_string(msg));
    return lv;
}

/* observe's wanted body of a service, and its own invoker policy. */
static fb_status run_want(fb_driver_ctx *ctx, const char *name, const fbk_wl *wl, const gcp_shape *sh,
                          const json_t *live, json_t **want, char **iam_path, fb_diag *diag)
{
    (void)live;
    (void)diag;
    *want = gcp_run_body(ctx, wl, sh);
    *iam_path = fbk_xasprintf("v2/%s", name);
    return FB_OK;
}

/* discover: a function's own service is listed with the function. */
static int run_listed(const json_t *item)
{
    const char *gm = json_string_value(json_object_get(json_object_get(item, "labels"), "goog-managed-by"));
    return !gm || strcmp(gm, "cloudfunctions") != 0;
}

const gcp_svc gcp_run_svc = {
    .type = RUN_TYPE, .service = "cloud-run", .noun = "Cloud Run service", .collection = "services",
    .api = GCP_API_RUN, .get_method = "services.get", .delete_method = "services.delete",
    .list_method = "services.list", .url_member = "uri",
    .status = run_status, .live_view = run_live_view, .want = run_want, .busy = run_busy,
    .settle_on_destroy = 0, .listed = run_listed,
    /* apply; Operation.response is the Service */
    .product = "Cloud Run", .create_method = "services.create", .patch_method = "services.patch",
    .id_param = "serviceId", .op_has_resource = 1, .topics_first = 0, .dry_run_invokers = 1,
    /* a new secret version, as a failed revision: a new revision */
    .refresh_query = "updateMask=template&forceNewRevision=true",
    .rebuild_query = "updateMask=template&forceNewRevision=true",
    .prepare = NULL, .body = run_body, .update_mask = update_mask,
    .http_service = run_http_service, .invokers = run_apply_invokers, .out_extra = run_out_extra};

/* Shared with gcp_functions.c through gcp.h. */
fb_status gcp_dry_run_docs(fb_driver_ctx *ctx, const json_t *docs, fb_diag *diag)
{
    return send_docs(ctx, docs, diag);
}
