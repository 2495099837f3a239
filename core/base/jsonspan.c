/* jsonspan.c - the extent of a JSON value in a text (jsonspan.h). */
#include "base/jsonspan.h"

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
