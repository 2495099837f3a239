/* document.c - the plan document (docs/plan.md): the placement of each
 * workload with its priced lines, latency and alternatives, the links,
 * free tiers and totals by provider, region and label, or the reasons
 * when no placement exists. Every amount is an exact decimal string of
 * the integer nano-USD the model summed. */
#include "config.h"
#include "plan/plan_int.h"
#include "plan/report.h"

#include <math.h>
#include <stdlib.h>

json_t *fbi_plan_nano_json(int64_t nano)
{
    char b[40];
    return json_string(fbi_nano_str(nano, b));
}

/* ---- the plan document ---------------------------------------------------------------- */

/* Sets key to the plan's shared copy of the string s (fbi_plan_json_str)
 * when s is not NULL. */
static void set_str(const model *m, json_t *o, const char *key, const char *s)
{
    json_t *v = fbi_plan_json_str(m, s);
    if (v) json_object_set_new(o, key, v);
}

/* One priced line; credit and free_qty: the free tier netted into it.
 * The strings that come from the catalog row (and the static ones) are
 * the plan's shared values: a row is cited by many lines. */
static json_t *line_json(const model *m, const pline *l, int64_t credit, fbi_qty free_qty)
{
    char qb[32], ub[32], cb[32], tb[32], te[32], a[40], b[40], c[40];
    fbi_qty_format(l->qty, qb);
    fbi_pusd_format(l->row->usd_per_unit, ub);
    fbi_pusd_format(l->contracted_unit, cb);
    json_t *o = json_object();
    set_str(m, o, "what", l->what);
    set_str(m, o, "service", l->row->service);
    set_str(m, o, "metric", l->row->metric);
    set_str(m, o, "variant", l->row->variant);
    set_str(m, o, "unit", l->row->unit);
    json_object_set_new(o, "quantity", json_string(qb));
    set_str(m, o, "unit_price", ub);
    set_str(m, o, "contracted_unit_price", cb);
    json_object_set_new(o, "list_cost", json_string(fbi_nano_str(l->list_nano, a)));
    json_object_set_new(o, "contracted_cost", json_string(fbi_nano_str(l->contracted_nano, b)));
    json_object_set_new(o, "effective_cost", json_string(fbi_nano_str(l->contracted_nano + credit, c)));
    set_str(m, o, "sku", l->row->sku);
    set_str(m, o, "source", l->row->source);
    set_str(m, o, "as_of", l->row->as_of);
    set_str(m, o, "confidence", fbi_confidence_name(l->row->confidence));
    set_str(m, o, "price_region", l->row->region);
    if (l->row->vendor_sku[0]) set_str(m, o, "vendor_sku", l->row->vendor_sku);
    if (l->row->tiered) {
        fbi_qty_format(l->row->tier_start, tb);
        fbi_qty_format(l->row->tier_end, te);
        json_object_set_new(o, "tier", json_sprintf("%s-%s", tb, te));
    }
    if (l->rule) set_str(m, o, "contract_rule", l->rule);
    if (l->note) set_str(m, o, "note", l->note);
    /* internet egress: where the bytes go and this source's share of the
     * workload's egress in bytes (the same on each tier line of the share) */
    if (l->to) {
        set_str(m, o, "egress_to", l->to);
        json_object_set_new(o, "egress_share_bytes", json_integer((json_int_t)l->bytes));
    }
    if (credit) {
        char d[40];
        fbi_qty_format(free_qty, qb);
        json_object_set_new(o, "free_tier_quantity", json_string(qb));
        json_object_set_new(o, "free_tier_credit", json_string(fbi_nano_str(credit, d)));
    }
    return o;
}

static json_t *option_summary(const model *m, const wl *w, const option *op)
{
    json_t *o = json_object();
    set_str(m, o, "provider", opt_of(m, op)->provider);
    set_str(m, o, "service", opt_of(m, op)->service);
    set_str(m, o, "region", opt_of(m, op)->region);
    /* every candidate of a workload without a placement comes here, a
     * brief one too (opt_cost, opt_p50_tenths) */
    json_object_set_new(o, "monthly_cost", fbi_plan_nano_json(opt_cost(op)));
    double tenths;
    if (opt_p50_tenths(op, &tenths) == 0) json_object_set_new(o, "p50_latency_ms", json_real(tenths / 10));
    char rb[200];
    const char *reason = fbi_plan_opt_reason(m, w, op, rb);
    if (reason) set_str(m, o, "eliminated_by", reason);
    return o;
}

/* The alternatives finance sees: the cheapest and the fastest of the other
 * candidates, and why each lost. */
static json_t *alternatives(const model *m, const wl *w, const option *chosen)
{
    json_t *alts = json_array();
    int *used = fbi_xcalloc(w->nopts, sizeof *used);
    for (int round = 0; round < 4; round++) {
        const option *best = NULL;
        size_t bi = 0;
        for (size_t k = 0; k < w->nopts; k++) {
            const option *op = &w->opts[k];
            if (op == chosen || used[k]) continue;
            const char *cls = opt_class(w, op);
            if (cls && strcmp(cls, "latency") && strcmp(cls, "budget") && strcmp(cls, "objective"))
                continue;
            int better = !best;
            if (!better && round != 1) better = opt_ev(op)->contracted_nano < opt_ev(best)->contracted_nano;
            if (!better && round == 1 && opt_ev(op)->has_latency)
                better = !opt_ev(best)->has_latency || opt_ev(op)->p50_ms < opt_ev(best)->p50_ms;
            if (better) { best = op; bi = k; }
        }
        if (!best) break;
        used[bi] = 1;
        json_t *a = option_summary(m, w, best);
        char d[40];
        int64_t diff = opt_ev(best)->contracted_nano - opt_ev(chosen)->contracted_nano;
        const char *decided;
        char *why = NULL;
        char rb[200];
        if (fbi_plan_opt_reason(m, w, best, rb)) decided = fbi_plan_opt_reason(m, w, best, rb);
        else if (diff > 0) {
            why = fbi_xasprintf("costs %s USD/month more", fbi_nano_str(diff, d));
            decided = why;
        } else {
            decided = "cheaper alone, but the joint plan (links, quotas, budgets, spread) chose otherwise";
        }
        if (why) json_object_set_new(a, "decided_by", json_string(why));
        else set_str(m, a, "decided_by", decided);
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
    json_object_foreach(obj, k, v) json_object_set_new(out, k, fbi_plan_nano_json(json_integer_value(v)));
    json_decref(obj);
    return out;
}

static const char *hours_basis(double hours, char *buf)
{
    if (hours == 730.0) return "730 hours per month (8,760 / 12)";
    snprintf(buf, 64, "%.0f hours (a %d-day calendar month)", hours, (int)(hours / 24));
    return buf;
}

json_t *fbi_plan_document_new(model *m)
{
    json_t *plan = json_object();
    char hb[64], when[21];
    int64_t now = 0;
    fbi_now(&now, NULL);
    fbi_format_rfc3339(now, when);
    json_object_set_new(plan, "format", json_string("fedbroker-plan/1"));
    json_object_set_new(plan, "generated_at", json_string(when));
    json_object_set_new(plan, "currency", json_string("USD"));
    json_object_set_new(plan, "hours_basis", json_string(hours_basis(m->hours, hb)));
    json_object_set_new(plan, "hours_per_month", json_real(m->hours));
    json_object_set_new(plan, "catalog", json_pack("{s:s,s:I}", "origin", fbi_catalog_origin(m->cat),
                        "override_rules", (json_int_t)fbi_catalog_override_count(m->cat)));
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

    return plan;
}

/* The catalog's sources.csv rows behind every price the plan shows (line
 * and link "source" codes), so a report can print a legend instead of bare
 * codes: code -> {origin, what, date, license} (new). */
static json_t *price_sources(const model *m, json_t *link_sources)
{
    json_t *out = json_object();
    size_t i;
    json_t *l;
    json_t *codes = json_array();
    /* the workloads' lines cite their rows' sources (line_json) */
    for (i = 0; i < m->nw; i++) {
        const wl *w = &m->w[i];
        const option *op = w->chosen >= 0 ? &w->opts[w->chosen] : NULL;
        for (size_t k = 0; op && k < opt_ev(op)->nlines; k++)
            if (opt_ev(op)->lines[k].row->source) json_array_append_new(codes, json_string(opt_ev(op)->lines[k].row->source));
    }
    const char *ls;
    json_object_foreach(link_sources, ls, l) json_array_append_new(codes, json_string(ls));
    json_array_foreach(codes, i, l) {
        /* a row may cite several sources: "S4;S12" */
        const char *s = json_string_value(l);
        while (s && *s) {
            size_t n = strcspn(s, ";");
            char id[64];
            snprintf(id, sizeof id, "%.*s", (int)(n < sizeof id ? n : sizeof id - 1), s);
            const fbi_source *src = json_object_get(out, id) ? NULL : fbi_catalog_source(m->cat, id);
            if (src)
                json_object_set_new(out, id, json_pack("{s:s,s:s,s:s,s:s}", "origin", src->origin, "what",
                                                       src->what, "date", src->date, "license", src->license));
            s += n;
            if (*s == ';') s++;
        }
    }
    json_decref(codes);
    return out;
}

/* The workloads of one shape placed on one candidate have equal
 * eliminations, alternatives, placements and latency, and equal lines when
 * their free-tier credits are equal: the document holds each such value
 * once and every workload refers to it (10,000 identical Functions: one
 * lines array instead of 10,000; bench/README-plan.md, "Memory"). The
 * text written is the same either way. Nothing changes a nested value of a
 * plan document in place (the CLI adds keys to the workload objects
 * themselves, which are never shared). cache maps a key naming what the
 * value was made from to the value. shared_get: a new reference, or NULL;
 * shared_put steals v and returns a new reference to it. */
static json_t *shared_get(json_t *cache, const char *key)
{
    json_t *v = json_object_get(cache, key);
    return v ? json_incref(v) : NULL;
}

static json_t *shared_put(json_t *cache, const char *key, json_t *v)
{
    json_object_set_new(cache, key, v);
    return json_incref(v);
}

/* What the workloads' JSON is made from, shared by their loop and
 * workload_json. */
typedef struct doc_ctx {
    model *m;
    const build *bd;
    const int64_t *sent; /* by workload: the egress its links send */
    json_t *cache;       /* the shared values (shared_get) */
} doc_ctx;

/* The JSON of workload i (new). Values alike between workloads of one
 * shape on one candidate are shared through the cache (shared_get), but
 * only for a shape of more than one workload: a value no other workload
 * can share would stay in the cache for nothing (and, when the document
 * is written as it is built, keep every workload's lines alive). */
static json_t *workload_json(const doc_ctx *dc, size_t i)
{
    model *m = dc->m;
    wl *w = &m->w[i];
    json_t *cache = dc->cache;
    json_t *labels = w->labels;
    json_t *wj = json_pack("{s:s,s:O?}", "name", w->name, "labels", labels);
    set_str(m, wj, "tenant", w->tenant);
    set_str(m, wj, "kind", w->kind);
    if (w->nreplicas > 1)
        json_object_set_new(wj, "replica", json_pack("{s:s,s:i,s:i}", "of", w->base, "index",
                                                     w->replica + 1, "count", w->nreplicas));
    if (w->part) {
        /* a hybrid workload's part: which, of what, and the split */
        json_t *hp = json_pack("{s:s,s:s,s:s}", "of", w->split->name, "part",
                               w->part == PART_CONTAINER ? "container" : "function",
                               "pair", w->part == PART_CONTAINER ? w->split->function_name
                                                                 : w->split->name);
        json_object_update(hp, w->split->info);
        /* were the quantities simulated at the offers the solver chose? */
        const wl *c = w->part == PART_CONTAINER ? w : w - 1, *f = c + 1;
        const char *sa = jstr(w->split->info, "simulated_at");
        const char *sf = jstr(w->split->info, "simulated_function_at");
        if (c->chosen >= 0 && f->chosen >= 0 && sa && sf)
            json_object_set_new(hp, "quantities_at_chosen_offers", json_boolean(
                !strcmp(opt_of(m, &c->opts[c->chosen])->label, sa) && !strcmp(opt_of(m, &f->opts[f->chosen])->label, sf)));
        json_object_set_new(wj, "hybrid_part", hp);
    }
    /* the parts every workload of a shape on one candidate has alike
     * are one shared value (see shared_get) */
    int plain = w->bb_fixed < 0 && !w->bb_out;
    int share = w->sh->nwl > 1;
    char key[80];
    snprintf(key, sizeof key, "E%p/%d", (void *)w->opts, w->fixed);
    json_t *elim = plain && share ? shared_get(cache, key) : NULL;
    if (!elim) {
        elim = json_object();
        for (size_t k = 0; k < w->nopts; k++)
            if (opt_class(w, &w->opts[k])) add_amount(elim, opt_class(w, &w->opts[k]), 1);
        if (plain && share) elim = shared_put(cache, key, elim);
    }
    json_object_set_new(wj, "candidates", json_integer((json_int_t)w->nopts));
    json_object_set_new(wj, "eliminated", elim);
    if (w->chosen < 0) {
        json_t *cands = json_array();
        for (size_t k = 0; k < w->nopts; k++) json_array_append_new(cands, option_summary(m, w, &w->opts[k]));
        json_object_set_new(wj, "rejected", cands);
        return wj;
    }
    option *op = &w->opts[w->chosen];
    int64_t wcredit = 0;
    fbi_buf lkey;
    fbi_buf_init(&lkey);
    fbi_buf_printf(&lkey, "L%p", (void *)op);
    for (size_t k = 0; k < opt_ev(op)->nlines; k++) {
        int64_t c = w->credit_nano ? w->credit_nano[k] : 0;
        if (share)
            fbi_buf_printf(&lkey, ",%lld:%lld", (long long)c, (long long)(w->free_qty ? w->free_qty[k] : 0));
        wcredit += c;
    }
    json_t *lines = share ? shared_get(cache, lkey.data) : NULL;
    if (!lines) {
        lines = json_array();
        for (size_t k = 0; k < opt_ev(op)->nlines; k++)
            json_array_append_new(lines, line_json(m, &opt_ev(op)->lines[k], w->credit_nano ? w->credit_nano[k] : 0,
                                                   w->free_qty ? w->free_qty[k] : 0));
        if (share) lines = shared_put(cache, lkey.data, lines);
    }
    fbi_buf_free(&lkey);
    int64_t wtotal = opt_ev(op)->contracted_nano + dc->sent[i];
    /* one per offer, whatever the shape */
    snprintf(key, sizeof key, "P%p", (void *)opt_of(m, op));
    json_t *pl = shared_get(cache, key);
    if (!pl) {
        pl = json_object();
        set_str(m, pl, "provider", opt_of(m, op)->provider);
        set_str(m, pl, "service", opt_of(m, op)->service);
        set_str(m, pl, "region", opt_of(m, op)->region);
        set_str(m, pl, "region_key", opt_of(m, op)->key);
        if (opt_of(m, op)->reg) {
            set_str(m, pl, "jurisdiction", opt_of(m, op)->jurisdiction ? opt_of(m, op)->jurisdiction
                                                                : opt_of(m, op)->reg->jurisdiction);
            set_str(m, pl, "metro", opt_of(m, op)->reg->metro);
            if (opt_of(m, op)->reg->display_name && opt_of(m, op)->reg->display_name[0])
                set_str(m, pl, "region_name", opt_of(m, op)->reg->display_name);
        }
        pl = shared_put(cache, key, pl);
    }
    json_object_set_new(wj, "placement", pl);
    snprintf(key, sizeof key, "l%p", (void *)op);
    json_t *v = share ? shared_get(cache, key) : NULL;
    if (!v) {
        v = fbi_plan_nano_json(opt_ev(op)->list_nano);
        if (share) v = shared_put(cache, key, v);
    }
    json_object_set_new(wj, "list_cost", v);
    snprintf(key, sizeof key, "c%p", (void *)op);
    v = share ? shared_get(cache, key) : NULL;
    if (!v) {
        v = fbi_plan_nano_json(opt_ev(op)->contracted_nano);
        if (share) v = shared_put(cache, key, v);
    }
    json_object_set_new(wj, "contracted_cost", v);
    json_object_set_new(wj, "egress_to_workloads", fbi_plan_nano_json(dc->sent[i]));
    json_object_set_new(wj, "monthly_cost", fbi_plan_nano_json(wtotal));
    json_object_set_new(wj, "free_tier_credit", fbi_plan_nano_json(wcredit));
    json_object_set_new(wj, "effective_cost", fbi_plan_nano_json(wtotal + wcredit));
    /* its mean, percentiles and origin modelled again (the evaluation
     * keeps the p50): fbi_plan_document_fill checked they can be */
    plan_latency lat;
    if (opt_ev(op)->has_latency && fbi_plan_option_latency(m, w->sh, op, &lat) == 0) {
        json_object_set_new(wj, "p50_latency_ms", json_real(round(opt_ev(op)->p50_ms * 10) / 10));
        json_object_set_new(wj, "mean_latency_ms", json_real(round(lat.mean_ms * 10) / 10));
        /* the modelled percentiles (docs/plan.md, "Latency") */
        snprintf(key, sizeof key, "T%p", (void *)op);
        json_t *pj = share ? shared_get(cache, key) : NULL;
        if (!pj) {
            pj = json_object();
            for (int k = 0; k < PLAN_NPCT; k++)
                json_object_set_new(pj, fbi_plan_pct_names[k], json_real(round(lat.pct_ms[k] * 10) / 10));
            if (share) pj = shared_put(cache, key, pj);
        }
        json_object_set_new(wj, "latency_ms", pj);
        set_str(m, wj, "latency_origin", opt_latency_origin(&lat));
        if (opt_src(op)->cold_ms > 0) {
            snprintf(key, sizeof key, "C%p", (void *)op);
            json_t *cj = share ? shared_get(cache, key) : NULL;
            if (!cj) {
                cj = json_pack("{s:f,s:f,s:b}", "ms", opt_src(op)->cold_ms, "probability",
                               round(opt_src(op)->p_cold * 1000) / 1000, "in_p50", opt_src(op)->p_cold >= 0.5);
                if (share) cj = shared_put(cache, key, cj);
            }
            json_object_set_new(wj, "cold_start", cj);
        }
    }
    json_object_set_new(wj, "lines", lines);
    json_object_set_new(wj, "notes", opt_src(op)->notes ? json_incref(opt_src(op)->notes) : json_array());
    snprintf(key, sizeof key, "A%p/%d", (void *)op, w->fixed);
    json_t *alts = plain && share ? shared_get(cache, key) : NULL;
    if (!alts) {
        alts = alternatives(m, w, op);
        if (plain && share) alts = shared_put(cache, key, alts);
    }
    json_object_set_new(wj, "alternatives", alts);
    return wj;
}

/* fbi_report_json_stream_arrays's source of workloads. */
static json_t *next_workload(void *arg, size_t i)
{
    return workload_json(arg, i);
}

/* The JSON of link i of the solved plan (new), its two ends placed. */
static json_t *link_json(const model *m, const build *bd, size_t i)
{
    const jlink *l = &bd->links[i];
    const option *oa = &m->w[l->from].opts[m->w[l->from].chosen];
    const option *ob = &m->w[l->to].opts[m->w[l->to].chosen];
    const plan_link_egress *e = fbi_plan_link_egress(m, opt_of(m, oa), opt_of(m, ob));
    int64_t price = e->ok ? e->unit_nano : 0;
    int64_t cost = fbi_plan_link_cost(l->volume_nano_gib, price);
    /* the list column never carries a contracted price (overrides) */
    int64_t list_cost = fbi_plan_link_cost(l->volume_nano_gib, e->ok ? e->list_nano : 0);
    const plan_rtt *rt = fbi_plan_link_rtt(m, opt_of(m, oa), opt_of(m, ob));
    json_t *lj = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:s?,s:s?,s:s?,s:o}",
        "from", m->w[l->from].name, "to", m->w[l->to].name, "from_region", opt_of(m, oa)->key,
        "to_region", opt_of(m, ob)->key, "volume_gib", json_string(fbi_nano_str(l->volume_nano_gib, (char[40]){0})),
        "egress_usd_per_gib", fbi_plan_nano_json(price), "egress_kind", e->ok ? e->kind : NULL,
        "sku", e->ok ? e->sku : NULL, "note", e->note, "monthly_cost", fbi_plan_nano_json(cost));
    if (rt->st == FB_OK) json_object_set_new(lj, "rtt_ms", json_real(round(rt->ms * 10) / 10));
    if (l->budget_ms) json_object_set_new(lj, "latency_budget_ms", json_integer(l->budget_ms));
    if (e->ok && e->rule) json_object_set_new(lj, "contract_rule", json_string(e->rule));
    json_object_set_new(lj, "list_usd_per_gib", fbi_plan_nano_json(e->ok ? e->list_nano : 0));
    json_object_set_new(lj, "list_cost", fbi_plan_nano_json(list_cost));
    if (e->service) json_object_set_new(lj, "service", json_string(e->service));
    if (e->source) json_object_set_new(lj, "source", json_string(e->source));
    if (e->as_of) json_object_set_new(lj, "as_of", json_string(e->as_of));
    return lj;
}

/* fbi_report_json_stream_arrays's source of links. */
static json_t *next_link(void *arg, size_t i)
{
    doc_ctx *dc = arg;
    return link_json(dc->m, dc->bd, i);
}

fb_status fbi_plan_document_fill(model *m, build *bd, const fbi_result *r, int solved,
                                 json_t *why, json_t *solver_info, json_t *baselines,
                                 const int64_t *baseline_totals, json_t *plan, int64_t *total_out,
                                 FILE *stream, int *write_failed)
{
    fb_status rc = FB_OK;
    int64_t total = 0, list_total = 0, credit = 0;
    json_t *by_provider = json_object(), *by_region = json_object(), *by_label = json_object();
    if (write_failed) *write_failed = 0;
    if (solved) {
        for (size_t i = 0; i < m->nw; i++) {
            wl *w = &m->w[i];
            int off = r->offer[w->sp_w];
            for (size_t k = 0; k < w->nopts; k++)
                if (!opt_class(w, &w->opts[k]) && bd->sp_of[opt_of(m, &w->opts[k])->idx] == off) w->chosen = (int)k;
            /* the chosen candidate's lines, for the free tiers and the document */
            if (w->chosen >= 0 && fbi_plan_option_lines(m, w->sh, &w->opts[w->chosen]) != 0) rc = FB_INTERNAL;
            /* and its latency, which the workload's JSON models again */
            plan_latency lat;
            if (w->chosen >= 0 && opt_ev(&w->opts[w->chosen])->has_latency &&
                fbi_plan_option_latency(m, w->sh, &w->opts[w->chosen], &lat) != 0) {
                char *e = fbi_xasprintf("internal error: the latency of %s modelled again is not its "
                                        "evaluation's", opt_of(m, &w->opts[w->chosen])->label);
                fb_diag_add(m->diag, FB_SEV_ERROR, NULL, 0, 0, NULL, e, "please report this bug");
                free(e);
                rc = FB_INTERNAL;
            }
        }
    }
    json_t *free_rows = solved ? fbi_plan_free_tiers(m, &credit) : json_array();
    /* links first, so each workload carries the egress it sends */
    json_t *ljs = json_array();
    /* the link sources the price legend cites (price_sources), each once */
    json_t *lsrc = json_object();
    int64_t *sent = fbi_xcalloc(m->nw ? m->nw : 1, sizeof *sent);
    for (size_t i = 0; solved && i < bd->nlinks; i++) {
        jlink *l = &bd->links[i];
        option *oa = &m->w[l->from].opts[m->w[l->from].chosen];
        option *ob = &m->w[l->to].opts[m->w[l->to].chosen];
        const plan_link_egress *e = fbi_plan_link_egress(m, opt_of(m, oa), opt_of(m, ob));
        int64_t price = e->ok ? e->unit_nano : 0;
        int64_t cost = fbi_plan_link_cost(l->volume_nano_gib, price);
        /* the list column never carries a contracted price (overrides) */
        int64_t list_cost = fbi_plan_link_cost(l->volume_nano_gib, e->ok ? e->list_nano : 0);
        sent[l->from] += cost;
        /* written as it is made when the document is streamed (next_link) */
        if (!stream) json_array_append_new(ljs, link_json(m, bd, i));
        if (e->source) json_object_set_new(lsrc, e->source, json_true());
        total += cost;
        list_total += list_cost;
        add_amount(by_provider, opt_of(m, oa)->provider, cost);
        add_amount(by_region, opt_of(m, oa)->key, cost);
    }
    /* the totals, before any workload's JSON: a document written as it is
     * built writes them first */
    for (size_t i = 0; i < m->nshapes; i++) m->shapes[i]->nwl = 0;
    for (size_t i = 0; i < m->nw; i++) {
        wl *w = &m->w[i];
        w->sh->nwl++;
        if (w->chosen < 0) continue;
        const option *op = &w->opts[w->chosen];
        int64_t wtotal = opt_ev(op)->contracted_nano + sent[i];
        total += opt_ev(op)->contracted_nano;
        list_total += opt_ev(op)->list_nano;
        add_amount(by_provider, opt_of(m, op)->provider, opt_ev(op)->contracted_nano);
        add_amount(by_region, opt_of(m, op)->key, opt_ev(op)->contracted_nano);
        const char *lk;
        json_t *lv;
        json_object_foreach(w->labels, lk, lv) {
            json_t *g = json_object_get(by_label, lk);
            if (!g) json_object_set_new(by_label, lk, g = json_object());
            add_amount(g, json_string_value(lv), wtotal);
        }
    }
    if (solved && total != r->total) {
        char a[40], bb[40];
        char *msg = fbi_xasprintf("internal check failed: the lines add up to %s but the solver "
                                  "priced the plan at %s", fbi_nano_str(total, a), fbi_nano_str(r->total, bb));
        fb_diag_add(m->diag, FB_SEV_ERROR, NULL, 0, 0, NULL, msg, NULL);
        free(msg);
        rc = FB_INTERNAL;
    }
    json_object_set_new(plan, "status", json_string(!solved ? "infeasible" : fbi_status_str(r->status)));
    if (solved) {
        json_object_set_new(plan, "total_monthly_cost", fbi_plan_nano_json(total));
        json_object_set_new(plan, "list_monthly_cost", fbi_plan_nano_json(list_total));
        json_object_set_new(plan, "free_tier_credit", fbi_plan_nano_json(credit));
        json_object_set_new(plan, "net_monthly_cost", fbi_plan_nano_json(total + credit));
        json_object_set_new(plan, "lower_bound", fbi_plan_nano_json(r->bound));
        json_object_set_new(plan, "gap", json_real(r->gap));
        json_object_set_new(plan, "solver", solver_info);
        solver_info = NULL;
    } else {
        json_object_set_new(plan, "infeasible", json_incref(why));
    }
    json_object_set_new(plan, "price_sources", price_sources(m, lsrc));
    json_decref(lsrc);
    if (stream) json_decref(ljs);
    else json_object_set_new(plan, "links", ljs);
    json_object_set_new(plan, "free_tiers", free_rows);
    /* each budget with the figure it was compared with (docs/spec.md) */
    if (solved) {
        json_t *bj = fbi_plan_budgets_json(m, bd);
        if (json_array_size(bj)) json_object_set_new(plan, "budgets", bj);
        else json_decref(bj);
    }
    json_object_set_new(plan, "totals", json_pack("{s:o,s:o,s:o}", "by_provider",
                        amounts_json(by_provider), "by_region", amounts_json(by_region),
                        "by_label", json_object()));
    const char *lk;
    json_t *lv;
    json_object_foreach(by_label, lk, lv)
        json_object_set_new(jpath(json_object_get(plan, "totals"), "by_label", NULL), lk,
                            amounts_json(json_incref(lv)));
    json_decref(by_label);
    json_decref(solver_info);
    /* the single-provider baselines, with what each costs more */
    if (baselines && rc == FB_OK) {
        size_t i;
        json_t *row;
        json_array_foreach(baselines, i, row)
            if (solved && baseline_totals[i] >= 0)
                json_object_set_new(row, "savings", fbi_plan_nano_json(baseline_totals[i] - total));
        json_object_set_new(plan, "baselines", json_incref(baselines));
    }
    doc_ctx dc = {m, bd, sent, json_object()};
    if (stream) {
        /* the links and the workloads are made as they are written; the
         * plan kept has both empty */
        fbi_report_array arrs[2] = {{"links", solved ? bd->nlinks : 0, next_link, &dc},
                                    {"workloads", m->nw, next_workload, &dc}};
        if (fbi_report_json_stream_arrays(plan, arrs, 2, stream) != 0 && write_failed) *write_failed = 1;
        json_object_set_new(plan, "links", json_array());
        json_object_set_new(plan, "workloads", json_array());
    } else {
        json_t *wjs = json_array();
        for (size_t i = 0; i < m->nw; i++) json_array_append_new(wjs, workload_json(&dc, i));
        json_object_set_new(plan, "workloads", wjs);
    }
    json_decref(dc.cache);
    free(sent);
    *total_out = total;
    return rc;
}
