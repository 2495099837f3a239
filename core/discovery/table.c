/* table.c - the endpoints table's life cycle: what a driver's output says
 * the endpoint is, observe's reports, and the lease sweep (stale, then
 * removed: the multi-cluster-services pattern, where an endpoint whose
 * source stopped reporting must not be served forever). */
#include "config.h"
#include "discovery/discovery.h"
#include "base/util.h"
#include "state/state.h"

#include <stdlib.h>
#include <string.h>

const char *fbi_discovery_endpoint_of(const json_t *output, const char *workload_kind,
                                      const char **kind)
{
    static const char *const url_keys[] = {"url", "uri", "endpoint", NULL};
    static const char *const id_keys[] = {"jobId", "job_id", "id", NULL};
    const json_t *res = json_object_get(output, "result"), *st = json_object_get(output, "state");
    const json_t *where[] = {res, st, json_object_get(res, "endpoints"), json_object_get(st, "endpoints")};
    for (int w = 0; w < 4; w++)
        for (int k = 0; url_keys[k]; k++) {
            const char *u = json_string_value(json_object_get(where[w], url_keys[k]));
            if (u && *u) {
                *kind = "url";
                return u;
            }
        }
    /* a service host name the driver reported ("endpoints": {"service": HOST}) */
    for (int w = 2; w < 4; w++) {
        const char *h = json_string_value(json_object_get(where[w], "service"));
        if (h && *h) {
            *kind = "service";
            return h;
        }
    }
    if (!workload_kind || strcmp(workload_kind, "QuantumJob") != 0) return NULL;
    for (int w = 0; w < 2; w++)
        for (int k = 0; id_keys[k]; k++) {
            const char *u = json_string_value(json_object_get(where[w], id_keys[k]));
            if (u && *u) {
                *kind = "job";
                return u;
            }
        }
    return NULL;
}

static const char *jstr(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

static void note(json_t *changes, const json_t *row, const char *change)
{
    if (!changes) return;
    json_array_append_new(changes, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "tenant", jstr(row, "tenant"),
                                             "workload", jstr(row, "workload"), "provider",
                                             jstr(row, "provider"), "region", jstr(row, "region"),
                                             "change", change, "source", jstr(row, "source")));
}

fb_status fbi_discovery_sweep(fb_store *s, int64_t now, json_t **changes, fb_diag *diag)
{
    if (changes) *changes = json_array();
    char *text = NULL;
    fb_status st = fbi_store_list_endpoints(s, NULL, &text, diag);
    if (st != FB_OK) return st;
    json_t *rows = json_loads(text, 0, NULL);
    free(text);
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        json_int_t lease = json_integer_value(json_object_get(r, "lease_seconds"));
        if (lease <= 0) continue; /* held until destroy forgets it */
        json_int_t at = json_integer_value(json_object_get(r, "reported_at"));
        fbi_endpoint_key k = {jstr(r, "tenant"), jstr(r, "workload"), jstr(r, "provider"),
                              jstr(r, "region")};
        if (now >= at + 2 * lease) {
            st = fbi_store_delete_endpoint(s, k.tenant, k.workload, k.provider, k.region, diag);
            if (st == FB_OK) note(changes ? *changes : NULL, r, "removed");
        } else if (now > at + lease && json_is_null(json_object_get(r, "stale_since"))) {
            st = fbi_store_set_endpoint_stale(s, &k, at + lease, diag);
            if (st == FB_OK) note(changes ? *changes : NULL, r, "stale");
        }
        if (st != FB_OK) break;
    }
    json_decref(rows);
    return st;
}

fb_status fbi_discovery_observed(fb_store *s, const char *tenant, const char *workload,
                                 const char *provider, const char *region,
                                 const char *url, const char *kind, int present,
                                 int64_t lease_s, int64_t now, fb_diag *diag)
{
    fbi_endpoint_key k = {tenant, workload, provider, region};
    if (!present || !url) {
        /* the provider says it is gone: keep the row (apply's record) but
         * say so, rather than resolving to a dead address */
        return fbi_store_set_endpoint_health(s, &k, "critical",
                                             "observe: the provider does not have it", 0, now,
                                             0, diag);
    }
    fb_status st = fbi_store_report_endpoint(s, &k, url, kind, "observe", lease_s, now, diag);
    if (st != FB_OK) return st;
    /* rows nobody probes (private, or not http) take the provider's word */
    char *text = NULL;
    st = fbi_store_endpoint_rows(s, tenant, workload, &text, diag);
    if (st != FB_OK) return st;
    json_t *rows = json_loads(text, 0, NULL);
    free(text);
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        if (strcmp(jstr(r, "provider"), provider) || strcmp(jstr(r, "region"), region)) continue;
        /* probes, when they cover the row, know better than the provider */
        if (strcmp(jstr(r, "health"), "unknown") == 0)
            st = fbi_store_set_endpoint_health(s, &k, "passing", "observe: the provider has it", 0,
                                               now, json_integer_value(json_object_get(r, "next_probe_at")),
                                               diag);
    }
    json_decref(rows);
    return st;
}
