/* gcp_service.c - what Cloud Run services (gcp_run.c) and Cloud Functions
 * (gcp_functions.c) share: a resource read by its full name, the names a
 * deployment recorded, observe's workload, apply's output, and observe,
 * destroy and discover themselves, driven by the gcp_svc descriptor each
 * of the two files defines (what differs: the API, the URL member, how
 * status and drift are read, whether a delete waits for another run's
 * operation, which listed items are the kind's own). One implementation,
 * so a fix to either service reaches both. */
#include "config.h"
#include "gcp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

fb_status gcp_get(fb_driver_ctx *ctx, fb_diag *diag, gcp_api api, const char *what, const char *name,
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

json_t *gcp_dep_names(const json_t *dep, const char *type)
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

int gcp_observe_workload(fb_driver_ctx *ctx, json_t *in, fbk_wl *wl, gcp_shape *sh, fb_diag *diag)
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

json_t *gcp_svc_apply_out(fb_driver_ctx *ctx, const gcp_svc *k, const fbk_wl *wl, const char *name, const char *id,
                          const char *region, const char *uri, json_t *extra, json_t *triggers,
                          const gcp_identity *id_state, json_t *resources, fb_diag *diag)
{
    json_t *state = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s?}", "kind", wl->kind, "service", k->service, "name",
                              name, "id", id, "region", region, "project", ctx->project, "specHash",
                              wl->hash[0] ? wl->hash : NULL);
    if (uri) json_object_set_new(state, "uri", json_string(uri));
    if (extra) json_object_update(state, extra);
    json_decref(extra);
    if (json_array_size(triggers)) json_object_set(state, "triggers", triggers);
    json_t *is = gcp_identity_state(id_state);
    if (is) json_object_set_new(state, "identity", is);
    json_t *all = json_array();
    if (!gcp_host->dry_run(diag))
        json_array_append_new(all,
                              json_pack("{s:s,s:s,s:s,s:s}", "type", k->type, "id", name, "region", region, "name", id));
    json_array_extend(all, resources);
    json_t *out = json_pack("{s:o,s:o}", "state", state, "resources", all);
    if (uri) json_object_set_new(out, "result", json_pack("{s:s}", "url", uri));
    return out;
}

/* observe's drift of a live resource against what the workload wants:
 * the body (want_body's view), who may invoke it, the secrets its
 * account reads, its triggers. Appends to drift. */
static fb_status drift_of(fb_driver_ctx *ctx, const gcp_svc *k, const json_t *dep, const char *name,
                          const fbk_wl *wl, const gcp_shape *sh, const json_t *live, json_t *drift, fb_diag *diag)
{
    json_t *want = NULL;
    char *iam = NULL;
    fb_status st = k->want(ctx, name, wl, sh, live, &want, &iam, diag);
    if (st != FB_OK) return st;
    gcp_identity_body(want, NULL, json_object_get(dep, "state"));
    gcp_drift(want, live, "", drift);
    json_decref(want);
    if (iam) {
        int holds = 0;
        st = gcp_iam_holds(ctx, diag, GCP_API_RUN, iam, "roles/run.invoker", "allUsers", &holds);
        if (st == FB_OK && holds != wl->public_http)
            json_array_append_new(drift, json_pack("{s:s,s:b,s:b}", "field", "iam.roles/run.invoker.allUsers",
                                                   "want", wl->public_http, "live", holds));
        free(iam);
    }
    if (st == FB_OK) st = gcp_secrets_observe(ctx, wl, gcp_identity_sa_of(dep), drift, diag);
    if (st == FB_OK)
        st = gcp_triggers_observe(ctx, wl, sh, json_string_value(json_object_get(live, k->url_member)), drift,
                                  diag);
    if (st == FB_OK && sh->svc == GCP_RUN) st = gcp_capacity_observe(ctx, wl, sh, name, drift, diag);
    return st;
}

fb_status gcp_svc_observe(fb_driver_ctx *ctx, const gcp_svc *k, json_t *in, json_t **out, fb_diag *diag)
{
    const json_t *dep = json_object_get(in, "deployment");
    fbk_wl wl;
    gcp_shape sh;
    int have_w = gcp_observe_workload(ctx, in, &wl, &sh, diag);
    json_t *names = gcp_dep_names(dep, k->type);
    const char *region = json_string_value(json_object_get(dep, "region"));
    char *name = NULL;
    if (json_array_size(names)) name = fbk_xstrdup(json_string_value(json_array_get(names, 0)));
    else if (have_w && region)
        name = fbk_xasprintf("projects/%s/locations/%s/%s/%s", ctx->project, region, k->collection,
                             gcp_resource_id(&wl));
    json_decref(names);
    if (!name) {
        fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL, "gcp: the deployment names no %s (no state.name, no %s "
                 "record) and no workload to look it up by", k->noun, k->type);
        return FB_INVALID;
    }
    json_t *live = NULL, *drift = json_array(), *lv = NULL;
    int found = 0;
    fb_status st = gcp_get(ctx, diag, k->api, k->get_method, name, &live, &found);
    /* one of that name that is not this workload's is not ours */
    if (st == FB_OK && found && have_w && gcp_labels_ours(json_object_get(live, "labels"), &wl) != 1) found = 0;
    const char *status = "missing";
    if (st == FB_OK && found) {
        const char *msg;
        status = k->status(live, &msg);
        lv = k->live_view(live, msg);
        if (have_w) st = drift_of(ctx, k, dep, name, &wl, &sh, live, drift, diag);
    }
    if (st == FB_OK) {
        *out = json_pack("{s:s,s:o}", "status", status, "drift", drift);
        if (lv) json_object_set(*out, "live", lv);
        const char *uri = json_string_value(json_object_get(live, k->url_member));
        if (found && uri) json_object_set_new(*out, "result", json_pack("{s:s}", "url", uri));
    } else {
        json_decref(drift);
    }
    json_decref(lv);
    json_decref(live);
    free(name);
    return st;
}

fb_status gcp_svc_destroy(fb_driver_ctx *ctx, const gcp_svc *k, const json_t *dep, json_t *deleted, fb_diag *diag)
{
    /* the triggers and the capacity schedule's jobs first: they call the
     * service */
    fb_status st = gcp_triggers_destroy(ctx, dep, deleted, diag);
    if (st == FB_OK) st = gcp_capacity_destroy(ctx, dep, deleted, diag);
    json_t *names = gcp_dep_names(dep, k->type);
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n) {
        if (st != FB_OK) break;
        const char *name = json_string_value(n);
        json_t *live = NULL;
        int found = 0;
        st = gcp_get(ctx, diag, k->api, k->get_method, name, &live, &found);
        if (st == FB_OK && found && !gcp_labels_ours(json_object_get(live, "labels"), NULL)) {
            fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL, "gcp: %s %s is not managed by fedbroker (no "
                     "managed-by=fedbroker label); not deleting it", k->noun, name);
            st = FB_CONFLICT;
        }
        /* an operation still running on it may refuse the delete: wait */
        if (st == FB_OK && found && k->settle) st = k->settle(ctx, diag, name, &live);
        if (st == FB_OK && found) {
            char *p = fbk_xasprintf("v2/%s", name);
            gcp_req rq = {k->api, k->delete_method, "DELETE", p, NULL, NULL, FB_HTTP_IDEMPOTENT};
            gcp_res res;
            st = gcp_call(ctx, diag, &rq, &res);
            if (st == FB_OK && res.err == FB_OK)
                st = gcp_wait(ctx, diag, k->api, k->delete_method, res.body, NULL);
            else if (st == FB_OK && res.err != FB_NOTFOUND) /* gone already is what we want */
                st = gcp_fail(diag, &rq, &res, NULL);
            gcp_res_clear(&res);
            free(p);
        }
        if (st == FB_OK && found) json_array_append_new(deleted, json_string(name));
        json_decref(live);
    }
    json_decref(names);
    return st;
}

fb_status gcp_svc_discover(fb_driver_ctx *ctx, const gcp_svc *k, const char *region, json_t *resources,
                           fb_diag *diag)
{
    char *p = fbk_xasprintf("v2/projects/%s/locations/%s/%s", ctx->project, region, k->collection);
    json_t *items = json_array();
    fb_status st = gcp_list(ctx, diag, k->api, k->list_method, p, k->collection, items);
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        const char *name = json_string_value(json_object_get(it, "name"));
        if (!name || (k->listed && !k->listed(it))) continue;
        json_t *r = gcp_found(k->type, name, region, json_object_get(it, "labels"));
        /* where it answers (docs/driver-abi.md, discover's "endpoints"): its
         * URL (a function's own, else its service's uri), with the status
         * observe reads as the provider's view of its health */
        const char *url = json_string_value(json_object_get(it, k->url_member));
        if (!url) url = json_string_value(json_object_get(json_object_get(it, "serviceConfig"), "uri"));
        const char *msg, *s = k->status(it, &msg);
        gcp_found_endpoint(r, url, !strcmp(s, "ready") ? "passing" : !strcmp(s, "failed") ? "critical" : "unknown");
        json_array_append_new(resources, r);
    }
    json_decref(items);
    free(p);
    return st;
}
