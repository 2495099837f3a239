/* cmd_serve.c - `fedbroker serve`: the broker's JSON API (core/server/,
 * docs/serve.md). Runs until SIGINT or SIGTERM. */
#include "config.h"
#include "cli/cli.h"
#include "base/util.h"
#include "catalog/catalog.h"
#include "identity/identity.h"
#include "server/server.h"
#include "spec/spec.h"
#include "state/state.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

static int num(const char *s, const char *what, double lo, double hi, double *out)
{
    char *end = NULL;
    double v = s ? strtod(s, &end) : 0;
    if (!s || !*s || *end || v < lo || v > hi) {
        fprintf(stderr, "fedbroker serve: --%s %s: give a number from %g to %g\n", what, s ? s : "", lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int fbc_cmd_serve(int argc, char **argv)
{
    const char *listen = NULL, *max_body = NULL, *max_body_total = NULL, *max_header = NULL, *max_conn = NULL;
    const char *timeout = NULL, *rate = NULL, *burst = NULL, *log_format = NULL, *catalog = NULL;
    const char *cert = NULL, *key = NULL, *threads = NULL, *reconcile = NULL, *policy = NULL, *slice = NULL;
    const char *rtprio = NULL;
    int per_conn = 0;
    fbc_opt opts[] = {
        {"listen", "ADDR:PORT", "where to listen (default 127.0.0.1:8080; port 0 picks one)", &listen, NULL, NULL},
        {"max-body", "BYTES", "largest request body (default 1048576)", &max_body, NULL, NULL},
        {"max-body-total", "BYTES", "request bodies held at once, all connections (default 67108864)",
         &max_body_total, NULL, NULL},
        {"max-header", "BYTES", "request line and headers per connection (default 16384)", &max_header, NULL, NULL},
        {"max-connections", "N", "connections at once (default 1024)", &max_conn, NULL, NULL},
        {"timeout", "SECONDS", "an idle connection is closed after this (default 10)", &timeout, NULL, NULL},
        {"rate", "N", "requests per second per token (default 50)", &rate, NULL, NULL},
        {"burst", "N", "requests a token may send at once (default 100)", &burst, NULL, NULL},
        {"threads", "N", "worker threads (default 2)", &threads, NULL, NULL},
        {"slice-us", "US", "the worker threads' scheduler time slice, 100 to 100000 us, 0 = the kernel's "
                           "(default 100: a woken worker preempts longer-sliced tasks, Linux 6.12+)", &slice, NULL, NULL},
        {"thread-per-connection", NULL, "one thread per connection instead of the --threads pool on epoll "
                                        "(each idle connection then holds a thread)", NULL, &per_conn, NULL},
        {"rt-priority", "N", "run the worker threads in SCHED_FIFO at priority N (1-99; needs CAP_SYS_NICE): "
                             "a request runs as soon as it arrives, ahead of every other task (default off)",
         &rtprio, NULL, NULL},
        {"log-format", "FMT", "json or text (default text)", &log_format, NULL, NULL},
        {"tls-cert", "FILE", "PEM certificate (chain): serve HTTPS", &cert, NULL, NULL},
        {"tls-key", "FILE", "PEM private key of --tls-cert", &key, NULL, NULL},
        {"reconcile", "INTERVAL", "observe every deployment this often (e.g. 5m), report drift in /metrics "
                                  "and the audit trail", &reconcile, NULL, NULL},
        {"reconcile-policy", "POLICY", "report (default) or reapply: re-apply a drifted tenant's specs "
                                       "submitted through the API", &policy, NULL, NULL},
        {"catalog", "DIR", "catalog for resolve ?from= (default: $FEDBROKER_CATALOG or embedded)", &catalog, NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, opts, "fedbroker serve [--listen ADDR:PORT] [--log-format json|text] [limits...]",
                   "Serves the broker's JSON API under /v1 (docs/serve.md) until SIGINT or SIGTERM:\n"
                   "healthz, readyz, endpoints, resolve/NAME, deployments, tokens, drivers, specs,\n"
                   "plans, operations (docs/api.yaml). Every route but\n"
                   "healthz and readyz needs Authorization: Bearer TOKEN (fedbroker token create);\n"
                   "answers are scoped to the token's tenant. One log line per request on stderr.",
                   &pos, &npos, &rc))
        return rc;
    free(pos);
    fbi_serve_opts o = {.catalog_dir = catalog, .address = "127.0.0.1", .port = 8080, .max_body = 1 << 20, .max_header = 16384,
                        .max_connections = 1024, .timeout_s = 10, .rate = 50, .burst = 100, .threads = 2,
                        .slice_us = 100, .tls_cert = cert, .tls_key = key};
    char addr[64];
    if (listen) {
        const char *colon = strrchr(listen, ':');
        double port;
        if (!colon || (size_t)(colon - listen) >= sizeof addr || num(colon + 1, "listen", 0, 65535, &port) != 0) {
            fprintf(stderr, "fedbroker serve: --listen %s: give ADDR:PORT, e.g. 127.0.0.1:8080\n", listen);
            return FB_EXIT_USAGE;
        }
        snprintf(addr, sizeof addr, "%.*s", (int)(colon - listen), listen);
        o.address = addr;
        o.port = (unsigned)port;
    }
    double v;
    if (max_body) { if (num(max_body, "max-body", 0, 1e9, &v)) return FB_EXIT_USAGE; o.max_body = (size_t)v; }
    if (max_body_total) { if (num(max_body_total, "max-body-total", 1024, 1e11, &v)) return FB_EXIT_USAGE; o.max_body_total = (size_t)v; }
    if (max_header) { if (num(max_header, "max-header", 1024, 1e7, &v)) return FB_EXIT_USAGE; o.max_header = (size_t)v; }
    if (max_conn) { if (num(max_conn, "max-connections", 1, 1e6, &v)) return FB_EXIT_USAGE; o.max_connections = (unsigned)v; }
    if (timeout) { if (num(timeout, "timeout", 1, 3600, &v)) return FB_EXIT_USAGE; o.timeout_s = (unsigned)v; }
    if (rate) { if (num(rate, "rate", 0.001, 1e6, &o.rate)) return FB_EXIT_USAGE; }
    if (burst) { if (num(burst, "burst", 1, 1e6, &o.burst)) return FB_EXIT_USAGE; }
    if (threads) { if (num(threads, "threads", 1, 64, &v)) return FB_EXIT_USAGE; o.threads = (unsigned)v; }
    if (slice) {
        if (num(slice, "slice-us", 0, 100000, &v)) return FB_EXIT_USAGE;
        if (v > 0 && v < 100) {
            fprintf(stderr, "fedbroker serve: --slice-us %s: give 0 (the kernel's default) or 100 to 100000\n", slice);
            return FB_EXIT_USAGE;
        }
        o.slice_us = (unsigned)v;
    }
    o.thread_per_connection = per_conn;
    if (rtprio) { if (num(rtprio, "rt-priority", 1, 99, &v)) return FB_EXIT_USAGE; o.rt_priority = (unsigned)v; }
    if (log_format && strcmp(log_format, "json") && strcmp(log_format, "text")) {
        fprintf(stderr, "fedbroker serve: --log-format %s: give json or text\n", log_format);
        return FB_EXIT_USAGE;
    }
    o.log_json = log_format && !strcmp(log_format, "json");
    if (reconcile) {
        int64_t ms = 0;
        char *err = NULL;
        if (fbi_parse_duration(reconcile, &ms, &err) != 0 || ms < 1000 || ms > 86400000LL * 7) {
            fprintf(stderr, "fedbroker serve: --reconcile %s: give a duration from 1s to 7d, e.g. 30s or 5m%s%s\n",
                    reconcile, err ? ": " : "", err ? err : "");
            free(err);
            return FB_EXIT_USAGE;
        }
        o.reconcile_s = (unsigned)(ms / 1000);
    }
    if (policy && strcmp(policy, "report") && strcmp(policy, "reapply")) {
        fprintf(stderr, "fedbroker serve: --reconcile-policy %s: give report or reapply\n", policy);
        return FB_EXIT_USAGE;
    }
    if (policy && !reconcile) {
        fprintf(stderr, "fedbroker serve: --reconcile-policy needs --reconcile INTERVAL\n");
        return FB_EXIT_USAGE;
    }
    o.reconcile_reapply = policy && !strcmp(policy, "reapply");
    /* the server's threads inherit this mask; the main thread waits for
     * the signals with sigwait */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    fb_diag *d = fb_diag_new();
    fbi_catalog *cat = NULL;
    if (fbi_catalog_open(catalog, NULL, &cat, d) != FB_OK) {
        rc = fbc_report_diag(d, FB_EXIT_INVALID);
        fb_diag_free(d);
        return rc;
    }
    fb_diag_free(d);
    d = fb_diag_new();
    fb_store *store = NULL;
    if ((rc = fbc_open_store(&store)) != FB_EXIT_OK) {
        fbi_catalog_free(cat);
        fb_diag_free(d);
        return rc;
    }
    /* the broker as an OIDC issuer: its discovery document and JWKS */
    fbi_identity_cfg icfg;
    memset(&icfg, 0, sizeof icfg);
    if ((rc = fbc_identity_cfg(0, &icfg)) != FB_EXIT_OK) {
        fb_store_close(store);
        fbi_catalog_free(cat);
        fb_diag_free(d);
        return rc;
    }
    if (icfg.trust_domain) o.identity = &icfg;
    fb_status st = fbi_serve_run(store, cat, &o, d);
    rc = st == FB_OK ? FB_EXIT_OK : fbc_report_diag(d, st == FB_INVALID ? FB_EXIT_INVALID : FB_EXIT_FAILURE);
    fbi_identity_cfg_free(&icfg);
    fb_store_close(store);
    fbi_catalog_free(cat);
    fb_diag_free(d);
    return rc;
}
