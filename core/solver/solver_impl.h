/*
 * solver_impl.h - data shared by the solver's files (core/solver*.c).
 * Not installed; nothing outside core/solver*.c includes it.
 *
 * fbi_problem keeps what the caller added ("raw"); fbi_cmp is the compiled
 * form every algorithm works on: options in CSR per workload, capacity groups
 * (one per finite offer capacity plus the caller's groups), budgets, and
 * pair terms. A pair term merges every link and pair constraint between two
 * workloads a < b into one cost matrix over "classes" (regions, or offers
 * when an offer-level constraint is involved) of a and of b, with
 * FBI_FORBID marking class pairs that may not be chosen together.
 */
#ifndef FB_SOLVER_IMPL_H
#define FB_SOLVER_IMPL_H

#include "solver/solver.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

__extension__ typedef __int128 fbi_i128;
/* The best total known so far, shared between the heuristic and the bound
 * thread (-1: none yet). */
typedef _Atomic long long fbi_atomic_money;

#define FBI_FORBID ((int64_t)-1)

typedef struct fbi_sregion { char *name, *provider; int prov; } fbi_sregion;
typedef struct fbi_soffer { char *label; int region; int64_t cap; } fbi_soffer;
typedef struct fbi_sworkload { char *label; int64_t demand; } fbi_sworkload;
typedef struct fbi_soption { int w, o; fbi_money cost; } fbi_soption;
typedef struct fbi_slink { int from, to; int64_t vol; } fbi_slink;
typedef struct fbi_sgroup { char *name; int measure; int64_t cap; int *offers; size_t n; } fbi_sgroup;
typedef struct fbi_sbudget { char *name; fbi_money budget; int *w; size_t n; } fbi_sbudget;
typedef struct fbi_spair { int kind, a, b; int *pairs; size_t npairs; } fbi_spair;

typedef struct fbi_term {
    int a, b;          /* workloads, a < b */
    int by_offer;      /* classes are offers (else regions) */
    int na, nb;        /* number of classes of a and of b */
    int *ca, *cb;      /* class of each local option of a / of b */
    int *ida, *idb;    /* region or offer id of each class */
    int64_t *cost;     /* na x nb, nano-USD, FBI_FORBID where not allowed */
    int has_forbid;
    int nitems;        /* raw links and pair constraints merged here */
} fbi_term;

typedef struct fbi_cmp {
    int nw, no, nr;
    int *ostart;        /* nw + 1: options of w are ostart[w] .. ostart[w+1]-1 */
    int *ooffer;        /* option -> offer */
    fbi_money *ocost;   /* option -> cost (self-links included) */
    unsigned char *alive; /* option not ruled out by arc consistency */
    int64_t *demand;    /* per workload, micro-vCPU */
    int ng;
    int64_t *gcap;      /* scaled: micro-vCPU, or count x FBI_VCPU */
    int *gmeasure;
    int *gowner;        /* offer id for a per-offer capacity, -1 for a group */
    int *og_start, *og; /* offer -> groups */
    int *go_start, *go; /* group -> offers */
    int nb;
    fbi_money *bcap;
    int *wb_start, *wb; /* workload -> budgets */
    int *bw_start, *bw; /* budget -> workloads */
    int nt;
    fbi_term *t;
    int *wt_start, *wt; /* workload -> 2*term + side (0: a, 1: b) */
    int *ocls;          /* option -> index of its region among its workload's */
    int *wncls;         /* workload -> number of regions of its options */
    unsigned char *wregion_terms; /* all terms of w use region classes, so
                                   * their cost depends on ocls only */
    char *reason;       /* infeasibility found while compiling, or NULL */
    int *oregion;       /* offer -> region */
} fbi_cmp;

struct fbi_problem {
    fbi_sregion *reg; size_t nreg, capreg;
    int64_t *egress; size_t egcap; /* nreg x nreg, grown on demand */
    char **prov; size_t nprov, capprov;
    fbi_soffer *off; size_t noff, capoff;
    fbi_sworkload *wl; size_t nwl, capwl;
    fbi_soption *opt; size_t nopt, capopt;
    fbi_slink *link; size_t nlink, caplink;
    fbi_sgroup *grp; size_t ngrp, capgrp;
    fbi_sbudget *bud; size_t nbud, capbud;
    fbi_spair *pair; size_t npair, cappair;
    fbi_cmp *cmp;       /* compiled, or NULL when stale */
};

/* CPU time of the calling thread in ms (0 when the clock is missing). */
static inline double fbi_thread_cpu_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The measure of workload w in group g (micro units). */
static inline int64_t fbi_gweight(const fbi_cmp *c, int g, int w)
{
    return c->gmeasure[g] == FBI_MEASURE_COUNT ? FBI_VCPU : c->demand[w];
}

/* borrowed: the compiled problem (built on first use). */
fbi_cmp *fbi_problem_compile(fbi_problem *p);
/* Egress price region i -> j (nano-USD/GiB). */
int64_t fbi_problem_egress(const fbi_problem *p, int i, int j);
/* volume x price rounded to nano-USD, halves away from zero (base/decimal.h). */
fbi_money fbi_link_cost(int64_t vol_nano_gib, int64_t price_nano_usd);
/* Cost of a term for a local option index of a and of b. */
static inline int64_t fbi_term_cost(const fbi_term *t, int oa, int ob)
{
    return t->cost[(size_t)t->ca[oa] * (size_t)t->nb + (size_t)t->cb[ob]];
}

/* ---- heuristic (solver_heur.c) ---- */
/* Capacity prices handed from the bound thread to the heuristic: lam (per
 * group) and version are guarded by mu; fresh mirrors version for a cheap
 * check without the lock. */
typedef struct fbi_guide {
    pthread_mutex_t mu;
    double *lam;
    int version;
    _Atomic int fresh;
    /* The best lower bound proven so far (the bound thread raises it): a
     * plan that costs no more is optimal, and the search stops there
     * (nothing it could find would replace it). */
    fbi_atomic_money lb;
    /* fbi_solve_opts.rel_gap: a plan within it of lb also stops the
     * search (fbi_gap_slack) */
    double rel_gap;
} fbi_guide;

/* Searches a feasible assignment (local option index per workload, new in
 * *asg) of minimal cost until deadline_ms (fbi_mono_ms clock). guide:
 * capacity prices (borrowed, may be NULL) that steer the constructions away
 * from scarce capacity; when they change, the heuristic constructs again.
 * Returns 0 with *asg and *total, -1 when no feasible assignment was found.
 * best_total (may be NULL) is lowered as better plans are found. */
int fbi_heuristic(const fbi_cmp *c, fbi_guide *guide, double deadline_ms,
                  unsigned seed, int verbose, fbi_atomic_money *best_total, int **asg,
                  fbi_money *total);
/* Large-neighbourhood search (solver_lns.c): until deadline_ms, re-solves
 * a neighbourhood of linked workloads (and those sharing their offers)
 * exactly with GLPK, the others fixed; asg (local options, feasible) and
 * *total are improved in place. Skipped (0) on problems with budgets.
 * Uses GLPK: only one thread may run it. Returns the improvements made. */
int fbi_lns(fbi_problem *p, const fbi_cmp *c, int *asg, fbi_money *total, double deadline_ms, unsigned seed,
            fbi_atomic_money *live, int verbose);
/* Exact total of a feasible local assignment, -1 when infeasible. */
fbi_money fbi_cmp_price(const fbi_cmp *c, const int *asg);

/* ---- bounds (solver_bound.c) ---- */
typedef struct fbi_lagr fbi_lagr;
/* new: Lagrangian state for c (free with fbi_lagr_free). */
fbi_lagr *fbi_lagr_new(const fbi_cmp *c);
void fbi_lagr_free(fbi_lagr *l);
/* The bound searches read the best known total here (borrowed, may be NULL)
 * as the target of their steps. */
void fbi_lagr_set_live_ub(fbi_lagr *l, fbi_atomic_money *ub);
/* Asks the bound searches running on l in another thread to return soon
 * (1), or lets them run again (0). */
void fbi_lagr_stop(fbi_lagr *l, int stop);
/* The bound searches stop once their bound is within rel_gap of the best
 * known total (fbi_gap_slack); 0: once it reaches it. */
void fbi_lagr_set_rel_gap(fbi_lagr *l, double rel_gap);
/* Subgradient iterations until deadline or convergence; ub is the best known
 * total (or -1). Returns the best true bound found so far (nano-USD, floor),
 * or INT64_MIN when the relaxation proved infeasibility. */
fbi_money fbi_lagr_run(fbi_lagr *l, fbi_money ub, double deadline_ms, int max_iter,
                       int verbose);
/* Coordinate ascent on the capacity multipliers (exact line search per
 * group), at most `sweeps` passes. Returns the best true bound so far. */
fbi_money fbi_lagr_ascent(fbi_lagr *l, double deadline_ms, int sweeps, int verbose);
/* The knapsack Lagrangian (assignment rows relaxed, one exact knapsack per
 * offer), started from the capacity Lagrangian's best multipliers; at most
 * max_iter subgradient steps on the assignment multipliers. Returns the
 * best true bound it found (INT64_MIN: infeasible). */
fbi_money fbi_lagr_knap(fbi_lagr *l, fbi_money ub, double deadline_ms, int max_iter, int verbose);
/* The decomposition Lagrangian (a copy of the assignment: per-offer
 * knapsacks on one side, the link terms of a spanning forest solved
 * exactly on the other), started from the capacity Lagrangian's best
 * multipliers; at most max_iter subgradient steps. Returns the best true
 * bound it found (INT64_MIN + 1 when none). */
fbi_money fbi_lagr_decomp(fbi_lagr *l, fbi_money ub, double deadline_ms, int max_iter, int verbose);
/* borrowed: the compiled problem of l. */
const fbi_cmp *fbi_lagr_cmp(const fbi_lagr *l);
/* borrowed: per group multipliers (USD per vCPU or per workload). */
const double *fbi_lagr_group_mult(const fbi_lagr *l);
/* Certified LP bound through GLPK: solves the LP relaxation, plugs its duals
 * into the Lagrangian (exact evaluation) and returns the bound; sets
 * *infeasible when the LP is infeasible. -1 on failure / time out. */
fbi_money fbi_lagr_lp(fbi_lagr *l, double deadline_ms, int *infeasible, int verbose);
/* Exact search with GLPK's branch and bound, seeded with asg (may be NULL).
 * Returns 1 proven optimal (best in asg), 0 time limit (asg improved when
 * possible), 2 proven infeasible, -1 failure. */
int fbi_mip(const fbi_cmp *c, int *asg, int have_asg, double deadline_ms, int verbose);
/* The same in steps, on a thread of its own: start it (c borrowed: must
 * stay alive until finish or cancel returns; asg copied, may be NULL; the
 * search stops at deadline_ms), hand it better plans as they come (offer:
 * copied; used at the branch and bound's next heuristic callback), then
 * finish: waits until the search ends or deadline_ms, whichever is first,
 * and returns as fbi_mip (asg gets the best plan found, left as it is
 * when none). At the deadline the search is left running on its thread
 * until its next callback, where it stops and frees everything itself:
 * finish and cancel free the job (steals). Call start, offer and finish
 * from one thread. */
typedef struct fbi_mipjob fbi_mipjob;
fbi_mipjob *fbi_mip_start(const fbi_cmp *c, const int *asg, double deadline_ms, int verbose);
void fbi_mip_offer(fbi_mipjob *j, const int *asg);
int fbi_mip_finish(fbi_mipjob *j, int *asg, double deadline_ms);
/* Stops the search and frees the job (steals; NULL is fine). */
void fbi_mip_cancel(fbi_mipjob *j);
/* new (caller frees; NULL when none is dropped): per option, the option
 * of the same workload that replaces it in branch and bound, or -1 for the
 * options kept. An option is replaced only by one that is no dearer, no
 * dearer on every pair term against every class of the other side and
 * allowed wherever it is, and counts in no capacity group it does not
 * count in unless that group cannot bind: an optimal plan always exists
 * among the options kept. *ndrop: how many replaced. c borrowed. */
int *fbi_mip_dominated(const fbi_cmp *c, int *ndrop);
/* The optimum (USD) of the LP relaxation of branch and bound's model
 * (dominated options dropped), with or without its conflict rows
 * (solver_bound.c, model_build); -1 when the LP has no optimum. Not a
 * certified bound (floating point): for tests and measurements. Uses
 * GLPK. c borrowed. */
double fbi_mip_root(const fbi_cmp *c, int conflicts);
/* How many region cuts (solver_bound.c, rcut_separate) the branch and
 * bound searches of this process have added so far, all threads together:
 * for tests and measurements. Thread-safe. */
long fbi_mip_region_cuts(void);
/* Waits until every search left running by finish or cancel has ended
 * (they stop at their next callback) or deadline_ms (fbi_mono_ms), joins
 * their threads and returns how many still run. Thread-safe. */
int fbi_mip_drain(double deadline_ms);

#endif
