/*
 * fbk_google.h - Google credentials for drivers: Application Default
 * Credentials (ADC), the four kinds of credential they find, the RS256 JWT
 * a service-account key signs, and Google-authenticated requests. Part of
 * the driver kit (prefix fbk_); see fbk.h for the memory rules. Built on
 * fbk_oauth2.h (the token cache, its 80% rule, single flight, the form
 * exchange and its redaction).
 *
 * Where credentials come from (fbk_gcred_find), in google-auth's order,
 * after one source google-auth does not have:
 *  0. an access token in GOOGLE_OAUTH_ACCESS_TOKEN, minted elsewhere (as
 *     Terraform's Google provider reads it): sent as it is, never
 *     refreshed (a CI system's short-lived token; the conformance kit);
 *  1. the file GOOGLE_APPLICATION_CREDENTIALS names;
 *  2. gcloud's ADC file, $CLOUDSDK_CONFIG/application_default_credentials.json
 *     or ~/.config/gcloud/application_default_credentials.json;
 *  3. the metadata server, only when on Google Cloud: GCE_METADATA_HOST (or
 *     the older GCE_METADATA_ROOT) is set, or metadata.google.internal
 *     answers GET / with the header Metadata-Flavor: Google (not probed in a
 *     dry run, where the host sends nothing: there the machine counts as on
 *     Google Cloud when /sys/class/dmi/id/product_name says Google, as
 *     google-auth's residency check does, or K_SERVICE / CLOUD_RUN_JOB say
 *     it is Cloud Run; NO_GCE_CHECK=true skips it).
 * A file that exists but is malformed, or of a kind not supported, stops
 * the search with its own error (file and JSON member named, never a
 * secret quoted); when nothing is found the one error lists every source
 * tried and why it did not apply.
 *
 * The kinds (the file's "type"):
 *  - service_account: an RS256 JWT assertion {iss: client_email, scope,
 *    aud: token_uri, iat, exp = iat + 3600} with kid = private_key_id,
 *    signed with the PEM private_key through OpenSSL and exchanged at
 *    token_uri (RFC 7523: grant_type=urn:ietf:params:oauth:grant-type:
 *    jwt-bearer&assertion=JWT);
 *  - authorized_user: grant_type=refresh_token with client_id,
 *    client_secret and refresh_token at token_uri (default
 *    https://oauth2.googleapis.com/token);
 *  - external_account (workload identity federation): a subject token from
 *    credential_source.file, .url (with .headers) or an AWS environment
 *    (environment_id "aws1": a GetCallerIdentity request signed with the
 *    kit's SigV4 using AWS_* environment credentials or the EC2 metadata
 *    service, serialized as google-auth does), in format text or json
 *    (subject_token_field_name); exchanged at token_url (STS, RFC 8693:
 *    grant_type=urn:ietf:params:oauth:grant-type:token-exchange, audience,
 *    scope, requested_token_type access_token, subject_token,
 *    subject_token_type); then, with service_account_impersonation_url,
 *    generateAccessToken ({"scope": [...], "lifetime": "Ns"}) with the STS
 *    token;
 *  - the metadata server: GET .../instance/service-accounts/default/token
 *    ?scopes=SCOPE with Metadata-Flavor: Google.
 * Not supported (a clear error): impersonated_service_account ADC files,
 * external_account_authorized_user, executable-sourced and X.509/mTLS
 * subject tokens, workforce pools' user project aside from passing it.
 *
 * Tokens are cached per credential and scope in an fbk_token_cache
 * (fbk_oauth2.h) until 80% of their lifetime. Tokens, keys, assertions,
 * refresh tokens, client secrets and subject tokens are request secrets
 * (the host redacts them) and never appear in diagnostics. In a dry run no
 * token is fetched (the exchange is not part of what is shown): requests
 * carry "Authorization: Bearer " + FBK_GOOGLE_DRY_TOKEN, registered as a
 * secret, so the output shows the host's redaction in its place.
 *
 * Threads: an fbk_gauth is shared by the verbs of one driver context,
 * which run on up to 64 threads; it guards itself. fbk_gcred values belong
 * to their caller.
 */
#ifndef FBK_GOOGLE_H
#define FBK_GOOGLE_H

#include "fbk.h"
#include "fbk_oauth2.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FBK_GOOGLE_SCOPE_CLOUD "https://www.googleapis.com/auth/cloud-platform"
#define FBK_GOOGLE_TOKEN_URI "https://oauth2.googleapis.com/token"
#define FBK_GOOGLE_STS_URI "https://sts.googleapis.com/v1/token"
/* What stands in for the access token in a dry run (a request secret). */
#define FBK_GOOGLE_DRY_TOKEN "ya29.dry-run-no-token-was-fetched"

typedef enum fbk_gcred_type {
    FBK_GCRED_NONE = 0,
    FBK_GCRED_SERVICE_ACCOUNT,
    FBK_GCRED_AUTHORIZED_USER,
    FBK_GCRED_EXTERNAL_ACCOUNT,
    FBK_GCRED_METADATA,
    FBK_GCRED_ACCESS_TOKEN   /* GOOGLE_OAUTH_ACCESS_TOKEN */
} fbk_gcred_type;

/* Where an external account's subject token comes from. */
typedef enum fbk_gsubject_kind {
    FBK_GSUBJECT_FILE = 1,
    FBK_GSUBJECT_URL,
    FBK_GSUBJECT_AWS
} fbk_gsubject_kind;

/* One credential. Every string is new (fbk_gcred_clear wipes and frees);
 * fields that do not apply to the type are NULL. */
typedef struct fbk_gcred {
    fbk_gcred_type type;
    char *source;          /* where it was found, for messages (no secret) */
    char *project_id;      /* project_id or quota_project_id of the file, or NULL */
    char *token_uri;       /* service_account, authorized_user: the token endpoint */
    /* service_account */
    char *client_email;
    char *private_key_id;
    char *private_key;     /* PEM; secret */
    /* authorized_user */
    char *client_id;
    char *client_secret;   /* secret */
    char *refresh_token;   /* secret */
    /* external_account */
    char *audience;
    char *subject_token_type;
    char *sts_url;         /* token_url */
    char *impersonation_url; /* service_account_impersonation_url or NULL */
    int64_t impersonation_lifetime; /* seconds (service_account_impersonation.token_lifetime_seconds, 3600) */
    char *workforce_user_project;
    fbk_gsubject_kind subject_kind;
    char *subject_file;    /* FILE */
    char *subject_url;     /* URL; AWS: the security-credentials URL (IMDS) or NULL */
    json_t *subject_headers; /* URL: {name: value} or NULL */
    int subject_json;      /* format type json (else text) */
    char *subject_field;   /* json: subject_token_field_name */
    char *aws_region_url;  /* AWS: the availability-zone URL (IMDS) or NULL */
    char *aws_verify_url;  /* AWS: regional_cred_verification_url ({region} placeholder) */
    char *aws_imdsv2_url;  /* AWS: imdsv2_session_token_url or NULL */
    /* metadata server */
    char *metadata_host;   /* host[:port] */
    /* an access token given as it is */
    char *access_token;    /* secret */
} fbk_gcred;

/* Parses a credentials file's text (borrowed; len bytes) found at source
 * (a file name for messages). 0 with *out filled, or -1 with *err (new)
 * naming the source, the member (e.g. "credential_source.format.type") and
 * what is wrong or not supported; secrets are never quoted. */
int fbk_gcred_parse(const char *text, size_t len, const char *source, fbk_gcred *out, char **err);

/* Wipes and frees c's strings (NULL-safe); c is left zeroed. */
void fbk_gcred_clear(fbk_gcred *c);

/* Options of the search. */
typedef struct fbk_gcred_opts {
    const char *home;   /* NULL = $HOME (for ~/.config/gcloud) */
    int no_network;     /* 1: do not probe the metadata server (validate; a dry run never does) */
} fbk_gcred_opts;

/* Finds the Application Default Credentials in the order above. FB_OK with
 * *out (fbk_gcred_clear); FB_AUTH with one diagnostic listing every source
 * tried when there are none; FB_INVALID for a malformed or unsupported file
 * (the search stops there). */
fb_status fbk_gcred_find(const fb_host *host, fb_diag *diag, const fbk_gcred_opts *o, fbk_gcred *out);

/* base64url without padding (RFC 7515 section 2) of data. new (free()). */
char *fbk_base64url(const void *data, size_t len);

/* A JWS compact serialization BASE64URL(header).BASE64URL(claims).SIG
 * signed with RS256 (RSASSA-PKCS1-v1_5 over SHA-256) by pem_key, a PEM RSA
 * private key (PKCS#8 "PRIVATE KEY" as Google's key files hold, or PKCS#1).
 * header_json and claims_json are sent as given. 0 with *jwt (new; a
 * secret: fbk_free_secret), or -1 with *err (new; no key material). */
int fbk_jwt_rs256(const char *pem_key, const char *header_json, const char *claims_json, char **jwt,
                  char **err);

/* base64url (RFC 4648 section 5; '=' padding optional) of s (len bytes)
 * decoded: new buffer of *n bytes plus a NUL (free()), or NULL when s is
 * not base64url. */
unsigned char *fbk_base64url_decode(const char *s, size_t len, size_t *n);

/* A JWS compact serialization split and read, nothing verified yet:
 * *header and *claims the decoded JSON objects (new), *sig the decoded
 * signature (new, *sig_len bytes), *signed_len the length of the signing
 * input (BASE64URL(header) "." BASE64URL(claims), a prefix of jwt). 0, or
 * -1 with *err (new; says which part is malformed, never repeats jwt). */
int fbk_jwt_split(const char *jwt, json_t **header, json_t **claims, unsigned char **sig, size_t *sig_len,
                  size_t *signed_len, char **err);

/* Whether sig is an RS256 signature (RSASSA-PKCS1-v1_5 over SHA-256) of
 * data by the RSA key of cert_pem, a PEM X.509 certificate (as Google
 * publishes its ID-token keys at oauth2/v1/certs). 1 valid, 0 not, -1 with
 * *err (new) when the certificate is unusable (not PEM, not RSA). Only the
 * key is used: Google's certificates are self-signed carriers of it. */
int fbk_rs256_verify_cert(const char *cert_pem, const void *data, size_t n, const unsigned char *sig,
                          size_t sig_len, char **err);

/* The assertion of a service-account credential for scope at time now
 * (header {"alg":"RS256","typ":"JWT","kid":private_key_id}, claims {iss,
 * scope, aud: token_uri, iat: now, exp: now + 3600}). As fbk_jwt_rs256. */
int fbk_gcred_assertion(const fbk_gcred *c, const char *scope, int64_t now, char **jwt, char **err);

/* Google auth for one driver context. */
typedef struct fbk_gauth fbk_gauth;

typedef struct fbk_gauth_opts {
    const char *scope;    /* NULL = FBK_GOOGLE_SCOPE_CLOUD */
    const char *home;     /* NULL = $HOME */
    const char *service;  /* host->http label of token requests, NULL = "google-auth" */
} fbk_gauth_opts;

/* A new auth object (no I/O: credentials are found on first use).
 * Options are copied. fbk_gauth_free wipes and frees it. */
fbk_gauth *fbk_gauth_new(const fbk_gauth_opts *o);
void fbk_gauth_free(fbk_gauth *a);

/* Checks that credentials can be found, without fetching a token or
 * probing the network (validate in dry-run/apply mode). FB_OK, or the
 * status and diagnostic of fbk_gcred_find. *what (may be NULL) gets a new
 * description of the credential found ("service account X from FILE"). */
fb_status fbk_gauth_check(fbk_gauth *a, const fb_host *host, fb_diag *diag, char **what);

/* An access token for the configured scope: cached, or fetched from the
 * credential found (once per context; a failed search is not cached). In
 * a dry run FBK_GOOGLE_DRY_TOKEN without any request. *token new
 * (fbk_free_secret). Statuses: FB_AUTH (none found, or refused: the
 * diagnostic says which credential and what to do), FB_INVALID (malformed
 * file), FB_RETRYABLE (an endpoint unreachable or 429/5xx), FB_INTERNAL
 * (an answer without a token). */
fb_status fbk_gauth_token(fbk_gauth *a, const fb_host *host, fb_diag *diag, char **token);

/* Sends req (borrowed) with "Authorization: Bearer TOKEN" (TOKEN among the
 * request's secrets). A 401 to a cached token drops it and sends once more
 * with a fresh one. On FB_OK resp holds the answer (host->http_free). */
fb_status fbk_gauth_send(fbk_gauth *a, const fb_host *host, fb_diag *diag, const fb_http_request *req,
                         fb_http_response *resp);

#ifdef __cplusplus
}
#endif

#endif /* FBK_GOOGLE_H */
