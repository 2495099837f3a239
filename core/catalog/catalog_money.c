/* catalog_money.c - the catalog's money: prices (pico-USD), quantities
 * (micro-units), line items rounded half up to micro-USD and tiers. No
 * floating point anywhere: a unit price like 0.0000166667 USD is exactly
 * 16666700 pico-USD, and 400000 GB-s of it is exactly 6.66668 USD. The
 * parsing, formatting and 128-bit arithmetic are core/base/decimal.c's. */
#include "config.h"
#include "catalog/catalog_priv.h"
#include "base/decimal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* round(a x b / d), halves up, by the decimal module; a, b >= 0, d > 0.
 * Returns 0, or -1 on overflow. */
static int muldiv_half_up(uint64_t a, uint64_t b, uint64_t d, uint64_t *out)
{
    int64_t q;
    if (a > (uint64_t)INT64_MAX || b > (uint64_t)INT64_MAX || d > (uint64_t)INT64_MAX ||
        fbi_dec_muldiv((int64_t)a, (int64_t)b, (int64_t)d, &q) != 0)
        return -1;
    *out = (uint64_t)q;
    return 0;
}

/* Signed version used for percentages in diffs: half away from zero. */
int64_t fbi_muldiv_round(int64_t a, int64_t b, int64_t d, int *overflow)
{
    int64_t q = 0;
    *overflow = fbi_dec_muldiv(a, b, d, &q) != 0;
    return *overflow ? 0 : q;
}

/* Prices and quantities are never negative and never written with an
 * exponent: the catalog CSV is checked against the vendors' pages. */
int fbi_cat_decimal_parse(const char *text, int frac_digits, int64_t *out, char **err)
{
    return fbi_dec_parse(text, frac_digits, 0, out, err);
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
    char buf[FBI_DEC_BUF];
    fbi_dec_format(v, frac_digits, 0, buf);
    snprintf(out, 32, "%s", buf);
}

void fbi_pusd_format(fbi_pusd v, char out[32])
{
    fbi_cat_decimal_format(v, 12, out);
}

void fbi_musd_format(fbi_musd v, char out[32])
{
    char buf[FBI_DEC_BUF];
    fbi_dec_format(v, 6, 6, buf);
    snprintf(out, 32, "%s", buf);
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
