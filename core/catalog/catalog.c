/* catalog.c - loads and validates the catalog (prices, regions, locations,
 * latency, sources, params) from the embedded copy or a directory. Every
 * problem is reported with its file and line, and all of them are reported:
 * finance fixes a catalog in one pass, not one error per run. */
#include "config.h"
#include "catalog/catalog_priv.h"

#include <ctype.h>
#include <stddef.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Limits (catalog/README.md "Limits"): loading takes about 11 times the
 * text in memory, so a catalog is at most 32 MiB in all (16 MiB a file),
 * some 350 MB; the built-in one is 0.4 MB. A load keeps its first 1000
 * problems (fbi_cat_diag_add). */
#define CAT_MAX_FILE (16u * 1024u * 1024u)
#define CAT_MAX_TOTAL (32u * 1024u * 1024u)
#define CAT_MAX_ERRORS 1000

/* ---- fixed vocabularies ------------------------------------------------------- */

static const char *const units[] = {
    "GB-second", "GiB-second", "vCPU-second", "GHz-second", "request", "invocation",
    "vCPU-hour", "GB-hour", "GiB-hour", "GPU-hour", "node-hour", "cluster-hour",
    "hour", "month", "GB", "GiB", "TB", "TiB", "GB-month", "GiB-month", "QPU-second",
    "shot", "task", NULL};
static const char *const continents[] = {
    "north-america", "south-america", "europe", "asia", "oceania", "africa",
    "middle-east", "antarctica", NULL};
static const char *const pricing_models[] = {
    "on-demand", "provisioned", "assumed", "free-tier", "request-based",
    "instance-based", "historical", "spot", NULL};
static const char *const region_kinds[] = {
    "region", "local-zone", "scope", "local", "probe", "backend", NULL};
static const char *const precisions[] = {"city", "approximate", "unknown", NULL};
static const char *const confidences[] = {"high", "medium", "low", "assumption", NULL};
static const char *const source_kinds[] = {"price", "latency", "region", "startup", NULL};
static const char *const egress_metrics[] = {
    "egress_inter_az", "egress_inter_zone", "egress_inter_region", "egress_internet", NULL};

static int in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0) return 1;
    return 0;
}

static char *list_join(const char *const *list)
{
    fbi_buf b;
    fbi_buf_init(&b);
    for (size_t i = 0; list[i]; i++) fbi_buf_printf(&b, "%s%s", i ? ", " : "", list[i]);
    return fbi_buf_steal(&b);
}

int fbi_continent_known(const char *c) { return in_list(continents, c); }
int fbi_unit_known(const char *u) { return in_list(units, u); }
int fbi_pricing_model_known(const char *m) { return in_list(pricing_models, m); }

const char *fbi_confidence_name(fbi_confidence c)
{
    return (unsigned)c < 4 ? confidences[c] : "?";
}

/* ---- diagnostics helpers -------------------------------------------------------- */

void fbi_cat_diag_add(fb_diag *d, fb_severity sev, const char *file, int line, int col,
                      const char *pointer, const char *summary, const char *detail)
{
    size_t n = fb_diag_count(d);
    if (n > CAT_MAX_ERRORS) return;
    if (n == CAT_MAX_ERRORS) {
        /* A broken 16 MiB file can hold millions of bad lines: the first
         * thousand problems say what is wrong, the rest would only cost
         * memory (a couple of hundred bytes each). */
        fb_diag_add(d, FB_SEV_ERROR, file, 0, 0, NULL,
                    "more than 1000 problems in the catalog; the rest are not shown",
                    "fix the problems above and validate again");
        return;
    }
    fb_diag_add(d, sev, file, line, col, pointer, summary, detail);
}

static void rowerr(fb_diag *d, const char *file, int line, const char *summary,
                   const char *detail)
{
    fbi_cat_diag_add(d, FB_SEV_ERROR, file, line, 0, NULL, summary, detail);
}

static void rowwarn(fb_diag *d, const char *file, int line, const char *summary,
                    const char *detail)
{
    fbi_cat_diag_add(d, FB_SEV_WARNING, file, line, 0, NULL, summary, detail);
}

static void rowerrf(fb_diag *d, const char *file, int line, const char *detail,
                    const char *fmt, ...) FBI_PRINTF(5, 6);
static void rowerrf(fb_diag *d, const char *file, int line, const char *detail,
                    const char *fmt, ...)
{
    fbi_buf b;
    va_list ap;
    fbi_buf_init(&b);
    va_start(ap, fmt);
    fbi_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    rowerr(d, file, line, b.data, detail);
    fbi_buf_free(&b);
}

static void rowwarnf(fb_diag *d, const char *file, int line, const char *detail,
                     const char *fmt, ...) FBI_PRINTF(5, 6);
static void rowwarnf(fb_diag *d, const char *file, int line, const char *detail,
                     const char *fmt, ...)
{
    fbi_buf b;
    va_list ap;
    fbi_buf_init(&b);
    va_start(ap, fmt);
    fbi_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    rowwarn(d, file, line, b.data, detail);
    fbi_buf_free(&b);
}

/* ---- dates --------------------------------------------------------------------- */

static int days_in_month(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return d[m - 1];
}

/* Checks an as_of text: every YYYY-MM-DD in it must be a real date, a
 * date-like token that is not YYYY-MM-DD is refused, and a text without a
 * date must name a year or say undated/current/derived. NULL when good, else
 * the problem (new). */
static char *check_as_of(const char *s)
{
    int has_date = 0, has_year = 0;
    if (!*s) return fbi_xstrdup("missing as_of (give a date YYYY-MM-DD, or say 'undated')");
    for (size_t i = 0; s[i]; i++) {
        if (i > 0 && isdigit((unsigned char)s[i - 1])) continue;
        size_t k = 0;
        while (isdigit((unsigned char)s[i + k])) k++;
        if (k != 4) {
            i += k ? k - 1 : 0;
            continue;
        }
        int y = atoi(s + i);
        if (y >= 1990 && y <= 2100) has_year = 1;
        if (s[i + 4] != '-' || !isdigit((unsigned char)s[i + 5])) {
            i += 3;
            continue;
        }
        size_t m = 0;
        while (isdigit((unsigned char)s[i + 5 + m])) m++;
        if (m == 4) { /* a year range such as 2025-2026 */
            i += 8;
            continue;
        }
        size_t dd = 0;
        if (m == 2 && s[i + 7] == '-')
            while (isdigit((unsigned char)s[i + 8 + dd])) dd++;
        if (m != 2 || dd != 2)
            return fbi_xasprintf("'%.*s' is not a date in the form YYYY-MM-DD",
                                 (int)(5 + m + (dd ? dd + 1 : 0)), s + i);
        int mo = (s[i + 5] - '0') * 10 + (s[i + 6] - '0');
        int da = (s[i + 8] - '0') * 10 + (s[i + 9] - '0');
        if (y < 1990 || y > 2100 || mo < 1 || mo > 12 || da < 1 || da > days_in_month(y, mo))
            return fbi_xasprintf("'%.10s' is not a valid calendar date", s + i);
        has_date = 1;
        i += 9;
    }
    if (has_date || has_year) return NULL;
    if (strstr(s, "undated") || strstr(s, "current") || strstr(s, "derived")) return NULL;
    return fbi_xasprintf("as_of '%s' gives no date; use YYYY-MM-DD, a year, or say 'undated'", s);
}

/* ---- columns -------------------------------------------------------------------- */

/* A column: its header name, whether a file must have it, and the text
 * member of the row struct it fills (offsetof + 1; 0 for a column the
 * reader parses itself). */
typedef struct colspec {
    const char *name;
    int required;
    size_t member;
} colspec;
#define COL(name, required, type, member) {name, required, offsetof(type, member) + 1}
#define PARSED(name, required) {name, required, 0}
#define COLS_END {NULL, 0, 0}

/* Maps column names to indexes; a missing required column is an error. */
static int map_cols(const fbi_csv *c, const char *file, const colspec *spec, int *idx,
                    fb_diag *d)
{
    int ok = 1;
    for (size_t k = 0; spec[k].name; k++) {
        idx[k] = fbi_csv_col(c, spec[k].name);
        if (idx[k] < 0 && spec[k].required) {
            rowerrf(d, file, 1, "add the column to the header (see schemas/catalog.v1.schema.json)",
                    "missing column '%s'", spec[k].name);
            ok = 0;
        }
    }
    for (size_t k = 0; k < c->ncols; k++) {
        int known = 0;
        for (size_t s = 0; spec[s].name; s++)
            if (strcmp(spec[s].name, c->header[k]) == 0) known = 1;
        if (!known)
            rowwarnf(d, file, 1, "it is ignored", "unknown column '%s'", c->header[k]);
    }
    return ok;
}

static const char *field(const fbi_csv *c, size_t row, int col)
{
    return col < 0 ? "" : c->rows[row][col];
}

/* Points the text members of row (the struct spec's members are of) at
 * their cells of row i ("" for an absent optional column), and sets its
 * line. The cells stay owned by c. */
static void read_row(const fbi_csv *c, size_t i, const colspec *spec, const int *ix, void *row, int *line)
{
    for (size_t k = 0; spec[k].name; k++)
        if (spec[k].member) *(const char **)((char *)row + spec[k].member - 1) = field(c, i, ix[k]);
    *line = c->lines[i];
}

/* Parses a decimal (possibly negative) coordinate or number as double from
 * validated text; 0 on success. Latency and coordinates are not money. */
static int parse_double(const char *s, double *out)
{
    char *end;
    if (!*s || isspace((unsigned char)*s)) return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || errno || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

/* ---- sources ---------------------------------------------------------------------- */

enum { SRC_ID, SRC_KIND, SRC_ORIGIN, SRC_WHAT, SRC_DATE, SRC_LICENSE, SRC_N };
static const colspec source_cols[] = {
    COL("id", 1, fbi_source, id),       COL("kind", 1, fbi_source, kind), COL("origin", 1, fbi_source, origin),
    COL("what", 0, fbi_source, what),   COL("date", 0, fbi_source, date), COL("license", 0, fbi_source, license),
    COLS_END};

static void load_sources(fbi_catalog *cat, const char *file, fb_diag *d)
{
    const fbi_csv *c = cat->csv_sources;
    int ix[SRC_N];
    if (!map_cols(c, file, source_cols, ix, d)) return;
    cat->sources = fbi_xcalloc(c->nrows, sizeof *cat->sources);
    for (size_t i = 0; i < c->nrows; i++) {
        fbi_source *s = &cat->sources[cat->nsources];
        read_row(c, i, source_cols, ix, s, &s->line);
        int line = s->line;
        if (!*s->id || strchr(s->id, ';') || strchr(s->id, ' ')) {
            rowerr(d, file, line, "source id must be non-empty without ';' or spaces", NULL);
            continue;
        }
        if (!in_list(source_kinds, s->kind)) {
            rowerrf(d, file, line, "use price, latency, region or startup", "unknown source kind '%s'",
                    s->kind);
            continue;
        }
        size_t old;
        if (!fbi_smap_put(&cat->source_map, s->id, cat->nsources, &old)) {
            rowerrf(d, file, line, NULL, "duplicate key: source '%s' is already defined at line %d",
                    s->id, cat->sources[old].line);
            continue;
        }
        cat->nsources++;
    }
}

/* Checks a ';'-separated list of source ids. */
static void check_source_ids(const fbi_catalog *cat, const char *file, int line,
                             const char *ids, fb_diag *d)
{
    if (!cat->csv_sources) return; /* prices-only load */
    if (!*ids) {
        rowerr(d, file, line, "missing source", "every row names its source id from sources.csv");
        return;
    }
    const char *p = ids;
    while (*p) {
        const char *e = strchr(p, ';');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char *id = fbi_xstrndup(p, n);
        size_t v;
        if (!fbi_smap_get(&cat->source_map, id, &v))
            rowerrf(d, file, line, "add it to sources.csv or fix the id",
                    "unknown source '%s'", id);
        free(id);
        p += n;
        if (*p == ';') p++;
    }
}

/* ---- regions ------------------------------------------------------------------------ */

enum { RG_PROVIDER, RG_REGION, RG_KIND, RG_DISPLAY, RG_JUR, RG_COUNTRY, RG_CONT, RG_METRO,
       RG_LAT, RG_LON, RG_PREC, RG_GROUP, RG_PARENT, RG_SOURCE, RG_NOTES, RG_N };
static const colspec region_cols[] = {
    COL("provider", 1, fbi_region, provider),
    COL("region", 1, fbi_region, region),
    COL("kind", 1, fbi_region, kind),
    COL("display_name", 0, fbi_region, display_name),
    COL("jurisdiction", 1, fbi_region, jurisdiction),
    COL("country", 0, fbi_region, country),
    COL("continent", 1, fbi_region, continent),
    COL("metro", 1, fbi_region, metro),
    PARSED("lat", 1),
    PARSED("lon", 1),
    COL("location_precision", 0, fbi_region, location_precision),
    COL("price_group", 0, fbi_region, price_group),
    COL("parent", 0, fbi_region, parent),
    COL("source", 1, fbi_region, source),
    COL("notes", 0, fbi_region, notes),
    COLS_END};

static int parse_coords(const char *file, int line, const char *la, const char *lo,
                        double *lat, double *lon, fb_diag *d)
{
    if (!*la && !*lo) return 0;
    if (!*la || !*lo) {
        rowerr(d, file, line, "lat and lon must both be given or both be empty", NULL);
        return -1;
    }
    if (parse_double(la, lat) != 0 || *lat < -90 || *lat > 90) {
        rowerrf(d, file, line, "degrees north, -90..90", "bad latitude '%s'", la);
        return -1;
    }
    if (parse_double(lo, lon) != 0 || *lon < -180 || *lon > 180) {
        rowerrf(d, file, line, "degrees east, -180..180", "bad longitude '%s'", lo);
        return -1;
    }
    return 1;
}

static void load_regions(fbi_catalog *cat, const char *file, fb_diag *d)
{
    const fbi_csv *c = cat->csv_regions;
    int ix[RG_N];
    if (!map_cols(c, file, region_cols, ix, d)) return;
    cat->regions = fbi_xcalloc(c->nrows, sizeof *cat->regions);
    cat->region_keys = fbi_xcalloc(c->nrows, sizeof *cat->region_keys);
    for (size_t i = 0; i < c->nrows; i++) {
        fbi_region *r = &cat->regions[cat->nregions];
        memset(r, 0, sizeof *r);
        read_row(c, i, region_cols, ix, r, &r->line);
        int line = r->line;
        int bad = 0;
        if (!*r->provider || !*r->region || strchr(r->provider, ':')) {
            rowerr(d, file, line, "provider and region must be non-empty; provider without ':'",
                   NULL);
            continue;
        }
        if (!in_list(region_kinds, r->kind)) {
            char *l = list_join(region_kinds);
            rowerrf(d, file, line, l, "unknown region kind '%s'", r->kind);
            free(l);
            bad = 1;
        }
        /* regions, zones and probes are places; scopes, the local provider
         * (placed by configuration) and quantum backends need not be */
        int placed = strcmp(r->kind, "region") == 0 || strcmp(r->kind, "local-zone") == 0 ||
                     strcmp(r->kind, "probe") == 0;
        if (*r->continent && !in_list(continents, r->continent)) {
            char *l = list_join(continents);
            rowerrf(d, file, line, l, "unknown continent '%s'", r->continent);
            free(l);
            bad = 1;
        }
        if (placed && !*r->continent) {
            rowerr(d, file, line, "missing continent", "regions, zones and probes need one");
            bad = 1;
        }
        if (*r->location_precision && !in_list(precisions, r->location_precision)) {
            rowerrf(d, file, line, "use city, approximate or unknown",
                    "unknown location_precision '%s'", r->location_precision);
            bad = 1;
        }
        int hc = parse_coords(file, line, field(c, i, ix[RG_LAT]), field(c, i, ix[RG_LON]),
                              &r->lat, &r->lon, d);
        if (hc < 0) bad = 1;
        r->has_coords = hc > 0;
        if (placed && hc == 0 &&
            strcmp(r->location_precision, "unknown") != 0) {
            rowerr(d, file, line, "missing lat/lon",
                   "give the metro's coordinates, or set location_precision to unknown");
            bad = 1;
        }
        if (r->has_coords && !*r->metro && placed) {
            rowerr(d, file, line, "missing metro", "a located region names its metro");
            bad = 1;
        }
        check_source_ids(cat, file, line, r->source, d);
        char *key = fbi_xasprintf("%s:%s", r->provider, r->region);
        size_t old;
        if (!fbi_smap_put(&cat->region_map, key, cat->nregions, &old)) {
            rowerrf(d, file, line, NULL, "duplicate key: region '%s' is already defined at line %d",
                    key, cat->regions[old].line);
            free(key);
            continue;
        }
        (void)bad;
        cat->region_keys[cat->nregions] = key;
        r->key = key;
        cat->nregions++;
    }
    /* references between regions */
    for (size_t i = 0; i < cat->nregions; i++) {
        fbi_region *r = &cat->regions[i];
        if (*r->price_group) {
            const fbi_region *g = fbi_catalog_region2(cat, r->provider, r->price_group);
            if (!g || strcmp(g->kind, "scope") != 0)
                rowerrf(d, file, r->line, "add a row of kind scope for the group",
                        "price_group '%s' is not a scope region of provider '%s'",
                        r->price_group, r->provider);
        }
        if (*r->parent && !fbi_catalog_region2(cat, r->provider, r->parent))
            rowerrf(d, file, r->line, NULL, "dangling region: parent '%s:%s' is not in regions.csv",
                    r->provider, r->parent);
    }
}

/* ---- locations -------------------------------------------------------------------- */

enum { LC_NAME, LC_DISPLAY, LC_METRO, LC_COUNTRY, LC_JUR, LC_CONT, LC_LAT, LC_LON, LC_SOURCE,
       LC_NOTES, LC_N };
static const colspec location_cols[] = {
    COL("location", 1, fbi_location, name),
    COL("display_name", 0, fbi_location, display_name),
    COL("metro", 1, fbi_location, metro),
    COL("country", 1, fbi_location, country),
    COL("jurisdiction", 1, fbi_location, jurisdiction),
    COL("continent", 1, fbi_location, continent),
    PARSED("lat", 1),
    PARSED("lon", 1),
    COL("source", 1, fbi_location, source),
    COL("notes", 0, fbi_location, notes),
    COLS_END};

static void load_locations(fbi_catalog *cat, const char *file, fb_diag *d)
{
    const fbi_csv *c = cat->csv_locations;
    int ix[LC_N];
    if (!map_cols(c, file, location_cols, ix, d)) return;
    cat->locations = fbi_xcalloc(c->nrows, sizeof *cat->locations);
    for (size_t i = 0; i < c->nrows; i++) {
        fbi_location *l = &cat->locations[cat->nlocations];
        read_row(c, i, location_cols, ix, l, &l->line);
        int line = l->line;
        if (!*l->name || !*l->metro || !*l->jurisdiction) {
            rowerr(d, file, line, "location, metro and jurisdiction must be non-empty", NULL);
            continue;
        }
        if (!in_list(continents, l->continent)) {
            char *s = list_join(continents);
            rowerrf(d, file, line, s, "unknown continent '%s'", l->continent);
            free(s);
            continue;
        }
        int hc = parse_coords(file, line, field(c, i, ix[LC_LAT]), field(c, i, ix[LC_LON]),
                              &l->lat, &l->lon, d);
        if (hc == 0) rowerr(d, file, line, "missing lat/lon", "a user location needs coordinates");
        if (hc <= 0) continue;
        check_source_ids(cat, file, line, l->source, d);
        size_t old;
        if (!fbi_smap_put(&cat->location_map, l->name, cat->nlocations, &old)) {
            rowerrf(d, file, line, NULL, "duplicate key: location '%s' is already defined at line %d",
                    l->name, cat->locations[old].line);
            continue;
        }
        cat->nlocations++;
    }
}

/* ---- params ------------------------------------------------------------------------- */

static double *param_slot(fbi_catalog *cat, const char *name)
{
    if (strcmp(name, "same_metro_gap_ms") == 0) return &cat->same_metro_gap_ms;
    if (strcmp(name, "last_mile_ms") == 0) return &cat->last_mile_ms;
    if (strcmp(name, "route_factor") == 0) return &cat->route_factor;
    if (strcmp(name, "fibre_km_per_s") == 0) return &cat->fibre_km_per_s;
    if (strcmp(name, "estimate_overhead_ms") == 0) return &cat->estimate_overhead_ms;
    return NULL;
}

static void params_default(fbi_catalog *cat)
{
    cat->same_metro_gap_ms = 2;
    cat->last_mile_ms = 10;
    cat->route_factor = 1.5;
    cat->fibre_km_per_s = 200000;
    cat->estimate_overhead_ms = 5;
}

/* Validates and stores one parameter; 0 or -1 with a diagnostic. */
static int set_param(fbi_catalog *cat, const char *file, int line, const char *name,
                     const char *value, fb_diag *d)
{
    if (strcmp(name, "local_metro") == 0) {
        free(cat->local_metro);
        cat->local_metro = *value ? fbi_xstrdup(value) : NULL;
        return 0;
    }
    double *slot = param_slot(cat, name);
    if (!slot) {
        rowerrf(d, file, line, "known: same_metro_gap_ms, last_mile_ms, route_factor, "
                "fibre_km_per_s, estimate_overhead_ms, local_metro", "unknown parameter '%s'", name);
        return -1;
    }
    int64_t v;
    char *err = NULL;
    if (fbi_cat_decimal_parse(value, 6, &v, &err) != 0) {
        rowerrf(d, file, line, err, "bad value for parameter '%s'", name);
        free(err);
        return -1;
    }
    double x = (double)v / 1e6;
    if ((strcmp(name, "route_factor") == 0 && x < 1) ||
        (strcmp(name, "fibre_km_per_s") == 0 && x <= 0)) {
        rowerrf(d, file, line, "route_factor >= 1, fibre_km_per_s > 0",
                "parameter '%s' out of range: %s", name, value);
        return -1;
    }
    *slot = x;
    return 0;
}

static void load_params(fbi_catalog *cat, const char *file, fb_diag *d)
{
    const fbi_csv *c = cat->csv_params;
    static const colspec cols[] = {PARSED("name", 1), PARSED("value", 1), PARSED("unit", 0),
                                   PARSED("description", 0), COLS_END};
    int ix[4];
    if (!map_cols(c, file, cols, ix, d)) return;
    fbi_smap seen = {0};
    for (size_t i = 0; i < c->nrows; i++) {
        const char *name = field(c, i, ix[0]);
        size_t old;
        if (!fbi_smap_put(&seen, name, (size_t)c->lines[i], &old)) {
            rowerrf(d, file, c->lines[i], NULL,
                    "duplicate key: parameter '%s' is already set at line %zu", name, old);
            continue;
        }
        set_param(cat, file, c->lines[i], name, field(c, i, ix[1]), d);
    }
    fbi_smap_free(&seen);
}

/* ---- startup times ------------------------------------------------------------------- */

static const char *const startup_metrics[] = {"container_start", "cold_start", NULL};
static const char *const startup_confidence[] = {"high", "medium", "low", "assumption", NULL};

static void load_startup(fbi_catalog *cat, const char *file, fb_diag *d)
{
    const fbi_csv *c = cat->csv_startup;
    static const colspec cols[] = {COL("provider", 1, fbi_startup_row, provider),
                                   COL("service", 1, fbi_startup_row, service),
                                   COL("metric", 1, fbi_startup_row, metric),
                                   PARSED("value_ms", 1),
                                   COL("source", 1, fbi_startup_row, source),
                                   COL("as_of", 1, fbi_startup_row, as_of),
                                   COL("confidence", 1, fbi_startup_row, confidence),
                                   COL("notes", 0, fbi_startup_row, notes),
                                   COLS_END};
    int ix[8];
    if (!map_cols(c, file, cols, ix, d)) return;
    cat->startup = fbi_xcalloc(c->nrows ? c->nrows : 1, sizeof *cat->startup);
    fbi_smap seen = {0}; /* borrows its keys: they live in keys until the end */
    char **keys = fbi_xcalloc(c->nrows ? c->nrows : 1, sizeof *keys);
    for (size_t i = 0; i < c->nrows; i++) {
        fbi_startup_row *r = &cat->startup[cat->nstartup];
        read_row(c, i, cols, ix, r, &r->line);
        int line = r->line;
        int bad = 0;
        if (!*r->provider || !*r->service) {
            rowerrf(d, file, line, "give a provider and service, or * for the fallback row",
                    "empty provider or service");
            bad = 1;
        }
        if (!in_list(startup_metrics, r->metric)) {
            rowerrf(d, file, line, "use container_start or cold_start", "unknown metric '%s'",
                    r->metric);
            bad = 1;
        }
        const char *v = field(c, i, ix[3]);
        char *end = NULL;
        errno = 0;
        long long ms = strtoll(v, &end, 10);
        if (!*v || *end || errno || ms < 0 || ms > 3600000) {
            rowerrf(d, file, line, "whole milliseconds from 0 to 3600000", "bad value_ms '%s'", v);
            bad = 1;
        }
        r->value_ms = ms;
        if (cat->csv_sources && !fbi_catalog_source(cat, r->source)) {
            rowerrf(d, file, line, "add it to sources.csv or fix the id", "unknown source '%s'",
                    r->source);
            bad = 1;
        }
        char *why = check_as_of(r->as_of);
        if (why) {
            rowerrf(d, file, line, NULL, "%s", why);
            free(why);
            bad = 1;
        }
        if (!in_list(startup_confidence, r->confidence)) {
            rowerrf(d, file, line, "use high, medium, low or assumption",
                    "unknown confidence '%s'", r->confidence);
            bad = 1;
        }
        char *key = keys[i] = fbi_xasprintf("%s/%s/%s", r->provider, r->service, r->metric);
        size_t old;
        if (!fbi_smap_put(&seen, key, (size_t)line, &old)) {
            rowerrf(d, file, line, NULL, "duplicate key: %s is already defined at line %zu", key,
                    old);
            bad = 1;
        }
        if (!bad) cat->nstartup++;
    }
    fbi_smap_free(&seen);
    for (size_t i = 0; i < c->nrows; i++) free(keys[i]);
    free(keys);
}

const fbi_startup_row *fbi_catalog_startup(const fbi_catalog *cat, const char *provider,
                                           const char *service, const char *metric)
{
    const fbi_startup_row *any = NULL;
    for (size_t i = 0; i < cat->nstartup; i++) {
        const fbi_startup_row *r = &cat->startup[i];
        if (strcmp(r->metric, metric) != 0) continue;
        if (provider && service && !strcmp(r->provider, provider) && !strcmp(r->service, service))
            return r;
        if (!strcmp(r->provider, "*") && !strcmp(r->service, "*")) any = r;
    }
    return any;
}

/* ---- prices -------------------------------------------------------------------------- */

enum { PR_PROVIDER, PR_SERVICE, PR_REGION, PR_METRIC, PR_VARIANT, PR_UNIT, PR_TSTART, PR_TEND,
       PR_PRICE, PR_MODEL, PR_SOURCE, PR_ASOF, PR_CONF, PR_NOTES, PR_SKU, PR_VSKU, PR_CUR,
       PR_ALT, PR_PATH, PR_N };
static const colspec price_cols[] = {
    COL("provider", 1, fbi_price_row, provider),
    COL("service", 1, fbi_price_row, service),
    COL("region", 1, fbi_price_row, region),
    COL("sku_metric", 1, fbi_price_row, metric),
    COL("variant", 1, fbi_price_row, variant),
    COL("unit", 1, fbi_price_row, unit),
    COL("tier_start", 1, fbi_price_row, tier_start_text),
    COL("tier_end", 1, fbi_price_row, tier_end_text),
    COL("usd_per_unit", 1, fbi_price_row, usd_per_unit_text),
    COL("pricing_model", 1, fbi_price_row, pricing_model),
    COL("source", 1, fbi_price_row, source),
    COL("as_of", 1, fbi_price_row, as_of),
    PARSED("confidence", 1),
    COL("notes", 0, fbi_price_row, notes),
    COL("sku", 0, fbi_price_row, sku),
    COL("vendor_sku", 0, fbi_price_row, vendor_sku),
    COL("currency", 0, fbi_price_row, currency),
    COL("alternate_of", 0, fbi_price_row, alternate_of),
    COL("egress_path", 0, fbi_price_row, egress_path),
    COLS_END};

static void slug_append(fbi_buf *b, const char *s)
{
    size_t start = b->len;
    int dash = 0;
    for (const char *p = s; *p; p++) {
        unsigned char ch = (unsigned char)tolower((unsigned char)*p);
        if (isalnum(ch) || ch == '.' || ch == '_' || ch == '+') {
            if (dash && b->len > start) fbi_buf_putc(b, '-');
            dash = 0;
            fbi_buf_putc(b, (char)ch);
        } else {
            dash = 1;
        }
    }
    if (b->len == start) fbi_buf_putc(b, '-');
}

char *fbi_price_derive_sku(const fbi_price_row *r)
{
    fbi_buf b;
    fbi_buf_init(&b);
    const char *parts[] = {r->provider, r->service, r->region, r->metric, r->variant};
    for (size_t i = 0; i < 5; i++) {
        if (i) fbi_buf_putc(&b, '/');
        slug_append(&b, parts[i]);
    }
    if (strcmp(r->pricing_model, "on-demand") != 0) {
        fbi_buf_putc(&b, '/');
        slug_append(&b, r->pricing_model);
    }
    if (r->tiered) {
        char t[32];
        fbi_qty_format(r->tier_start, t);
        fbi_buf_printf(&b, "/t%s", t);
    }
    if (*r->alternate_of) {
        fbi_buf_putc(&b, '~');
        for (const char *p = r->source; *p; p++) fbi_buf_putc(&b, *p == ';' ? '+' : *p);
    }
    return fbi_buf_steal(&b);
}

/* The sku without its tier and alternate parts: the product group key. */
static char *group_key(const fbi_price_row *r)
{
    fbi_price_row t = *r;
    t.tiered = 0;
    t.alternate_of = "";
    return fbi_price_derive_sku(&t);
}

const char *fbi_catalog_own(fbi_catalog *cat, char *s)
{
    cat->owned_strings = fbi_xrealloc(cat->owned_strings,
                                      (cat->nowned + 1) * sizeof *cat->owned_strings);
    cat->owned_strings[cat->nowned++] = s;
    return s;
}

static int parse_row(fbi_catalog *cat, const fbi_csv *c, size_t i, const int *ix,
                     const char *file, fbi_price_row *p, fb_diag *d)
{
    int ok = 1;
    char *err = NULL;
    memset(p, 0, sizeof *p);
    read_row(c, i, price_cols, ix, p, &p->line);
    int line = p->line;
    p->tier_end = FBI_QTY_INF;
    const char *need[] = {p->provider, p->service, p->region, p->metric};
    const char *needn[] = {"provider", "service", "region", "sku_metric"};
    for (size_t k = 0; k < 4; k++)
        if (!*need[k]) {
            rowerrf(d, file, line, NULL, "missing %s", needn[k]);
            ok = 0;
        }
    if (!*p->unit) {
        rowerr(d, file, line, "missing unit", NULL);
        ok = 0;
    } else if (!in_list(units, p->unit)) {
        char *l = list_join(units);
        rowerrf(d, file, line, l, "unknown unit '%s'", p->unit);
        free(l);
        ok = 0;
    }
    if (!*p->usd_per_unit_text) {
        rowerr(d, file, line, "missing price (usd_per_unit is empty)",
               "every row needs a price; write 0 for a free allowance");
        ok = 0;
    } else if (fbi_money_parse(p->usd_per_unit_text, &p->usd_per_unit, &err) != 0) {
        rowerrf(d, file, line, err, "bad price '%s'", p->usd_per_unit_text);
        free(err);
        err = NULL;
        ok = 0;
    }
    int hs = *p->tier_start_text != 0, he = *p->tier_end_text != 0;
    if (hs != he) {
        rowerr(d, file, line, "tier_start and tier_end must both be given or both be empty",
               "use 'inf' for an open-ended last tier");
        ok = 0;
    } else if (hs) {
        p->tiered = 1;
        if (strcmp(p->tier_start_text, "inf") == 0 ||
            fbi_qty_parse(p->tier_start_text, &p->tier_start, &err) != 0) {
            rowerrf(d, file, line, err ? err : "the first tier starts at 0",
                    "bad tier_start '%s'", p->tier_start_text);
            free(err);
            err = NULL;
            ok = 0;
        } else if (fbi_qty_parse(p->tier_end_text, &p->tier_end, &err) != 0) {
            rowerrf(d, file, line, err, "bad tier_end '%s'", p->tier_end_text);
            free(err);
            err = NULL;
            ok = 0;
        } else if (p->tier_end <= p->tier_start) {
            rowerrf(d, file, line, NULL, "empty tier: tier_end %s is not above tier_start %s",
                    p->tier_end_text, p->tier_start_text);
            ok = 0;
        }
    }
    if (!in_list(pricing_models, p->pricing_model)) {
        char *l = list_join(pricing_models);
        rowerrf(d, file, line, l, "unknown pricing_model '%s'", p->pricing_model);
        free(l);
        ok = 0;
    }
    int conf = -1;
    for (int k = 0; confidences[k]; k++)
        if (strcmp(confidences[k], field(c, i, ix[PR_CONF])) == 0) conf = k;
    if (conf < 0) {
        rowerrf(d, file, line, "use high, medium, low or assumption",
                "unknown confidence '%s'", field(c, i, ix[PR_CONF]));
        ok = 0;
    } else {
        p->confidence = (fbi_confidence)conf;
    }
    char *bad = check_as_of(p->as_of);
    if (bad) {
        rowerr(d, file, line, "bad date in as_of", bad);
        free(bad);
        ok = 0;
    }
    if (!*p->currency) {
        p->currency = "USD";
    } else if (strcmp(p->currency, "USD") != 0) {
        rowerrf(d, file, line, "fedbroker adds prices in USD only; convert the row",
                "unsupported currency '%s'", p->currency);
        ok = 0;
    }
    check_source_ids(cat, file, line, p->source, d);
    if (!*p->source && !cat->csv_sources) {
        rowerr(d, file, line, "missing source", NULL);
        ok = 0;
    }
    int is_egress = in_list(egress_metrics, p->metric);
    if (*p->egress_path) {
        fbi_egress_path ep = {0};
        if (fbi_egress_path_parse(p->egress_path, p->provider, &ep, &err) != 0) {
            rowerrf(d, file, line, err, "bad egress_path '%s'", p->egress_path);
            free(err);
            err = NULL;
            ok = 0;
        }
        fbi_egress_path_free(&ep);
    } else if (is_egress && ix[PR_PATH] >= 0 && *p->alternate_of == '\0') {
        rowerrf(d, file, line, "say which traffic it prices, e.g. 'self>*' (see catalog/README.md)",
                "egress row (%s) without an egress_path", p->metric);
        ok = 0;
    }
    if (ok && p->provider[0]) {
        char *sku = fbi_price_derive_sku(p);
        if (*p->sku && strcmp(p->sku, sku) != 0) {
            rowerrf(d, file, line, "leave sku empty to have it derived, or fix the other columns",
                    "sku '%s' does not match the id derived from the row, '%s'", p->sku, sku);
            free(sku);
            ok = 0;
        } else if (!*p->sku) {
            p->sku = fbi_catalog_own(cat, sku);
        } else {
            free(sku);
        }
    }
    return ok;
}

/* Orders a product's rows by tier_start (then line); groups are a few rows,
 * so an insertion sort without global state is enough. */
static void sort_tiers(const fbi_price_row *rows, size_t *idx, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        size_t v = idx[i], j = i;
        while (j > 0) {
            const fbi_price_row *x = &rows[idx[j - 1]], *y = &rows[v];
            if (x->tier_start < y->tier_start ||
                (x->tier_start == y->tier_start && x->line <= y->line))
                break;
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = v;
    }
}

/* Groups primary rows into products and checks their tiers. */
static void build_groups(fbi_catalog *cat, const char *file, fb_diag *d)
{
    fbi_smap gm = {0};
    char **keys = fbi_xcalloc(cat->nprices ? cat->nprices : 1, sizeof *keys);
    cat->group_of = fbi_xcalloc(cat->nprices ? cat->nprices : 1, sizeof *cat->group_of);
    cat->groups = fbi_xcalloc(cat->nprices ? cat->nprices : 1, sizeof *cat->groups);
    for (size_t i = 0; i < cat->nprices; i++) {
        const fbi_price_row *r = &cat->prices[i];
        cat->group_of[i] = SIZE_MAX;
        if (*r->alternate_of) continue;
        keys[i] = group_key(r);
        size_t g;
        if (!fbi_smap_get(&gm, keys[i], &g)) {
            g = cat->ngroups++;
            fbi_smap_put(&gm, keys[i], g, NULL);
            cat->groups[g].key = fbi_xstrdup(keys[i]);
        }
        fbi_price_group *grp = &cat->groups[g];
        grp->rows = fbi_xrealloc(grp->rows, (grp->n + 1) * sizeof *grp->rows);
        grp->rows[grp->n++] = i;
        cat->group_of[i] = g;
    }
    for (size_t g = 0; g < cat->ngroups; g++) {
        fbi_price_group *grp = &cat->groups[g];
        sort_tiers(cat->prices, grp->rows, grp->n);
        const fbi_price_row *first = &cat->prices[grp->rows[0]];
        for (size_t k = 1; k < grp->n; k++) {
            const fbi_price_row *prev = &cat->prices[grp->rows[k - 1]];
            const fbi_price_row *cur = &cat->prices[grp->rows[k]];
            if (prev->tiered != cur->tiered) {
                rowerrf(d, file, cur->line, "give every row of a product tiers, or none",
                        "tiered and untiered rows mixed for %s (other row at line %d)",
                        grp->key, prev->line);
                continue;
            }
            if (strcmp(prev->unit, cur->unit) != 0 || strcmp(prev->egress_path, cur->egress_path) != 0)
                rowerrf(d, file, cur->line, NULL,
                        "tiers of %s disagree on unit or egress_path with line %d", grp->key,
                        prev->line);
            if (prev->tier_end == FBI_QTY_INF || prev->tier_end > cur->tier_start)
                rowerrf(d, file, cur->line, "tiers are [tier_start, tier_end) and must not overlap",
                        "overlapping tiers for %s: this tier starts at %s but the tier at "
                        "line %d ends at %s", grp->key, cur->tier_start_text, prev->line,
                        prev->tier_end_text);
            else if (prev->tier_end < cur->tier_start)
                rowerrf(d, file, cur->line, "the next tier starts where the previous one ends",
                        "gap between tiers for %s: the tier at line %d ends at %s but this one "
                        "starts at %s", grp->key, prev->line, prev->tier_end_text,
                        cur->tier_start_text);
            else if (cur->usd_per_unit > prev->usd_per_unit &&
                     strcmp(cur->pricing_model, "free-tier") != 0)
                rowwarnf(d, file, cur->line, "volume tiers usually get cheaper; check the source",
                         "price rises from tier %s to tier %s for %s", prev->tier_start_text,
                         cur->tier_start_text, grp->key);
        }
        if (first->tiered && first->tier_start != 0)
            rowerrf(d, file, first->line, "the first tier of a product starts at 0",
                    "first tier of %s starts at %s", grp->key, first->tier_start_text);
    }
    for (size_t i = 0; i < cat->nprices; i++) free(keys[i]);
    free(keys);
    fbi_smap_free(&gm);
}

static void load_prices(fbi_catalog *cat, const char *file, fb_diag *d)
{
    const fbi_csv *c = cat->csv_prices;
    int ix[PR_N];
    if (!map_cols(c, file, price_cols, ix, d)) return;
    cat->prices = fbi_xcalloc(c->nrows ? c->nrows : 1, sizeof *cat->prices);
    cat->paths = fbi_xcalloc(c->nrows ? c->nrows : 1, sizeof *cat->paths);
    for (size_t i = 0; i < c->nrows; i++) {
        fbi_price_row *p = &cat->prices[cat->nprices];
        if (!parse_row(cat, c, i, ix, file, p, d)) continue;
        size_t old;
        if (!fbi_smap_put(&cat->sku_map, p->sku, cat->nprices, &old)) {
            rowerrf(d, file, p->line, "a product, region, metric, variant, pricing model and "
                    "tier appear once; mark a row restating another source's price with "
                    "alternate_of", "duplicate key: sku '%s' is already defined at line %d",
                    p->sku, cat->prices[old].line);
            continue;
        }
        if (*p->egress_path) {
            char *err = NULL;
            fbi_egress_path_parse(p->egress_path, p->provider, &cat->paths[cat->nprices], &err);
            free(err);
        }
        cat->nprices++;
    }
    /* alternates point at primary rows; regions exist */
    for (size_t i = 0; i < cat->nprices; i++) {
        const fbi_price_row *p = &cat->prices[i];
        if (*p->alternate_of) {
            const fbi_price_row *prim = fbi_catalog_price_by_sku(cat, p->alternate_of);
            if (!prim || *prim->alternate_of)
                rowerrf(d, file, p->line, "alternate_of names the sku of a primary row",
                        "dangling alternate_of: '%s' is not a primary row's sku", p->alternate_of);
            else if (prim->usd_per_unit != p->usd_per_unit || strcmp(prim->unit, p->unit) != 0)
                rowwarnf(d, file, p->line, "the primary row's price is the one used",
                         "alternate row disagrees with its primary %s (line %d): %s vs %s per %s",
                         prim->sku, prim->line, p->usd_per_unit_text, prim->usd_per_unit_text,
                         prim->unit);
        }
        if (cat->csv_regions) {
            if (!fbi_catalog_region2(cat, p->provider, p->region))
                rowerrf(d, file, p->line, "add the region to regions.csv or fix the name",
                        "dangling region: '%s:%s' is not in regions.csv", p->provider, p->region);
            const fbi_egress_path *ep = &cat->paths[i];
            for (size_t a = 0; a < ep->n; a++)
                for (int s = 0; s < 2; s++) {
                    const fbi_ep_side *side = s ? &ep->alts[a].dst : &ep->alts[a].src;
                    for (size_t t = 0; t < side->n; t++)
                        if (side->terms[t].type == FBI_EP_REGION &&
                            !fbi_catalog_region(cat, side->terms[t].arg))
                            rowerrf(d, file, p->line, NULL,
                                    "dangling region: egress_path names '%s', which is not in "
                                    "regions.csv", side->terms[t].arg);
                }
            if (ep->n && strstr(p->egress_path, "self")) {
                const fbi_region *rg = fbi_catalog_region2(cat, p->provider, p->region);
                if (rg && strcmp(rg->kind, "scope") == 0)
                    rowerrf(d, file, p->line, "'self' is the row's region; a scope is not one",
                            "egress_path uses 'self' on a scope row (%s)", p->region);
            }
        }
    }
    build_groups(cat, file, d);
}

/* ---- latency --------------------------------------------------------------------------- */

enum { LT_FROM, LT_TO, LT_RTT, LT_STAT, LT_SOURCE, LT_ASOF, LT_SID, LT_N };
static const colspec latency_cols[] = {
    COL("from", 1, fbi_latency_row, from),           COL("to", 1, fbi_latency_row, to),
    COL("rtt_ms", 1, fbi_latency_row, rtt_text),     COL("statistic", 1, fbi_latency_row, statistic),
    COL("source", 1, fbi_latency_row, source),       COL("as_of", 1, fbi_latency_row, as_of),
    COL("source_id", 1, fbi_latency_row, source_id), COLS_END};

static void load_latency(fbi_catalog *cat, const char *file, fb_diag *d)
{
    const fbi_csv *c = cat->csv_latency;
    int ix[LT_N];
    if (!map_cols(c, file, latency_cols, ix, d)) return;
    cat->latency = fbi_xcalloc(c->nrows ? c->nrows : 1, sizeof *cat->latency);
    cat->latency_keys = fbi_xcalloc(c->nrows ? c->nrows : 1, sizeof *cat->latency_keys);
    for (size_t i = 0; i < c->nrows; i++) {
        fbi_latency_row *l = &cat->latency[cat->nlatency];
        int ok = 1;
        read_row(c, i, latency_cols, ix, l, &l->line);
        int line = l->line;
        const char *ends[] = {l->from, l->to};
        for (int k = 0; k < 2; k++)
            if (!fbi_catalog_region(cat, ends[k])) {
                rowerrf(d, file, line, "latency endpoints are provider:region keys from regions.csv",
                        "dangling region: '%s' is not in regions.csv", ends[k]);
                ok = 0;
            }
        int64_t v;
        char *err = NULL;
        if (!*l->rtt_text) {
            rowerr(d, file, line, "missing rtt_ms", NULL);
            ok = 0;
        } else if (fbi_cat_decimal_parse(l->rtt_text, 3, &v, &err) != 0) {
            rowerrf(d, file, line, err, "bad rtt_ms '%s'", l->rtt_text);
            free(err);
            ok = 0;
        } else {
            l->rtt_ms = (double)v / 1000.0;
        }
        if (!*l->statistic) {
            rowerr(d, file, line, "missing statistic", "say what the number is (p50, mean, ...)");
            ok = 0;
        }
        char *bad = check_as_of(l->as_of);
        if (bad) {
            rowerr(d, file, line, "bad date in as_of", bad);
            free(bad);
            ok = 0;
        }
        check_source_ids(cat, file, line, l->source_id, d);
        if (!ok) continue;
        char *key = fbi_xasprintf("%s\x1f%s", l->from, l->to);
        size_t old;
        if (!fbi_smap_put(&cat->latency_map, key, cat->nlatency, &old)) {
            rowerrf(d, file, line, NULL, "duplicate key: RTT %s -> %s is already given at line %d",
                    l->from, l->to, cat->latency[old].line);
            free(key);
            continue;
        }
        cat->latency_keys[cat->nlatency++] = key;
    }
}

/* ---- metro index --------------------------------------------------------------------- */

/* Endpoints ordered by metro then key (insertion sort: ~100 regions). */
static int metro_before(const fbi_region *x, const fbi_region *y)
{
    int c = strcmp(x->metro, y->metro);
    return c < 0 || (c == 0 && strcmp(x->key, y->key) < 0);
}

void fbi_catalog_index_metros(fbi_catalog *cat)
{
    free(cat->metro_regions);
    cat->metro_regions = fbi_xcalloc(cat->nregions ? cat->nregions : 1, sizeof(size_t));
    cat->nmetro_regions = 0;
    for (size_t i = 0; i < cat->nregions; i++)
        if (*cat->regions[i].metro && strcmp(cat->regions[i].kind, "scope") != 0)
            cat->metro_regions[cat->nmetro_regions++] = i;
    size_t *a = cat->metro_regions;
    for (size_t i = 1; i < cat->nmetro_regions; i++) {
        size_t v = a[i], j = i;
        while (j > 0 && metro_before(&cat->regions[v], &cat->regions[a[j - 1]])) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = v;
    }
}

/* ---- loading --------------------------------------------------------------------------- */

typedef struct cat_file {
    const char *name;
    int required;
    const char *data;
    size_t len;
    char *owned;
    char *display;
} cat_file;

enum { F_SOURCES, F_REGIONS, F_LOCATIONS, F_PARAMS, F_PRICES, F_LATENCY, F_STARTUP, F_N };
static const char *const file_names[F_N] = {
    "sources.csv", "regions.csv", "locations.csv", "params.csv", "prices.csv", "latency_ms.csv",
    "startup.csv"};

static fbi_catalog *cat_new(const char *origin)
{
    fbi_catalog *cat = fbi_xcalloc(1, sizeof *cat);
    cat->origin = fbi_xstrdup(origin);
    params_default(cat);
    return cat;
}

/* Reads one catalog file within the per-file limit and what is left of the
 * total (*left, decremented). new, or NULL with *err (new). */
static char *read_catalog_file(const char *path, size_t *left, size_t *len, char **err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        *err = fbi_xasprintf("%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        *err = fbi_xasprintf("%s: not a regular file", path);
        return NULL;
    }
    if ((uint64_t)st.st_size > CAT_MAX_FILE) {
        *err = fbi_xasprintf("%s: %llu bytes; a catalog file is at most %u bytes (16 MiB; the "
                             "built-in prices.csv is 84 KB), a catalog 32 MiB in all", path,
                             (unsigned long long)st.st_size, CAT_MAX_FILE);
        return NULL;
    }
    if ((uint64_t)st.st_size > *left) {
        *err = fbi_xasprintf("%s: with this file's %llu bytes the catalog passes %u bytes (32 MiB), "
                             "the most a catalog may hold in all", path,
                             (unsigned long long)st.st_size, CAT_MAX_TOTAL);
        return NULL;
    }
    char *data = fbi_read_file(path, *left < CAT_MAX_FILE ? *left : CAT_MAX_FILE, len, err);
    if (data) *left -= *len;
    return data;
}

/* Parses and validates the files that are present (prices-only when only
 * prices.csv is given). */
static fb_status load_files(fbi_catalog *cat, cat_file *f, fb_diag *diag)
{
    fb_diag *d = fb_diag_new();
    fbi_csv **slots[F_N] = {&cat->csv_sources, &cat->csv_regions, &cat->csv_locations,
                            &cat->csv_params, &cat->csv_prices, &cat->csv_latency,
                            &cat->csv_startup};
    for (int k = 0; k < F_N; k++) {
        if (!f[k].data) continue;
        fbi_csv_parse(f[k].data, f[k].len, f[k].display, slots[k], d);
    }
    if (cat->csv_sources) load_sources(cat, f[F_SOURCES].display, d);
    if (cat->csv_regions) load_regions(cat, f[F_REGIONS].display, d);
    if (cat->csv_locations) load_locations(cat, f[F_LOCATIONS].display, d);
    if (cat->csv_params) load_params(cat, f[F_PARAMS].display, d);
    if (cat->csv_prices) load_prices(cat, f[F_PRICES].display, d);
    if (cat->csv_latency) load_latency(cat, f[F_LATENCY].display, d);
    if (cat->csv_startup) load_startup(cat, f[F_STARTUP].display, d);
    fbi_catalog_index_metros(cat);
    if (cat->local_metro && cat->csv_regions) {
        char *m = fbi_xstrdup(cat->local_metro);
        fbi_catalog_set_local_metro(cat, m, d);
        free(m);
    }
    fb_status st = fb_diag_errors(d) ? FB_INVALID : FB_OK;
    fb_diag_move(diag, d);
    fb_diag_free(d);
    return st;
}

static void files_free(cat_file *f)
{
    for (int k = 0; k < F_N; k++) {
        free(f[k].owned);
        free(f[k].display);
    }
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

fb_status fbi_catalog_load_dir(const char *dir, fbi_catalog **out, fb_diag *diag)
{
    cat_file f[F_N];
    memset(f, 0, sizeof f);
    *out = NULL;
    if (!is_dir(dir)) {
        fb_diag_add(diag, FB_SEV_ERROR, dir, 0, 0, NULL, "catalog directory not found",
                    "give a directory holding prices.csv, regions.csv, locations.csv, "
                    "latency_ms.csv and sources.csv (see catalog/README.md)");
        return FB_INVALID;
    }
    int missing = 0;
    size_t left = CAT_MAX_TOTAL;
    for (int k = 0; k < F_N; k++) {
        f[k].name = file_names[k];
        f[k].required = k != F_PARAMS && k != F_STARTUP;
        f[k].display = fbi_xasprintf("%s/%s", dir, file_names[k]);
        char *err = NULL;
        size_t len;
        char *data = read_catalog_file(f[k].display, &left, &len, &err);
        if (!data) {
            if (f[k].required || access(f[k].display, F_OK) == 0) {
                fb_diag_add(diag, FB_SEV_ERROR, f[k].display, 0, 0, NULL,
                            "cannot read catalog file", err);
                missing = 1;
            }
            free(err);
            continue;
        }
        f[k].owned = data;
        f[k].data = data;
        f[k].len = len;
    }
    if (missing) {
        files_free(f);
        return FB_INVALID;
    }
    fbi_catalog *cat = cat_new(dir);
    fb_status st = load_files(cat, f, diag);
    files_free(f);
    if (st != FB_OK) {
        fbi_catalog_free(cat);
        return st;
    }
    *out = cat;
    return FB_OK;
}

fb_status fbi_catalog_load_embedded(fbi_catalog **out, fb_diag *diag)
{
    cat_file f[F_N];
    memset(f, 0, sizeof f);
    *out = NULL;
    for (int k = 0; k < F_N; k++) {
        f[k].name = file_names[k];
        f[k].display = fbi_xasprintf("<embedded>/%s", file_names[k]);
        for (const fbi_embedded_file *e = fbi_catalog_embedded; e->name; e++)
            if (strcmp(e->name, file_names[k]) == 0) {
                f[k].data = (const char *)e->data;
                f[k].len = e->len;
            }
        if (!f[k].data && k != F_PARAMS && k != F_STARTUP) {
            fb_diag_add(diag, FB_SEV_ERROR, f[k].display, 0, 0, NULL,
                        "file missing from the embedded catalog", "rebuild fedbroker");
            files_free(f);
            return FB_INTERNAL;
        }
    }
    fbi_catalog *cat = cat_new("embedded");
    fb_status st = load_files(cat, f, diag);
    files_free(f);
    if (st != FB_OK) {
        fbi_catalog_free(cat);
        return st;
    }
    *out = cat;
    return FB_OK;
}

fb_status fbi_catalog_load_prices(const char *path, fbi_catalog **out, fb_diag *diag)
{
    cat_file f[F_N];
    memset(f, 0, sizeof f);
    *out = NULL;
    f[F_PRICES].display = is_dir(path) ? fbi_xasprintf("%s/prices.csv", path) : fbi_xstrdup(path);
    char *err = NULL;
    size_t len;
    size_t left = CAT_MAX_TOTAL;
    char *data = read_catalog_file(f[F_PRICES].display, &left, &len, &err);
    if (!data) {
        fb_diag_add(diag, FB_SEV_ERROR, f[F_PRICES].display, 0, 0, NULL,
                    "cannot read prices file", err);
        free(err);
        files_free(f);
        return FB_INVALID;
    }
    f[F_PRICES].owned = data;
    f[F_PRICES].data = data;
    f[F_PRICES].len = len;
    fbi_catalog *cat = cat_new(f[F_PRICES].display);
    fb_status st = load_files(cat, f, diag);
    files_free(f);
    if (st != FB_OK) {
        fbi_catalog_free(cat);
        return st;
    }
    *out = cat;
    return FB_OK;
}

fb_status fbi_catalog_open(const char *dir, const char *overrides, fbi_catalog **out,
                           fb_diag *diag)
{
    fbi_catalog *cat = NULL;
    fb_status st;
    const char *env = getenv("FEDBROKER_CATALOG");
    if (!dir && env && *env) dir = env;
    st = dir ? fbi_catalog_load_dir(dir, &cat, diag) : fbi_catalog_load_embedded(&cat, diag);
    if (st != FB_OK) {
        *out = NULL;
        return st;
    }
    const char *envo = getenv("FEDBROKER_CATALOG_OVERRIDES");
    char *dflt = NULL;
    if (!overrides && envo && *envo) overrides = envo;
    if (!overrides && dir) {
        dflt = fbi_xasprintf("%s/overrides.json", dir);
        if (access(dflt, F_OK) == 0) overrides = dflt;
    }
    if (overrides) st = fbi_catalog_load_overrides(cat, overrides, diag);
    free(dflt);
    if (st != FB_OK) {
        fbi_catalog_free(cat);
        *out = NULL;
        return st;
    }
    *out = cat;
    return FB_OK;
}

void fbi_catalog_free(fbi_catalog *cat)
{
    if (!cat) return;
    for (size_t i = 0; i < cat->nprices; i++) fbi_egress_path_free(&cat->paths[i]);
    free(cat->paths);
    for (size_t g = 0; g < cat->ngroups; g++) {
        free(cat->groups[g].key);
        free(cat->groups[g].rows);
    }
    free(cat->groups);
    free(cat->group_of);
    free(cat->prices);
    for (size_t i = 0; i < cat->nregions; i++) free(cat->region_keys[i]);
    free(cat->region_keys);
    free(cat->regions);
    free(cat->locations);
    for (size_t i = 0; i < cat->nlatency; i++) free(cat->latency_keys[i]);
    free(cat->latency_keys);
    free(cat->latency);
    free(cat->sources);
    free(cat->metro_regions);
    fbi_smap_free(&cat->sku_map);
    fbi_smap_free(&cat->region_map);
    fbi_smap_free(&cat->location_map);
    fbi_smap_free(&cat->latency_map);
    fbi_smap_free(&cat->source_map);
    fbi_csv_free(cat->csv_prices);
    fbi_csv_free(cat->csv_regions);
    fbi_csv_free(cat->csv_locations);
    fbi_csv_free(cat->csv_latency);
    fbi_csv_free(cat->csv_sources);
    fbi_csv_free(cat->csv_params);
    fbi_csv_free(cat->csv_startup);
    free(cat->startup);
    for (size_t i = 0; i < cat->nowned; i++) free(cat->owned_strings[i]);
    free(cat->owned_strings);
    free(cat->local_metro);
    fbi_catalog_clear_overrides(cat);
    free(cat->origin);
    free(cat);
}

const char *fbi_catalog_origin(const fbi_catalog *cat) { return cat->origin; }

/* ---- parameters -------------------------------------------------------------------- */

fb_status fbi_catalog_set_param(fbi_catalog *cat, const char *name, const char *value,
                                fb_diag *diag)
{
    if (strcmp(name, "local_metro") == 0) return fbi_catalog_set_local_metro(cat, value, diag);
    return set_param(cat, NULL, 0, name, value, diag) == 0 ? FB_OK : FB_INVALID;
}

double fbi_catalog_param(const fbi_catalog *cat, const char *name)
{
    double *slot = param_slot((fbi_catalog *)cat, name);
    return slot ? *slot : NAN;
}

fb_status fbi_catalog_set_local_metro(fbi_catalog *cat, const char *metro, fb_diag *diag)
{
    const char *cont = NULL, *jur = NULL, *country = NULL;
    double lat = 0, lon = 0;
    int found = 0;
    for (size_t i = 0; i < cat->nlocations && !found; i++) {
        const fbi_location *l = &cat->locations[i];
        if (strcmp(l->metro, metro) == 0 || strcmp(l->name, metro) == 0) {
            found = 1;
            lat = l->lat;
            lon = l->lon;
            cont = l->continent;
            jur = l->jurisdiction;
            country = l->country;
            metro = l->metro;
        }
    }
    for (size_t i = 0; i < cat->nregions && !found; i++) {
        const fbi_region *r = &cat->regions[i];
        if (r->has_coords && strcmp(r->metro, metro) == 0 && strcmp(r->kind, "local") != 0) {
            found = 1;
            lat = r->lat;
            lon = r->lon;
            cont = r->continent;
            jur = r->jurisdiction;
            country = r->country;
        }
    }
    if (!found) {
        char *s = fbi_xasprintf("unknown metro '%s' for the local provider", metro);
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, s,
                    "use a metro or location name from regions.csv or locations.csv "
                    "(e.g. frankfurt, northern-virginia, tokyo)");
        free(s);
        return FB_NOTFOUND;
    }
    const char *m = fbi_catalog_own(cat, fbi_xstrdup(metro));
    for (size_t i = 0; i < cat->nregions; i++) {
        fbi_region *r = &cat->regions[i];
        if (strcmp(r->kind, "local") != 0) continue;
        r->metro = m;
        r->lat = lat;
        r->lon = lon;
        r->has_coords = 1;
        r->continent = cont;
        r->jurisdiction = jur;
        r->country = country;
        r->location_precision = "approximate";
    }
    free(cat->local_metro);
    cat->local_metro = fbi_xstrdup(m);
    fbi_catalog_index_metros(cat);
    return FB_OK;
}

/* ---- accessors ----------------------------------------------------------------------- */

size_t fbi_catalog_price_count(const fbi_catalog *cat) { return cat->nprices; }
const fbi_price_row *fbi_catalog_price(const fbi_catalog *cat, size_t i)
{
    return i < cat->nprices ? &cat->prices[i] : NULL;
}

const fbi_price_row *fbi_catalog_price_by_sku(const fbi_catalog *cat, const char *sku)
{
    size_t v;
    return fbi_smap_get(&cat->sku_map, sku, &v) ? &cat->prices[v] : NULL;
}

size_t fbi_catalog_region_count(const fbi_catalog *cat) { return cat->nregions; }
const fbi_region *fbi_catalog_region_at(const fbi_catalog *cat, size_t i)
{
    return i < cat->nregions ? &cat->regions[i] : NULL;
}

const fbi_region *fbi_catalog_region(const fbi_catalog *cat, const char *key)
{
    size_t v;
    return key && fbi_smap_get(&cat->region_map, key, &v) ? &cat->regions[v] : NULL;
}

const fbi_region *fbi_catalog_region2(const fbi_catalog *cat, const char *provider,
                                      const char *region)
{
    char *k = fbi_xasprintf("%s:%s", provider, region);
    const fbi_region *r = fbi_catalog_region(cat, k);
    free(k);
    return r;
}

size_t fbi_catalog_location_count(const fbi_catalog *cat) { return cat->nlocations; }
const fbi_location *fbi_catalog_location_at(const fbi_catalog *cat, size_t i)
{
    return i < cat->nlocations ? &cat->locations[i] : NULL;
}

const fbi_location *fbi_catalog_location(const fbi_catalog *cat, const char *name)
{
    size_t v;
    return name && fbi_smap_get(&cat->location_map, name, &v) ? &cat->locations[v] : NULL;
}

size_t fbi_catalog_latency_count(const fbi_catalog *cat) { return cat->nlatency; }
const fbi_latency_row *fbi_catalog_latency_at(const fbi_catalog *cat, size_t i)
{
    return i < cat->nlatency ? &cat->latency[i] : NULL;
}

size_t fbi_catalog_source_count(const fbi_catalog *cat) { return cat->nsources; }
const fbi_source *fbi_catalog_source_at(const fbi_catalog *cat, size_t i)
{
    return i < cat->nsources ? &cat->sources[i] : NULL;
}

const fbi_source *fbi_catalog_source(const fbi_catalog *cat, const char *id)
{
    size_t v;
    return fbi_smap_get(&cat->source_map, id, &v) ? &cat->sources[v] : NULL;
}
