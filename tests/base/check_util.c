/* check_util.c - time parsing (FEDBROKER_NOW), UTF-8 validation, edit
 * distance, JSON pointer escaping, canonical hashing, the string map and the
 * decimal module (one rounding rule, overflow as an error). */
#include "config.h"
#include "../lib/fbtest.h"
#include "base/util.h"
#include "base/map.h"
#include "base/decimal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* fbi_write_file_atomic writes a device in place: renaming its temp file
 * over /dev/null (as root) replaced the machine's /dev/null with a
 * regular file. A directory is refused; a regular file is replaced. */
START_TEST(write_atomic_targets)
{
    char *err = NULL;
    ck_assert_msg(fbi_write_file_atomic("/dev/null", "x\n", 2, &err) == 0, "%s", err ? err : "");
    struct stat st;
    ck_assert_int_eq(stat("/dev/null", &st), 0);
    ck_assert(S_ISCHR(st.st_mode));
    char dir[64];
    fbt_tmpdir(dir, sizeof dir, "fb-atomic");
    ck_assert_int_eq(fbi_write_file_atomic(dir, "x", 1, &err), -1);
    ck_assert_ptr_nonnull(strstr(err, "is a directory"));
    free(err);
    err = NULL;
    char file[128];
    snprintf(file, sizeof file, "%s/out.json", dir);
    ck_assert_int_eq(fbi_write_file_atomic(file, "old", 3, &err), 0);
    ck_assert_int_eq(fbi_write_file_atomic(file, "new!", 4, &err), 0);
    char *back = fbi_read_file(file, 100, NULL, &err);
    ck_assert_str_eq(back, "new!");
    free(back);
    fbt_rmtree(dir);
}
END_TEST

START_TEST(rfc3339)
{
    int64_t t;
    ck_assert_int_eq(fbi_parse_rfc3339("2015-08-30T12:36:00Z", &t), 0);
    ck_assert_int_eq(t, 1440938160); /* the SigV4 test suite's date */
    ck_assert_int_eq(fbi_parse_rfc3339("1970-01-01T00:00:00Z", &t), 0);
    ck_assert_int_eq(t, 0);
    ck_assert_int_eq(fbi_parse_rfc3339("2024-02-29T23:59:59Z", &t), 0);
    /* compare with the C library for a spread of dates */
    for (int64_t x = -86400LL * 365 * 30; x < 86400LL * 365 * 80; x += 86400LL * 37 + 3607) {
        char s[21];
        fbi_format_rfc3339(x, s);
        ck_assert_int_eq(fbi_parse_rfc3339(s, &t), 0);
        ck_assert_int_eq(t, x);
    }
    ck_assert_int_eq(fbi_parse_rfc3339("2023-02-29T00:00:00Z", &t), -1);
    ck_assert_int_eq(fbi_parse_rfc3339("2015-08-30T12:36:00+02:00", &t), -1);
    ck_assert_int_eq(fbi_parse_rfc3339("2015-08-30 12:36:00Z", &t), -1);
    ck_assert_int_eq(fbi_parse_rfc3339("2015-13-30T12:36:00Z", &t), -1);
    ck_assert_int_eq(fbi_parse_rfc3339("2015-08-30T12:36:00Zjunk", &t), -1);
}
END_TEST

START_TEST(now_override)
{
    int64_t t;
    char *err = NULL;
    setenv("FEDBROKER_NOW", "2015-08-30T12:36:00Z", 1);
    ck_assert_int_eq(fbi_now(&t, &err), 0);
    ck_assert_int_eq(t, 1440938160);
    setenv("FEDBROKER_NOW", "yesterday", 1);
    ck_assert_int_eq(fbi_now(&t, &err), -1);
    ck_assert_ptr_nonnull(strstr(err, "RFC 3339"));
    free(err);
    unsetenv("FEDBROKER_NOW");
    ck_assert_int_eq(fbi_now(&t, NULL), 0);
    ck_assert_int_ge(t, (int64_t)time(NULL) - 5);
}
END_TEST

START_TEST(utf8)
{
    ck_assert(fbi_utf8_valid("plain", 5));
    ck_assert(fbi_utf8_valid("caf\xc3\xa9", 5));
    ck_assert(fbi_utf8_valid("\xf0\x9f\x98\x80", 4));
    ck_assert(!fbi_utf8_valid("\xc3", 1));             /* truncated */
    ck_assert(!fbi_utf8_valid("\xc0\xaf", 2));         /* overlong */
    ck_assert(!fbi_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    ck_assert(!fbi_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    ck_assert(!fbi_utf8_valid("\xff", 1));
}
END_TEST

START_TEST(edit_distance)
{
    ck_assert_int_eq(fbi_edit_distance("memory", "memroy", 3), 2);
    ck_assert_int_eq(fbi_edit_distance("memory", "memory", 3), 0);
    ck_assert_int_eq(fbi_edit_distance("memry", "memory", 3), 1);
    ck_assert_int_eq(fbi_edit_distance("cpu", "timeout", 2), 3);
}
END_TEST

START_TEST(pointer_escaping)
{
    fbi_buf b;
    fbi_buf_init(&b);
    fbi_pointer_append(&b, "spec");
    fbi_pointer_append(&b, "a/b~c");
    fbi_pointer_append_index(&b, 3);
    ck_assert_str_eq(b.data, "/spec/a~1b~0c/3");
    fbi_buf_free(&b);
}
END_TEST

START_TEST(canonical_hash)
{
    json_t *a = json_loads("{\"b\":1,\"a\":[1,2]}", 0, NULL);
    json_t *b = json_loads("{ \"a\": [1, 2], \"b\": 1 }", 0, NULL);
    json_t *c = json_loads("{\"a\":[2,1],\"b\":1}", 0, NULL);
    char ha[65], hb[65], hc[65];
    fbi_json_hash(a, ha);
    fbi_json_hash(b, hb);
    fbi_json_hash(c, hc);
    ck_assert_str_eq(ha, hb);
    ck_assert_str_ne(ha, hc);
    /* SHA-256 of the canonical text, checked against a known digest */
    char h[65];
    fbi_sha256_hex("abc", 3, h);
    ck_assert_str_eq(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    json_decref(a);
    json_decref(b);
    json_decref(c);
}
END_TEST

START_TEST(buffers)
{
    fbi_buf b;
    fbi_buf_init(&b);
    for (int i = 0; i < 10000; i++) fbi_buf_printf(&b, "%d,", i);
    ck_assert_uint_eq(b.len, strlen(b.data));
    char *s = fbi_buf_steal(&b);
    ck_assert(strncmp(s, "0,1,2,", 6) == 0);
    free(s);
    ck_assert_ptr_null(b.data);
    /* printf formats into the spare room first and again when the output
     * does not fit: every length around the room's edges, appended to
     * buffers of every fill, against the same bytes appended as a string */
    char big[1200];
    for (size_t i = 0; i < sizeof big - 1; i++) big[i] = (char)('a' + i % 26);
    for (size_t pre = 0; pre < 300; pre += 37) {
        for (size_t n = 0; n < 1100; n += (n < 270 ? 1 : 97)) {
            fbi_buf p, q;
            fbi_buf_init(&p);
            fbi_buf_init(&q);
            fbi_buf_append(&p, big, pre);
            fbi_buf_append(&q, big, pre);
            fbi_buf_printf(&p, "%.*s|%d", (int)n, big, (int)n);
            fbi_buf_append(&q, big, n);
            char tail[16];
            snprintf(tail, sizeof tail, "|%d", (int)n);
            fbi_buf_puts(&q, tail);
            ck_assert_uint_eq(p.len, q.len);
            ck_assert_uint_eq(strlen(p.data), p.len);
            ck_assert(memcmp(p.data, q.data, q.len + 1) == 0);
            fbi_buf_free(&p);
            fbi_buf_free(&q);
        }
        char *x = fbi_xasprintf("%.*s", (int)pre, big);
        ck_assert_uint_eq(strlen(x), pre);
        ck_assert(memcmp(x, big, pre) == 0);
        free(x);
    }
}
END_TEST

/* The string map against a plain list: every key found with its value,
 * absent keys not found, a second put keeps the first value, across the
 * growth of the table (64 slots at first) and the wrap of its probes. */
START_TEST(string_map)
{
    fbi_smap m = {0};
    size_t v = 99;
    ck_assert_int_eq(fbi_smap_get(&m, "x", &v), 0); /* empty: no table yet */
    ck_assert_uint_eq(v, 99);
    enum { N = 5000 };
    static char keys[N][16];
    for (size_t i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "k%zu", i * 7919);
        ck_assert_int_eq(fbi_smap_put(&m, keys[i], i, NULL), 1);
        ck_assert_uint_le(2 * m.n, m.cap);
        if (i == 20 || i == N - 1) /* early (one small table) and at the end */
            for (size_t k = 0; k <= i; k++) {
                ck_assert_int_eq(fbi_smap_get(&m, keys[k], &v), 1);
                ck_assert_uint_eq(v, k);
            }
    }
    ck_assert_uint_eq(m.n, N);
    /* the same text in another buffer is the same key */
    char copy[16];
    strcpy(copy, keys[1234]);
    size_t old = 0;
    ck_assert_int_eq(fbi_smap_put(&m, copy, 1, &old), 0);
    ck_assert_uint_eq(old, 1234);
    ck_assert_int_eq(fbi_smap_get(&m, copy, &v), 1);
    ck_assert_uint_eq(v, 1234);
    ck_assert_int_eq(fbi_smap_put(&m, keys[3], 7, NULL), 0);
    ck_assert_uint_eq(m.n, N);
    /* absent keys, including prefixes and extensions of present ones */
    ck_assert_int_eq(fbi_smap_get(&m, "k", &v), 0);
    ck_assert_int_eq(fbi_smap_get(&m, "k79191", &v), 0); /* not a multiple of 7919 */
    ck_assert_int_eq(fbi_smap_get(&m, "k79190x", &v), 0); /* a present key extended */
    ck_assert_int_eq(fbi_smap_get(&m, "k1", &v), 0);
    ck_assert_int_eq(fbi_smap_get(&m, "", &v), 0);
    /* the table holds each key once */
    size_t used = 0;
    for (size_t i = 0; i < m.cap; i++) used += m.keys[i] != NULL;
    ck_assert_uint_eq(used, N);
    fbi_smap_free(&m);
    ck_assert_uint_eq(m.cap, 0);
    ck_assert_int_eq(fbi_smap_get(&m, keys[0], &v), 0);
}
END_TEST

/* core/base/decimal.c: parse, format, one rounding rule (nearest, halves
 * away from zero) and overflow as an error, never a clamp. */
START_TEST(decimals)
{
    int64_t v;
    char *err = NULL;
    char b[FBI_DEC_BUF];
    ck_assert_int_eq(fbi_dec_parse("0.0000166667", 12, 0, &v, &err), 0);
    ck_assert_int_eq(v, 16666700);
    ck_assert_int_eq(fbi_dec_parse("12.500", 2, 0, &v, &err), 0); /* zeros past the scale are exact */
    ck_assert_int_eq(v, 1250);
    ck_assert_int_eq(fbi_dec_parse("12.505", 2, 0, &v, &err), -1); /* never rounded on input */
    ck_assert_ptr_nonnull(strstr(err, "more than 2 decimal places"));
    free(err);
    ck_assert_int_eq(fbi_dec_parse("-1", 6, 0, &v, &err), -1);
    ck_assert_ptr_nonnull(strstr(err, "negative"));
    free(err);
    ck_assert_int_eq(fbi_dec_parse("-1.5", 6, FBI_DEC_SIGNED, &v, NULL), 0);
    ck_assert_int_eq(v, -1500000);
    ck_assert_int_eq(fbi_dec_parse("1.5e3", 0, 0, &v, NULL), -1);
    ck_assert_int_eq(fbi_dec_parse("1.5e3", 0, FBI_DEC_EXPONENT, &v, NULL), 0);
    ck_assert_int_eq(v, 1500);
    ck_assert_int_eq(fbi_dec_parse("9223372036.854775807", 9, 0, &v, NULL), 0);
    ck_assert_int_eq(v, INT64_MAX);
    ck_assert_int_eq(fbi_dec_parse("9223372036.854775808", 9, 0, &v, &err), -1);
    ck_assert_ptr_nonnull(strstr(err, "too large"));
    free(err);
    const char *bad[] = {"", ".", "1.", "1..2", "1,5", " 1", "1 ", "0x10", "1e", "+-1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(fbi_dec_parse(bad[i], 6, FBI_DEC_SIGNED, &v, NULL) == -1, "'%s' parsed", bad[i]);
    ck_assert_str_eq(fbi_dec_format(1250, 2, 2, b), "12.50");
    ck_assert_str_eq(fbi_dec_format(1250, 2, 0, b), "12.5");
    ck_assert_str_eq(fbi_dec_format(-5, 9, 2, b), "-0.000000005");
    ck_assert_str_eq(fbi_dec_format(7000000000, 9, 0, b), "7");
    ck_assert_str_eq(fbi_dec_format(INT64_MIN + 1, 0, 0, b), "-9223372036854775807");
    ck_assert_str_eq(fbi_dec_format(INT64_MAX, 18, 0, b), "9.223372036854775807");
    /* every value round-trips through format and parse */
    for (int64_t x = -2000003; x <= 2000003; x += 997) {
        ck_assert_int_eq(fbi_dec_parse(fbi_dec_format(x, 6, 0, b), 6, FBI_DEC_SIGNED, &v, NULL), 0);
        ck_assert_int_eq(v, x);
    }
    /* the rule: halves away from zero, in muldiv and rescale alike */
    ck_assert_int_eq(fbi_dec_muldiv(5, 1, 10, &v), 0);
    ck_assert_int_eq(v, 1);
    ck_assert_int_eq(fbi_dec_muldiv(-5, 1, 10, &v), 0);
    ck_assert_int_eq(v, -1);
    ck_assert_int_eq(fbi_dec_muldiv(15, 1, 10, &v), 0); /* not to even */
    ck_assert_int_eq(v, 2);
    ck_assert_int_eq(fbi_dec_muldiv(4, 1, 10, &v), 0);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(fbi_dec_rescale(12345000, 9, 2, &v), 0); /* 0.012345 USD -> 0.01 */
    ck_assert_int_eq(v, 1);
    ck_assert_int_eq(fbi_dec_rescale(5000000, 9, 2, &v), 0); /* half a cent up */
    ck_assert_int_eq(v, 1);
    ck_assert_int_eq(fbi_dec_rescale(-5000000, 9, 2, &v), 0);
    ck_assert_int_eq(v, -1);
    /* against the arithmetic of the definition on a grid (|a x b| < 2^63) */
    for (int64_t a = -3001; a <= 3001; a += 37)
        for (int64_t d = 1; d <= 40; d++) {
            int64_t n = a * 7;
            int64_t want = (n >= 0 ? (2 * n + d) / (2 * d) : -((-2 * n + d) / (2 * d)));
            ck_assert_int_eq(fbi_dec_muldiv(a, 7, d, &v), 0);
            ck_assert_int_eq(v, want);
        }
    /* overflow is an error, never a clamp */
    ck_assert_int_eq(fbi_dec_muldiv(INT64_MAX, 2, 1, &v), -1);
    ck_assert_int_eq(fbi_dec_muldiv(1, 1, 0, &v), -1);
    ck_assert_int_eq(fbi_dec_rescale(INT64_MAX / 10 + 1, 2, 3, &v), -1);
    v = INT64_MAX;
    ck_assert_int_eq(fbi_dec_add(&v, 1), -1);
    ck_assert_int_eq(v, INT64_MAX);
    /* ratios: exact when the expansion ends, else rounded at the places */
    char r[200];
    int rounded = -1;
    ck_assert_str_eq(fbi_dec_ratio(1, 4, 9, 0, &rounded, r, sizeof r), "0.25");
    ck_assert_int_eq(rounded, 0);
    ck_assert_str_eq(fbi_dec_ratio(2, 3, 6, 0, &rounded, r, sizeof r), "0.666667");
    ck_assert_int_eq(rounded, 1);
    ck_assert_str_eq(fbi_dec_ratio(1, 3, 6, 0, NULL, r, sizeof r), "0.333333");
    ck_assert_str_eq(fbi_dec_ratio(1, 3, 6, 1, NULL, r, sizeof r), "0.333334");
    ck_assert_str_eq(fbi_dec_ratio(19999, 20000, 3, 0, NULL, r, sizeof r), "1");
}
END_TEST


int main(void)
{
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("util");
    tcase_add_test(tc, write_atomic_targets);
    tcase_add_test(tc, rfc3339);
    tcase_add_test(tc, now_override);
    tcase_add_test(tc, utf8);
    tcase_add_test(tc, edit_distance);
    tcase_add_test(tc, pointer_escaping);
    tcase_add_test(tc, canonical_hash);
    tcase_add_test(tc, buffers);
    tcase_add_test(tc, string_map);
    tcase_add_test(tc, decimals);
    suite_add_tcase(s, tc);
    return fbt_run(s);
}
