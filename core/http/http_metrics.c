/* http_metrics.c - provider-call metrics (http.h, docs/serve.md): every
 * request a driver makes through the host's HTTP service is one
 * observation (provider, service, verb, status class, retries, seconds).
 * In a process started by `fedbroker serve` (an operation: plan, apply,
 * destroy, the reconciler's status) FEDBROKER_METRICS_FD names a socket
 * to serve, and each observation is sent there as one line; serve adds
 * the lines it receives to its table under the operation's kind, and its
 * own calls under "serve", and /metrics prints the table. */
#include "config.h"
#include "http/http.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

/* the histogram's upper bounds in seconds (+Inf implied) */
static const double BOUNDS[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
#define NB (sizeof BOUNDS / sizeof *BOUNDS)
/* label sets kept at most: the labels come from drivers (service names)
 * and URLs' hosts, so the table is bounded; past it, observations are
 * counted under provider, service and verb "overflow" */
#define MAX_SERIES 512
#define LABEL_MAX 64
/* room past MAX_SERIES for the overflow series (operation x class) */
#define OVERFLOW_ROOM 64

typedef struct series {
    char op[LABEL_MAX], provider[LABEL_MAX], service[LABEL_MAX], verb[LABEL_MAX], cls[8];
    unsigned long count, retries;
    unsigned long buckets[NB]; /* not cumulative: observations with bound[i-1] < s <= bound[i] */
    double sum;
} series;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static series *table;
static size_t nseries;
static unsigned long malformed; /* reports from subprocesses that did not parse */

static pthread_once_t fd_once = PTHREAD_ONCE_INIT;
static int report_fd = -1; /* FEDBROKER_METRICS_FD, or -1 */

static void fd_init(void)
{
    const char *s = getenv(FBI_METRICS_FD_ENV);
    if (!s || !*s) return;
    char *end = NULL;
    long fd = strtol(s, &end, 10);
    if (*end || fd < 3 || fd > 65535 || fcntl((int)fd, F_GETFD) < 0) return;
    /* for this process only: a command it runs does not report here */
    fcntl((int)fd, F_SETFD, FD_CLOEXEC);
    report_fd = (int)fd;
}

/* dst = src with every byte outside [A-Za-z0-9_.:-] as '_', at most
 * LABEL_MAX - 1 bytes; "none" when src is NULL or empty. Label values
 * then need no escaping in the exposition format. */
static void label(char dst[LABEL_MAX], const char *src, size_t n)
{
    if (!src || !n) {
        snprintf(dst, LABEL_MAX, "none");
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < n && k < LABEL_MAX - 1; i++) {
        unsigned char c = (unsigned char)src[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                 c == '.' || c == ':' || c == '-';
        dst[k++] = ok ? (char)c : '_';
    }
    dst[k] = 0;
}

static const char *status_class(long status)
{
    switch (status / 100) {
    case 1: return "1xx";
    case 2: return "2xx";
    case 3: return "3xx";
    case 4: return "4xx";
    case 5: return "5xx";
    default: return "error"; /* no answer: refused, reset, timed out */
    }
}

/* Adds one observation (labels already clean) under the lock. */
static void add(const char *op, const char *provider, const char *service, const char *verb,
                const char *cls, unsigned retries, double seconds)
{
    pthread_mutex_lock(&mu);
    series *s = NULL;
    for (int pass = 0; pass < 2 && !s; pass++) {
        for (size_t i = 0; i < nseries; i++) {
            series *t = &table[i];
            if (!strcmp(t->op, op) && !strcmp(t->provider, provider) && !strcmp(t->service, service) &&
                !strcmp(t->verb, verb) && !strcmp(t->cls, cls)) {
                s = t;
                break;
            }
        }
        if (s) break;
        if (nseries < MAX_SERIES || pass == 1) {
            if (!table) table = fbi_xcalloc(MAX_SERIES + OVERFLOW_ROOM, sizeof *table);
            if (nseries == MAX_SERIES + OVERFLOW_ROOM) break; /* dropped: more operations x classes than room */
            s = &table[nseries++];
            memset(s, 0, sizeof *s);
            snprintf(s->op, sizeof s->op, "%s", op);
            snprintf(s->provider, sizeof s->provider, "%s", provider);
            snprintf(s->service, sizeof s->service, "%s", service);
            snprintf(s->verb, sizeof s->verb, "%s", verb);
            snprintf(s->cls, sizeof s->cls, "%s", cls);
        } else {
            provider = service = verb = "overflow";
        }
    }
    if (s) {
        s->count++;
        s->retries += retries;
        s->sum += seconds;
        size_t b = 0;
        while (b < NB && seconds > BOUNDS[b]) b++;
        if (b < NB) s->buckets[b]++;
    }
    pthread_mutex_unlock(&mu);
}

void fbi_http_metrics_note(const char *provider, const char *service, const char *verb, long status,
                           unsigned retries, double seconds)
{
    pthread_once(&fd_once, fd_init);
    char p[LABEL_MAX], s[LABEL_MAX], v[LABEL_MAX];
    label(p, provider, provider ? strlen(provider) : 0);
    label(s, service, service ? strlen(service) : 0);
    label(v, verb, verb ? strlen(verb) : 0);
    if (seconds < 0) seconds = 0;
    if (report_fd >= 0) {
        /* one message per observation (SOCK_SEQPACKET: never interleaved
         * with another thread's); MSG_NOSIGNAL: a serve that went away
         * must not kill the command in the middle of its work */
        char line[4 * LABEL_MAX + 64];
        int n = snprintf(line, sizeof line, "1 %s %s %s %ld %u %.6f\n", p, s, v, status, retries, seconds);
        while (send(report_fd, line, (size_t)n, MSG_NOSIGNAL) < 0 && errno == EINTR) {
        }
        return;
    }
    add("serve", p, s, v, status_class(status), retries, seconds);
}

/* The next space-separated field of *p (end e) into out; 0 or -1. */
static int field(const char **p, const char *e, const char **start, size_t *len)
{
    const char *q = *p;
    if (q >= e) return -1;
    const char *sp = memchr(q, ' ', (size_t)(e - q));
    const char *end = sp ? sp : e;
    if (end == q) return -1;
    *start = q;
    *len = (size_t)(end - q);
    *p = sp ? sp + 1 : e;
    return 0;
}

static int parse_long(const char *s, size_t n, long lo, long hi, long *out)
{
    char buf[24];
    if (n == 0 || n >= sizeof buf) return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    char *end = NULL;
    errno = 0;
    long v = strtol(buf, &end, 10);
    if (errno || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

int fbi_http_metrics_ingest(const char *operation, const char *line, size_t n)
{
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\0')) n--;
    const char *p = line, *e = line + n, *f[7];
    size_t fl[7];
    int bad = 0;
    for (int i = 0; i < 7 && !bad; i++) bad = field(&p, e, &f[i], &fl[i]) != 0;
    long status = 0, retries = 0;
    double seconds = -1;
    if (!bad && p == e && fl[0] == 1 && f[0][0] == '1' && parse_long(f[4], fl[4], 0, 999, &status) == 0 &&
        parse_long(f[5], fl[5], 0, 1000000, &retries) == 0 && fl[6] < 32) {
        char buf[32], *end = NULL;
        memcpy(buf, f[6], fl[6]);
        buf[fl[6]] = 0;
        seconds = strtod(buf, &end);
        if (*end || !(seconds >= 0 && seconds < 1e7)) seconds = -1;
    }
    if (seconds < 0) {
        pthread_mutex_lock(&mu);
        malformed++;
        pthread_mutex_unlock(&mu);
        return -1;
    }
    char o[LABEL_MAX], pr[LABEL_MAX], sv[LABEL_MAX], vb[LABEL_MAX];
    label(o, operation, operation ? strlen(operation) : 0);
    label(pr, f[1], fl[1]);
    label(sv, f[2], fl[2]);
    label(vb, f[3], fl[3]);
    add(o, pr, sv, vb, status_class(status), (unsigned)retries, seconds);
    return 0;
}

void fbi_http_metrics_text(fbi_buf *b)
{
    pthread_mutex_lock(&mu);
    fbi_buf_puts(b, "# HELP fedbroker_provider_requests_total Requests drivers made to providers through the "
                    "host's HTTP service, by the operation that ran them, provider, service, driver verb and the "
                    "status class of the final answer (error: none).\n"
                    "# TYPE fedbroker_provider_requests_total counter\n");
#define LABELS "operation=\"%s\",provider=\"%s\",service=\"%s\",verb=\"%s\",class=\"%s\""
#define LABARGS(s) (s)->op, (s)->provider, (s)->service, (s)->verb, (s)->cls
    for (size_t i = 0; i < nseries; i++)
        fbi_buf_printf(b, "fedbroker_provider_requests_total{" LABELS "} %lu\n", LABARGS(&table[i]),
                       table[i].count);
    fbi_buf_puts(b, "# HELP fedbroker_provider_retries_total Attempts after the first of those requests "
                    "(each request's retries: attempts sent = requests + retries).\n"
                    "# TYPE fedbroker_provider_retries_total counter\n");
    for (size_t i = 0; i < nseries; i++)
        fbi_buf_printf(b, "fedbroker_provider_retries_total{" LABELS "} %lu\n", LABARGS(&table[i]),
                       table[i].retries);
    fbi_buf_puts(b, "# HELP fedbroker_provider_request_duration_seconds Time of each of those requests, "
                    "retries and their back-off included.\n"
                    "# TYPE fedbroker_provider_request_duration_seconds histogram\n");
    for (size_t i = 0; i < nseries; i++) {
        const series *s = &table[i];
        unsigned long cum = 0;
        for (size_t k = 0; k < NB; k++) {
            cum += s->buckets[k];
            fbi_buf_printf(b, "fedbroker_provider_request_duration_seconds_bucket{" LABELS ",le=\"%g\"} %lu\n",
                           LABARGS(s), BOUNDS[k], cum);
        }
        fbi_buf_printf(b, "fedbroker_provider_request_duration_seconds_bucket{" LABELS ",le=\"+Inf\"} %lu\n",
                       LABARGS(s), s->count);
        fbi_buf_printf(b, "fedbroker_provider_request_duration_seconds_sum{" LABELS "} %.6f\n", LABARGS(s), s->sum);
        fbi_buf_printf(b, "fedbroker_provider_request_duration_seconds_count{" LABELS "} %lu\n", LABARGS(s),
                       s->count);
    }
#undef LABELS
#undef LABARGS
    fbi_buf_printf(b, "# HELP fedbroker_provider_reports_malformed_total Lines from operations' metrics socket "
                      "that did not parse (ignored).\n"
                      "# TYPE fedbroker_provider_reports_malformed_total counter\n"
                      "fedbroker_provider_reports_malformed_total %lu\n",
                   malformed);
    pthread_mutex_unlock(&mu);
}

void fbi_http_metrics_reset(void)
{
    pthread_mutex_lock(&mu);
    free(table);
    table = NULL;
    nseries = 0;
    malformed = 0;
    pthread_mutex_unlock(&mu);
}
