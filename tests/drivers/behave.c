/* behave.c - a complete small driver that keeps every behaviour rule of
 * docs/driver-abi.md, compiled once per rule with one -D that breaks that
 * rule alone, so tests/drivers/behaviour.sh can show that the conformance
 * kit (`fedbroker drivers test`) fails each broken build with the FAIL
 * line of that rule and passes the correct one. Also the 1.0-shaped driver
 * (BEHAVE_ABI_1_0): a struct that ends before the 1.1 usage slot.
 *
 * It places Functions in region "r1" of service "svc", priced as the
 * catalog's local Kubernetes nodes, against a small REST API at
 * settings.endpoint (default http://behave.invalid: the kit's fake host
 * answers every request there; nothing goes on the network):
 *   PUT    /apps/NAME   apply (201), records {"type": "app", "id": NAME}
 *   GET    /apps/NAME   observe (404 -> missing)
 *   DELETE /apps/NAME   destroy (404 -> already gone, success)
 *   GET    /apps        discover
 *
 * Variants (one -D each): BEHAVE_RENDER_IO, BEHAVE_RENDER_CLOCK,
 * BEHAVE_OBSERVE_MUTATES, BEHAVE_APPLY_NOT_IDEMPOTENT,
 * BEHAVE_DESTROY_404_FAILS, BEHAVE_VALIDATE_SILENT,
 * BEHAVE_STATUS_NO_DIAG, BEHAVE_CAPS_NOTSUP, BEHAVE_USAGE_GARBAGE,
 * BEHAVE_USAGE_CLOCK, BEHAVE_FOREIGN_BUFFER, BEHAVE_EVALUATE_DIFFERS, BEHAVE_ABI_1_0.
 *
 * With BEHAVE_RECORD=FILE in the environment every verb appends one line
 * {"verb", "input", "output"?} to FILE, so tests/drivers/shapes.py can
 * check what the real broker sends against schemas/driver. */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <fedbroker/driver.h>

#ifndef BEHAVE_NAME
#define BEHAVE_NAME "behave"
#endif

static const fb_host *host;

struct fb_driver_ctx { char endpoint[256]; };

/* Appends {"verb", "input", "output"?} to $BEHAVE_RECORD (verbs run on
 * several threads: one line at a time). */
static void record_call(const char *verb, const char *in, const char *out)
{
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    const char *path = getenv("BEHAVE_RECORD");
    if (!path) return;
    json_t *line = json_pack("{s:s}", "verb", verb);
    json_t *ij = in ? json_loads(in, 0, NULL) : NULL;
    json_object_set_new(line, "input", ij ? ij : json_string(in ? in : ""));
    json_t *oj = out ? json_loads(out, 0, NULL) : NULL;
    if (oj) json_object_set_new(line, "output", oj);
    char *text = json_dumps(line, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(line);
    pthread_mutex_lock(&mu);
    FILE *f = fopen(path, "a");
    if (f) {
        fprintf(f, "%s\n", text);
        fclose(f);
    }
    pthread_mutex_unlock(&mu);
    free(text);
}

/* An error diagnostic (the rule: every failure says why). */
static void err(fb_diag *d, const char *summary)
{
    host->diag_add(d, FB_SEV_ERROR, summary, NULL, NULL);
}

/* j (stolen) as text in a host->alloc buffer. */
static fb_status out_json(json_t *j, char **out)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    size_t n = strlen(s) + 1;
#ifdef BEHAVE_FOREIGN_BUFFER
    *out = malloc(n); /* breaks: buffers handed to the host come from host->alloc */
#else
    *out = host->alloc(n);
#endif
    memcpy(*out, s, n);
    free(s);
    return FB_OK;
}

static fb_status b_configure(const fb_host *h, const char *cfg, fb_driver_ctx **out, fb_diag *d)
{
    (void)d;
    host = h;
    *out = calloc(1, sizeof **out);
    json_t *c = json_loads(cfg ? cfg : "{}", 0, NULL);
    const char *ep = json_string_value(json_object_get(json_object_get(c, "settings"), "endpoint"));
    snprintf((*out)->endpoint, sizeof (*out)->endpoint, "%s", ep ? ep : "http://behave.invalid");
    json_decref(c);
    return FB_OK;
}

static void b_teardown(fb_driver_ctx *ctx) { free(ctx); }

static fb_status b_offers(fb_driver_ctx *ctx, char **out, fb_diag *d)
{
    (void)ctx;
    (void)d;
    return out_json(json_pack("{s:[{s:s,s:s,s:s,s:{s:s,s:s}}]}", "offers", "kind", "Function", "service",
                              "svc", "region", "r1", "catalog", "provider", "local", "region", "on-prem"),
                    out);
}

/* The parsed input, or NULL after an error diagnostic. */
static json_t *input(const char *in, fb_diag *d)
{
    json_t *j = json_loads(in ? in : "", 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        err(d, "behave: the input is not a JSON object");
        return NULL;
    }
    return j;
}

/* The workload's name, or NULL after an error diagnostic. */
static const char *wl_name(json_t *in, fb_diag *d)
{
    const char *n = json_string_value(json_object_get(json_object_get(json_object_get(in, "workload"),
                                                                      "metadata"), "name"));
    if (!n) err(d, "behave: the input has no workload with metadata.name");
    return n;
}

static fb_status b_validate(fb_driver_ctx *ctx, const char *in_json, fb_diag *d)
{
    (void)ctx;
    json_t *in = input(in_json, d);
    if (!in) return FB_INVALID;
    fb_status st = wl_name(in, d) ? FB_OK : FB_INVALID;
    json_t *p = json_object_get(in, "placement");
    const char *svc = json_string_value(json_object_get(p, "service"));
    const char *region = json_string_value(json_object_get(p, "region"));
    if (st == FB_OK && (!svc || strcmp(svc, "svc") || !region || strcmp(region, "r1"))) {
#ifndef BEHAVE_VALIDATE_SILENT /* breaks: a refusal must say why */
        host->diag_add(d, FB_SEV_ERROR, "behave: not one of the offers (svc in r1)", NULL, NULL);
#endif
        st = FB_INVALID;
    }
    json_decref(in);
    return st;
}

static fb_status b_render(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *d)
{
    if (b_validate(ctx, in_json, d) != FB_OK) return FB_INVALID;
    json_t *in = input(in_json, d);
    json_t *body = json_pack("{s:s}", "name", wl_name(in, d));
#ifdef BEHAVE_RENDER_CLOCK /* breaks: render is pure, the same for the same input */
    json_object_set_new(body, "renderedAt", json_integer(host->now()));
#endif
#ifdef BEHAVE_RENDER_IO /* breaks: render does no I/O */
    fb_http_request req = {.struct_size = sizeof req, .method = "GET", .url = "http://behave.invalid/apps",
                           .flags = FB_HTTP_IDEMPOTENT | FB_HTTP_READ_ONLY, .service = "behave"};
    fb_http_response resp;
    if (host->http(d, &req, &resp) == FB_OK) host->http_free(&resp);
#endif
    json_decref(in);
    return out_json(json_pack("{s:[{s:s,s:s,s:o}]}", "documents", "api", "behave/v1", "kind", "App",
                              "body", body), out);
}

/* One request; *code the HTTP status (0 in a dry run). */
static fb_status call(fb_driver_ctx *ctx, fb_diag *d, const char *method, const char *name, uint32_t flags,
                      long *code)
{
    char url[512];
    snprintf(url, sizeof url, "%s/apps%s%s", ctx->endpoint, name ? "/" : "", name ? name : "");
    fb_http_request req = {.struct_size = sizeof req, .method = method, .url = url,
                           .body = "{}", .body_len = strcmp(method, "PUT") ? 0 : 2,
                           .flags = flags, .service = "behave"};
    fb_http_response resp;
    fb_status st = host->http(d, &req, &resp);
    if (st != FB_OK) return st;
    *code = resp.status;
    host->http_free(&resp);
    return FB_OK;
}

/* A non-2xx answer as a status, with its diagnostic. */
static fb_status failed(fb_diag *d, long code)
{
#ifndef BEHAVE_STATUS_NO_DIAG /* breaks: a non-OK status comes with an error diagnostic */
    char m[96];
    snprintf(m, sizeof m, "behave: the API answered HTTP %ld", code);
    err(d, m);
#endif
    return code == 429 || code >= 500 ? FB_RETRYABLE : FB_INVALID;
}

#ifdef BEHAVE_APPLY_NOT_IDEMPOTENT
static int applies;
#endif

static fb_status b_apply(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *d)
{
    if (b_validate(ctx, in_json, d) != FB_OK) return FB_INVALID;
    json_t *in = input(in_json, d);
    char id[160];
    snprintf(id, sizeof id, "%s", wl_name(in, d));
#ifdef BEHAVE_APPLY_NOT_IDEMPOTENT /* breaks: a second apply must not create another app */
    snprintf(id + strlen(id), sizeof id - strlen(id), "-%d", ++applies);
#endif
    json_decref(in);
    long code = 0;
    fb_status st = call(ctx, d, "PUT", id, FB_HTTP_IDEMPOTENT, &code);
    if (st != FB_OK) return st;
    if (!host->dry_run(d)) {
        if (code < 200 || code > 299) return failed(d, code);
        char rec[256];
        snprintf(rec, sizeof rec, "{\"type\":\"app\",\"id\":\"%s\",\"region\":\"r1\"}", id);
        st = host->record(d, rec);
        if (st != FB_OK) return st;
    }
    return out_json(json_pack("{s:{s:s},s:[{s:s,s:s,s:s}]}", "state", "id", id, "resources", "type", "app",
                              "id", id, "region", "r1"), out);
}

/* deployment.state.id, or NULL after an error diagnostic. */
static const char *dep_id(json_t *in, fb_diag *d)
{
    const char *id = json_string_value(json_object_get(json_object_get(json_object_get(in, "deployment"),
                                                                       "state"), "id"));
    if (!id) err(d, "behave: the input has no deployment.state.id");
    return id;
}

static fb_status b_observe(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *d)
{
    (void)ctx;
    json_t *in = input(in_json, d);
    const char *id = in ? dep_id(in, d) : NULL;
    if (!id) {
        json_decref(in);
        return FB_INVALID;
    }
    long code = 0;
#ifdef BEHAVE_OBSERVE_MUTATES /* breaks: observe changes nothing (a POST without FB_HTTP_READ_ONLY) */
    fb_status st = call(ctx, d, "POST", id, FB_HTTP_IDEMPOTENT, &code);
#else
    fb_status st = call(ctx, d, "GET", id, FB_HTTP_IDEMPOTENT | FB_HTTP_READ_ONLY, &code);
#endif
    json_decref(in);
    if (st != FB_OK) return st;
    if (code == 404) return out_json(json_pack("{s:s,s:[]}", "status", "missing", "drift"), out);
    if (code < 200 || code > 299) return failed(d, code);
    return out_json(json_pack("{s:s,s:[]}", "status", "ready", "drift"), out);
}

static fb_status b_destroy(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *d)
{
    (void)ctx;
    json_t *in = input(in_json, d);
    const char *id = in ? dep_id(in, d) : NULL;
    if (!id) {
        json_decref(in);
        return FB_INVALID;
    }
    long code = 0;
    fb_status st = call(ctx, d, "DELETE", id, FB_HTTP_IDEMPOTENT, &code);
    json_t *o = json_pack("{s:[s]}", "deleted", id);
    json_decref(in);
    if (st != FB_OK) {
        json_decref(o);
        return st;
    }
#ifdef BEHAVE_DESTROY_404_FAILS /* breaks: deleting what is already gone is success */
    int gone_ok = 0;
#else
    int gone_ok = code == 404;
#endif
    if (!gone_ok && (code < 200 || code > 299)) {
        json_decref(o);
        return failed(d, code);
    }
    return out_json(o, out);
}

static fb_status b_discover(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *d)
{
    (void)ctx;
    (void)in_json;
#ifdef BEHAVE_CAPS_NOTSUP /* breaks: caps claim discover, which answers NOTSUP */
    (void)out;
    err(d, "behave: discover is not implemented");
    return FB_NOTSUP;
#else
    long code = 0;
    fb_status st = call(ctx, d, "GET", NULL, FB_HTTP_IDEMPOTENT | FB_HTTP_READ_ONLY, &code);
    if (st != FB_OK) return st;
    if (code < 200 || code > 299) return failed(d, code);
    return out_json(json_pack("{s:[]}", "resources"), out);
#endif
}

#ifndef BEHAVE_ABI_1_0
static fb_status b_usage(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *d)
{
    if (b_validate(ctx, in_json, d) != FB_OK) return FB_INVALID;
#if defined(BEHAVE_USAGE_GARBAGE) /* breaks: quantities are exact non-negative decimal strings */
    const char *q = "1.5e3";
#else
    const char *q = "182.5";
#endif
    /* a quarter of a local node's vCPU for the month */
    json_t *o = json_pack("{s:[{s:s,s:s,s:s,s:s,s:s}],s:[],s:i,s:s}", "lines", "service",
                          "kubernetes-node (assumption)", "metric", "cpu", "variant", "opencost default.json",
                          "unit", "vCPU-hour", "quantity", q, "notes", "coldStartMs", 100, "vcpu", "0.25");
#ifdef BEHAVE_USAGE_CLOCK /* breaks: usage is pure */
    json_object_set_new(o, "estimatedAt", json_integer(host->now()));
#endif
    return out_json(o, out);
}
#endif

#ifndef BEHAVE_ABI_1_0
/* evaluate (1.2): validate then usage on each placement, one input each. */
static fb_status b_evaluate(fb_driver_ctx *ctx, const char *in_json, size_t n, fb_diag *const *diags,
                            char **out, fb_diag *d)
{
    json_t *in = input(in_json, d);
    if (!in) return FB_INVALID;
    json_t *pls = json_object_get(in, "placements");
    if (json_array_size(pls) != n) {
        host->diag_add(d, FB_SEV_ERROR, "behave: placements and diagnostics differ in number", NULL, NULL);
        json_decref(in);
        return FB_INVALID;
    }
    json_t *one = json_deep_copy(in);
    json_object_del(one, "placements");
    json_t *results = json_array();
    for (size_t i = 0; i < n; i++) {
        json_object_set(one, "placement", json_array_get(pls, i));
        char *text = json_dumps(one, JSON_COMPACT | JSON_SORT_KEYS);
        json_t *r;
        if (b_validate(ctx, text, diags[i]) != FB_OK) {
            r = json_false();
        } else {
            char *u = NULL;
            r = b_usage(ctx, text, &u, diags[i]) == FB_OK && u ? json_loads(u, 0, NULL) : json_null();
#ifdef BEHAVE_EVALUATE_DIFFERS /* breaks: evaluate answers as validate then usage would */
            json_decref(r);
            r = json_null();
#endif
#ifdef BEHAVE_FOREIGN_BUFFER
            free(u);
#else
            if (u) host->free(u);
#endif
        }
        free(text);
        json_array_append_new(results, r);
    }
    json_decref(one);
    json_decref(in);
    return out_json(json_pack("{s:o}", "results", results), out);
}
#endif

#ifdef BEHAVE_ABI_1_0
/* Where a 1.1 host would look for usage: past this driver's struct_size,
 * so the host must never read, let alone call, it. */
static fb_status b_trap(fb_driver_ctx *ctx, const char *in, char **out, fb_diag *d)
{
    (void)ctx; (void)in; (void)out; (void)d;
    abort();
}
#endif

/* The slots: each verb recorded (BEHAVE_RECORD) around its body. */
static fb_status r_configure(const fb_host *h, const char *cfg, fb_driver_ctx **out, fb_diag *d)
{
    host = h;
    record_call("configure", cfg, NULL);
    return b_configure(h, cfg, out, d);
}

static fb_status r_offers(fb_driver_ctx *ctx, char **out, fb_diag *d)
{
    fb_status st = b_offers(ctx, out, d);
    record_call("offers", NULL, st == FB_OK ? *out : NULL);
    return st;
}

static fb_status r_validate(fb_driver_ctx *ctx, const char *in, fb_diag *d)
{
    record_call("validate", in, NULL);
    return b_validate(ctx, in, d);
}

#define RECORDED(verb)                                                                 \
    static fb_status r_##verb(fb_driver_ctx *ctx, const char *in, char **out, fb_diag *d) \
    {                                                                                  \
        *out = NULL;                                                                   \
        fb_status st = b_##verb(ctx, in, out, d);                                      \
        record_call(#verb, in, st == FB_OK ? *out : NULL);                             \
        return st;                                                                     \
    }
RECORDED(render)
RECORDED(apply)
RECORDED(observe)
RECORDED(destroy)
RECORDED(discover)
#ifndef BEHAVE_ABI_1_0
RECORDED(usage)
#endif

static const fb_driver drv = {
    .abi_major = FB_ABI_MAJOR,
#ifdef BEHAVE_ABI_1_0
    /* built against the 1.0 header: no usage slot, no FB_CAP_ESTIMATE */
    .abi_minor = 0,
    .struct_size = offsetof(fb_driver, usage),
    .caps = FB_CAP_FUNCTION | FB_CAP_RENDER | FB_CAP_DEPLOY | FB_CAP_DISCOVER,
    .usage = b_trap,
#else
    .abi_minor = FB_ABI_MINOR,
    .struct_size = sizeof(fb_driver),
    .caps = FB_CAP_FUNCTION | FB_CAP_RENDER | FB_CAP_DEPLOY | FB_CAP_DISCOVER | FB_CAP_ESTIMATE,
    .usage = r_usage,
    .evaluate = b_evaluate,
#endif
    .name = BEHAVE_NAME,
    .version = "0.0.1",
    .summary = "conformance kit test driver (tests/drivers/behave.c)",
    .configure = r_configure,
    .offers = r_offers,
    .validate = r_validate,
    .render = r_render,
    .apply = r_apply,
    .observe = r_observe,
    .destroy = r_destroy,
    .discover = r_discover,
    .teardown = b_teardown,
};

FB_DRIVER_EXPORT fb_status fb_driver_entry(const fb_host *h, const fb_driver **out, fb_diag *diag)
{
    (void)diag;
    host = h;
    *out = &drv;
    return FB_OK;
}
