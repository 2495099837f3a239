/*
 * jsonwrite.h - JSON text of a jansson value, byte for byte what
 * json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY [| JSON_SORT_KEYS]) gives,
 * in one pass into one growing buffer. json_dumps writes through a
 * callback per token and, with sorted keys, allocates and sorts a key
 * list per object; it was a fifth of the CPU of an AWS apply
 * (bench/README-aws.md). What this writer does not handle itself (a real
 * number's digits, a string that is not valid UTF-8, a key holding a NUL,
 * nesting past FBI_JSON_WRITE_MAX_DEPTH, e.g. a cycle) it leaves to
 * json_dumps for the whole value, so the result is always jansson's, and
 * NULL exactly when json_dumps refuses. tests/base/check_jsonwrite.c
 * compares the two on documents and generated values.
 *
 * Like jsonspan.c it is compiled into the driver kit too (the kit's
 * fbk_json_out). Thread-safety: pure; j is only read.
 */
#ifndef FBI_BASE_JSONWRITE_H
#define FBI_BASE_JSONWRITE_H

#include <jansson.h>

/* Nesting deeper than this goes to json_dumps (which refuses cycles). */
#define FBI_JSON_WRITE_MAX_DEPTH 512

#define FBI_JSON_WRITE_SORT 1u /* keys in byte order, as JSON_SORT_KEYS */

/* The compact text of j (new, free()), or NULL when json_dumps with the
 * same flags gives NULL (j NULL, invalid UTF-8, a cycle). Aborts on
 * allocation failure, as fbi_xmalloc. */
char *fbi_json_write(const json_t *j, unsigned flags);

#endif /* FBI_BASE_JSONWRITE_H */
