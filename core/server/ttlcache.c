/* ttlcache.c - bounded cache with deadlines and validators (ttlcache.h),
 * on the string map of base/map.h (which has no delete: an entry is
 * replaced in place, and the whole map emptied when full). */
#include "config.h"
#include "server/ttlcache.h"
#include "base/map.h"
#include "base/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    char *key, *value;
    size_t len;
    uint64_t validator;
    int64_t deadline_ms;
} entry;

struct fbi_ttlcache {
    pthread_mutex_t mu;
    fbi_smap index; /* key -> position in entries; keys owned by entries */
    entry *entries;
    size_t n, max;
};

fbi_ttlcache *fbi_ttlcache_new(size_t max_entries)
{
    fbi_ttlcache *c = fbi_xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    c->max = max_entries ? max_entries : 1;
    c->entries = fbi_xcalloc(c->max, sizeof *c->entries);
    return c;
}

static void clear_locked(fbi_ttlcache *c)
{
    fbi_smap_free(&c->index);
    for (size_t i = 0; i < c->n; i++) {
        free(c->entries[i].key);
        free(c->entries[i].value);
    }
    c->n = 0;
}

void fbi_ttlcache_clear(fbi_ttlcache *c)
{
    pthread_mutex_lock(&c->mu);
    clear_locked(c);
    pthread_mutex_unlock(&c->mu);
}

void fbi_ttlcache_free(fbi_ttlcache *c)
{
    if (!c) return;
    clear_locked(c);
    free(c->entries);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

char *fbi_ttlcache_get(fbi_ttlcache *c, const char *key, uint64_t validator, int64_t now_ms,
                       size_t *len)
{
    char *out = NULL;
    size_t i;
    pthread_mutex_lock(&c->mu);
    if (fbi_smap_get(&c->index, key, &i)) {
        entry *e = &c->entries[i];
        if (e->validator == validator && now_ms < e->deadline_ms) {
            out = fbi_xmalloc(e->len + 1);
            memcpy(out, e->value, e->len);
            out[e->len] = 0;
            if (len) *len = e->len;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return out;
}

void fbi_ttlcache_put(fbi_ttlcache *c, const char *key, const void *value, size_t len,
                      uint64_t validator, int64_t deadline_ms)
{
    char *v = fbi_xmalloc(len + 1);
    memcpy(v, value, len);
    v[len] = 0;
    size_t i;
    pthread_mutex_lock(&c->mu);
    if (!fbi_smap_get(&c->index, key, &i)) {
        if (c->n == c->max) clear_locked(c);
        i = c->n++;
        c->entries[i].key = fbi_xstrdup(key);
        c->entries[i].value = NULL;
        fbi_smap_put(&c->index, c->entries[i].key, i, NULL);
    }
    entry *e = &c->entries[i];
    free(e->value);
    e->value = v;
    e->len = len;
    e->validator = validator;
    e->deadline_ms = deadline_ms;
    pthread_mutex_unlock(&c->mu);
}
