/*
 * catalog_priv.h - what the catalog_*.c files share and nothing else uses:
 * the catalog structure, the embedded files table and the egress path
 * representation.
 */
#ifndef FB_CATALOG_PRIV_H
#define FB_CATALOG_PRIV_H

#include "catalog/catalog.h"
#include "base/util.h"
#include "base/map.h"

/* A file embedded by catalog/embed.sh (generated core/catalog_data.c). */
typedef struct fbi_embedded_file {
    const char *name;
    const unsigned char *data; /* NUL-terminated */
    size_t len;
} fbi_embedded_file;

/* NULL-name terminated. */
extern const fbi_embedded_file fbi_catalog_embedded[];

/* fb_diag_add for catalog problems: keeps the first 1000 of a load and then
 * one note that the rest are not shown, so a broken file cannot grow the
 * diagnostics without bound. */
void fbi_cat_diag_add(fb_diag *d, fb_severity sev, const char *file, int line, int col,
                      const char *pointer, const char *summary, const char *detail);
/* One side of an egress path alternative: terms OR-ed together. */
enum { FBI_EP_SELF, FBI_EP_ANY, FBI_EP_REGION, FBI_EP_CONT, FBI_EP_OTHER_CONT, FBI_EP_JUR };
typedef struct fbi_ep_term {
    int type;
    char *arg; /* region key ("aws:us-east-1"), continent or jurisdiction; new */
} fbi_ep_term;
typedef struct fbi_ep_side {
    fbi_ep_term *terms;
    size_t n;
} fbi_ep_side;
typedef struct fbi_ep_alt {
    fbi_ep_side src, dst;
} fbi_ep_alt;
typedef struct fbi_egress_path {
    fbi_ep_alt *alts;
    size_t n;
} fbi_egress_path;

/* A product: the primary rows that share everything but the tier. */
typedef struct fbi_price_group {
    char *key;        /* sku without the tier part; new */
    size_t *rows;     /* indexes into prices, ordered by tier_start; new */
    size_t n;
} fbi_price_group;

typedef struct fbi_override {
    char *id, *provider, *service, *sku, *note;
    int has_pct;
    int64_t pct_micro;
    int has_price;
    fbi_pusd unit_price;
    int specificity; /* 3 sku, 2 provider+service, 1 provider */
} fbi_override;

struct fbi_catalog {
    char *origin;
    fbi_csv *csv_prices, *csv_regions, *csv_locations, *csv_latency, *csv_sources, *csv_params;
    fbi_csv *csv_startup;   /* startup.csv (optional) */
    fbi_startup_row *startup;
    size_t nstartup;

    fbi_price_row *prices;
    size_t nprices;
    fbi_egress_path *paths; /* parallel to prices */
    fbi_price_group *groups;
    size_t ngroups;
    size_t *group_of;       /* prices index -> group index (SIZE_MAX: none) */

    fbi_region *regions;
    size_t nregions;
    char **region_keys;     /* owned "provider:region" strings */
    fbi_location *locations;
    size_t nlocations;
    fbi_latency_row *latency;
    size_t nlatency;
    fbi_source *sources;
    size_t nsources;

    fbi_smap sku_map, region_map, location_map, latency_map, source_map;
    char **latency_keys;    /* owned "from\x1fto" strings */

    /* metro -> endpoints: region indexes grouped by metro (sorted). */
    size_t *metro_regions;  /* region indexes sorted by metro */
    size_t nmetro_regions;

    /* model parameters */
    double same_metro_gap_ms, last_mile_ms, route_factor, fibre_km_per_s,
           estimate_overhead_ms;
    char *local_metro;      /* owned, or NULL */
    char **owned_strings;   /* strings set after load (local metro fields) */
    size_t nowned;

    fbi_override *overrides;
    size_t noverrides;
};

/* Strings the catalog owns after load (freed with it). Returns s. */
const char *fbi_catalog_own(fbi_catalog *cat, char *s);
/* Derives the sku of a row from its columns (new). */
char *fbi_price_derive_sku(const fbi_price_row *r);
/* Parses an egress path; 0 or -1 with *err (new). */
int fbi_egress_path_parse(const char *text, const char *provider,
                          fbi_egress_path *out, char **err);
void fbi_egress_path_free(fbi_egress_path *p);
/* Sorts metro endpoints after regions are loaded or changed. */
void fbi_catalog_index_metros(fbi_catalog *cat);
/* Known continents ("north-america", ...). 1 when known. */
int fbi_continent_known(const char *c);
/* Known units. 1 when known. */
int fbi_unit_known(const char *u);
/* Known pricing models. */
int fbi_pricing_model_known(const char *m);
/* round(a * b / d), halves away from zero, d > 0; *overflow set to 1 when
 * the result does not fit int64. */
int64_t fbi_muldiv_round(int64_t a, int64_t b, int64_t d, int *overflow);
/* Frees the overrides. */
void fbi_catalog_clear_overrides(fbi_catalog *cat);

#endif
