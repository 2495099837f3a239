/*
 * fedbroker/fedbroker.h - the public API of libfedbroker (prefix fb_).
 *
 * Ownership is written on every function: "new" means the caller frees it
 * with the matching _free; "borrowed" means it lives as long as its owner.
 */
#ifndef FEDBROKER_FEDBROKER_H
#define FEDBROKER_FEDBROKER_H

#include <stdio.h>
#include "fedbroker/driver.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Exit codes of the fedbroker command (documented in fedbroker(1)). */
enum {
    FB_EXIT_OK = 0,
    FB_EXIT_FAILURE = 1,  /* an operation failed (provider error, I/O) */
    FB_EXIT_INVALID = 2,  /* invalid input: spec, catalog, flags */
    FB_EXIT_INFEASIBLE = 3, /* no placement satisfies the constraints */
    FB_EXIT_DRIFT = 4,    /* status found drift or missing resources */
    FB_EXIT_LOCKED = 5,   /* another fedbroker holds the state lock (--lock-timeout) */
    FB_EXIT_USAGE = 64    /* unknown verb or option */
};

/* ---- diagnostics ---------------------------------------------------------- */

/* new: an empty diagnostics list (also the per-call context of drivers). */
fb_diag *fb_diag_new(void);
void fb_diag_free(fb_diag *d);
/* Adds a diagnostic; all strings are copied. file/line/column may be
 * NULL/0. */
void fb_diag_add(fb_diag *d, fb_severity sev, const char *file, int line,
                 int column, const char *pointer, const char *summary,
                 const char *detail);
size_t fb_diag_count(const fb_diag *d);
size_t fb_diag_errors(const fb_diag *d);
/* Moves every diagnostic of src to the end of dst; src is left empty. */
void fb_diag_move(fb_diag *dst, fb_diag *src);
/* Item access (borrowed strings; NULL when absent). */
fb_severity fb_diag_severity(const fb_diag *d, size_t i);
const char *fb_diag_summary(const fb_diag *d, size_t i);
const char *fb_diag_detail(const fb_diag *d, size_t i);
const char *fb_diag_pointer(const fb_diag *d, size_t i);
const char *fb_diag_file(const fb_diag *d, size_t i);
int fb_diag_line(const fb_diag *d, size_t i);
int fb_diag_column(const fb_diag *d, size_t i);
/* Prints as "file:line:col: error: summary (at /pointer)\n  detail". */
void fb_diag_print(const fb_diag *d, FILE *out);
/* new: the list as a JSON array text (free()). */
char *fb_diag_to_json(const fb_diag *d);


/* ---- host services -------------------------------------------------------- */

/* borrowed: the host table handed to drivers (static, process-wide). */
const fb_host *fb_host_table(void);

/* ---- driver registry ------------------------------------------------------ */

typedef struct fb_registry fb_registry;

/* Loads every *.so in the driver directories: FEDBROKER_DRIVER_PATH
 * (colon-separated directories) or the installed driver directory when
 * path is NULL; otherwise the directories in path. A driver that breaks a
 * rule is refused with an error diagnostic naming the file, and the others
 * still load. Returns FB_OK (even when some were refused) or FB_INVALID when
 * a directory cannot be read. *out is new (fb_registry_free).
 * Threads: several registries may be opened, loaded into and freed on
 * different threads at once (loading and unloading drivers are serialised
 * process-wide, fb_registry_load_file too). */
fb_status fb_registry_open(const char *path, fb_registry **out, fb_diag *diag);
void fb_registry_free(fb_registry *r);
/* new: an empty registry (drivers are added with fb_registry_load_file). */
fb_registry *fb_registry_new(void);
/* Loads one file (the conformance kit uses this). host may be NULL for the
 * default host. *drv is borrowed from the registry. */
fb_status fb_registry_load_file(fb_registry *r, const char *file,
                                const fb_host *host, const fb_driver **drv,
                                fb_diag *diag);
size_t fb_registry_count(const fb_registry *r);
/* borrowed */
const fb_driver *fb_registry_get(const fb_registry *r, size_t i);
const char *fb_registry_file(const fb_registry *r, size_t i);
const fb_driver *fb_registry_find(const fb_registry *r, const char *name);
/* The driver's context after configure (configured on first use with the
 * settings from the broker configuration). borrowed. */
fb_status fb_registry_context(fb_registry *r, const char *name,
                              const fb_driver **drv, fb_driver_ctx **ctx,
                              fb_diag *diag);
/* Sets the configuration JSON text (object of driver name -> settings) used
 * by fb_registry_context; copied. */
void fb_registry_set_config(fb_registry *r, const char *config_json);
/* Names the capability bits as a comma-separated list into buf. */
void fb_caps_describe(uint64_t caps, char *buf, size_t n);
/* Checks caps against slots; returns 0 or -1 with the first problem (new). */
int fb_driver_check_caps(const fb_driver *d, char **why);

/* ---- conformance kit ------------------------------------------------------ */

/* Runs the driver conformance kit on one .so, printing one PASS/FAIL/SKIP
 * line per check to out. settings_json (borrowed, may be NULL) is passed to
 * configure as "settings". Returns the number of failed checks. */
int fb_conformance_run(const char *file, const char *settings_json, FILE *out);

/* ---- state store (SQLite) ------------------------------------------------- */

typedef struct fb_store fb_store;

/* The state directory: $FEDBROKER_HOME, else $XDG_STATE_HOME/fedbroker, else
 * ~/.local/state/fedbroker. new (free()). */
char *fb_state_dir(void);
/* Opens (creating and migrating) the store at path, or at
 * fb_state_dir()/state.db when path is NULL. *out new (fb_store_close). */
fb_status fb_store_open(const char *path, fb_store **out, fb_diag *diag);
void fb_store_close(fb_store *s);
/* The schema version the store is at. */
int fb_store_schema_version(fb_store *s);
/* Transactions (nestable through a depth counter; only the outermost
 * commits). */
fb_status fb_store_begin(fb_store *s, fb_diag *diag);
fb_status fb_store_commit(fb_store *s, fb_diag *diag);
void fb_store_rollback(fb_store *s);

/* Inserts or updates a workload's normalised spec (JSON text, borrowed). */
fb_status fb_store_put_workload(fb_store *s, const char *tenant, const char *name,
                                const char *kind, const char *spec_json,
                                const char *spec_hash, fb_diag *diag);
/* new JSON text (free()) or NULL with FB_NOTFOUND. */
fb_status fb_store_get_workload(fb_store *s, const char *tenant, const char *name,
                                char **spec_json, fb_diag *diag);
/* Saves a plan; *id receives its row id. */
fb_status fb_store_put_plan(fb_store *s, const char *plan_json, long long total_micro_usd,
                            long long *id, fb_diag *diag);
/* new JSON text of the latest plan, FB_NOTFOUND when none. */
fb_status fb_store_latest_plan(fb_store *s, char **plan_json, long long *id, fb_diag *diag);

/* Journal: an intent row before a provider call, closed with its outcome. */
fb_status fb_store_journal_begin(fb_store *s, const char *op, const char *tenant,
                                 const char *workload, const char *provider,
                                 const char *detail_json, long long *id, fb_diag *diag);
fb_status fb_store_journal_end(fb_store *s, long long id, const char *phase,
                               const char *detail_json, fb_diag *diag);
/* Journal rows still in the intent phase (crash recovery): JSON array, new. */
fb_status fb_store_journal_open_intents(fb_store *s, char **json, fb_diag *diag);

/* Deployments: one per workload placement (tenant, workload, provider,
 * region). state_json borrowed. */
fb_status fb_store_put_deployment(fb_store *s, const char *tenant, const char *workload,
                                  const char *provider, const char *service,
                                  const char *region, const char *state,
                                  const char *state_json, fb_diag *diag);
/* Records one cloud-side resource of a deployment right after it is created. */
fb_status fb_store_put_resource(fb_store *s, const char *tenant, const char *workload,
                                const char *provider, const char *resource_json,
                                fb_diag *diag);
/* JSON array of deployments (with their resources), new. Filters may be NULL. */
fb_status fb_store_list_deployments(fb_store *s, const char *tenant, const char *workload,
                                    char **json, fb_diag *diag);
fb_status fb_store_delete_deployment(fb_store *s, const char *tenant, const char *workload,
                                     const char *provider, const char *region, fb_diag *diag);
/* Generic key/value rows for results (e.g. quantum counts) per workload. */
fb_status fb_store_put_result(fb_store *s, const char *tenant, const char *workload,
                              const char *kind, const char *result_json, fb_diag *diag);
fb_status fb_store_list_results(fb_store *s, const char *tenant, const char *workload,
                                char **json, fb_diag *diag);
/* Appends an audit row (who did what); never holds secrets. */
fb_status fb_store_audit(fb_store *s, const char *actor, const char *action,
                         const char *detail_json, fb_diag *diag);


/* ---- portable specs (docs/spec.md) ---------------------------------------- */

/* A set of parsed, validated and normalised spec documents. Federations are
 * flattened: the set lists their workloads, and keeps the federations and
 * links aside. */
typedef struct fb_spec_set fb_spec_set;

/* *out is new (fb_spec_set_free). */
fb_status fb_spec_set_new(fb_spec_set **out);
void fb_spec_set_free(fb_spec_set *s);
/* Reads, parses (JSON or YAML by extension, else by content), validates and
 * normalises every document of a file ("-" = stdin); file references and
 * code paths are resolved against the file's directory (the current
 * directory for stdin). Adds every problem
 * to diag (file:line:col, JSON pointer) and returns FB_INVALID when there
 * was one; the valid documents of the file are still added. */
fb_status fb_spec_set_add_file(fb_spec_set *s, const char *path, fb_diag *diag);
/* The same for bytes in memory (borrowed). name labels diagnostics (its
 * extension picks the format); base_dir resolves file references, code and
 * program paths; with base_dir NULL every file reference is refused (use
 * this for specs from untrusted sources, e.g. over the API). */
fb_status fb_spec_set_add_buffer(fb_spec_set *s, const char *name,
                                 const char *data, size_t len,
                                 const char *base_dir, fb_diag *diag);
/* Cross-document checks once everything is added: names unique per tenant;
 * links, dependencies and affinity refer to existing workloads. */
fb_status fb_spec_set_finish(fb_spec_set *s, fb_diag *diag);
/* Number of workloads (Functions, Containers, QuantumJobs). */
size_t fb_spec_count(const fb_spec_set *s);
/* Workload i (NULL when out of range). All borrowed from the set:
 * the normal form as compact JSON with sorted keys, its kind, name, tenant,
 * specHash (64 hex) and the file it came from. fb_spec_json makes the text
 * on first use, so call it for one set from one thread at a time. */
const char *fb_spec_json(const fb_spec_set *s, size_t i);
const char *fb_spec_kind(const fb_spec_set *s, size_t i);
const char *fb_spec_name(const fb_spec_set *s, size_t i);
const char *fb_spec_tenant(const fb_spec_set *s, size_t i);
const char *fb_spec_hash(const fb_spec_set *s, size_t i);
const char *fb_spec_file(const fb_spec_set *s, size_t i);
/* borrowed JSON array text of every link, federation links and workload
 * dependencies folded together per (tenant, from, to):
 * [{from, to, tenant, volumeBytesPerMonth, latencyBudgetMs?}]. */
const char *fb_spec_links_json(const fb_spec_set *s);
/* borrowed JSON array text of the federations:
 * [{name, tenant, file, workloads: [names], budget: {monthlyMicroUsd, basis}?,
 *   specHash}]. */
const char *fb_spec_federations_json(const fb_spec_set *s);

#ifdef __cplusplus
}
#endif
#endif
