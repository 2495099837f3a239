/* resolve.c - a name to its endpoints, from the local table only: no
 * provider call on the resolve path, so an answer costs one SQLite query
 * and the latency model, and works while a cloud's API is down. */
#include "config.h"
#include "discovery/discovery.h"
#include "base/util.h"
#include "state/state.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *jstr(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

static int health_rank(const char *h)
{
    if (strcmp(h, "passing") == 0) return 0;
    if (strcmp(h, "warning") == 0) return 1;
    if (strcmp(h, "unknown") == 0) return 2;
    return 3;
}

static void fail(fb_diag *diag, const char *summary, const char *detail)
{
    fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, summary, detail);
}

/* The region key ("aws:us-east-1") of the from-workload: its endpoint row
 * of the tenant, else its deployment. new, or NULL. */
static char *workload_region(fb_store *s, const char *tenant, const char *name, fb_diag *diag)
{
    char *text = NULL, *out = NULL;
    if (fbi_store_endpoint_rows(s, tenant, name, &text, diag) == FB_OK) {
        json_t *rows = json_loads(text, 0, NULL);
        json_t *r = json_array_get(rows, 0);
        if (r) out = fbi_xasprintf("%s:%s", jstr(r, "provider"), jstr(r, "region"));
        json_decref(rows);
    }
    free(text);
    text = NULL;
    if (!out && fb_store_list_deployments(s, tenant, name, &text, diag) == FB_OK) {
        json_t *rows = json_loads(text ? text : "[]", 0, NULL);
        json_t *r = json_array_get(rows, 0);
        if (r) out = fbi_xasprintf("%s:%s", jstr(r, "provider"), jstr(r, "region"));
        json_decref(rows);
    }
    free(text);
    return out;
}

typedef struct ranked {
    json_t *ep;   /* borrowed from the output array */
    double rtt;   /* NAN when the model has no answer */
    int health;
    const char *provider, *region, *instance;
} ranked;

static int by_rtt(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    int xn = isnan(x->rtt), yn = isnan(y->rtt);
    if (xn != yn) return xn - yn; /* unknown RTTs last */
    if (!xn && x->rtt != y->rtt) return x->rtt < y->rtt ? -1 : 1;
    if (x->health != y->health) return x->health - y->health;
    int c = strcmp(x->provider, y->provider);
    if (!c) c = strcmp(x->region, y->region);
    return c ? c : strcmp(x->instance, y->instance);
}

fb_status fbi_discovery_resolve(fb_store *s, const fbi_catalog *cat, const fbi_resolve_query *q,
                                json_t **out, fb_diag *diag)
{
    *out = NULL;
    if ((q->from_location || q->from_workload) && !cat) {
        fail(diag, "resolve --from needs the catalog (its latency model)", NULL);
        return FB_INVALID;
    }
    char *text = NULL;
    fb_status st = fbi_store_endpoint_rows(s, q->tenant, q->name, &text, diag);
    if (st != FB_OK) return st;
    json_t *rows = json_loads(text, 0, NULL);
    free(text);
    if (json_array_size(rows) == 0) {
        char *m = fbi_xasprintf("no endpoint of '%s'%s%s in the local table", q->name,
                                q->tenant ? " in tenant " : "", q->tenant ? q->tenant : "");
        fail(diag, m, "fedbroker endpoints lists what the table holds; apply, status (observe) "
                      "and discover fill it");
        free(m);
        json_decref(rows);
        return FB_NOTFOUND;
    }
    const char *tenant = jstr(json_array_get(rows, 0), "tenant");
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
        if (strcmp(jstr(r, "tenant"), tenant) != 0) {
            char *m = fbi_xasprintf("'%s' is a workload of more than one tenant (%s, %s)", q->name,
                                    tenant, jstr(r, "tenant"));
            fail(diag, m, "give --tenant");
            free(m);
            json_decref(rows);
            return FB_INVALID;
        }
    char *from_region = NULL;
    if (q->from_workload) {
        from_region = workload_region(s, tenant, q->from_workload, diag);
        if (!from_region) {
            char *m = fbi_xasprintf("--from-workload %s: tenant %s has no endpoint or deployment "
                                    "of that name", q->from_workload, tenant);
            fail(diag, m, "give a workload that apply deployed, or --from LOCATION");
            free(m);
            json_decref(rows);
            return FB_INVALID;
        }
    }
    if (q->from_location && !fbi_catalog_location(cat, q->from_location)) {
        char *m = fbi_xasprintf("--from %s: not a location of the catalog", q->from_location);
        fail(diag, m, "fedbroker catalog show lists the locations (locations.csv), e.g. frankfurt");
        free(m);
        json_decref(rows);
        return FB_INVALID;
    }
    json_t *eps = json_array();
    size_t n = 0, excluded = 0;
    ranked *rk = fbi_xcalloc(json_array_size(rows) + 1, sizeof *rk);
    json_array_foreach(rows, i, r) {
        json_int_t lease = json_integer_value(json_object_get(r, "lease_seconds"));
        json_int_t at = json_integer_value(json_object_get(r, "reported_at"));
        /* stale by the lease even before a sweep marked it */
        int stale = !json_is_null(json_object_get(r, "stale_since")) ||
                    (lease > 0 && q->now > at + lease);
        const char *h = jstr(r, "health");
        if (!q->all && (stale || strcmp(h, "critical") == 0)) {
            excluded++;
            continue;
        }
        json_t *ep = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:I,s:s}",
            "provider", jstr(r, "provider"), "region", jstr(r, "region"), "url", jstr(r, "url"),
            "kind", jstr(r, "kind"), "protocol", jstr(r, "protocol"), "health", h,
            "source", jstr(r, "source"), "stale", stale,
            "stale_seconds", (json_int_t)(q->now > at ? q->now - at : 0),
            "observed_at", jstr(r, "observed_at"));
        if (json_is_string(json_object_get(r, "health_detail")))
            json_object_set(ep, "health_detail", json_object_get(r, "health_detail"));
        /* one of several addresses a source reported (a pod), and whether
         * only its own network reaches it: a caller elsewhere skips those */
        if (*jstr(r, "instance")) json_object_set(ep, "instance", json_object_get(r, "instance"));
        json_object_set_new(ep, "private", json_boolean(json_is_true(json_object_get(r, "private"))));
        double ms = NAN;
        if (q->from_location || from_region) {
            char *key = fbi_xasprintf("%s:%s", jstr(r, "provider"), jstr(r, "region"));
            fbi_rtt_origin orig;
            fb_status rs = q->from_location
                               ? fbi_catalog_user_rtt(cat, q->from_location, key, &ms, &orig)
                               : fbi_catalog_rtt(cat, from_region, key, &ms, &orig);
            if (rs == FB_OK) {
                json_object_set_new(ep, "rtt_ms", json_real(round(ms * 100) / 100));
                json_object_set_new(ep, "rtt_kind", json_string(fbi_rtt_kind_name(orig.kind)));
            } else {
                ms = NAN;
                json_object_set_new(ep, "rtt_ms", json_null());
            }
            free(key);
        }
        json_array_append_new(eps, ep);
        rk[n++] = (ranked){ep, ms, health_rank(h), jstr(r, "provider"), jstr(r, "region"),
                          jstr(r, "instance")};
    }
    qsort(rk, n, sizeof *rk, by_rtt);
    json_t *sorted = json_array();
    for (i = 0; i < n; i++) json_array_append(sorted, rk[i].ep);
    free(rk);
    json_t *from = q->from_location ? json_pack("{s:s}", "location", q->from_location)
                   : from_region    ? json_pack("{s:s,s:s}", "workload", q->from_workload, "region", from_region)
                                    : json_null();
    *out = json_pack("{s:s,s:s,s:o,s:o,s:I}", "name", q->name, "tenant", tenant, "from", from,
                     "endpoints", sorted, "excluded", (json_int_t)excluded);
    json_decref(eps);
    json_decref(rows);
    free(from_region);
    return FB_OK;
}
