/* aws_verb.c - runs one pure verb of a driver on crafted input, for the
 * Python tests of the AWS driver (tests/aws/verbs.py):
 *
 *     aws_verb DRIVER.so VERB SETTINGS_JSON < INPUT_JSON
 *
 * VERB is offers, validate, render or usage. The driver is loaded under the
 * registry's rules with the real host table and configured with SETTINGS.
 * Prints {"status": "OK"|..., "output": <verb output or null>,
 * "diagnostics": [...]} on stdout. Exit 0 unless the tool itself fails. */
#include "config.h"
#include "fedbroker/fedbroker.h"
#include "base/util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *read_stdin(void)
{
    size_t cap = 65536, n = 0;
    char *buf = fbi_xmalloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, stdin)) > 0) {
        n += got;
        if (n + 1 == cap) buf = fbi_xrealloc(buf, cap *= 2);
    }
    buf[n] = '\0';
    return buf;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: aws_verb DRIVER.so offers|validate|render|usage SETTINGS_JSON < INPUT\n");
        return 64;
    }
    fb_diag *d = fb_diag_new();
    fb_registry *r = fb_registry_new();
    const fb_driver *drv = NULL;
    if (fb_registry_load_file(r, argv[1], NULL, &drv, d) != FB_OK) {
        fb_diag_print(d, stderr);
        return 1;
    }
    json_t *cfg = json_pack("{s:o}", "settings", json_loads(argv[3], 0, NULL));
    if (!json_object_get(cfg, "settings")) {
        fprintf(stderr, "aws_verb: SETTINGS is not JSON\n");
        return 1;
    }
    char *cfg_text = json_dumps(cfg, JSON_COMPACT);
    json_decref(cfg);
    fb_driver_ctx *ctx = NULL;
    fb_status st = drv->configure(fb_host_table(), cfg_text, &ctx, d);
    free(cfg_text);
    char *out = NULL;
    char *in = read_stdin();
    const char *verb = argv[2];
    if (st == FB_OK) {
        if (!strcmp(verb, "offers")) st = drv->offers(ctx, &out, d);
        else if (!strcmp(verb, "validate")) st = drv->validate(ctx, in, d);
        else if (!strcmp(verb, "render")) st = drv->render(ctx, in, &out, d);
        else if (!strcmp(verb, "usage")) st = drv->usage(ctx, in, &out, d);
        else {
            fprintf(stderr, "aws_verb: unknown verb %s\n", verb);
            return 64;
        }
    }
    char *dj = fb_diag_to_json(d);
    json_t *res = json_pack("{s:s,s:o,s:o}", "status", fbi_status_name(st), "output",
                            out ? json_loads(out, 0, NULL) : json_null(), "diagnostics",
                            json_loads(dj, 0, NULL));
    char *text = json_dumps(res, JSON_INDENT(1) | JSON_SORT_KEYS);
    puts(text);
    free(text);
    json_decref(res);
    free(dj);
    fb_host_table()->free(out);
    free(in);
    if (ctx) drv->teardown(ctx);
    fb_registry_free(r);
    fb_diag_free(d);
    return 0;
}
