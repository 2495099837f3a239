/* fanout.h - run many independent jobs (one per workload) on a bounded
 * number of threads. Internal to core. */
#ifndef FB_FANOUT_H
#define FB_FANOUT_H

#include <stddef.h>
#include "fedbroker/driver.h"

/* One job: runs on a worker thread (possibly the caller's), may call
 * host->http as often as it likes, and reports problems in an fb_diag of
 * its own that it reaches through ud (fb_diag is not thread safe: never
 * share one between jobs). Returns the job's status. */
typedef fb_status (*fbi_job_fn)(void *ud, size_t i);

/* Runs fn(ud, i) for every i in [0, n), at most `parallelism` at a time
 * (0 = http.parallelism from the configuration, see fbi_http_parallelism).
 * The calling thread is one of the workers. statuses (borrowed, n entries,
 * may be NULL) receives each job's status at its index, so results do not
 * depend on scheduling. Returns FB_OK when every job returned FB_OK, else
 * the status of the failing job with the lowest index. Jobs are started in
 * index order; every job runs even when an earlier one failed. */
fb_status fbi_fanout(size_t n, unsigned parallelism, fbi_job_fn fn, void *ud,
                     fb_status *statuses);

#endif
