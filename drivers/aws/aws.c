/* aws.c - the AWS driver: Lambda (Function) and ECS on Fargate (Container)
 * over their real HTTP APIs, signed with SigV4 by the kit, sent through the
 * host's HTTP service. This file holds the entry point, configuration,
 * offers, credentials, the request helper and the verb dispatch; lambda.c
 * and ecs.c hold the services, usage.c the billing quantities, zip.c the
 * deterministic deployment package. Settings: drivers/aws/README.md. */
#include "config.h"
#include "aws.h"
#include "fbk_verb.h"
#include "base/jsonread.h"
#include "base/jsonwrite.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const fb_host *aws_host;

/* The AWS regions offered when the configuration names none: the regions
 * the catalog prices Lambda in, plus sa-east-1 (Fargate prices). */
static const char *const default_regions[] = {
    "us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-west-2", "eu-central-1",
    "ap-northeast-1", "ap-southeast-1", "ap-southeast-2", "ap-south-1", "sa-east-1",
};

/* ---- small helpers ----------------------------------------------------------- */

const json_t *aws_spec(const json_t *workload)
{
    return json_object_get(workload, "spec");
}

const char *aws_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

json_int_t aws_int(const json_t *o, const char *key, json_int_t dflt)
{
    const json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? json_integer_value(v) : dflt;
}

void aws_drift(json_t *arr, const char *field, json_t *want, json_t *live)
{
    if (!want) want = json_null();
    if (!live) live = json_null();
    if (!json_equal(want, live))
        json_array_append_new(arr, json_pack("{s:s,s:o,s:o}", "field", field, "want", want,
                                             "live", live));
    else {
        json_decref(want);
        json_decref(live);
    }
}

json_t *aws_copy(const json_t *v)
{
    return v ? json_deep_copy(v) : NULL;
}

int aws_region_ok(const aws_ctx *ctx, const char *region)
{
    for (size_t i = 0; region && i < ctx->n_regions; i++)
        if (!strcmp(ctx->regions[i], region)) return 1;
    return 0;
}

char *aws_resource_name(const json_t *workload, size_t max)
{
    const json_t *md = json_object_get(workload, "metadata");
    const char *tenant = aws_str(md, "tenant");
    const char *name = aws_str(md, "name");
    if (!tenant) tenant = "default";
    if (!name) name = "unnamed";
    char *full = fbk_xasprintf("%s-%s", tenant, name);
    if (strlen(full) <= max) return full;
    char *key = fbk_xasprintf("%s/%s", tenant, name);
    char hex[65];
    fbk_sha256_hex(key, strlen(key), hex);
    free(key);
    full[max - 9] = '\0';
    char *out = fbk_xasprintf("%s-%.8s", full, hex);
    free(full);
    return out;
}

json_t *aws_tags(const json_t *workload)
{
    const json_t *md = json_object_get(workload, "metadata");
    json_t *t = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(md, "labels"), k, v) {
        if (json_is_string(v)) json_object_set(t, k, v);
    }
    json_object_set_new(t, "managed-by", json_string("fedbroker"));
    json_object_set_new(t, "workload", json_string(aws_str(md, "name") ? aws_str(md, "name") : ""));
    json_object_set_new(t, "tenant",
                        json_string(aws_str(md, "tenant") ? aws_str(md, "tenant") : "default"));
    json_object_set_new(t, "spec-hash", json_string(aws_str(workload, "specHash")
                                                        ? aws_str(workload, "specHash") : ""));
    return t;
}

void aws_poll_sleep(fb_diag *diag, int attempt)
{
    uint32_t ms = attempt < 3 ? 1000u : attempt < 10 ? 2000u : 5000u;
    aws_host->sleep_ms(diag, ms);
}

fb_status aws_record(fb_diag *diag, const char *type, const char *id, const char *region,
                     const char *name)
{
    if (aws_host->dry_run(diag)) return FB_OK;
    json_t *r = json_pack("{s:s,s:s,s:s}", "type", type, "id", id, "region", region);
    if (name) json_object_set_new(r, "name", json_string(name));
    char *text = fbi_json_write(r, FBI_JSON_WRITE_SORT);
    json_decref(r);
    fb_status st = aws_host->record(diag, text);
    free(text);
    return st;
}

/* ---- endpoints, requests ------------------------------------------------------- */

char *aws_endpoint(aws_ctx *ctx, const char *api, const char *region)
{
    const char *over = !strcmp(api, "lambda") ? ctx->ep_lambda
                     : !strcmp(api, "ecs") ? ctx->ep_ecs
                     : !strcmp(api, "application-autoscaling") ? ctx->ep_aas
                     : !strcmp(api, "scheduler") ? ctx->ep_scheduler
                     : !strcmp(api, "sqs") ? ctx->ep_sqs
                     : !strcmp(api, "elasticloadbalancing") ? ctx->ep_elb
                     : !strcmp(api, "ec2") ? ctx->ep_ec2
                     : !strcmp(api, "secretsmanager") ? ctx->ep_secretsmanager
                     : !strcmp(api, "iam") ? ctx->ep_iam
                     : !strcmp(api, "vpc-lattice") ? ctx->ep_lattice
                     : !strcmp(api, "sts") ? ctx->ep_sts : NULL;
    if (over) {
        size_t n = strlen(over);
        while (n && over[n - 1] == '/') n--;
        return fbk_xstrndup(over, n);
    }
    if (!strcmp(api, "iam")) return fbk_xstrdup("https://iam.amazonaws.com"); /* global */
    return fbk_xasprintf("https://%s.%s.amazonaws.com", api, region);
}

void aws_res_clear(aws_res *r)
{
    json_decref(r->body);
    free(r->code);
    free(r->message);
    memset(r, 0, sizeof *r);
}

/* The X-Amz-Target prefix of a JSON-protocol API, or NULL for REST-JSON;
 * *ctype its Content-Type (SQS speaks JSON 1.0, as its current model says). */
static const char *target_prefix(const char *api, const char **ctype)
{
    *ctype = "application/x-amz-json-1.1";
    if (!strcmp(api, "ecs")) return "AmazonEC2ContainerServiceV20141113";
    if (!strcmp(api, "application-autoscaling")) return "AnyScaleFrontendService";
    if (!strcmp(api, "secretsmanager")) return "secretsmanager";
    *ctype = "application/x-amz-json-1.0";
    if (!strcmp(api, "sqs")) return "AmazonSQS";
    return NULL;
}

fb_status aws_send(aws_ctx *ctx, fb_diag *diag, const fbk_aws_creds *creds, const char *region,
                   const aws_req *rq, aws_res *res)
{
    memset(res, 0, sizeof *res);
    char *base = aws_endpoint(ctx, rq->api, region);
    char *url = fbk_xasprintf("%s%s%s%s", base, rq->path, rq->query ? "?" : "",
                              rq->query ? rq->query : "");
    free(base);
    const char *ctype;
    const char *prefix = target_prefix(rq->api, &ctype);
    char *target = prefix ? fbk_xasprintf("%s.%s", prefix, rq->op) : NULL;
    char *body = rq->body ? fbi_json_write(rq->body, FBI_JSON_WRITE_SORT) : NULL;
    if (prefix && !body) body = fbk_xstrdup("{}");
    fb_http_header h[2];
    size_t nh = 0;
    if (prefix) {
        h[nh++] = (fb_http_header){"Content-Type", ctype};
        h[nh++] = (fb_http_header){"X-Amz-Target", target};
    } else if (body) {
        h[nh++] = (fb_http_header){"Content-Type", "application/json"};
    }
    fbk_http_msg msg = {.method = rq->method, .url = url, .headers = h, .n_headers = nh,
                        .body = body, .body_len = body ? strlen(body) : 0};
    fb_http_response resp;
    fb_status st = fbk_aws_send(aws_host, diag, creds, region, rq->api, 0, &msg, rq->flags, &resp);
    free(url);
    free(target);
    free(body);
    if (st != FB_OK) return st;
    res->status = resp.status;
    if (resp.status == 0) { /* a dry run: recorded, not sent */
        aws_host->http_free(&resp);
        return FB_OK;
    }
    res->err = fbk_aws_error(&resp, &res->code, &res->message);
    if (res->err == FB_OK && resp.body_len) {
        json_error_t je;
        res->body = fbi_json_read(resp.body, resp.body_len, 0, &je);
        if (!res->body) {
            fbk_diag(aws_host, diag, FB_SEV_ERROR, NULL,
                     "aws: %s %s in %s answered HTTP %ld with a body that is not JSON\n%s",
                     rq->api, rq->op, region, resp.status, je.text);
            aws_host->http_free(&resp);
            return FB_INTERNAL;
        }
    }
    aws_host->http_free(&resp);
    return FB_OK;
}

fb_status aws_query(aws_ctx *ctx, fb_diag *diag, const fbk_aws_creds *creds, const char *api,
                    const char *region, const char *version, const char *action, const aws_kv *params,
                    size_t n, uint32_t flags, fbk_xml **x, char **code, char **message, long *status,
                    fb_status *err)
{
    *x = NULL;
    *code = *message = NULL;
    *status = 0;
    *err = FB_OK;
    fbk_buf form;
    fbk_buf_init(&form);
    fbk_buf_printf(&form, "Action=%s", action);
    for (size_t i = 0; i < n; i++) {
        fbk_buf_printf(&form, "&%s=", params[i].k);
        fbk_uri_encode(&form, params[i].v, strlen(params[i].v), 0);
    }
    fbk_buf_printf(&form, "&Version=%s", version);
    char *base = aws_endpoint(ctx, api, region);
    char *url = fbk_xasprintf("%s/", base);
    free(base);
    fb_http_header h[] = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
    fbk_http_msg msg = {.method = "POST", .url = url, .headers = h, .n_headers = 1,
                        .body = form.data, .body_len = form.len};
    fb_http_response resp;
    fb_status st = fbk_aws_send(aws_host, diag, creds, region, api, 0, &msg, flags, &resp);
    free(url);
    fbk_buf_free(&form);
    if (st != FB_OK) return st;
    *status = resp.status;
    if (resp.status == 0) { /* a dry run */
        aws_host->http_free(&resp);
        return FB_OK;
    }
    *err = fbk_aws_error(&resp, code, message);
    if (*err == FB_OK) {
        char *why = NULL;
        if (fbk_xml_parse(resp.body ? resp.body : "", resp.body_len, x, &why) != 0) {
            fbk_diag(aws_host, diag, FB_SEV_ERROR, NULL, "aws: %s %s (%s) answered with XML that cannot be read\n%s",
                     api, action, region, why);
            free(why);
            st = FB_INTERNAL;
        }
    }
    /* answers may carry secrets (STS AssumeRole's keys): the parsed tree
     * is wiped by fbk_xml_free, the raw body here */
    if (resp.body) fbk_wipe(resp.body, resp.body_len);
    aws_host->http_free(&resp);
    return st;
}

fb_status aws_fail(fb_diag *diag, const aws_req *rq, const aws_res *res, const char *what_to_do)
{
    fbk_diag(aws_host, diag, FB_SEV_ERROR, NULL, "aws: %s %s failed: HTTP %ld %s%s%s%s%s",
             rq->api, rq->op, res->status, res->code ? res->code : "",
             res->message ? ": " : "", res->message ? res->message : "",
             what_to_do ? "\n" : "", what_to_do ? what_to_do : "");
    return res->err != FB_OK ? res->err : FB_INTERNAL;
}

/* ---- credentials ----------------------------------------------------------------- */

/* AssumeRole with base credentials: settings.role_arn on top of the chain. */
static fb_status assume_role(aws_ctx *ctx, fb_diag *diag, const char *region,
                             const fbk_aws_creds *base, fbk_aws_creds *out)
{
    if (aws_host->dry_run(diag)) {
        fbk_diag(aws_host, diag, FB_SEV_ERROR, NULL,
                 "aws: settings.role_arn needs an STS AssumeRole call, which a dry run does not send\n"
                 "Run the dry run with the role's credentials in the environment "
                 "(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) and without role_arn.");
        return FB_AUTH;
    }
    const aws_kv params[] = {{"DurationSeconds", "3600"}, {"RoleArn", ctx->role_arn},
                             {"RoleSessionName", "fedbroker"}};
    fbk_xml *x = NULL;
    char *code = NULL, *message = NULL;
    long status;
    fb_status err;
    fb_status st = aws_query(ctx, diag, base, "sts", region, "2011-06-15", "AssumeRole", params, 3,
                             FB_HTTP_IDEMPOTENT, &x, &code, &message, &status, &err);
    if (st != FB_OK) return st;
    if (err != FB_OK) {
        fbk_diag(aws_host, diag, FB_SEV_ERROR, NULL,
                 "aws: STS AssumeRole of %s (settings.role_arn) failed: HTTP %ld %s%s%s\n"
                 "The base credentials came from %s; check that they may assume the role.",
                 ctx->role_arn, status, code ? code : "", message ? ": " : "",
                 message ? message : "", base->source ? base->source : "the credential chain");
        free(code);
        free(message);
        return err == FB_NOTFOUND || err == FB_INVALID || err == FB_CONFLICT ? FB_AUTH : err;
    }
    const char *p = "AssumeRoleResponse/AssumeRoleResult/Credentials/";
    char path[128];
    snprintf(path, sizeof path, "%sAccessKeyId", p);
    const char *ak = fbk_xml_text(x, path);
    snprintf(path, sizeof path, "%sSecretAccessKey", p);
    const char *sk = fbk_xml_text(x, path);
    snprintf(path, sizeof path, "%sSessionToken", p);
    const char *tok = fbk_xml_text(x, path);
    snprintf(path, sizeof path, "%sExpiration", p);
    const char *exp = fbk_xml_text(x, path);
    int64_t t = 0;
    if (!ak || !sk || !tok || !exp || fbk_parse_rfc3339(exp, &t) != 0) {
        fbk_xml_free(x);
        fbk_diag(aws_host, diag, FB_SEV_ERROR, NULL,
                 "aws: STS AssumeRole answered without complete credentials");
        return FB_INTERNAL;
    }
    memset(out, 0, sizeof *out);
    out->access_key_id = fbk_xstrdup(ak);
    out->secret_access_key = fbk_xstrdup(sk);
    out->session_token = fbk_xstrdup(tok);
    out->expiration = t;
    out->source = fbk_xasprintf("AssumeRole %s (from %s)", ctx->role_arn,
                                base->source ? base->source : "the credential chain");
    fbk_xml_free(x);
    return FB_OK;
}

static void creds_copy(fbk_aws_creds *dst, const fbk_aws_creds *src)
{
    memset(dst, 0, sizeof *dst);
    dst->access_key_id = fbk_xstrdup(src->access_key_id);
    dst->secret_access_key = fbk_xstrdup(src->secret_access_key);
    dst->session_token = src->session_token ? fbk_xstrdup(src->session_token) : NULL;
    dst->expiration = src->expiration;
    dst->source = src->source ? fbk_xstrdup(src->source) : NULL;
}

fb_status aws_creds(aws_ctx *ctx, fb_diag *diag, const char *region, fbk_aws_creds *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&ctx->mu);
    int64_t now = aws_host->now();
    if (ctx->creds.access_key_id &&
        (ctx->creds.expiration == 0 || now < ctx->creds.expiration - 300)) {
        creds_copy(out, &ctx->creds);
        pthread_mutex_unlock(&ctx->mu);
        return FB_OK;
    }
    fbk_aws_creds_clear(&ctx->creds);
    char *sts = ctx->ep_sts ? aws_endpoint(ctx, "sts", region) : NULL;
    fbk_aws_creds_opts opts = {.profile = ctx->profile, .region = region, .sts_endpoint = sts};
    fbk_aws_creds base;
    fb_status st = fbk_aws_creds_resolve(aws_host, diag, &opts, &base);
    free(sts);
    if (st == FB_OK && ctx->role_arn) {
        fbk_aws_creds assumed;
        st = assume_role(ctx, diag, region, &base, &assumed);
        fbk_aws_creds_clear(&base);
        if (st == FB_OK) base = assumed;
    }
    if (st == FB_OK) {
        ctx->creds = base;
        creds_copy(out, &ctx->creds);
    }
    pthread_mutex_unlock(&ctx->mu);
    return st;
}

/* ---- configure ------------------------------------------------------------------- */

static int region_name_ok(const char *r)
{
    /* e.g. us-east-1, us-gov-west-1, ap-southeast-2 */
    size_t n = strlen(r);
    if (n < 9 || n > 25) return 0;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)r[i]) && !isdigit((unsigned char)r[i]) && r[i] != '-') return 0;
    return isdigit((unsigned char)r[n - 1]) && r[n - 2] == '-' && islower((unsigned char)r[0]);
}

static int role_arn_ok(const char *s)
{
    /* arn:aws[-partition]:iam::<12 digits>:role/<name> */
    if (strncmp(s, "arn:aws", 7) != 0) return 0;
    const char *p = strstr(s, ":iam::");
    if (!p) return 0;
    p += 6;
    for (int i = 0; i < 12; i++, p++)
        if (!isdigit((unsigned char)*p)) return 0;
    return !strncmp(p, ":role/", 6) && p[6] != '\0';
}

static void ctx_free(aws_ctx *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n_regions; i++) free(c->regions[i]);
    free(c->regions);
    free(c->profile);
    free(c->role_arn);
    free(c->ep_lambda);
    free(c->ep_ecs);
    free(c->ep_aas);
    free(c->ep_sts);
    free(c->ep_scheduler);
    free(c->ep_sqs);
    free(c->ep_secretsmanager);
    free(c->ep_iam);
    free(c->ep_elb);
    free(c->ep_ec2);
    free(c->lambda_role);
    free(c->scheduler_role);
    free(c->account_id);
    free(c->cluster);
    json_decref(c->subnets);
    json_decref(c->security_groups);
    free(c->execution_role);
    free(c->task_role);
    free(c->target_group);
    free(c->alb_resource_label);
    free(c->lattice_network);
    free(c->lattice_vpc);
    free(c->lattice_role);
    free(c->ep_lattice);
    fbk_aws_creds_clear(&c->creds);
    fbk_input_cache_free(c->inputs);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* Reads an optional string setting; wrong type is an error. */
static int opt_str(fb_diag *d, const json_t *o, const char *key, const char *ptr, char **out)
{
    const json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v) return 0;
    if (!json_is_string(v) || !*json_string_value(v)) {
        fbk_diag(aws_host, d, FB_SEV_ERROR, ptr, "aws: setting %s must be a non-empty string", ptr);
        return -1;
    }
    *out = fbk_xstrdup(json_string_value(v));
    return 0;
}

/* Reads an optional array of non-empty strings (new reference, [] when absent). */
static int opt_strings(fb_diag *d, const json_t *o, const char *key, const char *ptr, json_t **out)
{
    const json_t *v = json_object_get(o, key);
    *out = json_array();
    if (!v) return 0;
    size_t i;
    const json_t *s;
    if (!json_is_array(v)) goto bad;
    json_array_foreach(v, i, s) {
        if (!json_is_string(s) || !*json_string_value(s)) goto bad;
        json_array_append(*out, (json_t *)s);
    }
    return 0;
bad:
    fbk_diag(aws_host, d, FB_SEV_ERROR, ptr, "aws: setting %s must be an array of strings", ptr);
    return -1;
}

/* Unknown keys are errors (a misspelt setting would silently do nothing). */
static int known_keys(fb_diag *d, const json_t *o, const char *ptr, const char *const *keys)
{
    const char *k;
    json_t *v;
    int bad = 0;
    json_object_foreach((json_t *)o, k, v) {
        int ok = 0;
        for (size_t i = 0; keys[i]; i++)
            if (!strcmp(k, keys[i])) ok = 1;
        if (!ok) {
            fbk_buf b;
            fbk_buf_init(&b);
            for (size_t i = 0; keys[i]; i++) fbk_buf_printf(&b, "%s%s", i ? ", " : "", keys[i]);
            fbk_diag(aws_host, d, FB_SEV_ERROR, ptr, "aws: unknown setting %s/%s\nknown: %s", ptr,
                     k, b.data);
            fbk_buf_free(&b);
            bad = 1;
        }
    }
    return bad ? -1 : 0;
}

static fb_status aws_configure(const fb_host *h, const char *config_json, fb_driver_ctx **out,
                               fb_diag *diag)
{
    (void)h;
    *out = NULL;
    json_t *cfg;
    fb_status st = fbk_json_in(aws_host, diag, "aws configuration", config_json, &cfg);
    if (st != FB_OK) return st;
    json_t *s = json_object_get(cfg, "settings");
    s = s ? json_incref(s) : json_object();
    aws_ctx *c = fbk_xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    c->inputs = fbk_input_cache_new();
    c->assign_public_ip = -1;
    c->cpu_target = 60;
    int bad = 0;
    if (!json_is_object(s)) {
        fbk_diag(aws_host, diag, FB_SEV_ERROR, "/drivers/aws", "aws: settings must be an object");
        bad = 1;
        goto done;
    }
    static const char *const top[] = {"regions", "profile", "role_arn", "endpoints", "lambda",
                                      "ecs", "accountId", "scheduler", NULL};
    static const char *const ep_keys[] = {"lambda", "ecs", "application-autoscaling", "sts",
                                          "scheduler", "sqs", "secretsmanager", "iam",
                                          "elasticloadbalancing", "vpc-lattice", "ec2", NULL};
    static const char *const lam_keys[] = {"role", NULL};
    static const char *const ecs_keys[] = {"cluster", "subnets", "securityGroups", "assignPublicIp",
                                           "executionRoleArn", "taskRoleArn", "targetGroupArn",
                                           "albResourceLabel", "targetCpuPercent", "vpcLattice", NULL};
    bad |= known_keys(diag, s, "/drivers/aws", top) != 0;
    /* regions */
    json_t *regions = json_object_get(s, "regions");
    if (!regions) regions = json_object_get(cfg, "regions");
    if (regions && json_array_size(regions) > 0) {
        size_t i;
        json_t *r;
        c->regions = fbk_xcalloc(json_array_size(regions), sizeof *c->regions);
        json_array_foreach(regions, i, r) {
            const char *rs = json_string_value(r);
            if (!rs || !region_name_ok(rs)) {
                fbk_diag(aws_host, diag, FB_SEV_ERROR, "/drivers/aws/regions",
                         "aws: regions[%zu] is not an AWS region name such as us-east-1", i);
                bad = 1;
                continue;
            }
            c->regions[c->n_regions++] = fbk_xstrdup(rs);
        }
    } else if (regions && !json_is_array(regions)) {
        fbk_diag(aws_host, diag, FB_SEV_ERROR, "/drivers/aws/regions",
                 "aws: regions must be an array of region names");
        bad = 1;
    } else {
        size_t n = sizeof default_regions / sizeof *default_regions;
        c->regions = fbk_xcalloc(n, sizeof *c->regions);
        for (size_t i = 0; i < n; i++) c->regions[c->n_regions++] = fbk_xstrdup(default_regions[i]);
    }
    bad |= opt_str(diag, s, "profile", "/drivers/aws/profile", &c->profile) != 0;
    bad |= opt_str(diag, s, "role_arn", "/drivers/aws/role_arn", &c->role_arn) != 0;
    bad |= opt_str(diag, s, "accountId", "/drivers/aws/accountId", &c->account_id) != 0;
    if (c->role_arn && !role_arn_ok(c->role_arn)) {
        fbk_diag(aws_host, diag, FB_SEV_ERROR, "/drivers/aws/role_arn",
                 "aws: role_arn is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)");
        bad = 1;
    }
    if (c->account_id && (strlen(c->account_id) != 12 ||
                          strspn(c->account_id, "0123456789") != 12)) {
        fbk_diag(aws_host, diag, FB_SEV_ERROR, "/drivers/aws/accountId",
                 "aws: accountId must be the 12-digit AWS account id");
        bad = 1;
    }
    json_t *ep = json_object_get(s, "endpoints");
    if (ep && !json_is_object(ep)) {
        fbk_diag(aws_host, diag, FB_SEV_ERROR, "/drivers/aws/endpoints",
                 "aws: endpoints must be an object of service -> URL");
        bad = 1;
    } else if (ep) {
        bad |= known_keys(diag, ep, "/drivers/aws/endpoints", ep_keys) != 0;
        char **slots[] = {&c->ep_lambda, &c->ep_ecs, &c->ep_aas, &c->ep_sts, &c->ep_scheduler,
                          &c->ep_sqs, &c->ep_secretsmanager, &c->ep_iam, &c->ep_elb,
                          &c->ep_lattice, &c->ep_ec2};
        for (size_t i = 0; i < sizeof slots / sizeof *slots; i++) {
            char ptr[96];
            snprintf(ptr, sizeof ptr, "/drivers/aws/endpoints/%s", ep_keys[i]);
            bad |= opt_str(diag, ep, ep_keys[i], ptr, slots[i]) != 0;
            const char *why = *slots[i] ? fbk_endpoint_problem(*slots[i]) : NULL;
            if (why) {
                fbk_diag(aws_host, diag, FB_SEV_ERROR, ptr,
                         "aws: setting %s must be an http:// or https:// URL: %s", ptr, why);
                bad = 1;
            }
        }
    }
    json_t *lam = json_object_get(s, "lambda");
    if (lam && !json_is_object(lam)) {
        fbk_diag(aws_host, diag, FB_SEV_ERROR, "/drivers/aws/lambda", "aws: lambda must be an object");
        bad = 1;
    } else if (lam) {
        bad |= known_keys(diag, lam, "/drivers/aws/lambda", lam_keys) != 0;
        bad |= opt_str(diag, lam, "role", "/drivers/aws/lambda/role", &c->lambda_role) != 0;
        if (c->lambda_role && !role_arn_ok(c->lambda_role)) {
            fbk_diag(aws_host, diag, FB_SEV_ERROR, "/drivers/aws/lambda/role",
                     "aws: lambda.role is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)");
            bad = 1;
        }
    }
    /* scheduler.role: the role EventBridge Scheduler assumes to invoke a
     * scheduled function (it needs lambda:InvokeFunction on it) */
    json_t *sch = json_object_get(s, "scheduler");
    if (sch && !json_is_object(sch)) {
        fbk_diag(aws_host, diag, FB_SEV_ERROR, "/drivers/aws/scheduler",
                 "aws: scheduler must be an object");
        bad = 1;
    } else if (sch) {
        bad |= known_keys(diag, sch, "/drivers/aws/scheduler", lam_keys) != 0;
        bad |= opt_str(diag, sch, "role", "/drivers/aws/scheduler/role", &c->scheduler_role) != 0;
        if (c->scheduler_role && !role_arn_ok(c->scheduler_role)) {
            fbk_diag(aws_host, diag, FB_SEV_ERROR, "/drivers/aws/scheduler/role",
                     "aws: scheduler.role is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)");
            bad = 1;
        }
    }
    json_t *ecs = json_object_get(s, "ecs");
    if (ecs && !json_is_object(ecs)) {
        fbk_diag(aws_host, diag, FB_SEV_ERROR, "/drivers/aws/ecs", "aws: ecs must be an object");
        bad = 1;
    } else {
        if (ecs) bad |= known_keys(diag, ecs, "/drivers/aws/ecs", ecs_keys) != 0;
        bad |= opt_str(diag, ecs, "cluster", "/drivers/aws/ecs/cluster", &c->cluster) != 0;
        bad |= opt_strings(diag, ecs, "subnets", "/drivers/aws/ecs/subnets", &c->subnets) != 0;
        bad |= opt_strings(diag, ecs, "securityGroups", "/drivers/aws/ecs/securityGroups",
                           &c->security_groups) != 0;
        bad |= opt_str(diag, ecs, "executionRoleArn", "/drivers/aws/ecs/executionRoleArn",
                       &c->execution_role) != 0;
        bad |= opt_str(diag, ecs, "taskRoleArn", "/drivers/aws/ecs/taskRoleArn", &c->task_role) != 0;
        bad |= opt_str(diag, ecs, "targetGroupArn", "/drivers/aws/ecs/targetGroupArn",
                       &c->target_group) != 0;
        bad |= opt_str(diag, ecs, "albResourceLabel", "/drivers/aws/ecs/albResourceLabel",
                       &c->alb_resource_label) != 0;
        json_t *ap = json_object_get(ecs, "assignPublicIp");
        if (ap && !json_is_boolean(ap)) {
            fbk_diag(aws_host, diag, FB_SEV_ERROR, "/drivers/aws/ecs/assignPublicIp",
                     "aws: ecs.assignPublicIp must be true or false");
            bad = 1;
        } else if (ap) {
            c->assign_public_ip = json_is_true(ap);
        }
        /* caller grants on Fargate through VPC Lattice (lattice.c): opt-in,
         * since it joins the user's service network and VPC */
        json_t *vl = json_object_get(ecs, "vpcLattice");
        static const char *const vl_keys[] = {"serviceNetwork", "vpcId", "roleArn", NULL};
        if (vl && !json_is_object(vl)) {
            fbk_diag(aws_host, diag, FB_SEV_ERROR, "/drivers/aws/ecs/vpcLattice",
                     "aws: ecs.vpcLattice must be an object {\"serviceNetwork\": \"sn-...\", \"vpcId\": "
                     "\"vpc-...\", \"roleArn\": \"arn:aws:iam::ACCOUNT:role/ECS-infrastructure-role\"}");
            bad = 1;
        } else if (vl) {
            bad |= known_keys(diag, vl, "/drivers/aws/ecs/vpcLattice", vl_keys) != 0;
            bad |= opt_str(diag, vl, "serviceNetwork", "/drivers/aws/ecs/vpcLattice/serviceNetwork",
                           &c->lattice_network) != 0;
            bad |= opt_str(diag, vl, "vpcId", "/drivers/aws/ecs/vpcLattice/vpcId", &c->lattice_vpc) != 0;
            bad |= opt_str(diag, vl, "roleArn", "/drivers/aws/ecs/vpcLattice/roleArn", &c->lattice_role) != 0;
            const char *why = !c->lattice_network || strncmp(c->lattice_network, "sn-", 3) != 0
                                  ? "serviceNetwork must be a service network id (sn-...)"
                              : !c->lattice_vpc || strncmp(c->lattice_vpc, "vpc-", 4) != 0
                                  ? "vpcId must be the tasks' VPC id (vpc-...)"
                              : !c->lattice_role || !role_arn_ok(c->lattice_role)
                                  ? "roleArn must be the ECS infrastructure role's ARN (arn:aws:iam::ACCOUNT:role/NAME), "
                                    "a role ECS assumes to register the tasks (AmazonECSInfrastructureRolePolicyForVpcLattice)"
                                  : NULL;
            if (why) {
                fbk_diag(aws_host, diag, FB_SEV_ERROR, "/drivers/aws/ecs/vpcLattice", "aws: ecs.vpcLattice: %s", why);
                bad = 1;
            }
        }
        json_t *ct = json_object_get(ecs, "targetCpuPercent");
        if (ct && (!json_is_integer(ct) || json_integer_value(ct) < 10 ||
                   json_integer_value(ct) > 90)) {
            fbk_diag(aws_host, diag, FB_SEV_ERROR, "/drivers/aws/ecs/targetCpuPercent",
                     "aws: ecs.targetCpuPercent must be an integer from 10 to 90");
            bad = 1;
        } else if (ct) {
            c->cpu_target = (int)json_integer_value(ct);
        }
        if (!c->cluster) c->cluster = fbk_xstrdup("default");
    }
done:
    json_decref(s);
    json_decref(cfg);
    if (bad) {
        ctx_free(c);
        return FB_INVALID;
    }
    *out = c;
    return FB_OK;
}

static void aws_teardown(fb_driver_ctx *ctx)
{
    ctx_free(ctx);
}

/* ---- offers ------------------------------------------------------------------------- */

static fb_status aws_offers(fb_driver_ctx *ctx, char **out, fb_diag *diag)
{
    json_t *offers = json_array();
    /* "triggers": what apply wires (docs/driver-abi.md): Lambda function
     * URLs, SQS event source mappings, EventBridge Scheduler schedules;
     * Fargate serves its ports only. */
    for (size_t i = 0; i < ctx->n_regions; i++) {
        json_array_append_new(offers, json_pack("{s:s,s:s,s:s,s:[s,s],s:b,s:b,s:I,s:I,s:[s,s,s]}",
                                                "kind", "Function", "service", "lambda", "region",
                                                ctx->regions[i], "arch", "x86_64", "arm64",
                                                "scaleToZero", 1, "publicHttp", 1,
                                                "maxMemoryMiB", (json_int_t)10240,
                                                "maxTimeoutMs", (json_int_t)900000, "triggers",
                                                "http", "queue", "schedule"));
        json_array_append_new(offers, json_pack("{s:s,s:s,s:s,s:[s,s],s:b,s:b,s:I,s:I,s:[s]}",
                                                "kind", "Container", "service", "fargate",
                                                "region", ctx->regions[i], "arch", "x86_64",
                                                "arm64", "scaleToZero", 0, "publicHttp", 1,
                                                "maxMemoryMiB", (json_int_t)122880,
                                                "maxCpuMillis", (json_int_t)16000, "triggers",
                                                "http"));
    }
    json_t *o = json_pack("{s:o}", "offers", offers);
    fb_status st = fbk_json_out(aws_host, diag, o, out);
    json_decref(o);
    return st;
}

/* ---- validate / render ----------------------------------------------------------------- */

/* Parses {"workload", "placement"} and checks the envelope. *in is new. */
/* The workload and placement of an input already read (borrowed from
 * in). */
static fb_status read_wp(fb_diag *diag, const json_t *in, const json_t **w, const json_t **p,
                         const char **kind)
{
    *w = json_object_get(in, "workload");
    *p = json_object_get(in, "placement");
    if (!json_is_object(*w) || !json_is_object(json_object_get(*w, "spec"))) {
        fbk_diag(aws_host, diag, FB_SEV_ERROR, NULL,
                 "aws: the input has no \"workload\" object with a \"spec\"\n"
                 "pass {\"workload\": <normal form>, \"placement\": {...}}");
        return FB_INVALID;
    }
    /* secret://NAME: the broker's portable secrets, copied at apply into
     * Secrets Manager as fedbroker/TENANT/WORKLOAD/NAME ('/' is in no
     * tenant, workload or secret name; ecs.c materialises it). The
     * one change made to the input: idempotent (fbk_verb.h), so an input
     * fbk_evaluate shares between placements is mapped once */
    if (fbk_map_portable_secrets(aws_host, diag, (json_t *)in, "aws-sm://fedbroker/%t/%w/%n",
                                 "AWS Secrets Manager", 1) != 0)
        return FB_INVALID;
    *kind = aws_str(*w, "kind");
    if (!*kind || (strcmp(*kind, "Function") && strcmp(*kind, "Container"))) {
        fbk_diag(aws_host, diag, FB_SEV_ERROR, "/kind",
                 "aws: cannot run a %s\nthe aws driver runs Function (Lambda) and Container "
                 "(ECS on Fargate)", *kind ? *kind : "workload without a kind");
        return FB_INVALID;
    }
    if (!aws_str(json_object_get(*w, "metadata"), "name")) {
        fbk_diag(aws_host, diag, FB_SEV_ERROR, "/metadata/name", "aws: the workload has no name");
        return FB_INVALID;
    }
    return FB_OK;
}

static fb_status parse_wp(fb_diag *diag, const char *in_json, json_t **in, const json_t **w,
                          const json_t **p, const char **kind)
{
    fb_status st = fbk_json_in(aws_host, diag, "input", in_json, in);
    if (st != FB_OK) return st;
    st = read_wp(diag, *in, w, p, kind);
    if (st != FB_OK) {
        json_decref(*in);
        *in = NULL;
    }
    return st;
}

/* The region check every kind shares. */
static int check_region(aws_ctx *ctx, const json_t *p, const char *kind, fb_diag *diag)
{
    const char *region = aws_str(p, "region");
    const char *service = aws_str(p, "service");
    int bad = 0;
    if (!aws_region_ok(ctx, region)) {
        fbk_buf b;
        fbk_buf_init(&b);
        for (size_t i = 0; i < ctx->n_regions; i++)
            fbk_buf_printf(&b, "%s%s", i ? ", " : "", ctx->regions[i]);
        fbk_diag(aws_host, diag, FB_SEV_ERROR, NULL,
                 "aws: region %s is not offered by this driver\nconfigured regions: %s "
                 "(add it to drivers.aws.regions to use it)", region ? region : "(none)", b.data);
        fbk_buf_free(&b);
        bad = 1;
    }
    const char *want = !strcmp(kind, "Function") ? "lambda" : "fargate";
    if (service && strcmp(service, want) != 0) {
        fbk_diag(aws_host, diag, FB_SEV_ERROR, NULL,
                 "aws: a %s runs on service %s, not %s", kind, want, service);
        bad = 1;
    }
    return bad;
}

static fb_status check_all(aws_ctx *ctx, const json_t *w, const json_t *p, const char *kind,
                           int checks, fb_diag *diag)
{
    int bad = check_region(ctx, p, kind, diag);
    fb_status st = !strcmp(kind, "Function") ? aws_lambda_validate(ctx, w, p, checks, diag)
                                             : aws_ecs_validate(ctx, w, p, checks, diag);
    if (st == FB_OK && bad) st = FB_INVALID;
    return st;
}

/* validate's "mode": plan and render check the workload against AWS's
 * rules only; dry-run and apply (and an input without a mode) also check
 * the deployment settings and that credentials can be found. */
static fb_status aws_validate_in(fb_driver_ctx *ctx, json_t *in, fb_diag *diag)
{
    const json_t *w, *p;
    const char *kind;
    fb_status st = read_wp(diag, in, &w, &p, &kind);
    if (st != FB_OK) return st;
    const char *mode = aws_str(in, "mode");
    int plan = mode && !strcmp(mode, "plan"), render = mode && !strcmp(mode, "render");
    int dry = mode && !strcmp(mode, "dry-run");
    int checks = plan ? 0 : render ? AWS_CHECK_WARN | AWS_CHECK_SHOWN
                                   : AWS_CHECK_WARN | AWS_CHECK_DEPLOY | (dry ? AWS_CHECK_SHOWN : 0);
    if (json_is_object(json_object_get(in, "identity"))) checks |= AWS_CHECK_IDENTITY;
    st = check_all(ctx, w, p, kind, checks, diag);
    if (st == FB_OK && (checks & AWS_CHECK_DEPLOY)) {
        fbk_aws_creds creds;
        st = aws_creds(ctx, diag, aws_str(p, "region"), &creds);
        fbk_aws_creds_clear(&creds);
    }
    return st;
}

static fb_status aws_validate(fb_driver_ctx *ctx, const char *in_json, fb_diag *diag)
{
    json_t *in;
    fb_status st = fbk_json_in(aws_host, diag, "input", in_json, &in);
    if (st != FB_OK) return st;
    st = aws_validate_in(ctx, in, diag);
    /* the apply that follows gets the same text: it takes this parse
     * (validate changed it only by the idempotent secret mapping) */
    const char *mode = aws_str(in, "mode");
    if (st == FB_OK && mode && (!strcmp(mode, "apply") || !strcmp(mode, "dry-run")))
        fbk_input_cache_put(ctx->inputs, in_json, in);
    else
        json_decref(in);
    return st;
}

static fb_status aws_render(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *diag)
{
    json_t *in;
    const json_t *w, *p;
    const char *kind;
    fb_status st = parse_wp(diag, in_json, &in, &w, &p, &kind);
    if (st != FB_OK) return st;
    st = check_all(ctx, w, p, kind, 0, diag);
    json_t *docs = NULL;
    if (st == FB_OK)
        st = !strcmp(kind, "Function") ? aws_lambda_documents(ctx, w, p, &docs, diag)
                                       : aws_ecs_documents(ctx, w, p, &docs, diag);
    if (st == FB_OK) {
        json_t *o = json_pack("{s:o}", "documents", docs);
        st = fbk_json_out(aws_host, diag, o, out);
        json_decref(o);
    }
    json_decref(in);
    return st;
}

/* ---- apply / observe / destroy / discover ------------------------------------------------- */

static fb_status aws_apply(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *diag)
{
    json_t *in = in_json ? fbk_input_cache_take(ctx->inputs, in_json) : NULL;
    const json_t *w, *p;
    const char *kind;
    fb_status st;
    if (in) { /* validate parsed these bytes: its value, checked again below */
        st = read_wp(diag, in, &w, &p, &kind);
        if (st != FB_OK) {
            json_decref(in);
            return st;
        }
    } else {
        st = parse_wp(diag, in_json, &in, &w, &p, &kind);
        if (st != FB_OK) return st;
    }
    st = check_all(ctx, w, p, kind, AWS_CHECK_DEPLOY, diag);
    json_t *result = NULL;
    if (st == FB_OK)
        st = !strcmp(kind, "Function") ? aws_lambda_apply(ctx, in, &result, diag)
                                       : aws_ecs_apply(ctx, in, &result, diag);
    if (st == FB_OK) st = fbk_json_out(aws_host, diag, result, out);
    json_decref(result);
    json_decref(in);
    return st;
}

/* Which service a deployment is on: its "service", else its records. */
static const char *dep_service(const json_t *dep)
{
    const char *s = aws_str(dep, "service");
    if (s) return s;
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(dep, "resources"), i, r) {
        const char *t = aws_str(r, "type");
        /* a function's triggers: scheduler-schedule, sqs-queue, lambda-event-source-mapping */
        if (t && (!strncmp(t, "lambda", 6) || !strncmp(t, "scheduler", 9) || !strncmp(t, "sqs", 3)))
            return "lambda";
        if (t && (!strncmp(t, "ecs", 3) || !strncmp(t, "scal", 4))) return "fargate";
    }
    return NULL;
}

static fb_status parse_dep(fb_diag *diag, const char *in_json, json_t **in, const json_t **dep,
                           const char **service)
{
    fb_status st = fbk_json_in(aws_host, diag, "input", in_json, in);
    if (st != FB_OK) return st;
    *dep = json_object_get(*in, "deployment");
    *service = json_is_object(*dep) ? dep_service(*dep) : NULL;
    if (!*service || (strcmp(*service, "lambda") && strcmp(*service, "fargate"))) {
        fbk_diag(aws_host, diag, FB_SEV_ERROR, NULL,
                 "aws: the input has no deployment on lambda or fargate\n"
                 "pass {\"deployment\": {\"service\": \"lambda\"|\"fargate\", \"region\", "
                 "\"state\", \"resources\"}}");
        json_decref(*in);
        *in = NULL;
        return FB_INVALID;
    }
    return FB_OK;
}

static fb_status aws_observe(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *diag)
{
    json_t *in;
    const json_t *dep;
    const char *service;
    fb_status st = parse_dep(diag, in_json, &in, &dep, &service);
    if (st != FB_OK) return st;
    json_t *result = NULL;
    st = !strcmp(service, "lambda") ? aws_lambda_observe(ctx, in, &result, diag)
                                    : aws_ecs_observe(ctx, in, &result, diag);
    if (st == FB_OK) st = fbk_json_out(aws_host, diag, result, out);
    json_decref(result);
    json_decref(in);
    return st;
}

static fb_status aws_destroy(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *diag)
{
    json_t *in;
    const json_t *dep;
    const char *service;
    fb_status st = parse_dep(diag, in_json, &in, &dep, &service);
    if (st != FB_OK) return st;
    json_t *deleted = json_array();
    st = !strcmp(service, "lambda") ? aws_lambda_destroy(ctx, dep, deleted, diag)
                                    : aws_ecs_destroy(ctx, dep, deleted, diag);
    if (st == FB_OK) {
        json_t *o = json_pack("{s:O}", "deleted", deleted);
        st = fbk_json_out(aws_host, diag, o, out);
        json_decref(o);
    }
    json_decref(deleted);
    json_decref(in);
    return st;
}

static fb_status aws_discover(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *diag)
{
    json_t *in;
    fb_status st = fbk_json_in(aws_host, diag, "input", in_json ? in_json : "{}", &in);
    if (st != FB_OK) return st;
    json_t *regions = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(in, "regions"), i, r) {
        if (json_is_string(r)) json_array_append(regions, r);
    }
    if (json_array_size(regions) == 0)
        for (size_t k = 0; k < ctx->n_regions; k++)
            json_array_append_new(regions, json_string(ctx->regions[k]));
    json_t *resources = json_array();
    fbk_aws_creds creds;
    st = aws_creds(ctx, diag, json_string_value(json_array_get(regions, 0)), &creds);
    json_array_foreach(regions, i, r) {
        if (st != FB_OK) break;
        const char *region = json_string_value(r);
        st = aws_lambda_discover(ctx, &creds, region, resources, diag);
        if (st == FB_OK) st = aws_triggers_discover(ctx, &creds, region, resources, diag);
        if (st == FB_OK) st = aws_ecs_discover(ctx, &creds, region, resources, diag);
        if (st == FB_OK) st = aws_lattice_discover(ctx, &creds, region, resources, diag);
    }
    /* IAM is global: the workloads' roles once, when the broker is an issuer */
    if (st == FB_OK && json_is_object(json_object_get(in, "identity")))
        st = aws_identity_discover(ctx, &creds, resources, diag);
    fbk_aws_creds_clear(&creds);
    if (st == FB_OK) {
        json_t *o = json_pack("{s:O}", "resources", resources);
        st = fbk_json_out(aws_host, diag, o, out);
        json_decref(o);
    }
    json_decref(resources);
    json_decref(regions);
    json_decref(in);
    return st;
}

static fb_status aws_usage_in(fb_driver_ctx *ctx, json_t *in, json_t **usage, fb_diag *diag)
{
    const json_t *w, *p;
    const char *kind;
    fb_status st = read_wp(diag, in, &w, &p, &kind);
    if (st != FB_OK) return st;
    return aws_usage(ctx, in, usage, diag);
}

static fb_status aws_usage_verb(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *diag)
{
    json_t *in;
    fb_status st = fbk_json_in(aws_host, diag, "input", in_json, &in);
    if (st != FB_OK) return st;
    json_t *result = NULL;
    st = aws_usage_in(ctx, in, &result, diag);
    if (st == FB_OK) st = fbk_json_out(aws_host, diag, result, out);
    json_decref(result);
    json_decref(in);
    return st;
}

/* validate then usage (fbk_eval_ops.validate_usage). aws_usage reads
 * the input's workload and hoursPerMonth only (not the placement: Lambda
 * and Fargate are priced the same way in every region, the region's
 * prices are the broker's) and adds a diagnostic only when it fails, so
 * every placement of one evaluate call that validate passes gets the same
 * document: made once, then shared (a failure is not kept, so each
 * placement reports its own). */
static fb_status aws_validate_usage_in(fb_driver_ctx *ctx, json_t *in, json_t **usage, int *refused,
                                       fbk_eval_memo *memo, fb_diag *diag)
{
    fb_status st = aws_validate_in(ctx, in, diag);
    *refused = st != FB_OK;
    if (st != FB_OK) return st;
    if ((*usage = fbk_eval_memo_get(memo, "usage"))) return FB_OK;
    st = aws_usage_in(ctx, in, usage, diag);
    if (st == FB_OK) fbk_eval_memo_put(memo, "usage", *usage);
    return st;
}

/* validate then usage on every placement of one workload (ABI 1.2). */
static const fbk_eval_ops aws_eval_ops = {aws_validate_in, aws_usage_in, aws_validate_usage_in};

static fb_status aws_evaluate(fb_driver_ctx *ctx, const char *in_json, size_t n, fb_diag *const *diags,
                              char **out, fb_diag *diag)
{
    return fbk_evaluate(aws_host, "aws", &aws_eval_ops, ctx, in_json, n, diags, out, diag);
}

/* ABI 1.3: a workload's GetCallerIdentity proof (attest.c). */
static fb_status aws_attest_verb(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *diag)
{
    json_t *in;
    fb_status st = fbk_json_in(aws_host, diag, "input", in_json, &in);
    if (st != FB_OK) return st;
    json_t *result = NULL;
    st = aws_attest(ctx, in, &result, diag);
    if (st == FB_OK) st = fbk_json_out(aws_host, diag, result, out);
    json_decref(result);
    json_decref(in);
    return st;
}

static const fb_driver aws_driver = {
    .abi_major = FB_ABI_MAJOR,
    .abi_minor = FB_ABI_MINOR,
    .struct_size = sizeof(fb_driver),
    .name = "aws",
    .version = "1.0.0",
    .caps = FB_CAP_FUNCTION | FB_CAP_CONTAINER | FB_CAP_RENDER | FB_CAP_DEPLOY |
            FB_CAP_DISCOVER | FB_CAP_ESTIMATE | FB_CAP_PUBLIC_HTTP | FB_CAP_AUTOSCALE |
            FB_CAP_ARM64 | FB_CAP_SCALE_TO_ZERO | FB_CAP_ATTEST,
    .summary = "AWS Lambda (Function) and ECS on Fargate (Container) over the AWS APIs",
    .configure = aws_configure,
    .offers = aws_offers,
    .validate = aws_validate,
    .render = aws_render,
    .apply = aws_apply,
    .observe = aws_observe,
    .destroy = aws_destroy,
    .discover = aws_discover,
    .teardown = aws_teardown,
    .usage = aws_usage_verb,
    .evaluate = aws_evaluate,
    .attest = aws_attest_verb,
};

FB_DRIVER_EXPORT fb_status fb_driver_entry(const fb_host *h, const fb_driver **out, fb_diag *diag)
{
    if (h->abi_major != FB_ABI_MAJOR || h->struct_size < sizeof(fb_host)) {
        if (h->diag_add && h->abi_major == FB_ABI_MAJOR)
            h->diag_add(diag, FB_SEV_ERROR, "aws: the host's ABI table is older than 1.0", NULL,
                        NULL);
        return FB_NOTSUP;
    }
    aws_host = h;
    *out = &aws_driver;
    return FB_OK;
}
