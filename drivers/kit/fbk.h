/*
 * fbk.h - the driver kit (prefix fbk_): code several drivers share.
 *
 * Built as a libtool convenience library (drivers/kit/libfbkit.la, -fPIC,
 * -fvisibility=hidden) that each driver links statically, so nothing here is
 * exported from a driver's .so and drivers never share state through it.
 *
 * The kit reaches the outside world only through the host table
 * (core/fedbroker/driver.h): host->http, host->now, host->alloc,
 * host->diag_add. The one exception is reading the user's own AWS
 * configuration files (~/.aws/credentials, ~/.aws/config and a web identity
 * token file), which the host has no service for.
 *
 * Memory: unless a comment says "host->alloc", every buffer the kit returns
 * is malloc()ed by the kit and released with the matching fbk_*_free/clear
 * (or free() for plain strings). "borrowed" arguments are only read during
 * the call. Buffers that may hold secrets are wiped before they are freed.
 * Allocation failure aborts the process, as in core (see core/util.h).
 *
 * Errors: small helpers return 0 / -1 and set `char **err` (new, free()) to
 * a message that says what was wrong and what to do; calls that reach the
 * network return an fb_status and add diagnostics to `diag`.
 */
#ifndef FBK_H
#define FBK_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "fedbroker/driver.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define FBK_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define FBK_PRINTF(a, b)
#endif

/* ====================================================================
 * Small helpers (buf.c)
 * ==================================================================== */

/* A growable byte buffer; data is always NUL-terminated after an append. */
typedef struct fbk_buf {
    char *data;
    size_t len;
    size_t cap;
} fbk_buf;

/* Makes b empty (no allocation). */
void fbk_buf_init(fbk_buf *b);
/* Releases b's memory; fbk_buf_wipe also overwrites it first (secrets). */
void fbk_buf_free(fbk_buf *b);
void fbk_buf_wipe(fbk_buf *b);
/* Appends bytes / a C string / one char / printf output (copied). */
void fbk_buf_append(fbk_buf *b, const void *p, size_t n);
void fbk_buf_puts(fbk_buf *b, const char *s);
void fbk_buf_putc(fbk_buf *b, char c);
void fbk_buf_printf(fbk_buf *b, const char *fmt, ...) FBK_PRINTF(2, 3);
void fbk_buf_vprintf(fbk_buf *b, const char *fmt, va_list ap);
/* Hands the data to the caller (new, free(); "" when empty); b is reset. */
char *fbk_buf_steal(fbk_buf *b);

/* Allocation that never returns NULL (aborts on out-of-memory). new. */
void *fbk_xmalloc(size_t n);
void *fbk_xcalloc(size_t n, size_t m);
void *fbk_xrealloc(void *p, size_t n);
char *fbk_xstrdup(const char *s);
char *fbk_xstrndup(const char *s, size_t n);
char *fbk_xasprintf(const char *fmt, ...) FBK_PRINTF(1, 2);
char *fbk_xvasprintf(const char *fmt, va_list ap) FBK_PRINTF(1, 0);

/* Overwrites n bytes at p in a way the compiler cannot drop. */
void fbk_wipe(void *p, size_t n);
/* Wipes and frees a NUL-terminated secret string (NULL is fine). */
void fbk_free_secret(char *s);

/* Lower-case hex of SHA-256(data) into out[65]. */
void fbk_sha256_hex(const void *data, size_t len, char out[65]);

/* HMAC-SHA256 of msg under key into out (32 bytes; all zero only if
 * OpenSSL itself fails, so a signature fails loudly). Both this and
 * fbk_sha256_hex hash with OpenSSL's SHA256_Init/Update/Final on the stack
 * (no allocation, no algorithm lookup: OpenSSL 3's EVP_sha256()/HMAC()
 * looked the algorithm up again, under a lock, per call, and EVP contexts
 * are allocated per digest; bench/README-aws.md). Thread-safe. */
void fbk_hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
                     unsigned char out[32]);

/* Percent-encodes every byte outside RFC 3986's unreserved set
 * (A-Z a-z 0-9 - . _ ~), with upper-case hex; keep_slash leaves '/' as is.
 * Appends to b. */
void fbk_uri_encode(fbk_buf *b, const void *s, size_t n, int keep_slash);

/* Formats Unix seconds as "YYYYMMDDTHHMMSSZ" (out[17]) and as RFC 3339
 * "YYYY-MM-DDTHH:MM:SSZ" (out[21]). */
void fbk_format_amz_date(int64_t t, char out[17]);
void fbk_format_rfc3339(int64_t t, char out[21]);
/* Parses RFC 3339 / ISO 8601 UTC ("2015-08-30T12:36:00Z", fractional
 * seconds and "+00:00" accepted). 0 on success, -1 when malformed. */
int fbk_parse_rfc3339(const char *s, int64_t *t);

/* Checks an endpoint setting: an http:// or https:// URL (lower-case
 * scheme) with a host, no user info, no spaces or control characters.
 * NULL when fine, else a static text saying what is wrong. */
const char *fbk_endpoint_problem(const char *url);

/* ====================================================================
 * AWS Signature Version 4 (sigv4.c)
 * ==================================================================== */

/* A request to sign, as it will be sent. */
typedef struct fbk_http_msg {
    const char *method;            /* "GET", "POST", ... (upper-cased when signing) */
    /* Absolute http(s) URL. The path and query are taken as they go on the
     * wire: the query must already be percent-encoded (raw spaces, '+',
     * control or non-ASCII bytes are refused); see FBK_SIGV4_NO_URI_ENCODE
     * for the path. A fragment is ignored. */
    const char *url;
    const fb_http_header *headers; /* borrowed; duplicates allowed, order kept */
    size_t n_headers;
    const void *body;              /* borrowed; may be NULL when body_len is 0 */
    size_t body_len;
} fbk_http_msg;

/* Query-string ("presigned URL") form instead of the Authorization header. */
#define FBK_SIGV4_PRESIGN          (1u << 0)
/* Use the literal UNSIGNED-PAYLOAD instead of the body's SHA-256. */
#define FBK_SIGV4_UNSIGNED_PAYLOAD (1u << 1)
/* Add and sign x-amz-content-sha256 (S3 style; header form only). */
#define FBK_SIGV4_CONTENT_SHA256   (1u << 2)
/* Do not normalise the path (no removal of "." / ".." segments or of
 * repeated slashes). S3 must not be normalised. */
#define FBK_SIGV4_NO_NORMALIZE     (1u << 3)
/* Take the URL path as the canonical URI without encoding it again.
 * By default every byte of each path segment outside the unreserved set is
 * percent-encoded once more, so a '%' already on the wire becomes "%25":
 * what AWS documents ("encode twice") for every service except S3, and what
 * botocore's SigV4Auth does. S3 encodes once (the wire form). */
#define FBK_SIGV4_NO_URI_ENCODE    (1u << 4)
/* Header form: add X-Amz-Security-Token after signing, outside the signed
 * headers (a few old services want that). By default it is signed. */
#define FBK_SIGV4_TOKEN_UNSIGNED   (1u << 5)
/* S3: no normalisation, no second encoding, x-amz-content-sha256. */
#define FBK_SIGV4_S3 \
    (FBK_SIGV4_NO_NORMALIZE | FBK_SIGV4_NO_URI_ENCODE | FBK_SIGV4_CONTENT_SHA256)

typedef struct fbk_sigv4_params {
    const char *access_key_id;     /* borrowed, required */
    const char *secret_access_key; /* borrowed, required; never copied into outputs */
    const char *session_token;     /* borrowed; NULL or "" when none */
    const char *region;            /* e.g. "us-east-1" */
    const char *service;           /* signing name, e.g. "lambda", "sts", "execute-api" */
    int64_t time;                  /* signing time, Unix seconds (use host->now()) */
    unsigned flags;                /* FBK_SIGV4_* */
    int64_t expires;               /* presign: X-Amz-Expires in seconds, 1..604800 */
    /* Optional lower-case hex SHA-256 of the body when the caller has it
     * (large bodies); NULL = computed from msg->body. */
    const char *payload_hash;
} fbk_sigv4_params;

/* What signing produced. Every string is new (fbk_sigv4_out_free). */
typedef struct fbk_sigv4_out {
    /* Header form: headers to add to the request, in this order when
     * present: X-Amz-Date, X-Amz-Security-Token, X-Amz-Content-SHA256,
     * Authorization. Headers the request already had with the same value are
     * not repeated. Presign: none. Host is signed but not added (the HTTP
     * client sends it from the URL). */
    fb_http_header *headers;
    size_t n_headers;
    char *url;               /* the URL to send (presign: with the auth query) */
    char *canonical_request; /* for tests and debugging; holds no secret key */
    char *string_to_sign;
    char *credential_scope;  /* "20150830/us-east-1/service/aws4_request" */
    char *signed_headers;    /* "host;x-amz-date" */
    char *signature;         /* 64 hex digits */
    char *authorization;     /* header form: the Authorization value; else NULL */
} fbk_sigv4_out;

/*
 * Signs msg. On success returns 0 and fills *out (new; fbk_sigv4_out_free).
 * On failure returns -1, leaves *out empty and sets *err (new) to what is
 * wrong (bad URL, query byte that must be percent-encoded, a header with a
 * line break, an X-Amz-Date header that disagrees with p->time, ...).
 *
 * Canonical request rules (the 2015 AWS test suite and botocore agree):
 *  - method upper-cased;
 *  - URI: see FBK_SIGV4_NO_NORMALIZE / FBK_SIGV4_NO_URI_ENCODE; empty = "/";
 *  - query: each name and value decoded once and re-encoded with the RFC 3986
 *    unreserved set (upper-case hex), pairs sorted by encoded name then
 *    value, "name=" for a parameter without '=';
 *  - headers: every header of msg except User-Agent, Expect and
 *    X-Amzn-Trace-Id (which proxies rewrite), plus Host (from the URL: lower
 *    case, port kept unless it is the scheme's default) and the headers the
 *    signer adds; names lower-cased and sorted, values trimmed with inner
 *    runs of blanks collapsed to one space, duplicate names joined with ","
 *    in their original order;
 *  - payload: x-amz-content-sha256 from msg if present, else
 *    UNSIGNED-PAYLOAD when asked, else p->payload_hash or SHA-256(body).
 * An Authorization header or X-Amz-Signature parameter already in msg is
 * refused (sign the unsigned request).
 */
int fbk_sigv4_sign(const fbk_sigv4_params *p, const fbk_http_msg *msg,
                   fbk_sigv4_out *out, char **err);
/* Wipes and frees everything in out (NULL-safe); out is left zeroed. */
void fbk_sigv4_out_free(fbk_sigv4_out *out);

/* The SigV4 signing key, HMAC chain "AWS4"+secret -> date (YYYYMMDD) ->
 * region -> service -> "aws4_request", into key[32]. Caller wipes it. */
void fbk_sigv4_signing_key(const char *secret, const char *date8,
                           const char *region, const char *service,
                           unsigned char key[32]);

/* ====================================================================
 * Files, INI and XML (ini.c, xml.c)
 * ==================================================================== */

/* Reads a whole regular file (new; wipe it with fbk_free_secret when it may
 * hold secrets) refusing more than max_bytes. On failure returns NULL, sets
 * *err (new) and *errno_out (ENOENT when the file does not exist). */
char *fbk_read_file(const char *path, size_t max_bytes, size_t *len_out, int *errno_out,
                    char **err);
/* The same for a file that must be the regular file at path itself: a final
 * symbolic link is not followed (ELOOP) and a FIFO does not block (it is
 * refused as not a regular file). For files a spec named, read after the
 * spec was validated (drivers/aws/zip.c). */
char *fbk_read_file_nofollow(const char *path, size_t max_bytes, size_t *len_out, int *errno_out,
                             char **err);

/* An INI file as botocore reads ~/.aws/config and ~/.aws/credentials
 * (Python configparser rules): "[section]" headers, "key = value" or
 * "key: value" lines (keys lower-cased, both sides trimmed), full-line
 * comments starting with '#' or ';' (no inline comments), lines indented
 * deeper than their key continue its value (joined with '\n', blank lines
 * inside kept, trailing ones dropped). A key outside any section, a line
 * that is none of these, and a duplicate section or key are refused with
 * "file:line". Stricter than configparser on purpose: text after a
 * section's ']' is refused (configparser ignores it), and section names
 * are trimmed. [DEFAULT] gets no special meaning. */
typedef struct fbk_ini_entry {
    char *section; /* new */
    char *key;     /* new, lower-case */
    char *value;   /* new; wiped when freed */
    int line;      /* 1-based line of the key */
} fbk_ini_entry;

typedef struct fbk_ini {
    char *file;            /* new: the name used in messages */
    fbk_ini_entry *entries;
    size_t n;
    char **sections;       /* new: section names in file order */
    int *section_lines;
    size_t n_sections;
} fbk_ini;

/* Parses text (borrowed). 0, or -1 with *err = "file:line: what is wrong"
 * (new). The offending line's text is never quoted: it may hold a secret. */
int fbk_ini_parse(const char *text, size_t len, const char *file, fbk_ini *out, char **err);
/* Value of key in section, or NULL. borrowed from ini. */
const fbk_ini_entry *fbk_ini_get(const fbk_ini *ini, const char *section, const char *key);
/* Non-zero when the section exists (even empty). */
int fbk_ini_has_section(const fbk_ini *ini, const char *section);
/* Wipes values and frees everything (NULL-safe); ini is left zeroed. */
void fbk_ini_free(fbk_ini *ini);

/* A small, strict XML reader for AWS Query-protocol responses: elements,
 * attributes (parsed and dropped), text, CDATA, comments, the five
 * predefined entities and character references. DOCTYPE, processing
 * instructions after the prolog, mismatched or unclosed tags and stray
 * '<' / '&' are refused. Names are matched by local name (prefix dropped). */
typedef struct fbk_xml {
    char *name;            /* local name, new */
    char *text;            /* concatenated character data, new ("" when none) */
    struct fbk_xml *child; /* first child element */
    struct fbk_xml *next;  /* next sibling */
} fbk_xml;

/* Parses s[0..n). 0 with *out (new, fbk_xml_free), or -1 with *err
 * "line L col C: ..." (new). */
int fbk_xml_parse(const char *s, size_t n, fbk_xml **out, char **err);
/* The element at a '/'-separated path of local names starting with the
 * root's own name ("AssumeRoleResponse/AssumeRoleResult/Credentials"), or
 * NULL. borrowed. */
const fbk_xml *fbk_xml_find(const fbk_xml *root, const char *path);
/* Text of the element at path, or NULL. borrowed. */
const char *fbk_xml_text(const fbk_xml *root, const char *path);
/* Wipes text (responses carry secrets) and frees the tree (NULL-safe). */
void fbk_xml_free(fbk_xml *x);

/* ====================================================================
 * JSON and diagnostics for drivers (json.c)
 * ==================================================================== */

/* Serialises j canonically (sorted keys, compact, as core does) into a
 * host->alloc buffer the host will free: *out is new (host->free).
 * FB_INTERNAL with a diagnostic when j cannot be serialised. */
fb_status fbk_json_out(const fb_host *host, fb_diag *diag, const json_t *j, char **out);

/* Parses JSON text handed to the driver. On error adds a diagnostic that
 * names what (e.g. "input") with line:column and returns FB_INVALID.
 * *out is new (json_decref). */
fb_status fbk_json_in(const fb_host *host, fb_diag *diag, const char *what, const char *text,
                      json_t **out);

/* The inputs a driver's validate parsed and checked, kept for the apply
 * that follows it with the same text: the host calls validate and then
 * apply with one input (docs/driver-abi.md), and parsing it was a sixth of
 * a Lambda apply's CPU (bench/README-aws.md). Keyed by the exact bytes, so
 * a hit is the value parsing them would give; an entry is taken by the
 * first apply that finds it and never shared. At most FBK_INPUT_CACHE
 * entries (the oldest goes), so an input validated and never applied costs
 * bounded memory until the ctx is torn down. Thread-safe. */
#define FBK_INPUT_CACHE 256
typedef struct fbk_input_cache fbk_input_cache;

/* new; free with fbk_input_cache_free (NULL-safe). */
fbk_input_cache *fbk_input_cache_new(void);
void fbk_input_cache_free(fbk_input_cache *c);

/* Keeps in (stolen) as the value of text (borrowed, copied). in must be
 * what the driver's parse of text gave, changed only by idempotent
 * rewrites its apply makes again (fbk_map_portable_secrets). c NULL: in is
 * released. */
void fbk_input_cache_put(fbk_input_cache *c, const char *text, json_t *in);

/* The value kept for exactly these bytes, removed from the cache (new:
 * the caller owns it), or NULL. */
json_t *fbk_input_cache_take(fbk_input_cache *c, const char *text);

/* Adds a printf-style diagnostic through host->diag_add. The text up to
 * the first '\n' is the summary, the rest (if any) the detail. pointer is
 * a JSON pointer into the call's input or NULL. Never pass secrets. */
void fbk_diag(const fb_host *host, fb_diag *diag, fb_severity sev, const char *pointer,
              const char *fmt, ...) FBK_PRINTF(5, 6);

/* ====================================================================
 * AWS credentials and calls (awscreds.c)
 * ==================================================================== */

typedef struct fbk_aws_creds {
    char *access_key_id;     /* new */
    char *secret_access_key; /* new; secret */
    char *session_token;     /* new; secret; NULL when none */
    int64_t expiration;      /* Unix seconds; 0 = does not expire */
    char *source;            /* new: where they came from (no secrets), for messages */
} fbk_aws_creds;

typedef struct fbk_aws_creds_opts {
    /* A profile named by the broker's configuration. When set, the
     * AWS_ACCESS_KEY_ID environment variables are not used (as with
     * botocore's explicit profile). NULL = $AWS_PROFILE, else "default". */
    const char *profile;
    /* Region for STS. NULL = $AWS_REGION, $AWS_DEFAULT_REGION, the
     * profile's region; without any, the global endpoint (us-east-1). */
    const char *region;
    /* STS endpoint URL. NULL = $AWS_ENDPOINT_URL_STS, $AWS_ENDPOINT_URL,
     * else https://sts.REGION.amazonaws.com (tests point it at a fake). */
    const char *sts_endpoint;
    /* Home directory for ~/.aws. NULL = $HOME. */
    const char *home;
} fbk_aws_creds_opts;

/*
 * Finds AWS credentials in botocore's order and returns FB_OK with *out
 * (new; fbk_aws_creds_clear):
 *  1. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
 *     (skipped when opts->profile is set);
 *  2. AssumeRole for a profile with role_arn and source_profile or
 *     credential_source = Environment (external_id, role_session_name,
 *     duration_seconds; source profiles may chain), a SigV4-signed STS
 *     Query-protocol POST through host->http;
 *  3. AssumeRoleWithWebIdentity (unsigned) from AWS_WEB_IDENTITY_TOKEN_FILE +
 *     AWS_ROLE_ARN [+ AWS_ROLE_SESSION_NAME], or web_identity_token_file +
 *     role_arn in the profile;
 *  4. the shared credentials file (AWS_SHARED_CREDENTIALS_FILE or
 *     ~/.aws/credentials), section [PROFILE];
 *  5. the config file (AWS_CONFIG_FILE or ~/.aws/config), [profile PROFILE]
 *     or [default].
 * Profiles are the config file's with the credentials file's keys laid
 * over them, as botocore merges them. A source that is configured but
 * fails (partial keys, malformed file, STS refusal, unreadable token file)
 * stops the search with its error. When nothing is found: FB_AUTH with one
 * diagnostic listing every source tried and why it did not apply.
 * Statuses: FB_AUTH (missing or refused), FB_INVALID (malformed files or
 * settings), FB_RETRYABLE (STS unreachable or throttled), FB_INTERNAL
 * (unexpected STS answer). Secrets never appear in diagnostics.
 */
fb_status fbk_aws_creds_resolve(const fb_host *host, fb_diag *diag,
                                const fbk_aws_creds_opts *opts, fbk_aws_creds *out);
/* Wipes and frees (NULL-safe); c is left zeroed. */
void fbk_aws_creds_clear(fbk_aws_creds *c);

/*
 * Signs msg with creds (SigV4 header form unless flags say otherwise, at
 * host->now()) and sends it through host->http, passing the secret key and
 * session token as secrets to redact. http_flags: FB_HTTP_*. service is the
 * signing name and the host's log label. On FB_OK resp holds the response
 * (release with host->http_free). Signing errors: FB_INVALID.
 */
fb_status fbk_aws_send(const fb_host *host, fb_diag *diag, const fbk_aws_creds *creds,
                       const char *region, const char *service, unsigned sigv4_flags,
                       const fbk_http_msg *msg, uint32_t http_flags, fb_http_response *resp);

/*
 * Reads an AWS error response: JSON ({"__type"|"code", "message"|"Message"},
 * X-Amzn-ErrorType header) or XML (<Error><Code>, <Message>). *code and
 * *message are new (either may be NULL when absent). Returns the fb_status
 * the error maps to: throttling, 429 and 5xx -> FB_RETRYABLE; 401/403,
 * signature and token errors -> FB_AUTH; 404 and *NotFound* -> FB_NOTFOUND;
 * 409, *Conflict*, *InUse*, *AlreadyExists* -> FB_CONFLICT; *LimitExceeded*,
 * *Quota* -> FB_QUOTA; other 4xx -> FB_INVALID; a 2xx -> FB_OK.
 */
fb_status fbk_aws_error(const fb_http_response *resp, char **code, char **message);

#ifdef __cplusplus
}
#endif

#endif /* FBK_H */
