/* cmd_apply.c - apply: specs to deployments through their drivers. */
#include "config.h"
#include "cli/cli.h"
#include "cli/deploy.h"
#include "cli/planexec.h"
#include "discovery/discovery.h"
#include "plan/plan.h"
#include "base/call.h"
#include "base/diag.h"
#include "spec/spec.h"
#include "base/util.h"
#include "state/lock.h"
#include "state/state.h"
#include "base/jsonread.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Asks on the terminal whether to apply; 1 only for "yes". */
static int confirmed(void)
{
    fprintf(stderr, "\nDo you want to perform these actions? Only 'yes' will be accepted: ");
    char line[64];
    if (!fgets(line, sizeof line, stdin)) return 0;
    line[strcspn(line, "\r\n")] = 0;
    return !strcmp(line, "yes");
}

/* What an apply from a plan frees at its end: the plan and the spec set
 * (the largest trees of a 1,000-workload apply, 90 M instructions to free
 * under callgrind) go on a second thread while the main thread closes the
 * store, whose last close checkpoints the journal and waits on the disk
 * (bench/README-aws.md, Stop 26). All owned by the thread once it starts. */
typedef struct apply_drop {
    char **files;
    json_t *plan;
    fb_spec_set *set;
    fbc_hybrid *hy;
} apply_drop;

static void *apply_drop_run(void *arg)
{
    apply_drop *d = arg;
    free(d->files);
    json_decref(d->plan);
    fb_spec_set_free(d->set);
    fbc_hybrid_free(d->hy);
    return NULL;
}

/* A plan file this large (about 150 workloads) has its specs' catalog and
 * schema made on a second thread while it is parsed (fbc_vocab_warm_start);
 * below it the thread costs more than it overlaps. */
#define WARM_PLAN_BYTES (256 * 1024)

typedef struct plan_args {
    const char *plan_ref, *format, *par, *catalog, *overrides;
    int dry_run, yes, prune, rerun;
    int64_t lock_ms;
} plan_args;

/* apply --plan REF, or apply SPEC... without --target: plan (or load the
 * plan), compute its change set against the state, execute it. */
static int apply_planned(char **pos, int npos, fbc_spec_opts *so, const plan_args *a)
{
    fbc_format fmt;
    if (fbc_format_parse(a->format, (1u << FBC_FMT_TABLE) | (1u << FBC_FMT_JSON), &fmt) != 0)
        return FB_EXIT_USAGE;
    if (a->plan_ref && npos) {
        fprintf(stderr, "fedbroker apply: --plan applies the plan's own spec files; give no SPEC "
                        "with it\n");
        return FB_EXIT_USAGE;
    }
    if (!a->plan_ref && npos == 0) {
        fprintf(stderr, "fedbroker apply: give SPEC files, --plan FILE|ID|latest, or --target\n");
        return FB_EXIT_USAGE;
    }
    /* a large plan file names large specs: their name check's catalog and
     * the schema are made on the second core while this thread opens the
     * broker and the store and parses the plan */
    struct stat pst;
    if (a->plan_ref && stat(a->plan_ref, &pst) == 0 && S_ISREG(pst.st_mode) &&
        pst.st_size >= WARM_PLAN_BYTES)
        fbc_vocab_warm_start();
    fbi_broker b;
    int rc = fbc_open_broker(&b);
    if (rc != FB_EXIT_OK) {
        fbc_vocab_warm_end();
        return rc;
    }
    fb_store *store = NULL;
    fbi_lock *lock = NULL;
    fb_spec_set *set = NULL;
    json_t *plan = NULL;
    fbc_hybrid hy; /* the hybrid workloads placed as two parts */
    memset(&hy, 0, sizeof hy);
    char **files = NULL;
    int64_t total = 0; /* nano-USD: the plan's total, stored with it */
    rc = fbc_open_store(&store);
    /* a dry run sends and stores nothing, so it takes no lock */
    if (rc == FB_EXIT_OK && !a->dry_run) rc = fbc_lock_state(store, "apply", a->lock_ms, &lock);
    if (rc == FB_EXIT_OK && a->plan_ref) {
        rc = fbc_plan_load("apply", a->plan_ref, store, &plan);
        json_t *src = json_object_get(plan, "sources");
        size_t n = json_array_size(src);
        files = fbi_xcalloc(n + 1, sizeof *files);
        for (size_t i = 0; i < n; i++)
            files[i] = (char *)json_string_value(json_object_get(json_array_get(src, i), "path"));
        if (rc == FB_EXIT_OK) rc = fbc_load_specs("apply", files, (int)n, so, &set);
        if (rc == FB_EXIT_OK && json_object_get(plan, "hybrid")) {
            /* the parts the plan placed, derived again (the simulation is
             * deterministic; a changed input fails the freshness check) */
            fbi_plan_opts po;
            memset(&po, 0, sizeof po);
            po.catalog_dir = a->catalog;
            po.overrides = a->overrides;
            rc = fbc_hybrid_prepare(&hy, &b, set, &po);
            /* at the pair the plan chose, as plan simulated it last */
            if (rc == FB_EXIT_OK && fbc_hybrid_refit(&hy, &b, set, &po, plan, &rc) < 0 && rc == FB_EXIT_OK)
                rc = FB_EXIT_INVALID;
            if (rc == FB_EXIT_OK) fbc_hybrid_deploy_set(&hy, set);
        }
        if (rc == FB_EXIT_OK) rc = fbc_plan_check_fresh(plan, set, store);
    } else if (rc == FB_EXIT_OK) {
        rc = fbc_load_specs("apply", pos, npos, so, &set);
        fbi_plan_opts po;
        memset(&po, 0, sizeof po);
        po.catalog_dir = a->catalog;
        po.overrides = a->overrides;
        fb_diag *d = fb_diag_new();
        if (rc == FB_EXIT_OK) rc = fbc_hybrid_prepare(&hy, &b, set, &po);
        fb_status st = rc == FB_EXIT_OK ? fbi_plan_run(&b, set, &po, &plan, &total, d) : FB_OK;
        for (int round = 0; rc == FB_EXIT_OK && st == FB_OK && round < 2; round++) {
            int ch = fbc_hybrid_refit(&hy, &b, set, &po, plan, &rc);
            if (ch <= 0) break;
            json_decref(plan);
            plan = NULL;
            st = fbi_plan_run(&b, set, &po, &plan, &total, d);
        }
        if (rc == FB_EXIT_OK && st == FB_OK) {
            fbc_hybrid_attach(&hy, plan);
            fbc_hybrid_deploy_set(&hy, set);
        }
        fb_diag_print(d, stderr);
        fb_diag_free(d);
        if (rc != FB_EXIT_OK) {
        } else if (st == FB_QUOTA) {
            fprintf(stderr, "fedbroker apply: no placement satisfies the constraints (see above); "
                            "nothing was applied\n");
            rc = FB_EXIT_INFEASIBLE;
        } else if (st != FB_OK) {
            rc = st == FB_INVALID ? FB_EXIT_INVALID : FB_EXIT_FAILURE;
        } else {
            fbc_plan_inputs in = {pos, npos, a->catalog, a->overrides};
            rc = fbc_plan_annotate(plan, &b, set, store, &in);
        }
    }
    /* the warm-up's thread and catalog, when the specs were not loaded
     * (the store, the lock or the plan failed first) */
    fbc_vocab_warm_end();
    if (rc == FB_EXIT_OK && !a->dry_run) fbc_recover(&b, store, NULL, 0, lock, a->par);
    if (rc == FB_EXIT_OK) rc = fbc_plan_changes(plan, set, store, &b, a->rerun);
    if (rc == FB_EXIT_OK && a->dry_run) {
        fbc_print_changes(plan, stderr);
        rc = fbc_plan_dry_run(&b, store, set, plan, fbc_parse_parallelism(a->par));
        free(files);
        json_decref(plan);
        fb_spec_set_free(set);
        fbc_hybrid_free(&hy);
        fb_store_close(store);
        fbi_broker_close(&b);
        return rc;
    }
    if (rc == FB_EXIT_OK) {
        fbc_print_changes(plan, stderr);
        if (!a->plan_ref) {
            /* what was applied can be listed and reread (`fedbroker plans`) */
            char *text = json_dumps(plan, JSON_COMPACT | JSON_SORT_KEYS);
            fb_diag *sd = fb_diag_new();
            /* micro-USD, rounded half away from zero as plan stores it */
            long long micro = total >= 0 ? (total + 500) / 1000 : -((-total + 500) / 1000);
            fb_store_put_plan(store, text, micro, NULL, sd);
            fb_diag_free(sd);
            free(text);
        }
        if (!a->plan_ref && !a->yes && fbc_plan_has_changes(plan, a->prune)) {
            if (!isatty(STDIN_FILENO)) {
                fprintf(stderr, "fedbroker apply: no terminal to confirm these changes: pass --yes "
                                "to apply them (or plan with --out FILE and apply --plan FILE)\n");
                rc = FB_EXIT_USAGE;
            } else if (!confirmed()) {
                fprintf(stderr, "Apply cancelled.\n");
                rc = FB_EXIT_FAILURE;
            }
        }
    }
    if (rc == FB_EXIT_OK) {
        fbc_exec_opts eo = {a->prune, fbc_parse_parallelism(a->par), fmt == FBC_FMT_JSON, a->par};
        rc = fbc_plan_execute(&b, store, lock, set, plan, &eo);
    }
    apply_drop drop = {files, plan, set, &hy};
    pthread_t dropper;
    int dropping = sysconf(_SC_NPROCESSORS_ONLN) >= 2 &&
                   pthread_create(&dropper, NULL, apply_drop_run, &drop) == 0;
    if (!dropping) apply_drop_run(&drop);
    fb_store_close(store);
    fbi_lock_release(lock);
    fbi_broker_close(&b);
    if (dropping) pthread_join(dropper, NULL);
    return rc;
}

/* The verb; so receives the shared spec options (freed by the caller). */
static int run_apply(int argc, char **argv, fbc_spec_opts *so)
{
    const char *target = NULL, *service = NULL, *format = NULL, *par = NULL, *lock_to = NULL;
    const char *plan_ref = NULL, *catalog = NULL, *overrides = NULL;
    int dry_run = 0, yes = 0, prune = 0, rerun = 0;
    fbc_opt opts[] = {
        {"plan", "FILE|ID|latest", "apply exactly this plan (plan --out FILE, or a stored plan)",
         &plan_ref, NULL, NULL},
        {"yes", NULL, "apply the plan without asking (needed without a terminal)", NULL, &yes, NULL},
        {"prune", NULL, "also delete what the plan's change set deletes", NULL, &prune, NULL},
        {"rerun", NULL, "run an unchanged QuantumJob again", NULL, &rerun, NULL},
        {"catalog", "DIR", "without --plan: the price catalog to plan with", &catalog, NULL, NULL},
        {"overrides", "FILE", "without --plan: negotiated prices to plan with", &overrides, NULL, NULL},
        {"target", "PROVIDER[:REGION]", "override the plan: every workload on this provider (and region)",
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
                   "fedbroker apply (--plan FILE|ID|latest | SPEC... [--yes] | SPEC... --target "
                   "PROVIDER[:REGION] [--service S]) [--dry-run] [--prune] [--rerun] "
                   "[--format table|json] [--parallelism N] [--lock-timeout DURATION]",
                   "Without --target, applies a plan (docs/plan.md): --plan FILE|ID|latest\n"
                   "applies exactly that plan and refuses it when stale (the state serial, a spec\n"
                   "file or the catalog changed since: plan again); SPEC... plans and applies\n"
                   "(asks on a terminal, else needs --yes). Workloads go after their dependencies\n"
                   "(independent ones in parallel), with the endpoints of their dependencies in\n"
                   "env (FEDBROKER_ENDPOINT_<NAME>, ${endpoints.NAME.url}); moves create the new\n"
                   "placement, observe it ready, then destroy the old one; deletes need --prune;\n"
                   "unchanged workloads are left alone (a QuantumJob runs again with --rerun).\n"
                   "A failed workload skips its dependents only; exit 1 with a summary.\n"
                   "Progress lines go to stderr. --dry-run prints the change set and the exact\n"
                   "requests of every create, update and move, sending and storing nothing.\n"
                   "With --target, every workload goes to that provider. Before each provider\n"
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
    if (!target) {
        plan_args pa = {plan_ref, format, par, catalog, overrides, dry_run, yes, prune, rerun, lock_ms};
        rc = apply_planned(pos, npos, so, &pa);
        free(pos);
        return rc;
    }
    if (plan_ref || prune || rerun) {
        fprintf(stderr, "fedbroker apply: --plan, --prune and --rerun apply a plan: give no --target\n");
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
    /* one placement per kind, shared read-only by its items (as the
     * tenant's considered names below): it depends on nothing else, and
     * looking it up among every offer was 1-3 % of a bench apply's CPU */
    json_t *placement_of = json_object(); /* kind -> placement */
    json_t *place_text_of = json_object(); /* kind -> its canonical text, as long as the items */
    for (size_t i = 0; rc == FB_EXIT_OK && i < n; i++) {
        items[i].workload = fbi_spec_doc(set, i);
        items[i].spec_text = fbi_spec_text_made(set, i);
        items[i].diag = fb_diag_new();
        placements[i] = json_incref(json_object_get(placement_of, fb_spec_kind(set, i)));
        if (!placements[i]) {
            placements[i] = fbi_broker_placement(&b, fb_spec_kind(set, i), provider, region,
                                                 service, items[i].diag);
            if (placements[i]) json_object_set(placement_of, fb_spec_kind(set, i), placements[i]);
        }
        items[i].placement = placements[i];
        json_t *pt = json_object_get(place_text_of, fb_spec_kind(set, i));
        if (!pt && placements[i]) {
            char *t = fbi_json_canonical(placements[i]);
            if (t) json_object_set_new(place_text_of, fb_spec_kind(set, i), pt = json_string(t));
            free(t);
        }
        items[i].placement_text = json_string_value(pt);
        if (!placements[i]) {
            items[i].status = FB_INVALID;
            fbc_item_diag(fb_spec_name(set, i), items[i].diag);
            rc = FB_EXIT_INVALID;
        }
    }
    json_decref(placement_of);
    /* who calls each workload among the specs given (all on this target),
     * for the identity bindings of least privilege (docs/identity.md).
     * The callers of every "tenant/name" are gathered in one pass over the
     * dependencies (indexes of the specs that name it, in spec order), not
     * by scanning every spec for every spec: 1,000 workloads were a
     * million lookups, 5 % of a bench apply's CPU (bench/README-aws.md). */
    json_t *callers_of = json_object(); /* "tenant/name" -> [spec index, ...] */
    for (size_t j = 0; rc == FB_EXIT_OK && j < n; j++) {
        size_t k;
        json_t *dn;
        json_array_foreach(json_object_get(json_object_get(fbi_spec_doc(set, j), "spec"), "dependencies"), k, dn) {
            const char *to = json_string_value(json_object_get(dn, "workload"));
            if (!to) continue;
            char *key = fbi_xasprintf("%s/%s", fb_spec_tenant(set, j), to);
            json_t *idx = json_object_get(callers_of, key);
            if (!idx) json_object_set_new(callers_of, key, idx = json_array());
            /* a spec that names the same workload twice calls it once */
            json_t *last = json_array_get(idx, json_array_size(idx) - 1);
            if (!last || (size_t)json_integer_value(last) != j)
                json_array_append_new(idx, json_integer((json_int_t)j));
            free(key);
        }
    }
    json_t *considered_of = json_object(); /* tenant -> [names of its specs] */
    for (size_t j = 0; rc == FB_EXIT_OK && j < n; j++) {
        json_t *names = json_object_get(considered_of, fb_spec_tenant(set, j));
        if (!names) json_object_set_new(considered_of, fb_spec_tenant(set, j), names = json_array());
        json_array_append_new(names, json_string(fb_spec_name(set, j)));
    }
    for (size_t i = 0; rc == FB_EXIT_OK && i < n; i++) {
        json_t *callers = json_array();
        char *key = fbi_xasprintf("%s/%s", fb_spec_tenant(set, i), fb_spec_name(set, i));
        size_t k;
        json_t *jx;
        json_array_foreach(json_object_get(callers_of, key), k, jx) {
            size_t j = (size_t)json_integer_value(jx);
            json_array_append_new(callers, json_pack("{s:s,s:s,s:s?}", "name", fb_spec_name(set, j), "provider",
                                                     provider, "region",
                                                     json_string_value(json_object_get(items[i].placement,
                                                                                       "region"))));
        }
        free(key);
        /* grants to workloads not among these specs are left alone: the
         * tenant's considered names, one list per tenant shared read-only by
         * its items (jansson 2.14 counts references atomically and dumps
         * without marking, so worker threads may read it side by side) */
        json_t *considered = json_object_get(considered_of, fb_spec_tenant(set, i));
        /* the workloads it depends on: among these specs (validate made
         * sure), so on this target too */
        json_t *callees = json_array();
        json_t *dn;
        json_array_foreach(json_object_get(json_object_get(fbi_spec_doc(set, i), "spec"), "dependencies"), k, dn) {
            const char *to = json_string_value(json_object_get(dn, "workload"));
            if (to)
                json_array_append_new(callees, json_pack("{s:s,s:s,s:s?}", "name", to, "provider", provider, "region",
                                                         json_string_value(json_object_get(items[i].placement,
                                                                                           "region"))));
        }
        items[i].peers = json_pack("{s:o,s:O,s:o}", "callers", callers, "considered", considered, "callees", callees);
    }
    json_decref(callers_of);
    json_decref(considered_of);
    if (rc == FB_EXIT_OK && store) fbc_recover(&b, store, items, n, lock, par);
    /* The previous deployment of each workload, so apply updates in place. */
    if (rc == FB_EXIT_OK && store) {
        char *dj = NULL;
        fb_diag *sd = fb_diag_new();
        if (fb_store_list_deployments(store, NULL, NULL, &dj, sd) == FB_OK)
            deps = fbi_json_reads(dj, 0, NULL);
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
        /* where each applied deployment answers: apply's endpoint rows, as
         * plan-driven apply records them; in one transaction (one commit
         * per workload was a commit's work each, on the main thread after
         * the fan-out). A transaction that cannot begin leaves the rows
         * written one by one, as before; a failed commit is reported, not
         * fatal, as each row's failure is (the next apply or observe
         * records the endpoints again). */
        fb_diag *td = fb_diag_new();
        int in_tx = !dry_run && store && fb_store_begin(store, td) == FB_OK;
        for (size_t i = 0; !dry_run && store && i < n; i++)
            if (items[i].status == FB_OK)
                fbi_discovery_applied(store, fb_spec_tenant(set, i), fb_spec_name(set, i),
                                      json_string_value(json_object_get(items[i].placement, "provider")),
                                      json_string_value(json_object_get(items[i].placement, "region")),
                                      items[i].output,
                                      json_string_value(json_object_get(items[i].workload, "kind")),
                                      items[i].diag);
        if (in_tx) fb_store_commit(store, td);
        fb_diag_print(td, stderr);
        fb_diag_free(td);
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
    json_decref(place_text_of);
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
