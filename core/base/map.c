/* map.c - the string -> size_t map (map.h). */
#include "config.h"
#include "base/map.h"
#include "base/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

uint64_t fbi_hash_str(const char *s)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(1099511628211);
    }
    return h;
}

void fbi_smap_free(fbi_smap *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* Doubles the table (64 slots at first) and re-inserts every key. */
static void smap_grow(fbi_smap *m)
{
    fbi_smap n = {0};
    n.cap = m->cap ? m->cap * 2 : 64;
    n.keys = fbi_xcalloc(n.cap, sizeof *n.keys);
    n.vals = fbi_xcalloc(n.cap, sizeof *n.vals);
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i]) fbi_smap_put(&n, m->keys[i], m->vals[i], NULL);
    fbi_smap_free(m);
    *m = n;
}

int fbi_smap_put(fbi_smap *m, const char *key, size_t val, size_t *old)
{
    /* at most half full, so a probe ends soon at an empty slot */
    if ((m->n + 1) * 2 > m->cap) smap_grow(m);
    size_t i = (size_t)(fbi_hash_str(key) & (m->cap - 1));
    while (m->keys[i]) {
        if (strcmp(m->keys[i], key) == 0) {
            if (old) *old = m->vals[i];
            return 0;
        }
        i = (i + 1) & (m->cap - 1);
    }
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
    return 1;
}

int fbi_smap_get(const fbi_smap *m, const char *key, size_t *val)
{
    if (!m->cap) return 0;
    size_t i = (size_t)(fbi_hash_str(key) & (m->cap - 1));
    while (m->keys[i]) {
        if (strcmp(m->keys[i], key) == 0) {
            *val = m->vals[i];
            return 1;
        }
        i = (i + 1) & (m->cap - 1);
    }
    return 0;
}
