/* http_fanout.c - apply fan-out benchmark: J jobs x R requests each through
 * fbi_fanout and the HTTP service's single I/O thread, against a loopback
 * server that answers every request after L ms. Prints wall time against
 * the ideal J*R*L/P for each parallelism P. See bench/README-http.md.
 *
 *   bench/http_fanout [--jobs 1000] [--requests 3] [--latency 20]
 *                     [--parallelism 10,64] [--tls]
 */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/fanout.h"
#include "fault_server.h"
#include "http/http.h"
#include "base/util.h"

typedef struct bench {
    fbi_http_client *c;
    char base[64];
    unsigned requests;
    atomic_uint failures;
} bench;

/* One workload: create (a token-guarded POST), then poll with GETs. */
static fb_status job(void *ud, size_t i)
{
    bench *b = ud;
    fb_diag *d = fb_diag_new();
    fb_status st = FB_OK;
    for (unsigned r = 0; r < b->requests && st == FB_OK; r++) {
        char url[128], body[64];
        snprintf(url, sizeof url, "%s/bench/%zu/%u", b->base, i, r);
        snprintf(body, sizeof body, "{\"ClientToken\": \"job-%zu\"}", i);
        fb_http_request rq = {sizeof rq, r == 0 ? "POST" : "GET", url, NULL, 0, r == 0 ? body : NULL,
                              r == 0 ? strlen(body) : 0, r == 0 ? FB_HTTP_TOKEN_GUARDED : FB_HTTP_IDEMPOTENT,
                              "bench", NULL, 0, NULL, NULL, NULL, NULL, NULL, 0};
        fb_http_response resp;
        st = fbi_http_client_perform(b->c, d, &rq, &resp);
        if (st == FB_OK && resp.status != 200) st = FB_INTERNAL;
        fbi_http_free(&resp);
    }
    if (st != FB_OK) {
        atomic_fetch_add(&b->failures, 1);
        if (atomic_load(&b->failures) == 1) fb_diag_print(d, stderr);
    }
    fb_diag_free(d);
    return st;
}

int main(int argc, char **argv)
{
    unsigned jobs = 1000, requests = 3, latency = 20, tls = 0;
    const char *plist = "10,64";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--jobs") && i + 1 < argc) jobs = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--requests") && i + 1 < argc) requests = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--latency") && i + 1 < argc) latency = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--parallelism") && i + 1 < argc) plist = argv[++i];
        else if (!strcmp(argv[i], "--tls")) tls = 1;
        else {
            fprintf(stderr, "usage: %s [--jobs N] [--requests N] [--latency MS] [--parallelism P,P...] [--tls]\n",
                    argv[0]);
            return 64;
        }
    }
    char *cert = NULL, *key = NULL, *err = NULL, capath[] = "/tmp/fb-bench-ca-XXXXXX";
    if (tls) {
        if (fts_make_cert(&cert, &key, &err) != 0) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        int fd = mkstemp(capath);
        if (fd < 0 || write(fd, cert, strlen(cert)) != (ssize_t)strlen(cert)) return 1;
        close(fd);
    }
    fts *srv = fts_start(cert, key, latency, &err);
    if (!srv) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    printf("jobs=%u requests/job=%u latency=%ums %s\n", jobs, requests, latency, tls ? "https" : "http");
    printf("%11s %10s %10s %7s %12s %12s %10s\n", "parallelism", "wall_ms", "ideal_ms", "ratio", "server_conns",
           "max_inflight", "failures");
    int rc = 0;
    char *list = fbi_xstrdup(plist);
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        unsigned p = (unsigned)atoi(tok);
        if (!p) continue;
        bench b;
        memset(&b, 0, sizeof b);
        b.requests = requests;
        snprintf(b.base, sizeof b.base, "%s://127.0.0.1:%u", tls ? "https" : "http", (unsigned)fts_port(srv));
        char *conf = tls ? fbi_xasprintf("{\"http\": {\"ca_file\": \"%s\"}}", capath) : NULL;
        fb_diag *d = fb_diag_new();
        if (fbi_http_client_new(conf, &b.c, d) != FB_OK) {
            fb_diag_print(d, stderr);
            return 1;
        }
        unsigned conns0 = fts_connections(srv);
        double t0 = fbi_mono_ms();
        fbi_fanout(jobs, p, job, &b, NULL);
        double wall = fbi_mono_ms() - t0;
        double ideal = (double)jobs * requests * latency / p;
        fbi_http_stats s;
        fbi_http_client_stats(b.c, &s);
        printf("%11u %10.0f %10.0f %7.3f %12u %12u %10u\n", p, wall, ideal, wall / ideal,
               fts_connections(srv) - conns0, s.max_inflight, atomic_load(&b.failures));
        if (atomic_load(&b.failures)) rc = 1;
        fbi_http_client_free(b.c);
        fb_diag_free(d);
        free(conf);
    }
    free(list);
    fts_stop(srv);
    if (tls) unlink(capath);
    free(cert);
    free(key);
    return rc;
}
