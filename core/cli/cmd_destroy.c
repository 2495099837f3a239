/* cmd_destroy.c - destroy: remove deployments, by name even without a recorded id. */
#include "config.h"
#include "cli/cli.h"
#include "cli/deploy.h"
#include "cli/planexec.h"
#include "base/call.h"
#include "base/diag.h"
#include "spec/spec.h"
#include "base/util.h"
#include "state/lock.h"
#include "state/state.h"

#include <stdlib.h>
#include <string.h>

/* Keeps in items[0..) only the deployments keep() selects (the others
 * are swapped past the returned count). */
static size_t select_items(fbi_deploy_item *items, json_t **wls, size_t n,
                           int (*keep)(json_t *dep, void *ud), void *ud)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!keep(items[i].deployment, ud)) continue;
        fbi_deploy_item t = items[m];
        items[m] = items[i];
        items[i] = t;
        json_t *w = wls[m];
        wls[m] = wls[i];
        wls[i] = w;
        m++;
    }
    return m;
}

static int same(json_t *a, json_t *b, const char *k)
{
    return !strcmp(fbc_dep_str(a, k), fbc_dep_str(b, k));
}

/* In the federation's list of deployments (ud: JSON array). */
static int in_list(json_t *dep, void *ud)
{
    size_t k;
    json_t *m;
    json_array_foreach((json_t *)ud, k, m)
        if (same(dep, m, "tenant") && same(dep, m, "workload") && same(dep, m, "provider") &&
            same(dep, m, "region"))
            return 1;
    return 0;
}

/* A workload of the plan (ud: the plan document). */
static int in_plan(json_t *dep, void *ud)
{
    size_t k;
    json_t *w;
    json_array_foreach(json_object_get((json_t *)ud, "workloads"), k, w) {
        const char *name = json_string_value(json_object_get(w, "workload"));
        if (!name) name = fbc_dep_str(w, "name");
        if (!strcmp(fbc_dep_str(dep, "tenant"), fbc_dep_str(w, "tenant")) &&
            !strcmp(fbc_dep_str(dep, "workload"), name))
            return 1;
    }
    return 0;
}

/* Destroy levels: a deployment whose workload others among items depend on
 * (their stored spec's dependencies) goes after them. level[i] is the
 * length of the longest chain of dependents above item i. */
static void reverse_levels(const fbi_deploy_item *items, size_t n, int *level)
{
    for (size_t i = 0; i < n; i++) level[i] = 0;
    for (size_t round = 0; round < n; round++) {
        int changed = 0;
        for (size_t i = 0; i < n; i++) {
            size_t k;
            json_t *d;
            json_t *deps = json_object_get(json_object_get(items[i].workload, "spec"), "dependencies");
            json_array_foreach(deps, k, d)
                for (size_t j = 0; j < n; j++)
                    if (j != i && !strcmp(fbc_dep_str(items[j].deployment, "workload"),
                                          fbc_dep_str(d, "workload")) &&
                        same(items[j].deployment, items[i].deployment, "tenant") &&
                        level[j] < level[i] + 1) {
                        level[j] = level[i] + 1;
                        changed = 1;
                    }
        }
        if (!changed) break; /* a stored cycle ends after n rounds */
    }
}

int fbc_cmd_destroy(int argc, char **argv)
{
    const char *tenant = NULL, *format = NULL, *par = NULL, *lock_to = NULL;
    const char **names = NULL;
    const char *federation = NULL, *plan_ref = NULL;
    int all = 0;
    fbc_opt opts[] = {
        {"federation", "NAME", "destroy the deployments of this federation", &federation, NULL, NULL},
        {"plan", "FILE|ID|latest", "destroy the deployments of this plan's workloads", &plan_ref, NULL, NULL},
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
    if (!fbc_parse(argc, argv, opts, "fedbroker destroy (--workload NAME... | --federation NAME | "
                   "--plan FILE|ID|latest | --all) [--tenant T] "
                   "[--format table|json] [--lock-timeout DURATION]",
                   "Deletes deployments through their drivers and removes them from the store.\n"
                   "Deleting what is already gone succeeds (destroy is idempotent). A deployment\n"
                   "whose cloud id was never recorded (an interrupted apply) is looked up by its\n"
                   "name, adopted and deleted, and forgotten only once the provider says it does\n"
                   "not exist. destroy holds the state lock while it runs (exit 5 when another\n"
                   "fedbroker holds it past --lock-timeout) and closes the journal rows an\n"
                   "interrupted run left open. Dependents go before the workloads they depend\n"
                   "on. A --workload or --federation that matches nothing is an error (exit 2).",
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
        (!names && !all && !federation && !plan_ref)) {
        if (!names && !all && !federation && !plan_ref)
            fprintf(stderr, "fedbroker destroy: name what to destroy: --workload NAME, "
                            "--federation NAME, --plan FILE|ID|latest or --all\n");
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
    json_t *deps = NULL;
    fbi_deploy_item *items = NULL;
    json_t **wls = NULL;
    size_t n = 0;
    json_t *plan = NULL, *fed_list = NULL;
    if (plan_ref) rc = fbc_plan_load("destroy", plan_ref, store, &plan);
    if (rc == FB_EXIT_OK && federation) {
        char *text = NULL;
        fb_diag *d = fb_diag_new();
        if (fbi_store_list_federation(store, federation, &text, d) == FB_OK)
            fed_list = json_loads(text, 0, NULL);
        else
            rc = fbc_report_diag(d, FB_EXIT_FAILURE);
        free(text);
        fb_diag_free(d);
    }
    if (rc == FB_EXIT_OK) rc = fbc_bump_serial(store, "destroy");
    size_t all_n = 0;
    if (rc == FB_EXIT_OK)
        rc = fbc_stored_items(store, tenant, all || federation || plan ? NULL : names, &deps, &items,
                              &wls, &all_n);
    n = all_n;
    if (rc == FB_EXIT_OK && fed_list) n = select_items(items, wls, n, in_list, fed_list);
    if (rc == FB_EXIT_OK && plan) n = select_items(items, wls, n, in_plan, plan);
    /* a name that matches nothing is a mistake to report, not a no-op */
    for (size_t i = 0; rc == FB_EXIT_OK && names && !all && names[i]; i++) {
        int found = 0;
        for (size_t k = 0; k < n; k++)
            found |= !strcmp(fbc_dep_str(items[k].deployment, "workload"), names[i]);
        if (!found) {
            fprintf(stderr, "fedbroker destroy: --workload %s: no deployment of that name%s%s "
                            "(`fedbroker status` lists them)\n", names[i], tenant ? " in tenant " : "",
                    tenant ? tenant : "");
            rc = FB_EXIT_INVALID;
        }
    }
    if (rc == FB_EXIT_OK && n == 0 && (federation || plan)) {
        fprintf(stderr, "fedbroker destroy: %s%s: nothing of it is deployed (`fedbroker status` "
                        "lists the deployments)\n", federation ? "--federation " : "--plan ",
                federation ? federation : plan_ref);
        rc = FB_EXIT_INVALID;
    }
    if (rc != FB_EXIT_OK && deps) {
        fbc_free_stored(deps, items, wls, all_n);
        deps = NULL;
    }
    if (rc == FB_EXIT_OK) {
        fbc_recover(&b, store, items, n, lock, par);
        /* dependents first, then what they depend on */
        int *level = fbi_xcalloc(n ? n : 1, sizeof *level);
        reverse_levels(items, n, level);
        int top = 0;
        for (size_t i = 0; i < n; i++) if (level[i] > top) top = level[i];
        for (int lv = 0; lv <= top; lv++) {
            /* items of this level moved to the front of a scratch batch */
            fbi_deploy_item *batch = fbi_xcalloc(n ? n : 1, sizeof *batch);
            size_t *idx = fbi_xcalloc(n ? n : 1, sizeof *idx);
            size_t m = 0;
            for (size_t i = 0; i < n; i++)
                if (level[i] == lv) {
                    batch[m] = items[i];
                    idx[m++] = i;
                }
            if (m) fbi_destroy(&b, store, batch, m, fbc_parse_parallelism(par),
                               fbi_lock_settle_until_ms(lock));
            for (size_t k = 0; k < m; k++) items[idx[k]] = batch[k];
            free(batch);
            free(idx);
        }
        free(level);
        for (size_t i = 0; i < n; i++) {
            if (items[i].status != FB_OK) continue;
            json_t *dep = items[i].deployment;
            fb_diag *d = fb_diag_new();
            fbi_store_delete_endpoint(store, fbc_dep_str(dep, "tenant"), fbc_dep_str(dep, "workload"),
                                      fbc_dep_str(dep, "provider"), fbc_dep_str(dep, "region"), d);
            fb_diag_print(d, stderr);
            fb_diag_free(d);
        }
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
        fbc_free_stored(deps, items, wls, all_n);
    }
    json_decref(plan);
    json_decref(fed_list);
    fb_store_close(store);
    fbi_lock_release(lock);
    fbi_broker_close(&b);
    free(names);
    return rc;
}

