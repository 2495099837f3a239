/* cmd_plan.c - `fedbroker plan` (place specs by cost and latency and write
 * the report) and `fedbroker report` (render the last saved plan). */
#include "config.h"
#include "cli.h"
#include "plan/plan.h"
#include "solver/solver.h"
#include "base/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const unsigned all_formats = (1u << FBC_FMT_TABLE) | (1u << FBC_FMT_JSON) |
    (1u << FBC_FMT_CSV) | (1u << FBC_FMT_MD) | (1u << FBC_FMT_HTML) | (1u << FBC_FMT_FOCUS);

/* fbc_format and fbi_report_format list the formats in the same order. */
static fbi_report_format to_report(fbc_format f)
{
    return (fbi_report_format)f;
}

/* Writes the report to path (atomically) or stdout. */
static int emit(const json_t *plan, fbc_format fmt, const char *group_by, const char *path)
{
    if (!path) return fbi_report_write(plan, to_report(fmt), group_by, stdout) ? FB_EXIT_FAILURE : 0;
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    fbi_report_write(plan, to_report(fmt), group_by, mem);
    fclose(mem);
    char *err = NULL;
    int rc = fbi_write_file_atomic(path, buf, len, &err);
    free(buf);
    if (rc != 0) {
        fprintf(stderr, "fedbroker: %s\n", err);
        free(err);
        return FB_EXIT_FAILURE;
    }
    return FB_EXIT_OK;
}

/* Parses --hours: "730" (default) or "calendar:DAYS" / a number of days. */
static int parse_hours(const char *s, int *days)
{
    *days = 0;
    if (!s || !strcmp(s, "730")) return 0;
    const char *d = !strncmp(s, "calendar:", 9) ? s + 9 : NULL;
    if (!d) {
        fprintf(stderr, "fedbroker plan: --hours is 730 or calendar:DAYS (28..31), not '%s'\n", s);
        return -1;
    }
    char *end;
    long n = strtol(d, &end, 10);
    if (*end || n < 28 || n > 31) {
        fprintf(stderr, "fedbroker plan: --hours calendar:DAYS needs 28..31 days, not '%s'\n", d);
        return -1;
    }
    *days = (int)n;
    return 0;
}

/* The verb; so receives the shared spec options (freed by the caller). */
static int run_plan(int argc, char **argv, fbc_spec_opts *so)
{
    const char *format = NULL, *output = NULL, *export_lp = NULL, *catalog = NULL,
               *overrides = NULL, *hours = NULL, *group_by = NULL, *tlimit = NULL;
    int no_baselines = 0, no_save = 0;
    fbc_opt opts[] = {
        {"format", "FMT", "table, json, csv, md, html or focus (FOCUS 1.2 CSV)", &format, NULL, NULL},
        {"output", "FILE", "write the report to FILE instead of stdout", &output, NULL, NULL},
        {"export-lp", "FILE", "also write the placement problem as a CPLEX LP file", &export_lp, NULL, NULL},
        {"catalog", "DIR", "price catalog directory (default: FEDBROKER_CATALOG or built in)", &catalog, NULL, NULL},
        {"overrides", "FILE", "negotiated prices (ContractedCost); see catalog/README.md", &overrides, NULL, NULL},
        {"hours", "BASIS", "730 (default) or calendar:DAYS for a calendar month", &hours, NULL, NULL},
        {"group-by", "LABEL", "totals per value of this label (e.g. team, cost-center)", &group_by, NULL, NULL},
        {"time-limit", "SECONDS", "solver time limit (default 10)", &tlimit, NULL, NULL},
        {"no-baselines", NULL, "skip the all-PROVIDER baselines", NULL, &no_baselines, NULL},
        {"no-save", NULL, "do not store the plan (fedbroker report shows the last stored one)", NULL, &no_save, NULL},
        FBC_SPEC_OPTS(*so),
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, opts, "fedbroker plan SPEC... [--format FMT] [--output FILE] "
                   "[--export-lp FILE] [--catalog DIR] [--overrides FILE] [--hours BASIS] "
                   "[--group-by LABEL]",
                   "Places every workload by the cost and latency model across the loaded drivers'\n"
                   "offers (residency, latency SLOs, budgets, quotas, links with egress, spread,\n"
                   "affinity) and writes the cost placement report. Exit 0 when a plan exists,\n"
                   "3 when the constraints leave none (the reasons and the nearest choices are\n"
                   "printed), 2 for invalid input. Nothing is stored unless the input is valid.",
                   &pos, &npos, &rc))
        return rc;
    fbc_format fmt;
    int days = 0;
    if (fbc_format_parse(format, all_formats, &fmt) != 0 || parse_hours(hours, &days) != 0 || npos == 0) {
        if (npos == 0) fprintf(stderr, "fedbroker plan: give at least one SPEC file\n");
        free(pos);
        return FB_EXIT_USAGE;
    }
    fb_spec_set *set = NULL;
    rc = fbc_load_specs("plan", pos, npos, so, &set);
    free(pos);
    if (rc != FB_EXIT_OK) return rc;
    fbi_broker b;
    if ((rc = fbc_open_broker(&b)) != FB_EXIT_OK) {
        fb_spec_set_free(set);
        return rc;
    }
    fbi_plan_opts po;
    memset(&po, 0, sizeof po);
    po.catalog_dir = catalog;
    po.overrides = overrides;
    po.calendar_hours = days;
    po.export_lp = export_lp;
    po.time_limit_s = tlimit ? atof(tlimit) : 0;
    po.baselines = !no_baselines;
    json_t *plan = NULL;
    fb_diag *d = fb_diag_new();
    fb_status st = fbi_plan_run(&b, set, &po, &plan, d);
    fb_diag_print(d, stderr);
    if (st == FB_INVALID) rc = FB_EXIT_INVALID;
    else if (st == FB_QUOTA) rc = FB_EXIT_INFEASIBLE;
    else if (st != FB_OK) rc = FB_EXIT_FAILURE;
    if (plan) {
        int wrc = emit(plan, fmt, group_by, output);
        if (rc == FB_EXIT_OK) rc = wrc;
    }
    if (st == FB_OK && !no_save) {
        fb_store *store = NULL;
        if (fbc_open_store(&store) == FB_EXIT_OK) {
            char *text = json_dumps(plan, JSON_COMPACT | JSON_SORT_KEYS);
            int64_t total = 0;
            char *err = NULL;
            fbi_decimal_parse(json_string_value(json_object_get(plan, "total_monthly_cost")), 6,
                              &total, &err);
            free(err);
            long long id = 0;
            fb_diag *sd = fb_diag_new();
            if (fb_store_put_plan(store, text, total, &id, sd) != FB_OK) {
                fb_diag_print(sd, stderr);
                rc = FB_EXIT_FAILURE;
            }
            fb_diag_free(sd);
            free(text);
            fb_store_close(store);
        } else {
            rc = FB_EXIT_FAILURE;
        }
    }
    json_decref(plan);
    fb_diag_free(d);
    fbi_broker_close(&b);
    fb_spec_set_free(set);
    return rc;
}

int fbc_cmd_plan(int argc, char **argv)
{
    fbc_spec_opts so = {0};
    int rc = run_plan(argc, argv, &so);
    fbc_spec_opts_free(&so);
    return rc;
}

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
    if (fbc_format_parse(format, all_formats, &fmt) != 0) return FB_EXIT_USAGE;
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
        rc = plan ? emit(plan, fmt, group_by, output) : FB_EXIT_FAILURE;
        json_decref(plan);
    }
    free(text);
    fb_diag_free(d);
    fb_store_close(store);
    return rc;
}
