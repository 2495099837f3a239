/* plan.c - the cost and latency model and the joint placement.
 *
 * Money: the catalog prices each line item exactly (quantity in micro-units
 * x unit price in pico-USD, rounded half up to micro-USD); links cost
 * volume x egress price per GiB, rounded once to nano-USD by the solver.
 * Everything is summed as integer nano-USD, so every total is the exact sum
 * of its lines. The solver minimises the contracted (negotiated, else list)
 * monthly cost; total_monthly_cost is that objective, the same quantity the
 * exported LP file minimises. Free tiers are pooled per billing account and
 * netted afterwards as credit lines (see free_tier_rule). */
#include "config.h"
#include "plan/plan.h"
#include "catalog/catalog.h"
#include "solver/solver.h"
#include "spec/spec.h"
#include "base/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NANO_PER_MICRO INT64_C(1000)
#define DEFAULT_IDLE_S 600.0

/* ---- small helpers ---------------------------------------------------------- */

char *fbi_nano_str(int64_t nano, char *buf)
{
    int neg = nano < 0;
    uint64_t v = neg ? (uint64_t)(-(nano + 1)) + 1 : (uint64_t)nano;
    uint64_t whole = v / 1000000000u, frac = v % 1000000000u;
    char f[16];
    snprintf(f, sizeof f, "%09llu", (unsigned long long)frac);
    int len = 9;
    while (len > 2 && f[len - 1] == '0') len--;
    f[len] = '\0';
    snprintf(buf, 40, "%s%llu.%s", neg ? "-" : "", (unsigned long long)whole, f);
    return buf;
}

static json_t *nano_json(int64_t nano)
{
    char b[40];
    return json_string(fbi_nano_str(nano, b));
}

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static json_t *jpath(const json_t *o, const char *a, const char *b)
{
    json_t *x = json_object_get(o, a);
    return b ? json_object_get(x, b) : x;
}

static int in_list(const json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        const char *x = json_string_value(v);
        if (x && s && !strcmp(x, s)) return 1;
    }
    return 0;
}

/* ---- the model's data ---------------------------------------------------------- */

typedef struct pline {
    const fbi_price_row *row;
    fbi_qty qty;
    int64_t list_nano, contracted_nano;
    fbi_pusd contracted_unit;
    const char *rule;   /* borrowed override rule id */
    char *what;         /* "usage", "egress-internet" */
    char *note;
    int64_t credit_nano; /* free tier netted into this line (<= 0) */
    fbi_qty free_qty;
} pline;

typedef struct option {
    json_t *offer;       /* borrowed */
    const char *provider, *service, *region;
    char *price_provider;
    char *key;           /* catalog region key "provider:region" */
    const fbi_region *reg; /* borrowed; NULL when the catalog lacks it */
    char *label;         /* "provider:service:region" */
    char *reason_class;  /* NULL when the option survives */
    char *reason;
    pline *lines;
    size_t nlines, caplines;
    int64_t list_nano, contracted_nano;
    int has_latency;
    double p50_ms, mean_ms, p_cold, cold_ms, rtt_ms;
    const char *latency_origin; /* static */
    int64_t vcpu_micro;
    json_t *notes;
    int sp_offer;        /* solver offer index, -1 */
} option;

typedef struct wl {
    json_t *doc;         /* owned reference (a replica's traffic is scaled) */
    char *name;          /* "api" or "api#2" */
    const char *base, *tenant, *kind;
    int replica, nreplicas;
    option *opts;
    size_t nopts;
    int chosen;
    int sp_w;
} wl;

typedef struct model {
    fbi_broker *b;
    fbi_catalog *cat;
    const fbi_plan_opts *o;
    fb_spec_set *set;
    double hours;
    wl *w;
    size_t nw;
    fb_diag *diag;
    int invalid;
} model;

static void add_line(option *op, pline *l)
{
    if (op->nlines == op->caplines) {
        op->caplines = op->caplines ? op->caplines * 2 : 8;
        op->lines = fbi_xrealloc(op->lines, op->caplines * sizeof *op->lines);
    }
    op->lines[op->nlines++] = *l;
    op->list_nano += l->list_nano;
    op->contracted_nano += l->contracted_nano;
}

static void eliminate(option *op, const char *cls, const char *fmt, ...) FBI_PRINTF(3, 4);

static void eliminate(option *op, const char *cls, const char *fmt, ...)
{
    if (op->reason_class) return; /* the first reason is the one reported */
    fbi_buf b;
    fbi_buf_init(&b);
    va_list ap;
    va_start(ap, fmt);
    fbi_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    op->reason_class = fbi_xstrdup(cls);
    op->reason = fbi_buf_steal(&b);
}

static void option_free(option *op)
{
    for (size_t i = 0; i < op->nlines; i++) {
        free(op->lines[i].what);
        free(op->lines[i].note);
    }
    free(op->lines);
    free(op->price_provider);
    free(op->key);
    free(op->label);
    free(op->reason_class);
    free(op->reason);
    json_decref(op->notes);
}

static void model_free(model *m)
{
    for (size_t i = 0; i < m->nw; i++) {
        for (size_t k = 0; k < m->w[i].nopts; k++) option_free(&m->w[i].opts[k]);
        free(m->w[i].opts);
        free(m->w[i].name);
        json_decref(m->w[i].doc);
    }
    free(m->w);
    fbi_catalog_free(m->cat);
}

/* Adds an input error about workload w at pointer. */
static void input_error(model *m, size_t spec_i, const char *pointer, const char *summary,
                        const char *detail)
{
    fb_diag_add(m->diag, FB_SEV_ERROR, fb_spec_file(m->set, spec_i), 0, 0, pointer, summary,
                detail);
    m->invalid = 1;
}

/* ---- pricing ------------------------------------------------------------------ */

/* Prices one quantity of one catalog product (tiers, contracted prices) and
 * adds the lines to op. Returns 0, or -1 with the option eliminated. */
static int price_quantity(model *m, option *op, const char *provider, const char *service,
                          const char *metric, const char *variant, const char *unit,
                          fbi_qty qty, const char *what, const char *note)
{
    fbi_price_query q = {provider, service, op->region, metric, variant, NULL};
    const fbi_price_row **rows = NULL;
    size_t n = 0;
    fb_diag *d = fb_diag_new();
    fb_status st = fbi_catalog_find_prices(m->cat, &q, &rows, &n, d);
    if (st != FB_OK) {
        eliminate(op, "price", "no catalog price for %s %s %s%s%s in %s: %s", provider, service,
                  metric, variant && *variant ? " " : "", variant ? variant : "", op->region,
                  fb_diag_count(d) ? fb_diag_summary(d, 0) : fbi_status_name(st));
        fb_diag_free(d);
        free(rows);
        return -1;
    }
    fb_diag_free(d);
    if (unit && strcmp(rows[0]->unit, unit) != 0) {
        eliminate(op, "price", "the driver measures %s %s in %s but the catalog row %s is per %s",
                  service, metric, unit, rows[0]->sku, rows[0]->unit);
        free(rows);
        return -1;
    }
    fbi_tier_line *tl = fbi_xcalloc(n, sizeof *tl);
    size_t ntl = 0;
    fbi_musd total;
    char *err = NULL;
    if (fbi_tiered_cost(rows, n, qty, tl, &ntl, &total, &err) != 0) {
        eliminate(op, "price", "%s %s %s: %s", provider, service, metric, err);
        free(err);
        free(tl);
        free(rows);
        return -1;
    }
    for (size_t i = 0; i < ntl; i++) {
        pline l;
        memset(&l, 0, sizeof l);
        l.row = tl[i].row;
        l.qty = tl[i].qty;
        l.list_nano = tl[i].cost * NANO_PER_MICRO;
        l.contracted_unit = fbi_catalog_contracted_price(m->cat, l.row, &l.rule);
        fbi_musd c = 0;
        if (fbi_line_cost(l.qty, l.contracted_unit, &c, &err) != 0) {
            eliminate(op, "price", "%s", err);
            free(err);
            free(tl);
            free(rows);
            return -1;
        }
        l.contracted_nano = c * NANO_PER_MICRO;
        l.what = fbi_xstrdup(what);
        l.note = note ? fbi_xstrdup(note) : NULL;
        add_line(op, &l);
    }
    free(tl);
    free(rows);
    return 0;
}

/* Quantity in micro-units of a row unit for a number of bytes: "GB" is
 * 10^9 bytes, "GiB" 2^30 (rounded half up). */
static fbi_qty bytes_to_qty(uint64_t bytes, const char *unit)
{
    unsigned __int128 num = (unsigned __int128)bytes * 1000000u;
    uint64_t den = (unit && !strcmp(unit, "GiB")) ? (UINT64_C(1) << 30) : UINT64_C(1000000000);
    return (fbi_qty)((num + den / 2) / den);
}

/* Internet egress to the workload's users, split by their sources. */
static int price_internet_egress(model *m, option *op, const json_t *doc)
{
    json_t *traffic = jpath(doc, "spec", "traffic");
    uint64_t bytes = (uint64_t)json_integer_value(json_object_get(traffic, "egressBytesPerMonth"));
    if (bytes == 0) return 0;
    json_t *sources = json_object_get(traffic, "sources");
    size_t ns = json_array_size(sources);
    for (size_t i = 0; i < (ns ? ns : 1); i++) {
        json_t *s = ns ? json_array_get(sources, i) : NULL;
        const char *loc = s ? jstr(s, "location") : NULL;
        double w = s ? json_number_value(json_object_get(s, "weight")) : 1.0;
        /* the last source takes the rest, so the parts add up to the bytes */
        uint64_t part = (i + 1 == (ns ? ns : 1)) ? bytes : (uint64_t)llround((double)bytes * w);
        if (part > bytes) part = bytes;
        bytes -= part;
        if (!part) continue;
        fbi_egress e;
        memset(&e, 0, sizeof e);
        fb_diag *d = fb_diag_new();
        fb_status st = fbi_catalog_egress(m->cat, op->key, loc ? loc : "internet", &e, d);
        if (st != FB_OK || e.ntiers == 0) {
            eliminate(op, "price", "no internet egress price from %s to %s: %s", op->key,
                      loc ? loc : "the internet",
                      fb_diag_count(d) ? fb_diag_summary(d, 0) : "no row");
            fb_diag_free(d);
            fbi_egress_clear(&e);
            return -1;
        }
        fb_diag_free(d);
        fbi_qty q = bytes_to_qty(part, e.tiers[0]->unit);
        fbi_tier_line *tl = fbi_xcalloc(e.ntiers, sizeof *tl);
        size_t ntl = 0;
        fbi_musd total;
        char *err = NULL;
        int rc = fbi_tiered_cost(e.tiers, e.ntiers, q, tl, &ntl, &total, &err);
        if (rc != 0) {
            eliminate(op, "price", "internet egress from %s: %s", op->key, err);
            free(err);
        }
        for (size_t k = 0; rc == 0 && k < ntl; k++) {
            pline l;
            memset(&l, 0, sizeof l);
            l.row = tl[k].row;
            l.qty = tl[k].qty;
            l.list_nano = tl[k].cost * NANO_PER_MICRO;
            l.contracted_unit = fbi_catalog_contracted_price(m->cat, l.row, &l.rule);
            fbi_musd c = 0;
            fbi_line_cost(l.qty, l.contracted_unit, &c, &err);
            l.contracted_nano = c * NANO_PER_MICRO;
            l.what = fbi_xstrdup("egress-internet");
            l.note = fbi_xasprintf("%.0f%% of %s of egress to %s", (ns ? w : 1.0) * 100,
                                   "the workload's traffic", loc ? loc : "the internet");
            add_line(op, &l);
        }
        free(tl);
        fbi_egress_clear(&e);
        if (rc != 0) return -1;
    }
    return 0;
}

/* ---- one candidate -------------------------------------------------------------- */

static const char *rtt_kind_rank(const char *cur, const char *next)
{
    static const char *order[] = {"measured", "same-metro-assumption", "distance-estimate"};
    int a = 0, b = 0;
    for (int i = 0; i < 3; i++) {
        if (cur && !strcmp(cur, order[i])) a = i;
        if (next && !strcmp(next, order[i])) b = i;
    }
    return order[a > b ? a : b];
}

/* Latency from the workload's users: the traffic-weighted mean of the
 * per-source median RTTs, plus the cold start when the median request
 * finds no warm instance (P(cold) = exp(-rate x idle window) >= 0.5). */
static void latency(model *m, option *op, const json_t *doc, const json_t *usage)
{
    json_t *traffic = jpath(doc, "spec", "traffic");
    json_t *sources = json_object_get(traffic, "sources");
    if (json_array_size(sources) == 0) return;
    double sum = 0;
    size_t i;
    json_t *s;
    json_array_foreach(sources, i, s) {
        double ms;
        fbi_rtt_origin org;
        if (fbi_catalog_user_rtt(m->cat, jstr(s, "location"), op->key, &ms, &org) != FB_OK) {
            op->has_latency = 0;
            op->latency_origin = NULL;
            eliminate(op, "latency", "no latency estimate from %s to %s: %s", jstr(s, "location"),
                      op->key, org.detail);
            return;
        }
        sum += json_number_value(json_object_get(s, "weight")) * ms;
        op->latency_origin = rtt_kind_rank(op->latency_origin, fbi_rtt_kind_name(org.kind));
    }
    op->has_latency = 1;
    op->rtt_ms = sum;
    json_t *scaling = jpath(doc, "spec", "scaling");
    int zero = json_is_true(json_object_get(scaling, "scaleToZero")) &&
               json_integer_value(json_object_get(scaling, "minInstances")) == 0;
    op->cold_ms = json_number_value(json_object_get(usage, "coldStartMs"));
    double idle = json_number_value(json_object_get(usage, "idleTimeoutSeconds"));
    if (idle <= 0) idle = DEFAULT_IDLE_S;
    double rate = (double)json_integer_value(json_object_get(traffic, "requestsPerMonth")) /
                  (m->hours * 3600.0);
    op->p_cold = zero ? exp(-rate * idle) : 0.0;
    op->p50_ms = sum + (op->p_cold >= 0.5 ? op->cold_ms : 0.0);
    op->mean_ms = sum + op->p_cold * op->cold_ms;
}

/* The first trigger kind of the workload (spec.triggers: each item has one
 * key, http/queue/schedule) that the offer does not wire, or NULL. An
 * offer lists what it wires in "triggers"; without it, http only
 * (docs/driver-abi.md). Borrowed from doc. */
static const char *unwired_trigger(const json_t *doc, const json_t *offer)
{
    const json_t *wired = json_object_get(offer, "triggers");
    size_t i;
    json_t *t;
    json_array_foreach(jpath(doc, "spec", "triggers"), i, t) {
        const char *k;
        json_t *v;
        json_object_foreach(t, k, v) {
            if (json_is_array(wired) ? !in_list(wired, k) : strcmp(k, "http") != 0) return k;
        }
    }
    return NULL;
}

/* Does any loaded driver named provider offer this kind of workload? */
static int provider_runs_kind(model *m, const char *provider, const char *kind)
{
    size_t i;
    json_t *o;
    json_array_foreach(fbi_broker_offers(m->b, NULL), i, o)
        if (!strcmp(jstr(o, "provider") ? jstr(o, "provider") : "", provider) &&
            !strcmp(jstr(o, "kind") ? jstr(o, "kind") : "", kind))
            return 1;
    return 0;
}

/* Evaluates one offer for one workload: every filter in order, the driver's
 * verdict and usage, prices, latency, SLO and budget. */
static void evaluate(model *m, wl *w, option *op)
{
    json_t *pl = json_object_get(w->doc, "spec");
    json_t *place = json_object_get(pl, "placement");
    /* A single-provider baseline moves every workload that provider can
     * run; the others (e.g. quantum jobs for a cloud) keep their choices. */
    if (m->o->restrict_provider && strcmp(op->provider, m->o->restrict_provider) != 0 &&
        provider_runs_kind(m, m->o->restrict_provider, w->kind))
        eliminate(op, "baseline", "baseline restricted to %s", m->o->restrict_provider);
    json_t *allow = json_object_get(place, "providers");
    if (json_array_size(allow) && !in_list(allow, op->provider))
        eliminate(op, "provider", "provider %s is not in placement.providers", op->provider);
    if (in_list(json_object_get(place, "denyProviders"), op->provider))
        eliminate(op, "provider", "provider %s is in placement.denyProviders", op->provider);
    char *pr = fbi_xasprintf("%s:%s", op->provider, op->region);
    json_t *regions = json_object_get(place, "regions");
    if (json_array_size(regions) && !in_list(regions, pr))
        eliminate(op, "region", "%s is not in placement.regions", pr);
    if (in_list(json_object_get(place, "denyRegions"), pr))
        eliminate(op, "region", "%s is in placement.denyRegions", pr);
    free(pr);
    json_t *services = json_object_get(place, "services");
    if (json_array_size(services) && !in_list(services, op->service))
        eliminate(op, "service", "service %s is not in placement.services", op->service);
    /* a nightly job placed where its schedule is never wired would never run */
    const char *unwired = unwired_trigger(w->doc, op->offer);
    if (unwired) {
        const json_t *wired = json_object_get(op->offer, "triggers");
        fbi_buf have;
        fbi_buf_init(&have);
        size_t k;
        json_t *v;
        json_array_foreach(wired, k, v) fbi_buf_printf(&have, "%s%s", k ? ", " : "", json_string_value(v));
        eliminate(op, "trigger", "cannot wire a %s trigger (the offer wires: %s)", unwired,
                  json_is_array(wired) ? (have.len ? have.data : "none") : "http");
        fbi_buf_free(&have);
    }
    json_t *res = json_object_get(place, "residency");
    if (json_array_size(res)) {
        const char *j = op->reg ? op->reg->jurisdiction : NULL;
        const char *c = op->reg ? op->reg->country : NULL;
        if (!(j && in_list(res, j)) && !(c && in_list(res, c)))
            eliminate(op, "residency", "%s is in jurisdiction %s, not in residency %s", op->key,
                      j && *j ? j : "(unknown)", "placement.residency");
    }
    if (op->reason_class) return; /* spare the driver calls */

    const fb_driver *drv;
    fb_driver_ctx *ctx;
    fb_diag *d = fb_diag_new();
    if (fb_registry_context(m->b->reg, op->provider, &drv, &ctx, d) != FB_OK) {
        eliminate(op, "driver", "%s", fb_diag_count(d) ? fb_diag_summary(d, 0) : "driver unavailable");
        fb_diag_free(d);
        return;
    }
    if (!(drv->caps & FB_CAP_ESTIMATE)) {
        eliminate(op, "driver", "driver %s cannot estimate cost (no usage verb)", drv->name);
        fb_diag_free(d);
        return;
    }
    json_t *placement = json_pack("{s:s,s:s,s:s,s:s,s:O}", "provider", op->provider, "service",
                                  op->service, "region", op->region, "kind", w->kind, "offer",
                                  op->offer);
    json_t *in = json_pack("{s:O,s:o,s:f,s:s}", "workload", w->doc, "placement", placement,
                           "hoursPerMonth", m->hours, "mode", "plan");
    char *in_text = fbi_json_canonical(in);
    json_decref(in);
    fb_status st = drv->validate(ctx, in_text, d);
    if (st != FB_OK) {
        size_t k = 0;
        while (k + 1 < fb_diag_count(d) && fb_diag_severity(d, k) != FB_SEV_ERROR) k++;
        eliminate(op, "driver", "%s refuses it: %s%s%s", drv->name,
                  fb_diag_count(d) ? fb_diag_summary(d, k) : fbi_status_name(st),
                  fb_diag_count(d) && fb_diag_pointer(d, k) ? " at " : "",
                  fb_diag_count(d) && fb_diag_pointer(d, k) ? fb_diag_pointer(d, k) : "");
        free(in_text);
        fb_diag_free(d);
        return;
    }
    char *out = NULL;
    st = drv->usage(ctx, in_text, &out, d);
    free(in_text);
    json_t *usage = out ? json_loads(out, 0, NULL) : NULL;
    free(out);
    if (st != FB_OK || !usage) {
        eliminate(op, "driver", "%s usage failed: %s", drv->name,
                  fb_diag_count(d) ? fb_diag_summary(d, 0) : "no output");
        fb_diag_free(d);
        json_decref(usage);
        return;
    }
    fb_diag_free(d);
    op->notes = json_incref(json_object_get(usage, "notes"));
    const char *vcpu = jstr(usage, "vcpu");
    int64_t vm = 0;
    char *err = NULL;
    if (vcpu && fbi_decimal_parse(vcpu, 6, &vm, &err) != 0) {
        free(err);
        vm = 0;
    }
    op->vcpu_micro = vm;
    size_t i;
    json_t *line;
    json_array_foreach(json_object_get(usage, "lines"), i, line) {
        fbi_qty q;
        const char *qt = jstr(line, "quantity");
        if (!qt || fbi_qty_parse(qt, &q, &err) != 0) {
            eliminate(op, "driver", "%s usage line %zu has a bad quantity: %s", op->provider, i,
                      err ? err : "missing");
            free(err);
            break;
        }
        if (q == 0) continue;
        const char *lp = jstr(line, "provider");
        if (price_quantity(m, op, lp ? lp : op->price_provider, jstr(line, "service"),
                           jstr(line, "metric"), jstr(line, "variant"), jstr(line, "unit"), q,
                           "usage", jstr(line, "note")) != 0)
            break;
    }
    if (!op->reason_class) price_internet_egress(m, op, w->doc);
    if (!op->reason_class) latency(m, op, w->doc, usage);
    json_decref(usage);
    if (op->reason_class) return;
    int64_t slo = json_integer_value(jpath(place, "latencySLO", "p50Ms"));
    if (slo > 0) {
        if (!op->has_latency)
            eliminate(op, "latency", "latency SLO %lld ms cannot be checked: no traffic sources",
                      (long long)slo);
        else if (op->p50_ms > (double)slo)
            eliminate(op, "latency", "p50 %.1f ms is over the latency SLO of %lld ms", op->p50_ms,
                      (long long)slo);
    }
    int64_t budget = json_integer_value(jpath(place, "budget", "monthlyMicroUsd"));
    if (!op->reason_class && budget > 0 && op->contracted_nano > budget * NANO_PER_MICRO) {
        char a[40], bb[40];
        eliminate(op, "budget", "%s USD/month is over the budget of %s USD/month",
                  fbi_nano_str(op->contracted_nano, a), fbi_nano_str(budget * NANO_PER_MICRO, bb));
    }
}

/* ---- workloads, replicas and input checks ---------------------------------------------------- */

static const char *doc_name(json_t *doc)
{
    return jstr(json_object_get(doc, "metadata"), "name");
}

static int catalog_knows_provider(const fbi_catalog *cat, const char *p);

/* Checks what the cost model needs from a spec and refuses what it cannot
 * use: unknown locations, regions, providers; missing traffic; constraints
 * that contradict each other. */
static void check_input(model *m, size_t i, json_t *doc)
{
    const char *kind = jstr(doc, "kind");
    json_t *spec = json_object_get(doc, "spec");
    json_t *traffic = json_object_get(spec, "traffic");
    if (!strcmp(kind, "Function")) {
        json_t *dflt = json_object_get(traffic, "defaults");
        const char *missing = !traffic || json_array_size(dflt) == 2
                ? "spec.traffic.requestsPerMonth and spec.traffic.meanDuration"
            : in_list(dflt, "requestsPerMonth") ? "spec.traffic.requestsPerMonth"
            : in_list(dflt, "meanDuration") ? "spec.traffic.meanDuration" : NULL;
        if (missing) {
            char *s = fbi_xasprintf("traffic profile missing: the cost of a Function cannot be "
                                    "estimated without %s", missing);
            input_error(m, i, "/spec/traffic", s,
                        "add spec.traffic with requestsPerMonth and meanDuration (and sources "
                        "for latency, egressPerRequest or egressPerMonth for egress)");
            free(s);
        }
    }
    size_t k;
    json_t *v;
    json_array_foreach(json_object_get(traffic, "sources"), k, v) {
        const char *loc = jstr(v, "location");
        if (loc && !fbi_catalog_location(m->cat, loc)) {
            char ptr[96], *s;
            snprintf(ptr, sizeof ptr, "/spec/traffic/sources/%zu/location", k);
            s = fbi_xasprintf("unknown location '%s'", loc);
            input_error(m, i, ptr, s, "`fedbroker catalog show --format json` lists locations; "
                                      "use a city id such as new-york, frankfurt, tokyo");
            free(s);
        }
    }
    json_t *place = json_object_get(spec, "placement");
    static const char *region_lists[] = {"regions", "denyRegions"};
    for (int r = 0; r < 2; r++) {
        json_array_foreach(json_object_get(place, region_lists[r]), k, v) {
            const char *key = json_string_value(v);
            if (key && !fbi_catalog_region(m->cat, key)) {
                char ptr[96], *s;
                snprintf(ptr, sizeof ptr, "/spec/placement/%s/%zu", region_lists[r], k);
                s = fbi_xasprintf("unknown region '%s'", key);
                input_error(m, i, ptr, s, "regions are provider:region, e.g. aws:eu-west-1 or "
                                          "gcp:europe-west1 (see `fedbroker catalog show`)");
                free(s);
            }
        }
    }
    static const char *prov_lists[] = {"providers", "denyProviders"};
    for (int r = 0; r < 2; r++) {
        json_array_foreach(json_object_get(place, prov_lists[r]), k, v) {
            const char *p = json_string_value(v);
            if (!p || fb_registry_find(m->b->reg, p)) continue;
            char ptr[96], *s;
            snprintf(ptr, sizeof ptr, "/spec/placement/%s/%zu", prov_lists[r], k);
            if (catalog_knows_provider(m->cat, p)) {
                /* a real provider whose driver is not installed here */
                s = fbi_xasprintf("provider '%s' has no driver loaded; its offers are not considered", p);
                fb_diag_add(m->diag, FB_SEV_WARNING, fb_spec_file(m->set, i), 0, 0, ptr, s,
                            "install its driver or add its directory to FEDBROKER_DRIVER_PATH");
            } else {
                s = fbi_xasprintf("unknown provider '%s': no driver of that name is loaded and the "
                                  "catalog has no such provider", p);
                input_error(m, i, ptr, s, "`fedbroker drivers` lists the loaded drivers");
            }
            free(s);
        }
    }
    json_t *allow = json_object_get(place, "providers");
    if (json_array_size(allow)) {
        int any = 0;
        json_array_foreach(allow, k, v)
            if (!in_list(json_object_get(place, "denyProviders"), json_string_value(v))) any = 1;
        if (!any)
            input_error(m, i, "/spec/placement/denyProviders",
                        "contradictory constraints: every provider in placement.providers is "
                        "also denied", "remove it from one of the two lists");
    }
    json_t *spread = json_object_get(place, "spread");
    int64_t minr = json_integer_value(json_object_get(spread, "minRegions"));
    int64_t minp = json_integer_value(json_object_get(spread, "minProviders"));
    if ((minr > 1 || minp > 1) && json_array_size(json_object_get(place, "affinity"))) {
        input_error(m, i, "/spec/placement/affinity",
                    "contradictory constraints: spread over several regions and affinity "
                    "(same region as another workload) cannot both hold",
                    "drop the affinity and bound the distance with a link latencyBudget instead");
    }
    if (minp > 1 && json_array_size(allow) && (int64_t)json_array_size(allow) < minp) {
        input_error(m, i, "/spec/placement/spread/minProviders",
                    "contradictory constraints: spread.minProviders is larger than the number "
                    "of allowed providers", NULL);
    }
    json_array_foreach(json_object_get(place, "affinity"), k, v) {
        if (in_list(json_object_get(place, "antiAffinity"), json_string_value(v))) {
            char ptr[96];
            snprintf(ptr, sizeof ptr, "/spec/placement/affinity/%zu", k);
            input_error(m, i, ptr, "contradictory constraints: the same workload is in affinity "
                                   "and antiAffinity", NULL);
        }
    }
}

static int catalog_knows_provider(const fbi_catalog *cat, const char *p)
{
    for (size_t i = 0; i < fbi_catalog_region_count(cat); i++)
        if (!strcmp(fbi_catalog_region_at(cat, i)->provider, p)) return 1;
    return 0;
}

/* A replica's document: traffic (requests, egress) divided among replicas. */
static json_t *replica_doc(json_t *doc, int r, int n)
{
    json_t *c = json_deep_copy(doc);
    json_t *t = jpath(c, "spec", "traffic");
    static const char *keys[] = {"requestsPerMonth", "egressBytesPerMonth"};
    for (int k = 0; k < 2; k++) {
        json_t *v = json_object_get(t, keys[k]);
        if (!json_is_integer(v)) continue;
        json_int_t total = json_integer_value(v);
        json_int_t share = total / n + (r < total % n ? 1 : 0); /* shares add up */
        json_object_set_new(t, keys[k], json_integer(share));
    }
    return c;
}

/* A driver that offers placements but has no usage verb (no
 * FB_CAP_ESTIMATE) is left out of every plan, as nothing prices its offers:
 * say so once per driver, by name, in the main run, rather than only among
 * each workload's eliminations. */
static void warn_unestimated(model *m, json_t *offers)
{
    if (m->o->restrict_provider) return; /* a baseline run: the main run says it */
    json_t *count = json_object();
    size_t i;
    json_t *o;
    json_array_foreach(offers, i, o) {
        const char *p = jstr(o, "provider");
        const fb_driver *drv = p ? fb_registry_find(m->b->reg, p) : NULL;
        if (!drv || (drv->caps & FB_CAP_ESTIMATE)) continue;
        json_object_set_new(count, p, json_integer(json_integer_value(json_object_get(count, p)) + 1));
    }
    const char *p;
    json_t *n;
    json_object_foreach(count, p, n) {
        char *m1 = fbi_xasprintf("driver %s cannot estimate cost (no usage verb, FB_CAP_ESTIMATE): "
                                 "plan does not consider its %lld offer(s)", p,
                                 (long long)json_integer_value(n));
        char *m2 = fbi_xasprintf("plan prices offers from the billing quantities usage returns "
                                 "(docs/driver-authors.md); `fedbroker apply --target %s` still "
                                 "deploys with it", p);
        fb_diag_add(m->diag, FB_SEV_WARNING, NULL, 0, 0, NULL, m1, m2);
        free(m1);
        free(m2);
    }
    json_decref(count);
}

static void build_workloads(model *m)
{
    size_t n = fb_spec_count(m->set);
    for (size_t i = 0; i < n; i++) check_input(m, i, fbi_spec_doc(m->set, i));
    if (m->invalid) return;
    json_t *offers = fbi_broker_offers(m->b, m->diag);
    warn_unestimated(m, offers);
    for (size_t i = 0; i < n; i++) {
        json_t *doc = fbi_spec_doc(m->set, i);
        json_t *spread = jpath(jpath(doc, "spec", "placement"), "spread", NULL);
        int64_t minr = json_integer_value(json_object_get(spread, "minRegions"));
        int64_t minp = json_integer_value(json_object_get(spread, "minProviders"));
        int reps = (int)(minr > minp ? minr : minp);
        if (reps < 1) reps = 1;
        for (int r = 0; r < reps; r++) {
            m->w = fbi_xrealloc(m->w, (m->nw + 1) * sizeof *m->w);
            wl *w = &m->w[m->nw++];
            memset(w, 0, sizeof *w);
            w->doc = reps > 1 ? replica_doc(doc, r, reps) : json_incref(doc);
            w->base = doc_name(doc);
            w->name = reps > 1 ? fbi_xasprintf("%s#%d", w->base, r + 1) : fbi_xstrdup(w->base);
            w->tenant = fb_spec_tenant(m->set, i);
            w->kind = fb_spec_kind(m->set, i);
            w->replica = r;
            w->nreplicas = reps;
            w->chosen = -1;
            w->sp_w = -1;
            size_t k;
            json_t *o;
            json_array_foreach(offers, k, o) {
                if (strcmp(jstr(o, "kind") ? jstr(o, "kind") : "", w->kind) != 0) continue;
                w->opts = fbi_xrealloc(w->opts, (w->nopts + 1) * sizeof *w->opts);
                option *op = &w->opts[w->nopts++];
                memset(op, 0, sizeof *op);
                op->offer = o;
                op->provider = jstr(o, "provider");
                op->service = jstr(o, "service");
                op->region = jstr(o, "region");
                /* The catalog may key a provider's prices under another name
                 * (the local Kubernetes driver prices as provider "local"). */
                const char *pp = jstr(jpath(o, "catalog", NULL), "provider");
                const char *prg = jstr(jpath(o, "catalog", NULL), "region");
                op->price_provider = fbi_xstrdup(pp ? pp : op->provider);
                op->key = fbi_xasprintf("%s:%s", op->price_provider, prg ? prg : op->region);
                op->label = fbi_xasprintf("%s:%s:%s", op->provider, op->service, op->region);
                op->reg = fbi_catalog_region(m->cat, op->key);
                op->sp_offer = -1;
                if (op->region && !op->reg) {
                    /* an offer in a region the catalog does not know */
                }
                evaluate(m, w, op);
            }
        }
    }
}

/* ---- the objective ------------------------------------------------------------ */

/* latency: keep the candidates within max(2 ms, 10%) of the best p50;
 * balanced (weight w): score = (1-w) cost/min_cost + w p50/min_p50, keep
 * those within 10% of the best score. The solver then minimises cost over
 * what is left, so the LP objective is always money. */
static void apply_objective(wl *w)
{
    const char *obj = jstr(jpath(w->doc, "spec", "placement"), "objective");
    if (!obj || !strcmp(obj, "cost")) return;
    double weight = json_number_value(jpath(jpath(w->doc, "spec", "placement"), "latencyWeight", NULL));
    if (!strcmp(obj, "latency")) weight = 1.0;
    double best_lat = INFINITY, best_cost = INFINITY;
    for (size_t k = 0; k < w->nopts; k++) {
        option *op = &w->opts[k];
        if (op->reason_class || !op->has_latency) continue;
        if (op->p50_ms < best_lat) best_lat = op->p50_ms;
        if ((double)op->contracted_nano < best_cost) best_cost = (double)op->contracted_nano;
    }
    if (!isfinite(best_lat)) return; /* no latency: nothing to trade off */
    if (best_cost <= 0) best_cost = 1;
    if (best_lat <= 0) best_lat = 1;
    double best_score = INFINITY;
    for (size_t k = 0; k < w->nopts; k++) {
        option *op = &w->opts[k];
        if (op->reason_class || !op->has_latency) continue;
        double s = (1 - weight) * (double)op->contracted_nano / best_cost + weight * op->p50_ms / best_lat;
        if (s < best_score) best_score = s;
    }
    for (size_t k = 0; k < w->nopts; k++) {
        option *op = &w->opts[k];
        if (op->reason_class) continue;
        if (!op->has_latency) {
            eliminate(op, "objective", "no latency estimate, objective %s needs one", obj);
        } else if (weight >= 1.0) {
            double band = best_lat * 0.10 > 2.0 ? best_lat * 0.10 : 2.0;
            if (op->p50_ms > best_lat + band)
                eliminate(op, "objective", "p50 %.1f ms is more than %.1f ms above the best "
                          "(%.1f ms) for objective latency", op->p50_ms, band, best_lat);
        } else {
            double s = (1 - weight) * (double)op->contracted_nano / best_cost + weight * op->p50_ms / best_lat;
            if (s > best_score * 1.10)
                eliminate(op, "objective", "balanced score %.3f is more than 10%% above the best "
                          "(%.3f, latency weight %.2f)", s, best_score, weight);
        }
    }
}

/* ---- explaining infeasibility ---------------------------------------------------------------- */

static void sources_text(const json_t *doc, fbi_buf *b)
{
    json_t *sources = jpath(jpath(doc, "spec", "traffic"), "sources", NULL);
    size_t i;
    json_t *s;
    json_array_foreach(sources, i, s) {
        double wgt = json_number_value(json_object_get(s, "weight"));
        if (i) fbi_buf_puts(b, ", ");
        fbi_buf_puts(b, jstr(s, "location"));
        if (json_array_size(sources) > 1) fbi_buf_printf(b, " %.0f%%", wgt * 100);
    }
}

/* Why workload w has no candidate left, and what the nearest one needs. */
static void explain_infeasible(model *m, wl *w, json_t *why)
{
    static const char *classes[] = {"baseline", "provider", "region", "service", "trigger",
                                    "residency", "driver", "price", "latency", "budget", "objective"};
    fbi_buf msg;
    fbi_buf_init(&msg);
    fbi_buf_printf(&msg, "no placement for %s/%s: all %zu offers for a %s were eliminated (",
                   w->tenant, w->name, w->nopts, w->kind);
    int first = 1;
    for (size_t c = 0; c < sizeof classes / sizeof *classes; c++) {
        size_t n = 0;
        for (size_t k = 0; k < w->nopts; k++)
            if (w->opts[k].reason_class && !strcmp(w->opts[k].reason_class, classes[c])) n++;
        if (!n) continue;
        fbi_buf_printf(&msg, "%s%s %zu", first ? "" : ", ", classes[c], n);
        first = 0;
    }
    fbi_buf_puts(&msg, ")");
    if (w->nopts == 0) {
        fbi_buf_free(&msg);
        msg.data = NULL;
        fbi_buf_init(&msg);
        fbi_buf_printf(&msg, "no placement for %s/%s: no loaded driver offers a %s", w->tenant,
                       w->name, w->kind);
    }
    fbi_buf detail;
    fbi_buf_init(&detail);
    json_t *place = jpath(w->doc, "spec", "placement");
    /* nearest by latency */
    option *best = NULL;
    for (size_t k = 0; k < w->nopts; k++) {
        option *op = &w->opts[k];
        if (op->reason_class && !strcmp(op->reason_class, "latency") && op->has_latency &&
            (!best || op->p50_ms < best->p50_ms))
            best = op;
    }
    if (best) {
        fbi_buf src;
        fbi_buf_init(&src);
        sources_text(w->doc, &src);
        fbi_buf_printf(&detail, "latency SLO %lld ms from %s: best is %s:%s at %.0f ms (%s)",
                       (long long)json_integer_value(jpath(place, "latencySLO", "p50Ms")),
                       src.data ? src.data : "?", best->provider, best->region, best->p50_ms,
                       best->service);
        fbi_buf_free(&src);
    }
    option *cheap = NULL;
    for (size_t k = 0; k < w->nopts; k++) {
        option *op = &w->opts[k];
        if (op->reason_class && !strcmp(op->reason_class, "budget") &&
            (!cheap || op->contracted_nano < cheap->contracted_nano))
            cheap = op;
    }
    if (cheap) {
        char a[40], bb[40];
        fbi_buf_printf(&detail, "%sbudget %s USD/month: the cheapest is %s at %s USD/month",
                       detail.len ? "; " : "",
                       fbi_nano_str(json_integer_value(jpath(place, "budget", "monthlyMicroUsd")) *
                                    NANO_PER_MICRO, a),
                       cheap->label, fbi_nano_str(cheap->contracted_nano, bb));
    }
    json_t *res = json_object_get(place, "residency");
    if (json_array_size(res)) {
        json_t *seen = json_object();
        for (size_t k = 0; k < w->nopts; k++) {
            option *op = &w->opts[k];
            if (op->reason_class && !strcmp(op->reason_class, "residency") && op->reg)
                json_object_set_new(seen, op->reg->jurisdiction, json_true());
        }
        if (json_object_size(seen)) {
            fbi_buf_printf(&detail, "%sresidency allows ", detail.len ? "; " : "");
            size_t i;
            json_t *v;
            json_array_foreach(res, i, v) fbi_buf_printf(&detail, "%s%s", i ? "," : "", json_string_value(v));
            fbi_buf_puts(&detail, "; the other offers are in ");
            const char *key;
            json_t *val;
            int f = 1;
            json_object_foreach(seen, key, val) {
                fbi_buf_printf(&detail, "%s%s", f ? "" : ", ", key);
                f = 0;
            }
        }
        json_decref(seen);
    }
    /* up to three distinct reasons of every other class, with how many
     * offers each one eliminated */
    for (size_t c = 0; c < sizeof classes / sizeof *classes; c++) {
        if (!strcmp(classes[c], "latency") || !strcmp(classes[c], "budget") ||
            !strcmp(classes[c], "residency") || !strcmp(classes[c], "baseline"))
            continue;
        json_t *seen = json_object();
        int shown = 0;
        for (size_t k = 0; k < w->nopts; k++) {
            option *op = &w->opts[k];
            if (!op->reason_class || strcmp(op->reason_class, classes[c])) continue;
            json_t *cnt = json_object_get(seen, op->reason);
            if (cnt) {
                json_object_set_new(seen, op->reason, json_integer(json_integer_value(cnt) + 1));
                continue;
            }
            json_object_set_new(seen, op->reason, json_integer(1));
        }
        for (size_t k = 0; k < w->nopts && shown < 3; k++) {
            option *op = &w->opts[k];
            if (!op->reason_class || strcmp(op->reason_class, classes[c])) continue;
            json_t *cnt = json_object_get(seen, op->reason);
            if (!cnt || json_integer_value(cnt) == 0) continue;
            json_int_t n = json_integer_value(cnt);
            fbi_buf_printf(&detail, "%s%s: %s", detail.len ? "; " : "", op->label, op->reason);
            if (n > 1) fbi_buf_printf(&detail, " (and %lld more offers)", (long long)(n - 1));
            json_object_set_new(seen, op->reason, json_integer(0));
            shown++;
        }
        json_decref(seen);
    }
    fb_diag_add(m->diag, FB_SEV_ERROR, NULL, 0, 0, NULL, msg.data, detail.data);
    json_array_append_new(why, json_pack("{s:s,s:s,s:s?}", "workload", w->name, "reason", msg.data,
                                         "nearest", detail.data));
    fbi_buf_free(&msg);
    fbi_buf_free(&detail);
}

/* ---- the joint problem ------------------------------------------------------------ */

typedef struct jlink {
    int from, to;           /* indices into m->w */
    int64_t volume_nano_gib;
    int64_t budget_ms;      /* 0: none */
    const char *tenant;
} jlink;

typedef struct build {
    fbi_problem *p;
    json_t *region_idx;     /* key -> int */
    json_t *offer_idx;      /* label -> int */
    json_t *egress;         /* "a|b" -> {ok, nano, sku, kind, note} */
    jlink *links;
    size_t nlinks;
} build;

static int region_index(model *m, build *bd, option *op)
{
    json_t *v = json_object_get(bd->region_idx, op->key);
    if (v) return (int)json_integer_value(v);
    char *err = NULL;
    int r = fbi_problem_add_region(bd->p, op->key, op->price_provider, &err);
    free(err);
    json_object_set_new(bd->region_idx, op->key, json_integer(r));
    (void)m;
    return r;
}

/* Nano-USD per GiB of a per-GB or per-GiB unit price. */
static int64_t per_gib_nano(fbi_pusd unit, const char *row_unit)
{
    unsigned __int128 v = (unsigned __int128)unit;
    if (row_unit && !strcmp(row_unit, "GiB")) return (int64_t)((v + 500) / 1000);
    /* GB = 10^9 bytes: per GiB = per GB x 2^30 / 10^9 */
    v = v * (UINT64_C(1) << 30);
    unsigned __int128 den = (unsigned __int128)1000 * 1000000000u;
    return (int64_t)((v + den / 2) / den);
}

/* The egress price between two region keys, cached; NULL when none. */
static json_t *egress_between(model *m, build *bd, option *a, option *b)
{
    char *k = fbi_xasprintf("%s|%s", a->key, b->key);
    json_t *e = json_object_get(bd->egress, k);
    if (!e) {
        fbi_egress eg;
        memset(&eg, 0, sizeof eg);
        fb_diag *d = fb_diag_new();
        fb_status st = fbi_catalog_egress(m->cat, a->key, b->key, &eg, d);
        if (st == FB_OK && (eg.ntiers > 0 || eg.fallback)) {
            const fbi_price_row *row = eg.ntiers ? eg.tiers[0] : NULL;
            const char *rule = NULL;
            fbi_pusd unit = row ? fbi_catalog_contracted_price(m->cat, row, &rule) : 0;
            e = json_pack("{s:b,s:I,s:s,s:s?,s:s?,s:s?,s:s?,s:s}", "ok", 1, "nano_per_gib",
                          (json_int_t)per_gib_nano(unit, row ? row->unit : NULL), "kind",
                          fbi_egress_kind_name(eg.kind), "sku", row ? row->sku : NULL,
                          "unit", row ? row->unit : NULL, "unit_price",
                          row ? row->usd_per_unit_text : NULL, "rule", rule, "note", eg.note);
        } else {
            e = json_pack("{s:b,s:s}", "ok", 0, "note",
                          fb_diag_count(d) ? fb_diag_summary(d, 0) : "no egress row");
        }
        fb_diag_free(d);
        fbi_egress_clear(&eg);
        json_object_set_new(bd->egress, k, e);
    }
    free(k);
    return e;
}

static wl *find_wl(model *m, const char *tenant, const char *base, size_t *first, size_t *count)
{
    *count = 0;
    for (size_t i = 0; i < m->nw; i++) {
        if (strcmp(m->w[i].base, base) || strcmp(m->w[i].tenant, tenant)) continue;
        if (!*count) *first = i;
        (*count)++;
    }
    return *count ? &m->w[*first] : NULL;
}

/* Bytes per month to nano-GiB, rounded half up. */
static int64_t bytes_to_nano_gib(uint64_t bytes)
{
    unsigned __int128 v = (unsigned __int128)bytes * 1000000000u;
    uint64_t den = UINT64_C(1) << 30;
    return (int64_t)((v + den / 2) / den);
}

static void add_pair(build *bd, fbi_pair_kind kind, int a, int b, const int *pairs, size_t np)
{
    char *err = NULL;
    fbi_problem_add_pair(bd->p, kind, a, b, pairs, np, &err);
    free(err);
}

static void build_problem(model *m, build *bd)
{
    char *err = NULL;
    bd->p = fbi_problem_new();
    bd->region_idx = json_object();
    bd->offer_idx = json_object();
    bd->egress = json_object();
    for (size_t i = 0; i < m->nw; i++) {
        wl *w = &m->w[i];
        int64_t demand = 0;
        for (size_t k = 0; k < w->nopts; k++)
            if (!w->opts[k].reason_class && w->opts[k].vcpu_micro > demand)
                demand = w->opts[k].vcpu_micro;
        w->sp_w = fbi_problem_add_workload(bd->p, w->name, demand, &err);
        for (size_t k = 0; k < w->nopts; k++) {
            option *op = &w->opts[k];
            if (op->reason_class) continue;
            json_t *v = json_object_get(bd->offer_idx, op->label);
            if (!v) {
                int r = region_index(m, bd, op);
                int o = fbi_problem_add_offer(bd->p, op->label, r, FBI_UNLIMITED, &err);
                v = json_integer(o);
                json_object_set_new(bd->offer_idx, op->label, v);
            }
            op->sp_offer = (int)json_integer_value(v);
            fbi_problem_add_option(bd->p, w->sp_w, op->sp_offer, op->contracted_nano, &err);
        }
    }
    free(err);
    err = NULL;
    /* quotas: configuration "quotas": {"provider:region": {"vcpu": n, "instances": n}} */
    json_t *quotas = json_object_get(m->b->config, "quotas");
    const char *qkey;
    json_t *q;
    json_object_foreach(quotas, qkey, q) {
        int *offs = NULL;
        size_t n = 0;
        const char *label;
        json_t *v;
        json_object_foreach(bd->offer_idx, label, v) {
            /* label is provider:service:region; the quota key provider:region */
            const char *c1 = strchr(label, ':');
            const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
            if (!c2) continue;
            size_t plen = (size_t)(c1 - label);
            if (strncmp(qkey, label, plen) || qkey[plen] != ':' || strcmp(qkey + plen + 1, c2 + 1))
                continue;
            offs = fbi_xrealloc(offs, (n + 1) * sizeof *offs);
            offs[n++] = (int)json_integer_value(v);
        }
        if (n) {
            char *nm = fbi_xasprintf("quota %s vcpu", qkey);
            json_t *vc = json_object_get(q, "vcpu");
            if (json_is_number(vc))
                fbi_problem_add_group(bd->p, nm, FBI_MEASURE_VCPU,
                                      (int64_t)llround(json_number_value(vc) * 1e6), offs, n, &err);
            free(nm);
            nm = fbi_xasprintf("quota %s instances", qkey);
            json_t *in = json_object_get(q, "instances");
            if (json_is_integer(in))
                fbi_problem_add_group(bd->p, nm, FBI_MEASURE_COUNT, json_integer_value(in), offs, n, &err);
            free(nm);
        }
        free(offs);
        free(err);
        err = NULL;
    }
    /* budgets per federation (tenant budgets) */
    json_t *feds = json_loads(fb_spec_federations_json(m->set), 0, NULL);
    size_t fi;
    json_t *fed;
    json_array_foreach(feds, fi, fed) {
        int64_t budget = json_integer_value(jpath(fed, "budget", "monthlyMicroUsd"));
        if (budget <= 0) continue;
        int *ws = NULL;
        size_t n = 0;
        size_t k;
        json_t *name;
        json_array_foreach(json_object_get(fed, "workloads"), k, name) {
            size_t first = 0, cnt = 0;
            find_wl(m, jstr(fed, "tenant"), json_string_value(name), &first, &cnt);
            for (size_t r = 0; r < cnt; r++) {
                ws = fbi_xrealloc(ws, (n + 1) * sizeof *ws);
                ws[n++] = m->w[first + r].sp_w;
            }
        }
        char *nm = fbi_xasprintf("budget of federation %s/%s", jstr(fed, "tenant"), jstr(fed, "name"));
        fbi_problem_add_budget(bd->p, nm, budget * NANO_PER_MICRO, ws, n, &err);
        free(err);
        err = NULL;
        free(nm);
        free(ws);
    }
    json_decref(feds);
    /* spread, affinity, anti-affinity */
    for (size_t i = 0; i < m->nw; i++) {
        wl *w = &m->w[i];
        json_t *place = jpath(w->doc, "spec", "placement");
        if (w->replica == 0 && w->nreplicas > 1) {
            int64_t minp = json_integer_value(jpath(place, "spread", "minProviders"));
            for (int a = 0; a < w->nreplicas; a++)
                for (int b = a + 1; b < w->nreplicas; b++) {
                    add_pair(bd, FBI_PAIR_DIFFERENT_REGION, m->w[i + a].sp_w, m->w[i + b].sp_w, NULL, 0);
                    if (b < minp)
                        add_pair(bd, FBI_PAIR_DIFFERENT_PROVIDER, m->w[i + a].sp_w, m->w[i + b].sp_w, NULL, 0);
                }
        }
        size_t k;
        json_t *t;
        json_array_foreach(json_object_get(place, "affinity"), k, t) {
            size_t first = 0, cnt = 0;
            if (find_wl(m, w->tenant, json_string_value(t), &first, &cnt) && cnt == 1)
                add_pair(bd, FBI_PAIR_SAME_REGION, w->sp_w, m->w[first].sp_w, NULL, 0);
        }
        json_array_foreach(json_object_get(place, "antiAffinity"), k, t) {
            size_t first = 0, cnt = 0;
            find_wl(m, w->tenant, json_string_value(t), &first, &cnt);
            for (size_t r = 0; r < cnt; r++)
                add_pair(bd, FBI_PAIR_DIFFERENT_REGION, w->sp_w, m->w[first + r].sp_w, NULL, 0);
        }
    }
    /* links: egress between the regions chosen, latency budgets as
     * forbidden combinations, and missing egress prices as forbidden too */
    json_t *links = json_loads(fb_spec_links_json(m->set), 0, NULL);
    size_t li;
    json_t *lk;
    json_array_foreach(links, li, lk) {
        size_t f0 = 0, fc = 0, t0 = 0, tc = 0;
        if (!find_wl(m, jstr(lk, "tenant"), jstr(lk, "from"), &f0, &fc) ||
            !find_wl(m, jstr(lk, "tenant"), jstr(lk, "to"), &t0, &tc))
            continue;
        uint64_t bytes = (uint64_t)json_integer_value(json_object_get(lk, "volumeBytesPerMonth"));
        int64_t budget = json_integer_value(json_object_get(lk, "latencyBudgetMs"));
        uint64_t pairs = (uint64_t)fc * tc, left = bytes;
        for (size_t a = 0; a < fc; a++) {
            for (size_t b = 0; b < tc; b++) {
                uint64_t share = bytes / pairs + ((a * tc + b) < bytes % pairs ? 1 : 0);
                left -= share;
                wl *wa = &m->w[f0 + a], *wb = &m->w[t0 + b];
                int *forbid = NULL;
                size_t nf = 0;
                for (size_t x = 0; x < wa->nopts; x++) {
                    option *oa = &wa->opts[x];
                    if (oa->reason_class) continue;
                    for (size_t y = 0; y < wb->nopts; y++) {
                        option *ob = &wb->opts[y];
                        if (ob->reason_class) continue;
                        json_t *e = egress_between(m, bd, oa, ob);
                        int bad = !json_is_true(json_object_get(e, "ok"));
                        if (!bad) {
                            char *e2 = NULL;
                            fbi_problem_set_egress(bd->p, region_index(m, bd, oa), region_index(m, bd, ob),
                                                   json_integer_value(json_object_get(e, "nano_per_gib")), &e2);
                            free(e2);
                        }
                        if (!bad && budget > 0) {
                            double ms;
                            fbi_rtt_origin org;
                            bad = fbi_catalog_rtt(m->cat, oa->key, ob->key, &ms, &org) != FB_OK ||
                                  ms > (double)budget;
                        }
                        if (bad) {
                            forbid = fbi_xrealloc(forbid, (nf + 1) * 2 * sizeof *forbid);
                            forbid[2 * nf] = oa->sp_offer;
                            forbid[2 * nf + 1] = ob->sp_offer;
                            nf++;
                        }
                    }
                }
                if (nf) add_pair(bd, FBI_PAIR_FORBIDDEN_OFFERS, wa->sp_w, wb->sp_w, forbid, nf);
                free(forbid);
                int64_t vol = bytes_to_nano_gib(share);
                if (vol > 0) {
                    char *e3 = NULL;
                    fbi_problem_add_link(bd->p, wa->sp_w, wb->sp_w, vol, &e3);
                    free(e3);
                }
                bd->links = fbi_xrealloc(bd->links, (bd->nlinks + 1) * sizeof *bd->links);
                bd->links[bd->nlinks++] = (jlink){(int)(f0 + a), (int)(t0 + b), vol, budget,
                                                  jstr(lk, "tenant")};
            }
        }
        (void)left;
    }
    json_decref(links);
}

static void build_free(build *bd);

/* Equal-cost plans are common (a price is the same in several regions);
 * which one the solver returns can depend on thread timing. Finance diffs
 * reports, so a proven-optimal plan of a small federation is replaced by
 * the lexicographically first optimal plan: for each workload in order, the
 * first of its candidates (in offer order) that still allows the optimal
 * total, each probe an exact solve with the earlier workloads fixed. Larger
 * problems keep the solver's plan. Returns 1 when bd and r were replaced. */
static int lexmin(model *m, build *bd, fbi_result *r, double time_limit)
{
    if (r->status != FBI_OPTIMAL || m->nw == 0 || m->nw > 16) return 0;
    fbi_money best = r->total;
    size_t probes = 0;
    for (size_t i = 0; i < m->nw; i++) {
        wl *w = &m->w[i];
        size_t alive = 0;
        for (size_t k = 0; k < w->nopts; k++) alive += !w->opts[k].reason_class;
        if (alive <= 1) continue;
        int fixed = 0;
        for (size_t k = 0; k < w->nopts && !fixed; k++) {
            if (w->opts[k].reason_class) continue;
            /* keep only candidate k of workload i */
            for (size_t j = 0; j < w->nopts; j++)
                if (j != k && !w->opts[j].reason_class) w->opts[j].reason_class = fbi_xstrdup("\x01tie");
            build probe;
            memset(&probe, 0, sizeof probe);
            build_problem(m, &probe);
            fbi_result pr;
            memset(&pr, 0, sizeof pr);
            fbi_solve_opts so = {FBI_MODE_EXACT, time_limit, 1, 0};
            char *err = NULL;
            int ok = fbi_solve(probe.p, &so, &pr, &err) == 0 && pr.status == FBI_OPTIMAL &&
                     pr.total == best;
            free(err);
            fbi_result_free(&pr);
            build_free(&probe);
            if (++probes > 200) ok = 0;
            if (ok) {
                fixed = 1;
            } else {
                for (size_t j = 0; j < w->nopts; j++)
                    if (w->opts[j].reason_class && w->opts[j].reason_class[0] == '\x01') {
                        free(w->opts[j].reason_class);
                        w->opts[j].reason_class = NULL;
                    }
                if (probes > 200) goto give_up;
            }
        }
    }
    /* every tie is now settled: solve the fixed problem for the output */
    {
        build fin;
        memset(&fin, 0, sizeof fin);
        build_problem(m, &fin);
        fbi_result fr;
        memset(&fr, 0, sizeof fr);
        fbi_solve_opts so = {FBI_MODE_EXACT, time_limit, 1, 0};
        char *err = NULL;
        if (fbi_solve(fin.p, &so, &fr, &err) == 0 && fr.status == FBI_OPTIMAL && fr.total == best) {
            free(err);
            fr.bound = r->bound; /* the bound proven on the whole problem */
            fr.gap = r->gap;
            build_free(bd);
            *bd = fin;
            fbi_result_free(r);
            *r = fr;
            /* the settled-away candidates are alternatives again, outside
             * the final problem */
            for (size_t i = 0; i < m->nw; i++)
                for (size_t j = 0; j < m->w[i].nopts; j++)
                    if (m->w[i].opts[j].reason_class && m->w[i].opts[j].reason_class[0] == '\x01') {
                        free(m->w[i].opts[j].reason_class);
                        m->w[i].opts[j].reason_class = NULL;
                        m->w[i].opts[j].sp_offer = -1;
                    }
            return 1;
        }
        free(err);
        fbi_result_free(&fr);
        build_free(&fin);
    }
give_up:
    /* undo the fixing: the solver's own plan stands */
    for (size_t i = 0; i < m->nw; i++)
        for (size_t j = 0; j < m->w[i].nopts; j++)
            if (m->w[i].opts[j].reason_class && m->w[i].opts[j].reason_class[0] == '\x01') {
                free(m->w[i].opts[j].reason_class);
                m->w[i].opts[j].reason_class = NULL;
            }
    return 0;
}

static void build_free(build *bd)
{
    fbi_problem_free(bd->p);
    json_decref(bd->region_idx);
    json_decref(bd->offer_idx);
    json_decref(bd->egress);
    free(bd->links);
}

/* volume x price / 10^9 rounded to nearest, ties to even: the solver's rule
 * (docs/solver.md), so the report's link lines add up to its total. */
static int64_t link_cost(int64_t vol_nano_gib, int64_t nano_per_gib)
{
    __int128 v = (__int128)vol_nano_gib * nano_per_gib;
    __int128 q = v / 1000000000, r = v % 1000000000;
    if (r * 2 > 1000000000 || (r * 2 == 1000000000 && (q & 1))) q++;
    return (int64_t)q;
}

/* ---- free tiers --------------------------------------------------------------------- */

/* Does a free-tier row cover a priced usage row? Same provider and service,
 * metric "free_tier_M" or "M_free_tier", and a variant that matches. */
static int free_covers(const fbi_price_row *f, const fbi_price_row *u)
{
    if (strcmp(f->provider, u->provider) || strcmp(f->service, u->service)) return 0;
    size_t ml = strlen(u->metric);
    int mok = (!strncmp(f->metric, "free_tier_", 10) && !strcmp(f->metric + 10, u->metric)) ||
              (!strncmp(f->metric, u->metric, ml) && !strcmp(f->metric + ml, "_free_tier"));
    if (!mok) return 0;
    if (!*f->variant || !strcmp(f->variant, u->variant)) return 1;
    /* "x86_64+arm64" covers "arm64"; "request-based" covers "request-based billing" */
    char *parts = fbi_xstrdup(f->variant), *save = NULL;
    int ok = 0;
    for (char *t = strtok_r(parts, "+", &save); t && !ok; t = strtok_r(NULL, "+", &save))
        if (!strcmp(t, u->variant)) ok = 1;
    free(parts);
    size_t fl = strlen(f->variant);
    if (!ok && !strncmp(u->variant, f->variant, fl) && u->variant[fl] == ' ') ok = 1;
    return ok;
}

/* Nets each free tier at billing-account level: the free quantity is
 * shared among the chosen lines it covers in proportion to their quantity
 * (largest remainder in micro-units), and each share is valued at the
 * contracted unit price of the line it offsets. Returns the credit rows. */
static json_t *apply_free_tiers(model *m, int64_t *credit_total)
{
    json_t *rows = json_array();
    *credit_total = 0;
    for (size_t fi = 0; fi < fbi_catalog_price_count(m->cat); fi++) {
        const fbi_price_row *f = fbi_catalog_price(m->cat, fi);
        if (strcmp(f->pricing_model, "free-tier") || f->alternate_of[0]) continue;
        pline **ls = NULL;
        size_t n = 0;
        unsigned __int128 total = 0;
        for (size_t i = 0; i < m->nw; i++) {
            if (m->w[i].chosen < 0) continue;
            option *op = &m->w[i].opts[m->w[i].chosen];
            for (size_t k = 0; k < op->nlines; k++) {
                if (!free_covers(f, op->lines[k].row)) continue;
                ls = fbi_xrealloc(ls, (n + 1) * sizeof *ls);
                ls[n++] = &op->lines[k];
                total += (unsigned __int128)op->lines[k].qty;
            }
        }
        if (!n || total == 0) {
            free(ls);
            continue;
        }
        fbi_qty allowance = f->tier_end;
        fbi_qty freeq = (unsigned __int128)allowance < total ? allowance : (fbi_qty)total;
        /* largest remainder */
        fbi_qty given = 0;
        unsigned __int128 *rem = fbi_xcalloc(n, sizeof *rem);
        for (size_t k = 0; k < n; k++) {
            unsigned __int128 num = (unsigned __int128)freeq * (unsigned __int128)ls[k]->qty;
            ls[k]->free_qty = (fbi_qty)(num / total);
            rem[k] = num % total;
            given += ls[k]->free_qty;
        }
        while (given < freeq) {
            size_t best = 0;
            for (size_t k = 1; k < n; k++)
                if (rem[k] > rem[best]) best = k;
            ls[best]->free_qty++;
            rem[best] = 0;
            given++;
        }
        free(rem);
        int64_t credit = 0;
        for (size_t k = 0; k < n; k++) {
            fbi_musd c = 0;
            char *err = NULL;
            if (fbi_line_cost(ls[k]->free_qty, ls[k]->contracted_unit, &c, &err) != 0) free(err);
            ls[k]->credit_nano = -c * NANO_PER_MICRO;
            credit += ls[k]->credit_nano;
        }
        char q[32], a[32];
        fbi_qty_format(freeq, q);
        fbi_qty_format(allowance, a);
        char cb[40];
        json_array_append_new(rows, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i}",
            "sku", f->sku, "provider", f->provider, "service", f->service, "metric", f->metric,
            "allowance", a, "used", q, "unit", f->unit, "credit", fbi_nano_str(credit, cb),
            "lines", (int)n));
        *credit_total += credit;
        free(ls);
    }
    return rows;
}

/* ---- the plan document ---------------------------------------------------------------- */

static json_t *line_json(const pline *l)
{
    char qb[32], ub[32], cb[32], tb[32], te[32], a[40], b[40], c[40];
    fbi_qty_format(l->qty, qb);
    fbi_pusd_format(l->row->usd_per_unit, ub);
    fbi_pusd_format(l->contracted_unit, cb);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}",
        "what", l->what, "service", l->row->service, "metric", l->row->metric,
        "variant", l->row->variant, "unit", l->row->unit, "quantity", qb,
        "unit_price", ub, "contracted_unit_price", cb,
        "list_cost", fbi_nano_str(l->list_nano, a),
        "contracted_cost", fbi_nano_str(l->contracted_nano, b),
        "effective_cost", fbi_nano_str(l->contracted_nano + l->credit_nano, c),
        "sku", l->row->sku, "source", l->row->source, "as_of", l->row->as_of,
        "confidence", fbi_confidence_name(l->row->confidence));
    json_object_set_new(o, "price_region", json_string(l->row->region));
    if (l->row->vendor_sku[0]) json_object_set_new(o, "vendor_sku", json_string(l->row->vendor_sku));
    if (l->row->tiered) {
        fbi_qty_format(l->row->tier_start, tb);
        fbi_qty_format(l->row->tier_end, te);
        json_object_set_new(o, "tier", json_sprintf("%s-%s", tb, te));
    }
    if (l->rule) json_object_set_new(o, "contract_rule", json_string(l->rule));
    if (l->note) json_object_set_new(o, "note", json_string(l->note));
    if (l->credit_nano) {
        char d[40];
        fbi_qty_format(l->free_qty, qb);
        json_object_set_new(o, "free_tier_quantity", json_string(qb));
        json_object_set_new(o, "free_tier_credit", json_string(fbi_nano_str(l->credit_nano, d)));
    }
    return o;
}

static json_t *option_summary(const option *op)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:o}", "provider", op->provider, "service", op->service,
                          "region", op->region, "monthly_cost", nano_json(op->contracted_nano));
    if (op->has_latency) json_object_set_new(o, "p50_latency_ms", json_real(round(op->p50_ms * 10) / 10));
    if (op->reason) json_object_set_new(o, "eliminated_by", json_string(op->reason));
    return o;
}

/* The alternatives finance sees: the cheapest and the fastest of the other
 * candidates, and why each lost. */
static json_t *alternatives(const wl *w, const option *chosen)
{
    json_t *alts = json_array();
    int *used = fbi_xcalloc(w->nopts, sizeof *used);
    for (int round = 0; round < 4; round++) {
        const option *best = NULL;
        size_t bi = 0;
        for (size_t k = 0; k < w->nopts; k++) {
            const option *op = &w->opts[k];
            if (op == chosen || used[k]) continue;
            if (op->reason_class && strcmp(op->reason_class, "latency") &&
                strcmp(op->reason_class, "budget") && strcmp(op->reason_class, "objective"))
                continue;
            int better = !best;
            if (!better && round != 1) better = op->contracted_nano < best->contracted_nano;
            if (!better && round == 1 && op->has_latency)
                better = !best->has_latency || op->p50_ms < best->p50_ms;
            if (better) { best = op; bi = k; }
        }
        if (!best) break;
        used[bi] = 1;
        json_t *a = option_summary(best);
        char d[40];
        int64_t diff = best->contracted_nano - chosen->contracted_nano;
        const char *decided;
        char *why = NULL;
        if (best->reason) decided = best->reason;
        else if (diff > 0) {
            why = fbi_xasprintf("costs %s USD/month more", fbi_nano_str(diff, d));
            decided = why;
        } else {
            decided = "cheaper alone, but the joint plan (links, quotas, budgets, spread) chose otherwise";
        }
        json_object_set_new(a, "decided_by", json_string(decided));
        free(why);
        json_array_append_new(alts, a);
    }
    free(used);
    return alts;
}

static void add_amount(json_t *obj, const char *key, int64_t nano)
{
    json_t *v = json_object_get(obj, key);
    int64_t cur = v ? json_integer_value(v) : 0;
    json_object_set_new(obj, key, json_integer(cur + nano));
}

/* Turns {key: nano} into {key: "decimal"}. */
static json_t *amounts_json(json_t *obj)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) json_object_set_new(out, k, nano_json(json_integer_value(v)));
    json_decref(obj);
    return out;
}

static const char *hours_basis(double hours, char *buf)
{
    if (hours == 730.0) return "730 hours per month (8,760 / 12)";
    snprintf(buf, 64, "%.0f hours (a %d-day calendar month)", hours, (int)(hours / 24));
    return buf;
}

static fb_status open_catalog(model *m)
{
    json_t *cc = json_object_get(m->b->config, "catalog");
    const char *dir = m->o->catalog_dir ? m->o->catalog_dir : jstr(cc, "dir");
    const char *ov = m->o->overrides ? m->o->overrides : jstr(cc, "overrides");
    /* Catalog warnings (e.g. an unusual tier) belong to `catalog validate`;
     * a plan reports only the errors that stop it. */
    fb_diag *cd = fb_diag_new();
    fb_status st = fbi_catalog_open(dir, ov, &m->cat, cd);
    for (size_t i = 0; i < fb_diag_count(cd); i++)
        if (fb_diag_severity(cd, i) == FB_SEV_ERROR)
            fb_diag_add(m->diag, FB_SEV_ERROR, fb_diag_file(cd, i), fb_diag_line(cd, i),
                        fb_diag_column(cd, i), fb_diag_pointer(cd, i), fb_diag_summary(cd, i),
                        fb_diag_detail(cd, i));
    fb_diag_free(cd);
    if (st != FB_OK) return st;
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(cc, "params"), k, v) {
        char *text = json_is_string(v) ? fbi_xstrdup(json_string_value(v))
                                       : json_dumps(v, JSON_ENCODE_ANY);
        st = fbi_catalog_set_param(m->cat, k, text, m->diag);
        free(text);
        if (st != FB_OK) return st;
    }
    return FB_OK;
}

static json_t *baselines(fbi_broker *b, fb_spec_set *set, const fbi_plan_opts *o,
                         int64_t total, int feasible)
{
    json_t *out = json_array();
    json_t *seen = json_object();
    size_t i;
    json_t *offer;
    json_array_foreach(fbi_broker_offers(b, NULL), i, offer) {
        const char *p = jstr(offer, "provider");
        const char *okind = jstr(offer, "kind");
        if (!p || json_object_get(seen, p) || !okind || !strcmp(okind, "QuantumJob")) continue;
        json_object_set_new(seen, p, json_true());
        fbi_plan_opts bo = *o;
        bo.baselines = 0;
        bo.export_lp = NULL;
        bo.restrict_provider = p;
        json_t *plan = NULL;
        fb_diag *d = fb_diag_new();
        fb_status st = fbi_plan_run(b, set, &bo, &plan, d);
        json_t *row = json_pack("{s:s,s:s}", "name", "all-", "provider", p);
        json_object_set_new(row, "name", json_sprintf("all-%s", p));
        if (st == FB_OK) {
            int64_t bt = 0;
            char *err = NULL;
            fbi_decimal_parse(jstr(plan, "total_monthly_cost"), 9, &bt, &err);
            free(err);
            json_object_set_new(row, "status", json_string("feasible"));
            json_object_set_new(row, "total_monthly_cost", nano_json(bt));
            if (feasible) json_object_set_new(row, "savings", nano_json(bt - total));
        } else {
            json_object_set_new(row, "status", json_string("infeasible"));
            size_t k = 0;
            while (k < fb_diag_count(d) && fb_diag_severity(d, k) != FB_SEV_ERROR) k++;
            json_object_set_new(row, "reason", json_string(k < fb_diag_count(d) ? fb_diag_summary(d, k)
                                                                                : fbi_status_name(st)));
        }
        json_array_append_new(out, row);
        json_decref(plan);
        fb_diag_free(d);
    }
    json_decref(seen);
    return out;
}

fb_status fbi_plan_run(fbi_broker *b, fb_spec_set *set, const fbi_plan_opts *opts,
                       json_t **plan_out, fb_diag *diag)
{
    *plan_out = NULL;
    model m;
    memset(&m, 0, sizeof m);
    m.b = b;
    m.o = opts;
    m.set = set;
    m.diag = diag;
    m.hours = opts->calendar_hours ? 24.0 * opts->calendar_hours : 730.0;
    if (open_catalog(&m) != FB_OK) {
        model_free(&m);
        return FB_INVALID;
    }
    build_workloads(&m);
    if (m.invalid) {
        model_free(&m);
        return FB_INVALID;
    }
    for (size_t i = 0; i < m.nw; i++) apply_objective(&m.w[i]);

    json_t *plan = json_object();
    char hb[64], when[21];
    int64_t now = 0;
    fbi_now(&now, NULL);
    fbi_format_rfc3339(now, when);
    json_object_set_new(plan, "format", json_string("fedbroker-plan/1"));
    json_object_set_new(plan, "generated_at", json_string(when));
    json_object_set_new(plan, "currency", json_string("USD"));
    json_object_set_new(plan, "hours_basis", json_string(hours_basis(m.hours, hb)));
    json_object_set_new(plan, "hours_per_month", json_real(m.hours));
    json_object_set_new(plan, "catalog", json_pack("{s:s,s:I}", "origin", fbi_catalog_origin(m.cat),
                        "override_rules", (json_int_t)fbi_catalog_override_count(m.cat)));
    json_object_set_new(plan, "commitments", json_string(
        "out of scope: savings plans, reserved capacity and committed-use discounts are not "
        "modelled; negotiated prices come from the overrides file (ContractedCost)"));
    json_object_set_new(plan, "free_tier_rule", json_string(
        "free tiers are per billing account per month: each allowance is shared among the "
        "workloads placed on the services it covers, in proportion to their usage (largest "
        "remainder in micro-units), and valued at the contracted unit price of the line it offsets"));
    json_object_set_new(plan, "latency_model", json_string(
        "p50 = traffic-weighted mean of the median RTT from each user location to the region "
        "(measured, same-metro assumption or distance estimate, plus the last-mile adder), plus "
        "the cold start when scale-to-zero leaves the median request without a warm instance"));

    /* workloads with no candidate left make the plan infeasible */
    json_t *why = json_array();
    for (size_t i = 0; i < m.nw; i++) {
        size_t alive = 0;
        for (size_t k = 0; k < m.w[i].nopts; k++) alive += !m.w[i].opts[k].reason_class;
        if (!alive) explain_infeasible(&m, &m.w[i], why);
    }
    fb_status rc = FB_OK;
    fbi_result r;
    memset(&r, 0, sizeof r);
    build bd;
    memset(&bd, 0, sizeof bd);
    int solved = 0;
    json_t *relaxed = json_array();
    for (int attempt = 0; attempt < 2 && json_array_size(why) == 0 && rc == FB_OK && !solved; attempt++) {
        if (attempt == 1) {
            /* The objective's latency band is a preference: when the joint
             * constraints need a candidate it removed, give them back and
             * say so rather than fail. */
            int any = 0;
            for (size_t i = 0; i < m.nw; i++) {
                int mine = 0;
                for (size_t k = 0; k < m.w[i].nopts; k++) {
                    option *op = &m.w[i].opts[k];
                    if (op->reason_class && !strcmp(op->reason_class, "objective")) {
                        free(op->reason_class);
                        free(op->reason);
                        op->reason_class = op->reason = NULL;
                        mine = any = 1;
                    }
                }
                if (mine) json_array_append_new(relaxed, json_string(m.w[i].name));
            }
            if (!any) break;
            fbi_result_free(&r);
            memset(&r, 0, sizeof r);
            build_free(&bd);
            memset(&bd, 0, sizeof bd);
        }
        build_problem(&m, &bd);
        fbi_solve_opts so = {FBI_MODE_AUTO, opts->time_limit_s, 1, 0};
        char *err = NULL;
        if (fbi_solve(bd.p, &so, &r, &err) != 0) {
            fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, "the solver failed", err);
            rc = FB_INTERNAL;
        }
        free(err);
        if (rc == FB_OK && r.status != FBI_INFEASIBLE && r.status != FBI_UNKNOWN) solved = 1;
    }
    if (rc == FB_OK && json_array_size(why) == 0 && !solved) {
        char *msg = fbi_xasprintf("no placement satisfies the joint constraints: %s",
                                  r.reason ? r.reason : "no plan found within the time limit");
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, msg,
                    "relax a quota, a budget, a link latency budget, a latency SLO or a spread constraint");
        json_array_append_new(why, json_pack("{s:s}", "reason", msg));
        free(msg);
    }
    if (rc == FB_OK && bd.p && opts->export_lp) {
        /* the problem that was solved, so glpsol and cbc can check it */
        FILE *f = fopen(opts->export_lp, "w");
        char *err = NULL;
        if (!f || fbi_problem_write_lp(bd.p, f, &err) != 0) {
            char *msg = fbi_xasprintf("cannot write the LP file %s: %s", opts->export_lp,
                                      err ? err : "open failed");
            fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, msg, NULL);
            free(msg);
            rc = FB_INVALID;
        }
        free(err);
        if (f && fclose(f) != 0 && rc == FB_OK) rc = FB_INVALID;
    }
    /* what the solver saw, before ties are settled on a reduced problem */
    json_t *solver_info = NULL;
    if (rc == FB_OK && solved) {
        solver_info = json_pack("{s:s,s:s,s:s,s:f,s:I,s:I,s:I}",
            "status", fbi_status_str(r.status), "bound_method", r.bound_method,
            "plan_method", r.plan_method, "seconds", r.seconds,
            "workloads", (json_int_t)fbi_problem_nworkloads(bd.p),
            "offers", (json_int_t)fbi_problem_noffers(bd.p),
            "links", (json_int_t)fbi_problem_nlinks(bd.p));
        if (lexmin(&m, &bd, &r, opts->time_limit_s))
            json_object_set_new(solver_info, "ties", json_string(
                "settled: of the optimal plans, the first in offer order (so the same input gives the same plan)"));
    }
    if (json_array_size(relaxed) && solved)
        json_object_set_new(plan, "objective_relaxed", json_pack("{s:O,s:s}", "workloads", relaxed,
            "why", "the latency band of objective latency/balanced left no joint placement; "
                   "all candidates that meet the hard constraints were considered"));
    json_decref(relaxed);
    if (rc != FB_OK) {
        json_decref(solver_info);
        json_decref(why);
        json_decref(plan);
        fbi_result_free(&r);
        build_free(&bd);
        model_free(&m);
        return rc;
    }

    int64_t total = 0, list_total = 0, credit = 0;
    json_t *by_provider = json_object(), *by_region = json_object(), *by_label = json_object();
    json_t *wjs = json_array();
    if (solved) {
        for (size_t i = 0; i < m.nw; i++) {
            wl *w = &m.w[i];
            int off = r.offer[w->sp_w];
            for (size_t k = 0; k < w->nopts; k++)
                if (!w->opts[k].reason_class && w->opts[k].sp_offer == off) w->chosen = (int)k;
        }
    }
    json_t *free_rows = solved ? apply_free_tiers(&m, &credit) : json_array();
    /* links first, so each workload carries the egress it sends */
    json_t *ljs = json_array();
    int64_t *sent = fbi_xcalloc(m.nw ? m.nw : 1, sizeof *sent);
    for (size_t i = 0; solved && i < bd.nlinks; i++) {
        jlink *l = &bd.links[i];
        option *oa = &m.w[l->from].opts[m.w[l->from].chosen];
        option *ob = &m.w[l->to].opts[m.w[l->to].chosen];
        json_t *e = egress_between(&m, &bd, oa, ob);
        int64_t price = json_integer_value(json_object_get(e, "nano_per_gib"));
        int64_t cost = link_cost(l->volume_nano_gib, price);
        sent[l->from] += cost;
        double ms = 0;
        fbi_rtt_origin org;
        int have_rtt = fbi_catalog_rtt(m.cat, oa->key, ob->key, &ms, &org) == FB_OK;
        json_t *lj = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:s?,s:s?,s:s?,s:o}",
            "from", m.w[l->from].name, "to", m.w[l->to].name, "from_region", oa->key,
            "to_region", ob->key, "volume_gib", json_string(fbi_nano_str(l->volume_nano_gib, (char[40]){0})),
            "egress_usd_per_gib", nano_json(price), "egress_kind", jstr(e, "kind"),
            "sku", jstr(e, "sku"), "note", jstr(e, "note"), "monthly_cost", nano_json(cost));
        if (have_rtt) json_object_set_new(lj, "rtt_ms", json_real(round(ms * 10) / 10));
        if (l->budget_ms) json_object_set_new(lj, "latency_budget_ms", json_integer(l->budget_ms));
        json_array_append_new(ljs, lj);
        total += cost;
        list_total += cost;
        add_amount(by_provider, oa->provider, cost);
        add_amount(by_region, oa->key, cost);
    }
    for (size_t i = 0; i < m.nw; i++) {
        wl *w = &m.w[i];
        json_t *labels = jpath(w->doc, "metadata", "labels");
        json_t *wj = json_pack("{s:s,s:s,s:s,s:O?}", "name", w->name, "tenant", w->tenant,
                               "kind", w->kind, "labels", labels);
        if (w->nreplicas > 1)
            json_object_set_new(wj, "replica", json_pack("{s:s,s:i,s:i}", "of", w->base, "index",
                                                         w->replica + 1, "count", w->nreplicas));
        json_t *elim = json_object();
        for (size_t k = 0; k < w->nopts; k++)
            if (w->opts[k].reason_class) add_amount(elim, w->opts[k].reason_class, 1);
        json_object_set_new(wj, "candidates", json_integer((json_int_t)w->nopts));
        json_object_set_new(wj, "eliminated", elim);
        if (w->chosen >= 0) {
            option *op = &w->opts[w->chosen];
            json_t *lines = json_array();
            int64_t wcredit = 0;
            for (size_t k = 0; k < op->nlines; k++) {
                json_array_append_new(lines, line_json(&op->lines[k]));
                wcredit += op->lines[k].credit_nano;
            }
            int64_t wtotal = op->contracted_nano + sent[i];
            json_t *pl = json_pack("{s:s,s:s,s:s,s:s}", "provider", op->provider, "service",
                                   op->service, "region", op->region, "region_key", op->key);
            if (op->reg) {
                json_object_set_new(pl, "jurisdiction", json_string(op->reg->jurisdiction));
                json_object_set_new(pl, "metro", json_string(op->reg->metro));
            }
            json_object_set_new(wj, "placement", pl);
            json_object_set_new(wj, "list_cost", nano_json(op->list_nano));
            json_object_set_new(wj, "contracted_cost", nano_json(op->contracted_nano));
            json_object_set_new(wj, "egress_to_workloads", nano_json(sent[i]));
            json_object_set_new(wj, "monthly_cost", nano_json(wtotal));
            json_object_set_new(wj, "free_tier_credit", nano_json(wcredit));
            json_object_set_new(wj, "effective_cost", nano_json(wtotal + wcredit));
            if (op->has_latency) {
                json_object_set_new(wj, "p50_latency_ms", json_real(round(op->p50_ms * 10) / 10));
                json_object_set_new(wj, "mean_latency_ms", json_real(round(op->mean_ms * 10) / 10));
                json_object_set_new(wj, "latency_origin", json_string(op->latency_origin));
                if (op->cold_ms > 0)
                    json_object_set_new(wj, "cold_start", json_pack("{s:f,s:f,s:b}", "ms", op->cold_ms,
                                        "probability", round(op->p_cold * 1000) / 1000,
                                        "in_p50", op->p_cold >= 0.5));
            }
            json_object_set_new(wj, "lines", lines);
            json_object_set_new(wj, "notes", op->notes ? json_incref(op->notes) : json_array());
            json_object_set_new(wj, "alternatives", alternatives(w, op));
            total += op->contracted_nano;
            list_total += op->list_nano;
            add_amount(by_provider, op->provider, op->contracted_nano);
            add_amount(by_region, op->key, op->contracted_nano);
            const char *lk;
            json_t *lv;
            json_object_foreach(labels, lk, lv) {
                json_t *g = json_object_get(by_label, lk);
                if (!g) json_object_set_new(by_label, lk, g = json_object());
                add_amount(g, json_string_value(lv), wtotal);
            }
        } else {
            json_t *cands = json_array();
            for (size_t k = 0; k < w->nopts; k++) json_array_append_new(cands, option_summary(&w->opts[k]));
            json_object_set_new(wj, "rejected", cands);
        }
        json_array_append_new(wjs, wj);
    }
    free(sent);
    if (solved && total != r.total) {
        char a[40], bb[40];
        char *msg = fbi_xasprintf("internal check failed: the lines add up to %s but the solver "
                                  "priced the plan at %s", fbi_nano_str(total, a), fbi_nano_str(r.total, bb));
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, msg, NULL);
        free(msg);
        rc = FB_INTERNAL;
    }
    json_object_set_new(plan, "status", json_string(!solved ? "infeasible" : fbi_status_str(r.status)));
    if (solved) {
        json_object_set_new(plan, "total_monthly_cost", nano_json(total));
        json_object_set_new(plan, "list_monthly_cost", nano_json(list_total));
        json_object_set_new(plan, "free_tier_credit", nano_json(credit));
        json_object_set_new(plan, "net_monthly_cost", nano_json(total + credit));
        json_object_set_new(plan, "lower_bound", nano_json(r.bound));
        json_object_set_new(plan, "gap", json_real(r.gap));
        json_object_set_new(plan, "solver", solver_info);
        solver_info = NULL;
    } else {
        json_object_set_new(plan, "infeasible", json_incref(why));
    }
    json_object_set_new(plan, "workloads", wjs);
    json_object_set_new(plan, "links", ljs);
    json_object_set_new(plan, "free_tiers", free_rows);
    json_object_set_new(plan, "totals", json_pack("{s:o,s:o,s:o}", "by_provider",
                        amounts_json(by_provider), "by_region", amounts_json(by_region),
                        "by_label", json_object()));
    const char *lk;
    json_t *lv;
    json_object_foreach(by_label, lk, lv)
        json_object_set_new(jpath(json_object_get(plan, "totals"), "by_label", NULL), lk,
                            amounts_json(json_incref(lv)));
    json_decref(by_label);
    if (opts->baselines && rc == FB_OK)
        json_object_set_new(plan, "baselines", baselines(b, set, opts, total, solved));
    json_decref(why);
    json_decref(solver_info);
    fbi_result_free(&r);
    build_free(&bd);
    model_free(&m);
    *plan_out = plan;
    if (rc != FB_OK) return rc;
    return solved ? FB_OK : FB_QUOTA;
}
