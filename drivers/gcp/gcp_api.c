/* gcp_api.c - how the gcp driver talks to Google: one REST call with an
 * access token (the kit's Application Default Credentials), Google's error
 * bodies (google.rpc.Status) mapped to fb_status, long-running operations
 * polled with backoff, IAM policies read-modify-written with their etag,
 * paged lists, and the comparison behind drift and updates. */
#include "config.h"
#include "gcp.h"
#include "base/jsonwrite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IAM_ATTEMPTS 5
#define POLL_INITIAL_MS 1000
#define POLL_MAX_MS 60000

static const char *const api_names[GCP_API_N] = {"run", "cloudfunctions", "cloudscheduler", "pubsub",
                                                  "secretmanager", "iam"};

void gcp_res_clear(gcp_res *r)
{
    json_decref(r->body);
    free(r->code);
    free(r->message);
    memset(r, 0, sizeof *r);
}

/* google.rpc.Code names -> fb_status. HTTP 429 is throttling (retried by
 * the host for idempotent calls); RESOURCE_EXHAUSTED without it is a quota. */
static fb_status map_code(const char *code, long http)
{
    if (http == 429) return FB_RETRYABLE;
    if (!code) {
        if (http == 404) return FB_NOTFOUND;
        if (http == 409) return FB_CONFLICT;
        if (http == 401 || http == 403) return FB_AUTH;
        if (http >= 500) return FB_RETRYABLE;
        return FB_INVALID;
    }
    static const struct {
        const char *code;
        fb_status st;
    } map[] = {
        {"NOT_FOUND", FB_NOTFOUND},        {"ALREADY_EXISTS", FB_CONFLICT},   {"ABORTED", FB_CONFLICT},
        {"PERMISSION_DENIED", FB_AUTH},    {"UNAUTHENTICATED", FB_AUTH},      {"RESOURCE_EXHAUSTED", FB_QUOTA},
        {"UNAVAILABLE", FB_RETRYABLE},     {"INTERNAL", FB_RETRYABLE},        {"DEADLINE_EXCEEDED", FB_RETRYABLE},
        {"UNKNOWN", FB_RETRYABLE},         {"INVALID_ARGUMENT", FB_INVALID},  {"FAILED_PRECONDITION", FB_INVALID},
        {"OUT_OF_RANGE", FB_INVALID},      {"UNIMPLEMENTED", FB_INVALID},     {"CANCELLED", FB_RETRYABLE},
        {"DATA_LOSS", FB_INTERNAL},
    };
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (!strcmp(map[i].code, code)) return map[i].st;
    return FB_INVALID;
}

/* A google.rpc.Code number as its name (operation errors carry numbers). */
static const char *code_name(long n)
{
    static const char *const names[] = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
                                        "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
                                        "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
                                        "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
    return n >= 0 && n < (long)(sizeof names / sizeof *names) ? names[n] : "UNKNOWN";
}

fb_status gcp_call(fb_driver_ctx *ctx, fb_diag *diag, const gcp_req *rq, gcp_res *res)
{
    return gcp_call_secret(ctx, diag, rq, NULL, res);
}

fb_status gcp_call_secret(fb_driver_ctx *ctx, fb_diag *diag, const gcp_req *rq, const char *secret, gcp_res *res)
{
    memset(res, 0, sizeof *res);
    fbk_buf url;
    fbk_buf_init(&url);
    fbk_buf_printf(&url, "%s/%s", ctx->endpoints[rq->api], rq->path);
    if (rq->query && *rq->query) fbk_buf_printf(&url, "?%s", rq->query);
    /* compact and sorted: the same request is the same bytes (dry runs
     * compare byte for byte) */
    char *body = rq->body ? fbi_json_write(rq->body, FBI_JSON_WRITE_SORT) : NULL;
    fb_http_header h[] = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
    fb_http_request req = {.struct_size = sizeof req, .method = rq->method, .url = url.data,
                           .headers = body ? h : h + 1, .n_headers = body ? 2 : 1, .body = body,
                           .body_len = body ? strlen(body) : 0, .flags = rq->flags,
                           .service = api_names[rq->api], .secrets = secret ? &secret : NULL,
                           .n_secrets = secret ? 1 : 0};
    fb_http_response resp;
    fb_status st = fbk_gauth_send(ctx->auth, gcp_host, diag, &req, &resp);
    fbk_buf_free(&url);
    free(body);
    if (st != FB_OK) return st;
    res->status = resp.status;
    if (gcp_host->dry_run(diag)) {
        gcp_host->http_free(&resp);
        return FB_OK; /* recorded, not sent */
    }
    res->body = resp.body_len ? json_loadb(resp.body, resp.body_len, 0, NULL) : NULL;
    if (resp.status >= 200 && resp.status < 300) {
        res->err = FB_OK;
    } else {
        const json_t *e = json_object_get(res->body, "error");
        const char *code = json_string_value(json_object_get(e, "status"));
        const char *msg = json_string_value(json_object_get(e, "message"));
        res->code = code ? fbk_xstrdup(code) : NULL;
        if (msg) res->message = fbk_xstrdup(msg);
        else if (resp.body_len) res->message = fbk_xstrndup(resp.body, resp.body_len > 300 ? 300 : resp.body_len);
        res->err = map_code(code, resp.status);
    }
    gcp_host->http_free(&resp);
    return FB_OK;
}

/* The field violations of an error's BadRequest details, one per line. */
static void violations(fbk_buf *b, const json_t *body)
{
    size_t i, k;
    const json_t *d, *v;
    json_array_foreach(json_object_get(json_object_get(body, "error"), "details"), i, d) {
        json_array_foreach(json_object_get(d, "fieldViolations"), k, v) {
            const char *f = json_string_value(json_object_get(v, "field"));
            const char *m = json_string_value(json_object_get(v, "description"));
            fbk_buf_printf(b, "\n  %s: %s", f ? f : "(field)", m ? m : "");
        }
    }
}

fb_status gcp_fail(fb_diag *diag, const gcp_req *rq, const gcp_res *res, const char *hint)
{
    fbk_buf b;
    fbk_buf_init(&b);
    fbk_buf_printf(&b, "gcp: %s %s failed: HTTP %ld%s%s: %s", api_names[rq->api], rq->what, res->status,
                   res->code ? " " : "", res->code ? res->code : "", res->message ? res->message : "(no message)");
    violations(&b, res->body);
    if (hint) fbk_buf_printf(&b, "%s%s", strchr(b.data, '\n') ? "\n" : "\n", hint);
    fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL, "%s", b.data);
    fbk_buf_free(&b);
    return res->err != FB_OK ? res->err : FB_INTERNAL;
}

/* The operation's wire path: its name is "projects/P/locations/L/operations/ID";
 * Run and Functions keep it under v2, the v1 APIs under v1. */
static char *op_path(gcp_api api, const char *name)
{
    return fbk_xasprintf("%s/%s", api == GCP_API_RUN || api == GCP_API_FUNCTIONS ? "v2" : "v1", name);
}

fb_status gcp_wait(fb_driver_ctx *ctx, fb_diag *diag, gcp_api api, const char *what, const json_t *op,
                   json_t **result)
{
    if (result) *result = NULL;
    if (gcp_host->dry_run(diag)) return FB_OK;
    const char *name = json_string_value(json_object_get(op, "name"));
    if (!name) {
        fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL, "gcp: %s %s answered without an operation name",
                 api_names[api], what);
        return FB_INTERNAL;
    }
    json_t *cur = json_deep_copy(op);
    char *path = op_path(api, name);
    /* google-api-core's polling: 1 s, doubling, at most 60 s apart; the
     * deadline counts the time slept, so a host that shortens sleeps (tests)
     * still gives up after the same number of polls */
    uint32_t delay = POLL_INITIAL_MS;
    int64_t slept = 0, t0 = gcp_host->now();
    fb_status st = FB_OK;
    while (!json_is_true(json_object_get(cur, "done"))) {
        if (slept >= ctx->op_timeout_ms ||
            (gcp_host->now() - t0) * 1000 >= ctx->op_timeout_ms) {
            fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL,
                     "gcp: %s %s: operation %s did not finish within %lld s\nit may still finish: run "
                     "`fedbroker status` or apply again later (settings.operationTimeout raises the wait)",
                     api_names[api], what, name, (long long)(ctx->op_timeout_ms / 1000));
            st = FB_RETRYABLE;
            break;
        }
        gcp_host->sleep_ms(diag, delay);
        slept += delay;
        delay = delay * 2 > POLL_MAX_MS ? POLL_MAX_MS : delay * 2;
        gcp_req rq = {api, "operations.get", "GET", path, NULL, NULL, FB_HTTP_IDEMPOTENT};
        gcp_res res;
        st = gcp_call(ctx, diag, &rq, &res);
        if (st == FB_OK && res.err != FB_OK) st = gcp_fail(diag, &rq, &res, NULL);
        if (st == FB_OK) {
            json_decref(cur);
            cur = res.body ? json_incref(res.body) : json_object();
        }
        gcp_res_clear(&res);
        if (st != FB_OK) break;
    }
    if (st == FB_OK) {
        const json_t *err = json_object_get(cur, "error");
        if (err) {
            long code = (long)json_integer_value(json_object_get(err, "code"));
            const char *msg = json_string_value(json_object_get(err, "message"));
            fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL, "gcp: %s %s: operation %s failed: %s: %s",
                     api_names[api], what, name, code_name(code), msg ? msg : "(no message)");
            /* the work failed where Google ran it: a failed precondition
             * (a revision or build that did not come up) is an operation
             * that failed, not input to correct (exit 1, not 2) */
            st = map_code(code_name(code), 0);
            if (st == FB_OK) st = FB_INTERNAL;
            if (code == 9 /* FAILED_PRECONDITION */) st = FB_CONFLICT;
        } else if (result && json_object_get(cur, "response")) {
            *result = json_deep_copy(json_object_get(cur, "response"));
        }
    }
    json_decref(cur);
    free(path);
    return st;
}

fb_status gcp_wait_pending(fb_driver_ctx *ctx, fb_diag *diag, gcp_api api, const char *parent, const char *target,
                           int *found)
{
    *found = 0;
    char *p = fbk_xasprintf("v2/%s/operations", parent);
    json_t *ops = json_array();
    fb_status st = gcp_list(ctx, diag, api, "operations.list", p, "operations", ops);
    free(p);
    const json_t *pending = NULL;
    size_t i;
    json_t *op;
    json_array_foreach(ops, i, op) {
        if (json_is_true(json_object_get(op, "done"))) continue;
        const json_t *m = json_object_get(op, "metadata");
        /* Run's metadata is the service; Functions' names its target */
        const char *n = json_string_value(json_object_get(m, "name"));
        const char *t = json_string_value(json_object_get(m, "target"));
        if ((n && !strcmp(n, target)) || (t && !strcmp(t, target))) pending = op; /* the latest wins */
    }
    if (st == FB_OK && pending) {
        *found = 1;
        st = gcp_wait(ctx, diag, api, "operations.get", pending, NULL);
    }
    json_decref(ops);
    return st;
}

/* ---- IAM policies ------------------------------------------------------------------ */

/* Whether the policy's role binding (unconditional) lists member. */
static json_t *binding(json_t *policy, const char *role, int create)
{
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(policy, "bindings"), i, b) {
        if (!json_object_get(b, "condition") && json_string_value(json_object_get(b, "role")) &&
            !strcmp(json_string_value(json_object_get(b, "role")), role))
            return b;
    }
    if (!create) return NULL;
    if (!json_is_array(json_object_get(policy, "bindings"))) json_object_set_new(policy, "bindings", json_array());
    b = json_pack("{s:s,s:[]}", "role", role, "members");
    json_array_append_new(json_object_get(policy, "bindings"), b);
    return b;
}

static int has_member(json_t *b, const char *member)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(b, "members"), i, m)
        if (json_string_value(m) && !strcmp(json_string_value(m), member)) return 1;
    return 0;
}

/* IAM's own getIamPolicy (service accounts, pools) is a POST; Run's,
 * Functions' and Secret Manager's a GET (their discovery documents). */
static const char *policy_read_method(gcp_api api)
{
    return api == GCP_API_IAM ? "POST" : "GET";
}

fb_status gcp_iam_policy(fb_driver_ctx *ctx, fb_diag *diag, gcp_api api, const char *path, json_t **policy)
{
    *policy = NULL;
    char *p = fbk_xasprintf("%s:getIamPolicy", path);
    gcp_req rq = {api, "getIamPolicy", policy_read_method(api), p, "options.requestedPolicyVersion=3", NULL,
                  FB_HTTP_IDEMPOTENT | FB_HTTP_READ_ONLY};
    gcp_res res;
    fb_status st = gcp_call(ctx, diag, &rq, &res);
    if (st == FB_OK && res.err != FB_OK) st = gcp_fail(diag, &rq, &res, NULL);
    if (st == FB_OK) *policy = res.body ? json_incref(res.body) : json_object();
    gcp_res_clear(&res);
    free(p);
    return st;
}

fb_status gcp_iam_holds(fb_driver_ctx *ctx, fb_diag *diag, gcp_api api, const char *path, const char *role,
                        const char *member, int *holds)
{
    *holds = 0;
    json_t *pol = NULL;
    fb_status st = gcp_iam_policy(ctx, diag, api, path, &pol);
    if (st == FB_OK) {
        json_t *b = binding(pol, role, 0);
        *holds = b && has_member(b, member);
    }
    json_decref(pol);
    return st;
}

fb_status gcp_iam_member(fb_driver_ctx *ctx, fb_diag *diag, gcp_api api, const char *path, const char *role,
                         const char *member, int add, int *changed)
{
    if (changed) *changed = 0;
    char *get = fbk_xasprintf("%s:getIamPolicy", path), *set = fbk_xasprintf("%s:setIamPolicy", path);
    fb_status st = FB_OK;
    if (gcp_host->dry_run(diag)) {
        /* nothing is read in a dry run: the write shown is the binding */
        if (add) {
            json_t *body = json_pack("{s:{s:[{s:s,s:[s]}]}}", "policy", "bindings", "role", role, "members",
                                     member);
            gcp_req rq = {api, "setIamPolicy", "POST", set, NULL, body, FB_HTTP_TOKEN_GUARDED};
            gcp_res res;
            st = gcp_call(ctx, diag, &rq, &res);
            gcp_res_clear(&res);
            json_decref(body);
        }
        free(get);
        free(set);
        return st;
    }
    for (int attempt = 0; attempt < IAM_ATTEMPTS; attempt++) {
        gcp_req rq = {api, "getIamPolicy", policy_read_method(api), get, "options.requestedPolicyVersion=3", NULL,
                      FB_HTTP_IDEMPOTENT | FB_HTTP_READ_ONLY};
        gcp_res res;
        st = gcp_call(ctx, diag, &rq, &res);
        if (st == FB_OK && res.err != FB_OK) st = gcp_fail(diag, &rq, &res, NULL);
        if (st != FB_OK) {
            gcp_res_clear(&res);
            break;
        }
        json_t *policy = res.body ? json_incref(res.body) : json_object();
        gcp_res_clear(&res);
        json_t *b = binding(policy, role, add);
        int present = b && has_member(b, member);
        if (present == add) {
            json_decref(policy);
            break; /* already as wanted: nothing to write */
        }
        if (add) {
            json_array_append_new(json_object_get(b, "members"), json_string(member));
        } else {
            json_t *ms = json_object_get(b, "members");
            for (size_t i = json_array_size(ms); i-- > 0;)
                if (!strcmp(json_string_value(json_array_get(ms, i)) ? json_string_value(json_array_get(ms, i)) : "",
                            member))
                    json_array_remove(ms, i);
            if (!json_array_size(ms)) {
                json_t *bs = json_object_get(policy, "bindings");
                for (size_t i = json_array_size(bs); i-- > 0;)
                    if (json_array_get(bs, i) == b) json_array_remove(bs, i);
            }
        }
        /* the etag read above guards the write: a concurrent change makes
         * it fail (ABORTED) instead of being overwritten */
        json_t *body = json_pack("{s:O}", "policy", policy);
        json_decref(policy);
        gcp_req wq = {api, "setIamPolicy", "POST", set, NULL, body, FB_HTTP_TOKEN_GUARDED};
        st = gcp_call(ctx, diag, &wq, &res);
        json_decref(body);
        if (st == FB_OK && res.err == FB_OK) {
            if (changed) *changed = 1;
            gcp_res_clear(&res);
            break;
        }
        int again = st == FB_OK && res.err == FB_CONFLICT && attempt + 1 < IAM_ATTEMPTS;
        if (st == FB_OK && !again) st = gcp_fail(diag, &wq, &res, NULL);
        gcp_res_clear(&res);
        if (!again) break;
        gcp_host->sleep_ms(diag, 200u << attempt); /* Google: retry the whole read-modify-write */
    }
    free(get);
    free(set);
    return st;
}

/* ---- lists ---------------------------------------------------------------------------- */

fb_status gcp_list(fb_driver_ctx *ctx, fb_diag *diag, gcp_api api, const char *what, const char *path,
                   const char *key, json_t *items)
{
    char *token = NULL;
    fb_status st = FB_OK;
    for (int page = 0; page < 10000; page++) {
        fbk_buf q;
        fbk_buf_init(&q);
        fbk_buf_puts(&q, "pageSize=100");
        if (token) {
            fbk_buf_puts(&q, "&pageToken=");
            fbk_uri_encode(&q, token, strlen(token), 0);
        }
        gcp_req rq = {api, what, "GET", path, q.data, NULL, FB_HTTP_IDEMPOTENT};
        gcp_res res;
        st = gcp_call(ctx, diag, &rq, &res);
        fbk_buf_free(&q);
        free(token);
        token = NULL;
        if (st == FB_OK && res.err != FB_OK) st = gcp_fail(diag, &rq, &res, NULL);
        if (st == FB_OK) {
            size_t i;
            json_t *it;
            json_array_foreach(json_object_get(res.body, key), i, it) json_array_append(items, it);
            const char *next = json_string_value(json_object_get(res.body, "nextPageToken"));
            if (next && *next) token = fbk_xstrdup(next);
        }
        gcp_res_clear(&res);
        if (st != FB_OK || !token) break;
    }
    free(token);
    return st;
}

/* ---- comparison ------------------------------------------------------------------------ */

static int diff(const json_t *want, const json_t *live, fbk_buf *path, json_t *drift)
{
    size_t mark = path->len;
    int any = 0;
    if (json_is_object(want) && json_is_object(live)) {
        const char **keys;
        size_t n;
        keys = fbk_sorted_keys((json_t *)want, &n);
        for (size_t i = 0; i < n; i++) {
            fbk_buf_printf(path, "%s%s", path->len ? "." : "", keys[i]);
            any |= diff(json_object_get(want, keys[i]), json_object_get(live, keys[i]), path, drift);
            path->len = mark;
            path->data[mark] = '\0';
        }
        free(keys);
        return any;
    }
    if (json_is_array(want) && json_is_array(live) && json_array_size(want) == json_array_size(live)) {
        for (size_t i = 0; i < json_array_size(want); i++) {
            fbk_buf_printf(path, "[%zu]", i);
            any |= diff(json_array_get(want, i), json_array_get(live, i), path, drift);
            path->len = mark;
            path->data[mark] = '\0';
        }
        return any;
    }
    if (live && json_equal((json_t *)want, (json_t *)live)) return 0;
    if (drift)
        json_array_append_new(drift, json_pack("{s:s,s:O,s:O?}", "field", path->data ? path->data : "", "want",
                                               want, "live", live));
    return 1;
}

int gcp_drift(const json_t *want, const json_t *live, const char *prefix, json_t *drift)
{
    fbk_buf path;
    fbk_buf_init(&path);
    fbk_buf_puts(&path, prefix ? prefix : "");
    int any = diff(want, live, &path, drift);
    fbk_buf_free(&path);
    return any;
}

int gcp_labels_ours(const json_t *labels, const fbk_wl *wl)
{
    const char *mb = json_string_value(json_object_get(labels, "managed-by"));
    if (!mb || strcmp(mb, "fedbroker") != 0) return 0;
    const char *w = json_string_value(json_object_get(labels, "workload"));
    const char *t = json_string_value(json_object_get(labels, "tenant"));
    if (!wl) return 1;
    json_t *want = gcp_labels_of(wl);
    const char *ww = json_string_value(json_object_get(want, "workload"));
    const char *wt = json_string_value(json_object_get(want, "tenant"));
    int same = w && t && ww && wt && !strcmp(w, ww) && !strcmp(t, wt);
    json_decref(want);
    return same ? 1 : -1;
}

json_t *gcp_found(const char *type, const char *name, const char *region, const json_t *labels)
{
    const char *slash = strrchr(name, '/');
    json_t *r = json_pack("{s:s,s:s,s:s,s:b}", "type", type, "id", name, "name", slash ? slash + 1 : name,
                          "managed", gcp_labels_ours(labels, NULL) != 0);
    if (region) json_object_set_new(r, "region", json_string(region));
    if (json_string_value(json_object_get(labels, "workload")))
        json_object_set(r, "workload", json_object_get(labels, "workload"));
    if (json_string_value(json_object_get(labels, "tenant")))
        json_object_set(r, "tenant", json_object_get(labels, "tenant"));
    return r;
}

void gcp_found_endpoint(json_t *r, const char *url, const char *health)
{
    /* only a managed workload's endpoint can be keyed in the broker's table */
    if (!url || !*url || !json_is_true(json_object_get(r, "managed")) || !json_object_get(r, "workload") ||
        !json_object_get(r, "tenant"))
        return;
    json_t *e = json_pack("{s:s}", "url", url);
    if (health) json_object_set_new(e, "health", json_string(health));
    json_object_set_new(r, "endpoints", json_pack("[o]", e));
}

fb_status gcp_record(fb_diag *diag, const json_t *prev, const char *type, const char *id, const char *region,
                     const char *name)
{
    if (gcp_host->dry_run(diag)) return FB_OK;
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(prev, "resources"), i, r) {
        const char *t = json_string_value(json_object_get(r, "type"));
        const char *v = json_string_value(json_object_get(r, "id"));
        if (t && v && !strcmp(t, type) && !strcmp(v, id)) return FB_OK; /* stored already */
    }
    json_t *rec = json_pack("{s:s,s:s,s:s?,s:s?}", "type", type, "id", id, "region", region, "name", name);
    char *text = fbi_json_write(rec, FBI_JSON_WRITE_SORT);
    json_decref(rec);
    fb_status st = gcp_host->record(diag, text);
    free(text);
    return st;
}
