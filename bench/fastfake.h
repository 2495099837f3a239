/* fastfake.h - what the bench stand-in servers (bench/aws_fastfake.c,
 * gcp_fastfake.c, k8s_fastfake.c) share: a request body read in chunks,
 * a fixed latency, and a libmicrohttpd daemon with one thread per
 * connection on a port the OS chooses, run until stdin closes. For the
 * benchmarks only; the test suite's strict fakes are tests/fakes/.
 *
 * Thread notes: the handler runs on libmicrohttpd's connection threads;
 * ff_upload and ff_nap touch only their own connection's state. */
#ifndef FB_BENCH_FASTFAKE_H
#define FB_BENCH_FASTFAKE_H

#include <microhttpd.h>
#include <stddef.h>

/* A request body so far: data NUL-terminated (NULL when empty). */
typedef struct ff_body {
    char *data;
    size_t len;
} ff_body;

/* The first lines of every handler: on the first call for a request it
 * makes *state an empty ff_body (new, freed by the daemon's completion
 * callback); on a call with upload data it appends it. Returns 1 when the
 * handler must return MHD_YES at once (either case), 0 when the whole
 * body is in *state and the request can be answered. Aborts when out of
 * memory (a benchmark server). */
int ff_upload(void **state, const char *upload, size_t *upload_size);

/* Sleeps ms milliseconds (resumed after signals). */
void ff_nap(unsigned ms);

/* Starts the daemon with handler, writes the port to port_file (when not
 * NULL) and "PORT n" to stdout, serves until stdin closes, stops it.
 * name is the program's, for the error message. Returns 0, or 1 when the
 * daemon cannot start. */
int ff_serve(const char *name, MHD_AccessHandlerCallback handler, const char *port_file);

#endif
