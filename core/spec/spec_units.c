/* spec_units.c - exact parsing of the spec's quantities (bytes, cores,
 * durations, money) and the explanation of name rules per provider.
 * Everything is integer or exact-decimal arithmetic: no float sums. */
#include "config.h"
#include "base/decimal.h"
#include "spec/spec.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Parses a run of decimal digits into *out; returns the count of digits
 * read, or -1 on overflow. */
static int parse_digits(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    int n = 0;
    while (isdigit((unsigned char)s[n])) {
        unsigned d = (unsigned)(s[n] - '0');
        if (v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
        n++;
    }
    *out = v;
    return n;
}

static int mul_ok(uint64_t a, uint64_t b, uint64_t *out)
{
    if (a != 0 && b > UINT64_MAX / a) return 0;
    *out = a * b;
    return 1;
}

/* Value of a decimal "INT[.FRAC]" times unit, rounded up; frac points at
 * the digits after the dot (or NULL). 0, or -1 on overflow. */
static int decimal_times(uint64_t ip, const char *frac, size_t nfrac, uint64_t unit,
                         uint64_t *out)
{
    uint64_t whole;
    if (!mul_ok(ip, unit, &whole)) return -1;
    uint64_t fnum = 0, pow10 = 1;
    int extra = 0;
    for (size_t i = 0; i < nfrac; i++) {
        if (i < 9) {
            fnum = fnum * 10 + (uint64_t)(frac[i] - '0');
            pow10 *= 10;
        } else if (frac[i] != '0') {
            extra = 1;
        }
    }
    uint64_t prod = fnum * unit; /* < 10^9 * unit, unit <= 3.6e6 */
    uint64_t q = prod / pow10;
    if (prod % pow10 != 0 || extra) q++;
    if (whole > UINT64_MAX - q) return -1;
    *out = whole + q;
    return 0;
}

int fbi_parse_bytes(const json_t *v, uint64_t *bytes, char **err)
{
    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0) {
            *err = fbi_xstrdup("a byte quantity cannot be negative");
            return -1;
        }
        *bytes = (uint64_t)json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v)) {
        *err = fbi_xstrdup("a byte quantity is a string such as \"512Mi\" or an integer");
        return -1;
    }
    const char *s = json_string_value(v);
    uint64_t n;
    int nd = parse_digits(s, &n);
    if (nd < 0) {
        *err = fbi_xasprintf("\"%.60s\" is too large", s);
        return -1;
    }
    if (nd == 0) {
        *err = fbi_xasprintf("\"%.60s\" does not start with digits", s);
        return -1;
    }
    static const struct { const char *suf; uint64_t mul; } sfx[] = {
        {"", 1},
        {"Ki", 1024ull}, {"Mi", 1024ull * 1024}, {"Gi", 1024ull * 1024 * 1024},
        {"Ti", 1024ull * 1024 * 1024 * 1024},
        {"K", 1000ull}, {"M", 1000ull * 1000}, {"G", 1000ull * 1000 * 1000},
        {"T", 1000ull * 1000 * 1000 * 1000},
    };
    for (size_t i = 0; i < sizeof sfx / sizeof *sfx; i++) {
        if (strcmp(s + nd, sfx[i].suf) != 0) continue;
        if (!mul_ok(n, sfx[i].mul, bytes) || *bytes > (uint64_t)INT64_MAX) {
            *err = fbi_xasprintf("\"%.60s\" is too large", s);
            return -1;
        }
        return 0;
    }
    *err = fbi_xasprintf("\"%.60s\" has an unknown unit \"%.60s\"; use Ki, Mi, Gi, Ti (powers of "
                         "1024) or K, M, G, T (powers of 1000)", s, s + nd);
    return -1;
}

int fbi_parse_cpu(const json_t *v, int64_t *millis, char **err)
{
    if (json_is_integer(v)) {
        json_int_t n = json_integer_value(v);
        if (n < 0 || n > 1000000) {
            *err = fbi_xasprintf("%lld cores is out of range", (long long)n);
            return -1;
        }
        *millis = (int64_t)n * 1000;
        return 0;
    }
    if (json_is_real(v)) {
        double x = json_real_value(v);
        if (!isfinite(x) || x < 0 || x > 1000000) {
            *err = fbi_xasprintf("%g cores is out of range", x);
            return -1;
        }
        double m = x * 1000.0;
        double r = nearbyint(m);
        if (fabs(m - r) > 1e-6 * (r > 1 ? r : 1)) {
            *err = fbi_xasprintf("%g cores is not a whole number of millicores; "
                                 "use at most 3 decimals", x);
            return -1;
        }
        *millis = (int64_t)r;
        return 0;
    }
    if (!json_is_string(v)) {
        *err = fbi_xstrdup("cpu is a number of cores (0.5, \"0.5\") or millicores (\"500m\")");
        return -1;
    }
    const char *s = json_string_value(v);
    uint64_t ip;
    int nd = parse_digits(s, &ip);
    if (nd <= 0 || ip > 1000000000ull) {
        *err = fbi_xasprintf("\"%.60s\" is not a cpu quantity such as \"0.5\" or \"500m\"", s);
        return -1;
    }
    if (strcmp(s + nd, "m") == 0) {
        *millis = (int64_t)ip;
        return 0;
    }
    const char *frac = NULL;
    size_t nfrac = 0;
    if (s[nd] == '.') {
        frac = s + nd + 1;
        while (isdigit((unsigned char)frac[nfrac])) nfrac++;
        if (nfrac == 0 || frac[nfrac] != '\0') frac = NULL, nfrac = (size_t)-1;
    } else if (s[nd] != '\0') {
        nfrac = (size_t)-1;
    }
    if (nfrac == (size_t)-1 || ip > 1000000) {
        *err = fbi_xasprintf("\"%.60s\" is not a cpu quantity such as \"0.5\" or \"500m\"", s);
        return -1;
    }
    for (size_t i = 3; i < nfrac; i++) {
        if (frac[i] != '0') {
            *err = fbi_xasprintf("\"%.60s\" cores is not a whole number of millicores; "
                                 "use at most 3 decimals", s);
            return -1;
        }
    }
    uint64_t m;
    decimal_times(ip, frac, nfrac < 3 ? nfrac : 3, 1000, &m);
    *millis = (int64_t)m;
    return 0;
}

int fbi_parse_duration(const char *s, int64_t *ms, char **err)
{
    uint64_t ip;
    int nd = parse_digits(s, &ip);
    if (nd < 0) {
        *err = fbi_xasprintf("\"%.60s\" is too long a duration", s);
        return -1;
    }
    if (nd == 0) goto bad;
    const char *p = s + nd;
    const char *frac = NULL;
    size_t nfrac = 0;
    if (*p == '.') {
        frac = ++p;
        while (isdigit((unsigned char)*p)) p++, nfrac++;
        if (nfrac == 0) goto bad;
    }
    uint64_t unit;
    if (strcmp(p, "ms") == 0) unit = 1;
    else if (strcmp(p, "s") == 0) unit = 1000;
    else if (strcmp(p, "m") == 0) unit = 60000;
    else if (strcmp(p, "h") == 0) unit = 3600000;
    else goto bad;
    uint64_t out;
    if (decimal_times(ip, frac, nfrac, unit, &out) != 0 || out > (uint64_t)INT64_MAX) {
        *err = fbi_xasprintf("\"%.60s\" is too long a duration", s);
        return -1;
    }
    *ms = (int64_t)out;
    return 0;
bad:
    *err = fbi_xasprintf("\"%.60s\" is not a duration such as \"30s\", \"5m\", \"120ms\" or "
                         "\"1.5s\"", s);
    return -1;
}

int fbi_parse_money(const json_t *v, int64_t *micro, char **err)
{
    if (json_is_integer(v)) {
        json_int_t n = json_integer_value(v);
        if (n < 0 || n > INT64_MAX / 1000000) {
            *err = fbi_xasprintf("%lld USD is out of range", (long long)n);
            return -1;
        }
        *micro = (int64_t)n * 1000000;
        return 0;
    }
    if (!json_is_string(v)) {
        *err = fbi_xstrdup("money is a decimal string such as \"12.50\" (USD)");
        return -1;
    }
    /* the digits are core/base/decimal.c's; the messages say what a spec
     * author can do */
    const char *s = json_string_value(v);
    int64_t m = 0;
    char *why = NULL;
    if (fbi_dec_parse(s, 6, 0, &m, &why) == 0) {
        *micro = m;
        return 0;
    }
    if (strstr(why, "decimal places"))
        *err = fbi_xasprintf("\"%.60s\" has more than 6 decimals (micro-USD is the smallest unit)", s);
    else if (strstr(why, "too large"))
        *err = fbi_xasprintf("\"%.60s\" USD is out of range", s);
    else
        *err = fbi_xasprintf("\"%.60s\" is not an amount such as \"200\" or \"12.50\"", s);
    free(why);
    return -1;
}

char *fbi_spec_explain_name(const char *s)
{
    size_t n = strlen(s);
    fbi_buf b;
    fbi_buf_init(&b);
    if (n == 0) {
        fbi_buf_puts(&b, "A name needs at least one character.");
        return fbi_buf_steal(&b);
    }
    size_t chars = 0;
    int upper = 0, under = 0, other = 0;
    char other_c[8] = "";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c & 0xC0) != 0x80) chars++;
        if (c >= 'A' && c <= 'Z') upper = 1;
        else if (c == '_') under = 1;
        else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
            if (!other) {
                size_t len = 1;
                if (c >= 0x80) while (i + len < n && len < 4 &&
                                      ((unsigned char)s[i + len] & 0xC0) == 0x80) len++;
                if (c < 0x20 || c == 0x7f) snprintf(other_c, sizeof other_c, "\\x%02x", c);
                else memcpy(other_c, s + i, len), other_c[len] = '\0';
            }
            other = 1;
        }
    }
    if (chars > 49) {
        fbi_buf_printf(&b, "It has %zu characters: Cloud Run service ids allow at most 49", chars);
        if (chars > 63) fbi_buf_puts(&b, ", Kubernetes/Knative (DNS-1035) and Cloud Functions 63");
        if (chars > 64) fbi_buf_puts(&b, ", Lambda 64");
        fbi_buf_puts(&b, ". ");
    }
    if (upper)
        fbi_buf_puts(&b, "Uppercase letters are refused by Cloud Run, Kubernetes/Knative "
                         "(DNS-1035) and Cloud Functions; use lowercase. ");
    if (under)
        fbi_buf_puts(&b, "'_' is refused by Cloud Run, Kubernetes/Knative and Cloud Functions "
                         "(Lambda and ECS accept it); use '-'. ");
    if (other)
        fbi_buf_printf(&b, "'%s' is refused by every provider (Lambda allows only "
                           "A-Z a-z 0-9 _ -). ", other_c);
    if (!(s[0] >= 'a' && s[0] <= 'z') && !(s[0] >= 'A' && s[0] <= 'Z'))
        fbi_buf_puts(&b, "It must start with a letter: Cloud Run, Kubernetes/Knative "
                         "(DNS-1035) and Cloud Functions require one. ");
    if (s[n - 1] == '-')
        fbi_buf_puts(&b, "It must not end with '-': Cloud Run, Kubernetes/Knative and Cloud "
                         "Functions refuse a trailing '-'. ");
    if (b.len == 0) {
        fbi_buf_free(&b);
        return NULL;
    }
    b.data[--b.len] = '\0'; /* trailing space */
    return fbi_buf_steal(&b);
}
