/* input.c - what the model starts from: the catalog, the workloads (one
 * per replica of a spread workload, with its traffic divided) with every
 * candidate evaluated, and the input checks that refuse what the cost model
 * cannot use (unknown locations, regions, providers; missing traffic;
 * constraints that contradict each other). */
#include "config.h"
#include "plan/plan_int.h"
#include "spec/spec.h"

#include <stdlib.h>

static void input_error(model *m, size_t spec_i, const char *pointer, const char *summary,
                        const char *detail)
{
    fb_diag_add(m->diag, FB_SEV_ERROR, fb_spec_file(m->set, spec_i), 0, 0, pointer, summary,
                detail);
    m->invalid = 1;
}

/* ---- workloads, replicas and input checks ---------------------------------------------------- */

static const char *doc_name(json_t *doc)
{
    return jstr(json_object_get(doc, "metadata"), "name");
}

static int catalog_knows_provider(const fbi_catalog *cat, const char *p);

/* Checks what the cost model needs from a spec and refuses what it cannot
 * use: unknown locations, regions, providers; missing traffic; constraints
 * that contradict each other. */
static void check_input(model *m, size_t i, json_t *doc)
{
    const char *kind = jstr(doc, "kind");
    json_t *spec = json_object_get(doc, "spec");
    json_t *traffic = json_object_get(spec, "traffic");
    if (!strcmp(kind, "Function")) {
        json_t *dflt = json_object_get(traffic, "defaults");
        const char *missing = !traffic || json_array_size(dflt) == 2
                ? "spec.traffic.requestsPerMonth and spec.traffic.meanDuration"
            : in_list(dflt, "requestsPerMonth") ? "spec.traffic.requestsPerMonth"
            : in_list(dflt, "meanDuration") ? "spec.traffic.meanDuration" : NULL;
        if (missing) {
            char *s = fbi_xasprintf("traffic profile missing: the cost of a Function cannot be "
                                    "estimated without %s", missing);
            input_error(m, i, "/spec/traffic", s,
                        "add spec.traffic with requestsPerMonth and meanDuration (and sources "
                        "for latency, egressPerRequest or egressPerMonth for egress)");
            free(s);
        }
    }
    size_t k;
    json_t *v;
    json_array_foreach(json_object_get(traffic, "sources"), k, v) {
        const char *loc = jstr(v, "location");
        if (loc && !fbi_catalog_location(m->cat, loc)) {
            char ptr[96], *s;
            snprintf(ptr, sizeof ptr, "/spec/traffic/sources/%zu/location", k);
            s = fbi_xasprintf("unknown location '%s'", loc);
            input_error(m, i, ptr, s, "`fedbroker catalog show --table locations` lists the locations; "
                                      "use a city id such as new-york, frankfurt, tokyo");
            free(s);
        }
    }
    json_t *place = json_object_get(spec, "placement");
    static const char *region_lists[] = {"regions", "denyRegions"};
    for (int r = 0; r < 2; r++) {
        json_array_foreach(json_object_get(place, region_lists[r]), k, v) {
            const char *key = json_string_value(v);
            if (key && !fbi_catalog_region(m->cat, key)) {
                char ptr[96], *s;
                snprintf(ptr, sizeof ptr, "/spec/placement/%s/%zu", region_lists[r], k);
                s = fbi_xasprintf("unknown region '%s'", key);
                input_error(m, i, ptr, s, "regions are provider:region, e.g. aws:eu-west-1 or "
                                          "gcp:europe-west1 (`fedbroker catalog show --table regions` lists them)");
                free(s);
            }
        }
    }
    static const char *prov_lists[] = {"providers", "denyProviders"};
    for (int r = 0; r < 2; r++) {
        json_array_foreach(json_object_get(place, prov_lists[r]), k, v) {
            const char *p = json_string_value(v);
            if (!p || fb_registry_find(m->b->reg, p)) continue;
            char ptr[96], *s;
            snprintf(ptr, sizeof ptr, "/spec/placement/%s/%zu", prov_lists[r], k);
            if (catalog_knows_provider(m->cat, p)) {
                /* a real provider whose driver is not installed here */
                s = fbi_xasprintf("provider '%s' has no driver loaded; its offers are not considered", p);
                fb_diag_add(m->diag, FB_SEV_WARNING, fb_spec_file(m->set, i), 0, 0, ptr, s,
                            "install its driver or add its directory to FEDBROKER_DRIVER_PATH");
            } else {
                s = fbi_xasprintf("unknown provider '%s': no driver of that name is loaded and the "
                                  "catalog has no such provider", p);
                input_error(m, i, ptr, s, "`fedbroker drivers` lists the loaded drivers");
            }
            free(s);
        }
    }
    json_t *allow = json_object_get(place, "providers");
    if (json_array_size(allow)) {
        int any = 0;
        json_array_foreach(allow, k, v)
            if (!in_list(json_object_get(place, "denyProviders"), json_string_value(v))) any = 1;
        if (!any)
            input_error(m, i, "/spec/placement/denyProviders",
                        "contradictory constraints: every provider in placement.providers is "
                        "also denied", "remove it from one of the two lists");
    }
    json_t *spread = json_object_get(place, "spread");
    int64_t minr = json_integer_value(json_object_get(spread, "minRegions"));
    int64_t minp = json_integer_value(json_object_get(spread, "minProviders"));
    if ((minr > 1 || minp > 1) && json_array_size(json_object_get(place, "affinity"))) {
        input_error(m, i, "/spec/placement/affinity",
                    "contradictory constraints: spread over several regions and affinity "
                    "(same region as another workload) cannot both hold",
                    "drop the affinity and bound the distance with a link latencyBudget instead");
    }
    if (minp > 1 && json_array_size(allow) && (int64_t)json_array_size(allow) < minp) {
        input_error(m, i, "/spec/placement/spread/minProviders",
                    "contradictory constraints: spread.minProviders is larger than the number "
                    "of allowed providers", NULL);
    }
    json_array_foreach(json_object_get(place, "affinity"), k, v) {
        if (in_list(json_object_get(place, "antiAffinity"), json_string_value(v))) {
            char ptr[96];
            snprintf(ptr, sizeof ptr, "/spec/placement/affinity/%zu", k);
            input_error(m, i, ptr, "contradictory constraints: the same workload is in affinity "
                                   "and antiAffinity", NULL);
        }
    }
}

static int catalog_knows_provider(const fbi_catalog *cat, const char *p)
{
    for (size_t i = 0; i < fbi_catalog_region_count(cat); i++)
        if (!strcmp(fbi_catalog_region_at(cat, i)->provider, p)) return 1;
    return 0;
}

/* A replica's document: traffic (requests, egress) divided among replicas. */
static json_t *replica_doc(json_t *doc, int r, int n)
{
    json_t *c = json_deep_copy(doc);
    json_t *t = jpath(c, "spec", "traffic");
    static const char *keys[] = {"requestsPerMonth", "egressBytesPerMonth"};
    for (int k = 0; k < 2; k++) {
        json_t *v = json_object_get(t, keys[k]);
        if (!json_is_integer(v)) continue;
        json_int_t total = json_integer_value(v);
        json_int_t share = total / n + (r < total % n ? 1 : 0); /* shares add up */
        json_object_set_new(t, keys[k], json_integer(share));
    }
    return c;
}

/* A driver that offers placements but has no usage verb (no
 * FB_CAP_ESTIMATE) is left out of every plan, as nothing prices its offers:
 * say so once per driver, by name, rather than only among each workload's
 * eliminations. */
static void warn_unestimated(model *m, json_t *offers)
{
    json_t *count = json_object();
    size_t i;
    json_t *o;
    json_array_foreach(offers, i, o) {
        const char *p = jstr(o, "provider");
        const fb_driver *drv = p ? fb_registry_find(m->b->reg, p) : NULL;
        if (!drv || (drv->caps & FB_CAP_ESTIMATE)) continue;
        json_object_set_new(count, p, json_integer(json_integer_value(json_object_get(count, p)) + 1));
    }
    const char *p;
    json_t *n;
    json_object_foreach(count, p, n) {
        char *m1 = fbi_xasprintf("driver %s cannot estimate cost (no usage verb, FB_CAP_ESTIMATE): "
                                 "plan does not consider its %lld offer(s)", p,
                                 (long long)json_integer_value(n));
        char *m2 = fbi_xasprintf("plan prices offers from the billing quantities usage returns "
                                 "(docs/driver-authors.md); `fedbroker apply --target %s` still "
                                 "deploys with it", p);
        fb_diag_add(m->diag, FB_SEV_WARNING, NULL, 0, 0, NULL, m1, m2);
        free(m1);
        free(m2);
    }
    json_decref(count);
}

/* The offers of the loaded drivers as the model uses them: region key,
 * label, and the placement object drivers receive, in canonical JSON. An
 * offer without a kind, service or region cannot be placed on: it is left
 * out with a warning. */
static void build_offers(model *m)
{
    json_t *offers = fbi_broker_offers(m->b, m->diag);
    warn_unestimated(m, offers);
    m->offers = fbi_xcalloc(json_array_size(offers) + 1, sizeof *m->offers);
    size_t k;
    json_t *o;
    json_array_foreach(offers, k, o) {
        const char *provider = jstr(o, "provider"), *service = jstr(o, "service"),
                   *region = jstr(o, "region"), *kind = jstr(o, "kind");
        if (!provider || !service || !region || !kind) {
            char *s = fbi_xasprintf("driver %s: offer %zu has no kind, service or region; it is "
                                    "not considered", provider ? provider : "?", k);
            fb_diag_add(m->diag, FB_SEV_WARNING, NULL, 0, 0, NULL, s,
                        "a driver's offers each need \"kind\", \"service\" and \"region\" "
                        "(docs/driver-abi.md)");
            free(s);
            continue;
        }
        if (m->noffers > UINT16_MAX) {
            /* a candidate names its offer in 16 bits (option.oi) */
            fb_diag_add(m->diag, FB_SEV_WARNING, NULL, 0, 0, NULL,
                        "the loaded drivers have more than 65,536 offers: the rest are not considered", NULL);
            break;
        }
        offer_info *of = &m->offers[m->noffers];
        of->idx = m->noffers++;
        of->offer = o;
        of->provider = provider;
        of->service = service;
        of->region = region;
        of->kind = kind;
        /* The catalog may key a provider's prices under another name (the
         * local Kubernetes driver prices as provider "local"). */
        const char *pp = jstr(jpath(o, "catalog", NULL), "provider");
        const char *prg = jstr(jpath(o, "catalog", NULL), "region");
        of->price_provider = fbi_xstrdup(pp ? pp : provider);
        of->key = fbi_xasprintf("%s:%s", of->price_provider, prg ? prg : region);
        of->label = fbi_xasprintf("%s:%s:%s", provider, service, region);
        of->region_text = fbi_xasprintf("%s:%s", provider, region);
        of->reg = fbi_catalog_region(m->cat, of->key);
        /* An offer may say where it is (an on-prem cluster: the driver's
         * location and jurisdiction settings): the location places the
         * catalog's local region in that metro; the jurisdiction overrides
         * the one the metro implies. */
        const char *loc = jstr(o, "location");
        if (loc && of->reg && !strcmp(of->reg->kind, "local") &&
            !(m->cat_local_metro && !strcmp(m->cat_local_metro, loc))) {
            fb_diag *ld = fb_diag_new();
            if (fbi_catalog_set_local_metro(m->cat, loc, ld) != FB_OK) {
                char *s = fbi_xasprintf("driver %s: setting \"location\" '%s' is not a metro or location "
                                        "of the catalog", provider, loc);
                fb_diag_add(m->diag, FB_SEV_ERROR, NULL, 0, 0, NULL, s,
                            "set the driver's \"location\" to a name from `fedbroker catalog show "
                            "--table locations` (e.g. frankfurt)");
                free(s);
                m->invalid = 1;
            } else {
                m->cat_local_metro = loc;
            }
            fb_diag_free(ld);
        }
        of->jurisdiction = jstr(o, "jurisdiction");
        json_t *pl = json_pack("{s:s,s:s,s:s,s:s,s:O}", "provider", provider, "service", service,
                               "region", region, "kind", kind, "offer", o);
        of->placement_text = fbi_json_canonical(pl);
        json_decref(pl);
    }
    /* the distinct region keys, numbered for the link look-ups */
    fbi_smap keys = {0};
    size_t nrix = 0;
    for (size_t i = 0; i < m->noffers; i++) {
        size_t at;
        if (!fbi_smap_get(&keys, m->offers[i].key, &at))
            fbi_smap_put(&keys, m->offers[i].key, at = nrix++, NULL);
        m->offers[i].rix = at;
    }
    fbi_smap_free(&keys);
    m->memo = fbi_plan_memo_new(nrix);
}

void fbi_plan_shape_key(const json_t *doc, char out[65])
{
    json_t *c = json_copy((json_t *)doc); /* shallow: only the top level changes */
    json_object_del(c, "metadata");
    json_object_del(c, "specHash");
    fbi_json_hash(c, out);
    json_decref(c);
}

/* The shape of workload w's document, made when it is the first of its
 * shape, which it then borrows from w (doc while it is evaluated,
 * placement, sources and egress_bytes to the end); its candidates are made when it is
 * evaluated (fbi_plan_shape_alloc).
 * scale_micro (0: none) scales its usage (a hybrid container part) and is
 * part of its key, so it never shares candidates with an unscaled doc. */
static shape *shape_of(model *m, const wl *w, int64_t scale_micro)
{
    const char *kind = w->kind;
    char key[65];
    fbi_plan_shape_key(w->doc, key);
    if (scale_micro) {
        json_t *k = json_pack("[s,I]", key, (json_int_t)scale_micro);
        fbi_json_hash(k, key);
        json_decref(k);
    }
    size_t at;
    if (fbi_smap_get(&m->shape_idx, key, &at)) return m->shapes[at];
    shape *sh = fbi_xcalloc(1, sizeof *sh);
    memcpy(sh->key, key, sizeof key);
    sh->doc = w->doc;
    sh->placement = w->placement;
    sh->sources = w->sources;
    sh->egress_bytes = w->egress_bytes;
    sh->ix = m->nshapes;
    sh->kind = kind;
    sh->scale_micro = scale_micro;
    for (size_t k = 0; k < m->noffers; k++)
        if (!strcmp(m->offers[k].kind, kind)) sh->nopts++;
    m->shapes = fbi_xrealloc(m->shapes, (m->nshapes + 1) * sizeof *m->shapes);
    m->shapes[m->nshapes] = sh;
    fbi_smap_put(&m->shape_idx, sh->key, m->nshapes++, NULL);
    return sh;
}

void fbi_plan_shape_alloc(const model *m, shape *sh)
{
    sh->opts = fbi_xcalloc(sh->nopts ? sh->nopts : 1, sizeof *sh->opts);
    for (size_t k = 0, n = 0; k < m->noffers; k++)
        if (!strcmp(m->offers[k].kind, sh->kind)) sh->opts[n++].oi = (uint16_t)k;
}

/* The split placing workload i of the set as two parts, or NULL. */
static const fbi_plan_split *split_of(const model *m, size_t i)
{
    const char *name = doc_name(fbi_spec_doc(m->set, i)), *tenant = fb_spec_tenant(m->set, i);
    for (size_t k = 0; k < m->o->nsplits; k++) {
        const fbi_plan_split *sp = &m->o->splits[k];
        if (!strcmp(sp->name, name) && !strcmp(sp->tenant, tenant)) return sp;
    }
    return NULL;
}

/* What w keeps of its document once it is evaluated (wl.placement,
 * sources, egress_bytes, labels). */
static void keep_members(model *m, wl *w, size_t spec_i)
{
    w->spec_i = spec_i;
    w->placement = fbi_plan_intern_json(m, jpath(w->doc, "spec", "placement"));
    json_t *traffic = jpath(w->doc, "spec", "traffic");
    w->sources = json_incref(json_object_get(traffic, "sources"));
    w->egress_bytes = (uint64_t)json_integer_value(json_object_get(traffic, "egressBytesPerMonth"));
    w->labels = fbi_plan_intern_json(m, jpath(w->doc, "metadata", "labels"));
}

/* The two parts of hybrid workload i as workloads: the container part
 * keeps the workload's name (links, affinity and federations name it);
 * the function part is named sp->function_name. */
static void add_parts(model *m, size_t i, const fbi_plan_split *sp)
{
    for (int part = PART_CONTAINER; part <= PART_FUNCTION; part++) {
        wl *w = &m->w[m->nw++];
        w->doc = json_incref(part == PART_CONTAINER ? sp->container_doc : sp->function_doc);
        keep_members(m, w, i);
        w->name = fbi_xstrdup(doc_name(w->doc));
        w->base = w->name;
        w->tenant = fb_spec_tenant(m->set, i);
        w->kind = part == PART_CONTAINER ? "Container" : "Function";
        w->nreplicas = 1;
        w->fixed = -1;
        w->chosen = -1;
        w->sp_w = -1;
        w->part = part;
        w->split = sp;
        w->sh = shape_of(m, w, part == PART_CONTAINER ? sp->replicas_micro : 0);
        w->nopts = w->sh->nopts;
        if (m->o->stats) {
            m->o->stats->workloads++;
            m->o->stats->candidates += w->nopts;
        }
    }
}

void fbi_plan_build_workloads(model *m)
{
    size_t n = fb_spec_count(m->set);
    for (size_t i = 0; i < n; i++) check_input(m, i, fbi_spec_doc(m->set, i));
    if (m->invalid) return;
    build_offers(m);
    json_t *h = json_real(m->hours);
    char *ht = json_dumps(h, JSON_ENCODE_ANY | JSON_COMPACT);
    snprintf(m->hours_text, sizeof m->hours_text, "%s", ht);
    free(ht);
    json_decref(h);
    size_t nw = 0;
    for (size_t i = 0; i < n; i++) {
        if (split_of(m, i)) {
            nw += 2;
            continue;
        }
        json_t *spread = jpath(jpath(fbi_spec_doc(m->set, i), "spec", "placement"), "spread", NULL);
        int64_t minr = json_integer_value(json_object_get(spread, "minRegions"));
        int64_t minp = json_integer_value(json_object_get(spread, "minProviders"));
        nw += minr > 1 || minp > 1 ? (size_t)(minr > minp ? minr : minp) : 1;
    }
    m->w = fbi_xcalloc(nw ? nw : 1, sizeof *m->w);
    for (size_t i = 0; i < n; i++) {
        json_t *doc = fbi_spec_doc(m->set, i);
        const fbi_plan_split *sp = split_of(m, i);
        if (sp) {
            add_parts(m, i, sp);
            continue;
        }
        json_t *spread = jpath(jpath(doc, "spec", "placement"), "spread", NULL);
        int64_t minr = json_integer_value(json_object_get(spread, "minRegions"));
        int64_t minp = json_integer_value(json_object_get(spread, "minProviders"));
        int reps = (int)(minr > minp ? minr : minp);
        if (reps < 1) reps = 1;
        for (int r = 0; r < reps; r++) {
            wl *w = &m->w[m->nw++];
            w->doc = reps > 1 ? replica_doc(doc, r, reps) : json_incref(doc);
            keep_members(m, w, i);
            w->name = reps > 1 ? fbi_xasprintf("%s#%d", doc_name(doc), r + 1) : fbi_xstrdup(doc_name(doc));
            w->base = reps > 1 ? fbi_plan_intern(m, doc_name(doc)) : w->name;
            w->tenant = fb_spec_tenant(m->set, i);
            w->kind = fb_spec_kind(m->set, i);
            w->replica = r;
            w->nreplicas = reps;
            w->fixed = -1;
            w->bb_fixed = -1;
            w->chosen = -1;
            w->sp_w = -1;
            w->sh = shape_of(m, w, 0);
            w->nopts = w->sh->nopts;
            if (m->o->stats) {
                m->o->stats->workloads++;
                m->o->stats->candidates += w->nopts;
            }
        }
        /* the replicas have their own copies: the set's is not read again */
        if (reps > 1 && m->o->release_specs) fbi_spec_release(m->set, i);
    }
}

fb_status fbi_plan_open_catalog(model *m)
{
    json_t *cc = json_object_get(m->b->config, "catalog");
    const char *dir = m->o->catalog_dir ? m->o->catalog_dir : jstr(cc, "dir");
    const char *ov = m->o->overrides ? m->o->overrides : jstr(cc, "overrides");
    /* Catalog warnings (e.g. an unusual tier) belong to `catalog validate`;
     * a plan reports only the errors that stop it. */
    fb_diag *cd = fb_diag_new();
    fb_status st = fbi_catalog_open(dir, ov, &m->cat, cd);
    if (m->o->stats) m->o->stats->catalog_opens++;
    for (size_t i = 0; i < fb_diag_count(cd); i++)
        if (fb_diag_severity(cd, i) == FB_SEV_ERROR)
            fb_diag_add(m->diag, FB_SEV_ERROR, fb_diag_file(cd, i), fb_diag_line(cd, i),
                        fb_diag_column(cd, i), fb_diag_pointer(cd, i), fb_diag_summary(cd, i),
                        fb_diag_detail(cd, i));
    fb_diag_free(cd);
    if (st != FB_OK) return st;
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(cc, "params"), k, v) {
        char *text = json_is_string(v) ? fbi_xstrdup(json_string_value(v))
                                       : json_dumps(v, JSON_ENCODE_ANY);
        st = fbi_catalog_set_param(m->cat, k, text, m->diag);
        free(text);
        if (st != FB_OK) return st;
    }
    return FB_OK;
}

