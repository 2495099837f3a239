/* countdrv.c - a driver that counts what plan asks of it, for
 * tests/plan/calls.sh. It offers Functions on Lambda's service in four
 * regions (priced from the catalog's aws rows: each offer names
 * "catalog": {"provider": "aws"}), refuses us-west-2 in validate, and
 * prices a Function's requests in usage. Every validate and usage call
 * appends one line to the file named by COUNTDRV_LOG:
 *   "validate NAME REGION" or "usage NAME REGION"
 * (one write(2) on an O_APPEND descriptor, so concurrent calls do not mix
 * their lines). The test compares those lines with what plan should ask.
 * Built with COUNTDRV_EVALUATE (countdrv_batch.so) it also has the ABI 1.2
 * evaluate verb, which logs "evaluate NAME N" (N placements) and answers
 * as validate then usage would, without logging them.
 *
 * Thread notes: the verbs keep no state; they may run concurrently. */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fedbroker/driver.h>

static const fb_host *host;

struct fb_driver_ctx { int unused; };

static const char *const regions[] = {"us-east-1", "us-west-2", "eu-west-1", "eu-central-1"};

static fb_status c_configure(const fb_host *h, const char *cfg, fb_driver_ctx **out, fb_diag *diag)
{
    (void)h; (void)cfg; (void)diag;
    *out = calloc(1, sizeof **out);
    return *out ? FB_OK : FB_INTERNAL;
}

static void c_teardown(fb_driver_ctx *ctx) { free(ctx); }

/* A copy of s in host memory (what crosses the ABI). */
static char *host_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = host->alloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

static fb_status c_offers(fb_driver_ctx *ctx, char **out, fb_diag *diag)
{
    (void)ctx; (void)diag;
    json_t *offers = json_array();
    for (size_t i = 0; i < sizeof regions / sizeof *regions; i++)
        json_array_append_new(offers, json_pack("{s:s,s:s,s:s,s:{s:s}}", "kind", "Function",
                                                "service", "lambda", "region", regions[i],
                                                "catalog", "provider", "aws"));
    json_t *o = json_pack("{s:o}", "offers", offers);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    *out = host_strdup(text);
    free(text);
    return *out ? FB_OK : FB_INTERNAL;
}

/* Appends "VERB NAME REGION" to $COUNTDRV_LOG. */
static void log_call(const char *verb, const json_t *in)
{
    const char *path = getenv("COUNTDRV_LOG");
    if (!path) return;
    const char *name = json_string_value(
        json_object_get(json_object_get(json_object_get(in, "workload"), "metadata"), "name"));
    const char *region = json_string_value(json_object_get(json_object_get(in, "placement"), "region"));
    char line[256];
    int n = snprintf(line, sizeof line, "%s %s %s\n", verb, name ? name : "?", region ? region : "?");
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd < 0) return;
    if (write(fd, line, (size_t)n) != n) { /* the test sees the missing line */ }
    close(fd);
}

static fb_status parse(const char *in_json, json_t **in, fb_diag *diag)
{
    *in = json_loads(in_json, 0, NULL);
    if (!*in) {
        host->diag_add(diag, FB_SEV_ERROR, "countdrv: the input is not JSON", NULL, NULL);
        return FB_INVALID;
    }
    return FB_OK;
}

/* validate's verdict on a placement: 0, or -1 with its diagnostic */
static int refuses(const json_t *placement, fb_diag *diag)
{
    const char *region = json_string_value(json_object_get(placement, "region"));
    if (region && !strcmp(region, "us-west-2")) {
        host->diag_add(diag, FB_SEV_ERROR, "countdrv: us-west-2 is refused", NULL, NULL);
        return -1;
    }
    return 0;
}

static fb_status c_validate(fb_driver_ctx *ctx, const char *in_json, fb_diag *diag)
{
    (void)ctx;
    json_t *in;
    fb_status st = parse(in_json, &in, diag);
    if (st != FB_OK) return st;
    log_call("validate", in);
    if (refuses(json_object_get(in, "placement"), diag)) st = FB_INVALID;
    json_decref(in);
    return st;
}

/* usage's document for a workload. new. */
static json_t *usage_doc(const json_t *in)
{
    json_t *traffic = json_object_get(json_object_get(json_object_get(in, "workload"), "spec"),
                                      "traffic");
    char q[32];
    snprintf(q, sizeof q, "%lld",
             (long long)json_integer_value(json_object_get(traffic, "requestsPerMonth")));
    return json_pack("{s:[{s:s,s:s,s:s,s:s,s:s}],s:[]}", "lines", "service", "lambda",
                     "metric", "requests", "variant", "x86_64+arm64", "unit", "request",
                     "quantity", q, "notes");
}

static fb_status c_usage(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *diag)
{
    (void)ctx;
    json_t *in;
    fb_status st = parse(in_json, &in, diag);
    if (st != FB_OK) return st;
    log_call("usage", in);
    json_t *o = usage_doc(in);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    json_decref(in);
    *out = host_strdup(text);
    free(text);
    return *out ? FB_OK : FB_INTERNAL;
}

#ifdef COUNTDRV_EVALUATE
static fb_status c_evaluate(fb_driver_ctx *ctx, const char *in_json, size_t n, fb_diag *const *diags,
                            char **out, fb_diag *diag)
{
    (void)ctx;
    json_t *in;
    fb_status st = parse(in_json, &in, diag);
    if (st != FB_OK) return st;
    json_t *pls = json_object_get(in, "placements");
    if (json_array_size(pls) != n) {
        host->diag_add(diag, FB_SEV_ERROR, "countdrv: placements and diagnostics differ in number", NULL, NULL);
        json_decref(in);
        return FB_INVALID;
    }
    const char *path = getenv("COUNTDRV_LOG");
    if (path) {
        const char *name = json_string_value(
            json_object_get(json_object_get(json_object_get(in, "workload"), "metadata"), "name"));
        char line[256];
        int len = snprintf(line, sizeof line, "evaluate %s %zu\n", name ? name : "?", n);
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
        if (fd >= 0) {
            if (write(fd, line, (size_t)len) != len) { /* the test sees the missing line */ }
            close(fd);
        }
    }
    json_t *results = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(results, refuses(json_array_get(pls, i), diags[i]) ? json_false()
                                                                                  : usage_doc(in));
    json_t *o = json_pack("{s:o}", "results", results);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    json_decref(in);
    *out = host_strdup(text);
    free(text);
    return *out ? FB_OK : FB_INTERNAL;
}
#endif

static const fb_driver drv = {
    .abi_major = FB_ABI_MAJOR,
    .abi_minor = FB_ABI_MINOR,
    .struct_size = sizeof(fb_driver),
#ifdef COUNTDRV_EVALUATE
    .name = "countdrv_batch",
#else
    .name = "countdrv",
#endif
    .version = "0.0.1",
    .caps = FB_CAP_FUNCTION | FB_CAP_ESTIMATE,
    .summary = "test driver that counts plan's validate and usage calls",
    .configure = c_configure,
    .offers = c_offers,
    .validate = c_validate,
    .teardown = c_teardown,
    .usage = c_usage,
#ifdef COUNTDRV_EVALUATE
    .evaluate = c_evaluate,
#endif
};

FB_DRIVER_EXPORT fb_status fb_driver_entry(const fb_host *h, const fb_driver **out, fb_diag *diag)
{
    (void)diag;
    host = h;
    *out = &drv;
    return FB_OK;
}
