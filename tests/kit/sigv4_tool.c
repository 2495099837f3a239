/* sigv4_tool.c - signs requests described as JSON lines on stdin with the
 * kit's SigV4 signer and prints one JSON result per line, for
 * tests/kit/sigv4_botocore.py to compare with botocore.
 *
 * Input line:  {"method","url","headers":[[name,value],...],"body_hex",
 *               "access_key","secret_key","token"|null,"region","service",
 *               "time": unix seconds, "flags": ["presign","unsigned",
 *               "content_sha256","no_normalize","no_uri_encode","s3",
 *               "token_unsigned"], "expires"}
 * Output line: {"canonical_request","string_to_sign","signature","url",
 *               "authorization","signed_headers","headers":[[n,v],...]}
 *               or {"error": "..."}.
 * Test-only: it prints the session token it was given back in headers,
 * which is fine for the fixed fake tokens the test generates. */
#include "config.h"
#include "fbk.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hexv(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static json_t *sign_one(json_t *in)
{
    const char *hex = json_string_value(json_object_get(in, "body_hex"));
    size_t hl = hex ? strlen(hex) : 0;
    unsigned char *body = fbk_xmalloc(hl / 2 + 1);
    for (size_t i = 0; i + 1 < hl; i += 2) body[i / 2] = (unsigned char)(hexv(hex[i]) * 16 + hexv(hex[i + 1]));
    json_t *hj = json_object_get(in, "headers");
    size_t nh = json_array_size(hj);
    fb_http_header *h = fbk_xcalloc(nh + 1, sizeof *h);
    for (size_t i = 0; i < nh; i++) {
        h[i].name = json_string_value(json_array_get(json_array_get(hj, i), 0));
        h[i].value = json_string_value(json_array_get(json_array_get(hj, i), 1));
    }
    unsigned flags = 0;
    json_t *fl = json_object_get(in, "flags");
    for (size_t i = 0; i < json_array_size(fl); i++) {
        const char *f = json_string_value(json_array_get(fl, i));
        if (!f) continue;
        if (!strcmp(f, "presign")) flags |= FBK_SIGV4_PRESIGN;
        else if (!strcmp(f, "unsigned")) flags |= FBK_SIGV4_UNSIGNED_PAYLOAD;
        else if (!strcmp(f, "content_sha256")) flags |= FBK_SIGV4_CONTENT_SHA256;
        else if (!strcmp(f, "no_normalize")) flags |= FBK_SIGV4_NO_NORMALIZE;
        else if (!strcmp(f, "no_uri_encode")) flags |= FBK_SIGV4_NO_URI_ENCODE;
        else if (!strcmp(f, "s3")) flags |= FBK_SIGV4_S3;
        else if (!strcmp(f, "token_unsigned")) flags |= FBK_SIGV4_TOKEN_UNSIGNED;
    }
    fbk_sigv4_params p = {
        .access_key_id = json_string_value(json_object_get(in, "access_key")),
        .secret_access_key = json_string_value(json_object_get(in, "secret_key")),
        .session_token = json_string_value(json_object_get(in, "token")),
        .region = json_string_value(json_object_get(in, "region")),
        .service = json_string_value(json_object_get(in, "service")),
        .time = (int64_t)json_integer_value(json_object_get(in, "time")),
        .expires = (int64_t)json_integer_value(json_object_get(in, "expires")),
        .flags = flags,
    };
    fbk_http_msg m = {
        .method = json_string_value(json_object_get(in, "method")),
        .url = json_string_value(json_object_get(in, "url")),
        .headers = h, .n_headers = nh, .body = body, .body_len = hl / 2,
    };
    fbk_sigv4_out o;
    char *err = NULL;
    json_t *res;
    if (fbk_sigv4_sign(&p, &m, &o, &err) != 0) {
        res = json_pack("{s:s}", "error", err ? err : "?");
    } else {
        json_t *oh = json_array();
        for (size_t i = 0; i < o.n_headers; i++)
            json_array_append_new(oh, json_pack("[s,s]", o.headers[i].name, o.headers[i].value));
        res = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s?,s:o}", "canonical_request", o.canonical_request,
                        "string_to_sign", o.string_to_sign, "signature", o.signature, "url", o.url,
                        "signed_headers", o.signed_headers, "authorization", o.authorization,
                        "headers", oh);
        fbk_sigv4_out_free(&o);
    }
    free(err);
    free(h);
    free(body);
    return res;
}

int main(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        json_error_t je;
        json_t *in = json_loads(line, 0, &je);
        if (!in) {
            fprintf(stderr, "sigv4_tool: bad input line: %s\n", je.text);
            rc = 2;
            break;
        }
        json_t *out = sign_one(in);
        char *s = json_dumps(out, JSON_COMPACT);
        puts(s);
        free(s);
        json_decref(out);
        json_decref(in);
    }
    free(line);
    return rc;
}
