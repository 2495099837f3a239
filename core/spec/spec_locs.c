/* spec_locs.c - the pointer -> line:column map of a spec file, kept small.
 *
 * Every node of a file gets an entry, so the map is as large as the file's
 * node count: a JSON object keyed by pointer text (what this replaced) cost
 * about 130 bytes a node, most of a parse's memory. An entry here is 16
 * bytes: the 64-bit FNV-1a hash of the pointer, the line, and the column
 * packed with the pointer's depth (its number of '/'). Entries stay in
 * document (pre-)order, so the entries of a subtree are contiguous and a
 * workload can keep a copy of its own few (fbi_locmap_subtree) after the
 * file's map is gone. Lookups are only needed for errors: the sorted index
 * a large map needs is built on the first lookup.
 *
 * A hash collision (about n^2 / 2^65 for n nodes: 1e-7 at 2 million) can
 * only move an error to another line of the same file.
 *
 * Not thread-safe (the lazy index): a map is used by the thread that reads
 * the spec set, as the set itself is. */
#include "config.h"
#include "spec/spec.h"

#include <stdlib.h>
#include <string.h>

#define COL_BITS 26 /* columns up to 67 million: more than a 4 MiB line */
#define COL_MASK ((UINT32_C(1) << COL_BITS) - 1)
#define DEPTH_MAX 63 /* 6 bits; nesting is limited to 32 levels */
#define LINEAR_MAX 64 /* below this many entries a scan beats an index */

typedef struct loc_entry {
    uint64_t hash;
    uint32_t line;
    uint32_t col_depth; /* column | depth << COL_BITS */
} loc_entry;

typedef struct loc_key {
    uint64_t hash;
    uint32_t entry;
} loc_key;

struct fbi_locmap {
    loc_entry *e;
    size_t n, cap;
    loc_key *index;  /* sorted by (hash, entry); NULL until a lookup needs it */
    size_t indexed;  /* n when the index was built */
    unsigned refs;
};

static uint64_t ptr_hash(const char *p, size_t len)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)p[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

static unsigned ptr_depth(const char *p, size_t len)
{
    unsigned d = 0;
    for (size_t i = 0; i < len; i++)
        if (p[i] == '/') d++;
    return d > DEPTH_MAX ? DEPTH_MAX : d;
}

fbi_locmap *fbi_locmap_new(void)
{
    fbi_locmap *m = fbi_xcalloc(1, sizeof *m);
    m->refs = 1;
    return m;
}

fbi_locmap *fbi_locmap_ref(fbi_locmap *m)
{
    if (m) m->refs++;
    return m;
}

void fbi_locmap_unref(fbi_locmap *m)
{
    if (!m || --m->refs > 0) return;
    free(m->e);
    free(m->index);
    free(m);
}

size_t fbi_locmap_count(const fbi_locmap *m)
{
    return m ? m->n : 0;
}

void fbi_loc_put(fbi_locmap *m, const char *pointer, int line, int col)
{
    if (!m) return;
    size_t len = strlen(pointer);
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->e = fbi_xrealloc(m->e, m->cap * sizeof *m->e);
    }
    loc_entry *x = &m->e[m->n++];
    x->hash = ptr_hash(pointer, len);
    x->line = line > 0 ? (uint32_t)line : 0;
    uint32_t c = col > 0 ? (uint32_t)col : 0;
    x->col_depth = (c > COL_MASK ? COL_MASK : c) | (uint32_t)ptr_depth(pointer, len) << COL_BITS;
}

static int cmp_key(const void *a, const void *b)
{
    const loc_key *x = a, *y = b;
    if (x->hash != y->hash) return x->hash < y->hash ? -1 : 1;
    return x->entry < y->entry ? -1 : x->entry > y->entry; /* the first entry of a pointer wins */
}

static void build_index(fbi_locmap *m)
{
    free(m->index);
    m->index = fbi_xmalloc(m->n * sizeof *m->index);
    for (size_t i = 0; i < m->n; i++) m->index[i] = (loc_key){m->e[i].hash, (uint32_t)i};
    qsort(m->index, m->n, sizeof *m->index, cmp_key);
    m->indexed = m->n;
}

/* The first entry of a hash, or -1. */
static long find(fbi_locmap *m, uint64_t h)
{
    if (m->n <= LINEAR_MAX) {
        for (size_t i = 0; i < m->n; i++)
            if (m->e[i].hash == h) return (long)i;
        return -1;
    }
    if (!m->index || m->indexed != m->n) build_index(m);
    size_t lo = 0, hi = m->n;
    while (lo < hi) { /* lower bound */
        size_t mid = lo + (hi - lo) / 2;
        if (m->index[mid].hash < h) lo = mid + 1;
        else hi = mid;
    }
    return lo < m->n && m->index[lo].hash == h ? (long)m->index[lo].entry : -1;
}

int fbi_loc_get(fbi_locmap *m, const char *pointer, int *line, int *col)
{
    if (!m || !m->n) return 0;
    size_t len = strlen(pointer);
    for (;;) {
        long i = find(m, ptr_hash(pointer, len));
        if (i >= 0) {
            *line = (int)m->e[i].line;
            *col = (int)(m->e[i].col_depth & COL_MASK);
            return 1;
        }
        /* the nearest recorded ancestor */
        while (len > 0 && pointer[len - 1] != '/') len--;
        if (len == 0) return 0;
        len--;
    }
}

fbi_locmap *fbi_locmap_subtree(fbi_locmap *m, const char *pointer)
{
    fbi_locmap *s = fbi_locmap_new();
    if (!m || !m->n) return s;
    long r = find(m, ptr_hash(pointer, strlen(pointer)));
    if (r < 0) return s;
    uint32_t d = m->e[r].col_depth >> COL_BITS;
    size_t end = (size_t)r + 1;
    while (end < m->n && (m->e[end].col_depth >> COL_BITS) > d) end++;
    s->n = s->cap = end - (size_t)r;
    s->e = fbi_xmalloc(s->n * sizeof *s->e);
    memcpy(s->e, m->e + r, s->n * sizeof *s->e);
    return s;
}
