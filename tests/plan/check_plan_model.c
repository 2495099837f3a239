/* check_plan_model.c - pieces of plan's model that the end-to-end tests
 * reach only as a whole: exact money strings, the links' rounding, the
 * shape key the evaluation cache is keyed by, free tiers shared by largest
 * remainder (checked against integer arithmetic done here), the
 * catalog look-ups shared by the evaluation threads, and evaluate's output
 * read once per distinct result (against json_loads of the whole text). */
#include "config.h"
#include "../lib/fbtest.h"
#include "plan/plan_int.h"

#include <pthread.h>
#include <string.h>

START_TEST(nano_strings)
{
    static const struct { int64_t v; const char *s; } t[] = {
        {0, "0.00"}, {1, "0.000000001"}, {10, "0.00000001"}, {12340000000, "12.34"},
        {12345000000, "12.345"}, {-1500000000, "-1.50"}, {999999999, "0.999999999"},
        {INT64_MAX, "9223372036.854775807"}, {INT64_MIN, "-9223372036.854775808"},
        {100000000000, "100.00"}, {-1, "-0.000000001"}};
    char b[40];
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) ck_assert_str_eq(fbi_nano_str(t[i].v, b), t[i].s);
}
END_TEST

/* volume (nano-GiB) x price (nano-USD per GiB) / 10^9, halves away from
 * zero: the one rule of core/base/decimal.h, which the solver uses too
 * (docs/solver.md), so a link's line is what the solver added to the
 * total. */
START_TEST(link_rounding)
{
    ck_assert_int_eq(fbi_plan_link_cost(500000000, 1), 1);   /* 0.5 -> 1 */
    ck_assert_int_eq(fbi_plan_link_cost(1500000000, 1), 2);  /* 1.5 -> 2 */
    ck_assert_int_eq(fbi_plan_link_cost(2500000000, 1), 3);  /* 2.5 -> 3, not to even */
    ck_assert_int_eq(fbi_plan_link_cost(499999999, 1), 0);
    ck_assert_int_eq(fbi_plan_link_cost(2500000001, 1), 3);  /* above the half */
    ck_assert_int_eq(fbi_plan_link_cost(1499999999, 1), 1);
    /* 100 GiB at 0.02 USD/GiB */
    ck_assert_int_eq(fbi_plan_link_cost(100 * INT64_C(1000000000), 20000000), 2000000000);
    /* no overflow on large volumes: 10^6 GiB at 0.09 USD/GiB */
    ck_assert_int_eq(fbi_plan_link_cost(INT64_C(1000000) * 1000000000, 90000000), INT64_C(90000) * 1000000000);
}
END_TEST

static json_t *doc(const char *text)
{
    json_error_t je;
    json_t *d = json_loads(text, 0, &je);
    ck_assert_msg(d != NULL, "%s", je.text);
    return d;
}

/* Workloads that differ only in metadata and specHash have one shape;
 * any other difference, however small, is another shape. */
START_TEST(shape_keys)
{
    json_t *a = doc("{\"kind\":\"Function\",\"metadata\":{\"name\":\"a\",\"tenant\":\"t\"},"
                    "\"spec\":{\"traffic\":{\"requestsPerMonth\":1000,\"sources\":[{\"location\":\"tokyo\",\"weight\":0.3}]}},"
                    "\"specHash\":\"00\"}");
    json_t *b = doc("{\"specHash\":\"ff\",\"metadata\":{\"name\":\"b\",\"labels\":{\"x\":\"y\"},\"annotations\":{}},"
                    "\"spec\":{\"traffic\":{\"sources\":[{\"weight\":0.3,\"location\":\"tokyo\"}],\"requestsPerMonth\":1000}},"
                    "\"kind\":\"Function\"}");
    json_t *c = doc("{\"kind\":\"Function\",\"metadata\":{\"name\":\"a\",\"tenant\":\"t\"},"
                    "\"spec\":{\"traffic\":{\"requestsPerMonth\":1001,\"sources\":[{\"location\":\"tokyo\",\"weight\":0.3}]}},"
                    "\"specHash\":\"00\"}");
    json_t *d = doc("{\"kind\":\"Container\",\"metadata\":{\"name\":\"a\",\"tenant\":\"t\"},"
                    "\"spec\":{\"traffic\":{\"requestsPerMonth\":1000,\"sources\":[{\"location\":\"tokyo\",\"weight\":0.3}]}},"
                    "\"specHash\":\"00\"}");
    json_t *e = doc("{\"kind\":\"Function\",\"metadata\":{\"name\":\"a\",\"tenant\":\"t\"},"
                    "\"spec\":{\"traffic\":{\"requestsPerMonth\":1000,\"sources\":[{\"location\":\"tokyo\",\"weight\":0.30000000000000004}]}},"
                    "\"specHash\":\"00\"}");
    char ka[65], kb[65], kc[65], kd[65], ke[65];
    fbi_plan_shape_key(a, ka);
    fbi_plan_shape_key(b, kb);
    fbi_plan_shape_key(c, kc);
    fbi_plan_shape_key(d, kd);
    fbi_plan_shape_key(e, ke);
    ck_assert_str_eq(ka, kb);
    ck_assert_str_ne(ka, kc);
    ck_assert_str_ne(ka, kd);
    ck_assert_str_ne(ka, ke); /* the canonical text keeps every bit of a number */
    ck_assert_uint_eq(strlen(ka), 64);
    /* the document itself is left as it was */
    ck_assert_ptr_nonnull(json_object_get(a, "metadata"));
    ck_assert_ptr_nonnull(json_object_get(a, "specHash"));
    json_decref(a);
    json_decref(b);
    json_decref(c);
    json_decref(d);
    json_decref(e);
}
END_TEST

/* Three workloads on Lambda in us-east-1 use 300,000, 500,000 and 700,000
 * requests; AWS's free tier of 1,000,000 requests a month is shared in
 * proportion, the last micro-request by the largest remainder, each share
 * valued at the line's unit price (0.20 USD per 1M requests). */
START_TEST(free_tier_shares)
{
    model m;
    memset(&m, 0, sizeof m);
    fb_diag *d = fb_diag_new();
    ck_assert_int_eq(fbi_catalog_open(NULL, NULL, &m.cat, d), FB_OK);
    const fbi_price_row *req = fbi_catalog_price_by_sku(m.cat, "aws/lambda/us-east-1/requests/x86_64+arm64");
    ck_assert_ptr_nonnull(req);
    static const int64_t use[3] = {300000, 500000, 700000};
    option opts[3];
    option_eval evs[3];
    pline lines[3];
    wl w[3];
    memset(opts, 0, sizeof opts);
    memset(evs, 0, sizeof evs);
    memset(lines, 0, sizeof lines);
    memset(w, 0, sizeof w);
    for (int i = 0; i < 3; i++) {
        lines[i].row = req;
        lines[i].qty = use[i] * 1000000; /* micro-requests */
        lines[i].contracted_unit = req->usd_per_unit;
        lines[i].what = "usage";
        evs[i].lines = &lines[i];
        evs[i].nlines = 1;
        opts[i].ev = &evs[i];
        w[i].opts = &opts[i];
        w[i].nopts = 1;
        w[i].chosen = 0;
        w[i].fixed = -1;
    }
    m.w = w;
    m.nw = 3;
    int64_t credit = 0;
    json_t *rows = fbi_plan_free_tiers(&m, &credit);
    /* the requests tier is the only one these lines fall under */
    ck_assert_uint_eq(json_array_size(rows), 1);
    json_t *r = json_array_get(rows, 0);
    ck_assert_str_eq(json_string_value(json_object_get(r, "sku")),
                     "aws/lambda/global/free_tier_requests/x86_64+arm64/free-tier/t0");
    ck_assert_str_eq(json_string_value(json_object_get(r, "used")), "1000000");
    ck_assert_int_eq(json_integer_value(json_object_get(r, "lines")), 3);
    /* shares: 1e12 micro-requests x use / 1.5e6, floors plus the
     * remainder to the largest fractional parts */
    const unsigned __int128 freeq = (unsigned __int128)1000000 * 1000000, total = 1500000;
    int64_t given = 0, sum = 0;
    for (int i = 0; i < 3; i++) {
        unsigned __int128 exact_num = freeq * (unsigned __int128)use[i]; /* / total */
        int64_t fl = (int64_t)(exact_num / total);
        ck_assert_msg(w[i].free_qty[0] == fl || w[i].free_qty[0] == fl + 1, "share %d", i);
        given += w[i].free_qty[0];
        /* credit: micro-requests x 0.2e-6 USD -> micro-USD, half up, negated */
        int64_t micro = (int64_t)(((unsigned __int128)w[i].free_qty[0] * 200000 + 500000000000) / 1000000000000);
        ck_assert_int_eq(w[i].credit_nano[0], -micro * 1000);
        sum += w[i].credit_nano[0];
    }
    ck_assert_int_eq(given, 1000000000000);
    /* 200,000 + 333,333.33 + 466,666.67 requests: the two fractions of
     * 1/3 and 2/3 micro-request; the last one goes to the 2/3 */
    ck_assert_int_eq(w[0].free_qty[0], 200000000000);
    ck_assert_int_eq(w[1].free_qty[0], 333333333333);
    ck_assert_int_eq(w[2].free_qty[0], 466666666667);
    ck_assert_int_eq(sum, credit);
    char b[40];
    ck_assert_str_eq(json_string_value(json_object_get(r, "credit")), fbi_nano_str(credit, b));
    ck_assert_int_eq(credit, -200000000); /* 0.20 USD: the whole allowance */
    json_decref(rows);
    for (int i = 0; i < 3; i++) {
        free(w[i].credit_nano);
        free(w[i].free_qty);
    }
    free(m.ftiers); /* the model's free-tier rows, as model.c frees them */
    fbi_catalog_free(m.cat);
    fb_diag_free(d);
}
END_TEST

typedef struct look {
    const model *m;
    const plan_prices *p;
    const plan_rtt *rt;
    const plan_egress *e;
} look;

static void *look_up(void *arg)
{
    look *l = arg;
    fbi_price_query q = {"aws", "lambda", "eu-west-1", "requests", "x86_64+arm64", NULL};
    for (int i = 0; i < 200; i++) {
        l->p = fbi_plan_find_prices(l->m, &q);
        l->rt = fbi_plan_user_rtt(l->m, "tokyo", "aws:eu-west-1");
        l->e = fbi_plan_egress_to(l->m, "aws:eu-west-1", "tokyo");
    }
    return NULL;
}

/* Look-ups from several threads get one stored answer each, the catalog's. */
START_TEST(shared_lookups)
{
    model m;
    memset(&m, 0, sizeof m);
    fb_diag *d = fb_diag_new();
    ck_assert_int_eq(fbi_catalog_open(NULL, NULL, &m.cat, d), FB_OK);
    m.memo = fbi_plan_memo_new(1);
    look l[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        l[i].m = &m;
        ck_assert_int_eq(pthread_create(&th[i], NULL, look_up, &l[i]), 0);
    }
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    for (int i = 1; i < 4; i++) {
        ck_assert_ptr_eq(l[i].p, l[0].p);
        ck_assert_ptr_eq(l[i].rt, l[0].rt);
        ck_assert_ptr_eq(l[i].e, l[0].e);
    }
    fbi_price_query q = {"aws", "lambda", "eu-west-1", "requests", "x86_64+arm64", NULL};
    const fbi_price_row **rows = NULL;
    size_t n = 0;
    ck_assert_int_eq(fbi_catalog_find_prices(m.cat, &q, &rows, &n, d), FB_OK);
    ck_assert_int_eq(l[0].p->st, FB_OK);
    ck_assert_uint_eq(l[0].p->n, n);
    for (size_t i = 0; i < n; i++) ck_assert_ptr_eq(l[0].p->rows[i], rows[i]);
    free(rows);
    double ms;
    fbi_rtt_origin org;
    ck_assert_int_eq(fbi_catalog_user_rtt(m.cat, "tokyo", "aws:eu-west-1", &ms, &org), FB_OK);
    ck_assert(l[0].rt->ms == ms);
    /* an unknown product is remembered as a refusal with the catalog's words */
    fbi_price_query bad = {"aws", "lambda", "eu-west-1", "no-such-metric", NULL, NULL};
    const plan_prices *nb = fbi_plan_find_prices(&m, &bad);
    ck_assert_int_ne(nb->st, FB_OK);
    ck_assert_ptr_nonnull(nb->err);
    ck_assert_ptr_eq(fbi_plan_find_prices(&m, &bad), nb);
    fbi_plan_memo_free(m.memo);
    fbi_catalog_free(m.cat);
    fb_diag_free(d);
}
END_TEST

/* An evaluate call's output read as plan prices it: each result is the
 * value json_loads gives (checked against json_loads of the whole text
 * here), equal results are read once and shared, and any output that is
 * not a "results" array of k (or not JSON) is refused whole. */
static void check_results(model *m, const char *text, size_t k, size_t want_docs, int equal_shared)
{
    plan_results r;
    ck_assert_msg(fbi_plan_results_read(m, text, k, &r) == 0, "refused: %s", text);
    json_t *whole = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(whole);
    json_t *results = json_object_get(whole, "results");
    ck_assert_uint_eq(json_array_size(results), k);
    for (size_t i = 0; i < k; i++) {
        ck_assert_msg(json_equal(r.of[i]->doc, json_array_get(results, i)), "%s: result %zu", text, i);
        for (size_t j = 0; j < i; j++)
            if (equal_shared && json_equal(json_array_get(results, i), json_array_get(results, j)))
                ck_assert_ptr_eq(r.of[i], r.of[j]);
    }
    ck_assert_uint_eq(r.ndocs, want_docs);
    json_decref(whole);
    fbi_plan_results_free(&r);
}

START_TEST(evaluate_results)
{
    model m;
    memset(&m, 0, sizeof m);
    m.memo = fbi_plan_memo_new(0);
    const char *u = "{\"coldStartMs\":1500,\"lines\":[{\"metric\":\"cpu\",\"note\":\"a \\\"quoted\\\"] note\","
                    "\"quantity\":\"181560.6\",\"service\":\"s\",\"unit\":\"vCPU-second\",\"variant\":\"\"},"
                    "{\"metric\":\"m\",\"quantity\":\"x1\",\"service\":\"s\"}],\"notes\":[\"n\\\\\"],\"vcpu\":\"0.25\"}";
    char *t = fbi_xasprintf("{\"results\":[false,%s,null,%s,false]}", u, u);
    check_results(&m, t, 5, 3, 1); /* false, the document, null */
    plan_results r;
    ck_assert_int_eq(fbi_plan_results_read(&m, t, 5, &r), 0);
    const plan_usage *pu = r.of[1];
    ck_assert_ptr_eq(pu, r.of[3]);
    ck_assert_uint_eq(pu->nlines, 2);
    ck_assert_str_eq(pu->lines[0].note, "a \"quoted\"] note");
    ck_assert_int_eq(pu->lines[0].bad, 0);
    ck_assert_int_eq(pu->lines[0].qty, 181560600000); /* micro-units */
    ck_assert_int_eq(pu->lines[1].bad, 1);             /* "x1" is no quantity */
    ck_assert_ptr_nonnull(pu->lines[1].err);
    ck_assert_int_eq(pu->vcpu_micro, 250000);
    ck_assert(pu->cold_ms == 1500);
    /* the notes are interned: another read shares them */
    plan_results r2;
    ck_assert_int_eq(fbi_plan_results_read(&m, t, 5, &r2), 0);
    ck_assert_ptr_eq(r2.of[1]->notes, pu->notes);
    ck_assert_ptr_eq(r2.of[1]->lines[0].note, pu->lines[0].note);
    fbi_plan_results_free(&r2);
    fbi_plan_results_free(&r);
    free(t);
    /* whitespace anywhere JSON allows it; values that differ in one byte are two */
    check_results(&m, " {\n \"results\" : [ {\"a\": [1, {\"b\": \"}\"}]} ,\t{\"a\": [1, {\"b\": \"}\"}]}, {\"a\": [1, {\"b\": \"]\"}]} ] } \n",
                  3, 2, 1);
    check_results(&m, "{\"results\":[{\"a\": 1},{\"a\":1}]}", 2, 2, 0); /* equal values, two texts */
    check_results(&m, "{\"results\":[]}", 0, 0, 1);
    check_results(&m, "{\"results\":[-0.0,0.0,1e2,true]}", 4, 4, 0);
    /* other forms are read whole, one document per result */
    check_results(&m, "{\"x\":1,\"results\":[false,false]}", 2, 2, 0);
    check_results(&m, "{\"result\\u0073\":[null,null]}", 2, 2, 0);
    /* refused whole */
    static const char *const bad[] = {
        "", "[]", "{\"results\":[false]}", "{\"results\":[false,false,false]}",
        "{\"results\":[{\"a\":},false]}", "{\"results\":[false,false]", "{\"results\":[false,false]}x",
        "{\"results\":[\"open,false]}", "{\"results\":{\"a\":false,\"b\":false}}", "{\"results\":[false false]}",
        "{\"results\":[fals,false]}", "{\"results\":[\"\\u00\",false]}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(fbi_plan_results_read(&m, bad[i], 2, &r) == -1, "accepted: %s", bad[i]);
    fbi_plan_memo_free(m.memo);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("plan_model");
    TCase *tc = tcase_create("plan_model");
    tcase_add_test(tc, nano_strings);
    tcase_add_test(tc, link_rounding);
    tcase_add_test(tc, shape_keys);
    tcase_add_test(tc, free_tier_shares);
    tcase_add_test(tc, shared_lookups);
    tcase_add_test(tc, evaluate_results);
    suite_add_tcase(s, tc);
    return fbt_run(s);
}
