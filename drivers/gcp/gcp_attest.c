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
 *    cached for their max-age and refetched for an unknown kid, see below:
 *    Google rotates them every few days) and whose
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
 * Thread notes: reads ctx only, but for ctx->certs, which takes its own
 * lock; host->http and ctx->auth are thread-safe. */
#include "config.h"
#include "gcp.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* ---- Google's certificates, cached ------------------------------------------------
 * Google publishes its ID token certificates with Cache-Control: max-age
 * (about 6 h) and rotates them every few days, publishing the next one
 * before it signs. The cache holds one set {kid: PEM} at a time (a refresh
 * replaces it, so it never grows) and serves it until max-age (less the
 * Age header) runs out. A kid the fresh set lacks triggers one refetch (a
 * key newer than the set), but at most once per CERTS_REFETCH_S seconds: a
 * stream of tokens with invented kids must not become a stream of GETs.
 * One lock guards the set and the fetch, so when the set expires under 64
 * concurrent proofs one of them fetches and the others wait for its answer
 * instead of each fetching (a fetch storm). */
#define CERTS_REFETCH_S 10         /* unknown kid: at most one refetch per this */
#define CERTS_MAX_AGE_S (24 * 3600) /* a longer max-age is cut to this */
#define CERTS_MAX_KEYS 16           /* Google publishes 2 or 3 */
#define CERTS_MAX_BYTES (64 * 1024)

struct gcp_certs {
    pthread_mutex_t mu;
    json_t *set;     /* {kid: PEM} (owned) or NULL */
    int64_t expires; /* the set is fresh while fetched <= now < expires */
    int64_t fetched; /* when the last fetch was sent, 0 before any */
};

gcp_certs *gcp_certs_new(void)
{
    gcp_certs *c = fbk_xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

void gcp_certs_free(gcp_certs *c)
{
    if (!c) return;
    json_decref(c->set);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* The value of header name in resp (borrowed), or NULL. */
static const char *resp_header(const fb_http_response *resp, const char *name)
{
    for (size_t i = 0; i < resp->n_headers; i++)
        if (!strcasecmp(resp->headers[i].name, name)) return resp->headers[i].value;
    return NULL;
}

/* How long the answer may be kept, in seconds (RFC 9111 5.2.2: max-age,
 * no-store and no-cache; minus the Age the answer already has, 5.1);
 * 0 when it may not be kept. */
static int64_t cache_life(const fb_http_response *resp)
{
    const char *cc = resp_header(resp, "Cache-Control");
    int64_t life = 0;
    for (const char *p = cc; p && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        size_t n = strcspn(p, ",");
        if ((n == 8 && !strncasecmp(p, "no-store", 8)) || (n >= 8 && !strncasecmp(p, "no-cache", 8))) return 0;
        if (n > 8 && !strncasecmp(p, "max-age=", 8)) {
            char *e = NULL;
            long long v = strtoll(p + 8, &e, 10);
            while (e && (*e == ' ' || *e == '\t')) e++;
            if (e && e > p + 8 && (e == p + n) && v > 0) life = v > CERTS_MAX_AGE_S ? CERTS_MAX_AGE_S : v;
        }
        p += n;
    }
    const char *age = resp_header(resp, "Age");
    if (life > 0 && age) {
        char *e = NULL;
        long long a = strtoll(age, &e, 10);
        if (e && e != age && !*e && a >= 0) life = a >= life ? 0 : life - a;
    }
    return life;
}

/* Fetches Google's certificates into c (locked by the caller): the set
 * replaces the old one on success. */
static fb_status fetch_certs(fb_driver_ctx *ctx, gcp_certs *c, int64_t now, fb_diag *diag)
{
    fb_http_header h[] = {{"Accept", "application/json"}};
    fb_http_request req = {.struct_size = sizeof req, .method = "GET", .url = ctx->certs_url, .headers = h,
                           .n_headers = 1, .flags = FB_HTTP_READ_ONLY, .service = "oauth2certs"};
    fb_http_response resp;
    c->fetched = now;
    fb_status st = gcp_host->http(diag, &req, &resp);
    if (st != FB_OK) return st;
    json_t *o = resp.status == 200 && resp.body_len <= CERTS_MAX_BYTES
                    ? json_loadb(resp.body ? resp.body : "", resp.body_len, 0, NULL)
                    : NULL;
    const char *k;
    json_t *v;
    int ok = json_is_object(o) && json_object_size(o) > 0 && json_object_size(o) <= CERTS_MAX_KEYS;
    json_object_foreach(ok ? o : NULL, k, v) ok = ok && json_is_string(v);
    if (!ok) {
        fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL,
                 "gcp: Google's ID token certificates at %s could not be read (HTTP %ld)\n"
                 "Check settings.certsUrl (an object of 1 to %d key ids -> PEM certificate, at most %d KiB, "
                 "as https://www.googleapis.com/oauth2/v1/certs answers).",
                 ctx->certs_url, resp.status, CERTS_MAX_KEYS, CERTS_MAX_BYTES / 1024);
        json_decref(o);
        st = resp.status >= 500 || resp.status == 429 || resp.status == 0 ? FB_RETRYABLE : FB_INTERNAL;
    } else {
        json_decref(c->set);
        c->set = o;
        c->expires = now + cache_life(&resp);
    }
    gcp_host->http_free(&resp);
    return st;
}

/* The PEM certificate of kid (*pem new, NULL when Google publishes no such
 * kid), from the cache or fetched. Thread-safe. */
static fb_status cert_of(fb_driver_ctx *ctx, const char *kid, char **pem, fb_diag *diag)
{
    *pem = NULL;
    gcp_certs *c = ctx->certs;
    int64_t now = gcp_host->now();
    fb_status st = FB_OK;
    pthread_mutex_lock(&c->mu);
    /* a clock set back makes the set stale rather than fresh for longer */
    int fresh = c->set && now >= c->fetched && now < c->expires;
    const char *got = fresh ? json_string_value(json_object_get(c->set, kid)) : NULL;
    if (!fresh || (!got && (now < c->fetched || now - c->fetched >= CERTS_REFETCH_S))) {
        st = fetch_certs(ctx, c, now, diag);
        got = st == FB_OK ? json_string_value(json_object_get(c->set, kid)) : NULL;
    }
    if (got) *pem = fbk_xstrdup(got);
    pthread_mutex_unlock(&c->mu);
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
    json_t *hdr = NULL, *cl = NULL, *live = NULL;
    char *pem = NULL;
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
    st = cert_of(ctx, kid, &pem, diag);
    if (st != FB_OK) goto done;
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
    free(pem);
    json_decref(live);
    return st;
}
