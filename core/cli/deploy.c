/* deploy.c - helpers the life-cycle verbs share (deploy.h). */
#include "config.h"
#include "cli/cli.h"
#include "cli/deploy.h"
#include "base/call.h"
#include "base/diag.h"
#include "spec/spec.h"
#include "base/util.h"
#include "state/lock.h"
#include "state/state.h"

#include <stdlib.h>
#include <string.h>

/* Exit code for a batch: invalid input beats provider failures. */
int fbc_batch_exit(const fbi_deploy_item *items, size_t n)
{
    int rc = FB_EXIT_OK;
    for (size_t i = 0; i < n; i++) {
        /* invalid input, including missing or refused credentials */
        if (items[i].status == FB_INVALID || items[i].status == FB_AUTH) return FB_EXIT_INVALID;
        if (items[i].status != FB_OK) rc = FB_EXIT_FAILURE;
    }
    return rc;
}

const char *fbc_dep_str(json_t *dep, const char *k)
{
    const char *s = json_string_value(json_object_get(dep, k));
    return s ? s : "";
}

unsigned fbc_parse_parallelism(const char *s)
{
    return s ? (unsigned)strtoul(s, NULL, 10) : 0;
}

/* Closes the journal rows interrupted runs left open (those about items
 * are closed by the items' own work) and prints what it did. */
void fbc_recover(fbi_broker *b, fb_store *store, const fbi_deploy_item *items, size_t n,
                 const fbi_lock *lock, const char *par)
{
    fb_diag *d = fb_diag_new();
    fbi_recover(b, store, items, n, fbi_lock_settle_until_ms(lock), fbc_parse_parallelism(par), d);
    fb_diag_print(d, stderr);
    fb_diag_free(d);
}

/* Loads the stored deployments matching the filters, each with its stored
 * workload, into items (new). */
int fbc_stored_items(fb_store *store, const char *tenant, const char **names,
                     json_t **deps_out, fbi_deploy_item **items_out, json_t ***wls_out,
                     size_t *n_out)
{
    fb_diag *d = fb_diag_new();
    char *dj = NULL;
    int rc = FB_EXIT_OK;
    if (fb_store_list_deployments(store, tenant, NULL, &dj, d) != FB_OK) {
        fb_diag_print(d, stderr);
        fb_diag_free(d);
        return FB_EXIT_FAILURE;
    }
    json_t *all = json_loads(dj, 0, NULL);
    free(dj);
    json_t *deps = json_array();
    size_t k;
    json_t *dep;
    json_array_foreach(all, k, dep) {
        const char *w = json_string_value(json_object_get(dep, "workload"));
        int keep = !names;
        for (size_t i = 0; names && names[i]; i++)
            if (!strcmp(names[i], w)) keep = 1;
        if (keep) json_array_append(deps, dep);
    }
    json_decref(all);
    size_t n = json_array_size(deps);
    fbi_deploy_item *items = fbi_xcalloc(n ? n : 1, sizeof *items);
    json_t **wls = fbi_xcalloc(n ? n : 1, sizeof *wls);
    json_array_foreach(deps, k, dep) {
        items[k].deployment = dep;
        items[k].diag = fb_diag_new();
        /* the spec it was (being) applied from; rows older than schema 2:
         * the workload's last applied spec */
        char *wt = NULL;
        const char *t = fbc_dep_str(dep, "tenant"), *w = fbc_dep_str(dep, "workload");
        fb_diag *sd = fb_diag_new();
        if (fbi_store_get_deployment_spec(store, t, w, fbc_dep_str(dep, "provider"),
                                          fbc_dep_str(dep, "region"), &wt, sd) == FB_OK ||
            fb_store_get_workload(store, t, w, &wt, sd) == FB_OK)
            wls[k] = json_loads(wt, 0, NULL);
        fb_diag_free(sd);
        free(wt);
        items[k].workload = wls[k];
    }
    fb_diag_free(d);
    *deps_out = deps;
    *items_out = items;
    *wls_out = wls;
    *n_out = n;
    return rc;
}

/* The journal rows left in `intent` that match the filters (new array),
 * each with "state": "in progress" when the live holder of the state lock
 * (borrowed, NULL: none) may still be working on it (it began after the
 * holder took the lock), else "interrupted". *interrupted counts the
 * latter. */
json_t *fbc_unresolved_rows(fb_store *store, const char *tenant, const char **names,
                            json_t *holder, int *interrupted)
{
    *interrupted = 0;
    char *text = NULL;
    fb_diag *d = fb_diag_new();
    json_t *rows = NULL;
    if (fb_store_journal_open_intents(store, &text, d) == FB_OK) rows = json_loads(text, 0, NULL);
    else fb_diag_print(d, stderr);
    free(text);
    fb_diag_free(d);
    const char *since = json_string_value(json_object_get(holder, "since"));
    json_t *out = json_array();
    size_t k;
    json_t *r;
    json_array_foreach(rows, k, r) {
        const char *w = fbc_dep_str(r, "workload");
        if (tenant && strcmp(tenant, fbc_dep_str(r, "tenant")) != 0) continue;
        int keep = !names;
        for (size_t i = 0; names && names[i]; i++)
            if (!strcmp(names[i], w)) keep = 1;
        if (!keep) continue;
        const char *started = fbc_dep_str(r, "started_at");
        int live = holder && (!since || strcmp(started, since) >= 0);
        json_t *detail = json_object_get(r, "detail");
        const char *region = json_string_value(
            json_object_get(json_object_get(detail, "placement"), "region"));
        if (!region) region = json_string_value(json_object_get(detail, "region"));
        json_t *o = json_pack("{s:O,s:O,s:O,s:O,s:O,s:s?,s:O,s:s}", "id", json_object_get(r, "id"),
                              "op", json_object_get(r, "op"), "tenant", json_object_get(r, "tenant"),
                              "workload", json_object_get(r, "workload"), "provider",
                              json_object_get(r, "provider"), "region", region, "started_at",
                              json_object_get(r, "started_at"), "state",
                              live ? "in progress" : "interrupted");
        if (live) json_object_set(o, "holder", holder);
        else (*interrupted)++;
        json_array_append_new(out, o);
    }
    json_decref(rows);
    return out;
}

/* Moves the rows of unresolved (borrowed) about dep into a new array. */
json_t *fbc_unresolved_of(json_t *unresolved, json_t *dep)
{
    json_t *mine = json_array();
    for (size_t k = 0; k < json_array_size(unresolved);) {
        json_t *u = json_array_get(unresolved, k);
        const char *region = json_string_value(json_object_get(u, "region"));
        if (!strcmp(fbc_dep_str(u, "tenant"), fbc_dep_str(dep, "tenant")) &&
            !strcmp(fbc_dep_str(u, "workload"), fbc_dep_str(dep, "workload")) &&
            !strcmp(fbc_dep_str(u, "provider"), fbc_dep_str(dep, "provider")) &&
            (!region || !strcmp(region, fbc_dep_str(dep, "region")))) {
            json_t *c = json_copy(u);
            json_object_del(c, "tenant");
            json_object_del(c, "workload");
            json_object_del(c, "provider");
            json_object_del(c, "region");
            json_array_append_new(mine, c);
            json_array_remove(unresolved, k);
        } else {
            k++;
        }
    }
    return mine;
}

void fbc_free_stored(json_t *deps, fbi_deploy_item *items, json_t **wls, size_t n)
{
    for (size_t i = 0; i < n; i++) json_decref(wls[i]);
    free(wls);
    fbi_deploy_items_free(items, n);
    json_decref(deps);
}


int fbc_bump_serial(fb_store *store, const char *verb)
{
    fb_diag *d = fb_diag_new();
    fb_status st = fbi_store_bump_serial(store, NULL, d);
    if (st != FB_OK) {
        fprintf(stderr, "fedbroker %s: cannot bump the state serial:\n", verb);
        fb_diag_print(d, stderr);
    }
    fb_diag_free(d);
    return st == FB_OK ? FB_EXIT_OK : FB_EXIT_FAILURE;
}
