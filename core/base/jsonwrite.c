/* jsonwrite.c - jansson's compact JSON text without json_dumps' per-token
 * callbacks (see jsonwrite.h). Needs only libc and jansson, so the driver
 * kit compiles the same file. */
#include "config.h"
#include "base/jsonwrite.h"
#include "base/jsonspan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct wbuf {
    char *p;
    size_t len, cap;
    int fallback; /* something only json_dumps can say: it writes the value */
} wbuf;

/* Room for n more bytes and the NUL. */
static void need(wbuf *b, size_t n)
{
    if (b->len + n + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) abort(); /* as fbi_xmalloc / fbk_xmalloc */
    b->p = p;
    b->cap = cap;
}

static void put(wbuf *b, const char *s, size_t n)
{
    need(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void putc1(wbuf *b, char c)
{
    need(b, 1);
    b->p[b->len++] = c;
}

/* A JSON string: '"', '\\' and control characters escaped as jansson
 * does (the short forms, else \u00XX in upper-case hex); everything else,
 * UTF-8 included, as it is. */
static void put_string(wbuf *b, const char *str, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)str;
    need(b, n + 2);
    b->p[b->len++] = '"';
    size_t run = 0; /* start of the bytes not yet copied */
    for (size_t i = 0; i < n;) {
        i += fbi_json_plain_run(s + i, n - i); /* the plain words at once */
        if (i >= n) break;
        unsigned char c = s[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t l = fbi_json_utf8_len(s + i, n - i);
            if (!l) {
                b->fallback = 1;
                return;
            }
            i += l;
            continue;
        }
        put(b, str + run, i - run);
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t el = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            el = 6;
        }
        put(b, esc, el);
        run = ++i;
    }
    put(b, str + run, n - run);
    putc1(b, '"');
}

static void put_int(wbuf *b, json_int_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    /* through unsigned, so the most negative value has a magnitude */
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) tmp[--i] = '-';
    put(b, tmp + i, sizeof tmp - i);
}

typedef struct wkey {
    const char *k;
    size_t n;
    json_t *v;
} wkey;

/* Byte order; a key that is a prefix of another first (strcmp's order for
 * keys without NUL, which is all this writer sorts). */
static int cmp_key(const void *pa, const void *pb)
{
    const wkey *a = pa, *b = pb;
    int c = memcmp(a->k, b->k, a->n < b->n ? a->n : b->n);
    if (c) return c;
    return a->n < b->n ? -1 : a->n > b->n;
}

static void put_value(wbuf *b, const json_t *j, unsigned flags, int depth);

static void put_object(wbuf *b, json_t *o, unsigned flags, int depth)
{
    size_t n = json_object_size(o);
    wkey stack[32];
    wkey *keys = n <= 32 ? stack : malloc(n * sizeof *keys);
    if (!keys) abort();
    size_t k = 0;
    for (void *it = json_object_iter(o); it && k < n; it = json_object_iter_next(o, it)) {
        keys[k].k = json_object_iter_key(it);
#if JANSSON_VERSION_HEX >= 0x020e00
        keys[k].n = json_object_iter_key_len(it);
        if (memchr(keys[k].k, '\0', keys[k].n)) b->fallback = 1; /* jansson's own order */
#else
        keys[k].n = strlen(keys[k].k);
#endif
        keys[k].v = json_object_iter_value(it);
        k++;
    }
    if ((flags & FBI_JSON_WRITE_SORT) && k > 1) qsort(keys, k, sizeof *keys, cmp_key);
    putc1(b, '{');
    for (size_t i = 0; i < k && !b->fallback; i++) {
        if (i) putc1(b, ',');
        put_string(b, keys[i].k, keys[i].n);
        putc1(b, ':');
        put_value(b, keys[i].v, flags, depth + 1);
    }
    putc1(b, '}');
    if (keys != stack) free(keys);
}

static void put_value(wbuf *b, const json_t *j, unsigned flags, int depth)
{
    if (b->fallback) return;
    if (!j || depth > FBI_JSON_WRITE_MAX_DEPTH) {
        b->fallback = 1;
        return;
    }
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        put_object(b, (json_t *)j, flags, depth);
        break;
    case JSON_ARRAY: {
        size_t n = json_array_size(j);
        putc1(b, '[');
        for (size_t i = 0; i < n && !b->fallback; i++) {
            if (i) putc1(b, ',');
            put_value(b, json_array_get(j, i), flags, depth + 1);
        }
        putc1(b, ']');
        break;
    }
    case JSON_STRING:
        put_string(b, json_string_value(j), json_string_length(j));
        break;
    case JSON_INTEGER:
        put_int(b, json_integer_value(j));
        break;
    case JSON_TRUE:
        put(b, "true", 4);
        break;
    case JSON_FALSE:
        put(b, "false", 5);
        break;
    case JSON_NULL:
        put(b, "null", 4);
        break;
    default: /* JSON_REAL: jansson's digits (precision 17, ".0" added, exponent trimmed) */
        {
            char *t = json_dumps(j, JSON_ENCODE_ANY);
            if (!t) {
                b->fallback = 1;
                return;
            }
            put(b, t, strlen(t));
            free(t);
        }
        break;
    }
}

char *fbi_json_write(const json_t *j, unsigned flags)
{
    if (!j) return NULL;
    wbuf b = {NULL, 0, 0, 0};
    put_value(&b, j, flags, 0);
    if (b.fallback) {
        free(b.p);
        size_t jf = JSON_COMPACT | JSON_ENCODE_ANY;
        if (flags & FBI_JSON_WRITE_SORT) jf |= JSON_SORT_KEYS;
        return json_dumps(j, jf);
    }
    need(&b, 0);
    b.p[b.len] = '\0';
    return b.p;
}
