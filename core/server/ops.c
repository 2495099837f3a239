/* ops.c - asynchronous operations as fedbroker subprocesses (ops.h). */
#include "config.h"
#include "server/ops.h"
#include "base/util.h"
#include "http/http.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

enum { Q_QUEUED, Q_RUNNING, Q_SUCCEEDED, Q_FAILED };
static const char *const STATE[] = {"queued", "running", "succeeded", "failed"};

typedef struct op {
    char id[24], kind[16];
    char *tenant;
    char **argv;          /* exe first; owned */
    int state, exit_code;
    json_t *progress;     /* array of strings */
    char *out;            /* stdout */
    size_t out_len;
    int out_truncated;
    char created_at[32], finished_at[32];
} op;

struct fbi_ops {
    char *exe, *home;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    op *ops[FBI_OPS_KEEP]; /* ring: the last FBI_OPS_KEEP operations */
    unsigned long next;    /* operations submitted so far */
    unsigned long done;    /* the worker has taken operations [0, done) */
    int stop;
    pthread_t worker;
};

static void now_iso(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void op_free(op *p)
{
    if (!p) return;
    for (char **a = p->argv; a && *a; a++) free(*a);
    free(p->argv);
    free(p->tenant);
    free(p->out);
    json_decref(p->progress);
    free(p);
}

/* Adds a complete stderr line to the progress (under the lock). */
static void progress_line(fbi_ops *o, op *p, const char *line, size_t n)
{
    pthread_mutex_lock(&o->mu);
    if (json_array_size(p->progress) >= FBI_OPS_PROGRESS_MAX) json_array_remove(p->progress, 0);
    json_array_append_new(p->progress, json_stringn_nocheck(line, n));
    pthread_mutex_unlock(&o->mu);
}

/* Runs one operation to its end: stdout collected (bounded), stderr lines
 * as progress. */
static void run(fbi_ops *o, op *p)
{
    int out[2] = {-1, -1}, err[2] = {-1, -1};
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
        progress_line(o, p, "cannot create pipes", 19);
        p->exit_code = 1;
        return;
    }
    /* the command's provider calls come back on a socket of their own
     * (fd 3 in the command, FEDBROKER_METRICS_FD; http.h), one message
     * each, and go to serve's /metrics under the operation's kind;
     * without it the operation still runs, uncounted */
    int met[2] = {-1, -1};
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, met) != 0) met[0] = met[1] = -1;
    if (met[1] == 3) { /* dup2(3, 3) would leave it close-on-exec */
        int moved = fcntl(met[1], F_DUPFD_CLOEXEC, 4);
        close(met[1]);
        met[1] = moved;
        if (moved < 0) {
            close(met[0]);
            met[0] = -1;
        }
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (met[1] >= 0) posix_spawn_file_actions_adddup2(&fa, met[1], 3);
    /* the server's environment, with the broker home it serves */
    size_t ne = 0;
    while (environ[ne]) ne++;
    char **env = fbi_xcalloc(ne + 3, sizeof *env);
    size_t k = 0;
    for (size_t i = 0; i < ne; i++)
        if (strncmp(environ[i], "FEDBROKER_HOME=", 15) != 0 &&
            strncmp(environ[i], FBI_METRICS_FD_ENV "=", sizeof FBI_METRICS_FD_ENV) != 0)
            env[k++] = environ[i];
    char *home = fbi_xasprintf("FEDBROKER_HOME=%s", o->home);
    env[k++] = home;
    if (met[1] >= 0) env[k++] = FBI_METRICS_FD_ENV "=3";
    /* serve blocks SIGINT and SIGTERM in every thread: the child must not */
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
    pid_t pid;
    int rc = posix_spawn(&pid, o->exe, &fa, &at, p->argv, env);
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    free(home);
    free(env);
    close(out[1]);
    close(err[1]);
    if (met[1] >= 0) close(met[1]);
    if (rc != 0) {
        char *m = fbi_xasprintf("cannot run %s: %s", o->exe, strerror(rc));
        progress_line(o, p, m, strlen(m));
        free(m);
        close(out[0]);
        close(err[0]);
        if (met[0] >= 0) close(met[0]);
        p->exit_code = 1;
        return;
    }
    char line[4096];
    size_t ll = 0;
    struct pollfd fds[3] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}, {met[0], POLLIN, 0}};
    int open_fds = met[0] >= 0 ? 3 : 2;
    while (open_fds > 0) {
        if (poll(fds, 3, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < 3; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            char buf[8192];
            ssize_t r = read(fds[i].fd, buf, sizeof buf);
            if (r <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
                continue;
            }
            if (i == 2) {
                /* one observation per message (a longer one is cut by the
                 * socket and then refused by the parser) */
                fbi_http_metrics_ingest(p->kind, buf, (size_t)r);
            } else if (i == 0) {
                size_t take = p->out_len + (size_t)r > FBI_OPS_OUTPUT_MAX ? FBI_OPS_OUTPUT_MAX - p->out_len : (size_t)r;
                if (take < (size_t)r) p->out_truncated = 1;
                p->out = realloc(p->out, p->out_len + take + 1);
                if (!p->out) abort();
                memcpy(p->out + p->out_len, buf, take);
                p->out_len += take;
                p->out[p->out_len] = 0;
            } else {
                for (ssize_t j = 0; j < r; j++) {
                    if (buf[j] == '\n' || ll == sizeof line) {
                        progress_line(o, p, line, ll);
                        ll = 0;
                        if (buf[j] == '\n') continue;
                    }
                    line[ll++] = buf[j];
                }
            }
        }
    }
    for (int i = 0; i < 3; i++) /* poll failed: what is still open */
        if (fds[i].fd >= 0) close(fds[i].fd);
    if (ll) progress_line(o, p, line, ll);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    p->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static void *worker(void *arg)
{
    fbi_ops *o = arg;
    pthread_mutex_lock(&o->mu);
    for (;;) {
        while (o->done == o->next && !o->stop) pthread_cond_wait(&o->cv, &o->mu);
        if (o->stop) break;
        op *p = o->ops[o->done % FBI_OPS_KEEP];
        o->done++;
        if (!p || p->state != Q_QUEUED) continue;
        p->state = Q_RUNNING;
        pthread_mutex_unlock(&o->mu);
        run(o, p); /* p stays: the ring never drops a running operation (see submit) */
        pthread_mutex_lock(&o->mu);
        p->state = p->exit_code == 0 ? Q_SUCCEEDED : Q_FAILED;
        now_iso(p->finished_at);
    }
    pthread_mutex_unlock(&o->mu);
    return NULL;
}

int fbi_ops_run_sync(fbi_ops *o, const char *const *argv, char **out, size_t *out_len, json_t **progress)
{
    op p;
    memset(&p, 0, sizeof p);
    size_t n = 0;
    while (argv[n]) n++;
    p.argv = fbi_xcalloc(n + 2, sizeof *p.argv);
    p.argv[0] = fbi_xstrdup(o->exe);
    for (size_t i = 0; i < n; i++) p.argv[i + 1] = fbi_xstrdup(argv[i]);
    p.progress = json_array();
    snprintf(p.kind, sizeof p.kind, "reconcile"); /* its provider calls' operation label */
    run(o, &p);
    for (char **a = p.argv; *a; a++) free(*a);
    free(p.argv);
    *out = p.out ? p.out : fbi_xstrdup("");
    *out_len = p.out_len;
    if (progress) *progress = p.progress;
    else json_decref(p.progress);
    return p.out_truncated ? -1 : p.exit_code;
}

fbi_ops *fbi_ops_new(const char *exe, const char *home)
{
    fbi_ops *o = fbi_xcalloc(1, sizeof *o);
    o->exe = fbi_xstrdup(exe);
    o->home = fbi_xstrdup(home);
    pthread_mutex_init(&o->mu, NULL);
    pthread_cond_init(&o->cv, NULL);
    if (pthread_create(&o->worker, NULL, worker, o) != 0) abort();
    return o;
}

void fbi_ops_free(fbi_ops *o)
{
    if (!o) return;
    pthread_mutex_lock(&o->mu);
    o->stop = 1;
    pthread_cond_broadcast(&o->cv);
    pthread_mutex_unlock(&o->mu);
    pthread_join(o->worker, NULL);
    for (size_t i = 0; i < FBI_OPS_KEEP; i++) op_free(o->ops[i]);
    pthread_mutex_destroy(&o->mu);
    pthread_cond_destroy(&o->cv);
    free(o->exe);
    free(o->home);
    free(o);
}

int fbi_ops_submit(fbi_ops *o, const char *tenant, const char *kind, const char *const *argv,
                   char **id)
{
    *id = NULL;
    op *p = fbi_xcalloc(1, sizeof *p);
    snprintf(p->kind, sizeof p->kind, "%s", kind);
    p->tenant = fbi_xstrdup(tenant);
    size_t n = 0;
    while (argv[n]) n++;
    p->argv = fbi_xcalloc(n + 2, sizeof *p->argv);
    p->argv[0] = fbi_xstrdup(o->exe);
    for (size_t i = 0; i < n; i++) p->argv[i + 1] = fbi_xstrdup(argv[i]);
    p->progress = json_array();
    p->exit_code = -1;
    now_iso(p->created_at);
    pthread_mutex_lock(&o->mu);
    /* the slot of the operation FBI_OPS_KEEP back, finished: the queue
     * never holds FBI_OPS_KEEP - 1 operations not yet taken */
    if (o->next - o->done >= FBI_OPS_KEEP - 1 || o->stop) {
        pthread_mutex_unlock(&o->mu);
        op_free(p);
        return -1;
    }
    size_t slot = o->next % FBI_OPS_KEEP;
    op_free(o->ops[slot]);
    snprintf(p->id, sizeof p->id, "op-%lu", o->next + 1);
    o->ops[slot] = p;
    o->next++;
    *id = fbi_xstrdup(p->id);
    pthread_cond_broadcast(&o->cv);
    pthread_mutex_unlock(&o->mu);
    return 0;
}

json_t *fbi_ops_get(fbi_ops *o, const char *id, const char *tenant)
{
    char *end = NULL;
    if (strncmp(id, "op-", 3) != 0) return NULL;
    unsigned long n = strtoul(id + 3, &end, 10);
    if (!n || !end || *end) return NULL;
    json_t *j = NULL;
    pthread_mutex_lock(&o->mu);
    op *p = n <= o->next && o->next - n < FBI_OPS_KEEP ? o->ops[(n - 1) % FBI_OPS_KEEP] : NULL;
    if (p && strcmp(p->id, id) == 0 && strcmp(p->tenant, tenant) == 0) {
        int done = p->state >= Q_SUCCEEDED;
        json_t *result = done && p->out_len && !p->out_truncated ? json_loads(p->out, 0, NULL) : NULL;
        j = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:s,s:o}", "id", p->id, "kind", p->kind, "tenant",
                      p->tenant, "state", STATE[p->state], "progress", json_deep_copy(p->progress),
                      "exit_code", done ? json_integer(p->exit_code) : json_null(),
                      "result", result ? result : json_null(), "created_at", p->created_at,
                      "finished_at", done ? json_string(p->finished_at) : json_null());
    }
    pthread_mutex_unlock(&o->mu);
    return j;
}

void fbi_ops_counts(fbi_ops *o, unsigned long counts[4])
{
    memset(counts, 0, 4 * sizeof *counts);
    pthread_mutex_lock(&o->mu);
    for (size_t i = 0; i < FBI_OPS_KEEP; i++)
        if (o->ops[i]) counts[o->ops[i]->state]++;
    pthread_mutex_unlock(&o->mu);
}
