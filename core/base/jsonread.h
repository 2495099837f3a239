/*
 * jsonread.h - a jansson value from JSON text, the same value
 * json_loadb(s, n, flags, err) gives for flags 0 or JSON_REJECT_DUPLICATES
 * (types, key order, the last of duplicate keys), in one pass over the
 * bytes. jansson's parser reads a character
 * at a time through a stream and copies every token into a growing
 * buffer: about 190 instructions per byte, a fifth of an apply's CPU
 * (the driver's input, the driver's output, every record, every answer
 * parsed; bench/README-k8s.md). What this reader does not handle itself
 * (a string with a byte jansson refuses, a \u escape of a surrogate or of
 * NUL, an integer of more than 18 digits, a real that over- or
 * underflows, nesting past FBI_JSON_READ_MAX_DEPTH, anything that is not
 * JSON) it leaves to json_loadb for the whole text, so the result, and
 * the error when there is one, is always jansson's.
 * tests/base/check_jsonread.c compares the two on documents and on
 * generated and mutated texts.
 *
 * Like jsonwrite.c it is compiled into the driver kit too.
 * Thread-safety: pure; s is only read.
 */
#ifndef FBI_BASE_JSONREAD_H
#define FBI_BASE_JSONREAD_H

#include <jansson.h>
#include <stddef.h>

/* Nesting deeper than this goes to json_loadb (whose limit is 2048). */
#define FBI_JSON_READ_MAX_DEPTH 512

/* The value of the n bytes at s (an object or an array, as json_loadb
 * without JSON_DECODE_ANY wants; new reference), or NULL with err filled
 * (may be NULL) by json_loadb. s need not be NUL-terminated. flags: 0 or
 * JSON_REJECT_DUPLICATES (a key twice: jansson's error); other flags go
 * to json_loadb as they are. */
json_t *fbi_json_read(const char *s, size_t n, size_t flags, json_error_t *err);

/* The same for a NUL-terminated text, as json_loads(s, flags, err). */
json_t *fbi_json_reads(const char *s, size_t flags, json_error_t *err);

/* The reader's own value (new), or NULL where fbi_json_read leaves the
 * text to jansson: for tests, which check that it reads what it should. */
json_t *fbi_json_read_own(const char *s, size_t n, size_t flags);

#endif /* FBI_BASE_JSONREAD_H */
