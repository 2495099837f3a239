/* writer.h - the store writes of a parallel apply, made on one thread in
 * batches while the fan-out's lanes go on. Internal to core.
 *
 * A lane queues its writes (the journal's intent, each recorded resource,
 * the outcome) and carries on; before it sends anything that may change a
 * provider's state it waits at a barrier until everything it queued is
 * committed. So the invariant of apply holds (nothing is created before
 * the intent and every earlier resource are in the store), yet no lane
 * waits for the store while its requests are read-only or after its last
 * request. */
#ifndef FB_WRITER_H
#define FB_WRITER_H

#include "fedbroker/fedbroker.h"

typedef struct fbi_writer fbi_writer;

/* One lane's (one workload's) view of the writer. Zero it before use;
 * after fbi_writer_finish, st is the first failure of its writes and diag
 * (new, or NULL) holds the store's messages not yet handed over by a
 * barrier. */
typedef struct fbi_write_slot {
    unsigned long long last; /* the latest write queued */
    fb_status st;
    fb_diag *diag;
} fbi_write_slot;

/* A write: runs on the writer's thread inside a batch's transaction.
 * Returning an error marks its slot failed (what it wrote stays). */
typedef fb_status (*fbi_write_fn)(fb_store *s, void *ud, fb_diag *diag);

/* Starts a writer on s (borrowed). NULL when no thread could be started:
 * every call below then writes at once, on the caller's thread. */
fbi_writer *fbi_writer_start(fb_store *s);

/* Runs once a write is settled, with its final status (its own, or the
 * failure of the transaction it was part of); it releases ud. Called on
 * the writer's thread (the caller's, without a thread). */
typedef void (*fbi_write_done_fn)(void *ud, fb_status st);

/* Queues fn(s, ud); done(ud, st) runs once it is written (may be NULL).
 * Steals ud. */
void fbi_writer_put(fbi_writer *w, fb_store *s, fbi_write_slot *slot, fbi_write_fn fn, void *ud,
                    fbi_write_done_fn done);

/* The barrier: waits until every write queued for slot is committed. On a
 * failure, returns it and adds the store's messages to d (once). */
fb_status fbi_writer_wait(fbi_writer *w, fbi_write_slot *slot, fb_diag *d);

/* Writes everything still queued and stops the thread; frees w. */
void fbi_writer_finish(fbi_writer *w);

#endif
