/* call.h - the per-call context behind fb_diag: what one driver call is
 * doing (its driver, dry run, what it recorded, the HTTP client it uses)
 * and the log. The host services (host/host.c, http/) find it through the
 * fb_diag they are given. Internal to core. */
#ifndef FB_CALL_H
#define FB_CALL_H

#include <jansson.h>
#include <stdint.h>
#include "fedbroker/fedbroker.h"

/* Called by host->record: store the cloud-side id before anything else is
 * changed (see fbi_barrier_fn). Returns FB_OK or an error status (then the
 * driver must stop). */
typedef fb_status (*fbi_record_fn)(void *ud, const char *driver,
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
} fbi_call;

/* Initialises c and binds it to d, so host services called with d find it. */
void fbi_call_begin(fbi_call *c, fb_diag *d, const char *driver);
/* Unbinds and releases what the call owns. */
void fbi_call_end(fbi_call *c, fb_diag *d);
fbi_call *fbi_call_of(fb_diag *d);

/* Logging threshold from FEDBROKER_LOG (error|warn|info|debug; default warn). */
fb_log_level fbi_log_level(void);
void fbi_log(const char *driver, fb_log_level level, const char *message);

#endif
