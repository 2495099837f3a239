/* recover.c - closing the journal rows an interrupted run left in
 * `intent` (issue 9, item 4).
 *
 * Every provider call that may change something is preceded by an intent
 * row, closed when the call's outcome is stored. A run killed in between
 * leaves the row open. The next apply or destroy (holding the state lock,
 * so the writer of those rows is gone) closes them: a row about a
 * deployment it works on itself is closed by that work (broker.c,
 * supersede); every other row is resolved here by asking the provider,
 * through the driver's observe with the deployment's spec, whether the
 * deployment exists. A row that cannot be resolved yet stays open, and
 * `fedbroker status` shows it. */
#include "config.h"
#include "broker/broker.h"
#include "base/util.h"
#include "state/lock.h"
#include "state/state.h"

#include <stdlib.h>
#include <string.h>

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* The region an intent row is about: an apply's placement, a destroy's
 * "region" (NULL for rows written before destroy named it). */
static const char *intent_region(const json_t *row)
{
    const json_t *detail = json_object_get(row, "detail");
    const char *r = jstr(json_object_get(detail, "placement"), "region");
    return r ? r : jstr(detail, "region");
}

static int same(const char *a, const char *b)
{
    return a && b && !strcmp(a, b);
}

/* Whether the deployment (tenant, workload, provider, region) is one of
 * the items this run works on. A NULL region matches any. */
static int handled(const fbi_deploy_item *items, size_t n, const char *tenant,
                   const char *workload, const char *provider, const char *region)
{
    for (size_t i = 0; i < n; i++) {
        const json_t *where = items[i].placement ? items[i].placement : items[i].deployment;
        const json_t *md = json_object_get(items[i].workload, "metadata");
        const char *t = items[i].deployment ? jstr(items[i].deployment, "tenant")
                                            : jstr(md, "tenant") ? jstr(md, "tenant") : "default";
        const char *w = items[i].deployment ? jstr(items[i].deployment, "workload") : jstr(md, "name");
        if (same(t, tenant) && same(w, workload) && same(jstr(where, "provider"), provider) &&
            (!region || same(jstr(where, "region"), region)))
            return 1;
    }
    return 0;
}

/* The stored deployment a row is about (borrowed from deps), or NULL. */
static json_t *deployment_of(json_t *deps, const char *tenant, const char *workload,
                             const char *provider, const char *region)
{
    size_t i;
    json_t *d;
    json_array_foreach(deps, i, d) {
        if (same(jstr(d, "tenant"), tenant) && same(jstr(d, "workload"), workload) &&
            same(jstr(d, "provider"), provider) && (!region || same(jstr(d, "region"), region)))
            return d;
    }
    return NULL;
}

/* Closes row id with resolution {outcome, reason} and says so in diag. */
static void resolve(fb_store *store, const json_t *row, const char *phase, const char *outcome,
                    const char *reason, fb_diag *diag)
{
    long long id = (long long)json_integer_value(json_object_get(row, "id"));
    json_t *r = json_pack("{s:s,s:s}", "outcome", outcome, "reason", reason);
    char *text = fbi_json_canonical(r);
    json_decref(r);
    fb_diag *d = fb_diag_new();
    fb_status st = fbi_store_journal_resolve(store, id, phase, text, d);
    free(text);
    char *m = fbi_xasprintf("journal row %lld (%s %s/%s on %s%s%s, interrupted): %s%s", id,
                            jstr(row, "op"), jstr(row, "tenant"), jstr(row, "workload"),
                            jstr(row, "provider"), intent_region(row) ? ":" : "",
                            intent_region(row) ? intent_region(row) : "",
                            st == FB_OK ? outcome : "could not be closed",
                            st == FB_OK ? "" : " (see the store's message)");
    fb_diag_add(diag, st == FB_OK ? FB_SEV_NOTE : FB_SEV_WARNING, NULL, 0, 0, NULL, m,
                st == FB_OK ? reason : NULL);
    free(m);
    fb_diag_move(diag, d);
    fb_diag_free(d);
}

/* The spec of a stored deployment (new), or NULL: the one it was applied
 * from, else the workload's last applied spec. */
static json_t *spec_of(fb_store *store, const json_t *dep)
{
    const char *t = jstr(dep, "tenant"), *w = jstr(dep, "workload");
    char *text = NULL;
    fb_diag *d = fb_diag_new();
    if (fbi_store_get_deployment_spec(store, t, w, jstr(dep, "provider"), jstr(dep, "region"),
                                      &text, d) != FB_OK)
        fb_store_get_workload(store, t, w, &text, d);
    fb_diag_free(d);
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    return j;
}

/* Resolves one row whose deployment the provider was asked about (it:
 * the observe's outcome). */
static void resolve_observed(fb_store *store, const json_t *row, const fbi_deploy_item *it,
                             int64_t settle_until_ms, fb_diag *diag)
{
    const json_t *dep = it->deployment;
    const char *op = jstr(row, "op"), *provider = jstr(row, "provider");
    const char *phase = jstr(dep, "phase");
    long long id = (long long)json_integer_value(json_object_get(row, "id"));
    if (it->status != FB_OK) {
        char *m = fbi_xasprintf("journal row %lld (%s %s/%s on %s) stays unresolved: %s could "
                                "not say whether the deployment exists", id, op,
                                jstr(row, "tenant"), jstr(row, "workload"), provider, provider);
        fb_diag_add(diag, FB_SEV_WARNING, NULL, 0, 0, NULL, m,
                    fb_diag_count(it->diag) ? fb_diag_summary(it->diag, 0) : NULL);
        free(m);
        return;
    }
    const char *status = jstr(it->output, "status");
    int exists = !(status && !strcmp(status, "missing"));
    char *reason = NULL;
    if (exists && !strcmp(op, "destroy")) {
        reason = fbi_xasprintf("interrupted before %s deleted it; the deployment stays in the "
                               "store (state %s): run destroy again", provider, phase);
        resolve(store, row, "failed", "failed", reason, diag);
    } else if (exists) {
        fb_diag *d = fb_diag_new();
        if (phase && !strcmp(phase, "creating"))
            fbi_store_set_deployment_phase(store, jstr(dep, "tenant"), jstr(dep, "workload"),
                                           provider, jstr(dep, "region"), "failed", d);
        fb_diag_free(d);
        reason = fbi_xasprintf("interrupted before its outcome was stored; %s has the deployment "
                               "and the store keeps it (state %s), so status shows it and "
                               "destroy deletes it: apply it again to finish it", provider,
                               phase && !strcmp(phase, "creating") ? "failed" : phase);
        resolve(store, row, "failed", "adopted", reason, diag);
    } else if (!strcmp(op, "destroy")) {
        fb_diag *d = fb_diag_new();
        fb_store_delete_deployment(store, jstr(dep, "tenant"), jstr(dep, "workload"), provider,
                                   jstr(dep, "region"), d);
        fb_diag_free(d);
        reason = fbi_xasprintf("interrupted before its outcome was stored; %s no longer has the "
                               "deployment, so it is removed from the store", provider);
        resolve(store, row, "done", "deleted", reason, diag);
    } else if (fbi_wall_ms() < settle_until_ms) {
        char until[21];
        fbi_format_rfc3339(settle_until_ms / 1000, until);
        char *m = fbi_xasprintf("journal row %lld (%s %s/%s on %s) stays unresolved until %s: "
                                "%s has nothing yet, but the interrupted run's requests may "
                                "still land until then", id, op, jstr(row, "tenant"),
                                jstr(row, "workload"), provider, until, provider);
        fb_diag_add(diag, FB_SEV_NOTE, NULL, 0, 0, NULL, m,
                    "the next apply or destroy after that time resolves it");
        free(m);
    } else if (phase && (!strcmp(phase, "creating") || !strcmp(phase, "failed"))) {
        fb_diag *d = fb_diag_new();
        fb_store_delete_deployment(store, jstr(dep, "tenant"), jstr(dep, "workload"), provider,
                                   jstr(dep, "region"), d);
        fb_diag_free(d);
        reason = fbi_xasprintf("interrupted; %s has nothing by the deployment's name, so nothing "
                               "was created and the deployment is removed from the store",
                               provider);
        resolve(store, row, "failed", "failed", reason, diag);
    } else {
        reason = fbi_xasprintf("interrupted; %s no longer has the deployment: status shows it "
                               "missing; apply it again to recreate it or destroy it to forget "
                               "it", provider);
        resolve(store, row, "failed", "failed", reason, diag);
    }
    free(reason);
}

fb_status fbi_recover(fbi_broker *b, fb_store *store, const fbi_deploy_item *items, size_t n,
                      int64_t settle_until_ms, unsigned parallelism, fb_diag *diag)
{
    char *text = NULL;
    if (fb_store_journal_open_intents(store, &text, diag) != FB_OK) return FB_INTERNAL;
    json_t *rows = json_loads(text, 0, NULL);
    free(text);
    text = NULL;
    if (json_array_size(rows) == 0) {
        json_decref(rows);
        return FB_OK;
    }
    json_t *deps = NULL;
    if (fb_store_list_deployments(store, NULL, NULL, &text, diag) == FB_OK)
        deps = json_loads(text, 0, NULL);
    free(text);
    size_t nrows = json_array_size(rows), m = 0;
    fbi_deploy_item *ask = fbi_xcalloc(nrows, sizeof *ask);
    json_t **asked = fbi_xcalloc(nrows, sizeof *asked); /* the row of each ask[] */
    size_t k;
    json_t *row;
    json_array_foreach(rows, k, row) {
        const char *t = jstr(row, "tenant"), *w = jstr(row, "workload"), *p = jstr(row, "provider");
        const char *r = intent_region(row);
        if (handled(items, n, t, w, p, r)) continue; /* closed by this run's own work */
        json_t *dep = deployment_of(deps, t, w, p, r);
        if (!dep) {
            resolve(store, row, "failed", "failed", "interrupted; its deployment is no longer in "
                    "the store, so nothing is left to resolve", diag);
            continue;
        }
        ask[m].deployment = dep;
        ask[m].workload = spec_of(store, dep);
        asked[m++] = row;
    }
    if (m) {
        fbi_observe(b, ask, m, parallelism);
        for (size_t i = 0; i < m; i++)
            resolve_observed(store, asked[i], &ask[i], settle_until_ms, diag);
    }
    for (size_t i = 0; i < m; i++) json_decref(ask[i].workload);
    fbi_deploy_items_free(ask, m);
    free(asked);
    json_decref(deps);
    json_decref(rows);
    return FB_OK;
}
