/* auditq.h - serve's audit writer: group commit of audit rows (audit.h).
 * Request threads queue rows; one writer thread appends everything queued
 * so far in one write transaction, in queue order (so the hash chain keeps
 * the order the rows were queued in), while new rows queue behind it. A
 * busy server therefore makes one transaction per batch instead of one
 * per request, and a read is not held up by the store's write lock.
 *
 * What a crash can lose: rows queued and not yet committed (the batch
 * being written and those behind it, at most `max_pending`; in practice
 * the last few milliseconds). A clean stop (fbi_auditq_stop) commits
 * everything queued. A caller that must not answer before its row is
 * committed (a mutating call) pushes with wait = 1.
 * Thread notes: push from any thread; start and stop from one. */
#ifndef FB_SERVER_AUDITQ_H
#define FB_SERVER_AUDITQ_H

#include <stddef.h>
#include "fedbroker/fedbroker.h"
#include "server/audit.h"

typedef struct fbi_auditq fbi_auditq;

/* new: starts the writer thread. a and s borrowed until stop; s is only
 * written by the writer (under the store's own lock). max_pending bounds
 * the queue (a push waits while it is full: nothing is dropped); 0 =
 * 65536. */
fb_status fbi_auditq_start(fbi_auditor *a, fb_store *s, size_t max_pending, fbi_auditq **out,
                           fb_diag *diag);

/* Queues a row (arguments borrowed, copied). wait = 0 returns at once
 * (FB_OK); wait = 1 returns once the row's batch committed, with its
 * outcome. */
fb_status fbi_auditq_push(fbi_auditq *q, const char *actor, const char *tenant, const char *action,
                          const char *outcome, const char *detail_json, int wait);

/* Rows committed and batches written so far, and rows queued now (not
 * yet committed: what a crash would lose), for /metrics. */
void fbi_auditq_counts(fbi_auditq *q, unsigned long *rows, unsigned long *batches,
                       unsigned long *failures, unsigned long *queued);

/* Commits everything queued, stops the writer and frees q (NULL ok). */
void fbi_auditq_stop(fbi_auditq *q);

#endif
