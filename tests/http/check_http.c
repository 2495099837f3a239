/* check_http.c - the host HTTP service against a fault-injecting server on
 * 127.0.0.1 (tests/http/fault_server.c), and its retry policy against
 * botocore (tests/http/botocore_ref.py), the AWS SDK whose "standard" retry
 * mode it follows. No assertion depends on how fast the machine is: delays
 * are measured through the service's own (scaled) clock. */
#include "config.h"

#include <check.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "base/diag.h"
#include "broker/fanout.h"
#include "fault_server.h"
#include "../lib/fbtest.h"
#include "base/call.h"
#include "http/http.h"
#include "base/util.h"

#ifndef FB_TEST_SRCDIR
#define FB_TEST_SRCDIR "."
#endif

/* Fast retries: tiny base delay, sleeps scaled down, fixed seed. */
#define FAST "\"base_delay_ms\": 10, \"sleep_scale\": 0.01, \"seed\": 7"

static fts *srv;
static char base[64];

static void srv_up(void)
{
    char *err = NULL;
    srv = fts_start(NULL, NULL, 0, &err);
    ck_assert_msg(srv != NULL, "%s", err ? err : "?");
    snprintf(base, sizeof base, "http://127.0.0.1:%u", (unsigned)fts_port(srv));
}

static void srv_down(void)
{
    fts_stop(srv);
    srv = NULL;
}

static fbi_http_client *client(const char *json)
{
    fb_diag *d = fb_diag_new();
    fbi_http_client *c = NULL;
    fb_status st = fbi_http_client_new(json, &c, d);
    if (st != FB_OK) fb_diag_print(d, stderr);
    ck_assert_int_eq(st, FB_OK);
    fb_diag_free(d);
    return c;
}

/* One request to base + path. */
static fb_status req(fbi_http_client *c, fb_diag *d, const char *method, const char *path, uint32_t flags,
                     const char *body, const char *service, fb_http_response *resp)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", base, path);
    fb_http_request r = {sizeof r, method, url, NULL, 0, body, body ? strlen(body) : 0, flags, service, NULL, 0, NULL, NULL, NULL, NULL, NULL, 0};
    return fbi_http_client_perform(c, d, &r, resp);
}

/* Whether any diagnostic's summary or detail contains needle. */
static int diag_has(const fb_diag *d, const char *needle)
{
    for (size_t i = 0; i < fb_diag_count(d); i++) {
        const char *s = fb_diag_summary(d, i), *t = fb_diag_detail(d, i);
        if ((s && strstr(s, needle)) || (t && strstr(t, needle))) return 1;
    }
    return 0;
}

/* One request to the fault server's /k/KEY/PLAN (fault_server.h: PLAN is
 * the answers it gives, one per attempt) and what it must give: the call's
 * status, the answer's HTTP status (0: not checked), the attempts the
 * server counted for KEY. */
typedef struct hcase {
    const char *method, *key, *plan;
    fb_status st;
    long status;
    unsigned attempts;
} hcase;

/* Sends k through c with flags, body (may be NULL) and service, checks it,
 * and returns the answer's "attempt" as the server echoed it (0 when the
 * answer carries none). */
static long check_case(fbi_http_client *c, fb_diag *d, uint32_t flags, const char *body, const char *service,
                       const hcase *k)
{
    char path[256];
    snprintf(path, sizeof path, "/k/%s/%s", k->key, k->plan);
    fb_http_response r;
    fb_status st = req(c, d, k->method, path, flags, body, service, &r);
    ck_assert_msg(st == k->st, "%s %s: status %d, want %d", k->method, path, (int)st, (int)k->st);
    ck_assert_msg(!k->status || r.status == k->status, "%s %s: HTTP %ld, want %ld", k->method, path, r.status,
                  k->status);
    unsigned n = fts_attempts(srv, k->key);
    ck_assert_msg(n == k->attempts, "%s %s: %u attempts, want %u", k->method, path, n, k->attempts);
    json_t *j = r.body ? json_loadb(r.body, r.body_len, 0, NULL) : NULL;
    long a = (long)json_integer_value(json_object_get(j, "attempt"));
    json_decref(j);
    fbi_http_free(&r);
    return a;
}

/* Runs a command and returns its standard output (new). */
static char *run_capture(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    ck_assert_msg(p != NULL, "cannot run %s", cmd);
    fbi_buf b;
    fbi_buf_init(&b);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) fbi_buf_append(&b, buf, n);
    int rc = pclose(p);
    ck_assert_msg(rc == 0, "%s exited with %d", cmd, rc);
    return fbi_buf_steal(&b);
}

static const char *python(void)
{
    const char *p = getenv("FB_PYTHON");
    return p && *p ? p : "/usr/bin/python3";
}

/* Runs botocore_ref.py with arguments; parsed JSON output (new). */
static json_t *botocore(const char *args)
{
    char *cmd = fbi_xasprintf("%s %s/tests/http/botocore_ref.py %s", python(), FB_TEST_SRCDIR, args);
    char *out = run_capture(cmd);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    ck_assert_msg(j != NULL, "botocore_ref.py printed no JSON: %s", out);
    free(cmd);
    free(out);
    return j;
}

/* Writes a JSON value to a temporary file; returns its path (new). */
static char *temp_json(json_t *j)
{
    char *path = fbi_xstrdup("/tmp/fb-http-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    char *txt = json_dumps(j, JSON_COMPACT);
    ck_assert_int_eq(write(fd, txt, strlen(txt)), (ssize_t)strlen(txt));
    close(fd);
    free(txt);
    return path;
}

/* ---- policy against botocore ------------------------------------------- */

START_TEST(test_codes_match_botocore)
{
    json_t *l = botocore("lists");
    size_t i;
    json_t *v;
    ck_assert_int_gt(json_array_size(json_object_get(l, "throttling")), 10);
    json_array_foreach(json_object_get(l, "throttling"), i, v)
        ck_assert_msg(fbi_http_is_throttling_code(json_string_value(v)), "%s", json_string_value(v));
    json_array_foreach(json_object_get(l, "transient"), i, v)
        ck_assert_msg(fbi_http_is_transient_code(json_string_value(v)), "%s", json_string_value(v));
    json_decref(l);
    ck_assert(!fbi_http_is_throttling_code("ValidationException"));
    ck_assert(!fbi_http_is_throttling_code("throttling"));
    ck_assert(!fbi_http_is_throttling_code(NULL));
    ck_assert(!fbi_http_is_transient_code("InternalFailure"));
}
END_TEST

typedef struct ecase {
    const char *protocol;
    int status;
    const char *hname, *hvalue;
    const char *body;
} ecase;

/* Error bodies as the services send them (shapes from the AWS protocols). */
static const ecase ecases[] = {
    {"json", 400, NULL, NULL, "{\"__type\":\"com.amazon.coral.availability#ThrottlingException\",\"message\":\"Rate exceeded\"}"},
    {"json", 400, NULL, NULL, "{\"__type\":\"ResourceNotFoundException\",\"message\":\"no\"}"},
    {"json", 400, "x-amzn-errortype", "ThrottlingException", "{\"__type\":\"com.amazon.coral.availability#ThrottlingException\"}"},
    {"rest-json", 429, "x-amzn-errortype", "TooManyRequestsException:http://internal.amazon.com/coral/com.amazonaws.lambda/", "{\"message\":\"Rate exceeded\"}"},
    {"rest-json", 400, NULL, NULL, "{\"code\":\"SlowDown\",\"message\":\"x\"}"},
    {"rest-json", 400, NULL, NULL, "{\"Code\":\"LimitExceededException\"}"},
    {"query", 400, NULL, NULL, "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>1</RequestId></ErrorResponse>"},
    {"ec2", 503, NULL, NULL, "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>a</RequestID></Response>"},
    {"rest-xml", 503, NULL, NULL, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>r</RequestId></Error>"},
    {"rest-xml", 400, NULL, NULL, "<Error><Code>PriorRequestNotComplete</Code></Error>"},
};

START_TEST(test_error_codes_match_botocore)
{
    json_t *cases = json_array();
    size_t n = sizeof ecases / sizeof *ecases;
    for (size_t i = 0; i < n; i++) {
        json_t *h = json_object();
        if (ecases[i].hname) json_object_set_new(h, ecases[i].hname, json_string(ecases[i].hvalue));
        json_array_append_new(cases, json_pack("{s:s, s:i, s:o, s:s}", "protocol", ecases[i].protocol,
                                               "status", ecases[i].status, "headers", h, "body", ecases[i].body));
    }
    char *path = temp_json(cases);
    char *args = fbi_xasprintf("errcodes %s", path);
    json_t *want = botocore(args);
    ck_assert_int_eq(json_array_size(want), n);
    for (size_t i = 0; i < n; i++) {
        fb_http_header h = {ecases[i].hname, ecases[i].hvalue};
        char *got = fbi_http_error_code(&h, ecases[i].hname ? 1 : 0, ecases[i].body, strlen(ecases[i].body));
        const char *w = json_string_value(json_array_get(want, i));
        ck_assert_msg(w && got && strcmp(w, got) == 0, "case %zu: botocore %s, ours %s", i, w ? w : "null",
                      got ? got : "null");
        free(got);
    }
    unlink(path);
    free(path);
    free(args);
    json_decref(want);
    json_decref(cases);
    /* No code at all. */
    ck_assert_ptr_null(fbi_http_error_code(NULL, 0, "", 0));
    ck_assert_ptr_null(fbi_http_error_code(NULL, 0, "{\"message\":\"x\"}", 15));
    ck_assert_ptr_null(fbi_http_error_code(NULL, 0, "<html>oops</html>", 17));
}
END_TEST

START_TEST(test_retry_after_parse)
{
    uint64_t ms = 1;
    ck_assert_int_eq(fbi_http_parse_retry_after("5", 0, &ms), 0);
    ck_assert_uint_eq(ms, 5000);
    ck_assert_int_eq(fbi_http_parse_retry_after(" 12 ", 0, &ms), 0);
    ck_assert_uint_eq(ms, 12000);
    ck_assert_int_eq(fbi_http_parse_retry_after("0", 0, &ms), 0);
    ck_assert_uint_eq(ms, 0);
    int64_t t;
    ck_assert_int_eq(fbi_parse_rfc3339("2015-10-21T07:28:00Z", &t), 0);
    /* The three HTTP-date forms of RFC 9110. */
    ck_assert_int_eq(fbi_http_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", t - 3, &ms), 0);
    ck_assert_uint_eq(ms, 3000);
    ck_assert_int_eq(fbi_http_parse_retry_after("Wednesday, 21-Oct-15 07:28:00 GMT", t - 4, &ms), 0);
    ck_assert_uint_eq(ms, 4000);
    ck_assert_int_eq(fbi_http_parse_retry_after("Wed Oct 21 07:28:00 2015", t - 5, &ms), 0);
    ck_assert_uint_eq(ms, 5000);
    /* In the past: no wait. */
    ck_assert_int_eq(fbi_http_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", t + 60, &ms), 0);
    ck_assert_uint_eq(ms, 0);
    ck_assert_int_eq(fbi_http_parse_retry_after("soon", 0, &ms), -1);
    ck_assert_int_eq(fbi_http_parse_retry_after("", 0, &ms), -1);
    ck_assert_int_eq(fbi_http_parse_retry_after("-5", 0, &ms), -1);
    ck_assert_int_eq(fbi_http_parse_retry_after(NULL, 0, &ms), -1);
}
END_TEST

START_TEST(test_backoff_full_jitter)
{
    ck_assert_uint_eq(fbi_http_backoff_ms(0, 1, 1000, 20000), 0);
    ck_assert_uint_eq(fbi_http_backoff_ms(UINT64_MAX, 1, 1000, 20000), 999);
    ck_assert_uint_eq(fbi_http_backoff_ms(UINT64_MAX, 2, 1000, 20000), 1999);
    ck_assert_uint_eq(fbi_http_backoff_ms(UINT64_MAX, 5, 1000, 20000), 15999);
    ck_assert_uint_eq(fbi_http_backoff_ms(UINT64_MAX, 6, 1000, 20000), 19999);
    ck_assert_uint_eq(fbi_http_backoff_ms(UINT64_MAX, 200, 1000, 20000), 19999);
    ck_assert_uint_eq(fbi_http_backoff_ms(UINT64_C(1) << 63, 3, 1000, 20000), 2000);
    /* Seeded: the same seed gives the same delays; they spread over the range. */
    uint64_t s1 = 42, s2 = 42, sum = 0, lo = UINT64_MAX, hi = 0;
    for (int i = 0; i < 2000; i++) {
        uint64_t a = fbi_http_backoff_ms(fbi_http_rand_next(&s1), 3, 100, 20000);
        uint64_t b = fbi_http_backoff_ms(fbi_http_rand_next(&s2), 3, 100, 20000);
        ck_assert_uint_eq(a, b);
        ck_assert_uint_lt(a, 400);
        sum += a;
        if (a < lo) lo = a;
        if (a > hi) hi = a;
    }
    ck_assert_uint_lt(lo, 20);
    ck_assert_uint_gt(hi, 380);
    ck_assert_uint_gt(sum / 2000, 170);
    ck_assert_uint_lt(sum / 2000, 230);
}
END_TEST

START_TEST(test_quota_bucket)
{
    fbi_retry_quota q;
    fbi_retry_quota_init(&q, 12);
    ck_assert(fbi_retry_quota_acquire(&q, 5));
    ck_assert(fbi_retry_quota_acquire(&q, 5));
    ck_assert_int_eq(q.available, 2);
    ck_assert(!fbi_retry_quota_acquire(&q, 5));
    ck_assert_int_eq(q.available, 2);
    fbi_retry_quota_release(&q, 1);
    ck_assert_int_eq(q.available, 3);
    fbi_retry_quota_release(&q, 100);
    ck_assert_int_eq(q.available, 12);
}
END_TEST

/* ---- retries over real HTTP -------------------------------------------- */

/* The attempt number the server echoed in a 200 answer. */
START_TEST(test_retries_exactly)
{
    srv_up();
    fbi_http_client *c = client("{\"http\": {" FAST "}}");
    fb_diag *d = fb_diag_new();
    static const hcase cases[] = {
        {"GET", "a", "500", FB_OK, 500, 3},
        {"GET", "b", "429,ok", FB_OK, 200, 2},
        {"GET", "c", "throttle,xmlthrottle,ok", FB_OK, 200, 3},
        {"GET", "d", "hdrthrottle,502,ok", FB_OK, 200, 3},
        /* four failures: the third attempt's answer is final */
        {"GET", "e", "503,504,500,ok", FB_OK, 500, 3},
        /* not retryable answers go back at once */
        {"GET", "f", "invalid,ok", FB_OK, 400, 1},
        {"DELETE", "g", "404,ok", FB_OK, 404, 1},
        /* a reset connection is retried */
        {"GET", "h", "reset,ok", FB_OK, 200, 2},
    };
    unsigned attempts = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        long echoed = check_case(c, d, FB_HTTP_IDEMPOTENT, NULL, "t", &cases[i]);
        /* the answer that came back is the last attempt's */
        if (cases[i].status == 200) ck_assert_int_eq(echoed, cases[i].attempts);
        attempts += cases[i].attempts;
    }
    ck_assert_uint_eq(fb_diag_errors(d), 0);
    fbi_http_stats s;
    fbi_http_client_stats(c, &s);
    ck_assert_uint_eq(s.requests, sizeof cases / sizeof *cases);
    ck_assert_uint_eq(s.attempts, attempts);
    ck_assert_uint_eq(s.retries, s.attempts - s.requests);
    fbi_http_client_free(c);

    /* max_attempts is configurable. */
    c = client("{\"http\": {\"max_attempts\": 5, " FAST "}}");
    check_case(c, d, FB_HTTP_IDEMPOTENT, NULL, "t", &(hcase){"GET", "i", "500", FB_OK, 500, 5});
    fbi_http_client_free(c);
    c = client("{\"http\": {\"max_attempts\": 1, " FAST "}}");
    check_case(c, d, FB_HTTP_IDEMPOTENT, NULL, "t", &(hcase){"GET", "j", "500", FB_OK, 500, 1});
    fbi_http_client_free(c);
    fb_diag_free(d);
    srv_down();
}
END_TEST

START_TEST(test_not_idempotent_sent_once)
{
    srv_up();
    fbi_http_client *c = client("{\"http\": {" FAST "}}");
    fb_diag *d = fb_diag_new();
    fb_http_response r;

    /* Warm a connection first: curl on its own would send the POST again
     * when a reused connection closes without an answer. */
    ck_assert_int_eq(req(c, d, "GET", "/k/warm/ok", FB_HTTP_IDEMPOTENT, NULL, "t", &r), FB_OK);
    fbi_http_free(&r);
    ck_assert_int_eq(req(c, d, "POST", "/k/a/reset,ok", 0, "{\"x\":1}", "t", &r), FB_RETRYABLE);
    ck_assert_uint_eq(fts_attempts(srv, "a"), 1);
    ck_assert_int_eq(fb_diag_errors(d), 1);
    ck_assert_msg(diag_has(d, "not retried because the request is not idempotent"), "diag says why");
    ck_assert_msg(diag_has(d, "POST 127.0.0.1"), "diag names the request");
    fbi_http_free(&r);

    /* A throttled answer to a non-idempotent request is final too. */
    fb_diag *d2 = fb_diag_new();
    check_case(c, d2, 0, "{}", "t", &(hcase){"POST", "b", "429,ok", FB_OK, 429, 1});

    /* With an idempotency token it is retried, and the body is sent again. */
    ck_assert_int_eq(req(c, d2, "POST", "/k/c/reset,503,ok", FB_HTTP_TOKEN_GUARDED, "{\"token\":\"t-1\"}", "t", &r),
                     FB_OK);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(fts_attempts(srv, "c"), 3);
    json_t *echo = json_loadb(r.body, r.body_len, 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(echo, "body")), "{\"token\":\"t-1\"}");
    ck_assert_str_eq(json_string_value(json_object_get(echo, "method")), "POST");
    json_decref(echo);
    fbi_http_free(&r);
    ck_assert_uint_eq(fb_diag_errors(d2), 0);
    fb_diag_free(d);
    fb_diag_free(d2);
    fbi_http_client_free(c);
    srv_down();
}
END_TEST

START_TEST(test_quota_drains_and_refills)
{
    srv_up();
    /* 12 tokens: two retries of 5 fit, a third does not. */
    fbi_http_client *c = client("{\"http\": {\"retry_quota\": 12, " FAST "}}");
    fb_diag *d = fb_diag_new();
    const uint32_t I = FB_HTTP_IDEMPOTENT;
    ck_assert_int_eq(fbi_http_retry_quota(c, "q"), 12);
    check_case(c, d, I, NULL, "q", &(hcase){"GET", "a", "500", FB_OK, 500, 3});
    ck_assert_int_eq(fbi_http_retry_quota(c, "q"), 2);
    /* Empty bucket: no retry at all. */
    check_case(c, d, I, NULL, "q", &(hcase){"GET", "b", "500,ok", FB_OK, 500, 1});
    fbi_http_stats s;
    fbi_http_client_stats(c, &s);
    ck_assert_uint_eq(s.quota_refusals, 1);
    /* Another service has a bucket of its own. */
    check_case(c, d, I, NULL, "other", &(hcase){"GET", "c", "500,ok", FB_OK, 200, 2});
    ck_assert_int_eq(fbi_http_retry_quota(c, "other"), 12);
    /* Each first-attempt success gives one token back. */
    for (unsigned i = 0; i < 3; i++) {
        check_case(c, d, I, NULL, "q", &(hcase){"GET", "ok", "ok", FB_OK, 200, i + 1});
        ck_assert_int_eq(fbi_http_retry_quota(c, "q"), 3 + (int)i);
    }
    /* 5 tokens again: one retry, and its success returns the 5. */
    check_case(c, d, I, NULL, "q", &(hcase){"GET", "d", "429,ok", FB_OK, 200, 2});
    ck_assert_int_eq(fbi_http_retry_quota(c, "q"), 5);
    ck_assert_uint_eq(fb_diag_errors(d), 0);
    fb_diag_free(d);
    fbi_http_client_free(c);
    srv_down();
}
END_TEST

/* The fault server's answer to one action, as botocore_ref.py's
 * "response" (fetched once, without retries). new. */
static json_t *response_of(fbi_http_client *once, const char *action, int n)
{
    char path[128];
    snprintf(path, sizeof path, "/k/raw%d-%s/%s", n, action, action);
    fb_diag *d = fb_diag_new();
    fb_http_response r;
    ck_assert_int_eq(req(once, d, "GET", path, FB_HTTP_IDEMPOTENT, NULL, "raw", &r), FB_OK);
    json_t *h = json_object();
    const char *ctype = "";
    for (size_t i = 0; i < r.n_headers; i++) {
        char *lower = fbi_xstrdup(r.headers[i].name);
        for (char *p = lower; *p; p++) *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        json_object_set_new(h, lower, json_string(r.headers[i].value));
        if (!strcmp(lower, "content-type")) ctype = json_string_value(json_object_get(h, lower));
        free(lower);
    }
    const char *proto = strstr(ctype, "xml") ? "query" : json_object_get(h, "x-amzn-errortype") ? "rest-json" : "json";
    json_t *o = json_pack("{s:s, s:i, s:o, s:s%}", "protocol", proto, "status", (int)r.status, "headers", h,
                          "body", r.body, r.body_len);
    fbi_http_free(&r);
    fb_diag_free(d);
    return o;
}

/* The same request sequence through our client and through botocore's
 * standard-mode RetryHandler: same attempts, same quota left each time. */
START_TEST(test_standard_mode_matches_botocore)
{
    static const char *const scenario[] = {
        "500",   "delay3000,ok", "reset", "throttle,ok", "429,429,429", "invalid", "ok",  "503,ok",
        "reset,reset,ok", "500", "500", "hdrthrottle", "ok", "ok", "xmlthrottle,ok", "502,ok", "ok",
    };
    const size_t n = sizeof scenario / sizeof *scenario;
    srv_up();
    fbi_http_client *once = client("{\"http\": {\"max_attempts\": 1}}");
    fbi_http_client *c = client("{\"http\": {\"retry_quota\": 40, \"timeout_ms\": 800, " FAST "}}");
    json_t *requests = json_array();
    json_t *ours = json_array();
    int raw = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *outcomes = json_array();
        char *plan = fbi_xstrdup(scenario[i]);
        for (char *save = NULL, *a = strtok_r(plan, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
            if (!strcmp(a, "reset")) json_array_append_new(outcomes, json_pack("{s:s}", "exception", "connection"));
            else if (!strncmp(a, "delay", 5)) json_array_append_new(outcomes, json_pack("{s:s}", "exception", "timeout"));
            else json_array_append_new(outcomes, json_pack("{s:o}", "response", response_of(once, a, raw++)));
        }
        free(plan);
        json_array_append_new(requests, outcomes);
        char path[128], key[16];
        snprintf(key, sizeof key, "s%zu", i);
        snprintf(path, sizeof path, "/k/%s/%s", key, scenario[i]);
        fb_diag *d = fb_diag_new();
        fb_http_response r;
        req(c, d, "GET", path, FB_HTTP_IDEMPOTENT, NULL, "sim", &r);
        fbi_http_free(&r);
        fb_diag_free(d);
        json_array_append_new(ours, json_pack("{s:i, s:i}", "attempts", (int)fts_attempts(srv, key), "quota",
                                              (int)fbi_http_retry_quota(c, "sim")));
    }
    json_t *spec = json_pack("{s:i, s:i, s:o}", "capacity", 40, "max_attempts", 3, "requests", requests);
    char *path = temp_json(spec);
    char *args = fbi_xasprintf("simulate %s", path);
    json_t *want = botocore(args);
    char *w = json_dumps(want, JSON_COMPACT), *o = json_dumps(ours, JSON_COMPACT);
    ck_assert_msg(json_equal(want, ours), "botocore %s\nours     %s", w, o);
    /* The scenario does exercise an empty bucket. */
    ck_assert_int_lt(json_integer_value(json_object_get(json_array_get(ours, 9), "quota")), 5);
    free(w);
    free(o);
    unlink(path);
    free(path);
    free(args);
    json_decref(want);
    json_decref(ours);
    json_decref(spec);
    fbi_http_client_free(c);
    fbi_http_client_free(once);
    srv_down();
}
END_TEST

START_TEST(test_retry_after_honoured)
{
    srv_up();
    /* Jitter is at most 1 ms here, so the delay is the server's. */
    fbi_http_client *c = client("{\"http\": {\"base_delay_ms\": 1, \"sleep_scale\": 0.001, "
                                "\"max_retry_after_ms\": 9000}}");
    fb_diag *d = fb_diag_new();
    fb_http_response r;
    fbi_http_stats s;
    ck_assert_int_eq(req(c, d, "GET", "/k/a/503ra7,ok", FB_HTTP_IDEMPOTENT, NULL, "t", &r), FB_OK);
    ck_assert_int_eq(r.status, 200);
    fbi_http_free(&r);
    fbi_http_client_stats(c, &s);
    ck_assert_uint_eq(s.last_backoff_ms, 7000);
    /* Capped by max_retry_after_ms. */
    ck_assert_int_eq(req(c, d, "GET", "/k/b/503ra100,ok", FB_HTTP_IDEMPOTENT, NULL, "t", &r), FB_OK);
    fbi_http_free(&r);
    fbi_http_client_stats(c, &s);
    ck_assert_uint_eq(s.last_backoff_ms, 9000);
    /* An HTTP-date five seconds ahead (second resolution on both sides). */
    ck_assert_int_eq(req(c, d, "GET", "/k/c/503date5,ok", FB_HTTP_IDEMPOTENT, NULL, "t", &r), FB_OK);
    fbi_http_free(&r);
    fbi_http_client_stats(c, &s);
    ck_assert_uint_ge(s.last_backoff_ms, 4000);
    ck_assert_uint_le(s.last_backoff_ms, 5000);
    ck_assert_uint_eq(s.backoff_ms, 7000 + 9000 + s.last_backoff_ms);
    ck_assert_uint_eq(s.retries, 3);
    fb_diag_free(d);
    fbi_http_client_free(c);
    srv_down();
}
END_TEST


/* The same seed gives the same backoff delays; each within its bound. */
START_TEST(test_seeded_backoff)
{
    srv_up();
    uint64_t total[3];
    const char *conf[3] = {"{\"http\": {\"seed\": 7, \"base_delay_ms\": 1000, \"sleep_scale\": 0.001}}",
                           "{\"http\": {\"seed\": 7, \"base_delay_ms\": 1000, \"sleep_scale\": 0.001}}",
                           "{\"http\": {\"seed\": 8, \"base_delay_ms\": 1000, \"sleep_scale\": 0.001}}"};
    for (int k = 0; k < 3; k++) {
        fbi_http_client *c = client(conf[k]);
        fb_diag *d = fb_diag_new();
        fb_http_response r;
        char path[64];
        snprintf(path, sizeof path, "/k/seed%d/500", k);
        ck_assert_int_eq(req(c, d, "GET", path, FB_HTTP_IDEMPOTENT, NULL, "t", &r), FB_OK);
        fbi_http_free(&r);
        fbi_http_stats s;
        fbi_http_client_stats(c, &s);
        ck_assert_uint_eq(s.retries, 2);
        ck_assert_uint_lt(s.last_backoff_ms, 2000);          /* second retry: [0, 2000) */
        ck_assert_uint_lt(s.backoff_ms - s.last_backoff_ms, 1000); /* first retry: [0, 1000) */
        total[k] = s.backoff_ms;
        fb_diag_free(d);
        fbi_http_client_free(c);
    }
    ck_assert_uint_eq(total[0], total[1]);
    ck_assert_uint_ne(total[0], total[2]);
    srv_down();
}
END_TEST

START_TEST(test_size_limits)
{
    srv_up();
    fbi_http_client *c = client("{\"http\": {\"max_response_bytes\": 1000, \"max_request_bytes\": 100, " FAST "}}");
    fb_diag *d = fb_diag_new();
    fb_http_response r;
    ck_assert_int_eq(req(c, d, "GET", "/k/a/big1000", FB_HTTP_IDEMPOTENT, NULL, "t", &r), FB_OK);
    ck_assert_uint_eq(r.body_len, 1000);
    fbi_http_free(&r);
    ck_assert_uint_eq(fb_diag_errors(d), 0);
    /* Announced by Content-Length. */
    ck_assert_int_eq(req(c, d, "GET", "/k/b/big1001", FB_HTTP_IDEMPOTENT, NULL, "t", &r), FB_INVALID);
    ck_assert_msg(diag_has(d, "the response exceeds the limit of 1000 bytes"), "clear message");
    ck_assert_msg(diag_has(d, "max_response_bytes"), "says what to change");
    ck_assert_uint_eq(fts_attempts(srv, "b"), 1);
    ck_assert_ptr_null(r.body);
    /* Chunked, found while reading. */
    fb_diag *d2 = fb_diag_new();
    check_case(c, d2, FB_HTTP_IDEMPOTENT, NULL, "t", &(hcase){"GET", "c", "chunk5000", FB_INVALID, 0, 1});
    ck_assert_msg(diag_has(d2, "the response exceeds the limit of 1000 bytes"), "clear message");
    /* A request body over the limit is never sent. */
    fb_diag *d3 = fb_diag_new();
    char body[102];
    memset(body, 'b', 101);
    body[101] = '\0';
    ck_assert_int_eq(req(c, d3, "PUT", "/k/d/ok", FB_HTTP_IDEMPOTENT, body, "t", &r), FB_INVALID);
    ck_assert_msg(diag_has(d3, "the request body of 101 bytes exceeds the limit of 100 bytes"), "clear message");
    ck_assert_uint_eq(fts_attempts(srv, "d"), 0);
    body[100] = '\0';
    ck_assert_int_eq(req(c, d3, "PUT", "/k/e/ok", FB_HTTP_IDEMPOTENT, body, "t", &r), FB_OK);
    fbi_http_free(&r);
    fb_diag_free(d);
    fb_diag_free(d2);
    fb_diag_free(d3);
    fbi_http_client_free(c);
    srv_down();
}
END_TEST

START_TEST(test_timeouts_retried)
{
    srv_up();
    fbi_http_client *c = client("{\"http\": {\"timeout_ms\": 600, " FAST "}}");
    fb_diag *d = fb_diag_new();
    check_case(c, d, FB_HTTP_IDEMPOTENT, NULL, "t", &(hcase){"GET", "a", "delay3000", FB_RETRYABLE, 0, 3});
    ck_assert_msg(diag_has(d, "gave up after 3 attempts"), "diag says it retried");
    ck_assert_msg(diag_has(d, "imeout") || diag_has(d, "timed out"), "diag names the timeout");
    /* Timeout retries cost 10 tokens each. */
    ck_assert_int_eq(fbi_http_retry_quota(c, "t"), 480);
    fb_diag *d2 = fb_diag_new();
    check_case(c, d2, FB_HTTP_IDEMPOTENT, NULL, "t", &(hcase){"GET", "b", "delay3000,ok", FB_OK, 200, 2});
    ck_assert_int_eq(fbi_http_retry_quota(c, "t"), 480);
    fb_diag_free(d);
    fb_diag_free(d2);
    fbi_http_client_free(c);
    srv_down();
}
END_TEST

START_TEST(test_connect_refused_retried)
{
    fbi_http_client *c = client("{\"http\": {" FAST "}}");
    /* A port nobody listens on: bind one, note it, close it. */
    srv_up();
    unsigned short port = fts_port(srv);
    srv_down();
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/x", (unsigned)port);
    fb_http_request rq = {sizeof rq, "GET", url, NULL, 0, NULL, 0, FB_HTTP_IDEMPOTENT, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, 0};
    fb_diag *d = fb_diag_new();
    fb_http_response r;
    ck_assert_int_eq(fbi_http_client_perform(c, d, &rq, &r), FB_RETRYABLE);
    fbi_http_stats s;
    fbi_http_client_stats(c, &s);
    ck_assert_uint_eq(s.attempts, 3);
    ck_assert_msg(diag_has(d, "(service 127.0.0.1)"), "the service key defaults to the host");
    fb_diag_free(d);
    /* Malformed requests are refused before anything is sent. */
    d = fb_diag_new();
    fb_http_request bad = {sizeof bad, "GET", "ftp://127.0.0.1/x", NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, 0};
    ck_assert_int_eq(fbi_http_client_perform(c, d, &bad, &r), FB_INVALID);
    ck_assert_msg(diag_has(d, "only http and https"), "says why");
    fb_http_header h = {"X-Bad", "a\r\nInjected: 1"};
    fb_http_request bad2 = {sizeof bad2, "GET", url, &h, 1, NULL, 0, 0, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, 0};
    ck_assert_int_eq(fbi_http_client_perform(c, d, &bad2, &r), FB_INVALID);
    ck_assert_msg(diag_has(d, "header #0 (X-Bad) is malformed"), "says which header");
    fbi_http_client_stats(c, &s);
    ck_assert_uint_eq(s.attempts, 3);
    fb_diag_free(d);
    fbi_http_client_free(c);
}
END_TEST

START_TEST(test_connection_reuse)
{
    srv_up();
    fbi_http_client *c = client("{\"http\": {" FAST "}}");
    fb_diag *d = fb_diag_new();
    fb_http_response r;
    for (int i = 0; i < 6; i++) {
        ck_assert_int_eq(req(c, d, i % 2 ? "POST" : "GET", "/k/a/ok", FB_HTTP_IDEMPOTENT, i % 2 ? "{}" : NULL, "t", &r),
                         FB_OK);
        ck_assert_int_eq(r.status, 200);
        fbi_http_free(&r);
    }
    ck_assert_uint_eq(fts_attempts(srv, "a"), 6);
    ck_assert_uint_eq(fts_connections(srv), 1);
    fb_diag_free(d);
    fbi_http_client_free(c);
    srv_down();
}
END_TEST

/* ---- limits and fan-out ------------------------------------------------- */

typedef struct jobs {
    fbi_http_client *c;
    const char *service;
    const char *plan; /* NULL: per-job plans */
    fb_diag **diags;
    atomic_int running, max_running;
} jobs;

/* A job: one GET; 200 -> OK, 404 -> NOTFOUND, 409 -> CONFLICT. */
static fb_status job(void *ud, size_t i)
{
    jobs *j = ud;
    int now = atomic_fetch_add(&j->running, 1) + 1;
    int m = atomic_load(&j->max_running);
    while (now > m && !atomic_compare_exchange_weak(&j->max_running, &m, now)) {
    }
    char path[128];
    const char *plan = j->plan ? j->plan : i % 3 == 1 ? "404" : i % 7 == 6 ? "409" : "ok";
    snprintf(path, sizeof path, "/k/j%zu/%s", i, plan);
    fb_http_response r;
    fb_status st = req(j->c, j->diags[i], "GET", path, FB_HTTP_IDEMPOTENT, NULL, j->service, &r);
    if (st == FB_OK && r.status == 404) {
        fb_diag_add(j->diags[i], FB_SEV_ERROR, NULL, 0, 0, NULL, "not found", NULL);
        st = FB_NOTFOUND;
    } else if (st == FB_OK && r.status == 409) {
        fb_diag_add(j->diags[i], FB_SEV_ERROR, NULL, 0, 0, NULL, "conflict", NULL);
        st = FB_CONFLICT;
    }
    fbi_http_free(&r);
    atomic_fetch_sub(&j->running, 1);
    return st;
}

static void jobs_init(jobs *j, fbi_http_client *c, size_t n, const char *service, const char *plan)
{
    memset(j, 0, sizeof *j);
    j->c = c;
    j->service = service;
    j->plan = plan;
    j->diags = fbi_xcalloc(n, sizeof *j->diags);
    for (size_t i = 0; i < n; i++) j->diags[i] = fb_diag_new();
}

static void jobs_free(jobs *j, size_t n)
{
    for (size_t i = 0; i < n; i++) fb_diag_free(j->diags[i]);
    free(j->diags);
}

START_TEST(test_fanout_order_and_bound)
{
    srv_up();
    fbi_http_client *c = client("{\"http\": {" FAST "}}");
    enum { N = 60 };
    jobs j;
    jobs_init(&j, c, N, "t", NULL);
    fb_status st[N];
    fb_status all = fbi_fanout(N, 5, job, &j, st);
    ck_assert_int_eq(all, FB_NOTFOUND); /* job 1 is the first to fail */
    for (size_t i = 0; i < N; i++) {
        fb_status want = i % 3 == 1 ? FB_NOTFOUND : i % 7 == 6 ? FB_CONFLICT : FB_OK;
        ck_assert_msg(st[i] == want, "job %zu: %d, want %d", i, st[i], want);
        ck_assert_uint_eq(fb_diag_errors(j.diags[i]), want == FB_OK ? 0 : 1);
        char key[16];
        snprintf(key, sizeof key, "j%zu", i);
        ck_assert_uint_eq(fts_attempts(srv, key), 1);
    }
    ck_assert_int_le(atomic_load(&j.max_running), 5);
    ck_assert_int_ge(atomic_load(&j.max_running), 1);
    jobs_free(&j, N);

    /* Every job of a smaller set runs; none at all is fine. */
    jobs_init(&j, c, 3, "t", "ok");
    ck_assert_int_eq(fbi_fanout(3, 64, job, &j, NULL), FB_OK);
    ck_assert_int_le(atomic_load(&j.max_running), 3);
    jobs_free(&j, 3);
    ck_assert_int_eq(fbi_fanout(0, 4, job, NULL, NULL), FB_OK);
    fbi_http_client_free(c);
    srv_down();
}
END_TEST

START_TEST(test_concurrency_limit)
{
    srv_up();
    fbi_http_client *c = client("{\"http\": {\"services\": {\"conc\": {\"concurrency\": 3}}, " FAST "}}");
    enum { N = 24 };
    jobs j;
    jobs_init(&j, c, N, "conc", "delay30");
    ck_assert_int_eq(fbi_fanout(N, 12, job, &j, NULL), FB_OK);
    ck_assert_uint_eq(fts_total(srv), N);
    ck_assert_uint_le(fts_max_inflight(srv), 3);
    fbi_http_stats s;
    fbi_http_client_stats(c, &s);
    ck_assert_uint_le(s.max_inflight, 3);
    ck_assert_uint_ge(s.max_inflight, 1);
    jobs_free(&j, N);
    fbi_http_client_free(c);
    srv_down();
}
END_TEST

START_TEST(test_rate_limit)
{
    srv_up();
    /* 20 requests/s, no burst: 10 requests take at least 9 intervals. */
    fbi_http_client *c = client("{\"http\": {\"services\": {\"rl\": {\"rate\": 20, \"burst\": 1}}, " FAST "}}");
    enum { N = 10 };
    jobs j;
    jobs_init(&j, c, N, "rl", "ok");
    ck_assert_int_eq(fbi_fanout(N, N, job, &j, NULL), FB_OK);
    double t[N];
    ck_assert_uint_eq(fts_arrivals(srv, t, N), N);
    double lo = t[0], hi = t[0];
    for (int i = 1; i < N; i++) {
        if (t[i] < lo) lo = t[i];
        if (t[i] > hi) hi = t[i];
    }
    /* 450 ms ideal; allow 50 ms for arrival jitter on the server. */
    ck_assert_msg(hi - lo >= 400.0, "10 requests at 20/s arrived within %.0f ms", hi - lo);
    jobs_free(&j, N);
    fbi_http_client_free(c);
    srv_down();
}
END_TEST

/* ---- secrets, TLS, dry run, configuration ------------------------------ */

START_TEST(test_no_secret_in_logs)
{
    srv_up();
    setenv("FEDBROKER_LOG", "info", 1);
    fbt_capture cap;
    fbt_stderr_begin(&cap);

    fbi_http_client *c = client("{\"http\": {" FAST "}}");
    const char *secrets[] = {"TOKSECRET123", "PATHSECRET456", "BODYSECRET789"};
    fb_http_header h[] = {
        {"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDSECRET/20150830/us-east-1/iam/aws4_request, "
                          "SignedHeaders=host;x-amz-date, Signature=SIGSECRET0123456789"},
        {"X-Amz-Security-Token", "TOKSECRET123"},
        {"Content-Type", "application/json"},
    };
    const char *paths[] = {
        "/k/s1/ok/PATHSECRET456?X-Amz-Signature=QUERYSECRET1&X-Amz-Credential=AKIDSECRET",
        "/k/s2/500,ok/PATHSECRET456",
        "/k/s3/reset/PATHSECRET456?X-Amz-Security-Token=QUERYSECRET2",
    };
    const uint32_t flags[] = {FB_HTTP_IDEMPOTENT, FB_HTTP_IDEMPOTENT, 0};
    fb_diag *d = fb_diag_new();
    for (int i = 0; i < 3; i++) {
        char url[512];
        snprintf(url, sizeof url, "%s%s", base, paths[i]);
        const char *body = "{\"password\": \"BODYSECRET789\"}";
        fb_http_request rq = {sizeof rq, "POST", url, h, 3, body, strlen(body), flags[i], "sec", secrets, 3, NULL, NULL, NULL, NULL, NULL, 0};
        fb_http_response r;
        fbi_http_client_perform(c, d, &rq, &r);
        fbi_http_free(&r);
    }
    fbi_http_client_free(c);
    char *log = fbt_stderr_end(&cap);
    /* The requests are logged... */
    char want[128];
    snprintf(want, sizeof want, "http POST 127.0.0.1:%u /k/s1/ok/REDACTED -> 200 attempt=1/3", (unsigned)fts_port(srv));
    ck_assert_msg(strstr(log, want), "log lacks \"%s\":\n%s", want, log);
    ck_assert_msg(strstr(log, "-> 500 InternalFailure attempt=1/3"), "log:\n%s", log);
    ck_assert_msg(strstr(log, "attempt=2/3"), "log:\n%s", log);
    ck_assert_msg(strstr(log, "not idempotent"), "log:\n%s", log);
    /* ...and nothing secret is. */
    const char *never[] = {"TOKSECRET", "PATHSECRET", "BODYSECRET", "SIGSECRET", "QUERYSECRET",
                           "AKIDSECRET", "X-Amz-Signature", "password", "Authorization"};
    for (size_t i = 0; i < sizeof never / sizeof *never; i++) {
        ck_assert_msg(!strstr(log, never[i]), "\"%s\" leaked into the log:\n%s", never[i], log);
        for (size_t k = 0; k < fb_diag_count(d); k++) {
            const char *s = fb_diag_summary(d, k), *t = fb_diag_detail(d, k);
            ck_assert_msg(!strstr(s, never[i]) && (!t || !strstr(t, never[i])), "\"%s\" leaked into a diagnostic",
                          never[i]);
        }
    }
    ck_assert_uint_eq(fb_diag_errors(d), 1); /* the reset POST */
    free(log);
    fb_diag_free(d);
    srv_down();
}
END_TEST

START_TEST(test_tls_verified_by_default)
{
    unsetenv("FEDBROKER_CA_BUNDLE");
    char *cert = NULL, *key = NULL, *err = NULL;
    ck_assert_msg(fts_make_cert(&cert, &key, &err) == 0, "%s", err ? err : "?");
    fts *tls = fts_start(cert, key, 0, &err);
    ck_assert_msg(tls != NULL, "%s", err ? err : "?");
    char url[128];
    snprintf(url, sizeof url, "https://127.0.0.1:%u/k/t/ok", (unsigned)fts_port(tls));
    fb_http_request rq = {sizeof rq, "GET", url, NULL, 0, NULL, 0, FB_HTTP_IDEMPOTENT, "tls", NULL, 0, NULL, NULL, NULL, NULL, NULL, 0};
    fb_http_response r;

    /* Untrusted: refused, not retried, and the server never saw a request. */
    fbi_http_client *c = client("{\"http\": {" FAST "}}");
    fb_diag *d = fb_diag_new();
    ck_assert_int_eq(fbi_http_client_perform(c, d, &rq, &r), FB_AUTH);
    ck_assert_msg(diag_has(d, "TLS verification failed"), "clear message");
    ck_assert_msg(diag_has(d, "ca_file"), "says what to do");
    ck_assert_uint_eq(fts_attempts(tls, "t"), 0);
    fbi_http_stats s;
    fbi_http_client_stats(c, &s);
    ck_assert_uint_eq(s.attempts, 1);
    fbi_http_client_free(c);
    fb_diag_free(d);

    /* Trusted through http.ca_file. */
    char capath[] = "/tmp/fb-http-ca-XXXXXX";
    int fd = mkstemp(capath);
    ck_assert_int_eq(write(fd, cert, strlen(cert)), (ssize_t)strlen(cert));
    close(fd);
    char *conf = fbi_xasprintf("{\"http\": {\"ca_file\": \"%s\", " FAST "}}", capath);
    c = client(conf);
    d = fb_diag_new();
    ck_assert_int_eq(fbi_http_client_perform(c, d, &rq, &r), FB_OK);
    ck_assert_int_eq(r.status, 200);
    fbi_http_free(&r);
    ck_assert_uint_eq(fts_attempts(tls, "t"), 1);
    fbi_http_client_free(c);
    fb_diag_free(d);

    /* Trusted through FEDBROKER_CA_BUNDLE. */
    setenv("FEDBROKER_CA_BUNDLE", capath, 1);
    c = client(NULL);
    d = fb_diag_new();
    ck_assert_int_eq(fbi_http_client_perform(c, d, &rq, &r), FB_OK);
    fbi_http_free(&r);
    fbi_http_client_free(c);
    fb_diag_free(d);
    unsetenv("FEDBROKER_CA_BUNDLE");

    unlink(capath);
    free(conf);
    fts_stop(tls);
    free(cert);
    free(key);
}
END_TEST

START_TEST(test_dry_run_records_only)
{
    srv_up();
    const fb_host *host = fb_host_table();
    fb_diag *d = fb_diag_new();
    fbi_call call;
    fbi_call_begin(&call, d, "test");
    call.dry_run = 1;
    char url[256];
    snprintf(url, sizeof url, "%s/k/dry/ok?X-Amz-Signature=SEKRIT", base);
    const char *secrets[] = {"SEKRIT"};
    fb_http_header h = {"X-Amz-Security-Token", "SEKRIT"};
    fb_http_request rq = {sizeof rq, "POST", url, &h, 1, "a=SEKRIT", 8, 0, "t", secrets, 1, NULL, NULL, NULL, NULL, NULL, 0};
    fb_http_response r;
    ck_assert_int_eq(host->http(d, &rq, &r), FB_OK);
    ck_assert_int_eq(r.status, 0);
    ck_assert_uint_eq(json_array_size(call.dry_requests), 1);
    char *txt = json_dumps(json_array_get(call.dry_requests, 0), JSON_SORT_KEYS | JSON_COMPACT);
    char *want = fbi_xasprintf("{\"body\":\"a=REDACTED\",\"headers\":{\"X-Amz-Security-Token\":\"REDACTED\"},"
                               "\"method\":\"POST\",\"url\":\"%s/k/dry/ok?X-Amz-Signature=REDACTED\"}", base);
    ck_assert_str_eq(txt, want);
    ck_assert_uint_eq(fts_total(srv), 0);
    host->http_free(&r);
    free(txt);
    free(want);
    fbi_call_end(&call, d);
    fb_diag_free(d);
    srv_down();
}
END_TEST

START_TEST(test_host_uses_process_client)
{
    srv_up();
    fb_diag *d = fb_diag_new();
    ck_assert_int_eq(fbi_http_configure("{\"http\": {\"max_attempts\": 2, \"parallelism\": 7, " FAST "}}", d), FB_OK);
    ck_assert_uint_eq(fbi_http_parallelism(), 7);
    const fb_host *host = fb_host_table();
    fbi_call call;
    fbi_call_begin(&call, d, "test");
    char url[256];
    snprintf(url, sizeof url, "%s/k/p/500", base);
    fb_http_request rq = {sizeof rq, "GET", url, NULL, 0, NULL, 0, FB_HTTP_IDEMPOTENT, "t", NULL, 0, NULL, NULL, NULL, NULL, NULL, 0};
    fb_http_response r;
    ck_assert_int_eq(host->http(d, &rq, &r), FB_OK);
    ck_assert_int_eq(r.status, 500);
    host->http_free(&r);
    ck_assert_uint_eq(fts_attempts(srv, "p"), 2);
    /* Reconfiguring applies to the running client. */
    ck_assert_int_eq(fbi_http_configure("{\"http\": {\"max_attempts\": 4, " FAST "}}", d), FB_OK);
    snprintf(url, sizeof url, "%s/k/q/500", base);
    ck_assert_int_eq(host->http(d, &rq, &r), FB_OK);
    host->http_free(&r);
    ck_assert_uint_eq(fts_attempts(srv, "q"), 4);
    ck_assert_uint_eq(fb_diag_errors(d), 0);
    fbi_call_end(&call, d);
    fbi_http_shutdown();
    ck_assert_uint_eq(fbi_http_parallelism(), 16);
    fb_diag_free(d);
    srv_down();
}
END_TEST

START_TEST(test_config_errors)
{
    fb_diag *d = fb_diag_new();
    fbi_http_client *c = NULL;
    ck_assert_int_eq(fbi_http_client_new("{\"http\": {\"max_attemps\": 3}}", &c, d), FB_INVALID);
    ck_assert_ptr_null(c);
    ck_assert_str_eq(fb_diag_pointer(d, 0), "/http/max_attemps");
    ck_assert_msg(strstr(fb_diag_summary(d, 0), "did you mean \"max_attempts\"?"), "%s", fb_diag_summary(d, 0));
    fb_diag_free(d);

    d = fb_diag_new();
    ck_assert_int_eq(fbi_http_configure("{\"http\": {\"services\": {\"lambda\": {\"rate\": \"fast\"}}, "
                                        "\"max_attempts\": 0}}", d),
                     FB_INVALID);
    ck_assert_uint_eq(fb_diag_errors(d), 2);
    int seen_rate = 0, seen_attempts = 0;
    for (size_t i = 0; i < fb_diag_count(d); i++) {
        if (!strcmp(fb_diag_pointer(d, i), "/http/services/lambda/rate")) seen_rate = 1;
        if (!strcmp(fb_diag_pointer(d, i), "/http/max_attempts")) seen_attempts = 1;
    }
    ck_assert(seen_rate && seen_attempts);
    fb_diag_free(d);

    d = fb_diag_new();
    ck_assert_int_eq(fbi_http_configure("[1]", d), FB_INVALID);
    ck_assert_int_eq(fbi_http_configure("{\"http\": 3}", d), FB_INVALID);
    ck_assert_int_eq(fbi_http_configure("{nope", d), FB_INVALID);
    ck_assert_msg(diag_has(d, "not valid JSON"), "says so");
    ck_assert_int_eq(fbi_http_configure("{\"other\": {}}", d), FB_OK);
    ck_assert_int_eq(fbi_http_configure("{\"http\": {\"services\": {\"s3\": {\"concurrency\": 8, \"rate\": 2.5, "
                                        "\"burst\": 5, \"retry_quota\": 50}}, \"default_service\": "
                                        "{\"concurrency\": 32}, \"ca_file\": null}}", d),
                     FB_OK);
    fbi_http_shutdown();
    fb_diag_free(d);
}
END_TEST


/* Fan-out jobs going through the host table, each with its own fbi_call
 * bound to its own fb_diag: half dry runs (recorded per call), half real
 * requests through the process-wide client. */
typedef struct hostjobs {
    fb_diag *diags[40];
    fbi_call calls[40];
} hostjobs;

static fb_status host_job(void *ud, size_t i)
{
    hostjobs *h = ud;
    const fb_host *host = fb_host_table();
    fbi_call_begin(&h->calls[i], h->diags[i], "drv");
    h->calls[i].dry_run = (int)(i % 2);
    fb_status st = FB_OK;
    for (int r = 0; r < 3 && st == FB_OK; r++) {
        char url[128];
        snprintf(url, sizeof url, "%s/k/h%zu-%d/ok", base, i, r);
        fb_http_request rq = {sizeof rq, "GET", url, NULL, 0, NULL, 0, FB_HTTP_IDEMPOTENT, "h", NULL, 0, NULL, NULL, NULL, NULL, NULL, 0};
        fb_http_response resp;
        st = host->http(h->diags[i], &rq, &resp);
        if (st == FB_OK && resp.status != (i % 2 ? 0 : 200)) st = FB_INTERNAL;
        host->http_free(&resp);
    }
    return st;
}

START_TEST(test_fanout_through_host)
{
    srv_up();
    fb_diag *cd = fb_diag_new();
    ck_assert_int_eq(fbi_http_configure("{\"http\": {" FAST "}}", cd), FB_OK);
    hostjobs h;
    for (size_t i = 0; i < 40; i++) h.diags[i] = fb_diag_new();
    fb_status st[40];
    ck_assert_int_eq(fbi_fanout(40, 8, host_job, &h, st), FB_OK);
    for (size_t i = 0; i < 40; i++) {
        ck_assert_int_eq(st[i], FB_OK);
        ck_assert_uint_eq(fb_diag_count(h.diags[i]), 0);
        for (int r = 0; r < 3; r++) {
            char key[32];
            snprintf(key, sizeof key, "h%zu-%d", i, r);
            ck_assert_uint_eq(fts_attempts(srv, key), i % 2 ? 0 : 1);
        }
        if (i % 2) {
            /* Each dry run recorded its own three requests, in order. */
            ck_assert_uint_eq(json_array_size(h.calls[i].dry_requests), 3);
            for (int r = 0; r < 3; r++) {
                char want[128];
                snprintf(want, sizeof want, "%s/k/h%zu-%d/ok", base, i, r);
                ck_assert_str_eq(json_string_value(json_object_get(json_array_get(h.calls[i].dry_requests, r), "url")),
                                 want);
            }
        } else {
            ck_assert_ptr_null(h.calls[i].dry_requests);
        }
        fbi_call_end(&h.calls[i], h.diags[i]);
        fb_diag_free(h.diags[i]);
    }
    fbi_http_stats s;
    fbi_http_client_stats(NULL, &s);
    ck_assert_uint_eq(s.requests, 60);
    fbi_http_shutdown();
    fb_diag_free(cd);
    srv_down();
}
END_TEST

/* ---- documented defaults and limits at their edges (issue 9) ---------- */

/* A default as docs/http.md writes it: "3", "1.0", "128 MiB", "system
 * store", "from the OS". new, or NULL when the text is not one of them. */
static json_t *doc_value(const char *v)
{
    char *end;
    long long n = strtoll(v, &end, 10);
    if (end != v && *end == '\0') return json_integer(n);
    if (end != v && strcmp(end, " MiB") == 0) return json_integer(n * 1024 * 1024);
    double d = strtod(v, &end);
    if (end != v && *end == '\0') return json_real(d);
    if (!strcmp(v, "system store") || !strcmp(v, "from the OS")) return json_null();
    return NULL;
}

/* The key/default table of docs/http.md ("| key | default | meaning |")
 * as an object key -> text of the default. new. */
static json_t *doc_defaults(void)
{
    char *path = fbi_xasprintf("%s/docs/http.md", FB_TEST_SRCDIR), *err = NULL;
    size_t len;
    char *md = fbi_read_file(path, 1 << 20, &len, &err);
    ck_assert_msg(md != NULL, "%s", err ? err : "?");
    json_t *out = json_object();
    char *table = strstr(md, "| key | default | meaning |");
    ck_assert_msg(table != NULL, "docs/http.md has no key/default table");
    char *save = NULL;
    for (char *line = strtok_r(table, "\n", &save); line && line[0] == '|'; line = strtok_r(NULL, "\n", &save)) {
        char *c1 = line + 1, *c2 = strchr(c1, '|');
        if (!c2) continue;
        *c2++ = '\0';
        char *c3 = strchr(c2, '|');
        if (!c3) continue;
        *c3 = '\0';
        while (*c2 == ' ') c2++;
        for (char *e = c2 + strlen(c2); e > c2 && e[-1] == ' ';) *--e = '\0';
        /* keys in backticks; values separated by ", " (one value: all keys) */
        char *keys[8], *vals[8];
        int nk = 0, nv = 0;
        for (char *p = strchr(c1, '`'); p && nk < 8; p = strchr(p + 1, '`')) {
            char *q = strchr(p + 1, '`');
            if (!q) break;
            keys[nk++] = fbi_xstrndup(p + 1, (size_t)(q - p - 1));
            p = q;
        }
        for (char *v = c2; *v && nv < 8;) {
            char *comma = strstr(v, ", ");
            vals[nv++] = comma ? fbi_xstrndup(v, (size_t)(comma - v)) : fbi_xstrdup(v);
            if (!comma) break;
            v = comma + 2;
        }
        for (int i = 0; i < nk; i++) {
            if (strcmp(keys[i], "key") != 0 && nv)
                json_object_set_new(out, keys[i], json_string(vals[nv == nk ? i : 0]));
            free(keys[i]);
        }
        for (int i = 0; i < nv; i++) free(vals[i]);
    }
    free(md);
    free(path);
    return out;
}

START_TEST(test_documented_defaults)
{
    /* the suite runs with FEDBROKER_SLEEP_SCALE=0; defaults mean none of these */
    const char *env[] = {"FEDBROKER_HTTP_CONNECT_TIMEOUT_MS", "FEDBROKER_HTTP_TIMEOUT_MS", "FEDBROKER_CA_BUNDLE",
                         "FEDBROKER_HTTP_SEED", "FEDBROKER_SLEEP_SCALE"};
    for (size_t i = 0; i < sizeof env / sizeof *env; i++) unsetenv(env[i]);
    fbi_http_client *c = client(NULL);
    json_t *conf = fbi_http_client_config(c);
    json_t *doc = doc_defaults();
    /* the two the issue names, spelt out */
    ck_assert_int_eq(json_integer_value(json_object_get(conf, "connect_timeout_ms")), 10000);
    ck_assert_int_eq(json_integer_value(json_object_get(conf, "timeout_ms")), 60000);
    const char *k;
    json_t *v;
    size_t checked = 0;
    json_object_foreach(doc, k, v) {
        const char *text = json_string_value(v);
        if (!strcmp(k, "default_service") || !strcmp(k, "services.NAME")) {
            ck_assert_str_eq(text, "unlimited");
            json_t *def = json_object_get(conf, "default_service");
            ck_assert_int_eq(json_integer_value(json_object_get(def, "concurrency")), 0);
            ck_assert(json_real_value(json_object_get(def, "rate")) == 0.0);
            ck_assert_uint_eq(json_object_size(json_object_get(conf, "services")), 0);
            checked++;
            continue;
        }
        json_t *want = doc_value(text);
        ck_assert_msg(want != NULL, "docs/http.md: cannot read the default of %s: \"%s\"", k, text);
        json_t *got = json_object_get(conf, k);
        ck_assert_msg(got != NULL, "docs/http.md documents %s, which the service does not have", k);
        char *gs = json_dumps(got, JSON_ENCODE_ANY), *ws = json_dumps(want, JSON_ENCODE_ANY);
        ck_assert_msg(json_equal(got, want), "%s: docs/http.md says %s, the service runs with %s", k, ws, gs);
        free(gs);
        free(ws);
        json_decref(want);
        checked++;
    }
    /* and every setting the service has is documented */
    json_object_foreach(conf, k, v) {
        if (!strcmp(k, "services")) continue;
        ck_assert_msg(json_object_get(doc, k) != NULL, "%s is not in docs/http.md's table of defaults", k);
    }
    ck_assert_uint_ge(checked, 18);
    json_decref(doc);
    json_decref(conf);
    fbi_http_client_free(c);

    /* the environment gives defaults; the configuration overrides them */
    setenv("FEDBROKER_HTTP_CONNECT_TIMEOUT_MS", "1234", 1);
    setenv("FEDBROKER_HTTP_TIMEOUT_MS", "5678", 1);
    setenv("FEDBROKER_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt", 1);
    setenv("FEDBROKER_HTTP_SEED", "9", 1);
    setenv("FEDBROKER_SLEEP_SCALE", "0.5", 1);
    c = client(NULL);
    conf = fbi_http_client_config(c);
    ck_assert_int_eq(json_integer_value(json_object_get(conf, "connect_timeout_ms")), 1234);
    ck_assert_int_eq(json_integer_value(json_object_get(conf, "timeout_ms")), 5678);
    ck_assert_str_eq(json_string_value(json_object_get(conf, "ca_file")), "/etc/ssl/certs/ca-certificates.crt");
    ck_assert_int_eq(json_integer_value(json_object_get(conf, "seed")), 9);
    ck_assert(json_real_value(json_object_get(conf, "sleep_scale")) == 0.5);
    json_decref(conf);
    fbi_http_client_free(c);
    c = client("{\"http\": {\"timeout_ms\": 42, \"seed\": 1}}");
    conf = fbi_http_client_config(c);
    ck_assert_int_eq(json_integer_value(json_object_get(conf, "timeout_ms")), 42);
    ck_assert_int_eq(json_integer_value(json_object_get(conf, "connect_timeout_ms")), 1234);
    ck_assert_int_eq(json_integer_value(json_object_get(conf, "seed")), 1);
    json_decref(conf);
    fbi_http_client_free(c);
    for (size_t i = 0; i < sizeof env / sizeof *env; i++) unsetenv(env[i]);
}
END_TEST

/* The default request limit (128 MiB) at its edge: one byte more is
 * refused before anything is sent. */
START_TEST(test_default_request_limit)
{
    srv_up();
    unsetenv("FEDBROKER_SLEEP_SCALE");
    fbi_http_client *c = client(NULL);
    size_t limit = (size_t)128 * 1024 * 1024;
    char *body = fbi_xmalloc(limit + 1);
    memset(body, 'x', limit + 1);
    char url[128];
    snprintf(url, sizeof url, "%s/k/huge/ok", base);
    fb_http_request rq = {sizeof rq, "PUT", url, NULL, 0, body, limit + 1, FB_HTTP_IDEMPOTENT, "t", NULL, 0, NULL, NULL, NULL, NULL, NULL, 0};
    fb_diag *d = fb_diag_new();
    fb_http_response r;
    ck_assert_int_eq(fbi_http_client_perform(c, d, &rq, &r), FB_INVALID);
    ck_assert_msg(diag_has(d, "the request body of 134217729 bytes exceeds the limit of 134217728 bytes"),
                  "clear message");
    ck_assert_uint_eq(fts_attempts(srv, "huge"), 0);
    free(body);
    fb_diag_free(d);
    fbi_http_client_free(c);
    srv_down();
}
END_TEST

/* Response limit at the edge for a chunked answer (the Content-Length case
 * is test_size_limits). */
START_TEST(test_chunked_response_limit_edge)
{
    srv_up();
    fbi_http_client *c = client("{\"http\": {\"max_response_bytes\": 1000, " FAST "}}");
    fb_diag *d = fb_diag_new();
    fb_http_response r;
    ck_assert_int_eq(req(c, d, "GET", "/k/a/chunk1000", FB_HTTP_IDEMPOTENT, NULL, "t", &r), FB_OK);
    ck_assert_uint_eq(r.body_len, 1000);
    fbi_http_free(&r);
    ck_assert_uint_eq(fb_diag_errors(d), 0);
    check_case(c, d, FB_HTTP_IDEMPOTENT, NULL, "t", &(hcase){"GET", "b", "chunk1001", FB_INVALID, 0, 1});
    ck_assert_msg(diag_has(d, "the response exceeds the limit of 1000 bytes"), "clear message");
    fb_diag_free(d);
    fbi_http_client_free(c);
    srv_down();
}
END_TEST

/* timeout_ms: an answer inside the limit arrives, one past it is a
 * timeout (margins, not exact milliseconds: the machine is shared). */
START_TEST(test_timeout_edge)
{
    srv_up();
    fbi_http_client *c = client("{\"http\": {\"timeout_ms\": 1000, \"max_attempts\": 1, " FAST "}}");
    fb_diag *d = fb_diag_new();
    fb_http_response r;
    ck_assert_int_eq(req(c, d, "GET", "/k/a/delay400", FB_HTTP_IDEMPOTENT, NULL, "t", &r), FB_OK);
    ck_assert_int_eq(r.status, 200);
    fbi_http_free(&r);
    double t0 = fbi_mono_ms();
    ck_assert_int_eq(req(c, d, "GET", "/k/b/delay2500", FB_HTTP_IDEMPOTENT, NULL, "t", &r), FB_RETRYABLE);
    double took = fbi_mono_ms() - t0;
    ck_assert_msg(took >= 990 && took < 2400, "a 1000 ms timeout took %.0f ms", took);
    ck_assert_msg(diag_has(d, "imeout") || diag_has(d, "timed out"), "diag names the timeout");
    fb_diag_free(d);
    fbi_http_client_free(c);
    srv_down();
}
END_TEST

/* connect_timeout_ms: a server whose accept queue is full drops our SYN,
 * so the connection never completes; the connect timeout, not the much
 * longer transfer timeout, ends the attempt. */
START_TEST(test_connect_timeout)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(ls, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(ls, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(ls, 0), 0);
    socklen_t al = sizeof a;
    ck_assert_int_eq(getsockname(ls, (struct sockaddr *)&a, &al), 0);
    int fill[4];
    for (int i = 0; i < 4; i++) { /* never accepted */
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(fill[i], (struct sockaddr *)&a, sizeof a);
    }
    usleep(100 * 1000);
    fbi_http_client *c = client("{\"http\": {\"connect_timeout_ms\": 300, \"timeout_ms\": 20000, "
                                "\"max_attempts\": 1, " FAST "}}");
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/x", (unsigned)ntohs(a.sin_port));
    fb_http_request rq = {sizeof rq, "GET", url, NULL, 0, NULL, 0, FB_HTTP_IDEMPOTENT, "ct", NULL, 0, NULL, NULL, NULL, NULL, NULL, 0};
    fb_diag *d = fb_diag_new();
    fb_http_response r;
    double t0 = fbi_mono_ms();
    fb_status st = fbi_http_client_perform(c, d, &rq, &r);
    double took = fbi_mono_ms() - t0;
    ck_assert_int_eq(st, FB_RETRYABLE);
    ck_assert_msg(took >= 290 && took < 5000, "a 300 ms connect timeout took %.0f ms", took);
    ck_assert_msg(diag_has(d, "onnect") || diag_has(d, "imeout"), "diag names the connect timeout");
    fb_diag_free(d);
    fbi_http_client_free(c);
    for (int i = 0; i < 4; i++) close(fill[i]);
    close(ls);
}
END_TEST

/* The retry quota at its edge: a bucket holding exactly one retry's cost
 * pays for one retry and no more. */
START_TEST(test_retry_quota_edge)
{
    fbi_retry_quota q;
    fbi_retry_quota_init(&q, 10);
    ck_assert(fbi_retry_quota_acquire(&q, 10));
    ck_assert_int_eq(q.available, 0);
    ck_assert(!fbi_retry_quota_acquire(&q, 1));
    srv_up();
    fbi_http_client *c = client("{\"http\": {\"retry_quota\": 5, \"retry_cost\": 5, " FAST "}}");
    fb_diag *d = fb_diag_new();
    /* one retry paid, the second refused */
    check_case(c, d, FB_HTTP_IDEMPOTENT, NULL, "q", &(hcase){"GET", "a", "500", FB_OK, 500, 2});
    ck_assert_int_eq(fbi_http_retry_quota(c, "q"), 0);
    fbi_http_stats s;
    fbi_http_client_stats(c, &s);
    ck_assert_uint_eq(s.quota_refusals, 1);
    fb_diag_free(d);
    fbi_http_client_free(c);
    srv_down();
}
END_TEST

/* max_retry_after_ms at its edge: a Retry-After equal to the cap is
 * honoured as is, one second more is cut to the cap. */
START_TEST(test_retry_after_cap_edge)
{
    srv_up();
    fbi_http_client *c = client("{\"http\": {\"base_delay_ms\": 1, \"sleep_scale\": 0.0001, "
                                "\"max_retry_after_ms\": 9000}}");
    fb_diag *d = fb_diag_new();
    fb_http_response r;
    fbi_http_stats s;
    ck_assert_int_eq(req(c, d, "GET", "/k/a/503ra9,ok", FB_HTTP_IDEMPOTENT, NULL, "t", &r), FB_OK);
    fbi_http_free(&r);
    fbi_http_client_stats(c, &s);
    ck_assert_uint_eq(s.last_backoff_ms, 9000);
    ck_assert_int_eq(req(c, d, "GET", "/k/b/503ra10,ok", FB_HTTP_IDEMPOTENT, NULL, "t", &r), FB_OK);
    fbi_http_free(&r);
    fbi_http_client_stats(c, &s);
    ck_assert_uint_eq(s.last_backoff_ms, 9000);
    fb_diag_free(d);
    fbi_http_client_free(c);
    srv_down();
}
END_TEST

/* The provider-call metrics (http.h): one observation per request, with
 * the driver and verb of the call, the final status class and the
 * retries; in a command run by serve sent on FEDBROKER_METRICS_FD, one
 * message each, and parsed back by serve (fbi_http_metrics_ingest). */
static int has_line(const char *text, const char *line)
{
    const char *p = text;
    size_t n = strlen(line);
    while ((p = strstr(p, line)) != NULL) {
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == 0)) return 1;
        p += n;
    }
    return 0;
}

static char *metrics_now(void)
{
    fbi_buf b;
    fbi_buf_init(&b);
    fbi_http_metrics_text(&b);
    return fbi_buf_steal(&b);
}

START_TEST(test_metrics_observations)
{
    srv_up();
    fbi_http_client *c = client("{\"http\": {" FAST "}}");
    fb_diag *d = fb_diag_new();
    fbi_call call;
    fbi_call_begin(&call, d, "drv");
    call.http = c;
    snprintf(call.verb, sizeof call.verb, "observe");
    fb_http_response r;
    const uint32_t I = FB_HTTP_IDEMPOTENT;
    fb_http_request nourl;
    memset(&nourl, 0, sizeof nourl);
    nourl.struct_size = sizeof nourl;
    nourl.method = "GET";
    ck_assert_int_eq(fbi_http_perform(d, &nourl, &r), FB_INVALID);
    char url[256];
    const char *paths[] = {"/k/m1/503,ok", "/k/m2/404", "/k/m3/reset", "/k/m4/ok"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(url, sizeof url, "%s%s", base, paths[i]);
        fb_http_request rq = {sizeof rq, "GET", url, NULL, 0, NULL, 0, I, i == 3 ? "svc b" : "svc", NULL, 0,
                              NULL, NULL, NULL, NULL, NULL, 0};
        fb_status st = fbi_http_perform(d, &rq, &r);
        if (st == FB_OK) fbi_http_free(&r);
    }
    fbi_call_end(&call, d);
    /* no driver call: provider and verb "none" */
    ck_assert_int_eq(req(c, d, "GET", "/k/m5/ok", I, NULL, "svc", &r), FB_OK);
    fbi_http_free(&r);
    char *t = metrics_now();
#define L(x) "operation=\"serve\",provider=\"drv\",service=\"svc\",verb=\"observe\",class=\"" x "\""
    ck_assert_msg(has_line(t, "fedbroker_provider_requests_total{" L("2xx") "} 1"), "%s", t);
    ck_assert_msg(has_line(t, "fedbroker_provider_retries_total{" L("2xx") "} 1"), "%s", t);
    ck_assert_msg(has_line(t, "fedbroker_provider_requests_total{" L("4xx") "} 1"), "%s", t);
    ck_assert_msg(has_line(t, "fedbroker_provider_retries_total{" L("4xx") "} 0"), "%s", t);
    /* three resets: no answer, two retries */
    ck_assert_msg(has_line(t, "fedbroker_provider_requests_total{" L("error") "} 1"), "%s", t);
    ck_assert_msg(has_line(t, "fedbroker_provider_retries_total{" L("error") "} 2"), "%s", t);
    ck_assert_msg(has_line(t, "fedbroker_provider_request_duration_seconds_count{" L("2xx") "} 1"), "%s", t);
    ck_assert_msg(has_line(t, "fedbroker_provider_request_duration_seconds_bucket{" L("2xx") ",le=\"+Inf\"} 1"), "%s", t);
#undef L
    /* a service key outside [A-Za-z0-9_.:-]: the space became '_' */
    ck_assert_msg(has_line(t, "fedbroker_provider_requests_total{operation=\"serve\",provider=\"drv\",service=\"svc_b\","
                              "verb=\"observe\",class=\"2xx\"} 1"), "%s", t);
    ck_assert_msg(has_line(t, "fedbroker_provider_requests_total{operation=\"serve\",provider=\"none\",service=\"svc\","
                              "verb=\"none\",class=\"2xx\"} 1"), "%s", t);
    /* the invalid request (no URL) never reached the network: not counted */
    ck_assert_msg(has_line(t, "fedbroker_provider_reports_malformed_total 0"), "%s", t);
    free(t);
    fb_diag_free(d);
    fbi_http_client_free(c);
    srv_down();
}
END_TEST

START_TEST(test_metrics_reported_and_ingested)
{
    /* as a command run by serve: FEDBROKER_METRICS_FD set before the
     * first observation (this test runs in a fresh forked process) */
    int sp[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
    char fdtext[16];
    snprintf(fdtext, sizeof fdtext, "%d", sp[1]);
    setenv(FBI_METRICS_FD_ENV, fdtext, 1);
    srv_up();
    fbi_http_client *c = client("{\"http\": {" FAST "}}");
    fb_diag *d = fb_diag_new();
    fbi_call call;
    fbi_call_begin(&call, d, "aws");
    call.http = c;
    snprintf(call.verb, sizeof call.verb, "apply");
    char url[256];
    snprintf(url, sizeof url, "%s/k/n1/500,ok", base);
    fb_http_request rq = {sizeof rq, "GET", url, NULL, 0, NULL, 0, FB_HTTP_IDEMPOTENT, "ecs", NULL, 0,
                          NULL, NULL, NULL, NULL, NULL, 0};
    fb_http_response r;
    ck_assert_int_eq(fbi_http_perform(d, &rq, &r), FB_OK);
    fbi_http_free(&r);
    fbi_call_end(&call, d);
    char *t = metrics_now();
    ck_assert_msg(strstr(t, "provider=\"aws\"") == NULL, "sent, not kept: %s", t);
    free(t);
    char msg[512];
    ssize_t n = recv(sp[0], msg, sizeof msg - 1, MSG_DONTWAIT);
    ck_assert_int_gt(n, 0);
    msg[n] = 0;
    ck_assert_msg(strncmp(msg, "1 aws ecs apply 200 1 ", 22) == 0 && msg[n - 1] == '\n', "%s", msg);
    ck_assert_int_lt(recv(sp[0], msg, sizeof msg, MSG_DONTWAIT), 0); /* one message per request */
    /* serve's side */
    ck_assert_int_eq(fbi_http_metrics_ingest("apply", msg, (size_t)n), 0);
    const char *bad[] = {"", "1 aws ecs apply 200 1", "2 aws ecs apply 200 1 0.1", "1 aws ecs apply 200 1 0.1 x",
                         "1 aws ecs apply 2000 1 0.1", "1 aws ecs apply 200 -1 0.1", "1 aws ecs apply 200 1 -0.1",
                         "1 aws ecs apply 200 1 nan", "1 aws  ecs apply 200 1 0.1", "1 aws ecs apply 2x0 1 0.1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(fbi_http_metrics_ingest("apply", bad[i], strlen(bad[i])) == -1, "accepted: %s", bad[i]);
    /* a label that would break the exposition is cleaned */
    const char *odd = "1 aws e\"c}s\\ apply 404 0 0.002\n";
    ck_assert_int_eq(fbi_http_metrics_ingest("destroy", odd, strlen(odd)), 0);
    t = metrics_now();
    ck_assert_msg(has_line(t, "fedbroker_provider_requests_total{operation=\"apply\",provider=\"aws\",service=\"ecs\","
                              "verb=\"apply\",class=\"2xx\"} 1"), "%s", t);
    ck_assert_msg(has_line(t, "fedbroker_provider_retries_total{operation=\"apply\",provider=\"aws\",service=\"ecs\","
                              "verb=\"apply\",class=\"2xx\"} 1"), "%s", t);
    ck_assert_msg(has_line(t, "fedbroker_provider_requests_total{operation=\"destroy\",provider=\"aws\","
                              "service=\"e_c_s_\",verb=\"apply\",class=\"4xx\"} 1"), "%s", t);
    ck_assert_msg(has_line(t, "fedbroker_provider_request_duration_seconds_bucket{operation=\"destroy\",provider=\"aws\","
                              "service=\"e_c_s_\",verb=\"apply\",class=\"4xx\",le=\"0.005\"} 1"), "%s", t);
    char want[64];
    snprintf(want, sizeof want, "fedbroker_provider_reports_malformed_total %zu", sizeof bad / sizeof *bad);
    ck_assert_msg(has_line(t, want), "%s", t);
    free(t);
    /* bounded: past 512 label sets, observations go to "overflow" */
    for (int i = 0; i < 600; i++) {
        char line[128];
        int k = snprintf(line, sizeof line, "1 p%d s v 200 0 0.001", i);
        ck_assert_int_eq(fbi_http_metrics_ingest("plan", line, (size_t)k), 0);
    }
    t = metrics_now();
    ck_assert_msg(has_line(t, "fedbroker_provider_requests_total{operation=\"plan\",provider=\"overflow\","
                              "service=\"overflow\",verb=\"overflow\",class=\"2xx\"} 90"), "%s", t + strlen(t) - 2000);
    free(t);
    fb_diag_free(d);
    fbi_http_client_free(c);
    srv_down();
    close(sp[0]);
    close(sp[1]);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("http");
    TCase *p = tcase_create("policy");
    tcase_add_test(p, test_codes_match_botocore);
    tcase_add_test(p, test_error_codes_match_botocore);
    tcase_add_test(p, test_retry_after_parse);
    tcase_add_test(p, test_backoff_full_jitter);
    tcase_add_test(p, test_quota_bucket);
    tcase_add_test(p, test_config_errors);
    /* two of these start python3 with botocore, which takes over Check's
     * 4 s default on a loaded machine */
    tcase_set_timeout(p, 60);
    suite_add_tcase(s, p);
    TCase *n = tcase_create("network");
    tcase_set_timeout(n, 60);
    tcase_add_test(n, test_retries_exactly);
    tcase_add_test(n, test_not_idempotent_sent_once);
    tcase_add_test(n, test_quota_drains_and_refills);
    tcase_add_test(n, test_standard_mode_matches_botocore);
    tcase_add_test(n, test_retry_after_honoured);
    tcase_add_test(n, test_seeded_backoff);
    tcase_add_test(n, test_size_limits);
    tcase_add_test(n, test_timeouts_retried);
    tcase_add_test(n, test_connect_refused_retried);
    tcase_add_test(n, test_connection_reuse);
    tcase_add_test(n, test_fanout_order_and_bound);
    tcase_add_test(n, test_concurrency_limit);
    tcase_add_test(n, test_rate_limit);
    tcase_add_test(n, test_no_secret_in_logs);
    tcase_add_test(n, test_tls_verified_by_default);
    tcase_add_test(n, test_dry_run_records_only);
    tcase_add_test(n, test_host_uses_process_client);
    tcase_add_test(n, test_fanout_through_host);
    tcase_add_test(n, test_documented_defaults);
    tcase_add_test(n, test_default_request_limit);
    tcase_add_test(n, test_chunked_response_limit_edge);
    tcase_add_test(n, test_timeout_edge);
    tcase_add_test(n, test_connect_timeout);
    tcase_add_test(n, test_retry_quota_edge);
    tcase_add_test(n, test_retry_after_cap_edge);
    tcase_add_test(n, test_metrics_observations);
    tcase_add_test(n, test_metrics_reported_and_ingested);
    suite_add_tcase(s, n);
    return s;
}

int main(void)
{
    return fbt_run(suite());
}
