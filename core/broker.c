/* broker.c - configuration, offers and the deploy life cycle shared by the
 * verbs. The journal/record discipline lives here so every driver gets it:
 * an intent row before a provider call, each cloud-side id stored the moment
 * the driver reports it, the outcome written last. A crash at any point
 * leaves either nothing or a row that names what to clean up. */
#include "config.h"
#include "broker.h"
#include "fanout.h"
#include "host.h"
#include "spec.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FB_CONFIG_MAX (1u << 20)

/* Reads and parses one configuration file (JSON or YAML, one document). */
static json_t *config_read(const char *path, fb_diag *diag)
{
    char *err = NULL;
    size_t len;
    char *text = fbi_read_file(path, FB_CONFIG_MAX, &len, &err);
    if (!text) {
        fb_diag_add(diag, FB_SEV_ERROR, path, 0, 0, NULL, err,
                    "fix FEDBROKER_CONFIG or remove the file to use the defaults");
        free(err);
        return NULL;
    }
    fbi_parsed parsed;
    memset(&parsed, 0, sizeof parsed);
    json_t *cfg = NULL;
    if (fbi_spec_parse(path, text, len, FBI_FMT_AUTO, &parsed, diag) == 0) {
        if (parsed.n == 1 && json_is_object(parsed.docs[0].value)) {
            cfg = json_incref(parsed.docs[0].value);
        } else {
            fb_diag_add(diag, FB_SEV_ERROR, path, 0, 0, NULL,
                        "the configuration must be one object (drivers, http, catalog, overrides)",
                        NULL);
        }
    }
    fbi_parsed_free(&parsed);
    free(text);
    return cfg;
}

json_t *fbi_config_load(fb_diag *diag)
{
    const char *env = getenv("FEDBROKER_CONFIG");
    json_t *cfg = NULL;
    if (env && *env) {
        cfg = config_read(env, diag);
    } else {
        char *dir = fb_state_dir();
        static const char *names[] = {"config.json", "config.yaml", "config.yml"};
        for (size_t i = 0; i < 3 && !cfg; i++) {
            char *p = fbi_xasprintf("%s/%s", dir, names[i]);
            struct stat st;
            if (stat(p, &st) == 0) {
                cfg = config_read(p, diag);
                if (!cfg) { free(p); free(dir); return NULL; }
            }
            free(p);
        }
        free(dir);
        if (!cfg) cfg = json_object();
    }
    if (!cfg) return NULL;
    json_t *drivers = json_object_get(cfg, "drivers");
    if (drivers && !json_is_object(drivers)) {
        fb_diag_add(diag, FB_SEV_ERROR, env, 0, 0, "/drivers", "expected an object of driver "
                    "name -> settings", NULL);
        json_decref(cfg);
        return NULL;
    }
    char *text = fbi_json_canonical(cfg);
    fb_status st = fbi_http_configure(text, diag);
    free(text);
    if (st != FB_OK) {
        json_decref(cfg);
        return NULL;
    }
    return cfg;
}

fb_status fbi_broker_open(fbi_broker *b, fb_diag *diag)
{
    memset(b, 0, sizeof *b);
    b->config = fbi_config_load(diag);
    if (!b->config) return FB_INVALID;
    fb_diag *load = fb_diag_new();
    fb_registry_open(NULL, &b->reg, load);
    /* A refused driver is not fatal for the others: report it as a warning. */
    for (size_t i = 0; i < fb_diag_count(load); i++)
        fb_diag_add(diag, FB_SEV_WARNING, fb_diag_file(load, i), 0, 0, NULL,
                    fb_diag_summary(load, i), fb_diag_detail(load, i));
    fb_diag_free(load);
    char *text = fbi_json_canonical(b->config);
    fb_registry_set_config(b->reg, text);
    free(text);
    return FB_OK;
}

void fbi_broker_close(fbi_broker *b)
{
    fb_registry_free(b->reg);
    json_decref(b->config);
    json_decref(b->offers);
    memset(b, 0, sizeof *b);
}

json_t *fbi_broker_offers(fbi_broker *b, fb_diag *diag)
{
    if (b->offers) return b->offers;
    b->offers = json_array();
    for (size_t i = 0; i < fb_registry_count(b->reg); i++) {
        const fb_driver *drv = fb_registry_get(b->reg, i);
        if (!(drv->caps & (FB_CAP_FUNCTION | FB_CAP_CONTAINER | FB_CAP_QUANTUM))) continue;
        fb_driver_ctx *ctx;
        fb_diag *d = fb_diag_new();
        char *out = NULL;
        if (fb_registry_context(b->reg, drv->name, &drv, &ctx, d) != FB_OK ||
            drv->offers(ctx, &out, d) != FB_OK) {
            for (size_t k = 0; k < fb_diag_count(d); k++) {
                char *m = fbi_xasprintf("driver %s offers nothing: %s", drv->name,
                                        fb_diag_summary(d, k));
                fb_diag_add(diag, FB_SEV_WARNING, NULL, 0, 0, NULL, m, fb_diag_detail(d, k));
                free(m);
            }
            fb_diag_free(d);
            free(out);
            continue;
        }
        fb_diag_free(d);
        json_t *j = out ? json_loads(out, 0, NULL) : NULL;
        free(out);
        size_t k;
        json_t *o;
        json_array_foreach(json_object_get(j, "offers"), k, o) {
            if (!json_is_object(o)) continue;
            json_t *c = json_deep_copy(o);
            json_object_set_new(c, "provider", json_string(drv->name));
            json_array_append_new(b->offers, c);
        }
        json_decref(j);
    }
    return b->offers;
}

int fbi_parse_target(const char *target, char **provider, char **region, fb_diag *diag)
{
    const char *colon = strchr(target, ':');
    *provider = colon ? fbi_xstrndup(target, (size_t)(colon - target)) : fbi_xstrdup(target);
    *region = colon && colon[1] ? fbi_xstrdup(colon + 1) : NULL;
    if (!**provider) {
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, "--target needs PROVIDER[:REGION]",
                    "for example --target aws:us-east-1 or --target k8s");
        free(*provider);
        free(*region);
        *provider = *region = NULL;
        return -1;
    }
    return 0;
}

static int str_eq(json_t *o, const char *key, const char *want)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v && !strcmp(v, want);
}

json_t *fbi_broker_placement(fbi_broker *b, const char *kind, const char *provider,
                             const char *region, const char *service, fb_diag *diag)
{
    json_t *offers = fbi_broker_offers(b, diag);
    size_t i;
    json_t *o;
    json_array_foreach(offers, i, o) {
        if (!str_eq(o, "provider", provider) || !str_eq(o, "kind", kind)) continue;
        if (region && !str_eq(o, "region", region)) continue;
        if (service && !str_eq(o, "service", service)) continue;
        return json_pack("{s:s,s:O,s:O,s:s,s:O}", "provider", provider, "service",
                         json_object_get(o, "service"), "region", json_object_get(o, "region"),
                         "kind", kind, "offer", o);
    }
    /* Say what there is, so the user can pick. */
    fbi_buf have;
    fbi_buf_init(&have);
    size_t shown = 0;
    json_array_foreach(offers, i, o) {
        if (!str_eq(o, "provider", provider) || !str_eq(o, "kind", kind)) continue;
        if (shown++ < 12)
            fbi_buf_printf(&have, "%s%s:%s (%s)", shown > 1 ? ", " : "", provider,
                           json_string_value(json_object_get(o, "region")),
                           json_string_value(json_object_get(o, "service")));
    }
    if (shown > 12) fbi_buf_printf(&have, ", ... %zu in all", shown);
    const fb_driver *drv = fb_registry_find(b->reg, provider);
    char *m = fbi_xasprintf("no offer for a %s on %s%s%s%s%s", kind, provider,
                            region ? " in " : "", region ? region : "",
                            service ? " with service " : "", service ? service : "");
    char *detail = !drv ? fbi_xasprintf("no driver named '%s' is loaded; `fedbroker drivers` "
                                        "lists them", provider)
                 : shown ? fbi_xasprintf("%s offers: %s", provider, have.data)
                         : fbi_xasprintf("driver %s has no offers for kind %s", provider, kind);
    fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, m, detail);
    free(m);
    free(detail);
    fbi_buf_free(&have);
    return NULL;
}

/* ---- the life cycle ------------------------------------------------------- */

typedef struct lifecycle {
    fbi_broker *b;
    fb_store *store;
    fbi_deploy_item *items;
    int dry_run;
} lifecycle;

/* Where host->record lands: the resources table, before the driver goes on. */
typedef struct record_target {
    fb_store *store;
    const char *tenant, *workload;
} record_target;

static fb_status on_record(void *ud, const char *driver, const char *resource_json, fb_diag *d)
{
    record_target *t = ud;
    if (!t->store) return FB_OK;
    return fb_store_put_resource(t->store, t->tenant, t->workload, driver, resource_json, d);
}

static const char *wl_name(json_t *w)
{
    return json_string_value(json_object_get(json_object_get(w, "metadata"), "name"));
}

static const char *wl_tenant(json_t *w)
{
    const char *t = json_string_value(json_object_get(json_object_get(w, "metadata"), "tenant"));
    return t ? t : "default";
}

/* The driver and its context for an item. Contexts are configured before
 * the fan-out (configure runs on the main thread only). */
static fb_status item_driver(fbi_broker *b, fbi_deploy_item *it, const fb_driver **drv,
                             fb_driver_ctx **ctx)
{
    json_t *where = it->placement ? it->placement : it->deployment;
    const char *provider = json_string_value(json_object_get(where, "provider"));
    if (!provider) {
        fb_diag_add(it->diag, FB_SEV_ERROR, NULL, 0, 0, NULL, "no provider for this workload", NULL);
        return FB_INVALID;
    }
    return fb_registry_context(b->reg, provider, drv, ctx, it->diag);
}

/* Calls a JSON-in/JSON-out verb and parses its output into it->output. */
static fb_status call_verb(fbi_deploy_item *it, const char *verb,
                           fb_status (*fn)(fb_driver_ctx *, const char *, char **, fb_diag *),
                           fb_driver_ctx *ctx, const char *in_text)
{
    char *out = NULL;
    fb_status st = fn(ctx, in_text, &out, it->diag);
    if (out) {
        json_error_t je;
        it->output = json_loads(out, 0, &je);
        if (!it->output && st == FB_OK) {
            char *m = fbi_xasprintf("the driver's %s output is not JSON: %s", verb, je.text);
            fb_diag_add(it->diag, FB_SEV_ERROR, NULL, 0, 0, NULL, m, NULL);
            free(m);
            st = FB_INTERNAL;
        }
        free(out);
    }
    if (st != FB_OK && fb_diag_errors(it->diag) == 0) {
        char *m = fbi_xasprintf("%s failed (%s) and the driver said nothing more", verb,
                                fbi_status_name(st));
        fb_diag_add(it->diag, FB_SEV_ERROR, NULL, 0, 0, NULL, m, NULL);
        free(m);
    }
    return st;
}

static json_t *diag_json(const fb_diag *d)
{
    char *t = fb_diag_to_json(d);
    json_t *j = json_loads(t, 0, NULL);
    free(t);
    return j;
}

static fb_status apply_one(void *ud, size_t i)
{
    lifecycle *lc = ud;
    fbi_deploy_item *it = &lc->items[i];
    const fb_driver *drv;
    fb_driver_ctx *ctx;
    fb_status st = item_driver(lc->b, it, &drv, &ctx);
    if (st != FB_OK) return it->status = st;
    if (!(drv->caps & FB_CAP_DEPLOY)) {
        char *m = fbi_xasprintf("driver %s cannot deploy (it renders only)", drv->name);
        fb_diag_add(it->diag, FB_SEV_ERROR, NULL, 0, 0, NULL, m,
                    "use `fedbroker render` to get its documents, or place the workload elsewhere");
        free(m);
        return it->status = FB_NOTSUP;
    }
    const char *tenant = wl_tenant(it->workload), *name = wl_name(it->workload);
    json_t *in = json_pack("{s:O,s:O,s:O?,s:s}", "workload", it->workload, "placement",
                           it->placement, "deployment", it->deployment, "mode",
                           lc->dry_run ? "dry-run" : "apply");
    /* one serialisation for validate and apply; key order does not matter
     * to a driver, so no sorting */
    char *in_text = json_dumps(in, JSON_COMPACT);
    json_decref(in);
    st = drv->validate(ctx, in_text, it->diag);
    if (st != FB_OK) {
        free(in_text);
        return it->status = st;
    }
    record_target rt = {lc->dry_run ? NULL : lc->store, tenant, name};
    fbi_call call;
    fbi_call_begin(&call, it->diag, drv->name);
    call.dry_run = lc->dry_run;
    call.record_cb = on_record;
    call.record_ud = &rt;
    long long jid = 0;
    if (!lc->dry_run) {
        json_t *detail = json_pack("{s:O,s:O}", "placement", it->placement, "specHash",
                                   json_object_get(it->workload, "specHash"));
        char *dt = fbi_json_canonical(detail);
        json_decref(detail);
        int txn = fb_store_begin(lc->store, it->diag) == FB_OK;
        st = fb_store_journal_begin(lc->store, "apply", tenant, name, drv->name, dt, &jid, it->diag);
        free(dt);
        /* A row for the deployment before anything exists, so a crash
         * between a create and the end of apply leaves something `destroy`
         * finds (its resources are recorded as they are created). */
        if (st == FB_OK && !it->deployment)
            st = fb_store_put_deployment(lc->store, tenant, name, drv->name,
                                         json_string_value(json_object_get(it->placement, "service")),
                                         json_string_value(json_object_get(it->placement, "region")),
                                         "creating", "{}", it->diag);
        if (txn && fb_store_commit(lc->store, it->diag) != FB_OK && st == FB_OK) st = FB_INTERNAL;
    }
    if (st == FB_OK) st = call_verb(it, "apply", drv->apply, ctx, in_text);
    free(in_text);
    if (lc->dry_run) {
        it->requests = call.dry_requests ? json_incref(call.dry_requests) : json_array();
    } else {
        json_t *state = json_object_get(it->output, "state");
        const char *service = json_string_value(json_object_get(it->placement, "service"));
        const char *region = json_string_value(json_object_get(it->placement, "region"));
        fb_diag *sd = it->diag;
        int created = json_array_size(call.recorded) > 0 || it->deployment;
        /* Serialise before taking the store's lock: the other workloads'
         * transactions wait on it. */
        char *wt = NULL, *stt = NULL, *rt_text = NULL, *ot = NULL;
        if (st == FB_OK) {
            wt = fbi_spec_text(it->workload);
            stt = state ? fbi_json_canonical(state) : fbi_xstrdup("{}");
            json_t *result = json_object_get(it->output, "result");
            if (result) rt_text = fbi_json_canonical(result);
        } else if (created) {
            /* Something exists: keep the row (and the state of the last
             * successful apply) so `fedbroker destroy` can remove it. */
            json_t *prior = json_object_get(it->deployment, "state");
            stt = fbi_json_canonical(prior ? prior : json_object_get(it->output, "state"));
        }
        if (jid) {
            json_t *outcome = json_pack("{s:O,s:o}", "resources", call.recorded,
                                        "diagnostics", diag_json(it->diag));
            ot = fbi_json_canonical(outcome);
            json_decref(outcome);
        }
        /* the outcome in one transaction: fewer fsyncs, and a reader never
         * sees the deployment without its journal row closed */
        int txn = fb_store_begin(lc->store, sd) == FB_OK;
        if (st == FB_OK) {
            fb_status s2 = fb_store_put_workload(lc->store, tenant, name,
                json_string_value(json_object_get(it->workload, "kind")),
                wt,
                json_string_value(json_object_get(it->workload, "specHash")), sd);
            if (s2 == FB_OK)
                s2 = fb_store_put_deployment(lc->store, tenant, name, drv->name, service, region,
                                             "applied", stt ? stt : "{}", sd);
            if (s2 == FB_OK && rt_text)
                s2 = fb_store_put_result(lc->store, tenant, name, "result", rt_text, sd);
            st = s2;
        } else if (created) {
            fb_store_put_deployment(lc->store, tenant, name, drv->name, service, region,
                                    "failed", stt ? stt : "{}", sd);
        } else {
            /* Nothing was created: no row to leave behind. */
            fb_store_delete_deployment(lc->store, tenant, name, drv->name, region, sd);
        }
        if (jid) fb_store_journal_end(lc->store, jid, st == FB_OK ? "done" : "failed", ot, sd);
        if (txn && fb_store_commit(lc->store, sd) != FB_OK && st == FB_OK) st = FB_INTERNAL;
        free(wt);
        free(stt);
        free(rt_text);
        free(ot);
    }
    fbi_call_end(&call, it->diag);
    return it->status = st;
}

static fb_status observe_one(void *ud, size_t i)
{
    lifecycle *lc = ud;
    fbi_deploy_item *it = &lc->items[i];
    const fb_driver *drv;
    fb_driver_ctx *ctx;
    fb_status st = item_driver(lc->b, it, &drv, &ctx);
    if (st != FB_OK) return it->status = st;
    if (!(drv->caps & FB_CAP_DEPLOY)) {
        fb_diag_add(it->diag, FB_SEV_ERROR, NULL, 0, 0, NULL, "the driver cannot observe", NULL);
        return it->status = FB_NOTSUP;
    }
    json_t *in = json_pack("{s:O,s:O?}", "deployment", it->deployment, "workload", it->workload);
    char *in_text = fbi_json_canonical(in);
    json_decref(in);
    fbi_call call;
    fbi_call_begin(&call, it->diag, drv->name);
    st = call_verb(it, "observe", drv->observe, ctx, in_text);
    fbi_call_end(&call, it->diag);
    free(in_text);
    return it->status = st;
}

static fb_status destroy_one(void *ud, size_t i)
{
    lifecycle *lc = ud;
    fbi_deploy_item *it = &lc->items[i];
    const fb_driver *drv;
    fb_driver_ctx *ctx;
    fb_status st = item_driver(lc->b, it, &drv, &ctx);
    if (st != FB_OK) return it->status = st;
    if (!(drv->caps & FB_CAP_DEPLOY)) {
        fb_diag_add(it->diag, FB_SEV_ERROR, NULL, 0, 0, NULL, "the driver cannot delete", NULL);
        return it->status = FB_NOTSUP;
    }
    const char *tenant = json_string_value(json_object_get(it->deployment, "tenant"));
    const char *name = json_string_value(json_object_get(it->deployment, "workload"));
    long long jid = 0;
    st = fb_store_journal_begin(lc->store, "destroy", tenant, name, drv->name, NULL, &jid, it->diag);
    json_t *in = json_pack("{s:O}", "deployment", it->deployment);
    char *in_text = fbi_json_canonical(in);
    json_decref(in);
    fbi_call call;
    fbi_call_begin(&call, it->diag, drv->name);
    if (st == FB_OK) st = call_verb(it, "destroy", drv->destroy, ctx, in_text);
    fbi_call_end(&call, it->diag);
    free(in_text);
    if (st == FB_OK)
        st = fb_store_delete_deployment(lc->store, tenant, name, drv->name,
                                        json_string_value(json_object_get(it->deployment, "region")),
                                        it->diag);
    if (jid) {
        json_t *outcome = json_pack("{s:O?,s:o}", "output", it->output, "diagnostics",
                                    diag_json(it->diag));
        char *ot = fbi_json_canonical(outcome);
        json_decref(outcome);
        fb_store_journal_end(lc->store, jid, st == FB_OK ? "done" : "failed", ot, it->diag);
        free(ot);
    }
    return it->status = st;
}

/* Configures every driver the items need on this thread, then fans out. */
static fb_status run(fbi_broker *b, fb_store *store, fbi_deploy_item *items, size_t n,
                     int dry_run, unsigned parallelism, fbi_job_fn fn)
{
    for (size_t i = 0; i < n; i++) {
        if (!items[i].diag) items[i].diag = fb_diag_new();
        json_t *where = items[i].placement ? items[i].placement : items[i].deployment;
        const char *provider = json_string_value(json_object_get(where, "provider"));
        const fb_driver *drv;
        fb_driver_ctx *ctx;
        fb_diag *scratch = fb_diag_new(); /* the job reports failures itself */
        if (provider) fb_registry_context(b->reg, provider, &drv, &ctx, scratch);
        fb_diag_free(scratch);
    }
    lifecycle lc = {b, store, items, dry_run};
    return fbi_fanout(n, parallelism, fn, &lc, NULL);
}

fb_status fbi_apply(fbi_broker *b, fb_store *store, fbi_deploy_item *items, size_t n,
                    int dry_run, unsigned parallelism)
{
    return run(b, store, items, n, dry_run, parallelism, apply_one);
}

fb_status fbi_observe(fbi_broker *b, fbi_deploy_item *items, size_t n, unsigned parallelism)
{
    return run(b, NULL, items, n, 0, parallelism, observe_one);
}

fb_status fbi_destroy(fbi_broker *b, fb_store *store, fbi_deploy_item *items, size_t n,
                      unsigned parallelism)
{
    return run(b, store, items, n, 0, parallelism, destroy_one);
}

void fbi_deploy_items_free(fbi_deploy_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_decref(items[i].output);
        json_decref(items[i].requests);
        fb_diag_free(items[i].diag);
    }
    free(items);
}
