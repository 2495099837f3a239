/* cmd_drivers_test.c - `fedbroker drivers test PATH.so`: the conformance kit
 * for driver authors (see docs/driver-authors.md). */
#include "config.h"
#include "cli/cli.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

int fbc_cmd_drivers_test(int argc, char **argv)
{
    const char *settings = NULL;
    fbc_opt opts[] = {
        {"settings", "JSON", "driver settings passed to configure (JSON text or @FILE)",
         &settings, NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, opts, "fedbroker drivers test [--settings JSON|@FILE] PATH.so...",
                   "Loads each driver under the registry's rules (name, permissions, one exported\n"
                   "symbol, ABI version, caps) and checks the verb contracts against a fake host\n"
                   "that records HTTP calls: render is pure and deterministic, observe changes\n"
                   "nothing, destroy is idempotent, errors carry diagnostics, buffers come from\n"
                   "host->alloc. Prints one PASS/FAIL/SKIP line per check; exit 0 when nothing\n"
                   "failed, 1 otherwise.", &pos, &npos, &rc))
        return rc;
    if (npos == 0) {
        fprintf(stderr, "fedbroker drivers test: give the path of a driver .so\n");
        free(pos);
        return FB_EXIT_USAGE;
    }
    char *settings_text = NULL;
    if (settings && settings[0] == '@') {
        char *err = NULL;
        settings_text = fbi_read_file(settings + 1, 1 << 20, NULL, &err);
        if (!settings_text) {
            fprintf(stderr, "fedbroker drivers test: %s\n", err);
            free(err);
            free(pos);
            return FB_EXIT_INVALID;
        }
    } else if (settings) {
        settings_text = fbi_xstrdup(settings);
    }
    if (settings_text) {
        json_error_t je;
        json_t *j = json_loads(settings_text, 0, &je);
        if (!json_is_object(j)) {
            fprintf(stderr, "fedbroker drivers test: --settings: line %d column %d: %s "
                    "(expected a JSON object)\n", je.line, je.column, j ? "not an object" : je.text);
            json_decref(j);
            free(settings_text);
            free(pos);
            return FB_EXIT_INVALID;
        }
        json_decref(j);
    }
    int failed = 0;
    for (int i = 0; i < npos; i++) {
        if (i) putchar('\n');
        failed += fb_conformance_run(pos[i], settings_text, stdout);
    }
    free(settings_text);
    free(pos);
    return failed ? FB_EXIT_FAILURE : FB_EXIT_OK;
}
