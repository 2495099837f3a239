/* ttlcache.h - a small bounded cache from a string key to a byte value,
 * each entry valid until its deadline and for one validator (a change
 * counter the caller computes). serve keeps verified tokens in one
 * (docs/serve.md: the revocation delay) and resolve answers in another.
 * When full, it is emptied (simple, and bounded: a burst of new keys costs
 * one rebuild). Internal to core. Thread notes: any thread; one lock. */
#ifndef FB_SERVER_TTLCACHE_H
#define FB_SERVER_TTLCACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct fbi_ttlcache fbi_ttlcache;

/* new: at most max_entries entries. */
fbi_ttlcache *fbi_ttlcache_new(size_t max_entries);
void fbi_ttlcache_free(fbi_ttlcache *c);

/* A copy of key's value (new, NUL-terminated after *len bytes) when it is
 * present, now_ms < its deadline and its validator equals validator; else
 * NULL. */
char *fbi_ttlcache_get(fbi_ttlcache *c, const char *key, uint64_t validator, int64_t now_ms,
                       size_t *len);

/* Stores a copy of value (len bytes) under key (copied) until deadline_ms
 * for validator, replacing what was there. */
void fbi_ttlcache_put(fbi_ttlcache *c, const char *key, const void *value, size_t len,
                      uint64_t validator, int64_t deadline_ms);

/* Empties it (e.g. a token was revoked by this process). */
void fbi_ttlcache_clear(fbi_ttlcache *c);

#endif
