/*
 * example.c - a complete fedbroker driver, written as the tutorial for
 * driver authors (read docs/driver-authors.md alongside it).
 *
 * It deploys Functions and Containers to "example cloud", a tiny REST API:
 *
 *     PUT    {endpoint}/v1/apps/{name}   create or replace an app (JSON body)
 *     GET    {endpoint}/v1/apps/{name}   read it (404 when absent)
 *     DELETE {endpoint}/v1/apps/{name}   delete it (404 when absent)
 *     GET    {endpoint}/v1/apps          list all apps
 *
 * tests/fakes/example_cloud.py implements that API, so the whole life cycle
 * (apply, observe, destroy, discover) runs in the test suite over real HTTP.
 *
 * Build it out of tree:
 *     cc -shared -fPIC -fvisibility=hidden -o example.so example.c \
 *        $(pkg-config --cflags --libs fedbroker jansson)
 *
 * The rules this file follows (the conformance kit checks them):
 *  1. Export exactly one symbol, fb_driver_entry (FB_DRIVER_EXPORT, and
 *     -fvisibility=hidden for everything else).
 *  2. Fill the fb_driver struct with the ABI version from the header you
 *     built against and caps that match the slots you set.
 *  3. Take everything from the outside world through the host table: HTTP,
 *     time, memory for returned buffers, diagnostics.
 *  4. render is pure; observe changes nothing; apply and destroy are
 *     idempotent; every failure comes with a diagnostic.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <fedbroker/driver.h>

/* The host table, kept from fb_driver_entry. Every driver needs it. */
static const fb_host *host;

/* Our per-configuration state: where example cloud lives. */
struct fb_driver_ctx {
    char endpoint[512];
};

/* Adds a diagnostic with a printf-style summary. */
static void diagf(fb_diag *diag, fb_severity sev, const char *pointer,
                  const char *detail, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    host->diag_add(diag, sev, msg, detail, pointer);
}

/* Serialises j into a buffer from host->alloc (the host frees it), with
 * sorted keys so the output is deterministic. Steals j. */
static fb_status emit(json_t *j, char **out, fb_diag *diag)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    if (!s) {
        diagf(diag, FB_SEV_ERROR, NULL, NULL, "example: cannot serialise output");
        return FB_INTERNAL;
    }
    size_t n = strlen(s) + 1;
    *out = host->alloc(n);
    memcpy(*out, s, n);
    free(s);
    return FB_OK;
}

/* Parses the verb's input; every verb gets one JSON object. */
static json_t *parse_input(const char *in_json, fb_diag *diag)
{
    json_error_t e;
    json_t *in = json_loads(in_json ? in_json : "", 0, &e);
    if (!in || !json_is_object(in)) {
        diagf(diag, FB_SEV_ERROR, NULL, e.text,
              "example: the input is not a JSON object (line %d)", e.line);
        json_decref(in);
        return NULL;
    }
    return in;
}

static fb_status ex_configure(const fb_host *h, const char *config_json,
                              fb_driver_ctx **out, fb_diag *diag)
{
    (void)h;
    json_t *cfg = parse_input(config_json, diag);
    if (!cfg) return FB_INVALID;
    json_t *epv = json_object_get(json_object_get(cfg, "settings"), "endpoint");
    const char *ep = json_string_value(epv);
    /* A bad setting is an error (the broker stops with exit 2), never a
     * silent default: the endpoint receives our requests. */
    if (epv && (!ep || (strncmp(ep, "http://", 7) != 0 && strncmp(ep, "https://", 8) != 0) ||
                strlen(ep) >= sizeof ((struct fb_driver_ctx *)0)->endpoint)) {
        json_decref(cfg);
        diagf(diag, FB_SEV_ERROR, "/drivers/example/endpoint",
              "e.g. \"http://127.0.0.1:8799\"",
              "example: settings.endpoint must be an http:// or https:// URL");
        return FB_INVALID;
    }
    struct fb_driver_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        json_decref(cfg);
        diagf(diag, FB_SEV_ERROR, NULL, NULL, "example: out of memory");
        return FB_INTERNAL;
    }
    snprintf(ctx->endpoint, sizeof ctx->endpoint, "%s",
             ep ? ep : "http://127.0.0.1:8799");
    json_decref(cfg);
    *out = ctx;
    return FB_OK;
}

/* What example cloud can run: Functions and Containers in one region. */
static fb_status ex_offers(fb_driver_ctx *ctx, char **out, fb_diag *diag)
{
    (void)ctx;
    return emit(json_pack("{s:[{s:s,s:s,s:s},{s:s,s:s,s:s}]}", "offers",
                          "kind", "Function", "service", "app", "region", "local",
                          "kind", "Container", "service", "app", "region", "local"),
                out, diag);
}

/* Checks what example cloud would refuse, before anything is sent. All
 * problems are reported, each with a JSON pointer into the workload. */
static fb_status check(json_t *in, fb_diag *diag)
{
    json_t *w = json_object_get(in, "workload");
    json_t *p = json_object_get(in, "placement");
    int errors = 0;
    if (!json_is_object(w)) {
        diagf(diag, FB_SEV_ERROR, NULL, "pass {\"workload\": {...}, \"placement\": {...}}",
              "example: input has no \"workload\" object");
        return FB_INVALID;
    }
    const char *kind = json_string_value(json_object_get(w, "kind"));
    if (!kind || (strcmp(kind, "Function") != 0 && strcmp(kind, "Container") != 0)) {
        diagf(diag, FB_SEV_ERROR, "/kind", "example cloud runs Function and Container",
              "example: cannot run kind %s", kind ? kind : "(missing)");
        errors++;
    }
    if (!json_string_value(json_object_get(json_object_get(w, "metadata"), "name"))) {
        diagf(diag, FB_SEV_ERROR, "/metadata/name", NULL, "example: workload has no name");
        errors++;
    }
    json_int_t mem = json_integer_value(
        json_object_get(json_object_get(json_object_get(w, "spec"), "resources"), "memoryMiB"));
    if (mem > 4096) {
        diagf(diag, FB_SEV_ERROR, "/spec/resources/memory",
              "lower spec.resources.memory to 4Gi or less, or place it elsewhere",
              "example: example cloud apps have at most 4096 MiB; the spec asks for %lld MiB",
              (long long)mem);
        errors++;
    }
    const char *region = json_string_value(json_object_get(p, "region"));
    if (region && strcmp(region, "local") != 0) {
        diagf(diag, FB_SEV_ERROR, NULL, "the only region is \"local\"",
              "example: unknown region %s", region);
        errors++;
    }
    return errors ? FB_INVALID : FB_OK;
}

static fb_status ex_validate(fb_driver_ctx *ctx, const char *in_json, fb_diag *diag)
{
    (void)ctx;
    json_t *in = parse_input(in_json, diag);
    if (!in) return FB_INVALID;
    fb_status st = check(in, diag);
    json_decref(in);
    return st;
}

/* The app document example cloud stores: the same for render and apply, so
 * what `fedbroker render` shows is exactly what is sent. new. */
static json_t *app_document(json_t *w)
{
    json_t *spec = json_object_get(w, "spec");
    json_t *md = json_object_get(w, "metadata");
    json_t *res = json_object_get(spec, "resources");
    json_t *app = json_object();
    json_object_set(app, "name", json_object_get(md, "name"));
    json_object_set(app, "kind", json_object_get(w, "kind"));
    if (json_object_get(spec, "image")) json_object_set(app, "image", json_object_get(spec, "image"));
    if (json_object_get(spec, "runtime")) json_object_set(app, "runtime", json_object_get(spec, "runtime"));
    json_object_set(app, "memoryMiB", json_object_get(res, "memoryMiB"));
    json_object_set(app, "cpuMillis", json_object_get(res, "cpuMillis"));
    if (json_object_get(spec, "env")) json_object_set(app, "env", json_object_get(spec, "env"));
    json_object_set_new(app, "labels",
        json_pack("{s:s,s:O,s:O,s:O}", "managed-by", "fedbroker",
                  "workload", json_object_get(md, "name"),
                  "tenant", json_object_get(md, "tenant"),
                  "spec-hash", json_object_get(w, "specHash")));
    return app;
}

static fb_status ex_render(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *diag)
{
    (void)ctx;
    json_t *in = parse_input(in_json, diag);
    if (!in) return FB_INVALID;
    fb_status st = check(in, diag);
    if (st != FB_OK) {
        json_decref(in);
        return st;
    }
    json_t *doc = app_document(json_object_get(in, "workload"));
    json_decref(in);
    return emit(json_pack("{s:[{s:s,s:s,s:o}]}", "documents", "api", "example/v1",
                          "kind", "App", "body", doc), out, diag);
}

/* One HTTP call through the host (retries, limits, logging, dry-run are the
 * host's business). Returns the status code in *code, the body in *body
 * (NULL when empty). */
static fb_status call(fb_driver_ctx *ctx, fb_diag *diag, const char *method,
                      const char *path, json_t *body, long *code, json_t **resp_body)
{
    char url[1024];
    snprintf(url, sizeof url, "%s%s", ctx->endpoint, path);
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    fb_http_header hdr[] = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
    fb_http_request req = {
        .struct_size = sizeof req,
        .method = method,
        .url = url,
        .headers = hdr,
        .n_headers = 2,
        .body = text,
        .body_len = text ? strlen(text) : 0,
        .flags = FB_HTTP_IDEMPOTENT, /* PUT, GET and DELETE all are */
        .service = "example",
    };
    fb_http_response resp;
    fb_status st = host->http(diag, &req, &resp);
    free(text);
    if (st != FB_OK) return st; /* the host already added a diagnostic */
    *code = resp.status;
    if (resp_body) *resp_body = resp.body_len ? json_loads(resp.body, 0, NULL) : NULL;
    host->http_free(&resp);
    return FB_OK;
}

/* Maps an unexpected HTTP status to a status and a diagnostic. */
static fb_status http_failure(fb_diag *diag, const char *what, long code)
{
    diagf(diag, FB_SEV_ERROR, NULL, NULL, "example: %s failed with HTTP %ld", what, code);
    if (code == 401 || code == 403) return FB_AUTH;
    if (code == 409) return FB_CONFLICT;
    if (code == 429 || code >= 500) return FB_RETRYABLE;
    return FB_INVALID;
}

static fb_status ex_apply(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *diag)
{
    json_t *in = parse_input(in_json, diag);
    if (!in) return FB_INVALID;
    fb_status st = check(in, diag);
    if (st != FB_OK) {
        json_decref(in);
        return st;
    }
    json_t *doc = app_document(json_object_get(in, "workload"));
    char path[256];
    snprintf(path, sizeof path, "/v1/apps/%s", json_string_value(json_object_get(doc, "name")));
    long code = 0;
    st = call(ctx, diag, "PUT", path, doc, &code, NULL);
    if (st == FB_OK && host->dry_run(diag)) {
        /* Dry run: the host recorded the request; nothing was sent. */
    } else if (st == FB_OK && code != 200 && code != 201) {
        st = http_failure(diag, "PUT app", code);
    } else if (st == FB_OK) {
        /* Record the cloud-side id right away: if the broker dies after
         * this line, the app is still known and can be deleted. */
        json_t *rec = json_pack("{s:s,s:O,s:s}", "type", "app", "id",
                                json_object_get(doc, "name"), "region", "local");
        char *rtext = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
        st = host->record(diag, rtext);
        free(rtext);
        json_decref(rec);
    }
    json_t *result = NULL;
    if (st == FB_OK)
        result = json_pack("{s:{s:O},s:[{s:s,s:O,s:s}]}", "state", "id",
                           json_object_get(doc, "name"), "resources", "type", "app", "id",
                           json_object_get(doc, "name"), "region", "local");
    json_decref(doc);
    json_decref(in);
    return st == FB_OK ? emit(result, out, diag) : st;
}

/* The app name of a deployment: state.id from apply. */
static const char *deployment_id(json_t *in, fb_diag *diag)
{
    const char *id = json_string_value(
        json_object_get(json_object_get(json_object_get(in, "deployment"), "state"), "id"));
    if (!id) diagf(diag, FB_SEV_ERROR, NULL, "pass {\"deployment\": {\"state\": {\"id\": ...}}}",
                   "example: deployment has no state.id");
    return id;
}

static fb_status ex_observe(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *diag)
{
    json_t *in = parse_input(in_json, diag);
    if (!in) return FB_INVALID;
    const char *id = deployment_id(in, diag);
    if (!id) {
        json_decref(in);
        return FB_INVALID;
    }
    char path[256];
    snprintf(path, sizeof path, "/v1/apps/%s", id);
    long code = 0;
    json_t *live = NULL;
    fb_status st = call(ctx, diag, "GET", path, NULL, &code, &live);
    json_t *result = NULL;
    if (st == FB_OK && code == 404) {
        result = json_pack("{s:s,s:[]}", "status", "missing", "drift");
    } else if (st == FB_OK && code == 200) {
        /* Drift: compare the live app with what the spec would produce. */
        json_t *drift = json_array();
        json_t *w = json_object_get(in, "workload");
        if (w && live) {
            json_t *want = app_document(w);
            const char *key;
            json_t *v;
            json_object_foreach(want, key, v) {
                if (!json_equal(v, json_object_get(live, key)))
                    json_array_append_new(drift, json_pack("{s:s,s:O,s:O*}", "field", key,
                                                           "want", v, "live",
                                                           json_object_get(live, key)));
            }
            json_decref(want);
        }
        result = json_pack("{s:s,s:o,s:O*}", "status", "ready", "drift", drift, "live", live);
    } else if (st == FB_OK) {
        st = http_failure(diag, "GET app", code);
    }
    json_decref(live);
    json_decref(in);
    return st == FB_OK ? emit(result, out, diag) : st;
}

static fb_status ex_destroy(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *diag)
{
    json_t *in = parse_input(in_json, diag);
    if (!in) return FB_INVALID;
    const char *id = deployment_id(in, diag);
    if (!id) {
        json_decref(in);
        return FB_INVALID;
    }
    char path[256];
    snprintf(path, sizeof path, "/v1/apps/%s", id);
    long code = 0;
    fb_status st = call(ctx, diag, "DELETE", path, NULL, &code, NULL);
    json_t *result = NULL;
    /* 404 is success: deleting what is already gone is idempotent. */
    if (st == FB_OK && (code == 200 || code == 204 || code == 404 || host->dry_run(diag)))
        result = json_pack("{s:[s]}", "deleted", id);
    else if (st == FB_OK)
        st = http_failure(diag, "DELETE app", code);
    json_decref(in);
    return st == FB_OK ? emit(result, out, diag) : st;
}

static fb_status ex_discover(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *diag)
{
    (void)in_json;
    long code = 0;
    json_t *list = NULL;
    fb_status st = call(ctx, diag, "GET", "/v1/apps", NULL, &code, &list);
    if (st != FB_OK) return st;
    if (code != 200) {
        json_decref(list);
        return http_failure(diag, "list apps", code);
    }
    json_t *resources = json_array();
    size_t i;
    json_t *app;
    json_array_foreach(json_object_get(list, "apps"), i, app) {
        json_t *labels = json_object_get(app, "labels");
        const char *by = json_string_value(json_object_get(labels, "managed-by"));
        json_array_append_new(resources,
            json_pack("{s:s,s:O,s:s,s:b,s:O*,s:O*}", "type", "app", "id",
                      json_object_get(app, "name"), "region", "local", "managed",
                      by && strcmp(by, "fedbroker") == 0, "workload",
                      json_object_get(labels, "workload"), "tenant",
                      json_object_get(labels, "tenant")));
    }
    json_decref(list);
    return emit(json_pack("{s:o}", "resources", resources), out, diag);
}

static void ex_teardown(fb_driver_ctx *ctx)
{
    free(ctx);
}

/* The driver description: ABI version from the header we were built with,
 * caps that match exactly the slots below. */
static const fb_driver example_driver = {
    .abi_major = FB_ABI_MAJOR,
    .abi_minor = FB_ABI_MINOR,
    .struct_size = sizeof(fb_driver),
    .name = "example",
    .version = "1.0.0",
    .caps = FB_CAP_FUNCTION | FB_CAP_CONTAINER | FB_CAP_RENDER | FB_CAP_DEPLOY |
            FB_CAP_DISCOVER,
    .summary = "tutorial driver for example cloud (docs/driver-authors.md)",
    .configure = ex_configure,
    .offers = ex_offers,
    .validate = ex_validate,
    .render = ex_render,
    .apply = ex_apply,
    .observe = ex_observe,
    .destroy = ex_destroy,
    .discover = ex_discover,
    .teardown = ex_teardown,
};

/* The one exported symbol. Refuse a host older than the ABI we need. */
FB_DRIVER_EXPORT fb_status fb_driver_entry(const fb_host *h, const fb_driver **out,
                                           fb_diag *diag)
{
    if (h->abi_major != FB_ABI_MAJOR || h->struct_size < sizeof(fb_host)) {
        if (h->diag_add && h->abi_major == FB_ABI_MAJOR)
            h->diag_add(diag, FB_SEV_ERROR, "example: host ABI too old", NULL, NULL);
        return FB_NOTSUP;
    }
    host = h;
    *out = &example_driver;
    return FB_OK;
}
