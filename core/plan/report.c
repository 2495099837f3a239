/* report.c - renders a plan document for people and tools: table, JSON,
 * CSV of line items, Markdown, a self-contained HTML page with SVG charts,
 * and FOCUS 1.2 CSV. Every format shows the same numbers: amounts are the
 * plan's exact decimal strings, never recomputed in floating point (charts
 * use floats only to draw). */
#include "config.h"
#include "plan/report.h"
#include "plan/plan_int.h"
#include "base/util.h"
#include "base/decimal.h"
#include "catalog/catalog.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *js(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static double jd(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (json_is_string(v)) return atof(json_string_value(v));
    return json_number_value(v);
}

/* A plan amount (an exact decimal string, nano-USD at most) as nano-USD;
 * 0 for a missing or malformed one (the plan document writes them). */
static int64_t dec_nano(const char *s)
{
    int64_t v = 0;
    if (fbi_dec_parse(s, 9, FBI_DEC_SIGNED, &v, NULL) != 0) return 0;
    return v;
}

/* Money for people: to the cent by the decimal module's rule (halves away
 * from zero); the machine formats keep the exact amounts. */
static const char *money2(const char *dec, char *buf)
{
    int64_t cents = 0;
    fbi_dec_rescale(dec_nano(dec), 9, 2, &cents);
    return fbi_dec_format(cents, 2, 2, buf);
}

/* An exact amount in cents by the module's rule. */
static int64_t cents_of(const char *dec)
{
    int64_t c = 0;
    fbi_dec_rescale(dec_nano(dec), 9, 2, &c);
    return c;
}

/* The free-tier credit as people see it: the displayed net minus the
 * displayed total, so that "total + free tier = net" holds to the cent on
 * every human format (rounding each of the three on its own could leave a
 * cent between them). */
static int64_t credit_cents(const json_t *p)
{
    return cents_of(js(p, "net_monthly_cost")) - cents_of(js(p, "total_monthly_cost"));
}

/* Amounts to the cent so that a column adds up to its displayed total:
 * the total (the exact sum) is rounded by the decimal module's rule, each
 * amount is cut down to the cent, and the cents left over go one each to
 * the amounts with the largest remainders (ties to the earlier one): the
 * largest-remainder method. cents: caller-owned, n entries. A negative
 * amount (a credit) is handled the same way on its magnitude's floor. */
static void alloc_cents_to(const int64_t *nano, size_t n, int have_target, int64_t target,
                           int64_t *cents)
{
    int64_t sum = 0, given = 0, total = 0;
    int64_t *rem = fbi_xcalloc(n ? n : 1, sizeof *rem);
    for (size_t i = 0; i < n; i++) {
        sum += nano[i];
        /* floor towards -infinity, remainder in [0, 10^7) */
        int64_t q = nano[i] / 10000000, r = nano[i] % 10000000;
        if (r < 0) {
            q--;
            r += 10000000;
        }
        cents[i] = q;
        rem[i] = r;
        given += q;
    }
    fbi_dec_rescale(sum, 9, 2, &total);
    /* a column inside a row already allocated adds up to that row's cents */
    if (have_target) total = target;
    while (given < total) {
        size_t best = 0;
        for (size_t i = 1; i < n; i++)
            if (rem[i] > rem[best]) best = i;
        if (!n || rem[best] < 0) break;
        cents[best]++;
        rem[best] = -1;
        given++;
    }
    /* a target below the floors (a row allocated down): take cents back
     * from the smallest remainders */
    while (given > total && n) {
        size_t best = 0;
        for (size_t i = 1; i < n; i++)
            if (rem[i] >= 0 && (rem[best] < 0 || rem[i] < rem[best])) best = i;
        cents[best]--;
        rem[best] = -1;
        given--;
    }
    free(rem);
}

static void alloc_cents(const int64_t *nano, size_t n, int64_t *cents)
{
    alloc_cents_to(nano, n, 0, 0, cents);
}

/* The cents of a column of plan amounts (decimal strings), by alloc_cents. */
int64_t *fbi_report_column_cents(const char *const *amounts, size_t n)
{
    int64_t *nano = fbi_xcalloc(n ? n : 1, sizeof *nano);
    int64_t *cents = fbi_xcalloc(n ? n : 1, sizeof *cents);
    for (size_t i = 0; i < n; i++) nano[i] = dec_nano(amounts[i]);
    alloc_cents(nano, n, cents);
    free(nano);
    return cents;
}

static const char *cents_str(int64_t c, char *buf)
{
    return fbi_dec_format(c, 2, 2, buf);
}

/* An object of name -> amount printed "  name amount" with its cents
 * allocated so that they add up to the rounded sum. */
static void print_group(FILE *out, json_t *obj)
{
    size_t n = json_object_size(obj), i = 0;
    const char **am = fbi_xcalloc(n ? n : 1, sizeof *am);
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) am[i++] = json_string_value(v) ? json_string_value(v) : "0";
    int64_t *c = fbi_report_column_cents(am, n);
    char b[FBI_DEC_BUF];
    i = 0;
    json_object_foreach(obj, k, v) fprintf(out, "  %s %s", k, cents_str(c[i++], b));
    free(c);
    free(am);
}

/* ---- table ---- */

/* The override rules the plan applied: rule id -> {"applied_to": [workload
 * and link names], "saved": list minus contracted over those lines (exact)}
 * (new). Every format names them, not only JSON. */
static json_t *contract_rules(const json_t *p)
{
    json_t *rules = json_object();
    size_t i, k;
    json_t *w, *l;
    json_array_foreach(json_object_get(p, "workloads"), i, w)
        json_array_foreach(json_object_get(w, "lines"), k, l) {
            const char *r = js(l, "contract_rule");
            if (!*r) continue;
            json_t *e = json_object_get(rules, r);
            if (!e) json_object_set_new(rules, r, e = json_pack("{s:[],s:I}", "applied_to", "saved", (json_int_t)0));
            json_t *to = json_object_get(e, "applied_to");
            size_t n = json_array_size(to);
            if (!n || strcmp(json_string_value(json_array_get(to, n - 1)), js(w, "name")))
                json_array_append_new(to, json_string(js(w, "name")));
            json_object_set_new(e, "saved", json_integer(json_integer_value(json_object_get(e, "saved")) +
                                                         dec_nano(js(l, "list_cost")) -
                                                         dec_nano(js(l, "contracted_cost"))));
        }
    json_array_foreach(json_object_get(p, "links"), i, l) {
        const char *r = js(l, "contract_rule");
        if (!*r) continue;
        json_t *e = json_object_get(rules, r);
        if (!e) json_object_set_new(rules, r, e = json_pack("{s:[],s:I}", "applied_to", "saved", (json_int_t)0));
        json_array_append_new(json_object_get(e, "applied_to"), json_sprintf("%s->%s", js(l, "from"), js(l, "to")));
        json_object_set_new(e, "saved", json_integer(json_integer_value(json_object_get(e, "saved")) +
                                                     dec_nano(js(l, "list_cost")) - dec_nano(js(l, "monthly_cost"))));
    }
    return rules;
}

/* One line per applied rule: "RULE (saves X USD/month against list): a, b". */
static void print_rules(FILE *out, const json_t *p, const char *prefix, const char *suffix)
{
    json_t *rules = contract_rules(p);
    const char *r;
    json_t *e;
    json_object_foreach(rules, r, e) {
        char b[FBI_DEC_BUF];
        int64_t cents = 0;
        fbi_dec_rescale(json_integer_value(json_object_get(e, "saved")), 9, 2, &cents);
        fprintf(out, "%sContract rule %s (saves %s USD/month against list):", prefix, r,
                fbi_dec_format(cents, 2, 2, b));
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(e, "applied_to"), i, v) fprintf(out, "%s %s", i ? "," : "", json_string_value(v));
        fprintf(out, "%s\n", suffix);
    }
    json_decref(rules);
}

static void write_table(const json_t *p, const char *group_by, FILE *out)
{
    char a[40], b[40], c[40], d[40];
    const char *status = js(p, "status");
    fprintf(out, "Plan: %s", status);
    if (json_object_get(p, "total_monthly_cost")) {
        fprintf(out, ", total %s USD/month (list %s, free tier %s, net %s)\n",
                money2(js(p, "total_monthly_cost"), a), money2(js(p, "list_monthly_cost"), b),
                cents_str(credit_cents(p), c), money2(js(p, "net_monthly_cost"), d));
        fprintf(out, "Lower bound %s USD/month, gap %.3f%% (%s bound, %s plan)\n",
                money2(js(p, "lower_bound"), a), jd(p, "gap") * 100,
                js(json_object_get(p, "solver"), "bound_method"),
                js(json_object_get(p, "solver"), "plan_method"));
    } else {
        fputc('\n', out);
    }
    fprintf(out, "Currency %s; %s; catalog %s\n", js(p, "currency"), js(p, "hours_basis"),
            js(json_object_get(p, "catalog"), "origin"));
    json_t *relaxed = json_object_get(p, "objective_relaxed");
    if (relaxed) {
        fprintf(out, "Objective band relaxed for");
        size_t r;
        json_t *rv;
        json_array_foreach(json_object_get(relaxed, "workloads"), r, rv)
            fprintf(out, " %s", json_string_value(rv));
        fprintf(out, ": %s\n", js(relaxed, "why"));
    }
    fputc('\n', out);
    fprintf(out, "%-22s %-40s %12s %13s  %s\n", "WORKLOAD", "PLACEMENT", "USD/MONTH", "P50/P99 MS",
            "NEXT BEST (why not)");
    size_t i;
    json_t *w;
    /* the USD/MONTH column to the cent, adding up to the TOTAL row */
    json_t *wls = json_object_get(p, "workloads");
    size_t nw = json_array_size(wls);
    const char **am = fbi_xcalloc(nw ? nw : 1, sizeof *am);
    json_array_foreach(wls, i, w) am[i] = json_object_get(w, "placement") ? js(w, "monthly_cost") : "0";
    int64_t *wc = fbi_report_column_cents(am, nw);
    free(am);
    json_array_foreach(wls, i, w) {
        json_t *pl = json_object_get(w, "placement");
        if (!pl) {
            fprintf(out, "%-22s %-40s\n", js(w, "name"), "(no placement)");
            continue;
        }
        char place[128], lat[40] = "-";
        snprintf(place, sizeof place, "%s:%s:%s", js(pl, "provider"), js(pl, "service"),
                 js(pl, "region"));
        if (json_object_get(w, "p50_latency_ms"))
            snprintf(lat, sizeof lat, "%.1f/%.1f", jd(w, "p50_latency_ms"),
                     jd(json_object_get(w, "latency_ms"), "p99"));
        json_t *alt = json_array_get(json_object_get(w, "alternatives"), 0);
        char altb[256] = "";
        if (alt)
            snprintf(altb, sizeof altb, "%s:%s:%s %s (%s)", js(alt, "provider"), js(alt, "service"),
                     js(alt, "region"), money2(js(alt, "monthly_cost"), a), js(alt, "decided_by"));
        fprintf(out, "%-22s %-40s %12s %13s  %s\n", js(w, "name"), place,
                cents_str(wc[i], b), lat, altb);
    }
    if (json_object_get(p, "total_monthly_cost"))
        fprintf(out, "%-22s %-40s %12s\n", "TOTAL", "(cents allocated by largest remainder)",
                money2(js(p, "total_monthly_cost"), b));
    free(wc);
    json_t *links = json_object_get(p, "links");
    if (json_array_size(links)) {
        fprintf(out, "\n%-22s %-22s %12s %10s %12s\n", "LINK FROM", "TO", "GIB/MONTH", "RTT MS", "USD/MONTH");
        json_array_foreach(links, i, w) {
            char rtt[16] = "-";
            if (json_object_get(w, "rtt_ms")) snprintf(rtt, sizeof rtt, "%.1f", jd(w, "rtt_ms"));
            fprintf(out, "%-22s %-22s %12.1f %10s %12s\n", js(w, "from"), js(w, "to"),
                    jd(w, "volume_gib"), rtt, money2(js(w, "monthly_cost"), a));
        }
    }
    json_t *totals = json_object_get(p, "totals");
    const char *k;
    json_t *v;
    if (json_object_size(json_object_get(totals, "by_provider"))) {
        fprintf(out, "\nBy provider:");
        print_group(out, json_object_get(totals, "by_provider"));
        fputc('\n', out);
    }
    json_t *groups = json_object_get(totals, "by_label");
    json_object_foreach(groups, k, v) {
        if (group_by && strcmp(group_by, k)) continue;
        fprintf(out, "By %s:", k);
        print_group(out, v);
        fputc('\n', out);
    }
    if (group_by && !json_object_get(groups, group_by))
        fprintf(out, "By %s: (no workload has that label)\n", group_by);
    print_rules(out, p, "", "");
    /* the credits to the cent, adding up to the headline's free tier */
    json_t *fts = json_object_get(p, "free_tiers");
    size_t nf = json_array_size(fts);
    int64_t *fn = fbi_xcalloc(nf + 1, sizeof *fn), *fc = fbi_xcalloc(nf + 1, sizeof *fc);
    json_array_foreach(fts, i, w) fn[i] = dec_nano(js(w, "credit"));
    alloc_cents_to(fn, nf, 1, credit_cents(p), fc);
    json_array_foreach(fts, i, w)
        fprintf(out, "Free tier %s: %s of %s %s used, credit %s\n", js(w, "sku"), js(w, "used"),
                js(w, "allowance"), js(w, "unit"), cents_str(fc[i], a));
    free(fn);
    free(fc);
    /* each budget and the figure it was compared with (docs/spec.md) */
    json_array_foreach(json_object_get(p, "budgets"), i, w)
        fprintf(out, "Budget of %s %s/%s (%s): %s of %s USD/month, %s\n", js(w, "scope"), js(w, "tenant"),
                *js(w, "workload") ? js(w, "workload") : js(w, "federation"), fbi_plan_basis_words(fbi_plan_basis(w)),
                money2(js(w, "compared"), a), money2(js(w, "budget"), b),
                json_is_true(json_object_get(w, "within")) ? "within" : "over");
    json_array_foreach(json_object_get(p, "baselines"), i, w) {
        if (!strcmp(js(w, "status"), "feasible"))
            fprintf(out, "Baseline %-10s %s USD/month (this plan saves %s)\n", js(w, "name"),
                    money2(js(w, "total_monthly_cost"), a), money2(js(w, "savings"), b));
        else
            fprintf(out, "Baseline %-10s infeasible: %s\n", js(w, "name"), js(w, "reason"));
    }
    json_array_foreach(json_object_get(p, "infeasible"), i, w) {
        fprintf(out, "\n%s\n", js(w, "reason"));
        if (*js(w, "nearest")) fprintf(out, "  %s\n", js(w, "nearest"));
    }
}

/* ---- CSV of line items ---- */

static void csv_row(FILE *out, const char *const *f, size_t n)
{
    fbi_buf b;
    fbi_buf_init(&b);
    for (size_t i = 0; i < n; i++) {
        if (i) fbi_buf_putc(&b, ',');
        fbi_csv_put_field(&b, f[i] ? f[i] : "");
    }
    fprintf(out, "%s\r\n", b.data ? b.data : "");
    fbi_buf_free(&b);
}

static void write_csv(const json_t *p, FILE *out)
{
    static const char *hdr[] = {"workload", "tenant", "provider", "service", "region", "what",
        "metric", "variant", "unit", "quantity", "tier", "unit_price", "contracted_unit_price",
        "list_cost", "contracted_cost", "free_tier_credit", "effective_cost", "sku", "source",
        "as_of", "confidence", "contract_rule"};
    csv_row(out, hdr, sizeof hdr / sizeof *hdr);
    size_t i, k;
    json_t *w, *l;
    json_array_foreach(json_object_get(p, "workloads"), i, w) {
        json_t *pl = json_object_get(w, "placement");
        json_array_foreach(json_object_get(w, "lines"), k, l) {
            const char *f[] = {js(w, "name"), js(w, "tenant"), js(pl, "provider"), js(l, "service"),
                js(pl, "region"), js(l, "what"), js(l, "metric"), js(l, "variant"), js(l, "unit"),
                js(l, "quantity"), js(l, "tier"), js(l, "unit_price"), js(l, "contracted_unit_price"),
                js(l, "list_cost"), js(l, "contracted_cost"),
                *js(l, "free_tier_credit") ? js(l, "free_tier_credit") : "0.00",
                js(l, "effective_cost"), js(l, "sku"), js(l, "source"), js(l, "as_of"),
                js(l, "confidence"), js(l, "contract_rule")};
            csv_row(out, f, sizeof f / sizeof *f);
        }
    }
    json_array_foreach(json_object_get(p, "links"), i, l) {
        char q[64];
        snprintf(q, sizeof q, "%s", js(l, "volume_gib"));
        const char *f[] = {js(l, "from"), "", "", "egress", js(l, "from_region"), "egress-link",
            js(l, "egress_kind"), js(l, "to_region"), "GiB", q, "",
            *js(l, "list_usd_per_gib") ? js(l, "list_usd_per_gib") : js(l, "egress_usd_per_gib"),
            js(l, "egress_usd_per_gib"), *js(l, "list_cost") ? js(l, "list_cost") : js(l, "monthly_cost"),
            js(l, "monthly_cost"), "0.00", js(l, "monthly_cost"), js(l, "sku"), js(l, "source"),
            js(l, "as_of"), "", js(l, "contract_rule")};
        csv_row(out, f, sizeof f / sizeof *f);
    }
    const char *tot[] = {"TOTAL", "", "", "", "", "", "", "", "", "", "", "", "",
        js(p, "list_monthly_cost"), js(p, "total_monthly_cost"), js(p, "free_tier_credit"),
        js(p, "net_monthly_cost"), "", "", "", "", ""};
    csv_row(out, tot, sizeof tot / sizeof *tot);
}

/* ---- Markdown ---- */

/* Markdown rows of one group (name -> amount) to the cent, adding up. */
static void md_group(FILE *out, const char *label, json_t *obj)
{
    size_t n = json_object_size(obj), i = 0;
    const char **am = fbi_xcalloc(n ? n : 1, sizeof *am);
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) am[i++] = json_string_value(v) ? json_string_value(v) : "0";
    int64_t *c = fbi_report_column_cents(am, n);
    char b[FBI_DEC_BUF];
    i = 0;
    json_object_foreach(obj, k, v) fprintf(out, "| %s | %s | %s |\n", label, k, cents_str(c[i++], b));
    free(c);
    free(am);
}

static void write_md(const json_t *p, const char *group_by, FILE *out)
{
    char a[40], b[40], c[40];
    fprintf(out, "# Placement plan\n\n");
    fprintf(out, "- status: **%s**\n", js(p, "status"));
    if (json_object_get(p, "total_monthly_cost")) {
        char c1[40], c2[40], c3[40], c4[40];
        fprintf(out, "- total: **%s USD/month** (list %s, free tier %s, net %s)\n",
                money2(js(p, "total_monthly_cost"), c1), money2(js(p, "list_monthly_cost"), c2),
                cents_str(credit_cents(p), c3), money2(js(p, "net_monthly_cost"), c4));
        fprintf(out, "- lower bound %s, gap %.3f%%\n", money2(js(p, "lower_bound"), c1), jd(p, "gap") * 100);
        fprintf(out, "- amounts to the cent; each column adds up to its total (the cents left by "
                     "rounding go to the largest remainders); JSON, CSV and FOCUS keep exact values\n");
    }
    fprintf(out, "- currency %s; %s\n- free tiers: %s\n- commitments: %s\n\n", js(p, "currency"),
            js(p, "hours_basis"), js(p, "free_tier_rule"), js(p, "commitments"));
    size_t i, k;
    json_t *w, *l;
    json_t *wls = json_object_get(p, "workloads");
    size_t nw = json_array_size(wls);
    const char **am = fbi_xcalloc(nw ? nw : 1, sizeof *am);
    json_array_foreach(wls, i, w) am[i] = json_object_get(w, "placement") ? js(w, "monthly_cost") : "0";
    int64_t *wc = fbi_report_column_cents(am, nw);
    free(am);
    json_array_foreach(wls, i, w) {
        json_t *pl = json_object_get(w, "placement");
        fprintf(out, "## %s/%s\n\n", js(w, "tenant"), js(w, "name"));
        if (!pl) {
            fprintf(out, "No placement.\n\n");
            continue;
        }
        char c1[40], c2[40], c3[40];
        fprintf(out, "%s `%s` in `%s`: **%s USD/month** (list %s, contracted %s)", js(pl, "provider"),
                js(pl, "service"), js(pl, "region"), cents_str(wc[i], c1), money2(js(w, "list_cost"), c2),
                money2(js(w, "contracted_cost"), c3));
        if (json_object_get(w, "p50_latency_ms"))
            fprintf(out, ", latency p50 %.1f / p90 %.1f / p95 %.1f / p99 %.1f ms (%s)",
                    jd(w, "p50_latency_ms"), jd(json_object_get(w, "latency_ms"), "p90"),
                    jd(json_object_get(w, "latency_ms"), "p95"), jd(json_object_get(w, "latency_ms"), "p99"),
                    js(w, "latency_origin"));
        fprintf(out, "\n\n| metric | variant | quantity | unit | unit price | tier | cost | SKU | source | as of | contract rule |\n");
        fprintf(out, "|---|---|---:|---|---:|---|---:|---|---|---|---|\n");
        /* the lines and the egress to other workloads, to the cent, adding
         * up to the workload's amount above */
        json_t *lines = json_object_get(w, "lines");
        size_t nl = json_array_size(lines);
        int64_t *ln = fbi_xcalloc(nl + 1, sizeof *ln), *lc = fbi_xcalloc(nl + 1, sizeof *lc);
        json_array_foreach(lines, k, l) ln[k] = dec_nano(js(l, "contracted_cost"));
        ln[nl] = dec_nano(js(w, "egress_to_workloads"));
        alloc_cents_to(ln, nl + 1, 1, wc[i], lc);
        json_array_foreach(lines, k, l)
            fprintf(out, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", js(l, "metric"),
                    js(l, "variant"), js(l, "quantity"), js(l, "unit"), js(l, "contracted_unit_price"),
                    js(l, "tier"), cents_str(lc[k], c1), js(l, "sku"), js(l, "source"), js(l, "as_of"),
                    js(l, "contract_rule"));
        if (ln[nl])
            fprintf(out, "| egress to other workloads | | | | | | %s | (see Links) | | | |\n",
                    cents_str(lc[nl], c1));
        fprintf(out, "| **total** | | | | | | **%s** | | | | |\n", cents_str(wc[i], c1));
        free(ln);
        free(lc);
        json_t *alts = json_object_get(w, "alternatives");
        if (json_array_size(alts)) {
            fprintf(out, "\nAlternatives:\n\n");
            json_array_foreach(alts, k, l)
                fprintf(out, "- %s:%s:%s %s USD/month%s%s: %s\n", js(l, "provider"), js(l, "service"),
                        js(l, "region"), money2(js(l, "monthly_cost"), c2),
                        json_object_get(l, "p50_latency_ms") ? ", p50 " : "",
                        json_object_get(l, "p50_latency_ms") ? (snprintf(a, sizeof a, "%.1f ms",
                            jd(l, "p50_latency_ms")), a) : "", js(l, "decided_by"));
        }
        fputc('\n', out);
    }
    free(wc);
    const char *key;
    json_t *v;
    json_t *totals = json_object_get(p, "totals");
    json_t *links = json_object_get(p, "links");
    if (json_array_size(links)) {
        /* each link's egress is also inside its sender's amount above */
        fprintf(out, "## Links\n\n| from | to | GiB/month | USD/GiB | list USD/GiB | USD/month | SKU | source | as of | contract rule |\n"
                     "|---|---|---:|---:|---:|---:|---|---|---|---|\n");
        json_array_foreach(links, i, l)
            fprintf(out, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", js(l, "from"), js(l, "to"),
                    js(l, "volume_gib"), js(l, "egress_usd_per_gib"), js(l, "list_usd_per_gib"),
                    money2(js(l, "monthly_cost"), a), js(l, "sku"), js(l, "source"), js(l, "as_of"),
                    js(l, "contract_rule"));
        fputc('\n', out);
    }
    json_t *rules = contract_rules(p);
    if (json_object_size(rules)) {
        fprintf(out, "## Contract rules applied\n\n");
        print_rules(out, p, "- ", "");
        fputc('\n', out);
    }
    json_decref(rules);
    json_array_foreach(json_object_get(p, "budgets"), i, w)
        fprintf(out, "%s| %s %s/%s | %s | %s | %s | %s |\n",
                i ? "" : "## Budgets\n\n| budget of | compared with | USD/month | budget USD/month | within |\n"
                         "|---|---|---:|---:|---|\n",
                js(w, "scope"), js(w, "tenant"), *js(w, "workload") ? js(w, "workload") : js(w, "federation"),
                fbi_plan_basis_words(fbi_plan_basis(w)), money2(js(w, "compared"), a), money2(js(w, "budget"), c),
                json_is_true(json_object_get(w, "within")) ? "yes" : "no");
    if (json_array_size(json_object_get(p, "budgets"))) fputc('\n', out);
    fprintf(out, "## Totals\n\n| group | value | USD/month |\n|---|---|---:|\n");
    md_group(out, "provider", json_object_get(totals, "by_provider"));
    md_group(out, "region", json_object_get(totals, "by_region"));
    json_object_foreach(json_object_get(totals, "by_label"), key, v) {
        if (group_by && strcmp(group_by, key)) continue;
        md_group(out, key, v);
    }
    json_array_foreach(json_object_get(p, "baselines"), i, w)
        fprintf(out, "%s| baseline | %s | %s |\n", i ? "" : "\n| baseline | | USD/month |\n|---|---|---:|\n",
                js(w, "name"), !strcmp(js(w, "status"), "feasible")
                    ? (snprintf(b, sizeof b, "%s (saves %s)", money2(js(w, "total_monthly_cost"), a),
                                money2(js(w, "savings"), c)), b)
                    : "infeasible");
}

/* ---- HTML with SVG charts ---- */

static void html_escape(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '&': fputs("&amp;", out); break;
        case '"': fputs("&quot;", out); break;
        default: fputc(*s, out);
        }
    }
}

/* A horizontal bar chart of name -> decimal amount. */
static void svg_bars(FILE *out, const char *id, const char *title, json_t *obj)
{
    size_t n = json_object_size(obj);
    double max = 0;
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        double x = atof(json_string_value(v));
        if (x > max) max = x;
    }
    int h = 30 + (int)n * 26;
    fprintf(out, "<figure><figcaption>");
    html_escape(out, title);
    fprintf(out, "</figcaption><svg id=\"%s\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" "
                 "width=\"640\" height=\"%d\" role=\"img\">\n", id, h);
    int row = 0;
    char m[40];
    json_object_foreach(obj, k, v) {
        double x = atof(json_string_value(v));
        double wpx = max > 0 ? 380.0 * x / max : 0;
        int y = 10 + row * 26;
        fprintf(out, "<text x=\"0\" y=\"%d\" font-size=\"12\">", y + 14);
        html_escape(out, k);
        fprintf(out, "</text><rect class=\"bar\" x=\"160\" y=\"%d\" width=\"%.1f\" height=\"18\" "
                     "fill=\"#3a6ea5\"><title>", y, wpx);
        html_escape(out, k);
        fprintf(out, ": %s USD/month</title></rect>", json_string_value(v));
        fprintf(out, "<text x=\"%.1f\" y=\"%d\" font-size=\"12\">%s</text>\n", 166 + wpx, y + 14,
                money2(json_string_value(v), m));
        row++;
    }
    fprintf(out, "</svg></figure>\n");
}

/* Cost against latency of every workload's placement and alternatives. */
static void svg_scatter(FILE *out, const json_t *p)
{
    double maxc = 0, maxl = 0;
    size_t i, k;
    json_t *w, *a;
    json_array_foreach(json_object_get(p, "workloads"), i, w) {
        if (!json_object_get(w, "placement")) continue;
        maxc = fmax(maxc, jd(w, "monthly_cost"));
        maxl = fmax(maxl, jd(w, "p50_latency_ms"));
        json_array_foreach(json_object_get(w, "alternatives"), k, a) {
            maxc = fmax(maxc, jd(a, "monthly_cost"));
            maxl = fmax(maxl, jd(a, "p50_latency_ms"));
        }
    }
    if (maxc <= 0) maxc = 1;
    if (maxl <= 0) maxl = 1;
    fprintf(out, "<figure><figcaption>Cost vs p50 latency: chosen (filled) and alternatives (hollow)"
                 "</figcaption><svg id=\"scatter\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" "
                 "width=\"640\" height=\"360\" role=\"img\">\n");
    fprintf(out, "<line x1=\"50\" y1=\"320\" x2=\"620\" y2=\"320\" stroke=\"#444\"/>"
                 "<line x1=\"50\" y1=\"10\" x2=\"50\" y2=\"320\" stroke=\"#444\"/>"
                 "<text class=\"axis-label\" x=\"520\" y=\"355\" font-size=\"12\">p50 latency (ms)</text>"
                 "<text class=\"axis-label\" x=\"0\" y=\"8\" font-size=\"12\">USD/month</text>\n");
    /* ticks at 0, 1/4, 1/2, 3/4 and the maximum of each axis */
    for (int t = 0; t <= 4; t++) {
        double fx = 50 + 570 * t / 4.0, fy = 320 - 300 * t / 4.0;
        fprintf(out, "<line x1=\"%.1f\" y1=\"320\" x2=\"%.1f\" y2=\"325\" stroke=\"#444\"/>"
                     "<text class=\"tick\" x=\"%.1f\" y=\"338\" font-size=\"10\">%.0f</text>"
                     "<line x1=\"45\" y1=\"%.1f\" x2=\"50\" y2=\"%.1f\" stroke=\"#444\"/>"
                     "<text class=\"tick\" x=\"2\" y=\"%.1f\" font-size=\"10\">%.2f</text>\n",
                fx, fx, fx - 8, maxl * t / 4, fy, fy, fy + 4, maxc * t / 4);
    }
    static const char *colors[] = {"#3a6ea5", "#c0504d", "#9bbb59", "#8064a2", "#f79646", "#4bacc6"};
    json_array_foreach(json_object_get(p, "workloads"), i, w) {
        if (!json_object_get(w, "placement")) continue;
        const char *col = colors[i % 6];
        json_array_foreach(json_object_get(w, "alternatives"), k, a) {
            if (!json_object_get(a, "p50_latency_ms")) continue;
            fprintf(out, "<circle class=\"alt\" cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"none\" stroke=\"%s\">"
                         "<title>", 50 + 570 * jd(a, "p50_latency_ms") / maxl,
                    320 - 300 * jd(a, "monthly_cost") / maxc, col);
            html_escape(out, js(w, "name"));
            fprintf(out, " alternative %s:%s:%s</title></circle>\n", js(a, "provider"), js(a, "service"),
                    js(a, "region"));
        }
        if (!json_object_get(w, "p50_latency_ms")) continue;
        fprintf(out, "<circle class=\"chosen\" cx=\"%.1f\" cy=\"%.1f\" r=\"6\" fill=\"%s\"><title>",
                50 + 570 * jd(w, "p50_latency_ms") / maxl, 320 - 300 * jd(w, "monthly_cost") / maxc, col);
        html_escape(out, js(w, "name"));
        fprintf(out, " chosen</title></circle><text class=\"point-label\" x=\"%.1f\" y=\"%.1f\" font-size=\"11\">",
                58 + 570 * jd(w, "p50_latency_ms") / maxl, 316 - 300 * jd(w, "monthly_cost") / maxc);
        html_escape(out, js(w, "name"));
        fprintf(out, "</text>\n");
    }
    fprintf(out, "</svg></figure>\n");
}

/* An amount to the cent in a table cell, the exact amount in its title. */
static void html_money(FILE *out, int64_t cents, const char *exact)
{
    char b[FBI_DEC_BUF];
    fprintf(out, "<td class=\"n\" title=\"%s\">%s</td>", exact, cents_str(cents, b));
}

static void html_cell(FILE *out, const char *s)
{
    fprintf(out, "<td>");
    html_escape(out, s);
    fprintf(out, "</td>");
}

/* A line's source codes ("S4;S12"), each linked to its legend entry. */
static void html_sources(FILE *out, const char *codes)
{
    fprintf(out, "<td>");
    while (*codes) {
        size_t n = strcspn(codes, ";");
        fprintf(out, "<a href=\"#src-%.*s\">%.*s</a>", (int)n, codes, (int)n, codes);
        codes += n;
        if (*codes == ';') fprintf(out, "; "), codes++;
    }
    fprintf(out, "</td>");
}

/* The page's sections, in the order a reviewer checks them: the headline,
 * workloads (adding up to the total), each workload's lines (adding up to
 * its amount), links, free-tier netting (total + credits = net), contract
 * rules, budgets, baselines and alternatives, the price sources legend, then the
 * charts. Amounts are to the cent by the largest-remainder rule, as in the
 * table and Markdown formats; each cell's title holds the exact amount. */
static void write_html(const json_t *p, const char *group_by, FILE *out)
{
    char a[40], b[40], c[40], d[40];
    fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                 "<title>fedbroker placement plan</title>\n<style>"
                 "body{font-family:sans-serif;margin:2em;max-width:1100px}"
                 "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 6px;"
                 "font-size:13px}td.n{text-align:right}tr.total td{font-weight:bold}figure{margin:1em 0}"
                 "</style></head><body>\n<h1>Placement plan</h1>\n<p id=\"summary\">Status <b>");
    html_escape(out, js(p, "status"));
    fprintf(out, "</b>");
    int solved = json_object_get(p, "total_monthly_cost") != NULL;
    if (solved)
        fprintf(out, ": total <b id=\"total\" title=\"%s\">%s</b> USD/month (list <span id=\"list\">%s</span>, "
                     "free tier <span id=\"credit\">%s</span>, net <b id=\"net\">%s</b>); "
                     "lower bound %s, gap %.3f%%.", js(p, "total_monthly_cost"), money2(js(p, "total_monthly_cost"), a),
                money2(js(p, "list_monthly_cost"), b), cents_str(credit_cents(p), c),
                money2(js(p, "net_monthly_cost"), d), money2(js(p, "lower_bound"), a), jd(p, "gap") * 100);
    fprintf(out, " Currency %s; ", js(p, "currency"));
    html_escape(out, js(p, "hours_basis"));
    fprintf(out, ". Amounts are to the cent; each column adds up to its total (the cents left by rounding "
                 "go to the largest remainders); a cell's tooltip holds the exact amount.</p>\n");

    /* workloads */
    json_t *wls = json_object_get(p, "workloads");
    size_t nw = json_array_size(wls), i, k;
    json_t *w, *l;
    const char **am = fbi_xcalloc(nw ? nw : 1, sizeof *am);
    json_array_foreach(wls, i, w) am[i] = json_object_get(w, "placement") ? js(w, "monthly_cost") : "0";
    int64_t *wc = fbi_report_column_cents(am, nw);
    free(am);
    fprintf(out, "<h2 id=\"s-workloads\">Workloads</h2>\n<table id=\"workloads\"><tr><th>workload</th>"
                 "<th>placement</th><th>USD/month</th><th>p50 ms</th><th>p99 ms</th></tr>\n");
    json_array_foreach(wls, i, w) {
        json_t *pl = json_object_get(w, "placement");
        fprintf(out, "<tr>");
        html_cell(out, js(w, "name"));
        if (!pl) {
            fprintf(out, "<td>(no placement)</td><td class=\"n\">0.00</td><td></td><td></td></tr>\n");
            continue;
        }
        fprintf(out, "<td>%s:%s:%s</td>", js(pl, "provider"), js(pl, "service"), js(pl, "region"));
        html_money(out, wc[i], js(w, "monthly_cost"));
        if (json_object_get(w, "p50_latency_ms"))
            fprintf(out, "<td class=\"n\">%.1f</td><td class=\"n\">%.1f</td>", jd(w, "p50_latency_ms"),
                    jd(json_object_get(w, "latency_ms"), "p99"));
        else
            fprintf(out, "<td></td><td></td>");
        fprintf(out, "</tr>\n");
    }
    if (solved)
        fprintf(out, "<tr class=\"total\"><td>total</td><td></td><td class=\"n\" title=\"%s\">%s</td>"
                     "<td></td><td></td></tr>\n", js(p, "total_monthly_cost"), money2(js(p, "total_monthly_cost"), a));
    fprintf(out, "</table>\n");

    /* each workload's lines, adding up to its amount */
    fprintf(out, "<h2 id=\"s-lines\">Cost lines</h2>\n");
    json_array_foreach(wls, i, w) {
        if (!json_object_get(w, "placement")) continue;
        json_t *lines = json_object_get(w, "lines");
        size_t nl = json_array_size(lines);
        int64_t *ln = fbi_xcalloc(nl + 1, sizeof *ln), *lc = fbi_xcalloc(nl + 1, sizeof *lc);
        json_array_foreach(lines, k, l) ln[k] = dec_nano(js(l, "contracted_cost"));
        ln[nl] = dec_nano(js(w, "egress_to_workloads"));
        alloc_cents_to(ln, nl + 1, 1, wc[i], lc);
        fprintf(out, "<h3>");
        html_escape(out, js(w, "name"));
        fprintf(out, "</h3>\n<table class=\"lines\" data-workload=\"");
        html_escape(out, js(w, "name"));
        fprintf(out, "\"><tr><th>metric</th><th>quantity</th><th>unit</th><th>unit price</th><th>tier</th>"
                     "<th>cost</th><th>SKU</th><th>source</th><th>as of</th><th>contract rule</th></tr>\n");
        json_array_foreach(lines, k, l) {
            fprintf(out, "<tr><td>");
            html_escape(out, js(l, "metric"));
            fprintf(out, " ");
            html_escape(out, js(l, "variant"));
            fprintf(out, "</td><td class=\"n\">%s</td>", js(l, "quantity"));
            html_cell(out, js(l, "unit"));
            fprintf(out, "<td class=\"n\">%s</td>", js(l, "contracted_unit_price"));
            html_cell(out, js(l, "tier"));
            html_money(out, lc[k], js(l, "contracted_cost"));
            html_cell(out, js(l, "sku"));
            html_sources(out, js(l, "source"));
            html_cell(out, js(l, "as_of"));
            html_cell(out, js(l, "contract_rule"));
            fprintf(out, "</tr>\n");
        }
        if (ln[nl]) {
            fprintf(out, "<tr><td>egress to other workloads (see Links)</td><td></td><td></td><td></td><td></td>");
            html_money(out, lc[nl], js(w, "egress_to_workloads"));
            fprintf(out, "<td></td><td></td><td></td><td></td></tr>\n");
        }
        fprintf(out, "<tr class=\"total\"><td>total</td><td></td><td></td><td></td><td></td>");
        html_money(out, wc[i], js(w, "monthly_cost"));
        fprintf(out, "<td></td><td></td><td></td><td></td></tr>\n</table>\n");
        free(ln);
        free(lc);
    }
    free(wc);

    /* links */
    json_t *links = json_object_get(p, "links");
    if (json_array_size(links)) {
        fprintf(out, "<h2 id=\"s-links\">Links</h2>\n<p>A link's egress is paid by its sender and is "
                     "inside the sender's amount above.</p>\n<table id=\"links\"><tr><th>from</th><th>to</th>"
                     "<th>GiB/month</th><th>USD/GiB</th><th>list USD/GiB</th><th>USD/month</th><th>SKU</th>"
                     "<th>source</th><th>as of</th><th>contract rule</th></tr>\n");
        json_array_foreach(links, i, l) {
            fprintf(out, "<tr>");
            html_cell(out, js(l, "from"));
            html_cell(out, js(l, "to"));
            fprintf(out, "<td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
                         "<td class=\"n\" title=\"%s\">%s</td>", js(l, "volume_gib"), js(l, "egress_usd_per_gib"),
                    js(l, "list_usd_per_gib"), js(l, "monthly_cost"), money2(js(l, "monthly_cost"), a));
            html_cell(out, js(l, "sku"));
            html_sources(out, js(l, "source"));
            html_cell(out, js(l, "as_of"));
            html_cell(out, js(l, "contract_rule"));
            fprintf(out, "</tr>\n");
        }
        fprintf(out, "</table>\n");
    }

    /* free-tier netting: the total, each allowance's credit, the net */
    if (solved) {
        json_t *fts = json_object_get(p, "free_tiers");
        size_t nf = json_array_size(fts);
        int64_t *fn = fbi_xcalloc(nf + 1, sizeof *fn), *fc = fbi_xcalloc(nf + 1, sizeof *fc);
        json_array_foreach(fts, i, l) fn[i] = dec_nano(js(l, "credit"));
        alloc_cents_to(fn, nf, 1, credit_cents(p), fc);
        fprintf(out, "<h2 id=\"s-free-tier\">Free-tier netting</h2>\n<p>");
        html_escape(out, js(p, "free_tier_rule"));
        fprintf(out, "</p>\n<table id=\"netting\"><tr><th>item</th><th>used of allowance</th>"
                     "<th>USD/month</th></tr>\n<tr><td>total</td><td></td><td class=\"n\" title=\"%s\">%s</td></tr>\n",
                js(p, "total_monthly_cost"), money2(js(p, "total_monthly_cost"), a));
        json_array_foreach(fts, i, l) {
            fprintf(out, "<tr class=\"credit\"><td>free tier %s (%s account)</td><td>%s of %s %s</td>",
                    js(l, "sku"), js(l, "provider"), js(l, "used"), js(l, "allowance"), js(l, "unit"));
            html_money(out, fc[i], js(l, "credit"));
            fprintf(out, "</tr>\n");
        }
        fprintf(out, "<tr class=\"total\"><td>net</td><td></td><td class=\"n\" title=\"%s\">%s</td></tr>\n</table>\n",
                js(p, "net_monthly_cost"), money2(js(p, "net_monthly_cost"), a));
        free(fn);
        free(fc);
    }

    /* contract rules */
    json_t *rules = contract_rules(p);
    if (json_object_size(rules)) {
        fprintf(out, "<h2 id=\"s-rules\">Contract rules applied</h2>\n<ul id=\"rules\">\n");
        print_rules(out, p, "<li>", "</li>");
        fprintf(out, "</ul>\n");
    }
    json_decref(rules);

    /* each budget and the figure it was compared with, the same figures
     * as the table and Markdown formats (docs/spec.md, "Budgets") */
    json_array_foreach(json_object_get(p, "budgets"), i, w) {
        if (!i)
            fprintf(out, "<h2 id=\"s-budgets\">Budgets</h2>\n<p>Each budget is compared with the figure "
                         "its basis names; a federation's includes the egress of the links its members "
                         "send.</p>\n<table id=\"budgets\"><tr><th>budget of</th><th>compared with</th>"
                         "<th>USD/month</th><th>budget USD/month</th><th>within</th></tr>\n");
        fprintf(out, "<tr><td>%s ", js(w, "scope"));
        html_escape(out, js(w, "tenant"));
        fputc('/', out);
        html_escape(out, *js(w, "workload") ? js(w, "workload") : js(w, "federation"));
        fprintf(out, "</td><td title=\"");
        html_escape(out, js(w, "figure"));
        fprintf(out, "\">%s</td><td class=\"n\" title=\"%s\">%s</td><td class=\"n\" title=\"%s\">%s</td>"
                     "<td>%s</td></tr>\n",
                fbi_plan_basis_words(fbi_plan_basis(w)), js(w, "compared"), money2(js(w, "compared"), a),
                js(w, "budget"), money2(js(w, "budget"), b),
                json_is_true(json_object_get(w, "within")) ? "yes" : "no");
        if (i + 1 == json_array_size(json_object_get(p, "budgets"))) fprintf(out, "</table>\n");
    }

    /* baselines and alternatives */
    fprintf(out, "<h2 id=\"s-baselines\">Baselines and alternatives</h2>\n");
    json_array_foreach(json_object_get(p, "baselines"), i, w) {
        if (!i) fprintf(out, "<ul id=\"baselines\">\n");
        fprintf(out, "<li>%s: ", js(w, "name"));
        if (!strcmp(js(w, "status"), "feasible"))
            fprintf(out, "%s USD/month (this plan saves %s)", money2(js(w, "total_monthly_cost"), a),
                    money2(js(w, "savings"), b));
        else {
            fprintf(out, "infeasible: ");
            html_escape(out, js(w, "reason"));
        }
        fprintf(out, "</li>\n");
        if (i + 1 == json_array_size(json_object_get(p, "baselines"))) fprintf(out, "</ul>\n");
    }
    fprintf(out, "<table id=\"alternatives\"><tr><th>workload</th><th>alternative</th><th>USD/month</th>"
                 "<th>p50 ms</th><th>why not</th></tr>\n");
    json_array_foreach(wls, i, w)
        json_array_foreach(json_object_get(w, "alternatives"), k, l) {
            fprintf(out, "<tr>");
            html_cell(out, js(w, "name"));
            fprintf(out, "<td>%s:%s:%s</td><td class=\"n\" title=\"%s\">%s</td><td class=\"n\">",
                    js(l, "provider"), js(l, "service"), js(l, "region"), js(l, "monthly_cost"),
                    money2(js(l, "monthly_cost"), a));
            if (json_object_get(l, "p50_latency_ms")) fprintf(out, "%.1f", jd(l, "p50_latency_ms"));
            fprintf(out, "</td>");
            html_cell(out, js(l, "decided_by"));
            fprintf(out, "</tr>\n");
        }
    fprintf(out, "</table>\n");

    /* the sources legend */
    json_t *srcs = json_object_get(p, "price_sources");
    if (json_object_size(srcs)) {
        const char *key;
        json_t *v;
        fprintf(out, "<h2 id=\"s-sources\">Price sources</h2>\n<dl id=\"sources\">\n");
        json_object_foreach(srcs, key, v) {
            fprintf(out, "<dt id=\"src-%s\">%s</dt><dd>", key, key);
            html_escape(out, js(v, "what"));
            fprintf(out, "; from ");
            html_escape(out, js(v, "origin"));
            fprintf(out, "; as of ");
            html_escape(out, js(v, "date"));
            fprintf(out, "; license ");
            html_escape(out, js(v, "license"));
            fprintf(out, "</dd>\n");
        }
        fprintf(out, "</dl>\n");
    }

    /* charts */
    fprintf(out, "<h2 id=\"s-charts\">Charts</h2>\n");
    json_t *totals = json_object_get(p, "totals");
    svg_bars(out, "by-provider", "Cost by provider (USD/month)", json_object_get(totals, "by_provider"));
    const char *label = group_by ? group_by : "team";
    json_t *g = json_object_get(json_object_get(totals, "by_label"), label);
    char title[128];
    snprintf(title, sizeof title, "Cost by %s (USD/month)", label);
    json_t *empty = json_object();
    svg_bars(out, "by-label", title, g ? g : empty);
    json_decref(empty);
    svg_scatter(out, p);
    fprintf(out, "</body></html>\n");
}

const char *fbi_report_format_name(unsigned f)
{
    static const char *const names[] = {"table", "json", "csv", "md", "html", "focus"};
    return f < sizeof names / sizeof *names ? names[f] : NULL;
}

/* The flags of the JSON report. */
#define REPORT_JSON_FLAGS (JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(12))

/* Writes text (a value jansson dumped at depth 0) as a nested value:
 * indent more spaces after each newline (jansson indents a nested value's
 * lines by 2 spaces a level and writes a newline nowhere else; strings
 * escape theirs). */
static void put_nested(const char *text, const char *indent, FILE *out)
{
    for (const char *c = text, *nl; *c; c = nl + 1) {
        nl = strchr(c, '\n');
        if (!nl) {
            fputs(c, out);
            break;
        }
        fwrite(c, 1, (size_t)(nl - c) + 1, out);
        fputs(indent, out);
    }
}

static int by_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int fbi_report_json_stream_arrays(const json_t *head, const fbi_report_array *arrays, size_t narrays,
                                  FILE *out)
{
    /* the keys of head and of the arrays, sorted as JSON_SORT_KEYS sorts
     * them, each once */
    size_t nk = 0;
    const char **keys = fbi_xcalloc(json_object_size(head) + narrays + 1, sizeof *keys);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)head, key, v) keys[nk++] = key;
    for (size_t a = 0; a < narrays; a++)
        if (!json_object_get(head, arrays[a].key)) keys[nk++] = arrays[a].key;
    qsort(keys, nk, sizeof *keys, by_key);
    fputs(nk ? "{" : "{}", out);
    for (size_t k = 0; k < nk; k++) {
        json_t *kj = json_string(keys[k]);
        char *kt = json_dumps(kj, JSON_ENCODE_ANY);
        json_decref(kj);
        fprintf(out, "%s\n  %s: ", k ? "," : "", kt ? kt : "\"\"");
        free(kt);
        const fbi_report_array *arr = NULL;
        for (size_t a = 0; a < narrays && !arr; a++)
            if (!strcmp(arrays[a].key, keys[k])) arr = &arrays[a];
        if (!arr) {
            char *vt = json_dumps(json_object_get(head, keys[k]), REPORT_JSON_FLAGS | JSON_ENCODE_ANY);
            put_nested(vt ? vt : "null", "  ", out);
            free(vt);
            continue;
        }
        /* an array at depth 1: its items at depth 2, made one at a time */
        if (arr->n == 0) {
            fputs("[]", out);
            continue;
        }
        fputs("[", out);
        for (size_t i = 0; i < arr->n; i++) {
            json_t *item = arr->next(arr->arg, i);
            char *it = json_dumps(item, REPORT_JSON_FLAGS | JSON_ENCODE_ANY);
            json_decref(item);
            fputs(i ? ",\n    " : "\n    ", out);
            put_nested(it ? it : "null", "    ", out);
            free(it);
        }
        fputs("\n  ]", out);
    }
    if (nk) fputs("\n}", out);
    free(keys);
    fputc('\n', out);
    /* the whole text out now: the CLI prints the plan's diagnostics to
     * stderr after it, and a stream merged with stderr (2>&1) must not get
     * them between two buffers of the document */
    if (fflush(out) != 0) return -1;
    return ferror(out) ? -1 : 0;
}

int fbi_report_json_stream(const json_t *head, size_t n, json_t *(*next)(void *arg, size_t i), void *arg,
                           FILE *out)
{
    fbi_report_array w = {"workloads", n, next, arg};
    return fbi_report_json_stream_arrays(head, &w, 1, out);
}

int fbi_report_write(const json_t *plan, fbi_report_format fmt, const char *group_by, FILE *out)
{
    switch (fmt) {
    case FBI_REPORT_TABLE: write_table(plan, group_by, out); break;
    case FBI_REPORT_JSON:
        /* straight to the stream: a large plan's text is not held whole */
        json_dumpf(plan, out, REPORT_JSON_FLAGS);
        fputc('\n', out);
        break;
    case FBI_REPORT_CSV: write_csv(plan, out); break;
    case FBI_REPORT_MD: write_md(plan, group_by, out); break;
    case FBI_REPORT_HTML: write_html(plan, group_by, out); break;
    case FBI_REPORT_FOCUS: fbi_report_focus(plan, out); break;
    }
    return ferror(out) ? -1 : 0;
}
