/* cmd_drivers.c - `fedbroker drivers`: what is loaded and what it can do;
 * `fedbroker drivers test PATH.so`: the conformance kit for driver authors. */
#include "config.h"
#include "cli/cli.h"
#include "base/diag.h"
#include "base/util.h"
#include "host/host.h"

#include <stdlib.h>
#include <string.h>

static int list_drivers(const char *path, fbc_format fmt)
{
    fb_diag *diag = fb_diag_new();
    fb_registry *r = NULL;
    fb_registry_open(path, &r, diag);
    size_t n = fb_registry_count(r);
    if (fmt == FBC_FMT_JSON) {
        json_t *top = fbi_registry_json(r, diag);
        char *s = json_dumps(top, JSON_INDENT(2));
        puts(s);
        free(s);
        json_decref(top);
    } else {
        printf("%-12s %-8s %-5s", "DRIVER", "VERSION", "ABI");
        for (size_t k = 0; fbi_cap_names[k].col; k++) printf(" %s", fbi_cap_names[k].col);
        putchar('\n');
        for (size_t i = 0; i < n; i++) {
            const fb_driver *d = fb_registry_get(r, i);
            char abi[16];
            snprintf(abi, sizeof abi, "%u.%u", d->abi_major, d->abi_minor);
            printf("%-12s %-8s %-5s", d->name, d->version ? d->version : "", abi);
            for (size_t k = 0; fbi_cap_names[k].col; k++)
                printf(" %*s", (int)strlen(fbi_cap_names[k].col), (d->caps & fbi_cap_names[k].bit) ? "yes" : "-");
            putchar('\n');
        }
        if (n == 0)
            printf("(no drivers loaded; set FEDBROKER_DRIVER_PATH to the directories that hold them)\n");
        fb_diag_print(diag, stderr);
    }
    int rc = fb_diag_errors(diag) ? FB_EXIT_FAILURE : FB_EXIT_OK;
    fb_registry_free(r);
    fb_diag_free(diag);
    return rc;
}

int fbc_cmd_drivers(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "test") == 0)
        return fbc_cmd_drivers_test(argc - 1, argv + 1);
    const char *format = NULL, *path = NULL;
    fbc_opt opts[] = {
        {"format", "FMT", "table or json", &format, NULL, NULL},
        {"path", "DIRS", "driver directories (default: FEDBROKER_DRIVER_PATH or the installed ones)",
         &path, NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, opts, "fedbroker drivers [--format table|json] [--path DIRS]\n"
                   "       fedbroker drivers test PATH.so",
                   "Lists the loaded drivers and their feature matrix (from their capability\n"
                   "bits). Drivers refused by the loader are listed on stderr with the reason;\n"
                   "the exit code is then 1.", &pos, &npos, &rc))
        return rc;
    fbc_format fmt;
    if (npos > 0) {
        fprintf(stderr, "fedbroker drivers: unexpected argument '%s' (did you mean 'drivers test %s'?)\n",
                pos[0], pos[0]);
        free(pos);
        return FB_EXIT_USAGE;
    }
    free(pos);
    if (fbc_format_parse(format, (1u << FBC_FMT_TABLE) | (1u << FBC_FMT_JSON), &fmt) != 0)
        return FB_EXIT_USAGE;
    return list_drivers(path, fmt);
}
