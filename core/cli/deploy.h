/* deploy.h - what the life-cycle verbs (apply, status, destroy, discover)
 * share: stored deployments as items, journal rows left open, exit codes.
 * Internal to the fedbroker command. */
#ifndef FB_CLI_DEPLOY_H
#define FB_CLI_DEPLOY_H

#include <jansson.h>
#include "cli/cli.h"

/* Exit code for a batch: invalid input beats provider failures. */
int fbc_batch_exit(const fbi_deploy_item *items, size_t n);
/* borrowed: dep's string member k, "" when absent. */
const char *fbc_dep_str(json_t *dep, const char *k);
/* --parallelism's value (NULL or not a number: 0, the configured default). */
unsigned fbc_parse_parallelism(const char *s);
/* Closes the journal rows interrupted runs left open (those about items
 * are closed by the items' own work) and prints what it did. */
void fbc_recover(fbi_broker *b, fb_store *store, const fbi_deploy_item *items, size_t n,
                 const fbi_lock *lock, const char *par);
/* Loads the stored deployments matching the filters, each with its stored
 * workload, into items (new). */
int fbc_stored_items(fb_store *store, const char *tenant, const char **names,
                     json_t **deps_out, fbi_deploy_item **items_out, json_t ***wls_out,
                     size_t *n_out);
/* The journal rows left in `intent` that match the filters (new array),
 * each with "state": "in progress" when the live holder of the state lock
 * (borrowed, NULL: none) may still be working on it (it began after the
 * holder took the lock), else "interrupted". *interrupted counts the
 * latter. */
json_t *fbc_unresolved_rows(fb_store *store, const char *tenant, const char **names,
                            json_t *holder, int *interrupted);
/* Moves the rows of unresolved (borrowed) about dep into a new array. */
json_t *fbc_unresolved_of(json_t *unresolved, json_t *dep);
/* Bumps the state serial (every apply and destroy does, with the state
 * lock held, before changing anything): plans computed before are stale.
 * FB_EXIT_OK or FB_EXIT_FAILURE with the message printed. */
int fbc_bump_serial(fb_store *store, const char *verb);
/* Releases what fbc_stored_items made. */
void fbc_free_stored(json_t *deps, fbi_deploy_item *items, json_t **wls, size_t n);

#endif
