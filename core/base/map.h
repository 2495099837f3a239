/* map.h - a string -> size_t map (open addressing, linear probing, FNV-1a):
 * the index from a name to its position in an array, which the catalog,
 * the plan's problem and its evaluation cache all need. Internal to core
 * (prefix fbi_).
 *
 * Keys are borrowed: the caller keeps each key alive (and unchanged) as
 * long as the map. A zeroed fbi_smap is an empty map.
 * Thread notes: no locking; concurrent fbi_smap_get calls are safe, any
 * put needs the map to itself. */
#ifndef FB_MAP_H
#define FB_MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct fbi_smap {
    const char **keys; /* borrowed; NULL: an empty slot */
    size_t *vals;
    size_t cap, n;     /* cap: 0 or a power of two, at least 2n */
} fbi_smap;

/* Frees the map's tables (not the keys) and leaves it empty. */
void fbi_smap_free(fbi_smap *m);
/* Inserts key -> val when key is absent. Returns 1 when inserted, 0 when
 * the key was there (its value unchanged; *old gets it when old is not
 * NULL). */
int fbi_smap_put(fbi_smap *m, const char *key, size_t val, size_t *old);
/* Returns 1 and sets *val when key is in the map, else 0. */
int fbi_smap_get(const fbi_smap *m, const char *key, size_t *val);
/* FNV-1a (64 bits) of a NUL-terminated string: the map's hash, for other
 * tables keyed by text (not a cryptographic hash). Any thread. */
uint64_t fbi_hash_str(const char *s);

#endif
