/* lifecycle.c - the deploy life cycle shared by the verbs (apply, observe,
 * destroy). The journal/record discipline lives here so every driver gets
 * it: the intent row and every cloud-side id the driver reports are in the
 * store before the call's next request that may change anything, the
 * outcome is written last (through the writer, writer.h, so a parallel
 * apply's lanes do not queue on the store). A crash at any point leaves
 * either nothing or a row that names what to clean up. */
#include "config.h"
#include "broker/broker.h"
#include "broker/fanout.h"
#include "base/call.h"
#include "base/diag.h"
#include "base/jsonread.h"
#include "base/jsonwrite.h"
#include "spec/spec.h"
#include "base/util.h"
#include "identity/identity.h"
#include "state/lock.h"
#include "state/state.h"
#include "state/writer.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ---- the life cycle ------------------------------------------------------- */

typedef struct lane lane;

typedef struct lifecycle {
    fbi_broker *b;
    fb_store *store;
    fbi_deploy_item *items;
    int dry_run;
    fbi_writer *writer; /* apply, destroy: the store's writes (NULL: at once) */
    lane *lanes;        /* apply, destroy: one per item */
    json_t **placements; /* destroy: per item, where to adopt a deployment found by name */
    int64_t settle_until_ms; /* destroy: see fbi_destroy */
    json_t *open_rows;  /* apply, destroy: the deployments ("tenant\x1fworkload\x1fprovider")
                           with journal rows in 'intent' when the run began; NULL: unknown */
} lifecycle;

/* What apply and destroy write for one workload, through the writer
 * (writer.h): the journal's intent (apply: with the 'creating' row), each
 * recorded resource, the outcome. jid is the intent's row, set on the
 * writer's thread and read there by the outcome, which is queued after
 * it. */
struct lane {
    const char *op; /* "apply" or "destroy" */
    fbi_write_slot slot;
    fbi_writer *writer;
    fb_store *store;
    fbi_deploy_item *it;
    const char *driver; /* borrowed from the registry */
    char *tenant, *name, *service, *region;
    long long jid;
    int sent;           /* lane's thread: a request that may change something went out */
    json_t *unrecorded; /* writer's thread: resources created whose record failed; read
                           by the lane after a barrier or after the writer finished */
    int told;           /* the lane's diagnostics already say what is unrecorded */
    int spec_stored;    /* writer's thread: the intent's commit stored the spec with the
                           row it created (the outcome need not write it again) */
    int interrupted;    /* an earlier run may have left journal rows open about it */
};

/* The texts of one write; which fields count depends on the write. */
typedef struct lane_write {
    lane *lane;
    char *a, *b, *c, *d; /* owned */
    char *e;             /* owned: outcome: the callers granted (fbi_callers_canonical), or NULL */
    fb_status st;        /* outcome: the verb's status */
    int created;         /* outcome: something may exist at the provider */
    int record;          /* a record (a: the resource; b, c, d: its type, id, region): a
                            failure leaves it unrecorded */
    int intent;          /* the intent (b: the spec stored with the row it creates) */
} lane_write;

/* The writer settled w: a record that did not reach the store (its own
 * failure or its transaction's) is remembered, so the messages say that
 * the resource exists. Writer's thread. */
static void lane_write_done(void *ud, fb_status st)
{
    lane_write *w = ud;
    if (w->record && st != FB_OK) {
        lane *l = w->lane;
        json_t *r = fbi_json_reads(w->a, 0, NULL);
        if (r) {
            if (!l->unrecorded) l->unrecorded = json_array();
            json_array_append_new(l->unrecorded, r);
        }
    }
    /* committed: a deployment row apply created holds the spec already */
    if (w->intent && st == FB_OK && w->b && !strcmp(w->lane->op, "apply") && !w->lane->it->deployment)
        w->lane->spec_stored = 1;
    free(w->a);
    free(w->b);
    free(w->c);
    free(w->d);
    free(w->e);
    free(w);
}

static void lane_put(lane *l, fbi_write_fn fn, lane_write *w)
{
    w->lane = l;
    fbi_writer_put(l->writer, l->store, &l->slot, fn, w, lane_write_done);
}

/* The intent (a: journal detail) and, for a workload apply creates, a
 * deployment row in state 'creating' with the spec it is applied from (b),
 * so a crash between a create and the end of apply leaves something
 * `destroy` finds, by the name the spec gives it when no id was recorded. */
static fb_status write_intent(fb_store *s, void *ud, fb_diag *d)
{
    lane_write *w = ud;
    lane *l = w->lane;
    fb_status st = fb_store_journal_begin(s, l->op, l->tenant, l->name, l->driver, w->a,
                                          &l->jid, d);
    if (st == FB_OK && !strcmp(l->op, "apply") && !l->it->deployment)
        return fbi_store_put_deployment_intent(s, l->tenant, l->name, l->driver, l->service,
                                               l->region, "creating", w->b, l->it->federation, d);
    if (st == FB_OK && !strcmp(l->op, "apply") && l->it->federation)
        st = fbi_store_set_deployment_federation(s, l->tenant, l->name, l->driver, l->region,
                                                 l->it->federation, d);
    return st;
}

/* A resource the driver recorded (a: its JSON). */
static fb_status write_record(fb_store *s, void *ud, fb_diag *d)
{
    lane_write *w = ud;
    lane *l = w->lane;
    return fbi_store_put_resource_fields(s, l->tenant, l->name, l->driver, w->b, w->c, w->d,
                                         w->a, d);
}

/* Closes the journal rows an interrupted run left open about this lane's
 * deployment: this run took over (it holds the state lock, so their
 * writers are gone). ok: this run's verb succeeded. */
static void supersede(fb_store *s, lane *l, int ok, fb_diag *d)
{
    /* nearly always nothing to close: the statement scans every open row
     * (a twentieth of the writer's work in a parallel apply) */
    if (!l->interrupted) return;
    int apply = !strcmp(l->op, "apply");
    char *reason = fbi_xasprintf(
        "interrupted before its outcome was stored; %s (journal row %lld) %s", l->op, l->jid,
        !ok ? "failed too: see that row"
        : apply ? "then adopted what it had created and finished the deployment"
                : "then deleted the deployment");
    fbi_store_journal_supersede(s, l->tenant, l->name, l->driver, l->region, l->jid,
                                !ok ? "failed" : apply ? "adopted" : "deleted", reason, d);
    free(reason);
}

/* The outcome: on success the workload (a), its deployment applied (b:
 * state) with its spec, and any result (c); on failure the deployment kept
 * as failed when something may exist, else removed; the journal row closed
 * (d), and the rows of interrupted runs about the same deployment. */
static fb_status write_outcome(fb_store *s, void *ud, fb_diag *d)
{
    lane_write *w = ud;
    lane *l = w->lane;
    json_t *wl = l->it->workload;
    fb_status st = w->st;
    if (st == FB_OK) {
        st = fb_store_put_workload(s, l->tenant, l->name,
                                   json_string_value(json_object_get(wl, "kind")), w->a,
                                   json_string_value(json_object_get(wl, "specHash")), d);
        if (st == FB_OK)
            st = fb_store_put_deployment(s, l->tenant, l->name, l->driver, l->service, l->region,
                                         "applied", w->b ? w->b : "{}", d);
        /* a deployment this run created got its spec (this same text) with
         * the intent: writing the large text again was a tenth of the
         * writer's work */
        if (st == FB_OK && (l->it->deployment || !l->spec_stored))
            st = fbi_store_set_deployment_spec(s, l->tenant, l->name, l->driver, l->region, w->a, d);
        if (st == FB_OK && w->c) st = fb_store_put_result(s, l->tenant, l->name, "result", w->c, d);
        if (st == FB_OK && w->e)
            st = fbi_store_set_deployment_callers(s, l->tenant, l->name, l->driver, l->region, w->e, d);
    } else if (w->created) {
        /* keep the row (and the state of the last successful apply) so
         * `fedbroker destroy` can remove what exists, or look it up by
         * name when its id was never recorded */
        fb_store_put_deployment(s, l->tenant, l->name, l->driver, l->service, l->region,
                                "failed", w->b ? w->b : "{}", d);
    } else {
        /* nothing was sent that could have created anything: no row to
         * leave behind */
        fb_store_delete_deployment(s, l->tenant, l->name, l->driver, l->region, d);
    }
    if (l->jid) {
        fb_store_journal_end(s, l->jid, st == FB_OK && w->st == FB_OK ? "done" : "failed", w->d, d);
        supersede(s, l, st == FB_OK && w->st == FB_OK, d);
    }
    /* a failed apply is the item's failure already, not the store's */
    return w->st == FB_OK ? st : FB_OK;
}

/* destroy's outcome: the deployment (and its resources) gone from the
 * store once gone at the provider, and the journal row closed (d), with
 * the rows of interrupted runs about the same deployment. */
static fb_status write_destroyed(fb_store *s, void *ud, fb_diag *d)
{
    lane_write *w = ud;
    lane *l = w->lane;
    fb_status st = w->st == FB_OK
                       ? fb_store_delete_deployment(s, l->tenant, l->name, l->driver, l->region, d)
                       : FB_OK;
    if (l->jid) {
        fb_store_journal_end(s, l->jid, st == FB_OK && w->st == FB_OK ? "done" : "failed", w->d, d);
        supersede(s, l, st == FB_OK && w->st == FB_OK, d);
    }
    return st;
}

/* Where host->record lands: queued, stored before the call's next change.
 * The record's type, id and region travel with its text (b, c, d), so the
 * writer need not parse it again. */
static fb_status on_record(void *ud, const char *driver, const json_t *resource,
                           const char *resource_json, fb_diag *d)
{
    (void)driver;
    (void)d;
    lane *l = ud;
    lane_write *w = fbi_xcalloc(1, sizeof *w);
    w->a = fbi_xstrdup(resource_json);
    const char *type = json_string_value(json_object_get(resource, "type"));
    const char *id = json_string_value(json_object_get(resource, "id"));
    const char *region = json_string_value(json_object_get(resource, "region"));
    w->b = type ? fbi_xstrdup(type) : NULL;
    w->c = id ? fbi_xstrdup(id) : NULL;
    w->d = region ? fbi_xstrdup(region) : NULL;
    w->record = 1;
    lane_put(l, write_record, w);
    return FB_OK;
}

/* Says, once, that what the lane created exists at the provider although
 * the store could not record it: where it is, and how it will be found. */
static void tell_unrecorded(lane *l, fb_diag *d)
{
    if (l->told || json_array_size(l->unrecorded) == 0) return;
    l->told = 1;
    size_t i;
    json_t *r;
    json_array_foreach(l->unrecorded, i, r) {
        const char *type = json_string_value(json_object_get(r, "type"));
        const char *id = json_string_value(json_object_get(r, "id"));
        const char *name = json_string_value(json_object_get(r, "name"));
        const char *region = json_string_value(json_object_get(r, "region"));
        char *m = fbi_xasprintf("%s %s%s%s%s exists at %s in %s, but the state store could "
                                "not record it", type ? type : "resource", id ? id : "?",
                                name ? " (name " : "", name ? name : "", name ? ")" : "",
                                l->driver, region ? region : l->region ? l->region : "?");
        char *hint = fbi_xasprintf(
            "fedbroker stopped changing %s/%s. Its deployment stays in the store without this "
            "id: once the store works again (free disk space; see the store's message), the "
            "next `fedbroker apply` of it or `fedbroker destroy` finds it by its name",
            l->tenant, l->name);
        fb_diag_add(d, FB_SEV_ERROR, NULL, 0, 0, NULL, m, hint);
        free(m);
        free(hint);
    }
}

static fb_status on_barrier(void *ud, fb_diag *d)
{
    lane *l = ud;
    fb_status st = fbi_writer_wait(l->writer, &l->slot, d);
    if (st != FB_OK && json_array_size(l->unrecorded))
        tell_unrecorded(l, d);
    else if (st != FB_OK && !l->told)
        fb_diag_add(d, FB_SEV_ERROR, NULL, 0, 0, NULL,
                    "not sent: the state store could not record this workload's progress",
                    "nothing more is changed for it until the store works again; see the "
                    "store's message above");
    if (st == FB_OK) l->sent = 1;
    return st;
}

static const char *wl_name(json_t *w)
{
    return json_string_value(json_object_get(json_object_get(w, "metadata"), "name"));
}

static const char *wl_tenant(json_t *w)
{
    const char *t = json_string_value(json_object_get(json_object_get(w, "metadata"), "tenant"));
    return t ? t : "default";
}

/* The driver and its context for an item, refused (with a diagnostic on
 * the item) when the driver cannot do `what` (deploy, observe, delete):
 * render-only drivers have no life cycle. Contexts are configured before
 * the fan-out (configure runs on the main thread only). */
static fb_status item_driver(fbi_broker *b, fbi_deploy_item *it, const char *what,
                             const fb_driver **drv, fb_driver_ctx **ctx)
{
    json_t *where = it->placement ? it->placement : it->deployment;
    const char *provider = json_string_value(json_object_get(where, "provider"));
    if (!provider) {
        fb_diag_add(it->diag, FB_SEV_ERROR, NULL, 0, 0, NULL, "no provider for this workload", NULL);
        return it->status = FB_INVALID;
    }
    fb_status st = fb_registry_context(b->reg, provider, drv, ctx, it->diag);
    if (st != FB_OK) return it->status = st;
    if (!((*drv)->caps & FB_CAP_DEPLOY)) {
        char *m = fbi_xasprintf("driver %s cannot %s (it renders only)", (*drv)->name, what);
        fb_diag_add(it->diag, FB_SEV_ERROR, NULL, 0, 0, NULL, m,
                    "use `fedbroker render` to get its documents, or place the workload elsewhere");
        free(m);
        return it->status = FB_NOTSUP;
    }
    return FB_OK;
}

/* Calls a JSON-in/JSON-out verb and parses its output into it->output. */
static fb_status call_verb(fbi_deploy_item *it, const char *verb,
                           fb_status (*fn)(fb_driver_ctx *, const char *, char **, fb_diag *),
                           fb_driver_ctx *ctx, const char *in_text)
{
    char *out = NULL;
    /* the provider-call metrics' verb: the first word ("apply (to adopt
     * ...)" is an apply) */
    fbi_call *call = fbi_call_of(it->diag);
    if (call) snprintf(call->verb, sizeof call->verb, "%.*s", (int)strcspn(verb, " "), verb);
    fb_status st = fn(ctx, in_text, &out, it->diag);
    if (out) {
        json_error_t je;
        it->output = fbi_json_reads(out, 0, &je);
        fbi_call_redact_json(fbi_call_of(it->diag), it->output); /* printed and stored */
        if (!it->output && st == FB_OK) {
            char *m = fbi_xasprintf("the driver's %s output is not JSON: %s", verb, je.text);
            fb_diag_add(it->diag, FB_SEV_ERROR, NULL, 0, 0, NULL, m, NULL);
            free(m);
            st = FB_INTERNAL;
        }
        free(out);
    }
    if (st != FB_OK && fb_diag_errors(it->diag) == 0) {
        char *m = fbi_xasprintf("%s failed (%s) and the driver said nothing more", verb,
                                fbi_status_name(st));
        fb_diag_add(it->diag, FB_SEV_ERROR, NULL, 0, 0, NULL, m, NULL);
        free(m);
    }
    return st;
}


/* Binds lane l to item it and to call (the barrier goes through the
 * writer) and queues the intent (detail and spec: new texts or NULL,
 * stolen; spec is stored with a deployment apply creates). */
static void lane_begin(lane *l, const lifecycle *lc, const char *op, fbi_deploy_item *it,
                       const char *driver, const char *tenant, const char *name,
                       const char *service, const char *region, fbi_call *call, char *detail,
                       char *spec)
{
    l->op = op;
    l->writer = lc->writer;
    l->store = lc->store;
    l->it = it;
    l->driver = driver;
    if (lc->open_rows) {
        char *key = fbi_xasprintf("%s\x1f%s\x1f%s", tenant, name, driver);
        l->interrupted = json_object_get(lc->open_rows, key) != NULL;
        free(key);
    } else {
        l->interrupted = 1;
    }
    l->tenant = fbi_xstrdup(tenant);
    l->name = fbi_xstrdup(name);
    l->service = service ? fbi_xstrdup(service) : NULL;
    l->region = region ? fbi_xstrdup(region) : NULL;
    call->barrier_cb = on_barrier;
    call->barrier_ud = l;
    lane_write *w = fbi_xcalloc(1, sizeof *w);
    w->a = detail;
    w->b = spec;
    w->intent = 1;
    lane_put(l, write_intent, w);
}

static fb_status apply_one_timed(lifecycle *lc, fbi_deploy_item *it, size_t i);

/* apply_one with its wall time in the item (apply's progress lines). */
static fb_status apply_one(void *ud, size_t i)
{
    lifecycle *lc = ud;
    fbi_deploy_item *it = &lc->items[i];
    double t0 = fbi_mono_ms();
    fb_status st = apply_one_timed(lc, it, i);
    it->elapsed_ms = fbi_mono_ms() - t0;
    return st;
}

/* {"spiffeId", "issuer", "trustDomain", "audience", "tokenUrl"?} of a workload (new), or
 * NULL when the configuration names no trust domain (or it is invalid: the
 * identity verbs say why). audience: what AWS STS expects by default. */
static json_t *workload_identity(fbi_broker *b, const char *tenant, const char *name)
{
    fbi_identity_cfg cfg;
    fb_diag *d = fb_diag_new();
    json_t *out = NULL;
    if (fbi_identity_cfg_load(b->config, 0, &cfg, d) == FB_OK) {
        char *id = cfg.trust_domain ? fbi_spiffe_workload_id(cfg.trust_domain, tenant, name, d)
                                    : NULL;
        if (id)
            out = json_pack("{s:s,s:s,s:s,s:s,s:s?}", "spiffeId", id, "issuer", cfg.issuer,
                            "trustDomain", cfg.trust_domain, "audience", "sts.amazonaws.com",
                            "tokenUrl", cfg.token_url);
        free(id);
        fbi_identity_cfg_free(&cfg);
    }
    fb_diag_free(d);
    return out;
}

/* s with each {tenant} and {workload} replaced (new). */
static char *subst_names(const char *s, const char *tenant, const char *workload)
{
    fbi_buf b;
    fbi_buf_init(&b);
    while (*s) {
        if (!strncmp(s, "{tenant}", 8)) {
            fbi_buf_puts(&b, tenant);
            s += 8;
        } else if (!strncmp(s, "{workload}", 10)) {
            fbi_buf_puts(&b, workload);
            s += 10;
        } else {
            fbi_buf_putc(&b, *s++);
        }
    }
    return fbi_buf_steal(&b);
}

/* A caller's own issuer (docs/identity.md, "A caller's own issuer"): the
 * offer of the caller's driver and region may name the issuer its workloads
 * hold tokens of, and their subject ({tenant} and {workload} filled in);
 * caller (borrowed) gets {"workloadIssuer": {"issuer", "subject"}}. The
 * offers were collected before the lanes started (fbi_apply), so this
 * only reads them. */
static void caller_issuer(fbi_broker *b, const char *tenant, json_t *caller)
{
    const char *prov = json_string_value(json_object_get(caller, "provider"));
    const char *region = json_string_value(json_object_get(caller, "region"));
    const char *name = json_string_value(json_object_get(caller, "name"));
    size_t i;
    json_t *o;
    if (!b->offers || !prov || !name) return;
    json_array_foreach(b->offers, i, o) {
        const char *op = json_string_value(json_object_get(o, "provider"));
        const char *orr = json_string_value(json_object_get(o, "region"));
        const json_t *wi = json_object_get(o, "workloadIssuer");
        const char *iss = json_string_value(json_object_get(wi, "issuer"));
        const char *sub = json_string_value(json_object_get(wi, "subject"));
        if (!op || strcmp(op, prov) != 0 || (region && orr && strcmp(orr, region) != 0) || !iss || !sub)
            continue;
        char *subject = subst_names(sub, tenant, name);
        json_object_set_new(caller, "workloadIssuer", json_pack("{s:s,s:s}", "issuer", iss, "subject", subject));
        free(subject);
        return;
    }
}

/* qsort: by name, provider, region */
static int caller_cmp(const void *a, const void *b)
{
    const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
    static const char *const keys[] = {"name", "provider", "region"};
    for (size_t k = 0; k < 3; k++) {
        const char *p = json_string_value(json_object_get(x, keys[k]));
        const char *q = json_string_value(json_object_get(y, keys[k]));
        int c = strcmp(p ? p : "", q ? q : "");
        if (c) return c;
    }
    return 0;
}

char *fbi_callers_canonical(const json_t *callers)
{
    size_t n = json_array_size(callers), m = 0;
    json_t **v = fbi_xcalloc(n ? n : 1, sizeof *v);
    for (size_t i = 0; i < n; i++) {
        const json_t *c = json_array_get(callers, i);
        v[i] = json_pack("{s:s?,s:s?,s:s?}", "name", json_string_value(json_object_get(c, "name")),
                         "provider", json_string_value(json_object_get(c, "provider")), "region",
                         json_string_value(json_object_get(c, "region")));
    }
    qsort(v, n, sizeof *v, caller_cmp);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *last = m ? json_array_get(out, m - 1) : NULL;
        if (last && caller_cmp(&v[i], &last) == 0) { /* a caller named twice */
            json_decref(v[i]);
            continue;
        }
        json_array_append_new(out, v[i]);
        m++;
    }
    free(v);
    char *text = fbi_json_canonical(out);
    json_decref(out);
    return text;
}

/* The n texts of parts joined into one new string, allocated once: a
 * buffer grown by doubling from 64 bytes was realloc'd ~12 times per
 * workload here; joining at once took 7 M of the lanes' 580 M
 * instructions at 1,000 workloads (bench/README-aws.md, Stop 27). */
static char *concat(const char *const *parts, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += strlen(parts[i]);
    char *out = fbi_xmalloc(total + 1), *p = out;
    *p = '\0';
    for (size_t i = 0; i < n; i++) p = stpcpy(p, parts[i]);
    return out;
}

/* The driver's input text: the members of in other than the workload
 * and the placement, written, joined with the two given texts (canonical
 * texts of those members; NULL: in is written whole). New text, or NULL
 * when in cannot be written. */
static char *joined_input(const json_t *in, const char *spec_text, const char *place_text)
{
    if (!spec_text || !place_text) return fbi_json_write(in, 0);
    json_t *rest = json_copy((json_t *)in); /* shallow: the members are shared */
    json_object_del(rest, "workload");
    json_object_del(rest, "placement");
    char *rt = fbi_json_write(rest, 0);
    json_decref(rest);
    if (!rt) return fbi_json_write(in, 0);
    /* the rest's members and its closing brace */
    const char *parts[] = {"{\"workload\":", spec_text, ",\"placement\":", place_text,
                           strcmp(rt, "{}") != 0 ? "," : "", rt + 1};
    char *out = concat(parts, sizeof parts / sizeof *parts);
    free(rt);
    return out;
}

/* The journal's detail of an apply: the canonical text of {"placement",
 * "specHash"} (keys in that order when sorted), made from the placement's
 * canonical text (NULL: from the values). New text. */
static char *intent_detail(const fbi_deploy_item *it, const char *place_text)
{
    json_t *hash = json_object_get(it->workload, "specHash");
    if (!place_text) {
        json_t *detail = json_pack("{s:O,s:O}", "placement", it->placement, "specHash", hash);
        char *t = fbi_json_canonical(detail);
        json_decref(detail);
        return t;
    }
    json_t *h = json_object();
    if (hash) json_object_set(h, "specHash", hash);
    char *ht = fbi_json_canonical(h);
    json_decref(h);
    int more = ht && strcmp(ht, "{}") != 0;
    const char *parts[] = {"{\"placement\":", place_text, more ? "," : "", more ? ht + 1 : "}"};
    char *out = concat(parts, sizeof parts / sizeof *parts);
    free(ht);
    return out;
}

static fb_status apply_one_timed(lifecycle *lc, fbi_deploy_item *it, size_t i)
{
    const fb_driver *drv;
    fb_driver_ctx *ctx;
    fb_status st = item_driver(lc->b, it, "deploy", &drv, &ctx);
    if (st != FB_OK) return st;
    const char *tenant = wl_tenant(it->workload), *name = wl_name(it->workload);
    json_t *in = json_pack("{s:O,s:O,s:O?,s:s}", "workload", it->workload, "placement",
                           it->placement, "deployment", it->deployment, "mode",
                           lc->dry_run ? "dry-run" : "apply");
    /* the workload's identity, when the broker is an issuer: a driver that
     * binds identities (docs/identity.md) makes the provider trust it */
    json_t *ident = workload_identity(lc->b, tenant, name);
    char *callers_text = NULL; /* stored with the outcome: what the plan compares */
    if (ident) {
        /* each caller named by its SPIFFE ID too: the binding a driver
         * makes for it names the identity, not the workload */
        json_t *callers = json_deep_copy(json_object_get(it->peers, "callers"));
        size_t k;
        json_t *c;
        json_array_foreach(callers, k, c) {
            fb_diag *d = fb_diag_new();
            char *cid = fbi_spiffe_workload_id(json_string_value(json_object_get(ident, "trustDomain")),
                                               tenant, json_string_value(json_object_get(c, "name")), d);
            if (cid) json_object_set_new(c, "spiffeId", json_string(cid));
            free(cid);
            fb_diag_free(d);
            caller_issuer(lc->b, tenant, c);
        }
        if (!callers) callers = json_array();
        callers_text = fbi_callers_canonical(callers);
        json_object_set_new(ident, "callers", callers);
        json_t *considered = json_object_get(it->peers, "considered");
        if (considered) json_object_set(ident, "considered", considered);
        json_t *callees = json_object_get(it->peers, "callees");
        if (callees) json_object_set(ident, "callees", callees);
        json_object_set_new(in, "identity", ident);
    }
    /* One serialisation for validate and apply. The workload's and the
     * placement's canonical texts are made anyway (the spec stored with
     * the deployment, the journal's detail), so the input is put together
     * from them and the rest: writing the whole input again was 3 % of an
     * AWS apply's instructions (bench/README-aws.md, perf4). Key order and
     * the writer's choice of digits for a real do not matter to a driver,
     * which parses the text. */
    char *spec_text = it->spec_text ? fbi_xstrdup(it->spec_text) : fbi_spec_text(it->workload);
    char *own_place = NULL;
    const char *place_text = it->placement_text;
    if (!place_text && it->placement) place_text = own_place = fbi_json_canonical(it->placement);
    char *in_text = joined_input(in, spec_text, place_text);
    json_decref(in);
    st = drv->validate(ctx, in_text, it->diag);
    if (st != FB_OK) {
        free(in_text);
        free(callers_text);
        free(spec_text);
        free(own_place);
        return it->status = st;
    }
    fbi_call call;
    fbi_call_begin(&call, it->diag, drv->name);
    call.dry_run = lc->dry_run;
    call.tenant = tenant; /* the portable secrets the driver may ask for */
    lane *l = lc->dry_run ? NULL : &lc->lanes[i];
    /* the spec text is stored twice (with the intent, and with the
     * outcome); made once: serialising the workload was a tenth of the
     * lane's CPU (bench/README-k8s.md) */
    if (l) {
        lane_begin(l, lc, "apply", it, drv->name, tenant, name,
                   json_string_value(json_object_get(it->placement, "service")),
                   json_string_value(json_object_get(it->placement, "region")), &call,
                   intent_detail(it, place_text), spec_text ? fbi_xstrdup(spec_text) : NULL);
        call.record_cb = on_record;
        call.record_ud = l;
    }
    free(own_place);
    st = call_verb(it, "apply", drv->apply, ctx, in_text);
    free(in_text);
    if (!l) {
        it->requests = call.dry_requests ? json_incref(call.dry_requests) : json_array();
    } else {
        /* queued, not waited for: fbi_apply collects the store's verdict */
        json_t *state = json_object_get(it->output, "state");
        lane_write *w = fbi_xcalloc(1, sizeof *w);
        w->st = st;
        /* a change whose answer was lost (a timeout, a reset: RETRYABLE)
         * or not understood (INTERNAL) may still have created something,
         * so its row stays; a provider's clear refusal created nothing */
        w->created = json_array_size(call.recorded) > 0 || it->deployment ||
                     (l->sent && (st == FB_RETRYABLE || st == FB_INTERNAL));
        if (st == FB_OK) {
            w->a = spec_text;
            spec_text = NULL;
            w->b = state ? fbi_json_canonical(state) : fbi_xstrdup("{}");
            json_t *result = json_object_get(it->output, "result");
            if (result) w->c = fbi_json_canonical(result);
            w->e = callers_text;
            callers_text = NULL;
        } else if (w->created) {
            json_t *prior = json_object_get(it->deployment, "state");
            w->b = fbi_json_canonical(prior ? prior : json_object_get(it->output, "state"));
        }
        json_t *j = json_pack("{s:O,s:o}", "resources", call.recorded,
                              "diagnostics", fbi_diag_json(it->diag));
        w->d = fbi_json_canonical(j);
        json_decref(j);
        lane_put(l, write_outcome, w);
    }
    free(spec_text);
    free(callers_text);
    fbi_call_end(&call, it->diag);
    return it->status = st;
}

static fb_status observe_one(void *ud, size_t i)
{
    lifecycle *lc = ud;
    fbi_deploy_item *it = &lc->items[i];
    const fb_driver *drv;
    fb_driver_ctx *ctx;
    fb_status st = item_driver(lc->b, it, "observe", &drv, &ctx);
    if (st != FB_OK) return st;
    json_t *in = json_pack("{s:O,s:O?}", "deployment", it->deployment, "workload", it->workload);
    char *in_text = fbi_json_canonical(in);
    json_decref(in);
    fbi_call call;
    fbi_call_begin(&call, it->diag, drv->name);
    /* the tenant's portable secrets' versions (secret-version://NAME), so a
     * driver can report a copy older than the broker's latest as drift */
    call.tenant = it->workload ? wl_tenant(it->workload) : NULL;
    st = call_verb(it, "observe", drv->observe, ctx, in_text);
    fbi_call_end(&call, it->diag);
    free(in_text);
    return it->status = st;
}

/* A deployment that names nothing at its provider: no recorded resource
 * and no state (left by a crash during its first create, a full disk, or
 * a create whose answer was lost). Only the deterministic name its spec
 * gives it can find it. */
static int names_nothing(json_t *dep)
{
    json_t *state = json_object_get(dep, "state");
    return json_array_size(json_object_get(dep, "resources")) == 0 &&
           (!state || json_is_null(state) || (json_is_object(state) && json_object_size(state) == 0));
}

/* Observes the item's deployment with its spec, so the driver looks it up
 * by name. *exists: the provider holds it (any status but "missing"). */
static fb_status look_up(fbi_deploy_item *it, const fb_driver *drv, fb_driver_ctx *ctx, int *exists)
{
    json_t *in = json_pack("{s:O,s:O}", "deployment", it->deployment, "workload", it->workload);
    char *in_text = fbi_json_canonical(in);
    json_decref(in);
    json_decref(it->output);
    it->output = NULL;
    fb_status st = call_verb(it, "observe", drv->observe, ctx, in_text);
    free(in_text);
    const char *status = json_string_value(json_object_get(it->output, "status"));
    *exists = st == FB_OK && !(status && !strcmp(status, "missing"));
    json_decref(it->output);
    it->output = NULL;
    return st;
}

static void sleep_until_ms(int64_t until)
{
    for (int64_t left; (left = until - fbi_wall_ms()) > 0;) {
        struct timespec ts = {(time_t)(left / 1000), (long)(left % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* destroy of a deployment that names nothing (names_nothing): look it up
 * by name; when the provider has it, adopt it (the driver's apply, which
 * is idempotent and records its ids) and delete it; forget it only once
 * the provider says it does not exist, after the window in which an
 * interrupted run's requests may still land. Lane's thread. */
static fb_status destroy_by_name(lifecycle *lc, size_t i, const fb_driver *drv,
                                 fb_driver_ctx *ctx, fbi_call *call)
{
    fbi_deploy_item *it = &lc->items[i];
    lane *l = &lc->lanes[i];
    if (!it->workload || !lc->placements[i]) {
        char *m = fbi_xasprintf("%s/%s on %s:%s has no cloud id recorded and %s, so it cannot be "
                                "looked up by name", l->tenant, l->name, l->driver,
                                l->region ? l->region : "?",
                                it->workload ? "no offer of its driver matches it any more"
                                             : "its spec is not in the store");
        fb_diag_add(it->diag, FB_SEV_ERROR, NULL, 0, 0, NULL, m,
                    "it may exist at the provider (an interrupted apply left it): find it with "
                    "`fedbroker discover` and delete it there; the deployment stays in the store");
        free(m);
        return FB_NOTFOUND;
    }
    int exists = 0;
    fb_status st = look_up(it, drv, ctx, &exists);
    if (st == FB_OK && !exists && fbi_wall_ms() < lc->settle_until_ms) {
        char until[21];
        fbi_format_rfc3339(lc->settle_until_ms / 1000, until);
        char *m = fbi_xasprintf("%s/%s: not at %s yet; an interrupted fedbroker's requests may "
                                "still land until %s (http.timeout_ms after it was found dead): "
                                "waiting %lld s before looking again", l->tenant, l->name,
                                l->driver, until,
                                (long long)((lc->settle_until_ms - fbi_wall_ms() + 999) / 1000));
        fbi_log(NULL, FB_LOG_WARN, m);
        free(m);
        sleep_until_ms(lc->settle_until_ms);
        st = look_up(it, drv, ctx, &exists);
    }
    if (st != FB_OK) return st;
    if (!exists) {
        char *m = fbi_xasprintf("%s/%s had no cloud id recorded, and %s has nothing by its name "
                                "in %s: nothing to delete", l->tenant, l->name, l->driver,
                                l->region ? l->region : "?");
        fb_diag_add(it->diag, FB_SEV_NOTE, NULL, 0, 0, NULL, m, NULL);
        free(m);
        it->output = json_pack("{s:[]}", "deleted");
        return FB_OK;
    }
    /* adopt: the driver's apply finds it by name and records its ids */
    json_t *in = json_pack("{s:O,s:O,s:O,s:s}", "workload", it->workload, "placement",
                           lc->placements[i], "deployment", it->deployment, "mode", "apply");
    char *in_text = fbi_json_write(in, 0);
    json_decref(in);
    call->record_cb = on_record;
    call->record_ud = l;
    st = call_verb(it, "apply (to adopt what exists before deleting it)", drv->apply, ctx, in_text);
    free(in_text);
    call->record_cb = NULL;
    if (st != FB_OK) return st;
    json_t *dep = json_deep_copy(it->deployment);
    json_object_set(dep, "resources", call->recorded);
    json_t *state = json_object_get(it->output, "state");
    json_object_set_new(dep, "state", state ? json_incref(state) : json_object());
    json_decref(it->output);
    it->output = NULL;
    in = json_pack("{s:o}", "deployment", dep);
    in_text = fbi_json_canonical(in);
    json_decref(in);
    st = call_verb(it, "destroy", drv->destroy, ctx, in_text);
    free(in_text);
    if (st != FB_OK) return st;
    /* forget it only once the provider says it is gone */
    json_t *out = it->output;
    it->output = NULL;
    st = look_up(it, drv, ctx, &exists);
    it->output = out;
    if (st == FB_OK && exists) {
        char *m = fbi_xasprintf("%s/%s still exists at %s after its driver deleted it", l->tenant,
                                l->name, l->driver);
        fb_diag_add(it->diag, FB_SEV_ERROR, NULL, 0, 0, NULL, m,
                    "the deployment stays in the store; run destroy again");
        free(m);
        st = FB_CONFLICT;
    }
    return st;
}

static fb_status destroy_one(void *ud, size_t i)
{
    lifecycle *lc = ud;
    fbi_deploy_item *it = &lc->items[i];
    const fb_driver *drv;
    fb_driver_ctx *ctx;
    fb_status st = item_driver(lc->b, it, "delete", &drv, &ctx);
    if (st != FB_OK) return st;
    const char *tenant = json_string_value(json_object_get(it->deployment, "tenant"));
    const char *name = json_string_value(json_object_get(it->deployment, "workload"));
    const char *service = json_string_value(json_object_get(it->deployment, "service"));
    const char *region = json_string_value(json_object_get(it->deployment, "region"));
    fbi_call call;
    fbi_call_begin(&call, it->diag, drv->name);
    lane *l = &lc->lanes[i];
    json_t *detail = json_pack("{s:s?,s:s?}", "region", region, "service", service);
    lane_begin(l, lc, "destroy", it, drv->name, tenant, name, service, region, &call,
               fbi_json_canonical(detail), NULL);
    json_decref(detail);
    if (names_nothing(it->deployment)) {
        st = destroy_by_name(lc, i, drv, ctx, &call);
    } else {
        json_t *in = json_pack("{s:O}", "deployment", it->deployment);
        char *in_text = fbi_json_canonical(in);
        json_decref(in);
        st = call_verb(it, "destroy", drv->destroy, ctx, in_text);
        free(in_text);
    }
    /* queued, not waited for: fbi_destroy collects the store's verdict */
    lane_write *w = fbi_xcalloc(1, sizeof *w);
    w->st = st;
    json_t *j = json_pack("{s:O?,s:o}", "output", it->output, "diagnostics", fbi_diag_json(it->diag));
    w->d = fbi_json_canonical(j);
    json_decref(j);
    lane_put(l, write_destroyed, w);
    fbi_call_end(&call, it->diag);
    return it->status = st;
}

/* Configures every driver the items need on this thread, then fans out. */
static fb_status run(fbi_broker *b, fb_store *store, fbi_deploy_item *items, size_t n,
                     int dry_run, unsigned parallelism, fbi_job_fn fn, fbi_writer *writer,
                     lane *lanes, json_t **placements, int64_t settle_until_ms,
                     json_t *open_rows)
{
    for (size_t i = 0; i < n; i++) {
        if (!items[i].diag) items[i].diag = fb_diag_new();
        json_t *where = items[i].placement ? items[i].placement : items[i].deployment;
        const char *provider = json_string_value(json_object_get(where, "provider"));
        const fb_driver *drv;
        fb_driver_ctx *ctx;
        fb_diag *scratch = fb_diag_new(); /* the job reports failures itself */
        if (provider) fb_registry_context(b->reg, provider, &drv, &ctx, scratch);
        fb_diag_free(scratch);
    }
    lifecycle lc = {b, store, items, dry_run, writer, lanes, placements, settle_until_ms,
                    open_rows};
    return fbi_fanout(n, parallelism, fn, &lc, NULL);
}

/* The deployments with journal rows in 'intent' (new object of
 * "tenant\x1fworkload\x1fprovider" keys), NULL when the store cannot say.
 * Read once before a run: only their lanes look for rows to supersede. */
static json_t *open_rows_of(fb_store *store)
{
    char *text = NULL;
    fb_diag *d = fb_diag_new();
    json_t *rows = fb_store_journal_open_intents(store, &text, d) == FB_OK
                       ? json_loads(text, 0, NULL) : NULL;
    free(text);
    fb_diag_free(d);
    if (!json_is_array(rows)) {
        json_decref(rows);
        return NULL;
    }
    json_t *set = json_object();
    size_t k;
    json_t *r;
    json_array_foreach(rows, k, r) {
        const char *t = json_string_value(json_object_get(r, "tenant"));
        const char *w = json_string_value(json_object_get(r, "workload"));
        const char *p = json_string_value(json_object_get(r, "provider"));
        if (!t || !w || !p) continue; /* the supersede statement cannot match it either */
        char *key = fbi_xasprintf("%s\x1f%s\x1f%s", t, w, p);
        json_object_set_new(set, key, json_true());
        free(key);
    }
    json_decref(rows);
    return set;
}

/* Runs fn over the items with lanes and a writer for the store's writes,
 * then folds the store's verdict on each workload into its item. */
static fb_status run_lanes(fbi_broker *b, fb_store *store, fbi_deploy_item *items, size_t n,
                           unsigned parallelism, fbi_job_fn fn, json_t **placements,
                           int64_t settle_until_ms)
{
    lane *lanes = fbi_xcalloc(n ? n : 1, sizeof *lanes);
    json_t *open_rows = open_rows_of(store);
    fbi_writer *w = fbi_writer_start(store);
    run(b, store, items, n, 0, parallelism, fn, w, lanes, placements, settle_until_ms, open_rows);
    fbi_writer_finish(w);
    json_decref(open_rows);
    fb_status st = FB_OK;
    for (size_t i = 0; i < n; i++) {
        lane *l = &lanes[i];
        if (l->slot.diag) fb_diag_move(items[i].diag, l->slot.diag);
        tell_unrecorded(l, items[i].diag); /* a record that failed after the last barrier */
        if (l->slot.st != FB_OK && items[i].status == FB_OK) items[i].status = l->slot.st;
        if (st == FB_OK) st = items[i].status;
        fb_diag_free(l->slot.diag);
        json_decref(l->unrecorded);
        free(l->tenant);
        free(l->name);
        free(l->service);
        free(l->region);
    }
    free(lanes);
    return st;
}

fb_status fbi_apply(fbi_broker *b, fb_store *store, fbi_deploy_item *items, size_t n,
                    int dry_run, unsigned parallelism)
{
    /* the offers name the issuers of callers' own tokens (caller_issuer):
     * collected here, on one thread, before the lanes read them */
    int any_callers = 0;
    for (size_t i = 0; i < n; i++) any_callers |= json_array_size(json_object_get(items[i].peers, "callers")) > 0;
    if (any_callers) {
        fb_diag *scratch = fb_diag_new(); /* a driver offering nothing says so where it is used */
        (void)fbi_broker_offers(b, scratch);
        fb_diag_free(scratch);
    }
    /* A dry run goes one workload at a time, in order: it sends nothing,
     * so lanes buy little, and with lanes the workload whose requests
     * carry a shared object (a k8s tenant's namespace, made by whichever
     * lane reached it first) changed from run to run: the printed
     * requests must be the same every time (tests/k8s/dryrun.py). */
    if (dry_run) return run(b, store, items, n, 1, 1, apply_one, NULL, NULL, NULL, 0, NULL);
    return run_lanes(b, store, items, n, parallelism, apply_one, NULL, 0);
}

fb_status fbi_observe(fbi_broker *b, fbi_deploy_item *items, size_t n, unsigned parallelism)
{
    return run(b, NULL, items, n, 0, parallelism, observe_one, NULL, NULL, NULL, 0, NULL);
}

fb_status fbi_destroy(fbi_broker *b, fb_store *store, fbi_deploy_item *items, size_t n,
                      unsigned parallelism, int64_t settle_until_ms)
{
    /* Where each deployment found only by name would be adopted, chosen
     * here because the offers are collected on this thread. */
    json_t **placements = fbi_xcalloc(n ? n : 1, sizeof *placements);
    for (size_t i = 0; i < n; i++) {
        json_t *dep = items[i].deployment;
        if (!items[i].workload || !names_nothing(dep)) continue;
        fb_diag *scratch = fb_diag_new(); /* destroy_by_name says why when it is missing */
        placements[i] = fbi_broker_placement(
            b, json_string_value(json_object_get(items[i].workload, "kind")),
            json_string_value(json_object_get(dep, "provider")),
            json_string_value(json_object_get(dep, "region")),
            json_string_value(json_object_get(dep, "service")), scratch);
        fb_diag_free(scratch);
    }
    fb_status st = run_lanes(b, store, items, n, parallelism, destroy_one, placements,
                             settle_until_ms);
    for (size_t i = 0; i < n; i++) json_decref(placements[i]);
    free(placements);
    return st;
}

void fbi_deploy_items_free(fbi_deploy_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_decref(items[i].output);
        json_decref(items[i].requests);
        json_decref(items[i].peers);
        fb_diag_free(items[i].diag);
    }
    free(items);
}
