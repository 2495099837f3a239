/* gcp_triggers.c - a workload's schedule and queue triggers on Google
 * Cloud: schedule -> a Cloud Scheduler job (HTTP target, the invoker's OIDC
 * token, the spec's cron and time zone); queue -> the Pub/Sub topic the
 * spec names (created with our labels when missing, then ours to delete)
 * and, for a Cloud Run service, a push subscription to its URL with an
 * OIDC token (a function consumes its topic through its eventTrigger,
 * which Eventarc wires). Jobs carry no labels: a job is ours when its
 * description says "fedbroker TENANT/NAME". */
#include "config.h"
#include "gcp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JOB_TYPE "scheduler-job"
#define SUB_TYPE "pubsub-subscription"
#define TOPIC_TYPE "pubsub-topic"

/* The region of a job name "projects/P/locations/R/jobs/J" (new). */
static char *job_region(const char *name)
{
    const char *l = strstr(name, "/locations/");
    if (!l) return NULL;
    l += 11;
    return fbk_xstrndup(l, strcspn(l, "/"));
}

/* "fedbroker TENANT/NAME": how a job says it is this workload's. new. */
static char *job_owner(const fbk_wl *wl)
{
    return fbk_xasprintf("fedbroker %s/%s", wl->tenant, wl->name);
}

/* Creates name (PUT for Pub/Sub, POST to parent for Scheduler) unless it
 * exists: *created 1 when this call made it (recorded at once), else *live
 * holds what is there (new). */
static fb_status ensure(fb_driver_ctx *ctx, fb_diag *diag, gcp_api api, const char *what, const char *name,
                        const char *create_method, const char *create_path, const json_t *body,
                        const json_t *prev, const char *type, const char *region, json_t **live, int *created)
{
    *created = 0;
    int found = 0;
    fb_status st = gcp_get(ctx, diag, api, what, name, live, &found);
    if (st != FB_OK || found) return st;
    /* the name guards a retried create: a duplicate meets ALREADY_EXISTS */
    gcp_req rq = {api, what, create_method, create_path, NULL, body, FB_HTTP_TOKEN_GUARDED};
    gcp_res res;
    st = gcp_call(ctx, diag, &rq, &res);
    if (st == FB_OK && res.err == FB_OK) {
        const char *slash = strrchr(name, '/');
        st = gcp_record(diag, prev, type, name, region, slash ? slash + 1 : name);
        *created = 1;
        *live = res.body ? json_incref(res.body) : json_object();
    } else if (st == FB_OK && res.code && !strcmp(res.code, "ALREADY_EXISTS")) {
        st = gcp_get(ctx, diag, api, what, name, live, &found);
        if (st == FB_OK && !found) {
            fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL, "gcp: %s said it exists, then that it does not\napply "
                     "again", name);
            st = FB_CONFLICT;
        }
    } else if (st == FB_OK) {
        st = gcp_fail(diag, &rq, &res, NULL);
    }
    gcp_res_clear(&res);
    return st;
}

/* PATCH name with mask (Pub/Sub wraps the body: {"subscription": ...,
 * "updateMask"}; Scheduler takes the mask as a query). */
static fb_status patch(fb_driver_ctx *ctx, fb_diag *diag, gcp_api api, const char *what, const char *name,
                       const json_t *body, const char *mask)
{
    char *p = fbk_xasprintf("v1/%s", name);
    json_t *wrapped = api == GCP_API_PUBSUB ? json_pack("{s:O,s:s}", "subscription", body, "updateMask", mask)
                                            : json_incref((json_t *)body);
    char *q = api == GCP_API_PUBSUB ? NULL : fbk_xasprintf("updateMask=%s", mask);
    gcp_req rq = {api, what, "PATCH", p, q, wrapped, FB_HTTP_IDEMPOTENT};
    gcp_res res;
    fb_status st = gcp_call(ctx, diag, &rq, &res);
    if (st == FB_OK && res.err != FB_OK) st = gcp_fail(diag, &rq, &res, NULL);
    gcp_res_clear(&res);
    json_decref(wrapped);
    free(q);
    free(p);
    return st;
}

fb_status gcp_delete_v1(fb_driver_ctx *ctx, fb_diag *diag, gcp_api api, const char *what, const char *name,
                        int *gone)
{
    char *p = fbk_xasprintf("v1/%s", name);
    gcp_req rq = {api, what, "DELETE", p, NULL, NULL, FB_HTTP_IDEMPOTENT};
    gcp_res res;
    fb_status st = gcp_call(ctx, diag, &rq, &res);
    if (gone) *gone = st == FB_OK && res.err == FB_OK;
    if (st == FB_OK && res.err != FB_OK && res.err != FB_NOTFOUND) st = gcp_fail(diag, &rq, &res, NULL);
    gcp_res_clear(&res);
    free(p);
    return st;
}

char *gcp_mask_of(const json_t *want, const json_t *live, const char *const *members)
{
    fbk_buf m;
    fbk_buf_init(&m);
    for (size_t i = 0; members[i]; i++) {
        if (!json_object_get(want, members[i])) continue;
        if (gcp_drift(json_object_get(want, members[i]), json_object_get(live, members[i]), members[i], NULL))
            fbk_buf_printf(&m, "%s%s", m.len ? "," : "", members[i]);
    }
    return fbk_buf_steal(&m);
}

static const char *const job_members[] = {"description", "schedule", "timeZone", "httpTarget", NULL};

/* What a deployment's triggers are made of, in the order they are deleted
 * (jobs and subscriptions use the topics). */
static const struct {
    const char *key, *type, *what;
    gcp_api api;
} parts[] = {{"job", JOB_TYPE, "jobs.delete", GCP_API_SCHEDULER},
             {"subscription", SUB_TYPE, "subscriptions.delete", GCP_API_PUBSUB},
             {"topic", TOPIC_TYPE, "topics.delete", GCP_API_PUBSUB}};
static const char *const sub_members[] = {"pushConfig", "ackDeadlineSeconds", "labels", NULL};

/* Whether the previous deployment's state had this trigger name. */
static int named_in(const json_t *names, const char *name)
{
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n)
        if (json_string_value(n) && !strcmp(json_string_value(n), name)) return 1;
    return 0;
}

/* Every trigger name a deployment has (state.triggers and the records),
 * by kind: "job", "subscription", "topic" (topics: only those we own). */
static json_t *dep_triggers(const json_t *dep, const char *key, const char *type)
{
    json_t *out = json_array();
    size_t i;
    const json_t *t;
    json_array_foreach(json_object_get(json_object_get(dep, "state"), "triggers"), i, t) {
        const char *n = json_string_value(json_object_get(t, key));
        if (!n) continue;
        if (!strcmp(key, "topic") && !json_is_true(json_object_get(t, "ownedTopic"))) continue;
        if (!named_in(out, n)) json_array_append_new(out, json_string(n));
    }
    json_array_foreach(json_object_get(dep, "resources"), i, t) {
        const char *ty = json_string_value(json_object_get(t, "type"));
        const char *id = json_string_value(json_object_get(t, "id"));
        if (ty && id && !strcmp(ty, type) && !named_in(out, id)) json_array_append_new(out, json_string(id));
    }
    return out;
}

fb_status gcp_triggers_apply(fb_driver_ctx *ctx, const fbk_wl *wl, const gcp_shape *sh, const char *uri,
                             const json_t *prev, int phases, json_t *state_triggers, json_t *resources,
                             fb_diag *diag)
{
    if (!uri && (phases & GCP_TRIGGERS_REST) && (wl->schedule_triggers || (sh->svc == GCP_RUN && wl->queue_triggers))) {
        fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL, "gcp: %s %s has no URL for its triggers to call",
                 gcp_service_name(sh->svc), wl->name);
        return FB_INTERNAL;
    }
    json_t *specs = gcp_trigger_specs(ctx, wl, sh, uri);
    char *owner = job_owner(wl);
    fb_status st = FB_OK;
    json_t *keep_jobs = json_array(), *keep_subs = json_array(), *keep_topics = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(specs, i, t) {
        if (st != FB_OK) break;
        const char *kind = json_string_value(json_object_get(t, "kind"));
        json_t *ts = json_pack("{s:s,s:O}", "kind", kind, "index", json_object_get(t, "index"));
        if (!strcmp(kind, "queue")) {
            const char *topic = json_string_value(json_object_get(t, "topic"));
            json_object_set_new(ts, "topic", json_string(topic));
            json_t *live = NULL;
            int created = 0, owned = 0;
            if (phases & GCP_TRIGGERS_TOPICS) {
                char *p = fbk_xasprintf("v1/%s", topic);
                json_t *body = json_pack("{s:s,s:o}", "name", topic, "labels", gcp_labels_of(wl));
                st = ensure(ctx, diag, GCP_API_PUBSUB, "topics.create", topic, "PUT", p, body, prev, TOPIC_TYPE, NULL,
                            &live, &created);
                json_decref(body);
                free(p);
                /* ours to delete when we made it (now, or before: our labels) */
                owned = created || (st == FB_OK && gcp_labels_ours(json_object_get(live, "labels"), wl) == 1);
                if (st == FB_OK && owned && !created) st = gcp_record(diag, prev, TOPIC_TYPE, topic, NULL,
                                                                      strrchr(topic, '/') + 1);
                json_decref(live);
                live = NULL;
            } else {
                /* the other phase made it: say whether we own it */
                int found = 0;
                st = gcp_get(ctx, diag, GCP_API_PUBSUB, "topics.get", topic, &live, &found);
                owned = found && gcp_labels_ours(json_object_get(live, "labels"), wl) == 1;
                json_decref(live);
                live = NULL;
            }
            json_object_set_new(ts, "ownedTopic", json_boolean(owned));
            if (owned) json_array_append_new(keep_topics, json_string(topic));
            if (owned)
                json_array_append_new(resources, json_pack("{s:s,s:s,s:s}", "type", TOPIC_TYPE, "id", topic,
                                                           "name", strrchr(topic, '/') + 1));
            const char *sub = json_string_value(json_object_get(t, "subscription"));
            if (st == FB_OK && sub && (phases & GCP_TRIGGERS_REST)) {
                json_object_set_new(ts, "subscription", json_string(sub));
                json_array_append_new(keep_subs, json_string(sub));
                char *p = fbk_xasprintf("v1/%s", sub);
                const json_t *body = json_object_get(t, "body");
                st = ensure(ctx, diag, GCP_API_PUBSUB, "subscriptions.create", sub, "PUT", p, body, prev, SUB_TYPE,
                            NULL, &live, &created);
                free(p);
                int ours = st == FB_OK ? gcp_labels_ours(json_object_get(live, "labels"), wl) : 1;
                if (st == FB_OK && ours != 1) {
                    fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL, "gcp: Pub/Sub subscription %s exists and is not "
                             "this workload's (its labels)\ndelete it, or rename the workload", sub);
                    st = FB_CONFLICT;
                }
                const char *lt = json_string_value(json_object_get(live, "topic"));
                if (st == FB_OK && !created && lt && strcmp(lt, topic) != 0) {
                    /* a subscription's topic cannot change: a new one */
                    st = gcp_delete_v1(ctx, diag, GCP_API_PUBSUB, "subscriptions.delete", sub, NULL);
                    json_decref(live);
                    live = NULL;
                    p = fbk_xasprintf("v1/%s", sub);
                    if (st == FB_OK)
                        st = ensure(ctx, diag, GCP_API_PUBSUB, "subscriptions.create", sub, "PUT", p, body, NULL,
                                    SUB_TYPE, NULL, &live, &created);
                    free(p);
                }
                if (st == FB_OK && !created) {
                    st = gcp_record(diag, prev, SUB_TYPE, sub, NULL, strrchr(sub, '/') + 1);
                    char *m = gcp_mask_of(body, live, sub_members);
                    if (st == FB_OK && *m) st = patch(ctx, diag, GCP_API_PUBSUB, "subscriptions.patch", sub, body, m);
                    free(m);
                }
                json_array_append_new(resources, json_pack("{s:s,s:s,s:s}", "type", SUB_TYPE, "id", sub, "name",
                                                           strrchr(sub, '/') + 1));
                json_decref(live);
            }
        } else if (phases & GCP_TRIGGERS_REST) {
            const char *job = json_string_value(json_object_get(t, "job"));
            const json_t *body = json_object_get(t, "body");
            json_object_set_new(ts, "job", json_string(job));
            json_array_append_new(keep_jobs, json_string(job));
            char *region = job_region(job);
            char *parent = fbk_xasprintf("v1/projects/%s/locations/%s/jobs", ctx->project, region);
            json_t *live = NULL;
            int created = 0;
            st = ensure(ctx, diag, GCP_API_SCHEDULER, "jobs.create", job, "POST", parent, body, prev, JOB_TYPE, region,
                        &live, &created);
            const char *desc = json_string_value(json_object_get(live, "description"));
            if (st == FB_OK && !created && (!desc || strcmp(desc, owner) != 0)) {
                fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL, "gcp: Cloud Scheduler job %s exists and is not this "
                         "workload's (its description is not \"%s\")\ndelete it, or rename the workload", job, owner);
                st = FB_CONFLICT;
            }
            if (st == FB_OK && !created) {
                st = gcp_record(diag, prev, JOB_TYPE, job, region, strrchr(job, '/') + 1);
                char *m = gcp_mask_of(body, live, job_members);
                if (st == FB_OK && *m) st = patch(ctx, diag, GCP_API_SCHEDULER, "jobs.patch", job, body, m);
                free(m);
            }
            json_array_append_new(resources, json_pack("{s:s,s:s,s:s,s:s}", "type", JOB_TYPE, "id", job, "region",
                                                       region, "name", strrchr(job, '/') + 1));
            json_decref(live);
            free(parent);
            free(region);
        }
        json_array_append_new(state_triggers, ts);
    }
    if (st == FB_OK && (phases & GCP_TRIGGERS_REST) && prev) {
        /* what the previous deployment had and the spec no longer has */
        json_t *keep[] = {keep_jobs, keep_subs, keep_topics};
        for (size_t k = 0; k < 3 && st == FB_OK; k++) {
            json_t *had = dep_triggers(prev, parts[k].key, parts[k].type);
            size_t j;
            json_t *n;
            json_array_foreach(had, j, n) {
                if (st != FB_OK) break;
                if (!named_in(keep[k], json_string_value(n)))
                    st = gcp_delete_v1(ctx, diag, parts[k].api, parts[k].what, json_string_value(n), NULL);
            }
            json_decref(had);
        }
    }
    json_decref(keep_jobs);
    json_decref(keep_subs);
    json_decref(keep_topics);
    free(owner);
    json_decref(specs);
    return st;
}

fb_status gcp_triggers_observe(fb_driver_ctx *ctx, const fbk_wl *wl, const gcp_shape *sh, const char *uri,
                               json_t *drift, fb_diag *diag)
{
    if (!wl->schedule_triggers && !wl->queue_triggers) return FB_OK;
    json_t *specs = gcp_trigger_specs(ctx, wl, sh, uri);
    fb_status st = FB_OK;
    size_t i;
    json_t *t;
    json_array_foreach(specs, i, t) {
        if (st != FB_OK) break;
        const char *kind = json_string_value(json_object_get(t, "kind"));
        int idx = (int)json_integer_value(json_object_get(t, "index"));
        char field[64];
        const char *name = NULL;
        gcp_api api = GCP_API_PUBSUB;
        const char *what = "subscriptions.get";
        if (!strcmp(kind, "schedule")) {
            name = json_string_value(json_object_get(t, "job"));
            api = GCP_API_SCHEDULER;
            what = "jobs.get";
        } else {
            name = json_string_value(json_object_get(t, "topic"));
            json_t *live = NULL;
            int found = 0;
            st = gcp_get(ctx, diag, GCP_API_PUBSUB, "topics.get", name, &live, &found);
            snprintf(field, sizeof field, "triggers[%d].topic", idx);
            if (st == FB_OK && !found)
                json_array_append_new(drift, json_pack("{s:s,s:s,s:n}", "field", field, "want", name, "live"));
            json_decref(live);
            name = json_string_value(json_object_get(t, "subscription"));
        }
        if (st != FB_OK || !name) continue;
        json_t *live = NULL;
        int found = 0;
        st = gcp_get(ctx, diag, api, what, name, &live, &found);
        snprintf(field, sizeof field, "triggers[%d]", idx);
        if (st == FB_OK && !found) {
            json_array_append_new(drift, json_pack("{s:s,s:s,s:n}", "field", field, "want", name, "live"));
        } else if (st == FB_OK) {
            const json_t *want = json_object_get(t, "body");
            const char *const *members = !strcmp(kind, "schedule") ? job_members : sub_members;
            for (size_t k = 0; members[k]; k++) {
                if (!json_object_get(want, members[k])) continue;
                char f[96];
                snprintf(f, sizeof f, "triggers[%d].%s", idx, members[k]);
                gcp_drift(json_object_get(want, members[k]), json_object_get(live, members[k]), f, drift);
            }
        }
        json_decref(live);
    }
    json_decref(specs);
    return st;
}

fb_status gcp_triggers_destroy(fb_driver_ctx *ctx, const json_t *dep, json_t *deleted, fb_diag *diag)
{
    fb_status st = FB_OK;
    for (size_t k = 0; k < 3 && st == FB_OK; k++) {
        json_t *names = dep_triggers(dep, parts[k].key, parts[k].type);
        size_t i;
        json_t *n;
        json_array_foreach(names, i, n) {
            if (st != FB_OK) break;
            const char *name = json_string_value(n);
            if (!strcmp(parts[k].key, "topic")) {
                /* a topic is deleted only while it still says it is ours */
                json_t *live = NULL;
                int found = 0;
                st = gcp_get(ctx, diag, GCP_API_PUBSUB, "topics.get", name, &live, &found);
                int ours = found && gcp_labels_ours(json_object_get(live, "labels"), NULL);
                json_decref(live);
                if (st != FB_OK || !ours) continue;
            }
            int gone = 0;
            st = gcp_delete_v1(ctx, diag, parts[k].api, parts[k].what, name, &gone);
            if (st == FB_OK && gone) json_array_append_new(deleted, json_string(name));
        }
        json_decref(names);
    }
    return st;
}

fb_status gcp_triggers_discover(fb_driver_ctx *ctx, const char *region, json_t *resources, fb_diag *diag)
{
    fb_status st;
    json_t *items = json_array();
    size_t i;
    json_t *it;
    if (region) {
        char *p = fbk_xasprintf("v1/projects/%s/locations/%s/jobs", ctx->project, region);
        st = gcp_list(ctx, diag, GCP_API_SCHEDULER, "jobs.list", p, "jobs", items);
        free(p);
        json_array_foreach(items, i, it) {
            const char *name = json_string_value(json_object_get(it, "name"));
            const char *desc = json_string_value(json_object_get(it, "description"));
            if (!name) continue;
            int managed = desc && !strncmp(desc, "fedbroker ", 10);
            /* a capacity schedule's job (gcp_capacity.c) has its own type */
            json_t *r = json_pack("{s:s,s:s,s:s,s:s,s:b}", "type",
                                  gcp_capacity_job_name(name) ? "scheduler-capacity-job" : JOB_TYPE, "id", name,
                                  "region", region, "name", strrchr(name, '/') + 1, "managed", managed);
            if (managed) {
                /* "fedbroker TENANT/NAME" */
                const char *tw = desc + 10, *sl = strchr(tw, '/');
                if (sl) {
                    json_object_set_new(r, "tenant", json_stringn(tw, (size_t)(sl - tw)));
                    json_object_set_new(r, "workload", json_string(sl + 1));
                }
            }
            json_array_append_new(resources, r);
        }
        json_decref(items);
        return st;
    }
    static const struct {
        const char *what, *coll, *type;
    } kinds[] = {{"topics.list", "topics", TOPIC_TYPE}, {"subscriptions.list", "subscriptions", SUB_TYPE}};
    st = FB_OK;
    for (size_t k = 0; k < 2 && st == FB_OK; k++) {
        char *p = fbk_xasprintf("v1/projects/%s/%s", ctx->project, kinds[k].coll);
        st = gcp_list(ctx, diag, GCP_API_PUBSUB, kinds[k].what, p, kinds[k].coll, items);
        free(p);
        json_array_foreach(items, i, it) {
            const char *name = json_string_value(json_object_get(it, "name"));
            const json_t *labels = json_object_get(it, "labels");
            if (!name) continue;
            json_array_append_new(resources, gcp_found(kinds[k].type, name, NULL, labels));
        }
        json_array_clear(items);
    }
    json_decref(items);
    return st;
}
