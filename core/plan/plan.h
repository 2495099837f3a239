/* plan.h - placement by cost and latency (internal, prefix fbi_).
 *
 * plan turns specs into a placement problem: every offer of every loaded
 * driver that can estimate is a candidate for each workload of its kind;
 * the driver says how much of what the workload would use there (usage),
 * the catalog prices it (tiers, contracted prices), the latency model says
 * how far it is from the workload's users; constraints remove candidates
 * (with a reason each); the solver (solver.h) places the federation jointly
 * (quotas, links with egress, budgets, affinity, spread). The result is one
 * JSON document that every report format renders (report.h). */
#ifndef FB_PLAN_H
#define FB_PLAN_H

#include <jansson.h>
#include <stdio.h>
#include "broker/broker.h"

/* A hybrid workload placed as two parts (issue 17, docs/simulation.md,
 * "The plan places the split"): plan places the container part and the
 * function part as two workloads of the same tenant, chosen jointly by the
 * solver (a link carries the overflow's responses from the function part
 * back to the gateway beside the containers; a placement budget of the
 * hybrid workload bounds both). The quantities come from the simulator at
 * the baseline it chose: the container part is priced as one replica for
 * the month, its usage lines scaled by the mean replicas
 * (replicas_micro / 10^6); the function part is priced for the overflow
 * requests. Every pointer is borrowed and outlives the plan run. */
typedef struct fbi_plan_split {
    const char *tenant, *name;   /* the hybrid workload */
    json_t *container_doc;       /* normal form: one replica, the workload's egress */
    json_t *function_doc;        /* normal form: the overflow requests a month, named function_name */
    const char *function_name;
    int64_t replicas_micro;      /* mean billed replicas over the profile, x 10^6 */
    uint64_t link_bytes;         /* function -> containers a month: the overflow's responses */
    int64_t budget_micro;        /* the workload's placement budget (micro-USD), 0: none */
    json_t *info;                /* what the document shows under "hybrid_part" */
} fbi_plan_split;
/* The default tolerance of plan's solves (docs/plan.md, "When the solver
 * stops"): a plan within 0.01% of its proven lower bound is not searched
 * further. It is reported as feasible with its bound and gap, never as
 * optimal. */
#define FBI_PLAN_REL_GAP 1e-4
/* Plan's solves split a problem into its independent parts
 * (fbi_solve_parts) from this many workloads on. Smaller ones are solved
 * whole: they are proven in milliseconds either way, and their ties are
 * settled on the whole (fbi_plan_lexmin, up to 16 workloads). */
#define FBI_PLAN_PARTS_MIN 17

typedef struct fbi_plan_opts {
    const char *catalog_dir;   /* NULL: FEDBROKER_CATALOG or the embedded copy */
    const char *overrides;     /* NULL: FEDBROKER_CATALOG_OVERRIDES or none */
    int calendar_hours;        /* 0: 730 h per month; else the hours of that
                                  many days (28..31) */
    const char *export_lp;     /* write the problem as a CPLEX LP file here */
    double time_limit_s;       /* solver limit; <= 0: 10 s */
    double rel_gap;            /* the solver stops once the plan is within this
                                  fraction of its proven bound (fbi_solve_opts):
                                  0 (a zeroed struct): FBI_PLAN_REL_GAP; < 0:
                                  none, only a proof or the time limit stops it */
    int baselines;             /* also solve all-PROVIDER baselines */
    struct fbi_plan_stats *stats;  /* when not NULL: counts added here */
    int no_quotas;                 /* configured quotas not applied (the pricing
                                      plans of hybrid.c: they price offers, place nothing) */
    const fbi_plan_split *splits;  /* hybrid workloads placed as two parts */
    size_t nsplits;
    /* when not NULL: the document is written here as the JSON report
     * (fbi_report_write FBI_REPORT_JSON, byte for byte) while it is built,
     * one workload at a time, and *plan receives it with an empty
     * "workloads" array: a large plan never holds its workloads' JSON all
     * at once (bench/README-plan.md, "Memory") */
    FILE *json_out;
    /* the caller reads no normal form of the spec set after the plan: the
     * plan drops each one (fbi_spec_release) as soon as its workload is
     * evaluated, keeping only what it reads afterwards (memory: a large
     * plan's peak; bench/README-plan.md, "Stop 27") */
    int release_specs;
} fbi_plan_opts;

/* What a plan cost, counted (FEDBROKER_PLAN_STATS=1 prints it): how many
 * workloads (replicas count one each) and candidates (workload x offer of
 * its kind) were considered, how many evaluations they needed (one per
 * workload shape and offer), how often the drivers' validate and usage
 * verbs were called (evaluate_calls: one per shape and driver that has
 * evaluate, for evaluate_candidates candidates in all, which take no
 * validate or usage call), and how often the catalog was opened. */
typedef struct fbi_plan_stats {
    size_t workloads, candidates, evaluations;
    size_t validate_calls, usage_calls;
    size_t evaluate_calls, evaluate_candidates; /* ABI 1.2: candidates batched */
    size_t catalog_opens;
    /* wall time in milliseconds: evaluating the candidates, solving (the
     * plan, ties and the baselines), and the whole of fbi_plan_run */
    double evaluate_ms, solve_ms, total_ms;
} fbi_plan_stats;

/* Plans every workload of set. *plan (new) is the plan document
 * (docs/plan.md); it exists whenever the input was valid, also when the
 * placement is infeasible ("status": "infeasible", with the reasons).
 * *total_nano (may be NULL) receives the plan's total_monthly_cost in
 * nano-USD when the status is FB_OK, the number the document prints
 * (no reason to read it back from the text). Returns FB_OK (feasible),
 * FB_QUOTA (infeasible: constraints leave no placement; the diagnostics
 * say which and what the nearest choice needs), or FB_INVALID (bad input:
 * unknown region or location, traffic missing, contradictory constraints,
 * a broken catalog). */
fb_status fbi_plan_run(fbi_broker *b, fb_spec_set *set, const fbi_plan_opts *opts,
                       json_t **plan, int64_t *total_nano, fb_diag *diag);

/* Formats nano-USD as an exact decimal string with at least 2 decimals
 * ("12.34", "0.000000123", "-1.50"). buf >= 40 bytes. */
char *fbi_nano_str(int64_t nano, char *buf);

#endif
