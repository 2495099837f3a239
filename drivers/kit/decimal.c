/* decimal.c - exact decimal strings for billing quantities (see
 * fbk_decimal.h). 128-bit integers, no floating point: the broker sums
 * quantities x prices exactly, so what a driver writes must be exact too. */
#include "config.h"
#include "fbk_decimal.h"

#include <stdio.h>
#include <string.h>

static fbk_u128 gcd(fbk_u128 a, fbk_u128 b)
{
    while (b) {
        fbk_u128 t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Decimal digits of an unsigned 128-bit integer into buf (at least 40
 * bytes). */
static void u128_str(fbk_u128 v, char *buf)
{
    char tmp[48];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v && n < 47);
    for (int i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
    buf[n] = '\0';
}

/* Reducing by the gcd first keeps rem * 10 below 2^128 for every
 * denominator a usage computation produces. */
char *fbk_decimal(fbk_u128 num, fbk_u128 den, int max_places, fbk_rounding mode, int *rounded)
{
    if (rounded) *rounded = 0;
    if (den == 0) den = 1;
    if (max_places < 0) max_places = 0;
    if (max_places > 60) max_places = 60;
    fbk_u128 g = gcd(num, den);
    if (g > 1) {
        num /= g;
        den /= g;
    }
    fbk_u128 ip = num / den, rem = num % den;
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
        int up = mode == FBK_ROUND_UP || 2 * rem >= den;
        if (up) {
            int i = nd - 1;
            while (i >= 0 && digits[i] == '9') digits[i--] = '0';
            if (i >= 0) digits[i]++;
            else ip++;
        }
    }
    while (nd > 0 && digits[nd - 1] == '0') nd--;
    char ibuf[48];
    u128_str(ip, ibuf);
    size_t il = strlen(ibuf);
    char *out = fbk_xmalloc(il + (size_t)nd + 2);
    memcpy(out, ibuf, il + 1);
    if (nd) {
        out[il] = '.';
        memcpy(out + il + 1, digits, (size_t)nd);
        out[il + 1 + (size_t)nd] = '\0';
    }
    return out;
}

char *fbk_decimal_exact(fbk_u128 num, fbk_u128 den, int *inexact)
{
    if (den == 0) den = 1;
    fbk_u128 d = den / gcd(num, den);
    while (d % 2 == 0) d /= 2;
    while (d % 5 == 0) d /= 5;
    return fbk_decimal(num, den, d == 1 ? 60 : 9, FBK_ROUND_UP, inexact);
}

void fbk_cores(long long millis, char *buf, size_t n)
{
    if (millis % 1000 == 0) {
        snprintf(buf, n, "%lld", millis / 1000);
        return;
    }
    char frac[8];
    snprintf(frac, sizeof frac, "%03lld", millis % 1000);
    size_t l = strlen(frac);
    while (l > 0 && frac[l - 1] == '0') frac[--l] = '\0';
    snprintf(buf, n, "%lld.%s", millis / 1000, frac);
}

long long fbk_ceil_seconds(long long ms, long long min_s)
{
    long long s = ms <= 0 ? 0 : (ms + 999) / 1000;
    return s < min_s ? min_s : s;
}
