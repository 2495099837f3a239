/* gcp_attest.c - a workload on Cloud Run or Cloud Functions proves to
 * `fedbroker serve` that it runs as its service account (ABI 1.3 attest;
 * docs/identity.md, "A workload's own token"). The proof is what Google
 * gives every workload without a key: a Google-signed ID token of the
 * account the service runs as, from the metadata server
 *   .../instance/service-accounts/default/identity?audience=TOKEN-URL&format=full
 * Its audience is the broker's token endpoint, so an ID token made for
 * anything else (a Cloud Run service, another broker) is no proof here, and
 * one stolen from the broker's endpoint is good at this broker only.
 *
 * Checked, as Google's own libraries check an ID token
 * (google.oauth2.id_token.verify_token) and more:
 *  - an RS256 JWS whose kid names one of Google's current certificates
 *    (settings.certsUrl, default https://www.googleapis.com/oauth2/v1/certs,
 *    fetched for each proof: Google rotates them every few days) and whose
 *    signature verifies with that certificate's key;
 *  - iss https://accounts.google.com (or accounts.google.com), aud the
 *    token URL, iat not in the future and exp not past (60 s of skew each
 *    way), at most 1 h between them (Google's are 1 h);
 *  - email the account, email_verified true; the account is one this
 *    driver makes for a workload (fb-..., in the configured project), not a
 *    caller account made for calling one workload (fbc-...);
 *  - the account exists now and its uniqueId is the token's sub (IAM
 *    serviceAccounts.get with the broker's credentials, read-only): a token
 *    of a deleted account, or of an older account of the same email, is
 *    refused. The broker then maps the account to the workload whose apply
 *    recorded it (gcp-service-account).
 *
 * Thread notes: reads ctx only; host->http and ctx->auth are thread-safe. */
#include "config.h"
#include "gcp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SKEW_S 60
#define MAX_LIFE_S 3600
#define SA_TYPE "gcp-service-account"

static fb_status refuse(fb_diag *diag, const char *fmt, const char *arg)
{
    fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL,
             "gcp: the identity proof is refused: %s%s\n"
             "Send {\"idToken\": ...}: the ID token of the account the service runs as, from the metadata "
             "server (instance/service-accounts/default/identity?audience=FEDBROKER_TOKEN_URL&format=full) "
             "(docs/identity.md).",
             fmt, arg ? arg : "");
    return FB_AUTH;
}

/* Google's certificates {kid: PEM} (new), or NULL with a diagnostic. */
static fb_status fetch_certs(fb_driver_ctx *ctx, fb_diag *diag, json_t **certs)
{
    *certs = NULL;
    fb_http_header h[] = {{"Accept", "application/json"}};
    fb_http_request req = {.struct_size = sizeof req, .method = "GET", .url = ctx->certs_url, .headers = h,
                           .n_headers = 1, .flags = FB_HTTP_READ_ONLY, .service = "oauth2certs"};
    fb_http_response resp;
    fb_status st = gcp_host->http(diag, &req, &resp);
    if (st != FB_OK) return st;
    json_t *o = resp.status == 200 ? json_loadb(resp.body ? resp.body : "", resp.body_len, 0, NULL) : NULL;
    if (!json_is_object(o)) {
        fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL,
                 "gcp: Google's ID token certificates at %s could not be read (HTTP %ld)\n"
                 "Check settings.certsUrl (an object of key id -> PEM certificate, as "
                 "https://www.googleapis.com/oauth2/v1/certs answers).",
                 ctx->certs_url, resp.status);
        json_decref(o);
        st = resp.status >= 500 || resp.status == 429 || resp.status == 0 ? FB_RETRYABLE : FB_INTERNAL;
    } else {
        *certs = o;
    }
    gcp_host->http_free(&resp);
    return st;
}

/* Is email an account this driver makes for a workload in its project:
 * fb-...@PROJECT.iam.gserviceaccount.com (fbc- accounts are callers'). */
static int workload_account(fb_driver_ctx *ctx, const char *email)
{
    char *dom = fbk_xasprintf("@%s.iam.gserviceaccount.com", ctx->project);
    const char *at = strchr(email, '@');
    int ok = at && !strcmp(at, dom) && !strncmp(email, "fb-", 3) && at - email <= 30;
    free(dom);
    return ok;
}

/* The claims' checks (time, issuer, audience, email) after the signature. */
static fb_status check_claims(fb_driver_ctx *ctx, const json_t *cl, const char *aud, fb_diag *diag)
{
    const char *iss = json_string_value(json_object_get(cl, "iss"));
    const json_t *a = json_object_get(cl, "aud");
    const json_t *iat = json_object_get(cl, "iat"), *exp = json_object_get(cl, "exp");
    const char *email = json_string_value(json_object_get(cl, "email"));
    int64_t now = gcp_host->now();
    if (!iss || (strcmp(iss, "https://accounts.google.com") != 0 && strcmp(iss, "accounts.google.com") != 0))
        return refuse(diag, "the token's issuer is not accounts.google.com: ", iss ? iss : "(none)");
    if (!json_is_string(a) || strcmp(json_string_value(a), aud) != 0)
        return refuse(diag, "the token's audience is not this broker's token URL ", aud);
    if (!json_is_integer(iat) || !json_is_integer(exp))
        return refuse(diag, "the token has no iat or exp", NULL);
    json_int_t i = json_integer_value(iat), e = json_integer_value(exp);
    if (i > now + SKEW_S) return refuse(diag, "the token is issued in the future (iat)", NULL);
    if (e <= now - SKEW_S) return refuse(diag, "the token has expired (exp)", NULL);
    if (e <= i || e - i > MAX_LIFE_S) return refuse(diag, "the token lives longer than 1 h (exp - iat)", NULL);
    if (!email) return refuse(diag, "the token has no email (ask the metadata server with format=full)", NULL);
    if (!json_is_true(json_object_get(cl, "email_verified")))
        return refuse(diag, "the token's email is not verified", NULL);
    if (!workload_account(ctx, email))
        return refuse(diag, "the account is not a workload's identity (fb-...@PROJECT.iam.gserviceaccount.com "
                            "in the configured project): ", email);
    return FB_OK;
}

fb_status gcp_attest(fb_driver_ctx *ctx, const json_t *in, json_t **out, fb_diag *diag)
{
    *out = NULL;
    const json_t *proof = json_object_get(in, "proof");
    const char *aud = json_string_value(json_object_get(in, "tokenUrl"));
    const char *tok = json_string_value(json_object_get(proof, "idToken"));
    if (!aud || !*aud)
        return refuse(diag, "the broker has no token URL (identity.tokenUrl), the audience an ID token "
                            "must name", NULL);
    if (!json_is_object(proof) || !tok) return refuse(diag, "the proof must be {\"idToken\": ...}", NULL);
    if (json_object_size(proof) != 1) return refuse(diag, "the proof holds more than idToken", NULL);
    json_t *hdr = NULL, *cl = NULL, *certs = NULL, *live = NULL;
    unsigned char *sig = NULL;
    size_t sig_len = 0, signed_len = 0;
    char *err = NULL;
    fb_status st = FB_OK;
    if (strlen(tok) > 8192 || fbk_jwt_split(tok, &hdr, &cl, &sig, &sig_len, &signed_len, &err) != 0) {
        st = refuse(diag, err ? err : "the token is longer than 8 KiB", NULL);
        goto done;
    }
    const char *alg = json_string_value(json_object_get(hdr, "alg"));
    const char *kid = json_string_value(json_object_get(hdr, "kid"));
    if (!alg || strcmp(alg, "RS256") != 0) {
        st = refuse(diag, "the token is not signed with RS256, as Google signs ID tokens", NULL);
        goto done;
    }
    if (!kid) {
        st = refuse(diag, "the token's header has no kid", NULL);
        goto done;
    }
    st = fetch_certs(ctx, diag, &certs);
    if (st != FB_OK) goto done;
    const char *pem = json_string_value(json_object_get(certs, kid));
    if (!pem) {
        st = refuse(diag, "the token's kid is none of Google's current certificates: ", kid);
        goto done;
    }
    int v = fbk_rs256_verify_cert(pem, tok, signed_len, sig, sig_len, &err);
    if (v < 0) {
        fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL, "gcp: Google's certificate %s cannot be used: %s", kid, err);
        st = FB_INTERNAL;
        goto done;
    }
    if (v == 0) {
        st = refuse(diag, "the token's signature does not verify with Google's certificate ", kid);
        goto done;
    }
    st = check_claims(ctx, cl, aud, diag);
    if (st != FB_OK) goto done;
    const char *email = json_string_value(json_object_get(cl, "email"));
    const char *sub = json_string_value(json_object_get(cl, "sub"));
    char *name = fbk_xasprintf("projects/%s/serviceAccounts/%s", ctx->project, email);
    int found = 0;
    st = gcp_get(ctx, diag, GCP_API_IAM, "serviceAccounts.get", name, &live, &found);
    if (st == FB_OK && !found) {
        st = refuse(diag, "the account no longer exists: ", email);
    } else if (st == FB_OK) {
        const char *uid = json_string_value(json_object_get(live, "uniqueId"));
        if (!sub || !uid || strcmp(sub, uid) != 0)
            st = refuse(diag, "the token's sub is not the account's uniqueId (an account deleted and made "
                              "again under the same email): ", email);
        else if (json_is_true(json_object_get(live, "disabled")))
            st = refuse(diag, "the account is disabled: ", email);
        else
            *out = json_pack("{s:{s:s,s:s},s:s}", "resource", "type", SA_TYPE, "id", name, "caller", email);
    } else if (st != FB_RETRYABLE && st != FB_QUOTA) {
        st = FB_INTERNAL; /* the broker's own IAM read failed: not the workload's fault */
    }
    free(name);
done:
    free(err);
    free(sig);
    json_decref(hdr);
    json_decref(cl);
    json_decref(certs);
    json_decref(live);
    return st;
}
