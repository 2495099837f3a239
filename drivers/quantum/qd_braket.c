/*
 * qd_braket.c - the Amazon Braket backend (REST-JSON API 2019-09-01).
 *
 *   apply    POST /quantum-task (CreateQuantumTask) with an OpenQASM 3
 *            action, then GET /quantum-task/{arn} (GetQuantumTask) every
 *            pollIntervalMs until COMPLETED, FAILED or CANCELLED, at most
 *            until the spec's deadline or settings.braket.timeoutSeconds
 *   observe  GetQuantumTask
 *   destroy  PUT /quantum-task/{arn}/cancel (CancelQuantumTask); a task that
 *            has already ended or is gone counts as destroyed
 *
 * Requests are signed with SigV4 (service "braket") through the kit, with
 * credentials from the AWS chain (environment, profiles, STS). The
 * clientToken is derived from the job, so a retried apply finds the task
 * it created instead of creating another (FB_HTTP_TOKEN_GUARDED lets the
 * host retry the create). Braket writes results to S3; this driver does
 * not read S3: the result it stores is the task's status and output
 * location.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qd.h"

#define ERR(diag, ptr, ...) fbk_diag(qd_host, diag, FB_SEV_ERROR, ptr, "quantum: " __VA_ARGS__)
#define WARN(diag, ptr, ...) fbk_diag(qd_host, diag, FB_SEV_WARNING, ptr, "quantum: " __VA_ARGS__)

#define PLACEHOLDER_BUCKET "<settings.braket.outputS3Bucket>"

char *qd_braket_url(fb_driver_ctx *c, const char *region, const char *path)
{
    if (c->braket_endpoint[0]) {
        size_t n = strlen(c->braket_endpoint);
        while (n && c->braket_endpoint[n - 1] == '/') n--;
        return qd_printf("%.*s%s", (int)n, c->braket_endpoint, path);
    }
    return qd_printf("https://braket.%s.amazonaws.com%s", region ? region : "us-east-1", path);
}

/* A UUID-shaped token from a hash of what (deterministic), into out[37]. */
static void token_of(const char *what, char out[37])
{
    char h[65];
    fbk_sha256_hex(what, strlen(what), h);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

static void client_token(const qd_job *job, char out[37])
{
    char id[65];
    qd_job_id(job, id);
    char *w = qd_printf("braket-create/%s", id);
    token_of(w, out);
    free(w);
}

json_t *qd_braket_body(fb_driver_ctx *c, qd_job *job, int for_render)
{
    (void)for_render;
    const qd_device *d = job->dev;
    json_t *action = json_pack("{s:{s:s,s:s},s:s}", "braketSchemaHeader", "name", "braket.ir.openqasm.program",
                               "version", "1", "source", job->qasm3 ? job->qasm3 : "");
    json_t *params = json_pack("{s:{s:s,s:s},s:{s:{s:s,s:s},s:i,s:b}}", "braketSchemaHeader", "name",
                               d->params_schema, "version", "1", "paradigmParameters", "braketSchemaHeader",
                               "name", "braket.device_schema.gate_model_parameters", "version", "1",
                               "qubitCount", job->qubits, "disableQubitRewiring", 0);
    char *a = json_dumps(action, JSON_COMPACT | JSON_SORT_KEYS);
    char *p = json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(action);
    json_decref(params);
    char token[37];
    client_token(job, token);
    json_t *tags = json_pack("{s:s,s:s,s:s}", "managed-by", "fedbroker", "workload", job->name, "tenant",
                             job->tenant);
    if (*job->spec_hash) json_object_set_new(tags, "spec-hash", json_string(job->spec_hash));
    json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:o}", "action", a, "clientToken", token, "deviceArn",
                             d->arn, "deviceParameters", p, "outputS3Bucket",
                             c->s3_bucket[0] ? c->s3_bucket : PLACEHOLDER_BUCKET, "outputS3KeyPrefix",
                             c->s3_prefix, "shots", (json_int_t)job->shots, "tags", tags);
    free(a);
    free(p);
    return body;
}

/* Resolves AWS credentials for region. */
static fb_status creds_for(fb_driver_ctx *c, const char *region, fbk_aws_creds *cr, fb_diag *diag)
{
    fbk_aws_creds_opts o;
    memset(&o, 0, sizeof o);
    o.profile = c->aws_profile[0] ? c->aws_profile : NULL;
    o.region = region;
    o.sts_endpoint = c->sts_endpoint[0] ? c->sts_endpoint : NULL;
    return fbk_aws_creds_resolve(qd_host, diag, &o, cr);
}

/* One signed Braket call. body may be NULL. */
static fb_status call(fb_driver_ctx *c, const fbk_aws_creds *cr, const char *region, const char *method,
                      const char *path, const char *body, uint32_t flags, fb_http_response *resp,
                      fb_diag *diag)
{
    char *url = qd_braket_url(c, region, path);
    fb_http_header h[] = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
    fbk_http_msg m = {.method = method, .url = url, .headers = h, .n_headers = body ? 2 : 1,
                      .body = body, .body_len = body ? strlen(body) : 0};
    if (!body) h[0] = h[1];
    fb_status st = fbk_aws_send(qd_host, diag, cr, region, "braket", 0, &m, flags, resp);
    free(url);
    return st;
}

/* Adds a diagnostic for an AWS error answer and returns its status. */
static fb_status aws_failure(const char *what, fb_http_response *resp, fb_diag *diag)
{
    char *code = NULL, *msg = NULL;
    fb_status st = fbk_aws_error(resp, &code, &msg);
    if (st == FB_OK) st = FB_INTERNAL;
    ERR(diag, NULL, "Braket %s failed: HTTP %ld %s: %s%s", what, resp->status, code ? code : "",
        msg ? msg : (resp->body ? resp->body : ""),
        st == FB_AUTH ? "\ncheck the AWS credentials and that they may call braket:*" : "");
    free(code);
    free(msg);
    return st;
}

/* "/quantum-task/<arn percent-encoded>" + suffix (new). */
static char *task_path(const char *arn, const char *suffix)
{
    fbk_buf b;
    fbk_buf_init(&b);
    fbk_buf_puts(&b, "/quantum-task/");
    fbk_uri_encode(&b, arn, strlen(arn), 0);
    fbk_buf_puts(&b, suffix);
    return fbk_buf_steal(&b);
}

/* GetQuantumTask; *task is the answer (new) when HTTP 200, *code the
 * status. */
static fb_status get_task(fb_driver_ctx *c, const fbk_aws_creds *cr, const char *region, const char *arn,
                          json_t **task, long *code, fb_diag *diag)
{
    *task = NULL;
    char *path = task_path(arn, "");
    fb_http_response resp;
    fb_status st = call(c, cr, region, "GET", path, NULL, FB_HTTP_IDEMPOTENT | FB_HTTP_READ_ONLY, &resp, diag);
    free(path);
    if (st != FB_OK) return st;
    *code = resp.status;
    if (resp.status == 200) {
        *task = json_loads(resp.body ? resp.body : "", 0, NULL);
        if (!json_is_object(*task)) {
            json_decref(*task);
            *task = NULL;
            ERR(diag, NULL, "Braket GetQuantumTask answered HTTP 200 without a JSON object");
            st = FB_INTERNAL;
        }
    } else if (resp.status != 404) {
        st = aws_failure("GetQuantumTask", &resp, diag);
    }
    qd_host->http_free(&resp);
    return st;
}

static int terminal(const char *s)
{
    return s && (!strcmp(s, "COMPLETED") || !strcmp(s, "FAILED") || !strcmp(s, "CANCELLED"));
}

/* The observe status of a Braket task status. */
static const char *status_of(const char *s)
{
    if (!s) return "pending";
    if (!strcmp(s, "COMPLETED")) return "ready";
    if (!strcmp(s, "FAILED") || !strcmp(s, "CANCELLED")) return "failed";
    return "pending";
}

fb_status qd_braket_apply(fb_driver_ctx *c, qd_job *job, json_t *prior, json_t **out, fb_diag *diag)
{
    const qd_device *d = job->dev;
    fbk_aws_creds cr;
    memset(&cr, 0, sizeof cr);
    fb_status st = creds_for(c, job->region, &cr, diag);
    if (st != FB_OK) return st;
    char token[37];
    client_token(job, token);
    json_t *state = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "backend", "braket", "device", d->device,
                              "deviceArn", d->arn, "region", job->region, "clientToken", token, "shots",
                              (json_int_t)job->shots);
    /* The task a previous apply of the same job created, if any. */
    const char *arn = NULL;
    json_t *pstate = json_object_get(prior, "state");
    const char *ptoken = json_string_value(json_object_get(pstate, "clientToken"));
    if (ptoken && !strcmp(ptoken, token)) arn = json_string_value(json_object_get(pstate, "taskArn"));
    char *created = NULL;
    if (!arn) {
        json_t *body = qd_braket_body(c, job, 0);
        char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(body);
        fb_http_response resp;
        st = call(c, &cr, job->region, "POST", "/quantum-task", text, FB_HTTP_TOKEN_GUARDED, &resp, diag);
        free(text);
        if (st == FB_OK && qd_host->dry_run(diag)) {
            qd_host->http_free(&resp);
            json_object_set_new(state, "status", json_string("DRY-RUN"));
            json_object_set_new(state, "dryRun", json_true());
            *out = json_pack("{s:o,s:[]}", "state", state, "resources");
            fbk_aws_creds_clear(&cr);
            return FB_OK;
        }
        if (st == FB_OK && resp.status != 200 && resp.status != 201) st = aws_failure("CreateQuantumTask", &resp, diag);
        if (st == FB_OK) {
            json_t *r = json_loads(resp.body ? resp.body : "", 0, NULL);
            const char *a = json_string_value(json_object_get(r, "quantumTaskArn"));
            if (a) created = fbk_xstrdup(a);
            json_decref(r);
            if (!created) {
                ERR(diag, NULL, "Braket CreateQuantumTask answered without a quantumTaskArn");
                st = FB_INTERNAL;
            }
        }
        qd_host->http_free(&resp);
        if (st == FB_OK) {
            /* Record the task before anything else, so a crash cannot orphan it. */
            json_t *rec = json_pack("{s:s,s:s,s:s,s:s}", "type", "braket-quantum-task", "id", created, "region",
                                    job->region, "device", d->device);
            char *rt = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
            json_decref(rec);
            st = qd_host->record(diag, rt);
            free(rt);
        }
        if (st != FB_OK) {
            free(created);
            json_decref(state);
            fbk_aws_creds_clear(&cr);
            return st;
        }
        arn = created;
    }
    json_object_set_new(state, "id", json_string(arn));
    json_object_set_new(state, "taskArn", json_string(arn));
    /* Poll until the task ends, bounded by the deadline and the timeout. */
    int64_t limit_ms = c->braket_timeout_s * 1000;
    if (job->deadline_ms && job->deadline_ms < limit_ms) limit_ms = job->deadline_ms;
    uint64_t max_polls = (uint64_t)(limit_ms / c->braket_poll_ms) + 1;
    json_t *task = NULL;
    const char *status = NULL;
    for (uint64_t i = 0; i < max_polls; i++) {
        long code = 0;
        json_decref(task);
        st = get_task(c, &cr, job->region, arn, &task, &code, diag);
        if (st != FB_OK) break;
        if (code == 404) {
            ERR(diag, NULL, "Braket task %s vanished while it was polled", arn);
            st = FB_NOTFOUND;
            break;
        }
        status = json_string_value(json_object_get(task, "status"));
        if (terminal(status)) break;
        if (i + 1 < max_polls) qd_host->sleep_ms(diag, c->braket_poll_ms);
    }
    fbk_aws_creds_clear(&cr);
    json_t *result = NULL;
    if (st == FB_OK) {
        const char *bucket = json_string_value(json_object_get(task, "outputS3Bucket"));
        const char *dir = json_string_value(json_object_get(task, "outputS3Directory"));
        json_object_set_new(state, "status", json_string(status ? status : "UNKNOWN"));
        if (bucket) json_object_set_new(state, "outputS3Bucket", json_string(bucket));
        if (dir) json_object_set_new(state, "outputS3Directory", json_string(dir));
        if (status && !strcmp(status, "COMPLETED")) {
            char *loc = qd_printf("s3://%s/%s", bucket ? bucket : "?", dir ? dir : "?");
            result = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:s}", "backend", "braket", "status", status, "taskArn",
                               arn, "device", d->device, "outputS3", loc, "shots", (json_int_t)job->shots,
                               "note", "Braket wrote the measurement counts to results.json under outputS3; "
                               "fedbroker does not read S3, so no counts are stored here");
            free(loc);
        } else if (status && !strcmp(status, "FAILED")) {
            const char *why = json_string_value(json_object_get(task, "failureReason"));
            ERR(diag, NULL, "Braket task %s FAILED: %s", arn, why ? why : "(no failureReason)");
            st = FB_INVALID;
        } else if (status && !strcmp(status, "CANCELLED")) {
            ERR(diag, NULL, "Braket task %s was CANCELLED before it completed\nrun apply again for a new task "
                            "after `fedbroker destroy`", arn);
            st = FB_CONFLICT;
        } else {
            WARN(diag, NULL, "Braket task %s is still %s after %lld s of polling\n`fedbroker status` follows "
                             "it; `fedbroker destroy` cancels it", arn, status ? status : "UNKNOWN",
                 (long long)(limit_ms / 1000));
        }
    }
    json_decref(task);
    json_t *res = json_pack("{s:s,s:s,s:s}", "type", "braket-quantum-task", "id", arn, "region", job->region);
    free(created);
    return qd_apply_output(st, state, result, res, out);
}

fb_status qd_braket_observe(fb_driver_ctx *c, json_t *dep, json_t **out, fb_diag *diag)
{
    const char *arn, *region;
    if (qd_deployment_id(dep, "taskArn", "Braket", &arn, &region, diag) != 0) return FB_NOTFOUND;
    fbk_aws_creds cr;
    memset(&cr, 0, sizeof cr);
    fb_status st = creds_for(c, region, &cr, diag);
    if (st != FB_OK) return st;
    json_t *task = NULL;
    long code = 0;
    st = get_task(c, &cr, region, arn, &task, &code, diag);
    fbk_aws_creds_clear(&cr);
    if (st != FB_OK) return st;
    if (code == 404) {
        *out = json_pack("{s:s,s:[]}", "status", "missing", "drift");
        return FB_OK;
    }
    const char *s = json_string_value(json_object_get(task, "status"));
    json_t *live = json_pack("{s:s,s:s}", "taskArn", arn, "status", s ? s : "UNKNOWN");
    static const char *const keep[] = {"failureReason", "outputS3Bucket", "outputS3Directory", "endedAt",
                                       "createdAt"};
    for (size_t i = 0; i < sizeof keep / sizeof *keep; i++)
        if (json_object_get(task, keep[i])) json_object_set(live, keep[i], json_object_get(task, keep[i]));
    *out = json_pack("{s:s,s:[],s:o}", "status", status_of(s), "drift", "live", live);
    json_decref(task);
    return FB_OK;
}

fb_status qd_braket_destroy(fb_driver_ctx *c, json_t *dep, json_t **out, fb_diag *diag)
{
    const char *arn, *region;
    if (qd_deployment_id(dep, "taskArn", "Braket", &arn, &region, diag) != 0) {
        /* A dry-run state names no task: there is nothing to delete. */
        if (json_is_true(json_object_get(json_object_get(dep, "state"), "dryRun"))) {
            *out = json_pack("{s:[]}", "deleted");
            return FB_OK;
        }
        return FB_INVALID;
    }
    fbk_aws_creds cr;
    memset(&cr, 0, sizeof cr);
    fb_status st = creds_for(c, region, &cr, diag);
    if (st != FB_OK) return st;
    char tok[37];
    char *w = qd_printf("braket-cancel/%s", arn);
    token_of(w, tok);
    free(w);
    json_t *b = json_pack("{s:s}", "clientToken", tok);
    char *body = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(b);
    char *path = task_path(arn, "/cancel");
    fb_http_response resp;
    st = call(c, &cr, region, "PUT", path, body, FB_HTTP_TOKEN_GUARDED, &resp, diag);
    free(path);
    free(body);
    fbk_aws_creds_clear(&cr);
    if (st != FB_OK) return st;
    if (resp.status == 200 || resp.status == 404 || resp.status == 409 || resp.status == 0) {
        /* 409: the task has already ended; 404: it is gone. */
        *out = json_pack("{s:[s],s:s}", "deleted", arn, "how",
                         resp.status == 200 ? "cancelled" : resp.status == 409 ? "already ended"
                         : resp.status == 404 ? "already gone" : "dry run");
    } else {
        st = aws_failure("CancelQuantumTask", &resp, diag);
    }
    qd_host->http_free(&resp);
    return st;
}
