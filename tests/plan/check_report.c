/* check_report.c - the report writer (report.c) on the plan documents of
 * tests/plan/expected/: every format shows the same numbers. The sums are
 * redone here from the document's exact decimal strings (no float), the
 * CSV and FOCUS files are read back with a CSV reader of their own, and a
 * write error is reported. */
#include "config.h"
#include "../lib/fbtest.h"
#include "plan/report.h"
#include "solver/solver.h"

#include <jansson.h>
#include <string.h>

/* The plan document tests/plan/expected/NAME.json (new). */
static json_t *load_plan(const char *name)
{
    const char *top = getenv("top_srcdir");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/plan/expected/%s.json", top ? top : "..", name);
    json_error_t je;
    json_t *p = json_load_file(path, 0, &je);
    ck_assert_msg(p != NULL, "%s: %s", path, je.text);
    return p;
}

/* The report in one format, as text (new). */
static char *render(const json_t *plan, fbi_report_format f, const char *group_by)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    ck_assert_int_eq(fbi_report_write(plan, f, group_by, m), 0);
    fclose(m);
    return buf;
}

/* An exact decimal string in nano-USD. */
static int64_t nano(const char *s)
{
    int64_t v = 0;
    char *why = NULL;
    ck_assert_msg(s && fbi_decimal_parse(s, 9, &v, &why) == 0, "not a decimal: '%s' (%s)",
                  s ? s : "(null)", why ? why : "");
    return v;
}

static int64_t jnano(const json_t *o, const char *k)
{
    return nano(json_string_value(json_object_get(o, k)));
}

/* CSV as RFC 4180 writes it (quotes doubled, CRLF rows): rows of fields,
 * new (csv_free). */
typedef struct csv {
    char ***rows;
    size_t *nf, n;
} csv;

static csv csv_read(const char *s)
{
    csv c = {0};
    size_t cap = 0;
    while (*s) {
        if (c.n == cap) {
            cap = cap ? cap * 2 : 64;
            c.rows = realloc(c.rows, cap * sizeof *c.rows);
            c.nf = realloc(c.nf, cap * sizeof *c.nf);
        }
        char **f = NULL;
        size_t nf = 0;
        for (;;) {
            char *v = malloc(strlen(s) + 1), *o = v;
            if (*s == '"') {
                for (s++; *s && !(*s == '"' && s[1] != '"'); s++) {
                    if (*s == '"') s++;
                    *o++ = *s;
                }
                ck_assert_int_eq(*s, '"');
                s++;
            } else {
                while (*s && *s != ',' && *s != '\r') *o++ = *s++;
            }
            *o = '\0';
            f = realloc(f, (nf + 1) * sizeof *f);
            f[nf++] = v;
            if (*s == ',') { s++; continue; }
            ck_assert_msg(s[0] == '\r' && s[1] == '\n', "a row does not end in CRLF");
            s += 2;
            break;
        }
        c.rows[c.n] = f;
        c.nf[c.n++] = nf;
    }
    return c;
}

static void csv_free(csv *c)
{
    for (size_t i = 0; i < c->n; i++) {
        for (size_t k = 0; k < c->nf[i]; k++) free(c->rows[i][k]);
        free(c->rows[i]);
    }
    free(c->rows);
    free(c->nf);
}

static int col(const csv *c, const char *name)
{
    for (size_t k = 0; k < c->nf[0]; k++)
        if (!strcmp(c->rows[0][k], name)) return (int)k;
    ck_abort_msg("no column %s", name);
    return -1;
}

static const char *const cases[] = {"fed", "example", "gen-mixed", "fed-overrides"};

/* JSON is the document itself. */
START_TEST(json_is_the_document)
{
    json_t *p = load_plan(cases[_i]);
    char *t = render(p, FBI_REPORT_JSON, NULL);
    json_t *back = json_loads(t, 0, NULL);
    ck_assert_ptr_nonnull(back);
    ck_assert(json_equal(p, back));
    json_decref(back);
    free(t);
    json_decref(p);
}
END_TEST

/* fbi_report_json_stream's source: the workloads of a document, a new
 * reference each; counts the calls. */
typedef struct wsrc {
    const json_t *wjs;
    size_t calls;
} wsrc;

static json_t *next_of(void *arg, size_t i)
{
    wsrc *w = arg;
    w->calls++;
    return json_incref(json_array_get(w->wjs, i));
}

/* The document written one workload at a time (fbi_report_json_stream)
 * is the JSON report of the whole document byte for byte: with its
 * workloads, with none, and with a key sorted after "workloads" (then it
 * is written whole). Each workload is asked for once. */
START_TEST(json_stream_is_the_report)
{
    json_t *p = load_plan(cases[_i]);
    for (int variant = 0; variant < 3; variant++) {
        json_t *whole = json_deep_copy(p);
        if (variant == 1) json_object_set_new(whole, "workloads", json_array());
        if (variant == 2) json_object_set_new(whole, "zz_after_workloads", json_string("x"));
        json_t *wjs = json_incref(json_object_get(whole, "workloads"));
        json_t *head = json_deep_copy(whole);
        json_object_set_new(head, "workloads", json_array());
        char *want = render(whole, FBI_REPORT_JSON, NULL);
        char *got = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&got, &len);
        wsrc src = {wjs, 0};
        ck_assert_int_eq(fbi_report_json_stream(head, json_array_size(wjs), next_of, &src, m), 0);
        fclose(m);
        ck_assert_uint_eq(src.calls, json_array_size(wjs));
        ck_assert_msg(!strcmp(want, got), "%s variant %d: the streamed text differs", cases[_i], variant);
        free(want);
        free(got);
        json_decref(head);
        json_decref(wjs);
        json_decref(whole);
    }
    json_decref(p);
}
END_TEST

/* CSV: one row per priced line and link and a TOTAL row; the rows add up
 * to the document's totals exactly, column by column. */
START_TEST(csv_adds_up)
{
    json_t *p = load_plan(cases[_i]);
    char *t = render(p, FBI_REPORT_CSV, NULL);
    csv c = csv_read(t);
    size_t lines = 0, i;
    json_t *w;
    json_array_foreach(json_object_get(p, "workloads"), i, w) lines += json_array_size(json_object_get(w, "lines"));
    size_t links = json_array_size(json_object_get(p, "links"));
    ck_assert_uint_eq(c.n, 1 + lines + links + 1);
    int cl = col(&c, "list_cost"), cc = col(&c, "contracted_cost"), cf = col(&c, "free_tier_credit"),
        ce = col(&c, "effective_cost");
    int64_t sl = 0, sc = 0, sf = 0, se = 0;
    for (size_t r = 1; r + 1 < c.n; r++) {
        ck_assert_uint_eq(c.nf[r], c.nf[0]);
        sl += nano(c.rows[r][cl]);
        sc += nano(c.rows[r][cc]);
        sf += nano(c.rows[r][cf]);
        se += nano(c.rows[r][ce]);
        /* each row: effective = contracted + credit */
        ck_assert_int_eq(nano(c.rows[r][ce]), nano(c.rows[r][cc]) + nano(c.rows[r][cf]));
    }
    char **tot = c.rows[c.n - 1];
    ck_assert_str_eq(tot[0], "TOTAL");
    ck_assert_int_eq(sl, jnano(p, "list_monthly_cost"));
    ck_assert_int_eq(sc, jnano(p, "total_monthly_cost"));
    ck_assert_int_eq(sf, jnano(p, "free_tier_credit"));
    ck_assert_int_eq(se, jnano(p, "net_monthly_cost"));
    ck_assert_int_eq(nano(tot[cc]), sc);
    ck_assert_int_eq(nano(tot[ce]), se);
    csv_free(&c);
    free(t);
    json_decref(p);
}
END_TEST

/* FOCUS 1.2: the 21 mandatory columns first, in the specification's order;
 * EffectiveCost adds up to the net total, ListCost over the Usage rows to
 * the list total and over every row to list + credit (a Credit row's
 * ListCost is its credit, FOCUS 1.2 ListCost-C-008-C). */
START_TEST(focus_columns_and_sums)
{
    static const char *const mandatory[] = {
        "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency",
        "BillingPeriodEnd", "BillingPeriodStart", "ChargeCategory", "ChargeClass",
        "ChargeDescription", "ChargePeriodEnd", "ChargePeriodStart", "ContractedCost",
        "EffectiveCost", "InvoiceIssuerName", "ListCost", "PricingQuantity", "PricingUnit",
        "ProviderName", "PublisherName", "ServiceCategory", "ServiceName"};
    json_t *p = load_plan(cases[_i]);
    char *t = render(p, FBI_REPORT_FOCUS, NULL);
    csv c = csv_read(t);
    ck_assert_uint_ge(c.nf[0], 21);
    for (size_t k = 0; k < 21; k++) ck_assert_str_eq(c.rows[0][k], mandatory[k]);
    int ce = col(&c, "EffectiveCost"), cl = col(&c, "ListCost"), cur = col(&c, "BillingCurrency");
    int ccat = col(&c, "ChargeCategory");
    int64_t se = 0, sl = 0, sla = 0;
    for (size_t r = 1; r < c.n; r++) {
        se += nano(c.rows[r][ce]);
        sla += nano(c.rows[r][cl]);
        if (!strcmp(c.rows[r][ccat], "Usage")) sl += nano(c.rows[r][cl]);
        ck_assert_str_eq(c.rows[r][cur], "USD");
    }
    ck_assert_int_eq(se, jnano(p, "net_monthly_cost"));
    ck_assert_int_eq(sl, jnano(p, "list_monthly_cost"));
    ck_assert_int_eq(sla, jnano(p, "list_monthly_cost") + jnano(p, "free_tier_credit"));
    csv_free(&c);
    free(t);
    json_decref(p);
}
END_TEST

/* The table's first line: the status and the totals in cents, rounded
 * half up from the exact totals. */
START_TEST(table_totals_in_cents)
{
    json_t *p = load_plan(cases[_i]);
    char *t = render(p, FBI_REPORT_TABLE, "team");
    char want[256], a[4][40];
    const char *keys[] = {"total_monthly_cost", "list_monthly_cost", "free_tier_credit", "net_monthly_cost"};
    int64_t c[4];
    for (int k = 0; k < 4; k++) {
        int64_t v = jnano(p, keys[k]);
        uint64_t m = v < 0 ? (uint64_t)-v : (uint64_t)v;
        c[k] = (int64_t)((m + 5000000) / 10000000) * (v < 0 ? -1 : 1);
    }
    /* the free tier shown is the shown net minus the shown total, so the
     * headline adds up to the cent */
    c[2] = c[3] - c[0];
    for (int k = 0; k < 4; k++) {
        uint64_t m = c[k] < 0 ? (uint64_t)-c[k] : (uint64_t)c[k];
        snprintf(a[k], sizeof a[k], "%s%llu.%02llu", c[k] < 0 ? "-" : "", (unsigned long long)(m / 100),
                 (unsigned long long)(m % 100));
    }
    snprintf(want, sizeof want, "Plan: %s, total %s USD/month (list %s, free tier %s, net %s)\n",
             json_string_value(json_object_get(p, "status")), a[0], a[1], a[2], a[3]);
    ck_assert_msg(!strncmp(t, want, strlen(want)), "table starts\n%.200s\nnot\n%s", t, want);
    ck_assert_ptr_nonnull(strstr(t, "By team:"));
    free(t);
    json_decref(p);
}
END_TEST

/* Markdown and HTML name every workload and its provider; HTML loads
 * nothing from the network. */
START_TEST(md_html_name_everything)
{
    json_t *p = load_plan(cases[_i]);
    char *md = render(p, FBI_REPORT_MD, NULL), *html = render(p, FBI_REPORT_HTML, NULL);
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(p, "workloads"), i, w) {
        const char *name = json_string_value(json_object_get(w, "name"));
        ck_assert_msg(strstr(md, name), "md lacks %s", name);
        ck_assert_msg(strstr(html, name), "html lacks %s", name);
    }
    ck_assert_ptr_null(strstr(html, "src=\"http"));
    ck_assert_ptr_null(strstr(html, "href=\"http"));
    ck_assert_ptr_null(strstr(html, "src=\"//"));
    free(md);
    free(html);
    json_decref(p);
}
END_TEST

/* An infeasible plan: the status and its reasons, no totals. */
START_TEST(infeasible)
{
    json_t *p = load_plan("fed-slo-infeasible");
    char *t = render(p, FBI_REPORT_TABLE, NULL);
    ck_assert_msg(!strncmp(t, "Plan: infeasible\n", 17), "%.100s", t);
    const char *reason = json_string_value(json_object_get(
        json_array_get(json_object_get(p, "infeasible"), 0), "reason"));
    ck_assert_ptr_nonnull(reason);
    char *md = render(p, FBI_REPORT_MD, NULL);
    ck_assert_msg(strstr(t, reason) || strstr(md, reason), "the reason is shown nowhere: %s", reason);
    free(md);
    free(t);
    json_decref(p);
}
END_TEST

/* A write error (a full disk) is the writer's -1, in every format. */
START_TEST(write_error)
{
    json_t *p = load_plan("fed");
    FILE *full = fopen("/dev/full", "w");
    if (!full) {
        json_decref(p);
        return; /* no /dev/full on this system: nothing to check */
    }
    setvbuf(full, NULL, _IONBF, 0);
    for (unsigned f = 0; fbi_report_format_name(f); f++)
        ck_assert_int_eq(fbi_report_write(p, (fbi_report_format)f, NULL, full), -1);
    json_t *wjs = json_incref(json_object_get(p, "workloads"));
    json_object_set_new(p, "workloads", json_array());
    wsrc src = {wjs, 0};
    ck_assert_int_eq(fbi_report_json_stream(p, json_array_size(wjs), next_of, &src, full), -1);
    json_decref(wjs);
    fclose(full);
    json_decref(p);
}
END_TEST

START_TEST(format_names)
{
    static const char *const names[] = {"table", "json", "csv", "md", "html", "focus"};
    for (unsigned f = 0; f < 6; f++) ck_assert_str_eq(fbi_report_format_name(f), names[f]);
    ck_assert_ptr_null(fbi_report_format_name(6));
    ck_assert_int_eq(FBI_REPORT_FOCUS, 5);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("report");
    int n = (int)(sizeof cases / sizeof *cases);
    tcase_add_loop_test(tc, json_is_the_document, 0, n);
    tcase_add_loop_test(tc, json_stream_is_the_report, 0, n);
    tcase_add_loop_test(tc, csv_adds_up, 0, n);
    tcase_add_loop_test(tc, focus_columns_and_sums, 0, n);
    tcase_add_loop_test(tc, table_totals_in_cents, 0, n);
    tcase_add_loop_test(tc, md_html_name_everything, 0, n);
    tcase_add_test(tc, infeasible);
    tcase_add_test(tc, write_error);
    tcase_add_test(tc, format_names);
    suite_add_tcase(s, tc);
    return fbt_run(s);
}
