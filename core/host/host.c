/* host.c - the services table handed to every driver. Everything a driver
 * needs from the outside world (memory, time, HTTP, credentials, logging,
 * recording cloud ids) goes through here so tests can fix it. */
#include "config.h"
#include "base/call.h"
#include "http/http.h"
#include "base/diag.h"
#include "base/util.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void *host_alloc(size_t n) { return fbi_xmalloc(n); }
static void host_free(void *p) { free(p); }

/* Redacted like diagnostics: a driver may log what a provider said. */
static void host_log(fb_diag *d, fb_log_level level, const char *message)
{
    fbi_call *c = fbi_call_of(d);
    fbi_call_log(c, c ? c->driver : "driver", level, message);
}

static int64_t host_now(void)
{
    int64_t t;
    char *err = NULL;
    if (fbi_now(&t, &err) != 0) {
        /* Malformed FEDBROKER_NOW is reported by the CLI at start-up; fall
         * back to the real clock rather than inventing a time. */
        free(err);
        return (int64_t)time(NULL);
    }
    return t;
}

/* Tests set FEDBROKER_SLEEP_SCALE=0 to poll without waiting. */
static void host_sleep_ms(fb_diag *d, uint32_t ms)
{
    const char *s = getenv("FEDBROKER_SLEEP_SCALE");
    double scale = s ? atof(s) : 1.0;
    double total = (double)ms * scale;
    if (total <= 0) return;
    struct timespec ts = {(time_t)(total / 1000), (long)((long long)total % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static fb_status host_http(fb_diag *d, const fb_http_request *req, fb_http_response *resp)
{
    fbi_call *c = fbi_call_of(d);
    memset(resp, 0, sizeof *resp);
    /* From now on the call knows what it sent: whatever comes back quoting
     * it is redacted before it is printed or stored. */
    if (c) fbi_secrets_add_request(&c->secrets, req);
    if (c && c->dry_run) {
        if (!c->dry_requests) c->dry_requests = json_array();
        json_array_append_new(c->dry_requests, fbi_http_request_json(req));
        return FB_OK;
    }
    /* fields past the driver's struct_size count as absent (0 = current) */
    size_t sz = req->struct_size ? req->struct_size : sizeof *req;
    uint32_t flags = sz >= offsetof(fb_http_request, flags) + sizeof req->flags ? req->flags : 0;
    if (c && c->barrier_cb && req->method && strcmp(req->method, "GET") != 0 &&
        strcmp(req->method, "HEAD") != 0 && !(flags & FB_HTTP_READ_ONLY)) {
        fb_status st = c->barrier_cb(c->barrier_ud, d);
        if (st != FB_OK) return st;
    }
    return fbi_http_perform(d, req, resp);
}

static fb_status host_credential(fb_diag *d, const char *key, char **out)
{
    (void)key;
    *out = NULL;
    return FB_NOTFOUND;
}

static void host_diag_add(fb_diag *d, fb_severity sev, const char *summary,
                          const char *detail, const char *pointer)
{
    fb_diag_add(d, sev, NULL, 0, 0, pointer, summary, detail);
}

static fb_status host_record(fb_diag *d, const char *resource_json)
{
    fbi_call *c = fbi_call_of(d);
    json_error_t je;
    json_t *j = json_loads(resource_json, 0, &je);
    if (!j || !json_is_object(j) || !json_is_string(json_object_get(j, "id"))) {
        json_decref(j);
        fb_diag_add(d, FB_SEV_ERROR, NULL, 0, 0, NULL,
                    "host->record needs a JSON object with a string \"id\"", resource_json);
        return FB_INVALID;
    }
    /* stored as the broker keeps it: redacted like everything else */
    fbi_call_redact_json(c, j);
    if (c) json_array_append(c->recorded, j);
    fb_status st = FB_OK;
    if (c && c->record_cb) {
        char *text = fbi_json_canonical(j);
        st = c->record_cb(c->record_ud, c->driver, text, d);
        free(text);
    }
    json_decref(j);
    return st;
}

static int host_dry_run(fb_diag *d)
{
    fbi_call *c = fbi_call_of(d);
    return c ? c->dry_run : 0;
}

static const fb_host host_table = {
    .abi_major = FB_ABI_MAJOR,
    .abi_minor = FB_ABI_MINOR,
    .struct_size = sizeof(fb_host),
    .alloc = host_alloc,
    .free = host_free,
    .log = host_log,
    .now = host_now,
    .sleep_ms = host_sleep_ms,
    .http = host_http,
    .http_free = fbi_http_free,
    .credential = host_credential,
    .diag_add = host_diag_add,
    .record = host_record,
    .dry_run = host_dry_run,
};

const fb_host *fb_host_table(void)
{
    return &host_table;
}
