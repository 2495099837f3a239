/* cmd_validate.c - `fedbroker validate FILE...`: parse, validate and
 * normalise portable specs; print what is valid and every error. */
#include "config.h"
#include "cli/cli.h"
#include "base/diag.h"
#include "spec/spec.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

/* The JSON report: normal forms, links and federations (and the errors,
 * so a tool reading stdout alone sees them too). */
static void print_json(const fb_spec_set *set, const fb_diag *diag)
{
    json_t *top = fbi_spec_set_view(set, diag);
    char *s = json_dumps(top, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
    puts(s);
    free(s);
    json_decref(top);
}

static void print_table(const fb_spec_set *set)
{
    for (size_t i = 0; i < fb_spec_count(set); i++)
        printf("ok %s %s %s/%s hash=%.12s\n", fb_spec_file(set, i), fb_spec_kind(set, i),
               fb_spec_tenant(set, i), fb_spec_name(set, i), fb_spec_hash(set, i));
    const json_t *feds = fbi_spec_federations(set);
    size_t i;
    json_t *f;
    /* a Federation lists at least one member (the schema's minItems), so
     * one with no valid workload is not "ok": its members' errors are on
     * stderr */
    json_array_foreach(feds, i, f) {
        size_t n = json_array_size(json_object_get(f, "workloads"));
        if (n == 0)
            printf("invalid %s Federation %s/%s: none of its workloads is valid (the errors are above)\n",
                   json_string_value(json_object_get(f, "file")), json_string_value(json_object_get(f, "tenant")),
                   json_string_value(json_object_get(f, "name")));
        else
            printf("ok %s Federation %s/%s workloads=%zu hash=%.12s\n",
                   json_string_value(json_object_get(f, "file")),
                   json_string_value(json_object_get(f, "tenant")),
                   json_string_value(json_object_get(f, "name")), n,
                   json_string_value(json_object_get(f, "specHash")));
    }
}

/* The verb; so receives the shared spec options (freed by the caller). */
static int run_validate(int argc, char **argv, fbc_spec_opts *so)
{
    const char *format = NULL;
    fbc_opt opts[] = {
        {"format", "FMT", "table (one line per workload) or json (normal forms, links, "
                          "federations)", &format, NULL, NULL},
        FBC_SPEC_OPTS(*so),
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, opts, "fedbroker validate FILE... [--format table|json]",
                   "Parses JSON or YAML spec files (- reads standard input), checks them against\n"
                   "the workload schema and the semantic rules of docs/spec.md, and prints the\n"
                   "valid workloads. Every error is printed to stderr as\n"
                   "  file:line:col: error: /json/pointer: summary\n"
                   "Exit status: 0 all valid, 2 invalid input, 64 usage error.",
                   &pos, &npos, &rc))
        return rc;
    fbc_format fmt;
    if (fbc_format_parse(format, (1u << FBC_FMT_TABLE) | (1u << FBC_FMT_JSON), &fmt) != 0) {
        free(pos);
        return FB_EXIT_USAGE;
    }
    if (npos == 0) {
        fprintf(stderr, "fedbroker validate: no files given\n"
                        "usage: fedbroker validate FILE... [--format table|json]\n");
        free(pos);
        return FB_EXIT_USAGE;
    }
    fb_spec_set *set = NULL;
    if ((rc = fbc_spec_set_open("validate", so, &set)) != FB_EXIT_OK) {
        free(pos);
        return rc;
    }
    fb_diag *diag = fb_diag_new();
    for (int i = 0; i < npos; i++) fb_spec_set_add_file(set, pos[i], diag);
    fb_spec_set_finish(set, diag);
    if (fmt == FBC_FMT_JSON) print_json(set, diag);
    else print_table(set);
    fb_diag_print(diag, stderr);
    size_t nerr = fb_diag_errors(diag);
    if (nerr)
        fprintf(stderr, "fedbroker validate: %zu error%s\n", nerr, nerr == 1 ? "" : "s");
    fb_diag_free(diag);
    fb_spec_set_free(set);
    free(pos);
    return nerr ? FB_EXIT_INVALID : FB_EXIT_OK;
}

int fbc_cmd_validate(int argc, char **argv)
{
    fbc_spec_opts so = {0};
    int rc = run_validate(argc, argv, &so);
    fbc_spec_opts_free(&so);
    return rc;
}
