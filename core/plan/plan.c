/* plan.c - fbi_plan_run: the catalog and the workloads with their
 * candidates (input.c, model.c), the objective, the joint problem and its
 * solution (problem.c), free tiers (freetier.c), the document
 * (document.c), and the single-provider baselines. The money rules are in
 * plan_int.h. */
#include "config.h"
#include "plan/plan_int.h"
#include "spec/spec.h"
#include "base/decimal.h"

#include <math.h>
#include <stdlib.h>

char *fbi_nano_str(int64_t nano, char *buf)
{
    return fbi_dec_format(nano, 9, 2, buf);
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

/* Starts a solve of the evaluated model: clears what the last solve added
 * (objective band, ties, a baseline's mask), masks the offers of every
 * other provider when only is a provider (a single-provider baseline moves
 * every workload that provider can run; the others, e.g. quantum jobs for
 * a cloud, keep their choices), then applies each workload's objective. */
static void solve_begin(model *m, const char *only)
{
    m->only = only;
    for (size_t i = 0; i < m->nshapes; i++) {
        shape *sh = m->shapes[i];
        int mask = only && provider_runs_kind(m, only, sh->kind);
        for (size_t k = 0; k < sh->nopts; k++)
            sh->opts[k].run = mask && strcmp(opt_of(m, &sh->opts[k])->provider, only) != 0 ? RUN_BASELINE
                                                                                  : RUN_NONE;
    }
    for (size_t i = 0; i < m->nw; i++) {
        m->w[i].chosen = -1;
        m->w[i].fixed = -1;
        m->w[i].bb_fixed = -1;
        /* the last solve's budget search may have left its (cleared)
         * rule-outs: a solve starts with none */
        free(m->w[i].bb_out);
        m->w[i].bb_out = NULL;
    }
    m->budget_solves = 0;
    for (size_t i = 0; i < m->nshapes; i++) fbi_plan_apply_objective(m->shapes[i]);
}

/* Appends to why (and m->diag) the workloads with no candidate left. */
static void explain_empty(model *m, json_t *why)
{
    for (size_t i = 0; i < m->nw; i++) {
        size_t alive = 0;
        for (size_t k = 0; k < m->w[i].nopts; k++) alive += !opt_class(&m->w[i], &m->w[i].opts[k]);
        if (!alive) fbi_plan_explain_infeasible(m, &m->w[i], why);
    }
}

/* The single-provider baselines: the evaluated model solved again with
 * each provider's offers only (for the kinds it runs), each with its total
 * or why it is infeasible. Nothing is evaluated again. They are solved
 * before the plan's own solve, so that no baseline's solver structures are
 * alive while the plan document is built (the peak of plan's memory;
 * bench/README-plan.md, "Memory"); the plan's own solve starts afresh
 * (solve_begin). totals (new, one per row) receives each feasible row's
 * total, -1 for an infeasible one, for the savings the document adds.
 * Returns the rows (new). */
static json_t *baselines(model *m, int64_t **totals)
{
    json_t *out = json_array();
    json_t *seen = json_object();
    fb_diag *main_diag = m->diag;
    size_t i, nrows = 0;
    json_t *offer;
    *totals = fbi_xcalloc(json_array_size(fbi_broker_offers(m->b, NULL)) + 1, sizeof **totals);
    json_array_foreach(fbi_broker_offers(m->b, NULL), i, offer) {
        const char *p = jstr(offer, "provider");
        const char *okind = jstr(offer, "kind");
        if (!p || json_object_get(seen, p) || !okind || !strcmp(okind, "QuantumJob")) continue;
        json_object_set_new(seen, p, json_true());
        fb_diag *d = fb_diag_new();
        m->diag = d;
        solve_begin(m, p);
        json_t *why = json_array(), *relaxed = json_array();
        explain_empty(m, why);
        fbi_result r;
        memset(&r, 0, sizeof r);
        build bd;
        memset(&bd, 0, sizeof bd);
        int solved = 0;
        fb_status st = fbi_plan_solve(m, &bd, &r, relaxed, why, &solved);
        json_t *row = json_pack("{s:s,s:s}", "name", "all-", "provider", p);
        json_object_set_new(row, "name", json_sprintf("all-%s", p));
        (*totals)[nrows++] = st == FB_OK && solved ? r.total : -1;
        if (st == FB_OK && solved) {
            json_object_set_new(row, "status", json_string("feasible"));
            json_object_set_new(row, "total_monthly_cost", fbi_plan_nano_json(r.total));
        } else {
            json_object_set_new(row, "status", json_string("infeasible"));
            size_t k = 0;
            while (k < fb_diag_count(d) && fb_diag_severity(d, k) != FB_SEV_ERROR) k++;
            json_object_set_new(row, "reason", json_string(k < fb_diag_count(d) ? fb_diag_summary(d, k)
                                                                                : fbi_status_name(st == FB_OK ? FB_QUOTA : st)));
        }
        json_array_append_new(out, row);
        json_decref(why);
        json_decref(relaxed);
        fbi_result_free(&r);
        fbi_plan_build_free(&bd);
        fb_diag_free(d);
    }
    m->diag = main_diag;
    json_decref(seen);
    return out;
}

/* Each workload is bounded at validate so that its own cost is exact,
 * but a federation of many expensive ones can add up past the 64-bit
 * nano-USD total (about 9.2 billion USD a month); every joint plan would
 * then overflow and the solver would call it infeasible. When even the
 * workloads' cheapest candidates add up past it, the input is what is
 * wrong (exit 2), and the error says so. Non-zero (and the error added)
 * then. */
static int beyond_exact_total(model *m)
{
    int64_t sum = 0;
    for (size_t i = 0; i < m->nw; i++) {
        const wl *w = &m->w[i];
        int64_t best = -1;
        for (size_t k = 0; k < w->nopts; k++) {
            const option *op = &w->opts[k];
            if (op->cls) continue;
            if (best < 0 || opt_ev(op)->contracted_nano < best) best = opt_ev(op)->contracted_nano;
        }
        if (best > 0 && __builtin_add_overflow(sum, best, &sum)) {
            char *msg = fbi_xasprintf(
                "the federation costs more than the cost model totals exactly: the cheapest candidates of "
                "its first %zu workloads (of %zu) already add up past 9,223,372,036.854775807 USD a month",
                i + 1, m->nw);
            fb_diag_add(m->diag, FB_SEV_ERROR, NULL, 0, 0, NULL, msg,
                        "plan totals are exact 64-bit integers of nano-USD; split the federation into "
                        "smaller ones (fedbroker plan each) or lower the traffic of its largest workloads");
            free(msg);
            return 1;
        }
    }
    return 0;
}

fb_status fbi_plan_run(fbi_broker *b, fb_spec_set *set, const fbi_plan_opts *opts,
                       json_t **plan_out, int64_t *total_nano, fb_diag *diag)
{
    *plan_out = NULL;
    if (total_nano) *total_nano = 0;
    double t0 = fbi_mono_ms(), ts;
    model m;
    memset(&m, 0, sizeof m);
    m.b = b;
    m.o = opts;
    m.set = set;
    m.diag = diag;
    m.hours = opts->calendar_hours ? 24.0 * opts->calendar_hours : 730.0;
    if (fbi_plan_open_catalog(&m) != FB_OK) {
        fbi_plan_model_free(&m);
        return FB_INVALID;
    }
    /* the set's links and federations are built from its normal forms:
     * before any is released (fbi_spec_release) */
    if (opts->release_specs) {
        (void)fbi_spec_links(set);
        (void)fbi_spec_federations(set);
    }
    fbi_plan_build_workloads(&m);
    if (m.invalid) {
        fbi_plan_model_free(&m);
        return FB_INVALID;
    }
    /* a budget on net figures needs each candidate's most credit */
    fbi_plan_free_rows(&m);
    for (size_t i = 0; i < m.nw && !m.need_credit; i++) {
        json_t *bj = json_object_get(m.w[i].placement, "budget");
        m.need_credit = bj && fbi_plan_basis(bj) == BASIS_NET;
    }
    size_t fi;
    json_t *fed;
    json_array_foreach(fbi_spec_federations(set), fi, fed) {
        json_t *bj = json_object_get(fed, "budget");
        if (bj && fbi_plan_basis(bj) == BASIS_NET) m.need_credit = 1;
    }
    ts = fbi_mono_ms();
    fbi_plan_evaluate_all(&m);
    if (opts->stats) opts->stats->evaluate_ms += fbi_mono_ms() - ts;
    if (beyond_exact_total(&m)) {
        fbi_plan_model_free(&m);
        return FB_INVALID;
    }
    json_t *base_rows = NULL;
    int64_t *base_totals = NULL;
    if (opts->baselines) {
        ts = fbi_mono_ms();
        base_rows = baselines(&m, &base_totals);
        if (opts->stats) opts->stats->solve_ms += fbi_mono_ms() - ts;
    }
    solve_begin(&m, NULL);

    json_t *plan = fbi_plan_document_new(&m);
    /* workloads with no candidate left make the plan infeasible */
    json_t *why = json_array();
    explain_empty(&m, why);
    fbi_result r;
    memset(&r, 0, sizeof r);
    build bd;
    memset(&bd, 0, sizeof bd);
    int solved = 0;
    json_t *relaxed = json_array();
    ts = fbi_mono_ms();
    fb_status rc = fbi_plan_solve(&m, &bd, &r, relaxed, why, &solved);
    if (rc == FB_OK && bd.p && opts->export_lp) rc = fbi_plan_export_lp(&m, &bd, opts->export_lp);
    /* what the solver saw, before ties are settled on a reduced problem */
    json_t *solver_info = NULL;
    if (rc == FB_OK && solved) {
        solver_info = json_pack("{s:s,s:s,s:s,s:f,s:I,s:I,s:I}",
            "status", fbi_status_str(r.status), "bound_method", r.bound_method,
            "plan_method", r.plan_method, "seconds", r.seconds,
            "workloads", (json_int_t)fbi_problem_nworkloads(bd.p),
            "offers", (json_int_t)fbi_problem_noffers(bd.p),
            "links", (json_int_t)fbi_problem_nlinks(bd.p));
        /* solved part by part (fbi_solve_parts): how many, how many proven */
        if (r.parts > 1) {
            json_object_set_new(solver_info, "parts", json_integer((json_int_t)r.parts));
            json_object_set_new(solver_info, "parts_proven", json_integer((json_int_t)r.parts_proven));
        }
        /* the solver's first plan broke a budget on its own figure: how
         * many solves the budget search took (docs/plan.md, "Budgets") */
        if (m.budget_solves)
            json_object_set_new(solver_info, "budget_search_solves", json_integer((json_int_t)m.budget_solves));
        if (fbi_plan_lexmin(&m, &bd, &r, opts->time_limit_s))
            json_object_set_new(solver_info, "ties", json_string(
                "settled: of the optimal plans, the first in offer order (so the same input gives the same plan)"));
    }
    if (opts->stats) opts->stats->solve_ms += fbi_mono_ms() - ts;
    if (json_array_size(relaxed) && solved)
        json_object_set_new(plan, "objective_relaxed", json_pack("{s:O,s:s}", "workloads", relaxed,
            "why", "the latency band of objective latency/balanced left no joint placement; "
                   "all candidates that meet the hard constraints were considered"));
    json_decref(relaxed);
    if (rc != FB_OK) {
        json_decref(base_rows);
        free(base_totals);
        json_decref(solver_info);
        json_decref(why);
        json_decref(plan);
        fbi_result_free(&r);
        fbi_plan_build_free(&bd);
        fbi_plan_model_free(&m);
        return rc;
    }
    int64_t total = 0;
    int write_failed = 0;
    rc = fbi_plan_document_fill(&m, &bd, &r, solved, why, solver_info, base_rows, base_totals, plan,
                                &total, opts->json_out, &write_failed);
    if (opts->json_out && write_failed) {
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, "could not write the plan document", NULL);
        if (rc == FB_OK) rc = FB_INTERNAL;
    }
    json_decref(base_rows);
    free(base_totals);
    json_decref(why);
    fbi_result_free(&r);
    fbi_plan_build_free(&bd);
    fbi_plan_model_free(&m);
    *plan_out = plan;
    if (total_nano && rc == FB_OK && solved) *total_nano = total;
    if (opts->stats) opts->stats->total_ms += fbi_mono_ms() - t0;
    if (rc != FB_OK) return rc;
    return solved ? FB_OK : FB_QUOTA;
}
