/* cmd_deploy.c - the life cycle verbs: apply, status, destroy, discover. */
#include "config.h"
#include "cli.h"
#include "base/call.h"
#include "spec/spec.h"
#include "base/util.h"
#include "state/lock.h"
#include "state/state.h"

#include <stdlib.h>
#include <string.h>

/* Exit code for a batch: invalid input beats provider failures. */
static int batch_exit(const fbi_deploy_item *items, size_t n)
{
    int rc = FB_EXIT_OK;
    for (size_t i = 0; i < n; i++) {
        /* invalid input, including missing or refused credentials */
        if (items[i].status == FB_INVALID || items[i].status == FB_AUTH) return FB_EXIT_INVALID;
        if (items[i].status != FB_OK) rc = FB_EXIT_FAILURE;
    }
    return rc;
}

static json_t *diag_array(const fb_diag *d)
{
    char *t = fb_diag_to_json(d);
    json_t *j = json_loads(t, 0, NULL);
    free(t);
    return j;
}

static const char *dep_str(json_t *dep, const char *k)
{
    const char *s = json_string_value(json_object_get(dep, k));
    return s ? s : "";
}

static unsigned parse_parallelism(const char *s)
{
    return s ? (unsigned)strtoul(s, NULL, 10) : 0;
}

/* Closes the journal rows interrupted runs left open (those about items
 * are closed by the items' own work) and prints what it did. */
static void recover(fbi_broker *b, fb_store *store, const fbi_deploy_item *items, size_t n,
                    const fbi_lock *lock, const char *par)
{
    fb_diag *d = fb_diag_new();
    fbi_recover(b, store, items, n, fbi_lock_settle_until_ms(lock), parse_parallelism(par), d);
    fb_diag_print(d, stderr);
    fb_diag_free(d);
}

int fbc_cmd_apply(int argc, char **argv)
{
    const char *target = NULL, *service = NULL, *format = NULL, *par = NULL, *lock_to = NULL;
    int dry_run = 0;
    fbc_opt opts[] = {
        {"target", "PROVIDER[:REGION]", "place every workload on this provider (and region)",
         &target, NULL, NULL},
        {"service", "SERVICE", "with --target: one of the provider's services", &service, NULL, NULL},
        {"dry-run", NULL, "print the exact HTTP requests instead of sending them", NULL, &dry_run, NULL},
        {"format", "FMT", "table or json", &format, NULL, NULL},
        {"parallelism", "N", "workloads applied at once (default: http.parallelism, 16)", &par, NULL, NULL},
        {"lock-timeout", "DURATION", "wait this long for the state lock (default 0s: fail at once)",
         &lock_to, NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, opts,
                   "fedbroker apply SPEC... --target PROVIDER[:REGION] [--service S] [--dry-run] "
                   "[--format table|json] [--parallelism N] [--lock-timeout DURATION]",
                   "Creates or updates each workload through its driver. Before each provider\n"
                   "call a journal row is written; every cloud-side id is stored as soon as it is\n"
                   "created; the deployment is stored when the driver is done. With --dry-run\n"
                   "nothing is sent or stored: the exact requests (Authorization included, secrets\n"
                   "redacted) are printed; set FEDBROKER_NOW for byte-for-byte reproducible output.\n"
                   "apply holds the state lock while it runs (exit 5 when another fedbroker holds\n"
                   "it past --lock-timeout) and first closes the journal rows an interrupted run\n"
                   "left open.",
                   &pos, &npos, &rc))
        return rc;
    int64_t lock_ms;
    if (fbc_lock_timeout("apply", lock_to, &lock_ms) != FB_EXIT_OK) {
        free(pos);
        return FB_EXIT_USAGE;
    }
    fbc_format fmt;
    if (fbc_format_parse(format, (1u << FBC_FMT_TABLE) | (1u << FBC_FMT_JSON), &fmt) != 0 ||
        npos == 0 || !target) {
        if (npos == 0) fprintf(stderr, "fedbroker apply: give at least one SPEC file\n");
        else if (!target)
            fprintf(stderr, "fedbroker apply: --target PROVIDER[:REGION] is required "
                            "(placement by the cost model comes with `fedbroker plan`)\n");
        free(pos);
        return FB_EXIT_USAGE;
    }
    fb_diag *d = fb_diag_new();
    char *provider = NULL, *region = NULL;
    if (fbi_parse_target(target, &provider, &region, d) != 0) {
        rc = fbc_report_diag(d, FB_EXIT_USAGE);
        fb_diag_free(d);
        free(pos);
        return rc;
    }
    fb_diag_free(d);
    fb_spec_set *set = NULL;
    rc = fbc_load_specs(pos, npos, &set);
    free(pos);
    fbi_broker b;
    int broker_open = 0;
    if (rc == FB_EXIT_OK) {
        rc = fbc_open_broker(&b);
        broker_open = rc == FB_EXIT_OK;
    }
    fb_store *store = NULL;
    fbi_lock *lock = NULL;
    if (rc == FB_EXIT_OK && !dry_run) rc = fbc_open_store(&store);
    if (rc == FB_EXIT_OK && store) rc = fbc_lock_state(store, "apply", lock_ms, &lock);
    size_t n = set ? fb_spec_count(set) : 0;
    fbi_deploy_item *items = fbi_xcalloc(n ? n : 1, sizeof *items);
    json_t **placements = fbi_xcalloc(n ? n : 1, sizeof *placements);
    json_t *deps = NULL;
    for (size_t i = 0; rc == FB_EXIT_OK && i < n; i++) {
        items[i].workload = fbi_spec_doc(set, i);
        items[i].diag = fb_diag_new();
        placements[i] = fbi_broker_placement(&b, fb_spec_kind(set, i), provider, region, service,
                                             items[i].diag);
        items[i].placement = placements[i];
        if (!placements[i]) {
            items[i].status = FB_INVALID;
            fbc_item_diag(fb_spec_name(set, i), items[i].diag);
            rc = FB_EXIT_INVALID;
        }
    }
    if (rc == FB_EXIT_OK && store) recover(&b, store, items, n, lock, par);
    /* The previous deployment of each workload, so apply updates in place. */
    if (rc == FB_EXIT_OK && store) {
        char *dj = NULL;
        fb_diag *sd = fb_diag_new();
        if (fb_store_list_deployments(store, NULL, NULL, &dj, sd) == FB_OK)
            deps = json_loads(dj, 0, NULL);
        free(dj);
        fb_diag_free(sd);
        for (size_t i = 0; i < n; i++) {
            size_t k;
            json_t *dep;
            json_array_foreach(deps, k, dep) {
                if (!strcmp(dep_str(dep, "workload"), fb_spec_name(set, i)) &&
                    !strcmp(dep_str(dep, "tenant"), fb_spec_tenant(set, i)) &&
                    !strcmp(dep_str(dep, "provider"), provider) &&
                    !strcmp(dep_str(dep, "region"),
                            json_string_value(json_object_get(items[i].placement, "region"))))
                    items[i].deployment = dep;
            }
        }
    }
    if (rc == FB_EXIT_OK) {
        fbi_apply(&b, store, items, n, dry_run, parse_parallelism(par));
        rc = batch_exit(items, n);
        json_t *out = json_array();
        for (size_t i = 0; i < n; i++) {
            char *what = fbi_xasprintf("%s/%s", fb_spec_tenant(set, i), fb_spec_name(set, i));
            fbc_item_diag(what, items[i].diag);
            if (dry_run) {
                size_t k;
                json_t *r;
                json_array_foreach(items[i].requests, k, r) json_array_append(out, r);
            } else if (fmt == FBC_FMT_JSON) {
                json_t *o = json_pack("{s:s,s:s,s:O,s:s}", "workload", fb_spec_name(set, i),
                                      "tenant", fb_spec_tenant(set, i), "placement",
                                      items[i].placement, "status",
                                      items[i].status == FB_OK ? "applied" : "failed");
                if (items[i].output) json_object_update(o, items[i].output);
                json_object_set_new(o, "diagnostics", diag_array(items[i].diag));
                json_array_append_new(out, o);
            } else {
                json_t *res = json_object_get(items[i].output, "resources");
                printf("%-8s %-28s %s:%s (%s)  %zu resource(s)\n",
                       items[i].status == FB_OK ? "applied" : "FAILED", what,
                       json_string_value(json_object_get(items[i].placement, "provider")),
                       json_string_value(json_object_get(items[i].placement, "region")),
                       json_string_value(json_object_get(items[i].placement, "service")),
                       json_array_size(res));
            }
            free(what);
        }
        if (dry_run || fmt == FBC_FMT_JSON) {
            /* Compact keys order matters for byte-for-byte reproducibility. */
            char *s = json_dumps(out, JSON_INDENT(2) | JSON_SORT_KEYS);
            puts(s);
            free(s);
        }
        json_decref(out);
    }
    for (size_t i = 0; i < n; i++) json_decref(placements[i]);
    free(placements);
    fbi_deploy_items_free(items, n);
    json_decref(deps);
    fb_store_close(store);
    fbi_lock_release(lock);
    if (broker_open) fbi_broker_close(&b);
    fb_spec_set_free(set);
    free(provider);
    free(region);
    return rc;
}

/* Loads the stored deployments matching the filters, each with its stored
 * workload, into items (new). */
static int stored_items(fb_store *store, const char *tenant, const char **names,
                        json_t **deps_out, fbi_deploy_item **items_out, json_t ***wls_out,
                        size_t *n_out)
{
    fb_diag *d = fb_diag_new();
    char *dj = NULL;
    int rc = FB_EXIT_OK;
    if (fb_store_list_deployments(store, tenant, NULL, &dj, d) != FB_OK) {
        fb_diag_print(d, stderr);
        fb_diag_free(d);
        return FB_EXIT_FAILURE;
    }
    json_t *all = json_loads(dj, 0, NULL);
    free(dj);
    json_t *deps = json_array();
    size_t k;
    json_t *dep;
    json_array_foreach(all, k, dep) {
        const char *w = json_string_value(json_object_get(dep, "workload"));
        int keep = !names;
        for (size_t i = 0; names && names[i]; i++)
            if (!strcmp(names[i], w)) keep = 1;
        if (keep) json_array_append(deps, dep);
    }
    json_decref(all);
    size_t n = json_array_size(deps);
    fbi_deploy_item *items = fbi_xcalloc(n ? n : 1, sizeof *items);
    json_t **wls = fbi_xcalloc(n ? n : 1, sizeof *wls);
    json_array_foreach(deps, k, dep) {
        items[k].deployment = dep;
        items[k].diag = fb_diag_new();
        /* the spec it was (being) applied from; rows older than schema 2:
         * the workload's last applied spec */
        char *wt = NULL;
        const char *t = dep_str(dep, "tenant"), *w = dep_str(dep, "workload");
        fb_diag *sd = fb_diag_new();
        if (fbi_store_get_deployment_spec(store, t, w, dep_str(dep, "provider"),
                                          dep_str(dep, "region"), &wt, sd) == FB_OK ||
            fb_store_get_workload(store, t, w, &wt, sd) == FB_OK)
            wls[k] = json_loads(wt, 0, NULL);
        fb_diag_free(sd);
        free(wt);
        items[k].workload = wls[k];
    }
    fb_diag_free(d);
    *deps_out = deps;
    *items_out = items;
    *wls_out = wls;
    *n_out = n;
    return rc;
}

/* The journal rows left in `intent` that match the filters (new array),
 * each with "state": "in progress" when the live holder of the state lock
 * (borrowed, NULL: none) may still be working on it (it began after the
 * holder took the lock), else "interrupted". *interrupted counts the
 * latter. */
static json_t *unresolved_rows(fb_store *store, const char *tenant, const char **names,
                               json_t *holder, int *interrupted)
{
    *interrupted = 0;
    char *text = NULL;
    fb_diag *d = fb_diag_new();
    json_t *rows = NULL;
    if (fb_store_journal_open_intents(store, &text, d) == FB_OK) rows = json_loads(text, 0, NULL);
    else fb_diag_print(d, stderr);
    free(text);
    fb_diag_free(d);
    const char *since = json_string_value(json_object_get(holder, "since"));
    json_t *out = json_array();
    size_t k;
    json_t *r;
    json_array_foreach(rows, k, r) {
        const char *w = dep_str(r, "workload");
        if (tenant && strcmp(tenant, dep_str(r, "tenant")) != 0) continue;
        int keep = !names;
        for (size_t i = 0; names && names[i]; i++)
            if (!strcmp(names[i], w)) keep = 1;
        if (!keep) continue;
        const char *started = dep_str(r, "started_at");
        int live = holder && (!since || strcmp(started, since) >= 0);
        json_t *detail = json_object_get(r, "detail");
        const char *region = json_string_value(
            json_object_get(json_object_get(detail, "placement"), "region"));
        if (!region) region = json_string_value(json_object_get(detail, "region"));
        json_t *o = json_pack("{s:O,s:O,s:O,s:O,s:O,s:s?,s:O,s:s}", "id", json_object_get(r, "id"),
                              "op", json_object_get(r, "op"), "tenant", json_object_get(r, "tenant"),
                              "workload", json_object_get(r, "workload"), "provider",
                              json_object_get(r, "provider"), "region", region, "started_at",
                              json_object_get(r, "started_at"), "state",
                              live ? "in progress" : "interrupted");
        if (live) json_object_set(o, "holder", holder);
        else (*interrupted)++;
        json_array_append_new(out, o);
    }
    json_decref(rows);
    return out;
}

/* Moves the rows of unresolved (borrowed) about dep into a new array. */
static json_t *unresolved_of(json_t *unresolved, json_t *dep)
{
    json_t *mine = json_array();
    for (size_t k = 0; k < json_array_size(unresolved);) {
        json_t *u = json_array_get(unresolved, k);
        const char *region = json_string_value(json_object_get(u, "region"));
        if (!strcmp(dep_str(u, "tenant"), dep_str(dep, "tenant")) &&
            !strcmp(dep_str(u, "workload"), dep_str(dep, "workload")) &&
            !strcmp(dep_str(u, "provider"), dep_str(dep, "provider")) &&
            (!region || !strcmp(region, dep_str(dep, "region")))) {
            json_t *c = json_copy(u);
            json_object_del(c, "tenant");
            json_object_del(c, "workload");
            json_object_del(c, "provider");
            json_object_del(c, "region");
            json_array_append_new(mine, c);
            json_array_remove(unresolved, k);
        } else {
            k++;
        }
    }
    return mine;
}

static void free_stored(json_t *deps, fbi_deploy_item *items, json_t **wls, size_t n)
{
    for (size_t i = 0; i < n; i++) json_decref(wls[i]);
    free(wls);
    fbi_deploy_items_free(items, n);
    json_decref(deps);
}

int fbc_cmd_status(int argc, char **argv)
{
    const char *format = NULL, *tenant = NULL, *par = NULL;
    const char **names = NULL;
    fbc_opt opts[] = {
        {"format", "FMT", "table or json", &format, NULL, NULL},
        {"tenant", "TENANT", "only this tenant's deployments", &tenant, NULL, NULL},
        {"workload", "NAME", "only this workload (repeatable)", NULL, NULL, &names},
        {"parallelism", "N", "deployments observed at once", &par, NULL, NULL},
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
    rc = stored_items(store, tenant, names, &deps, &items, &wls, &n);
    if (rc == FB_EXIT_OK) {
        fbi_observe(&b, items, n, parse_parallelism(par));
        rc = batch_exit(items, n);
        int interrupted;
        /* who is changing the state now (status never waits for the lock) */
        json_t *holder = fbi_lock_holder(fbi_store_path(store));
        json_t *unresolved = unresolved_rows(store, tenant, names, holder, &interrupted);
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
            int creating = holder && !strcmp(dep_str(dep, "phase"), "creating");
            if (creating) status = "creating";
            if (rc == FB_EXIT_OK && !creating && (strcmp(status, "ready") != 0 || ndrift))
                rc = FB_EXIT_DRIFT;
            fbc_item_diag(dep_str(dep, "workload"), items[i].diag);
            if (fmt == FBC_FMT_JSON) {
                json_array_append_new(out, json_pack("{s:s,s:s,s:s,s:s,s:s,s:O?,s:o,s:o}",
                    "workload", dep_str(dep, "workload"), "tenant", dep_str(dep, "tenant"),
                    "provider", dep_str(dep, "provider"), "region", dep_str(dep, "region"),
                    "status", status, "drift", json_object_get(items[i].output, "drift"),
                    "diagnostics", diag_array(items[i].diag),
                    "unresolved", unresolved_of(unresolved, dep)));
            } else {
                printf("%-24s %-12s %-10s %-16s %-8s", dep_str(dep, "workload"), dep_str(dep, "tenant"),
                       dep_str(dep, "provider"), dep_str(dep, "region"), status);
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
                json_t *mine = unresolved_of(unresolved, e);
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
                    char *who = fbi_xasprintf("%s/%s", dep_str(u, "tenant"), dep_str(u, "workload"));
                    char *where = fbi_xasprintf("%s:%s", dep_str(u, "provider"), dep_str(u, "region"));
                    char *state = json_object_get(u, "holder")
                        ? fbi_xasprintf("in progress (pid %lld)", (long long)json_integer_value(
                              json_object_get(json_object_get(u, "holder"), "pid")))
                        : fbi_xstrdup("interrupted");
                    printf("%-6lld %-8s %-32s %-20s %-20s %s\n",
                           (long long)json_integer_value(json_object_get(u, "id")), dep_str(u, "op"),
                           who, where, dep_str(u, "started_at"), state);
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
        free_stored(deps, items, wls, n);
    }
    fb_store_close(store);
    fbi_broker_close(&b);
    free(names);
    return rc;
}

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
    rc = stored_items(store, tenant, all ? NULL : names, &deps, &items, &wls, &n);
    if (rc == FB_EXIT_OK) {
        recover(&b, store, items, n, lock, par);
        fbi_destroy(&b, store, items, n, parse_parallelism(par), fbi_lock_settle_until_ms(lock));
        rc = batch_exit(items, n);
        json_t *out = json_array();
        for (size_t i = 0; i < n; i++) {
            json_t *dep = items[i].deployment;
            fbc_item_diag(dep_str(dep, "workload"), items[i].diag);
            const char *verdict = items[i].status == FB_OK ? "destroyed" : "failed";
            if (fmt == FBC_FMT_JSON)
                json_array_append_new(out, json_pack("{s:s,s:s,s:s,s:s,s:o}", "workload",
                    dep_str(dep, "workload"), "tenant", dep_str(dep, "tenant"), "provider",
                    dep_str(dep, "provider"), "status", verdict, "diagnostics",
                    diag_array(items[i].diag)));
            else
                printf("%-10s %s/%s on %s:%s\n", verdict, dep_str(dep, "tenant"),
                       dep_str(dep, "workload"), dep_str(dep, "provider"), dep_str(dep, "region"));
        }
        if (fmt == FBC_FMT_JSON) fbc_print_json(out);
        else if (n == 0) printf("(nothing to destroy)\n");
        json_decref(out);
        free_stored(deps, items, wls, n);
    }
    fb_store_close(store);
    fbi_lock_release(lock);
    fbi_broker_close(&b);
    free(names);
    return rc;
}

int fbc_cmd_discover(int argc, char **argv)
{
    const char *format = NULL, *provider = NULL;
    fbc_opt opts[] = {
        {"provider", "NAME", "only this driver", &provider, NULL, NULL},
        {"format", "FMT", "table or json", &format, NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, opts, "fedbroker discover [--provider NAME] [--format table|json]",
                   "Lists what every driver that can discover finds in its configured regions,\n"
                   "marks what fedbroker manages (by its tags) and whether the store tracks it:\n"
                   "'untracked' is a managed resource the store does not know (another broker's,\n"
                   "or left by a crash), 'unmanaged' is not fedbroker's. Changes nothing.",
                   &pos, &npos, &rc))
        return rc;
    free(pos);
    fbc_format fmt;
    if (fbc_format_parse(format, (1u << FBC_FMT_TABLE) | (1u << FBC_FMT_JSON), &fmt) != 0)
        return FB_EXIT_USAGE;
    fbi_broker b;
    fb_store *store = NULL;
    if ((rc = fbc_open_broker(&b)) != FB_EXIT_OK) return rc;
    if ((rc = fbc_open_store(&store)) != FB_EXIT_OK) {
        fbi_broker_close(&b);
        return rc;
    }
    char *dj = NULL;
    fb_diag *d = fb_diag_new();
    fb_store_list_deployments(store, NULL, NULL, &dj, d);
    json_t *deps = json_loads(dj ? dj : "[]", 0, NULL);
    free(dj);
    json_t *out = json_array();
    for (size_t i = 0; i < fb_registry_count(b.reg); i++) {
        const fb_driver *drv = fb_registry_get(b.reg, i);
        if (!(drv->caps & FB_CAP_DISCOVER)) continue;
        if (provider && strcmp(provider, drv->name) != 0) continue;
        fb_driver_ctx *ctx;
        fb_diag *dd = fb_diag_new();
        char *o = NULL;
        fbi_call call;
        json_t *res = NULL;
        fb_status st = fb_registry_context(b.reg, drv->name, &drv, &ctx, dd);
        if (st == FB_OK) {
            fbi_call_begin(&call, dd, drv->name);
            st = drv->discover(ctx, "{\"regions\":[]}", &o, dd);
            res = o ? json_loads(o, 0, NULL) : NULL;
            fbi_call_redact_json(&call, res); /* what the provider said, before printing */
            fbi_call_end(&call, dd);
        }
        if (st != FB_OK) rc = FB_EXIT_FAILURE;
        fbc_item_diag(drv->name, dd);
        free(o);
        size_t k;
        json_t *r;
        json_array_foreach(json_object_get(res, "resources"), k, r) {
            const char *id = json_string_value(json_object_get(r, "id"));
            int tracked = 0;
            size_t m, q;
            json_t *dep, *rec;
            json_array_foreach(deps, m, dep) {
                if (strcmp(dep_str(dep, "provider"), drv->name)) continue;
                json_array_foreach(json_object_get(dep, "resources"), q, rec)
                    if (id && !strcmp(dep_str(rec, "id"), id)) tracked = 1;
            }
            json_t *row = json_deep_copy(r);
            json_object_set_new(row, "provider", json_string(drv->name));
            json_object_set_new(row, "tracked", json_boolean(tracked));
            json_array_append_new(out, row);
        }
        json_decref(res);
        fb_diag_free(dd);
    }
    if (fmt == FBC_FMT_JSON) {
        fbc_print_json(out);
    } else {
        printf("%-10s %-16s %-20s %-10s %-12s %s\n", "PROVIDER", "REGION", "TYPE", "STATE",
               "WORKLOAD", "ID");
        size_t k;
        json_t *r;
        json_array_foreach(out, k, r) {
            int managed = json_is_true(json_object_get(r, "managed"));
            int tracked = json_is_true(json_object_get(r, "tracked"));
            printf("%-10s %-16s %-20s %-10s %-12s %s\n", dep_str(r, "provider"), dep_str(r, "region"),
                   dep_str(r, "type"), !managed ? "unmanaged" : tracked ? "tracked" : "untracked",
                   dep_str(r, "workload"), dep_str(r, "id"));
        }
    }
    json_decref(out);
    json_decref(deps);
    fb_diag_free(d);
    fb_store_close(store);
    fbi_broker_close(&b);
    return rc;
}
