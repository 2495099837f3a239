/* catalog_money.c - exact decimal prices and quantities, and line items
 * rounded half up to micro-USD. No floating point anywhere: a unit price like
 * 0.0000166667 USD is exactly 16666700 pico-USD, and 400000 GB-s of it is
 * exactly 6.66668 USD. Products are taken in 128-bit arithmetic written out
 * with 64-bit halves so the code is portable C11. */
#include "config.h"
#include "catalog/catalog_priv.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 64 x 64 -> 128 unsigned multiply (schoolbook on 32-bit halves). */
static void mul_u64(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo)
{
    uint64_t a0 = a & 0xffffffffu, a1 = a >> 32;
    uint64_t b0 = b & 0xffffffffu, b1 = b >> 32;
    uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    uint64_t mid = (p00 >> 32) + (p01 & 0xffffffffu) + (p10 & 0xffffffffu);
    *lo = (p00 & 0xffffffffu) | (mid << 32);
    *hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

/* 128 / 64 -> 128 quotient and 64 remainder; d must be below 2^63 so the
 * running remainder never overflows. Bitwise long division: short and
 * obviously right, and fast enough for line items. */
static void divmod_u128(uint64_t hi, uint64_t lo, uint64_t d, uint64_t *qhi,
                        uint64_t *qlo, uint64_t *rem)
{
    uint64_t r = 0, qh = 0, ql = 0;
    for (int i = 127; i >= 0; i--) {
        uint64_t bit = i >= 64 ? (hi >> (i - 64)) & 1u : (lo >> i) & 1u;
        r = (r << 1) | bit;
        if (r >= d) {
            r -= d;
            if (i >= 64) qh |= UINT64_C(1) << (i - 64);
            else ql |= UINT64_C(1) << i;
        }
    }
    *qhi = qh;
    *qlo = ql;
    *rem = r;
}

/* round(a * b / d) with halves rounded up (away from zero for the
 * magnitude); a, b >= 0, 0 < d < 2^63. Returns 0, or -1 on overflow. */
static int muldiv_half_up(uint64_t a, uint64_t b, uint64_t d, uint64_t *out)
{
    uint64_t hi, lo, qhi, qlo, rem;
    mul_u64(a, b, &hi, &lo);
    divmod_u128(hi, lo, d, &qhi, &qlo, &rem);
    if (qhi != 0) return -1;
    if (rem >= d - rem) { /* 2 * rem >= d without overflow */
        if (qlo == UINT64_MAX) return -1;
        qlo++;
    }
    *out = qlo;
    return 0;
}

/* Signed version used for percentages in diffs: half away from zero. */
int64_t fbi_muldiv_round(int64_t a, int64_t b, int64_t d, int *overflow)
{
    int neg = (a < 0) != (b < 0);
    uint64_t ua = a < 0 ? (uint64_t)0 - (uint64_t)a : (uint64_t)a;
    uint64_t ub = b < 0 ? (uint64_t)0 - (uint64_t)b : (uint64_t)b;
    uint64_t q;
    *overflow = 0;
    if (d <= 0 || muldiv_half_up(ua, ub, (uint64_t)d, &q) != 0 || q > (uint64_t)INT64_MAX) {
        *overflow = 1;
        return 0;
    }
    return neg ? -(int64_t)q : (int64_t)q;
}

int fbi_cat_decimal_parse(const char *text, int frac_digits, int64_t *out, char **err)
{
    const char *p = text;
    uint64_t v = 0;
    int ndig = 0, nfrac = 0, seen_dot = 0;
    if (!text || !*text) {
        *err = fbi_xstrdup("empty value (expected a non-negative decimal number)");
        return -1;
    }
    for (; *p; p++) {
        if (*p == '.') {
            if (seen_dot) goto bad;
            seen_dot = 1;
            continue;
        }
        if (*p < '0' || *p > '9') goto bad;
        int d = *p - '0';
        if (seen_dot) {
            if (nfrac >= frac_digits) {
                if (d != 0) {
                    *err = fbi_xasprintf("'%s' has more than %d decimal places; it cannot be "
                                         "represented exactly", text, frac_digits);
                    return -1;
                }
                continue; /* trailing zeros beyond the precision are exact */
            }
            nfrac++;
        }
        ndig++;
        if (v > (UINT64_MAX - 9) / 10) goto overflow;
        v = v * 10 + (uint64_t)d;
    }
    if (ndig == 0) goto bad;
    if (seen_dot && p[-1] == '.') goto bad;
    for (; nfrac < frac_digits; nfrac++) {
        if (v > UINT64_MAX / 10) goto overflow;
        v *= 10;
    }
    if (v > (uint64_t)INT64_MAX) goto overflow;
    *out = (int64_t)v;
    return 0;
bad:
    if (text[0] == '-')
        *err = fbi_xasprintf("'%s' is negative; prices and quantities must be >= 0", text);
    else
        *err = fbi_xasprintf("'%s' is not a plain decimal number (digits with at most one '.', "
                             "no sign, exponent or spaces)", text);
    return -1;
overflow:
    *err = fbi_xasprintf("'%s' is too large", text);
    return -1;
}

int fbi_money_parse(const char *text, fbi_pusd *out, char **err)
{
    return fbi_cat_decimal_parse(text, 12, out, err);
}

int fbi_qty_parse(const char *text, fbi_qty *out, char **err)
{
    if (text && strcmp(text, "inf") == 0) {
        *out = FBI_QTY_INF;
        return 0;
    }
    return fbi_cat_decimal_parse(text, 6, out, err);
}

void fbi_cat_decimal_format(int64_t v, int frac_digits, char out[32])
{
    char digits[24];
    int neg = v < 0;
    uint64_t u = neg ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    int n = 0;
    do {
        digits[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    while (n <= frac_digits) digits[n++] = '0';
    /* digits holds the number reversed; cut trailing fractional zeros */
    int cut = 0;
    while (cut < frac_digits && digits[cut] == '0') cut++;
    char *o = out;
    if (neg) *o++ = '-';
    for (int i = n - 1; i >= frac_digits; i--) *o++ = digits[i];
    if (cut < frac_digits) {
        *o++ = '.';
        for (int i = frac_digits - 1; i >= cut; i--) *o++ = digits[i];
    }
    *o = '\0';
}

void fbi_pusd_format(fbi_pusd v, char out[32])
{
    fbi_cat_decimal_format(v, 12, out);
}

void fbi_musd_format(fbi_musd v, char out[32])
{
    int neg = v < 0;
    uint64_t u = neg ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    snprintf(out, 32, "%s%llu.%06llu", neg ? "-" : "",
             (unsigned long long)(u / 1000000u), (unsigned long long)(u % 1000000u));
}

void fbi_qty_format(fbi_qty v, char out[32])
{
    if (v == FBI_QTY_INF) {
        strcpy(out, "inf");
        return;
    }
    fbi_cat_decimal_format(v, 6, out);
}

int fbi_line_cost(fbi_qty qty, fbi_pusd unit, fbi_musd *out, char **err)
{
    uint64_t q;
    if (qty < 0 || unit < 0 || qty == FBI_QTY_INF) {
        *err = fbi_xstrdup("a line item needs a finite, non-negative quantity and price");
        return -1;
    }
    /* micro-units x pico-USD = 10^-18 USD; micro-USD is 10^-6: divide 10^12 */
    if (muldiv_half_up((uint64_t)qty, (uint64_t)unit, UINT64_C(1000000000000), &q) != 0 ||
        q > (uint64_t)INT64_MAX) {
        *err = fbi_xstrdup("line item too large for micro-USD in 64 bits");
        return -1;
    }
    *out = (fbi_musd)q;
    return 0;
}

int fbi_line_cost_units(int64_t units, fbi_pusd unit, fbi_musd *out, char **err)
{
    uint64_t q;
    if (units < 0 || unit < 0) {
        *err = fbi_xstrdup("a line item needs a non-negative quantity and price");
        return -1;
    }
    if (muldiv_half_up((uint64_t)units, (uint64_t)unit, UINT64_C(1000000), &q) != 0 ||
        q > (uint64_t)INT64_MAX) {
        *err = fbi_xstrdup("line item too large for micro-USD in 64 bits");
        return -1;
    }
    *out = (fbi_musd)q;
    return 0;
}

fbi_pusd fbi_apply_discount(fbi_pusd list, int64_t pct_micro)
{
    uint64_t q;
    if (pct_micro <= 0) return list;
    if (pct_micro >= 100 * FBI_PCT_ONE) return 0;
    uint64_t keep = (uint64_t)(100 * FBI_PCT_ONE - pct_micro);
    if (muldiv_half_up((uint64_t)list, keep, (uint64_t)(100 * FBI_PCT_ONE), &q) != 0)
        return list; /* cannot happen: the result is below list */
    return (fbi_pusd)q;
}

int fbi_tiered_cost(const fbi_price_row *const *rows, size_t n, fbi_qty qty,
                    fbi_tier_line *lines, size_t *nlines, fbi_musd *total, char **err)
{
    *nlines = 0;
    *total = 0;
    if (n == 0) {
        *err = fbi_xstrdup("no price rows to cost");
        return -1;
    }
    if (qty < 0 || qty == FBI_QTY_INF) {
        *err = fbi_xstrdup("the quantity must be finite and non-negative");
        return -1;
    }
    if (!rows[0]->tiered) {
        if (n != 1) {
            *err = fbi_xasprintf("%zu untiered rows given for one product (%s)", n, rows[0]->sku);
            return -1;
        }
        if (fbi_line_cost(qty, rows[0]->usd_per_unit, &lines[0].cost, err) != 0) return -1;
        lines[0].row = rows[0];
        lines[0].qty = qty;
        *nlines = 1;
        *total = lines[0].cost;
        return 0;
    }
    fbi_qty covered = rows[0]->tier_start;
    if (covered > 0 && qty > 0) {
        char a[32];
        fbi_qty_format(covered, a);
        *err = fbi_xasprintf("the first tier of %s starts at %s, not 0", rows[0]->sku, a);
        return -1;
    }
    for (size_t i = 0; i < n && covered < qty; i++) {
        const fbi_price_row *r = rows[i];
        if (r->tier_start != covered) {
            *err = fbi_xasprintf("tiers of %s are not contiguous at row %d", r->sku, r->line);
            return -1;
        }
        fbi_qty end = r->tier_end;
        fbi_qty part = (end == FBI_QTY_INF || qty < end) ? qty - covered : end - covered;
        fbi_musd c;
        if (fbi_line_cost(part, r->usd_per_unit, &c, err) != 0) return -1;
        if (*total > INT64_MAX - c) {
            *err = fbi_xstrdup("total too large for micro-USD in 64 bits");
            return -1;
        }
        lines[*nlines].row = r;
        lines[*nlines].qty = part;
        lines[*nlines].cost = c;
        (*nlines)++;
        *total += c;
        covered = end == FBI_QTY_INF ? qty : end;
    }
    if (covered < qty) {
        char a[32], b[32];
        fbi_qty_format(qty, a);
        fbi_qty_format(covered, b);
        *err = fbi_xasprintf("quantity %s %s goes past the last tier of %s, which ends at %s; "
                             "the catalog has no price above it (add the next tier to prices.csv)",
                             a, rows[0]->unit, rows[0]->sku, b);
        *nlines = 0;
        *total = 0;
        return -1;
    }
    return 0;
}
