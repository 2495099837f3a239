/* planexec.h - from a plan to running workloads (docs/plan.md): the plan
 * document's apply section (state serial, sources, catalog hash, per
 * workload specHash, driver version, dependencies), the change set
 * against the deployed state, the dependency order, staleness checks, and
 * the execution of a change set. Internal to the fedbroker command; main
 * thread only (the executor fans out through the life cycle's lanes). */
#ifndef FB_CLI_PLANEXEC_H
#define FB_CLI_PLANEXEC_H

#include <jansson.h>
#include "cli/cli.h"
#include "plan/plan.h"

/* What a plan was computed from, recorded so apply can check it again. */
typedef struct fbc_plan_inputs {
    char **files;          /* the SPEC arguments (borrowed) */
    int nfiles;
    const char *catalog;   /* --catalog (borrowed, may be NULL) */
    const char *overrides; /* --overrides (borrowed, may be NULL) */
} fbc_plan_inputs;

/* ---- plandoc.c ---- */

/* Adds the apply section to plan (borrowed, modified): "state_serial",
 * "sources" (each SPEC file's absolute path and SHA-256), "catalog"
 * {"dir", "overrides" (the options', else the configuration's catalog
 * section's), "content_hash"}, "federations", and per workload
 * "specHash", "driver_version", "dependencies", "federation". store may
 * be NULL (no state yet: serial 0). Returns FB_EXIT_OK or an exit code
 * with the message printed. */
int fbc_plan_annotate(json_t *plan, fbi_broker *b, fb_spec_set *set, fb_store *store,
                      const fbc_plan_inputs *in);
/* Loads the plan ref names: a file, a stored plan's id, or "latest".
 * *plan new. FB_EXIT_OK, or FB_EXIT_INVALID with the message printed. */
int fbc_plan_load(const char *verb, const char *ref, fb_store *store, json_t **plan);
/* Checks that plan (borrowed) still describes the world: the state serial,
 * every source file's hash and every workload's specHash (set: the specs
 * reloaded from the plan's sources), the catalog's content hash.
 * FB_EXIT_OK, or FB_EXIT_INVALID with a message saying what moved and to
 * plan again. */
int fbc_plan_check_fresh(const json_t *plan, fb_spec_set *set, fb_store *store);

/* ---- changes.c ---- */

/* The order workloads are applied in: each after the workloads it depends
 * on (spec.dependencies, same tenant). *levels (new) maps "tenant/name" to
 * its level (0: depends on nothing in the set). A cycle or a dependency
 * that is neither in the set nor deployed is refused: FB_EXIT_INVALID
 * with a message that names the cycle or the dependency and what to do. */
int fbc_dependency_levels(fb_spec_set *set, fb_store *store, json_t **levels);
/* The change set of plan (borrowed, annotated) against the deployed state:
 * sets plan's "changes" (create, update, move, delete, no-op; each with
 * tenant, workload, kind, level, provider/service/region or "from", the
 * fields that differ, the reason) and "change_summary". rerun: a
 * QuantumJob in place is run again (update) instead of no-op. b (NULL:
 * no refresh): the deployments left alone are observed (read-only) first,
 * and one that drifted or is missing at the provider becomes an update
 * with the drifted fields. */
int fbc_plan_changes(json_t *plan, fb_spec_set *set, fb_store *store, fbi_broker *b, int rerun);
/* Prints the change set like Terraform (+ create, ~ update, -/+ move,
 * - delete) and the summary line ("Plan: 3 to create, ..."). */
void fbc_print_changes(const json_t *plan, FILE *out);
/* 1 when the change set holds anything but no-op (deletes count only with
 * prune). */
int fbc_plan_has_changes(const json_t *plan, int prune);

/* ---- execute.c ---- */

typedef struct fbc_exec_opts {
    int prune;            /* act on delete */
    unsigned parallelism; /* lanes (0: configured default) */
    int json;             /* print the outcome as JSON on stdout */
    const char *par_text; /* --parallelism as given (recovery) */
} fbc_exec_opts;

/* Executes plan's change set (plan borrowed, annotated, changes computed
 * against the current state) with the state lock held: bumps the state
 * serial, applies each level's creates, updates and moves in parallel
 * after the levels they depend on (endpoints of dependencies injected into
 * env), destroys moved-away placements after the new one is observed,
 * then (prune) deletes in reverse order. Progress on stderr; the outcome
 * on stdout. Returns the exit code: 0, 1 (a workload failed or was
 * skipped), 2 (invalid input). */
int fbc_plan_execute(fbi_broker *b, fb_store *store, fbi_lock *lock, fb_spec_set *set,
                     json_t *plan, const fbc_exec_opts *o);

/* apply --dry-run without --target: the exact requests (JSON array on
 * stdout) of every create, update and move of plan's change set, with the
 * endpoints of dependencies not deployed yet as placeholder URLs
 * (https://endpoint-of-NAME.known-after-apply.invalid). Sends and stores
 * nothing. Returns the exit code. */
int fbc_plan_dry_run(fbi_broker *b, fb_store *store, fb_spec_set *set, json_t *plan,
                     unsigned parallelism);

/* 1 when fbc_inject_endpoints(doc, deps, urls) would change doc (or
 * refuse it): an env value names ${endpoints.*}, or a dependency in deps
 * has a URL in urls. All borrowed. */
int fbc_endpoints_wanted(const json_t *doc, const json_t *deps, const json_t *urls);
/* Fills ${endpoints.NAME.url} in the env values of doc (borrowed,
 * modified) and adds FEDBROKER_ENDPOINT_<NAME> for each name of deps
 * (array of workload names) found in urls ({name: url}); rehashes doc
 * when it changed it (its specHash is otherwise already right).
 * 0, or -1 with *err (new) naming an endpoint that is not known. */
int fbc_inject_endpoints(json_t *doc, const json_t *deps, const json_t *urls, char **err);

/* The hybrid workloads of a plan (plan_hybrid.c, docs/simulation.md):
 * compare holds, for each Container of the set with burst or
 * placement.strategy hybrid|auto, its parts' offers and the five
 * strategies side by side; splits the ones plan places as two parts. */
typedef struct fbc_hybrid {
    json_t *compare;              /* array (new), or NULL when there is none */
    struct fbi_hybrid_split *splits;
    fbi_plan_split *ps;           /* what po->splits points to */
    size_t *at, *cmp;             /* per split: its index in the set, in compare */
    size_t n;
    double hours;
} fbc_hybrid;
/* Simulates each hybrid workload of set before the plan runs and points
 * po->splits at the ones to place as two parts. Returns an exit code
 * (problems printed); h is filled also on failure (fbc_hybrid_free). */
int fbc_hybrid_prepare(fbc_hybrid *h, fbi_broker *b, fb_spec_set *set, fbi_plan_opts *po);
/* Puts the parts apply deploys (fbi_hybrid_split) into set in place of
 * each split workload: the container part at its place, the function part
 * appended. The plan itself runs on the set as given (po->splits). */
void fbc_hybrid_deploy_set(const fbc_hybrid *h, fb_spec_set *set);
/* The pair the solver chose in plan (borrowed) for each split: where it
 * is not the pair the quantities were simulated at, the split is
 * simulated again at the chosen pair (po->splits updated). Returns how
 * many splits changed (0: plan stands), or -1 with the problem printed
 * and *rc set. */
int fbc_hybrid_refit(fbc_hybrid *h, fbi_broker *b, fb_spec_set *set, fbi_plan_opts *po,
                     const json_t *plan, int *rc);
/* Moves h's comparison into plan as "hybrid". */
void fbc_hybrid_attach(fbc_hybrid *h, json_t *plan);
void fbc_hybrid_free(fbc_hybrid *h);
/* Prints plan's "hybrid" section (nothing when there is none). */
void fbc_print_hybrid(const json_t *plan, FILE *out);

#endif
