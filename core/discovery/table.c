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

void fbi_discovery_applied(fb_store *s, const char *tenant, const char *workload,
                           const char *provider, const char *region, const json_t *output,
                           const char *workload_kind, fb_diag *diag)
{
    const char *kind = NULL;
    const char *url = fbi_discovery_endpoint_of(output, workload_kind, &kind);
    /* a store failure here is reported, not fatal: the deployment itself
     * is recorded, and the next apply or observe records where it answers */
    if (url)
        fbi_store_put_endpoint(s, tenant, workload, provider, region, url, kind, diag);
    else
        fbi_store_delete_endpoint(s, tenant, workload, provider, region, diag);
}

static const char *jstr(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

static void note(json_t *changes, const json_t *row, const char *change)
{
    if (!changes) return;
    json_array_append_new(changes, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "tenant",
                                             jstr(row, "tenant"), "workload", jstr(row, "workload"),
                                             "provider", jstr(row, "provider"), "region",
                                             jstr(row, "region"), "instance", jstr(row, "instance"),
                                             "change", change, "source", jstr(row, "source")));
}

/* The provider's word on a row's health (observe's status, a driver's
 * discover conditions): taken when always (nothing else can judge the row:
 * it is private) or while no probe has judged it (health unknown); probes,
 * when they cover a row, know better. The row's probe schedule is kept. */
static fb_status provider_health(fb_store *s, const fbi_endpoint_key *k, const char *health,
                                 const char *detail, int always, int64_t now, fb_diag *diag)
{
    char *text = NULL;
    fb_status st = fbi_store_endpoint_rows(s, k->tenant, k->workload, &text, diag);
    if (st != FB_OK) return st;
    json_t *rows = json_loads(text, 0, NULL);
    free(text);
    const char *inst = k->instance ? k->instance : "";
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        if (strcmp(jstr(r, "provider"), k->provider) || strcmp(jstr(r, "region"), k->region) ||
            strcmp(jstr(r, "instance"), inst))
            continue;
        /* a public row takes the provider's view while no probe has
         * judged it: its health is unknown, or was set by this same source
         * (detail "SOURCE: ...", as the caller builds it), so it follows
         * the provider (a target group going unhealthy and back); a
         * probe's verdict stands until the next probe */
        const char *colon = strchr(detail, ':');
        const char *was = jstr(r, "health_detail");
        int own = colon && was && !strncmp(was, detail, (size_t)(colon - detail) + 1);
        if (always || own || strcmp(jstr(r, "health"), "unknown") == 0)
            st = fbi_store_set_endpoint_health(s, k, health, detail, 0, now,
                                               json_integer_value(json_object_get(r, "next_probe_at")),
                                               diag);
    }
    json_decref(rows);
    return st;
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
                              jstr(r, "region"), jstr(r, "instance")};
        if (now >= at + 2 * lease) {
            st = fbi_store_forget_endpoint(s, &k, diag);
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
    fbi_endpoint_key k = {tenant, workload, provider, region, NULL};
    if (!present || !url) {
        /* the provider says it is gone: keep the row (apply's record) but
         * say so, rather than resolving to a dead address */
        return fbi_store_set_endpoint_health(s, &k, "critical",
                                             "observe: the provider does not have it", 0, now,
                                             0, diag);
    }
    fb_status st = fbi_store_report_endpoint(s, &k, url, kind, "observe", lease_s, 0, now, diag);
    if (st != FB_OK) return st;
    /* rows nobody probes (private, or not http) take the provider's word */
    return provider_health(s, &k, "passing", "observe: the provider has it", 0, now, diag);
}

/* One entry of a resource's "endpoints" (schemas/driver/discover.output
 * .schema.json): NULL when it is well formed, else what is wrong (static). */
static const char *bad_entry(const json_t *e, const char **member)
{
    static const char *const healths[] = {"passing", "warning", "critical", "unknown", NULL};
    *member = "";
    if (!json_is_object(e)) return "is not an object";
    const char *url = json_string_value(json_object_get(e, "url"));
    *member = "/url";
    if (!url || !*url) return "is missing or empty (a URL, or with kind service a host name)";
    const json_t *kind = json_object_get(e, "kind");
    *member = "/kind";
    if (kind && (!json_is_string(kind) || (strcmp(json_string_value(kind), "url") &&
                                           strcmp(json_string_value(kind), "service"))))
        return "is not url or service";
    const json_t *h = json_object_get(e, "health");
    *member = "/health";
    if (h) {
        int okh = 0;
        for (int i = 0; json_is_string(h) && healths[i]; i++)
            okh |= !strcmp(json_string_value(h), healths[i]);
        if (!okh) return "is not passing, warning, critical or unknown";
    }
    const json_t *inst = json_object_get(e, "instance");
    *member = "/instance";
    if (inst && (!json_is_string(inst) || strlen(json_string_value(inst)) > 255))
        return "is not a string of at most 255 characters";
    const json_t *src = json_object_get(e, "source");
    *member = "/source";
    if (src) {
        const char *v = json_string_value(src);
        size_t n = v ? strlen(v) : 0;
        int okv = n >= 1 && n <= 32 && v[0] >= 'a' && v[0] <= 'z';
        for (size_t i = 0; okv && i < n; i++)
            okv = (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') || v[i] == '-';
        if (!okv) return "is not a source name ([a-z][a-z0-9-]{0,31})";
        /* those name the broker's own reports, with their own lease rules */
        if (!strcmp(v, "apply") || !strcmp(v, "observe")) return "may not be apply or observe";
    }
    const json_t *priv = json_object_get(e, "private");
    *member = "/private";
    if (priv && !json_is_boolean(priv)) return "is not a boolean";
    const json_t *detail = json_object_get(e, "detail");
    *member = "/detail";
    if (detail && !json_is_string(detail)) return "is not a string";
    *member = "";
    return NULL;
}

fb_status fbi_discovery_discovered(fb_store *s, const char *provider, const json_t *resources,
                                   int64_t lease_s, int64_t now, json_t *recorded, fb_diag *diag)
{
    size_t i;
    const json_t *r;
    json_array_foreach(resources, i, r) {
        const json_t *eps = json_object_get(r, "endpoints");
        if (!eps) continue;
        const char *tenant = json_string_value(json_object_get(r, "tenant"));
        const char *workload = json_string_value(json_object_get(r, "workload"));
        const char *region = json_string_value(json_object_get(r, "region"));
        /* only what fedbroker deployed belongs to a tenant's workload; a
         * resource without those cannot be keyed */
        if (!json_is_true(json_object_get(r, "managed")) || !tenant || !workload || !region)
            continue;
        if (!json_is_array(eps)) {
            char *m = fbi_xasprintf("driver %s discover: /resources/%zu/endpoints is not an array; "
                                    "its endpoints are not recorded", provider, i);
            fb_diag_add(diag, FB_SEV_WARNING, NULL, 0, 0, NULL, m,
                        "the driver must follow schemas/driver/discover.output.schema.json");
            free(m);
            continue;
        }
        size_t j;
        const json_t *e;
        json_array_foreach(eps, j, e) {
            const char *member;
            const char *why = bad_entry(e, &member);
            if (why) {
                /* one bad entry from a driver does not stop the others */
                char *m = fbi_xasprintf("driver %s discover: /resources/%zu/endpoints/%zu%s %s; "
                                        "that endpoint is not recorded", provider, i, j, member, why);
                fb_diag_add(diag, FB_SEV_WARNING, NULL, 0, 0, NULL, m,
                            "the driver must follow schemas/driver/discover.output.schema.json");
                free(m);
                continue;
            }
            const char *url = jstr(e, "url");
            const char *kind = json_object_get(e, "kind") ? jstr(e, "kind") : "url";
            const char *source = json_object_get(e, "source") ? jstr(e, "source") : "discover";
            int priv = json_is_true(json_object_get(e, "private"));
            const char *health = json_string_value(json_object_get(e, "health"));
            fbi_endpoint_key k = {tenant, workload, provider, region, jstr(e, "instance")};
            fb_status st = fbi_store_report_endpoint(s, &k, url, kind, source, lease_s, priv, now, diag);
            if (st != FB_OK) return st;
            if (health) {
                /* the provider's own view: the truth for a private row (no
                 * probe reaches it), for a public one until a probe judges */
                const char *detail = json_string_value(json_object_get(e, "detail"));
                char *d = fbi_xasprintf("%s: %s", source, detail ? detail : health);
                st = provider_health(s, &k, health, d, priv, now, diag);
                free(d);
                if (st != FB_OK) return st;
            }
            if (recorded)
                json_array_append_new(recorded,
                                      json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:s?}", "tenant", tenant,
                                                "workload", workload, "provider", provider, "region",
                                                region, "instance", k.instance, "url", url, "source",
                                                source, "private", priv, "health", health));
        }
    }
    return FB_OK;
}
