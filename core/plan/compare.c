/* compare.c - what a price change does to a plan (`plan --catalog NEW
 * --compare`): two plan documents of the same specs, one per catalog, set
 * side by side per workload (old and new placement and cost, whether the
 * placement moves) and in total. Amounts stay the plans' exact decimal
 * strings; differences are computed in nano-USD by the decimal module. */
#include "config.h"
#include "plan/compare.h"
#include "plan/plan.h"
#include "plan/report.h"
#include "base/decimal.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

static const char *js(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static int64_t nano(const char *s)
{
    int64_t v = 0;
    if (fbi_dec_parse(s, 9, FBI_DEC_SIGNED, &v, NULL) != 0) return 0;
    return v;
}

static json_t *amount(int64_t v)
{
    char b[40];
    return json_string(fbi_nano_str(v, b));
}

/* "provider:service:region" of a placed workload, or NULL. new string. */
static char *place_of(const json_t *w)
{
    json_t *pl = json_object_get(w, "placement");
    if (!pl) return NULL;
    return fbi_xasprintf("%s:%s:%s", js(pl, "provider"), js(pl, "service"), js(pl, "region"));
}

static const json_t *find(const json_t *plan, const char *tenant, const char *name)
{
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(plan, "workloads"), i, w)
        if (!strcmp(js(w, "tenant"), tenant) && !strcmp(js(w, "name"), name)) return w;
    return NULL;
}

json_t *fbi_plan_compare(const json_t *old_plan, const json_t *new_plan, const char *old_catalog,
                         const char *new_catalog)
{
    json_t *out = json_pack("{s:s,s:s,s:s,s:s}", "format", "fedbroker-plan-compare/1", "old_catalog",
                            old_catalog, "new_catalog", new_catalog, "currency", js(new_plan, "currency"));
    json_object_set_new(out, "old_status", json_string(js(old_plan, "status")));
    json_object_set_new(out, "new_status", json_string(js(new_plan, "status")));
    json_t *rows = json_array();
    size_t i, moved = 0;
    json_t *nw;
    /* the new plan's workloads in its order, then any only the old has
     * (the specs are the same, so that happens only when one is infeasible) */
    json_array_foreach(json_object_get(new_plan, "workloads"), i, nw) {
        const json_t *ow = find(old_plan, js(nw, "tenant"), js(nw, "name"));
        char *op = ow ? place_of(ow) : NULL, *np = place_of(nw);
        json_t *r = json_pack("{s:s,s:s}", "tenant", js(nw, "tenant"), "workload", js(nw, "name"));
        if (op) json_object_set_new(r, "old_placement", json_string(op));
        if (np) json_object_set_new(r, "new_placement", json_string(np));
        int64_t oc = op ? nano(js(ow, "monthly_cost")) : 0, nc = np ? nano(js(nw, "monthly_cost")) : 0;
        if (op) json_object_set_new(r, "old_cost", json_string(js(ow, "monthly_cost")));
        if (np) json_object_set_new(r, "new_cost", json_string(js(nw, "monthly_cost")));
        if (op && np) json_object_set_new(r, "change", amount(nc - oc));
        int mv = !op || !np || strcmp(op, np) != 0;
        json_object_set_new(r, "moves", json_boolean(mv));
        moved += (size_t)mv;
        json_array_append_new(rows, r);
        free(op);
        free(np);
    }
    json_object_set_new(out, "workloads", rows);
    json_object_set_new(out, "moves", json_integer((json_int_t)moved));
    static const char *const totals[] = {"total_monthly_cost", "list_monthly_cost", "net_monthly_cost"};
    json_t *t = json_object();
    for (size_t k = 0; k < sizeof totals / sizeof *totals; k++) {
        json_t *o = json_object_get(old_plan, totals[k]), *n = json_object_get(new_plan, totals[k]);
        if (!o || !n) continue;
        json_object_set_new(t, totals[k], json_pack("{s:O,s:O,s:o}", "old", o, "new", n, "change",
                                                    amount(nano(json_string_value(n)) -
                                                           nano(json_string_value(o)))));
    }
    json_object_set_new(out, "totals", t);
    return out;
}

/* The change as a signed percentage of old, to 0.01 %, or "" when old is 0. */
static const char *pct(const char *old_s, const char *change_s, char buf[40])
{
    int64_t o = nano(old_s), c = nano(change_s), bp;
    buf[0] = 0;
    if (o == 0 || fbi_dec_muldiv(c, 10000, o, &bp) != 0) return buf;
    char d[FBI_DEC_BUF];
    snprintf(buf, 40, "%s%s%%", bp > 0 ? "+" : "", fbi_dec_format(bp, 2, 2, d));
    return buf;
}


int fbi_compare_write(const json_t *cmp, fbi_report_format fmt, FILE *out)
{
    size_t i, n = json_array_size(json_object_get(cmp, "workloads"));
    json_t *r;
    char a[FBI_DEC_BUF], b[FBI_DEC_BUF], c[FBI_DEC_BUF], p[40];
    const json_t *tot = json_object_get(json_object_get(cmp, "totals"), "total_monthly_cost");
    long long moves = (long long)json_integer_value(json_object_get(cmp, "moves"));
    if (fmt == FBI_REPORT_JSON) {
        json_dumpf(cmp, out, JSON_INDENT(2) | JSON_SORT_KEYS);
        fputc('\n', out);
        return ferror(out) ? -1 : 0;
    }
    if (fmt == FBI_REPORT_CSV) {
        fprintf(out, "tenant,workload,old_placement,new_placement,moves,old_cost,new_cost,change\r\n");
        json_array_foreach(json_object_get(cmp, "workloads"), i, r)
            fprintf(out, "%s,%s,%s,%s,%s,%s,%s,%s\r\n", js(r, "tenant"), js(r, "workload"),
                    js(r, "old_placement"), js(r, "new_placement"),
                    json_is_true(json_object_get(r, "moves")) ? "yes" : "no", js(r, "old_cost"),
                    js(r, "new_cost"), js(r, "change"));
        if (tot)
            fprintf(out, "TOTAL,,,,%lld,%s,%s,%s\r\n", moves, js(tot, "old"), js(tot, "new"), js(tot, "change"));
        return ferror(out) ? -1 : 0;
    }
    /* table and Markdown: each column to the cent, adding up to its total
     * (largest remainder); a row's change is its new minus its old cents */
    const char **oa = fbi_xcalloc(n + 1, sizeof *oa), **na = fbi_xcalloc(n + 1, sizeof *na);
    json_array_foreach(json_object_get(cmp, "workloads"), i, r) {
        oa[i] = *js(r, "old_cost") ? js(r, "old_cost") : "0";
        na[i] = *js(r, "new_cost") ? js(r, "new_cost") : "0";
    }
    int64_t *oc = fbi_report_column_cents(oa, n), *nc = fbi_report_column_cents(na, n);
    int64_t ot = 0, nt = 0;
    for (i = 0; i < n; i++) ot += oc[i], nt += nc[i];
    int md = fmt == FBI_REPORT_MD;
    if (md)
        fprintf(out, "# Price change: %s -> %s\n\nPlan %s -> %s. Amounts to the cent; each column adds up to "
                     "its total (largest remainder).\n\n| workload | old placement | new placement | old USD/month "
                     "| new USD/month | change | moves |\n|---|---|---|---:|---:|---:|---|\n",
                js(cmp, "old_catalog"), js(cmp, "new_catalog"), js(cmp, "old_status"), js(cmp, "new_status"));
    else {
        fprintf(out, "Price change %s -> %s: plan %s -> %s\n", js(cmp, "old_catalog"), js(cmp, "new_catalog"),
                js(cmp, "old_status"), js(cmp, "new_status"));
        if (tot)
            fprintf(out, "Total %s -> %s USD/month (%s, %s); %lld workload(s) move\n",
                    fbi_dec_format(ot, 2, 2, a), fbi_dec_format(nt, 2, 2, b), fbi_dec_format(nt - ot, 2, 2, c),
                    pct(js(tot, "old"), js(tot, "change"), p), moves);
        fprintf(out, "\n%-22s %-34s %-34s %10s %10s %10s\n", "WORKLOAD", "OLD PLACEMENT", "NEW PLACEMENT",
                "OLD USD", "NEW USD", "CHANGE");
    }
    json_array_foreach(json_object_get(cmp, "workloads"), i, r) {
        const char *op = *js(r, "old_placement") ? js(r, "old_placement") : "(none)";
        const char *np = *js(r, "new_placement") ? js(r, "new_placement") : "(none)";
        int mv = json_is_true(json_object_get(r, "moves"));
        fbi_dec_format(oc[i], 2, 2, a);
        fbi_dec_format(nc[i], 2, 2, b);
        fbi_dec_format(nc[i] - oc[i], 2, 2, c);
        if (md)
            fprintf(out, "| %s/%s | %s | %s | %s | %s | %s | %s |\n", js(r, "tenant"), js(r, "workload"), op, np,
                    a, b, c, mv ? "**yes**" : "no");
        else
            fprintf(out, "%-22s %-34s %-34s %10s %10s %10s%s\n", js(r, "workload"), op, np, a, b, c,
                    mv ? "  moves" : "");
    }
    if (md)
        fprintf(out, "| **total** | | | %s | %s | %s (%s) | %lld |\n", fbi_dec_format(ot, 2, 2, a),
                fbi_dec_format(nt, 2, 2, b), fbi_dec_format(nt - ot, 2, 2, c),
                tot ? pct(js(tot, "old"), js(tot, "change"), p) : "", moves);
    else
        fprintf(out, "%-22s %-34s %-34s %10s %10s %10s\n", "TOTAL", "", "", fbi_dec_format(ot, 2, 2, a),
                fbi_dec_format(nt, 2, 2, b), fbi_dec_format(nt - ot, 2, 2, c));
    free(oa);
    free(na);
    free(oc);
    free(nc);
    return ferror(out) ? -1 : 0;
}
