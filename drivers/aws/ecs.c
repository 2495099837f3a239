/* ecs.c - Containers on ECS with the Fargate launch type: validate, the
 * create-path documents (RegisterTaskDefinition, CreateService, Application
 * Auto Scaling RegisterScalableTarget + PutScalingPolicy), apply (create or
 * update, idempotent), observe with drift, destroy and discover. API
 * reference: ECS (JSON 1.1, 2014-11-13) and Application Auto Scaling
 * (JSON 1.1, 2016-02-06), as in botocore's models; Fargate task sizes from
 * the ECS developer guide ("Task CPU and memory"). */
#include "config.h"
#include "aws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FARGATE_INCLUDED_GIB 20
#define FARGATE_MAX_EPHEMERAL_GIB 200

/* ---- Fargate task sizes ------------------------------------------------------------ */

/* cpu units -> memory MiB from min to max in steps (256 units: 512, 1024, 2048). */
static const struct {
    int cpu, min, max, step;
} fargate_sizes[] = {
    {256, 512, 2048, 0},        {512, 1024, 4096, 1024},    {1024, 2048, 8192, 1024},
    {2048, 4096, 16384, 1024},  {4096, 8192, 30720, 1024},  {8192, 16384, 61440, 4096},
    {16384, 32768, 122880, 8192},
};
#define N_SIZES (sizeof fargate_sizes / sizeof *fargate_sizes)

int aws_fargate_size(json_int_t cpu_millis, json_int_t mem_mib, int *cpu_units, int *mem_out,
                     char **why)
{
    *why = NULL;
    json_int_t units = (cpu_millis * 1024 + 999) / 1000;
    for (size_t i = 0; i < N_SIZES; i++) {
        if (fargate_sizes[i].cpu < units || fargate_sizes[i].max < mem_mib) continue;
        int m = fargate_sizes[i].min;
        if (fargate_sizes[i].step == 0) {
            while (m < mem_mib) m *= 2; /* 512, 1024, 2048 */
        } else {
            while (m < mem_mib) m += fargate_sizes[i].step;
        }
        *cpu_units = fargate_sizes[i].cpu;
        *mem_out = m;
        return 0;
    }
    if (units > 16384)
        *why = fbk_xasprintf("%lld millicores are %lld cpu units, more than Fargate's largest "
                             "task (16384 units = 16 vCPU)", (long long)cpu_millis,
                             (long long)units);
    else
        *why = fbk_xasprintf("%lld MiB is more than any Fargate task with at least %lld cpu "
                             "units can have (at most 122880 MiB = 120 GiB, at 16 vCPU)",
                             (long long)mem_mib, (long long)units);
    return -1;
}

/* ---- the workload as ECS sees it ------------------------------------------------------- */

typedef struct ctr {
    const json_t *w, *spec, *res;
    const char *region;
    char *name;           /* new: service name = task family */
    const char *cname;    /* container name = workload name */
    int cpu, mem;         /* Fargate size */
    int size_ok;
    char *size_note;      /* new */
    json_int_t desired, max;
    int autoscale;
    const char *arch;
    json_int_t eph_gib;   /* 0: the included 20 GiB */
    json_int_t public_port; /* 0: none */
    char *task_role;      /* new: the workload's identity role (iam.c), NULL: settings' */
    const json_t *ident;  /* the apply input's identity (borrowed), or NULL */
    json_t *sched;        /* new: the capacity schedule's actions (capacity.c), or NULL */
    char *sched_why;      /* new: why the schedule cannot be rendered, or NULL */
} ctr;

static void ctr_init(ctr *c, const json_t *w, const char *region)
{
    memset(c, 0, sizeof *c);
    c->w = w;
    c->spec = aws_spec(w);
    c->res = json_object_get(c->spec, "resources");
    c->region = region;
    c->name = aws_resource_name(w, 255);
    c->cname = aws_str(json_object_get(w, "metadata"), "name");
    json_int_t cpu = aws_int(c->res, "cpuMillis", 250), mem = aws_int(c->res, "memoryMiB", 512);
    char *why = NULL;
    c->size_ok = aws_fargate_size(cpu, mem, &c->cpu, &c->mem, &why) == 0;
    if (c->size_ok) {
        c->size_note = fbk_xasprintf(
            "Fargate size: cpu %lldm -> %d units (%g vCPU), memory %lld MiB -> %d MiB: the "
            "smallest valid Fargate combination at or above the spec's demand",
            (long long)cpu, c->cpu, c->cpu / 1024.0, (long long)mem, c->mem);
    } else {
        c->size_note = why;
    }
    const json_t *sc = json_object_get(c->spec, "scaling");
    json_int_t min = aws_int(sc, "minInstances", 0);
    c->desired = min > 0 ? min : 1;
    c->max = aws_int(sc, "maxInstances", c->desired);
    c->autoscale = c->max > c->desired;
    /* a capacity schedule moves the target's MinCapacity: it needs the
     * scalable target even where the spec's range has no room */
    aws_capacity_actions(c->spec, c->max, 0, &c->sched, &c->sched_why);
    if (c->sched) c->autoscale = 1;
    c->arch = aws_str(c->res, "arch") ? aws_str(c->res, "arch") : "x86_64";
    json_int_t eph = aws_int(c->res, "ephemeralStorageMiB", 512);
    if (eph > FARGATE_INCLUDED_GIB * 1024) c->eph_gib = (eph + 1023) / 1024;
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(c->spec, "ports"), i, p) {
        if (json_is_true(json_object_get(p, "public"))) c->public_port = aws_int(p, "port", 0);
    }
}

static void ctr_free(ctr *c)
{
    json_decref(c->sched);
    free(c->sched_why);
    free(c->task_role);
    free(c->name);
    free(c->size_note);
}

/* valueFrom for an aws-sm:// secret reference (new), or NULL with *why.
 * *account_missing is set when the ARN needs the account id and
 * drivers.aws.accountId is not set (the ARN then shows a placeholder). */
static char *secret_value_from(aws_ctx *ctx, const char *region, const char *ref,
                               int *account_missing, char **why)
{
    *why = NULL;
    *account_missing = 0;
    if (!ref || strncmp(ref, "aws-sm://", 9) != 0) {
        *why = fbk_xasprintf("ECS reads secrets from AWS Secrets Manager only; %s is not an "
                             "aws-sm:// reference", ref ? ref : "(none)");
        return NULL;
    }
    const char *rest = ref + 9;
    if (!strncmp(rest, "arn:", 4)) return fbk_xstrdup(rest);
    const char *hash = strchr(rest, '#');
    if (!hash) return fbk_xstrdup(rest);
    *account_missing = !ctx->account_id;
    return fbk_xasprintf("arn:aws:secretsmanager:%s:%s:secret:%.*s:%s::", region,
                         ctx->account_id ? ctx->account_id : AWS_UNSET_ACCOUNT,
                         (int)(hash - rest), rest, hash + 1);
}

/* ---- validate ------------------------------------------------------------------------------ */

fb_status aws_ecs_validate(aws_ctx *ctx, const json_t *w, const json_t *placement,
                           int checks, fb_diag *diag)
{
    int warnings = checks & AWS_CHECK_WARN, deploy = checks & AWS_CHECK_DEPLOY;
    ctr c;
    ctr_init(&c, w, aws_str(placement, "region"));
    int bad = 0;
#define ERR(ptr, ...) (fbk_diag(aws_host, diag, FB_SEV_ERROR, ptr, __VA_ARGS__), bad = 1)
#define WARN(ptr, ...) \
    do { if (warnings) fbk_diag(aws_host, diag, FB_SEV_WARNING, ptr, __VA_ARGS__); } while (0)
    if (!c.size_ok)
        ERR("/spec/resources", "aws: no Fargate task size fits: %s\nFargate sizes: 0.25 vCPU "
                               "with 0.5-2 GiB, 0.5 with 1-4, 1 with 2-8, 2 with 4-16, 4 with "
                               "8-30, 8 with 16-60, 16 with 32-120 GiB", c.size_note);
    if (c.eph_gib > FARGATE_MAX_EPHEMERAL_GIB)
        ERR("/spec/resources/ephemeralStorage",
            "aws: Fargate tasks have at most %d GiB of ephemeral storage; the spec asks for %lld GiB",
            FARGATE_MAX_EPHEMERAL_GIB, (long long)c.eph_gib);
    if (c.sched_why) ERR("/spec/scaling/schedule", "aws: %s", c.sched_why);
    if (json_object_get(c.res, "gpu"))
        ERR("/spec/resources/gpu", "aws: Fargate has no GPUs\nplace the workload on a provider "
                                   "with GPU containers, or drop spec.resources.gpu");
    if (!aws_str(c.spec, "image"))
        ERR("/spec/image", "aws: a Container needs spec.image");
    if (json_array_size(ctx->subnets) == 0 && deploy)
        ERR(NULL, "aws: Fargate services run in a VPC and no subnets are configured\n"
                  "set drivers.aws.ecs.subnets (and securityGroups, assignPublicIp)");
    else if (json_array_size(ctx->subnets) == 0)
        WARN(NULL, "aws: drivers.aws.ecs.subnets is not set: the documents show %s (apply "
                   "refuses until it is set)", AWS_UNSET_SUBNETS);
    size_t i;
    const json_t *s;
    json_array_foreach(json_object_get(c.spec, "secrets"), i, s) {
        char ptr[64];
        snprintf(ptr, sizeof ptr, "/spec/secrets/%zu/ref", i);
        char *why = NULL;
        int account_missing = 0;
        char *vf = secret_value_from(ctx, c.region ? c.region : "us-east-1", aws_str(s, "ref"),
                                     &account_missing, &why);
        if (!vf) ERR(ptr, "aws: %s", why);
        else if (account_missing && deploy)
            ERR(ptr, "aws: the secret %s has a JSON key, so ECS needs its full ARN, and the "
                     "driver does not know the account\nset drivers.aws.accountId",
                aws_str(s, "ref"));
        else if (account_missing)
            WARN(ptr, "aws: drivers.aws.accountId is not set: the secret's ARN shows %s",
                 AWS_UNSET_ACCOUNT);
        free(vf);
        free(why);
    }
    if (json_array_size(json_object_get(c.spec, "secrets")) && !ctx->execution_role && deploy)
        ERR("/spec/secrets", "aws: ECS needs a task execution role to read secrets\n"
                             "set drivers.aws.ecs.executionRoleArn");
    else if (json_array_size(json_object_get(c.spec, "secrets")) && !ctx->execution_role)
        WARN("/spec/secrets", "aws: drivers.aws.ecs.executionRoleArn is not set: the task "
                              "definition shows %s (apply refuses until it is set)",
             AWS_UNSET_EXEC_ROLE);
    const json_t *hc = json_object_get(c.spec, "healthCheck");
    if (hc) {
        struct {
            const char *key, *ptr;
            json_int_t lo, hi, dflt;
        } r[] = {{"periodMs", "/spec/healthCheck/period", 5, 300, 30},
                 {"timeoutMs", "/spec/healthCheck/timeout", 2, 60, 5},
                 {"initialDelayMs", "/spec/healthCheck/initialDelay", 0, 300, 0}};
        for (size_t k = 0; k < 3; k++) {
            json_int_t sec = (aws_int(hc, r[k].key, r[k].dflt * 1000) + 999) / 1000;
            if (sec > r[k].hi)
                ERR(r[k].ptr, "aws: ECS health checks take %lld..%lld s here; the spec says %lld s",
                    (long long)r[k].lo, (long long)r[k].hi, (long long)sec);
            else if (sec < r[k].lo)
                WARN(r[k].ptr, "aws: ECS health checks take at least %lld s here; the spec says "
                               "%lld s, so %lld s is used", (long long)r[k].lo, (long long)sec,
                     (long long)r[k].lo);
        }
        json_int_t ft = aws_int(hc, "failureThreshold", 3);
        if (ft < 1 || ft > 10)
            ERR("/spec/healthCheck/failureThreshold",
                "aws: ECS health checks retry 1..10 times; the spec says %lld", (long long)ft);
    }
    if (c.public_port && !ctx->target_group && ctx->assign_public_ip == 0)
        WARN("/spec/ports", "aws: port %lld is public, but the service gets no public IP "
                            "(ecs.assignPublicIp is false) and no load balancer "
                            "(ecs.targetGroupArn)", (long long)c.public_port);
    /* a service serves its ports; its offers wire http only, so plan never
     * puts a scheduled or queue-fed Container here (an explicit --target may) */
    size_t ti;
    const json_t *t;
    json_array_foreach(json_object_get(aws_spec(w), "triggers"), ti, t) {
        const char *kind = json_object_get(t, "schedule") ? "schedule"
                         : json_object_get(t, "queue") ? "queue" : NULL;
        if (!kind) continue;
        char ptr[64];
        snprintf(ptr, sizeof ptr, "/spec/triggers/%zu", ti);
        WARN(ptr, "aws: Fargate services are not invoked by %s triggers: the service is deployed "
                  "without this one\nplace the workload as a Function on Lambda, which wires it",
             kind);
    }
#undef ERR
#undef WARN
    ctr_free(&c);
    return bad ? FB_INVALID : FB_OK;
}

/* ---- documents ---------------------------------------------------------------------------- */

static json_t *doc(const char *api, const char *op, const char *region, json_t *body /* steals */)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o}", "api", api, "kind", op, "operation", op,
                     "method", "POST", "path", "/", "region", region, "body", body);
}

/* ECS tags: [{key, value}] sorted by key. new. */
static json_t *ecs_tags(const json_t *w)
{
    json_t *t = aws_tags(w);
    json_t *arr = json_array();
    const char *k;
    json_t *v;
    /* jansson keeps insertion order; sort for determinism */
    size_t n = json_object_size(t), i = 0;
    const char **keys = fbk_xcalloc(n ? n : 1, sizeof *keys);
    json_object_foreach(t, k, v) keys[i++] = k;
    for (size_t a = 1; a < n; a++)
        for (size_t b = a; b > 0 && strcmp(keys[b - 1], keys[b]) > 0; b--) {
            const char *x = keys[b];
            keys[b] = keys[b - 1];
            keys[b - 1] = x;
        }
    for (i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:s,s:O}", "key", keys[i], "value",
                                             json_object_get(t, keys[i])));
    free(keys);
    json_decref(t);
    return arr;
}

static const json_t *secrets_of(const ctr *c)
{
    return json_object_get(c->spec, "secrets");
}

/* Secrets Manager tags: [{Key, Value}], the ECS tags renamed. new. */
static json_t *sm_tags(const json_t *w)
{
    json_t *e = ecs_tags(w), *out = json_array(), *t;
    size_t i;
    json_array_foreach(e, i, t)
        json_array_append_new(out, json_pack("{s:O,s:O}", "Key", json_object_get(t, "key"), "Value",
                                             json_object_get(t, "value")));
    json_decref(e);
    return out;
}

static json_int_t at_least(json_int_t lo, json_int_t v)
{
    return v < lo ? lo : v;
}

static json_t *taskdef_body(aws_ctx *ctx, const ctr *c)
{
    json_t *cd = json_pack("{s:s,s:s?,s:b}", "name", c->cname, "image",
                           aws_str(c->spec, "image"), "essential", 1);
    json_t *ports = json_array();
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(c->spec, "ports"), i, p) {
        json_int_t port = aws_int(p, "port", 0);
        const char *proto = aws_str(p, "protocol") ? aws_str(p, "protocol") : "http";
        char name[32];
        snprintf(name, sizeof name, "port-%lld", (long long)port);
        json_t *pm = json_pack("{s:I,s:s,s:s}", "containerPort", port, "protocol", "tcp",
                               "name", name);
        if (!strcmp(proto, "http") || !strcmp(proto, "grpc"))
            json_object_set_new(pm, "appProtocol", json_string(proto));
        json_array_append_new(ports, pm);
    }
    if (json_array_size(ports)) json_object_set_new(cd, "portMappings", ports);
    else json_decref(ports);
    /* environment, sorted by name */
    json_t *env = json_array();
    /* the spec's variables and, with a token endpoint, the broker's
     * (FEDBROKER_TOKEN_URL, ...: aws_identity_env) */
    json_t *eo = json_is_object(json_object_get(c->spec, "env")) ? json_deep_copy(json_object_get(c->spec, "env"))
                                                                : json_object();
    aws_identity_env(c->ident, eo);
    size_t n = json_object_size(eo), k = 0;
    const char **keys = fbk_xcalloc(n ? n : 1, sizeof *keys);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)eo, key, v) keys[k++] = key;
    for (size_t a = 1; a < n; a++)
        for (size_t b = a; b > 0 && strcmp(keys[b - 1], keys[b]) > 0; b--) {
            const char *x = keys[b];
            keys[b] = keys[b - 1];
            keys[b - 1] = x;
        }
    for (k = 0; k < n; k++)
        json_array_append_new(env, json_pack("{s:s,s:O}", "name", keys[k], "value",
                                             json_object_get(eo, keys[k])));
    free(keys);
    json_decref(eo);
    if (json_array_size(env)) json_object_set_new(cd, "environment", env);
    else json_decref(env);
    json_t *secrets = json_array();
    json_array_foreach(json_object_get(c->spec, "secrets"), i, p) {
        char *why = NULL;
        int account_missing = 0;
        char *vf = secret_value_from(ctx, c->region, aws_str(p, "ref"), &account_missing, &why);
        if (vf) json_array_append_new(secrets, json_pack("{s:s?,s:s}", "name", aws_str(p, "env"),
                                                         "valueFrom", vf));
        free(vf);
        free(why);
    }
    if (json_array_size(secrets)) json_object_set_new(cd, "secrets", secrets);
    else json_decref(secrets);
    const json_t *cmd = json_object_get(c->spec, "command");
    const json_t *args = json_object_get(c->spec, "args");
    if (json_array_size(cmd)) json_object_set(cd, "entryPoint", (json_t *)cmd);
    if (json_array_size(args)) json_object_set(cd, "command", (json_t *)args);
    const json_t *hc = json_object_get(c->spec, "healthCheck");
    if (hc) {
        json_int_t port = aws_int(hc, "port", 0);
        if (!port) port = aws_int(json_array_get(json_object_get(c->spec, "ports"), 0), "port", 8080);
        const char *path = aws_str(hc, "path") ? aws_str(hc, "path") : "/";
        char *sh = fbk_xasprintf("curl -fsS http://localhost:%lld%s%s >/dev/null || exit 1",
                                 (long long)port, path[0] == '/' ? "" : "/", path);
        json_object_set_new(cd, "healthCheck", json_pack(
            "{s:[s,s],s:I,s:I,s:I,s:I}", "command", "CMD-SHELL", sh,
            "interval", at_least(5, (aws_int(hc, "periodMs", 30000) + 999) / 1000),
            "timeout", at_least(2, (aws_int(hc, "timeoutMs", 5000) + 999) / 1000),
            "retries", aws_int(hc, "failureThreshold", 3),
            "startPeriod", (aws_int(hc, "initialDelayMs", 0) + 999) / 1000));
        free(sh);
    }
    json_t *b = json_pack("{s:s,s:[s],s:s,s:s,s:s,s:{s:s,s:s},s:[o],s:o}", "family", c->name,
                          "requiresCompatibilities", "FARGATE", "networkMode", "awsvpc",
                          "cpu", "", "memory", "", "runtimePlatform", "cpuArchitecture",
                          !strcmp(c->arch, "arm64") ? "ARM64" : "X86_64",
                          "operatingSystemFamily", "LINUX", "containerDefinitions", cd,
                          "tags", ecs_tags(c->w));
    char num[16];
    snprintf(num, sizeof num, "%d", c->cpu);
    json_object_set_new(b, "cpu", json_string(num));
    snprintf(num, sizeof num, "%d", c->mem);
    json_object_set_new(b, "memory", json_string(num));
    if (ctx->execution_role)
        json_object_set_new(b, "executionRoleArn", json_string(ctx->execution_role));
    else if (json_array_size(secrets_of(c)))
        json_object_set_new(b, "executionRoleArn", json_string(AWS_UNSET_EXEC_ROLE));
    if (c->task_role) json_object_set_new(b, "taskRoleArn", json_string(c->task_role));
    else if (ctx->task_role) json_object_set_new(b, "taskRoleArn", json_string(ctx->task_role));
    if (c->eph_gib) json_object_set_new(b, "ephemeralStorage", json_pack("{s:I}", "sizeInGiB", c->eph_gib));
    return b;
}

/* ECS's clientToken (at most 36 ASCII characters): the same for the same
 * service and spec, so a retried CreateService is recognised. new. */
static char *client_token(aws_ctx *ctx, const ctr *c)
{
    char *key = fbk_xasprintf("fedbroker|%s|%s|%s|%s", c->region, ctx->cluster, c->name,
                              aws_str(c->w, "specHash") ? aws_str(c->w, "specHash") : "");
    char hex[65];
    fbk_sha256_hex(key, strlen(key), hex);
    free(key);
    return fbk_xstrndup(hex, 32);
}

static const char *public_ip(aws_ctx *ctx, const ctr *c)
{
    if (ctx->assign_public_ip >= 0) return ctx->assign_public_ip ? "ENABLED" : "DISABLED";
    return c->public_port && !ctx->target_group ? "ENABLED" : "DISABLED";
}

static json_t *service_body(aws_ctx *ctx, const ctr *c)
{
    json_t *vpc = json_pack("{s:O,s:s}", "subnets", ctx->subnets, "assignPublicIp",
                            public_ip(ctx, c));
    if (json_array_size(ctx->subnets) == 0)
        json_object_set_new(vpc, "subnets", json_pack("[s]", AWS_UNSET_SUBNETS));
    if (json_array_size(ctx->security_groups))
        json_object_set(vpc, "securityGroups", ctx->security_groups);
    char *token = client_token(ctx, c);
    json_t *b = json_pack("{s:s,s:s,s:s,s:I,s:s,s:{s:o},s:o,s:s,s:s,s:b}", "cluster", ctx->cluster,
                          "serviceName", c->name, "taskDefinition", c->name, "desiredCount",
                          c->desired, "launchType", "FARGATE", "networkConfiguration",
                          "awsvpcConfiguration", vpc, "tags", ecs_tags(c->w), "clientToken",
                          token, "propagateTags", "SERVICE", "enableECSManagedTags", 1);
    free(token);
    if (ctx->target_group && c->public_port) {
        json_object_set_new(b, "loadBalancers", json_pack("[{s:s,s:s,s:I}]", "targetGroupArn",
                                                          ctx->target_group, "containerName",
                                                          c->cname, "containerPort",
                                                          c->public_port));
        json_int_t grace = (aws_int(json_object_get(c->spec, "healthCheck"), "initialDelayMs", 0)
                            + 999) / 1000;
        if (grace) json_object_set_new(b, "healthCheckGracePeriodSeconds", json_integer(grace));
    }
    return b;
}

static char *resource_id(aws_ctx *ctx, const char *service)
{
    return fbk_xasprintf("service/%s/%s", ctx->cluster, service);
}

/* The scaling policy: request count per target behind the ALB when the
 * spec gives a request rate (or a concurrency and a mean duration) and a
 * load balancer is configured; else average CPU. *note is new. */
static json_t *policy_body(aws_ctx *ctx, const ctr *c, char **note)
{
    const json_t *sc = json_object_get(c->spec, "scaling");
    const json_t *tr = json_object_get(c->spec, "traffic");
    double rps = 0;
    if (json_is_integer(json_object_get(sc, "targetRequestsPerSecond")))
        rps = (double)aws_int(sc, "targetRequestsPerSecond", 0);
    else if (json_is_number(json_object_get(sc, "targetRequestsPerSecond")))
        rps = json_number_value(json_object_get(sc, "targetRequestsPerSecond"));
    else if (aws_int(sc, "targetConcurrency", 0) > 0 && aws_int(tr, "meanDurationMs", 0) > 0)
        rps = (double)aws_int(sc, "targetConcurrency", 0) * 1000.0 /
              (double)aws_int(tr, "meanDurationMs", 1);
    char *rid = resource_id(ctx, c->name);
    char *pname = fbk_xasprintf("fedbroker-%s", c->name);
    json_t *spec;
    double target;
    if (ctx->alb_resource_label && rps > 0) {
        target = rps * 60.0; /* ALBRequestCountPerTarget counts per minute */
        spec = json_pack("{s:s,s:s}", "PredefinedMetricType", "ALBRequestCountPerTarget",
                         "ResourceLabel", ctx->alb_resource_label);
        *note = fbk_xasprintf("scaling: ALBRequestCountPerTarget at %.0f requests per target "
                              "per minute (%.2f per second)", target, rps);
    } else {
        target = ctx->cpu_target;
        spec = json_pack("{s:s}", "PredefinedMetricType", "ECSServiceAverageCPUUtilization");
        *note = fbk_xasprintf("scaling: ECSServiceAverageCPUUtilization at %d%% (%s)",
                              ctx->cpu_target, rps > 0 ? "a request-rate target needs "
                              "drivers.aws.ecs.albResourceLabel" : "no request-rate target in "
                              "the spec");
    }
    json_t *b = json_pack("{s:s,s:s,s:s,s:s,s:s,s:{s:f,s:o,s:i,s:i}}", "PolicyName", pname,
                          "ServiceNamespace", "ecs", "ResourceId", rid, "ScalableDimension",
                          "ecs:service:DesiredCount", "PolicyType", "TargetTrackingScaling",
                          "TargetTrackingScalingPolicyConfiguration", "TargetValue", target,
                          "PredefinedMetricSpecification", spec, "ScaleOutCooldown", 60,
                          "ScaleInCooldown", 120);
    free(rid);
    free(pname);
    return b;
}

static json_t *target_body(aws_ctx *ctx, const ctr *c)
{
    char *rid = resource_id(ctx, c->name);
    json_t *b = json_pack("{s:s,s:s,s:s,s:I,s:I}", "ServiceNamespace", "ecs", "ResourceId", rid,
                          "ScalableDimension", "ecs:service:DesiredCount", "MinCapacity",
                          c->desired, "MaxCapacity", c->max);
    free(rid);
    return b;
}

static json_t *create_docs(aws_ctx *ctx, const ctr *c)
{
    json_t *docs = json_array();
    json_t *td = doc("ecs", "RegisterTaskDefinition", c->region, taskdef_body(ctx, c));
    json_object_set_new(td, "notes", json_pack("[s]", c->size_note));
    json_array_append_new(docs, td);
    json_array_append_new(docs, doc("ecs", "CreateService", c->region, service_body(ctx, c)));
    if (c->autoscale) {
        json_array_append_new(docs, doc("application-autoscaling", "RegisterScalableTarget",
                                        c->region, target_body(ctx, c)));
        char *note = NULL;
        json_t *pd = doc("application-autoscaling", "PutScalingPolicy", c->region,
                         policy_body(ctx, c, &note));
        json_object_set_new(pd, "notes", json_pack("[s]", note));
        free(note);
        json_array_append_new(docs, pd);
    }
    /* the capacity schedule: the floor per step, on the same target */
    size_t i;
    const json_t *a;
    char *rid = resource_id(ctx, c->name);
    json_array_foreach(c->sched, i, a)
        json_array_append_new(docs, doc("application-autoscaling", "PutScheduledAction", c->region,
                                        aws_capacity_put_body("ecs", rid, "ecs:service:DesiredCount",
                                                              a)));
    free(rid);
    return docs;
}

fb_status aws_ecs_documents(aws_ctx *ctx, const json_t *w, const json_t *placement, json_t **docs,
                            fb_diag *diag)
{
    (void)diag;
    ctr c;
    ctr_init(&c, w, aws_str(placement, "region"));
    *docs = create_docs(ctx, &c);
    ctr_free(&c);
    return FB_OK;
}

/* ---- calls ----------------------------------------------------------------------------------- */

typedef struct call {
    aws_ctx *ctx;
    fb_diag *diag;
    const fbk_aws_creds *creds;
    const char *region;
} call;

static fb_status ecall(const call *c, const char *api, const char *op, const json_t *body,
                       uint32_t flags, aws_req *rq, aws_res *res)
{
    *rq = (aws_req){.api = api, .op = op, .method = "POST", .path = "/", .body = body,
                    .flags = flags};
    return aws_send(c->ctx, c->diag, c->creds, c->region, rq, res);
}

/* Sends an operation; non-2xx answers become errors unless *tolerated. A
 * throttled non-idempotent call (RegisterTaskDefinition) is re-sent here:
 * AWS did not apply a throttled request. */
static fb_status op_ok(const call *c, const char *api, const char *op, const json_t *body,
                       uint32_t flags, json_t **answer)
{
    if (answer) *answer = NULL;
    for (int attempt = 0;; attempt++) {
        aws_req rq;
        aws_res res;
        fb_status st = ecall(c, api, op, body, flags, &rq, &res);
        if (st != FB_OK && !flags)
            fbk_diag(aws_host, c->diag, FB_SEV_NOTE, NULL,
                     "aws: %s was not answered; apply again (a task definition revision it may "
                     "have registered is unused and harmless)", op);
        if (st != FB_OK) return st;
        if (res.err == FB_RETRYABLE && !flags && res.status == 429 && attempt < 2) {
            aws_res_clear(&res);
            aws_host->sleep_ms(c->diag, 1000u << attempt);
            continue;
        }
        if (res.err != FB_OK) st = aws_fail(c->diag, &rq, &res, NULL);
        else if (answer) *answer = res.body ? json_incref(res.body) : json_object();
        aws_res_clear(&res);
        return st;
    }
}

static int tags_ours_list(const json_t *tags)
{
    size_t i;
    const json_t *t;
    json_array_foreach(tags, i, t) {
        const char *k = aws_str(t, "key"), *v = aws_str(t, "value");
        if (k && v && !strcmp(k, "managed-by") && !strcmp(v, "fedbroker")) return 1;
    }
    return 0;
}

static const char *tag_value(const json_t *tags, const char *key)
{
    size_t i;
    const json_t *t;
    json_array_foreach(tags, i, t) {
        const char *k = aws_str(t, "key");
        if (k && !strcmp(k, key)) return aws_str(t, "value");
    }
    return NULL;
}

/* DescribeServices for one service. *svc is new or NULL (missing, draining
 * or inactive). A 404 (which ECS never sends, but a fake host may) is
 * "missing" too. */
static fb_status describe_service(const call *c, const char *cluster, const char *name,
                                  json_t **svc)
{
    *svc = NULL;
    json_t *b = json_pack("{s:s,s:[s],s:[s]}", "cluster", cluster, "services", name, "include",
                          "TAGS");
    aws_req rq;
    aws_res res;
    fb_status st = ecall(c, "ecs", "DescribeServices", b, FB_HTTP_READ_ONLY, &rq, &res);
    json_decref(b);
    if (st != FB_OK) return st;
    if (res.err == FB_NOTFOUND) {
        aws_res_clear(&res);
        return FB_OK;
    }
    if (res.err != FB_OK) {
        st = aws_fail(c->diag, &rq, &res, NULL);
        aws_res_clear(&res);
        return st;
    }
    const json_t *s = json_array_get(json_object_get(res.body, "services"), 0);
    const char *status = aws_str(s, "status");
    if (s && status && !strcmp(status, "ACTIVE")) *svc = json_incref((json_t *)s);
    aws_res_clear(&res);
    return FB_OK;
}

/* DescribeTaskDefinition with tags. *td is new: {"taskDefinition", "tags"}
 * or NULL when unknown. */
static fb_status describe_taskdef(const call *c, const char *ref, json_t **td)
{
    *td = NULL;
    json_t *b = json_pack("{s:s,s:[s]}", "taskDefinition", ref, "include", "TAGS");
    aws_req rq;
    aws_res res;
    fb_status st = ecall(c, "ecs", "DescribeTaskDefinition", b, FB_HTTP_READ_ONLY, &rq, &res);
    json_decref(b);
    if (st != FB_OK) return st;
    if (res.err == FB_OK) *td = res.body ? json_incref(res.body) : NULL;
    else if (res.err != FB_NOTFOUND && !(res.code && !strcmp(res.code, "ClientException")))
        st = aws_fail(c->diag, &rq, &res, NULL);
    aws_res_clear(&res);
    return st;
}

static fb_status deregister_target(const call *c, const char *rid)
{
    json_t *b = json_pack("{s:s,s:s,s:s}", "ServiceNamespace", "ecs", "ResourceId", rid,
                          "ScalableDimension", "ecs:service:DesiredCount");
    aws_req rq;
    aws_res res;
    fb_status st = ecall(c, "application-autoscaling", "DeregisterScalableTarget", b,
                         FB_HTTP_IDEMPOTENT, &rq, &res);
    json_decref(b);
    if (st == FB_OK && res.err != FB_OK && res.err != FB_NOTFOUND)
        st = aws_fail(c->diag, &rq, &res, NULL);
    aws_res_clear(&res);
    return st;
}

static json_t *ctr_state(aws_ctx *ctx, const ctr *c)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:I,s:b}", "kind", "Container", "cluster",
                     ctx->cluster, "serviceName", c->name, "family", c->name, "region", c->region,
                     "specHash", aws_str(c->w, "specHash") ? aws_str(c->w, "specHash") : "",
                     "cpu", c->cpu, "memory", c->mem, "desiredCount", c->desired, "autoscaling",
                     c->autoscale);
}

/* The broker's portable secrets (docs/identity.md): each secret://NAME,
 * which aws.c mapped to aws-sm://fedbroker/TENANT/WORKLOAD/NAME, is copied
 * into Secrets Manager under that name before the task definition that
 * reads it: created (and recorded) when missing, given the broker's
 * latest version otherwise. The version's number makes the
 * ClientRequestToken, so the same version sent again adds nothing and a
 * new one becomes AWSCURRENT; *changed says a new version was sent (the
 * running tasks must restart to read it). The value comes from
 * host->credential, which makes it a secret of the call: a dry run shows
 * the request with it redacted. A secret of that name without our tags is
 * not touched (FB_CONFLICT). */
static fb_status materialise_secrets(const call *c, const ctr *cc, const json_t *w, int *changed)
{
    *changed = 0;
    fb_status st = FB_OK;
    size_t i;
    const json_t *s;
    json_array_foreach(secrets_of(cc), i, s) {
        const char *portable = aws_str(s, "portable"), *ref = aws_str(s, "ref");
        if (!portable || !ref || strncmp(ref, "aws-sm://", 9) != 0) continue;
        const char *name = ref + 9;
        char ptr[64];
        snprintf(ptr, sizeof ptr, "/spec/secrets/%zu/ref", i);
        char *value = NULL, *version = NULL;
        st = aws_host->credential(c->diag, portable, &value);
        if (st == FB_NOTFOUND)
            fbk_diag(aws_host, c->diag, FB_SEV_ERROR, ptr,
                     "aws: %s: the broker has no such secret for this tenant\nstore it with: "
                     "fedbroker secret put %s --tenant TENANT < FILE", portable, portable + 9);
        if (st != FB_OK) {
            if (value) aws_host->free(value);
            return st == FB_NOTFOUND ? FB_INVALID : st;
        }
        char vkey[96];
        snprintf(vkey, sizeof vkey, "secret-version://%s", portable + 9);
        st = aws_host->credential(c->diag, vkey, &version);
        char *token = fbk_xasprintf("fedbroker-secret-version-%020lld",
                                    st == FB_OK ? atoll(version) : 0LL);
        if (version) aws_host->free(version);
        json_t *desc = NULL;
        int exists = 0;
        if (st == FB_OK && !aws_host->dry_run(c->diag)) {
            json_t *b = json_pack("{s:s}", "SecretId", name);
            aws_req rq;
            aws_res res;
            st = ecall(c, "secretsmanager", "DescribeSecret", b, FB_HTTP_IDEMPOTENT | FB_HTTP_READ_ONLY,
                       &rq, &res);
            json_decref(b);
            if (st == FB_OK && res.err == FB_OK) {
                exists = 1;
                desc = res.body ? json_incref(res.body) : json_object();
            } else if (st == FB_OK && res.err != FB_NOTFOUND &&
                       !(res.code && strstr(res.code, "ResourceNotFound"))) {
                st = aws_fail(c->diag, &rq, &res, NULL);
            }
            aws_res_clear(&res);
        }
        if (st == FB_OK && exists) {
            int ours = 0;
            size_t k;
            const json_t *t;
            json_array_foreach(json_object_get(desc, "Tags"), k, t)
                ours |= aws_str(t, "Key") && !strcmp(aws_str(t, "Key"), "managed-by") &&
                        aws_str(t, "Value") && !strcmp(aws_str(t, "Value"), "fedbroker");
            if (!ours) {
                fbk_diag(aws_host, c->diag, FB_SEV_ERROR, ptr,
                         "aws: a Secrets Manager secret named %s exists and is not managed by "
                         "fedbroker (no managed-by=fedbroker tag)\nremove or rename it", name);
                st = FB_CONFLICT;
            }
        }
        if (st == FB_OK && exists) {
            /* a version already holding this token is not sent again */
            int have = 0;
            const char *vid;
            json_t *stages;
            json_object_foreach(json_object_get(desc, "VersionIdsToStages"), vid, stages)
                have |= !strcmp(vid, token);
            st = aws_record(c->diag, "secretsmanager-secret", aws_str(desc, "ARN"), cc->region,
                            cc->name);
            if (st == FB_OK && !have) {
                json_t *b = json_pack("{s:s,s:s,s:s}", "SecretId", aws_str(desc, "ARN"),
                                      "SecretString", value, "ClientRequestToken", token);
                st = op_ok(c, "secretsmanager", "PutSecretValue", b, FB_HTTP_TOKEN_GUARDED, NULL);
                json_decref(b);
                *changed = st == FB_OK;
            }
        } else if (st == FB_OK) {
            json_t *b = json_pack("{s:s,s:s,s:s,s:s,s:o}", "Name", name, "SecretString", value,
                                  "ClientRequestToken", token, "Description",
                                  "fedbroker: a copy of the broker's portable secret for one "
                                  "workload (docs/identity.md)", "Tags", sm_tags(w));
            json_t *ans = NULL;
            st = op_ok(c, "secretsmanager", "CreateSecret", b, FB_HTTP_TOKEN_GUARDED, &ans);
            json_decref(b);
            if (st == FB_OK && !aws_host->dry_run(c->diag)) {
                if (!aws_str(ans, "ARN")) {
                    fbk_diag(aws_host, c->diag, FB_SEV_ERROR, ptr,
                             "aws: CreateSecret answered without an ARN");
                    st = FB_INTERNAL;
                } else {
                    st = aws_record(c->diag, "secretsmanager-secret", aws_str(ans, "ARN"),
                                    cc->region, cc->name);
                }
            }
            json_decref(ans);
        }
        /* only the workload reads it (docs/identity.md): its task role, and
         * the execution role ECS injects valueFrom secrets with; everyone
         * else in the account is denied, whatever their own policies say */
        if (st == FB_OK && cc->task_role) {
            json_t *doc = json_pack("{s:s,s:[{s:s,s:s,s:s,s:s,s:s,s:{s:{s:[s,s]}}}]}", "Version", "2012-10-17",
                                    "Statement", "Sid", "OnlyTheWorkload", "Effect", "Deny", "Principal", "*",
                                    "Action", "secretsmanager:GetSecretValue", "Resource", "*", "Condition",
                                    "StringNotEquals", "aws:PrincipalArn", cc->task_role,
                                    c->ctx->execution_role ? c->ctx->execution_role : AWS_UNSET_EXEC_ROLE);
            char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
            json_decref(doc);
            json_t *b = json_pack("{s:s,s:s,s:b}", "SecretId", exists ? aws_str(desc, "ARN") : name,
                                  "ResourcePolicy", text, "BlockPublicPolicy", 1);
            st = op_ok(c, "secretsmanager", "PutResourcePolicy", b, FB_HTTP_IDEMPOTENT, NULL);
            json_decref(b);
            free(text);
        }
        json_decref(desc);
        free(token);
        /* the host keeps it only to redact it; wipe our copy */
        fbk_wipe(value, strlen(value));
        aws_host->free(value);
        if (st != FB_OK) return st;
    }
    return st;
}

/* The container's first port (the one callers reach through VPC
 * Lattice), 0 when it has none. */
static json_int_t first_port(const ctr *c)
{
    return aws_int(json_array_get(json_object_get(c->spec, "ports"), 0), "port", 0);
}

fb_status aws_ecs_apply(aws_ctx *ctx, const json_t *in, json_t **out, fb_diag *diag)
{
    const json_t *w = json_object_get(in, "workload");
    ctr cc;
    ctr_init(&cc, w, aws_str(json_object_get(in, "placement"), "region"));
    fbk_aws_creds creds;
    fb_status st = aws_creds(ctx, diag, cc.region, &creds);
    /* the broker's workload identity: the tasks run as the workload's role */
    const json_t *ident = json_object_get(in, "identity");
    if (ident && aws_str(ident, "spiffeId")) {
        char *rn = aws_identity_role_name(w);
        cc.task_role = fbk_xasprintf("arn:aws:iam::%s:role/%s",
                                     ctx->account_id ? ctx->account_id : AWS_UNSET_ACCOUNT, rn);
        free(rn);
    } else {
        ident = NULL;
    }
    cc.ident = ident;
    json_t *docs = create_docs(ctx, &cc);
    call c = {ctx, diag, &creds, cc.region};
    json_t *state = ctr_state(ctx, &cc), *svc = NULL, *resources = json_array();
    const char *spec_hash = aws_str(w, "specHash") ? aws_str(w, "specHash") : "";
    int secrets_changed = 0;
    if (st == FB_OK && aws_host->dry_run(diag)) {
        size_t i;
        json_t *d;
        st = materialise_secrets(&c, &cc, w, &secrets_changed);
        if (st == FB_OK && ident) {
            char *ra = NULL;
            st = aws_identity_bind(ctx, diag, &creds, w, ident, cc.region, &ra);
            free(ra);
        }
        json_t *lcfg = NULL; /* the Lattice requests, shown */
        if (st == FB_OK && ident) st = aws_lattice_apply(ctx, diag, &creds, in, cc.region, first_port(&cc), state, &lcfg);
        if (lcfg) json_object_set_new(json_object_get(json_array_get(docs, 1), "body"), "vpcLatticeConfigurations", lcfg);
        json_array_foreach(docs, i, d) {
            if (st != FB_OK) break;
            aws_req rq;
            aws_res res;
            const char *op = aws_str(d, "operation");
            uint32_t flags = !strcmp(op, "RegisterTaskDefinition") ? 0
                           : !strcmp(op, "CreateService") ? FB_HTTP_TOKEN_GUARDED
                           : FB_HTTP_IDEMPOTENT;
            st = ecall(&c, aws_str(d, "api"), op, json_object_get(d, "body"), flags, &rq, &res);
            aws_res_clear(&res);
            if (st != FB_OK) break;
        }
        goto done;
    }
    if (st == FB_OK) st = describe_service(&c, ctx->cluster, cc.name, &svc);
    if (st == FB_OK && svc && !tags_ours_list(json_object_get(svc, "tags"))) {
        fbk_diag(aws_host, diag, FB_SEV_ERROR, NULL,
                 "aws: an ECS service named %s exists in cluster %s (%s) and is not managed by "
                 "fedbroker (no managed-by=fedbroker tag)\nrename the workload or tenant, or "
                 "remove the existing service yourself", cc.name, ctx->cluster, cc.region);
        st = FB_CONFLICT;
    }
    if (st == FB_OK && svc && aws_str(svc, "serviceArn"))
        st = aws_record(diag, "ecs-service", aws_str(svc, "serviceArn"), cc.region, cc.name);
    /* the secrets the task definition reads exist before it does */
    if (st == FB_OK) st = materialise_secrets(&c, &cc, w, &secrets_changed);
    /* and so does the role its tasks run as */
    if (st == FB_OK && ident) {
        char *ra = NULL;
        st = aws_identity_bind(ctx, diag, &creds, w, ident, cc.region, &ra);
        if (st == FB_OK && ra && strcmp(ra, cc.task_role) != 0)
            json_object_set_new(json_object_get(json_array_get(docs, 0), "body"), "taskRoleArn",
                                json_string(ra));
        free(ra);
    }
    /* callers' grants through VPC Lattice (lattice.c; opt-in): before the
     * ECS service, which registers its tasks into the target group */
    json_t *lattice_cfg = NULL;
    if (st == FB_OK && ident)
        st = aws_lattice_apply(ctx, diag, &creds, in, cc.region, first_port(&cc), state, &lattice_cfg);
    if (lattice_cfg)
        json_object_set(json_object_get(json_array_get(docs, 1), "body"), "vpcLatticeConfigurations", lattice_cfg);
    /* the task definition: reuse the service's when it was made from this spec */
    const char *old_td = svc ? aws_str(svc, "taskDefinition") : NULL;
    char *td_arn = NULL;
    if (st == FB_OK && old_td) {
        json_t *td = NULL;
        st = describe_taskdef(&c, old_td, &td);
        const char *h = tag_value(json_object_get(td, "tags"), "spec-hash");
        if (st == FB_OK && h && !strcmp(h, spec_hash)) td_arn = fbk_xstrdup(old_td);
        json_decref(td);
    }
    if (st == FB_OK && !td_arn) {
        json_t *ans = NULL;
        st = op_ok(&c, "ecs", "RegisterTaskDefinition",
                   json_object_get(json_array_get(docs, 0), "body"), 0, &ans);
        const char *arn = aws_str(json_object_get(ans, "taskDefinition"), "taskDefinitionArn");
        if (st == FB_OK && !arn) {
            fbk_diag(aws_host, diag, FB_SEV_ERROR, NULL,
                     "aws: RegisterTaskDefinition answered without a taskDefinitionArn");
            st = FB_INTERNAL;
        }
        if (st == FB_OK) {
            td_arn = fbk_xstrdup(arn);
            st = aws_record(diag, "ecs-task-definition", td_arn, cc.region, cc.name);
        }
        json_decref(ans);
    }
    if (st == FB_OK) json_object_set_new(state, "taskDefinitionArn", json_string(td_arn));
    if (st == FB_OK && !svc) {
        json_t *ans = NULL;
        st = op_ok(&c, "ecs", "CreateService", json_object_get(json_array_get(docs, 1), "body"),
                   FB_HTTP_TOKEN_GUARDED, &ans);
        const char *arn = aws_str(json_object_get(ans, "service"), "serviceArn");
        if (st == FB_OK && !arn) {
            fbk_diag(aws_host, diag, FB_SEV_ERROR, NULL,
                     "aws: CreateService answered without a serviceArn");
            st = FB_INTERNAL;
        }
        if (st == FB_OK) {
            st = aws_record(diag, "ecs-service", arn, cc.region, cc.name);
            json_object_set_new(state, "serviceArn", json_string(arn));
        }
        json_decref(ans);
    } else if (st == FB_OK) {
        json_object_set(state, "serviceArn", json_object_get(svc, "serviceArn"));
        json_int_t live_desired = aws_int(svc, "desiredCount", -1);
        int td_changed = strcmp(old_td ? old_td : "", td_arn) != 0;
        /* a target group the previous apply did not register into (ECS
         * does not describe vpcLatticeConfigurations back) */
        const json_t *prev_state = json_object_get(json_object_get(in, "deployment"), "state");
        const char *prev_tg = aws_str(json_object_get(prev_state, "lattice"), "targetGroupArn");
        int lattice_changed = lattice_cfg && (!prev_tg || strcmp(prev_tg, aws_str(json_array_get(lattice_cfg, 0),
                                                                                  "targetGroupArn")) != 0);
        if (td_changed || secrets_changed || lattice_changed || (!cc.autoscale && live_desired != cc.desired)) {
            json_t *b = json_pack("{s:s,s:s,s:s}", "cluster", ctx->cluster, "service", cc.name,
                                  "taskDefinition", td_arn);
            /* ECS reads secrets when a task starts: a new version needs new tasks */
            if (secrets_changed && !td_changed)
                json_object_set_new(b, "forceNewDeployment", json_true());
            if (!cc.autoscale) json_object_set_new(b, "desiredCount", json_integer(cc.desired));
            if (lattice_changed) json_object_set(b, "vpcLatticeConfigurations", lattice_cfg);
            json_object_set(b, "networkConfiguration",
                            json_object_get(json_object_get(json_array_get(docs, 1), "body"),
                                            "networkConfiguration"));
            st = op_ok(&c, "ecs", "UpdateService", b, FB_HTTP_IDEMPOTENT, NULL);
            json_decref(b);
        }
        /* the previous revision is no longer used by the service */
        if (st == FB_OK && td_changed && old_td) {
            json_t *b = json_pack("{s:s}", "taskDefinition", old_td);
            aws_req rq;
            aws_res res;
            st = ecall(&c, "ecs", "DeregisterTaskDefinition", b, FB_HTTP_IDEMPOTENT, &rq, &res);
            if (st == FB_OK && res.err != FB_OK && res.err != FB_NOTFOUND &&
                !(res.code && !strcmp(res.code, "ClientException")))
                st = aws_fail(diag, &rq, &res, NULL);
            aws_res_clear(&res);
            json_decref(b);
        }
    }
    /* autoscaling: register (or update) the target and the policy */
    char *rid = resource_id(ctx, cc.name);
    if (st == FB_OK && cc.autoscale) {
        size_t n = 2; /* RegisterTaskDefinition, CreateService, then the target and its policy */
        json_t *tb = json_deep_copy(json_object_get(json_array_get(docs, n), "body"));
        if (cc.sched && svc) {
            /* the schedule's last action set MinCapacity: an existing
             * target keeps it (registering again changes only what is
             * sent), so an apply in the middle of a schedule does not
             * drop the floor to the deployed minimum */
            json_t *b = json_pack("{s:s,s:[s],s:s}", "ServiceNamespace", "ecs", "ResourceIds", rid,
                                  "ScalableDimension", "ecs:service:DesiredCount");
            json_t *ans = NULL;
            st = op_ok(&c, "application-autoscaling", "DescribeScalableTargets", b, FB_HTTP_READ_ONLY, &ans);
            json_decref(b);
            if (st == FB_OK && json_array_size(json_object_get(ans, "ScalableTargets")))
                json_object_del(tb, "MinCapacity");
            json_decref(ans);
        }
        if (st == FB_OK)
            st = op_ok(&c, "application-autoscaling", "RegisterScalableTarget", tb, FB_HTTP_IDEMPOTENT, NULL);
        json_decref(tb);
        if (st == FB_OK) st = aws_record(diag, "scalable-target", rid, cc.region, cc.name);
        json_t *ans = NULL;
        if (st == FB_OK)
            st = op_ok(&c, "application-autoscaling", "PutScalingPolicy",
                       json_object_get(json_array_get(docs, n + 1), "body"), FB_HTTP_IDEMPOTENT,
                       &ans);
        if (st == FB_OK && aws_str(ans, "PolicyARN"))
            st = aws_record(diag, "scaling-policy", aws_str(ans, "PolicyARN"), cc.region, cc.name);
        json_object_set_new(state, "scalableTarget", json_string(rid));
        json_decref(ans);
        /* the capacity schedule's actions (none: an earlier schedule's are removed) */
        json_t *none = json_array();
        if (st == FB_OK)
            st = aws_capacity_apply(ctx, diag, &creds, cc.region, "ecs", rid, "ecs:service:DesiredCount",
                                    cc.sched ? cc.sched : none, cc.name);
        json_decref(none);
        if (cc.sched) json_object_set_new(state, "scheduledActions",
                                          json_integer((json_int_t)json_array_size(cc.sched)));
    } else if (st == FB_OK && svc) {
        /* no autoscaling wanted: drop a target an earlier spec registered */
        st = deregister_target(&c, rid);
    }
    free(rid);
    free(td_arn);
    json_decref(lattice_cfg);
done:
    if (st == FB_OK) {
        if (aws_str(state, "serviceArn"))
            json_array_append_new(resources, json_pack("{s:s,s:O,s:s}", "type", "ecs-service",
                                                       "id", json_object_get(state, "serviceArn"),
                                                       "region", cc.region));
        if (aws_str(state, "taskDefinitionArn"))
            json_array_append_new(resources,
                                  json_pack("{s:s,s:O,s:s}", "type", "ecs-task-definition", "id",
                                            json_object_get(state, "taskDefinitionArn"), "region",
                                            cc.region));
        json_object_set_new(state, "notes", json_pack("[s]", cc.size_note));
        *out = json_pack("{s:O,s:O}", "state", state, "resources", resources);
    }
    json_decref(resources);
    json_decref(state);
    json_decref(svc);
    json_decref(docs);
    fbk_aws_creds_clear(&creds);
    ctr_free(&cc);
    return st;
}

/* ---- deployment helpers --------------------------------------------------------------------- */

/* cluster and service from an ECS service ARN ("...:service/CLUSTER/NAME";
 * the old form "...:service/NAME" is in the default cluster). new. */
static int parse_service_arn(const char *arn, char **cluster, char **name)
{
    const char *p = arn ? strstr(arn, ":service/") : NULL;
    if (!p) return -1;
    p += 9;
    const char *slash = strchr(p, '/');
    if (slash) {
        *cluster = fbk_xstrndup(p, (size_t)(slash - p));
        *name = fbk_xstrdup(slash + 1);
    } else {
        *cluster = fbk_xstrdup("default");
        *name = fbk_xstrdup(p);
    }
    return 0;
}

typedef struct depinfo {
    char *cluster, *service, *region;
    json_t *taskdefs;  /* array of ARNs */
    json_t *secrets;   /* array of Secrets Manager ARNs (portable secrets' copies) */
    json_t *roles;     /* array of IAM role ARNs (the workload's identity) */
} depinfo;

static void depinfo_read(aws_ctx *ctx, const json_t *dep, depinfo *d)
{
    memset(d, 0, sizeof *d);
    const json_t *state = json_object_get(dep, "state");
    d->taskdefs = json_array();
    d->secrets = json_array();
    d->roles = json_array();
    if (aws_str(state, "serviceName")) {
        d->service = fbk_xstrdup(aws_str(state, "serviceName"));
        d->cluster = fbk_xstrdup(aws_str(state, "cluster") ? aws_str(state, "cluster") : ctx->cluster);
    }
    const char *region = aws_str(state, "region") ? aws_str(state, "region") : aws_str(dep, "region");
    if (aws_str(state, "taskDefinitionArn"))
        json_array_append(d->taskdefs, json_object_get(state, "taskDefinitionArn"));
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(dep, "resources"), i, r) {
        const char *t = aws_str(r, "type");
        if (!region && aws_str(r, "region")) region = aws_str(r, "region");
        if (t && !strcmp(t, "ecs-service") && !d->service) {
            char *cl = NULL, *nm = NULL;
            if (parse_service_arn(aws_str(r, "id"), &cl, &nm) == 0) {
                d->cluster = cl;
                d->service = nm;
            }
        } else if (t && !strcmp(t, "ecs-task-definition")) {
            int dup = 0;
            size_t k;
            const json_t *x;
            json_array_foreach(d->taskdefs, k, x)
                dup |= !strcmp(json_string_value(x), aws_str(r, "id") ? aws_str(r, "id") : "");
            if (!dup && aws_str(r, "id")) json_array_append(d->taskdefs, json_object_get(r, "id"));
        } else if (t && !strcmp(t, "secretsmanager-secret") && aws_str(r, "id")) {
            json_array_append(d->secrets, json_object_get(r, "id"));
        } else if (t && !strcmp(t, "iam-role") && aws_str(r, "id")) {
            json_array_append(d->roles, json_object_get(r, "id"));
        }
    }
    d->region = fbk_xstrdup(region ? region : ctx->n_regions ? ctx->regions[0] : "us-east-1");
}

static void depinfo_free(depinfo *d)
{
    free(d->cluster);
    free(d->service);
    free(d->region);
    json_decref(d->taskdefs);
    json_decref(d->secrets);
    json_decref(d->roles);
}

/* ---- observe ------------------------------------------------------------------------------------ */

/* A portable secret's copy whose current version is not the broker's
 * latest is drift (the next plan updates the workload; its apply puts the
 * version). Only the version number is asked for; a broker that cannot
 * say reports nothing. */
static fb_status secret_version_drift(const call *c, const json_t *w, json_t *dr)
{
    json_t *in = json_pack("{s:o}", "workload", json_deep_copy(w));
    fb_status st = FB_OK;
    if (fbk_map_portable_secrets(aws_host, c->diag, in, "aws-sm://fedbroker/%t/%w/%n", "AWS Secrets Manager",
                                 1) != 0) {
        json_decref(in);
        return FB_OK; /* validate says what is wrong */
    }
    size_t i;
    const json_t *s;
    json_array_foreach(json_object_get(aws_spec(json_object_get(in, "workload")), "secrets"), i, s) {
        const char *portable = aws_str(s, "portable"), *ref = aws_str(s, "ref");
        if (!portable || !ref || strncmp(ref, "aws-sm://", 9) != 0) continue;
        char vkey[96], *version = NULL;
        snprintf(vkey, sizeof vkey, "secret-version://%s", portable + 9);
        if (aws_host->credential(c->diag, vkey, &version) != FB_OK) continue;
        char *token = fbk_xasprintf("fedbroker-secret-version-%020lld", atoll(version));
        aws_host->free(version);
        json_t *b = json_pack("{s:s}", "SecretId", ref + 9), *ans = NULL;
        aws_req rq;
        aws_res res;
        st = ecall(c, "secretsmanager", "DescribeSecret", b, FB_HTTP_IDEMPOTENT | FB_HTTP_READ_ONLY, &rq, &res);
        json_decref(b);
        const char *current = NULL;
        if (st == FB_OK && res.err == FB_OK) {
            ans = res.body ? json_incref(res.body) : NULL;
            const char *vid;
            json_t *stages;
            size_t k;
            const json_t *stage;
            json_object_foreach(json_object_get(ans, "VersionIdsToStages"), vid, stages)
                json_array_foreach(stages, k, stage)
                    if (json_string_value(stage) && !strcmp(json_string_value(stage), "AWSCURRENT")) current = vid;
        } else if (st == FB_OK && res.err != FB_NOTFOUND && !(res.code && strstr(res.code, "ResourceNotFound"))) {
            st = aws_fail(c->diag, &rq, &res, NULL);
        }
        aws_res_clear(&res);
        if (st == FB_OK) {
            char *f = fbk_xasprintf("secrets.%s.version", ref + 9);
            aws_drift(dr, f, json_string(token), current ? json_string(current) : NULL);
            free(f);
        }
        json_decref(ans);
        free(token);
        if (st != FB_OK) break;
    }
    json_decref(in);
    return st;
}

fb_status aws_ecs_observe(aws_ctx *ctx, const json_t *in, json_t **out, fb_diag *diag)
{
    const json_t *dep = json_object_get(in, "deployment");
    const json_t *w = json_object_get(in, "workload");
    int have_w = json_is_object(w) && json_is_object(aws_spec(w));
    depinfo d;
    depinfo_read(ctx, dep, &d);
    ctr cc;
    if (have_w) {
        ctr_init(&cc, w, d.region);
        if (!d.service) {
            d.service = fbk_xstrdup(cc.name);
            d.cluster = fbk_xstrdup(ctx->cluster);
        }
    }
    if (!d.service) {
        fbk_diag(aws_host, diag, FB_SEV_ERROR, NULL,
                 "aws: the deployment names no ECS service (no state.serviceName, no ecs-service "
                 "record)");
        depinfo_free(&d);
        if (have_w) ctr_free(&cc);
        return FB_INVALID;
    }
    fbk_aws_creds creds;
    fb_status st = aws_creds(ctx, diag, d.region, &creds);
    call c = {ctx, diag, &creds, d.region};
    json_t *svc = NULL, *td = NULL, *dr = json_array();
    if (st == FB_OK) st = describe_service(&c, d.cluster, d.service, &svc);
    const char *status = "missing";
    if (st == FB_OK && svc) {
        status = "ready";
        const json_t *dp;
        size_t i;
        json_array_foreach(json_object_get(svc, "deployments"), i, dp) {
            const char *ds = aws_str(dp, "status"), *ro = aws_str(dp, "rolloutState");
            if (!ds || strcmp(ds, "PRIMARY") != 0) continue;
            if (ro && !strcmp(ro, "FAILED")) status = "failed";
            else if (ro && !strcmp(ro, "IN_PROGRESS")) status = "pending";
        }
        if (!strcmp(status, "ready") &&
            aws_int(svc, "runningCount", 0) < aws_int(svc, "desiredCount", 0))
            status = "pending";
        if (have_w) {
            st = describe_taskdef(&c, aws_str(svc, "taskDefinition") ? aws_str(svc, "taskDefinition")
                                                                     : d.service, &td);
            const json_t *t = json_object_get(td, "taskDefinition");
            const json_t *cd = json_array_get(json_object_get(t, "containerDefinitions"), 0);
            char num[16];
            snprintf(num, sizeof num, "%d", cc.cpu);
            aws_drift(dr, "cpu", json_string(num), aws_copy(json_object_get(t, "cpu")));
            snprintf(num, sizeof num, "%d", cc.mem);
            aws_drift(dr, "memory", json_string(num), aws_copy(json_object_get(t, "memory")));
            aws_drift(dr, "arch", json_string(!strcmp(cc.arch, "arm64") ? "ARM64" : "X86_64"),
                      aws_copy(json_object_get(json_object_get(t, "runtimePlatform"),
                                               "cpuArchitecture")));
            aws_drift(dr, "image", aws_copy(json_object_get(cc.spec, "image")),
                      aws_copy(json_object_get(cd, "image")));
            json_t *live_env = json_object();
            const json_t *kv;
            json_array_foreach(json_object_get(cd, "environment"), i, kv) {
                if (aws_str(kv, "name"))
                    json_object_set(live_env, aws_str(kv, "name"), json_object_get(kv, "value"));
            }
            const char *k;
            json_t *v;
            json_object_foreach(json_object_get(cc.spec, "env"), k, v) {
                char *f = fbk_xasprintf("env.%s", k);
                aws_drift(dr, f, json_incref(v), aws_copy(json_object_get(live_env, k)));
                free(f);
            }
            json_object_foreach(live_env, k, v) {
                if (json_object_get(json_object_get(cc.spec, "env"), k)) continue;
                if (aws_identity_env_name(k)) continue; /* the broker's, not the spec's */
                char *f = fbk_xasprintf("env.%s", k);
                aws_drift(dr, f, NULL, json_incref(v));
                free(f);
            }
            json_decref(live_env);
            if (st == FB_OK) st = secret_version_drift(&c, w, dr);
            if (st == FB_OK && cc.autoscale) {
                char *rid = fbk_xasprintf("service/%s/%s", d.cluster, d.service);
                json_t *b = json_pack("{s:s,s:[s],s:s}", "ServiceNamespace", "ecs", "ResourceIds",
                                      rid, "ScalableDimension", "ecs:service:DesiredCount");
                json_t *ans = NULL;
                st = op_ok(&c, "application-autoscaling", "DescribeScalableTargets", b,
                           FB_HTTP_READ_ONLY, &ans);
                json_decref(b);
                free(rid);
                const json_t *tg = json_array_get(json_object_get(ans, "ScalableTargets"), 0);
                /* a capacity schedule moves MinCapacity: its actions are compared instead */
                if (st == FB_OK && cc.sched) {
                    char *rid2 = fbk_xasprintf("service/%s/%s", d.cluster, d.service);
                    st = aws_capacity_observe(ctx, diag, &creds, d.region, "ecs", rid2,
                                              "ecs:service:DesiredCount", cc.sched, dr);
                    free(rid2);
                }
                if (st == FB_OK) {
                    if (!cc.sched)
                        aws_drift(dr, "scaling.minCapacity", json_integer(cc.desired),
                                  aws_copy(json_object_get(tg, "MinCapacity")));
                    aws_drift(dr, "scaling.maxCapacity", json_integer(cc.max),
                              aws_copy(json_object_get(tg, "MaxCapacity")));
                }
                json_decref(ans);
            } else if (st == FB_OK) {
                aws_drift(dr, "desiredCount", json_integer(cc.desired),
                          aws_copy(json_object_get(svc, "desiredCount")));
            }
        }
    }
    if (st == FB_OK) {
        *out = json_pack("{s:s,s:O}", "status", status, "drift", dr);
        if (svc) json_object_set_new(*out, "live", json_pack("{s:O,s:O?,s:O?,s:O?}", "serviceArn",
                                                             json_object_get(svc, "serviceArn"),
                                                             "desiredCount",
                                                             json_object_get(svc, "desiredCount"),
                                                             "runningCount",
                                                             json_object_get(svc, "runningCount"),
                                                             "taskDefinition",
                                                             json_object_get(svc, "taskDefinition")));
    }
    json_decref(dr);
    json_decref(svc);
    json_decref(td);
    fbk_aws_creds_clear(&creds);
    depinfo_free(&d);
    if (have_w) ctr_free(&cc);
    return st;
}

/* ---- destroy ------------------------------------------------------------------------------------- */

fb_status aws_ecs_destroy(aws_ctx *ctx, const json_t *dep, json_t *deleted, fb_diag *diag)
{
    depinfo d;
    depinfo_read(ctx, dep, &d);
    if (!d.service && json_array_size(d.taskdefs) == 0 && json_array_size(d.secrets) == 0 &&
        json_array_size(d.roles) == 0) {
        depinfo_free(&d);
        return FB_OK; /* nothing was created */
    }
    fbk_aws_creds creds;
    fb_status st = aws_creds(ctx, diag, d.region, &creds);
    call c = {ctx, diag, &creds, d.region};
    json_t *svc = NULL;
    if (st == FB_OK && d.service) st = describe_service(&c, d.cluster, d.service, &svc);
    if (st == FB_OK && svc && !tags_ours_list(json_object_get(svc, "tags"))) {
        fbk_diag(aws_host, diag, FB_SEV_ERROR, NULL,
                 "aws: ECS service %s in cluster %s is not managed by fedbroker (no "
                 "managed-by=fedbroker tag); not deleting it", d.service, d.cluster);
        st = FB_CONFLICT;
    }
    if (st == FB_OK && d.service) {
        char *rid = fbk_xasprintf("service/%s/%s", d.cluster, d.service);
        st = deregister_target(&c, rid);
        free(rid);
    }
    if (st == FB_OK && svc) {
        /* scale to zero, then delete; a service already gone is fine */
        static const char *const ops[] = {"UpdateService", "DeleteService"};
        for (size_t k = 0; k < 2 && st == FB_OK; k++) {
            json_t *b = k == 0 ? json_pack("{s:s,s:s,s:i}", "cluster", d.cluster, "service",
                                           d.service, "desiredCount", 0)
                               : json_pack("{s:s,s:s,s:b}", "cluster", d.cluster, "service",
                                           d.service, "force", 1);
            aws_req rq;
            aws_res res;
            st = ecall(&c, "ecs", ops[k], b, FB_HTTP_IDEMPOTENT, &rq, &res);
            json_decref(b);
            int gone = res.err == FB_NOTFOUND ||
                       (res.code && (strstr(res.code, "ServiceNotActive") ||
                                     strstr(res.code, "ServiceNotFound")));
            if (st == FB_OK && res.err != FB_OK && !gone) st = aws_fail(diag, &rq, &res, NULL);
            aws_res_clear(&res);
        }
        if (st == FB_OK) json_array_append(deleted, json_object_get(svc, "serviceArn"));
    }
    size_t i;
    const json_t *td;
    json_array_foreach(d.taskdefs, i, td) {
        if (st != FB_OK) break;
        json_t *b = json_pack("{s:O}", "taskDefinition", td);
        aws_req rq;
        aws_res res;
        st = ecall(&c, "ecs", "DeregisterTaskDefinition", b, FB_HTTP_IDEMPOTENT, &rq, &res);
        json_decref(b);
        /* an unknown revision is ECS's ClientException "Unable to describe" */
        int gone = res.err == FB_NOTFOUND || (res.code && !strcmp(res.code, "ClientException"));
        if (st == FB_OK && res.err != FB_OK && !gone) st = aws_fail(diag, &rq, &res, NULL);
        if (st == FB_OK && res.err == FB_OK) json_array_append(deleted, (json_t *)td);
        aws_res_clear(&res);
    }
    /* the workload's copies of portable secrets: its own, so deleted with it
     * (no recovery window: the broker still holds the value) */
    json_array_foreach(d.secrets, i, td) {
        if (st != FB_OK) break;
        json_t *b = json_pack("{s:O,s:b}", "SecretId", td, "ForceDeleteWithoutRecovery", 1);
        aws_req rq;
        aws_res res;
        st = ecall(&c, "secretsmanager", "DeleteSecret", b, FB_HTTP_IDEMPOTENT, &rq, &res);
        json_decref(b);
        int gone = res.err == FB_NOTFOUND || (res.code && strstr(res.code, "ResourceNotFound"));
        if (st == FB_OK && res.err != FB_OK && !gone) st = aws_fail(diag, &rq, &res, NULL);
        if (st == FB_OK) json_array_append(deleted, (json_t *)td);
        aws_res_clear(&res);
    }
    /* its VPC Lattice service and target group, once the ECS service no
     * longer registers into the group */
    if (st == FB_OK) st = aws_lattice_destroy(ctx, diag, &creds, dep, d.region, deleted);
    /* the workload's role, once nothing runs as it */
    json_array_foreach(d.roles, i, td) {
        if (st != FB_OK) break;
        st = aws_identity_unbind(ctx, diag, &creds, json_string_value(td));
        if (st == FB_OK) json_array_append(deleted, (json_t *)td);
    }
    json_decref(svc);
    fbk_aws_creds_clear(&creds);
    depinfo_free(&d);
    return st;
}

/* ---- discover ------------------------------------------------------------------------------------- */

fb_status aws_ecs_discover(aws_ctx *ctx, const fbk_aws_creds *creds, const char *region,
                           json_t *resources, fb_diag *diag)
{
    call c = {ctx, diag, creds, region};
    char *token = NULL;
    fb_status st = FB_OK;
    json_t *arns = json_array();
    for (int page = 0; page < 1000 && st == FB_OK; page++) {
        json_t *b = json_pack("{s:s,s:i}", "cluster", ctx->cluster, "maxResults", 100);
        if (token) json_object_set_new(b, "nextToken", json_string(token));
        free(token);
        token = NULL;
        json_t *ans = NULL;
        st = op_ok(&c, "ecs", "ListServices", b, FB_HTTP_READ_ONLY, &ans);
        json_decref(b);
        size_t i;
        json_t *a;
        json_array_foreach(json_object_get(ans, "serviceArns"), i, a) json_array_append(arns, a);
        if (aws_str(ans, "nextToken")) token = fbk_xstrdup(aws_str(ans, "nextToken"));
        json_decref(ans);
        if (!token) break;
    }
    free(token);
    for (size_t i = 0; st == FB_OK && i < json_array_size(arns); i += 10) {
        json_t *batch = json_array();
        for (size_t k = i; k < i + 10 && k < json_array_size(arns); k++)
            json_array_append(batch, json_array_get(arns, k));
        json_t *b = json_pack("{s:s,s:o,s:[s]}", "cluster", ctx->cluster, "services", batch,
                              "include", "TAGS");
        json_t *ans = NULL;
        st = op_ok(&c, "ecs", "DescribeServices", b, FB_HTTP_READ_ONLY, &ans);
        json_decref(b);
        size_t k;
        const json_t *s;
        json_array_foreach(json_object_get(ans, "services"), k, s) {
            const char *status = aws_str(s, "status");
            if (!status || strcmp(status, "ACTIVE") != 0) continue;
            const json_t *tags = json_object_get(s, "tags");
            json_t *r = json_pack("{s:s,s:O,s:s,s:O?,s:b}", "type", "ecs-service", "id",
                                  json_object_get(s, "serviceArn"), "region", region, "name",
                                  json_object_get(s, "serviceName"), "managed",
                                  tags_ours_list(tags));
            if (tag_value(tags, "workload"))
                json_object_set_new(r, "workload", json_string(tag_value(tags, "workload")));
            if (tag_value(tags, "tenant"))
                json_object_set_new(r, "tenant", json_string(tag_value(tags, "tenant")));
            /* where a managed service answers: its load balancer's
             * listeners (elb.c); without one, its tasks' public IPs when
             * they get one (tasks.c). With a balancer the tasks are its
             * targets, and their security group commonly admits the
             * balancer only: their IPs are not reported as endpoints. */
            const char *pub = aws_str(json_object_get(json_object_get(s, "networkConfiguration"),
                                                      "awsvpcConfiguration"), "assignPublicIp");
            int balanced = json_array_size(json_object_get(s, "loadBalancers")) > 0;
            if (tags_ours_list(tags) && tag_value(tags, "workload") && tag_value(tags, "tenant") &&
                (balanced || (pub && !strcmp(pub, "ENABLED")))) {
                json_t *eps = json_array();
                st = balanced ? aws_elb_endpoints(ctx, c.diag, creds, region, s, eps)
                              : aws_task_endpoints(ctx, c.diag, creds, region, s, eps);
                if (json_array_size(eps)) json_object_set_new(r, "endpoints", eps);
                else json_decref(eps);
            }
            json_array_append_new(resources, r);
            if (st != FB_OK) break;
        }
        json_decref(ans);
    }
    json_decref(arns);
    return st;
}
