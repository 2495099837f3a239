/* cmd_deploy.c - the life cycle verbs: apply, status, destroy, discover. */
#include "config.h"
#include "cli.h"
#include "base/call.h"
#include "spec/spec.h"
#include "base/util.h"

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

/* The verb; so receives the shared spec options (freed by the caller). */
static int run_apply(int argc, char **argv, fbc_spec_opts *so)
{
    const char *target = NULL, *service = NULL, *format = NULL, *par = NULL;
    int dry_run = 0;
    fbc_opt opts[] = {
        {"target", "PROVIDER[:REGION]", "place every workload on this provider (and region)",
         &target, NULL, NULL},
        {"service", "SERVICE", "with --target: one of the provider's services", &service, NULL, NULL},
        {"dry-run", NULL, "print the exact HTTP requests instead of sending them", NULL, &dry_run, NULL},
        {"format", "FMT", "table or json", &format, NULL, NULL},
        {"parallelism", "N", "workloads applied at once (default: http.parallelism, 16)", &par, NULL, NULL},
        FBC_SPEC_OPTS(*so),
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, opts,
                   "fedbroker apply SPEC... --target PROVIDER[:REGION] [--service S] [--dry-run] "
                   "[--format table|json] [--parallelism N]",
                   "Creates or updates each workload through its driver. Before each provider\n"
                   "call a journal row is written; every cloud-side id is stored as soon as it is\n"
                   "created; the deployment is stored when the driver is done. With --dry-run\n"
                   "nothing is sent or stored: the exact requests (Authorization included, secrets\n"
                   "redacted) are printed; set FEDBROKER_NOW for byte-for-byte reproducible output.",
                   &pos, &npos, &rc))
        return rc;
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
    rc = fbc_load_specs("apply", pos, npos, so, &set);
    free(pos);
    fbi_broker b;
    int broker_open = 0;
    if (rc == FB_EXIT_OK) {
        rc = fbc_open_broker(&b);
        broker_open = rc == FB_EXIT_OK;
    }
    fb_store *store = NULL;
    if (rc == FB_EXIT_OK && !dry_run) rc = fbc_open_store(&store);
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
    if (broker_open) fbi_broker_close(&b);
    fb_spec_set_free(set);
    free(provider);
    free(region);
    return rc;
}

int fbc_cmd_apply(int argc, char **argv)
{
    fbc_spec_opts so = {0};
    int rc = run_apply(argc, argv, &so);
    fbc_spec_opts_free(&so);
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
        char *wt = NULL;
        if (fb_store_get_workload(store, json_string_value(json_object_get(dep, "tenant")),
                                  json_string_value(json_object_get(dep, "workload")), &wt,
                                  items[k].diag) == FB_OK)
            wls[k] = json_loads(wt, 0, NULL);
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
                   "status and any drift from the spec it was applied from. Exit 4 when a\n"
                   "deployment is missing, failed or drifted.", &pos, &npos, &rc))
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
            if (rc == FB_EXIT_OK && (strcmp(status, "ready") != 0 || ndrift)) rc = FB_EXIT_DRIFT;
            fbc_item_diag(dep_str(dep, "workload"), items[i].diag);
            if (fmt == FBC_FMT_JSON) {
                json_array_append_new(out, json_pack("{s:s,s:s,s:s,s:s,s:s,s:O?,s:o}",
                    "workload", dep_str(dep, "workload"), "tenant", dep_str(dep, "tenant"),
                    "provider", dep_str(dep, "provider"), "region", dep_str(dep, "region"),
                    "status", status, "drift", json_object_get(items[i].output, "drift"),
                    "diagnostics", diag_array(items[i].diag)));
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
        if (fmt == FBC_FMT_JSON) fbc_print_json(out);
        else if (n == 0) printf("(no deployments in the store)\n");
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
    const char *tenant = NULL, *format = NULL, *par = NULL;
    const char **names = NULL;
    int all = 0;
    fbc_opt opts[] = {
        {"workload", "NAME", "destroy this workload's deployments (repeatable)", NULL, NULL, &names},
        {"tenant", "TENANT", "only this tenant", &tenant, NULL, NULL},
        {"all", NULL, "destroy every stored deployment (of --tenant, if given)", NULL, &all, NULL},
        {"format", "FMT", "table or json", &format, NULL, NULL},
        {"parallelism", "N", "deployments deleted at once", &par, NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, opts, "fedbroker destroy (--workload NAME... | --all) [--tenant T] "
                   "[--format table|json]",
                   "Deletes deployments through their drivers and removes them from the store.\n"
                   "Deleting what is already gone succeeds (destroy is idempotent).",
                   &pos, &npos, &rc))
        return rc;
    free(pos);
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
    if ((rc = fbc_open_broker(&b)) != FB_EXIT_OK) { free(names); return rc; }
    if ((rc = fbc_open_store(&store)) != FB_EXIT_OK) {
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
        fbi_destroy(&b, store, items, n, parse_parallelism(par));
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
        fb_status st = fb_registry_context(b.reg, drv->name, &drv, &ctx, dd);
        if (st == FB_OK) {
            fbi_call_begin(&call, dd, drv->name);
            st = drv->discover(ctx, "{\"regions\":[]}", &o, dd);
            fbi_call_end(&call, dd);
        }
        if (st != FB_OK) rc = FB_EXIT_FAILURE;
        fbc_item_diag(drv->name, dd);
        json_t *res = o ? json_loads(o, 0, NULL) : NULL;
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
