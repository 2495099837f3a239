/* check_config.c - the configuration schema (schemas/config.v1.schema.json,
 * embedded) and the HTTP service's own parser agree at every limit: each
 * integer setting is accepted at its minimum and maximum and refused one
 * step past either, each non-negative number at 0 and not below; and both
 * accept the example configuration docs/http.md shows. */
#include "config.h"
#include "../lib/fbtest.h"
#include "broker/broker.h"
#include "http/http.h"
#include "spec/spec.h"
#include "base/util.h"

#include <string.h>

#ifndef FB_TEST_SRCDIR
#define FB_TEST_SRCDIR "."
#endif

static fbi_schema *schema;

static void setup(void)
{
    char *err = NULL;
    schema = fbi_schema_new(fbi_config_schema_text(), &err);
    ck_assert_msg(schema != NULL, "the embedded configuration schema does not load: %s", err ? err : "?");
}

static void teardown(void)
{
    fbi_schema_free(schema);
    fbi_http_shutdown();
}

/* Whether the schema accepts doc and whether the HTTP service does. */
static void both(json_t *doc, int *by_schema, int *by_http)
{
    *by_schema = fbi_schema_validate(schema, "#", doc, NULL) == 0;
    char *text = json_dumps(doc, JSON_COMPACT);
    fb_diag *d = fb_diag_new();
    *by_http = fbi_http_configure(text, d) == FB_OK;
    fb_diag_free(d);
    free(text);
}

/* {"http": {key: v}} or, for a service limit, {"http": {"services":
 * {"s": {key: v}}}} (and the same under default_service). */
static void check_value(const char *key, int service, json_t *v, int want, const char *what)
{
    for (int where = 0; where < (service ? 2 : 1); where++) {
        json_t *leaf = json_pack("{s:O}", key, v);
        json_t *http = !service ? leaf
                     : where == 0 ? json_pack("{s:{s:o}}", "services", "s", leaf)
                                  : json_pack("{s:o}", "default_service", leaf);
        json_t *doc = json_pack("{s:o}", "http", http);
        int s, h;
        both(doc, &s, &h);
        char *txt = json_dumps(doc, JSON_COMPACT);
        ck_assert_msg(s == want, "%s: the schema %s %s", what, s ? "accepts" : "refuses", txt);
        ck_assert_msg(h == want, "%s: the HTTP service %s %s", what, h ? "accepts" : "refuses", txt);
        free(txt);
        json_decref(doc);
    }
    json_decref(v);
}

/* Walks the properties of a schema definition, checking each limit. */
static size_t check_definition(const char *def, int service)
{
    json_t *root = json_loads(fbi_config_schema_text(), 0, NULL);
    json_t *defs = json_object_get(root, "definitions");
    json_t *props = json_object_get(json_object_get(defs, def), "properties");
    ck_assert_ptr_nonnull(props);
    size_t n = 0;
    const char *k;
    json_t *p;
    json_object_foreach(props, k, p) {
        const char *ref = json_string_value(json_object_get(p, "$ref"));
        if (ref) p = json_object_get(defs, strrchr(ref, '/') + 1);
        const char *type = json_string_value(json_object_get(p, "type"));
        json_t *mn = json_object_get(p, "minimum"), *mx = json_object_get(p, "maximum");
        char what[128];
        if (type && !strcmp(type, "integer")) {
            ck_assert_msg(mn && mx, "%s: an integer setting without both bounds", k);
            json_int_t lo = json_integer_value(mn), hi = json_integer_value(mx);
            snprintf(what, sizeof what, "%s at its minimum %lld", k, (long long)lo);
            check_value(k, service, json_integer(lo), 1, what);
            snprintf(what, sizeof what, "%s at its maximum %lld", k, (long long)hi);
            check_value(k, service, json_integer(hi), 1, what);
            snprintf(what, sizeof what, "%s one below its minimum", k);
            check_value(k, service, json_integer(lo - 1), 0, what);
            snprintf(what, sizeof what, "%s one above its maximum", k);
            check_value(k, service, json_integer(hi + 1), 0, what);
            snprintf(what, sizeof what, "%s as a string", k);
            check_value(k, service, json_string("1"), 0, what);
            n++;
        } else if (type && !strcmp(type, "number")) {
            ck_assert_msg(mn && json_number_value(mn) == 0, "%s: a number setting without minimum 0", k);
            snprintf(what, sizeof what, "%s at 0", k);
            check_value(k, service, json_integer(0), 1, what);
            snprintf(what, sizeof what, "%s at 0.5", k);
            check_value(k, service, json_real(0.5), 1, what);
            snprintf(what, sizeof what, "%s just below 0", k);
            check_value(k, service, json_real(-0.001), 0, what);
            n++;
        }
    }
    json_decref(root);
    return n;
}

START_TEST(http_limits_agree)
{
    /* 15 integer settings and sleep_scale; the others are objects, a path */
    ck_assert_uint_eq(check_definition("http", 0), 16);
    /* unknown keys, both */
    json_t *doc = json_pack("{s:{s:i}}", "http", "max_attemps", 3);
    int s, h;
    both(doc, &s, &h);
    ck_assert(!s && !h);
    json_decref(doc);
}
END_TEST

START_TEST(service_limits_agree)
{
    ck_assert_uint_eq(check_definition("service", 1), 4);
}
END_TEST

START_TEST(documented_example_accepted)
{
    char *path = fbi_xasprintf("%s/docs/http.md", FB_TEST_SRCDIR), *err = NULL;
    size_t len;
    char *md = fbi_read_file(path, 1 << 20, &len, &err);
    ck_assert_msg(md != NULL, "%s", err ? err : "?");
    char *start = strstr(md, "```json\n");
    ck_assert_ptr_nonnull(start);
    start += 8;
    char *end = strstr(start, "```");
    ck_assert_ptr_nonnull(end);
    json_error_t je;
    json_t *doc = json_loadb(start, (size_t)(end - start), 0, &je);
    ck_assert_msg(doc != NULL, "docs/http.md's example is not JSON: %s", je.text);
    int s, h;
    both(doc, &s, &h);
    fbi_schema_errors errs = {0};
    fbi_schema_validate(schema, "#", doc, &errs);
    ck_assert_msg(s, "the schema refuses docs/http.md's example: %s: %s", errs.n ? errs.v[0].pointer : "",
                  errs.n ? errs.v[0].summary : "");
    fbi_schema_errors_free(&errs);
    ck_assert_msg(h, "the HTTP service refuses docs/http.md's example");
    json_decref(doc);
    free(md);
    free(path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("schema");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, http_limits_agree);
    tcase_add_test(tc, service_limits_agree);
    tcase_add_test(tc, documented_example_accepted);
    suite_add_tcase(s, tc);
    return fbt_run(s);
}
