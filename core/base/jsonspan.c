/* jsonspan.c - the extent of a JSON value in a text (jsonspan.h). */
#include "base/jsonspan.h"

#include <stdint.h>
#include <string.h>

size_t fbi_json_skip_ws(const char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
    return i;
}

size_t fbi_json_skip_string(const char *s, size_t n, size_t i)
{
    for (i++; i < n; i++) {
        i += strcspn(s + i, "\"\\"); /* s is NUL-terminated at n */
        if (i >= n) break;
        if (s[i] == '\\') i++;
        else return i + 1;
    }
    return 0;
}

size_t fbi_json_skip_value(const char *s, size_t n, size_t i)
{
    if (i >= n) return 0;
    if (s[i] == '"') return fbi_json_skip_string(s, n, i);
    if (s[i] != '{' && s[i] != '[') {
        size_t j = i;
        while (j < n && s[j] != ',' && s[j] != ']' && s[j] != '}' && s[j] != ' ' && s[j] != '\t' &&
               s[j] != '\n' && s[j] != '\r')
            j++;
        return j > i ? j : 0;
    }
    int depth = 0;
    while (i < n) {
        char c = s[i];
        if (c == '"') {
            i = fbi_json_skip_string(s, n, i);
            if (!i) return 0;
            continue;
        }
        if (c == '{' || c == '[') {
            if (++depth > FBI_JSON_SPAN_MAX_DEPTH) return 0;
        } else if ((c == '}' || c == ']') && --depth == 0) {
            return i + 1;
        }
        i++;
    }
    return 0;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), as jansson
 * checks it (no overlong forms, no surrogates, nothing past U+10FFFF), or
 * 0 when it is not one. */
size_t fbi_json_utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07;
    else return 0;
    if (len > n) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return 0; /* overlong */
    if (cp >= 0xD800 && cp <= 0xDFFF) return 0;                           /* surrogate */
    if (cp > 0x10FFFF) return 0;
    return len;
}
