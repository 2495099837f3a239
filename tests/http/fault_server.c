/* fault_server.c - see fault_server.h. Test code: it aborts on allocation
 * failure and keeps its bookkeeping simple. */
#include "config.h"
#include "fault_server.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_KEYS 1024
#define MAX_ARRIVALS 100000

struct fts {
    struct MHD_Daemon *d;
    unsigned short port;
    unsigned latency_ms;
    char *cert, *key;
    pthread_mutex_t mu;
    char *keys[MAX_KEYS];
    unsigned counts[MAX_KEYS];
    size_t n_keys;
    unsigned total, connections, inflight, max_inflight;
    double *arrivals;
    size_t n_arrivals;
    atomic_int stopping;
};

/* Per request state across the access handler's calls. */
typedef struct rq {
    char *body;
    size_t len;
    int counted; /* still counted as in flight */
} rq;

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Sleeps in small steps so fts_stop never waits long for a handler. */
static void nap(fts *s, unsigned ms)
{
    double end = mono_ms() + ms;
    while (!atomic_load(&s->stopping)) {
        double left = end - mono_ms();
        if (left <= 0) break;
        struct timespec ts = {0, (long)((left > 10 ? 10 : left) * 1e6)};
        nanosleep(&ts, NULL);
    }
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

static char *xstrdup(const char *s)
{
    char *p = xmalloc(strlen(s) + 1);
    strcpy(p, s);
    return p;
}

/* Counts an attempt of key; returns its number (1-based). Lock held. */
static unsigned count_key(fts *s, const char *key)
{
    for (size_t i = 0; i < s->n_keys; i++)
        if (strcmp(s->keys[i], key) == 0) return ++s->counts[i];
    if (s->n_keys == MAX_KEYS) return 1;
    s->keys[s->n_keys] = xstrdup(key);
    s->counts[s->n_keys] = 1;
    return s->counts[s->n_keys++];
}

static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
    (void)kind;
    json_object_set_new(cls, k, json_string(v ? v : ""));
    return MHD_YES;
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *ctype,
                                 const char *body, size_t len, const char *h1, const char *v1)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    if (ctype) MHD_add_response_header(r, "Content-Type", ctype);
    if (h1) MHD_add_response_header(r, h1, v1);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static ssize_t chunk_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    uint64_t total = (uint64_t)(uintptr_t)cls;
    if (pos >= total) return MHD_CONTENT_READER_END_OF_STREAM;
    size_t n = total - pos < max ? (size_t)(total - pos) : max;
    if (n > 512) n = 512;
    memset(buf, 'y', n);
    return (ssize_t)n;
}

/* The request is no longer in flight (called before answering, so a
 * client cannot see the answer before the server stops counting it). */
static void leave(fts *s, rq *r)
{
    if (!r->counted) return;
    r->counted = 0;
    pthread_mutex_lock(&s->mu);
    s->inflight--;
    pthread_mutex_unlock(&s->mu);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    fts *s = cls;
    (void)version;
    rq *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r) return MHD_NO;
        r->counted = 1;
        *con_cls = r;
        pthread_mutex_lock(&s->mu);
        s->total++;
        if (++s->inflight > s->max_inflight) s->max_inflight = s->inflight;
        if (s->n_arrivals < MAX_ARRIVALS) s->arrivals[s->n_arrivals++] = mono_ms();
        pthread_mutex_unlock(&s->mu);
        return MHD_YES;
    }
    if (*upload_size) {
        r->body = realloc(r->body, r->len + *upload_size + 1);
        if (!r->body) abort();
        memcpy(r->body + r->len, upload, *upload_size);
        r->len += *upload_size;
        r->body[r->len] = '\0';
        *upload_size = 0;
        return MHD_YES;
    }
    /* The whole request is in: pick the action. */
    char key[256] = "", action[64] = "ok";
    unsigned attempt = 1;
    if (strncmp(url, "/k/", 3) == 0) {
        const char *k = url + 3, *slash = strchr(k, '/');
        size_t kl = slash ? (size_t)(slash - k) : strlen(k);
        if (kl >= sizeof key) kl = sizeof key - 1;
        memcpy(key, k, kl);
        key[kl] = '\0';
        pthread_mutex_lock(&s->mu);
        attempt = count_key(s, key);
        pthread_mutex_unlock(&s->mu);
        if (slash) {
            const char *plan = slash + 1, *end = strchr(plan, '/');
            size_t pl = end ? (size_t)(end - plan) : strlen(plan);
            unsigned i = 1;
            const char *p = plan;
            for (;;) {
                const char *comma = memchr(p, ',', pl - (size_t)(p - plan));
                size_t al = comma ? (size_t)(comma - p) : pl - (size_t)(p - plan);
                if (i == attempt || !comma) {
                    if (al >= sizeof action) al = sizeof action - 1;
                    memcpy(action, p, al);
                    action[al] = '\0';
                    break;
                }
                p = comma + 1;
                i++;
            }
        }
    }
    if (s->latency_ms) nap(s, s->latency_ms);
    unsigned n = 0;
    if (strcmp(action, "reset") == 0) {
        leave(s, r);
        return MHD_NO;
    }
    if (sscanf(action, "delay%u", &n) == 1) {
        nap(s, n);
        strcpy(action, "ok");
    }
    enum MHD_Result ret;
    char buf[256];
    if (strcmp(action, "ok") == 0) {
        json_t *o = json_object(), *h = json_object();
        json_object_set_new(o, "method", json_string(method));
        json_object_set_new(o, "path", json_string(url));
        MHD_get_connection_values(conn, MHD_HEADER_KIND, add_header, h);
        json_object_set_new(o, "headers", h);
        json_object_set_new(o, "body", json_stringn_nocheck(r->body ? r->body : "", r->len));
        json_object_set_new(o, "attempt", json_integer(attempt));
        char *txt = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(o);
        leave(s, r);
        ret = send_text(conn, 200, "application/json", txt, strlen(txt), NULL, NULL);
        free(txt);
    } else if (strcmp(action, "429") == 0) {
        const char *b = "{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}";
        leave(s, r);
        ret = send_text(conn, 429, "application/x-amz-json-1.1", b, strlen(b), NULL, NULL);
    } else if (strcmp(action, "throttle") == 0) {
        const char *b = "{\"__type\":\"com.amazon.coral.availability#ThrottlingException\","
                        "\"message\":\"Rate exceeded\"}";
        leave(s, r);
        ret = send_text(conn, 400, "application/x-amz-json-1.1", b, strlen(b), NULL, NULL);
    } else if (strcmp(action, "hdrthrottle") == 0) {
        const char *b = "{\"message\":\"Rate exceeded\"}";
        leave(s, r);
        ret = send_text(conn, 400, "application/json", b, strlen(b), "X-Amzn-ErrorType",
                        "TooManyRequestsException:http://internal.amazon.com/coral/com.amazonaws.lambda/");
    } else if (strcmp(action, "xmlthrottle") == 0) {
        const char *b = "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error>"
                        "<Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message>"
                        "</Error><RequestId>1b2c</RequestId></ErrorResponse>";
        leave(s, r);
        ret = send_text(conn, 400, "text/xml", b, strlen(b), NULL, NULL);
    } else if (strcmp(action, "invalid") == 0) {
        const char *b = "{\"__type\":\"ValidationException\",\"message\":\"bad\"}";
        leave(s, r);
        ret = send_text(conn, 400, "application/x-amz-json-1.1", b, strlen(b), NULL, NULL);
    } else if (sscanf(action, "503ra%u", &n) == 1) {
        const char *b = "{\"__type\":\"ServiceUnavailableException\"}";
        snprintf(buf, sizeof buf, "%u", n);
        leave(s, r);
        ret = send_text(conn, 503, "application/json", b, strlen(b), "Retry-After", buf);
    } else if (sscanf(action, "503date%u", &n) == 1) {
        const char *b = "{\"__type\":\"ServiceUnavailableException\"}";
        time_t t = time(NULL) + (time_t)n;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        leave(s, r);
        ret = send_text(conn, 503, "application/json", b, strlen(b), "Retry-After", buf);
    } else if (sscanf(action, "big%u", &n) == 1) {
        char *b = xmalloc(n);
        memset(b, 'x', n);
        leave(s, r);
        ret = send_text(conn, 200, "application/octet-stream", b, n, NULL, NULL);
        free(b);
    } else if (sscanf(action, "chunk%u", &n) == 1) {
        struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 512, chunk_reader,
                                                                      (void *)(uintptr_t)n, NULL);
        leave(s, r);
        ret = resp ? MHD_queue_response(conn, 200, resp) : MHD_NO;
        if (resp) MHD_destroy_response(resp);
    } else if (sscanf(action, "%u", &n) == 1 && n >= 200 && n < 600) {
        const char *b = "{\"__type\":\"InternalFailure\",\"message\":\"injected\"}";
        leave(s, r);
        ret = send_text(conn, n, "application/json", b, strlen(b), NULL, NULL);
    } else {
        snprintf(buf, sizeof buf, "fault_server: unknown action %s\n", action);
        leave(s, r);
        ret = send_text(conn, 599, "text/plain", buf, strlen(buf), NULL, NULL);
    }
    return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t)
{
    fts *s = cls;
    (void)c;
    (void)t;
    rq *r = *con_cls;
    if (!r) return;
    leave(s, r);
    free(r->body);
    free(r);
    *con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    fts *s = cls;
    (void)c;
    (void)socket_ctx;
    if (code != MHD_CONNECTION_NOTIFY_STARTED) return;
    pthread_mutex_lock(&s->mu);
    s->connections++;
    pthread_mutex_unlock(&s->mu);
}

fts *fts_start(const char *cert_pem, const char *key_pem, unsigned latency_ms, char **err)
{
    fts *s = calloc(1, sizeof *s);
    if (!s) abort();
    pthread_mutex_init(&s->mu, NULL);
    s->latency_ms = latency_ms;
    s->arrivals = xmalloc(MAX_ARRIVALS * sizeof *s->arrivals);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = 0;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;
    if (cert_pem) {
        flags |= MHD_USE_TLS;
        s->cert = xstrdup(cert_pem);
        s->key = xstrdup(key_pem);
        s->d = MHD_start_daemon(flags, 0, NULL, NULL, handler, s, MHD_OPTION_SOCK_ADDR, &sa,
                                MHD_OPTION_NOTIFY_COMPLETED, completed, s,
                                MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
                                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                                MHD_OPTION_HTTPS_MEM_CERT, s->cert, MHD_OPTION_HTTPS_MEM_KEY, s->key,
                                MHD_OPTION_END);
    } else {
        s->d = MHD_start_daemon(flags, 0, NULL, NULL, handler, s, MHD_OPTION_SOCK_ADDR, &sa,
                                MHD_OPTION_NOTIFY_COMPLETED, completed, s,
                                MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
                                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
    }
    if (!s->d) {
        *err = xstrdup("MHD_start_daemon failed (is libmicrohttpd built with TLS for HTTPS?)");
        free(s->cert);
        free(s->key);
        free(s->arrivals);
        free(s);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : 0;
    return s;
}

void fts_stop(fts *s)
{
    if (!s) return;
    atomic_store(&s->stopping, 1);
    MHD_stop_daemon(s->d);
    for (size_t i = 0; i < s->n_keys; i++) free(s->keys[i]);
    free(s->cert);
    free(s->key);
    free(s->arrivals);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

unsigned short fts_port(const fts *s) { return s->port; }

unsigned fts_attempts(fts *s, const char *key)
{
    unsigned n = 0;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n_keys; i++)
        if (strcmp(s->keys[i], key) == 0) n = s->counts[i];
    pthread_mutex_unlock(&s->mu);
    return n;
}

#define GETTER(name, field)                      \
    unsigned name(fts *s)                        \
    {                                            \
        pthread_mutex_lock(&s->mu);              \
        unsigned v = s->field;                   \
        pthread_mutex_unlock(&s->mu);            \
        return v;                                \
    }
GETTER(fts_total, total)
GETTER(fts_connections, connections)
GETTER(fts_max_inflight, max_inflight)

size_t fts_arrivals(fts *s, double *out, size_t max)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->n_arrivals < max ? s->n_arrivals : max;
    memcpy(out, s->arrivals, n * sizeof *out);
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* PEM text of what write() puts into a memory BIO. new. */
static char *bio_text(BIO *b)
{
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    char *s = xmalloc((size_t)n + 1);
    memcpy(s, p, (size_t)n);
    s[n] = '\0';
    return s;
}

static int add_ext(X509 *cert, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
    X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ex) return -1;
    int ok = X509_add_ext(cert, ex, -1);
    X509_EXTENSION_free(ex);
    return ok ? 0 : -1;
}

int fts_make_cert(char **cert_pem, char **key_pem, char **err)
{
    *cert_pem = *key_pem = NULL;
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    BIO *bc = BIO_new(BIO_s_mem()), *bk = BIO_new(BIO_s_mem());
    int rc = -1;
    if (!pk || !x || !bc || !bk) goto out;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL));
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, pk);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"fedbroker test", -1, -1, 0);
    X509_set_issuer_name(x, name);
    if (add_ext(x, NID_basic_constraints, "critical,CA:TRUE") || add_ext(x, NID_key_usage, "critical,digitalSignature,keyCertSign")
        || add_ext(x, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost") || add_ext(x, NID_subject_key_identifier, "hash"))
        goto out;
    if (!X509_sign(x, pk, EVP_sha256())) goto out;
    if (!PEM_write_bio_X509(bc, x) || !PEM_write_bio_PrivateKey(bk, pk, NULL, NULL, 0, NULL, NULL)) goto out;
    *cert_pem = bio_text(bc);
    *key_pem = bio_text(bk);
    rc = 0;
out:
    if (rc) {
        char buf[256];
        ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
        *err = xmalloc(300);
        snprintf(*err, 300, "cannot make a test certificate: %s", buf);
    }
    BIO_free(bc);
    BIO_free(bk);
    X509_free(x);
    EVP_PKEY_free(pk);
    return rc;
}
