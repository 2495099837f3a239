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

static json_int_t sched_int(const json_t *o, const char *k, json_int_t dflt)
{
    const json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? json_integer_value(v) : dflt;
}

int fbk_schedule_mean(const json_t *spec, fbk_u128 *num, fbk_u128 *den)
{
    const json_t *s = json_object_get(json_object_get(spec, "scaling"), "schedule");
    const json_t *steps = json_object_get(s, "steps");
    json_int_t period = sched_int(s, "periodSeconds", 0), lead = sched_int(s, "leadSeconds", 0);
    if (!s || period <= 0 || !json_array_size(steps)) return 0;
    const char *repeat = json_string_value(json_object_get(s, "repeat"));
    fbk_u128 sum = 0;
    size_t n = json_array_size(steps);
    for (size_t i = 0; i < n; i++) {
        const json_t *st = json_array_get(steps, i);
        json_int_t off = sched_int(st, "offsetSeconds", 0), min = sched_int(st, "minInstances", 0);
        json_int_t end = i + 1 < n ? sched_int(json_array_get(steps, i + 1), "offsetSeconds", period) : period;
        if (i + 1 == n && repeat && !strcmp(repeat, "once")) end += lead;
        if (min > 0 && end > off) sum += (fbk_u128)min * (fbk_u128)(end - off);
    }
    *num = sum;
    *den = (fbk_u128)period;
    return 1;
}
