/* http.c - the host HTTP service drivers use (libcurl).
 *
 * One I/O thread per client runs a single curl multi handle, so every
 * request of the process shares its connection cache, DNS cache and TLS
 * sessions. Callers (driver verbs, fan-out jobs) run on their own threads:
 * they queue a transfer, wait on a condition variable, and run the retry
 * policy (http_policy.c) themselves between attempts. Per-service
 * concurrency and rate limits are applied by the I/O thread, which starts a
 * queued transfer only when its service has room. The thread drives curl
 * through its socket interface (curl_multi_socket_action) with epoll, so
 * each event costs work for its own transfer only, not a pass over every
 * transfer in flight. docs/http.md describes the configuration and the
 * logs. */
#include "config.h"
#include "base/call.h"
#include "http/http.h"
#include "base/util.h"

#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* ---- configuration ------------------------------------------------------ */

typedef struct svc_conf {
    char *name;          /* NULL for the defaults */
    unsigned concurrency; /* 0 = unlimited */
    double rate;         /* requests per second; 0 = unlimited */
    double burst;        /* bucket size; 0 = max(1, rate) */
    long retry_quota;    /* -1 = the client's */
} svc_conf;

typedef struct http_conf {
    unsigned max_attempts;
    uint64_t base_delay_ms, max_backoff_ms, max_retry_after_ms;
    long retry_quota, retry_cost, timeout_retry_cost, no_retry_increment;
    long connect_timeout_ms, timeout_ms;
    uint64_t max_request_bytes, max_response_bytes;
    long max_connections;
    char *ca_file;
    int seeded;
    uint64_t seed;
    double sleep_scale;
    unsigned parallelism;
    svc_conf def;
    svc_conf *svcs;
    size_t n_svcs;
} http_conf;

static void conf_free(http_conf *c)
{
    free(c->ca_file);
    for (size_t i = 0; i < c->n_svcs; i++) free(c->svcs[i].name);
    free(c->svcs);
    memset(c, 0, sizeof *c);
}

static const char *env_str(const char *name)
{
    const char *s = getenv(name);
    return s && *s ? s : NULL;
}

/* Built-in defaults, then the FEDBROKER_* environment (the config file, read
 * later, overrides both). */
static void conf_defaults(http_conf *c)
{
    memset(c, 0, sizeof *c);
    c->max_attempts = 3;
    c->base_delay_ms = 1000;
    c->max_backoff_ms = 20000;
    c->max_retry_after_ms = 20000;
    c->retry_quota = 500;
    c->retry_cost = 5;
    c->timeout_retry_cost = 10;
    c->no_retry_increment = 1;
    c->connect_timeout_ms = 10000;
    c->timeout_ms = 60000;
    c->max_request_bytes = UINT64_C(128) * 1024 * 1024;
    c->max_response_bytes = UINT64_C(64) * 1024 * 1024;
    c->max_connections = 256;
    c->sleep_scale = 1.0;
    c->parallelism = 16;
    c->def.retry_quota = -1;
    const char *s;
    if ((s = env_str("FEDBROKER_HTTP_CONNECT_TIMEOUT_MS"))) c->connect_timeout_ms = atol(s);
    if ((s = env_str("FEDBROKER_HTTP_TIMEOUT_MS"))) c->timeout_ms = atol(s);
    if ((s = env_str("FEDBROKER_CA_BUNDLE"))) c->ca_file = fbi_xstrdup(s);
    if ((s = env_str("FEDBROKER_HTTP_SEED"))) {
        c->seeded = 1;
        c->seed = strtoull(s, NULL, 0);
    }
    if ((s = env_str("FEDBROKER_SLEEP_SCALE"))) c->sleep_scale = atof(s);
    if (c->sleep_scale < 0) c->sleep_scale = 0;
}

/* Reports a configuration problem at a JSON pointer. */
static void conf_error(fb_diag *d, const char *pointer, const char *summary, const char *detail)
{
    fb_diag_add(d, FB_SEV_ERROR, NULL, 0, 0, pointer, summary, detail);
}

/* A non-negative integer member; 0 when set, 1 when absent, -1 on error. */
static int get_uint(json_t *v, const char *ptr, uint64_t min, uint64_t max, uint64_t *out, fb_diag *d)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) < min
        || (uint64_t)json_integer_value(v) > max) {
        char *m = fbi_xasprintf("expected an integer from %llu to %llu", (unsigned long long)min,
                                (unsigned long long)max);
        conf_error(d, ptr, m, "fix the value in the \"http\" section of the broker configuration");
        free(m);
        return -1;
    }
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int get_real(json_t *v, const char *ptr, double *out, fb_diag *d)
{
    if (!json_is_number(v) || json_number_value(v) < 0 || !isfinite(json_number_value(v))) {
        conf_error(d, ptr, "expected a non-negative number",
                   "fix the value in the \"http\" section of the broker configuration");
        return -1;
    }
    *out = json_number_value(v);
    return 0;
}

/* "unknown key" with the nearest known key as a suggestion. */
static void unknown_key(fb_diag *d, const char *ptr, const char *key, const char *const *known)
{
    const char *best = NULL;
    int bestd = 4;
    fbi_buf list;
    fbi_buf_init(&list);
    for (size_t i = 0; known[i]; i++) {
        int dd = fbi_edit_distance(key, known[i], 3);
        if (dd < bestd) { bestd = dd; best = known[i]; }
        fbi_buf_printf(&list, "%s%s", i ? ", " : "", known[i]);
    }
    char *m = best ? fbi_xasprintf("unknown key \"%s\"; did you mean \"%s\"?", key, best)
                   : fbi_xasprintf("unknown key \"%s\"", key);
    char *det = fbi_xasprintf("known keys: %s", list.data);
    conf_error(d, ptr, m, det);
    free(m);
    free(det);
    fbi_buf_free(&list);
}

static char *ptr_join(const char *base, const char *key)
{
    fbi_buf b;
    fbi_buf_init(&b);
    fbi_buf_puts(&b, base);
    fbi_pointer_append(&b, key);
    return fbi_buf_steal(&b);
}

static int parse_svc(json_t *o, const char *ptr, svc_conf *s, fb_diag *d)
{
    static const char *const known[] = {"concurrency", "rate", "burst", "retry_quota", NULL};
    if (!json_is_object(o)) {
        conf_error(d, ptr, "expected an object such as {\"concurrency\": 16, \"rate\": 20}", NULL);
        return -1;
    }
    int bad = 0;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        char *p = ptr_join(ptr, k);
        uint64_t u;
        if (!strcmp(k, "concurrency")) {
            if (get_uint(v, p, 0, 100000, &u, d) == 0) s->concurrency = (unsigned)u; else bad = 1;
        } else if (!strcmp(k, "rate")) {
            if (get_real(v, p, &s->rate, d)) bad = 1;
        } else if (!strcmp(k, "burst")) {
            if (get_real(v, p, &s->burst, d)) bad = 1;
        } else if (!strcmp(k, "retry_quota")) {
            if (get_uint(v, p, 0, 1000000000, &u, d) == 0) s->retry_quota = (long)u; else bad = 1;
        } else {
            unknown_key(d, p, k, known);
            bad = 1;
        }
        free(p);
    }
    return bad ? -1 : 0;
}

/* Parses the "http" member of config_json over the defaults in c. */
static fb_status conf_parse(http_conf *c, const char *config_json, fb_diag *d)
{
    static const char *const known[] = {
        "max_attempts", "base_delay_ms", "max_backoff_ms", "max_retry_after_ms", "retry_quota",
        "retry_cost", "timeout_retry_cost", "no_retry_increment", "connect_timeout_ms",
        "timeout_ms", "max_request_bytes", "max_response_bytes", "max_connections", "ca_file",
        "seed", "sleep_scale", "parallelism", "services", "default_service", NULL};
    if (!config_json) return FB_OK;
    json_error_t je;
    json_t *root = json_loads(config_json, 0, &je);
    if (!root) {
        char *m = fbi_xasprintf("HTTP configuration is not valid JSON: %s at line %d column %d",
                                je.text, je.line, je.column);
        conf_error(d, NULL, m, NULL);
        free(m);
        return FB_INVALID;
    }
    if (!json_is_object(root)) {
        conf_error(d, "", "the configuration must be a JSON object", NULL);
        json_decref(root);
        return FB_INVALID;
    }
    json_t *h = json_object_get(root, "http");
    if (!h) {
        json_decref(root);
        return FB_OK;
    }
    if (!json_is_object(h)) {
        conf_error(d, "/http", "\"http\" must be an object", "see docs/http.md for its keys");
        json_decref(root);
        return FB_INVALID;
    }
    int bad = 0;
    const char *k;
    json_t *v;
    json_object_foreach(h, k, v) {
        char *p = ptr_join("/http", k);
        uint64_t u = 0;
        int r = 0;
        if (!strcmp(k, "max_attempts")) {
            if ((r = get_uint(v, p, 1, 100, &u, d)) == 0) c->max_attempts = (unsigned)u;
        } else if (!strcmp(k, "base_delay_ms")) {
            r = get_uint(v, p, 0, 3600000, &c->base_delay_ms, d);
        } else if (!strcmp(k, "max_backoff_ms")) {
            r = get_uint(v, p, 0, 3600000, &c->max_backoff_ms, d);
        } else if (!strcmp(k, "max_retry_after_ms")) {
            r = get_uint(v, p, 0, 3600000, &c->max_retry_after_ms, d);
        } else if (!strcmp(k, "retry_quota")) {
            if ((r = get_uint(v, p, 0, 1000000000, &u, d)) == 0) c->retry_quota = (long)u;
        } else if (!strcmp(k, "retry_cost")) {
            if ((r = get_uint(v, p, 0, 1000000, &u, d)) == 0) c->retry_cost = (long)u;
        } else if (!strcmp(k, "timeout_retry_cost")) {
            if ((r = get_uint(v, p, 0, 1000000, &u, d)) == 0) c->timeout_retry_cost = (long)u;
        } else if (!strcmp(k, "no_retry_increment")) {
            if ((r = get_uint(v, p, 0, 1000000, &u, d)) == 0) c->no_retry_increment = (long)u;
        } else if (!strcmp(k, "connect_timeout_ms")) {
            if ((r = get_uint(v, p, 1, 3600000, &u, d)) == 0) c->connect_timeout_ms = (long)u;
        } else if (!strcmp(k, "timeout_ms")) {
            if ((r = get_uint(v, p, 1, 86400000, &u, d)) == 0) c->timeout_ms = (long)u;
        } else if (!strcmp(k, "max_request_bytes")) {
            r = get_uint(v, p, 0, UINT64_C(1) << 40, &c->max_request_bytes, d);
        } else if (!strcmp(k, "max_response_bytes")) {
            r = get_uint(v, p, 1, UINT64_C(1) << 40, &c->max_response_bytes, d);
        } else if (!strcmp(k, "max_connections")) {
            if ((r = get_uint(v, p, 1, 100000, &u, d)) == 0) c->max_connections = (long)u;
        } else if (!strcmp(k, "ca_file")) {
            if (json_is_string(v) && *json_string_value(v)) {
                free(c->ca_file);
                c->ca_file = fbi_xstrdup(json_string_value(v));
            } else if (!json_is_null(v)) {
                conf_error(d, p, "expected the path of a PEM CA bundle (or null for the system one)", NULL);
                r = -1;
            }
        } else if (!strcmp(k, "seed")) {
            if ((r = get_uint(v, p, 0, UINT64_C(1) << 62, &c->seed, d)) == 0) c->seeded = 1;
        } else if (!strcmp(k, "sleep_scale")) {
            r = get_real(v, p, &c->sleep_scale, d);
        } else if (!strcmp(k, "parallelism")) {
            if ((r = get_uint(v, p, 1, 4096, &u, d)) == 0) c->parallelism = (unsigned)u;
        } else if (!strcmp(k, "default_service")) {
            r = parse_svc(v, p, &c->def, d);
        } else if (!strcmp(k, "services")) {
            if (!json_is_object(v)) {
                conf_error(d, p, "expected an object of service name -> limits",
                           "e.g. {\"lambda\": {\"concurrency\": 16, \"rate\": 20}}");
                r = -1;
            } else {
                const char *sk;
                json_t *sv;
                json_object_foreach(v, sk, sv) {
                    char *sp = ptr_join(p, sk);
                    c->svcs = fbi_xrealloc(c->svcs, (c->n_svcs + 1) * sizeof *c->svcs);
                    svc_conf *s = &c->svcs[c->n_svcs++];
                    memset(s, 0, sizeof *s);
                    s->name = fbi_xstrdup(sk);
                    s->retry_quota = -1;
                    if (parse_svc(sv, sp, s, d)) r = -1;
                    free(sp);
                }
            }
        } else {
            unknown_key(d, p, k, known);
            r = -1;
        }
        if (r) bad = 1;
        free(p);
    }
    json_decref(root);
    return bad ? FB_INVALID : FB_OK;
}

/* The limits of one service as the configuration writes them. new. */
static json_t *svc_conf_json(const svc_conf *s)
{
    return json_pack("{s:I,s:f,s:f,s:o}", "concurrency", (json_int_t)s->concurrency, "rate", s->rate,
                     "burst", s->burst,
                     "retry_quota", s->retry_quota >= 0 ? json_integer(s->retry_quota) : json_null());
}

/* The effective configuration in the shape of the "http" section. new. */
static json_t *conf_json(const http_conf *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "max_attempts", json_integer(c->max_attempts));
    json_object_set_new(o, "base_delay_ms", json_integer((json_int_t)c->base_delay_ms));
    json_object_set_new(o, "max_backoff_ms", json_integer((json_int_t)c->max_backoff_ms));
    json_object_set_new(o, "max_retry_after_ms", json_integer((json_int_t)c->max_retry_after_ms));
    json_object_set_new(o, "retry_quota", json_integer(c->retry_quota));
    json_object_set_new(o, "retry_cost", json_integer(c->retry_cost));
    json_object_set_new(o, "timeout_retry_cost", json_integer(c->timeout_retry_cost));
    json_object_set_new(o, "no_retry_increment", json_integer(c->no_retry_increment));
    json_object_set_new(o, "connect_timeout_ms", json_integer(c->connect_timeout_ms));
    json_object_set_new(o, "timeout_ms", json_integer(c->timeout_ms));
    json_object_set_new(o, "max_request_bytes", json_integer((json_int_t)c->max_request_bytes));
    json_object_set_new(o, "max_response_bytes", json_integer((json_int_t)c->max_response_bytes));
    json_object_set_new(o, "max_connections", json_integer(c->max_connections));
    json_object_set_new(o, "ca_file", c->ca_file ? json_string(c->ca_file) : json_null());
    json_object_set_new(o, "seed", c->seeded ? json_integer((json_int_t)c->seed) : json_null());
    json_object_set_new(o, "sleep_scale", json_real(c->sleep_scale));
    json_object_set_new(o, "parallelism", json_integer(c->parallelism));
    json_object_set_new(o, "default_service", svc_conf_json(&c->def));
    json_t *svcs = json_object();
    for (size_t i = 0; i < c->n_svcs; i++)
        json_object_set_new(svcs, c->svcs[i].name, svc_conf_json(&c->svcs[i]));
    json_object_set_new(o, "services", svcs);
    return o;
}

/* The limits that apply to a service key. borrowed. */
static const svc_conf *conf_service(const http_conf *c, const char *key)
{
    for (size_t i = 0; i < c->n_svcs; i++)
        if (strcmp(c->svcs[i].name, key) == 0) return &c->svcs[i];
    return &c->def;
}

/* ---- client state ------------------------------------------------------- */

typedef struct xfer xfer;

typedef struct svc_state {
    char *key;
    unsigned concurrency;
    double rate, burst, tokens, refilled_ms;
    fbi_retry_quota quota;
    unsigned inflight;
    xfer *qhead, *qtail;
    struct svc_state *next;
} svc_state;

#define IDLE_EASY 128

struct fbi_http_client {
    pthread_mutex_t mu;
    pthread_t thread;
    int started;
    int stop;
    CURLM *multi;
    CURLSH *share;
    int epfd;        /* curl's sockets and wakefd */
    int wakefd;      /* eventfd: new work or stop */
    double timer_at; /* when curl wants a timeout action (fbi_mono_ms), < 0: never */
    http_conf conf;
    svc_state *svcs;
    uint64_t rng;
    fbi_http_stats stats;
    unsigned inflight;
    unsigned queued;
    /* Wake-ups: a caller writes wakefd only when the I/O thread is about
     * to wait in epoll_wait (polling 1; the first caller to see it takes
     * it back to 0 and writes). enq_seq counts the transfers ever queued
     * (changed under mu); the I/O thread notes it at each dispatch
     * (seen_seq, I/O thread only) and, after setting polling, waits
     * without a timeout only if no transfer was queued since: both sides'
     * operations are sequentially consistent, so either the caller sees
     * polling set or the I/O thread sees the new count. A write per
     * request woke the thread for work it was already going to find:
     * 2,020 eventfd writes per 1,000-function apply (bench/README-aws.md,
     * Stop 27). */
    atomic_int polling;
    atomic_ulong enq_seq;
    unsigned long seen_seq;
    /* Easy handles of finished transfers, reset for the next one (I/O
     * thread only): curl_easy_init and curl_easy_cleanup per request were
     * 1.5 % of a parallel apply's instructions (bench/README-aws.md,
     * perf4). curl_easy_reset keeps no request's options; connections, DNS
     * and TLS sessions live in the multi handle and the share anyway. */
    CURL *idle[IDLE_EASY];
    int nidle;
};

/* One attempt, owned by the waiting caller; the I/O thread fills the
 * results and sets done. */
struct xfer {
    const fb_http_request *req;
    struct curl_slist *headers;
    svc_state *svc;
    char *ca_file;
    char *url;                   /* the URL curl asks for (tls_server_name: its host replaced) */
    struct curl_slist *connect_to; /* tls_server_name: "NAME:PORT:HOST:PORT" */
    long connect_timeout_ms, timeout_ms;
    uint64_t max_response;
    /* results */
    CURLcode rc;
    long status;
    fbi_buf body;
    fbi_buf hdrs; /* "name\0value\0" pairs */
    size_t n_hdrs;
    int too_big;
    unsigned sends;     /* times curl was about to send the request */
    int resend_blocked; /* curl wanted to send it again: refused */
    char errbuf[CURL_ERROR_SIZE];
    double queued_at, started_at, ms, wait_ms;
    long release_ok; /* retry quota the I/O thread gives back on a 2xx answer */
    /* Posted once per attempt when the results are in: the caller waits on
     * it without the client's lock, and the I/O thread posts it after
     * releasing the lock, so a woken caller does not queue on the lock
     * (each wake-up through a condition variable had to take c->mu again:
     * ~2 futex calls per request at P = 64, bench/README-aws.md, Stop 27).
     * The I/O thread does not touch x after the post. */
    sem_t done;
    xfer *next;
    CURL *easy;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    xfer *x = ud;
    size_t len = size * n;
    if ((uint64_t)x->body.len + len > x->max_response) {
        x->too_big = 1;
        return 0;
    }
    fbi_buf_append(&x->body, p, len);
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    xfer *x = ud;
    size_t len = size * n;
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) { /* a new response (1xx) */
        fbi_buf_free(&x->hdrs);
        x->n_hdrs = 0;
        return len;
    }
    char *colon = memchr(p, ':', len);
    if (!colon) return len;
    size_t nlen = (size_t)(colon - p);
    const char *v = colon + 1;
    size_t vlen = len - nlen - 1;
    while (vlen && (*v == ' ' || *v == '\t')) { v++; vlen--; }
    while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' ')) vlen--;
    if (memchr(p, '\0', nlen) || memchr(v, '\0', vlen)) return len; /* cannot be a C string */
    fbi_buf_append(&x->hdrs, p, nlen);
    fbi_buf_putc(&x->hdrs, '\0');
    fbi_buf_append(&x->hdrs, v, vlen);
    fbi_buf_putc(&x->hdrs, '\0');
    x->n_hdrs++;
    return len;
}

/* curl silently sends a request again when a reused connection closes
 * before any answer, which for a request the server did read means sending
 * it twice. Refuse that: each send is one attempt of our retry policy,
 * which knows whether the request may be repeated. */
static int on_prereq(void *ud, char *conn_primary_ip, char *conn_local_ip, int conn_primary_port,
                     int conn_local_port)
{
    xfer *x = ud;
    (void)conn_primary_ip;
    (void)conn_local_ip;
    (void)conn_primary_port;
    (void)conn_local_port;
    if (++x->sends > 1) {
        x->resend_blocked = 1;
        return CURL_PREREQFUNC_ABORT;
    }
    return CURL_PREREQFUNC_OK;
}

/* Finds or creates the state of a service key. Lock held. */
static svc_state *svc_get(fbi_http_client *c, const char *key)
{
    for (svc_state *s = c->svcs; s; s = s->next)
        if (strcmp(s->key, key) == 0) return s;
    svc_state *s = fbi_xcalloc(1, sizeof *s);
    s->key = fbi_xstrdup(key);
    const svc_conf *sc = conf_service(&c->conf, key);
    s->concurrency = sc->concurrency;
    s->rate = sc->rate;
    s->burst = sc->burst > 0 ? sc->burst : (sc->rate > 1 ? sc->rate : 1);
    s->tokens = s->burst;
    s->refilled_ms = fbi_mono_ms();
    fbi_retry_quota_init(&s->quota, sc->retry_quota >= 0 ? sc->retry_quota : c->conf.retry_quota);
    s->next = c->svcs;
    c->svcs = s;
    return s;
}

/* Applies the (new) configuration's limits to every known service. Lock
 * held. */
static void svc_reconfigure(fbi_http_client *c)
{
    for (svc_state *s = c->svcs; s; s = s->next) {
        const svc_conf *sc = conf_service(&c->conf, s->key);
        s->concurrency = sc->concurrency;
        s->rate = sc->rate;
        s->burst = sc->burst > 0 ? sc->burst : (sc->rate > 1 ? sc->rate : 1);
        if (s->tokens > s->burst) s->tokens = s->burst;
        long q = sc->retry_quota >= 0 ? sc->retry_quota : c->conf.retry_quota;
        if (q != s->quota.max) fbi_retry_quota_init(&s->quota, q);
    }
}

/* Marks x finished: its time taken. The caller then posts x->done (the
 * last touch of x). */
static void xfer_finish(xfer *x)
{
    x->ms = x->started_at > 0 ? fbi_mono_ms() - x->started_at : 0;
}

/* A transfer that could not start: its slot given back and its caller
 * woken. I/O thread, lock not held. */
static void xfer_start_failed(fbi_http_client *c, xfer *x, CURLcode rc)
{
    pthread_mutex_lock(&c->mu);
    x->rc = rc;
    x->svc->inflight--;
    c->inflight--;
    xfer_finish(x);
    pthread_mutex_unlock(&c->mu);
    sem_post(&x->done);
}

/* Creates the easy handle of x and adds it to the multi handle. I/O
 * thread, lock not held: x was taken off its queue and counted in flight
 * by dispatch, and until it is finished only the I/O thread touches it
 * (its caller waits for done). Setting up the handle under the lock kept
 * the lanes queueing on it (bench/README-aws.md, Stop 26). */
static void xfer_start(fbi_http_client *c, xfer *x)
{
    const fb_http_request *req = x->req;
    x->started_at = fbi_mono_ms();
    x->wait_ms = x->started_at - x->queued_at;
    CURL *h = c->nidle ? c->idle[--c->nidle] : curl_easy_init();
    if (!h) {
        xfer_start_failed(c, x, CURLE_OUT_OF_MEMORY);
        return;
    }
    x->easy = h;
    curl_easy_setopt(h, CURLOPT_PRIVATE, x);
    curl_easy_setopt(h, CURLOPT_URL, x->url ? x->url : req->url);
    if (x->connect_to) curl_easy_setopt(h, CURLOPT_CONNECT_TO, x->connect_to);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    if (strcmp(req->method, "HEAD") == 0) curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->headers);
    if (req->body_len || strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0
        || strcmp(req->method, "PATCH") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(h, CURLOPT_PREREQDATA, x);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (x->ca_file) curl_easy_setopt(h, CURLOPT_CAINFO, x->ca_file);
    /* Since ABI 1.2: the request's own TLS material, from memory (curl
     * copies blobs with CURL_BLOB_COPY). A CA of the request replaces the
     * store; curl keys connection reuse and TLS sessions on the CA and the
     * client certificate, so requests with other material do not share a
     * connection. */
    if (req->tls_ca_pem) {
        struct curl_blob b = {(void *)req->tls_ca_pem, strlen(req->tls_ca_pem), CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &b);
    }
    if (req->tls_cert_pem && req->tls_key_pem) {
        struct curl_blob cb = {(void *)req->tls_cert_pem, strlen(req->tls_cert_pem), CURL_BLOB_COPY};
        struct curl_blob kb = {(void *)req->tls_key_pem, strlen(req->tls_key_pem), CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cb);
        curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &kb);
        curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
    }
    if (req->tls_flags & FB_TLS_INSECURE) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (req->proxy_url) curl_easy_setopt(h, CURLOPT_PROXY, req->proxy_url);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, x->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, x->timeout_ms);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->max_response);
    curl_easy_setopt(h, CURLOPT_SHARE, c->share);
    if (curl_multi_add_handle(c->multi, h) != CURLM_OK) {
        curl_easy_cleanup(h);
        x->easy = NULL;
        xfer_start_failed(c, x, CURLE_FAILED_INIT);
    }
}

/* The requests outstanding at once, over every client: the sum of the
 * parallelism of the fan-outs running now (fbi_http_outstanding_add), 0
 * when none runs (no bound). A fan-out lane used to have one request out
 * at a time, so its parallelism bounded them; host->http_many lets a lane
 * have several, and this keeps the bound the user gave. */
static atomic_uint g_outstanding_cap;

void fbi_http_outstanding_add(int delta)
{
    if (delta >= 0) atomic_fetch_add(&g_outstanding_cap, (unsigned)delta);
    else atomic_fetch_sub(&g_outstanding_cap, (unsigned)-delta);
}

/* Takes queued transfers off their queues, oldest first, while there is
 * room: in their service (concurrency, rate) and in the outstanding bound,
 * and counts them in flight; *start gets them, in order, linked by next,
 * for xfer_start once the lock is released. Returns the milliseconds until
 * a rate-limited service gets its next token, or -1. I/O thread, lock
 * held. */
static double dispatch(fbi_http_client *c, xfer **start)
{
    xfer **tail = start;
    *start = NULL;
    c->seen_seq = atomic_load(&c->enq_seq);
    double wait = -1, now = fbi_mono_ms();
    for (svc_state *s = c->svcs; s; s = s->next) {
        if (s->rate > 0) {
            s->tokens += (now - s->refilled_ms) * s->rate / 1000.0;
            if (s->tokens > s->burst) s->tokens = s->burst;
        }
        s->refilled_ms = now;
    }
    unsigned cap = atomic_load(&g_outstanding_cap);
    while (!cap || c->inflight < cap) {
        svc_state *best = NULL;
        for (svc_state *s = c->svcs; s; s = s->next) {
            if (!s->qhead) continue;
            if (s->concurrency && s->inflight >= s->concurrency) continue;
            if (s->rate > 0 && s->tokens < 1.0) {
                double w = (1.0 - s->tokens) * 1000.0 / s->rate;
                if (wait < 0 || w < wait) wait = w;
                continue;
            }
            if (!best || s->qhead->queued_at < best->qhead->queued_at) best = s;
        }
        if (!best) break;
        svc_state *s = best;
        xfer *x = s->qhead;
        s->qhead = x->next;
        if (!s->qhead) s->qtail = NULL;
        x->next = NULL;
        c->queued--;
        if (s->rate > 0) s->tokens -= 1.0;
        s->inflight++;
        c->inflight++;
        c->stats.attempts++;
        if (c->inflight > c->stats.max_inflight) c->stats.max_inflight = c->inflight;
        *tail = x;
        tail = &x->next;
    }
    return wait;
}

/* Fails every queued transfer (the client is stopping). Lock held. */
static void fail_queued(fbi_http_client *c)
{
    for (svc_state *s = c->svcs; s; s = s->next) {
        while (s->qhead) {
            xfer *x = s->qhead;
            s->qhead = x->next;
            c->queued--;
            x->rc = CURLE_ABORTED_BY_CALLBACK;
            snprintf(x->errbuf, sizeof x->errbuf, "the HTTP service is shutting down");
            xfer_finish(x);
            sem_post(&x->done);
        }
        s->qtail = NULL;
    }
}

/* Collects finished transfers. I/O thread, lock not held. Returns how
 * many finished. Their counters are settled under one hold of the lock
 * and their callers woken after it is released. */
static int drain(fbi_http_client *c)
{
    int n = 0, left;
    CURLMsg *m;
    xfer *done = NULL, **tail = &done;
    while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE) continue;
        CURL *h = m->easy_handle;
        CURLcode rc = m->data.result;
        xfer *x = NULL;
        curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&x);
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        curl_multi_remove_handle(c->multi, h);
        if (c->nidle < IDLE_EASY) {
            curl_easy_reset(h);
            c->idle[c->nidle++] = h;
        } else {
            curl_easy_cleanup(h);
        }
        x->easy = NULL;
        x->rc = rc;
        if (x->resend_blocked && rc == CURLE_ABORTED_BY_CALLBACK) {
            x->rc = CURLE_GOT_NOTHING;
            snprintf(x->errbuf, sizeof x->errbuf, "the connection closed without an answer");
        }
        x->status = status;
        xfer_finish(x);
        x->next = NULL;
        *tail = x;
        tail = &x->next;
        n++;
    }
    if (!done) return 0;
    pthread_mutex_lock(&c->mu);
    for (xfer *x = done; x; x = x->next) {
        x->svc->inflight--;
        c->inflight--;
        if (x->rc == CURLE_OK && x->status >= 200 && x->status < 300)
            fbi_retry_quota_release(&x->svc->quota, x->release_ok);
    }
    pthread_mutex_unlock(&c->mu);
    while (done) {
        xfer *x = done;
        done = x->next;
        x->next = NULL;
        sem_post(&x->done);
    }
    return n;
}

/* curl's socket callback: watch what it asks for. I/O thread. */
static int on_socket(CURL *e, curl_socket_t fd, int what, void *ud, void *sockp)
{
    (void)e;
    fbi_http_client *c = ud;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(c->epfd, EPOLL_CTL_DEL, fd, NULL);
        return 0;
    }
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
    ev.data.fd = fd;
    /* sockp: set (to c) once the socket is in the epoll set; curl forgets
     * it with CURL_POLL_REMOVE. A reused connection's socket comes back
     * after a REMOVE: trying MOD first cost a failing system call per
     * request. */
    if (sockp) {
        if (epoll_ctl(c->epfd, EPOLL_CTL_MOD, fd, &ev) == 0 || errno != ENOENT) return 0;
    }
    if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) != 0 && errno == EEXIST)
        epoll_ctl(c->epfd, EPOLL_CTL_MOD, fd, &ev);
    curl_multi_assign(c->multi, fd, c);
    return 0;
}

/* curl's timer callback: when to call it back without an event. */
static int on_timer(CURLM *m, long timeout_ms, void *ud)
{
    (void)m;
    fbi_http_client *c = ud;
    c->timer_at = timeout_ms < 0 ? -1 : fbi_mono_ms() + (double)timeout_ms;
    return 0;
}

/* Wakes the I/O thread (new work, or stop). Any thread. */
static void wake(fbi_http_client *c)
{
    uint64_t one = 1;
    while (write(c->wakefd, &one, sizeof one) < 0 && errno == EINTR) {}
}

/* The I/O thread: dispatch, run due timers, collect, wait for events. */
static void *io_main(void *arg)
{
    fbi_http_client *c = arg;
    struct epoll_event evs[64];
    int running = 0;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        if (c->stop) fail_queued(c);
        if (c->stop && c->inflight == 0) {
            pthread_mutex_unlock(&c->mu);
            break;
        }
        xfer *start;
        double wait = dispatch(c, &start);
        pthread_mutex_unlock(&c->mu);
        while (start) {
            xfer *x = start;
            start = x->next;
            x->next = NULL;
            xfer_start(c, x);
        }
        /* a new transfer sets a 0 ms timer: this starts it */
        if (c->timer_at >= 0 && c->timer_at <= fbi_mono_ms()) {
            c->timer_at = -1;
            curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        }
        if (drain(c) > 0) continue;
        double t = 1000, now = fbi_mono_ms();
        if (c->timer_at >= 0) t = c->timer_at - now;
        if (wait >= 0 && wait < t) t = wait;
        int timeout = t <= 0 ? 0 : (t > 1000 ? 1000 : (int)ceil(t));
        atomic_store(&c->polling, 1);
        if (atomic_load(&c->enq_seq) != c->seen_seq) timeout = 0; /* queued since dispatch */
        int n = epoll_wait(c->epfd, evs, (int)(sizeof evs / sizeof *evs), timeout);
        atomic_store(&c->polling, 0);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.fd == c->wakefd) {
                uint64_t v;
                while (read(c->wakefd, &v, sizeof v) < 0 && errno == EINTR) {}
                continue;
            }
            int flags = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                        (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                        (evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
            curl_multi_socket_action(c->multi, evs[i].data.fd, flags, &running);
        }
    }
    return NULL;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

/* Seeds the client's randomness: the configured seed, else the OS. */
static void client_seed(fbi_http_client *c)
{
    if (c->conf.seeded) {
        c->rng = c->conf.seed;
        return;
    }
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) r = (uint64_t)time(NULL) ^ (uint64_t)getpid();
    c->rng = r;
}

fb_status fbi_http_client_new(const char *config_json, fbi_http_client **out, fb_diag *diag)
{
    *out = NULL;
    http_conf conf;
    conf_defaults(&conf);
    if (conf_parse(&conf, config_json, diag) != FB_OK) {
        conf_free(&conf);
        return FB_INVALID;
    }
    pthread_once(&curl_once, curl_init_once);
    fbi_http_client *c = fbi_xcalloc(1, sizeof *c);
    c->conf = conf;
    client_seed(c);
    pthread_mutex_init(&c->mu, NULL);
    atomic_init(&c->polling, 0);
    atomic_init(&c->enq_seq, 0);
    c->timer_at = -1;
    c->epfd = epoll_create1(EPOLL_CLOEXEC);
    c->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event wev;
    memset(&wev, 0, sizeof wev);
    wev.events = EPOLLIN;
    wev.data.fd = c->wakefd;
    if (c->epfd < 0 || c->wakefd < 0 || epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->wakefd, &wev) != 0) {
        char *m = fbi_xasprintf("cannot set up the HTTP I/O thread's event loop: %s", strerror(errno));
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, m, NULL);
        free(m);
        fbi_http_client_free(c);
        return FB_INTERNAL;
    }
    c->multi = curl_multi_init();
    c->share = curl_share_init();
    if (!c->multi || !c->share) {
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, "cannot initialise libcurl", NULL);
        fbi_http_client_free(c);
        return FB_INTERNAL;
    }
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    /* Only the I/O thread uses the share, so it needs no lock callbacks. */
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, c->conf.max_connections);
    int e = pthread_create(&c->thread, NULL, io_main, c);
    if (e != 0) {
        char *m = fbi_xasprintf("cannot start the HTTP I/O thread: %s", strerror(e));
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, m, NULL);
        free(m);
        fbi_http_client_free(c);
        return FB_INTERNAL;
    }
    c->started = 1;
    *out = c;
    return FB_OK;
}

void fbi_http_client_free(fbi_http_client *c)
{
    if (!c) return;
    if (c->started) {
        pthread_mutex_lock(&c->mu);
        c->stop = 1;
        pthread_mutex_unlock(&c->mu);
        wake(c);
        pthread_join(c->thread, NULL);
    }
    while (c->nidle > 0) curl_easy_cleanup(c->idle[--c->nidle]);
    if (c->multi) curl_multi_cleanup(c->multi);
    if (c->share) curl_share_cleanup(c->share);
    if (c->epfd >= 0) close(c->epfd);
    if (c->wakefd >= 0) close(c->wakefd);
    svc_state *s = c->svcs;
    while (s) {
        svc_state *n = s->next;
        free(s->key);
        free(s);
        s = n;
    }
    conf_free(&c->conf);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* ---- the process-wide client -------------------------------------------- */

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static fbi_http_client *g_client;
static pid_t g_pid;
/* g_client once this process made it, read without g_mu: every request of
 * a parallel apply asked for the client, and took g_mu and made a getpid
 * system call to do so (64 lanes queued on g_mu; bench/README-aws.md, Stop
 * 26). A forked child clears it (forget_in_child), so it still gets a
 * client of its own through the slow path. */
static _Atomic(fbi_http_client *) g_published;
static pthread_once_t g_atfork_once = PTHREAD_ONCE_INIT;

/* pthread_atfork's child handler: the child runs one thread, and the
 * parent's client (its I/O thread is not there) must not be used. */
static void forget_in_child(void) { atomic_store_explicit(&g_published, NULL, memory_order_relaxed); }
static void atfork_register(void) { pthread_atfork(NULL, NULL, forget_in_child); }
static char *g_config;
static unsigned g_parallelism;
static long g_timeout_ms; /* http.timeout_ms of the last configure; 0: defaults */

/* The process-wide client, created on first use. A child of fork() does
 * not inherit the parent's I/O thread: it gets a client of its own (the
 * parent's memory is left alone). borrowed; NULL on failure. */
static fbi_http_client *default_client(fb_diag *d)
{
    fbi_http_client *c = atomic_load_explicit(&g_published, memory_order_acquire);
    if (c) return c;
    pthread_once(&g_atfork_once, atfork_register);
    pthread_mutex_lock(&g_mu);
    if (g_client && g_pid != getpid()) g_client = NULL;
    if (!g_client) {
        if (fbi_http_client_new(g_config, &g_client, d) == FB_OK) g_pid = getpid();
    }
    c = g_client;
    if (c) atomic_store_explicit(&g_published, c, memory_order_release);
    pthread_mutex_unlock(&g_mu);
    return c;
}

fb_status fbi_http_configure(const char *config_json, fb_diag *diag)
{
    http_conf conf;
    conf_defaults(&conf);
    if (conf_parse(&conf, config_json, diag) != FB_OK) {
        conf_free(&conf);
        return FB_INVALID;
    }
    pthread_mutex_lock(&g_mu);
    free(g_config);
    g_config = config_json ? fbi_xstrdup(config_json) : NULL;
    g_parallelism = conf.parallelism;
    g_timeout_ms = conf.timeout_ms;
    if (g_client && g_pid == getpid()) {
        pthread_mutex_lock(&g_client->mu);
        conf_free(&g_client->conf);
        g_client->conf = conf;
        client_seed(g_client);
        svc_reconfigure(g_client);
        pthread_mutex_unlock(&g_client->mu);
    } else {
        conf_free(&conf);
    }
    pthread_mutex_unlock(&g_mu);
    return FB_OK;
}

void fbi_http_shutdown(void)
{
    pthread_mutex_lock(&g_mu);
    fbi_http_client *c = g_client && g_pid == getpid() ? g_client : NULL;
    g_client = NULL;
    atomic_store_explicit(&g_published, NULL, memory_order_release);
    free(g_config);
    g_config = NULL;
    g_parallelism = 0;
    g_timeout_ms = 0;
    pthread_mutex_unlock(&g_mu);
    fbi_http_client_free(c);
}

long fbi_http_timeout_ms(void)
{
    pthread_mutex_lock(&g_mu);
    long t = g_timeout_ms;
    pthread_mutex_unlock(&g_mu);
    if (t) return t;
    http_conf conf;
    conf_defaults(&conf);
    t = conf.timeout_ms;
    conf_free(&conf);
    return t;
}

unsigned fbi_http_parallelism(void)
{
    pthread_mutex_lock(&g_mu);
    unsigned p = g_parallelism;
    pthread_mutex_unlock(&g_mu);
    if (p) return p;
    http_conf conf;
    conf_defaults(&conf);
    p = conf.parallelism;
    conf_free(&conf);
    return p;
}

json_t *fbi_http_client_config(fbi_http_client *c)
{
    if (!c) c = default_client(NULL);
    if (!c) return NULL;
    pthread_mutex_lock(&c->mu);
    json_t *o = conf_json(&c->conf);
    pthread_mutex_unlock(&c->mu);
    return o;
}

void fbi_http_client_stats(fbi_http_client *c, fbi_http_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!c) c = default_client(NULL);
    if (!c) return;
    pthread_mutex_lock(&c->mu);
    *out = c->stats;
    pthread_mutex_unlock(&c->mu);
}

long fbi_http_retry_quota(fbi_http_client *c, const char *service)
{
    if (!c) c = default_client(NULL);
    if (!c) return 0;
    pthread_mutex_lock(&c->mu);
    long q = svc_get(c, service)->quota.available;
    pthread_mutex_unlock(&c->mu);
    return q;
}

/* ---- one request -------------------------------------------------------- */

/* s with the request's secrets (each also URL-encoded and JSON-escaped)
 * replaced by REDACTED: base/redact.h, patterns off so a dry run shows the
 * request as it would be sent. new. */
static char *redact(const char *s, size_t len, const fb_http_request *req)
{
    fbi_secrets set = {0};
    for (size_t k = 0; req->secrets && k < req->n_secrets; k++) fbi_secrets_add(&set, req->secrets[k]);
    char *r = fbi_redact_text(&set, 0, s, len);
    fbi_secrets_clear(&set);
    return r;
}

/* What logs and diagnostics may say about a request: method, host[:port],
 * path (never the query, user info or fragment) and service key. */
typedef struct req_name {
    char *host;    /* new */
    char *path;    /* new */
    char *service; /* new: req->service, else the host */
} req_name;

static void req_name_free(req_name *n)
{
    free(n->host);
    free(n->path);
    free(n->service);
}

/* Parses the URL; 0, or -1 with *why (static text) when it is not an
 * absolute http(s) URL. */
static int req_name_init(req_name *n, const fb_http_request *req, const char **why)
{
    memset(n, 0, sizeof *n);
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
    int rc = -1;
    if (!u || curl_url_set(u, CURLUPART_URL, req->url, 0) != CURLUE_OK) {
        *why = "not a valid absolute URL";
    } else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK
               || (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)) {
        *why = "only http and https URLs are allowed";
    } else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        *why = "the URL has no host";
    } else {
        curl_url_get(u, CURLUPART_PORT, &port, 0);
        curl_url_get(u, CURLUPART_PATH, &path, 0);
        n->host = port ? fbi_xasprintf("%s:%s", host, port) : fbi_xstrdup(host);
        n->path = fbi_xstrdup(path ? path : "/");
        rc = 0;
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_url_cleanup(u);
    if (rc == 0) {
        if (req->service && *req->service) {
            n->service = fbi_xstrdup(req->service);
        } else {
            /* The key is the host without the port. */
            const char *colon = strrchr(n->host, ':');
            n->service = colon && n->host[0] != '[' ? fbi_xstrndup(n->host, (size_t)(colon - n->host))
                                                     : fbi_xstrdup(n->host);
        }
    }
    return rc;
}

/* Adds an error diagnostic naming the request, with secrets redacted. */
static void req_error(fb_diag *d, const fb_http_request *req, const req_name *n,
                      const char *what, const char *detail)
{
    char *m = fbi_xasprintf("HTTP %s %s%s (service %s): %s", req->method, n->host, n->path,
                            n->service, what);
    char *rm = redact(m, strlen(m), req);
    char *rd = detail ? redact(detail, strlen(detail), req) : NULL;
    fb_diag_add(d, FB_SEV_ERROR, NULL, 0, 0, NULL, rm, rd);
    free(m);
    free(rm);
    free(rd);
}

/* Logs one line at info level, redacted with the request's secrets and
 * what the call (may be NULL) has sent: the line quotes the answer's
 * error code, which the provider chose. */
static void req_log(const fbi_call *call, const fb_http_request *req, const char *line)
{
    if (fbi_log_level() < FB_LOG_INFO) return;
    char *r = redact(line, strlen(line), req);
    fbi_call_log(call, NULL, FB_LOG_INFO, r);
    free(r);
}

/* Header names are tokens; values may not break the line. */
static int header_ok(const fb_http_header *h)
{
    if (!h->name || !*h->name || !h->value) return 0;
    for (const char *p = h->name; *p; p++)
        if (*p <= ' ' || *p == ':' || *p == 127) return 0;
    for (const char *p = h->value; *p; p++)
        if (*p == '\r' || *p == '\n') return 0;
    return 1;
}

/* Sleeps ms scaled by the client's sleep scale (tests shrink it). */
static void scaled_sleep(double scale, uint64_t ms)
{
    double total = (double)ms * scale;
    if (total <= 0) return;
    struct timespec ts = {(time_t)(total / 1000), (long)(fmod(total, 1000.0) * 1e6)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

typedef enum { RETRY_NO, RETRY_THROTTLE, RETRY_TRANSIENT, RETRY_TIMEOUT } retry_kind;

/* Transport failures worth another attempt: resets, refused or timed-out
 * connections, empty replies. Verification failures and our own aborts
 * are not. */
static retry_kind transport_retry(CURLcode rc)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return RETRY_TIMEOUT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return RETRY_TRANSIENT;
    default:
        return RETRY_NO;
    }
}

/* The response's header value (case-insensitive name) or NULL. */
static const char *xfer_header(const xfer *x, const char *name)
{
    const char *p = x->hdrs.data;
    const char *found = NULL;
    for (size_t i = 0; i < x->n_hdrs; i++) {
        const char *v = p + strlen(p) + 1;
        if (strcasecmp(p, name) == 0) found = v;
        p = v + strlen(v) + 1;
    }
    return found;
}

/* Builds the public response from x (moves its buffers). */
static void xfer_to_response(xfer *x, fb_http_response *resp)
{
    resp->status = x->status;
    if (!x->body.data) fbi_buf_puts(&x->body, "");
    resp->body_len = x->body.len;
    resp->body = fbi_buf_steal(&x->body);
    resp->n_headers = x->n_hdrs;
    /* the array and its strings in one block (fbi_http_free frees the
     * array only): two allocations per header were a tenth of a request's
     * mallocs */
    size_t arr = (x->n_hdrs ? x->n_hdrs : 1) * sizeof(fb_http_header);
    resp->headers = fbi_xmalloc(arr + x->hdrs.len + 1);
    memset(resp->headers, 0, arr);
    char *p = (char *)resp->headers + arr;
    if (x->hdrs.len) memcpy(p, x->hdrs.data, x->hdrs.len);
    for (size_t i = 0; i < x->n_hdrs; i++) {
        resp->headers[i].name = p;
        p += strlen(p) + 1;
        resp->headers[i].value = p;
        p += strlen(p) + 1;
    }
    fbi_buf_free(&x->hdrs);
    x->n_hdrs = 0;
}

static void xfer_reset(xfer *x)
{
    fbi_buf_free(&x->body);
    fbi_buf_free(&x->hdrs);
    x->n_hdrs = 0;
    x->too_big = 0;
    x->sends = 0;
    x->resend_blocked = 0;
    x->rc = CURLE_OK;
    x->status = 0;
    x->errbuf[0] = '\0';
    x->started_at = x->queued_at = x->ms = x->wait_ms = 0;
}

/* Queues x on its service and waits until the I/O thread has run it. */
static void xfer_run(fbi_http_client *c, xfer *x)
{
    pthread_mutex_lock(&c->mu);
    x->queued_at = fbi_mono_ms();
    if (c->stop) {
        x->rc = CURLE_ABORTED_BY_CALLBACK;
        snprintf(x->errbuf, sizeof x->errbuf, "the HTTP service is shutting down");
        pthread_mutex_unlock(&c->mu);
        return;
    }
    if (x->svc->qtail) x->svc->qtail->next = x; else x->svc->qhead = x;
    x->svc->qtail = x;
    c->queued++;
    atomic_fetch_add(&c->enq_seq, 1);
    pthread_mutex_unlock(&c->mu);
    if (atomic_exchange(&c->polling, 0)) wake(c);
    while (sem_wait(&x->done) != 0 && errno == EINTR) {}
}

/* The transport error of x as text. */
static const char *xfer_error(const xfer *x)
{
    return x->errbuf[0] ? x->errbuf : curl_easy_strerror(x->rc);
}

/* tls_server_name: curl verifies (and sends as SNI) the URL's host, so the
 * URL gets the server name as its host and CURLOPT_CONNECT_TO sends the
 * connection to the real host and port. *url and *route new. Returns 0, or
 * -1 when name is not a plain host name or the URL cannot be parsed. */
static int tls_name_route(const char *in_url, const char *name, char **url, struct curl_slist **route)
{
    if (!*name || strlen(name) > 253) return -1;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
              *p == '.'))
            return -1;
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL, *out = NULL;
    int rc = -1;
    if (u && curl_url_set(u, CURLUPART_URL, in_url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_HOST, name, 0) == CURLUE_OK && curl_url_get(u, CURLUPART_URL, &out, 0) == CURLUE_OK) {
        char *line = fbi_xasprintf("%s:%s:%s:%s", name, port, host, port);
        *route = curl_slist_append(NULL, line);
        free(line);
        *url = fbi_xstrdup(out);
        rc = 0;
    }
    curl_free(host);
    curl_free(port);
    curl_free(out);
    curl_url_cleanup(u);
    return rc;
}

fb_status fbi_http_client_perform(fbi_http_client *c, fb_diag *d,
                                  const fb_http_request *in, fb_http_response *resp)
{
    memset(resp, 0, sizeof *resp);
    /* Fields past the driver's struct_size count as absent (0 = current). */
    fb_http_request rq;
    memset(&rq, 0, sizeof rq);
    size_t sz = in->struct_size && in->struct_size < sizeof rq ? in->struct_size : sizeof rq;
    memcpy(&rq, in, sz);
    rq.struct_size = sizeof rq;
    const fb_http_request *req = &rq;
    fbi_call *call = fbi_call_of(d);

    if (!req->method || !*req->method || !req->url) {
        fb_diag_add(d, FB_SEV_ERROR, NULL, 0, 0, NULL, "HTTP request without a method or URL",
                    "set fb_http_request.method and .url");
        return FB_INVALID;
    }
    req_name nm;
    const char *why = NULL;
    if (req_name_init(&nm, req, &why) != 0) {
        /* The URL itself may hold a secret: name only the method. */
        char *m = fbi_xasprintf("HTTP %s: the URL is refused: %s", req->method, why);
        fb_diag_add(d, FB_SEV_ERROR, NULL, 0, 0, NULL, m, "pass an absolute http:// or https:// URL");
        free(m);
        return FB_INVALID;
    }
    for (const char *p = req->method; *p; p++) {
        if (*p < 'A' || *p > 'Z') {
            req_error(d, req, &nm, "the method must be upper-case letters", NULL);
            req_name_free(&nm);
            return FB_INVALID;
        }
    }
    for (size_t i = 0; i < req->n_headers; i++) {
        if (!header_ok(&req->headers[i])) {
            char *m = fbi_xasprintf("header #%zu (%s) is malformed", i,
                                    req->headers[i].name ? req->headers[i].name : "no name");
            req_error(d, req, &nm, m, "header names are tokens and values may not contain CR or LF");
            free(m);
            req_name_free(&nm);
            return FB_INVALID;
        }
    }
    if (!c) c = default_client(d);
    if (!c) {
        req_name_free(&nm);
        return FB_INTERNAL;
    }

    xfer x;
    memset(&x, 0, sizeof x);
    sem_init(&x.done, 0, 0);
    x.req = req;
    pthread_mutex_lock(&c->mu);
    http_conf *cf = &c->conf;
    unsigned max_attempts = cf->max_attempts;
    uint64_t base = cf->base_delay_ms, max_backoff = cf->max_backoff_ms, max_ra = cf->max_retry_after_ms;
    long retry_cost = cf->retry_cost, timeout_cost = cf->timeout_retry_cost, no_retry_inc = cf->no_retry_increment;
    double sleep_scale = cf->sleep_scale;
    uint64_t max_request = cf->max_request_bytes;
    x.ca_file = cf->ca_file ? fbi_xstrdup(cf->ca_file) : NULL;
    x.connect_timeout_ms = cf->connect_timeout_ms;
    x.timeout_ms = cf->timeout_ms;
    x.max_response = cf->max_response_bytes;
    x.svc = svc_get(c, nm.service);
    c->stats.requests++;
    pthread_mutex_unlock(&c->mu);

    fb_status st = FB_OK;
    const double t_start = fbi_mono_ms(); /* the call's time for /metrics, retries included */
    if (req->tls_server_name && tls_name_route(req->url, req->tls_server_name, &x.url, &x.connect_to) != 0) {
        req_error(d, req, &nm, "tls_server_name is not a host name",
                  "give the name the server's certificate carries (letters, digits, '-', '.')");
        st = FB_INVALID;
        goto out;
    }
    if ((uint64_t)req->body_len > max_request) {
        char *m = fbi_xasprintf("the request body of %zu bytes exceeds the limit of %llu bytes",
                                req->body_len, (unsigned long long)max_request);
        req_error(d, req, &nm, m, "raise http.max_request_bytes in the broker configuration, "
                                  "or send less data per request");
        free(m);
        st = FB_INVALID;
        goto out;
    }
    for (size_t i = 0; i < req->n_headers; i++) {
        /* "name: value" joined by hand: vasprintf's setup cost ~3,500
         * instructions a line, 1.4 % of a parallel apply (perf4) */
        size_t nl = strlen(req->headers[i].name), vl = strlen(req->headers[i].value);
        char small[512]; /* curl copies the line: most fit here, no malloc */
        char *line = nl + vl + 3 <= sizeof small ? small : fbi_xmalloc(nl + vl + 3);
        memcpy(line, req->headers[i].name, nl);
        memcpy(line + nl, ": ", 2);
        memcpy(line + nl + 2, req->headers[i].value, vl + 1);
        x.headers = curl_slist_append(x.headers, line);
        if (line != small) free(line);
    }
    x.headers = curl_slist_append(x.headers, "Expect:");
    if (!req->body_len) x.headers = curl_slist_append(x.headers, "Content-Type:");

    const int may_retry = (req->flags & (FB_HTTP_IDEMPOTENT | FB_HTTP_TOKEN_GUARDED)) != 0;
    long acquired = 0; /* quota taken for the last retry */
    for (unsigned attempt = 1;; attempt++) {
        xfer_reset(&x);
        x.release_ok = acquired ? acquired : no_retry_inc;
        xfer_run(c, &x);
        retry_kind rk = RETRY_NO;
        char *code = NULL;
        if (x.rc == CURLE_OK) {
            if (x.status >= 400) {
                const char *et = xfer_header(&x, "X-Amzn-ErrorType");
                fb_http_header eh = {"X-Amzn-ErrorType", et};
                code = fbi_http_error_code(&eh, et ? 1 : 0, x.body.data, x.body.len);
                if (x.status == 429 || fbi_http_is_throttling_code(code)) rk = RETRY_THROTTLE;
                else if (x.status == 500 || x.status == 502 || x.status == 503 || x.status == 504
                         || fbi_http_is_transient_code(code))
                    rk = RETRY_TRANSIENT;
            }
        } else if (!x.too_big && x.rc != CURLE_FILESIZE_EXCEEDED) {
            rk = transport_retry(x.rc);
        }
        char line[1024];
        /* formatted only when it is logged (req_log drops it below info):
         * snprintf of the two reals was 0.7 % of a parallel apply (perf4) */
        if (fbi_log_level() >= FB_LOG_INFO) {
            if (x.rc == CURLE_OK)
                snprintf(line, sizeof line, "http %s %s %s -> %ld%s%s attempt=%u/%u %.0fms wait=%.0fms service=%s",
                         req->method, nm.host, nm.path, x.status, code ? " " : "", code ? code : "",
                         attempt, max_attempts, x.ms, x.wait_ms, nm.service);
            else
                snprintf(line, sizeof line, "http %s %s %s -> failed (%s) attempt=%u/%u %.0fms wait=%.0fms service=%s",
                         req->method, nm.host, nm.path, xfer_error(&x), attempt, max_attempts, x.ms,
                         x.wait_ms, nm.service);
            req_log(call, req, line);
        }

        /* a 2xx gave its quota back in drain (x.release_ok) */
        /* Decide whether to try again. */
        const char *stop_why = NULL;
        char whybuf[160];
        if (rk == RETRY_NO) {
            stop_why = "";
        } else if (!may_retry) {
            stop_why = "not retried because the request is not idempotent (it carries neither "
                       "FB_HTTP_IDEMPOTENT nor FB_HTTP_TOKEN_GUARDED)";
        } else if (attempt >= max_attempts) {
            snprintf(whybuf, sizeof whybuf, "gave up after %u attempts (http.max_attempts)", attempt);
            stop_why = whybuf;
        } else {
            long cost = rk == RETRY_TIMEOUT ? timeout_cost : retry_cost;
            pthread_mutex_lock(&c->mu);
            int ok = fbi_retry_quota_acquire(&x.svc->quota, cost);
            if (!ok) c->stats.quota_refusals++;
            long left = x.svc->quota.available;
            pthread_mutex_unlock(&c->mu);
            if (!ok) {
                snprintf(whybuf, sizeof whybuf,
                         "not retried: the retry quota of service %s is exhausted (%ld left, %ld needed)",
                         nm.service, left, cost);
                stop_why = whybuf;
            } else {
                acquired = cost;
            }
        }
        if (stop_why) {
            if (*stop_why && rk != RETRY_NO) {
                snprintf(line, sizeof line, "http %s %s %s: %s", req->method, nm.host, nm.path, stop_why);
                req_log(call, req, line);
            }
            if (x.rc == CURLE_OK) {
                xfer_to_response(&x, resp);
                st = FB_OK;
            } else if (x.too_big || x.rc == CURLE_FILESIZE_EXCEEDED) {
                char *m = fbi_xasprintf("the response exceeds the limit of %llu bytes",
                                        (unsigned long long)x.max_response);
                req_error(d, req, &nm, m, "raise http.max_response_bytes in the broker configuration, "
                                          "or ask for less (pagination, filters)");
                free(m);
                st = FB_INVALID;
            } else if (x.rc == CURLE_PEER_FAILED_VERIFICATION || x.rc == CURLE_SSL_CACERT_BADFILE) {
                char *m = fbi_xasprintf("TLS verification failed: %s", xfer_error(&x));
                req_error(d, req, &nm, m,
                          req->tls_ca_pem ? "the server's certificate is not signed by the CA the driver was given "
                                            "(e.g. a kubeconfig's certificate-authority): check that it is this "
                                            "server's CA"
                                          : "the server's certificate is not trusted; for a private CA "
                                            "set http.ca_file (or FEDBROKER_CA_BUNDLE) to its PEM bundle");
                free(m);
                st = FB_AUTH;
            } else {
                char *m = *stop_why ? fbi_xasprintf("%s; %s", xfer_error(&x), stop_why)
                                    : fbi_xasprintf("%s", xfer_error(&x));
                req_error(d, req, &nm, m,
                          rk == RETRY_NO ? "check the URL and that the endpoint is reachable"
                          : may_retry    ? "the endpoint kept failing; try again later"
                                         : "the request may or may not have been applied; check the "
                                           "resource's state before sending it again");
                free(m);
                st = rk == RETRY_NO && x.rc != CURLE_ABORTED_BY_CALLBACK ? FB_INTERNAL : FB_RETRYABLE;
                if (rk == RETRY_NO && (x.rc == CURLE_URL_MALFORMAT || x.rc == CURLE_UNSUPPORTED_PROTOCOL))
                    st = FB_INVALID;
            }
            free(code);
            /* one provider call, its final answer (0: none) and retries */
            fbi_http_metrics_note(call ? call->driver : NULL, nm.service, call ? call->verb : NULL,
                                  x.rc == CURLE_OK ? x.status : 0, attempt - 1,
                                  (fbi_mono_ms() - t_start) / 1000.0);
            break;
        }
        /* Back off: full jitter, or the server's Retry-After when longer. */
        pthread_mutex_lock(&c->mu);
        uint64_t r = fbi_http_rand_next(&c->rng);
        pthread_mutex_unlock(&c->mu);
        uint64_t delay = fbi_http_backoff_ms(r, attempt, base, max_backoff);
        const char *ra = x.rc == CURLE_OK ? xfer_header(&x, "Retry-After") : NULL;
        uint64_t ra_ms;
        if (ra && fbi_http_parse_retry_after(ra, (int64_t)time(NULL), &ra_ms) == 0) {
            if (ra_ms > max_ra) ra_ms = max_ra;
            if (ra_ms > delay) delay = ra_ms;
        }
        snprintf(line, sizeof line, "http %s %s %s: retrying in %llums (%s%s%s)", req->method, nm.host,
                 nm.path, (unsigned long long)delay,
                 rk == RETRY_THROTTLE ? "throttled" : rk == RETRY_TIMEOUT ? "timeout" : "transient",
                 code ? " " : "", code ? code : "");
        req_log(call, req, line);
        free(code);
        pthread_mutex_lock(&c->mu);
        c->stats.retries++;
        c->stats.backoff_ms += delay;
        c->stats.last_backoff_ms = delay;
        pthread_mutex_unlock(&c->mu);
        scaled_sleep(sleep_scale, delay);
    }

out:
    xfer_reset(&x);
    curl_slist_free_all(x.headers);
    curl_slist_free_all(x.connect_to);
    free(x.ca_file);
    free(x.url);
    sem_destroy(&x.done);
    req_name_free(&nm);
    return st;
}

fb_status fbi_http_perform(fb_diag *d, const fb_http_request *req, fb_http_response *resp)
{
    fbi_call *call = fbi_call_of(d);
    return fbi_http_client_perform(call ? call->http : NULL, d, req, resp);
}

void fbi_http_free(fb_http_response *resp)
{
    if (!resp) return;
    free(resp->headers); /* its strings are in the same block (xfer_to_response) */
    free(resp->body);
    memset(resp, 0, sizeof *resp);
}

json_t *fbi_http_request_json(const fb_http_request *req)
{
    json_t *o = json_object();
    json_object_set_new(o, "method", json_string(req->method));
    char *url = redact(req->url, strlen(req->url), req);
    json_object_set_new(o, "url", json_string(url));
    free(url);
    json_t *h = json_object();
    for (size_t i = 0; i < req->n_headers; i++) {
        const char *v = req->headers[i].value;
        char *rv = redact(v, strlen(v), req);
        json_object_set_new(h, req->headers[i].name, json_string(rv));
        free(rv);
    }
    json_object_set_new(o, "headers", h);
    char *body = redact(req->body ? req->body : "", req->body_len, req);
    json_t *bj = json_string(body);
    if (!bj) bj = json_stringn_nocheck(body, strlen(body));
    json_object_set_new(o, "body", bj);
    free(body);
    return o;
}
