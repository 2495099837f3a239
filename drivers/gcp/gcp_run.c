/* gcp_run.c - Cloud Run services (Admin API v2): apply (create with a
 * deterministic serviceId, adopt what carries our labels, update with
 * PATCH and an update mask of what differs, wait for the operation), who
 * may invoke them, what observe, destroy and discover (gcp_service.c)
 * read of a service (status, conditions, drift, which listed services are
 * its own).
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

/* Polls a service that is still reconciling (an update sent before, or a
 * crash during the wait) until it is not, with the operations' backoff. */
static fb_status wait_reconciled(fb_driver_ctx *ctx, fb_diag *diag, const char *name, json_t **live)
{
    uint32_t delay = 1000;
    int64_t slept = 0;
    if (json_is_true(json_object_get(*live, "reconciling"))) {
        /* the operation that is reconciling it (its error, if it fails, is
         * the answer), then the service as it is after it */
        const char *sl = strstr(name, "/services/");
        char *parent = fbk_xstrndup(name, (size_t)(sl - name));
        int found = 0;
        fb_status st = gcp_wait_pending(ctx, diag, GCP_API_RUN, parent, name, &found);
        free(parent);
        if (st != FB_OK) return st;
        if (found) {
            json_t *next = NULL;
            int there = 0;
            st = gcp_get(ctx, diag, GCP_API_RUN, "services.get", name, &next, &there);
            if (st != FB_OK) return st;
            if (there) {
                json_decref(*live);
                *live = next;
            }
        }
    }
    while (json_is_true(json_object_get(*live, "reconciling"))) {
        if (slept >= ctx->op_timeout_ms) {
            fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL,
                     "gcp: Cloud Run service %s is still reconciling after %lld s\napply again later", name,
                     (long long)(slept / 1000));
            return FB_RETRYABLE;
        }
        gcp_host->sleep_ms(diag, delay);
        slept += delay;
        delay = delay * 2 > 60000 ? 60000 : delay * 2;
        json_t *next = NULL;
        int found = 0;
        fb_status st = gcp_get(ctx, diag, GCP_API_RUN, "services.get", name, &next, &found);
        if (st != FB_OK) return st;
        if (!found) {
            fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL, "gcp: Cloud Run service %s disappeared while it was "
                     "being deployed\napply again", name);
            return FB_CONFLICT;
        }
        json_decref(*live);
        *live = next;
    }
    return FB_OK;
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

fb_status gcp_run_apply(fb_driver_ctx *ctx, json_t *in, const fbk_wl *wl, const gcp_shape *sh, json_t **out,
                        fb_diag *diag)
{
    const json_t *prev = json_object_get(in, "deployment");
    const char *id = gcp_resource_id(wl), *region = sh->region->id;
    char *parent = fbk_xasprintf("projects/%s/locations/%s", ctx->project, region);
    char *name = fbk_xasprintf("%s/services/%s", parent, id);
    json_t *body = gcp_run_body(ctx, wl, sh);
    json_t *live = NULL, *resources = json_array(), *triggers = json_array();
    fb_status st = FB_OK;
    const char *uri = NULL;
    /* the workload's own identity (gcp_identity.c) exists before the
     * service that runs as it; a dry run shows its creates first */
    gcp_identity ident;
    st = gcp_identity_bind(ctx, in, wl, region, &ident, resources, diag);
    if (st == FB_OK && ident.email) gcp_identity_body(body, &ident, NULL);
    if (st != FB_OK) goto done;
    if (gcp_host->dry_run(diag)) {
        fbk_ck ck = {gcp_host, diag, GCP_DRV, 0, 1};
        int changed = 0;
        st = gcp_secrets_materialise(ctx, in, wl, region, resources, &changed, diag);
        json_t *docs = gcp_render_docs(ctx, wl, sh, &ck);
        if (st == FB_OK) st = send_docs(ctx, docs, diag);
        json_decref(docs);
        if (st == FB_OK) st = gcp_identity_invokers(ctx, in, &ident, name, region, resources, diag);
        goto done;
    }
    /* the revision reads its secrets as soon as it starts: copy the
     * broker's portable ones and grant first */
    int secrets_changed = 0;
    st = gcp_secrets_materialise(ctx, in, wl, region, resources, &secrets_changed, diag);
    if (st == FB_OK) st = gcp_secrets_grant(ctx, wl, ident.email, diag);
    int found = 0;
    if (st == FB_OK) st = gcp_get(ctx, diag, GCP_API_RUN, "services.get", name, &live, &found);
    if (st == FB_OK && !found) {
        char *p = fbk_xasprintf("v2/%s/services", parent);
        char *q = fbk_xasprintf("serviceId=%s", id);
        /* the deterministic id guards a retried create: a second attempt
         * meets ALREADY_EXISTS and adopts what the first one made */
        gcp_req rq = {GCP_API_RUN, "services.create", "POST", p, q, body, FB_HTTP_TOKEN_GUARDED};
        gcp_res res;
        st = gcp_call(ctx, diag, &rq, &res);
        free(p);
        free(q);
        if (st == FB_OK && res.err == FB_OK) {
            /* the id before anything else: a crash from here on leaves a
             * service the store knows */
            st = gcp_record(diag, prev, RUN_TYPE, name, region, id);
            json_t *result = NULL;
            if (st == FB_OK) st = gcp_wait(ctx, diag, GCP_API_RUN, "services.create", res.body, &result);
            /* the finished operation's response is the service; read it
             * only when the operation did not carry it */
            if (st == FB_OK && json_string_value(json_object_get(result, "name"))) {
                live = result;
                result = NULL;
                found = 1;
            } else if (st == FB_OK) {
                st = gcp_get(ctx, diag, GCP_API_RUN, "services.get", name, &live, &found);
            }
            json_decref(result);
            if (st == FB_OK && !found) {
                fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL,
                         "gcp: Cloud Run service %s was created, then not found\napply again", name);
                st = FB_CONFLICT;
            }
        } else if (st == FB_OK && res.code && !strcmp(res.code, "ALREADY_EXISTS")) {
            /* made meanwhile (or by an attempt whose answer was lost) */
            st = gcp_get(ctx, diag, GCP_API_RUN, "services.get", name, &live, &found);
            if (st == FB_OK && !found) {
                fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL,
                         "gcp: Cloud Run said service %s exists, then that it does not\napply again", name);
                st = FB_CONFLICT;
            }
            found = found ? 2 : 0; /* adopt below */
        } else if (st == FB_OK) {
            st = gcp_fail(diag, &rq, &res, "validate checked the spec's values; this is what Cloud Run refused");
        }
        gcp_res_clear(&res);
        if (found == 1) found = 3; /* created now: nothing to adopt or update */
    }
    if (st == FB_OK && (found == 1 || found == 2)) {
        int ours = gcp_labels_ours(json_object_get(live, "labels"), wl);
        if (ours != 1) {
            fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL,
                     "gcp: a Cloud Run service named %s exists in %s and %s\nrename the workload, or delete or "
                     "relabel the existing service yourself", id, region,
                     ours == 0 ? "is not managed by fedbroker (no managed-by=fedbroker label)"
                               : "belongs to another fedbroker workload or tenant (its workload/tenant labels differ)");
            st = FB_CONFLICT;
        }
        if (st == FB_OK) st = gcp_record(diag, prev, RUN_TYPE, name, region, id);
        if (st == FB_OK) st = wait_reconciled(ctx, diag, name, &live);
        char *mask = st == FB_OK ? update_mask(body, live) : NULL;
        const char *msg;
        /* a new secret version is read by new instances only: a new
         * revision, as for a failed one */
        int failed = st == FB_OK && (!strcmp(run_status(live, &msg), "failed") || secrets_changed);
        if (st == FB_OK && (*mask || failed)) {
            /* PATCH what differs; a failed revision with nothing to change
             * gets a new one (its cause, e.g. a secret grant, may be fixed) */
            char *p = fbk_xasprintf("v2/%s", name);
            char *q = fbk_xasprintf("updateMask=%s%s", *mask ? mask : "template",
                                    *mask ? "" : "&forceNewRevision=true");
            gcp_req rq = {GCP_API_RUN, "services.patch", "PATCH", p, q, body, FB_HTTP_IDEMPOTENT};
            gcp_res res;
            st = gcp_call(ctx, diag, &rq, &res);
            if (st == FB_OK && res.err != FB_OK) st = gcp_fail(diag, &rq, &res, NULL);
            json_t *result = NULL;
            if (st == FB_OK) st = gcp_wait(ctx, diag, GCP_API_RUN, "services.patch", res.body, &result);
            json_decref(result);
            gcp_res_clear(&res);
            free(p);
            free(q);
            if (st == FB_OK) {
                json_decref(live);
                live = NULL;
                st = gcp_get(ctx, diag, GCP_API_RUN, "services.get", name, &live, &found);
            }
        }
        free(mask);
    }
    if (st == FB_OK) {
        const char *msg;
        if (!strcmp(run_status(live, &msg), "failed")) {
            fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL, "gcp: Cloud Run service %s is not ready: %s", name,
                     msg ? msg : "(no message)");
            st = FB_CONFLICT; /* it did not come up: an operation that failed */
        }
    }
    if (st == FB_OK) st = run_invokers(ctx, wl, sh, name, found == 3, diag);
    /* least privilege: exactly the workload's callers may call it */
    if (st == FB_OK) st = gcp_identity_invokers(ctx, in, &ident, name, region, resources, diag);
    uri = json_string_value(json_object_get(live, "uri"));
    if (st == FB_OK && (wl->queue_triggers || wl->schedule_triggers || json_object_get(prev, "state")))
        st = gcp_triggers_apply(ctx, wl, sh, uri, prev, GCP_TRIGGERS_TOPICS | GCP_TRIGGERS_REST, triggers,
                                resources, diag);
    /* the capacity schedule patches the service that is now up */
    if (st == FB_OK) st = gcp_capacity_apply(ctx, in, wl, sh, name, resources, diag);
done:
    if (st == FB_OK) {
        const char *rev = json_string_value(json_object_get(live, "latestReadyRevision"));
        json_t *extra = rev ? json_pack("{s:s}", "revision", rev) : NULL;
        *out = gcp_svc_apply_out(ctx, &gcp_run_svc, wl, name, id, region, uri, extra, triggers, &ident, resources,
                                 diag);
    }
    gcp_identity_clear(&ident);
    json_decref(triggers);
    json_decref(resources);
    json_decref(live);
    json_decref(body);
    free(name);
    free(parent);
    return st;
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

const gcp_svc gcp_run_svc = {.type = RUN_TYPE,
                             .service = "cloud-run",
                             .noun = "Cloud Run service",
                             .collection = "services",
                             .api = GCP_API_RUN,
                             .get_method = "services.get",
                             .delete_method = "services.delete",
                             .list_method = "services.list",
                             .url_member = "uri",
                             .status = run_status,
                             .live_view = run_live_view,
                             .want = run_want,
                             .settle = NULL,
                             .listed = run_listed};

/* Shared with gcp_functions.c through gcp.h. */
fb_status gcp_dry_run_docs(fb_driver_ctx *ctx, const json_t *docs, fb_diag *diag)
{
    return send_docs(ctx, docs, diag);
}
