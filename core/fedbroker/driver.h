/*
 * fedbroker/driver.h - the fedbroker driver ABI, version 1.4.
 *
 * docs/driver-abi.md is the normative description of this ABI: the JSON
 * documents each verb reads and writes, the contracts, the threading rules
 * and the versioning rule. This header declares it; where a comment here
 * and that page disagree, the page is right and this is a bug.
 *
 * A driver is a shared object that exports exactly one symbol:
 *
 *     fb_status fb_driver_entry(const fb_host *host, const fb_driver **out,
 *                               fb_diag *diag);
 *
 * The host calls it once after dlopen. The driver checks the host's ABI,
 * stores the host table if it wants to, and points *out at a const fb_driver
 * that lives as long as the shared object.
 *
 * Rules (the conformance kit, `fedbroker drivers test`, checks them):
 *  - Versioning: structs only grow at the end; fields are never reordered
 *    or removed. Every new slot of fb_driver or fb_host, and every new
 *    FB_CAP_ bit, raises FB_ABI_MINOR by one and is marked "since 1.N"
 *    below. A reader treats every slot past `struct_size` as NULL
 *    (FB_DRIVER_HAS, FB_HOST_HAS). The host refuses a driver whose abi_major
 *    differs from FB_ABI_MAJOR or whose abi_minor is newer than the host's,
 *    and loads older minors.
 *  - `caps` must agree with the slots (see FB_CAP_* below).
 *  - Data crosses as UTF-8 JSON text. Every buffer a driver hands back
 *    (out_json, driver-allocated strings) comes from host->alloc; the host
 *    releases it with host->free. Input strings are borrowed for the call.
 *  - Every verb returns an fb_status and may add diagnostics to `diag`.
 *    A non-OK status must come with at least one error diagnostic.
 *  - observe changes nothing; apply and destroy are idempotent; render and
 *    usage are pure (no I/O, same input -> byte-identical output).
 *  - Drivers never call libcurl or read the wall clock themselves: they use
 *    host->http and host->now, so tests can record, replay and fix time.
 *  - Threads: configure and teardown run alone. Every other verb may run
 *    concurrently with any verb but those two, on the same ctx, from up to
 *    64 threads at once (apply/observe/destroy fan out; plan evaluates
 *    offers in parallel). A driver keeps ctx read-only after configure or
 *    guards what it changes (a token cache, a credential) with a lock. The
 *    host services are thread-safe; an fb_diag belongs to one call.
 */
#ifndef FEDBROKER_DRIVER_H
#define FEDBROKER_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FB_ABI_MAJOR 1
/* 1.0: the first release's slots (configure .. teardown) and caps bits
 *      up to FB_CAP_ARM64.
 * 1.1: fb_driver.usage and FB_CAP_ESTIMATE.
 * 1.2: fb_driver.evaluate; fb_http_request's TLS and proxy members
 *      (tls_ca_pem .. proxy_url) and FB_TLS_INSECURE (both before any
 *      release of 1.2, so one minor).
 * 1.3: fb_driver.attest and FB_CAP_ATTEST (a workload proves its identity
 *      to `fedbroker serve` with its provider's own credentials).
 * 1.4: fb_host.http_many (a batch of independent requests in flight
 *      together). */
#define FB_ABI_MINOR 4

/* The name of the single exported entry point. */
#define FB_DRIVER_ENTRY_SYMBOL "fb_driver_entry"

typedef enum fb_status {
    FB_OK = 0,
    FB_NOTSUP = 1,    /* verb or feature not supported by this driver */
    FB_INVALID = 2,   /* the input is wrong; diagnostics say where */
    FB_AUTH = 3,      /* credentials missing or refused */
    FB_NOTFOUND = 4,  /* the resource does not exist */
    FB_CONFLICT = 5,  /* exists and is not ours, or a concurrent change */
    FB_RETRYABLE = 6, /* transient; the same call may succeed later */
    FB_QUOTA = 7,     /* a provider limit was hit */
    FB_INTERNAL = 8   /* a bug or an unexpected answer */
} fb_status;

typedef enum fb_severity {
    FB_SEV_ERROR = 0,
    FB_SEV_WARNING = 1,
    FB_SEV_NOTE = 2
} fb_severity;

typedef enum fb_log_level {
    FB_LOG_ERROR = 0,
    FB_LOG_WARN = 1,
    FB_LOG_INFO = 2,
    FB_LOG_DEBUG = 3
} fb_log_level;

/*
 * fb_diag is the host's per-call context: diagnostics are added to it, and the
 * host services that belong to one call (HTTP, record, log) take it so the
 * host can attribute them to the operation in progress. Opaque to drivers.
 */
typedef struct fb_diag fb_diag;

/* Driver-owned state created by configure and released by teardown. */
typedef struct fb_driver_ctx fb_driver_ctx;

/* ---- Capability bits ------------------------------------------------------
 * FB_CAP_FUNCTION/CONTAINER/QUANTUM: the workload kinds the driver places.
 *     At least one kind bit  <=> offers and validate are non-NULL.
 * FB_CAP_RENDER   <=> render is non-NULL.
 * FB_CAP_DEPLOY   <=> apply, observe and destroy are all non-NULL.
 * FB_CAP_DISCOVER <=> discover is non-NULL.
 * FB_CAP_ESTIMATE <=> usage is non-NULL (needs a kind bit). Without it the
 *     driver is in no plan: the cost model has nothing to price, and plan
 *     says so for each of its offers.
 * FB_CAP_ATTEST   <=> attest is non-NULL (since 1.3; needs FB_CAP_DEPLOY:
 *     what it attests is a binding the driver's apply recorded).
 * The feature bits (SCALE_TO_ZERO and later) need at least one kind bit.
 * configure and teardown are always required.
 */
#define FB_CAP_FUNCTION      (UINT64_C(1) << 0)
#define FB_CAP_CONTAINER     (UINT64_C(1) << 1)
#define FB_CAP_QUANTUM       (UINT64_C(1) << 2)
#define FB_CAP_RENDER        (UINT64_C(1) << 3)
#define FB_CAP_DEPLOY        (UINT64_C(1) << 4)
#define FB_CAP_DISCOVER      (UINT64_C(1) << 5)
#define FB_CAP_SCALE_TO_ZERO (UINT64_C(1) << 6)
#define FB_CAP_GPU           (UINT64_C(1) << 7)
#define FB_CAP_PUBLIC_HTTP   (UINT64_C(1) << 8)
#define FB_CAP_AUTOSCALE     (UINT64_C(1) << 9)
#define FB_CAP_ARM64         (UINT64_C(1) << 10)
#define FB_CAP_ESTIMATE      (UINT64_C(1) << 11) /* since 1.1; <=> usage is non-NULL */
#define FB_CAP_ATTEST        (UINT64_C(1) << 12) /* since 1.3; <=> attest is non-NULL */
#define FB_CAP_KNOWN_MASK    ((UINT64_C(1) << 13) - 1)

/* ---- Host HTTP service ---------------------------------------------------- */

typedef struct fb_http_header {
    const char *name;
    const char *value;
} fb_http_header;

/* The request may be retried by the host (see host->http). */
#define FB_HTTP_IDEMPOTENT    (1u << 0)
/* Not idempotent by verb, but guarded by an idempotency token in the request,
 * so the host may retry it as well. */
#define FB_HTTP_TOKEN_GUARDED (1u << 1)
/* Changes nothing on the provider although its method may be POST (a query
 * such as ECS DescribeServices). observe may only send GET, HEAD or requests
 * with this flag. Implies FB_HTTP_IDEMPOTENT. */
#define FB_HTTP_READ_ONLY     (1u << 2)

typedef struct fb_http_request {
    size_t struct_size;            /* sizeof(fb_http_request) */
    const char *method;            /* "GET", "POST", ... */
    const char *url;               /* absolute http(s) URL */
    const fb_http_header *headers; /* borrowed */
    size_t n_headers;
    const void *body;              /* borrowed; may be NULL when body_len is 0 */
    size_t body_len;
    uint32_t flags;                /* FB_HTTP_* */
    const char *service;           /* label for logs and per-service limits */
    /* Strings (secret key, session token, bearer token) the host must redact
     * wherever it shows this request (logs, dry-run output). Borrowed. */
    const char *const *secrets;
    size_t n_secrets;
    /* Since 1.2: the connection's TLS and proxy, for a provider whose API
     * server has a CA of its own and authenticates clients by certificate
     * (a Kubernetes cluster from a kubeconfig). All borrowed and NULL when
     * unused; a driver checks host->abi_minor >= 2 before relying on them
     * (an older host ignores them and uses its defaults).
     *  tls_ca_pem:     PEM certificates trusted instead of the host's store
     *                  (the system's, or http.ca_file)
     *  tls_cert_pem,
     *  tls_key_pem:    the client certificate (chain) and its private key, PEM;
     *                  the host never shows, logs or stores them
     *  tls_server_name: the name the server's certificate must carry (and the
     *                  SNI), when it differs from the URL's host; the host
     *                  connects to the URL's host and port
     *  proxy_url:      http://, https:// or socks5:// proxy of this request
     *  tls_flags:      FB_TLS_* */
    const char *tls_ca_pem;
    const char *tls_cert_pem;
    const char *tls_key_pem;
    const char *tls_server_name;
    const char *proxy_url;
    uint32_t tls_flags;
} fb_http_request;

/* Since 1.2: do not verify the server's certificate (a kubeconfig's
 * insecure-skip-tls-verify, which drivers honour only when the user's
 * settings allow it). */
#define FB_TLS_INSECURE (1u << 0)

typedef struct fb_http_response {
    long status;                   /* HTTP status; 0 when no response */
    fb_http_header *headers;       /* host-owned; freed by host->http_free */
    size_t n_headers;
    char *body;                    /* host-owned, NUL-terminated; body_len excludes the NUL */
    size_t body_len;
} fb_http_response;

/* ---- Host services table (append-only) ------------------------------------ */

typedef struct fb_host {
    uint32_t abi_major;
    uint32_t abi_minor;
    size_t struct_size;

    /* Memory for every buffer that crosses the ABI. */
    void *(*alloc)(size_t n);
    void (*free)(void *p);

    /* Log one line attributed to the call. The host never logs secrets it was
     * told about; drivers must not pass secrets here. */
    void (*log)(fb_diag *diag, fb_log_level level, const char *message);

    /* Wall clock as Unix seconds. FEDBROKER_NOW overrides it for tests. */
    int64_t (*now)(void);

    /* Sleep (for polling); the host may shorten it in tests. */
    void (*sleep_ms)(fb_diag *diag, uint32_t ms);

    /* Perform an HTTP request with the host's retries, timeouts, limits and
     * logging. On FB_OK, resp holds the final response (any HTTP status);
     * release it with http_free. A transport failure after all retries
     * returns FB_RETRYABLE with a diagnostic. In dry-run mode the host records
     * the request and answers with status 0 and FB_OK. */
    fb_status (*http)(fb_diag *diag, const fb_http_request *req,
                      fb_http_response *resp);
    void (*http_free)(fb_http_response *resp);

    /* A named credential the broker was configured with for this driver
     * (the configuration's credentials.DRIVER.KEY, read from the
     * environment variable or file it names), e.g. "ibm.apiKey". *out
     * (host->alloc; wipe it before host->free) is set on FB_OK, and the
     * value becomes a secret of the call: the host redacts it wherever it
     * shows what the call did. FB_NOTFOUND (no diagnostic) when nothing is
     * configured under key, or outside a call the broker attributes to the
     * driver; FB_AUTH with a diagnostic when it is configured but cannot be
     * read. It does not (yet) answer for a workload's identity binding;
     * see docs/driver-abi.md, "Credentials". */
    fb_status (*credential)(fb_diag *diag, const char *key, char **out);

    /* Add a diagnostic. pointer is a JSON pointer into the call's input
     * workload (e.g. "/spec/resources/memory") or NULL. All strings are
     * copied. */
    void (*diag_add)(fb_diag *diag, fb_severity severity, const char *summary,
                     const char *detail, const char *pointer);

    /* Record a cloud-side resource right after it was created, before doing
     * anything else, so a crash leaves nothing orphaned. resource_json:
     * {"type": "...", "id": "...", "region": "...", ...}. The host stores
     * it before the call's next request that may change anything (any
     * method but GET and HEAD, unless flagged FB_HTTP_READ_ONLY) and before
     * apply ends; when the store fails, that request is refused with the
     * store's diagnostic. */
    fb_status (*record)(fb_diag *diag, const char *resource_json);

    /* Non-zero when this call is a dry run (apply prints, sends nothing). */
    int (*dry_run)(fb_diag *diag);

    /* Since 1.4 (check FB_HOST_HAS(host, http_many) before calling it; a
     * 1.3 host has no such slot). The n requests reqs[0..n) at once: the
     * same as n host->http calls in that order (retries, limits, logging,
     * redaction, a dry run's records in that order), but in flight
     * together, so pass only requests whose order does not matter to the
     * server. The record barrier is taken once, before any is sent, when
     * any of them may change something; when it refuses, none is sent.
     * Returns FB_OK when every request got its own status in statuses[i]
     * (FB_OK: resps[i] holds the answer, release each with http_free;
     * otherwise resps[i] is empty and the call's diag says why); another
     * status (with a diagnostic) when the batch could not be sent at all,
     * every statuses[i] then set to it and every resps[i] empty. The
     * diagnostics arrive in request order. reqs, resps and statuses hold
     * n elements each (borrowed; resps and statuses are written). */
    fb_status (*http_many)(fb_diag *diag, const fb_http_request *const *reqs, size_t n,
                           fb_http_response *resps, fb_status *statuses);
} fb_host;

/* ---- The driver ------------------------------------------------------------ */

typedef struct fb_driver {
    uint32_t abi_major;   /* FB_ABI_MAJOR the driver was built against */
    uint32_t abi_minor;   /* FB_ABI_MINOR the driver was built against */
    size_t struct_size;   /* sizeof(fb_driver) the driver was built with */
    const char *name;     /* [a-z0-9_-]+, equal to the file name without .so */
    const char *version;  /* the driver's own version */
    uint64_t caps;        /* FB_CAP_* */
    const char *summary;  /* one line for `fedbroker drivers` */

    /* Create driver state from its configuration: {"settings": {...}}, the
     * drivers.NAME section of the broker configuration ({} when absent).
     * A refused setting is FB_INVALID with a diagnostic at
     * /drivers/NAME/KEY. Required. */
    fb_status (*configure)(const fb_host *host, const char *config_json,
                           fb_driver_ctx **out, fb_diag *diag);

    /* What it can place: {"offers": [{"kind", "service", "region",
     * "accepts"?, "catalog"?, ...}]}. */
    fb_status (*offers)(fb_driver_ctx *ctx, char **out_json, fb_diag *diag);

    /* Check a workload against a placement: in {"workload", "placement",
     * "mode", "hoursPerMonth"?, "deployment"?}. mode is why the broker asks:
     * "plan" and "render" check the provider's rules only (no account, no
     * credentials); "dry-run" and "apply" also check deployment settings
     * and credentials. Diagnostics carry JSON pointers into the workload. */
    fb_status (*validate)(fb_driver_ctx *ctx, const char *in_json,
                          fb_diag *diag);

    /* Provider-native documents, no I/O: in {"workload", "placement",
     * "mode": "render"}, out {"documents": [{"api", "kind", "body", ...}]}.
     * Pure and deterministic. */
    fb_status (*render)(fb_driver_ctx *ctx, const char *in_json,
                        char **out_json, fb_diag *diag);

    /* Create or update: in {"workload", "placement", "deployment"?,
     * "mode": "apply"|"dry-run"} (deployment: the previous one; null or
     * absent on the first apply), out {"state": {...}, "resources": [...],
     * "result"?}. Idempotent. */
    fb_status (*apply)(fb_driver_ctx *ctx, const char *in_json,
                       char **out_json, fb_diag *diag);

    /* Read the live state: in {"deployment", "workload"?}, out {"status":
     * "ready"|"pending"|"failed"|"missing", "drift": [{"field", "want",
     * "live"}], "live"?, "result"?}. Changes nothing. */
    fb_status (*observe)(fb_driver_ctx *ctx, const char *in_json,
                         char **out_json, fb_diag *diag);

    /* Delete: in {"deployment"}, out {"deleted": [...]}. Idempotent:
     * deleting what is already gone is FB_OK. */
    fb_status (*destroy)(fb_driver_ctx *ctx, const char *in_json,
                         char **out_json, fb_diag *diag);

    /* List resources in the configured regions: in {"regions": [...]},
     * out {"resources": [{..., "managed": true|false}]}. */
    fb_status (*discover)(fb_driver_ctx *ctx, const char *in_json,
                          char **out_json, fb_diag *diag);

    /* Release ctx. Required. */
    void (*teardown)(fb_driver_ctx *ctx);

    /* Since 1.1. Monthly billing quantities of a workload on one of the
     * driver's offers, for the cost model: in {"workload", "placement",
     * "hoursPerMonth", "mode": "plan"}, out {"lines": [{"provider"?,
     * "service", "metric", "variant", "unit", "quantity": "<exact
     * decimal>", "note"?}], "notes": [...], "coldStartMs": n,
     * "idleTimeoutSeconds"?, "vcpu": "<decimal>"}. Each line names a catalog
     * price row by (provider, service, metric, variant, unit); the broker
     * prices it. Pure, like render. */
    fb_status (*usage)(fb_driver_ctx *ctx, const char *in_json,
                       char **out_json, fb_diag *diag);

    /* Since 1.2. Optional (needs usage): validate then usage of one
     * workload on n of the driver's offers in one call, so that plan reads
     * a workload once per driver instead of twice per offer. in
     * {"workload", "placements": [P0 .. Pn-1], "hoursPerMonth", "mode":
     * "plan"}; out {"results": [R0 .. Rn-1]}: Ri is false when validate
     * would refuse Pi, null when usage would fail, else the document usage
     * would return. diags[i] (n of them, each borrowed, one per placement)
     * receives exactly what validate and then usage would add for Pi; diag
     * receives what concerns the call as a whole. A non-OK status means
     * the call as a whole failed (unreadable input: no results). Pure,
     * like usage; docs/driver-abi.md, "Plan calls". */
    fb_status (*evaluate)(fb_driver_ctx *ctx, const char *in_json, size_t n,
                          fb_diag *const *diags, char **out_json,
                          fb_diag *diag);

    /* Since 1.3. Optional (FB_CAP_ATTEST): checks a proof a running
     * workload presents to `fedbroker serve` to obtain its JWT-SVID, made
     * with the provider's own credentials of the workload (AWS: an STS
     * GetCallerIdentity request the workload signed, which the driver sends
     * on to STS and which STS answers with the caller's identity). in
     * {"proof": {...} (the provider's form, docs/identity.md), "serverId":
     * the issuer URL the proof must be bound to, "tokenUrl"?: the broker's
     * token endpoint (identity.tokenUrl), the audience a proof bound by
     * audience must name (GCP: a Google-signed ID token; Kubernetes: a
     * projected service-account token)}; out {"resource": {"type",
     * "id"}}: the recorded resource (as the driver's apply recorded it
     * through host->record) that is the calling workload's own identity
     * binding; the host maps it to the workload that recorded it. A proof
     * that does not verify, or names no workload identity, is FB_AUTH with
     * a diagnostic that does not repeat the proof's credentials. Runs
     * outside any apply (no dry run, no records); may send requests through
     * host->http, which must not change anything (FB_HTTP_READ_ONLY). */
    fb_status (*attest)(fb_driver_ctx *ctx, const char *in_json,
                        char **out_json, fb_diag *diag);
} fb_driver;

typedef fb_status (*fb_driver_entry_fn)(const fb_host *host,
                                        const fb_driver **out, fb_diag *diag);

/* Declared here so drivers get the prototype; define it with
 * FB_DRIVER_EXPORT so it is the one visible symbol. */
#if defined(__GNUC__)
#define FB_DRIVER_EXPORT __attribute__((visibility("default")))
#else
#define FB_DRIVER_EXPORT
#endif

FB_DRIVER_EXPORT fb_status fb_driver_entry(const fb_host *host,
                                           const fb_driver **out,
                                           fb_diag *diag);

/* Slot access that honours struct_size: false for slots the driver's
 * struct does not have (an older minor) and for NULL slots. Hosts read
 * every fb_driver slot added after 1.0 through it. */
#define FB_DRIVER_HAS(drv, field)                                            \
    ((drv)->struct_size >= offsetof(fb_driver, field) + sizeof((drv)->field) \
     && (drv)->field != NULL)

/* The same for the host table: a driver built against a newer header that
 * wants a host slot added after the host's minor checks it first, e.g.
 * `if (FB_HOST_HAS(host, credential)) ...`. Every 1.0 slot is always
 * present (the host refuses nothing older). */
#define FB_HOST_HAS(host, field)                                              \
    ((host)->struct_size >= offsetof(fb_host, field) + sizeof((host)->field) \
     && (host)->field != NULL)

#ifdef __cplusplus
}
#endif

#endif /* FEDBROKER_DRIVER_H */
