/* gcp_usage.c - monthly billing quantities of a workload on Cloud Run, Cloud
 * Functions 2nd gen or GKE Autopilot, as exact decimal strings. Each line
 * names the catalog row that prices it, exactly as catalog/prices.csv keys
 * it: (provider, service, metric, variant, unit), and "region_group"
 * (tier1/tier2/global) where the catalog keys the row by price group
 * instead of by region. Free tiers are netted by the broker, not here.
 *
 * Model (drivers/gcp/README.md):
 *  - request time: each request is billed rounded up to 100 ms, as Cloud
 *    Run bills; with c concurrent requests per instance, instance time is
 *    requests x rounded duration / c, where c = min(traffic
 *    concurrencyPerInstance, the service's maximum concurrency);
 *  - Cloud Run request-based billing (scale to zero): vCPU-seconds and
 *    GiB-seconds of request time, plus requests;
 *  - Cloud Run instance-based billing (minInstances > 0, or scaleToZero
 *    false, CPU always allocated): instance time is max(always-on
 *    instances x 730 h, busy time), no request fee;
 *  - Cloud Functions 2nd gen: request time as above, invocations, and the
 *    idle time of min instances (730 h x minInstances minus the busy
 *    time) at the idle CPU rate and the memory rate;
 *  - GKE Autopilot: pod vCPU-hours, GB-hours of memory and of ephemeral
 *    storage for max(minInstances, 1) pods x 730 h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcp.h"

/* One line. Steals quantity (malloc); region_group may be NULL. */
static void add_line(json_t *lines, const char *service, const char *metric, const char *variant,
                     const char *unit, const char *region_group, char *quantity, const char *note)
{
    json_t *l = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "provider", "gcp", "service", service, "metric", metric,
                          "variant", variant, "unit", unit, "quantity", quantity ? quantity : "0");
    free(quantity);
    if (region_group) json_object_set_new(l, "region_group", json_string(region_group));
    if (note) json_object_set_new(l, "note", json_string(note));
    json_array_append_new(lines, l);
}

/* num / den as an exact decimal (see fbk_decimal_exact); a non-terminating one
 * is rounded up at 9 decimals and the notes say so once. */
static char *dec(fbk_u128 num, fbk_u128 den, int *inexact)
{
    int ix = 0;
    char *s = fbk_decimal_exact(num, den, &ix);
    if (ix) *inexact = 1;
    return s;
}

/* The catalog's variant strings for cloud-functions-gen2, row by row: tier
 * 1's cpu row says "= Cloud Run request-based", the others are empty. */
static const char *gcf_variant(const char *metric, const char *tier)
{
    if (!strcmp(metric, "cpu") && !strcmp(tier, "tier1")) return "= Cloud Run request-based";
    return "";
}

json_t *gcp_usage_doc(const fbk_wl *wl, const gcp_shape *sh)
{
    json_t *lines = json_array(), *notes = json_array();
    const char *tier = sh->region ? sh->region->tier : "tier1";
    fbk_u128 req = (fbk_u128)(wl->req_pm < 0 ? 0 : wl->req_pm);
    fbk_u128 cpu = (fbk_u128)sh->cpu_m, mem = (fbk_u128)sh->mem_mib;
    long long conc = wl->conc_pi;
    if (sh->conc > 0 && conc > sh->conc) conc = sh->conc;
    if (conc < 1) conc = 1;
    /* billed per request: rounded up to 100 ms, at least 100 ms */
    long long billed_ms = wl->dur_ms <= 0 ? 100 : (wl->dur_ms + 99) / 100 * 100;
    fbk_u128 busy_ms_c = req * (fbk_u128)billed_ms; /* x 1/c = instance-ms */
    int inexact = 0;
    char note[512];
    long long always = sh->min_instances < 1 ? 1 : sh->min_instances;
    long long cold = 0;
    char vc[32];
    fbk_cores((wl->max_i > always ? wl->max_i : always) * sh->cpu_m, vc, sizeof vc);

    if (sh->svc == GCP_RUN && !sh->instance_based) {
        snprintf(note, sizeof note,
                 "%lld requests x %lld ms (%lld ms rounded up to 100 ms) / concurrency %lld x %lld millicores",
                 wl->req_pm, billed_ms, wl->dur_ms, conc, sh->cpu_m);
        add_line(lines, "cloud-run", "cpu", "request-based billing", "vCPU-second", tier,
                 dec(busy_ms_c * cpu, (fbk_u128)1000 * 1000 * (fbk_u128)conc, &inexact), note);
        snprintf(note, sizeof note, "%lld requests x %lld ms / concurrency %lld x %lld MiB / 1024", wl->req_pm,
                 billed_ms, conc, sh->mem_mib);
        add_line(lines, "cloud-run", "memory", "request-based billing", "GiB-second", tier,
                 dec(busy_ms_c * mem, (fbk_u128)1000 * 1024 * (fbk_u128)conc, &inexact), note);
        add_line(lines, "cloud-run", "requests", "request-based billing", "request", tier, dec(req, 1, &inexact),
                 NULL);
        json_array_append_new(notes, json_string(
            "Cloud Run request-based billing: instance time while serving requests, each request rounded up "
            "to 100 ms, divided by the concurrency per instance"));
        cold = 1000;
        fbk_u128 wn = 0, wd = 1;
        if (!strcmp(wl->kind, "Function") && fbk_schedule_mean(wl->spec, &wn, &wd) && wn > 0) {
            /* a capacity schedule's warm instances (a hybrid function
             * part, gcp_capacity.c): the schedule's mean minimum x 730 h.
             * The catalog has no row for idle minimum instances of a
             * request-based service (Google bills them at a lower idle
             * rate), so they are priced at the instance-based rate: an
             * upper bound. The container part's scheduled replicas are
             * in the plan's mean replicas already. */
            snprintf(note, sizeof note, "capacity schedule: mean warm instances x 730 h x %lld millicores "
                     "(instance-based rate: an upper bound of the idle rate)", sh->cpu_m);
            add_line(lines, "cloud-run", "cpu", "instance-based billing (CPU always allocated) and jobs",
                     "vCPU-second", tier, dec(wn * FBK_MONTH_SECONDS * cpu, wd * 1000, &inexact), note);
            snprintf(note, sizeof note, "the same warm instance time x %lld MiB / 1024", sh->mem_mib);
            add_line(lines, "cloud-run", "memory", "instance-based billing and jobs", "GiB-second", tier,
                     dec(wn * FBK_MONTH_SECONDS * mem, wd * 1024, &inexact), note);
            json_array_append_new(notes, json_string(
                "the capacity schedule's warm instances are priced at Cloud Run's instance-based rate for the "
                "schedule's mean minimum over the month (its idle minimum-instance rate is lower and not in "
                "the catalog: an overestimate); apply installs the schedule as Cloud Scheduler jobs"));
        }
    } else if (sh->svc == GCP_RUN) {
        /* instance time = max(always-on x 730 h, busy time without rounding) */
        fbk_u128 busy = req * (fbk_u128)(wl->dur_ms < 0 ? 0 : wl->dur_ms); /* / (1000 c) seconds */
        fbk_u128 on = (fbk_u128)always * FBK_MONTH_SECONDS * 1000 * (fbk_u128)conc;
        fbk_u128 num = busy > on ? busy : on; /* / (1000 c) */
        snprintf(note, sizeof note, "%s: %lld always-on instance(s) x 730 h%s, x %lld millicores",
                 busy > on ? "busy time" : "always-on time", always,
                 busy > on ? " exceeded by requests x duration / concurrency" : "", sh->cpu_m);
        add_line(lines, "cloud-run", "cpu", "instance-based billing (CPU always allocated) and jobs", "vCPU-second",
                 tier, dec(num * cpu, (fbk_u128)1000 * 1000 * (fbk_u128)conc, &inexact), note);
        snprintf(note, sizeof note, "the same instance time x %lld MiB / 1024", sh->mem_mib);
        add_line(lines, "cloud-run", "memory", "instance-based billing and jobs", "GiB-second", tier,
                 dec(num * mem, (fbk_u128)1000 * 1024 * (fbk_u128)conc, &inexact), note);
        json_array_append_new(notes, json_string(
            "Cloud Run instance-based billing (CPU always allocated, chosen because minInstances > 0 or "
            "scaleToZero is false): every instance-second is billed, there is no request fee"));
        cold = 0;
    } else if (sh->svc == GCP_FUNCTIONS) {
        snprintf(note, sizeof note,
                 "%lld invocations x %lld ms (%lld ms rounded up to 100 ms) / concurrency %lld x %lld millicores",
                 wl->req_pm, billed_ms, wl->dur_ms, conc, sh->cpu_m);
        add_line(lines, "cloud-functions-gen2", "cpu", gcf_variant("cpu", tier), "vCPU-second", tier,
                 dec(busy_ms_c * cpu, (fbk_u128)1000 * 1000 * (fbk_u128)conc, &inexact), note);
        snprintf(note, sizeof note, "%lld invocations x %lld ms / concurrency %lld x %lld MiB / 1024", wl->req_pm,
                 billed_ms, conc, sh->mem_mib);
        add_line(lines, "cloud-functions-gen2", "memory", gcf_variant("memory", tier), "GiB-second", tier,
                 dec(busy_ms_c * mem, (fbk_u128)1000 * 1024 * (fbk_u128)conc, &inexact), note);
        add_line(lines, "cloud-functions-gen2", "invocations", "", "invocation", "global", dec(req, 1, &inexact),
                 NULL);
        if (sh->min_instances > 0) {
            /* idle = min instances x 730 h - busy instance time, in ms x c
             * (min instances: minInstances, or 1 for scaleToZero false) */
            fbk_u128 on = (fbk_u128)sh->min_instances * FBK_MONTH_SECONDS * 1000 * (fbk_u128)conc;
            fbk_u128 idle = on > busy_ms_c ? on - busy_ms_c : 0;
            snprintf(note, sizeof note, "idle min instances: %lld x 730 h minus busy time, x %lld millicores",
                     sh->min_instances, sh->cpu_m);
            add_line(lines, "cloud-functions-gen2", "idle_cpu_min_instances", gcf_variant("idle", tier),
                     "vCPU-second", tier, dec(idle * cpu, (fbk_u128)1000 * 1000 * (fbk_u128)conc, &inexact), note);
            snprintf(note, sizeof note, "idle min instances: the same idle time x %lld MiB / 1024 at the memory rate",
                     sh->mem_mib);
            add_line(lines, "cloud-functions-gen2", "memory", gcf_variant("memory", tier), "GiB-second", tier,
                     dec(idle * mem, (fbk_u128)1000 * 1024 * (fbk_u128)conc, &inexact), note);
        }
        json_array_append_new(notes, json_string(
            "Cloud Functions 2nd gen bills like Cloud Run request-based billing (request time rounded up to "
            "100 ms) plus invocations; idle min instances at the idle CPU rate and the memory rate"));
        cold = sh->min_instances > 0 ? 0 : 1500;
    } else {
        snprintf(note, sizeof note, "%lld pod(s) x 730 h x %lld millicores / 1000", always, sh->cpu_m);
        add_line(lines, "gke-autopilot", "pod_vcpu", "general-purpose", "vCPU-hour", NULL,
                 dec((fbk_u128)always * FBK_MONTH_HOURS * cpu, 1000, &inexact), note);
        snprintf(note, sizeof note, "%lld pod(s) x 730 h x %lld MiB / 1024 (GB = 2^30 bytes)", always, sh->mem_mib);
        add_line(lines, "gke-autopilot", "pod_memory", "general-purpose", "GB-hour", NULL,
                 dec((fbk_u128)always * FBK_MONTH_HOURS * mem, 1024, &inexact), note);
        snprintf(note, sizeof note, "%lld pod(s) x 730 h x %lld MiB / 1024", always, sh->eph_mib);
        add_line(lines, "gke-autopilot", "pod_ephemeral_storage", "", "GB-hour", NULL,
                 dec((fbk_u128)always * FBK_MONTH_HOURS * (fbk_u128)sh->eph_mib, 1024, &inexact), note);
        json_array_append_new(notes, json_string(
            "GKE Autopilot bills pod requests: max(minInstances, 1) pods always on for 730 h (HPA scale-out "
            "above that is not estimated); the cluster fee is shared by the cluster and not included"));
        cold = 0;
    }
    if (inexact)
        json_array_append_new(notes, json_string(
            "a quantity with a non-terminating decimal expansion (division by the concurrency) is rounded up "
            "at 9 decimals"));
    if (cold)
        json_array_append_new(notes, json_string(
            sh->svc == GCP_RUN
                ? "coldStartMs 1000 is an assumption: a typical Cloud Run container start when scaling from "
                  "zero; not measured"
                : "coldStartMs 1500 is an assumption: a typical Cloud Functions 2nd gen start (runtime and "
                  "function load) when scaling from zero; not measured"));
    else
        json_array_append_new(notes, json_string("coldStartMs 0: at least one instance is always running"));
    json_array_append_new(notes, json_string("vcpu: peak demand, maxInstances x vCPU per instance"));
    return json_pack("{s:o,s:o,s:I,s:s}", "lines", lines, "notes", notes, "coldStartMs", (json_int_t)cold, "vcpu",
                     vc);
}
