/* conformance.c - `fedbroker drivers test`: the conformance kit.
 *
 * Loads one driver under the registry's rules, then drives every verb it
 * declares against a fake host that records what the driver does (HTTP
 * calls, records, sleeps, allocations) and answers HTTP with canned
 * responses. One PASS/FAIL/SKIP line per check. The contracts checked are
 * the ones in docs/driver-abi.md: render and usage are pure and
 * deterministic (the second call runs with the host clock moved by a day),
 * validate refuses what it must (malformed input, placements no offer has)
 * with an error diagnostic, observe changes nothing, apply and destroy are
 * idempotent, failures carry diagnostics, a verb the caps claim does not
 * answer FB_NOTSUP, and buffers come from host->alloc. Each check is shown
 * to fail by a test driver that breaks its rule alone
 * (tests/drivers/behave.c, tests/drivers/behaviour.sh). */
#include "config.h"
#include "fedbroker/fedbroker.h"
#include "base/diag.h"
#include "spec/spec.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

/* ---- the fake host ---------------------------------------------------------- */

typedef struct fake_state {
    void **allocs;        /* live host->alloc blocks */
    size_t nallocs, capallocs;
    size_t bad_frees;     /* host->free of a pointer we did not hand out */
    json_t *requests;     /* every HTTP request: {method, url, flags} */
    size_t records;       /* host->record calls */
    json_t *recorded_ids; /* the "id" of each host->record since reset_fake */
    size_t sleeps;
    int dry_run;
    long http_status;     /* what every HTTP call answers */
    const char *http_body;
    int64_t clock_shift;  /* added to the fake clock (a pure verb must not care) */
} fake_state;

static fake_state fk;

static void *fake_alloc(size_t n)
{
    void *p = fbi_xmalloc(n);
    if (fk.nallocs == fk.capallocs) {
        fk.capallocs = fk.capallocs ? fk.capallocs * 2 : 64;
        fk.allocs = fbi_xrealloc(fk.allocs, fk.capallocs * sizeof *fk.allocs);
    }
    fk.allocs[fk.nallocs++] = p;
    return p;
}

/* Returns 1 when p came from fake_alloc and forgets it. */
static int fake_owned(void *p)
{
    for (size_t i = 0; i < fk.nallocs; i++) {
        if (fk.allocs[i] == p) {
            fk.allocs[i] = fk.allocs[--fk.nallocs];
            return 1;
        }
    }
    return 0;
}

static void fake_free(void *p)
{
    if (!p) return;
    if (!fake_owned(p)) {
        fk.bad_frees++;
        return; /* not ours: leaking is safer than freeing a foreign block */
    }
    free(p);
}

static void fake_log(fb_diag *d, fb_log_level level, const char *message)
{
    (void)d;
    (void)level;
    (void)message;
}

static int64_t fake_now(void)
{
    return 1440938160 + fk.clock_shift; /* 2015-08-30T12:36:00Z, the SigV4 suite's clock */
}

/* How far the clock moves between the two calls of a pure verb: a day and
 * seven seconds, so a date, an hour or a second embedded in the output
 * changes. */
#define CLOCK_MOVE (86400 + 7)

static void fake_sleep(fb_diag *d, uint32_t ms)
{
    (void)d;
    (void)ms;
    fk.sleeps++;
}

static fb_status fake_http(fb_diag *d, const fb_http_request *req, fb_http_response *resp)
{
    (void)d;
    memset(resp, 0, sizeof *resp);
    json_array_append_new(fk.requests,
                          json_pack("{s:s,s:s,s:i}", "method", req->method ? req->method : "",
                                    "url", req->url ? req->url : "", "flags", (int)req->flags));
    if (fk.dry_run) return FB_OK;
    resp->status = fk.http_status;
    resp->body = fbi_xstrdup(fk.http_body);
    resp->body_len = strlen(resp->body);
    resp->headers = fbi_xcalloc(1, sizeof(fb_http_header));
    resp->headers[0].name = fbi_xstrdup("Content-Type");
    resp->headers[0].value = fbi_xstrdup("application/json");
    resp->n_headers = 1;
    return FB_OK;
}

static void fake_http_free(fb_http_response *resp)
{
    for (size_t i = 0; i < resp->n_headers; i++) {
        free((char *)resp->headers[i].name);
        free((char *)resp->headers[i].value);
    }
    free(resp->headers);
    free(resp->body);
    memset(resp, 0, sizeof *resp);
}

static fb_status fake_credential(fb_diag *d, const char *key, char **out)
{
    (void)d;
    (void)key;
    *out = NULL;
    return FB_NOTFOUND;
}

static void fake_diag_add(fb_diag *d, fb_severity sev, const char *summary,
                          const char *detail, const char *pointer)
{
    fb_diag_add(d, sev, NULL, 0, 0, pointer, summary, detail);
}

static fb_status fake_record(fb_diag *d, const char *json)
{
    (void)d;
    fk.records++;
    json_t *j = json ? json_loads(json, 0, NULL) : NULL;
    json_t *id = json_object_get(j, "id");
    json_array_append_new(fk.recorded_ids, id ? json_incref(id) : json_string("(no id)"));
    json_decref(j);
    return FB_OK;
}

static int fake_dry_run(fb_diag *d)
{
    (void)d;
    return fk.dry_run;
}

static const fb_host fake_host = {
    .abi_major = FB_ABI_MAJOR,
    .abi_minor = FB_ABI_MINOR,
    .struct_size = sizeof(fb_host),
    .alloc = fake_alloc,
    .free = fake_free,
    .log = fake_log,
    .now = fake_now,
    .sleep_ms = fake_sleep,
    .http = fake_http,
    .http_free = fake_http_free,
    .credential = fake_credential,
    .diag_add = fake_diag_add,
    .record = fake_record,
    .dry_run = fake_dry_run,
};

/* ---- sample workloads, one per kind ---------------------------------------- */

static const char *const sample_function =
    "apiVersion: fedbroker.dev/v1\n"
    "kind: Function\n"
    "metadata: {name: conformance-fn, tenant: conformance, labels: {team: drivers}}\n"
    "spec:\n"
    "  runtime: python3.12\n"
    "  handler: app.handler\n"
    "  code: {s3: {bucket: conformance-bucket, key: fn.zip}}\n"
    "  resources: {memory: 256Mi}\n"
    "  timeout: 10s\n"
    "  triggers: [{http: {path: /, public: true}}]\n"
    "  traffic: {requestsPerMonth: 1000000, meanDuration: 100ms}\n";

/* For offers that run Functions from images only ("accepts": "image"). */
static const char *const sample_function_image =
    "apiVersion: fedbroker.dev/v1\n"
    "kind: Function\n"
    "metadata: {name: conformance-fn, tenant: conformance, labels: {team: drivers}}\n"
    "spec:\n"
    "  image: docker.io/library/python:3.12-slim\n"
    "  resources: {memory: 256Mi}\n"
    "  timeout: 10s\n"
    "  triggers: [{http: {path: /, public: true}}]\n"
    "  traffic: {requestsPerMonth: 1000000, meanDuration: 100ms}\n";

static const char *const sample_container =
    "apiVersion: fedbroker.dev/v1\n"
    "kind: Container\n"
    "metadata: {name: conformance-ctr, tenant: conformance}\n"
    "spec:\n"
    "  image: public.ecr.aws/nginx/nginx:1.25\n"
    "  ports: [{port: 8080, protocol: http, public: true}]\n"
    "  resources: {memory: 512Mi, cpu: \"0.25\"}\n"
    "  scaling: {minInstances: 1, maxInstances: 3}\n";

static const char *const sample_quantum =
    "apiVersion: fedbroker.dev/v1\n"
    "kind: QuantumJob\n"
    "metadata: {name: conformance-bell, tenant: conformance}\n"
    "spec:\n"
    "  program:\n"
    "    source: |\n"
    "      OPENQASM 2.0;\n"
    "      include \"qelib1.inc\";\n"
    "      qreg q[2];\n"
    "      creg c[2];\n"
    "      h q[0];\n"
    "      cx q[0],q[1];\n"
    "      measure q -> c;\n"
    "  shots: 100\n"
    "  seed: 7\n";

/* ---- reporting ------------------------------------------------------------------ */

typedef struct kit {
    FILE *out;
    int pass, fail, skip;
} kit;

static void result(kit *k, const char *verdict, const char *check, const char *fmt, ...)
    FBI_PRINTF(4, 5);

static void result(kit *k, const char *verdict, const char *check, const char *fmt, ...)
{
    if (!strcmp(verdict, "PASS")) k->pass++;
    else if (!strcmp(verdict, "FAIL")) k->fail++;
    else k->skip++;
    fprintf(k->out, "%-4s %s", verdict, check);
    if (fmt && *fmt) {
        va_list ap;
        va_start(ap, fmt);
        fputs(": ", k->out);
        vfprintf(k->out, fmt, ap);
        va_end(ap);
    }
    fputc('\n', k->out);
}

/* The first error diagnostic, for FAIL lines. */
static const char *first_error(const fb_diag *d)
{
    for (size_t i = 0; i < fb_diag_count(d); i++)
        if (fb_diag_severity(d, i) == FB_SEV_ERROR) return fb_diag_summary(d, i);
    return "(no diagnostic)";
}

static void reset_fake(void)
{
    json_decref(fk.requests);
    fk.requests = json_array();
    fk.records = fk.sleeps = 0;
    json_decref(fk.recorded_ids);
    fk.recorded_ids = json_array();
    fk.dry_run = 0;
    fk.clock_shift = 0;
    fk.http_status = 404;
    fk.http_body = "{\"message\":\"not found\"}";
}

/* Runs a verb that returns JSON and checks the buffer contract. Returns the
 * parsed output (new) or NULL; *st gets the status. */
typedef fb_status (*verb_fn)(fb_driver_ctx *, const char *, char **, fb_diag *);

/* Checks the buffer contract of one verb's output and parses it. Returns
 * the parsed output (new) or NULL. */
static json_t *take_output(kit *k, const char *name, char *out, fb_status st, fb_diag *d)
{
    json_t *j = NULL;
    if (out) {
        j = json_loads(out, 0, NULL);
        if (!fake_owned(out))
            result(k, "FAIL", name, "returned a buffer not allocated with host->alloc");
        else
            free(out); /* a foreign block is leaked rather than freed wrongly */
        if (!j) result(k, "FAIL", name, "returned text that is not JSON");
    }
    if (st != FB_OK && fb_diag_errors(d) == 0)
        result(k, "FAIL", name, "returned status '%s' without an error diagnostic",
               fbi_status_name(st));
    if (st == FB_NOTSUP)
        result(k, "FAIL", name, "answered FB_NOTSUP although the caps claim it "
               "(drop the cap bit and the slot, or implement it)");
    return j;
}

static json_t *run_verb(kit *k, const char *name, verb_fn fn, fb_driver_ctx *ctx,
                        const char *in, fb_status *st, fb_diag *d)
{
    char *out = NULL;
    *st = fn(ctx, in, &out, d);
    return take_output(k, name, out, *st, d);
}

static int is_mutating(json_t *req)
{
    const char *m = json_string_value(json_object_get(req, "method"));
    int flags = (int)json_integer_value(json_object_get(req, "flags"));
    if (m && (!strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "OPTIONS"))) return 0;
    return !(flags & FB_HTTP_READ_ONLY);
}

/* The ids passed to host->record since reset_fake (new reference). */
static json_t *recorded_ids(void)
{
    return json_incref(fk.recorded_ids);
}

/* evaluate (1.2) answers, placement by placement, what validate and then
 * usage answer: on the sample's placement and on two it must refuse. */
static void check_evaluate(kit *k, const fb_driver *drv, fb_driver_ctx *ctx, const char *kind, const json_t *in)
{
    char check[160];
    json_t *pls = json_array();
    json_array_append(pls, json_object_get(in, "placement"));
    json_t *p = json_deep_copy(json_object_get(in, "placement"));
    json_object_set_new(p, "region", json_string("nowhere-0"));
    json_array_append_new(pls, p);
    p = json_deep_copy(json_object_get(in, "placement"));
    json_object_set_new(p, "service", json_string("no-such-service"));
    json_array_append_new(pls, p);
    size_t n = json_array_size(pls);

    /* what validate then usage say, one placement at a time */
    json_t *want = json_array();
    size_t want_diags[3];
    json_t *one = json_deep_copy(in);
    json_object_set_new(one, "mode", json_string("plan"));
    json_object_set_new(one, "hoursPerMonth", json_real(730.0));
    for (size_t i = 0; i < n; i++) {
        json_object_set(one, "placement", json_array_get(pls, i));
        char *t = fbi_json_canonical(one);
        fb_diag *d = fb_diag_new();
        json_t *r;
        if (drv->validate(ctx, t, d) != FB_OK) {
            r = json_false();
        } else {
            char *u = NULL;
            r = drv->usage(ctx, t, &u, d) == FB_OK && u ? json_loads(u, 0, NULL) : NULL;
            if (!r) r = json_null();
            if (u && fake_owned(u)) free(u);
        }
        want_diags[i] = fb_diag_count(d);
        json_array_append_new(want, r);
        fb_diag_free(d);
        free(t);
    }

    json_object_del(one, "placement");
    json_object_set(one, "placements", pls);
    char *t = fbi_json_canonical(one);
    fb_diag *diags[3], *d = fb_diag_new();
    for (size_t i = 0; i < n; i++) diags[i] = fb_diag_new();
    char *out = NULL;
    reset_fake();
    fb_status st = drv->evaluate(ctx, t, n, diags, &out, d);
    size_t io = json_array_size(fk.requests) + fk.records + fk.sleeps;
    json_t *got = out ? json_loads(out, 0, NULL) : NULL;
    snprintf(check, sizeof check, "%s: evaluate agrees with validate then usage", kind);
    size_t bad = n;
    for (size_t i = 0; i < n && st == FB_OK; i++) {
        json_t *r = json_array_get(json_object_get(got, "results"), i);
        if (!r || !json_equal(r, json_array_get(want, i)) || fb_diag_count(diags[i]) != want_diags[i]) {
            bad = i;
            break;
        }
    }
    if (st != FB_OK) result(k, "FAIL", check, "%s: %s", fbi_status_name(st), first_error(d));
    else if (json_array_size(json_object_get(got, "results")) != n)
        result(k, "FAIL", check, "its output has no \"results\" array of %zu", n);
    else if (bad < n)
        result(k, "FAIL", check, "placement %zu (%s) differs in its answer or its diagnostics", bad,
               bad == 0 ? "the sample's" : bad == 1 ? "region nowhere-0" : "service no-such-service");
    else if (io) result(k, "FAIL", check, "evaluate used host I/O services");
    else result(k, "PASS", check, "%zu placements", n);
    snprintf(check, sizeof check, "%s: evaluate buffers come from host->alloc", kind);
    int owned = !out || fake_owned(out);
    result(k, owned ? "PASS" : "FAIL", check, NULL);
    if (owned) free(out);
    json_decref(got);
    for (size_t i = 0; i < n; i++) fb_diag_free(diags[i]);
    fb_diag_free(d);
    free(t);
    json_decref(one);
    json_decref(want);
    json_decref(pls);
}

/* apply is idempotent: with every request answered 200 {} (the kit knows
 * no provider's API), apply once, then again with the first one's
 * deployment; the second must succeed with the same state and record no
 * resource the first did not. A driver whose first apply cannot work with
 * such answers is not judged (SKIP). in is borrowed. */
static void check_apply_twice(kit *k, const fb_driver *drv, fb_driver_ctx *ctx, const char *kind,
                              json_t *in, json_t *offer)
{
    char check[128];
    snprintf(check, sizeof check, "%s: apply is idempotent", kind);
    json_t *first_in = json_deep_copy(in);
    json_object_set_new(first_in, "deployment", json_null());
    json_object_set_new(first_in, "mode", json_string("apply"));
    char *t1 = fbi_json_canonical(first_in);
    fb_diag *d1 = fb_diag_new();
    reset_fake();
    fk.http_status = 200;
    fk.http_body = "{}";
    fb_status st1;
    json_t *o1 = run_verb(k, "apply", drv->apply, ctx, t1, &st1, d1);
    json_t *ids1 = recorded_ids();
    free(t1);
    if (st1 != FB_OK || !json_is_object(json_object_get(o1, "state"))) {
        result(k, "SKIP", check, "the first apply did not succeed with every request answered "
               "200 {} (%s: %s), so idempotency is not judged here", fbi_status_name(st1),
               first_error(d1));
        json_decref(ids1);
        json_decref(o1);
        json_decref(first_in);
        fb_diag_free(d1);
        return;
    }
    json_t *dep = json_pack("{s:s,s:O,s:O,s:O,s:O,s:s,s:s}", "provider", drv->name, "service",
                            json_object_get(offer, "service"), "region", json_object_get(offer, "region"),
                            "state", json_object_get(o1, "state"), "resources",
                            json_object_get(o1, "resources") ? json_object_get(o1, "resources") : ids1,
                            "tenant", "conformance", "phase", "ready");
    json_object_set_new(first_in, "deployment", dep);
    char *t2 = fbi_json_canonical(first_in);
    fb_diag *d2 = fb_diag_new();
    reset_fake();
    fk.http_status = 200;
    fk.http_body = "{}";
    fb_status st2;
    json_t *o2 = run_verb(k, "apply", drv->apply, ctx, t2, &st2, d2);
    json_t *ids2 = recorded_ids();
    free(t2);
    const char *created = NULL;
    size_t i;
    json_t *id;
    json_array_foreach(ids2, i, id) {
        int known = 0;
        size_t j;
        json_t *id1;
        json_array_foreach(ids1, j, id1) known |= json_equal(id, id1);
        if (!known && !created) created = json_string_value(id);
    }
    if (st2 != FB_OK)
        result(k, "FAIL", check, "applying again with the first apply's deployment failed: %s: %s",
               fbi_status_name(st2), first_error(d2));
    else if (created)
        result(k, "FAIL", check, "applying again with the first apply's deployment created %s", created);
    else if (!json_equal(json_object_get(o1, "state"), json_object_get(o2, "state")))
        result(k, "FAIL", check, "applying again with the first apply's deployment changed the state");
    else
        result(k, "PASS", check, "%zu resource(s) recorded, none again", json_array_size(ids1));
    json_decref(ids1);
    json_decref(ids2);
    json_decref(o1);
    json_decref(o2);
    json_decref(first_in);
    fb_diag_free(d1);
    fb_diag_free(d2);
}

/* Checks one workload kind end to end. */
static void check_kind(kit *k, const fb_driver *drv, fb_driver_ctx *ctx, const char *kind,
                       const char *sample, json_t *offers)
{
    char check[128];
    json_t *offer = NULL;
    size_t i;
    json_t *o;
    json_array_foreach(offers, i, o) {
        const char *ok = json_string_value(json_object_get(o, "kind"));
        if (ok && !strcmp(ok, kind)) { offer = o; break; }
    }
    snprintf(check, sizeof check, "%s: an offer exists", kind);
    if (!offer) {
        result(k, "FAIL", check, "caps declare %s but offers lists none", kind);
        return;
    }
    result(k, "PASS", check, "%s in %s", json_string_value(json_object_get(offer, "service")),
           json_string_value(json_object_get(offer, "region")));
    const char *accepts = json_string_value(json_object_get(offer, "accepts"));
    if (!strcmp(kind, "Function") && accepts && !strcmp(accepts, "image"))
        sample = sample_function_image;

    fb_diag *d = fb_diag_new();
    fb_spec_set *set = NULL;
    fb_spec_set_new(&set);
    if (fb_spec_set_add_buffer(set, "conformance-sample.yaml", sample, strlen(sample), ".", d) != FB_OK ||
        fb_spec_set_finish(set, d) != FB_OK || fb_spec_count(set) != 1) {
        result(k, "FAIL", "kit sample spec", "%s (this is a bug in fedbroker)", first_error(d));
        fb_spec_set_free(set);
        fb_diag_free(d);
        return;
    }
    json_t *in = json_pack("{s:O,s:{s:s,s:O,s:O,s:s,s:O}}", "workload", fbi_spec_doc(set, 0),
                           "placement", "provider", drv->name, "service",
                           json_object_get(offer, "service"), "region",
                           json_object_get(offer, "region"), "kind", kind, "offer", offer);
    /* each verb gets what the broker sends it (docs/driver-abi.md) */
    json_object_set_new(in, "mode", json_string("plan"));
    json_object_set_new(in, "hoursPerMonth", json_real(730.0));
    char *in_text = fbi_json_canonical(in); /* validate and usage, as plan sends them */
    json_object_del(in, "hoursPerMonth");
    json_object_set_new(in, "mode", json_string("render"));
    char *render_text = fbi_json_canonical(in);
    json_object_set_new(in, "mode", json_string("dry-run"));
    json_object_set_new(in, "deployment", json_null());
    char *dry_text = fbi_json_canonical(in);
    json_object_del(in, "deployment");
    json_object_del(in, "mode");
    fb_spec_set_free(set);

    /* validate accepts the sample */
    reset_fake();
    fb_diag *vd = fb_diag_new();
    fb_status st = drv->validate(ctx, in_text, vd);
    snprintf(check, sizeof check, "%s: validate accepts the kit's sample", kind);
    if (st == FB_OK) result(k, "PASS", check, NULL);
    else result(k, "FAIL", check, "%s: %s", fbi_status_name(st), first_error(vd));
    fb_diag_free(vd);

    /* it refuses what it must, each time saying why: malformed input, and
     * the sample on placements none of its offers has */
    json_t *elsewhere = json_deep_copy(in), *noservice = json_deep_copy(in);
    json_object_set_new(json_object_get(elsewhere, "placement"), "region", json_string("nowhere-0"));
    json_object_set_new(json_object_get(noservice, "placement"), "service",
                        json_string("no-such-service"));
    json_object_set_new(elsewhere, "mode", json_string("plan"));
    json_object_set_new(noservice, "mode", json_string("plan"));
    char *t_elsewhere = fbi_json_canonical(elsewhere), *t_noservice = fbi_json_canonical(noservice);
    json_decref(elsewhere);
    json_decref(noservice);
    const char *const bad_inputs[] = {"not json", "{}", "{\"workload\": 42}", t_elsewhere, t_noservice};
    static const char *const bad_what[] = {"text that is not JSON", "{}", "a workload that is not an object",
                                           "a placement in region nowhere-0 (no offer has it)",
                                           "a placement on service no-such-service (no offer has it)"};
    const char *accepted = NULL, *silent = NULL;
    for (size_t b = 0; b < sizeof bad_what / sizeof *bad_what; b++) {
        fb_diag *bd = fb_diag_new();
        fb_status bst = drv->validate(ctx, bad_inputs[b], bd);
        if (bst == FB_OK && !accepted) accepted = bad_what[b];
        else if (bst != FB_OK && fb_diag_errors(bd) == 0 && !silent) silent = bad_what[b];
        fb_diag_free(bd);
    }
    free(t_elsewhere);
    free(t_noservice);
    snprintf(check, sizeof check, "%s: validate refuses bad input with a diagnostic", kind);
    if (accepted) result(k, "FAIL", check, "it accepted %s", accepted);
    else if (silent) result(k, "FAIL", check, "it refused %s without an error diagnostic", silent);
    else result(k, "PASS", check, NULL);

    /* render is pure and deterministic */
    if (drv->caps & FB_CAP_RENDER) {
        fb_diag *rd = fb_diag_new();
        reset_fake();
        char *o1 = NULL, *o2 = NULL;
        fb_status s1 = drv->render(ctx, render_text, &o1, rd);
        fk.clock_shift = CLOCK_MOVE; /* pure: the clock does not matter */
        fb_status s2 = drv->render(ctx, render_text, &o2, rd);
        fk.clock_shift = 0;
        size_t io = json_array_size(fk.requests) + fk.records + fk.sleeps;
        snprintf(check, sizeof check, "%s: render succeeds and returns documents", kind);
        json_t *doc = o1 ? json_loads(o1, 0, NULL) : NULL;
        if (s1 != FB_OK) result(k, "FAIL", check, "%s: %s", fbi_status_name(s1), first_error(rd));
        else if (!json_is_array(json_object_get(doc, "documents")))
            result(k, "FAIL", check, "output has no \"documents\" array");
        else result(k, "PASS", check, "%zu document(s)", json_array_size(json_object_get(doc, "documents")));
        json_decref(doc);
        snprintf(check, sizeof check, "%s: render is deterministic", kind);
        if (s1 == FB_OK && s2 == FB_OK && o1 && o2 && !strcmp(o1, o2)) result(k, "PASS", check, NULL);
        else result(k, "FAIL", check, "two renders of the same input differ (the second ran with "
                    "the host clock a day later)");
        snprintf(check, sizeof check, "%s: render is pure (no HTTP, record or sleep)", kind);
        result(k, io ? "FAIL" : "PASS", check, io ? "render used host I/O services" : NULL);
        snprintf(check, sizeof check, "%s: render buffers come from host->alloc", kind);
        int owned = (!o1 || fake_owned(o1)) & (!o2 || fake_owned(o2));
        result(k, owned ? "PASS" : "FAIL", check, NULL);
        if (owned) { free(o1); free(o2); }
        fb_diag_free(rd);
    }

    if (drv->caps & FB_CAP_ESTIMATE) {
        fb_diag *ud = fb_diag_new();
        reset_fake();
        char *u1 = NULL, *u2 = NULL;
        fb_status s1 = drv->usage(ctx, in_text, &u1, ud);
        fk.clock_shift = CLOCK_MOVE;
        fb_status s2 = drv->usage(ctx, in_text, &u2, ud);
        fk.clock_shift = 0;
        size_t io = json_array_size(fk.requests) + fk.records + fk.sleeps;
        json_t *uj = u1 ? json_loads(u1, 0, NULL) : NULL;
        snprintf(check, sizeof check, "%s: usage returns billing lines", kind);
        const char *bad = NULL;
        json_t *line;
        json_array_foreach(json_object_get(uj, "lines"), i, line) {
            const char *q = json_string_value(json_object_get(line, "quantity"));
            if (!json_is_string(json_object_get(line, "service")) ||
                !json_is_string(json_object_get(line, "metric")) ||
                !json_is_string(json_object_get(line, "unit")) || !q)
                bad = "a line lacks service, metric, unit or a string quantity";
            else if (strspn(q, "0123456789.") != strlen(q) || !*q || strchr(q, '.') != strrchr(q, '.'))
                bad = "a quantity is not a non-negative decimal string";
        }
        if (s1 != FB_OK) result(k, "FAIL", check, "%s: %s", fbi_status_name(s1), first_error(ud));
        else if (!json_is_array(json_object_get(uj, "lines"))) result(k, "FAIL", check, "no \"lines\" array");
        else if (bad) result(k, "FAIL", check, "%s", bad);
        else result(k, "PASS", check, "%zu line(s)", json_array_size(json_object_get(uj, "lines")));
        json_decref(uj);
        snprintf(check, sizeof check, "%s: usage is pure and deterministic", kind);
        int same = s1 == FB_OK && s2 == FB_OK && u1 && u2 && !strcmp(u1, u2);
        result(k, (same && !io) ? "PASS" : "FAIL", check,
               same ? (io ? "used host I/O" : NULL)
                    : "two calls differ (the second ran with the host clock a day later)");
        snprintf(check, sizeof check, "%s: usage buffers come from host->alloc", kind);
        int uowned = (!u1 || fake_owned(u1)) & (!u2 || fake_owned(u2));
        result(k, uowned ? "PASS" : "FAIL", check, NULL);
        if (uowned) { free(u1); free(u2); } /* a foreign block is leaked rather than freed wrongly */
        fb_diag_free(ud);
    }

    if (FB_DRIVER_HAS(drv, evaluate)) check_evaluate(k, drv, ctx, kind, in);

    if (drv->caps & FB_CAP_DEPLOY) {
        /* apply in dry-run mode: requests are recorded, nothing sent */
        fb_diag *ad = fb_diag_new();
        reset_fake();
        fk.dry_run = 1;
        fb_status ast;
        json_t *applied = run_verb(k, "apply --dry-run", drv->apply, ctx, dry_text, &ast, ad);
        snprintf(check, sizeof check, "%s: apply --dry-run returns the state it would create", kind);
        json_t *state = json_object_get(applied, "state");
        if (ast != FB_OK) result(k, "FAIL", check, "%s: %s", fbi_status_name(ast), first_error(ad));
        else if (!json_is_object(state)) result(k, "FAIL", check, "output has no \"state\" object");
        else result(k, "PASS", check, "%zu request(s) recorded", json_array_size(fk.requests));
        snprintf(check, sizeof check, "%s: apply --dry-run records no resource", kind);
        result(k, fk.records ? "FAIL" : "PASS", check, fk.records ? "host->record called in a dry run" : NULL);
        fb_diag_free(ad);

        check_apply_twice(k, drv, ctx, kind, in, offer);

        json_t *dep = json_pack("{s:{s:s,s:O,s:O,s:O*},s:O}", "deployment", "provider", drv->name,
                                "service", json_object_get(offer, "service"), "region",
                                json_object_get(offer, "region"), "state", state,
                                "workload", json_object_get(in, "workload"));
        char *dep_text = fbi_json_canonical(dep);

        /* observe changes nothing: only reads, no records */
        fb_diag *od = fb_diag_new();
        reset_fake();
        fb_status ost;
        json_t *obs = run_verb(k, "observe", drv->observe, ctx, dep_text, &ost, od);
        int mutating = 0;
        json_array_foreach(fk.requests, i, o) mutating |= is_mutating(o);
        snprintf(check, sizeof check, "%s: observe changes nothing", kind);
        if (mutating || fk.records)
            result(k, "FAIL", check, "observe sent a mutating request or recorded a resource "
                                     "(POST queries must carry FB_HTTP_READ_ONLY)");
        else result(k, "PASS", check, "%zu read(s)", json_array_size(fk.requests));
        snprintf(check, sizeof check, "%s: observe of a missing resource says so", kind);
        const char *status = json_string_value(json_object_get(obs, "status"));
        if ((ost == FB_OK && status && !strcmp(status, "missing")) || ost == FB_NOTFOUND)
            result(k, "PASS", check, NULL);
        else result(k, "FAIL", check, "every request answered 404, observe said %s/%s",
                    fbi_status_name(ost), status ? status : "(no status)");
        json_decref(obs);
        fb_diag_free(od);

        /* destroy is idempotent: deleting what is gone succeeds, twice */
        int idem = 1;
        for (int round = 0; round < 2; round++) {
            fb_diag *dd = fb_diag_new();
            reset_fake();
            fb_status dst;
            json_t *del = run_verb(k, "destroy", drv->destroy, ctx, dep_text, &dst, dd);
            if (dst != FB_OK) idem = 0;
            json_decref(del);
            fb_diag_free(dd);
        }
        snprintf(check, sizeof check, "%s: destroy is idempotent", kind);
        result(k, idem ? "PASS" : "FAIL", check, idem ? NULL : "destroy of an absent resource failed");

        /* a provider failure comes back as an error with a diagnostic */
        fb_diag *fd = fb_diag_new();
        reset_fake();
        fk.http_status = 500;
        fk.http_body = "{\"message\":\"internal error\"}";
        fb_status fst;
        json_t *fo = run_verb(k, "observe", drv->observe, ctx, dep_text, &fst, fd);
        snprintf(check, sizeof check, "%s: provider errors carry diagnostics", kind);
        if (fst != FB_OK && fb_diag_errors(fd)) result(k, "PASS", check, "%s", fbi_status_name(fst));
        else result(k, "FAIL", check, "observe against HTTP 500 returned %s with %zu error(s)",
                    fbi_status_name(fst), fb_diag_errors(fd));
        json_decref(fo);
        fb_diag_free(fd);
        free(dep_text);
        json_decref(dep);
        json_decref(applied);
    }
    free(in_text);
    free(render_text);
    free(dry_text);
    json_decref(in);
    fb_diag_free(d);
}

int fb_conformance_run(const char *file, const char *settings_json, FILE *out)
{
    kit k = {out, 0, 0, 0};
    memset(&fk, 0, sizeof fk);
    reset_fake();
    fb_diag *d = fb_diag_new();
    fb_registry *r = fb_registry_new(); /* empty: only this file */
    const fb_driver *drv = NULL;
    fprintf(out, "conformance kit for %s (host ABI %d.%d)\n", file, FB_ABI_MAJOR, FB_ABI_MINOR);
    if (fb_registry_load_file(r, file, &fake_host, &drv, d) != FB_OK) {
        for (size_t i = 0; i < fb_diag_count(d); i++) {
            const char *det = fb_diag_detail(d, i);
            result(&k, "FAIL", "loader rules", "%s%s%s", fb_diag_summary(d, i),
                   det ? "\n     " : "", det ? det : "");
        }
        goto done;
    }
    char caps[256];
    fb_caps_describe(drv->caps, caps, sizeof caps);
    result(&k, "PASS", "file name and permissions", NULL);
    result(&k, "PASS", "exports only fb_driver_entry", NULL);
    result(&k, "PASS", "ABI version", "driver %u.%u, host %d.%d", drv->abi_major, drv->abi_minor,
           FB_ABI_MAJOR, FB_ABI_MINOR);
    result(&k, "PASS", "caps agree with slots", "%s", caps);

    json_t *cfg = json_object();
    json_t *settings = settings_json ? json_loads(settings_json, 0, NULL) : NULL;
    json_object_set_new(cfg, "settings", settings ? settings : json_object());
    char *cfg_text = fbi_json_canonical(cfg);
    json_decref(cfg);
    fb_driver_ctx *ctx = NULL;
    fb_status st = drv->configure(&fake_host, cfg_text, &ctx, d);
    free(cfg_text);
    if (st != FB_OK) {
        result(&k, "FAIL", "configure", "%s: %s", fbi_status_name(st), first_error(d));
        goto done;
    }
    result(&k, "PASS", "configure", NULL);

    json_t *offers = NULL;
    if (drv->caps & (FB_CAP_FUNCTION | FB_CAP_CONTAINER | FB_CAP_QUANTUM)) {
        char *oout = NULL;
        fb_status ost = drv->offers(ctx, &oout, d);
        json_t *oj = take_output(&k, "offers", oout, ost, d);
        offers = json_incref(json_object_get(oj, "offers"));
        int good = ost == FB_OK && json_is_array(offers) && json_array_size(offers) > 0;
        size_t i;
        json_t *o;
        json_array_foreach(offers, i, o) {
            if (!json_is_string(json_object_get(o, "kind")) ||
                !json_is_string(json_object_get(o, "service")) ||
                !json_is_string(json_object_get(o, "region")))
                good = 0;
        }
        json_decref(oj);
        if (good) {
            result(&k, "PASS", "offers", "%zu offer(s)", json_array_size(offers));
        } else {
            result(&k, "FAIL", "offers", "%s", ost != FB_OK ? first_error(d)
                   : "offers must return {\"offers\": [{\"kind\", \"service\", \"region\", ...}]}");
        }
        if (good) {
            if (drv->caps & FB_CAP_FUNCTION) check_kind(&k, drv, ctx, "Function", sample_function, offers);
            if (drv->caps & FB_CAP_CONTAINER) check_kind(&k, drv, ctx, "Container", sample_container, offers);
            if (drv->caps & FB_CAP_QUANTUM) check_kind(&k, drv, ctx, "QuantumJob", sample_quantum, offers);
        }
    }
    if (drv->caps & FB_CAP_DISCOVER) {
        fb_diag *dd = fb_diag_new();
        reset_fake();
        fk.http_status = 500;
        fk.http_body = "{\"message\":\"internal error\"}";
        fb_status dst;
        json_t *dj = run_verb(&k, "discover", drv->discover, ctx, "{\"regions\":[]}", &dst, dd);
        int mutating = 0;
        size_t i;
        json_t *o;
        json_array_foreach(fk.requests, i, o) mutating |= is_mutating(o);
        result(&k, mutating ? "FAIL" : "PASS", "discover changes nothing", NULL);
        result(&k, (dst != FB_OK && fb_diag_errors(dd)) ? "PASS" : "FAIL",
               "discover reports provider errors", "%s", fbi_status_name(dst));
        json_decref(dj);
        fb_diag_free(dd);
    }
    if (FB_DRIVER_HAS(drv, attest)) {
        /* attest (1.3): a proof that cannot be right (empty) is refused
         * with an error diagnostic and no output, and what the driver may
         * send to check a proof changes nothing */
        fb_diag *td = fb_diag_new();
        reset_fake();
        char *out_json = NULL;
        fb_status tst = drv->attest(ctx, "{\"proof\":{},\"serverId\":\"https://issuer.example.com\"}",
                                    &out_json, td);
        int mutating = 0;
        size_t i;
        json_t *o;
        json_array_foreach(fk.requests, i, o) mutating |= is_mutating(o);
        result(&k, (tst != FB_OK && fb_diag_errors(td) && !out_json) ? "PASS" : "FAIL",
               "attest refuses an empty proof with a diagnostic", "%s", fbi_status_name(tst));
        result(&k, (mutating || fk.records) ? "FAIL" : "PASS", "attest changes nothing",
               (mutating || fk.records) ? "it sent a mutating request or recorded a resource" : NULL);
        if (out_json && fake_owned(out_json)) free(out_json);
        fb_diag_free(td);
    }
    json_decref(offers);
    drv->teardown(ctx);
    result(&k, "PASS", "teardown", NULL);
    if (fk.bad_frees)
        result(&k, "FAIL", "host->free only of host->alloc blocks", "%zu foreign pointer(s) freed",
               fk.bad_frees);
    else
        result(&k, "PASS", "host->free only of host->alloc blocks", NULL);

done:
    fprintf(out, "%d passed, %d failed, %d skipped\n", k.pass, k.fail, k.skip);
    fflush(out); /* before anything at exit (a sanitizer's report) can cut it off */
    for (size_t i = 0; i < fk.nallocs; i++) free(fk.allocs[i]); /* driver-held blocks */
    free(fk.allocs);
    json_decref(fk.requests);
    json_decref(fk.recorded_ids);
    memset(&fk, 0, sizeof fk);
    fb_registry_free(r);
    fb_diag_free(d);
    return k.fail;
}
