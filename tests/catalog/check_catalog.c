/* check_catalog.c - the catalog: strict CSV, every validation error class
 * with its line (fixtures in tests/catalog/bad), exact money against the
 * compiler's 128-bit arithmetic, tier and variant look-ups, overrides
 * precedence, egress paths, latency origins, and the distance model against
 * the measured matrix. */
#include "config.h"
#include "catalog/catalog.h"
#include "base/util.h"

#include "../lib/fbtest.h"

#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef FB_TOP_SRCDIR
#define FB_TOP_SRCDIR "."
#endif

static char *path_of(const char *rel)
{
    return fbi_xasprintf("%s/%s", FB_TOP_SRCDIR, rel);
}

/* ---- helpers -------------------------------------------------------------------- */

static int diag_has(const fb_diag *d, const char *file_suffix, int line, const char *needle)
{
    for (size_t i = 0; i < fb_diag_count(d); i++) {
        if (fb_diag_severity(d, i) != FB_SEV_ERROR) continue;
        const char *f = fb_diag_file(d, i);
        if (file_suffix && (!f || !fbi_str_has_suffix(f, file_suffix))) continue;
        if (line && fb_diag_line(d, i) != line) continue;
        if (needle && !strstr(fb_diag_summary(d, i), needle)) continue;
        return 1;
    }
    return 0;
}

static void copy_file(const char *from, const char *to)
{
    size_t len;
    char *err = NULL;
    char *data = fbi_read_file(from, 1u << 26, &len, &err);
    ck_assert_msg(data != NULL, "%s", err ? err : "");
    FILE *f = fopen(to, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
    free(data);
}

/* A temporary catalog: the base fixture with the files of overlay (a
 * directory, may be NULL) copied over it. new path (free()). */
static char *tmp_catalog(const char *overlay)
{
    char tmpl[] = "/tmp/fbcat.XXXXXX";
    char *dir = fbi_xstrdup(mkdtemp(tmpl));
    char *base = path_of("tests/catalog/base");
    const char *srcs[2] = {base, overlay};
    for (int k = 0; k < 2; k++) {
        if (!srcs[k]) continue;
        DIR *dd = opendir(srcs[k]);
        ck_assert_ptr_nonnull(dd);
        struct dirent *e;
        while ((e = readdir(dd))) {
            if (!fbi_str_has_suffix(e->d_name, ".csv") && strcmp(e->d_name, "overrides.json"))
                continue;
            char *a = fbi_xasprintf("%s/%s", srcs[k], e->d_name);
            char *b = fbi_xasprintf("%s/%s", dir, e->d_name);
            copy_file(a, b);
            free(a);
            free(b);
        }
        closedir(dd);
    }
    free(base);
    return dir;
}

static void rm_catalog(char *dir)
{
    DIR *dd = opendir(dir);
    struct dirent *e;
    while (dd && (e = readdir(dd))) {
        if (e->d_name[0] == '.') continue;
        char *p = fbi_xasprintf("%s/%s", dir, e->d_name);
        unlink(p);
        free(p);
    }
    if (dd) closedir(dd);
    rmdir(dir);
    free(dir);
}

static void write_text(const char *dir, const char *name, const char *text)
{
    char *p = fbi_xasprintf("%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    free(p);
}

static fbi_catalog *load_base(void)
{
    char *dir = path_of("tests/catalog/base");
    fb_diag *d = fb_diag_new();
    fbi_catalog *cat = NULL;
    fb_status st = fbi_catalog_load_dir(dir, &cat, d);
    if (st != FB_OK) fb_diag_print(d, stderr);
    ck_assert_int_eq(st, FB_OK);
    ck_assert_uint_eq(fb_diag_count(d), 0);
    fb_diag_free(d);
    free(dir);
    return cat;
}

static fbi_catalog *load_embedded(void)
{
    fb_diag *d = fb_diag_new();
    fbi_catalog *cat = NULL;
    ck_assert_int_eq(fbi_catalog_load_embedded(&cat, d), FB_OK);
    ck_assert_uint_eq(fb_diag_errors(d), 0);
    fb_diag_free(d);
    return cat;
}

/* ---- CSV ------------------------------------------------------------------------------ */

static fbi_csv *parse_ok(const char *text)
{
    fb_diag *d = fb_diag_new();
    fbi_csv *c = NULL;
    fb_status st = fbi_csv_parse(text, strlen(text), "t.csv", &c, d);
    if (st != FB_OK) fb_diag_print(d, stderr);
    ck_assert_int_eq(st, FB_OK);
    fb_diag_free(d);
    return c;
}

START_TEST(csv_good)
{
    fbi_csv *c = parse_ok("a,b\n1,\"x,y\"\n\"q\"\"q\",\n");
    ck_assert_uint_eq(c->ncols, 2);
    ck_assert_uint_eq(c->nrows, 2);
    ck_assert_str_eq(c->rows[0][1], "x,y");
    ck_assert_str_eq(c->rows[1][0], "q\"q");
    ck_assert_str_eq(c->rows[1][1], "");
    ck_assert_int_eq(c->lines[1], 3);
    fbi_csv_free(c);
    /* a quoted newline: the next record's line number counts it */
    c = parse_ok("a,b\n\"line1\nline2\",z\n3,4\n");
    ck_assert_str_eq(c->rows[0][0], "line1\nline2");
    ck_assert_int_eq(c->lines[0], 2);
    ck_assert_int_eq(c->lines[1], 4);
    fbi_csv_free(c);
    /* CRLF, a BOM, no final newline, trailing blank lines */
    c = parse_ok("\xEF\xBB\xBF" "a,b\r\n1,2\r\n3,\"4\"");
    ck_assert_str_eq(c->header[0], "a");
    ck_assert_uint_eq(c->nrows, 2);
    ck_assert_str_eq(c->rows[1][1], "4");
    fbi_csv_free(c);
    c = parse_ok("a\n1\n\n\n");
    ck_assert_uint_eq(c->nrows, 1);
    fbi_csv_free(c);
    /* a single column of empty values still counts as a column */
    c = parse_ok("a,b\n,\n");
    ck_assert_uint_eq(c->nrows, 1);
    ck_assert_int_eq(fbi_csv_col(c, "b"), 1);
    ck_assert_int_eq(fbi_csv_col(c, "z"), -1);
    fbi_csv_free(c);
}
END_TEST

START_TEST(csv_errors)
{
    static const struct {
        const char *text;
        int line, col;
        const char *summary;
        const char *last; /* the last good record's second field, or NULL */
    } cases[] = {
        {"a,b\n1,\"open\n2,3\n", 2, 3, "unterminated quoted field", NULL},
        {"a,b\n1,x\"y\n2,3\n", 2, 4, "quote inside an unquoted field", "3"},
        {"a,b\n1,\"x\"y\n2,3\n", 2, 6, "text after a closing quote", "3"},
        {"a,b\n0,1\n1,2\r3,4\n", 3, 4, "bare carriage return", "1"},
        {"a,b\n1,2,3\n4,5\n", 2, 0, "row has 3 fields; the header has 2", "5"},
        {"a,b\n1,2\n\n4,5\n", 3, 1, "empty line", "5"},
        {"a,b\n1,\xff\n4,5\n", 2, 3, "not valid UTF-8", "5"},
        {"a,a\n1,2\n", 1, 0, "duplicate column 'a'", "2"},
        {"", 1, 0, "no header row", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fb_diag *d = fb_diag_new();
        fbi_csv *c = NULL;
        fb_status st = fbi_csv_parse(cases[i].text, strlen(cases[i].text), "t.csv", &c, d);
        ck_assert_msg(st == FB_INVALID, "case %zu parsed", i);
        ck_assert_msg(diag_has(d, "t.csv", cases[i].line, cases[i].summary),
                      "case %zu: no '%s' at line %d", i, cases[i].summary, cases[i].line);
        for (size_t k = 0; k < fb_diag_count(d); k++)
            if (cases[i].col && strstr(fb_diag_summary(d, k), cases[i].summary))
                ck_assert_int_eq(fb_diag_column(d, k), cases[i].col);
        /* the good records around the bad one are still read */
        if (cases[i].last) {
            ck_assert_uint_gt(c->nrows, 0);
            ck_assert_str_eq(c->rows[c->nrows - 1][1], cases[i].last);
        }
        fbi_csv_free(c);
        fb_diag_free(d);
    }
}
END_TEST

START_TEST(csv_write_roundtrip)
{
    const char *fields[] = {"plain", "with,comma", "with \"quote\"", "two\nlines", " lead",
                            "", "trail "};
    fbi_buf b;
    fbi_buf_init(&b);
    fbi_buf_puts(&b, "c0,c1,c2,c3,c4,c5,c6\n");
    for (size_t i = 0; i < 7; i++) {
        if (i) fbi_buf_putc(&b, ',');
        fbi_csv_put_field(&b, fields[i]);
    }
    fbi_buf_putc(&b, '\n');
    fbi_csv *c = parse_ok(b.data);
    for (size_t i = 0; i < 7; i++) ck_assert_str_eq(c->rows[0][i], fields[i]);
    fbi_csv_free(c);
    fbi_buf_free(&b);
}
END_TEST

/* ---- money ------------------------------------------------------------------------------ */

START_TEST(money_parse)
{
    fbi_pusd p;
    fbi_qty q;
    char *err = NULL;
    char out[32];
    ck_assert_int_eq(fbi_money_parse("0.0000166667", &p, &err), 0);
    ck_assert_int_eq(p, INT64_C(16666700));
    fbi_pusd_format(p, out);
    ck_assert_str_eq(out, "0.0000166667");
    ck_assert_int_eq(fbi_money_parse("0.000000000001", &p, &err), 0);
    ck_assert_int_eq(p, 1);
    ck_assert_int_eq(fbi_money_parse("1.100000000000000", &p, &err), 0); /* zeros are exact */
    ck_assert_int_eq(p, INT64_C(1100000000000));
    ck_assert_int_eq(fbi_money_parse("00.5", &p, &err), 0);
    ck_assert_int_eq(p, INT64_C(500000000000));
    ck_assert_int_eq(fbi_money_parse("0.00005479452", &p, &err), 0);
    ck_assert_int_eq(p, INT64_C(54794520));
    static const char *const bad[] = {"0.0000000000001", "-1", "1e-5", "", "1.2.3", ".",
                                      "5.", " 1", "1 ", "+1", "0x10", "9999999999", "inf", "NaN"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_msg(fbi_money_parse(bad[i], &p, &err) == -1, "'%s' accepted", bad[i]);
        ck_assert_ptr_nonnull(err);
        free(err);
        err = NULL;
    }
    ck_assert_int_eq(fbi_money_parse("-0.5", &p, &err), -1);
    ck_assert_ptr_nonnull(strstr(err, "negative"));
    free(err);
    ck_assert_int_eq(fbi_qty_parse("inf", &q, &err), 0);
    ck_assert(q == FBI_QTY_INF);
    ck_assert_int_eq(fbi_qty_parse("250.5", &q, &err), 0);
    ck_assert_int_eq(q, 250500000);
    fbi_qty_format(q, out);
    ck_assert_str_eq(out, "250.5");
    fbi_musd_format(6666680, out);
    ck_assert_str_eq(out, "6.666680");
    fbi_pusd_format(0, out);
    ck_assert_str_eq(out, "0");
    fbi_pusd_format(FBI_PUSD_PER_USD * 12, out);
    ck_assert_str_eq(out, "12");
}
END_TEST

/* Reference: the compiler's 128-bit arithmetic (independent of the
 * hand-written 64-bit halves in catalog_money.c). */
static int64_t ref_cost(int64_t qty, int64_t price, int64_t div)
{
    __extension__ unsigned __int128 prod = (unsigned __int128)qty * (unsigned __int128)price;
    unsigned __int128 q = prod / (unsigned __int128)div, r = prod % (unsigned __int128)div;
    if (2 * r >= (unsigned __int128)div) q++;
    return (int64_t)q;
}

START_TEST(money_line_cost)
{
    fbi_musd c;
    char *err = NULL;
    fbi_pusd p;
    /* the brief's example: 400,000 GB-s at 0.0000166667 USD is 6.66668 USD */
    fbi_money_parse("0.0000166667", &p, &err);
    ck_assert_int_eq(fbi_line_cost(400000 * FBI_QTY_ONE, p, &c, &err), 0);
    ck_assert_int_eq(c, 6666680);
    ck_assert_int_eq(fbi_line_cost_units(400000, p, &c, &err), 0);
    ck_assert_int_eq(c, 6666680);
    /* rounding: half up to micro-USD per line item */
    fbi_money_parse("0.0000001", &p, &err);
    ck_assert_int_eq(fbi_line_cost_units(5, p, &c, &err), 0);
    ck_assert_int_eq(c, 1); /* 0.5 micro-USD rounds up */
    ck_assert_int_eq(fbi_line_cost_units(4, p, &c, &err), 0);
    ck_assert_int_eq(c, 0); /* 0.4 rounds down */
    ck_assert_int_eq(fbi_line_cost(FBI_QTY_ONE / 2, INT64_C(1000000), &c, &err), 0);
    ck_assert_int_eq(c, 1); /* half a unit at 1 micro-USD: 0.5 -> 1 */
    /* a trillion requests at 0.20 per million */
    fbi_money_parse("0.0000002", &p, &err);
    ck_assert_int_eq(fbi_line_cost_units(INT64_C(1000000000000), p, &c, &err), 0);
    ck_assert_int_eq(c, INT64_C(200000) * FBI_MUSD_PER_USD);
    /* overflow is an error, not a wrap */
    ck_assert_int_eq(fbi_line_cost(INT64_MAX - 1, FBI_PUSD_PER_USD * 1000, &c, &err), -1);
    ck_assert_ptr_nonnull(err);
    free(err);
    err = NULL;
    ck_assert_int_eq(fbi_line_cost(-1, p, &c, &err), -1);
    free(err);
    err = NULL;
    /* agree with 128-bit reference arithmetic on many values */
    uint64_t s = 88172645463325252u;
    for (int i = 0; i < 20000; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        int64_t qty = (int64_t)(s % UINT64_C(100000000000000000)); /* up to 1e11 units */
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        int64_t price = (int64_t)(s % UINT64_C(1000000000000)); /* up to 1 USD */
        if (i % 3 == 0) qty %= 1000000; /* small quantities exercise rounding */
        ck_assert_int_eq(fbi_line_cost(qty, price, &c, &err), 0);
        ck_assert_int_eq(c, ref_cost(qty, price, INT64_C(1000000000000)));
        ck_assert_int_eq(fbi_apply_discount(price, 12500000), ref_cost(price, 87500000, 100000000));
    }
    /* discounts round half up to pico-USD */
    ck_assert_int_eq(fbi_apply_discount(16666700, 12500000), 14583363); /* 14583362.5 */
    ck_assert_int_eq(fbi_apply_discount(16666700, 100 * FBI_PCT_ONE), 0);
    ck_assert_int_eq(fbi_apply_discount(16666700, 0), 16666700);
}
END_TEST

/* ---- look-ups ------------------------------------------------------------------------------- */

static const fbi_price_row **find(const fbi_catalog *cat, const char *p, const char *s,
                                  const char *r, const char *m, const char *v, const char *pm,
                                  size_t *n, fb_status want)
{
    fbi_price_query q = {p, s, r, m, v, pm};
    const fbi_price_row **rows = NULL;
    fb_diag *d = fb_diag_new();
    fb_status st = fbi_catalog_find_prices(cat, &q, &rows, n, d);
    if (st != want) fb_diag_print(d, stderr);
    ck_assert_int_eq(st, want);
    if (want != FB_OK) ck_assert_uint_eq(fb_diag_errors(d), 1);
    fb_diag_free(d);
    return rows;
}

START_TEST(tiers_base)
{
    fbi_catalog *cat = load_base();
    size_t n;
    const fbi_price_row **rows = find(cat, "alpha", "fn", "r-east", "duration", "x86_64", NULL,
                                      &n, FB_OK);
    ck_assert_uint_eq(n, 3); /* the T2 alternate row is not a tier */
    ck_assert_str_eq(rows[0]->sku, "alpha/fn/r-east/duration/x86_64/t0");
    ck_assert_str_eq(rows[1]->tier_start_text, "100");
    ck_assert_str_eq(rows[2]->tier_start_text, "250.5");
    ck_assert(rows[2]->tier_end == FBI_QTY_INF);
    fbi_tier_line lines[3];
    size_t nl;
    fbi_musd total;
    char *err = NULL;
    ck_assert_int_eq(fbi_tiered_cost(rows, n, 300 * FBI_QTY_ONE, lines, &nl, &total, &err), 0);
    ck_assert_uint_eq(nl, 3);
    ck_assert_int_eq(lines[0].qty, 100 * FBI_QTY_ONE);
    ck_assert_int_eq(lines[1].qty, 150500000);
    ck_assert_int_eq(lines[2].qty, 49500000);
    fbi_musd sum = 0;
    for (size_t i = 0; i < 3; i++) {
        ck_assert_int_eq(lines[i].cost, ref_cost(lines[i].qty, lines[i].row->usd_per_unit,
                                                 INT64_C(1000000000000)));
        sum += lines[i].cost;
    }
    ck_assert_int_eq(total, sum);            /* line items add up exactly */
    ck_assert_int_eq(total, 1667 + 2258 + 660);
    /* inside the first tier only */
    ck_assert_int_eq(fbi_tiered_cost(rows, n, 100 * FBI_QTY_ONE, lines, &nl, &total, &err), 0);
    ck_assert_uint_eq(nl, 1);
    free(rows);
    /* past the last tier the catalog has: an error, not a guess */
    rows = find(cat, "alpha", "fn", "r-east", "duration", "arm64", NULL, &n, FB_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(fbi_tiered_cost(rows, n, 100 * FBI_QTY_ONE, lines, &nl, &total, &err), 0);
    ck_assert_int_eq(fbi_tiered_cost(rows, n, 150 * FBI_QTY_ONE, lines, &nl, &total, &err), -1);
    ck_assert_ptr_nonnull(strstr(err, "past the last tier"));
    free(err);
    free(rows);
    fbi_catalog_free(cat);
}
END_TEST

/* One price lookup against the base catalog and what it must give: the
 * status and, when found, a text member of the first row (offsetof in
 * fbi_price_row) with its value. */
typedef struct lcase {
    const char *provider, *service, *region, *metric, *variant, *model;
    fb_status st;
    size_t member;
    const char *want;
} lcase;
#define ROW(m) offsetof(fbi_price_row, m)

static const lcase scope_cases[] = {
    /* "arm64" is one part of "x86_64+arm64"; historical rows stay out */
    {"alpha", "fn", "r-east", "requests", "arm64", NULL, FB_OK, ROW(variant), "x86_64+arm64"},
    {"alpha", "fn", "r-east", "requests", "x86_64", NULL, FB_OK, ROW(pricing_model), "on-demand"},
    {"alpha", "fn", "r-east", "requests", "x86_64", "historical", FB_OK, ROW(usd_per_unit_text), "0.0000003"},
    /* price group, region-specific row first, leading-word variant */
    {"beta", "run", "r-east2", "cpu", "request-based", NULL, FB_OK, ROW(region), "grp"},
    {"beta", "run", "r-east2", "cpu", "request-based", NULL, FB_OK, ROW(usd_per_unit_text), "0.000024"},
    {"beta", "run", "beta:r-eu2", "cpu", "request-based", NULL, FB_OK, ROW(region), "r-eu2"},
    {"beta", "run", "r-east2", "cpu", NULL, NULL, FB_CONFLICT, 0, NULL},
    /* a row without a variant applies to every variant */
    {"beta", "run", "r-east2", "memory", "request-based", NULL, FB_OK, ROW(variant), ""},
    /* the provider's global scope */
    {"alpha", "fn", "r-east", "free_tier_requests", "x86_64", NULL, FB_OK, ROW(region), "global"},
    {"alpha", "fn", "r-west", "duration", "x86_64", NULL, FB_NOTFOUND, 0, NULL},
};

START_TEST(variants_and_scopes)
{
    const lcase *k = &scope_cases[_i];
    fbi_catalog *cat = load_base();
    size_t n;
    const fbi_price_row **rows = find(cat, k->provider, k->service, k->region, k->metric, k->variant, k->model, &n,
                                      k->st);
    if (k->st == FB_OK) {
        const char *got = *(const char *const *)((const char *)rows[0] + k->member);
        ck_assert_msg(!strcmp(got, k->want), "%s/%s/%s/%s/%s: '%s', want '%s'", k->provider, k->service,
                      k->region, k->metric, k->variant ? k->variant : "-", got, k->want);
    } else {
        ck_assert_ptr_null(rows);
    }
    free(rows);
    fbi_catalog_free(cat);
}
END_TEST

START_TEST(embedded_lookups)
{
    fbi_catalog *cat = load_embedded();
    size_t n;
    const fbi_price_row **rows;
    rows = find(cat, "aws", "lambda", "us-east-1", "duration", "x86_64", NULL, &n, FB_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(rows[0]->source, "S2");
    ck_assert_str_eq(rows[1]->source, "S1a");
    ck_assert_str_eq(rows[2]->tier_end_text, "inf");
    free(rows);
    rows = find(cat, "aws", "lambda", "eu-west-1", "duration", "x86_64", NULL, &n, FB_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(rows[0]->source, "S13"); /* primary; S2 restates it */
    ck_assert_str_eq(rows[0]->vendor_sku, "SGGKTWDV7PGMPPSJ");
    free(rows);
    rows = find(cat, "gcp", "cloud-run", "europe-west3", "cpu", "request-based", NULL, &n, FB_OK);
    ck_assert_str_eq(rows[0]->region, "tier2");
    ck_assert_int_eq(rows[0]->usd_per_unit, 33600000);
    free(rows);
    rows = find(cat, "aws", "fargate", "us-east-1", "vcpu", "linux/x86_64", NULL, &n, FB_OK);
    ck_assert_str_eq(rows[0]->source, "S1b"); /* not the S10 historical row */
    free(rows);
    const fbi_price_row *alt = fbi_catalog_price_by_sku(cat, "aws/lambda/eu-west-1/duration/x86_64/t0~S2");
    ck_assert_ptr_nonnull(alt);
    ck_assert_str_eq(alt->alternate_of, "aws/lambda/eu-west-1/duration/x86_64/t0");
    fbi_catalog_free(cat);
}
END_TEST

/* ---- overrides ---------------------------------------------------------------------------- */

START_TEST(overrides_precedence)
{
    fbi_catalog *cat = load_base();
    fb_diag *d = fb_diag_new();
    const char *json =
        "{\"version\": 1, \"currency\": \"USD\", \"rules\": ["
        " {\"id\": \"alpha-edp\", \"provider\": \"alpha\", \"discount_pct\": \"5\"},"
        " {\"id\": \"alpha-fn\", \"provider\": \"alpha\", \"service\": \"fn\", \"discount_pct\": 10},"
        " {\"id\": \"first-tier\", \"sku\": \"alpha/fn/r-east/duration/x86_64/t0\","
        "  \"unit_price_usd\": \"0.00001\", \"note\": \"contract 42\"}]}";
    ck_assert_int_eq(fbi_catalog_load_overrides_text(cat, json, "o.json", d), FB_OK);
    ck_assert_uint_eq(fbi_catalog_override_count(cat), 3);
    const char *rule;
    const fbi_price_row *r = fbi_catalog_price_by_sku(cat, "alpha/fn/r-east/duration/x86_64/t0");
    ck_assert_int_eq(fbi_catalog_contracted_price(cat, r, &rule), 10000000);
    ck_assert_str_eq(rule, "first-tier");
    r = fbi_catalog_price_by_sku(cat, "alpha/fn/r-east/duration/x86_64/t100");
    ck_assert_int_eq(fbi_catalog_contracted_price(cat, r, &rule), 13500000); /* 0.000015 - 10% */
    ck_assert_str_eq(rule, "alpha-fn");
    r = fbi_catalog_price_by_sku(cat, "alpha/net/r-east/egress_internet/-/t0");
    ck_assert_int_eq(fbi_catalog_contracted_price(cat, r, &rule), 85500000000); /* 0.09 - 5% */
    ck_assert_str_eq(rule, "alpha-edp");
    r = fbi_catalog_price_by_sku(cat, "beta/run/grp/memory/-");
    ck_assert_int_eq(fbi_catalog_contracted_price(cat, r, &rule), r->usd_per_unit);
    ck_assert_ptr_null(rule);
    /* bad files: every rule problem with its JSON pointer; the old rules stay */
    static const struct {
        const char *json, *ptr, *summary;
    } bad[] = {
        {"{\"version\":1,\"rules\":[{\"id\":\"a\",\"provider\":\"alpha\",\"discount_pct\":12.5}]}",
         "/rules/0/discount_pct", "expected a decimal"},
        {"{\"version\":1,\"rules\":[{\"id\":\"a\",\"sku\":\"nope\",\"discount_pct\":\"1\"}]}",
         "/rules/0/sku", "dangling sku"},
        {"{\"version\":1,\"rules\":[{\"id\":\"a\",\"provider\":\"alpha\",\"discount_pct\":\"1\"},"
         "{\"id\":\"b\",\"provider\":\"alpha\",\"discount_pct\":\"2\"}]}", "/rules/1", "duplicate rule"},
        {"{\"version\":1,\"rules\":[{\"id\":\"a\",\"provider\":\"alpha\",\"unit_price_usd\":\"1\"}]}",
         "/rules/0", "needs a sku"},
        {"{\"version\":1,\"rules\":[{\"id\":\"a\",\"provider\":\"alpha\",\"discount\":\"1\"}]}",
         "/rules/0/discount", "unknown member"},
        {"{\"version\":1,\"rules\":[{\"id\":\"a\",\"provider\":\"alpha\",\"discount_pct\":\"101\"}]}",
         "/rules/0/discount_pct", "at most 100"},
        {"{\"version\":1,\"rules\":[{\"id\":\"a\",\"provider\":\"gamma\",\"discount_pct\":\"1\"}]}",
         "/rules/0", "no price rows"},
        {"{\"version\":2,\"rules\":[]}", "/version", "version must be 1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        fb_diag *e = fb_diag_new();
        ck_assert_int_eq(fbi_catalog_load_overrides_text(cat, bad[i].json, "o.json", e), FB_INVALID);
        int found = 0;
        for (size_t k = 0; k < fb_diag_count(e); k++)
            if (fb_diag_pointer(e, k) && strcmp(fb_diag_pointer(e, k), bad[i].ptr) == 0 &&
                strstr(fb_diag_summary(e, k), bad[i].summary))
                found = 1;
        ck_assert_msg(found, "case %zu: no '%s' at %s", i, bad[i].summary, bad[i].ptr);
        fb_diag_free(e);
        ck_assert_uint_eq(fbi_catalog_override_count(cat), 3);
    }
    fb_diag_free(d);
    fbi_catalog_free(cat);
}
END_TEST

START_TEST(overrides_example_file)
{
    fbi_catalog *cat = load_embedded();
    char *p = path_of("catalog/overrides.example.json");
    fb_diag *d = fb_diag_new();
    fb_status st = fbi_catalog_load_overrides(cat, p, d);
    if (st != FB_OK) fb_diag_print(d, stderr);
    ck_assert_int_eq(st, FB_OK);
    ck_assert_uint_gt(fbi_catalog_override_count(cat), 0);
    fb_diag_free(d);
    free(p);
    fbi_catalog_free(cat);
}
END_TEST

/* ---- egress -------------------------------------------------------------------------------------- */

static void egress(const fbi_catalog *cat, const char *src, const char *dst, fb_status want,
                   fbi_egress *e)
{
    fb_diag *d = fb_diag_new();
    fb_status st = fbi_catalog_egress(cat, src, dst, e, d);
    if (st != want) fb_diag_print(d, stderr);
    ck_assert_int_eq(st, want);
    fb_diag_free(d);
}

START_TEST(egress_paths)
{
    fbi_catalog *cat = load_base();
    fbi_egress e;
    egress(cat, "alpha:r-east", "alpha:r-east", FB_OK, &e);
    ck_assert_int_eq(e.kind, FBI_EGRESS_SAME_REGION);
    ck_assert_str_eq(e.tiers[0]->metric, "egress_inter_az");
    fbi_egress_clear(&e);
    egress(cat, "alpha:r-east", "alpha:r-west", FB_OK, &e); /* the specific row wins */
    ck_assert_int_eq(e.kind, FBI_EGRESS_INTER_REGION);
    ck_assert_str_eq(e.tiers[0]->usd_per_unit_text, "0.01");
    fbi_egress_clear(&e);
    egress(cat, "alpha:r-east", "alpha:r-eu", FB_OK, &e);
    ck_assert_str_eq(e.tiers[0]->usd_per_unit_text, "0.02");
    fbi_egress_clear(&e);
    egress(cat, "alpha:r-east", "beta:r-eu2", FB_OK, &e);
    ck_assert_int_eq(e.kind, FBI_EGRESS_INTERNET);
    ck_assert_uint_eq(e.ntiers, 2);
    ck_assert_ptr_nonnull(e.free_tier);
    ck_assert_str_eq(e.free_tier->metric, "egress_internet_free_tier");
    fbi_egress_clear(&e);
    /* continent pairs */
    egress(cat, "beta:r-east2", "beta:r-eu2", FB_OK, &e);
    ck_assert_str_eq(e.tiers[0]->variant, "Intercontinental");
    fbi_egress_clear(&e);
    egress(cat, "beta:r-au", "beta:r-east2", FB_OK, &e);
    ck_assert_str_eq(e.tiers[0]->variant, "to/from Oceania");
    fbi_egress_clear(&e);
    egress(cat, "beta:r-eu2", "beta:r-au", FB_OK, &e);
    ck_assert_str_eq(e.tiers[0]->variant, "to/from Oceania");
    fbi_egress_clear(&e);
    egress(cat, "beta:r-eu2", "beta:r-nowhere", FB_NOTFOUND, &e); /* Europe to Europe: no row */
    /* destination-based internet rows beat the source's worldwide rows */
    egress(cat, "beta:r-east2", "au-users", FB_OK, &e);
    ck_assert_str_eq(e.tiers[0]->variant, "to Australia");
    fbi_egress_clear(&e);
    egress(cat, "beta:r-east2", "internet", FB_OK, &e);
    ck_assert_str_eq(e.tiers[0]->variant, "worldwide");
    ck_assert_ptr_null(e.free_tier);
    fbi_egress_clear(&e);
    /* the documented, flagged fallback: same region without an inter-zone row */
    egress(cat, "beta:r-east2", "beta:r-east2", FB_OK, &e);
    ck_assert_int_eq(e.fallback, 1);
    ck_assert_uint_eq(e.ntiers, 0);
    ck_assert_ptr_nonnull(strstr(e.note, "assumed free"));
    fbi_egress_clear(&e);
    /* a missing internet row is an error, never a silent number */
    egress(cat, "alpha:r-west", NULL, FB_NOTFOUND, &e);
    egress(cat, "alpha:nowhere", NULL, FB_NOTFOUND, &e);
    egress(cat, "alpha:r-east", "mars-users", FB_NOTFOUND, &e);
    fbi_catalog_free(cat);
    /* two rows matching equally well are reported */
    char *dir = tmp_catalog(NULL);
    char *p = fbi_xasprintf("%s/prices.csv", dir);
    FILE *f = fopen(p, "a");
    fputs("alpha,net2,r-east,egress_internet,,GB,,,0.5,on-demand,T1,2025-01-01,high,,,,USD,,self>*\n", f);
    fclose(f);
    free(p);
    fb_diag *d = fb_diag_new();
    ck_assert_int_eq(fbi_catalog_load_dir(dir, &cat, d), FB_OK);
    fb_diag_free(d);
    egress(cat, "alpha:r-east", NULL, FB_CONFLICT, &e);
    fbi_catalog_free(cat);
    rm_catalog(dir);
}
END_TEST

START_TEST(egress_embedded)
{
    fbi_catalog *cat = load_embedded();
    fbi_egress e;
    egress(cat, "aws:us-east-1", "aws:us-east-2", FB_OK, &e);
    ck_assert_str_eq(e.tiers[0]->variant, "to us-east-1/us-east-2");
    fbi_egress_clear(&e);
    egress(cat, "aws:us-east-1", "aws:eu-west-1", FB_OK, &e);
    ck_assert_str_eq(e.tiers[0]->variant, "to any other AWS region");
    fbi_egress_clear(&e);
    egress(cat, "gcp:europe-west1", "gcp:europe-west3", FB_OK, &e);
    ck_assert_str_eq(e.tiers[0]->variant, "Europe to Europe");
    fbi_egress_clear(&e);
    egress(cat, "gcp:us-central1", "aws:ap-southeast-2", FB_OK, &e);
    ck_assert_str_eq(e.tiers[0]->variant, "premium/to Australia");
    fbi_egress_clear(&e);
    egress(cat, "aws:eu-west-1", "gcp:europe-west1", FB_OK, &e);
    ck_assert_int_eq(e.kind, FBI_EGRESS_INTERNET);
    ck_assert_uint_eq(e.ntiers, 4);
    ck_assert_str_eq(e.tiers[0]->source, "S13"); /* primary over the S1d restatement */
    ck_assert_str_eq(e.tiers[1]->source, "S1d");
    fbi_egress_clear(&e);
    fbi_catalog_free(cat);
}
END_TEST

/* ---- latency ------------------------------------------------------------------------------------ */

static double rtt(const fbi_catalog *cat, const char *a, const char *b, fbi_rtt_kind kind,
                  fbi_rtt_origin *o)
{
    double ms;
    fb_status st = fbi_catalog_rtt(cat, a, b, &ms, o);
    ck_assert_msg(st == FB_OK, "%s -> %s: %s", a, b, o->detail);
    ck_assert_msg(o->kind == kind, "%s -> %s: %s, not %s (%s)", a, b, fbi_rtt_kind_name(o->kind),
                  fbi_rtt_kind_name(kind), o->detail);
    return ms;
}

START_TEST(latency_origins_base)
{
    fbi_catalog *cat = load_base();
    fbi_rtt_origin o;
    double ms;
    ck_assert(rtt(cat, "alpha:r-east", "alpha:r-west", FBI_RTT_MEASURED, &o) == 62.5);
    ck_assert_int_eq(o.reversed, 0);
    ck_assert_str_eq(o.source, "TL");
    ck_assert(rtt(cat, "alpha:r-west", "alpha:r-east", FBI_RTT_MEASURED, &o) == 63.1);
    ck_assert(rtt(cat, "beta:r-au", "beta:r-east2", FBI_RTT_MEASURED, &o) == 200);
    ck_assert_int_eq(o.reversed, 1);
    /* same metro: beta:r-east2 stands in for alpha:r-east (+2 ms gap) */
    ck_assert(rtt(cat, "alpha:r-east", "beta:r-eu2", FBI_RTT_SAME_METRO, &o) == 87.5);
    ck_assert(o.assumed_ms == 2);
    ck_assert_int_eq(o.row->line, 6);
    /* a probe endpoint in the metro counts too */
    ck_assert(rtt(cat, "alpha:r-west", "beta:r-au", FBI_RTT_SAME_METRO, &o) == 152);
    /* nothing measured: the distance model, from the coordinates */
    ms = rtt(cat, "alpha:r-eu", "beta:r-eu2", FBI_RTT_ESTIMATE, &o);
    double km = fbi_great_circle_km(50.0, 8.0, 48.86, 2.35);
    ck_assert(fabs(ms - (5 + 2 * km * 1.5 / 200000 * 1000)) < 1e-9);
    ck_assert_str_eq(o.source, "estimate");
    /* the parameters change the model */
    ck_assert_int_eq(fbi_catalog_set_param(cat, "same_metro_gap_ms", "3", NULL), FB_OK);
    ck_assert(rtt(cat, "alpha:r-east", "beta:r-eu2", FBI_RTT_SAME_METRO, &o) == 88.5);
    /* users: an endpoint in their metro, plus the last mile */
    ck_assert_int_eq(fbi_catalog_user_rtt(cat, "east-users", "alpha:r-west", &ms, &o), FB_OK);
    ck_assert_int_eq(o.kind, FBI_RTT_MEASURED);
    ck_assert(ms == 62.5 + 10);
    ck_assert(o.last_mile_ms == 10);
    ck_assert_int_eq(fbi_catalog_set_param(cat, "last_mile_ms", "35", NULL), FB_OK);
    ck_assert_int_eq(fbi_catalog_user_rtt(cat, "east-users", "alpha:r-west", &ms, &o), FB_OK);
    ck_assert(ms == 62.5 + 35);
    ck_assert_int_eq(fbi_catalog_user_rtt(cat, "lonely-users", "alpha:r-west", &ms, &o), FB_OK);
    ck_assert_int_eq(o.kind, FBI_RTT_ESTIMATE);
    ck_assert_int_eq(fbi_catalog_user_rtt(cat, "eats-users", "alpha:r-west", &ms, &o), FB_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(o.detail, "east-users"));
    /* unknown coordinates or region */
    ck_assert_int_eq(fbi_catalog_rtt(cat, "beta:r-nowhere", "alpha:r-east", &ms, &o), FB_NOTFOUND);
    ck_assert_int_eq(fbi_catalog_rtt(cat, "alpha:r-moon", "alpha:r-east", &ms, &o), FB_NOTFOUND);
    /* local: unknown until its metro is set, then like any region there */
    ck_assert_int_eq(fbi_catalog_rtt(cat, "local:on-prem", "alpha:r-west", &ms, &o), FB_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(o.detail, "local_metro"));
    fb_diag *d = fb_diag_new();
    ck_assert_int_eq(fbi_catalog_set_local_metro(cat, "atlantis", d), FB_NOTFOUND);
    ck_assert_int_eq(fbi_catalog_set_param(cat, "local_metro", "east-city", d), FB_OK);
    ck_assert_int_eq(fbi_catalog_set_param(cat, "bogus", "1", d), FB_INVALID);
    ck_assert_int_eq(fbi_catalog_set_param(cat, "route_factor", "0.5", d), FB_INVALID);
    fb_diag_free(d);
    ck_assert(rtt(cat, "local:on-prem", "alpha:r-west", FBI_RTT_SAME_METRO, &o) == 62.5 + 3);
    ck_assert_str_eq(fbi_catalog_region(cat, "local:on-prem")->continent, "north-america");
    fbi_catalog_free(cat);
}
END_TEST

START_TEST(latency_origins_embedded)
{
    fbi_catalog *cat = load_embedded();
    fbi_rtt_origin o;
    double ms;
    /* measured: exactly the L1 row */
    ms = rtt(cat, "aws:us-east-1", "aws:eu-west-1", FBI_RTT_MEASURED, &o);
    ck_assert_str_eq(o.source, "L1");
    ck_assert_str_eq(o.row->from, "aws:us-east-1");
    ck_assert(ms == o.row->rtt_ms);
    /* cross-provider: the same-metro assumption, L2 leg + 2 ms */
    ms = rtt(cat, "aws:us-east-1", "gcp:europe-west1", FBI_RTT_SAME_METRO, &o);
    ck_assert_str_eq(o.row->from, "gcp:us-east4");
    ck_assert_str_eq(o.row->to, "gcp:europe-west1");
    ck_assert(ms == o.row->rtt_ms + 2);
    /* Ireland and Belgium share no metro and no provider: an estimate */
    rtt(cat, "aws:eu-west-1", "gcp:europe-west1", FBI_RTT_ESTIMATE, &o);
    /* users in Frankfurt reach eu-west-1 over AWS's measured eu-central-1 leg */
    ck_assert_int_eq(fbi_catalog_user_rtt(cat, "frankfurt", "aws:eu-west-1", &ms, &o), FB_OK);
    ck_assert_int_eq(o.kind, FBI_RTT_MEASURED);
    ck_assert_str_eq(o.row->from, "aws:eu-central-1");
    ck_assert(ms == o.row->rtt_ms + 10);
    /* the metros the brief names pair up */
    static const char *const pairs[][2] = {{"aws:us-east-1", "gcp:us-east4"},
        {"aws:eu-central-1", "gcp:europe-west3"}, {"aws:ap-northeast-1", "gcp:asia-northeast1"}};
    for (size_t i = 0; i < 3; i++)
        ck_assert_str_eq(fbi_catalog_region(cat, pairs[i][0])->metro,
                         fbi_catalog_region(cat, pairs[i][1])->metro);
    /* great circle: Frankfurt to Dublin is about 1,090 km */
    const fbi_region *fra = fbi_catalog_region(cat, "aws:eu-central-1");
    const fbi_region *dub = fbi_catalog_region(cat, "aws:eu-west-1");
    double km = fbi_great_circle_km(fra->lat, fra->lon, dub->lat, dub->lon);
    ck_assert_msg(km > 1070 && km < 1110, "%f km", km);
    fbi_catalog_free(cat);
}
END_TEST

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The distance model against the measured matrix (L1, L2, L3): the median
 * relative error of the default parameters stays within 15%. */
START_TEST(distance_model_vs_measured)
{
    fbi_catalog *cat = load_embedded();
    size_t n = fbi_catalog_latency_count(cat), k = 0;
    double *rel = fbi_xcalloc(n, sizeof *rel);
    for (size_t i = 0; i < n; i++) {
        const fbi_latency_row *l = fbi_catalog_latency_at(cat, i);
        const fbi_region *a = fbi_catalog_region(cat, l->from), *b = fbi_catalog_region(cat, l->to);
        if (!a->has_coords || !b->has_coords || l->rtt_ms < 5) continue;
        double km = fbi_great_circle_km(a->lat, a->lon, b->lat, b->lon);
        double est = 5 + 2 * km * 1.5 / 200000 * 1000;
        rel[k++] = (est - l->rtt_ms) / l->rtt_ms;
    }
    qsort(rel, k, sizeof *rel, cmp_double);
    double median = rel[k / 2];
    ck_assert_uint_gt(k, 2500);
    ck_assert_msg(fabs(median) < 0.15, "median relative error %f over %zu pairs", median, k);
    free(rel);
    fbi_catalog_free(cat);
}
END_TEST

/* ---- the whole catalog -------------------------------------------------------------------------- */

START_TEST(every_region_exists)
{
    fbi_catalog *cat = load_embedded();
    for (size_t i = 0; i < fbi_catalog_price_count(cat); i++) {
        const fbi_price_row *r = fbi_catalog_price(cat, i);
        ck_assert_msg(fbi_catalog_region2(cat, r->provider, r->region) != NULL, "%s", r->sku);
        char *ids = fbi_xstrdup(r->source), *save = NULL;
        for (char *id = strtok_r(ids, ";", &save); id; id = strtok_r(NULL, ";", &save))
            ck_assert_msg(fbi_catalog_source(cat, id) != NULL, "%s: source %s", r->sku, id);
        free(ids);
    }
    for (size_t i = 0; i < fbi_catalog_latency_count(cat); i++) {
        const fbi_latency_row *l = fbi_catalog_latency_at(cat, i);
        ck_assert_ptr_nonnull(fbi_catalog_region(cat, l->from));
        ck_assert_ptr_nonnull(fbi_catalog_region(cat, l->to));
    }
    for (size_t i = 0; i < fbi_catalog_region_count(cat); i++) {
        const fbi_region *r = fbi_catalog_region_at(cat, i);
        if (strcmp(r->kind, "region") == 0 && strcmp(r->location_precision, "unknown") != 0)
            ck_assert_msg(*r->jurisdiction && r->has_coords && *r->metro, "%s", r->key);
    }
    fbi_catalog_free(cat);
}
END_TEST

START_TEST(embedded_matches_directory)
{
    fbi_catalog *emb = load_embedded(), *dir = NULL;
    char *p = path_of("catalog");
    fb_diag *d = fb_diag_new();
    ck_assert_int_eq(fbi_catalog_load_dir(p, &dir, d), FB_OK);
    ck_assert_uint_eq(fbi_catalog_price_count(emb), fbi_catalog_price_count(dir));
    ck_assert_uint_eq(fbi_catalog_latency_count(emb), fbi_catalog_latency_count(dir));
    ck_assert_uint_eq(fbi_catalog_region_count(emb), fbi_catalog_region_count(dir));
    ck_assert_uint_eq(fbi_catalog_location_count(emb), fbi_catalog_location_count(dir));
    fbi_price_change *ch;
    size_t n;
    fbi_catalog_diff(emb, dir, &ch, &n);
    ck_assert_uint_eq(n, 0);
    free(ch);
    /* FEDBROKER_CATALOG selects a directory */
    fbi_catalog *env = NULL;
    setenv("FEDBROKER_CATALOG", p, 1);
    ck_assert_int_eq(fbi_catalog_open(NULL, NULL, &env, d), FB_OK);
    ck_assert_str_eq(fbi_catalog_origin(env), p);
    fbi_catalog_free(env);
    setenv("FEDBROKER_CATALOG", "/nonexistent/catalog", 1);
    ck_assert_int_eq(fbi_catalog_open(NULL, NULL, &env, d), FB_INVALID);
    unsetenv("FEDBROKER_CATALOG");
    ck_assert_int_eq(fbi_catalog_open(NULL, NULL, &env, d), FB_OK);
    ck_assert_str_eq(fbi_catalog_origin(env), "embedded");
    fbi_catalog_free(env);
    fb_diag_free(d);
    free(p);
    fbi_catalog_free(emb);
    fbi_catalog_free(dir);
}
END_TEST

/* Every fixture in tests/catalog/bad: exactly the expected errors, each at
 * its file and line (all of them, not just the first). */
START_TEST(bad_catalogs)
{
    char *bad = path_of("tests/catalog/bad");
    DIR *dd = opendir(bad);
    ck_assert_ptr_nonnull(dd);
    struct dirent *e;
    int cases = 0;
    while ((e = readdir(dd))) {
        if (e->d_name[0] == '.') continue;
        char *overlay = fbi_xasprintf("%s/%s", bad, e->d_name);
        char *expf = fbi_xasprintf("%s/expected", overlay);
        size_t len;
        char *err = NULL;
        char *expected = fbi_read_file(expf, 1 << 20, &len, &err);
        ck_assert_msg(expected != NULL, "%s: %s", expf, err);
        char *dir = tmp_catalog(overlay);
        fb_diag *d = fb_diag_new();
        fbi_catalog *cat = NULL;
        ck_assert_int_eq(fbi_catalog_load_dir(dir, &cat, d), FB_INVALID);
        ck_assert_ptr_null(cat);
        size_t nexp = 0;
        for (char *line = strtok(expected, "\n"); line; line = strtok(NULL, "\n")) {
            char file[64];
            int ln, off = 0;
            ck_assert_int_eq(sscanf(line, "%63[^:]:%d: %n", file, &ln, &off), 2);
            ck_assert_msg(diag_has(d, file, ln, line + off), "%s: missing '%s'", e->d_name, line);
            nexp++;
        }
        if (fb_diag_errors(d) != nexp) fb_diag_print(d, stderr);
        ck_assert_msg(fb_diag_errors(d) == nexp, "%s: %zu errors, expected %zu", e->d_name,
                      fb_diag_errors(d), nexp);
        fb_diag_free(d);
        rm_catalog(dir);
        free(expected);
        free(expf);
        free(overlay);
        cases++;
    }
    closedir(dd);
    free(bad);
    ck_assert_int_ge(cases, 20);
}
END_TEST

START_TEST(diff_changes)
{
    fbi_catalog *a = load_base(), *b = NULL;
    char *dir = tmp_catalog(NULL);
    char *p = fbi_xasprintf("%s/prices.csv", dir);
    size_t len;
    char *err = NULL;
    char *text = fbi_read_file(p, 1 << 20, &len, &err);
    /* a 20% cut, a row removed and a row added */
    char *at = strstr(text, "0.04048");
    ck_assert_ptr_nonnull(at);
    fbi_buf nb;
    fbi_buf_init(&nb);
    fbi_buf_append(&nb, text, (size_t)(at - text));
    fbi_buf_puts(&nb, "0.032384");
    char *rest = at + strlen("0.04048");
    char *rm = strstr(rest, "alpha,vm,r-eu,");
    fbi_buf_append(&nb, rest, (size_t)(rm - rest));
    fbi_buf_puts(&nb, strchr(rm, '\n') + 1);
    fbi_buf_puts(&nb, "alpha,vm,r-west,vcpu,windows,vCPU-hour,,,0.09,on-demand,T1,2025-01-01,high,,,,USD,,\n");
    write_text(dir, "prices.csv", nb.data);
    fbi_buf_free(&nb);
    free(text);
    fb_diag *d = fb_diag_new();
    ck_assert_int_eq(fbi_catalog_load_prices(p, &b, d), FB_OK);
    fb_diag_free(d);
    fbi_price_change *ch;
    size_t n;
    fbi_catalog_diff(a, b, &ch, &n);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(ch[0].kind, FBI_CHANGE_REMOVED);
    ck_assert_str_eq(ch[0].old_row->sku, "alpha/vm/r-eu/vcpu/linux");
    ck_assert_int_eq(ch[1].kind, FBI_CHANGE_CHANGED);
    ck_assert_str_eq(ch[1].pct, "-20.00");
    ck_assert_int_eq(ch[2].kind, FBI_CHANGE_ADDED);
    ck_assert_str_eq(ch[2].new_row->variant, "windows");
    free(ch);
    fbi_catalog_diff(b, a, &ch, &n);
    ck_assert_str_eq(ch[1].pct, "+25.00");
    free(ch);
    free(p);
    rm_catalog(dir);
    fbi_catalog_free(a);
    fbi_catalog_free(b);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("catalog");
    TCase *t = tcase_create("csv");
    tcase_add_test(t, csv_good);
    tcase_add_test(t, csv_errors);
    tcase_add_test(t, csv_write_roundtrip);
    suite_add_tcase(s, t);
    t = tcase_create("money");
    tcase_add_test(t, money_parse);
    tcase_add_test(t, money_line_cost);
    suite_add_tcase(s, t);
    t = tcase_create("lookups");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, tiers_base);
    tcase_add_loop_test(t, variants_and_scopes, 0, (int)(sizeof scope_cases / sizeof *scope_cases));
    tcase_add_test(t, embedded_lookups);
    tcase_add_test(t, overrides_precedence);
    tcase_add_test(t, overrides_example_file);
    tcase_add_test(t, egress_paths);
    tcase_add_test(t, egress_embedded);
    suite_add_tcase(s, t);
    t = tcase_create("latency");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, latency_origins_base);
    tcase_add_test(t, latency_origins_embedded);
    tcase_add_test(t, distance_model_vs_measured);
    suite_add_tcase(s, t);
    t = tcase_create("catalog");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, every_region_exists);
    tcase_add_test(t, embedded_matches_directory);
    tcase_add_test(t, bad_catalogs);
    tcase_add_test(t, diff_changes);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    unsetenv("FEDBROKER_CATALOG");
    unsetenv("FEDBROKER_CATALOG_OVERRIDES");
    return fbt_run(suite());
}
