/* cmd_plan.c - `fedbroker plan`: place specs by cost and latency, write the
 * report and store the plan for `fedbroker report` (cmd_report.c). */
#include "config.h"
#include "cli/cli.h"
#include "plan/plan.h"
#include "plan/compare.h"
#include "solver/solver.h"
#include "cli/planexec.h"
#include "state/state.h"
#include "base/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The store keeps totals in micro-USD: nano-USD rounded half away from
 * zero (the rule the catalog rounds line items by). */
static long long nano_to_micro(int64_t nano)
{
    return nano >= 0 ? (nano + 500) / 1000 : -((-nano + 500) / 1000);
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

/* Exit code of a plan run's status. */
static int plan_exit(fb_status st)
{
    if (st == FB_OK) return FB_EXIT_OK;
    if (st == FB_INVALID) return FB_EXIT_INVALID;
    if (st == FB_QUOTA) return FB_EXIT_INFEASIBLE;
    return FB_EXIT_FAILURE;
}

/* plan --compare: the same specs planned on the current catalog (the
 * default: FEDBROKER_CATALOG or the built-in one) and on po->catalog_dir,
 * with the same overrides, set side by side. Stores nothing. The exit code
 * is the new plan's (0, or 3 when it is infeasible). */
static int run_compare(fbi_broker *b, fb_spec_set *set, fbi_plan_opts *po, fbc_format fmt,
                       const char *output, fb_diag *d)
{
    const char *new_dir = po->catalog_dir;
    json_t *old_plan = NULL, *new_plan = NULL;
    po->baselines = 0;
    po->catalog_dir = NULL;
    fb_status so = fbi_plan_run(b, set, po, &old_plan, NULL, d);
    po->catalog_dir = new_dir;
    fb_status sn = so == FB_INVALID ? so : fbi_plan_run(b, set, po, &new_plan, NULL, d);
    fb_diag_print(d, stderr);
    int rc = so == FB_INVALID ? FB_EXIT_INVALID : plan_exit(sn);
    if (old_plan && new_plan) {
        const char *env = getenv("FEDBROKER_CATALOG");
        json_t *cmp = fbi_plan_compare(old_plan, new_plan, env && *env ? env : "embedded", new_dir);
        FILE *out = stdout;
        if (output && !(out = fopen(output, "w"))) {
            fprintf(stderr, "fedbroker plan: --output %s: cannot write\n", output);
            rc = FB_EXIT_FAILURE;
        } else {
            if (fbi_compare_write(cmp, (fbi_report_format)fmt, out) != 0 && rc == FB_EXIT_OK) rc = FB_EXIT_FAILURE;
            if (out != stdout && fclose(out) != 0 && rc == FB_EXIT_OK) rc = FB_EXIT_FAILURE;
        }
        json_decref(cmp);
    }
    json_decref(old_plan);
    json_decref(new_plan);
    return rc;
}

/* The verb; so receives the shared spec options (freed by the caller). */
static int run_plan(int argc, char **argv, fbc_spec_opts *so)
{
    const char *format = NULL, *output = NULL, *export_lp = NULL, *catalog = NULL,
               *overrides = NULL, *hours = NULL, *group_by = NULL, *tlimit = NULL, *gap = NULL;
    const char *out_file = NULL;
    int no_baselines = 0, no_save = 0, detailed = 0, no_refresh = 0, compare = 0;
    fbc_opt opts[] = {
        {"format", "FMT", "table, json, csv, md, html or focus (FOCUS 1.2 CSV)", &format, NULL, NULL},
        {"output", "FILE", "write the report to FILE instead of stdout", &output, NULL, NULL},
        {"export-lp", "FILE", "also write the placement problem as a CPLEX LP file", &export_lp, NULL, NULL},
        {"catalog", "DIR", "price catalog directory (default: FEDBROKER_CATALOG or built in)", &catalog, NULL, NULL},
        {"overrides", "FILE", "negotiated prices (ContractedCost); see catalog/README.md", &overrides, NULL, NULL},
        {"hours", "BASIS", "730 (default) or calendar:DAYS for a calendar month", &hours, NULL, NULL},
        {"group-by", "LABEL", "totals per value of this label (e.g. team, cost-center)", &group_by, NULL, NULL},
        {"time-limit", "SECONDS", "solver time limit (default 10)", &tlimit, NULL, NULL},
        {"gap", "FRACTION", "stop the solver once the plan is within this fraction of its proven lower bound "
         "(default 0.0001; 0: only a proof of optimality or the time limit stops it)", &gap, NULL, NULL},
        {"no-baselines", NULL, "skip the all-PROVIDER baselines", NULL, &no_baselines, NULL},
        {"no-save", NULL, "do not store the plan (fedbroker report shows the last stored one)", NULL, &no_save, NULL},
        {"out", "FILE", "also write the plan document apply --plan takes (docs/plan.md)", &out_file, NULL, NULL},
        {"no-refresh", NULL, "do not observe deployed workloads for drift (the change set from specHash only)",
         NULL, &no_refresh, NULL},
        {"detailed-exitcode", NULL, "exit 0 when the plan changes nothing, 2 when it does, 1 on errors",
         NULL, &detailed, NULL},
        {"compare", NULL, "with --catalog NEW: plan on the current catalog and on NEW and show what the "
         "price change does (per workload and total, old vs new cost, whether it moves); stores nothing",
         NULL, &compare, NULL},
        FBC_SPEC_OPTS(*so),
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, opts, "fedbroker plan SPEC... [--format FMT] [--output FILE] "
                   "[--export-lp FILE] [--catalog DIR] [--overrides FILE] [--hours BASIS] "
                   "[--group-by LABEL] [--time-limit SECONDS] [--gap FRACTION] [--out FILE] "
                   "[--detailed-exitcode] [--no-refresh] [--compare]",
                   "Places every workload by the cost and latency model across the loaded drivers'\n"
                   "offers (residency, latency SLOs, budgets, quotas, links with egress, spread,\n"
                   "affinity) and writes the cost placement report. Exit 0 when a plan exists,\n"
                   "3 when the constraints leave none (the reasons and the nearest choices are\n"
                   "printed), 2 for invalid input. Nothing is stored unless the input is valid.\n"
                   "The plan also holds the change set against what is deployed (create, update,\n"
                   "move, delete, no-op; shown after the table report; deployed workloads are\n"
                   "observed, read-only, so drift at the provider is an update unless\n"
                   "--no-refresh) and what `apply --plan`\n"
                   "needs: the state serial, the spec files' hashes, the catalog's hash.\n"
                   "--out FILE writes that document; --detailed-exitcode: 0 no changes, 2 changes,\n"
                   "1 error, 3 infeasible. On a model too large for an exact search the solver\n"
                   "stops once the plan is within --gap of its proven lower bound (status\n"
                   "feasible, never optimal); --gap 0 searches to a proof or --time-limit.",
                   &pos, &npos, &rc))
        return rc;
    fbc_format fmt;
    int days = 0;
    if (fbc_format_parse(format, FBC_REPORT_FORMATS, &fmt) != 0 || parse_hours(hours, &days) != 0 || npos == 0) {
        if (npos == 0) fprintf(stderr, "fedbroker plan: give at least one SPEC file\n");
        free(pos);
        return FB_EXIT_USAGE;
    }
    if (compare && (!catalog || fmt == FBC_FMT_HTML || fmt == FBC_FMT_FOCUS || out_file || detailed)) {
        fprintf(stderr, "fedbroker plan: --compare needs --catalog NEW (the catalog to compare with the current "
                        "one) and prints table, json, csv or md; it takes no --out or --detailed-exitcode\n");
        free(pos);
        return FB_EXIT_USAGE;
    }
    fb_spec_set *set = NULL;
    rc = fbc_load_specs("plan", pos, npos, so, &set);
    if (rc != FB_EXIT_OK) {
        free(pos);
        return rc;
    }
    fbi_broker b;
    if ((rc = fbc_open_broker(&b)) != FB_EXIT_OK) {
        fb_spec_set_free(set);
        free(pos);
        return rc;
    }
    fbi_plan_opts po;
    memset(&po, 0, sizeof po);
    po.catalog_dir = catalog;
    po.overrides = overrides;
    po.calendar_hours = days;
    po.export_lp = export_lp;
    po.time_limit_s = tlimit ? atof(tlimit) : 0;
    if (gap) {
        char *end = NULL;
        errno = 0;
        po.rel_gap = strtod(gap, &end);
        if (errno || !end || *end || !*gap || !(po.rel_gap >= 0) || !(po.rel_gap < 1)) {
            fprintf(stderr, "fedbroker plan: --gap '%s' is not a fraction in [0, 1) (e.g. 0.0001 for 0.01%%)\n", gap);
            fbi_broker_close(&b);
            fb_spec_set_free(set);
            free(pos);
            return FB_EXIT_USAGE;
        }
        if (po.rel_gap == 0) po.rel_gap = -1; /* none: fbi_plan_opts */
    }
    po.baselines = !no_baselines;
    json_t *plan = NULL;
    fb_diag *d = fb_diag_new();
    fbi_plan_stats stats;
    memset(&stats, 0, sizeof stats);
    const char *want_stats = getenv("FEDBROKER_PLAN_STATS");
    if (want_stats && *want_stats && strcmp(want_stats, "0") != 0) po.stats = &stats;
    int64_t total = 0;
    if (compare) {
        rc = run_compare(&b, set, &po, fmt, output, d);
        fb_diag_free(d);
        fbi_broker_close(&b);
        fb_spec_set_free(set);
        free(pos);
        return rc;
    }
    fbc_hybrid hy;
    int hrc = fbc_hybrid_prepare(&hy, &b, set, &po);
    /* When the JSON report on stdout is all the plan document is for (not
     * stored, no --out, no hybrid parts to refit or compare), plan writes
     * it as it builds it, one workload at a time, instead of building the
     * whole document first (bench/README-plan.md, "Memory"). */
    int streamed = fmt == FBC_FMT_JSON && !output && no_save && !out_file && !detailed && hrc == FB_EXIT_OK &&
                   hy.n == 0 && !hy.compare;
    if (streamed) po.json_out = stdout;
    /* nothing below reads the normal forms when the plan is neither stored
     * nor written with its change set (annotate, changes) and has no hybrid
     * parts (refit plans again): the plan drops each once it is evaluated */
    po.release_specs = no_save && !out_file && !detailed && hrc == FB_EXIT_OK && hy.n == 0 && !hy.compare;
    fb_status st = hrc == FB_EXIT_OK ? fbi_plan_run(&b, set, &po, &plan, &total, d) : FB_INVALID;
    /* a split whose pair the solver moved is simulated again at that pair
     * and planned again (twice at most: docs/simulation.md) */
    for (int round = 0; st == FB_OK && round < 2; round++) {
        int ch = fbc_hybrid_refit(&hy, &b, set, &po, plan, &hrc);
        if (ch < 0) st = FB_INVALID;
        if (ch <= 0) break;
        json_decref(plan);
        plan = NULL;
        st = fbi_plan_run(&b, set, &po, &plan, &total, d);
    }
    fb_diag_print(d, stderr);
    if (po.stats)
        fprintf(stderr, "fedbroker plan: stats: %zu workloads, %zu candidates, %zu evaluations; "
                "driver calls: %zu validate, %zu usage, %zu evaluate (%zu candidates); catalog opened %zu times; "
                "%.0f ms evaluating, %.0f ms solving, %.0f ms in all\n",
                stats.workloads, stats.candidates, stats.evaluations, stats.validate_calls,
                stats.usage_calls, stats.evaluate_calls, stats.evaluate_candidates, stats.catalog_opens, stats.evaluate_ms, stats.solve_ms,
                stats.total_ms);
    if (st == FB_INVALID) rc = FB_EXIT_INVALID;
    else if (st == FB_QUOTA) rc = FB_EXIT_INFEASIBLE;
    else if (st != FB_OK) rc = FB_EXIT_FAILURE;
    if (hrc != FB_EXIT_OK) rc = hrc;
    if (plan && st == FB_OK) fbc_hybrid_attach(&hy, plan);
    /* the change set and the apply section see the parts apply deploys */
    if (st == FB_OK) fbc_hybrid_deploy_set(&hy, set);
    if (plan && !streamed) {
        int wrc = fbc_emit_report(plan, fmt, group_by, output);
        if (rc == FB_EXIT_OK) rc = wrc;
        if (fmt == FBC_FMT_TABLE && !output) fbc_print_hybrid(plan, stdout);
    }
    /* The apply section and the change set: after the report, which stays
     * the cost report finance diffs byte for byte. */
    fb_store *store = NULL;
    int changes = 0;
    if (st == FB_OK && rc == FB_EXIT_OK && (!no_save || out_file || detailed)) {
        fbc_plan_inputs in = {pos, npos, catalog, overrides};
        rc = fbc_open_store(&store);
        if (rc == FB_EXIT_OK) rc = fbc_plan_annotate(plan, &b, set, store, &in);
        if (rc == FB_EXIT_OK) rc = fbc_plan_changes(plan, set, store, no_refresh ? NULL : &b, 0);
        if (rc == FB_EXIT_OK) {
            changes = fbc_plan_has_changes(plan, 0);
            if (fmt == FBC_FMT_TABLE) fbc_print_changes(plan, stdout);
        }
        if (rc == FB_EXIT_OK && out_file) {
            char *text = json_dumps(plan, JSON_INDENT(2) | JSON_SORT_KEYS);
            char *err = NULL;
            if (fbi_write_file_atomic(out_file, text, strlen(text), &err) != 0) {
                fprintf(stderr, "fedbroker plan: --out %s: %s\n", out_file, err);
                free(err);
                rc = FB_EXIT_FAILURE;
            }
            free(text);
        }
    }
    if (st == FB_OK && !no_save && rc == FB_EXIT_OK) {
        if (store) {
            char *text = json_dumps(plan, JSON_COMPACT | JSON_SORT_KEYS);
            long long id = 0;
            fb_diag *sd = fb_diag_new();
            if (fb_store_put_plan(store, text, nano_to_micro(total), &id, sd) != FB_OK) {
                fb_diag_print(sd, stderr);
                rc = FB_EXIT_FAILURE;
            }
            fb_diag_free(sd);
            free(text);
        } else {
            rc = FB_EXIT_FAILURE;
        }
    }
    fb_store_close(store);
    free(pos);
    if (detailed && rc == FB_EXIT_OK) rc = changes ? 2 : 0;
    else if (detailed && rc == FB_EXIT_INVALID) rc = FB_EXIT_FAILURE;
    json_decref(plan);
    fb_diag_free(d);
    fbc_hybrid_free(&hy);
    fbi_broker_close(&b);
    fb_spec_set_free(set);
    return rc;
}

int fbc_cmd_plan(int argc, char **argv)
{
    fbc_spec_opts so = {0};
    int rc = run_plan(argc, argv, &so);
    fbc_spec_opts_free(&so);
    /* a branch and bound the solver left at its deadline (docs/solver.md,
     * "Exact search") is joined if it has ended by now; no wait: the plan
     * is out, and the process may exit with one still running */
    fbi_solve_drain(0);
    return rc;
}
