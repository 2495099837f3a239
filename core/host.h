/* host.h - the per-call context behind fb_diag and the host services that
 * use it (HTTP, record, dry-run). Internal to core. */
#ifndef FB_HOST_H
#define FB_HOST_H

#include <jansson.h>
#include "fedbroker/fedbroker.h"

/* Called by host->record: store the cloud-side id before anything else.
 * Returns FB_OK or an error status (then the driver must stop). */
typedef fb_status (*fbi_record_fn)(void *ud, const char *driver,
                                   const char *resource_json, fb_diag *diag);

typedef struct fbi_call {
    const char *driver;        /* borrowed: driver name, for logs */
    int dry_run;
    json_t *dry_requests;      /* new: array of requests seen in a dry run */
    json_t *recorded;          /* new: resources passed to host->record */
    fbi_record_fn record_cb;
    void *record_ud;
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

/* The HTTP service (http.c). */
fb_status fbi_http_perform(fb_diag *d, const fb_http_request *req,
                           fb_http_response *resp);
void fbi_http_free(fb_http_response *resp);
/* Request as the JSON object dry-run prints: method, url, headers, body with
 * the request's secrets replaced by "REDACTED". new. */
json_t *fbi_http_request_json(const fb_http_request *req);

#endif
