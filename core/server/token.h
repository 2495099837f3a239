/* token.h - the API server's bearer tokens: "fbk_" + 43 base62 characters
 * of 256 random bits + 6 base62 characters of their CRC-32 (a secret
 * scanner recognises the prefix and checks the checksum offline, as with
 * GitHub's tokens). Shown once at creation, stored only as a SHA-256,
 * compared in constant time, with expiry and revocation. Internal to core.
 * Any thread. */
#ifndef FB_SERVER_TOKEN_H
#define FB_SERVER_TOKEN_H

#include <stdint.h>
#include "fedbroker/fedbroker.h"

#define FBI_TOKEN_PREFIX "fbk_"
#define FBI_TOKEN_LEN (4 + 43 + 6)

/* Non-zero for admin, deployer, viewer, finance. */
int fbi_token_role_valid(const char *role);

/* Creates a token of tenant with role, expiring at expires_at (0 = never),
 * saves its hash, and returns the token (new, the only copy: the caller
 * shows it once and frees it with sodium-style wiping, fbi_token_free) and
 * its public id (new). */
fb_status fbi_token_create(fb_store *s, const char *tenant, const char *role, int64_t now,
                           int64_t expires_at, char **token, char **id, fb_diag *diag);
/* Wipes and frees a token string. */
void fbi_token_free(char *token);

/* Why a presented token is refused. */
typedef enum fbi_token_verdict {
    FBI_TOKEN_OK = 0,
    FBI_TOKEN_MALFORMED,   /* not fbk_ + 49 base62 characters */
    FBI_TOKEN_BAD_CHECKSUM,
    FBI_TOKEN_UNKNOWN,
    FBI_TOKEN_EXPIRED,
    FBI_TOKEN_REVOKED
} fbi_token_verdict;
/* "malformed", "bad checksum", ... static. */
const char *fbi_token_verdict_name(fbi_token_verdict v);

typedef struct fbi_principal {
    char id[16];
    char tenant[128];
    char role[16];
    int64_t expires_at; /* Unix seconds, 0 = never */
} fbi_principal;

/* Checks a presented token (borrowed, may be any bytes) at now: format and
 * checksum first (no store access for garbage), then the stored hash,
 * compared in constant time, expiry and revocation. *who filled on
 * FBI_TOKEN_OK. FB_OK with *verdict set, or a store error. */
fb_status fbi_token_check(fb_store *s, const char *token, int64_t now, fbi_token_verdict *verdict,
                          fbi_principal *who, fb_diag *diag);

/* Only format and checksum (what a secret scanner does). */
fbi_token_verdict fbi_token_check_format(const char *token);

#endif
