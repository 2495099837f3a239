/* reconcile.h - serve's reconciler (`serve --reconcile INTERVAL`): every
 * INTERVAL it runs `fedbroker status --format json` (the CLI's read-only
 * observe of every stored deployment, which also refreshes the endpoints
 * table), and for each deployment that drifted from its spec, is missing
 * or failed it writes an audit row (actor "serve:reconcile", action
 * "reconcile.drift", outcome the status, detail the drifted fields) and
 * counts it in /metrics. With the policy "reapply" it then re-applies the
 * tenant's specs submitted through the API (`fedbroker apply SPEC...
 * --yes`, an operation of kind "reconcile": the CLI's state lock,
 * journal and change set, in which a drifted deployment is an update),
 * at most one at a time per tenant; a tenant with drift but no submitted
 * spec is reported only (audit outcome "skipped"). Internal to core.
 * Thread notes: its own thread; counts from any thread. */
#ifndef FB_SERVER_RECONCILE_H
#define FB_SERVER_RECONCILE_H

#include <stdint.h>
#include "server/auditq.h"
#include "server/ops.h"

typedef struct fbi_reconcile_opts {
    unsigned interval_s;     /* > 0 */
    int reapply;             /* the policy: 0 report, 1 reapply */
    const char *home;        /* the broker home (API specs) */
    const char *catalog_dir; /* passed on to apply; may be NULL */
    fbi_ops *ops;            /* borrowed: runs status and the re-applies */
    fbi_auditq *aq;          /* borrowed */
} fbi_reconcile_opts;

typedef struct fbi_reconciler fbi_reconciler;

/* Starts the loop (the first pass after one interval). o copied (its
 * pointers borrowed until stop). new. */
fbi_reconciler *fbi_reconciler_start(const fbi_reconcile_opts *o);
/* Stops it, waiting for a pass in progress. NULL ok. */
void fbi_reconciler_stop(fbi_reconciler *r);

typedef struct fbi_reconcile_counts {
    unsigned long runs, failures, reapplies;
    unsigned long drifted;   /* deployments drifted, missing or failed in the last pass */
    int64_t last_ok;         /* Unix seconds of the last successful pass, 0 = none */
} fbi_reconcile_counts;
void fbi_reconciler_counts(fbi_reconciler *r, fbi_reconcile_counts *out);

#endif
