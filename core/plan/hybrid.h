/*
 * hybrid.h - the offers and unit prices of a hybrid workload (issue 17):
 * the planner places a one-replica Container (the baseline offer), the same
 * image as a Function at a reference volume (the overflow offer) and that
 * Function with one warm instance (the pre-warming price), under the
 * workload's own placement constraints, and reads their contracted monthly
 * costs; the catalog's startup.csv gives each chosen offer's start time.
 * `fedbroker simulate` and the hybrid alternatives of a plan use these.
 * Prefix fbi_hybrid_. Thread: one call per thread (plan runs its own).
 */
#ifndef FB_PLAN_HYBRID_H
#define FB_PLAN_HYBRID_H

#include <jansson.h>
#include <stdint.h>
#include "plan/plan.h"
#include "sim/sim.h"

/* The reference volume the overflow offer is priced at. */
#define FBI_HYBRID_REF_REQUESTS INT64_C(100000000)

typedef struct fbi_hybrid_offer {
    char *provider, *service, *region; /* the plan's choice (new) */
    int64_t month_nano;     /* contracted USD x 1e9 a month (see hybrid.h's top) */
    int64_t start_ms;       /* startup.csv: container_start or cold_start */
    char *start_sku;        /* "provider/service/metric" of the row used (new) */
    char *start_source, *start_as_of, *start_confidence; /* the row's (new) */
} fbi_hybrid_offer;

typedef struct fbi_hybrid_prices {
    fbi_hybrid_offer container; /* month_nano: one replica for 730 h */
    fbi_hybrid_offer function;  /* month_nano: FBI_HYBRID_REF_REQUESTS requests */
    int64_t warm_month_nano;    /* one warm function instance for 730 h, idle (0: not priced) */
    char *warm_offer;           /* "provider:service:region" of the warm price, or NULL */
    int64_t fn_memory_mib, fn_cpu_millis; /* the function instance's size */
} fbi_hybrid_prices;

/* Prices the hybrid workload norm (a Container's normal form, borrowed)
 * with b's drivers and the catalog of opts (baselines off). A function
 * instance serves fconc requests at a time where a replica serves
 * targetConcurrency, so it is sized at fconc / targetConcurrency of the
 * replica's memory and cpu (at least 128 MiB and 50m, the providers'
 * smallest). Returns FB_OK
 * and fills out (fbi_hybrid_prices_free); FB_QUOTA when no offer is left
 * for a part (the plan's reasons in diag); FB_INVALID for bad input. */
fb_status fbi_hybrid_price(fbi_broker *b, const json_t *norm, const fbi_plan_opts *opts,
                           int fconc, fbi_hybrid_prices *out, fb_diag *diag);
void fbi_hybrid_prices_free(fbi_hybrid_prices *p);

/* The step model's parameters for norm (borrowed): meanDuration,
 * targetConcurrency, min/maxInstances and the p99 SLO from the spec; unit
 * prices and start times from pr; fconc, flimit and the target
 * utilisation util (0..1] as given; the rest the model's defaults. */
void fbi_hybrid_params(const json_t *norm, const fbi_hybrid_prices *pr, int fconc, int flimit,
                       double util, fbi_sim_params *p);

/* What plan places for a hybrid workload (plan.h, fbi_plan_split): the
 * two parts' documents (owned here), the simulator's quantities at the
 * baseline it chose and what the document shows of them. */
typedef struct fbi_hybrid_split {
    fbi_plan_split s;       /* pointers into this struct */
    fb_spec_set *docs;      /* owns the parts' normal forms */
    char *tenant, *name, *function_name;
    json_t *info;
    /* what apply deploys (normal forms, new): the workload with its
     * autoscaler's floor at the baseline (at least 1: the gateway beside
     * the containers needs one) and the function part as a dependency, so
     * its URL reaches the containers' environment
     * (FEDBROKER_ENDPOINT_<NAME>_OVERFLOW); the function part with the
     * workload's env, secrets and identity */
    json_t *deploy_container, *deploy_function;
} fbi_hybrid_split;
void fbi_hybrid_split_free(fbi_hybrid_split *h);

/* What plan shows for a Container with placement.strategy hybrid or auto
 * (or burst): the parts' offers, and the five strategies side by side over
 * its profile, each hybrid one at its optimised baseline, with the
 * cheapest that meets the p99 SLO named (docs/simulation.md). *out new:
 * {workload, strategy, containerOffer, functionOffer, profile,
 * alternatives: [...], recommended}. FB_OK, or FB_QUOTA / FB_INVALID with
 * diag as fbi_hybrid_price. */
fb_status fbi_hybrid_compare(fbi_broker *b, const json_t *norm, const fbi_plan_opts *opts,
                             json_t **out, fb_diag *diag);

/* As fbi_hybrid_compare, and when the workload is to be placed as two
 * parts (strategy hybrid or burst: the hybrid strategy; predictive: the
 * hybrid-predictive strategy with its capacity schedule in the parts'
 * scaling.schedule and the info's "schedule", or hybrid with a note when
 * the profile has no time to run a schedule at; auto: whichever of the two
 * is the cheapest of the five strategies that serves every request within
 * the SLO), fills *split (fbi_hybrid_split_free) with *placed 1;
 * else *placed 0 and *out's "placed" says why. hours: the plan's month.
 * pin_c, pin_f ("provider:service:region", or NULL: the cheapest): the
 * offers to simulate at, the pair a plan chose. */
fb_status fbi_hybrid_compare_split(fbi_broker *b, const json_t *norm, const fbi_plan_opts *opts,
                                   double hours, const char *pin_c, const char *pin_f, json_t **out,
                                   fbi_hybrid_split *split, int *placed, fb_diag *diag);

#endif
