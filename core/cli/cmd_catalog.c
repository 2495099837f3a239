/* cmd_catalog.c - `fedbroker catalog`: validate a catalog, show its rows,
 * diff two price sets for finance, and ask the look-ups the cost model uses
 * (price, egress, rtt) from the command line. */
#include "config.h"
#include "cli/cli.h"
#include "base/diag.h"
#include "catalog/catalog.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FMT_TJC ((1u << FBC_FMT_TABLE) | (1u << FBC_FMT_JSON) | (1u << FBC_FMT_CSV))
#define FMT_TJ ((1u << FBC_FMT_TABLE) | (1u << FBC_FMT_JSON))

static void print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    puts(s);
    free(s);
    json_decref(j);
}

/* Opens the catalog for a verb, printing diagnostics. NULL on failure. */
static fbi_catalog *open_catalog(const char *dir, const char *overrides, const char **params)
{
    fb_diag *d = fb_diag_new();
    fbi_catalog *cat = NULL;
    fb_status st = fbi_catalog_open(dir, overrides, &cat, d);
    for (size_t i = 0; st == FB_OK && params && params[i]; i++) {
        const char *eq = strchr(params[i], '=');
        if (!eq) {
            fb_diag_add(d, FB_SEV_ERROR, NULL, 0, 0, NULL, "--param takes NAME=VALUE", params[i]);
            st = FB_INVALID;
            break;
        }
        char *name = fbi_xstrndup(params[i], (size_t)(eq - params[i]));
        st = fbi_catalog_set_param(cat, name, eq + 1, d);
        free(name);
    }
    /* warnings are for `catalog validate`; other verbs only show errors */
    if (fb_diag_errors(d)) fb_diag_print(d, stderr);
    fb_diag_free(d);
    if (st != FB_OK) {
        fbi_catalog_free(cat);
        return NULL;
    }
    return cat;
}

/* ---- validate ---------------------------------------------------------------------- */

static int cmd_validate(int argc, char **argv)
{
    const char *format = NULL, *overrides = NULL;
    fbc_opt opts[] = {
        {"overrides", "FILE", "also check an overrides file", &overrides, NULL, NULL},
        {"format", "FMT", "table or json", &format, NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, opts, "fedbroker catalog validate [DIR] [--overrides FILE] "
                   "[--format table|json]",
                   "Checks a catalog directory (default: $FEDBROKER_CATALOG, else the embedded\n"
                   "catalog) and reports every problem with its file and line: duplicate keys,\n"
                   "missing or negative prices, overlapping or gapped tiers, unknown units,\n"
                   "pricing models and confidence values, regions missing from regions.csv,\n"
                   "bad dates, unknown sources. Exit 0 when valid (warnings allowed), 2 when not.",
                   &pos, &npos, &rc))
        return rc;
    fbc_format fmt;
    if (npos > 1) {
        fprintf(stderr, "fedbroker catalog validate: one directory at most\n");
        free(pos);
        return FB_EXIT_USAGE;
    }
    const char *dir = npos ? pos[0] : NULL;
    free(pos);
    if (fbc_format_parse(format, FMT_TJ, &fmt) != 0) return FB_EXIT_USAGE;
    fb_diag *d = fb_diag_new();
    fbi_catalog *cat = NULL;
    fb_status st = fbi_catalog_open(dir, overrides, &cat, d);
    size_t errors = fb_diag_errors(d), warnings = fb_diag_count(d) - errors;
    const char *origin = cat ? fbi_catalog_origin(cat) : dir ? dir : "embedded";
    if (fmt == FBC_FMT_JSON) {
        json_t *o = json_object();
        json_object_set_new(o, "catalog", json_string(origin));
        json_object_set_new(o, "valid", json_boolean(st == FB_OK));
        json_object_set_new(o, "errors", json_integer((json_int_t)errors));
        json_object_set_new(o, "warnings", json_integer((json_int_t)warnings));
        if (cat) {
            json_t *c = json_object();
            json_object_set_new(c, "prices", json_integer((json_int_t)fbi_catalog_price_count(cat)));
            json_object_set_new(c, "regions", json_integer((json_int_t)fbi_catalog_region_count(cat)));
            json_object_set_new(c, "locations", json_integer((json_int_t)fbi_catalog_location_count(cat)));
            json_object_set_new(c, "latency", json_integer((json_int_t)fbi_catalog_latency_count(cat)));
            json_object_set_new(c, "sources", json_integer((json_int_t)fbi_catalog_source_count(cat)));
            json_object_set_new(c, "overrides", json_integer((json_int_t)fbi_catalog_override_count(cat)));
            json_object_set_new(o, "counts", c);
        }
        json_object_set_new(o, "diagnostics", fbi_diag_json(d));
        print_json(o);
    } else {
        fb_diag_print(d, stderr);
        if (cat)
            printf("catalog %s: %zu price rows, %zu regions, %zu locations, %zu RTT rows, "
                   "%zu sources, %zu override rules: valid (%zu warnings)\n", origin,
                   fbi_catalog_price_count(cat), fbi_catalog_region_count(cat),
                   fbi_catalog_location_count(cat), fbi_catalog_latency_count(cat),
                   fbi_catalog_source_count(cat), fbi_catalog_override_count(cat), warnings);
        else
            printf("catalog %s: invalid: %zu errors, %zu warnings\n", origin, errors, warnings);
    }
    fb_diag_free(d);
    fbi_catalog_free(cat);
    return st == FB_OK ? FB_EXIT_OK : FB_EXIT_INVALID;
}

/* ---- show ----------------------------------------------------------------------------- */

static int match(const char *want, const char *have)
{
    return !want || strcmp(want, have) == 0;
}

/* The columns of a price row, in prices.csv order plus contracted price. */
static const char *const price_cols[] = {
    "provider", "service", "region", "sku_metric", "variant", "unit", "tier_start", "tier_end",
    "usd_per_unit", "pricing_model", "source", "as_of", "confidence", "notes", "sku",
    "vendor_sku", "currency", "alternate_of", "egress_path", "contracted_usd_per_unit",
    "override_rule", NULL};

static void price_values(const fbi_catalog *cat, const fbi_price_row *r, const char **v,
                         char *pbuf, char *cbuf)
{
    const char *rule = NULL;
    fbi_pusd_format(r->usd_per_unit, pbuf);
    fbi_pusd_format(fbi_catalog_contracted_price(cat, r, &rule), cbuf);
    const char *vals[] = {r->provider, r->service, r->region, r->metric, r->variant, r->unit,
                          r->tier_start_text, r->tier_end_text, pbuf, r->pricing_model,
                          r->source, r->as_of, fbi_confidence_name(r->confidence), r->notes,
                          r->sku, r->vendor_sku, r->currency, r->alternate_of, r->egress_path,
                          cbuf, rule ? rule : ""};
    memcpy(v, vals, sizeof vals);
}

static void emit_csv_row(const char *const *v, size_t n)
{
    fbi_buf b;
    fbi_buf_init(&b);
    for (size_t i = 0; i < n; i++) {
        if (i) fbi_buf_putc(&b, ',');
        fbi_csv_put_field(&b, v[i]);
    }
    puts(b.data ? b.data : "");
    fbi_buf_free(&b);
}

static json_t *row_object(const char *const *cols, const char *const *v, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++) json_object_set_new(o, cols[i], json_string(v[i]));
    return o;
}

static int show_prices(const fbi_catalog *cat, fbc_format fmt, const char *prov,
                       const char *svc, const char *reg)
{
    size_t nc = 0;
    while (price_cols[nc]) nc++;
    json_t *arr = json_array();
    if (fmt == FBC_FMT_CSV) emit_csv_row(price_cols, nc);
    if (fmt == FBC_FMT_TABLE)
        printf("%-58s %-14s %-12s %-12s %-14s %-8s %s\n", "SKU", "UNIT", "TIER_START",
               "TIER_END", "USD_PER_UNIT", "SOURCE", "CONTRACTED");
    size_t shown = 0;
    for (size_t i = 0; i < fbi_catalog_price_count(cat); i++) {
        const fbi_price_row *r = fbi_catalog_price(cat, i);
        if (!match(prov, r->provider) || !match(svc, r->service) || !match(reg, r->region))
            continue;
        const char *v[32];
        char pb[32], cb[32];
        price_values(cat, r, v, pb, cb);
        shown++;
        if (fmt == FBC_FMT_CSV) emit_csv_row(v, nc);
        else if (fmt == FBC_FMT_JSON) json_array_append_new(arr, row_object(price_cols, v, nc));
        else
            printf("%-58s %-14s %-12s %-12s %-14s %-8s %s%s%s\n", r->sku, r->unit,
                   r->tier_start_text, r->tier_end_text, pb, r->source, cb,
                   v[20][0] ? " " : "", v[20]);
    }
    if (fmt == FBC_FMT_JSON) {
        json_t *o = json_object();
        json_object_set_new(o, "catalog", json_string(fbi_catalog_origin(cat)));
        json_object_set_new(o, "table", json_string("prices"));
        json_object_set_new(o, "rows", arr);
        print_json(o);
    } else {
        json_decref(arr);
        if (fmt == FBC_FMT_TABLE) printf("(%zu rows from %s)\n", shown, fbi_catalog_origin(cat));
    }
    return FB_EXIT_OK;
}

static void fmt_coord(const fbi_region *r, double v, char *out)
{
    if (r->has_coords) snprintf(out, 32, "%.2f", v);
    else out[0] = '\0';
}

static int show_other(const fbi_catalog *cat, const char *table, fbc_format fmt,
                      const char *prov, const char *reg)
{
    static const char *const rcols[] = {"provider", "region", "kind", "display_name",
        "jurisdiction", "country", "continent", "metro", "lat", "lon", "location_precision",
        "price_group", "parent", "source", "notes", NULL};
    static const char *const lcols[] = {"location", "display_name", "metro", "country",
        "jurisdiction", "continent", "lat", "lon", "source", "notes", NULL};
    static const char *const tcols[] = {"from", "to", "rtt_ms", "statistic", "source", "as_of",
        "source_id", NULL};
    static const char *const scols[] = {"id", "kind", "origin", "what", "date", "license", NULL};
    const char *const *cols;
    size_t count;
    if (strcmp(table, "regions") == 0) { cols = rcols; count = fbi_catalog_region_count(cat); }
    else if (strcmp(table, "locations") == 0) { cols = lcols; count = fbi_catalog_location_count(cat); }
    else if (strcmp(table, "latency") == 0) { cols = tcols; count = fbi_catalog_latency_count(cat); }
    else { cols = scols; count = fbi_catalog_source_count(cat); }
    size_t nc = 0;
    while (cols[nc]) nc++;
    json_t *arr = json_array();
    if (fmt == FBC_FMT_CSV || fmt == FBC_FMT_TABLE) emit_csv_row(cols, nc);
    for (size_t i = 0; i < count; i++) {
        const char *v[16];
        char a[32], b[32];
        if (cols == rcols) {
            const fbi_region *r = fbi_catalog_region_at(cat, i);
            if (!match(prov, r->provider) || !match(reg, r->region)) continue;
            fmt_coord(r, r->lat, a);
            fmt_coord(r, r->lon, b);
            const char *x[] = {r->provider, r->region, r->kind, r->display_name, r->jurisdiction,
                               r->country, r->continent, r->metro, a, b, r->location_precision,
                               r->price_group, r->parent, r->source, r->notes};
            memcpy(v, x, sizeof x);
        } else if (cols == lcols) {
            const fbi_location *l = fbi_catalog_location_at(cat, i);
            snprintf(a, sizeof a, "%.2f", l->lat);
            snprintf(b, sizeof b, "%.2f", l->lon);
            const char *x[] = {l->name, l->display_name, l->metro, l->country, l->jurisdiction,
                               l->continent, a, b, l->source, l->notes};
            memcpy(v, x, sizeof x);
        } else if (cols == tcols) {
            const fbi_latency_row *l = fbi_catalog_latency_at(cat, i);
            if (prov && strncmp(l->from, prov, strlen(prov)) != 0 &&
                strncmp(l->to, prov, strlen(prov)) != 0)
                continue;
            if (reg && !strstr(l->from, reg) && !strstr(l->to, reg)) continue;
            const char *x[] = {l->from, l->to, l->rtt_text, l->statistic, l->source, l->as_of,
                               l->source_id};
            memcpy(v, x, sizeof x);
        } else {
            const fbi_source *s = fbi_catalog_source_at(cat, i);
            const char *x[] = {s->id, s->kind, s->origin, s->what, s->date, s->license};
            memcpy(v, x, sizeof x);
        }
        if (fmt == FBC_FMT_JSON) json_array_append_new(arr, row_object(cols, v, nc));
        else emit_csv_row(v, nc);
    }
    if (fmt == FBC_FMT_JSON) {
        json_t *o = json_object();
        json_object_set_new(o, "catalog", json_string(fbi_catalog_origin(cat)));
        json_object_set_new(o, "table", json_string(table));
        json_object_set_new(o, "rows", arr);
        print_json(o);
    } else {
        json_decref(arr);
    }
    return FB_EXIT_OK;
}

static int cmd_show(int argc, char **argv)
{
    const char *format = NULL, *dir = NULL, *overrides = NULL, *prov = NULL, *svc = NULL,
               *reg = NULL, *table = NULL;
    fbc_opt opts[] = {
        {"catalog", "DIR", "catalog directory (default: $FEDBROKER_CATALOG or embedded)", &dir, NULL, NULL},
        {"overrides", "FILE", "negotiated prices (adds the contracted price)", &overrides, NULL, NULL},
        {"table", "NAME", "prices (default), regions, locations, latency or sources", &table, NULL, NULL},
        {"provider", "P", "only rows of this provider", &prov, NULL, NULL},
        {"service", "S", "only price rows of this service", &svc, NULL, NULL},
        {"region", "R", "only rows of this region", &reg, NULL, NULL},
        {"format", "FMT", "table, json or csv", &format, NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, opts, "fedbroker catalog show [--table T] [--provider P] "
                   "[--service S] [--region R] [--format table|json|csv]",
                   "Prints catalog rows. Prices are exact decimal USD; with overrides the\n"
                   "contracted unit price and the rule that set it are added.",
                   &pos, &npos, &rc))
        return rc;
    if (npos) {
        fprintf(stderr, "fedbroker catalog show: unexpected argument '%s'\n", pos[0]);
        free(pos);
        return FB_EXIT_USAGE;
    }
    free(pos);
    fbc_format fmt;
    if (fbc_format_parse(format, FMT_TJC, &fmt) != 0) return FB_EXIT_USAGE;
    if (!table) table = "prices";
    if (strcmp(table, "prices") && strcmp(table, "regions") && strcmp(table, "locations") &&
        strcmp(table, "latency") && strcmp(table, "sources")) {
        fprintf(stderr, "fedbroker catalog show: unknown --table '%s' (prices, regions, "
                        "locations, latency, sources)\n", table);
        return FB_EXIT_USAGE;
    }
    fbi_catalog *cat = open_catalog(dir, overrides, NULL);
    if (!cat) return FB_EXIT_INVALID;
    rc = strcmp(table, "prices") == 0 ? show_prices(cat, fmt, prov, svc, reg)
                                      : show_other(cat, table, fmt, prov, reg);
    fbi_catalog_free(cat);
    return rc;
}

/* ---- diff ----------------------------------------------------------------------------- */

/* One side of a diff: a path that exists, else `embedded` for the built-in
 * copy (a file or directory named "embedded" still wins). */
static void diff_side(const char *arg, fbi_catalog **out, fb_diag *d)
{
    struct stat st;
    if (!strcmp(arg, "embedded") && stat(arg, &st) != 0) fbi_catalog_load_embedded(out, d);
    else fbi_catalog_load_prices(arg, out, d);
}

static int cmd_diff(int argc, char **argv)
{
    const char *format = NULL;
    fbc_opt opts[] = {
        {"format", "FMT", "table, json or csv", &format, NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, opts, "fedbroker catalog diff [OLD] NEW [--format table|json|csv]",
                   "Lists price changes between two catalogs (directories or prices.csv\n"
                   "files, or `embedded` for the catalog built into fedbroker; OLD defaults\n"
                   "to embedded), keyed by sku: added rows, removed rows, and rows whose\n"
                   "price, unit, currency or tier end changed, with the old and new price and\n"
                   "the change in percent. Exit 0 (also when there are changes); 2 when a\n"
                   "file is invalid.",
                   &pos, &npos, &rc))
        return rc;
    if (npos != 1 && npos != 2) {
        fprintf(stderr, "fedbroker catalog diff: give [OLD] NEW (directories, prices files or `embedded`)\n");
        free(pos);
        return FB_EXIT_USAGE;
    }
    fbc_format fmt;
    if (fbc_format_parse(format, FMT_TJC, &fmt) != 0) {
        free(pos);
        return FB_EXIT_USAGE;
    }
    fb_diag *d = fb_diag_new();
    fbi_catalog *o = NULL, *n = NULL;
    diff_side(npos == 2 ? pos[0] : "embedded", &o, d);
    diff_side(pos[npos - 1], &n, d);
    free(pos);
    fb_diag_print(d, stderr);
    fb_diag_free(d);
    if (!o || !n) {
        fbi_catalog_free(o);
        fbi_catalog_free(n);
        return FB_EXIT_INVALID;
    }
    fbi_price_change *ch;
    size_t nch, counts[3] = {0, 0, 0};
    fbi_catalog_diff(o, n, &ch, &nch);
    static const char *const cols[] = {"change", "sku", "provider", "service", "region",
        "sku_metric", "variant", "unit", "tier_start", "old_usd_per_unit", "new_usd_per_unit",
        "pct_change", "old_source", "new_source", "old_as_of", "new_as_of", NULL};
    size_t nc = 0;
    while (cols[nc]) nc++;
    json_t *arr = json_array();
    if (fmt == FBC_FMT_CSV) emit_csv_row(cols, nc);
    if (fmt == FBC_FMT_TABLE)
        printf("%-8s %-60s %-14s %-14s %-9s %s\n", "CHANGE", "SKU", "OLD_USD", "NEW_USD", "PCT",
               "SOURCE");
    for (size_t i = 0; i < nch; i++) {
        const fbi_price_change *c = &ch[i];
        const fbi_price_row *r = c->new_row ? c->new_row : c->old_row;
        char op[32] = "", np[32] = "";
        if (c->old_row) fbi_pusd_format(c->old_row->usd_per_unit, op);
        if (c->new_row) fbi_pusd_format(c->new_row->usd_per_unit, np);
        counts[c->kind]++;
        const char *v[] = {fbi_change_kind_name(c->kind), r->sku, r->provider, r->service,
                           r->region, r->metric, r->variant, r->unit, r->tier_start_text, op, np,
                           c->pct, c->old_row ? c->old_row->source : "",
                           c->new_row ? c->new_row->source : "",
                           c->old_row ? c->old_row->as_of : "", c->new_row ? c->new_row->as_of : ""};
        if (fmt == FBC_FMT_CSV) emit_csv_row(v, nc);
        else if (fmt == FBC_FMT_JSON) json_array_append_new(arr, row_object(cols, v, nc));
        else
            printf("%-8s %-60s %-14s %-14s %-9s %s%s%s\n", v[0], r->sku, op, np,
                   c->pct[0] ? c->pct : "", c->old_row ? c->old_row->source : "",
                   c->old_row && c->new_row ? " -> " : "", c->new_row ? c->new_row->source : "");
    }
    if (fmt == FBC_FMT_JSON) {
        json_t *top = json_object();
        json_object_set_new(top, "old", json_string(fbi_catalog_origin(o)));
        json_object_set_new(top, "new", json_string(fbi_catalog_origin(n)));
        json_t *s = json_object();
        json_object_set_new(s, "added", json_integer((json_int_t)counts[FBI_CHANGE_ADDED]));
        json_object_set_new(s, "removed", json_integer((json_int_t)counts[FBI_CHANGE_REMOVED]));
        json_object_set_new(s, "changed", json_integer((json_int_t)counts[FBI_CHANGE_CHANGED]));
        json_object_set_new(top, "summary", s);
        json_object_set_new(top, "changes", arr);
        print_json(top);
    } else {
        json_decref(arr);
        if (fmt == FBC_FMT_TABLE)
            printf("(%zu changes: %zu added, %zu removed, %zu changed)\n", nch,
                   counts[FBI_CHANGE_ADDED], counts[FBI_CHANGE_REMOVED], counts[FBI_CHANGE_CHANGED]);
    }
    free(ch);
    fbi_catalog_free(o);
    fbi_catalog_free(n);
    return FB_EXIT_OK;
}

/* ---- price ----------------------------------------------------------------------------- */

static json_t *row_brief(const fbi_catalog *cat, const fbi_price_row *r)
{
    char p[32], c[32];
    const char *rule = NULL;
    fbi_pusd_format(r->usd_per_unit, p);
    fbi_pusd_format(fbi_catalog_contracted_price(cat, r, &rule), c);
    json_t *o = json_object();
    json_object_set_new(o, "sku", json_string(r->sku));
    json_object_set_new(o, "region", json_string(r->region));
    json_object_set_new(o, "variant", json_string(r->variant));
    json_object_set_new(o, "unit", json_string(r->unit));
    json_object_set_new(o, "tier_start", json_string(r->tier_start_text));
    json_object_set_new(o, "tier_end", json_string(r->tier_end_text));
    json_object_set_new(o, "usd_per_unit", json_string(p));
    json_object_set_new(o, "contracted_usd_per_unit", json_string(c));
    json_object_set_new(o, "override_rule", rule ? json_string(rule) : json_null());
    json_object_set_new(o, "source", json_string(r->source));
    json_object_set_new(o, "as_of", json_string(r->as_of));
    json_object_set_new(o, "confidence", json_string(fbi_confidence_name(r->confidence)));
    json_object_set_new(o, "line", json_integer(r->line));
    return o;
}

static int cmd_price(int argc, char **argv)
{
    const char *format = NULL, *dir = NULL, *overrides = NULL, *variant = NULL, *model = NULL,
               *qty_text = NULL;
    fbc_opt opts[] = {
        {"catalog", "DIR", "catalog directory", &dir, NULL, NULL},
        {"overrides", "FILE", "negotiated prices", &overrides, NULL, NULL},
        {"variant", "V", "variant (e.g. x86_64, request-based)", &variant, NULL, NULL},
        {"pricing-model", "M", "pricing model (default: any but historical)", &model, NULL, NULL},
        {"quantity", "Q", "cost this quantity (exact decimal, in the row's unit)", &qty_text, NULL, NULL},
        {"format", "FMT", "table or json", &format, NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, opts, "fedbroker catalog price PROVIDER SERVICE REGION METRIC "
                   "[--variant V] [--quantity Q] [--format table|json]",
                   "Looks a product up the way the cost model does (region, then its price group,\n"
                   "then the provider's global scope) and, with --quantity, costs it tier by tier\n"
                   "(each line rounded half up to micro-USD).", &pos, &npos, &rc))
        return rc;
    if (npos != 4) {
        fprintf(stderr, "fedbroker catalog price: give PROVIDER SERVICE REGION METRIC\n");
        free(pos);
        return FB_EXIT_USAGE;
    }
    fbc_format fmt;
    fbi_qty qty = 0;
    char *err = NULL;
    if (fbc_format_parse(format, FMT_TJ, &fmt) != 0 ||
        (qty_text && fbi_qty_parse(qty_text, &qty, &err) != 0)) {
        if (err) fprintf(stderr, "fedbroker catalog price: --quantity: %s\n", err);
        free(err);
        free(pos);
        return FB_EXIT_USAGE;
    }
    fbi_catalog *cat = open_catalog(dir, overrides, NULL);
    if (!cat) {
        free(pos);
        return FB_EXIT_INVALID;
    }
    fbi_price_query q = {pos[0], pos[1], pos[2], pos[3], variant, model};
    const fbi_price_row **rows;
    size_t n;
    fb_diag *d = fb_diag_new();
    fb_status st = fbi_catalog_find_prices(cat, &q, &rows, &n, d);
    free(pos);
    fb_diag_print(d, stderr);
    fb_diag_free(d);
    if (st != FB_OK) {
        fbi_catalog_free(cat);
        return FB_EXIT_INVALID;
    }
    fbi_tier_line *lines = fbi_xcalloc(n, sizeof *lines);
    size_t nl = 0;
    fbi_musd total = 0;
    int costed = qty_text && fbi_tiered_cost(rows, n, qty, lines, &nl, &total, &err) == 0;
    if (qty_text && !costed) {
        fprintf(stderr, "fedbroker catalog price: %s\n", err);
        free(err);
    }
    json_t *o = json_object(), *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, row_brief(cat, rows[i]));
    json_object_set_new(o, "rows", arr);
    if (costed) {
        json_t *la = json_array();
        char a[32], b[32];
        for (size_t i = 0; i < nl; i++) {
            json_t *l = json_object();
            fbi_qty_format(lines[i].qty, a);
            fbi_musd_format(lines[i].cost, b);
            json_object_set_new(l, "sku", json_string(lines[i].row->sku));
            json_object_set_new(l, "quantity", json_string(a));
            json_object_set_new(l, "usd", json_string(b));
            json_array_append_new(la, l);
        }
        fbi_musd_format(total, b);
        json_object_set_new(o, "lines", la);
        json_object_set_new(o, "total_usd", json_string(b));
    }
    if (fmt == FBC_FMT_JSON) {
        print_json(o);
    } else {
        for (size_t i = 0; i < n; i++) {
            char p[32];
            fbi_pusd_format(rows[i]->usd_per_unit, p);
            printf("%-60s %s USD per %s%s%s%s%s  [%s, %s, %s]\n", rows[i]->sku, p, rows[i]->unit,
                   rows[i]->tiered ? " for " : "", rows[i]->tier_start_text,
                   rows[i]->tiered ? ".." : "", rows[i]->tier_end_text, rows[i]->source,
                   rows[i]->as_of, fbi_confidence_name(rows[i]->confidence));
        }
        if (costed) {
            for (size_t i = 0; i < nl; i++) {
                char a[32], b[32];
                fbi_qty_format(lines[i].qty, a);
                fbi_musd_format(lines[i].cost, b);
                printf("  %s %s x %s = %s USD\n", a, lines[i].row->unit, lines[i].row->sku, b);
            }
            char t[32];
            fbi_musd_format(total, t);
            printf("  total %s USD\n", t);
        }
        json_decref(o);
    }
    free(lines);
    free(rows);
    fbi_catalog_free(cat);
    return qty_text && !costed ? FB_EXIT_INVALID : FB_EXIT_OK;
}

/* ---- egress ---------------------------------------------------------------------------- */

static int cmd_egress(int argc, char **argv)
{
    const char *format = NULL, *dir = NULL, *overrides = NULL;
    fbc_opt opts[] = {
        {"catalog", "DIR", "catalog directory", &dir, NULL, NULL},
        {"overrides", "FILE", "negotiated prices", &overrides, NULL, NULL},
        {"format", "FMT", "table or json", &format, NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, opts, "fedbroker catalog egress SRC DST [--format table|json]",
                   "The egress price rows for data leaving SRC (provider:region) for DST\n"
                   "(provider:region, a location, or 'internet').", &pos, &npos, &rc))
        return rc;
    if (npos != 2) {
        fprintf(stderr, "fedbroker catalog egress: give SRC and DST\n");
        free(pos);
        return FB_EXIT_USAGE;
    }
    fbc_format fmt;
    if (fbc_format_parse(format, FMT_TJ, &fmt) != 0) {
        free(pos);
        return FB_EXIT_USAGE;
    }
    fbi_catalog *cat = open_catalog(dir, overrides, NULL);
    if (!cat) {
        free(pos);
        return FB_EXIT_INVALID;
    }
    fbi_egress e;
    fb_diag *d = fb_diag_new();
    fb_status st = fbi_catalog_egress(cat, pos[0], pos[1], &e, d);
    free(pos);
    fb_diag_print(d, stderr);
    fb_diag_free(d);
    if (st != FB_OK) {
        fbi_catalog_free(cat);
        return st == FB_NOTFOUND || st == FB_CONFLICT ? FB_EXIT_INVALID : FB_EXIT_FAILURE;
    }
    if (fmt == FBC_FMT_JSON) {
        json_t *o = json_object(), *arr = json_array();
        json_object_set_new(o, "kind", json_string(fbi_egress_kind_name(e.kind)));
        json_object_set_new(o, "fallback", json_boolean(e.fallback));
        json_object_set_new(o, "note", json_string(e.note));
        for (size_t i = 0; i < e.ntiers; i++) json_array_append_new(arr, row_brief(cat, e.tiers[i]));
        json_object_set_new(o, "tiers", arr);
        json_object_set_new(o, "free_tier", e.free_tier ? row_brief(cat, e.free_tier) : json_null());
        print_json(o);
    } else {
        printf("%s\n", e.note);
        for (size_t i = 0; i < e.ntiers; i++) {
            char p[32];
            fbi_pusd_format(e.tiers[i]->usd_per_unit, p);
            printf("  %s USD per %s%s%s%s%s  [%s %s, %s]\n", p, e.tiers[i]->unit,
                   e.tiers[i]->tiered ? " for " : "", e.tiers[i]->tier_start_text,
                   e.tiers[i]->tiered ? ".." : "", e.tiers[i]->tier_end_text, e.tiers[i]->sku,
                   e.tiers[i]->source, e.tiers[i]->as_of);
        }
        if (e.free_tier)
            printf("  free allowance (not applied here): %s, %s..%s %s\n", e.free_tier->sku,
                   e.free_tier->tier_start_text, e.free_tier->tier_end_text, e.free_tier->unit);
    }
    fbi_egress_clear(&e);
    fbi_catalog_free(cat);
    return FB_EXIT_OK;
}

/* ---- rtt --------------------------------------------------------------------------------- */

static int cmd_rtt(int argc, char **argv)
{
    const char *format = NULL, *dir = NULL;
    const char **params = NULL;
    fbc_opt opts[] = {
        {"catalog", "DIR", "catalog directory", &dir, NULL, NULL},
        {"param", "NAME=VALUE", "set a model parameter (repeatable), e.g. last_mile_ms=30",
         NULL, NULL, &params},
        {"format", "FMT", "table or json", &format, NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, opts, "fedbroker catalog rtt FROM TO [--param NAME=VALUE]... "
                   "[--format table|json]",
                   "Round-trip time from FROM (a provider:region key, or a user location from\n"
                   "locations.csv) to TO (a provider:region key), with where the number comes\n"
                   "from: measured, same-metro-assumption or distance-estimate.",
                   &pos, &npos, &rc))
        return rc;
    if (npos != 2) {
        fprintf(stderr, "fedbroker catalog rtt: give FROM and TO\n");
        free(pos);
        free(params);
        return FB_EXIT_USAGE;
    }
    fbc_format fmt;
    if (fbc_format_parse(format, FMT_TJ, &fmt) != 0) {
        free(pos);
        free(params);
        return FB_EXIT_USAGE;
    }
    fbi_catalog *cat = open_catalog(dir, NULL, params);
    free(params);
    if (!cat) {
        free(pos);
        return FB_EXIT_INVALID;
    }
    double ms;
    fbi_rtt_origin o;
    int user = strchr(pos[0], ':') == NULL;
    fb_status st = user ? fbi_catalog_user_rtt(cat, pos[0], pos[1], &ms, &o)
                        : fbi_catalog_rtt(cat, pos[0], pos[1], &ms, &o);
    if (st != FB_OK) {
        fprintf(stderr, "fedbroker catalog rtt: %s\n", o.detail);
        free(pos);
        fbi_catalog_free(cat);
        return FB_EXIT_INVALID;
    }
    if (fmt == FBC_FMT_JSON) {
        json_t *j = json_object();
        json_object_set_new(j, "from", json_string(pos[0]));
        json_object_set_new(j, "to", json_string(pos[1]));
        json_object_set_new(j, "rtt_ms", json_real(ms));
        json_object_set_new(j, "origin", json_string(fbi_rtt_kind_name(o.kind)));
        json_object_set_new(j, "source", json_string(o.source));
        json_object_set_new(j, "assumed_ms", json_real(o.assumed_ms));
        json_object_set_new(j, "last_mile_ms", json_real(o.last_mile_ms));
        json_object_set_new(j, "row_line", o.row ? json_integer(o.row->line) : json_null());
        json_object_set_new(j, "detail", json_string(o.detail));
        print_json(j);
    } else {
        printf("%s -> %s: %.1f ms (%s, %s)\n  %s\n", pos[0], pos[1], ms, fbi_rtt_kind_name(o.kind),
               o.source, o.detail);
    }
    free(pos);
    fbi_catalog_free(cat);
    return FB_EXIT_OK;
}

int fbc_cmd_catalog(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int, char **);
        const char *summary;
    } subs[] = {
        {"validate", cmd_validate, "check a catalog directory; every error with file and line"},
        {"show", cmd_show, "print prices, regions, locations, latency or sources"},
        {"diff", cmd_diff, "price changes between two catalogs, keyed by sku"},
        {"price", cmd_price, "look a product up (and cost a quantity) like the cost model"},
        {"egress", cmd_egress, "egress price rows between two places"},
        {"rtt", cmd_rtt, "round-trip time between regions or from users, with its origin"},
    };
    size_t ns = sizeof subs / sizeof *subs;
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        FILE *out = argc < 2 ? stderr : stdout;
        fprintf(out, "usage: fedbroker catalog SUBVERB [ARGS]\n\n");
        for (size_t i = 0; i < ns; i++) fprintf(out, "  %-9s %s\n", subs[i].name, subs[i].summary);
        fprintf(out, "\nThe catalog is embedded; --catalog DIR or FEDBROKER_CATALOG replaces it, "
                     "FEDBROKER_CATALOG_OVERRIDES adds negotiated prices.\n");
        return argc < 2 ? FB_EXIT_USAGE : FB_EXIT_OK;
    }
    for (size_t i = 0; i < ns; i++)
        if (strcmp(argv[1], subs[i].name) == 0) {
            /* option errors then say "fedbroker catalog show: ..." */
            char verb[32];
            snprintf(verb, sizeof verb, "catalog %s", subs[i].name);
            argv[1] = verb;
            return subs[i].run(argc - 1, argv + 1);
        }
    fprintf(stderr, "fedbroker catalog: unknown sub-verb '%s' (validate, show, diff, price, "
                    "egress, rtt)\n", argv[1]);
    return FB_EXIT_USAGE;
}
