/* gcp_capacity.c - capacity schedules on Google Cloud (issue 17,
 * docs/simulation.md, "Capacity schedules"; drivers/aws/capacity.c is the
 * same schedule on AWS). The plan's spec.scaling.schedule becomes Cloud
 * Scheduler jobs (cloudscheduler v1), one per step that changes the floor,
 * NAME-cap-NNN, plus NAME-cap-end for a one-off schedule. Each job's HTTP
 * target is the Run Admin API v2 services.patch of the workload's Cloud
 * Run service with updateMask=scaling.minInstanceCount and the body
 * {"scaling": {"minInstanceCount": N}}: the service-level minimum
 * (GoogleCloudRunV2ServiceScaling), which changes no revision, so the
 * template apply deploys (and observe compares) is untouched. The job
 * authenticates with an OAuth token of the workload's scaler account
 * (fbs-..., gcp_identity_scaler) that holds roles/run.developer on that
 * one service only. Jobs carry no labels: like the trigger jobs
 * (gcp_triggers.c), a job is ours when its description is "fedbroker
 * TENANT/NAME". */
#include "config.h"
#include "gcp.h"
#include "fbk_zip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAP_TYPE "scheduler-capacity-job"
/* Cloud Scheduler's quota is 5,000 jobs per project and region; one
 * workload's schedule is kept far below it (an hourly week is 168). */
#define CAP_MAX_JOBS 500
#define CAP_TZ "Etc/UTC"
#define CAP_SCOPE "https://www.googleapis.com/auth/cloud-platform"

static const char *const job_members[] = {"description", "schedule", "timeZone", "httpTarget", NULL};

static const json_t *schedule_of(const fbk_wl *wl)
{
    return json_object_get(json_object_get(wl->spec, "scaling"), "schedule");
}

static json_int_t int_of(const json_t *o, const char *k, json_int_t dflt)
{
    const json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? json_integer_value(v) : dflt;
}

int gcp_capacity_job_name(const char *name)
{
    const char *slash = name ? strrchr(name, '/') : NULL;
    const char *id = slash ? slash + 1 : name;
    const char *c = id ? strstr(id, "-cap-") : NULL;
    while (c) { /* the last "-cap-": NAME-cap-NNN or NAME-cap-end */
        const char *more = strstr(c + 1, "-cap-");
        if (!more) break;
        c = more;
    }
    if (!c) return 0;
    c += 5;
    if (!strcmp(c, "end")) return 1;
    return strlen(c) == 3 && c[0] >= '0' && c[0] <= '9' && c[1] >= '0' && c[1] <= '9' && c[2] >= '0' &&
           c[2] <= '9';
}

/* unix-cron for an instant (once: minute, hour, day and month; unix-cron
 * has no year, see docs) or for an offset into a day or a week from
 * Monday 00:00 UTC (repeating). Seconds are dropped: the job acts at the
 * start of that minute, never later than the step wants. new. */
static char *cron_of(int64_t t, const char *repeat, int64_t period)
{
    if (!strcmp(repeat, "once")) {
        char ts[21];
        int y, mo, d, h, mi, se;
        fbk_format_rfc3339(t, ts);
        if (sscanf(ts, "%4d-%2d-%2dT%2d:%2d:%2dZ", &y, &mo, &d, &h, &mi, &se) != 6) return NULL;
        return fbk_xasprintf("%d %d %d %d *", mi, h, d, mo);
    }
    int64_t off = t % period;
    if (off < 0) off += period;
    int64_t mi = off / 60 % 60, h = off / 3600 % 24;
    if (!strcmp(repeat, "daily")) return fbk_xasprintf("%lld %lld * * *", (long long)mi, (long long)h);
    /* cron's day of week: 0 Sunday .. 6 Saturday; offset day 0 is Monday */
    return fbk_xasprintf("%lld %lld * * %lld", (long long)mi, (long long)h, (long long)((off / 86400 + 1) % 7));
}

/* One job: PATCH the service's scaling.minInstanceCount to min at cron. */
static json_t *job_body(fb_driver_ctx *ctx, const fbk_wl *wl, const char *job, const char *service,
                        const char *cron, json_int_t min, const char *scaler)
{
    char *uri = fbk_xasprintf("%s/v2/%s?updateMask=scaling.minInstanceCount", ctx->endpoints[GCP_API_RUN],
                              service);
    char *payload = fbk_xasprintf("{\"scaling\":{\"minInstanceCount\":%lld}}", (long long)min);
    char *b64 = fbk_base64((const unsigned char *)payload, strlen(payload));
    char desc[200];
    snprintf(desc, sizeof desc, "fedbroker %s/%s", wl->tenant, wl->name);
    json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:{s:s,s:s,s:{s:s},s:s,s:{s:s,s:s}}}", "name", job, "description",
                             desc, "schedule", cron, "timeZone", CAP_TZ, "httpTarget", "uri", uri, "httpMethod",
                             "PATCH", "headers", "Content-Type", "application/json", "body", b64, "oauthToken",
                             "serviceAccountEmail", scaler, "scope", CAP_SCOPE);
    free(b64);
    free(payload);
    free(uri);
    return body;
}

int gcp_capacity_jobs(fb_driver_ctx *ctx, const fbk_wl *wl, const gcp_shape *sh, json_t **jobs, char **why)
{
    *jobs = NULL;
    *why = NULL;
    const json_t *s = schedule_of(wl);
    if (!s) return 0;
    if (sh->svc == GCP_FUNCTIONS) {
        *why = fbk_xasprintf("capacity schedules are not rendered for Cloud Functions (the Functions v2 patch "
                             "of serviceConfig.minInstanceCount redeploys the function); a hybrid workload's "
                             "function part is an image, which goes on cloud-run\nplace the workload on "
                             "cloud-run, or on aws");
        return -1;
    }
    if (sh->svc != GCP_RUN) {
        *why = fbk_xasprintf("capacity schedules on GKE Autopilot are not rendered by the gcp driver\nplace the "
                             "workload on cloud-run");
        return -1;
    }
    const char *repeat = json_string_value(json_object_get(s, "repeat"));
    json_int_t period = int_of(s, "periodSeconds", 0), lead = int_of(s, "leadSeconds", 0);
    const json_t *steps = json_object_get(s, "steps");
    int once = repeat && !strcmp(repeat, "once");
    int64_t start = 0;
    if (!repeat || (!once && strcmp(repeat, "daily") != 0 && strcmp(repeat, "weekly") != 0)) {
        *why = fbk_xasprintf("scaling.schedule.repeat must be once, daily or weekly");
        return -1;
    }
    if (once && fbk_parse_rfc3339(json_string_value(json_object_get(s, "start")), &start) != 0) {
        *why = fbk_xasprintf("a one-off scaling.schedule needs start as a UTC time (2026-12-31T18:00:00Z)");
        return -1;
    }
    if (period <= 0 || (!once && period != (!strcmp(repeat, "daily") ? 86400 : 604800)) || lead < 0 ||
        lead % 60 || !json_is_array(steps) || !json_array_size(steps)) {
        *why = fbk_xasprintf("scaling.schedule needs periodSeconds > 0 (86400 daily, 604800 weekly), "
                             "leadSeconds a whole number of minutes and at least one step");
        return -1;
    }
    size_t n = json_array_size(steps) + (once ? 1 : 0);
    if (n > CAP_MAX_JOBS) {
        *why = fbk_xasprintf("the capacity schedule has %zu steps; the gcp driver makes at most %d Cloud "
                             "Scheduler jobs per workload\nuse a profile with fewer changes of capacity "
                             "(hourly steps, a daily pattern)", n, CAP_MAX_JOBS);
        return -1;
    }
    const char *id = gcp_resource_id(wl);
    char *service = fbk_xasprintf("projects/%s/locations/%s/services/%s", ctx->project, sh->region->id, id);
    char *scaler = gcp_identity_scaler_email(ctx, wl->tenant, wl->name);
    json_t *arr = json_array();
    json_int_t prev = -1;
    size_t i;
    const json_t *st;
    int rc = 0;
    json_array_foreach(steps, i, st) {
        json_int_t off = int_of(st, "offsetSeconds", -1), min = int_of(st, "minInstances", -1);
        if (off < prev || off >= period || min < 0 || min > wl->max_i || (!once && off % 60)) {
            *why = fbk_xasprintf("scaling.schedule.steps[%zu]: offsetSeconds must increase within the period "
                                 "(whole minutes for a repeating schedule) and minInstances be 0..%lld "
                                 "(maxInstances)", i, wl->max_i);
            rc = -1;
            break;
        }
        prev = off;
        char *job = fbk_xasprintf("projects/%s/locations/%s/jobs/%s-cap-%03zu", ctx->project, sh->region->id, id, i);
        char *cron = cron_of(once ? start + off - lead : off - lead, repeat, period);
        json_array_append_new(arr, json_pack("{s:s,s:o,s:I}", "name", job, "body",
                                             job_body(ctx, wl, job, service, cron ? cron : "", min, scaler),
                                             "min", min));
        free(cron);
        free(job);
    }
    if (rc == 0 && once) {
        /* the end of a one-off schedule restores the floor */
        json_int_t after = int_of(s, "afterMinInstances", sh->min_instances);
        if (after > wl->max_i) after = wl->max_i;
        if (after < 0) after = 0;
        char *job = fbk_xasprintf("projects/%s/locations/%s/jobs/%s-cap-end", ctx->project, sh->region->id, id);
        char *cron = cron_of(start + period, repeat, period);
        json_array_append_new(arr, json_pack("{s:s,s:o,s:I}", "name", job, "body",
                                             job_body(ctx, wl, job, service, cron ? cron : "", after, scaler),
                                             "min", after));
        free(cron);
        free(job);
    }
    free(scaler);
    free(service);
    if (rc != 0) {
        json_decref(arr);
        return -1;
    }
    *jobs = arr;
    return 0;
}

void gcp_capacity_docs(fb_driver_ctx *ctx, const fbk_wl *wl, const gcp_shape *sh, json_t *docs)
{
    json_t *jobs = NULL;
    char *why = NULL;
    if (gcp_capacity_jobs(ctx, wl, sh, &jobs, &why) != 0 || !jobs) {
        free(why); /* validate reports it */
        return;
    }
    char *email = gcp_identity_scaler_email(ctx, wl->tenant, wl->name);
    char *acct = fbk_xstrndup(email, strcspn(email, "@"));
    char *p = fbk_xasprintf("v1/projects/%s/serviceAccounts", ctx->project);
    json_array_append_new(docs, gcp_doc("iam.googleapis.com/v1", "CreateServiceAccountRequest", "POST", p,
                                        json_pack("{s:s,s:{s:s}}", "accountId", acct, "serviceAccount",
                                                  "displayName", "fedbroker scaler")));
    free(p);
    p = fbk_xasprintf("v2/projects/%s/locations/%s/services/%s:setIamPolicy", ctx->project, sh->region->id,
                      gcp_resource_id(wl));
    char *member = fbk_xasprintf("serviceAccount:%s", email);
    json_array_append_new(docs, gcp_doc("run.googleapis.com/v2", "SetIamPolicyRequest", "POST", p,
                                        json_pack("{s:{s:[{s:s,s:[s]}]}}", "policy", "bindings", "role",
                                                  "roles/run.developer", "members", member)));
    free(member);
    free(p);
    p = fbk_xasprintf("v1/projects/%s/locations/%s/jobs", ctx->project, sh->region->id);
    size_t i;
    json_t *j;
    json_array_foreach(jobs, i, j)
        json_array_append_new(docs, gcp_doc("cloudscheduler.googleapis.com/v1", "Job", "POST", p,
                                            json_incref(json_object_get(j, "body"))));
    free(p);
    free(acct);
    free(email);
    json_decref(jobs);
}

/* The workload's capacity jobs in region that live (jobs.list, new array
 * of jobs): named NAME-cap-..., with our description. */
static fb_status live_jobs(fb_driver_ctx *ctx, const fbk_wl *wl, const char *region, json_t **out, fb_diag *diag)
{
    json_t *items = json_array();
    char *p = fbk_xasprintf("v1/projects/%s/locations/%s/jobs", ctx->project, region);
    fb_status st = gcp_list(ctx, diag, GCP_API_SCHEDULER, "jobs.list", p, "jobs", items);
    free(p);
    char *pre = fbk_xasprintf("projects/%s/locations/%s/jobs/%s-cap-", ctx->project, region, gcp_resource_id(wl));
    char *owner = fbk_xasprintf("fedbroker %s/%s", wl->tenant, wl->name);
    *out = json_array();
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        const char *name = json_string_value(json_object_get(it, "name"));
        const char *desc = json_string_value(json_object_get(it, "description"));
        if (name && !strncmp(name, pre, strlen(pre)) && gcp_capacity_job_name(name) && desc && !strcmp(desc, owner))
            json_array_append(*out, it);
    }
    free(owner);
    free(pre);
    json_decref(items);
    return st;
}

static const json_t *job_named(const json_t *arr, const char *key, const char *name)
{
    size_t i;
    const json_t *j;
    json_array_foreach(arr, i, j) {
        const char *n = json_string_value(json_object_get(j, key));
        if (n && !strcmp(n, name)) return j;
    }
    return NULL;
}

/* One wanted job: created when missing (recorded before), else patched
 * to match and resumed when paused. */
static fb_status ensure_job(fb_driver_ctx *ctx, const json_t *prev, const fbk_wl *wl, const char *region,
                            const json_t *j, const json_t *live, fb_diag *diag)
{
    const char *name = json_string_value(json_object_get(j, "name"));
    const json_t *body = json_object_get(j, "body");
    fb_status st = FB_OK;
    if (!live) {
        /* journalled before the create: the job's name is fixed */
        st = gcp_record(diag, prev, CAP_TYPE, name, region, strrchr(name, '/') + 1);
        if (st != FB_OK) return st;
        char *p = fbk_xasprintf("v1/projects/%s/locations/%s/jobs", ctx->project, region);
        gcp_req rq = {GCP_API_SCHEDULER, "jobs.create", "POST", p, NULL, body, FB_HTTP_TOKEN_GUARDED};
        gcp_res res;
        st = gcp_call(ctx, diag, &rq, &res);
        int exists = st == FB_OK && res.err != FB_OK && res.code && !strcmp(res.code, "ALREADY_EXISTS");
        if (st == FB_OK && res.err != FB_OK && !exists) st = gcp_fail(diag, &rq, &res, NULL);
        gcp_res_clear(&res);
        free(p);
        if (st != FB_OK || !exists) return st;
        /* made meanwhile (an attempt whose answer was lost): adopt it */
        json_t *got = NULL;
        int found = 0;
        st = gcp_get(ctx, diag, GCP_API_SCHEDULER, "jobs.get", name, &got, &found);
        if (st == FB_OK && found) st = ensure_job(ctx, prev, wl, region, j, got, diag);
        json_decref(got);
        return st;
    }
    char *owner = fbk_xasprintf("fedbroker %s/%s", wl->tenant, wl->name);
    const char *desc = json_string_value(json_object_get(live, "description"));
    if (!desc || strcmp(desc, owner) != 0) {
        fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL, "gcp: Cloud Scheduler job %s exists and is not this "
                 "workload's (its description is not \"%s\")\ndelete it, or rename the workload", name, owner);
        free(owner);
        return FB_CONFLICT;
    }
    free(owner);
    st = gcp_record(diag, prev, CAP_TYPE, name, region, strrchr(name, '/') + 1);
    char *m = st == FB_OK ? gcp_mask_of(body, live, job_members) : NULL;
    if (st == FB_OK && *m) {
        char *p = fbk_xasprintf("v1/%s", name);
        char *q = fbk_xasprintf("updateMask=%s", m);
        gcp_req rq = {GCP_API_SCHEDULER, "jobs.patch", "PATCH", p, q, body, FB_HTTP_IDEMPOTENT};
        gcp_res res;
        st = gcp_call(ctx, diag, &rq, &res);
        if (st == FB_OK && res.err != FB_OK) st = gcp_fail(diag, &rq, &res, NULL);
        gcp_res_clear(&res);
        free(q);
        free(p);
    }
    free(m);
    const char *state = json_string_value(json_object_get(live, "state"));
    if (st == FB_OK && state && strcmp(state, "ENABLED") != 0) {
        /* paused (by hand, or disabled by Google): the schedule runs again */
        char *p = fbk_xasprintf("v1/%s:resume", name);
        json_t *empty = json_object();
        gcp_req rq = {GCP_API_SCHEDULER, "jobs.resume", "POST", p, NULL, empty, FB_HTTP_IDEMPOTENT};
        gcp_res res;
        st = gcp_call(ctx, diag, &rq, &res);
        if (st == FB_OK && res.err != FB_OK) st = gcp_fail(diag, &rq, &res, NULL);
        gcp_res_clear(&res);
        json_decref(empty);
        free(p);
    }
    return st;
}

/* Whether the previous deployment recorded capacity jobs. */
static int had_jobs(const json_t *prev)
{
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(prev, "resources"), i, r) {
        const char *t = json_string_value(json_object_get(r, "type"));
        if (t && !strcmp(t, CAP_TYPE)) return 1;
    }
    return 0;
}

fb_status gcp_capacity_apply(fb_driver_ctx *ctx, const json_t *in, const fbk_wl *wl, const gcp_shape *sh,
                             const char *service, json_t *resources, fb_diag *diag)
{
    const json_t *prev = json_object_get(in, "deployment");
    json_t *jobs = NULL;
    char *why = NULL;
    if (gcp_capacity_jobs(ctx, wl, sh, &jobs, &why) != 0) {
        fbk_diag(gcp_host, diag, FB_SEV_ERROR, "/spec/scaling/schedule", "gcp: %s", why);
        free(why);
        return FB_INVALID;
    }
    if (!jobs && !had_jobs(prev)) return FB_OK;
    const char *region = sh->region->id;
    fb_status st = gcp_identity_scaler(ctx, prev, wl, region, service, jobs != NULL, resources, diag);
    json_t *live = NULL;
    if (st == FB_OK) st = live_jobs(ctx, wl, region, &live, diag);
    size_t i;
    json_t *j;
    json_array_foreach(jobs, i, j) {
        if (st != FB_OK) break;
        const char *name = json_string_value(json_object_get(j, "name"));
        st = ensure_job(ctx, prev, wl, region, j, job_named(live, "name", name), diag);
        json_array_append_new(resources, json_pack("{s:s,s:s,s:s,s:s}", "type", CAP_TYPE, "id", name, "region",
                                                   region, "name", strrchr(name, '/') + 1));
    }
    /* the workload's jobs no longer wanted: those live and those the
     * previous deployment recorded */
    json_array_foreach(live, i, j) {
        const char *name = json_string_value(json_object_get(j, "name"));
        if (st == FB_OK && !job_named(jobs, "name", name)) st = gcp_delete_v1(ctx, diag, GCP_API_SCHEDULER, "jobs.delete", name, NULL);
    }
    json_array_foreach(json_object_get(prev, "resources"), i, j) {
        const char *t = json_string_value(json_object_get(j, "type"));
        const char *name = json_string_value(json_object_get(j, "id"));
        if (st == FB_OK && t && name && !strcmp(t, CAP_TYPE) && !job_named(jobs, "name", name) &&
            !job_named(live, "name", name))
            st = gcp_delete_v1(ctx, diag, GCP_API_SCHEDULER, "jobs.delete", name, NULL);
    }
    json_decref(live);
    json_decref(jobs);
    return st;
}

fb_status gcp_capacity_observe(fb_driver_ctx *ctx, const fbk_wl *wl, const gcp_shape *sh, const char *service,
                               json_t *drift, fb_diag *diag)
{
    json_t *jobs = NULL;
    char *why = NULL;
    if (gcp_capacity_jobs(ctx, wl, sh, &jobs, &why) != 0) {
        free(why);
        return FB_OK; /* validate says why; nothing of it can be compared */
    }
    if (!jobs) return FB_OK;
    json_t *live = NULL;
    fb_status st = live_jobs(ctx, wl, sh->region->id, &live, diag);
    size_t i;
    json_t *j;
    json_array_foreach(jobs, i, j) {
        if (st != FB_OK) break;
        const char *name = json_string_value(json_object_get(j, "name"));
        const json_t *l = job_named(live, "name", name), *want = json_object_get(j, "body");
        char f[160];
        snprintf(f, sizeof f, "schedule.%s", strrchr(name, '/') + 1);
        if (!l) {
            json_array_append_new(drift, json_pack("{s:s,s:O,s:n}", "field", f, "want",
                                                   json_object_get(want, "schedule"), "live"));
            continue;
        }
        for (size_t k = 0; job_members[k]; k++) {
            char fm[200];
            snprintf(fm, sizeof fm, "%s.%s", f, job_members[k]);
            gcp_drift(json_object_get(want, job_members[k]), json_object_get(l, job_members[k]), fm, drift);
        }
        const char *state = json_string_value(json_object_get(l, "state"));
        if (state && strcmp(state, "ENABLED") != 0) {
            char fs[200];
            snprintf(fs, sizeof fs, "%s.state", f);
            json_array_append_new(drift, json_pack("{s:s,s:s,s:s}", "field", fs, "want", "ENABLED", "live", state));
        }
    }
    json_array_foreach(live, i, j) { /* ours, not wanted */
        const char *name = json_string_value(json_object_get(j, "name"));
        if (job_named(jobs, "name", name)) continue;
        char f[160];
        snprintf(f, sizeof f, "schedule.%s", strrchr(name, '/') + 1);
        json_array_append_new(drift, json_pack("{s:s,s:n,s:O}", "field", f, "want", "live",
                                               json_object_get(j, "schedule")));
    }
    if (st == FB_OK) {
        /* the scaler may still patch the service */
        char *email = gcp_identity_scaler_email(ctx, wl->tenant, wl->name);
        char *member = fbk_xasprintf("serviceAccount:%s", email);
        char *p = fbk_xasprintf("v2/%s", service);
        int holds = 0;
        st = gcp_iam_holds(ctx, diag, GCP_API_RUN, p, "roles/run.developer", member, &holds);
        if (st == FB_OK && !holds)
            json_array_append_new(drift, json_pack("{s:s,s:s,s:n}", "field", "schedule.iam.roles/run.developer",
                                                   "want", member, "live"));
        free(p);
        free(member);
        free(email);
    }
    json_decref(live);
    json_decref(jobs);
    return st;
}

fb_status gcp_capacity_destroy(fb_driver_ctx *ctx, const json_t *dep, json_t *deleted, fb_diag *diag)
{
    fb_status st = FB_OK;
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(dep, "resources"), i, r) {
        const char *t = json_string_value(json_object_get(r, "type"));
        const char *name = json_string_value(json_object_get(r, "id"));
        if (st != FB_OK) break;
        if (!t || !name || strcmp(t, CAP_TYPE) != 0) continue;
        int gone = 0;
        st = gcp_delete_v1(ctx, diag, GCP_API_SCHEDULER, "jobs.delete", name, &gone);
        if (st == FB_OK && gone) json_array_append_new(deleted, json_string(name));
    }
    return st;
}
