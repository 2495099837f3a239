/* check_sim.c - the step model (core/sim) and profile times
 * (core/spec/spec_profile.c) on small profiles whose results are worked
 * out by hand in the comments; UTC times checked against the C library's
 * gmtime_r. */
#include "config.h"
#include "fbtest.h"
#include "sim/sim.h"
#include "sim/forecast.h"
#include "spec/profile.h"

#include <math.h>
#include <string.h>
#include <time.h>

static fbi_profile mk(const double *r, size_t n, int64_t step)
{
    fbi_profile p;
    memset(&p, 0, sizeof p);
    p.rps = malloc(n * sizeof *p.rps);
    memcpy(p.rps, r, n * sizeof *r);
    p.n = n;
    p.step_s = step;
    return p;
}

/* D = 100 ms, C = 10, u = 1 (desired = ceil(L / 10)), sync 15 s, start 30 s,
 * replicas 1..100, no prices unless a test sets them. */
static fbi_sim_params base(void)
{
    fbi_sim_params p;
    fbi_sim_params_default(&p);
    p.duration_s = 0.1;
    p.conc = 10;
    p.target_util = 1.0;
    p.sync_s = 15;
    p.start_s = 30;
    p.min_replicas = 1;
    p.max_replicas = 100;
    p.baseline = 0;
    return p;
}

START_TEST(times_agree_with_gmtime)
{
    for (int64_t t = -86400LL * 365; t < 4102444800LL; t += 7777777) {
        char buf[64], want[64];
        fbi_profile_format_time(t, buf);
        time_t tt = (time_t)t;
        struct tm tm;
        gmtime_r(&tt, &tm);
        strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%SZ", &tm);
        ck_assert_str_eq(buf, want);
        int64_t back = 0;
        int abs = 0;
        char *err = NULL;
        ck_assert_int_eq(fbi_profile_parse_time(buf, &back, &abs, &err), 0);
        ck_assert_int_eq(back, t);
        ck_assert_int_eq(abs, 1);
    }
}
END_TEST

START_TEST(times_refused_and_offsets)
{
    static const char *const bad[] = {"2023-02-29T00:00Z", "2024-13-01T00:00Z", "2024-01-01T24:00Z",
                                      "2024-01-01T00:00+02:00", "abc", "1500ms", "", NULL};
    for (int i = 0; bad[i]; i++) {
        int64_t t;
        int a;
        char *err = NULL;
        ck_assert_msg(fbi_profile_parse_time(bad[i], &t, &a, &err) == -1, "%s accepted", bad[i]);
        ck_assert_ptr_nonnull(err);
        free(err);
    }
    int64_t t;
    int a;
    char *err = NULL;
    ck_assert_int_eq(fbi_profile_parse_time("90m", &t, &a, &err), 0);
    ck_assert_int_eq(t, 5400);
    ck_assert_int_eq(a, 0);
    ck_assert_int_eq(fbi_profile_parse_time("2024-02-29 12:00", &t, &a, &err), 0);
    ck_assert_int_eq(t, 1709208000);
    ck_assert_int_eq(fbi_profile_parse_time("1767225600", &t, &a, &err), 0);
    ck_assert_int_eq(t, 1767225600);
}
END_TEST

/* 100 requests/s x 100 ms = 10 concurrent; at u = 0.5 static peak runs
 * ceil(10 / 5) = 2 replicas, busy 10 of their 20 slots. */
START_TEST(static_constant_load)
{
    double r[] = {100, 100, 100, 100};
    fbi_profile pr = mk(r, 4, 60);
    fbi_sim_params p = base();
    p.target_util = 0.5;
    p.replica_month_nano = 2628000000LL; /* 1 nano-USD a replica-second x 1000 */
    fbi_sim_result res;
    char *err = NULL;
    ck_assert_int_eq(fbi_sim_run(&pr, &p, FBI_SIM_STATIC_PEAK, NULL, NULL, &res, &err), 0);
    ck_assert_double_eq_tol(res.mean_util, 0.5, 1e-12);
    ck_assert_double_eq_tol(res.replica_seconds, 2 * 240, 1e-9);
    ck_assert_double_eq(res.availability, 1.0);
    ck_assert_int_eq(res.cost_nano, 480 * 1000);
    /* the profile is 240 s: a month is 10,950 of them */
    ck_assert_int_eq(res.monthly_nano, INT64_C(480) * 1000 * 10950);
    fbi_profile_free(&pr);
}
END_TEST

/* 3 steps at 10 concurrent (1 replica), then 3 at 30: the autoscaler acts
 * at +15 s and the 2 new replicas serve from +45 s. Meanwhile 20 of the 30
 * concurrent requests have no slot: 20 x 45 s / 0.1 s = 9,000 requests. */
START_TEST(reactive_lag_is_counted)
{
    double r[] = {100, 100, 100, 300, 300, 300};
    fbi_profile pr = mk(r, 6, 60);
    fbi_sim_params p = base();
    fbi_sim_result res;
    char *err = NULL;
    ck_assert_int_eq(fbi_sim_run(&pr, &p, FBI_SIM_REACTIVE, NULL, NULL, &res, &err), 0);
    double offered = 100 * 180 + 300 * 180;
    ck_assert_double_eq_tol(res.offered, offered, 1e-6);
    ck_assert_double_eq_tol(res.availability, (offered - 9000) / offered, 1e-9);
    ck_assert_int_eq(res.rises, 1);
    ck_assert_double_eq_tol(res.scaleout_max_s, 45, 1e-9);
    ck_assert_double_eq_tol(res.max_containers, 3, 1e-9);
    /* hybrid sends those 9,000 to 20 function instances, all cold */
    ck_assert_int_eq(fbi_sim_run(&pr, &p, FBI_SIM_HYBRID, NULL, NULL, &res, &err), 0);
    ck_assert_double_eq(res.availability, 1.0);
    ck_assert_double_eq_tol(res.served_functions, 9000, 1e-6);
    ck_assert_int_eq(res.max_functions, 20);
    ck_assert_double_eq_tol(res.cold_starts, 20, 1e-9);
    /* a limit of 5 instances throttles 15 of the 20: 6,750 requests */
    p.flimit = 5;
    ck_assert_int_eq(fbi_sim_run(&pr, &p, FBI_SIM_HYBRID, NULL, NULL, &res, &err), 0);
    ck_assert_double_eq_tol(res.served_functions, 2250, 1e-6);
    ck_assert_double_eq_tol(res.availability, (offered - 6750) / offered, 1e-9);
    fbi_profile_free(&pr);
}
END_TEST

/* functions only, 2 and 0 instances alternating each minute: with a
 * 10-minute keep-alive only the first 2 are cold; with none every burst is. */
START_TEST(keep_alive)
{
    double r[] = {0, 20, 0, 20, 0, 20};
    fbi_profile pr = mk(r, 6, 60);
    fbi_sim_params p = base();
    fbi_sim_result res;
    char *err = NULL;
    ck_assert_int_eq(fbi_sim_run(&pr, &p, FBI_SIM_FUNCTIONS, NULL, NULL, &res, &err), 0);
    ck_assert_double_eq_tol(res.cold_starts, 2, 1e-9);
    p.keepalive_s = 0; /* one step at least: the step before still counts */
    ck_assert_int_eq(fbi_sim_run(&pr, &p, FBI_SIM_FUNCTIONS, NULL, NULL, &res, &err), 0);
    ck_assert_double_eq_tol(res.cold_starts, 6, 1e-9);
    fbi_profile_free(&pr);
}
END_TEST

/* three identical days: seasonal naive is exact (0% error) and wins ties */
START_TEST(forecast_periodic)
{
    size_t n = 3 * 24;
    double *r = malloc(n * sizeof *r);
    for (size_t i = 0; i < n; i++) r[i] = 100 + 50 * sin((double)(i % 24) / 24 * 6.283185307);
    fbi_profile pr = mk(r, n, 3600);
    free(r);
    fbi_forecast f;
    fbi_forecast_make(&pr, &f);
    ck_assert_str_eq(f.method, "seasonal-naive");
    ck_assert_double_eq_tol(f.backtest_mape, 0, 1e-9);
    ck_assert_int_eq(f.season_steps, 24);
    ck_assert_double_eq_tol(f.rps[30], pr.rps[30], 1e-9);
    ck_assert_double_eq(f.rps[3], 0); /* the first day: no history */
    free(f.rps);
    /* a short profile is a schedule: the forecast is the profile */
    pr.n = 9;
    fbi_forecast_make(&pr, &f);
    ck_assert_str_eq(f.method, "schedule");
    ck_assert_double_eq(f.backtest_mape, -1);
    ck_assert_double_eq(f.rps[5], pr.rps[5]);
    free(f.rps);
    fbi_profile_free(&pr);
}
END_TEST

/* the optimiser against every baseline, on a bursty profile with prices
 * and a throttling limit */
START_TEST(optimiser_is_the_minimum)
{
    double r[120];
    for (int i = 0; i < 120; i++) r[i] = (i % 20 == 7 || i % 20 == 8) ? 1500 : 300;
    fbi_profile pr = mk(r, 120, 60);
    fbi_sim_params p = base();
    p.target_util = 0.7;
    p.max_replicas = 40;
    p.flimit = 40;
    p.slo_p99_ms = 1500;
    p.replica_month_nano = 36040100000LL;
    p.fn_ref_nano = 53370000000LL;
    p.fn_ref_requests = 100000000;
    for (int s = FBI_SIM_HYBRID; s <= FBI_SIM_HYBRID_PREDICTIVE; s++) {
        int b = -1, met = 0, ev = 0;
        char *err = NULL;
        ck_assert_int_eq(fbi_sim_optimise(&pr, &p, (fbi_sim_strategy)s, &b, &met, &ev, &err), 0);
        int64_t best = -1;
        int bb = -1;
        for (int k = 0; k <= 40; k++) {
            fbi_sim_params q = p;
            q.baseline = k;
            fbi_sim_result res;
            ck_assert_int_eq(fbi_sim_run(&pr, &q, (fbi_sim_strategy)s, NULL, NULL, &res, &err), 0);
            if (res.slo_met && (best < 0 || res.monthly_nano < best)) {
                best = res.monthly_nano;
                bb = k;
            }
        }
        ck_assert_int_ge(bb, 0);
        ck_assert_int_eq(b, bb);
        ck_assert_int_eq(met, 1);
    }
    fbi_profile_free(&pr);
}
END_TEST

START_TEST(bad_parameters)
{
    double r[] = {1, 2};
    fbi_profile pr = mk(r, 2, 60);
    fbi_sim_params p = base();
    p.conc = 0;
    fbi_sim_result res;
    char *err = NULL;
    ck_assert_int_eq(fbi_sim_run(&pr, &p, FBI_SIM_HYBRID, NULL, NULL, &res, &err), -1);
    ck_assert_ptr_nonnull(strstr(err, "targetConcurrency"));
    free(err);
    p = base();
    p.baseline = 101;
    err = NULL;
    ck_assert_int_eq(fbi_sim_run(&pr, &p, FBI_SIM_HYBRID, NULL, NULL, &res, &err), -1);
    free(err);
    ck_assert_int_eq(fbi_sim_strategy_parse("hybrid-predictive"), FBI_SIM_HYBRID_PREDICTIVE);
    ck_assert_int_eq(fbi_sim_strategy_parse("cheapest"), -1);
    fbi_profile_free(&pr);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sim");
    TCase *t = tcase_create("sim");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, times_agree_with_gmtime);
    tcase_add_test(t, times_refused_and_offsets);
    tcase_add_test(t, static_constant_load);
    tcase_add_test(t, reactive_lag_is_counted);
    tcase_add_test(t, keep_alive);
    tcase_add_test(t, forecast_periodic);
    tcase_add_test(t, optimiser_is_the_minimum);
    tcase_add_test(t, bad_parameters);
    suite_add_tcase(s, t);
    return fbt_run(s);
}
