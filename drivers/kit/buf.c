/* buf.c - the kit's small helpers: buffers, allocation, wiping, hashing,
 * percent-encoding and UTC time formatting. Drivers link the kit statically,
 * so these cannot use core's fbi_ helpers. */
#include "config.h"
/* SHA256_Init/Update/Final are deprecated in OpenSSL 3 but kept; they
 * hash on the stack, where each EVP digest allocated and freed its
 * contexts. */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "fbk.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#if defined(OPENSSL_NO_DEPRECATED_3_0) || defined(OPENSSL_NO_SHA256)
#error "the driver kit hashes with SHA256_Init/Update/Final: build against an OpenSSL that has them (Debian's libssl-dev does)"
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Out-of-memory is not recoverable in a broker process; core does the same. */
static void oom(void)
{
    fputs("fedbroker kit: out of memory\n", stderr);
    abort();
}

/* Allocation that cannot fail silently (see oom()). */
void *fbk_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) oom();
    return p;
}

/* See fbk.h. */
void *fbk_xcalloc(size_t n, size_t m)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (!p) oom();
    return p;
}

/* See fbk.h. */
void *fbk_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) oom();
    return q;
}

/* See fbk.h. */
char *fbk_xstrdup(const char *s)
{
    return fbk_xstrndup(s, strlen(s));
}

/* See fbk.h. */
char *fbk_xstrndup(const char *s, size_t n)
{
    char *p = fbk_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* printf into a new string. */
char *fbk_xvasprintf(const char *fmt, va_list ap)
{
    fbk_buf b;
    fbk_buf_init(&b);
    fbk_buf_vprintf(&b, fmt, ap);
    return fbk_buf_steal(&b);
}

char *fbk_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = fbk_xvasprintf(fmt, ap);
    va_end(ap);
    return s;
}

/* OPENSSL_cleanse is documented not to be optimised away. */
void fbk_wipe(void *p, size_t n)
{
    if (p && n) OPENSSL_cleanse(p, n);
}

/* Wipes a secret string before it goes back to the allocator. */
void fbk_free_secret(char *s)
{
    if (!s) return;
    fbk_wipe(s, strlen(s));
    free(s);
}

/* An empty buffer owns no memory. */
void fbk_buf_init(fbk_buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
}

/* See fbk.h. */
void fbk_buf_free(fbk_buf *b)
{
    free(b->data);
    fbk_buf_init(b);
}

/* For buffers that held secrets. */
void fbk_buf_wipe(fbk_buf *b)
{
    fbk_wipe(b->data, b->cap);
    fbk_buf_free(b);
}

/* Grows geometrically; a buffer that may hold a secret is wiped when it
 * moves, so no copy of the old bytes is left in freed memory. */
static void reserve(fbk_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2) oom();
        cap *= 2;
    }
    char *p = fbk_xmalloc(cap);
    if (b->data) {
        memcpy(p, b->data, b->len);
        fbk_wipe(b->data, b->cap);
        free(b->data);
    }
    b->data = p;
    b->cap = cap;
}

/* Appends bytes and keeps the data NUL-terminated. */
void fbk_buf_append(fbk_buf *b, const void *p, size_t n)
{
    reserve(b, n);
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

/* See fbk.h. */
void fbk_buf_puts(fbk_buf *b, const char *s)
{
    fbk_buf_append(b, s, strlen(s));
}

/* See fbk.h. */
void fbk_buf_putc(fbk_buf *b, char c)
{
    fbk_buf_append(b, &c, 1);
}

/* Formats straight into the buffer (into its spare room first). */
void fbk_buf_vprintf(fbk_buf *b, const char *fmt, va_list ap)
{
    /* One pass when the output fits in the buffer's spare room (made at
     * least 64 bytes, 200 for a new buffer), a second only when it does
     * not: measuring first formatted everything twice, and vsnprintf's
     * setup is most of the cost of a short line (~4 % of a parallel
     * apply's instructions, bench/README-aws.md, perf4). */
    reserve(b, b->cap ? 63 : 200);
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
        reserve(b, (size_t)n);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    }
    b->len += (size_t)n;
}

/* See fbk.h. */
void fbk_buf_printf(fbk_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fbk_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

/* Hands the string over; never NULL so callers need no checks. */
char *fbk_buf_steal(fbk_buf *b)
{
    char *p = b->data ? b->data : fbk_xstrdup("");
    fbk_buf_init(b);
    return p;
}

/* SigV4 hashes payloads and canonical requests as lower-case hex. */

/* SHA-256 of the concatenation of two byte strings (b may be NULL when
 * blen is 0) into md, on the stack. SigV4 hashes four to six short texts
 * per request; through EVP each cost a context's allocation and provider
 * calls (EVP_MD_CTX_new, the algorithm's newctx/freectx, ~6 mallocs per
 * request), more than the hashing itself on a CPU with SHA extensions
 * (bench/README-aws.md, Stop 27). The same OpenSSL code hashes. */
static void sha256_2(const void *a, size_t alen, const void *b, size_t blen, unsigned char md[32])
{
    SHA256_CTX c;
    int ok = SHA256_Init(&c) == 1 && (!alen || SHA256_Update(&c, a, alen) == 1) &&
             (!blen || SHA256_Update(&c, b, blen) == 1) && SHA256_Final(md, &c) == 1;
    /* only when OpenSSL itself fails: an all-zero hash makes the
     * signature fail loudly rather than crash (fbk.h) */
    if (!ok) memset(md, 0, 32);
    OPENSSL_cleanse(&c, sizeof c);
}

/* RFC 2104: the key is at most one block after hashing a longer one;
 * inner and outer pads; intermediates wiped. */
void fbk_hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
                     unsigned char out[32])
{
    unsigned char k[64] = {0}, pad[64], inner[32];
    if (klen > sizeof k)
        sha256_2(key, klen, NULL, 0, k);
    else if (klen)
        memcpy(k, key, klen);
    for (size_t i = 0; i < 64; i++) pad[i] = k[i] ^ 0x36;
    sha256_2(pad, 64, msg, mlen, inner);
    for (size_t i = 0; i < 64; i++) pad[i] = k[i] ^ 0x5c;
    sha256_2(pad, 64, inner, 32, out);
    fbk_wipe(k, sizeof k);
    fbk_wipe(pad, sizeof pad);
    fbk_wipe(inner, sizeof inner);
}

void fbk_sha256_hex(const void *data, size_t len, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[32];
    sha256_2(data, len, NULL, 0, md);
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

/* RFC 3986 percent-encoding with upper-case hex, as SigV4 requires. */
void fbk_uri_encode(fbk_buf *b, const void *s, size_t n, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = s;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
            fbk_buf_putc(b, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            fbk_buf_append(b, e, 3);
        }
    }
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's algorithm,
 * public domain description). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* Inverse of days_from_civil: y/m/d of a day count since 1970. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* Splits Unix seconds into UTC calendar fields without gmtime (no locale, no TZ). */
static void split_time(int64_t t, int *Y, unsigned *M, unsigned *D, int *h, int *mi, int *s)
{
    int64_t days = t / 86400, rem = t % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    int64_t y;
    civil_from_days(days, &y, M, D);
    *Y = (int)y;
    *h = (int)(rem / 3600);
    *mi = (int)(rem % 3600 / 60);
    *s = (int)(rem % 60);
}

/* The X-Amz-Date form. */
void fbk_format_amz_date(int64_t t, char out[17])
{
    int Y, h, mi, s;
    unsigned M, D;
    split_time(t, &Y, &M, &D, &h, &mi, &s);
    if (Y < 0 || Y > 9999) Y = 0;
    /* digits written directly: every signed request formats one (an
     * snprintf was ~2,900 instructions, bench/README-aws.md, Stop 26) */
    const int v[7] = {Y / 100, Y % 100, (int)M, (int)D, h, mi, s};
    static const int at[7] = {0, 2, 4, 6, 9, 11, 13};
    for (int i = 0; i < 7; i++) {
        out[at[i]] = (char)('0' + v[i] / 10 % 10);
        out[at[i] + 1] = (char)('0' + v[i] % 10);
    }
    out[8] = 'T';
    out[15] = 'Z';
    out[16] = '\0';
}

/* The form STS and logs use. */
void fbk_format_rfc3339(int64_t t, char out[21])
{
    int Y, h, mi, s;
    unsigned M, D;
    split_time(t, &Y, &M, &D, &h, &mi, &s);
    if (Y < 0 || Y > 9999) Y = 0;
    snprintf(out, 21, "%04d-%02u-%02uT%02d:%02d:%02dZ", Y, M, D, h, mi, s);
}

/* Reads exactly n decimal digits. */
static int digits(const char *s, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        *v = *v * 10 + (s[i] - '0');
    }
    return 0;
}

/* Strict UTC-only parse: credentials expiry must not be misread. */
int fbk_parse_rfc3339(const char *s, int64_t *t)
{
    int Y, M, D, h, mi, sec;
    if (!s || strlen(s) < 20) return -1;
    if (digits(s, 4, &Y) || s[4] != '-' || digits(s + 5, 2, &M) || s[7] != '-' ||
        digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) ||
        s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &sec))
        return -1;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9') return -1;
        while (*p >= '0' && *p <= '9') p++;
    }
    if ((p[0] == 'Z' || p[0] == 'z') && p[1] == '\0') {
        /* UTC */
    } else if (strcmp(p, "+00:00") == 0 || strcmp(p, "-00:00") == 0) {
        /* UTC spelled as an offset */
    } else {
        return -1;
    }
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (M < 1 || M > 12 || D < 1 || (unsigned)D > mdays[M - 1] || h > 23 || mi > 59 || sec > 60)
        return -1;
    int leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
    if (M == 2 && D == 29 && !leap) return -1;
    *t = days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 + h * 3600 + mi * 60 + (sec == 60 ? 59 : sec);
    return 0;
}

/* Endpoints come from the configuration and receive signed requests: a
 * file:// URL, a user:password@ part or a missing host is a mistake worth
 * refusing when the driver is configured rather than at the first send. */
const char *fbk_endpoint_problem(const char *url)
{
    const char *p;
    if (!url) return "it is not a string";
    if (!strncmp(url, "https://", 8)) p = url + 8;
    else if (!strncmp(url, "http://", 7)) p = url + 7;
    else return "only http:// and https:// URLs are accepted";
    size_t host = strcspn(p, "/?#");
    if (host == 0) return "the URL has no host";
    for (const char *q = url; *q; q++)
        if ((unsigned char)*q <= ' ' || *q == 0x7f) return "the URL contains a space or a control character";
    if (memchr(p, '@', host)) return "the URL has a user-info part (user:password@); credentials never go in endpoints";
    return NULL;
}
