/* call.h - the per-call context behind fb_diag: what one driver call is
 * doing (its driver, dry run, what it recorded, the HTTP client it uses)
 * and the log. The host services (host/host.c, http/) find it through the
 * fb_diag they are given. Internal to core. */
#ifndef FB_CALL_H
#define FB_CALL_H

#include <jansson.h>
#include <stdint.h>
#include "fedbroker/fedbroker.h"
#include "base/redact.h"

/* Called by host->record: store the cloud-side id before anything else is
 * changed (see fbi_barrier_fn). resource is resource_json parsed (an
 * object with a string "id"; borrowed, both redacted). Returns FB_OK or an
 * error status (then the driver must stop). */
typedef fb_status (*fbi_record_fn)(void *ud, const char *driver, const json_t *resource,
                                   const char *resource_json, fb_diag *diag);

/* Called by host->http before a request that may change something (any
 * method but GET and HEAD, unless flagged FB_HTTP_READ_ONLY): returns once
 * what the call has recorded so far is stored, or the error that refuses
 * the request. */
typedef fb_status (*fbi_barrier_fn)(void *ud, fb_diag *diag);

typedef struct fbi_call {
    const char *driver;        /* borrowed: driver name, for logs */
    int dry_run;
    json_t *dry_requests;      /* new: array of requests seen in a dry run */
    json_t *recorded;          /* new: resources passed to host->record */
    fbi_record_fn record_cb;
    void *record_ud;
    fbi_barrier_fn barrier_cb;
    void *barrier_ud;
    struct fbi_http_client *http; /* borrowed; NULL = the process default */
    /* What the call has sent that must not come back out: every request's
     * secrets and credential headers (host->http adds them). Everything
     * from the provider that the host prints or stores for this call goes
     * through it: diagnostics (fb_diag_add), logs, recorded resources and
     * the verb's output (fbi_call_redact_json). */
    fbi_secrets secrets;
    /* borrowed: the tenant of the workload an apply call is about (NULL
     * elsewhere): host->credential answers secret://NAME of this tenant */
    const char *tenant;
    /* The portable secrets host->credential handed the driver (also in
     * secrets): the only ones a dry run's requests may carry in a body,
     * redacted there too (the rest of a dry-run request is shown as sent) */
    fbi_secrets handed;
    /* the driver verb being called ("apply", "observe", "destroy",
     * "discover"), for the provider-call metrics; empty when unknown */
    char verb[16];
} fbi_call;

/* Initialises c and binds it to d, so host services called with d find it. */
void fbi_call_begin(fbi_call *c, fb_diag *d, const char *driver);
/* Unbinds and releases what the call owns (its secrets wiped). */
void fbi_call_end(fbi_call *c, fb_diag *d);
fbi_call *fbi_call_of(fb_diag *d);
/* Redacts j in place with what call c has sent (c may be NULL: patterns
 * only). For a verb's output and recorded resources before they are
 * printed or stored. Borrowed. */
void fbi_call_redact_json(const fbi_call *c, json_t *j);
/* Redacted text (new) of s for the call c (may be NULL). */
char *fbi_call_redact(const fbi_call *c, const char *s);

/* Logging threshold from FEDBROKER_LOG (error|warn|info|debug; default warn). */
fb_log_level fbi_log_level(void);
void fbi_log(const char *driver, fb_log_level level, const char *message);
/* fbi_log for a line about call c (may be NULL): redacted with what the
 * call has sent and credential-looking fields, attributed to its driver
 * unless driver is given. */
void fbi_call_log(const fbi_call *c, const char *driver, fb_log_level level,
                  const char *message);

#endif
