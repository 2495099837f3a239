/* lock.c - the state lock (see lock.h): a POSIX record lock on
 * `<state.db>.lock` whose content names the holder.
 *
 * Why POSIX (fcntl) locks and not flock or a pid file: the kernel releases
 * them when the holder dies, so a kill -9 cannot leave the state locked;
 * F_GETLK reports the holder's pid without taking the lock, so status can
 * tell an operation in progress from an interrupted one without ever
 * making a writer wait. Their one trap (closing any descriptor of the file
 * drops the process's lock) is avoided by opening the file once per
 * holder. The state must be on a local file system, as SQLite's WAL mode
 * already requires. */
#include "config.h"
#include "state/lock.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOCK_CONTENT_MAX 4096
#define LOCK_POLL_MS 100

struct fbi_lock {
    int fd;
    char *path;
    json_t *dead;            /* the record of a holder that died, or NULL */
    int64_t settle_until_ms; /* 0: nothing may still land */
};

int64_t fbi_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* The lock file's content as JSON (new), or NULL when empty or not JSON
 * (a holder killed while writing it). */
static json_t *read_content(int fd)
{
    char buf[LOCK_CONTENT_MAX + 1];
    ssize_t n = pread(fd, buf, LOCK_CONTENT_MAX, 0);
    if (n <= 0) return NULL;
    buf[n] = '\0';
    json_t *j = json_loads(buf, 0, NULL);
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

/* Replaces the content with j (borrowed). Best effort: the lock itself is
 * the kernel's; the content only explains it. */
static void write_content(int fd, const json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text) return;
    size_t len = strlen(text);
    if (ftruncate(fd, 0) == 0 && pwrite(fd, text, len, 0) == (ssize_t)len) {
        /* nothing more: no fsync, a machine crash drops every lock anyway */
    }
    free(text);
}

/* 0 when taken, 1 when another process holds it, -1 on error (errno). */
static int try_lock(int fd)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(fd, F_SETLK, &fl) == 0) return 0;
    return errno == EAGAIN || errno == EACCES ? 1 : -1;
}

/* The pid holding a write lock on fd's file, 0 when none, -1 on error. */
static long lock_owner(int fd)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(fd, F_GETLK, &fl) != 0) return -1;
    return fl.l_type == F_UNLCK ? 0 : (long)fl.l_pid;
}

static void now_text(char out[21])
{
    fbi_format_rfc3339(fbi_wall_ms() / 1000, out);
}

/* {pid, host, verb, since} of the holder fd's file names (new), using the
 * kernel's pid when the content is about someone else (a holder that has
 * not written it yet). NULL when nobody holds it. */
static json_t *holder_of(int fd)
{
    long pid = lock_owner(fd);
    if (pid <= 0) return NULL;
    json_t *c = read_content(fd);
    json_t *out;
    if (c && json_integer_value(json_object_get(c, "pid")) == pid &&
        !json_object_get(c, "released")) {
        out = json_pack("{s:I,s:O?,s:O?,s:O?}", "pid", (json_int_t)pid, "host",
                        json_object_get(c, "host"), "verb", json_object_get(c, "verb"), "since",
                        json_object_get(c, "since"));
    } else {
        out = json_pack("{s:I}", "pid", (json_int_t)pid);
    }
    json_decref(c);
    return out;
}

char *fbi_lock_describe(const json_t *h)
{
    const char *host = json_string_value(json_object_get(h, "host"));
    const char *verb = json_string_value(json_object_get(h, "verb"));
    const char *since = json_string_value(json_object_get(h, "since"));
    long long pid = json_integer_value(json_object_get(h, "pid"));
    if (!verb)
        return fbi_xasprintf("pid %lld (a fedbroker that has not yet said what it does)", pid);
    return fbi_xasprintf("pid %lld on %s (fedbroker %s since %s)", pid, host ? host : "?", verb,
                         since ? since : "?");
}

fb_status fbi_lock_acquire(const char *state_path, const char *verb, int64_t timeout_ms,
                           int64_t settle_ms, fbi_lock **out, fb_diag *diag)
{
    *out = NULL;
    char *path = fbi_xasprintf("%s.lock", state_path);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        char *m = fbi_xasprintf("cannot open the state lock %s: %s", path, strerror(errno));
        fb_diag_add(diag, FB_SEV_ERROR, path, 0, 0, NULL, m,
                    "set FEDBROKER_HOME to a writable directory on a local file system");
        free(m);
        free(path);
        return FB_INTERNAL;
    }
    double deadline = fbi_mono_ms() + (double)(timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        int r = try_lock(fd);
        if (r == 0) break;
        if (r < 0) {
            char *m = fbi_xasprintf("cannot lock %s: %s", path, strerror(errno));
            fb_diag_add(diag, FB_SEV_ERROR, path, 0, 0, NULL, m,
                        "the state must be on a local file system that supports fcntl locks");
            free(m);
            close(fd);
            free(path);
            return FB_INTERNAL;
        }
        double left = deadline - fbi_mono_ms();
        if (left <= 0) {
            json_t *h = holder_of(fd);
            char *who = h ? fbi_lock_describe(h) : fbi_xstrdup("another process (it has just let go)");
            char *m = fbi_xasprintf("the state %s is locked by %s", state_path, who);
            char *hint = fbi_xasprintf(
                "waited %lld ms; wait for it to finish, or pass --lock-timeout DURATION "
                "(e.g. --lock-timeout 5m) to wait longer. A holder that is killed releases "
                "the lock at once.", (long long)(timeout_ms > 0 ? timeout_ms : 0));
            fb_diag_add(diag, FB_SEV_ERROR, path, 0, 0, NULL, m, hint);
            free(m);
            free(hint);
            free(who);
            json_decref(h);
            close(fd);
            free(path);
            return FB_CONFLICT;
        }
        sleep_ms(left < LOCK_POLL_MS ? (int64_t)left + 1 : LOCK_POLL_MS);
    }
    fbi_lock *l = fbi_xcalloc(1, sizeof *l);
    l->fd = fd;
    l->path = path;
    int64_t now = fbi_wall_ms();
    json_t *prev = read_content(fd);
    json_int_t settle = json_integer_value(json_object_get(prev, "settle_until_ms"));
    if (prev && json_integer_value(json_object_get(prev, "pid")) > 0 &&
        !json_object_get(prev, "released")) {
        /* We hold the lock, so that holder is gone without releasing it:
         * killed, or crashed. Its requests may still land for a while. */
        l->dead = json_pack("{s:O,s:O?,s:O?,s:O?}", "pid", json_object_get(prev, "pid"), "host",
                            json_object_get(prev, "host"), "verb", json_object_get(prev, "verb"),
                            "since", json_object_get(prev, "since"));
        if (now + settle_ms > settle) settle = now + settle_ms;
    }
    json_decref(prev);
    l->settle_until_ms = settle > now ? settle : 0;
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0) strcpy(host, "?");
    char since[21];
    now_text(since);
    json_t *self = json_pack("{s:I,s:s,s:s,s:s}", "pid", (json_int_t)getpid(), "host", host,
                             "verb", verb, "since", since);
    if (l->settle_until_ms)
        json_object_set_new(self, "settle_until_ms", json_integer(l->settle_until_ms));
    write_content(fd, self);
    json_decref(self);
    *out = l;
    return FB_OK;
}

const json_t *fbi_lock_dead_holder(const fbi_lock *l)
{
    return l ? l->dead : NULL;
}

int64_t fbi_lock_settle_until_ms(const fbi_lock *l)
{
    return l ? l->settle_until_ms : 0;
}

void fbi_lock_release(fbi_lock *l)
{
    if (!l) return;
    char at[21];
    now_text(at);
    json_t *c = json_pack("{s:s}", "released", at);
    if (l->settle_until_ms > fbi_wall_ms())
        json_object_set_new(c, "settle_until_ms", json_integer(l->settle_until_ms));
    write_content(l->fd, c);
    json_decref(c);
    close(l->fd); /* drops the lock */
    json_decref(l->dead);
    free(l->path);
    free(l);
}

json_t *fbi_lock_holder(const char *state_path)
{
    char *path = fbi_xasprintf("%s.lock", state_path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (fd < 0) return NULL;
    json_t *h = holder_of(fd);
    close(fd);
    return h;
}
