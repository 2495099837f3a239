/* check_store.c - the SQLite store: migrations, WAL, round trips, refusal of
 * a newer schema, and that a crash between intent and outcome is visible. */
#include "config.h"
#include "fbtest.h"
#include "fedbroker/fedbroker.h"
#include "util.h"

#include <sqlite3.h>
#include <string.h>
#include <unistd.h>

static char dir[256];
static char dbpath[300];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/fbstore.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(dbpath, sizeof dbpath, "%s/state.db", dir);
}

static void teardown(void)
{
    char *cmd = fbi_xasprintf("rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    free(cmd);
}

static fb_store *open_store(void)
{
    fb_store *s = NULL;
    fb_diag *d = fb_diag_new();
    fb_status st = fb_store_open(dbpath, &s, d);
    ck_assert_msg(st == FB_OK, "open failed: %s", fb_diag_count(d) ? fb_diag_summary(d, 0) : "");
    fb_diag_free(d);
    return s;
}

START_TEST(creates_and_migrates)
{
    fb_store *s = open_store();
    ck_assert_int_ge(fb_store_schema_version(s), 1);
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(fb_store_db(s), "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    int v = fb_store_schema_version(s);
    fb_store_close(s);
    s = open_store(); /* reopening does not re-run migrations */
    ck_assert_int_eq(fb_store_schema_version(s), v);
    fb_store_close(s);
}
END_TEST

START_TEST(refuses_newer_schema)
{
    fb_store *s = open_store();
    ck_assert_int_eq(sqlite3_exec(fb_store_db(s), "PRAGMA user_version = 999", NULL, NULL, NULL), SQLITE_OK);
    fb_store_close(s);
    fb_diag *d = fb_diag_new();
    ck_assert_int_eq(fb_store_open(dbpath, &s, d), FB_INVALID);
    ck_assert_ptr_nonnull(strstr(fb_diag_summary(d, 0), "newer than this fedbroker"));
    fb_diag_free(d);
}
END_TEST

START_TEST(workload_round_trip)
{
    fb_store *s = open_store();
    fb_diag *d = fb_diag_new();
    ck_assert_int_eq(fb_store_put_workload(s, "t1", "api", "Function", "{\"a\":1}", "h1", d), FB_OK);
    ck_assert_int_eq(fb_store_put_workload(s, "t1", "api", "Function", "{\"a\":2}", "h2", d), FB_OK);
    char *j = NULL;
    ck_assert_int_eq(fb_store_get_workload(s, "t1", "api", &j, d), FB_OK);
    ck_assert_str_eq(j, "{\"a\":2}");
    free(j);
    ck_assert_int_eq(fb_store_get_workload(s, "t2", "api", &j, d), FB_NOTFOUND);
    ck_assert_ptr_null(j);
    fb_diag_free(d);
    fb_store_close(s);
}
END_TEST

START_TEST(deployments_and_resources)
{
    fb_store *s = open_store();
    fb_diag *d = fb_diag_new();
    ck_assert_int_eq(fb_store_put_deployment(s, "t", "api", "aws", "lambda", "us-east-1",
                                             "creating", "{}", d), FB_OK);
    ck_assert_int_eq(fb_store_put_resource(s, "t", "api", "aws",
                     "{\"type\":\"lambda-function\",\"id\":\"arn:aws:lambda:x\",\"region\":\"us-east-1\"}", d), FB_OK);
    /* recording the same id twice is idempotent */
    ck_assert_int_eq(fb_store_put_resource(s, "t", "api", "aws",
                     "{\"type\":\"lambda-function\",\"id\":\"arn:aws:lambda:x\",\"region\":\"us-east-1\"}", d), FB_OK);
    ck_assert_int_eq(fb_store_put_resource(s, "t", "api", "aws", "{\"type\":\"x\"}", d), FB_INVALID);
    char *j = NULL;
    ck_assert_int_eq(fb_store_list_deployments(s, NULL, NULL, &j, d), FB_OK);
    json_t *arr = json_loads(j, 0, NULL);
    ck_assert_uint_eq(json_array_size(arr), 1);
    json_t *dep = json_array_get(arr, 0);
    ck_assert_str_eq(json_string_value(json_object_get(dep, "region")), "us-east-1");
    ck_assert_uint_eq(json_array_size(json_object_get(dep, "resources")), 1);
    json_decref(arr);
    free(j);
    ck_assert_int_eq(fb_store_delete_deployment(s, "t", "api", "aws", "us-east-1", d), FB_OK);
    ck_assert_int_eq(fb_store_list_deployments(s, "t", NULL, &j, d), FB_OK);
    ck_assert_str_eq(j, "[]");
    free(j);
    fb_diag_free(d);
    fb_store_close(s);
}
END_TEST

START_TEST(journal_shows_unfinished_intents)
{
    fb_store *s = open_store();
    fb_diag *d = fb_diag_new();
    long long a, b;
    ck_assert_int_eq(fb_store_journal_begin(s, "apply", "t", "api", "aws", "{\"step\":1}", &a, d), FB_OK);
    ck_assert_int_eq(fb_store_journal_begin(s, "apply", "t", "db", "gcp", NULL, &b, d), FB_OK);
    ck_assert_int_eq(fb_store_journal_end(s, a, "done", NULL, d), FB_OK);
    fb_store_close(s); /* "crash" with b still open */
    s = open_store();
    char *j = NULL;
    ck_assert_int_eq(fb_store_journal_open_intents(s, &j, d), FB_OK);
    json_t *arr = json_loads(j, 0, NULL);
    ck_assert_uint_eq(json_array_size(arr), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(arr, 0), "workload")), "db");
    json_decref(arr);
    free(j);
    fb_diag_free(d);
    fb_store_close(s);
}
END_TEST

START_TEST(transactions_roll_back)
{
    fb_store *s = open_store();
    fb_diag *d = fb_diag_new();
    ck_assert_int_eq(fb_store_begin(s, d), FB_OK);
    ck_assert_int_eq(fb_store_put_workload(s, "t", "w", "Function", "{}", "h", d), FB_OK);
    fb_store_rollback(s);
    char *j = NULL;
    ck_assert_int_eq(fb_store_get_workload(s, "t", "w", &j, d), FB_NOTFOUND);
    ck_assert_int_eq(fb_store_begin(s, d), FB_OK);
    ck_assert_int_eq(fb_store_begin(s, d), FB_OK); /* nested */
    ck_assert_int_eq(fb_store_put_workload(s, "t", "w", "Function", "{}", "h", d), FB_OK);
    ck_assert_int_eq(fb_store_commit(s, d), FB_OK);
    ck_assert_int_eq(fb_store_commit(s, d), FB_OK);
    ck_assert_int_eq(fb_store_get_workload(s, "t", "w", &j, d), FB_OK);
    free(j);
    fb_diag_free(d);
    fb_store_close(s);
}
END_TEST

START_TEST(plans_and_results)
{
    fb_store *s = open_store();
    fb_diag *d = fb_diag_new();
    long long id1, id2, got;
    ck_assert_int_eq(fb_store_put_plan(s, "{\"n\":1}", 1000000, &id1, d), FB_OK);
    ck_assert_int_eq(fb_store_put_plan(s, "{\"n\":2}", 2000000, &id2, d), FB_OK);
    ck_assert_int_gt(id2, id1);
    char *j = NULL;
    ck_assert_int_eq(fb_store_latest_plan(s, &j, &got, d), FB_OK);
    ck_assert_str_eq(j, "{\"n\":2}");
    ck_assert_int_eq(got, id2);
    free(j);
    ck_assert_int_eq(fb_store_put_result(s, "t", "bell", "quantum", "{\"counts\":{\"00\":3}}", d), FB_OK);
    ck_assert_int_eq(fb_store_list_results(s, "t", "bell", &j, d), FB_OK);
    json_t *arr = json_loads(j, 0, NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(json_object_get(
        json_array_get(arr, 0), "result"), "counts"), "00")), 3);
    json_decref(arr);
    free(j);
    fb_diag_free(d);
    fb_store_close(s);
}
END_TEST

START_TEST(state_dir_resolution)
{
    setenv("FEDBROKER_HOME", "/x/home", 1);
    char *p = fb_state_dir();
    ck_assert_str_eq(p, "/x/home");
    free(p);
    unsetenv("FEDBROKER_HOME");
    setenv("XDG_STATE_HOME", "/x/xdg", 1);
    p = fb_state_dir();
    ck_assert_str_eq(p, "/x/xdg/fedbroker");
    free(p);
    unsetenv("XDG_STATE_HOME");
    setenv("HOME", "/x/h", 1);
    p = fb_state_dir();
    ck_assert_str_eq(p, "/x/h/.local/state/fedbroker");
    free(p);
}
END_TEST

START_TEST(unwritable_home_is_a_clear_error)
{
    setenv("FEDBROKER_HOME", "/proc/fedbroker-cannot-exist", 1);
    fb_store *s = NULL;
    fb_diag *d = fb_diag_new();
    ck_assert_int_eq(fb_store_open(NULL, &s, d), FB_INVALID);
    ck_assert_ptr_nonnull(strstr(fb_diag_summary(d, 0), "cannot create directory"));
    fb_diag_free(d);
    unsetenv("FEDBROKER_HOME");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("store");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, creates_and_migrates);
    tcase_add_test(tc, refuses_newer_schema);
    tcase_add_test(tc, workload_round_trip);
    tcase_add_test(tc, deployments_and_resources);
    tcase_add_test(tc, journal_shows_unfinished_intents);
    tcase_add_test(tc, transactions_roll_back);
    tcase_add_test(tc, plans_and_results);
    tcase_add_test(tc, state_dir_resolution);
    tcase_add_test(tc, unwritable_home_is_a_clear_error);
    suite_add_tcase(s, tc);
    return fbt_run(s);
}
