/*
 * k8s.h - internals of the "k8s" driver (a Kubernetes cluster from the
 * user's kubeconfig, optionally with Knative Serving), shared by its source
 * files. Nothing here is exported from the module (-fvisibility=hidden).
 * Prefix k8s_. Memory as in the kit (drivers/kit/fbk.h): "new" results are
 * malloc()ed or new json_t references, "borrowed" arguments are only read
 * during the call.
 */
#ifndef FB_DRIVERS_K8S_H
#define FB_DRIVERS_K8S_H

#include <pthread.h>

#include "fbk_k8s.h"
#include "fbk_decimal.h"
#include "fbk_settings.h"

#define K8S_DRV "k8s"
#define K8S_FIELD_MANAGER "fedbroker"
#define K8S_MANAGED_BY "app.kubernetes.io/managed-by"
#define K8S_TENANT_LABEL "fedbroker.dev/tenant"
#define K8S_NAME_LABEL "app.kubernetes.io/name"

/* The host table, set once by fb_driver_entry. */
extern const fb_host *k8s_host;

/* ---- connecting (kubeconfig.c, k8s_auth.c) -------------------------------- */

/* How to reach and authenticate to the cluster: the kubeconfig's cluster
 * and user of the chosen context, or the pod's service account. Made by
 * configure, read-only afterwards except the exec plugin's cache, which
 * `mu` guards (verbs run on up to 64 threads). */
typedef struct k8s_conn {
    char *source;          /* for messages: "kubeconfig /a:/b, context kind-dev" (new) */
    char *server;          /* https://host[:port][/path], no trailing '/' */
    char *ca_pem;          /* certificate-authority(-data), or NULL: the host's store */
    char *cert_pem;        /* client-certificate(-data) */
    char *key_pem;         /* client-key(-data): a secret */
    char *tls_server_name;
    char *proxy_url;
    int insecure;          /* insecure-skip-tls-verify (only with allowInsecure) */
    char *token;           /* a static bearer token: a secret */
    char *token_file;      /* re-read on every call (a rotated projected token) */
    /* exec credential plugin (client.authentication.k8s.io/v1) */
    char *exec_command;    /* resolved as kubectl does: relative to the kubeconfig when it has a '/' */
    char **exec_args;      /* NULL-terminated */
    char **exec_env;       /* "NAME=value", NULL-terminated: added to our environment */
    char *exec_api;        /* its apiVersion */
    pthread_mutex_t mu;
    char *exec_token;      /* cached until exec_expiry (a secret) */
    int64_t exec_expiry;   /* Unix seconds; 0: no expiry given (cached for the process) */
    char *exec_cert, *exec_key; /* a plugin may answer a client certificate instead */
} k8s_conn;

/* Where to look for the cluster (driver settings). */
typedef struct k8s_conn_opts {
    const char *kubeconfig;   /* settings.kubeconfig: one file, must exist; NULL: $KUBECONFIG or ~/.kube/config */
    const char *context;      /* settings.context; NULL: current-context */
    const char *in_cluster_dir; /* the service-account directory (tests change it) */
    int allow_insecure;
} k8s_conn_opts;

/* Loads the connection as kubectl would: settings.kubeconfig, else every
 * file of $KUBECONFIG merged by kubectl's rules (the first file to set a
 * cluster, user, context or current-context wins; missing files are
 * skipped), else ~/.kube/config, else the in-cluster service account when
 * KUBERNETES_SERVICE_HOST is set. Paths in a file are relative to it.
 * *out new on 0; on -1 *why (new) says what is wrong and where (file,
 * key) and what to do. */
int k8s_conn_load(const k8s_conn_opts *o, k8s_conn **out, char **why);
void k8s_conn_free(k8s_conn *c);

/* YAML (a kubeconfig, an ExecCredential) as JSON: new, or NULL with *why
 * (new, "line L column C: ...") when it is not YAML or has anchors, tags
 * or keys that are not strings. Plain scalars true/false are booleans,
 * null/~ null, everything else a string. */
json_t *k8s_yaml_parse(const char *text, size_t len, char **why);

/* The credentials of one request: bearer token, client certificate and
 * key (each new or NULL; the token and key are secrets: fbk_free_secret).
 * refresh: ignore the exec plugin's cache (the server said 401). FB_AUTH
 * with a diagnostic when a token file cannot be read or the plugin fails.
 * Thread-safe (the exec cache has its lock). */
fb_status k8s_auth(k8s_conn *c, fb_diag *diag, int refresh, char **token, char **cert, char **key);

/* ---- driver state ------------------------------------------------------- */

struct fb_driver_ctx {
    char namespace[64];       /* settings.namespace: one namespace for all, "" = fb-<tenant> */
    char region[64];
    char location[64];        /* settings.location: a catalog metro or location, "" = unset */
    char jurisdiction[17];    /* settings.jurisdiction: e.g. "EU", "DE", "" = from location */
    char ingress_class[254];
    char capacity_image[256]; /* settings.capacityImage: the image whose kubectl the schedule's CronJobs run */
    int knative;              /* offer Knative (settings.knative) */
    int force;                /* settings.forceConflicts: SSA force=true */
    long long knative_max_timeout_s;
    int64_t rollout_timeout_ms;
    json_t *quota;            /* settings.resourceQuota: ResourceQuota spec.hard, or NULL */
    json_t *limits;           /* settings.limitRange: a LimitRange item (type Container), or NULL */
    char *sa_issuer;          /* settings.serviceAccountIssuer: the cluster's token issuer, or NULL */
    /* settings.callerCredentials (docs/identity.md, "A caller's own issuer"):
     * what the pods need to call their dependencies on AWS and GCP with
     * the cluster's token; each NULL when not set */
    char *aws_account;        /* awsAccountId: the account of the callees' fbc- roles */
    char *gcp_project;        /* gcpProject: the project id of the callees' fbc- accounts */
    char *gcp_number;         /* gcpProjectNumber: the number that names its pool */
    char *gcp_sts_url;        /* gcpStsUrl: Google's STS token endpoint */
    char *gcp_iamcred_url;    /* gcpIamCredentialsUrl: the IAM Credentials API's root */
    long long cloud_token_ttl_s; /* tokenExpirationSeconds of the projected tokens */
    k8s_conn *conn;           /* NULL when no cluster was found (conn_error says why) */
    char *conn_error;
    /* API discovery, made once (guarded by disc_mu) */
    pthread_mutex_t disc_mu;
    int discovered;           /* 1 once /apis was read */
    int has_knative, has_hpa_v2;
    /* how far this process applied each tenant's namespace and policy
     * objects: namespace -> state (k8s_deploy.c's tenant_wait), under
     * tenant_mu; tenant_cv is signalled at every change. The first
     * workload of a tenant applies them, the others wait */
    pthread_mutex_t tenant_mu;
    pthread_cond_t tenant_cv;
    json_t *tenants_ready;
    fbk_input_cache *inputs;  /* validate's parsed apply inputs, taken by apply */
};

/* The namespace of a tenant's objects: settings.namespace, else
 * "fb-<tenant>" with '_' as '-' (a DNS label). */
void k8s_namespace_of(const fb_driver_ctx *ctx, const char *tenant, char *buf, size_t n);

/* ---- calls (k8s_api.c) -------------------------------------------------- */

/* What came back. */
typedef struct k8s_res {
    long status;        /* HTTP status; 0 in a dry run */
    json_t *body;       /* the parsed answer (new) or NULL */
    char *message;      /* a Status's message (new) */
    char *reason;       /* a Status's reason (new) */
    fb_status err;      /* FB_OK for a 2xx (and in a dry run), else the mapped status */
} k8s_res;

void k8s_res_clear(k8s_res *r);

/* One request to the API server: path ("/apis/apps/v1/namespaces/N/deployments/X"),
 * query without '?' or NULL, body (borrowed) sent as JSON with ctype
 * (NULL: application/json). Bearer token, CA and client certificate from
 * the connection; a 401 with an exec plugin refreshes the credential once.
 * FB_OK when an answer came (look at res->err) or the request was recorded
 * (dry run); another status with a diagnostic when none came. */
/* A flag of k8s_call's flags (never passed to the host): the caller does
 * not read a 2xx answer's body, so it is not parsed (res->body stays
 * NULL). An apply's answer is the whole object; parsing it only to free
 * it was a tenth of the bench apply's CPU (bench/README-k8s.md). An
 * error's body (a Status) is always parsed. */
#define K8S_BODY_UNUSED (1u << 31)

fb_status k8s_call(fb_driver_ctx *ctx, fb_diag *diag, const char *what, const char *method, const char *path,
                   const char *query, const json_t *body, const char *ctype, uint32_t flags, k8s_res *res);
/* k8s_call for a body holding body_secret (a Secret's data): the host
 * redacts it wherever it shows the request. */
fb_status k8s_call_secret(fb_driver_ctx *ctx, fb_diag *diag, const char *what, const char *method, const char *path,
                          const char *query, const json_t *body, const char *ctype, uint32_t flags,
                          const char *body_secret, k8s_res *res);

/* One request of a batch (k8s_call_many): k8s_call_secret's arguments,
 * borrowed for the batch. */
typedef struct k8s_req {
    const char *what, *method, *path, *query;
    const json_t *body;
    const char *ctype;
    uint32_t flags; /* FB_HTTP_* | K8S_BODY_UNUSED */
    const char *body_secret;
} k8s_req;

/* Whether the host sends a batch of requests together (host->http_many,
 * ABI 1.4); a 1.3 host has no such slot and gets one call at a time. */
int k8s_can_batch(void);

/* n independent requests in flight together through host->http_many
 * (k8s_can_batch must say yes): as n k8s_call_secret calls in that order
 * (one credential for all; a 401 with an exec plugin is sent again alone
 * with a refreshed one), but the API server may see them in any order.
 * FB_OK when each request has its own status in sts[i] (k8s_call's
 * meaning, res[i] filled, release each with k8s_res_clear); another
 * status with a diagnostic when the batch could not be sent (no cluster,
 * no credential, the host refused it), res[] then empty. */
fb_status k8s_call_many(fb_driver_ctx *ctx, fb_diag *diag, const k8s_req *reqs, size_t n, fb_status *sts,
                        k8s_res *res);

/* An error diagnostic for a failed answer ("k8s: apply Deployment fb-t/web
 * failed: HTTP 422 Invalid: ..."), hint as its detail (NULL: one by
 * status); returns res->err. */
fb_status k8s_fail(fb_diag *diag, const char *what, const k8s_res *res, const char *hint);

/* Reads /apis once per ctx: Knative Serving and autoscaling/v2 present. */
fb_status k8s_discover_apis(fb_driver_ctx *ctx, fb_diag *diag);

/* 1 when another thread is reading /apis right now (k8s_discover_apis
 * would wait for it), else 0; ctx borrowed. A hint only: by the time it
 * returns the other thread may be done. */
int k8s_discovery_busy(fb_driver_ctx *ctx);

/* The REST path of an object: api "v1" or "group/version", kind, namespace
 * (NULL: cluster-scoped), name (NULL: the collection). new. */
char *k8s_path(const char *api, const char *kind, const char *ns, const char *name);

/* ---- deploy (k8s_deploy.c) ------------------------------------------------ */

fb_status k8s_do_apply(fb_driver_ctx *ctx, json_t *in, const fbk_wl *wl, int knative, json_t **out, fb_diag *diag);
fb_status k8s_do_observe(fb_driver_ctx *ctx, json_t *in, json_t **out, fb_diag *diag);
fb_status k8s_do_destroy(fb_driver_ctx *ctx, json_t *in, json_t **out, fb_diag *diag);
fb_status k8s_do_discover(fb_driver_ctx *ctx, json_t *in, json_t **out, fb_diag *diag);

/* ---- capacity schedules (k8s_capacity.c) --------------------------------- */

/* The default of settings.capacityImage: the Kubernetes project's kubectl
 * image (registry.k8s.io/kubectl, published with each release since 1.28),
 * of the API version the fake and the reference model (1.36). */
#define K8S_CAPACITY_IMAGE "registry.k8s.io/kubectl:v1.36.0"

/* The field manager of the floor the schedule moves (the jobs' kubectl
 * --field-manager and apply's own patch of it). */
#define K8S_CAPACITY_MANAGER "fedbroker-capacity"

/* The app.kubernetes.io/component label of the schedule's objects. */
extern const char *k8s_capacity_component;

/* Whether the workload carries a capacity schedule (spec.scaling.schedule,
 * docs/simulation.md "Capacity schedules"). */
int k8s_capacity_has(const fbk_wl *wl);

/* The objects deploying wl's capacity schedule in namespace ns, as
 * fbk_k8s_render_*'s documents (new array): the ServiceAccount
 * NAME-capacity, a Role allowing get and patch on exactly the HPA
 * (knative 0) or Knative Service (knative 1) named NAME (and on the one-off
 * schedule's own CronJobs), its RoleBinding, and one CronJob per step
 * (NAME-capacity-NNN, NAME-capacity-end for a one-off schedule's end) that
 * runs `kubectl patch` from image. *floor_now gets the floor in effect at
 * now (Unix seconds), -1 without a schedule (then the array is empty).
 * NULL with errors on ck when the schedule cannot be rendered. Pure. */
json_t *k8s_capacity_render(const fbk_wl *wl, const char *ns, int knative, const char *image, int64_t now,
                            long long *floor_now, fbk_ck *ck);

/* Hands the floor the schedule moves to the schedule's own field manager:
 * takes the HPA's minReplicas (knative 0) or the Knative revision's
 * min-scale annotation (knative 1) out of the rendered body in docs
 * (borrowed, changed), so fedbroker's server-side apply never owns it and
 * never conflicts with the jobs' patches, and puts the merge patch setting
 * floor_now (k8s_capacity_render's; -1: nothing is changed) beside it as
 * the document's "capacityPatch", which apply sends as manager
 * K8S_CAPACITY_MANAGER after the object: an apply in the middle of a
 * schedule sets the floor its last step set. */
void k8s_capacity_set_floor(json_t *docs, int knative, long long floor_now);

/* The replica-seconds a Function's schedule keeps over one period: each
 * step's floor (at least base) for the time it holds (a one-off schedule's
 * last step also for its lead, as it acts that early), into *sum, and the
 * period's seconds into *period. 0, or -1 without a readable schedule. */
int k8s_capacity_replica_seconds(const fbk_wl *wl, long long base, unsigned long long *sum, int64_t *period);

/* ---- a pod's proof of its ServiceAccount (k8s_attest.c, ABI 1.3) ---------- */

/* The projected token apply mounts into a workload's pods with
 * identity.tokenUrl: its volume, where it is mounted, and how long each
 * token lives (the API server's minimum; the kubelet renews it at 80%). */
#define K8S_TOKEN_VOLUME "fedbroker-token"
#define K8S_TOKEN_DIR "/var/run/secrets/fedbroker.dev/token"
#define K8S_TOKEN_TTL_S 600

/* The projected volume that holds the pods' tokens for AWS and Google STS
 * (audience sts.amazonaws.com, and the cluster's pool provider) and the
 * Google credential configurations (docs/identity.md, "A caller's own
 * issuer"), and where it is mounted. */
#define K8S_CLOUD_VOLUME "fedbroker-cloud-identity"
#define K8S_CLOUD_DIR "/var/run/secrets/fedbroker.dev/cloud"

/* Checks in {"proof": {"token"}, "tokenUrl"} (borrowed) with a TokenReview
 * for the audience tokenUrl: *out (new) {"resource": {"type":
 * "k8s:ServiceAccount", "id": "NAMESPACE/NAME"}, "caller": USERNAME} for a
 * service account of a namespace the driver deploys to; FB_AUTH with a
 * diagnostic when the cluster does not vouch for it (never the token);
 * FB_INTERNAL when the broker's own access fails. */
fb_status k8s_attest(fb_driver_ctx *ctx, const json_t *in, json_t **out, fb_diag *diag);

#endif /* FB_DRIVERS_K8S_H */
