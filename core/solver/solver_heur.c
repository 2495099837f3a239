/* solver_heur.c - the placement heuristic: greedy construction by regret
 * (steered by the Lagrangian capacity prices), a repair step that makes room
 * by moving one occupant, then local search with shift and swap moves and an
 * iterated perturbation, always keeping every constraint satisfied. */
#include "config.h"
#include "solver/solver_impl.h"
#include "base/util.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Members of one tree move at most (a chain segment, a hub with its
 * spokes, an application's spanning tree). */
#define TREE_MAX 48
#define TREE_INF (INT64_MAX / 4)

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
    double deadline;    /* of the current descent */
    int64_t *tcache;    /* term cost per region class of one workload */
    unsigned *tstamp;
    unsigned stampv;
    int ntcache;
    unsigned *cmark;    /* per workload: stamp of the last component walk */
    unsigned cstamp;
    int64_t *tun, *tsub; /* tree moves: TREE_MAX x ntcache values each */
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
    int mx = 1;
    for (int w = 0; w < c->nw; w++) if (c->wncls[w] > mx) mx = c->wncls[w];
    h->tcache = fbi_xmalloc((size_t)mx * sizeof(int64_t));
    h->tstamp = fbi_xcalloc((size_t)mx, sizeof(unsigned));
    h->ntcache = mx;
}

static void hs_free(hs *h)
{
    for (int o = 0; o < h->c->no; o++) free(h->occ[o]);
    free(h->occ); free(h->nocc); free(h->capocc); free(h->pos);
    free(h->asg); free(h->load); free(h->spent);
    free(h->owner); free(h->rstart); free(h->ropt); free(h->cheap);
    free(h->queue); free(h->inq); free(h->tabu); free(h->jw); free(h->jo);
    free(h->tcache); free(h->tstamp); free(h->cmark);
    free(h->tun); free(h->tsub);
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

/* term_cost through a per-region cache, valid while the neighbours of w
 * stay put: call begin_batch() before looping over w's options. */
static void begin_batch(hs *h)
{
    if (++h->stampv == 0) {
        memset(h->tstamp, 0, (size_t)h->ntcache * sizeof(unsigned));
        h->stampv = 1;
    }
}

static int64_t term_cost_c(hs *h, int w, int i)
{
    const fbi_cmp *c = h->c;
    if (c->wt_start[w] == c->wt_start[w + 1]) return 0;
    if (!c->wregion_terms[w]) return term_cost(h, w, i);
    int k = c->ocls[c->ostart[w] + i];
    if (h->tstamp[k] == h->stampv) return h->tcache[k];
    int64_t v = term_cost(h, w, i);
    h->tstamp[k] = h->stampv;
    h->tcache[k] = v;
    return v;
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

/* Change of the total if w moved to i, given the term cost at its current
 * option (tcur); INT64_MAX when a placed neighbour forbids i. */
static int64_t delta_t(const hs *h, int w, int i, int64_t tcur)
{
    const fbi_cmp *c = h->c;
    int64_t tn = c->wt_start[w] == c->wt_start[w + 1] ? 0 : term_cost(h, w, i);
    if (tn == FBI_FORBID) return INT64_MAX;
    return c->ocost[c->ostart[w] + i] - c->ocost[c->ostart[w] + h->asg[w]] + tn - tcur;
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

typedef struct copt { fbi_money cost; int i; } copt;
static int copt_cmp(const void *x, const void *y)
{
    const copt *a = x, *b = y;
    if (a->cost != b->cost) return a->cost < b->cost ? -1 : 1;
    return a->i - b->i;
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
    int mx = 1;
    for (int w = 0; w < c->nw; w++)
        if (c->ostart[w + 1] - c->ostart[w] > mx) mx = c->ostart[w + 1] - c->ostart[w];
    copt *tmp = fbi_xmalloc((size_t)mx * sizeof(copt));
    for (int w = 0; w < c->nw; w++) {
        int n = c->ostart[w + 1] - c->ostart[w];
        for (int q = 0; q < n; q++) { tmp[q].cost = c->ocost[c->ostart[w] + q]; tmp[q].i = q; }
        qsort(tmp, (size_t)n, sizeof *tmp, copt_cmp);
        for (int q = 0; q < n; q++) h->cheap[c->ostart[w] + q] = tmp[q].i;
    }
    free(tmp);
    h->queue = fbi_xmalloc(((size_t)c->nw + 1) * sizeof(int));
    h->inq = fbi_xcalloc((size_t)c->nw + 1, 1);
    h->tabu = fbi_xcalloc((size_t)c->nw + 1, 1);
    h->cmark = fbi_xcalloc((size_t)c->nw + 1, sizeof(unsigned));
    h->tun = fbi_xmalloc((size_t)TREE_MAX * (size_t)h->ntcache * sizeof(int64_t));
    h->tsub = fbi_xmalloc((size_t)TREE_MAX * (size_t)h->ntcache * sizeof(int64_t));
}

static void push(hs *h, int w)
{
    if (h->inq[w] || h->tabu[w]) return;
    h->inq[w] = 1;
    h->queue[(h->qhead + h->qlen++) % h->c->nw] = w;
}

/* After w changed place: its term neighbours may want to follow, and
 * workloads that would gain from the offer it left, and now fit there, get
 * another look. Those that still do not fit are left out: with tight
 * quotas (bench/README-solver.md, Stop 25) they were most of the queue,
 * each went on to try ejections, and 5-9% of those found one; the kicks
 * that follow reach them anyway, and the search makes more kicks in the
 * time. */
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
        fbi_money dc = c->ocost[gi] - c->ocost[c->ostart[v] + h->asg[v]];
        if (c->wt_start[v] == c->wt_start[v + 1]) {
            if (dc < 0 && fits(h, v, li)) push(h, v);
            continue;
        }
        /* Term costs are never negative (FBI_FORBID aside), so the move
         * gains at most what v's terms cost now: most candidates are
         * ruled out without pricing the terms of the new place. */
        int64_t tv = term_cost(h, v, h->asg[v]);
        if (dc < tv && fits(h, v, li) && delta_t(h, v, li, tv) < 0) push(h, v);
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
    begin_batch(h);
    int cur = h->asg[w];
    int64_t tcur = term_cost_c(h, w, cur);
    fbi_money ccur = c->ocost[c->ostart[w] + cur];
    for (int i = 0; i < c->ostart[w + 1] - c->ostart[w]; i++) {
        if (i == cur || !c->alive[c->ostart[w] + i]) continue;
        int64_t tn = term_cost_c(h, w, i);
        if (tn == FBI_FORBID) continue;
        int64_t d = c->ocost[c->ostart[w] + i] - ccur + tn - tcur;
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
    /* w's term costs are taken with its neighbours in place: every trial
     * below puts them back before the next option is priced, so one
     * batch of the region cache serves the whole loop. */
    begin_batch(h);
    int64_t tw = term_cost_c(h, w, cur);
    fbi_money cw = c->ocost[c->ostart[w] + cur];
    for (int i = 0; i < c->ostart[w + 1] - c->ostart[w] && h->budget > 0; i++) {
        if (i == cur || !c->alive[c->ostart[w] + i]) continue;
        int o = offer_of(h, w, i);
        int64_t tn = term_cost_c(h, w, i);
        if (tn == FBI_FORBID) continue;
        int64_t dw = c->ocost[c->ostart[w] + i] - cw + tn - tw;
        if (dw >= bd) continue;
        if (fits(h, w, i)) continue; /* a shift does it */
        int nocc = h->nocc[o] < 48 ? h->nocc[o] : 48;
        int start = h->nocc[o] ? (int)(rnd(h) % (uint64_t)h->nocc[o]) : 0;
        for (int k = 0; k < nocc && h->budget > 0; k++) {
            int v = h->occ[o][(k + start) % h->nocc[o]];
            int vcur = h->asg[v];
            /* v must free enough room in every group w would overfill. */
            int enough = 1;
            for (int q = c->og_start[o]; q < c->og_start[o + 1] && enough; q++) {
                int g = c->og[q];
                if (in_groups(c, ocur, g)) continue;
                int64_t over = h->load[g] + fbi_gweight(c, g, w) - c->gcap[g];
                if (over > 0 && fbi_gweight(c, g, v) < over) enough = 0;
            }
            if (!enough) continue;
            int nv = c->ostart[v + 1] - c->ostart[v];
            place(h, w, i);
            int64_t tv = c->wt_start[v] == c->wt_start[v + 1] ? 0 : term_cost(h, v, vcur);
            int j0 = option_on(c, v, ocur);
            for (int q = -1; q < nv && q < 6; q++) {
                int j = q < 0 ? j0 : h->cheap[c->ostart[v] + q];
                if (j < 0 || j == vcur || (q >= 0 && j == j0) || !c->alive[c->ostart[v] + j]) continue;
                int oj = offer_of(h, v, j);
                if (oj == o) continue;
                if ((--h->budget & 1023) == 0 && fbi_mono_ms() > h->deadline) h->budget = 0;
                /* as in notify: v gains at most tv on its terms */
                if (dw + c->ocost[c->ostart[v] + j] - c->ocost[c->ostart[v] + vcur] - tv >= bd) continue;
                int64_t dv = delta_t(h, v, j, tv);
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
    /* Evaluations of ejections per descent: a descent after a kick
     * settles a few workloads, and a kick that needs more is better
     * undone and followed by another (was 100000 + 20 nw; Stop 25). */
    h->budget = 20000 + 4L * h->c->nw;
    h->deadline = deadline;
    while (h->qlen > 0) {
        if ((++n & 15) == 0 && fbi_mono_ms() > deadline) break;
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
    int64_t tv = c->wt_start[v] == c->wt_start[v + 1] ? 0 : term_cost(h, v, h->asg[v]);
    for (int q = 0; q < c->ostart[v + 1] - c->ostart[v]; q++) {
        int j = h->cheap[c->ostart[v] + q];
        if (j == h->asg[v] || !c->alive[c->ostart[v] + j] || offer_of(h, v, j) == avoid) continue;
        if (c->ocost[c->ostart[v] + j] - c->ocost[c->ostart[v] + h->asg[v]] >= bd) break;
        int64_t d = delta_t(h, v, j, tv);
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

/* ---- component moves ---- */

/* Most workloads of a component moved together: an application, or the
 * workloads joined by links. Bigger components are cut at this size (the
 * breadth-first walk takes the nearest first). */
#define COMP_MAX 16

/* The component of w0 over the pair terms, at most limit (<= COMP_MAX)
 * workloads, breadth first (a smaller limit gives a piece of it: a
 * segment of a chain, a hub with some spokes); largest demand first in
 * comp[]. Returns its size. */
static int component(hs *h, int w0, int *comp, int limit)
{
    const fbi_cmp *c = h->c;
    if (++h->cstamp == 0) {
        memset(h->cmark, 0, (size_t)c->nw * sizeof(unsigned));
        h->cstamp = 1;
    }
    int n = 0;
    comp[n++] = w0;
    h->cmark[w0] = h->cstamp;
    for (int q = 0; q < n && n < limit; q++) {
        int w = comp[q];
        for (int k = c->wt_start[w]; k < c->wt_start[w + 1] && n < limit; k++) {
            const fbi_term *t = &c->t[c->wt[k] >> 1];
            int v = (c->wt[k] & 1) ? t->a : t->b;
            if (h->cmark[v] == h->cstamp) continue;
            h->cmark[v] = h->cstamp;
            comp[n++] = v;
        }
    }
    /* Insertion sort by demand, descending: the large ones take room first. */
    for (int i = 1; i < n; i++) {
        int v = comp[i], j = i;
        while (j > 0 && c->demand[comp[j - 1]] < c->demand[v]) { comp[j] = comp[j - 1]; j--; }
        comp[j] = v;
    }
    return n;
}

/* Places the (unplaced) members of comp[] one by one on their best option
 * that fits, counting the links to what is placed already; in region r
 * when it has one, anywhere else otherwise. "Best" is the cost, or
 * score[] (cost with capacity prices, per global option) when given;
 * *sum (may be NULL) receives the summed score. Returns 0 when some member
 * found no option (the members placed stay placed). */
static int place_comp_in(hs *h, const int *comp, int n, int r, const double *score, double *sum)
{
    const fbi_cmp *c = h->c;
    double tot = 0;
    for (int q = 0; q < n; q++) {
        int v = comp[q], nv = c->ostart[v + 1] - c->ostart[v];
        int best = -1, bestin = 0;
        double bc = 0;
        begin_batch(h);
        for (int j = 0; j < nv; j++) {
            int gi = c->ostart[v] + j;
            if (!c->alive[gi]) continue;
            int in = c->oregion[c->ooffer[gi]] == r;
            if (bestin && !in) continue;
            int64_t tc = term_cost_c(h, v, j);
            if (tc == FBI_FORBID) continue;
            double cost = (score ? score[gi] : (double)c->ocost[gi] / 1e9) + (double)tc / 1e9;
            if (best < 0 || (in && !bestin) || cost < bc) {
                if (!fits(h, v, j)) continue;
                best = j;
                bc = cost;
                bestin = in;
            }
        }
        if (best < 0) return 0;
        place(h, v, best);
        tot += bc;
    }
    if (sum) *sum = tot;
    return 1;
}

/* Moves the component of w0 (at most limit workloads) to the region (among those w0 may use) where
 * it costs least, other than where w0 is now. The journal records the
 * move; trials are undone by hand. Returns 1 when a move was made; then
 * the members are in comp[0..*ncomp). */
static int comp_move(hs *h, int w0, int limit, int *comp, int *ncomp, double deadline)
{
    const fbi_cmp *c = h->c;
    int n = component(h, w0, comp, limit);
    *ncomp = n;
    if (n < 2) return 0;
    int orig[COMP_MAX];
    for (int q = 0; q < n; q++) orig[q] = h->asg[comp[q]];
    int cur_r = c->oregion[offer_of(h, w0, h->asg[w0])];
    int journal = h->journal;
    h->journal = 0;
    int best_r = -1;
    fbi_money best_t = INT64_MAX;
    /* Regions of w0's options, each tried once (options are sorted by
     * offer, so a region's offers may be scattered: mark by stamp). */
    int tried[64], ntried = 0;
    for (int i = c->ostart[w0]; i < c->ostart[w0 + 1] && ntried < 64; i++) {
        if (!c->alive[i]) continue;
        int r = c->oregion[c->ooffer[i]];
        int seen = r == cur_r;
        for (int k = 0; k < ntried && !seen; k++) seen = tried[k] == r;
        if (seen) continue;
        tried[ntried++] = r;
        if ((ntried & 3) == 0 && fbi_mono_ms() > deadline) break;
        for (int q = 0; q < n; q++) place(h, comp[q], -1);
        if (place_comp_in(h, comp, n, r, NULL, NULL) && h->total < best_t) {
            best_t = h->total;
            best_r = r;
        }
        for (int q = 0; q < n; q++) place(h, comp[q], -1);
        for (int q = 0; q < n; q++) place(h, comp[q], orig[q]);
    }
    h->journal = journal;
    if (best_r < 0) return 0;
    for (int q = 0; q < n; q++) place(h, comp[q], -1);
    if (!place_comp_in(h, comp, n, best_r, NULL, NULL)) {
        /* Cannot happen (the same greedy succeeded above); restore. */
        for (int q = 0; q < n; q++) place(h, comp[q], -1);
        for (int q = 0; q < n; q++) place(h, comp[q], orig[q]);
        return 0;
    }
    for (int q = 0; q < n; q++) notify(h, comp[q], -1);
    return 1;
}

/* One pass of improving component moves over every component: a move is
 * kept when the total drops. Returns the number kept. */
static int comp_pass(hs *h, double deadline)
{
    const fbi_cmp *c = h->c;
    int comp[COMP_MAX], n, kept = 0;
    unsigned char *done = fbi_xcalloc((size_t)c->nw + 1, 1);
    int journal = h->journal;
    h->journal = 1;
    for (int w = 0; w < c->nw; w++) {
        if (done[w] || c->wt_start[w] == c->wt_start[w + 1] || h->asg[w] < 0) continue;
        if (fbi_mono_ms() > deadline) break;
        fbi_money before = h->total;
        h->nj = 0;
        int moved = comp_move(h, w, COMP_MAX, comp, &n, deadline);
        for (int q = 0; q < n; q++) done[comp[q]] = 1;
        if (!moved) continue;
        if (h->total < before) kept++;
        else undo(h);
    }
    h->nj = 0;
    h->journal = journal;
    free(done);
    /* Followers: the neighbours of what moved get a look. */
    descend(h, deadline);
    return kept;
}

/* ---- tree moves: a linked piece re-placed by dynamic programming ---- */


/* The piece of at most limit (<= TREE_MAX) workloads around w0 over
 * region-class terms, breadth first, as a tree: par[q] is the index of q's
 * parent in mem[] (-1 for the root), pk[q] the entry of c->wt (the
 * parent's side) of the term joining them. Workloads with a term by offer
 * stay out (their costs do not follow region classes). Returns its size. */
static int tree_walk(hs *h, int w0, int limit, int *mem, int *par, int *pk)
{
    const fbi_cmp *c = h->c;
    if (!c->wregion_terms[w0]) return 0;
    if (++h->cstamp == 0) {
        memset(h->cmark, 0, (size_t)c->nw * sizeof(unsigned));
        h->cstamp = 1;
    }
    int n = 0;
    mem[n] = w0;
    par[n] = -1;
    pk[n++] = -1;
    h->cmark[w0] = h->cstamp;
    for (int q = 0; q < n && n < limit; q++) {
        int w = mem[q];
        for (int k = c->wt_start[w]; k < c->wt_start[w + 1] && n < limit; k++) {
            const fbi_term *t = &c->t[c->wt[k] >> 1];
            int v = (c->wt[k] & 1) ? t->a : t->b;
            if (h->cmark[v] == h->cstamp || !c->wregion_terms[v] || h->asg[v] < 0) continue;
            h->cmark[v] = h->cstamp;
            mem[n] = v;
            par[n] = q;
            pk[n++] = k;
        }
    }
    return n;
}

/* Best option of v (member q of a tree move) given what is placed now:
 * its cost, its terms to placed workloads and sub[] (the cheapest its
 * subtree can add, per region class); -1 when none fits. */
static int tree_pick(hs *h, int v, const int64_t *sub, int64_t *val)
{
    const fbi_cmp *c = h->c;
    int best = -1;
    int64_t bv = TREE_INF;
    begin_batch(h);
    for (int j = 0; j < c->ostart[v + 1] - c->ostart[v]; j++) {
        int gi = c->ostart[v] + j;
        if (!c->alive[gi]) continue;
        int64_t s = sub[c->ocls[gi]];
        if (s >= TREE_INF) continue;
        int64_t tc = term_cost_c(h, v, j);
        if (tc == FBI_FORBID) continue;
        int64_t x = c->ocost[gi] + tc + s;
        if (x < bv && fits(h, v, j)) {
            bv = x;
            best = j;
        }
    }
    if (val) *val = bv;
    return best;
}

/* Re-places the tree around w0 (at most limit workloads) at once: every
 * member is taken out, then a dynamic program over region classes, leaves
 * first, gives each member the cheapest its subtree can cost for each of
 * its regions (options that fit, links to the workloads outside as they
 * are placed, the tree's links exactly), and members are placed root
 * first on their best option given their parent's place and what the
 * members before them took (capacity shared by members is the one thing
 * the program does not see). Exact for the piece when its members do not
 * compete for capacity: a chain split across two regions where quota
 * forces it is found in one move, where single moves and whole-component
 * moves cannot cross the egress between. The journal records the move.
 * Returns 1 when the members were placed (mem[0..*nmem)), 0 when the
 * piece is too small or some member found no option (then the caller
 * undoes: members may be unplaced). */
static int tree_move(hs *h, int w0, int limit, int *mem, int *nmem)
{
    const fbi_cmp *c = h->c;
    int par[TREE_MAX], pk[TREE_MAX];
    if (limit > TREE_MAX) limit = TREE_MAX;
    int n = tree_walk(h, w0, limit, mem, par, pk);
    *nmem = n;
    if (n < 2) return 0;
    int mx = h->ntcache;
    for (int q = 0; q < n; q++) place(h, mem[q], -1);
    /* un: a member's own cheapest per class (cost and links to placed
     * workloads); sub: what its children add at best, per class. */
    int64_t *un = h->tun, *sub = h->tsub;
    for (int q = 0; q < n; q++) {
        int v = mem[q];
        int64_t *u = un + (size_t)q * (size_t)mx, *s = sub + (size_t)q * (size_t)mx;
        for (int k = 0; k < c->wncls[v]; k++) { u[k] = TREE_INF; s[k] = 0; }
        begin_batch(h);
        for (int j = 0; j < c->ostart[v + 1] - c->ostart[v]; j++) {
            int gi = c->ostart[v] + j;
            if (!c->alive[gi]) continue;
            int64_t tc = term_cost_c(h, v, j);
            if (tc == FBI_FORBID) continue;
            int64_t x = c->ocost[gi] + tc;
            if (x < u[c->ocls[gi]] && fits(h, v, j)) u[c->ocls[gi]] = x;
        }
    }
    for (int q = n - 1; q >= 1; q--) {
        int p = par[q], v = mem[q], w = mem[p];
        const fbi_term *t = &c->t[c->wt[pk[q]] >> 1];
        int side = c->wt[pk[q]] & 1; /* the parent's side of the term */
        const int64_t *uq = un + (size_t)q * (size_t)mx, *sq = sub + (size_t)q * (size_t)mx;
        int64_t *sp = sub + (size_t)p * (size_t)mx;
        for (int I = 0; I < c->wncls[w]; I++) {
            if (sp[I] >= TREE_INF) continue;
            int64_t m = TREE_INF;
            for (int J = 0; J < c->wncls[v]; J++) {
                if (uq[J] >= TREE_INF || sq[J] >= TREE_INF) continue;
                int64_t x = side ? t->cost[(size_t)J * (size_t)t->nb + (size_t)I]
                                 : t->cost[(size_t)I * (size_t)t->nb + (size_t)J];
                if (x == FBI_FORBID) continue;
                if (x + uq[J] + sq[J] < m) m = x + uq[J] + sq[J];
            }
            sp[I] = m >= TREE_INF ? TREE_INF : sp[I] + m;
        }
    }
    for (int q = 0; q < n; q++) {
        int j = tree_pick(h, mem[q], sub + (size_t)q * (size_t)mx, NULL);
        if (j < 0) return 0;
        place(h, mem[q], j);
    }
    return 1;
}

/* One pass of tree moves over every workload with links, the largest
 * pieces first: kept when the total drops. Returns the number kept. */
static int tree_pass(hs *h, double deadline)
{
    const fbi_cmp *c = h->c;
    int mem[TREE_MAX], n, kept = 0;
    unsigned char *done = fbi_xcalloc((size_t)c->nw + 1, 1);
    int journal = h->journal;
    h->journal = 1;
    for (int w = 0; w < c->nw; w++) {
        if (done[w] || c->wt_start[w] == c->wt_start[w + 1] || h->asg[w] < 0) continue;
        if ((w & 7) == 0 && fbi_mono_ms() > deadline) break;
        fbi_money before = h->total;
        h->nj = 0;
        int moved = tree_move(h, w, TREE_MAX, mem, &n);
        for (int q = 0; q < n; q++) done[mem[q]] = 1;
        if (moved && h->total < before) {
            kept++;
            for (int q = 0; q < n; q++) notify(h, mem[q], -1);
        } else
            undo(h);
    }
    h->nj = 0;
    h->journal = journal;
    free(done);
    descend(h, deadline);
    return kept;
}

/* Iterated local search: kick one or a few linked workloads to random
 * feasible options (tabu for the descent that follows), descend, keep the
 * result when it is no worse, else undo. best[] receives the best plan. */
/* What w pays now beyond its cheapest option alone: its option's cost
 * above the cheapest one plus the egress of its links as placed.
 * Borrowed h; w placed. */
static int64_t excess(const hs *h, int w)
{
    const fbi_cmp *c = h->c;
    int i = h->asg[w];
    int64_t x = c->ocost[c->ostart[w] + i] - c->ocost[c->ostart[w] + h->cheap[c->ostart[w]]];
    int64_t t = term_cost(h, w, i);
    return t == FBI_FORBID ? x : x + t;
}

/* The workload a kick starts from: a quarter of the time uniform, else the one
 * of four random workloads that pays the most beyond its cheapest option
 * (excess()). On egress-heavy instances most workloads sit on their
 * cheapest option next to their neighbours and a kick there only undoes
 * itself; the ones that pay egress or sit on a dear option because of
 * quota are where a better plan differs. Borrowed h. */
static int kick_start(hs *h)
{
    const fbi_cmp *c = h->c;
    int w0 = (int)(rnd(h) % (uint64_t)c->nw);
    if (rnd(h) % 4 == 0) return w0;
    int64_t b = excess(h, w0);
    for (int k = 0; k < 3; k++) {
        int w = (int)(rnd(h) % (uint64_t)c->nw);
        int64_t x = excess(h, w);
        if (x > b) { b = x; w0 = w; }
    }
    return w0;
}

static fbi_money ils(hs *h, int *best, double deadline, fbi_atomic_money *live, fbi_guide *mail,
                     const int *seen)
{
    const fbi_cmp *c = h->c;
    fbi_money bt = h->total;
    memcpy(best, h->asg, (size_t)c->nw * sizeof(int));
    long stall = 0, maxstall = 2000 + 60L * c->nw;
    int kick[COMP_MAX], restarts = 0;
    h->journal = 1;
    long iter = 0;
    while (c->nw > 1) {
        /* proven optimal: no later state can replace best (only a lower
         * total does), so the search has nothing left to find; or within
         * the caller's rel_gap of the bound, which is all it asked for */
        if (mail && (iter & 63) == 0 && bt - fbi_gap_slack(bt, mail->rel_gap) <= atomic_load(&mail->lb)) break;
        if ((stall & 15) == 0 && fbi_mono_ms() > deadline) break;
        if (mail && (++iter & 63) == 0 && atomic_load(&mail->fresh) != *seen) break;
        if (stall >= maxstall) {
            /* Stuck: a few restarts from a large perturbation of the state. */
            if (restarts++ >= 3) break;
            h->journal = 0;
            int nbig = c->nw / 20 > 3 ? c->nw / 20 : 3;
            for (int k = 0; k < nbig; k++) {
                int w = (int)(rnd(h) % (uint64_t)c->nw);
                int n = c->ostart[w + 1] - c->ostart[w];
                int i = (int)(rnd(h) % (uint64_t)n);
                if (i != h->asg[w] && c->alive[c->ostart[w] + i] && fits(h, w, i) &&
                    term_cost(h, w, i) != FBI_FORBID)
                    move(h, w, i);
            }
            descend_all(h, deadline);
            h->journal = 1;
            stall = 0;
            continue;
        }
        h->nj = 0;
        fbi_money before = h->total;
        int nk = 1 + (int)(rnd(h) % 3), m = 0;
        int w0 = kick_start(h);
        kick[m++] = w0;
        for (int k = c->wt_start[w0]; k < c->wt_start[w0 + 1] && m < nk; k++) {
            const fbi_term *t = &c->t[c->wt[k] >> 1];
            kick[m++] = (c->wt[k] & 1) ? t->a : t->b;
        }
        int kind = (int)(rnd(h) % 4);
        if (kind == 3 && c->wt_start[w0] < c->wt_start[w0 + 1]) {
            /* A piece around w0 re-placed by the tree program: the
             * region split of a chain or an application moves as one. */
            int lim = 2 + (int)(rnd(h) % (TREE_MAX - 1)), mem[TREE_MAX];
            if (!tree_move(h, w0, lim, mem, &m)) {
                undo(h);
                stall++;
                continue;
            }
            for (int q = 0; q < m; q++) notify(h, mem[q], -1);
            if (m > COMP_MAX) m = COMP_MAX;
            for (int k = 0; k < m; k++) { kick[k] = mem[k]; h->tabu[kick[k]] = 1; }
        } else if (kind == 2 && c->wt_start[w0] < c->wt_start[w0 + 1]) {
            /* The whole component to another region: one workload at a
             * time never crosses the egress of its links. */
            /* The whole component, or a piece of it around w0. */
            int lim = 2 + (int)(rnd(h) % (COMP_MAX - 1));
            if (!comp_move(h, w0, lim, kick, &m, deadline)) {
                undo(h);
                stall++;
                continue;
            }
            for (int k = 0; k < m; k++) h->tabu[kick[k]] = 1;
        } else if (kind == 0) {
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
            if (live) atomic_store(live, (long long)bt);
            stall = 0;
        } else {
            stall++;
            /* Mostly only no-worse states are kept; now and then a slightly
             * worse one, to leave a plateau. */
            int keep = h->total <= before ||
                       (rnd(h) % 8 == 0 && (double)(h->total - before) < 2e-4 * (double)bt &&
                        (double)(h->total - bt) < 2e-3 * (double)bt);
            if (!keep) undo(h);
        }
    }
    /* Leave the state at the best plan. */
    if (h->total != bt) {
        h->journal = 0;
        for (int w = 0; w < c->nw; w++) place(h, w, -1);
        for (int w = 0; w < c->nw; w++) place(h, w, best[w]);
    }
    h->journal = 0;
    h->nj = 0;
    return bt;
}

/* Undoes the journal back to entry `mark`. */
static void undo_to(hs *h, int mark)
{
    int journal = h->journal;
    h->journal = 0;
    while (h->nj > mark) {
        h->nj--;
        int w = h->jw[h->nj], o = h->jo[h->nj];
        place(h, w, -1);
        if (o >= 0) place(h, w, o);
    }
    h->journal = journal;
}

/* Makes the groups of offer o hold again (something moved in over its
 * capacity) by moving occupants out: each to a feasible option, or, with
 * depth > 0, into another full offer whose occupants then make room the
 * same way: an ejection chain (quota repair where one level of ejections
 * finds no room). chain[0..nchain) are the workloads moved in along the
 * chain so far; they stay. Every move goes to the journal (the caller
 * undoes on failure); *budget bounds the chain moves tried. Returns 1
 * when o's groups hold. */
static int make_room(hs *h, int o, int *chain, int nchain, int depth, long *budget)
{
    const fbi_cmp *c = h->c;
    for (int guard = 0; !groups_ok(h, o) && guard < 16; guard++) {
        int moved = 0, nocc = h->nocc[o];
        int s0 = nocc ? (int)(rnd(h) % (uint64_t)nocc) : 0;
        for (int k = 0; k < nocc && !moved; k++) {
            int v = h->occ[o][(s0 + k) % nocc], in = 0;
            for (int e = 0; e < nchain; e++) in |= chain[e] == v;
            if (in) continue;
            int j = best_fit(h, v, o);
            if (j >= 0) { place(h, v, j); moved = 1; }
        }
        if (moved) continue;
        if (depth <= 0) return 0;
        for (int k = 0; k < nocc && !moved && *budget > 0; k++) {
            int v = h->occ[o][(s0 + k) % nocc], in = 0;
            for (int e = 0; e < nchain; e++) in |= chain[e] == v;
            if (in) continue;
            /* v into one of its cheapest options on another offer, full
             * or not; that offer then ejects in turn. */
            int nv = c->ostart[v + 1] - c->ostart[v], vcur = h->asg[v];
            for (int q = 0, tried = 0; q < nv && tried < 4 && !moved && *budget > 0; q++) {
                int j = h->cheap[c->ostart[v] + q];
                if (j == vcur || !c->alive[c->ostart[v] + j]) continue;
                int o2 = offer_of(h, v, j);
                if (o2 == o || term_cost(h, v, j) == FBI_FORBID) continue;
                tried++;
                (*budget)--;
                int mark = h->nj;
                place(h, v, j);
                chain[nchain] = v;
                if (budgets_ok(h, v) && make_room(h, o2, chain, nchain + 1, depth - 1, budget))
                    moved = 1;
                else
                    undo_to(h, mark);
            }
        }
        if (!moved) return 0;
    }
    return groups_ok(h, o);
}

/* Makes room for w on one of its options by moving occupants elsewhere. */
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
    /* Ejection chains: w into an option although its offer is full, the
     * occupants out to feasible options or, when none has one, into
     * another full offer whose occupants move on in turn (depth 0 first:
     * one level of ejections, as cheap as it gets; then chains of two and
     * three). Undone through the journal when the chain does not close. */
    long budget = 400 + 4L * n;
    for (int depth = 0; depth <= 3; depth++)
        for (int q = 0; q < n && budget > 0; q++) {
            int i = h->cheap[c->ostart[w] + q];
            if (!c->alive[c->ostart[w] + i] || term_cost(h, w, i) == FBI_FORBID) continue;
            int o = offer_of(h, w, i);
            int chain[5] = {w, -1, -1, -1, -1};
            h->journal = 1;
            h->nj = 0;
            place(h, w, i);
            int ok = budgets_ok(h, w) && make_room(h, o, chain, 1, depth, &budget);
            if (!ok) undo(h);
            h->journal = 0;
            h->nj = 0;
            if (ok) return 1;
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
/* ---- feasibility repair: when the greedy cannot place a workload, it is
 * placed anyway where it breaks least, and moves that reduce the total
 * violation (capacity excess, budget excess, forbidden pairs) follow. ---- */

static double group_over(const hs *h, int g)
{
    int64_t x = h->load[g] - h->c->gcap[g];
    return x > 0 ? (double)x / (double)FBI_VCPU : 0.0;
}

static double budget_over(const hs *h, int b)
{
    fbi_money x = h->spent[b] - h->c->bcap[b];
    return x > 0 ? 1.0 + (double)x / (double)FBI_USD : 0.0;
}

/* Violation around w (its offer's groups, also those of `other` offer, its
 * budgets, its forbidden pairs). */
static double local_violation(const hs *h, int w, int other)
{
    const fbi_cmp *c = h->c;
    double v = 0;
    int o = h->asg[w] >= 0 ? offer_of(h, w, h->asg[w]) : -1;
    for (int pass = 0; pass < 2; pass++) {
        int oo = pass ? other : o;
        if (oo < 0 || (pass && oo == o)) continue;
        for (int k = c->og_start[oo]; k < c->og_start[oo + 1]; k++) {
            int g = c->og[k];
            if (pass && o >= 0 && in_groups(c, o, g)) continue;
            v += group_over(h, g);
        }
    }
    for (int k = c->wb_start[w]; k < c->wb_start[w + 1]; k++) v += budget_over(h, c->wb[k]);
    if (h->asg[w] >= 0)
        for (int k = c->wt_start[w]; k < c->wt_start[w + 1]; k++) {
            const fbi_term *t = &c->t[c->wt[k] >> 1];
            int side = c->wt[k] & 1, u = side ? t->a : t->b;
            if (h->asg[u] < 0) continue;
            int64_t x = side ? fbi_term_cost(t, h->asg[u], h->asg[w]) : fbi_term_cost(t, h->asg[w], h->asg[u]);
            if (x == FBI_FORBID) v += 10.0;
        }
    return v;
}

/* Change of violation if w moved to i (simulated). */
static double violation_delta(hs *h, int w, int i)
{
    int cur = h->asg[w];
    int oi = offer_of(h, w, i), oc = cur >= 0 ? offer_of(h, w, cur) : -1;
    double before = cur >= 0 ? local_violation(h, w, oi) : 0;
    place(h, w, i);
    double after = local_violation(h, w, oc);
    place(h, w, cur);
    return after - before;
}

static double total_violation(const hs *h)
{
    const fbi_cmp *c = h->c;
    double v = 0;
    for (int g = 0; g < c->ng; g++) v += group_over(h, g);
    for (int b = 0; b < c->nb; b++) v += budget_over(h, b);
    for (int ti = 0; ti < c->nt; ti++) {
        const fbi_term *t = &c->t[ti];
        if (h->asg[t->a] >= 0 && h->asg[t->b] >= 0 && fbi_term_cost(t, h->asg[t->a], h->asg[t->b]) == FBI_FORBID)
            v += 10.0;
    }
    return v;
}

/* Moves that lower the violation until there is none. Returns 0 when the
 * state is feasible. */
static int feasibility_repair(hs *h, double deadline)
{
    const fbi_cmp *c = h->c;
    int journal = h->journal;
    h->journal = 0;
    double v = total_violation(h);
    int idle = 0;
    for (long round = 0; v > 1e-12 && idle < 60 && fbi_mono_ms() < deadline; round++) {
        int improved = 0;
        for (int w = 0; w < c->nw; w++) {
            int cur = h->asg[w];
            if (local_violation(h, w, -1) <= 0) continue;
            int best = -1;
            double bd = -1e-12;
            fbi_money bc = INT64_MAX;
            for (int i = 0; i < c->ostart[w + 1] - c->ostart[w]; i++) {
                if (i == cur || !c->alive[c->ostart[w] + i]) continue;
                double d = violation_delta(h, w, i);
                fbi_money cost = c->ocost[c->ostart[w] + i];
                if (d < bd - 1e-12 || (d <= bd + 1e-12 && d < -1e-12 && cost < bc)) { bd = d; bc = cost; best = i; }
            }
            if (best >= 0) { place(h, w, best); improved = 1; }
        }
        double nv = total_violation(h);
        if (improved && nv < v - 1e-12) { v = nv; idle = 0; continue; }
        v = nv;
        idle++;
        /* Stuck: shake a few workloads that take part in a violation. */
        for (int k = 0; k < 3; k++) {
            int w = (int)(rnd(h) % (uint64_t)c->nw);
            for (int tries = 0; tries < c->nw && local_violation(h, w, -1) <= 0; tries++)
                w = (w + 1) % c->nw;
            int n = c->ostart[w + 1] - c->ostart[w];
            int i = (int)(rnd(h) % (uint64_t)n);
            if (c->alive[c->ostart[w] + i]) place(h, w, i);
        }
        v = total_violation(h);
    }
    h->journal = journal;
    if (v > 1e-12) return -1;
    /* Rebuild the running total: forbidden states may have skewed it. */
    int *a = fbi_xmalloc(((size_t)c->nw + 1) * sizeof(int));
    memcpy(a, h->asg, (size_t)c->nw * sizeof(int));
    for (int w = 0; w < c->nw; w++) place(h, w, -1);
    h->total = 0;
    for (int w = 0; w < c->nw; w++) place(h, w, a[w]);
    free(a);
    return 0;
}

/* Greedy construction in a given order with option scores (USD); a
 * workload that fits nowhere is placed where it breaks least and the
 * violations are repaired afterwards. */
static int construct(hs *h, const int *order, const double *score, double deadline, int n);

/* Construction by components: in order, each workload's unplaced linked
 * component (up to COMP_MAX) goes to the region of the workload's options
 * where its summed score (cost, capacity prices, links to what is placed)
 * is least; what finds no such region, and the workloads without links,
 * are then placed one by one (construct()). */
static int construct_comp(hs *h, const int *order, const double *score, double deadline)
{
    const fbi_cmp *c = h->c;
    int comp[COMP_MAX], sub[COMP_MAX];
    int *rest = fbi_xmalloc(((size_t)c->nw + 1) * sizeof(int));
    for (int k = 0; k < c->nw; k++) {
        int w = order[k];
        if (h->asg[w] >= 0 || c->wt_start[w] == c->wt_start[w + 1]) continue;
        if ((k & 7) == 0 && fbi_mono_ms() > deadline) break;
        int n = component(h, w, comp, COMP_MAX), ns = 0;
        for (int q = 0; q < n; q++) if (h->asg[comp[q]] < 0) sub[ns++] = comp[q];
        int best_r = -1, tried[64], ntried = 0;
        double best_s = 0;
        for (int i = c->ostart[w]; i < c->ostart[w + 1] && ntried < 64; i++) {
            if (!c->alive[i]) continue;
            int r = c->oregion[c->ooffer[i]], seen = 0;
            for (int t = 0; t < ntried && !seen; t++) seen = tried[t] == r;
            if (seen) continue;
            tried[ntried++] = r;
            double sc;
            int ok = place_comp_in(h, sub, ns, r, score, &sc);
            for (int q = 0; q < ns; q++) place(h, sub[q], -1);
            if (ok && (best_r < 0 || sc < best_s)) { best_s = sc; best_r = r; }
        }
        if (best_r < 0 || !place_comp_in(h, sub, ns, best_r, score, NULL))
            for (int q = 0; q < ns; q++) place(h, sub[q], -1);
    }
    int nr = 0;
    for (int k = 0; k < c->nw; k++) if (h->asg[order[k]] < 0) rest[nr++] = order[k];
    int r = construct(h, rest, score, deadline, nr);
    free(rest);
    return r;
}

static int construct(hs *h, const int *order, const double *score, double deadline, int n)
{
    const fbi_cmp *c = h->c;
    int soft = 0;
    for (int k = 0; k < n; k++) {
        int w = order[k];
        int best = -1;
        double bs = 0;
        begin_batch(h);
        for (int i = 0; i < c->ostart[w + 1] - c->ostart[w]; i++) {
            if (!c->alive[c->ostart[w] + i]) continue;
            int64_t tc = term_cost_c(h, w, i);
            if (tc == FBI_FORBID || !fits(h, w, i)) continue;
            double sc = score[c->ostart[w] + i] + (double)tc / 1e9;
            if (best < 0 || sc < bs) { bs = sc; best = i; }
        }
        if (best >= 0) { place(h, w, best); continue; }
        if (repair(h, w, score)) continue;
        double bv = 0;
        for (int i = 0; i < c->ostart[w + 1] - c->ostart[w]; i++) {
            if (!c->alive[c->ostart[w] + i]) continue;
            double d = violation_delta(h, w, i);
            if (best < 0 || d < bv) { bv = d; best = i; }
        }
        if (best < 0) return -1;
        place(h, w, best);
        soft = 1;
    }
    return soft ? feasibility_repair(h, deadline) : 0;
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

/* Scratch for constructions. */
typedef struct cons {
    const fbi_cmp *c;
    double *score;
    int *order;
    wkey *keys;
} cons;

/* One construction (variant: bit 0 = no capacity prices, bit 1 = demand
 * order instead of regret, bit 2 = linked components placed together)
 * taken to a local optimum. Returns its total, or
 * -1; the plan is left in out[]. */
static fbi_money run_variant(cons *k, const double *guide, int variant, unsigned seed, double deadline,
                             int *out)
{
    const fbi_cmp *c = k->c;
    double c0 = fbi_mono_ms();
    double alpha = (variant & 1) || !guide ? 0.0 : 1.0;
    for (int w = 0; w < c->nw; w++)
        for (int i = c->ostart[w]; i < c->ostart[w + 1]; i++) {
            double sc = (double)c->ocost[i] / 1e9;
            int o = c->ooffer[i];
            if (alpha > 0)
                for (int q = c->og_start[o]; q < c->og_start[o + 1]; q++)
                    sc += alpha * guide[c->og[q]] * (double)fbi_gweight(c, c->og[q], w) / 1e6;
            k->score[i] = sc;
        }
    for (int w = 0; w < c->nw; w++) {
        double b1 = INFINITY, b2 = INFINITY;
        for (int i = c->ostart[w]; i < c->ostart[w + 1]; i++) {
            if (!c->alive[i]) continue;
            if (k->score[i] < b1) { b2 = b1; b1 = k->score[i]; }
            else if (k->score[i] < b2) b2 = k->score[i];
        }
        double regret = isinf(b2) ? 1e300 : b2 - b1;
        /* Most constrained first: a workload whose options hold it only a
         * few times over (an 8 vCPU workload that fits on two 8 vCPU
         * offers) goes before any regret; placed late it finds them full
         * and only a long ejection chain would make room. */
        long slots = 0;
        for (int i = c->ostart[w]; i < c->ostart[w + 1] && slots <= 4; i++) {
            if (!c->alive[i]) continue;
            int o = c->ooffer[i];
            long fit = 5;
            for (int q = c->og_start[o]; q < c->og_start[o + 1]; q++) {
                int g = c->og[q];
                int64_t wt = fbi_gweight(c, g, w);
                if (c->gowner[g] >= 0 && wt > 0 && c->gcap[g] / wt < fit) fit = (long)(c->gcap[g] / wt);
            }
            slots += fit;
        }
        if (slots <= 4 && regret < 1e200 * (double)(5 - slots)) regret = 1e200 * (double)(5 - slots);
        k->keys[w].w = w;
        k->keys[w].key = (variant & 2) ? (double)c->demand[w] + regret * 1e-9 : regret;
    }
    qsort(k->keys, (size_t)c->nw, sizeof *k->keys, wkey_cmp);
    for (int w = 0; w < c->nw; w++) k->order[w] = k->keys[w].w;
    hs h;
    hs_init(&h, c, seed + (unsigned)variant);
    search_init(&h);
    fbi_money t = -1;
    int built = (variant & 4) ? construct_comp(&h, k->order, k->score, deadline)
                              : construct(&h, k->order, k->score, deadline, c->nw);
    if (built == 0) {
        descend_all(&h, deadline);
        /* Components together, until no move of one pays. */
        for (int pass = 0; pass < 4 && comp_pass(&h, deadline) > 0; pass++) {}
        /* Then pieces re-placed exactly over regions (splits a chain or
         * an application where quota forces it), when the time left is
         * more than the construction took so far: on a starved run the
         * search (whose kicks include tree moves) needs what is left. */
        for (int pass = 0; pass < 4 && fbi_mono_ms() - c0 < deadline - fbi_mono_ms() && tree_pass(&h, deadline) > 0;
             pass++) {}
        t = h.total;
        memcpy(out, h.asg, (size_t)c->nw * sizeof(int));
    }
    hs_free(&h);
    return t;
}

int fbi_heuristic(const fbi_cmp *c, fbi_guide *mail, double deadline, unsigned seed,
                  int verbose, fbi_atomic_money *live, int **out, fbi_money *total)
{
    int nopt = c->ostart[c->nw];
    cons k = {c, fbi_xmalloc(((size_t)nopt + 1) * sizeof(double)),
              fbi_xmalloc(((size_t)c->nw + 1) * sizeof(int)), fbi_xmalloc(((size_t)c->nw + 1) * sizeof(wkey))};
    int *best = fbi_xmalloc(((size_t)c->nw + 1) * sizeof(int));
    int *cand = fbi_xmalloc(((size_t)c->nw + 1) * sizeof(int));
    double *guide = NULL;
    int seen = -1;
    if (mail) {
        guide = fbi_xmalloc(((size_t)c->ng + 1) * sizeof(double));
        pthread_mutex_lock(&mail->mu);
        memcpy(guide, mail->lam, (size_t)c->ng * sizeof(double));
        seen = mail->version;
        pthread_mutex_unlock(&mail->mu);
    }
    fbi_money bt = -1;
    double t0 = fbi_mono_ms(), cdur = 0;
    /* Constructions with the capacity prices (regret and demand order);
     * without them only when those fail or there are no prices. Each is
     * taken to a local optimum; the best goes on to the iterated local
     * search. */
    static const int guided[] = {4, 0}, plain[] = {5, 1};
    for (int pass = 0; pass < 2 && bt < 0; pass++) {
        const int *vs = pass == 0 && guide ? guided : plain;
        if (pass == 1 && !guide) break;
        for (int q = 0; q < 2; q++) {
            /* A second construction only when it is cheap next to the time
             * left (on large problems the search uses the time better). */
            if (q == 1 && bt >= 0 && (fbi_mono_ms() - t0) * 4 > deadline - fbi_mono_ms()) break;
            double c1 = fbi_mono_ms();
            fbi_money t = run_variant(&k, guide, vs[q], seed, deadline, cand);
            if (cdur == 0) cdur = fbi_mono_ms() - c1;
            if (verbose)
                fprintf(stderr, "heuristic: construction %d: local optimum %.6f at %.0f ms\n", vs[q],
                        (double)t / 1e9, fbi_mono_ms() - t0);
            if (t >= 0 && (bt < 0 || t < bt)) {
                bt = t;
                memcpy(best, cand, (size_t)c->nw * sizeof(int));
                if (live) atomic_store(live, (long long)bt);
            }
        }
        if (pass == 0 && !guide) break;
    }
    if (bt >= 0) {
        hs h;
        hs_init(&h, c, seed);
        search_init(&h);
        for (int w = 0; w < c->nw; w++) place(&h, w, best[w]);
        fbi_money t1 = bt;
        for (;;) {
            bt = ils(&h, best, deadline, live, mail, &seen);
            if (!mail || fbi_mono_ms() > deadline) break;
            if (bt - fbi_gap_slack(bt, mail->rel_gap) <= atomic_load(&mail->lb))
                break; /* optimal, or within rel_gap: see ils */
            /* New capacity prices from the bound thread: construct again
             * with them; go on from the better plan. */
            pthread_mutex_lock(&mail->mu);
            int fresh = mail->version != seen;
            if (fresh) {
                memcpy(guide, mail->lam, (size_t)c->ng * sizeof(double));
                seen = mail->version;
            }
            pthread_mutex_unlock(&mail->mu);
            if (!fresh) break; /* the search stopped on its own */
            for (int q = 0; q < 2; q++) {
                double c0 = fbi_mono_ms();
                /* Only when it is cheap next to the time left: a
                 * construction with new prices rarely beats the search's
                 * plan (1000x500 chains s1 at 8 s: 2 s spent for a plan
                 * 1.2% dearer), and the search needs that time. */
                if (cdur * (q == 0 ? 4 : 8) > deadline - c0) break;
                fbi_money t = run_variant(&k, guide, guided[q], seed + 17u * (unsigned)seen, deadline, cand);
                if (verbose)
                    fprintf(stderr, "heuristic: construction %d with new prices: %.6f (best %.6f) at %.0f ms\n",
                            guided[q], (double)t / 1e9, (double)bt / 1e9, fbi_mono_ms() - t0);
                if (t >= 0 && t < bt) {
                    bt = t;
                    memcpy(best, cand, (size_t)c->nw * sizeof(int));
                    if (live) atomic_store(live, (long long)bt);
                    for (int w = 0; w < c->nw; w++) place(&h, w, -1);
                    for (int w = 0; w < c->nw; w++) place(&h, w, best[w]);
                }
            }
        }
        if (verbose)
            fprintf(stderr, "heuristic: iterated local search %.6f -> %.6f at %.0f ms\n", (double)t1 / 1e9,
                    (double)bt / 1e9, fbi_mono_ms() - t0);
        hs_free(&h);
    }
    free(k.score);
    free(k.order);
    free(k.keys);
    free(cand);
    free(guide);
    if (bt < 0) {
        free(best);
        *out = NULL;
        return -1;
    }
    *out = best;
    *total = bt;
    return 0;
}
