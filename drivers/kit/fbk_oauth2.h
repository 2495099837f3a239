/*
 * fbk_oauth2.h - OAuth2 bearer tokens for drivers: exchange a credential
 * at a token endpoint (RFC 6749 section 4 and 5: a form POST answered with
 * {"access_token", "expires_in", ...}), cache the token, and send requests
 * with "Authorization: Bearer <token>". Part of the driver kit (prefix
 * fbk_); see fbk.h for the memory rules.
 *
 * Grants seen so far: IBM Cloud IAM's API-key grant
 * (grant_type=urn:ibm:params:oauth:grant-type:apikey&apikey=KEY), Google's
 * JWT-bearer grant for service accounts (grant_type=urn:ietf:params:oauth:
 * grant-type:jwt-bearer&assertion=JWT) and refresh-token grant for user
 * credentials (grant_type=refresh_token&client_id&client_secret&
 * refresh_token). The caller builds the form; the kit sends it, caches the
 * answer and redacts.
 *
 * Cache: keyed by (token URL, credential id, scope), the key kept only as
 * a SHA-256. A token is reused until 80% of its lifetime (expires_in, read
 * at host->now() when it was obtained) has passed, then exchanged again; a
 * token without expires_in is not reused. A 401 from a request sent with a
 * cached token drops it and the request is sent once more with a fresh one.
 *
 * Threads: verbs run concurrently on one ctx from up to 64 threads, so a
 * cache is shared by them and guarded by a mutex. When several threads
 * need the same token at once, one exchanges and the others wait for its
 * answer (one request to the token endpoint, not 64). Exchanges for other
 * keys proceed in parallel.
 *
 * Secrets: the form fields marked secret, their percent-encoded forms and
 * every token are passed to the host as request secrets, so the host
 * redacts them in logs, dry-run output and echoed error bodies; response
 * bodies that held a token are wiped. In a dry run (host->dry_run) the
 * exchange is shown but nothing is sent, and the token is the placeholder
 * FBK_OAUTH2_DRY_TOKEN (never cached).
 */
#ifndef FBK_OAUTH2_H
#define FBK_OAUTH2_H

#include "fbk.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The token a dry run uses in place of one it could not fetch. */
#define FBK_OAUTH2_DRY_TOKEN "<OAuth2 access token>"

/* One field of the token request's form (application/x-www-form-urlencoded). */
typedef struct fbk_oauth2_field {
    const char *name;  /* borrowed */
    const char *value; /* borrowed */
    int secret;        /* 1: redact the value (API key, assertion, client secret) */
} fbk_oauth2_field;

/* A token request: where, with what, and how to talk about it. */
typedef struct fbk_oauth2_grant {
    const char *token_url;      /* http(s) token endpoint */
    /* What identifies the credential in the cache: a key id, a client
     * email, or the secret itself (only a hash of it is kept). */
    const char *credential_id;
    const char *scope;          /* "" or NULL when the grant has none; part of the key */
    const fbk_oauth2_field *fields;
    size_t n_fields;
    const char *service;        /* host->http label, e.g. "ibm-iam" */
    const char *what;           /* for messages: "IBM Cloud IAM" */
    const char *credential;     /* for messages: "the API key" */
    const char *hint;           /* what to do when the credential is refused */
} fbk_oauth2_grant;

typedef struct fbk_token_cache fbk_token_cache;

/* A new, empty cache (fbk_token_cache_free wipes and frees it). Create
 * one per driver context in configure. */
fbk_token_cache *fbk_token_cache_new(void);
void fbk_token_cache_free(fbk_token_cache *c);

/* A bearer token for g: the cached one while it is young enough, else a
 * fresh exchange. *token is new (fbk_free_secret). Statuses: FB_AUTH (the
 * endpoint refused the credential: 400/401/403), FB_RETRYABLE (429, 5xx,
 * transport), FB_INTERNAL (a 2xx without access_token), each with a
 * diagnostic that never quotes a secret. */
fb_status fbk_oauth2_token(fbk_token_cache *c, const fb_host *host, fb_diag *diag,
                           const fbk_oauth2_grant *g, char **token);

/* One exchange at g's token endpoint, without the cache (a form POST;
 * in a dry run the host records it and *token is FBK_OAUTH2_DRY_TOKEN).
 * *token new (fbk_free_secret), *lifetime_s the answer's expires_in (0
 * when it gave none). Statuses as fbk_oauth2_token's. */
fb_status fbk_oauth2_exchange(const fb_host *host, fb_diag *diag, const fbk_oauth2_grant *g,
                              char **token, int64_t *lifetime_s);

/* A token source that is not one form POST (a JWT assertion signed for
 * each exchange, an STS exchange followed by impersonation, a metadata
 * server GET): sets *token (new) and *lifetime_s (seconds it is valid for;
 * 0 = do not reuse it), or returns a non-OK status with a diagnostic. ud
 * is the caller's. */
typedef fb_status (*fbk_token_fetch_fn)(void *ud, const fb_host *host, fb_diag *diag,
                                        char **token, int64_t *lifetime_s);

/* The cache around any fetch: the token cached under (url, credential_id,
 * scope) while it is young enough (80% of its lifetime, host clock), else
 * fetch() called by one thread while the others needing the same key wait
 * for it (single flight). *token new (fbk_free_secret); *cached (may be
 * NULL) says it came from the cache. No dry-run handling: a caller that
 * must not fetch in a dry run does not call this then. */
fb_status fbk_token_cache_get(fbk_token_cache *c, const fb_host *host, fb_diag *diag, const char *url,
                              const char *credential_id, const char *scope, fbk_token_fetch_fn fetch,
                              void *ud, char **token, int *cached);

/* Drops the token cached under (url, credential_id, scope). */
void fbk_token_cache_drop(fbk_token_cache *c, const char *url, const char *credential_id,
                          const char *scope);

/* Drops the cached token for g (after the API refused it). */
void fbk_oauth2_forget(fbk_token_cache *c, const fbk_oauth2_grant *g);

/* Sends req (borrowed) through host->http with "Authorization: Bearer
 * TOKEN" appended to its headers and TOKEN appended to its secrets. On
 * FB_OK resp holds the answer (host->http_free). */
fb_status fbk_bearer_send(const fb_host *host, fb_diag *diag, const char *token,
                          const fb_http_request *req, fb_http_response *resp);

/* fbk_oauth2_token + fbk_bearer_send; a 401 answer to a cached token
 * forgets it and sends once more with a fresh one. */
fb_status fbk_oauth2_send(fbk_token_cache *c, const fb_host *host, fb_diag *diag,
                          const fbk_oauth2_grant *g, const fb_http_request *req,
                          fb_http_response *resp);

#ifdef __cplusplus
}
#endif

#endif /* FBK_OAUTH2_H */
