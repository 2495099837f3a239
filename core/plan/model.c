/* model.c - the cost and latency model: one candidate (a workload shape
 * on one offer) filtered by the workload's constraints, judged and
 * measured by its driver (validate, usage), priced from the catalog
 * (tiers, contracted prices, internet egress), timed from the latency
 * model, and checked against its SLO and budget; then the objective's band
 * over a shape's surviving candidates.
 *
 * Thread notes: fbi_plan_evaluate runs on several threads at once, each on
 * its own candidate; it reads the model, the catalog and the shape's
 * document, and writes nothing else. */
#include "config.h"
#include "plan/plan_int.h"
#include "spec/spec.h"

#include <math.h>
#include <stdlib.h>

#define DEFAULT_IDLE_S 600.0

const option_eval fbi_plan_no_eval;
const priced_from fbi_plan_no_src;
const char *const fbi_plan_classes[PLAN_NCLASSES] = {"provider", "region", "service", "trigger", "residency",
                                                     "driver", "price", "latency", "budget"};
const char *const fbi_plan_origin_names[3] = {"measured", "same-metro-assumption", "distance-estimate"};

/* op's evaluation block, made on the first write; settle drops it again
 * when every number stayed zero. The thread evaluating op only. */
static option_eval *ev_w(option *op)
{
    if (!op->ev) op->ev = fbi_xcalloc(1, sizeof *op->ev);
    return op->ev;
}

/* The capacity of op's lines is not kept (it would cost every block 8
 * bytes): it is 8, then doubled each time nlines reaches it, so it is full
 * exactly when nlines is 0, or 8 or more and a power of two. (The lines a
 * chosen candidate keeps are cut to their number, fbi_plan_option_lines:
 * nothing adds to them.) */
static void add_line(option *op, pline *l)
{
    option_eval *e = ev_w(op);
    uint32_t n = e->nlines;
    if (n == 0 || (n >= 8 && (n & (n - 1)) == 0))
        e->lines = fbi_xrealloc(e->lines, (n ? 2 * (size_t)n : 8) * sizeof *e->lines);
    e->lines[e->nlines++] = *l;
    e->list_nano += l->list_nano;
    e->contracted_nano += l->contracted_nano;
}

static void eliminate(const model *m, option *op, const char *cls, const char *fmt, ...)
    FBI_PRINTF(4, 5);

/* Marks op out with a class (a static string: "provider", "region",
 * "driver", ...) and a reason (interned); the first reason stays. */
static void eliminate(const model *m, option *op, const char *cls, const char *fmt, ...)
{
    if (op->cls) return; /* the first reason is the one reported */
    fbi_buf b;
    fbi_buf_init(&b);
    va_list ap;
    va_start(ap, fmt);
    fbi_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    unsigned char c = 0;
    while (c < PLAN_NCLASSES && strcmp(fbi_plan_classes[c], cls)) c++;
    if (c == PLAN_NCLASSES) abort(); /* a class not in the table: a bug of this file */
    op->cls = (unsigned char)(c + 1);
    op->reason = fbi_plan_intern(m, b.data ? b.data : "");
    fbi_buf_free(&b);
}

static void option_free(option *op)
{
    if (op->brief || !op->ev) return;
    free(op->ev->lines);
    priced_from *src = op->ev->src;
    if (src && --src->refs == 0) {
        free(src->lines);
        free(src);
    }
    free(op->ev);
}

void fbi_plan_model_free(model *m)
{
    for (size_t i = 0; i < m->nw; i++) {
        free(m->w[i].name);
        free(m->w[i].credit_nano);
        free(m->w[i].free_qty);
        free(m->w[i].bb_out);
        json_decref(m->w[i].doc);
        json_decref(m->w[i].sources);
    }
    free(m->w);
    for (size_t i = 0; i < m->nshapes; i++) {
        shape *sh = m->shapes[i];
        for (size_t k = 0; sh->opts && k < sh->nopts; k++) option_free(&sh->opts[k]);
        free(sh->opts);
        free(sh->doc_text);
        free(sh);
    }
    free(m->shapes);
    fbi_smap_free(&m->shape_idx);
    for (size_t i = 0; i < m->noffers; i++) {
        offer_info *of = &m->offers[i];
        free(of->price_provider);
        free(of->key);
        free(of->label);
        free(of->placement_text);
        free(of->region_text);
    }
    free(m->offers);
    fbi_plan_memo_free(m->memo);
    free(m->ftiers);
    fbi_smap_free(&m->wl_by_name);
    for (size_t i = 0; m->wl_keys && i < m->nw; i++) free(m->wl_keys[i]);
    free(m->wl_keys);
    fbi_catalog_free(m->cat);
}

size_t fbi_plan_find_wl(const model *m, const char *tenant, const char *base, size_t *first)
{
    if (!base || !tenant) return 0;
    model *mm = (model *)m; /* the index is a cache: built once, then only read */
    if (!mm->wl_keys) {
        mm->wl_keys = fbi_xcalloc(m->nw ? m->nw : 1, sizeof *mm->wl_keys);
        for (size_t i = 0; i < m->nw; i++) {
            mm->wl_keys[i] = fbi_xasprintf("%s\x1f%s", m->w[i].tenant, m->w[i].base);
            /* kept to the end: its own size, not the formatting buffer's */
            mm->wl_keys[i] = fbi_xrealloc(mm->wl_keys[i], strlen(mm->wl_keys[i]) + 1);
            fbi_smap_put(&mm->wl_by_name, mm->wl_keys[i], i, NULL);
        }
    }
    char *key = fbi_xasprintf("%s\x1f%s", tenant, base);
    size_t i, n = 0;
    if (fbi_smap_get(&m->wl_by_name, key, &i)) {
        *first = i;
        while (i + n < m->nw && !strcmp(m->wl_keys[i + n], key)) n++;
    }
    free(key);
    return n;
}

/* The reason a solve adds, formatted from what the solve kept (so a
 * candidate shared by many workloads carries no text of its own). */
const char *fbi_plan_opt_reason(const model *m, const wl *w, const option *op, char *buf)
{
    const char *cls = opt_class(w, op);
    if (!cls) return NULL;
    if (op->run == RUN_BASELINE) {
        snprintf(buf, 200, "baseline restricted to %s", m->only ? m->only : "?");
        return buf;
    }
    if (op->cls) return op->reason;
    if (op->run != RUN_OBJECTIVE) return NULL; /* a tie being settled */
    const shape *sh = w->sh;
    if (!opt_ev(op)->has_latency) {
        snprintf(buf, 200, "no latency estimate, objective %s needs one", sh->obj);
    } else if (sh->obj_weight >= 1.0) {
        double band = sh->obj_best_lat * 0.10 > 2.0 ? sh->obj_best_lat * 0.10 : 2.0;
        snprintf(buf, 200, "p50 %.1f ms is more than %.1f ms above the best (%.1f ms) for "
                 "objective latency", opt_ev(op)->p50_ms, band, sh->obj_best_lat);
    } else {
        double s = (1 - sh->obj_weight) * (double)opt_ev(op)->contracted_nano / sh->obj_best_cost +
                   sh->obj_weight * opt_ev(op)->p50_ms / sh->obj_best_lat;
        snprintf(buf, 200, "balanced score %.3f is more than 10%% above the best (%.3f, latency "
                 "weight %.2f)", s, sh->obj_best_score, sh->obj_weight);
    }
    return buf;
}

/* ---- pricing ------------------------------------------------------------------ */

/* Adds the lines of a tiered quantity to op, each also at its contracted
 * unit price (overrides). Returns 0, or -1 with op eliminated when a line's
 * cost does not fit. what: static; note: interned (fbi_plan_intern) or NULL. */
static int add_tier_lines(const model *m, option *op, const fbi_tier_line *tl, size_t ntl,
                          const char *what, const char *note, const char *to, uint64_t bytes)
{
    for (size_t i = 0; i < ntl; i++) {
        pline l;
        memset(&l, 0, sizeof l);
        l.row = tl[i].row;
        l.qty = tl[i].qty;
        l.list_nano = tl[i].cost * NANO_PER_MICRO;
        l.contracted_unit = fbi_catalog_contracted_price(m->cat, l.row, &l.rule);
        fbi_musd c = 0;
        char *err = NULL;
        if (fbi_line_cost(l.qty, l.contracted_unit, &c, &err) != 0) {
            eliminate(m, op, "price", "%s", err);
            free(err);
            return -1;
        }
        l.contracted_nano = c * NANO_PER_MICRO;
        l.what = what;
        l.note = note;
        l.to = to ? fbi_plan_intern(m, to) : NULL;
        l.bytes = bytes;
        add_line(op, &l);
    }
    return 0;
}

/* Prices one quantity of one catalog product (tiers, contracted prices) and
 * adds the lines to op. note: interned or NULL. Returns 0, or -1 with the
 * option eliminated. */
static int price_quantity(const model *m, option *op, const char *provider, const char *service,
                          const char *metric, const char *variant, const char *unit,
                          fbi_qty qty, const char *what, const char *note)
{
    fbi_price_query q = {provider, service, opt_of(m, op)->region, metric, variant, NULL};
    const plan_prices *pp = fbi_plan_find_prices(m, &q);
    if (pp->st != FB_OK) {
        eliminate(m, op, "price", "no catalog price for %s %s %s%s%s in %s: %s", provider, service,
                  metric, variant && *variant ? " " : "", variant ? variant : "", opt_of(m, op)->region,
                  pp->err);
        return -1;
    }
    const fbi_price_row **rows = pp->rows;
    size_t n = pp->n;
    if (unit && strcmp(rows[0]->unit, unit) != 0) {
        eliminate(m, op, "price", "the driver measures %s %s in %s but the catalog row %s is per %s",
                  service, metric, unit, rows[0]->sku, rows[0]->unit);
        return -1;
    }
    fbi_tier_line *tl = fbi_xcalloc(n, sizeof *tl);
    size_t ntl = 0;
    fbi_musd total;
    char *err = NULL;
    if (fbi_tiered_cost(rows, n, qty, tl, &ntl, &total, &err) != 0) {
        eliminate(m, op, "price", "%s %s %s: %s", provider, service, metric, err);
        free(err);
        free(tl);
        return -1;
    }
    int rc = add_tier_lines(m, op, tl, ntl, what, note, NULL, 0);
    free(tl);
    return rc;
}

/* Quantity in micro-units of a row unit for a number of bytes: "GB" is
 * 10^9 bytes, "GiB" 2^30 (rounded half up). */
static fbi_qty bytes_to_qty(uint64_t bytes, const char *unit)
{
    unsigned __int128 num = (unsigned __int128)bytes * 1000000u;
    uint64_t den = (unit && !strcmp(unit, "GiB")) ? (UINT64_C(1) << 30) : UINT64_C(1000000000);
    return (fbi_qty)((num + den / 2) / den);
}

/* Split bytes among the sources by weight: each source gets weight x total
 * (weights are shares that add up to 1 +-0.001, so they are normalised by
 * their sum), computed exactly on weights in millionths, and the bytes the
 * integer division leaves are handed out by the largest-remainder method
 * (ties to the earlier source), so the parts add up to the total exactly.
 * parts: caller-owned array of n. */
static void split_by_weight(uint64_t bytes, const json_t *sources, size_t n, uint64_t *parts)
{
    uint64_t *ppm = fbi_xcalloc(n ? n : 1, sizeof *ppm);
    unsigned __int128 *rem = fbi_xcalloc(n ? n : 1, sizeof *rem);
    unsigned __int128 sum = 0;
    for (size_t i = 0; i < n; i++) {
        double w = json_number_value(json_object_get(json_array_get(sources, i), "weight"));
        ppm[i] = w > 0 ? (uint64_t)llround(w * 1e6) : 0;
        sum += ppm[i];
    }
    uint64_t given = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned __int128 num = (unsigned __int128)bytes * ppm[i];
        parts[i] = sum ? (uint64_t)(num / sum) : (i == 0 ? bytes : 0);
        rem[i] = sum ? num % sum : 0;
        given += parts[i];
    }
    /* at most n-1 bytes are left; each goes to the largest remainder not yet served */
    while (given < bytes && sum) {
        size_t best = 0;
        int found = 0;
        for (size_t i = 0; i < n; i++)
            if (ppm[i] && (!found || rem[i] > rem[best])) best = i, found = 1;
        parts[best]++;
        rem[best] = 0;
        given++;
    }
    free(rem);
    free(ppm);
}

/* Internet egress to the workload's users, split by their sources: each
 * source's share is weight x total (split_by_weight). bytes and sources:
 * the workload's spec.traffic.egressBytesPerMonth and sources (NULL:
 * none). */
static int price_internet_egress(const model *m, option *op, uint64_t bytes, const json_t *sources)
{
    if (bytes == 0) return 0;
    size_t ns = json_array_size(sources);
    uint64_t *parts = fbi_xcalloc(ns ? ns : 1, sizeof *parts);
    if (ns) split_by_weight(bytes, sources, ns, parts);
    else parts[0] = bytes;
    for (size_t i = 0; i < (ns ? ns : 1); i++) {
        json_t *s = ns ? json_array_get(sources, i) : NULL;
        const char *loc = s ? jstr(s, "location") : NULL;
        double w = s ? json_number_value(json_object_get(s, "weight")) : 1.0;
        uint64_t part = parts[i];
        if (!part) continue;
        const plan_egress *pe = fbi_plan_egress_to(m, opt_of(m, op)->key, loc ? loc : "internet");
        if (pe->st != FB_OK || pe->e.ntiers == 0) {
            eliminate(m, op, "price", "no internet egress price from %s to %s: %s", opt_of(m, op)->key,
                      loc ? loc : "the internet", pe->err ? pe->err : "no row");
            free(parts);
            return -1;
        }
        const fbi_egress *e = &pe->e;
        fbi_qty q = bytes_to_qty(part, e->tiers[0]->unit);
        fbi_tier_line *tl = fbi_xcalloc(e->ntiers, sizeof *tl);
        size_t ntl = 0;
        fbi_musd total;
        char *err = NULL;
        int rc = fbi_tiered_cost(e->tiers, e->ntiers, q, tl, &ntl, &total, &err);
        if (rc != 0) {
            eliminate(m, op, "price", "internet egress from %s: %s", opt_of(m, op)->key, err);
            free(err);
        }
        if (rc == 0) {
            char *note = fbi_xasprintf("%.0f%% of %s of egress to %s", (ns ? w : 1.0) * 100,
                                       "the workload's traffic", loc ? loc : "the internet");
            rc = add_tier_lines(m, op, tl, ntl, "egress-internet", fbi_plan_intern(m, note),
                                loc ? loc : "internet", part);
            free(note);
        }
        free(tl);
        if (rc != 0) {
            free(parts);
            return -1;
        }
    }
    free(parts);
    return 0;
}

/* ---- one candidate -------------------------------------------------------------- */

/* The least assured of origin cur (plan_latency.origin: 0 none,
 * else 1 + an index of fbi_plan_origin_names) and the kind named next, as
 * such an origin (never 0). */
static unsigned char rtt_kind_rank(unsigned char cur, const char *next)
{
    int a = cur ? cur - 1 : 0, b = 0;
    for (int i = 0; i < 3; i++)
        if (next && !strcmp(next, fbi_plan_origin_names[i])) b = i;
    return (unsigned char)(1 + (a > b ? a : b));
}

const char *const fbi_plan_pct_names[PLAN_NPCT] = {"p50", "p90", "p95", "p99"};
const double fbi_plan_pcts[PLAN_NPCT] = {0.50, 0.90, 0.95, 0.99};

/* One point mass of the request latency distribution. */
typedef struct lat_mass {
    double ms, p;
} lat_mass;

static int by_ms(const void *a, const void *b)
{
    double x = ((const lat_mass *)a)->ms, y = ((const lat_mass *)b)->ms;
    return x < y ? -1 : x > y;
}

/* The q-quantile of a discrete distribution: the smallest latency whose
 * cumulative share reaches q (a 1e-9 slack absorbs the float sum of the
 * weights). v is sorted in place. */
static double quantile(lat_mass *v, size_t n, double total, double q)
{
    double acc = 0;
    for (size_t i = 0; i < n; i++) {
        acc += v[i].p;
        if (acc >= q * total - 1e-9) return v[i].ms;
    }
    return n ? v[n - 1].ms : 0;
}

/* Latency from the workload's users (docs/plan.md, "Latency"): a request
 * from source i (share w_i of the traffic) takes that source's median RTT
 * to the region, plus the cold start when it finds no warm instance, which
 * happens with P(cold) = exp(-rate x idle window) for a service that scales
 * to zero. The percentiles p50/p90/p95/p99 are those of this discrete
 * distribution; the mean is the weighted mean. The catalog gives medians
 * only, so no network jitter is modelled (said in the docs).
 * The model of op's latency from sources (non-empty), P(cold) and the cold
 * start into *lat: 0, or -1 when source *bad has no round trip to op's
 * region. The evaluation and fbi_plan_option_latency both model it here,
 * so the latency shown is the one the evaluation checked. */
static int latency_model(const model *m, const option *op, const json_t *sources, double p_cold, double cold_ms,
                         plan_latency *lat, size_t *bad)
{
    size_t ns = json_array_size(sources);
    memset(lat, 0, sizeof *lat);
    double sum = 0, wsum = 0;
    double *rtt = fbi_xcalloc(ns, sizeof *rtt), *wt = fbi_xcalloc(ns, sizeof *wt);
    size_t i;
    json_t *s;
    json_array_foreach(sources, i, s) {
        const plan_rtt *rt = fbi_plan_user_rtt(m, jstr(s, "location"), opt_of(m, op)->key);
        if (rt->st != FB_OK) {
            memset(lat, 0, sizeof *lat);
            *bad = i;
            free(rtt);
            free(wt);
            return -1;
        }
        rtt[i] = rt->ms;
        wt[i] = json_number_value(json_object_get(s, "weight"));
        sum += wt[i] * rt->ms;
        wsum += wt[i];
        lat->origin = rtt_kind_rank(lat->origin, fbi_rtt_kind_name(rt->org.kind));
    }
    lat_mass *v = fbi_xcalloc(2 * ns, sizeof *v);
    for (i = 0; i < ns; i++) {
        v[2 * i] = (lat_mass){rtt[i], wt[i] * (1 - p_cold)};
        v[2 * i + 1] = (lat_mass){rtt[i] + cold_ms, wt[i] * p_cold};
    }
    qsort(v, 2 * ns, sizeof *v, by_ms);
    for (int k = 0; k < PLAN_NPCT; k++)
        lat->pct_ms[k] = quantile(v, 2 * ns, wsum > 0 ? wsum : 1, fbi_plan_pcts[k]);
    lat->mean_ms = (wsum > 0 ? sum / wsum : sum) + p_cold * cold_ms;
    free(v);
    free(rtt);
    free(wt);
    return 0;
}

/* op's latency (into *lat, all zero when it has none; op keeps only its
 * p50), or op out for it. */
static void latency(const model *m, const shape *sh, option *op, const json_t *doc, const plan_usage *usage,
                    plan_latency *lat)
{
    memset(lat, 0, sizeof *lat);
    const json_t *sources = sh->sources; /* the first workload's, as doc's: input.c, keep_members */
    if (json_array_size(sources) == 0) return;
    option_eval *e = ev_w(op);
    json_t *traffic = jpath(doc, "spec", "traffic");
    json_t *scaling = jpath(doc, "spec", "scaling");
    int zero = json_is_true(json_object_get(scaling, "scaleToZero")) &&
               json_integer_value(json_object_get(scaling, "minInstances")) == 0;
    double idle = usage->idle_s;
    if (idle <= 0) idle = DEFAULT_IDLE_S;
    double rate = (double)json_integer_value(json_object_get(traffic, "requestsPerMonth")) /
                  (m->hours * 3600.0);
    double p_cold = zero ? exp(-rate * idle) : 0.0;
    size_t bad = 0;
    if (latency_model(m, op, sources, p_cold, usage->cold_ms, lat, &bad) != 0) {
        const json_t *s = json_array_get(sources, bad);
        const plan_rtt *rt = fbi_plan_user_rtt(m, jstr(s, "location"), opt_of(m, op)->key);
        e->has_latency = 0;
        eliminate(m, op, "latency", "no latency estimate from %s to %s: %s", jstr(s, "location"),
                  opt_of(m, op)->key, rt->org.detail);
        return;
    }
    e->has_latency = 1;
    /* the same for every candidate priced from this usage document (the
     * shape's traffic, the document's idle window): kept with it */
    if (e->src) e->src->p_cold = p_cold;
    e->p50_ms = lat->pct_ms[0];
}

int fbi_plan_option_latency(const model *m, const shape *sh, const option *op, plan_latency *lat)
{
    memset(lat, 0, sizeof *lat);
    const option_eval *e = opt_ev(op);
    size_t bad = 0;
    if (!e->has_latency || !e->src || json_array_size(sh->sources) == 0) return -1;
    if (latency_model(m, op, sh->sources, e->src->p_cold, e->src->cold_ms, lat, &bad) != 0) return -1;
    /* bit for bit the evaluation's (-0.0 and NaN compared as bits too) */
    if (memcmp(&lat->pct_ms[0], &e->p50_ms, sizeof e->p50_ms) != 0) {
        memset(lat, 0, sizeof *lat);
        return -1;
    }
    return 0;
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

/* The checks that need no driver: the placement's provider, region and
 * service lists, triggers, residency. Non-zero when they rule op out. */
static int prefilter(const model *m, const shape *sh, option *op)
{
    json_t *pl = json_object_get(sh->doc, "spec");
    json_t *place = json_object_get(pl, "placement");
    json_t *allow = json_object_get(place, "providers");
    if (json_array_size(allow) && !in_list(allow, opt_of(m, op)->provider))
        eliminate(m, op, "provider", "provider %s is not in placement.providers", opt_of(m, op)->provider);
    if (in_list(json_object_get(place, "denyProviders"), opt_of(m, op)->provider))
        eliminate(m, op, "provider", "provider %s is in placement.denyProviders", opt_of(m, op)->provider);
    const char *pr = opt_of(m, op)->region_text;
    json_t *regions = json_object_get(place, "regions");
    if (json_array_size(regions) && !in_list(regions, pr))
        eliminate(m, op, "region", "%s is not in placement.regions", pr);
    if (in_list(json_object_get(place, "denyRegions"), pr))
        eliminate(m, op, "region", "%s is in placement.denyRegions", pr);
    json_t *services = json_object_get(place, "services");
    if (json_array_size(services) && !in_list(services, opt_of(m, op)->service))
        eliminate(m, op, "service", "service %s is not in placement.services", opt_of(m, op)->service);
    /* a nightly job placed where its schedule is never wired would never run */
    const char *unwired = unwired_trigger(sh->doc, opt_of(m, op)->offer);
    if (unwired) {
        const json_t *wired = json_object_get(opt_of(m, op)->offer, "triggers");
        fbi_buf have;
        fbi_buf_init(&have);
        size_t k;
        json_t *v;
        json_array_foreach(wired, k, v) fbi_buf_printf(&have, "%s%s", k ? ", " : "", json_string_value(v));
        eliminate(m, op, "trigger", "cannot wire a %s trigger (the offer wires: %s)", unwired,
                  json_is_array(wired) ? (have.len ? have.data : "none") : "http");
        fbi_buf_free(&have);
    }
    json_t *res = json_object_get(place, "residency");
    if (json_array_size(res)) {
        const char *j = opt_of(m, op)->jurisdiction ? opt_of(m, op)->jurisdiction : opt_of(m, op)->reg ? opt_of(m, op)->reg->jurisdiction : NULL;
        const char *c = opt_of(m, op)->reg ? opt_of(m, op)->reg->country : NULL;
        if (!(j && in_list(res, j)) && !(c && in_list(res, c)))
            eliminate(m, op, "residency", "%s is in jurisdiction %s, not in residency %s", opt_of(m, op)->key,
                      j && *j ? j : "(unknown)", "placement.residency");
    }
    return op->cls != CLS_NONE;
}

/* op's driver and its context, or op ruled out (class driver). */
static int driver_of(const model *m, option *op, const fb_driver **drv, fb_driver_ctx **ctx)
{
    fb_diag *d = fb_diag_new();
    if (fb_registry_context(m->b->reg, opt_of(m, op)->provider, drv, ctx, d) != FB_OK) {
        eliminate(m, op, "driver", "%s", fb_diag_count(d) ? fb_diag_summary(d, 0) : "driver unavailable");
        fb_diag_free(d);
        return -1;
    }
    fb_diag_free(d);
    if (!((*drv)->caps & FB_CAP_ESTIMATE)) {
        eliminate(m, op, "driver", "driver %s cannot estimate cost (no usage verb)", (*drv)->name);
        return -1;
    }
    return 0;
}

/* The driver refused op in validate: its first error says why. */
static void refused(const model *m, option *op, const fb_driver *drv, fb_status st, const fb_diag *d)
{
    size_t k = 0;
    while (k + 1 < fb_diag_count(d) && fb_diag_severity(d, k) != FB_SEV_ERROR) k++;
    eliminate(m, op, "driver", "%s refuses it: %s%s%s", drv->name,
              fb_diag_count(d) ? fb_diag_summary(d, k) : fbi_status_name(st),
              fb_diag_count(d) && fb_diag_pointer(d, k) ? " at " : "",
              fb_diag_count(d) && fb_diag_pointer(d, k) ? fb_diag_pointer(d, k) : "");
}

static void usage_failed(const model *m, option *op, const fb_driver *drv, const fb_diag *d)
{
    eliminate(m, op, "driver", "%s usage failed: %s", drv->name,
              fb_diag_count(d) ? fb_diag_summary(d, 0) : "no output");
}

static void priced(const model *m, const shape *sh, option *op, plan_usage *usage);

/* One candidate through validate and usage, one call each. */
static void evaluate_one(const model *m, const shape *sh, option *op)
{
    if (prefilter(m, sh, op)) return; /* spare the driver calls */
    const fb_driver *drv;
    fb_driver_ctx *ctx;
    if (driver_of(m, op, &drv, &ctx) != 0) return;
    fb_diag *d = fb_diag_new();
    /* {"hoursPerMonth", "mode": "plan", "placement", "workload"} in
     * canonical form (sorted keys, compact) from the parts made once per
     * model, offer and shape */
    const char *parts[] = {"{\"hoursPerMonth\":", m->hours_text, ",\"mode\":\"plan\",\"placement\":",
                           opt_of(m, op)->placement_text, ",\"workload\":", sh->doc_text, "}"};
    size_t lens[7], len = 0;
    for (size_t i = 0; i < 7; i++) len += lens[i] = strlen(parts[i]);
    char *in_text = fbi_xmalloc(len + 1), *at = in_text;
    for (size_t i = 0; i < 7; i++) {
        memcpy(at, parts[i], lens[i]);
        at += lens[i];
    }
    *at = '\0';
    fb_status st = drv->validate(ctx, in_text, d);
    op->validated = 1;
    if (st != FB_OK) {
        refused(m, op, drv, st, d);
        free(in_text);
        fb_diag_free(d);
        return;
    }
    char *out = NULL;
    st = drv->usage(ctx, in_text, &out, d);
    op->estimated = 1;
    free(in_text);
    json_t *doc = out ? json_loads(out, 0, NULL) : NULL;
    free(out);
    if (st != FB_OK || !doc) {
        usage_failed(m, op, drv, d);
        fb_diag_free(d);
        json_decref(doc);
        return;
    }
    fb_diag_free(d);
    plan_usage usage;
    fbi_plan_usage_read(m, doc, &usage);
    priced(m, sh, op, &usage);
    fbi_plan_usage_clear(&usage);
}

/* What op's lines are priced from, shared by every candidate priced from
 * the same usage document. */
static priced_from *priced_src(const model *m, const shape *sh, plan_usage *u)
{
    if (u->src) return u->src;
    priced_from *pf = fbi_xcalloc(1, sizeof *pf);
    pf->notes = u->notes;
    pf->vcpu_micro = fbi_plan_scaled(sh, u->vcpu_micro);
    pf->cold_ms = u->cold_ms;
    pf->lines = fbi_xcalloc(u->nlines ? u->nlines : 1, sizeof *pf->lines);
    for (size_t i = 0; i < u->nlines; i++) {
        const usage_line *l = &u->lines[i];
        if (l->bad || l->qty == 0) continue; /* priced candidates have no bad line */
        pf->lines[pf->nlines++] = (priced_line){fbi_plan_intern(m, l->provider), fbi_plan_intern(m, l->service),
                                                fbi_plan_intern(m, l->metric), fbi_plan_intern(m, l->variant),
                                                fbi_plan_intern(m, l->unit), l->note, l->qty};
    }
    return u->src = pf;
}

/* Why a hybrid container part's quantities are not the driver's own (its
 * driver notes are kept in the workload's notes). */
#define HYBRID_SCALE_NOTE \
    "one replica's month from the driver's usage, times the mean replicas the simulator billed " \
    "over the profile (docs/simulation.md)"

int64_t fbi_plan_scaled(const shape *sh, int64_t qty)
{
    if (!sh->scale_micro) return qty;
    /* half up; qty and the scale are bounded (the spec's limits), the
     * product fits 128 bits */
    __int128 v = (__int128)qty * sh->scale_micro;
    __int128 q = (v + 500000) / 1000000;
    return q > INT64_MAX ? INT64_MAX : (int64_t)q;
}

/* op's usage lines and internet egress priced into op->lines (the totals
 * add up). 0, or -1 with op eliminated. */
static int price_lines(const model *m, const shape *sh, option *op, const priced_line *lines, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const priced_line *l = &lines[i];
        if (price_quantity(m, op, l->provider ? l->provider : opt_of(m, op)->price_provider, l->service,
                           l->metric, l->variant, l->unit, fbi_plan_scaled(sh, l->qty),
                           "usage", sh->scale_micro ? HYBRID_SCALE_NOTE : l->note) != 0)
            return -1;
    }
    return price_internet_egress(m, op, sh->egress_bytes, sh->sources);
}

/* A usage document (read by fbi_plan_usage_read) priced and timed, then
 * the SLO and budget. */
static void price_and_check(const model *m, const shape *sh, option *op, plan_usage *usage)
{
    const json_t *place = sh->placement;
    option_eval *e = ev_w(op);
    plan_latency lat;
    memset(&lat, 0, sizeof lat);
    for (size_t i = 0; i < usage->nlines; i++) {
        const usage_line *line = &usage->lines[i];
        if (line->bad) {
            eliminate(m, op, "driver", "%s usage line %zu has a bad quantity: %s", opt_of(m, op)->provider, i,
                      line->err ? line->err : "missing");
            break;
        }
    }
    if (!op->cls) {
        priced_from *pf = priced_src(m, sh, usage);
        if (price_lines(m, sh, op, pf->lines, pf->nlines) == 0) {
            ev_w(op)->src = pf;
            pf->refs++;
        }
    }
    if (!op->cls) latency(m, sh, op, sh->doc, usage, &lat);
    if (op->cls) return;
    /* every percentile the SLO names is enforced (docs/plan.md) */
    for (int k = 0; k < PLAN_NPCT && !op->cls; k++) {
        char key[8];
        snprintf(key, sizeof key, "%sMs", fbi_plan_pct_names[k]);
        int64_t slo = json_integer_value(jpath(place, "latencySLO", key));
        if (slo <= 0) continue;
        if (!e->has_latency)
            eliminate(m, op, "latency", "latency SLO %s %lld ms cannot be checked: no traffic sources",
                      fbi_plan_pct_names[k], (long long)slo);
        else if (lat.pct_ms[k] > (double)slo)
            eliminate(m, op, "latency", "%s %.1f ms is over the latency SLO of %lld ms",
                      fbi_plan_pct_names[k], lat.pct_ms[k], (long long)slo);
    }
    if (!op->cls && m->need_credit) e->credit_ub_nano = fbi_plan_credit_bound(m, e->lines, e->nlines, &e->in_free_tier);
    /* the budget, on the figure its basis names (docs/spec.md, Budgets);
     * net is known only with the other placements (the free tiers are
     * shared), so here a candidate is out when even the most credit it
     * can get leaves it over: the budget search (budget.c) checks the
     * plan's own figure */
    json_t *bj = jpath(place, "budget", NULL);
    int64_t budget = json_integer_value(json_object_get(bj, "monthlyMicroUsd"));
    if (!op->cls && budget > 0) {
        budget_basis basis = fbi_plan_basis(bj);
        int64_t fig = basis == BASIS_LIST ? e->list_nano
                      : basis == BASIS_NET ? e->contracted_nano - e->credit_ub_nano
                                           : e->contracted_nano;
        char a[40], bb[40], cc[40];
        if (fig > budget * NANO_PER_MICRO && basis == BASIS_NET)
            eliminate(m, op, "budget", "%s USD/month net after free tiers at best (%s contracted, at most "
                      "%s of free-tier credit) is over the budget of %s USD/month",
                      fbi_nano_str(fig, a), fbi_nano_str(e->contracted_nano, cc),
                      fbi_nano_str(e->credit_ub_nano, (char[40]){0}), fbi_nano_str(budget * NANO_PER_MICRO, bb));
        else if (fig > budget * NANO_PER_MICRO)
            eliminate(m, op, "budget", "%s USD/month %s is over the budget of %s USD/month",
                      fbi_nano_str(fig, a), fbi_plan_basis_words(basis),
                      fbi_nano_str(budget * NANO_PER_MICRO, bb));
    }
}

static void priced(const model *m, const shape *sh, option *op, plan_usage *usage)
{
    price_and_check(m, sh, op, usage);
    /* out for good: its lines are never priced again; but one out for its
     * modelled latency keeps what the latency is modelled from (its cold
     * start and P(cold)) for the explanation (fbi_plan_option_latency) */
    if (op->cls && op->ev && op->ev->src && !(op->cls == CLS_LATENCY && op->ev->has_latency)) {
        op->ev->src->refs--;
        op->ev->src = NULL;
    }
}

/* Drops what a candidate no longer needs: its lines (the totals stay, for
 * the solves, the alternatives and the explanations; a chosen one's lines
 * are priced again from its src); and its whole block when it is out for
 * a reason whose explanation reads none of its numbers (only the latency
 * and budget classes are explained by them, explain.c; and only those are
 * among a workload's alternatives, document.c), or when every number
 * stayed zero. */
static void settle(option *op)
{
    if (op->brief || !op->ev) return;
    option_eval *e = op->ev;
    free(e->lines);
    e->lines = NULL;
    e->nlines = 0;
    int numbers_unread = op->cls != CLS_NONE && op->cls != CLS_LATENCY && op->cls != CLS_BUDGET;
    if (numbers_unread && e->src) { /* priced() has dropped it already */
        e->src->refs--;
        e->src = NULL;
    }
    /* the brief: the p50 as option summaries round it, when that is an
     * int32 (a latency of a non-negative number of ms, under 59 hours) */
    double t = e->has_latency ? round(e->p50_ms * 10) : 0;
    if (numbers_unread && (!e->has_latency || (t >= 0 && !signbit(t) && t <= INT32_MAX))) {
        op->brief = 1;
        op->brief_p50 = e->has_latency ? (int32_t)t : INT32_MIN;
        int64_t cost = e->contracted_nano;
        free(e);
        op->brief_cost = cost;
        return;
    }
    /* calloc'd and written field by field, so the padding is still zero
     * and -0.0 (kept) differs from 0.0 */
    if (memcmp(e, &fbi_plan_no_eval, sizeof *e) == 0) {
        free(e);
        op->ev = NULL;
    }
}

int fbi_plan_option_lines(model *m, const shape *sh, option *op)
{
    if (!op->ev || op->ev->lines || !op->ev->src) return 0;
    option t;
    memset(&t, 0, sizeof t);
    t.oi = op->oi;
    price_lines(m, sh, &t, op->ev->src->lines, op->ev->src->nlines);
    if (t.cls || opt_ev(&t)->list_nano != opt_ev(op)->list_nano ||
        opt_ev(&t)->contracted_nano != opt_ev(op)->contracted_nano) {
        char *s = fbi_xasprintf("internal error: the lines of %s priced again do not add up to its "
                                "evaluation", opt_of(m, op)->label);
        fb_diag_add(m->diag, FB_SEV_ERROR, NULL, 0, 0, NULL, s, "please report this bug");
        free(s);
        if (t.ev) free(t.ev->lines);
        free(t.ev);
        return -1;
    }
    if (t.ev) {
        /* kept to the end (the document, free tiers, budgets) and never
         * added to again: its own size, not add_line's capacity of 8 */
        op->ev->lines = t.ev->nlines ? fbi_xrealloc(t.ev->lines, t.ev->nlines * sizeof *t.ev->lines)
                                     : t.ev->lines;
        op->ev->nlines = t.ev->nlines;
    }
    free(t.ev);
    return 0;
}

void fbi_plan_evaluate(const model *m, const shape *sh, option *op)
{
    evaluate_one(m, sh, op);
    settle(op);
}

/* The candidates of one shape on one driver through one evaluate call
 * (ABI 1.2), which reads the workload once instead of twice per offer;
 * the results are the same as evaluate_one's, which is used for drivers
 * without evaluate and for a single candidate. */
void fbi_plan_evaluate_run(const model *m, const shape *sh, option *ops, size_t n, size_t *calls)
{
    option **in = fbi_xcalloc(n ? n : 1, sizeof *in);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!prefilter(m, sh, &ops[i])) in[k++] = &ops[i];
    const fb_driver *drv = NULL;
    fb_driver_ctx *ctx = NULL;
    if (k && driver_of(m, in[0], &drv, &ctx) != 0) {
        for (size_t i = 1; i < k; i++) driver_of(m, in[i], &drv, &ctx);
        k = 0;
    }
    if (k < 2 || !FB_DRIVER_HAS(drv, evaluate)) {
        for (size_t i = 0; i < k; i++) evaluate_one(m, sh, in[i]);
    } else {
        fbi_buf b;
        fbi_buf_init(&b);
        fbi_buf_printf(&b, "{\"hoursPerMonth\":%s,\"mode\":\"plan\",\"placements\":[", m->hours_text);
        for (size_t i = 0; i < k; i++) {
            if (i) fbi_buf_append(&b, ",", 1);
            fbi_buf_append(&b, opt_of(m, in[i])->placement_text, strlen(opt_of(m, in[i])->placement_text));
        }
        fbi_buf_printf(&b, "],\"workload\":%s}", sh->doc_text);
        fb_diag **diags = fbi_xcalloc(k, sizeof *diags);
        for (size_t i = 0; i < k; i++) diags[i] = fb_diag_new();
        fb_diag *d = fb_diag_new();
        char *out = NULL;
        fb_status st = drv->evaluate(ctx, b.data, k, diags, &out, d);
        fbi_buf_free(&b);
        if (calls) (*calls)++;
        plan_results res;
        int ok = st == FB_OK && out && fbi_plan_results_read(m, out, k, &res) == 0;
        free(out);
        if (!ok) {
            for (size_t i = 0; i < k; i++)
                eliminate(m, in[i], "driver", "%s evaluate failed: %s", drv->name,
                          fb_diag_count(d) ? fb_diag_summary(d, 0)
                          : st != FB_OK   ? fbi_status_name(st)
                                          : "its output has no results array of one per placement");
        } else {
            for (size_t i = 0; i < k; i++) {
                json_t *r = res.of[i]->doc;
                in[i]->validated = in[i]->batched = 1;
                if (json_is_false(r)) {
                    refused(m, in[i], drv, FB_INVALID, diags[i]);
                    continue;
                }
                in[i]->estimated = 1;
                if (!json_is_object(r)) usage_failed(m, in[i], drv, diags[i]);
                else priced(m, sh, in[i], res.of[i]);
            }
            fbi_plan_results_free(&res);
        }
        fb_diag_free(d);
        for (size_t i = 0; i < k; i++) fb_diag_free(diags[i]);
        free(diags);
    }
    for (size_t i = 0; i < n; i++) settle(&ops[i]);
    free(in);
}

/* ---- the objective ------------------------------------------------------------ */

/* latency: keep the candidates within max(2 ms, 10%) of the best p50;
 * balanced (weight w): score = (1-w) cost/min_cost + w p50/min_p50, keep
 * those within 10% of the best score. The solver then minimises cost over
 * what is left, so the LP objective is always money. */
void fbi_plan_apply_objective(shape *sh)
{
    const char *obj = jstr(sh->placement, "objective");
    if (!obj || !strcmp(obj, "cost")) return;
    double weight = json_number_value(json_object_get(sh->placement, "latencyWeight"));
    if (!strcmp(obj, "latency")) weight = 1.0;
    double best_lat = INFINITY, best_cost = INFINITY;
    for (size_t k = 0; k < sh->nopts; k++) {
        option *op = &sh->opts[k];
        if (op->run || op->cls || !opt_ev(op)->has_latency) continue;
        if (opt_ev(op)->p50_ms < best_lat) best_lat = opt_ev(op)->p50_ms;
        if ((double)opt_ev(op)->contracted_nano < best_cost) best_cost = (double)opt_ev(op)->contracted_nano;
    }
    if (!isfinite(best_lat)) return; /* no latency: nothing to trade off */
    if (best_cost <= 0) best_cost = 1;
    if (best_lat <= 0) best_lat = 1;
    double best_score = INFINITY;
    for (size_t k = 0; k < sh->nopts; k++) {
        option *op = &sh->opts[k];
        if (op->run || op->cls || !opt_ev(op)->has_latency) continue;
        double s = (1 - weight) * (double)opt_ev(op)->contracted_nano / best_cost + weight * opt_ev(op)->p50_ms / best_lat;
        if (s < best_score) best_score = s;
    }
    /* kept for the reasons (fbi_plan_opt_reason) */
    sh->obj = obj;
    sh->obj_weight = weight;
    sh->obj_best_lat = best_lat;
    sh->obj_best_cost = best_cost;
    sh->obj_best_score = best_score;
    for (size_t k = 0; k < sh->nopts; k++) {
        option *op = &sh->opts[k];
        if (op->run || op->cls) continue;
        if (!opt_ev(op)->has_latency) {
            op->run = RUN_OBJECTIVE;
        } else if (weight >= 1.0) {
            double band = best_lat * 0.10 > 2.0 ? best_lat * 0.10 : 2.0;
            if (opt_ev(op)->p50_ms > best_lat + band) op->run = RUN_OBJECTIVE;
        } else {
            double s = (1 - weight) * (double)opt_ev(op)->contracted_nano / best_cost + weight * opt_ev(op)->p50_ms / best_lat;
            if (s > best_score * 1.10) op->run = RUN_OBJECTIVE;
        }
    }
}

