/* call.c - the per-call context (base/call.h) and the log. */
#include "config.h"
#include "base/call.h"
#include "base/diag.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

fb_log_level fbi_log_level(void)
{
    const char *s = getenv("FEDBROKER_LOG");
    if (!s) return FB_LOG_WARN;
    if (!strcmp(s, "error")) return FB_LOG_ERROR;
    if (!strcmp(s, "info")) return FB_LOG_INFO;
    if (!strcmp(s, "debug")) return FB_LOG_DEBUG;
    return FB_LOG_WARN;
}

void fbi_log(const char *driver, fb_log_level level, const char *message)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    if (level > fbi_log_level()) return;
    fprintf(stderr, "fedbroker[%s] %s: %s\n", driver ? driver : "core",
            names[level <= FB_LOG_DEBUG ? level : FB_LOG_DEBUG], message);
}

fbi_call *fbi_call_of(fb_diag *d)
{
    return d ? d->call : NULL;
}

void fbi_call_begin(fbi_call *c, fb_diag *d, const char *driver)
{
    memset(c, 0, sizeof *c);
    c->driver = driver;
    c->recorded = json_array();
    d->call = c;
}

void fbi_call_end(fbi_call *c, fb_diag *d)
{
    if (d && d->call == c) d->call = NULL;
    json_decref(c->dry_requests);
    json_decref(c->recorded);
    c->dry_requests = c->recorded = NULL;
}

