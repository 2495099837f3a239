/* cmd_resolve.c - `fedbroker resolve NAME`: where a workload answers,
 * healthy endpoints first by expected latency from the caller, from the
 * local endpoints table only (docs/discovery.md). */
#include "config.h"
#include "cli/cli.h"
#include "base/util.h"
#include "catalog/catalog.h"
#include "discovery/discovery.h"
#include "state/state.h"

#include <stdlib.h>
#include <string.h>

int fbc_cmd_resolve(int argc, char **argv)
{
    const char *format = NULL, *tenant = NULL, *from = NULL, *from_wl = NULL, *catalog = NULL;
    int all = 0;
    fbc_opt opts[] = {
        {"tenant", "TENANT", "the workload's tenant (needed when the name is in several)", &tenant, NULL, NULL},
        {"from", "LOCATION", "order by RTT from users in this catalog location (e.g. frankfurt)", &from, NULL, NULL},
        {"from-workload", "W", "order by RTT from the region workload W runs in", &from_wl, NULL, NULL},
        {"all", NULL, "include critical and stale endpoints, with their state", NULL, &all, NULL},
        {"catalog", "DIR", "catalog directory (default: $FEDBROKER_CATALOG or the embedded one)", &catalog, NULL, NULL},
        {"format", "FMT", "table or json", &format, NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, opts,
                   "fedbroker resolve NAME [--tenant T] [--from LOCATION | --from-workload W] [--all] "
                   "[--format table|json]",
                   "Prints the endpoints of workload NAME from the local endpoints table (no\n"
                   "provider call): passing, warning and not-yet-probed ones that are not stale,\n"
                   "ordered by the catalog's expected RTT from --from or --from-workload, each\n"
                   "with stale_seconds (the age of its source's last report). --all adds the\n"
                   "critical and stale ones. Exit 1 when no endpoint qualifies.",
                   &pos, &npos, &rc))
        return rc;
    if (npos != 1 || (from && from_wl)) {
        fprintf(stderr, "fedbroker resolve: give one NAME, and at most one of --from and "
                        "--from-workload\n");
        free(pos);
        return FB_EXIT_USAGE;
    }
    fbi_resolve_query q = {.name = pos[0], .tenant = tenant, .from_location = from,
                           .from_workload = from_wl, .all = all};
    free(pos);
    fbc_format fmt;
    if (fbc_format_parse(format, (1u << FBC_FMT_TABLE) | (1u << FBC_FMT_JSON), &fmt) != 0)
        return FB_EXIT_USAGE;
    char *err = NULL;
    if (fbi_now(&q.now, &err) != 0) {
        fprintf(stderr, "fedbroker resolve: %s\n", err);
        free(err);
        return FB_EXIT_INVALID;
    }
    fb_diag *d = fb_diag_new();
    fbi_catalog *cat = NULL;
    if ((from || from_wl) && fbi_catalog_open(catalog, NULL, &cat, d) != FB_OK) {
        rc = fbc_report_diag(d, FB_EXIT_INVALID);
        fb_diag_free(d);
        return rc;
    }
    fb_store *store = NULL;
    if ((rc = fbc_open_store(&store)) != FB_EXIT_OK) {
        fbi_catalog_free(cat);
        fb_diag_free(d);
        return rc;
    }
    json_t *out = NULL;
    fb_status st = fbi_discovery_resolve(store, cat, &q, &out, d);
    if (st != FB_OK) {
        rc = fbc_report_diag(d, st == FB_NOTFOUND ? FB_EXIT_FAILURE : FB_EXIT_INVALID);
    } else {
        json_t *eps = json_object_get(out, "endpoints");
        json_int_t excluded = json_integer_value(json_object_get(out, "excluded"));
        rc = json_array_size(eps) ? FB_EXIT_OK : FB_EXIT_FAILURE;
        if (fmt == FBC_FMT_JSON) {
            fbc_print_json(out);
        } else {
            size_t i;
            json_t *e;
            json_array_foreach(eps, i, e) {
                const json_t *rtt = json_object_get(e, "rtt_ms");
                char rb[32] = "";
                if (json_is_number(rtt)) snprintf(rb, sizeof rb, "%8.2f ms  ", json_number_value(rtt));
                else if (rtt) snprintf(rb, sizeof rb, "%8s     ", "?");
                printf("%s%-8s %s:%s  %s  (%s, %lld s old%s)\n", rb,
                       json_string_value(json_object_get(e, "health")),
                       json_string_value(json_object_get(e, "provider")),
                       json_string_value(json_object_get(e, "region")),
                       json_string_value(json_object_get(e, "url")),
                       json_string_value(json_object_get(e, "source")),
                       (long long)json_integer_value(json_object_get(e, "stale_seconds")),
                       json_is_true(json_object_get(e, "stale")) ? ", stale" : "");
            }
            if (!json_array_size(eps))
                fprintf(stderr, "fedbroker resolve: no healthy endpoint of %s (%lld critical or "
                                "stale: --all shows them)\n", q.name, (long long)excluded);
        }
        fb_diag_print(d, stderr);
    }
    json_decref(out);
    fb_store_close(store);
    fbi_catalog_free(cat);
    fb_diag_free(d);
    return rc;
}
