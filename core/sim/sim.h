/*
 * sim.h - the step model of `fedbroker simulate` (prefix fbi_sim_): a traffic
 * profile replayed step by step through five strategies (static peak,
 * reactive containers, functions only, hybrid, hybrid with predictive
 * pre-warming), and the baseline optimiser. The model is documented in
 * docs/simulation.md; every constant below is a parameter there.
 *
 * Pure computation: no I/O, no catalog. Prices come in as the plan priced
 * them (nano-USD for a reference quantity), so the money here is computed
 * once, as integers, from quantities the model counts.
 * Thread: no shared state; parameters and results belong to the caller.
 */
#ifndef FB_SIM_H
#define FB_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "spec/profile.h"

typedef enum fbi_sim_strategy {
    FBI_SIM_STATIC_PEAK = 0,
    FBI_SIM_REACTIVE,
    FBI_SIM_FUNCTIONS,
    FBI_SIM_HYBRID,
    FBI_SIM_HYBRID_PREDICTIVE,
    FBI_SIM_NSTRATEGIES
} fbi_sim_strategy;

/* "static-peak", "reactive", "functions-only", "hybrid", "hybrid-predictive". */
const char *fbi_sim_strategy_name(fbi_sim_strategy s);
/* The strategy named s, or -1. */
int fbi_sim_strategy_parse(const char *s);

typedef struct fbi_sim_params {
    double duration_s;      /* traffic.meanDuration */
    int conc;               /* scaling.targetConcurrency: concurrent requests a replica serves */
    double target_util;     /* HPA target utilisation of conc (0 < u <= 1) */
    int64_t sync_s;         /* HPA sync period */
    int64_t stabilise_s;    /* HPA scale-down stabilisation window */
    double start_s;         /* container start time (catalog) */
    double cold_ms;         /* function cold start (catalog) */
    int fconc;              /* concurrent requests per function instance */
    int flimit;             /* function concurrency limit, in instances */
    int64_t keepalive_s;    /* an idle function instance stays warm this long */
    int min_replicas;       /* scaling.minInstances (reactive floor) */
    int max_replicas;       /* scaling.maxInstances (every container strategy's ceiling) */
    int baseline;           /* hybrid container floor */
    double slo_p99_ms;      /* placement.latencySLO.p99 (0: none) */
    /* prices as the plan priced them: nano-USD per month (730 h) of one
     * replica; per fn_ref_requests requests on the function offer (duration
     * included); per month of one pre-warmed function instance */
    int64_t replica_month_nano;
    int64_t fn_ref_nano;
    int64_t fn_ref_requests;
    int64_t fn_warm_month_nano;
} fbi_sim_params;

/* Sets the documented defaults (target_util 0.7, sync 15 s, stabilise
 * 300 s, fconc 1, flimit 1000, keepalive 600 s, min 1, max 100). */
void fbi_sim_params_default(fbi_sim_params *p);

/* One step of one strategy (what the per-step table prints). */
typedef struct fbi_sim_step {
    int64_t t;              /* seconds since the profile's start */
    double rps, load_pct;   /* offered rate; % of the baseline rate (the first step's) */
    double containers;      /* replicas running (billed), time-weighted over the step */
    int functions;          /* function instances busy */
    int warm;               /* function instances pre-warmed (predictive) */
    int scheduled;          /* replicas the forecast's schedule asks for (predictive; else 0):
                               the floor a driver's scheduled scaling sets for the step */
    double util;            /* container utilisation: busy concurrency / (replicas x conc) */
    double req_containers, req_functions; /* requests served by each */
    double cold;            /* cold starts */
    double over_slo;        /* requests dropped, throttled or queued past the SLO */
    double latency_ms;      /* mean latency of the requests served */
} fbi_sim_step;

/* Called once per step when given; ctx passed back. */
typedef void (*fbi_sim_step_fn)(void *ctx, fbi_sim_strategy s, const fbi_sim_step *st);

typedef struct fbi_sim_result {
    fbi_sim_strategy strategy;
    double offered, served_containers, served_functions, over_slo; /* requests */
    double availability;    /* served within the model / offered */
    double mean_util;       /* replica-time weighted */
    double p99_ms;          /* p99 of the requests' modelled latency (histogram) */
    double cold_starts;
    double replica_seconds, warm_seconds;
    double min_containers, max_containers;
    int max_functions;
    double scaleout_mean_s, scaleout_max_s; /* after each rise of more than 10% */
    int rises;
    int64_t cost_nano;      /* over the profile */
    int64_t monthly_nano;   /* the profile's cost scaled to 730 h */
    int slo_met;            /* p99 <= slo (1 when there is no SLO) */
    /* predictive only: the forecast and its backtest */
    const char *forecast;   /* static: "seasonal-naive", "holt-winters", "schedule" */
    double backtest_mape;   /* mean absolute % error of the chosen forecast; -1: none */
} fbi_sim_result;

/* Replays prof through strategy s. step_fn may be NULL. Returns 0, or -1
 * with *err (new) for parameters out of range. */
int fbi_sim_run(const fbi_profile *prof, const fbi_sim_params *p, fbi_sim_strategy s,
                fbi_sim_step_fn step_fn, void *ctx, fbi_sim_result *out, char **err);

/* The baseline that minimises the hybrid (or hybrid-predictive) monthly
 * cost with the p99 SLO met (the cheapest overall when none meets it, with
 * *met 0; ties: the smaller baseline). Evaluates every baseline from 0 to
 * the replicas the peak needs when that is at most 4 million simulated
 * steps; for longer profiles it sweeps a coarse copy (the mean rate over
 * windows, 8,760 steps) and then the full profile within 2 of the coarse
 * optimum (a heuristic, measured by bench/sim_bench.sh). Returns 0 or -1
 * with *err (new). *evals: how many simulations it ran (may be NULL). */
int fbi_sim_optimise(const fbi_profile *prof, const fbi_sim_params *p, fbi_sim_strategy s,
                     int *baseline, int *met, int *evals, char **err);

#endif
