/* store.c - the broker's state in one SQLite file (WAL). Schema changes are
 * numbered migrations, applied together with the version check inside one
 * BEGIN IMMEDIATE transaction, so an old state.db is upgraded in place, a
 * half-applied migration cannot exist, and two processes opening a fresh
 * home at once cannot both create the tables (a new store gets the final
 * schema from one script, fresh_schema, in that same transaction). Before
 * migrating an existing state it is copied to backups/ (the online backup
 * API); on every open PRAGMA quick_check refuses a damaged file. */
#include "config.h"
#include "fedbroker/fedbroker.h"
#include "state/state.h"
#include "base/util.h"
#include "base/jsonread.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STMT_CACHE 48
#define CHECKPOINT_PAGES 1000

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
    /* 2: the spec each deployment was (being) applied from, so a deployment
     * whose cloud ids were never recorded (a crash during a create, a full
     * disk) can be looked up by the deterministic name its driver gives it */
    "ALTER TABLE deployments ADD COLUMN spec_json TEXT;",
    /* 3: plan-driven apply (docs/plan.md): the state serial every apply
     * and destroy bumps (a plan records the serial it was computed
     * against, so apply can refuse a stale one), the federation each
     * deployment belongs to (destroy --federation), and what the
     * endpoints table needs to say where a deployment answers */
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "INSERT INTO meta(key, value) VALUES('state_serial', 0);"
    "ALTER TABLE deployments ADD COLUMN federation TEXT;"
    "ALTER TABLE endpoints ADD COLUMN kind TEXT NOT NULL DEFAULT 'url';"
    "ALTER TABLE endpoints ADD COLUMN observed_at TEXT;",
    /* 4: the broker as an issuer (core/identity/): its signing keys, each
     * private key sealed under the master key (nonce || XChaCha20-Poly1305
     * ciphertext, base64), and portable secrets sealed per tenant. Times
     * in Unix seconds: the key life cycle compares them. */
    "CREATE TABLE signing_keys ("
    "  kid TEXT PRIMARY KEY, alg TEXT NOT NULL,"
    "  state TEXT NOT NULL CHECK (state IN ('next','current','retired')),"
    "  public_jwk TEXT NOT NULL, sealed_private TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL, activated_at INTEGER, retired_at INTEGER,"
    "  unpublish_at INTEGER);"
    "CREATE TABLE secrets ("
    "  tenant TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL,"
    "  sealed TEXT NOT NULL, created_at TEXT NOT NULL,"
    "  PRIMARY KEY (tenant, name, version));",
    /* 5: discovery (core/discovery/, docs/discovery.md): every endpoint
     * row says who reported it (source: apply, observe, discover) and for
     * how long the report holds (lease_seconds, 0 = until forgotten), when
     * it was last reported (reported_at) and since when it is stale; its
     * health from probes or provider status, with the failure count and
     * the next probe time that make the probe backoff. Times in Unix
     * seconds: the lease arithmetic compares them. */
    "ALTER TABLE endpoints ADD COLUMN protocol TEXT NOT NULL DEFAULT 'https';"
    "ALTER TABLE endpoints ADD COLUMN health TEXT NOT NULL DEFAULT 'unknown'"
    "  CHECK (health IN ('passing','warning','critical','unknown'));"
    "ALTER TABLE endpoints ADD COLUMN health_detail TEXT;"
    "ALTER TABLE endpoints ADD COLUMN checked_at INTEGER;"
    "ALTER TABLE endpoints ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE endpoints ADD COLUMN next_probe_at INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE endpoints ADD COLUMN source TEXT NOT NULL DEFAULT 'apply';"
    "ALTER TABLE endpoints ADD COLUMN lease_seconds INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE endpoints ADD COLUMN reported_at INTEGER;"
    "ALTER TABLE endpoints ADD COLUMN stale_since INTEGER;",
    /* 6: the API server's bearer tokens (core/server/token.c): only the
     * SHA-256 of a token is kept; id is its public prefix for listing and
     * revoking. Times in Unix seconds. */
    "CREATE TABLE api_tokens ("
    "  id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, tenant TEXT NOT NULL,"
    "  role TEXT NOT NULL CHECK (role IN ('admin','deployer','viewer','finance')),"
    "  created_at INTEGER NOT NULL, expires_at INTEGER, revoked_at INTEGER,"
    "  last_used_at INTEGER);",
    /* 7: the audit trail is a hash chain (each row carries the hash of
     * the previous one) with Ed25519-signed checkpoints (core/server/
     * audit.c), so `fedbroker audit verify` finds a changed, removed or
     * inserted row */
    "ALTER TABLE audit ADD COLUMN tenant TEXT;"
    "ALTER TABLE audit ADD COLUMN outcome TEXT NOT NULL DEFAULT 'ok';"
    "ALTER TABLE audit ADD COLUMN prev_hash TEXT;"
    "ALTER TABLE audit ADD COLUMN hash TEXT;"
    "CREATE TABLE audit_checkpoints ("
    "  id INTEGER PRIMARY KEY, row_id INTEGER NOT NULL, row_hash TEXT NOT NULL,"
    "  row_count INTEGER NOT NULL, public_key TEXT NOT NULL, signature TEXT NOT NULL,"
    "  at TEXT NOT NULL);",
    /* 8: the callers each deployment's last apply granted (docs/identity.md,
     * least privilege): a plan compares them with the callers it sees, so a
     * dependency added on a caller makes the callee's grants an update */
    "ALTER TABLE deployments ADD COLUMN identity_callers TEXT;",
    /* 9: discovery fed by every source (docs/discovery.md): a source may
     * report several endpoints of one deployment (a Kubernetes Service's
     * EndpointSlices name each ready pod address), so an instance joins
     * the key ('' = the deployment's own front: apply, observe, discover);
     * private marks an address only reachable inside its network (an
     * in-cluster pod IP), which the broker never probes. SQLite cannot
     * change a primary key in place: the table is rebuilt. */
    "CREATE TABLE endpoints_v9 ("
    "  tenant TEXT NOT NULL, workload TEXT NOT NULL, provider TEXT NOT NULL,"
    "  region TEXT NOT NULL, instance TEXT NOT NULL DEFAULT '', url TEXT NOT NULL,"
    "  updated_at TEXT NOT NULL, kind TEXT NOT NULL DEFAULT 'url', observed_at TEXT,"
    "  protocol TEXT NOT NULL DEFAULT 'https', health TEXT NOT NULL DEFAULT 'unknown'"
    "  CHECK (health IN ('passing','warning','critical','unknown')),"
    "  health_detail TEXT, checked_at INTEGER, failures INTEGER NOT NULL DEFAULT 0,"
    "  next_probe_at INTEGER NOT NULL DEFAULT 0, source TEXT NOT NULL DEFAULT 'apply',"
    "  lease_seconds INTEGER NOT NULL DEFAULT 0, reported_at INTEGER, stale_since INTEGER,"
    "  private INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (tenant, workload, provider, region, instance));"
    "INSERT INTO endpoints_v9(tenant,workload,provider,region,url,updated_at,kind,observed_at,"
    "  protocol,health,health_detail,checked_at,failures,next_probe_at,source,lease_seconds,"
    "  reported_at,stale_since)"
    "  SELECT tenant,workload,provider,region,url,updated_at,kind,observed_at,protocol,health,"
    "  health_detail,checked_at,failures,next_probe_at,source,lease_seconds,reported_at,"
    "  stale_since FROM endpoints;"
    "DROP TABLE endpoints;"
    "ALTER TABLE endpoints_v9 RENAME TO endpoints;",
    /* 10: the journal's phase check written as comparisons: the same rule,
     * but SQLite 3.40 (Debian 12's) evaluates `phase IN ('intent','done',
     * 'failed')` by building an ephemeral b-tree of the list on every
     * insert and every update of the phase, ~25,000 instructions each, two
     * per workload of an apply (bench/README-aws.md, perf4). SQLite cannot
     * change a CHECK in place: the table is rebuilt, ids kept. */
    "CREATE TABLE journal_v10 ("
    "  id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, ended_at TEXT,"
    "  op TEXT NOT NULL, tenant TEXT, workload TEXT, provider TEXT,"
    "  phase TEXT NOT NULL CHECK (phase = 'intent' OR phase = 'done' OR phase = 'failed'),"
    "  detail_json TEXT NOT NULL DEFAULT '{}');"
    "INSERT INTO journal_v10(id,started_at,ended_at,op,tenant,workload,provider,phase,detail_json)"
    "  SELECT id,started_at,ended_at,op,tenant,workload,provider,phase,detail_json FROM journal;"
    "DROP TABLE journal;"
    "ALTER TABLE journal_v10 RENAME TO journal;"
    "CREATE INDEX journal_phase ON journal(phase);",
};

#define N_MIGRATIONS ((int)(sizeof migrations / sizeof *migrations))

/* The schema the migrations above produce, for a new, empty store: the
 * tables as migration 10 leaves them, in one script. Replaying the ten
 * migrations cost fb_store_open on a new home 30.6 M instructions (each
 * ALTER TABLE makes SQLite parse the whole schema again), this 4.5 M
 * (bench/README-k8s.md, "Stop 25: store25"). It is not a second source of
 * truth to keep in step by hand alone: tests/state/check_store.c
 * (fresh_schema_equals_migrations) builds a store from every older
 * version, and one by replaying every migration, and fails when any of
 * them differs from a store made from this script (tables, columns,
 * defaults, constraints, indexes, triggers, rows, user_version). A new
 * migration therefore changes this script too, and FRESH_SCHEMA_VERSION. */
#define FRESH_SCHEMA_VERSION 10
static const char fresh_schema[] =
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
    "  created_at TEXT NOT NULL, updated_at TEXT NOT NULL, spec_json TEXT, federation TEXT,"
    " identity_callers TEXT,"
    "  PRIMARY KEY (tenant, workload, provider, region));"
    "CREATE TABLE resources ("
    "  id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, workload TEXT NOT NULL,"
    "  provider TEXT NOT NULL, type TEXT NOT NULL, cloud_id TEXT NOT NULL,"
    "  region TEXT, resource_json TEXT NOT NULL, created_at TEXT NOT NULL,"
    "  UNIQUE (provider, type, cloud_id));"
    "CREATE TABLE journal ("
    "  id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, ended_at TEXT,"
    "  op TEXT NOT NULL, tenant TEXT, workload TEXT, provider TEXT,"
    "  phase TEXT NOT NULL CHECK (phase = 'intent' OR phase = 'done' OR phase = 'failed'),"
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
    "  region TEXT NOT NULL, instance TEXT NOT NULL DEFAULT '', url TEXT NOT NULL,"
    "  updated_at TEXT NOT NULL, kind TEXT NOT NULL DEFAULT 'url', observed_at TEXT,"
    "  protocol TEXT NOT NULL DEFAULT 'https', health TEXT NOT NULL DEFAULT 'unknown'"
    "  CHECK (health IN ('passing','warning','critical','unknown')),"
    "  health_detail TEXT, checked_at INTEGER, failures INTEGER NOT NULL DEFAULT 0,"
    "  next_probe_at INTEGER NOT NULL DEFAULT 0, source TEXT NOT NULL DEFAULT 'apply',"
    "  lease_seconds INTEGER NOT NULL DEFAULT 0, reported_at INTEGER, stale_since INTEGER,"
    "  private INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (tenant, workload, provider, region, instance));"
    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL,"
    "  action TEXT NOT NULL, detail_json TEXT NOT NULL DEFAULT '{}', tenant TEXT,"
    " outcome TEXT NOT NULL DEFAULT 'ok', prev_hash TEXT, hash TEXT);"
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "INSERT INTO meta(key, value) VALUES('state_serial', 0);"
    "CREATE TABLE signing_keys ("
    "  kid TEXT PRIMARY KEY, alg TEXT NOT NULL,"
    "  state TEXT NOT NULL CHECK (state IN ('next','current','retired')),"
    "  public_jwk TEXT NOT NULL, sealed_private TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL, activated_at INTEGER, retired_at INTEGER,"
    "  unpublish_at INTEGER);"
    "CREATE TABLE secrets ("
    "  tenant TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL,"
    "  sealed TEXT NOT NULL, created_at TEXT NOT NULL,"
    "  PRIMARY KEY (tenant, name, version));"
    "CREATE TABLE api_tokens ("
    "  id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, tenant TEXT NOT NULL,"
    "  role TEXT NOT NULL CHECK (role IN ('admin','deployer','viewer','finance')),"
    "  created_at INTEGER NOT NULL, expires_at INTEGER, revoked_at INTEGER,"
    "  last_used_at INTEGER);"
    "CREATE TABLE audit_checkpoints ("
    "  id INTEGER PRIMARY KEY, row_id INTEGER NOT NULL, row_hash TEXT NOT NULL,"
    "  row_count INTEGER NOT NULL, public_key TEXT NOT NULL, signature TEXT NOT NULL,"
    "  at TEXT NOT NULL);";

/* A fresh schema that lags the migrations would silently create stores a
 * version behind what they claim: refused at build time. */
_Static_assert(FRESH_SCHEMA_VERSION == N_MIGRATIONS,
               "fresh_schema must be updated with every new migration");

int fbi_store_migration_count(void) { return N_MIGRATIONS; }

const char *fbi_store_migration_sql(int i)
{
    return i >= 0 && i < N_MIGRATIONS ? migrations[i] : NULL;
}

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

/* The directory of the state file (new). */
static char *state_dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? fbi_xstrndup(path, (size_t)(slash - path)) : fbi_xstrdup(".");
}

char *fbi_store_backup_dir(const char *state_path)
{
    char *dir = state_dir_of(state_path);
    char *b = fbi_xasprintf("%s/backups", dir);
    free(dir);
    return b;
}

static int backup_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The backups of state_path, oldest first (names sort by time): a new
 * NULL-terminated array of new paths, *n their count. */
static char **list_backups(const char *state_path, size_t *n)
{
    char *dir = fbi_store_backup_dir(state_path);
    char **out = NULL;
    size_t cnt = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strncmp(e->d_name, "state-", 6) != 0 || !fbi_str_has_suffix(e->d_name, ".db")) continue;
        out = fbi_xrealloc(out, (cnt + 2) * sizeof *out);
        out[cnt++] = fbi_xasprintf("%s/%s", dir, e->d_name);
    }
    if (d) closedir(d);
    free(dir);
    if (cnt) qsort(out, cnt, sizeof *out, backup_name_cmp);
    else out = fbi_xcalloc(1, sizeof *out);
    out[cnt] = NULL;
    *n = cnt;
    return out;
}

static void free_list(char **l)
{
    for (size_t i = 0; l && l[i]; i++) free(l[i]);
    free(l);
}

char *fbi_store_last_backup(const char *state_path)
{
    size_t n;
    char **l = list_backups(state_path, &n);
    char *last = n ? fbi_xstrdup(l[n - 1]) : NULL;
    free_list(l);
    return last;
}

/* Copies the database to backups/state-<UTC time>-v<version>.db, 0600,
 * and keeps the newest FBI_STATE_BACKUPS_KEPT. Called with the
 * migration's write transaction open (nothing written yet), so nobody
 * changes the state while it is copied; the copy reads through a second,
 * read-only connection, which WAL mode lets read beside the writer (the
 * backup API refuses a source connection that is writing). */
static fb_status backup_before_migration(fb_store *s, int version, fb_diag *diag)
{
    char *dir = fbi_store_backup_dir(s->path), *err = NULL;
    if (fbi_mkdirs(dir, 0700, &err) != 0) {
        char *m = fbi_xasprintf("state store %s: cannot keep a backup before migrating: %s",
                                s->path, err);
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, m,
                    "nothing was changed; make the state directory writable");
        free(m);
        free(err);
        free(dir);
        return FB_INTERNAL;
    }
    /* the real clock: FEDBROKER_NOW may be fixed for reproducible output */
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    char *dest = NULL;
    for (int k = 0; k < 100; k++) {
        free(dest);
        dest = k ? fbi_xasprintf("%s/state-%s-%d-v%d.db", dir, stamp, k, version)
                 : fbi_xasprintf("%s/state-%s-v%d.db", dir, stamp, version);
        struct stat st;
        if (stat(dest, &st) != 0) break;
    }
    free(dir);
    sqlite3 *to = NULL, *from = NULL;
    int rc = sqlite3_open_v2(s->path, &from, SQLITE_OPEN_READONLY, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_open_v2(dest, &to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc == SQLITE_OK) {
        chmod(dest, 0600); /* the state may hold sealed credentials */
        sqlite3_backup *b = sqlite3_backup_init(to, "main", from, "main");
        if (b) {
            while ((rc = sqlite3_backup_step(b, 256)) == SQLITE_OK) {
            }
            sqlite3_backup_finish(b);
            if (rc == SQLITE_DONE) rc = SQLITE_OK;
        } else {
            rc = sqlite3_errcode(to);
        }
    }
    if (rc != SQLITE_OK) {
        char *m = fbi_xasprintf("state store %s: cannot keep a backup before migrating to "
                                "version %d: %s", s->path, N_MIGRATIONS,
                                to ? sqlite3_errmsg(to) : from ? sqlite3_errmsg(from)
                                                               : sqlite3_errstr(rc));
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, m,
                    "nothing was changed; free disk space next to the state and try again");
        free(m);
        sqlite3_close(to);
        sqlite3_close(from);
        unlink(dest);
        free(dest);
        return FB_INTERNAL;
    }
    sqlite3_close(to);
    sqlite3_close(from);
    free(dest);
    size_t n;
    char **all = list_backups(s->path, &n);
    for (size_t i = 0; i + FBI_STATE_BACKUPS_KEPT < n; i++) unlink(all[i]);
    free_list(all);
    return FB_OK;
}

/* Brings the schema to N_MIGRATIONS: an empty store from fresh_schema, an
 * older one by its missing migrations. The version is read inside the
 * write transaction: a process that waited for another's creation or
 * migration sees it done and does nothing. */
static fb_status migrate(fb_store *s, fb_diag *diag)
{
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_error(s, diag, "schema migration (begin)");
    int v = user_version(s->db);
    if (v > N_MIGRATIONS) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        char *m = fbi_xasprintf("state store %s has schema version %d, newer than this "
                                "fedbroker understands (%d)", s->path, v, N_MIGRATIONS);
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, m,
                    "upgrade fedbroker, or point FEDBROKER_HOME at another state directory");
        free(m);
        return FB_INVALID;
    }
    if (v < 0 || v == N_MIGRATIONS) {
        fb_status st = v < 0 ? db_error(s, diag, "schema version") : FB_OK;
        sqlite3_exec(s->db, v < 0 ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
        return st;
    }
    /* an existing state (not a new, empty one) is copied before it changes */
    if (v > 0 && backup_before_migration(s, v, diag) != FB_OK) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return FB_INTERNAL;
    }
    /* a new, empty store gets the final schema in one script, inside the
     * same transaction as the version check: what replaying every
     * migration would leave, at a seventh of the parsing */
    if (v == 0) {
        char *sql = fbi_xasprintf("%s PRAGMA user_version = %d;", fresh_schema, N_MIGRATIONS);
        int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
        free(sql);
        if (rc != SQLITE_OK) {
            fb_status st = db_error(s, diag, "schema creation");
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return st;
        }
        v = N_MIGRATIONS;
    }
    for (; v < N_MIGRATIONS; v++) {
        char *sql = fbi_xasprintf("%s PRAGMA user_version = %d;", migrations[v], v + 1);
        int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
        free(sql);
        if (rc != SQLITE_OK) {
            fb_status st = db_error(s, diag, "schema migration");
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return st;
        }
    }
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        fb_status st = db_error(s, diag, "schema migration (commit)");
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return st;
    }
    return FB_OK;
}

/* The refusal of a damaged state file: what is wrong, and how to recover
 * from the last good copy. problem: the checker's words (borrowed). */
static fb_status damaged(fb_store *s, const char *problem, fb_diag *diag)
{
    char *m = fbi_xasprintf("state store %s is damaged: %s", s->path, problem);
    char *last = fbi_store_last_backup(s->path);
    char *backups = fbi_store_backup_dir(s->path);
    char *hint = last
        ? fbi_xasprintf("fedbroker will not read or change it. To recover, stop every fedbroker "
                        "using it, move it aside (mv %s %s.damaged; also its -wal and -shm files) "
                        "and copy the last good copy over it: cp %s %s (taken before a schema "
                        "migration: deployments applied since then are missing from it, and "
                        "`fedbroker discover` lists them as untracked). Or salvage what is "
                        "readable: sqlite3 %s.damaged .recover | sqlite3 %s",
                        s->path, s->path, last, s->path, s->path, s->path)
        : fbi_xasprintf("fedbroker will not read or change it, and %s holds no earlier copy. "
                        "To recover, stop every fedbroker using it, move it aside (mv %s "
                        "%s.damaged; also its -wal and -shm files) and salvage what is "
                        "readable: sqlite3 %s.damaged .recover | sqlite3 %s; `fedbroker "
                        "discover` then lists what the store lost as untracked",
                        backups, s->path, s->path, s->path, s->path);
    fb_diag_add(diag, FB_SEV_ERROR, s->path, 0, 0, NULL, m, hint);
    free(m);
    free(hint);
    free(last);
    free(backups);
    return FB_INTERNAL;
}

/* PRAGMA quick_check: the b-tree structure of every table and index, in
 * O(N) without the cross-checks of integrity_check (10-30 ms on a 2.7 MB
 * state of 1,000 deployments; see the commit that added its test). It
 * finds damaged pages, cell pointers and free lists and NULLs in NOT NULL
 * columns, not bytes changed inside a well-formed record. */
static fb_status check_pages(fb_store *s, fb_diag *diag)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "PRAGMA quick_check(20)", -1, &st, NULL) != SQLITE_OK) {
        int code = sqlite3_errcode(s->db) & 0xff;
        if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
            return damaged(s, sqlite3_errmsg(s->db), diag);
        return db_error(s, diag, "check");
    }
    fbi_buf problems;
    fbi_buf_init(&problems);
    int rc, nproblems = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if (!t || !strcmp(t, "ok")) continue;
        if (!strncmp(t, "*** in database main ***\n", 25)) t += 25;
        /* the first few say enough; each row may hold several lines */
        if (nproblems++ < 3) fbi_buf_printf(&problems, "%s%s", problems.len ? "; " : "", t);
    }
    if (nproblems > 3) fbi_buf_printf(&problems, "; and %d more", nproblems - 3);
    int code = sqlite3_errcode(s->db) & 0xff;
    char *msg = fbi_xstrdup(sqlite3_errmsg(s->db));
    sqlite3_finalize(st);
    fb_status out = FB_OK;
    if (rc != SQLITE_DONE && (code == SQLITE_CORRUPT || code == SQLITE_NOTADB))
        out = damaged(s, msg, diag);
    else if (rc != SQLITE_DONE)
        out = db_error(s, diag, "check");
    else if (problems.len)
        out = damaged(s, problems.data, diag);
    free(msg);
    fbi_buf_free(&problems);
    return out;
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
    /* A new (absent or empty) file: switching it to WAL is a rollback-
     * journal transaction that writes page 1 only, and at SQLite's default
     * synchronous=FULL it cost four fdatasyncs (the journal twice, its
     * directory, the file) before the first apply of a new home could
     * start. It runs with synchronous=OFF. What that gives up is what
     * synchronous=NORMAL gives up anyway: after a power cut (not a crash
     * or kill -9: those lose nothing committed) the commits since the last
     * checkpoint may be lost, and before a new store's first checkpoint
     * that is all of them; the first checkpoint writes and syncs page 1
     * again (bench/README-aws.md, Stop 26). */
    struct stat fst;
    const int fresh = stat(p, &fst) != 0 || fst.st_size == 0;
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
    /* Switching a new file to WAL can answer SQLITE_BUSY at once, without
     * the busy handler, while another process is creating or recovering
     * it (three processes opening a fresh home together: about one open in
     * 30 failed, tests/aws/concurrent.py). Retried for up to the busy
     * timeout; any other error is reported at once. */
    int rc2 = SQLITE_OK;
    for (int waited = 0;; waited += 20) {
        rc2 = sqlite3_exec(s->db, fresh ? "PRAGMA synchronous=OFF; PRAGMA journal_mode=WAL; "
                                          "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                                        : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                                          "PRAGMA foreign_keys=ON;", NULL, NULL, NULL);
        int c = sqlite3_errcode(s->db) & 0xff;
        if (rc2 == SQLITE_OK || (c != SQLITE_BUSY && c != SQLITE_LOCKED) || waited >= 5000) break;
        sqlite3_sleep(20);
    }
    if (rc2 != SQLITE_OK) {
        int code = sqlite3_errcode(s->db) & 0xff;
        fb_status st = code == SQLITE_CORRUPT || code == SQLITE_NOTADB
                           ? damaged(s, sqlite3_errmsg(s->db), diag)
                           : db_error(s, diag, "configure");
        fb_store_close(s);
        return st;
    }
    /* a damaged file is refused before anything reads or migrates it */
    fb_status st = check_pages(s, diag);
    if (st == FB_OK) st = migrate(s, diag);
    if (st != FB_OK) {
        fb_store_close(s);
        return st;
    }
    /* A checkpoint runs inside the commit that crosses the threshold, with
     * the store's lock held. 256 pages kept those stalls short while every
     * lane of a parallel apply wrote to the store itself; since its writes
     * go through one writer thread (state/writer.h) a checkpoint delays
     * only that thread, and SQLite's default of 1000 pages checkpoints (and
     * fdatasyncs) a quarter as often: 3-7 % less CPU for an apply
     * (bench/README-k8s.md, bench/README-aws.md). */
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
void fbi_store_set_checkpoint_pages(fb_store *s, int pages)
{
    sqlite3_wal_autocheckpoint(s->db, pages > 0 ? pages : 1);
}

struct sqlite3 *fbi_store_db(fb_store *s) { return s->db; }

static sqlite3_stmt *prepared(fb_store *s, const char *sql, int cacheable);
static void release(fb_store *s, sqlite3_stmt *st);

/* Runs a statement without bindings or rows (BEGIN, COMMIT) from the
 * statement cache: a parallel apply begins and commits a transaction per
 * batch, and parsing them each time was measurable (bench/README-k8s.md).
 * SQLITE_OK or SQLite's error code (its message stays in the handle).
 * Lock held. */
static int exec_cached(fb_store *s, const char *sql)
{
    sqlite3_stmt *st = prepared(s, sql, 1);
    if (!st) return sqlite3_errcode(s->db);
    int rc = sqlite3_step(st);
    release(s, st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

fb_status fb_store_begin(fb_store *s, fb_diag *diag)
{
    pthread_mutex_lock(&s->mu); /* held until the matching commit */
    if (s->depth++ > 0) return FB_OK;
    if (exec_cached(s, "BEGIN IMMEDIATE") != SQLITE_OK) {
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
    if (--s->depth == 0 && exec_cached(s, "COMMIT") != SQLITE_OK) {
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
 * id is not NULL, *id receives the first column of the first row (the
 * statement ends in RETURNING) or, with rowid set, the rowid the statement
 * (an INSERT without RETURNING) inserted.
 *
 * Why rowid: SQLite 3.40 (Debian 12's) collects a RETURNING clause's rows
 * in an ephemeral table, a b-tree opened, filled and freed per execution;
 * for the journal's intent, one per workload of an apply, that was half
 * of the statement's cost (bench/README-aws.md, perf4). The lock is held
 * from the step to sqlite3_last_insert_rowid, so no other insert on this
 * connection comes between.
 *
 * Texts are bound SQLITE_STATIC: they outlive the step, and release()
 * clears the bindings before the lock is given up, so SQLite never copies
 * them (a malloc and a copy per bound text, 48 per workload of an apply). */
static fb_status exec_bind_id(fb_store *s, fb_diag *diag, const char *what, long long *id,
                              int rowid, const char *sql, const char *types, va_list ap)
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
            if (v) sqlite3_bind_text(st, i + 1, v, -1, SQLITE_STATIC);
            else sqlite3_bind_null(st, i + 1);
        } else {
            sqlite3_bind_int64(st, i + 1, va_arg(ap, long long));
        }
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && id && !rowid) *id = sqlite3_column_int64(st, 0);
    while (rc == SQLITE_ROW) rc = sqlite3_step(st);
    if (rc == SQLITE_DONE && id && rowid) *id = sqlite3_last_insert_rowid(s->db);
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
    fb_status st = exec_bind_id(s, diag, what, NULL, 0, sql, types, ap);
    va_end(ap);
    return st;
}

/* exec_bind_id with an id: RETURNING's first column (rowid 0), or the
 * rowid of the row an INSERT without RETURNING made (rowid 1). */
static fb_status exec_returning(fb_store *s, fb_diag *diag, const char *what, long long *id,
                                int rowid, const char *sql, const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    fb_status st = exec_bind_id(s, diag, what, id, rowid, sql, types, ap);
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

/* Returns the first column of the first row as new text, or NULL, with
 * the n texts of binds bound to ?1..?n (NULL binds NULL). */
static fb_status query_text_v(fb_store *s, fb_diag *diag, const char *what, const char *sql,
                              int cacheable, const char *const *binds, int n, char **out)
{
    *out = NULL;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = prepared(s, sql, cacheable);
    if (!st) {
        fb_status e = db_error(s, diag, what);
        pthread_mutex_unlock(&s->mu);
        return e;
    }
    for (int i = 0; i < n; i++)
        if (binds[i]) sqlite3_bind_text(st, i + 1, binds[i], -1, SQLITE_TRANSIENT);
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

/* query_text_v with up to two binds (a, b). */
static fb_status query_text_c(fb_store *s, fb_diag *diag, const char *what, const char *sql,
                              int cacheable, const char *a, const char *b, char **out)
{
    const char *binds[] = {a, b};
    return query_text_v(s, diag, what, sql, cacheable, binds, 2, out);
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
    fb_status st = exec_returning(s, diag, "save plan", &got, 0,
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
    fb_status st = exec_returning(s, diag, "journal intent", &got, 1,
        "INSERT INTO journal(started_at, op, tenant, workload, provider, phase, detail_json)"
        " VALUES(?1,?2,?3,?4,?5,'intent',?6)",
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

fb_status fbi_store_put_deployment_intent(fb_store *s, const char *tenant, const char *workload,
                                          const char *provider, const char *service,
                                          const char *region, const char *state,
                                          const char *spec_json, const char *federation,
                                          fb_diag *diag)
{
    char now[21];
    now_text(now);
    return exec_bind(s, diag, "save deployment",
        "INSERT INTO deployments(tenant,workload,provider,service,region,state,state_json,"
        "created_at,updated_at,spec_json,federation) VALUES(?1,?2,?3,?4,?5,?6,'{}',?7,?7,?8,?9)"
        " ON CONFLICT(tenant,workload,provider,region) DO UPDATE SET service=excluded.service,"
        " state=excluded.state, state_json=excluded.state_json,"
        " updated_at=excluded.updated_at,"
        " spec_json=COALESCE(excluded.spec_json, deployments.spec_json),"
        " federation=COALESCE(excluded.federation, deployments.federation)",
        "ttttttttt", tenant, workload, provider, service, region, state, now, spec_json,
        federation);
}

fb_status fb_store_put_resource(fb_store *s, const char *tenant, const char *workload,
                                const char *provider, const char *resource_json,
                                fb_diag *diag)
{
    json_t *r = fbi_json_reads(resource_json, 0, NULL);
    fb_status st = fbi_store_put_resource_fields(s, tenant, workload, provider,
                                                 json_string_value(json_object_get(r, "type")),
                                                 json_string_value(json_object_get(r, "id")),
                                                 json_string_value(json_object_get(r, "region")),
                                                 resource_json, diag);
    json_decref(r);
    return st;
}

fb_status fbi_store_put_resource_fields(fb_store *s, const char *tenant, const char *workload,
                                        const char *provider, const char *type, const char *id,
                                        const char *region, const char *resource_json,
                                        fb_diag *diag)
{
    if (!id) {
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL,
                    "resource record without a string \"id\"", resource_json);
        return FB_INVALID;
    }
    char now[21];
    now_text(now);
    return exec_bind(s, diag, "record resource",
        "INSERT INTO resources(tenant,workload,provider,type,cloud_id,region,resource_json,created_at)"
        " VALUES(?1,?2,?3,?4,?5,?6,?7,?8) ON CONFLICT(provider,type,cloud_id) DO UPDATE SET"
        " tenant=excluded.tenant, workload=excluded.workload, region=excluded.region,"
        " resource_json=excluded.resource_json",
        "tttttttt", tenant, workload, provider, type ? type : "resource", id, region,
        resource_json, now);
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
    long long id;
    char hash[65];
    return fbi_store_audit_append(s, actor, NULL, action, "ok", detail_json, &id, hash, diag);
}

/* Appends "|LEN:TEXT" (len = strlen(f)) at p, room checked by the caller;
 * returns the end. */
static char *put_field(char *p, const char *f, size_t len)
{
    *p++ = '|';
    p = fbi_put_dec(p, len); /* by hand: snprintf was the writer's largest libc cost after its locks */
    *p++ = ':';
    memcpy(p, f, len);
    return p + len;
}

void fbi_audit_row_hash(long long id, const char *at, const char *actor, const char *tenant,
                        const char *action, const char *outcome, const char *detail,
                        const char *prev, char out[65])
{
    /* length-prefixed fields: no two different rows serialise alike.
     * The bytes are "fedbroker-audit/1|ID" then "|LEN:FIELD" for each
     * field (what verify recomputes; the chain's format, unchanged) */
    const char *f[] = {at, actor, tenant ? tenant : "", action, outcome, detail, prev};
    size_t lens[7], n = 64;
    for (size_t i = 0; i < 7; i++) {
        lens[i] = strlen(f[i]);
        n += lens[i] + 24;
    }
    char stack[1024];
    /* a row is a few hundred bytes: no allocation unless the detail is large */
    char *buf = n <= sizeof stack ? stack : fbi_xmalloc(n);
    static const char prefix[] = "fedbroker-audit/1|";
    memcpy(buf, prefix, sizeof prefix - 1);
    char *p = buf + sizeof prefix - 1;
    if (id < 0) *p++ = '-';
    p = fbi_put_dec(p, id < 0 ? 0ULL - (unsigned long long)id : (unsigned long long)id);
    for (size_t i = 0; i < 7; i++) p = put_field(p, f[i], lens[i]);
    fbi_sha256_hex(buf, (size_t)(p - buf), out);
    if (buf != stack) free(buf);
}

fb_status fbi_store_audit_append(fb_store *s, const char *actor, const char *tenant,
                                 const char *action, const char *outcome, const char *detail_json,
                                 long long *id, char hash[65], fb_diag *diag)
{
    fbi_audit_in row = {actor, tenant, action, outcome, detail_json};
    return fbi_store_audit_append_many(s, &row, 1, id, (char(*)[65])hash, diag);
}

fb_status fbi_store_audit_append_many(fb_store *s, const fbi_audit_in *rows, size_t n,
                                      long long *ids, char (*hashes)[65], fb_diag *diag)
{
    char now[21];
    now_text(now); /* one time for the rows of one transaction: they commit together */
    pthread_mutex_lock(&s->mu);
    /* the previous hash and the new rows in one write transaction: two
     * processes appending at once still make one chain. Inside a caller's
     * fb_store_begin (serve's group commit: many rows, one transaction)
     * the rows join that transaction and the caller commits. */
    int own = s->depth == 0;
    if (own && exec_cached(s, "BEGIN IMMEDIATE") != SQLITE_OK) {
        fb_status e = db_error(s, diag, "audit (begin)");
        pthread_mutex_unlock(&s->mu);
        return e;
    }
    char prev[65];
    memset(prev, '0', 64);
    prev[64] = 0;
    long long last = 0;
    /* the chain's head once per call, not per row: the write transaction
     * is held from here to the commit, so no other process appends in
     * between, and each row chains on the one this call added before it */
    sqlite3_stmt *st = prepared(s, "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1", 1);
    int rc = st ? SQLITE_OK : SQLITE_ERROR;
    if (st) {
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            last = sqlite3_column_int64(st, 0);
            const unsigned char *h = sqlite3_column_text(st, 1);
            if (h && strlen((const char *)h) == 64) memcpy(prev, h, 64);
        } else if (step != SQLITE_DONE) {
            rc = SQLITE_ERROR;
        }
        release(s, st);
    }
    /* cached statement, texts bound SQLITE_STATIC (they outlive the step;
     * release() clears the bindings): no copy of each field per row */
    st = rc == SQLITE_OK ? prepared(s,
        "INSERT INTO audit(id, at, actor, tenant, action, outcome, detail_json, prev_hash, hash)"
        " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)", 1) : NULL;
    if (!st) rc = SQLITE_ERROR;
    for (size_t i = 0; rc == SQLITE_OK && i < n; i++) {
        const fbi_audit_in *r = &rows[i];
        const char *detail = r->detail ? r->detail : "{}";
        ids[i] = last + 1 + (long long)i;
        fbi_audit_row_hash(ids[i], now, r->actor, r->tenant, r->action, r->outcome, detail, prev,
                           hashes[i]);
        sqlite3_bind_int64(st, 1, ids[i]);
        sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, r->actor, -1, SQLITE_STATIC);
        if (r->tenant) sqlite3_bind_text(st, 4, r->tenant, -1, SQLITE_STATIC);
        else sqlite3_bind_null(st, 4);
        sqlite3_bind_text(st, 5, r->action, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, r->outcome, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, detail, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, prev, 64, SQLITE_STATIC);
        sqlite3_bind_text(st, 9, hashes[i], 64, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        sqlite3_reset(st);
        memcpy(prev, hashes[i], 65); /* the next row chains on this one */
    }
    if (st) release(s, st);
    fb_status out = FB_OK;
    if (rc != SQLITE_OK || (own && exec_cached(s, "COMMIT") != SQLITE_OK)) {
        out = db_error(s, diag, "audit");
        if (own) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    pthread_mutex_unlock(&s->mu);
    return out;
}

fb_status fbi_store_audit_rows(fb_store *s, char **json, fb_diag *diag)
{
    return query_json_array(s, diag, "read audit",
        "SELECT json_object('id', id, 'at', at, 'actor', actor, 'tenant', tenant, 'action', action,"
        " 'outcome', outcome, 'detail', detail_json, 'prev_hash', prev_hash, 'hash', hash) AS j"
        " FROM audit ORDER BY id", NULL, NULL, json);
}

fb_status fbi_store_put_checkpoint(fb_store *s, long long row_id, const char *row_hash,
                                   long long row_count, const char *public_key,
                                   const char *signature, fb_diag *diag)
{
    char now[21];
    now_text(now);
    return exec_bind(s, diag, "audit checkpoint",
        "INSERT INTO audit_checkpoints(row_id,row_hash,row_count,public_key,signature,at)"
        " VALUES(?1,?2,?3,?4,?5,?6)", "itittt", row_id, row_hash, row_count, public_key, signature, now);
}

fb_status fbi_store_checkpoints(fb_store *s, char **json, fb_diag *diag)
{
    return query_json_array(s, diag, "read audit checkpoints",
        "SELECT json_object('id', id, 'row_id', row_id, 'row_hash', row_hash, 'row_count', row_count,"
        " 'public_key', public_key, 'signature', signature, 'at', at) AS j"
        " FROM audit_checkpoints ORDER BY id", NULL, NULL, json);
}

const char *fbi_store_path(fb_store *s) { return s->path; }

fb_status fbi_store_set_deployment_spec(fb_store *s, const char *tenant, const char *workload,
                                        const char *provider, const char *region,
                                        const char *spec_json, fb_diag *diag)
{
    return exec_bind(s, diag, "save deployment spec",
        "UPDATE deployments SET spec_json=?5 WHERE tenant=?1 AND workload=?2 AND provider=?3"
        " AND region=?4", "ttttt", tenant, workload, provider, region, spec_json);
}

fb_status fbi_store_get_deployment_spec(fb_store *s, const char *tenant, const char *workload,
                                        const char *provider, const char *region,
                                        char **spec_json, fb_diag *diag)
{
    const char *binds[] = {tenant, workload, provider, region};
    return query_text_v(s, diag, "read deployment spec",
        "SELECT spec_json FROM deployments WHERE tenant=?1 AND workload=?2 AND provider=?3"
        " AND region=?4 AND spec_json IS NOT NULL", 1, binds, 4, spec_json);
}

fb_status fbi_store_set_deployment_callers(fb_store *s, const char *tenant, const char *workload,
                                           const char *provider, const char *region,
                                           const char *callers_json, fb_diag *diag)
{
    return exec_bind(s, diag, "save deployment callers",
        "UPDATE deployments SET identity_callers=?5 WHERE tenant=?1 AND workload=?2"
        " AND provider=?3 AND region=?4", "ttttt", tenant, workload, provider, region, callers_json);
}

fb_status fbi_store_get_deployment_callers(fb_store *s, const char *tenant, const char *workload,
                                           const char *provider, const char *region,
                                           char **callers_json, fb_diag *diag)
{
    const char *binds[] = {tenant, workload, provider, region};
    return query_text_v(s, diag, "read deployment callers",
        "SELECT identity_callers FROM deployments WHERE tenant=?1 AND workload=?2 AND provider=?3"
        " AND region=?4 AND identity_callers IS NOT NULL", 1, binds, 4, callers_json);
}

fb_status fbi_store_resource_owner(fb_store *s, const char *provider, const char *type,
                                   const char *cloud_id, char **json, fb_diag *diag)
{
    const char *binds[] = {provider, type, cloud_id};
    /* a deployment of the same provider must hold it: a record whose
     * deployment is gone names no running workload */
    return query_text_v(s, diag, "find a resource's workload",
        "SELECT json_object('tenant', r.tenant, 'workload', r.workload, 'region', d.region,"
        " 'service', d.service) FROM resources r JOIN deployments d ON d.tenant=r.tenant"
        " AND d.workload=r.workload AND d.provider=r.provider"
        " WHERE r.provider=?1 AND r.type=?2 AND r.cloud_id=?3 ORDER BY d.region LIMIT 1", 1, binds, 3, json);
}

fb_status fbi_store_set_deployment_phase(fb_store *s, const char *tenant, const char *workload,
                                         const char *provider, const char *region,
                                         const char *phase, fb_diag *diag)
{
    char now[21];
    now_text(now);
    return exec_bind(s, diag, "save deployment",
        "UPDATE deployments SET state=?5, updated_at=?6 WHERE tenant=?1 AND workload=?2"
        " AND provider=?3 AND region=?4", "tttttt", tenant, workload, provider, region, phase, now);
}

fb_status fbi_store_journal_resolve(fb_store *s, long long id, const char *phase,
                                    const char *resolution_json, fb_diag *diag)
{
    char now[21];
    now_text(now);
    return exec_bind(s, diag, "journal resolution",
        "UPDATE journal SET ended_at=?1, phase=?2,"
        " detail_json=json_set(detail_json, '$.resolution', json(?3))"
        " WHERE id=?4 AND phase='intent'", "ttti", now, phase, resolution_json, id);
}

fb_status fbi_store_journal_supersede(fb_store *s, const char *tenant, const char *workload,
                                      const char *provider, const char *region, long long by_id,
                                      const char *outcome, const char *reason, fb_diag *diag)
{
    char now[21];
    now_text(now);
    /* an apply's intent names its region in its placement, a destroy's in
     * "region"; rows written before either did match any region */
    return exec_bind(s, diag, "journal resolution",
        "UPDATE journal SET ended_at=?1, phase='failed', detail_json=json_set(detail_json,"
        " '$.resolution', json_object('outcome', ?7, 'reason', ?8, 'by', ?6))"
        " WHERE phase='intent' AND id < ?6 AND tenant=?2 AND workload=?3 AND provider=?4"
        " AND COALESCE(json_extract(detail_json, '$.placement.region'),"
        "              json_extract(detail_json, '$.region'), ?5) = ?5",
        "tttttitt", now, tenant, workload, provider, region, by_id, outcome, reason);
}

/* ---- plan-driven apply (schema 3) ---------------------------------------- */

fb_status fbi_store_serial(fb_store *s, long long *serial, fb_diag *diag)
{
    char *t = NULL;
    fb_status st = query_text(s, diag, "read state serial",
                              "SELECT value FROM meta WHERE key='state_serial'", NULL, NULL, &t);
    *serial = t ? atoll(t) : 0;
    free(t);
    return st;
}

fb_status fbi_store_bump_serial(fb_store *s, long long *serial, fb_diag *diag)
{
    long long got = 0;
    fb_status st = exec_returning(s, diag, "bump state serial", &got, 0,
        "UPDATE meta SET value = value + 1 WHERE key='state_serial' RETURNING value", "");
    if (st == FB_OK && serial) *serial = got;
    return st;
}

fb_status fbi_store_get_plan(fb_store *s, long long id, char **plan_json, fb_diag *diag)
{
    char idt[24];
    snprintf(idt, sizeof idt, "%lld", id);
    return query_text(s, diag, "read plan", "SELECT plan_json FROM plans WHERE id=CAST(?1 AS INTEGER)",
                      idt, NULL, plan_json);
}

fb_status fbi_store_list_plans(fb_store *s, char **json, fb_diag *diag)
{
    return query_json_array(s, diag, "list plans",
        "SELECT json_object('id', id, 'created_at', created_at, 'total_micro_usd', total_micro_usd,"
        " 'status', json_extract(plan_json, '$.status'),"
        " 'workloads', json_array_length(plan_json, '$.workloads'),"
        " 'state_serial', json_extract(plan_json, '$.state_serial'),"
        " 'changes', json_extract(plan_json, '$.change_summary')) AS j"
        " FROM plans ORDER BY id", NULL, NULL, json);
}

fb_status fbi_store_set_deployment_federation(fb_store *s, const char *tenant, const char *workload,
                                              const char *provider, const char *region,
                                              const char *federation, fb_diag *diag)
{
    return exec_bind(s, diag, "set deployment federation",
        "UPDATE deployments SET federation=?5 WHERE tenant=?1 AND workload=?2 AND provider=?3"
        " AND region=?4", "ttttt", tenant, workload, provider, region, federation);
}

fb_status fbi_store_put_endpoint(fb_store *s, const char *tenant, const char *workload,
                                 const char *provider, const char *region, const char *url,
                                 const char *kind, fb_diag *diag)
{
    int64_t now;
    fbi_now(&now, NULL);
    fbi_endpoint_key k = {tenant, workload, provider, region, NULL};
    return fbi_store_report_endpoint(s, &k, url, kind, "apply", 0, 0, now, diag);
}

/* The key's instance: NULL is the deployment's own row (''). */
static const char *key_instance(const fbi_endpoint_key *k)
{
    return k->instance ? k->instance : "";
}

fb_status fbi_store_report_endpoint(fb_store *s, const fbi_endpoint_key *k, const char *url,
                                    const char *kind, const char *source, int64_t lease_s,
                                    int private_addr, int64_t now, fb_diag *diag)
{
    char nowt[21];
    fbi_format_rfc3339(now, nowt);
    const char *colon = strstr(url, "://");
    char proto[16] = "";
    if (colon && (size_t)(colon - url) < sizeof proto) {
        memcpy(proto, url, (size_t)(colon - url));
        proto[colon - url] = 0;
    } else {
        snprintf(proto, sizeof proto, "%s", kind);
    }
    /* a report refreshes the lease and clears staleness; a changed url is
     * another server, so what the probes knew of the old one is dropped */
    return exec_bind(s, diag, "record endpoint",
        "INSERT INTO endpoints(tenant,workload,provider,region,url,kind,updated_at,observed_at,"
        " protocol,source,lease_seconds,reported_at,instance,private)"
        " VALUES(?1,?2,?3,?4,?5,?6,?7,?7,?8,?9,MAX(?10,0),?11,?12,?13)"
        " ON CONFLICT(tenant,workload,provider,region,instance) DO UPDATE"
        " SET health=CASE WHEN url=excluded.url THEN health ELSE 'unknown' END,"
        " health_detail=CASE WHEN url=excluded.url THEN health_detail ELSE NULL END,"
        " failures=CASE WHEN url=excluded.url THEN failures ELSE 0 END,"
        " next_probe_at=CASE WHEN url=excluded.url THEN next_probe_at ELSE 0 END,"
        " url=excluded.url, kind=excluded.kind, updated_at=excluded.updated_at,"
        " observed_at=excluded.observed_at, protocol=excluded.protocol,"
        " source=CASE WHEN ?10 < 0 THEN source ELSE excluded.source END,"
        " lease_seconds=CASE WHEN ?10 < 0 THEN lease_seconds ELSE ?10 END,"
        " reported_at=excluded.reported_at, stale_since=NULL,"
        " private=CASE WHEN ?10 < 0 THEN private ELSE excluded.private END",
        "ttttttttti" "iti", k->tenant, k->workload, k->provider, k->region, url, kind, nowt, proto,
        source, (long long)lease_s, (long long)now, key_instance(k), (long long)(private_addr != 0));
}

fb_status fbi_store_set_endpoint_health(fb_store *s, const fbi_endpoint_key *k,
                                        const char *health, const char *detail,
                                        int64_t failures, int64_t checked_at,
                                        int64_t next_probe_at, fb_diag *diag)
{
    return exec_bind(s, diag, "record endpoint health",
        "UPDATE endpoints SET health=?5, health_detail=?6, failures=?7, checked_at=?8,"
        " next_probe_at=?9 WHERE tenant=?1 AND workload=?2 AND provider=?3 AND region=?4"
        " AND instance=?10",
        "ttttttiiit", k->tenant, k->workload, k->provider, k->region, health, detail,
        (long long)failures, (long long)checked_at, (long long)next_probe_at, key_instance(k));
}

fb_status fbi_store_set_endpoint_stale(fb_store *s, const fbi_endpoint_key *k,
                                       int64_t stale_since, fb_diag *diag)
{
    return exec_bind(s, diag, "mark endpoint stale",
        "UPDATE endpoints SET stale_since=?5 WHERE tenant=?1 AND workload=?2 AND provider=?3"
        " AND region=?4 AND instance=?6 AND stale_since IS NULL",
        "ttttit", k->tenant, k->workload, k->provider, k->region, (long long)stale_since,
        key_instance(k));
}

fb_status fbi_store_forget_endpoint(fb_store *s, const fbi_endpoint_key *k, fb_diag *diag)
{
    return exec_bind(s, diag, "delete endpoint",
        "DELETE FROM endpoints WHERE tenant=?1 AND workload=?2 AND provider=?3 AND region=?4"
        " AND instance=?5",
        "ttttt", k->tenant, k->workload, k->provider, k->region, key_instance(k));
}

fb_status fbi_store_delete_endpoint(fb_store *s, const char *tenant, const char *workload,
                                    const char *provider, const char *region, fb_diag *diag)
{
    /* every row of the deployment: its front and the instances sources
     * reported for it */
    return exec_bind(s, diag, "delete endpoint",
        "DELETE FROM endpoints WHERE tenant=?1 AND workload=?2 AND provider=?3 AND region=?4",
        "tttt", tenant, workload, provider, region);
}

/* One endpoint row as a JSON object (the columns of schema 5; reported_at
 * of a row older than schema 5 is its observed_at). */
#define ENDPOINT_JSON \
    "json_object('tenant', e.tenant, 'workload', e.workload, 'provider', e.provider," \
    " 'region', e.region, 'url', e.url, 'kind', e.kind, 'protocol', e.protocol," \
    " 'observed_at', COALESCE(e.observed_at, e.updated_at), 'health', e.health," \
    " 'health_detail', e.health_detail, 'checked_at', e.checked_at, 'failures', e.failures," \
    " 'next_probe_at', e.next_probe_at, 'source', e.source, 'lease_seconds', e.lease_seconds," \
    " 'reported_at', COALESCE(e.reported_at," \
    "   CAST(strftime('%s', COALESCE(e.observed_at, e.updated_at)) AS INTEGER))," \
    " 'stale_since', e.stale_since, 'instance', e.instance, 'private', json(CASE WHEN e.private" \
    "   THEN 'true' ELSE 'false' END)"

fb_status fbi_store_list_endpoints(fb_store *s, const char *tenant, char **json, fb_diag *diag)
{
    return query_json_array(s, diag, "list endpoints",
        "SELECT " ENDPOINT_JSON ") AS j FROM endpoints e"
        " WHERE (?1 IS NULL OR e.tenant=?1) ORDER BY e.tenant, e.workload, e.provider, e.region, e.instance",
        tenant, NULL, json);
}

fb_status fbi_store_endpoint_rows(fb_store *s, const char *tenant, const char *workload,
                                  char **json, fb_diag *diag)
{
    /* query_json_array's wrapping, written out, so each form is a literal
     * the statement cache keeps (preparing this statement was a fifth of
     * a resolve cache miss) */
#define ENDPOINT_ROWS(where) \
    "SELECT COALESCE(json_group_array(json(j)), '[]') FROM (" \
    "SELECT " ENDPOINT_JSON ", 'spec', json(w.spec_json)) AS j FROM endpoints e" \
    " LEFT JOIN workloads w ON w.tenant=e.tenant AND w.name=e.workload WHERE " where \
    " ORDER BY e.tenant, e.workload, e.provider, e.region, e.instance)"
    /* SQLite uses no index for "(?1 IS NULL OR e.tenant=?1)": with a
     * tenant (and a workload) given, the WHERE names them plainly, so the
     * rows come from the primary key (tenant, workload, ...) instead of a
     * scan of the whole table. serve's resolve runs this on every answer
     * cache miss: with 10,000 rows, 1.7 ms against 0.015 ms (bench/README-serve.md,
     * "Stop 25: serve16") */
    const char *sql = tenant && workload ? ENDPOINT_ROWS("e.tenant=?1 AND e.workload=?2")
                    : tenant             ? ENDPOINT_ROWS("e.tenant=?1")
                                         : ENDPOINT_ROWS("(?1 IS NULL OR e.tenant=?1) AND (?2 IS NULL OR e.workload=?2)");
#undef ENDPOINT_ROWS
    return query_text(s, diag, "list endpoints", sql, tenant, workload, json);
}

fb_status fbi_store_list_federation(fb_store *s, const char *federation, char **json,
                                    fb_diag *diag)
{
    return query_json_array(s, diag, "list federation",
        "SELECT json_object('tenant', tenant, 'workload', workload, 'provider', provider,"
        " 'region', region) AS j FROM deployments WHERE federation=?1"
        " ORDER BY tenant, workload, provider, region", federation, NULL, json);
}

/* ---- signing keys and sealed secrets (core/identity/) ---- */

fb_status fbi_store_key_put(fb_store *s, const char *kid, const char *alg, const char *state,
                            const char *public_jwk, const char *sealed_private,
                            long long created_at, fb_diag *diag)
{
    return exec_bind(s, diag, "save signing key",
        "INSERT INTO signing_keys(kid,alg,state,public_jwk,sealed_private,created_at,activated_at)"
        " VALUES(?1,?2,?3,?4,?5,?6,CASE WHEN ?3='current' THEN ?6 END)",
        "ttttti", kid, alg, state, public_jwk, sealed_private, created_at);
}

fb_status fbi_store_key_set_state(fb_store *s, const char *kid, const char *state, long long at,
                                  long long unpublish_at, fb_diag *diag)
{
    return exec_bind(s, diag, "update signing key",
        "UPDATE signing_keys SET state=?2,"
        " activated_at=CASE WHEN ?2='current' THEN ?3 ELSE activated_at END,"
        " retired_at=CASE WHEN ?2='retired' THEN ?3 ELSE retired_at END,"
        " unpublish_at=CASE WHEN ?2='retired' THEN ?4 ELSE unpublish_at END WHERE kid=?1",
        "ttii", kid, state, at, unpublish_at);
}

fb_status fbi_store_key_delete_unpublished(fb_store *s, long long now, fb_diag *diag)
{
    return exec_bind(s, diag, "delete expired signing keys",
        "DELETE FROM signing_keys WHERE state='retired' AND unpublish_at <= ?1", "i", now);
}

fb_status fbi_store_key_list(fb_store *s, char **json, fb_diag *diag)
{
    return query_json_array(s, diag, "read signing keys",
        "SELECT json_object('kid', kid, 'alg', alg, 'state', state, 'jwk', json(public_jwk),"
        " 'sealed', sealed_private, 'created_at', created_at, 'activated_at', activated_at,"
        " 'retired_at', retired_at, 'unpublish_at', unpublish_at) AS j"
        " FROM signing_keys ORDER BY created_at, kid", NULL, NULL, json);
}

fb_status fbi_store_secret_put(fb_store *s, const char *tenant, const char *name,
                               long long version, const char *sealed, fb_diag *diag)
{
    char now[21];
    now_text(now);
    return exec_bind(s, diag, "save secret",
        "INSERT INTO secrets(tenant,name,version,sealed,created_at) VALUES(?1,?2,?3,?4,?5)",
        "ttitt", tenant, name, version, sealed, now);
}

fb_status fbi_store_secret_list(fb_store *s, const char *tenant, const char *name, char **json,
                                fb_diag *diag)
{
    return query_json_array(s, diag, "read secrets",
        "SELECT json_object('tenant', tenant, 'name', name, 'version', version,"
        " 'sealed', sealed, 'created_at', created_at) AS j FROM secrets"
        " WHERE (?1 IS NULL OR tenant=?1) AND (?2 IS NULL OR name=?2)"
        " ORDER BY tenant, name, version", tenant, name, json);
}

fb_status fbi_store_secret_delete(fb_store *s, const char *tenant, const char *name,
                                  long long *removed, fb_diag *diag)
{
    char *n = NULL;
    fb_status st = query_text(s, diag, "count secret versions",
                              "SELECT COUNT(*) FROM secrets WHERE tenant=?1 AND name=?2",
                              tenant, name, &n);
    *removed = n ? atoll(n) : 0;
    free(n);
    if (st != FB_OK) return st;
    return exec_bind(s, diag, "delete secret", "DELETE FROM secrets WHERE tenant=?1 AND name=?2",
                     "tt", tenant, name);
}

/* ---- API tokens (schema 6) ---------------------------------------------- */

fb_status fbi_store_put_token(fb_store *s, const char *id, const char *hash, const char *tenant,
                              const char *role, int64_t created_at, int64_t expires_at,
                              fb_diag *diag)
{
    return exec_bind(s, diag, "save token",
        "INSERT INTO api_tokens(id,hash,tenant,role,created_at,expires_at)"
        " VALUES(?1,?2,?3,?4,?5,NULLIF(?6,0))",
        "ttttii", id, hash, tenant, role, (long long)created_at, (long long)expires_at);
}

fb_status fbi_store_token_by_hash(fb_store *s, const char *hash, char **json, fb_diag *diag)
{
    return query_json_array(s, diag, "find token",
        "SELECT json_object('id', id, 'hash', hash, 'tenant', tenant, 'role', role,"
        " 'created_at', created_at, 'expires_at', expires_at, 'revoked_at', revoked_at) AS j"
        " FROM api_tokens WHERE hash=?1", hash, NULL, json);
}

fb_status fbi_store_list_tokens(fb_store *s, const char *tenant, char **json, fb_diag *diag)
{
    return query_json_array(s, diag, "list tokens",
        "SELECT json_object('id', id, 'tenant', tenant, 'role', role, 'created_at', created_at,"
        " 'expires_at', expires_at, 'revoked_at', revoked_at, 'last_used_at', last_used_at) AS j"
        " FROM api_tokens WHERE (?1 IS NULL OR tenant=?1) ORDER BY created_at, id", tenant, NULL, json);
}

fb_status fbi_store_revoke_token(fb_store *s, const char *id, int64_t now, int *found,
                                 fb_diag *diag)
{
    char *text = NULL;
    fb_status st = query_json_array(s, diag, "find token",
        "SELECT json_object('id', id) AS j FROM api_tokens WHERE id=?1", id, NULL, &text);
    if (st != FB_OK) return st;
    *found = text && strcmp(text, "[]") != 0;
    free(text);
    if (!*found) return FB_OK;
    return exec_bind(s, diag, "revoke token",
        "UPDATE api_tokens SET revoked_at=COALESCE(revoked_at, ?2) WHERE id=?1", "ti", id,
        (long long)now);
}
