/*
 * decimal.h - the one exact-decimal module of fedbroker: fixed-point
 * numbers as 64-bit integers of 10^-scale units (micro-USD: scale 6,
 * nano-USD: 9, pico-USD: 12), parsed from and written as decimal strings,
 * multiplied and divided in 128-bit arithmetic.
 *
 * One rounding rule, everywhere a result has more digits than its unit:
 * to the nearest unit, halves away from zero ("half up" for amounts >= 0).
 * Overflow is never clamped: every fallible function returns -1 and leaves
 * *out untouched.
 *
 * Core uses this module directly; the driver kit's fbk_decimal.h is a thin
 * user of it (drivers/kit/decimal.c compiles against this file), so a
 * driver's quantity and the broker's price are written by the same code.
 * The module needs only libc (no fbi_x* helpers) for that reason.
 *
 * Thread-safety: every function is pure and thread-safe.
 */
#ifndef FBI_BASE_DECIMAL_H
#define FBI_BASE_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Room for any formatted int64 at any scale up to 18, sign, point and NUL
 * (at most 22 bytes are written). */
#define FBI_DEC_BUF 32

/* What fbi_dec_parse accepts beyond "DIGITS[.DIGITS]". */
enum {
    FBI_DEC_SIGNED = 1,   /* a leading '-' or '+' */
    FBI_DEC_EXPONENT = 2  /* an exponent: 1.5e3, 2.50E-2 */
};

/*
 * Parses text as an exact decimal into *out in 10^-scale units (0 <= scale
 * <= 18). Digits beyond scale must be zeros (a value is never rounded on
 * input: "0.0000001" at scale 6 is an error naming the places). Returns 0,
 * or -1 with *err set to a sentence quoting the text (new, free()) when err
 * is not NULL: empty, not a number, negative without FBI_DEC_SIGNED, too
 * many places, or too large for 64 bits.
 */
int fbi_dec_parse(const char *text, int scale, unsigned flags, int64_t *out, char **err);

/*
 * Writes v (10^-scale units, 0 <= scale <= 18) as a decimal: trailing
 * fractional zeros are cut down to min_dp places ("12.50" with min_dp 2,
 * "12.5" with 0; no point when nothing is left). buf: caller-owned, at
 * least FBI_DEC_BUF bytes. Returns buf.
 */
char *fbi_dec_format(int64_t v, int scale, int min_dp, char *buf);

/* round(a x b / d) by the module's rule. Returns 0, or -1 when d <= 0 or
 * the result does not fit in 64 bits. */
int fbi_dec_muldiv(int64_t a, int64_t b, int64_t d, int64_t *out);

/* v in 10^-from units re-expressed in 10^-to units (rounded by the rule
 * when to < from). Returns 0, or -1 on overflow. */
int fbi_dec_rescale(int64_t v, int from, int to, int64_t *out);

/* *acc += v. Returns 0, or -1 (acc unchanged) on overflow. */
int fbi_dec_add(int64_t *acc, int64_t v);

/*
 * num/den written as a decimal string with at most max_places (<= 60)
 * places: exact when the expansion ends within them; otherwise rounded at
 * max_places (by the rule, or up towards +infinity when round_up is set:
 * a usage estimate that must never under-count) and *rounded set to 1
 * (else 0; rounded may be NULL). Trailing zeros are cut; den 0 counts as
 * 1. Writes into buf (n bytes; 200 always suffice). Returns buf.
 */
__extension__ typedef unsigned __int128 fbi_dec_u128;
char *fbi_dec_ratio(fbi_dec_u128 num, fbi_dec_u128 den, int max_places, int round_up,
                    int *rounded, char *buf, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* FBI_BASE_DECIMAL_H */
