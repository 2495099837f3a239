/* gcp_run.c - Cloud Run services (Admin API v2): apply (create with a
 * deterministic serviceId, adopt what carries our labels, update with
 * PATCH and an update mask of what differs, wait for the operation), who
 * may invoke them, observe (status, conditions, drift), destroy, discover.
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

/* GET a resource: *found 0 on 404, else *live (new). */
static fb_status get(fb_driver_ctx *ctx, fb_diag *diag, gcp_api api, const char *what, const char *name,
                     json_t **live, int *found)
{
    *live = NULL;
    *found = 0;
    char *p = fbk_xasprintf("%s/%s", api == GCP_API_RUN || api == GCP_API_FUNCTIONS ? "v2" : "v1", name);
    gcp_req rq = {api, what, "GET", p, NULL, NULL, FB_HTTP_IDEMPOTENT};
    gcp_res res;
    fb_status st = gcp_call(ctx, diag, &rq, &res);
    if (st == FB_OK && res.err == FB_OK) {
        *found = 1;
        *live = res.body ? json_incref(res.body) : json_object();
    } else if (st == FB_OK && res.err != FB_NOTFOUND) {
        st = gcp_fail(diag, &rq, &res, NULL);
    }
    gcp_res_clear(&res);
    free(p);
    return st;
}

/* The names of a deployment: state.name, else the records of type. new. */
static json_t *dep_names(const json_t *dep, const char *type)
{
    json_t *out = json_array();
    const char *n = json_string_value(json_object_get(json_object_get(dep, "state"), "name"));
    if (n) json_array_append_new(out, json_string(n));
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(dep, "resources"), i, r) {
        const char *t = json_string_value(json_object_get(r, "type"));
        const char *id = json_string_value(json_object_get(r, "id"));
        if (!t || !id || strcmp(t, type) != 0) continue;
        int dup = 0;
        size_t k;
        json_t *o;
        json_array_foreach(out, k, o) dup |= !strcmp(json_string_value(o), id);
        if (!dup) json_array_append_new(out, json_string(id));
    }
    return out;
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
            st = get(ctx, diag, GCP_API_RUN, "services.get", name, &next, &there);
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
        fb_status st = get(ctx, diag, GCP_API_RUN, "services.get", name, &next, &found);
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
    if (st == FB_OK) st = get(ctx, diag, GCP_API_RUN, "services.get", name, &live, &found);
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
                st = get(ctx, diag, GCP_API_RUN, "services.get", name, &live, &found);
            }
            json_decref(result);
            if (st == FB_OK && !found) {
                fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL,
                         "gcp: Cloud Run service %s was created, then not found\napply again", name);
                st = FB_CONFLICT;
            }
        } else if (st == FB_OK && res.code && !strcmp(res.code, "ALREADY_EXISTS")) {
            /* made meanwhile (or by an attempt whose answer was lost) */
            st = get(ctx, diag, GCP_API_RUN, "services.get", name, &live, &found);
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
                st = get(ctx, diag, GCP_API_RUN, "services.get", name, &live, &found);
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
done:
    if (st == FB_OK) {
        json_t *state = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s?}", "kind", wl->kind, "service", "cloud-run",
                                  "name", name, "id", id, "region", region, "project", ctx->project, "specHash",
                                  wl->hash[0] ? wl->hash : NULL);
        if (uri) json_object_set_new(state, "uri", json_string(uri));
        const char *rev = json_string_value(json_object_get(live, "latestReadyRevision"));
        if (rev) json_object_set_new(state, "revision", json_string(rev));
        if (json_array_size(triggers)) json_object_set(state, "triggers", triggers);
        json_t *is = gcp_identity_state(&ident);
        if (is) json_object_set_new(state, "identity", is);
        json_t *all = json_array();
        if (!gcp_host->dry_run(diag))
            json_array_append_new(all, json_pack("{s:s,s:s,s:s,s:s}", "type", RUN_TYPE, "id", name, "region",
                                                 region, "name", id));
        json_array_extend(all, resources);
        *out = json_pack("{s:o,s:o}", "state", state, "resources", all);
        if (uri) json_object_set_new(*out, "result", json_pack("{s:s}", "url", uri));
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

/* The workload of an observe input, checked into wl/sh; 0 when there is
 * none (or it does not fit this driver: then only status is observed). */
static int observe_workload(fb_driver_ctx *ctx, json_t *in, fbk_wl *wl, gcp_shape *sh, fb_diag *diag)
{
    json_t *w = json_object_get(in, "workload");
    if (!json_is_object(w)) return 0;
    const json_t *dep = json_object_get(in, "deployment");
    /* a placement made from the deployment, for the shape */
    json_t *x = json_pack("{s:O,s:{s:s?,s:s?,s:O?}}", "workload", w, "placement", "service",
                          json_string_value(json_object_get(dep, "service")), "region",
                          json_string_value(json_object_get(dep, "region")), "kind", json_object_get(w, "kind"));
    fbk_ck quiet = {gcp_host, diag, GCP_DRV, 0, 1};
    int ok = gcp_check(ctx, x, wl, sh, &quiet) == 0;
    /* wl points into x: keep it alive with the input */
    json_object_set_new(in, "_checked", x);
    return ok;
}

fb_status gcp_run_observe(fb_driver_ctx *ctx, json_t *in, json_t **out, fb_diag *diag)
{
    const json_t *dep = json_object_get(in, "deployment");
    fbk_wl wl;
    gcp_shape sh;
    int have_w = observe_workload(ctx, in, &wl, &sh, diag);
    json_t *names = dep_names(dep, RUN_TYPE);
    const char *region = json_string_value(json_object_get(dep, "region"));
    char *name = NULL;
    if (json_array_size(names)) name = fbk_xstrdup(json_string_value(json_array_get(names, 0)));
    else if (have_w && region)
        name = fbk_xasprintf("projects/%s/locations/%s/services/%s", ctx->project, region, gcp_resource_id(&wl));
    json_decref(names);
    if (!name) {
        fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL, "gcp: the deployment names no Cloud Run service (no "
                 "state.name, no run-service record) and no workload to look it up by");
        return FB_INVALID;
    }
    json_t *live = NULL, *drift = json_array();
    int found = 0;
    fb_status st = get(ctx, diag, GCP_API_RUN, "services.get", name, &live, &found);
    const char *status = "missing";
    json_t *lv = NULL;
    if (st == FB_OK && found && have_w && gcp_labels_ours(json_object_get(live, "labels"), &wl) != 1) {
        /* a service of that name that is not this workload's is not ours */
        found = 0;
    }
    if (st == FB_OK && found) {
        const char *msg;
        status = run_status(live, &msg);
        const char *ready_rev = json_string_value(json_object_get(live, "latestReadyRevision"));
        const char *created_rev = json_string_value(json_object_get(live, "latestCreatedRevision"));
        lv = json_pack("{s:O?,s:O?,s:O?,s:O?,s:O?,s:O?,s:O?,s:b}", "uri", json_object_get(live, "uri"),
                       "terminalCondition", json_object_get(live, "terminalCondition"), "conditions",
                       json_object_get(live, "conditions"), "latestReadyRevision",
                       json_object_get(live, "latestReadyRevision"), "latestCreatedRevision",
                       json_object_get(live, "latestCreatedRevision"), "generation",
                       json_object_get(live, "generation"), "observedGeneration",
                       json_object_get(live, "observedGeneration"), "latestRevisionServing",
                       ready_rev && created_rev && !strcmp(ready_rev, created_rev));
        if (msg) json_object_set_new(lv, "message", json_string(msg));
        if (have_w) {
            json_t *want = gcp_run_body(ctx, &wl, &sh);
            gcp_identity_body(want, NULL, json_object_get(dep, "state"));
            gcp_drift(want, live, "", drift);
            json_decref(want);
            int holds = 0;
            char *p = fbk_xasprintf("v2/%s", name);
            st = gcp_iam_holds(ctx, diag, GCP_API_RUN, p, "roles/run.invoker", "allUsers", &holds);
            free(p);
            if (st == FB_OK && holds != wl.public_http)
                json_array_append_new(drift, json_pack("{s:s,s:b,s:b}", "field", "iam.roles/run.invoker.allUsers",
                                                       "want", wl.public_http, "live", holds));
            if (st == FB_OK) st = gcp_secrets_observe(ctx, &wl, gcp_identity_sa_of(dep), drift, diag);
            if (st == FB_OK)
                st = gcp_triggers_observe(ctx, &wl, &sh, json_string_value(json_object_get(live, "uri")), drift,
                                          diag);
        }
    }
    if (st == FB_OK) {
        *out = json_pack("{s:s,s:o}", "status", status, "drift", drift);
        if (lv) json_object_set(*out, "live", lv);
        const char *uri = json_string_value(json_object_get(live, "uri"));
        if (found && uri) json_object_set_new(*out, "result", json_pack("{s:s}", "url", uri));
    } else {
        json_decref(drift);
    }
    json_decref(lv);
    json_decref(live);
    free(name);
    return st;
}

fb_status gcp_run_destroy(fb_driver_ctx *ctx, const json_t *dep, json_t *deleted, fb_diag *diag)
{
    /* the triggers first: they call the service */
    fb_status st = gcp_triggers_destroy(ctx, dep, deleted, diag);
    json_t *names = dep_names(dep, RUN_TYPE);
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n) {
        if (st != FB_OK) break;
        const char *name = json_string_value(n);
        json_t *live = NULL;
        int found = 0;
        st = get(ctx, diag, GCP_API_RUN, "services.get", name, &live, &found);
        if (st == FB_OK && found && !gcp_labels_ours(json_object_get(live, "labels"), NULL)) {
            fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL, "gcp: Cloud Run service %s is not managed by fedbroker "
                     "(no managed-by=fedbroker label); not deleting it", name);
            st = FB_CONFLICT;
        }
        if (st == FB_OK && found) {
            char *p = fbk_xasprintf("v2/%s", name);
            gcp_req rq = {GCP_API_RUN, "services.delete", "DELETE", p, NULL, NULL, FB_HTTP_IDEMPOTENT};
            gcp_res res;
            st = gcp_call(ctx, diag, &rq, &res);
            if (st == FB_OK && res.err == FB_OK) {
                st = gcp_wait(ctx, diag, GCP_API_RUN, "services.delete", res.body, NULL);
            } else if (st == FB_OK && res.err != FB_NOTFOUND) { /* gone already is what we want */
                st = gcp_fail(diag, &rq, &res, NULL);
            }
            gcp_res_clear(&res);
            free(p);
        }
        if (st == FB_OK && found) json_array_append_new(deleted, json_string(name));
        json_decref(live);
    }
    json_decref(names);
    return st;
}

fb_status gcp_run_discover(fb_driver_ctx *ctx, const char *region, json_t *resources, fb_diag *diag)
{
    char *p = fbk_xasprintf("v2/projects/%s/locations/%s/services", ctx->project, region);
    json_t *items = json_array();
    fb_status st = gcp_list(ctx, diag, GCP_API_RUN, "services.list", p, "services", items);
    size_t i;
    json_t *s;
    json_array_foreach(items, i, s) {
        const json_t *labels = json_object_get(s, "labels");
        const char *gm = json_string_value(json_object_get(labels, "goog-managed-by"));
        if (gm && !strcmp(gm, "cloudfunctions")) continue; /* a function's own service: listed with it */
        const char *name = json_string_value(json_object_get(s, "name"));
        if (!name) continue;
        json_t *r = gcp_found(RUN_TYPE, name, region, labels);
        /* where it answers (docs/driver-abi.md, discover's "endpoints"), with
         * the service's terminal condition as the provider's view */
        const char *cs = json_string_value(json_object_get(json_object_get(s, "terminalCondition"), "state"));
        gcp_found_endpoint(r, json_string_value(json_object_get(s, "uri")),
                           !cs ? NULL : !strcmp(cs, "CONDITION_SUCCEEDED") ? "passing"
                                    : !strcmp(cs, "CONDITION_FAILED") ? "critical" : "unknown");
        json_array_append_new(resources, r);
    }
    json_decref(items);
    free(p);
    return st;
}

/* Shared with gcp_functions.c through gcp.h. */
fb_status gcp_dry_run_docs(fb_driver_ctx *ctx, const json_t *docs, fb_diag *diag)
{
    return send_docs(ctx, docs, diag);
}

fb_status gcp_get(fb_driver_ctx *ctx, fb_diag *diag, gcp_api api, const char *what, const char *name,
                  json_t **live, int *found)
{
    return get(ctx, diag, api, what, name, live, found);
}

json_t *gcp_dep_names(const json_t *dep, const char *type)
{
    return dep_names(dep, type);
}

int gcp_observe_workload(fb_driver_ctx *ctx, json_t *in, fbk_wl *wl, gcp_shape *sh, fb_diag *diag)
{
    return observe_workload(ctx, in, wl, sh, diag);
}
