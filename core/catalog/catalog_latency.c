/* catalog_latency.c - round-trip times with where each number came from:
 * a measured row, the same-metro assumption (another endpoint in the same
 * metro stands in, plus a documented gap), or a great-circle estimate. The
 * cost model must be able to tell a measurement from a guess. */
#include "config.h"
#include "catalog/catalog_priv.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *fbi_rtt_kind_name(fbi_rtt_kind k)
{
    static const char *const n[] = {"measured", "same-metro-assumption", "distance-estimate"};
    return (unsigned)k < 3 ? n[k] : "?";
}

double fbi_great_circle_km(double lat1, double lon1, double lat2, double lon2)
{
    const double r = 6371.0088, rad = 3.14159265358979323846 / 180.0;
    double p1 = lat1 * rad, p2 = lat2 * rad;
    double dp = (lat2 - lat1) * rad, dl = (lon2 - lon1) * rad;
    double h = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);
    if (h > 1) h = 1;
    return 2 * r * asin(sqrt(h));
}

static void detailf(fbi_rtt_origin *o, const char *fmt, ...) FBI_PRINTF(2, 3);
static void detailf(fbi_rtt_origin *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->detail, sizeof o->detail, fmt, ap);
    va_end(ap);
}

static const fbi_latency_row *measured(const fbi_catalog *cat, const char *a, const char *b,
                                       int *reversed)
{
    size_t v;
    char *k = fbi_xasprintf("%s\x1f%s", a, b);
    int found = fbi_smap_get(&cat->latency_map, k, &v);
    free(k);
    if (found) {
        *reversed = 0;
        return &cat->latency[v];
    }
    k = fbi_xasprintf("%s\x1f%s", b, a);
    found = fbi_smap_get(&cat->latency_map, k, &v);
    free(k);
    if (found) {
        *reversed = 1;
        return &cat->latency[v];
    }
    return NULL;
}

/* The endpoints (region indexes) in a metro: a slice of metro_regions. */
static const size_t *metro_slice(const fbi_catalog *cat, const char *metro, size_t *n)
{
    *n = 0;
    if (!metro || !*metro) return NULL;
    size_t lo = 0, hi = cat->nmetro_regions;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(cat->regions[cat->metro_regions[mid]].metro, metro) < 0) lo = mid + 1;
        else hi = mid;
    }
    size_t end = lo;
    while (end < cat->nmetro_regions &&
           strcmp(cat->regions[cat->metro_regions[end]].metro, metro) == 0)
        end++;
    *n = end - lo;
    return cat->metro_regions + lo;
}

/* The distance model: overhead + 2 x distance x route_factor / fibre speed. */
static double estimate_ms(const fbi_catalog *cat, double km)
{
    return cat->estimate_overhead_ms + 2.0 * km * cat->route_factor / cat->fibre_km_per_s * 1000.0;
}

static void set_measured(fbi_rtt_origin *o, const fbi_latency_row *row, int rev)
{
    o->kind = FBI_RTT_MEASURED;
    o->row = row;
    o->reversed = rev;
    snprintf(o->source, sizeof o->source, "%s", row->source_id);
}

fb_status fbi_catalog_rtt(const fbi_catalog *cat, const char *a, const char *b, double *ms,
                          fbi_rtt_origin *o)
{
    memset(o, 0, sizeof *o);
    *ms = 0;
    const fbi_region *ra = fbi_catalog_region(cat, a), *rb = fbi_catalog_region(cat, b);
    if (!ra || !rb || strcmp(ra->kind, "scope") == 0 || strcmp(rb->kind, "scope") == 0) {
        detailf(o, "unknown region '%s': give a provider:region key from regions.csv "
                   "(e.g. aws:us-east-1, gcp:europe-west1, metro:Frankfurt)", !ra || strcmp(ra->kind, "scope") == 0 ? a : b);
        return FB_NOTFOUND;
    }
    int rev;
    const fbi_latency_row *row = measured(cat, a, b, &rev);
    if (row) {
        *ms = row->rtt_ms;
        set_measured(o, row, rev);
        detailf(o, "%s -> %s measured: %s ms, %s, %s (%s)%s", row->from, row->to, row->rtt_text,
                row->statistic, row->source, row->as_of,
                rev ? "; the row is for the other direction" : "");
        return FB_OK;
    }
    /* same-metro assumption: substitute endpoints in the same metro */
    size_t na = 0, nb = 0;
    const size_t *ea = metro_slice(cat, ra->metro, &na), *eb = metro_slice(cat, rb->metro, &nb);
    const fbi_latency_row *best = NULL;
    int best_k = 3, best_rev = 0;
    double best_v = 0;
    const char *best_a = NULL, *best_b = NULL;
    for (size_t i = 0; i <= na; i++) {
        const char *a2 = i < na ? cat->regions[ea[i]].key : a;
        for (size_t j = 0; j <= nb; j++) {
            const char *b2 = j < nb ? cat->regions[eb[j]].key : b;
            int k = (strcmp(a2, a) != 0) + (strcmp(b2, b) != 0);
            if (k == 0) continue;
            int r2;
            const fbi_latency_row *m = measured(cat, a2, b2, &r2);
            if (!m) continue;
            double v = m->rtt_ms + k * cat->same_metro_gap_ms;
            /* fewest substitutions first; among those the largest value, since
             * an RTT bound that is too low breaks a latency SLO */
            if (k < best_k || (k == best_k && v > best_v)) {
                best = m;
                best_k = k;
                best_v = v;
                best_rev = r2;
                best_a = a2;
                best_b = b2;
            }
        }
    }
    if (best) {
        *ms = best_v;
        o->kind = FBI_RTT_SAME_METRO;
        o->row = best;
        o->reversed = best_rev;
        o->assumed_ms = best_k * cat->same_metro_gap_ms;
        snprintf(o->source, sizeof o->source, "%s", best->source_id);
        char subs[160];
        if (strcmp(best_a, a) != 0 && strcmp(best_b, b) != 0)
            snprintf(subs, sizeof subs, "%s for %s and %s for %s", best_a, a, best_b, b);
        else if (strcmp(best_a, a) != 0)
            snprintf(subs, sizeof subs, "%s for %s", best_a, a);
        else
            snprintf(subs, sizeof subs, "%s for %s", best_b, b);
        detailf(o, "assumption (same metro): %s; measured %s -> %s %s ms (%s, %s) + %d x %.1f "
                   "ms gap", subs, best->from, best->to, best->rtt_text, best->statistic,
                best->source, best_k, cat->same_metro_gap_ms);
        return FB_OK;
    }
    if (!ra->has_coords || !rb->has_coords) {
        detailf(o, "no measured RTT and no coordinates for %s: cannot estimate %s -> %s%s",
                !ra->has_coords ? a : b, a, b,
                strcmp((!ra->has_coords ? ra : rb)->kind, "local") == 0
                    ? " (set where the cluster is: the on-prem driver's \"location\" setting, or the catalog param local_metro)" : "");
        return FB_NOTFOUND;
    }
    double km = fbi_great_circle_km(ra->lat, ra->lon, rb->lat, rb->lon);
    *ms = estimate_ms(cat, km);
    o->kind = FBI_RTT_ESTIMATE;
    snprintf(o->source, sizeof o->source, "estimate");
    detailf(o, "estimate: %.0f km great circle x 2 x route factor %.2f / %.0f km/s + %.1f ms",
            km, cat->route_factor, cat->fibre_km_per_s, cat->estimate_overhead_ms);
    return FB_OK;
}

fb_status fbi_catalog_user_rtt(const fbi_catalog *cat, const char *location, const char *region,
                               double *ms, fbi_rtt_origin *o)
{
    memset(o, 0, sizeof *o);
    *ms = 0;
    const fbi_location *loc = fbi_catalog_location(cat, location);
    if (!loc) {
        const char *best = NULL;
        int bd = 4;
        for (size_t i = 0; i < cat->nlocations; i++) {
            int dd = fbi_edit_distance(location, cat->locations[i].name, 3);
            if (dd < bd) {
                bd = dd;
                best = cat->locations[i].name;
            }
        }
        detailf(o, "unknown location '%s'%s%s%s (locations.csv)", location,
                best ? "; did you mean '" : "", best ? best : "", best ? "'?" : "");
        return FB_NOTFOUND;
    }
    const fbi_region *target = fbi_catalog_region(cat, region);
    if (!target || strcmp(target->kind, "scope") == 0) {
        detailf(o, "unknown region '%s': give a provider:region key from regions.csv", region);
        return FB_NOTFOUND;
    }
    size_t ne = 0;
    const size_t *e = metro_slice(cat, loc->metro, &ne);
    double best_v = 0;
    fbi_rtt_origin best_o;
    int have = 0;
    memset(&best_o, 0, sizeof best_o);
    for (size_t i = 0; i < ne; i++) {
        double v;
        fbi_rtt_origin oo;
        if (fbi_catalog_rtt(cat, cat->regions[e[i]].key, region, &v, &oo) != FB_OK) continue;
        if (oo.kind == FBI_RTT_ESTIMATE) continue; /* estimate from the user's own point below */
        if (!have || oo.kind < best_o.kind || (oo.kind == best_o.kind && v > best_v)) {
            best_v = v;
            best_o = oo;
            have = 1;
        }
    }
    char inner[sizeof o->detail];
    if (have) {
        *o = best_o;
        snprintf(inner, sizeof inner, "%s", best_o.detail);
    } else {
        if (!target->has_coords) {
            detailf(o, "no measured path from metro %s and no coordinates for %s%s", loc->metro,
                    region, strcmp(target->kind, "local") == 0
                                ? " (set where the cluster is: the on-prem driver's \"location\" setting, or the catalog param local_metro)" : "");
            return FB_NOTFOUND;
        }
        double km = fbi_great_circle_km(loc->lat, loc->lon, target->lat, target->lon);
        best_v = estimate_ms(cat, km);
        o->kind = FBI_RTT_ESTIMATE;
        snprintf(o->source, sizeof o->source, "estimate");
        snprintf(inner, sizeof inner, "estimate: %.0f km great circle x 2 x route factor %.2f / "
                 "%.0f km/s + %.1f ms", km, cat->route_factor, cat->fibre_km_per_s,
                 cat->estimate_overhead_ms);
    }
    o->last_mile_ms = cat->last_mile_ms;
    *ms = best_v + cat->last_mile_ms;
    fbi_buf b;
    fbi_buf_init(&b);
    fbi_buf_printf(&b, "users in %s (metro %s): %s; + %.1f ms last mile", loc->name, loc->metro,
                   inner, cat->last_mile_ms);
    size_t n2 = b.len < sizeof o->detail - 1 ? b.len : sizeof o->detail - 1;
    memcpy(o->detail, b.data, n2);
    o->detail[n2] = '\0';
    fbi_buf_free(&b);
    return FB_OK;
}
