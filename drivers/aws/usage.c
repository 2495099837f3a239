/* usage.c - monthly billing quantities of a workload on Lambda or Fargate,
 * each naming the catalog row that prices it (catalog/prices.csv:
 * provider aws, service, sku_metric, variant, unit). Quantities are exact
 * decimal strings computed with 128-bit integers; free tiers and volume
 * tiers are the broker's business. A month is 730 hours (2,628,000 s), the
 * convention of AWS's price pages. */
#include "config.h"
#include "aws.h"
#include "fbk_decimal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef fbk_u128 u128;

/* One usage computation: the month (hoursPerMonth from the broker, 730 =
 * 8,760 / 12 by default, or a calendar month, kept as milli-hours so it
 * stays exact), and whether a quantity had to be rounded. Passed down
 * rather than kept in a thread-local: a dlopen'd module's TLS made
 * LeakSanitizer's exit check crash with glibc 2.36 (it read a bogus
 * dynamic-TLS range; tests/identity/plan_callers.py under the sanitizers). */
typedef struct month {
    u128 mh;     /* milli-hours */
    int rounded; /* a quantity was rounded to the broker's 6 decimal places */
} month;

static u128 month_ms(const month *m) /* milliseconds */
{
    return m->mh * 3600;
}


/* num/den as a decimal string (new): exact when it terminates within
 * max_places digits after the point, else rounded half up to max_places
 * (the broker reads quantities with at most 6 decimal places); notes a
 * rounding in mo. */
static char *dec(month *mo, u128 num, u128 den, int max_places)
{
    int r = 0;
    char *s = fbk_decimal(num, den, max_places, FBK_ROUND_HALF_UP, &r);
    if (r) mo->rounded = 1;
    return s;
}

static void line(json_t *lines, const char *service, const char *metric, const char *variant,
                 const char *unit, char *quantity /* steals */, const char *note)
{
    json_t *l = json_pack("{s:s,s:s,s:s,s:s,s:s}", "service", service, "metric", metric,
                          "variant", variant, "unit", unit, "quantity", quantity);
    if (note) json_object_set_new(l, "note", json_string(note));
    json_array_append_new(lines, l);
    free(quantity);
}

/* Typical cold starts (init duration) by runtime family, in ms. These are
 * assumptions, not measurements of this deployment: see README.md. */
static json_int_t cold_start_ms(const char *runtime, int image)
{
    if (image) return 800;
    if (!runtime) return 300;
    if (!strncmp(runtime, "java", 4)) return 1200;
    if (!strncmp(runtime, "dotnet", 6)) return 700;
    if (!strncmp(runtime, "provided", 8)) return 100;
    if (!strncmp(runtime, "ruby", 4)) return 300;
    return 250; /* python, nodejs */
}

static fb_status lambda_usage(const json_t *w, month *mo, json_t *lines, json_t *notes,
                              json_t *out, fb_diag *diag)
{
    const json_t *spec = aws_spec(w), *res = json_object_get(spec, "resources");
    const json_t *tr = json_object_get(spec, "traffic"), *sc = json_object_get(spec, "scaling");
    json_int_t r = aws_int(tr, "requestsPerMonth", 0), d = aws_int(tr, "meanDurationMs", 0);
    json_int_t m = aws_int(res, "memoryMiB", 128), e = aws_int(res, "ephemeralStorageMiB", 512);
    json_int_t p = aws_int(sc, "minInstances", 0);
    const char *arch = aws_str(res, "arch") ? aws_str(res, "arch") : "x86_64";
    if (r < 0 || d < 0 || m <= 0 || p < 0 || r > (json_int_t)1e18 || d > (json_int_t)1e9) {
        fbk_diag(aws_host, diag, FB_SEV_ERROR, "/spec/traffic",
                 "aws: traffic or resources out of range for an estimate");
        return FB_INVALID;
    }
    line(lines, "lambda", "requests", "x86_64+arm64", "request", dec(mo, (u128)r, 1, 0), NULL);
    /* GB-seconds = requests x duration (1 ms units) x memory GiB */
    u128 gbs_num = (u128)r * (u128)d * (u128)m, gbs_den = (u128)1000 * 1024;
    /* the warm instances: minInstances all month, or a capacity schedule's
     * mean (p_num / p_den instances) */
    u128 p_num = (u128)p, p_den = 1;
    int sched = fbk_schedule_mean(spec, &p_num, &p_den);
    if (sched && p_num == 0) sched = 0;
    if (p > 0 || sched) {
        /* provisioned concurrency: P x memory for the whole month; the
         * invocations it can serve are billed at its lower duration rate */
        u128 cap_rd = p_num * month_ms(mo) / p_den; /* request-ms it can hold */
        u128 rd = (u128)r * (u128)d;
        u128 on_pc = rd < cap_rd ? rd : cap_rd;
        const char *pc_note = strcmp(arch, "arm64") == 0
            ? "the catalog has no arm64 provisioned-concurrency rows: priced at the x86_64 rate "
              "(AWS charges less on arm64, so this overestimates)" : NULL;
        line(lines, "lambda", "provisioned_concurrency", "x86_64", "GB-second",
             dec(mo, p_num * month_ms(mo) * (u128)m, p_den * 1024 * 1000, 6), pc_note);
        line(lines, "lambda", "provisioned_concurrency_duration", "x86_64", "GB-second",
             dec(mo, on_pc * (u128)m, gbs_den, 6), pc_note);
        line(lines, "lambda", "duration", arch, "GB-second", dec(mo, (rd - on_pc) * (u128)m, gbs_den, 6),
             "invocations beyond what the provisioned concurrency holds on average");
        json_array_append_new(notes, json_string(sched
            ? "the capacity schedule's warm instances are priced as provisioned concurrency, each "
              "step's for its share of the schedule's period, the period repeated over the month "
              "(apply configures it: scheduled actions on an alias); invocations up to its average "
              "capacity are billed at the provisioned duration rate (an estimate: which requests "
              "land on warm instances is not modelled per step)"
            : "minInstances is priced as provisioned concurrency for the whole month; invocations "
              "up to its average capacity are billed at the provisioned duration rate (apply does "
              "not configure provisioned concurrency for minInstances; a capacity schedule it does)"));
    } else {
        line(lines, "lambda", "duration", arch, "GB-second", dec(mo, gbs_num, gbs_den, 6), NULL);
    }
    if (e > 512)
        line(lines, "lambda", "ephemeral_storage", "x86_64+arm64", "GB-second",
             dec(mo, (u128)r * (u128)d * (u128)(e - 512), gbs_den, 6),
             "ephemeral storage above the 512 MB included");
    json_array_append_new(notes, json_string(
        "GB-seconds = requests x meanDuration (billed in 1 ms units) x memoryMiB / 1024; "
        "free tier and volume tiers are applied by the broker"));
    const char *rt = aws_lambda_runtime(aws_str(spec, "runtime"));
    int image = aws_str(spec, "image") != NULL;
    json_object_set_new(out, "coldStartMs", json_integer(cold_start_ms(rt, image)));
    json_array_append_new(notes, json_string(
        "coldStartMs is a typical Lambda init duration for the runtime and package type "
        "(an assumption, not a measurement; see drivers/aws/README.md)"));
    /* vCPU demand: average concurrency (or the provisioned floor) x the
     * share Lambda gives per MiB (1 vCPU at 1769 MiB) */
    u128 conc_num = (u128)r * (u128)d, conc_den = month_ms(mo);
    if (p_num * conc_den > conc_num * p_den) {
        conc_num = p_num * conc_den;
        conc_den *= p_den;
    }
    char *v = dec(mo, conc_num * (u128)m, conc_den * 1769, 6);
    json_object_set_new(out, "vcpu", json_string(v));
    free(v);
    return FB_OK;
}

static fb_status fargate_usage(const json_t *w, month *mo, json_t *lines, json_t *notes,
                               json_t *out, fb_diag *diag)
{
    const json_t *spec = aws_spec(w), *res = json_object_get(spec, "resources");
    const json_t *tr = json_object_get(spec, "traffic"), *sc = json_object_get(spec, "scaling");
    json_int_t cpu_m = aws_int(res, "cpuMillis", 250), mem = aws_int(res, "memoryMiB", 512);
    json_int_t e = aws_int(res, "ephemeralStorageMiB", 512);
    const char *arch = aws_str(res, "arch") ? aws_str(res, "arch") : "x86_64";
    int cpu = 0, m = 0;
    char *why = NULL;
    if (aws_fargate_size(cpu_m, mem, &cpu, &m, &why) != 0) {
        fbk_diag(aws_host, diag, FB_SEV_ERROR, "/spec/resources", "aws: no Fargate task size fits: %s",
                 why);
        free(why);
        return FB_INVALID;
    }
    char *size = fbk_xasprintf("task size rounded up to a valid Fargate combination: cpu %lldm -> "
                               "%d units, memory %lld MiB -> %d MiB", (long long)cpu_m, cpu,
                               (long long)mem, m);
    json_array_append_new(notes, json_string(size));
    free(size);
    json_int_t min = aws_int(sc, "minInstances", 0);
    json_int_t desired = min > 0 ? min : 1;
    json_int_t max = aws_int(sc, "maxInstances", desired);
    if (max < desired) max = desired;
    json_int_t r = aws_int(tr, "requestsPerMonth", 0), d = aws_int(tr, "meanDurationMs", 0);
    json_int_t k = aws_int(sc, "targetConcurrency", 0);
    if (k <= 0) k = aws_int(tr, "concurrencyPerInstance", 1);
    if (k <= 0) k = 1;
    if (r < 0 || d < 0 || r > (json_int_t)1e18 || d > (json_int_t)1e9) {
        fbk_diag(aws_host, diag, FB_SEV_ERROR, "/spec/traffic",
                 "aws: traffic out of range for an estimate");
        return FB_INVALID;
    }
    /* tasks = average concurrency / concurrency per task, rounded up,
     * between the desired count and maxInstances */
    u128 den = month_ms(mo) * (u128)k;
    u128 need = ((u128)r * (u128)d + den - 1) / den;
    json_int_t tasks = need > (u128)max ? max : (json_int_t)need;
    if (tasks < desired) tasks = desired;
    char *tn = fbk_xasprintf("%lld task(s) all month: average concurrency (requests x "
                             "meanDuration / month) / %lld per task, rounded up, within "
                             "desiredCount %lld .. maxInstances %lld", (long long)tasks,
                             (long long)k, (long long)desired, (long long)max);
    json_array_append_new(notes, json_string(tn));
    free(tn);
    const char *variant = !strcmp(arch, "arm64") ? "linux/arm64" : "linux/x86_64";
    line(lines, "fargate", "vcpu", variant, "vCPU-hour",
         dec(mo, (u128)tasks * (u128)cpu * mo->mh, (u128)1024 * 1000, 6), NULL);
    line(lines, "fargate", "memory", variant, "GB-hour",
         dec(mo, (u128)tasks * (u128)m * mo->mh, (u128)1024 * 1000, 6), NULL);
    json_int_t gib = (e + 1023) / 1024;
    if (gib > 20)
        line(lines, "fargate", "ephemeral_storage", "any", "GB-hour",
             dec(mo, (u128)tasks * (u128)(gib - 20) * mo->mh, 1000, 6),
             "ephemeral storage above the 20 GB included per task");
    /* A Fargate service keeps at least one task running: no request waits
     * for a task to start (a new one, some 30-60 s with the image pull, only
     * adds capacity). */
    json_object_set_new(out, "coldStartMs", json_integer(0));
    json_array_append_new(notes, json_string(
        "coldStartMs 0: a Fargate service always runs at least one task; a task started when "
        "scaling out (typically 30-60 s with the image pull, an assumption) adds capacity, "
        "requests do not wait for it"));
    char *v = dec(mo, (u128)tasks * (u128)cpu, 1024, 6);
    json_object_set_new(out, "vcpu", json_string(v));
    free(v);
    return FB_OK;
}

fb_status aws_usage(aws_ctx *ctx, const json_t *in, json_t **out, fb_diag *diag)
{
    (void)ctx;
    const json_t *w = json_object_get(in, "workload");
    const char *kind = aws_str(w, "kind");
    month mo = {730000, 0};
    const json_t *h = json_object_get(in, "hoursPerMonth");
    if (h) {
        double hv = json_number_value(h);
        if (!json_is_number(h) || hv < 1 || hv > 745) {
            fbk_diag(aws_host, diag, FB_SEV_ERROR, NULL,
                     "aws: hoursPerMonth must be a number of hours from 1 to 745");
            return FB_INVALID;
        }
        mo.mh = (u128)(hv * 1000 + 0.5);
    }
    json_t *lines = json_array(), *notes = json_array(), *o = json_object();
    fb_status st = !strcmp(kind, "Function") ? lambda_usage(w, &mo, lines, notes, o, diag)
                                             : fargate_usage(w, &mo, lines, notes, o, diag);
    if (st == FB_OK && mo.rounded)
        json_array_append_new(notes, json_string(
            "some quantities were rounded half up to 6 decimal places (the broker's precision)"));
    if (st == FB_OK) {
        json_object_set_new(o, "lines", lines);
        json_object_set_new(o, "notes", notes);
        *out = o;
    } else {
        json_decref(lines);
        json_decref(notes);
        json_decref(o);
    }
    return st;
}
