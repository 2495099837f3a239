/* cmd_status.c - status: what is deployed, its drift and journal rows left open. */
#include "config.h"
#include "cli/cli.h"
#include "cli/deploy.h"
#include "base/call.h"
#include "base/diag.h"
#include "spec/spec.h"
#include "base/util.h"
#include "state/lock.h"
#include "state/state.h"
#include "discovery/discovery.h"

#include <stdlib.h>
#include <string.h>

/* Feeds what observe saw into the endpoints table (source "observe"):
 * the endpoint the provider reports and whether the deployment exists.
 * Problems are printed, never fatal: status is read-mostly. */
static void observed_endpoint(fb_store *store, json_t *dep, const fbi_deploy_item *it,
                              const char *status, int64_t lease_s, int64_t now)
{
    const char *kind = NULL;
    const char *url = fbi_discovery_endpoint_of(it->output, fbc_dep_str(dep, "kind"), &kind);
    /* a driver's observe need not repeat the URL: the deployment it found
     * answers where its record says */
    json_t *rec = json_pack("{s:O?}", "state", json_object_get(dep, "state"));
    if (!url) url = fbi_discovery_endpoint_of(rec, fbc_dep_str(dep, "kind"), &kind);
    int present = strcmp(status, "missing") != 0;
    if (!url && present) { /* nothing that answers (a queue, a schedule) */
        json_decref(rec);
        return;
    }
    fb_diag *d = fb_diag_new();
    fbi_discovery_observed(store, fbc_dep_str(dep, "tenant"), fbc_dep_str(dep, "workload"),
                           fbc_dep_str(dep, "provider"), fbc_dep_str(dep, "region"), url, kind,
                           present, lease_s, now, d);
    fb_diag_print(d, stderr);
    fb_diag_free(d);
    json_decref(rec);
}

int fbc_cmd_status(int argc, char **argv)
{
    const char *format = NULL, *tenant = NULL, *par = NULL, *lease = NULL;
    const char **names = NULL;
    fbc_opt opts[] = {
        {"format", "FMT", "table or json", &format, NULL, NULL},
        {"tenant", "TENANT", "only this tenant's deployments", &tenant, NULL, NULL},
        {"workload", "NAME", "only this workload (repeatable)", NULL, NULL, &names},
        {"parallelism", "N", "deployments observed at once", &par, NULL, NULL},
        {"lease", "DURATION", "report observed endpoints with this lease (default: keep each row's)", &lease, NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, opts, "fedbroker status [--tenant T] [--workload NAME]... "
                   "[--format table|json]",
                   "Reads every stored deployment from its provider (read-only) and reports its\n"
                   "status and any drift from the spec it was applied from, and lists the journal\n"
                   "rows of operations that did not finish (interrupted, or in progress in the\n"
                   "fedbroker holding the state lock). Exit 4 when a deployment is missing,\n"
                   "failed or drifted, or an operation was interrupted.", &pos, &npos, &rc))
        return rc;
    free(pos);
    fbc_format fmt;
    if (fbc_format_parse(format, (1u << FBC_FMT_TABLE) | (1u << FBC_FMT_JSON), &fmt) != 0) {
        free(names);
        return FB_EXIT_USAGE;
    }
    int64_t lease_s = -1, now = 0;
    char *err = NULL;
    if (lease) {
        int64_t ms;
        if (fbi_parse_duration(lease, &ms, &err) != 0) {
            fprintf(stderr, "fedbroker status: --lease %s: %s\n", lease, err);
            free(err);
            free(names);
            return FB_EXIT_USAGE;
        }
        lease_s = (ms + 999) / 1000;
    }
    if (fbi_now(&now, &err) != 0) {
        fprintf(stderr, "fedbroker status: %s\n", err);
        free(err);
        free(names);
        return FB_EXIT_INVALID;
    }
    fbi_broker b;
    fb_store *store = NULL;
    rc = fbc_open_broker(&b);
    if (rc != FB_EXIT_OK) { free(names); return rc; }
    if ((rc = fbc_open_store(&store)) != FB_EXIT_OK) {
        fbi_broker_close(&b);
        free(names);
        return rc;
    }
    json_t *deps;
    fbi_deploy_item *items;
    json_t **wls;
    size_t n;
    rc = fbc_stored_items(store, tenant, names, &deps, &items, &wls, &n);
    if (rc == FB_EXIT_OK) {
        fbi_observe(&b, items, n, fbc_parse_parallelism(par));
        rc = fbc_batch_exit(items, n);
        int interrupted;
        /* who is changing the state now (status never waits for the lock) */
        json_t *holder = fbi_lock_holder(fbi_store_path(store));
        json_t *unresolved = fbc_unresolved_rows(store, tenant, names, holder, &interrupted);
        json_t *table_rows = json_deep_copy(unresolved);
        json_t *out = json_array();
        if (fmt == FBC_FMT_TABLE)
            printf("%-24s %-12s %-10s %-16s %-8s %s\n", "WORKLOAD", "TENANT", "PROVIDER", "REGION",
                   "STATUS", "DRIFT");
        for (size_t i = 0; i < n; i++) {
            json_t *dep = items[i].deployment;
            const char *status = items[i].status == FB_OK
                ? json_string_value(json_object_get(items[i].output, "status")) : "error";
            size_t ndrift = json_array_size(json_object_get(items[i].output, "drift"));
            if (!status) status = "unknown";
            /* being created by the fedbroker holding the lock: not drift */
            int creating = holder && !strcmp(fbc_dep_str(dep, "phase"), "creating");
            if (creating) status = "creating";
            if (rc == FB_EXIT_OK && !creating && (strcmp(status, "ready") != 0 || ndrift))
                rc = FB_EXIT_DRIFT;
            fbc_item_diag(fbc_dep_str(dep, "workload"), items[i].diag);
            if (items[i].status == FB_OK && !creating)
                observed_endpoint(store, dep, &items[i], status, lease_s, now);
            if (fmt == FBC_FMT_JSON) {
                json_array_append_new(out, json_pack("{s:s,s:s,s:s,s:s,s:s,s:O?,s:o,s:o}",
                    "workload", fbc_dep_str(dep, "workload"), "tenant", fbc_dep_str(dep, "tenant"),
                    "provider", fbc_dep_str(dep, "provider"), "region", fbc_dep_str(dep, "region"),
                    "status", status, "drift", json_object_get(items[i].output, "drift"),
                    "diagnostics", fbi_diag_json(items[i].diag),
                    "unresolved", fbc_unresolved_of(unresolved, dep)));
            } else {
                printf("%-24s %-12s %-10s %-16s %-8s", fbc_dep_str(dep, "workload"), fbc_dep_str(dep, "tenant"),
                       fbc_dep_str(dep, "provider"), fbc_dep_str(dep, "region"), status);
                size_t k;
                json_t *dr;
                json_array_foreach(json_object_get(items[i].output, "drift"), k, dr)
                    printf(" %s", json_string_value(json_object_get(dr, "field")));
                putchar('\n');
            }
        }
        if (fmt == FBC_FMT_JSON) {
            /* rows about a deployment no longer in the store */
            while (json_array_size(unresolved)) {
                json_t *u = json_array_get(unresolved, 0);
                json_t *e = json_pack("{s:O,s:O,s:O,s:O?,s:s,s:[],s:[]}", "workload",
                                      json_object_get(u, "workload"), "tenant",
                                      json_object_get(u, "tenant"), "provider",
                                      json_object_get(u, "provider"), "region",
                                      json_object_get(u, "region"), "status", "unresolved",
                                      "drift", "diagnostics");
                /* takes u and its siblings out of unresolved */
                json_t *mine = fbc_unresolved_of(unresolved, e);
                if (json_array_size(mine) == 0) json_array_remove(unresolved, 0);
                json_object_set_new(e, "unresolved", mine);
                json_array_append_new(out, e);
            }
            fbc_print_json(out);
        } else {
            if (n == 0) printf("(no deployments in the store)\n");
            if (json_array_size(table_rows)) {
                printf("\nUNRESOLVED: journal rows of operations that did not finish\n");
                printf("%-6s %-8s %-32s %-20s %-20s %s\n", "ROW", "OP", "TENANT/WORKLOAD",
                       "WHERE", "STARTED", "STATE");
                size_t k;
                json_t *u;
                json_array_foreach(table_rows, k, u) {
                    char *who = fbi_xasprintf("%s/%s", fbc_dep_str(u, "tenant"), fbc_dep_str(u, "workload"));
                    char *where = fbi_xasprintf("%s:%s", fbc_dep_str(u, "provider"), fbc_dep_str(u, "region"));
                    char *state = json_object_get(u, "holder")
                        ? fbi_xasprintf("in progress (pid %lld)", (long long)json_integer_value(
                              json_object_get(json_object_get(u, "holder"), "pid")))
                        : fbi_xstrdup("interrupted");
                    printf("%-6lld %-8s %-32s %-20s %-20s %s\n",
                           (long long)json_integer_value(json_object_get(u, "id")), fbc_dep_str(u, "op"),
                           who, where, fbc_dep_str(u, "started_at"), state);
                    free(who);
                    free(where);
                    free(state);
                }
                if (interrupted)
                    printf("(the next apply or destroy resolves the interrupted rows: it asks the "
                           "provider and adopts, deletes or forgets what they left)\n");
            }
        }
        if (rc == FB_EXIT_OK && interrupted) rc = FB_EXIT_DRIFT;
        json_decref(unresolved);
        json_decref(table_rows);
        json_decref(holder);
        json_decref(out);
        fbc_free_stored(deps, items, wls, n);
    }
    fb_store_close(store);
    fbi_broker_close(&b);
    free(names);
    return rc;
}

