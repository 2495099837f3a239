/*
 * solver.h - the placement solver (internal, prefix fbi_).
 *
 * A placement problem: workloads, each placed on exactly one of its feasible
 * offers; offers sit in regions; capacities (per offer, or shared by a group
 * of offers) bound the demand placed; links between workloads cost
 * volume x egress_price[region(from)][region(to)]; group budgets bound the
 * summed cost of a set of workloads; pair constraints tie two workloads
 * (same region, different region, different provider, forbidden offer pairs).
 * Objective: the total monthly cost, minimised.
 *
 * Units (all integers, so totals re-price exactly):
 *   money            nano-USD       (fbi_money, 1 USD = 1e9)
 *   demand/capacity  micro-vCPU     (1 vCPU = 1e6)
 *   volume           nano-GiB       (1 GiB = 1e9)
 *   egress price     nano-USD/GiB
 * The cost of one link on one region pair is volume x price rounded once to
 * the nearest nano-USD (halves away from zero, base/decimal.h); see docs/solver.md.
 *
 * Build a problem with the fbi_problem_add_* calls (or load the JSON format
 * fedbroker-placement-instance/1), then fbi_solve() it. The problem is not
 * thread-safe; a solve may cache derived data in it.
 */
#ifndef FB_SOLVER_H
#define FB_SOLVER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fedbroker/fedbroker.h"

typedef int64_t fbi_money; /* nano-USD */
#define FBI_USD ((int64_t)1000000000)      /* nano-USD per USD */
#define FBI_VCPU ((int64_t)1000000)        /* micro-vCPU per vCPU */
#define FBI_GIB ((int64_t)1000000000)      /* nano-GiB per GiB */
#define FBI_UNLIMITED INT64_MAX             /* an offer without capacity */

typedef enum {
    FBI_MEASURE_VCPU = 0,  /* a group counts the vCPU demand placed on it */
    FBI_MEASURE_COUNT = 1  /* a group counts the workloads placed on it */
} fbi_measure;

typedef enum {
    FBI_PAIR_SAME_REGION = 0,
    FBI_PAIR_DIFFERENT_REGION = 1,
    FBI_PAIR_DIFFERENT_PROVIDER = 2,
    FBI_PAIR_FORBIDDEN_OFFERS = 3
} fbi_pair_kind;

typedef struct fbi_problem fbi_problem;

/* ---- building a problem (every add returns the new index, or -1 with *err
 * (new, free()) when an argument is out of range or negative) ---- */

/* new: an empty problem; fbi_problem_free() it. */
fbi_problem *fbi_problem_new(void);
void fbi_problem_free(fbi_problem *p);
/* A region "provider:region"; strings are copied. Egress from and to it is 0
 * until set. */
int fbi_problem_add_region(fbi_problem *p, const char *name, const char *provider,
                           char **err);
/* USD per GiB (as nano-USD) sent from region `from` to region `to`. */
int fbi_problem_set_egress(fbi_problem *p, int from, int to, int64_t nano_usd_per_gib,
                           char **err);
/* An offer (a service in a region) with its own vCPU capacity in micro-vCPU,
 * or FBI_UNLIMITED. label is copied (may be NULL). */
int fbi_problem_add_offer(fbi_problem *p, const char *label, int region,
                          int64_t capacity_micro_vcpu, char **err);
/* A workload with its vCPU demand (micro-vCPU). label copied (may be NULL). */
int fbi_problem_add_workload(fbi_problem *p, const char *label, int64_t demand_micro_vcpu,
                             char **err);
/* Makes `offer` feasible for `workload` at `cost` nano-USD per month. Adding
 * the same offer again right after (among the workload's options added in a
 * row) is an error; a duplicate added later is kept at the lower cost. */
int fbi_problem_add_option(fbi_problem *p, int workload, int offer, fbi_money cost,
                           char **err);
/* A link: volume nano-GiB per month sent from workload `from` to `to`. */
int fbi_problem_add_link(fbi_problem *p, int from, int to, int64_t volume_nano_gib,
                         char **err);
/* A capacity shared by offers[0..n) (borrowed, copied). capacity is in
 * micro-vCPU for FBI_MEASURE_VCPU and in workloads for FBI_MEASURE_COUNT. */
int fbi_problem_add_group(fbi_problem *p, const char *name, fbi_measure measure,
                          int64_t capacity, const int *offers, size_t n, char **err);
/* A budget: the summed option costs of workloads[0..n) (links not included)
 * must not exceed budget nano-USD. */
int fbi_problem_add_budget(fbi_problem *p, const char *name, fbi_money budget,
                           const int *workloads, size_t n, char **err);
/* A pair constraint between workloads a != b. For FBI_PAIR_FORBIDDEN_OFFERS,
 * offer_pairs holds npairs pairs (offer of a, offer of b) that may not be
 * chosen together; it is ignored for the other kinds. */
int fbi_problem_add_pair(fbi_problem *p, fbi_pair_kind kind, int a, int b,
                         const int *offer_pairs, size_t npairs, char **err);

/* Counts and labels (borrowed). */
size_t fbi_problem_nworkloads(const fbi_problem *p);
size_t fbi_problem_noffers(const fbi_problem *p);
size_t fbi_problem_nregions(const fbi_problem *p);
size_t fbi_problem_nlinks(const fbi_problem *p);
const char *fbi_problem_offer_label(const fbi_problem *p, int offer);
const char *fbi_problem_workload_label(const fbi_problem *p, int workload);
const char *fbi_problem_region_name(const fbi_problem *p, int region);
int fbi_problem_offer_region(const fbi_problem *p, int offer);
int64_t fbi_problem_offer_capacity(const fbi_problem *p, int offer);
int64_t fbi_problem_workload_demand(const fbi_problem *p, int workload);

/* ---- the JSON format ---- */

/* Parses fedbroker-placement-instance/1 text (borrowed) into *out (new).
 * `file` names the input in diagnostics (may be NULL). Every error names its
 * JSON pointer. Returns FB_OK, or FB_INVALID with diagnostics. A workload
 * without feasible offers is accepted here (the solver reports the problem
 * infeasible with that reason). */
fb_status fbi_problem_load_json(const char *text, size_t len, const char *file,
                                fbi_problem **out, fb_diag *diag);

/* ---- pricing ---- */

/* Prices an assignment (offer id per workload, borrowed) exactly and checks
 * every constraint. Returns 0 with *total set, or -1 with *why (new) naming
 * the first violated constraint. */
int fbi_problem_price(fbi_problem *p, const int *offer_of, fbi_money *total, char **why);

/* ---- solving ---- */

typedef enum { FBI_MODE_AUTO = 0, FBI_MODE_EXACT, FBI_MODE_HEURISTIC } fbi_mode;

typedef enum {
    FBI_OPTIMAL = 0,     /* total == lower bound: proven */
    FBI_FEASIBLE = 1,    /* a plan and a true lower bound; gap may be > 0 */
    FBI_INFEASIBLE = 2,  /* proven: no plan meets the constraints (reason) */
    FBI_UNKNOWN = 3      /* no plan found in time, infeasibility not proven */
} fbi_status;

typedef struct fbi_solve_opts {
    fbi_mode mode;
    double time_limit_s;  /* <= 0: 10 s. The result is ready within it (2%,
                           * at most 0.1 s, are kept for pricing); a caller
                           * that spent time before (parsing) passes less */
    unsigned seed;        /* for the randomised parts of the heuristic */
    int verbose;          /* progress to stderr */
    /* Stop searching once the plan is within this fraction of the proven
     * lower bound: (total - bound) <= rel_gap x total. 0: only a proof of
     * optimality stops early. Only where no branch and bound is tried
     * (FBI_MODE_HEURISTIC, or AUTO on a model too large for it): where
     * the exact search is affordable it still runs to a proof. The answer
     * stays honest: a plan stopped this way is FBI_FEASIBLE with its
     * bound and gap, never FBI_OPTIMAL unless bound == total. */
    double rel_gap;
} fbi_solve_opts;

typedef struct fbi_result {
    fbi_status status;
    int *offer;           /* new: offer id per workload (-1 when none) */
    size_t nworkloads;
    fbi_money total;      /* exact re-priced total (valid when a plan exists) */
    fbi_money bound;      /* a true lower bound on the optimum */
    double gap;           /* (total - bound) / total, 0 when total == 0 */
    double seconds;
    char *reason;         /* new: why infeasible / unknown, else NULL */
    const char *bound_method; /* static: "exact", "lp", "lagrangian",
                               * "knapsack-lagrangian",
                               * "decomposition-lagrangian", "trivial" */
    const char *plan_method;  /* static: "mip", "heuristic"; from
                               * fbi_solve_parts also "cheapest" (a lone
                               * workload's cheapest option) and "parts"
                               * (parts solved by different methods) */
    size_t parts;         /* fbi_solve_parts: the independent parts solved
                           * one by one (1: solved whole); 0 from fbi_solve */
    size_t parts_proven;  /* of those, proven optimal */
} fbi_result;

/* The slack rel_gap allows on a plan costing total (nano-USD, >= 0):
 * floor(total x rel_gap), 0 when rel_gap <= 0. A plan is good enough
 * when total - slack <= bound. */
fbi_money fbi_gap_slack(fbi_money total, double rel_gap);

/* Solves p. Fills *r (free it with fbi_result_free). Returns 0, or -1 with
 * *err (new) on an internal failure (not on infeasibility). */
int fbi_solve(fbi_problem *p, const fbi_solve_opts *opts, fbi_result *r, char **err);
void fbi_result_free(fbi_result *r);
/* Solves p as fbi_solve does, but part by part when its workloads fall
 * into independent parts (no link, pair constraint, budget or capacity
 * that can bind ties a workload of one part to one of another): each part
 * is built as a problem of its own and solved by fbi_solve, with the time
 * left shared among the workloads not yet placed; the plans are joined and
 * priced again on p. The total is then the sum of the parts' totals, the
 * bound the sum of their bounds (bound_method "parts" when their methods
 * differ), and the status optimal only when every part is proven. A part
 * found infeasible or without a plan makes it solve p whole (for the
 * reason, in p's numbering) with the time left. Problems of fewer than
 * min_workloads workloads, or of one part, are solved whole. Fills *r
 * (r->parts, r->parts_proven); returns as fbi_solve. docs/solver.md,
 * "Independent parts". */
int fbi_solve_parts(fbi_problem *p, const fbi_solve_opts *opts, size_t min_workloads, fbi_result *r,
                    char **err);
const char *fbi_status_str(fbi_status s);
/* fbi_solve answers at its deadline even when GLPK's branch and bound is
 * in a phase that does not call back (docs/solver.md, "Exact search"):
 * it leaves that search on its own thread, which stops at its next
 * callback. This waits (at most max_wait_s seconds) until every search
 * left so has ended and joins its thread; returns how many still run.
 * A program about to exit calls it so that no thread is alive at exit
 * (valgrind); it need not. Thread-safe. */
int fbi_solve_drain(double max_wait_s);

/* ---- LP export ---- */

/* Writes the problem as a CPLEX LP file that glpsol and cbc read: binary
 * x_W_O per feasible (workload, offer), continuous flow variables per pair
 * term and class pair, objective = total monthly cost in USD. Returns 0 or -1
 * with *err (new) on a write error. */
int fbi_problem_write_lp(fbi_problem *p, FILE *out, char **err);

/* ---- exact decimals ---- */

/* Parses a decimal text ("12", "-0.25", "1.5e3") into value x 10^scale,
 * exactly. Returns 0, or -1 with *why (new) when it is not a number, has
 * more than `scale` decimal places or overflows. */
int fbi_decimal_parse(const char *s, int scale, int64_t *out, char **why);
/* Formats v x 10^-scale as a decimal with at least min_dp decimal places and
 * no trailing zeros beyond them, into buf (>= 32 bytes). Returns buf. */
char *fbi_decimal_format(int64_t v, int scale, int min_dp, char *buf);

#endif
