/* state.h - what the life cycle needs of the store beyond the public
 * fb_store API (fedbroker.h): the spec behind each deployment, closing
 * journal rows with a resolution, backups. Internal to core (prefix fbi_).
 * Thread notes as for the public store functions: any thread, each call is
 * one statement under the store's lock. */
#ifndef FB_STATE_STATE_H
#define FB_STATE_STATE_H

#include "fedbroker/fedbroker.h"

/* How many backups taken before migrations are kept (the newest). */
#define FBI_STATE_BACKUPS_KEPT 3

/* borrowed: the store's sqlite3 handle, for tests that inspect the file's
 * pragmas. Not for modules: every table belongs to store.c. */
struct sqlite3 *fbi_store_db(fb_store *s);

/* Sets the WAL size, in pages, at which a commit on this connection runs
 * a checkpoint (SQLite's wal_autocheckpoint; fb_store_open sets 1000).
 * pages >= 1. For a connection whose commits must stay short, serve's
 * audit writer: the checkpoint runs inside the commit. Any thread. */
void fbi_store_set_checkpoint_pages(fb_store *s, int pages);

/* borrowed: the path of the store's file. */
const char *fbi_store_path(fb_store *s);

/* The number of schema migrations, and the SQL of migration i (0-based,
 * borrowed static text; NULL out of range): for the test that proves a
 * fresh store equal to one built by replaying them. Not for modules. */
int fbi_store_migration_count(void);
const char *fbi_store_migration_sql(int i);

/* The directory of the backups of state_path (new): backups/ next to it. */
char *fbi_store_backup_dir(const char *state_path);
/* The newest backup of state_path (new path), or NULL when none. */
char *fbi_store_last_backup(const char *state_path);

/* fb_store_put_resource with the record's "type" (NULL: "resource"), "id"
 * (required) and "region" (NULL: none) already read from resource_json by
 * the caller, which parsed it anyway (host->record does): a parallel apply
 * records several resources per workload. All borrowed. */
fb_status fbi_store_put_resource_fields(fb_store *s, const char *tenant, const char *workload,
                                        const char *provider, const char *type, const char *id,
                                        const char *region, const char *resource_json,
                                        fb_diag *diag);

/* fb_store_put_deployment with state_json "{}", then the spec and the
 * federation (each NULL: left as it was) set, in one statement: the row
 * apply writes with its intent (a third of the writer's statements per
 * workload were these three, bench/README-aws.md perf4). All borrowed. */
fb_status fbi_store_put_deployment_intent(fb_store *s, const char *tenant, const char *workload,
                                          const char *provider, const char *service,
                                          const char *region, const char *state,
                                          const char *spec_json, const char *federation,
                                          fb_diag *diag);

/* Sets the spec (JSON text, borrowed) a deployment is being applied from.
 * A deployment row that does not exist is left alone. */
fb_status fbi_store_set_deployment_spec(fb_store *s, const char *tenant, const char *workload,
                                        const char *provider, const char *region,
                                        const char *spec_json, fb_diag *diag);
/* The spec a deployment was applied from (new JSON text), FB_NOTFOUND
 * when the row or its spec is missing (rows older than schema 2). */
fb_status fbi_store_get_deployment_spec(fb_store *s, const char *tenant, const char *workload,
                                        const char *provider, const char *region,
                                        char **spec_json, fb_diag *diag);
/* The callers (canonical JSON text, fbi_callers_canonical) an apply gave
 * the deployment's identity bindings, stored with its outcome; the get is
 * FB_NOTFOUND when none were stored (no identity, or applied before schema
 * 8). Strings borrowed; *callers_json new. */
fb_status fbi_store_set_deployment_callers(fb_store *s, const char *tenant, const char *workload,
                                           const char *provider, const char *region,
                                           const char *callers_json, fb_diag *diag);
fb_status fbi_store_get_deployment_callers(fb_store *s, const char *tenant, const char *workload,
                                           const char *provider, const char *region,
                                           char **callers_json, fb_diag *diag);
/* The workload that recorded the resource (provider, type, cloud_id)
 * (borrowed), while it has a deployment on that provider: *json new text
 * {"tenant", "workload", "region", "service"}; FB_NOTFOUND when no
 * deployment records it. Any thread (the store serialises statements). */
fb_status fbi_store_resource_owner(fb_store *s, const char *provider, const char *type,
                                   const char *cloud_id, char **json, fb_diag *diag);
/* Sets the phase (creating, applied, failed) of an existing deployment. */
fb_status fbi_store_set_deployment_phase(fb_store *s, const char *tenant, const char *workload,
                                         const char *provider, const char *region,
                                         const char *phase, fb_diag *diag);

/* Closes one journal row still in `intent` with phase (done or failed),
 * adding resolution_json (borrowed: {"outcome", "reason", ...}) to its
 * detail as "resolution". A row already closed is left alone. */
fb_status fbi_store_journal_resolve(fb_store *s, long long id, const char *phase,
                                    const char *resolution_json, fb_diag *diag);
/* Closes every row in `intent` older than by_id about the deployment
 * (tenant, workload, provider, region) as superseded by row by_id:
 * resolution {"outcome": outcome, "reason": reason, "by": by_id}. The
 * interrupted operation did not finish, so their phase is failed. */
fb_status fbi_store_journal_supersede(fb_store *s, const char *tenant, const char *workload,
                                      const char *provider, const char *region, long long by_id,
                                      const char *outcome, const char *reason, fb_diag *diag);

/* ---- plan-driven apply (schema 3; docs/plan.md) ---- */

/* The state serial: a counter every apply and destroy bumps, recorded
 * in each plan so a plan computed against an older state is refused. */
fb_status fbi_store_serial(fb_store *s, long long *serial, fb_diag *diag);
/* Adds one to the serial; *serial (may be NULL) receives the new value. */
fb_status fbi_store_bump_serial(fb_store *s, long long *serial, fb_diag *diag);
/* The stored plan id (new JSON text), FB_NOTFOUND when there is none. */
fb_status fbi_store_get_plan(fb_store *s, long long id, char **plan_json, fb_diag *diag);
/* Every stored plan, oldest first (new JSON array text): id, created_at,
 * total_micro_usd, status, workloads, state_serial, changes. */
fb_status fbi_store_list_plans(fb_store *s, char **json, fb_diag *diag);
/* Records the federation (borrowed; NULL: none) a deployment belongs to. */
fb_status fbi_store_set_deployment_federation(fb_store *s, const char *tenant, const char *workload,
                                              const char *provider, const char *region,
                                              const char *federation, fb_diag *diag);
/* The deployments of federation (new JSON array text: tenant, workload,
 * provider, region). */
fb_status fbi_store_list_federation(fb_store *s, const char *federation, char **json,
                                    fb_diag *diag);
/* Records (or replaces) where a deployment answers: url (a URL, or a job
 * id when kind says so), observed now. All strings borrowed. */
fb_status fbi_store_put_endpoint(fb_store *s, const char *tenant, const char *workload,
                                 const char *provider, const char *region, const char *url,
                                 const char *kind, fb_diag *diag);
/* The key of an endpoint row; members borrowed. instance names one of
 * several endpoints a source reported for the deployment (a pod address
 * "10.0.0.5:8080"); NULL or "" is the deployment's own row. */
typedef struct fbi_endpoint_key {
    const char *tenant, *workload, *provider, *region, *instance;
} fbi_endpoint_key;
/* Records or refreshes an endpoint that source ("apply", "observe",
 * "discover", or the name a driver's discover gives, such as
 * "k8s-endpointslice") reported at now (Unix seconds), holding for lease_s
 * seconds (0: until it is forgotten; negative: a refresh that keeps an
 * existing row's source, lease and private flag, a new row gets lease 0).
 * private_addr marks an address only reachable inside its network (never
 * probed by the broker). Clears stale_since; a changed url resets its
 * health to unknown. Borrowed arguments. */
fb_status fbi_store_report_endpoint(fb_store *s, const fbi_endpoint_key *k, const char *url,
                                    const char *kind, const char *source, int64_t lease_s,
                                    int private_addr, int64_t now, fb_diag *diag);
/* Sets a row's health (passing, warning, critical, unknown), the reason
 * (may be NULL), the consecutive failure count and the probe times. */
fb_status fbi_store_set_endpoint_health(fb_store *s, const fbi_endpoint_key *k,
                                        const char *health, const char *detail,
                                        int64_t failures, int64_t checked_at,
                                        int64_t next_probe_at, fb_diag *diag);
/* Marks a row stale since stale_since, unless it already is. */
fb_status fbi_store_set_endpoint_stale(fb_store *s, const fbi_endpoint_key *k,
                                       int64_t stale_since, fb_diag *diag);
/* Endpoint rows of tenant and workload (NULL = all) as a new JSON array
 * text, every column and the workload's stored spec ("spec", null when
 * the store has none). */
fb_status fbi_store_endpoint_rows(fb_store *s, const char *tenant, const char *workload,
                                  char **json, fb_diag *diag);
/* Forgets one endpoint row (the sweep removing an expired report). */
fb_status fbi_store_forget_endpoint(fb_store *s, const fbi_endpoint_key *k, fb_diag *diag);
/* Forgets a deployment's endpoints, every instance (it was destroyed). */
fb_status fbi_store_delete_endpoint(fb_store *s, const char *tenant, const char *workload,
                                    const char *provider, const char *region, fb_diag *diag);
/* The recorded endpoints (new JSON array text), of tenant or of all
 * tenants when NULL: every column as fbi_store_endpoint_rows has it, but
 * no spec. */
fb_status fbi_store_list_endpoints(fb_store *s, const char *tenant, char **json, fb_diag *diag);

/* ---- the identity layer's tables (core/identity/; schema 4) ---- */
/* Times are Unix seconds. Texts borrowed. The sealed columns hold base64
 * of nonce || XChaCha20-Poly1305 ciphertext: never a plain secret. */
/* Adds a signing key in state next or current (current: activated now). */
fb_status fbi_store_key_put(fb_store *s, const char *kid, const char *alg, const char *state,
                            const char *public_jwk, const char *sealed_private,
                            long long created_at, fb_diag *diag);
/* Moves a key to state (current: activated_at = at; retired: retired_at =
 * at and unpublish_at). */
fb_status fbi_store_key_set_state(fb_store *s, const char *kid, const char *state, long long at,
                                  long long unpublish_at, fb_diag *diag);
/* Deletes retired keys whose unpublish_at is at or before now. */
fb_status fbi_store_key_delete_unpublished(fb_store *s, long long now, fb_diag *diag);
/* Every key as a JSON array text (new): {kid, alg, state, jwk, sealed,
 * created_at, activated_at, retired_at, unpublish_at}, oldest first. */
fb_status fbi_store_key_list(fb_store *s, char **json, fb_diag *diag);
/* Adds one version of a sealed secret; FB_INTERNAL (constraint) if that
 * version exists. */
fb_status fbi_store_secret_put(fb_store *s, const char *tenant, const char *name,
                               long long version, const char *sealed, fb_diag *diag);
/* The secrets (every version) of tenant/name (either NULL: all) as a JSON
 * array text (new): {tenant, name, version, sealed, created_at}. */
fb_status fbi_store_secret_list(fb_store *s, const char *tenant, const char *name, char **json,
                                fb_diag *diag);
/* Deletes every version of tenant/name; *removed = how many. */
fb_status fbi_store_secret_delete(fb_store *s, const char *tenant, const char *name,
                                  long long *removed, fb_diag *diag);

/* ---- API tokens (schema 6; core/server/token.c) ---- */
/* Saves a token's public id and SHA-256 hex (never the token). expires_at
 * 0 = never. FB_INTERNAL on a duplicate. */
fb_status fbi_store_put_token(fb_store *s, const char *id, const char *hash, const char *tenant,
                              const char *role, int64_t created_at, int64_t expires_at,
                              fb_diag *diag);
/* The token row with this hash as a new JSON array text (0 or 1 rows). */
fb_status fbi_store_token_by_hash(fb_store *s, const char *hash, char **json, fb_diag *diag);
/* Token rows (no hashes) of tenant (NULL = all), new JSON array text. */
fb_status fbi_store_list_tokens(fb_store *s, const char *tenant, char **json, fb_diag *diag);
/* Revokes token id at now (kept: the audit needs it); *found 0 when no
 * such token. Revoking twice keeps the first time. */
fb_status fbi_store_revoke_token(fb_store *s, const char *id, int64_t now, int *found,
                                 fb_diag *diag);

/* ---- the audit chain (schema 7; core/server/audit.c) ---- */
/* The hash of an audit row: SHA-256 hex over its id and length-prefixed
 * fields, the previous row's hash last (64 zeros before the first row). */
void fbi_audit_row_hash(long long id, const char *at, const char *actor, const char *tenant,
                        const char *action, const char *outcome, const char *detail,
                        const char *prev, char out[65]);
/* Appends a row chained to the last one (its own write transaction, or
 * the caller's when inside fb_store_begin). *id and
 * hash filled on FB_OK. tenant may be NULL, detail_json NULL = "{}". */
fb_status fbi_store_audit_append(fb_store *s, const char *actor, const char *tenant,
                                 const char *action, const char *outcome, const char *detail_json,
                                 long long *id, char hash[65], fb_diag *diag);
/* One row for fbi_store_audit_append_many (strings borrowed; tenant may
 * be NULL, detail NULL = "{}"). */
typedef struct fbi_audit_in {
    const char *actor, *tenant, *action, *outcome, *detail;
} fbi_audit_in;
/* Appends rows[0..n) in order, chained, reading the chain's head once
 * (serve's audit writer: a batch per transaction). Its own write
 * transaction or the caller's (inside fb_store_begin). ids and hashes are
 * the caller's arrays of n, filled on FB_OK; on an error the rows are not
 * written (the caller's transaction must be rolled back). */
fb_status fbi_store_audit_append_many(fb_store *s, const fbi_audit_in *rows, size_t n,
                                      long long *ids, char (*hashes)[65], fb_diag *diag);
/* Every audit row in id order, new JSON array text. */
fb_status fbi_store_audit_rows(fb_store *s, char **json, fb_diag *diag);
fb_status fbi_store_put_checkpoint(fb_store *s, long long row_id, const char *row_hash,
                                   long long row_count, const char *public_key,
                                   const char *signature, fb_diag *diag);
fb_status fbi_store_checkpoints(fb_store *s, char **json, fb_diag *diag);

#endif
