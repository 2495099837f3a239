/* lambda.c - Functions on AWS Lambda: validate, the create-path documents
 * (CreateFunction, PutFunctionConcurrency, CreateFunctionUrlConfig,
 * AddPermission), apply (create or update, idempotent), observe with drift,
 * destroy and discover. API reference: the Lambda API (REST-JSON,
 * 2015-03-31), as in botocore's model. */
#include "config.h"
#include "aws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#define LAMBDA_MIN_MEMORY 128
#define LAMBDA_MAX_MEMORY 10240
#define LAMBDA_MAX_TIMEOUT_S 900
#define LAMBDA_MIN_EPHEMERAL 512
#define LAMBDA_MAX_EPHEMERAL 10240
#define LAMBDA_MAX_ENV_BYTES 4096
#define LAMBDA_MAX_ZIP (50u * 1024 * 1024)          /* direct upload, zipped */
#define LAMBDA_MAX_UNZIPPED (250u * 1024 * 1024)    /* unzipped package */
#define LAMBDA_POLLS 60
/* A public function URL needs two statements in the function's policy:
 * lambda:InvokeFunctionUrl for "*" (condition FunctionUrlAuthType NONE)
 * and, for URLs created since October 2025, lambda:InvokeFunction for "*"
 * limited to calls through the URL (InvokedViaFunctionUrl), so direct
 * invocation is not opened to everyone (Lambda developer guide, "Control
 * access to Lambda function URLs"). The statement ids are the console's. */
#define URL_PERMISSION_SID "FunctionURLAllowPublicAccess"
#define URL_INVOKE_SID "FunctionURLAllowInvokeAction"
/* A capacity schedule (capacity.c) keeps instances warm as provisioned
 * concurrency, which Lambda allocates on a published version or an alias
 * only, and which serves only invocations of that qualifier: the function
 * gets this alias (on the version apply publishes), its provisioned
 * concurrency is the alias's scalable target in Application Auto Scaling,
 * and its function URL is the alias's, so the gateway's calls use it. */
#define WARM_ALIAS "fedbroker"
#define WARM_QUERY "Qualifier=" WARM_ALIAS
#define PC_DIM "lambda:function:ProvisionedConcurrency"
/* Lambda's default account concurrency: provisioned concurrency above it
 * cannot be allocated */
#define LAMBDA_ACCOUNT_CONCURRENCY 1000

/* ---- runtimes ------------------------------------------------------------------ */

/* Spec runtime -> Lambda runtime id. Go has no managed runtime any more:
 * it runs on the OS-only runtime with a binary called bootstrap. The Lambda
 * ids themselves are accepted too. Deprecated runtimes are not. */
static const struct {
    const char *spec, *lambda;
} runtimes[] = {
    {"python3.9", "python3.9"},   {"python3.10", "python3.10"}, {"python3.11", "python3.11"},
    {"python3.12", "python3.12"}, {"python3.13", "python3.13"}, {"nodejs18", "nodejs18.x"},
    {"nodejs20", "nodejs20.x"},   {"nodejs22", "nodejs22.x"},   {"nodejs18.x", "nodejs18.x"},
    {"nodejs20.x", "nodejs20.x"}, {"nodejs22.x", "nodejs22.x"}, {"java11", "java11"},
    {"java17", "java17"},         {"java21", "java21"},         {"dotnet8", "dotnet8"},
    {"ruby3.2", "ruby3.2"},       {"ruby3.3", "ruby3.3"},       {"go1.22", "provided.al2023"},
    {"go1.23", "provided.al2023"}, {"provided.al2", "provided.al2"},
    {"provided.al2023", "provided.al2023"},
};

const char aws_lambda_runtimes_text[] =
    "python3.9 python3.10 python3.11 python3.12 python3.13 nodejs18.x nodejs20.x nodejs22.x "
    "java11 java17 java21 dotnet8 ruby3.2 ruby3.3 provided.al2 provided.al2023 "
    "(spec names nodejs18/20/22 map to nodejsNN.x, go1.22/go1.23 to provided.al2023)";

const char *aws_lambda_runtime(const char *spec_runtime)
{
    for (size_t i = 0; spec_runtime && i < sizeof runtimes / sizeof *runtimes; i++)
        if (!strcmp(runtimes[i].spec, spec_runtime)) return runtimes[i].lambda;
    return NULL;
}

/* ---- the workload as Lambda sees it ------------------------------------------------ */

typedef struct lam {
    const json_t *w, *spec, *res;
    const char *region;
    char *name;              /* new: the function name */
    const char *runtime;     /* Lambda id, NULL for an image function */
    const char *image;
    json_int_t mem, timeout_s, eph;
    const char *arch;
    int url;                 /* 0 none, 1 public (AuthType NONE), 2 private (AWS_IAM) */
    json_int_t reserved;     /* -1: none */
    char *role;              /* new: the workload's own role (identity), or NULL */
    const json_t *ident;     /* the input's identity (borrowed), or NULL */
    json_t *sched;           /* new: the capacity schedule's actions (capacity.c), or NULL */
    char *sched_why;         /* new: why it cannot be rendered, or NULL */
    json_int_t sched_max;    /* the most provisioned concurrency it asks for */
    const char *url_query;   /* WARM_QUERY with a schedule (the URL is the alias's), else NULL */
    char *pc_rid;            /* new: the alias's AAS ResourceId, function:NAME:ALIAS */
} lam;

static void lam_init(lam *l, const json_t *w, const char *region)
{
    memset(l, 0, sizeof *l);
    l->w = w;
    l->spec = aws_spec(w);
    l->res = json_object_get(l->spec, "resources");
    l->region = region;
    l->name = aws_resource_name(w, 64);
    l->runtime = aws_lambda_runtime(aws_str(l->spec, "runtime"));
    l->image = aws_str(l->spec, "image");
    l->mem = aws_int(l->res, "memoryMiB", 128);
    json_int_t ms = aws_int(l->spec, "timeoutMs", 30000);
    l->timeout_s = (ms + 999) / 1000;
    l->eph = aws_int(l->res, "ephemeralStorageMiB", 512);
    l->arch = aws_str(l->res, "arch") ? aws_str(l->res, "arch") : "x86_64";
    l->reserved = aws_int(json_object_get(l->spec, "scaling"), "reservedConcurrency", -1);
    size_t i;
    const json_t *t;
    json_array_foreach(json_object_get(l->spec, "triggers"), i, t) {
        const json_t *http = json_object_get(t, "http");
        if (http && l->url != 1) l->url = json_is_true(json_object_get(http, "public")) ? 1 : 2;
    }
    aws_capacity_actions(l->spec, LAMBDA_ACCOUNT_CONCURRENCY, 1, &l->sched, &l->sched_why);
    const json_t *a;
    json_array_foreach(l->sched, i, a)
        if (aws_int(a, "min", 0) > l->sched_max) l->sched_max = aws_int(a, "min", 0);
    l->url_query = l->sched ? WARM_QUERY : NULL;
    l->pc_rid = fbk_xasprintf("function:%s:%s", l->name, WARM_ALIAS);
}

static void lam_free(lam *l)
{
    json_decref(l->sched);
    free(l->sched_why);
    free(l->pc_rid);
    free(l->role);
    free(l->name);
}

/* ---- validate ------------------------------------------------------------------------ */

static int env_name_ok(const char *k)
{
    /* Lambda's pattern: [a-zA-Z]([a-zA-Z0-9_])+ */
    if (!((k[0] >= 'a' && k[0] <= 'z') || (k[0] >= 'A' && k[0] <= 'Z')) || !k[1]) return 0;
    for (const char *p = k + 1; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return 0;
    return 1;
}

/* The region of an ECR image URI (ACCOUNT.dkr.ecr[-fips].REGION.amazonaws.com[.cn]/REPO...)
 * into out; 0 when the image is not in ECR. */
static int ecr_image_region(const char *image, char *out, size_t outsz)
{
    const char *p = image;
    size_t digits = strspn(p, "0123456789");
    if (digits != 12) return 0;
    p += 12;
    if (!strncmp(p, ".dkr.ecr-fips.", 14)) p += 14;
    else if (!strncmp(p, ".dkr.ecr.", 9)) p += 9;
    else return 0;
    const char *dot = strchr(p, '.');
    const char *slash = strchr(p, '/');
    if (!dot || !slash || dot > slash || (size_t)(dot - p) >= outsz ||
        strncmp(dot, ".amazonaws.com", 14) != 0)
        return 0;
    memcpy(out, p, (size_t)(dot - p));
    out[dot - p] = '\0';
    return 1;
}

fb_status aws_lambda_validate(aws_ctx *ctx, const json_t *w, const json_t *placement,
                              int checks, fb_diag *diag)
{
    int warnings = checks & AWS_CHECK_WARN;
    lam l;
    lam_init(&l, w, aws_str(placement, "region"));
    const json_t *spec = l.spec;
    int bad = 0;
#define ERR(ptr, ...) (fbk_diag(aws_host, diag, FB_SEV_ERROR, ptr, __VA_ARGS__), bad = 1)
#define WARN(ptr, ...) \
    do { if (warnings) fbk_diag(aws_host, diag, FB_SEV_WARNING, ptr, __VA_ARGS__); } while (0)
    if (checks & AWS_CHECK_IDENTITY)
        ; /* it runs as the workload's own role (iam.c) */
    else if (!ctx->lambda_role && (checks & AWS_CHECK_DEPLOY))
        ERR(NULL, "aws: Lambda needs an execution role and none is configured\n"
                  "set drivers.aws.lambda.role to the ARN of the role the function runs as "
                  "(arn:aws:iam::ACCOUNT:role/NAME; it needs AWSLambdaBasicExecutionRole)");
    else if (!ctx->lambda_role)
        WARN(NULL, "aws: drivers.aws.lambda.role is not set: the documents show %s where the "
                   "execution role goes (apply refuses until it is set)", AWS_UNSET_LAMBDA_ROLE);
    if (l.mem < LAMBDA_MIN_MEMORY || l.mem > LAMBDA_MAX_MEMORY)
        ERR("/spec/resources/memory",
            "aws: Lambda memory must be %d..%d MiB; the spec asks for %lld MiB\n"
            "set spec.resources.memory between 128Mi and 10Gi, or place the workload elsewhere",
            LAMBDA_MIN_MEMORY, LAMBDA_MAX_MEMORY, (long long)l.mem);
    if (l.timeout_s > LAMBDA_MAX_TIMEOUT_S)
        ERR("/spec/timeout",
            "aws: Lambda functions run at most 900 s; the spec asks for %lld s\n"
            "lower spec.timeout to 15m or less, or run it as a Container", (long long)l.timeout_s);
    if (l.eph < LAMBDA_MIN_EPHEMERAL || l.eph > LAMBDA_MAX_EPHEMERAL)
        ERR("/spec/resources/ephemeralStorage",
            "aws: Lambda ephemeral storage (/tmp) must be 512..10240 MiB; the spec asks for %lld MiB",
            (long long)l.eph);
    if (json_object_get(l.res, "gpu"))
        ERR("/spec/resources/gpu", "aws: Lambda has no GPUs\nplace the workload on a provider "
                                   "with GPU functions, or drop spec.resources.gpu");
    json_int_t cpu = aws_int(l.res, "cpuMillis", 0);
    json_int_t lambda_cpu = (l.mem * 1000 + 1768) / 1769;
    if (cpu > 6000)
        ERR("/spec/resources/cpu",
            "aws: Lambda gives at most 6 vCPUs (at 10240 MiB); the spec asks for %lld millicores",
            (long long)cpu);
    else if (cpu > lambda_cpu)
        WARN("/spec/resources/cpu",
             "aws: Lambda allots CPU in proportion to memory: %lld MiB gets %lld millicores, "
             "less than the %lld the spec asks for\nraise spec.resources.memory to %lld MiB to "
             "get that much CPU", (long long)l.mem, (long long)lambda_cpu, (long long)cpu,
             (long long)((cpu * 1769 + 999) / 1000));
    const char *rt = aws_str(spec, "runtime");
    if (l.image) {
        if (rt)
            ERR("/spec/runtime", "aws: an image function brings its own runtime\n"
                                 "drop spec.runtime (and spec.handler), or drop spec.image");
        if (aws_str(spec, "handler"))
            ERR("/spec/handler", "aws: an image function has no handler: the image's "
                                 "ENTRYPOINT/CMD (spec.command/args) start it\ndrop spec.handler");
        if (json_object_get(spec, "code"))
            ERR("/spec/code", "aws: an image function takes no code\ndrop spec.code or spec.image");
    } else {
        if (!rt)
            ERR("/spec/runtime", "aws: a Function without an image needs spec.runtime\n"
                                 "Lambda runtimes: %s", aws_lambda_runtimes_text);
        else if (!l.runtime)
            ERR("/spec/runtime", "aws: Lambda has no runtime %s\nsupported: %s", rt,
                aws_lambda_runtimes_text);
        if (!aws_str(spec, "handler"))
            ERR("/spec/handler", "aws: a zip function needs spec.handler (e.g. app.handler)");
        const json_t *code = json_object_get(spec, "code");
        if (!aws_str(code, "path") && !json_object_get(code, "s3"))
            ERR("/spec/code", "aws: a zip function needs spec.code (path or s3)");
        if (json_array_size(json_object_get(spec, "command")) ||
            json_array_size(json_object_get(spec, "args")))
            ERR("/spec/command", "aws: command and args apply to image functions only");
    }
    size_t env_bytes = 0;
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(spec, "env"), k, v) {
        env_bytes += strlen(k) + strlen(json_string_value(v) ? json_string_value(v) : "");
        if (!env_name_ok(k)) {
            char ptr[320];
            snprintf(ptr, sizeof ptr, "/spec/env/%.300s", k);
            ERR(ptr, "aws: Lambda refuses the environment variable name %s\nLambda names start "
                     "with a letter and have at least two characters of [A-Za-z0-9_]", k);
        }
    }
    if (env_bytes > LAMBDA_MAX_ENV_BYTES)
        ERR("/spec/env", "aws: Lambda environment variables total %zu bytes, more than 4 KB (%d)\n"
                         "move large values to a file in the package or to a parameter store",
            env_bytes, LAMBDA_MAX_ENV_BYTES);
    if (json_array_size(json_object_get(spec, "secrets")))
        ERR("/spec/secrets",
            "aws: Lambda cannot put secrets into environment variables\nread them at run time "
            "(AWS Parameters and Secrets Lambda Extension) and drop spec.secrets, or run the "
            "workload as a Container (ECS injects aws-sm:// secrets)");
    json_int_t minimum = aws_int(json_object_get(spec, "scaling"), "minInstances", 0);
    /* Lambda keeps nothing warm without provisioned concurrency: say so
     * rather than deploy a function that scales to zero anyway (the cost
     * model prices it as scaling to zero too) */
    if (minimum == 0 && json_is_false(json_object_get(json_object_get(spec, "scaling"), "scaleToZero")))
        WARN("/spec/scaling/scaleToZero",
             "aws: Lambda scales to zero although scaleToZero is false: keeping an instance warm "
             "needs provisioned concurrency, which apply does not configure; it is priced and "
             "deployed as scaling to zero\nplace the workload on fargate to keep it running");
    if (l.sched_why) ERR("/spec/scaling/schedule", "aws: %s", l.sched_why);
    if (minimum > 0)
        WARN("/spec/scaling/minInstances",
             "aws: minInstances %lld is priced as Lambda provisioned concurrency, but apply does "
             "not configure it (it needs a published version or alias)", (long long)minimum);
    /* Lambda pulls an image only from ECR in the function's own region */
    char ecr_region[32];
    if (l.image && l.region && ecr_image_region(l.image, ecr_region, sizeof ecr_region) &&
        strcmp(ecr_region, l.region) != 0)
        ERR("/spec/image",
            "aws: image %s is in the ECR registry of %s, but the function would run in %s; Lambda "
            "pulls images only from ECR in the function's own region\nreplicate the repository to "
            "%s (ECR replication) and use that image URI, or place the workload in %s "
            "(spec.placement.regions: [\"aws:%s\"])", l.image, ecr_region, l.region, l.region,
            ecr_region, ecr_region);
    /* schedule and queue triggers: triggers.c */
    if (aws_triggers_validate(ctx, w, checks, diag)) bad = 1;
#undef ERR
#undef WARN
    lam_free(&l);
    return bad ? FB_INVALID : FB_OK;
}

/* ---- documents ---------------------------------------------------------------------- */

static json_t *doc(const char *api, const char *op, const char *method, const char *path,
                   const char *region, json_t *body /* steals, may be NULL */)
{
    json_t *d = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "api", api, "kind", op, "operation", op,
                          "method", method, "path", path, "region", region);
    if (body) json_object_set_new(d, "body", body);
    return d;
}

/* The package: ZipFile (base64) and its Lambda CodeSha256 (base64 SHA-256),
 * an S3 object, or nothing for an image. code_b64 and sha_b64 are new. */
static fb_status lam_code(const lam *l, char **code_b64, char **sha_b64, fb_diag *diag)
{
    *code_b64 = *sha_b64 = NULL;
    const char *path = aws_str(json_object_get(l->spec, "code"), "path");
    if (l->image || !path) return FB_OK;
    unsigned char *zip;
    size_t len;
    char *err = NULL;
    if (fbk_zip_path(path, LAMBDA_MAX_ZIP, LAMBDA_MAX_UNZIPPED, &zip, &len, &err) != 0) {
        fbk_diag(aws_host, diag, FB_SEV_ERROR, "/spec/code/path",
                 "aws: cannot package the code: %s\nLambda takes at most 50 MB zipped (250 MB "
                 "unzipped) uploaded directly; for larger code upload the zip to S3 and use "
                 "spec.code.s3", err);
        free(err);
        return FB_INVALID;
    }
    *code_b64 = fbk_base64(zip, len);
    unsigned char md[32];
    unsigned mdlen = 0;
    EVP_Digest(zip, len, md, &mdlen, EVP_sha256(), NULL);
    *sha_b64 = fbk_base64(md, 32);
    free(zip);
    return FB_OK;
}

/* The Code member: {ZipFile} | {S3Bucket, S3Key, S3ObjectVersion} | {ImageUri}. new. */
static json_t *code_member(const lam *l, const char *zip_b64)
{
    if (l->image) return json_pack("{s:s}", "ImageUri", l->image);
    if (zip_b64) return json_pack("{s:s}", "ZipFile", zip_b64);
    const json_t *s3 = json_object_get(json_object_get(l->spec, "code"), "s3");
    json_t *c = json_pack("{s:s?,s:s?}", "S3Bucket", aws_str(s3, "bucket"), "S3Key",
                          aws_str(s3, "key"));
    if (aws_str(s3, "version")) json_object_set_new(c, "S3ObjectVersion",
                                                     json_string(aws_str(s3, "version")));
    return c;
}

static json_t *env_object(const lam *l)
{
    const json_t *env = json_object_get(l->spec, "env");
    json_t *o = json_is_object(env) ? json_deep_copy(env) : json_object();
    aws_identity_env(l->ident, o); /* FEDBROKER_TOKEN_URL, ... with a token endpoint */
    return o;
}

/* The configuration both CreateFunction and UpdateFunctionConfiguration set. new. */
static json_t *config_body(aws_ctx *ctx, const lam *l)
{
    const json_t *md = json_object_get(l->w, "metadata");
    json_t *b = json_object();
    /* the workload's own role when the broker is an issuer (iam.c), else
     * the configured execution role */
    json_object_set_new(b, "Role", json_string(l->role ? l->role : ctx->lambda_role ? ctx->lambda_role
                                                                : AWS_UNSET_LAMBDA_ROLE));
    json_object_set_new(b, "MemorySize", json_integer(l->mem));
    json_object_set_new(b, "Timeout", json_integer(l->timeout_s));
    json_object_set_new(b, "EphemeralStorage", json_pack("{s:I}", "Size", l->eph));
    json_object_set_new(b, "Environment", json_pack("{s:o}", "Variables", env_object(l)));
    char *desc = fbk_xasprintf("fedbroker %s/%s", aws_str(md, "tenant") ? aws_str(md, "tenant")
                                                                         : "default",
                               aws_str(md, "name"));
    json_object_set_new(b, "Description", json_string(desc));
    free(desc);
    if (l->image) {
        json_t *ic = json_object();
        const json_t *cmd = json_object_get(l->spec, "command");
        const json_t *args = json_object_get(l->spec, "args");
        if (json_array_size(cmd)) json_object_set(ic, "EntryPoint", (json_t *)cmd);
        if (json_array_size(args)) json_object_set(ic, "Command", (json_t *)args);
        if (json_object_size(ic)) json_object_set_new(b, "ImageConfig", ic);
        else json_decref(ic);
    } else {
        json_object_set_new(b, "Runtime", json_string(l->runtime ? l->runtime : ""));
        json_object_set_new(b, "Handler", json_string(aws_str(l->spec, "handler") ?
                                                      aws_str(l->spec, "handler") : ""));
    }
    return b;
}

static char *fn_path(const char *version, const char *name, const char *suffix)
{
    return fbk_xasprintf("/%s/functions/%s%s", version, name, suffix);
}

/* AddPermission's body for a public URL's statement k (0: InvokeFunctionUrl,
 * 1: InvokeFunction through the URL only). new. */
static json_t *url_permission(int k)
{
    if (k == 0)
        return json_pack("{s:s,s:s,s:s,s:s}", "StatementId", URL_PERMISSION_SID, "Action",
                         "lambda:InvokeFunctionUrl", "Principal", "*", "FunctionUrlAuthType", "NONE");
    return json_pack("{s:s,s:s,s:s,s:b}", "StatementId", URL_INVOKE_SID, "Action",
                     "lambda:InvokeFunction", "Principal", "*", "InvokedViaFunctionUrl", 1);
}

/* RegisterScalableTarget's body for the alias's provisioned concurrency. new. */
static json_t *pc_target_body(const lam *l)
{
    return json_pack("{s:s,s:s,s:s,s:i,s:I}", "ServiceNamespace", "lambda", "ResourceId", l->pc_rid,
                     "ScalableDimension", PC_DIM, "MinCapacity", 0, "MaxCapacity", l->sched_max);
}

/* The create path, with the code already packaged. new array. */
static json_t *create_docs(aws_ctx *ctx, const lam *l, const char *zip_b64)
{
    json_t *docs = json_array();
    json_t *b = config_body(ctx, l);
    json_object_set_new(b, "FunctionName", json_string(l->name));
    json_object_set_new(b, "PackageType", json_string(l->image ? "Image" : "Zip"));
    json_object_set_new(b, "Code", code_member(l, zip_b64));
    json_object_set_new(b, "Architectures", json_pack("[s]", l->arch));
    json_object_set_new(b, "Tags", aws_tags(l->w));
    if (!json_object_size(json_object_get(json_object_get(b, "Environment"), "Variables")))
        json_object_del(b, "Environment");
    json_array_append_new(docs, doc("lambda", "CreateFunction", "POST", "/2015-03-31/functions",
                                    l->region, b));
    if (l->reserved >= 0) {
        char *p = fn_path("2017-10-31", l->name, "/concurrency");
        json_array_append_new(docs, doc("lambda", "PutFunctionConcurrency", "PUT", p, l->region,
                                        json_pack("{s:I}", "ReservedConcurrentExecutions",
                                                  l->reserved)));
        free(p);
    }
    if (l->sched) {
        /* the alias the provisioned concurrency and the URL belong to */
        char *p = fn_path("2015-03-31", l->name, "/versions");
        json_array_append_new(docs, doc("lambda", "PublishVersion", "POST", p, l->region, json_object()));
        free(p);
        p = fn_path("2015-03-31", l->name, "/aliases");
        json_t *d = doc("lambda", "CreateAlias", "POST", p, l->region,
                        json_pack("{s:s,s:s}", "Name", WARM_ALIAS, "FunctionVersion", "1"));
        json_object_set_new(d, "notes", json_pack("[s]", "FunctionVersion is the version "
                                                         "PublishVersion answers (1 for a new function)"));
        json_array_append_new(docs, d);
        free(p);
    }
    if (l->url) {
        char *p = fn_path("2021-10-31", l->name, "/url");
        json_t *d = doc("lambda", "CreateFunctionUrlConfig", "POST", p, l->region,
                        json_pack("{s:s}", "AuthType", l->url == 1 ? "NONE" : "AWS_IAM"));
        if (l->url_query) json_object_set_new(d, "query", json_string(l->url_query));
        json_array_append_new(docs, d);
        free(p);
    }
    if (l->url == 1) {
        char *p = fn_path("2015-03-31", l->name, "/policy");
        for (int k = 0; k < 2; k++) {
            json_t *d = doc("lambda", "AddPermission", "POST", p, l->region, url_permission(k));
            if (l->url_query) json_object_set_new(d, "query", json_string(l->url_query));
            json_array_append_new(docs, d);
        }
        free(p);
    }
    if (l->sched) {
        /* provisioned concurrency per step: the alias's scalable target and
         * its scheduled actions (each holds Min = Max = the warm instances) */
        json_array_append_new(docs, doc("application-autoscaling", "RegisterScalableTarget", "POST", "/",
                                        l->region, pc_target_body(l)));
        size_t i;
        const json_t *a;
        json_array_foreach(l->sched, i, a)
            json_array_append_new(docs, doc("application-autoscaling", "PutScheduledAction", "POST", "/",
                                            l->region, aws_capacity_put_body("lambda", l->pc_rid,
                                                                             PC_DIM, a)));
    }
    /* schedule and queue triggers after the function they invoke */
    aws_triggers_documents(ctx, l->w, l->region, l->name, docs);
    return docs;
}

fb_status aws_lambda_documents(aws_ctx *ctx, const json_t *w, const json_t *placement,
                               json_t **docs, fb_diag *diag)
{
    lam l;
    lam_init(&l, w, aws_str(placement, "region"));
    char *zip = NULL, *sha = NULL;
    fb_status st = lam_code(&l, &zip, &sha, diag);
    if (st == FB_OK) *docs = create_docs(ctx, &l, zip);
    free(zip);
    free(sha);
    lam_free(&l);
    return st;
}

/* ---- calls ------------------------------------------------------------------------------ */

typedef struct call {
    aws_ctx *ctx;
    fb_diag *diag;
    const fbk_aws_creds *creds;
    const char *region;
} call;

static fb_status lcall(const call *c, const char *op, const char *method, const char *path,
                       const char *query, const json_t *body, uint32_t flags, aws_req *rq,
                       aws_res *res)
{
    *rq = (aws_req){.api = "lambda", .op = op, .method = method, .path = path, .query = query,
                    .body = body, .flags = flags};
    return aws_send(c->ctx, c->diag, c->creds, c->region, rq, res);
}

/* Sends a document of the create path. CreateFunction is not idempotent
 * by itself, so the host sends it once; an AWS error answer that says it
 * was throttled or failed inside AWS is re-sent here (a throttled request
 * was not applied; after a 5xx a re-send meets ResourceConflictException
 * and apply adopts the function it finds tagged as ours). */
static fb_status send_doc(const call *c, const json_t *d, aws_req *rq, aws_res *res)
{
    const char *op = aws_str(d, "operation");
    const char *method = aws_str(d, "method");
    /* CreateFunction and CreateEventSourceMapping are not idempotent: sent
     * once; the others' repeats are "exists" answers */
    uint32_t flags = !strcmp(op, "CreateFunction") || !strcmp(op, "CreateEventSourceMapping") ? 0
                                                                                 : FB_HTTP_IDEMPOTENT;
    for (int attempt = 0;; attempt++) {
        *rq = (aws_req){.api = aws_str(d, "api"), .op = op, .method = method,
                        .path = aws_str(d, "path"), .query = aws_str(d, "query"),
                        .body = json_object_get(d, "body"), .flags = flags};
        fb_status st = aws_send(c->ctx, c->diag, c->creds, c->region, rq, res);
        if (st != FB_OK && !flags && !aws_host->dry_run(c->diag))
            fbk_diag(aws_host, c->diag, FB_SEV_NOTE, NULL,
                     "aws: %s was not answered; apply again: if Lambda created the function, "
                     "apply finds it (tagged as ours) and adopts it", op);
        if (st != FB_OK || flags || res->err != FB_RETRYABLE || attempt == 2) return st;
        aws_res_clear(res);
        aws_host->sleep_ms(c->diag, 1000u << attempt);
    }
}

static int tags_ours(const json_t *tags)
{
    const char *by = aws_str(tags, "managed-by");
    return by && !strcmp(by, "fedbroker");
}

static const char *cfg_str(const json_t *get, const char *key)
{
    return aws_str(json_object_get(get, "Configuration"), key);
}

/* GetFunction. *live is new (NULL when absent: *found = 0). */
static fb_status get_function(const call *c, const char *name, json_t **live, int *found)
{
    *live = NULL;
    *found = 0;
    char *p = fn_path("2015-03-31", name, "");
    aws_req rq;
    aws_res res;
    fb_status st = lcall(c, "GetFunction", "GET", p, NULL, NULL, FB_HTTP_IDEMPOTENT, &rq, &res);
    free(p);
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
    *found = 1;
    *live = res.body ? json_incref(res.body) : json_object();
    aws_res_clear(&res);
    return FB_OK;
}

/* Polls until the function can take an update: State Active or Inactive
 * and no update in progress. *live is replaced by the last answer. */
static fb_status wait_ready(const call *c, const char *name, json_t **live)
{
    for (int attempt = 0; attempt < LAMBDA_POLLS; attempt++) {
        const char *state = cfg_str(*live, "State");
        const char *lus = cfg_str(*live, "LastUpdateStatus");
        if (state && !strcmp(state, "Failed")) {
            const char *why = cfg_str(*live, "StateReason");
            fbk_diag(aws_host, c->diag, FB_SEV_ERROR, NULL,
                     "aws: Lambda function %s is in state Failed%s%s\nfix the cause, then "
                     "`fedbroker destroy` and apply again", name, why ? ": " : "", why ? why : "");
            return FB_INTERNAL;
        }
        if ((!state || !strcmp(state, "Active") || !strcmp(state, "Inactive")) &&
            !(lus && !strcmp(lus, "InProgress")))
            return FB_OK;
        aws_poll_sleep(c->diag, attempt);
        json_t *next;
        int found;
        fb_status st = get_function(c, name, &next, &found);
        if (st != FB_OK) return st;
        if (!found) {
            fbk_diag(aws_host, c->diag, FB_SEV_ERROR, NULL,
                     "aws: Lambda function %s disappeared while apply waited for it", name);
            return FB_CONFLICT;
        }
        json_decref(*live);
        *live = next;
    }
    fbk_diag(aws_host, c->diag, FB_SEV_ERROR, NULL,
             "aws: Lambda function %s is still %s after %d polls\nrun apply again later", name,
             cfg_str(*live, "State") ? cfg_str(*live, "State") : "busy", LAMBDA_POLLS);
    return FB_RETRYABLE;
}

/* After an update: LastUpdateStatus Failed means Lambda rejected it. */
static fb_status update_failed(const call *c, const char *name, const json_t *live,
                               const char *what)
{
    const char *lus = cfg_str(live, "LastUpdateStatus");
    if (lus && !strcmp(lus, "Failed")) {
        const char *why = cfg_str(live, "LastUpdateStatusReason");
        fbk_diag(aws_host, c->diag, FB_SEV_ERROR, NULL,
                 "aws: Lambda rejected the %s of %s%s%s", what, name, why ? ": " : "",
                 why ? why : "");
        return FB_INVALID;
    }
    return FB_OK;
}

/* Sends an update (PUT) and waits for it to finish. */
static fb_status send_update(const call *c, const lam *l, const char *op, const char *suffix,
                             json_t *body /* borrowed */, json_t **live)
{
    char *p = fn_path("2015-03-31", l->name, suffix);
    aws_req rq;
    aws_res res;
    fb_status st = lcall(c, op, "PUT", p, NULL, body, FB_HTTP_IDEMPOTENT, &rq, &res);
    free(p);
    if (st != FB_OK) return st;
    if (res.err != FB_OK) st = aws_fail(c->diag, &rq, &res, NULL);
    aws_res_clear(&res);
    if (st != FB_OK) return st;
    int found;
    json_t *next;
    if ((st = get_function(c, l->name, &next, &found)) != FB_OK) return st;
    if (!found) {
        fbk_diag(aws_host, c->diag, FB_SEV_ERROR, NULL,
                 "aws: Lambda function %s disappeared during the update", l->name);
        return FB_CONFLICT;
    }
    json_decref(*live);
    *live = next;
    if ((st = wait_ready(c, l->name, live)) != FB_OK) return st;
    return update_failed(c, l->name, *live, op);
}

/* A sub-resource create answered "exists": fine (idempotent). */
static int exists_ok(const aws_res *res)
{
    return res->status == 409 || (res->code && strstr(res->code, "ResourceConflict"));
}

/* Which of a public URL's statements (url_permission) the function's
 * policy holds, by statement id: bit k for statement k. No policy is 0. */
static fb_status url_permissions(const call *c, const char *name, const char *query, int *present)
{
    *present = 0;
    char *p = fn_path("2015-03-31", name, "/policy");
    aws_req rq;
    aws_res res;
    fb_status st = lcall(c, "GetPolicy", "GET", p, query, NULL, FB_HTTP_IDEMPOTENT, &rq, &res);
    free(p);
    if (st != FB_OK) return st;
    if (res.err != FB_OK && res.err != FB_NOTFOUND) st = aws_fail(c->diag, &rq, &res, NULL);
    /* the policy is a JSON document inside a string */
    json_t *pol = res.err == FB_OK && aws_str(res.body, "Policy")
                      ? json_loads(aws_str(res.body, "Policy"), 0, NULL) : NULL;
    size_t i;
    const json_t *stmt;
    json_array_foreach(json_object_get(pol, "Statement"), i, stmt) {
        const char *sid = aws_str(stmt, "Sid");
        if (sid && !strcmp(sid, URL_PERMISSION_SID)) *present |= 1;
        if (sid && !strcmp(sid, URL_INVOKE_SID)) *present |= 2;
    }
    json_decref(pol);
    aws_res_clear(&res);
    return st;
}

/* Makes the function URL match the spec. state gets "url". */
static fb_status ensure_url(const call *c, const lam *l, int existed, json_t *state)
{
    char *p = fn_path("2021-10-31", l->name, "/url");
    aws_req rq;
    aws_res res;
    fb_status st = FB_OK;
    const char *want = l->url == 1 ? "NONE" : l->url == 2 ? "AWS_IAM" : NULL;
    int have = 0;
    if (existed) {
        st = lcall(c, "GetFunctionUrlConfig", "GET", p, l->url_query, NULL, FB_HTTP_IDEMPOTENT, &rq, &res);
        if (st == FB_OK && res.err == FB_OK) {
            const char *auth = aws_str(res.body, "AuthType");
            if (want && auth && !strcmp(auth, want)) {
                have = 1;
                json_object_set(state, "url", json_object_get(res.body, "FunctionUrl"));
            } else {
                aws_res del;
                aws_req drq;
                st = lcall(c, "DeleteFunctionUrlConfig", "DELETE", p, l->url_query, NULL,
                           FB_HTTP_IDEMPOTENT, &drq, &del);
                if (st == FB_OK && del.err != FB_OK && del.err != FB_NOTFOUND)
                    st = aws_fail(c->diag, &drq, &del, NULL);
                aws_res_clear(&del);
            }
        } else if (st == FB_OK && res.err != FB_NOTFOUND) {
            st = aws_fail(c->diag, &rq, &res, NULL);
        }
        aws_res_clear(&res);
    }
    if (st == FB_OK && want && !have) {
        json_t *body = json_pack("{s:s}", "AuthType", want);
        st = lcall(c, "CreateFunctionUrlConfig", "POST", p, l->url_query, body, FB_HTTP_IDEMPOTENT, &rq,
                   &res);
        json_decref(body);
        if (st == FB_OK && res.err == FB_OK) {
            const char *u = aws_str(res.body, "FunctionUrl");
            if (u) {
                json_object_set_new(state, "url", json_string(u));
                st = aws_record(c->diag, "lambda-url", u, l->region, l->name);
            }
        } else if (st == FB_OK && !exists_ok(&res)) {
            st = aws_fail(c->diag, &rq, &res, NULL);
        }
        aws_res_clear(&res);
    }
    /* A public URL's two statements: added when missing (a URL kept from
     * before October 2025 may have only the first); a repeat is an
     * "exists" answer, which is fine. */
    if (st == FB_OK && l->url == 1) {
        int present = 0;
        if (have) st = url_permissions(c, l->name, l->url_query, &present);
        char *pp = fn_path("2015-03-31", l->name, "/policy");
        for (int k = 0; k < 2 && st == FB_OK; k++) {
            if (present & (1 << k)) continue;
            json_t *pb = url_permission(k);
            st = lcall(c, "AddPermission", "POST", pp, l->url_query, pb, FB_HTTP_IDEMPOTENT, &rq, &res);
            json_decref(pb);
            if (st == FB_OK && res.err != FB_OK && !exists_ok(&res))
                st = aws_fail(c->diag, &rq, &res, NULL);
            aws_res_clear(&res);
        }
        free(pp);
    }
    free(p);
    return st;
}

#define CALLER_SID "fb-caller-"

/* Least privilege from the federation graph (docs/identity.md): with an
 * AWS_IAM URL, each caller's role (made when missing,
 * aws_identity_caller_role) may invoke the function through it:
 * lambda:InvokeFunctionUrl with FunctionUrlAuthType AWS_IAM and
 * lambda:InvokeFunction through the URL only, statements fb-caller-NAME
 * and fb-caller-NAME-invoke; statements of callers that are gone (among
 * the workloads this apply considered) are removed, with or without a
 * URL. Nobody else is granted anything. */
static fb_status ensure_callers(const call *c, const lam *l)
{
    const json_t *callers = json_object_get(l->ident, "callers");
    const char *tenant = aws_str(json_object_get(l->w, "metadata"), "tenant");
    char *pp = fn_path("2015-03-31", l->name, "/policy");
    json_t *want = json_array();
    fb_status st = FB_OK;
    size_t i;
    const json_t *cl;
    json_array_foreach(callers, i, cl) {
        if (st != FB_OK || l->url != 2) break; /* grants go with an AWS_IAM URL only */
        char *arn = NULL;
        st = aws_identity_caller_role(c->ctx, c->diag, c->creds, l->ident, tenant ? tenant : "default",
                                      aws_str(json_object_get(l->w, "metadata"), "name"), cl, l->region, &arn);
        if (st != FB_OK || !arn) {
            free(arn);
            continue;
        }
        char *sid = fbk_xasprintf(CALLER_SID "%s", aws_str(cl, "name"));
        char *sid2 = fbk_xasprintf("%s-invoke", sid);
        json_array_append_new(want, json_string(sid));
        json_array_append_new(want, json_string(sid2));
        json_t *bodies[2] = {
            json_pack("{s:s,s:s,s:s,s:s}", "StatementId", sid, "Action", "lambda:InvokeFunctionUrl", "Principal",
                      arn, "FunctionUrlAuthType", "AWS_IAM"),
            json_pack("{s:s,s:s,s:s,s:b}", "StatementId", sid2, "Action", "lambda:InvokeFunction", "Principal", arn,
                      "InvokedViaFunctionUrl", 1)};
        for (int k = 0; k < 2; k++) {
            aws_req rq;
            aws_res res;
            if (st == FB_OK) {
                st = lcall(c, "AddPermission", "POST", pp, NULL, bodies[k], FB_HTTP_IDEMPOTENT, &rq, &res);
                /* there already (same statement id): fine */
                if (st == FB_OK && res.err != FB_OK && !exists_ok(&res)) st = aws_fail(c->diag, &rq, &res, NULL);
                aws_res_clear(&res);
            }
            json_decref(bodies[k]);
        }
        free(sid);
        free(sid2);
        free(arn);
    }
    if (st == FB_OK && !aws_host->dry_run(c->diag)) {
        /* callers no longer there lose the right to call */
        aws_req rq;
        aws_res res;
        st = lcall(c, "GetPolicy", "GET", pp, NULL, NULL, FB_HTTP_IDEMPOTENT, &rq, &res);
        if (st == FB_OK && res.err != FB_OK && res.err != FB_NOTFOUND) st = aws_fail(c->diag, &rq, &res, NULL);
        json_t *pol = st == FB_OK && res.err == FB_OK && aws_str(res.body, "Policy")
                          ? json_loads(aws_str(res.body, "Policy"), 0, NULL) : NULL;
        aws_res_clear(&res);
        const json_t *stmt;
        json_array_foreach(json_object_get(pol, "Statement"), i, stmt) {
            const char *sid = aws_str(stmt, "Sid");
            if (st != FB_OK || !sid || strncmp(sid, CALLER_SID, strlen(CALLER_SID)) != 0) continue;
            int keep = 0;
            size_t k;
            const json_t *w;
            json_array_foreach(want, k, w) keep |= !strcmp(json_string_value(w), sid);
            /* the caller's name: fb-caller-NAME or fb-caller-NAME-invoke;
             * a workload this apply did not consider keeps its grant */
            const char *cn = sid + strlen(CALLER_SID);
            size_t cnlen = strlen(cn);
            char *base = cnlen > 7 && !strcmp(cn + cnlen - 7, "-invoke") ? fbk_xstrndup(cn, cnlen - 7) : NULL;
            int considered = fbk_identity_considers(l->ident, cn) || (base && fbk_identity_considers(l->ident, base));
            free(base);
            if (keep || !considered) continue;
            char *p = fn_path("2015-03-31", l->name, "/policy/");
            fbk_buf b;
            fbk_buf_init(&b);
            fbk_buf_puts(&b, p);
            fbk_uri_encode(&b, sid, strlen(sid), 0);
            st = lcall(c, "RemovePermission", "DELETE", b.data, NULL, NULL, FB_HTTP_IDEMPOTENT, &rq, &res);
            if (st == FB_OK && res.err != FB_OK && res.err != FB_NOTFOUND) st = aws_fail(c->diag, &rq, &res, NULL);
            aws_res_clear(&res);
            fbk_buf_free(&b);
            free(p);
        }
        json_decref(pol);
    }
    json_decref(want);
    free(pp);
    return st;
}

/* Reserved concurrency as the spec wants it (live from GetFunction). */
static fb_status ensure_concurrency(const call *c, const lam *l, const json_t *live)
{
    const json_t *lc = json_object_get(json_object_get(live, "Concurrency"),
                                       "ReservedConcurrentExecutions");
    if (l->reserved >= 0 && json_is_integer(lc) && json_integer_value(lc) == l->reserved)
        return FB_OK;
    if (l->reserved < 0 && !lc) return FB_OK;
    char *p = fn_path("2017-10-31", l->name, "/concurrency");
    aws_req rq;
    aws_res res;
    fb_status st;
    if (l->reserved >= 0) {
        json_t *b = json_pack("{s:I}", "ReservedConcurrentExecutions", l->reserved);
        st = lcall(c, "PutFunctionConcurrency", "PUT", p, NULL, b, FB_HTTP_IDEMPOTENT, &rq, &res);
        json_decref(b);
    } else {
        st = lcall(c, "DeleteFunctionConcurrency", "DELETE", p, NULL, NULL, FB_HTTP_IDEMPOTENT,
                   &rq, &res);
    }
    free(p);
    if (st == FB_OK && res.err != FB_OK && !(l->reserved < 0 && res.err == FB_NOTFOUND))
        st = aws_fail(c->diag, &rq, &res, NULL);
    aws_res_clear(&res);
    return st;
}

static int str_differs(const json_t *a, const json_t *b)
{
    return !json_equal((json_t *)a, (json_t *)b);
}

/* The alias of a capacity schedule on the function's current code and
 * configuration: PublishVersion (Lambda answers the latest version again
 * when nothing changed since it), then the alias created or moved to it.
 * state gets "alias" and "aliasVersion". */
static fb_status ensure_alias(const call *c, const lam *l, json_t *state)
{
    char *p = fn_path("2015-03-31", l->name, "/versions");
    aws_req rq;
    aws_res res;
    json_t *b = json_object();
    fb_status st = lcall(c, "PublishVersion", "POST", p, NULL, b, FB_HTTP_IDEMPOTENT, &rq, &res);
    json_decref(b);
    free(p);
    if (st == FB_OK && res.err != FB_OK) st = aws_fail(c->diag, &rq, &res, NULL);
    char *version = st == FB_OK && aws_str(res.body, "Version") ? fbk_xstrdup(aws_str(res.body, "Version"))
                                                               : NULL;
    aws_res_clear(&res);
    if (st == FB_OK && !version) {
        fbk_diag(aws_host, c->diag, FB_SEV_ERROR, NULL, "aws: PublishVersion answered without a Version");
        st = FB_INTERNAL;
    }
    if (st != FB_OK) {
        free(version);
        return st;
    }
    p = fn_path("2015-03-31", l->name, "/aliases/" WARM_ALIAS);
    st = lcall(c, "GetAlias", "GET", p, NULL, NULL, FB_HTTP_IDEMPOTENT, &rq, &res);
    if (st == FB_OK && res.err == FB_NOTFOUND) {
        aws_res_clear(&res);
        char *pc = fn_path("2015-03-31", l->name, "/aliases");
        b = json_pack("{s:s,s:s}", "Name", WARM_ALIAS, "FunctionVersion", version);
        st = lcall(c, "CreateAlias", "POST", pc, NULL, b, FB_HTTP_IDEMPOTENT, &rq, &res);
        json_decref(b);
        free(pc);
        if (st == FB_OK && res.err != FB_OK && !exists_ok(&res)) st = aws_fail(c->diag, &rq, &res, NULL);
        if (st == FB_OK && aws_str(res.body, "AliasArn"))
            st = aws_record(c->diag, "lambda-alias", aws_str(res.body, "AliasArn"), l->region, l->name);
    } else if (st == FB_OK && res.err == FB_OK) {
        const char *have = aws_str(res.body, "FunctionVersion");
        if (!have || strcmp(have, version) != 0) {
            aws_res_clear(&res);
            b = json_pack("{s:s}", "FunctionVersion", version);
            st = lcall(c, "UpdateAlias", "PUT", p, NULL, b, FB_HTTP_IDEMPOTENT, &rq, &res);
            json_decref(b);
            if (st == FB_OK && res.err != FB_OK) st = aws_fail(c->diag, &rq, &res, NULL);
        }
    } else if (st == FB_OK) {
        st = aws_fail(c->diag, &rq, &res, NULL);
    }
    aws_res_clear(&res);
    free(p);
    if (st == FB_OK) {
        json_object_set_new(state, "alias", json_string(WARM_ALIAS));
        json_object_set_new(state, "aliasVersion", json_string(version));
    }
    free(version);
    return st;
}

/* The alias's provisioned concurrency as a scalable target, journalled
 * before it is registered, and the schedule's actions on it. */
static fb_status ensure_pc(const call *c, const lam *l, json_t *state)
{
    fb_status st = aws_record(c->diag, "scalable-target", l->pc_rid, l->region, l->name);
    if (st != FB_OK) return st;
    json_t *b = pc_target_body(l);
    aws_req rq = {.api = "application-autoscaling", .op = "RegisterScalableTarget", .method = "POST",
                  .path = "/", .body = b, .flags = FB_HTTP_IDEMPOTENT};
    aws_res res;
    st = aws_send(c->ctx, c->diag, c->creds, c->region, &rq, &res);
    if (st == FB_OK && res.err != FB_OK) st = aws_fail(c->diag, &rq, &res, NULL);
    aws_res_clear(&res);
    json_decref(b);
    if (st == FB_OK)
        st = aws_capacity_apply(c->ctx, c->diag, c->creds, c->region, "lambda", l->pc_rid, PC_DIM,
                                l->sched, l->name);
    if (st == FB_OK) {
        json_object_set_new(state, "provisionedTarget", json_string(l->pc_rid));
        json_object_set_new(state, "scheduledActions", json_integer((json_int_t)json_array_size(l->sched)));
    }
    return st;
}

/* Deregisters the alias's scalable target (its scheduled actions go with
 * it); one that is not there is fine. */
static fb_status drop_pc(const call *c, const char *rid)
{
    json_t *b = json_pack("{s:s,s:s,s:s}", "ServiceNamespace", "lambda", "ResourceId", rid,
                          "ScalableDimension", PC_DIM);
    aws_req rq = {.api = "application-autoscaling", .op = "DeregisterScalableTarget", .method = "POST",
                  .path = "/", .body = b, .flags = FB_HTTP_IDEMPOTENT};
    aws_res res;
    fb_status st = aws_send(c->ctx, c->diag, c->creds, c->region, &rq, &res);
    if (st == FB_OK && res.err != FB_OK && res.err != FB_NOTFOUND &&
        !(res.code && strstr(res.code, "ObjectNotFound")))
        st = aws_fail(c->diag, &rq, &res, NULL);
    aws_res_clear(&res);
    json_decref(b);
    return st;
}

/* Updates an existing function of ours to the spec. */
static fb_status update_function(const call *c, const lam *l, json_t **live, const json_t *create,
                                 const char *sha_b64, json_t *state)
{
    fb_status st = wait_ready(c, l->name, live);
    if (st != FB_OK) return st;
    const json_t *cfg = json_object_get(*live, "Configuration");
    const char *pkg = aws_str(cfg, "PackageType") ? aws_str(cfg, "PackageType") : "Zip";
    const char *want_pkg = l->image ? "Image" : "Zip";
    if (strcmp(pkg, want_pkg) != 0) {
        fbk_diag(aws_host, c->diag, FB_SEV_ERROR, NULL,
                 "aws: Lambda function %s is a %s function and the spec makes it %s; Lambda "
                 "cannot change the package type\n`fedbroker destroy --workload %s` and apply "
                 "again", l->name, pkg, want_pkg,
                 aws_str(json_object_get(l->w, "metadata"), "name"));
        return FB_CONFLICT;
    }
    /* code */
    const char *live_arch = json_string_value(json_array_get(json_object_get(cfg, "Architectures"), 0));
    int need_code = !live_arch || strcmp(live_arch, l->arch) != 0;
    if (l->image) {
        const char *uri = aws_str(json_object_get(*live, "Code"), "ImageUri");
        need_code |= !uri || strcmp(uri, l->image) != 0;
    } else if (sha_b64) {
        const char *live_sha = aws_str(cfg, "CodeSha256");
        need_code |= !live_sha || strcmp(live_sha, sha_b64) != 0;
    } else {
        const char *hash = aws_str(json_object_get(*live, "Tags"), "spec-hash");
        need_code |= !hash || strcmp(hash, aws_str(l->w, "specHash")) != 0;
    }
    if (need_code) {
        json_t *b = json_deep_copy(json_object_get(create, "Code"));
        json_object_set_new(b, "Architectures", json_pack("[s]", l->arch));
        st = send_update(c, l, "UpdateFunctionCode", "/code", b, live);
        json_decref(b);
        if (st != FB_OK) return st;
        cfg = json_object_get(*live, "Configuration");
    }
    /* configuration: send the whole wanted configuration when any part differs */
    json_t *want = json_object();
    static const char *const keys[] = {"Role", "MemorySize", "Timeout", "Runtime", "Handler",
                                       "Description", NULL};
    int differs = 0;
    for (size_t i = 0; keys[i]; i++) {
        const json_t *v = json_object_get(create, keys[i]);
        if (!v) continue;
        json_object_set(want, keys[i], (json_t *)v);
        differs |= str_differs(v, json_object_get(cfg, keys[i]));
    }
    json_t *wenv = env_object(l);
    const json_t *lenv = json_object_get(json_object_get(cfg, "Environment"), "Variables");
    json_t *lenv_c = lenv ? json_deep_copy(lenv) : json_object();
    differs |= !json_equal(wenv, lenv_c);
    json_decref(lenv_c);
    json_object_set_new(want, "Environment", json_pack("{s:o}", "Variables", wenv));
    json_object_set(want, "EphemeralStorage", json_object_get(create, "EphemeralStorage"));
    differs |= aws_int(json_object_get(cfg, "EphemeralStorage"), "Size", 512) != l->eph;
    if (l->image) {
        const json_t *ic = json_object_get(create, "ImageConfig");
        const json_t *live_ic = json_object_get(json_object_get(cfg, "ImageConfigResponse"),
                                                "ImageConfig");
        json_t *wic = ic ? json_deep_copy(ic) : json_object();
        json_t *lic = live_ic ? json_deep_copy(live_ic) : json_object();
        differs |= !json_equal(wic, lic);
        json_decref(lic);
        json_object_set_new(want, "ImageConfig", wic);
    }
    if (differs) st = send_update(c, l, "UpdateFunctionConfiguration", "/configuration", want, live);
    json_decref(want);
    if (st != FB_OK) return st;
    /* tags: make the managed tags (spec-hash above all) current */
    const json_t *live_tags = json_object_get(*live, "Tags");
    json_t *wtags = json_object_get(create, "Tags");
    const char *k;
    json_t *v;
    int tag_diff = 0;
    json_object_foreach(wtags, k, v) tag_diff |= str_differs(v, json_object_get(live_tags, k));
    const char *fn_arn = cfg_str(*live, "FunctionArn");
    if (tag_diff && fn_arn) {
        fbk_buf p;
        fbk_buf_init(&p);
        fbk_buf_puts(&p, "/2017-03-31/tags/");
        fbk_uri_encode(&p, fn_arn, strlen(fn_arn), 0);
        json_t *b = json_pack("{s:O}", "Tags", wtags);
        aws_req rq;
        aws_res res;
        st = lcall(c, "TagResource", "POST", p.data, NULL, b, FB_HTTP_IDEMPOTENT, &rq, &res);
        json_decref(b);
        fbk_buf_free(&p);
        if (st == FB_OK && res.err != FB_OK) st = aws_fail(c->diag, &rq, &res, NULL);
        aws_res_clear(&res);
        if (st != FB_OK) return st;
    }
    if ((st = ensure_concurrency(c, l, *live)) != FB_OK) return st;
    /* the URL of a scheduled function is its alias's: the alias first */
    if (l->sched && (st = ensure_alias(c, l, state)) != FB_OK) return st;
    return ensure_url(c, l, 1, state);
}

/* The state apply returns (and the broker stores). new. */
static json_t *lam_state(const lam *l, const char *arn, const char *sha_b64)
{
    json_t *s = json_pack("{s:s,s:s,s:s?,s:s?,s:s}", "kind", "Function", "functionName", l->name,
                          "region", l->region, "specHash", aws_str(l->w, "specHash"),
                          "packageType", l->image ? "Image" : "Zip");
    if (arn) json_object_set_new(s, "functionArn", json_string(arn));
    if (sha_b64) json_object_set_new(s, "codeSha256", json_string(sha_b64));
    return s;
}

fb_status aws_lambda_apply(aws_ctx *ctx, const json_t *in, json_t **out, fb_diag *diag)
{
    const json_t *w = json_object_get(in, "workload");
    lam l;
    lam_init(&l, w, aws_str(json_object_get(in, "placement"), "region"));
    fbk_aws_creds creds;
    fb_status st = aws_creds(ctx, diag, l.region, &creds);
    char *zip = NULL, *sha = NULL;
    if (st == FB_OK) st = lam_code(&l, &zip, &sha, diag);
    /* the role the function runs as exists before it (a dry run shows its
     * creates); Lambda refuses a role it cannot assume yet, so the create
     * below retries as it does for any IAM propagation delay */
    const json_t *ident = json_object_get(in, "identity");
    if (st == FB_OK && ident) st = aws_identity_bind(ctx, diag, &creds, w, ident, l.region, &l.role);
    /* a function its callers reach through a URL that checks who they are
     * (AWS_IAM), unless it is public anyway */
    l.ident = ident;
    int for_callers = ident && json_array_size(json_object_get(ident, "callers")) && l.url == 0;
    if (for_callers) l.url = 2;
    json_t *docs = st == FB_OK ? create_docs(ctx, &l, zip) : NULL;
    free(zip);
    call c = {ctx, diag, &creds, l.region};
    json_t *state = NULL, *live = NULL;
    json_t *trig_state = json_array(), *trig_res = json_array(); /* triggers.c's */
    aws_req rq;
    aws_res res;
    memset(&res, 0, sizeof res);
    if (st == FB_OK && aws_host->dry_run(diag)) {
        /* The create path, exactly as render shows it; the host records it. */
        size_t i;
        json_t *d;
        json_array_foreach(docs, i, d) {
            if ((st = send_doc(&c, d, &rq, &res)) != FB_OK) break;
            aws_res_clear(&res);
        }
        state = lam_state(&l, NULL, sha);
        if (ctx->account_id) {
            char *arn = fbk_xasprintf("arn:aws:lambda:%s:%s:function:%s", l.region,
                                      ctx->account_id, l.name);
            json_object_set_new(state, "functionArn", json_string(arn));
            free(arn);
        }
        if (st == FB_OK && l.url == 2 && l.ident) st = ensure_callers(&c, &l);
        goto done;
    }
    int found = 0;
    if (st == FB_OK) st = get_function(&c, l.name, &live, &found);
    const json_t *create = json_object_get(json_array_get(docs, 0), "body");
    if (st == FB_OK && !found) {
        st = send_doc(&c, json_array_get(docs, 0), &rq, &res);
        if (st == FB_OK && res.err == FB_OK) {
            const char *arn = aws_str(res.body, "FunctionArn");
            if (!arn) {
                fbk_diag(aws_host, diag, FB_SEV_ERROR, NULL,
                         "aws: CreateFunction answered without a FunctionArn");
                st = FB_INTERNAL;
            } else {
                /* Record the id before anything else: a crash after this
                 * line leaves a function the store knows about. */
                st = aws_record(diag, "lambda-function", arn, l.region, l.name);
            }
            if (st == FB_OK) {
                live = json_pack("{s:O}", "Configuration", res.body);
                state = lam_state(&l, arn, sha);
                st = wait_ready(&c, l.name, &live);
            }
            aws_res_clear(&res);
            size_t i;
            json_t *d;
            json_array_foreach(docs, i, d) {
                /* the concurrency here; the URL with its permissions and the
                 * triggers below, which read before they create */
                if (i == 0 || st != FB_OK || strcmp(aws_str(d, "operation"), "PutFunctionConcurrency"))
                    continue;
                st = send_doc(&c, d, &rq, &res);
                if (st == FB_OK && res.err != FB_OK && !exists_ok(&res))
                    st = aws_fail(diag, &rq, &res, NULL);
                aws_res_clear(&res);
            }
            if (st == FB_OK && l.sched) st = ensure_alias(&c, &l, state);
            if (st == FB_OK && l.url) st = ensure_url(&c, &l, 0, state);
        } else if (st == FB_OK && exists_ok(&res)) {
            /* Created meanwhile (or by the attempt a 5xx hid): adopt it if ours. */
            aws_res_clear(&res);
            st = get_function(&c, l.name, &live, &found);
            if (st == FB_OK && !found) {
                fbk_diag(aws_host, diag, FB_SEV_ERROR, NULL,
                         "aws: Lambda said function %s exists, then that it does not; "
                         "apply again", l.name);
                st = FB_CONFLICT;
            }
        } else if (st == FB_OK) {
            st = aws_fail(diag, &rq, &res, "the spec's values are checked by validate; this "
                          "is what Lambda itself refused");
            aws_res_clear(&res);
        }
    }
    if (st == FB_OK && found) {
        const char *arn = cfg_str(live, "FunctionArn");
        if (!tags_ours(json_object_get(live, "Tags"))) {
            fbk_diag(aws_host, diag, FB_SEV_ERROR, NULL,
                     "aws: a Lambda function named %s exists in %s and is not managed by "
                     "fedbroker (no managed-by=fedbroker tag)\nrename the workload or tenant, "
                     "or delete or tag the existing function yourself", l.name, l.region);
            st = FB_CONFLICT;
        } else if (!arn) {
            fbk_diag(aws_host, diag, FB_SEV_ERROR, NULL,
                     "aws: GetFunction answered without a FunctionArn");
            st = FB_INTERNAL;
        } else {
            st = aws_record(diag, "lambda-function", arn, l.region, l.name);
            state = lam_state(&l, arn, sha);
            if (st == FB_OK) st = update_function(&c, &l, &live, create, sha, state);
        }
    }
    /* exactly its callers may call it (a dry run shows the grants) */
    if (st == FB_OK && state && l.ident) st = ensure_callers(&c, &l);
    /* the schedule and queue triggers, once the function is there; also
     * removes those a previous apply made that the spec no longer has */
    if (st == FB_OK && state)
        st = aws_triggers_apply(ctx, &creds, w, l.region, l.name, aws_str(state, "functionArn"),
                                json_object_get(in, "deployment"), trig_state, trig_res, diag);
    if (st == FB_OK && json_array_size(trig_state))
        json_object_set(state, "triggers", trig_state);
    /* the capacity schedule's provisioned concurrency; a target an earlier
     * schedule registered goes when the spec has none */
    if (st == FB_OK && state && l.sched) {
        st = ensure_pc(&c, &l, state);
    } else if (st == FB_OK && state) {
        const char *old = aws_str(json_object_get(json_object_get(in, "deployment"), "state"),
                                  "provisionedTarget");
        if (old) st = drop_pc(&c, old);
    }
done:
    /* observe wants the URL its callers made (observe gets no callers) */
    if (st == FB_OK && state && for_callers) json_object_set_new(state, "urlForCallers", json_true());
    if (st == FB_OK) {
        json_t *resources = json_array();
        const char *arn = aws_str(state, "functionArn");
        if (arn)
            json_array_append_new(resources, json_pack("{s:s,s:s,s:s,s:s}", "type",
                                                       "lambda-function", "id", arn, "region",
                                                       l.region, "name", l.name));
        if (aws_str(state, "url"))
            json_array_append_new(resources, json_pack("{s:s,s:O,s:s,s:s}", "type", "lambda-url",
                                                       "id", json_object_get(state, "url"),
                                                       "region", l.region, "name", l.name));
        json_array_extend(resources, trig_res);
        *out = json_pack("{s:O,s:o}", "state", state, "resources", resources);
    }
    json_decref(trig_state);
    json_decref(trig_res);
    json_decref(state);
    json_decref(live);
    json_decref(docs);
    free(sha);
    fbk_aws_creds_clear(&creds);
    lam_free(&l);
    return st;
}

/* ---- deployment helpers ------------------------------------------------------------------------ */

/* The function name in an ARN (after ":function:"), new, or NULL. */
static char *arn_function(const char *arn)
{
    const char *p = arn ? strstr(arn, ":function:") : NULL;
    if (!p) return NULL;
    p += 10;
    return fbk_xstrndup(p, strcspn(p, ":"));
}

/* Every function a deployment names: state.functionName and the records,
 * as {name, region} pairs (new array, no duplicates). */
static json_t *dep_functions(const json_t *dep)
{
    json_t *out = json_array();
    const json_t *state = json_object_get(dep, "state");
    const char *region = aws_str(dep, "region");
    if (aws_str(state, "functionName"))
        json_array_append_new(out, json_pack("{s:s,s:s?}", "name", aws_str(state, "functionName"),
                                             "region", aws_str(state, "region") ?
                                             aws_str(state, "region") : region));
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(dep, "resources"), i, r) {
        const char *t = aws_str(r, "type");
        if (!t || strcmp(t, "lambda-function") != 0) continue;
        char *name = arn_function(aws_str(r, "id"));
        const char *rr = aws_str(r, "region") ? aws_str(r, "region") : region;
        int dup = 0;
        size_t k;
        const json_t *o;
        json_array_foreach(out, k, o) {
            if (name && !strcmp(aws_str(o, "name"), name) && rr && aws_str(o, "region") &&
                !strcmp(aws_str(o, "region"), rr))
                dup = 1;
        }
        if (name && !dup) json_array_append_new(out, json_pack("{s:s,s:s?}", "name", name,
                                                               "region", rr));
        free(name);
    }
    return out;
}

/* ---- observe ------------------------------------------------------------------------------------- */

fb_status aws_lambda_observe(aws_ctx *ctx, const json_t *in, json_t **out, fb_diag *diag)
{
    const json_t *dep = json_object_get(in, "deployment");
    const json_t *w = json_object_get(in, "workload");
    json_t *fns = dep_functions(dep);
    const json_t *first = json_array_get(fns, 0);
    lam l;
    int have_w = json_is_object(w) && json_is_object(aws_spec(w));
    const char *region = aws_str(first, "region") ? aws_str(first, "region") : aws_str(dep, "region");
    if (have_w) lam_init(&l, w, region);
    if (have_w && l.url == 0 && json_is_true(json_object_get(json_object_get(dep, "state"), "urlForCallers")))
        l.url = 2;
    const char *name = aws_str(first, "name") ? aws_str(first, "name") : have_w ? l.name : NULL;
    if (!name || !region) {
        fbk_diag(aws_host, diag, FB_SEV_ERROR, NULL,
                 "aws: the deployment names no Lambda function (no state.functionName, no "
                 "lambda-function record) or no region");
        json_decref(fns);
        if (have_w) lam_free(&l);
        return FB_INVALID;
    }
    fbk_aws_creds creds;
    fb_status st = aws_creds(ctx, diag, region, &creds);
    call c = {ctx, diag, &creds, region};
    json_t *live = NULL;
    int found = 0;
    if (st == FB_OK) st = get_function(&c, name, &live, &found);
    json_t *dr = json_array();
    const char *status = "missing";
    if (st == FB_OK && found) {
        const json_t *cfg = json_object_get(live, "Configuration");
        const char *s = aws_str(cfg, "State"), *lus = aws_str(cfg, "LastUpdateStatus");
        status = (s && !strcmp(s, "Failed")) ? "failed"
               : (s && !strcmp(s, "Pending")) || (lus && !strcmp(lus, "InProgress")) ? "pending"
               : "ready";
        if (have_w) {
            json_t *want_env = env_object(&l);
            const json_t *live_env = json_object_get(json_object_get(cfg, "Environment"), "Variables");
            aws_drift(dr, "memoryMiB", json_integer(l.mem),
                      aws_copy(json_object_get(cfg, "MemorySize")));
            aws_drift(dr, "timeoutSeconds", json_integer(l.timeout_s),
                      aws_copy(json_object_get(cfg, "Timeout")));
            aws_drift(dr, "arch", json_string(l.arch),
                      aws_copy(json_array_get(json_object_get(cfg, "Architectures"), 0)));
            aws_drift(dr, "ephemeralStorageMiB", json_integer(l.eph),
                      aws_copy(json_object_get(json_object_get(cfg, "EphemeralStorage"), "Size")));
            aws_drift(dr, "packageType", json_string(l.image ? "Image" : "Zip"),
                      aws_copy(json_object_get(cfg, "PackageType")));
            if (l.image) {
                aws_drift(dr, "image", json_string(l.image),
                          aws_copy(json_object_get(json_object_get(live, "Code"), "ImageUri")));
            } else {
                aws_drift(dr, "runtime", l.runtime ? json_string(l.runtime) : NULL,
                          aws_copy(json_object_get(cfg, "Runtime")));
                aws_drift(dr, "handler", aws_copy(json_object_get(l.spec, "handler")),
                          aws_copy(json_object_get(cfg, "Handler")));
                const char *sha = aws_str(json_object_get(dep, "state"), "codeSha256");
                if (sha)
                    aws_drift(dr, "codeSha256", json_string(sha),
                              aws_copy(json_object_get(cfg, "CodeSha256")));
            }
            const char *k;
            json_t *v;
            json_object_foreach(want_env, k, v) {
                char *f = fbk_xasprintf("env.%s", k);
                aws_drift(dr, f, json_incref(v), aws_copy(json_object_get(live_env, k)));
                free(f);
            }
            json_object_foreach((json_t *)live_env, k, v) {
                if (json_object_get(want_env, k)) continue;
                if (aws_identity_env_name(k)) continue; /* the broker's (observe has no identity) */
                char *f = fbk_xasprintf("env.%s", k);
                aws_drift(dr, f, NULL, json_incref(v));
                free(f);
            }
            json_decref(want_env);
            aws_drift(dr, "reservedConcurrency", l.reserved >= 0 ? json_integer(l.reserved) : NULL,
                      aws_copy(json_object_get(json_object_get(live, "Concurrency"),
                                          "ReservedConcurrentExecutions")));
            aws_drift(dr, "tags.spec-hash", aws_copy(json_object_get(l.w, "specHash")),
                      aws_copy(json_object_get(json_object_get(live, "Tags"), "spec-hash")));
        }
        /* the function URL, when the spec or the state has one */
        int want_url = have_w ? l.url : 0;
        if (want_url || aws_str(json_object_get(dep, "state"), "url")) {
            char *p = fn_path("2021-10-31", name, "/url");
            aws_req rq;
            aws_res res;
            const char *uq = have_w ? l.url_query : NULL;
            st = lcall(&c, "GetFunctionUrlConfig", "GET", p, uq, NULL, FB_HTTP_IDEMPOTENT, &rq,
                       &res);
            free(p);
            if (st == FB_OK && res.err != FB_OK && res.err != FB_NOTFOUND)
                st = aws_fail(diag, &rq, &res, NULL);
            if (st == FB_OK && have_w)
                aws_drift(dr, "url.authType", want_url == 1 ? json_string("NONE")
                                              : want_url == 2 ? json_string("AWS_IAM") : NULL,
                          res.err == FB_OK ? aws_copy(json_object_get(res.body, "AuthType"))
                                           : NULL);
            const char *auth = res.err == FB_OK ? aws_str(res.body, "AuthType") : NULL;
            int present = 0;
            /* a public URL answers only with both statements */
            if (st == FB_OK && have_w && want_url == 1 && auth && !strcmp(auth, "NONE") &&
                (st = url_permissions(&c, name, uq, &present)) == FB_OK) {
                json_t *live_perm = json_array();
                if (present & 1) json_array_append_new(live_perm, json_string("lambda:InvokeFunctionUrl"));
                if (present & 2) json_array_append_new(live_perm, json_string("lambda:InvokeFunction"));
                aws_drift(dr, "url.permissions",
                          json_pack("[s,s]", "lambda:InvokeFunctionUrl", "lambda:InvokeFunction"),
                          live_perm);
            }
            aws_res_clear(&res);
        }
        if (st == FB_OK && have_w)
            st = aws_triggers_observe(ctx, &creds, w, region, name, dep, dr, diag);
        /* the capacity schedule: the alias, its target and its actions */
        if (st == FB_OK && have_w && l.sched) {
            char *p = fn_path("2015-03-31", name, "/aliases/" WARM_ALIAS);
            aws_req rq;
            aws_res res;
            st = lcall(&c, "GetAlias", "GET", p, NULL, NULL, FB_HTTP_IDEMPOTENT, &rq, &res);
            free(p);
            if (st == FB_OK && res.err != FB_OK && res.err != FB_NOTFOUND)
                st = aws_fail(diag, &rq, &res, NULL);
            if (st == FB_OK)
                aws_drift(dr, "alias", json_string(WARM_ALIAS),
                          res.err == FB_OK ? aws_copy(json_object_get(res.body, "Name")) : NULL);
            aws_res_clear(&res);
            if (st == FB_OK) {
                char *rid = fbk_xasprintf("function:%s:%s", name, WARM_ALIAS);
                st = aws_capacity_observe(ctx, diag, &creds, region, "lambda", rid, PC_DIM, l.sched, dr);
                free(rid);
            }
        }
    }
    if (st == FB_OK) {
        *out = json_pack("{s:s,s:o}", "status", status, "drift", dr);
        if (live) json_object_set(*out, "live", json_object_get(live, "Configuration"));
    } else {
        json_decref(dr);
    }
    json_decref(live);
    json_decref(fns);
    fbk_aws_creds_clear(&creds);
    if (have_w) lam_free(&l);
    return st;
}

/* ---- destroy ------------------------------------------------------------------------------------------ */

fb_status aws_lambda_destroy(aws_ctx *ctx, const json_t *dep, json_t *deleted, fb_diag *diag)
{
    json_t *fns = dep_functions(dep);
    if (json_array_size(fns) == 0) {
        json_decref(fns);
        return FB_OK; /* nothing was ever created */
    }
    fbk_aws_creds creds;
    fb_status st = aws_creds(ctx, diag, aws_str(json_array_get(fns, 0), "region"), &creds);
    size_t i;
    const json_t *f;
    json_array_foreach(fns, i, f) {
        if (st != FB_OK) break;
        const char *name = aws_str(f, "name"), *region = aws_str(f, "region");
        if (!region) region = ctx->n_regions ? ctx->regions[0] : "us-east-1";
        call c = {ctx, diag, &creds, region};
        json_t *live = NULL;
        int found = 0;
        st = get_function(&c, name, &live, &found);
        if (st == FB_OK && found && !tags_ours(json_object_get(live, "Tags"))) {
            fbk_diag(aws_host, diag, FB_SEV_ERROR, NULL,
                     "aws: Lambda function %s in %s is not managed by fedbroker (no "
                     "managed-by=fedbroker tag); not deleting it", name, region);
            st = FB_CONFLICT;
        }
        /* the triggers first (also when the function is gone already):
         * schedules and mappings name it, queues feed them */
        if (st == FB_OK) st = aws_triggers_destroy(ctx, &creds, region, name, dep, deleted, diag);
        /* a capacity schedule's target (Lambda deletes the alias with the
         * function; Application Auto Scaling keeps the target otherwise) */
        const char *pct = aws_str(json_object_get(dep, "state"), "provisionedTarget");
        size_t r;
        const json_t *rec;
        json_array_foreach(json_object_get(dep, "resources"), r, rec)
            if (!pct && aws_str(rec, "type") && !strcmp(aws_str(rec, "type"), "scalable-target"))
                pct = aws_str(rec, "id");
        if (st == FB_OK && pct) {
            st = drop_pc(&c, pct);
            if (st == FB_OK) json_array_append_new(deleted, json_string(pct));
        }
        if (st == FB_OK && found) {
            static const struct {
                const char *op, *version, *suffix;
            } steps[] = {{"DeleteFunctionUrlConfig", "2021-10-31", "/url"},
                         {"DeleteFunction", "2015-03-31", ""}};
            for (size_t k = 0; k < 2 && st == FB_OK; k++) {
                char *p = fn_path(steps[k].version, name, steps[k].suffix);
                aws_req rq;
                aws_res res;
                st = lcall(&c, steps[k].op, "DELETE", p, NULL, NULL, FB_HTTP_IDEMPOTENT, &rq, &res);
                free(p);
                /* gone already is what we want */
                if (st == FB_OK && res.err != FB_OK && res.err != FB_NOTFOUND)
                    st = aws_fail(diag, &rq, &res, NULL);
                aws_res_clear(&res);
            }
        }
        if (st == FB_OK) {
            const char *arn = cfg_str(live, "FunctionArn");
            json_array_append_new(deleted, json_string(arn ? arn : name));
        }
        json_decref(live);
    }
    /* the workload's role (iam.c), once nothing runs as it */
    json_array_foreach(json_object_get(dep, "resources"), i, f) {
        const char *t = aws_str(f, "type"), *id = aws_str(f, "id");
        if (st != FB_OK) break;
        if (!t || strcmp(t, "iam-role") != 0 || !id) continue;
        st = aws_identity_unbind(ctx, diag, &creds, id);
        if (st == FB_OK) json_array_append_new(deleted, json_string(id));
    }
    fbk_aws_creds_clear(&creds);
    json_decref(fns);
    return st;
}

/* ---- discover ------------------------------------------------------------------------------------------ */

fb_status aws_lambda_discover(aws_ctx *ctx, const fbk_aws_creds *creds, const char *region,
                              json_t *resources, fb_diag *diag)
{
    call c = {ctx, diag, creds, region};
    char *marker = NULL;
    fb_status st = FB_OK;
    for (int page = 0; page < 1000 && st == FB_OK; page++) {
        fbk_buf q;
        fbk_buf_init(&q);
        if (marker) {
            fbk_buf_puts(&q, "Marker=");
            fbk_uri_encode(&q, marker, strlen(marker), 0);
            fbk_buf_puts(&q, "&");
        }
        fbk_buf_puts(&q, "MaxItems=50");
        aws_req rq;
        aws_res res;
        st = lcall(&c, "ListFunctions", "GET", "/2015-03-31/functions/", q.data, NULL,
                   FB_HTTP_IDEMPOTENT, &rq, &res);
        fbk_buf_free(&q);
        free(marker);
        marker = NULL;
        if (st == FB_OK && res.err != FB_OK) st = aws_fail(diag, &rq, &res, NULL);
        size_t i;
        const json_t *f;
        json_array_foreach(json_object_get(res.body, "Functions"), i, f) {
            if (st != FB_OK) break;
            const char *arn = aws_str(f, "FunctionArn");
            if (!arn) continue;
            fbk_buf p;
            fbk_buf_init(&p);
            fbk_buf_puts(&p, "/2017-03-31/tags/");
            fbk_uri_encode(&p, arn, strlen(arn), 0);
            aws_req trq;
            aws_res tres;
            st = lcall(&c, "ListTags", "GET", p.data, NULL, NULL, FB_HTTP_IDEMPOTENT, &trq, &tres);
            fbk_buf_free(&p);
            if (st == FB_OK && tres.err != FB_OK) st = aws_fail(diag, &trq, &tres, NULL);
            if (st == FB_OK) {
                const json_t *tags = json_object_get(tres.body, "Tags");
                json_t *r = json_pack("{s:s,s:s,s:s,s:O?,s:b}", "type", "lambda-function", "id",
                                      arn, "region", region, "name",
                                      json_object_get(f, "FunctionName"), "managed",
                                      tags_ours(tags));
                if (aws_str(tags, "workload"))
                    json_object_set(r, "workload", json_object_get(tags, "workload"));
                if (aws_str(tags, "tenant"))
                    json_object_set(r, "tenant", json_object_get(tags, "tenant"));
                /* where a managed function answers: its function URL, if it
                 * has one (docs/driver-abi.md, discover's "endpoints") */
                if (tags_ours(tags) && aws_str(tags, "workload") && aws_str(tags, "tenant")) {
                    char *up = fn_path("2021-10-31", aws_str(f, "FunctionName"), "/url");
                    aws_req urq;
                    aws_res ures;
                    st = lcall(&c, "GetFunctionUrlConfig", "GET", up, NULL, NULL, FB_HTTP_IDEMPOTENT,
                               &urq, &ures);
                    free(up);
                    if (st == FB_OK && ures.err != FB_OK && ures.err != FB_NOTFOUND)
                        st = aws_fail(diag, &urq, &ures, NULL);
                    if (st == FB_OK && ures.err == FB_OK && aws_str(ures.body, "FunctionUrl"))
                        json_object_set_new(r, "endpoints",
                                            json_pack("[{s:O}]", "url",
                                                      json_object_get(ures.body, "FunctionUrl")));
                    aws_res_clear(&ures);
                }
                json_array_append_new(resources, r);
            }
            aws_res_clear(&tres);
        }
        if (st == FB_OK && aws_str(res.body, "NextMarker"))
            marker = fbk_xstrdup(aws_str(res.body, "NextMarker"));
        aws_res_clear(&res);
        if (!marker) break;
    }
    free(marker);
    return st;
}
