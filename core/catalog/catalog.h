/*
 * catalog.h - the price catalog, regions, user locations and the latency
 * model (prefix fbi_; internal to libfedbroker, used by the cost model and
 * the `fedbroker catalog` verb).
 *
 * The catalog is the data in catalog/ (see catalog/README.md): price rows
 * with their source, date and confidence; regions with jurisdiction, metro
 * and coordinates; user locations; a measured RTT matrix; model parameters.
 * A copy is embedded into the library at build time; a directory with the
 * same files (--catalog DIR or FEDBROKER_CATALOG) replaces it.
 *
 * Money is exact: unit prices are integer pico-USD (10^-12 USD) parsed from
 * decimal text without floating point; quantities are integer micro-units
 * (10^-6 of a unit); a line item (quantity x unit price) is rounded half up
 * to integer micro-USD, so line items add up exactly to totals.
 *
 * Ownership: every `const` pointer returned from a catalog is borrowed and
 * lives as long as the catalog. Functions that return arrays say "new".
 * Threads: a loaded catalog is read-only and may be shared; the setters
 * (params, local metro, overrides) must not run concurrently with readers.
 */
#ifndef FB_CATALOG_H
#define FB_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "fedbroker/fedbroker.h"

struct fbi_buf; /* util.h */

/* ---- exact money and quantities ------------------------------------------- */

typedef int64_t fbi_pusd; /* pico-USD (10^-12 USD): unit prices */
typedef int64_t fbi_musd; /* micro-USD (10^-6 USD): line items and totals */
typedef int64_t fbi_qty;  /* micro-units (10^-6 of the row's unit) */

#define FBI_PUSD_PER_USD INT64_C(1000000000000)
#define FBI_MUSD_PER_USD INT64_C(1000000)
#define FBI_QTY_ONE INT64_C(1000000)
#define FBI_QTY_INF INT64_MAX /* an open-ended tier ("inf") */
#define FBI_PCT_ONE INT64_C(1000000) /* percentages are micro-percent */

/* Parses non-negative decimal text ("0.0000166667", "12", "1e-5" is refused)
 * into an integer scaled by 10^frac_digits, exactly: more fractional digits
 * than frac_digits (other than trailing zeros), a sign, exponent, spaces or
 * overflow are errors. Returns 0, or -1 with *err (new, free()). */
int fbi_cat_decimal_parse(const char *text, int frac_digits, int64_t *out, char **err);
/* A unit price in USD as pico-USD (up to 12 fractional digits). */
int fbi_money_parse(const char *text, fbi_pusd *out, char **err);
/* A quantity as micro-units (up to 6 fractional digits); "inf" gives
 * FBI_QTY_INF. */
int fbi_qty_parse(const char *text, fbi_qty *out, char **err);
/* Formats v / 10^frac_digits as the shortest exact decimal ("0.0000166667",
 * "6000000000"). out must hold 32 bytes. */
void fbi_cat_decimal_format(int64_t v, int frac_digits, char out[32]);
/* Shortest exact decimal USD of a pico-USD unit price. */
void fbi_pusd_format(fbi_pusd v, char out[32]);
/* Micro-USD with all six decimals ("6.666680"), as finance expects. */
void fbi_musd_format(fbi_musd v, char out[32]);
/* Quantity as the shortest exact decimal, "inf" for FBI_QTY_INF. */
void fbi_qty_format(fbi_qty v, char out[32]);

/* One line item: qty (micro-units) x unit (pico-USD), computed exactly in
 * 128-bit arithmetic and rounded half up to micro-USD. Returns 0, or -1 with
 * *err (new) on a negative input or a result beyond int64. */
int fbi_line_cost(fbi_qty qty, fbi_pusd unit, fbi_musd *out, char **err);
/* The same for a whole number of units. */
int fbi_line_cost_units(int64_t units, fbi_pusd unit, fbi_musd *out, char **err);
/* list x (100% - pct), pct in micro-percent (0..100e6), rounded half up to
 * pico-USD. */
fbi_pusd fbi_apply_discount(fbi_pusd list, int64_t pct_micro);

/* ---- catalog rows ---------------------------------------------------------- */

typedef enum fbi_confidence {
    FBI_CONF_HIGH = 0,
    FBI_CONF_MEDIUM = 1,
    FBI_CONF_LOW = 2,
    FBI_CONF_ASSUMPTION = 3
} fbi_confidence;

/* Name of a confidence value ("high", ...). borrowed, static. */
const char *fbi_confidence_name(fbi_confidence c);

/* One row of prices.csv. Strings are borrowed from the catalog. */
typedef struct fbi_price_row {
    const char *provider, *service, *region, *metric, *variant, *unit;
    int tiered;               /* tier_start/tier_end given */
    fbi_qty tier_start;       /* micro-units; 0 when not tiered */
    fbi_qty tier_end;         /* micro-units; FBI_QTY_INF for "inf" or untiered */
    const char *tier_start_text, *tier_end_text; /* verbatim ("" when absent) */
    fbi_pusd usd_per_unit;    /* exact list price */
    const char *usd_per_unit_text; /* verbatim decimal text */
    const char *pricing_model, *source, *as_of, *notes;
    fbi_confidence confidence;
    const char *sku;          /* stable derived id, unique in a catalog */
    const char *vendor_sku;   /* provider's SKU when a source gives it, else "" */
    const char *currency;     /* "USD" */
    const char *alternate_of; /* sku of the primary row this one restates, or "" */
    const char *egress_path;  /* egress rows: which paths it prices, or "" */
    int line;                 /* line in prices.csv (the header is line 1) */
} fbi_price_row;

/* One row of regions.csv. */
typedef struct fbi_region {
    const char *provider, *region;
    const char *key;          /* "provider:region" */
    const char *kind;         /* region | local-zone | scope | local | probe */
    const char *display_name, *jurisdiction, *country, *continent, *metro;
    const char *location_precision, *price_group, *parent, *source, *notes;
    int has_coords;
    double lat, lon;
    int line;
} fbi_region;

/* One row of locations.csv: where users are. */
typedef struct fbi_location {
    const char *name, *display_name, *metro, *country, *jurisdiction, *continent;
    const char *source, *notes;
    double lat, lon;
    int line;
} fbi_location;

/* One row of latency_ms.csv (a measured RTT). */
typedef struct fbi_latency_row {
    const char *from, *to;    /* region keys "provider:region" */
    double rtt_ms;
    const char *rtt_text, *statistic, *source, *as_of, *source_id;
    int line;
} fbi_latency_row;

/* One row of startup.csv: how long an offer takes to add capacity, as
 * sourced (container_start: a new replica ready to serve; cold_start: a
 * function instance's first request delayed by its init). Provider and
 * service "*" is the fallback row for offers without their own. */
typedef struct fbi_startup_row {
    const char *provider, *service, *metric;
    int64_t value_ms;
    const char *source, *as_of, *confidence, *notes;
    int line;
} fbi_startup_row;

/* One row of sources.csv. */
typedef struct fbi_source {
    const char *id, *kind, *origin, *what, *date, *license;
    int line;
} fbi_source;

typedef struct fbi_catalog fbi_catalog;

/* ---- loading ----------------------------------------------------------------- */

/* Opens the catalog the broker should use: dir when non-NULL, else
 * $FEDBROKER_CATALOG when set, else the copy embedded at build time.
 * Overrides (negotiated prices) are then loaded from overrides when
 * non-NULL, else $FEDBROKER_CATALOG_OVERRIDES, else DIR/overrides.json when
 * a directory is used and holds one. Every problem is added to diag with its
 * file and line; returns FB_INVALID when any is an error. *out new
 * (fbi_catalog_free) on FB_OK. */
fb_status fbi_catalog_open(const char *dir, const char *overrides,
                           fbi_catalog **out, fb_diag *diag);
/* Loads and validates DIR/{prices,regions,locations,latency_ms,sources}.csv
 * and DIR/params.csv when present (no overrides). *out new. */
fb_status fbi_catalog_load_dir(const char *dir, fbi_catalog **out, fb_diag *diag);
/* Loads the embedded copy. *out new. */
fb_status fbi_catalog_load_embedded(fbi_catalog **out, fb_diag *diag);
/* Loads only a prices file (or DIR/prices.csv when path is a directory),
 * with every row-level check but none that needs regions.csv; for `catalog
 * diff`. *out new. */
fb_status fbi_catalog_load_prices(const char *path, fbi_catalog **out, fb_diag *diag);
void fbi_catalog_free(fbi_catalog *cat);
/* Where the data came from: the directory, file, or "embedded". borrowed. */
const char *fbi_catalog_origin(const fbi_catalog *cat);
/* The SHA-256 (hex) of the catalog's content as fbi_catalog_open would
 * read it for (dir, overrides): the files of dir or $FEDBROKER_CATALOG, or
 * the embedded copy, and the overrides file. A plan records it; apply
 * --plan refuses a plan whose catalog changed. 0, or -1 with *err (new)
 * when a file cannot be read. Any thread. (catalog_hash.c) */
int fbi_catalog_content_hash(const char *dir, const char *overrides, char out[65], char **err);

/* ---- model parameters (params.csv) ---------------------------------------- */

/* Sets a model parameter by name from decimal text (same_metro_gap_ms,
 * last_mile_ms, route_factor, fibre_km_per_s, estimate_overhead_ms) or the
 * local_metro. Returns FB_OK or FB_INVALID with a diagnostic. */
fb_status fbi_catalog_set_param(fbi_catalog *cat, const char *name,
                                const char *value, fb_diag *diag);
/* The numeric value of a parameter; NaN for an unknown name. */
double fbi_catalog_param(const fbi_catalog *cat, const char *name);
/* Puts every region of kind "local" into a metro (a metro id used by a
 * region or a location): its coordinates, continent and jurisdiction are
 * taken from there. FB_NOTFOUND with a diagnostic for an unknown metro. */
fb_status fbi_catalog_set_local_metro(fbi_catalog *cat, const char *metro,
                                      fb_diag *diag);

/* ---- rows and look-ups --------------------------------------------------------- */

size_t fbi_catalog_price_count(const fbi_catalog *cat);
const fbi_price_row *fbi_catalog_price(const fbi_catalog *cat, size_t i);
/* The row with this sku, or NULL. */
const fbi_price_row *fbi_catalog_price_by_sku(const fbi_catalog *cat, const char *sku);
size_t fbi_catalog_region_count(const fbi_catalog *cat);
const fbi_region *fbi_catalog_region_at(const fbi_catalog *cat, size_t i);
/* A region by "provider:region" key, or NULL. */
const fbi_region *fbi_catalog_region(const fbi_catalog *cat, const char *key);
/* A region by provider and region id, or NULL. */
const fbi_region *fbi_catalog_region2(const fbi_catalog *cat, const char *provider,
                                      const char *region);
/* The startup.csv row for provider/service and metric ("container_start"
 * or "cold_start"), else the "*" row for the metric, else NULL. borrowed. */
const fbi_startup_row *fbi_catalog_startup(const fbi_catalog *cat, const char *provider,
                                           const char *service, const char *metric);
size_t fbi_catalog_location_count(const fbi_catalog *cat);
const fbi_location *fbi_catalog_location_at(const fbi_catalog *cat, size_t i);
const fbi_location *fbi_catalog_location(const fbi_catalog *cat, const char *name);
size_t fbi_catalog_latency_count(const fbi_catalog *cat);
const fbi_latency_row *fbi_catalog_latency_at(const fbi_catalog *cat, size_t i);
size_t fbi_catalog_source_count(const fbi_catalog *cat);
const fbi_source *fbi_catalog_source_at(const fbi_catalog *cat, size_t i);
const fbi_source *fbi_catalog_source(const fbi_catalog *cat, const char *id);

/* What the cost model asks for. NULL variant: any variant, as long as one
 * product group matches. NULL pricing_model: any except "historical".
 * Region resolution: rows of the region itself, else of its price group
 * (e.g. gcp "tier1"), else of the provider's "global" scope. Variants match
 * exactly first, then as one '+'-separated part ("x86_64" matches
 * "x86_64+arm64"), then as a leading word ("request-based" matches
 * "request-based billing"), then rows with an empty variant. */
typedef struct fbi_price_query {
    const char *provider, *service, *region, *metric;
    const char *variant;
    const char *pricing_model;
} fbi_price_query;

/* Finds the price rows of one product: one row, or its tiers in order of
 * tier_start. Alternate rows are never returned. *rows new array (free()) of
 * borrowed rows. FB_NOTFOUND or FB_CONFLICT (ambiguous variant) with a
 * diagnostic that says what exists. */
fb_status fbi_catalog_find_prices(const fbi_catalog *cat, const fbi_price_query *q,
                                  const fbi_price_row ***rows, size_t *n,
                                  fb_diag *diag);

/* One line of a tiered cost: the part of the quantity inside one tier. */
typedef struct fbi_tier_line {
    const fbi_price_row *row; /* borrowed */
    fbi_qty qty;
    fbi_musd cost;            /* rounded half up per line */
} fbi_tier_line;

/* Splits qty over the tiers (rows in tier order, as find_prices returns
 * them) and prices each part; lines must hold n entries; *nlines gets how
 * many were used (parts with zero quantity are skipped) and *total their
 * exact sum. An untiered single row is one line. Returns 0, or -1 with *err
 * (new) when the quantity goes past the last tier or on overflow. */
int fbi_tiered_cost(const fbi_price_row *const *rows, size_t n, fbi_qty qty,
                    fbi_tier_line *lines, size_t *nlines, fbi_musd *total,
                    char **err);

/* ---- egress ---------------------------------------------------------------- */

typedef enum fbi_egress_kind {
    FBI_EGRESS_SAME_REGION = 0,  /* between zones of one region */
    FBI_EGRESS_INTER_REGION = 1, /* between two regions of one provider */
    FBI_EGRESS_INTERNET = 2      /* to another provider, a user, the internet */
} fbi_egress_kind;

const char *fbi_egress_kind_name(fbi_egress_kind k);

typedef struct fbi_egress {
    fbi_egress_kind kind;
    const fbi_price_row **tiers; /* new array (fbi_egress_clear), rows borrowed */
    size_t ntiers;
    const fbi_price_row *free_tier; /* the provider's <metric>_free_tier row, or NULL; not applied */
    int fallback;                /* 1: no row applies; 0 USD assumed (see note) */
    char note[384];              /* how the rows were chosen, or the fallback */
} fbi_egress;

/* The price of moving data out of src ("provider:region") to dst: another
 * region key, a location name, or NULL / "internet" for an unknown internet
 * destination. The rows come from prices.csv by their egress_path (see
 * catalog/README.md). When nothing applies the result is FB_NOTFOUND with a
 * diagnostic, except between zones of one region without an inter-zone row,
 * which is the documented flagged fallback (fallback = 1, price 0). Ties
 * between different rows are FB_CONFLICT. out is filled on FB_OK. */
fb_status fbi_catalog_egress(const fbi_catalog *cat, const char *src, const char *dst,
                             fbi_egress *out, fb_diag *diag);
void fbi_egress_clear(fbi_egress *e);

/* ---- latency ----------------------------------------------------------------- */

typedef enum fbi_rtt_kind {
    FBI_RTT_MEASURED = 0,   /* a row of latency_ms.csv (either direction) */
    FBI_RTT_SAME_METRO = 1, /* a measured row between endpoints in the same
                               metros + same_metro_gap_ms per substitution */
    FBI_RTT_ESTIMATE = 2    /* great-circle distance model */
} fbi_rtt_kind;

/* "measured", "same-metro-assumption", "distance-estimate". static. */
const char *fbi_rtt_kind_name(fbi_rtt_kind k);

typedef struct fbi_rtt_origin {
    fbi_rtt_kind kind;
    char source[16];              /* "L1".."L3" or "estimate" */
    const fbi_latency_row *row;   /* the measured row used, or NULL */
    int reversed;                 /* row measured in the other direction */
    double assumed_ms;            /* added by the same-metro gap(s) */
    double last_mile_ms;          /* user RTT: the last-mile adder included */
    char detail[384];             /* the derivation; on failure, the reason */
} fbi_rtt_origin;

/* Round-trip time between two region keys ("aws:us-east-1",
 * "gcp:europe-west1", "metro:Frankfurt", "local:on-prem"): measured, else
 * the same-metro assumption, else the distance estimate. FB_NOTFOUND with
 * origin->detail set when neither endpoint is known or nothing applies. */
fb_status fbi_catalog_rtt(const fbi_catalog *cat, const char *a, const char *b,
                          double *ms, fbi_rtt_origin *origin);
/* RTT from users in a location (locations.csv name) to a region: the best
 * RTT from an endpoint in the location's metro to the region, else the
 * distance estimate from the location's coordinates, plus last_mile_ms. */
fb_status fbi_catalog_user_rtt(const fbi_catalog *cat, const char *location,
                               const char *region, double *ms,
                               fbi_rtt_origin *origin);
/* Great-circle distance in km between two points (degrees). */
double fbi_great_circle_km(double lat1, double lon1, double lat2, double lon2);

/* ---- negotiated prices (overrides) ------------------------------------------- */

/* Loads an overrides JSON file (schemas/catalog.v1.schema.json#/$defs/overrides)
 * into the catalog, replacing earlier ones. Errors carry the file and a JSON
 * pointer. */
fb_status fbi_catalog_load_overrides(fbi_catalog *cat, const char *path, fb_diag *diag);
/* The same from text; name is used in diagnostics. */
fb_status fbi_catalog_load_overrides_text(fbi_catalog *cat, const char *json,
                                          const char *name, fb_diag *diag);
/* The contracted unit price of a row: the most specific matching rule
 * (sku > provider+service > provider) applied to the list price; the list
 * price when no rule matches. *rule_id (may be NULL) gets the rule's id
 * (borrowed) or NULL. */
fbi_pusd fbi_catalog_contracted_price(const fbi_catalog *cat, const fbi_price_row *row,
                                      const char **rule_id);
/* Number of override rules loaded. */
size_t fbi_catalog_override_count(const fbi_catalog *cat);

/* ---- diff ---------------------------------------------------------------------- */

typedef enum fbi_change_kind {
    FBI_CHANGE_ADDED = 0,
    FBI_CHANGE_REMOVED = 1,
    FBI_CHANGE_CHANGED = 2
} fbi_change_kind;

const char *fbi_change_kind_name(fbi_change_kind k);

typedef struct fbi_price_change {
    fbi_change_kind kind;
    const fbi_price_row *old_row, *new_row; /* borrowed; NULL when absent */
    char pct[32];  /* (new - old) / old in percent, 2 decimals, half away
                      from zero ("-20.00"); "" when added/removed or old = 0 */
} fbi_price_change;

/* What changed between two price sets, keyed by sku: rows only in one, and
 * rows whose price, unit, currency or tier end differ. Sorted by sku.
 * *changes new array (free()); rows borrowed from old and new. */
void fbi_catalog_diff(const fbi_catalog *old_cat, const fbi_catalog *new_cat,
                      fbi_price_change **changes, size_t *n);

/* ---- CSV (RFC 4180) --------------------------------------------------------------- */

typedef struct fbi_csv {
    char **header;     /* new strings */
    size_t ncols;
    char ***rows;      /* rows[i][j], j < ncols: pointers into text (read-only) */
    int *lines;        /* line where row i starts */
    size_t nrows;
    /* Why one block: the catalog keeps its tables for its whole life (the
     * rows borrow their fields) and a string per field cost 64-80 bytes of
     * heap each (21,000 latency fields: 1.9 MB for 320 KB of text). The
     * fields are NUL-terminated in text, the row pointers in cells. */
    char *text;        /* every row's fields, NUL-separated; new */
    char **cells;      /* nrows * ncols pointers into text; rows[i] = cells + i*ncols */
} fbi_csv;

/* Parses CSV text strictly (RFC 4180: comma separator, CRLF or LF line
 * ends, double-quoted fields with "" escapes, a header row; a UTF-8 BOM is
 * skipped). Every malformed record is reported to diag as file:line:column
 * and skipped; the rest is still parsed. Returns FB_OK, or FB_INVALID when
 * any record was malformed (*out is still set, new, fbi_csv_free). */
fb_status fbi_csv_parse(const char *data, size_t len, const char *file,
                        fbi_csv **out, fb_diag *diag);
void fbi_csv_free(fbi_csv *c);
/* Index of a header column, or -1. */
int fbi_csv_col(const fbi_csv *c, const char *name);
/* Appends one field, quoted when it needs to be (comma, quote, CR, LF,
 * leading or trailing space). */
void fbi_csv_put_field(struct fbi_buf *b, const char *s);

#endif
