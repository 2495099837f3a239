/* auditq.c - group commit of audit rows (auditq.h). */
#include "config.h"
#include "server/auditq.h"
#include "base/util.h"
#include "state/state.h"

#include <errno.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* rows per write transaction at most */
#define BATCH_MAX 256
/* a transaction of at most this many rows signs every checkpoint row in
 * it; a larger one only its last (write_batch) */
#define BATCH_SIGN_ALL 64
/* how long the writer lets rows gather before a transaction, unless a
 * mutating call waits for its row: fewer, larger transactions for the
 * same rows, and fewer wake-ups competing with the request threads */
#define GATHER_NS (2 * 1000 * 1000)

typedef struct arow {
    struct arow *next;
    char *actor, *tenant, *action, *outcome, *detail;
    /* a waiting pusher's outcome and flag (its stack), set under the lock */
    fb_status *result;
    int *finished;
} arow;

struct fbi_auditq {
    fbi_auditor *a;
    fb_store *s;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t more, done; /* more: rows queued or stop; done: a batch ended or room freed */
    arow *head, *tail;
    size_t pending, max_pending;
    unsigned long rows, batches, failures;
    int stop;
    unsigned waiters; /* pushers waiting for their row's commit */
    size_t inflight;  /* rows of the batch being written */
};

/* A row and its strings are one allocation (row_new): one malloc on the
 * request's thread and one free on the writer's instead of six each. */
static void row_free(arow *r) { free(r); }

/* One batch of n rows in one transaction. FB_OK when committed. The rows
 * go to the store in one call (fbi_store_audit_append_many: the chain's
 * head read once, the hashes computed in the batch); ins, ids and hashes
 * are the writer's scratch arrays of BATCH_MAX. */
static fb_status write_batch(fbi_auditq *q, arow *batch, size_t n, fbi_audit_in *ins,
                             long long *ids, char (*hashes)[65], fb_diag *d)
{
    size_t i = 0;
    for (arow *r = batch; r; r = r->next, i++)
        ins[i] = (fbi_audit_in){r->actor, r->tenant, r->action, r->outcome, r->detail};
    fb_status st = fb_store_begin(q->s, d);
    if (st == FB_OK) st = fbi_store_audit_append_many(q->s, ins, n, ids, hashes, d);
    /* a checkpoint at every multiple of FBI_AUDIT_CHECKPOINT_EVERY, except
     * that a transaction of more than BATCH_SIGN_ALL rows signs only the
     * last one in it (audit.h): under load a batch of 80 rows made ten
     * Ed25519 signatures, a quarter of the writer's CPU */
    size_t last_signed = n; /* none */
    for (i = 0; st == FB_OK && i < n; i++) {
        if (ids[i] % FBI_AUDIT_CHECKPOINT_EVERY != 0) continue;
        if (n <= BATCH_SIGN_ALL) st = fbi_audit_checkpoint(q->a, q->s, ids[i], hashes[i], d);
        else last_signed = i;
    }
    if (st == FB_OK && n > BATCH_SIGN_ALL && last_signed < n)
        st = fbi_audit_checkpoint(q->a, q->s, ids[last_signed], hashes[last_signed], d);
    if (st == FB_OK) return fb_store_commit(q->s, d);
    fb_store_rollback(q->s);
    return st;
}

static void *writer(void *arg)
{
    fbi_auditq *q = arg;
    /* below the request threads: on a busy machine the writer takes the
     * CPU they leave, and its batches grow instead of delaying answers
     * (a full queue still stops them: nothing is dropped). SCHED_BATCH:
     * its wake-ups (a row after an empty queue, the end of a gather) no
     * longer preempt a request thread or a client on the 2 cores; it runs
     * at the next tick or slice end (bench/README-serve.md, part 3) */
    (void)fbi_thread_background(5);
    /* named, so per-thread CPU (/proc/PID/task) and scheduler traces tell
     * it from the request threads (bench/serve_ab.sh, serve_sched.py) */
    (void)pthread_setname_np(pthread_self(), "fb-audit");
    /* its time slice stays the kernel's: a longer one would let a woken
     * request thread (100 us, --slice-us) preempt it, but would also keep
     * tasks that are runnable without a wake-up waiting behind it until
     * its slice ends; not measured yet (bench/README-serve.md) */
    /* the batch's scratch arrays, reused for every batch */
    fbi_audit_in *ins = fbi_xcalloc(BATCH_MAX, sizeof *ins);
    long long *ids = fbi_xcalloc(BATCH_MAX, sizeof *ids);
    char (*hashes)[65] = fbi_xcalloc(BATCH_MAX, sizeof *hashes);
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (!q->head && !q->stop) pthread_cond_wait(&q->more, &q->mu);
        if (!q->head && q->stop) break;
        if (!q->waiters && !q->stop && q->pending < BATCH_MAX) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += GATHER_NS;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            /* woken early by a waiter or stop; rows pushed meanwhile join */
            pthread_cond_timedwait(&q->more, &q->mu, &until);
        }
        /* take what is queued, at most BATCH_MAX rows: the transaction
         * holds the store's lock, and a reader that misses serve's caches
         * waits for it, so batches stay short; rows pushed meanwhile wait
         * for the next one */
        arow *batch = q->head, *last = q->head;
        size_t n = 1;
        while (n < BATCH_MAX && last->next) {
            last = last->next;
            n++;
        }
        q->head = last->next;
        if (!q->head) q->tail = NULL;
        last->next = NULL;
        q->pending -= n;
        q->inflight = n;
        pthread_cond_broadcast(&q->done); /* room in the queue */
        pthread_mutex_unlock(&q->mu);
        fb_status st = FB_OK;
        /* a busy store (another process's write) is retried: the rows are
         * not dropped; the writer keeps them until it can commit */
        for (int attempt = 0; attempt < 10; attempt++) {
            fb_diag *d = fb_diag_new();
            st = write_batch(q, batch, n, ins, ids, hashes, d);
            if (st != FB_OK && (attempt == 0 || attempt == 9)) fb_diag_print(d, stderr);
            fb_diag_free(d);
            if (st != FB_RETRYABLE) break;
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (st != FB_OK)
            fprintf(stderr, "fedbroker serve: %zu audit row%s could not be written (see above)\n", n,
                    n == 1 ? "" : "s");
        pthread_mutex_lock(&q->mu);
        for (arow *r = batch; r; r = r->next)
            if (r->finished) {
                *r->result = st;
                *r->finished = 1;
            }
        q->inflight = 0;
        if (st == FB_OK) {
            q->rows += n;
            q->batches++;
        } else {
            q->failures += n;
        }
        pthread_cond_broadcast(&q->done);
        /* the rows are freed without the lock (no pusher refers to them
         * now): up to 256 free() calls, and this thread,
         * 5 nice levels down, preempted while holding the lock would
         * stall every request thread's push (priority inversion) */
        pthread_mutex_unlock(&q->mu);
        while (batch) {
            arow *nx = batch->next;
            row_free(batch);
            batch = nx;
        }
        pthread_mutex_lock(&q->mu);
    }
    pthread_mutex_unlock(&q->mu);
    free(ins);
    free(ids);
    free(hashes);
    return NULL;
}

fb_status fbi_auditq_start(fbi_auditor *a, fb_store *s, size_t max_pending, fbi_auditq **out,
                           fb_diag *diag)
{
    fbi_auditq *q = fbi_xcalloc(1, sizeof *q);
    q->a = a;
    q->s = s;
    q->max_pending = max_pending ? max_pending : 65536;
    /* request threads may be real-time (--rt-priority): the writer holds
     * this lock briefly but at nice +5 (util.h) */
    fbi_mutex_init_pi(&q->mu);
    pthread_cond_init(&q->more, NULL);
    pthread_cond_init(&q->done, NULL);
    if (pthread_create(&q->thread, NULL, writer, q) != 0) {
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, "cannot start the audit writer thread", NULL);
        pthread_mutex_destroy(&q->mu);
        pthread_cond_destroy(&q->more);
        pthread_cond_destroy(&q->done);
        free(q);
        *out = NULL;
        return FB_INTERNAL;
    }
    *out = q;
    return FB_OK;
}

/* new: the row with copies of the strings (NULL stays NULL) after it */
static arow *row_new(const char *actor, const char *tenant, const char *action, const char *outcome,
                     const char *detail)
{
    const char *src[5] = {actor, tenant, action, outcome, detail};
    size_t len[5], total = sizeof(arow);
    for (int i = 0; i < 5; i++) {
        len[i] = src[i] ? strlen(src[i]) + 1 : 0;
        total += len[i];
    }
    arow *r = fbi_xcalloc(1, total);
    char *p = (char *)(r + 1);
    char **dst[5] = {&r->actor, &r->tenant, &r->action, &r->outcome, &r->detail};
    for (int i = 0; i < 5; i++) {
        if (!src[i]) continue;
        memcpy(p, src[i], len[i]);
        *dst[i] = p;
        p += len[i];
    }
    return r;
}

fb_status fbi_auditq_push(fbi_auditq *q, const char *actor, const char *tenant, const char *action,
                          const char *outcome, const char *detail_json, int wait)
{
    arow *r = row_new(actor, tenant, action, outcome, detail_json);
    pthread_mutex_lock(&q->mu);
    while (q->pending >= q->max_pending && !q->stop) pthread_cond_wait(&q->done, &q->mu);
    fb_status st = FB_OK;
    int finished = 0;
    if (wait) {
        r->result = &st;
        r->finished = &finished;
    }
    if (q->tail) q->tail->next = r;
    else q->head = r;
    q->tail = r;
    q->pending++;
    /* the writer needs a wake-up only when it may be asleep on an empty
     * queue, or when this row is waited for (it may be gathering) */
    if (q->pending == 1 || wait) pthread_cond_signal(&q->more);
    if (wait) q->waiters++;
    while (wait && !finished) pthread_cond_wait(&q->done, &q->mu);
    if (wait) q->waiters--;
    pthread_mutex_unlock(&q->mu);
    return st;
}

void fbi_auditq_counts(fbi_auditq *q, unsigned long *rows, unsigned long *batches,
                       unsigned long *failures, unsigned long *queued)
{
    pthread_mutex_lock(&q->mu);
    /* the batch being written is no longer pending but not committed
     * either: counted as queued until its commit */
    *queued = q->pending + q->inflight;
    *rows = q->rows;
    *batches = q->batches;
    *failures = q->failures;
    pthread_mutex_unlock(&q->mu);
}

void fbi_auditq_stop(fbi_auditq *q)
{
    if (!q) return;
    pthread_mutex_lock(&q->mu);
    q->stop = 1; /* the writer drains the queue before it ends */
    pthread_cond_broadcast(&q->more);
    pthread_cond_broadcast(&q->done);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->thread, NULL);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->more);
    pthread_cond_destroy(&q->done);
    free(q);
}
