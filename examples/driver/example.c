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
 * It uses the driver kit (fbk_*: settings, diagnostics, JSON in and out),
 * installed with fedbroker as a static library. Build it out of tree:
 *     cc -std=c11 -shared -fPIC -fvisibility=hidden -o example.so example.c \
 *        $(pkg-config --cflags --libs fedbroker-kit)
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
 *  5. Verbs run concurrently on one ctx (up to 64 threads): the ctx is
 *     read-only after configure here, so nothing needs a lock.
 *  6. usage (with FB_CAP_ESTIMATE) says what a workload is billed for, so
 *     `fedbroker plan` can price and place it; a driver without it is left
 *     out of every plan.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <fedbroker/driver.h>

#include "fbk.h"          /* the driver kit: JSON out, diagnostics, buffers */
#include "fbk_decimal.h"  /* exact decimal quantities for usage */
#include "fbk_settings.h" /* typed settings with /drivers/NAME/KEY errors */
#include "fbk_verb.h"     /* a verb's input, output and error count */

/* The host table, kept from fb_driver_entry. Every driver needs it. */
static const fb_host *host;

/* Our per-configuration state: where example cloud lives. Written by
 * configure only, so the verbs running concurrently on it just read. */
struct fb_driver_ctx {
    char *endpoint;
};

/* Where a verb's diagnostics go: each summary starts with "example: " and
 * ck.errors counts the errors. */
static fbk_ck checker(fb_diag *diag)
{
    fbk_ck ck = {.host = host, .diag = diag, .drv = "example"};
    return ck;
}

static fb_status ex_configure(const fb_host *h, const char *config_json,
                              fb_driver_ctx **out, fb_diag *diag)
{
    /* A bad setting is an error at /drivers/example/KEY (the broker stops
     * with exit 2), never a silent default: the endpoint receives our
     * requests. The reader reports every problem at once. */
    fbk_settings s;
    fb_status st = fbk_settings_open(&s, h, diag, "example", config_json);
    if (st != FB_OK) return st;
    static const char *const keys[] = {"endpoint", NULL};
    fbk_settings_known(&s, NULL, keys);
    char *endpoint = NULL;
    fbk_set_url(&s, "endpoint", "http://127.0.0.1:8799", &endpoint);
    st = fbk_settings_close(&s);
    if (st != FB_OK) {
        free(endpoint);
        return st;
    }
    struct fb_driver_ctx *ctx = fbk_xcalloc(1, sizeof *ctx);
    ctx->endpoint = endpoint;
    *out = ctx;
    return FB_OK;
}

/* What example cloud can run: Functions and Containers in one region,
 * "on-prem". Example cloud runs on your own machines, so its offers are
 * priced as the catalog's local Kubernetes nodes (catalog provider "local",
 * whose region is "on-prem"): without catalog rows to price them, plan
 * could not place anything here. */
static fb_status ex_offers(fb_driver_ctx *ctx, char **out, fb_diag *diag)
{
    (void)ctx;
    fbk_ck ck = checker(diag);
    json_t *offers = json_array();
    static const char *const kinds[] = {"Function", "Container"};
    for (size_t i = 0; i < 2; i++)
        json_array_append_new(offers, json_pack("{s:s,s:s,s:s,s:{s:s,s:s}}", "kind", kinds[i],
                                                "service", "app", "region", "on-prem", "catalog",
                                                "provider", "local", "region", "on-prem"));
    return fbk_emit(&ck, json_pack("{s:o}", "offers", offers), out);
}

/* Checks what example cloud would refuse, before anything is sent. All
 * problems are reported, each with a JSON pointer into the workload. */
static fb_status check(json_t *in, fbk_ck *ck)
{
    json_t *w = json_object_get(in, "workload");
    json_t *p = json_object_get(in, "placement");
    if (!json_is_object(w)) {
        fbk_err(ck, NULL, "pass {\"workload\": {...}, \"placement\": {...}}",
                "input has no \"workload\" object");
        return FB_INVALID;
    }
    const char *kind = json_string_value(json_object_get(w, "kind"));
    if (!kind || (strcmp(kind, "Function") != 0 && strcmp(kind, "Container") != 0)) {
        fbk_err(ck, "/kind", "example cloud runs Function and Container",
                "cannot run kind %s", kind ? kind : "(missing)");
    }
    if (!json_string_value(json_object_get(json_object_get(w, "metadata"), "name"))) {
        fbk_err(ck, "/metadata/name", NULL, "workload has no name");
    }
    json_int_t mem = json_integer_value(
        json_object_get(json_object_get(json_object_get(w, "spec"), "resources"), "memoryMiB"));
    if (mem > 4096) {
        fbk_err(ck, "/spec/resources/memory",
                "lower spec.resources.memory to 4Gi or less, or place it elsewhere",
                "example cloud apps have at most 4096 MiB; the spec asks for %lld MiB",
                (long long)mem);
    }
    /* the placement must be one of our offers: service app in on-prem */
    const char *service = json_string_value(json_object_get(p, "service"));
    const char *region = json_string_value(json_object_get(p, "region"));
    if (!service || strcmp(service, "app") != 0)
        fbk_err(ck, NULL, "example cloud has one service, \"app\"", "unknown service %s",
                service ? service : "(missing)");
    if (!region || strcmp(region, "on-prem") != 0)
        fbk_err(ck, NULL, "the only region is \"on-prem\"", "unknown region %s",
                region ? region : "(missing)");
    return ck->errors ? FB_INVALID : FB_OK;
}

static fb_status ex_validate(fb_driver_ctx *ctx, const char *in_json, fb_diag *diag)
{
    (void)ctx;
    fbk_ck ck = checker(diag);
    json_t *in = fbk_parse_input(&ck, in_json);
    if (!in) return FB_INVALID;
    fb_status st = check(in, &ck);
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
    fbk_ck ck = checker(diag);
    json_t *in = fbk_parse_input(&ck, in_json);
    if (!in) return FB_INVALID;
    fb_status st = check(in, &ck);
    if (st != FB_OK) {
        json_decref(in);
        return st;
    }
    json_t *doc = app_document(json_object_get(in, "workload"));
    json_decref(in);
    return fbk_emit(&ck, json_pack("{s:[{s:s,s:s,s:o}]}", "documents", "api", "example/v1",
                                   "kind", "App", "body", doc), out);
}

/* One billing line naming a catalog row (catalog/prices.csv: provider
 * local, service "kubernetes-node (assumption)", sku_metric, variant,
 * unit). quantity is stolen. */
static json_t *usage_line(const char *metric, const char *unit, char *quantity, const char *note)
{
    json_t *l = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "service", "kubernetes-node (assumption)",
                          "metric", metric, "variant", "opencost default.json", "unit", unit,
                          "quantity", quantity, "note", note);
    free(quantity);
    return l;
}

/* What an app is billed for in a month: the vCPU and memory it reserves,
 * all hoursPerMonth long (an app is always running). Quantities are exact
 * decimals from integers: hoursPerMonth is read to the milli-hour, then
 * vCPU-hours = cpuMillis x milli-hours / 10^6 and GB-hours = memoryMiB x
 * milli-hours / (1024 x 1000). Pure: no I/O, no clock. */
static fb_status ex_usage(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *diag)
{
    (void)ctx;
    fbk_ck ck = checker(diag);
    json_t *in = fbk_parse_input(&ck, in_json);
    if (!in) return FB_INVALID;
    fb_status st = check(in, &ck);
    json_t *hv = json_object_get(in, "hoursPerMonth");
    double hours = json_is_number(hv) ? json_number_value(hv) : 730.0;
    if (st == FB_OK && !(hours > 0 && hours <= 744)) {
        fbk_err(&ck, NULL, "the broker sends 730 (8,760 / 12) or a calendar month's hours",
                "hoursPerMonth must be a number of hours from 0 to 744");
        st = FB_INVALID;
    }
    if (st != FB_OK) {
        json_decref(in);
        return st;
    }
    json_t *res = json_object_get(json_object_get(json_object_get(in, "workload"), "spec"), "resources");
    json_int_t cpu = json_integer_value(json_object_get(res, "cpuMillis"));
    json_int_t mem = json_integer_value(json_object_get(res, "memoryMiB"));
    json_decref(in);
    fbk_u128 mh = (fbk_u128)(hours * 1000.0 + 0.5); /* milli-hours */
    json_t *lines = json_array();
    json_array_append_new(lines, usage_line("cpu", "vCPU-hour",
        fbk_decimal((fbk_u128)(cpu > 0 ? cpu : 0) * mh, 1000000, 6, FBK_ROUND_UP, NULL),
        "cpuMillis / 1000 x hoursPerMonth"));
    json_array_append_new(lines, usage_line("memory", "GB-hour",
        fbk_decimal((fbk_u128)(mem > 0 ? mem : 0) * mh, 1024 * 1000, 6, FBK_ROUND_UP, NULL),
        "memoryMiB / 1024 x hoursPerMonth"));
    char vcpu[32];
    fbk_cores(cpu > 0 ? cpu : 0, vcpu, sizeof vcpu);
    return fbk_emit(&ck, json_pack("{s:o,s:[s],s:i,s:s}", "lines", lines, "notes",
                                   "example cloud apps are always on: reserved vCPU and memory, "
                                   "priced as local Kubernetes nodes", "coldStartMs", 0,
                                   "vcpu", vcpu), out);
}

/* One HTTP call through the host (retries, limits, logging, dry-run are the
 * host's business). Returns the status code in *code, the body in *body
 * (NULL when empty). */
static fb_status call(fb_driver_ctx *ctx, fb_diag *diag, const char *method,
                      const char *path, json_t *body, long *code, json_t **resp_body)
{
    char *url = fbk_xasprintf("%s%s", ctx->endpoint, path);
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
    free(url);
    if (st != FB_OK) return st; /* the host already added a diagnostic */
    *code = resp.status;
    if (resp_body) *resp_body = resp.body_len ? json_loads(resp.body, 0, NULL) : NULL;
    host->http_free(&resp);
    return FB_OK;
}

/* Maps an unexpected HTTP status to a status and a diagnostic. */
static fb_status http_failure(fbk_ck *ck, const char *what, long code)
{
    fbk_err(ck, NULL, NULL, "%s failed with HTTP %ld", what, code);
    if (code == 401 || code == 403) return FB_AUTH;
    if (code == 409) return FB_CONFLICT;
    if (code == 429 || code >= 500) return FB_RETRYABLE;
    return FB_INVALID;
}

static fb_status ex_apply(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *diag)
{
    fbk_ck ck = checker(diag);
    json_t *in = fbk_parse_input(&ck, in_json);
    if (!in) return FB_INVALID;
    fb_status st = check(in, &ck);
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
        st = http_failure(&ck, "PUT app", code);
    } else if (st == FB_OK) {
        /* Record the cloud-side id right away: if the broker dies after
         * this line, the app is still known and can be deleted. */
        json_t *rec = json_pack("{s:s,s:O,s:s}", "type", "app", "id",
                                json_object_get(doc, "name"), "region", "on-prem");
        char *rtext = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
        st = host->record(diag, rtext);
        free(rtext);
        json_decref(rec);
    }
    json_t *result = NULL;
    if (st == FB_OK)
        result = json_pack("{s:{s:O},s:[{s:s,s:O,s:s}]}", "state", "id",
                           json_object_get(doc, "name"), "resources", "type", "app", "id",
                           json_object_get(doc, "name"), "region", "on-prem");
    json_decref(doc);
    json_decref(in);
    if (st != FB_OK) {
        json_decref(result);
        return st;
    }
    return fbk_emit(&ck, result, out);
}

/* The app name of a deployment: state.id from apply. */
static const char *deployment_id(json_t *in, fbk_ck *ck)
{
    const char *id = json_string_value(
        json_object_get(json_object_get(json_object_get(in, "deployment"), "state"), "id"));
    if (!id) fbk_err(ck, NULL, "pass {\"deployment\": {\"state\": {\"id\": ...}}}",
                     "deployment has no state.id");
    return id;
}

static fb_status ex_observe(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *diag)
{
    fbk_ck ck = checker(diag);
    json_t *in = fbk_parse_input(&ck, in_json);
    if (!in) return FB_INVALID;
    const char *id = deployment_id(in, &ck);
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
        st = http_failure(&ck, "GET app", code);
    }
    json_decref(live);
    json_decref(in);
    if (st != FB_OK) {
        json_decref(result);
        return st;
    }
    return fbk_emit(&ck, result, out);
}

static fb_status ex_destroy(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *diag)
{
    fbk_ck ck = checker(diag);
    json_t *in = fbk_parse_input(&ck, in_json);
    if (!in) return FB_INVALID;
    const char *id = deployment_id(in, &ck);
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
        st = http_failure(&ck, "DELETE app", code);
    json_decref(in);
    if (st != FB_OK) {
        json_decref(result);
        return st;
    }
    return fbk_emit(&ck, result, out);
}

static fb_status ex_discover(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *diag)
{
    (void)in_json;
    fbk_ck ck = checker(diag);
    long code = 0;
    json_t *list = NULL;
    fb_status st = call(ctx, diag, "GET", "/v1/apps", NULL, &code, &list);
    if (st != FB_OK) return st;
    if (code != 200) {
        json_decref(list);
        return http_failure(&ck, "list apps", code);
    }
    json_t *resources = json_array();
    size_t i;
    json_t *app;
    json_array_foreach(json_object_get(list, "apps"), i, app) {
        json_t *labels = json_object_get(app, "labels");
        const char *by = json_string_value(json_object_get(labels, "managed-by"));
        json_array_append_new(resources,
            json_pack("{s:s,s:O,s:s,s:b,s:O*,s:O*}", "type", "app", "id",
                      json_object_get(app, "name"), "region", "on-prem", "managed",
                      by && strcmp(by, "fedbroker") == 0, "workload",
                      json_object_get(labels, "workload"), "tenant",
                      json_object_get(labels, "tenant")));
    }
    json_decref(list);
    return fbk_emit(&ck, json_pack("{s:o}", "resources", resources), out);
}

static void ex_teardown(fb_driver_ctx *ctx)
{
    if (ctx) free(ctx->endpoint);
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
            FB_CAP_DISCOVER | FB_CAP_ESTIMATE,
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
    /* since ABI 1.1: without it (and FB_CAP_ESTIMATE) plan cannot price
     * the driver's offers and leaves them out */
    .usage = ex_usage,
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
