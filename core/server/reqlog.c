/* reqlog.c - serve's buffered request log (reqlog.h). */
#include "config.h"
#include "server/reqlog.h"
#include "base/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct fbi_reqlog {
    FILE *f;
    pthread_t thread;
    pthread_mutex_t mu;       /* buf, len, stop */
    pthread_mutex_t write_mu; /* one writer at a time, so buffers reach f in the order they filled */
    pthread_cond_t nonempty;
    char *buf, *spare; /* each FBI_REQLOG_MAX bytes */
    size_t len;
    int stop;
};

/* Takes what is buffered and writes it, outside mu. Call with write_mu
 * held and mu not held. */
static void flush_locked(fbi_reqlog *l)
{
    pthread_mutex_lock(&l->mu);
    char *out = l->buf;
    size_t n = l->len;
    l->buf = l->spare;
    l->len = 0;
    l->spare = out;
    pthread_mutex_unlock(&l->mu);
    if (n) {
        fwrite(out, 1, n, l->f);
        fflush(l->f);
    }
}

/* Writes what is buffered, after any write under way. Call without mu. */
static void flush(fbi_reqlog *l)
{
    pthread_mutex_lock(&l->write_mu);
    flush_locked(l);
    pthread_mutex_unlock(&l->write_mu);
}

/* Frees l and its buffers (the flusher stopped or never started). */
static void destroy(fbi_reqlog *l)
{
    pthread_mutex_destroy(&l->mu);
    pthread_mutex_destroy(&l->write_mu);
    pthread_cond_destroy(&l->nonempty);
    free(l->buf);
    free(l->spare);
    free(l);
}

static void *flusher(void *arg)
{
    fbi_reqlog *l = arg;
    /* a batch thread: its 10 ms wake-ups do not preempt request threads
     * (same nice level: it keeps its share of the CPU, so the buffer
     * drains) */
    (void)fbi_thread_background(0);
    (void)pthread_setname_np(pthread_self(), "fb-reqlog");
    pthread_mutex_lock(&l->mu);
    while (!l->stop) {
        while (!l->len && !l->stop) pthread_cond_wait(&l->nonempty, &l->mu);
        pthread_mutex_unlock(&l->mu);
        /* let lines gather: one write for every line of the interval */
        struct timespec ts = {0, FBI_REQLOG_FLUSH_MS * 1000L * 1000L};
        nanosleep(&ts, NULL);
        flush(l);
        pthread_mutex_lock(&l->mu);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

fbi_reqlog *fbi_reqlog_start(FILE *f)
{
    fbi_reqlog *l = fbi_xcalloc(1, sizeof *l);
    l->f = f;
    l->buf = fbi_xmalloc(FBI_REQLOG_MAX);
    l->spare = fbi_xmalloc(FBI_REQLOG_MAX);
    /* shared with real-time request threads (--rt-priority; util.h) */
    fbi_mutex_init_pi(&l->mu);
    pthread_mutex_init(&l->write_mu, NULL);
    pthread_cond_init(&l->nonempty, NULL);
    if (pthread_create(&l->thread, NULL, flusher, l) != 0) {
        destroy(l);
        return NULL;
    }
    return l;
}

void fbi_reqlog_line(fbi_reqlog *l, const char *line, size_t n)
{
    if (n > FBI_REQLOG_MAX) { /* longer than the buffer: written through, in order */
        pthread_mutex_lock(&l->write_mu);
        flush_locked(l);
        fwrite(line, 1, n, l->f);
        fflush(l->f);
        pthread_mutex_unlock(&l->write_mu);
        return;
    }
    pthread_mutex_lock(&l->mu);
    while (l->len + n > FBI_REQLOG_MAX) {
        /* full: this thread writes the buffer (the flusher is behind) */
        pthread_mutex_unlock(&l->mu);
        flush(l);
        pthread_mutex_lock(&l->mu);
    }
    int wake = l->len == 0; /* the flusher sleeps on an empty buffer only */
    memcpy(l->buf + l->len, line, n);
    l->len += n;
    if (wake) pthread_cond_signal(&l->nonempty);
    pthread_mutex_unlock(&l->mu);
}

void fbi_reqlog_stop(fbi_reqlog *l)
{
    if (!l) return;
    pthread_mutex_lock(&l->mu);
    l->stop = 1;
    pthread_cond_signal(&l->nonempty);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL);
    flush(l); /* what came after the flusher's last write */
    destroy(l);
}
