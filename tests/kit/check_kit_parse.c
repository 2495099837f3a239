/* check_kit_parse.c - the kit's small readers and helpers: the strict XML
 * reader (AWS Query responses), AWS error decoding, UTC time formatting
 * (checked against libc's gmtime/strftime), and the JSON/diagnostic helpers
 * drivers use with the real host table. The INI reader is cross-checked
 * against Python's configparser in tests/kit/ini_configparser.py. */
#include "config.h"
#include "fbk.h"
#include "fedbroker/fedbroker.h"
#include "../lib/fbtest.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- XML ----------------------------------------------------------------- */

START_TEST(xml_sts_response)
{
    const char *doc =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<!-- a comment before the root -->\n"
        "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
        "  <AssumeRoleResult>\n"
        "    <AssumedRoleUser>\n"
        "      <Arn>arn:aws:sts::123456789012:assumed-role/demo/John</Arn>\n"
        "    </AssumedRoleUser>\n"
        "    <Credentials>\n"
        "      <SessionToken>AQo&amp;b&#x2F;c&#47;d&lt;&gt;&quot;&apos;</SessionToken>\n"
        "      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>\n"
        "      <Expiration>2019-11-09T13:34:41Z</Expiration>\n"
        "      <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>\n"
        "    </Credentials>\n"
        "    <PackedPolicySize>6</PackedPolicySize>\n"
        "  </AssumeRoleResult>\n"
        "  <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>\n"
        "</AssumeRoleResponse>\n";
    fbk_xml *x = NULL;
    char *err = NULL;
    ck_assert_msg(fbk_xml_parse(doc, strlen(doc), &x, &err) == 0, "%s", err);
    const char *p = "AssumeRoleResponse/AssumeRoleResult/Credentials/";
    char path[128];
    snprintf(path, sizeof path, "%sAccessKeyId", p);
    ck_assert_str_eq(fbk_xml_text(x, path), "ASIAIOSFODNN7EXAMPLE");
    snprintf(path, sizeof path, "%sSessionToken", p);
    ck_assert_str_eq(fbk_xml_text(x, path), "AQo&b/c/d<>\"'");
    ck_assert_str_eq(fbk_xml_text(x, "AssumeRoleResponse/AssumeRoleResult/PackedPolicySize"), "6");
    ck_assert_ptr_null(fbk_xml_text(x, "AssumeRoleResponse/Nope"));
    ck_assert_ptr_null(fbk_xml_text(x, "Other/AssumeRoleResult"));
    const fbk_xml *cred = fbk_xml_find(x, "AssumeRoleResponse/AssumeRoleResult/Credentials");
    ck_assert_ptr_nonnull(cred);
    ck_assert_str_eq(fbk_xml_text(cred, "Credentials/Expiration"), "2019-11-09T13:34:41Z");
    fbk_xml_free(x);
}
END_TEST

START_TEST(xml_cdata_prefix_utf8)
{
    const char *doc = "<a:Root xmlns:a='urn:x'><!-- c --><a:B attr=\"1\" other='2'>"
                      "<![CDATA[<raw> & ]]>tail</a:B><C/><D>&#x20AC;&#128512;\xC3\xA9</D></a:Root>";
    fbk_xml *x = NULL;
    char *err = NULL;
    ck_assert_msg(fbk_xml_parse(doc, strlen(doc), &x, &err) == 0, "%s", err);
    ck_assert_str_eq(fbk_xml_text(x, "Root/B"), "<raw> & tail");
    ck_assert_str_eq(fbk_xml_text(x, "Root/C"), "");
    ck_assert_str_eq(fbk_xml_text(x, "Root/D"), "\xE2\x82\xAC\xF0\x9F\x98\x80\xC3\xA9");
    fbk_xml_free(x);
}
END_TEST

START_TEST(xml_refusals)
{
    static const struct {
        const char *doc, *want;
    } t[] = {
        {"<!DOCTYPE x [<!ENTITY e 'boom'>]><x>&e;</x>", "DOCTYPE"},
        {"<a><b></a></b>", "end tag does not match"},
        {"<a>", "unexpected end of document"},
        {"<a>&bogus;</a>", "unknown or invalid entity"},
        {"<a>&#0;</a>", "unknown or invalid entity"},
        {"<a>&#xD800;</a>", "unknown or invalid entity"},
        {"<a>x & y</a>", "'&' that does not start"},
        {"<a></a><b/>", "content after the root"},
        {"<a b=c/>", "must be quoted"},
        {"<a b='<'/>", "'<' in an attribute"},
        {"<a><?pi x?></a>", "processing instructions"},
        {"", "expected the root"},
        {"text", "expected the root"},
        {"<a>\x01</a>", "control character"},
        {"<a><!-- x -- y --></a>", "\"--\" inside a comment"},
        {"<a>]]></a>", "\"]]>\""},
        {"<a>\n  <b>\n</a>", "line 3 col 1: end tag does not match"},
        {"<1a/>", "element name"},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        fbk_xml *x = NULL;
        char *err = NULL;
        ck_assert_msg(fbk_xml_parse(t[i].doc, strlen(t[i].doc), &x, &err) == -1,
                      "accepted: %s", t[i].doc);
        ck_assert_ptr_null(x);
        ck_assert_msg(err && strstr(err, t[i].want), "%s: error \"%s\" lacks \"%s\"", t[i].doc,
                      err ? err : "(none)", t[i].want);
        ck_assert_msg(!strncmp(err, "line ", 5), "no position in \"%s\"", err);
        free(err);
    }
    /* nesting is bounded */
    fbk_buf b;
    fbk_buf_init(&b);
    for (int i = 0; i < 100; i++) fbk_buf_puts(&b, "<a>");
    for (int i = 0; i < 100; i++) fbk_buf_puts(&b, "</a>");
    fbk_xml *x = NULL;
    char *err = NULL;
    ck_assert_int_eq(fbk_xml_parse(b.data, b.len, &x, &err), -1);
    ck_assert_ptr_nonnull(strstr(err, "too deeply"));
    free(err);
    fbk_buf_free(&b);
    /* an embedded NUL is refused, not truncated */
    ck_assert_int_eq(fbk_xml_parse("<a>\0</a>", 8, &x, &err), -1);
    free(err);
}
END_TEST

/* ---- AWS errors ---------------------------------------------------------- */

static fb_status aws_err(long status, const char *hname, const char *hvalue, const char *body,
                         char **code, char **msg)
{
    fb_http_header h = {hname, hvalue};
    fb_http_response r = {.status = status, .headers = hname ? &h : NULL, .n_headers = hname ? 1 : 0,
                          .body = (char *)body, .body_len = body ? strlen(body) : 0};
    return fbk_aws_error(&r, code, msg);
}

START_TEST(aws_error_mapping)
{
    static const struct {
        long status;
        const char *hname, *hvalue, *body;
        fb_status want;
        const char *code, *msg;
    } t[] = {
        {400, NULL, NULL, "{\"__type\":\"com.amazonaws.ecs#ClientException\",\"message\":\"bad td\"}",
         FB_INVALID, "ClientException", "bad td"},
        {404, "x-amzn-ErrorType", "ResourceNotFoundException:http://internal.amazon.com/",
         "{\"Type\":\"User\",\"Message\":\"Function not found\"}", FB_NOTFOUND,
         "ResourceNotFoundException", "Function not found"},
        {403, NULL, NULL,
         "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>"
         "<Code>AccessDenied</Code><Message>not authorized</Message></Error><RequestId>1</RequestId>"
         "</ErrorResponse>", FB_AUTH, "AccessDenied", "not authorized"},
        {400, NULL, NULL, "<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message>"
         "</Error></ErrorResponse>", FB_RETRYABLE, "Throttling", "Rate exceeded"},
        {429, NULL, NULL, "{\"__type\":\"TooManyRequestsException\"}", FB_RETRYABLE,
         "TooManyRequestsException", NULL},
        {409, NULL, NULL, "{\"__type\":\"ResourceConflictException\",\"message\":\"exists\"}",
         FB_CONFLICT, "ResourceConflictException", "exists"},
        {400, NULL, NULL, "{\"__type\":\"LimitExceededException\"}", FB_QUOTA,
         "LimitExceededException", NULL},
        {503, NULL, NULL, "", FB_RETRYABLE, NULL, NULL},
        {403, NULL, NULL, "{\"message\":\"The security token included in the request is invalid.\"}",
         FB_AUTH, NULL, "The security token included in the request is invalid."},
        {400, NULL, NULL, "<Error><Code>InvalidIdentityToken</Code></Error>", FB_AUTH,
         "InvalidIdentityToken", NULL},
        {200, NULL, NULL, "{}", FB_OK, NULL, NULL},
        {418, NULL, NULL, "not json or xml", FB_INVALID, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        char *code = NULL, *msg = NULL;
        fb_status st = aws_err(t[i].status, t[i].hname, t[i].hvalue, t[i].body, &code, &msg);
        ck_assert_msg(st == t[i].want, "case %zu: status %d want %d", i, st, t[i].want);
        if (t[i].code) ck_assert_str_eq(code, t[i].code);
        else ck_assert_ptr_null(code);
        if (t[i].msg) ck_assert_str_eq(msg, t[i].msg);
        else ck_assert_ptr_null(msg);
        free(code);
        free(msg);
    }
}
END_TEST

/* ---- time ------------------------------------------------------------------ */

START_TEST(time_against_libc)
{
    /* every day boundary and random instants from 1970 to 2100 */
    unsigned seed = 12345;
    for (int i = 0; i < 20000; i++) {
        seed = seed * 1103515245u + 12345u;
        int64_t t = i < 5000 ? (int64_t)i * 86400 * 9 + (i % 86400)
                             : (int64_t)((uint64_t)seed * 4102444800ull / 4294967296ull);
        time_t tt = (time_t)t;
        struct tm tm;
        ck_assert_ptr_nonnull(gmtime_r(&tt, &tm));
        char want[32], got[32];
        strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%SZ", &tm);
        fbk_format_rfc3339(t, got);
        ck_assert_str_eq(got, want);
        strftime(want, sizeof want, "%Y%m%dT%H%M%SZ", &tm);
        fbk_format_amz_date(t, got);
        ck_assert_str_eq(got, want);
        int64_t back = -1;
        fbk_format_rfc3339(t, got);
        ck_assert_int_eq(fbk_parse_rfc3339(got, &back), 0);
        ck_assert_int_eq(back, t);
    }
    int64_t v;
    ck_assert_int_eq(fbk_parse_rfc3339("2015-08-30T12:36:00Z", &v), 0);
    ck_assert_int_eq(v, 1440938160);
    ck_assert_int_eq(fbk_parse_rfc3339("2011-07-15T23:28:33.359Z", &v), 0);
    ck_assert_int_eq(v, 1310772513);
    ck_assert_int_eq(fbk_parse_rfc3339("2011-07-15T23:28:33+00:00", &v), 0);
    ck_assert_int_eq(v, 1310772513);
    ck_assert_int_eq(fbk_parse_rfc3339("2016-02-29T00:00:00Z", &v), 0);
    static const char *const bad[] = {"2015-02-29T00:00:00Z", "2015-13-01T00:00:00Z",
                                      "2015-08-30T12:36:00", "2015-08-30T24:00:00Z",
                                      "2015-08-30 12:36:00Z", "2015-08-30T12:36:00+01:00",
                                      "2015-08-30T12:36:00.Z", "", "x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(fbk_parse_rfc3339(bad[i], &v) == -1, "accepted %s", bad[i]);
}
END_TEST

/* ---- JSON and diagnostics through the real host ------------------------------- */

START_TEST(json_and_diag_helpers)
{
    const fb_host *h = fb_host_table();
    fb_diag *d = fb_diag_new();
    json_t *j = json_pack("{s:i,s:[s,b],s:n}", "zeta", 1, "alpha", "x", 1, "mid");
    char *out = NULL;
    ck_assert_int_eq(fbk_json_out(h, d, j, &out), FB_OK);
    ck_assert_str_eq(out, "{\"alpha\":[\"x\",true],\"mid\":null,\"zeta\":1}");
    h->free(out);
    json_decref(j);
    ck_assert_int_eq(fbk_json_out(h, d, NULL, &out), FB_INTERNAL);
    ck_assert_ptr_null(out);
    ck_assert_uint_eq(fb_diag_errors(d), 1);

    json_t *in = NULL;
    ck_assert_int_eq(fbk_json_in(h, d, "the workload", "{\"a\": 1,\n \"a\": 2}", &in), FB_INVALID);
    ck_assert_ptr_null(in);
    ck_assert_ptr_nonnull(strstr(fb_diag_summary(d, 1), "the workload is not valid JSON (line 2"));
    ck_assert_ptr_nonnull(strstr(fb_diag_detail(d, 1), "duplicate"));
    ck_assert_int_eq(fbk_json_in(h, d, "input", "{\"k\": [1]}", &in), FB_OK);
    ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(in, "k"), 0)), 1);
    json_decref(in);

    fbk_diag(h, d, FB_SEV_WARNING, "/spec/memory", "memory %d MiB is rounded\nto %d MiB", 100, 128);
    fbk_diag(h, d, FB_SEV_NOTE, NULL, "one line only");
    size_t n = fb_diag_count(d);
    ck_assert_int_eq(fb_diag_severity(d, n - 2), FB_SEV_WARNING);
    ck_assert_str_eq(fb_diag_summary(d, n - 2), "memory 100 MiB is rounded");
    ck_assert_str_eq(fb_diag_detail(d, n - 2), "to 128 MiB");
    ck_assert_str_eq(fb_diag_pointer(d, n - 2), "/spec/memory");
    ck_assert_str_eq(fb_diag_summary(d, n - 1), "one line only");
    ck_assert_ptr_null(fb_diag_detail(d, n - 1));
    fb_diag_free(d);
}
END_TEST

START_TEST(buffers_and_encoding)
{
    fbk_buf b;
    fbk_buf_init(&b);
    for (int i = 0; i < 1000; i++) fbk_buf_printf(&b, "%d,", i);
    ck_assert_uint_eq(b.len, strlen(b.data));
    ck_assert(!strncmp(b.data, "0,1,2,", 6));
    fbk_buf_wipe(&b);
    ck_assert_ptr_null(b.data);
    /* printf formats into the spare room first and again when the output
     * does not fit: lengths around the room's edges, after every fill */
    char big[1200];
    for (size_t i = 0; i < sizeof big - 1; i++) big[i] = (char)('a' + i % 26);
    for (size_t pre = 0; pre < 300; pre += 37) {
        for (size_t n = 0; n < 1100; n += (n < 270 ? 1 : 97)) {
            fbk_buf p;
            fbk_buf_init(&p);
            fbk_buf_append(&p, big, pre);
            fbk_buf_printf(&p, "%.*s|%d", (int)n, big, (int)n);
            char tail[16];
            int tl = snprintf(tail, sizeof tail, "|%d", (int)n);
            ck_assert_uint_eq(p.len, pre + n + (size_t)tl);
            ck_assert_uint_eq(strlen(p.data), p.len);
            ck_assert(memcmp(p.data, big, pre) == 0);
            ck_assert(memcmp(p.data + pre, big, n) == 0);
            ck_assert_str_eq(p.data + pre + n, tail);
            fbk_buf_wipe(&p);
        }
    }
    fbk_uri_encode(&b, "a b/~é%", 8, 0);
    ck_assert_str_eq(b.data, "a%20b%2F~%C3%A9%25");
    fbk_buf_free(&b);
    fbk_uri_encode(&b, "/x y/", 5, 1);
    ck_assert_str_eq(b.data, "/x%20y/");
    char *s = fbk_buf_steal(&b);
    ck_assert_str_eq(s, "/x%20y/");
    fbk_free_secret(s);
    s = fbk_buf_steal(&b);
    ck_assert_str_eq(s, "");
    free(s);
    char hx[65];
    fbk_sha256_hex("", 0, hx);
    ck_assert_str_eq(hx, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

/* Endpoints from the configuration: http(s) with a host, nothing else. */
START_TEST(endpoint_urls)
{
    const char *good[] = {"http://127.0.0.1:8080", "https://lambda.us-east-1.amazonaws.com",
                          "https://h/api/v1?x=1", "http://[::1]:9/"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        ck_assert_msg(fbk_endpoint_problem(good[i]) == NULL, "%s refused", good[i]);
    const struct { const char *url, *why; } bad[] = {
        {"file:///etc/passwd", "only http:// and https://"},
        {"ftp://h/", "only http:// and https://"},
        {"HTTP://h/", "only http:// and https://"},
        {"https://", "no host"},
        {"http:///path", "no host"},
        {"https://user:pw@h/", "user-info"},
        {"https://h/a b", "space"},
        {"https://h/\nX-Injected: 1", "control"},
        {NULL, "not a string"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *why = fbk_endpoint_problem(bad[i].url);
        ck_assert_msg(why && strstr(why, bad[i].why), "%s: %s", bad[i].url ? bad[i].url : "NULL",
                      why ? why : "accepted");
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kit_parse");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, xml_sts_response);
    tcase_add_test(tc, xml_cdata_prefix_utf8);
    tcase_add_test(tc, xml_refusals);
    tcase_add_test(tc, aws_error_mapping);
    tcase_add_test(tc, time_against_libc);
    tcase_add_test(tc, json_and_diag_helpers);
    tcase_add_test(tc, buffers_and_encoding);
    tcase_add_test(tc, endpoint_urls);
    suite_add_tcase(s, tc);
    return fbt_run(s);
}
