/* http.h - the host's HTTP service: one curl multi I/O thread behind
 * host->http, its retry policy and its clients (docs/http.md). Internal to
 * core. */
#ifndef FB_HTTP_H
#define FB_HTTP_H

#include <jansson.h>
#include <stdint.h>
#include "fedbroker/fedbroker.h"
#include "base/util.h"

/* The HTTP service (http.c). */
fb_status fbi_http_perform(fb_diag *d, const fb_http_request *req,
                           fb_http_response *resp);
void fbi_http_free(fb_http_response *resp);
/* Request as the JSON object dry-run prints: method, url, headers, body with
 * the request's secrets replaced by "REDACTED". new. */
json_t *fbi_http_request_json(const fb_http_request *req);

/* ---- The HTTP service proper (http.c, http_policy.c; docs/http.md) ----
 * One process-wide client (created on first use) owns a single I/O thread
 * running one curl multi handle; every host->http call, from any thread,
 * is queued to it and waits for its completion. Tests make their own
 * clients and bind them through fbi_call.http. */
typedef struct fbi_http_client fbi_http_client;

/* Counters of one client, for tests and benchmarks. */
typedef struct fbi_http_stats {
    uint64_t requests;        /* perform calls that reached the network */
    uint64_t attempts;        /* transfers started */
    uint64_t retries;         /* attempts after the first */
    uint64_t quota_refusals;  /* retries refused because the retry quota was empty */
    uint64_t backoff_ms;      /* sum of the (unscaled) delays slept before retries */
    uint64_t last_backoff_ms; /* the last such delay */
    unsigned max_inflight;    /* most transfers ever running at once */
} fbi_http_stats;

/* (Re)configures the process-wide client from the "http" member of a JSON
 * object (shape in docs/http.md); a missing member means defaults. Unknown
 * keys and wrong types are FB_INVALID with a JSON pointer. Borrowed input. */
fb_status fbi_http_configure(const char *config_json, fb_diag *diag);
/* new: a client of its own (its own I/O thread), same config shape; NULL
 * config_json means defaults. Free with fbi_http_client_free once no
 * request is in flight. */
fb_status fbi_http_client_new(const char *config_json, fbi_http_client **out,
                              fb_diag *diag);
void fbi_http_client_free(fbi_http_client *c);
/* One request through client c (NULL = the process-wide one) with retries,
 * limits and logging. resp is filled on FB_OK (release with fbi_http_free).
 * req, its strings and d are borrowed; d must be this thread's own. */
fb_status fbi_http_client_perform(fbi_http_client *c, fb_diag *d,
                                  const fb_http_request *req,
                                  fb_http_response *resp);
/* The configuration c runs with (c NULL = the process-wide client), in the
 * shape of the "http" section with every key present: defaults, then the
 * FEDBROKER_* environment, then the configuration. "ca_file" and "seed"
 * are null for the system store and a seed from the OS; a service's
 * "retry_quota" null means the client's. new; NULL if no client. */
json_t *fbi_http_client_config(fbi_http_client *c);
/* Copies c's counters (c NULL = the process-wide client). */
void fbi_http_client_stats(fbi_http_client *c, fbi_http_stats *out);
/* Tokens left in the retry quota of a service key (req->service or URL
 * host); the configured full quota when the key was never used. */
long fbi_http_retry_quota(fbi_http_client *c, const char *service);
/* Stops and frees the process-wide client (tests, end of main). */
void fbi_http_shutdown(void);
/* The configured default fan-out parallelism (http.parallelism). */
unsigned fbi_http_parallelism(void);
/* Raises (delta > 0) or lowers the bound on requests outstanding at once
 * in each client by delta: fbi_fanout adds its parallelism while it runs
 * and takes it back after, so P lanes have at most P requests out however
 * many each sends together (host->http_many). No fan-out running: no
 * bound. Thread-safe. */
void fbi_http_outstanding_add(int delta);
/* The configured whole-transfer timeout of one attempt (http.timeout_ms):
 * the longest the host waits for a provider's answer. */
long fbi_http_timeout_ms(void);

/* ---- Provider-call metrics (http_metrics.c; docs/serve.md) ----
 * One observation per request that reached the HTTP service's network
 * side: the driver's name and verb (fbi_call; "none" outside a driver
 * call), the service key, the final status (0: no answer), the retries it
 * took and its seconds, back-off included. Label values keep
 * [A-Za-z0-9_.:-] (other bytes become '_'), at most 63 bytes; at most
 * 512 label sets, later ones counted as "overflow". Thread notes: any
 * thread; one process-wide table. */
/* The environment variable naming the socket (a SOCK_SEQPACKET fd >= 3)
 * that a command run by serve sends its observations to, one line each:
 * "1 PROVIDER SERVICE VERB STATUS RETRIES SECONDS". */
#define FBI_METRICS_FD_ENV "FEDBROKER_METRICS_FD"
/* Records one observation: sent to FEDBROKER_METRICS_FD when this process
 * has one, else added to the table under operation "serve". Strings
 * borrowed, may be NULL. */
void fbi_http_metrics_note(const char *provider, const char *service, const char *verb, long status,
                           unsigned retries, double seconds);
/* Adds one line received from a command (line borrowed, n bytes, a
 * trailing newline allowed) under operation (its kind: "apply", ...).
 * 0, or -1 when it does not parse (counted, nothing added). */
int fbi_http_metrics_ingest(const char *operation, const char *line, size_t n);
/* Appends the table in the Prometheus text format 0.0.4 to b: the
 * families fedbroker_provider_requests_total, _retries_total,
 * _request_duration_seconds (histogram) and
 * fedbroker_provider_reports_malformed_total. */
void fbi_http_metrics_text(fbi_buf *b);
/* Empties the table (tests). */
void fbi_http_metrics_reset(void);

/* ---- Retry policy helpers (http_policy.c), pure and unit-tested ---- */
/* The AWS error code of a response: X-Amzn-ErrorType header, else JSON
 * "__type"/"code"/"Code", else the first XML <Code>; namespace ("a.b#") and
 * suffix (":http://...") stripped. new (free()) or NULL when none. */
char *fbi_http_error_code(const fb_http_header *headers, size_t n_headers,
                          const char *body, size_t body_len);
/* Non-zero when code (borrowed) is one of the throttling codes. */
int fbi_http_is_throttling_code(const char *code);
/* Non-zero when code is a transient code (RequestTimeout, ...). */
int fbi_http_is_transient_code(const char *code);
/* Retry-After as delta-seconds or HTTP-date, relative to now (Unix
 * seconds). 0 and *ms set (never negative), -1 when unparseable. */
int fbi_http_parse_retry_after(const char *value, int64_t now, uint64_t *ms);
/* Full-jitter backoff before retry number `retry` (1 = first retry):
 * floor(u * min(max_ms, base_ms * 2^(retry-1))), u = r / 2^64 in [0,1). */
uint64_t fbi_http_backoff_ms(uint64_t r, unsigned retry, uint64_t base_ms,
                             uint64_t max_ms);
/* splitmix64 step: the seedable randomness of retries. */
uint64_t fbi_http_rand_next(uint64_t *state);

/* The retry quota (token bucket of the AWS SDKs' standard retry mode). */
typedef struct fbi_retry_quota {
    long max;
    long available;
} fbi_retry_quota;
void fbi_retry_quota_init(fbi_retry_quota *q, long capacity);
/* Takes amount when available: 1, else 0 and nothing taken. */
int fbi_retry_quota_acquire(fbi_retry_quota *q, long amount);
/* Gives amount back, never above max. */
void fbi_retry_quota_release(fbi_retry_quota *q, long amount);

#endif
