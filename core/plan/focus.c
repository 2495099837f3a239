/* focus.c - the plan document as a FOCUS 1.2 cost and usage CSV (report
 * --format focus).
 *
 * What each cost column holds, so that each one adds up to the plan's
 * figure of the same name (docs/plan.md, "FOCUS"):
 *   - Usage rows (a priced line or a link's egress): ListCost = the list
 *     price's cost, ContractedCost = the cost at the contracted price (an
 *     override rule, else the list price), BilledCost = EffectiveCost =
 *     ContractedCost.
 *   - Credit rows (a free tier netted into a line): every cost column is
 *     the credit (negative), as FOCUS 1.2 asks of a charge unrelated to
 *     other charges (ListCost-C-008-C, ContractedCost-C-008-C: "MUST match
 *     the BilledCost"), and no price or quantity, since a credit is not a
 *     priced quantity.
 * So over the Usage rows sum(ListCost) = list_monthly_cost and
 * sum(ContractedCost) = total_monthly_cost; over every row sum(BilledCost)
 * = sum(EffectiveCost) = sum(ContractedCost) = net_monthly_cost and
 * sum(ListCost) = list_monthly_cost + free_tier_credit.
 *
 * Units: one convention, binary sizes. Data volumes are in GiB; a price row
 * per GB (10^9 bytes, how the catalog reads "GB" of data transfer) is
 * rewritten per GiB, quantity and unit prices both, exactly (10^9 / 2^30
 * and 2^30 / 10^9 have finite decimal expansions), so ListCost is still
 * ListUnitPrice x PricingQuantity. Memory-time units ("GB-second") are
 * already binary (every driver counts MiB / 1024) and are only renamed.
 * Units are written the FOCUS way: plural time units ("GiB-Seconds") and
 * capitalised plural counts ("Requests"). */
#include "config.h"
#include "plan/report.h"
#include "base/util.h"
#include "base/decimal.h"
#include "catalog/catalog.h"

#include <stdlib.h>
#include <string.h>

enum {
    /* the FOCUS 1.2 mandatory columns */
    C_BILLED, C_ACCOUNT_ID, C_ACCOUNT_NAME, C_CURRENCY, C_PERIOD_END, C_PERIOD_START,
    C_CATEGORY, C_CLASS, C_DESCRIPTION, C_CHARGE_END, C_CHARGE_START, C_CONTRACTED,
    C_EFFECTIVE, C_INVOICE_ISSUER, C_LIST, C_PRICING_QTY, C_PRICING_UNIT, C_PROVIDER,
    C_PUBLISHER, C_SERVICE_CATEGORY, C_SERVICE_NAME,
    /* conditional and recommended columns an estimate can fill */
    C_FREQUENCY, C_CONSUMED_QTY, C_CONSUMED_UNIT, C_CONTRACTED_UNIT, C_LIST_UNIT,
    C_REGION_ID, C_REGION_NAME, C_SERVICE_SUBCATEGORY, C_SKU_ID, C_SKU_PRICE_ID, C_TAGS,
    /* ours */
    C_X_WORKLOAD, C_X_TENANT, C_X_SOURCE, C_X_AS_OF, C_X_RULE,
    NCOL
};

static const char *const header[NCOL] = {
    [C_BILLED] = "BilledCost", [C_ACCOUNT_ID] = "BillingAccountId",
    [C_ACCOUNT_NAME] = "BillingAccountName", [C_CURRENCY] = "BillingCurrency",
    [C_PERIOD_END] = "BillingPeriodEnd", [C_PERIOD_START] = "BillingPeriodStart",
    [C_CATEGORY] = "ChargeCategory", [C_CLASS] = "ChargeClass",
    [C_DESCRIPTION] = "ChargeDescription", [C_CHARGE_END] = "ChargePeriodEnd",
    [C_CHARGE_START] = "ChargePeriodStart", [C_CONTRACTED] = "ContractedCost",
    [C_EFFECTIVE] = "EffectiveCost", [C_INVOICE_ISSUER] = "InvoiceIssuerName",
    [C_LIST] = "ListCost", [C_PRICING_QTY] = "PricingQuantity", [C_PRICING_UNIT] = "PricingUnit",
    [C_PROVIDER] = "ProviderName", [C_PUBLISHER] = "PublisherName",
    [C_SERVICE_CATEGORY] = "ServiceCategory", [C_SERVICE_NAME] = "ServiceName",
    [C_FREQUENCY] = "ChargeFrequency", [C_CONSUMED_QTY] = "ConsumedQuantity",
    [C_CONSUMED_UNIT] = "ConsumedUnit", [C_CONTRACTED_UNIT] = "ContractedUnitPrice",
    [C_LIST_UNIT] = "ListUnitPrice", [C_REGION_ID] = "RegionId", [C_REGION_NAME] = "RegionName",
    [C_SERVICE_SUBCATEGORY] = "ServiceSubcategory", [C_SKU_ID] = "SkuId",
    [C_SKU_PRICE_ID] = "SkuPriceId", [C_TAGS] = "Tags", [C_X_WORKLOAD] = "x_Workload",
    [C_X_TENANT] = "x_Tenant", [C_X_SOURCE] = "x_PriceSource", [C_X_AS_OF] = "x_PriceAsOf",
    [C_X_RULE] = "x_ContractRule",
};

static const char *js(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static void put_row(FILE *out, const char *const *f)
{
    fbi_buf b;
    fbi_buf_init(&b);
    for (size_t i = 0; i < NCOL; i++) {
        if (i) fbi_buf_putc(&b, ',');
        fbi_csv_put_field(&b, f[i] ? f[i] : "");
    }
    fprintf(out, "%s\r\n", b.data ? b.data : "");
    fbi_buf_free(&b);
}

/* ---- units ---- */

/* The first letter of a unit's word, capitalised when the word is all
 * lower case ("node" -> 'N'); a name such as "vCPU" or "QPU" keeps its own. */
static char word_initial(const char *w, int n)
{
    for (int i = 0; i < n; i++)
        if (w[i] < 'a' || w[i] > 'z') return w[0];
    return (char)(w[0] - 'a' + 'A');
}

/* One unit in the FOCUS convention (see the top of the file). gb_data is
 * set when the row is per decimal GB of data, whose quantity and prices
 * need rewriting per GiB. out: caller-owned, 64 bytes. */
static const char *focus_unit(const char *unit, int *gb_data, char out[64])
{
    *gb_data = 0;
    if (!*unit) return "";
    if (!strcmp(unit, "GB") || !strcmp(unit, "GiB")) {
        *gb_data = !strcmp(unit, "GB");
        return "GiB";
    }
    const char *dash = strrchr(unit, '-');
    const char *times[][2] = {{"second", "Seconds"}, {"minute", "Minutes"}, {"hour", "Hours"},
                              {"day", "Days"}, {"month", "Months"}};
    if (dash) {
        for (size_t i = 0; i < sizeof times / sizeof *times; i++)
            if (!strcmp(dash + 1, times[i][0])) {
                int n = (int)(dash - unit);
                /* memory-time: the drivers count MiB / 1024, so "GB" is GiB */
                if (n == 2 && !strncmp(unit, "GB", 2)) snprintf(out, 64, "GiB-%s", times[i][1]);
                else snprintf(out, 64, "%c%.*s-%s", word_initial(unit, n), n - 1, unit + 1, times[i][1]);
                return out;
            }
    }
    /* a count: capitalised and plural ("request" -> "Requests") */
    size_t n = strlen(unit);
    snprintf(out, 64, "%c%s%s", word_initial(unit, (int)n), unit + 1, unit[n - 1] == 's' ? "" : "s");
    return out;
}

/* A quantity of decimal GB as GiB (x 10^9 / 2^30), exact. buf: 200 bytes.
 * NULL when the text is not a quantity the plan writes. */
static const char *gb_qty_as_gib(const char *q, char *buf)
{
    int64_t v;
    if (fbi_dec_parse(q, 6, 0, &v, NULL) != 0) return NULL;
    return fbi_dec_ratio((fbi_dec_u128)v * 1000u, (fbi_dec_u128)1 << 30, 60, 0, NULL, buf, 200);
}

/* A price per decimal GB as per GiB (x 2^30 / 10^9), exact. buf: 200 bytes. */
static const char *gb_price_per_gib(const char *p, char *buf)
{
    int64_t v;
    if (fbi_dec_parse(p, 12, 0, &v, NULL) != 0) return NULL;
    fbi_dec_u128 den = (fbi_dec_u128)1000000000000u * 1000000000u;
    return fbi_dec_ratio((fbi_dec_u128)v << 30, den, 60, 0, NULL, buf, 200);
}

/* ---- services ---- */

/* ServiceCategory and ServiceSubcategory of a line: data leaving a region
 * is networking; the rest is compute of the placed workload's kind. */
static void service_class(int networking, const char *kind, const char **cat, const char **sub)
{
    if (networking) {
        *cat = "Networking";
        *sub = "Network Connectivity";
        return;
    }
    *cat = "Compute";
    if (!strcmp(kind, "Function")) *sub = "Serverless Compute";
    else if (!strcmp(kind, "Container")) *sub = "Containers";
    else if (!strcmp(kind, "QuantumJob")) *sub = "Quantum Compute";
    else *sub = "Other (Compute)";
}

/* The month the estimate is for: the calendar month of generated_at. */
static void billing_period(const json_t *p, char start[32], char end[32])
{
    int y = 1970, mo = 1;
    sscanf(js(p, "generated_at"), "%d-%d", &y, &mo);
    snprintf(start, 32, "%04d-%02d-01T00:00:00Z", y, mo);
    snprintf(end, 32, "%04d-%02d-01T00:00:00Z", mo == 12 ? y + 1 : y, mo == 12 ? 1 : mo + 1);
}

/* The Tags of a workload's rows: its labels plus who it is (new string). */
static char *workload_tags(const json_t *w, const char *link)
{
    json_t *tags = json_deep_copy(json_object_get(w, "labels"));
    if (!tags) tags = json_object();
    json_object_set_new(tags, "fedbroker/workload", json_string(js(w, "name")));
    json_object_set_new(tags, "fedbroker/tenant", json_string(js(w, "tenant")));
    if (link) json_object_set_new(tags, "fedbroker/link", json_string(link));
    char *s = json_dumps(tags, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(tags);
    return s;
}

/* The fields every row of one workload's placement shares. */
static void common(const char **f, const json_t *p, const json_t *pl, const char *account,
                   const char *account_name, const char *ps, const char *pe)
{
    f[C_ACCOUNT_ID] = account;
    f[C_ACCOUNT_NAME] = account_name;
    f[C_CURRENCY] = js(p, "currency");
    f[C_PERIOD_START] = f[C_CHARGE_START] = ps;
    f[C_PERIOD_END] = f[C_CHARGE_END] = pe;
    f[C_INVOICE_ISSUER] = f[C_PROVIDER] = f[C_PUBLISHER] = js(pl, "provider");
    f[C_FREQUENCY] = "Usage-Based";
    f[C_REGION_ID] = js(pl, "region");
    f[C_REGION_NAME] = *js(pl, "region_name") ? js(pl, "region_name") : js(pl, "region");
}

static const json_t *find_workload(const json_t *p, const char *name)
{
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(p, "workloads"), i, w)
        if (!strcmp(js(w, "name"), name)) return w;
    return NULL;
}

void fbi_report_focus(const json_t *p, FILE *out)
{
    put_row(out, header);
    char ps[32], pe[32];
    billing_period(p, ps, pe);
    size_t i, k;
    json_t *w, *l;
    json_array_foreach(json_object_get(p, "workloads"), i, w) {
        json_t *pl = json_object_get(w, "placement");
        if (!pl) continue;
        char *tags = workload_tags(w, NULL);
        char *account = fbi_xasprintf("estimate:%s", js(pl, "provider"));
        char *aname = fbi_xasprintf("fedbroker estimate (%s)", js(pl, "provider"));
        json_array_foreach(json_object_get(w, "lines"), k, l) {
            const char *f[NCOL] = {0};
            common(f, p, pl, account, aname, ps, pe);
            int gb = 0;
            char ub[64], qb[200], lb[200], cb[200];
            const char *unit = focus_unit(js(l, "unit"), &gb, ub);
            const char *qty = js(l, "quantity"), *lup = js(l, "unit_price");
            const char *cup = js(l, "contracted_unit_price");
            if (gb) {
                const char *a = gb_qty_as_gib(qty, qb), *b = gb_price_per_gib(lup, lb),
                           *c = gb_price_per_gib(cup, cb);
                if (a && b && c) qty = a, lup = b, cup = c;
            }
            int net = !strncmp(js(l, "what"), "egress", 6);
            service_class(net, js(w, "kind"), &f[C_SERVICE_CATEGORY], &f[C_SERVICE_SUBCATEGORY]);
            char *desc = fbi_xasprintf("estimate: %s %s %s%s%s for %s", js(l, "service"), js(l, "metric"),
                                       js(l, "variant"), *js(l, "tier") ? " tier " : "", js(l, "tier"),
                                       js(w, "name"));
            f[C_SERVICE_NAME] = js(l, "service");
            f[C_SKU_ID] = *js(l, "vendor_sku") ? js(l, "vendor_sku") : js(l, "sku");
            f[C_SKU_PRICE_ID] = js(l, "sku");
            f[C_TAGS] = tags;
            f[C_X_WORKLOAD] = js(w, "name");
            f[C_X_TENANT] = js(w, "tenant");
            f[C_X_SOURCE] = js(l, "source");
            f[C_X_AS_OF] = js(l, "as_of");
            f[C_X_RULE] = js(l, "contract_rule");

            f[C_CATEGORY] = "Usage";
            f[C_DESCRIPTION] = desc;
            f[C_BILLED] = f[C_EFFECTIVE] = f[C_CONTRACTED] = js(l, "contracted_cost");
            f[C_LIST] = js(l, "list_cost");
            f[C_PRICING_QTY] = f[C_CONSUMED_QTY] = qty;
            f[C_PRICING_UNIT] = f[C_CONSUMED_UNIT] = unit;
            f[C_LIST_UNIT] = lup;
            f[C_CONTRACTED_UNIT] = cup;
            put_row(out, f);
            free(desc);
            if (*js(l, "free_tier_credit")) {
                char *cd = fbi_xasprintf("free tier: %s %s for %s (%s %s free)", js(l, "service"),
                                         js(l, "metric"), js(w, "name"), js(l, "free_tier_quantity"),
                                         js(l, "unit"));
                f[C_CATEGORY] = "Credit";
                f[C_DESCRIPTION] = cd;
                f[C_BILLED] = f[C_EFFECTIVE] = f[C_LIST] = f[C_CONTRACTED] = js(l, "free_tier_credit");
                f[C_PRICING_QTY] = f[C_CONSUMED_QTY] = f[C_PRICING_UNIT] = f[C_CONSUMED_UNIT] = NULL;
                f[C_LIST_UNIT] = f[C_CONTRACTED_UNIT] = NULL;
                put_row(out, f);
                free(cd);
            }
        }
        free(account);
        free(aname);
        free(tags);
    }
    /* a link's egress is paid by its sender: the sender's account, region,
     * tenant and tags */
    json_array_foreach(json_object_get(p, "links"), i, l) {
        const json_t *sender = find_workload(p, js(l, "from"));
        json_t *pl = sender ? json_object_get(sender, "placement") : NULL;
        /* a link no price row applies to (between zones of one region: the
         * catalog's flagged 0 USD fallback) is no charge and has no SKU,
         * which a FOCUS Usage row must have: it gets no row */
        if (!pl || !*js(l, "sku")) continue;
        char *linkname = fbi_xasprintf("%s->%s", js(l, "from"), js(l, "to"));
        char *tags = workload_tags(sender, linkname);
        char *account = fbi_xasprintf("estimate:%s", js(pl, "provider"));
        char *aname = fbi_xasprintf("fedbroker estimate (%s)", js(pl, "provider"));
        char *desc = fbi_xasprintf("estimate: %s egress %s -> %s (%s)", js(l, "egress_kind"),
                                   js(l, "from"), js(l, "to"), js(l, "to_region"));
        const char *f[NCOL] = {0};
        common(f, p, pl, account, aname, ps, pe);
        service_class(1, "", &f[C_SERVICE_CATEGORY], &f[C_SERVICE_SUBCATEGORY]);
        f[C_SERVICE_NAME] = *js(l, "service") ? js(l, "service") : "data-transfer";
        f[C_CATEGORY] = "Usage";
        f[C_DESCRIPTION] = desc;
        f[C_BILLED] = f[C_EFFECTIVE] = f[C_CONTRACTED] = js(l, "monthly_cost");
        f[C_LIST] = *js(l, "list_cost") ? js(l, "list_cost") : js(l, "monthly_cost");
        f[C_PRICING_QTY] = f[C_CONSUMED_QTY] = js(l, "volume_gib");
        f[C_PRICING_UNIT] = f[C_CONSUMED_UNIT] = "GiB";
        f[C_LIST_UNIT] = *js(l, "list_usd_per_gib") ? js(l, "list_usd_per_gib") : js(l, "egress_usd_per_gib");
        f[C_CONTRACTED_UNIT] = js(l, "egress_usd_per_gib");
        f[C_SKU_ID] = f[C_SKU_PRICE_ID] = js(l, "sku");
        f[C_TAGS] = tags;
        f[C_X_WORKLOAD] = js(sender, "name");
        f[C_X_TENANT] = js(sender, "tenant");
        f[C_X_SOURCE] = js(l, "source");
        f[C_X_AS_OF] = js(l, "as_of");
        f[C_X_RULE] = js(l, "contract_rule");
        put_row(out, f);
        free(desc);
        free(aname);
        free(account);
        free(tags);
        free(linkname);
    }
}
