/* identity.h - the broker as the identity issuer of its trust domain
 * (docs/identity.md): SPIFFE IDs for workloads, signing keys sealed under
 * the master key, JWT-SVIDs, the JWKS and OIDC discovery documents, and
 * portable secrets sealed per tenant. Internal to core (prefix fbi_).
 *
 * Layer: identity may include base, state and http (tests/layering.sh):
 * it keeps its keys and secrets in the store and knows no provider; the
 * broker, plan and CLI layers above it use it.
 *
 * Thread notes: the SPIFFE and JOSE helpers are pure and thread-safe; the
 * keyring and the vault use one fb_store and are called from the main
 * thread (the store serialises its own statements). */
#ifndef FB_IDENTITY_H
#define FB_IDENTITY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include "fedbroker/fedbroker.h"

/* ---- SPIFFE IDs (spiffe.c; SPIFFE-ID.md sections 2 to 2.4) ---- */

/* The longest SPIFFE ID the broker generates (section 2.3). */
#define FBI_SPIFFE_MAX 2048

/* Checks a trust domain name (section 2.1): not empty, at most 255 bytes,
 * only [a-z0-9._-] (so no upper case, port, user info or percent-encoding).
 * Returns 0, or -1 with *why (new, free()) saying which rule it breaks. */
int fbi_spiffe_check_trust_domain(const char *td, char **why);

/* Checks a whole SPIFFE ID (sections 2, 2.1, 2.2, 2.3): scheme spiffe
 * (case-insensitive), a valid trust domain, no query or fragment, path
 * segments of [a-zA-Z0-9._-] that are not empty, '.' or '..', no trailing
 * '/', at most 2048 bytes. 0, or -1 with *why (new). */
int fbi_spiffe_check_id(const char *id, char **why);

/* The SPIFFE ID of a workload (new):
 * spiffe://TD/tenant/TENANT/workload/NAME. NULL with an error in diag
 * when the result would not be a valid SPIFFE ID (a name with a character
 * a path segment may not hold, too long). All arguments borrowed. */
char *fbi_spiffe_workload_id(const char *trust_domain, const char *tenant, const char *workload,
                             fb_diag *diag);

/* ---- settings (settings.c) ---- */

/* The "identity" section of the configuration, resolved. */
typedef struct fbi_identity_cfg {
    char *trust_domain;    /* owned */
    char *issuer;          /* owned: identity.issuer, or https://TRUST-DOMAIN */
    char *master_key_file; /* owned: absolute path */
    int master_key_default; /* the path is the default one (made on first use) */
    char *token_url;       /* owned: identity.tokenUrl, where workloads fetch their own
                              JWT-SVID (serve's POST /v1/identity/token), or NULL */
} fbi_identity_cfg;

/* Reads config's "identity" section (config borrowed; already valid
 * against the schema). FB_INVALID with an error saying what to add when
 * the trust domain is invalid, or missing and need_trust_domain is set
 * (secrets need only the master key: trust_domain and issuer stay NULL).
 * *out is filled on FB_OK only; release it with fbi_identity_cfg_free. */
fb_status fbi_identity_cfg_load(const json_t *config, int need_trust_domain,
                                fbi_identity_cfg *out, fb_diag *diag);
void fbi_identity_cfg_free(fbi_identity_cfg *c);

/* ---- the master key and sealing (seal.c) ---- */

#define FBI_MASTER_KEY_BYTES 32

/* The master key, in memory libsodium locks (no swap, no core dump) and
 * guards; read-only once loaded. */
typedef struct fbi_master_key fbi_master_key;

/* Loads the master key from cfg->master_key_file (borrowed cfg). The file
 * must be a regular file of exactly 32 bytes, owned by the broker's user,
 * with no group or other permission bits (0600 or 0400), in directories
 * no other user can change (base/trust.h); anything more open is refused
 * with FB_INVALID and a message that says why and the chmod that fixes
 * it. When the file does not exist and create is set and the path is the
 * default one, 32 random bytes are written there (mode 0600, O_EXCL).
 * *out new (fbi_master_key_free). */
fb_status fbi_master_key_load(const fbi_identity_cfg *cfg, int create, fbi_master_key **out,
                              fb_diag *diag);
/* Wipes and frees (NULL allowed). */
void fbi_master_key_free(fbi_master_key *mk);

/* A 32-byte key derived from the master key (crypto_kdf): purpose is 8
 * characters ("fbsignky" for signing keys, "fbtenant" for secrets), id a
 * 64-bit subkey id. out must be locked memory the caller wipes
 * (fbi_locked_alloc). */
void fbi_master_derive(const fbi_master_key *mk, const char purpose[8], uint64_t id,
                       unsigned char out[32]);
/* The subkey id of a tenant: the first 8 bytes of BLAKE2b(tenant). */
uint64_t fbi_tenant_subkey_id(const char *tenant);

/* n bytes of locked, guarded memory (sodium_malloc; new, fbi_locked_free,
 * which wipes). Aborts when out of memory, as fbi_xmalloc does. */
void *fbi_locked_alloc(size_t n);
void fbi_locked_free(void *p);

/* Seals n bytes of plain under key with the additional data ad (adn
 * bytes, bound but not stored): XChaCha20-Poly1305 (IETF) with a random
 * 24-byte nonce. Returns new base64 text of nonce || ciphertext. */
char *fbi_seal(const unsigned char key[32], const void *plain, size_t n, const void *ad,
               size_t adn);
/* Opens what fbi_seal made. 0 with *plain (locked memory, fbi_locked_free;
 * one extra NUL byte after *n) or -1 when the text is not base64, too
 * short, or fails authentication (another key, other additional data, a
 * changed byte). */
int fbi_unseal(const unsigned char key[32], const char *sealed, const void *ad, size_t adn,
               unsigned char **plain, size_t *n);

/* ---- JOSE (jose.c): JWS compact serialisation, JWKs ---- */

/* base64url without padding of n bytes (new). */
char *fbi_b64url(const void *data, size_t n);
/* Decodes base64url (padding optional); new buffer with one NUL after *n,
 * or NULL when s is not base64url. */
unsigned char *fbi_b64url_decode(const char *s, size_t *n);

struct evp_pkey_st;
/* The public JWK of key (new object): kty, n/e or crv/x/y, plus kid, alg
 * ("RS256" or "ES256") and use "sig". */
json_t *fbi_jwk_public(struct evp_pkey_st *key, const char *alg, const char *kid);
/* The RFC 7638 thumbprint of a public JWK (borrowed) as base64url of its
 * SHA-256 (new); NULL for a key type it does not know. */
char *fbi_jwk_thumbprint(const json_t *jwk);
/* A key from a JWK (borrowed) holding private parameters (RSA: n e d p q
 * dp dq qi; EC P-256: x y d). New, EVP_PKEY_free; NULL with diag. */
struct evp_pkey_st *fbi_jwk_private_key(const json_t *jwk, fb_diag *diag);
/* Signs: the JWS compact serialisation of header and payload (borrowed,
 * serialised compactly in insertion order) with key (RS256: RSASSA-PKCS1
 * v1.5 SHA-256; ES256: ECDSA P-256 SHA-256, r || s). New text, or NULL
 * with diag. */
char *fbi_jws_sign(struct evp_pkey_st *key, const char *alg, const json_t *header,
                   const json_t *payload, fb_diag *diag);
/* Signs protected_b64 "." payload_b64 as given (for reproducing JOSE
 * vectors whose header bytes are fixed). New compact text, or NULL. */
char *fbi_jws_sign_raw(struct evp_pkey_st *key, const char *alg, const char *protected_b64,
                       const char *payload_b64, fb_diag *diag);

/* ---- the issuer's keys and tokens (keyring.c) ---- */

/* The longest a token may live: exp - iat <= 1 h. It is also how long a
 * retired key stays published: every token it signed has expired by then. */
#define FBI_TOKEN_MAX_TTL 3600

/* The signing keys of the issuer, unsealed on demand. */
typedef struct fbi_keyring fbi_keyring;

/* Opens the keyring: loads the master key (made on first use at the
 * default path), forgets retired keys whose tokens have all expired, and
 * makes the keys a fresh issuer lacks (for RS256 and ES256: a current key
 * that signs and a next key published ahead of its turn), in one store
 * transaction. cfg and store borrowed, must outlive the keyring. *out new
 * (fbi_keyring_free). Main thread. */
fb_status fbi_keyring_open(const fbi_identity_cfg *cfg, fb_store *store, fbi_keyring **out,
                           fb_diag *diag);
void fbi_keyring_free(fbi_keyring *k);

/* The JWK Set to publish (new): every key that is next, current, or
 * retired less than FBI_TOKEN_MAX_TTL ago, public parts only. */
json_t *fbi_keyring_jwks(fbi_keyring *k);
/* The keys with their life cycle, no key material (new array of {kid,
 * alg, state, created_at, activated_at, retired_at, unpublish_at}, RFC
 * 3339 times). */
json_t *fbi_keyring_status(fbi_keyring *k);
/* The JWK Set published now, read from the store alone (public keys; no
 * master key needed): what `fedbroker serve` answers. *out new. */
fb_status fbi_identity_published_jwks(fb_store *store, json_t **out, fb_diag *diag);
/* The path part of cfg's issuer ("" or "/fb"), where the discovery
 * document and the JWKS live. new. */
char *fbi_identity_issuer_path(const fbi_identity_cfg *cfg);
/* The OIDC discovery document of cfg's issuer (new). */
json_t *fbi_identity_discovery(const fbi_identity_cfg *cfg);

/* Rotates every algorithm's keys: the next key becomes current (it has
 * been published since it was made), the current one is retired and stays
 * published for FBI_TOKEN_MAX_TTL, and a new next key is made. *summary
 * (new, may be NULL) says which kid moved where. One transaction. */
fb_status fbi_keyring_rotate(fbi_keyring *k, json_t **summary, fb_diag *diag);

/* A JWT-SVID for sub (a SPIFFE ID) and one audience, valid for ttl
 * seconds (1 to FBI_TOKEN_MAX_TTL) from now, signed by alg's current key:
 * header {alg, kid, typ JWT}, claims {iss, sub, aud, iat, nbf, exp, jti}.
 * *jwt new text; *claims (new, may be NULL) the claims. */
fb_status fbi_keyring_token(fbi_keyring *k, const char *alg, const char *sub, const char *aud,
                            int64_t ttl, char **jwt, json_t **claims, fb_diag *diag);

/* Writes DIR/.well-known/openid-configuration and DIR/jwks.json (each
 * atomically) for hosting on the issuer's HTTPS origin. *written (new
 * array of paths, may be NULL). */
fb_status fbi_identity_publish(fbi_keyring *k, const char *dir, json_t **written, fb_diag *diag);

/* ---- portable secrets (vault.c) ---- */

/* The longest secret value: what AWS Secrets Manager and Google Secret
 * Manager both accept (64 KiB). */
#define FBI_SECRET_MAX 65536

/* Checks a secret name (the NAME of secret://NAME): a lowercase letter,
 * then up to 62 lowercase letters, digits and '-', which every provider's
 * store accepts as part of a name. 0, or -1 with *why (new). */
int fbi_secret_name_check(const char *name, char **why);

/* Seals value (n bytes, borrowed; the caller wipes it) as the next
 * version of tenant/name: XChaCha20-Poly1305 under the tenant's key
 * (crypto_kdf from the master key), the additional data binding tenant,
 * name and version, so a sealed value moved to another tenant, name or
 * version does not open. *version receives the new version. */
fb_status fbi_secret_put(const fbi_master_key *mk, fb_store *store, const char *tenant,
                         const char *name, const unsigned char *value, size_t n,
                         long long *version, fb_diag *diag);
/* Opens tenant/name at version (0: the latest). *value in locked memory
 * (fbi_locked_free; NUL after *n), *got the version opened. FB_NOTFOUND
 * when there is none; FB_INVALID, saying the value was changed or moved,
 * when it does not open. */
fb_status fbi_secret_open(const fbi_master_key *mk, fb_store *store, const char *tenant,
                          const char *name, long long version, unsigned char **value, size_t *n,
                          long long *got, fb_diag *diag);
/* The secrets of tenant (NULL: all) without their values (new array of
 * {tenant, name, versions, latest, created_at, updated_at}). */
fb_status fbi_secret_list(fb_store *store, const char *tenant, json_t **out, fb_diag *diag);
/* Opens every sealed version (of tenant, NULL: all) and reports each
 * (new array of {tenant, name, version, ok}); nothing is printed. */
fb_status fbi_secret_verify(const fbi_master_key *mk, fb_store *store, const char *tenant,
                            json_t **out, fb_diag *diag);

#endif
