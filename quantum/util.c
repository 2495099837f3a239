/* util.c - allocation, arena, text buffers and errors of the quantum
 * library (kept apart from core's fbi_ helpers so a driver .so can link the
 * library alone). */
#include "config.h"
#include "fbq_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Out of memory on a small allocation is not recoverable; fail loudly. */
static void oom(size_t n)
{
    fprintf(stderr, "fbq: out of memory allocating %zu bytes\n", n);
    abort();
}

void *fbq_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

void *fbq_xcalloc(size_t n, size_t m)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (!p) oom(n * m);
    return p;
}

void *fbq_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n);
    return q;
}

char *fbq_xstrndup(const char *s, size_t n)
{
    char *p = fbq_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *fbq_xstrdup(const char *s)
{
    return fbq_xstrndup(s, strlen(s));
}

/* ---- arena ---- */

struct fbq_arena_blk {
    fbq_arena_blk *next;
    size_t used, cap;
    max_align_t data[];
};

/* Hands out zeroed, max-aligned pieces of 64 KiB blocks (bigger requests get
 * their own block), so the parser never frees node by node. */
void *fbq_arena_alloc(fbq_arena *a, size_t n)
{
    size_t al = sizeof(max_align_t);
    n = (n + al - 1) / al * al;
    fbq_arena_blk *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        b = fbq_xmalloc(sizeof *b + cap);
        b->used = 0;
        b->cap = cap;
        b->next = a->head;
        a->head = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

char *fbq_arena_strndup(fbq_arena *a, const char *s, size_t n)
{
    char *p = fbq_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void fbq_arena_free(fbq_arena *a)
{
    fbq_arena_blk *b = a->head;
    while (b) {
        fbq_arena_blk *nx = b->next;
        free(b);
        b = nx;
    }
    a->head = NULL;
}

/* ---- text buffer ---- */

void fbq_sb_put(fbq_sb *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1) cap *= 2;
        b->d = fbq_xrealloc(b->d, cap);
        b->cap = cap;
    }
    memcpy(b->d + b->n, s, n);
    b->n += n;
    b->d[b->n] = '\0';
}

void fbq_sb_puts(fbq_sb *b, const char *s)
{
    fbq_sb_put(b, s, strlen(s));
}

void fbq_sb_printf(fbq_sb *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) {
        fbq_sb_put(b, tmp, (size_t)n);
        return;
    }
    char *big = fbq_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    fbq_sb_put(b, big, (size_t)n);
    free(big);
}

char *fbq_sb_steal(fbq_sb *b)
{
    char *d = b->d ? b->d : fbq_xstrdup("");
    b->d = NULL;
    b->n = b->cap = 0;
    return d;
}

/* ---- errors ---- */

void fbq_seterr(fbq_error *e, fbq_status code, const char *file, int line,
                int col, const char *fmt, ...)
{
    if (!e) return;
    e->code = code;
    e->line = line;
    e->column = col;
    snprintf(e->file, sizeof e->file, "%s", file ? file : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
}

char *fbq_error_format(const fbq_error *err, char *buf, size_t n)
{
    if (!n) return buf;
    if (err->file[0] && err->line > 0)
        snprintf(buf, n, "%s:%d:%d: %s", err->file, err->line, err->column, err->message);
    else if (err->file[0])
        snprintf(buf, n, "%s: %s", err->file, err->message);
    else
        snprintf(buf, n, "%s", err->message);
    return buf;
}

const char *fbq_status_name(fbq_status s)
{
    switch (s) {
    case FBQ_OK: return "ok";
    case FBQ_ESYNTAX: return "syntax error";
    case FBQ_EUNDEFINED: return "undefined name";
    case FBQ_EARGS: return "wrong arguments";
    case FBQ_ERANGE: return "out of range";
    case FBQ_EDUPLICATE: return "duplicate definition";
    case FBQ_EINCLUDE: return "include error";
    case FBQ_EMEMORY: return "too big for the memory limit";
    case FBQ_EUNSUPPORTED: return "unsupported";
    case FBQ_EINVALID: return "invalid request";
    case FBQ_ESTOPPED: return "stopped by the caller";
    }
    return "unknown";
}

/* ---- state vectors ---- */

double *fbq_state_alloc(int n)
{
    if (n < 0 || n > 58) return NULL;
    size_t bytes = (size_t)16 << n;
    if (bytes < 64) bytes = 64;
    return aligned_alloc(64, bytes);
}

void fbq_state_free(double *s)
{
    free(s);
}

const char *fbq_embedded_header(const char *name, size_t *len)
{
    if (name && strcmp(name, "qelib1.inc") == 0) {
        if (len) *len = fbq_hdr_qelib1_len;
        return fbq_hdr_qelib1;
    }
    if (name && strcmp(name, "stdgates.inc") == 0) {
        if (len) *len = fbq_hdr_stdgates_len;
        return fbq_hdr_stdgates;
    }
    if (name && strcmp(name, "qelib1-qiskit.inc") == 0) {
        if (len) *len = fbq_hdr_qelib1_qiskit_len;
        return fbq_hdr_qelib1_qiskit;
    }
    return NULL;
}
