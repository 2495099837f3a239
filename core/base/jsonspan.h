/*
 * jsonspan.h - where a JSON value ends in a text, by its extent only
 * (strings and nesting; jansson checks the contents). The plan and the
 * driver kit use it to cut a large document into the spans they parse one
 * by one (core/plan/usage.c, drivers/kit/verb.c). Like decimal.h it needs
 * only libc, so the kit compiles the same file.
 *
 * s is NUL-terminated at n; every function takes the index i of where to
 * start. Thread-safety: pure and thread-safe.
 */
#ifndef FBI_BASE_JSONSPAN_H
#define FBI_BASE_JSONSPAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Deeper than this a value has no extent here (0), so the caller leaves
 * the text to json_loads, whose own limit is 2048. */
#define FBI_JSON_SPAN_MAX_DEPTH 1000

/* The first index at or after i that is not JSON whitespace. */
size_t fbi_json_skip_ws(const char *s, size_t n, size_t i);

/* The end (one past the closing quote) of the string whose opening quote
 * is at s[i], or 0 when it does not end. */
size_t fbi_json_skip_string(const char *s, size_t n, size_t i);

/* The end of the value that starts at s[i], or 0 when it has none (an
 * unterminated string or container, nesting past the limit, nothing). */
size_t fbi_json_skip_value(const char *s, size_t n, size_t i);

/* Length of the valid UTF-8 sequence at s (n >= 1 bytes left), as jansson
 * checks it (no overlong forms, no surrogates, nothing past U+10FFFF), or
 * 0 when it is not one. jsonwrite.c and jsonread.c share it. */
size_t fbi_json_utf8_len(const unsigned char *s, size_t n);

/* How many of the n bytes at s, in whole words of eight, need no look
 * from a JSON string's reader or writer: none is a control character, a
 * byte with its high bit set, '"' or '\\'. The loops of jsonwrite.c and
 * jsonread.c skip them at once (their byte-per-byte scans of the nearly
 * always plain strings were the largest cost of each). Inline: a call per
 * string (most keys are shorter than a word) cost more than it saved. */
static inline size_t fbi_json_plain_run(const unsigned char *s, size_t n)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    size_t i = 0;
    while (n - i >= 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        uint64_t q = w ^ (ones * '"'), bs = w ^ (ones * '\\');
        /* the exact any-byte tests (Bit Twiddling Hacks): a byte below
         * 0x20, a byte with its high bit (UTF-8), a zero byte of q (a '"')
         * or of bs (a '\\') */
        uint64_t special = ((w - ones * 0x20) & ~w & highs) | (w & highs) |
                           ((q - ones) & ~q & highs) | ((bs - ones) & ~bs & highs);
        if (special) break;
        i += 8;
    }
    return i;
}

#endif /* FBI_BASE_JSONSPAN_H */
