/* server.h - `fedbroker serve`: the broker's JSON API under /v1 on
 * libmicrohttpd (docs/serve.md). Bearer tokens (token.h) with roles and
 * tenant scoping, limits (body and header size, connections, timeouts,
 * per-token rate), one log line per request without secrets. Internal to
 * core. */
#ifndef FB_SERVER_SERVER_H
#define FB_SERVER_SERVER_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include "fedbroker/fedbroker.h"
#include "catalog/catalog.h"

typedef struct fbi_serve_opts {
    const char *address;     /* IPv4 address to listen on (default 127.0.0.1) */
    unsigned port;           /* 0 = any free port (printed) */
    size_t max_body;         /* bytes; larger bodies are 413 (default 1 MiB) */
    size_t max_body_total;   /* bytes of request bodies held at once, all connections (default 64 MiB) */
    size_t max_header;       /* bytes of request line + headers per connection (default 16 KiB) */
    unsigned max_connections;/* at once (default 1024) */
    unsigned timeout_s;      /* idle connection timeout (default 10) */
    double rate;             /* requests per second per token (default 50) */
    double burst;            /* bucket size (default 100) */
    unsigned threads;        /* worker threads (default 2) */
    int log_json;            /* request log as JSON lines, else text */
    FILE *log;               /* where the request log goes (borrowed); NULL = stderr */
    const char *tls_cert;    /* PEM files for HTTPS; both or neither */
    const char *tls_key;
    /* the broker as an OIDC issuer (docs/identity.md), or NULL: without
     * authentication, ISSUER-PATH/.well-known/openid-configuration and
     * ISSUER-PATH/jwks.json (borrowed) */
    const struct fbi_identity_cfg *identity;
    const char *catalog_dir; /* --catalog, passed on to the plan operations; may be NULL */
    const char *exe;         /* the fedbroker executable operations run; NULL = this one */
    unsigned reconcile_s;    /* --reconcile INTERVAL in seconds; 0 = off (reconcile.h) */
    int reconcile_reapply;   /* --reconcile-policy reapply */
    int no_listen;           /* no listening socket: connections come from
                                fbi_server_add_connection (the fuzz harness) */
    unsigned slice_us;       /* --slice-us: the request threads' scheduler time
                                slice in microseconds; 0 = the kernel's default */
    int thread_per_connection; /* --thread-per-connection: one libmicrohttpd
                                  thread per connection instead of the
                                  --threads pool on epoll */
    unsigned rt_priority;    /* --rt-priority: request threads in SCHED_FIFO at
                                this priority (1-99); 0 = off (docs/serve.md) */
} fbi_serve_opts;

typedef struct fbi_server fbi_server;

/* Starts serving in background threads. store, cat and o borrowed until
 * stop. *out new. */
fb_status fbi_server_start(fb_store *store, const fbi_catalog *cat, const fbi_serve_opts *o,
                           fbi_server **out, fb_diag *diag);
/* The port it listens on. */
unsigned fbi_server_port(fbi_server *sv);
/* Hands it an already connected socket (taken). 0 or -1. */
int fbi_server_add_connection(fbi_server *sv, int fd);
/* Stops: closes connections, commits every queued audit row, frees sv
 * (NULL ok). */
void fbi_server_stop(fbi_server *sv);

/* Serves until SIGINT or SIGTERM (which the caller must have blocked in
 * every thread before calling: the server waits for them with sigwait).
 * Prints "listening on URL" to stdout once ready. store and cat borrowed
 * (cat may be NULL: resolve ?from is then 400). */
fb_status fbi_serve_run(fb_store *store, const fbi_catalog *cat, const fbi_serve_opts *o,
                        fb_diag *diag);

#endif
