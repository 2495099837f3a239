/* cmd_health.c - `fedbroker health`: one discovery round over the local
 * endpoints table: age out reports whose lease ran out (stale, then
 * removed), then probe the due public endpoints' healthCheck paths through
 * the host's HTTP service (docs/discovery.md). `serve` runs the same round
 * on a timer; this verb is the round for cron and tests. */
#include "config.h"
#include "cli/cli.h"
#include "cli/deploy.h"
#include "base/util.h"
#include "discovery/discovery.h"
#include "spec/spec.h"
#include "state/state.h"

#include <stdlib.h>
#include <string.h>

int fbc_cmd_health(int argc, char **argv)
{
    const char *format = NULL, *tenant = NULL, *par = NULL, *timeout = NULL, *connect_to = NULL;
    const char *backoff = NULL;
    int all = 0;
    fbc_opt opts[] = {
        {"tenant", "TENANT", "only this tenant's endpoints", &tenant, NULL, NULL},
        {"all", NULL, "probe every public endpoint now, due or not", NULL, &all, NULL},
        {"parallelism", "N", "probes at once (default 8)", &par, NULL, NULL},
        {"timeout", "DURATION", "time one probe may take (default 2s)", &timeout, NULL, NULL},
        {"max-backoff", "DURATION", "longest wait between probes of a failing endpoint (default 5m)", &backoff, NULL, NULL},
        {"connect-to", "ADDR:PORT", "connect every probe there, keeping the URL's host as Host and TLS name", &connect_to, NULL, NULL},
        {"format", "FMT", "table or json", &format, NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, opts,
                   "fedbroker health [--tenant T] [--all] [--parallelism N] [--timeout D] "
                   "[--connect-to ADDR:PORT] [--format table|json]",
                   "Marks endpoints whose source has not reported within its lease stale, removes\n"
                   "those unreported for a second lease, then GETs the healthCheck path of every\n"
                   "public endpoint that is due: 2xx/3xx is passing, a failure is warning and,\n"
                   "after the spec's failureThreshold, critical; failing endpoints are probed\n"
                   "again after period x 2^(failures-1), at most --max-backoff. Private endpoints\n"
                   "take their health from `fedbroker status` (the provider's word).",
                   &pos, &npos, &rc))
        return rc;
    free(pos);
    fbc_format fmt;
    if (fbc_format_parse(format, (1u << FBC_FMT_TABLE) | (1u << FBC_FMT_JSON), &fmt) != 0)
        return FB_EXIT_USAGE;
    int64_t timeout_ms = 2000, backoff_ms = 300000;
    char *err = NULL;
    if ((timeout && fbi_parse_duration(timeout, &timeout_ms, &err) != 0) ||
        (backoff && fbi_parse_duration(backoff, &backoff_ms, &err) != 0)) {
        fprintf(stderr, "fedbroker health: %s\n", err);
        free(err);
        return FB_EXIT_USAGE;
    }
    fbi_probe_opts o = {.tenant = tenant, .parallelism = par ? fbc_parse_parallelism(par) : 8,
                        .max_backoff_s = backoff_ms / 1000, .force = all, .connect_to = connect_to};
    if (fbi_now(&o.now, &err) != 0) {
        fprintf(stderr, "fedbroker health: %s\n", err);
        free(err);
        return FB_EXIT_INVALID;
    }
    fb_diag *d = fb_diag_new();
    /* a client of its own: one attempt per probe (a retried probe hides the
     * failure it exists to see) and the probe's timeout */
    char *cfg = fbi_xasprintf("{\"http\":{\"max_attempts\":1,\"timeout_ms\":%lld,"
                              "\"connect_timeout_ms\":%lld}}",
                              (long long)timeout_ms, (long long)timeout_ms);
    fbi_http_client *client = NULL;
    fb_status st = fbi_http_client_new(cfg, &client, d);
    free(cfg);
    if (st != FB_OK) {
        rc = fbc_report_diag(d, FB_EXIT_INVALID);
        fb_diag_free(d);
        return rc;
    }
    o.http = client;
    fb_store *store = NULL;
    if ((rc = fbc_open_store(&store)) != FB_EXIT_OK) {
        fbi_http_client_free(client);
        fb_diag_free(d);
        return rc;
    }
    json_t *changes = NULL, *results = NULL;
    st = fbi_discovery_sweep(store, o.now, &changes, d);
    if (st == FB_OK) st = fbi_discovery_probe(store, &o, &results, d);
    if (st != FB_OK) {
        rc = fbc_report_diag(d, FB_EXIT_FAILURE);
    } else if (fmt == FBC_FMT_JSON) {
        json_t *out = json_pack("{s:O,s:O}", "lease", changes, "probes", results);
        fbc_print_json(out);
        json_decref(out);
    } else {
        size_t i;
        json_t *c;
        json_array_foreach(changes, i, c)
            printf("%-8s %s/%s  %s:%s  (source %s)\n", json_string_value(json_object_get(c, "change")),
                   json_string_value(json_object_get(c, "tenant")),
                   json_string_value(json_object_get(c, "workload")),
                   json_string_value(json_object_get(c, "provider")),
                   json_string_value(json_object_get(c, "region")),
                   json_string_value(json_object_get(c, "source")));
        json_array_foreach(results, i, c)
            printf("%-8s %s/%s  %s:%s  %s\n", json_string_value(json_object_get(c, "health")),
                   json_string_value(json_object_get(c, "tenant")),
                   json_string_value(json_object_get(c, "workload")),
                   json_string_value(json_object_get(c, "provider")),
                   json_string_value(json_object_get(c, "region")),
                   json_string_value(json_object_get(c, "detail")));
        if (!json_array_size(changes) && !json_array_size(results))
            printf("(nothing due)\n");
    }
    json_decref(changes);
    json_decref(results);
    fb_store_close(store);
    fbi_http_client_free(client);
    fb_diag_free(d);
    return rc;
}
