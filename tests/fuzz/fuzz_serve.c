/* fuzz_serve.c - libFuzzer harness for `fedbroker serve`'s request
 * handling: every input is written, as raw bytes, into a connection of a
 * real server (libmicrohttpd parsing, then server.c's routing, bearer
 * authentication, roles, body handling and JSON answers), and the answer
 * is read until the server closes. The bytes "@A" and "@V" in an input
 * are replaced by an admin and a viewer token of tenant shop, so the
 * fuzzer reaches the routes behind authentication. Nothing may crash,
 * leak or hit undefined behaviour, and every answer must start with an
 * HTTP status line. Build and run with tests/fuzz/build_serve.sh (not part
 * of `make check`). */
#include "config.h"
#include "catalog/catalog.h"
#include "server/server.h"
#include "server/token.h"
#include "state/state.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static fbi_server *srv;
static fb_store *store;
static fbi_catalog *cat;
static fbi_serve_opts opts;
static char *tok_admin, *tok_viewer;
/* TCP over loopback (1) or a socketpair (0, faster) */
#define USE_TCP 0
static int lfd;
static struct sockaddr_in listen_addr; /* a loopback listener: each input is one TCP connection handed to the server */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char tmpl[] = "/tmp/fb-fuzz-serve-XXXXXX";
    char *home = mkdtemp(tmpl);
    if (!home) abort();
    setenv("FEDBROKER_HOME", home, 1);
    fb_diag *d = fb_diag_new();
    char *path = NULL;
    if (asprintf(&path, "%s/state.db", home) < 0) abort();
    if (fb_store_open(path, &store, d) != FB_OK) abort();
    free(path);
    if (fbi_catalog_open(getenv("FEDBROKER_CATALOG"), NULL, &cat, d) != FB_OK) cat = NULL;
    char *id = NULL;
    if (fbi_token_create(store, "shop", "admin", 1700000000, 0, &tok_admin, &id, d) != FB_OK) abort();
    free(id);
    if (fbi_token_create(store, "shop", "viewer", 1700000000, 0, &tok_viewer, &id, d) != FB_OK) abort();
    free(id);
    fbi_endpoint_key k = {.tenant = "shop", .workload = "api", .provider = "aws", .region = "eu-central-1"};
    if (fbi_store_report_endpoint(store, &k, "https://api.example/", "url", "apply", 0, 0, 1700000000, d) != FB_OK)
        abort();
    opts = (fbi_serve_opts){.address = "127.0.0.1", .port = 0, .max_body = 4096, .max_header = 8192,
                            .max_connections = 64, .timeout_s = 1, .rate = 1e9, .burst = 1e9,
                            .threads = 2, .no_listen = 1,
                            /* operations (POST /v1/plans, apply, destroy) run this instead of
                             * fedbroker: the harness exercises the routes, not the commands */
                            .exe = "/bin/false"};
    /* the request log: not on stderr, where the fuzzer reports */
    opts.log = fopen(getenv("FUZZ_SERVE_LOG") ? getenv("FUZZ_SERVE_LOG") : "/dev/null", "w");
    if (fbi_server_start(store, cat, &opts, &srv, d) != FB_OK) {
        fb_diag_print(d, stderr);
        abort();
    }
    fb_diag_free(d);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 16) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0)
        abort();
    listen_addr = sa;
    return 0;
}

/* data with @A / @V replaced by the tokens. new; *n its length. */
static char *expand(const uint8_t *data, size_t size, size_t *n)
{
    size_t cap = size + 1, len = 0;
    for (size_t i = 0; i + 1 < size; i++)
        if (data[i] == '@' && (data[i + 1] == 'A' || data[i + 1] == 'V')) cap += FBI_TOKEN_LEN;
    char *out = malloc(cap);
    if (!out) abort();
    for (size_t i = 0; i < size; i++) {
        if (data[i] == '@' && i + 1 < size && (data[i + 1] == 'A' || data[i + 1] == 'V')) {
            memcpy(out + len, data[i + 1] == 'A' ? tok_admin : tok_viewer, FBI_TOKEN_LEN);
            len += FBI_TOKEN_LEN;
            i++;
        } else {
            out[len++] = (char)data[i];
        }
    }
    *n = len;
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int sv[2];
    if (USE_TCP) {
        sv[1] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (sv[1] < 0 || connect(sv[1], (struct sockaddr *)&listen_addr, sizeof listen_addr) != 0) abort();
        sv[0] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (sv[0] < 0) abort();
    } else if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        abort();
    }
    if (fbi_server_add_connection(srv, sv[0]) != 0) {
        close(sv[1]);
        return 0;
    }
    size_t n;
    char *req = expand(data, size, &n);
    /* write what the socket takes; the server may close early (413, 431) */
    size_t off = 0;
    while (off < n) {
        struct pollfd p = {sv[1], POLLOUT, 0};
        if (poll(&p, 1, 2000) <= 0 || (p.revents & (POLLERR | POLLHUP))) break;
        ssize_t w = send(sv[1], req + off, n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w <= 0) break;
        off += (size_t)w;
    }
    free(req);
    shutdown(sv[1], SHUT_WR);
    char buf[65536];
    size_t got = 0;
    int first = 1;
    for (;;) {
        struct pollfd p = {sv[1], POLLIN, 0};
        if (poll(&p, 1, 5000) <= 0) break; /* the server's timeout closes it before this */
        ssize_t r = recv(sv[1], buf + (first ? got : 0), first ? sizeof buf - got : sizeof buf, 0);
        if (r <= 0) break;
        if (first) {
            got += (size_t)r;
            if (got >= 9) {
                /* an answer, when there is one, is HTTP */
                if (memcmp(buf, "HTTP/1.", 7) != 0) abort();
                first = 0;
            }
        }
    }
    close(sv[1]);
    return 0;
}
