/* util.c - buffers, files, strings, JSON hashing and time for core modules. */
#include "config.h"
#include "base/util.h"
#include "base/jsonwrite.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

/* Out of memory is not recoverable in a CLI broker; fail loudly and early. */
static void oom(size_t n)
{
    fprintf(stderr, "fedbroker: out of memory allocating %zu bytes\n", n);
    abort();
}

void *fbi_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

void *fbi_xcalloc(size_t n, size_t m)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (!p) oom(n * m);
    return p;
}

void *fbi_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n);
    return q;
}

char *fbi_xstrdup(const char *s)
{
    return fbi_xstrndup(s, strlen(s));
}

char *fbi_xstrndup(const char *s, size_t n)
{
    char *p = fbi_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *fbi_xasprintf(const char *fmt, ...)
{
    fbi_buf b;
    va_list ap;
    fbi_buf_init(&b);
    va_start(ap, fmt);
    fbi_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    return fbi_buf_steal(&b);
}

void fbi_buf_init(fbi_buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
}

void fbi_buf_free(fbi_buf *b)
{
    free(b->data);
    fbi_buf_init(b);
}

/* Grow geometrically so appending n bytes one at a time stays linear. */
static void buf_reserve(fbi_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap *= 2;
    b->data = fbi_xrealloc(b->data, cap);
    b->cap = cap;
}

void fbi_buf_append(fbi_buf *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void fbi_buf_puts(fbi_buf *b, const char *s)
{
    fbi_buf_append(b, s, strlen(s));
}

void fbi_buf_putc(fbi_buf *b, char c)
{
    fbi_buf_append(b, &c, 1);
}

void fbi_buf_vprintf(fbi_buf *b, const char *fmt, va_list ap)
{
    /* One pass when the output fits in the buffer's spare room (made at
     * least 64 bytes, 200 for a new buffer), a second only when it does
     * not: measuring first formatted everything twice, and vsnprintf's
     * setup is most of the cost of a short line (~4 % of a parallel
     * apply's instructions, bench/README-aws.md, perf4). */
    buf_reserve(b, b->cap ? 63 : 200);
    size_t room = b->cap - b->len;
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(b->data + b->len, room, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        b->data[b->len] = '\0';
        return;
    }
    if ((size_t)n >= room) {
        buf_reserve(b, (size_t)n);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    }
    b->len += (size_t)n;
}

void fbi_buf_printf(fbi_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fbi_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

char *fbi_buf_steal(fbi_buf *b)
{
    char *p = b->data ? b->data : fbi_xstrdup("");
    fbi_buf_init(b);
    return p;
}

char *fbi_read_file(const char *path, size_t max_bytes, size_t *len_out,
                    char **err)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        *err = fbi_xasprintf("%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    fbi_buf b;
    fbi_buf_init(&b);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > max_bytes) {
            *err = fbi_xasprintf("%s: file is larger than the limit of %zu bytes; "
                                 "split it or raise the limit", path, max_bytes);
            fbi_buf_free(&b);
            if (f != stdin) fclose(f);
            return NULL;
        }
        fbi_buf_append(&b, chunk, n);
    }
    int failed = ferror(f);
    if (f != stdin) fclose(f);
    if (failed) {
        *err = fbi_xasprintf("%s: read error", path);
        fbi_buf_free(&b);
        return NULL;
    }
    if (len_out) *len_out = b.len;
    return fbi_buf_steal(&b);
}

/* data to fd until all is written; 0, or -1 with errno set. */
static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int fbi_write_file_atomic(const char *path, const void *data, size_t len,
                          char **err)
{
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode)) {
            *err = fbi_xasprintf("%s: is a directory; name a file", path);
            return -1;
        }
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0) {
            *err = fbi_xasprintf("%s: cannot open: %s", path, strerror(errno));
            return -1;
        }
        int bad = write_all(fd, data, len) != 0;
        int e = errno;
        if (close(fd) != 0 && !bad) { bad = 1; e = errno; }
        if (bad) {
            *err = fbi_xasprintf("%s: write failed: %s", path, strerror(e));
            return -1;
        }
        return 0;
    }
    char *tmp = fbi_xasprintf("%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        *err = fbi_xasprintf("%s: cannot create: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    if (write_all(fd, data, len) != 0) {
        *err = fbi_xasprintf("%s: write failed: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        free(tmp);
        return -1;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        *err = fbi_xasprintf("%s: cannot flush: %s", tmp, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        *err = fbi_xasprintf("%s: cannot replace: %s", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

int fbi_mkdirs(const char *path, unsigned mode, char **err)
{
    char *p = fbi_xstrdup(path);
    for (char *s = p + 1; ; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, (mode_t)mode) != 0 && errno != EEXIST) {
                *err = fbi_xasprintf("%s: cannot create directory: %s", p,
                                     strerror(errno));
                free(p);
                return -1;
            }
            *s = c;
            if (c == '\0') break;
        }
    }
    free(p);
    return 0;
}

int fbi_utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        unsigned min;
        if (c < 0x80) { i++; continue; }
        else if ((c & 0xE0) == 0xC0) { len = 2; min = 0x80; c &= 0x1F; }
        else if ((c & 0xF0) == 0xE0) { len = 3; min = 0x800; c &= 0x0F; }
        else if ((c & 0xF8) == 0xF0) { len = 4; min = 0x10000; c &= 0x07; }
        else return 0;
        if (i + len > n) return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            c = (c << 6) | (s[i + k] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
        i += len;
    }
    return 1;
}

/* Length of the UTF-8 sequence at s (at most n bytes) and its code point,
 * or 0 when it is not well formed. */
static size_t utf8_seq(const unsigned char *s, size_t n, unsigned *cp)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80) { *cp = c; return 1; }
    if ((c & 0xE0) == 0xC0) { len = 2; min = 0x80; c &= 0x1F; }
    else if ((c & 0xF0) == 0xE0) { len = 3; min = 0x800; c &= 0x0F; }
    else if ((c & 0xF8) == 0xF0) { len = 4; min = 0x10000; c &= 0x07; }
    else return 0;
    if (len > n) return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80) return 0;
        c = (c << 6) | (s[k] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    *cp = c;
    return len;
}

char *fbi_printable(const char *s, int keep_newlines, size_t max_bytes)
{
    fbi_buf b;
    fbi_buf_init(&b);
    fbi_buf_puts(&b, "");
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t n = strlen((const char *)p), i = 0;
    while (i < n) {
        if (max_bytes && i >= max_bytes) {
            fbi_buf_puts(&b, "...");
            break;
        }
        unsigned cp = 0;
        size_t len = utf8_seq(p + i, n - i, &cp);
        if (!len) {
            fbi_buf_printf(&b, "\\x%02x", p[i]);
            i++;
            continue;
        }
        int control = cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) ||
                      (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
        if (cp == '\t' || (cp == '\n' && keep_newlines)) control = 0;
        if (control) fbi_buf_printf(&b, "\\u%04x", cp);
        else fbi_buf_append(&b, p + i, len);
        i += len;
    }
    return fbi_buf_steal(&b);
}

int fbi_str_has_suffix(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

int fbi_edit_distance(const char *a, const char *b, int cap)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) return cap + 1;
    int row[65];
    for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int prev = row[0], best;
        row[0] = (int)i;
        best = row[0];
        for (size_t j = 1; j <= lb; j++) {
            int cur = row[j];
            int cost = a[i - 1] == b[j - 1] ? 0 : 1;
            int v = prev + cost;
            if (row[j] + 1 < v) v = row[j] + 1;
            if (row[j - 1] + 1 < v) v = row[j - 1] + 1;
            row[j] = v;
            prev = cur;
            if (v < best) best = v;
        }
        if (best > cap) return cap + 1;
    }
    return row[lb] > cap ? cap + 1 : row[lb];
}

void fbi_pointer_append(fbi_buf *ptr, const char *token)
{
    fbi_buf_putc(ptr, '/');
    for (const char *s = token; *s; s++) {
        if (*s == '~') fbi_buf_puts(ptr, "~0");
        else if (*s == '/') fbi_buf_puts(ptr, "~1");
        else fbi_buf_putc(ptr, *s);
    }
}

void fbi_pointer_append_index(fbi_buf *ptr, size_t index)
{
    fbi_buf_printf(ptr, "/%zu", index);
}

char *fbi_json_canonical(const json_t *j)
{
    return fbi_json_write(j, FBI_JSON_WRITE_SORT); /* json_dumps' bytes, faster */
}

/* SHA-256 fetched from OpenSSL's default provider once per process:
 * EVP_sha256() makes every EVP_Digest look the algorithm up again (a
 * property query under a read lock: 2,300 of the 19,000 instructions the
 * audit writer spent per row; bench/README-serve.md, "Stop 25: serve16").
 * The fetched object is freed at exit, before OpenSSL's own cleanup
 * (atexit runs handlers in reverse order, and OpenSSL registered its
 * handler when the fetch initialised it). */
static EVP_MD *sha256_fetched;
static void sha256_free(void) { EVP_MD_free(sha256_fetched); }
static void sha256_fetch(void)
{
    sha256_fetched = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (sha256_fetched) atexit(sha256_free);
}

void fbi_sha256_hex(const void *data, size_t len, char out[65])
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sha256_fetch);
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, sha256_fetched ? sha256_fetched : EVP_sha256(), NULL);
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

char *fbi_put_dec(char *p, unsigned long long v)
{
    char num[20];
    size_t k = 0;
    do {
        num[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (k) *p++ = num[--k];
    return p;
}

void fbi_json_hash(const json_t *j, char out[65])
{
    char *s = fbi_json_canonical(j);
    fbi_sha256_hex(s, strlen(s), out);
    free(s);
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    /* Howard Hinnant's civil-from-days inverse, proleptic Gregorian. */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

int fbi_parse_rfc3339(const char *s, int64_t *t)
{
    int Y, M, D, h, m, sec;
    char z;
    int n = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c%n", &Y, &M, &D, &h, &m, &sec, &z, &n) != 7)
        return -1;
    if ((z != 'Z' && z != 'z') || s[n] != '\0') return -1;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60) return -1;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (D > mdays[M - 1]) return -1;
    int leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
    if (M == 2 && D == 29 && !leap) return -1;
    *t = days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 + h * 3600 + m * 60 + sec;
    return 0;
}

void fbi_format_rfc3339(int64_t t, char out[21])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int fbi_now(int64_t *t, char **err)
{
    const char *env = getenv("FEDBROKER_NOW");
    if (env && *env) {
        if (fbi_parse_rfc3339(env, t) != 0) {
            if (err)
                *err = fbi_xasprintf("FEDBROKER_NOW=%s is not an RFC 3339 UTC time; "
                                     "use the form 2015-08-30T12:36:00Z", env);
            return -1;
        }
        return 0;
    }
    *t = (int64_t)time(NULL);
    return 0;
}

double fbi_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* sched_setattr(2) for the calling thread: policy (0 SCHED_OTHER, 3
 * SCHED_BATCH), its nice level plus nice_delta (capped at 19), and a slice
 * of us microseconds (0: the kernel's). 0 when accepted, -1 otherwise. */
static int thread_attr(uint32_t policy, int nice_delta, unsigned us)
{
#if defined(__linux__) && defined(SYS_sched_setattr) && defined(SYS_gettid)
    errno = 0;
    int nice_now = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
    if (errno) return -1;
    /* the kernel's struct sched_attr, first version (48 bytes): its
     * header clashes with glibc's sched.h */
    struct {
        uint32_t size, sched_policy;
        uint64_t sched_flags;
        int32_t sched_nice;
        uint32_t sched_priority;
        uint64_t sched_runtime, sched_deadline, sched_period;
    } a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.sched_policy = policy;
    a.sched_nice = nice_now + nice_delta > 19 ? 19 : nice_now + nice_delta;
    a.sched_runtime = (uint64_t)us * 1000;
    return syscall(SYS_sched_setattr, 0, &a, 0) == 0 ? 0 : -1;
#else
    (void)policy;
    (void)nice_delta;
    (void)us;
    return -1;
#endif
}

int fbi_thread_slice(unsigned us)
{
    return thread_attr(0 /* SCHED_OTHER */, 0, us);
}

int fbi_thread_realtime(unsigned prio)
{
    if (prio < 1 || prio > 99) {
        errno = EINVAL;
        return -1;
    }
    struct sched_param sp;
    memset(&sp, 0, sizeof sp);
    sp.sched_priority = (int)prio;
    int rc = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
    if (rc != 0) errno = rc;
    return rc == 0 ? 0 : -1;
}

void fbi_mutex_init_pi(pthread_mutex_t *m)
{
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    if (pthread_mutexattr_setprotocol(&ma, PTHREAD_PRIO_INHERIT) != 0 || pthread_mutex_init(m, &ma) != 0)
        pthread_mutex_init(m, NULL);
    pthread_mutexattr_destroy(&ma);
}

int fbi_thread_background(int nice_delta)
{
    if (thread_attr(3 /* SCHED_BATCH */, nice_delta, 0) == 0) return 0;
    /* no sched_setattr: at least the nice level */
    errno = 0;
#if defined(SYS_gettid)
    int prio = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
    if (errno == 0)
        (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid),
                          prio + nice_delta > 19 ? 19 : prio + nice_delta);
#endif
    return -1;
}

double fbi_cpu_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) return 0;
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

const char *fbi_status_name(fb_status s)
{
    switch (s) {
    case FB_OK: return "ok";
    case FB_NOTSUP: return "not supported";
    case FB_INVALID: return "invalid";
    case FB_AUTH: return "auth";
    case FB_NOTFOUND: return "not found";
    case FB_CONFLICT: return "conflict";
    case FB_RETRYABLE: return "retryable";
    case FB_QUOTA: return "quota";
    case FB_INTERNAL: return "internal";
    }
    return "unknown";
}
