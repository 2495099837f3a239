/* check_broker.c - unit tests of core/broker: the fan-out (every job once,
 * never more than `parallelism` at a time, statuses by index, the lowest
 * failing index wins), --target parsing, and the broker opened on a real
 * configuration file with the real staged drivers (offers carry their
 * provider, placement picks an offer or lists what there is, a broken or
 * untrusted configuration is refused with its file and line). */
#include "config.h"
#include "broker/broker.h"
#include "broker/fanout.h"
#include "base/util.h"
#include "../lib/fbtest.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ---- fan-out ---- */

typedef struct fan {
    atomic_int running, peak;
    atomic_int runs[64];
    int fail_at[2]; /* indexes that fail, -1 = none */
} fan;

static fb_status job(void *ud, size_t i)
{
    fan *f = ud;
    int now = atomic_fetch_add(&f->running, 1) + 1;
    int p = atomic_load(&f->peak);
    while (now > p && !atomic_compare_exchange_weak(&f->peak, &p, now)) {
    }
    atomic_fetch_add(&f->runs[i], 1);
    struct timespec ts = {0, 2000000}; /* 2 ms: long enough for jobs to overlap */
    nanosleep(&ts, NULL);
    atomic_fetch_sub(&f->running, 1);
    if ((int)i == f->fail_at[0]) return FB_QUOTA;
    if ((int)i == f->fail_at[1]) return FB_INVALID;
    return FB_OK;
}

START_TEST(fanout_bounds_and_order)
{
    static const unsigned par[] = {1, 2, 5, 64};
    unsigned p = par[_i];
    fan f;
    memset(&f, 0, sizeof f);
    f.fail_at[0] = f.fail_at[1] = -1;
    fb_status st[40];
    ck_assert_int_eq(fbi_fanout(40, p, job, &f, st), FB_OK);
    for (int i = 0; i < 40; i++) {
        ck_assert_int_eq(atomic_load(&f.runs[i]), 1);
        ck_assert_int_eq(st[i], FB_OK);
    }
    ck_assert_int_le(atomic_load(&f.peak), (int)p);
    ck_assert_int_ge(atomic_load(&f.peak), 1);
    if (p > 1) ck_assert_int_gt(atomic_load(&f.peak), 1); /* it did run jobs side by side */
}
END_TEST

START_TEST(fanout_failures)
{
    fan f;
    memset(&f, 0, sizeof f);
    f.fail_at[0] = 17; /* FB_QUOTA */
    f.fail_at[1] = 9;  /* FB_INVALID: the lower index wins */
    fb_status st[30];
    ck_assert_int_eq(fbi_fanout(30, 4, job, &f, st), FB_INVALID);
    for (int i = 0; i < 30; i++) ck_assert_int_eq(atomic_load(&f.runs[i]), 1); /* every job ran */
    ck_assert_int_eq(st[9], FB_INVALID);
    ck_assert_int_eq(st[17], FB_QUOTA);
    ck_assert_int_eq(st[0], FB_OK);
    /* no statuses array, no jobs */
    memset(&f, 0, sizeof f);
    f.fail_at[0] = f.fail_at[1] = -1;
    ck_assert_int_eq(fbi_fanout(0, 4, job, &f, NULL), FB_OK);
    ck_assert_int_eq(atomic_load(&f.peak), 0);
}
END_TEST

/* ---- --target ---- */

START_TEST(parse_target)
{
    fb_diag *d = fb_diag_new();
    char *p = NULL, *r = NULL;
    ck_assert_int_eq(fbi_parse_target("aws:us-east-1", &p, &r, d), 0);
    ck_assert_str_eq(p, "aws");
    ck_assert_str_eq(r, "us-east-1");
    free(p);
    free(r);
    ck_assert_int_eq(fbi_parse_target("k8s", &p, &r, d), 0);
    ck_assert_str_eq(p, "k8s");
    ck_assert_ptr_null(r);
    free(p);
    ck_assert_int_eq(fbi_parse_target("gcp:", &p, &r, d), 0); /* an empty region is no region */
    ck_assert_str_eq(p, "gcp");
    ck_assert_ptr_null(r);
    free(p);
    ck_assert_int_eq(fb_diag_count(d), 0);
    ck_assert_int_eq(fbi_parse_target(":us-east-1", &p, &r, d), -1);
    ck_assert_ptr_null(p);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(fb_diag_count(d), 1);
    ck_assert_ptr_nonnull(strstr(fb_diag_summary(d, 0), "PROVIDER[:REGION]"));
    fb_diag_free(d);
}
END_TEST

/* ---- the broker on a real configuration and the staged drivers ---- */

static char home[128];

static void write_config(const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/config.json", home);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    chmod(path, 0600);
}

static void setup(void)
{
    fbt_tmpdir(home, sizeof home, "fbt-broker");
    chmod(home, 0700);
    setenv("FEDBROKER_HOME", home, 1);
    unsetenv("FEDBROKER_CONFIG");
}

static void teardown(void)
{
    fbt_rmtree(home);
}

static int has_diag(const fb_diag *d, fb_severity sev, const char *needle)
{
    for (size_t i = 0; i < fb_diag_count(d); i++)
        if (fb_diag_severity(d, i) == sev && strstr(fb_diag_summary(d, i), needle)) return 1;
    return 0;
}

START_TEST(offers_carry_their_provider)
{
    if (!getenv("FEDBROKER_DRIVER_PATH")) return; /* run by make check, which stages the drivers */
    write_config("{\"drivers\": {\"aws\": {\"regions\": [\"eu-west-1\", \"us-east-1\"]}}}\n");
    fbi_broker b;
    fb_diag *d = fb_diag_new();
    ck_assert_int_eq(fbi_broker_open(&b, d), FB_OK);
    json_t *offers = fbi_broker_offers(&b, d);
    ck_assert_ptr_nonnull(offers);
    ck_assert_uint_gt(json_array_size(offers), 0);
    size_t i, aws = 0;
    json_t *o;
    json_array_foreach(offers, i, o) {
        const char *prov = json_string_value(json_object_get(o, "provider"));
        ck_assert_ptr_nonnull(prov);
        ck_assert_ptr_nonnull(json_string_value(json_object_get(o, "kind")));
        ck_assert_ptr_nonnull(json_string_value(json_object_get(o, "region")));
        if (!strcmp(prov, "aws")) {
            aws++;
            const char *r = json_string_value(json_object_get(o, "region"));
            ck_assert(!strcmp(r, "eu-west-1") || !strcmp(r, "us-east-1")); /* only the configured regions */
        }
    }
    ck_assert_uint_eq(aws, 4); /* lambda and fargate in each of the two regions */
    ck_assert_ptr_eq(fbi_broker_offers(&b, d), offers); /* collected once */

    json_t *pl = fbi_broker_placement(&b, "Function", "aws", "us-east-1", NULL, d);
    ck_assert_ptr_nonnull(pl);
    ck_assert_str_eq(json_string_value(json_object_get(pl, "service")), "lambda");
    ck_assert_str_eq(json_string_value(json_object_get(pl, "region")), "us-east-1");
    ck_assert_ptr_nonnull(json_object_get(pl, "offer"));
    json_decref(pl);
    ck_assert_ptr_null(fbi_broker_placement(&b, "Function", "aws", "ap-south-1", NULL, d));
    ck_assert(has_diag(d, FB_SEV_ERROR, "ap-south-1") || has_diag(d, FB_SEV_ERROR, "aws"));
    fbi_broker_close(&b);
    fb_diag_free(d);
}
END_TEST

START_TEST(broken_config_is_refused_with_its_line)
{
    write_config("{\"drivers\": {\"aws\": {\"regions\": [\"eu-west-1\"]}},\n \"http\": {\"parallelism\": \"many\"}}\n");
    fbi_broker b;
    fb_diag *d = fb_diag_new();
    ck_assert_int_eq(fbi_broker_open(&b, d), FB_INVALID);
    int located = 0;
    for (size_t i = 0; i < fb_diag_count(d); i++)
        if (fb_diag_severity(d, i) == FB_SEV_ERROR && fb_diag_file(d, i) &&
            strstr(fb_diag_file(d, i), "config.json") && fb_diag_line(d, i) == 2)
            located = 1;
    ck_assert_msg(located, "the error names config.json line 2");
    fb_diag_free(d);
}
END_TEST

START_TEST(untrusted_home_is_refused)
{
    write_config("{}\n");
    chmod(home, 0777); /* anyone could replace the configuration */
    fbi_broker b;
    fb_diag *d = fb_diag_new();
    ck_assert_int_eq(fbi_broker_open(&b, d), FB_INVALID);
    ck_assert(has_diag(d, FB_SEV_ERROR, "") && fb_diag_count(d) >= 1);
    chmod(home, 0700);
    fb_diag_free(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("broker");
    TCase *t = tcase_create("fanout");
    tcase_add_loop_test(t, fanout_bounds_and_order, 0, 4);
    tcase_add_test(t, fanout_failures);
    tcase_add_test(t, parse_target);
    tcase_set_timeout(t, 60);
    suite_add_tcase(s, t);
    t = tcase_create("open");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, offers_carry_their_provider);
    tcase_add_test(t, broken_config_is_refused_with_its_line);
    tcase_add_test(t, untrusted_home_is_refused);
    tcase_set_timeout(t, 60);
    suite_add_tcase(s, t);
    return fbt_run(s);
}
