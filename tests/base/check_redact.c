/* check_redact.c - the one redaction (base/redact.h) and where the host
 * applies it: a call learns what its requests carried, and every
 * diagnostic, log line and recorded resource of that call is redacted with
 * it; fields that look like credentials are redacted even when the call
 * never knew their value. */
#include "config.h"
#include "../lib/fbtest.h"
#include "base/call.h"
#include "base/diag.h"
#include "base/redact.h"
#include "base/util.h"

#include <string.h>
#include <unistd.h>

/* fbi_redact_text of a C string, compared with want. */
static void expect(const fbi_secrets *set, int patterns, const char *in, const char *want)
{
    char *got = fbi_redact_text(set, patterns, in, strlen(in));
    ck_assert_msg(strcmp(got, want) == 0, "redact(%s)\n  got:  %s\n  want: %s", in, got, want);
    free(got);
}

START_TEST(known_secrets_in_every_form)
{
    fbi_secrets set = {0};
    fbi_secrets_add(&set, "tok+/=en");
    fbi_secrets_add(&set, "tok+/=en"); /* duplicates are ignored */
    fbi_secrets_add(&set, "");
    fbi_secrets_add(&set, NULL);
    ck_assert_uint_eq(set.n, 3); /* raw, URL-encoded, JSON-escaped */
    expect(&set, 0, "a tok+/=en b", "a REDACTED b");
    expect(&set, 0, "q=tok%2B%2F%3Den&x", "q=REDACTED&x");
    expect(&set, 0, "{\"t\": \"tok+\\/=en\"}", "{\"t\": \"REDACTED\"}");
    expect(&set, 0, "tok+/=entok+/=en", "REDACTEDREDACTED");
    expect(&set, 0, "tok+/=", "tok+/=");
    /* a longer secret containing a shorter one goes whole */
    fbi_secrets_add(&set, "abc");
    fbi_secrets_add(&set, "xxabcxx");
    expect(&set, 0, "1 xxabcxx 2 abc", "1 REDACTED 2 REDACTED");
    /* embedded NUL bytes do not stop the search */
    const char bin[] = "A\0abc";
    char *got = fbi_redact_text(&set, 0, bin, sizeof bin - 1);
    ck_assert_int_eq(memcmp(got, "A\0REDACTED", 11), 0);
    free(got);
    /* no set: unchanged (patterns off) */
    expect(NULL, 0, "password=x", "password=x");
    fbi_secrets_clear(&set);
    ck_assert_uint_eq(set.n, 0);
    ck_assert_ptr_null(set.v);
}
END_TEST

START_TEST(what_a_request_carries)
{
    fbi_secrets set = {0};
    const char *secrets[] = {"SECRETKEY"};
    fb_http_header h[] = {
        {"authorization", "AWS4-HMAC-SHA256 Credential=AKIDX/20150830/us-east-1/lambda/aws4_request, "
                          "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e"},
        {"X-Amz-Security-Token", "SESSIONTOK"},
        {"Content-Type", "application/json"},
    };
    fb_http_request rq = {sizeof rq, "GET",
                          "https://h/p?X-Amz-Credential=AKIDQ%2F2015&X-Amz-Signature=beef01&a=1",
                          h, 3, NULL, 0, 0, NULL, secrets, 1, NULL, NULL, NULL, NULL, NULL, 0};
    fbi_secrets_add_request(&set, &rq);
    expect(&set, 0, "SECRETKEY SESSIONTOK", "REDACTED REDACTED");
    expect(&set, 0, "sig 5fa00fa31553b73ebf1942676e86291e", "sig REDACTED");
    expect(&set, 0, "cred AKIDX/20150830/us-east-1/lambda/aws4_request.", "cred REDACTED.");
    expect(&set, 0, "AKIDQ/2015 AKIDQ%2F2015 beef01", "REDACTED REDACTED REDACTED");
    expect(&set, 0, "application/json", "application/json");
    fbi_secrets_clear(&set);
    /* Bearer tokens; a 1.0-sized request without the secrets fields */
    fb_http_header b = {"Authorization", "Bearer eyJhbGciOi.payload.sig"};
    fb_http_request old = {offsetof(fb_http_request, secrets), "GET", "http://h/", &b, 1, NULL, 0, 0,
                           NULL, secrets, 1, NULL, NULL, NULL, NULL, NULL, 0};
    fbi_secrets_add_request(&set, &old);
    expect(&set, 0, "got eyJhbGciOi.payload.sig and SECRETKEY", "got REDACTED and SECRETKEY");
    fbi_secrets_clear(&set);
}
END_TEST

START_TEST(fields_that_look_like_credentials)
{
    /* the call never knew these values; their names give them away */
    expect(NULL, 1, "<SecretAccessKey>wJalr/K7</SecretAccessKey><A>1</A>",
           "<SecretAccessKey>REDACTED</SecretAccessKey><A>1</A>");
    expect(NULL, 1, "{\"SessionToken\": \"FQo\\\"Gz\", \"n\": 1}", "{\"SessionToken\": \"REDACTED\", \"n\": 1}");
    expect(NULL, 1, "host:h\nx-amz-security-token:FQoG+/=\nx-amz-date:2015",
           "host:h\nx-amz-security-token:REDACTED\nx-amz-date:2015");
    expect(NULL, 1, "?X-Amz-Signature=abc123&X-Amz-Date=1", "?X-Amz-Signature=REDACTED&X-Amz-Date=1");
    expect(NULL, 1, "Authorization: AWS4-HMAC-SHA256 Credential=AK/1, Signature=ff\nnext",
           "Authorization: REDACTED\nnext");
    expect(NULL, 1, "password=hunter2, access_token: 'abc' api_key =x", "password=REDACTED, access_token: 'REDACTED' api_key =x");
    /* not credentials: longer names, prose, already redacted, no value */
    expect(NULL, 1, "DB_PASSWORD=x mypassword=y", "DB_PASSWORD=x mypassword=y");
    expect(NULL, 1, "Authorization header requires 'Credential'", "Authorization header requires 'Credential'");
    expect(NULL, 1, "password=REDACTED", "password=REDACTED");
    expect(NULL, 1, "password: ", "password: ");
    /* patterns off: untouched */
    expect(NULL, 0, "<SessionToken>x</SessionToken>", "<SessionToken>x</SessionToken>");
}
END_TEST

START_TEST(json_trees)
{
    fbi_secrets set = {0};
    fbi_secrets_add(&set, "S3CR3T");
    json_t *j = json_pack("{s:s,s:[s,{s:s}],s:s,s:i,s:s}", "a", "x S3CR3T y", "list", "S3CR3T",
                          "SessionToken", "never-sent", "key-S3CR3T", "v", "password", 5, "n", "ok");
    fbi_redact_json(&set, 1, j);
    char *t = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    ck_assert_str_eq(t, "{\"a\":\"x REDACTED y\",\"key-REDACTED\":\"v\",\"list\":[\"REDACTED\","
                        "{\"SessionToken\":\"REDACTED\"}],\"n\":\"ok\",\"password\":5}");
    free(t);
    json_decref(j);
    /* patterns off: only the known secret */
    j = json_pack("{s:s,s:s}", "SessionToken", "kept", "b", "S3CR3T");
    fbi_redact_json(&set, 0, j);
    t = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    ck_assert_str_eq(t, "{\"SessionToken\":\"kept\",\"b\":\"REDACTED\"}");
    free(t);
    json_decref(j);
    fbi_secrets_clear(&set);
}
END_TEST

/* ---- the host applies it to everything of a call --------------------- */

START_TEST(a_call_redacts_what_it_sent)
{
    const fb_host *host = fb_host_table();
    fb_diag *d = fb_diag_new();
    /* outside a call: a diagnostic is kept as given (specs, config, ...) */
    fb_diag_add(d, FB_SEV_ERROR, NULL, 0, 0, NULL, "TOKEN-123 password=x", NULL);
    ck_assert_str_eq(fb_diag_summary(d, 0), "TOKEN-123 password=x");

    fbi_call call;
    fbi_call_begin(&call, d, "test");
    call.dry_run = 1; /* recorded, not sent */
    const char *secrets[] = {"TOKEN-123"};
    fb_http_header h = {"X-Amz-Security-Token", "TOKEN-123"};
    fb_http_request rq = {sizeof rq, "GET", "http://127.0.0.1:9/", &h, 1, NULL, 0, 0, "t", secrets, 1, NULL, NULL, NULL, NULL, NULL, 0};
    fb_http_response resp;
    /* before the request the call knows nothing of the token */
    host->diag_add(d, FB_SEV_ERROR, "early TOKEN-123", NULL, NULL);
    ck_assert_str_eq(fb_diag_summary(d, 1), "early TOKEN-123");
    ck_assert_int_eq(host->http(d, &rq, &resp), FB_OK);
    host->http_free(&resp);
    /* what a driver says afterwards, quoting the provider, is redacted */
    host->diag_add(d, FB_SEV_ERROR, "HTTP 403: token TOKEN-123",
                   "canonical request:\nx-amz-security-token:TOKEN-123\n<SessionToken>other</SessionToken>",
                   "/TOKEN-123");
    ck_assert_str_eq(fb_diag_summary(d, 2), "HTTP 403: token REDACTED");
    ck_assert_str_eq(fb_diag_detail(d, 2),
                     "canonical request:\nx-amz-security-token:REDACTED\n<SessionToken>REDACTED</SessionToken>");
    ck_assert_str_eq(fb_diag_pointer(d, 2), "/REDACTED");
    /* a recorded resource is stored redacted */
    ck_assert_int_eq(host->record(d, "{\"id\": \"arn:x\", \"note\": \"TOKEN-123\"}"), FB_OK);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(call.recorded, 0), "note")),
                     "REDACTED");
    /* the verb's output, before the broker prints or stores it */
    json_t *out = json_pack("{s:{s:s}}", "state", "echo", "TOKEN-123");
    fbi_call_redact_json(&call, out);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(out, "state"), "echo")), "REDACTED");
    json_decref(out);
    /* a driver's log line */
    setenv("FEDBROKER_LOG", "debug", 1);
    fbt_capture cap;
    fbt_stderr_begin(&cap);
    host->log(d, FB_LOG_DEBUG, "response body: {\"m\": \"TOKEN-123\"}");
    char *log = fbt_stderr_end(&cap);
    ck_assert_msg(strstr(log, "fedbroker[test] debug: response body: {\"m\": \"REDACTED\"}"), "log: %s", log);
    ck_assert_msg(!strstr(log, "TOKEN-123"), "log: %s", log);
    free(log);
    fbi_call_end(&call, d);
    ck_assert_uint_eq(call.secrets.n, 0);
    /* the call has ended: nothing is redacted any more */
    fb_diag_add(d, FB_SEV_ERROR, NULL, 0, 0, NULL, "after TOKEN-123", NULL);
    ck_assert_str_eq(fb_diag_summary(d, 3), "after TOKEN-123");
    fb_diag_free(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("redact");
    TCase *tc = tcase_create("redact");
    tcase_add_test(tc, known_secrets_in_every_form);
    tcase_add_test(tc, what_a_request_carries);
    tcase_add_test(tc, fields_that_look_like_credentials);
    tcase_add_test(tc, json_trees);
    tcase_add_test(tc, a_call_redacts_what_it_sent);
    suite_add_tcase(s, tc);
    return fbt_run(s);
}
