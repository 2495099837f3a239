/* attest.c - a running workload proves to `fedbroker serve` that it runs as
 * its IAM role (ABI 1.3 attest; docs/identity.md, "A workload's own
 * token"). The proof is the method Vault's AWS auth uses: an STS
 * GetCallerIdentity request the workload signed with its role's
 * credentials (which Lambda and ECS hand it), not sent. The driver sends it
 * on to STS unchanged; only AWS can answer it, and it answers with the
 * identity of whoever signed it. Two bindings keep a proof from being
 * replayed elsewhere: the request must carry the header
 * X-Fedbroker-Server-Id with this broker's issuer, covered by the
 * signature (so a request signed for another broker, or for Vault, does
 * not work here), and STS refuses a signature older than 15 minutes.
 *
 * What is sent is checked first, so the broker is no open relay: only POST
 * to the STS endpoint of a configured region (or the global one, or
 * endpoints.sts), only the body Action=GetCallerIdentity&Version=2011-06-15,
 * only the headers SigV4 needs. The answer's caller must be an assumed-role
 * session of a role named fb-... (the workload roles iam.c makes); a
 * caller role made for calling one workload (fbc-...) is no workload's
 * identity and is refused. The broker then finds which workload recorded
 * that role.
 *
 * Thread notes: reads ctx only (settings); host->http is thread-safe. */
#include "config.h"
#include "aws.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The headers a GetCallerIdentity proof may carry: what SigV4 signs or
 * needs, and our binding. Anything else is refused (nothing the workload
 * sends reaches STS unchecked). */
static const char *const allowed_headers[] = {
    "authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256",
    "content-type", "content-length", "host", AWS_SERVER_ID_HEADER_LC,
};

static int header_allowed(const char *name)
{
    for (size_t i = 0; i < sizeof allowed_headers / sizeof *allowed_headers; i++)
        if (!strcasecmp(name, allowed_headers[i])) return 1;
    return 0;
}

static fb_status refuse(fb_diag *diag, const char *fmt, const char *arg)
{
    fbk_diag(aws_host, diag, FB_SEV_ERROR, NULL,
             "aws: the identity proof is refused: %s%s\n"
             "Sign an STS GetCallerIdentity request (POST, body "
             "Action=GetCallerIdentity&Version=2011-06-15) with the workload's role credentials, "
             "with the header " AWS_SERVER_ID_HEADER " set to the broker's issuer and signed, "
             "and send its method, url, headers and body (docs/identity.md).",
             fmt, arg ? arg : "");
    return FB_AUTH;
}

/* Is url the STS endpoint the driver would use itself: endpoints.sts, or
 * the global or a configured region's endpoint (with a trailing '/')? */
static int sts_url_ok(aws_ctx *ctx, const char *url)
{
    if (ctx->ep_sts) {
        char *base = aws_endpoint(ctx, "sts", "us-east-1");
        char *want = fbk_xasprintf("%s/", base);
        int ok = !strcmp(url, want);
        free(base);
        free(want);
        return ok;
    }
    if (!strcmp(url, "https://sts.amazonaws.com/")) return 1;
    for (size_t i = 0; i < ctx->n_regions; i++) {
        char *want = fbk_xasprintf("https://sts.%s.amazonaws.com/", ctx->regions[i]);
        int ok = !strcmp(url, want);
        free(want);
        if (ok) return 1;
    }
    return 0;
}

/* The body must be exactly the two parameters of GetCallerIdentity, in
 * either order. */
static int body_ok(const char *b)
{
    return !strcmp(b, "Action=GetCallerIdentity&Version=2011-06-15") ||
           !strcmp(b, "Version=2011-06-15&Action=GetCallerIdentity");
}

/* Is name (lower case) one of the SignedHeaders of a SigV4 Authorization
 * value? */
static int signed_header(const char *auth, const char *name)
{
    const char *p = strstr(auth, "SignedHeaders=");
    if (!p) return 0;
    p += 14;
    size_t n = strlen(name);
    while (*p && *p != ',' && *p != ' ') {
        const char *e = p;
        while (*e && *e != ';' && *e != ',' && *e != ' ') e++;
        if ((size_t)(e - p) == n && !strncmp(p, name, n)) return 1;
        p = *e == ';' ? e + 1 : e;
    }
    return 0;
}

/* arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION -> the role's ARN
 * arn:aws:iam::ACCOUNT:role/ROLE (new), and *role its name (new); NULL
 * when arn is no assumed-role session. The partition is kept. */
static char *role_of_session(const char *arn, char **role)
{
    *role = NULL;
    const char *sts = strstr(arn, ":sts::");
    if (strncmp(arn, "arn:", 4) != 0 || !sts) return NULL;
    const char *acct = sts + 6;
    const char *colon = strchr(acct, ':');
    if (!colon || colon - acct != 12 || strncmp(colon + 1, "assumed-role/", 13) != 0) return NULL;
    for (const char *c = acct; c < colon; c++)
        if (!isdigit((unsigned char)*c)) return NULL;
    const char *name = colon + 14, *slash = strchr(name, '/');
    if (!slash || slash == name) return NULL;
    *role = fbk_xstrndup(name, (size_t)(slash - name));
    return fbk_xasprintf("%.*s:iam::%.*s:role/%s", (int)(sts - arn), arn, 12, acct, *role);
}

fb_status aws_attest(aws_ctx *ctx, const json_t *in, json_t **out, fb_diag *diag)
{
    *out = NULL;
    const json_t *proof = json_object_get(in, "proof");
    const char *server_id = aws_str(in, "serverId");
    if (!json_is_object(proof) || !server_id || !*server_id)
        return refuse(diag, "the input needs proof (an object) and serverId", NULL);
    const char *method = aws_str(proof, "method"), *url = aws_str(proof, "url");
    const char *body = aws_str(proof, "body");
    const json_t *headers = json_object_get(proof, "headers");
    if (!method || strcmp(method, "POST") != 0) return refuse(diag, "method must be POST", NULL);
    if (!url || !sts_url_ok(ctx, url))
        return refuse(diag, "url must be the STS endpoint this broker uses (the global one, a configured "
                            "region's, or drivers.aws.endpoints.sts), not ", url ? url : "(none)");
    if (!body || !body_ok(body))
        return refuse(diag, "body must be Action=GetCallerIdentity&Version=2011-06-15", NULL);
    if (!json_is_object(headers)) return refuse(diag, "headers must be an object of strings", NULL);
    size_t nh = json_object_size(headers);
    if (nh > 16) return refuse(diag, "too many headers", NULL);
    fb_http_header *h = fbk_xcalloc(nh ? nh : 1, sizeof *h);
    const char *auth = NULL, *sid = NULL, *token = NULL;
    size_t k = 0;
    const char *name;
    json_t *v;
    fb_status st = FB_OK;
    json_object_foreach((json_t *)headers, name, v) {
        if (!json_is_string(v)) {
            st = refuse(diag, "a header value is not a string: ", name);
            break;
        }
        if (!header_allowed(name)) {
            st = refuse(diag, "a header STS does not need: ", name);
            break;
        }
        if (!strcasecmp(name, "host")) continue; /* the URL's; checked by the signature */
        if (!strcasecmp(name, "authorization")) auth = json_string_value(v);
        if (!strcasecmp(name, AWS_SERVER_ID_HEADER_LC)) sid = json_string_value(v);
        if (!strcasecmp(name, "x-amz-security-token")) token = json_string_value(v);
        h[k++] = (fb_http_header){name, json_string_value(v)};
    }
    if (st == FB_OK && (!auth || strncmp(auth, "AWS4-HMAC-SHA256 ", 17) != 0))
        st = refuse(diag, "no SigV4 Authorization header (AWS4-HMAC-SHA256)", NULL);
    if (st == FB_OK && (!sid || strcmp(sid, server_id) != 0))
        st = refuse(diag, AWS_SERVER_ID_HEADER " must be this broker's issuer, ", server_id);
    if (st == FB_OK && (!signed_header(auth, AWS_SERVER_ID_HEADER_LC) || !signed_header(auth, "host")))
        st = refuse(diag, "the signature must cover host and " AWS_SERVER_ID_HEADER_LC, NULL);
    if (st != FB_OK) {
        free(h);
        return st;
    }
    /* the signature and the session token are the workload's credentials
     * for as long as the request is valid: never shown */
    const char *sig = strstr(auth, "Signature=");
    const char *secrets[2];
    size_t ns = 0;
    if (sig) secrets[ns++] = sig + 10;
    if (token) secrets[ns++] = token;
    fb_http_request req = {.struct_size = sizeof req, .method = "POST", .url = url, .headers = h,
                           .n_headers = k, .body = body, .body_len = strlen(body),
                           .flags = FB_HTTP_READ_ONLY, .service = "sts", .secrets = secrets,
                           .n_secrets = ns};
    fb_http_response resp;
    st = aws_host->http(diag, &req, &resp);
    free(h);
    if (st != FB_OK) return st;
    char *code = NULL, *message = NULL;
    fb_status err = fbk_aws_error(&resp, &code, &message);
    if (err != FB_OK) {
        /* STS's own words: an expired or changed signature, an unknown key */
        /* the message's first line only: STS quotes the canonical request
         * after it, which holds the session token */
        int mlen = message ? (int)strcspn(message, "\r\n") : 0;
        if (mlen > 200) mlen = 200;
        fbk_diag(aws_host, diag, FB_SEV_ERROR, NULL,
                 "aws: STS refused the workload's GetCallerIdentity request: HTTP %ld %s%s%.*s",
                 resp.status, code ? code : "", message ? ": " : "", mlen, message ? message : "");
        free(code);
        free(message);
        aws_host->http_free(&resp);
        return err == FB_RETRYABLE || err == FB_QUOTA ? err : FB_AUTH;
    }
    fbk_xml *x = NULL;
    char *xerr = NULL;
    if (fbk_xml_parse(resp.body ? resp.body : "", resp.body_len, &x, &xerr) != 0) {
        fbk_diag(aws_host, diag, FB_SEV_ERROR, NULL, "aws: STS GetCallerIdentity answered with XML that "
                 "cannot be read\n%s", xerr);
        free(xerr);
        aws_host->http_free(&resp);
        return FB_INTERNAL;
    }
    aws_host->http_free(&resp);
    const char *arn = fbk_xml_text(x, "GetCallerIdentityResponse/GetCallerIdentityResult/Arn");
    char *role = NULL;
    char *role_arn = arn ? role_of_session(arn, &role) : NULL;
    if (!role_arn) {
        st = refuse(diag, "the caller is not a role session (a user's or the account's own credentials "
                          "are no workload's identity): ", arn ? arn : "(no Arn in the answer)");
    } else if (strncmp(role, "fb-", 3) != 0) {
        /* fbc- roles are made for calling one workload (iam.c); any other
         * role is not one the broker made for a workload */
        st = refuse(diag, "the caller's role is not a workload's identity role (fb-TENANT-NAME): ", role);
    } else {
        *out = json_pack("{s:{s:s,s:s},s:s}", "resource", "type", "iam-role", "id", role_arn, "caller", arn);
    }
    free(role);
    free(role_arn);
    fbk_xml_free(x);
    return st;
}
