/* check_store.c - the SQLite store: migrations and the fresh schema that
 * must equal them, WAL, round trips, refusal of a newer schema, that a
 * crash between intent and outcome is visible, the batched writer a
 * parallel apply uses, and the state lock. */
#include "config.h"
#include "../lib/fbtest.h"
#include "fedbroker/fedbroker.h"
#include "state/state.h"
#include "base/util.h"
#include "state/lock.h"
#include "state/writer.h"

#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[256];
static char dbpath[300];

static void setup(void)
{
    fbt_tmpdir(dir, sizeof dir, "fbstore");
    snprintf(dbpath, sizeof dbpath, "%s/state.db", dir);
}

static void teardown(void)
{
    fbt_rmtree(dir);
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
    ck_assert_int_eq(sqlite3_prepare_v2(fbi_store_db(s), "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
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

static int autocheckpoint_pages(fb_store *s)
{
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(fbi_store_db(s), "PRAGMA wal_autocheckpoint", -1, &st, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* fb_store_open's checkpoint size, and serve's smaller one for its audit
 * writer (server.c): set on this connection only, never below one page. */
START_TEST(checkpoint_pages)
{
    fb_store *s = open_store();
    ck_assert_int_eq(autocheckpoint_pages(s), 1000);
    fbi_store_set_checkpoint_pages(s, 100);
    ck_assert_int_eq(autocheckpoint_pages(s), 100);
    fbi_store_set_checkpoint_pages(s, 0);
    ck_assert_int_eq(autocheckpoint_pages(s), 1);
    fb_store *other = open_store();
    ck_assert_int_eq(autocheckpoint_pages(other), 1000);
    fb_store_close(other);
    fb_store_close(s);
}
END_TEST

/* The schema text as SQLite keeps it, without what differs between a
 * table created under its name and one renamed to it (RENAME quotes the
 * new name) or built by ALTER TABLE ADD COLUMN (spacing): quotes dropped,
 * whitespace runs made one space, none beside ( ) and ,. */
static void put_normalised_sql(fbi_buf *b, const char *sql)
{
    if (!sql) {
        fbi_buf_printf(b, "(no sql)");
        return;
    }
    char prev = '(';
    for (const char *p = sql; *p; p++) {
        if (*p == '"') continue;
        if (*p == ' ' || *p == '\t' || *p == '\n') {
            while (p[1] == ' ' || p[1] == '\t' || p[1] == '\n') p++;
            if (prev == '(' || prev == ',' || p[1] == ')' || p[1] == ',' || !p[1]) continue;
            fbi_buf_printf(b, " ");
            prev = ' ';
            continue;
        }
        fbi_buf_printf(b, "%c", *p);
        prev = *p;
    }
}

/* Every row of one query, columns as SQL literals (quote()), one line each. */
static void put_rows(fbi_buf *b, sqlite3 *db, const char *sql, const char *arg)
{
    sqlite3_stmt *st;
    ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
                  sqlite3_errmsg(db));
    if (arg) sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        fbi_buf_printf(b, "  ");
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            const char *t = (const char *)sqlite3_column_text(st, i);
            int type = sqlite3_column_type(st, i);
            fbi_buf_printf(b, "%s%s=%s%s%s", i ? " " : "", sqlite3_column_name(st, i),
                           type == SQLITE_TEXT ? "'" : "", type == SQLITE_NULL ? "NULL" : t,
                           type == SQLITE_TEXT ? "'" : "");
        }
        fbi_buf_printf(b, "\n");
    }
    ck_assert_msg(rc == SQLITE_DONE, "%s: %s", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
}

/* What makes two stores the same to every query (new text): user_version,
 * each schema object's normalised SQL, each table's columns (type, NOT
 * NULL, default, key), indexes and their columns, foreign keys, and rows. */
static char *describe_store(const char *path)
{
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    fbi_buf b;
    fbi_buf_init(&b);
    put_rows(&b, db, "PRAGMA user_version", NULL);
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT type, name, tbl_name, sql FROM sqlite_master "
                                            "ORDER BY type, name", -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(st, 0);
        const char *name = (const char *)sqlite3_column_text(st, 1);
        fbi_buf_printf(&b, "%s %s on %s: ", type, name, (const char *)sqlite3_column_text(st, 2));
        put_normalised_sql(&b, (const char *)sqlite3_column_text(st, 3));
        fbi_buf_printf(&b, "\n");
        if (strcmp(type, "table") != 0) {
            if (!strcmp(type, "index")) put_rows(&b, db, "SELECT * FROM pragma_index_xinfo(?1)", name);
            continue;
        }
        put_rows(&b, db, "SELECT * FROM pragma_table_xinfo(?1)", name);
        put_rows(&b, db, "SELECT name, \"unique\", origin, partial FROM pragma_index_list(?1) "
                         "ORDER BY name", name);
        put_rows(&b, db, "SELECT * FROM pragma_foreign_key_list(?1) ORDER BY id, seq", name);
        char *q = sqlite3_mprintf("SELECT * FROM \"%w\" ORDER BY 1", name);
        put_rows(&b, db, q, NULL);
        sqlite3_free(q);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return b.data;
}

/* A store at version `version` as the migrations alone make it: the first
 * `version` migrations, each with its version, on a new file. */
static void build_by_migrations(const char *path, int version)
{
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    for (int i = 0; i < version; i++) {
        char *sql = sqlite3_mprintf("BEGIN; %s PRAGMA user_version = %d; COMMIT;",
                                    fbi_store_migration_sql(i), i + 1);
        ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "migration %d: %s",
                      i + 1, sqlite3_errmsg(db));
        sqlite3_free(sql);
    }
    sqlite3_close(db);
}

/* A new store is made from one schema script rather than by replaying the
 * migrations: it must be exactly what replaying them gives, and what
 * fb_store_open makes of a store left at every older version. Fails the
 * moment a migration is added without the script (or the reverse). */
START_TEST(fresh_schema_equals_migrations)
{
    int n = fbi_store_migration_count();
    ck_assert_int_ge(n, 10);
    ck_assert_ptr_null(fbi_store_migration_sql(n));
    fb_store *s = open_store(); /* a new file: the schema script */
    ck_assert_int_eq(fb_store_schema_version(s), n);
    fb_store_close(s);
    char *fresh = describe_store(dbpath);
    ck_assert_ptr_nonnull(strstr(fresh, "table meta on meta: CREATE TABLE meta (key TEXT PRIMARY"));
    ck_assert_ptr_nonnull(strstr(fresh, "key='state_serial' value=0"));
    for (int from = 0; from <= n; from++) {
        char path[400];
        snprintf(path, sizeof path, "%s/v%d.db", dir, from);
        /* from == n: every migration replayed by hand; below n: the rest
         * left to fb_store_open's migration path (0 would take the script) */
        build_by_migrations(path, from == 0 ? n : from);
        if (from > 0) {
            fb_diag *d = fb_diag_new();
            fb_store *m = NULL;
            ck_assert_msg(fb_store_open(path, &m, d) == FB_OK, "open v%d: %s", from,
                          fb_diag_count(d) ? fb_diag_summary(d, 0) : "");
            ck_assert_int_eq(fb_store_schema_version(m), n);
            fb_store_close(m);
            fb_diag_free(d);
        }
        char *got = describe_store(path);
        if (strcmp(got, fresh) != 0) {
            size_t i = 0;
            while (got[i] && got[i] == fresh[i]) i++;
            while (i > 0 && fresh[i - 1] != '\n') i--;
            ck_abort_msg("a store migrated from version %d (0: every migration replayed by "
                         "hand) differs from a fresh one at:\nfresh:    %.300s\nmigrated: %.300s",
                         from, fresh + i, got + i);
        }
        free(got);
    }
    free(fresh);
}
END_TEST

START_TEST(refuses_newer_schema)
{
    fb_store *s = open_store();
    ck_assert_int_eq(sqlite3_exec(fbi_store_db(s), "PRAGMA user_version = 999", NULL, NULL, NULL), SQLITE_OK);
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
    /* the ids are distinct and the rows' own (the intent's id is the
     * inserted rowid, not a RETURNING column), and the phase is checked */
    ck_assert(a != b);
    long long c;
    ck_assert_int_eq(fb_store_journal_begin(s, "destroy", "t", "q", "aws", NULL, &c, d), FB_OK);
    ck_assert(c > b);
    ck_assert_int_ne(fb_store_journal_end(s, c, "half-done", NULL, d), FB_OK);
    ck_assert_int_ne(sqlite3_exec(fbi_store_db(s),
                                  "INSERT INTO journal(started_at, op, phase) VALUES('x','y','bogus')",
                                  NULL, NULL, NULL), SQLITE_OK);
    ck_assert_int_eq(fb_store_journal_end(s, c, "failed", NULL, d), FB_OK);
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

/* ---- the batched writer of a parallel apply (core/writer.c): every write
 * lands, in each lane's order; the barrier returns only when a lane's
 * writes are committed, which a second connection checks; failures reach
 * their lane once, and the other lanes are untouched. */

/* Rows of the journal for workload w, seen by a connection of our own. */
static int committed_rows(const char *w)
{
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM journal WHERE workload = ?", -1,
                                        &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, w, -1, SQLITE_TRANSIENT);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* A write: one journal row for a workload, its detail the sequence number
 * in its lane; fails (with a message) when told to. */
typedef struct jwrite {
    char *workload;
    int seq;
    int fail;
} jwrite;

static void jwrite_free(void *ud, fb_status st)
{
    (void)st;
    jwrite *j = ud;
    free(j->workload);
    free(j);
}

static fb_status write_row(fb_store *s, void *ud, fb_diag *d)
{
    jwrite *j = ud;
    if (j->fail) {
        fb_diag_add(d, FB_SEV_ERROR, NULL, 0, 0, NULL, "planted failure", j->workload);
        return FB_INTERNAL;
    }
    char detail[32];
    snprintf(detail, sizeof detail, "{\"seq\":%d}", j->seq);
    long long id = 0;
    return fb_store_journal_begin(s, "test", "t", j->workload, "p", detail, &id, d);
}

static void put(fbi_writer *w, fb_store *s, fbi_write_slot *slot, const char *workload, int seq,
                int fail)
{
    jwrite *j = fbi_xcalloc(1, sizeof *j);
    j->workload = fbi_xstrdup(workload);
    j->seq = seq;
    j->fail = fail;
    fbi_writer_put(w, s, slot, write_row, j, jwrite_free);
}

typedef struct lane_arg {
    fbi_writer *w;
    fb_store *s;
    fbi_write_slot slot;
    char name[16];
    int writes;
    int barrier_failures; /* barrier said committed, the other connection disagreed */
} lane_arg;

static void *lane(void *arg)
{
    lane_arg *a = arg;
    for (int i = 0; i < a->writes; i++) {
        put(a->w, a->s, &a->slot, a->name, i, 0);
        if (i % 7 == 3) {
            fb_diag *d = fb_diag_new();
            if (fbi_writer_wait(a->w, &a->slot, d) != FB_OK || committed_rows(a->name) < i + 1)
                a->barrier_failures++;
            fb_diag_free(d);
        }
    }
    return NULL;
}

START_TEST(lanes_barriers_and_order)
{
    fb_store *s = open_store();
    fbi_writer *w = fbi_writer_start(s);
    ck_assert_ptr_nonnull(w);
    enum { LANES = 8, WRITES = 40 };
    lane_arg a[LANES];
    pthread_t th[LANES];
    for (int k = 0; k < LANES; k++) {
        memset(&a[k], 0, sizeof a[k]);
        a[k].w = w;
        a[k].s = s;
        a[k].writes = WRITES;
        snprintf(a[k].name, sizeof a[k].name, "lane-%d", k);
        ck_assert_int_eq(pthread_create(&th[k], NULL, lane, &a[k]), 0);
    }
    for (int k = 0; k < LANES; k++) pthread_join(th[k], NULL);
    fbi_writer_finish(w);
    for (int k = 0; k < LANES; k++) {
        ck_assert_int_eq(a[k].barrier_failures, 0);
        ck_assert_int_eq(a[k].slot.st, FB_OK);
        ck_assert_ptr_null(a[k].slot.diag);
        ck_assert_int_eq(committed_rows(a[k].name), WRITES);
    }
    /* each lane's rows in the order it queued them */
    fb_store_close(s);
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT workload, detail_json FROM journal ORDER BY id",
                                        -1, &st, NULL), SQLITE_OK);
    int next[LANES] = {0};
    while (sqlite3_step(st) == SQLITE_ROW) {
        int k = atoi((const char *)sqlite3_column_text(st, 0) + strlen("lane-"));
        char want[32];
        snprintf(want, sizeof want, "{\"seq\":%d}", next[k]++);
        ck_assert_str_eq((const char *)sqlite3_column_text(st, 1), want);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}
END_TEST

START_TEST(failures_reach_their_lane_once)
{
    fb_store *s = open_store();
    fbi_writer *w = fbi_writer_start(s);
    fbi_write_slot good, bad;
    memset(&good, 0, sizeof good);
    memset(&bad, 0, sizeof bad);
    put(w, s, &good, "good", 0, 0);
    put(w, s, &bad, "bad", 0, 0);
    put(w, s, &bad, "bad", 1, 1); /* fails */
    put(w, s, &bad, "bad", 2, 0); /* still written */
    put(w, s, &good, "good", 1, 0);
    fb_diag *d = fb_diag_new();
    ck_assert_int_eq(fbi_writer_wait(w, &bad, d), FB_INTERNAL);
    ck_assert_uint_eq(fb_diag_count(d), 1);
    ck_assert_str_eq(fb_diag_summary(d, 0), "planted failure");
    /* handed over once; the status stays */
    fb_diag *d2 = fb_diag_new();
    ck_assert_int_eq(fbi_writer_wait(w, &bad, d2), FB_INTERNAL);
    ck_assert_uint_eq(fb_diag_count(d2), 0);
    ck_assert_int_eq(fbi_writer_wait(w, &good, d2), FB_OK);
    fbi_writer_finish(w);
    ck_assert_int_eq(committed_rows("good"), 2);
    ck_assert_int_eq(committed_rows("bad"), 2);
    ck_assert_ptr_null(good.diag);
    fb_diag_free(d);
    fb_diag_free(d2);
    fb_store_close(s);
}
END_TEST

/* Without a thread (fbi_writer_start failed), writes happen at once. */
START_TEST(no_thread_writes_at_once)
{
    fb_store *s = open_store();
    fbi_write_slot slot;
    memset(&slot, 0, sizeof slot);
    put(NULL, s, &slot, "direct", 0, 0);
    ck_assert_int_eq(committed_rows("direct"), 1);
    put(NULL, s, &slot, "direct", 1, 1);
    fb_diag *d = fb_diag_new();
    ck_assert_int_eq(fbi_writer_wait(NULL, &slot, d), FB_INTERNAL);
    ck_assert_uint_eq(fb_diag_count(d), 1);
    fbi_writer_finish(NULL);
    fb_diag_free(d);
    fb_store_close(s);
}
END_TEST

/* The state lock across processes: a child holds it; the parent sees the
 * holder without taking anything, times out with a message naming it, and
 * once the child is killed takes it at once, learning that the holder died
 * and until when its requests may land (kept across a clean holder). */
START_TEST(lock_names_holder_and_survives_kill)
{
    int ready[2];
    ck_assert_int_eq(pipe(ready), 0);
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        fbi_lock *l = NULL;
        fb_diag *d = fb_diag_new();
        if (fbi_lock_acquire(dbpath, "apply", 0, 60000, &l, d) != FB_OK) _exit(1);
        if (write(ready[1], "x", 1) != 1) _exit(1);
        pause(); /* killed by the parent, lock held */
        _exit(0);
    }
    char c;
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    json_t *h = fbi_lock_holder(dbpath);
    ck_assert_ptr_nonnull(h);
    ck_assert_int_eq(json_integer_value(json_object_get(h, "pid")), child);
    ck_assert_str_eq(json_string_value(json_object_get(h, "verb")), "apply");
    json_decref(h);

    fbi_lock *l = NULL;
    fb_diag *d = fb_diag_new();
    double t0 = fbi_mono_ms();
    ck_assert_int_eq(fbi_lock_acquire(dbpath, "destroy", 300, 60000, &l, d), FB_CONFLICT);
    ck_assert(fbi_mono_ms() - t0 >= 290);
    ck_assert_ptr_null(l);
    char *want = fbi_xasprintf("is locked by pid %ld on ", (long)child);
    ck_assert_msg(strstr(fb_diag_summary(d, 0), want), "%s", fb_diag_summary(d, 0));
    ck_assert_ptr_nonnull(strstr(fb_diag_summary(d, 0), "(fedbroker apply since "));
    free(want);
    fb_diag_free(d);

    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    ck_assert_ptr_null(fbi_lock_holder(dbpath));
    d = fb_diag_new();
    int64_t before = fbi_wall_ms();
    ck_assert_int_eq(fbi_lock_acquire(dbpath, "destroy", 0, 60000, &l, d), FB_OK);
    const json_t *dead = fbi_lock_dead_holder(l);
    ck_assert_ptr_nonnull(dead);
    ck_assert_int_eq(json_integer_value(json_object_get(dead, "pid")), child);
    int64_t settle = fbi_lock_settle_until_ms(l);
    ck_assert(settle >= before + 60000);
    fbi_lock_release(l);
    /* a clean release is no death, and the window is remembered */
    ck_assert_int_eq(fbi_lock_acquire(dbpath, "apply", 0, 1000, &l, d), FB_OK);
    ck_assert_ptr_null(fbi_lock_dead_holder(l));
    ck_assert(fbi_lock_settle_until_ms(l) == settle);
    fbi_lock_release(l);
    fb_diag_free(d);
    close(ready[0]);
    close(ready[1]);
}
END_TEST

/* fbi_store_endpoint_rows filters by tenant and workload whichever of
 * them is given (each form has its own SQL: with both, the rows come from
 * the primary key; store.c), in the key's order */
START_TEST(endpoint_rows_filter)
{
    fb_store *s = open_store();
    fb_diag *d = fb_diag_new();
    const char *rows[][4] = {{"t1", "web", "aws", "eu-west-1"}, {"t1", "web", "gcp", "europe-west3"},
                             {"t1", "db", "aws", "eu-west-1"},  {"t2", "web", "aws", "us-east-1"},
                             {"t2", "api", "gcp", "us-east1"}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char url[64];
        snprintf(url, sizeof url, "https://%s.%s.example/", rows[i][1], rows[i][3]);
        ck_assert_int_eq(fbi_store_put_endpoint(s, rows[i][0], rows[i][1], rows[i][2], rows[i][3], url, "url", d),
                         FB_OK);
    }
    struct {
        const char *tenant, *workload;
        size_t n;
        const char *first_region;
    } cases[] = {{"t1", "web", 2, "eu-west-1"}, {"t1", NULL, 3, "eu-west-1"}, {NULL, "web", 3, "eu-west-1"},
                 {NULL, NULL, 5, "eu-west-1"},  {"t2", "web", 1, "us-east-1"}, {"t2", "db", 0, NULL},
                 {"t3", NULL, 0, NULL}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text = NULL;
        ck_assert_int_eq(fbi_store_endpoint_rows(s, cases[i].tenant, cases[i].workload, &text, d), FB_OK);
        json_t *a = json_loads(text, 0, NULL);
        ck_assert_ptr_nonnull(a);
        ck_assert_msg(json_array_size(a) == cases[i].n, "case %zu: %zu rows, want %zu: %s", i,
                      json_array_size(a), cases[i].n, text);
        size_t k;
        json_t *row;
        json_array_foreach(a, k, row) {
            const char *t = json_string_value(json_object_get(row, "tenant"));
            const char *w = json_string_value(json_object_get(row, "workload"));
            if (cases[i].tenant) ck_assert_str_eq(t, cases[i].tenant);
            if (cases[i].workload) ck_assert_str_eq(w, cases[i].workload);
        }
        if (cases[i].first_region)
            ck_assert_str_eq(json_string_value(json_object_get(json_array_get(a, 0), "region")),
                             cases[i].first_region);
        json_decref(a);
        free(text);
    }
    /* the order is the key's: tenant, workload, provider, region */
    char *text = NULL;
    ck_assert_int_eq(fbi_store_endpoint_rows(s, "t1", NULL, &text, d), FB_OK);
    json_t *a = json_loads(text, 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(a, 0), "workload")), "db");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(a, 2), "provider")), "gcp");
    json_decref(a);
    free(text);
    fb_diag_free(d);
    fb_store_close(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("store");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, creates_and_migrates);
    tcase_add_test(tc, checkpoint_pages);
    tcase_add_test(tc, fresh_schema_equals_migrations);
    tcase_add_test(tc, refuses_newer_schema);
    tcase_add_test(tc, workload_round_trip);
    tcase_add_test(tc, deployments_and_resources);
    tcase_add_test(tc, journal_shows_unfinished_intents);
    tcase_add_test(tc, transactions_roll_back);
    tcase_add_test(tc, plans_and_results);
    tcase_add_test(tc, state_dir_resolution);
    tcase_add_test(tc, unwritable_home_is_a_clear_error);
    tcase_add_test(tc, endpoint_rows_filter);
    suite_add_tcase(s, tc);
    TCase *tw = tcase_create("writer");
    tcase_add_checked_fixture(tw, setup, teardown);
    tcase_set_timeout(tw, 60);
    tcase_add_test(tw, lanes_barriers_and_order);
    tcase_add_test(tw, failures_reach_their_lane_once);
    tcase_add_test(tw, no_thread_writes_at_once);
    suite_add_tcase(s, tw);
    TCase *tl = tcase_create("lock");
    tcase_add_checked_fixture(tl, setup, teardown);
    tcase_add_test(tl, lock_names_holder_and_survives_kill);
    suite_add_tcase(s, tl);
    return fbt_run(s);
}
