/* gcp_service.c - what Cloud Run services (gcp_run.c) and Cloud Functions
 * (gcp_functions.c) share: a resource read by its full name, the names a
 * deployment recorded, observe's workload, and apply, observe, destroy and
 * discover themselves, driven by the gcp_svc descriptor each of the two
 * files defines (what differs: the API, the URL member, the body and its
 * update mask, how status and drift are read, what an apply prepares and
 * waits out, who may invoke it, whether a delete waits for another run's
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

/* Waits out what a live resource is busy with (k->busy): the operation
 * another run started on it, found and waited for (its error, if it
 * fails, is the answer), then polls with the operations' backoff until it
 * is not busy. *live is replaced by the resource as it is after; an empty
 * object when it was deleted meanwhile. */
static fb_status settle(fb_driver_ctx *ctx, const gcp_svc *k, fb_diag *diag, const char *name, json_t **live)
{
    uint32_t delay = 1000;
    int64_t slept = 0;
    if (k->busy(*live)) {
        char *sep = fbk_xasprintf("/%s/", k->collection);
        const char *at = strstr(name, sep);
        char *parent = fbk_xstrndup(name, at ? (size_t)(at - name) : strlen(name));
        free(sep);
        int found = 0;
        fb_status st = gcp_wait_pending(ctx, diag, k->api, parent, name, &found);
        free(parent);
        if (st != FB_OK) return st;
        if (found) {
            json_t *next = NULL;
            int there = 0;
            st = gcp_get(ctx, diag, k->api, k->get_method, name, &next, &there);
            if (st != FB_OK) return st;
            json_decref(*live);
            *live = there ? next : json_object();
            if (!there) return FB_OK;
        }
    }
    for (const char *what; (what = k->busy(*live));) {
        if (slept >= ctx->op_timeout_ms) {
            fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL, "gcp: %s %s is still %s after %lld s\napply again later",
                     k->noun, name, what, (long long)(slept / 1000));
            return FB_RETRYABLE;
        }
        gcp_host->sleep_ms(diag, delay);
        slept += delay;
        delay = delay * 2 > 60000 ? 60000 : delay * 2;
        json_t *next = NULL;
        int found = 0;
        fb_status st = gcp_get(ctx, diag, k->api, k->get_method, name, &next, &found);
        if (st != FB_OK) return st;
        if (!found) {
            fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL, "gcp: %s %s disappeared while it was being deployed\n"
                     "apply again", k->noun, name);
            return FB_CONFLICT;
        }
        json_decref(*live);
        *live = next;
    }
    return FB_OK;
}

/* apply's output on service kind k: state (kind, service, name, id,
 * region, project, specHash, uri, then the members of extra, triggers when
 * there are any, identity), resources (k's own record unless this is a dry
 * run, then resources) and result.url. extra: stolen, may be NULL;
 * triggers, id_state and resources borrowed. new. */
static json_t *apply_out(const gcp_apply_call *a, const gcp_svc *k, const char *uri, json_t *extra, json_t *triggers,
                         const gcp_identity *id_state, json_t *resources, fb_diag *diag)
{
    json_t *state = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s?}", "kind", a->wl->kind, "service", k->service, "name",
                              a->name, "id", a->id, "region", a->region, "project", a->ctx->project, "specHash",
                              a->wl->hash[0] ? a->wl->hash : NULL);
    if (uri) json_object_set_new(state, "uri", json_string(uri));
    if (extra) json_object_update(state, extra);
    json_decref(extra);
    if (json_array_size(triggers)) json_object_set(state, "triggers", triggers);
    json_t *is = gcp_identity_state(id_state);
    if (is) json_object_set_new(state, "identity", is);
    json_t *all = json_array();
    if (!gcp_host->dry_run(diag))
        json_array_append_new(all, json_pack("{s:s,s:s,s:s,s:s}", "type", k->type, "id", a->name, "region",
                                             a->region, "name", a->id));
    json_array_extend(all, resources);
    json_t *out = json_pack("{s:o,s:o}", "state", state, "resources", all);
    if (uri) json_object_set_new(out, "result", json_pack("{s:s}", "url", uri));
    return out;
}

/* apply's create: POST with the deterministic id (a retried create meets
 * ALREADY_EXISTS and adopts what the first attempt made), the record
 * before anything else (a crash from there on leaves a resource the store
 * knows), the operation waited for. *live (new) the resource; *created 1
 * when this call made it, 0 when it existed (adopt it). */
static fb_status create(gcp_apply_call *a, const gcp_svc *k, const gcp_identity *ident, const json_t *prev,
                        json_t **live, int *created, fb_diag *diag)
{
    json_t *body = NULL;
    fb_status st = k->body(a, NULL, &body, diag);
    if (st != FB_OK) return st;
    if (ident->email) gcp_identity_body(body, ident, NULL);
    char *p = fbk_xasprintf("v2/%s/%s", a->parent, k->collection);
    char *q = fbk_xasprintf("%s=%s", k->id_param, a->id);
    gcp_req rq = {k->api, k->create_method, "POST", p, q, body, FB_HTTP_TOKEN_GUARDED};
    gcp_res res;
    st = gcp_call(a->ctx, diag, &rq, &res);
    int found = 0;
    if (st == FB_OK && res.err == FB_OK) {
        *created = 1;
        st = gcp_record(diag, prev, k->type, a->name, a->region, a->id);
        json_t *result = NULL;
        if (st == FB_OK) st = gcp_wait(a->ctx, diag, k->api, k->create_method, res.body, &result);
        /* the finished operation's response is the resource where the API
         * says so; read it only when the operation did not carry it */
        if (st == FB_OK && k->op_has_resource && json_string_value(json_object_get(result, "name"))) {
            *live = result;
            result = NULL;
            found = 1;
        } else if (st == FB_OK) {
            st = gcp_get(a->ctx, diag, k->api, k->get_method, a->name, live, &found);
        }
        json_decref(result);
        if (st == FB_OK && !found) {
            fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL, "gcp: %s %s was created, then not found\napply again",
                     k->noun, a->name);
            st = FB_CONFLICT;
        }
    } else if (st == FB_OK && res.code && !strcmp(res.code, "ALREADY_EXISTS")) {
        /* made meanwhile (or by an attempt whose answer was lost) */
        st = gcp_get(a->ctx, diag, k->api, k->get_method, a->name, live, &found);
        if (st == FB_OK && !found) {
            fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL, "gcp: %s said %s exists, then that it does not\napply "
                     "again", k->product, a->name);
            st = FB_CONFLICT;
        }
    } else if (st == FB_OK) {
        char *hint = fbk_xasprintf("validate checked the spec's values; this is what %s refused", k->product);
        st = gcp_fail(diag, &rq, &res, hint);
        free(hint);
    }
    gcp_res_clear(&res);
    free(p);
    free(q);
    json_decref(body);
    return st;
}

/* apply's update of a resource that exists (*live, replaced by the
 * resource as it is after): refused unless our labels say it is this
 * workload's, recorded, its running operation waited out, then a PATCH of
 * the members that differ, or, when none do, one that replaces its
 * instances (a secret changed) or rebuilds it (it failed: its cause, e.g.
 * a secret grant, may be fixed). */
static fb_status update(gcp_apply_call *a, const gcp_svc *k, const gcp_identity *ident, const json_t *prev,
                        json_t **live, fb_diag *diag)
{
    int ours = gcp_labels_ours(json_object_get(*live, "labels"), a->wl);
    if (ours != 1) {
        fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL,
                 "gcp: a %s named %s exists in %s and %s\nrename the workload, or delete or relabel the existing "
                 "%s yourself", k->noun, a->id, a->region,
                 ours == 0 ? "is not managed by fedbroker (no managed-by=fedbroker label)"
                           : "belongs to another fedbroker workload or tenant (its workload/tenant labels differ)",
                 k->noun);
        return FB_CONFLICT;
    }
    fb_status st = gcp_record(diag, prev, k->type, a->name, a->region, a->id);
    if (st == FB_OK) st = settle(a->ctx, k, diag, a->name, live);
    if (st == FB_OK && !json_object_get(*live, "name")) {
        fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL, "gcp: %s %s disappeared while it was being deployed\napply "
                 "again", k->noun, a->name);
        st = FB_CONFLICT;
    }
    json_t *body = NULL;
    if (st == FB_OK) st = k->body(a, *live, &body, diag);
    if (st != FB_OK) return st;
    if (ident->email) gcp_identity_body(body, ident, NULL);
    char *mask = k->update_mask(body, *live);
    const char *msg;
    char *q = NULL;
    if (*mask) q = fbk_xasprintf("updateMask=%s", mask);
    else if (a->secrets_changed) q = fbk_xstrdup(k->refresh_query);
    else if (!strcmp(k->status(*live, &msg), "failed")) q = fbk_xstrdup(k->rebuild_query);
    if (q) {
        char *p = fbk_xasprintf("v2/%s", a->name);
        gcp_req rq = {k->api, k->patch_method, "PATCH", p, q, body, FB_HTTP_IDEMPOTENT};
        gcp_res res;
        st = gcp_call(a->ctx, diag, &rq, &res);
        if (st == FB_OK && res.err != FB_OK) st = gcp_fail(diag, &rq, &res, NULL);
        if (st == FB_OK) st = gcp_wait(a->ctx, diag, k->api, k->patch_method, res.body, NULL);
        gcp_res_clear(&res);
        free(p);
        if (st == FB_OK) {
            json_decref(*live);
            *live = NULL;
            int found = 0;
            st = gcp_get(a->ctx, diag, k->api, k->get_method, a->name, live, &found);
        }
    }
    free(q);
    free(mask);
    json_decref(body);
    return st;
}

fb_status gcp_svc_apply(fb_driver_ctx *ctx, const gcp_svc *k, json_t *in, const fbk_wl *wl, const gcp_shape *sh,
                        json_t **out, fb_diag *diag)
{
    const json_t *prev = json_object_get(in, "deployment");
    char *parent = fbk_xasprintf("projects/%s/locations/%s", ctx->project, sh->region->id);
    char *name = fbk_xasprintf("%s/%s/%s", parent, k->collection, gcp_resource_id(wl));
    gcp_apply_call a = {.ctx = ctx, .in = in, .wl = wl, .sh = sh, .id = gcp_resource_id(wl), .region = sh->region->id,
                   .parent = parent, .name = name};
    json_t *live = NULL, *resources = json_array(), *triggers = json_array();
    const char *uri = NULL;
    char *service = NULL;
    /* the workload's own identity (gcp_identity.c) and its secrets' copies
     * (gcp_secrets.c) exist before what runs as it and reads them; a dry
     * run shows their creates first */
    gcp_identity ident;
    fb_status st = gcp_identity_bind(ctx, in, wl, a.region, &ident, resources, diag);
    if (st == FB_OK) st = gcp_secrets_materialise(ctx, in, wl, a.region, resources, &a.secrets_changed, diag);
    if (st != FB_OK) goto done;
    if (gcp_host->dry_run(diag)) {
        fbk_ck ck = {gcp_host, diag, GCP_DRV, 0, 1};
        json_t *docs = gcp_render_docs(ctx, wl, sh, &ck);
        st = gcp_dry_run_docs(ctx, docs, diag);
        json_decref(docs);
        if (st == FB_OK && k->dry_run_invokers) {
            service = k->http_service(&a, NULL);
            st = gcp_identity_invokers(ctx, in, &ident, service, a.region, resources, diag);
        }
        goto done;
    }
    if (k->prepare) st = k->prepare(&a, diag);
    /* the revision reads its secrets as soon as it starts: grant first */
    if (st == FB_OK) st = gcp_secrets_grant(ctx, wl, ident.email, diag);
    if (st == FB_OK && k->topics_first && wl->queue_triggers) {
        json_t *scratch = json_array(), *scratch_res = json_array();
        st = gcp_triggers_apply(ctx, wl, sh, NULL, prev, GCP_TRIGGERS_TOPICS, scratch, scratch_res, diag);
        json_decref(scratch);
        json_decref(scratch_res);
    }
    int found = 0, created = 0;
    if (st == FB_OK) st = gcp_get(ctx, diag, k->api, k->get_method, name, &live, &found);
    if (st == FB_OK && !found) st = create(&a, k, &ident, prev, &live, &created, diag);
    if (st == FB_OK && !created) st = update(&a, k, &ident, prev, &live, diag);
    const char *msg;
    if (st == FB_OK && !strcmp(k->status(live, &msg), "failed")) {
        fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL, "gcp: %s %s failed to deploy: %s", k->noun, name,
                 msg ? msg : "(no message)");
        st = FB_CONFLICT; /* it did not come up: an operation that failed */
    }
    if (st == FB_OK) {
        service = k->http_service(&a, live);
        st = k->invokers(&a, service, created, diag);
    }
    /* least privilege: exactly the workload's callers may call it */
    if (st == FB_OK) st = gcp_identity_invokers(ctx, in, &ident, service, a.region, resources, diag);
    uri = json_string_value(json_object_get(live, k->url_member));
    if (!uri) uri = json_string_value(json_object_get(json_object_get(live, "serviceConfig"), "uri"));
    if (st == FB_OK && (wl->queue_triggers || wl->schedule_triggers || json_object_get(prev, "state")))
        st = gcp_triggers_apply(ctx, wl, sh, uri, prev,
                                k->topics_first ? GCP_TRIGGERS_REST : GCP_TRIGGERS_TOPICS | GCP_TRIGGERS_REST,
                                triggers, resources, diag);
    /* the capacity schedule patches the service that is now up */
    if (st == FB_OK && sh->svc == GCP_RUN) st = gcp_capacity_apply(ctx, in, wl, sh, name, resources, diag);
done:
    if (st == FB_OK)
        *out = apply_out(&a, k, uri, k->out_extra(&a, live), triggers, &ident, resources, diag);
    gcp_identity_clear(&ident);
    free(a.zip);
    json_decref(a.storage);
    free(service);
    json_decref(triggers);
    json_decref(resources);
    json_decref(live);
    free(name);
    free(parent);
    return st;
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
        if (st == FB_OK && found && k->settle_on_destroy) st = settle(ctx, k, diag, name, &live);
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
