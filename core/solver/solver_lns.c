/* solver_lns.c - large-neighbourhood search: most workloads stay where the
 * plan puts them, a neighbourhood of linked workloads (and the workloads
 * sharing their offers) is re-solved exactly by GLPK's branch and bound on
 * a subproblem built through the public problem API, and the plan takes
 * the result when it is cheaper. The subproblem sees the fixed workloads
 * as used capacity and as link costs on the free workloads' options. */
#include "config.h"
#include "solver/solver_impl.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

/* Builds the subproblem of the workloads sel[0..n) (the rest fixed at asg,
 * local option indexes of c). Offer ids of the subproblem in *sub_offer
 * (new: subproblem offer -> offer of p). Returns NULL when it cannot be
 * built (then nothing is to be gained from it). */
static fbi_problem *subproblem(fbi_problem *p, const fbi_cmp *c, const int *asg, const int *sel, int n,
                               const int *wsub, int **sub_offer, int *nsub_offer)
{
    char *err = NULL;
    fbi_problem *q = fbi_problem_new();
    int ok = 1;
    for (size_t r = 0; r < p->nreg && ok; r++)
        ok = fbi_problem_add_region(q, p->reg[r].name, p->reg[r].provider, &err) >= 0;
    for (size_t i = 0; i < p->nreg && ok; i++)
        for (size_t j = 0; j < p->nreg && ok; j++) {
            int64_t e = fbi_problem_egress(p, (int)i, (int)j);
            if (e) ok = fbi_problem_set_egress(q, (int)i, (int)j, e, &err) == 0;
        }
    /* Load the fixed workloads put on each offer and each caller group. */
    int64_t *fixed = fbi_xcalloc((size_t)c->no + 1, sizeof(int64_t));
    int *fixedn = fbi_xcalloc((size_t)c->no + 1, sizeof(int));
    for (int w = 0; w < c->nw; w++) {
        if (wsub[w] >= 0) continue;
        int o = c->ooffer[c->ostart[w] + asg[w]];
        fixed[o] += c->demand[w];
        fixedn[o]++;
    }
    int *omap = fbi_xmalloc(((size_t)c->no + 1) * sizeof(int));
    for (int o = 0; o < c->no; o++) omap[o] = -1;
    int *rev = fbi_xmalloc(((size_t)c->no + 1) * sizeof(int));
    int nso = 0;
    for (int k = 0; k < n && ok; k++) {
        int w = sel[k];
        for (int i = c->ostart[w]; i < c->ostart[w + 1] && ok; i++) {
            int o = c->ooffer[i];
            if (!c->alive[i] || omap[o] >= 0) continue;
            int64_t cap = p->off[o].cap;
            if (cap != FBI_UNLIMITED) cap = cap - fixed[o] > 0 ? cap - fixed[o] : 0;
            ok = fbi_problem_add_offer(q, NULL, p->off[o].region, cap, &err) >= 0;
            omap[o] = nso;
            rev[nso++] = o;
        }
    }
    for (int k = 0; k < n && ok; k++) {
        int w = sel[k];
        ok = fbi_problem_add_workload(q, NULL, c->demand[w], &err) >= 0;
        for (int i = c->ostart[w]; i < c->ostart[w + 1] && ok; i++) {
            if (!c->alive[i]) continue;
            int li = i - c->ostart[w];
            /* Links to fixed neighbours become part of the option's cost;
             * a pair constraint with a fixed neighbour may rule it out. */
            fbi_money cost = c->ocost[i];
            for (int e = c->wt_start[w]; e < c->wt_start[w + 1]; e++) {
                const fbi_term *t = &c->t[c->wt[e] >> 1];
                int side = c->wt[e] & 1, v = side ? t->a : t->b;
                if (wsub[v] >= 0) continue;
                int64_t x = side ? fbi_term_cost(t, asg[v], li) : fbi_term_cost(t, li, asg[v]);
                if (x == FBI_FORBID) { cost = -1; break; }
                cost += x;
            }
            if (cost >= 0) ok = fbi_problem_add_option(q, k, omap[c->ooffer[i]], cost, &err) >= 0;
        }
    }
    /* Links and pair constraints between two free workloads (self-links
     * are in the option costs already). */
    for (size_t l = 0; l < p->nlink && ok; l++) {
        const fbi_slink *lk = &p->link[l];
        if (lk->from == lk->to || wsub[lk->from] < 0 || wsub[lk->to] < 0) continue;
        ok = fbi_problem_add_link(q, wsub[lk->from], wsub[lk->to], lk->vol, &err) >= 0;
    }
    for (size_t k = 0; k < p->npair && ok; k++) {
        const fbi_spair *sp = &p->pair[k];
        if (wsub[sp->a] < 0 || wsub[sp->b] < 0) continue;
        int *pairs = fbi_xmalloc((sp->npairs + 1) * 2 * sizeof(int));
        size_t m = 0;
        for (size_t e = 0; e < sp->npairs; e++) {
            int oa = sp->pairs[2 * e], ob = sp->pairs[2 * e + 1];
            if (oa < 0 || ob < 0 || oa >= c->no || ob >= c->no || omap[oa] < 0 || omap[ob] < 0) continue;
            pairs[2 * m] = omap[oa];
            pairs[2 * m + 1] = omap[ob];
            m++;
        }
        ok = fbi_problem_add_pair(q, (fbi_pair_kind)sp->kind, wsub[sp->a], wsub[sp->b], pairs, m, &err) >= 0;
        free(pairs);
    }
    /* Caller groups: what the fixed workloads use of them is gone. */
    for (size_t g = 0; g < p->ngrp && ok; g++) {
        const fbi_sgroup *sg = &p->grp[g];
        int *offs = fbi_xmalloc((sg->n + 1) * sizeof(int));
        size_t m = 0;
        int64_t used = 0;
        for (size_t e = 0; e < sg->n; e++) {
            int o = sg->offers[e], dup = 0;
            for (size_t e2 = 0; e2 < e; e2++) dup |= sg->offers[e2] == o;
            if (dup) continue;
            used += sg->measure == FBI_MEASURE_COUNT ? fixedn[o] : fixed[o];
            if (omap[o] >= 0) offs[m++] = omap[o];
        }
        if (m) {
            int64_t cap = sg->cap - used > 0 ? sg->cap - used : 0;
            ok = fbi_problem_add_group(q, sg->name, (fbi_measure)sg->measure, cap, offs, m, &err) >= 0;
        }
        free(offs);
    }
    free(fixed);
    free(fixedn);
    free(omap);
    free(err);
    if (!ok) {
        free(rev);
        fbi_problem_free(q);
        return NULL;
    }
    *sub_offer = rev;
    *nsub_offer = nso;
    return q;
}

/* The neighbourhood of w0, up to `size` workloads: its linked workloads
 * and workloads sharing their offers, breadth first. */
static int neighbourhood(const fbi_cmp *c, const int *asg, int w0, int size, int *sel, int *wsub,
                         int **occ, const int *nocc, uint64_t *rng)
{
    int n = 0;
    sel[n] = w0;
    wsub[w0] = n++;
    /* Breadth first: each member brings its linked neighbours, then two
     * workloads on its offer (room to move into; random ones). */
    for (int q = 0; q < n && n < size; q++) {
        int w = sel[q];
        for (int k = c->wt_start[w]; k < c->wt_start[w + 1] && n < size; k++) {
            const fbi_term *t = &c->t[c->wt[k] >> 1];
            int v = (c->wt[k] & 1) ? t->a : t->b;
            if (wsub[v] >= 0) continue;
            sel[n] = v;
            wsub[v] = n++;
        }
        int o = c->ooffer[c->ostart[w] + asg[w]];
        if (nocc[o] < 2) continue;
        *rng = *rng * 6364136223846793005ULL + 1442695040888963407ULL;
        int s0 = (int)((*rng >> 33) % (uint64_t)nocc[o]);
        for (int k = 0, added = 0; k < nocc[o] && added < 2 && n < size; k++) {
            int v = occ[o][(s0 + k) % nocc[o]];
            if (wsub[v] >= 0) continue;
            sel[n] = v;
            wsub[v] = n++;
            added++;
        }
    }
    return n;
}

int fbi_lns(fbi_problem *p, const fbi_cmp *c, int *asg, fbi_money *total, double deadline, unsigned seed,
            fbi_atomic_money *live, int verbose)
{
    if (p->nbud) return 0; /* budgets count option costs, which the subproblem changes */
    if (c->nw < 2) return 0;
    int *sel = fbi_xmalloc(((size_t)c->nw + 1) * sizeof(int));
    int *wsub = fbi_xmalloc(((size_t)c->nw + 1) * sizeof(int));
    for (int w = 0; w < c->nw; w++) wsub[w] = -1;
    int **occ = fbi_xcalloc((size_t)c->no + 1, sizeof(int *));
    int *nocc = fbi_xcalloc((size_t)c->no + 1, sizeof(int));
    int *cand = fbi_xmalloc(((size_t)c->nw + 1) * sizeof(int));
    uint64_t rng = 0x2545F4914F6CDD1DULL ^ seed;
    int size = 24, steps = 0, better = 0;
    double t0 = fbi_mono_ms();
    while (deadline - fbi_mono_ms() > 80) {
        /* Occupancy of the current plan. */
        for (int o = 0; o < c->no; o++) { free(occ[o]); occ[o] = NULL; nocc[o] = 0; }
        int *capo = fbi_xcalloc((size_t)c->no + 1, sizeof(int));
        for (int w = 0; w < c->nw; w++) {
            int o = c->ooffer[c->ostart[w] + asg[w]];
            if (nocc[o] == capo[o]) {
                capo[o] = capo[o] ? 2 * capo[o] : 4;
                occ[o] = fbi_xrealloc(occ[o], (size_t)capo[o] * sizeof(int));
            }
            occ[o][nocc[o]++] = w;
        }
        free(capo);
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        int w0 = (int)((rng >> 33) % (uint64_t)c->nw);
        int n = neighbourhood(c, asg, w0, size < c->nw ? size : c->nw, sel, wsub, occ, nocc, &rng);
        int *rev = NULL, nso = 0;
        fbi_problem *q = subproblem(p, c, asg, sel, n, wsub, &rev, &nso);
        int proven = 0;
        if (q) {
            fbi_cmp *qc = fbi_problem_compile(q);
            if (!qc->reason) {
                /* The current places, as the subproblem's local options. */
                int *m = fbi_xmalloc(((size_t)n + 1) * sizeof(int));
                int okm = 1;
                for (int k = 0; k < n && okm; k++) {
                    int o = c->ooffer[c->ostart[sel[k]] + asg[sel[k]]], pick = -1;
                    for (int i = qc->ostart[k]; i < qc->ostart[k + 1]; i++)
                        if (rev[qc->ooffer[i]] == o) pick = i - qc->ostart[k];
                    m[k] = pick;
                    okm = pick >= 0;
                }
                fbi_money before = okm ? fbi_cmp_price(qc, m) : -1;
                /* GLPK may overrun its limit by a node solve: stop early. */
                double left = deadline - fbi_mono_ms() - 50;
                double dl = fbi_mono_ms() + (left < 300 ? left : 300);
                int r = before >= 0 ? fbi_mip(qc, m, 1, dl, 0) : -1;
                proven = r == 1;
                fbi_money after = r == 0 || r == 1 ? fbi_cmp_price(qc, m) : -1;
                if (after >= 0 && after < before) {
                    memcpy(cand, asg, (size_t)c->nw * sizeof(int));
                    int okb = 1;
                    for (int k = 0; k < n && okb; k++) {
                        int w = sel[k], o = rev[qc->ooffer[qc->ostart[k] + m[k]]], li = -1;
                        for (int i = c->ostart[w]; i < c->ostart[w + 1]; i++)
                            if (c->ooffer[i] == o) li = i - c->ostart[w];
                        cand[w] = li;
                        okb = li >= 0;
                    }
                    /* Priced again on the whole problem: only a plan that
                     * really is cheaper and feasible is taken. */
                    fbi_money t = okb ? fbi_cmp_price(c, cand) : -1;
                    if (t >= 0 && t < *total) {
                        memcpy(asg, cand, (size_t)c->nw * sizeof(int));
                        *total = t;
                        better++;
                        if (live) atomic_store(live, (long long)t);
                    }
                }
                free(m);
            }
            fbi_problem_free(q);
        }
        free(rev);
        for (int k = 0; k < n; k++) wsub[sel[k]] = -1;
        /* Grow the neighbourhood while GLPK proves it quickly. */
        if (proven && size < 200) size += size / 4;
        else if (!proven && size > 8) size -= size / 4;
        steps++;
    }
    if (verbose)
        fprintf(stderr, "lns: %d neighbourhoods (last size %d), %d improved, %.0f ms\n", steps, size, better,
                fbi_mono_ms() - t0);
    for (int o = 0; o < c->no; o++) free(occ[o]);
    free(occ);
    free(nocc);
    free(sel);
    free(wsub);
    free(cand);
    return better;
}
