/* check_kit_driver.c - the kit pieces every driver builds on: the settings
 * reader (each type at its edges, every refusal with its /drivers/NAME/KEY
 * pointer), the exact decimals, and the OAuth2 token cache (reuse until 80%
 * of the lifetime, keyed by credential and scope, a 401 answered with one
 * fresh exchange, the token a secret on every request, one exchange for 64
 * threads at once) against a scripted host whose clock the test moves;
 * fbk_evaluate against validate then usage on the input parsed whole (its
 * shared placements and its output written once per distinct document). */
#include "config.h"
#include "fbk.h"
#include "fbk_decimal.h"
#include "fbk_oauth2.h"
#include "fbk_settings.h"
#include "fbk_verb.h"
#include "fedbroker/fedbroker.h"
#include "../lib/fbtest.h"

#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- settings --------------------------------------------------------------- */

/* Opens settings text through the real host table. */
static fbk_settings open_settings(const char *settings_json, fb_diag *d)
{
    char *in = fbk_xasprintf("{\"settings\": %s}", settings_json);
    fbk_settings s;
    ck_assert_int_eq(fbk_settings_open(&s, fb_host_table(), d, "demo", in), FB_OK);
    free(in);
    return s;
}

/* Index of the diagnostic with pointer ptr, or -1. */
static int diag_at(const fb_diag *d, const char *ptr)
{
    for (size_t i = 0; i < fb_diag_count(d); i++)
        if (fb_diag_pointer(d, i) && !strcmp(fb_diag_pointer(d, i), ptr)) return (int)i;
    return -1;
}

START_TEST(settings_types)
{
    fb_diag *d = fb_diag_new();
    fbk_settings s = open_settings(
        "{\"name\": \"x\", \"mode\": \"fast\", \"url\": \"https://api.example:8443/v1/\","
        " \"n\": 64, \"on\": true, \"list\": [\"a\", \"b\"], \"wait\": \"1h30m250ms\","
        " \"nested\": {\"url\": \"http://127.0.0.1:9\"}, \"gone\": null}", d);
    static const char *const keys[] = {"name", "mode", "url", "n", "on", "list", "wait", "nested",
                                       "gone", NULL};
    ck_assert_int_eq(fbk_settings_known(&s, NULL, keys), 0);
    char *str, *url, *nurl, *dflt;
    ck_assert_int_eq(fbk_set_string(&s, "name", 1, "d", &str), 1);
    ck_assert_str_eq(str, "x");
    ck_assert_int_eq(fbk_set_string(&s, "gone", 0, "d", &dflt), 0);
    ck_assert_str_eq(dflt, "d");
    static const char *const modes[] = {"slow", "fast", NULL};
    int mode, on;
    ck_assert_int_eq(fbk_set_enum(&s, "mode", modes, 0, &mode), 1);
    ck_assert_int_eq(mode, 1);
    ck_assert_int_eq(fbk_set_url(&s, "url", NULL, &url), 1);
    ck_assert_str_eq(url, "https://api.example:8443/v1");
    ck_assert_int_eq(fbk_set_url(&s, "nested/url", NULL, &nurl), 1);
    ck_assert_str_eq(nurl, "http://127.0.0.1:9");
    long long n;
    ck_assert_int_eq(fbk_set_int(&s, "n", 1, 64, 8, &n), 1);
    ck_assert_int_eq(n, 64);
    ck_assert_int_eq(fbk_set_int(&s, "absent", 1, 64, 8, &n), 0);
    ck_assert_int_eq(n, 8);
    ck_assert_int_eq(fbk_set_bool(&s, "on", 0, &on), 1);
    ck_assert_int_eq(on, 1);
    char **list;
    size_t nl;
    ck_assert_int_eq(fbk_set_strings(&s, "list", 2, &list, &nl), 1);
    ck_assert_int_eq(nl, 2);
    ck_assert_str_eq(list[1], "b");
    ck_assert_ptr_null(list[2]);
    int64_t ms;
    ck_assert_int_eq(fbk_set_duration(&s, "wait", 0, INT64_MAX, 5, &ms), 1);
    ck_assert_int_eq(ms, 5400250);
    ck_assert_int_eq(fbk_settings_close(&s), FB_OK);
    ck_assert_int_eq(fb_diag_count(d), 0);
    free(str);
    free(dflt);
    free(url);
    free(nurl);
    fbk_strv_free(list);
    fb_diag_free(d);
}
END_TEST

/* Each bad value is refused with its own pointer and a message naming it. */
START_TEST(settings_refusals)
{
    fb_diag *d = fb_diag_new();
    fbk_settings s = open_settings(
        "{\"name\": \"\", \"long\": \"abcd\", \"mode\": \"medium\", \"url\": \"ftp://h/\","
        " \"creds\": \"https://user:pw@h/\", \"n\": 65, \"real\": 2.0, \"str\": \"2\","
        " \"on\": 1, \"list\": [\"a\", \"a\"], \"many\": [\"a\", \"b\", \"c\"], \"wait\": \"30\","
        " \"num\": 30, \"big\": \"2h\", \"typo\": 1, \"ob\": {\"x\": 1, \"y~z\": 2}}", d);
    static const char *const keys[] = {"name", "long", "mode", "url", "creds", "n", "real", "str",
                                       "on", "list", "many", "wait", "num", "big", "ob", NULL};
    static const char *const obkeys[] = {"x", NULL};
    ck_assert_int_eq(fbk_settings_known(&s, NULL, keys), 1);
    ck_assert_int_eq(fbk_settings_known(&s, "ob", obkeys), 1);
    char *str = NULL;
    int e;
    long long n;
    int64_t ms;
    char **list;
    size_t nl;
    static const char *const modes[] = {"slow", "fast", NULL};
    ck_assert_int_eq(fbk_set_string(&s, "name", 0, "dflt", &str), -1);
    ck_assert_str_eq(str, "dflt");
    free(str);
    ck_assert_int_eq(fbk_set_string(&s, "long", 3, NULL, &str), -1);
    ck_assert_int_eq(fbk_set_enum(&s, "mode", modes, 0, &e), -1);
    ck_assert_int_eq(e, 0);
    ck_assert_int_eq(fbk_set_url(&s, "url", NULL, &str), -1);
    ck_assert_int_eq(fbk_set_url(&s, "creds", NULL, &str), -1);
    ck_assert_int_eq(fbk_set_int(&s, "n", 1, 64, 8, &n), -1);
    ck_assert_int_eq(n, 8);
    ck_assert_int_eq(fbk_set_int(&s, "real", 1, 64, 8, &n), -1);
    ck_assert_int_eq(fbk_set_int(&s, "str", 1, 64, 8, &n), -1);
    ck_assert_int_eq(fbk_set_bool(&s, "on", 0, &e), -1);
    ck_assert_int_eq(fbk_set_strings(&s, "list", 0, &list, &nl), -1);
    ck_assert_int_eq(nl, 0);
    fbk_strv_free(list);
    ck_assert_int_eq(fbk_set_strings(&s, "many", 2, &list, &nl), -1);
    fbk_strv_free(list);
    ck_assert_int_eq(fbk_set_duration(&s, "wait", 0, 3600000, 1, &ms), -1);
    ck_assert_int_eq(fbk_set_duration(&s, "num", 0, 3600000, 1, &ms), -1);
    ck_assert_int_eq(fbk_set_duration(&s, "big", 0, 3600000, 1, &ms), -1);
    ck_assert_int_eq(ms, 1);
    ck_assert_int_eq(fbk_settings_close(&s), FB_INVALID);
    static const struct { const char *ptr, *text; } want[] = {
        {"/drivers/demo/typo", "is not a setting of this driver"},
        {"/drivers/demo/ob/y~0z", "is not a setting of this driver"},
        {"/drivers/demo/name", "non-empty string"},
        {"/drivers/demo/long", "at most 3"},
        {"/drivers/demo/mode", "\"medium\""},
        {"/drivers/demo/url", "http:// or https://"},
        {"/drivers/demo/creds", "http:// or https://"},
        {"/drivers/demo/n", "outside 1..64"},
        {"/drivers/demo/real", "a number with a fraction"},
        {"/drivers/demo/str", "not a string"},
        {"/drivers/demo/on", "true or false"},
        {"/drivers/demo/list/1", "repeats"},
        {"/drivers/demo/many", "at most 2"},
        {"/drivers/demo/wait", "no unit"},
        {"/drivers/demo/num", "bare number"},
        {"/drivers/demo/big", "outside 0..3600000 ms"},
    };
    ck_assert_int_eq(fb_diag_count(d), sizeof want / sizeof *want);
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        int k = diag_at(d, want[i].ptr);
        ck_assert_msg(k >= 0, "no diagnostic at %s", want[i].ptr);
        ck_assert_int_eq(fb_diag_severity(d, (size_t)k), FB_SEV_ERROR);
        ck_assert_msg(strstr(fb_diag_summary(d, (size_t)k), want[i].text) &&
                          strstr(fb_diag_summary(d, (size_t)k), want[i].ptr),
                      "%s: '%s' lacks '%s'", want[i].ptr, fb_diag_summary(d, (size_t)k), want[i].text);
    }
    /* a URL may carry a password: it is never quoted */
    for (size_t i = 0; i < fb_diag_count(d); i++) {
        ck_assert_ptr_null(strstr(fb_diag_summary(d, i), "pw@"));
        ck_assert_ptr_null(fb_diag_detail(d, i) ? strstr(fb_diag_detail(d, i), "pw@") : NULL);
    }
    fb_diag_free(d);
}
END_TEST

START_TEST(settings_not_an_object)
{
    static const char *const bad[] = {"[]", "{\"settings\": 3}", "not json"};
    for (size_t i = 0; i < 3; i++) {
        fb_diag *d = fb_diag_new();
        fbk_settings s;
        ck_assert_int_eq(fbk_settings_open(&s, fb_host_table(), d, "demo", bad[i]), FB_INVALID);
        ck_assert_int_ge(fb_diag_errors(d), 1);
        fb_diag_free(d);
    }
    fb_diag *d = fb_diag_new();
    fbk_settings s;
    ck_assert_int_eq(fbk_settings_open(&s, fb_host_table(), d, "demo", "{}"), FB_OK);
    ck_assert_int_eq(json_object_size(fbk_settings_get(&s, NULL)), 0);
    ck_assert_int_eq(fbk_settings_close(&s), FB_OK);
    fb_diag_free(d);
}
END_TEST

START_TEST(durations)
{
    static const struct { const char *t; int64_t ms; } ok[] = {
        {"0s", 0}, {"250ms", 250}, {"30s", 30000}, {"5m", 300000}, {"2h", 7200000},
        {"1h30m", 5400000}, {"1m1s1ms", 61001},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        int64_t ms;
        const char *why = NULL;
        ck_assert_msg(fbk_parse_duration(ok[i].t, &ms, &why) == 0, "%s: %s", ok[i].t, why);
        ck_assert_int_eq(ms, ok[i].ms);
    }
    static const char *const bad[] = {"", "s", "10", "10x", "1.5s", "-1s", "10 s", "99999999999999999999s"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t ms;
        const char *why = NULL;
        ck_assert_msg(fbk_parse_duration(bad[i], &ms, &why) == -1 && why, "'%s' accepted", bad[i]);
    }
}
END_TEST

/* ---- decimals --------------------------------------------------------------- */

START_TEST(decimals)
{
    int r;
    char *s;
    s = fbk_decimal(1, 3, 6, FBK_ROUND_HALF_UP, &r); ck_assert_str_eq(s, "0.333333"); ck_assert_int_eq(r, 1); free(s);
    s = fbk_decimal(2, 3, 6, FBK_ROUND_HALF_UP, &r); ck_assert_str_eq(s, "0.666667"); free(s);
    s = fbk_decimal(1, 3, 6, FBK_ROUND_UP, &r); ck_assert_str_eq(s, "0.333334"); free(s);
    s = fbk_decimal(999999, 1000000, 3, FBK_ROUND_HALF_UP, &r); ck_assert_str_eq(s, "1"); free(s);
    s = fbk_decimal(5, 2, 0, FBK_ROUND_HALF_UP, &r); ck_assert_str_eq(s, "3"); ck_assert_int_eq(r, 1); free(s);
    s = fbk_decimal(1, 8, 6, FBK_ROUND_UP, &r); ck_assert_str_eq(s, "0.125"); ck_assert_int_eq(r, 0); free(s);
    s = fbk_decimal(7, 0, 6, FBK_ROUND_UP, &r); ck_assert_str_eq(s, "7"); free(s);
    s = fbk_decimal_exact(1, 1024, &r); ck_assert_str_eq(s, "0.0009765625"); ck_assert_int_eq(r, 0); free(s);
    s = fbk_decimal_exact(2, 3, &r); ck_assert_str_eq(s, "0.666666667"); ck_assert_int_eq(r, 1); free(s);
    /* 2^100 exactly: 128-bit arithmetic, no floats */
    fbk_u128 big = (fbk_u128)1 << 100;
    s = fbk_decimal(big, 1, 0, FBK_ROUND_UP, &r); ck_assert_str_eq(s, "1267650600228229401496703205376"); free(s);
}
END_TEST

/* ---- OAuth2 against a scripted host ----------------------------------------- */

static pthread_mutex_t sh_mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t sh_now = 1000000;
static int sh_token_calls, sh_api_calls, sh_dry, sh_revoke_next;
static long sh_token_status = 200;
static int64_t sh_expires_in = 3600;
static int sh_missing_secret; /* a request went out without its token among the secrets */
static char sh_last_form[512];
static int sh_slow;           /* token answers wait so concurrent callers pile up */

static void *sh_alloc(size_t n) { return fbk_xmalloc(n); }
static void sh_free(void *p) { free(p); }
static int64_t sh_clock(void)
{
    pthread_mutex_lock(&sh_mu);
    int64_t t = sh_now;
    pthread_mutex_unlock(&sh_mu);
    return t;
}
static void sh_diag_add(fb_diag *d, fb_severity sev, const char *s, const char *det, const char *p)
{
    fb_diag_add(d, sev, NULL, 0, 0, p, s, det);
}
static int sh_dry_run(fb_diag *d) { (void)d; return sh_dry; }
static void sh_http_free(fb_http_response *r) { free(r->body); memset(r, 0, sizeof *r); }

static fb_status sh_http(fb_diag *d, const fb_http_request *req, fb_http_response *resp)
{
    (void)d;
    memset(resp, 0, sizeof *resp);
    if (sh_dry) return FB_OK;
    if (strstr(req->url, "/token")) {
        if (sh_slow) usleep(20000);
        pthread_mutex_lock(&sh_mu);
        int n = ++sh_token_calls;
        snprintf(sh_last_form, sizeof sh_last_form, "%.*s", (int)req->body_len, (const char *)req->body);
        long st = sh_token_status;
        int64_t ex = sh_expires_in;
        pthread_mutex_unlock(&sh_mu);
        resp->status = st;
        resp->body = st == 200 ? (ex ? fbk_xasprintf("{\"access_token\":\"tok-%d\",\"expires_in\":%lld}", n,
                                                     (long long)ex)
                                     : fbk_xasprintf("{\"access_token\":\"tok-%d\"}", n))
                               : fbk_xstrdup("{\"error\":\"invalid_grant\",\"error_description\":\"bad key\"}");
    } else {
        const char *auth = NULL;
        for (size_t i = 0; i < req->n_headers; i++)
            if (!strcmp(req->headers[i].name, "Authorization")) auth = req->headers[i].value;
        int found = 0;
        for (size_t i = 0; auth && i < req->n_secrets; i++)
            if (!strcmp(auth + strlen("Bearer "), req->secrets[i])) found = 1;
        pthread_mutex_lock(&sh_mu);
        sh_api_calls++;
        if (!found) sh_missing_secret++;
        int revoke = sh_revoke_next;
        sh_revoke_next = 0;
        pthread_mutex_unlock(&sh_mu);
        resp->status = revoke ? 401 : 200;
        resp->body = fbk_xasprintf("{\"auth\":\"%s\"}", auth ? auth : "");
    }
    resp->body_len = strlen(resp->body);
    return FB_OK;
}

static const fb_host sh_host = {
    .abi_major = FB_ABI_MAJOR, .abi_minor = FB_ABI_MINOR, .struct_size = sizeof(fb_host),
    .alloc = sh_alloc, .free = sh_free, .now = sh_clock, .http = sh_http,
    .http_free = sh_http_free, .diag_add = sh_diag_add, .dry_run = sh_dry_run,
};

static void sh_reset(void)
{
    sh_now = 1000000;
    sh_token_calls = sh_api_calls = sh_dry = sh_revoke_next = sh_missing_secret = sh_slow = 0;
    sh_token_status = 200;
    sh_expires_in = 3600;
}

static fbk_oauth2_grant grant(const char *key, const char *scope)
{
    static fbk_oauth2_field f[2];
    f[0] = (fbk_oauth2_field){"grant_type", "urn:ibm:params:oauth:grant-type:apikey", 0};
    f[1] = (fbk_oauth2_field){"apikey", key, 1};
    return (fbk_oauth2_grant){.token_url = "http://idp.test/token", .credential_id = key,
                              .scope = scope, .fields = f, .n_fields = 2, .service = "idp",
                              .what = "the test IdP", .credential = "the API key",
                              .hint = "use a good key"};
}

/* Sends one API request and returns the token it carried (new). */
static char *api(fbk_token_cache *c, const fbk_oauth2_grant *g, fb_status *st)
{
    fb_diag *d = fb_diag_new();
    fb_http_request req = {.struct_size = sizeof req, .method = "GET", .url = "http://api.test/x",
                           .flags = FB_HTTP_IDEMPOTENT, .service = "api"};
    fb_http_response resp;
    *st = fbk_oauth2_send(c, &sh_host, d, g, &req, &resp);
    char *tok = NULL;
    if (*st == FB_OK) {
        json_t *j = json_loads(resp.body, 0, NULL);
        tok = fbk_xstrdup(json_string_value(json_object_get(j, "auth")));
        json_decref(j);
        sh_http_free(&resp);
    }
    fb_diag_free(d);
    return tok;
}

START_TEST(oauth2_cache_lifetime)
{
    sh_reset();
    fbk_token_cache *c = fbk_token_cache_new();
    fbk_oauth2_grant g = grant("key-1", "scope-a");
    fb_status st;
    char *t1 = api(c, &g, &st);
    ck_assert_int_eq(st, FB_OK);
    ck_assert_str_eq(t1, "Bearer tok-1");
    ck_assert_str_eq(sh_last_form, "grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey&apikey=key-1");
    /* reused up to just before 80% of 3600 s */
    sh_now += 2879;
    char *t2 = api(c, &g, &st);
    ck_assert_str_eq(t2, "Bearer tok-1");
    ck_assert_int_eq(sh_token_calls, 1);
    /* at 80% a fresh one */
    sh_now += 1;
    char *t3 = api(c, &g, &st);
    ck_assert_str_eq(t3, "Bearer tok-2");
    ck_assert_int_eq(sh_token_calls, 2);
    /* another scope or another credential is another token */
    fbk_oauth2_grant g2 = grant("key-1", "scope-b");
    char *t4 = api(c, &g2, &st);
    ck_assert_str_eq(t4, "Bearer tok-3");
    fbk_oauth2_grant g3 = grant("key-2", "scope-a");
    char *t5 = api(c, &g3, &st);
    ck_assert_str_eq(t5, "Bearer tok-4");
    char *t6 = api(c, &g, &st);
    ck_assert_str_eq(t6, "Bearer tok-2");
    ck_assert_int_eq(sh_missing_secret, 0);
    free(t1); free(t2); free(t3); free(t4); free(t5); free(t6);
    fbk_token_cache_free(c);
}
END_TEST

START_TEST(oauth2_revoked_and_refused)
{
    sh_reset();
    fbk_token_cache *c = fbk_token_cache_new();
    fbk_oauth2_grant g = grant("key-1", NULL);
    fb_status st;
    char *t1 = api(c, &g, &st);
    /* the API refuses the cached token once: one fresh exchange, sent again */
    sh_revoke_next = 1;
    char *t2 = api(c, &g, &st);
    ck_assert_int_eq(st, FB_OK);
    ck_assert_str_eq(t2, "Bearer tok-2");
    ck_assert_int_eq(sh_api_calls, 3);
    /* a token without expires_in is not reused */
    sh_expires_in = 0;
    fbk_oauth2_forget(c, &g);
    char *t3 = api(c, &g, &st);
    char *t4 = api(c, &g, &st);
    ck_assert_str_ne(t3, t4);
    /* refused credentials: FB_AUTH, the IdP's words and the hint, no key */
    sh_token_status = 400;
    fbk_oauth2_forget(c, &g);
    fb_diag *d = fb_diag_new();
    char *tok = NULL;
    ck_assert_int_eq(fbk_oauth2_token(c, &sh_host, d, &g, &tok), FB_AUTH);
    ck_assert_ptr_null(tok);
    ck_assert_str_eq(fb_diag_summary(d, 0), "the test IdP refused the API key: HTTP 400 bad key");
    ck_assert_str_eq(fb_diag_detail(d, 0), "use a good key");
    fb_diag_free(d);
    sh_token_status = 503;
    d = fb_diag_new();
    ck_assert_int_eq(fbk_oauth2_token(c, &sh_host, d, &g, &tok), FB_RETRYABLE);
    fb_diag_free(d);
    /* a dry run shows the exchange, sends nothing, caches nothing */
    sh_token_status = 200;
    sh_dry = 1;
    d = fb_diag_new();
    ck_assert_int_eq(fbk_oauth2_token(c, &sh_host, d, &g, &tok), FB_OK);
    ck_assert_str_eq(tok, FBK_OAUTH2_DRY_TOKEN);
    fbk_free_secret(tok);
    fb_diag_free(d);
    free(t1); free(t2); free(t3); free(t4);
    fbk_token_cache_free(c);
}
END_TEST

static fbk_token_cache *shared_cache;

static void *worker(void *arg)
{
    (void)arg;
    fbk_oauth2_grant g = grant("key-1", "s");
    fb_status st;
    char *t = api(shared_cache, &g, &st);
    return t;
}

/* 64 verbs at once on one ctx: one exchange, every request with its token. */
START_TEST(oauth2_threads)
{
    sh_reset();
    sh_slow = 1;
    shared_cache = fbk_token_cache_new();
    pthread_t th[64];
    for (int i = 0; i < 64; i++) ck_assert_int_eq(pthread_create(&th[i], NULL, worker, NULL), 0);
    for (int i = 0; i < 64; i++) {
        void *r;
        pthread_join(th[i], &r);
        ck_assert_ptr_nonnull(r);
        ck_assert_str_eq((char *)r, "Bearer tok-1");
        free(r);
    }
    ck_assert_int_eq(sh_token_calls, 1);
    ck_assert_int_eq(sh_api_calls, 64);
    ck_assert_int_eq(sh_missing_secret, 0);
    fbk_token_cache_free(shared_cache);
}
END_TEST

/* ---- evaluate ------------------------------------------------------------------ */

/* A driver's validate and usage for fbk_evaluate: region "bad" is
 * refused, "fail" has no usage; the document depends on the workload's
 * spec.q and the offer's tier, and tiers "neg" and "zero" give documents
 * that differ only in -0.0 and 0.0 (equal to jansson, two texts). */
static fb_status ev_validate(fb_driver_ctx *ctx, json_t *in, fb_diag *diag)
{
    (void)ctx;
    const char *r = json_string_value(json_object_get(json_object_get(in, "placement"), "region"));
    if (r && !strcmp(r, "bad")) {
        fbk_diag(fb_host_table(), diag, FB_SEV_ERROR, "/placement/region", "region %s refused", r);
        return FB_INVALID;
    }
    fbk_diag(fb_host_table(), diag, FB_SEV_NOTE, NULL, "validated %s", r ? r : "?");
    return FB_OK;
}

static fb_status ev_usage(fb_driver_ctx *ctx, json_t *in, json_t **usage, fb_diag *diag)
{
    (void)ctx;
    json_t *pl = json_object_get(in, "placement");
    const char *r = json_string_value(json_object_get(pl, "region"));
    if (r && !strcmp(r, "fail")) {
        fbk_diag(fb_host_table(), diag, FB_SEV_ERROR, NULL, "no usage in %s", r);
        return FB_INTERNAL;
    }
    const char *tier = json_string_value(json_object_get(json_object_get(pl, "offer"), "tier"));
    int neg = tier && !strcmp(tier, "neg");
    if (neg || (tier && !strcmp(tier, "zero"))) tier = "z"; /* the two differ in "z" only */
    json_t *q = json_object_get(json_object_get(json_object_get(in, "workload"), "spec"), "q");
    *usage = json_pack("{s:[{s:O?,s:s?}],s:f,s:s}", "lines", "quantity", q, "tier", tier, "z",
                       neg ? -0.0 : 0.0, "mode",
                       json_string_value(json_object_get(in, "mode")));
    return FB_OK;
}

static const fbk_eval_ops ev_ops = {ev_validate, ev_usage, NULL};

/* The same two verbs through validate_usage (as a driver whose usage would
 * repeat validate's checks gives them): fbk_evaluate must write false for
 * a refusal, null for a usage that failed, the document otherwise, each
 * with its diagnostics, exactly as it does from the two. Its own usage
 * call is made only after validate passed, so a wrong dispatch (a usage
 * document after a refusal, or false for a failed usage) shows in the
 * results. */
static fb_status ev_validate_usage(fb_driver_ctx *ctx, json_t *in, json_t **usage, int *refused,
                                   fbk_eval_memo *memo, fb_diag *diag)
{
    fb_status st = ev_validate(ctx, in, diag);
    *refused = st != FB_OK;
    if (st != FB_OK) return st;
    /* the document depends on the offer's tier (and the call's workload
     * and mode): placements of one tier share it through the memo, as
     * gcp's regions of one price group do */
    json_t *pl = json_object_get(in, "placement");
    const char *r = json_string_value(json_object_get(pl, "region"));
    const char *tier = json_string_value(json_object_get(json_object_get(pl, "offer"), "tier"));
    if ((r && !strcmp(r, "fail")) || !tier) return ev_usage(ctx, in, usage, diag);
    if ((*usage = fbk_eval_memo_get(memo, tier))) return FB_OK;
    st = ev_usage(ctx, in, usage, diag);
    if (st == FB_OK) fbk_eval_memo_put(memo, tier, *usage);
    return st;
}

static const fbk_eval_ops ev_ops_both = {NULL, NULL, ev_validate_usage};

/* What evaluate must answer: the whole input parsed by json_loads, then
 * validate and usage per placement, {"results"} written at once. */
static char *ev_reference(const char *in_json, size_t n, char ***notes)
{
    json_t *in = json_loads(in_json, 0, NULL);
    ck_assert_ptr_nonnull(in);
    json_t *pls = json_object_get(in, "placements");
    ck_assert_uint_eq(json_array_size(pls), n);
    json_t *one = json_deep_copy(in), *results = json_array();
    json_object_del(one, "placements");
    *notes = calloc(n, sizeof **notes);
    for (size_t i = 0; i < n; i++) {
        fb_diag *d = fb_diag_new();
        json_object_set(one, "placement", json_array_get(pls, i));
        json_t *u = NULL;
        if (ev_validate(NULL, one, d) != FB_OK) json_array_append_new(results, json_false());
        else if (ev_usage(NULL, one, &u, d) != FB_OK) json_array_append_new(results, json_null());
        else json_array_append_new(results, u);
        (*notes)[i] = strdup(fb_diag_count(d) ? fb_diag_summary(d, fb_diag_count(d) - 1) : "");
        fb_diag_free(d);
    }
    json_t *doc = json_pack("{s:o}", "results", results);
    char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    json_decref(doc);
    json_decref(one);
    json_decref(in);
    return text;
}

/* fbk_evaluate's output and diagnostics are the reference's, byte for
 * byte, from validate and usage and from validate_usage. */
static void ev_check(const char *in_json, size_t n)
{
    char **notes;
    char *want = ev_reference(in_json, n, &notes);
    for (int round = 0; round < 4; round++) { /* rounds 1 and 3 read their placements from the cache */
        const fbk_eval_ops *ops = round < 2 ? &ev_ops : &ev_ops_both;
        fb_diag **diags = calloc(n, sizeof *diags);
        for (size_t i = 0; i < n; i++) diags[i] = fb_diag_new();
        fb_diag *d = fb_diag_new();
        char *out = NULL;
        ck_assert_int_eq(fbk_evaluate(fb_host_table(), "test", ops, NULL, in_json, n, diags, &out, d), FB_OK);
        ck_assert_str_eq(out, want);
        for (size_t i = 0; i < n; i++) {
            ck_assert_uint_ge(fb_diag_count(diags[i]), 1);
            ck_assert_str_eq(fb_diag_summary(diags[i], fb_diag_count(diags[i]) - 1), notes[i]);
            fb_diag_free(diags[i]);
        }
        ck_assert_uint_eq(fb_diag_count(d), 0);
        fb_host_table()->free(out);
        fb_diag_free(d);
        free(diags);
    }
    for (size_t i = 0; i < n; i++) free(notes[i]);
    free(notes);
    free(want);
}

#define EV_PL "[{\"region\":\"a\",\"offer\":{\"tier\":\"t1\"}},{\"region\":\"bad\"},{\"region\":\"b\",\"offer\":{\"tier\":\"t1\"}}," \
              "{\"region\":\"fail\"},{\"region\":\"c\",\"offer\":{\"tier\":\"neg\"}},{\"region\":\"d\",\"offer\":{\"tier\":\"zero\"}}," \
              "{\"region\":\"e\",\"offer\":{\"tier\":\"t1\"}}]"
#define EV_WL "{\"kind\":\"Function\",\"spec\":{\"q\":\"12.5\",\"s\":\"a \\\"]}\"}}"

START_TEST(evaluate_forms)
{
    /* plan's form; then whitespace and other member orders, an escaped key
     * and the member twice (read whole: jansson's answer is the reference) */
    static const char *const forms[] = {
        "{\"hoursPerMonth\":730,\"mode\":\"plan\",\"placements\":" EV_PL ",\"workload\":" EV_WL "}",
        " {\n \"placements\" : [ {\"region\": \"a\", \"offer\": {\"tier\": \"t1\"}}, {\"region\":\"bad\"},"
        "{\"region\":\"b\",\"offer\":{\"tier\":\"t1\"}},{\"region\":\"fail\"},{\"region\":\"c\",\"offer\":{\"tier\":\"neg\"}},"
        "{\"region\":\"d\",\"offer\":{\"tier\":\"zero\"}},{\"region\":\"e\",\"offer\":{\"tier\":\"t1\"}} ] ,\t\"workload\" : " EV_WL ", \"mode\":\"plan\" }\n",
        "{\"placement\\u0073\":" EV_PL ",\"workload\":" EV_WL ",\"mode\":\"plan\"}",
        "{\"placements\":[1,2,3,4,5,6,7],\"workload\":" EV_WL ",\"placements\":" EV_PL ",\"mode\":\"plan\"}",
        "{\"mode\":\"plan\",\"workload\":" EV_WL ",\"placements\":" EV_PL "}",
    };
    for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) ev_check(forms[i], 7);
    /* more distinct placement texts than the cache keeps, each twice */
    for (int k = 0; k < 20; k++) {
        char *in = fbk_xasprintf("{\"mode\":\"plan\",\"placements\":[{\"region\":\"r%d\",\"offer\":{\"tier\":\"t%d\"}},"
                                 "{\"region\":\"bad\"}],\"workload\":" EV_WL "}", k, k % 3);
        ev_check(in, 2);
        free(in);
    }
}
END_TEST

/* The memo keeps the last FBK_EVAL_MEMO documents by key, shared (the
 * same value, a new reference), the oldest dropped first. */
START_TEST(evaluate_memo)
{
    fbk_eval_memo m = {{0}, {0}, 0, 0};
    json_t *docs[FBK_EVAL_MEMO + 2];
    char key[16];
    for (int i = 0; i < FBK_EVAL_MEMO + 2; i++) {
        docs[i] = json_pack("{s:i}", "i", i);
        snprintf(key, sizeof key, "k%d", i);
        ck_assert_ptr_null(fbk_eval_memo_get(&m, key));
        fbk_eval_memo_put(&m, key, docs[i]);
    }
    for (int i = 0; i < FBK_EVAL_MEMO + 2; i++) {
        snprintf(key, sizeof key, "k%d", i);
        json_t *got = fbk_eval_memo_get(&m, key);
        if (i < 2) {
            ck_assert_ptr_null(got);
            ck_assert_int_eq(docs[i]->refcount, 1); /* the memo let its reference go */
        } else {
            ck_assert_ptr_eq(got, docs[i]);
            ck_assert_int_eq(docs[i]->refcount, 3); /* ours, the memo's, got's */
            json_decref(got);
        }
    }
    for (size_t i = 0; i < m.n; i++) {
        free(m.key[i]);
        json_decref(m.doc[i]);
    }
    for (int i = 0; i < FBK_EVAL_MEMO + 2; i++) json_decref(docs[i]);
}
END_TEST

START_TEST(evaluate_refusals)
{
    static const char *const bad[] = {
        "{\"placements\":[{\"region\":}],\"workload\":{}}", "{\"placements\":[{}],\"workload\":{}",
        "{\"placements\":[{}] \"workload\":{}}", "[]", "", "{\"placements\":{\"region\":\"a\"},\"workload\":{}}",
        "{\"placements\":[{},{}],\"workload\":{}}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        fb_diag *pd = fb_diag_new(), *d = fb_diag_new();
        char *out = NULL;
        ck_assert_int_eq(fbk_evaluate(fb_host_table(), "test", &ev_ops, NULL, bad[i], 1, &pd, &out, d), FB_INVALID);
        ck_assert_ptr_null(out);
        ck_assert_uint_ge(fb_diag_count(d), 1);
        ck_assert_int_eq(fb_diag_severity(d, 0), FB_SEV_ERROR);
        ck_assert_ptr_nonnull(strstr(fb_diag_summary(d, 0), "test: "));
        fb_diag_free(pd);
        fb_diag_free(d);
    }
    /* a refused text leaves nothing behind: the valid one is still read right */
    ev_check("{\"mode\":\"plan\",\"placements\":" EV_PL ",\"workload\":" EV_WL "}", 7);
}
END_TEST

typedef struct ev_thread {
    int id;
    int ok;
} ev_thread;

/* Threads share the placement cache, each input checked against its own
 * reference. */
static void *ev_run(void *p)
{
    ev_thread *t = p;
    t->ok = 1;
    for (int k = 0; k < 30 && t->ok; k++) {
        char *in = fbk_xasprintf("{\"mode\":\"plan\",\"placements\":[{\"region\":\"r%d\",\"offer\":{\"tier\":\"t\"}},"
                                 "{\"region\":\"fail\"}],\"workload\":" EV_WL "}", (k + t->id) % 12);
        char *want = fbk_xasprintf("{\"results\":[{\"lines\":[{\"quantity\":\"12.5\",\"tier\":\"t\"}],\"mode\":\"plan\",\"z\":0.0},null]}");
        fb_diag *pd[2] = {fb_diag_new(), fb_diag_new()}, *d = fb_diag_new();
        char *out = NULL;
        if (fbk_evaluate(fb_host_table(), "test", &ev_ops, NULL, in, 2, pd, &out, d) != FB_OK || strcmp(out, want) != 0)
            t->ok = 0;
        fb_host_table()->free(out);
        fb_diag_free(pd[0]);
        fb_diag_free(pd[1]);
        fb_diag_free(d);
        free(want);
        free(in);
    }
    return NULL;
}

START_TEST(evaluate_threads)
{
    pthread_t th[8];
    ev_thread t[8];
    for (int i = 0; i < 8; i++) {
        t[i].id = i;
        ck_assert_int_eq(pthread_create(&th[i], NULL, ev_run, &t[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(t[i].ok, "thread %d got another answer", i);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kit_driver");
    TCase *t = tcase_create("settings");
    tcase_add_test(t, settings_types);
    tcase_add_test(t, settings_refusals);
    tcase_add_test(t, settings_not_an_object);
    tcase_add_test(t, durations);
    tcase_add_test(t, decimals);
    suite_add_tcase(s, t);
    TCase *o = tcase_create("oauth2");
    tcase_set_timeout(o, 30);
    tcase_add_test(o, oauth2_cache_lifetime);
    tcase_add_test(o, oauth2_revoked_and_refused);
    tcase_add_test(o, oauth2_threads);
    suite_add_tcase(s, o);
    TCase *e = tcase_create("evaluate");
    tcase_set_timeout(e, 30);
    tcase_add_test(e, evaluate_forms);
    tcase_add_test(e, evaluate_refusals);
    tcase_add_test(e, evaluate_memo);
    tcase_add_test(e, evaluate_threads);
    suite_add_tcase(s, e);
    return fbt_run(s);
}
