/* ops.h - serve's asynchronous operations (POST /v1/plans, apply,
 * destroy): each is the fedbroker command itself (`fedbroker plan|apply|
 * destroy ... --format json`, this very executable) run by one worker
 * thread, one operation at a time, in the order they were queued, so the
 * API goes through exactly the CLI's code paths, its state lock and its
 * journal. An operation has an id, its tenant, a state (queued, running,
 * succeeded, failed), its progress (the command's stderr lines, the last
 * FBI_OPS_PROGRESS_MAX kept), the exit code and the JSON the command
 * printed. Operations live in memory: the last FBI_OPS_KEEP are kept, a
 * restart of serve forgets them (the deployments and the journal they
 * wrote stay in the store). Internal to core. Thread notes: any thread. */
#ifndef FB_SERVER_OPS_H
#define FB_SERVER_OPS_H

#include <jansson.h>
#include "fedbroker/fedbroker.h"

#define FBI_OPS_KEEP 256
#define FBI_OPS_PROGRESS_MAX 200
#define FBI_OPS_OUTPUT_MAX (4u << 20)

typedef struct fbi_ops fbi_ops;

/* new: exe is the fedbroker executable (copied), home the broker home
 * the commands run in (FEDBROKER_HOME; copied). */
fbi_ops *fbi_ops_new(const char *exe, const char *home);
/* Waits for the running operation (queued ones are marked failed,
 * "server stopped"), then frees. NULL ok. */
void fbi_ops_free(fbi_ops *o);

/* Queues `exe argv...` (argv NULL-terminated, copied) for tenant, kind
 * "plan", "apply" or "destroy". 0 with *id new ("op-N"), or -1 when
 * FBI_OPS_KEEP - 1 operations wait already (the caller answers 503). */
int fbi_ops_submit(fbi_ops *o, const char *tenant, const char *kind, const char *const *argv,
                   char **id);

/* The operation id as JSON (new) when it exists and belongs to tenant,
 * else NULL (another tenant's operation is not found, like a missing one):
 * {"id","kind","tenant","state","progress":[lines],"exit_code" (null
 * until done),"result" (the command's JSON output, null until done or when
 * it printed none),"created_at","finished_at"}. */
json_t *fbi_ops_get(fbi_ops *o, const char *id, const char *tenant);

/* Runs `exe argv...` now on the calling thread (not queued): the
 * reconciler's `status` (its provider calls count under operation
 * "reconcile" in /metrics; a queued operation's under its kind). *out new (stdout, at most FBI_OPS_OUTPUT_MAX),
 * *progress new (its stderr lines; progress may be NULL). Returns the exit
 * code, or -1 when the output was cut. */
int fbi_ops_run_sync(fbi_ops *o, const char *const *argv, char **out, size_t *out_len, json_t **progress);

/* Counts by state for /metrics: queued, running, succeeded, failed. */
void fbi_ops_counts(fbi_ops *o, unsigned long counts[4]);

#endif
