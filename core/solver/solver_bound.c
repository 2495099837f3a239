/* solver_bound.c - true lower bounds and exact search.
 *
 * The relaxation (docs/solver.md): the "flow" linearisation of the pair
 * terms, z_t[ca][cb] >= 0 with sum_cb z = X_a[ca] and sum_ca z = X_b[cb],
 * whose LP is much tighter than y >= x_a + x_b - 1. Relaxing the capacity
 * rows (lambda >= 0), the budget rows (nu >= 0) and the b-side consistency
 * rows (mu, free) leaves one independent choice per workload:
 *   L = sum_w min_i [ c_i (1 + sum_b nu_b) + sum_g lambda_g m_g(w)
 *                     + sum_{t: a(t) = w} min_cb (cost_t[ca(i)][cb] + mu_t[cb])
 *                     - sum_{t: b(t) = w} mu_t[cb(i)] ]
 *       - sum_g lambda_g cap_g - sum_b nu_b B_b
 * which is a lower bound for ANY multipliers. We round the multipliers to
 * integers (nano-USD) and evaluate L in exact 128-bit integer arithmetic, so
 * the bound we print is a true bound whatever the floating-point subgradient
 * or GLPK did. The LP duals from GLPK are plugged into the same evaluation.
 */
#include "config.h"
#include "solver/solver_impl.h"
#include "base/util.h"

#include <glpk.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FEMTO ((int64_t)1000000) /* femto-USD per nano-USD */
#define KINF (((fbi_i128)1) << 120)   /* an option the relaxation excludes */

typedef struct fbi_decomp fbi_decomp;
static void decomp_free(fbi_decomp *d);

struct fbi_lagr {
    const fbi_cmp *c;
    double *lam, *nu, *mu;      /* current multipliers, natural units */
    double *blam, *bnu, *bmu;   /* multipliers of the best bound */
    int *muoff;                 /* per term: offset of mu_t in mu */
    int nmu, nta;
    int *aoff;                  /* per term: offset of its a-classes in tbest */
    int64_t *ilam, *inu, *imu;  /* rounded: nano-USD/unit, ppm, nano-USD */
    int64_t *tbest;             /* per term and a-class, nano-USD; INT64_MAX none */
    int *targ;
    int *x;                     /* chosen option per workload */
    double *g;                  /* subgradient scratch */
    double *dir;                /* fbi_lagr_run: the last step's direction */
    int *gs, *gopt;             /* group -> alive global options on its offers */
    double *val;                /* ascent: per option Lagrangian value (USD) */
    double *bw, *aw;            /* ascent scratch per workload */
    int *stamp, *ostamp, *wl;   /* ascent scratch */
    fbi_i128 *oval;             /* knapsack: exact per-option values (femto) */
    fbi_i128 *u;                /* knapsack: assignment multipliers (femto) */
    double *du, *bdu;           /* their adjustments (USD) and the best ones */
    int *own;                   /* offer -> its own capacity group, -1 */
    int *cnt;                   /* times each workload is taken */
    fbi_money kbest;
    fbi_decomp *dc;             /* the decomposition Lagrangian, or NULL */
    double ktheta;
    fbi_atomic_money *live;     /* best known total, or NULL */
    double rel_gap;             /* fbi_lagr_set_rel_gap */
    unsigned char *tdirty;      /* per term: mu changed since tbest */
    int64_t *clsum;             /* per region class of one workload */
    int all_dirty;
    _Atomic int stop;           /* set by another thread: return soon */
    fbi_money best;
    double theta;
    int noimp;
    long iters;
};

fbi_lagr *fbi_lagr_new(const fbi_cmp *c)
{
    fbi_lagr *l = fbi_xcalloc(1, sizeof *l);
    l->c = c;
    l->muoff = fbi_xmalloc(((size_t)c->nt + 1) * sizeof(int));
    l->aoff = fbi_xmalloc(((size_t)c->nt + 1) * sizeof(int));
    int nmu = 0, na = 0;
    for (int t = 0; t < c->nt; t++) {
        l->muoff[t] = nmu;
        l->aoff[t] = na;
        nmu += c->t[t].nb;
        na += c->t[t].na;
    }
    l->nmu = nmu;
    l->nta = na;
    size_t ng = (size_t)c->ng + 1, nb = (size_t)c->nb + 1, nm = (size_t)nmu + 1;
    l->lam = fbi_xcalloc(ng, sizeof(double));
    l->blam = fbi_xcalloc(ng, sizeof(double));
    l->ilam = fbi_xcalloc(ng, sizeof(int64_t));
    l->nu = fbi_xcalloc(nb, sizeof(double));
    l->bnu = fbi_xcalloc(nb, sizeof(double));
    l->inu = fbi_xcalloc(nb, sizeof(int64_t));
    l->mu = fbi_xcalloc(nm, sizeof(double));
    l->bmu = fbi_xcalloc(nm, sizeof(double));
    l->imu = fbi_xcalloc(nm, sizeof(int64_t));
    l->tbest = fbi_xcalloc((size_t)na + 1, sizeof(int64_t));
    l->targ = fbi_xcalloc((size_t)na + 1, sizeof(int));
    l->x = fbi_xcalloc((size_t)c->nw + 1, sizeof(int));
    l->g = fbi_xcalloc(ng + nb + nm, sizeof(double));
    l->dir = fbi_xcalloc(ng + nb + nm, sizeof(double));
    /* Group -> options, for the coordinate ascent. */
    int nopt = c->ostart[c->nw];
    int *owner = fbi_xmalloc(((size_t)nopt + 1) * sizeof(int));
    int *ostart = fbi_xcalloc((size_t)c->no + 2, sizeof(int));
    int *olist = fbi_xmalloc(((size_t)nopt + 1) * sizeof(int));
    for (int w = 0; w < c->nw; w++)
        for (int i = c->ostart[w]; i < c->ostart[w + 1]; i++) { owner[i] = w; ostart[c->ooffer[i] + 1]++; }
    for (int o = 0; o < c->no; o++) ostart[o + 1] += ostart[o];
    int *fill = fbi_xmalloc(((size_t)c->no + 1) * sizeof(int));
    memcpy(fill, ostart, ((size_t)c->no + 1) * sizeof(int));
    for (int i = 0; i < nopt; i++) olist[fill[c->ooffer[i]]++] = i;
    free(fill);
    l->gs = fbi_xcalloc((size_t)c->ng + 2, sizeof(int));
    size_t tot = 0;
    for (int g = 0; g < c->ng; g++)
        for (int k = c->go_start[g]; k < c->go_start[g + 1]; k++)
            tot += (size_t)(ostart[c->go[k] + 1] - ostart[c->go[k]]);
    l->gopt = fbi_xmalloc((tot + 1) * sizeof(int));
    size_t n = 0;
    for (int g = 0; g < c->ng; g++) {
        l->gs[g] = (int)n;
        for (int k = c->go_start[g]; k < c->go_start[g + 1]; k++)
            for (int q = ostart[c->go[k]]; q < ostart[c->go[k] + 1]; q++)
                if (c->alive[olist[q]]) l->gopt[n++] = olist[q];
    }
    l->gs[c->ng] = (int)n;
    free(ostart);
    free(olist);
    l->wl = owner;
    l->val = fbi_xmalloc(((size_t)nopt + 1) * sizeof(double));
    l->bw = fbi_xmalloc(((size_t)c->nw + 1) * sizeof(double));
    l->aw = fbi_xmalloc(((size_t)c->nw + 1) * sizeof(double));
    l->stamp = fbi_xcalloc((size_t)c->nw + 1, sizeof(int));
    l->ostamp = fbi_xcalloc((size_t)nopt + 1, sizeof(int));
    l->tdirty = fbi_xcalloc((size_t)c->nt + 1, 1);
    int mx = 1;
    for (int w = 0; w < c->nw; w++) if (c->wncls[w] > mx) mx = c->wncls[w];
    l->clsum = fbi_xmalloc((size_t)mx * sizeof(int64_t));
    l->all_dirty = 1;
    l->best = INT64_MIN + 1;
    l->theta = 1.0;
    return l;
}

void fbi_lagr_free(fbi_lagr *l)
{
    if (!l) return;
    free(l->lam); free(l->blam); free(l->ilam); free(l->nu); free(l->bnu); free(l->inu);
    free(l->mu); free(l->bmu); free(l->imu); free(l->tbest); free(l->targ); free(l->x);
    free(l->g); free(l->dir); free(l->muoff); free(l->aoff);
    free(l->gs); free(l->gopt); free(l->val); free(l->bw); free(l->aw); free(l->stamp);
    free(l->ostamp); free(l->wl);
    free(l->tdirty); free(l->clsum);
    free(l->oval); free(l->u); free(l->du); free(l->bdu); free(l->own); free(l->cnt);
    decomp_free(l->dc);
    free(l);
}

void fbi_lagr_set_live_ub(fbi_lagr *l, fbi_atomic_money *ub)
{
    l->live = ub;
}

void fbi_lagr_stop(fbi_lagr *l, int stop)
{
    atomic_store(&l->stop, stop);
}

void fbi_lagr_set_rel_gap(fbi_lagr *l, double rel_gap)
{
    l->rel_gap = rel_gap;
}

/* A bound b that proves the plan of total ub good enough: nothing left to
 * search for (ub < 0: no plan known). */
static int enough(const fbi_lagr *l, fbi_money b, fbi_money ub)
{
    return ub >= 0 && b >= ub - fbi_gap_slack(ub, l->rel_gap);
}

/* Past the deadline, or told to stop. */
static int over(fbi_lagr *l, double deadline)
{
    return atomic_load(&l->stop) || fbi_mono_ms() > deadline;
}

/* The target: the caller's ub or the live best total, whichever is lower. */
static fbi_money cur_ub(const fbi_lagr *l, fbi_money ub)
{
    if (l->live) {
        long long v = atomic_load(l->live);
        if (v >= 0 && (ub < 0 || v < ub)) return (fbi_money)v;
    }
    return ub;
}

const fbi_cmp *fbi_lagr_cmp(const fbi_lagr *l)
{
    return l->c;
}

const double *fbi_lagr_group_mult(const fbi_lagr *l)
{
    return l->blam;
}

static int64_t to_int(double v, double scale)
{
    double x = v * scale;
    if (x > 9e15) x = 9e15;
    if (x < -9e15) x = -9e15;
    return llround(x);
}

/* Floor division of a femto amount to nano-USD. */
static fbi_money femto_floor(fbi_i128 v)
{
    fbi_i128 q = v / FEMTO;
    if (v % FEMTO != 0 && v < 0) q--;
    if (q > INT64_MAX) return INT64_MAX;
    if (q < INT64_MIN + 2) return INT64_MIN + 2;
    return (fbi_money)q;
}

/* Evaluates L exactly at the current (rounded) multipliers; fills x and
 * targ. Returns the bound in nano-USD (floor), or INT64_MIN when some
 * workload has no option the relaxation allows (infeasible). */
static fbi_money evaluate(fbi_lagr *l)
{
    const fbi_cmp *c = l->c;
    for (int g = 0; g < c->ng; g++) l->ilam[g] = l->lam[g] < 0 ? 0 : to_int(l->lam[g], 1e9);
    for (int b = 0; b < c->nb; b++) l->inu[b] = l->nu[b] < 0 ? 0 : to_int(l->nu[b], 1e6);
    /* Only the terms whose mu moved need their best cells again. */
    for (int ti = 0; ti < c->nt; ti++) {
        if (!l->all_dirty && !l->tdirty[ti]) continue;
        l->tdirty[ti] = 0;
        const fbi_term *t = &c->t[ti];
        for (int y = 0; y < t->nb; y++) l->imu[l->muoff[ti] + y] = to_int(l->mu[l->muoff[ti] + y], 1e9);
        const int64_t *mu = l->imu + l->muoff[ti];
        for (int x = 0; x < t->na; x++) {
            int64_t bv = INT64_MAX;
            int arg = -1;
            const int64_t *row = t->cost + (size_t)x * (size_t)t->nb;
            for (int y = 0; y < t->nb; y++) {
                if (row[y] == FBI_FORBID) continue;
                int64_t v = row[y] + mu[y];
                if (v < bv) { bv = v; arg = y; }
            }
            l->tbest[l->aoff[ti] + x] = bv;
            l->targ[l->aoff[ti] + x] = arg;
        }
    }
    l->all_dirty = 0;
    fbi_i128 sum = 0;
    for (int w = 0; w < c->nw; w++) {
        int64_t fac = FEMTO;
        for (int k = c->wb_start[w]; k < c->wb_start[w + 1]; k++) fac += l->inu[c->wb[k]];
        fbi_i128 bv = 0;
        int arg = -1;
        const int *wt = c->wt + c->wt_start[w];
        int nwt = c->wt_start[w + 1] - c->wt_start[w];
        int64_t dem = c->demand[w];
        /* Region-based terms only: their part depends on the region class
         * of the option; sum it once per class. */
        int bycls = nwt > 0 && c->wregion_terms[w];
        if (bycls)
            for (int k = 0; k < c->wncls[w]; k++) {
                int64_t tn = 0;
                for (int q = 0; q < nwt; q++) {
                    int ti = wt[q] >> 1;
                    if (wt[q] & 1) {
                        tn -= l->imu[l->muoff[ti] + k];
                    } else {
                        int64_t tb = l->tbest[l->aoff[ti] + k];
                        if (tb == INT64_MAX) { tn = INT64_MAX; break; }
                        tn += tb;
                    }
                }
                l->clsum[k] = tn;
            }
        for (int i = c->ostart[w]; i < c->ostart[w + 1]; i++) {
            if (!c->alive[i]) { if (l->oval) l->oval[i] = KINF; continue; }
            int li = i - c->ostart[w];
            int o = c->ooffer[i];
            /* lambda x weight in femto; the rest in nano-USD (int64 is
             * plenty for one option), then combined in 128 bits. */
            fbi_i128 lw = 0;
            for (int k = c->og_start[o]; k < c->og_start[o + 1]; k++) {
                int g = c->og[k];
                lw += (fbi_i128)l->ilam[g] * (c->gmeasure[g] == FBI_MEASURE_COUNT ? FBI_VCPU : dem);
            }
            int64_t tn = 0;
            int ok = 1;
            if (bycls) {
                tn = l->clsum[c->ocls[i]];
                if (tn == INT64_MAX) ok = 0;
            } else
            for (int k = 0; k < nwt; k++) {
                int ti = wt[k] >> 1;
                const fbi_term *t = &c->t[ti];
                if (wt[k] & 1) {
                    tn -= l->imu[l->muoff[ti] + t->cb[li]];
                } else {
                    int64_t tb = l->tbest[l->aoff[ti] + t->ca[li]];
                    if (tb == INT64_MAX) { ok = 0; break; }
                    tn += tb;
                }
            }
            if (!ok) { if (l->oval) l->oval[i] = KINF; continue; }
            fbi_i128 v = (fbi_i128)c->ocost[i] * fac + lw + (fbi_i128)tn * FEMTO;
            if (l->oval) l->oval[i] = v;
            if (arg < 0 || v < bv) { bv = v; arg = li; }
        }
        if (arg < 0) return INT64_MIN;
        l->x[w] = arg;
        sum += bv;
    }
    for (int g = 0; g < c->ng; g++) sum -= (fbi_i128)l->ilam[g] * c->gcap[g];
    for (int b = 0; b < c->nb; b++) sum -= (fbi_i128)l->inu[b] * c->bcap[b];
    return femto_floor(sum);
}

/* Keeps the multipliers that gave the best bound. */
static void keep_best(fbi_lagr *l, fbi_money v)
{
    const fbi_cmp *c = l->c;
    l->best = v;
    memcpy(l->blam, l->lam, (size_t)c->ng * sizeof(double));
    memcpy(l->bnu, l->nu, (size_t)c->nb * sizeof(double));
    memcpy(l->bmu, l->mu, (size_t)l->nmu * sizeof(double));
}

/* Weight of the previous direction in the next one (fbi_lagr_run). */
#define DEFLECT 0.7

fbi_money fbi_lagr_run(fbi_lagr *l, fbi_money ub, double deadline, int max_iter, int verbose)
{
    const fbi_cmp *c = l->c;
    double *gl = l->g, *gn = l->g + c->ng + 1, *gm = gn + c->nb + 1;
    double *dl = l->dir, *dn = l->dir + c->ng + 1, *dm = dn + c->nb + 1;
    /* Each call starts from the best multipliers: no direction yet. */
    memset(l->dir, 0, ((size_t)c->ng + 1 + (size_t)c->nb + 1 + (size_t)l->nmu) * sizeof(double));
    /* Start from the best multipliers known. */
    if (l->best > INT64_MIN + 1) {
        memcpy(l->lam, l->blam, (size_t)c->ng * sizeof(double));
        memcpy(l->nu, l->bnu, (size_t)c->nb * sizeof(double));
        memcpy(l->mu, l->bmu, (size_t)l->nmu * sizeof(double));
        l->all_dirty = 1;
    }
    fbi_money ub0 = ub;
    for (int it = 0; it < max_iter; it++) {
        if (it > 0 && over(l, deadline)) break;
        ub = cur_ub(l, ub0);
        fbi_money v = evaluate(l);
        if (v == INT64_MIN) return INT64_MIN;
        l->iters++;
        if (v > l->best) {
            if (l->best > INT64_MIN + 1 && (double)(v - l->best) > 1e-5 * fabs((double)v)) l->noimp = 0;
            else l->noimp++;
            keep_best(l, v);
        } else {
            l->noimp++;
        }
        if (l->noimp >= 20) {
            l->theta *= 0.5;
            l->noimp = 0;
        }
        if (enough(l, l->best, ub)) break;
        if (l->theta < 1e-5) break;
        /* Subgradient at x. */
        memset(gl, 0, (size_t)c->ng * sizeof(double));
        memset(gn, 0, (size_t)c->nb * sizeof(double));
        memset(gm, 0, (size_t)l->nmu * sizeof(double));
        for (int w = 0; w < c->nw; w++) {
            int i = c->ostart[w] + l->x[w], o = c->ooffer[i];
            for (int k = c->og_start[o]; k < c->og_start[o + 1]; k++)
                gl[c->og[k]] += (double)fbi_gweight(c, c->og[k], w);
            for (int k = c->wb_start[w]; k < c->wb_start[w + 1]; k++) gn[c->wb[k]] += (double)c->ocost[i];
        }
        double norm = 0;
        for (int g = 0; g < c->ng; g++) {
            gl[g] = (gl[g] - (double)c->gcap[g]) / 1e6;
            if (l->lam[g] <= 0 && gl[g] < 0) gl[g] = 0;
            norm += gl[g] * gl[g];
        }
        for (int b = 0; b < c->nb; b++) {
            gn[b] = (gn[b] - (double)c->bcap[b]) / (double)(c->bcap[b] > 0 ? c->bcap[b] : FBI_USD);
            if (l->nu[b] <= 0 && gn[b] < 0) gn[b] = 0;
            norm += gn[b] * gn[b];
        }
        for (int ti = 0; ti < c->nt; ti++) {
            const fbi_term *t = &c->t[ti];
            int xa = l->x[t->a], xb = l->x[t->b];
            int y = l->targ[l->aoff[ti] + t->ca[xa]];
            int yb = t->cb[xb];
            if (y != yb) {
                gm[l->muoff[ti] + y] += 1;
                gm[l->muoff[ti] + yb] -= 1;
                norm += 2;
            }
        }
        if (norm <= 0) break; /* x satisfies the relaxed rows: L is optimal */
        /* Deflected subgradient (Camerini, Fratta and Maffioli): the step
         * goes along the subgradient plus DEFLECT times the last step's
         * direction, projected where a multiplier sits at zero. It damps
         * the zig-zag across the ridges of L: at 1000x500 the bound after
         * 200-400 steps is 0.4-3.9% higher (bench/README-solver.md, Stop 26). */
        norm = 0;
        for (int g = 0; g < c->ng; g++) {
            dl[g] = gl[g] + DEFLECT * dl[g];
            if (l->lam[g] <= 0 && dl[g] < 0) dl[g] = 0;
            norm += dl[g] * dl[g];
        }
        for (int b = 0; b < c->nb; b++) {
            dn[b] = gn[b] + DEFLECT * dn[b];
            if (l->nu[b] <= 0 && dn[b] < 0) dn[b] = 0;
            norm += dn[b] * dn[b];
        }
        for (int k = 0; k < l->nmu; k++) {
            dm[k] = gm[k] + DEFLECT * dm[k];
            /* A term's entries are whole numbers decaying by DEFLECT:
             * below 1e-3 they end (about 20 steps), so its cells are not
             * re-priced forever (evaluate() re-prices moved terms only). */
            if (dm[k] > -1e-3 && dm[k] < 1e-3) dm[k] = 0;
            norm += dm[k] * dm[k];
        }
        /* The projection cancelled every entry (the last direction pushed
         * against the subgradient where a multiplier is at zero): the
         * direction is now zero, so the next step is the plain subgradient. */
        if (norm <= 0) continue;
        double target = ub >= 0 ? (double)ub : (double)l->best + fabs((double)l->best) * 0.05 + 1e9;
        double step = l->theta * (target - (double)v) / 1e9 / norm;
        if (step <= 0) step = 1e-9;
        for (int g = 0; g < c->ng; g++) {
            l->lam[g] += step * dl[g];
            if (l->lam[g] < 0) l->lam[g] = 0;
        }
        for (int b = 0; b < c->nb; b++) {
            /* nu scaled by the budget: the subgradient above is relative. */
            l->nu[b] += step * dn[b] / ((double)(c->bcap[b] > 0 ? c->bcap[b] : FBI_USD) / 1e9);
            if (l->nu[b] < 0) l->nu[b] = 0;
        }
        for (int ti = 0; ti < c->nt; ti++) {
            int any = 0;
            for (int k = l->muoff[ti]; k < l->muoff[ti] + c->t[ti].nb; k++)
                if (dm[k] != 0) { l->mu[k] += step * dm[k]; any = 1; }
            if (any) l->tdirty[ti] = 1;
        }
    }
    if (verbose)
        fprintf(stderr, "lagrangian: %ld iterations, bound %.6f, theta %.2g\n", l->iters,
                (double)l->best / 1e9, l->theta);
    return l->best;
}

/* Per-option Lagrangian values (USD, double) at the current multipliers;
 * +inf for options the relaxation does not allow. */
static void option_values(fbi_lagr *l)
{
    const fbi_cmp *c = l->c;
    double *tb = fbi_xmalloc(((size_t)l->nta + 1) * sizeof(double));
    for (int ti = 0; ti < c->nt; ti++) {
        const fbi_term *t = &c->t[ti];
        const double *mu = l->mu + l->muoff[ti];
        for (int x = 0; x < t->na; x++) {
            double bv = INFINITY;
            const int64_t *row = t->cost + (size_t)x * (size_t)t->nb;
            for (int y = 0; y < t->nb; y++)
                if (row[y] != FBI_FORBID && (double)row[y] / 1e9 + mu[y] < bv) bv = (double)row[y] / 1e9 + mu[y];
            tb[l->aoff[ti] + x] = bv;
        }
    }
    for (int w = 0; w < c->nw; w++) {
        double fac = 1.0;
        for (int k = c->wb_start[w]; k < c->wb_start[w + 1]; k++) fac += l->nu[c->wb[k]];
        for (int i = c->ostart[w]; i < c->ostart[w + 1]; i++) {
            if (!c->alive[i]) { l->val[i] = INFINITY; continue; }
            int li = i - c->ostart[w], o = c->ooffer[i];
            double v = (double)c->ocost[i] / 1e9 * fac;
            for (int k = c->og_start[o]; k < c->og_start[o + 1]; k++)
                v += l->lam[c->og[k]] * (double)fbi_gweight(c, c->og[k], w) / 1e6;
            for (int k = c->wt_start[w]; k < c->wt_start[w + 1]; k++) {
                int ti = c->wt[k] >> 1;
                const fbi_term *t = &c->t[ti];
                if (c->wt[k] & 1) v -= l->mu[l->muoff[ti] + t->cb[li]];
                else v += tb[l->aoff[ti] + t->ca[li]];
            }
            l->val[i] = v;
        }
    }
    free(tb);
}

typedef struct bp { double t, m; } bp;
static int bp_cmp(const void *x, const void *y)
{
    const bp *a = x, *b = y;
    return (a->t > b->t) - (a->t < b->t);
}

/* Coordinate ascent on the capacity multipliers: for one group at a time,
 * the exact maximiser of L along lambda_g (the price at which the demand
 * that still prefers the group's offers drops to its capacity). L never
 * decreases. Then the exact evaluation certifies the bound. */
fbi_money fbi_lagr_ascent(fbi_lagr *l, double deadline, int sweeps, int verbose)
{
    const fbi_cmp *c = l->c;
    if (l->best > INT64_MIN + 1) {
        memcpy(l->lam, l->blam, (size_t)c->ng * sizeof(double));
        memcpy(l->nu, l->bnu, (size_t)c->nb * sizeof(double));
        memcpy(l->mu, l->bmu, (size_t)l->nmu * sizeof(double));
        l->all_dirty = 1;
    }
    option_values(l);
    bp *pts = fbi_xmalloc(((size_t)c->nw + 1) * sizeof(bp));
    int *ws = fbi_xmalloc(((size_t)c->nw + 1) * sizeof(int));
    int stampv = 0;
    for (int s = 0; s < sweeps && !over(l, deadline); s++) {
        double moved = 0;
        for (int g = 0; g < c->ng; g++) {
            stampv++;
            int nws = 0;
            for (int k = l->gs[g]; k < l->gs[g + 1]; k++) {
                int i = l->gopt[k], w = l->wl[i];
                l->ostamp[i] = stampv;
                if (l->stamp[w] != stampv) {
                    l->stamp[w] = stampv;
                    l->bw[w] = INFINITY;
                    ws[nws++] = w;
                }
                double v = l->val[i] - l->lam[g] * (double)fbi_gweight(c, g, w) / 1e6;
                if (v < l->bw[w]) l->bw[w] = v;
            }
            double mass_inf = 0, capg = (double)c->gcap[g] / 1e6;
            int np = 0;
            for (int k = 0; k < nws; k++) {
                int w = ws[k];
                double a = INFINITY;
                for (int i = c->ostart[w]; i < c->ostart[w + 1]; i++)
                    if (l->ostamp[i] != stampv && l->val[i] < a) a = l->val[i];
                double m = (double)fbi_gweight(c, g, w) / 1e6;
                if (m <= 0 || isinf(l->bw[w])) continue;
                if (isinf(a)) { mass_inf += m; continue; }
                double t = (a - l->bw[w]) / m;
                if (t <= 0) continue; /* prefers elsewhere even at price 0 */
                pts[np].t = t;
                pts[np].m = m;
                np++;
            }
            double mass = mass_inf;
            for (int k = 0; k < np; k++) mass += pts[k].m;
            double lam = 0;
            if (mass > capg + 1e-12) {
                qsort(pts, (size_t)np, sizeof *pts, bp_cmp);
                lam = np ? pts[np - 1].t : 0;
                for (int k = 0; k < np; k++) {
                    mass -= pts[k].m;
                    if (mass <= capg + 1e-12) { lam = pts[k].t; break; }
                }
                if (mass_inf > capg + 1e-12) lam = l->lam[g] * 2 + 1; /* only the group can hold them */
            }
            double d = lam - l->lam[g];
            if (d != 0) {
                for (int k = l->gs[g]; k < l->gs[g + 1]; k++) {
                    int i = l->gopt[k];
                    l->val[i] += d * (double)fbi_gweight(c, g, l->wl[i]) / 1e6;
                }
                l->lam[g] = lam;
                moved += fabs(d);
            }
        }
        fbi_money v = evaluate(l);
        if (v == INT64_MIN) { free(pts); free(ws); return INT64_MIN; }
        if (v > l->best) keep_best(l, v);
        if (verbose) fprintf(stderr, "ascent: sweep %d bound %.6f\n", s, (double)v / 1e9);
        if (moved < 1e-9) break;
    }
    free(pts);
    free(ws);
    return l->best;
}


/* ---- the knapsack Lagrangian ----
 * Relaxing the assignment rows (multipliers u_w, free) instead of the
 * capacities leaves one 0-1 knapsack per offer with its own capacity:
 *   L(u) = sum_w u_w + sum_o min { sum_w v'_wo x_wo : sum_w d_w x_wo <= cap_o }
 *          - sum_{other groups} lambda_g cap_g - sum_b nu_b B_b
 * with v'_wo = (the option's value above without its own offer's lambda) - u_w.
 * The pair terms keep the relaxation of the capacity Lagrangian (their
 * a-side rows are dualised with alpha = -tbest, so the z part is 0). The
 * knapsacks are solved exactly by dynamic programming (or bounded below by
 * their LP when too large), so this bound is at least the capacity
 * Lagrangian's at the same lambda, and usually above the LP: it sees that
 * items do not split. */

typedef struct kitem { int i, w; int64_t wt; fbi_i128 v; } kitem;
static int kitem_ratio(const void *x, const void *y)
{
    const kitem *a = x, *b = y;
    /* most negative value per unit of weight first: a.v/a.wt < b.v/b.wt */
    fbi_i128 l = a->v * (b->wt ? b->wt : 1), r = b->v * (a->wt ? a->wt : 1);
    return (l > r) - (l < r);
}

static int64_t gcd64(int64_t a, int64_t b)
{
    while (b) { int64_t t = a % b; a = b; b = t; }
    return a;
}

/* Counts an item taken: per workload in cnt[] and per option in ysel[]
 * (either may be NULL). */
static void taken(int *cnt, unsigned char *ysel, const kitem *it)
{
    if (cnt) cnt[it->w]++;
    if (ysel) ysel[it->i] = 1;
}

/* Minimum of the knapsack (a lower bound on it when solved by LP); marks
 * the items taken (taken()). */
static fbi_i128 knapsack(int *cnt, unsigned char *ysel, kitem *it, int n, int64_t cap, unsigned char **take,
                         size_t *takecap, fbi_i128 **dp, size_t *dpcap)
{
    fbi_i128 sum = 0;
    int m = 0;
    int64_t unit = 0;
    for (int k = 0; k < n; k++) {
        if (it[k].wt == 0) { sum += it[k].v; taken(cnt, ysel, &it[k]); continue; }
        unit = gcd64(unit, it[k].wt);
        it[m++] = it[k];
    }
    if (m == 0) return sum;
    int64_t C = cap / unit;
    if ((double)m * (double)(C + 1) <= 400000.0) {
        size_t need = (size_t)(C + 1);
        if (need > *dpcap) { *dpcap = need; *dp = fbi_xrealloc(*dp, need * sizeof(fbi_i128)); }
        size_t tneed = (size_t)m * need;
        if (tneed > *takecap) { *takecap = tneed; *take = fbi_xrealloc(*take, tneed); }
        memset(*take, 0, tneed);
        for (size_t c2 = 0; c2 < need; c2++) (*dp)[c2] = 0;
        for (int k = 0; k < m; k++) {
            int64_t wk = it[k].wt / unit;
            for (int64_t c2 = C; c2 >= wk; c2--) {
                fbi_i128 cand = (*dp)[c2 - wk] + it[k].v;
                if (cand < (*dp)[c2]) { (*dp)[c2] = cand; (*take)[(size_t)k * need + (size_t)c2] = 1; }
            }
        }
        sum += (*dp)[C];
        int64_t c2 = C;
        for (int k = m - 1; k >= 0; k--)
            if ((*take)[(size_t)k * need + (size_t)c2]) { taken(cnt, ysel, &it[k]); c2 -= it[k].wt / unit; }
        return sum;
    }
    /* LP bound (Dantzig): whole items by ratio, then a fraction, rounded down. */
    qsort(it, (size_t)m, sizeof *it, kitem_ratio);
    int64_t left = C * unit;
    for (int k = 0; k < m; k++) {
        if (it[k].wt <= left) {
            sum += it[k].v;
            left -= it[k].wt;
            taken(cnt, ysel, &it[k]);
        } else {
            fbi_i128 num = it[k].v * left, q = num / it[k].wt;
            if (num % it[k].wt != 0 && num < 0) q--;
            sum += q;
            break;
        }
    }
    return sum;
}

/* Evaluates the knapsack bound at the current u (exact, femto). */
static fbi_money knap_eval(fbi_lagr *l, kitem **items, size_t *icap, unsigned char **take, size_t *takecap,
                           fbi_i128 **dp, size_t *dpcap)
{
    const fbi_cmp *c = l->c;
    fbi_i128 sum = 0;
    memset(l->cnt, 0, (size_t)c->nw * sizeof(int));
    for (int w = 0; w < c->nw; w++) sum += l->u[w];
    /* options by offer: walk the group lists of own groups, and collect the
     * options on unlimited offers per workload. */
    for (int w = 0; w < c->nw; w++)
        for (int i = c->ostart[w]; i < c->ostart[w + 1]; i++) {
            int o = c->ooffer[i];
            if (l->own[o] >= 0 || l->oval[i] >= KINF) continue;
            fbi_i128 v = l->oval[i] - l->u[w];
            if (v < 0) { sum += v; l->cnt[w]++; }
        }
    for (int g = 0; g < c->ng; g++) {
        if (c->gowner[g] < 0) continue;
        int n = 0;
        for (int k = l->gs[g]; k < l->gs[g + 1]; k++) {
            int i = l->gopt[k], w = l->wl[i];
            if (l->oval[i] >= KINF) continue;
            fbi_i128 v = l->oval[i] - (fbi_i128)l->ilam[g] * c->demand[w] - l->u[w];
            if (v >= 0) continue;
            if ((size_t)n >= *icap) { *icap = *icap ? *icap * 2 : 256; *items = fbi_xrealloc(*items, *icap * sizeof(kitem)); }
            (*items)[n].i = i;
            (*items)[n].w = w;
            (*items)[n].wt = c->demand[w];
            (*items)[n].v = v;
            n++;
        }
        sum += knapsack(l->cnt, NULL, *items, n, c->gcap[g], take, takecap, dp, dpcap);
    }
    for (int g = 0; g < c->ng; g++)
        if (c->gowner[g] < 0) sum -= (fbi_i128)l->ilam[g] * c->gcap[g];
    for (int b = 0; b < c->nb; b++) sum -= (fbi_i128)l->inu[b] * c->bcap[b];
    return femto_floor(sum);
}

fbi_money fbi_lagr_knap(fbi_lagr *l, fbi_money ub, double deadline, int max_iter, int verbose)
{
    const fbi_cmp *c = l->c;
    int nopt = c->ostart[c->nw];
    if (!l->oval) {
        l->oval = fbi_xmalloc(((size_t)nopt + 1) * sizeof(fbi_i128));
        l->u = fbi_xmalloc(((size_t)c->nw + 1) * sizeof(fbi_i128));
        l->du = fbi_xcalloc((size_t)c->nw + 1, sizeof(double));
        l->bdu = fbi_xcalloc((size_t)c->nw + 1, sizeof(double));
        l->cnt = fbi_xcalloc((size_t)c->nw + 1, sizeof(int));
        l->own = fbi_xmalloc(((size_t)c->no + 1) * sizeof(int));
        for (int o = 0; o < c->no; o++) l->own[o] = -1;
        for (int g = 0; g < c->ng; g++) if (c->gowner[g] >= 0) l->own[c->gowner[g]] = g;
        l->kbest = INT64_MIN + 1;
        l->ktheta = 0.5;
    }
    /* The capacity Lagrangian's best multipliers fix lambda, nu and mu. */
    if (l->best > INT64_MIN + 1) {
        memcpy(l->lam, l->blam, (size_t)c->ng * sizeof(double));
        memcpy(l->nu, l->bnu, (size_t)c->nb * sizeof(double));
        memcpy(l->mu, l->bmu, (size_t)l->nmu * sizeof(double));
        l->all_dirty = 1;
    }
    fbi_money base = evaluate(l);
    if (base == INT64_MIN) return INT64_MIN;
    /* u starts at each workload's best option value: L(u) >= L_cap(lambda). */
    fbi_i128 *u0 = fbi_xmalloc(((size_t)c->nw + 1) * sizeof(fbi_i128));
    for (int w = 0; w < c->nw; w++) {
        fbi_i128 m = KINF;
        for (int i = c->ostart[w]; i < c->ostart[w + 1]; i++) if (l->oval[i] < m) m = l->oval[i];
        u0[w] = m;
    }
    kitem *items = NULL;
    size_t icap = 0, takecap = 0, dpcap = 0;
    unsigned char *take = NULL;
    fbi_i128 *dp = NULL;
    /* u0 moved with lambda: the adjustments start again from 0. */
    memset(l->du, 0, (size_t)c->nw * sizeof(double));
    memset(l->bdu, 0, (size_t)c->nw * sizeof(double));
    fbi_money kb = INT64_MIN + 1;
    int noimp = 0;
    double theta = l->ktheta;
    fbi_money ub0 = ub;
    for (int it = 0; it < max_iter; it++) {
        if (it > 0 && over(l, deadline)) break;
        ub = cur_ub(l, ub0);
        for (int w = 0; w < c->nw; w++) l->u[w] = u0[w] + (fbi_i128)to_int(l->du[w], 1e15);
        fbi_money v = knap_eval(l, &items, &icap, &take, &takecap, &dp, &dpcap);
        if (v > kb) {
            if (kb > INT64_MIN + 1 && (double)(v - kb) > 1e-5 * fabs((double)v)) noimp = 0;
            else noimp++;
            kb = v;
            memcpy(l->bdu, l->du, (size_t)c->nw * sizeof(double));
        } else {
            noimp++;
        }
        if (noimp >= 10) { theta *= 0.5; noimp = 0; }
        if (enough(l, kb, ub) || theta < 1e-4) break;
        double norm = 0;
        for (int w = 0; w < c->nw; w++) norm += (double)(1 - l->cnt[w]) * (double)(1 - l->cnt[w]);
        if (norm <= 0) break;
        double target = ub >= 0 ? (double)ub : (double)kb + fabs((double)kb) * 0.02 + 1e9;
        double step = theta * (target - (double)v) / 1e9 / norm;
        for (int w = 0; w < c->nw; w++) l->du[w] += step * (double)(1 - l->cnt[w]);
    }
    l->ktheta = theta;
    free(u0);
    free(items);
    free(take);
    free(dp);
    if (kb > l->kbest) l->kbest = kb;
    if (verbose)
        fprintf(stderr, "knapsack lagrangian: bound %.6f (capacity lagrangian %.6f)\n", (double)l->kbest / 1e9,
                (double)base / 1e9);
    return l->kbest;
}

/* ---- the decomposition Lagrangian ----
 * A copy y of the assignment x (Lagrangian decomposition): every offer's
 * own capacity acts on y (one exact 0-1 knapsack per offer, as above) and
 * the pair terms act on x, kept exactly on a spanning forest of the graph
 * of plain terms (region classes, nothing forbidden) by dynamic
 * programming over region classes; the copies are tied by multipliers v_i
 * (x_i = y_i, free):
 *   L(v) = min_x [ sum_i (a_i - v_i) x_i + sum_{T in forest} cost_T(x) ]
 *        + sum_o min_y { sum_{i on o} v_i y_i : sum d_w y_i <= cap_o }
 *        - sum_{other groups} lambda_g cap_g - sum_b nu_b B_b
 * a_i is the option's value in the capacity Lagrangian without its own
 * offer's lambda and without the forest's terms (the terms outside the
 * forest stay relaxed by mu). For any v this is a lower bound (take y = x
 * for a feasible plan). It sees both that a workload does not split over a
 * full offer and that its linked neighbours cannot follow both halves for
 * free, which neither the capacity nor the knapsack Lagrangian sees: this
 * is where egress-heavy instances with tight quotas lose their bound.
 * Every option has a copy (on an offer without its own capacity y is free).
 * Started at v_i = -lambda_o d_w (the capacity Lagrangian's prices), it is
 * never below the capacity Lagrangian at those prices; started from the
 * knapsack Lagrangian's u (v_i = its item value - u_w), never below that
 * one: it starts from the better. */
typedef struct fbi_decomp {
    int *parent, *pterm;   /* per workload: forest parent (-1: root) and term */
    int *order;            /* workloads, parents before children */
    int *coff;             /* per workload: offset of its classes */
    int *kpoff;            /* per non-root workload: offset in karg */
    fbi_i128 *own, *f;     /* per class: best option value, DP value */
    int *oarg, *karg;      /* per class: its option; per child and parent class */
    fbi_i128 *a;           /* per option: base value (femto), KINF excluded */
    double *dv, *bdv;      /* per option: multiplier (USD), best */
    int64_t *v;            /* rounded, nano-USD */
    unsigned char *xsel, *ysel;
    unsigned char *owned;  /* per option: on an offer with its own capacity */
    int *kch;              /* per workload: chosen class */
    int ntree;
    fbi_money best;
    double theta;
} fbi_decomp;

static int uf_find(int *uf, int x)
{
    while (uf[x] != x) { uf[x] = uf[uf[x]]; x = uf[x]; }
    return x;
}

typedef struct tw { double w; int t; } tw;
static int tw_cmp(const void *x, const void *y)
{
    const tw *a = x, *b = y;
    if (a->w != b->w) return a->w > b->w ? -1 : 1;
    return a->t - b->t;
}

/* The forest (heaviest terms first: they matter most) and the arrays. */
static fbi_decomp *decomp_new(const fbi_cmp *c)
{
    fbi_decomp *d = fbi_xcalloc(1, sizeof *d);
    int nopt = c->ostart[c->nw];
    int *uf = fbi_xmalloc(((size_t)c->nw + 1) * sizeof(int));
    for (int w = 0; w < c->nw; w++) uf[w] = w;
    tw *ts = fbi_xmalloc(((size_t)c->nt + 1) * sizeof(tw));
    int nts = 0;
    for (int ti = 0; ti < c->nt; ti++) {
        const fbi_term *t = &c->t[ti];
        if (t->by_offer || t->has_forbid) continue;
        double s = 0;
        for (int k = 0; k < t->na * t->nb; k++) s += (double)t->cost[k];
        ts[nts].w = s;
        ts[nts++].t = ti;
    }
    qsort(ts, (size_t)nts, sizeof *ts, tw_cmp);
    unsigned char *tin = fbi_xcalloc((size_t)c->nt + 1, 1);
    for (int k = 0; k < nts; k++) {
        const fbi_term *t = &c->t[ts[k].t];
        int ra = uf_find(uf, t->a), rb = uf_find(uf, t->b);
        if (ra == rb) continue;
        uf[ra] = rb;
        tin[ts[k].t] = 1;
    }
    free(ts);
    free(uf);
    /* Breadth first from every root: parents before children. */
    d->parent = fbi_xmalloc(((size_t)c->nw + 1) * sizeof(int));
    d->pterm = fbi_xmalloc(((size_t)c->nw + 1) * sizeof(int));
    d->order = fbi_xmalloc(((size_t)c->nw + 1) * sizeof(int));
    unsigned char *seen = fbi_xcalloc((size_t)c->nw + 1, 1);
    int n = 0;
    for (int r = 0; r < c->nw; r++) {
        if (seen[r]) continue;
        seen[r] = 1;
        d->parent[r] = -1;
        d->pterm[r] = -1;
        d->order[n++] = r;
        d->ntree++;
        for (int q = n - 1; q < n; q++) {
            int w = d->order[q];
            for (int k = c->wt_start[w]; k < c->wt_start[w + 1]; k++) {
                int ti = c->wt[k] >> 1;
                if (!tin[ti]) continue;
                const fbi_term *t = &c->t[ti];
                int u = (c->wt[k] & 1) ? t->a : t->b;
                if (seen[u]) continue;
                seen[u] = 1;
                d->parent[u] = w;
                d->pterm[u] = ti;
                d->order[n++] = u;
            }
        }
    }
    free(seen);
    free(tin);
    d->coff = fbi_xmalloc(((size_t)c->nw + 1) * sizeof(int));
    d->kpoff = fbi_xmalloc(((size_t)c->nw + 1) * sizeof(int));
    size_t ncls = 0, nk = 0;
    for (int w = 0; w < c->nw; w++) {
        d->coff[w] = (int)ncls;
        ncls += (size_t)c->wncls[w];
        d->kpoff[w] = (int)nk;
        if (d->parent[w] >= 0) nk += (size_t)c->wncls[d->parent[w]];
    }
    d->own = fbi_xmalloc((ncls + 1) * sizeof(fbi_i128));
    d->f = fbi_xmalloc((ncls + 1) * sizeof(fbi_i128));
    d->oarg = fbi_xmalloc((ncls + 1) * sizeof(int));
    d->karg = fbi_xmalloc((nk + 1) * sizeof(int));
    d->a = fbi_xmalloc(((size_t)nopt + 1) * sizeof(fbi_i128));
    d->dv = fbi_xcalloc((size_t)nopt + 1, sizeof(double));
    d->bdv = fbi_xcalloc((size_t)nopt + 1, sizeof(double));
    d->v = fbi_xcalloc((size_t)nopt + 1, sizeof(int64_t));
    d->xsel = fbi_xcalloc((size_t)nopt + 1, 1);
    d->ysel = fbi_xcalloc((size_t)nopt + 1, 1);
    d->owned = fbi_xcalloc((size_t)nopt + 1, 1);
    d->kch = fbi_xcalloc((size_t)c->nw + 1, sizeof(int));
    d->best = INT64_MIN + 1;
    d->theta = 1.0;
    return d;
}

static void decomp_free(fbi_decomp *d)
{
    if (!d) return;
    free(d->parent); free(d->pterm); free(d->order); free(d->coff); free(d->kpoff);
    free(d->own); free(d->f); free(d->oarg); free(d->karg); free(d->a);
    free(d->dv); free(d->bdv); free(d->v); free(d->xsel); free(d->ysel); free(d->kch); free(d->owned);
    free(d);
}

/* Is term ti in the forest? (A forest term is some workload's pterm.) */
static int in_forest(const fbi_decomp *d, const fbi_term *t, int ti)
{
    return d->pterm[t->a] == ti || d->pterm[t->b] == ti;
}

/* a_i at the capacity Lagrangian's current multipliers (evaluate() has
 * run: ilam, inu, imu and tbest are set). */
static void decomp_base(fbi_lagr *l, fbi_decomp *d)
{
    const fbi_cmp *c = l->c;
    for (int w = 0; w < c->nw; w++) {
        int64_t fac = FEMTO;
        for (int k = c->wb_start[w]; k < c->wb_start[w + 1]; k++) fac += l->inu[c->wb[k]];
        for (int i = c->ostart[w]; i < c->ostart[w + 1]; i++) {
            d->a[i] = KINF;
            if (!c->alive[i]) continue;
            int li = i - c->ostart[w], o = c->ooffer[i];
            fbi_i128 lw = 0;
            for (int k = c->og_start[o]; k < c->og_start[o + 1]; k++) {
                int g = c->og[k];
                if (c->gowner[g] >= 0) continue; /* the knapsack side holds it */
                lw += (fbi_i128)l->ilam[g] * fbi_gweight(c, g, w);
            }
            int64_t tn = 0;
            int ok = 1;
            for (int k = c->wt_start[w]; k < c->wt_start[w + 1] && ok; k++) {
                int ti = c->wt[k] >> 1;
                const fbi_term *t = &c->t[ti];
                if (in_forest(d, t, ti)) continue;
                if (c->wt[k] & 1) {
                    tn -= l->imu[l->muoff[ti] + t->cb[li]];
                } else {
                    int64_t tb = l->tbest[l->aoff[ti] + t->ca[li]];
                    if (tb == INT64_MAX) ok = 0;
                    else tn += tb;
                }
            }
            if (ok) d->a[i] = (fbi_i128)c->ocost[i] * fac + lw + (fbi_i128)tn * FEMTO;
        }
    }
}

/* The x side: min over assignments of the forest problem; marks xsel.
 * Returns KINF when some tree has no allowed assignment. */
static fbi_i128 decomp_x(const fbi_cmp *c, fbi_decomp *d)
{
    for (int w = 0; w < c->nw; w++) {
        fbi_i128 *own = d->own + d->coff[w];
        int *arg = d->oarg + d->coff[w];
        for (int k = 0; k < c->wncls[w]; k++) { own[k] = KINF; arg[k] = -1; }
        for (int i = c->ostart[w]; i < c->ostart[w + 1]; i++) {
            d->xsel[i] = 0;
            if (d->a[i] >= KINF) continue;
            fbi_i128 v = d->a[i] - (fbi_i128)d->v[i] * FEMTO;
            int k = c->ocls[i];
            if (v < own[k]) { own[k] = v; arg[k] = i; }
        }
        memcpy(d->f + d->coff[w], own, (size_t)c->wncls[w] * sizeof(fbi_i128));
    }
    /* Children into parents, deepest first. */
    for (int q = c->nw - 1; q >= 0; q--) {
        int w = d->order[q], p = d->parent[w];
        if (p < 0) continue;
        const fbi_term *t = &c->t[d->pterm[w]];
        int wa = t->a == w; /* w is the a side of the term */
        const fbi_i128 *fw = d->f + d->coff[w];
        fbi_i128 *fp = d->f + d->coff[p];
        int *karg = d->karg + d->kpoff[w];
        for (int kp = 0; kp < c->wncls[p]; kp++) {
            fbi_i128 m = KINF;
            int am = -1;
            if (fp[kp] < KINF)
                for (int k = 0; k < c->wncls[w]; k++) {
                    if (fw[k] >= KINF) continue;
                    int64_t tc = wa ? t->cost[(size_t)k * (size_t)t->nb + (size_t)kp]
                                    : t->cost[(size_t)kp * (size_t)t->nb + (size_t)k];
                    fbi_i128 v = fw[k] + (fbi_i128)tc * FEMTO;
                    if (v < m) { m = v; am = k; }
                }
            karg[kp] = am;
            fp[kp] = (m >= KINF || fp[kp] >= KINF) ? KINF : fp[kp] + m;
        }
    }
    /* Roots: the best class; then the choice top-down (parents first). */
    fbi_i128 sum = 0;
    for (int q = 0; q < c->nw; q++) {
        int w = d->order[q], p = d->parent[w], k = -1;
        if (p < 0) {
            const fbi_i128 *fw = d->f + d->coff[w];
            fbi_i128 m = KINF;
            for (int j = 0; j < c->wncls[w]; j++) if (fw[j] < m) { m = fw[j]; k = j; }
            if (k < 0) return KINF;
            sum += m;
        } else {
            k = d->karg[d->kpoff[w] + d->kch[p]];
        }
        if (k < 0 || d->oarg[d->coff[w] + k] < 0) return KINF; /* cannot happen below KINF */
        d->kch[w] = k;
        d->xsel[d->oarg[d->coff[w] + k]] = 1;
    }
    return sum;
}

/* L(v) exactly (femto, floored to nano-USD); fills xsel and ysel.
 * INT64_MIN when the x side has no assignment (no bound). */
static fbi_money decomp_eval(fbi_lagr *l, fbi_decomp *d, kitem **items, size_t *icap, unsigned char **take,
                             size_t *takecap, fbi_i128 **dp, size_t *dpcap)
{
    const fbi_cmp *c = l->c;
    fbi_i128 sum = decomp_x(c, d);
    if (sum >= KINF) return INT64_MIN;
    memset(d->ysel, 0, (size_t)c->ostart[c->nw]);
    for (int g = 0; g < c->ng; g++) {
        if (c->gowner[g] < 0) {
            sum -= (fbi_i128)l->ilam[g] * c->gcap[g];
            continue;
        }
        int n = 0;
        for (int k = l->gs[g]; k < l->gs[g + 1]; k++) {
            int i = l->gopt[k], w = l->wl[i];
            /* y_i = 0 where x_i must be 0 anyway (excluded options). */
            if (d->a[i] >= KINF || d->v[i] >= 0) continue;
            if ((size_t)n >= *icap) {
                *icap = *icap ? *icap * 2 : 256;
                *items = fbi_xrealloc(*items, *icap * sizeof(kitem));
            }
            (*items)[n].i = i;
            (*items)[n].w = w;
            (*items)[n].wt = c->demand[w];
            (*items)[n].v = (fbi_i128)d->v[i] * FEMTO;
            n++;
        }
        sum += knapsack(NULL, d->ysel, *items, n, c->gcap[g], take, takecap, dp, dpcap);
    }
    for (int i = 0; i < c->ostart[c->nw]; i++)
        if (!d->owned[i] && d->a[i] < KINF && d->v[i] < 0) {
            sum += (fbi_i128)d->v[i] * FEMTO;
            d->ysel[i] = 1;
        }
    for (int b = 0; b < c->nb; b++) sum -= (fbi_i128)l->inu[b] * c->bcap[b];
    return femto_floor(sum);
}

fbi_money fbi_lagr_decomp(fbi_lagr *l, fbi_money ub, double deadline, int max_iter, int verbose)
{
    const fbi_cmp *c = l->c;
    int nopt = c->ostart[c->nw];
    /* Start from the capacity Lagrangian's best multipliers. */
    if (l->best > INT64_MIN + 1) {
        memcpy(l->lam, l->blam, (size_t)c->ng * sizeof(double));
        memcpy(l->nu, l->bnu, (size_t)c->nb * sizeof(double));
        memcpy(l->mu, l->bmu, (size_t)l->nmu * sizeof(double));
        l->all_dirty = 1;
    }
    if (evaluate(l) == INT64_MIN) return INT64_MIN;
    int fresh = !l->dc;
    if (fresh) l->dc = decomp_new(c);
    fbi_decomp *d = l->dc;
    decomp_base(l, d);
    /* Every option has a copy; on an offer without its own capacity y is
     * free (it takes the option when v_i < 0). */
    int knap_ran = l->oval && l->u && l->kbest > INT64_MIN + 1; /* oval: set by evaluate() above */
    fbi_i128 *u0 = fbi_xmalloc(((size_t)c->nw + 1) * sizeof(fbi_i128));
    for (int w = 0; w < c->nw; w++) {
        u0[w] = KINF;
        for (int i = c->ostart[w]; i < c->ostart[w + 1] && knap_ran; i++) if (l->oval[i] < u0[w]) u0[w] = l->oval[i];
    }
    for (int w = 0; w < c->nw; w++)
        for (int i = c->ostart[w]; i < c->ostart[w + 1]; i++) {
            int o = c->ooffer[i], g = -1;
            for (int k = c->og_start[o]; k < c->og_start[o + 1]; k++)
                if (c->gowner[c->og[k]] >= 0) g = c->og[k];
            d->owned[i] = g >= 0;
            /* First call: -lambda_o d_w, never below the capacity
             * Lagrangian at those prices. */
            if (fresh) d->bdv[i] = g < 0 ? 0 : -(l->lam[g] > 0 ? l->lam[g] : 0) * (double)c->demand[w] / 1e6;
            /* From the knapsack Lagrangian's best u: v_i = its item value
             * (the option's value without its own lambda) - u_w; then the
             * y side is that Lagrangian's knapsacks and the x side is at
             * least sum u_w (the forest's exact terms are at least their
             * mu-relaxed parts), so L(v) >= its bound. */
            d->dv[i] = 0;
            if (knap_ran && l->oval[i] < KINF && u0[w] < KINF) {
                fbi_i128 val = l->oval[i] - (g >= 0 ? (fbi_i128)l->ilam[g] * c->demand[w] : 0)
                               - (u0[w] + (fbi_i128)to_int(l->bdu[w], 1e15));
                d->dv[i] = (double)val / 1e15;
            }
        }
    free(u0);
    kitem *items = NULL;
    size_t icap = 0, takecap = 0, dpcap = 0;
    unsigned char *take = NULL;
    fbi_i128 *dp = NULL;
    fbi_money db = INT64_MIN + 1;
    int noimp = 0, it = 0;
    /* Start from the better of the knapsack's multipliers and the best v
     * so far. */
    if (knap_ran) {
        for (int i = 0; i < nopt; i++) d->v[i] = to_int(d->dv[i], 1e9);
        fbi_money vk = decomp_eval(l, d, &items, &icap, &take, &takecap, &dp, &dpcap);
        for (int i = 0; i < nopt; i++) d->v[i] = to_int(d->bdv[i], 1e9);
        fbi_money vb = decomp_eval(l, d, &items, &icap, &take, &takecap, &dp, &dpcap);
        if (vk != INT64_MIN && (vb == INT64_MIN || vk > vb)) memcpy(d->bdv, d->dv, (size_t)nopt * sizeof(double));
    }
    memcpy(d->dv, d->bdv, (size_t)nopt * sizeof(double));
    /* A later call (more time, a better target) starts with fresh steps. */
    double theta = d->theta < 1e-3 ? 0.25 : d->theta;
    for (; it < max_iter; it++) {
        if (it > 0 && over(l, deadline)) break;
        fbi_money ubn = cur_ub(l, ub);
        for (int i = 0; i < nopt; i++) d->v[i] = to_int(d->dv[i], 1e9);
        fbi_money v = decomp_eval(l, d, &items, &icap, &take, &takecap, &dp, &dpcap);
        if (v == INT64_MIN) break;
        if (v > db) {
            if (db > INT64_MIN + 1 && (double)(v - db) > 1e-5 * fabs((double)v)) noimp = 0;
            else noimp++;
            db = v;
            memcpy(d->bdv, d->dv, (size_t)nopt * sizeof(double));
        } else {
            noimp++;
        }
        if (noimp >= 40) { theta *= 0.7; noimp = 0; }
        if (enough(l, db, ubn) || theta < 1e-4) break;
        /* Subgradient y_i - x_i on the copied options. */
        double norm = 0;
        for (int i = 0; i < nopt; i++) {
            int gi = (int)d->ysel[i] - (int)d->xsel[i];
            if (gi && d->a[i] < KINF) norm += 1.0;
        }
        if (norm <= 0) break; /* x = y: optimal for these multipliers */
        double target = ubn >= 0 ? (double)ubn : (double)db + fabs((double)db) * 0.02 + 1e9;
        double step = theta * (target - (double)v) / 1e9 / norm;
        for (int i = 0; i < nopt; i++) {
            int gi = (int)d->ysel[i] - (int)d->xsel[i];
            if (gi && d->a[i] < KINF) d->dv[i] += step * gi;
        }
    }
    d->theta = theta;
    free(items);
    free(take);
    free(dp);
    if (db > d->best) d->best = db;
    if (verbose)
        fprintf(stderr, "decomposition lagrangian: bound %.6f after %d iterations (%d trees)\n",
                (double)d->best / 1e9, it, d->ntree);
    return d->best;
}

/* ---- GLPK models ---- */

static int glpk_hook(void *info, const char *s)
{
    (void)info;
    fputs(s, stderr);
    return 1;
}

typedef struct model {
    glp_prob *lp;
    int *xcol;      /* option -> column (0 when dead or dominated) */
    int *dom;       /* option -> the option that replaces it (fbi_mip_dominated), or NULL */
    int *zcol0;     /* per term: first z column (cells in row-major, allowed only) */
    int *zcell;     /* column -> cell index for z columns (or -1) */
    int *capr, *budr, *tar0, *tbr0;
    int ncols;
    int nconflict;  /* conflict rows added (model_build) */
} model;

static void model_free(model *m)
{
    if (m->lp) glp_delete_prob(m->lp);
    free(m->xcol); free(m->dom); free(m->zcol0); free(m->capr); free(m->budr); free(m->tar0); free(m->tbr0);
}

/* Whether option j of workload w (global indices i, j) can replace option
 * i in every plan without making it dearer or infeasible: no dearer
 * (ocost, which the budget rows also count), on every pair term of w no
 * dearer against every class of the other side and allowed wherever i is,
 * and every capacity group j counts in is one i counts in too, or one that
 * cannot bind (free[g]: all workloads that could use it fit). The weight of
 * w in a group depends on the group and w only (fbi_gweight), so moving w
 * from i to j changes no shared group's load. Borrowed c and free_g. */
static int replaces(const fbi_cmp *c, const unsigned char *free_g, int w, int i, int j)
{
    if (c->ocost[j] > c->ocost[i]) return 0;
    int oi = c->ooffer[i], oj = c->ooffer[j];
    for (int k = c->og_start[oj]; k < c->og_start[oj + 1]; k++) {
        int g = c->og[k];
        if (free_g[g]) continue;
        int shared = 0;
        for (int q = c->og_start[oi]; q < c->og_start[oi + 1] && !shared; q++) shared = c->og[q] == g;
        if (!shared) return 0;
    }
    for (int k = c->wt_start[w]; k < c->wt_start[w + 1]; k++) {
        const fbi_term *t = &c->t[c->wt[k] / 2];
        int side = c->wt[k] % 2;
        int li = i - c->ostart[w], lj = j - c->ostart[w];
        int n = side ? t->na : t->nb;
        for (int y = 0; y < n; y++) {
            int64_t ci = side ? t->cost[(size_t)y * (size_t)t->nb + (size_t)t->cb[li]]
                              : t->cost[(size_t)t->ca[li] * (size_t)t->nb + (size_t)y];
            int64_t cj = side ? t->cost[(size_t)y * (size_t)t->nb + (size_t)t->cb[lj]]
                              : t->cost[(size_t)t->ca[lj] * (size_t)t->nb + (size_t)y];
            if (ci == FBI_FORBID) continue;
            if (cj == FBI_FORBID || cj > ci) return 0;
        }
    }
    return 1;
}

/* solver_impl.h. Dropping i is safe: any plan using i becomes one no
 * dearer and still feasible with its replacement (replaces() above), so an
 * optimal plan exists among the options kept. Of two options that replace
 * each other (equal in everything) the lower index is kept, so a chain of
 * replacements always ends at a kept option. */
int *fbi_mip_dominated(const fbi_cmp *c, int *ndrop)
{
    *ndrop = 0;
    int nopt = c->ostart[c->nw];
    /* A group binds no plan when all the workloads that have an option in
     * it fit at once. */
    int64_t *load = fbi_xcalloc((size_t)c->ng + 1, sizeof(int64_t));
    int *stamp = fbi_xmalloc(((size_t)c->ng + 1) * sizeof(int));
    for (int g = 0; g < c->ng; g++) stamp[g] = -1;
    for (int w = 0; w < c->nw; w++)
        for (int i = c->ostart[w]; i < c->ostart[w + 1]; i++) {
            if (!c->alive[i]) continue;
            int o = c->ooffer[i];
            for (int k = c->og_start[o]; k < c->og_start[o + 1]; k++) {
                int g = c->og[k];
                if (stamp[g] == w) continue;
                stamp[g] = w;
                load[g] += fbi_gweight(c, g, w);
            }
        }
    unsigned char *free_g = fbi_xcalloc((size_t)c->ng + 1, 1);
    for (int g = 0; g < c->ng; g++) free_g[g] = load[g] <= c->gcap[g];
    free(load);
    free(stamp);
    int *dom = fbi_xmalloc(((size_t)nopt + 1) * sizeof(int));
    for (int i = 0; i < nopt; i++) dom[i] = -1;
    for (int w = 0; w < c->nw; w++)
        for (int i = c->ostart[w]; i < c->ostart[w + 1]; i++) {
            if (!c->alive[i]) continue;
            for (int j = c->ostart[w]; j < c->ostart[w + 1]; j++) {
                if (j == i || !c->alive[j] || !replaces(c, free_g, w, i, j)) continue;
                if (j > i && replaces(c, free_g, w, j, i)) continue; /* equal: the lower index stays */
                dom[i] = j;
                (*ndrop)++;
                break;
            }
        }
    free(free_g);
    if (!*ndrop) { free(dom); return NULL; }
    return dom;
}

/* The option that stands for option i (global) in the model: i itself, or
 * the kept end of its chain of replacements. */
static int model_option(const model *m, int i)
{
    if (m->dom)
        while (m->dom[i] >= 0) i = m->dom[i];
    return i;
}

/* Whether options i of workload a and j of workload b cannot be chosen
 * together: both offers count in one capacity group that cannot hold the
 * two workloads at once (the same offer, usually). Borrowed c. */
static int options_conflict(const fbi_cmp *c, int a, int i, int b, int j)
{
    int oi = c->ooffer[i], oj = c->ooffer[j];
    for (int k = c->og_start[oi]; k < c->og_start[oi + 1]; k++) {
        int g = c->og[k];
        int shared = 0;
        for (int q = c->og_start[oj]; q < c->og_start[oj + 1] && !shared; q++) shared = c->og[q] == g;
        if (shared && fbi_gweight(c, g, a) > c->gcap[g] - fbi_gweight(c, g, b)) return 1;
    }
    return 0;
}

/* The z column of cell k of term ti, 0 when the cell is forbidden. */
static int zcol_of(const fbi_term *t, const model *m, int ti, int k)
{
    if (t->cost[k] == FBI_FORBID) return 0;
    int col = m->zcol0[ti];
    for (int q = 0; q < k; q++) col += t->cost[q] != FBI_FORBID;
    return col;
}

/* Builds the LP (x continuous in [0,1]) or the MIP (x binary); with
 * dom (steals it; from fbi_mip_dominated) the dominated options get no
 * column; with conflicts, the conflict rows below. */
static void model_build(const fbi_cmp *c, model *m, int integer, int conflicts, int *dom)
{
    memset(m, 0, sizeof *m);
    glp_prob *lp = glp_create_prob();
    m->lp = lp;
    m->dom = dom;
    glp_set_obj_dir(lp, GLP_MIN);
    int nopt = c->ostart[c->nw];
    m->xcol = fbi_xcalloc((size_t)nopt + 1, sizeof(int));
    m->zcol0 = fbi_xcalloc((size_t)c->nt + 1, sizeof(int));
    int ncol = 0;
    for (int i = 0; i < nopt; i++) if (c->alive[i] && (!dom || dom[i] < 0)) m->xcol[i] = ++ncol;
    size_t nz = 0;
    for (int ti = 0; ti < c->nt; ti++) {
        const fbi_term *t = &c->t[ti];
        m->zcol0[ti] = ncol + 1;
        for (int k = 0; k < t->na * t->nb; k++) if (t->cost[k] != FBI_FORBID) ncol++;
        nz += (size_t)t->na * (size_t)t->nb;
    }
    m->ncols = ncol;
    if (ncol) glp_add_cols(lp, ncol);
    for (int i = 0; i < nopt; i++) {
        if (!m->xcol[i]) continue;
        glp_set_col_bnds(lp, m->xcol[i], GLP_DB, 0.0, 1.0);
        glp_set_obj_coef(lp, m->xcol[i], (double)c->ocost[i] / 1e9);
        if (integer) glp_set_col_kind(lp, m->xcol[i], GLP_BV);
    }
    for (int ti = 0; ti < c->nt; ti++) {
        const fbi_term *t = &c->t[ti];
        int col = m->zcol0[ti];
        for (int k = 0; k < t->na * t->nb; k++) {
            if (t->cost[k] == FBI_FORBID) continue;
            glp_set_col_bnds(lp, col, GLP_LO, 0.0, 0.0);
            glp_set_obj_coef(lp, col, (double)t->cost[k] / 1e9);
            col++;
        }
    }
    /* Rows. */
    int nrow = c->nw + c->ng + c->nb;
    for (int ti = 0; ti < c->nt; ti++) nrow += c->t[ti].na + c->t[ti].nb;
    if (nrow) glp_add_rows(lp, nrow);
    size_t cap = (size_t)nopt * 4 + nz * 2 + 16;
    int *ia = fbi_xmalloc((cap + 1) * sizeof(int)), *ja = fbi_xmalloc((cap + 1) * sizeof(int));
    double *ar = fbi_xmalloc((cap + 1) * sizeof(double));
    size_t ne = 0;
#define PUT(r, col, v) do { \
        if (ne + 1 >= cap) { cap *= 2; ia = fbi_xrealloc(ia, (cap + 1) * sizeof(int)); \
            ja = fbi_xrealloc(ja, (cap + 1) * sizeof(int)); ar = fbi_xrealloc(ar, (cap + 1) * sizeof(double)); } \
        ne++; ia[ne] = (r); ja[ne] = (col); ar[ne] = (v); } while (0)
    int row = 0;
    for (int w = 0; w < c->nw; w++) {
        row++;
        glp_set_row_bnds(lp, row, GLP_FX, 1.0, 1.0);
        for (int i = c->ostart[w]; i < c->ostart[w + 1]; i++) if (m->xcol[i]) PUT(row, m->xcol[i], 1.0);
    }
    m->capr = fbi_xcalloc((size_t)c->ng + 1, sizeof(int));
    for (int g = 0; g < c->ng; g++) {
        row++;
        m->capr[g] = row;
        glp_set_row_bnds(lp, row, GLP_UP, 0.0, (double)c->gcap[g] / 1e6);
    }
    for (int w = 0; w < c->nw; w++)
        for (int i = c->ostart[w]; i < c->ostart[w + 1]; i++) {
            if (!m->xcol[i]) continue;
            int o = c->ooffer[i];
            for (int k = c->og_start[o]; k < c->og_start[o + 1]; k++) {
                int g = c->og[k];
                double wgt = (double)fbi_gweight(c, g, w) / 1e6;
                if (wgt != 0) PUT(m->capr[g], m->xcol[i], wgt);
            }
        }
    m->budr = fbi_xcalloc((size_t)c->nb + 1, sizeof(int));
    for (int b = 0; b < c->nb; b++) {
        row++;
        m->budr[b] = row;
        glp_set_row_bnds(lp, row, GLP_UP, 0.0, (double)c->bcap[b] / 1e9);
        for (int k = c->bw_start[b]; k < c->bw_start[b + 1]; k++) {
            int w = c->bw[k];
            for (int i = c->ostart[w]; i < c->ostart[w + 1]; i++)
                if (m->xcol[i] && c->ocost[i]) PUT(row, m->xcol[i], (double)c->ocost[i] / 1e9);
        }
    }
    m->tar0 = fbi_xcalloc((size_t)c->nt + 1, sizeof(int));
    m->tbr0 = fbi_xcalloc((size_t)c->nt + 1, sizeof(int));
    for (int ti = 0; ti < c->nt; ti++) {
        const fbi_term *t = &c->t[ti];
        m->tar0[ti] = row + 1;
        for (int x = 0; x < t->na; x++) glp_set_row_bnds(lp, ++row, GLP_FX, 0.0, 0.0);
        m->tbr0[ti] = row + 1;
        for (int y = 0; y < t->nb; y++) glp_set_row_bnds(lp, ++row, GLP_FX, 0.0, 0.0);
        int col = m->zcol0[ti];
        for (int k = 0; k < t->na * t->nb; k++) {
            if (t->cost[k] == FBI_FORBID) continue;
            PUT(m->tar0[ti] + k / t->nb, col, 1.0);
            PUT(m->tbr0[ti] + k % t->nb, col, 1.0);
            col++;
        }
        for (int i = c->ostart[t->a]; i < c->ostart[t->a + 1]; i++)
            if (m->xcol[i]) PUT(m->tar0[ti] + t->ca[i - c->ostart[t->a]], m->xcol[i], -1.0);
        for (int i = c->ostart[t->b]; i < c->ostart[t->b + 1]; i++)
            if (m->xcol[i]) PUT(m->tbr0[ti] + t->cb[i - c->ostart[t->b]], m->xcol[i], -1.0);
    }
    /* Conflict rows (the MIP only): the flow rows let two linked
     * workloads that cannot share an offer each take half of it, with the
     * pair cell of its region at 1/2. Whenever a sits on option i, the
     * cell (class of i, J) needs b on an option of class J that fits
     * beside i, so
     *     z_IJ <= sum of x_a over class I except i
     *             + sum of x_b over the options of class J that fit beside i
     * holds for every plan and cuts that half-half point. Written only where
     * some option of J conflicts with i (else the flow row of J implies
     * it), for both sides of each term. The LP bound (fbi_lagr_lp) leaves
     * them out: its certificate uses the duals of the plain rows only.
     * On the 50x100 families they cut branch and bound's CPU to prove
     * (bench/README-solver.md, "Stop 25: solvb"). */
    for (int ti = 0; conflicts && ti < c->nt; ti++) {
        const fbi_term *t = &c->t[ti];
        for (int side = 0; side < 2; side++) {
            int w = side ? t->b : t->a, v = side ? t->a : t->b;
            const int *cw = side ? t->cb : t->ca, *cv = side ? t->ca : t->cb;
            int nv = side ? t->na : t->nb;
            for (int i = c->ostart[w]; i < c->ostart[w + 1]; i++) {
                if (!m->xcol[i]) continue;
                int ci = cw[i - c->ostart[w]];
                for (int cls = 0; cls < nv; cls++) {
                    int any = 0;
                    for (int j = c->ostart[v]; j < c->ostart[v + 1] && !any; j++)
                        any = m->xcol[j] && cv[j - c->ostart[v]] == cls && options_conflict(c, w, i, v, j);
                    if (!any) continue;
                    int k = side ? cls * t->nb + ci : ci * t->nb + cls;
                    int zc = zcol_of(t, m, ti, k);
                    if (!zc) continue;
                    row = glp_add_rows(lp, 1);
                    glp_set_row_bnds(lp, row, GLP_UP, 0.0, 0.0);
                    PUT(row, zc, 1.0);
                    for (int i2 = c->ostart[w]; i2 < c->ostart[w + 1]; i2++)
                        if (i2 != i && m->xcol[i2] && cw[i2 - c->ostart[w]] == ci) PUT(row, m->xcol[i2], -1.0);
                    for (int j = c->ostart[v]; j < c->ostart[v + 1]; j++)
                        if (m->xcol[j] && cv[j - c->ostart[v]] == cls && !options_conflict(c, w, i, v, j))
                            PUT(row, m->xcol[j], -1.0);
                    m->nconflict++;
                }
            }
        }
    }
#undef PUT
    if (ne) glp_load_matrix(lp, (int)ne, ia, ja, ar);
    free(ia);
    free(ja);
    free(ar);
}

/* ---- Region cuts (branch and bound's cut callback) ----
 *
 * Where the links of an application make its workloads want one region
 * but the region's offers cannot hold them all, the flow rows let the LP
 * put a share of every workload in that region with the pair cells of the
 * region at the same share (no egress paid), and the rest elsewhere alike:
 * each share fits, the whole does not. The conflict rows above cut this
 * for two workloads only. For a set S of linked workloads that cannot all
 * sit in region R at once (the capacity groups of R's offers cannot hold
 * them, on the options the model has), and a spanning tree T of S in the
 * link graph,
 *     sum over the links e of T of z_e(R)  <=  sum over v in S of (deg_T(v) - 1) x_v(R)
 * where x_v(R) is the sum of v's x over its options in R and z_e(R) the sum
 * of e's pair cells with both classes in R. Valid for every plan the model
 * holds: with A the workloads of S in R, the left side counts the links of
 * T inside A, |A| - comp(A) (comp: the components of T restricted to A);
 * the right side is 2 (|A| - comp(A)) + e(A, S \ A) - |A|, and since A is
 * not S (S does not fit), each component of A has a link of T leaving it:
 * e(A, S \ A) >= comp(A). Below a branch and bound node, "cannot sit"
 * counts the workloads fixed at the node (and the options fixed out), and
 * the cut holds in that subtree (rcut_separate). For S = all of R's
 * workloads in one share the point above violates it by that share.
 * Separated at every node from the
 * LP's values: per region, S grows from a workload in R along the links
 * that lose the least (adding v through link (u, v) changes the violation
 * by z_e(R) - x_u(R)), until S does not fit in R. */
#define RCUT_MAXS 12 /* workloads in one cut at most */
/* region cuts added by every branch and bound of the process (the tests) */
static atomic_long g_region_cuts;

typedef struct rcut {
    int nw, nr, ng, nt;
    int *ostart;        /* nw + 1: model options of w (x column, region, offer) */
    int *ocol, *oreg, *ooff;
    int *og_start, *og; /* offer -> capacity groups (copied from the problem) */
    int64_t *gcap, *demand;
    int *gmeasure;
    int *ta, *tb;       /* term -> its two workloads */
    int *tz_start, *tz_reg, *tz_col; /* term -> its cells with both classes in one region */
    int *adj_start, *adj; /* workload -> terms it is in */
    /* scratch for separation */
    double *y, *z;      /* [nw x nr], [nt x nr] */
    int *ins, *order, *deg;
    int64_t *gload;
    double *cutv;
    int *cuti;
    int *seen;          /* [nw]: stamp of the last S that held the workload */
    int stamp;
    unsigned char *allowed; /* per model option: its column may be 1 at this node */
    int *fixed;         /* per workload: the model option its column is fixed to at this node, or -1 */
    unsigned long long *sig; int nsig, capsig; /* cuts added in one call */
    int ncuts;          /* for --verbose: cuts added in all */
} rcut;

static void rcut_free(rcut *r)
{
    if (!r) return;
    free(r->ostart); free(r->ocol); free(r->oreg); free(r->ooff); free(r->og_start); free(r->og);
    free(r->gcap); free(r->demand); free(r->gmeasure); free(r->ta); free(r->tb);
    free(r->tz_start); free(r->tz_reg); free(r->tz_col); free(r->adj_start); free(r->adj);
    free(r->y); free(r->z); free(r->ins); free(r->order); free(r->deg); free(r->gload); free(r->cutv); free(r->cuti);
    free(r->seen); free(r->sig); free(r->allowed); free(r->fixed);
    free(r);
}

/* A copy of what separation needs from c and m (the worker keeps it after
 * the caller has left and c is gone). NULL when there are no links. */
static rcut *rcut_new(const fbi_cmp *c, const model *m)
{
    if (c->nt == 0 || c->nr <= 0) return NULL;
    rcut *r = fbi_xcalloc(1, sizeof *r);
    r->nw = c->nw; r->nr = c->nr; r->ng = c->ng; r->nt = c->nt;
    int nopt = c->ostart[c->nw];
    r->ostart = fbi_xcalloc((size_t)c->nw + 1, sizeof(int));
    r->ocol = fbi_xmalloc(((size_t)nopt + 1) * sizeof(int));
    r->oreg = fbi_xmalloc(((size_t)nopt + 1) * sizeof(int));
    r->ooff = fbi_xmalloc(((size_t)nopt + 1) * sizeof(int));
    int n = 0;
    for (int w = 0; w < c->nw; w++) {
        r->ostart[w] = n;
        for (int i = c->ostart[w]; i < c->ostart[w + 1]; i++) {
            if (!m->xcol[i]) continue;
            r->ocol[n] = m->xcol[i];
            r->ooff[n] = c->ooffer[i];
            r->oreg[n] = c->oregion[c->ooffer[i]];
            n++;
        }
    }
    r->ostart[c->nw] = n;
    r->og_start = fbi_xmalloc(((size_t)c->no + 1) * sizeof(int));
    memcpy(r->og_start, c->og_start, ((size_t)c->no + 1) * sizeof(int));
    r->og = fbi_xmalloc(((size_t)c->og_start[c->no] + 1) * sizeof(int));
    memcpy(r->og, c->og, (size_t)c->og_start[c->no] * sizeof(int));
    r->gcap = fbi_xmalloc(((size_t)c->ng + 1) * sizeof(int64_t));
    memcpy(r->gcap, c->gcap, (size_t)c->ng * sizeof(int64_t));
    r->gmeasure = fbi_xmalloc(((size_t)c->ng + 1) * sizeof(int));
    memcpy(r->gmeasure, c->gmeasure, (size_t)c->ng * sizeof(int));
    r->demand = fbi_xmalloc(((size_t)c->nw + 1) * sizeof(int64_t));
    memcpy(r->demand, c->demand, (size_t)c->nw * sizeof(int64_t));
    r->ta = fbi_xmalloc(((size_t)c->nt + 1) * sizeof(int));
    r->tb = fbi_xmalloc(((size_t)c->nt + 1) * sizeof(int));
    r->tz_start = fbi_xcalloc((size_t)c->nt + 1, sizeof(int));
    size_t cap = 16, nz = 0;
    r->tz_reg = fbi_xmalloc(cap * sizeof(int));
    r->tz_col = fbi_xmalloc(cap * sizeof(int));
    for (int ti = 0; ti < c->nt; ti++) {
        const fbi_term *t = &c->t[ti];
        r->ta[ti] = t->a;
        r->tb[ti] = t->b;
        r->tz_start[ti] = (int)nz;
        for (int k = 0; k < t->na * t->nb; k++) {
            int col = zcol_of(t, m, ti, k);
            if (!col) continue;
            int ia = t->ida[k / t->nb], ib = t->idb[k % t->nb];
            int ra = t->by_offer ? c->oregion[ia] : ia, rb = t->by_offer ? c->oregion[ib] : ib;
            if (ra != rb || ra < 0 || ra >= c->nr) continue;
            if (nz == cap) {
                cap *= 2;
                r->tz_reg = fbi_xrealloc(r->tz_reg, cap * sizeof(int));
                r->tz_col = fbi_xrealloc(r->tz_col, cap * sizeof(int));
            }
            r->tz_reg[nz] = ra;
            r->tz_col[nz] = col;
            nz++;
        }
    }
    r->tz_start[c->nt] = (int)nz;
    r->adj_start = fbi_xcalloc((size_t)c->nw + 1, sizeof(int));
    r->adj = fbi_xmalloc(((size_t)c->nt * 2 + 1) * sizeof(int));
    for (int w = 0, q = 0; w < c->nw; w++) {
        r->adj_start[w] = q;
        for (int k = c->wt_start[w]; k < c->wt_start[w + 1]; k++) r->adj[q++] = c->wt[k] / 2;
        r->adj_start[w + 1] = q;
    }
    r->y = fbi_xmalloc(((size_t)c->nw * (size_t)c->nr + 1) * sizeof(double));
    r->z = fbi_xmalloc(((size_t)c->nt * (size_t)c->nr + 1) * sizeof(double));
    r->ins = fbi_xmalloc(((size_t)c->nw + 1) * sizeof(int));
    r->order = fbi_xmalloc(((size_t)c->nw + 1) * sizeof(int));
    r->deg = fbi_xmalloc(((size_t)c->nw + 1) * sizeof(int));
    r->seen = fbi_xmalloc(((size_t)c->nw + 1) * sizeof(int));
    r->gload = fbi_xcalloc((size_t)c->ng + 1, sizeof(int64_t));
    r->allowed = fbi_xmalloc((size_t)n + 1);
    memset(r->allowed, 1, (size_t)n + 1);
    r->fixed = fbi_xmalloc(((size_t)c->nw + 1) * sizeof(int));
    for (int w = 0; w < c->nw; w++) r->fixed[w] = -1;
    r->cutv = fbi_xmalloc(((size_t)m->ncols + 2) * sizeof(double));
    r->cuti = fbi_xmalloc(((size_t)m->ncols + 2) * sizeof(int));
    return r;
}

static int64_t rcut_weight(const rcut *r, int g, int w)
{
    return r->gmeasure[g] == FBI_MEASURE_COUNT ? FBI_VCPU : r->demand[w];
}

/* Whether the k workloads order[d..k-1] can be added to region reg (on
 * their options allowed at this node) on top of gload (depth-first; *budget nodes at most, and when they run out the
 * answer is "fits", which only means no cut). */
static int rcut_fit(rcut *r, int reg, int d, int k, long *budget)
{
    if (d == k) return 1;
    if (--*budget < 0) return 1;
    int w = r->order[d];
    for (int q = r->ostart[w]; q < r->ostart[w + 1]; q++) {
        if (r->oreg[q] != reg || !r->allowed[q]) continue;
        int o = r->ooff[q], ok = 1;
        for (int p = r->og_start[o]; p < r->og_start[o + 1] && ok; p++) {
            int g = r->og[p];
            ok = r->gload[g] + rcut_weight(r, g, w) <= r->gcap[g];
        }
        if (!ok) continue;
        for (int p = r->og_start[o]; p < r->og_start[o + 1]; p++) r->gload[r->og[p]] += rcut_weight(r, r->og[p], w);
        int f = rcut_fit(r, reg, d + 1, k, budget);
        for (int p = r->og_start[o]; p < r->og_start[o + 1]; p++) r->gload[r->og[p]] -= rcut_weight(r, r->og[p], w);
        if (f) return 1;
        if (*budget < 0) return 1;
    }
    return 0;
}

/* Whether the k workloads in r->ins (stamped r->stamp in r->seen) cannot
 * all sit in region reg, on the options allowed at this node and beside
 * the workloads fixed there. */
static int rcut_nofit(rcut *r, int reg, int k)
{
    /* largest first: the packing fails early */
    for (int a = 0; a < k; a++) r->order[a] = r->ins[a];
    for (int a = 1; a < k; a++)
        for (int b = a; b > 0 && r->demand[r->order[b]] > r->demand[r->order[b - 1]]; b--) {
            int t = r->order[b]; r->order[b] = r->order[b - 1]; r->order[b - 1] = t;
        }
    /* the workloads fixed at this node outside S take their room first */
    for (int w = 0; w < r->nw; w++) {
        int q = r->fixed[w];
        if (q < 0 || r->seen[w] == r->stamp) continue;
        for (int p = r->og_start[r->ooff[q]]; p < r->og_start[r->ooff[q] + 1]; p++)
            r->gload[r->og[p]] += rcut_weight(r, r->og[p], w);
    }
    long budget = 4000;
    int nofit = !rcut_fit(r, reg, 0, k, &budget);
    for (int w = 0; w < r->nw; w++) {
        int q = r->fixed[w];
        if (q < 0 || r->seen[w] == r->stamp) continue;
        for (int p = r->og_start[r->ooff[q]]; p < r->og_start[r->ooff[q] + 1]; p++)
            r->gload[r->og[p]] -= rcut_weight(r, r->og[p], w);
    }
    return nofit;
}

/* Adds the violated region cuts of the current node's LP; returns how many. */
static int rcut_separate(rcut *r, glp_tree *tree)
{
    glp_prob *P = glp_ios_get_prob(tree);
    int nw = r->nw, nr = r->nr;
    memset(r->y, 0, (size_t)nw * (size_t)nr * sizeof(double));
    memset(r->z, 0, (size_t)r->nt * (size_t)nr * sizeof(double));
    for (int w = 0; w < nw; w++)
        for (int q = r->ostart[w]; q < r->ostart[w + 1]; q++) {
            double v = glp_get_col_prim(P, r->ocol[q]);
            if (v > 1e-9) r->y[(size_t)w * nr + r->oreg[q]] += v;
        }
    for (int ti = 0; ti < r->nt; ti++)
        for (int q = r->tz_start[ti]; q < r->tz_start[ti + 1]; q++) {
            double v = glp_get_col_prim(P, r->tz_col[q]);
            if (v > 1e-9) r->z[(size_t)ti * nr + r->tz_reg[q]] += v;
        }
    /* The node's bounds: options fixed to 0 are out of the packing, and
     * workloads fixed to an option take its room first (rcut_nofit). A cut
     * that uses them is valid below this node only, which is where GLPK
     * keeps it: rows added at a node belong to its subproblem and its
     * descendants. Bounds from reduced-cost fixing only drop plans no
     * better than the incumbent, which GLPK itself does too. */
    for (int w = 0; w < nw; w++) {
        r->fixed[w] = -1;
        for (int q = r->ostart[w]; q < r->ostart[w + 1]; q++) {
            r->allowed[q] = glp_get_col_ub(P, r->ocol[q]) > 0.5;
            if (glp_get_col_lb(P, r->ocol[q]) > 0.5) r->fixed[w] = q;
        }
    }
    r->nsig = 0;
    int added = 0;
    for (int w = 0; w < nw; w++) r->seen[w] = -1;
    int stamp = 0;
    for (int reg = 0; reg < nr; reg++) {
        for (int root = 0; root < nw; root++) {
            double yr = r->y[(size_t)root * nr + reg];
            if (yr < 0.05) continue;
            /* grow S from root: best gain z_e(R) - x_u(R) first */
            stamp++;
            r->stamp = stamp;
            int k = 0;
            r->ins[k++] = root;
            r->seen[root] = stamp;
            double viol = yr;
            unsigned long long sig = 0;
            int found = 0;
            while (k < RCUT_MAXS) {
                double bestg = -1e30;
                int bestv = -1;
                for (int a = 0; a < k; a++) {
                    int u = r->ins[a];
                    double yu = r->y[(size_t)u * nr + reg];
                    for (int p = r->adj_start[u]; p < r->adj_start[u + 1]; p++) {
                        int ti = r->adj[p];
                        int v = r->ta[ti] == u ? r->tb[ti] : r->ta[ti];
                        if (r->seen[v] == stamp) continue;
                        double ze = r->z[(size_t)ti * nr + reg];
                        if (ze < 1e-6) continue;
                        if (ze - yu > bestg) { bestg = ze - yu; bestv = v; }
                    }
                }
                if (bestv < 0 || viol + bestg < 0.02) break;
                r->ins[k++] = bestv;
                r->seen[bestv] = stamp;
                viol += bestg;
                if (rcut_nofit(r, reg, k)) { found = 1; break; }
            }
            if (!found) continue;
            /* one cut per set and region in a call (another root may grow
             * the same set) */
            for (int a = 0; a < k; a++) sig += ((unsigned long long)r->ins[a] + 1) * 0x9E3779B97F4A7C15ULL;
            sig ^= (unsigned long long)reg * 0xBF58476D1CE4E5B9ULL;
            int dup = 0;
            for (int q = 0; q < r->nsig && !dup; q++) dup = r->sig[q] == sig;
            if (dup) continue;
            /* The tree: the maximum spanning tree of S under z_e(R) - x_u(R)
             * - x_v(R) (Prim), the most violated one for this S: with the
             * sum of x over S fixed, the violation is that sum plus the
             * weights of the tree's links. */
            int len = 0;
            double lhs = 0;
            int *deg = r->deg; /* per position in ins */
            for (int a = 0; a < k; a++) deg[a] = 0;
            unsigned char intree[RCUT_MAXS] = {0};
            intree[0] = 1;
            for (int step = 1; step < k; step++) {
                double bw = -1e30;
                int ba = -1, bb = -1, bt = -1;
                for (int a = 0; a < k; a++) {
                    if (!intree[a]) continue;
                    int u = r->ins[a];
                    for (int p = r->adj_start[u]; p < r->adj_start[u + 1]; p++) {
                        int ti = r->adj[p];
                        int v = r->ta[ti] == u ? r->tb[ti] : r->ta[ti];
                        int b = -1;
                        for (int q = 0; q < k; q++) if (r->ins[q] == v) b = q;
                        if (b < 0 || intree[b]) continue;
                        double we = r->z[(size_t)ti * nr + reg] - r->y[(size_t)u * nr + reg] - r->y[(size_t)v * nr + reg];
                        if (we > bw) { bw = we; ba = a; bb = b; bt = ti; }
                    }
                }
                if (bb < 0) { len = -1; break; }
                intree[bb] = 1;
                deg[ba]++;
                deg[bb]++;
                lhs += r->z[(size_t)bt * nr + reg];
                for (int q = r->tz_start[bt]; q < r->tz_start[bt + 1]; q++)
                    if (r->tz_reg[q] == reg) { len++; r->cuti[len] = r->tz_col[q]; r->cutv[len] = 1.0; }
            }
            if (len <= 0) continue;
            double rhs = 0;
            for (int a = 0; a < k; a++) {
                if (deg[a] <= 1) continue;
                int v = r->ins[a];
                rhs += (deg[a] - 1) * r->y[(size_t)v * nr + reg];
                for (int q = r->ostart[v]; q < r->ostart[v + 1]; q++)
                    if (r->oreg[q] == reg) { len++; r->cuti[len] = r->ocol[q]; r->cutv[len] = -(double)(deg[a] - 1); }
            }
            if (lhs - rhs < 0.02) continue;
            glp_ios_add_row(tree, NULL, 101, 0, len, r->cuti, r->cutv, GLP_UP, 0.0);
            if (r->nsig == r->capsig) {
                r->capsig = r->capsig ? r->capsig * 2 : 64;
                r->sig = fbi_xrealloc(r->sig, (size_t)r->capsig * sizeof(unsigned long long));
            }
            r->sig[r->nsig++] = sig;
            added++;
        }
    }
    r->ncuts += added;
    if (added) atomic_fetch_add(&g_region_cuts, added);
    return added;
}

long fbi_mip_region_cuts(void)
{
    return atomic_load(&g_region_cuts);
}

static void quiet(int verbose)
{
    glp_term_out(verbose ? GLP_ON : GLP_OFF);
    glp_term_hook(verbose ? glpk_hook : NULL, NULL);
}

fbi_money fbi_lagr_lp(fbi_lagr *l, double deadline, int *infeasible, int verbose)
{
    const fbi_cmp *c = l->c;
    *infeasible = 0;
    double left = deadline - fbi_mono_ms();
    if (left < 10) return -1;
    quiet(verbose);
    model m;
    model_build(c, &m, 0, 0, NULL);
    glp_smcp parm;
    glp_init_smcp(&parm);
    parm.msg_lev = verbose ? GLP_MSG_ON : GLP_MSG_OFF;
    parm.presolve = GLP_ON;
    parm.tm_lim = left > 1e9 ? INT_MAX : (int)left;
    glp_adv_basis(m.lp, 0);
    int rc = glp_simplex(m.lp, &parm);
    fbi_money res = -1;
    if (rc == GLP_ENOPFS) {
        *infeasible = 1;
    } else if (rc == 0 && glp_get_status(m.lp) == GLP_OPT) {
        /* Plug the duals into the exact Lagrangian: multiplier = -dual. */
        for (int g = 0; g < c->ng; g++) l->lam[g] = -glp_get_row_dual(m.lp, m.capr[g]);
        for (int b = 0; b < c->nb; b++) l->nu[b] = -glp_get_row_dual(m.lp, m.budr[b]);
        for (int ti = 0; ti < c->nt; ti++)
            for (int y = 0; y < c->t[ti].nb; y++)
                l->mu[l->muoff[ti] + y] = -glp_get_row_dual(m.lp, m.tbr0[ti] + y);
        l->all_dirty = 1;
        fbi_money v = evaluate(l);
        if (verbose)
            fprintf(stderr, "lp: GLPK optimum %.9f, certified bound %.9f\n", glp_get_obj_val(m.lp),
                    (double)v / 1e9);
        if (v != INT64_MIN && v > l->best) keep_best(l, v);
        res = v == INT64_MIN ? -1 : v;
    } else if (rc == 0 && (glp_get_status(m.lp) == GLP_NOFEAS || glp_get_prim_stat(m.lp) == GLP_NOFEAS)) {
        *infeasible = 1;
    }
    model_free(&m);
    return res;
}

double fbi_mip_root(const fbi_cmp *c, int conflicts)
{
    quiet(0);
    model m;
    int ndrop;
    model_build(c, &m, 0, conflicts, fbi_mip_dominated(c, &ndrop));
    glp_smcp parm;
    glp_init_smcp(&parm);
    parm.msg_lev = GLP_MSG_OFF;
    parm.presolve = GLP_ON;
    glp_adv_basis(m.lp, 0);
    double v = -1;
    if (glp_simplex(m.lp, &parm) == 0 && glp_get_status(m.lp) == GLP_OPT) v = glp_get_obj_val(m.lp);
    model_free(&m);
    return v;
}

/* Branch and bound runs on its own thread (fbi_mip_start below): GLPK
 * looks at the clock only between node solves and cut rounds, and some of
 * its phases make no callback for seconds on a loaded machine (the
 * pseudocost initialisation solves an LP per fractional variable: 2.8 s of
 * wall time measured on a 50x100 instance at load 20,
 * bench/README-solver.md). The caller's thread waits for the worker until
 * its deadline and then leaves with the best incumbent the worker has
 * published; the worker stops at its next callback and frees everything
 * itself (its thread is joined later: fbi_mip_drain). The caller may also
 * start it early (fbi_solve does, beside the
 * heuristic) and hand it plans as they come.
 *
 * Ownership: the job is shared by the caller and the worker; whoever of
 * the two is last (the caller when the worker finished in time, the worker
 * when the caller left) frees it. The worker reads the compiled problem
 * only while the caller is there: while it builds the model (the caller
 * waits for `built` before it may leave) and, under the job's mutex after
 * checking `left`, to turn an offered plan into MIP columns. Otherwise it
 * touches nothing but its own GLPK problem (in its own thread-local GLPK
 * environment, freed with glp_free_env before it ends) and the job. */
/* Searches the caller left running (their threads are joined once they
 * end: in the next fbi_mip_start or in fbi_mip_drain). */
typedef struct leftover {
    pthread_t th;
    int finished;       /* under g_left_mu: the worker has freed its job */
    struct leftover *next;
} leftover;
static pthread_mutex_t g_left_mu = PTHREAD_MUTEX_INITIALIZER;
static leftover *g_left;

struct fbi_mipjob {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
    const fbi_cmp *c;   /* valid while !left */
    double deadline;    /* fbi_mono_ms: the worker stops at its first callback past it */
    int verbose;
    /* under mu */
    int built;          /* the model is built: the worker reads c only under mu */
    int done;           /* the worker has finished: res and inc are final */
    int left;           /* the caller has left: the worker frees the job */
    int res;            /* the result when done (fbi_mip's codes) */
    int *offer;         /* [nw]: a plan offered by the caller, or NULL */
    int offer_ver, sent_ver;
    leftover *lo;       /* set when the caller leaves */
    int *xcol;          /* option -> x column (0: dead); set before built */
    int nx;             /* x columns are 1..nx */
    double *inc;        /* [nx + 1]: the incumbent's x values */
    double inc_obj;
    int have_inc;
    /* the worker's own */
    int own_thread;     /* 0: run on the caller's thread (no thread could be made) */
    const struct model *m;
    rcut *rc;           /* region cuts (NULL: none) */
    double pub_obj;     /* objective of the last incumbent published (have_inc) */
    double last, longest; /* for --verbose: the longest stretch without a callback */
    double cpu0;        /* for --verbose: the worker's CPU time when its model was built */
    int longest_reason;
};

static void mipjob_free(fbi_mipjob *j)
{
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    free(j->xcol);
    free(j->inc);
    free(j->offer);
    free(j);
}

/* Copies GLPK's incumbent into the job when it is better than the one
 * published (the caller may leave at any moment and take it). */
static void publish_incumbent(fbi_mipjob *j, glp_prob *P)
{
    int st = glp_mip_status(P);
    if (st != GLP_FEAS && st != GLP_OPT) return;
    double obj = glp_mip_obj_val(P);
    /* only the worker writes pub_obj and have_inc: no lock to read them */
    if (j->have_inc && !(obj < j->pub_obj)) return;
    pthread_mutex_lock(&j->mu);
    for (int k = 1; k <= j->nx; k++) j->inc[k] = glp_mip_col_val(P, k);
    j->inc_obj = j->pub_obj = obj;
    j->have_inc = 1;
    pthread_mutex_unlock(&j->mu);
}

/* A plan as values of the MIP's columns (x and z); a dominated option
 * counts as the option that replaces it (no dearer, still feasible). */
static double *heur_point(const fbi_cmp *c, const model *m, const int *asg)
{
    double *x = fbi_xcalloc((size_t)m->ncols + 1, sizeof(double));
    for (int w = 0; w < c->nw; w++) x[m->xcol[model_option(m, c->ostart[w] + asg[w])]] = 1.0;
    for (int ti = 0; ti < c->nt; ti++) {
        const fbi_term *t = &c->t[ti];
        int ka = t->ca[model_option(m, c->ostart[t->a] + asg[t->a]) - c->ostart[t->a]];
        int kb = t->cb[model_option(m, c->ostart[t->b] + asg[t->b]) - c->ostart[t->b]];
        int col = m->zcol0[ti];
        for (int k = 0; k < t->na * t->nb; k++) {
            if (t->cost[k] == FBI_FORBID) continue;
            if (k == ka * t->nb + kb) x[col] = 1.0;
            col++;
        }
    }
    return x;
}

/* GLPK callback: stops the search at the deadline or when the caller has
 * left (GLPK's own tm_lim is only looked at between nodes, and cut rounds
 * on a large node can run far past it), publishes every new incumbent,
 * and hands the caller's plans to the branch and bound as incumbents. */
static void mip_cb(glp_tree *tree, void *info)
{
    fbi_mipjob *j = info;
    double now = fbi_mono_ms();
    int reason = glp_ios_reason(tree);
    if (now - j->last > j->longest) {
        j->longest = now - j->last;
        j->longest_reason = reason;
    }
    j->last = now;
    double *x = NULL;
    pthread_mutex_lock(&j->mu);
    int left = j->left;
    /* c is valid here: the caller cannot leave while we hold mu */
    if (!left && reason == GLP_IHEUR && j->offer && j->offer_ver != j->sent_ver) {
        x = heur_point(j->c, j->m, j->offer);
        j->sent_ver = j->offer_ver;
    }
    pthread_mutex_unlock(&j->mu);
    if (left || now > j->deadline) {
        free(x);
        glp_ios_terminate(tree);
        return;
    }
    if (x) {
        glp_ios_heur_sol(tree, x); /* GLPK keeps it only when better */
        free(x);
    }
    if (reason == GLP_ICUTGEN && j->rc) rcut_separate(j->rc, tree);
    /* every reason: GLPK records incumbents found by its own heuristics
     * without a callback of their own */
    publish_incumbent(j, glp_ios_get_prob(tree));
}

/* The root LP and branch and bound; 1 proven optimal, 0 stopped with an
 * incumbent (published), 2 proven infeasible, -1 failure or no incumbent. */
static int mip_run(fbi_mipjob *j, model *m)
{
    double left = j->deadline - fbi_mono_ms();
    if (left < 10) return -1;
    glp_smcp sp;
    glp_init_smcp(&sp);
    sp.msg_lev = j->verbose ? GLP_MSG_ON : GLP_MSG_OFF;
    glp_adv_basis(m->lp, 0);
    int rc;
    /* The root LP in pieces of 1,000 iterations (the simplex goes on from
     * its basis): it makes no callback, and the caller may leave. */
    for (;;) {
        sp.tm_lim = (int)left;
        sp.it_lim = 1000;
        rc = glp_simplex(m->lp, &sp);
        if (rc != GLP_EITLIM) break;
        pthread_mutex_lock(&j->mu);
        int gone = j->left;
        pthread_mutex_unlock(&j->mu);
        left = j->deadline - fbi_mono_ms();
        if (gone || left < 10) return -1;
    }
    if (rc != 0 || glp_get_status(m->lp) != GLP_OPT)
        return rc == 0 && glp_get_status(m->lp) == GLP_NOFEAS ? 2 : -1;
    glp_iocp ip;
    glp_init_iocp(&ip);
    ip.msg_lev = j->verbose ? GLP_MSG_ON : GLP_MSG_OFF;
    left = j->deadline - fbi_mono_ms();
    if (left < 10) return -1;
    ip.tm_lim = (int)left;
    ip.mip_gap = 0.0;
    /* MIR and cover cuts, Driebeck-Tomlin branching, best local bound.
     * Measured with glpsol on the 60 family instances of 50x100
     * (bench/README-solver.md, "Branch and bound settings"): Gomory cuts
     * and pseudocost branching (the settings before) took 1.7x the CPU in
     * total and proved fewer within a few seconds; pseudocost branching
     * also solves an LP per fractional variable without a callback.
     * Clique cuts too since the model has conflict rows: GLPK's conflict
     * graph then holds the pairs that cannot share an offer, and on the
     * hardest of the 60 (hubs, spread) they halve the CPU to prove
     * (bench/README-solver.md, "Stop 25: solvb"). Our own region cuts
     * come from the callback (rcut_separate). */
    ip.gmi_cuts = GLP_OFF;
    ip.mir_cuts = GLP_ON;
    ip.cov_cuts = GLP_ON;
    ip.clq_cuts = GLP_ON;
    ip.br_tech = GLP_BR_DTH;
    ip.bt_tech = GLP_BT_BLB;
    ip.cb_func = mip_cb;
    ip.cb_info = j;
    j->last = fbi_mono_ms();
    double tb = j->last;
    rc = glp_intopt(m->lp, &ip);
    int st = glp_mip_status(m->lp);
    if (j->verbose)
        fprintf(stderr, "mip: branch and bound %.0f ms (rc %d, %.0f ms past the deadline, %.0f ms of CPU "
                "since the model was built); longest stretch without a callback %.0f ms, ended by reason "
                "%d\n", fbi_mono_ms() - tb, rc, fbi_mono_ms() - j->deadline, fbi_thread_cpu_ms() - j->cpu0,
                j->longest, j->longest_reason);
    if (st == GLP_OPT || st == GLP_FEAS) {
        publish_incumbent(j, m->lp);
        return st == GLP_OPT && rc == 0 ? 1 : 0;
    }
    return st == GLP_NOFEAS ? 2 : -1;
}

static void *mip_worker(void *arg)
{
    fbi_mipjob *j = arg;
    quiet(j->verbose);
    model m;
    int ndrop;
    int *dom = fbi_mip_dominated(j->c, &ndrop);
    model_build(j->c, &m, 1, 1, dom);
    j->rc = rcut_new(j->c, &m);
    if (j->verbose)
        fprintf(stderr, "mip: %d of %d options dropped as dominated, %d conflict rows\n", ndrop,
                j->c->ostart[j->c->nw], m.nconflict);
    int nx = 0;
    for (int i = 0; i < j->c->ostart[j->c->nw]; i++) if (m.xcol[i] > nx) nx = m.xcol[i];
    pthread_mutex_lock(&j->mu);
    j->xcol = m.xcol; /* the job's now; m.xcol stays readable (freed with the job) */
    j->nx = nx;
    j->inc = fbi_xcalloc((size_t)nx + 1, sizeof(double));
    j->m = &m;
    j->built = 1;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    j->cpu0 = fbi_thread_cpu_ms();
    int res = mip_run(j, &m);
    if (j->verbose && j->rc) fprintf(stderr, "mip: %d region cuts added\n", j->rc->ncuts);
    rcut_free(j->rc);
    j->rc = NULL;
    m.xcol = NULL;
    model_free(&m);
    /* this thread's GLPK environment (thread-local in GLPK 5; not the
     * caller's, which may hold other GLPK objects) */
    if (j->own_thread) glp_free_env();
    pthread_mutex_lock(&j->mu);
    j->m = NULL;
    j->res = res;
    j->done = 1;
    int gone = j->left;
    leftover *lo = j->lo;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    if (gone) {
        mipjob_free(j);
        pthread_mutex_lock(&g_left_mu);
        lo->finished = 1;
        pthread_mutex_unlock(&g_left_mu);
    }
    return NULL;
}

/* Joins the left searches that have ended; returns how many still run. */
static int reap_leftovers(void)
{
    int running = 0;
    leftover *done = NULL;
    pthread_mutex_lock(&g_left_mu);
    for (leftover **pp = &g_left; *pp;) {
        leftover *lo = *pp;
        if (lo->finished) {
            *pp = lo->next;
            lo->next = done;
            done = lo;
        } else {
            running++;
            pp = &lo->next;
        }
    }
    pthread_mutex_unlock(&g_left_mu);
    while (done) { /* their workers are past their last use of anything */
        leftover *n = done->next;
        pthread_join(done->th, NULL);
        free(done);
        done = n;
    }
    return running;
}

int fbi_mip_drain(double deadline_ms)
{
    for (;;) {
        int running = reap_leftovers();
        if (!running || fbi_mono_ms() >= deadline_ms) return running;
        struct timespec ts = {0, 1000000}; /* 1 ms: they stop at their next callback */
        nanosleep(&ts, NULL);
    }
}

/* Waits on the job's condition until *flag or the monotonic deadline (ms;
 * <= 0: no deadline); the caller holds j->mu. */
static void wait_until(fbi_mipjob *j, const int *flag, double deadline)
{
    while (!*flag) {
        if (deadline <= 0) { pthread_cond_wait(&j->cv, &j->mu); continue; }
        double now = fbi_mono_ms();
        if (now >= deadline) return;
        struct timespec ts;
        double s = floor(deadline / 1e3);
        ts.tv_sec = (time_t)s;
        ts.tv_nsec = (long)((deadline - s * 1e3) * 1e6);
        if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
        pthread_cond_timedwait(&j->cv, &j->mu, &ts);
    }
}

/* The incumbent's x values into asg (options of the compiled problem). */
static void take_incumbent(const fbi_cmp *c, const fbi_mipjob *j, int *asg)
{
    for (int w = 0; w < c->nw; w++) {
        int pick = -1;
        for (int i = c->ostart[w]; i < c->ostart[w + 1]; i++)
            if (j->xcol[i] && j->inc[j->xcol[i]] > 0.5) pick = i - c->ostart[w];
        if (pick >= 0) asg[w] = pick;
    }
}

fbi_mipjob *fbi_mip_start(const fbi_cmp *c, const int *asg, double deadline, int verbose)
{
    reap_leftovers();
    fbi_mipjob *j = fbi_xcalloc(1, sizeof *j);
    pthread_mutex_init(&j->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* fbi_mono_ms's clock */
    pthread_cond_init(&j->cv, &ca);
    pthread_condattr_destroy(&ca);
    j->c = c;
    j->deadline = deadline;
    j->verbose = verbose;
    if (asg) fbi_mip_offer(j, asg);
    /* A GLPK built without thread-local environments (glp_config("TLS")
     * NULL) cannot run beside the caller's GLPK calls: then the search
     * runs in finish, on the caller's thread. */
    j->own_thread = glp_config("TLS") != NULL; /* set before the worker may read it */
    if (j->own_thread && pthread_create(&j->th, NULL, mip_worker, j) != 0) j->own_thread = 0;
    return j;
}

void fbi_mip_offer(fbi_mipjob *j, const int *asg)
{
    pthread_mutex_lock(&j->mu);
    if (!j->offer) j->offer = fbi_xmalloc(((size_t)j->c->nw + 1) * sizeof(int));
    memcpy(j->offer, asg, (size_t)j->c->nw * sizeof(int));
    j->offer_ver++;
    pthread_mutex_unlock(&j->mu);
}

int fbi_mip_finish(fbi_mipjob *j, int *asg, double deadline)
{
    const fbi_cmp *c = j->c;
    int res;
    if (!j->own_thread) {
        /* No thread: the same work here, bounded by GLPK's callbacks only. */
        if (deadline < j->deadline) j->deadline = deadline;
        mip_worker(j);
        res = j->res;
        if ((res == 1 || res == 0) && j->have_inc) take_incumbent(c, j, asg);
        else if (res == 1 || res == 0) res = -1;
        mipjob_free(j);
        return res;
    }
    pthread_mutex_lock(&j->mu);
    /* The worker reads c while it builds the model: not interruptible, as
     * the model build was before the thread. */
    wait_until(j, &j->built, 0);
    wait_until(j, &j->done, deadline);
    if (j->done) {
        pthread_mutex_unlock(&j->mu);
        pthread_join(j->th, NULL);
        res = j->res;
        if ((res == 1 || res == 0) && j->have_inc) take_incumbent(c, j, asg);
        else if (res == 1 || res == 0) res = -1;
        mipjob_free(j);
        return res;
    }
    /* Past the deadline: take what the worker published and leave; it
     * stops at its next callback and frees the job. */
    res = j->have_inc ? 0 : -1;
    if (j->have_inc) take_incumbent(c, j, asg);
    leftover *lo = fbi_xcalloc(1, sizeof *lo);
    lo->th = j->th;
    pthread_mutex_lock(&g_left_mu);
    lo->next = g_left;
    g_left = lo;
    pthread_mutex_unlock(&g_left_mu);
    j->lo = lo;
    j->left = 1;
    /* Once left is set and the lock released, the worker may free j at
     * its next callback: read what the message needs before that. */
    int verbose = j->verbose;
    pthread_mutex_unlock(&j->mu);
    if (verbose && deadline > 1) /* not from fbi_mip_cancel */
        fprintf(stderr, "mip: left the branch and bound at the deadline (its thread stops at its next "
                "callback)\n");
    return res;
}

void fbi_mip_cancel(fbi_mipjob *j)
{
    if (!j) return;
    if (!j->own_thread) { mipjob_free(j); return; }
    int *scratch = fbi_xmalloc(((size_t)j->c->nw + 1) * sizeof(int));
    fbi_mip_finish(j, scratch, 1); /* a deadline long past: leaves at once */
    free(scratch);
}

int fbi_mip(const fbi_cmp *c, int *asg, int have_asg, double deadline, int verbose)
{
    if (deadline - fbi_mono_ms() < 10) return -1;
    fbi_mipjob *j = fbi_mip_start(c, have_asg ? asg : NULL, deadline, verbose);
    return fbi_mip_finish(j, asg, deadline);
}
