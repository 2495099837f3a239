/* cmd_render.c - `fedbroker render SPEC... --target PROVIDER[:REGION]`: the
 * provider-native documents a driver would send, without any network. */
#include "config.h"
#include "cli/cli.h"
#include "spec/spec.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

/* The verb; so receives the shared spec options (freed by the caller). */
static int run_render(int argc, char **argv, fbc_spec_opts *so)
{
    const char *target = NULL, *service = NULL;
    fbc_opt opts[] = {
        {"target", "PROVIDER[:REGION]", "the driver (and region) to render for (required)",
         &target, NULL, NULL},
        {"service", "SERVICE", "one of the provider's services (e.g. lambda, fargate)",
         &service, NULL, NULL},
        FBC_SPEC_OPTS(*so),
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, opts, "fedbroker render SPEC... --target PROVIDER[:REGION] "
                   "[--service SERVICE]",
                   "Validates the specs, checks them against the provider's rules and prints the\n"
                   "documents the driver would send (JSON), without any network access. Without a\n"
                   "region the driver's first offer for the workload's kind is used.",
                   &pos, &npos, &rc))
        return rc;
    if (!target || npos == 0) {
        fprintf(stderr, "fedbroker render: %s\nTry 'fedbroker render --help'.\n",
                !target ? "--target PROVIDER[:REGION] is required" : "give at least one SPEC file");
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
    fb_spec_set *set = NULL;
    rc = fbc_load_specs("render", pos, npos, so, &set);
    free(pos);
    fbi_broker b;
    if (rc == FB_EXIT_OK) rc = fbc_open_broker(&b);
    if (rc != FB_EXIT_OK) {
        fb_spec_set_free(set);
        free(provider);
        free(region);
        fb_diag_free(d);
        return rc;
    }
    json_t *all = json_array();
    for (size_t i = 0; i < fb_spec_count(set); i++) {
        json_t *w = fbi_spec_doc(set, i);
        char *what = fbi_xasprintf("%s (%s/%s)", fb_spec_file(set, i), fb_spec_tenant(set, i),
                                   fb_spec_name(set, i));
        fb_diag *wd = fb_diag_new();
        json_t *pl = fbi_broker_placement(&b, fb_spec_kind(set, i), provider, region, service, wd);
        const fb_driver *drv = NULL;
        fb_driver_ctx *ctx = NULL;
        fb_status st = pl ? fb_registry_context(b.reg, provider, &drv, &ctx, wd) : FB_INVALID;
        if (st == FB_OK && !(drv->caps & FB_CAP_RENDER)) {
            fb_diag_add(wd, FB_SEV_ERROR, NULL, 0, 0, NULL, "this driver does not render", NULL);
            st = FB_NOTSUP;
        }
        char *out = NULL;
        if (st == FB_OK) {
            json_t *in = json_pack("{s:O,s:O,s:s}", "workload", w, "placement", pl, "mode", "render");
            char *in_text = fbi_json_canonical(in);
            json_decref(in);
            st = drv->validate(ctx, in_text, wd);
            if (st == FB_OK) st = drv->render(ctx, in_text, &out, wd);
            free(in_text);
        }
        json_t *docs = out ? json_loads(out, 0, NULL) : NULL;
        free(out);
        if (st == FB_OK && docs) {
            fbc_item_diag(what, wd); /* warnings and notes, e.g. placeholders */
            json_array_append_new(all, json_pack("{s:s,s:s,s:O,s:O}", "workload",
                                                 fb_spec_name(set, i), "tenant",
                                                 fb_spec_tenant(set, i), "placement", pl,
                                                 "documents", json_object_get(docs, "documents")));
        } else {
            if (st == FB_OK)
                fb_diag_add(wd, FB_SEV_ERROR, NULL, 0, 0, NULL, "the driver's render output is not JSON", NULL);
            fbc_item_diag(what, wd);
            rc = st == FB_INVALID ? FB_EXIT_INVALID : FB_EXIT_FAILURE;
        }
        json_decref(docs);
        json_decref(pl);
        fb_diag_free(wd);
        free(what);
    }
    if (rc == FB_EXIT_OK) fbc_print_json(all);
    json_decref(all);
    fbi_broker_close(&b);
    fb_spec_set_free(set);
    free(provider);
    free(region);
    fb_diag_free(d);
    return rc;
}

int fbc_cmd_render(int argc, char **argv)
{
    fbc_spec_opts so = {0};
    int rc = run_render(argc, argv, &so);
    fbc_spec_opts_free(&so);
    return rc;
}
