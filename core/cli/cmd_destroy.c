/* cmd_destroy.c - destroy: remove deployments, by name even without a recorded id. */
#include "config.h"
#include "cli.h"
#include "cli/deploy.h"
#include "base/call.h"
#include "base/diag.h"
#include "spec/spec.h"
#include "base/util.h"
#include "state/lock.h"
#include "state/state.h"

#include <stdlib.h>
#include <string.h>

int fbc_cmd_destroy(int argc, char **argv)
{
    const char *tenant = NULL, *format = NULL, *par = NULL, *lock_to = NULL;
    const char **names = NULL;
    int all = 0;
    fbc_opt opts[] = {
        {"workload", "NAME", "destroy this workload's deployments (repeatable)", NULL, NULL, &names},
        {"tenant", "TENANT", "only this tenant", &tenant, NULL, NULL},
        {"all", NULL, "destroy every stored deployment (of --tenant, if given)", NULL, &all, NULL},
        {"format", "FMT", "table or json", &format, NULL, NULL},
        {"parallelism", "N", "deployments deleted at once", &par, NULL, NULL},
        {"lock-timeout", "DURATION", "wait this long for the state lock (default 0s: fail at once)",
         &lock_to, NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, opts, "fedbroker destroy (--workload NAME... | --all) [--tenant T] "
                   "[--format table|json] [--lock-timeout DURATION]",
                   "Deletes deployments through their drivers and removes them from the store.\n"
                   "Deleting what is already gone succeeds (destroy is idempotent). A deployment\n"
                   "whose cloud id was never recorded (an interrupted apply) is looked up by its\n"
                   "name, adopted and deleted, and forgotten only once the provider says it does\n"
                   "not exist. destroy holds the state lock while it runs (exit 5 when another\n"
                   "fedbroker holds it past --lock-timeout) and closes the journal rows an\n"
                   "interrupted run left open.",
                   &pos, &npos, &rc))
        return rc;
    free(pos);
    int64_t lock_ms;
    if (fbc_lock_timeout("destroy", lock_to, &lock_ms) != FB_EXIT_OK) {
        free(names);
        return FB_EXIT_USAGE;
    }
    fbc_format fmt;
    if (fbc_format_parse(format, (1u << FBC_FMT_TABLE) | (1u << FBC_FMT_JSON), &fmt) != 0 ||
        (!names && !all)) {
        if (!names && !all)
            fprintf(stderr, "fedbroker destroy: name what to destroy: --workload NAME or --all\n");
        free(names);
        return FB_EXIT_USAGE;
    }
    fbi_broker b;
    fb_store *store = NULL;
    fbi_lock *lock = NULL;
    if ((rc = fbc_open_broker(&b)) != FB_EXIT_OK) { free(names); return rc; }
    if ((rc = fbc_open_store(&store)) != FB_EXIT_OK ||
        (rc = fbc_lock_state(store, "destroy", lock_ms, &lock)) != FB_EXIT_OK) {
        fb_store_close(store);
        fbi_broker_close(&b);
        free(names);
        return rc;
    }
    json_t *deps;
    fbi_deploy_item *items;
    json_t **wls;
    size_t n;
    rc = fbc_bump_serial(store, "destroy");
    if (rc == FB_EXIT_OK) rc = fbc_stored_items(store, tenant, all ? NULL : names, &deps, &items, &wls, &n);
    if (rc == FB_EXIT_OK) {
        fbc_recover(&b, store, items, n, lock, par);
        fbi_destroy(&b, store, items, n, fbc_parse_parallelism(par), fbi_lock_settle_until_ms(lock));
        rc = fbc_batch_exit(items, n);
        json_t *out = json_array();
        for (size_t i = 0; i < n; i++) {
            json_t *dep = items[i].deployment;
            fbc_item_diag(fbc_dep_str(dep, "workload"), items[i].diag);
            const char *verdict = items[i].status == FB_OK ? "destroyed" : "failed";
            if (fmt == FBC_FMT_JSON)
                json_array_append_new(out, json_pack("{s:s,s:s,s:s,s:s,s:o}", "workload",
                    fbc_dep_str(dep, "workload"), "tenant", fbc_dep_str(dep, "tenant"), "provider",
                    fbc_dep_str(dep, "provider"), "status", verdict, "diagnostics",
                    fbi_diag_json(items[i].diag)));
            else
                printf("%-10s %s/%s on %s:%s\n", verdict, fbc_dep_str(dep, "tenant"),
                       fbc_dep_str(dep, "workload"), fbc_dep_str(dep, "provider"), fbc_dep_str(dep, "region"));
        }
        if (fmt == FBC_FMT_JSON) fbc_print_json(out);
        else if (n == 0) printf("(nothing to destroy)\n");
        json_decref(out);
        fbc_free_stored(deps, items, wls, n);
    }
    fb_store_close(store);
    fbi_lock_release(lock);
    fbi_broker_close(&b);
    free(names);
    return rc;
}

