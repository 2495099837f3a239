/* decimal.c - the one exact-decimal module (see decimal.h): parse, format,
 * multiply/divide and rescale fixed-point integers with one rounding rule
 * (nearest, halves away from zero) and overflow as an error. libc only, so
 * the driver kit compiles this same file. */
#include "config.h"
#include "base/decimal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__extension__ typedef __int128 i128;
__extension__ typedef unsigned __int128 u128;

static int fail(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sets *err (new) when err is not NULL; returns -1. */
static int fail(char **err, const char *fmt, ...)
{
    if (!err) return -1;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = malloc(n > 0 ? (size_t)n + 1 : 1);
    if (!s) abort(); /* as fbi_xmalloc: out of memory is not recoverable here */
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    *err = s;
    return -1;
}

static const int64_t pow10_[19] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000,
    100000000, 1000000000, 10000000000, 100000000000, 1000000000000, 10000000000000,
    100000000000000, 1000000000000000, 10000000000000000, 100000000000000000,
    1000000000000000000};

int fbi_dec_parse(const char *text, int scale, unsigned flags, int64_t *out, char **err)
{
    if (!text || !*text) return fail(err, "empty value (expected a decimal number such as 12.5)");
    if (scale < 0 || scale > 18) return fail(err, "'%s': scale %d out of range", text, scale);
    const char *p = text;
    int neg = 0;
    if (*p == '-' || *p == '+') {
        if (!(flags & FBI_DEC_SIGNED)) {
            if (*p == '-') return fail(err, "'%s' is negative; a value >= 0 is expected", text);
            return fail(err, "'%s' is not a plain decimal number (digits with at most one '.', "
                        "no sign, exponent or spaces)", text);
        }
        neg = *p++ == '-';
    }
    /* the mantissa stays below 2^120: 36 digits, far past any 64-bit value */
    i128 mant = 0;
    const i128 lim = (i128)1 << 120;
    int ndig = 0, frac = 0, seen_dot = 0, big = 0;
    for (;; p++) {
        if (*p >= '0' && *p <= '9') {
            if (mant > lim / 10) big = 1;
            else mant = mant * 10 + (*p - '0');
            ndig++;
            if (seen_dot) frac++;
        } else if (*p == '.' && !seen_dot) {
            seen_dot = 1;
        } else {
            break;
        }
    }
    if (ndig == 0 || (seen_dot && p[-1] == '.'))
        return fail(err, "'%s' is not a plain decimal number (digits with at most one '.'%s)",
                    text, flags & FBI_DEC_EXPONENT ? " and an optional exponent" :
                    ", no sign, exponent or spaces");
    long exp = 0;
    if ((*p == 'e' || *p == 'E') && (flags & FBI_DEC_EXPONENT)) {
        p++;
        int eneg = 0;
        if (*p == '-' || *p == '+') eneg = *p++ == '-';
        if (!(*p >= '0' && *p <= '9')) return fail(err, "'%s' is not a decimal number", text);
        while (*p >= '0' && *p <= '9') {
            if (exp > 10000) return fail(err, "'%s' has an exponent out of range", text);
            exp = exp * 10 + (*p++ - '0');
        }
        if (eneg) exp = -exp;
    }
    if (*p)
        return fail(err, "'%s' is not a plain decimal number (digits with at most one '.'%s)",
                    text, flags & FBI_DEC_EXPONENT ? " and an optional exponent" :
                    ", no sign, exponent or spaces");
    if (big) return fail(err, "'%s' is too large", text);
    long e10 = exp - frac + scale;
    if (mant == 0) {
        *out = 0;
        return 0;
    }
    while (e10 < 0) {
        if (mant % 10 != 0)
            return fail(err, "'%s' has more than %d decimal places; it cannot be represented "
                        "exactly", text, scale);
        mant /= 10;
        e10++;
    }
    while (e10 > 0) {
        if (mant > (i128)INT64_MAX / 10) return fail(err, "'%s' is too large", text);
        mant *= 10;
        e10--;
    }
    if (mant > (i128)INT64_MAX) return fail(err, "'%s' is too large", text);
    *out = neg ? -(int64_t)mant : (int64_t)mant;
    return 0;
}

char *fbi_dec_format(int64_t v, int scale, int min_dp, char *buf)
{
    if (scale < 0) scale = 0;
    if (scale > 18) scale = 18;
    if (min_dp > scale) min_dp = scale;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    uint64_t pw = (uint64_t)pow10_[scale];
    uint64_t ip = u / pw, fp = u % pw;
    char frac[24];
    snprintf(frac, sizeof frac, "%0*llu", scale, (unsigned long long)fp);
    int dp = scale;
    while (dp > min_dp && frac[dp - 1] == '0') dp--;
    frac[dp] = '\0';
    int k = snprintf(buf, FBI_DEC_BUF, "%s%llu", v < 0 ? "-" : "", (unsigned long long)ip);
    /* sign + integer digits + point + fraction <= 1 + (19 - scale) + 1 +
     * scale = 21 bytes, since ip < 10^(19 - scale) */
    if (dp) {
        buf[k++] = '.';
        memcpy(buf + k, frac, (size_t)dp);
        k += dp;
    }
    buf[k] = '\0';
    return buf;
}

/* q = round(n / d) for d > 0, halves away from zero. */
static i128 div_round(i128 n, i128 d)
{
    int neg = n < 0;
    u128 un = neg ? (u128)0 - (u128)n : (u128)n;
    u128 q = un / (u128)d, r = un % (u128)d;
    if (r >= (u128)d - r) q++; /* 2r >= d without overflow */
    return neg ? -(i128)q : (i128)q;
}

int fbi_dec_muldiv(int64_t a, int64_t b, int64_t d, int64_t *out)
{
    if (d <= 0) return -1;
    /* |a x b| < 2^126: fits an i128 */
    i128 q = div_round((i128)a * b, d);
    if (q > INT64_MAX || q < -(i128)INT64_MAX) return -1;
    *out = (int64_t)q;
    return 0;
}

int fbi_dec_rescale(int64_t v, int from, int to, int64_t *out)
{
    if (from < 0 || to < 0 || from > 18 || to > 18) return -1;
    if (to >= from) {
        i128 r = (i128)v * pow10_[to - from];
        if (r > INT64_MAX || r < -(i128)INT64_MAX) return -1;
        *out = (int64_t)r;
        return 0;
    }
    *out = (int64_t)div_round(v, pow10_[from - to]);
    return 0;
}

int fbi_dec_add(int64_t *acc, int64_t v)
{
    int64_t r;
    if (__builtin_add_overflow(*acc, v, &r)) return -1;
    *acc = r;
    return 0;
}

static u128 gcd(u128 a, u128 b)
{
    while (b) {
        u128 t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Reducing by the gcd first keeps rem x 10 below 2^128 for every
 * denominator a usage computation produces. */
char *fbi_dec_ratio(fbi_dec_u128 num, fbi_dec_u128 den, int max_places, int round_up,
                    int *rounded, char *buf, size_t n)
{
    if (rounded) *rounded = 0;
    if (den == 0) den = 1;
    if (max_places < 0) max_places = 0;
    if (max_places > 60) max_places = 60;
    u128 g = gcd(num, den);
    if (g > 1) {
        num /= g;
        den /= g;
    }
    u128 ip = num / den, rem = num % den;
    char digits[64];
    int nd = 0;
    while (rem && nd < max_places) {
        rem *= 10;
        digits[nd++] = (char)('0' + (int)(rem / den));
        rem %= den;
    }
    if (rem) {
        if (rounded) *rounded = 1;
        /* the digits dropped are rem/den of one unit in the last place */
        if (round_up || rem >= den - rem) {
            int i = nd - 1;
            while (i >= 0 && digits[i] == '9') digits[i--] = '0';
            if (i >= 0) digits[i]++;
            else ip++;
        }
    }
    while (nd > 0 && digits[nd - 1] == '0') nd--;
    char ibuf[48], tmp[48];
    int k = 0;
    do {
        tmp[k++] = (char)('0' + (int)(ip % 10));
        ip /= 10;
    } while (ip && k < 47);
    for (int i = 0; i < k; i++) ibuf[i] = tmp[k - 1 - i];
    ibuf[k] = '\0';
    snprintf(buf, n, "%s%s%.*s", ibuf, nd ? "." : "", nd, digits);
    return buf;
}
