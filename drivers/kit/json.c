/* json.c - the few JSON and diagnostic helpers every driver needs: JSON in
 * with a located error, canonical JSON out into a host->alloc buffer, and
 * printf-style diagnostics through host->diag_add. */
#include "config.h"
#include "fbk.h"

#include <stdlib.h>
#include <string.h>

/* printf-style diagnostics; first line summary, rest detail. */
void fbk_diag(const fb_host *host, fb_diag *diag, fb_severity sev, const char *pointer,
              const char *fmt, ...)
{
    if (!host || !host->diag_add) return;
    va_list ap;
    va_start(ap, fmt);
    char *text = fbk_xvasprintf(fmt, ap);
    va_end(ap);
    char *nl = strchr(text, '\n');
    const char *detail = NULL;
    if (nl) {
        *nl = '\0';
        detail = nl + 1;
    }
    host->diag_add(diag, sev, text, detail, pointer);
    free(text);
}

/* Driver output must be host->alloc memory and deterministic. */
fb_status fbk_json_out(const fb_host *host, fb_diag *diag, const json_t *j, char **out)
{
    *out = NULL;
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
    if (!s) {
        fbk_diag(host, diag, FB_SEV_ERROR, NULL,
                 "driver could not serialise its JSON output\n"
                 "jansson refused the value (invalid UTF-8 in a string, or no value); "
                 "this is a driver bug");
        return FB_INTERNAL;
    }
    size_t n = strlen(s);
    char *o = host->alloc(n + 1);
    if (!o) {
        free(s);
        fbk_diag(host, diag, FB_SEV_ERROR, NULL, "host->alloc(%zu) failed", n + 1);
        return FB_INTERNAL;
    }
    memcpy(o, s, n + 1);
    free(s);
    *out = o;
    return FB_OK;
}

/* Driver input errors must say where (line, column). */
fb_status fbk_json_in(const fb_host *host, fb_diag *diag, const char *what, const char *text,
                      json_t **out)
{
    *out = NULL;
    if (!text) {
        fbk_diag(host, diag, FB_SEV_ERROR, NULL, "%s: no JSON text was given", what);
        return FB_INVALID;
    }
    json_error_t je;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        fbk_diag(host, diag, FB_SEV_ERROR, NULL, "%s is not valid JSON (line %d, column %d)\n%s",
                 what, je.line, je.column, je.text);
        return FB_INVALID;
    }
    *out = j;
    return FB_OK;
}
