/* http_many.c - host->http_many (ABI 1.4): a batch of a driver call's
 * independent requests in flight together, with the semantics of as many
 * host->http calls in order (docs/driver-abi.md, "A batch of requests").
 *
 * How: everything that host->http does to the call's context (its secret
 * list, a dry run's records, the record barrier) is done here first, on
 * the calling thread and in request order; then the performs run on a few
 * short-lived threads, each request with a scratch fb_diag bound to the
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

typedef struct many_job {
    const fb_http_request *const *reqs;
    fb_http_response *resps;
    fb_status *statuses;
    fb_diag **scratch;
    size_t n;
    size_t next; /* the next request to send; taken with __atomic */
} many_job;

static void run_jobs(many_job *j)
{
    for (;;) {
        size_t i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
        if (i >= j->n) return;
        j->statuses[i] = fbi_http_perform(j->scratch[i], j->reqs[i], &j->resps[i]);
    }
}

static void *worker(void *arg)
{
    run_jobs(arg);
    return NULL;
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
    many_job j = {reqs, resps, statuses, NULL, n, 0};
    j.scratch = fbi_xmalloc(n * sizeof *j.scratch);
    for (size_t i = 0; i < n; i++) {
        j.scratch[i] = fb_diag_new();
        j.scratch[i]->call = c;
        statuses[i] = FB_INTERNAL;
    }
    pthread_t tids[MANY_THREADS - 1];
    size_t started = 0, want = n < MANY_THREADS ? n - 1 : MANY_THREADS - 1;
    /* a thread that cannot be started leaves its share to the others */
    while (started < want && pthread_create(&tids[started], NULL, worker, &j) == 0) started++;
    run_jobs(&j);
    for (size_t t = 0; t < started; t++) pthread_join(tids[t], NULL);
    for (size_t i = 0; i < n; i++) {
        j.scratch[i]->call = NULL;
        if (d) fb_diag_move(d, j.scratch[i]);
        fb_diag_free(j.scratch[i]);
    }
    free(j.scratch);
    return FB_OK;
}
