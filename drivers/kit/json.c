/* json.c - the few JSON and diagnostic helpers every driver needs: JSON in
 * with a located error, canonical JSON out into a host->alloc buffer, and
 * printf-style diagnostics through host->diag_add. */
#include "config.h"
#include "fbk.h"
#include "base/jsonread.h"
#include "base/jsonwrite.h"

#include <pthread.h>
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
    /* json_dumps(JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY)'s bytes */
    char *s = j ? fbi_json_write(j, FBI_JSON_WRITE_SORT) : NULL;
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
    json_t *j = fbi_json_reads(text, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        fbk_diag(host, diag, FB_SEV_ERROR, NULL, "%s is not valid JSON (line %d, column %d)\n%s",
                 what, je.line, je.column, je.text);
        return FB_INVALID;
    }
    *out = j;
    return FB_OK;
}

/* ---- validate's parsed inputs, for apply (fbk.h) ---- */

struct fbk_input_cache {
    pthread_mutex_t mu;
    char *text[FBK_INPUT_CACHE];  /* NULL: a free slot */
    size_t len[FBK_INPUT_CACHE];
    json_t *value[FBK_INPUT_CACHE];
    unsigned long long age[FBK_INPUT_CACHE]; /* put order: the smallest goes first */
    unsigned long long clock;
};

fbk_input_cache *fbk_input_cache_new(void)
{
    fbk_input_cache *c = fbk_xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

void fbk_input_cache_free(fbk_input_cache *c)
{
    if (!c) return;
    for (size_t i = 0; i < FBK_INPUT_CACHE; i++) {
        free(c->text[i]);
        json_decref(c->value[i]);
    }
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void fbk_input_cache_put(fbk_input_cache *c, const char *text, json_t *in)
{
    if (!c || !text || !in) {
        json_decref(in);
        return;
    }
    size_t n = strlen(text);
    char *copy = fbk_xstrndup(text, n);
    char *old_text = NULL;
    json_t *old = NULL;
    pthread_mutex_lock(&c->mu);
    size_t at = 0;
    for (size_t i = 0; i < FBK_INPUT_CACHE; i++) {
        if (!c->text[i]) {
            at = i;
            break;
        }
        if (c->age[i] < c->age[at]) at = i;
    }
    old_text = c->text[at];
    old = c->value[at];
    c->text[at] = copy;
    c->len[at] = n;
    c->value[at] = in;
    c->age[at] = ++c->clock;
    pthread_mutex_unlock(&c->mu);
    free(old_text); /* outside the lock: freeing a document is not free */
    json_decref(old);
}

json_t *fbk_input_cache_take(fbk_input_cache *c, const char *text)
{
    if (!c || !text) return NULL;
    size_t n = strlen(text);
    char *t = NULL;
    json_t *v = NULL;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < FBK_INPUT_CACHE && !v; i++) {
        if (c->text[i] && c->len[i] == n && !memcmp(c->text[i], text, n)) {
            t = c->text[i];
            v = c->value[i];
            c->text[i] = NULL;
            c->value[i] = NULL;
            c->age[i] = 0;
        }
    }
    pthread_mutex_unlock(&c->mu);
    free(t);
    return v;
}
