/* check_jsonwrite.c - fbi_json_write (core/base/jsonwrite.c) against the
 * writer it stands in for: jansson's json_dumps with JSON_COMPACT |
 * JSON_ENCODE_ANY, with and without JSON_SORT_KEYS, must give the same
 * bytes (or both NULL) for the project's JSON documents and reference
 * data (files we did not write), and for generated values: every control
 * character, quotes and backslashes, valid and invalid UTF-8, the integer
 * extremes, reals, keys that are prefixes of each other, deep nesting and
 * a cycle.
 *
 * And fbi_json_read (core/base/jsonread.c) against the parser it stands
 * in for, json_loadb / json_loads with flags 0: the same value (type, key
 * order, the last of duplicate keys; JSON_REJECT_DUPLICATES too) or the
 * same error (text, line,
 * column, position), on the same documents' bytes, on the texts of the
 * generated values as json_dumps writes them (compact, indented, ASCII
 * only: \u escapes and surrogate pairs), on those texts mutated byte by
 * byte, and on hand-picked edges (numbers at the overflow limits, \u0000,
 * lone surrogates, trailing commas, NUL bytes, depth). */
#include "config.h"
#include "../lib/fbtest.h"
#include "base/jsonwrite.h"
#include "base/jsonread.h"

#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Both writers, both orders: the same text, or both refuse. */
static void same(const json_t *j)
{
    for (int sort = 0; sort < 2; sort++) {
        size_t jf = JSON_COMPACT | JSON_ENCODE_ANY | (sort ? JSON_SORT_KEYS : 0);
        char *want = json_dumps(j, jf);
        char *got = fbi_json_write(j, sort ? FBI_JSON_WRITE_SORT : 0);
        if (!want || !got) {
            ck_assert_msg(!want && !got, "one writer refused, the other wrote %s",
                          want ? want : got);
        } else {
            ck_assert_msg(!strcmp(want, got), "sort=%d:\njansson: %.300s\nours:    %.300s", sort,
                          want, got);
        }
        free(want);
        free(got);
    }
}

/* The reader and jansson's parser with these flags: the same value, or
 * the same error. read_own counts the texts the reader read itself (not
 * jansson for it). */
static size_t read_own;
static void read_same_flags(const char *text, size_t n, size_t flags)
{
    json_t *own = fbi_json_read_own(text, n, flags);
    if (own) read_own++;
    json_decref(own);
    json_error_t e1, e2;
    json_t *got = fbi_json_read(text, n, flags, &e1);
    json_t *want = json_loadb(text, n, flags, &e2);
    if (!want || !got) {
        ck_assert_msg(!want && !got, "flags %zu: one parser refused, the other read %.*s", flags,
                      (int)(n > 300 ? 300 : n), text);
        ck_assert_str_eq(e1.text, e2.text);
        ck_assert_str_eq(e1.source, e2.source);
        ck_assert_int_eq(e1.line, e2.line);
        ck_assert_int_eq(e1.column, e2.column);
        ck_assert_int_eq(e1.position, e2.position);
    } else {
        /* json_equal tells an integer from a real; the unsorted texts
         * compare the key order */
        ck_assert_msg(json_equal(got, want), "different values for %.*s", (int)(n > 300 ? 300 : n), text);
        char *a = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
        char *b = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY);
        ck_assert_msg(a && b && !strcmp(a, b), "key order differs:\njansson: %.300s\nours:    %.300s", b, a);
        free(a);
        free(b);
    }
    json_decref(got);
    json_decref(want);
    /* the NUL-terminated form, as json_loads */
    if (!memchr(text, '\0', n)) {
        char *z = strndup(text, n);
        json_t *g = fbi_json_reads(z, flags, &e1);
        json_t *w = json_loads(z, flags, &e2);
        ck_assert(!g == !w);
        if (g) ck_assert(json_equal(g, w));
        else ck_assert_str_eq(e1.text, e2.text);
        json_decref(g);
        json_decref(w);
        free(z);
    }
}

/* read_own counts the flags-0 reads only */
static void read_same(const char *text, size_t n)
{
    size_t own = read_own;
    read_same_flags(text, n, JSON_REJECT_DUPLICATES);
    read_own = own;
    read_same_flags(text, n, 0);
}

static size_t files_seen;

/* Every *.json file under dir (recursively, up to 4 MB each). */
static void walk(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (!d || depth > 8) {
        if (d) closedir(d);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[4096];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= sizeof path) continue;
        struct stat st;
        if (stat(path, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            walk(path, depth + 1);
            continue;
        }
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 5, ".json") || st.st_size > 4 << 20) continue;
        FILE *f = fopen(path, "rb");
        if (f) {
            char *text = malloc((size_t)st.st_size + 1);
            size_t got = fread(text, 1, (size_t)st.st_size, f);
            fclose(f);
            read_same(text, got); /* fixtures of bad input included */
            free(text);
        }
        json_t *j = json_load_file(path, JSON_DECODE_ANY, NULL);
        if (!j) continue; /* fixtures of bad input */
        same(j);
        json_decref(j);
        files_seen++;
    }
    closedir(d);
}

START_TEST(documents)
{
    const char *top = getenv("top_srcdir");
    if (!top) top = "..";
    static const char *const dirs[] = {"schemas", "examples", "catalog", "tests/reference",
                                       "tests/fixtures", "tests/spec"};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", top, dirs[i]);
        walk(path, 0);
    }
    /* the schemas alone are a dozen documents: the walk found the tree */
    ck_assert_uint_ge(files_seen, 10);
}
END_TEST

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

/* A string of n bytes drawn to hit the escapes and UTF-8 edges; a few
 * are not valid UTF-8 (json_stringn_nocheck keeps them). */
static json_t *gen_string(size_t n, int allow_invalid)
{
    static const char *const pieces[] = {"\"", "\\", "/", "\x7f", "\xc3\xa9", "\xe2\x80\xa8",
                                         "\xf0\x9f\x98\x80", "\xef\xbf\xbf", "a", "Z", " ", "~"};
    static const char *const bad[] = {"\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xff",
                                      "\xe2\x80", "\x80"};
    char buf[256];
    size_t len = 0;
    while (len < n && len + 8 < sizeof buf) {
        uint32_t r = rnd() % 10;
        const char *p;
        char c[2] = {0, 0};
        if (r < 3) {
            c[0] = (char)(1 + rnd() % 0x1f); /* a control character (NUL: below) */
            p = c;
        } else if (r < 9) {
            p = pieces[rnd() % (sizeof pieces / sizeof *pieces)];
        } else if (allow_invalid && rnd() % 4 == 0) {
            p = bad[rnd() % (sizeof bad / sizeof *bad)];
        } else {
            p = "\x00";
            buf[len++] = '\0';
            continue;
        }
        size_t pl = strlen(p);
        memcpy(buf + len, p, pl);
        len += pl;
    }
    return json_stringn_nocheck(buf, len);
}

static json_t *gen(int depth, int allow_invalid)
{
    uint32_t r = rnd() % (depth > 5 ? 6 : 9);
    switch (r) {
    case 0: return json_null();
    case 1: return rnd() % 2 ? json_true() : json_false();
    case 2: {
        static const json_int_t ints[] = {0, 1, -1, 9, 10, -10, 123456789, INT64_MAX, INT64_MIN,
                                          INT64_MIN + 1, 4294967296LL};
        return json_integer(rnd() % 2 ? ints[rnd() % (sizeof ints / sizeof *ints)]
                                      : (json_int_t)rnd() - (json_int_t)(rnd() % 100000));
    }
    case 3: {
        static const double reals[] = {0.0, -0.0, 0.5, 0.1, 1e300, -1e-300, 3.0, 1e21, 123.456,
                                       2.5e-7};
        return json_real(reals[rnd() % (sizeof reals / sizeof *reals)]);
    }
    case 4:
    case 5: return gen_string(rnd() % 24, allow_invalid);
    case 6: {
        json_t *a = json_array();
        for (uint32_t n = rnd() % 5; n; n--) json_array_append_new(a, gen(depth + 1, allow_invalid));
        return a;
    }
    default: {
        json_t *o = json_object();
        static const char *const keys[] = {"a", "ab", "abc", "b", "B", "", "z\xc3\xa9", "key\n",
                                           "\"q\"", "10", "9", "spec", "specHash"};
        for (uint32_t n = rnd() % 7; n; n--)
            json_object_set_new(o, keys[rnd() % (sizeof keys / sizeof *keys)],
                                gen(depth + 1, allow_invalid));
        return o;
    }
    }
}

START_TEST(generated)
{
    for (int i = 0; i < 20000; i++) {
        json_t *j = gen(0, i % 3 == 0);
        same(j);
        json_decref(j);
    }
    same(NULL);
}
END_TEST

/* Texts of generated values in json_dumps' forms, then mutated: a byte
 * replaced, dropped or doubled, with bytes that matter to a parser. */
START_TEST(read_generated)
{
    static const size_t forms[] = {JSON_COMPACT, JSON_INDENT(2), JSON_ENSURE_ASCII | JSON_COMPACT,
                                   JSON_INDENT(1) | JSON_ENSURE_ASCII | JSON_SORT_KEYS};
    static const char cuts[] = "{}[]\",:\\u0123456789abcdefABCDEF-+.eE \t\n\r\x01\x7f\x80\xc3\xa9\xed\xff";
    size_t mutated = 0, valid_texts = 0, own_valid = 0;
    for (int i = 0; i < 20000; i++) {
        json_t *j = gen(0, 0);
        /* the reader reads objects and arrays (json_loadb's flags 0) */
        if (!json_is_object(j) && !json_is_array(j)) {
            json_t *a = json_array();
            json_array_append_new(a, j);
            j = a;
        }
        char *text = json_dumps(j, forms[i % 4]);
        json_decref(j);
        if (!text) continue;
        size_t n = strlen(text);
        size_t before = read_own;
        read_same(text, n);
        /* what jansson reads (not a \u0000), the reader reads itself but
         * for the 19-digit integers */
        json_t *ok = json_loadb(text, n, 0, NULL);
        if (ok) valid_texts++, own_valid += read_own - before;
        json_decref(ok);
        for (int m = 0; m < 3 && n > 0; m++) {
            char *t = malloc(n + 2);
            memcpy(t, text, n + 1);
            size_t at = rnd() % n, len = n;
            char c = cuts[rnd() % (sizeof cuts - 1)];
            switch (rnd() % 3) {
            case 0: t[at] = c; break;
            case 1: memmove(t + at, t + at + 1, n - at); len--; break;
            default: memmove(t + at + 1, t + at, n - at + 1); len++; break;
            }
            read_same(t, len);
            free(t);
            mutated++;
        }
        free(text);
    }
    ck_assert_uint_gt(mutated, 10000);
    /* the comparisons above mean something only if the reader read most
     * of them itself */
    ck_assert_uint_gt(valid_texts, 5000);
    ck_assert_msg(own_valid * 10 >= valid_texts * 9, "the reader read %zu of %zu valid texts itself",
                  own_valid, valid_texts);
}
END_TEST

START_TEST(read_edges)
{
    static const char *const texts[] = {
        "", " ", "\xef\xbb\xbf{}", "{}", "[]", " \t\r\n[ ] \n", "[] x", "[],", "[1,]", "{\"a\":1,}",
        "[1 2]", "{\"a\" 1}", "{\"a\":}", "{a:1}", "{'a':1}", "1", "\"s\"", "null", "true",
        "[-0]", "[0]", "[-]", "[01]", "[-01]", "[1.]", "[.5]", "[1e]", "[1e+]", "[1E-2]", "[0.0e0]",
        "[123456789012345678]", "[-123456789012345678]", "[1234567890123456789]",
        "[9223372036854775807]", "[9223372036854775808]", "[-9223372036854775808]",
        "[-9223372036854775809]", "[99999999999999999999999]", "[1e308]", "[1e309]", "[-1e400]",
        "[1e-400]", "[2.2250738585072014e-308]", "[4.9e-324]", "[0.1]", "[3.141592653589793238462643]",
        "[truex]", "[tru]", "[nul]", "[false,true,null]", "[NaN]", "[Infinity]",
        "[\"\\u0000\"]", "[\"\\u0001\"]", "[\"\\ud800\"]", "[\"\\udc00\"]", "[\"\\ud83d\\ude00\"]",
        "[\"\\ud83d\\u0041\"]", "[\"\\ud83dx\"]", "[\"\\u00e9\\u20AC\"]", "[\"\\u12\"]", "[\"\\x\"]",
        "[\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"]", "[\"a\tb\"]", "[\"\x7f\"]", "[\"\xc3\xa9\"]", "[\"\xc3\"]",
        "[\"\xed\xa0\x80\"]", "[\"\xf4\x90\x80\x80\"]", "[\"\xc0\x80\"]", "[\"unterminated]",
        "{\"a\":1,\"b\":2,\"a\":3}", "{\"\":0}", "{\"k\\u00e9y\":{\"k\\u00e9y\":[\"v\\n\"]}}",
        "{\"a\\u0000b\":1}", "{\"a\":1}{}", "[[[[[]]]]]",
    };
    size_t before = read_own;
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) read_same(texts[i], strlen(texts[i]));
    /* those it reads itself: {}, [], the spaced [ ], [-0], [0], [1E-2],
     * [0.0e0], the 18-digit integers, [1e308], [1e-400]?, ... at least a
     * score of them */
    ck_assert_uint_ge(read_own - before, 20);
    /* a key longer than the reader's stack buffer, escaped and not */
    char key[400];
    memset(key, 'k', sizeof key);
    char *long_key = NULL, *long_esc = NULL;
    ck_assert_int_gt(asprintf(&long_key, "{\"%.*s\":[1],\"%.*s\":2}", 300, key, 300, key), 0);
    ck_assert_int_gt(asprintf(&long_esc, "{\"\\n%.*s\":\"\\t%.*s\"}", 300, key, 300, key), 0);
    read_same(long_key, strlen(long_key));
    read_same(long_esc, strlen(long_esc));
    free(long_key);
    free(long_esc);
    /* NUL bytes inside the buffer: in a string, between tokens */
    read_same("[\"a\0b\"]", 7);
    read_same("[1,\0 2]", 7);
    read_same("[1]\0", 4);
    /* nesting up to and past the reader's limit and jansson's */
    for (int depth = FBI_JSON_READ_MAX_DEPTH - 2; depth <= 2100; depth += depth < 600 ? 1 : 500) {
        char *t = malloc((size_t)depth * 2 + 1);
        memset(t, '[', (size_t)depth);
        memset(t + depth, ']', (size_t)depth);
        read_same(t, (size_t)depth * 2);
        free(t);
    }
    /* a flag the reader does not do itself: jansson's answer */
    read_same_flags("[1,2]", 5, JSON_DECODE_INT_AS_REAL);
    read_same_flags("[\"\\u0000\"]", 10, JSON_ALLOW_NUL);
    /* NULL: both refuse the same way */
    json_error_t e1, e2;
    ck_assert_ptr_null(fbi_json_read(NULL, 0, 0, &e1));
    ck_assert_ptr_null(json_loadb(NULL, 0, 0, &e2));
    ck_assert_str_eq(e1.text, e2.text);
}
END_TEST

START_TEST(edges)
{
    /* every single byte below 0x80 as a string, and as a key */
    for (int c = 0; c < 0x80; c++) {
        char s[1] = {(char)c};
        json_t *v = json_stringn(s, 1);
        same(v);
        json_t *o = json_object();
        char k[2] = {(char)(c ? c : 'x'), 0};
        json_object_set_new(o, k, v);
        same(o);
        json_decref(o);
    }
    /* deeper than the writer goes itself: json_dumps' answer */
    json_t *deep = json_array();
    json_t *at = deep;
    for (int i = 0; i < FBI_JSON_WRITE_MAX_DEPTH + 50; i++) {
        json_t *next = json_array();
        json_array_append_new(at, next);
        at = next;
    }
    same(deep);
    json_decref(deep);
    /* a cycle: both refuse */
    json_t *o = json_object();
    json_object_set(o, "self", o);
    same(o);
    json_object_del(o, "self");
    json_decref(o);
    /* many keys (the sort's heap path) */
    json_t *big = json_object();
    for (int i = 0; i < 500; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", (i * 7919) % 1000);
        json_object_set_new(big, k, json_integer(i));
    }
    same(big);
    json_decref(big);
#if JANSSON_VERSION_HEX >= 0x020e00
    /* a key holding a NUL (json_object_setn) */
    json_t *nul = json_object();
    json_object_setn_new(nul, "a\0b", 3, json_integer(1));
    json_object_setn_new(nul, "a", 1, json_integer(2));
    json_object_setn_new(nul, "a\0", 2, json_integer(3));
    same(nul);
    json_decref(nul);
#endif
}
END_TEST

int main(void)
{
    Suite *s = suite_create("jsonwrite");
    TCase *tc = tcase_create("jsonwrite");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, documents);
    tcase_add_test(tc, generated);
    tcase_add_test(tc, edges);
    tcase_add_test(tc, read_generated);
    tcase_add_test(tc, read_edges);
    suite_add_tcase(s, tc);
    return fbt_run(s);
}
