/* check_jsonwrite.c - fbi_json_write (core/base/jsonwrite.c) against the
 * writer it stands in for: jansson's json_dumps with JSON_COMPACT |
 * JSON_ENCODE_ANY, with and without JSON_SORT_KEYS, must give the same
 * bytes (or both NULL) for the project's JSON documents and reference
 * data (files we did not write), and for generated values: every control
 * character, quotes and backslashes, valid and invalid UTF-8, the integer
 * extremes, reals, keys that are prefixes of each other, deep nesting and
 * a cycle. */
#include "config.h"
#include "../lib/fbtest.h"
#include "base/jsonwrite.h"

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
    suite_add_tcase(s, tc);
    return fbt_run(s);
}
