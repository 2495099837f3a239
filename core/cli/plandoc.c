/* plandoc.c - the plan document's apply section (docs/plan.md,
 * schemas/plan.v1.schema.json): what apply --plan needs to apply exactly
 * that plan and to refuse it once it no longer describes the world. */
#include "config.h"
#include "cli/cli.h"
#include "cli/planexec.h"
#include "base/diag.h"
#include "base/jsonread.h"
#include "catalog/catalog.h"
#include "spec/spec.h"
#include "base/util.h"
#include "state/state.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* The largest spec file hashed (the spec reader refuses larger ones too). */
#define SOURCE_MAX ((size_t)256 << 20)

/* SHA-256 of a file's bytes; 0 or -1 with *err (new). */
static int file_sha256(const char *path, char out[65], char **err)
{
    size_t len = 0;
    char *data = fbi_read_file(path, SOURCE_MAX, &len, err);
    if (!data) return -1;
    fbi_sha256_hex(data, len, out);
    free(data);
    return 0;
}

/* The federation (name) each workload belongs to: {"tenant/name": fed}. A
 * workload of nested federations belongs to the innermost one listed
 * last by the reader, which is the one that named it. */
static json_t *federation_of(fb_spec_set *set)
{
    json_t *out = json_object();
    size_t i, k;
    json_t *f, *w;
    json_array_foreach(fbi_spec_federations(set), i, f) {
        const char *tenant = json_string_value(json_object_get(f, "tenant"));
        json_array_foreach(json_object_get(f, "workloads"), k, w) {
            char *key = fbi_xasprintf("%s/%s", tenant, json_string_value(w));
            if (!json_object_get(out, key))
                json_object_set(out, key, json_object_get(f, "name"));
            free(key);
        }
    }
    return out;
}

/* borrowed: the spec document of tenant/name in set, or NULL. */
static json_t *spec_doc(fb_spec_set *set, const char *tenant, const char *name, size_t *index)
{
    size_t i = fbi_spec_find(set, tenant, name);
    if (i == (size_t)-1) return NULL;
    if (index) *index = i;
    return fbi_spec_doc(set, i);
}

int fbc_plan_annotate(json_t *plan, fbi_broker *b, fb_spec_set *set, fb_store *store,
                      const fbc_plan_inputs *in)
{
    long long serial = 0;
    if (store) {
        fb_diag *d = fb_diag_new();
        fb_status st = fbi_store_serial(store, &serial, d);
        if (st != FB_OK) {
            fb_diag_print(d, stderr);
            fb_diag_free(d);
            return FB_EXIT_FAILURE;
        }
        fb_diag_free(d);
    }
    json_object_set_new(plan, "state_serial", json_integer(serial));
    json_t *sources = json_array();
    for (int i = 0; i < in->nfiles; i++) {
        char abs[PATH_MAX], hash[65];
        char *err = NULL;
        if (!realpath(in->files[i], abs) || file_sha256(abs, hash, &err) != 0) {
            fprintf(stderr, "fedbroker plan: %s: %s\n", in->files[i], err ? err : strerror(errno));
            free(err);
            json_decref(sources);
            return FB_EXIT_INVALID;
        }
        json_array_append_new(sources, json_pack("{s:s,s:s}", "path", abs, "sha256", hash));
    }
    json_object_set_new(plan, "sources", sources);
    /* the catalog plan read: the options, else the configuration's */
    json_t *cc = json_object_get(b->config, "catalog");
    const char *cdir = in->catalog ? in->catalog : json_string_value(json_object_get(cc, "dir"));
    const char *cov = in->overrides ? in->overrides : json_string_value(json_object_get(cc, "overrides"));
    char chash[65];
    char *err = NULL;
    if (fbi_catalog_content_hash(cdir, cov, chash, &err) != 0) {
        fprintf(stderr, "fedbroker plan: catalog: %s\n", err);
        free(err);
        return FB_EXIT_INVALID;
    }
    json_t *cat = json_object_get(plan, "catalog");
    if (!json_is_object(cat)) json_object_set_new(plan, "catalog", cat = json_object());
    char abs[PATH_MAX];
    if (cdir) json_object_set_new(cat, "dir", json_string(realpath(cdir, abs) ? abs : cdir));
    if (cov) json_object_set_new(cat, "overrides", json_string(realpath(cov, abs) ? abs : cov));
    json_object_set_new(cat, "content_hash", json_string(chash));
    json_object_set_new(plan, "federations", json_deep_copy(fbi_spec_federations(set)));
    json_t *feds = federation_of(set);
    size_t k;
    json_t *wj;
    json_array_foreach(json_object_get(plan, "workloads"), k, wj) {
        const char *tenant = json_string_value(json_object_get(wj, "tenant"));
        json_t *rep = json_object_get(wj, "replica");
        const char *base = rep ? json_string_value(json_object_get(rep, "of"))
                               : json_string_value(json_object_get(wj, "name"));
        json_t *doc = spec_doc(set, tenant, base, NULL);
        if (!doc) continue;
        json_object_set_new(wj, "workload", json_string(base));
        json_object_set(wj, "specHash", json_object_get(doc, "specHash"));
        json_t *deps = json_array();
        size_t j;
        json_t *d;
        json_array_foreach(json_object_get(json_object_get(doc, "spec"), "dependencies"), j, d)
            json_array_append(deps, json_object_get(d, "workload"));
        json_object_set_new(wj, "dependencies", deps);
        char *key = fbi_xasprintf("%s/%s", tenant, base);
        json_t *fed = json_object_get(feds, key);
        free(key);
        if (fed) json_object_set(wj, "federation", fed);
        const char *provider =
            json_string_value(json_object_get(json_object_get(wj, "placement"), "provider"));
        const fb_driver *drv;
        fb_driver_ctx *ctx;
        fb_diag *scratch = fb_diag_new();
        if (provider && fb_registry_context(b->reg, provider, &drv, &ctx, scratch) == FB_OK)
            json_object_set_new(wj, "driver_version", json_string(drv->version));
        fb_diag_free(scratch);
    }
    json_decref(feds);
    return FB_EXIT_OK;
}

int fbc_plan_load(const char *verb, const char *ref, fb_store *store, json_t **plan)
{
    *plan = NULL;
    char *text = NULL, *err = NULL;
    const char *what = ref;
    char *end;
    long long id = strtoll(ref, &end, 10);
    int by_id = !strcmp(ref, "latest") || (*ref && !*end && id > 0);
    if (by_id && !strcmp(ref, "latest")) {
        fb_diag *d = fb_diag_new();
        fb_status st = store ? fb_store_latest_plan(store, &text, &id, d) : FB_NOTFOUND;
        fb_diag_free(d);
        if (st != FB_OK) {
            fprintf(stderr, "fedbroker %s: no stored plan: run `fedbroker plan SPEC...` first\n", verb);
            return FB_EXIT_INVALID;
        }
    } else if (by_id) {
        fb_diag *d = fb_diag_new();
        fb_status st = store ? fbi_store_get_plan(store, id, &text, d) : FB_NOTFOUND;
        fb_diag_free(d);
        if (st != FB_OK) {
            fprintf(stderr, "fedbroker %s: no stored plan with id %lld (`fedbroker plans` "
                            "lists them)\n", verb, id);
            return FB_EXIT_INVALID;
        }
    } else {
        text = fbi_read_file(ref, SOURCE_MAX, NULL, &err);
        if (!text) {
            fprintf(stderr, "fedbroker %s: --plan %s: %s\n", verb, ref, err);
            free(err);
            return FB_EXIT_INVALID;
        }
    }
    json_error_t je;
    /* json_loads' value and errors, in one pass (a 1,000-workload plan:
     * 0.5 G instructions through jansson's parser; bench/README-aws.md) */
    *plan = fbi_json_reads(text, 0, &je);
    free(text);
    if (!*plan) {
        fprintf(stderr, "fedbroker %s: --plan %s: line %d column %d: %s (a plan document "
                        "written by `fedbroker plan --out FILE`)\n", verb, what, je.line, je.column, je.text);
        return FB_EXIT_INVALID;
    }
    const char *fmt = json_string_value(json_object_get(*plan, "format"));
    const char *status = json_string_value(json_object_get(*plan, "status"));
    if (!fmt || strcmp(fmt, "fedbroker-plan/1") != 0 || !json_is_integer(json_object_get(*plan, "state_serial")) ||
        !json_is_array(json_object_get(*plan, "sources"))) {
        fprintf(stderr, "fedbroker %s: --plan %s: /format: not a fedbroker-plan/1 document with "
                        "an apply section (state_serial, sources); plan again with this version: "
                        "`fedbroker plan SPEC... --out FILE`\n", verb, what);
        json_decref(*plan);
        *plan = NULL;
        return FB_EXIT_INVALID;
    }
    if (!status || (strcmp(status, "optimal") && strcmp(status, "feasible"))) {
        fprintf(stderr, "fedbroker %s: --plan %s: /status: the plan is %s: there is no "
                        "placement to apply; relax the constraints and plan again\n", verb, what,
                status ? status : "missing");
        json_decref(*plan);
        *plan = NULL;
        return FB_EXIT_INVALID;
    }
    return FB_EXIT_OK;
}

/* Prints one reason a plan is stale and what to do. */
static void stale(const char *why)
{
    fprintf(stderr, "fedbroker apply: the plan is stale: %s; plan again (`fedbroker plan "
                    "SPEC... --out FILE`) and apply the new plan\n", why);
}

int fbc_plan_check_fresh(const json_t *plan, fb_spec_set *set, fb_store *store)
{
    long long serial = 0;
    fb_diag *d = fb_diag_new();
    fb_status st = fbi_store_serial(store, &serial, d);
    if (st != FB_OK) fb_diag_print(d, stderr);
    fb_diag_free(d);
    if (st != FB_OK) return FB_EXIT_FAILURE;
    long long want = json_integer_value(json_object_get(plan, "state_serial"));
    if (serial != want) {
        char *m = fbi_xasprintf("the state changed since it was computed (state serial %lld, "
                                "now %lld: an apply or destroy ran)", want, serial);
        stale(m);
        free(m);
        return FB_EXIT_INVALID;
    }
    size_t k;
    json_t *src;
    json_array_foreach(json_object_get(plan, "sources"), k, src) {
        const char *path = json_string_value(json_object_get(src, "path"));
        const char *want_h = json_string_value(json_object_get(src, "sha256"));
        char hash[65];
        char *err = NULL;
        if (!path || file_sha256(path, hash, &err) != 0 || !want_h || strcmp(hash, want_h) != 0) {
            char *m = fbi_xasprintf("spec file %s %s", path ? path : "(unnamed)",
                                    err ? err : "changed since");
            stale(m);
            free(m);
            free(err);
            return FB_EXIT_INVALID;
        }
    }
    json_t *wj;
    json_array_foreach(json_object_get(plan, "workloads"), k, wj) {
        const char *tenant = json_string_value(json_object_get(wj, "tenant"));
        const char *name = json_string_value(json_object_get(wj, "workload"));
        json_t *doc = tenant && name ? spec_doc(set, tenant, name, NULL) : NULL;
        const char *h = json_string_value(json_object_get(doc, "specHash"));
        const char *want_h = json_string_value(json_object_get(wj, "specHash"));
        if (!doc || !h || !want_h || strcmp(h, want_h) != 0) {
            char *m = fbi_xasprintf("workload %s/%s %s", tenant ? tenant : "?", name ? name : "?",
                                    doc ? "has another specHash now (a file it includes changed)"
                                        : "is no longer in its spec files");
            stale(m);
            free(m);
            return FB_EXIT_INVALID;
        }
    }
    json_t *cat = json_object_get(plan, "catalog");
    char chash[65];
    char *err = NULL;
    if (fbi_catalog_content_hash(json_string_value(json_object_get(cat, "dir")),
                                 json_string_value(json_object_get(cat, "overrides")), chash,
                                 &err) != 0) {
        char *m = fbi_xasprintf("its catalog cannot be read: %s", err);
        stale(m);
        free(m);
        free(err);
        return FB_EXIT_INVALID;
    }
    const char *want_c = json_string_value(json_object_get(cat, "content_hash"));
    if (!want_c || strcmp(want_c, chash) != 0) {
        stale("the price catalog changed since (content hash differs)");
        return FB_EXIT_INVALID;
    }
    return FB_EXIT_OK;
}
