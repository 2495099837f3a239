/*
 * fbk_verb.h - what every verb of a driver does first and last: read its
 * JSON input, check the workload's normal form (docs/spec.md) into typed
 * fields, collect diagnostics with JSON pointers, and write its JSON output
 * into a host->alloc buffer. Part of the driver kit (prefix fbk_); see
 * fbk.h for the memory rules.
 *
 * Threads: verbs run concurrently on one ctx (docs/driver-abi.md); a
 * fbk_ck and a fbk_wl belong to one call, everything else here is pure.
 */
#ifndef FBK_VERB_H
#define FBK_VERB_H

#include "fbk.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A checker: where diagnostics go and how many errors were added. */
typedef struct fbk_ck {
    const fb_host *host;  /* borrowed */
    fb_diag *diag;        /* borrowed */
    const char *drv;      /* driver name, prefixed to every summary */
    int errors;
    int quiet;            /* count errors but add nothing to diag */
} fbk_ck;

/* Adds an error (counted), a warning or a note. pointer: a JSON pointer
 * into the workload or NULL; detail: what to do (may be NULL). All strings
 * are copied by the host. */
void fbk_err(fbk_ck *ck, const char *pointer, const char *detail, const char *fmt, ...)
    FBK_PRINTF(4, 5);
void fbk_warn(fbk_ck *ck, const char *pointer, const char *detail, const char *fmt, ...)
    FBK_PRINTF(4, 5);
void fbk_note(fbk_ck *ck, const char *pointer, const char *detail, const char *fmt, ...)
    FBK_PRINTF(4, 5);

/* Parses a verb's input, which must be a JSON object. new, or NULL with an
 * error diagnostic. */
json_t *fbk_parse_input(fbk_ck *ck, const char *in_json);

/* Serialises j (compact, sorted keys: deterministic) into a host->alloc
 * buffer in *out. Steals j. */
fb_status fbk_emit(fbk_ck *ck, json_t *j, char **out);

/* The fields of a workload's normal form (docs/spec.md) the drivers read.
 * Every pointer is borrowed from the input document. */
typedef struct fbk_wl {
    json_t *doc;              /* the workload object */
    json_t *spec, *metadata;
    const char *kind;         /* "Function" | "Container" */
    const char *name, *tenant, *hash;
    const char *image;        /* NULL when absent */
    const char *runtime, *handler;
    const char *arch;         /* "x86_64" | "arm64" */
    json_t *code;             /* spec.code or NULL */
    long long cpu_m, mem_mib, eph_mib;
    long long min_i, max_i;
    long long target_conc;    /* 0 when unset */
    long long target_rps;     /* 0 when unset */
    int scale_to_zero;
    long long timeout_ms;
    long long req_pm, dur_ms, conc_pi; /* traffic; conc_pi >= 1 */
    int has_gpu;
    json_t *ports;            /* Container ports (array) or NULL */
    json_t *triggers;         /* array or NULL */
    json_t *health;           /* healthCheck object or NULL */
    json_t *env;              /* object or NULL */
    json_t *secrets;          /* array or NULL */
    json_t *labels;           /* metadata.labels or NULL */
    int public_http;          /* a public http trigger or a public http port */
    int http_trigger;         /* a Function has an http trigger */
    int queue_triggers, schedule_triggers;
} fbk_wl;

/* Reads in.workload into *wl. Reports a missing or malformed workload (not
 * an object, no kind/name/spec, a kind other than Function or Container)
 * as errors on ck and returns -1; 0 when it can be used. */
int fbk_wl_load(fbk_wl *wl, json_t *in, fbk_ck *ck);

/* Reads in.placement's service, region and kind (borrowed from in; each
 * NULL when absent; any out pointer may be NULL). Returns 0, or -1 with
 * an error on ck when the input has no placement object. */
int fbk_placement_read(json_t *in, fbk_ck *ck, const char **service, const char **region,
                       const char **kind);

/* Appends {"name": KEY, "value": VALUE} to arr for each spec.env entry,
 * keys in byte order (deterministic documents); non-string values become
 * "". */
void fbk_env_append(json_t *arr, const fbk_wl *wl);

/* Sets "command" and "args" on a container object (Kubernetes, Knative,
 * Cloud Run) from spec.command / spec.args, keeping only their strings;
 * an absent or empty list sets nothing. */
void fbk_set_command_args(json_t *container, const fbk_wl *wl);

/* Where fbk_labels puts what identifies a workload's objects. */
typedef struct fbk_label_keys {
    const char *name;       /* the workload's name */
    const char *managed_by; /* "fedbroker" */
    const char *tenant;
    const char *spec_hash;  /* the first 16 hex digits (a label value is at most 63) */
} fbk_label_keys;

/* The labels every object fedbroker creates carries, so discover can tell
 * its own: the user's string labels (metadata.labels), then, overriding
 * them, the workload's name, managed-by=fedbroker, the tenant and the
 * spec hash's first 16 hex digits (when known) under keys. new. */
json_t *fbk_labels(const fbk_wl *wl, const fbk_label_keys *keys);

/* The placement's service and region (borrowed; NULL when absent). */
const char *fbk_placement_str(json_t *in, const char *key);

/* Integer member of an object, or dflt when absent or not an integer. */
long long fbk_int(json_t *obj, const char *key, long long dflt);

/* Object keys sorted bytewise (deterministic iteration). *n gets the
 * count. new array (free()); the strings are borrowed from obj. */
const char **fbk_sorted_keys(json_t *obj, size_t *n);

/* A secret reference split into its scheme ("aws-sm", "gcp-sm", "k8s",
 * "vault") and the rest. Returns 0, or -1 when ref has no "scheme://". */
int fbk_ref_scheme(const char *ref, char *scheme, size_t n, const char **rest);

/* Portable secrets (docs/identity.md). A spec may name a secret the
 * broker stores (`fedbroker secret put`) as secret://NAME on any provider.
 * Each driver maps it to its own store under a name made from fmt: "%t"
 * is the workload's tenant, "%w" its name, "%n" the NAME, e.g.
 * "aws-sm://fedbroker/%t/%w/%n" (fmt must separate them with a character
 * names cannot hold, so two workloads never map to one secret: each gets
 * its own copy, readable by its own identity, deleted with it). Rewrites
 * in.workload.spec.secrets[i].ref in place (in borrowed) and keeps the
 * portable reference as .portable. A driver whose apply does not copy the
 * value into its store yet passes materialised 0: in the deploy modes
 * (in.mode "apply" or "dry-run") each portable ref is then an error on
 * diag (store: the store's name for the message). Returns the number of
 * errors added. Idempotent: a second call on the same input finds nothing
 * left to map, which is the one change fbk_evaluate's shared input may see
 * (every placement of one driver maps a tenant's NAME the same way). */
int fbk_map_portable_secrets(const fb_host *host, fb_diag *diag, json_t *in, const char *fmt,
                             const char *store, int materialised);

/* Whether the apply input's identity (borrowed; docs/identity.md)
 * considered workload name when it listed the callers: a grant a previous
 * apply made to a caller that is not among ident.callers is withdrawn only
 * when this is 1 (that workload was among the specs applied and no longer
 * calls); a workload outside them keeps its grant. 1 when ident lists no
 * "considered". */
int fbk_identity_considers(const json_t *ident, const char *name);

/* The name of the identity a caller tenant/caller outside a cloud uses to
 * call tenant/callee there (new; docs/identity.md, "Least privilege"):
 * "fbc-", "TENANT-CALLER-CALLEE" cut to max_names characters (then, with
 * trim_dash, without trailing '-'), "-" and 8 hex digits of the SHA-256 of
 * "TENANT/CALLER/CALLEE". The AWS driver names its role so (50, 0), the
 * GCP driver its service account (17, 1); a driver whose pods call them
 * with the platform's own token (k8s) computes the same names. Thread-safe. */
char *fbk_caller_binding_id(const char *tenant, const char *caller, const char *callee, size_t max_names,
                            int trim_dash);
/* The id of the workload identity pool provider for issuer (new): "fb-"
 * and 12 hex digits of its SHA-256 (the GCP driver's providers; the k8s
 * driver names the cluster's in the pods' credential configuration).
 * Thread-safe. */
char *fbk_issuer_provider_id(const char *issuer);
/* The id of the project's workload identity pool those providers are in
 * (made by the GCP driver, named in the k8s driver's pod credentials). */
#define FBK_GCP_POOL_ID "fedbroker"

/* What a running workload needs to fetch its own JWT-SVID from `fedbroker
 * serve` (docs/identity.md, "A workload's own token"), added to env (an
 * object of variables, borrowed) when ident (the apply input's identity,
 * borrowed, may be NULL) has a tokenUrl, each unless env sets it already:
 * FEDBROKER_TOKEN_URL, FEDBROKER_SERVER_ID (the issuer), FEDBROKER_TOKEN_PROVIDER
 * (provider: the driver's name, the request's "provider") and
 * FEDBROKER_SPIFFE_ID. */
void fbk_identity_env(const json_t *ident, const char *provider, json_t *env);
/* Is name one fbk_identity_env may add (FEDBROKER_...)? */
int fbk_identity_env_name(const char *name);

/* The usage documents one evaluate call has made, by a key the driver
 * writes from everything its document depends on besides the call's
 * workload (the same for every placement of the call): placements priced
 * alike (regions of one price group) share one document instead of
 * building it again. A document kept here is never changed afterwards.
 * Made and freed by fbk_evaluate; one thread (the call's). */
#define FBK_EVAL_MEMO 8
typedef struct fbk_eval_memo {
    char *key[FBK_EVAL_MEMO];
    json_t *doc[FBK_EVAL_MEMO];
    size_t n, next;
} fbk_eval_memo;

/* The document kept under key (a new reference), or NULL. */
json_t *fbk_eval_memo_get(const fbk_eval_memo *m, const char *key);
/* Keeps doc (borrowed: the memo takes its own reference) under key (copied);
 * the oldest goes when the memo is full. */
void fbk_eval_memo_put(fbk_eval_memo *m, const char *key, json_t *doc);

/* The two verbs that evaluate (ABI 1.2) combines, on an input already
 * read: in is {"workload", "placement", "hoursPerMonth", "mode"}
 * (borrowed; neither may change it, but for fbk_map_portable_secrets'
 * idempotent rewrite). usage sets *usage (new) on FB_OK. */
typedef struct fbk_eval_ops {
    fb_status (*validate)(fb_driver_ctx *ctx, json_t *in, fb_diag *diag);
    fb_status (*usage)(fb_driver_ctx *ctx, json_t *in, json_t **usage, fb_diag *diag);
    /* Optional (NULL: validate, then usage): both in one, for a driver
     * whose usage would only repeat the checks validate made. Must give
     * exactly what validate then usage give (the same diagnostics on diag,
     * the same usage document): *refused 1 with validate's status when
     * validate refuses, else *refused 0 with usage's status and *usage
     * (new) on FB_OK. memo: the call's documents (fbk_eval_memo). */
    fb_status (*validate_usage)(fb_driver_ctx *ctx, json_t *in, json_t **usage, int *refused,
                                fbk_eval_memo *memo, fb_diag *diag);
} fbk_eval_ops;

/* The evaluate verb (core/fedbroker/driver.h) from a driver's validate and
 * usage: reads in_json once and, for each of its n placements, runs
 * ops->validate and then ops->usage on {"workload", "placement": Pi,
 * "hoursPerMonth", "mode"} with diags[i], exactly as the two verbs would
 * one after the other. drv names the driver in the diagnostics about the
 * call as a whole (on diag). *out: {"results": [...]} in a host->alloc
 * buffer. Thread-safe as ops are. */
fb_status fbk_evaluate(const fb_host *host, const char *drv, const fbk_eval_ops *ops,
                       fb_driver_ctx *ctx, const char *in_json, size_t n, fb_diag *const *diags,
                       char **out, fb_diag *diag);

#ifdef __cplusplus
}
#endif

#endif /* FBK_VERB_H */
