/* capacity.c - capacity schedules (issue 17, docs/simulation.md, "Capacity
 * schedules"): the plan's spec.scaling.schedule rendered as Application
 * Auto Scaling scheduled actions (PutScheduledAction, JSON 1.1,
 * 2016-02-06) on a scalable target: an ECS service's DesiredCount
 * (ecs.c) or a Lambda alias's provisioned concurrency (lambda.c). One
 * action per step that changes the floor, named fedbroker-step-NNN, plus
 * fedbroker-end for a one-off schedule; apply puts every wanted action
 * (create or replace) and deletes the stale fedbroker-* ones, observe
 * compares them, and deregistering the target deletes them all (AAS's
 * documented behaviour), so destroy needs nothing more. */
#include "config.h"
#include "aws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* AAS's quota: scheduled actions per scalable target (Service Quotas,
 * "Scheduled actions per scalable target", default 200, not adjustable). */
#define AAS_MAX_ACTIONS 200
#define ACTION_PREFIX "fedbroker-"

/* Days since 1970-01-01 of a civil date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* "2026-12-31T18:00:00Z" -> Unix seconds; -1 when it is not that form. */
static int parse_utc(const char *s, int64_t *out)
{
    int y, mo, d, h, mi, se;
    char z = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &se, &z) != 7 || z != 'Z' ||
        mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return -1;
    *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    return 0;
}

/* AAS's one-time form: at(yyyy-mm-ddThh:mm:ss), UTC when no Timezone. */
static char *at_expr(int64_t t)
{
    int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400, sec = t - days * 86400;
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    return fbk_xasprintf("at(%04lld-%02d-%02dT%02lld:%02lld:%02lld)", (long long)y, m, d,
                         (long long)(sec / 3600), (long long)(sec / 60 % 60), (long long)(sec % 60));
}

/* AAS's recurring form: cron(Minutes Hours Day-of-month Month Day-of-week
 * Year), UTC; off is seconds from 00:00 (daily) or Monday 00:00 (weekly),
 * whole minutes (the lead is rounded up to a minute by the planner). */
static char *cron_expr(int64_t off, int weekly)
{
    int64_t period = weekly ? 604800 : 86400;
    off %= period;
    if (off < 0) off += period;
    int64_t mi = off / 60 % 60, h = off / 3600 % 24;
    if (!weekly) return fbk_xasprintf("cron(%lld %lld * * ? *)", (long long)mi, (long long)h);
    static const char *const dow[] = {"MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"};
    return fbk_xasprintf("cron(%lld %lld ? * %s *)", (long long)mi, (long long)h, dow[off / 86400]);
}

int aws_capacity_actions(const json_t *spec, json_int_t max_capacity, int pin_max, json_t **out,
                         char **why)
{
    *out = NULL;
    *why = NULL;
    const json_t *s = json_object_get(json_object_get(spec, "scaling"), "schedule");
    if (!s) return 0;
    const char *repeat = aws_str(s, "repeat");
    json_int_t period = aws_int(s, "periodSeconds", 0), lead = aws_int(s, "leadSeconds", 0);
    const json_t *steps = json_object_get(s, "steps");
    int once = repeat && !strcmp(repeat, "once");
    int weekly = repeat && !strcmp(repeat, "weekly");
    int64_t start = 0;
    if (!repeat || (!once && !weekly && strcmp(repeat, "daily") != 0)) {
        *why = fbk_xasprintf("scaling.schedule.repeat must be once, daily or weekly");
        return -1;
    }
    if (once && parse_utc(aws_str(s, "start"), &start) != 0) {
        *why = fbk_xasprintf("a one-off scaling.schedule needs start as a UTC time "
                             "(2026-12-31T18:00:00Z)");
        return -1;
    }
    if (period <= 0 || lead < 0 || lead % 60 || !json_is_array(steps) || !json_array_size(steps)) {
        *why = fbk_xasprintf("scaling.schedule needs periodSeconds > 0, leadSeconds a whole number "
                             "of minutes and at least one step");
        return -1;
    }
    size_t n = json_array_size(steps) + (once ? 1 : 0);
    if (n > AAS_MAX_ACTIONS) {
        *why = fbk_xasprintf("the capacity schedule has %zu steps; Application Auto Scaling takes "
                             "at most %d scheduled actions per scalable target\nuse a profile with "
                             "fewer changes of capacity (hourly steps, a daily pattern)",
                             n, AAS_MAX_ACTIONS);
        return -1;
    }
    json_t *arr = json_array();
    json_int_t prev = -1;
    size_t i;
    const json_t *st;
    json_array_foreach(steps, i, st) {
        json_int_t off = aws_int(st, "offsetSeconds", -1), min = aws_int(st, "minInstances", -1);
        if (off < prev || off >= period || min < 0 || min > max_capacity || (!once && off % 60)) {
            json_decref(arr);
            *why = fbk_xasprintf("scaling.schedule.steps[%zu]: offsetSeconds must increase within "
                                 "the period (whole minutes for a repeating schedule) and "
                                 "minInstances be 0..%lld", i, (long long)max_capacity);
            return -1;
        }
        prev = off;
        char name[48];
        snprintf(name, sizeof name, ACTION_PREFIX "step-%03zu", i);
        char *expr = once ? at_expr(start + off - lead) : cron_expr(off - lead, weekly);
        json_array_append_new(arr, json_pack("{s:s,s:s,s:I,s:I}", "name", name, "schedule", expr,
                                             "min", min, "max", pin_max ? min : max_capacity));
        free(expr);
    }
    if (once) {
        json_int_t after = aws_int(s, "afterMinInstances", 0);
        if (after > max_capacity) after = max_capacity;
        char *expr = at_expr(start + period);
        json_array_append_new(arr, json_pack("{s:s,s:s,s:I,s:I}", "name", ACTION_PREFIX "end",
                                             "schedule", expr, "min", after, "max",
                                             pin_max ? after : max_capacity));
        free(expr);
    }
    *out = arr;
    return 0;
}

json_t *aws_capacity_put_body(const char *ns, const char *rid, const char *dim, const json_t *a)
{
    return json_pack("{s:s,s:s,s:s,s:O,s:O,s:{s:O,s:O}}", "ServiceNamespace", ns, "ResourceId", rid,
                     "ScalableDimension", dim, "ScheduledActionName", json_object_get(a, "name"),
                     "Schedule", json_object_get(a, "schedule"), "ScalableTargetAction",
                     "MinCapacity", json_object_get(a, "min"), "MaxCapacity",
                     json_object_get(a, "max"));
}

/* DescribeScheduledActions of one target, every page. *live new. */
static fb_status describe_actions(aws_ctx *ctx, fb_diag *diag, const fbk_aws_creds *creds,
                                  const char *region, const char *ns, const char *rid,
                                  const char *dim, json_t **live)
{
    *live = json_array();
    char *token = NULL;
    fb_status st = FB_OK;
    for (int page = 0; page < 100; page++) {
        json_t *b = json_pack("{s:s,s:s,s:s}", "ServiceNamespace", ns, "ResourceId", rid,
                              "ScalableDimension", dim);
        if (token) json_object_set_new(b, "NextToken", json_string(token));
        aws_req rq = {.api = "application-autoscaling", .op = "DescribeScheduledActions",
                      .method = "POST", .path = "/", .body = b,
                      .flags = FB_HTTP_IDEMPOTENT | FB_HTTP_READ_ONLY};
        aws_res res;
        st = aws_send(ctx, diag, creds, region, &rq, &res);
        if (st == FB_OK && res.err != FB_OK) st = aws_fail(diag, &rq, &res, NULL);
        json_decref(b);
        free(token);
        token = NULL;
        if (st == FB_OK) {
            size_t i;
            json_t *a;
            json_array_foreach(json_object_get(res.body, "ScheduledActions"), i, a)
                json_array_append(*live, a);
            if (aws_str(res.body, "NextToken")) token = fbk_xstrdup(aws_str(res.body, "NextToken"));
        }
        aws_res_clear(&res);
        if (st != FB_OK || !token) break;
    }
    free(token);
    return st;
}

fb_status aws_capacity_apply(aws_ctx *ctx, fb_diag *diag, const fbk_aws_creds *creds,
                             const char *region, const char *ns, const char *rid, const char *dim,
                             const json_t *actions, const char *owner)
{
    fb_status st = FB_OK;
    size_t i;
    const json_t *a;
    /* every wanted action, under its fixed name: a repeat replaces it */
    json_array_foreach(actions, i, a) {
        /* journal before create: the action's id is known before the call */
        char *id = fbk_xasprintf("%s/%s/%s", ns, rid, aws_str(a, "name"));
        st = aws_record(diag, "scheduled-action", id, region, owner);
        free(id);
        if (st != FB_OK) return st;
        json_t *b = aws_capacity_put_body(ns, rid, dim, a);
        aws_req rq = {.api = "application-autoscaling", .op = "PutScheduledAction", .method = "POST",
                      .path = "/", .body = b, .flags = FB_HTTP_IDEMPOTENT};
        aws_res res;
        st = aws_send(ctx, diag, creds, region, &rq, &res);
        if (st == FB_OK && res.err != FB_OK) st = aws_fail(diag, &rq, &res, NULL);
        aws_res_clear(&res);
        json_decref(b);
        if (st != FB_OK) return st;
    }
    if (aws_host->dry_run(diag)) return FB_OK;
    /* the stale ones of an earlier schedule (ours by their prefix) */
    json_t *live = NULL;
    st = describe_actions(ctx, diag, creds, region, ns, rid, dim, &live);
    json_array_foreach(live, i, a) {
        if (st != FB_OK) break;
        const char *name = aws_str(a, "ScheduledActionName");
        if (!name || strncmp(name, ACTION_PREFIX, strlen(ACTION_PREFIX)) != 0) continue;
        int wanted = 0;
        size_t k;
        const json_t *w;
        json_array_foreach(actions, k, w) wanted |= !strcmp(aws_str(w, "name"), name);
        if (wanted) continue;
        json_t *b = json_pack("{s:s,s:s,s:s,s:s}", "ServiceNamespace", ns, "ResourceId", rid,
                              "ScalableDimension", dim, "ScheduledActionName", name);
        aws_req rq = {.api = "application-autoscaling", .op = "DeleteScheduledAction",
                      .method = "POST", .path = "/", .body = b, .flags = FB_HTTP_IDEMPOTENT};
        aws_res res;
        st = aws_send(ctx, diag, creds, region, &rq, &res);
        if (st == FB_OK && res.err != FB_OK && res.err != FB_NOTFOUND &&
            !(res.code && strstr(res.code, "ObjectNotFound")))
            st = aws_fail(diag, &rq, &res, NULL);
        aws_res_clear(&res);
        json_decref(b);
    }
    json_decref(live);
    return st;
}

fb_status aws_capacity_observe(aws_ctx *ctx, fb_diag *diag, const fbk_aws_creds *creds,
                               const char *region, const char *ns, const char *rid, const char *dim,
                               const json_t *actions, json_t *drift)
{
    json_t *live = NULL;
    fb_status st = describe_actions(ctx, diag, creds, region, ns, rid, dim, &live);
    if (st != FB_OK) {
        json_decref(live);
        return st;
    }
    json_t *by = json_object();
    size_t i;
    const json_t *a;
    json_array_foreach(live, i, a) {
        const char *name = aws_str(a, "ScheduledActionName");
        if (name && !strncmp(name, ACTION_PREFIX, strlen(ACTION_PREFIX)))
            json_object_set(by, name, (json_t *)a);
    }
    json_array_foreach(actions, i, a) {
        const char *name = aws_str(a, "name");
        const json_t *l = json_object_get(by, name);
        const json_t *t = json_object_get(l, "ScalableTargetAction");
        char *f = fbk_xasprintf("schedule.%s", name);
        json_t *want = json_pack("{s:O,s:O,s:O}", "schedule", json_object_get(a, "schedule"), "min",
                                 json_object_get(a, "min"), "max", json_object_get(a, "max"));
        json_t *got = l ? json_pack("{s:O?,s:O?,s:O?}", "schedule", json_object_get(l, "Schedule"),
                                    "min", json_object_get(t, "MinCapacity"), "max",
                                    json_object_get(t, "MaxCapacity"))
                        : NULL;
        if (got && json_equal(want, got)) {
            json_decref(want);
            json_decref(got);
        } else {
            aws_drift(drift, f, want, got);
        }
        free(f);
        json_object_del(by, name);
    }
    const char *name;
    json_t *v;
    json_object_foreach(by, name, v) { /* ours, not wanted */
        char *f = fbk_xasprintf("schedule.%s", name);
        aws_drift(drift, f, NULL, aws_copy(json_object_get(v, "Schedule")));
        free(f);
    }
    json_decref(by);
    json_decref(live);
    return FB_OK;
}
