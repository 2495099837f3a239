/* fanout.c - bounded parallel jobs for apply/destroy/observe across many
 * workloads. The jobs' HTTP requests all meet in the HTTP service's single
 * I/O thread (http.c), and the parallelism here bounds how many requests
 * can be outstanding at once there (fbi_http_outstanding_add: a job may
 * send several together through host->http_many), and the per-service
 * limits there bound what each provider sees. */
#include "config.h"
#include "broker/fanout.h"
#include "http/http.h"
#include "base/util.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

typedef struct fanout {
    atomic_size_t next;
    size_t n;
    fbi_job_fn fn;
    void *ud;
    fb_status *statuses;
} fanout;

/* A worker: takes the next index until none is left. */
static void *worker(void *arg)
{
    fanout *f = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&f->next, 1);
        if (i >= f->n) break;
        f->statuses[i] = f->fn(f->ud, i);
    }
    return NULL;
}

fb_status fbi_fanout(size_t n, unsigned parallelism, fbi_job_fn fn, void *ud,
                     fb_status *statuses)
{
    if (n == 0) return FB_OK;
    if (parallelism == 0) parallelism = fbi_http_parallelism();
    if (parallelism == 0) parallelism = 1;
    fanout f;
    atomic_init(&f.next, 0);
    f.n = n;
    f.fn = fn;
    f.ud = ud;
    f.statuses = statuses ? statuses : fbi_xcalloc(n, sizeof *statuses);
    size_t extra = (parallelism < n ? parallelism : n) - 1;
    pthread_t *th = extra ? fbi_xcalloc(extra, sizeof *th) : NULL;
    size_t started = 0;
    int bound = parallelism > INT_MAX ? INT_MAX : (int)parallelism;
    fbi_http_outstanding_add(bound);
    /* If the system refuses a thread, the ones we have do all the work. */
    while (started < extra && pthread_create(&th[started], NULL, worker, &f) == 0) started++;
    worker(&f);
    for (size_t i = 0; i < started; i++) pthread_join(th[i], NULL);
    fbi_http_outstanding_add(-bound);
    free(th);
    fb_status st = FB_OK;
    for (size_t i = 0; i < n && st == FB_OK; i++) st = f.statuses[i];
    if (!statuses) free(f.statuses);
    return st;
}
