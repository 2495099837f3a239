/* cli.h - shared helpers for the fedbroker command's verbs (prefix fbc_). */
#ifndef FB_CLI_H
#define FB_CLI_H

#include <stdio.h>
#include "fedbroker/fedbroker.h"
#include "broker/broker.h"
#include "state/lock.h"
#include "plan/report.h"

/* One option of a verb. Exactly one of str/flag/list is set. */
typedef struct fbc_opt {
    const char *name;       /* long name without "--" */
    const char *metavar;    /* NULL for a flag */
    const char *help;
    const char **str;       /* receives the value (borrowed from argv) */
    int *flag;              /* set to 1 when present */
    const char ***list;     /* repeated option: NULL-terminated, new (free()) */
} fbc_opt;

/* Parses argv[1..] (argv[0] is the verb). Positional arguments are collected
 * into *pos (new array, free(); borrowed strings), their count in *npos.
 * Handles --help. Returns 1 to go on; 0 to stop and return *exit_code
 * (0 after --help, FB_EXIT_USAGE after a bad option, message printed). */
int fbc_parse(int argc, char **argv, const fbc_opt *opts, const char *usage,
              const char *description, char ***pos, int *npos, int *exit_code);

/* Output formats: the one enum of report.h, under the CLI's names. */
typedef fbi_report_format fbc_format;
#define FBC_FMT_TABLE FBI_REPORT_TABLE
#define FBC_FMT_JSON FBI_REPORT_JSON
#define FBC_FMT_CSV FBI_REPORT_CSV
#define FBC_FMT_MD FBI_REPORT_MD
#define FBC_FMT_HTML FBI_REPORT_HTML
#define FBC_FMT_FOCUS FBI_REPORT_FOCUS
/* Every format: what `plan` and `report` accept. */
#define FBC_REPORT_FORMATS ((1u << FBC_FMT_TABLE) | (1u << FBC_FMT_JSON) | (1u << FBC_FMT_CSV) | \
                            (1u << FBC_FMT_MD) | (1u << FBC_FMT_HTML) | (1u << FBC_FMT_FOCUS))
/* Parses --format (NULL means table) among the allowed ones (bit mask of
 * 1 << fbc_format). Returns 0 or prints an error and returns -1. */
int fbc_format_parse(const char *s, unsigned allowed, fbc_format *out);

/* Prints diagnostics to stderr and returns the exit code they imply. */
int fbc_report_diag(const fb_diag *d, int code_if_errors);

/* The options every verb that reads specs shares (validate, render, plan,
 * apply), filled by fbc_parse through FBC_SPEC_OPTS. */
typedef struct fbc_spec_opts {
    const char **allow;        /* --allow-path DIR, repeatable (new list, fbc_spec_opts_free) */
    const char *max_workloads; /* --max-workloads N (borrowed from argv) */
} fbc_spec_opts;
#define FBC_SPEC_OPTS(so)                                                                   \
    {"allow-path", "DIR", "let specs read files under DIR too (repeatable; by default only "  \
     "under the spec file's own directory)", NULL, NULL, &(so).allow},                       \
    {"max-workloads", "N", "read at most N workloads in all (default 10000)",                \
     &(so).max_workloads, NULL, NULL}
/* Frees what fbc_parse allocated for the options. */
void fbc_spec_opts_free(fbc_spec_opts *so);

/* A new, empty set with the options applied (*out, fb_spec_set_free).
 * Returns 0, or FB_EXIT_USAGE after printing what is wrong with an option. */
int fbc_spec_set_open(const char *verb, const fbc_spec_opts *so, fb_spec_set **out);
/* Loads and validates spec files into a new set (*out); prints every
 * diagnostic. Returns 0, FB_EXIT_INVALID or FB_EXIT_USAGE. */
int fbc_load_specs(const char *verb, char **files, int nfiles, const fbc_spec_opts *so,
                   fb_spec_set **out);
/* Opens the catalog fbc_load_specs checks a spec's locations and regions
 * against, and compiles the spec schema, on a second thread (when there
 * are two cores or more), for a caller with other work to do before it
 * loads large specs (apply --plan parses the plan first; the catalog was
 * 63 M instructions and the schema 9 M on its main thread before the first
 * request; bench/README-aws.md, Stop 27). fbc_load_specs waits for the
 * thread when it needs them; fbc_vocab_warm_end waits for it and frees
 * the catalog (fbc_load_specs ends so too). Main thread; no output. */
void fbc_vocab_warm_start(void);
void fbc_vocab_warm_end(void);
/* Opens the broker (configuration, drivers); prints warnings. 0 or an exit
 * code. */
int fbc_open_broker(fbi_broker *b);
/* Opens the default store; 0, FB_EXIT_INVALID when the state directory
 * could be changed by another user, or FB_EXIT_FAILURE (message printed). */
int fbc_open_store(fb_store **s);
/* Parses --lock-timeout (NULL: 0, fail at once as Terraform does) into
 * *ms. 0 or FB_EXIT_USAGE (message printed). */
int fbc_lock_timeout(const char *verb, const char *value, int64_t *ms);
/* Takes the state lock of s for verb, waiting up to timeout_ms; says when
 * the previous holder died with it. *lock new (fbi_lock_release). 0,
 * FB_EXIT_LOCKED (who holds it printed) or FB_EXIT_FAILURE. */
int fbc_lock_state(fb_store *s, const char *verb, int64_t timeout_ms, fbi_lock **lock);

/* Writes the plan document (borrowed) as a report to path (atomically: all
 * or nothing) or to stdout when path is NULL. 0 or FB_EXIT_FAILURE
 * (message printed). */
int fbc_emit_report(const json_t *plan, fbc_format fmt, const char *group_by, const char *path);
/* Prints j indented with sorted keys (borrowed). */
void fbc_print_json(json_t *j);
/* A list verb's store listing: sets *text (new) to a JSON array of rows, or
 * returns another status with d filled. arg is the verb's own. */
typedef fb_status (*fbc_list_fn)(fb_store *s, const void *arg, char **text, fb_diag *d);
/* Prints a list verb's rows (borrowed, an array) as its table. */
typedef void (*fbc_table_fn)(json_t *rows, const void *arg);
/* What every list verb does with a listing of the open store s: the rows
 * printed as JSON (fmt FBC_FMT_JSON) or by table. Returns FB_EXIT_OK, or
 * FB_EXIT_FAILURE with d's diagnostics printed. */
int fbc_print_rows(fb_store *s, fbc_format fmt, fbc_list_fn list, fbc_table_fn table, const void *arg,
                   fb_diag *d);
/* Prints one item's diagnostics prefixed with what (e.g. "demo/hello"). */
void fbc_item_diag(const char *what, const fb_diag *d);

/* Verb entry points (each in its own file). */
int fbc_cmd_validate(int argc, char **argv);
int fbc_cmd_render(int argc, char **argv);
int fbc_cmd_drivers(int argc, char **argv);
int fbc_cmd_drivers_test(int argc, char **argv);
int fbc_cmd_apply(int argc, char **argv);
int fbc_cmd_status(int argc, char **argv);
int fbc_cmd_destroy(int argc, char **argv);
int fbc_cmd_discover(int argc, char **argv);
int fbc_cmd_catalog(int argc, char **argv);
int fbc_cmd_solve(int argc, char **argv);
int fbc_cmd_plan(int argc, char **argv);
int fbc_cmd_simulate(int argc, char **argv);
int fbc_cmd_report(int argc, char **argv);
int fbc_cmd_quantum(int argc, char **argv);
int fbc_cmd_results(int argc, char **argv);
int fbc_cmd_plans(int argc, char **argv);
int fbc_cmd_endpoints(int argc, char **argv);
int fbc_cmd_resolve(int argc, char **argv);
int fbc_cmd_health(int argc, char **argv);
int fbc_cmd_serve(int argc, char **argv);
int fbc_cmd_token(int argc, char **argv);
int fbc_cmd_audit(int argc, char **argv);
int fbc_cmd_identity(int argc, char **argv);
int fbc_cmd_secret(int argc, char **argv);
/* Loads the configuration's identity section (identity/identity.h) into
 * *cfg (fbi_identity_cfg_free); need_td: the trust domain is required.
 * 0 or FB_EXIT_INVALID (message printed, located in the file). */
struct fbi_identity_cfg;
int fbc_identity_cfg(int need_td, struct fbi_identity_cfg *cfg);

#endif
