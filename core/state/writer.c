/* writer.c - batched store writes for a parallel apply (see writer.h).
 *
 * Why: with 64 lanes each waiting three times per workload for the store's
 * lock (intent, record, outcome), the waits added about 3 ms to every
 * workload's 40 ms of requests, a tenth of a parallel apply's wall time
 * (bench/README-aws.md). Here one thread writes whatever has been queued
 * in one transaction, and a lane waits only when it is about to change
 * something at a provider, by which time its writes are usually long
 * committed. */
#include "config.h"
#include "state/writer.h"
#include "base/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

/* Group commit: a batch nobody waits for yet is held open up to the
 * writer's linger after its first write, or until it holds GROUP_MAX
 * writes, so that the writes of many lanes share one transaction (one
 * BEGIN/COMMIT, and the pages they share written to the WAL once). A
 * lane arriving at its barrier, and finish, end the wait at once: no lane
 * waits longer for its writes than without it. A lane's barrier comes one
 * provider round trip after its intent is queued, so the intent's commit
 * is normally done by then.
 *
 * The linger adapts to that round trip: it grows (x 1.25, up to
 * GROUP_LINGER_MAX_MS) each time it runs out with no lane waiting, and
 * halves (down to GROUP_LINGER_MIN_MS) each time a lane's barrier cuts it
 * short, so it stays under the time from a lane's intent to its barrier.
 * At 20 ms per request (AWS) it settles at the maximum: fewer, larger
 * commits (pwrite64 of WAL pages 7.2 K -> 5.2 K per 1,000-function apply,
 * bench/README-aws.md, Stop 27); at 5 ms (the k8s bench) near the
 * minimum, which was the fixed linger before. */
#define GROUP_LINGER_MIN_MS 4.0
#define GROUP_LINGER_MAX_MS 16.0
#define GROUP_MAX 256

typedef struct write_op {
    fbi_write_slot *slot;
    fbi_write_fn fn;
    void *ud;
    fbi_write_done_fn done;
    fb_status st;
    fb_diag *diag; /* the write's messages, handed to the slot after commit */
    struct write_op *next;
} write_op;

/* A lane waiting at its barrier, on its own condition (on its stack):
 * the writer wakes only the lanes whose writes a commit covered. One
 * condition shared by all (a broadcast per commit) woke every waiting
 * lane at every commit to find most of them not done: at 32 lanes that
 * herd was ~5 % of a parallel apply's CPU in futex calls
 * (bench/README-k8s.md). */
typedef struct waiter {
    unsigned long long upto;
    pthread_cond_t cv;
    struct waiter *next;
} waiter;

struct fbi_writer {
    fb_store *store;
    pthread_mutex_t mu;
    pthread_cond_t work;     /* something queued, or stop */
    waiter *waiters;         /* lanes at a barrier */
    write_op *head, **tail;
    unsigned long long queued, committed;
    size_t nqueued;          /* writes in head (the next batch) */
    double first_at;         /* fbi_mono_ms of the batch's first write */
    int lingering;           /* the writer waits for more writes (signal work on a barrier) */
    double linger_ms;        /* the current linger (writer's thread only) */
    int stop;
    pthread_t thread;
};

/* Moves src's messages to the end of *dst (created on demand). */
static void diag_move(fb_diag **dst, fb_diag *src)
{
    if (!src || fb_diag_count(src) == 0) return;
    if (!*dst) *dst = fb_diag_new();
    fb_diag_move(*dst, src);
}

/* Runs a batch in one transaction. When the transaction itself fails,
 * every write of the batch fails with its message. Writer's thread (or
 * the caller's, without a thread); no lock held. */
static void run_batch(fb_store *s, write_op *ops)
{
    fb_diag *td = fb_diag_new();
    fb_status ts = fb_store_begin(s, td);
    for (write_op *o = ops; o; o = o->next) {
        o->diag = fb_diag_new();
        o->st = ts == FB_OK ? o->fn(s, o->ud, o->diag) : ts;
    }
    if (ts == FB_OK) ts = fb_store_commit(s, td);
    for (write_op *o = ops; o; o = o->next) {
        if (ts != FB_OK) {
            for (size_t i = 0; i < fb_diag_count(td); i++)
                fb_diag_add(o->diag, FB_SEV_ERROR, NULL, 0, 0, NULL, fb_diag_summary(td, i),
                            fb_diag_detail(td, i));
            if (o->st == FB_OK) o->st = ts;
        }
        if (o->done) o->done(o->ud, o->st);
        o->ud = NULL;
    }
    fb_diag_free(td);
}

/* Hands each write's outcome to its slot and frees the batch: the slot
 * keeps its first failure and that failure's messages (a failed
 * transaction fails every write of the lane in it with the same message).
 * Lock held when there is a writer. */
static void settle(write_op *ops)
{
    while (ops) {
        write_op *next = ops->next;
        if (ops->st != FB_OK && ops->slot->st == FB_OK) {
            ops->slot->st = ops->st;
            diag_move(&ops->slot->diag, ops->diag);
        } else if (ops->st == FB_OK) {
            diag_move(&ops->slot->diag, ops->diag); /* warnings of a write that worked */
        }
        fb_diag_free(ops->diag);
        free(ops);
        ops = next;
    }
}

/* Waits (lock held) until the batch in head should be written: a lane is
 * at its barrier, the writer is stopping, the batch is full, or
 * the linger has passed since its first write. */
static void linger(fbi_writer *w)
{
    w->lingering = 1;
    int ran_out = 0;
    while (!w->stop && !w->waiters && w->nqueued < GROUP_MAX) {
        double left = w->first_at + w->linger_ms - fbi_mono_ms();
        if (left <= 0) {
            ran_out = 1;
            break;
        }
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        long long ns = until.tv_nsec + (long long)(left * 1e6);
        until.tv_sec += (time_t)(ns / 1000000000);
        until.tv_nsec = (long)(ns % 1000000000);
        pthread_cond_timedwait(&w->work, &w->mu, &until);
    }
    w->lingering = 0;
    if (w->waiters) {
        w->linger_ms /= 2;
        if (w->linger_ms < GROUP_LINGER_MIN_MS) w->linger_ms = GROUP_LINGER_MIN_MS;
    } else if (ran_out) {
        w->linger_ms *= 1.25;
        if (w->linger_ms > GROUP_LINGER_MAX_MS) w->linger_ms = GROUP_LINGER_MAX_MS;
    }
}

static void *writer_main(void *arg)
{
    fbi_writer *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->head && !w->stop) pthread_cond_wait(&w->work, &w->mu);
        if (!w->head) break;
        linger(w);
        write_op *ops = w->head;
        unsigned long long upto = w->queued;
        w->head = NULL;
        w->tail = &w->head;
        w->nqueued = 0;
        pthread_mutex_unlock(&w->mu);
        run_batch(w->store, ops);
        pthread_mutex_lock(&w->mu);
        settle(ops);
        w->committed = upto;
        for (waiter **pp = &w->waiters; *pp;) {
            waiter *wt = *pp;
            if (wt->upto <= upto) {
                *pp = wt->next; /* unlinked here: the lane owns it again once woken */
                pthread_cond_signal(&wt->cv);
            } else {
                pp = &wt->next;
            }
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

fbi_writer *fbi_writer_start(fb_store *s)
{
    fbi_writer *w = fbi_xcalloc(1, sizeof *w);
    w->store = s;
    w->tail = &w->head;
    w->linger_ms = GROUP_LINGER_MIN_MS;
    pthread_mutex_init(&w->mu, NULL);
    /* linger's deadline is on the monotonic clock */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->work, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->work);
        free(w);
        return NULL;
    }
    return w;
}

void fbi_writer_put(fbi_writer *w, fb_store *s, fbi_write_slot *slot, fbi_write_fn fn, void *ud,
                    fbi_write_done_fn done)
{
    write_op *o = fbi_xcalloc(1, sizeof *o);
    o->slot = slot;
    o->fn = fn;
    o->ud = ud;
    o->done = done;
    if (!w) {
        run_batch(s, o);
        settle(o);
        return;
    }
    pthread_mutex_lock(&w->mu);
    /* the writer sleeps only while the queue is empty, or lingers over a
     * batch until it is full: only those two need a signal */
    int wake = !w->head || w->nqueued + 1 == GROUP_MAX;
    if (!w->head) w->first_at = fbi_mono_ms();
    *w->tail = o;
    w->tail = &o->next;
    w->nqueued++;
    slot->last = ++w->queued;
    if (wake) pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
}

fb_status fbi_writer_wait(fbi_writer *w, fbi_write_slot *slot, fb_diag *d)
{
    if (w) {
        pthread_mutex_lock(&w->mu);
        if (w->committed < slot->last) {
            waiter me;
            me.upto = slot->last;
            pthread_cond_init(&me.cv, NULL);
            me.next = w->waiters;
            w->waiters = &me;
            if (w->lingering) pthread_cond_signal(&w->work); /* write it now */
            /* the writer unlinks me before it signals, and only once
             * committed covers upto */
            while (w->committed < me.upto) pthread_cond_wait(&me.cv, &w->mu);
            pthread_cond_destroy(&me.cv);
        }
    }
    fb_status st = slot->st;
    if (st != FB_OK && slot->diag) {
        diag_move(&d, slot->diag);
        fb_diag_free(slot->diag);
        slot->diag = NULL;
    }
    if (w) pthread_mutex_unlock(&w->mu);
    return st;
}

void fbi_writer_finish(fbi_writer *w)
{
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->work);
    free(w);
}
