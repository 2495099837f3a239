/* freetier.c - free tiers are per billing account per month: each
 * allowance is shared among the chosen lines it covers in proportion to
 * their quantity and valued at the contracted unit price of the line it
 * offsets. */
#include "config.h"
#include "plan/plan_int.h"

#include <stdlib.h>

/* ---- free tiers --------------------------------------------------------------------- */

/* Does a free-tier row cover a priced usage row? Same provider and service,
 * metric "free_tier_M" or "M_free_tier", and a variant that matches. */
int fbi_plan_free_covers(const fbi_price_row *f, const fbi_price_row *u)
{
    if (strcmp(f->provider, u->provider) || strcmp(f->service, u->service)) return 0;
    size_t ml = strlen(u->metric);
    int mok = (!strncmp(f->metric, "free_tier_", 10) && !strcmp(f->metric + 10, u->metric)) ||
              (!strncmp(f->metric, u->metric, ml) && !strcmp(f->metric + ml, "_free_tier"));
    if (!mok) return 0;
    if (!*f->variant || !strcmp(f->variant, u->variant)) return 1;
    /* "x86_64+arm64" covers "arm64"; "request-based" covers "request-based billing" */
    char *parts = fbi_xstrdup(f->variant), *save = NULL;
    int ok = 0;
    for (char *t = strtok_r(parts, "+", &save); t && !ok; t = strtok_r(NULL, "+", &save))
        if (!strcmp(t, u->variant)) ok = 1;
    free(parts);
    size_t fl = strlen(f->variant);
    if (!ok && !strncmp(u->variant, f->variant, fl) && u->variant[fl] == ' ') ok = 1;
    return ok;
}

/* A chosen line a free tier covers: line k of workload w's candidate. */
typedef struct fline {
    wl *w;
    size_t k;
    const pline *l;
} fline;

/* Nets each free tier at billing-account level: the free quantity is
 * shared among the chosen lines it covers in proportion to their quantity
 * (largest remainder in micro-units), and each share is valued at the
 * contracted unit price of the line it offsets. The shares are the
 * workload's (w->free_qty, w->credit_nano), not its candidate's: workloads
 * of one shape share their candidates. Returns the credit rows. */
json_t *fbi_plan_free_tiers(model *m, int64_t *credit_total)
{
    json_t *rows = json_array();
    *credit_total = 0;
    for (size_t i = 0; i < m->nw; i++) {
        wl *w = &m->w[i];
        /* a solve of the budget search may have netted them before */
        free(w->credit_nano);
        free(w->free_qty);
        w->credit_nano = NULL;
        w->free_qty = NULL;
        w->ncredit = 0;
        if (w->chosen < 0) continue;
        size_t nl = opt_ev(&w->opts[w->chosen])->nlines;
        w->credit_nano = fbi_xcalloc(nl ? nl : 1, sizeof *w->credit_nano);
        w->free_qty = fbi_xcalloc(nl ? nl : 1, sizeof *w->free_qty);
        w->ncredit = nl;
    }
    fline *ls = NULL;
    size_t cap = 0;
    if (!m->ftiers) fbi_plan_free_rows(m);
    for (size_t fi = 0; fi < m->nftiers; fi++) {
        const fbi_price_row *f = m->ftiers[fi];
        size_t n = 0;
        unsigned __int128 total = 0;
        for (size_t i = 0; i < m->nw; i++) {
            if (m->w[i].chosen < 0) continue;
            const option *op = &m->w[i].opts[m->w[i].chosen];
            for (size_t k = 0; k < opt_ev(op)->nlines; k++) {
                if (!fbi_plan_free_covers(f, opt_ev(op)->lines[k].row)) continue;
                if (n == cap) {
                    cap = cap ? 2 * cap : 64;
                    ls = fbi_xrealloc(ls, cap * sizeof *ls);
                }
                ls[n++] = (fline){&m->w[i], k, &opt_ev(op)->lines[k]};
                total += (unsigned __int128)opt_ev(op)->lines[k].qty;
            }
        }
        if (!n || total == 0) continue;
        fbi_qty allowance = f->tier_end;
        fbi_qty freeq = (unsigned __int128)allowance < total ? allowance : (fbi_qty)total;
        /* largest remainder */
        fbi_qty given = 0;
        unsigned __int128 *rem = fbi_xcalloc(n, sizeof *rem);
        for (size_t k = 0; k < n; k++) {
            unsigned __int128 num = (unsigned __int128)freeq * (unsigned __int128)ls[k].l->qty;
            ls[k].w->free_qty[ls[k].k] = (fbi_qty)(num / total);
            rem[k] = num % total;
            given += ls[k].w->free_qty[ls[k].k];
        }
        while (given < freeq) {
            size_t best = 0;
            for (size_t k = 1; k < n; k++)
                if (rem[k] > rem[best]) best = k;
            ls[best].w->free_qty[ls[best].k]++;
            rem[best] = 0;
            given++;
        }
        free(rem);
        int64_t credit = 0;
        for (size_t k = 0; k < n; k++) {
            fbi_musd c = 0;
            char *err = NULL;
            if (fbi_line_cost(ls[k].w->free_qty[ls[k].k], ls[k].l->contracted_unit, &c, &err) != 0)
                free(err);
            ls[k].w->credit_nano[ls[k].k] = -c * NANO_PER_MICRO;
            credit += ls[k].w->credit_nano[ls[k].k];
        }
        char q[32], a[32];
        fbi_qty_format(freeq, q);
        fbi_qty_format(allowance, a);
        char cb[40];
        json_array_append_new(rows, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i}",
            "sku", f->sku, "provider", f->provider, "service", f->service, "metric", f->metric,
            "allowance", a, "used", q, "unit", f->unit, "credit", fbi_nano_str(credit, cb),
            "lines", (int)n));
        *credit_total += credit;
    }
    free(ls);
    return rows;
}

void fbi_plan_free_rows(model *m)
{
    free(m->ftiers);
    m->ftiers = NULL;
    m->nftiers = 0;
    size_t n = fbi_catalog_price_count(m->cat);
    m->ftiers = fbi_xcalloc(n ? n : 1, sizeof *m->ftiers);
    for (size_t fi = 0; fi < n; fi++) {
        const fbi_price_row *f = fbi_catalog_price(m->cat, fi);
        if (strcmp(f->pricing_model, "free-tier") || f->alternate_of[0]) continue;
        m->ftiers[m->nftiers++] = f;
    }
}

/* Why this bounds every joint allocation (docs/plan.md, Budgets): with T
 * the pool's whole covered quantity in some joint plan and Q <= T this
 * candidate's own, a line of quantity q gets floor(min(A,T) q / T) plus at
 * most one micro-unit of the largest-remainder round, i.e. at most
 * ceil(min(A,T) q / T) <= ceil(min(A,Q) q / Q), since min(A,T)/T does not
 * grow with T. The credit is that quantity at the line's contracted unit
 * price, rounded as fbi_plan_free_tiers rounds it (which never lowers a
 * larger quantity's cost). */
int64_t fbi_plan_credit_bound(const model *m, const pline *lines, size_t n, unsigned char *covered)
{
    int64_t ub = 0;
    *covered = 0;
    for (size_t fi = 0; fi < m->nftiers; fi++) {
        const fbi_price_row *f = m->ftiers[fi];
        unsigned __int128 q = 0;
        for (size_t k = 0; k < n; k++)
            if (fbi_plan_free_covers(f, lines[k].row)) q += (unsigned __int128)lines[k].qty;
        if (q == 0) continue;
        *covered = 1;
        unsigned __int128 freeq = (unsigned __int128)f->tier_end < q ? (unsigned __int128)f->tier_end : q;
        for (size_t k = 0; k < n; k++) {
            if (!fbi_plan_free_covers(f, lines[k].row)) continue;
            unsigned __int128 num = freeq * (unsigned __int128)lines[k].qty;
            fbi_qty share = (fbi_qty)((num + q - 1) / q);
            if (share > lines[k].qty) share = lines[k].qty;
            fbi_musd c = 0;
            char *err = NULL;
            if (fbi_line_cost(share, lines[k].contracted_unit, &c, &err) != 0) {
                /* cannot happen within the spec's limits; a bound that
                 * admits everything is still a bound */
                free(err);
                return INT64_MAX / 4;
            }
            ub += c * NANO_PER_MICRO;
        }
    }
    return ub;
}
