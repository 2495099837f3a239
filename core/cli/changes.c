/* changes.c - the change set of a plan against the deployed state
 * (create, update, move, delete, no-op), the dependency order it is
 * applied in, and its Terraform-like table (docs/plan.md). */
#include "config.h"
#include "cli/cli.h"
#include "cli/deploy.h"
#include "cli/planexec.h"
#include "base/diag.h"
#include "spec/spec.h"
#include "base/util.h"
#include "state/state.h"

#include <stdlib.h>
#include <string.h>

/* ---- dependency order ----------------------------------------------------------- */

typedef struct dnode {
    const char *tenant, *name;
    size_t *deps; /* indexes of the nodes it depends on */
    size_t ndeps;
    int color;    /* 0 white, 1 on the stack, 2 done */
    int level;
} dnode;

static long find_node(const dnode *nodes, size_t n, const char *tenant, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(nodes[i].name, name) && !strcmp(nodes[i].tenant, tenant)) return (long)i;
    return -1;
}

/* Depth-first: levels, or the first cycle found as "a -> b -> a" in *cycle. */
static int visit(dnode *nodes, size_t i, size_t *stack, size_t depth, char **cycle)
{
    dnode *v = &nodes[i];
    if (v->color == 2) return 0;
    if (v->color == 1) {
        fbi_buf b;
        fbi_buf_init(&b);
        size_t from = 0;
        while (from < depth && stack[from] != i) from++;
        for (size_t k = from; k < depth; k++) fbi_buf_printf(&b, "%s -> ", nodes[stack[k]].name);
        fbi_buf_puts(&b, v->name);
        *cycle = fbi_buf_steal(&b);
        return -1;
    }
    v->color = 1;
    stack[depth] = i;
    int level = 0;
    for (size_t k = 0; k < v->ndeps; k++) {
        if (visit(nodes, v->deps[k], stack, depth + 1, cycle) != 0) return -1;
        if (nodes[v->deps[k]].level + 1 > level) level = nodes[v->deps[k]].level + 1;
    }
    v->level = level;
    v->color = 2;
    return 0;
}

int fbc_dependency_levels(fb_spec_set *set, fb_store *store, json_t **levels)
{
    (void)store; /* dependencies outside the set are refused by the spec reader */
    *levels = NULL;
    size_t n = fb_spec_count(set);
    dnode *nodes = fbi_xcalloc(n ? n : 1, sizeof *nodes);
    for (size_t i = 0; i < n; i++) {
        nodes[i].tenant = fb_spec_tenant(set, i);
        nodes[i].name = fb_spec_name(set, i);
    }
    int rc = FB_EXIT_OK;
    for (size_t i = 0; i < n && rc == FB_EXIT_OK; i++) {
        json_t *deps = json_object_get(json_object_get(fbi_spec_doc(set, i), "spec"), "dependencies");
        nodes[i].deps = fbi_xcalloc(json_array_size(deps) + 1, sizeof *nodes[i].deps);
        size_t k;
        json_t *d;
        json_array_foreach(deps, k, d) {
            const char *w = json_string_value(json_object_get(d, "workload"));
            long j = w ? find_node(nodes, n, nodes[i].tenant, w) : -1;
            if (j < 0) {
                fprintf(stderr, "fedbroker: %s/%s: /spec/dependencies/%zu/workload: dependency "
                                "`%s` is not among the workloads given; give its spec file too "
                                "(dependencies are applied first)\n",
                        nodes[i].tenant, nodes[i].name, k, w ? w : "?");
                rc = FB_EXIT_INVALID;
                break;
            }
            nodes[i].deps[nodes[i].ndeps++] = (size_t)j;
        }
    }
    size_t *stack = fbi_xcalloc(n + 1, sizeof *stack);
    for (size_t i = 0; i < n && rc == FB_EXIT_OK; i++) {
        char *cycle = NULL;
        if (visit(nodes, i, stack, 0, &cycle) != 0) {
            fprintf(stderr, "fedbroker: dependency cycle in tenant %s: %s; a workload can only "
                            "use the endpoints of workloads applied before it: remove one of "
                            "these dependencies\n", nodes[i].tenant, cycle);
            free(cycle);
            rc = FB_EXIT_INVALID;
        }
    }
    if (rc == FB_EXIT_OK) {
        *levels = json_object();
        for (size_t i = 0; i < n; i++) {
            char *key = fbi_xasprintf("%s/%s", nodes[i].tenant, nodes[i].name);
            json_object_set_new(*levels, key, json_integer(nodes[i].level));
            free(key);
        }
    }
    for (size_t i = 0; i < n; i++) free(nodes[i].deps);
    free(nodes);
    free(stack);
    return rc;
}

/* ---- endpoints in env ----------------------------------------------------------- */

/* FEDBROKER_ENDPOINT_<NAME>: upper case, '-' and '.' to '_'. */
static char *endpoint_var(const char *name)
{
    char *v = fbi_xasprintf("FEDBROKER_ENDPOINT_%s", name);
    for (char *p = v + 19; *p; p++) {
        if (*p >= 'a' && *p <= 'z') *p = (char)(*p - 'a' + 'A');
        else if (*p == '-' || *p == '.') *p = '_';
    }
    return v;
}

/* Fills every ${endpoints.NAME.url} of s from urls; new string or NULL
 * with *err (new) naming the first unknown endpoint. */
static char *fill(const char *s, const json_t *urls, char **err)
{
    fbi_buf b;
    fbi_buf_init(&b);
    const char *p = s;
    for (;;) {
        const char *at = strstr(p, "${endpoints.");
        if (!at) break;
        const char *name = at + 12, *end = strstr(name, ".url}");
        const char *close = strchr(name, '}');
        if (!end || close < end) {
            /* not an endpoint reference: keep it as written */
            fbi_buf_append(&b, p, (size_t)(name - p));
            p = name;
            continue;
        }
        char *nm = fbi_xstrndup(name, (size_t)(end - name));
        const char *url = json_string_value(json_object_get(urls, nm));
        if (!url) {
            *err = fbi_xasprintf("${endpoints.%s.url}: workload `%s` has no recorded endpoint; "
                                 "list it in dependencies (applied first) and give it a "
                                 "public trigger or ports", nm, nm);
            free(nm);
            fbi_buf_free(&b);
            return NULL;
        }
        free(nm);
        fbi_buf_append(&b, p, (size_t)(at - p));
        fbi_buf_puts(&b, url);
        p = end + 5;
    }
    fbi_buf_puts(&b, p);
    return fbi_buf_steal(&b);
}

int fbc_endpoints_wanted(const json_t *doc, const json_t *deps, const json_t *urls)
{
    json_t *env = json_object_get(json_object_get(doc, "spec"), "env");
    if (!json_is_object(env)) return 0;
    const char *k;
    json_t *v;
    json_object_foreach(env, k, v) {
        const char *s = json_string_value(v);
        if (s && strstr(s, "${endpoints.")) return 1;
    }
    size_t i;
    json_t *d;
    json_array_foreach(deps, i, d)
        if (json_string_value(json_object_get(urls, json_string_value(d)))) return 1;
    return 0;
}

int fbc_inject_endpoints(json_t *doc, const json_t *deps, const json_t *urls, char **err)
{
    *err = NULL;
    json_t *env = json_object_get(json_object_get(doc, "spec"), "env");
    if (!json_is_object(env)) return 0; /* a kind without env (QuantumJob) */
    /* The hash is made again only when env changed: the doc's specHash is
     * its spec's already, and rehashing each of 1,000 independent
     * workloads was 65 M instructions on the main thread of a plan apply
     * (bench/README-aws.md, perf5). */
    int changed = 0;
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(env, tmp, k, v) {
        const char *s = json_string_value(v);
        if (!s || !strstr(s, "${endpoints.")) continue;
        char *f = fill(s, urls, err);
        if (!f) return -1;
        json_object_set_new(env, k, json_string(f));
        free(f);
        changed = 1;
    }
    size_t i;
    json_t *d;
    json_array_foreach(deps, i, d) {
        const char *name = json_string_value(d);
        const char *url = json_string_value(json_object_get(urls, name));
        if (!url) continue; /* a private dependency has no endpoint to inject */
        char *var = endpoint_var(name);
        json_object_set_new(env, var, json_string(url));
        free(var);
        changed = 1;
    }
    if (changed) fbi_spec_rehash(doc);
    return 0;
}

/* ---- the change set ------------------------------------------------------------- */

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* The fields of spec (and metadata) that differ between two normal forms. */
static json_t *differing(const json_t *was, const json_t *now)
{
    json_t *out = json_array();
    const json_t *a = json_object_get(was, "spec"), *b = json_object_get(now, "spec");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)b, k, v)
        if (!json_equal(v, json_object_get(a, k))) json_array_append_new(out, json_sprintf("spec.%s", k));
    json_object_foreach((json_t *)a, k, v)
        if (!json_object_get(b, k)) json_array_append_new(out, json_sprintf("spec.%s", k));
    if (!json_equal(json_object_get(was, "metadata"), json_object_get(now, "metadata")))
        json_array_append_new(out, json_string("metadata"));
    return out;
}

/* The stored endpoint URL of a deployment, or NULL. */
static const char *stored_url(const json_t *endpoints, const char *tenant, const char *name,
                              const char *provider, const char *region)
{
    size_t k;
    json_t *e;
    json_array_foreach(endpoints, k, e)
        if (!strcmp(jstr(e, "tenant"), tenant) && !strcmp(jstr(e, "workload"), name) &&
            !strcmp(jstr(e, "provider"), provider) && !strcmp(jstr(e, "region"), region) &&
            !*jstr(e, "instance")) /* the deployment's own, not a pod behind it */
            return jstr(e, "url");
    return NULL;
}

static json_t *load_array(fb_status (*fn)(fb_store *, const char *, char **, fb_diag *),
                          fb_store *store)
{
    char *text = NULL;
    fb_diag *d = fb_diag_new();
    json_t *out = NULL;
    if (store && fn(store, NULL, &text, d) == FB_OK) out = json_loads(text, 0, NULL);
    else if (store) fb_diag_print(d, stderr);
    free(text);
    fb_diag_free(d);
    return out ? out : json_array();
}

static fb_status list_all_deployments(fb_store *s, const char *unused, char **json, fb_diag *d)
{
    (void)unused;
    return fb_store_list_deployments(s, NULL, NULL, json, d);
}

static int by_level(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    json_int_t la = json_integer_value(json_object_get(x, "level")),
               lb = json_integer_value(json_object_get(y, "level"));
    if (la != lb) return la < lb ? -1 : 1;
    json_int_t ia = json_integer_value(json_object_get(x, "index")),
               ib = json_integer_value(json_object_get(y, "index"));
    return ia < ib ? -1 : ia > ib;
}

/* Refresh: observes (read-only) the deployments the change set leaves
 * alone; one that drifted at the provider, or is missing there, becomes an
 * update (apply restores it), with the drifted fields. A deployment that
 * cannot be observed stays no-op, with a warning. */
static void refresh(fbi_broker *b, fb_store *store, json_t *changes, json_t *deps)
{
    size_t nc = json_array_size(changes), n = 0, k;
    fbi_deploy_item *items = fbi_xcalloc(nc ? nc : 1, sizeof *items);
    json_t **which = fbi_xcalloc(nc ? nc : 1, sizeof *which);
    json_t *c;
    json_array_foreach(changes, k, c) {
        if (strcmp(jstr(c, "action"), "no-op") != 0) continue;
        json_t *dep = NULL;
        size_t j;
        json_t *d;
        json_array_foreach(deps, j, d)
            if (!strcmp(jstr(d, "tenant"), jstr(c, "tenant")) &&
                !strcmp(jstr(d, "workload"), jstr(c, "workload")) &&
                !strcmp(jstr(d, "provider"), jstr(c, "provider")) &&
                !strcmp(jstr(d, "region"), jstr(c, "region")))
                dep = d;
        char *text = NULL;
        fb_diag *sd = fb_diag_new();
        if (dep && fbi_store_get_deployment_spec(store, jstr(c, "tenant"), jstr(c, "workload"),
                                                 jstr(c, "provider"), jstr(c, "region"), &text,
                                                 sd) == FB_OK) {
            items[n].workload = json_loads(text, 0, NULL);
            items[n].deployment = dep;
            items[n].diag = fb_diag_new();
            which[n++] = c;
        }
        free(text);
        fb_diag_free(sd);
    }
    if (n) fbi_observe(b, items, n, 0);
    for (size_t i = 0; i < n; i++) {
        json_t *ch = which[i];
        const char *status = jstr(items[i].output, "status");
        if (items[i].status != FB_OK) {
            fprintf(stderr, "fedbroker: %s/%s: warning: could not observe it (the change set "
                            "assumes it unchanged):\n", jstr(ch, "tenant"), jstr(ch, "name"));
            fb_diag_print(items[i].diag, stderr);
        } else if (!strcmp(status, "missing")) {
            json_object_set_new(ch, "action", json_string("update"));
            json_object_set_new(ch, "fields", json_array());
            json_object_set_new(ch, "reason", json_string("missing at the provider"));
        } else if (json_array_size(json_object_get(items[i].output, "drift"))) {
            json_t *fields = json_array();
            size_t j;
            json_t *dr;
            json_array_foreach(json_object_get(items[i].output, "drift"), j, dr)
                json_array_append(fields, json_object_get(dr, "field"));
            json_object_set_new(ch, "action", json_string("update"));
            json_object_set_new(ch, "fields", fields);
            json_object_set_new(ch, "reason", json_string("drift at the provider"));
        }
        json_decref(items[i].workload);
    }
    fbi_deploy_items_free(items, n);
    free(which);
}

/* With the broker as an issuer, compares the callers this plan gives
 * change c (the planned workloads of its tenant that depend on it, as
 * callers_of in execute.c gives them to apply) with those its deployment
 * dep's last apply granted. When they differ, c becomes an update of
 * identity.callers whose reason names who comes and goes; 1 then. */
static int callers_changed(fbi_broker *b, fb_store *store, json_t *c, const json_t *dep,
                           json_t *const *order, size_t no)
{
    const char *td = b ? json_string_value(json_object_get(json_object_get(b->config, "identity"), "trustDomain"))
                       : NULL;
    if (!td) return 0;
    const char *tenant = jstr(c, "tenant"), *name = jstr(c, "workload");
    json_t *now = json_array();
    for (size_t j = 0; j < no; j++) {
        if (strcmp(jstr(order[j], "tenant"), tenant) != 0) continue;
        size_t k;
        json_t *dn;
        int calls = 0;
        json_array_foreach(json_object_get(order[j], "dependencies"), k, dn)
            calls |= json_string_value(dn) && !strcmp(json_string_value(dn), name);
        if (calls)
            json_array_append_new(now, json_pack("{s:s,s:s,s:s}", "name", jstr(order[j], "workload"),
                                                 "provider", jstr(order[j], "provider"), "region",
                                                 jstr(order[j], "region")));
    }
    char *want = fbi_callers_canonical(now);
    json_decref(now);
    char *had = NULL;
    fb_diag *d = fb_diag_new();
    fb_status st = fbi_store_get_deployment_callers(store, tenant, name, jstr(dep, "provider"),
                                                    jstr(dep, "region"), &had, d);
    fb_diag_free(d);
    /* none stored: applied without identity or before schema 8; that
     * apply granted nobody, which is a change only if someone calls now */
    if (st != FB_OK) {
        free(had);
        had = fbi_xstrdup("[]");
    }
    int changed = strcmp(want, had) != 0;
    if (changed) {
        json_t *w = json_loads(want, 0, NULL), *h = json_loads(had, 0, NULL);
        fbi_buf why;
        fbi_buf_init(&why);
        fbi_buf_puts(&why, "its callers change:");
        size_t i, k;
        json_t *x, *y;
        json_array_foreach(w, i, x) {
            int found = 0;
            json_array_foreach(h, k, y) found |= json_equal(x, y);
            if (!found) fbi_buf_printf(&why, " +%s", jstr(x, "name"));
        }
        json_array_foreach(h, i, x) {
            int found = 0;
            json_array_foreach(w, k, y) found |= json_equal(x, y);
            if (!found) fbi_buf_printf(&why, " -%s", jstr(x, "name") ? jstr(x, "name") : "?");
        }
        json_object_set_new(c, "action", json_string("update"));
        json_object_set_new(c, "fields", json_pack("[s]", "identity.callers"));
        json_object_set_new(c, "reason", json_string(why.data));
        fbi_buf_free(&why);
        json_decref(w);
        json_decref(h);
    }
    free(want);
    free(had);
    return changed;
}

int fbc_plan_changes(json_t *plan, fb_spec_set *set, fb_store *store, fbi_broker *b, int rerun)
{
    json_t *levels = NULL;
    int rc = fbc_dependency_levels(set, store, &levels);
    if (rc != FB_EXIT_OK) return rc;
    json_t *deps = load_array(list_all_deployments, store);
    json_t *endpoints = load_array(fbi_store_list_endpoints, store);
    size_t nd = json_array_size(deps);
    int *claimed = fbi_xcalloc(nd ? nd : 1, sizeof *claimed);

    /* the planned placements, in dependency order (a dependent's change
     * depends on whether its dependencies' endpoints move) */
    json_t *wls = json_object_get(plan, "workloads");
    size_t nw = json_array_size(wls);
    json_t **order = fbi_xcalloc(nw ? nw : 1, sizeof *order);
    size_t no = 0;
    for (size_t i = 0; i < nw; i++) {
        json_t *wj = json_array_get(wls, i);
        if (!json_object_get(wj, "placement") || !json_object_get(wj, "workload")) continue;
        char *key = fbi_xasprintf("%s/%s", jstr(wj, "tenant"), jstr(wj, "workload"));
        json_t *c = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "tenant", jstr(wj, "tenant"),
                              "workload", jstr(wj, "workload"), "name", jstr(wj, "name"), "kind",
                              jstr(wj, "kind"), "level",
                              json_integer_value(json_object_get(levels, key)), "index",
                              (json_int_t)i);
        free(key);
        json_t *pl = json_object_get(wj, "placement");
        json_object_set_new(c, "provider", json_string(jstr(pl, "provider")));
        json_object_set_new(c, "service", json_string(jstr(pl, "service")));
        json_object_set_new(c, "region", json_string(jstr(pl, "region")));
        json_object_set(c, "dependencies", json_object_get(wj, "dependencies"));
        if (json_object_get(wj, "federation"))
            json_object_set(c, "federation", json_object_get(wj, "federation"));
        order[no++] = c;
    }
    qsort(order, no, sizeof *order, by_level);

    /* pass 1: the deployments already where the plan puts them */
    long *exact = fbi_xcalloc(no ? no : 1, sizeof *exact);
    for (size_t i = 0; i < no; i++) {
        exact[i] = -1;
        for (size_t k = 0; k < nd; k++) {
            json_t *dep = json_array_get(deps, k);
            if (!claimed[k] && !strcmp(jstr(dep, "tenant"), jstr(order[i], "tenant")) &&
                !strcmp(jstr(dep, "workload"), jstr(order[i], "workload")) &&
                !strcmp(jstr(dep, "provider"), jstr(order[i], "provider")) &&
                !strcmp(jstr(dep, "region"), jstr(order[i], "region"))) {
                claimed[k] = 1;
                exact[i] = (long)k;
                break;
            }
        }
    }
    /* pass 2: each change, moves taking the workload's other deployments */
    json_t *moving = json_object(); /* "tenant/name": 1 when its endpoint changes */
    json_t *changes = json_array();
    for (size_t i = 0; i < no; i++) {
        json_t *c = order[i];
        const char *tenant = jstr(c, "tenant"), *name = jstr(c, "workload");
        char *key = fbi_xasprintf("%s/%s", tenant, name);
        json_t *doc = fbi_spec_doc(set, fbi_spec_find(set, tenant, name));
        if (exact[i] >= 0) {
            json_t *dep = json_array_get(deps, (size_t)exact[i]);
            /* what this run would deploy: the spec with the endpoints it
             * can know now (those of dependencies that stay in place) */
            json_t *urls = json_object();
            const char *changed_dep = NULL;
            size_t k;
            json_t *dn;
            json_array_foreach(json_object_get(c, "dependencies"), k, dn) {
                char *dk = fbi_xasprintf("%s/%s", tenant, json_string_value(dn));
                if (json_object_get(moving, dk)) changed_dep = json_string_value(dn);
                free(dk);
                for (size_t j = 0; j < no; j++)
                    if (!strcmp(jstr(order[j], "tenant"), tenant) &&
                        !strcmp(jstr(order[j], "workload"), json_string_value(dn))) {
                        const char *u = stored_url(endpoints, tenant, json_string_value(dn),
                                                   jstr(order[j], "provider"),
                                                   jstr(order[j], "region"));
                        if (u && !json_object_get(urls, json_string_value(dn)))
                            json_object_set_new(urls, json_string_value(dn), json_string(u));
                    }
            }
            json_t *want = json_deep_copy(doc);
            char *err = NULL;
            if (fbc_inject_endpoints(want, json_object_get(c, "dependencies"), urls, &err) != 0)
                free(err); /* apply says it; here it is a change */
            json_decref(urls);
            char *was_text = NULL;
            fb_diag *d = fb_diag_new();
            json_t *was = NULL;
            if (fbi_store_get_deployment_spec(store, tenant, name, jstr(dep, "provider"),
                                              jstr(dep, "region"), &was_text, d) == FB_OK)
                was = json_loads(was_text, 0, NULL);
            free(was_text);
            fb_diag_free(d);
            const char *phase = jstr(dep, "phase");
            if (changed_dep) {
                json_object_set_new(c, "action", json_string("update"));
                json_object_set_new(c, "fields", json_pack("[s]", "spec.env"));
                json_object_set_new(c, "reason", json_sprintf("the endpoint of dependency %s changes",
                                                              changed_dep));
            } else if (strcmp(phase, "applied") != 0) {
                json_object_set_new(c, "action", json_string("update"));
                json_object_set_new(c, "fields", json_array());
                json_object_set_new(c, "reason",
                                    json_sprintf("its last apply did not finish (phase %s)", phase));
            } else if (!was || !json_equal(json_object_get(was, "specHash"),
                                           json_object_get(want, "specHash"))) {
                json_object_set_new(c, "action", json_string("update"));
                json_object_set_new(c, "fields", was ? differing(was, want) : json_array());
                json_object_set_new(c, "reason", json_string(was ? "the spec changed"
                                                                 : "no stored spec to compare"));
            } else if (rerun && !strcmp(jstr(c, "kind"), "QuantumJob")) {
                json_object_set_new(c, "action", json_string("update"));
                json_object_set_new(c, "fields", json_array());
                json_object_set_new(c, "reason", json_string("--rerun"));
            } else if (callers_changed(b, store, c, dep, order, no)) {
                /* a caller added or gone: the callee's grants change
                 * though its spec does not (docs/identity.md) */
            } else {
                json_object_set_new(c, "action", json_string("no-op"));
            }
            json_decref(was);
            json_decref(want);
        } else {
            long from = -1;
            for (size_t k = 0; k < nd && from < 0; k++) {
                json_t *dep = json_array_get(deps, k);
                if (!claimed[k] && !strcmp(jstr(dep, "tenant"), tenant) &&
                    !strcmp(jstr(dep, "workload"), name))
                    from = (long)k;
            }
            if (from >= 0) {
                json_t *dep = json_array_get(deps, (size_t)from);
                claimed[from] = 1;
                json_object_set_new(c, "action", json_string("move"));
                json_object_set_new(c, "from", json_pack("{s:s,s:s,s:s}", "provider",
                                                         jstr(dep, "provider"), "service",
                                                         jstr(dep, "service"), "region",
                                                         jstr(dep, "region")));
                json_object_set_new(c, "reason", json_string(
                    strcmp(jstr(dep, "provider"), jstr(c, "provider")) ? "provider changes"
                    : strcmp(jstr(dep, "region"), jstr(c, "region"))   ? "region changes"
                                                                       : "service changes"));
            } else {
                json_object_set_new(c, "action", json_string("create"));
            }
            json_object_set_new(moving, key, json_true());
        }
        free(key);
        json_object_del(c, "index");
        json_array_append(changes, c);
    }
    if (b) refresh(b, store, changes, deps);
    /* deletes: what is deployed for these workloads or federations and no
     * longer planned */
    json_t *feds = json_object_get(plan, "federations");
    for (size_t k = 0; k < nd; k++) {
        if (claimed[k]) continue;
        json_t *dep = json_array_get(deps, k);
        int ours = 0;
        for (size_t i = 0; i < no && !ours; i++)
            ours = !strcmp(jstr(dep, "tenant"), jstr(order[i], "tenant")) &&
                   !strcmp(jstr(dep, "workload"), jstr(order[i], "workload"));
        const char *fed_of = NULL;
        size_t f;
        json_t *fed;
        json_array_foreach(feds, f, fed) {
            if (ours || strcmp(jstr(fed, "tenant"), jstr(dep, "tenant")) != 0) continue;
            char *text = NULL;
            fb_diag *d = fb_diag_new();
            if (fbi_store_list_federation(store, jstr(fed, "name"), &text, d) == FB_OK) {
                json_t *members = json_loads(text, 0, NULL);
                size_t m;
                json_t *mem;
                json_array_foreach(members, m, mem)
                    if (!strcmp(jstr(mem, "tenant"), jstr(dep, "tenant")) &&
                        !strcmp(jstr(mem, "workload"), jstr(dep, "workload")) &&
                        !strcmp(jstr(mem, "provider"), jstr(dep, "provider")) &&
                        !strcmp(jstr(mem, "region"), jstr(dep, "region"))) {
                        ours = 1;
                        fed_of = jstr(fed, "name");
                    }
                json_decref(members);
            }
            free(text);
            fb_diag_free(d);
        }
        if (!ours) continue;
        char *key = fbi_xasprintf("%s/%s", jstr(dep, "tenant"), jstr(dep, "workload"));
        json_t *lv = json_object_get(levels, key);
        free(key);
        json_t *c = json_pack("{s:s,s:s,s:s,s:s,s:I,s:{s:s,s:s,s:s},s:s}", "action", "delete",
                              "tenant", jstr(dep, "tenant"), "workload", jstr(dep, "workload"),
                              "name", jstr(dep, "workload"), "level",
                              lv ? json_integer_value(lv) : (json_int_t)0, "from", "provider",
                              jstr(dep, "provider"), "service", jstr(dep, "service"), "region",
                              jstr(dep, "region"), "reason",
                              fed_of ? "no longer in the federation" : "no longer planned here");
        if (fed_of) json_object_set_new(c, "federation", json_string(fed_of));
        json_array_append_new(changes, c);
    }
    json_t *sum = json_pack("{s:i,s:i,s:i,s:i,s:i}", "create", 0, "update", 0, "move", 0,
                            "delete", 0, "no-op", 0);
    size_t k;
    json_t *c;
    json_array_foreach(changes, k, c) {
        const char *a = jstr(c, "action");
        json_object_set_new(sum, a, json_integer(json_integer_value(json_object_get(sum, a)) + 1));
    }
    json_object_set_new(plan, "changes", changes);
    json_object_set_new(plan, "change_summary", sum);
    for (size_t i = 0; i < no; i++) json_decref(order[i]);
    free(order);
    free(exact);
    free(claimed);
    json_decref(moving);
    json_decref(deps);
    json_decref(endpoints);
    json_decref(levels);
    return FB_EXIT_OK;
}

int fbc_plan_has_changes(const json_t *plan, int prune)
{
    size_t k;
    json_t *c;
    json_array_foreach(json_object_get(plan, "changes"), k, c) {
        const char *a = jstr(c, "action");
        if (!strcmp(a, "no-op")) continue;
        if (!strcmp(a, "delete") && !prune) continue;
        return 1;
    }
    return 0;
}

void fbc_print_changes(const json_t *plan, FILE *out)
{
    json_t *changes = json_object_get(plan, "changes");
    fprintf(out, "\nChanges against the deployed state (state serial %lld):\n",
            (long long)json_integer_value(json_object_get(plan, "state_serial")));
    size_t k;
    json_t *c;
    json_array_foreach(changes, k, c) {
        const char *a = jstr(c, "action");
        json_t *from = json_object_get(c, "from");
        char *what = fbi_xasprintf("%s/%s", jstr(c, "tenant"), jstr(c, "name"));
        if (!strcmp(a, "create")) {
            fprintf(out, "  + create  %-32s %s:%s:%s\n", what, jstr(c, "provider"),
                    jstr(c, "service"), jstr(c, "region"));
        } else if (!strcmp(a, "update")) {
            fbi_buf fb;
            fbi_buf_init(&fb);
            size_t i;
            json_t *f;
            json_array_foreach(json_object_get(c, "fields"), i, f)
                fbi_buf_printf(&fb, "%s%s", i ? ", " : "", json_string_value(f));
            fprintf(out, "  ~ update  %-32s %s:%s:%s  (%s%s%s)\n", what, jstr(c, "provider"),
                    jstr(c, "service"), jstr(c, "region"), jstr(c, "reason"),
                    fb.len ? ": " : "", fb.len ? fb.data : "");
            fbi_buf_free(&fb);
        } else if (!strcmp(a, "move")) {
            fprintf(out, "-/+ move    %-32s %s:%s:%s -> %s:%s:%s  (%s)\n", what, jstr(from, "provider"),
                    jstr(from, "service"), jstr(from, "region"), jstr(c, "provider"),
                    jstr(c, "service"), jstr(c, "region"), jstr(c, "reason"));
        } else if (!strcmp(a, "delete")) {
            fprintf(out, "  - delete  %-32s %s:%s:%s  (%s; only with --prune)\n", what,
                    jstr(from, "provider"), jstr(from, "service"), jstr(from, "region"),
                    jstr(c, "reason"));
        } else {
            fprintf(out, "    no-op   %-32s %s:%s:%s\n", what, jstr(c, "provider"),
                    jstr(c, "service"), jstr(c, "region"));
        }
        free(what);
    }
    json_t *s = json_object_get(plan, "change_summary");
    long long cr = json_integer_value(json_object_get(s, "create")),
              up = json_integer_value(json_object_get(s, "update")),
              mv = json_integer_value(json_object_get(s, "move")),
              dl = json_integer_value(json_object_get(s, "delete")),
              nop = json_integer_value(json_object_get(s, "no-op"));
    if (!cr && !up && !mv && !dl)
        fprintf(out, "No changes. The deployed state matches the plan (%lld unchanged).\n", nop);
    else
        fprintf(out, "Plan: %lld to create, %lld to update, %lld to move, %lld to delete.\n", cr,
                up, mv, dl);
}
