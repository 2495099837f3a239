/* k8s_capacity.c - capacity schedules on a cluster (issue 17,
 * docs/simulation.md, "Capacity schedules"): the plan's
 * spec.scaling.schedule of a hybrid part rendered as CronJobs (batch/v1)
 * that move the part's floor at each step: `kubectl patch` of the
 * HorizontalPodAutoscaler's minReplicas (a Deployment) or of the Knative
 * Service's autoscaling.knative.dev/min-scale annotation. The jobs run as
 * their own ServiceAccount NAME-capacity, bound by a RoleBinding to a Role
 * allowing get and patch on exactly that HPA or Knative Service (and, for
 * a one-off schedule, on exactly its own CronJobs, which each job suspends
 * once it has run). The objects go through apply, observe, destroy and
 * discover with the workload's others (k8s_deploy.c); this file only
 * makes them. The AWS form of the same schedule is drivers/aws/capacity.c. */
#include "config.h"
#include "k8s.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A CronJob's name is at most 52 characters (the controller appends an
 * 11-character suffix to its Jobs' names); the longest of ours is
 * NAME-capacity-end or NAME-capacity-NNN. */
#define CRONJOB_MAX_NAME 52
/* More CronJobs than this is no schedule a person can read in `kubectl get
 * cronjobs`; the planner's hourly weekly pattern has at most 168 steps. */
#define MAX_STEPS 500
#define SCHEDULE_PTR "/spec/scaling/schedule"

/* Unix seconds of Monday 1970-01-05 00:00 UTC: where a weekly period begins. */
#define FIRST_MONDAY (4 * 86400)

const char *k8s_capacity_component = "capacity-schedule";

/* One step of the schedule as the cluster runs it. */
typedef struct cstep {
    long long min;  /* the floor the step sets (minInstances) */
    int64_t fire;   /* once: Unix seconds; repeating: seconds into the period */
} cstep;

typedef struct csched {
    int once, weekly;
    int64_t period, lead, start;
    size_t n;       /* steps, plus the end step of a one-off schedule */
    cstep *steps;
} csched;

/* Rounds t down to a whole minute (cron's resolution): a step acts no
 * later than the plan says. */
static int64_t minute_floor(int64_t t)
{
    int64_t m = t / 60 * 60;
    return m > t ? m - 60 : m;
}

static int64_t mod(int64_t a, int64_t p)
{
    int64_t r = a % p;
    return r < 0 ? r + p : r;
}

/* Reads spec.scaling.schedule into *s (steps new); the floors are checked
 * against [lo, hi]. 0, or -1 with an error on ck. */
static int read_schedule(const json_t *sched, long long lo, long long hi, csched *s, fbk_ck *ck)
{
    memset(s, 0, sizeof *s);
    const char *repeat = json_string_value(json_object_get(sched, "repeat"));
    s->once = repeat && !strcmp(repeat, "once");
    s->weekly = repeat && !strcmp(repeat, "weekly");
    if (!repeat || (!s->once && !s->weekly && strcmp(repeat, "daily") != 0)) {
        fbk_err(ck, SCHEDULE_PTR "/repeat", "plan the workload again", "scaling.schedule.repeat must be once, "
                "daily or weekly");
        return -1;
    }
    json_t *js = (json_t *)sched;
    s->period = fbk_int(js, "periodSeconds", 0);
    s->lead = fbk_int(js, "leadSeconds", 0);
    if (s->once && fbk_parse_rfc3339(json_string_value(json_object_get(sched, "start")), &s->start) != 0) {
        fbk_err(ck, SCHEDULE_PTR "/start", "plan the workload again",
                "a one-off scaling.schedule needs start as a UTC time (2026-12-31T18:00:00Z)");
        return -1;
    }
    const json_t *steps = json_object_get(sched, "steps");
    if (!s->once && s->period != (s->weekly ? 604800 : 86400)) {
        fbk_err(ck, SCHEDULE_PTR "/periodSeconds", "plan the workload again",
                "a %s scaling.schedule has periodSeconds %d", s->weekly ? "weekly" : "daily",
                s->weekly ? 604800 : 86400);
        return -1;
    }
    if (s->period <= 0 || s->lead < 0 || !json_is_array(steps) || !json_array_size(steps)) {
        fbk_err(ck, SCHEDULE_PTR, "plan the workload again",
                "scaling.schedule needs periodSeconds > 0, leadSeconds >= 0 and at least one step");
        return -1;
    }
    size_t n = json_array_size(steps);
    if (n + 1 > MAX_STEPS) {
        fbk_err(ck, SCHEDULE_PTR "/steps", "use a profile with fewer changes of capacity (hourly steps)",
                "the capacity schedule has %zu steps; this driver renders at most %d (one CronJob each)", n,
                MAX_STEPS - 1);
        return -1;
    }
    s->steps = fbk_xcalloc(n + 1, sizeof *s->steps);
    long long prev = -1;
    for (size_t i = 0; i < n; i++) {
        json_t *st = json_array_get(steps, i);
        long long off = fbk_int(st, "offsetSeconds", -1), min = fbk_int(st, "minInstances", -1);
        if (off < prev || off >= s->period || min < lo || min > hi) {
            char ptr[64];
            snprintf(ptr, sizeof ptr, SCHEDULE_PTR "/steps/%zu", i);
            fbk_err(ck, ptr, "plan the workload again (the schedule's floors lie within the workload's "
                    "minInstances..maxInstances)",
                    "scaling.schedule.steps[%zu]: offsetSeconds must increase within the period and "
                    "minInstances be %lld..%lld", i, lo, hi);
            free(s->steps);
            s->steps = NULL;
            return -1;
        }
        prev = off;
        s->steps[i].min = min;
        s->steps[i].fire = s->once ? minute_floor(s->start + off - s->lead) : mod(off - s->lead, s->period);
    }
    s->n = n;
    if (s->once) { /* the end: the floor after the event, when its last hour is over */
        long long after = fbk_int(js, "afterMinInstances", lo);
        s->steps[n].min = after < lo ? lo : after > hi ? hi : after;
        s->steps[n].fire = minute_floor(s->start + s->period);
        s->n = n + 1;
    }
    return 0;
}

/* The floor in effect at now: a one-off schedule's `after` outside its
 * span (the deployed floor before it too), else the step whose time came
 * last (a repeating schedule wraps around to the previous period's last). */
static long long floor_at(const csched *s, int64_t now)
{
    if (s->once) {
        long long v = s->steps[s->n - 1].min;
        if (now < s->steps[0].fire || now >= s->steps[s->n - 1].fire) return v;
        for (size_t i = 0; i < s->n; i++)
            if (s->steps[i].fire <= now) v = s->steps[i].min;
        return v;
    }
    int64_t p = s->weekly ? mod(now - FIRST_MONDAY, s->period) : mod(now, s->period);
    size_t best = 0, last = 0;
    int found = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (s->steps[i].fire >= s->steps[last].fire) last = i;
        if (s->steps[i].fire <= p && (!found || s->steps[i].fire >= s->steps[best].fire)) {
            best = i;
            found = 1;
        }
    }
    return s->steps[found ? best : last].min;
}

/* The five-field cron expression (minute hour day-of-month month
 * day-of-week, in the CronJob's timeZone Etc/UTC) of step st. A one-off
 * step names its date; cron has no year, so the job suspends its own
 * CronJob once it has run (see job_spec). */
static void cron_of(const csched *s, const cstep *st, char *buf, size_t n)
{
    if (s->once) {
        char ts[21];
        fbk_format_rfc3339(st->fire, ts);
        int y, mo, d, h, mi, se;
        if (sscanf(ts, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &se) != 6) y = mo = d = h = mi = 0;
        snprintf(buf, n, "%d %d %d %d *", mi, h, d, mo);
        return;
    }
    int64_t f = st->fire;
    int mi = (int)(f / 60 % 60), h = (int)(f / 3600 % 24);
    if (!s->weekly) snprintf(buf, n, "%d %d * * *", mi, h);
    else snprintf(buf, n, "%d %d * * %d", mi, h, (int)((f / 86400 + 1) % 7)); /* 0 = Monday in f, cron: 0 = Sunday */
}

/* The merge patch a step sends (compact JSON text, new). */
static char *patch_of(int knative, long long min)
{
    if (knative)
        return fbk_xasprintf("{\"spec\":{\"template\":{\"metadata\":{\"annotations\":"
                             "{\"autoscaling.knative.dev/min-scale\":\"%lld\"}}}}}", min);
    /* an HPA's minReplicas is at least 1 (0 needs the HPAScaleToZero gate) */
    return fbk_xasprintf("{\"spec\":{\"minReplicas\":%lld}}", min < 1 ? 1 : min);
}

/* A `kubectl patch` container: resource, name, namespace, merge patch. */
static json_t *kubectl(const char *cname, const char *image, const char *resource, const char *name, const char *ns,
                       const char *patch)
{
    /* the root file system stays writable: kubectl writes its discovery
     * cache under $HOME/.kube */
    return json_pack("{s:s,s:s,s:[s],s:[s,s,s,s,s,s,s,s,s,s,s],s:{s:{s:s,s:s},s:{s:s,s:s}},s:{s:b,s:{s:[s]}}}",
                     "name", cname, "image", image, "command", "kubectl", "args", "patch", resource, name,
                     "--namespace", ns, "--type", "merge", "--patch", patch, "--field-manager",
                     K8S_CAPACITY_MANAGER, "resources", "requests", "cpu", "10m", "memory", "32Mi", "limits", "cpu",
                     "100m", "memory", "64Mi", "securityContext", "allowPrivilegeEscalation", 0,
                     "capabilities", "drop", "ALL");
}

/* The document wrapper render and apply share (fbk_k8s_render_*'s form). */
static json_t *document(const char *api, const char *kind, const char *name, const char *ns, json_t *body)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:o}", "api", api, "kind", kind, "name", name, "namespace", ns, "body", body);
}

static json_t *metadata(const fbk_wl *wl, const char *name, const char *ns)
{
    json_t *labels = fbk_k8s_labels(wl);
    json_object_set_new(labels, "app.kubernetes.io/component", json_string(k8s_capacity_component));
    return json_pack("{s:s,s:s,s:o}", "name", name, "namespace", ns, "labels", labels);
}

/* The jobs' pods' labels: not the workload's name, so that neither its
 * Service, its HPA's pod metrics nor its NetworkPolicies select them. */
static json_t *pod_labels(const fbk_wl *wl, const char *base)
{
    json_t *labels = fbk_k8s_labels(wl);
    json_object_set_new(labels, K8S_NAME_LABEL, json_string(base));
    json_object_set_new(labels, "app.kubernetes.io/component", json_string(k8s_capacity_component));
    return labels;
}

int k8s_capacity_has(const fbk_wl *wl)
{
    return json_object_get(json_object_get(wl->spec, "scaling"), "schedule") != NULL;
}

json_t *k8s_capacity_render(const fbk_wl *wl, const char *ns, int knative, const char *image, int64_t now,
                            long long *floor_now, fbk_ck *ck)
{
    *floor_now = -1;
    const json_t *sched = json_object_get(json_object_get(wl->spec, "scaling"), "schedule");
    if (!sched) return json_array();
    /* what each step moves: the HPA of a Deployment (rendered only when
     * maxInstances exceeds the deployed floor), or a Knative Service */
    long long lo, hi;
    if (knative) {
        lo = wl->scale_to_zero ? 0 : (wl->min_i < 1 ? 1 : wl->min_i);
        hi = wl->max_i < (lo ? lo : 1) ? (lo ? lo : 1) : wl->max_i;
    } else {
        long long minr = wl->min_i < 1 ? 1 : wl->min_i;
        hi = wl->max_i < minr ? minr : wl->max_i;
        lo = minr;
        if (hi <= minr) {
            fbk_err(ck, SCHEDULE_PTR, "give the workload a maxInstances above its minInstances, or leave the "
                    "schedule out",
                    "a capacity schedule moves the HorizontalPodAutoscaler's minReplicas, and a workload with "
                    "maxInstances = minInstances (%lld) has no HPA", minr);
            return NULL;
        }
    }
    if (strlen(wl->name) + strlen("-capacity-end") > CRONJOB_MAX_NAME) {
        fbk_err(ck, "/metadata/name", "use a workload name of at most 39 characters for a capacity schedule",
                "the capacity schedule's CronJobs (%s-capacity-NNN) would be longer than a CronJob's %d "
                "characters", wl->name, CRONJOB_MAX_NAME);
        return NULL;
    }
    csched s;
    if (read_schedule(sched, 0, hi, &s, ck) != 0) return NULL;
    /* a step below what the object can hold asks for that (the planner's
     * function part asks for 0 warm instances between its peaks) */
    for (size_t i = 0; i < s.n; i++)
        if (s.steps[i].min < lo) s.steps[i].min = lo;
    *floor_now = floor_at(&s, now);
    char base[80];
    snprintf(base, sizeof base, "%s-capacity", wl->name);
    const char *resource = knative ? "services.serving.knative.dev" : "horizontalpodautoscalers.autoscaling";
    json_t *docs = json_array();
    json_t *sa = json_pack("{s:s,s:s,s:o,s:b}", "apiVersion", "v1", "kind", "ServiceAccount", "metadata",
                           metadata(wl, base, ns), "automountServiceAccountToken", 0);
    json_array_append_new(docs, document("v1", "ServiceAccount", base, ns, sa));
    /* least privilege: get and patch (what `kubectl patch` does) on the
     * one object the schedule moves; a one-off schedule's jobs also
     * suspend their own CronJobs, named here */
    json_t *rules = json_pack("[{s:[s],s:[s],s:[s],s:[s,s]}]", "apiGroups",
                              knative ? "serving.knative.dev" : "autoscaling", "resources",
                              knative ? "services" : "horizontalpodautoscalers", "resourceNames", wl->name, "verbs",
                              "get", "patch");
    json_t *own = json_array();
    json_t *cronjobs = json_array();
    for (size_t i = 0; i < s.n; i++) {
        char name[128], cron[64];
        int end = s.once && i == s.n - 1;
        if (end) snprintf(name, sizeof name, "%s-end", base);
        else snprintf(name, sizeof name, "%s-%03zu", base, i);
        cron_of(&s, &s.steps[i], cron, sizeof cron);
        char *patch = patch_of(knative, s.steps[i].min);
        json_t *pod = json_pack("{s:s,s:s,s:b,s:[o]}", "serviceAccountName", base, "restartPolicy", "OnFailure",
                                "automountServiceAccountToken", 1, "containers",
                                kubectl("patch", image, resource, wl->name, ns, patch));
        free(patch);
        if (s.once) {
            /* the target first (an init container), then the job's own
             * CronJob suspended: cron has no year, and the date would come
             * round again */
            json_object_set_new(pod, "initContainers", json_object_get(pod, "containers"));
            json_incref(json_object_get(pod, "initContainers"));
            json_object_set_new(pod, "containers",
                                json_pack("[o]", kubectl("suspend", image, "cronjobs.batch", name, ns,
                                                         "{\"spec\":{\"suspend\":true}}")));
            json_array_append_new(own, json_string(name));
        }
        json_t *spec = json_pack("{s:s,s:s,s:s,s:i,s:i,s:{s:{s:i,s:{s:{s:o},s:o}}}}", "schedule", cron, "timeZone",
                                 "Etc/UTC", "concurrencyPolicy", "Forbid", "successfulJobsHistoryLimit", 1,
                                 "failedJobsHistoryLimit", 1, "jobTemplate", "spec", "backoffLimit", 3, "template",
                                 "metadata", "labels", pod_labels(wl, base), "spec", pod);
        /* a one-off step whose time has passed when it is applied would
         * run on that date next year: it is applied suspended */
        if (s.once && s.steps[i].fire <= now) json_object_set_new(spec, "suspend", json_true());
        json_t *body = json_pack("{s:s,s:s,s:o,s:o}", "apiVersion", "batch/v1", "kind", "CronJob", "metadata",
                                 metadata(wl, name, ns), "spec", spec);
        json_array_append_new(cronjobs, document("batch/v1", "CronJob", name, ns, body));
    }
    if (json_array_size(own))
        json_array_append_new(rules, json_pack("{s:[s],s:[s],s:O,s:[s,s]}", "apiGroups", "batch", "resources",
                                               "cronjobs", "resourceNames", own, "verbs", "get", "patch"));
    json_decref(own);
    json_t *role = json_pack("{s:s,s:s,s:o,s:o}", "apiVersion", "rbac.authorization.k8s.io/v1", "kind", "Role",
                             "metadata", metadata(wl, base, ns), "rules", rules);
    json_array_append_new(docs, document("rbac.authorization.k8s.io/v1", "Role", base, ns, role));
    json_t *rb = json_pack("{s:s,s:s,s:o,s:[{s:s,s:s,s:s}],s:{s:s,s:s,s:s}}", "apiVersion",
                           "rbac.authorization.k8s.io/v1", "kind", "RoleBinding", "metadata", metadata(wl, base, ns),
                           "subjects", "kind", "ServiceAccount", "name", base, "namespace", ns, "roleRef", "apiGroup",
                           "rbac.authorization.k8s.io", "kind", "Role", "name", base);
    json_array_append_new(docs, document("rbac.authorization.k8s.io/v1", "RoleBinding", base, ns, rb));
    json_array_extend(docs, cronjobs);
    json_decref(cronjobs);
    free(s.steps);
    return docs;
}

void k8s_capacity_set_floor(json_t *docs, int knative, long long floor_now)
{
    if (floor_now < 0) return;
    size_t i;
    json_t *d;
    json_array_foreach(docs, i, d) {
        const char *kind = json_string_value(json_object_get(d, "kind"));
        const char *api = json_string_value(json_object_get(d, "api"));
        json_t *spec = json_object_get(json_object_get(d, "body"), "spec");
        char *patch = NULL;
        if (!knative && kind && !strcmp(kind, "HorizontalPodAutoscaler")) {
            json_object_del(spec, "minReplicas");
            patch = patch_of(0, floor_now);
        } else if (knative && kind && !strcmp(kind, "Service") && api && !strcmp(api, "serving.knative.dev/v1")) {
            json_object_del(json_object_get(json_object_get(json_object_get(spec, "template"), "metadata"),
                                            "annotations"), "autoscaling.knative.dev/min-scale");
            patch = patch_of(1, floor_now);
        }
        if (patch) json_object_set_new(d, "capacityPatch", json_loads(patch, 0, NULL));
        free(patch);
    }
}

int k8s_capacity_replica_seconds(const fbk_wl *wl, long long base, unsigned long long *sum, int64_t *period)
{
    const json_t *sched = json_object_get(json_object_get(wl->spec, "scaling"), "schedule");
    fbk_ck quiet = {k8s_host, NULL, K8S_DRV, 0, 1};
    csched s;
    if (!sched || read_schedule(sched, 0, wl->max_i < base ? base : wl->max_i, &s, &quiet) != 0) return -1;
    size_t n = s.once ? s.n - 1 : s.n; /* the end step holds the floor after the event */
    const json_t *steps = json_object_get(sched, "steps");
    unsigned long long acc = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t off = fbk_int(json_array_get(steps, i), "offsetSeconds", 0);
        int64_t next = i + 1 < n ? fbk_int(json_array_get(steps, i + 1), "offsetSeconds", 0)
                     : s.once ? s.period + s.lead /* it acts a lead early and ends on time */
                              : s.period + fbk_int(json_array_get(steps, 0), "offsetSeconds", 0);
        long long v = s.steps[i].min < base ? base : s.steps[i].min;
        acc += (unsigned long long)v * (unsigned long long)(next - off);
    }
    *sum = acc;
    *period = s.period;
    free(s.steps);
    return 0;
}
