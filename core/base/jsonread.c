/* jsonread.c - jansson values from JSON text without jansson's
 * character-at-a-time lexer (see jsonread.h). Needs only libc and
 * jansson, so the driver kit compiles the same file. Every path that is
 * not plainly valid JSON returns NULL to fbi_json_read, which hands the
 * whole text to json_loadb for its value or its error. */
#include "config.h"
#include "base/jsonread.h"
#include "base/jsonspan.h"

#include <errno.h>
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rd {
    const unsigned char *s;
    size_t n, i;
    char *tmp; /* a string's bytes once an escape is decoded (grown as needed) */
    size_t tmp_cap;
    int no_dups; /* JSON_REJECT_DUPLICATES: a key seen twice goes to jansson */
} rd;

static json_t *value(rd *r, int depth);

/* jansson 2.14 takes a key by its length (json_object_setn*) */
#define KEY_BY_LENGTH (JANSSON_VERSION_HEX >= 0x020e00)

static void skip_ws(rd *r)
{
    while (r->i < r->n) {
        unsigned char c = r->s[r->i];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t') break;
        r->i++;
    }
}

static int hex4(const unsigned char *p, uint32_t *out)
{
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
        unsigned char c = p[k];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

/* Room for m bytes in r->tmp past len; -1 when out of memory. */
static int tmp_need(rd *r, size_t len, size_t m)
{
    if (len + m <= r->tmp_cap) return 0;
    size_t cap = r->tmp_cap ? r->tmp_cap : 64;
    while (cap < len + m) cap *= 2;
    char *p = realloc(r->tmp, cap);
    if (!p) return -1;
    r->tmp = p;
    r->tmp_cap = cap;
    return 0;
}

/* The string whose opening quote is at r->i: *p and *len its bytes (in
 * the text itself when it has no escape, else in r->tmp); r->i past the
 * closing quote. -1: not a string jansson accepts as it is read here. */
static int string(rd *r, const char **p, size_t *len)
{
    size_t i = r->i + 1, start = i, out = 0;
    int escaped = 0;
    const unsigned char *s = r->s;
    /* the plain words of its start at once (once: past them the word
     * test would meet the closing quote again at every byte) */
    i += fbi_json_plain_run(s + i, r->n - i);
    for (;;) {
        if (i >= r->n) return -1;
        unsigned char c = s[i];
        if (c == '"') break;
        if (c < 0x20) return -1; /* control character (NUL included): jansson's error */
        size_t run = i;
        if (c >= 0x80) {
            size_t k = fbi_json_utf8_len(s + i, r->n - i);
            if (!k) return -1;
            i += k;
        } else if (c != '\\') {
            i++;
        }
        if (c != '\\') {
            if (escaped) {
                if (tmp_need(r, out, i - run)) return -1;
                memcpy(r->tmp + out, s + run, i - run);
                out += i - run;
            }
            continue;
        }
        /* an escape: from here on the bytes go to tmp */
        if (!escaped) {
            escaped = 1;
            out = i - start;
            if (tmp_need(r, 0, out + 8)) return -1;
            memcpy(r->tmp, s + start, out);
        }
        if (i + 1 >= r->n) return -1;
        char e = (char)s[i + 1], ch;
        i += 2;
        switch (e) {
        case '"': ch = '"'; break;
        case '\\': ch = '\\'; break;
        case '/': ch = '/'; break;
        case 'b': ch = '\b'; break;
        case 'f': ch = '\f'; break;
        case 'n': ch = '\n'; break;
        case 'r': ch = '\r'; break;
        case 't': ch = '\t'; break;
        case 'u': {
            uint32_t cp, lo;
            if (i + 4 > r->n || hex4(s + i, &cp)) return -1;
            i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (i + 6 > r->n || s[i] != '\\' || s[i + 1] != 'u' || hex4(s + i + 2, &lo) ||
                    lo < 0xDC00 || lo > 0xDFFF)
                    return -1;
                i += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp == 0 || (cp >= 0xDC00 && cp <= 0xDFFF)) {
                return -1; /* NUL (no JSON_ALLOW_NUL), a lone low surrogate */
            }
            if (tmp_need(r, out, 4)) return -1;
            char *t = r->tmp + out;
            if (cp < 0x80) {
                t[0] = (char)cp;
                out += 1;
            } else if (cp < 0x800) {
                t[0] = (char)(0xC0 | (cp >> 6));
                t[1] = (char)(0x80 | (cp & 0x3F));
                out += 2;
            } else if (cp < 0x10000) {
                t[0] = (char)(0xE0 | (cp >> 12));
                t[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
                t[2] = (char)(0x80 | (cp & 0x3F));
                out += 3;
            } else {
                t[0] = (char)(0xF0 | (cp >> 18));
                t[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
                t[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
                t[3] = (char)(0x80 | (cp & 0x3F));
                out += 4;
            }
            continue;
        }
        default:
            return -1;
        }
        if (tmp_need(r, out, 1)) return -1;
        r->tmp[out++] = ch;
    }
    if (escaped) {
        *p = r->tmp;
        *len = out;
    } else {
        *p = (const char *)s + start;
        *len = i - start;
    }
    r->i = i + 1;
    return 0;
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* A number as jansson's lexer reads it: an integer (no '.', 'e' or 'E')
 * of at most 18 digits, or a real through strtod as jansson's own
 * jsonp_strtod does in a locale whose decimal point is '.'. */
static json_t *number(rd *r)
{
    const unsigned char *s = r->s;
    size_t i = r->i, start = i;
    int neg = 0;
    if (s[i] == '-') {
        neg = 1;
        i++;
    }
    if (i >= r->n || !is_digit(s[i])) return NULL;
    size_t digits_at = i;
    if (s[i] == '0') {
        i++;
        if (i < r->n && is_digit(s[i])) return NULL; /* a leading zero */
    } else {
        while (i < r->n && is_digit(s[i])) i++;
    }
    int real = 0;
    if (i < r->n && s[i] == '.') {
        real = 1;
        i++;
        if (i >= r->n || !is_digit(s[i])) return NULL;
        while (i < r->n && is_digit(s[i])) i++;
    }
    if (i < r->n && (s[i] == 'e' || s[i] == 'E')) {
        real = 1;
        i++;
        if (i < r->n && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= r->n || !is_digit(s[i])) return NULL;
        while (i < r->n && is_digit(s[i])) i++;
    }
    if (!real) {
        if (i - digits_at > 18) return NULL; /* may overflow: jansson says how */
        json_int_t v = 0;
        for (size_t k = digits_at; k < i; k++) v = v * 10 + (s[k] - '0');
        r->i = i;
        return json_integer(neg ? -v : v);
    }
    char buf[64];
    if (i - start >= sizeof buf) return NULL;
    const struct lconv *lc = localeconv();
    if (!lc || !lc->decimal_point || strcmp(lc->decimal_point, ".")) return NULL;
    memcpy(buf, s + start, i - start);
    buf[i - start] = '\0';
    errno = 0;
    char *end;
    double d = strtod(buf, &end);
    if (errno == ERANGE || end != buf + (i - start)) return NULL;
    r->i = i;
    return json_real(d);
}

static int literal(rd *r, const char *word, size_t len)
{
    if (r->n - r->i < len || memcmp(r->s + r->i, word, len)) return -1;
    r->i += len;
    return 0;
}

static json_t *object(rd *r, int depth)
{
    r->i++; /* '{' */
    json_t *o = json_object();
    if (!o) return NULL;
    skip_ws(r);
    if (r->i < r->n && r->s[r->i] == '}') {
        r->i++;
        return o;
    }
    for (;;) {
        const char *k;
        size_t kl;
        if (r->i >= r->n || r->s[r->i] != '"' || string(r, &k, &kl)) break;
        /* the key's bytes may live in r->tmp, which the value's strings
         * reuse: a copy when so (and always before jansson 2.14, whose
         * keys end at a NUL) */
        char kbuf[128], *kheap = NULL;
        if (k == r->tmp || !KEY_BY_LENGTH) {
            char *c = kbuf;
            if (kl >= sizeof kbuf && !(c = kheap = malloc(kl + 1))) break;
            memcpy(c, k, kl);
            c[kl] = '\0';
            k = c;
        }
        skip_ws(r);
        json_t *v = NULL;
        if (r->i < r->n && r->s[r->i] == ':') {
            r->i++;
            skip_ws(r);
            v = value(r, depth + 1);
        }
        /* the last of duplicate keys wins, in the first one's place: what
         * jansson's own parser does through the same call */
#if KEY_BY_LENGTH
        if (v && r->no_dups && json_object_getn(o, k, kl)) {
#else
        if (v && r->no_dups && json_object_get(o, k)) {
#endif
            json_decref(v); /* jansson says which key */
            v = NULL;
        }
#if KEY_BY_LENGTH
        int bad = !v || json_object_setn_new_nocheck(o, k, kl, v) != 0;
#else
        int bad = !v || json_object_set_new_nocheck(o, k, v) != 0;
#endif
        free(kheap);
        if (bad) break;
        skip_ws(r);
        if (r->i >= r->n) break;
        if (r->s[r->i] == '}') {
            r->i++;
            return o;
        }
        if (r->s[r->i] != ',') break;
        r->i++;
        skip_ws(r);
    }
    json_decref(o);
    return NULL;
}

static json_t *array(rd *r, int depth)
{
    r->i++; /* '[' */
    json_t *a = json_array();
    if (!a) return NULL;
    skip_ws(r);
    if (r->i < r->n && r->s[r->i] == ']') {
        r->i++;
        return a;
    }
    for (;;) {
        json_t *v = value(r, depth + 1);
        if (!v || json_array_append_new(a, v) != 0) break;
        skip_ws(r);
        if (r->i >= r->n) break;
        if (r->s[r->i] == ']') {
            r->i++;
            return a;
        }
        if (r->s[r->i] != ',') break;
        r->i++;
        skip_ws(r);
    }
    json_decref(a);
    return NULL;
}

/* The value at r->i (no whitespace before it), or NULL: not read here. */
static json_t *value(rd *r, int depth)
{
    if (r->i >= r->n || depth > FBI_JSON_READ_MAX_DEPTH) return NULL;
    switch (r->s[r->i]) {
    case '{':
        return object(r, depth);
    case '[':
        return array(r, depth);
    case '"': {
        const char *p;
        size_t len;
        if (string(r, &p, &len)) return NULL;
        return json_stringn_nocheck(p, len);
    }
    case 't':
        return literal(r, "true", 4) ? NULL : json_true();
    case 'f':
        return literal(r, "false", 5) ? NULL : json_false();
    case 'n':
        return literal(r, "null", 4) ? NULL : json_null();
    default:
        return number(r);
    }
}

json_t *fbi_json_read_own(const char *s, size_t n, size_t flags)
{
    /* only the flag the reader does itself */
    if (!s || (flags & ~(size_t)JSON_REJECT_DUPLICATES)) return NULL;
    rd r = {(const unsigned char *)s, n, 0, NULL, 0, (flags & JSON_REJECT_DUPLICATES) != 0};
    skip_ws(&r);
    json_t *v = NULL;
    /* json_loadb with flags 0: the text is an object or an array */
    if (r.i < n && (r.s[r.i] == '{' || r.s[r.i] == '[')) v = value(&r, 1);
    if (v) {
        skip_ws(&r);
        if (r.i != n) { /* more than whitespace after it: jansson's error */
            json_decref(v);
            v = NULL;
        }
    }
    free(r.tmp);
    return v;
}

/* On success json_load* leave err as jsonp_error_init made it. */
static void ok_error(json_error_t *err, const char *source)
{
    if (!err) return;
    err->line = -1;
    err->column = -1;
    err->position = 0;
    snprintf(err->source, sizeof err->source, "%s", source);
    err->text[0] = '\0';
}

json_t *fbi_json_read(const char *s, size_t n, size_t flags, json_error_t *err)
{
    json_t *v = fbi_json_read_own(s, n, flags);
    if (!v) return json_loadb(s, n, flags, err);
    ok_error(err, "<buffer>");
    return v;
}

json_t *fbi_json_reads(const char *s, size_t flags, json_error_t *err)
{
    json_t *v = s ? fbi_json_read_own(s, strlen(s), flags) : NULL;
    if (!v) return json_loads(s, flags, err);
    ok_error(err, "<string>");
    return v;
}
