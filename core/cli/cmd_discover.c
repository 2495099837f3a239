/* cmd_discover.c - discover: what the drivers find in the clouds, tracked or not. */
#include "config.h"
#include "cli/cli.h"
#include "cli/deploy.h"
#include "discovery/discovery.h"
#include "base/call.h"
#include "spec/spec.h"
#include "base/util.h"
#include "identity/identity.h"
#include "state/lock.h"
#include "state/state.h"

#include <stdlib.h>
#include <string.h>

int fbc_cmd_discover(int argc, char **argv)
{
    const char *format = NULL, *provider = NULL, *lease = NULL;
    fbc_opt opts[] = {
        {"provider", "NAME", "only this driver", &provider, NULL, NULL},
        {"lease", "DURATION", "record the endpoints found, holding for this lease", &lease, NULL, NULL},
        {"format", "FMT", "table or json", &format, NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, opts,
                   "fedbroker discover [--provider NAME] [--lease DURATION] [--format table|json]",
                   "Lists what every driver that can discover finds in its configured regions,\n"
                   "marks what fedbroker manages (by its tags) and whether the store tracks it:\n"
                   "'untracked' is a managed resource the store does not know (another broker's,\n"
                   "or left by a crash), 'unmanaged' is not fedbroker's. Without --lease it\n"
                   "changes nothing. With --lease, the endpoints the drivers report for managed\n"
                   "workloads (URLs, Kubernetes EndpointSlice addresses) are recorded in the\n"
                   "endpoints table under their source (discover, or the driver's) with that\n"
                   "lease, and the table is swept: rows whose source stopped reporting go stale\n"
                   "after one lease and are removed after two (docs/discovery.md).",
                   &pos, &npos, &rc))
        return rc;
    free(pos);
    fbc_format fmt;
    if (fbc_format_parse(format, (1u << FBC_FMT_TABLE) | (1u << FBC_FMT_JSON), &fmt) != 0)
        return FB_EXIT_USAGE;
    int64_t lease_s = 0, now = 0;
    char *err = NULL;
    if (lease) {
        int64_t ms;
        if (fbi_parse_duration(lease, &ms, &err) != 0 || ms <= 0) {
            fprintf(stderr, "fedbroker discover: --lease %s: %s\n", lease,
                    err ? err : "a lease must be longer than zero (e.g. 60s, 5m)");
            free(err);
            return FB_EXIT_USAGE;
        }
        lease_s = (ms + 999) / 1000;
    }
    if (fbi_now(&now, &err) != 0) {
        fprintf(stderr, "fedbroker discover: %s\n", err);
        free(err);
        return FB_EXIT_INVALID;
    }
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
    /* when the broker is an issuer, drivers also look for the identity
     * bindings they make (roles, accounts) to find leftovers */
    char *din = fbi_xstrdup("{\"regions\":[]}");
    fbi_identity_cfg icfg;
    fb_diag *idd = fb_diag_new();
    if (fbi_identity_cfg_load(b.config, 0, &icfg, idd) == FB_OK) {
        if (icfg.trust_domain) {
            json_t *j = json_pack("{s:[],s:{s:s,s:s}}", "regions", "identity", "trustDomain", icfg.trust_domain,
                                  "issuer", icfg.issuer);
            free(din);
            din = json_dumps(j, JSON_COMPACT);
            json_decref(j);
        }
        fbi_identity_cfg_free(&icfg);
    }
    fb_diag_free(idd);
    json_t *out = json_array(), *recorded = json_array(), *aged = NULL;
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
            snprintf(call.verb, sizeof call.verb, "discover");
            st = drv->discover(ctx, din, &o, dd);
            res = o ? json_loads(o, 0, NULL) : NULL;
            fbi_call_redact_json(&call, res); /* what the provider said, before printing */
            fbi_call_end(&call, dd);
        }
        if (st != FB_OK) rc = FB_EXIT_FAILURE;
        /* a driver that failed reported nothing: its rows age out */
        if (st == FB_OK && lease && res &&
            fbi_discovery_discovered(store, drv->name, json_object_get(res, "resources"), lease_s, now,
                                     recorded, dd) != FB_OK)
            rc = FB_EXIT_FAILURE;
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
                if (strcmp(fbc_dep_str(dep, "provider"), drv->name)) continue;
                json_array_foreach(json_object_get(dep, "resources"), q, rec)
                    if (id && !strcmp(fbc_dep_str(rec, "id"), id)) tracked = 1;
            }
            json_t *row = json_deep_copy(r);
            json_object_set_new(row, "provider", json_string(drv->name));
            json_object_set_new(row, "tracked", json_boolean(tracked));
            json_array_append_new(out, row);
        }
        json_decref(res);
        fb_diag_free(dd);
    }
    if (lease && fbi_discovery_sweep(store, now, &aged, d) != FB_OK) rc = fbc_report_diag(d, FB_EXIT_FAILURE);
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
            printf("%-10s %-16s %-20s %-10s %-12s %s\n", fbc_dep_str(r, "provider"), fbc_dep_str(r, "region"),
                   fbc_dep_str(r, "type"), !managed ? "unmanaged" : tracked ? "tracked" : "untracked",
                   fbc_dep_str(r, "workload"), fbc_dep_str(r, "id"));
        }
        if (lease)
            printf("recorded %zu endpoint(s) with a %llds lease; %zu aged (stale or removed)\n",
                   json_array_size(recorded), (long long)lease_s, json_array_size(aged));
    }
    json_decref(aged);
    json_decref(recorded);
    json_decref(out);
    json_decref(deps);
    free(din);
    fb_diag_free(d);
    fb_store_close(store);
    fbi_broker_close(&b);
    return rc;
}

