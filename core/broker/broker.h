/* broker.h - what the verbs share: configuration, offers from the loaded
 * drivers, and the deploy life cycle (apply, observe, destroy, discover)
 * with journal, records and fan-out. Internal to core (prefix fbi_). */
#ifndef FB_BROKER_H
#define FB_BROKER_H

#include <jansson.h>
#include <stdint.h>
#include "fedbroker/fedbroker.h"

/* ---- configuration (config.c) ---- */
/* Where the configuration came from, to locate a JSON pointer in it. */
typedef struct fbi_config_src {
    char *file;    /* the file read; NULL for the built-in defaults */
    struct fbi_locmap *locs; /* pointer -> line:column map of the file (spec.h), a reference */
    char *prefix;  /* pointer of the document in locs */
} fbi_config_src;

/* The broker configuration as a JSON object (new reference): the file named
 * by FEDBROKER_CONFIG, else $FEDBROKER_HOME/config.json or config.yaml when
 * present, else {}. JSON or YAML, valid against
 * schemas/config.v1.schema.json (sections "drivers", "http", "quotas",
 * "catalog"). Refused, NULL with diagnostics (file:line:col, pointer), when
 * broken, invalid, or when the file or the state directory could be changed
 * by another user (base/trust.h). Also configures the HTTP service. *src
 * (may be NULL) is filled on success; release it with
 * fbi_config_src_free. */
json_t *fbi_config_load(fbi_config_src *src, fb_diag *diag);
void fbi_config_src_free(fbi_config_src *src);
/* Adds a diagnostic at pointer of the configuration, with file:line:col
 * when src knows them (src may be NULL). */
void fbi_config_diag(const fbi_config_src *src, fb_diag *diag, fb_severity sev,
                     const char *pointer, const char *summary, const char *detail);
/* Refuses the state directory (when it exists) if another user could
 * change it: FB_INVALID with a diagnostic that names the chmod/chown. */
fb_status fbi_home_check(fb_diag *diag);
/* Configures every loaded driver that cfg has settings for. A driver that
 * refuses its settings (FB_INVALID) is an error located in the file and
 * FB_INVALID is returned; settings for a driver that is not loaded are a
 * warning with the nearest loaded name. Main thread only. */
fb_status fbi_config_configure_drivers(fb_registry *reg, const json_t *cfg,
                                       const fbi_config_src *src, fb_diag *diag);
/* The embedded configuration schema text (static). */
const char *fbi_config_schema_text(void);

/* ---- drivers and offers ---- */
typedef struct fbi_broker {
    fb_registry *reg;
    json_t *config;  /* owned */
    fbi_config_src config_src; /* owned: where config came from */
    json_t *offers;  /* owned, lazily collected: array of offers + "provider" */
} fbi_broker;

/* Loads the configuration and the drivers, and configures every driver
 * the configuration has settings for. Refused drivers are warnings
 * (printed by the caller); a broken or untrusted configuration, or a
 * driver setting its driver refuses, is an error (FB_INVALID). */
fb_status fbi_broker_open(fbi_broker *b, fb_diag *diag);
void fbi_broker_close(fbi_broker *b);
/* borrowed: every offer of every driver, each with "provider" added. A
 * driver whose configure or offers fails is skipped with a warning. */
json_t *fbi_broker_offers(fbi_broker *b, fb_diag *diag);
/* Picks the first offer for kind on provider (region and service optional).
 * Returns a new placement object {provider, service, region, kind, offer}
 * or NULL with an error that lists what the driver does offer. */
json_t *fbi_broker_placement(fbi_broker *b, const char *kind, const char *provider,
                             const char *region, const char *service,
                             fb_diag *diag);
/* Parses "provider[:region]". 0 or -1 (message in diag). */
int fbi_parse_target(const char *target, char **provider, char **region, fb_diag *diag);

/* ---- the life cycle ---- */
typedef struct fbi_deploy_item {
    json_t *workload;   /* borrowed normal form */
    /* borrowed, may be NULL: fbi_spec_text(workload), when the spec set
     * already made it (fbi_spec_text_made); apply then sends and stores
     * it instead of writing the workload again in its lane */
    const char *spec_text;
    /* borrowed, may be NULL: fbi_json_canonical(placement), made once by
     * a caller whose items share the placement (apply sends and journals
     * it with every workload) */
    const char *placement_text;
    json_t *placement;  /* borrowed */
    json_t *deployment; /* borrowed: the stored deployment, or NULL */
    /* results */
    fb_status status;
    json_t *output;     /* new: the verb's output */
    json_t *requests;   /* new: dry-run requests (apply --dry-run) */
    fb_diag *diag;      /* new: this item's diagnostics */
    /* apply: the federation the deployment belongs to (borrowed, may be
     * NULL), stored with the journal intent so `destroy --federation`
     * finds even a deployment whose apply was interrupted */
    const char *federation;
    /* apply: who calls this workload, {"callers": [{"name", "spiffeId"?,
     * "provider", "region"}], "considered": [names]} (new, or NULL):
     * merged into the input's "identity" so a driver can grant each caller
     * exactly the right to call it and withdraw the grants of the
     * considered workloads that no longer call it (docs/identity.md, least
     * privilege); freed with the item */
    json_t *peers;
    double elapsed_ms;  /* result: wall time of the item's verb */
} fbi_deploy_item;

/* The callers of a workload ([{"name", "provider", "region"}, ...],
 * borrowed; other members ignored) as canonical JSON text (new): sorted,
 * each named once. What apply stores with a deployment's outcome and what
 * the plan compares with the callers it sees (docs/identity.md). */
char *fbi_callers_canonical(const json_t *callers);

/* Applies each item (concurrently, at most `parallelism` at a time; 0 =
 * configured default). Outside a dry run: the journal intent row and every
 * record are in the store before the item's next request that may change
 * anything, the deployment and the workload are stored after success, the
 * journal row is closed either way, and all of it is written (failures
 * folded into each item's status and diagnostics) before this returns.
 * store may be NULL only for a dry run. */
fb_status fbi_apply(fbi_broker *b, fb_store *store, fbi_deploy_item *items, size_t n,
                    int dry_run, unsigned parallelism);
/* Observes each stored deployment (read-only; never touches the store). */
fb_status fbi_observe(fbi_broker *b, fbi_deploy_item *items, size_t n, unsigned parallelism);
/* Destroys each deployment (its journal intent stored before the delete)
 * and removes it from the store once gone. A deployment with no recorded
 * cloud id and no state (an interrupted first apply) is looked up by the
 * name its spec (item.workload) gives it: adopted and deleted when the
 * provider has it, forgotten only when the provider says it does not
 * exist at or after settle_until_ms (real-clock Unix ms; fbi_lock's window
 * in which a dead run's requests may still land; 0: none). */
fb_status fbi_destroy(fbi_broker *b, fb_store *store, fbi_deploy_item *items, size_t n,
                      unsigned parallelism, int64_t settle_until_ms);
void fbi_deploy_items_free(fbi_deploy_item *items, size_t n);

/* Closes the journal rows interrupted runs left in `intent` (recover.c),
 * except those about a deployment among items (this run's own work closes
 * them): each is resolved by observing its deployment by name (adopted
 * when the provider has it; deleted or failed, with the deployment row
 * removed, when it does not, at or after settle_until_ms). A row that
 * cannot be resolved stays open, with a warning. Notes in diag say what
 * was done. Call with the state lock held; main thread. */
fb_status fbi_recover(fbi_broker *b, fb_store *store, const fbi_deploy_item *items, size_t n,
                      int64_t settle_until_ms, unsigned parallelism, fb_diag *diag);

#endif
