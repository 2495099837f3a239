/* lock.h - the state lock: one writer of deployments at a time. Internal
 * to core (prefix fbi_).
 *
 * Verbs that change deployments (apply, destroy) hold it for their whole
 * run, so two of them never interleave their reads and writes of the same
 * deployments (issue 9: a concurrent apply and destroy --all orphaned
 * functions). It is a POSIX record lock (fcntl F_SETLK) on the file
 * `<state.db>.lock`: the kernel drops it when its holder exits or is
 * killed, so a dead holder never blocks anyone, and F_GETLK names the live
 * holder's pid without taking anything. The file's content says who holds
 * it (pid, host, verb, since) for the message of a waiter that gives up.
 *
 * The lock is per state file (global, not per tenant): destroy --all spans
 * tenants, migrations are global, and the store has one writer anyway.
 *
 * A holder that dies leaves its content behind (a clean release rewrites
 * it as released). The next holder sees that and learns that requests the
 * dead process had in flight may still take effect at the provider for up
 * to the HTTP timeout: settle_until (kept in the file across holders) is
 * the time before which "the provider has nothing" must not be believed
 * for what the dead process was creating. */
#ifndef FB_STATE_LOCK_H
#define FB_STATE_LOCK_H

#include <jansson.h>
#include <stdint.h>
#include "fedbroker/fedbroker.h"

typedef struct fbi_lock fbi_lock;

/* Takes the lock of the state file state_path for verb, trying for up to
 * timeout_ms (0: once). settle_ms: how long requests of a holder that died
 * may still land (the HTTP timeout). On success *out is new (release with
 * fbi_lock_release). On timeout FB_CONFLICT with an error naming the
 * holder (pid, host, verb, since) and --lock-timeout; other failures
 * FB_INTERNAL. Main thread. */
fb_status fbi_lock_acquire(const char *state_path, const char *verb, int64_t timeout_ms,
                           int64_t settle_ms, fbi_lock **out, fb_diag *diag);

/* The record of a holder that died with the lock ({pid, host, verb,
 * since}), or NULL when the previous holder released it. Borrowed. */
const json_t *fbi_lock_dead_holder(const fbi_lock *l);

/* Unix time in milliseconds (the real clock, never FEDBROKER_NOW) before
 * which a request of a dead holder may still take effect; 0 when none. */
int64_t fbi_lock_settle_until_ms(const fbi_lock *l);

/* Marks the lock released in its file and drops it; frees l (NULL is
 * fine). */
void fbi_lock_release(fbi_lock *l);

/* The live holder of the lock of state_path, as {pid, host, verb, since}
 * (new), or NULL when nobody holds it. Takes nothing: a reader (status)
 * never delays a writer. */
json_t *fbi_lock_holder(const char *state_path);

/* "pid 123 on host (fedbroker apply since 2015-08-30T12:36:00Z)" for a
 * holder record (borrowed); new. */
char *fbi_lock_describe(const json_t *holder);

/* Real-clock Unix milliseconds. */
int64_t fbi_wall_ms(void);

#endif
