/* wltoken.h - POST /v1/identity/token of `fedbroker serve`: a running
 * workload obtains its own JWT-SVID by proving, with its provider's own
 * credentials, which workload it is (docs/identity.md, "A workload's own
 * token"). The provider's driver checks the proof (ABI 1.3 attest) and
 * names the identity binding it recorded at apply; the broker maps that
 * record to the workload and signs a token for the workload's SPIFFE ID.
 * No bearer token of the broker is involved. Internal to core.
 *
 * Thread notes: called from the server's request threads; one issuance at
 * a time (a mutex: driver configure, the keyring's transaction and the
 * master key are main-thread-only elsewhere). */
#ifndef FB_SERVER_WLTOKEN_H
#define FB_SERVER_WLTOKEN_H

#include <jansson.h>
#include <stddef.h>
#include "fedbroker/fedbroker.h"

struct fbi_identity_cfg;
typedef struct fbi_wltoken fbi_wltoken;

/* cfg borrowed (outlives the issuer); store_file the state file, on which
 * the issuer opens connections of its own when first used. new. */
fbi_wltoken *fbi_wltoken_new(const struct fbi_identity_cfg *cfg, const char *store_file);
/* NULL ok. */
void fbi_wltoken_free(fbi_wltoken *w);

/* The answer to one request: an HTTP status and a JSON body (new), and
 * for the audit trail *actor (new: the workload's SPIFFE ID, or NULL when
 * nobody was identified) and *tenant (new or NULL). body (n bytes,
 * borrowed) is {"provider", "proof", "audience", "ttl"?, "alg"?}. The
 * token is in the answer only; nothing here logs it. */
void fbi_wltoken_issue(fbi_wltoken *w, const char *body, size_t n, unsigned *status,
                       json_t **answer, char **actor, char **tenant);

#endif
