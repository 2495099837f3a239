/* host.h - what the rest of core tells the driver host table (host.c)
 * beyond the per-call context: the credentials the broker was configured
 * with. Internal to core (prefix fbi_). */
#ifndef FB_HOST_H
#define FB_HOST_H

#include <stdint.h>
#include "fedbroker/fedbroker.h"

/* Takes the configuration's "credentials" section from config_json (the
 * whole broker configuration, borrowed; NULL or no section = none):
 * {"DRIVER": {"KEY": {"env": "VAR"} | {"file": "/abs/path"}}}. host->
 * credential answers a driver's KEY from it for the calls attributed to
 * that driver. The values are read when asked for, never kept. The last
 * call wins (one configuration per process). Thread-safe. */
void fbi_host_set_credentials(const char *config_json);

/* Where host->credential finds the broker's portable secrets
 * (docs/identity.md): for the key secret://NAME in a call about a
 * workload of tenant T (fbi_call.tenant), fn(ud, T, NAME, &value, &version,
 * diag) answers the latest version's value (new text, NUL-terminated; the
 * host wipes and frees it) and its number; secret-version://NAME answers
 * that number as decimal text. fn returns FB_NOTFOUND when there is no
 * such secret, another status with a diagnostic when it cannot say. The
 * value becomes a secret of the call (redacted wherever the call is shown).
 * NULL fn: no portable secrets (FB_NOTFOUND). Called from apply's worker
 * threads: fn must be thread-safe. The last call wins. */
typedef fb_status (*fbi_secret_source_fn)(void *ud, const char *tenant, const char *name,
                                          char **value, long long *version, fb_diag *diag);
void fbi_host_set_secret_source(fbi_secret_source_fn fn, void *ud);

/* host->http_many (http_many.c; driver.h has the contract): reqs[0..n)
 * in flight together, as n host->http calls in that order. Runs the
 * performs on the calling thread and up to 15 threads of a process-wide
 * pool (started when first needed, at most 128, kept), each request with a scratch
 * fb_diag bound to d's call, and moves their diagnostics into d in
 * request order. d's call (its secrets, dry-run records, barrier) is
 * changed on the calling thread before any request is sent and only read
 * while they are in flight. Everything is borrowed; resps and statuses
 * are written. Thread-safe across calls; one batch per call at a time. */
fb_status fbi_host_http_many(fb_diag *d, const fb_http_request *const *reqs, size_t n,
                             fb_http_response *resps, fb_status *statuses);

/* The feature matrix's columns: a capability bit and its column name;
 * ends with {0, NULL}. */
typedef struct fbi_cap_name {
    uint64_t bit;
    const char *col;
} fbi_cap_name;
extern const fbi_cap_name fbi_cap_names[];

/* The loaded drivers (r borrowed) and the ones the loader refused (the
 * diagnostics of fb_registry_open, borrowed) as {"drivers": [{name,
 * version, abi, file, summary, caps}], "refused": [...]}: what `drivers
 * --format json` prints and serve's GET /v1/drivers answers. new. */
struct json_t *fbi_registry_json(const fb_registry *r, const fb_diag *refused);

#endif
