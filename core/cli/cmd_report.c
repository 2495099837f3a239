/* cmd_report.c - `fedbroker report`: renders the last plan stored by
 * `fedbroker plan` in any report format. */
#include "config.h"
#include "cli/cli.h"
#include "cli/planexec.h"

#include <stdlib.h>

int fbc_cmd_report(int argc, char **argv)
{
    const char *format = NULL, *output = NULL, *group_by = NULL;
    fbc_opt opts[] = {
        {"format", "FMT", "table, json, csv, md, html or focus (FOCUS 1.2 CSV)", &format, NULL, NULL},
        {"output", "FILE", "write the report to FILE instead of stdout", &output, NULL, NULL},
        {"group-by", "LABEL", "totals per value of this label (e.g. team, cost-center)", &group_by, NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, opts, "fedbroker report [--format FMT] [--output FILE] [--group-by LABEL]",
                   "Renders the last plan stored by `fedbroker plan`.", &pos, &npos, &rc))
        return rc;
    free(pos);
    fbc_format fmt;
    if (fbc_format_parse(format, FBC_REPORT_FORMATS, &fmt) != 0) return FB_EXIT_USAGE;
    fb_store *store = NULL;
    if ((rc = fbc_open_store(&store)) != FB_EXIT_OK) return rc;
    char *text = NULL;
    long long id = 0;
    fb_diag *d = fb_diag_new();
    fb_status st = fb_store_latest_plan(store, &text, &id, d);
    if (st == FB_NOTFOUND) {
        fprintf(stderr, "fedbroker report: no plan is stored yet; run `fedbroker plan SPEC...` first\n");
        rc = FB_EXIT_FAILURE;
    } else if (st != FB_OK) {
        fb_diag_print(d, stderr);
        rc = FB_EXIT_FAILURE;
    } else {
        json_t *plan = json_loads(text, 0, NULL);
        rc = plan ? fbc_emit_report(plan, fmt, group_by, output) : FB_EXIT_FAILURE;
        /* as plan prints it: the hybrid strategies after the table */
        if (plan && rc == FB_EXIT_OK && fmt == FBC_FMT_TABLE && !output)
            fbc_print_hybrid(plan, stdout);
        json_decref(plan);
    }
    free(text);
    fb_diag_free(d);
    fb_store_close(store);
    return rc;
}
