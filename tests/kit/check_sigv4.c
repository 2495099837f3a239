/* check_sigv4.c - the kit's SigV4 signer against AWS's published
 * Signature Version 4 test suite (tests/reference/aws-sigv4-test-suite, see its
 * SOURCE.md), plus the edge cases the suite does not cover.
 *
 * The harness parses each NAME.req itself and compares the signer's
 * canonical request, string to sign and Authorization value with NAME.creq,
 * NAME.sts and NAME.authz byte for byte, and the signed request with
 * NAME.sreq header by header. Every case is signed twice:
 *  A. default flags (normalise, encode the path once more), with the
 *     request-line path given verbatim, as botocore's SigV4Auth sees it;
 *  B. FBK_SIGV4_NO_URI_ENCODE, with the harness percent-encoding the path
 *     into its wire form first.
 * In both, raw UTF-8 in the query is percent-encoded by the harness first
 * (SOURCE.md: "a harness must percent-encode it before signing"). */
#include "config.h"
#include "fbk.h"
#include "../lib/fbtest.h"

#include <check.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef KIT_TOP_SRCDIR
#define KIT_TOP_SRCDIR "."
#endif

#define SUITE_DIR KIT_TOP_SRCDIR "/tests/reference/aws-sigv4-test-suite"
#define AKID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define T_20150830 1440938160 /* 2015-08-30T12:36:00Z */

/* ---- reading the vectors ------------------------------------------------ */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fbk_buf b;
    fbk_buf_init(&b);
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) fbk_buf_append(&b, tmp, n);
    fclose(f);
    if (len) *len = b.len;
    return fbk_buf_steal(&b);
}

typedef struct rawreq {
    char *line;      /* request line */
    char *method, *target;
    size_t nh;
    char *names[32], *values[32]; /* value: text after ':' as written */
    int folded;      /* obsolete line folding seen */
    char *body;
    size_t body_len;
} rawreq;

static void rawreq_free(rawreq *r)
{
    free(r->line);
    free(r->method);
    free(r->target);
    for (size_t i = 0; i < r->nh; i++) {
        free(r->names[i]);
        free(r->values[i]);
    }
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* Parses "METHOD target HTTP/1.1\nName:value\n...\n\nbody". The target may
 * contain spaces (get-space), so it runs up to the last space. */
static int parse_raw(const char *text, size_t len, rawreq *r)
{
    memset(r, 0, sizeof *r);
    const char *end = text + len, *p = text;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) nl = end;
    r->line = fbk_xstrndup(p, (size_t)(nl - p));
    char *sp1 = strchr(r->line, ' '), *sp2 = strrchr(r->line, ' ');
    if (!sp1 || sp1 == sp2) return -1;
    r->method = fbk_xstrndup(r->line, (size_t)(sp1 - r->line));
    r->target = fbk_xstrndup(sp1 + 1, (size_t)(sp2 - sp1 - 1));
    p = nl < end ? nl + 1 : end;
    while (p < end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) nl = end;
        if (nl == p) { /* blank line: body follows */
            p = nl + 1;
            r->body_len = (size_t)(end - p);
            r->body = fbk_xstrndup(p, r->body_len);
            return 0;
        }
        if (*p == ' ' || *p == '\t') {
            r->folded = 1;
            if (!r->nh) return -1;
            char *v = fbk_xasprintf("%s %.*s", r->values[r->nh - 1], (int)(nl - p), p);
            free(r->values[r->nh - 1]);
            r->values[r->nh - 1] = v;
        } else {
            const char *colon = memchr(p, ':', (size_t)(nl - p));
            if (!colon || r->nh == 32) return -1;
            r->names[r->nh] = fbk_xstrndup(p, (size_t)(colon - p));
            r->values[r->nh] = fbk_xstrndup(colon + 1, (size_t)(nl - colon - 1));
            r->nh++;
        }
        p = nl < end ? nl + 1 : end;
    }
    return 0;
}

static const char *raw_header(const rawreq *r, const char *name)
{
    for (size_t i = 0; i < r->nh; i++)
        if (!strcasecmp(r->names[i], name)) return r->values[i];
    return NULL;
}

static char *strip(const char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    return fbk_xstrndup(s, n);
}

/* ---- case discovery ----------------------------------------------------- */

static char *cases[64];
static size_t ncases;

static void discover(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char *sub = fbk_xasprintf("%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode)) {
            char *req = fbk_xasprintf("%s/%s.req", sub, e->d_name);
            if (access(req, R_OK) == 0 && ncases < 64) cases[ncases++] = fbk_xstrdup(sub);
            free(req);
            discover(sub);
        }
        free(sub);
    }
    closedir(d);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- URL building for the two modes ------------------------------------ */

static int bad_in_url(unsigned char c)
{
    return c <= ' ' || c >= 0x7f || strchr("\"<>\\^`{|}", c) != NULL;
}

static void enc_bad(fbk_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (bad_in_url(c)) fbk_buf_printf(b, "%%%02X", c);
        else fbk_buf_putc(b, (char)c);
    }
}

/* mode 'A': path verbatim; 'B': path in wire form. Query in wire form. */
static char *build_url(const char *host, const char *target, char mode)
{
    fbk_buf b;
    fbk_buf_init(&b);
    fbk_buf_printf(&b, "https://%s", host);
    const char *q = strchr(target, '?');
    size_t plen = q ? (size_t)(q - target) : strlen(target);
    if (mode == 'A') fbk_buf_append(&b, target, plen);
    else enc_bad(&b, target, plen);
    if (q) enc_bad(&b, q, strlen(q));
    return fbk_buf_steal(&b);
}

/* ---- one case ----------------------------------------------------------- */

static void run_case(const char *dir, char mode)
{
    const char *base = strrchr(dir, '/') + 1;
    char path[1024];
    size_t reqlen = 0, sreqlen = 0;
    snprintf(path, sizeof path, "%s/%s.req", dir, base);
    char *reqtext = slurp(path, &reqlen);
    ck_assert_msg(reqtext != NULL, "cannot read %s", path);
    snprintf(path, sizeof path, "%s/%s.creq", dir, base);
    char *creq = slurp(path, NULL);
    snprintf(path, sizeof path, "%s/%s.sts", dir, base);
    char *sts = slurp(path, NULL);
    snprintf(path, sizeof path, "%s/%s.authz", dir, base);
    char *authz = slurp(path, NULL);
    snprintf(path, sizeof path, "%s/%s.sreq", dir, base);
    char *sreqtext = slurp(path, &sreqlen);
    ck_assert_msg(creq && sts && authz && sreqtext, "%s: missing .creq/.sts/.authz/.sreq", base);

    rawreq r, s;
    ck_assert_msg(parse_raw(reqtext, reqlen, &r) == 0, "%s: cannot parse .req", base);
    ck_assert_msg(parse_raw(sreqtext, sreqlen, &s) == 0, "%s: cannot parse .sreq", base);
    if (r.folded) {
        /* SOURCE.md: copies of the suite disagree on this case. */
        printf("SKIP %s (mode %c): obsolete header line folding; copies of the suite "
               "disagree on its canonical form (see SOURCE.md)\n", base, mode);
        goto out;
    }

    fb_http_header hs[32];
    for (size_t i = 0; i < r.nh; i++) {
        hs[i].name = r.names[i];
        hs[i].value = r.values[i];
    }
    const char *host = raw_header(&r, "Host");
    ck_assert_msg(host != NULL, "%s: no Host header", base);
    char *h = strip(host);
    char *url = build_url(h, r.target, mode);
    free(h);

    /* A session token in the .req is signed; one that only the .sreq has
     * was added after signing (post-sts-header-after). */
    const char *tok_req = raw_header(&r, "X-Amz-Security-Token");
    const char *tok_sreq = raw_header(&s, "X-Amz-Security-Token");
    char *token = tok_req ? strip(tok_req) : tok_sreq ? strip(tok_sreq) : NULL;

    fbk_sigv4_params p = {
        .access_key_id = AKID, .secret_access_key = SECRET, .session_token = token,
        .region = "us-east-1", .service = "service", .time = T_20150830,
        .flags = (mode == 'B' ? FBK_SIGV4_NO_URI_ENCODE : 0) |
                 (token && !tok_req ? FBK_SIGV4_TOKEN_UNSIGNED : 0),
    };
    fbk_http_msg m = {.method = r.method, .url = url, .headers = hs, .n_headers = r.nh,
                      .body = r.body, .body_len = r.body_len};
    fbk_sigv4_out o;
    char *err = NULL;
    int rc = fbk_sigv4_sign(&p, &m, &o, &err);
    ck_assert_msg(rc == 0, "%s (mode %c): signer refused: %s", base, mode, err ? err : "?");
    ck_assert_msg(strcmp(o.canonical_request, creq) == 0,
                  "%s (mode %c): canonical request differs\n--- expected\n%s\n--- got\n%s", base,
                  mode, creq, o.canonical_request);
    ck_assert_msg(strcmp(o.string_to_sign, sts) == 0,
                  "%s (mode %c): string to sign differs\n--- expected\n%s\n--- got\n%s", base,
                  mode, sts, o.string_to_sign);
    ck_assert_msg(strcmp(o.authorization, authz) == 0,
                  "%s (mode %c): Authorization differs\n--- expected\n%s\n--- got\n%s", base,
                  mode, authz, o.authorization);

    /* Signed request: the .req's request line and headers, then the headers
     * the signer added, then the body. */
    ck_assert_str_eq(s.line, r.line);
    ck_assert_msg(s.nh == r.nh + o.n_headers, "%s: .sreq has %zu headers, we have %zu + %zu", base,
                  s.nh, r.nh, o.n_headers);
    for (size_t i = 0; i < s.nh; i++) {
        const char *en = i < r.nh ? r.names[i] : o.headers[i - r.nh].name;
        char *ev = strip(i < r.nh ? r.values[i] : o.headers[i - r.nh].value);
        char *gv = strip(s.values[i]);
        ck_assert_msg(strcmp(en, s.names[i]) == 0 && strcmp(ev, gv) == 0,
                      "%s: signed request header %zu: expected %s:%s, got %s:%s", base, i,
                      s.names[i], gv, en, ev);
        free(ev);
        free(gv);
    }
    ck_assert_uint_eq(s.body_len, r.body_len);
    if (r.body_len) ck_assert(memcmp(s.body, r.body, r.body_len) == 0);
    fbk_sigv4_out_free(&o);
    free(token);
    free(url);
out:
    rawreq_free(&r);
    rawreq_free(&s);
    free(reqtext);
    free(creq);
    free(sts);
    free(authz);
    free(sreqtext);
}

START_TEST(suite_mode_a)
{
    run_case(cases[_i], 'A');
}
END_TEST

START_TEST(suite_mode_b)
{
    run_case(cases[_i], 'B');
}
END_TEST

START_TEST(suite_is_complete)
{
    /* SOURCE.md: 31 cases. A missing folder must not pass silently. */
    ck_assert_uint_eq(ncases, 31);
}
END_TEST

/* ---- beyond the suite --------------------------------------------------- */

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int sign1(const char *method, const char *url, const fb_http_header *h, size_t nh,
                 unsigned flags, const char *token, fbk_sigv4_out *o, char **err)
{
    fbk_sigv4_params p = {.access_key_id = AKID, .secret_access_key = SECRET,
                          .session_token = token, .region = "us-east-1", .service = "service",
                          .time = T_20150830, .flags = flags, .expires = 300};
    fbk_http_msg m = {.method = method, .url = url, .headers = h, .n_headers = nh};
    return fbk_sigv4_sign(&p, &m, o, err);
}

/* The canonical URI is the second line of the canonical request. */
static char *creq_line(const char *creq, int n)
{
    const char *p = creq;
    for (int i = 0; i < n; i++) p = strchr(p, '\n') + 1;
    return fbk_xstrndup(p, strcspn(p, "\n"));
}

START_TEST(path_modes)
{
    static const struct {
        const char *path;
        unsigned flags;
        const char *want;
    } t[] = {
        /* default: normalised, encoded once more ('%' -> %25) */
        {"/a//b/./c/../d/", 0, "/a/b/d/"},
        {"/functions/arn%3Aaws%3Alambda", 0, "/functions/arn%253Aaws%253Alambda"},
        {"", 0, "/"},
        /* S3: the wire path itself */
        {"//example//a/../b", FBK_SIGV4_S3, "//example//a/../b"},
        {"/my%20object", FBK_SIGV4_S3, "/my%20object"},
        {"", FBK_SIGV4_S3, "/"},
        /* encoded but not normalised */
        {"/a//b/..", FBK_SIGV4_NO_NORMALIZE, "/a//b/.."},
        /* normalised but not encoded again */
        {"/a/%7E/../b%20c", FBK_SIGV4_NO_URI_ENCODE, "/a/b%20c"},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        char *url = fbk_xasprintf("https://example.amazonaws.com%s", t[i].path);
        fbk_sigv4_out o;
        char *err = NULL;
        ck_assert_msg(sign1("GET", url, NULL, 0, t[i].flags, NULL, &o, &err) == 0, "%s", err);
        char *got = creq_line(o.canonical_request, 1);
        ck_assert_msg(strcmp(got, t[i].want) == 0, "path %s flags %u: want %s got %s", t[i].path,
                      t[i].flags, t[i].want, got);
        free(got);
        fbk_sigv4_out_free(&o);
        free(url);
    }
}
END_TEST

START_TEST(query_canonical)
{
    static const struct {
        const char *q, *want;
    } t[] = {
        {"b=2&a=1&a=0", "a=0&a=1&b=2"},
        {"flag&x=", "flag=&x="},
        {"k=%7e%41%2f", "k=~A%2F"},          /* decoded once, re-encoded */
        {"a:b=c,d", "a%3Ab=c%2Cd"},           /* raw RFC 3986 sub-delims */
        {"Z=1&a=1&_=1", "Z=1&_=1&a=1"},       /* byte order, not case-folded */
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        char *url = fbk_xasprintf("https://example.amazonaws.com/?%s", t[i].q);
        fbk_sigv4_out o;
        char *err = NULL;
        ck_assert_msg(sign1("GET", url, NULL, 0, 0, NULL, &o, &err) == 0, "%s", err);
        char *got = creq_line(o.canonical_request, 2);
        ck_assert_msg(strcmp(got, t[i].want) == 0, "query %s: want %s got %s", t[i].q, t[i].want,
                      got);
        free(got);
        fbk_sigv4_out_free(&o);
        free(url);
    }
}
END_TEST

START_TEST(refusals)
{
    fb_http_header crlf[] = {{"X-A", "one\r\nX-Injected: two"}};
    fb_http_header auth[] = {{"Authorization", "AWS4-HMAC-SHA256 x"}};
    fb_http_header date[] = {{"X-Amz-Date", "20990101T000000Z"}};
    fb_http_header badname[] = {{"Bad Name", "v"}};
    const struct {
        const char *url;
        const fb_http_header *h;
        unsigned flags;
        const char *token;
        const char *want; /* substring of the error */
    } t[] = {
        {"ftp://example.com/", NULL, 0, NULL, "scheme"},
        {"example.com/", NULL, 0, NULL, "not absolute"},
        {"https:///x", NULL, 0, NULL, "no host"},
        {"https://h:8x/", NULL, 0, NULL, "port"},
        {"https://h/?a=b+c", NULL, 0, NULL, "'+'"},
        {"https://h/?a=b c", NULL, 0, NULL, "0x20"},
        {"https://h/?a=%zz", NULL, 0, NULL, "hex"},
        {"https://h/?a=1&&b=2", NULL, 0, NULL, "empty query"},
        {"https://h/?a=1&", NULL, 0, NULL, "ends with"},
        {"https://h/?X-Amz-Signature=1", NULL, 0, NULL, "X-Amz-Signature"},
        {"https://h/?X-Amz-Credential=1", NULL, FBK_SIGV4_PRESIGN, NULL, "X-Amz-Credential"},
        {"https://h/", crlf, 0, NULL, "line break"},
        {"https://h/", auth, 0, NULL, "Authorization"},
        {"https://h/", date, 0, NULL, "differs from the signing time"},
        {"https://h/", badname, 0, NULL, "not allowed"},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        fbk_sigv4_out o;
        char *err = NULL;
        int rc = sign1("GET", t[i].url, t[i].h, t[i].h ? 1 : 0, t[i].flags, t[i].token, &o, &err);
        ck_assert_msg(rc == -1, "case %zu (%s) was accepted", i, t[i].url);
        ck_assert_msg(err && strstr(err, t[i].want), "case %zu: error \"%s\" lacks \"%s\"", i,
                      err ? err : "(none)", t[i].want);
        ck_assert_ptr_null(o.canonical_request);
        free(err);
    }
    /* presign expiry range and missing credentials */
    fbk_sigv4_params p = {.access_key_id = AKID, .secret_access_key = SECRET,
                          .region = "us-east-1", .service = "s", .time = T_20150830,
                          .flags = FBK_SIGV4_PRESIGN, .expires = 604801};
    fbk_http_msg m = {.method = "GET", .url = "https://h/"};
    fbk_sigv4_out o;
    char *err = NULL;
    ck_assert_int_eq(fbk_sigv4_sign(&p, &m, &o, &err), -1);
    ck_assert_ptr_nonnull(strstr(err, "604800"));
    free(err);
    err = NULL;
    p.expires = 60;
    p.secret_access_key = "";
    ck_assert_int_eq(fbk_sigv4_sign(&p, &m, &o, &err), -1);
    ck_assert_ptr_nonnull(strstr(err, "secret"));
    free(err);
}
END_TEST

START_TEST(session_token_forms)
{
    const char *tok = "TOKEN/with+chars==";
    fbk_sigv4_out o;
    char *err = NULL;
    /* header form: signed and added */
    ck_assert_int_eq(sign1("POST", "https://h/", NULL, 0, 0, tok, &o, &err), 0);
    ck_assert_str_eq(o.signed_headers, "host;x-amz-date;x-amz-security-token");
    ck_assert_uint_eq(o.n_headers, 3);
    ck_assert_str_eq(o.headers[1].name, "X-Amz-Security-Token");
    ck_assert_str_eq(o.headers[1].value, tok);
    ck_assert_str_eq(o.headers[2].name, "Authorization");
    fbk_sigv4_out_free(&o);
    /* header form, token after signing */
    ck_assert_int_eq(sign1("POST", "https://h/", NULL, 0, FBK_SIGV4_TOKEN_UNSIGNED, tok, &o, &err), 0);
    ck_assert_str_eq(o.signed_headers, "host;x-amz-date");
    ck_assert_str_eq(o.headers[1].name, "X-Amz-Security-Token");
    fbk_sigv4_out_free(&o);
    /* presign: token in the (signed) query, nothing added to headers */
    ck_assert_int_eq(sign1("GET", "https://h/obj?x=1#frag", NULL, 0, FBK_SIGV4_PRESIGN, tok, &o, &err), 0);
    ck_assert_uint_eq(o.n_headers, 0);
    ck_assert_ptr_null(o.authorization);
    ck_assert_ptr_nonnull(strstr(o.canonical_request, "X-Amz-Security-Token=TOKEN%2Fwith%2Bchars%3D%3D"));
    ck_assert_ptr_nonnull(strstr(o.url, "https://h/obj?x=1&X-Amz-Algorithm=AWS4-HMAC-SHA256&"));
    ck_assert_ptr_null(strchr(o.url, '#'));
    char *tail = fbk_xasprintf("&X-Amz-Signature=%s", o.signature);
    ck_assert(ends_with(o.url, tail));
    free(tail);
    fbk_sigv4_out_free(&o);
    /* x-amz-content-sha256 with an unsigned payload */
    ck_assert_int_eq(sign1("PUT", "https://h/k", NULL, 0, FBK_SIGV4_S3 | FBK_SIGV4_UNSIGNED_PAYLOAD,
                           NULL, &o, &err), 0);
    ck_assert_str_eq(o.headers[1].name, "X-Amz-Content-SHA256");
    ck_assert_str_eq(o.headers[1].value, "UNSIGNED-PAYLOAD");
    ck_assert_str_eq(o.signed_headers, "host;x-amz-content-sha256;x-amz-date");
    fbk_sigv4_out_free(&o);
}
END_TEST

START_TEST(signing_key_doc_example)
{
    /* AWS General Reference, "Examples of how to derive a signing key for
     * Signature Version 4" (IAM, us-east-1, 20120215). */
    unsigned char k[32];
    fbk_sigv4_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam", k);
    char hx[65];
    for (int i = 0; i < 32; i++) snprintf(hx + 2 * i, 3, "%02x", k[i]);
    ck_assert_str_eq(hx, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}
END_TEST

/* The signer caches derived keys per (secret, day, region, service): each
 * signature must still be the one the uncached derivation gives, across
 * secrets that share a scope, scopes that share a secret, and more scopes
 * than the cache holds (evictions). */
START_TEST(derived_key_cache)
{
    static const char *secrets[] = {SECRET, "other/secret+KEY", SECRET "x"};
    static const char *regions[] = {"us-east-1", "eu-west-1", "ap-northeast-1"};
    static const char *services[] = {"lambda", "ecs"};
    static const long long times[] = {T_20150830, T_20150830 + 86400};
    for (int round = 0; round < 2; round++) {
        for (int b = 0; b < 3; b++)
        for (int c = 0; c < 2; c++)
        for (int d = 0; d < 2; d++)
        for (int a = 0; a < 3; a++) {
            fbk_sigv4_params p = {.access_key_id = AKID, .secret_access_key = secrets[a],
                                  .region = regions[b], .service = services[c],
                                  .time = times[d]};
            fbk_http_msg m = {.method = "GET", .url = "https://h/x"};
            fbk_sigv4_out o;
            char *err = NULL;
            ck_assert_int_eq(fbk_sigv4_sign(&p, &m, &o, &err), 0);
            char date8[9];
            memcpy(date8, o.string_to_sign + strlen("AWS4-HMAC-SHA256\n"), 8);
            date8[8] = '\0';
            unsigned char k[32], sig[32];
            unsigned int len = 32;
            fbk_sigv4_signing_key(secrets[a], date8, regions[b], services[c], k);
            HMAC(EVP_sha256(), k, 32, (const unsigned char *)o.string_to_sign,
                 strlen(o.string_to_sign), sig, &len);
            char hx[65];
            for (int i = 0; i < 32; i++) snprintf(hx + 2 * i, 3, "%02x", sig[i]);
            ck_assert_msg(strcmp(o.signature, hx) == 0, "round %d secret %d %s %s day %d: %s != %s",
                          round, a, regions[b], services[c], d, o.signature, hx);
            fbk_sigv4_out_free(&o);
        }
    }
}
END_TEST

int main(void)
{
    discover(SUITE_DIR);
    qsort(cases, ncases, sizeof *cases, cmp_str);
    Suite *s = suite_create("sigv4");
    TCase *tc = tcase_create("aws-sigv4-test-suite");
    tcase_add_test(tc, suite_is_complete);
    tcase_add_loop_test(tc, suite_mode_a, 0, (int)ncases);
    tcase_add_loop_test(tc, suite_mode_b, 0, (int)ncases);
    suite_add_tcase(s, tc);
    TCase *tc2 = tcase_create("edges");
    tcase_add_test(tc2, path_modes);
    tcase_add_test(tc2, query_canonical);
    tcase_add_test(tc2, refusals);
    tcase_add_test(tc2, session_token_forms);
    tcase_add_test(tc2, signing_key_doc_example);
    tcase_add_test(tc2, derived_key_cache);
    suite_add_tcase(s, tc2);
    int rc = fbt_run(s);
    for (size_t i = 0; i < ncases; i++) free(cases[i]);
    return rc;
}
