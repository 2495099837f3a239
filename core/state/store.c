/* store.c - the broker's state in one SQLite file (WAL). Schema changes are
 * numbered migrations applied in order inside one transaction each, so an old
 * state.db is upgraded in place and a half-applied migration cannot exist. */
#include "config.h"
#include "fedbroker/fedbroker.h"
#include "base/util.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define STMT_CACHE 48
#define CHECKPOINT_PAGES 256

/* One connection shared by the fan-out's threads: a recursive mutex makes
 * each statement (and each transaction, from begin to commit) exclusive to
 * one thread, so ids, transactions and cached statements never interleave. */
struct fb_store {
    sqlite3 *db;
    char *path;
    int depth; /* transaction nesting of the thread holding the lock */
    pthread_mutex_t mu;
    struct { const char *sql; sqlite3_stmt *st; } cache[STMT_CACHE];
    int ncache;
};

/* Append-only: never edit a released migration, add a new one. */
static const char *const migrations[] = {
    /* 1: the initial schema */
    "CREATE TABLE workloads ("
    "  tenant TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,"
    "  spec_json TEXT NOT NULL, spec_hash TEXT NOT NULL,"
    "  created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
    "  PRIMARY KEY (tenant, name));"
    "CREATE TABLE plans ("
    "  id INTEGER PRIMARY KEY, created_at TEXT NOT NULL,"
    "  plan_json TEXT NOT NULL, total_micro_usd INTEGER NOT NULL);"
    "CREATE TABLE deployments ("
    "  tenant TEXT NOT NULL, workload TEXT NOT NULL, provider TEXT NOT NULL,"
    "  service TEXT NOT NULL, region TEXT NOT NULL, state TEXT NOT NULL,"
    "  state_json TEXT NOT NULL DEFAULT '{}',"
    "  created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
    "  PRIMARY KEY (tenant, workload, provider, region));"
    "CREATE TABLE resources ("
    "  id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, workload TEXT NOT NULL,"
    "  provider TEXT NOT NULL, type TEXT NOT NULL, cloud_id TEXT NOT NULL,"
    "  region TEXT, resource_json TEXT NOT NULL, created_at TEXT NOT NULL,"
    "  UNIQUE (provider, type, cloud_id));"
    "CREATE TABLE journal ("
    "  id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, ended_at TEXT,"
    "  op TEXT NOT NULL, tenant TEXT, workload TEXT, provider TEXT,"
    "  phase TEXT NOT NULL CHECK (phase IN ('intent','done','failed')),"
    "  detail_json TEXT NOT NULL DEFAULT '{}');"
    "CREATE INDEX journal_phase ON journal(phase);"
    "CREATE TABLE results ("
    "  id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, workload TEXT NOT NULL,"
    "  kind TEXT NOT NULL, result_json TEXT NOT NULL, created_at TEXT NOT NULL);"
    "CREATE TABLE identities ("
    "  name TEXT PRIMARY KEY, provider TEXT NOT NULL, principal TEXT NOT NULL,"
    "  sealed_secret BLOB, created_at TEXT NOT NULL);"
    "CREATE TABLE endpoints ("
    "  tenant TEXT NOT NULL, workload TEXT NOT NULL, provider TEXT NOT NULL,"
    "  region TEXT NOT NULL, url TEXT NOT NULL, updated_at TEXT NOT NULL,"
    "  PRIMARY KEY (tenant, workload, provider, region));"
    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL,"
    "  action TEXT NOT NULL, detail_json TEXT NOT NULL DEFAULT '{}');",
};

#define N_MIGRATIONS ((int)(sizeof migrations / sizeof *migrations))

static fb_status db_error(fb_store *s, fb_diag *diag, const char *what)
{
    char *m = fbi_xasprintf("state store %s: %s failed: %s", s->path, what, sqlite3_errmsg(s->db));
    fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, m, NULL);
    free(m);
    int code = sqlite3_errcode(s->db);
    return (code == SQLITE_BUSY || code == SQLITE_LOCKED) ? FB_RETRYABLE : FB_INTERNAL;
}

static void now_text(char out[21])
{
    int64_t t;
    fbi_now(&t, NULL);
    fbi_format_rfc3339(t, out);
}

char *fb_state_dir(void)
{
    const char *home = getenv("FEDBROKER_HOME");
    if (home && *home) return fbi_xstrdup(home);
    const char *xdg = getenv("XDG_STATE_HOME");
    if (xdg && *xdg) return fbi_xasprintf("%s/fedbroker", xdg);
    const char *h = getenv("HOME");
    return fbi_xasprintf("%s/.local/state/fedbroker", h && *h ? h : ".");
}

static int user_version(sqlite3 *db)
{
    sqlite3_stmt *st;
    int v = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    return v;
}

static fb_status migrate(fb_store *s, fb_diag *diag)
{
    int v = user_version(s->db);
    if (v > N_MIGRATIONS) {
        char *m = fbi_xasprintf("state store %s has schema version %d, newer than this "
                                "fedbroker understands (%d)", s->path, v, N_MIGRATIONS);
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, m,
                    "upgrade fedbroker, or point FEDBROKER_HOME at another state directory");
        free(m);
        return FB_INVALID;
    }
    for (; v < N_MIGRATIONS; v++) {
        char *sql = fbi_xasprintf("BEGIN IMMEDIATE; %s PRAGMA user_version = %d; COMMIT;",
                                  migrations[v], v + 1);
        int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
        free(sql);
        if (rc != SQLITE_OK) {
            fb_status st = db_error(s, diag, "schema migration");
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return st;
        }
    }
    return FB_OK;
}

fb_status fb_store_open(const char *path, fb_store **out, fb_diag *diag)
{
    *out = NULL;
    char *p;
    if (path) {
        p = fbi_xstrdup(path);
    } else {
        char *dir = fb_state_dir(), *err = NULL;
        if (fbi_mkdirs(dir, 0700, &err) != 0) {
            fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, err,
                        "set FEDBROKER_HOME to a writable directory");
            free(err);
            free(dir);
            return FB_INVALID;
        }
        p = fbi_xasprintf("%s/state.db", dir);
        free(dir);
    }
    fb_store *s = fbi_xcalloc(1, sizeof *s);
    s->path = p;
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&s->mu, &ma);
    pthread_mutexattr_destroy(&ma);
    int rc = sqlite3_open_v2(p, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                             SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc != SQLITE_OK) {
        fb_status st = db_error(s, diag, "open");
        fb_store_close(s);
        return st;
    }
    chmod(p, 0600); /* the store may hold sealed credentials */
    sqlite3_busy_timeout(s->db, 5000);
    if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                            "PRAGMA foreign_keys=ON;", NULL, NULL, NULL) != SQLITE_OK) {
        fb_status st = db_error(s, diag, "configure");
        fb_store_close(s);
        return st;
    }
    fb_status st = migrate(s, diag);
    if (st != FB_OK) {
        fb_store_close(s);
        return st;
    }
    /* A checkpoint runs inside the commit that crosses the threshold, with
     * the store's lock held. SQLite's default (1000 pages) makes a parallel
     * apply stall on a few long copies; smaller, more frequent ones keep
     * the WAL small and the stalls short (bench/README-aws.md). */
    sqlite3_wal_autocheckpoint(s->db, CHECKPOINT_PAGES);
    *out = s;
    return FB_OK;
}

void fb_store_close(fb_store *s)
{
    if (!s) return;
    for (int i = 0; i < s->ncache; i++) sqlite3_finalize(s->cache[i].st);
    sqlite3_close(s->db);
    pthread_mutex_destroy(&s->mu);
    free(s->path);
    free(s);
}

int fb_store_schema_version(fb_store *s) { return user_version(s->db); }
struct sqlite3 *fb_store_db(fb_store *s) { return s->db; }

fb_status fb_store_begin(fb_store *s, fb_diag *diag)
{
    pthread_mutex_lock(&s->mu); /* held until the matching commit */
    if (s->depth++ > 0) return FB_OK;
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        s->depth = 0;
        fb_status st = db_error(s, diag, "begin");
        pthread_mutex_unlock(&s->mu);
        return st;
    }
    return FB_OK;
}

fb_status fb_store_commit(fb_store *s, fb_diag *diag)
{
    if (s->depth == 0) return FB_OK;
    fb_status st = FB_OK;
    if (--s->depth == 0 && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        st = db_error(s, diag, "commit");
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    pthread_mutex_unlock(&s->mu);
    return st;
}

void fb_store_rollback(fb_store *s)
{
    if (s->depth == 0) return;
    int held = s->depth;
    s->depth = 0;
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    while (held-- > 0) pthread_mutex_unlock(&s->mu);
}

/* A prepared statement for sql, ready to bind. Only string literals are
 * cached (by address: cacheable = 1); a built string is prepared for one
 * use. Called with the lock held. */
static sqlite3_stmt *prepared(fb_store *s, const char *sql, int cacheable)
{
    for (int i = 0; cacheable && i < s->ncache; i++)
        if (s->cache[i].sql == sql) return s->cache[i].st;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(s->db, sql, -1, cacheable ? SQLITE_PREPARE_PERSISTENT : 0, &st,
                           NULL) != SQLITE_OK)
        return NULL;
    if (cacheable && s->ncache < STMT_CACHE) {
        s->cache[s->ncache].sql = sql;
        s->cache[s->ncache].st = st;
        s->ncache++;
    }
    return st;
}

/* Releases a statement from prepared(): reset for the next use, or
 * finalized when the cache was full. */
static void release(fb_store *s, sqlite3_stmt *st)
{
    for (int i = 0; i < s->ncache; i++) {
        if (s->cache[i].st == st) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            return;
        }
    }
    sqlite3_finalize(st);
}

/* Runs one statement with text/int64 bindings described by types:
 * 't' text (const char *, NULL binds NULL), 'i' int64 (long long). When
 * id is not NULL the statement ends in RETURNING id and *id receives it. */
static fb_status exec_bind_id(fb_store *s, fb_diag *diag, const char *what, long long *id,
                              const char *sql, const char *types, va_list ap)
{
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = prepared(s, sql, 1);
    if (!st) {
        fb_status e = db_error(s, diag, what);
        pthread_mutex_unlock(&s->mu);
        return e;
    }
    for (int i = 0; types[i]; i++) {
        if (types[i] == 't') {
            const char *v = va_arg(ap, const char *);
            if (v) sqlite3_bind_text(st, i + 1, v, -1, SQLITE_TRANSIENT);
            else sqlite3_bind_null(st, i + 1);
        } else {
            sqlite3_bind_int64(st, i + 1, va_arg(ap, long long));
        }
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && id) *id = sqlite3_column_int64(st, 0);
    while (rc == SQLITE_ROW) rc = sqlite3_step(st);
    fb_status out = rc == SQLITE_DONE ? FB_OK : db_error(s, diag, what);
    release(s, st);
    pthread_mutex_unlock(&s->mu);
    return out;
}

static fb_status exec_bind(fb_store *s, fb_diag *diag, const char *what, const char *sql,
                           const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    fb_status st = exec_bind_id(s, diag, what, NULL, sql, types, ap);
    va_end(ap);
    return st;
}

static fb_status exec_returning(fb_store *s, fb_diag *diag, const char *what, long long *id,
                                const char *sql, const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    fb_status st = exec_bind_id(s, diag, what, id, sql, types, ap);
    va_end(ap);
    return st;
}

fb_status fb_store_put_workload(fb_store *s, const char *tenant, const char *name,
                                const char *kind, const char *spec_json,
                                const char *spec_hash, fb_diag *diag)
{
    char now[21];
    now_text(now);
    return exec_bind(s, diag, "save workload",
        "INSERT INTO workloads(tenant,name,kind,spec_json,spec_hash,created_at,updated_at)"
        " VALUES(?1,?2,?3,?4,?5,?6,?6) ON CONFLICT(tenant,name) DO UPDATE SET"
        " kind=excluded.kind, spec_json=excluded.spec_json, spec_hash=excluded.spec_hash,"
        " updated_at=excluded.updated_at",
        "tttttt", tenant, name, kind, spec_json, spec_hash, now);
}

/* Returns the first column of the first row as new text, or NULL. */
static fb_status query_text_c(fb_store *s, fb_diag *diag, const char *what, const char *sql,
                              int cacheable, const char *a, const char *b, char **out)
{
    *out = NULL;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = prepared(s, sql, cacheable);
    if (!st) {
        fb_status e = db_error(s, diag, what);
        pthread_mutex_unlock(&s->mu);
        return e;
    }
    if (a) sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
    if (b) sqlite3_bind_text(st, 2, b, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        *out = fbi_xstrdup(t ? (const char *)t : "");
    }
    fb_status res = (rc != SQLITE_ROW && rc != SQLITE_DONE) ? db_error(s, diag, what)
                  : *out ? FB_OK : FB_NOTFOUND;
    release(s, st);
    pthread_mutex_unlock(&s->mu);
    return res;
}

/* Returns the first column of the first row as new text, or NULL. sql is
 * a string literal. */
static fb_status query_text(fb_store *s, fb_diag *diag, const char *what, const char *sql,
                            const char *a, const char *b, char **out)
{
    return query_text_c(s, diag, what, sql, 1, a, b, out);
}

fb_status fb_store_get_workload(fb_store *s, const char *tenant, const char *name,
                                char **spec_json, fb_diag *diag)
{
    return query_text(s, diag, "read workload",
                      "SELECT spec_json FROM workloads WHERE tenant=?1 AND name=?2",
                      tenant, name, spec_json);
}

fb_status fb_store_put_plan(fb_store *s, const char *plan_json, long long total_micro_usd,
                            long long *id, fb_diag *diag)
{
    char now[21];
    now_text(now);
    long long got = 0;
    fb_status st = exec_returning(s, diag, "save plan", &got,
        "INSERT INTO plans(created_at, plan_json, total_micro_usd) VALUES(?1,?2,?3) RETURNING id",
        "tti", now, plan_json, total_micro_usd);
    if (st == FB_OK && id) *id = got;
    return st;
}

fb_status fb_store_latest_plan(fb_store *s, char **plan_json, long long *id, fb_diag *diag)
{
    fb_status st = query_text(s, diag, "read plan",
                              "SELECT plan_json FROM plans ORDER BY id DESC LIMIT 1",
                              NULL, NULL, plan_json);
    if (st == FB_OK && id) {
        char *t = NULL;
        query_text(s, diag, "read plan", "SELECT id FROM plans ORDER BY id DESC LIMIT 1",
                   NULL, NULL, &t);
        *id = t ? atoll(t) : 0;
        free(t);
    }
    return st;
}

fb_status fb_store_journal_begin(fb_store *s, const char *op, const char *tenant,
                                 const char *workload, const char *provider,
                                 const char *detail_json, long long *id, fb_diag *diag)
{
    char now[21];
    now_text(now);
    long long got = 0;
    fb_status st = exec_returning(s, diag, "journal intent", &got,
        "INSERT INTO journal(started_at, op, tenant, workload, provider, phase, detail_json)"
        " VALUES(?1,?2,?3,?4,?5,'intent',?6) RETURNING id",
        "tttttt", now, op, tenant, workload, provider, detail_json ? detail_json : "{}");
    if (st == FB_OK && id) *id = got;
    return st;
}

fb_status fb_store_journal_end(fb_store *s, long long id, const char *phase,
                               const char *detail_json, fb_diag *diag)
{
    char now[21];
    now_text(now);
    return exec_bind(s, diag, "journal outcome",
        "UPDATE journal SET ended_at=?1, phase=?2, detail_json=COALESCE(?3, detail_json)"
        " WHERE id=?4", "ttti", now, phase, detail_json, id);
}

/* Runs a query whose rows are one JSON object each (built in SQL with
 * json_object) and returns them as a JSON array text. */
static fb_status query_json_array(fb_store *s, fb_diag *diag, const char *what,
                                  const char *sql, const char *a, const char *b, char **out)
{
    char *wrapped = fbi_xasprintf("SELECT COALESCE(json_group_array(json(j)), '[]') FROM (%s)", sql);
    fb_status st = query_text_c(s, diag, what, wrapped, 0, a, b, out);
    free(wrapped);
    return st;
}

fb_status fb_store_journal_open_intents(fb_store *s, char **json, fb_diag *diag)
{
    return query_json_array(s, diag, "read journal",
        "SELECT json_object('id', id, 'started_at', started_at, 'op', op, 'tenant', tenant,"
        " 'workload', workload, 'provider', provider, 'detail', json(detail_json)) AS j"
        " FROM journal WHERE phase='intent' ORDER BY id", NULL, NULL, json);
}

fb_status fb_store_put_deployment(fb_store *s, const char *tenant, const char *workload,
                                  const char *provider, const char *service,
                                  const char *region, const char *state,
                                  const char *state_json, fb_diag *diag)
{
    char now[21];
    now_text(now);
    return exec_bind(s, diag, "save deployment",
        "INSERT INTO deployments(tenant,workload,provider,service,region,state,state_json,"
        "created_at,updated_at) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?8)"
        " ON CONFLICT(tenant,workload,provider,region) DO UPDATE SET service=excluded.service,"
        " state=excluded.state, state_json=excluded.state_json,"
        " updated_at=excluded.updated_at",
        "tttttttt", tenant, workload, provider, service, region, state,
        state_json ? state_json : "{}", now);
}

fb_status fb_store_put_resource(fb_store *s, const char *tenant, const char *workload,
                                const char *provider, const char *resource_json,
                                fb_diag *diag)
{
    json_t *r = json_loads(resource_json, 0, NULL);
    const char *type = json_string_value(json_object_get(r, "type"));
    const char *id = json_string_value(json_object_get(r, "id"));
    const char *region = json_string_value(json_object_get(r, "region"));
    if (!id) {
        json_decref(r);
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL,
                    "resource record without a string \"id\"", resource_json);
        return FB_INVALID;
    }
    char now[21];
    now_text(now);
    fb_status st = exec_bind(s, diag, "record resource",
        "INSERT INTO resources(tenant,workload,provider,type,cloud_id,region,resource_json,created_at)"
        " VALUES(?1,?2,?3,?4,?5,?6,?7,?8) ON CONFLICT(provider,type,cloud_id) DO UPDATE SET"
        " tenant=excluded.tenant, workload=excluded.workload, region=excluded.region,"
        " resource_json=excluded.resource_json",
        "tttttttt", tenant, workload, provider, type ? type : "resource", id, region,
        resource_json, now);
    json_decref(r);
    return st;
}

fb_status fb_store_list_deployments(fb_store *s, const char *tenant, const char *workload,
                                    char **json, fb_diag *diag)
{
    return query_json_array(s, diag, "list deployments",
        "SELECT json_object('tenant', d.tenant, 'workload', d.workload, 'provider', d.provider,"
        " 'service', d.service, 'region', d.region, 'phase', d.state,"
        " 'state', json(d.state_json), 'updated_at', d.updated_at,"
        " 'resources', (SELECT COALESCE(json_group_array(json(r.resource_json)), '[]')"
        "   FROM resources r WHERE r.tenant=d.tenant AND r.workload=d.workload"
        "   AND r.provider=d.provider AND (r.region IS NULL OR r.region=d.region))) AS j"
        " FROM deployments d WHERE (?1 IS NULL OR d.tenant=?1) AND (?2 IS NULL OR d.workload=?2)"
        " ORDER BY d.tenant, d.workload, d.provider", tenant, workload, json);
}

fb_status fb_store_delete_deployment(fb_store *s, const char *tenant, const char *workload,
                                     const char *provider, const char *region, fb_diag *diag)
{
    fb_status st = exec_bind(s, diag, "delete resources",
        "DELETE FROM resources WHERE tenant=?1 AND workload=?2 AND provider=?3"
        " AND (region IS NULL OR region=?4)", "tttt", tenant, workload, provider, region);
    if (st != FB_OK) return st;
    return exec_bind(s, diag, "delete deployment",
        "DELETE FROM deployments WHERE tenant=?1 AND workload=?2 AND provider=?3 AND region=?4",
        "tttt", tenant, workload, provider, region);
}

fb_status fb_store_put_result(fb_store *s, const char *tenant, const char *workload,
                              const char *kind, const char *result_json, fb_diag *diag)
{
    char now[21];
    now_text(now);
    return exec_bind(s, diag, "save result",
        "INSERT INTO results(tenant,workload,kind,result_json,created_at) VALUES(?1,?2,?3,?4,?5)",
        "ttttt", tenant, workload, kind, result_json, now);
}

fb_status fb_store_list_results(fb_store *s, const char *tenant, const char *workload,
                                char **json, fb_diag *diag)
{
    return query_json_array(s, diag, "list results",
        "SELECT json_object('tenant', tenant, 'workload', workload, 'kind', kind,"
        " 'result', json(result_json), 'created_at', created_at) AS j FROM results"
        " WHERE (?1 IS NULL OR tenant=?1) AND (?2 IS NULL OR workload=?2) ORDER BY id",
        tenant, workload, json);
}

fb_status fb_store_audit(fb_store *s, const char *actor, const char *action,
                         const char *detail_json, fb_diag *diag)
{
    char now[21];
    now_text(now);
    return exec_bind(s, diag, "audit",
        "INSERT INTO audit(at, actor, action, detail_json) VALUES(?1,?2,?3,?4)",
        "tttt", now, actor, action, detail_json ? detail_json : "{}");
}
