/* solver_split.c - fbi_solve_parts(): a problem whose workloads fall into
 * independent parts is solved part by part.
 *
 * Two workloads are in one part when something ties their choices: a link
 * or a pair constraint between them, a budget over both, or a capacity (an
 * offer's own, or a group's) that both may use and that can bind, i.e. the
 * summed demand (or count) of every workload with an option under it
 * exceeds it. A capacity that cannot bind is a redundant row and ties
 * nothing. The parts then share no row of the model: the optimum of the
 * whole is the sum of the parts' optima, the sum of the parts' lower bounds
 * is a lower bound of the whole, and each part, small, is proven by
 * branch and bound in milliseconds where the whole (a federation of
 * 125 applications of 8 linked workloads, bench/README-plan.md) could not
 * be proven within the time limit. A part of one workload with nothing
 * binding it is solved here by taking its cheapest option.
 *
 * Only the raw problem (what the caller added) is read, never the compiled
 * form; each part is built through the public fbi_problem_add_* calls and
 * solved by fbi_solve. See docs/solver.md, "Independent parts".
 */
#include "config.h"
#include "solver/solver_impl.h"
#include "base/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The root of x in the union-find forest uf (path halving). */
static int uf_root(int *uf, int x)
{
    while (uf[x] != x) {
        uf[x] = uf[uf[x]];
        x = uf[x];
    }
    return x;
}

static void uf_join(int *uf, int a, int b)
{
    a = uf_root(uf, a);
    b = uf_root(uf, b);
    /* the smaller index becomes the root: parts keep workload order */
    if (a < b) uf[b] = a;
    else if (b < a) uf[a] = b;
}

/* The options of p grouped by workload (by_offer 0) or by offer (1), in
 * the order they were added: those of key k are list[start[k] ..
 * start[k+1]-1], indices into p->opt. *start and *list are new. */
static void options_by(const fbi_problem *p, int by_offer, int **start, int **list)
{
    size_t nk = by_offer ? p->noff : p->nwl;
    int *st = fbi_xcalloc(nk + 1, sizeof(int)), *li = fbi_xmalloc((p->nopt + 1) * sizeof(int));
    for (size_t i = 0; i < p->nopt; i++) st[(by_offer ? p->opt[i].o : p->opt[i].w) + 1]++;
    for (size_t k = 0; k < nk; k++) st[k + 1] += st[k];
    int *fill = fbi_xmalloc((nk + 1) * sizeof(int));
    memcpy(fill, st, nk * sizeof(int));
    for (size_t i = 0; i < p->nopt; i++) li[fill[by_offer ? p->opt[i].o : p->opt[i].w]++] = (int)i;
    free(fill);
    *start = st;
    *list = li;
}

/* What splitting needs, built once from the raw problem (all arrays new). */
typedef struct split {
    int nw;
    int *uf;            /* workload -> parent, then root */
    int *os, *ol;       /* offer -> options (CSR over p->opt) */
    unsigned char *tied; /* workload: some row binds it (not a lone part) */
    unsigned char *gbind; /* group: can bind */
    unsigned char *obind; /* offer: its own capacity can bind */
    unsigned char *selfl; /* workload: has a link to itself */
} split;

static void split_free(split *s)
{
    free(s->uf);
    free(s->os);
    free(s->ol);
    free(s->tied);
    free(s->gbind);
    free(s->obind);
    free(s->selfl);
}

/* Joins the workloads with an option on any of offers[0..n) into one part,
 * when their summed measure exceeds cap (the capacity can bind). stamp
 * (per workload, borrowed) marks the workloads counted for this capacity
 * with mark, so a workload with several options under it counts once.
 * Returns 1 when the capacity can bind. */
static int join_capacity(const fbi_problem *p, split *s, const int *offers, size_t n, int count,
                         int64_t cap, int *stamp, int mark)
{
    fbi_i128 sum = 0;
    int first = -1;
    for (size_t k = 0; k < n; k++) {
        int o = offers[k];
        for (int i = s->os[o]; i < s->os[o + 1]; i++) {
            int w = p->opt[s->ol[i]].w;
            if (stamp[w] == mark) continue;
            stamp[w] = mark;
            sum += count ? 1 : p->wl[w].demand;
        }
    }
    /* a count capacity holds workloads, the demand one micro-vCPU */
    if (sum <= (fbi_i128)cap) return 0;
    for (size_t k = 0; k < n; k++) {
        int o = offers[k];
        for (int i = s->os[o]; i < s->os[o + 1]; i++) {
            int w = p->opt[s->ol[i]].w;
            s->tied[w] = 1;
            if (first < 0) first = w;
            else uf_join(s->uf, first, w);
        }
    }
    return 1;
}

/* Fills s from p: the parts (s->uf, every entry its root afterwards). */
static void split_build(const fbi_problem *p, split *s)
{
    int nw = (int)p->nwl, no = (int)p->noff;
    s->nw = nw;
    s->uf = fbi_xmalloc(((size_t)nw + 1) * sizeof(int));
    for (int w = 0; w < nw; w++) s->uf[w] = w;
    s->tied = fbi_xcalloc((size_t)nw + 1, 1);
    options_by(p, 1, &s->os, &s->ol);

    s->selfl = fbi_xcalloc((size_t)nw + 1, 1);
    for (size_t l = 0; l < p->nlink; l++) {
        /* a workload's link to itself costs by its own region only */
        if (p->link[l].from == p->link[l].to) {
            s->selfl[p->link[l].from] = 1;
            continue;
        }
        uf_join(s->uf, p->link[l].from, p->link[l].to);
        s->tied[p->link[l].from] = s->tied[p->link[l].to] = 1;
    }
    for (size_t i = 0; i < p->npair; i++) {
        uf_join(s->uf, p->pair[i].a, p->pair[i].b);
        s->tied[p->pair[i].a] = s->tied[p->pair[i].b] = 1;
    }
    for (size_t b = 0; b < p->nbud; b++)
        for (size_t k = 0; k < p->bud[b].n; k++) {
            s->tied[p->bud[b].w[k]] = 1;
            if (k) uf_join(s->uf, p->bud[b].w[0], p->bud[b].w[k]);
        }
    int *stamp = fbi_xmalloc(((size_t)nw + 1) * sizeof(int));
    for (int w = 0; w < nw; w++) stamp[w] = -1;
    int mark = 0;
    s->obind = fbi_xcalloc((size_t)no + 1, 1);
    for (int o = 0; o < no; o++)
        if (p->off[o].cap != FBI_UNLIMITED)
            s->obind[o] = (unsigned char)join_capacity(p, s, &o, 1, 0, p->off[o].cap, stamp, mark++);
    s->gbind = fbi_xcalloc(p->ngrp + 1, 1);
    for (size_t g = 0; g < p->ngrp; g++)
        s->gbind[g] = (unsigned char)join_capacity(p, s, p->grp[g].offers, p->grp[g].n,
                                                   p->grp[g].measure == FBI_MEASURE_COUNT,
                                                   p->grp[g].cap, stamp, mark++);
    free(stamp);
    for (int w = 0; w < nw; w++) s->uf[w] = uf_root(s->uf, w);
}

/* A lone workload that nothing binds: its cheapest option (its own links
 * to itself priced in its region), the first of equal ones in the order
 * they were added. Returns the offer, or -1 when it has no option. */
static int cheapest(const fbi_problem *p, const split *s, const int *wopt_start, const int *wopt, int w,
                    fbi_money *cost)
{
    int best = -1;
    fbi_money bc = 0;
    for (int i = wopt_start[w]; i < wopt_start[w + 1]; i++) {
        const fbi_soption *op = &p->opt[wopt[i]];
        fbi_i128 c = op->cost;
        int r = p->off[op->o].region;
        for (size_t l = 0; s->selfl[w] && l < p->nlink; l++)
            if (p->link[l].from == w && p->link[l].to == w)
                c += fbi_link_cost(p->link[l].vol, fbi_problem_egress(p, r, r));
        if (c > INT64_MAX) continue;
        if (best < 0 || (fbi_money)c < bc) {
            best = op->o;
            bc = (fbi_money)c;
        }
    }
    *cost = bc;
    return best;
}

/* new: the part of workloads mem[0..n) (ascending) as a problem of its own.
 * wmap (per workload of p, borrowed) is set to the part's index of each
 * member; omap (per offer of p, borrowed, all -1 on entry, restored on
 * return) is used as scratch; *offers_out (new) gets the offer of p of each
 * of the part's offers. Only rows that can bind are copied (a capacity
 * that cannot is redundant, s). Returns NULL with *err (new) when an add
 * fails (it cannot, for a valid p: a guard). */
static fbi_problem *part_build(const fbi_problem *p, const split *s, const int *mem, int n,
                               const int *wopt_start, const int *wopt, int *wmap, int *omap,
                               int **offers_out, char **err)
{
    fbi_problem *q = fbi_problem_new();
    int *offs = NULL, noffs = 0;
    int *rmap = fbi_xmalloc((p->nreg + 1) * sizeof(int));
    for (size_t r = 0; r < p->nreg; r++) rmap[r] = -1;
    int *regs = fbi_xmalloc((p->nreg + 1) * sizeof(int));
    int nregs = 0, bad = 0;
    for (int k = 0; k < n && !bad; k++) {
        int w = mem[k];
        wmap[w] = fbi_problem_add_workload(q, p->wl[w].label, p->wl[w].demand, err);
        for (int i = wopt_start[w]; i < wopt_start[w + 1] && !bad; i++) {
            const fbi_soption *op = &p->opt[wopt[i]];
            if (omap[op->o] < 0) {
                int r = p->off[op->o].region;
                if (rmap[r] < 0) {
                    rmap[r] = fbi_problem_add_region(q, p->reg[r].name, p->reg[r].provider, err);
                    regs[nregs++] = r;
                }
                omap[op->o] = fbi_problem_add_offer(q, p->off[op->o].label, rmap[r], p->off[op->o].cap, err);
                offs = fbi_xrealloc(offs, ((size_t)noffs + 1) * sizeof *offs);
                offs[noffs++] = op->o;
                bad |= omap[op->o] < 0;
            }
            bad |= fbi_problem_add_option(q, wmap[w], omap[op->o], op->cost, err) < 0;
        }
    }
    for (int i = 0; i < nregs && !bad; i++)
        for (int j = 0; j < nregs && !bad; j++) {
            int64_t e = fbi_problem_egress(p, regs[i], regs[j]);
            if (e) bad |= fbi_problem_set_egress(q, rmap[regs[i]], rmap[regs[j]], e, err) < 0;
        }
    int root = s->uf[mem[0]];
    for (size_t l = 0; l < p->nlink && !bad; l++)
        if (s->uf[p->link[l].from] == root)
            bad |= fbi_problem_add_link(q, wmap[p->link[l].from], wmap[p->link[l].to], p->link[l].vol, err) < 0;
    int *tmp = NULL;
    for (size_t g = 0; g < p->ngrp && !bad; g++) {
        const fbi_sgroup *gr = &p->grp[g];
        if (!s->gbind[g]) continue;
        size_t m = 0;
        tmp = fbi_xrealloc(tmp, (gr->n + 1) * sizeof *tmp);
        int mine = 0;
        for (size_t k = 0; k < gr->n; k++) {
            int o = gr->offers[k];
            if (omap[o] >= 0) tmp[m++] = omap[o];
            /* a binding group is in one part: whose is it? */
            if (s->os[o] < s->os[o + 1]) mine |= s->uf[p->opt[s->ol[s->os[o]]].w] == root;
        }
        if (mine) bad |= fbi_problem_add_group(q, gr->name, (fbi_measure)gr->measure, gr->cap, tmp, m, err) < 0;
    }
    for (size_t b = 0; b < p->nbud && !bad; b++) {
        const fbi_sbudget *bu = &p->bud[b];
        if (!bu->n || s->uf[bu->w[0]] != root) continue;
        tmp = fbi_xrealloc(tmp, bu->n * sizeof *tmp);
        for (size_t k = 0; k < bu->n; k++) tmp[k] = wmap[bu->w[k]];
        bad |= fbi_problem_add_budget(q, bu->name, bu->budget, tmp, bu->n, err) < 0;
    }
    for (size_t i = 0; i < p->npair && !bad; i++) {
        const fbi_spair *pr = &p->pair[i];
        if (s->uf[pr->a] != root) continue;
        /* a forbidden pair of offers the part's workloads cannot take is
         * no constraint */
        size_t m = 0;
        tmp = fbi_xrealloc(tmp, (2 * pr->npairs + 1) * sizeof *tmp);
        for (size_t k = 0; k < pr->npairs; k++)
            if (omap[pr->pairs[2 * k]] >= 0 && omap[pr->pairs[2 * k + 1]] >= 0) {
                tmp[2 * m] = omap[pr->pairs[2 * k]];
                tmp[2 * m + 1] = omap[pr->pairs[2 * k + 1]];
                m++;
            }
        bad |= fbi_problem_add_pair(q, (fbi_pair_kind)pr->kind, wmap[pr->a], wmap[pr->b], tmp, m, err) < 0;
    }
    free(tmp);
    for (int i = 0; i < noffs; i++) omap[offs[i]] = -1;
    free(rmap);
    free(regs);
    if (bad) {
        free(offs);
        fbi_problem_free(q);
        return NULL;
    }
    *offers_out = offs;
    return q;
}

/* ---- a part whose links form a tree: dynamic programming ----
 *
 * Without a capacity that can bind, a budget or a group, a part's only
 * ties are its links and pair constraints between two workloads. When
 * those pairs of workloads form a tree (an application's chain, a hub and
 * its spokes), the cheapest plan is found exactly by dynamic programming
 * from the leaves: a workload's value on one of its options is that
 * option's cost plus, for each child, the least of the child's value on
 * one of its options plus the edge's cost (the links between the two, or
 * forbidden when a pair constraint rules the two options out). Then from
 * the root down, each child takes its best option given its parent's.
 * Equal values keep the first option in the order they were added.
 * The answer is priced again on the part (part_tree's caller) and on the
 * whole problem (fbi_solve_parts): a plan that did not add up would be an
 * internal error, never a wrong total. */

#define DP_INF (((fbi_i128)1) << 100)

typedef struct dpedge {
    int u, v;            /* parent and child (workloads of q) */
    int *links;          /* q's links between u and v */
    int nlinks;
    int *pairs;          /* q's pair constraints between u and v */
    int npairs;
} dpedge;

/* The edge's cost with u on option ou and v on option ov (options of q),
 * DP_INF when a pair constraint forbids it. */
static fbi_i128 edge_cost(const fbi_problem *q, const dpedge *e, int ou, int ov)
{
    int offu = q->opt[ou].o, offv = q->opt[ov].o;
    int ru = q->off[offu].region, rv = q->off[offv].region;
    for (int k = 0; k < e->npairs; k++) {
        const fbi_spair *pr = &q->pair[e->pairs[k]];
        /* the constraint's a and b may be v and u */
        int oa = pr->a == e->u ? offu : offv, ob = pr->a == e->u ? offv : offu;
        int ra = q->off[oa].region, rb = q->off[ob].region;
        switch (pr->kind) {
        case FBI_PAIR_SAME_REGION: if (ra != rb) return DP_INF; break;
        case FBI_PAIR_DIFFERENT_REGION: if (ra == rb) return DP_INF; break;
        case FBI_PAIR_DIFFERENT_PROVIDER: if (q->reg[ra].prov == q->reg[rb].prov) return DP_INF; break;
        default:
            for (size_t i = 0; i < pr->npairs; i++)
                if (pr->pairs[2 * i] == oa && pr->pairs[2 * i + 1] == ob) return DP_INF;
        }
    }
    fbi_i128 c = 0;
    for (int k = 0; k < e->nlinks; k++) {
        const fbi_slink *l = &q->link[e->links[k]];
        c += l->from == e->u ? fbi_link_cost(l->vol, fbi_problem_egress(q, ru, rv))
                             : fbi_link_cost(l->vol, fbi_problem_egress(q, rv, ru));
    }
    return c;
}

/* Solves q by dynamic programming when it qualifies (above). Returns 1
 * with offer[] (per workload of q) and *total, 2 when no plan exists (a
 * workload without options, or pair constraints that leave none), 0 when
 * q does not qualify (a capacity that can bind, a group, a budget, or
 * pairs of linked workloads that close a cycle). */
static int part_tree(const fbi_problem *q, int *offer, fbi_money *total)
{
    int nw = (int)q->nwl, res = 0;
    if (q->ngrp || q->nbud || nw == 0) return 0;
    /* options per workload, in the order added */
    int *os, *ol;
    options_by(q, 0, &os, &ol);
    /* a capacity that can bind: the demand of every workload that may use
     * the offer above it (each option counted: a bound from above) */
    {
        fbi_i128 *load = fbi_xcalloc(q->noff + 1, sizeof *load);
        for (size_t i = 0; i < q->nopt; i++) load[q->opt[i].o] += q->wl[q->opt[i].w].demand;
        int binds = 0;
        for (size_t o = 0; o < q->noff; o++)
            binds |= q->off[o].cap != FBI_UNLIMITED && load[o] > (fbi_i128)q->off[o].cap;
        free(load);
        if (binds) { free(os); free(ol); return 0; }
    }
    /* the edges: pairs of workloads with links or pair constraints between
     * them, each once; a forest when no edge joins two workloads already
     * connected */
    int *uf = fbi_xmalloc((size_t)nw * sizeof(int));
    for (int w = 0; w < nw; w++) uf[w] = w;
    int *emap = fbi_xmalloc((size_t)nw * (size_t)nw * sizeof(int)); /* parts are small */
    for (size_t k = 0; k < (size_t)nw * (size_t)nw; k++) emap[k] = -1;
    dpedge *ed = fbi_xcalloc((size_t)nw + 1, sizeof *ed);
    int ne = 0, cycle = 0;
    size_t nitems = q->nlink + q->npair;
    for (size_t it = 0; it < nitems && !cycle; it++) {
        int a, b;
        if (it < q->nlink) { a = q->link[it].from; b = q->link[it].to; }
        else { a = q->pair[it - q->nlink].a; b = q->pair[it - q->nlink].b; }
        if (a == b) continue; /* a self-link: in the option's own cost */
        int lo = a < b ? a : b, hi = a < b ? b : a;
        int *slot = &emap[(size_t)lo * (size_t)nw + (size_t)hi];
        if (*slot < 0) {
            int ra = uf_root(uf, lo), rb = uf_root(uf, hi);
            if (ra == rb || ne >= nw - 1) { cycle = 1; break; }
            uf_join(uf, ra, rb);
            *slot = ne;
            ed[ne].u = lo;
            ed[ne].v = hi;
            ne++;
        }
        dpedge *e = &ed[*slot];
        if (it < q->nlink) {
            e->links = fbi_xrealloc(e->links, ((size_t)e->nlinks + 1) * sizeof(int));
            e->links[e->nlinks++] = (int)it;
        } else {
            e->pairs = fbi_xrealloc(e->pairs, ((size_t)e->npairs + 1) * sizeof(int));
            e->pairs[e->npairs++] = (int)(it - q->nlink);
        }
    }
    free(emap);
    if (cycle) goto out;
    /* root each tree at its first workload; order[] parents before
     * children; par_edge[w] the edge to w's parent (-1 at a root) */
    {
        int *order = fbi_xmalloc((size_t)nw * sizeof(int)), *par_edge = fbi_xmalloc((size_t)nw * sizeof(int));
        unsigned char *seen = fbi_xcalloc((size_t)nw, 1);
        int no = 0;
        for (int r0 = 0; r0 < nw; r0++) {
            if (seen[r0]) continue;
            seen[r0] = 1;
            par_edge[r0] = -1;
            order[no++] = r0;
            for (int h = no - 1; h < no; h++) {
                int x = order[h];
                for (int k = 0; k < ne; k++) {
                    int y = ed[k].u == x ? ed[k].v : ed[k].v == x ? ed[k].u : -1;
                    if (y < 0 || seen[y]) continue;
                    seen[y] = 1;
                    /* orient the edge parent -> child */
                    ed[k].u = x;
                    ed[k].v = y;
                    par_edge[y] = k;
                    order[no++] = y;
                }
            }
        }
        free(seen);
        /* val[i]: the best cost of option i's workload's subtree with it on
         * option i; pick[k][j]: child's best option (of q) for the edge k's
         * parent on its j-th option */
        fbi_i128 *val = fbi_xmalloc((q->nopt + 1) * sizeof *val);
        int **pick = fbi_xcalloc((size_t)ne + 1, sizeof *pick);
        for (int w = 0; w < nw; w++)
            for (int i = os[w]; i < os[w + 1]; i++) {
                const fbi_soption *op = &q->opt[ol[i]];
                fbi_i128 c = op->cost;
                int r = q->off[op->o].region;
                for (size_t l = 0; l < q->nlink; l++)
                    if (q->link[l].from == w && q->link[l].to == w)
                        c += fbi_link_cost(q->link[l].vol, fbi_problem_egress(q, r, r));
                val[ol[i]] = c;
            }
        int feasible = 1;
        for (int h = no - 1; h >= 0 && feasible; h--) {
            int v = order[h], k = par_edge[v];
            if (k < 0) continue;
            int u = ed[k].u;
            pick[k] = fbi_xmalloc(((size_t)(os[u + 1] - os[u]) + 1) * sizeof(int));
            for (int j = os[u]; j < os[u + 1]; j++) {
                fbi_i128 best = DP_INF;
                int bi = -1;
                for (int i = os[v]; i < os[v + 1]; i++) {
                    if (val[ol[i]] >= DP_INF) continue;
                    fbi_i128 ec = edge_cost(q, &ed[k], ol[j], ol[i]);
                    if (ec >= DP_INF) continue;
                    if (val[ol[i]] + ec < best) { best = val[ol[i]] + ec; bi = ol[i]; }
                }
                pick[k][j - os[u]] = bi;
                if (bi < 0 || val[ol[j]] >= DP_INF) val[ol[j]] = DP_INF;
                else val[ol[j]] += best;
            }
        }
        /* the roots' best options, then each child given its parent */
        fbi_i128 sum = 0;
        for (int h = 0; h < no && feasible; h++) {
            int w = order[h], k = par_edge[w];
            int chosen = -1;
            if (k < 0) {
                fbi_i128 best = DP_INF;
                for (int i = os[w]; i < os[w + 1]; i++)
                    if (val[ol[i]] < best) { best = val[ol[i]]; chosen = ol[i]; }
                if (chosen >= 0) sum += best;
            } else {
                int u = ed[k].u, pu = offer[u];
                /* offer[u] holds u's chosen option of q until the end */
                chosen = pick[k][pu - os[u]];
            }
            if (chosen < 0) { feasible = 0; break; }
            /* keep the index of the option within os/ol for the children */
            int idx = -1;
            for (int i = os[w]; i < os[w + 1]; i++)
                if (ol[i] == chosen) idx = i;
            offer[w] = idx;
        }
        if (feasible) {
            for (int w = 0; w < nw; w++) offer[w] = q->opt[ol[offer[w]]].o;
            if (sum <= INT64_MAX) {
                *total = (fbi_money)sum;
                res = 1;
            }
        } else {
            res = 2;
        }
        for (int k = 0; k < ne; k++) free(pick[k]);
        free(pick);
        free(val);
        free(order);
        free(par_edge);
    }
out:
    for (int k = 0; k < ne; k++) {
        free(ed[k].links);
        free(ed[k].pairs);
    }
    free(ed);
    free(uf);
    free(os);
    free(ol);
    return res;
}

/* A part small enough for GLPK's branch and bound to prove at once
 * (glpsol: about 10 ms for an application of 8 linked workloads on 200
 * options), where fbi_solve would spend its phases' fixed shares of the
 * time limit first. Returns 1 with offer[] (per workload of q, offers of q)
 * and *total when proven optimal before deadline_ms, 2 when q is proven
 * infeasible, 0 otherwise (nothing set). */
#define PART_EXACT_MAX_OPTIONS 5000
static int part_exact(fbi_problem *q, double deadline_ms, int verbose, int *offer, fbi_money *total)
{
    if (q->nopt > PART_EXACT_MAX_OPTIONS) return 0;
    fbi_cmp *c = fbi_problem_compile(q);
    if (c->reason) return 2;
    int *asg = fbi_xcalloc((size_t)c->nw + 1, sizeof(int));
    int res = fbi_mip(c, asg, 0, deadline_ms, verbose);
    int out = 0;
    if (res == 2) {
        out = 2;
    } else if (res == 1) {
        for (int w = 0; w < c->nw; w++) offer[w] = c->ooffer[c->ostart[w] + asg[w]];
        /* priced again from the raw part, as fbi_solve prices its plans */
        out = fbi_problem_price(q, offer, total, NULL) == 0;
    }
    free(asg);
    return out;
}

/* fbi_solve on the whole of p, counted as one part. */
static int solve_whole(fbi_problem *p, const fbi_solve_opts *opts, fbi_result *r, char **err)
{
    int rc = fbi_solve(p, opts, r, err);
    if (rc == 0) {
        r->parts = 1;
        r->parts_proven = r->status == FBI_OPTIMAL;
    }
    return rc;
}

/* The one method name of every part, or "parts" when they differ. */
static const char *merge_method(const char *have, const char *part)
{
    if (!have) return part;
    return strcmp(have, part) == 0 ? have : "parts";
}

int fbi_solve_parts(fbi_problem *p, const fbi_solve_opts *opts, size_t min_workloads, fbi_result *r,
                    char **err)
{
    double t0 = fbi_mono_ms();
    fbi_solve_opts def = {FBI_MODE_AUTO, 10.0, 1, 0, 0};
    if (!opts) opts = &def;
    double limit_ms = (opts->time_limit_s > 0 ? opts->time_limit_s : 10.0) * 1e3;
    if (p->nwl < 2 || p->nwl < min_workloads) return solve_whole(p, opts, r, err);
    split s;
    memset(&s, 0, sizeof s);
    split_build(p, &s);
    int nw = (int)p->nwl;
    /* members of each part, in workload order: the part's root is its
     * smallest member, so parts come in the order of their first workload */
    int *ps = fbi_xcalloc((size_t)nw + 1, sizeof(int)), *pl = fbi_xmalloc((size_t)nw * sizeof(int));
    int nparts = 0;
    for (int w = 0; w < nw; w++) {
        ps[s.uf[w] + 1]++;
        nparts += s.uf[w] == w;
    }
    if (nparts < 2) {
        free(ps);
        free(pl);
        split_free(&s);
        return solve_whole(p, opts, r, err);
    }
    for (int w = 0; w < nw; w++) ps[w + 1] += ps[w];
    {
        int *fill = fbi_xmalloc(((size_t)nw + 1) * sizeof(int));
        memcpy(fill, ps, (size_t)nw * sizeof(int));
        for (int w = 0; w < nw; w++) pl[fill[s.uf[w]]++] = w;
        free(fill);
    }
    /* each workload's options, in the order they were added */
    int *wos, *wol;
    options_by(p, 0, &wos, &wol);
    int *wmap = fbi_xmalloc((size_t)nw * sizeof(int));
    int *omap = fbi_xmalloc((p->noff + 1) * sizeof(int));
    for (size_t o = 0; o < p->noff; o++) omap[o] = -1;

    memset(r, 0, sizeof *r);
    r->nworkloads = p->nwl;
    r->offer = fbi_xmalloc((size_t)nw * sizeof(int));
    for (int w = 0; w < nw; w++) r->offer[w] = -1;
    fbi_i128 sum_total = 0, sum_bound = 0;
    int whole = 0, rc = 0;
    size_t proven = 0, parts = 0;
    const char *bmeth = NULL, *pmeth = NULL;
    /* the workloads not yet placed share the time left, so a part that
     * is proven early leaves its time to the others */
    int left = nw;
    for (int w0 = 0; w0 < nw && !whole && rc == 0; w0++) {
        if (s.uf[w0] != w0) continue;
        const int *mem = &pl[ps[w0]];
        int n = ps[w0 + 1] - ps[w0];
        parts++;
        if (n == 1 && !s.tied[w0]) {
            fbi_money c;
            int o = cheapest(p, &s, wos, wol, w0, &c);
            if (o < 0) { whole = 1; break; }
            r->offer[w0] = o;
            sum_total += c;
            sum_bound += c;
            proven++;
            bmeth = merge_method(bmeth, "exact");
            pmeth = merge_method(pmeth, "cheapest");
            left -= n;
            continue;
        }
        double now = fbi_mono_ms(), rest = t0 + limit_ms - now;
        fbi_solve_opts so = *opts;
        /* up to four times its share by size: most parts take far less
         * than their share, and a hard one may use what they left */
        double frac = 4.0 * n / left;
        so.time_limit_s = rest * (frac < 1 ? frac : 1) / 1e3;
        if (so.time_limit_s < 0.001) so.time_limit_s = 0.001;
        int *offs = NULL;
        fbi_problem *q = part_build(p, &s, mem, n, wos, wol, wmap, omap, &offs, err);
        if (!q) { rc = -1; break; }
        fbi_result pr;
        memset(&pr, 0, sizeof pr);
        int *po = fbi_xmalloc((size_t)n * sizeof(int));
        fbi_money pt = 0;
        double pt0 = fbi_mono_ms();
        /* a tree of links without a binding row: exact at once; else
         * branch and bound on a small part; else the whole solver */
        int ex = part_tree(q, po, &pt);
        const char *how = "tree";
        if (ex == 1) {
            fbi_money chk = -1;
            if (fbi_problem_price(q, po, &chk, NULL) != 0 || chk != pt) {
                if (err)
                    *err = fbi_xasprintf("internal error: the tree plan of a part costs %" PRId64
                                         ", priced again %" PRId64, pt, chk);
                rc = -1;
                ex = 3;
            }
        }
        if (ex == 0) {
            ex = part_exact(q, pt0 + so.time_limit_s * 1e3 * 0.5, opts->verbose, po, &pt);
            how = "mip";
        }
        if (ex == 3) {
            /* the error is set */
        } else if (ex == 2) {
            whole = 1;
        } else if (ex == 1) {
            for (int k = 0; k < n; k++) r->offer[mem[k]] = offs[po[k]];
            sum_total += pt;
            sum_bound += pt;
            proven++;
            bmeth = merge_method(bmeth, "exact");
            pmeth = merge_method(pmeth, how);
        } else {
            so.time_limit_s -= (fbi_mono_ms() - pt0) / 1e3;
            if (so.time_limit_s < 0.001) so.time_limit_s = 0.001;
            if (fbi_solve(q, &so, &pr, err) != 0) {
                rc = -1;
            } else if (pr.status != FBI_OPTIMAL && pr.status != FBI_FEASIBLE) {
                /* infeasible or no plan: the whole problem says why in its
                 * own numbering (a part's offer numbers are its own) */
                whole = 1;
            } else {
                for (int k = 0; k < n; k++) r->offer[mem[k]] = offs[pr.offer[k]];
                sum_total += pr.total;
                sum_bound += pr.bound;
                proven += pr.status == FBI_OPTIMAL;
                bmeth = merge_method(bmeth, pr.bound_method);
                pmeth = merge_method(pmeth, pr.plan_method);
            }
        }
        if (opts->verbose)
            fprintf(stderr, "parts: the part of workload %d: %d workloads, %zu options, %zu links: %s in %.1f ms\n",
                    w0, n, q->nopt, q->nlink,
                    ex == 1 ? how : ex == 2 ? "infeasible" : fbi_status_str(pr.status), fbi_mono_ms() - pt0);
        free(po);
        fbi_result_free(&pr);
        fbi_problem_free(q);
        free(offs);
        left -= n;
    }
    free(wmap);
    free(omap);
    free(wos);
    free(wol);
    free(ps);
    free(pl);
    split_free(&s);
    if (rc != 0) {
        fbi_result_free(r);
        return -1;
    }
    if (whole) {
        fbi_result_free(r);
        fbi_solve_opts so = *opts;
        double rest = (t0 + limit_ms - fbi_mono_ms()) / 1e3;
        /* at least a tenth of the limit: the whole problem's compile
         * checks say why most infeasible problems are so */
        so.time_limit_s = rest > limit_ms / 1e4 ? rest : limit_ms / 1e4;
        return solve_whole(p, &so, r, err);
    }
    /* the parts' plans together, priced again on the whole problem: the
     * number printed, and a check that the parts were independent */
    char *why = NULL;
    if (fbi_problem_price(p, r->offer, &r->total, &why) != 0) {
        if (err) *err = fbi_xasprintf("internal error: the parts' plans together violate a constraint: %s", why);
        free(why);
        fbi_result_free(r);
        return -1;
    }
    if ((fbi_i128)r->total != sum_total) {
        if (err)
            *err = fbi_xasprintf("internal error: the parts' totals add up to %" PRId64
                                 ", the whole plan costs %" PRId64, (int64_t)sum_total, r->total);
        fbi_result_free(r);
        return -1;
    }
    r->parts = parts;
    r->parts_proven = proven;
    r->bound = sum_bound < (fbi_i128)r->total ? (fbi_money)sum_bound : r->total;
    r->status = proven == parts ? FBI_OPTIMAL : FBI_FEASIBLE;
    if (r->status == FBI_OPTIMAL) r->bound = r->total;
    r->bound_method = bmeth ? bmeth : "trivial";
    r->plan_method = pmeth ? pmeth : "heuristic";
    r->gap = r->total > 0 ? (double)(r->total - r->bound) / (double)r->total : 0.0;
    r->seconds = (fbi_mono_ms() - t0) / 1e3;
    return 0;
}
