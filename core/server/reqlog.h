/* reqlog.h - serve's request log, buffered: a request appends its line to
 * a memory buffer and a flusher thread writes what gathered at most
 * FBI_REQLOG_FLUSH_MS later, in one write (nginx's `access_log ...
 * buffer= flush=`). A request thread then makes no write(2) of its own:
 * the log write used to sit between the handler and the answer's send on
 * every request (bench/README-serve.md). Lines are kept whole and in the
 * order they were appended. The buffer holds at most FBI_REQLOG_MAX bytes:
 * a line that does not fit makes its thread write the buffer first
 * (nothing is dropped, memory is bounded).
 *
 * What a crash can lose: the lines of the last FBI_REQLOG_FLUSH_MS
 * (SIGKILL, OOM, power). A clean stop (fbi_reqlog_stop) writes everything.
 * Thread notes: fbi_reqlog_line from any thread; start and stop from one. */
#ifndef FB_SERVER_REQLOG_H
#define FB_SERVER_REQLOG_H

#include <stddef.h>
#include <stdio.h>

#define FBI_REQLOG_FLUSH_MS 10
#define FBI_REQLOG_MAX (256 * 1024)

typedef struct fbi_reqlog fbi_reqlog;

/* new: starts the flusher thread writing to f (borrowed until stop). NULL
 * when the thread cannot be started (the caller then writes lines itself). */
fbi_reqlog *fbi_reqlog_start(FILE *f);

/* Appends n bytes (one or more whole lines, borrowed, copied). */
void fbi_reqlog_line(fbi_reqlog *l, const char *line, size_t n);

/* Writes every buffered line, stops the flusher and frees l (taken; NULL
 * is a no-op). */
void fbi_reqlog_stop(fbi_reqlog *l);

#endif
