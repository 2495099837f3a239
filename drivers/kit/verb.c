/* verb.c - reading a verb's input and workload, diagnostics with the
 * driver's name, and writing its output (see fbk_verb.h). */
#include "config.h"
#include "fbk_verb.h"
#include "base/jsonspan.h"
#include "base/jsonread.h"
#include "base/jsonwrite.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Formats "DRIVER: message" and hands it to the host. */
static void vadd(fbk_ck *ck, fb_severity sev, const char *pointer, const char *detail,
                 const char *fmt, va_list ap) FBK_PRINTF(5, 0);

static void vadd(fbk_ck *ck, fb_severity sev, const char *pointer, const char *detail,
                 const char *fmt, va_list ap)
{
    if (ck->quiet) return;
    char msg[768];
    int n = snprintf(msg, sizeof msg, "%s: ", ck->drv);
    if (n < 0 || (size_t)n >= sizeof msg) n = 0;
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    ck->host->diag_add(ck->diag, sev, msg, detail, pointer);
}

void fbk_err(fbk_ck *ck, const char *pointer, const char *detail, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vadd(ck, FB_SEV_ERROR, pointer, detail, fmt, ap);
    va_end(ap);
    ck->errors++;
}

void fbk_warn(fbk_ck *ck, const char *pointer, const char *detail, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vadd(ck, FB_SEV_WARNING, pointer, detail, fmt, ap);
    va_end(ap);
}

void fbk_note(fbk_ck *ck, const char *pointer, const char *detail, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vadd(ck, FB_SEV_NOTE, pointer, detail, fmt, ap);
    va_end(ap);
}

/* Every verb receives one JSON object; anything else is refused here so
 * the verbs can assume an object. */
json_t *fbk_parse_input(fbk_ck *ck, const char *in_json)
{
    json_error_t e;
    json_t *in = fbi_json_reads(in_json ? in_json : "", 0, &e);
    if (!in || !json_is_object(in)) {
        if (in)
            fbk_err(ck, NULL, "pass a JSON object such as {\"workload\": {...}, \"placement\": {...}}",
                    "the input is a JSON %s, not an object", json_is_array(in) ? "array" : "scalar");
        else
            fbk_err(ck, NULL, "pass a JSON object such as {\"workload\": {...}, \"placement\": {...}}",
                    "the input is not JSON: line %d column %d: %s", e.line, e.column, e.text);
        json_decref(in);
        return NULL;
    }
    return in;
}

/* Sorted keys and compact separators make the bytes depend only on the
 * content, which render and usage promise (fbk_json_out). */
fb_status fbk_emit(fbk_ck *ck, json_t *j, char **out)
{
    fb_status st = fbk_json_out(ck->host, ck->diag, j, out);
    json_decref(j);
    if (st != FB_OK) ck->errors++;
    return st;
}

/* Are a and b the same value, so that they serialise to the same bytes
 * (sorted keys)? Stricter than json_equal, which takes 0.0 and -0.0 (two
 * texts) as equal. */
static int same_json(const json_t *a, const json_t *b)
{
    if (a == b) return 1;
    if (!a || !b || json_typeof(a) != json_typeof(b)) return 0;
    switch (json_typeof(a)) {
    case JSON_OBJECT: {
        if (json_object_size(a) != json_object_size(b)) return 0;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)a, k, v) {
            if (!same_json(v, json_object_get(b, k))) return 0;
        }
        return 1;
    }
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b)) return 0;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!same_json(json_array_get(a, i), json_array_get(b, i))) return 0;
        return 1;
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               !memcmp(json_string_value(a), json_string_value(b), json_string_length(a));
    case JSON_INTEGER:
        return json_integer_value(a) == json_integer_value(b);
    case JSON_REAL: {
        double x = json_real_value(a), y = json_real_value(b);
        return !memcmp(&x, &y, sizeof x);
    }
    default:
        return 1; /* true, false, null: the type is the value */
    }
}

/* The usage documents of one evaluate call already written, so a document
 * equal to one of them (a driver prices most regions of a service alike)
 * is written once and its text repeated: the bytes are those of writing
 * the whole {"results": [...]} at once. Only the last EVAL_SEEN distinct
 * ones are kept, which bounds the comparisons per placement. */
#define EVAL_SEEN 8
typedef struct eval_seen {
    json_t *doc[EVAL_SEEN];
    char *text[EVAL_SEEN];
    size_t n, next;
} eval_seen;

static void seen_clear(eval_seen *s)
{
    for (size_t i = 0; i < s->n; i++) {
        json_decref(s->doc[i]);
        free(s->text[i]);
    }
}

/* Appends u's text (u stolen) to b, as fbk_json_out writes it. -1 when
 * jansson cannot write it. */
static int append_usage(fbk_buf *b, eval_seen *s, json_t *u)
{
    for (size_t i = 0; i < s->n; i++) {
        if (same_json(u, s->doc[i])) {
            fbk_buf_puts(b, s->text[i]);
            json_decref(u);
            return 0;
        }
    }
    char *t = fbi_json_write(u, FBI_JSON_WRITE_SORT);
    if (!t) {
        json_decref(u);
        return -1;
    }
    fbk_buf_puts(b, t);
    size_t at;
    if (s->n < EVAL_SEEN) {
        at = s->n++;
    } else { /* the oldest goes */
        at = s->next;
        s->next = (s->next + 1) % EVAL_SEEN;
        json_decref(s->doc[at]);
        free(s->text[at]);
    }
    s->doc[at] = u;
    s->text[at] = t;
    return 0;
}

/* ---- evaluate's placements, read once per text ----
 *
 * Plan sends a driver the same placements (its offers of a kind, in offer
 * order) with every shape's workload, so evaluate keeps the last few
 * placement arrays it parsed, keyed by their exact text: the array is the
 * one json_loads would give for those bytes. The verbs only read the
 * placements, and jansson's reference counts are atomic, so the threads
 * share them. The input's other members are parsed from the text with the
 * placements left out. Input of any other form (no such member, a key
 * with escapes, the member twice) is parsed whole, as before. */

#define PL_CACHE 8
static struct {
    pthread_mutex_t mu;
    char *text[PL_CACHE];
    size_t len[PL_CACHE];
    json_t *value[PL_CACHE];
    size_t n, next;
} pl_cache = {PTHREAD_MUTEX_INITIALIZER, {0}, {0}, {0}, 0, 0};

/* Released when the driver is unloaded (keeps valgrind's count at zero). */
__attribute__((destructor)) static void pl_cache_free(void)
{
    for (size_t i = 0; i < pl_cache.n; i++) {
        free(pl_cache.text[i]);
        json_decref(pl_cache.value[i]);
    }
    pl_cache.n = 0;
}

/* Where the value of the top-level member "placements" is in text: 0, or
 * -1 when text is not an object that has it once under a plain key. */
static int placements_span(const char *text, size_t n, size_t *at, size_t *len)
{
    static const char key[] = "placements";
    int found = 0;
    size_t i = fbi_json_skip_ws(text, n, 0);
    if (i >= n || text[i] != '{') return -1;
    i = fbi_json_skip_ws(text, n, i + 1);
    if (i < n && text[i] == '}') return -1;
    for (;;) {
        if (i >= n || text[i] != '"') return -1;
        size_t k = i + 1;
        while (k < n && text[k] != '"' && text[k] != '\\') k++;
        if (k >= n || text[k] != '"') return -1; /* an escape in a key: not here */
        int is_pl = k - i - 1 == sizeof key - 1 && !memcmp(text + i + 1, key, sizeof key - 1);
        i = fbi_json_skip_ws(text, n, k + 1);
        if (i >= n || text[i] != ':') return -1;
        i = fbi_json_skip_ws(text, n, i + 1);
        size_t end = fbi_json_skip_value(text, n, i);
        if (!end) return -1;
        if (is_pl) {
            if (found++) return -1;
            *at = i;
            *len = end - i;
        }
        i = fbi_json_skip_ws(text, n, end);
        if (i < n && text[i] == ',') {
            i = fbi_json_skip_ws(text, n, i + 1);
            continue;
        }
        if (i < n && text[i] == '}') break;
        return -1;
    }
    return found ? 0 : -1;
}

/* The placements parsed from s[0..n) (a new reference), from the cache
 * when these bytes were parsed before; NULL when they are not JSON. */
static json_t *placements_value(const char *s, size_t n)
{
    json_t *v = NULL;
    pthread_mutex_lock(&pl_cache.mu);
    for (size_t i = 0; i < pl_cache.n && !v; i++)
        if (pl_cache.len[i] == n && !memcmp(pl_cache.text[i], s, n))
            v = json_incref(pl_cache.value[i]);
    pthread_mutex_unlock(&pl_cache.mu);
    if (v) return v;
    v = fbi_json_read(s, n, 0, NULL);
    char *copy = v ? malloc(n) : NULL;
    if (!copy) return v;
    memcpy(copy, s, n);
    pthread_mutex_lock(&pl_cache.mu);
    size_t at;
    if (pl_cache.n < PL_CACHE) {
        at = pl_cache.n++;
    } else { /* the oldest goes; a thread still using it holds a reference */
        at = pl_cache.next;
        pl_cache.next = (pl_cache.next + 1) % PL_CACHE;
        free(pl_cache.text[at]);
        json_decref(pl_cache.value[at]);
    }
    pl_cache.text[at] = copy;
    pl_cache.len[at] = n;
    pl_cache.value[at] = json_incref(v);
    pthread_mutex_unlock(&pl_cache.mu);
    return v;
}

json_t *fbk_eval_memo_get(const fbk_eval_memo *m, const char *key)
{
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->key[i], key)) return json_incref(m->doc[i]);
    return NULL;
}

void fbk_eval_memo_put(fbk_eval_memo *m, const char *key, json_t *doc)
{
    char *k = strdup(key);
    if (!k || !doc) { /* out of memory: the document is built again next time */
        free(k);
        return;
    }
    size_t at;
    if (m->n < FBK_EVAL_MEMO) {
        at = m->n++;
    } else {
        at = m->next;
        m->next = (m->next + 1) % FBK_EVAL_MEMO;
        free(m->key[at]);
        json_decref(m->doc[at]);
    }
    m->key[at] = k;
    m->doc[at] = json_incref(doc);
}

static void eval_memo_clear(fbk_eval_memo *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->key[i]);
        json_decref(m->doc[i]);
    }
}

/* evaluate's input with "placements" from the cache: 0 with *in (its
 * "placements" member null) and *pls (new references), or -1 when the
 * input must be parsed whole. */
static int read_evaluate_input(const char *in_json, json_t **in, json_t **pls)
{
    size_t n = in_json ? strlen(in_json) : 0, at = 0, len = 0;
    *in = *pls = NULL;
    if (!in_json) return -1;
    if (placements_span(in_json, n, &at, &len) != 0) return -1;
    char *rest = malloc(n - len + 5);
    if (!rest) return -1;
    memcpy(rest, in_json, at);
    memcpy(rest + at, "null", 4);
    memcpy(rest + at + 4, in_json + at + len, n - at - len + 1);
    *in = fbi_json_reads(rest, 0, NULL);
    free(rest);
    if (json_is_object(*in)) *pls = placements_value(in_json + at, len);
    if (!*pls) {
        json_decref(*in);
        *in = NULL;
        return -1;
    }
    return 0;
}

/* One input object for every placement (its members are shared, only
 * "placement" changes), so the workload is read once per call: that is
 * what evaluate is for (plan asks it for every offer of a driver). The
 * output is written as it is made, each distinct usage document once
 * (append_usage). */
fb_status fbk_evaluate(const fb_host *host, const char *drv, const fbk_eval_ops *ops,
                       fb_driver_ctx *ctx, const char *in_json, size_t n, fb_diag *const *diags,
                       char **out, fb_diag *diag)
{
    fbk_ck ck = {host, diag, drv, 0, 0};
    *out = NULL;
    json_t *in, *pls;
    if (read_evaluate_input(in_json, &in, &pls) != 0) {
        /* parsed whole, so a refusal says where the text is wrong */
        in = fbk_parse_input(&ck, in_json);
        if (!in) return FB_INVALID;
        pls = json_incref(json_object_get(in, "placements"));
    }
    if (!json_is_array(pls) || json_array_size(pls) != n || !diags) {
        fbk_err(&ck, "/placements", "pass {\"workload\", \"placements\": [...]} with one diagnostics list per placement",
                "evaluate needs an array of %zu placements", n);
        json_decref(pls);
        json_decref(in);
        return FB_INVALID;
    }
    json_t *one = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(in, key, v) {
        if (strcmp(key, "placements") != 0) json_object_set(one, key, v);
    }
    fbk_buf b;
    fbk_buf_init(&b);
    fbk_buf_puts(&b, "{\"results\":[");
    eval_seen seen = {{0}, {0}, 0, 0};
    fbk_eval_memo memo = {{0}, {0}, 0, 0};
    int bad = 0;
    for (size_t i = 0; i < n && !bad; i++) {
        if (i) fbk_buf_putc(&b, ',');
        json_object_set(one, "placement", json_array_get(pls, i));
        json_t *u = NULL;
        fb_status st;
        if (ops->validate_usage) {
            int refused = 0;
            st = ops->validate_usage(ctx, one, &u, &refused, &memo, diags[i]);
            if (refused) {
                json_decref(u);
                fbk_buf_puts(&b, "false");
                continue;
            }
        } else if (ops->validate(ctx, one, diags[i]) != FB_OK) {
            fbk_buf_puts(&b, "false");
            continue;
        } else {
            st = ops->usage(ctx, one, &u, diags[i]);
        }
        if (st != FB_OK || !u) {
            json_decref(u);
            fbk_buf_puts(&b, "null");
            continue;
        }
        if (append_usage(&b, &seen, u) != 0) bad = 1;
    }
    fbk_buf_puts(&b, "]}");
    seen_clear(&seen);
    eval_memo_clear(&memo);
    json_decref(one);
    json_decref(pls);
    json_decref(in);
    fb_status st = FB_OK;
    if (bad) {
        fbk_diag(host, diag, FB_SEV_ERROR, NULL,
                 "driver could not serialise its JSON output\n"
                 "jansson refused the value (invalid UTF-8 in a string, or no value); "
                 "this is a driver bug");
        st = FB_INTERNAL;
    } else if (!(*out = host->alloc(b.len + 1))) {
        fbk_diag(host, diag, FB_SEV_ERROR, NULL, "host->alloc(%zu) failed", b.len + 1);
        st = FB_INTERNAL;
    } else {
        memcpy(*out, b.data, b.len + 1);
    }
    if (st != FB_OK) ck.errors++;
    fbk_buf_free(&b);
    return st;
}

long long fbk_int(json_t *obj, const char *key, long long dflt)
{
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

const char *fbk_placement_str(json_t *in, const char *key)
{
    return json_string_value(json_object_get(json_object_get(in, "placement"), key));
}

int fbk_placement_read(json_t *in, fbk_ck *ck, const char **service, const char **region,
                       const char **kind)
{
    if (!json_is_object(json_object_get(in, "placement"))) {
        fbk_err(ck, NULL, "pass {\"workload\": ..., \"placement\": {\"service\", \"region\", ...}}",
                "the input has no \"placement\" object");
        return -1;
    }
    if (service) *service = fbk_placement_str(in, "service");
    if (region) *region = fbk_placement_str(in, "region");
    if (kind) *kind = fbk_placement_str(in, "kind");
    return 0;
}

/* Reads the trigger list: which kinds are present and whether an http
 * trigger is public. */
static void scan_triggers(fbk_wl *wl)
{
    size_t i;
    json_t *t;
    json_array_foreach(wl->triggers, i, t) {
        json_t *http = json_object_get(t, "http");
        if (http) {
            wl->http_trigger = 1;
            if (json_is_true(json_object_get(http, "public"))) wl->public_http = 1;
        }
        if (json_object_get(t, "queue")) wl->queue_triggers++;
        if (json_object_get(t, "schedule")) wl->schedule_triggers++;
    }
}

int fbk_wl_load(fbk_wl *wl, json_t *in, fbk_ck *ck)
{
    memset(wl, 0, sizeof *wl);
    json_t *w = json_object_get(in, "workload");
    if (!json_is_object(w)) {
        fbk_err(ck, NULL, "pass {\"workload\": <the normal form of a spec>, \"placement\": {...}}",
                "the input has no \"workload\" object");
        return -1;
    }
    wl->doc = w;
    wl->kind = json_string_value(json_object_get(w, "kind"));
    wl->metadata = json_object_get(w, "metadata");
    wl->spec = json_object_get(w, "spec");
    wl->name = json_string_value(json_object_get(wl->metadata, "name"));
    wl->tenant = json_string_value(json_object_get(wl->metadata, "tenant"));
    wl->hash = json_string_value(json_object_get(w, "specHash"));
    int bad = 0;
    if (!wl->kind || (strcmp(wl->kind, "Function") != 0 && strcmp(wl->kind, "Container") != 0)) {
        fbk_err(ck, "/kind", "place QuantumJobs with a quantum driver; this one runs Function and Container",
                "cannot run kind %s", wl->kind ? wl->kind : "(missing)");
        bad = 1;
    }
    if (!wl->name) {
        fbk_err(ck, "/metadata/name", "pass the normal form from `fedbroker validate --format json`",
                "the workload has no metadata.name");
        bad = 1;
    }
    if (!json_is_object(wl->spec)) {
        fbk_err(ck, "/spec", "pass the normal form from `fedbroker validate --format json`",
                "the workload has no spec object");
        bad = 1;
    }
    if (bad) return -1;
    if (!wl->tenant) wl->tenant = "default";
    if (!wl->hash) wl->hash = "";
    int fn = strcmp(wl->kind, "Function") == 0;
    json_t *s = wl->spec;
    wl->image = json_string_value(json_object_get(s, "image"));
    wl->runtime = json_string_value(json_object_get(s, "runtime"));
    wl->handler = json_string_value(json_object_get(s, "handler"));
    wl->code = json_object_get(s, "code");
    json_t *res = json_object_get(s, "resources");
    wl->arch = json_string_value(json_object_get(res, "arch"));
    if (!wl->arch) wl->arch = "x86_64";
    wl->mem_mib = fbk_int(res, "memoryMiB", fn ? 128 : 512);
    /* the spec's default for Functions: cpu in proportion to memory, 1 vCPU
     * per 1769 MiB, as Lambda does */
    wl->cpu_m = fbk_int(res, "cpuMillis", fn ? (wl->mem_mib * 1000 + 1768) / 1769 : 250);
    wl->eph_mib = fbk_int(res, "ephemeralStorageMiB", 512);
    wl->has_gpu = json_object_get(res, "gpu") != NULL;
    json_t *sc = json_object_get(s, "scaling");
    wl->min_i = fbk_int(sc, "minInstances", 0);
    wl->max_i = fbk_int(sc, "maxInstances", 100);
    wl->target_conc = fbk_int(sc, "targetConcurrency", 0);
    wl->target_rps = fbk_int(sc, "targetRequestsPerSecond", 0);
    json_t *stz = json_object_get(sc, "scaleToZero");
    wl->scale_to_zero = stz ? json_is_true(stz) : wl->min_i == 0;
    wl->timeout_ms = fbk_int(s, "timeoutMs", 30000);
    json_t *tr = json_object_get(s, "traffic");
    wl->req_pm = fbk_int(tr, "requestsPerMonth", 0);
    wl->dur_ms = fbk_int(tr, "meanDurationMs", 100);
    wl->conc_pi = fbk_int(tr, "concurrencyPerInstance", 1);
    if (wl->conc_pi < 1) wl->conc_pi = 1;
    wl->ports = json_is_array(json_object_get(s, "ports")) ? json_object_get(s, "ports") : NULL;
    wl->triggers = json_is_array(json_object_get(s, "triggers")) ? json_object_get(s, "triggers") : NULL;
    wl->health = json_is_object(json_object_get(s, "healthCheck")) ? json_object_get(s, "healthCheck") : NULL;
    wl->env = json_is_object(json_object_get(s, "env")) ? json_object_get(s, "env") : NULL;
    wl->secrets = json_is_array(json_object_get(s, "secrets")) ? json_object_get(s, "secrets") : NULL;
    wl->labels = json_is_object(json_object_get(wl->metadata, "labels"))
                     ? json_object_get(wl->metadata, "labels") : NULL;
    scan_triggers(wl);
    /* Bounds far above any real workload keep the 128-bit billing
     * arithmetic exact; a normal form never comes near them. */
    static const struct { const char *ptr; long long max; size_t off; } lim[] = {
        {"/spec/resources/cpu", 10000000, offsetof(fbk_wl, cpu_m)},
        {"/spec/resources/memory", 1000000000, offsetof(fbk_wl, mem_mib)},
        {"/spec/resources/ephemeralStorage", 1000000000, offsetof(fbk_wl, eph_mib)},
        {"/spec/scaling/minInstances", 1000000, offsetof(fbk_wl, min_i)},
        {"/spec/scaling/maxInstances", 1000000, offsetof(fbk_wl, max_i)},
        {"/spec/scaling/targetConcurrency", 1000000, offsetof(fbk_wl, target_conc)},
        {"/spec/timeout", 100000000, offsetof(fbk_wl, timeout_ms)},
        {"/spec/traffic/requestsPerMonth", 1000000000000000LL, offsetof(fbk_wl, req_pm)},
        {"/spec/traffic/meanDuration", 100000000, offsetof(fbk_wl, dur_ms)},
        {"/spec/traffic/concurrencyPerInstance", 1000000, offsetof(fbk_wl, conc_pi)},
    };
    for (size_t l = 0; l < sizeof lim / sizeof *lim; l++) {
        long long v = *(const long long *)((const char *)wl + lim[l].off);
        if (v < 0 || v > lim[l].max) {
            fbk_err(ck, lim[l].ptr, "pass the normal form from `fedbroker validate --format json`",
                    "value %lld is out of range (0..%lld)", v, lim[l].max);
            bad = 1;
        }
    }
    if (bad) return -1;
    size_t i;
    json_t *p;
    json_array_foreach(wl->ports, i, p) {
        const char *proto = json_string_value(json_object_get(p, "protocol"));
        if (json_is_true(json_object_get(p, "public")) && proto && strcmp(proto, "tcp") != 0)
            wl->public_http = 1;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **fbk_sorted_keys(json_t *obj, size_t *n)
{
    *n = json_object_size(obj);
    const char **keys = calloc(*n ? *n : 1, sizeof *keys);
    if (!keys) {
        *n = 0;
        return NULL;
    }
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        if (i < *n) keys[i++] = k;
    }
    *n = i;
    qsort(keys, *n, sizeof *keys, cmp_str);
    return keys;
}

int fbk_ref_scheme(const char *ref, char *scheme, size_t n, const char **rest)
{
    const char *sep = ref ? strstr(ref, "://") : NULL;
    if (!sep || (size_t)(sep - ref) >= n) return -1;
    memcpy(scheme, ref, (size_t)(sep - ref));
    scheme[sep - ref] = '\0';
    *rest = sep + 3;
    return 0;
}

void fbk_env_append(json_t *arr, const fbk_wl *wl)
{
    size_t n;
    const char **keys = fbk_sorted_keys(wl->env, &n);
    for (size_t i = 0; i < n; i++) {
        const char *v = json_string_value(json_object_get(wl->env, keys[i]));
        json_array_append_new(arr, json_pack("{s:s,s:s}", "name", keys[i], "value", v ? v : ""));
    }
    free(keys);
}

/* A copy of the strings of an array. new. */
static json_t *string_array(json_t *a)
{
    json_t *out = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        if (json_is_string(v)) json_array_append(out, v);
    }
    return out;
}

void fbk_set_command_args(json_t *container, const fbk_wl *wl)
{
    json_t *cmd = json_object_get(wl->spec, "command"), *args = json_object_get(wl->spec, "args");
    if (json_array_size(cmd)) json_object_set_new(container, "command", string_array(cmd));
    if (json_array_size(args)) json_object_set_new(container, "args", string_array(args));
}

json_t *fbk_labels(const fbk_wl *wl, const fbk_label_keys *keys)
{
    json_t *l = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(wl->labels, k, v) {
        if (json_is_string(v)) json_object_set(l, k, v);
    }
    json_object_set_new(l, keys->name, json_string(wl->name));
    json_object_set_new(l, keys->managed_by, json_string("fedbroker"));
    json_object_set_new(l, keys->tenant, json_string(wl->tenant));
    if (wl->hash[0]) {
        char h[17];
        snprintf(h, sizeof h, "%s", wl->hash);
        json_object_set_new(l, keys->spec_hash, json_string(h));
    }
    return l;
}

/* Is NAME a portable secret name (core/identity/vault.c's rule: a
 * lowercase letter, then up to 62 lowercase letters, digits and '-')? */
static int portable_name_ok(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len > 63 || n[0] < 'a' || n[0] > 'z') return 0;
    for (size_t i = 0; i < len; i++)
        if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= '0' && n[i] <= '9') || n[i] == '-')) return 0;
    return 1;
}

int fbk_map_portable_secrets(const fb_host *host, fb_diag *diag, json_t *in, const char *fmt,
                             const char *store, int materialised)
{
    json_t *w = json_object_get(in, "workload");
    json_t *secrets = json_object_get(json_object_get(w, "spec"), "secrets");
    const char *tenant = json_string_value(json_object_get(json_object_get(w, "metadata"), "tenant"));
    const char *wname = json_string_value(json_object_get(json_object_get(w, "metadata"), "name"));
    const char *mode = json_string_value(json_object_get(in, "mode"));
    int deploy = !materialised && mode && (!strcmp(mode, "apply") || !strcmp(mode, "dry-run"));
    if (!wname) wname = "";
    if (!tenant) tenant = "default";
    int errors = 0;
    size_t i;
    json_t *s;
    json_array_foreach(secrets, i, s) {
        const char *ref = json_string_value(json_object_get(s, "ref"));
        if (!ref || strncmp(ref, "secret://", 9) != 0) continue;
        const char *name = ref + 9;
        char ptr[64];
        snprintf(ptr, sizeof ptr, "/spec/secrets/%zu/ref", i);
        if (!portable_name_ok(name)) {
            fbk_diag(host, diag, FB_SEV_ERROR, ptr,
                     "'%s' is not a portable secret reference\nwrite secret://NAME with NAME a "
                     "lowercase letter, then lowercase letters, digits and '-' (at most 63)", ref);
            errors++;
            continue;
        }
        fbk_buf b;
        fbk_buf_init(&b);
        for (const char *f = fmt; *f; f++) {
            if (f[0] == '%' && f[1] == 't') fbk_buf_puts(&b, tenant), f++;
            else if (f[0] == '%' && f[1] == 'n') fbk_buf_puts(&b, name), f++;
            else if (f[0] == '%' && f[1] == 'w') fbk_buf_puts(&b, wname), f++;
            else fbk_buf_putc(&b, *f);
        }
        char *native = fbk_buf_steal(&b);
        json_object_set_new(s, "portable", json_string(ref));
        json_object_set_new(s, "ref", json_string(native)); /* ref (and name) freed here */
        if (deploy) {
            fbk_diag(host, diag, FB_SEV_ERROR, ptr,
                     "secret://%s would be %s in %s, but apply does not yet materialise portable "
                     "secrets there (docs/identity.md, \"What is not built yet\")\nplan and "
                     "render accept it; to deploy now, store the value in %s yourself and use %s",
                     json_string_value(json_object_get(s, "portable")) + 9, native, store, store,
                     native);
            errors++;
        }
        free(native);
    }
    return errors;
}

void fbk_identity_env(const json_t *ident, const char *provider, json_t *env)
{
    const char *url = json_string_value(json_object_get(ident, "tokenUrl"));
    if (!url) return;
    const char *vars[][2] = {{"FEDBROKER_TOKEN_URL", url},
                             {"FEDBROKER_SERVER_ID", json_string_value(json_object_get(ident, "issuer"))},
                             {"FEDBROKER_TOKEN_PROVIDER", provider},
                             {"FEDBROKER_SPIFFE_ID", json_string_value(json_object_get(ident, "spiffeId"))}};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        if (vars[i][1] && !json_object_get(env, vars[i][0]))
            json_object_set_new(env, vars[i][0], json_string(vars[i][1]));
}

int fbk_identity_env_name(const char *name)
{
    return !strncmp(name, "FEDBROKER_", 10);
}

char *fbk_caller_binding_id(const char *tenant, const char *caller, const char *callee, size_t max_names,
                            int trim_dash)
{
    char *key = fbk_xasprintf("%s/%s/%s", tenant, caller, callee);
    char hex[65];
    fbk_sha256_hex(key, strlen(key), hex);
    free(key);
    char *names = fbk_xasprintf("%s-%s-%s", tenant, caller, callee);
    size_t n = strlen(names);
    if (n > max_names) names[n = max_names] = '\0';
    while (trim_dash && n && names[n - 1] == '-') names[--n] = '\0';
    char *out = fbk_xasprintf("fbc-%s-%.8s", names, hex);
    free(names);
    return out;
}

char *fbk_issuer_provider_id(const char *issuer)
{
    char hex[65];
    fbk_sha256_hex(issuer, strlen(issuer), hex);
    return fbk_xasprintf("fb-%.12s", hex);
}

int fbk_identity_considers(const json_t *ident, const char *name)
{
    const json_t *c = json_object_get(ident, "considered");
    if (!json_is_array(c)) return 1;
    size_t i;
    const json_t *v;
    json_array_foreach(c, i, v)
        if (name && json_string_value(v) && !strcmp(json_string_value(v), name)) return 1;
    return 0;
}
