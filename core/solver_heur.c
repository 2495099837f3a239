/* solver_heur.c - the placement heuristic: greedy construction by regret
 * (steered by the Lagrangian capacity prices), a repair step that makes room
 * by moving one occupant, then local search with shift and swap moves and an
 * iterated perturbation, always keeping every constraint satisfied. */
#include "config.h"
#include "solver_impl.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct hs {
    const fbi_cmp *c;
    int *asg;           /* local option per workload, -1 unplaced */
    int64_t *load;      /* per group */
    fbi_money *spent;   /* per budget */
    fbi_money total;    /* option costs + terms with both ends placed */
    int **occ;          /* workloads per offer */
    int *nocc, *capocc, *pos;
    uint64_t rng;
    /* Search state (set up by search_init). */
    int *owner;         /* global option -> workload */
    int *rstart, *ropt; /* offer -> global options on it */
    int *cheap;         /* per workload: local options sorted by cost */
    int *queue, qhead, qlen;
    unsigned char *inq, *tabu;
    int *jw, *jo, nj, capj, journal;
    long budget;        /* evaluations left for ejections in one descent */
} hs;

static uint64_t rnd(hs *h)
{
    /* xorshift64*: deterministic from the seed. */
    h->rng ^= h->rng >> 12;
    h->rng ^= h->rng << 25;
    h->rng ^= h->rng >> 27;
    return h->rng * 2685821657736338717ULL;
}

static void hs_init(hs *h, const fbi_cmp *c, unsigned seed)
{
    memset(h, 0, sizeof *h);
    h->c = c;
    h->asg = fbi_xmalloc(((size_t)c->nw + 1) * sizeof(int));
    for (int w = 0; w < c->nw; w++) h->asg[w] = -1;
    h->load = fbi_xcalloc((size_t)c->ng + 1, sizeof(int64_t));
    h->spent = fbi_xcalloc((size_t)c->nb + 1, sizeof(fbi_money));
    h->occ = fbi_xcalloc((size_t)c->no + 1, sizeof(int *));
    h->nocc = fbi_xcalloc((size_t)c->no + 1, sizeof(int));
    h->capocc = fbi_xcalloc((size_t)c->no + 1, sizeof(int));
    h->pos = fbi_xcalloc((size_t)c->nw + 1, sizeof(int));
    h->rng = 0x9E3779B97F4A7C15ULL ^ ((uint64_t)seed * 0xD1B54A32D192ED03ULL);
    if (!h->rng) h->rng = 1;
}

static void hs_free(hs *h)
{
    for (int o = 0; o < h->c->no; o++) free(h->occ[o]);
    free(h->occ); free(h->nocc); free(h->capocc); free(h->pos);
    free(h->asg); free(h->load); free(h->spent);
    free(h->owner); free(h->rstart); free(h->ropt); free(h->cheap);
    free(h->queue); free(h->inq); free(h->tabu); free(h->jw); free(h->jo);
}

static int offer_of(const hs *h, int w, int i) { return h->c->ooffer[h->c->ostart[w] + i]; }

static int in_groups(const fbi_cmp *c, int o, int g)
{
    for (int k = c->og_start[o]; k < c->og_start[o + 1]; k++)
        if (c->og[k] == g) return 1;
    return 0;
}

/* Cost of the terms of w if w used local option i (neighbours as placed;
 * unplaced neighbours count 0). FBI_FORBID when a placed neighbour forbids. */
static int64_t term_cost(const hs *h, int w, int i)
{
    const fbi_cmp *c = h->c;
    int64_t s = 0;
    for (int k = c->wt_start[w]; k < c->wt_start[w + 1]; k++) {
        const fbi_term *t = &c->t[c->wt[k] >> 1];
        int side = c->wt[k] & 1;
        int v = side ? t->a : t->b;
        int j = h->asg[v];
        if (j < 0) continue;
        int64_t x = side ? fbi_term_cost(t, j, i) : fbi_term_cost(t, i, j);
        if (x == FBI_FORBID) return FBI_FORBID;
        s += x;
    }
    return s;
}

/* Can w (placed or not) take local option i without breaking a capacity or
 * a budget? (Pair constraints are checked by term_cost.) */
static int fits(const hs *h, int w, int i)
{
    const fbi_cmp *c = h->c;
    int cur = h->asg[w];
    int o = offer_of(h, w, i), oc = cur >= 0 ? offer_of(h, w, cur) : -1;
    if (o != oc) {
        for (int k = c->og_start[o]; k < c->og_start[o + 1]; k++) {
            int g = c->og[k];
            if (oc >= 0 && in_groups(c, oc, g)) continue;
            if (h->load[g] + fbi_gweight(c, g, w) > c->gcap[g]) return 0;
        }
    }
    fbi_money d = c->ocost[c->ostart[w] + i] - (cur >= 0 ? c->ocost[c->ostart[w] + cur] : 0);
    for (int k = c->wb_start[w]; k < c->wb_start[w + 1]; k++)
        if (h->spent[c->wb[k]] + d > c->bcap[c->wb[k]]) return 0;
    return 1;
}

static void occ_add(hs *h, int o, int w)
{
    if (h->nocc[o] == h->capocc[o]) {
        h->capocc[o] = h->capocc[o] ? h->capocc[o] * 2 : 8;
        h->occ[o] = fbi_xrealloc(h->occ[o], (size_t)h->capocc[o] * sizeof(int));
    }
    h->pos[w] = h->nocc[o];
    h->occ[o][h->nocc[o]++] = w;
}

static void occ_del(hs *h, int o, int w)
{
    int p = h->pos[w], last = h->occ[o][--h->nocc[o]];
    h->occ[o][p] = last;
    h->pos[last] = p;
}

/* Moves w to local option i (or unplaces it for i = -1), keeping loads,
 * budgets, occupancy and the total right. No feasibility check. */
static void place(hs *h, int w, int i)
{
    const fbi_cmp *c = h->c;
    int cur = h->asg[w];
    if (cur == i) return;
    if (h->journal) {
        if (h->nj == h->capj) {
            h->capj = h->capj ? h->capj * 2 : 64;
            h->jw = fbi_xrealloc(h->jw, (size_t)h->capj * sizeof(int));
            h->jo = fbi_xrealloc(h->jo, (size_t)h->capj * sizeof(int));
        }
        h->jw[h->nj] = w;
        h->jo[h->nj++] = cur;
    }
    if (cur >= 0) {
        int o = offer_of(h, w, cur);
        int64_t tc = term_cost(h, w, cur);
        h->total -= c->ocost[c->ostart[w] + cur] + (tc == FBI_FORBID ? 0 : tc);
        for (int k = c->og_start[o]; k < c->og_start[o + 1]; k++)
            h->load[c->og[k]] -= fbi_gweight(c, c->og[k], w);
        for (int k = c->wb_start[w]; k < c->wb_start[w + 1]; k++)
            h->spent[c->wb[k]] -= c->ocost[c->ostart[w] + cur];
        occ_del(h, o, w);
        h->asg[w] = -1;
    }
    if (i >= 0) {
        int o = offer_of(h, w, i);
        int64_t tc = term_cost(h, w, i);
        h->total += c->ocost[c->ostart[w] + i] + (tc == FBI_FORBID ? 0 : tc);
        for (int k = c->og_start[o]; k < c->og_start[o + 1]; k++)
            h->load[c->og[k]] += fbi_gweight(c, c->og[k], w);
        for (int k = c->wb_start[w]; k < c->wb_start[w + 1]; k++)
            h->spent[c->wb[k]] += c->ocost[c->ostart[w] + i];
        occ_add(h, o, w);
        h->asg[w] = i;
    }
}

/* Every capacity and budget respected? (After unchecked moves.) */
static int groups_ok(const hs *h, int o)
{
    const fbi_cmp *c = h->c;
    for (int k = c->og_start[o]; k < c->og_start[o + 1]; k++)
        if (h->load[c->og[k]] > c->gcap[c->og[k]]) return 0;
    return 1;
}

static int budgets_ok(const hs *h, int w)
{
    const fbi_cmp *c = h->c;
    for (int k = c->wb_start[w]; k < c->wb_start[w + 1]; k++)
        if (h->spent[c->wb[k]] > c->bcap[c->wb[k]]) return 0;
    return 1;
}

/* Change of the total if w moved to i (w placed, i feasible for terms). */
static int64_t delta(const hs *h, int w, int i)
{
    const fbi_cmp *c = h->c;
    int cur = h->asg[w];
    int64_t tn = term_cost(h, w, i);
    if (tn == FBI_FORBID) return INT64_MAX;
    int64_t to = term_cost(h, w, cur);
    return c->ocost[c->ostart[w] + i] - c->ocost[c->ostart[w] + cur] + tn - to;
}

/* Local option of w on offer o, or -1 (options are sorted by offer). */
static int option_on(const fbi_cmp *c, int w, int o)
{
    int lo = c->ostart[w], hi = c->ostart[w + 1] - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (c->ooffer[mid] == o) return mid - c->ostart[w];
        if (c->ooffer[mid] < o) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

/* ---- event-driven local search ---- */

static int cost_cmp_ctx_w;
static const fbi_cmp *cost_cmp_ctx_c;
static int cost_cmp(const void *x, const void *y)
{
    const fbi_cmp *c = cost_cmp_ctx_c;
    int a = *(const int *)x, b = *(const int *)y;
    fbi_money ca = c->ocost[c->ostart[cost_cmp_ctx_w] + a], cb = c->ocost[c->ostart[cost_cmp_ctx_w] + b];
    return (ca > cb) - (ca < cb) ? (ca > cb) - (ca < cb) : a - b;
}

/* Builds the indexes the search needs (offer -> options, sorted options). */
static void search_init(hs *h)
{
    const fbi_cmp *c = h->c;
    int nopt = c->ostart[c->nw];
    h->owner = fbi_xmalloc(((size_t)nopt + 1) * sizeof(int));
    h->rstart = fbi_xcalloc((size_t)c->no + 1, sizeof(int));
    h->ropt = fbi_xmalloc(((size_t)nopt + 1) * sizeof(int));
    h->cheap = fbi_xmalloc(((size_t)nopt + 1) * sizeof(int));
    for (int w = 0; w < c->nw; w++)
        for (int i = c->ostart[w]; i < c->ostart[w + 1]; i++) {
            h->owner[i] = w;
            h->rstart[c->ooffer[i] + 1]++;
            h->cheap[i] = i - c->ostart[w];
        }
    for (int o = 0; o < c->no; o++) h->rstart[o + 1] += h->rstart[o];
    int *fill = fbi_xmalloc(((size_t)c->no + 1) * sizeof(int));
    memcpy(fill, h->rstart, ((size_t)c->no + 1) * sizeof(int));
    for (int i = 0; i < nopt; i++) h->ropt[fill[c->ooffer[i]]++] = i;
    free(fill);
    cost_cmp_ctx_c = c;
    for (int w = 0; w < c->nw; w++) {
        cost_cmp_ctx_w = w;
        qsort(h->cheap + c->ostart[w], (size_t)(c->ostart[w + 1] - c->ostart[w]), sizeof(int), cost_cmp);
    }
    h->queue = fbi_xmalloc(((size_t)c->nw + 1) * sizeof(int));
    h->inq = fbi_xcalloc((size_t)c->nw + 1, 1);
    h->tabu = fbi_xcalloc((size_t)c->nw + 1, 1);
}

static void push(hs *h, int w)
{
    if (h->inq[w] || h->tabu[w]) return;
    h->inq[w] = 1;
    h->queue[(h->qhead + h->qlen++) % h->c->nw] = w;
}

/* After w changed place: its term neighbours may want to follow, and
 * workloads that would gain from the offer it left get another look. */
static void notify(hs *h, int w, int oldo)
{
    const fbi_cmp *c = h->c;
    for (int k = c->wt_start[w]; k < c->wt_start[w + 1]; k++) {
        const fbi_term *t = &c->t[c->wt[k] >> 1];
        push(h, (c->wt[k] & 1) ? t->a : t->b);
    }
    if (oldo < 0) return;
    for (int k = h->rstart[oldo]; k < h->rstart[oldo + 1]; k++) {
        int gi = h->ropt[k], v = h->owner[gi];
        if (h->inq[v] || h->tabu[v] || !c->alive[gi] || h->asg[v] < 0) continue;
        int li = gi - c->ostart[v];
        if (li == h->asg[v]) continue;
        if (delta(h, v, li) < 0) push(h, v);
    }
}

/* Moves w to i and tells the neighbourhood. */
static void move(hs *h, int w, int i)
{
    int cur = h->asg[w];
    int oldo = cur >= 0 ? offer_of(h, w, cur) : -1;
    place(h, w, i);
    notify(h, w, oldo);
}

/* Best improving shift for w; applies it. Returns 1 when moved. */
static int try_shift(hs *h, int w)
{
    const fbi_cmp *c = h->c;
    int best = -1;
    int64_t bd = 0;
    for (int i = 0; i < c->ostart[w + 1] - c->ostart[w]; i++) {
        if (i == h->asg[w] || !c->alive[c->ostart[w] + i]) continue;
        int64_t d = delta(h, w, i);
        if (d < bd && fits(h, w, i)) { bd = d; best = i; }
    }
    if (best < 0) return 0;
    move(h, w, best);
    return 1;
}

/* Ejection: w takes option i although its offer is full, and one occupant v
 * of that offer moves to w's old offer or to one of its cheapest options.
 * Applies the best improving pair. Returns 1 when applied. */
static int try_eject(hs *h, int w)
{
    const fbi_cmp *c = h->c;
    int cur = h->asg[w];
    int ocur = offer_of(h, w, cur);
    int bv = -1, bj = -1, bi = -1;
    int64_t bd = 0;
    int journal = h->journal;
    h->journal = 0;
    for (int i = 0; i < c->ostart[w + 1] - c->ostart[w] && h->budget > 0; i++) {
        if (i == cur || !c->alive[c->ostart[w] + i]) continue;
        int o = offer_of(h, w, i);
        int64_t dw = delta(h, w, i);
        if (dw == INT64_MAX || dw >= bd) continue;
        if (fits(h, w, i)) continue; /* a shift does it */
        int nocc = h->nocc[o] < 48 ? h->nocc[o] : 48;
        for (int k = 0; k < nocc && h->budget > 0; k++) {
            int v = h->occ[o][(k + (int)(rnd(h) % (uint64_t)h->nocc[o])) % h->nocc[o]];
            int vcur = h->asg[v];
            int nv = c->ostart[v + 1] - c->ostart[v];
            place(h, w, i);
            int j0 = option_on(c, v, ocur);
            for (int q = -1; q < nv && q < 6; q++) {
                int j = q < 0 ? j0 : h->cheap[c->ostart[v] + q];
                if (j < 0 || j == vcur || (q >= 0 && j == j0) || !c->alive[c->ostart[v] + j]) continue;
                int oj = offer_of(h, v, j);
                if (oj == o) continue;
                h->budget--;
                int64_t dv = delta(h, v, j);
                if (dv == INT64_MAX || dw + dv >= bd) continue;
                place(h, v, j);
                int ok = groups_ok(h, o) && groups_ok(h, oj) && budgets_ok(h, w) && budgets_ok(h, v) &&
                         term_cost(h, w, i) != FBI_FORBID;
                place(h, v, vcur);
                if (ok) { bd = dw + dv; bi = i; bv = v; bj = j; }
            }
            place(h, w, cur);
        }
    }
    h->journal = journal;
    if (bv < 0) return 0;
    int ov = offer_of(h, bv, h->asg[bv]);
    place(h, w, bi);
    place(h, bv, bj);
    notify(h, w, ocur);
    notify(h, bv, ov);
    return 1;
}

/* Runs the queue to a local optimum of shift and ejection moves. */
static void descend(hs *h, double deadline)
{
    long n = 0;
    h->budget = 200000 + 40L * h->c->nw;
    while (h->qlen > 0) {
        if ((++n & 255) == 0 && fbi_mono_ms() > deadline) break;
        int w = h->queue[h->qhead];
        h->qhead = (h->qhead + 1) % h->c->nw;
        h->qlen--;
        h->inq[w] = 0;
        if (h->asg[w] < 0 || h->tabu[w]) continue;
        if (!try_shift(h, w)) try_eject(h, w);
    }
    while (h->qlen > 0) { /* deadline: drop the rest */
        h->inq[h->queue[h->qhead]] = 0;
        h->qhead = (h->qhead + 1) % h->c->nw;
        h->qlen--;
    }
}

static void descend_all(hs *h, double deadline)
{
    for (int w = 0; w < h->c->nw; w++) push(h, w);
    descend(h, deadline);
}

/* Undoes the journal back to its start. */
static void undo(hs *h)
{
    int journal = h->journal;
    h->journal = 0;
    while (h->nj > 0) {
        h->nj--;
        int w = h->jw[h->nj], o = h->jo[h->nj];
        place(h, w, -1);
        if (o >= 0) place(h, w, o);
    }
    h->journal = journal;
}

/* Best feasible option of v that is not on offer `avoid` (-1 if none). */
static int best_fit(hs *h, int v, int avoid)
{
    const fbi_cmp *c = h->c;
    int best = -1;
    int64_t bd = INT64_MAX;
    for (int q = 0; q < c->ostart[v + 1] - c->ostart[v]; q++) {
        int j = h->cheap[c->ostart[v] + q];
        if (j == h->asg[v] || !c->alive[c->ostart[v] + j] || offer_of(h, v, j) == avoid) continue;
        if (c->ocost[c->ostart[v] + j] - c->ocost[c->ostart[v] + h->asg[v]] >= bd) break;
        int64_t d = delta(h, v, j);
        if (d < bd && fits(h, v, j)) { bd = d; best = j; }
    }
    return best;
}

/* A forced move: w goes to a cheaper option although its offer is full; the
 * occupants that must leave go to their best feasible options. Returns 0
 * when it could not be done (the caller undoes the journal). */
static int force(hs *h, int w)
{
    const fbi_cmp *c = h->c;
    int cur = h->asg[w];
    int n = c->ostart[w + 1] - c->ostart[w];
    int cand[3], nc = 0;
    for (int q = 0; q < n && nc < 3; q++) {
        int j = h->cheap[c->ostart[w] + q];
        if (j == cur) break;
        if (c->alive[c->ostart[w] + j] && !fits(h, w, j) && term_cost(h, w, j) != FBI_FORBID) cand[nc++] = j;
    }
    if (!nc) return 0;
    int i = cand[rnd(h) % (uint64_t)nc];
    int o = offer_of(h, w, i);
    move(h, w, i);
    h->tabu[w] = 1;
    for (int guard = 0; !groups_ok(h, o) && guard < 8; guard++) {
        if (h->nocc[o] <= 1) return 0;
        int v;
        do v = h->occ[o][rnd(h) % (uint64_t)h->nocc[o]]; while (v == w);
        int j = best_fit(h, v, o);
        if (j < 0) return 0;
        move(h, v, j);
    }
    if (!groups_ok(h, o) || !budgets_ok(h, w)) return 0;
    return 1;
}

/* Iterated local search: kick one or a few linked workloads to random
 * feasible options (tabu for the descent that follows), descend, keep the
 * result when it is no worse, else undo. best[] receives the best plan. */
static fbi_money ils(hs *h, int *best, double deadline)
{
    const fbi_cmp *c = h->c;
    fbi_money bt = h->total;
    memcpy(best, h->asg, (size_t)c->nw * sizeof(int));
    long stall = 0, maxstall = 5000 + 200L * c->nw;
    int kick[4];
    h->journal = 1;
    while (stall < maxstall && c->nw > 1) {
        if ((stall & 15) == 0 && fbi_mono_ms() > deadline) break;
        h->nj = 0;
        fbi_money before = h->total;
        int nk = 1 + (int)(rnd(h) % 3), m = 0;
        int w0 = (int)(rnd(h) % (uint64_t)c->nw);
        kick[m++] = w0;
        for (int k = c->wt_start[w0]; k < c->wt_start[w0 + 1] && m < nk; k++) {
            const fbi_term *t = &c->t[c->wt[k] >> 1];
            kick[m++] = (c->wt[k] & 1) ? t->a : t->b;
        }
        if (rnd(h) % 2 == 0) {
            /* Forced move with ejections. */
            if (!force(h, w0)) {
                h->tabu[w0] = 0;
                undo(h);
                while (h->qlen > 0) {
                    h->inq[h->queue[h->qhead]] = 0;
                    h->qhead = (h->qhead + 1) % c->nw;
                    h->qlen--;
                }
                stall++;
                continue;
            }
            m = 1;
        } else
        for (int k = 0; k < m; k++) {
            int w = kick[k];
            int n = c->ostart[w + 1] - c->ostart[w];
            for (int tries = 0; tries < 6; tries++) {
                int i = (int)(rnd(h) % (uint64_t)n);
                if (i != h->asg[w] && c->alive[c->ostart[w] + i] && fits(h, w, i) &&
                    term_cost(h, w, i) != FBI_FORBID) {
                    move(h, w, i);
                    break;
                }
            }
            h->tabu[w] = 1;
        }
        descend(h, deadline);
        for (int k = 0; k < m; k++) h->tabu[kick[k]] = 0;
        /* The kicked ones may now improve too. */
        for (int k = 0; k < m; k++) push(h, kick[k]);
        descend(h, deadline);
        if (h->total < bt) {
            bt = h->total;
            memcpy(best, h->asg, (size_t)c->nw * sizeof(int));
            stall = 0;
        } else {
            stall++;
            if (h->total > before) undo(h);
        }
    }
    h->journal = 0;
    h->nj = 0;
    return bt;
}

/* Makes room for w on one of its options by moving one occupant elsewhere. */
static int repair(hs *h, int w, const double *score)
{
    const fbi_cmp *c = h->c;
    int n = c->ostart[w + 1] - c->ostart[w];
    for (int i = 0; i < n; i++) {
        if (!c->alive[c->ostart[w] + i] || term_cost(h, w, i) == FBI_FORBID) continue;
        int o = offer_of(h, w, i);
        for (int k = 0; k < h->nocc[o]; k++) {
            int v = h->occ[o][k], vcur = h->asg[v];
            int nv = c->ostart[v + 1] - c->ostart[v];
            for (int j = 0; j < nv; j++) {
                if (j == vcur || !c->alive[c->ostart[v] + j] || offer_of(h, v, j) == o) continue;
                if (!fits(h, v, j) || term_cost(h, v, j) == FBI_FORBID) continue;
                place(h, v, j);
                if (fits(h, w, i) && term_cost(h, w, i) != FBI_FORBID) {
                    place(h, w, i);
                    return 1;
                }
                place(h, v, vcur);
            }
        }
    }
    (void)score;
    return 0;
}

typedef struct wkey { double key; int w; } wkey;
static int wkey_cmp(const void *a, const void *b)
{
    const wkey *x = a, *y = b;
    if (x->key != y->key) return x->key > y->key ? -1 : 1;
    return x->w - y->w;
}

/* Greedy construction in a given order with option scores (USD). */
static int construct(hs *h, const int *order, const double *score)
{
    const fbi_cmp *c = h->c;
    for (int k = 0; k < c->nw; k++) {
        int w = order[k];
        int best = -1;
        double bs = 0;
        for (int i = 0; i < c->ostart[w + 1] - c->ostart[w]; i++) {
            if (!c->alive[c->ostart[w] + i]) continue;
            int64_t tc = term_cost(h, w, i);
            if (tc == FBI_FORBID || !fits(h, w, i)) continue;
            double s = score[c->ostart[w] + i] + (double)tc / 1e9;
            if (best < 0 || s < bs) { bs = s; best = i; }
        }
        if (best >= 0) place(h, w, best);
        else if (!repair(h, w, score)) return -1;
    }
    return 0;
}

fbi_money fbi_cmp_price(const fbi_cmp *c, const int *asg)
{
    hs h;
    hs_init(&h, c, 1);
    fbi_money tot = -1;
    int ok = 1;
    for (int w = 0; w < c->nw && ok; w++) {
        int i = asg[w];
        if (i < 0 || i >= c->ostart[w + 1] - c->ostart[w]) { ok = 0; break; }
        if (term_cost(&h, w, i) == FBI_FORBID || !fits(&h, w, i)) ok = 0;
        else place(&h, w, i);
    }
    if (ok) tot = h.total;
    hs_free(&h);
    return tot;
}

fbi_money fbi_local_search(const fbi_cmp *c, int *asg, double deadline)
{
    hs h;
    hs_init(&h, c, 7);
    search_init(&h);
    for (int w = 0; w < c->nw; w++) place(&h, w, asg[w]);
    descend_all(&h, deadline);
    memcpy(asg, h.asg, (size_t)c->nw * sizeof(int));
    fbi_money t = h.total;
    hs_free(&h);
    return t;
}

int fbi_heuristic(const fbi_cmp *c, const double *guide, double deadline, unsigned seed,
                  int verbose, int **out, fbi_money *total)
{
    int nopt = c->ostart[c->nw];
    double *score = fbi_xmalloc(((size_t)nopt + 1) * sizeof(double));
    int *order = fbi_xmalloc(((size_t)c->nw + 1) * sizeof(int));
    wkey *keys = fbi_xmalloc(((size_t)c->nw + 1) * sizeof(wkey));
    int *best = fbi_xmalloc(((size_t)c->nw + 1) * sizeof(int));
    fbi_money bt = -1;
    double t0 = fbi_mono_ms();
    /* Constructions: with and without the capacity prices, in regret or in
     * demand order; each is taken to a local optimum, the best goes on to
     * the iterated local search. */
    double cdead = t0 + (deadline - t0) * 0.5;
    for (int variant = 0; variant < 4 && (variant == 0 || fbi_mono_ms() < cdead); variant++) {
        double alpha = (variant == 0 || variant == 2) ? 1.0 : 0.0;
        if (!guide) alpha = 0.0;
        if (!guide && (variant == 0 || variant == 2)) continue;
        for (int w = 0; w < c->nw; w++)
            for (int i = c->ostart[w]; i < c->ostart[w + 1]; i++) {
                double sc = (double)c->ocost[i] / 1e9;
                int o = c->ooffer[i];
                if (alpha > 0)
                    for (int k = c->og_start[o]; k < c->og_start[o + 1]; k++)
                        sc += alpha * guide[c->og[k]] * (double)fbi_gweight(c, c->og[k], w) / 1e6;
                score[i] = sc;
            }
        for (int w = 0; w < c->nw; w++) {
            double b1 = INFINITY, b2 = INFINITY;
            for (int i = c->ostart[w]; i < c->ostart[w + 1]; i++) {
                if (!c->alive[i]) continue;
                if (score[i] < b1) { b2 = b1; b1 = score[i]; }
                else if (score[i] < b2) b2 = score[i];
            }
            double regret = isinf(b2) ? 1e300 : b2 - b1;
            keys[w].w = w;
            keys[w].key = variant < 2 ? regret : (double)c->demand[w] + regret * 1e-9;
        }
        qsort(keys, (size_t)c->nw, sizeof *keys, wkey_cmp);
        for (int w = 0; w < c->nw; w++) order[w] = keys[w].w;
        hs h;
        hs_init(&h, c, seed + (unsigned)variant);
        if (construct(&h, order, score) == 0) {
            fbi_money t1 = h.total;
            search_init(&h);
            descend_all(&h, deadline);
            if (verbose)
                fprintf(stderr, "heuristic: construction %d: %.6f, local optimum %.6f at %.0f ms\n", variant,
                        (double)t1 / 1e9, (double)h.total / 1e9, fbi_mono_ms() - t0);
            if (bt < 0 || h.total < bt) {
                bt = h.total;
                memcpy(best, h.asg, (size_t)c->nw * sizeof(int));
            }
        } else if (verbose) {
            fprintf(stderr, "heuristic: construction %d found no feasible plan\n", variant);
        }
        hs_free(&h);
    }
    free(score);
    free(order);
    free(keys);
    if (bt >= 0) {
        hs h;
        hs_init(&h, c, seed);
        search_init(&h);
        for (int w = 0; w < c->nw; w++) place(&h, w, best[w]);
        long t1 = (long)bt;
        bt = ils(&h, best, deadline);
        if (verbose)
            fprintf(stderr, "heuristic: iterated local search %.6f -> %.6f at %.0f ms\n", (double)t1 / 1e9,
                    (double)bt / 1e9, fbi_mono_ms() - t0);
        hs_free(&h);
    }
    if (bt < 0) {
        free(best);
        *out = NULL;
        return -1;
    }
    *out = best;
    *total = bt;
    return 0;
}
