/*
 * util.h - small internal helpers shared by core modules (prefix fbi_).
 * Not installed, not exported from libfedbroker.
 */
#ifndef FB_UTIL_H
#define FB_UTIL_H

#include <stdarg.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "fedbroker/driver.h"

#if defined(__GNUC__)
#define FBI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define FBI_PRINTF(a, b)
#endif

/* ---- growable byte buffer ---- */
typedef struct fbi_buf {
    char *data; /* always NUL-terminated when len > 0 or after any append */
    size_t len;
    size_t cap;
} fbi_buf;

void fbi_buf_init(fbi_buf *b);
void fbi_buf_free(fbi_buf *b);
void fbi_buf_append(fbi_buf *b, const void *p, size_t n);
void fbi_buf_puts(fbi_buf *b, const char *s);
void fbi_buf_putc(fbi_buf *b, char c);
void fbi_buf_printf(fbi_buf *b, const char *fmt, ...) FBI_PRINTF(2, 3);
void fbi_buf_vprintf(fbi_buf *b, const char *fmt, va_list ap);
/* Hands the data over to the caller (new, free()); the buffer is reset. */
char *fbi_buf_steal(fbi_buf *b);

/* ---- allocation that never returns NULL (aborts on OOM, like Redis) ---- */
void *fbi_xmalloc(size_t n);
void *fbi_xcalloc(size_t n, size_t m);
void *fbi_xrealloc(void *p, size_t n);
char *fbi_xstrdup(const char *s);
char *fbi_xstrndup(const char *s, size_t n);
char *fbi_xasprintf(const char *fmt, ...) FBI_PRINTF(1, 2);

/* ---- files ---- */
/* Reads a whole file (new, free()) refusing files larger than max_bytes.
 * On failure returns NULL and sets *err (new, free()). */
char *fbi_read_file(const char *path, size_t max_bytes, size_t *len_out,
                    char **err);
/* Writes atomically: temp file in the same directory, fsync, rename.
 * A path that exists and is not a regular file (/dev/null, /dev/stdout, a
 * FIFO) is written in place instead: renaming over it would replace the
 * device with a regular file (as root, `--out /dev/null` removed the
 * machine's /dev/null). Returns 0 or -1 with *err (new). */
int fbi_write_file_atomic(const char *path, const void *data, size_t len,
                          char **err);
/* mkdir -p with the given mode; 0 or -1 with *err. */
int fbi_mkdirs(const char *path, unsigned mode, char **err);

/* ---- strings ---- */
int fbi_utf8_valid(const char *s, size_t n);
/* s made safe to print on a terminal (new, free()): control characters (C0
 * and DEL, and the C1 ones a terminal also obeys), bidirectional overrides
 * and bytes that are not UTF-8 are written as \u00XX / \uXXXX / \xHH, so a
 * key or value such as "x\e[2J" cannot clear a screen or reorder a line.
 * keep_newlines: leave \n as is (multi-line details). max_bytes: cut after
 * that many bytes of input (on a character boundary) and append "..."; 0
 * for no cut. Thread-safe. */
char *fbi_printable(const char *s, int keep_newlines, size_t max_bytes);
int fbi_str_has_suffix(const char *s, const char *suffix);
/* Levenshtein distance, capped: returns cap+1 when larger. */
int fbi_edit_distance(const char *a, const char *b, int cap);
/* Appends a JSON pointer token with ~0/~1 escaping. */
void fbi_pointer_append(fbi_buf *ptr, const char *token);
void fbi_pointer_append_index(fbi_buf *ptr, size_t index);

/* ---- JSON ---- */
/* Canonical, deterministic serialisation (sorted keys, compact). new, free() */
char *fbi_json_canonical(const json_t *j);
/* SHA-256 hex of the canonical form (65 bytes incl. NUL into out). */
void fbi_json_hash(const json_t *j, char out[65]);
void fbi_sha256_hex(const void *data, size_t len, char out[65]);
/* Writes v in decimal at p (1 to 20 bytes, no NUL) and returns the end: the
 * per-row and per-request texts built without snprintf, whose format
 * parsing was most of their cost (the audit hash input, serve's log line). */
char *fbi_put_dec(char *p, unsigned long long v);

/* ---- time ---- */
/* Unix seconds now, honouring FEDBROKER_NOW (RFC 3339 UTC). Returns 0 and
 * sets *t, or -1 when FEDBROKER_NOW is malformed (err new). */
int fbi_now(int64_t *t, char **err);
/* Parses "2015-08-30T12:36:00Z" (UTC only). 0 on success. */
int fbi_parse_rfc3339(const char *s, int64_t *t);
/* Formats Unix seconds as RFC 3339 UTC into out[21]. */
void fbi_format_rfc3339(int64_t t, char out[21]);
/* Monotonic milliseconds, for measuring durations. */
double fbi_mono_ms(void);
/* Asks the scheduler for a time slice of us microseconds (100 to 100,000)
 * for the calling thread, keeping its nice level (policy SCHED_OTHER):
 * Linux's EEVDF scheduler (6.12 and later) lets a woken task with a
 * shorter slice than the running one preempt it, and a running task's
 * slice is the time it keeps the CPU against tasks woken with a deadline
 * before its own. Earlier kernels ignore the slice. 0 when the call was
 * accepted, -1 otherwise (nothing changed). Thread-safe. */
int fbi_thread_slice(unsigned us);
/* Makes the calling thread a background one: policy SCHED_BATCH (on
 * Linux, a woken batch task never preempts the running task: it waits for
 * the tick or the running task's slice to end, so a housekeeping thread
 * waking does not push a request or client thread off its CPU) and its
 * nice level raised by nice_delta (capped at 19). 0 when accepted; -1 when
 * the policy was refused (only the nice level was changed, if possible).
 * Thread-safe. */
int fbi_thread_background(int nice_delta);
/* Puts the calling thread in the real-time policy SCHED_FIFO at priority
 * prio (1 to 99): it runs as soon as it is runnable, ahead of every
 * SCHED_OTHER and SCHED_BATCH task, until it blocks (the kernel's RT
 * throttling, 95 % of each second by default, still leaves the rest to
 * them). Needs CAP_SYS_NICE or an RLIMIT_RTPRIO of at least prio. 0 when
 * accepted, -1 otherwise (nothing changed; errno says why). Thread-safe. */
int fbi_thread_realtime(unsigned prio);
/* Initialises m (caller's storage) with priority inheritance: a thread
 * that holds it runs at the priority of the highest one waiting for it, so
 * a background thread (SCHED_BATCH, nice +5) preempted while holding a
 * lock that a real-time request thread (fbi_thread_realtime) wants is
 * raised until it lets go, instead of making the request wait for the fair
 * scheduler. Falls back to a plain mutex where the protocol is refused. */
void fbi_mutex_init_pi(pthread_mutex_t *m);
/* CPU milliseconds the whole process has used (all threads): what a
 * loaded machine does not inflate. Thread-safe. */
double fbi_cpu_ms(void);

/* ---- status names ---- */
const char *fbi_status_name(fb_status s);

#endif
