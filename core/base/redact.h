/* redact.h - one redaction for everything the host shows or keeps.
 *
 * A request's secrets (fb_http_request.secrets) are redacted wherever the
 * request is shown (logs, dry runs: patterns off, so a dry run still shows
 * exactly what would be sent but the secrets). What came back from a
 * provider (messages, bodies, diagnostics drivers build from them, driver
 * output the broker stores) is redacted with everything the call has sent:
 * its requests' secrets, their Authorization, X-Amz-Security-Token and
 * X-Amz-Credential values, each also URL-encoded and JSON-escaped, and
 * with patterns on: the value of any field that looks like a credential
 * (SecretAccessKey, SessionToken, x-amz-security-token:, Authorization:,
 * access_token, password, ...) even when the call never knew it.
 * Internal to core (prefix fbi_). */
#ifndef FB_REDACT_H
#define FB_REDACT_H

#include <jansson.h>
#include <stddef.h>
#include "fedbroker/driver.h"

/* The text that replaces a secret. */
#define FBI_REDACTED "REDACTED"

/* A set of secret strings. Zero-initialise; not thread-safe (one call's
 * set lives on the call's thread). */
typedef struct fbi_secrets {
    char **v;
    size_t *len; /* strlen(v[i]), kept: every string of every driver output
                  * is checked against every secret (perf4) */
    size_t n, cap;
} fbi_secrets;

/* Adds s (copied) and its URL-encoded and JSON-escaped forms when they
 * differ. Empty strings and duplicates are ignored. */
void fbi_secrets_add(fbi_secrets *set, const char *s);
/* Adds req's secrets list, and its Authorization, X-Amz-Security-Token
 * and X-Amz-Credential header values (and the X-Amz-Credential,
 * X-Amz-Security-Token and X-Amz-Signature query values of its URL). */
void fbi_secrets_add_request(fbi_secrets *set, const fb_http_request *req);
/* Wipes and frees every string; the set is empty again. */
void fbi_secrets_clear(fbi_secrets *set);

/* text[0..len) with every secret of set replaced by REDACTED (longest
 * first) and, when patterns is non-zero, the values of credential-looking
 * fields too. new (free()); set may be NULL. */
char *fbi_redact_text(const fbi_secrets *set, int patterns, const char *text, size_t len);
/* The same over every string (and object key) of j, in place; with
 * patterns, the value of a credential-named key is replaced whole. */
void fbi_redact_json(const fbi_secrets *set, int patterns, json_t *j);

#endif
