/* execute.c - applying a plan's change set (docs/plan.md): level by level
 * in dependency order, each level's workloads in parallel through the life
 * cycle's lanes (fbi_apply: journal, records, writer), the endpoints of
 * dependencies filled into env first, moves create-before-destroy, deletes
 * (--prune) last in reverse order. One workload's failure skips only its
 * dependents. */
#include "config.h"
#include "cli/cli.h"
#include "cli/deploy.h"
#include "cli/planexec.h"
#include "base/diag.h"
#include "spec/spec.h"
#include "base/util.h"
#include "state/lock.h"
#include "state/state.h"
#include "discovery/discovery.h"

#include <stdlib.h>
#include <string.h>

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

typedef struct exec {
    fbi_broker *b;
    fb_store *store;
    fbi_lock *lock;
    fb_spec_set *set;
    const fbc_exec_opts *o;
    json_t *changes;  /* borrowed: the plan's */
    json_t *outcome;  /* new: "tenant/workload" -> "done" | "failed" | "skipped" | "unchanged" */
    json_t *results;  /* new: one object per change (the --format json outcome) */
    size_t total, seq;
    int invalid;      /* an invalid input or refused credentials: exit 2 */
    /* What prepare needs about the whole plan, made once instead of once
     * per workload (each was a scan of every change or every spec: 1,000
     * workloads took 3 G instructions on the main thread before the
     * fan-out, half of a plan apply's; bench/README-aws.md, perf4). New,
     * or NULL until first needed: */
    json_t *callers;    /* "tenant\x1fworkload" -> [{name, provider, region}] calling it */
    json_t *considered; /* tenant -> [the workload of each of its changes] */
    json_t *live;       /* "tenant\x1fworkload" -> its first change that is not a delete */
    json_t *urls;       /* tenant -> current_urls: valid until the store's endpoints change
                         * (run_level drops it before preparing a level) */
    json_t *placements; /* placement_key -> the placement, shared read-only by the items
                         * (a scan of every offer per workload was 3 % of a plan apply's
                         * instructions, on the main thread before the fan-out) */
    json_t *placement_texts; /* placement_key -> its canonical text (deploy item's
                              * placement_text, borrowed until the caches go) */
} exec;

static void exec_caches_free(exec *x)
{
    json_decref(x->callers);
    json_decref(x->considered);
    json_decref(x->live);
    json_decref(x->urls);
    json_decref(x->placements);
    json_decref(x->placement_texts);
    x->callers = x->considered = x->live = x->urls = x->placements = x->placement_texts = NULL;
}

/* The placement of a change (new reference), from x->placements or made
 * once for its kind, provider, region and service, with its canonical
 * text (*text, borrowed from x->placement_texts); NULL with the reason in
 * diag when there is no such offer (not kept: each item says it). */
static json_t *placement_of(exec *x, json_t *c, fb_diag *diag, const char **text)
{
    const char *parts[4] = {jstr(c, "kind"), jstr(c, "provider"), jstr(c, "region"),
                            jstr(c, "service")};
    fbi_buf k;
    fbi_buf_init(&k);
    for (int i = 0; i < 4; i++) {
        if (i) fbi_buf_putc(&k, '\x1f');
        /* an absent part ("\x1e") is not an empty one */
        fbi_buf_puts(&k, parts[i] ? parts[i] : "\x1e");
    }
    if (!x->placements) x->placements = json_object();
    if (!x->placement_texts) x->placement_texts = json_object();
    json_t *p = json_object_get(x->placements, k.data);
    if (p) {
        json_incref(p);
    } else {
        p = fbi_broker_placement(x->b, parts[0], parts[1], parts[2], parts[3], diag);
        if (p) {
            json_object_set(x->placements, k.data, p);
            char *t = fbi_json_canonical(p);
            if (t) json_object_set_new(x->placement_texts, k.data, json_string(t));
            free(t);
        }
    }
    *text = json_string_value(json_object_get(x->placement_texts, k.data));
    fbi_buf_free(&k);
    return p;
}

/* The stored deployments (new array), [] when the store cannot say. */
static json_t *deployments(fb_store *store)
{
    char *text = NULL;
    fb_diag *d = fb_diag_new();
    json_t *out = NULL;
    if (fb_store_list_deployments(store, NULL, NULL, &text, d) == FB_OK) out = json_loads(text, 0, NULL);
    else fb_diag_print(d, stderr);
    free(text);
    fb_diag_free(d);
    return out ? out : json_array();
}

static json_t *find_dep(json_t *deps, const char *tenant, const char *name, const char *provider,
                        const char *region)
{
    size_t k;
    json_t *dep;
    json_array_foreach(deps, k, dep)
        if (!strcmp(jstr(dep, "tenant"), tenant) && !strcmp(jstr(dep, "workload"), name) &&
            !strcmp(jstr(dep, "provider"), provider) && !strcmp(jstr(dep, "region"), region))
            return dep;
    return NULL;
}

/* The URLs of tenant's workloads where the plan puts them now: {name: url}
 * (new), from the endpoints table (this run records each as it goes). */
static json_t *current_urls(exec *x, const char *tenant)
{
    char *text = NULL;
    fb_diag *d = fb_diag_new();
    json_t *eps = NULL;
    if (fbi_store_list_endpoints(x->store, tenant, &text, d) == FB_OK) eps = json_loads(text, 0, NULL);
    free(text);
    fb_diag_free(d);
    json_t *urls = json_object();
    size_t k, e;
    json_t *c, *ep;
    json_array_foreach(x->changes, k, c) {
        if (!strcmp(jstr(c, "action"), "delete") || strcmp(jstr(c, "tenant"), tenant) != 0) continue;
        if (json_object_get(urls, jstr(c, "workload"))) continue; /* a replica's first */
        json_array_foreach(eps, e, ep)
            if (!strcmp(jstr(ep, "workload"), jstr(c, "workload")) &&
                !strcmp(jstr(ep, "provider"), jstr(c, "provider")) &&
                !strcmp(jstr(ep, "region"), jstr(c, "region")) && !strcmp(jstr(ep, "kind"), "url") &&
                !*jstr(ep, "instance")) /* the deployment's own, not a pod behind it */
                json_object_set_new(urls, jstr(c, "workload"), json_string(jstr(ep, "url")));
    }
    json_decref(eps);
    return urls;
}

static const char *where_str(const json_t *c, char *buf, size_t n)
{
    const json_t *at = strcmp(jstr(c, "action"), "delete") ? c : json_object_get(c, "from");
    snprintf(buf, n, "%s:%s:%s", jstr(at, "provider"), jstr(at, "service"), jstr(at, "region"));
    return buf;
}

/* The first error of d, for a progress line (borrowed text in a new string). */
static char *first_error(const fb_diag *d)
{
    json_t *j = fbi_diag_json(d);
    size_t k;
    json_t *e;
    char *out = NULL;
    json_array_foreach(j, k, e)
        if (!out && !strcmp(jstr(e, "severity"), "error")) out = fbi_xstrdup(jstr(e, "summary"));
    json_decref(j);
    return out ? out : fbi_xstrdup("see the messages above");
}

/* Records one change's outcome: progress line, results, outcome map. */
static void finish(exec *x, json_t *c, size_t seq, const char *status, double ms,
                   const char *reason, const char *endpoint)
{
    char wb[256];
    const char *act = jstr(c, "action");
    if (!strcmp(status, "done"))
        fprintf(stderr, "[%zu/%zu] %s/%s  %s  %s ... done %.1fs\n", seq, x->total, jstr(c, "tenant"),
                jstr(c, "name"), where_str(c, wb, sizeof wb), act, ms / 1000);
    else
        fprintf(stderr, "[%zu/%zu] %s/%s  %s  %s ... %s%s%s\n", seq, x->total, jstr(c, "tenant"),
                jstr(c, "name"), where_str(c, wb, sizeof wb), act,
                !strcmp(status, "failed") ? "FAILED" : status, reason ? ": " : "",
                reason ? reason : "");
    /* shallow: only r's own members change (the change's nested values,
     * shared with the plan, are printed, never edited; a deep copy of
     * each was 1 % of a plan apply, on the main thread after the fan-out) */
    json_t *r = json_copy(c);
    json_object_del(r, "dependencies");
    json_object_set_new(r, "status", json_string(status));
    json_object_set_new(r, "seconds", json_real((double)(long long)(ms / 100) / 10));
    if (reason) json_object_set_new(r, "outcome_reason", json_string(reason));
    if (endpoint) json_object_set_new(r, "endpoint", json_string(endpoint));
    json_array_append_new(x->results, r);
    char *key = fbi_xasprintf("%s/%s", jstr(c, "tenant"), jstr(c, "workload"));
    const char *was = jstr(x->outcome, key);
    /* a workload is as good as its worst replica */
    if (strcmp(was, "failed") && strcmp(was, "skipped"))
        json_object_set_new(x->outcome, key, json_string(status));
    free(key);
}

/* Items for stored deployments of tenant/name at provider:region (the
 * old placement of a move, a delete), loaded as destroy loads them. */
static int destroy_at(exec *x, const char *tenant, const char *name, const json_t *from,
                      char **why)
{
    const char *names[] = {name, NULL};
    json_t *deps;
    fbi_deploy_item *items;
    json_t **wls;
    size_t n;
    *why = NULL;
    if (fbc_stored_items(x->store, tenant, names, &deps, &items, &wls, &n) != FB_EXIT_OK) {
        *why = fbi_xstrdup("the store cannot list the deployment");
        return -1;
    }
    /* keep only the one at from: the others are this plan's */
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *dep = items[i].deployment;
        if (!strcmp(jstr(dep, "provider"), jstr(from, "provider")) &&
            !strcmp(jstr(dep, "region"), jstr(from, "region"))) {
            fbi_deploy_item tmp = items[m];
            items[m] = items[i];
            items[i] = tmp;
            json_t *tw = wls[m];
            wls[m] = wls[i];
            wls[i] = tw;
            m++;
        }
    }
    int rc = 0;
    if (m) {
        fbi_destroy(x->b, x->store, items, m, x->o->parallelism, fbi_lock_settle_until_ms(x->lock));
        for (size_t i = 0; i < m; i++) {
            json_t *dep = items[i].deployment;
            fbc_item_diag(name, items[i].diag);
            if (items[i].status != FB_OK) {
                if (!*why) *why = first_error(items[i].diag);
                rc = -1;
                continue;
            }
            fb_diag *d = fb_diag_new();
            fbi_store_delete_endpoint(x->store, tenant, name, jstr(dep, "provider"),
                                      jstr(dep, "region"), d);
            fb_diag_print(d, stderr);
            fb_diag_free(d);
        }
    }
    fbc_free_stored(deps, items, wls, n);
    return rc;
}

/* {"callers": [{"name", "provider", "region"}], "considered": [names],
 * "callees": [{"name", "provider", "region"}]}
 * (new): the placements of the tenant's workloads this plan keeps that
 * depend on workload (links folded in), for the identity bindings of least
 * privilege, and every workload of the tenant the plan speaks of (a grant
 * to a workload outside it is left alone: this plan does not know whether
 * it still calls). */
/* "tenant\x1fname": the key of the maps above (names are DNS labels). New. */
static char *tw_key(const char *tenant, const char *name)
{
    return fbi_xasprintf("%s\x1f%s", tenant, name);
}

/* Fills x->callers, x->considered and x->live from every change, in the plan's
 * order: a change (not a delete) calls each workload its dependencies
 * name, each caller listed once per (name, provider, region). */
static void index_callers(exec *x)
{
    x->callers = json_object();
    x->considered = json_object();
    x->live = json_object();
    size_t k, j;
    json_t *c, *dn;
    json_array_foreach(x->changes, k, c) {
        const char *tenant = jstr(c, "tenant");
        json_t *cons = json_object_get(x->considered, tenant);
        if (!cons) {
            cons = json_array();
            json_object_set_new(x->considered, tenant, cons);
        }
        json_array_append_new(cons, json_string(jstr(c, "workload")));
        if (!strcmp(jstr(c, "action"), "delete")) continue;
        char *lkey = tw_key(tenant, jstr(c, "workload"));
        if (!json_object_get(x->live, lkey)) json_object_set(x->live, lkey, c);
        free(lkey);
        json_array_foreach(json_object_get(c, "dependencies"), j, dn) {
            if (!json_string_value(dn)) continue;
            char *key = tw_key(tenant, json_string_value(dn));
            json_t *out = json_object_get(x->callers, key);
            if (!out) {
                out = json_array();
                json_object_set_new(x->callers, key, out);
            }
            free(key);
            int dup = 0;
            size_t i;
            json_t *o;
            json_array_foreach(out, i, o)
                dup |= !strcmp(jstr(o, "name"), jstr(c, "workload")) &&
                       !strcmp(jstr(o, "provider"), jstr(c, "provider")) &&
                       !strcmp(jstr(o, "region"), jstr(c, "region"));
            if (!dup)
                json_array_append_new(out, json_pack("{s:s,s:s,s:s}", "name", jstr(c, "workload"),
                                                     "provider", jstr(c, "provider"), "region",
                                                     jstr(c, "region")));
        }
    }
}

static json_t *callers_of(exec *x, const char *tenant, const char *workload)
{
    if (!x->callers) index_callers(x);
    char *key = tw_key(tenant, workload);
    json_t *out = json_deep_copy(json_object_get(x->callers, key));
    free(key);
    json_t *considered = json_object_get(x->considered, tenant);
    /* and the workloads this one depends on, with their placements: a
     * driver whose platform issues the workload its own tokens gives the
     * pods what they need to call each (docs/identity.md, "A caller's own
     * issuer") */
    json_t *callees = json_array();
    key = tw_key(tenant, workload);
    json_t *c = json_object_get(x->live, key);
    free(key);
    size_t j;
    json_t *dn;
    json_array_foreach(c ? json_object_get(c, "dependencies") : NULL, j, dn) {
        if (!json_string_value(dn)) continue;
        key = tw_key(tenant, json_string_value(dn));
        json_t *o = json_object_get(x->live, key);
        free(key);
        if (o)
            json_array_append_new(callees, json_pack("{s:s,s:s,s:s}", "name", jstr(o, "workload"), "provider",
                                                     jstr(o, "provider"), "region", jstr(o, "region")));
    }
    /* the considered list is shared by the tenant's items (read only, as
     * apply --target shares its own) */
    return json_pack("{s:o,s:o,s:o}", "callers", out ? out : json_array(), "considered",
                     considered ? json_incref(considered) : json_array(), "callees", callees);
}

/* current_urls(x, tenant) made once per tenant until x->urls is dropped.
 * Borrowed. */
static json_t *tenant_urls(exec *x, const char *tenant)
{
    if (!x->urls) x->urls = json_object();
    json_t *u = json_object_get(x->urls, tenant);
    if (!u) {
        u = current_urls(x, tenant);
        json_object_set_new(x->urls, tenant, u);
    }
    return u;
}

/* The index of the spec of tenant/name in x->set, or (size_t)-1. */
static size_t spec_of(exec *x, const char *tenant, const char *name)
{
    return fbi_spec_find(x->set, tenant, name);
}

/* Makes the deploy item of change c (create, update, move): its spec with
 * the endpoints of its dependencies filled in (it->workload, new), its
 * placement (new), the deployment an update works on (borrowed from
 * stored). dry_run: a dependency not deployed yet gets a URL
 * that says its address is known after apply. 0, or -1 with *why (new) and nothing
 * left in it. */
static int prepare(exec *x, json_t *c, json_t *stored, fbi_deploy_item *it, int dry_run,
                   char **why)
{
    *why = NULL;
    memset(it, 0, sizeof *it);
    size_t si = spec_of(x, jstr(c, "tenant"), jstr(c, "workload"));
    if (si == (size_t)-1) {
        *why = fbi_xstrdup("its spec is not among the files given");
        return -1;
    }
    json_t *spec_doc = fbi_spec_doc(x->set, si);
    json_t *urls = tenant_urls(x, jstr(c, "tenant"));
    /* the known-after-apply URLs are this workload's view only */
    urls = dry_run ? json_copy(urls) : json_incref(urls);
    if (dry_run) {
        /* every workload of the tenant the plan creates or moves */
        size_t k;
        json_t *o;
        json_array_foreach(x->changes, k, o)
            if (!strcmp(jstr(o, "tenant"), jstr(c, "tenant")) && strcmp(jstr(o, "action"), "delete") &&
                !json_object_get(urls, jstr(o, "workload")))
                json_object_set_new(urls, jstr(o, "workload"),
                                    json_sprintf("https://endpoint-of-%s.known-after-apply.invalid",
                                                 jstr(o, "workload")));
    }
    /* A copy only for a workload the endpoints change: the others share the
     * set's document, read-only from here on, as `apply --target` does
     * (copying 1,000 of them was 57 M instructions on the main thread) */
    const json_t *deps = json_object_get(c, "dependencies");
    json_t *doc;
    int inj = 0;
    if (fbc_endpoints_wanted(spec_doc, deps, urls)) {
        doc = json_deep_copy(spec_doc);
        inj = fbc_inject_endpoints(doc, deps, urls, why);
    } else {
        doc = json_incref(spec_doc);
    }
    json_decref(urls);
    if (inj != 0) {
        json_decref(doc);
        return -1;
    }
    it->diag = fb_diag_new();
    it->placement = placement_of(x, c, it->diag, &it->placement_text);
    if (!it->placement) {
        fbc_item_diag(jstr(c, "name"), it->diag);
        *why = first_error(it->diag);
        fb_diag_free(it->diag);
        it->diag = NULL;
        json_decref(doc);
        return -1;
    }
    it->workload = doc;
    /* the set's text is this document's only when it is the set's own */
    it->spec_text = doc == spec_doc ? fbi_spec_text_made(x->set, si) : NULL;
    it->peers = callers_of(x, jstr(c, "tenant"), jstr(c, "workload"));
    /* an update works on the deployment in place; a create and the new
     * half of a move start from nothing */
    if (!strcmp(jstr(c, "action"), "update") && strcmp(jstr(c, "reason"), "--rerun") != 0)
        it->deployment = find_dep(stored, jstr(c, "tenant"), jstr(c, "workload"),
                                  jstr(c, "provider"), jstr(c, "region"));
    return 0;
}

/* One level: its creates, updates and moves in parallel. */
static void run_level(exec *x, json_int_t level)
{
    /* the earlier levels recorded endpoints: read them again */
    json_decref(x->urls);
    x->urls = NULL;
    json_t *stored = deployments(x->store);
    size_t nc = json_array_size(x->changes);
    fbi_deploy_item *items = fbi_xcalloc(nc ? nc : 1, sizeof *items);
    json_t **docs = fbi_xcalloc(nc ? nc : 1, sizeof *docs);
    json_t **ch = fbi_xcalloc(nc ? nc : 1, sizeof *ch);
    size_t *seqs = fbi_xcalloc(nc ? nc : 1, sizeof *seqs);
    size_t m = 0, k;
    json_t *c;
    json_array_foreach(x->changes, k, c) {
        const char *act = jstr(c, "action");
        if (json_integer_value(json_object_get(c, "level")) != level) continue;
        if (!strcmp(act, "delete")) continue;
        if (!strcmp(act, "no-op")) {
            char *key = fbi_xasprintf("%s/%s", jstr(c, "tenant"), jstr(c, "workload"));
            if (!json_object_get(x->outcome, key))
                json_object_set_new(x->outcome, key, json_string("unchanged"));
            free(key);
            json_t *r = json_deep_copy(c);
            json_object_del(r, "dependencies");
            json_object_set_new(r, "status", json_string("unchanged"));
            json_array_append_new(x->results, r);
            continue;
        }
        size_t seq = ++x->seq;
        /* dependencies first: a failed or skipped one skips this one */
        const char *bad = NULL;
        size_t j;
        json_t *dn;
        json_array_foreach(json_object_get(c, "dependencies"), j, dn) {
            char *key = fbi_xasprintf("%s/%s", jstr(c, "tenant"), json_string_value(dn));
            const char *o = jstr(x->outcome, key);
            if (!strcmp(o, "failed") || !strcmp(o, "skipped")) bad = json_string_value(dn);
            free(key);
        }
        if (bad) {
            char *why = fbi_xasprintf("skipped: dependency %s did not apply", bad);
            finish(x, c, seq, "skipped", 0, why + 9, NULL);
            free(why);
            continue;
        }
        fbi_deploy_item *it = &items[m];
        char *why = NULL;
        if (prepare(x, c, stored, it, 0, &why) != 0) {
            finish(x, c, seq, "failed", 0, why, NULL);
            free(why);
            x->invalid = 1;
            continue;
        }
        json_t *doc = it->workload;
        const char *fed = json_string_value(json_object_get(c, "federation"));
        it->federation = fed;
        char wb[256];
        fprintf(stderr, "[%zu/%zu] %s/%s  %s  %s ...\n", seq, x->total, jstr(c, "tenant"),
                jstr(c, "name"), where_str(c, wb, sizeof wb), act);
        docs[m] = doc;
        ch[m] = c;
        seqs[m] = seq;
        m++;
    }
    if (m) fbi_apply(x->b, x->store, items, m, 0, x->o->parallelism);
    /* where each applied workload answers, in one transaction (a commit per
     * workload was a commit's work each, on the main thread after the
     * fan-out; apply --target records them so too). Each row's problems
     * are printed at its workload's turn below, as before; a transaction
     * that cannot begin leaves the rows written one by one, and a failed
     * commit is reported, not fatal (the next apply or observe records
     * the endpoints again). The moves' destroys below come after the
     * commit: they write through the life cycle's own writer. */
    fb_diag **ep_diag = fbi_xcalloc(m ? m : 1, sizeof *ep_diag);
    fb_diag *td = fb_diag_new();
    int in_tx = m && fb_store_begin(x->store, td) == FB_OK;
    for (size_t i = 0; i < m; i++) {
        if (items[i].status != FB_OK) continue;
        json_t *c2 = ch[i];
        ep_diag[i] = fb_diag_new();
        fbi_discovery_applied(x->store, jstr(c2, "tenant"), jstr(c2, "workload"), jstr(c2, "provider"),
                              jstr(c2, "region"), items[i].output, jstr(c2, "kind"), ep_diag[i]);
    }
    if (in_tx) fb_store_commit(x->store, td);
    fb_diag_print(td, stderr);
    fb_diag_free(td);
    for (size_t i = 0; i < m; i++) {
        fbi_deploy_item *it = &items[i];
        json_t *c2 = ch[i];
        fbc_item_diag(jstr(c2, "name"), it->diag);
        if (it->status == FB_INVALID || it->status == FB_AUTH) x->invalid = 1;
        if (it->status != FB_OK) {
            char *why = first_error(it->diag);
            finish(x, c2, seqs[i], "failed", it->elapsed_ms, why, NULL);
            free(why);
            continue;
        }
        const char *kind = NULL;
        const char *url = fbi_discovery_endpoint_of(it->output, jstr(c2, "kind"), &kind);
        fb_diag_print(ep_diag[i], stderr);
        if (strcmp(jstr(c2, "action"), "move") != 0) {
            finish(x, c2, seqs[i], "done", it->elapsed_ms, NULL, url);
            continue;
        }
        /* create-before-destroy: the new placement observed ready, then
         * the old one destroyed; until then the old one keeps serving */
        json_t *now = deployments(x->store);
        fbi_deploy_item ob;
        memset(&ob, 0, sizeof ob);
        ob.workload = it->workload;
        ob.deployment = find_dep(now, jstr(c2, "tenant"), jstr(c2, "workload"), jstr(c2, "provider"),
                                 jstr(c2, "region"));
        ob.diag = fb_diag_new();
        const char *status = "missing";
        if (ob.deployment && fbi_observe(x->b, &ob, 1, 1) == FB_OK)
            status = jstr(ob.output, "status");
        if (strcmp(status, "ready") != 0) {
            char *why = fbi_xasprintf("the new placement is %s, not ready: the old one at %s:%s "
                                      "keeps serving; apply again once it is ready", status,
                                      jstr(json_object_get(c2, "from"), "provider"),
                                      jstr(json_object_get(c2, "from"), "region"));
            fbc_item_diag(jstr(c2, "name"), ob.diag);
            finish(x, c2, seqs[i], "failed", it->elapsed_ms, why, url);
            free(why);
        } else {
            char *why = NULL;
            double t0 = fbi_mono_ms();
            if (destroy_at(x, jstr(c2, "tenant"), jstr(c2, "workload"), json_object_get(c2, "from"),
                           &why) != 0) {
                char *m2 = fbi_xasprintf("created at the new placement, but the old one could not "
                                         "be destroyed (%s): apply or destroy again", why);
                finish(x, c2, seqs[i], "failed", it->elapsed_ms + fbi_mono_ms() - t0, m2, url);
                free(m2);
            } else {
                finish(x, c2, seqs[i], "done", it->elapsed_ms + fbi_mono_ms() - t0, NULL, url);
            }
            free(why);
        }
        json_decref(ob.output);
        json_decref(ob.requests);
        fb_diag_free(ob.diag);
        json_decref(now);
    }
    for (size_t i = 0; i < m; i++) {
        json_decref(items[i].placement);
        json_decref(docs[i]);
    }
    for (size_t i = 0; i < m; i++) fb_diag_free(ep_diag[i]);
    free(ep_diag);
    fbi_deploy_items_free(items, m);
    free(docs);
    free(ch);
    free(seqs);
    json_decref(stored);
}

int fbc_plan_execute(fbi_broker *b, fb_store *store, fbi_lock *lock, fb_spec_set *set,
                     json_t *plan, const fbc_exec_opts *o)
{
    int rc = fbc_bump_serial(store, "apply");
    if (rc != FB_EXIT_OK) return rc;
    exec x = {b, store, lock, set, o, json_object_get(plan, "changes"), json_object(), json_array(),
              0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL};
    json_int_t top = 0;
    size_t k;
    json_t *c;
    json_array_foreach(x.changes, k, c) {
        const char *a = jstr(c, "action");
        json_int_t lv = json_integer_value(json_object_get(c, "level"));
        if (lv > top) top = lv;
        if (!strcmp(a, "no-op") || (!strcmp(a, "delete") && !o->prune)) continue;
        x.total++;
    }
    for (json_int_t lv = 0; lv <= top; lv++) run_level(&x, lv);
    /* deletes: dependents before what they depend on */
    for (json_int_t lv = top; lv >= 0; lv--) {
        json_array_foreach(x.changes, k, c) {
            if (strcmp(jstr(c, "action"), "delete") != 0 ||
                json_integer_value(json_object_get(c, "level")) != lv)
                continue;
            if (!o->prune) {
                json_t *r = json_deep_copy(c);
                json_object_set_new(r, "status", json_string("kept"));
                json_object_set_new(r, "outcome_reason", json_string("delete needs --prune"));
                json_array_append_new(x.results, r);
                continue;
            }
            size_t seq = ++x.seq;
            char wb[256];
            fprintf(stderr, "[%zu/%zu] %s/%s  %s  delete ...\n", seq, x.total, jstr(c, "tenant"),
                    jstr(c, "name"), where_str(c, wb, sizeof wb));
            char *why = NULL;
            double t0 = fbi_mono_ms();
            int d = destroy_at(&x, jstr(c, "tenant"), jstr(c, "workload"), json_object_get(c, "from"),
                               &why);
            finish(&x, c, seq, d == 0 ? "done" : "failed", fbi_mono_ms() - t0, why, NULL);
            free(why);
        }
    }
    /* the outcome */
    size_t n_done[5] = {0}, failed = 0, skipped = 0, unchanged = 0, kept = 0;
    static const char *const acts[] = {"create", "update", "move", "delete"};
    json_t *r;
    json_array_foreach(x.results, k, r) {
        const char *st = jstr(r, "status");
        if (!strcmp(st, "failed")) failed++;
        else if (!strcmp(st, "skipped")) skipped++;
        else if (!strcmp(st, "unchanged")) unchanged++;
        else if (!strcmp(st, "kept")) kept++;
        else
            for (int a = 0; a < 4; a++)
                if (!strcmp(jstr(r, "action"), acts[a])) n_done[a]++;
    }
    json_t *sum = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "created", (json_int_t)n_done[0],
                            "updated", (json_int_t)n_done[1], "moved", (json_int_t)n_done[2],
                            "deleted", (json_int_t)n_done[3], "unchanged", (json_int_t)unchanged,
                            "failed", (json_int_t)failed, "skipped", (json_int_t)skipped,
                            "kept_without_prune", (json_int_t)kept);
    if (o->json) {
        json_t *out = json_pack("{s:O,s:O}", "changes", x.results, "summary", sum);
        fbc_print_json(out);
        json_decref(out);
    } else {
        json_array_foreach(x.results, k, r) {
            const char *st = jstr(r, "status");
            char wb[256];
            printf("%-9s %-8s %-32s %s%s%s\n", st, jstr(r, "action"),
                   jstr(r, "name")[0] ? jstr(r, "name") : jstr(r, "workload"),
                   where_str(r, wb, sizeof wb), json_object_get(r, "outcome_reason") ? "  " : "",
                   jstr(r, "outcome_reason"));
        }
        printf("Apply: %zu created, %zu updated, %zu moved, %zu deleted, %zu unchanged, "
               "%zu failed, %zu skipped.\n", n_done[0], n_done[1], n_done[2], n_done[3], unchanged,
               failed, skipped);
        if (kept) printf("%zu deployment(s) no longer planned were kept: apply with --prune to delete them.\n", kept);
    }
    json_decref(sum);
    json_decref(x.outcome);
    json_decref(x.results);
    exec_caches_free(&x);
    if (x.invalid) return FB_EXIT_INVALID;
    return failed || skipped ? FB_EXIT_FAILURE : FB_EXIT_OK;
}

int fbc_plan_dry_run(fbi_broker *b, fb_store *store, fb_spec_set *set, json_t *plan,
                     unsigned parallelism)
{
    fbc_exec_opts o = {0, parallelism, 1, NULL};
    exec x = {b, store, NULL, set, &o, json_object_get(plan, "changes"), NULL, NULL, 0, 0, 0,
              NULL, NULL, NULL, NULL, NULL, NULL};
    json_t *stored = deployments(store);
    size_t nc = json_array_size(x.changes), m = 0, k;
    fbi_deploy_item *items = fbi_xcalloc(nc ? nc : 1, sizeof *items);
    json_t *c;
    int rc = FB_EXIT_OK;
    json_array_foreach(x.changes, k, c) {
        const char *act = jstr(c, "action");
        if (!strcmp(act, "no-op") || !strcmp(act, "delete")) continue;
        char *why = NULL;
        if (prepare(&x, c, stored, &items[m], 1, &why) != 0) {
            fprintf(stderr, "fedbroker apply: %s/%s: %s\n", jstr(c, "tenant"), jstr(c, "name"), why);
            free(why);
            rc = FB_EXIT_INVALID;
            continue;
        }
        m++;
    }
    if (m) fbi_apply(b, NULL, items, m, 1, parallelism);
    json_t *out = json_array();
    for (size_t i = 0; i < m; i++) {
        fbc_item_diag(json_string_value(json_object_get(json_object_get(items[i].workload, "metadata"), "name")),
                      items[i].diag);
        size_t j;
        json_t *r;
        json_array_foreach(items[i].requests, j, r) json_array_append(out, r);
        if (rc == FB_EXIT_OK && items[i].status != FB_OK) rc = fbc_batch_exit(&items[i], 1);
    }
    char *s = json_dumps(out, JSON_INDENT(2) | JSON_SORT_KEYS);
    puts(s);
    free(s);
    json_decref(out);
    for (size_t i = 0; i < m; i++) {
        json_decref(items[i].placement);
        json_decref(items[i].workload);
    }
    fbi_deploy_items_free(items, m);
    json_decref(stored);
    exec_caches_free(&x);
    return rc;
}
