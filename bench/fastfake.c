/* fastfake.c - the bench stand-in servers' shared scaffolding
 * (fastfake.h). */
#include "config.h"
#include "fastfake.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int ff_upload(void **state, const char *upload, size_t *upload_size)
{
    ff_body *b = *state;
    if (!b) {
        b = calloc(1, sizeof *b);
        if (!b) abort();
        *state = b;
        return 1;
    }
    if (*upload_size) {
        char *d = realloc(b->data, b->len + *upload_size + 1);
        if (!d) abort();
        b->data = d;
        memcpy(b->data + b->len, upload, *upload_size);
        b->len += *upload_size;
        b->data[b->len] = '\0';
        *upload_size = 0;
        return 1;
    }
    return 0;
}

void ff_nap(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* libmicrohttpd's completion callback: frees the request's ff_body. */
static void done(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode t)
{
    (void)cls;
    (void)c;
    (void)t;
    ff_body *b = *state;
    if (b) {
        free(b->data);
        free(b);
    }
    *state = NULL;
}

int ff_serve(const char *name, MHD_AccessHandlerCallback handler, const char *port_file)
{
    signal(SIGPIPE, SIG_IGN);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handler, NULL,
        MHD_OPTION_NOTIFY_COMPLETED, done, NULL, MHD_OPTION_CONNECTION_LIMIT, 1000u,
        MHD_OPTION_CONNECTION_TIMEOUT, 120u, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "%s: cannot start the server\n", name);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = info ? info->port : 0;
    if (port_file) {
        FILE *f = fopen(port_file, "w");
        if (f) {
            fprintf(f, "%u\n", port);
            fclose(f);
        }
    }
    printf("PORT %u\n", port);
    fflush(stdout);
    /* run until stdin closes (the benchmark script holds it open) */
    char buf[256];
    while (fread(buf, 1, sizeof buf, stdin) > 0) {
    }
    MHD_stop_daemon(d);
    return 0;
}
