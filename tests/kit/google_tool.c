/* google_tool.c - drives the kit's Google auth (drivers/kit/fbk_google.h)
 * for tests/kit/google_auth.py, which checks what it produces with
 * python3-jwt / python3-cryptography and against tests/fakes/fake_gcp.py.
 *
 *   google_tool jwt KEY.pem HEADER_JSON CLAIMS_JSON
 *       prints the RS256 JWT fbk_jwt_rs256 signs (exit 1 and the error on
 *       stderr when it refuses)
 *   google_tool assertion CREDENTIALS.json SCOPE UNIX_TIME
 *       prints the service-account assertion fbk_gcred_assertion signs
 *   google_tool parse CREDENTIALS.json
 *       prints what fbk_gcred_parse read as JSON (secrets as their length
 *       only), or exit 2 with the error on stderr
 *   google_tool run STEP...
 *       one fbk_gauth through the REAL host (libcurl, core's redaction),
 *       each step in its own call context:
 *         token      prints "token <access token>" or "error <status>"
 *         check      fbk_gauth_check: prints "check <description>" or "error"
 *         get URL    fbk_gauth_send a GET: prints "status <http status> <body>"
 *         now T      sets FEDBROKER_NOW=T (the host clock), "-" unsets it
 *         post URL BODY  a plain POST through the host (the fake's control API)
 *         dry        the following steps run as a dry run
 *       every diagnostic goes to stderr as "diag: summary | detail";
 *       dry-run requests go to stdout as "dry <request JSON>".
 * Test-only: it prints the tokens it gets, which are the fake's. */
#include "config.h"
#include "fbk_google.h"
#include "fedbroker/fedbroker.h"
#include "base/call.h"
#include "base/util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *path)
{
    size_t len;
    int eno;
    char *err = NULL;
    char *t = fbk_read_file(path, 1u << 20, &len, &eno, &err);
    if (!t) {
        fprintf(stderr, "%s\n", err);
        exit(2);
    }
    return t;
}

static json_t *str_or_len(const char *s, int secret)
{
    if (!s) return json_null();
    return secret ? json_integer((json_int_t)strlen(s)) : json_string(s);
}

static int cmd_parse(const char *path)
{
    char *t = slurp(path);
    fbk_gcred c;
    char *err = NULL;
    if (fbk_gcred_parse(t, strlen(t), path, &c, &err) != 0) {
        fprintf(stderr, "%s\n", err);
        free(err);
        free(t);
        return 2;
    }
    static const char *const types[] = {"none", "service_account", "authorized_user", "external_account",
                                        "metadata"};
    static const char *const kinds[] = {"", "file", "url", "aws"};
    json_t *o = json_pack("{s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:I,s:o,s:s,s:o,s:o,"
                          "s:b,s:o,s:o,s:o,s:o,s:o}",
                          "type", types[c.type], "source", str_or_len(c.source, 0), "project_id",
                          str_or_len(c.project_id, 0), "token_uri", str_or_len(c.token_uri, 0), "client_email",
                          str_or_len(c.client_email, 0), "private_key_id", str_or_len(c.private_key_id, 0),
                          "private_key", str_or_len(c.private_key, 1), "client_id", str_or_len(c.client_id, 0),
                          "client_secret", str_or_len(c.client_secret, 1), "refresh_token",
                          str_or_len(c.refresh_token, 1), "audience", str_or_len(c.audience, 0),
                          "subject_token_type", str_or_len(c.subject_token_type, 0), "sts_url",
                          str_or_len(c.sts_url, 0), "impersonation_url", str_or_len(c.impersonation_url, 0),
                          "workforce_user_project", str_or_len(c.workforce_user_project, 0),
                          "impersonation_lifetime", (json_int_t)c.impersonation_lifetime, "subject_file",
                          str_or_len(c.subject_file, 0), "subject_kind", kinds[c.subject_kind], "subject_url",
                          str_or_len(c.subject_url, 0), "subject_headers",
                          c.subject_headers ? json_incref(c.subject_headers) : json_null(), "subject_json",
                          c.subject_json, "subject_field", str_or_len(c.subject_field, 0), "aws_region_url",
                          str_or_len(c.aws_region_url, 0), "aws_verify_url", str_or_len(c.aws_verify_url, 0),
                          "aws_imdsv2_url", str_or_len(c.aws_imdsv2_url, 0), "metadata_host",
                          str_or_len(c.metadata_host, 0));
    char *s = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
    printf("%s\n", s);
    free(s);
    json_decref(o);
    fbk_gcred_clear(&c);
    fbk_free_secret(t);
    return 0;
}

static void print_diags(fb_diag *d)
{
    for (size_t i = 0; i < fb_diag_count(d); i++)
        fprintf(stderr, "diag: %s | %s\n", fb_diag_summary(d, i),
                fb_diag_detail(d, i) ? fb_diag_detail(d, i) : "");
}

static int cmd_run(int argc, char **argv)
{
    const fb_host *h = fb_host_table();
    fbk_gauth *a = fbk_gauth_new(NULL);
    int dry = 0, rc = 0;
    for (int i = 0; i < argc; i++) {
        fb_diag *d = fb_diag_new();
        fbi_call call;
        fbi_call_begin(&call, d, "gcp");
        call.dry_run = dry;
        if (!strcmp(argv[i], "token")) {
            char *tok = NULL;
            fb_status st = fbk_gauth_token(a, h, d, &tok);
            if (st == FB_OK) printf("token %s\n", tok);
            else printf("error %s\n", fbi_status_name(st)), rc = 1;
            fbk_free_secret(tok);
        } else if (!strcmp(argv[i], "check")) {
            char *what = NULL;
            fb_status st = fbk_gauth_check(a, h, d, &what);
            if (st == FB_OK) printf("check %s\n", what);
            else printf("error %s\n", fbi_status_name(st)), rc = 1;
            free(what);
        } else if (!strcmp(argv[i], "get") && i + 1 < argc) {
            const char *url = argv[++i];
            fb_http_request req = {.struct_size = sizeof req, .method = "GET", .url = url,
                                   .flags = FB_HTTP_IDEMPOTENT, .service = "test"};
            fb_http_response resp;
            fb_status st = fbk_gauth_send(a, h, d, &req, &resp);
            if (st == FB_OK) {
                printf("status %ld %s\n", resp.status, resp.body ? resp.body : "");
                h->http_free(&resp);
            } else {
                printf("error %s\n", fbi_status_name(st));
                rc = 1;
            }
        } else if (!strcmp(argv[i], "post") && i + 2 < argc) {
            fb_http_request req = {.struct_size = sizeof req, .method = "POST", .url = argv[i + 1],
                                   .body = argv[i + 2], .body_len = strlen(argv[i + 2]), .service = "test"};
            fb_http_response resp;
            i += 2;
            if (h->http(d, &req, &resp) == FB_OK) {
                printf("posted %ld\n", resp.status);
                h->http_free(&resp);
            }
        } else if (!strcmp(argv[i], "now") && i + 1 < argc) {
            i++;
            if (!strcmp(argv[i], "-")) unsetenv("FEDBROKER_NOW");
            else setenv("FEDBROKER_NOW", argv[i], 1);
        } else if (!strcmp(argv[i], "dry")) {
            dry = 1;
        } else {
            fprintf(stderr, "unknown step %s\n", argv[i]);
            rc = 64;
        }
        if (call.dry_requests) {
            size_t k;
            json_t *r;
            json_array_foreach(call.dry_requests, k, r) {
                char *s = json_dumps(r, JSON_SORT_KEYS | JSON_COMPACT);
                printf("dry %s\n", s);
                free(s);
            }
        }
        fflush(stdout);
        fbi_call_end(&call, d);
        print_diags(d);
        fb_diag_free(d);
        if (rc == 64) break;
    }
    fbk_gauth_free(a);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 5 && !strcmp(argv[1], "jwt")) {
        char *key = slurp(argv[2]), *jwt = NULL, *err = NULL;
        int rc = fbk_jwt_rs256(key, argv[3], argv[4], &jwt, &err);
        if (rc == 0) printf("%s\n", jwt);
        else fprintf(stderr, "%s\n", err);
        fbk_free_secret(key);
        fbk_free_secret(jwt);
        free(err);
        return rc ? 1 : 0;
    }
    if (argc >= 5 && !strcmp(argv[1], "assertion")) {
        char *t = slurp(argv[2]), *err = NULL, *jwt = NULL;
        fbk_gcred c;
        if (fbk_gcred_parse(t, strlen(t), argv[2], &c, &err) != 0 ||
            fbk_gcred_assertion(&c, argv[3], strtoll(argv[4], NULL, 10), &jwt, &err) != 0) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        printf("%s\n", jwt);
        fbk_free_secret(jwt);
        fbk_gcred_clear(&c);
        fbk_free_secret(t);
        return 0;
    }
    if (argc >= 3 && !strcmp(argv[1], "parse")) return cmd_parse(argv[2]);
    if (argc >= 2 && !strcmp(argv[1], "run")) return cmd_run(argc - 2, argv + 2);
    fprintf(stderr, "usage: google_tool jwt KEY HEADER CLAIMS | assertion FILE SCOPE TIME | parse FILE | "
                    "run STEP...\n");
    return 64;
}
