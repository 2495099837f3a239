/* discovery.h - cross-cloud service discovery (docs/discovery.md): one
 * endpoints table (the store's) fed by apply, observe and discover, each
 * report holding for its source's lease; stale marking and removal; health
 * from HTTP probes to the spec's healthCheck path through the host's HTTP
 * service; resolve from the local table only, ordered by the catalog's
 * latency model. Internal to core (prefix fbi_). Thread notes: every
 * function may be called from any thread with its own store handle use
 * serialised by the store; the probe runs its probes on worker threads. */
#ifndef FB_DISCOVERY_DISCOVERY_H
#define FB_DISCOVERY_DISCOVERY_H

#include <jansson.h>
#include <stdint.h>
#include "fedbroker/fedbroker.h"
#include "catalog/catalog.h"
#include "http/http.h"

/* The endpoint in a driver's apply or observe output ({"result":..,
 * "state":..}): a url/uri/endpoint member (of result, state, or their
 * "endpoints" object), else a service host name ("endpoints": {"service":
 * HOST}), else for a QuantumJob its job id. Returns a pointer into output
 * (borrowed) or NULL; *kind is "url", "service" or "job" (static; only a
 * "url" is filled into dependents' env). */
const char *fbi_discovery_endpoint_of(const json_t *output, const char *workload_kind,
                                      const char **kind);

/* Records what a successful apply of a deployment says about where it
 * answers (fbi_discovery_endpoint_of of output, borrowed): apply's row,
 * lease 0; no endpoint in the output forgets the deployment's rows. Store
 * failures are added to diag (new entries), not returned: the deployment
 * is applied either way. */
void fbi_discovery_applied(fb_store *s, const char *tenant, const char *workload,
                           const char *provider, const char *region, const json_t *output,
                           const char *workload_kind, fb_diag *diag);

/* Ages the table at now (Unix seconds): a row whose source has not
 * reported within its lease (reported_at + lease_seconds < now, lease > 0)
 * is marked stale since reported_at + lease; a row still unreported a
 * second lease later (reported_at + 2 x lease <= now) is removed. Rows
 * with lease 0 (apply's) hold until destroy forgets them. *changes (new,
 * may be NULL) lists {tenant, workload, provider, region, change: "stale"
 * | "removed", source}. */
fb_status fbi_discovery_sweep(fb_store *s, int64_t now, json_t **changes, fb_diag *diag);

typedef struct fbi_probe_opts {
    int64_t now;              /* Unix seconds */
    const char *tenant;       /* NULL = every tenant */
    unsigned parallelism;     /* probes at once; 0 = 8 */
    int64_t max_backoff_s;    /* ceiling of a failing endpoint's probe interval; 0 = 300 */
    int force;                /* probe every probeable row now, due or not */
    const char *connect_to;   /* "ADDR:PORT" every probe connects to, keeping the
                                 URL's host as Host and TLS name; NULL = the URL's */
    fbi_http_client *http;    /* borrowed; NULL = the process-wide client */
} fbi_probe_opts;

/* One probe round: every url row (http or https) that is due
 * (next_probe_at <= now, or force) and public (its workload's spec has no
 * http trigger, or a public one) gets GET URL + healthCheck.path (spec
 * default /). A 2xx or 3xx answer is passing; otherwise the row's
 * consecutive failures grow and it is warning, then critical once they
 * reach healthCheck.failureThreshold (default 3). The next probe is a
 * healthCheck.period (default 10 s) later, doubled per consecutive failure
 * up to max_backoff_s. Private rows are left to observe. *results (new)
 * lists each probed row with url, health, detail, failures, next_probe_at.
 * Returns FB_OK when the round ran (failing endpoints are results, not
 * errors). */
fb_status fbi_discovery_probe(fb_store *s, const fbi_probe_opts *o, json_t **results,
                              fb_diag *diag);

/* Records what observe found for a deployment: reported by "observe" with
 * lease_s (negative: a refresh that keeps the row's source and lease, so
 * apply's rows stay held until destroy); an unprobed row (health unknown)
 * takes the provider's word: present -> passing; absent -> critical. */
fb_status fbi_discovery_observed(fb_store *s, const char *tenant, const char *workload,
                                 const char *provider, const char *region,
                                 const char *url, const char *kind, int present,
                                 int64_t lease_s, int64_t now, fb_diag *diag);

/* Records the endpoints provider's discover reported (the optional
 * "endpoints" of each resource, docs/driver-abi.md; resources borrowed):
 * for every managed resource with a tenant, workload and region, each
 * entry is reported under its source (default "discover") with lease_s
 * (the leased-row rules of fbi_discovery_sweep; a report takes over the
 * row, as observe's with a lease does), its instance ("" = the
 * deployment's front) and private flag; an entry's health is the row's
 * for a private row, and for a public one while no probe has judged it
 * (health unknown). A malformed entry is a warning in diag naming its
 * JSON pointer, and skipped. recorded (borrowed, may be NULL) gets one
 * {tenant, workload, provider, region, instance, url, source, private,
 * health?} per row written. FB_OK unless the store fails. */
fb_status fbi_discovery_discovered(fb_store *s, const char *provider, const json_t *resources,
                                   int64_t lease_s, int64_t now, json_t *recorded, fb_diag *diag);

typedef struct fbi_resolve_query {
    const char *name;          /* workload name, required */
    const char *tenant;        /* NULL: any tenant, but the name must be in only one */
    const char *from_location; /* locations.csv name (users in Frankfurt), or NULL */
    const char *from_workload; /* another workload of the tenant, or NULL */
    int all;                   /* include critical and stale rows */
    int64_t now;               /* Unix seconds */
} fbi_resolve_query;

/* Resolves a name from the local table only (no provider call). *out new
 * {"name","tenant","from","endpoints":[{provider, region, url, protocol,
 * health, source, stale, stale_seconds, observed_at, rtt_ms, rtt_kind}],
 * "excluded": N}: passing, warning and unknown rows that are not stale
 * (all rows with q->all), ordered by the expected RTT from the caller
 * (fbi_catalog_user_rtt from a location, fbi_catalog_rtt from the
 * workload's region; unknown RTTs last), ties by health then provider and
 * region. stale_seconds is the age of the source's last report.
 * FB_NOTFOUND when the name has no endpoint rows (of the tenant),
 * FB_INVALID for an ambiguous name, an unknown location or workload. cat
 * borrowed, may be NULL when neither from is given. */
fb_status fbi_discovery_resolve(fb_store *s, const fbi_catalog *cat, const fbi_resolve_query *q,
                                json_t **out, fb_diag *diag);

#endif
