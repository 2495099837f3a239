/* server.c - `fedbroker serve` (server.h): libmicrohttpd with its own
 * limits doing the slowloris work (connection limit, idle timeout, a
 * per-connection memory pool that bounds the header size), the routes of
 * /v1, bearer authentication, roles, tenant scoping and per-token rate
 * limits. Every query takes the token's tenant: another tenant's names are
 * simply not found (404), never forbidden (403), so they leak nothing. */
#include "config.h"
#include "server/server.h"
#include "server/token.h"
#include "server/audit.h"
#include "server/auditq.h"
#include "server/ttlcache.h"
#include "server/ops.h"
#include "server/v1.h"
#include "server/reconcile.h"
#include "server/wltoken.h"
#include "server/reqlog.h"
#include "base/map.h"
#include "base/util.h"
#include "discovery/discovery.h"
#include "http/http.h"
#include "identity/identity.h"
#include "state/state.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct bucket {
    char *id; /* owned; the key of server.bucket_index */
    double tokens, last;
} bucket;

/* How long a verified token is trusted without asking the store again:
 * a revocation (or a revocation by another process) takes effect within
 * this; expiry is still checked on every request. */
#define TOKEN_CACHE_MS 5000
#define TOKEN_CACHE_MAX 4096
/* Resolve answers: kept for the second they were computed in (their
 * stale_seconds are whole seconds) and while the store is unchanged. */
#define ANSWER_CACHE_MAX 4096
#define SERVE_CHECKPOINT_PAGES 100 /* the audit writer's WAL checkpoint size (see fbi_server_start) */

/* Prometheus counters: requests by route class and status, their time,
 * resolve answers. Route classes carry no names (nothing of a tenant). */
static const char *const ROUTES[] = {"healthz", "readyz", "endpoints", "resolve", "deployments",
                                     "tokens", "metrics", "drivers", "specs", "plans", "operations",
                                     "identity_token", "other"};
#define NROUTES (sizeof ROUTES / sizeof *ROUTES)
static const unsigned CODES[] = {200, 201, 202, 400, 401, 403, 404, 405, 413, 429, 500, 503};
#define NCODES (sizeof CODES / sizeof *CODES)

/* Upper bounds (seconds) of fedbroker_http_request_duration_seconds:
 * fine below 1 ms, where the benchmark's target is (bench/README-serve.md) */
static const double DURATION_LE[] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1};
#define NDURATION (sizeof DURATION_LE / sizeof *DURATION_LE)

typedef struct metrics {
    atomic_ulong requests[NROUTES][NCODES + 1]; /* last column: any other status */
    atomic_ulong usec[NROUTES];
    /* not cumulative: [i] counts le[i-1] < d <= le[i]; [NDURATION]: above the last */
    atomic_ulong duration[NROUTES][NDURATION + 1];
    atomic_ulong resolve_found, resolve_not_found, resolve_invalid;
    atomic_ulong token_cache_hits, answer_cache_hits;
} metrics;

static size_t route_class(const char *url)
{
    static const char *const prefix[] = {"/v1/healthz", "/v1/readyz", "/v1/endpoints", "/v1/resolve/",
                                         "/v1/deployments", "/v1/tokens", "/metrics", "/v1/drivers",
                                         "/v1/specs", "/v1/plans", "/v1/operations/", "/v1/identity/token"};
    for (size_t i = 0; i < sizeof prefix / sizeof *prefix; i++)
        if (strncmp(url, prefix[i], strlen(prefix[i])) == 0) return i;
    return NROUTES - 1;
}

typedef struct fbi_server server;
struct fbi_server {
    metrics m;
    fbi_auditor *audit;
    fb_store *store;  /* the caller's: the audit writer's connection (writes) */
    fb_store *rstore; /* a second connection to the same file for the request
                         threads' reads: in WAL mode they never wait for the
                         audit writer's transactions */
    const fbi_catalog *cat;
    const fbi_serve_opts *o;
    pthread_mutex_t mu; /* buckets */
    bucket *buckets;
    fbi_smap bucket_index; /* token id -> position in buckets */
    size_t nbuckets, cap;
    atomic_ulong seq;
    atomic_size_t body_bytes; /* request bodies held now, all connections */
    fbi_auditq *aq;          /* group commit of audit rows */
    fbi_ttlcache *tokens;    /* keyed hash of a token -> fbi_principal */
    unsigned char token_key[crypto_generichash_KEYBYTES]; /* random: the token cache's hash key */
    fbi_ttlcache *answers;   /* tenant, name, from, all -> resolve answer text */
    pthread_mutex_t dv_mu;   /* dv_stmt, when the connection has no mutex of its own */
    sqlite3_stmt *dv_stmt;   /* PRAGMA data_version: other processes' commits */
    atomic_uint_least64_t dv_seen; /* the last value read: (mono ms << 24) | value */
    atomic_ulong local_gen;  /* this process's own changes to what answers depend on */
    struct MHD_Daemon *daemon;
    char *cert, *key;
    fbi_v1_env v1;           /* specs, plans, operations, drivers (v1.h) */
    fbi_reconciler *rec;     /* --reconcile, or NULL */
    fbi_wltoken *wlt;        /* POST /v1/identity/token when the broker is an issuer, or NULL */
    fbi_reqlog *rlog;        /* the request log's buffer and flusher, or NULL: lines written directly */
    char *home;
};

typedef struct request {
    char id[32]; /* "req-" and up to 20 digits */
    double t0;
    size_t body_len;
    int too_big;
    int over_budget; /* the bodies of all connections together hit --max-body-total */
    char *body;
} request;

static double mono_s(void) { return fbi_mono_ms() / 1000.0; }

/* Token bucket per token id. 0 = allowed, else the seconds to wait. */
static unsigned rate_wait(server *sv, const char *id)
{
    pthread_mutex_lock(&sv->mu);
    bucket *b = NULL;
    size_t at;
    if (fbi_smap_get(&sv->bucket_index, id, &at)) b = &sv->buckets[at];
    double now = mono_s();
    if (!b) {
        /* one bucket per valid token id: bounded by the tokens in the store */
        if (sv->nbuckets == sv->cap) {
            sv->cap = sv->cap ? sv->cap * 2 : 64;
            sv->buckets = realloc(sv->buckets, sv->cap * sizeof *sv->buckets);
            if (!sv->buckets) abort();
        }
        b = &sv->buckets[sv->nbuckets];
        b->id = fbi_xstrdup(id);
        fbi_smap_put(&sv->bucket_index, b->id, sv->nbuckets++, NULL);
        b->tokens = sv->o->burst;
        b->last = now;
    }
    b->tokens = fmin(sv->o->burst, b->tokens + (now - b->last) * sv->o->rate);
    b->last = now;
    unsigned wait = 0;
    if (b->tokens >= 1) b->tokens -= 1;
    else wait = (unsigned)ceil((1 - b->tokens) / sv->o->rate);
    pthread_mutex_unlock(&sv->mu);
    return wait;
}

/* One line to the request log (reqlog.h: buffered, written by its
 * flusher thread), or straight to the stream when there is no flusher.
 * line borrowed. */
static void log_write(server *sv, const char *line, size_t n)
{
    if (sv->rlog) {
        fbi_reqlog_line(sv->rlog, line, n);
    } else {
        FILE *f = sv->o->log ? sv->o->log : stderr;
        fwrite(line, 1, n, f); /* one stdio call: whole, under the FILE's lock */
    }
}

static void log_line(server *sv, const request *rq, const char *method, const char *url,
                     unsigned status, const char *who, const char *tenant)
{
    double ms = (mono_s() - rq->t0) * 1000.0;
    /* no lock of ours is held while formatting (it used to be the rate
     * limiter's, and a thread preempted while writing stalled the others'
     * rate checks); the line goes to the buffer whole */
    if (sv->o->log_json) {
        json_t *j = json_pack("{s:s,s:s,s:s,s:i,s:f,s:s?,s:s?}", "request_id", rq->id, "method", method,
                              "path", url, "status", (int)status, "ms", round(ms * 1000) / 1000,
                              "token_id", who, "tenant", tenant);
        char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
        char *line = fbi_xasprintf("%s\n", s ? s : "{\"error\":\"unencodable log line\"}");
        log_write(sv, line, strlen(line));
        free(line);
        free(s);
        json_decref(j);
    } else {
        /* "ID METHOD PATH STATUS MS.mmmms WHO\n", built by hand when it
         * fits (snprintf's format parsing and %.3f were most of a cached
         * answer's user-space formatting; bench/README-serve.md, "Stop 25") */
        const char *f[] = {rq->id, method, url, who ? who : "-"};
        size_t len[4], total = 64; /* status, milliseconds, spaces, "ms\n" */
        for (int i = 0; i < 4; i++) total += len[i] = strlen(f[i]);
        char small[512];
        if (total <= sizeof small && ms >= 0 && ms < 1e12) {
            unsigned long long us = (unsigned long long)(ms * 1000.0 + 0.5);
            char *p = small;
            for (int i = 0; i < 3; i++) {
                memcpy(p, f[i], len[i]);
                p += len[i];
                *p++ = ' ';
            }
            p = fbi_put_dec(p, status);
            *p++ = ' ';
            p = fbi_put_dec(p, us / 1000);
            *p++ = '.';
            *p++ = (char)('0' + us / 100 % 10);
            *p++ = (char)('0' + us / 10 % 10);
            *p++ = (char)('0' + us % 10);
            memcpy(p, "ms ", 3);
            p += 3;
            memcpy(p, f[3], len[3]);
            p += len[3];
            *p++ = '\n';
            log_write(sv, small, (size_t)(p - small));
        } else { /* a long path */
            char *line = fbi_xasprintf("%s %s %s %u %.3fms %s\n", rq->id, method, url, status, ms, who ? who : "-");
            log_write(sv, line, strlen(line));
            free(line);
        }
    }
}

/* Sends body (taken), or when raw (taken) is not NULL that JSON text;
 * *status becomes 500 when the body cannot be encoded. */
static enum MHD_Result send_json(struct MHD_Connection *c, unsigned *status, json_t *body, char *raw,
                                 const request *rq, const char *hname, const char *hval)
{
    char *text = raw ? raw : body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) {
        *status = 500;
        text = fbi_xstrdup("{\"error\":{\"code\":\"internal\",\"message\":\"the answer could not be encoded\"}}");
    }
    size_t n = strlen(text);
    text = realloc(text, n + 2);
    if (!text) abort();
    text[n] = '\n';
    text[n + 1] = 0;
    struct MHD_Response *r = MHD_create_response_from_buffer(n + 1, text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "X-Request-Id", rq->id);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (hname) MHD_add_response_header(r, hname, hval);
    enum MHD_Result ret = MHD_queue_response(c, *status, r);
    MHD_destroy_response(r);
    return ret;
}

static json_t *err_body(const char *code, const char *message)
{
    return fbi_v1_error(code, message);
}

static json_t *parse_rows(char *text)
{
    json_t *j = json_loads(text ? text : "[]", 0, NULL);
    free(text);
    return j ? j : json_array();
}

/* How far behind another process's commit a cached resolve answer may be
 * while the audit writer holds the store's connection (see data_version) */
#define DV_LAG_MAX_MS 1000
/* A value read within this many milliseconds is reused without reading:
 * an answer may lag another process's commit by less than this */
#define DV_FRESH_MS 1

/* The store's data_version (low 24 bits) into *out: 1, or 0 when it
 * cannot be read. The statement lives on the audit writer's connection
 * (its own commits do not move it: audit rows change no answer), and the
 * writer holds that connection's mutex for each statement of its batches;
 * at nice +5 on a busy machine it may be preempted there, or be in a
 * checkpoint's fsync, for tens of milliseconds. A request does not wait
 * for it (that was the largest stall inside serve's handler,
 * bench/README-serve.md): when the mutex is taken it uses the value last
 * read, if younger than DV_LAG_MAX_MS, and waits only past that. So an
 * answer may lag another process's commit by as long as the writer holds
 * the connection, at most DV_LAG_MAX_MS; with the connection free (no
 * audit batch being written) by less than DV_FRESH_MS, as a value is read
 * at most once per millisecond for all request threads. */
static int data_version(server *sv, uint64_t *out)
{
    sqlite3_mutex *m = sqlite3_db_mutex(fbi_store_db(sv->store));
    uint64_t t = (uint64_t)fbi_mono_ms();
    uint64_t seen = atomic_load(&sv->dv_seen);
    if (seen && t - (seen >> 24) < DV_FRESH_MS) {
        /* read in this millisecond already: stepping the pragma is a read
         * transaction, two fcntl(2) locks on the WAL index and the
         * connection's mutex, which at 40,000 requests a second were a
         * third of a cached answer's system calls */
        *out = seen & 0xffffff;
        return 1;
    }
    if (m) {
        if (sqlite3_mutex_try(m) != SQLITE_OK) {
            if (seen && t - (seen >> 24) < DV_LAG_MAX_MS) {
                *out = seen & 0xffffff;
                return 1;
            }
            sqlite3_mutex_enter(m);
        }
    } else {
        pthread_mutex_lock(&sv->dv_mu); /* not a serialized connection: our own lock */
    }
    int got = 0;
    if (sqlite3_step(sv->dv_stmt) == SQLITE_ROW) {
        *out = (uint64_t)sqlite3_column_int64(sv->dv_stmt, 0) & 0xffffff;
        got = 1;
    }
    sqlite3_reset(sv->dv_stmt);
    if (m) sqlite3_mutex_leave(m);
    else pthread_mutex_unlock(&sv->dv_mu);
    if (got) atomic_store(&sv->dv_seen, (t << 24) | *out);
    return got;
}

/* What resolve answers depend on, as one number: the store's
 * data_version (moves when another process commits: apply, observe,
 * probe, token revoke), this process's own changes, and the second
 * (stale_seconds). 0 when it cannot be read: no caching then. */
static uint64_t answers_validator(server *sv, int64_t now)
{
    uint64_t dv;
    if (!sv->dv_stmt || !data_version(sv, &dv)) return 0;
    uint64_t v = 1469598103934665603ull;
    uint64_t parts[] = {dv, (uint64_t)atomic_load(&sv->local_gen), (uint64_t)now};
    for (size_t i = 0; i < 3; i++) v = (v ^ parts[i]) * 1099511628211ull;
    return v | 1;
}

/* GET /v1/resolve/NAME: from the answer cache when the store has not
 * changed this second, else from the table (fbi_discovery_resolve). */
static void resolve_route(server *sv, struct MHD_Connection *c, const char *name,
                          const fbi_principal *who, unsigned *status, json_t **body, char **text,
                          fb_diag *d)
{
    int64_t now;
    fbi_now(&now, NULL);
    const char *from = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "from");
    int all = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "all") != NULL;
    uint64_t ver = answers_validator(sv, now);
    /* tenant, name, from, all: joined by hand (an asprintf per answer) */
    const char *kf[] = {who->tenant, name, from ? from : ""};
    size_t kl[3], kn = 3;
    for (int i = 0; i < 3; i++) kn += (kl[i] = strlen(kf[i])) + 1;
    char *key = fbi_xmalloc(kn), *kp = key;
    for (int i = 0; i < 3; i++) {
        memcpy(kp, kf[i], kl[i]);
        kp += kl[i];
        *kp++ = '\x1f';
    }
    *kp++ = all ? '1' : '0';
    *kp = '\0';
    double t = fbi_mono_ms();
    if (ver && (*text = fbi_ttlcache_get(sv->answers, key, ver, (int64_t)t, NULL))) {
        atomic_fetch_add(&sv->m.answer_cache_hits, 1);
        atomic_fetch_add(&sv->m.resolve_found, 1);
        free(key);
        return;
    }
    fbi_resolve_query q = {.name = name, .tenant = who->tenant, .now = now, .from_location = from,
                           .all = all};
    json_t *out = NULL;
    fb_status st = fbi_discovery_resolve(sv->rstore, sv->cat, &q, &out, d);
    atomic_fetch_add(st == FB_OK ? &sv->m.resolve_found : st == FB_NOTFOUND ? &sv->m.resolve_not_found
                                                               : &sv->m.resolve_invalid, 1);
    if (st == FB_NOTFOUND) {
        *status = 404;
        *body = err_body("not_found", "no such workload");
    } else if (st == FB_INVALID) {
        *status = 400;
        *body = err_body("invalid", fb_diag_count(d) ? fb_diag_summary(d, 0) : "invalid query");
    } else if (st != FB_OK) {
        *status = 500;
        *body = err_body("internal", "the state store failed; see the server log");
        fb_diag_print(d, stderr);
    } else {
        /* found answers only: a 404 must not outlive the name's arrival */
        *text = out ? json_dumps(out, JSON_COMPACT) : NULL;
        json_decref(out);
        if (!*text) {
            *status = 500;
            *body = err_body("internal", "the answer could not be encoded");
        } else if (ver) fbi_ttlcache_put(sv->answers, key, *text, strlen(*text), ver, (int64_t)t + 1000);
    }
    free(key);
}

enum { R_ADMIN = FBI_R_ADMIN, R_DEPLOYER = FBI_R_DEPLOYER, R_VIEWER = FBI_R_VIEWER };

static const char *query_arg(void *cls, const char *name)
{
    return MHD_lookup_connection_value(cls, MHD_GET_ARGUMENT_KIND, name);
}

/* The routes behind authentication. status and body out; or *raw (new,
 * JSON text) instead of body for a cached answer. */
static void route(server *sv, struct MHD_Connection *c, const char *method, const char *url,
                  const request *rq, const fbi_principal *who, unsigned *status, json_t **body,
                  char **raw, const char **ctype)
{
    fbi_v1_req vr = {.method = method, .url = url, .body = rq->body, .body_len = rq->body_len,
                     .content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type"),
                     .arg = query_arg, .arg_cls = c, .who = who};
    fbi_v1_resp out;
    if (fbi_v1_route(&sv->v1, &vr, &out)) {
        *status = out.status;
        *body = out.body;
        if (out.text) {
            *raw = out.text;
            *ctype = out.content_type;
        }
        return;
    }
    if (strcmp(method, "GET") != 0 && strcmp(url, "/metrics") != 0 && strncmp(url, "/v1/", 4) == 0 &&
        (!strcmp(url, "/v1/endpoints") || !strncmp(url, "/v1/resolve/", 12) ||
         !strncmp(url, "/v1/deployments", 15) || !strcmp(url, "/v1/tokens"))) {
        *status = 405;
        *body = err_body("method_not_allowed", "use GET");
        return;
    }
    fb_diag *d = fb_diag_new();
    unsigned role = fbi_role_bit(who->role);
    const unsigned READERS = R_ADMIN | R_DEPLOYER | R_VIEWER;
    *status = 200;
    *body = NULL;
    char *text = NULL;
    if (strcmp(url, "/v1/endpoints") == 0) {
        if (!(role & READERS)) goto forbidden;
        if (fbi_store_list_endpoints(sv->rstore, who->tenant, &text, d) != FB_OK) goto internal;
        *body = json_pack("{s:o}", "endpoints", parse_rows(text));
    } else if (strncmp(url, "/v1/resolve/", 12) == 0 && url[12] && !strchr(url + 12, '/')) {
        if (!(role & READERS)) goto forbidden;
        resolve_route(sv, c, url + 12, who, status, body, raw, d);
    } else if (strcmp(url, "/v1/deployments") == 0 ||
               (strncmp(url, "/v1/deployments/", 16) == 0 && url[16] && !strchr(url + 16, '/'))) {
        if (!(role & READERS)) goto forbidden;
        const char *name = url[15] == '/' ? url + 16 : NULL;
        if (fb_store_list_deployments(sv->rstore, who->tenant, name, &text, d) != FB_OK) goto internal;
        json_t *rows = parse_rows(text);
        if (name && json_array_size(rows) == 0) {
            json_decref(rows);
            *status = 404;
            *body = err_body("not_found", "no such deployment");
        } else {
            *body = json_pack("{s:o}", "deployments", rows);
        }
    } else if (strcmp(url, "/metrics") == 0) {
        if (!(role & R_ADMIN)) goto forbidden;
        *body = NULL;
        *status = 0; /* the caller sends the text exposition */
    } else if (strcmp(url, "/v1/tokens") == 0) {
        if (!(role & R_ADMIN)) goto forbidden;
        if (fbi_store_list_tokens(sv->rstore, who->tenant, &text, d) != FB_OK) goto internal;
        *body = json_pack("{s:o}", "tokens", parse_rows(text));
    } else {
        *status = 404;
        *body = err_body("not_found", "no such route; see docs/serve.md");
    }
    fb_diag_free(d);
    return;
forbidden:
    *status = 403;
    *body = err_body("forbidden", "this token's role may not call this route");
    fb_diag_free(d);
    return;
internal:
    *status = 500;
    *body = err_body("internal", "the state store failed; see the server log");
    fb_diag_print(d, stderr);
    fb_diag_free(d);
}

/* The Prometheus text exposition (format 0.0.4). new. */
static char *metrics_text(server *sv)
{
    size_t cap = 8192, len = 0;
    char *b = fbi_xmalloc(cap);
#define EMIT(...)                                                                  \
    do {                                                                           \
        int n_ = snprintf(b + len, cap - len, __VA_ARGS__);                        \
        while (n_ >= 0 && (size_t)n_ >= cap - len) {                               \
            cap *= 2;                                                              \
            b = realloc(b, cap);                                                   \
            if (!b) abort();                                                       \
            n_ = snprintf(b + len, cap - len, __VA_ARGS__);                        \
        }                                                                          \
        len += (size_t)(n_ > 0 ? n_ : 0);                                          \
    } while (0)
    EMIT("# HELP fedbroker_http_requests_total HTTP requests by route and status.\n"
         "# TYPE fedbroker_http_requests_total counter\n");
    for (size_t r = 0; r < NROUTES; r++)
        for (size_t c = 0; c <= NCODES; c++) {
            unsigned long v = atomic_load(&sv->m.requests[r][c]);
            if (!v) continue;
            if (c < NCODES) EMIT("fedbroker_http_requests_total{route=\"%s\",code=\"%u\"} %lu\n", ROUTES[r], CODES[c], v);
            else EMIT("fedbroker_http_requests_total{route=\"%s\",code=\"other\"} %lu\n", ROUTES[r], v);
        }
    EMIT("# HELP fedbroker_http_request_seconds_total Time spent answering, by route.\n"
         "# TYPE fedbroker_http_request_seconds_total counter\n");
    for (size_t r = 0; r < NROUTES; r++)
        EMIT("fedbroker_http_request_seconds_total{route=\"%s\"} %.6f\n", ROUTES[r],
             (double)atomic_load(&sv->m.usec[r]) / 1e6);
    EMIT("# HELP fedbroker_http_request_duration_seconds Time inside serve per request (headers received to answer queued), by route.\n"
         "# TYPE fedbroker_http_request_duration_seconds histogram\n");
    for (size_t r = 0; r < NROUTES; r++) {
        unsigned long cum = 0;
        for (size_t i = 0; i <= NDURATION; i++) {
            cum += atomic_load(&sv->m.duration[r][i]);
            if (i < NDURATION)
                EMIT("fedbroker_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %lu\n", ROUTES[r],
                     DURATION_LE[i], cum);
            else
                EMIT("fedbroker_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %lu\n", ROUTES[r], cum);
        }
        EMIT("fedbroker_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
             "fedbroker_http_request_duration_seconds_count{route=\"%s\"} %lu\n", ROUTES[r],
             (double)atomic_load(&sv->m.usec[r]) / 1e6, ROUTES[r], cum);
    }
    EMIT("# HELP fedbroker_resolve_total Resolve answers by outcome.\n"
         "# TYPE fedbroker_resolve_total counter\n"
         "fedbroker_resolve_total{outcome=\"found\"} %lu\n"
         "fedbroker_resolve_total{outcome=\"not_found\"} %lu\n"
         "fedbroker_resolve_total{outcome=\"invalid\"} %lu\n",
         atomic_load(&sv->m.resolve_found), atomic_load(&sv->m.resolve_not_found),
         atomic_load(&sv->m.resolve_invalid));
    unsigned long rows, batches, failures, queued;
    fbi_auditq_counts(sv->aq, &rows, &batches, &failures, &queued);
    EMIT("# HELP fedbroker_audit_rows_total Audit rows committed by serve's writer.\n"
         "# TYPE fedbroker_audit_rows_total counter\n"
         "fedbroker_audit_rows_total %lu\n"
         "# HELP fedbroker_audit_batches_total Write transactions of the audit writer (group commit).\n"
         "# TYPE fedbroker_audit_batches_total counter\n"
         "fedbroker_audit_batches_total %lu\n"
         "# HELP fedbroker_audit_failed_rows_total Audit rows that could not be written.\n"
         "# TYPE fedbroker_audit_failed_rows_total counter\n"
         "fedbroker_audit_failed_rows_total %lu\n"
         "# HELP fedbroker_audit_queued_rows Audit rows queued and not yet committed (a crash would lose them).\n"
         "# TYPE fedbroker_audit_queued_rows gauge\n"
         "fedbroker_audit_queued_rows %lu\n"
         "# HELP fedbroker_cache_hits_total Requests answered from serve's caches.\n"
         "# TYPE fedbroker_cache_hits_total counter\n"
         "fedbroker_cache_hits_total{cache=\"token\"} %lu\n"
         "fedbroker_cache_hits_total{cache=\"resolve\"} %lu\n",
         rows, batches, failures, queued, atomic_load(&sv->m.token_cache_hits),
         atomic_load(&sv->m.answer_cache_hits));
    unsigned long oc[4];
    fbi_ops_counts(sv->v1.ops, oc);
    EMIT("# HELP fedbroker_operations Operations kept in memory, by state.\n"
         "# TYPE fedbroker_operations gauge\n"
         "fedbroker_operations{state=\"queued\"} %lu\n"
         "fedbroker_operations{state=\"running\"} %lu\n"
         "fedbroker_operations{state=\"succeeded\"} %lu\n"
         "fedbroker_operations{state=\"failed\"} %lu\n", oc[0], oc[1], oc[2], oc[3]);
    if (sv->rec) {
        fbi_reconcile_counts rc;
        fbi_reconciler_counts(sv->rec, &rc);
        EMIT("# HELP fedbroker_reconcile_runs_total Reconciler passes (serve --reconcile).\n"
             "# TYPE fedbroker_reconcile_runs_total counter\n"
             "fedbroker_reconcile_runs_total %lu\n"
             "# HELP fedbroker_reconcile_failures_total Passes whose observe (fedbroker status) failed.\n"
             "# TYPE fedbroker_reconcile_failures_total counter\n"
             "fedbroker_reconcile_failures_total %lu\n"
             "# HELP fedbroker_reconcile_drifted Deployments drifted, missing or failed at the last pass.\n"
             "# TYPE fedbroker_reconcile_drifted gauge\n"
             "fedbroker_reconcile_drifted %lu\n"
             "# HELP fedbroker_reconcile_reapplies_total Re-apply operations queued by the reconciler.\n"
             "# TYPE fedbroker_reconcile_reapplies_total counter\n"
             "fedbroker_reconcile_reapplies_total %lu\n"
             "# HELP fedbroker_reconcile_last_success_timestamp_seconds The last pass that observed.\n"
             "# TYPE fedbroker_reconcile_last_success_timestamp_seconds gauge\n"
             "fedbroker_reconcile_last_success_timestamp_seconds %lld\n",
             rc.runs, rc.failures, rc.drifted, rc.reapplies, (long long)rc.last_ok);
    }
    /* the drivers' provider calls: serve's own and its operations'
     * (http.h, FEDBROKER_METRICS_FD) */
    fbi_buf pm;
    fbi_buf_init(&pm);
    fbi_http_metrics_text(&pm);
    EMIT("%s", pm.data ? pm.data : "");
    fbi_buf_free(&pm);
#undef EMIT
    return b;
}

/* Counts an answered request: its route class, status and the time from
 * its headers' arrival in serve (t0: libmicrohttpd's first call) until its
 * answer was queued (called after MHD_queue_response): serve's own time,
 * without the kernel's and the scheduler's before and after. */
static void count(server *sv, const char *url, unsigned status, double t0)
{
    size_t r = route_class(url), c = NCODES;
    for (size_t i = 0; i < NCODES; i++)
        if (CODES[i] == status) c = i;
    double d = mono_s() - t0;
    size_t b = 0;
    while (b < NDURATION && d > DURATION_LE[b]) b++;
    atomic_fetch_add(&sv->m.requests[r][c], 1);
    atomic_fetch_add(&sv->m.usec[r], (unsigned long)(d * 1e6));
    atomic_fetch_add(&sv->m.duration[r][b], 1);
}

/* Checks a presented bearer token: a token verified within the last
 * TOKEN_CACHE_MS is trusted without a store lookup (expiry still
 * checked), found by a keyed BLAKE2b hash of the token (never the token
 * itself; the key is random per process, so the cache's keys say nothing
 * outside it). A hit skips the format and checksum check and the SHA-256
 * (the same string passed them when it was cached): those were 5 % of a
 * cached request's CPU. Otherwise fbi_token_check. */
static fb_status authenticate(server *sv, const char *token, int64_t now, fbi_token_verdict *v,
                              fbi_principal *who, fb_diag *d)
{
    memset(who, 0, sizeof *who);
    *v = FBI_TOKEN_MALFORMED;
    size_t n = strlen(token);
    if (n != FBI_TOKEN_LEN) return FB_OK;
    unsigned char kh[32];
    char key[2 * sizeof kh + 1];
    crypto_generichash(kh, sizeof kh, (const unsigned char *)token, n, sv->token_key, sizeof sv->token_key);
    sodium_bin2hex(key, sizeof key, kh, sizeof kh);
    double t = fbi_mono_ms();
    size_t len = 0;
    char *hit = fbi_ttlcache_get(sv->tokens, key, 1, (int64_t)t, &len);
    if (hit && len == sizeof *who) {
        memcpy(who, hit, sizeof *who);
        free(hit);
        if (!who->expires_at || now < who->expires_at) {
            *v = FBI_TOKEN_OK;
            atomic_fetch_add(&sv->m.token_cache_hits, 1);
            return FB_OK;
        }
        memset(who, 0, sizeof *who); /* expired meanwhile: the store says so */
        hit = NULL;
    }
    free(hit);
    fb_status st = fbi_token_check(sv->rstore, token, now, v, who, d); /* format, checksum, store */
    if (st == FB_OK && *v == FBI_TOKEN_OK)
        fbi_ttlcache_put(sv->tokens, key, who, sizeof *who, 1, (int64_t)t + TOKEN_CACHE_MS);
    return st;
}

/* The issuer's discovery document and JWK Set under the issuer's path. 1
 * when url is one of them (status and body set), else 0. */
static int oidc_route(server *sv, const char *url, unsigned *status, json_t **body)
{
    char *base = fbi_identity_issuer_path(sv->o->identity);
    char *disc = fbi_xasprintf("%s/.well-known/openid-configuration", base);
    char *jwks = fbi_xasprintf("%s/jwks.json", base);
    int hit = 1;
    if (strcmp(url, disc) == 0) {
        *body = fbi_identity_discovery(sv->o->identity);
    } else if (strcmp(url, jwks) == 0) {
        fb_diag *d = fb_diag_new();
        if (fbi_identity_published_jwks(sv->rstore, body, d) != FB_OK) {
            *status = 500;
            *body = err_body("internal", "the state store failed; see the server log");
            fb_diag_print(d, stderr);
        }
        fb_diag_free(d);
    } else {
        hit = 0;
    }
    free(base);
    free(disc);
    free(jwks);
    return hit;
}

static enum MHD_Result check_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    int *bad = cls;
    if (!fbi_utf8_valid(key, strlen(key)) || (value && !fbi_utf8_valid(value, strlen(value)))) *bad = 1;
    return MHD_YES;
}

/* Asks the kernel for a short time slice (--slice-us, default 100 us) for
 * the calling request thread, keeping its nice level: Linux's EEVDF scheduler (6.12 and
 * later) lets a woken task with a shorter slice preempt the running one
 * instead of waiting out that task's slice (milliseconds on a busy
 * machine), which is where a request's wait for a CPU comes from
 * (bench/README-serve.md). Earlier kernels ignore the field; a failure
 * changes nothing. With --rt-priority the thread goes to SCHED_FIFO
 * instead: it runs as soon as a request wakes it, ahead of every
 * fair-class task (clients, serve's own background threads, the rest of
 * the machine); refused (no CAP_SYS_NICE), it says so once and keeps the
 * slice. Once per thread. */
static void request_thread_sched(const fbi_serve_opts *o)
{
    static _Thread_local int done;
    static atomic_int warned;
    if (done) return;
    done = 1;
    if (o->rt_priority) {
        if (fbi_thread_realtime(o->rt_priority) == 0) return;
        if (atomic_exchange(&warned, 1) == 0)
            fprintf(stderr, "fedbroker serve: --rt-priority %u refused (%s): the request threads stay in "
                            "the fair scheduler\n", o->rt_priority, strerror(errno));
    }
    if (o->slice_us) (void)fbi_thread_slice(o->slice_us); /* refused or unsupported: the kernel's slice */
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    (void)version;
    server *sv = cls;
    request *rq = *con_cls;
    if (!rq) {
        request_thread_sched(sv->o);
        rq = fbi_xcalloc(1, sizeof *rq);
        memcpy(rq->id, "req-", 4);
        *fbi_put_dec(rq->id + 4, (unsigned long long)atomic_fetch_add(&sv->seq, 1) + 1) = '\0';
        rq->t0 = mono_s();
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > sv->o->max_body) rq->too_big = 1;
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_size) {
        /* read and count, keep at most max_body: a body past the limit is
         * drained (so the answer can be sent) but never stored */
        size_t n = *upload_size;
        size_t total = sv->o->max_body_total ? sv->o->max_body_total : (size_t)64 << 20;
        if (!rq->too_big && !rq->over_budget && rq->body_len + n <= sv->o->max_body) {
            /* every connection's body counts against one budget: many
             * connections each sending up to --max-body cannot together
             * hold more than --max-body-total; past it, 503 */
            if (atomic_fetch_add(&sv->body_bytes, n) + n > total) {
                atomic_fetch_sub(&sv->body_bytes, n + rq->body_len);
                free(rq->body);
                rq->body = NULL;
                rq->body_len = 0;
                rq->over_budget = 1;
            } else {
                rq->body = realloc(rq->body, rq->body_len + n + 1);
                if (!rq->body) abort();
                memcpy(rq->body + rq->body_len, upload, n);
                rq->body_len += n;
            }
        } else if (!rq->over_budget) {
            rq->too_big = 1;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    unsigned status = 200;
    json_t *body = NULL;
    const char *hname = NULL;
    /* the path and query arguments (percent-decoded by libmicrohttpd) go
     * into JSON answers, the log and audit rows: they must be UTF-8 */
    int bad_utf8 = !fbi_utf8_valid(url, strlen(url)) || !fbi_utf8_valid(method, strlen(method));
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, check_arg, &bad_utf8);
    char hval[64] = "";
    fbi_principal who;
    memset(&who, 0, sizeof who);
    int authed = 0;
    char *raw = NULL;
    const char *ctype = NULL; /* a non-JSON answer's type (reports) */
    if (bad_utf8) {
        status = 400;
        body = err_body("invalid", "the path or a query argument is not UTF-8");
        url = "(not UTF-8)";
        method = fbi_utf8_valid(method, strlen(method)) ? method : "?";
    } else if (rq->too_big) {
        status = 413;
        body = err_body("too_large", "the request body exceeds the server's limit");
    } else if (rq->over_budget) {
        status = 503;
        body = err_body("busy", "the server holds too many request bodies at once; try again");
        hname = "Retry-After";
        snprintf(hval, sizeof hval, "1");
    } else if (sv->o->identity && strcmp(method, "GET") == 0 && oidc_route(sv, url, &status, &body)) {
        /* public by design: relying parties (AWS, GCP) fetch them anonymously */
    } else if (sv->wlt && strcmp(url, "/v1/identity/token") == 0) {
        /* a workload's own JWT-SVID: authenticated by the proof in the
         * body, not by a bearer token (wltoken.h); every answer, granted
         * or not, is an audit row */
        if (strcmp(method, "POST") != 0) {
            status = 405;
            body = err_body("method_not_allowed", "use POST");
        } else {
            char *actor = NULL, *wtenant = NULL;
            fbi_wltoken_issue(sv->wlt, rq->body, rq->body_len, &status, &body, &actor, &wtenant);
            char outcome[16];
            snprintf(outcome, sizeof outcome, "%u", status);
            if (fbi_auditq_push(sv->aq, actor ? actor : "workload (unidentified)", wtenant,
                                "POST /v1/identity/token", outcome, NULL, 1) != FB_OK && status < 400) {
                json_decref(body);
                status = 500;
                body = err_body("internal", "the audit row could not be written; see the server log");
            }
            free(actor);
            free(wtenant);
        }
    } else if (strcmp(url, "/v1/healthz") == 0) {
        body = json_pack("{s:s}", "status", "ok");
    } else if (strcmp(url, "/v1/readyz") == 0) {
        fb_diag *d = fb_diag_new();
        char *t = NULL;
        int ok = fbi_store_list_tokens(sv->rstore, "\x01", &t, d) == FB_OK;
        free(t);
        fb_diag_free(d);
        status = ok ? 200 : 503;
        body = json_pack("{s:s}", "status", ok ? "ready" : "store unavailable");
    } else {
        const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
        fbi_token_verdict v = FBI_TOKEN_MALFORMED;
        int64_t now;
        fbi_now(&now, NULL);
        fb_diag *d = fb_diag_new();
        fb_status st = FB_OK;
        if (auth && strncasecmp(auth, "Bearer ", 7) == 0)
            st = authenticate(sv, auth + 7, now, &v, &who, d);
        fb_diag_free(d);
        if (st != FB_OK) {
            status = 500;
            body = err_body("internal", "the state store failed");
        } else if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) {
            status = 401;
            body = err_body("unauthenticated", "send Authorization: Bearer fbk_...");
            hname = "WWW-Authenticate";
            snprintf(hval, sizeof hval, "Bearer");
        } else if (v != FBI_TOKEN_OK) {
            char *m = fbi_xasprintf("the bearer token is %s", fbi_token_verdict_name(v));
            status = 401;
            body = err_body("unauthenticated", m);
            free(m);
            hname = "WWW-Authenticate";
            snprintf(hval, sizeof hval, "Bearer error=\"invalid_token\"");
        } else {
            authed = 1;
            unsigned wait = rate_wait(sv, who.id);
            if (wait) {
                status = 429;
                body = err_body("rate_limited", "too many requests for this token");
                hname = "Retry-After";
                snprintf(hval, sizeof hval, "%u", wait);
            } else {
                route(sv, c, method, url, rq, &who, &status, &body, &raw, &ctype);
            }
        }
    }
    if (authed) {
        /* every credential use is an audit row: who, tenant, what, outcome;
         * queued for the group commit (auditq.h). A mutating call waits
         * for its row to be committed before it answers. */
        /* "METHOD PATH" on the stack when it fits (the queue copies it) */
        size_t ml = strlen(method), ul = strlen(url);
        char what_small[256];
        char *what = ml + ul + 2 <= sizeof what_small ? what_small : fbi_xmalloc(ml + ul + 2);
        memcpy(what, method, ml);
        what[ml] = ' ';
        memcpy(what + ml + 1, url, ul + 1);
        char outcome[24];
        *fbi_put_dec(outcome, status ? status : 200u) = '\0';
        int mutating = strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
        if (fbi_auditq_push(sv->aq, who.id, who.tenant, what, outcome, NULL, mutating) != FB_OK &&
            mutating && status < 400) {
            json_decref(body);
            free(raw);
            raw = NULL;
            status = 500;
            body = err_body("internal", "the audit row could not be written; see the server log");
        }
        if (what != what_small) free(what);
    }
    enum MHD_Result ret;
    if (status == 0) { /* /metrics */
        status = 200;
        char *text = metrics_text(sv);
        struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
        MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4");
        MHD_add_response_header(r, "X-Request-Id", rq->id);
        ret = MHD_queue_response(c, status, r);
        MHD_destroy_response(r);
    } else if (ctype) {
        struct MHD_Response *r = MHD_create_response_from_buffer(strlen(raw), raw, MHD_RESPMEM_MUST_FREE);
        MHD_add_response_header(r, "Content-Type", ctype);
        MHD_add_response_header(r, "X-Request-Id", rq->id);
        MHD_add_response_header(r, "Cache-Control", "no-store");
        ret = MHD_queue_response(c, status, r);
        MHD_destroy_response(r);
    } else {
        ret = send_json(c, &status, body, raw, rq, hname, hname ? hval : NULL);
    }
    /* counted and logged once the answer is queued: the histogram and the
     * log line's milliseconds cover all of serve's own time */
    count(sv, url, status, rq->t0);
    log_line(sv, rq, method, url, status, authed ? who.id : NULL, authed ? who.tenant : NULL);
    return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    server *sv = cls;
    (void)c;
    (void)toe;
    request *rq = *con_cls;
    if (rq) {
        atomic_fetch_sub(&sv->body_bytes, rq->body_len);
        free(rq->body);
        free(rq);
    }
    *con_cls = NULL;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = n >= 0 && n < (1 << 20) ? malloc((size_t)n + 1) : NULL;
    if (b && fread(b, 1, (size_t)n, f) == (size_t)n) b[n] = 0;
    else {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

/* libmicrohttpd's own messages (malformed requests, closed connections)
 * go where the request log goes. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    server *sv = cls;
    char line[1024];
    int n = vsnprintf(line, sizeof line, fmt, ap);
    if (n < 0) return;
    log_write(sv, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1); /* in order with the request lines */
}

static void server_free(server *sv)
{
    if (sv->daemon) MHD_stop_daemon(sv->daemon); /* no request runs after this */
    fbi_reqlog_stop(sv->rlog);                   /* writes the lines still buffered */
    fbi_reconciler_stop(sv->rec);                /* it queues operations and audit rows */
    fbi_wltoken_free(sv->wlt);
    fbi_ops_free(sv->v1.ops);                    /* waits for a running operation */
    fbi_auditq_stop(sv->aq);                     /* commits every queued row */
    fbi_auditor_close(sv->audit);
    free(sv->cert);
    free(sv->key);
    for (size_t i = 0; i < sv->nbuckets; i++) free(sv->buckets[i].id);
    free(sv->buckets);
    fbi_smap_free(&sv->bucket_index);
    if (sv->rstore) fb_store_close(sv->rstore);
    free(sv->home);
    fbi_ttlcache_free(sv->tokens);
    sodium_memzero(sv->token_key, sizeof sv->token_key);
    fbi_ttlcache_free(sv->answers);
    if (sv->dv_stmt) sqlite3_finalize(sv->dv_stmt);
    pthread_mutex_destroy(&sv->dv_mu);
    pthread_mutex_destroy(&sv->mu);
    free(sv);
}

fb_status fbi_server_start(fb_store *store, const fbi_catalog *cat, const fbi_serve_opts *o,
                           fbi_server **out, fb_diag *diag)
{
    *out = NULL;
    server *sv = fbi_xcalloc(1, sizeof *sv);
    sv->store = store;
    sv->cat = cat;
    sv->o = o;
    pthread_mutex_init(&sv->mu, NULL);
    pthread_mutex_init(&sv->dv_mu, NULL);
    sv->tokens = fbi_ttlcache_new(TOKEN_CACHE_MAX);
    if (sodium_init() < 0) {
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, "libsodium failed to initialise", NULL);
        server_free(sv);
        return FB_INTERNAL;
    }
    randombytes_buf(sv->token_key, sizeof sv->token_key);
    /* operations run this executable in this broker home */
    char exe[4096];
    ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[el > 0 ? el : 0] = 0;
    sv->home = fb_state_dir();
    const char *file = sqlite3_db_filename(fbi_store_db(store), "main");
    if (!file || !*file || fb_store_open(file, &sv->rstore, diag) != FB_OK) {
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, "cannot open a second connection to the state store",
                    NULL);
        server_free(sv);
        return FB_INTERNAL;
    }
    sv->v1 = (fbi_v1_env){.store = sv->rstore, .ops = fbi_ops_new(o->exe ? o->exe : exe, sv->home),
                          .home = sv->home, .catalog_dir = o->catalog_dir};
    sv->answers = fbi_ttlcache_new(ANSWER_CACHE_MAX);
    /* a statement of our own on the store's connection (opened with
     * SQLITE_OPEN_FULLMUTEX), stepped under its mutex (data_version) */
    if (sqlite3_prepare_v2(fbi_store_db(store), "PRAGMA data_version", -1, &sv->dv_stmt, NULL) != SQLITE_OK)
        sv->dv_stmt = NULL; /* no answer cache then */
    /* The audit writer's commits run the WAL checkpoints. At 1000 pages
     * each held the writer on a CPU for 4-7 ms (a few times a second at
     * 95,000 rows/s), long enough for wrk and the request threads to wait
     * behind it on 2 cores; at 100 pages each is a tenth of that. Resolve's
     * p99 at 8 connections, interleaved A/B on the quiet machine, 12 rounds
     * each: wrk -t2 median 1.82 -> 1.35 ms, wrk -t1 under 1 ms in 4 -> 9
     * of 12, for about 10 % more CPU in the background threads
     * (bench/README-serve.md, "Stop 25: the checkpoint size"). */
    fbi_store_set_checkpoint_pages(store, SERVE_CHECKPOINT_PAGES);
    if (fbi_auditor_open(NULL, &sv->audit, diag) != FB_OK ||
        fbi_auditq_start(sv->audit, store, 0, &sv->aq, diag) != FB_OK) {
        server_free(sv);
        return FB_INVALID;
    }
    if (o->identity) sv->wlt = fbi_wltoken_new(o->identity, file);
    sv->rlog = fbi_reqlog_start(o->log ? o->log : stderr);
    if (o->reconcile_s) {
        fbi_reconcile_opts ro = {.interval_s = o->reconcile_s, .reapply = o->reconcile_reapply,
                                 .home = sv->home, .catalog_dir = o->catalog_dir, .ops = sv->v1.ops,
                                 .aq = sv->aq};
        sv->rec = fbi_reconciler_start(&ro);
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)o->port);
    if (inet_pton(AF_INET, o->address, &sa.sin_addr) != 1) {
        char *m = fbi_xasprintf("--listen: '%s' is not an IPv4 address", o->address);
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, m, "give e.g. 127.0.0.1:8080");
        free(m);
        server_free(sv);
        return FB_INVALID;
    }
    /* a pool of --threads workers on epoll, each serving many connections;
     * or, with --thread-per-connection, a thread blocked in poll/recv per
     * connection (the kernel wakes the one whose client wrote): the two
     * threading modes compared in bench/README-serve.md ("serve5") */
    unsigned flags = o->thread_per_connection
                         ? MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
                               MHD_USE_ERROR_LOG
                         : MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL_LINUX_ONLY | MHD_USE_ERROR_LOG;
    if (o->no_listen) flags |= MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC;
    if (o->tls_cert || o->tls_key) {
        sv->cert = o->tls_cert ? slurp(o->tls_cert) : NULL;
        sv->key = o->tls_key ? slurp(o->tls_key) : NULL;
        if (!sv->cert || !sv->key) {
            char *m = fbi_xasprintf("cannot read the TLS %s file %s", !sv->cert ? "certificate" : "key",
                                    !sv->cert ? (o->tls_cert ? o->tls_cert : "(none)") : o->tls_key);
            fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, m,
                        "give both --tls-cert and --tls-key, PEM files the server can read");
            free(m);
            server_free(sv);
            return FB_INVALID;
        }
        flags |= MHD_USE_TLS;
    }
    struct MHD_OptionItem tls_opts[] = {
        {sv->cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, sv->cert},
        {sv->key ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, sv->key},
        {MHD_OPTION_END, 0, NULL},
    };
    sv->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, handle, sv,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, sv, /* first, so every message goes through it */
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_THREAD_POOL_SIZE, o->thread_per_connection ? 0u : (unsigned)(o->threads ? o->threads : 2),
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)o->max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)o->timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)o->max_header,
        MHD_OPTION_NOTIFY_COMPLETED, completed, sv,
        MHD_OPTION_ARRAY, tls_opts,
        MHD_OPTION_END);
    if (!sv->daemon) {
        char *m = fbi_xasprintf("cannot listen on %s:%u", o->address, o->port);
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, m,
                    "is the port in use, or the TLS certificate and key invalid?");
        free(m);
        server_free(sv);
        return FB_CONFLICT;
    }
    *out = sv;
    return FB_OK;
}

unsigned fbi_server_port(fbi_server *sv)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(sv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info ? (unsigned)info->port : sv->o->port;
}

int fbi_server_add_connection(fbi_server *sv, int fd)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return MHD_add_connection(sv->daemon, fd, (struct sockaddr *)&sa, sizeof sa) == MHD_YES ? 0 : -1;
}

void fbi_server_stop(fbi_server *sv)
{
    if (sv) server_free(sv);
}

fb_status fbi_serve_run(fb_store *store, const fbi_catalog *cat, const fbi_serve_opts *o,
                        fb_diag *diag)
{
    fbi_server *sv = NULL;
    fb_status st = fbi_server_start(store, cat, o, &sv, diag);
    if (st != FB_OK) return st;
    printf("listening on %s://%s:%u\n", sv->cert ? "https" : "http", o->address, fbi_server_port(sv));
    fflush(stdout);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int sig = 0;
    sigwait(&set, &sig);
    fbi_server_stop(sv);
    return FB_OK;
}
