/* decimal.c - exact decimal strings for billing quantities (see
 * fbk_decimal.h): the drivers' face of core's one decimal module
 * (core/base/decimal.h). No floating point: the broker sums quantities x
 * prices exactly, so what a driver writes must be exact too. */
#include "config.h"
#include "fbk_decimal.h"
#include "base/decimal.h"

#include <stdio.h>
#include <string.h>

/* The digits are written by core's decimal module (core/base/decimal.c,
 * compiled into the kit too), so what a driver writes and what the broker
 * reads follow the same rules. */
char *fbk_decimal(fbk_u128 num, fbk_u128 den, int max_places, fbk_rounding mode, int *rounded)
{
    char buf[200];
    fbi_dec_ratio(num, den, max_places, mode == FBK_ROUND_UP, rounded, buf, sizeof buf);
    return fbk_xstrdup(buf);
}

static fbk_u128 gcd(fbk_u128 a, fbk_u128 b)
{
    while (b) {
        fbk_u128 t = a % b;
        a = b;
        b = t;
    }
    return a;
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
