/*
 * gcp.h - internals of the "gcp" driver (Cloud Run, Cloud Functions 2nd
 * gen, GKE Autopilot), shared by its source files. Nothing here is exported
 * from the module (-fvisibility=hidden). Prefix: gcp_. Memory as in the kit
 * (drivers/kit/fbk.h): "new" results are malloc()ed or new json_t
 * references, "borrowed" arguments are only read during the call.
 */
#ifndef FB_DRIVERS_GCP_H
#define FB_DRIVERS_GCP_H

#include "fbk_k8s.h"
#include "fbk_decimal.h"
#include "fbk_google.h"

#define GCP_DRV "gcp"
#define GCP_MAX_REGIONS 64
#define GCP_MAX_MIRRORS 16

/* A Cloud Run region and its price group (tier1/tier2, the catalog's
 * regions.csv price_group column, from infracost's regionTierMapping). */
typedef struct gcp_region {
    const char *id;
    const char *tier;
} gcp_region;

/* Every region where Cloud Run (and so Cloud Run functions and GKE
 * Autopilot) is offered, in the order offers lists them. */
extern const gcp_region gcp_regions[];
extern const size_t gcp_nregions;

/* A registry host Cloud Run cannot pull from, mapped to an Artifact
 * Registry remote repository that proxies it. */
typedef struct gcp_mirror {
    char host[128];
    char repo[256];
} gcp_mirror;

/* The Google APIs the driver calls, each with its endpoint setting. */
typedef enum gcp_api {
    GCP_API_RUN = 0,       /* run.googleapis.com, v2 */
    GCP_API_FUNCTIONS,     /* cloudfunctions.googleapis.com, v2 */
    GCP_API_SCHEDULER,     /* cloudscheduler.googleapis.com, v1 */
    GCP_API_PUBSUB,        /* pubsub.googleapis.com, v1 */
    GCP_API_SECRETS,       /* secretmanager.googleapis.com, v1 */
    GCP_API_IAM,           /* iam.googleapis.com, v1: workload identity (gcp_identity.c) */
    GCP_API_N
} gcp_api;

/* Google's ID token certificates as last fetched (gcp_attest.c): one
 * set at a time, kept for its Cache-Control max-age; thread-safe. */
typedef struct gcp_certs gcp_certs;

/* The host table, set once by fb_driver_entry. */
extern const fb_host *gcp_host;

/* Driver state made by configure: read-only afterwards, except `auth`,
 * which guards its own token cache (verbs run on up to 64 threads). */
struct fb_driver_ctx {
    char project[64];
    char service_account[256];
    char source_bucket[128];
    char gke_cluster[64];
    char gke_namespace[64];
    const gcp_region *regions[GCP_MAX_REGIONS];
    size_t nregions;
    gcp_mirror mirrors[GCP_MAX_MIRRORS];
    size_t nmirrors;
    char *endpoints[GCP_API_N]; /* base URLs, no trailing '/' (settings.endpoints) */
    char invoker_sa[256];       /* OIDC identity of Scheduler jobs and push subscriptions */
    int64_t op_timeout_ms;      /* settings.operationTimeout: how long an operation may run */
    fbk_gauth *auth;            /* Application Default Credentials (new) */
    char *certs_url;            /* settings.certsUrl: Google's ID token certificates (attest) */
    gcp_certs *certs;           /* the cache of those certificates (new; guards itself) */
};

/* The services, by placement.service. */
typedef enum gcp_service {
    GCP_RUN = 0,       /* "cloud-run" */
    GCP_FUNCTIONS = 1, /* "cloud-functions" (2nd gen) */
    GCP_AUTOPILOT = 2, /* "gke-autopilot" */
    GCP_UNKNOWN = -1
} gcp_service;

/* What a workload becomes on one service after the platform's rules:
 * resources rounded to what it accepts, concurrency, billing mode. */
typedef struct gcp_shape {
    gcp_service svc;
    const gcp_region *region;
    long long cpu_m, mem_mib, eph_mib;
    long long conc;         /* maxInstanceRequestConcurrency */
    long long min_instances; /* what is deployed and priced as always running:
                               minInstances, or 1 when scaleToZero is false
                               (Cloud Run, Cloud Functions); max(min, 1) pods
                               on GKE Autopilot */
    int instance_based;     /* Cloud Run: CPU always allocated */
    int gen1;               /* Cloud Run execution environment */
    long long timeout_s;
    const char *runtime;    /* Cloud Functions runtime id, e.g. "python312" */
    char entry_point[160];
    char image[1024];       /* the image to deploy (after registry mirrors) */
    int event_function;     /* Cloud Functions: a queue (Pub/Sub) trigger */
    int shape_errors;       /* errors about placement, resources or timeout:
                               usage cannot price what has them */
} gcp_shape;

/* Checks a workload against a placement and works out its shape. Every
 * problem (error), rounding (note) and caveat (warning) goes to ck.
 * Returns 0 when the workload can be placed (ck->errors == 0). */
int gcp_check(fb_driver_ctx *ctx, json_t *in, fbk_wl *wl, gcp_shape *sh, fbk_ck *ck);

/* The service named s, or GCP_UNKNOWN. */
gcp_service gcp_service_of(const char *s);
const char *gcp_service_name(gcp_service s);

/* The region entry for id among the configured ones (NULL when absent). */
const gcp_region *gcp_find_region(fb_driver_ctx *ctx, const char *id);

/* Kubernetes rendering options for GKE Autopilot with the shape's
 * resources. */
void gcp_autopilot_opts(fb_driver_ctx *ctx, const gcp_shape *sh, fbk_k8s_opts *o);

/* Splits a Secret Manager reference, "gcp-sm://projects/P/secrets/S[/versions/V]"
 * or "gcp-sm://S[/versions/V]" (project dflt_project), into its parts
 * (buffers of n bytes; version "latest" when absent). Returns 0, or -1 with
 * *why (static text). */
int gcp_parse_secret(const char *ref, const char *dflt_project, char *project, char *secret,
                     char *version, size_t n, const char **why);

/* One document of render (and the dry run): api, kind of body, method,
 * path, body (stolen). new. */
json_t *gcp_doc(const char *api, const char *kind, const char *method, const char *path, json_t *body);
/* Provider documents (new JSON array) for a checked workload. */
json_t *gcp_render_docs(fb_driver_ctx *ctx, const fbk_wl *wl, const gcp_shape *sh, fbk_ck *ck);

/* Monthly billing quantities (new {"lines", "notes", "coldStartMs",
 * "vcpu"}) for a checked workload. */
json_t *gcp_usage_doc(const fbk_wl *wl, const gcp_shape *sh);

/* ---- what deploy sends (gcp_render.c; render shows the same) -------------------- */

/* The GoogleCloudRunV2Service body (new). */
json_t *gcp_run_body(fb_driver_ctx *ctx, const fbk_wl *wl, const gcp_shape *sh);
/* The Cloud Functions v2 Function body (new) with its source in bucket /
 * object (the generateUploadUrl answer; render shows the source bucket). */
json_t *gcp_function_body(fb_driver_ctx *ctx, const fbk_wl *wl, const gcp_shape *sh, const char *bucket,
                          const char *object);
/* The labels every object carries (new): the user's, workload, managed-by,
 * tenant, spec-hash. */
json_t *gcp_labels_of(const fbk_wl *wl);
/* The service's (or function's) id: the workload's name. borrowed. */
const char *gcp_resource_id(const fbk_wl *wl);

/* One schedule or queue trigger as deploy wires it (new array of
 * {"kind": "schedule"|"queue", "index", "id", ...}):
 *   schedule: {"job": full job name, "body": the Cloud Scheduler Job for
 *              target uri (NULL: a placeholder render shows)}
 *   queue:    {"topic": full topic name, "subscription": full name or
 *              absent (functions: their eventTrigger), "body": the
 *              Subscription for push endpoint uri}
 * uri: the service's (function's) URL, or NULL before it is known. */
json_t *gcp_trigger_specs(fb_driver_ctx *ctx, const fbk_wl *wl, const gcp_shape *sh, const char *uri);

/* The service account the workload runs as (settings.serviceAccount) and
 * the one Scheduler and Pub/Sub sign their OIDC tokens with
 * (settings.invokerServiceAccount, else serviceAccount): "" when unset. */
const char *gcp_runtime_sa(fb_driver_ctx *ctx);
const char *gcp_invoker_sa(fb_driver_ctx *ctx);

/* ---- calls (gcp_api.c) -------------------------------------------------------------- */

/* One REST call. path is the wire path under the API's endpoint
 * ("v2/projects/P/locations/R/services/S", segments already encoded),
 * query the wire query without '?' or NULL. */
typedef struct gcp_req {
    gcp_api api;
    const char *what;    /* "services.create", for messages */
    const char *method;
    const char *path;
    const char *query;
    const json_t *body;  /* borrowed; NULL = no body */
    uint32_t flags;      /* FB_HTTP_* */
} gcp_req;

/* What came back. */
typedef struct gcp_res {
    long status;         /* HTTP status; 0 in a dry run */
    json_t *body;        /* the parsed answer (new) or NULL */
    char *code;          /* google.rpc status ("NOT_FOUND") of an error answer (new) */
    char *message;       /* its message (new) */
    fb_status err;       /* FB_OK for a 2xx (and in a dry run), else the mapped status */
} gcp_res;

void gcp_res_clear(gcp_res *r);

/* Sends rq with a Google access token (ctx->auth) through host->http.
 * FB_OK when an answer came back (look at res->err) or the host recorded
 * the request (dry run); another status when no answer came (the host or
 * the auth added a diagnostic). */
fb_status gcp_call(fb_driver_ctx *ctx, fb_diag *diag, const gcp_req *rq, gcp_res *res);
/* gcp_call for a request whose body holds secret (a secret's payload): the
 * host redacts it wherever it shows the request. */
fb_status gcp_call_secret(fb_driver_ctx *ctx, fb_diag *diag, const gcp_req *rq, const char *secret, gcp_res *res);

/* Adds an error diagnostic for a failed answer ("gcp: run services.create
 * failed: HTTP 400 INVALID_ARGUMENT: ...", field violations in the detail)
 * and returns res->err. */
fb_status gcp_fail(fb_diag *diag, const gcp_req *rq, const gcp_res *res, const char *hint);

/* Waits for a long-running operation (op borrowed: the answer of the
 * mutating call) of api to finish: operations.get polled with backoff (1 s,
 * x2, at most 60 s apart) through host->sleep_ms until it is done or
 * ctx->op_timeout_ms of waiting have passed. A finished operation's
 * "error" is an error diagnostic (its code mapped to a status). *result
 * (may be NULL) gets the operation's "response" (new) or NULL. */
fb_status gcp_wait(fb_driver_ctx *ctx, fb_diag *diag, gcp_api api, const char *what, const json_t *op,
                   json_t **result);

/* Finds an unfinished operation of api in parent (projects/P/locations/R)
 * working on target (a service's or function's name: one another run
 * started, e.g. before a crash) and waits for it as gcp_wait does. *found
 * says whether there was one. */
fb_status gcp_wait_pending(fb_driver_ctx *ctx, fb_diag *diag, gcp_api api, const char *parent, const char *target,
                           int *found);

/* Reads a policy (GET resource:getIamPolicy, version 3) and, when it lacks
 * (add) or has (!add) member in role, writes it back with its etag
 * (setIamPolicy); a concurrent change (409 ABORTED) restarts the read-
 * modify-write, at most 5 times. path: the resource's wire path. *changed
 * (may be NULL) says whether a write was needed. In a dry run the policy
 * written is the binding alone, as render shows it. */
fb_status gcp_iam_member(fb_driver_ctx *ctx, fb_diag *diag, gcp_api api, const char *path, const char *role,
                         const char *member, int add, int *changed);
/* A resource's policy (GET or POST path:getIamPolicy, version 3; reads
 * only): *policy new ({} when the answer has no body). */
fb_status gcp_iam_policy(fb_driver_ctx *ctx, fb_diag *diag, gcp_api api, const char *path, json_t **policy);
/* Whether member holds role in resource's policy (reads only). *holds set. */
fb_status gcp_iam_holds(fb_driver_ctx *ctx, fb_diag *diag, gcp_api api, const char *path, const char *role,
                        const char *member, int *holds);

/* Lists every item of a paged collection (path, key: "services",
 * "functions", "jobs", ...) into items (appended, new references). */
fb_status gcp_list(fb_driver_ctx *ctx, fb_diag *diag, gcp_api api, const char *what, const char *path,
                   const char *key, json_t *items);

/* Appends {"field", "want", "live"} to drift for every member of want
 * (objects: recursively; arrays: by element, or whole when the lengths
 * differ) that live lacks or has another value for: what the server
 * defaults or adds is not drift. prefix names the root ("template"). The
 * return value is non-zero when anything differed. */
int gcp_drift(const json_t *want, const json_t *live, const char *prefix, json_t *drift);

/* Whether an object's labels say fedbroker manages it for this workload:
 * 1 ours, 0 not fedbroker's, -1 fedbroker's but another tenant's or
 * workload's. */
int gcp_labels_ours(const json_t *labels, const fbk_wl *wl);

/* discover's row for a resource (new): {type, id: name, name: its last
 * segment, region (when given), managed: our labels, workload, tenant}. */
json_t *gcp_found(const char *type, const char *name, const char *region, const json_t *labels);
/* Adds to r (a gcp_found row, borrowed) "endpoints": [{url, health?}]
 * (docs/driver-abi.md) when r is a managed workload's and url (borrowed,
 * may be NULL) is set; health NULL = not given. */
void gcp_found_endpoint(json_t *r, const char *url, const char *health);

/* Records a created resource through host->record (not in a dry run),
 * unless the previous deployment (may be NULL) already has it. */
fb_status gcp_record(fb_diag *diag, const json_t *prev, const char *type, const char *id, const char *region,
                     const char *name);

/* ---- identity (gcp_identity.c, docs/identity.md) ------------------------------------ */

/* What gcp_identity_bind made or found (all new; NULL when the input has
 * no identity). */
typedef struct gcp_identity {
    char *pool;      /* projects/N/locations/global/workloadIdentityPools/fedbroker */
    char *provider;  /* POOL/providers/ID: a token's audience is //iam.googleapis.com/ + this */
    char *email;     /* the workload's service account */
    char *principal; /* principal://iam.googleapis.com/POOL/subject/<SPIFFE ID> */
    int external;    /* a caller outside Google Cloud (ingress all; IAM still checks) */
    json_t *env;     /* what the workload needs to fetch its own token (fbk_identity_env:
                        FEDBROKER_TOKEN_URL, ...), an object; NULL without identity.tokenUrl */
} gcp_identity;

/* When in carries "identity": the pool and the issuer's provider (made
 * when missing), the workload's service account (made when missing,
 * recorded), roles/iam.workloadIdentityUser on it for the workload's
 * principal only (recorded). Resources made are appended to resources
 * (apply's output). A dry run shows the creates and reads nothing. */
fb_status gcp_identity_bind(fb_driver_ctx *ctx, const json_t *in, const fbk_wl *wl, const char *region,
                            gcp_identity *out, json_t *resources, fb_diag *diag);
/* roles/run.invoker on service (its full name) for each caller in
 * in.identity.callers: a caller on Google Cloud by its service account
 * (made when missing), any other by an account fbc-... made for it to call
 * this workload (recorded), which only its federated principal may
 * impersonate (workloadIdentityUser, recorded); each binding recorded;
 * bindings and fbc- accounts the previous deployment recorded for callers
 * that are gone are removed. Nothing when id has no pool. */
fb_status gcp_identity_invokers(fb_driver_ctx *ctx, const json_t *in, const gcp_identity *id,
                                const char *service, const char *region, json_t *resources, fb_diag *diag);
/* Whether in.identity.callers has a caller outside Google Cloud (it then
 * reaches the service over the internet: ingress all, IAM still checks). */
int gcp_identity_external_callers(const json_t *in);
/* Makes a Cloud Run service or a Cloud Function body run as the identity the deployment's
 * state.identity (st: apply's identity, or NULL to read dep_state's)
 * names: the account, ingress from everywhere for external callers, and
 * the variables of the token endpoint (env; each unless the spec sets it).
 * Used by apply and by observe (so drift compares like with like). */
void gcp_identity_body(json_t *body, const gcp_identity *id, const json_t *dep_state);
/* The account a deployment's state.identity names (borrowed), or NULL. */
const char *gcp_identity_sa_of(const json_t *dep);
/* apply's state.identity (new) or NULL. */
json_t *gcp_identity_state(const gcp_identity *id);
void gcp_identity_clear(gcp_identity *id);
/* The account id's email of tenant/name (new). */
char *gcp_identity_sa_email(fb_driver_ctx *ctx, const char *tenant, const char *name);
/* Appends discover rows (type gcp-service-account) for the project's
 * accounts fedbroker makes (fb-..., fbc-...): managed when their
 * description is fedbroker's, with the tenant and the workload whose
 * deployment records them; then (type gcp-iam-binding, id as apply
 * records it: PATH|ROLE|MEMBER) the bindings fedbroker makes that the
 * policies hold: workloadIdentityUser on those managed accounts for a
 * principal of the fedbroker pool, and run.invoker on the managed Cloud
 * Run services already in resources (gcp_run_discover's rows) for an
 * fb-/fbc- account of the project. A binding no deployment records is a
 * leftover (a crash between the grant and its record, a hand-made one). */
fb_status gcp_identity_discover(fb_driver_ctx *ctx, json_t *resources, fb_diag *diag);
/* Deletes the accounts a deployment recorded (after its service). */
fb_status gcp_identity_destroy(fb_driver_ctx *ctx, const json_t *dep, json_t *deleted, fb_diag *diag);

/* The email of the scaler account of tenant/name's capacity schedule
 * (fbs-TENANT-NAME, cut with a hash as the workload accounts are). new. */
char *gcp_identity_scaler_email(fb_driver_ctx *ctx, const char *tenant, const char *name);
/* add: the scaler account (recorded before its create, made when
 * missing, refused when an account of that id is not fedbroker's scaler
 * of this workload) and roles/run.developer for it on the Cloud Run
 * service (its full name) only, recorded; both appended to resources.
 * !add: that binding removed and the account deleted when the previous
 * deployment (prev, may be NULL) recorded the account (a schedule dropped
 * from the spec). A dry run shows the creates. */
fb_status gcp_identity_scaler(fb_driver_ctx *ctx, const json_t *prev, const fbk_wl *wl, const char *region,
                              const char *service, int add, json_t *resources, fb_diag *diag);

/* ---- capacity schedules (gcp_capacity.c, docs/simulation.md "Capacity schedules") ---- */

/* The Cloud Scheduler jobs of the workload's spec.scaling.schedule: 0
 * with *jobs NULL when it has none; 0 with *jobs a new array of {"name":
 * the job's full name, "body": the Job, "min": the floor it sets}; -1
 * with *why (new) when the schedule cannot be deployed on this placement
 * (not Cloud Run, a malformed schedule, a floor above maxInstances). */
int gcp_capacity_jobs(fb_driver_ctx *ctx, const fbk_wl *wl, const gcp_shape *sh, json_t **jobs, char **why);
/* The documents render and the dry run show for the schedule (appended
 * to docs): the scaler account, its binding on the service, the jobs. */
void gcp_capacity_docs(fb_driver_ctx *ctx, const fbk_wl *wl, const gcp_shape *sh, json_t *docs);
/* apply of the schedule after the service (its full name) is up: the
 * scaler and its binding, each job recorded before its create, created or
 * patched to match (a paused one resumed), and the workload's jobs no
 * longer wanted deleted; a schedule dropped from the spec removes its
 * jobs, binding and account. Appends records to resources. */
fb_status gcp_capacity_apply(fb_driver_ctx *ctx, const json_t *in, const fbk_wl *wl, const gcp_shape *sh,
                             const char *service, json_t *resources, fb_diag *diag);
/* Drift of the schedule (reads only): each job missing, changed or
 * paused, each of the workload's jobs not wanted, and the scaler's
 * binding on the service, as "schedule.JOB..." fields. */
fb_status gcp_capacity_observe(fb_driver_ctx *ctx, const fbk_wl *wl, const gcp_shape *sh, const char *service,
                               json_t *drift, fb_diag *diag);
/* Deletes the jobs a deployment recorded (absent ones are fine); appends
 * their names. */
fb_status gcp_capacity_destroy(fb_driver_ctx *ctx, const json_t *dep, json_t *deleted, fb_diag *diag);
/* Whether a job's name is a capacity schedule's (NAME-cap-NNN or
 * NAME-cap-end): discover's type for it. */
int gcp_capacity_job_name(const char *name);

/* ---- a workload's proof of its account (gcp_attest.c, ABI 1.3) ---------------------- */

/* Checks in {"proof": {"idToken"}, "tokenUrl"} (borrowed): a Google-signed
 * ID token (Google's certificates at ctx->certs_url) for the audience
 * tokenUrl, of a workload account fb-... of the project that exists with
 * the token's sub as its uniqueId. *out (new) {"resource": {"type":
 * "gcp-service-account", "id": "projects/P/serviceAccounts/EMAIL"},
 * "caller": EMAIL}; FB_AUTH with a diagnostic otherwise (never the token). */
fb_status gcp_attest(fb_driver_ctx *ctx, const json_t *in, json_t **out, fb_diag *diag);

/* An empty certificate cache (new; gcp_certs_free). Thread notes: the
 * cache takes its own lock, so attest may run on many threads at once. */
gcp_certs *gcp_certs_new(void);
/* Frees c (steals; NULL is fine). Not while another thread uses it. */
void gcp_certs_free(gcp_certs *c);

/* ---- deploy (gcp_run.c, gcp_functions.c, gcp_service.c, gcp_triggers.c, gcp_secrets.c) -------------- */

/* The triggers of a deployed service or function (uri: its URL; service:
 * the Cloud Run service's full name whose invoker role the OIDC identity
 * needs, NULL for a public one): created, adopted or updated to match the
 * spec, each record made right after its create; those the previous
 * deployment (prev, may be NULL) had and the spec no longer has deleted.
 * Appends trigger state to state_triggers and records to resources. */
#define GCP_TRIGGERS_TOPICS 1 /* the topics queue triggers name (before a function consumes them) */
#define GCP_TRIGGERS_REST 2   /* subscriptions, Scheduler jobs, and removing what the spec dropped */
fb_status gcp_triggers_apply(fb_driver_ctx *ctx, const fbk_wl *wl, const gcp_shape *sh, const char *uri,
                             const json_t *prev, int phases, json_t *state_triggers, json_t *resources,
                             fb_diag *diag);
/* DELETE of a v1 resource by its full name (Scheduler, Pub/Sub); absent
 * is fine. *gone (may be NULL) 1 when it was there. */
fb_status gcp_delete_v1(fb_driver_ctx *ctx, fb_diag *diag, gcp_api api, const char *what, const char *name,
                        int *gone);
/* The update mask of a resource: members (NULL-terminated) of want whose
 * value live lacks or differs in, comma-separated. new. */
char *gcp_mask_of(const json_t *want, const json_t *live, const char *const *members);
/* Drift of the spec's triggers (reads only). */
fb_status gcp_triggers_observe(fb_driver_ctx *ctx, const fbk_wl *wl, const gcp_shape *sh, const char *uri,
                               json_t *drift, fb_diag *diag);
/* Deletes the jobs, subscriptions and owned topics a deployment recorded
 * or that its state names (absent ones are fine); appends their names. */
fb_status gcp_triggers_destroy(fb_driver_ctx *ctx, const json_t *dep, json_t *deleted, fb_diag *diag);
/* Scheduler jobs of region (every call) and, once (region NULL), Pub/Sub
 * topics and subscriptions of the project. */
fb_status gcp_triggers_discover(fb_driver_ctx *ctx, const char *region, json_t *resources, fb_diag *diag);

/* One apply on a service kind (gcp_svc_apply): what the kind's hooks read
 * and fill. Strings borrowed for the call; zip and storage new, freed by
 * gcp_svc_apply. */
typedef struct gcp_apply_call {
    fb_driver_ctx *ctx;
    json_t *in; /* the verb's input */
    const fbk_wl *wl;
    const gcp_shape *sh;
    const char *id;      /* the resource id (gcp_resource_id) */
    const char *region;  /* the placement's region */
    const char *parent;  /* projects/P/locations/R */
    const char *name;    /* parent/COLLECTION/id */
    int secrets_changed; /* a secret got a new version: running instances must be replaced */
    /* Cloud Functions: the source zip, its SHA-256 (the label's 40 digits),
     * the storageSource it was uploaded to (NULL until it is) */
    unsigned char *zip;
    size_t zip_len;
    char sha[41];
    json_t *storage;
} gcp_apply_call;

/* What apply, observe, destroy and discover need to know of one kind of
 * deployed service; gcp_run.c defines gcp_run_svc, gcp_functions.c
 * gcp_functions_svc, and gcp_service.c holds the one implementation of
 * the four verbs. Immutable; any thread. */
typedef struct gcp_svc {
    const char *type;          /* the deployment's resource record type ("run-service") */
    const char *service;       /* the placement's service, apply's state.service ("cloud-run") */
    const char *noun;          /* in messages ("Cloud Run service") */
    const char *collection;    /* the name's collection under a location ("services") */
    gcp_api api;               /* the API serving it */
    const char *get_method;    /* discovery method ids ("services.get") */
    const char *delete_method; /* ("services.delete") */
    const char *list_method;   /* ("services.list"; its answer's array is named collection) */
    const char *url_member;    /* the live resource's URL member ("uri") */
    /* "ready", "pending" or "failed" of a live resource; *msg (borrowed)
     * its failure message or NULL. */
    const char *(*status)(const json_t *live, const char **msg);
    /* observe's "live" member (new) of a live resource. */
    json_t *(*live_view)(const json_t *live, const char *msg);
    /* The body the workload wants for drift (*want new), and the resource
     * path whose run.invoker allUsers binding observe compares with
     * spec.http.public (*iam_path new, or NULL when none is checked).
     * name: the resource's full name; live borrowed. */
    fb_status (*want)(fb_driver_ctx *ctx, const char *name, const fbk_wl *wl, const gcp_shape *sh,
                      const json_t *live, json_t **want, char **iam_path, fb_diag *diag);
    /* What a live resource is busy with (an operation running on it, in
     * the API's words, borrowed), or NULL: apply waits it out before an
     * update, and destroy before the delete when settle_on_destroy. */
    const char *(*busy)(const json_t *live);
    int settle_on_destroy;
    /* discover: 0 for a listed item that is not one of this kind's own;
     * NULL when every item is. */
    int (*listed)(const json_t *item);

    /* ---- apply ---- */
    const char *product;       /* the API's product in messages ("Cloud Run") */
    const char *create_method; /* ("services.create") */
    const char *patch_method;  /* ("services.patch") */
    const char *id_param;      /* create's query parameter naming the id ("serviceId") */
    int op_has_resource;       /* create's finished operation carries the resource (else it is read back) */
    int topics_first;          /* queue triggers' topics are made before the resource (an eventTrigger names one) */
    int dry_run_invokers;      /* a dry run shows the grants to the workload's callers */
    /* The PATCH query when nothing differs but a secret has a new version
     * (new instances read it), and when the live resource failed. */
    const char *refresh_query, *rebuild_query;
    /* Before the secret grants (NULL: nothing to prepare). */
    fb_status (*prepare)(gcp_apply_call *a, fb_diag *diag);
    /* The wanted body (*body new, NULL on failure) for a create (live NULL)
     * or for an update of live (borrowed). */
    fb_status (*body)(gcp_apply_call *a, const json_t *live, json_t **body, fb_diag *diag);
    /* The update mask of the members of want that differ from live (new,
     * "" when none do). */
    char *(*update_mask)(const json_t *want, const json_t *live);
    /* The Cloud Run service that answers the resource's HTTP (new; live
     * borrowed, NULL in a dry run): where the invokers are granted. */
    char *(*http_service)(const gcp_apply_call *a, const json_t *live);
    /* Who may call that service (created: by this apply, its policy is
     * empty). */
    fb_status (*invokers)(gcp_apply_call *a, const char *service, int created, fb_diag *diag);
    /* apply's state members of the kind (new, or NULL for none). */
    json_t *(*out_extra)(const gcp_apply_call *a, const json_t *live);
} gcp_svc;
extern const gcp_svc gcp_run_svc, gcp_functions_svc;

/* apply of one placement on service kind k: the workload's identity and
 * secrets, then the resource created with its deterministic id, or adopted
 * when it carries our labels and updated with a PATCH of what differs, the
 * operation waited for; who may invoke it; its triggers. A dry run sends
 * render's documents through the host instead. in: the verb's input
 * (borrowed); *out the verb's output (new). */
fb_status gcp_svc_apply(fb_driver_ctx *ctx, const gcp_svc *k, json_t *in, const fbk_wl *wl, const gcp_shape *sh,
                        json_t **out, fb_diag *diag);

/* discover of service kind k in region: a row per listed resource. */
fb_status gcp_svc_discover(fb_driver_ctx *ctx, const gcp_svc *k, const char *region, json_t *resources,
                           fb_diag *diag);
/* observe of a deployment on service kind k: status, live view, drift
 * (when the input carries the workload) and the URL as its result. in
 * borrowed (gains the checked workload's copy); *out new. */
fb_status gcp_svc_observe(fb_driver_ctx *ctx, const gcp_svc *k, json_t *in, json_t **out, fb_diag *diag);
/* destroy of a deployment on service kind k: its triggers, then every
 * resource of k's type it recorded (refusing one without our labels);
 * appends the names deleted. dep borrowed. */
fb_status gcp_svc_destroy(fb_driver_ctx *ctx, const gcp_svc *k, const json_t *dep, json_t *deleted,
                          fb_diag *diag);

/* A dry run: render's documents, in order, through the host. */
fb_status gcp_dry_run_docs(fb_driver_ctx *ctx, const json_t *docs, fb_diag *diag);
/* GET a resource by its full name (api's version prefix added): *found 0
 * on 404, else *live (new). */
fb_status gcp_get(fb_driver_ctx *ctx, fb_diag *diag, gcp_api api, const char *what, const char *name,
                  json_t **live, int *found);
/* The resource names a deployment has: state.name, then its records of
 * type (new array of strings, no duplicates). */
json_t *gcp_dep_names(const json_t *dep, const char *type);
/* observe's workload checked against the deployment's placement into wl
 * and sh (borrowing from a copy kept in in); 0 when there is none. */
int gcp_observe_workload(fb_driver_ctx *ctx, json_t *in, fbk_wl *wl, gcp_shape *sh, fb_diag *diag);

/* secretAccessor for the runtime service account on exactly the spec's
 * Secret Manager secrets (before the revision that reads them). */
fb_status gcp_secrets_grant(fb_driver_ctx *ctx, const fbk_wl *wl, const char *sa, fb_diag *diag);
/* The broker's portable secrets (secret://NAME, mapped by validate to
 * gcp-sm://fedbroker_TENANT_WORKLOAD_NAME) copied into Secret Manager before
 * the revision that reads them: the secret created (labelled, recorded as
 * secretmanager-secret) when missing, the broker's latest version added
 * when the secret's annotation fedbroker-version says it has an older one.
 * The value comes from host->credential (a secret of the call, redacted
 * with its base64 form wherever the request is shown). *changed: a new
 * version was added (running revisions must be replaced to read it). A
 * secret of that name that is not this workload's is refused. */
fb_status gcp_secrets_materialise(fb_driver_ctx *ctx, const json_t *in, const fbk_wl *wl, const char *region,
                                  json_t *resources, int *changed, fb_diag *diag);
/* Deletes the secrets a deployment recorded. */
fb_status gcp_secrets_destroy(fb_driver_ctx *ctx, const json_t *dep, json_t *deleted, fb_diag *diag);
/* Drift: secrets the runtime service account cannot read (reads only). */
fb_status gcp_secrets_observe(fb_driver_ctx *ctx, const fbk_wl *wl, const char *sa, json_t *drift, fb_diag *diag);

#endif
