/* triggers.c - a Function's schedule and queue triggers on AWS:
 *   schedule -> an EventBridge Scheduler schedule (REST-JSON 2021-06-30)
 *               whose target is the function, invoked with the role
 *               settings.scheduler.role;
 *   queue    -> an SQS queue (JSON 1.0 protocol, 2012-11-05), created when
 *               missing, and a Lambda event source mapping from it.
 * Validate (the cron translation), the create-path documents, apply
 * (create, adopt, update, remove what the spec dropped), observe with
 * drift, destroy and discover. The function itself is lambda.c's.
 *
 * Ownership: queues and mappings carry the fedbroker tags (managed-by,
 * workload, tenant, labels); schedules cannot be tagged (the API has no
 * tags for them), so a schedule is ours when its Description is the
 * workload's "fedbroker TENANT/NAME" or its target is our function.
 * Memory: the kit's rules (aws.h). Thread: verbs run on many threads at
 * once; nothing here is shared. */
#include "config.h"
#include "aws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCHEDULE_NAME_MAX 64
#define SQS_MAX_VISIBILITY 43200
#define TRIG_ATTEMPTS 3

/* ---- what the spec asks for ------------------------------------------------------ */

enum { TRIG_SCHEDULE = 1, TRIG_QUEUE = 2 };

typedef struct trig {
    int kind;
    size_t index;         /* in spec.triggers: drift fields and pointers name it */
    /* schedule */
    char *name;           /* new: the schedule's name */
    char *expression;     /* new: cron(...) for Scheduler, NULL when the cron is refused */
    const char *timezone;
    /* queue */
    const char *queue;    /* the queue's name (spec) */
    json_int_t batch;
} trig;

typedef struct trigs {
    trig *t;
    size_t n;
} trigs;

static void trigs_free(trigs *ts)
{
    for (size_t i = 0; i < ts->n; i++) {
        free(ts->t[i].name);
        free(ts->t[i].expression);
    }
    free(ts->t);
    ts->t = NULL;
    ts->n = 0;
}

json_int_t aws_lambda_timeout_s(const json_t *w)
{
    json_int_t ms = aws_int(aws_spec(w), "timeoutMs", 30000);
    return (ms + 999) / 1000;
}

/* The base of a function's schedule names: the function name, or when
 * "-sNN" would not fit in Scheduler's 64 characters, its first 51
 * characters, "-" and 8 hex digits of its SHA-256 (new). destroy derives it
 * from the function name alone. */
static char *schedule_base(const char *fn_name)
{
    if (strlen(fn_name) + 4 <= SCHEDULE_NAME_MAX) return fbk_xstrdup(fn_name);
    char hex[65];
    fbk_sha256_hex(fn_name, strlen(fn_name), hex);
    return fbk_xasprintf("%.51s-%.8s", fn_name, hex);
}

/* The spec's schedule and queue triggers, in order (ts new; trigs_free).
 * A refused cron leaves expression NULL and, when why is given, its reason
 * in why[index] (new). */
static void trigs_of(const json_t *w, const char *fn_name, trigs *ts, char **why)
{
    memset(ts, 0, sizeof *ts);
    const json_t *arr = json_object_get(aws_spec(w), "triggers");
    char *base = schedule_base(fn_name);
    size_t i, nsched = 0;
    const json_t *t;
    ts->t = fbk_xcalloc(json_array_size(arr) + 1, sizeof *ts->t);
    json_array_foreach(arr, i, t) {
        const json_t *sch = json_object_get(t, "schedule");
        const json_t *q = json_object_get(t, "queue");
        if (!sch && !q) continue;
        trig *x = &ts->t[ts->n++];
        x->index = i;
        if (sch) {
            x->kind = TRIG_SCHEDULE;
            x->name = fbk_xasprintf("%s-s%zu", base, nsched++);
            char *reason = NULL;
            const char *cron = aws_str(sch, "cron");
            if (!cron || aws_cron_to_scheduler(cron, &x->expression, &reason) != 0) {
                if (why) why[i] = reason ? reason : fbk_xstrdup("no cron expression");
                else free(reason);
            }
            x->timezone = aws_str(sch, "timezone") ? aws_str(sch, "timezone") : "UTC";
        } else {
            x->kind = TRIG_QUEUE;
            x->queue = aws_str(q, "name");
            x->batch = aws_int(q, "batchSize", 10);
        }
    }
    free(base);
}

/* ---- bodies --------------------------------------------------------------------------- */

/* The tags of a queue or a mapping: the fedbroker tags without spec-hash
 * (SQS tags are set once at creation; a spec change must not make them
 * stale). new. */
static json_t *trig_tags(const json_t *w)
{
    json_t *t = aws_tags(w);
    json_object_del(t, "spec-hash");
    return t;
}

/* "fedbroker TENANT/NAME": how a schedule says it is this workload's. new. */
static char *schedule_description(const json_t *w)
{
    const json_t *md = json_object_get(w, "metadata");
    return fbk_xasprintf("fedbroker %s/%s", aws_str(md, "tenant") ? aws_str(md, "tenant") : "default",
                         aws_str(md, "name") ? aws_str(md, "name") : "");
}

/* CreateSchedule's and UpdateSchedule's body. No ClientToken: the name
 * guards the create (a repeat is a ConflictException, and apply adopts the
 * schedule it finds), and a token Scheduler remembered could answer a
 * create after an out-of-band delete without making the schedule. new. */
static json_t *schedule_body(aws_ctx *ctx, const json_t *w, const trig *x, const char *fn_arn)
{
    const char *role = ctx->scheduler_role ? ctx->scheduler_role : AWS_UNSET_SCHEDULER_ROLE;
    char *desc = schedule_description(w);
    json_t *b = json_pack("{s:s,s:{s:s},s:s,s:s,s:s,s:{s:s,s:s}}", "Description", desc,
                          "FlexibleTimeWindow", "Mode", "OFF", "ScheduleExpression",
                          x->expression ? x->expression : "", "ScheduleExpressionTimezone",
                          x->timezone, "State", "ENABLED", "Target", "Arn", fn_arn, "RoleArn", role);
    free(desc);
    return b;
}

/* The visibility timeout of a queue apply creates: six times the
 * function's timeout, as the Lambda guide advises for SQS sources (at
 * least 30 s, SQS's default; at most 12 h). Lambda refuses a mapping from a
 * queue whose timeout is below the function's. */
static json_int_t queue_visibility(const json_t *w)
{
    json_int_t v = 6 * aws_lambda_timeout_s(w);
    return v < 30 ? 30 : v > SQS_MAX_VISIBILITY ? SQS_MAX_VISIBILITY : v;
}

static json_t *create_queue_body(const json_t *w, const trig *x)
{
    char vis[24];
    snprintf(vis, sizeof vis, "%lld", (long long)queue_visibility(w));
    return json_pack("{s:s,s:{s:s},s:o}", "QueueName", x->queue, "Attributes", "VisibilityTimeout",
                     vis, "tags", trig_tags(w));
}

/* Lambda needs a batching window above 10 messages per batch: 1 s, the
 * shortest. */
static json_int_t batch_window(json_int_t batch)
{
    return batch > 10 ? 1 : 0;
}

static json_t *create_mapping_body(const json_t *w, const trig *x, const char *fn_name,
                                   const char *queue_arn)
{
    json_t *b = json_pack("{s:s,s:s,s:I,s:b,s:o}", "FunctionName", fn_name, "EventSourceArn",
                          queue_arn, "BatchSize", x->batch, "Enabled", 1, "Tags", trig_tags(w));
    if (batch_window(x->batch))
        json_object_set_new(b, "MaximumBatchingWindowInSeconds", json_integer(batch_window(x->batch)));
    return b;
}

static json_t *tdoc(const char *api, const char *op, const char *method, const char *path,
                    const char *region, json_t *body /* steals */)
{
    json_t *d = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "api", api, "kind", op, "operation", op,
                          "method", method, "path", path, "region", region);
    json_object_set_new(d, "body", body);
    return d;
}

/* ---- validate, documents ----------------------------------------------------------------- */

int aws_triggers_validate(aws_ctx *ctx, const json_t *w, int checks, fb_diag *diag)
{
    size_t n = json_array_size(json_object_get(aws_spec(w), "triggers"));
    char **why = fbk_xcalloc(n + 1, sizeof *why);
    trigs ts;
    char *fn = aws_resource_name(w, 64);
    trigs_of(w, fn, &ts, why);
    free(fn);
    int bad = 0, schedules = 0;
    char ptr[96];
    for (size_t i = 0; i < n; i++) {
        if (!why[i]) continue;
        snprintf(ptr, sizeof ptr, "/spec/triggers/%zu/schedule/cron", i);
        fbk_diag(aws_host, diag, FB_SEV_ERROR, ptr,
                 "aws: EventBridge Scheduler cannot run this cron expression: %s", why[i]);
        bad = 1;
        free(why[i]);
    }
    free(why);
    for (size_t i = 0; i < ts.n; i++) {
        const trig *x = &ts.t[i];
        if (x->kind == TRIG_SCHEDULE) {
            schedules++;
            continue;
        }
        for (size_t k = 0; k < i; k++) {
            if (ts.t[k].kind != TRIG_QUEUE || !x->queue || !ts.t[k].queue ||
                strcmp(ts.t[k].queue, x->queue) != 0)
                continue;
            snprintf(ptr, sizeof ptr, "/spec/triggers/%zu/queue/name", x->index);
            fbk_diag(aws_host, diag, FB_SEV_ERROR, ptr,
                     "aws: queue %s is already a trigger of this function (/spec/triggers/%zu); "
                     "Lambda maps a queue to a function once\ndrop the second trigger",
                     x->queue, ts.t[k].index);
            bad = 1;
            break;
        }
    }
    if (schedules && !ctx->scheduler_role) {
        if (checks & AWS_CHECK_DEPLOY) {
            fbk_diag(aws_host, diag, FB_SEV_ERROR, NULL,
                     "aws: a schedule trigger needs the role EventBridge Scheduler invokes the "
                     "function with, and none is configured\nset drivers.aws.scheduler.role to "
                     "its ARN (arn:aws:iam::ACCOUNT:role/NAME; trusted by scheduler.amazonaws.com, "
                     "allowed lambda:InvokeFunction on the function)");
            bad = 1;
        } else if (checks & AWS_CHECK_WARN) {
            fbk_diag(aws_host, diag, FB_SEV_WARNING, NULL,
                     "aws: drivers.aws.scheduler.role is not set: the documents show %s where "
                     "the scheduler's role goes (apply refuses until it is set)",
                     AWS_UNSET_SCHEDULER_ROLE);
        }
    }
    if (ts.n && !ctx->account_id && (checks & AWS_CHECK_SHOWN) && (checks & AWS_CHECK_WARN))
        fbk_diag(aws_host, diag, FB_SEV_WARNING, NULL,
                 "aws: drivers.aws.accountId is not set: the function and queue ARNs in the "
                 "trigger documents show %s (apply reads the real ones)", AWS_UNSET_ACCOUNT);
    trigs_free(&ts);
    return bad;
}

void aws_triggers_documents(aws_ctx *ctx, const json_t *w, const char *region,
                            const char *fn_name, json_t *docs)
{
    trigs ts;
    trigs_of(w, fn_name, &ts, NULL);
    const char *acct = ctx->account_id ? ctx->account_id : AWS_UNSET_ACCOUNT;
    char *fn_arn = fbk_xasprintf("arn:aws:lambda:%s:%s:function:%s", region, acct, fn_name);
    for (size_t i = 0; i < ts.n; i++) {
        const trig *x = &ts.t[i];
        if (x->kind == TRIG_QUEUE) {
            char *qarn = fbk_xasprintf("arn:aws:sqs:%s:%s:%s", region, acct, x->queue);
            json_array_append_new(docs, tdoc("sqs", "CreateQueue", "POST", "/", region,
                                             create_queue_body(w, x)));
            json_array_append_new(docs, tdoc("lambda", "CreateEventSourceMapping", "POST",
                                             "/2015-03-31/event-source-mappings", region,
                                             create_mapping_body(w, x, fn_name, qarn)));
            free(qarn);
        } else {
            char *path = fbk_xasprintf("/schedules/%s", x->name);
            json_array_append_new(docs, tdoc("scheduler", "CreateSchedule", "POST", path, region,
                                             schedule_body(ctx, w, x, fn_arn)));
            free(path);
        }
    }
    free(fn_arn);
    trigs_free(&ts);
}

/* ---- calls ------------------------------------------------------------------------------------- */

typedef struct tcall {
    aws_ctx *ctx;
    fb_diag *diag;
    const fbk_aws_creds *creds;
    const char *region;
} tcall;

static fb_status tsend(const tcall *c, const char *api, const char *op, const char *method,
                       const char *path, const char *query, const json_t *body, uint32_t flags,
                       aws_req *rq, aws_res *res)
{
    *rq = (aws_req){.api = api, .op = op, .method = method, .path = path, .query = query,
                    .body = body, .flags = flags};
    return aws_send(c->ctx, c->diag, c->creds, c->region, rq, res);
}

/* An SQS operation (JSON 1.0: POST / with X-Amz-Target). */
static fb_status sqs(const tcall *c, const char *op, const json_t *body, uint32_t flags,
                     aws_req *rq, aws_res *res)
{
    return tsend(c, "sqs", op, "POST", "/", NULL, body, flags, rq, res);
}

/* SQS's "no such queue" (400 QueueDoesNotExist, or the Query protocol's code). */
static int queue_missing(const aws_res *res)
{
    return res->err != FB_OK && res->code &&
           (strstr(res->code, "QueueDoesNotExist") || strstr(res->code, "NonExistentQueue"));
}

static int tags_ours(const json_t *tags, const json_t *w)
{
    const char *by = aws_str(tags, "managed-by");
    if (!by || strcmp(by, "fedbroker") != 0) return 0;
    if (!w) return 1;
    const json_t *md = json_object_get(w, "metadata");
    const char *tn = aws_str(md, "tenant") ? aws_str(md, "tenant") : "default";
    return aws_str(tags, "workload") && aws_str(md, "name") &&
           !strcmp(aws_str(tags, "workload"), aws_str(md, "name")) && aws_str(tags, "tenant") &&
           !strcmp(aws_str(tags, "tenant"), tn);
}

/* Records a trigger resource right after its create (or its adoption). */
static fb_status record(const tcall *c, const char *type, const char *id, const char *name,
                        const char *extra_key, const char *extra)
{
    if (aws_host->dry_run(c->diag)) return FB_OK;
    json_t *r = json_pack("{s:s,s:s,s:s,s:s}", "type", type, "id", id, "region", c->region,
                          "name", name);
    if (extra_key && extra) json_object_set_new(r, extra_key, json_string(extra));
    char *text = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(r);
    fb_status st = aws_host->record(c->diag, text);
    free(text);
    return st;
}

/* GET /schedules/NAME: *live new or NULL when absent. */
static fb_status get_schedule(const tcall *c, const char *name, json_t **live)
{
    *live = NULL;
    char *path = fbk_xasprintf("/schedules/%s", name);
    aws_req rq;
    aws_res res;
    fb_status st = tsend(c, "scheduler", "GetSchedule", "GET", path, NULL, NULL,
                         FB_HTTP_IDEMPOTENT, &rq, &res);
    free(path);
    if (st == FB_OK && res.err == FB_OK) *live = res.body ? json_incref(res.body) : json_object();
    else if (st == FB_OK && res.err != FB_NOTFOUND) st = aws_fail(c->diag, &rq, &res, NULL);
    aws_res_clear(&res);
    return st;
}

/* DELETE a schedule, a mapping or a queue: absent is success. */
static fb_status delete_schedule(const tcall *c, const char *name)
{
    char *path = fbk_xasprintf("/schedules/%s", name);
    aws_req rq;
    aws_res res;
    fb_status st = tsend(c, "scheduler", "DeleteSchedule", "DELETE", path, NULL, NULL,
                         FB_HTTP_IDEMPOTENT, &rq, &res);
    free(path);
    if (st == FB_OK && res.err != FB_OK && res.err != FB_NOTFOUND)
        st = aws_fail(c->diag, &rq, &res, NULL);
    aws_res_clear(&res);
    return st;
}

/* The UUID at the end of a mapping's ARN (or the text itself). Borrowed. */
static const char *mapping_uuid(const char *id)
{
    const char *p = id ? strstr(id, ":event-source-mapping:") : NULL;
    return p ? p + 22 : id;
}

static fb_status delete_mapping(const tcall *c, const char *id)
{
    char *path = fbk_xasprintf("/2015-03-31/event-source-mappings/%s", mapping_uuid(id));
    aws_req rq;
    aws_res res;
    fb_status st = tsend(c, "lambda", "DeleteEventSourceMapping", "DELETE", path, NULL, NULL,
                         FB_HTTP_IDEMPOTENT, &rq, &res);
    free(path);
    if (st == FB_OK && res.err != FB_OK && res.err != FB_NOTFOUND)
        st = aws_fail(c->diag, &rq, &res, NULL);
    aws_res_clear(&res);
    return st;
}

/* ListQueueTags: *tags new ({} when none), *gone when the queue is absent. */
static fb_status queue_tags(const tcall *c, const char *url, json_t **tags, int *gone)
{
    *tags = NULL;
    *gone = 0;
    json_t *b = json_pack("{s:s}", "QueueUrl", url);
    aws_req rq;
    aws_res res;
    fb_status st = sqs(c, "ListQueueTags", b, FB_HTTP_IDEMPOTENT, &rq, &res);
    json_decref(b);
    if (st == FB_OK && queue_missing(&res)) *gone = 1;
    else if (st == FB_OK && res.err != FB_OK) st = aws_fail(c->diag, &rq, &res, NULL);
    else if (st == FB_OK) {
        const json_t *t = json_object_get(res.body, "Tags");
        *tags = t ? json_deep_copy(t) : json_object();
    }
    aws_res_clear(&res);
    return st;
}

/* Deletes a queue apply created, if it still carries our tags for w (NULL:
 * any fedbroker tags). Absent is success. */
static fb_status delete_queue(const tcall *c, const char *url, const json_t *w, int *deleted)
{
    *deleted = 0;
    json_t *tags;
    int gone;
    fb_status st = queue_tags(c, url, &tags, &gone);
    if (st != FB_OK || gone) return st;
    if (!tags_ours(tags, w)) {
        fbk_diag(aws_host, c->diag, FB_SEV_WARNING, NULL,
                 "aws: queue %s no longer carries this workload's fedbroker tags; not deleting it",
                 url);
        json_decref(tags);
        return FB_OK;
    }
    json_decref(tags);
    json_t *b = json_pack("{s:s}", "QueueUrl", url);
    aws_req rq;
    aws_res res;
    st = sqs(c, "DeleteQueue", b, FB_HTTP_IDEMPOTENT, &rq, &res);
    json_decref(b);
    if (st == FB_OK && res.err != FB_OK && !queue_missing(&res))
        st = aws_fail(c->diag, &rq, &res, NULL);
    else if (st == FB_OK)
        *deleted = 1;
    aws_res_clear(&res);
    return st;
}

/* ListEventSourceMappings of a function (and a source, when given), every
 * page: *out new array of mapping configurations. A function Lambda does
 * not know has none. */
static fb_status list_mappings(const tcall *c, const char *fn_name, const char *source, json_t **out)
{
    *out = json_array();
    char *marker = NULL;
    fb_status st = FB_OK;
    for (int page = 0; page < 1000 && st == FB_OK; page++) {
        fbk_buf q;
        fbk_buf_init(&q);
        if (source) {
            fbk_buf_puts(&q, "EventSourceArn=");
            fbk_uri_encode(&q, source, strlen(source), 0);
            fbk_buf_puts(&q, "&");
        }
        if (fn_name) {
            fbk_buf_puts(&q, "FunctionName=");
            fbk_uri_encode(&q, fn_name, strlen(fn_name), 0);
            fbk_buf_puts(&q, "&");
        }
        if (marker) {
            fbk_buf_puts(&q, "Marker=");
            fbk_uri_encode(&q, marker, strlen(marker), 0);
            fbk_buf_puts(&q, "&");
        }
        fbk_buf_puts(&q, "MaxItems=100");
        aws_req rq;
        aws_res res;
        st = tsend(c, "lambda", "ListEventSourceMappings", "GET", "/2015-03-31/event-source-mappings",
                   q.data, NULL, FB_HTTP_IDEMPOTENT, &rq, &res);
        fbk_buf_free(&q);
        free(marker);
        marker = NULL;
        if (st == FB_OK && res.err == FB_NOTFOUND) {
            aws_res_clear(&res);
            break;
        }
        if (st == FB_OK && res.err != FB_OK) st = aws_fail(c->diag, &rq, &res, NULL);
        size_t i;
        json_t *m;
        json_array_foreach(json_object_get(res.body, "EventSourceMappings"), i, m)
            json_array_append(*out, m);
        if (st == FB_OK && aws_str(res.body, "NextMarker"))
            marker = fbk_xstrdup(aws_str(res.body, "NextMarker"));
        aws_res_clear(&res);
        if (!marker) break;
    }
    free(marker);
    return st;
}

/* Lambda's ListTags of a mapping's ARN: *tags new ({} when none). */
static fb_status mapping_tags(const tcall *c, const char *arn, json_t **tags)
{
    *tags = NULL;
    fbk_buf p;
    fbk_buf_init(&p);
    fbk_buf_puts(&p, "/2017-03-31/tags/");
    fbk_uri_encode(&p, arn, strlen(arn), 0);
    aws_req rq;
    aws_res res;
    fb_status st = tsend(c, "lambda", "ListTags", "GET", p.data, NULL, NULL, FB_HTTP_IDEMPOTENT,
                         &rq, &res);
    fbk_buf_free(&p);
    if (st == FB_OK && res.err != FB_OK) st = aws_fail(c->diag, &rq, &res, NULL);
    if (st == FB_OK) {
        const json_t *t = json_object_get(res.body, "Tags");
        *tags = t ? json_deep_copy(t) : json_object();
    }
    aws_res_clear(&res);
    return st;
}

/* A mapping's ARN: EventSourceMappingArn, or built from the function's ARN
 * and the UUID for an answer without it (new). */
static char *mapping_arn(const json_t *m)
{
    if (aws_str(m, "EventSourceMappingArn")) return fbk_xstrdup(aws_str(m, "EventSourceMappingArn"));
    const char *fa = aws_str(m, "FunctionArn"), *u = aws_str(m, "UUID");
    const char *f = fa ? strstr(fa, ":function:") : NULL;
    if (!f || !u) return u ? fbk_xstrdup(u) : NULL;
    return fbk_xasprintf("%.*s:event-source-mapping:%s", (int)(f - fa), fa, u);
}

/* ---- apply ---------------------------------------------------------------------------------------- */

/* One schedule: created (recorded), adopted when its Description says it is
 * this workload's, updated when it differs. entry gets "arn". */
static fb_status apply_schedule(const tcall *c, const json_t *w, const trig *x, const char *fn_arn,
                                json_t *entry, json_t *resources)
{
    json_t *live = NULL;
    fb_status st = get_schedule(c, x->name, &live);
    char *path = fbk_xasprintf("/schedules/%s", x->name);
    aws_req rq;
    aws_res res;
    memset(&res, 0, sizeof res);
    if (st == FB_OK && !live) {
        json_t *b = schedule_body(c->ctx, w, x, fn_arn);
        /* the host may send it again after a lost answer: the repeat is a
         * ConflictException, handled below */
        st = tsend(c, "scheduler", "CreateSchedule", "POST", path, NULL, b, FB_HTTP_IDEMPOTENT,
                   &rq, &res);
        json_decref(b);
        if (st == FB_OK && res.err == FB_OK) {
            const char *arn = aws_str(res.body, "ScheduleArn");
            if (!arn) {
                fbk_diag(aws_host, c->diag, FB_SEV_ERROR, NULL,
                         "aws: CreateSchedule answered without a ScheduleArn");
                st = FB_INTERNAL;
            } else {
                st = record(c, "scheduler-schedule", arn, x->name, NULL, NULL);
                json_object_set_new(entry, "arn", json_string(arn));
                json_array_append_new(resources, json_pack("{s:s,s:s,s:s,s:s}", "type",
                                                           "scheduler-schedule", "id", arn,
                                                           "region", c->region, "name", x->name));
            }
        } else if (st == FB_OK && res.err == FB_CONFLICT) {
            /* made meanwhile, or by our own create whose answer was lost:
             * adopt it if ours */
            st = get_schedule(c, x->name, &live);
            if (st == FB_OK && !live) {
                fbk_diag(aws_host, c->diag, FB_SEV_ERROR, NULL,
                         "aws: EventBridge Scheduler refused to create schedule %s (%s), then said "
                         "it does not exist; apply again", x->name,
                         res.message ? res.message : "ConflictException");
                st = FB_CONFLICT;
            }
        } else if (st == FB_OK) {
            st = aws_fail(c->diag, &rq, &res, "the cron expression and time zone come from the "
                          "spec; this is what EventBridge Scheduler refused");
        }
        aws_res_clear(&res);
    }
    if (st == FB_OK && live) {
        /* ours: it says so in its Description, or it invokes our function
         * (an update made without the Description keeps it ours) */
        char *desc = schedule_description(w);
        const char *ld = aws_str(live, "Description");
        const char *target = aws_str(json_object_get(live, "Target"), "Arn");
        int ours = (ld && !strcmp(ld, desc)) || (target && fn_arn && !strcmp(target, fn_arn));
        free(desc);
        if (!ours) {
            fbk_diag(aws_host, c->diag, FB_SEV_ERROR, NULL,
                     "aws: an EventBridge Scheduler schedule named %s exists in %s and is not this "
                     "workload's (neither its Description \"fedbroker TENANT/NAME\" nor its target, "
                     "the function %s, say so)\nrename the workload or delete the schedule yourself",
                     x->name, c->region, fn_arn ? fn_arn : "?");
            st = FB_CONFLICT;
        } else {
            const char *arn = aws_str(live, "Arn");
            if (arn) {
                st = record(c, "scheduler-schedule", arn, x->name, NULL, NULL);
                json_object_set_new(entry, "arn", json_string(arn));
                json_array_append_new(resources, json_pack("{s:s,s:s,s:s,s:s}", "type",
                                                           "scheduler-schedule", "id", arn,
                                                           "region", c->region, "name", x->name));
            }
            /* UpdateSchedule replaces the whole schedule: send it when any of
             * what we set differs */
            json_t *want = schedule_body(c->ctx, w, x, fn_arn);
            json_t *have = json_object();
            const char *k;
            json_t *v;
            json_object_foreach(want, k, v) {
                json_t *lv = json_object_get(live, k);
                if (lv) json_object_set(have, k, lv);
            }
            json_t *lt = json_object_get(have, "Target");
            if (json_is_object(lt)) {
                /* only the members we set count */
                json_t *t2 = json_pack("{s:O?,s:O?}", "Arn", json_object_get(lt, "Arn"),
                                       "RoleArn", json_object_get(lt, "RoleArn"));
                json_object_set_new(have, "Target", t2);
            }
            if (st == FB_OK && !json_equal(want, have)) {
                st = tsend(c, "scheduler", "UpdateSchedule", "PUT", path, NULL, want,
                           FB_HTTP_IDEMPOTENT, &rq, &res);
                if (st == FB_OK && res.err != FB_OK) st = aws_fail(c->diag, &rq, &res, NULL);
                aws_res_clear(&res);
            }
            json_decref(want);
            json_decref(have);
        }
    }
    json_decref(live);
    free(path);
    return st;
}

/* GetQueueUrl: *url new, NULL when the queue does not exist. */
static fb_status queue_url(const tcall *c, const char *name, char **url)
{
    *url = NULL;
    json_t *b = json_pack("{s:s}", "QueueName", name);
    aws_req rq;
    aws_res res;
    fb_status st = sqs(c, "GetQueueUrl", b, FB_HTTP_IDEMPOTENT, &rq, &res);
    json_decref(b);
    if (st == FB_OK && res.err == FB_OK && aws_str(res.body, "QueueUrl"))
        *url = fbk_xstrdup(aws_str(res.body, "QueueUrl"));
    else if (st == FB_OK && !queue_missing(&res))
        st = aws_fail(c->diag, &rq, &res, NULL);
    aws_res_clear(&res);
    return st;
}

/* GetQueueAttributes QueueArn: *arn new. */
static fb_status queue_arn(const tcall *c, const char *url, char **arn)
{
    *arn = NULL;
    json_t *b = json_pack("{s:s,s:[s]}", "QueueUrl", url, "AttributeNames", "QueueArn");
    aws_req rq;
    aws_res res;
    fb_status st = sqs(c, "GetQueueAttributes", b, FB_HTTP_IDEMPOTENT, &rq, &res);
    json_decref(b);
    const char *a = aws_str(json_object_get(res.body, "Attributes"), "QueueArn");
    if (st == FB_OK && res.err != FB_OK) st = aws_fail(c->diag, &rq, &res, NULL);
    else if (st == FB_OK && !a) {
        fbk_diag(aws_host, c->diag, FB_SEV_ERROR, NULL,
                 "aws: SQS GetQueueAttributes answered without the QueueArn of %s", url);
        st = FB_INTERNAL;
    } else if (st == FB_OK) {
        *arn = fbk_xstrdup(a);
    }
    aws_res_clear(&res);
    return st;
}

/* The queue of a queue trigger: found (ours when it carries this
 * workload's tags, else only referenced), or created with our tags and
 * recorded. entry gets queueUrl, queueArn, owned. */
static fb_status apply_queue(const tcall *c, const json_t *w, const trig *x, json_t *entry,
                             json_t *resources, char **arn_out)
{
    *arn_out = NULL;
    char *url = NULL;
    int owned = 0;
    fb_status st = queue_url(c, x->queue, &url);
    if (st == FB_OK && !url) {
        json_t *b = create_queue_body(w, x);
        aws_req rq;
        aws_res res;
        /* idempotent: the same name and attributes answer the same queue */
        st = sqs(c, "CreateQueue", b, FB_HTTP_IDEMPOTENT, &rq, &res);
        json_decref(b);
        if (st == FB_OK && res.err == FB_OK && aws_str(res.body, "QueueUrl")) {
            url = fbk_xstrdup(aws_str(res.body, "QueueUrl"));
            owned = 1;
            st = record(c, "sqs-queue", url, x->queue, NULL, NULL);
        } else if (st == FB_OK && res.code && strstr(res.code, "QueueDeletedRecently")) {
            fbk_diag(aws_host, c->diag, FB_SEV_ERROR, NULL,
                     "aws: SQS does not create queue %s again within 60 s of deleting it\n"
                     "apply again in a minute", x->queue);
            st = FB_RETRYABLE;
        } else if (st == FB_OK && res.code && strstr(res.code, "QueueNameExists")) {
            st = queue_url(c, x->queue, &url); /* made meanwhile, other attributes */
        } else if (st == FB_OK) {
            st = aws_fail(c->diag, &rq, &res, NULL);
        }
        aws_res_clear(&res);
    } else if (st == FB_OK) {
        /* It exists: ours to manage only with this workload's tags; else a
         * queue the spec refers to, used as it is and never deleted. */
        json_t *tags;
        int gone;
        st = queue_tags(c, url, &tags, &gone);
        if (st == FB_OK && gone) {
            fbk_diag(aws_host, c->diag, FB_SEV_ERROR, NULL,
                     "aws: queue %s disappeared while apply looked at it; apply again", x->queue);
            st = FB_RETRYABLE;
        }
        if (st == FB_OK && tags_ours(tags, w)) {
            owned = 1;
            st = record(c, "sqs-queue", url, x->queue, NULL, NULL);
        }
        json_decref(tags);
    }
    char *arn = NULL;
    if (st == FB_OK && url) st = queue_arn(c, url, &arn);
    if (st == FB_OK && url && arn) {
        json_object_set_new(entry, "queueUrl", json_string(url));
        json_object_set_new(entry, "queueArn", json_string(arn));
        json_object_set_new(entry, "owned", json_boolean(owned));
        if (owned)
            json_array_append_new(resources, json_pack("{s:s,s:s,s:s,s:s}", "type", "sqs-queue",
                                                       "id", url, "region", c->region, "name",
                                                       x->queue));
        *arn_out = arn;
        arn = NULL;
    }
    free(arn);
    free(url);
    return st;
}

/* The mapping from the queue: adopted when it carries our tags, created
 * (sent once by the host; an error answer that says throttled or failed
 * inside AWS is re-sent) and recorded, or updated to the batch size and
 * enabled. entry gets mapping (the UUID) and mappingArn. */
static fb_status apply_mapping(const tcall *c, const json_t *w, const trig *x,
                               const char *fn_name, const char *qarn, json_t *entry,
                               json_t *resources)
{
    json_t *found = NULL;
    fb_status st = list_mappings(c, fn_name, qarn, &found);
    json_t *m = json_array_size(found) ? json_incref(json_array_get(found, 0)) : NULL;
    json_decref(found);
    aws_req rq;
    aws_res res;
    memset(&res, 0, sizeof res);
    int created = 0;
    for (int attempt = 0; st == FB_OK && !m && attempt < TRIG_ATTEMPTS; attempt++) {
        json_t *b = create_mapping_body(w, x, fn_name, qarn);
        st = tsend(c, "lambda", "CreateEventSourceMapping", "POST",
                   "/2015-03-31/event-source-mappings", NULL, b, 0, &rq, &res);
        json_decref(b);
        if (st != FB_OK && !aws_host->dry_run(c->diag))
            fbk_diag(aws_host, c->diag, FB_SEV_NOTE, NULL,
                     "aws: CreateEventSourceMapping was not answered; apply again: a mapping "
                     "Lambda made is found (tagged as ours) and adopted");
        if (st == FB_OK && res.err == FB_OK) {
            m = res.body ? json_incref(res.body) : json_object();
            created = 1;
        } else if (st == FB_OK && res.err == FB_CONFLICT) {
            st = list_mappings(c, fn_name, qarn, &found); /* made meanwhile */
            m = json_array_size(found) ? json_incref(json_array_get(found, 0)) : NULL;
            json_decref(found);
            if (st == FB_OK && !m) {
                fbk_diag(aws_host, c->diag, FB_SEV_ERROR, NULL,
                         "aws: Lambda said a mapping from %s to %s exists, then listed none; "
                         "apply again", x->queue, fn_name);
                st = FB_CONFLICT;
            }
        } else if (st == FB_OK && res.err == FB_RETRYABLE && attempt + 1 < TRIG_ATTEMPTS) {
            aws_res_clear(&res);
            aws_host->sleep_ms(c->diag, 1000u << attempt);
            continue;
        } else if (st == FB_OK) {
            st = aws_fail(c->diag, &rq, &res, "Lambda checks the queue: its visibility timeout "
                          "must be at least the function's timeout, and the function's role "
                          "needs sqs:ReceiveMessage, sqs:DeleteMessage and "
                          "sqs:GetQueueAttributes on it");
        }
        aws_res_clear(&res);
        break;
    }
    char *arn = m ? mapping_arn(m) : NULL;
    if (st == FB_OK && m && arn && !created) {
        json_t *tags;
        st = mapping_tags(c, arn, &tags);
        if (st == FB_OK && !tags_ours(tags, NULL)) {
            fbk_diag(aws_host, c->diag, FB_SEV_ERROR, NULL,
                     "aws: an event source mapping from queue %s to function %s exists and is "
                     "not managed by fedbroker (no managed-by=fedbroker tag)\ndelete it or tag "
                     "it yourself", x->queue, fn_name);
            st = FB_CONFLICT;
        }
        json_decref(tags);
    }
    if (st == FB_OK && m && arn) {
        st = record(c, "lambda-event-source-mapping", arn, x->queue, "uuid", aws_str(m, "UUID"));
        json_object_set(entry, "mapping", json_object_get(m, "UUID"));
        json_object_set_new(entry, "mappingArn", json_string(arn));
        json_array_append_new(resources, json_pack("{s:s,s:s,s:s,s:s}", "type",
                                                   "lambda-event-source-mapping", "id", arn,
                                                   "region", c->region, "name", x->queue));
    }
    if (st == FB_OK && m && !created) {
        const char *state = aws_str(m, "State");
        int disabled = state && (!strcmp(state, "Disabled") || !strcmp(state, "Disabling"));
        if (aws_int(m, "BatchSize", -1) != x->batch ||
            aws_int(m, "MaximumBatchingWindowInSeconds", 0) != batch_window(x->batch) || disabled) {
            json_t *b = json_pack("{s:I,s:I,s:b}", "BatchSize", x->batch,
                                  "MaximumBatchingWindowInSeconds", batch_window(x->batch),
                                  "Enabled", 1);
            char *path = fbk_xasprintf("/2015-03-31/event-source-mappings/%s", aws_str(m, "UUID"));
            st = tsend(c, "lambda", "UpdateEventSourceMapping", "PUT", path, NULL, b,
                       FB_HTTP_IDEMPOTENT, &rq, &res);
            free(path);
            json_decref(b);
            if (st == FB_OK && res.err != FB_OK) st = aws_fail(c->diag, &rq, &res, NULL);
            aws_res_clear(&res);
        }
    }
    free(arn);
    json_decref(m);
    return st;
}

static void add_unique(json_t *arr, const char *s)
{
    if (!s) return;
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v) if (!strcmp(json_string_value(v), s)) return;
    json_array_append_new(arr, json_string(s));
}

/* Is s one of the strings of key in the entries of arr? */
static int listed(const json_t *arr, const char *key, const char *s)
{
    size_t i;
    const json_t *e;
    json_array_foreach(arr, i, e) {
        const char *v = aws_str(e, key);
        if (v && s && !strcmp(v, s)) return 1;
    }
    return 0;
}

static fb_status listed_schedules(const tcall *c, const char *fn_name, json_t *out);

/* What the previous deployment (its state, or its records when an apply
 * did not finish) had in this region and the spec no longer has: when it
 * had schedules, the function's schedules are listed and those not wanted
 * deleted; the same for mappings (listed from the function, deleted when
 * ours); its owned queues not wanted are deleted if still ours. Listing
 * instead of trusting the records: a record outlives what it names (a
 * mapping deleted out of band and made again), and a create whose answer
 * was lost has none. */
static fb_status remove_dropped(const tcall *c, const json_t *w, const char *fn_name,
                                const json_t *prev, const json_t *now)
{
    if (!prev) return FB_OK;
    const json_t *pstate = json_object_get(prev, "state");
    const char *pregion = aws_str(pstate, "region") ? aws_str(pstate, "region") : aws_str(prev, "region");
    int same_region = pregion && !strcmp(pregion, c->region);
    int had_sched = 0, had_map = 0;
    json_t *queues = json_array();
    size_t i;
    const json_t *e;
    if (same_region) {
        json_array_foreach(json_object_get(pstate, "triggers"), i, e) {
            const char *kind = aws_str(e, "kind");
            if (kind && !strcmp(kind, "schedule")) had_sched = 1;
            if (kind && !strcmp(kind, "queue")) had_map = 1;
            if (json_is_true(json_object_get(e, "owned"))) add_unique(queues, aws_str(e, "queueUrl"));
        }
    }
    json_array_foreach(json_object_get(prev, "resources"), i, e) {
        const char *t = aws_str(e, "type"), *r = aws_str(e, "region");
        if (!t || (r ? strcmp(r, c->region) != 0 : !same_region)) continue;
        if (!strcmp(t, "scheduler-schedule")) had_sched = 1;
        else if (!strcmp(t, "lambda-event-source-mapping")) had_map = 1;
        else if (!strcmp(t, "sqs-queue")) add_unique(queues, aws_str(e, "id"));
    }
    fb_status st = FB_OK;
    if (had_sched) {
        json_t *names = json_array();
        st = listed_schedules(c, fn_name, names);
        json_array_foreach(names, i, e) {
            if (st != FB_OK) break;
            if (!listed(now, "name", json_string_value(e))) st = delete_schedule(c, json_string_value(e));
        }
        json_decref(names);
    }
    if (st == FB_OK && had_map) {
        json_t *all = NULL;
        st = list_mappings(c, fn_name, NULL, &all);
        json_array_foreach(all, i, e) {
            if (st != FB_OK) break;
            const char *u = aws_str(e, "UUID");
            char *arn = mapping_arn(e);
            json_t *tags = NULL;
            if (u && arn && !listed(now, "mapping", u)) {
                st = mapping_tags(c, arn, &tags);
                if (st == FB_OK && tags_ours(tags, NULL)) st = delete_mapping(c, u);
            }
            json_decref(tags);
            free(arn);
        }
        json_decref(all);
    }
    json_array_foreach(queues, i, e) {
        if (st != FB_OK) break;
        int deleted;
        if (!listed(now, "queueUrl", json_string_value(e)))
            st = delete_queue(c, json_string_value(e), w, &deleted);
    }
    json_decref(queues);
    return st;
}

fb_status aws_triggers_apply(aws_ctx *ctx, const fbk_aws_creds *creds, const json_t *w,
                             const char *region, const char *fn_name, const char *fn_arn,
                             const json_t *prev, json_t *state_triggers, json_t *resources,
                             fb_diag *diag)
{
    tcall c = {ctx, diag, creds, region};
    trigs ts;
    trigs_of(w, fn_name, &ts, NULL);
    fb_status st = FB_OK;
    for (size_t i = 0; i < ts.n && st == FB_OK; i++) {
        const trig *x = &ts.t[i];
        json_t *entry = json_pack("{s:s,s:I}", "kind", x->kind == TRIG_SCHEDULE ? "schedule" : "queue",
                                  "index", (json_int_t)x->index);
        if (x->kind == TRIG_SCHEDULE) {
            json_object_set_new(entry, "name", json_string(x->name));
            st = apply_schedule(&c, w, x, fn_arn, entry, resources);
        } else {
            char *qarn = NULL;
            json_object_set_new(entry, "queue", json_string(x->queue));
            st = apply_queue(&c, w, x, entry, resources, &qarn);
            if (st == FB_OK) st = apply_mapping(&c, w, x, fn_name, qarn, entry, resources);
            free(qarn);
        }
        json_array_append_new(state_triggers, entry);
    }
    if (st == FB_OK) st = remove_dropped(&c, w, fn_name, prev, state_triggers);
    trigs_free(&ts);
    return st;
}

/* ---- observe ------------------------------------------------------------------------------------------ */

static char *field(const trig *x, const char *what)
{
    return fbk_xasprintf("triggers.%zu.%s.%s", x->index, x->kind == TRIG_SCHEDULE ? "schedule"
                                                                                  : "queue", what);
}

static void drift(json_t *arr, const trig *x, const char *what, json_t *want, json_t *live)
{
    char *f = field(x, what);
    aws_drift(arr, f, want, live);
    free(f);
}

/* The mapping the state names for the trigger (its UUID), else the one
 * Lambda lists from the queue to the function: *m new or NULL. */
static fb_status find_mapping(const tcall *c, const json_t *entry, const char *fn_name,
                              const char *qarn, json_t **m)
{
    *m = NULL;
    const char *u = aws_str(entry, "mapping");
    if (u) {
        char *path = fbk_xasprintf("/2015-03-31/event-source-mappings/%s", u);
        aws_req rq;
        aws_res res;
        fb_status st = tsend(c, "lambda", "GetEventSourceMapping", "GET", path, NULL, NULL,
                             FB_HTTP_IDEMPOTENT, &rq, &res);
        free(path);
        if (st == FB_OK && res.err == FB_OK) *m = res.body ? json_incref(res.body) : json_object();
        else if (st == FB_OK && res.err != FB_NOTFOUND) st = aws_fail(c->diag, &rq, &res, NULL);
        aws_res_clear(&res);
        return st;
    }
    if (!qarn) return FB_OK;
    json_t *found;
    fb_status st = list_mappings(c, fn_name, qarn, &found);
    if (st == FB_OK && json_array_size(found)) *m = json_incref(json_array_get(found, 0));
    json_decref(found);
    return st;
}

/* The state's entry for trigger x (borrowed) or NULL. */
static const json_t *state_entry(const json_t *dep, const trig *x)
{
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(json_object_get(dep, "state"), "triggers"), i, e) {
        if (aws_int(e, "index", -1) == (json_int_t)x->index) return e;
    }
    return NULL;
}

fb_status aws_triggers_observe(aws_ctx *ctx, const fbk_aws_creds *creds, const json_t *w,
                               const char *region, const char *fn_name, const json_t *dep,
                               json_t *drift_out, fb_diag *diag)
{
    tcall c = {ctx, diag, creds, region};
    trigs ts;
    trigs_of(w, fn_name, &ts, NULL);
    fb_status st = FB_OK;
    const char *acct = ctx->account_id;
    for (size_t i = 0; i < ts.n && st == FB_OK; i++) {
        const trig *x = &ts.t[i];
        if (x->kind == TRIG_SCHEDULE) {
            json_t *live;
            st = get_schedule(&c, x->name, &live);
            if (st != FB_OK) break;
            if (!live) { /* gone: the one thing to say */
                drift(drift_out, x, "name", json_string(x->name), NULL);
                continue;
            }
            const json_t *lt = json_object_get(live, "Target");
            drift(drift_out, x, "expression", x->expression ? json_string(x->expression) : NULL,
                  aws_copy(json_object_get(live, "ScheduleExpression")));
            drift(drift_out, x, "timezone", json_string(x->timezone),
                  aws_copy(json_object_get(live, "ScheduleExpressionTimezone")));
            drift(drift_out, x, "state", json_string("ENABLED"), aws_copy(json_object_get(live, "State")));
            const char *ltarget = aws_str(lt, "Arn");
            const char *suffix = ltarget ? strstr(ltarget, ":function:") : NULL;
            drift(drift_out, x, "target", json_string(fn_name),
                  suffix ? json_string(suffix + 10) : aws_copy(json_object_get(lt, "Arn")));
            drift(drift_out, x, "role", ctx->scheduler_role ? json_string(ctx->scheduler_role) : NULL,
                  aws_copy(json_object_get(lt, "RoleArn")));
            json_decref(live);
            continue;
        }
        /* the queue: it exists (ours or referenced), and the mapping from it */
        char *url = NULL, *qarn = NULL;
        st = queue_url(&c, x->queue, &url);
        if (st == FB_OK && url) st = queue_arn(&c, url, &qarn);
        drift(drift_out, x, "queue", json_string(x->queue), url ? json_string(x->queue) : NULL);
        const json_t *entry = state_entry(dep, x);
        json_t *m = NULL;
        if (st == FB_OK) st = find_mapping(&c, entry, fn_name, qarn, &m);
        const char *state = aws_str(m, "State");
        /* Creating/Updating/Enabling settle as Enabled: not drift */
        const char *live_state = !m ? NULL
                                : state && (!strcmp(state, "Disabled") || !strcmp(state, "Disabling"))
                                    ? "Disabled" : "Enabled";
        drift(drift_out, x, "mapping", json_string("Enabled"),
              live_state ? json_string(live_state) : NULL);
        if (m) {
            drift(drift_out, x, "batchSize", json_integer(x->batch),
                  aws_copy(json_object_get(m, "BatchSize")));
            char *want_src = qarn ? fbk_xstrdup(qarn)
                           : acct ? fbk_xasprintf("arn:aws:sqs:%s:%s:%s", region, acct, x->queue)
                                  : NULL;
            drift(drift_out, x, "source", want_src ? json_string(want_src) : NULL,
                  aws_copy(json_object_get(m, "EventSourceArn")));
            free(want_src);
        }
        json_decref(m);
        free(url);
        free(qarn);
    }
    trigs_free(&ts);
    return st;
}

/* ---- destroy ------------------------------------------------------------------------------------------ */

/* ListSchedules (default group), every page, with NamePrefix when prefix
 * is given: *out new array of the summaries. Nothing to list (404) is none. */
static fb_status list_schedules(const tcall *c, const char *prefix, json_t **out)
{
    *out = json_array();
    char *token = NULL;
    fb_status st = FB_OK;
    for (int page = 0; page < 1000 && st == FB_OK; page++) {
        fbk_buf q;
        fbk_buf_init(&q);
        fbk_buf_puts(&q, "MaxResults=100");
        if (prefix) {
            fbk_buf_puts(&q, "&NamePrefix=");
            fbk_uri_encode(&q, prefix, strlen(prefix), 0);
        }
        if (token) {
            fbk_buf_puts(&q, "&NextToken=");
            fbk_uri_encode(&q, token, strlen(token), 0);
        }
        aws_req rq;
        aws_res res;
        st = tsend(c, "scheduler", "ListSchedules", "GET", "/schedules", q.data, NULL,
                   FB_HTTP_IDEMPOTENT, &rq, &res);
        fbk_buf_free(&q);
        free(token);
        token = NULL;
        if (st == FB_OK && res.err == FB_NOTFOUND) {
            aws_res_clear(&res);
            break;
        }
        if (st == FB_OK && res.err != FB_OK) st = aws_fail(c->diag, &rq, &res, NULL);
        size_t i;
        json_t *s;
        json_array_foreach(json_object_get(res.body, "Schedules"), i, s) {
            const char *g = aws_str(s, "GroupName");
            if (!g || !strcmp(g, "default")) json_array_append(*out, s);
        }
        if (st == FB_OK && aws_str(res.body, "NextToken"))
            token = fbk_xstrdup(aws_str(res.body, "NextToken"));
        aws_res_clear(&res);
        if (!token) break;
    }
    free(token);
    return st;
}

/* The schedules named after the function (NAME-sN) whose target is it:
 * their names appended to out. */
static fb_status listed_schedules(const tcall *c, const char *fn_name, json_t *out)
{
    char *base = schedule_base(fn_name);
    char *prefix = fbk_xasprintf("%s-s", base);
    free(base);
    size_t plen = strlen(prefix);
    json_t *all;
    fb_status st = list_schedules(c, prefix, &all);
    size_t i;
    const json_t *s;
    json_array_foreach(all, i, s) {
        const char *name = aws_str(s, "Name");
        const char *target = aws_str(json_object_get(s, "Target"), "Arn");
        const char *fn = target ? strstr(target, ":function:") : NULL;
        if (!name || strncmp(name, prefix, plen) != 0 || !name[plen] ||
            strspn(name + plen, "0123456789") != strlen(name + plen) || !fn ||
            strcmp(fn + 10, fn_name) != 0)
            continue;
        json_array_append_new(out, json_string(name));
    }
    json_decref(all);
    free(prefix);
    return st;
}

fb_status aws_triggers_destroy(aws_ctx *ctx, const fbk_aws_creds *creds, const char *region,
                               const char *fn_name, const json_t *dep, json_t *deleted,
                               fb_diag *diag)
{
    tcall c = {ctx, diag, creds, region};
    json_t *schedules = json_array(), *mappings = json_array(), *queues = json_array();
    const json_t *state = json_object_get(dep, "state");
    const char *state_region = aws_str(state, "region") ? aws_str(state, "region")
                                                        : aws_str(dep, "region");
    size_t i;
    const json_t *e;
    if (state_region && !strcmp(state_region, region) && aws_str(state, "functionName") &&
        !strcmp(aws_str(state, "functionName"), fn_name)) {
        json_array_foreach(json_object_get(state, "triggers"), i, e) {
            if (aws_str(e, "name") && aws_str(e, "kind") && !strcmp(aws_str(e, "kind"), "schedule"))
                add_unique(schedules, aws_str(e, "name"));
            add_unique(mappings, aws_str(e, "mappingArn") ? aws_str(e, "mappingArn")
                                                         : aws_str(e, "mapping"));
            if (json_is_true(json_object_get(e, "owned"))) add_unique(queues, aws_str(e, "queueUrl"));
        }
    }
    json_array_foreach(json_object_get(dep, "resources"), i, e) {
        const char *t = aws_str(e, "type"), *r = aws_str(e, "region");
        if (!t || (r ? strcmp(r, region) : !state_region || strcmp(state_region, region))) continue;
        if (!strcmp(t, "scheduler-schedule")) add_unique(schedules, aws_str(e, "name"));
        else if (!strcmp(t, "lambda-event-source-mapping")) add_unique(mappings, aws_str(e, "id"));
        else if (!strcmp(t, "sqs-queue")) add_unique(queues, aws_str(e, "id"));
    }
    /* and what names the function without a record (an answer lost) */
    json_t *listed_s = json_array(), *listed_m = NULL;
    fb_status st = listed_schedules(&c, fn_name, listed_s);
    json_array_foreach(listed_s, i, e) add_unique(schedules, json_string_value(e));
    json_decref(listed_s);
    if (st == FB_OK) st = list_mappings(&c, fn_name, NULL, &listed_m);
    json_array_foreach(listed_m, i, e) {
        char *arn = mapping_arn(e);
        add_unique(mappings, arn);
        free(arn);
    }
    json_decref(listed_m);
    json_array_foreach(schedules, i, e) {
        if (st != FB_OK) break;
        st = delete_schedule(&c, json_string_value(e));
        if (st == FB_OK) json_array_append(deleted, (json_t *)e);
    }
    json_t *seen_uuid = json_object();
    json_array_foreach(mappings, i, e) {
        if (st != FB_OK) break;
        const char *u = mapping_uuid(json_string_value(e));
        if (json_object_get(seen_uuid, u)) continue; /* the UUID and the ARN of one mapping */
        json_object_set_new(seen_uuid, u, json_true());
        st = delete_mapping(&c, json_string_value(e));
        if (st == FB_OK) json_array_append(deleted, (json_t *)e);
    }
    json_decref(seen_uuid);
    json_array_foreach(queues, i, e) {
        if (st != FB_OK) break;
        int gone = 0;
        st = delete_queue(&c, json_string_value(e), NULL, &gone);
        if (st == FB_OK && gone) json_array_append(deleted, (json_t *)e);
    }
    json_decref(schedules);
    json_decref(mappings);
    json_decref(queues);
    return st;
}

/* ---- discover ------------------------------------------------------------------------------------------ */

/* "fedbroker TENANT/NAME" -> r's tenant and workload. */
static void from_description(json_t *r, const char *desc)
{
    if (!desc || strncmp(desc, "fedbroker ", 10) != 0) return;
    const char *slash = strchr(desc + 10, '/');
    if (!slash) return;
    json_object_set_new(r, "tenant", json_stringn(desc + 10, (size_t)(slash - desc - 10)));
    json_object_set_new(r, "workload", json_string(slash + 1));
}

static void from_tags(json_t *r, const json_t *tags)
{
    if (aws_str(tags, "workload")) json_object_set(r, "workload", json_object_get(tags, "workload"));
    if (aws_str(tags, "tenant")) json_object_set(r, "tenant", json_object_get(tags, "tenant"));
}

static fb_status discover_schedules(const tcall *c, json_t *resources)
{
    json_t *all;
    fb_status st = list_schedules(c, NULL, &all);
    size_t i;
    const json_t *s;
    json_array_foreach(all, i, s) {
        if (st != FB_OK) break;
        const char *name = aws_str(s, "Name"), *arn = aws_str(s, "Arn");
        if (!name || !arn) continue;
        json_t *live;
        /* the Description (ours or not) is not in the listing */
        st = get_schedule(c, name, &live);
        if (st != FB_OK || !live) continue;
        const char *desc = aws_str(live, "Description");
        json_t *r = json_pack("{s:s,s:s,s:s,s:s,s:b}", "type", "scheduler-schedule", "id", arn,
                              "region", c->region, "name", name, "managed",
                              desc && !strncmp(desc, "fedbroker ", 10));
        from_description(r, desc);
        json_array_append_new(resources, r);
        json_decref(live);
    }
    json_decref(all);
    return st;
}

static fb_status discover_mappings(const tcall *c, json_t *resources)
{
    json_t *all;
    fb_status st = list_mappings(c, NULL, NULL, &all);
    size_t i;
    const json_t *m;
    json_array_foreach(all, i, m) {
        if (st != FB_OK) break;
        char *arn = mapping_arn(m);
        if (!arn) continue;
        json_t *tags = NULL;
        st = mapping_tags(c, arn, &tags);
        if (st == FB_OK) {
            const char *src = aws_str(m, "EventSourceArn");
            const char *q = src ? strrchr(src, ':') : NULL;
            json_t *r = json_pack("{s:s,s:s,s:s,s:s?,s:b}", "type", "lambda-event-source-mapping",
                                  "id", arn, "region", c->region, "name", q ? q + 1 : NULL,
                                  "managed", tags_ours(tags, NULL));
            from_tags(r, tags);
            json_array_append_new(resources, r);
        }
        json_decref(tags);
        free(arn);
    }
    json_decref(all);
    return st;
}

static fb_status discover_queues(const tcall *c, json_t *resources)
{
    char *token = NULL;
    fb_status st = FB_OK;
    for (int page = 0; page < 1000 && st == FB_OK; page++) {
        json_t *b = json_pack("{s:I}", "MaxResults", (json_int_t)1000);
        if (token) json_object_set_new(b, "NextToken", json_string(token));
        aws_req rq;
        aws_res res;
        st = sqs(c, "ListQueues", b, FB_HTTP_IDEMPOTENT, &rq, &res);
        json_decref(b);
        free(token);
        token = NULL;
        if (st == FB_OK && res.err != FB_OK) st = aws_fail(c->diag, &rq, &res, NULL);
        size_t i;
        const json_t *u;
        json_array_foreach(json_object_get(res.body, "QueueUrls"), i, u) {
            if (st != FB_OK) break;
            const char *url = json_string_value(u);
            if (!url) continue;
            json_t *tags;
            int gone;
            st = queue_tags(c, url, &tags, &gone);
            if (st != FB_OK || gone) continue;
            const char *name = strrchr(url, '/');
            json_t *r = json_pack("{s:s,s:s,s:s,s:s?,s:b}", "type", "sqs-queue", "id", url,
                                  "region", c->region, "name", name ? name + 1 : NULL, "managed",
                                  tags_ours(tags, NULL));
            from_tags(r, tags);
            json_array_append_new(resources, r);
            json_decref(tags);
        }
        if (st == FB_OK && aws_str(res.body, "NextToken"))
            token = fbk_xstrdup(aws_str(res.body, "NextToken"));
        aws_res_clear(&res);
        if (!token) break;
    }
    free(token);
    return st;
}

fb_status aws_triggers_discover(aws_ctx *ctx, const fbk_aws_creds *creds, const char *region,
                                json_t *resources, fb_diag *diag)
{
    tcall c = {ctx, diag, creds, region};
    fb_status st = discover_schedules(&c, resources);
    if (st == FB_OK) st = discover_mappings(&c, resources);
    if (st == FB_OK) st = discover_queues(&c, resources);
    return st;
}
