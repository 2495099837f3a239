/* diag.c - diagnostics: every problem found, with where and what to do.
 * The same structure is the per-call context handed to drivers. */
#include "config.h"
#include "base/call.h"
#include "base/diag.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

fb_diag *fb_diag_new(void)
{
    return fbi_xcalloc(1, sizeof(fb_diag));
}

static void item_free(fbi_diag_item *it)
{
    free(it->file);
    free(it->pointer);
    free(it->summary);
    free(it->detail);
}

void fb_diag_free(fb_diag *d)
{
    if (!d) return;
    for (size_t i = 0; i < d->n; i++) item_free(&d->items[i]);
    free(d->items);
    free(d);
}

static char *dup_or_null(const char *s)
{
    return s ? fbi_xstrdup(s) : NULL;
}

/* A copy of s, redacted when d is a driver call's context: whatever a
 * driver, the HTTP service or the broker says during a call may quote the
 * provider, and the provider may quote what the call sent (issue 9). */
static char *dup_for(const fb_diag *d, const char *s)
{
    if (!s) return NULL;
    return d->call ? fbi_call_redact(d->call, s) : fbi_xstrdup(s);
}

void fb_diag_add(fb_diag *d, fb_severity sev, const char *file, int line,
                 int column, const char *pointer, const char *summary,
                 const char *detail)
{
    if (!d) return;
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 8;
        d->items = fbi_xrealloc(d->items, d->cap * sizeof *d->items);
    }
    fbi_diag_item *it = &d->items[d->n++];
    it->sev = sev;
    it->file = dup_or_null(file);
    it->line = line;
    it->column = column;
    it->pointer = dup_for(d, pointer);
    it->summary = dup_for(d, summary ? summary : "(no summary)");
    it->detail = dup_for(d, detail);
}

size_t fb_diag_count(const fb_diag *d)
{
    return d ? d->n : 0;
}

size_t fb_diag_errors(const fb_diag *d)
{
    size_t n = 0;
    for (size_t i = 0; d && i < d->n; i++)
        if (d->items[i].sev == FB_SEV_ERROR) n++;
    return n;
}

void fb_diag_move(fb_diag *dst, fb_diag *src)
{
    for (size_t i = 0; i < src->n; i++) {
        if (dst->n == dst->cap) {
            dst->cap = dst->cap ? dst->cap * 2 : 8;
            dst->items = fbi_xrealloc(dst->items, dst->cap * sizeof *dst->items);
        }
        dst->items[dst->n++] = src->items[i];
    }
    src->n = 0;
}

fb_severity fb_diag_severity(const fb_diag *d, size_t i) { return d->items[i].sev; }
const char *fb_diag_summary(const fb_diag *d, size_t i) { return d->items[i].summary; }
const char *fb_diag_detail(const fb_diag *d, size_t i) { return d->items[i].detail; }
const char *fb_diag_pointer(const fb_diag *d, size_t i) { return d->items[i].pointer; }
const char *fb_diag_file(const fb_diag *d, size_t i) { return d->items[i].file; }
int fb_diag_line(const fb_diag *d, size_t i) { return d->items[i].line; }
int fb_diag_column(const fb_diag *d, size_t i) { return d->items[i].column; }

static const char *sev_name(fb_severity s)
{
    return s == FB_SEV_ERROR ? "error" : s == FB_SEV_WARNING ? "warning" : "note";
}

/* Writes s with its control characters escaped (fbi_printable): pointers
 * hold the keys of the input as they are, and summaries may quote it. */
static void put_printable(FILE *out, const char *s, int keep_newlines)
{
    char *p = fbi_printable(s, keep_newlines, 0);
    fputs(p, out);
    free(p);
}

void fb_diag_print(const fb_diag *d, FILE *out)
{
    for (size_t i = 0; d && i < d->n; i++) {
        const fbi_diag_item *it = &d->items[i];
        if (it->file) {
            put_printable(out, it->file, 0);
            if (it->line > 0) {
                fprintf(out, ":%d", it->line);
                if (it->column > 0) fprintf(out, ":%d", it->column);
            }
            fputs(": ", out);
        }
        fprintf(out, "%s: ", sev_name(it->sev));
        if (it->pointer) {
            put_printable(out, it->pointer[0] ? it->pointer : "(document)", 0);
            fputs(": ", out);
        }
        put_printable(out, it->summary, 0);
        fputc('\n', out);
        if (it->detail) {
            fputs("  ", out);
            put_printable(out, it->detail, 1);
            fputc('\n', out);
        }
    }
}

json_t *fbi_diag_json(const fb_diag *d)
{
    json_t *arr = json_array();
    for (size_t i = 0; d && i < d->n; i++) {
        const fbi_diag_item *it = &d->items[i];
        json_t *o = json_object();
        json_object_set_new(o, "severity", json_string(sev_name(it->sev)));
        if (it->file) json_object_set_new(o, "file", json_string(it->file));
        if (it->line > 0) json_object_set_new(o, "line", json_integer(it->line));
        if (it->column > 0) json_object_set_new(o, "column", json_integer(it->column));
        if (it->pointer) json_object_set_new(o, "pointer", json_string(it->pointer));
        json_object_set_new(o, "summary", json_string(it->summary));
        if (it->detail) json_object_set_new(o, "detail", json_string(it->detail));
        json_array_append_new(arr, o);
    }
    return arr;
}

char *fb_diag_to_json(const fb_diag *d)
{
    json_t *arr = fbi_diag_json(d);
    char *s = json_dumps(arr, JSON_INDENT(2));
    json_decref(arr);
    return s;
}
