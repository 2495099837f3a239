/* catalog_diff.c - what changed in price between two catalogs, keyed by
 * sku, for finance reviewing a catalog update. */
#include "config.h"
#include "catalog/catalog_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *fbi_change_kind_name(fbi_change_kind k)
{
    static const char *const n[] = {"added", "removed", "changed"};
    return (unsigned)k < 3 ? n[k] : "?";
}

static const char *change_sku(const fbi_price_change *c)
{
    return c->new_row ? c->new_row->sku : c->old_row->sku;
}

static int cmp_change(const void *a, const void *b)
{
    return strcmp(change_sku(a), change_sku(b));
}

/* Percentage change with two decimals, halves away from zero. */
static void pct_change(fbi_pusd o, fbi_pusd n, char out[32])
{
    int ovf;
    out[0] = '\0';
    if (o == 0) return;
    int64_t v = fbi_muldiv_round(n - o, 10000, o, &ovf);
    if (ovf) return;
    int64_t a = v < 0 ? -v : v;
    snprintf(out, 32, "%s%lld.%02lld", v < 0 ? "-" : "+", (long long)(a / 100),
             (long long)(a % 100));
}

void fbi_catalog_diff(const fbi_catalog *old_cat, const fbi_catalog *new_cat,
                      fbi_price_change **changes, size_t *n)
{
    size_t cap = old_cat->nprices + new_cat->nprices + 1, k = 0;
    fbi_price_change *c = fbi_xcalloc(cap, sizeof *c);
    for (size_t i = 0; i < old_cat->nprices; i++) {
        const fbi_price_row *o = &old_cat->prices[i];
        const fbi_price_row *nw = fbi_catalog_price_by_sku(new_cat, o->sku);
        if (!nw) {
            c[k].kind = FBI_CHANGE_REMOVED;
            c[k].old_row = o;
            k++;
            continue;
        }
        if (o->usd_per_unit != nw->usd_per_unit || strcmp(o->unit, nw->unit) != 0 ||
            strcmp(o->currency, nw->currency) != 0 || o->tier_end != nw->tier_end) {
            c[k].kind = FBI_CHANGE_CHANGED;
            c[k].old_row = o;
            c[k].new_row = nw;
            if (strcmp(o->unit, nw->unit) == 0) pct_change(o->usd_per_unit, nw->usd_per_unit, c[k].pct);
            k++;
        }
    }
    for (size_t i = 0; i < new_cat->nprices; i++) {
        const fbi_price_row *nw = &new_cat->prices[i];
        if (!fbi_catalog_price_by_sku(old_cat, nw->sku)) {
            c[k].kind = FBI_CHANGE_ADDED;
            c[k].new_row = nw;
            k++;
        }
    }
    qsort(c, k, sizeof *c, cmp_change);
    *changes = c;
    *n = k;
}
