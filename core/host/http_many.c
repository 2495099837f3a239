/* http_many.c - host->http_many (ABI 1.4): a batch of a driver call's
 * independent requests in flight together, with the semantics of as many
 * host->http calls in order (docs/driver-abi.md, "A batch of requests").
 *
 * How: everything that host->http does to the call's context (its secret
 * list, a dry run's records, the record barrier) is done here first, on
 * the calling thread and in request order; then the performs run on a few
 * threads (the caller and pool threads), each request with a scratch fb_diag bound to the
 * same call (so its diagnostics and log lines are redacted with the call's
 * secrets, which are only read meanwhile), and the scratch diagnostics are
 * moved into the call's diag in request order once all are done. */
#include "config.h"
#include "base/call.h"
#include "base/diag.h"
#include "base/util.h"
#include "http/http.h"
#include "host/host.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Threads per batch, the calling thread included. The HTTP service's I/O
 * thread does the transfers; these only wait for them, so a few more than
 * a workload's objects is plenty, and the per-service concurrency limit
 * (http.services.NAME.concurrency) still caps what reaches a server. */
#define MANY_THREADS 16
/* The helpers come from a process-wide pool, started as batches first need
 * them and kept (a thread per batch cost a clone, a fresh stack and its
 * page faults for every workload of an apply). At most this many; a batch
 * that finds none free sends its requests on the threads it has. */
#define MANY_POOL 128

typedef struct many_job {
    const fb_http_request *const *reqs;
    fb_http_response *resps;
    fb_status *statuses;
    fb_diag **scratch;
    size_t n;
    size_t next;              /* the next request to send; taken with __atomic */
    /* under pool_mu: */
    size_t wanted;            /* helpers it still takes */
    size_t active;            /* helpers working on it */
    int queued;               /* on the pool's queue */
    struct many_job *qnext;
} many_job;

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_work = PTHREAD_COND_INITIALIZER; /* a job wants helpers */
static pthread_cond_t pool_done = PTHREAD_COND_INITIALIZER; /* a helper left a job */
static many_job *pool_head, *pool_tail;                      /* jobs wanting helpers */
static size_t pool_threads, pool_idle;

static void run_jobs(many_job *j)
{
    for (;;) {
        size_t i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
        if (i >= j->n) return;
        j->statuses[i] = fbi_http_perform(j->scratch[i], j->reqs[i], &j->resps[i]);
    }
}

/* Takes j off the queue; pool_mu held. */
static void unqueue(many_job *j)
{
    many_job *prev = NULL;
    for (many_job *q = pool_head; q; prev = q, q = q->qnext) {
        if (q != j) continue;
        if (prev) prev->qnext = q->qnext;
        else pool_head = q->qnext;
        if (pool_tail == q) pool_tail = prev;
        break;
    }
    j->queued = 0;
    j->qnext = NULL;
}

/* A pool thread: helps the oldest job that wants helpers, for ever. A job
 * is not touched after its last helper says it left (its owner may then
 * return and the job, on the owner's stack, be gone). */
static void *pool_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&pool_mu);
    for (;;) {
        while (!pool_head) {
            pool_idle++;
            pthread_cond_wait(&pool_work, &pool_mu);
            pool_idle--;
        }
        many_job *j = pool_head;
        j->active++;
        if (--j->wanted == 0) unqueue(j);
        pthread_mutex_unlock(&pool_mu);
        run_jobs(j);
        pthread_mutex_lock(&pool_mu);
        if (--j->active == 0) pthread_cond_broadcast(&pool_done);
    }
    return NULL;
}

/* Runs j on the calling thread and up to want pool threads; returns when
 * every request of j is done. */
static void run_batch(many_job *j, size_t want)
{
    pthread_mutex_lock(&pool_mu);
    j->wanted = want;
    j->active = 0;
    j->qnext = NULL;
    j->queued = want > 0;
    if (j->queued) {
        if (pool_tail) pool_tail->qnext = j;
        else pool_head = j;
        pool_tail = j;
    }
    /* start threads until as many are idle as this batch wants (other
     * batches may take some first: then this one does more itself) */
    if (pool_idle < want) {
        pthread_attr_t attr;
        if (pthread_attr_init(&attr) == 0) {
            if (pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) == 0) {
                for (size_t spare = pool_idle; spare < want && pool_threads < MANY_POOL; spare++) {
                    pthread_t t;
                    if (pthread_create(&t, &attr, pool_main, NULL) != 0) break;
                    pool_threads++;
                }
            }
            pthread_attr_destroy(&attr);
        }
    }
    for (size_t k = 0; k < want; k++) pthread_cond_signal(&pool_work);
    pthread_mutex_unlock(&pool_mu);
    run_jobs(j);
    /* every request is taken: no helper may join from now on; wait for
     * those that did */
    pthread_mutex_lock(&pool_mu);
    if (j->queued) unqueue(j);
    while (j->active) pthread_cond_wait(&pool_done, &pool_mu);
    pthread_mutex_unlock(&pool_mu);
}

/* Whether host->http would take the record barrier before req. */
static int may_change(const fb_http_request *req)
{
    size_t sz = req->struct_size ? req->struct_size : sizeof *req;
    uint32_t flags = sz >= offsetof(fb_http_request, flags) + sizeof req->flags ? req->flags : 0;
    return req->method && strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0 &&
           !(flags & FB_HTTP_READ_ONLY);
}

fb_status fbi_host_http_many(fb_diag *d, const fb_http_request *const *reqs, size_t n,
                             fb_http_response *resps, fb_status *statuses)
{
    if (n == 0) return FB_OK;
    if (!reqs || !resps || !statuses) {
        fb_diag_add(d, FB_SEV_ERROR, NULL, 0, 0, NULL, "host->http_many without its arrays",
                    "pass n requests, n responses and n statuses");
        if (statuses)
            for (size_t i = 0; i < n; i++) statuses[i] = FB_INVALID;
        if (resps) memset(resps, 0, n * sizeof *resps);
        return FB_INVALID;
    }
    memset(resps, 0, n * sizeof *resps);
    for (size_t i = 0; i < n; i++) {
        if (!reqs[i]) {
            fb_diag_add(d, FB_SEV_ERROR, NULL, 0, 0, NULL, "host->http_many: a request is NULL",
                        "pass n requests");
            for (size_t k = 0; k < n; k++) statuses[k] = FB_INVALID;
            return FB_INVALID;
        }
    }
    fbi_call *c = fbi_call_of(d);
    const fb_host *h = fb_host_table();
    /* A dry run sends nothing: host->http records each request, in order. */
    if (n == 1 || (c && c->dry_run)) {
        for (size_t i = 0; i < n; i++) statuses[i] = h->http(d, reqs[i], &resps[i]);
        return FB_OK;
    }
    /* From now on the call knows what the batch sends (host->http's rule),
     * before any answer can quote it; the list is only read below. */
    int change = 0;
    for (size_t i = 0; i < n; i++) {
        if (c) fbi_secrets_add_request(&c->secrets, reqs[i]);
        change |= may_change(reqs[i]);
    }
    if (c && c->barrier_cb && change) {
        fb_status st = c->barrier_cb(c->barrier_ud, d);
        if (st != FB_OK) {
            for (size_t i = 0; i < n; i++) statuses[i] = st;
            return st;
        }
    }
    many_job j;
    memset(&j, 0, sizeof j);
    j.reqs = reqs;
    j.resps = resps;
    j.statuses = statuses;
    j.n = n;
    j.scratch = fbi_xmalloc(n * sizeof *j.scratch);
    for (size_t i = 0; i < n; i++) {
        j.scratch[i] = fb_diag_new();
        j.scratch[i]->call = c;
        statuses[i] = FB_INTERNAL;
    }
    run_batch(&j, n < MANY_THREADS ? n - 1 : MANY_THREADS - 1);
    for (size_t i = 0; i < n; i++) {
        j.scratch[i]->call = NULL;
        if (d) fb_diag_move(d, j.scratch[i]);
        fb_diag_free(j.scratch[i]);
    }
    free(j.scratch);
    return FB_OK;
}
