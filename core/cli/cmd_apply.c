/* cmd_apply.c - apply: specs to deployments through their drivers. */
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

/* The verb; so receives the shared spec options (freed by the caller). */
static int run_apply(int argc, char **argv, fbc_spec_opts *so)
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
        FBC_SPEC_OPTS(*so),
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
    rc = fbc_load_specs("apply", pos, npos, so, &set);
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
    if (rc == FB_EXIT_OK && store) rc = fbc_bump_serial(store, "apply");
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
    if (rc == FB_EXIT_OK && store) fbc_recover(&b, store, items, n, lock, par);
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
                if (!strcmp(fbc_dep_str(dep, "workload"), fb_spec_name(set, i)) &&
                    !strcmp(fbc_dep_str(dep, "tenant"), fb_spec_tenant(set, i)) &&
                    !strcmp(fbc_dep_str(dep, "provider"), provider) &&
                    !strcmp(fbc_dep_str(dep, "region"),
                            json_string_value(json_object_get(items[i].placement, "region"))))
                    items[i].deployment = dep;
            }
        }
    }
    if (rc == FB_EXIT_OK) {
        fbi_apply(&b, store, items, n, dry_run, fbc_parse_parallelism(par));
        rc = fbc_batch_exit(items, n);
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
                json_object_set_new(o, "diagnostics", fbi_diag_json(items[i].diag));
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

int fbc_cmd_apply(int argc, char **argv)
{
    fbc_spec_opts so = {0};
    int rc = run_apply(argc, argv, &so);
    fbc_spec_opts_free(&so);
    return rc;
}
