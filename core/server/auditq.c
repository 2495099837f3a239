/* auditq.c - group commit of audit rows (auditq.h). */
#include "config.h"
#include "server/auditq.h"
#include "base/util.h"
#include "state/state.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
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

/* A push takes no lock (fbi_auditq_push): the row goes on `inbox`, a
 * stack of rows newest first, with one atomic compare-and-swap, and the
 * writer takes the whole stack with one exchange and reverses it, so rows
 * are written in the order their pushes took effect. Before, a push took
 * a mutex the writer (5 nice levels down) also took: under load a request
 * thread slept on that lock until the writer was scheduled again
 * (bench/README-serve.md, Stop 26). The writer sleeps on `wake`, posted by
 * the push that finds the stack empty, by a waiting push and by stop.
 * mu guards only what waiting pushers and a full queue sleep on. */
struct fbi_auditq {
    fbi_auditor *a;
    fb_store *s;
    pthread_t thread;
    _Atomic(arow *) inbox;   /* pushed rows, newest first */
    atomic_size_t pending;   /* rows pushed and not yet taken by the writer */
    atomic_uint waiters;     /* pushers waiting for their row's commit */
    atomic_int stop;
    sem_t wake;
    size_t max_pending;
    pthread_mutex_t mu;
    pthread_cond_t done; /* a batch ended (a row's outcome is set) or rows were taken */
    unsigned long rows, batches, failures; /* under mu */
    size_t inflight;                       /* rows taken and not yet committed; under mu */
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
    for (;;) {
        while (!atomic_load(&q->inbox) && !atomic_load(&q->stop)) sem_wait(&q->wake);
        if (!atomic_load(&q->inbox)) break; /* stopped with nothing queued */
        /* posts left from while it was writing (a push that found the
         * stack just taken) would end the gathering at once: drop them.
         * A waiting push counts itself in waiters before its row is
         * visible, so the test below still sees it. */
        while (sem_trywait(&q->wake) == 0)
            ;
        if (!atomic_load(&q->waiters) && !atomic_load(&q->stop) && atomic_load(&q->pending) < BATCH_MAX) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += GATHER_NS;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            /* woken early by a waiting push or stop (a plain push posts
             * only to an empty stack); rows pushed meanwhile join */
            while (sem_timedwait(&q->wake, &until) != 0 && errno == EINTR)
                ;
        }
        /* everything pushed so far, oldest first */
        arow *rows = NULL;
        size_t taken = 0;
        for (arow *r = atomic_exchange(&q->inbox, NULL); r;) {
            arow *nx = r->next;
            r->next = rows;
            rows = r;
            r = nx;
            taken++;
        }
        atomic_fetch_sub(&q->pending, taken);
        pthread_mutex_lock(&q->mu);
        q->inflight = taken;
        pthread_cond_broadcast(&q->done); /* room in the queue */
        pthread_mutex_unlock(&q->mu);
        /* at most BATCH_MAX rows a transaction: the transaction holds the
         * store's lock, and a reader that misses serve's caches waits for
         * it, so batches stay short */
        while (rows) {
            arow *batch = rows, *last = rows;
            size_t n = 1;
            while (n < BATCH_MAX && last->next) {
                last = last->next;
                n++;
            }
            rows = last->next;
            last->next = NULL;
            fb_status st = FB_OK;
            /* a busy store (another process's write) is retried: the rows
             * are not dropped; the writer keeps them until it can commit */
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
            q->inflight -= n;
            if (st == FB_OK) {
                q->rows += n;
                q->batches++;
            } else {
                q->failures += n;
            }
            pthread_cond_broadcast(&q->done);
            pthread_mutex_unlock(&q->mu);
            /* the rows are freed without the lock (no pusher refers to
             * them now): up to 256 free() calls by this thread, 5 nice
             * levels down */
            while (batch) {
                arow *nx = batch->next;
                row_free(batch);
                batch = nx;
            }
        }
    }
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
    pthread_cond_init(&q->done, NULL);
    atomic_init(&q->inbox, NULL);
    atomic_init(&q->pending, 0);
    atomic_init(&q->waiters, 0);
    atomic_init(&q->stop, 0);
    if (sem_init(&q->wake, 0, 0) != 0 || pthread_create(&q->thread, NULL, writer, q) != 0) {
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, "cannot start the audit writer thread", NULL);
        pthread_mutex_destroy(&q->mu);
        pthread_cond_destroy(&q->done);
        sem_destroy(&q->wake);
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
    /* a full queue: wait for the writer to take rows (nothing is dropped).
     * Pushes racing here may pass the bound by at most one row each (the
     * request threads: a handful) */
    if (atomic_load(&q->pending) >= q->max_pending) {
        pthread_mutex_lock(&q->mu);
        while (atomic_load(&q->pending) >= q->max_pending && !atomic_load(&q->stop))
            pthread_cond_wait(&q->done, &q->mu);
        pthread_mutex_unlock(&q->mu);
    }
    fb_status st = FB_OK;
    int finished = 0;
    if (wait) {
        r->result = &st;
        r->finished = &finished;
        atomic_fetch_add(&q->waiters, 1); /* before the row is visible: the writer must not gather */
    }
    atomic_fetch_add(&q->pending, 1);
    arow *old = atomic_load(&q->inbox);
    do
        r->next = old;
    while (!atomic_compare_exchange_weak(&q->inbox, &old, r));
    /* the writer sleeps only on an empty stack; a waited-for row also
     * ends its gathering */
    if (!old || wait) sem_post(&q->wake);
    if (wait) {
        pthread_mutex_lock(&q->mu);
        while (!finished) pthread_cond_wait(&q->done, &q->mu);
        pthread_mutex_unlock(&q->mu);
        atomic_fetch_sub(&q->waiters, 1);
    }
    return st;
}

void fbi_auditq_counts(fbi_auditq *q, unsigned long *rows, unsigned long *batches,
                       unsigned long *failures, unsigned long *queued)
{
    pthread_mutex_lock(&q->mu);
    /* the batch being written is no longer pending but not committed
     * either: counted as queued until its commit */
    *queued = atomic_load(&q->pending) + q->inflight;
    *rows = q->rows;
    *batches = q->batches;
    *failures = q->failures;
    pthread_mutex_unlock(&q->mu);
}

void fbi_auditq_stop(fbi_auditq *q)
{
    if (!q) return;
    atomic_store(&q->stop, 1); /* the writer drains the queue before it ends */
    sem_post(&q->wake);
    pthread_mutex_lock(&q->mu);
    pthread_cond_broadcast(&q->done);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->thread, NULL);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->done);
    sem_destroy(&q->wake);
    free(q);
}
