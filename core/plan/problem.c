/* problem.c - the joint placement problem: the surviving candidates as
 * solver options, quotas, federation budgets, spread, affinity, links with
 * egress and latency budgets; solving it (with the objective's band
 * relaxed when only the band stands in the way), settling ties among
 * optimal plans in offer order, and writing it as an LP file. */
#include "config.h"
#include "plan/plan_int.h"
#include "spec/spec.h"
#include "base/decimal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* The solver's index of op's region, added on first use. */
static int region_index(build *bd, const offer_info *of)
{
    if (bd->region_of[of->idx] >= 0) return bd->region_of[of->idx];
    size_t v;
    if (fbi_smap_get(&bd->region_idx, of->key, &v)) return bd->region_of[of->idx] = (int)v;
    char *err = NULL;
    int r = fbi_problem_add_region(bd->p, of->key, of->price_provider, &err);
    free(err);
    fbi_smap_put(&bd->region_idx, of->key, (size_t)r, NULL);
    return bd->region_of[of->idx] = r;
}

/* The workloads of tenant named base (fbi_plan_find_wl): sets *first and
 * *count, returns the first or NULL. */
static wl *find_wl(model *m, const char *tenant, const char *base, size_t *first, size_t *count)
{
    *count = fbi_plan_find_wl(m, tenant, base, first);
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

/* A link of bytes a month from workload ia to ib (indices into m->w):
 * egress between the regions chosen, the latency budget (0: none) and
 * missing egress prices as forbidden offer pairs, and the jlink the
 * document prices. */
static void add_link(model *m, build *bd, size_t ia, size_t ib, uint64_t bytes, int64_t budget,
                     const char *tenant)
{
    wl *wa = &m->w[ia], *wb = &m->w[ib];
    int *forbid = NULL;
    size_t nf = 0;
    for (size_t x = 0; x < wa->nopts; x++) {
        option *oa = &wa->opts[x];
        if (opt_class(wa, oa)) continue;
        for (size_t y = 0; y < wb->nopts; y++) {
            option *ob = &wb->opts[y];
            if (opt_class(wb, ob)) continue;
            const plan_link_egress *e = fbi_plan_link_egress(m, opt_of(m, oa), opt_of(m, ob));
            int bad = !e->ok;
            if (!bad) {
                char *e2 = NULL;
                fbi_problem_set_egress(bd->p, region_index(bd, opt_of(m, oa)), region_index(bd, opt_of(m, ob)),
                                       e->unit_nano, &e2);
                free(e2);
            }
            if (!bad && budget > 0) {
                const plan_rtt *rt = fbi_plan_link_rtt(m, opt_of(m, oa), opt_of(m, ob));
                bad = rt->st != FB_OK || rt->ms > (double)budget;
            }
            if (bad) {
                forbid = fbi_xrealloc(forbid, (nf + 1) * 2 * sizeof *forbid);
                forbid[2 * nf] = bd->sp_of[opt_of(m, oa)->idx];
                forbid[2 * nf + 1] = bd->sp_of[opt_of(m, ob)->idx];
                nf++;
            }
        }
    }
    if (nf) add_pair(bd, FBI_PAIR_FORBIDDEN_OFFERS, wa->sp_w, wb->sp_w, forbid, nf);
    free(forbid);
    int64_t vol = bytes_to_nano_gib(bytes);
    if (vol > 0) {
        char *e3 = NULL;
        fbi_problem_add_link(bd->p, wa->sp_w, wb->sp_w, vol, &e3);
        free(e3);
    }
    bd->links = fbi_xrealloc(bd->links, (bd->nlinks + 1) * sizeof *bd->links);
    bd->links[bd->nlinks++] = (jlink){(int)ia, (int)ib, vol, budget, tenant};
}

double fbi_plan_solve_gap(const model *m)
{
    return m->o->rel_gap == 0 ? FBI_PLAN_REL_GAP : m->o->rel_gap > 0 ? m->o->rel_gap : 0;
}

void fbi_plan_build_problem(model *m, build *bd)
{
    char *err = NULL;
    bd->p = fbi_problem_new();
    bd->sp_of = fbi_xcalloc(m->noffers ? m->noffers : 1, sizeof *bd->sp_of);
    bd->region_of = fbi_xcalloc(m->noffers ? m->noffers : 1, sizeof *bd->region_of);
    for (size_t k = 0; k < m->noffers; k++) bd->sp_of[k] = bd->region_of[k] = -1;
    for (size_t i = 0; i < m->nw; i++) {
        wl *w = &m->w[i];
        int64_t demand = 0;
        for (size_t k = 0; k < w->nopts; k++)
            if (!opt_class(w, &w->opts[k]) && opt_src(&w->opts[k])->vcpu_micro > demand)
                demand = opt_src(&w->opts[k])->vcpu_micro;
        w->sp_w = fbi_problem_add_workload(bd->p, w->name, demand, &err);
        for (size_t k = 0; k < w->nopts; k++) {
            option *op = &w->opts[k];
            if (opt_class(w, op)) continue;
            size_t v;
            if (!fbi_smap_get(&bd->offer_idx, opt_of(m, op)->label, &v)) {
                int r = region_index(bd, opt_of(m, op));
                v = (size_t)fbi_problem_add_offer(bd->p, opt_of(m, op)->label, r, FBI_UNLIMITED, &err);
                fbi_smap_put(&bd->offer_idx, opt_of(m, op)->label, v, NULL);
                /* the solver numbers offers 0, 1, ... as they are added */
                bd->offer_labels = fbi_xrealloc(bd->offer_labels,
                                                (bd->noffers + 1) * sizeof *bd->offer_labels);
                bd->offer_labels[bd->noffers++] = opt_of(m, op)->label;
            }
            bd->sp_of[opt_of(m, op)->idx] = (int)v;
            fbi_problem_add_option(bd->p, w->sp_w, (int)v, opt_ev(op)->contracted_nano, &err);
        }
    }
    free(err);
    err = NULL;
    /* quotas: configuration "quotas": {"provider:region": {"vcpu": n, "instances": n}} */
    json_t *quotas = m->o->no_quotas ? NULL : json_object_get(m->b->config, "quotas");
    const char *qkey;
    json_t *q;
    json_object_foreach(quotas, qkey, q) {
        int *offs = NULL;
        size_t n = 0;
        for (size_t o = 0; o < bd->noffers; o++) {
            const char *label = bd->offer_labels[o];
            /* label is provider:service:region; the quota key provider:region */
            const char *c1 = strchr(label, ':');
            const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
            if (!c2) continue;
            size_t plen = (size_t)(c1 - label);
            if (strncmp(qkey, label, plen) || qkey[plen] != ':' || strcmp(qkey + plen + 1, c2 + 1))
                continue;
            offs = fbi_xrealloc(offs, (n + 1) * sizeof *offs);
            offs[n++] = (int)o;
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
    const json_t *feds = fbi_spec_federations(m->set);
    size_t fi;
    json_t *fed;
    json_array_foreach(feds, fi, fed) {
        json_t *bj = json_object_get(fed, "budget");
        int64_t budget = json_integer_value(json_object_get(bj, "monthlyMicroUsd"));
        if (budget <= 0 || m->skip_fed_budgets) continue;
        budget_basis basis = fbi_plan_basis(bj);
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
            /* a hybrid workload's function part counts with it */
            for (size_t r = 0; r < m->nw; r++) {
                const wl *x = &m->w[r];
                if (x->part == PART_FUNCTION && !strcmp(x->tenant, jstr(fed, "tenant")) &&
                    json_string_value(name) && !strcmp(x->split->name, json_string_value(name))) {
                    ws = fbi_xrealloc(ws, (n + 1) * sizeof *ws);
                    ws[n++] = x->sp_w;
                }
            }
        }
        /* The solver sums contracted option costs. On another basis the
         * budget is raised by the most the members' figures can fall below
         * their contracted costs (free tiers, or list below contracted), so
         * no plan within the real budget is lost; the budget search checks
         * the plan's own figure (budget.c). The members' links are in that
         * figure but not in this row (it takes option costs only): a link
         * costs >= 0, so leaving it out keeps the row a relaxation. */
        int64_t slack = 0, cap = budget * NANO_PER_MICRO;
        for (size_t k2 = 0; basis != BASIS_CONTRACTED && k2 < n; k2++)
            for (size_t i = 0; i < m->nw; i++)
                if (m->w[i].sp_w == ws[k2] && __builtin_add_overflow(slack, fbi_plan_budget_slack(&m->w[i], basis), &slack))
                    slack = INT64_MAX / 4;
        if (__builtin_add_overflow(cap, slack, &cap)) cap = INT64_MAX / 4;
        char sb[40];
        char *nm = basis == BASIS_CONTRACTED
            ? fbi_xasprintf("budget of federation %s/%s (compared with the workloads' cost %s)",
                            jstr(fed, "tenant"), jstr(fed, "name"), fbi_plan_basis_words(basis))
            : fbi_xasprintf("budget of federation %s/%s (compared with the workloads' cost %s; the "
                            "solver compares their contracted costs with it plus the %s USD/month their "
                            "figures can at most fall below them)",
                            jstr(fed, "tenant"), jstr(fed, "name"), fbi_plan_basis_words(basis),
                            fbi_nano_str(slack, sb));
        fbi_problem_add_budget(bd->p, nm, cap, ws, n, &err);
        free(err);
        err = NULL;
        free(nm);
        free(ws);
    }
    /* a hybrid workload's placement budget bounds its two parts together
     * (the parts' own documents carry none) */
    for (size_t i = 0; i + 1 < m->nw; i++) {
        const wl *c = &m->w[i], *f = &m->w[i + 1];
        if (c->part != PART_CONTAINER || f->part != PART_FUNCTION || c->split->budget_micro <= 0)
            continue;
        int ws[2] = {c->sp_w, f->sp_w};
        char *nm = fbi_xasprintf("budget of hybrid workload %s/%s", c->tenant, c->split->name);
        fbi_problem_add_budget(bd->p, nm, c->split->budget_micro * NANO_PER_MICRO, ws, 2, &err);
        free(err);
        err = NULL;
        free(nm);
    }
    /* spread, affinity, anti-affinity */
    for (size_t i = 0; i < m->nw; i++) {
        wl *w = &m->w[i];
        const json_t *place = w->placement;
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
    const json_t *links = fbi_spec_links(m->set);
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
                add_link(m, bd, f0 + a, t0 + b, share, budget, jstr(lk, "tenant"));
            }
        }
        (void)left;
    }
    /* a hybrid workload's overflow: the function part's responses go back
     * through the gateway beside the containers */
    for (size_t i = 0; i + 1 < m->nw; i++) {
        const wl *c = &m->w[i], *f = &m->w[i + 1];
        if (c->part == PART_CONTAINER && f->part == PART_FUNCTION)
            add_link(m, bd, i + 1, i, f->split->link_bytes, 0, f->tenant);
    }
}

/* Equal-cost plans are common (a price is the same in several regions);
 * which one the solver returns can depend on thread timing. Finance diffs
 * reports, so a proven-optimal plan of a small federation is replaced by
 * the lexicographically first optimal plan: for each workload in order, the
 * first of its candidates (in offer order) that still allows the optimal
 * total, each probe an exact solve with the earlier workloads fixed. Larger
 * problems keep the solver's plan. Returns 1 when bd and r were replaced. */
/* Does the probe's plan keep every budget on its own figure? (The probes
 * solve the relaxed problem, so an equal-cost plan may break one.) */
static int budgets_hold(model *m, const build *bd, const fbi_result *r)
{
    char *v = NULL;
    int ok = fbi_plan_budgets_hold(m, bd, r, &v, NULL, NULL, NULL);
    free(v);
    return ok;
}

int fbi_plan_lexmin(model *m, build *bd, fbi_result *r, double time_limit)
{
    if (r->status != FBI_OPTIMAL || m->nw == 0 || m->nw > 16) return 0;
    fbi_money best = r->total;
    size_t probes = 0;
    for (size_t i = 0; i < m->nw; i++) {
        wl *w = &m->w[i];
        size_t alive = 0;
        for (size_t k = 0; k < w->nopts; k++) alive += !opt_class(w, &w->opts[k]);
        if (alive <= 1) continue;
        int fixed = 0;
        for (size_t k = 0; k < w->nopts && !fixed; k++) {
            if (opt_class(w, &w->opts[k])) continue;
            /* keep only candidate k of workload i */
            w->fixed = (int)k;
            build probe;
            memset(&probe, 0, sizeof probe);
            fbi_plan_build_problem(m, &probe);
            fbi_result pr;
            memset(&pr, 0, sizeof pr);
            fbi_solve_opts so = {FBI_MODE_EXACT, time_limit, 1, 0, 0};
            char *err = NULL;
            int ok = fbi_solve(probe.p, &so, &pr, &err) == 0 && pr.status == FBI_OPTIMAL &&
                     pr.total == best && budgets_hold(m, &probe, &pr);
            free(err);
            fbi_result_free(&pr);
            fbi_plan_build_free(&probe);
            if (++probes > 200) ok = 0;
            if (ok) {
                fixed = 1;
            } else {
                w->fixed = -1;
                if (probes > 200) goto give_up;
            }
        }
    }
    /* every tie is now settled: solve the fixed problem for the output */
    {
        build fin;
        memset(&fin, 0, sizeof fin);
        fbi_plan_build_problem(m, &fin);
        fbi_result fr;
        memset(&fr, 0, sizeof fr);
        fbi_solve_opts so = {FBI_MODE_EXACT, time_limit, 1, 0, 0};
        char *err = NULL;
        if (fbi_solve(fin.p, &so, &fr, &err) == 0 && fr.status == FBI_OPTIMAL && fr.total == best &&
            budgets_hold(m, &fin, &fr)) {
            free(err);
            fr.bound = r->bound; /* the bound proven on the whole problem */
            fr.gap = r->gap;
            fbi_plan_build_free(bd);
            *bd = fin;
            fbi_result_free(r);
            *r = fr;
            /* the settled-away candidates are alternatives again, outside
             * the final problem */
            for (size_t i = 0; i < m->nw; i++) m->w[i].fixed = -1;
            return 1;
        }
        free(err);
        fbi_result_free(&fr);
        fbi_plan_build_free(&fin);
    }
give_up:
    /* undo the fixing: the solver's own plan stands */
    for (size_t i = 0; i < m->nw; i++) m->w[i].fixed = -1;
    return 0;
}

void fbi_plan_build_free(build *bd)
{
    fbi_problem_free(bd->p);
    fbi_smap_free(&bd->region_idx);
    fbi_smap_free(&bd->offer_idx);
    free(bd->offer_labels);
    free(bd->sp_of);
    free(bd->region_of);
    free(bd->links);
}

/* volume x price / 10^9 by the decimal module's rule, as the solver's
 * fbi_link_cost (docs/solver.md), so the report's link lines add up to its
 * total. */
int64_t fbi_plan_link_cost(int64_t vol_nano_gib, int64_t nano_per_gib)
{
    int64_t q;
    if (fbi_dec_muldiv(vol_nano_gib, nano_per_gib, 1000000000, &q) != 0 || q > INT64_MAX / 4)
        q = INT64_MAX / 4; /* the solver's cap (unreachable within the spec's bounds) */
    return q;
}

/* Does candidate op of workload wi have, on every link of wi with a latency
 * budget, a surviving partner within the budget? */
static int links_allow(const model *m, const build *bd, size_t wi, const option *op)
{
    for (size_t i = 0; i < bd->nlinks; i++) {
        const jlink *l = &bd->links[i];
        if (!l->budget_ms || ((size_t)l->from != wi && (size_t)l->to != wi)) continue;
        const wl *o = &m->w[(size_t)l->from == wi ? l->to : l->from];
        int ok = 0;
        for (size_t k = 0; k < o->nopts && !ok; k++) {
            if (opt_class(o, &o->opts[k])) continue;
            const plan_rtt *rt = (size_t)l->from == wi ? fbi_plan_link_rtt(m, opt_of(m, op), opt_of(m, &o->opts[k]))
                                                       : fbi_plan_link_rtt(m, opt_of(m, &o->opts[k]), opt_of(m, op));
            ok = rt->st == FB_OK && rt->ms <= (double)l->budget_ms;
        }
        if (!ok) return 0;
    }
    return 1;
}

/* The nearest relaxations of a jointly infeasible plan, by name and with
 * numbers (new): each link whose latency budget no pair of the surviving
 * candidates meets (the best pair found), each spread workload left with
 * fewer regions than replicas, else each budgeted link with its best pair,
 * so a person sees what to change. */
static char *joint_relaxations(const model *m, const build *bd)
{
    fbi_buf b;
    fbi_buf_init(&b);
    int found = 0;
    for (int pass = 0; pass < 2 && !found; pass++) {
        for (size_t i = 0; i < bd->nlinks; i++) {
            const jlink *l = &bd->links[i];
            if (!l->budget_ms) continue;
            const wl *a = &m->w[l->from], *c = &m->w[l->to];
            double best = -1;
            const option *ba = NULL, *bc = NULL;
            for (size_t x = 0; x < a->nopts; x++) {
                if (opt_class(a, &a->opts[x])) continue;
                for (size_t y = 0; y < c->nopts; y++) {
                    if (opt_class(c, &c->opts[y])) continue;
                    const plan_rtt *rt = fbi_plan_link_rtt(m, opt_of(m, &a->opts[x]), opt_of(m, &c->opts[y]));
                    if (rt->st != FB_OK) continue;
                    if (best < 0 || rt->ms < best) {
                        best = rt->ms;
                        ba = &a->opts[x];
                        bc = &c->opts[y];
                    }
                }
            }
            if (best < 0 || (pass == 0 && best <= (double)l->budget_ms)) continue;
            fbi_buf_printf(&b, "%slink %s -> %s latency budget %lld ms; best pair found %.1f ms: "
                           "%s in %s and %s in %s%s", found ? "; " : "", a->name, c->name,
                           (long long)l->budget_ms, best, a->name, opt_of(m, ba)->key, c->name, opt_of(m, bc)->key,
                           best > (double)l->budget_ms ? " (raise latencyBudget to at least that)" : "");
            found++;
        }
        if (pass == 0) {
            /* spread: replicas of one workload need as many regions */
            for (size_t i = 0; i < m->nw; i++) {
                const wl *w = &m->w[i];
                if (w->nreplicas < 2 || w->replica != 0) continue;
                json_t *regions = json_object();
                for (size_t j = i; j < m->nw; j++) {
                    const wl *r = &m->w[j];
                    if (strcmp(r->base, w->base) || r->nreplicas != w->nreplicas) continue;
                    for (size_t k = 0; k < r->nopts; k++)
                        if (!opt_class(r, &r->opts[k]) && links_allow(m, bd, j, &r->opts[k]))
                            json_object_set_new(regions, opt_of(m, &r->opts[k])->key, json_true());
                }
                if (json_object_size(regions) < (size_t)w->nreplicas) {
                    fbi_buf_printf(&b, "%s%s is spread over %d regions but its other constraints "
                                   "(with its links' latency budgets) leave %zu (", found ? "; " : "",
                                   w->base, w->nreplicas, json_object_size(regions));
                    const char *k;
                    json_t *v;
                    int f = 1;
                    json_object_foreach(regions, k, v) {
                        fbi_buf_printf(&b, "%s%s", f ? "" : ", ", k);
                        f = 0;
                    }
                    fbi_buf_printf(&b, "): lower spread.minRegions to %zu or relax what removed "
                                   "the others (latency SLO, link latency budget, residency, providers)",
                                   json_object_size(regions));
                    found++;
                }
                json_decref(regions);
            }
        }
    }
    if (!found)
        fbi_buf_puts(&b, "relax a quota, a budget, a link latency budget, a latency SLO or a spread "
                         "constraint");
    return fbi_buf_steal(&b);
}

fb_status fbi_plan_solve(model *m, build *bd, fbi_result *r, json_t *relaxed, json_t *why,
                         int *solved)
{
    fb_status rc = FB_OK;
    char *bwhy = NULL, *bnear = NULL;
    *solved = 0;
    for (int attempt = 0; attempt < 2 && json_array_size(why) == 0 && rc == FB_OK && !*solved; attempt++) {
        if (attempt == 1) {
            /* The objective's latency band is a preference: when the joint
             * constraints need a candidate it removed, give them back and
             * say so rather than fail. */
            int any = 0;
            for (size_t i = 0; i < m->nw; i++) {
                int mine = 0;
                for (size_t k = 0; k < m->w[i].nopts && !mine; k++)
                    mine = m->w[i].opts[k].run == RUN_OBJECTIVE;
                if (mine) json_array_append_new(relaxed, json_string(m->w[i].name));
                any |= mine;
            }
            /* the band is the shape's: cleared once all names are taken */
            for (size_t i = 0; i < m->nshapes; i++)
                for (size_t k = 0; k < m->shapes[i]->nopts; k++)
                    if (m->shapes[i]->opts[k].run == RUN_OBJECTIVE)
                        m->shapes[i]->opts[k].run = RUN_NONE;
            if (!any) break;
            fbi_result_free(r);
            memset(r, 0, sizeof *r);
            fbi_plan_build_free(bd);
            memset(bd, 0, sizeof *bd);
        }
        fbi_plan_build_problem(m, bd);
        fbi_solve_opts so = {FBI_MODE_AUTO, m->o->time_limit_s, 1, 0, fbi_plan_solve_gap(m)};
        char *err = NULL;
        if (fbi_solve_parts(bd->p, &so, FBI_PLAN_PARTS_MIN, r, &err) != 0) {
            fb_diag_add(m->diag, FB_SEV_ERROR, NULL, 0, 0, NULL, "the solver failed", err);
            rc = FB_INTERNAL;
        }
        free(err);
        if (rc == FB_OK && r->status != FBI_INFEASIBLE && r->status != FBI_UNKNOWN) *solved = 1;
        /* budgets on net (or list) figures: the plan's own figures, or the
         * search for one that keeps them (budget.c) */
        if (rc == FB_OK && *solved) {
            free(bwhy);
            free(bnear);
            bwhy = bnear = NULL;
            rc = fbi_plan_budget_search(m, bd, r, solved, &bwhy, &bnear);
        }
    }
    if (rc == FB_OK && json_array_size(why) == 0 && !*solved) {
        char *msg = fbi_xasprintf("no placement satisfies the joint constraints: %s",
                                  bwhy ? bwhy : r->reason ? r->reason : "no plan found within the time limit");
        char *near = bnear ? fbi_xstrdup(bnear) : NULL;
        if (!near && r->reason && strstr(r->reason, "budget of federation")) near = fbi_plan_budget_relaxation(m);
        if (!near) near = joint_relaxations(m, bd);
        fb_diag_add(m->diag, FB_SEV_ERROR, NULL, 0, 0, NULL, msg, near);
        json_array_append_new(why, json_pack("{s:s,s:s}", "reason", msg, "nearest", near));
        free(near);
        free(msg);
    }
    free(bwhy);
    free(bnear);
    return rc;
}

fb_status fbi_plan_export_lp(model *m, const build *bd, const char *path)
{
    /* the problem that was solved, so glpsol and cbc can check it */
    fb_status rc = FB_OK;
    FILE *f = fopen(path, "w");
    char *err = NULL;
    if (!f || fbi_problem_write_lp(bd->p, f, &err) != 0) {
        char *msg = fbi_xasprintf("cannot write the LP file %s: %s", path, err ? err : "open failed");
        fb_diag_add(m->diag, FB_SEV_ERROR, NULL, 0, 0, NULL, msg, NULL);
        free(msg);
        rc = FB_INVALID;
    }
    free(err);
    if (f && fclose(f) != 0 && rc == FB_OK) rc = FB_INVALID;
    return rc;
}
