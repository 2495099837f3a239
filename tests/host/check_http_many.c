/* check_http_many.c - host->http_many (ABI 1.4, core/host/http_many.c)
 * against the fault-injecting server of tests/http: a batch is n
 * host->http calls in order (diagnostics and dry-run records in request
 * order, secrets redacted in logs and diagnostics, the record barrier
 * once), its requests in flight together, one failing request does not
 * lose the others' answers; and the slot's ABI rules (a 1.3-sized host
 * table has no http_many; the k8s driver loads on one). */
#include "config.h"

#include <check.h>
#include <dlfcn.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/call.h"
#include "broker/fanout.h"
#include "base/diag.h"
#include "base/util.h"
#include "fault_server.h"
#include "http/http.h"
#include "../lib/fbtest.h"

#define FAST "\"base_delay_ms\": 10, \"sleep_scale\": 0.01, \"seed\": 7"

static fts *srv;
static char base[64];
static fbi_http_client *cli;

static void up(void)
{
    char *err = NULL;
    srv = fts_start(NULL, NULL, 0, &err);
    ck_assert_msg(srv != NULL, "%s", err ? err : "?");
    snprintf(base, sizeof base, "http://127.0.0.1:%u", (unsigned)fts_port(srv));
    fb_diag *d = fb_diag_new();
    ck_assert_int_eq(fbi_http_client_new("{\"http\": {" FAST "}}", &cli, d), FB_OK);
    fb_diag_free(d);
}

static void down(void)
{
    fbi_http_client_free(cli);
    cli = NULL;
    fts_stop(srv);
    srv = NULL;
}

/* A call context bound to d that uses the test's client. */
static void call_begin(fbi_call *call, fb_diag *d)
{
    fbi_call_begin(call, d, "test");
    call->http = cli;
}

static int barrier_calls;
static fb_status barrier_answer;

static fb_status count_barrier(void *ud, fb_diag *d)
{
    (void)ud;
    barrier_calls++;
    if (barrier_answer != FB_OK)
        fb_diag_add(d, FB_SEV_ERROR, NULL, 0, 0, NULL, "the store refused the records", NULL);
    return barrier_answer;
}

/* n requests method base+paths[i] with flags[i], body and secrets. */
typedef struct batch {
    char url[8][256];
    fb_http_request rq[8];
    const fb_http_request *rp[8];
    fb_http_response resp[8];
    fb_status st[8];
} batch;

static void batch_init(batch *b, size_t n, const char *method, const char *const *paths, const uint32_t *flags,
                       const char *body, const fb_http_header *h, size_t nh, const char **secrets, size_t ns)
{
    memset(b, 0, sizeof *b);
    for (size_t i = 0; i < n; i++) {
        snprintf(b->url[i], sizeof b->url[i], "%s%s", base, paths[i]);
        b->rq[i] = (fb_http_request){.struct_size = sizeof b->rq[i], .method = method, .url = b->url[i],
                                     .headers = h, .n_headers = nh, .body = body,
                                     .body_len = body ? strlen(body) : 0, .flags = flags ? flags[i] : 0,
                                     .service = "many", .secrets = secrets, .n_secrets = ns};
        b->rp[i] = &b->rq[i];
    }
}

static void batch_free(batch *b, size_t n)
{
    for (size_t i = 0; i < n; i++) fbi_http_free(&b->resp[i]);
}

START_TEST(test_slot_and_abi)
{
    const fb_host *h = fb_host_table();
    ck_assert_uint_eq(h->abi_minor, 4);
    ck_assert_msg(FB_HOST_HAS(h, http_many), "the host offers http_many");
    /* a 1.3 host's table ends before the slot: a driver must not see it */
    fb_host old = *h;
    old.abi_minor = 3;
    old.struct_size = offsetof(fb_host, http_many);
    ck_assert_msg(!FB_HOST_HAS(&old, http_many), "a 1.3-sized table has no http_many");
    /* the k8s driver loads on a 1.3 host (and serves it one request at a
     * time, k8s_can_batch), and refuses a table smaller than 1.3's */
    const char *dir = getenv("FEDBROKER_DRIVER_PATH");
    if (!dir) return;
    char *so = fbi_xasprintf("%s/k8s.so", dir);
    void *dl = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(dl != NULL, "dlopen %s: %s", so, dlerror());
    fb_status (*entry)(const fb_host *, const fb_driver **, fb_diag *) =
        (fb_status(*)(const fb_host *, const fb_driver **, fb_diag *))dlsym(dl, FB_DRIVER_ENTRY_SYMBOL);
    ck_assert_ptr_nonnull(entry);
    const fb_driver *drv = NULL;
    fb_diag *d = fb_diag_new();
    ck_assert_int_eq(entry(&old, &drv, d), FB_OK);
    ck_assert_ptr_nonnull(drv);
    fb_host older = old;
    older.struct_size = offsetof(fb_host, http_many) - 1;
    ck_assert_int_eq(entry(&older, &drv, d), FB_NOTSUP);
    ck_assert_int_eq(entry(h, &drv, d), FB_OK); /* back to this host for the process */
    fb_diag_free(d);
    free(so);
}
END_TEST

/* Every answer arrives, a failing request in the middle loses none of
 * them, and the diagnostics come in request order. */
START_TEST(test_answers_and_order)
{
    up();
    const fb_host *h = fb_host_table();
    fb_diag *d = fb_diag_new();
    fbi_call call;
    call_begin(&call, d);
    const char *paths[] = {"/k/m0/reset", "/k/m1/ok", "/k/m2/invalid", "/k/m3/reset", "/k/m4/500,ok"};
    /* POST without FB_HTTP_IDEMPOTENT: a reset is not retried */
    const uint32_t flags[] = {0, 0, 0, 0, FB_HTTP_IDEMPOTENT};
    batch b;
    batch_init(&b, 5, "POST", paths, flags, "{}", NULL, 0, NULL, 0);
    ck_assert_int_eq(h->http_many(d, b.rp, 5, b.resp, b.st), FB_OK);
    ck_assert_int_eq(b.st[0], FB_RETRYABLE);
    ck_assert_int_eq(b.st[1], FB_OK);
    ck_assert_int_eq(b.resp[1].status, 200);
    json_t *j = json_loadb(b.resp[1].body, b.resp[1].body_len, 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(j, "path")), "/k/m1/ok");
    json_decref(j);
    ck_assert_int_eq(b.st[2], FB_OK);
    ck_assert_int_eq(b.resp[2].status, 400); /* an answer: the driver maps it */
    ck_assert_int_eq(b.st[3], FB_RETRYABLE);
    ck_assert_int_eq(b.st[4], FB_OK);
    ck_assert_int_eq(b.resp[4].status, 200);
    ck_assert_uint_eq(fts_attempts(srv, "m4"), 2);
    /* one diagnostic for each reset, the first request's first */
    ck_assert_uint_eq(fb_diag_errors(d), 2);
    ck_assert_msg(strstr(fb_diag_summary(d, 0), "/k/m0/"), "first: %s", fb_diag_summary(d, 0));
    ck_assert_msg(strstr(fb_diag_summary(d, 1), "/k/m3/"), "second: %s", fb_diag_summary(d, 1));
    batch_free(&b, 5);
    fbi_call_end(&call, d);
    fb_diag_free(d);
    down();
}
END_TEST

/* In flight together: four requests the server holds for a while each
 * are held at once (the sequential calls would never overlap). */
START_TEST(test_in_flight_together)
{
    up();
    const fb_host *h = fb_host_table();
    fb_diag *d = fb_diag_new();
    fbi_call call;
    call_begin(&call, d);
    const char *paths[] = {"/k/f0/delay1500", "/k/f1/delay1500", "/k/f2/delay1500", "/k/f3/delay1500"};
    const uint32_t flags[] = {FB_HTTP_READ_ONLY, FB_HTTP_READ_ONLY, FB_HTTP_READ_ONLY, FB_HTTP_READ_ONLY};
    batch b;
    batch_init(&b, 4, "GET", paths, flags, NULL, NULL, 0, NULL, 0);
    ck_assert_int_eq(h->http_many(d, b.rp, 4, b.resp, b.st), FB_OK);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(b.st[i], FB_OK);
        ck_assert_int_eq(b.resp[i].status, 200);
    }
    ck_assert_uint_ge(fts_max_inflight(srv), 2);
    ck_assert_uint_eq(fb_diag_count(d), 0);
    batch_free(&b, 4);
    fbi_call_end(&call, d);
    fb_diag_free(d);
    down();
}
END_TEST

/* One fan-out job: a batch of three requests the server holds for a
 * while each, on its own diag and call. */
static fb_status three_held(void *ud, size_t i)
{
    (void)ud;
    const fb_host *h = fb_host_table();
    fb_diag *d = fb_diag_new();
    fbi_call call;
    call_begin(&call, d);
    char p0[32], p1[32], p2[32];
    snprintf(p0, sizeof p0, "/k/g%zu0/delay600", i);
    snprintf(p1, sizeof p1, "/k/g%zu1/delay600", i);
    snprintf(p2, sizeof p2, "/k/g%zu2/delay600", i);
    const char *paths[] = {p0, p1, p2};
    const uint32_t flags[] = {FB_HTTP_READ_ONLY, FB_HTTP_READ_ONLY, FB_HTTP_READ_ONLY};
    batch b;
    batch_init(&b, 3, "GET", paths, flags, NULL, NULL, 0, NULL, 0);
    fb_status st = h->http_many(d, b.rp, 3, b.resp, b.st);
    for (int k = 0; st == FB_OK && k < 3; k++)
        if (b.st[k] != FB_OK || b.resp[k].status != 200) st = FB_INTERNAL;
    batch_free(&b, 3);
    fbi_call_end(&call, d);
    fb_diag_free(d);
    return st;
}

/* A fan-out of parallelism 2 keeps at most 2 requests outstanding although
 * each of its jobs sends three together (fbi_http_outstanding_add): the
 * server never holds more than 2 (6 without the bound). */
START_TEST(test_fanout_bounds_outstanding)
{
    up();
    fb_status st[2];
    ck_assert_int_eq(fbi_fanout(2, 2, three_held, NULL, st), FB_OK);
    ck_assert_int_eq(st[0], FB_OK);
    ck_assert_int_eq(st[1], FB_OK);
    ck_assert_uint_eq(fts_max_inflight(srv), 2);
    down();
}
END_TEST

/* A dry run records the requests in order, redacted, and sends none. */
START_TEST(test_dry_run_in_order)
{
    up();
    const fb_host *h = fb_host_table();
    fb_diag *d = fb_diag_new();
    fbi_call call;
    call_begin(&call, d);
    call.dry_run = 1;
    const char *paths[] = {"/k/d0/ok", "/k/d1/ok?token=SEKRIT", "/k/d2/ok"};
    const char *secrets[] = {"SEKRIT"};
    fb_http_header hd = {"Authorization", "Bearer SEKRIT"};
    batch b;
    batch_init(&b, 3, "PATCH", paths, NULL, "{\"a\":\"SEKRIT\"}", &hd, 1, secrets, 1);
    ck_assert_int_eq(h->http_many(d, b.rp, 3, b.resp, b.st), FB_OK);
    ck_assert_uint_eq(json_array_size(call.dry_requests), 3);
    for (size_t i = 0; i < 3; i++) {
        ck_assert_int_eq(b.st[i], FB_OK);
        ck_assert_int_eq(b.resp[i].status, 0);
        json_t *r = json_array_get(call.dry_requests, i);
        const char *url = json_string_value(json_object_get(r, "url"));
        char want[64];
        snprintf(want, sizeof want, "/k/d%zu/ok", i);
        ck_assert_msg(url && strstr(url, want), "record %zu is %s", i, url ? url : "(none)");
        char *txt = json_dumps(r, JSON_COMPACT);
        ck_assert_msg(!strstr(txt, "SEKRIT"), "a secret in a dry-run record: %s", txt);
        free(txt);
    }
    ck_assert_uint_eq(fts_total(srv), 0);
    batch_free(&b, 3);
    fbi_call_end(&call, d);
    fb_diag_free(d);
    down();
}
END_TEST

/* The secrets of every request of a batch are redacted in the log and in
 * the diagnostics, also where another request of the batch fails. */
START_TEST(test_secrets_redacted)
{
    up();
    setenv("FEDBROKER_LOG", "info", 1);
    fbt_capture cap;
    fbt_stderr_begin(&cap);
    const fb_host *h = fb_host_table();
    fb_diag *d = fb_diag_new();
    fbi_call call;
    call_begin(&call, d);
    const char *paths[] = {"/k/s0/ok/PATHSECRET1", "/k/s1/reset/PATHSECRET1", "/k/s2/ok/PATHSECRET1"};
    const char *secrets[] = {"PATHSECRET1", "TOKSECRET2"};
    fb_http_header hd = {"Authorization", "Bearer TOKSECRET2"};
    batch b;
    batch_init(&b, 3, "POST", paths, NULL, "{\"password\": \"TOKSECRET2\"}", &hd, 1, secrets, 2);
    ck_assert_int_eq(h->http_many(d, b.rp, 3, b.resp, b.st), FB_OK);
    char *log = fbt_stderr_end(&cap);
    unsetenv("FEDBROKER_LOG");
    ck_assert_int_eq(b.st[0], FB_OK);
    ck_assert_int_eq(b.st[1], FB_RETRYABLE);
    ck_assert_int_eq(b.st[2], FB_OK);
    ck_assert_msg(strstr(log, "/k/s0/ok/REDACTED -> 200"), "the log shows the requests:\n%s", log);
    ck_assert_msg(strstr(log, "/k/s2/ok/REDACTED -> 200"), "the log shows the requests:\n%s", log);
    const char *never[] = {"PATHSECRET", "TOKSECRET"};
    for (size_t i = 0; i < 2; i++) {
        ck_assert_msg(!strstr(log, never[i]), "\"%s\" leaked into the log:\n%s", never[i], log);
        for (size_t k = 0; k < fb_diag_count(d); k++) {
            const char *s = fb_diag_summary(d, k), *t = fb_diag_detail(d, k);
            ck_assert_msg(!strstr(s, never[i]) && (!t || !strstr(t, never[i])), "\"%s\" leaked into: %s %s",
                          never[i], s, t ? t : "");
        }
    }
    ck_assert_uint_eq(fb_diag_errors(d), 1);
    /* the call knows every request's secrets afterwards, as after host->http */
    char *r = fbi_call_redact(&call, "x PATHSECRET1 TOKSECRET2");
    ck_assert_str_eq(r, "x REDACTED REDACTED");
    free(r);
    free(log);
    batch_free(&b, 3);
    fbi_call_end(&call, d);
    fb_diag_free(d);
    down();
}
END_TEST

/* The record barrier: once before a batch that may change something,
 * never before reads; when it refuses, nothing is sent. */
START_TEST(test_barrier_once)
{
    up();
    const fb_host *h = fb_host_table();
    fb_diag *d = fb_diag_new();
    fbi_call call;
    call_begin(&call, d);
    call.barrier_cb = count_barrier;
    barrier_calls = 0;
    barrier_answer = FB_OK;
    const char *paths[] = {"/k/b0/ok", "/k/b1/ok", "/k/b2/ok"};
    batch b;
    batch_init(&b, 3, "GET", paths, NULL, NULL, NULL, 0, NULL, 0);
    ck_assert_int_eq(h->http_many(d, b.rp, 3, b.resp, b.st), FB_OK);
    batch_free(&b, 3);
    ck_assert_int_eq(barrier_calls, 0);
    batch_init(&b, 3, "PATCH", paths, NULL, "{}", NULL, 0, NULL, 0);
    b.rq[0].method = "GET";
    ck_assert_int_eq(h->http_many(d, b.rp, 3, b.resp, b.st), FB_OK);
    batch_free(&b, 3);
    ck_assert_int_eq(barrier_calls, 1);
    unsigned seen = fts_total(srv);
    ck_assert_uint_eq(seen, 6);
    barrier_answer = FB_INTERNAL;
    batch_init(&b, 3, "PATCH", paths, NULL, "{}", NULL, 0, NULL, 0);
    ck_assert_int_eq(h->http_many(d, b.rp, 3, b.resp, b.st), FB_INTERNAL);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(b.st[i], FB_INTERNAL);
        ck_assert_ptr_null(b.resp[i].body);
    }
    ck_assert_int_eq(barrier_calls, 2);
    ck_assert_uint_eq(fts_total(srv), seen);
    ck_assert_uint_eq(fb_diag_errors(d), 1);
    batch_free(&b, 3);
    fbi_call_end(&call, d);
    fb_diag_free(d);
    down();
}
END_TEST

/* Wrong arguments are refused with a diagnostic, every status set. */
START_TEST(test_bad_arguments)
{
    const fb_host *h = fb_host_table();
    fb_diag *d = fb_diag_new();
    fb_status st[2] = {FB_OK, FB_OK};
    fb_http_response resp[2];
    const fb_http_request *rp[2] = {NULL, NULL};
    ck_assert_int_eq(h->http_many(d, rp, 2, resp, st), FB_INVALID);
    ck_assert_int_eq(st[0], FB_INVALID);
    ck_assert_int_eq(st[1], FB_INVALID);
    ck_assert_uint_eq(fb_diag_errors(d), 1);
    ck_assert_int_eq(h->http_many(d, NULL, 0, NULL, NULL), FB_OK);
    fb_diag_free(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_many");
    TCase *t = tcase_create("http_many");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_slot_and_abi);
    tcase_add_test(t, test_answers_and_order);
    tcase_add_test(t, test_in_flight_together);
    tcase_add_test(t, test_fanout_bounds_outstanding);
    tcase_add_test(t, test_dry_run_in_order);
    tcase_add_test(t, test_secrets_redacted);
    tcase_add_test(t, test_barrier_once);
    tcase_add_test(t, test_bad_arguments);
    suite_add_tcase(s, t);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
