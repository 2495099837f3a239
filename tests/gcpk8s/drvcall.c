/*
 * drvcall.c - calls one driver's verbs through the broker's own registry
 * and host table, for the gcp/k8s driver tests (the Python tests in tests/gcpk8s).
 *
 * The broker has no render/usage verb on its command line yet, so the
 * Python tests drive the real .so through this program: it loads the
 * driver with fb_registry_load_file (the loader rules apply), configures
 * it, runs a batch of calls and prints every status, output and
 * diagnostic as JSON.
 *
 *   drvcall < batch.json
 *   batch: {"driver": "PATH.so", "settings": {...},
 *           "calls": [{"verb": "offers|validate|render|usage|apply|observe|
 *                               destroy|discover",
 *                      "input": {...} | "raw text"}]}
 *   output: {"configure": {"status", "diagnostics"},
 *            "results": [{"status", "output", "diagnostics"}]}
 *
 * Exit status: 0 when the batch ran (whatever the verbs answered), 2 for a
 * malformed batch or a driver that does not load.
 */
#include "config.h"
#include "fedbroker/fedbroker.h"
#include "base/util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Diagnostics as a JSON array (new). */
static json_t *diags(const fb_diag *d)
{
    char *text = fb_diag_to_json(d);
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    return j ? j : json_array();
}

/* Runs one call and returns its result object (new). */
static json_t *run_call(const fb_driver *drv, fb_driver_ctx *ctx, json_t *call)
{
    const fb_host *h = fb_host_table();
    const char *verb = json_string_value(json_object_get(call, "verb"));
    json_t *input = json_object_get(call, "input");
    char *in = json_is_string(input) ? fbi_xstrdup(json_string_value(input))
             : input ? fbi_json_canonical(input) : fbi_xstrdup("{}");
    fb_diag *d = fb_diag_new();
    char *out = NULL;
    fb_status st = FB_NOTSUP;
    if (!verb) {
        fb_diag_add(d, FB_SEV_ERROR, NULL, 0, 0, NULL, "drvcall: a call has no verb", NULL);
    } else if (!strcmp(verb, "offers") && drv->offers) {
        st = drv->offers(ctx, &out, d);
    } else if (!strcmp(verb, "validate") && drv->validate) {
        st = drv->validate(ctx, in, d);
    } else if (!strcmp(verb, "render") && FB_DRIVER_HAS(drv, render)) {
        st = drv->render(ctx, in, &out, d);
    } else if (!strcmp(verb, "usage") && FB_DRIVER_HAS(drv, usage)) {
        st = drv->usage(ctx, in, &out, d);
    } else if (!strcmp(verb, "apply") && drv->apply) {
        st = drv->apply(ctx, in, &out, d);
    } else if (!strcmp(verb, "observe") && drv->observe) {
        st = drv->observe(ctx, in, &out, d);
    } else if (!strcmp(verb, "destroy") && drv->destroy) {
        st = drv->destroy(ctx, in, &out, d);
    } else if (!strcmp(verb, "discover") && drv->discover) {
        st = drv->discover(ctx, in, &out, d);
    } else {
        fb_diag_add(d, FB_SEV_ERROR, NULL, 0, 0, NULL, "drvcall: the driver has no such verb", verb);
    }
    json_t *res = json_pack("{s:s,s:o}", "status", fbi_status_name(st), "diagnostics", diags(d));
    if (out) {
        json_t *o = json_loads(out, 0, NULL);
        json_object_set_new(res, "output", o ? o : json_null());
        json_object_set_new(res, "text", json_string(out));
        h->free(out);
    }
    fb_diag_free(d);
    free(in);
    return res;
}

int main(void)
{
    json_error_t je;
    json_t *batch = json_loadf(stdin, 0, &je);
    if (!json_is_object(batch)) {
        fprintf(stderr, "drvcall: stdin is not a JSON object: line %d: %s\n", je.line, je.text);
        json_decref(batch);
        return 2;
    }
    const char *file = json_string_value(json_object_get(batch, "driver"));
    fb_registry *r = fb_registry_new();
    fb_diag *d = fb_diag_new();
    const fb_driver *drv = NULL;
    if (!file || fb_registry_load_file(r, file, NULL, &drv, d) != FB_OK) {
        fprintf(stderr, "drvcall: cannot load %s\n", file ? file : "(no \"driver\")");
        fb_diag_print(d, stderr);
        fb_diag_free(d);
        fb_registry_free(r);
        json_decref(batch);
        return 2;
    }
    json_t *settings = json_object_get(batch, "settings");
    json_t *cfg = json_pack("{s:O}", "settings", settings ? settings : json_object());
    char *cfg_text = fbi_json_canonical(cfg);
    json_decref(cfg);
    fb_driver_ctx *ctx = NULL;
    fb_status st = drv->configure(fb_host_table(), cfg_text, &ctx, d);
    free(cfg_text);
    json_t *out = json_pack("{s:{s:s,s:o},s:[]}", "configure", "status", fbi_status_name(st),
                            "diagnostics", diags(d), "results");
    if (st == FB_OK) {
        size_t i;
        json_t *call;
        json_array_foreach(json_object_get(batch, "calls"), i, call)
            json_array_append_new(json_object_get(out, "results"), run_call(drv, ctx, call));
        drv->teardown(ctx);
    }
    char *text = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
    puts(text ? text : "{}");
    free(text);
    json_decref(out);
    json_decref(batch);
    fb_diag_free(d);
    fb_registry_free(r);
    return 0;
}
