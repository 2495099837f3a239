/*
 * fbk_decimal.h - exact billing quantities for usage: 128-bit integer
 * fractions written as decimal strings (never floats), cores, seconds.
 * Part of the driver kit (prefix fbk_); see fbk.h for the memory rules.
 * Every function here is pure and thread-safe.
 */
#ifndef FBK_DECIMAL_H
#define FBK_DECIMAL_H

#include "fbk.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Exact arithmetic for billing quantities: 128-bit unsigned integers. */
__extension__ typedef unsigned __int128 fbk_u128;

/* The 730-hour month the cost model uses by default (8,760 / 12). */
#define FBK_MONTH_HOURS 730
#define FBK_MONTH_SECONDS (730LL * 3600LL)

/* How fbk_decimal rounds digits past max_places. */
typedef enum fbk_rounding {
    FBK_ROUND_UP = 0,     /* towards +infinity: never under-estimates */
    FBK_ROUND_HALF_UP = 1 /* to nearest, halves away from zero */
} fbk_rounding;

/*
 * num/den as a decimal string: "0.25", "3", "12.5". The digits are exact
 * when the expansion ends within max_places digits after the point;
 * otherwise the result is rounded at max_places by mode and *rounded (when
 * not NULL) is set to 1 (else 0). Trailing zeros are dropped. den 0 counts
 * as 1. new (free()).
 */
char *fbk_decimal(fbk_u128 num, fbk_u128 den, int max_places, fbk_rounding mode, int *rounded);

/* num/den written out in full when its expansion ends (the reduced
 * denominator has no prime factor but 2 and 5; up to 60 places), else
 * rounded up at 9 places with *inexact set to 1. new (free()). */
char *fbk_decimal_exact(fbk_u128 num, fbk_u128 den, int *inexact);

/* Millicores as a decimal number of cores: 250 -> "0.25", 2000 -> "2".
 * Writes into buf (n bytes). */
void fbk_cores(long long millis, char *buf, size_t n);

/* Ceiling of ms / 1000 (seconds), at least min_s. */
long long fbk_ceil_seconds(long long ms, long long min_s);

/* The mean floor of a capacity schedule (spec.scaling.schedule,
 * docs/simulation.md "Capacity schedules") as *num / *den instances: each
 * step's minInstances for its share of periodSeconds; a one-off schedule's
 * last step also holds its leadSeconds (its action runs that early, the
 * end on time). The month repeats the period, as the plan's quantities
 * do. Returns 0 (nothing set) when spec has no schedule. */
int fbk_schedule_mean(const json_t *spec, fbk_u128 *num, fbk_u128 *den);

#ifdef __cplusplus
}
#endif

#endif /* FBK_DECIMAL_H */
