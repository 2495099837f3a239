/*
 * hybrid.c - offers and unit prices of a hybrid workload, through the plan
 * itself (see hybrid.h): what the drivers' usage verbs and the catalog say,
 * never a price of our own.
 */
#include "config.h"
#include "plan/hybrid.h"
#include "catalog/catalog.h"
#include "base/decimal.h"
#include "base/util.h"
#include "spec/profile.h"
#include "spec/spec.h"
#include "sim/forecast.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NAME_BASE "hybrid-baseline"
#define NAME_BURST "hybrid-overflow"
#define NAME_WARM "hybrid-warm"

void fbi_hybrid_prices_free(fbi_hybrid_prices *p)
{
    fbi_hybrid_offer *o[2] = {&p->container, &p->function};
    for (int k = 0; k < 2; k++) {
        free(o[k]->provider);
        free(o[k]->service);
        free(o[k]->region);
        free(o[k]->start_sku);
        free(o[k]->start_source);
        free(o[k]->start_as_of);
        free(o[k]->start_confidence);
    }
    free(p->warm_offer);
    memset(p, 0, sizeof *p);
}

/* The placement constraints the parts keep: where they may run and the
 * latency SLO. Budget, spread and affinity belong to the whole workload. */
static json_t *derived_placement(const json_t *pl)
{
    json_t *o = json_object();
    static const char *const keep[] = {"providers", "denyProviders", "regions", "denyRegions",
                                       "services", "residency"};
    for (size_t k = 0; k < sizeof keep / sizeof *keep; k++) {
        json_t *v = json_object_get(pl, keep[k]);
        if (v) json_object_set(o, keep[k], v);
    }
    json_t *slo = json_object_get(pl, "latencySLO");
    if (slo) {
        json_t *s = json_object();
        static const char *const pct[] = {"p50", "p90", "p95", "p99"};
        for (int k = 0; k < 4; k++) {
            char key[8];
            snprintf(key, sizeof key, "%sMs", pct[k]);
            json_t *v = json_object_get(slo, key);
            if (v) {
                char d[32];
                snprintf(d, sizeof d, "%lldms", (long long)json_integer_value(v));
                json_object_set_new(s, pct[k], json_string(d));
            }
        }
        json_object_set_new(o, "latencySLO", s);
    }
    return o;
}

/* One derived document: the workload's image, resources, sources and
 * placement as kind, with traffic requests a month and scaling. */
static json_t *derived(const json_t *norm, const char *kind, const char *name,
                       json_int_t requests, json_t *scaling /* steals */, int64_t cpu_m,
                       int64_t mem_mib)
{
    const json_t *sp = json_object_get(norm, "spec");
    const json_t *res = json_object_get(sp, "resources"), *tr = json_object_get(sp, "traffic");
    json_t *r = json_object();
    char buf[32];
    snprintf(buf, sizeof buf, "%lldm", (long long)cpu_m);
    json_object_set_new(r, "cpu", json_string(buf));
    snprintf(buf, sizeof buf, "%lldMi", (long long)mem_mib);
    json_object_set_new(r, "memory", json_string(buf));
    json_t *arch = json_object_get(res, "arch");
    if (arch) json_object_set(r, "arch", arch);
    json_t *t = json_object();
    json_object_set_new(t, "requestsPerMonth", json_integer(requests));
    snprintf(buf, sizeof buf, "%lldms", (long long)json_integer_value(json_object_get(tr, "meanDurationMs")));
    json_object_set_new(t, "meanDuration", json_string(buf));
    json_t *src = json_object_get(tr, "sources");
    if (json_array_size(src)) json_object_set(t, "sources", src);
    json_t *s = json_object();
    json_object_set(s, "image", json_object_get(sp, "image"));
    if (!strcmp(kind, "Container")) {
        json_t *ports = json_object_get(sp, "ports");
        if (json_array_size(ports)) json_object_set(s, "ports", ports);
    }
    json_object_set_new(s, "resources", r);
    json_object_set_new(s, "scaling", scaling);
    json_object_set_new(s, "traffic", t);
    json_object_set_new(s, "placement", derived_placement(json_object_get(sp, "placement")));
    const char *tenant = json_string_value(json_object_get(json_object_get(norm, "metadata"), "tenant"));
    return json_pack("{sssss{ssss}so}", "apiVersion", "fedbroker.dev/v1", "kind", kind,
                     "metadata", "name", name, "tenant", tenant ? tenant : "default", "spec", s);
}

static const json_t *plan_workload(const json_t *plan, const char *name)
{
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(plan, "workloads"), i, w) {
        const char *n = json_string_value(json_object_get(w, "name"));
        if (n && !strcmp(n, name)) return w;
    }
    return NULL;
}

/* The chosen offer and contracted cost of one part; -1 when it has none. */
static int read_part(const json_t *plan, const char *name, fbi_hybrid_offer *o, fb_diag *diag)
{
    const json_t *w = plan_workload(plan, name);
    const json_t *pl = json_object_get(w, "placement");
    const char *cost = json_string_value(json_object_get(w, "contracted_cost"));
    char *err = NULL;
    if (!pl || !cost || fbi_dec_parse(cost, 9, 0, &o->month_nano, &err) != 0) {
        char *s = fbi_xasprintf("no offer is left for the %s part of the hybrid workload", name);
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, "/spec/placement", s,
                    err ? err : "The plan's reasons are above; loosen the placement constraints.");
        free(s);
        free(err);
        return -1;
    }
    o->provider = fbi_xstrdup(json_string_value(json_object_get(pl, "provider")));
    o->service = fbi_xstrdup(json_string_value(json_object_get(pl, "service")));
    o->region = fbi_xstrdup(json_string_value(json_object_get(pl, "region")));
    return 0;
}

static void startup(const fbi_catalog *cat, fbi_hybrid_offer *o, const char *metric)
{
    const fbi_startup_row *r = fbi_catalog_startup(cat, o->provider, o->service, metric);
    if (!r) return;
    o->start_ms = r->value_ms;
    o->start_sku = fbi_xasprintf("%s/%s/%s", r->provider, r->service, r->metric);
    o->start_source = fbi_xstrdup(r->source);
    o->start_as_of = fbi_xstrdup(r->as_of);
    o->start_confidence = fbi_xstrdup(r->confidence);
}

/* Restricts derived document doc to one offer, label "provider:service:
 * region" (NULL: unchanged): the pair the solver chose, simulated again. */
static void pin(json_t *doc, const char *label)
{
    if (!label) return;
    const char *c1 = strchr(label, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2) return;
    char *prov = fbi_xstrndup(label, (size_t)(c1 - label));
    char *svc = fbi_xstrndup(c1 + 1, (size_t)(c2 - c1 - 1));
    char *reg = fbi_xasprintf("%s:%s", prov, c2 + 1);
    json_t *pl = json_object_get(json_object_get(doc, "spec"), "placement");
    json_object_set_new(pl, "providers", json_pack("[s]", prov));
    json_object_set_new(pl, "services", json_pack("[s]", svc));
    json_object_set_new(pl, "regions", json_pack("[s]", reg));
    json_object_del(pl, "denyProviders");
    json_object_del(pl, "denyRegions");
    free(prov);
    free(svc);
    free(reg);
}

static fb_status price_at(fbi_broker *b, const json_t *norm, const fbi_plan_opts *opts, int fconc,
                          const char *pin_c, const char *pin_f, fbi_hybrid_prices *out, fb_diag *diag);

fb_status fbi_hybrid_price(fbi_broker *b, const json_t *norm, const fbi_plan_opts *opts,
                           int fconc, fbi_hybrid_prices *out, fb_diag *diag)
{
    return price_at(b, norm, opts, fconc, NULL, NULL, out, diag);
}

static fb_status price_at(fbi_broker *b, const json_t *norm, const fbi_plan_opts *opts, int fconc,
                          const char *pin_c, const char *pin_f, fbi_hybrid_prices *out, fb_diag *diag)
{
    memset(out, 0, sizeof *out);
    const json_t *sp = json_object_get(norm, "spec");
    const json_t *res = json_object_get(sp, "resources");
    int64_t cpu = json_integer_value(json_object_get(res, "cpuMillis"));
    int64_t mem = json_integer_value(json_object_get(res, "memoryMiB"));
    int64_t conc = json_integer_value(json_object_get(json_object_get(sp, "scaling"),
                                                      "targetConcurrency"));
    if (conc < 1) conc = 1;
    if (fconc < 1) fconc = 1;
    /* a function instance does fconc / conc of a replica's work */
    int64_t fcpu = (cpu * fconc + conc - 1) / conc, fmem = (mem * fconc + conc - 1) / conc;
    if (fcpu < 50) fcpu = 50;
    if (fcpu > cpu) fcpu = cpu;
    if (fmem < 128) fmem = 128;
    out->fn_cpu_millis = fcpu;
    out->fn_memory_mib = fmem;
    json_t *docs = json_array();
    json_array_append_new(docs, derived(norm, "Container", NAME_BASE, 0,
                                        json_pack("{sisi}", "minInstances", 1, "maxInstances", 1),
                                        cpu, mem));
    json_array_append_new(docs, derived(norm, "Function", NAME_BURST, FBI_HYBRID_REF_REQUESTS,
                                        json_pack("{si}", "minInstances", 0), fcpu, fmem));
    /* one instance kept warm and idle all month: what pre-warming costs */
    json_array_append_new(docs, derived(norm, "Function", NAME_WARM, 0,
                                        json_pack("{si}", "minInstances", 1), fcpu, fmem));
    pin(json_array_get(docs, 0), pin_c);
    pin(json_array_get(docs, 1), pin_f);
    pin(json_array_get(docs, 2), pin_f);
    char *text = json_dumps(docs, JSON_COMPACT);
    json_decref(docs);
    fb_spec_set *set = NULL;
    fb_spec_set_new(&set);
    fb_status st = fb_spec_set_add_buffer(set, "(hybrid parts)", text, strlen(text), NULL, diag);
    free(text);
    if (st == FB_OK) st = fb_spec_set_finish(set, diag);
    if (st != FB_OK) {
        fb_spec_set_free(set);
        return FB_INVALID;
    }
    fbi_plan_opts po = *opts;
    po.baselines = 0;
    po.no_quotas = 1; /* the three parts price offers; the plan itself counts quotas */
    po.splits = NULL;
    po.nsplits = 0;
    po.export_lp = NULL;
    po.json_out = NULL; /* a pricing plan writes no document */
    po.stats = NULL;
    json_t *plan = NULL;
    fb_diag *pd = fb_diag_new();
    st = fbi_plan_run(b, set, &po, &plan, NULL, pd);
    fb_spec_set_free(set);
    /* the warm part may well be infeasible (an offer without minimum
     * instances): only the other two must be placed */
    int bad = read_part(plan, NAME_BASE, &out->container, diag) != 0;
    bad |= read_part(plan, NAME_BURST, &out->function, diag) != 0;
    if (bad) {
        fb_diag_move(diag, pd);
        fb_diag_free(pd);
        json_decref(plan);
        fbi_hybrid_prices_free(out);
        return st == FB_INVALID ? FB_INVALID : FB_QUOTA;
    }
    fb_diag_free(pd);
    fbi_hybrid_offer warm;
    memset(&warm, 0, sizeof warm);
    fb_diag *wd = fb_diag_new();
    if (read_part(plan, NAME_WARM, &warm, wd) == 0 && !strcmp(warm.provider, out->function.provider) &&
        !strcmp(warm.service, out->function.service) && !strcmp(warm.region, out->function.region) &&
        warm.month_nano > 0) {
        out->warm_month_nano = warm.month_nano;
        out->warm_offer = fbi_xasprintf("%s:%s:%s", warm.provider, warm.service, warm.region);
    }
    fb_diag_free(wd);
    fbi_hybrid_prices_free(&(fbi_hybrid_prices){.container = warm});
    json_decref(plan);
    fbi_catalog *cat = NULL;
    fb_diag *cd = fb_diag_new();
    if (fbi_catalog_open(opts->catalog_dir, opts->overrides, &cat, cd) == FB_OK) {
        startup(cat, &out->container, "container_start");
        startup(cat, &out->function, "cold_start");
        fbi_catalog_free(cat);
    }
    fb_diag_free(cd);
    return FB_OK;
}

void fbi_hybrid_params(const json_t *norm, const fbi_hybrid_prices *pr, int fconc, int flimit,
                       double util, fbi_sim_params *p)
{
    const json_t *sp = json_object_get(norm, "spec");
    const json_t *sc = json_object_get(sp, "scaling"), *tr = json_object_get(sp, "traffic");
    fbi_sim_params_default(p);
    p->duration_s = (double)json_integer_value(json_object_get(tr, "meanDurationMs")) / 1000.0;
    p->conc = (int)json_integer_value(json_object_get(sc, "targetConcurrency"));
    p->min_replicas = (int)json_integer_value(json_object_get(sc, "minInstances"));
    p->max_replicas = (int)json_integer_value(json_object_get(sc, "maxInstances"));
    p->target_util = util;
    p->fconc = fconc;
    p->flimit = flimit;
    p->slo_p99_ms = (double)json_integer_value(
        json_object_get(json_object_get(json_object_get(sp, "placement"), "latencySLO"), "p99Ms"));
    p->start_s = (double)pr->container.start_ms / 1000.0;
    p->cold_ms = (double)pr->function.start_ms;
    p->replica_month_nano = pr->container.month_nano;
    p->fn_ref_nano = pr->function.month_nano;
    p->fn_ref_requests = FBI_HYBRID_REF_REQUESTS;
    p->fn_warm_month_nano = pr->warm_month_nano;
}

static char *offer_text(const fbi_hybrid_offer *o)
{
    return fbi_xasprintf("%s:%s:%s", o->provider, o->service, o->region);
}

void fbi_hybrid_split_free(fbi_hybrid_split *h)
{
    fb_spec_set_free(h->docs);
    free(h->tenant);
    free(h->name);
    free(h->function_name);
    json_decref(h->info);
    json_decref(h->deploy_container);
    json_decref(h->deploy_function);
    memset(h, 0, sizeof *h);
}

/* The parts' documents in normal form (through the spec's own parser, as
 * the nested plan of fbi_hybrid_price): the container part as that plan
 * priced it (one replica, no requests) with the workload's internet egress
 * (every response leaves through the gateway beside the containers) and
 * labels; the function part at fn_requests a month. 0, or -1 (diag). */
static int split_docs(const json_t *norm, const fbi_hybrid_prices *pr, const char *fname,
                      json_int_t fn_requests, fbi_hybrid_split *h, fb_diag *diag)
{
    const json_t *sp = json_object_get(norm, "spec");
    const json_t *res = json_object_get(sp, "resources");
    const char *name = json_string_value(json_object_get(json_object_get(norm, "metadata"), "name"));
    json_t *labels = json_object_get(json_object_get(norm, "metadata"), "labels");
    json_t *c = derived(norm, "Container", name, 0, json_pack("{sisi}", "minInstances", 1, "maxInstances", 1),
                        json_integer_value(json_object_get(res, "cpuMillis")),
                        json_integer_value(json_object_get(res, "memoryMiB")));
    json_t *egress = json_object_get(json_object_get(sp, "traffic"), "egressBytesPerMonth");
    if (json_integer_value(egress) > 0)
        json_object_set(json_object_get(json_object_get(c, "spec"), "traffic"), "egressPerMonth", egress);
    json_t *f = derived(norm, "Function", fname, fn_requests, json_pack("{si}", "minInstances", 0),
                        pr->fn_cpu_millis, pr->fn_memory_mib);
    if (json_object_size(labels)) {
        json_object_set(json_object_get(c, "metadata"), "labels", labels);
        json_object_set(json_object_get(f, "metadata"), "labels", labels);
    }
    json_t *docs = json_pack("[oo]", c, f);
    char *text = json_dumps(docs, JSON_COMPACT);
    json_decref(docs);
    fb_spec_set_new(&h->docs);
    char *what = fbi_xasprintf("(the hybrid parts of %s)", name);
    fb_status st = fb_spec_set_add_buffer(h->docs, what, text, strlen(text), NULL, diag);
    free(what);
    free(text);
    if (st == FB_OK) st = fb_spec_set_finish(h->docs, diag);
    return st == FB_OK ? 0 : -1;
}

/* The parts as apply deploys them (see fbi_hybrid_split). */
static void deploy_docs(const json_t *norm, fbi_hybrid_split *h, int baseline)
{
    json_t *c = json_deep_copy(norm);
    json_t *csp = json_object_get(c, "spec");
    json_t *sc = json_object_get(csp, "scaling");
    json_object_set_new(sc, "minInstances", json_integer(baseline > 1 ? baseline : 1));
    json_t *deps = json_object_get(csp, "dependencies");
    if (!json_is_array(deps)) json_object_set_new(csp, "dependencies", deps = json_array());
    /* as the spec's normal form has it; the volume is the plan's link */
    json_array_append_new(deps, json_pack("{s:s,s:I}", "workload", h->function_name,
                                          "volumeBytesPerMonth", (json_int_t)h->s.link_bytes));
    json_t *f = json_deep_copy(h->s.function_doc);
    json_t *fsp = json_object_get(f, "spec");
    static const char *const keep[] = {"env", "secrets", "identity", "command", "args", "timeoutMs"};
    for (size_t k = 0; k < sizeof keep / sizeof *keep; k++) {
        json_t *v = json_object_get(json_object_get(norm, "spec"), keep[k]);
        if (v) json_object_set_new(fsp, keep[k], json_deep_copy(v));
    }
    /* the gateway reaches the function over HTTP: an http trigger, as
     * public as the workload's own ports (a private function URL needs
     * signed requests, which nginx does not make: docs/simulation.md) */
    int pub = 0;
    size_t i;
    json_t *port;
    json_array_foreach(json_object_get(json_object_get(norm, "spec"), "ports"), i, port)
        pub |= json_is_true(json_object_get(port, "public"));
    json_object_set_new(fsp, "triggers", json_pack("[{s:{s:s,s:b,s:[sssssss]}}]", "http", "path", "/",
                                                   "public", pub, "methods", "GET", "HEAD", "POST",
                                                   "PUT", "PATCH", "DELETE", "OPTIONS"));
    h->deploy_container = c;
    h->deploy_function = f;
}

/* The capacity schedule of the hybrid-predictive strategy, gathered from
 * the simulator's steps: per hour (or per step when steps are an hour),
 * the most replicas the forecast's schedule asked for and the most
 * function instances it kept warm. */
typedef struct sched_acc {
    int64_t step_s;
    json_t *rows;       /* [[offsetSeconds, replicas, warm]] */
    int64_t hour;       /* the group being gathered, -1: none */
    int hc, hw;
} sched_acc;

static void sched_flush(sched_acc *a)
{
    if (a->hour < 0) return;
    json_array_append_new(a->rows, json_pack("[I,i,i]", (json_int_t)(a->hour * 3600), a->hc, a->hw));
    a->hour = -1;
}

static void sched_step(void *ctx, fbi_sim_strategy s, const fbi_sim_step *st)
{
    sched_acc *a = ctx;
    if (s != FBI_SIM_HYBRID_PREDICTIVE) return;
    int64_t h = st->t / 3600;
    if (h != a->hour) {
        sched_flush(a);
        a->hour = h;
        a->hc = 0;
        a->hw = 0;
    }
    if (st->scheduled > a->hc) a->hc = st->scheduled;
    if (st->warm > a->hw) a->hw = st->warm;
}

/* One part's scaling.schedule (docs/simulation.md, "Capacity schedules"):
 * the combined rows' column col (1: replicas, 2: warm instances) with
 * consecutive equal values merged, none below floor; after: the floor
 * once a one-off schedule has run out. New. */
static json_t *part_schedule(const json_t *head, const json_t *rows, int col, json_int_t after,
                             json_int_t floor)
{
    json_t *o = json_deep_copy(head);
    json_t *steps = json_array();
    json_int_t last = -1;
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        json_int_t v = json_integer_value(json_array_get(r, (size_t)col));
        if (v < floor) v = floor; /* a step below the deployed floor asks for the floor */
        if (v == last) continue;
        json_array_append_new(steps, json_pack("{s:O,s:I}", "offsetSeconds", json_array_get(r, 0),
                                               "minInstances", v));
        last = v;
    }
    json_object_set_new(o, "steps", steps);
    if (!strcmp(json_string_value(json_object_get(o, "repeat")), "once"))
        json_object_set_new(o, "afterMinInstances", json_integer(after));
    return o;
}

/* The schedule of the hybrid-predictive strategy at parameters q over
 * prof: runs it once more with the step callback. A dated history of at
 * least two seasons is not scheduled over its own, past, dates: the next
 * season is forecast (fbi_forecast_next) and scheduled as a one-off from
 * the end of the history, the forecast taken as known ahead
 * (docs/simulation.md, "Forecasting the next season"). lead_s: how long
 * before each step the schedule acts (the container start time rounded up
 * to a minute, cron's resolution). *out new: {repeat, start?,
 * periodSeconds, leadSeconds, forecast, basis, backtestErrorPct?, rows:
 * [[offsetSeconds, replicas, warm]]}, or NULL with *why (static) when the
 * profile has no time to run at. */
static int predictive_schedule(const fbi_profile *prof, const fbi_sim_params *q, json_t **out,
                               const char **why, char **err)
{
    *out = NULL;
    *why = NULL;
    const char *repeat = prof->period_s == 86400 ? "daily" : prof->period_s == 604800 ? "weekly"
                       : prof->absolute ? "once" : NULL;
    if (!repeat) {
        *why = "the profile's times are offsets, neither dates nor a daily or weekly pattern, so "
               "a capacity schedule has no time to run at";
        return 0;
    }
    fbi_profile next;
    fbi_forecast fi;
    int ahead = fbi_forecast_next(prof, &next, &fi);
    const fbi_profile *run = ahead ? &next : prof;
    sched_acc a = {run->step_s, json_array(), -1, 0, 0};
    fbi_sim_result r;
    if (fbi_sim_run(run, q, FBI_SIM_HYBRID_PREDICTIVE, sched_step, &a, &r, err) != 0) {
        json_decref(a.rows);
        if (ahead) fbi_profile_free(&next);
        return -1;
    }
    sched_flush(&a);
    int64_t lead = ((int64_t)ceil(q->start_s) + 59) / 60 * 60;
    if (lead < 60) lead = 60;
    json_t *o = json_pack("{s:s,s:I,s:I,s:s,s:s,s:o}", "repeat", repeat, "periodSeconds",
                          (json_int_t)(run->period_s ? run->period_s
                                                     : (int64_t)run->n * run->step_s),
                          "leadSeconds", (json_int_t)lead, "forecast",
                          ahead ? fi.method : r.forecast ? r.forecast : "schedule", "basis",
                          ahead ? "next-season" : "profile", "rows", a.rows);
    if (ahead) json_object_set_new(o, "backtestErrorPct", json_real(fi.backtest_mape));
    if (!strcmp(repeat, "once")) {
        char ts[64];
        fbi_profile_format_time(run->start, ts);
        json_object_set_new(o, "start", json_string(ts));
    }
    if (ahead) fbi_profile_free(&next);
    *out = o;
    return 0;
}

/* Puts the schedule sched (borrowed, predictive_schedule's) where the
 * plan and apply read it: the document's hybrid_part.schedule (per hour,
 * both parts), and scaling.schedule of each part's pricing and deploy
 * documents: the container part's floor per step (after the schedule: the
 * deployed minInstances), the function part's warm instances (after: 0),
 * left out for a part the schedule never raises. The pricing documents
 * carry it so that a driver that cannot render it is no candidate, and
 * so that the function part's driver prices the warm capacity it deploys
 * (Lambda: provisioned concurrency, drivers/aws/usage.c). */
static void attach_schedule(fbi_hybrid_split *h, const json_t *sched, int baseline)
{
    json_t *head = json_deep_copy(sched);
    json_object_del(head, "rows");
    json_t *rows = json_object_get(sched, "rows");
    json_t *show = json_deep_copy(head), *steps = json_array();
    size_t i;
    json_t *r;
    int cmax = 0, wmax = 0;
    json_int_t floor = baseline > 1 ? baseline : 1;
    json_array_foreach(rows, i, r) {
        json_int_t c = json_integer_value(json_array_get(r, 1)), w = json_integer_value(json_array_get(r, 2));
        if (c > cmax) cmax = (int)c;
        if (w > wmax) wmax = (int)w;
        json_array_append_new(steps, json_pack("{s:O,s:I,s:I}", "offsetSeconds", json_array_get(r, 0),
                                               "containers", c < floor ? floor : c, "warmFunctions", w));
    }
    json_object_set_new(show, "steps", steps);
    json_object_set_new(h->info, "schedule", show);
    if (cmax > floor) {
        json_t *cs = part_schedule(head, rows, 1, floor, floor);
        json_object_set(json_object_get(json_object_get(h->deploy_container, "spec"), "scaling"),
                        "schedule", cs);
        /* the pricing document is one replica (minInstances = maxInstances
         * = 1, no requests: its usage is one replica's month); the
         * schedule's floors need the workload's ceiling to be valid */
        json_t *psc = json_object_get(json_object_get(h->s.container_doc, "spec"), "scaling");
        json_object_set(psc, "schedule", cs);
        json_object_set(psc, "maxInstances",
                        json_object_get(json_object_get(json_object_get(h->deploy_container, "spec"),
                                                        "scaling"), "maxInstances"));
        json_decref(cs);
    }
    if (wmax > 0) {
        json_t *fs = part_schedule(head, rows, 2, 0, 0);
        json_t *docs2[] = {h->deploy_function, h->s.function_doc};
        for (size_t k = 0; k < 2; k++) {
            json_t *fsc = json_object_get(json_object_get(docs2[k], "spec"), "scaling");
            json_object_set(fsc, "schedule", fs);
            /* the schedule's warm instances need a ceiling that holds
             * them (a driver that deploys maxInstances, Cloud Run, refuses
             * a floor above it) */
            if (json_integer_value(json_object_get(fsc, "maxInstances")) < wmax)
                json_object_set_new(fsc, "maxInstances", json_integer(wmax));
        }
        json_decref(fs);
    }
    json_decref(head);
}

fb_status fbi_hybrid_compare(fbi_broker *b, const json_t *norm, const fbi_plan_opts *opts,
                             json_t **out, fb_diag *diag)
{
    return fbi_hybrid_compare_split(b, norm, opts, 730.0, NULL, NULL, out, NULL, NULL, diag);
}

fb_status fbi_hybrid_compare_split(fbi_broker *b, const json_t *norm, const fbi_plan_opts *opts,
                                   double hours, const char *pin_c, const char *pin_f, json_t **out,
                                   fbi_hybrid_split *split, int *placed, fb_diag *diag)
{
    *out = NULL;
    if (placed) *placed = 0;
    if (split) memset(split, 0, sizeof *split);
    const json_t *sp = json_object_get(norm, "spec");
    fbi_profile prof;
    if (fbi_profile_load(json_object_get(json_object_get(sp, "traffic"), "profile"), &prof, diag) != 0)
        return FB_INVALID;
    fbi_hybrid_prices pr;
    /* defaults of `simulate`: one request per function instance, Lambda's
     * default concurrency quota, 70% target utilisation */
    fb_status st = price_at(b, norm, opts, 1, pin_c, pin_f, &pr, diag);
    if (st != FB_OK) {
        fbi_profile_free(&prof);
        return st;
    }
    fbi_sim_params p;
    fbi_hybrid_params(norm, &pr, 1, 1000, 0.7, &p);
    json_t *alts = json_array();
    fbi_sim_result res[FBI_SIM_NSTRATEGIES];
    int bl[FBI_SIM_NSTRATEGIES];
    char *err = NULL;
    for (int s = 0; s < FBI_SIM_NSTRATEGIES && !err; s++) {
        fbi_sim_params q = p;
        int met = 0;
        bl[s] = -1;
        if (s == FBI_SIM_HYBRID || s == FBI_SIM_HYBRID_PREDICTIVE) {
            if (fbi_sim_optimise(&prof, &q, (fbi_sim_strategy)s, &q.baseline, &met, NULL, &err) != 0)
                break;
            bl[s] = q.baseline;
        }
        if (fbi_sim_run(&prof, &q, (fbi_sim_strategy)s, NULL, NULL, &res[s], &err) != 0) break;
    }
    if (err) {
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, "/spec", err, NULL);
        free(err);
        json_decref(alts);
        fbi_hybrid_prices_free(&pr);
        fbi_profile_free(&prof);
        return FB_INVALID;
    }
    int64_t stat = res[FBI_SIM_STATIC_PEAK].monthly_nano;
    int rec = -1;
    for (int s = 0; s < FBI_SIM_NSTRATEGIES; s++) {
        const fbi_sim_result *r = &res[s];
        char buf[40];
        json_t *a = json_object();
        json_object_set_new(a, "strategy", json_string(fbi_sim_strategy_name(r->strategy)));
        if (bl[s] >= 0) json_object_set_new(a, "baseline", json_integer(bl[s]));
        json_object_set_new(a, "monthlyCost", json_string(fbi_nano_str(r->monthly_nano, buf)));
        json_object_set_new(a, "vsStaticPeak",
                            json_real(stat > 0 ? 100.0 * (double)r->monthly_nano / (double)stat : 0));
        json_object_set_new(a, "utilisation", json_real(r->mean_util));
        json_object_set_new(a, "functionShare",
                            json_real(r->offered > 0 ? r->served_functions / r->offered : 0));
        json_object_set_new(a, "p99Ms", isfinite(r->p99_ms) ? json_real(r->p99_ms) : json_null());
        json_object_set_new(a, "availability", json_real(r->availability));
        json_object_set_new(a, "sloMet", json_boolean(r->slo_met));
        json_object_set_new(a, "containersMax", json_real(r->max_containers));
        json_object_set_new(a, "functionsMax", json_integer(r->max_functions));
        if (r->forecast) json_object_set_new(a, "forecast", json_string(r->forecast));
        json_array_append_new(alts, a);
        /* every request served and the SLO met, then the cheapest */
        if (r->slo_met && r->availability >= 1.0 &&
            (rec < 0 || r->monthly_nano < res[rec].monthly_nano))
            rec = s;
    }
    const json_t *md = json_object_get(norm, "metadata");
    const char *strategy = json_string_value(json_object_get(json_object_get(sp, "placement"), "strategy"));
    json_t *o = json_object();
    char *w = fbi_xasprintf("%s/%s", json_string_value(json_object_get(md, "tenant")),
                            json_string_value(json_object_get(md, "name")));
    json_object_set_new(o, "workload", json_string(w));
    free(w);
    json_object_set_new(o, "strategy", json_string(strategy ? strategy : "hybrid"));
    char *co = offer_text(&pr.container), *fo = offer_text(&pr.function);
    json_object_set_new(o, "containerOffer", json_string(co));
    json_object_set_new(o, "functionOffer", json_string(fo));
    free(co);
    free(fo);
    json_object_set_new(o, "profile", fbi_profile_to_json(&prof, 0));
    json_object_set_new(o, "alternatives", alts);
    json_object_set_new(o, "recommended", rec >= 0 ? json_string(fbi_sim_strategy_name((fbi_sim_strategy)rec))
                                                   : json_null());
    json_object_set_new(o, "model", json_string("docs/simulation.md; simulate's defaults (function "
                                                "concurrency 1, limit 1000, target utilisation 70%)"));
    /* the placement: the split of the hybrid (or hybrid-predictive)
     * strategy, or one offer */
    const char *why = NULL, *note = NULL;
    int sc = FBI_SIM_HYBRID;
    json_t *sched = NULL;
    int is_auto = strategy && !strcmp(strategy, "auto");
    if ((strategy && !strcmp(strategy, "predictive")) ||
        (is_auto && rec == FBI_SIM_HYBRID_PREDICTIVE)) {
        fbi_sim_params q = p;
        q.baseline = bl[FBI_SIM_HYBRID_PREDICTIVE];
        const char *no = NULL;
        if (predictive_schedule(&prof, &q, &sched, &no, &err) != 0) {
            fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, "/spec", err, NULL);
            free(err);
            json_decref(o);
            fbi_hybrid_prices_free(&pr);
            fbi_profile_free(&prof);
            return FB_INVALID;
        }
        if (sched) sc = FBI_SIM_HYBRID_PREDICTIVE;
        else note = no; /* placed as hybrid, without a schedule: said why */
    }
    const fbi_sim_result *h = &res[sc];
    if (is_auto && sc == FBI_SIM_HYBRID) {
        int cheapest = 1;
        for (int s = 0; s < FBI_SIM_NSTRATEGIES; s++)
            if (s != FBI_SIM_HYBRID && s != FBI_SIM_HYBRID_PREDICTIVE && res[s].slo_met &&
                res[s].availability >= 1.0 && res[s].monthly_nano < h->monthly_nano)
                cheapest = 0;
        if (!(h->slo_met && h->availability >= 1.0 && cheapest))
            why = "strategy auto: neither hybrid strategy is the cheapest that serves every request "
                  "within the SLO, so the workload is placed as one offer";
    }
    double span = (double)prof.n * (double)prof.step_s;
    int64_t rmicro = span > 0 ? llround(h->replica_seconds / span * 1e6) : 0;
    if (!why && rmicro <= 0)
        why = "the hybrid strategy keeps no container replica: the workload is placed as one offer";
    json_t *pj = json_object();
    if (!why && split) {
        double fshare = h->offered > 0 ? h->served_functions / h->offered : 0;
        json_int_t q = (json_int_t)llround(h->served_functions * hours * 3600.0 / span);
        const char *name = json_string_value(json_object_get(md, "name"));
        char *fname = fbi_xasprintf("%s-overflow", name);
        if (split_docs(norm, &pr, fname, q, split, diag) != 0) {
            free(fname);
            json_decref(pj);
            json_decref(o);
            fbi_hybrid_split_free(split);
            fbi_hybrid_prices_free(&pr);
            fbi_profile_free(&prof);
            return FB_INVALID;
        }
        char buf[40];
        split->tenant = fbi_xstrdup(json_string_value(json_object_get(md, "tenant")));
        split->name = fbi_xstrdup(name);
        split->function_name = fname;
        uint64_t eg = (uint64_t)json_integer_value(
            json_object_get(json_object_get(sp, "traffic"), "egressBytesPerMonth"));
        split->info = json_pack("{s:s,s:i,s:f,s:f,s:I,s:f,s:f,s:s,s:s,s:s}", "strategy",
            fbi_sim_strategy_name((fbi_sim_strategy)sc), "baseline", bl[sc], "mean_replicas", (double)rmicro / 1e6,
            "max_replicas", h->max_containers, "function_requests", q,
            "function_share", fshare, "p99_ms", isfinite(h->p99_ms) ? h->p99_ms : -1,
            "simulated_monthly_cost", fbi_nano_str(h->monthly_nano, buf),
            "simulated_at", json_string_value(json_object_get(o, "containerOffer")),
            "simulated_function_at", json_string_value(json_object_get(o, "functionOffer")));
        split->s.tenant = split->tenant;
        split->s.name = split->name;
        split->s.function_name = split->function_name;
        split->s.container_doc = fbi_spec_doc(split->docs, 0);
        split->s.function_doc = fbi_spec_doc(split->docs, 1);
        split->s.replicas_micro = rmicro;
        split->s.link_bytes = (uint64_t)llround((double)eg * fshare);
        split->s.budget_micro = json_integer_value(
            json_object_get(json_object_get(json_object_get(sp, "placement"), "budget"), "monthlyMicroUsd"));
        split->s.info = split->info;
        deploy_docs(norm, split, bl[sc]);
        if (sched) attach_schedule(split, sched, bl[sc]);
        if (placed) *placed = 1;
        json_object_set_new(pj, "as", json_string("split"));
        json_object_set_new(pj, "container", json_string(name));
        json_object_set_new(pj, "function", json_string(fname));
        json_object_set_new(pj, "strategy", json_string(fbi_sim_strategy_name((fbi_sim_strategy)sc)));
        if (note) json_object_set_new(pj, "note", json_string(note));
    } else {
        json_object_set_new(pj, "as", json_string("one offer"));
        if (why) json_object_set_new(pj, "why", json_string(why));
    }
    json_object_set_new(o, "placed", pj);
    json_decref(sched);
    fbi_hybrid_prices_free(&pr);
    fbi_profile_free(&prof);
    *out = o;
    return FB_OK;
}
