/* report.c - renders a plan document for people and tools: table, JSON,
 * CSV of line items, Markdown, a self-contained HTML page with SVG charts,
 * and FOCUS 1.2 CSV. Every format shows the same numbers: amounts are the
 * plan's exact decimal strings, never recomputed in floating point (charts
 * use floats only to draw). */
#include "config.h"
#include "plan/report.h"
#include "base/util.h"
#include "base/decimal.h"

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

/* ---- table ---- */

static void write_table(const json_t *p, const char *group_by, FILE *out)
{
    char a[40], b[40], c[40], d[40];
    const char *status = js(p, "status");
    fprintf(out, "Plan: %s", status);
    if (json_object_get(p, "total_monthly_cost")) {
        fprintf(out, ", total %s USD/month (list %s, free tier %s, net %s)\n",
                money2(js(p, "total_monthly_cost"), a), money2(js(p, "list_monthly_cost"), b),
                money2(js(p, "free_tier_credit"), c), money2(js(p, "net_monthly_cost"), d));
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
    json_array_foreach(json_object_get(p, "workloads"), i, w) {
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
                money2(js(w, "monthly_cost"), b), lat, altb);
    }
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
        json_object_foreach(json_object_get(totals, "by_provider"), k, v)
            fprintf(out, "  %s %s", k, money2(json_string_value(v), a));
        fputc('\n', out);
    }
    json_t *groups = json_object_get(totals, "by_label");
    json_object_foreach(groups, k, v) {
        if (group_by && strcmp(group_by, k)) continue;
        fprintf(out, "By %s:", k);
        const char *k2;
        json_t *v2;
        json_object_foreach(v, k2, v2) fprintf(out, "  %s %s", k2, money2(json_string_value(v2), a));
        fputc('\n', out);
    }
    if (group_by && !json_object_get(groups, group_by))
        fprintf(out, "By %s: (no workload has that label)\n", group_by);
    json_array_foreach(json_object_get(p, "free_tiers"), i, w)
        fprintf(out, "Free tier %s: %s of %s %s used, credit %s\n", js(w, "sku"), js(w, "used"),
                js(w, "allowance"), js(w, "unit"), money2(js(w, "credit"), a));
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
        const char *s = f[i] ? f[i] : "";
        if (strpbrk(s, ",\"\r\n") || (s[0] == ' ')) {
            fbi_buf_putc(&b, '"');
            for (; *s; s++) {
                if (*s == '"') fbi_buf_putc(&b, '"');
                fbi_buf_putc(&b, *s);
            }
            fbi_buf_putc(&b, '"');
        } else {
            fbi_buf_puts(&b, s);
        }
    }
    fprintf(out, "%s\r\n", b.data ? b.data : "");
    fbi_buf_free(&b);
}

static void write_csv(const json_t *p, FILE *out)
{
    static const char *hdr[] = {"workload", "tenant", "provider", "service", "region", "what",
        "metric", "variant", "unit", "quantity", "tier", "unit_price", "contracted_unit_price",
        "list_cost", "contracted_cost", "free_tier_credit", "effective_cost", "sku", "source",
        "as_of", "confidence"};
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
                js(l, "confidence")};
            csv_row(out, f, sizeof f / sizeof *f);
        }
    }
    json_array_foreach(json_object_get(p, "links"), i, l) {
        char q[64];
        snprintf(q, sizeof q, "%s", js(l, "volume_gib"));
        const char *f[] = {js(l, "from"), "", "", "egress", js(l, "from_region"), "egress-link",
            js(l, "egress_kind"), js(l, "to_region"), "GiB", q, "", js(l, "egress_usd_per_gib"),
            js(l, "egress_usd_per_gib"), js(l, "monthly_cost"), js(l, "monthly_cost"), "0.00",
            js(l, "monthly_cost"), js(l, "sku"), "", "", ""};
        csv_row(out, f, sizeof f / sizeof *f);
    }
    const char *tot[] = {"TOTAL", "", "", "", "", "", "", "", "", "", "", "", "",
        js(p, "list_monthly_cost"), js(p, "total_monthly_cost"), js(p, "free_tier_credit"),
        js(p, "net_monthly_cost"), "", "", "", ""};
    csv_row(out, tot, sizeof tot / sizeof *tot);
}

/* ---- FOCUS 1.2 ---- */

/* The month the estimate is for: the calendar month of generated_at. */
static void billing_period(const json_t *p, char start[32], char end[32])
{
    int y = 1970, mo = 1;
    sscanf(js(p, "generated_at"), "%d-%d", &y, &mo);
    snprintf(start, 32, "%04d-%02d-01T00:00:00Z", y, mo);
    snprintf(end, 32, "%04d-%02d-01T00:00:00Z", mo == 12 ? y + 1 : y, mo == 12 ? 1 : mo + 1);
}

static void write_focus(const json_t *p, FILE *out)
{
    static const char *hdr[] = {
        /* the FOCUS 1.2 mandatory columns */
        "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency",
        "BillingPeriodEnd", "BillingPeriodStart", "ChargeCategory", "ChargeClass",
        "ChargeDescription", "ChargePeriodEnd", "ChargePeriodStart", "ContractedCost",
        "EffectiveCost", "InvoiceIssuerName", "ListCost", "PricingQuantity", "PricingUnit",
        "ProviderName", "PublisherName", "ServiceCategory", "ServiceName",
        /* conditional columns an estimate can fill */
        "ChargeFrequency", "ContractedUnitPrice", "ListUnitPrice", "RegionId", "RegionName",
        "SkuId", "SkuPriceId", "Tags", "x_Workload", "x_Tenant", "x_PriceSource", "x_PriceAsOf"};
    csv_row(out, hdr, sizeof hdr / sizeof *hdr);
    char ps[32], pe[32];
    billing_period(p, ps, pe);
    size_t i, k;
    json_t *w, *l;
    json_array_foreach(json_object_get(p, "workloads"), i, w) {
        json_t *pl = json_object_get(w, "placement");
        json_t *tags = json_deep_copy(json_object_get(w, "labels"));
        if (!tags) tags = json_object();
        json_object_set_new(tags, "fedbroker/workload", json_string(js(w, "name")));
        json_object_set_new(tags, "fedbroker/tenant", json_string(js(w, "tenant")));
        char *tagtext = json_dumps(tags, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(tags);
        char account[128];
        snprintf(account, sizeof account, "estimate:%s", js(pl, "provider"));
        json_array_foreach(json_object_get(w, "lines"), k, l) {
            int egress = !strncmp(js(l, "what"), "egress", 6);
            char *desc = fbi_xasprintf("estimate: %s %s %s%s%s for %s", js(l, "service"),
                                       js(l, "metric"), js(l, "variant"), *js(l, "tier") ? " tier " : "",
                                       js(l, "tier"), js(w, "name"));
            const char *skuid = *js(l, "vendor_sku") ? js(l, "vendor_sku") : js(l, "sku");
            /* EffectiveCost before the free tier; the credit is its own row */
            const char *f[] = {"", account, "", js(p, "currency"), pe, ps, "Usage", "", desc, pe, ps,
                js(l, "contracted_cost"), js(l, "contracted_cost"), js(pl, "provider"),
                js(l, "list_cost"), js(l, "quantity"), js(l, "unit"), js(pl, "provider"),
                js(pl, "provider"), egress ? "Networking" : "Compute", js(l, "service"),
                "Usage-Based", js(l, "contracted_unit_price"), js(l, "unit_price"),
                js(pl, "region"), js(pl, "region_key"), skuid, js(l, "sku"), tagtext,
                js(w, "name"), js(w, "tenant"), js(l, "source"), js(l, "as_of")};
            csv_row(out, f, sizeof f / sizeof *f);
            free(desc);
            if (*js(l, "free_tier_credit")) {
                char *cd = fbi_xasprintf("free tier: %s %s for %s (%s)", js(l, "service"),
                                         js(l, "metric"), js(w, "name"), js(l, "free_tier_quantity"));
                const char *g[] = {"", account, "", js(p, "currency"), pe, ps, "Credit", "", cd, pe, ps,
                    js(l, "free_tier_credit"), js(l, "free_tier_credit"), js(pl, "provider"),
                    "0.00", "", "", js(pl, "provider"), js(pl, "provider"),
                    egress ? "Networking" : "Compute", js(l, "service"), "Usage-Based", "", "",
                    js(pl, "region"), js(pl, "region_key"), skuid, js(l, "sku"), tagtext,
                    js(w, "name"), js(w, "tenant"), js(l, "source"), js(l, "as_of")};
                csv_row(out, g, sizeof g / sizeof *g);
                free(cd);
            }
        }
        free(tagtext);
    }
    json_array_foreach(json_object_get(p, "links"), i, l) {
        const char *from = js(l, "from_region");
        const char *colon = strchr(from, ':');
        char prov[64];
        snprintf(prov, sizeof prov, "%.*s", colon ? (int)(colon - from) : 0, from);
        char account[128];
        snprintf(account, sizeof account, "estimate:%s", prov);
        char *desc = fbi_xasprintf("estimate: %s egress %s -> %s (%s)", js(l, "egress_kind"),
                                   js(l, "from"), js(l, "to"), js(l, "to_region"));
        char *tags = fbi_xasprintf("{\"fedbroker/link\":\"%s->%s\"}", js(l, "from"), js(l, "to"));
        const char *f[] = {"", account, "", js(p, "currency"), pe, ps, "Usage", "", desc, pe, ps,
            js(l, "monthly_cost"), js(l, "monthly_cost"), prov, js(l, "monthly_cost"),
            js(l, "volume_gib"), "GiB", prov, prov, "Networking", "data-transfer", "Usage-Based",
            js(l, "egress_usd_per_gib"), js(l, "egress_usd_per_gib"), colon ? colon + 1 : from,
            from, js(l, "sku"), js(l, "sku"), tags, js(l, "from"), "", "", ""};
        csv_row(out, f, sizeof f / sizeof *f);
        free(desc);
        free(tags);
    }
}

/* ---- Markdown ---- */

static void write_md(const json_t *p, const char *group_by, FILE *out)
{
    char a[40], b[40];
    fprintf(out, "# Placement plan\n\n");
    fprintf(out, "- status: **%s**\n", js(p, "status"));
    if (json_object_get(p, "total_monthly_cost")) {
        fprintf(out, "- total: **%s USD/month** (list %s, free tier %s, net %s)\n",
                js(p, "total_monthly_cost"), js(p, "list_monthly_cost"), js(p, "free_tier_credit"),
                js(p, "net_monthly_cost"));
        fprintf(out, "- lower bound %s, gap %.3f%%\n", js(p, "lower_bound"), jd(p, "gap") * 100);
    }
    fprintf(out, "- currency %s; %s\n- free tiers: %s\n- commitments: %s\n\n", js(p, "currency"),
            js(p, "hours_basis"), js(p, "free_tier_rule"), js(p, "commitments"));
    size_t i, k;
    json_t *w, *l;
    json_array_foreach(json_object_get(p, "workloads"), i, w) {
        json_t *pl = json_object_get(w, "placement");
        fprintf(out, "## %s/%s\n\n", js(w, "tenant"), js(w, "name"));
        if (!pl) {
            fprintf(out, "No placement.\n\n");
            continue;
        }
        fprintf(out, "%s `%s` in `%s`: **%s USD/month** (list %s, contracted %s)", js(pl, "provider"),
                js(pl, "service"), js(pl, "region"), js(w, "monthly_cost"), js(w, "list_cost"),
                js(w, "contracted_cost"));
        if (json_object_get(w, "p50_latency_ms"))
            fprintf(out, ", latency p50 %.1f / p90 %.1f / p95 %.1f / p99 %.1f ms (%s)",
                    jd(w, "p50_latency_ms"), jd(json_object_get(w, "latency_ms"), "p90"),
                    jd(json_object_get(w, "latency_ms"), "p95"), jd(json_object_get(w, "latency_ms"), "p99"),
                    js(w, "latency_origin"));
        fprintf(out, "\n\n| metric | variant | quantity | unit | unit price | tier | cost | SKU | source | as of |\n");
        fprintf(out, "|---|---|---:|---|---:|---|---:|---|---|---|\n");
        json_array_foreach(json_object_get(w, "lines"), k, l)
            fprintf(out, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", js(l, "metric"),
                    js(l, "variant"), js(l, "quantity"), js(l, "unit"), js(l, "contracted_unit_price"),
                    js(l, "tier"), js(l, "contracted_cost"), js(l, "sku"), js(l, "source"), js(l, "as_of"));
        json_t *alts = json_object_get(w, "alternatives");
        if (json_array_size(alts)) {
            fprintf(out, "\nAlternatives:\n\n");
            json_array_foreach(alts, k, l)
                fprintf(out, "- %s:%s:%s %s USD/month%s%s: %s\n", js(l, "provider"), js(l, "service"),
                        js(l, "region"), js(l, "monthly_cost"),
                        json_object_get(l, "p50_latency_ms") ? ", p50 " : "",
                        json_object_get(l, "p50_latency_ms") ? (snprintf(a, sizeof a, "%.1f ms",
                            jd(l, "p50_latency_ms")), a) : "", js(l, "decided_by"));
        }
        fputc('\n', out);
    }
    const char *key;
    json_t *v;
    json_t *totals = json_object_get(p, "totals");
    fprintf(out, "## Totals\n\n| group | value | USD/month |\n|---|---|---:|\n");
    json_object_foreach(json_object_get(totals, "by_provider"), key, v)
        fprintf(out, "| provider | %s | %s |\n", key, json_string_value(v));
    json_object_foreach(json_object_get(totals, "by_region"), key, v)
        fprintf(out, "| region | %s | %s |\n", key, json_string_value(v));
    json_object_foreach(json_object_get(totals, "by_label"), key, v) {
        if (group_by && strcmp(group_by, key)) continue;
        const char *k2;
        json_t *v2;
        json_object_foreach(v, k2, v2) fprintf(out, "| %s | %s | %s |\n", key, k2, json_string_value(v2));
    }
    json_array_foreach(json_object_get(p, "baselines"), i, w)
        fprintf(out, "%s| baseline | %s | %s |\n", i ? "" : "\n| baseline | | USD/month |\n|---|---|---:|\n",
                js(w, "name"), !strcmp(js(w, "status"), "feasible")
                    ? (snprintf(b, sizeof b, "%s (saves %s)", js(w, "total_monthly_cost"), js(w, "savings")), b)
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
                 "<text x=\"560\" y=\"345\" font-size=\"12\">p50 ms</text>"
                 "<text x=\"0\" y=\"20\" font-size=\"12\">USD</text>"
                 "<text x=\"600\" y=\"335\" font-size=\"10\">%.0f</text>"
                 "<text x=\"5\" y=\"35\" font-size=\"10\">%.2f</text>\n", maxl, maxc);
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
        fprintf(out, " chosen</title></circle>\n");
    }
    fprintf(out, "</svg></figure>\n");
}

static void write_html(const json_t *p, const char *group_by, FILE *out)
{
    fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                 "<title>fedbroker placement plan</title>\n<style>"
                 "body{font-family:sans-serif;margin:2em;max-width:1100px}"
                 "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 6px;"
                 "font-size:13px}td.n{text-align:right}figure{margin:1em 0}"
                 "</style></head><body>\n<h1>Placement plan</h1>\n<p id=\"summary\">Status <b>");
    html_escape(out, js(p, "status"));
    fprintf(out, "</b>");
    if (json_object_get(p, "total_monthly_cost")) {
        fprintf(out, ": total <b id=\"total\">%s</b> USD/month (list %s, free tier %s, net %s); "
                     "lower bound %s, gap %.3f%%.", js(p, "total_monthly_cost"), js(p, "list_monthly_cost"),
                js(p, "free_tier_credit"), js(p, "net_monthly_cost"), js(p, "lower_bound"),
                jd(p, "gap") * 100);
    }
    fprintf(out, " Currency %s; ", js(p, "currency"));
    html_escape(out, js(p, "hours_basis"));
    fprintf(out, ".</p>\n<p>");
    html_escape(out, js(p, "free_tier_rule"));
    fprintf(out, "</p>\n");
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
    fprintf(out, "<h2>Workloads</h2>\n<table id=\"workloads\"><tr><th>workload</th><th>placement</th>"
                 "<th>USD/month</th><th>p50 ms</th><th>next best</th></tr>\n");
    size_t i, k;
    json_t *w, *l;
    json_array_foreach(json_object_get(p, "workloads"), i, w) {
        json_t *pl = json_object_get(w, "placement");
        fprintf(out, "<tr><td>");
        html_escape(out, js(w, "name"));
        fprintf(out, "</td><td>%s:%s:%s</td><td class=\"n\">%s</td><td class=\"n\">",
                pl ? js(pl, "provider") : "-", pl ? js(pl, "service") : "", pl ? js(pl, "region") : "",
                js(w, "monthly_cost"));
        if (json_object_get(w, "p50_latency_ms")) fprintf(out, "%.1f", jd(w, "p50_latency_ms"));
        fprintf(out, "</td><td>");
        json_t *alt = json_array_get(json_object_get(w, "alternatives"), 0);
        if (alt) {
            fprintf(out, "%s:%s:%s %s: ", js(alt, "provider"), js(alt, "service"), js(alt, "region"),
                    js(alt, "monthly_cost"));
            html_escape(out, js(alt, "decided_by"));
        }
        fprintf(out, "</td></tr>\n");
    }
    fprintf(out, "</table>\n<h2>Cost lines</h2>\n<table id=\"lines\"><tr><th>workload</th><th>metric</th>"
                 "<th>quantity</th><th>unit</th><th>unit price</th><th>tier</th><th>cost</th>"
                 "<th>SKU</th><th>source</th><th>as of</th></tr>\n");
    json_array_foreach(json_object_get(p, "workloads"), i, w) {
        json_array_foreach(json_object_get(w, "lines"), k, l) {
            fprintf(out, "<tr><td>");
            html_escape(out, js(w, "name"));
            fprintf(out, "</td><td>");
            html_escape(out, js(l, "metric"));
            fprintf(out, " ");
            html_escape(out, js(l, "variant"));
            fprintf(out, "</td><td class=\"n\">%s</td><td>%s</td><td class=\"n\">%s</td><td>%s</td>"
                         "<td class=\"n\">%s</td><td>", js(l, "quantity"), js(l, "unit"),
                    js(l, "contracted_unit_price"), js(l, "tier"), js(l, "contracted_cost"));
            html_escape(out, js(l, "sku"));
            fprintf(out, "</td><td>%s</td><td>", js(l, "source"));
            html_escape(out, js(l, "as_of"));
            fprintf(out, "</td></tr>\n");
        }
    }
    fprintf(out, "</table>\n");
    json_array_foreach(json_object_get(p, "baselines"), i, w) {
        if (!i) fprintf(out, "<h2>Single-provider baselines</h2>\n<ul id=\"baselines\">\n");
        fprintf(out, "<li>%s: ", js(w, "name"));
        if (!strcmp(js(w, "status"), "feasible"))
            fprintf(out, "%s USD/month (this plan saves %s)", js(w, "total_monthly_cost"), js(w, "savings"));
        else {
            fprintf(out, "infeasible: ");
            html_escape(out, js(w, "reason"));
        }
        fprintf(out, "</li>\n");
        if (i + 1 == json_array_size(json_object_get(p, "baselines"))) fprintf(out, "</ul>\n");
    }
    fprintf(out, "</body></html>\n");
}

const char *fbi_report_format_name(unsigned f)
{
    static const char *const names[] = {"table", "json", "csv", "md", "html", "focus"};
    return f < sizeof names / sizeof *names ? names[f] : NULL;
}

int fbi_report_write(const json_t *plan, fbi_report_format fmt, const char *group_by, FILE *out)
{
    switch (fmt) {
    case FBI_REPORT_TABLE: write_table(plan, group_by, out); break;
    case FBI_REPORT_JSON:
        /* straight to the stream: a large plan's text is not held whole */
        json_dumpf(plan, out, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(12));
        fputc('\n', out);
        break;
    case FBI_REPORT_CSV: write_csv(plan, out); break;
    case FBI_REPORT_MD: write_md(plan, group_by, out); break;
    case FBI_REPORT_HTML: write_html(plan, group_by, out); break;
    case FBI_REPORT_FOCUS: write_focus(plan, out); break;
    }
    return ferror(out) ? -1 : 0;
}
