/*
 * aws.h - internals of the AWS driver (drivers/aws), shared by its files.
 *
 * Everything here is hidden (-fvisibility=hidden); the module exports only
 * fb_driver_entry. Functions are prefixed aws_ and follow the kit's memory
 * rules (drivers/kit/fbk.h): "new" results are malloc()ed (or new json_t
 * references) unless a comment says host->alloc; "borrowed" arguments are
 * only read during the call.
 */
#ifndef FB_DRIVERS_AWS_H
#define FB_DRIVERS_AWS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "fbk.h"
#include "fbk_verb.h"
#include "fbk_zip.h"

/* The host table, set once by fb_driver_entry. */
extern const fb_host *aws_host;

/* Driver state made by configure; read-only after configure except the
 * credential cache, which `mu` guards (verbs run on many threads at once). */
struct fb_driver_ctx {
    char **regions;
    size_t n_regions;
    char *profile;        /* settings.profile or NULL */
    char *role_arn;       /* settings.role_arn: assumed on top of the chain */
    char *ep_lambda, *ep_ecs, *ep_aas, *ep_sts; /* endpoint overrides or NULL */
    char *ep_scheduler, *ep_sqs;
    char *ep_secretsmanager; /* endpoints.secretsmanager */
    char *ep_iam;            /* endpoints.iam */
    char *ep_elb;            /* endpoints.elasticloadbalancing (ELBv2, discover) */
    char *ep_ec2;            /* endpoints.ec2 (DescribeNetworkInterfaces, discover) */
    char *lambda_role;    /* settings.lambda.role */
    char *scheduler_role; /* settings.scheduler.role: what EventBridge Scheduler assumes */
    char *account_id;     /* settings.accountId or NULL */
    char *cluster;        /* settings.ecs.cluster, default "default" */
    json_t *subnets;      /* settings.ecs.subnets (array, may be empty) */
    json_t *security_groups;
    int assign_public_ip; /* -1 = not set */
    char *execution_role; /* settings.ecs.executionRoleArn */
    char *task_role;      /* settings.ecs.taskRoleArn */
    char *target_group;   /* settings.ecs.targetGroupArn (ALB) */
    char *alb_resource_label; /* settings.ecs.albResourceLabel */
    int cpu_target;       /* settings.ecs.targetCpuPercent, default 60 */
    /* settings.ecs.vpcLattice (opt-in caller grants on Fargate, lattice.c):
     * the user's service network, the VPC of the tasks, the ECS
     * infrastructure role that registers them; all NULL when not set */
    char *lattice_network, *lattice_vpc, *lattice_role;
    char *ep_lattice;     /* endpoints["vpc-lattice"] */
    pthread_mutex_t mu;
    fbk_aws_creds creds;  /* cached; access_key_id NULL = none yet */
    fbk_input_cache *inputs; /* validate's parsed apply inputs, taken by apply */
};
typedef struct fb_driver_ctx aws_ctx;

/* ---- aws.c: calls, credentials, small helpers ------------------------------ */

/* One AWS API request. path is the wire path (already percent-encoded),
 * query NULL or a wire query without '?'. body borrowed, may be NULL. */
typedef struct aws_req {
    const char *api;      /* "lambda", "ecs", "application-autoscaling", "scheduler", "sqs" */
    const char *op;       /* operation name, for the JSON protocols' X-Amz-Target and messages */
    const char *method;
    const char *path;
    const char *query;
    const json_t *body;
    uint32_t flags;       /* FB_HTTP_* */
} aws_req;

/* What came back. body is the parsed JSON answer (new) or NULL. For an
 * error answer, code/message are set (new) and err is the mapped status. */
typedef struct aws_res {
    long status;          /* 0 in a dry run */
    json_t *body;
    char *code, *message;
    fb_status err;        /* FB_OK for 2xx (and for a dry run) */
} aws_res;

void aws_res_clear(aws_res *r);

/* Resolves credentials (cached in ctx; refreshed 5 minutes before they
 * expire) and copies them into *out (new; fbk_aws_creds_clear). FB_AUTH with
 * the chain's listing when there are none. */
fb_status aws_creds(aws_ctx *ctx, fb_diag *diag, const char *region, fbk_aws_creds *out);

/* Signs and sends one request; FB_OK means an answer came back (any status:
 * look at res->err), or the host recorded it in a dry run. A transport
 * failure returns the host's status (it added a diagnostic). */
fb_status aws_send(aws_ctx *ctx, fb_diag *diag, const fbk_aws_creds *creds, const char *region,
                   const aws_req *req, aws_res *res);

/* A Query-protocol parameter (IAM, ELBv2): name and raw value (encoded
 * when sent). */
typedef struct aws_kv {
    const char *k, *v;
} aws_kv;

/* One Query-protocol call: a form body "Action=ACTION&K=V...&Version=V"
 * POSTed to api's endpoint (aws_endpoint), signed for region as api (its
 * signing name: "iam", "elasticloadbalancing"). On FB_OK *status is the
 * HTTP status (0 in a dry run: recorded, not sent) and *err the status the
 * answer maps to: FB_OK with *x (new, fbk_xml_free) the parsed 2xx answer,
 * else the error with *code and *message (new, either may be NULL). The
 * caller judges and reports error answers. Transport failures and a 2xx
 * answer that is not XML return their status (diag filled). Thread: any. */
fb_status aws_query(aws_ctx *ctx, fb_diag *diag, const fbk_aws_creds *creds, const char *api,
                    const char *region, const char *version, const char *action, const aws_kv *params,
                    size_t n, uint32_t flags, fbk_xml **x, char **code, char **message, long *status,
                    fb_status *err);

/* Adds an error diagnostic for a failed answer ("lambda CreateFunction
 * failed: HTTP 400 ValidationException: ...") and returns res->err. */
fb_status aws_fail(fb_diag *diag, const aws_req *req, const aws_res *res, const char *what_to_do);

/* The endpoint base URL of api in region (new). */
char *aws_endpoint(aws_ctx *ctx, const char *api, const char *region);

/* Non-zero when region is one the driver offers. */
int aws_region_ok(const aws_ctx *ctx, const char *region);

/* Records a cloud-side resource through host->record (not in a dry run). */
fb_status aws_record(fb_diag *diag, const char *type, const char *id, const char *region,
                     const char *name);

/* The provider-side name of a workload: "TENANT-NAME", or when that is
 * longer than max, a prefix and 8 hex digits of its SHA-256 (new). */
char *aws_resource_name(const json_t *workload, size_t max);

/* Tags every resource carries: managed-by, workload, tenant, spec-hash and
 * the workload's labels, as an object (new). */
json_t *aws_tags(const json_t *workload);

/* Sleeps through the host while polling: attempt 0, 1, ... */
void aws_poll_sleep(fb_diag *diag, int attempt);

/* Workload accessors (borrowed, NULL/default when absent). */
const json_t *aws_spec(const json_t *workload);
const char *aws_str(const json_t *o, const char *key);
json_int_t aws_int(const json_t *o, const char *key, json_int_t dflt);

/* observe: appends {field, want, live} to arr when want and live differ
 * (NULL counts as null). Steals want and live. */
void aws_drift(json_t *arr, const char *field, json_t *want, json_t *live);
/* A deep copy of v (new), or NULL when v is NULL: for aws_drift. */
json_t *aws_copy(const json_t *v);

/* The deterministic zip writer (fbk_zip_path, fbk_base64) is the kit's:
 * drivers/kit/fbk_zip.h. */

/* ---- lambda.c --------------------------------------------------------------- */
/* What a check covers (the validate input's "mode"): AWS_CHECK_WARN adds
 * warnings (validate; apply, which the broker validated first, does not
 * repeat them); AWS_CHECK_DEPLOY checks the deployment settings (execution
 * roles, subnets, account id), which plan and render do without. */
#define AWS_CHECK_WARN   1
#define AWS_CHECK_DEPLOY 2
/* render and dry-run: the documents are shown, so placeholders matter */
#define AWS_CHECK_SHOWN  4
/* the input carries the workload's identity: it runs as its own role */
#define AWS_CHECK_IDENTITY 8

/* A deployment setting render shows when it is not configured. */
#define AWS_UNSET_LAMBDA_ROLE "${drivers.aws.lambda.role}"
#define AWS_UNSET_SUBNETS "${drivers.aws.ecs.subnets}"
#define AWS_UNSET_EXEC_ROLE "${drivers.aws.ecs.executionRoleArn}"
#define AWS_UNSET_ACCOUNT "${drivers.aws.accountId}"
#define AWS_UNSET_SCHEDULER_ROLE "${drivers.aws.scheduler.role}"

fb_status aws_lambda_validate(aws_ctx *ctx, const json_t *w, const json_t *placement,
                              int checks, fb_diag *diag);
/* The create-path documents, in order (new array). */
fb_status aws_lambda_documents(aws_ctx *ctx, const json_t *w, const json_t *placement,
                               json_t **docs, fb_diag *diag);
fb_status aws_lambda_apply(aws_ctx *ctx, const json_t *in, json_t **out, fb_diag *diag);
fb_status aws_lambda_observe(aws_ctx *ctx, const json_t *in, json_t **out, fb_diag *diag);
fb_status aws_lambda_destroy(aws_ctx *ctx, const json_t *dep, json_t *deleted, fb_diag *diag);
fb_status aws_lambda_discover(aws_ctx *ctx, const fbk_aws_creds *creds, const char *region,
                              json_t *resources, fb_diag *diag);

/* ---- capacity.c --------------------------------------------------------------- */
/* The scheduled actions of spec.scaling.schedule (the plan's capacity
 * schedule, docs/simulation.md): *out new [{name, schedule (an AAS at() or
 * cron() expression, UTC), min, max}], max = max_capacity, or = min when
 * pin_max (provisioned concurrency held exactly); NULL and 0 when the spec
 * has no schedule; -1 with *why (new) when it cannot be rendered (bad
 * shape, more actions than AAS's 200 per target). Thread: any. */
int aws_capacity_actions(const json_t *spec, json_int_t max_capacity, int pin_max, json_t **out,
                         char **why);
/* PutScheduledAction's body for one of those actions (new). */
json_t *aws_capacity_put_body(const char *ns, const char *rid, const char *dim, const json_t *a);
/* Puts every action on the target (ns, rid, dim), each journalled first
 * (record "scheduled-action" NS/RID/NAME, owner the resource name), then
 * deletes fedbroker-* actions not wanted. Borrowed arguments. */
fb_status aws_capacity_apply(aws_ctx *ctx, fb_diag *diag, const fbk_aws_creds *creds,
                             const char *region, const char *ns, const char *rid, const char *dim,
                             const json_t *actions, const char *owner);
/* observe: appends to drift a "schedule.NAME" entry for each wanted
 * action missing or different and each fedbroker-* action not wanted. */
fb_status aws_capacity_observe(aws_ctx *ctx, fb_diag *diag, const fbk_aws_creds *creds,
                               const char *region, const char *ns, const char *rid, const char *dim,
                               const json_t *actions, json_t *drift);

/* ---- cron.c ------------------------------------------------------------------ */
/* The spec's five-field cron as Scheduler's cron(... year): day-of-week
 * renumbered, '?' in the day field the spec leaves '*', the year '*'. Both
 * day fields restricted (cron fires when either matches) cannot be said
 * and is refused. 0 with *out (new), or -1 with *why (new). */
int aws_cron_to_scheduler(const char *cron, char **out, char **why);

/* ---- triggers.c: a Function's schedule and queue triggers ------------------- */
/* schedule -> an EventBridge Scheduler schedule targeting the function;
 * queue -> an SQS queue (created when missing) and a Lambda event source
 * mapping. The function (fn_name, fn_arn) exists before any of these. */

/* validate: the triggers' checks (cron expressions, duplicate queues, the
 * scheduler role, placeholders); non-zero when one is refused. */
int aws_triggers_validate(aws_ctx *ctx, const json_t *w, int checks, fb_diag *diag);
/* render / dry run: appends the create-path documents of the triggers to
 * docs (CreateQueue, CreateEventSourceMapping, CreateSchedule) with the
 * ARNs built from accountId (or its placeholder). */
void aws_triggers_documents(aws_ctx *ctx, const json_t *w, const char *region,
                            const char *fn_name, json_t *docs);
/* apply: makes the triggers match the spec: creates, adopts (ours by tags
 * or, for schedules, by Description) or updates each, recording every
 * created resource right after its create, and deletes those the previous
 * deployment (prev, may be NULL) had and the spec no longer has. Appends
 * {"kind", "index", ...} to state_triggers and records to resources. */
fb_status aws_triggers_apply(aws_ctx *ctx, const fbk_aws_creds *creds, const json_t *w,
                             const char *region, const char *fn_name, const char *fn_arn,
                             const json_t *prev, json_t *state_triggers, json_t *resources,
                             fb_diag *diag);
/* observe: appends drift {field, want, live} for the spec's triggers (reads only). */
fb_status aws_triggers_observe(aws_ctx *ctx, const fbk_aws_creds *creds, const json_t *w,
                               const char *region, const char *fn_name, const json_t *dep,
                               json_t *drift, fb_diag *diag);
/* destroy: deletes the schedules, mappings and owned queues of function
 * fn_name in region that the deployment recorded or that name the function
 * (absent ones are fine); appends their ids to deleted. */
fb_status aws_triggers_destroy(aws_ctx *ctx, const fbk_aws_creds *creds, const char *region,
                               const char *fn_name, const json_t *dep, json_t *deleted,
                               fb_diag *diag);
/* discover: schedules, event source mappings and queues in region. */
fb_status aws_triggers_discover(aws_ctx *ctx, const fbk_aws_creds *creds, const char *region,
                                json_t *resources, fb_diag *diag);
/* The function's timeout in seconds as Lambda gets it (spec timeoutMs rounded up). */
json_int_t aws_lambda_timeout_s(const json_t *w);

/* ---- ecs.c ------------------------------------------------------------------ */
fb_status aws_ecs_validate(aws_ctx *ctx, const json_t *w, const json_t *placement,
                           int checks, fb_diag *diag);
fb_status aws_ecs_documents(aws_ctx *ctx, const json_t *w, const json_t *placement,
                            json_t **docs, fb_diag *diag);
fb_status aws_ecs_apply(aws_ctx *ctx, const json_t *in, json_t **out, fb_diag *diag);
fb_status aws_ecs_observe(aws_ctx *ctx, const json_t *in, json_t **out, fb_diag *diag);
fb_status aws_ecs_destroy(aws_ctx *ctx, const json_t *dep, json_t *deleted, fb_diag *diag);
fb_status aws_ecs_discover(aws_ctx *ctx, const fbk_aws_creds *creds, const char *region,
                           json_t *resources, fb_diag *diag);

/* A valid Fargate task size for a cpu/memory demand: the smallest cpu
 * level >= the demand whose memory range reaches the demand, and the
 * smallest valid memory >= the demand there. 0, or -1 with *why (new). */
int aws_fargate_size(json_int_t cpu_millis, json_int_t mem_mib, int *cpu_units, int *mem_out,
                     char **why);

/* ---- elb.c: load-balancer URLs of an ECS service (discover) -------------- */

/* Appends to eps (borrowed array) the discover endpoints of ECS service
 * svc (a DescribeServices member, borrowed): one per load balancer listener
 * whose default action forwards to a target group of its loadBalancers,
 * else one per listener rule forwarding there (its host and path in the
 * URL, what a URL cannot say in the detail), with the group's target
 * health. Answered denials and missing groups are warnings (no
 * URL); transport and service failures return their status (diag filled).
 * Thread: any (ctx read-only). */
fb_status aws_elb_endpoints(aws_ctx *ctx, fb_diag *diag, const fbk_aws_creds *creds, const char *region,
                            const json_t *svc, json_t *eps);

/* ---- tasks.c: the public IPs of an ECS service's tasks (discover) ------- */

/* Appends to eps (borrowed array) the discover endpoints of ECS service
 * svc (a DescribeServices member, borrowed) whose tasks get a public IP
 * (assignPublicIp ENABLED): for each task desired RUNNING with a public
 * IP on its network interface, one public row per TCP container port of
 * its task definition (instance IP:PORT, source aws-ecs-task), health
 * from the task's lastStatus and healthStatus. Answered denials are
 * warnings (no rows); transport and service failures return their status
 * (diag filled). Thread: any (ctx read-only). */
fb_status aws_task_endpoints(aws_ctx *ctx, fb_diag *diag, const fbk_aws_creds *creds, const char *region,
                             const json_t *svc, json_t *eps);

/* ---- usage.c ---------------------------------------------------------------- */
fb_status aws_usage(aws_ctx *ctx, const json_t *in, json_t **out, fb_diag *diag);

/* Lambda runtime id for a spec runtime (borrowed static string) or NULL. */
const char *aws_lambda_runtime(const char *spec_runtime);
/* The supported Lambda runtimes, space-separated, for messages. */
extern const char aws_lambda_runtimes_text[];


/* ---- the workload's identity (iam.c, docs/identity.md) ---- */
/* The workload's IAM role name, fb-TENANT-NAME (at most 64). new. */
char *aws_identity_role_name(const json_t *w);
/* Makes the account trust the broker's issuer (an IAM OIDC provider, once)
 * and the workload's role (ECS tasks run as it; AssumeRoleWithWebIdentity
 * only with sub = ident.spiffeId and aud = ident.audience), recorded as
 * iam-role. ident: the apply input's "identity" (borrowed). *role_arn new
 * (NULL when ident names no issuer). In a dry run the creates are shown. */
fb_status aws_identity_bind(aws_ctx *ctx, fb_diag *diag, const fbk_aws_creds *creds,
                            const json_t *w, const json_t *ident, const char *region,
                            char **role_arn);
/* The role a caller (ident.callers[i], borrowed) of callee calls it with,
 * made when missing. A caller on AWS: its own role, as aws_identity_bind
 * makes it (its own apply adopts and records it; not recorded here). A
 * caller elsewhere: a role fbc-TENANT-CALLER-CALLEE-<hash> that only the
 * caller's token may assume (web identity statement alone), recorded with
 * the callee. *role_arn new, NULL when the caller has no SPIFFE ID. */
fb_status aws_identity_caller_role(aws_ctx *ctx, fb_diag *diag, const fbk_aws_creds *creds,
                                   const json_t *ident, const char *tenant, const char *callee,
                                   const json_t *caller, const char *region, char **role_arn);
/* The name of that role for a caller elsewhere (new, at most 63 characters). */
char *aws_identity_caller_role_name(const char *tenant, const char *caller, const char *callee);
/* Appends discover rows for the account's roles named fb-* (ListRoles,
 * then GetRole for their tags): type iam-role, managed when tagged
 * managed-by=fedbroker, with the tenant and workload tags. */
fb_status aws_identity_discover(aws_ctx *ctx, const fbk_aws_creds *creds, json_t *resources, fb_diag *diag);
/* With ident.tokenUrl (the broker's token endpoint), adds to env (an
 * object of variables) what a workload needs to fetch its own JWT-SVID,
 * each unless the spec sets it: FEDBROKER_TOKEN_URL, FEDBROKER_SERVER_ID
 * (the issuer, to sign into the proof), FEDBROKER_TOKEN_PROVIDER ("aws"),
 * FEDBROKER_SPIFFE_ID. ident may be NULL. */
void aws_identity_env(const json_t *ident, json_t *env);
/* Is name one aws_identity_env may add (FEDBROKER_...)? observe, which
 * has no identity, does not report those as drift. */
int aws_identity_env_name(const char *name);
/* Deletes the workload's role (gone already is fine). */
fb_status aws_identity_unbind(aws_ctx *ctx, fb_diag *diag, const fbk_aws_creds *creds,
                              const char *role_arn);

/* ---- a workload's proof of its role (attest.c, ABI 1.3) ---- */
/* The header that binds a GetCallerIdentity proof to one broker: its
 * value is the broker's issuer, and the signature must cover it. */
#define AWS_SERVER_ID_HEADER "X-Fedbroker-Server-Id"
#define AWS_SERVER_ID_HEADER_LC "x-fedbroker-server-id"
/* Checks in {"proof": {method, url, headers, body}, "serverId"} (borrowed),
 * sends the signed GetCallerIdentity on to STS and answers *out (new)
 * {"resource": {"type": "iam-role", "id": ROLE-ARN}, "caller": SESSION-ARN}
 * for a workload role's session; FB_AUTH with a diagnostic otherwise. */
fb_status aws_attest(aws_ctx *ctx, const json_t *in, json_t **out, fb_diag *diag);

/* ---- lattice.c: caller grants on Fargate through VPC Lattice -------------------- */

/* With settings.ecs.vpcLattice, for a Container with callers (in: the
 * apply input, borrowed): the Lattice target group, service (AWS_IAM),
 * listener, association with the service network and the auth policy
 * allowing vpc-lattice-svcs:Invoke to each caller's role only, each
 * recorded. state (borrowed) gets "lattice" {serviceArn, targetGroupArn,
 * listenerArn, serviceNetwork, url, grants}; *ecs_cfg (new) is the ECS
 * service's vpcLatticeConfigurations, NULL when Lattice is not used
 * (no setting, no identity, no port, or no caller now or before). */
fb_status aws_lattice_apply(aws_ctx *ctx, fb_diag *diag, const fbk_aws_creds *creds, const json_t *in,
                            const char *region, json_int_t port, json_t *state, json_t **ecs_cfg);
/* Deletes the Lattice objects dep (borrowed) records, in the order Lattice
 * allows, after the ECS service; appends their ARNs to deleted. */
fb_status aws_lattice_destroy(aws_ctx *ctx, fb_diag *diag, const fbk_aws_creds *creds, const json_t *dep,
                              const char *region, json_t *deleted);
/* Appends the region's fb- Lattice services and target groups (managed:
 * tagged managed-by=fedbroker) to resources; nothing without the setting. */
fb_status aws_lattice_discover(aws_ctx *ctx, const fbk_aws_creds *creds, const char *region, json_t *resources,
                               fb_diag *diag);

#endif
