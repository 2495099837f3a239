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
    fbi_secrets_clear(&c->secrets);
    fbi_secrets_clear(&c->handed);
}

void fbi_call_redact_json(const fbi_call *c, json_t *j)
{
    if (j) fbi_redact_json(c ? &c->secrets : NULL, 1, j);
}

char *fbi_call_redact(const fbi_call *c, const char *s)
{
    return fbi_redact_text(c ? &c->secrets : NULL, 1, s, strlen(s));
}

void fbi_call_log(const fbi_call *c, const char *driver, fb_log_level level, const char *message)
{
    if (level > fbi_log_level()) return;
    char *r = fbi_call_redact(c, message);
    fbi_log(driver ? driver : c ? c->driver : NULL, level, r);
    free(r);
}

