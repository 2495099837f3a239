/* plan_int.h - what the files of plan/ share (internal to plan/, prefix
 * fbi_plan_). One file per job:
 *   input.c     the catalog, the workloads (replicas) and the input checks
 *   model.c     the cost and latency model: one candidate (a workload shape
 *               on an offer) priced, timed and filtered; the objective's band
 *   evaluate.c  every candidate evaluated once per workload shape, on all
 *               cores
 *   lookup.c    what candidates share: interned texts, and catalog look-ups
 *               (prices, egress, RTT) made once per plan
 *   problem.c   the joint placement problem, its solution, ties, LP export
 *   freetier.c  free tiers netted per billing account
 *   explain.c   why a workload has no candidate left, and the nearest one
 *   document.c  the plan document (docs/plan.md)
 *   plan.c      fbi_plan_run: the steps in order, and the baselines
 *
 * Money: the catalog prices each line item exactly (quantity in micro-units
 * x unit price in pico-USD, rounded half up to micro-USD); links cost
 * volume x egress price per GiB, rounded once to nano-USD by the solver.
 * Everything is summed as integer nano-USD, so every total is the exact sum
 * of its lines. The solver minimises the contracted (negotiated, else list)
 * monthly cost; total_monthly_cost is that objective, the same quantity the
 * exported LP file minimises. Free tiers are pooled per billing account and
 * netted afterwards as credit lines (see free_tier_rule). */
#ifndef FB_PLAN_INT_H
#define FB_PLAN_INT_H

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "plan/plan.h"
#include "catalog/catalog.h"
#include "solver/solver.h"
#include "base/util.h"
#include "base/map.h"

#define NANO_PER_MICRO INT64_C(1000)

/* ---- JSON access (borrowed results; NULL-safe) ---- */
static inline const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static inline json_t *jpath(const json_t *o, const char *a, const char *b)
{
    json_t *x = json_object_get(o, a);
    return b ? json_object_get(x, b) : x;
}

/* 1 when the array of strings arr holds s. */
static inline int in_list(const json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        const char *x = json_string_value(v);
        if (x && s && !strcmp(x, s)) return 1;
    }
    return 0;
}

/* ---- the model's data ---- */

/* One priced line of a candidate. */
/* The latency percentiles the model computes and a latencySLO may name. */
#define PLAN_NPCT 4
extern const char *const fbi_plan_pct_names[PLAN_NPCT]; /* "p50", "p90", "p95", "p99" */
extern const double fbi_plan_pcts[PLAN_NPCT];           /* 0.50, 0.90, 0.95, 0.99 */

typedef struct pline {
    const fbi_price_row *row;
    fbi_qty qty;
    int64_t list_nano, contracted_nano;
    fbi_pusd contracted_unit;
    const char *rule;   /* borrowed override rule id */
    const char *what;   /* static: "usage", "egress-internet" */
    const char *note;   /* interned (fbi_plan_intern), or NULL */
    const char *to;     /* internet egress: the users' location (interned), or NULL */
    uint64_t bytes;     /* internet egress: the bytes of this source's share (all tiers) */
} pline;

/* One offer of the loaded drivers with what the model needs of it, shared
 * by every candidate on it. */
typedef struct offer_info {
    json_t *offer;       /* borrowed from the broker's offers */
    size_t idx;          /* position in model.offers */
    const char *provider, *service, *region, *kind; /* borrowed from offer */
    char *price_provider;
    char *key;           /* catalog region key "provider:region" */
    const fbi_region *reg; /* borrowed; NULL when the catalog lacks it */
    const char *jurisdiction; /* the offer's own "jurisdiction" (borrowed), else NULL: reg's */
    char *label;         /* "provider:service:region" */
    char *placement_text; /* the driver input's "placement", canonical JSON */
    char *region_text;   /* "provider:region", as placement.regions lists it */
    size_t rix;          /* index of key among the offers' distinct keys */
} offer_info;

/* What a passing candidate's lines are priced from: its usage lines
 * (strings interned). The lines themselves are dropped after evaluation
 * (they were most of plan's memory on distinct shapes) and priced again
 * for the candidates a solve chooses (fbi_plan_option_lines). Shared by
 * the candidates of one driver call with the same usage document; refs is
 * changed only by the thread of that call and by fbi_plan_model_free. */
typedef struct priced_line {
    const char *provider, *service, *metric, *variant, *unit, *note;
    fbi_qty qty;
} priced_line;

/* With them, what every candidate priced from one usage document has
 * alike (kept here once rather than in each candidate's block): the
 * driver's notes, the vCPU demand, the cold start and its probability. */
typedef struct priced_from {
    size_t refs;
    priced_line *lines;
    size_t nlines;
    json_t *notes;       /* interned (fbi_plan_intern_json): borrowed */
    int64_t vcpu_micro;  /* scaled by the shape (fbi_plan_scaled) */
    double cold_ms;      /* the usage document's coldStartMs */
    double p_cold;       /* P(cold) of a request (model.c, latency): set with the latency */
} priced_from;

/* The numbers of a candidate's evaluation: its totals, latency and
 * driver notes, and while it passes what its lines are priced from. Kept
 * apart from the candidate (option.ev) because most candidates of
 * distinct shapes have none (66 of a Function's 92 offers are refused by
 * the driver or the filters before anything is priced): a candidate
 * without numbers keeps no block, and reads as all zero (opt_ev). A
 * candidate ruled out for a class whose explanation reads no number
 * (every class but latency and budget) keeps only what a plan without a
 * placement lists of it (its cost and p50, option.brief) once evaluated
 * (model.c, settle). 56 bytes, a 64-byte heap chunk (it was 88 and 96
 * with the mean, p90, p95, p99 and the origin, which are modelled again
 * for the few candidates a document or an explanation shows). */
typedef struct option_eval {
    int64_t list_nano, contracted_nano;
    /* the most free-tier credit (>= 0 nano-USD) the plan's allocation can
     * give this candidate in any joint placement (fbi_plan_credit_bound);
     * computed only when a budget compares net figures */
    int64_t credit_ub_nano;
    /* the modelled p50 (when has_latency): what the solves, the objective
     * and the alternatives read; the other percentiles, the mean and the
     * origin are modelled again where they are shown (fbi_plan_option_latency) */
    double p50_ms;
    /* its priced lines: while it is evaluated, then only once a solve
     * chose it (fbi_plan_option_lines) */
    pline *lines;
    /* while it passes: what its lines are priced from, with its notes,
     * vCPU and cold start (shared; read through opt_src) */
    priced_from *src;
    uint32_t nlines;     /* the capacity of lines follows from it (model.c, add_line) */
    unsigned char in_free_tier; /* a free tier covers one of its lines (ditto) */
    unsigned char has_latency;
} option_eval;
_Static_assert(sizeof(option_eval) <= 56, "an evaluation block fits a 64-byte heap chunk (a quarter of a million of them at 10,000 distinct workloads)");

/* "measured", "same-metro-assumption", "distance-estimate": the origins of
 * a latency, least assumed first (the catalog's fbi_rtt_kind names). */
extern const char *const fbi_plan_origin_names[3];

/* All zero: what a candidate without an evaluation block reads. */
extern const option_eval fbi_plan_no_eval;

/* Why a candidate is out, as a small number (option.cls): 0 for none,
 * else 1 + an index of fbi_plan_classes ("provider", "region", "service",
 * "trigger", "residency", "driver", "price", "latency", "budget"). */
#define PLAN_NCLASSES 9
extern const char *const fbi_plan_classes[PLAN_NCLASSES];
enum { CLS_NONE = 0, CLS_LATENCY = 8, CLS_BUDGET = 9 };

/* One candidate: a workload shape on one offer, and its evaluation. Every
 * workload of the shape shares it (see shape). A federation of 1,000
 * distinct workloads keeps 92,000 candidates, 10,000 keep 920,000
 * (bench/README-plan.md, memory): every field here costs 1 MB per 8 bytes
 * at 1,000, so the record is two-level: this (24 bytes) for every
 * candidate, its numbers and lines (ev) only for those that have any. */
typedef struct option {
    /* the evaluation */
    const char *reason;  /* interned: why it is out (when cls is not CLS_NONE) */
    union {
        /* new, or NULL when every number is zero (read through opt_ev);
         * written only by the thread evaluating the candidate (model.c) */
        option_eval *ev;
        /* when brief: its contracted cost (nano-USD), all a plan without
         * a placement lists of it with brief_p50 (opt_cost) */
        int64_t brief_cost;
    };
    /* when brief: its p50 in tenths of a ms as the document rounds it
     * (round(p50 x 10)), INT32_MIN when it has no latency */
    int32_t brief_p50;
    /* its offer: model.offers[oi] (opt_of; a pointer here was 8 of 32
     * bytes, and fbi_plan_build_workloads keeps the offers under 65,536) */
    uint16_t oi;
    unsigned short cls : 4; /* its verdict: CLS_NONE when it passed (opt_reason_class) */
    /* what this solve adds (RUN_*): the same for every workload of the
     * shape, reset by each solve */
    unsigned short run : 2;
    unsigned short validated : 1, estimated : 1; /* the driver calls it took */
    unsigned short batched : 1; /* ... through one evaluate call with others */
    /* out for a class whose explanation reads no number: ev is gone, and
     * brief_cost and brief_p50 hold what option summaries show (model.c,
     * settle); opt_ev reads all zero */
    unsigned short brief : 1;
} option;
_Static_assert(sizeof(option) == 24, "a candidate record is 24 bytes (a million of them at 10,000 workloads)");

/* The numbers of op's evaluation (borrowed; all zero when it has none, or
 * only a brief: opt_cost and opt_p50_tenths read that). */
static inline const option_eval *opt_ev(const option *op)
{
    return !op->brief && op->ev ? op->ev : &fbi_plan_no_eval;
}

/* The class of op's verdict (static), NULL when it passed. */
static inline const char *opt_reason_class(const option *op)
{
    return op->cls ? fbi_plan_classes[op->cls - 1] : NULL;
}

/* All zero: what a candidate that does not pass reads of opt_src. */
extern const priced_from fbi_plan_no_src;

/* What op is priced from, with its notes, vCPU and cold start (borrowed;
 * all zero unless op passed the evaluation). */
static inline const priced_from *opt_src(const option *op)
{
    return opt_ev(op)->src ? opt_ev(op)->src : &fbi_plan_no_src;
}

/* op's contracted monthly cost in nano-USD, brief or not. */
static inline int64_t opt_cost(const option *op)
{
    return op->brief ? op->brief_cost : opt_ev(op)->contracted_nano;
}

/* op's p50 as the document rounds it, in tenths of a ms (round(p50 x
 * 10)), brief or not: 0, or -1 when it has no latency. */
static inline int opt_p50_tenths(const option *op, double *tenths)
{
    if (op->brief) {
        if (op->brief_p50 == INT32_MIN) return -1;
        *tenths = (double)op->brief_p50;
        return 0;
    }
    if (!opt_ev(op)->has_latency) return -1;
    *tenths = round(opt_ev(op)->p50_ms * 10);
    return 0;
}

/* A candidate's modelled latency (docs/plan.md, "Latency"). */
typedef struct plan_latency {
    double mean_ms;
    double pct_ms[PLAN_NPCT]; /* p50, p90, p95, p99 (fbi_plan_pcts) */
    /* where its round trips come from: 0 none, else 1 + an index of
     * fbi_plan_origin_names (read through opt_latency_origin) */
    unsigned char origin;
} plan_latency;

/* The origin of a latency (static), NULL when it has none. */
static inline const char *opt_latency_origin(const plan_latency *lat)
{
    return lat->origin ? fbi_plan_origin_names[lat->origin - 1] : NULL;
}

/* What one solve of the model (the plan, or a baseline) adds to the
 * evaluation's verdict on a candidate. */
enum { RUN_NONE, RUN_BASELINE, RUN_OBJECTIVE };

/* The workloads that drivers must answer alike: equal normal forms but for
 * metadata (name, tenant, labels, annotations) and specHash (see
 * docs/driver-abi.md, "Plan calls"). Its candidates are evaluated once. */
typedef struct shape {
    char key[65];        /* SHA-256 hex of the canonical form without them */
    /* borrowed: the first workload's document, while the shape is
     * evaluated (then NULL: evaluate.c, release_shape) */
    json_t *doc;
    /* borrowed from the first workload (wl.placement, wl.sources), and
     * its egress_bytes: what is read of the shape after its evaluation */
    const json_t *placement, *sources;
    uint64_t egress_bytes;
    size_t ix;           /* its index in model.shapes */
    const char *kind;
    /* one per offer of its kind, in offer order: made when the shape is
     * evaluated (NULL before; fbi_plan_shape_alloc), so that the records
     * of the shapes not evaluated yet and the normal forms of those
     * evaluated are never all alive together */
    option *opts;
    size_t nopts;
    char *doc_text;      /* canonical JSON of doc while it is evaluated */
    size_t nwl;          /* the workloads of this shape (counted by the document) */
    /* a hybrid container part: every usage quantity (and the vCPU demand)
     * is multiplied by scale_micro / 10^6, the mean replicas; 0: none */
    int64_t scale_micro;
    /* the objective's band in this solve, for its reasons */
    const char *obj;
    double obj_weight, obj_best_lat, obj_best_cost, obj_best_score;
} shape;

/* One workload to place (a replica of a spread workload is one each). */
typedef struct wl {
    /* owned reference (a replica's traffic is scaled) while its shape is
     * evaluated, then NULL (evaluate.c, release_shape): what is read of it
     * afterwards is the three members below. The normal forms were a third
     * of a large plan's heap (bench/README-plan.md, "Stop 27"). */
    json_t *doc;
    /* its spec.traffic.sources (an owned reference; NULL when absent),
     * spec.traffic.egressBytesPerMonth (0 when absent), and spec.placement
     * and metadata.labels (interned: fbi_plan_intern_json; most workloads
     * share a few) */
    json_t *sources;
    json_t *placement, *labels;
    uint64_t egress_bytes;
    size_t spec_i;       /* its item in m->set */
    char *name;          /* "api" or "api#2" */
    /* base: name, or for a replica its workload's name (interned); tenant
     * and kind: the set's (fb_spec_tenant, fb_spec_kind) or static */
    const char *base, *tenant, *kind;
    int replica, nreplicas;
    shape *sh;           /* borrowed */
    option *opts;        /* borrowed: sh->opts, once evaluated (NULL before) */
    size_t nopts;
    int fixed;           /* ties: the only candidate left in, or -1 */
    int part;            /* 0, or a hybrid part: PART_CONTAINER, PART_FUNCTION */
    const fbi_plan_split *split; /* borrowed: the split of a part, else NULL */
    int chosen;
    int sp_w;
    int64_t *credit_nano; /* per line of the chosen candidate: free tier netted (<= 0) */
    fbi_qty *free_qty;
    size_t ncredit;      /* lines credit_nano and free_qty hold */
    /* the budget search (budget.c): a candidate it forces (or -1), and the
     * candidates it rules out (NULL: none) */
    int bb_fixed;
    unsigned char *bb_out;
} wl;

enum { PART_NONE, PART_CONTAINER, PART_FUNCTION };

/* The class of why candidate op of workload w is out of this solve
 * ("baseline", "provider", ..., "objective"; "\x01tie" while ties are
 * settled), NULL when it is in. A baseline's mask comes first (it is
 * checked before everything else). */
static inline const char *opt_class(const wl *w, const option *op)
{
    if (op->run == RUN_BASELINE) return "baseline";
    if (op->cls) return opt_reason_class(op);
    if (op->run == RUN_OBJECTIVE) return "objective";
    if (w->fixed >= 0 && op != &w->opts[w->fixed]) return "\x01tie";
    if ((w->bb_fixed >= 0 && op != &w->opts[w->bb_fixed]) || (w->bb_out && w->bb_out[op - w->opts]))
        return "\x01budget search";
    return NULL;
}

/* ---- lookup.c: catalog look-ups made once per plan ---- */
typedef struct fbi_plan_memo fbi_plan_memo;

/* The price rows of one product (fbi_catalog_find_prices). */
typedef struct plan_prices {
    fb_status st;
    const fbi_price_row **rows;
    size_t n;
    char *err;          /* why not, when st != FB_OK */
} plan_prices;

/* Egress from a region key to a location, region or the internet. */
typedef struct plan_egress {
    fb_status st;
    fbi_egress e;
    char *err;          /* the catalog's first diagnostic, or NULL */
} plan_egress;

/* A round trip (fbi_catalog_user_rtt, fbi_catalog_rtt). */
typedef struct plan_rtt {
    fb_status st;
    double ms;
    fbi_rtt_origin org;
} plan_rtt;

/* Egress between the regions of two offers, as a link pays it. Strings
 * are borrowed from the catalog or the memo. */
typedef struct plan_link_egress {
    int ok;             /* 0: no price, the pair is forbidden */
    int64_t unit_nano;  /* contracted nano-USD per GiB */
    int64_t list_nano;  /* list nano-USD per GiB (the row's own price) */
    const char *kind, *sku, *rule, *note;
    const char *service, *source, *as_of; /* the price row's provenance (NULL: no row) */
} plan_link_egress;

typedef struct model {
    fbi_broker *b;
    fbi_catalog *cat;
    const char *cat_local_metro; /* the offers' location set on cat (borrowed), or NULL */
    const fbi_plan_opts *o;
    fb_spec_set *set;
    double hours;
    char hours_text[32]; /* the driver input's hoursPerMonth */
    offer_info *offers;  /* every offer of the loaded drivers */
    size_t noffers;
    shape **shapes;      /* owned */
    size_t nshapes;
    fbi_smap shape_idx;  /* key -> index in shapes */
    wl *w;
    size_t nw;
    fb_diag *diag;
    int invalid;
    const char *only;    /* the provider of the baseline being solved, or NULL */
    /* the catalog's free-tier rows (borrowed), and whether a budget
     * compares net figures (then every candidate gets credit_ub_nano) */
    const fbi_price_row **ftiers;
    size_t nftiers;
    int need_credit;
    size_t budget_solves; /* the last budget search's solves (0: none was needed) */
    int skip_fed_budgets; /* fbi_plan_build_problem leaves the federations' budgets out */
    /* "tenant\x1fbase" -> the first of its workloads (fbi_plan_find_wl,
     * built on first use; replicas follow their first) */
    fbi_smap wl_by_name;
    char **wl_keys;
    fbi_plan_memo *memo; /* look-ups made once (lookup.c); mutable under a const model */
} model;

/* The offer of candidate op (borrowed from m). */
static inline const offer_info *opt_of(const model *m, const option *op)
{
    return &m->offers[op->oi];
}

/* new: look-ups for nrix distinct region keys (offer_info.rix). */
fbi_plan_memo *fbi_plan_memo_new(size_t nrix);
void fbi_plan_memo_free(fbi_plan_memo *mm);
/* The one copy of s (or of an equal JSON value) the plan keeps: candidates
 * repeat the same reasons and driver notes thousands of times. Borrowed,
 * valid until the memo is freed; any thread. NULL for NULL. */
const char *fbi_plan_intern(const model *m, const char *s);
json_t *fbi_plan_intern_json(const model *m, json_t *v);
/* A new reference to the one JSON string equal to s that the plan keeps
 * (NULL for NULL or text jansson refuses): the document repeats a few
 * hundred distinct strings (services, units, SKUs, sources, dates, prices)
 * on hundreds of thousands of lines, and a jansson string is ~70 bytes.
 * Documents share these values, so nothing may change a string of a plan
 * document in place (json_string_set). Any thread. */
json_t *fbi_plan_json_str(const model *m, const char *s);
/* Borrowed results, valid until the memo is freed; any thread. */
const plan_prices *fbi_plan_find_prices(const model *m, const fbi_price_query *q);
const plan_egress *fbi_plan_egress_to(const model *m, const char *src, const char *dst);
const plan_rtt *fbi_plan_user_rtt(const model *m, const char *location, const char *key);
/* Between the regions of two offers; the thread that builds the problem
 * only. */
const plan_link_egress *fbi_plan_link_egress(const model *m, const offer_info *a,
                                             const offer_info *b);
const plan_rtt *fbi_plan_link_rtt(const model *m, const offer_info *a, const offer_info *b);

/* The reason that goes with opt_class (borrowed, or formatted into
 * buf[200]), NULL when op is in. */
const char *fbi_plan_opt_reason(const model *m, const wl *w, const option *op, char *buf);

/* A link between two placed workloads (replicas: one per pair). */
typedef struct jlink {
    int from, to;           /* indices into m->w */
    int64_t volume_nano_gib;
    int64_t budget_ms;      /* 0: none */
    const char *tenant;
} jlink;

/* The solver's problem built from the model's surviving candidates. */
typedef struct build {
    fbi_problem *p;
    fbi_smap region_idx;    /* region key -> the solver's region index */
    fbi_smap offer_idx;     /* offer label -> the solver's offer index */
    const char **offer_labels; /* borrowed, by the solver's offer index */
    size_t noffers;
    int *sp_of;             /* by offer_info.idx: the solver's offer index, or -1 */
    int *region_of;         /* by offer_info.idx: the solver's region index, or -1
                               (region_index: the links ask it for every pair of candidates) */
    jlink *links;
    size_t nlinks;
} build;

/* ---- input.c ---- */
/* Opens the catalog named by the options or the configuration into m->cat
 * (errors into m->diag). */
fb_status fbi_plan_open_catalog(model *m);
/* The shape of a workload's document: the SHA-256 hex of its canonical
 * form without metadata and specHash (docs/driver-abi.md, "Plan calls"). */
void fbi_plan_shape_key(const json_t *doc, char out[65]);
/* Checks the specs and builds the offers, the workloads and their shapes
 * (candidates not evaluated yet); sets m->invalid (diagnostics in m->diag)
 * for input the model cannot use. */
void fbi_plan_build_workloads(model *m);
/* Makes sh's candidates (sh->opts: sh->nopts, one per offer of its kind in
 * offer order, not evaluated). Writes sh only. */
void fbi_plan_shape_alloc(const model *m, shape *sh);

/* ---- model.c ---- */
/* Evaluates candidate op of shape sh: every filter in order, the driver's
 * verdict and usage, prices, latency, SLO and budget. Reads the model, the
 * catalog and sh; writes op only, so candidates may be evaluated
 * concurrently (the drivers' contexts must exist: fbi_plan_evaluate_all). */
void fbi_plan_evaluate(const model *m, const shape *sh, option *op);
/* The same for n candidates of sh on one driver (consecutive in sh->opts):
 * through one evaluate call when the driver has it (ABI 1.2), adding 1 to
 * *calls (may be NULL) when it did. Thread notes as fbi_plan_evaluate. */
void fbi_plan_evaluate_run(const model *m, const shape *sh, option *ops, size_t n, size_t *calls);
/* Applies the shape's objective (latency, balanced) as a band over the
 * candidates this solve has (RUN_OBJECTIVE on the ones outside it). */
void fbi_plan_apply_objective(shape *sh);
/* Prices op's lines again, for the document and the free tiers, when a
 * solve chose it: 0, or -1 when they no longer add up to the totals of
 * its evaluation (a bug; diagnostic in m->diag). The thread that solves. */
int fbi_plan_option_lines(model *m, const shape *sh, option *op);
/* op's latency modelled again (the evaluation keeps only its p50) into
 * *lat, from sh's traffic sources and op's usage document (its cold start
 * and P(cold)): 0, or -1 (*lat all zero) when op has no latency, or when
 * what it is modelled from is gone or gives another p50 than the
 * evaluation's (a bug: op passed, or is out for its latency, and keeps
 * them). Reads m (the memo's round trips, under its lock), sh and op:
 * any thread, with sh and op not written meanwhile. */
int fbi_plan_option_latency(const model *m, const shape *sh, const option *op, plan_latency *lat);
/* qty (micro-units, or micro-vCPU) of a shape's usage as priced: times
 * the shape's scale (half up) when it has one, else qty. */
int64_t fbi_plan_scaled(const shape *sh, int64_t qty);
/* Frees the workloads, shapes, offers and the catalog. */
void fbi_plan_model_free(model *m);
/* The workloads of tenant named base (a spread workload's replicas, a
 * hybrid's parts: consecutive in m->w): returns how many, and sets *first
 * to the first when there are any. Through an index of m->w built on the
 * first call (m->wl_by_name; the model is otherwise only read), so not
 * concurrently with another call on the same model before that one
 * returns; base may be NULL (none). */
size_t fbi_plan_find_wl(const model *m, const char *tenant, const char *base, size_t *first);

/* ---- usage.c: the drivers' usage documents, read once ---- */
/* One line of a usage document; strings borrowed from the document. */
typedef struct usage_line {
    const char *provider, *service, *metric, *variant, *unit;
    const char *note;    /* interned, or NULL */
    fbi_qty qty;
    int bad;             /* no quantity, or not a decimal: err says why (NULL: missing) */
    char *err;
} usage_line;

/* A usage document as pricing reads it. */
typedef struct plan_usage {
    json_t *doc;         /* owned: the document (the lines' strings are its) */
    priced_from *src;    /* made for the first candidate it passes, then shared */
    json_t *notes;       /* interned, or NULL */
    int64_t vcpu_micro;
    double cold_ms, idle_s; /* coldStartMs, idleTimeoutSeconds (0 when absent) */
    usage_line *lines;
    size_t nlines;
} plan_usage;

/* The results of an evaluate call: of[i] is placement i's (false, null or
 * a usage document: doc says which); equal results share one. */
typedef struct plan_results {
    plan_usage *docs;    /* the distinct ones */
    size_t ndocs;
    plan_usage **of;     /* k, borrowed from docs */
} plan_results;

/* Reads doc (stolen; any JSON value) into u. */
void fbi_plan_usage_read(const model *m, json_t *doc, plan_usage *u);
void fbi_plan_usage_clear(plan_usage *u);
/* Reads an evaluate call's output text for k placements into r: 0, or -1
 * (r empty) when it is not JSON with a "results" array of k. */
int fbi_plan_results_read(const model *m, const char *text, size_t k, plan_results *r);
void fbi_plan_results_free(plan_results *r);

/* ---- evaluate.c ---- */
/* Evaluates every candidate of every shape, each once, on all cores. */
void fbi_plan_evaluate_all(model *m);

/* ---- explain.c ---- */
/* Appends to why (and to m->diag) why w has no candidate left and what the
 * nearest one needs. */
void fbi_plan_explain_infeasible(model *m, wl *w, json_t *why);

/* ---- problem.c ---- */
/* Builds the solver's problem from the surviving candidates into bd. */
void fbi_plan_build_problem(model *m, build *bd);
/* The solver's stopping gap for this plan: the option's, FBI_PLAN_REL_GAP
 * when 0, none when negative. Every solve of one plan uses it, so a budget
 * search stops where the plan's own solve does. */
double fbi_plan_solve_gap(const model *m);
void fbi_plan_build_free(build *bd);
/* volume x price / 10^9, the solver's rounding (docs/solver.md). */
int64_t fbi_plan_link_cost(int64_t vol_nano_gib, int64_t nano_per_gib);
/* Solves the model (relaxing the objective's band when only it stands in
 * the way). bd and r receive the problem and result; relaxed the names of
 * the workloads whose band was relaxed; why the reason when no placement
 * exists. *solved is 1 when r holds a plan. Returns FB_OK or FB_INTERNAL
 * (the solver failed; diagnostics in m->diag). */
fb_status fbi_plan_solve(model *m, build *bd, fbi_result *r, json_t *relaxed, json_t *why,
                         int *solved);
/* Replaces a proven-optimal plan of a small federation by the first
 * optimal plan in offer order. Returns 1 when bd and r were replaced. */
int fbi_plan_lexmin(model *m, build *bd, fbi_result *r, double time_limit);
/* Writes the problem as a CPLEX LP file; FB_OK or FB_INVALID (m->diag). */
fb_status fbi_plan_export_lp(model *m, const build *bd, const char *path);

/* ---- freetier.c ---- */
/* Nets each free tier over the chosen lines; returns the credit rows (new)
 * and their sum in *credit_total. Each workload's credit_nano and free_qty
 * are replaced (so it may run once per solve of the budget search). */
json_t *fbi_plan_free_tiers(model *m, int64_t *credit_total);
/* Does free-tier row f cover the priced usage row u? */
int fbi_plan_free_covers(const fbi_price_row *f, const fbi_price_row *u);
/* Fills m->ftiers from the catalog. */
void fbi_plan_free_rows(model *m);
/* The most credit (>= 0 nano-USD) the allocation of fbi_plan_free_tiers
 * can give a candidate with these lines, whatever else is placed: per
 * line, the rounded-up share of min(allowance, its own quantity) that it
 * would get alone, which no sharer can raise (docs/plan.md, Budgets).
 * Reads m (any thread). */
int64_t fbi_plan_credit_bound(const model *m, const pline *lines, size_t n, unsigned char *covered);

/* ---- budget.c: budgets and the figures they are compared with ---- */
typedef enum { BASIS_NET = 0, BASIS_CONTRACTED, BASIS_LIST } budget_basis;
/* The basis of a normal form's budget object (NULL: none; absent: net). */
budget_basis fbi_plan_basis(const json_t *budget);
/* "net after free tiers", "contracted (before free tiers)", "at list prices" */
const char *fbi_plan_basis_words(budget_basis b);
/* How much more a federation's budget may be in the solver's terms
 * (contracted option costs) than in its own, for workload w over the
 * candidates the solve has: the largest (contracted - figure) of them,
 * >= 0. */
int64_t fbi_plan_budget_slack(const wl *w, budget_basis b);
/* After a solve found a plan (bd, r): does every budget hold on the
 * figure its basis names, computed as the document computes it (the
 * chosen lines and the free tiers allocated over the whole plan)? Sets
 * each workload's chosen. Returns 1 when all do, 0 with *viol (new text)
 * naming the first that does not and, in members (new, may be NULL), the
 * indices of the workloads its figure depends on: its members, then the
 * receivers outside a federation of the links its members send. */
int fbi_plan_budgets_hold(model *m, const build *bd, const fbi_result *r, char **viol,
                          size_t **members, size_t *nmembers, budget_basis *basis);
/* The budgets of the plan with the figure each was compared with (new
 * array), after fbi_plan_free_tiers ran on the chosen candidates; bd
 * (borrowed) holds the links a federation's figure adds. */
json_t *fbi_plan_budgets_json(model *m, const build *bd);
/* The budget search: when the solver's plan (whose budgets were relaxed
 * to what the figures could at best allow) breaks a budget, branch on the
 * workloads its figure depends on (force the candidate, or rule it out)
 * and solve again, until a plan keeps every budget or none can (bd and r
 * replaced with the best plan, r->bound and status honest; *why new text
 * when there is none). Returns FB_OK, or FB_INTERNAL when the solver
 * failed. */
/* When no plan exists and a federation has a budget: the nearest
 * relaxation of the budgets (new text), from the cheapest plan without
 * the federations' budgets and the figures it breaks; NULL when that
 * does not help (no such plan, or it keeps every budget). */
char *fbi_plan_budget_relaxation(model *m);
fb_status fbi_plan_budget_search(model *m, build *bd, fbi_result *r, int *solved, char **why,
                                 char **nearest);

/* ---- document.c ---- */
/* An exact decimal string of nano-USD (new). */
json_t *fbi_plan_nano_json(int64_t nano);
/* The plan document's fixed part: format, time, currency, hours, catalog,
 * the rules in words (new). */
json_t *fbi_plan_document_new(model *m);
/* Fills the plan document from the solved model: the workloads with their
 * lines and alternatives, links, free tiers, totals; or the reasons when
 * no plan exists. solver_info is stolen; baselines (borrowed, may be
 * NULL) are the single-provider rows, added with their savings over the
 * plan (baseline_totals: each row's total, -1 when infeasible) when the
 * lines add up. *total is the contracted monthly total in nano-USD. When
 * stream is not NULL the document is written to it as the JSON report
 * (fbi_report_json_stream_arrays), one link's and one workload's JSON at a
 * time, and plan keeps empty "links" and "workloads" arrays; *write_failed (may be NULL) is set when
 * writing failed. Returns FB_OK, or FB_INTERNAL when the lines do not add
 * up to the solver's total. */
fb_status fbi_plan_document_fill(model *m, build *bd, const fbi_result *r, int solved,
                                 json_t *why, json_t *solver_info, json_t *baselines,
                                 const int64_t *baseline_totals, json_t *plan, int64_t *total,
                                 FILE *stream, int *write_failed);

#endif
