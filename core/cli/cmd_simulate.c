/* cmd_simulate.c - `fedbroker simulate`: replays a workload's traffic
 * profile through the five strategies of the step model (core/sim) with the
 * offers and prices the planner chooses (core/plan/hybrid.c), and prints
 * the per-step table and the summary (docs/simulation.md). With
 * --gateway-config nginx it prints the overflow gateway instead
 * (gateway.c). */
#include "config.h"
#include "cli/cli.h"
#include "cli/gateway.h"
#include "plan/hybrid.h"
#include "sim/sim.h"
#include "sim/forecast.h"
#include "spec/profile.h"
#include "spec/spec.h"
#include "base/util.h"

#include <errno.h>
#include <math.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#define STEPS_SHOWN_BY_DEFAULT 48 /* a longer profile prints its steps with --steps only */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Parses a whole number from min to max for option name; 0 or -1 (printed). */
static int parse_int(const char *name, const char *v, long min, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || !*v || *end || errno || x < min || x > max) {
        fprintf(stderr, "fedbroker simulate: --%s needs a whole number from %ld to %ld, not '%s'\n",
                name, min, max, v ? v : "");
        return -1;
    }
    *out = x;
    return 0;
}

/* The workload to simulate: the one named, else the only Container with a
 * traffic profile. Index or -1 (printed). */
static long pick_workload(fb_spec_set *set, const char *name)
{
    long found = -1;
    int n = 0;
    for (size_t i = 0; i < fb_spec_count(set); i++) {
        const json_t *d = fbi_spec_doc(set, i);
        const char *nm = json_string_value(json_object_get(json_object_get(d, "metadata"), "name"));
        const char *kind = json_string_value(json_object_get(d, "kind"));
        if (name) {
            if (nm && !strcmp(nm, name)) return (long)i;
            continue;
        }
        if (kind && !strcmp(kind, "Container")) {
            n++;
            found = (long)i;
        }
    }
    if (name) fprintf(stderr, "fedbroker simulate: no workload named '%s' in the specs\n", name);
    else if (n == 0) fprintf(stderr, "fedbroker simulate: the specs hold no Container\n");
    else if (n > 1) fprintf(stderr, "fedbroker simulate: %d Containers; name one with --workload NAME\n", n);
    return name || n != 1 ? -1 : found;
}

/* The profile: --profile FILE, else the spec's (its rates, or its file read
 * again and checked against the hash validate recorded). 0 or an exit code. */
static int load_profile(const char *file, const json_t *norm, fbi_profile *p)
{
    const json_t *pn = json_object_get(json_object_get(json_object_get(norm, "spec"), "traffic"),
                                       "profile");
    fb_diag *d = fb_diag_new();
    int rc;
    if (file) {
        size_t len = 0;
        char *err = NULL;
        char *data = fbi_read_file(file, FBI_PROFILE_MAX_FILE, &len, &err);
        if (!data) {
            fb_diag_add(d, FB_SEV_ERROR, file, 0, 0, NULL, err, "--profile reads a CSV file "
                        "timestamp,requests_per_second of at most 64 MiB.");
            free(err);
            rc = -1;
        } else {
            rc = fbi_profile_parse_csv(file, data, len, NULL, p, d);
            free(data);
        }
    } else if (!pn) {
        fb_diag_add(d, FB_SEV_ERROR, NULL, 0, 0, "/spec/traffic", "the workload has no traffic.profile",
                    "Give one in the spec or with --profile FILE.");
        rc = -1;
    } else {
        rc = fbi_profile_load(pn, p, d);
    }
    fb_diag_print(d, stderr);
    fb_diag_free(d);
    return rc == 0 ? FB_EXIT_OK : FB_EXIT_INVALID;
}

/* ---- output ---- */

typedef struct out_ctx {
    fbc_format fmt;
    int steps;           /* print the per-step rows */
    json_t *jsteps;      /* json: the current strategy's steps */
    int header_done;
    /* hybrid-predictive: the capacity schedule per hour of the profile */
    int64_t start;       /* the profile's first time (Unix seconds) or 0 */
    int absolute;
    json_t *sched;       /* [{at, containers, warmFunctions}] */
    int64_t hour;        /* the hour being gathered (-1: none yet) */
    double hc;           /* its most replicas */
    int hw;              /* its most warm function instances */
} out_ctx;

/* Closes the hour being gathered into c->sched. */
static void sched_flush(out_ctx *c)
{
    if (c->hour < 0) return;
    json_t *row = json_object();
    int64_t at = c->hour * 3600;
    if (c->absolute) {
        char ts[64];
        fbi_profile_format_time(c->start + at, ts);
        json_object_set_new(row, "at", json_string(ts));
    } else {
        json_object_set_new(row, "offsetSeconds", json_integer(at));
    }
    json_object_set_new(row, "containers", json_integer((json_int_t)ceil(c->hc - 1e-9)));
    json_object_set_new(row, "warmFunctions", json_integer(c->hw));
    json_array_append_new(c->sched, row);
    c->hour = -1;
}

static void on_step(void *vctx, fbi_sim_strategy s, const fbi_sim_step *st)
{
    out_ctx *c = vctx;
    if (s == FBI_SIM_HYBRID_PREDICTIVE && c->sched) {
        /* the schedule a driver would install: per hour, the most replicas
         * and warm instances the forecast asked for */
        int64_t h = st->t / 3600;
        if (h != c->hour) {
            sched_flush(c);
            c->hour = h;
            c->hc = 0;
            c->hw = 0;
        }
        if (st->scheduled > c->hc) c->hc = st->scheduled;
        if (st->warm > c->hw) c->hw = st->warm;
    }
    if (!c->steps) return;
    if (c->fmt == FBC_FMT_JSON) {
        json_array_append_new(c->jsteps, json_pack(
            "{sIsfsfsfsisisfsfsfsfsfsf}", "t", (json_int_t)st->t, "rps", st->rps, "loadPct",
            st->load_pct, "containers", st->containers, "functions", st->functions, "warm",
            st->warm, "utilisation", st->util, "requestsContainers", st->req_containers,
            "requestsFunctions", st->req_functions, "coldStarts", st->cold, "overSlo",
            st->over_slo, "meanLatencyMs", st->latency_ms));
    } else if (c->fmt == FBC_FMT_CSV) {
        if (!c->header_done) {
            printf("strategy,t,rps,load_pct,containers,functions,warm,utilisation,"
                   "requests_containers,requests_functions,cold_starts,over_slo,mean_latency_ms\n");
            c->header_done = 1;
        }
        printf("%s,%lld,%.3f,%.1f,%.2f,%d,%d,%.4f,%.0f,%.0f,%.0f,%.0f,%.1f\n",
               fbi_sim_strategy_name(s), (long long)st->t, st->rps, st->load_pct, st->containers,
               st->functions, st->warm, st->util, st->req_containers, st->req_functions, st->cold,
               st->over_slo, st->latency_ms);
    } else {
        printf("%8lld %6.0f%% %10.1f %9d %6d %5.0f%% %12.0f %12.0f %8.0f %9.0f %8.1f\n",
               (long long)st->t, st->load_pct, st->containers, st->functions, st->warm,
               100 * st->util, st->req_containers, st->req_functions, st->cold, st->over_slo,
               st->latency_ms);
    }
}

static void usd(int64_t nano, char *buf)
{
    /* cents for the table: the exact figure is in --format json */
    int64_t cents = nano >= 0 ? (nano + 5000000) / 10000000 : -((-nano + 5000000) / 10000000);
    snprintf(buf, 40, "%lld.%02lld", (long long)(cents / 100), (long long)llabs(cents % 100));
}

static json_t *offer_json(const fbi_hybrid_offer *o, const char *price_what)
{
    char b[40];
    json_t *j = json_pack("{ssssss}", "provider", o->provider, "service", o->service, "region",
                          o->region);
    json_object_set_new(j, price_what, json_string(fbi_nano_str(o->month_nano, b)));
    json_object_set_new(j, "startMs", json_integer(o->start_ms));
    if (o->start_sku)
        json_object_set_new(j, "startRow", json_pack("{ssssssss}", "key", o->start_sku, "source",
                                                     o->start_source, "asOf", o->start_as_of,
                                                     "confidence", o->start_confidence));
    return j;
}

static json_t *result_json(const fbi_sim_result *r, int baseline, int64_t static_nano)
{
    char b[40];
    json_t *j = json_object();
    json_object_set_new(j, "strategy", json_string(fbi_sim_strategy_name(r->strategy)));
    if (baseline >= 0) json_object_set_new(j, "baseline", json_integer(baseline));
    json_object_set_new(j, "meanUtilisation", json_real(r->mean_util));
    json_object_set_new(j, "monthlyCost", json_string(fbi_nano_str(r->monthly_nano, b)));
    json_object_set_new(j, "profileCost", json_string(fbi_nano_str(r->cost_nano, b)));
    json_object_set_new(j, "costVsStaticPeak",
                        json_real(static_nano > 0 ? 100.0 * (double)r->monthly_nano / (double)static_nano : 0));
    json_object_set_new(j, "p99Ms", isfinite(r->p99_ms) ? json_real(r->p99_ms) : json_null());
    json_object_set_new(j, "sloMet", json_boolean(r->slo_met));
    json_object_set_new(j, "availability", json_real(r->availability));
    json_object_set_new(j, "offered", json_real(r->offered));
    json_object_set_new(j, "servedContainers", json_real(r->served_containers));
    json_object_set_new(j, "servedFunctions", json_real(r->served_functions));
    json_object_set_new(j, "functionShare",
                        json_real(r->offered > 0 ? r->served_functions / r->offered : 0));
    json_object_set_new(j, "overSlo", json_real(r->over_slo));
    json_object_set_new(j, "coldStarts", json_real(r->cold_starts));
    json_object_set_new(j, "containersMin", json_real(r->min_containers));
    json_object_set_new(j, "containersMax", json_real(r->max_containers));
    json_object_set_new(j, "functionsMax", json_integer(r->max_functions));
    json_object_set_new(j, "replicaSeconds", json_real(r->replica_seconds));
    json_object_set_new(j, "warmSeconds", json_real(r->warm_seconds));
    json_object_set_new(j, "scaleOutMeanS", json_real(r->scaleout_mean_s));
    json_object_set_new(j, "scaleOutMaxS", json_real(r->scaleout_max_s));
    json_object_set_new(j, "rises", json_integer(r->rises));
    if (r->forecast) {
        json_object_set_new(j, "forecast", json_string(r->forecast));
        json_object_set_new(j, "backtestErrorPct",
                            r->backtest_mape >= 0 ? json_real(r->backtest_mape) : json_null());
    }
    return j;
}

int fbc_cmd_simulate(int argc, char **argv)
{
    const char *format = NULL, *profile = NULL, *baseline_s = NULL, *workload = NULL,
               *catalog = NULL, *fconc_s = NULL, *flimit_s = NULL, *util_s = NULL,
               *gateway = NULL, *function_url = NULL, *function_ca = NULL, *listen = NULL;
    const char **strategies = NULL, **endpoints = NULL;
    int steps = 0, no_steps = 0;
    fbc_spec_opts so = {0};
    fbc_opt opts[] = {
        {"profile", "FILE", "replay this CSV (timestamp,requests_per_second) instead of the spec's profile", &profile, NULL, NULL},
        {"strategy", "S", "static-peak, reactive, functions-only, hybrid or hybrid-predictive (repeatable; default all five)", NULL, NULL, &strategies},
        {"baseline", "N", "container baseline of the hybrid strategies (default: optimised)", &baseline_s, NULL, NULL},
        {"format", "FMT", "table (default), json or csv", &format, NULL, NULL},
        {"steps", NULL, "print every step (the default for profiles of at most 48 steps)", NULL, &steps, NULL},
        {"no-steps", NULL, "print the summary only", NULL, &no_steps, NULL},
        {"workload", "NAME", "the workload to simulate (default: the only Container)", &workload, NULL, NULL},
        {"catalog", "DIR", "price catalog directory (default: FEDBROKER_CATALOG or built in)", &catalog, NULL, NULL},
        {"function-concurrency", "N", "concurrent requests one function instance serves (default 1, as Lambda)", &fconc_s, NULL, NULL},
        {"function-limit", "N", "function concurrency limit in instances (default 1000, Lambda's default quota)", &flimit_s, NULL, NULL},
        {"target-utilisation", "PCT", "the autoscaler's target utilisation in % (default 70)", &util_s, NULL, NULL},
        {"gateway-config", "KIND", "print the overflow gateway's configuration instead (nginx)", &gateway, NULL, NULL},
        {"container-endpoint", "HOST:PORT", "with --gateway-config: a container replica (repeatable)", NULL, NULL, &endpoints},
        {"function-url", "URL", "with --gateway-config: the function's URL, http(s)://HOST[:PORT]/", &function_url, NULL, NULL},
        {"function-ca", "FILE", "with --gateway-config and an https function: the CA file to verify it (default: the system's)", &function_ca, NULL, NULL},
        {"listen", "ADDR:PORT", "with --gateway-config: where the gateway listens (default 127.0.0.1:8080)", &listen, NULL, NULL},
        FBC_SPEC_OPTS(so),
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, opts,
                   "fedbroker simulate SPEC [--profile FILE] [--strategy S]... [--baseline N] "
                   "[--format table|json|csv] [--steps]",
                   "Replays a Container's traffic profile step by step through five strategies:\n"
                   "static-peak (replicas for the peak all the time), reactive (containers with an\n"
                   "HPA-like autoscaler: target utilisation, 15 s sync, 300 s scale-down\n"
                   "stabilisation, the offer's start time), functions-only (cold starts, a\n"
                   "concurrency limit), hybrid (containers from a baseline up to maxInstances,\n"
                   "the overflow spilled to functions) and hybrid-predictive (containers and warm\n"
                   "functions scheduled from a forecast). Offers and prices come from the planner\n"
                   "and the catalog (drivers must be loadable); start times from the catalog's\n"
                   "startup.csv. Prints per step the load as % of the first step's, replicas,\n"
                   "function instances, utilisation, requests each served, cold starts and\n"
                   "requests over the SLO; then per strategy mean utilisation, monthly cost (and\n"
                   "against static peak = 100), p99 latency, availability and scale-out time.\n"
                   "The hybrid baseline is optimised (cheapest with the p99 SLO met) unless\n"
                   "--baseline N. The model: docs/simulation.md. Exit 0; 2 for invalid input;\n"
                   "3 when no offer is left for the container or the function part.",
                   &pos, &npos, &rc))
        return rc;
    int ret = FB_EXIT_INVALID;
    fb_spec_set *set = NULL;
    fbi_profile prof;
    memset(&prof, 0, sizeof prof);
    fbi_hybrid_prices pr;
    memset(&pr, 0, sizeof pr);
    fbi_broker b;
    int broker_open = 0;
    json_t *doc = NULL;
    fbc_format fmt;
    int want[FBI_SIM_NSTRATEGIES] = {0}, nwant = 0;
    long baseline = -1, fconc = 1, flimit = 1000, util = 70;
    if (npos != 1) {
        fprintf(stderr, "fedbroker simulate: give one SPEC file\n");
        ret = FB_EXIT_USAGE;
        goto out;
    }
    if (fbc_format_parse(format, (1u << FBC_FMT_TABLE) | (1u << FBC_FMT_JSON) | (1u << FBC_FMT_CSV),
                         &fmt) != 0) {
        ret = FB_EXIT_USAGE;
        goto out;
    }
    for (size_t i = 0; strategies && strategies[i]; i++) {
        int s = fbi_sim_strategy_parse(strategies[i]);
        if (s < 0) {
            fprintf(stderr, "fedbroker simulate: unknown --strategy '%s' (static-peak, reactive, "
                            "functions-only, hybrid, hybrid-predictive)\n", strategies[i]);
            ret = FB_EXIT_USAGE;
            goto out;
        }
        if (!want[s]) nwant++;
        want[s] = 1;
    }
    if (!nwant)
        for (int s = 0; s < FBI_SIM_NSTRATEGIES; s++) want[s] = 1;
    if ((baseline_s && parse_int("baseline", baseline_s, 0, 10000, &baseline)) ||
        (fconc_s && parse_int("function-concurrency", fconc_s, 1, 1000, &fconc)) ||
        (flimit_s && parse_int("function-limit", flimit_s, 1, 1000000, &flimit)) ||
        (util_s && parse_int("target-utilisation", util_s, 1, 100, &util)))
        goto out;
    if ((rc = fbc_load_specs("simulate", pos, 1, &so, &set)) != FB_EXIT_OK) {
        ret = rc;
        goto out;
    }
    long wi = pick_workload(set, workload);
    if (wi < 0) goto out;
    const json_t *norm = fbi_spec_doc(set, (size_t)wi);
    const json_t *sp = json_object_get(norm, "spec");
    const json_t *sc = json_object_get(sp, "scaling");
    if (!json_object_get(sc, "targetConcurrency")) {
        fprintf(stderr, "fedbroker simulate: the workload has no scaling.targetConcurrency: with "
                        "traffic.meanDuration it gives one replica's capacity\n");
        goto out;
    }
    if (gateway) {
        ret = fbc_gateway_render(gateway, norm, endpoints, function_url, function_ca, listen);
        goto out;
    }
    if ((rc = load_profile(profile, norm, &prof)) != FB_EXIT_OK) {
        ret = rc;
        goto out;
    }
    if ((rc = fbc_open_broker(&b)) != FB_EXIT_OK) {
        ret = rc;
        goto out;
    }
    broker_open = 1;
    fbi_plan_opts po;
    memset(&po, 0, sizeof po);
    po.catalog_dir = catalog;
    fb_diag *d = fb_diag_new();
    fb_status st = fbi_hybrid_price(&b, norm, &po, (int)fconc, &pr, d);
    fb_diag_print(d, stderr);
    fb_diag_free(d);
    if (st != FB_OK) {
        ret = st == FB_QUOTA ? FB_EXIT_INFEASIBLE : FB_EXIT_INVALID;
        goto out;
    }
    fbi_sim_params p;
    fbi_hybrid_params(norm, &pr, (int)fconc, (int)flimit, (double)util / 100.0, &p);
    if (baseline > p.max_replicas) {
        fprintf(stderr, "fedbroker simulate: --baseline %ld is above scaling.maxInstances %d\n",
                baseline, p.max_replicas);
        goto out;
    }
    out_ctx oc = {fmt, steps || (!no_steps && prof.n <= STEPS_SHOWN_BY_DEFAULT), NULL, 0,
                  prof.start, prof.absolute, NULL, -1, 0, 0};
    if (no_steps) oc.steps = 0;
    double peak = 0;
    for (size_t i = 0; i < prof.n; i++) peak = fmax(peak, prof.rps[i]);
    char b1[40], b2[40];
    if (fmt == FBC_FMT_TABLE) {
        char start[64] = "offset 0";
        if (prof.absolute) fbi_profile_format_time(prof.start, start);
        printf("Profile: %zu steps of %lld s from %s; first step %.1f rps, peak %.1f rps (%.0f%%)\n",
               prof.n, (long long)prof.step_s, start, prof.rps[0], peak,
               prof.rps[0] > 0 ? 100 * peak / prof.rps[0] : 0);
        usd(pr.container.month_nano, b1);
        usd(pr.function.month_nano, b2);
        printf("Containers: %s:%s:%s, %s USD per replica-month; start %.0f s (%s, %s, %s)\n",
               pr.container.provider, pr.container.service, pr.container.region, b1, p.start_s,
               pr.container.start_source ? pr.container.start_source : "no startup.csv row",
               pr.container.start_as_of ? pr.container.start_as_of : "-",
               pr.container.start_confidence ? pr.container.start_confidence : "-");
        printf("Functions:  %s:%s:%s, %s USD per %lld requests; cold start %.0f ms (%s, %s, %s)",
               pr.function.provider, pr.function.service, pr.function.region, b2,
               (long long)FBI_HYBRID_REF_REQUESTS, p.cold_ms,
               pr.function.start_source ? pr.function.start_source : "no startup.csv row",
               pr.function.start_as_of ? pr.function.start_as_of : "-",
               pr.function.start_confidence ? pr.function.start_confidence : "-");
        if (pr.warm_month_nano > 0) {
            usd(pr.warm_month_nano, b1);
            printf("; warm instance %s USD a month\n", b1);
        } else {
            printf("; warm instances not priced by this offer\n");
        }
        printf("Function instance: %lld MiB, %lldm cpu (a replica's resources x function "
               "concurrency / targetConcurrency)\n", (long long)pr.fn_memory_mib,
               (long long)pr.fn_cpu_millis);
        printf("Model: meanDuration %.0f ms, targetConcurrency %d (%.1f rps a replica at 100%%), "
               "target utilisation %ld%%, replicas %d..%d, function concurrency %d, limit %d, "
               "p99 SLO %s\n",
               p.duration_s * 1000, p.conc, p.conc / p.duration_s, util, p.min_replicas,
               p.max_replicas, p.fconc, p.flimit,
               p.slo_p99_ms > 0 ? (snprintf(b1, sizeof b1, "%.0f ms", p.slo_p99_ms), b1) : "none");
    }
    doc = json_object();
    json_t *jres = json_array();
    fbi_sim_result res[FBI_SIM_NSTRATEGIES];
    int bl[FBI_SIM_NSTRATEGIES];
    memset(res, 0, sizeof res);
    int64_t static_nano = 0;
    /* FEDBROKER_SIM_STATS (bench/README-sim.md): wall and CPU time */
    double sim_ms = 0, opt_ms = 0, sim_cpu = 0, opt_cpu = 0;
    int opt_evals = 0;
    /* static peak first: the others are normalised to it */
    {
        fbi_sim_params q = p;
        fbi_sim_result r;
        char *err = NULL;
        if (fbi_sim_run(&prof, &q, FBI_SIM_STATIC_PEAK, NULL, NULL, &r, &err) != 0) {
            fprintf(stderr, "fedbroker %s\n", err);
            free(err);
            goto out;
        }
        static_nano = r.monthly_nano;
    }
    for (int s = 0; s < FBI_SIM_NSTRATEGIES; s++) {
        if (!want[s]) continue;
        fbi_sim_params q = p;
        char *err = NULL;
        bl[s] = -1;
        const char *how = "";
        if (s == FBI_SIM_HYBRID || s == FBI_SIM_HYBRID_PREDICTIVE) {
            if (baseline >= 0) {
                q.baseline = (int)baseline;
                how = "given";
            } else {
                int bb = 0, met = 0, ev = 0;
                double t0 = now_ms(), c0 = fbi_cpu_ms();
                int orc = fbi_sim_optimise(&prof, &q, (fbi_sim_strategy)s, &bb, &met, &ev, &err);
                opt_ms += now_ms() - t0;
                opt_cpu += fbi_cpu_ms() - c0;
                opt_evals += ev;
                if (orc != 0) {
                    fprintf(stderr, "fedbroker %s\n", err);
                    free(err);
                    goto out;
                }
                q.baseline = bb;
                how = met ? "optimised" : "optimised; no baseline meets the SLO";
            }
            bl[s] = q.baseline;
        }
        if (oc.steps && fmt == FBC_FMT_TABLE) {
            printf("\n%s", fbi_sim_strategy_name((fbi_sim_strategy)s));
            if (bl[s] >= 0) printf(" (baseline %d replicas, %s)", bl[s], how);
            printf("\n%8s %7s %10s %9s %6s %6s %12s %12s %8s %9s %8s\n", "T(S)", "LOAD", "CONTAINERS",
                   "FUNCTIONS", "WARM", "UTIL", "REQ CONT", "REQ FUNC", "COLD", "OVER SLO", "MEAN MS");
        }
        if (fmt == FBC_FMT_JSON && oc.steps) oc.jsteps = json_array();
        if (fmt == FBC_FMT_JSON && s == FBI_SIM_HYBRID_PREDICTIVE) oc.sched = json_array();
        double t0 = now_ms(), c0 = fbi_cpu_ms();
        int src = fbi_sim_run(&prof, &q, (fbi_sim_strategy)s, on_step, &oc, &res[s], &err);
        sim_ms += now_ms() - t0;
        sim_cpu += fbi_cpu_ms() - c0;
        if (src != 0) {
            fprintf(stderr, "fedbroker %s\n", err);
            free(err);
            json_decref(oc.jsteps);
            json_decref(oc.sched);
            goto out;
        }
        json_t *rj = result_json(&res[s], bl[s], static_nano);
        if (bl[s] >= 0) json_object_set_new(rj, "baselineChosen", json_string(how));
        if (oc.jsteps) json_object_set_new(rj, "steps", oc.jsteps);
        oc.jsteps = NULL;
        if (oc.sched) {
            sched_flush(&oc);
            json_object_set_new(rj, "schedule", oc.sched);
            oc.sched = NULL;
        }
        json_array_append_new(jres, rj);
    }
    /* what plan schedules for a dated history: the season after it
     * (docs/simulation.md, "Forecasting the next season") */
    fbi_profile next;
    fbi_forecast nfi;
    json_t *nextj = NULL;
    if (want[FBI_SIM_HYBRID_PREDICTIVE] && fbi_forecast_next(&prof, &next, &nfi)) {
        char ts[64];
        fbi_profile_format_time(next.start, ts);
        double npeak = 0, sum = 0;
        for (size_t i = 0; i < next.n; i++) {
            if (next.rps[i] > npeak) npeak = next.rps[i];
            sum += next.rps[i];
        }
        nextj = json_pack("{s:s,s:I,s:s,s:f,s:f,s:f,s:f}", "start", ts, "periodSeconds",
                          (json_int_t)((int64_t)next.n * next.step_s), "forecast", nfi.method,
                          "backtestErrorPct", nfi.backtest_mape, "otherMethodErrorPct", nfi.other_mape,
                          "peakRps", npeak, "meanRps", next.n ? sum / (double)next.n : 0.0);
        fbi_profile_free(&next);
    }
    if (fmt == FBC_FMT_TABLE) {
        printf("\n%-18s %8s %6s %12s %9s %9s %8s %8s %11s %11s %8s %10s\n", "STRATEGY", "BASELINE",
               "UTIL", "USD/MONTH", "VS STATIC", "P99 MS", "AVAIL", "FN SHARE", "CONTAINERS",
               "FUNCTIONS", "COLD", "SCALE-OUT");
        for (int s = 0; s < FBI_SIM_NSTRATEGIES; s++) {
            if (!want[s]) continue;
            const fbi_sim_result *r = &res[s];
            char bls[16] = "-", p99[24], cont[24];
            if (bl[s] >= 0) snprintf(bls, sizeof bls, "%d", bl[s]);
            if (isfinite(r->p99_ms)) snprintf(p99, sizeof p99, "%.0f%s", r->p99_ms, r->slo_met ? "" : "!");
            else snprintf(p99, sizeof p99, "timeout!");
            snprintf(cont, sizeof cont, "%.0f->%.0f", r->min_containers, r->max_containers);
            usd(r->monthly_nano, b1);
            printf("%-18s %8s %5.0f%% %12s %9.0f %9s %7.3f%% %7.1f%% %11s %11d %8.0f %9.0fs\n",
                   fbi_sim_strategy_name(r->strategy), bls, 100 * r->mean_util, b1,
                   static_nano > 0 ? 100.0 * (double)r->monthly_nano / (double)static_nano : 0, p99,
                   100 * r->availability, r->offered > 0 ? 100 * r->served_functions / r->offered : 0,
                   cont, r->max_functions, r->cold_starts, r->scaleout_max_s);
            if (r->forecast)
                printf("%-18s forecast: %s%s", "", r->forecast,
                       r->backtest_mape >= 0 ? "" : " (no backtest: the profile is taken as known ahead)\n");
            if (r->forecast && r->backtest_mape >= 0) printf(", backtest error %.1f%%\n", r->backtest_mape);
        }
        if (nextj)
            printf("\nnext season (what plan schedules for this dated history): from %s for %lld h, "
                   "forecast %s (backtest error %.1f%%, the other method %.1f%%), peak %.1f rps, mean "
                   "%.1f rps\n", json_string_value(json_object_get(nextj, "start")),
                   (long long)json_integer_value(json_object_get(nextj, "periodSeconds")) / 3600,
                   json_string_value(json_object_get(nextj, "forecast")),
                   json_real_value(json_object_get(nextj, "backtestErrorPct")),
                   json_real_value(json_object_get(nextj, "otherMethodErrorPct")),
                   json_real_value(json_object_get(nextj, "peakRps")),
                   json_real_value(json_object_get(nextj, "meanRps")));
        printf("\nUSD/MONTH: the profile's cost scaled to 730 hours; VS STATIC: static peak = 100; "
               "'!' marks a p99 over the SLO.\n");
    } else if (fmt == FBC_FMT_JSON) {
        json_t *pj = fbi_profile_to_json(&prof, 0);
        json_object_set_new(doc, "profile", pj);
        json_t *oj = json_object();
        json_object_set_new(oj, "containers", offer_json(&pr.container, "replicaMonth"));
        json_object_set_new(oj, "functions", offer_json(&pr.function, "perReferenceRequests"));
        json_object_set_new(json_object_get(oj, "functions"), "referenceRequests",
                            json_integer(FBI_HYBRID_REF_REQUESTS));
        json_object_set_new(oj, "warmInstanceMonth",
                            pr.warm_month_nano > 0 ? json_string(fbi_nano_str(pr.warm_month_nano, b1))
                                                   : json_null());
        json_object_set_new(doc, "offers", oj);
        json_object_set_new(doc, "model", json_pack(
            "{sfsisfsIsIsfsfsisisIsisisf}", "meanDurationMs", p.duration_s * 1000, "targetConcurrency",
            p.conc, "targetUtilisation", p.target_util, "syncSeconds", (json_int_t)p.sync_s,
            "stabilisationSeconds", (json_int_t)p.stabilise_s, "containerStartSeconds", p.start_s,
            "coldStartMs", p.cold_ms, "functionConcurrency", p.fconc, "functionLimit", p.flimit,
            "keepAliveSeconds", (json_int_t)p.keepalive_s, "minInstances", p.min_replicas,
            "maxInstances", p.max_replicas, "sloP99Ms", p.slo_p99_ms));
        if (nextj) json_object_set(doc, "nextSeason", nextj);
        json_object_set_new(doc, "strategies", jres);
        jres = NULL;
        fbc_print_json(doc);
    } else if (!oc.steps) {
        printf("strategy,baseline,mean_utilisation,monthly_cost,vs_static_peak,p99_ms,availability,"
               "function_share,containers_min,containers_max,functions_max,cold_starts,"
               "scale_out_max_s\n");
        for (int s = 0; s < FBI_SIM_NSTRATEGIES; s++) {
            if (!want[s]) continue;
            const fbi_sim_result *r = &res[s];
            printf("%s,%d,%.4f,%s,%.1f,%.1f,%.6f,%.4f,%.1f,%.1f,%d,%.0f,%.0f\n",
                   fbi_sim_strategy_name(r->strategy), bl[s], r->mean_util,
                   fbi_nano_str(r->monthly_nano, b1),
                   static_nano > 0 ? 100.0 * (double)r->monthly_nano / (double)static_nano : 0,
                   isfinite(r->p99_ms) ? r->p99_ms : -1.0, r->availability,
                   r->offered > 0 ? r->served_functions / r->offered : 0, r->min_containers,
                   r->max_containers, r->max_functions, r->cold_starts, r->scaleout_max_s);
        }
    }
    json_decref(jres);
    json_decref(nextj);
    const char *stats = getenv("FEDBROKER_SIM_STATS");
    if (stats && *stats && strcmp(stats, "0") != 0)
        fprintf(stderr, "simulate stats: %zu steps; strategies %.1f ms (%.1f ms CPU); optimiser "
                "%.1f ms (%.1f ms CPU, %d runs)\n", prof.n, sim_ms, sim_cpu, opt_ms, opt_cpu,
                opt_evals);
    ret = FB_EXIT_OK;
out:
    json_decref(doc);
    fbi_hybrid_prices_free(&pr);
    fbi_profile_free(&prof);
    if (broker_open) fbi_broker_close(&b);
    fb_spec_set_free(set);
    fbc_spec_opts_free(&so);
    free(strategies);
    free(endpoints);
    free(pos);
    return ret;
}
