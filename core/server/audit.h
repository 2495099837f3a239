/* audit.h - the audit trail: every mutating call and every credential use
 * is a row (who, tenant, what, when, outcome) chained by hash to the one
 * before, and every FBI_AUDIT_CHECKPOINT_EVERY rows an Ed25519 signature
 * (libsodium) over the chain's head. The signing key lives in the broker
 * home (audit.key, 0600; the public half in audit.pub, which verify
 * trusts). Internal to core. An auditor is shared by threads read-only. */
#ifndef FB_SERVER_AUDIT_H
#define FB_SERVER_AUDIT_H

#include <jansson.h>
#include "fedbroker/fedbroker.h"

#define FBI_AUDIT_CHECKPOINT_EVERY 8

typedef struct fbi_auditor fbi_auditor;

/* new: loads the signing key from dir (NULL = the broker home), creating
 * it on first use. */
fb_status fbi_auditor_open(const char *dir, fbi_auditor **out, fb_diag *diag);
void fbi_auditor_close(fbi_auditor *a);

/* Appends a row and, at each checkpoint interval, a signed checkpoint.
 * Borrowed arguments; tenant and detail_json may be NULL. */
fb_status fbi_audit_record(fbi_auditor *a, fb_store *s, const char *actor, const char *tenant,
                           const char *action, const char *outcome, const char *detail_json,
                           fb_diag *diag);

/* Signs a checkpoint over row id, whose hash is hash (borrowed), in the
 * caller's transaction if one is open. For a writer that appends many rows
 * in one transaction (auditq.c): a large one signs only the last multiple
 * of FBI_AUDIT_CHECKPOINT_EVERY among them, as the rows before it commit
 * with it and are covered by its chain. */
fb_status fbi_audit_checkpoint(fbi_auditor *a, fb_store *s, long long id, const char hash[65],
                               fb_diag *diag);

/* Recomputes the chain and checks every checkpoint's signature with the
 * public key in dir (NULL = home)/audit.pub. *report new: {"ok", "rows",
 * "checkpoints", "problems": [{"row" or "checkpoint", "problem", "detail"}]},
 * the first problem first; problems name the row that was changed,
 * removed or inserted. FB_OK when the check ran (ok says the verdict). */
fb_status fbi_audit_verify(fb_store *s, const char *dir, json_t **report, fb_diag *diag);

#endif
