/* check_spec.c - unit tests of the portable spec: units, defaults, the
 * normal form and its hash, YAML/JSON positions, every limit, federations,
 * the schema loader and the semantic rules. The schema-agreement corpus is
 * tested separately (tests/spec/agree.sh) against python3-jsonschema. */
#include "config.h"
#include "spec/spec.h"
#include "base/util.h"

#include "../lib/fbtest.h"
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ---- */

typedef struct loaded {
    fb_spec_set *set;
    fb_diag *diag;
    fb_status add, fin;
} loaded;

/* Adds one buffer (name decides JSON/YAML) and finishes the set. */
static loaded load(const char *name, const char *text, const char *base)
{
    loaded l;
    fb_spec_set_new(&l.set);
    l.diag = fb_diag_new();
    l.add = fb_spec_set_add_buffer(l.set, name, text, strlen(text), base, l.diag);
    l.fin = fb_spec_set_finish(l.set, l.diag);
    return l;
}

static void unload(loaded *l)
{
    fb_spec_set_free(l->set);
    fb_diag_free(l->diag);
}

static void dump_diag(const fb_diag *d)
{
    fb_diag_print(d, stderr);
}

/* Index of the first error at pointer whose summary contains substr
 * (either may be NULL for "any"), or -1. */
static long find_err(const fb_diag *d, const char *pointer, const char *substr)
{
    for (size_t i = 0; i < fb_diag_count(d); i++) {
        if (fb_diag_severity(d, i) != FB_SEV_ERROR) continue;
        const char *p = fb_diag_pointer(d, i);
        if (pointer && (!p || strcmp(p, pointer) != 0)) continue;
        if (substr && !strstr(fb_diag_summary(d, i), substr)) continue;
        return (long)i;
    }
    return -1;
}

#define ASSERT_ERR(l, ptr, sub)                                                   \
    do {                                                                          \
        if (find_err((l).diag, ptr, sub) < 0) dump_diag((l).diag);                \
        ck_assert_msg(find_err((l).diag, ptr, sub) >= 0, "no error at %s with '%s'", \
                      ptr ? ptr : "*", sub ? sub : "*");                          \
    } while (0)

#define ASSERT_VALID(l)                                                      \
    do {                                                                     \
        if (fb_diag_errors((l).diag)) dump_diag((l).diag);                   \
        ck_assert_int_eq(fb_diag_errors((l).diag), 0);                      \
        ck_assert_int_eq((l).add, FB_OK);                                    \
        ck_assert_int_eq((l).fin, FB_OK);                                    \
    } while (0)

static const json_t *at(const json_t *v, const char *pointer)
{
    /* a tiny pointer lookup for tests (no escapes needed here) */
    char *p = strdup(pointer), *save = NULL;
    const json_t *cur = v;
    for (char *tok = strtok_r(p, "/", &save); tok && cur; tok = strtok_r(NULL, "/", &save)) {
        if (json_is_array(cur)) cur = json_array_get(cur, (size_t)atoi(tok));
        else cur = json_object_get(cur, tok);
    }
    free(p);
    return cur;
}

static long long int_of(const json_t *v, const char *pointer)
{
    const json_t *x = at(v, pointer);
    ck_assert_msg(x && json_is_integer(x), "%s is not an integer", pointer);
    return (long long)json_integer_value(x);
}

static const char *str_of(const json_t *v, const char *pointer)
{
    const json_t *x = at(v, pointer);
    ck_assert_msg(x && json_is_string(x), "%s is not a string", pointer);
    return json_string_value(x);
}

#define HEAD "apiVersion: fedbroker.dev/v1\n"
#define FN_MIN HEAD "kind: Function\nmetadata: {name: f}\nspec:\n  image: ghcr.io/a/b:1\n"

static char tmpdir[256];

static void make_tmpdir(void)
{
    fbt_tmpdir(tmpdir, sizeof tmpdir, "check_spec");
}

static void write_tmp(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    for (char *slash = strchr(path + strlen(tmpdir) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0'; /* every parent directory */
        mkdir(path, 0755);
        *slash = '/';
    }
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void rm_tmpdir(void)
{
    fbt_rmtree(tmpdir);
}

/* ---- units ---- */

typedef enum { U_BYTES, U_CPU, U_DURATION, U_MONEY } unit_kind;
static const char *const unit_names[] = {"bytes", "cpu", "duration", "money"};

/* One unit case: its text (JSON; a duration is plain text), whether the
 * parser accepts it, and then the value (bytes, millicores, ms,
 * micro-dollars). */
typedef struct ucase {
    unit_kind kind;
    const char *text;
    int ok;
    int64_t want;
} ucase;

static const ucase ucases[] = {
    {U_BYTES, "\"512Mi\"", 1, 536870912LL},
    {U_BYTES, "\"1Gi\"", 1, 1073741824LL},
    {U_BYTES, "\"2G\"", 1, 2000000000LL},
    {U_BYTES, "\"20Ki\"", 1, 20480LL},
    {U_BYTES, "\"3K\"", 1, 3000LL},
    {U_BYTES, "\"1Ti\"", 1, 1099511627776LL},
    {U_BYTES, "\"1T\"", 1, 1000000000000LL},
    {U_BYTES, "\"7M\"", 1, 7000000LL},
    {U_BYTES, "\"1024\"", 1, 1024LL},
    {U_BYTES, "1024", 1, 1024LL},
    {U_BYTES, "\"0\"", 1, 0LL},
    {U_BYTES, "\"512MB\"", 0, 0},
    {U_BYTES, "\"Mi\"", 0, 0},
    {U_BYTES, "\"99999999999999999999\"", 0, 0},
    {U_BYTES, "\"9999999999Ti\"", 0, 0},
    {U_BYTES, "-1", 0, 0},
    {U_BYTES, "1.5", 0, 0},
    {U_CPU, "\"0.5\"", 1, 500},
    {U_CPU, "0.25", 1, 250},
    {U_CPU, "\"2\"", 1, 2000},
    {U_CPU, "2", 1, 2000},
    {U_CPU, "\"500m\"", 1, 500},
    {U_CPU, "0.1", 1, 100},
    {U_CPU, "0.3", 1, 300},
    {U_CPU, "\"1.2340\"", 1, 1234},
    {U_CPU, "\"0.05\"", 1, 50},
    {U_CPU, "\"0.0005\"", 0, 0},
    {U_CPU, "\"1.2345\"", 0, 0},
    {U_CPU, "0.0001", 0, 0},
    {U_CPU, "\"1.\"", 0, 0},
    {U_CPU, "\"m\"", 0, 0},
    {U_CPU, "\"0.5m\"", 0, 0},
    {U_CPU, "true", 0, 0},
    {U_DURATION, "30s", 1, 30000},
    {U_DURATION, "5m", 1, 300000},
    {U_DURATION, "120ms", 1, 120},
    {U_DURATION, "1.5s", 1, 1500},
    {U_DURATION, "1h", 1, 3600000},
    {U_DURATION, "0.25h", 1, 900000},
    {U_DURATION, "0.5ms", 1, 1}, /* rounded up */
    {U_DURATION, "1.0001s", 1, 1001}, /* rounded up */
    {U_DURATION, "1.0000000000001s", 1, 1001},
    {U_DURATION, "1.000000000000s", 1, 1000},
    {U_DURATION, "0s", 1, 0},
    {U_DURATION, "30", 0, 0},
    {U_DURATION, "s", 0, 0},
    {U_DURATION, "1.s", 0, 0},
    {U_DURATION, "1d", 0, 0},
    {U_DURATION, "-1s", 0, 0},
    {U_DURATION, "99999999999999999999h", 0, 0},
    {U_DURATION, "9999999999999999h", 0, 0},
    {U_MONEY, "\"12.50\"", 1, 12500000LL},
    {U_MONEY, "\"200\"", 1, 200000000LL},
    {U_MONEY, "200", 1, 200000000LL},
    {U_MONEY, "\"0.000001\"", 1, 1LL},
    {U_MONEY, "\"5000\"", 1, 5000000000LL},
    {U_MONEY, "\"0.1\"", 1, 100000LL},
    {U_MONEY, "\"1.1234567\"", 0, 0},
    {U_MONEY, "\"1.\"", 0, 0},
    {U_MONEY, "\"$5\"", 0, 0},
    {U_MONEY, "12.5", 0, 0}, /* floats are refused: quote money */
    {U_MONEY, "\"99999999999999999999\"", 0, 0},
};

/* Parses text with kind's parser; *ok says whether it accepted it. */
static int64_t unit_parse(unit_kind kind, const char *text, int *ok)
{
    int64_t v = -1;
    char *err = NULL;
    if (kind == U_DURATION) {
        *ok = fbi_parse_duration(text, &v, &err) == 0;
    } else {
        json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
        uint64_t b = 0;
        if (kind == U_BYTES) {
            *ok = fbi_parse_bytes(j, &b, &err) == 0;
            v = (int64_t)b;
        } else {
            *ok = (kind == U_CPU ? fbi_parse_cpu : fbi_parse_money)(j, &v, &err) == 0;
        }
        json_decref(j);
    }
    free(err);
    return v;
}

START_TEST(units)
{
    const ucase *u = &ucases[_i];
    int ok;
    int64_t v = unit_parse(u->kind, u->text, &ok);
    ck_assert_msg(ok == u->ok, "%s %s is %s", unit_names[u->kind], u->text, ok ? "accepted" : "refused");
    if (u->ok)
        ck_assert_msg(v == u->want, "%s %s = %lld, want %lld", unit_names[u->kind], u->text, (long long)v,
                      (long long)u->want);
}
END_TEST

/* ---- normal form, defaults, hash ---- */

/* The normal form of FN_MIN, written by hand in canonical form (sorted keys,
 * compact): every default of docs/spec.md "Normal form". */
static const char fn_min_canonical[] =
    "{\"apiVersion\":\"fedbroker.dev/v1\",\"kind\":\"Function\","
    "\"metadata\":{\"annotations\":{},\"labels\":{},\"name\":\"f\",\"tenant\":\"default\"},"
    "\"spec\":{\"dependencies\":[],\"env\":{},\"image\":\"ghcr.io/a/b:1\","
    "\"placement\":{\"latencyWeight\":0.5,\"objective\":\"cost\"},"
    "\"resources\":{\"arch\":\"x86_64\",\"cpuMillis\":73,\"ephemeralStorageMiB\":512,"
    "\"memoryMiB\":128},"
    "\"scaling\":{\"maxInstances\":100,\"minInstances\":0,\"scaleToZero\":true},"
    "\"secrets\":[],\"timeoutMs\":30000,"
    "\"traffic\":{\"concurrencyPerInstance\":1,"
    "\"defaults\":[\"requestsPerMonth\",\"meanDuration\"],\"egressBytesPerMonth\":0,"
    "\"meanDurationMs\":100,\"requestsPerMonth\":0,\"sources\":[]},"
    "\"triggers\":[]}}";

START_TEST(normal_form_defaults_function)
{
    loaded l = load("f.yaml", FN_MIN, NULL);
    ASSERT_VALID(l);
    ck_assert_uint_eq(fb_spec_count(l.set), 1);
    json_t *n = json_deep_copy(fbi_spec_doc(l.set, 0));
    json_object_del(n, "specHash");
    char *got = fbi_json_canonical(n);
    ck_assert_str_eq(got, fn_min_canonical);
    char want_hash[65];
    fbi_sha256_hex(fn_min_canonical, strlen(fn_min_canonical), want_hash);
    ck_assert_str_eq(fb_spec_hash(l.set, 0), want_hash);
    ck_assert_str_eq(str_of(fbi_spec_doc(l.set, 0), "/specHash"), want_hash);
    ck_assert_str_eq(fb_spec_kind(l.set, 0), "Function");
    ck_assert_str_eq(fb_spec_name(l.set, 0), "f");
    ck_assert_str_eq(fb_spec_tenant(l.set, 0), "default");
    ck_assert_str_eq(fb_spec_file(l.set, 0), "f.yaml");
    /* fb_spec_json is the same document */
    json_t *txt = json_loads(fb_spec_json(l.set, 0), 0, NULL);
    ck_assert(json_equal(txt, fbi_spec_doc(l.set, 0)));
    json_decref(txt);
    free(got);
    json_decref(n);
    unload(&l);
}
END_TEST

/* One serialisation for the text and the hash: fb_spec_json's text of a
 * spec with reals that 15 significant digits cannot carry (traffic weights
 * 0.1 + 0.2 + 0.7, a latency weight of 0.3) is the canonical text, parses
 * back to the same document, and hashes (with specHash removed) to the
 * spec's own specHash. */
START_TEST(spec_text_is_the_hashed_text)
{
    loaded l = load("w.yaml", HEAD "kind: Function\nmetadata: {name: w}\n"
                              "spec:\n  image: ghcr.io/a/b:1\n"
                              "  placement: {latencyWeight: 0.3}\n"
                              "  traffic:\n    requestsPerMonth: 1000\n    sources:\n"
                              "      - {location: frankfurt, weight: 0.1}\n"
                              "      - {location: tokyo, weight: 0.2}\n"
                              "      - {location: new-york, weight: 0.7}\n", NULL);
    ASSERT_VALID(l);
    const char *text = fb_spec_json(l.set, 0);
    char *canon = fbi_json_canonical(fbi_spec_doc(l.set, 0));
    ck_assert_str_eq(text, canon);
    json_t *back = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(back);
    ck_assert(json_equal(back, fbi_spec_doc(l.set, 0)));
    char *t2 = fbi_spec_text(back);
    ck_assert_str_eq(t2, text);
    json_object_del(back, "specHash");
    char h[65];
    fbi_json_hash(back, h);
    ck_assert_str_eq(h, fb_spec_hash(l.set, 0));
    free(t2);
    free(canon);
    json_decref(back);
    unload(&l);
}
END_TEST

START_TEST(normal_form_defaults_container_quantum)
{
    loaded l = load("c.yaml", HEAD "kind: Container\nmetadata: {name: c, tenant: t1}\n"
                              "spec: {image: nginx}\n---\n"
                              HEAD "kind: QuantumJob\nmetadata: {name: q}\n"
                              "spec:\n  program: {source: \"OPENQASM 3;\\nqubit q;\"}\n", NULL);
    ASSERT_VALID(l);
    ck_assert_uint_eq(fb_spec_count(l.set), 2);
    const json_t *c = fbi_spec_doc(l.set, 0);
    ck_assert_int_eq(int_of(c, "/spec/resources/memoryMiB"), 512);
    ck_assert_int_eq(int_of(c, "/spec/resources/cpuMillis"), 250);
    ck_assert_int_eq(int_of(c, "/spec/ports/0/port"), 8080);
    ck_assert_str_eq(str_of(c, "/spec/ports/0/protocol"), "http");
    ck_assert(json_is_false(at(c, "/spec/ports/0/public")));
    ck_assert_int_eq(int_of(c, "/spec/traffic/concurrencyPerInstance"), 80);
    ck_assert_str_eq(str_of(c, "/metadata/tenant"), "t1");
    const json_t *q = fbi_spec_doc(l.set, 1);
    ck_assert_str_eq(str_of(q, "/spec/language"), "openqasm3");
    ck_assert_int_eq(int_of(q, "/spec/shots"), 1000);
    ck_assert_str_eq(str_of(q, "/spec/backend/type"), "any");
    ck_assert_str_eq(str_of(q, "/spec/placement/objective"), "cost");
    unload(&l);
}
END_TEST

START_TEST(normal_form_units)
{
    loaded l = load("u.yaml", HEAD "kind: Function\nmetadata: {name: f}\nspec:\n"
                              "  image: x\n"
                              "  resources: {memory: 2G, cpu: 500m, ephemeralStorage: 1Gi}\n"
                              "  scaling: {minInstances: 2}\n"
                              "  timeout: 1.5m\n"
                              "  healthCheck: {initialDelay: 5s}\n"
                              "  traffic:\n    requestsPerMonth: 1000\n    meanDuration: 1.5s\n"
                              "    egressPerRequest: 20Ki\n"
                              "    sources: [{location: tokyo, weight: 1}]\n"
                              "  placement:\n    latencySLO: {p50: 50ms, p99: 0.2s}\n"
                              "    budget: {monthly: \"12.50\"}\n"
                              "  dependencies: [{workload: g, volumePerMonth: 100Gi, latencyBudget: 20ms}]\n"
                              "---\n" HEAD "kind: Function\nmetadata: {name: g}\nspec: {image: y}\n",
                    NULL);
    ASSERT_VALID(l);
    const json_t *n = fbi_spec_doc(l.set, 0);
    ck_assert_int_eq(int_of(n, "/spec/resources/memoryMiB"), 1908); /* 2e9 / 2^20 = 1907.35, up */
    ck_assert_int_eq(int_of(n, "/spec/resources/cpuMillis"), 500);
    ck_assert_int_eq(int_of(n, "/spec/resources/ephemeralStorageMiB"), 1024);
    ck_assert_int_eq(int_of(n, "/spec/timeoutMs"), 90000);
    ck_assert(json_is_false(at(n, "/spec/scaling/scaleToZero")));
    ck_assert_int_eq(int_of(n, "/spec/healthCheck/initialDelayMs"), 5000);
    ck_assert_int_eq(int_of(n, "/spec/healthCheck/periodMs"), 10000);
    ck_assert_int_eq(int_of(n, "/spec/healthCheck/failureThreshold"), 3);
    ck_assert_int_eq(int_of(n, "/spec/traffic/meanDurationMs"), 1500);
    ck_assert_int_eq(int_of(n, "/spec/traffic/egressBytesPerMonth"), 20480 * 1000);
    ck_assert_int_eq(int_of(n, "/spec/placement/latencySLO/p50Ms"), 50);
    ck_assert_int_eq(int_of(n, "/spec/placement/latencySLO/p99Ms"), 200);
    ck_assert_int_eq(int_of(n, "/spec/placement/budget/monthlyMicroUsd"), 12500000);
    ck_assert_int_eq(int_of(n, "/spec/dependencies/0/volumeBytesPerMonth"), 107374182400LL);
    ck_assert_int_eq(int_of(n, "/spec/dependencies/0/latencyBudgetMs"), 20);
    /* the derived cpu of a Function: memory / 1769Mi cores, rounded up */
    ck_assert_int_eq(int_of(fbi_spec_doc(l.set, 1), "/spec/resources/cpuMillis"), 73);
    json_t *links = json_loads(fb_spec_links_json(l.set), 0, NULL);
    ck_assert_uint_eq(json_array_size(links), 1);
    ck_assert_str_eq(str_of(links, "/0/from"), "f");
    ck_assert_str_eq(str_of(links, "/0/to"), "g");
    ck_assert_int_eq(int_of(links, "/0/volumeBytesPerMonth"), 107374182400LL);
    json_decref(links);
    unload(&l);
}
END_TEST

START_TEST(hash_stability_and_sensitivity)
{
    /* The same workload in YAML with other units and key order, and in JSON:
     * one normal form, one hash. */
    loaded a = load("a.yaml", HEAD "kind: Function\nmetadata: {name: f, labels: {a: b}}\n"
                              "spec: {image: x, timeout: 1m, resources: {memory: 1Gi, cpu: 0.5}}\n",
                    NULL);
    loaded b = load("b.yaml", "spec: {resources: {cpu: 500m, memory: 1024Mi}, timeout: 60s, "
                              "image: x}\n"
                              "metadata: {labels: {a: b}, name: f}\nkind: Function\n" HEAD, NULL);
    loaded c = load("c.json", "{\"apiVersion\": \"fedbroker.dev/v1\", \"kind\": \"Function\", "
                              "\"metadata\": {\"name\": \"f\", \"tenant\": \"default\", "
                              "\"labels\": {\"a\": \"b\"}}, \"spec\": {\"image\": \"x\", "
                              "\"timeout\": \"60000ms\", \"resources\": {\"memory\": 1073741824, "
                              "\"cpu\": \"0.5\"}}}",
                    NULL);
    loaded d = load("d.yaml", HEAD "kind: Function\nmetadata: {name: f, labels: {a: b}}\n"
                              "spec: {image: x, timeout: 61s, resources: {memory: 1Gi, cpu: 0.5}}\n",
                    NULL);
    loaded e = load("e.yaml", HEAD "kind: Function\nmetadata: {name: f, labels: {a: c}}\n"
                              "spec: {image: x, timeout: 1m, resources: {memory: 1Gi, cpu: 0.5}}\n",
                    NULL);
    ASSERT_VALID(a);
    ASSERT_VALID(b);
    ASSERT_VALID(c);
    ASSERT_VALID(d);
    ASSERT_VALID(e);
    ck_assert_str_eq(fb_spec_hash(a.set, 0), fb_spec_hash(b.set, 0));
    ck_assert_str_eq(fb_spec_hash(a.set, 0), fb_spec_hash(c.set, 0));
    ck_assert_str_ne(fb_spec_hash(a.set, 0), fb_spec_hash(d.set, 0));
    ck_assert_str_ne(fb_spec_hash(a.set, 0), fb_spec_hash(e.set, 0));
    /* Loading the same text twice gives the same hash (no time, no addresses). */
    loaded a2 = load("other-name.yaml", HEAD "kind: Function\nmetadata: {name: f, labels: {a: b}}\n"
                              "spec: {image: x, timeout: 1m, resources: {memory: 1Gi, cpu: 0.5}}\n",
                    NULL);
    ck_assert_str_eq(fb_spec_hash(a.set, 0), fb_spec_hash(a2.set, 0));
    unload(&a);
    unload(&b);
    unload(&c);
    unload(&d);
    unload(&e);
    unload(&a2);
}
END_TEST

/* A set that keeps texts (apply's) has each workload's text from its
 * hashing, spliced: byte for byte fbi_spec_text of the document (reals,
 * escapes, non-ASCII, every kind); a workload whose hash drops its code
 * path has none kept (the lane writes it); a set that does not keep
 * them has none. */
START_TEST(kept_texts_are_the_spec_texts)
{
    make_tmpdir();
    write_tmp("src/app.py", "def handler(e, c):\n    return 1\n");
    const char *docs =
        HEAD "kind: Function\nmetadata: {name: w, annotations: {note: \"a\\\"b\\\\c/d\"}}\n"
        "spec:\n  image: ghcr.io/a/b:1\n  placement: {latencyWeight: 0.3}\n"
        "  env: {GREETING: \"gr\\u00fc\\u00df \\t tab\"}\n"
        "  traffic:\n    requestsPerMonth: 1000\n    sources:\n"
        "      - {location: frankfurt, weight: 0.1}\n      - {location: tokyo, weight: 0.9}\n"
        "---\n" HEAD "kind: Container\nmetadata: {name: c, tenant: t1}\nspec: {image: nginx}\n"
        "---\n" HEAD "kind: QuantumJob\nmetadata: {name: q}\n"
        "spec:\n  program: {source: \"OPENQASM 3;\\nqubit q;\"}\n"
        "---\n" HEAD "kind: Function\nmetadata: {name: f}\nspec:\n"
        "  runtime: python3.12\n  handler: app.handler\n  code: {path: src}\n";
    for (int keep = 0; keep < 2; keep++) {
        loaded l;
        fb_spec_set_new(&l.set);
        fbi_spec_set_keep_texts(l.set, keep);
        l.diag = fb_diag_new();
        l.add = fb_spec_set_add_buffer(l.set, "w.yaml", docs, strlen(docs), tmpdir, l.diag);
        l.fin = fb_spec_set_finish(l.set, l.diag);
        ASSERT_VALID(l);
        ck_assert_uint_eq(fb_spec_count(l.set), 4);
        for (size_t i = 0; i < 4; i++) {
            const char *kept = fbi_spec_text_made(l.set, i);
            if (!keep || i == 3) {
                ck_assert_ptr_null(kept);
                continue;
            }
            ck_assert_ptr_nonnull(kept);
            char *t = fbi_spec_text(fbi_spec_doc(l.set, i));
            ck_assert_str_eq(kept, t);
            free(t);
        }
        /* fb_spec_json gives the kept text itself, and makes the missing one */
        if (keep) ck_assert_ptr_eq(fb_spec_json(l.set, 0), fbi_spec_text_made(l.set, 0));
        char *t3 = fbi_spec_text(fbi_spec_doc(l.set, 3));
        ck_assert_str_eq(fb_spec_json(l.set, 3), t3);
        free(t3);
        unload(&l);
    }
    rm_tmpdir();
}
END_TEST

START_TEST(code_path_hash)
{
    make_tmpdir();
    write_tmp("src/app.py", "def handler(e, c):\n    return 1\n");
    const char *doc = HEAD "kind: Function\nmetadata: {name: f}\nspec:\n"
                           "  runtime: python3.12\n  handler: app.handler\n  code: {path: src}\n";
    loaded a = load("f.yaml", doc, tmpdir);
    ASSERT_VALID(a);
    const json_t *n = fbi_spec_doc(a.set, 0);
    ck_assert_str_eq(str_of(n, "/spec/code/type"), "directory");
    ck_assert_int_eq(int_of(n, "/spec/code/bytes"), 32);
    ck_assert(str_of(n, "/spec/code/path")[0] == '/');
    char h1[65];
    strcpy(h1, fb_spec_hash(a.set, 0));
    write_tmp("src/app.py", "def handler(e, c):\n    return 2\n");
    loaded b = load("f.yaml", doc, tmpdir);
    ASSERT_VALID(b);
    ck_assert_str_ne(h1, fb_spec_hash(b.set, 0)); /* code content is in the hash */
    /* ... but not where the code lies: the same tree elsewhere, same hash */
    char other[300];
    snprintf(other, sizeof other, "%s/elsewhere", tmpdir);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp -r '%s/src' '%s/'", other, tmpdir, other);
    ck_assert_int_eq(system(cmd), 0);
    loaded b2 = load("f.yaml", doc, other);
    ASSERT_VALID(b2);
    ck_assert_str_ne(str_of(fbi_spec_doc(b.set, 0), "/spec/code/path"),
                     str_of(fbi_spec_doc(b2.set, 0), "/spec/code/path"));
    ck_assert_str_eq(fb_spec_hash(b.set, 0), fb_spec_hash(b2.set, 0));
    unload(&b2);
    /* a missing path is an error at /spec/code/path */
    loaded c = load("f.yaml", HEAD "kind: Function\nmetadata: {name: f}\nspec:\n"
                              "  runtime: python3.12\n  handler: app.handler\n"
                              "  code: {path: nope}\n", tmpdir);
    ASSERT_ERR(c, "/spec/code/path", "cannot be read");
    /* without a base directory, file references are refused */
    loaded d = load("f.yaml", doc, NULL);
    ASSERT_ERR(d, "/spec/code/path", "disabled");
    unload(&a);
    unload(&b);
    unload(&c);
    unload(&d);
    rm_tmpdir();
}
END_TEST

/* ---- YAML positions, core schema, refusals ---- */

/* No diagnostic mentions text. */
static int diag_quotes(const fb_diag *d, const char *text)
{
    for (size_t i = 0; i < fb_diag_count(d); i++)
        if (strstr(fb_diag_summary(d, i), text) ||
            (fb_diag_detail(d, i) && strstr(fb_diag_detail(d, i), text)))
            return 1;
    return 0;
}

/* Loads doc (base directory tmpdir/spec) with extra allowed trees. */
static loaded load_allowing(const char *doc, const char *const *allow)
{
    loaded l;
    char base[400];
    snprintf(base, sizeof base, "%s/spec", tmpdir);
    fb_spec_set_new(&l.set);
    l.diag = fb_diag_new();
    for (size_t i = 0; allow && allow[i]; i++) {
        char *err = NULL;
        ck_assert_msg(fbi_spec_set_allow_path(l.set, allow[i], &err) == 0, "%s", err);
    }
    l.add = fb_spec_set_add_buffer(l.set, "f.yaml", doc, strlen(doc), base, l.diag);
    l.fin = fb_spec_set_finish(l.set, l.diag);
    return l;
}

START_TEST(path_confinement)
{
    /* every path a spec names stays in its directory tree (symbolic links
     * resolved) unless --allow-path widens it; /proc, /sys and /dev, FIFOs
     * and devices are never read; a referenced file that is not a spec is
     * refused without quoting it */
    make_tmpdir();
    write_tmp("spec/code/app.py", "def handler(e, c):\n    return 1\n");
    write_tmp("spec/bell.qasm", "OPENQASM 2.0;\nqreg q[1];\n");
    write_tmp("outside/secret.txt", "TOKEN-7f3a-do-not-print\n");
    write_tmp("outside/creds", "aws_secret_access_key = TOKEN-7f3a-do-not-print\n");
    write_tmp("outside/w.yaml", HEAD "kind: Function\nmetadata: {name: w}\nspec: {image: x}\n");
    char p[600], t[600], outside[500];
    snprintf(outside, sizeof outside, "%s/outside", tmpdir);
    snprintf(p, sizeof p, "%s/spec/link", tmpdir);
    snprintf(t, sizeof t, "%s/outside/secret.txt", tmpdir);
    ck_assert_int_eq(symlink(t, p), 0);
    snprintf(p, sizeof p, "%s/spec/inner", tmpdir);
    ck_assert_int_eq(symlink("code", p), 0); /* a link that stays inside */
    snprintf(p, sizeof p, "%s/spec/fifo", tmpdir);
    ck_assert_int_eq(mkfifo(p, 0600), 0);
    static const struct { const char *path; const char *want; } code[] = {
        {"code", NULL},
        {"./code/../code/app.py", NULL},
        {"inner", NULL},
        {"../outside/secret.txt", "outside the spec's directory tree"},
        {"link", "outside the spec's directory tree"},
        {"fifo", "is a FIFO, not a regular file or a directory"},
        {"/proc/self/environ", "is in /proc, which is never read"},
        {"/dev/null", "is in /dev, which is never read"},
        {"/sys/kernel", "is in /sys, which is never read"},
    };
    for (size_t i = 0; i < sizeof code / sizeof *code; i++) {
        char *doc = fbi_xasprintf(HEAD "kind: Function\nmetadata: {name: f}\nspec:\n"
                                  "  runtime: python3.12\n  handler: app.handler\n"
                                  "  code: {path: \"%s\"}\n", code[i].path);
        loaded l = load_allowing(doc, NULL);
        if (!code[i].want) ASSERT_VALID(l);
        else ASSERT_ERR(l, "/spec/code/path", code[i].want);
        ck_assert(!diag_quotes(l.diag, "TOKEN-7f3a"));
        unload(&l);
        free(doc);
    }
    /* --allow-path widens the tree: the outside file and the link into it */
    const char *allow[] = {outside, NULL};
    for (int k = 0; k < 2; k++) {
        char *doc = fbi_xasprintf(HEAD "kind: Function\nmetadata: {name: f}\nspec:\n"
                                  "  runtime: python3.12\n  handler: app.handler\n"
                                  "  code: {path: %s}\n", k ? "link" : "../outside/secret.txt");
        loaded l = load_allowing(doc, allow);
        ASSERT_VALID(l);
        unload(&l);
        free(doc);
    }
    /* ... but never /proc, /sys or /dev, even under an allowed "/" */
    const char *root[] = {"/", NULL};
    loaded pr = load_allowing(HEAD "kind: QuantumJob\nmetadata: {name: q}\n"
                              "spec: {program: {file: /proc/self/environ}, language: openqasm3}\n", root);
    ASSERT_ERR(pr, "/spec/program/file", "is in /proc, which is never read");
    unload(&pr);
    fb_spec_set *s;
    fb_spec_set_new(&s);
    char *err = NULL;
    ck_assert_int_eq(fbi_spec_set_allow_path(s, "/proc", &err), -1);
    ck_assert_ptr_nonnull(strstr(err, "never read"));
    free(err);
    err = NULL;
    ck_assert_int_eq(fbi_spec_set_allow_path(s, "/dev/null", &err), -1);
    ck_assert_ptr_nonnull(strstr(err, "not a directory"));
    free(err);
    err = NULL;
    ck_assert_int_eq(fbi_spec_set_allow_path(s, "/nonexistent/dir", &err), -1);
    free(err);
    fb_spec_set_free(s);
    /* program.file: the same rules, and its content is inlined from inside */
    static const struct { const char *file; const char *want; } prog[] = {
        {"bell.qasm", NULL},
        {"../outside/secret.txt", "outside the spec's directory tree"},
        {"link", "outside the spec's directory tree"},
        {"fifo", "is a FIFO, not a regular file"},
        {"code", "is a directory, not a regular file"},
    };
    for (size_t i = 0; i < sizeof prog / sizeof *prog; i++) {
        char *doc = fbi_xasprintf(HEAD "kind: QuantumJob\nmetadata: {name: q}\n"
                                  "spec: {program: {file: \"%s\"}}\n", prog[i].file);
        loaded l = load_allowing(doc, NULL);
        if (!prog[i].want) ASSERT_VALID(l);
        else ASSERT_ERR(l, "/spec/program/file", prog[i].want);
        ck_assert(!diag_quotes(l.diag, "TOKEN-7f3a"));
        unload(&l);
        free(doc);
    }
    /* Federation file references: confined, and a file that is not a spec
     * is refused without a word of its content */
    static const struct { const char *file; const char *want; int allow; } fed[] = {
        {"../outside/w.yaml", "outside the spec's directory tree", 0},
        {"../outside/w.yaml", NULL, 1},
        {"../outside/creds", "is not a fedbroker spec", 1},
        {"../outside/secret.txt", "is not a fedbroker spec", 1},
        {"fifo", "is a FIFO, not a regular file", 0},
    };
    for (size_t i = 0; i < sizeof fed / sizeof *fed; i++) {
        char *doc = fbi_xasprintf(HEAD "kind: Federation\nmetadata: {name: fed}\n"
                                  "spec: {workloads: [{file: \"%s\"}]}\n", fed[i].file);
        loaded l = load_allowing(doc, fed[i].allow ? allow : NULL);
        if (!fed[i].want) ASSERT_VALID(l);
        else ASSERT_ERR(l, "/spec/workloads/0/file", fed[i].want);
        ck_assert(!diag_quotes(l.diag, "TOKEN-7f3a"));
        unload(&l);
        free(doc);
    }
    /* an included file's own references stay in the top file's tree */
    write_tmp("spec/sub/fed2.yaml", HEAD "kind: Federation\nmetadata: {name: inner}\n"
                                    "spec: {workloads: [{file: ../../outside/w.yaml}]}\n");
    loaded n = load_allowing(HEAD "kind: Federation\nmetadata: {name: fed}\n"
                             "spec: {workloads: [{file: sub/fed2.yaml}]}\n", NULL);
    ASSERT_ERR(n, "/spec/workloads/0/file", "outside the spec's directory tree");
    unload(&n);
    rm_tmpdir();
}
END_TEST

/* A stand-in for the command's OpenQASM checker: refuses a program holding
 * "bad" at line 2, column 3, and records what it was given. */
static char checked_dir[512];
static char checked_roots[1024];

static int fake_check(void *ctx, const char *source, size_t len, const char *dir,
                      const char *const *roots, char **msg, int *line, int *col)
{
    (*(int *)ctx)++;
    snprintf(checked_dir, sizeof checked_dir, "%s", dir ? dir : "(inline)");
    checked_roots[0] = '\0';
    for (size_t i = 0; roots && roots[i]; i++) {
        strncat(checked_roots, roots[i], sizeof checked_roots - strlen(checked_roots) - 2);
        strcat(checked_roots, ";");
    }
    if (!memmem(source, len, "bad", 3)) return 0;
    *msg = strdup("undefined gate 'bad' (undefined name)");
    *line = 2;
    *col = 3;
    return -1;
}

START_TEST(program_check)
{
    /* the program is parsed at validation (as the driver will) through the
     * checker the command installs; its error lands at the program's
     * pointer with the program's own line and column; a program file without
     * an OPENQASM header is not quoted; the checker gets the program file's
     * directory and the trees the spec may read */
    make_tmpdir();
    write_tmp("spec/ok.qasm", "OPENQASM 2.0;\nqreg q[1];\n");
    write_tmp("spec/bad.qasm", "OPENQASM 2.0;\n  bad q[0];\n");
    write_tmp("spec/noheader.txt", "token = bad-secret-9b1c\n");
    write_tmp("extra/x", "");
    char extra[500], base[500];
    snprintf(extra, sizeof extra, "%s/extra", tmpdir);
    snprintf(base, sizeof base, "%s/spec", tmpdir);
    static const struct { const char *prog; const char *ptr; const char *want; } cases[] = {
        {"{source: \"OPENQASM 2.0;\\nqreg q[1];\"}", NULL, NULL},
        {"{source: \"OPENQASM 2.0;\\n  bad q[0];\"}", "/spec/program/source",
         "the program does not parse: line 2, column 3: undefined gate 'bad'"},
        {"{file: ok.qasm}", NULL, NULL},
        {"{file: bad.qasm}", "/spec/program/file",
         "program file bad.qasm does not parse: line 2, column 3: undefined gate 'bad'"},
        {"{file: noheader.txt}", "/spec/program/file",
         "program file noheader.txt does not parse as OpenQASM (line 2, column 3); it has no "
         "OPENQASM header, so its content is not shown"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int calls = 0;
        fb_spec_set *s;
        fb_spec_set_new(&s);
        fbi_spec_set_program_check(s, fake_check, &calls);
        char *err = NULL;
        ck_assert_int_eq(fbi_spec_set_allow_path(s, extra, &err), 0);
        fb_diag *d = fb_diag_new();
        char *doc = fbi_xasprintf(HEAD "kind: QuantumJob\nmetadata: {name: q}\nspec:\n"
                                  "  program: %s\n  language: openqasm2\n", cases[i].prog);
        fb_status st = fb_spec_set_add_buffer(s, "q.yaml", doc, strlen(doc), base, d);
        ck_assert_int_eq(calls, 1);
        if (!cases[i].want) {
            if (fb_diag_errors(d)) dump_diag(d);
            ck_assert_int_eq(st, FB_OK);
        } else {
            ck_assert_int_eq(st, FB_INVALID);
            if (find_err(d, cases[i].ptr, cases[i].want) < 0) dump_diag(d);
            ck_assert_int_ge(find_err(d, cases[i].ptr, cases[i].want), 0);
            ck_assert_int_eq(fb_diag_line(d, 0), 5);
            ck_assert(!diag_quotes(d, "bad-secret"));
        }
        char want_roots[1100];
        char *real_base = realpath(base, NULL), *real_extra = realpath(extra, NULL);
        snprintf(want_roots, sizeof want_roots, "%s;%s;", real_base, real_extra);
        ck_assert_str_eq(checked_roots, want_roots);
        if (strstr(cases[i].prog, "file:")) ck_assert_str_eq(checked_dir, real_base);
        else ck_assert_str_eq(checked_dir, "(inline)");
        free(real_base);
        free(real_extra);
        free(doc);
        fb_diag_free(d);
        fb_spec_set_free(s);
    }
    /* without a checker the program is not parsed (the library's default) */
    loaded l = load("q.yaml", HEAD "kind: QuantumJob\nmetadata: {name: q}\n"
                              "spec: {program: {source: \"OPENQASM 2.0;\\nbad q[0];\"}}\n", NULL);
    ASSERT_VALID(l);
    unload(&l);
    rm_tmpdir();
}
END_TEST

START_TEST(yaml_line_numbers)
{
    loaded l = load("p.yaml", HEAD "kind: Function\nmetadata:\n  name: f\nspec:\n  image: x\n"
                              "  resources:\n    memory: 512MB\n    cpu: 1\n", NULL);
    ck_assert_int_eq(l.add, FB_INVALID);
    long i = find_err(l.diag, "/spec/resources/memory", "512MB");
    ck_assert_int_ge(i, 0);
    ck_assert_str_eq(fb_diag_file(l.diag, (size_t)i), "p.yaml");
    ck_assert_int_eq(fb_diag_line(l.diag, (size_t)i), 8);
    ck_assert_int_eq(fb_diag_column(l.diag, (size_t)i), 13);
    unload(&l);
    /* semantic errors carry lines too, also inside a multi-document file */
    loaded m = load("m.yaml", FN_MIN "---\n" HEAD "kind: Function\nmetadata: {name: g}\n"
                              "spec:\n  image: x\n  scaling:\n    minInstances: 9\n"
                              "    maxInstances: 3\n", NULL);
    i = find_err(m.diag, "/spec/scaling/minInstances", "greater than maxInstances");
    ck_assert_int_ge(i, 0);
    ck_assert_int_eq(fb_diag_line(m.diag, (size_t)i), 13);
    ck_assert_int_eq(fb_diag_column(m.diag, (size_t)i), 19);
    ck_assert_uint_eq(fb_spec_count(m.set), 1); /* the valid document is kept */
    unload(&m);
    /* and JSON */
    loaded j = load("p.json", "{\"apiVersion\": \"fedbroker.dev/v1\",\n \"kind\": \"Function\",\n"
                              " \"metadata\": {\"name\": \"f\"},\n \"spec\": {\"image\": \"x\",\n"
                              "   \"timeout\": \"5 s\"}}", NULL);
    i = find_err(j.diag, "/spec/timeout", NULL);
    ck_assert_int_ge(i, 0);
    ck_assert_int_eq(fb_diag_line(j.diag, (size_t)i), 5);
    ck_assert_int_eq(fb_diag_column(j.diag, (size_t)i), 15);
    unload(&j);
}
END_TEST

START_TEST(yaml_core_schema)
{
    /* YAML 1.2: yes/on/no are strings; 0.5 is a number; "0.5" a string. */
    loaded l = load("y.yaml", HEAD "kind: Function\nmetadata: {name: f, labels: {on: yes, x: no}}\n"
                              "spec:\n  image: x\n  env: {A: \"1\", B: \"true\"}\n"
                              "  resources: {cpu: 0.5, memory: 0o1000000000}\n"
                              "---\n" HEAD "kind: Function\nmetadata: {name: g}\n"
                              "spec: {image: x, resources: {cpu: \"0.5\", memory: 0x20000000}}\n",
                    NULL);
    ASSERT_VALID(l);
    const json_t *n = fbi_spec_doc(l.set, 0);
    ck_assert_str_eq(str_of(n, "/metadata/labels/on"), "yes");
    ck_assert_str_eq(str_of(n, "/metadata/labels/x"), "no");
    ck_assert_int_eq(int_of(n, "/spec/resources/cpuMillis"), 500);
    ck_assert_int_eq(int_of(n, "/spec/resources/memoryMiB"), 128); /* 0o1000000000 = 128Mi */
    ck_assert_int_eq(int_of(fbi_spec_doc(l.set, 1), "/spec/resources/cpuMillis"), 500);
    ck_assert_int_eq(int_of(fbi_spec_doc(l.set, 1), "/spec/resources/memoryMiB"), 512);
    unload(&l);
    /* 0.5 for memory is a number, which memory refuses; "1" env values need quotes */
    loaded m = load("y.yaml", HEAD "kind: Function\nmetadata: {name: f}\n"
                              "spec: {image: x, resources: {memory: 0.5}, env: {A: 1, B: true}}\n",
                    NULL);
    ASSERT_ERR(m, "/spec/resources/memory", "found number 0.5");
    ASSERT_ERR(m, "/spec/env/A", "found integer 1");
    ASSERT_ERR(m, "/spec/env/B", "found boolean true");
    unload(&m);
    /* an explicit !!str makes a string */
    loaded s = load("y.yaml", HEAD "kind: Function\nmetadata: {name: f}\n"
                              "spec: {image: x, env: {A: !!str 1}}\n", NULL);
    ASSERT_VALID(s);
    ck_assert_str_eq(str_of(fbi_spec_doc(s.set, 0), "/spec/env/A"), "1");
    unload(&s);
}
END_TEST

START_TEST(yaml_refusals)
{
    loaded d = load("d.yaml", HEAD "kind: Function\nmetadata:\n  name: f\n  name: g\nspec: {image: x}\n",
                    NULL);
    ASSERT_ERR(d, "/metadata/name", "duplicate key `name`");
    long i = find_err(d.diag, "/metadata/name", "duplicate");
    ck_assert_int_eq(fb_diag_line(d.diag, (size_t)i), 5);
    ck_assert_ptr_nonnull(strstr(fb_diag_detail(d.diag, (size_t)i), "line 4"));
    unload(&d);
    loaded k = load("k.yaml", HEAD "kind: Function\nmetadata: {name: f, labels: {1: a}}\n"
                              "spec: {image: x}\n", NULL);
    ASSERT_ERR(k, NULL, "key `1` is a integer");
    unload(&k);
    loaded c = load("c.yaml", "? [a, b]\n: c\n", NULL);
    ASSERT_ERR(c, NULL, "complex mapping key");
    unload(&c);
    loaded t = load("t.yaml", HEAD "kind: !!binary Function\nmetadata: {name: f}\nspec: {image: x}\n",
                    NULL);
    ASSERT_ERR(t, "/kind", "unsupported YAML tag");
    unload(&t);
    loaded t2 = load("t.yaml", HEAD "kind: Function\nmetadata: !custom {name: f}\nspec: {image: x}\n",
                     NULL);
    ASSERT_ERR(t2, "/metadata", "unsupported YAML tag !custom");
    unload(&t2);
    loaded inf = load("i.yaml", HEAD "kind: Function\nmetadata: {name: f}\n"
                                "spec: {image: x, resources: {cpu: .inf}}\n", NULL);
    ASSERT_ERR(inf, "/spec/resources/cpu", "infinity");
    unload(&inf);
    loaded big = load("b.yaml", HEAD "kind: Function\nmetadata: {name: f}\n"
                                "spec: {image: x, traffic: {requestsPerMonth: 99999999999999999999}}\n",
                      NULL);
    ASSERT_ERR(big, "/spec/traffic/requestsPerMonth", "integer out of range");
    unload(&big);
    loaded un = load("u.yaml", HEAD "kind: Function\nmetadata: {name: f}\nspec: *nothing\n", NULL);
    ASSERT_ERR(un, "/spec", "no anchor");
    unload(&un);
    loaded syn = load("s.yaml", HEAD "kind: Function\nmetadata: {name: f\nspec: {image: x}\n", NULL);
    ASSERT_ERR(syn, NULL, "YAML syntax error");
    unload(&syn);
    /* anchors and aliases within the budget are fine */
    loaded ok = load("a.yaml", HEAD "kind: Function\nmetadata: {name: f, labels: &l {team: a}}\n"
                               "spec:\n  image: x\n  env: &e {A: b}\n---\n"
                               HEAD "kind: Function\nmetadata: {name: g, labels: {team: a}}\n"
                               "spec: {image: y, env: {A: b}}\n", NULL);
    ASSERT_VALID(ok);
    unload(&ok);
    loaded al = load("a.yaml", HEAD "kind: Function\nmetadata: {name: f, labels: &l {team: a}}\n"
                               "spec:\n  image: x\n  command: &c [a, b]\n  args: *c\n", NULL);
    ASSERT_VALID(al);
    ck_assert_str_eq(str_of(fbi_spec_doc(al.set, 0), "/spec/args/1"), "b");
    unload(&al);
}
END_TEST

START_TEST(yaml_alias_bomb)
{
    /* billion laughs: each level doubles ten times */
    fbi_buf b;
    fbi_buf_init(&b);
    fbi_buf_puts(&b, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 9; i++) {
        fbi_buf_printf(&b, "a%d: &a%d [", i, i);
        for (int k = 0; k < 10; k++) fbi_buf_printf(&b, "%s*a%d", k ? ", " : "", i - 1);
        fbi_buf_puts(&b, "]\n");
    }
    loaded l = load("bomb.yaml", b.data, NULL);
    ASSERT_ERR(l, NULL, "aliases expand to more than");
    unload(&l);
    fbi_buf_free(&b);
}
END_TEST

START_TEST(multi_document)
{
    loaded l = load("m.yaml", "---\n" FN_MIN "---\n# an empty document is skipped\n---\n"
                              HEAD "kind: Container\nmetadata: {name: c}\nspec: {image: x}\n...\n",
                    NULL);
    ASSERT_VALID(l);
    ck_assert_uint_eq(fb_spec_count(l.set), 2);
    ck_assert_str_eq(fb_spec_kind(l.set, 1), "Container");
    unload(&l);
    loaded j = load("m.json", "[{\"apiVersion\": \"fedbroker.dev/v1\", \"kind\": \"Function\", "
                              "\"metadata\": {\"name\": \"a\"}, \"spec\": {\"image\": \"x\"}},\n"
                              " {\"apiVersion\": \"fedbroker.dev/v1\", \"kind\": \"Function\", "
                              "\"metadata\": {\"name\": \"b\"}, \"spec\": {\"image\": \"x\", "
                              "\"timeout\": 5}}]", NULL);
    ck_assert_uint_eq(fb_spec_count(j.set), 1);
    long i = find_err(j.diag, "/spec/timeout", NULL);
    ck_assert_int_ge(i, 0);
    ck_assert_int_eq(fb_diag_line(j.diag, (size_t)i), 2);
    unload(&j);
    loaded e = load("e.yaml", "# nothing\n", NULL);
    ASSERT_ERR(e, NULL, "no documents");
    unload(&e);
    loaded e2 = load("e.json", "[]", NULL);
    ASSERT_ERR(e2, NULL, "no documents");
    unload(&e2);
    loaded s = load("s.yaml", "just a string\n", NULL);
    ASSERT_ERR(s, "", "found string \"just a string\"");
    unload(&s);
}
END_TEST

/* Workloads whose spec members are equal share one (spec.c share_spec):
 * the set's memory on federations of one shape (bench/README-plan.md).
 * Sharing must change no text or hash, and unequal specs stay apart. */
START_TEST(equal_specs_shared)
{
    loaded l = load("m.yaml", "---\n" HEAD "kind: Function\nmetadata: {name: a, labels: {team: x}}\n"
                              "spec: {image: 'ghcr.io/a/b:1'}\n"
                              "---\n" HEAD "kind: Function\nmetadata: {name: b}\nspec: {image: 'ghcr.io/a/b:1'}\n"
                              "---\n" HEAD "kind: Function\nmetadata: {name: c}\nspec: {image: 'ghcr.io/a/b:2'}\n",
                    NULL);
    ASSERT_VALID(l);
    ck_assert_uint_eq(fb_spec_count(l.set), 3);
    json_t *a = json_object_get(fbi_spec_doc(l.set, 0), "spec");
    json_t *b = json_object_get(fbi_spec_doc(l.set, 1), "spec");
    json_t *c = json_object_get(fbi_spec_doc(l.set, 2), "spec");
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_eq(a, b);
    ck_assert_ptr_ne(a, c);
    ck_assert_str_eq(json_string_value(json_object_get(c, "image")), "ghcr.io/a/b:2");
    /* each document hashes as it would alone */
    loaded one = load("one.yaml", HEAD "kind: Function\nmetadata: {name: b}\nspec: {image: 'ghcr.io/a/b:1'}\n", NULL);
    ASSERT_VALID(one);
    ck_assert_str_eq(fb_spec_hash(l.set, 1), fb_spec_hash(one.set, 0));
    char *t1 = fbi_spec_text(fbi_spec_doc(l.set, 1)), *t2 = fbi_spec_text(fbi_spec_doc(one.set, 0));
    ck_assert_str_eq(t1, t2);
    free(t1);
    free(t2);
    unload(&one);
    unload(&l);
    /* equal specs written with their keys in another order share too, and
     * specs that differ only deep inside, or in a number, do not */
    loaded k = load("k.yaml", "---\n" HEAD "kind: Function\nmetadata: {name: a}\n"
                              "spec: {image: 'ghcr.io/a/b:1', resources: {memory: 256Mi, cpu: 0.5}}\n"
                              "---\n" HEAD "kind: Function\nmetadata: {name: b}\n"
                              "spec: {resources: {cpu: 0.5, memory: 256Mi}, image: 'ghcr.io/a/b:1'}\n"
                              "---\n" HEAD "kind: Function\nmetadata: {name: c}\n"
                              "spec: {image: 'ghcr.io/a/b:1', resources: {memory: 256Mi, cpu: 0.25}}\n"
                              "---\n" HEAD "kind: Function\nmetadata: {name: d}\n"
                              "spec: {image: 'ghcr.io/a/b:1', resources: {memory: 512Mi, cpu: 0.5}}\n",
                    NULL);
    ASSERT_VALID(k);
    json_t *ka = json_object_get(fbi_spec_doc(k.set, 0), "spec");
    ck_assert_ptr_eq(ka, json_object_get(fbi_spec_doc(k.set, 1), "spec"));
    ck_assert_ptr_ne(ka, json_object_get(fbi_spec_doc(k.set, 2), "spec"));
    ck_assert_ptr_ne(ka, json_object_get(fbi_spec_doc(k.set, 3), "spec"));
    ck_assert_str_ne(fb_spec_hash(k.set, 0), fb_spec_hash(k.set, 2));
    ck_assert_str_ne(fb_spec_hash(k.set, 0), fb_spec_hash(k.set, 3));
    unload(&k);
}
END_TEST

/* Distinct specs share their equal parts below the spec's own members
 * (spec.c pooled): the set's memory on federations of distinct shapes.
 * The spec's own members stay each workload's (a caller may add a key to
 * one), and texts and hashes are those of each document alone. */
START_TEST(equal_parts_shared)
{
    const char *fa = HEAD "kind: Function\nmetadata: {name: a}\nspec:\n  image: 'ghcr.io/a/b:1'\n"
                     "  traffic: {requestsPerMonth: 1000, sources: [{location: frankfurt, weight: 1}]}\n";
    const char *fb = HEAD "kind: Function\nmetadata: {name: b}\nspec:\n  image: 'ghcr.io/a/b:1'\n"
                     "  traffic: {requestsPerMonth: 2000, sources: [{location: frankfurt, weight: 1}]}\n";
    char *both = fbi_xasprintf("---\n%s---\n%s", fa, fb);
    loaded l = load("m.yaml", both, NULL);
    free(both);
    ASSERT_VALID(l);
    json_t *a = json_object_get(fbi_spec_doc(l.set, 0), "spec");
    json_t *b = json_object_get(fbi_spec_doc(l.set, 1), "spec");
    ck_assert_ptr_ne(a, b);
    json_t *ta = json_object_get(a, "traffic"), *tb = json_object_get(b, "traffic");
    ck_assert_ptr_nonnull(ta);
    ck_assert_ptr_ne(ta, tb); /* unequal, and a member of the spec itself */
    json_t *sa = json_object_get(ta, "sources"), *sb = json_object_get(tb, "sources");
    ck_assert_ptr_nonnull(sa);
    ck_assert_ptr_eq(sa, sb);
    ck_assert_ptr_eq(json_object_get(a, "image"), json_object_get(b, "image"));
    /* an equal member of the spec itself is not shared */
    json_t *pa = json_object_get(a, "placement"), *pb = json_object_get(b, "placement");
    if (pa && pb) {
        ck_assert(json_equal(pa, pb));
        ck_assert_ptr_ne(pa, pb);
    }
    const char *one_text[2] = {fa, fb};
    for (size_t i = 0; i < 2; i++) {
        loaded one = load("one.yaml", one_text[i], NULL);
        ASSERT_VALID(one);
        ck_assert_str_eq(fb_spec_hash(l.set, i), fb_spec_hash(one.set, 0));
        char *t1 = fbi_spec_text(fbi_spec_doc(l.set, i)), *t2 = fbi_spec_text(fbi_spec_doc(one.set, 0));
        ck_assert_str_eq(t1, t2);
        free(t1);
        free(t2);
        unload(&one);
    }
    unload(&l);
}
END_TEST

/* ---- limits ---- */

START_TEST(limit_file_size)
{
    size_t n = FBI_SPEC_MAX_FILE + 1;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    big[n] = '\0';
    fb_spec_set *s;
    fb_spec_set_new(&s);
    fb_diag *d = fb_diag_new();
    ck_assert_int_eq(fb_spec_set_add_buffer(s, "big.yaml", big, n, NULL, d), FB_INVALID);
    ck_assert_ptr_nonnull(strstr(fb_diag_summary(d, 0), "larger than the limit"));
    fb_diag_free(d);
    /* the same through a file */
    make_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/big.yaml", tmpdir);
    FILE *f = fopen(path, "w");
    fwrite(big, 1, n, f);
    fclose(f);
    d = fb_diag_new();
    ck_assert_int_eq(fb_spec_set_add_file(s, path, d), FB_INVALID);
    ck_assert_ptr_nonnull(strstr(fb_diag_summary(d, 0), "larger than the limit"));
    fb_diag_free(d);
    rm_tmpdir();
    fb_spec_set_free(s);
    free(big);
}
END_TEST

START_TEST(limit_depth)
{
    fbi_buf y, j;
    fbi_buf_init(&y);
    fbi_buf_init(&j);
    /* 33 levels: the root mapping plus 32 nested ones */
    fbi_buf_puts(&y, "a: ");
    for (int i = 0; i < 32; i++) fbi_buf_puts(&y, "{a: ");
    fbi_buf_puts(&y, "1");
    for (int i = 0; i < 32; i++) fbi_buf_puts(&y, "}");
    fbi_buf_puts(&y, "\n");
    loaded l = load("deep.yaml", y.data, NULL);
    ASSERT_ERR(l, NULL, "nesting deeper than 32");
    ck_assert_int_eq(fb_diag_line(l.diag, 0), 1);
    ck_assert_int_eq(fb_diag_column(l.diag, 0), 4 + 4 * 31);
    unload(&l);
    for (int i = 0; i < 33; i++) fbi_buf_puts(&j, "{\"a\": ");
    fbi_buf_puts(&j, "1");
    for (int i = 0; i < 33; i++) fbi_buf_puts(&j, "}");
    loaded m = load("deep.json", j.data, NULL);
    ASSERT_ERR(m, NULL, "nesting deeper than 32");
    unload(&m);
    /* 32 levels are fine as far as nesting goes (the schema then refuses it) */
    fbi_buf_free(&j);
    fbi_buf_init(&j);
    for (int i = 0; i < 32; i++) fbi_buf_puts(&j, "{\"a\": ");
    fbi_buf_puts(&j, "1");
    for (int i = 0; i < 32; i++) fbi_buf_puts(&j, "}");
    loaded k = load("ok.json", j.data, NULL);
    ck_assert_int_lt(find_err(k.diag, NULL, "nesting"), 0);
    ASSERT_ERR(k, "/a", "unknown property");
    unload(&k);
    /* far beyond jansson's own limit: still a clean error */
    fbi_buf_free(&j);
    fbi_buf_init(&j);
    for (int i = 0; i < 5000; i++) fbi_buf_puts(&j, "[");
    loaded v = load("vdeep.json", j.data, NULL);
    ck_assert_int_eq(v.add, FB_INVALID);
    unload(&v);
    fbi_buf_free(&y);
    fbi_buf_free(&j);
}
END_TEST

/* A QuantumJob as JSON text (new) whose inline source is "OPENQASM 2.0;"
 * padded with blanks to len bytes. */
static char *quantum_json(size_t len)
{
    char *src = malloc(len + 1);
    memset(src, ' ', len);
    memcpy(src, "OPENQASM 2.0;", 13);
    src[len] = '\0';
    json_t *d = json_pack("{sssss{ss}s{s{ss}}}", "apiVersion", "fedbroker.dev/v1", "kind",
                          "QuantumJob", "metadata", "name", "q", "spec", "program", "source", src);
    char *text = json_dumps(d, 0);
    json_decref(d);
    free(src);
    return text;
}

START_TEST(limit_string_and_source)
{
    size_t n = FBI_SPEC_MAX_STRING + 1;
    char *s = malloc(n + 1);
    memset(s, 'a', n);
    s[n] = '\0';
    char *doc = fbi_xasprintf(HEAD "kind: Function\nmetadata: {name: f, annotations: {x: %s}}\n"
                              "spec: {image: x}\n", s);
    loaded l = load("s.yaml", doc, NULL);
    ASSERT_ERR(l, "/metadata/annotations/x", "longer than the limit of 65536");
    ck_assert_int_eq(fb_diag_line(l.diag, (size_t)find_err(l.diag, NULL, "longer")), 3);
    unload(&l);
    free(doc);
    free(s);
    /* inline QASM up to 1 MiB is fine, more is not (the exact edge is in
     * limits_at_their_edges) */
    char *text = quantum_json(200000);
    loaded q = load("q.json", text, NULL);
    ASSERT_VALID(q);
    unload(&q);
    free(text);
    text = quantum_json(FBI_SPEC_MAX_SOURCE + 1);
    loaded q2 = load("q.json", text, NULL);
    ASSERT_ERR(q2, "/spec/program/source", "longer than the limit of 1048576");
    unload(&q2);
    free(text);
}
END_TEST

START_TEST(limit_documents)
{
    fbi_buf b;
    fbi_buf_init(&b);
    for (int i = 0; i < 1001; i++)
        fbi_buf_printf(&b, "---\n" HEAD "kind: Function\nmetadata: {name: f%d}\nspec: {image: x}\n", i);
    loaded l = load("many.yaml", b.data, NULL);
    ASSERT_ERR(l, NULL, "more than 1000 documents");
    long i = find_err(l.diag, NULL, "more than 1000");
    ck_assert_int_eq(fb_diag_line(l.diag, (size_t)i), 1000 * 5 + 2);
    unload(&l);
    fbi_buf_free(&b);
    fbi_buf_init(&b);
    fbi_buf_puts(&b, "[");
    for (int k = 0; k < 1001; k++) fbi_buf_printf(&b, "%s{}", k ? ",\n" : "");
    fbi_buf_puts(&b, "]");
    loaded j = load("many.json", b.data, NULL);
    ASSERT_ERR(j, "/1000", "more than 1000 documents");
    unload(&j);
    fbi_buf_free(&b);
}
END_TEST

/* A file of `n` tiny values: {"a":[1,1,...]} (or its YAML flow form) holds
 * 2 + k values. */
static char *many_values(int yaml, size_t k)
{
    fbi_buf b;
    fbi_buf_init(&b);
    fbi_buf_puts(&b, yaml ? "a: [" : "{\"a\":[");
    for (size_t i = 0; i < k; i++) fbi_buf_puts(&b, i ? ",1" : "1");
    fbi_buf_puts(&b, yaml ? "]\n" : "]}");
    return fbi_buf_steal(&b);
}

/* n minimal Function documents named PREFIX0.. in one YAML buffer (new). */
static char *n_functions(const char *prefix, int n)
{
    fbi_buf b;
    fbi_buf_init(&b);
    for (int i = 0; i < n; i++)
        fbi_buf_printf(&b, "---\n" HEAD "kind: Function\nmetadata: {name: %s%d}\n"
                           "spec: {image: x}\n", prefix, i);
    return fbi_buf_steal(&b);
}

START_TEST(limit_workloads)
{
    /* the documented default: 10,000 workloads are read, the 10,001st is
     * refused (naming the limit and how to raise it) and nothing more is read */
    fb_spec_set *s;
    fb_spec_set_new(&s);
    fb_diag *d = fb_diag_new();
    for (int f = 0; f < 10; f++) {
        char prefix[8], name[16];
        snprintf(prefix, sizeof prefix, "f%c", 'a' + f);
        snprintf(name, sizeof name, "%s.yaml", prefix);
        char *text = n_functions(prefix, 1000);
        ck_assert_int_eq(fb_spec_set_add_buffer(s, name, text, strlen(text), NULL, d), FB_OK);
        free(text);
    }
    ck_assert_int_eq(fb_spec_set_finish(s, d), FB_OK);
    ck_assert_int_eq((int)fb_spec_count(s), FBI_SPEC_MAX_WORKLOADS);
    char *one = n_functions("g", 2);
    ck_assert_int_eq(fb_spec_set_add_buffer(s, "g.yaml", one, strlen(one), NULL, d), FB_INVALID);
    ck_assert_int_eq((int)fb_diag_errors(d), 1);
    ck_assert_ptr_nonnull(strstr(fb_diag_summary(d, 0), "more than 10000 workloads in one invocation"));
    ck_assert_ptr_nonnull(strstr(fb_diag_detail(d, 0), "--max-workloads"));
    ck_assert_int_eq(fb_diag_line(d, 0), 2); /* the refused document */
    ck_assert_int_eq(fb_spec_set_add_buffer(s, "h.yaml", one, strlen(one), NULL, d), FB_INVALID);
    ck_assert_int_eq((int)fb_diag_errors(d), 1); /* reported once */
    ck_assert_int_eq(fb_spec_set_finish(s, d), FB_INVALID);
    ck_assert_int_eq((int)fb_spec_count(s), FBI_SPEC_MAX_WORKLOADS);
    fb_diag_free(d);
    fb_spec_set_free(s);
    free(one);

    /* a lower limit, counted across a federation's inline members */
    for (int max = 2; max <= 3; max++) {
        fb_spec_set_new(&s);
        fbi_spec_set_max_workloads(s, (size_t)max);
        d = fb_diag_new();
        const char *fed = HEAD "kind: Federation\nmetadata: {name: fed}\nspec:\n  workloads:\n"
            "    - {apiVersion: fedbroker.dev/v1, kind: Function, metadata: {name: a}, spec: {image: x}}\n"
            "    - {apiVersion: fedbroker.dev/v1, kind: Function, metadata: {name: b}, spec: {image: x}}\n"
            "    - {apiVersion: fedbroker.dev/v1, kind: Function, metadata: {name: c}, spec: {image: x}}\n"
            "  links: [{from: a, to: c}]\n";
        fb_status st = fb_spec_set_add_buffer(s, "fed.yaml", fed, strlen(fed), NULL, d);
        if (max == 3) {
            ck_assert_int_eq(st, FB_OK);
            ck_assert_int_eq(fb_spec_set_finish(s, d), FB_OK);
            ck_assert_int_eq((int)fb_diag_errors(d), 0);
        } else {
            ck_assert_int_eq(st, FB_INVALID);
            /* one error, at the member past the limit; no error about the
             * link to the member that was not read */
            ck_assert_int_eq((int)fb_diag_errors(d), 1);
            ck_assert_str_eq(fb_diag_pointer(d, 0), "/spec/workloads/2");
            ck_assert_int_eq(fb_diag_line(d, 0), 8);
            ck_assert_ptr_nonnull(strstr(fb_diag_summary(d, 0), "more than 2 workloads"));
            ck_assert_str_eq(fb_spec_federations_json(s), "[]");
        }
        fb_diag_free(d);
        fb_spec_set_free(s);
    }
}
END_TEST

START_TEST(limit_total_bytes)
{
    /* 64 MiB of spec text in all: sixteen 4 MiB files are read, one more
     * byte is refused (the files here are whitespace and {}: the schema
     * refuses each, which does not matter to the count) */
    size_t n = FBI_SPEC_MAX_FILE;
    char *big = malloc(n);
    memset(big, ' ', n);
    memcpy(big + n - 2, "{}", 2);
    fb_spec_set *s;
    fb_spec_set_new(&s);
    fb_diag *d = fb_diag_new();
    for (int i = 0; i < 16; i++) fb_spec_set_add_buffer(s, "big.json", big, n, NULL, d);
    ck_assert_int_lt(find_err(d, NULL, "spec text"), 0);
    ck_assert_int_eq(fb_spec_set_add_buffer(s, "one.json", "{}", 1, NULL, d), FB_INVALID);
    long i = find_err(d, NULL, "more than 67108864 bytes (64 MiB) of spec text");
    ck_assert_int_ge(i, 0);
    ck_assert_str_eq(fb_diag_file(d, (size_t)i), "one.json");
    fb_diag_free(d);
    fb_spec_set_free(s);
    free(big);
}
END_TEST

START_TEST(location_map)
{
    /* both lookup paths (a scan for small maps, the sorted index for large
     * ones), the first record of a pointer winning, the nearest ancestor,
     * and a subtree copy that outlives its file's map */
    for (int n = 10; n <= 5000; n *= 500) {
        fbi_locmap *m = fbi_locmap_new();
        fbi_loc_put(m, "", 1, 1);
        fbi_loc_put(m, "/a", 2, 3);
        char p[64];
        for (int i = 0; i < n; i++) {
            snprintf(p, sizeof p, "/a/%d", i);
            fbi_loc_put(m, p, 10 + i, 5);
            snprintf(p, sizeof p, "/a/%d/x", i);
            fbi_loc_put(m, p, 10 + i, 9);
        }
        fbi_loc_put(m, "/a/1", 999999, 1); /* a later record of the same pointer */
        fbi_loc_put(m, "/b", 7000000, 3000000);
        int line = 0, col = 0;
        ck_assert_int_eq(fbi_loc_get(m, "/a/1", &line, &col), 1);
        ck_assert_int_eq(line, 11);
        ck_assert_int_eq(col, 5);
        ck_assert_int_eq(fbi_loc_get(m, "/a/7/x", &line, &col), 1);
        ck_assert_int_eq(line, 17);
        ck_assert_int_eq(col, 9);
        ck_assert_int_eq(fbi_loc_get(m, "/a/7/y/z", &line, &col), 1); /* ancestor /a/7 */
        ck_assert_int_eq(col, 5);
        ck_assert_int_eq(fbi_loc_get(m, "/b", &line, &col), 1);
        ck_assert_int_eq(line, 7000000);
        ck_assert_int_eq(col, 3000000);
        ck_assert_int_eq(fbi_loc_get(m, "/zz", &line, &col), 1); /* the root */
        ck_assert_int_eq(line, 1);
        fbi_locmap *sub = fbi_locmap_subtree(m, "/a/3");
        fbi_locmap_unref(m);
        ck_assert_int_eq((int)fbi_locmap_count(sub), 2);
        ck_assert_int_eq(fbi_loc_get(sub, "/a/3/x", &line, &col), 1);
        ck_assert_int_eq(line, 13);
        ck_assert_int_eq(col, 9);
        ck_assert_int_eq(fbi_loc_get(sub, "/a/4", &line, &col), 0);
        fbi_locmap_unref(sub);
    }
    ck_assert_int_eq(fbi_loc_get(NULL, "/a", &(int){0}, &(int){0}), 0);
}
END_TEST

START_TEST(limit_values)
{
    /* the value limit bounds the parse's memory (each value is a jansson
     * node of 30 to 300 bytes plus a 16-byte location): at the limit the
     * file parses (the schema then refuses the unknown key), one more value
     * is refused before the tree is built, with the position of that value */
    for (int yaml = 0; yaml < 2; yaml++) {
        const char *name = yaml ? "v.yaml" : "v.json";
        char *at_limit = many_values(yaml, FBI_SPEC_MAX_NODES - 2);
        loaded l = load(name, at_limit, NULL);
        ck_assert_int_lt(find_err(l.diag, NULL, "values in one file"), 0);
        ASSERT_ERR(l, "/a", "unknown property");
        unload(&l);
        free(at_limit);
        char *over = many_values(yaml, FBI_SPEC_MAX_NODES - 1);
        loaded m = load(name, over, NULL);
        ck_assert_int_eq(m.add, FB_INVALID);
        ASSERT_ERR(m, "/a/249998", "more than 250000 values in one file");
        long i = find_err(m.diag, NULL, "values in one file");
        ck_assert_int_eq(fb_diag_line(m.diag, (size_t)i), 1);
        /* the 249,999th element starts at column 6 (YAML) or 7 (JSON) plus two
         * characters for each element before it */
        ck_assert_int_eq(fb_diag_column(m.diag, (size_t)i), (yaml ? 5 : 7) + 2 * 249998);
        unload(&m);
        free(over);
    }
}
END_TEST

/* Loads one file from tmpdir through fb_spec_set_add_file. */
static loaded load_file(const char *name)
{
    loaded l;
    char path[600];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    fb_spec_set_new(&l.set);
    l.diag = fb_diag_new();
    l.add = fb_spec_set_add_file(l.set, path, l.diag);
    l.fin = fb_spec_set_finish(l.set, l.diag);
    return l;
}

START_TEST(limits_at_their_edges)
{
    /* docs/spec.md "Limits", each exactly at the limit (accepted) and one
     * step past it (refused with the limit named) */
    make_tmpdir();
    /* a file of exactly 4 MiB */
    size_t n = FBI_SPEC_MAX_FILE;
    char *big = malloc(n + 2);
    memset(big, ' ', n + 1);
    memcpy(big, FN_MIN, strlen(FN_MIN));
    big[strlen(FN_MIN)] = '#'; /* the rest is a YAML comment */
    big[n] = '\0';
    char path[600];
    snprintf(path, sizeof path, "%s/4m.yaml", tmpdir);
    FILE *f = fopen(path, "w");
    fwrite(big, 1, n, f);
    fclose(f);
    loaded a = load_file("4m.yaml");
    ASSERT_VALID(a);
    unload(&a);
    big[n] = ' ';
    big[n + 1] = '\0';
    f = fopen(path, "w");
    fwrite(big, 1, n + 1, f);
    fclose(f);
    loaded a2 = load_file("4m.yaml");
    ASSERT_ERR(a2, NULL, "larger than the limit of 4194304 bytes");
    unload(&a2);
    free(big);

    /* 1000 documents (YAML and JSON) */
    char *docs = n_functions("w", 1000);
    loaded d = load("d.yaml", docs, NULL);
    ASSERT_VALID(d);
    ck_assert_int_eq((int)fb_spec_count(d.set), 1000);
    unload(&d);
    free(docs);
    fbi_buf j;
    fbi_buf_init(&j);
    fbi_buf_puts(&j, "[");
    for (int k = 0; k < 1000; k++)
        fbi_buf_printf(&j, "%s{\"apiVersion\": \"fedbroker.dev/v1\", \"kind\": \"Function\", "
                           "\"metadata\": {\"name\": \"w%d\"}, \"spec\": {\"image\": \"x\"}}",
                       k ? "," : "", k);
    fbi_buf_puts(&j, "]");
    loaded dj = load("d.json", j.data, NULL);
    ASSERT_VALID(dj);
    unload(&dj);
    fbi_buf_free(&j);

    /* a string and a key of exactly 64 KiB pass the string limit (the
     * schema then refuses the long annotation and the unknown key) */
    for (int key = 0; key < 2; key++) {
        for (size_t len = FBI_SPEC_MAX_STRING; len <= FBI_SPEC_MAX_STRING + 1; len++) {
            char *str = malloc(len + 1);
            memset(str, 'a', len);
            str[len] = '\0';
            /* JSON: YAML's simple keys stop at 1024 characters */
            char *doc = key ? fbi_xasprintf("{\"apiVersion\": \"fedbroker.dev/v1\", \"kind\": "
                                            "\"Function\", \"metadata\": {\"name\": \"f\"}, "
                                            "\"spec\": {\"image\": \"x\", \"%s\": 1}}", str)
                            : fbi_xasprintf(HEAD "kind: Function\nmetadata: {name: f, "
                                            "annotations: {x: %s}}\nspec: {image: x}\n", str);
            loaded l = load(key ? "s.json" : "s.yaml", doc, NULL);
            if (len == FBI_SPEC_MAX_STRING) ck_assert_int_lt(find_err(l.diag, NULL, "longer than"), 0);
            else ASSERT_ERR(l, NULL, key ? "key longer than the limit of 65536" : "longer than the limit of 65536");
            unload(&l);
            free(doc);
            free(str);
        }
    }

    /* inline OpenQASM source of exactly 1 MiB */
    char *qt = quantum_json(FBI_SPEC_MAX_SOURCE);
    loaded qs = load("q.json", qt, NULL);
    ASSERT_VALID(qs);
    unload(&qs);
    free(qt);

    /* YAML aliases expanding to exactly 10,000 nodes, then one more */
    for (int extra = 0; extra < 2; extra++) {
        fbi_buf y;
        fbi_buf_init(&y);
        fbi_buf_puts(&y, "a: &s x\nb: [");
        for (int k = 0; k < FBI_SPEC_MAX_ALIAS_NODES + extra; k++) fbi_buf_puts(&y, k ? ",*s" : "*s");
        fbi_buf_puts(&y, "]\n");
        loaded l = load("alias.yaml", y.data, NULL);
        if (!extra) ck_assert_int_lt(find_err(l.diag, NULL, "aliases expand"), 0);
        else ASSERT_ERR(l, "/b/10000", "aliases expand to more than 10000 nodes");
        unload(&l);
        fbi_buf_free(&y);
    }

    /* file references nesting exactly 8 levels deep, then 9 */
    for (int levels = 8; levels <= 9; levels++) {
        for (int k = 0; k < levels; k++) {
            char name[32], text[256];
            snprintf(name, sizeof name, "n%d/c%d.yaml", levels, k);
            snprintf(text, sizeof text, HEAD "kind: Federation\nmetadata: {name: c%d}\n"
                                             "spec: {workloads: [{file: c%d.yaml}]}\n", k, k + 1);
            write_tmp(name, text);
        }
        char name[32];
        snprintf(name, sizeof name, "n%d/c%d.yaml", levels, levels);
        write_tmp(name, FN_MIN);
        snprintf(name, sizeof name, "n%d/c0.yaml", levels);
        loaded l = load_file(name);
        if (levels == 8) ASSERT_VALID(l);
        else ASSERT_ERR(l, "/spec/workloads/0/file", "file references nest deeper than 8 levels");
        unload(&l);
    }

    /* 1000 files read for one set (the federation and 999 it references),
     * then 1001 */
    for (int refs = 999; refs <= 1000; refs++) {
        fbi_buf fed;
        fbi_buf_init(&fed);
        fbi_buf_puts(&fed, HEAD "kind: Federation\nmetadata: {name: big}\nspec:\n  workloads:\n");
        for (int k = 0; k < refs; k++) {
            char name[48], text[200];
            snprintf(name, sizeof name, "files/w%d.yaml", k);
            snprintf(text, sizeof text, HEAD "kind: Function\nmetadata: {name: w%d}\n"
                                             "spec: {image: x}\n", k);
            if (refs == 999 || k == 999) write_tmp(name, text);
            fbi_buf_printf(&fed, "    - {file: w%d.yaml}\n", k);
        }
        write_tmp("files/fed.yaml", fed.data);
        loaded l = load_file("files/fed.yaml");
        if (refs == 999) ASSERT_VALID(l);
        else ASSERT_ERR(l, "/spec/workloads/999/file", "more than 1000 files read for one set");
        unload(&l);
        fbi_buf_free(&fed);
    }

    /* code of exactly 256 MiB (a sparse file), then one byte more */
    write_tmp("code/big/app.bin", "");
    snprintf(path, sizeof path, "%s/code/big/app.bin", tmpdir);
    const char *fdoc = HEAD "kind: Function\nmetadata: {name: f}\nspec:\n  runtime: python3.12\n"
                            "  handler: app.handler\n  code: {path: big}\n";
    char base[600];
    snprintf(base, sizeof base, "%s/code", tmpdir);
    for (int extra = 0; extra < 2; extra++) {
        ck_assert_int_eq(truncate(path, (off_t)(256ull << 20) + extra), 0);
        loaded l = load("f.yaml", fdoc, base);
        if (!extra) ASSERT_VALID(l);
        else ASSERT_ERR(l, "/spec/code/path", "larger than 256 MiB");
        unload(&l);
    }
    unlink(path);
    /* a code directory of exactly 20,000 entries, then one more */
    snprintf(path, sizeof path, "%s/code/big/f", tmpdir);
    mkdir(path, 0755);
    for (int k = 0; k < 19999; k++) {
        char p2[700];
        snprintf(p2, sizeof p2, "%s/%d", path, k);
        FILE *e = fopen(p2, "w");
        ck_assert_ptr_nonnull(e);
        fclose(e);
    }
    for (int extra = 0; extra < 2; extra++) {
        loaded l = load("f.yaml", fdoc, base); /* the directory f is entry 20,000 */
        if (!extra) {
            ASSERT_VALID(l);
            char p2[700];
            snprintf(p2, sizeof p2, "%s/extra", path);
            FILE *e = fopen(p2, "w");
            fclose(e);
        } else {
            ASSERT_ERR(l, "/spec/code/path", "more than 20000 files");
        }
        unload(&l);
    }
    rm_tmpdir();
}
END_TEST

START_TEST(documented_defaults)
{
    /* the defaults docs/spec.md's normal-form table lists that the other
     * tests do not already pin */
    loaded l = load("d.yaml", HEAD "kind: Container\nmetadata: {name: c}\nspec:\n"
                              "  image: x\n"
                              "  triggers: [{http: {}}, {queue: {name: q}}, {schedule: {cron: \"* * * * *\"}}]\n"
                              "  healthCheck: {}\n"
                              "  placement: {spread: {}}\n"
                              "  ports: [{port: 9000}]\n", NULL);
    ASSERT_VALID(l);
    const json_t *n = fbi_spec_doc(l.set, 0);
    ck_assert_str_eq(str_of(n, "/spec/triggers/0/http/path"), "/");
    ck_assert(json_is_false(at(n, "/spec/triggers/0/http/public")));
    char *m = json_dumps(at(n, "/spec/triggers/0/http/methods"), JSON_COMPACT);
    ck_assert_str_eq(m, "[\"GET\",\"HEAD\",\"POST\",\"PUT\",\"PATCH\",\"DELETE\",\"OPTIONS\"]");
    free(m);
    ck_assert_int_eq(int_of(n, "/spec/triggers/1/queue/batchSize"), 10);
    ck_assert_str_eq(str_of(n, "/spec/triggers/2/schedule/timezone"), "UTC");
    ck_assert_str_eq(str_of(n, "/spec/healthCheck/path"), "/");
    ck_assert_int_eq(int_of(n, "/spec/healthCheck/initialDelayMs"), 0);
    ck_assert_int_eq(int_of(n, "/spec/healthCheck/periodMs"), 10000);
    ck_assert_int_eq(int_of(n, "/spec/healthCheck/timeoutMs"), 1000);
    ck_assert_int_eq(int_of(n, "/spec/healthCheck/failureThreshold"), 3);
    ck_assert_int_eq(int_of(n, "/spec/placement/spread/minRegions"), 1);
    ck_assert_int_eq(int_of(n, "/spec/placement/spread/minProviders"), 1);
    ck_assert_str_eq(str_of(n, "/spec/ports/0/protocol"), "http");
    ck_assert(json_is_false(at(n, "/spec/ports/0/public")));
    ck_assert_int_eq(int_of(n, "/spec/timeoutMs"), 30000);
    ck_assert_str_eq(str_of(n, "/spec/resources/arch"), "x86_64");
    ck_assert_int_eq(int_of(n, "/spec/resources/ephemeralStorageMiB"), 512);
    ck_assert_int_eq(int_of(n, "/spec/scaling/maxInstances"), 100);
    ck_assert_int_eq(int_of(n, "/spec/scaling/minInstances"), 0);
    ck_assert(json_is_true(at(n, "/spec/scaling/scaleToZero")));
    ck_assert_int_eq(int_of(n, "/spec/traffic/meanDurationMs"), 100);
    ck_assert_int_eq(int_of(n, "/spec/traffic/requestsPerMonth"), 0);
    ck_assert_int_eq(int_of(n, "/spec/traffic/egressBytesPerMonth"), 0);
    ck_assert_str_eq(str_of(n, "/metadata/tenant"), "default");
    unload(&l);
    /* a QuantumJob without a header needs language; with one it is detected */
    loaded q = load("q.yaml", HEAD "kind: QuantumJob\nmetadata: {name: q}\n"
                              "spec: {program: {source: \"OPENQASM 2.0;\\nqreg q[1];\"}}\n", NULL);
    ASSERT_VALID(q);
    ck_assert_str_eq(str_of(fbi_spec_doc(q.set, 0), "/spec/language"), "openqasm2");
    unload(&q);
}
END_TEST

START_TEST(invalid_utf8)
{
    const char *bad = HEAD "kind: Function\nmetadata: {name: f}\nspec: {image: \"x\xff\"}\n";
    loaded l = load("u.yaml", bad, NULL);
    ASSERT_ERR(l, NULL, "invalid UTF-8");
    ck_assert_int_eq(fb_diag_line(l.diag, 0), 4);
    ck_assert_int_eq(fb_diag_column(l.diag, 0), 17);
    unload(&l);
    loaded j = load("u.json", "{\"a\": \"\xc3\x28\"}", NULL);
    ASSERT_ERR(j, NULL, "invalid UTF-8 (byte 0xc3");
    unload(&j);
    /* overlong encodings and surrogates are invalid too */
    loaded o = load("o.yaml", "a: \xc0\xaf\n", NULL);
    ASSERT_ERR(o, NULL, "invalid UTF-8");
    unload(&o);
    loaded s = load("s.yaml", "a: \xed\xa0\x80\n", NULL);
    ASSERT_ERR(s, NULL, "invalid UTF-8");
    unload(&s);
    fb_spec_set *set;
    fb_spec_set_new(&set);
    fb_diag *d = fb_diag_new();
    ck_assert_int_eq(fb_spec_set_add_buffer(set, "nul.yaml", "a: b\0c\n", 7, NULL, d), FB_INVALID);
    ck_assert_ptr_nonnull(strstr(fb_diag_summary(d, 0), "NUL byte"));
    fb_diag_free(d);
    fb_spec_set_free(set);
    /* a UTF-8 byte order mark is accepted */
    loaded bom = load("b.json", "\xEF\xBB\xBF{\"apiVersion\": \"fedbroker.dev/v1\", \"kind\": "
                                "\"Function\", \"metadata\": {\"name\": \"f\"}, "
                                "\"spec\": {\"image\": \"x\"}}", NULL);
    ASSERT_VALID(bom);
    unload(&bom);
}
END_TEST

START_TEST(json_syntax_and_duplicates)
{
    loaded l = load("s.json", "{\"apiVersion\": \"fedbroker.dev/v1\",\n  \"kind\": \"Function\"\n"
                              "  \"metadata\": {}}", NULL);
    ASSERT_ERR(l, NULL, "JSON syntax error");
    ck_assert_int_eq(fb_diag_line(l.diag, 0), 3);
    unload(&l);
    loaded d = load("d.json", "{\"a\": 1,\n \"a\": 2}", NULL);
    ASSERT_ERR(d, NULL, "duplicate");
    ck_assert_int_eq(fb_diag_line(d.diag, 0), 2);
    unload(&d);
}
END_TEST

/* ---- did you mean, schema messages ---- */

START_TEST(did_you_mean)
{
    loaded l = load("m.yaml", HEAD "kind: Function\nmetadata: {name: f, tenantt: a}\n"
                              "spec:\n  image: x\n  resources: {memroy: 1Gi, CPU: 1}\n"
                              "  placment: {}\n  scaling: {maxInstance: 3}\n", NULL);
    ASSERT_ERR(l, "/spec/resources/memroy", "did you mean `memory`?");
    ASSERT_ERR(l, "/spec/resources/CPU", "did you mean `cpu`?");
    ASSERT_ERR(l, "/spec/placment", "did you mean `placement`?");
    ASSERT_ERR(l, "/spec/scaling/maxInstance", "did you mean `maxInstances`?");
    ASSERT_ERR(l, "/metadata/tenantt", "did you mean `tenant`?");
    unload(&l);
    loaded k = load("k.yaml", HEAD "kind: Containr\nmetadata: {name: f}\nspec: {zzzzzz: 1}\n", NULL);
    ASSERT_ERR(k, "/kind", "did you mean `Container`?");
    unload(&k);
    /* nothing close: no suggestion, but the allowed names in the detail */
    loaded n = load("n.yaml", HEAD "kind: Function\nmetadata: {name: f}\nspec: {image: x, "
                              "resources: {zzzzzz: 1}}\n", NULL);
    long i = find_err(n.diag, "/spec/resources/zzzzzz", "unknown property");
    ck_assert_int_ge(i, 0);
    ck_assert_ptr_null(strstr(fb_diag_summary(n.diag, (size_t)i), "did you mean"));
    ck_assert_ptr_nonnull(strstr(fb_diag_detail(n.diag, (size_t)i), "memory, cpu"));
    unload(&n);
}
END_TEST

START_TEST(all_errors_reported)
{
    loaded l = load("a.yaml", "apiVersion: v2\nkind: Function\nmetadata: {name: Bad_Name}\n"
                              "spec:\n  handler: 5\n  timeout: 30\n  resources: {memory: 1GB, arch: arm}\n",
                    NULL);
    ASSERT_ERR(l, "/apiVersion", "expected the API version");
    ASSERT_ERR(l, "/metadata/name", "expected a name");
    ASSERT_ERR(l, "/spec/handler", "found integer 5");
    ASSERT_ERR(l, "/spec/timeout", "found integer 30");
    ASSERT_ERR(l, "/spec/resources/memory", "\"1GB\"");
    ASSERT_ERR(l, "/spec/resources/arch", "found \"arm\"");
    ASSERT_ERR(l, "/spec", "missing required property `runtime`");
    ASSERT_ERR(l, "/spec", "missing required property `code`");
    ck_assert_int_ge(fb_diag_errors(l.diag), 8);
    /* the errors come in file order */
    for (size_t i = 1; i < fb_diag_count(l.diag); i++)
        ck_assert_int_le(fb_diag_line(l.diag, i - 1), fb_diag_line(l.diag, i));
    unload(&l);
}
END_TEST

/* A file of 40 documents (over the threshold at which spec.c checks the
 * schema of a file's documents and hashes its workloads in threads): the
 * valid ones load with the hash each has alone, each invalid one reports
 * what it reports alone, at its own line, in file order. */
START_TEST(many_documents_checked_in_parallel)
{
    enum { NDOCS = 40, LINES = 5 };
    static const int bad[] = {3, 20, 39};
    fbi_buf all, one;
    fbi_buf_init(&all);
    for (int i = 0; i < NDOCS; i++) {
        int is_bad = i == bad[0] || i == bad[1] || i == bad[2];
        fbi_buf_printf(&all, "---\n" HEAD "kind: Function\nmetadata: {name: fn-%02d}\n"
                             "spec: {image: x, resources: {memory: %s}}\n",
                       i, is_bad ? "lots" : "256Mi");
    }
    loaded l = load("many.yaml", all.data, NULL);
    ck_assert_int_eq(l.add, FB_INVALID);
    ck_assert_uint_eq(fb_spec_count(l.set), NDOCS - 3);
    size_t k = 0;
    for (size_t b = 0; b < 3; b++) {
        fbi_buf_init(&one);
        fbi_buf_printf(&one, "---\n" HEAD "kind: Function\nmetadata: {name: fn-%02d}\n"
                             "spec: {image: x, resources: {memory: lots}}\n", bad[b]);
        loaded alone = load("one.yaml", one.data, NULL);
        ck_assert_uint_gt(fb_diag_errors(alone.diag), 0);
        for (size_t i = 0; i < fb_diag_count(alone.diag); i++, k++) {
            ck_assert_uint_lt(k, fb_diag_count(l.diag));
            ck_assert_str_eq(fb_diag_summary(l.diag, k), fb_diag_summary(alone.diag, i));
            ck_assert_str_eq(fb_diag_pointer(l.diag, k), fb_diag_pointer(alone.diag, i));
            ck_assert_int_eq(fb_diag_line(l.diag, k), fb_diag_line(alone.diag, i) + bad[b] * LINES);
        }
        unload(&alone);
        fbi_buf_free(&one);
    }
    ck_assert_uint_eq(k, fb_diag_count(l.diag));
    /* the workloads hashed in threads get the hash each gets alone */
    for (size_t i = 0; i < fb_spec_count(l.set); i++) {
        fbi_buf_init(&one);
        fbi_buf_printf(&one, "---\n" HEAD "kind: Function\nmetadata: {name: %s}\n"
                             "spec: {image: x, resources: {memory: 256Mi}}\n", fb_spec_name(l.set, i));
        loaded alone = load("one.yaml", one.data, NULL);
        ck_assert_uint_eq(fb_spec_count(alone.set), 1);
        ck_assert_str_eq(fb_spec_hash(l.set, i), fb_spec_hash(alone.set, 0));
        unload(&alone);
        fbi_buf_free(&one);
    }
    unload(&l);
    fbi_buf_free(&all);
}
END_TEST

START_TEST(name_rules_name_providers)
{
    loaded l = load("n.yaml", HEAD "kind: Function\nmetadata:\n  name: "
                              "this-name-is-far-too-long-for-cloud-run-services-x\n"
                              "  tenant: Acme_Corp\nspec: {image: x}\n---\n"
                              HEAD "kind: Function\nmetadata: {name: 9lives-}\nspec: {image: x}\n",
                    NULL);
    long i = find_err(l.diag, "/metadata/name", "at most 49 characters");
    ck_assert_int_ge(i, 0);
    ck_assert_ptr_nonnull(strstr(fb_diag_detail(l.diag, (size_t)i), "Cloud Run"));
    i = find_err(l.diag, "/metadata/tenant", NULL);
    ck_assert_int_ge(i, 0);
    ck_assert_ptr_nonnull(strstr(fb_diag_detail(l.diag, (size_t)i), "Uppercase"));
    ck_assert_ptr_nonnull(strstr(fb_diag_detail(l.diag, (size_t)i), "Lambda and ECS accept it"));
    long j = -1;
    for (size_t k = 0; k < fb_diag_count(l.diag); k++)
        if (fb_diag_line(l.diag, k) == 10) j = (long)k;
    ck_assert_int_ge(j, 0);
    ck_assert_ptr_nonnull(strstr(fb_diag_detail(l.diag, (size_t)j), "start with a letter"));
    ck_assert_ptr_nonnull(strstr(fb_diag_detail(l.diag, (size_t)j), "trailing '-'"));
    unload(&l);
    char *e = fbi_spec_explain_name("a");
    ck_assert_ptr_null(e);
    e = fbi_spec_explain_name("a.b");
    ck_assert_ptr_nonnull(strstr(e, "'.' is refused by every provider"));
    free(e);
}
END_TEST

/* ---- semantic rules (docs/spec.md, last section) ---- */

START_TEST(semantic_rules)
{
    loaded l = load("s.yaml", HEAD "kind: Function\nmetadata: {name: f}\nspec:\n  image: x\n"
                              "  resources: {memory: 32Mi, cpu: 0.01}\n"
                              "  timeout: 2h\n"
                              "  scaling: {minInstances: 3, maxInstances: 2, scaleToZero: true}\n"
                              "  env: {A: a, B: b}\n"
                              "  secrets: [{env: B, ref: \"k8s://ns/s#b\"}, {env: C, ref: \"k8s://ns/s#c\"},\n"
                              "            {env: C, ref: \"vault://x#y\"}]\n"
                              "  traffic:\n    sources: [{location: tokyo, weight: 0.5}, "
                              "{location: tokyo, weight: 0.2}]\n"
                              "  placement: {providers: [aws], denyProviders: [aws], affinity: [f]}\n"
                              "  dependencies: [{workload: f}, {workload: g}, {workload: g}]\n",
                    NULL);
    ASSERT_ERR(l, "/spec/resources/memory", "outside 64Mi..32Gi");
    ASSERT_ERR(l, "/spec/resources/cpu", "outside 50m..64000m");
    ASSERT_ERR(l, "/spec/timeout", "outside 1s..60m");
    ASSERT_ERR(l, "/spec/scaling/minInstances", "greater than maxInstances");
    ASSERT_ERR(l, "/spec/scaling/scaleToZero", "minInstances is 3");
    ASSERT_ERR(l, "/spec/secrets/0/env", "both env and secrets");
    ASSERT_ERR(l, "/spec/secrets/2/env", "declared twice");
    ASSERT_ERR(l, "/spec/traffic/sources", "sum to 0.7");
    ASSERT_ERR(l, "/spec/traffic/sources/1/location", "listed twice");
    ASSERT_ERR(l, "/spec/placement/denyProviders/0", "both providers and denyProviders");
    ASSERT_ERR(l, "/spec/placement/affinity/0", "cannot name itself");
    ASSERT_ERR(l, "/spec/dependencies/0/workload", "cannot depend on itself");
    ASSERT_ERR(l, "/spec/dependencies/2/workload", "listed twice");
    ck_assert_uint_eq(fb_spec_count(l.set), 0);
    unload(&l);

    /* weights within +-0.001 of 1 are fine; a latencySLO needs sources */
    loaded w = load("w.yaml", HEAD "kind: Function\nmetadata: {name: f}\nspec:\n  image: x\n"
                              "  traffic: {sources: [{location: a, weight: 0.3333}, "
                              "{location: b, weight: 0.3333}, {location: c, weight: 0.3333}]}\n"
                              "---\n" HEAD "kind: Function\nmetadata: {name: g}\nspec:\n  image: x\n"
                              "  placement: {latencySLO: {p50: 10ms}}\n", NULL);
    ck_assert_uint_eq(fb_spec_count(w.set), 1);
    ASSERT_ERR(w, "/spec/placement/latencySLO", "needs at least one traffic source");
    unload(&w);

    /* env size limits: 4096 bytes per value (the schema counts characters,
     * Lambda bytes), 4 KiB for all of them */
    fbi_buf v;
    fbi_buf_init(&v);
    for (int k = 0; k < 2100; k++) fbi_buf_puts(&v, "\xc3\xa9");
    char *doc = fbi_xasprintf(HEAD "kind: Function\nmetadata: {name: f}\nspec:\n  image: x\n"
                              "  env: {BIG: %s}\n", v.data);
    loaded e = load("e.yaml", doc, NULL);
    ASSERT_ERR(e, "/spec/env/BIG", "4200 bytes, more than 4096");
    ASSERT_ERR(e, "/spec/env", "total 4203 bytes");
    unload(&e);
    free(doc);
    fbi_buf_free(&v);
    fbi_buf_init(&v);
    for (int k = 0; k < 2100; k++) fbi_buf_putc(&v, 'v');
    doc = fbi_xasprintf(HEAD "kind: Function\nmetadata: {name: f}\nspec:\n  image: x\n"
                        "  env: {A: %s, B: %s}\n", v.data, v.data);
    loaded e2 = load("e.yaml", doc, NULL);
    ASSERT_ERR(e2, "/spec/env", "total 4202 bytes");
    unload(&e2);
    free(doc);
    fbi_buf_free(&v);

    /* containers: one public http port, ports unique */
    loaded c = load("c.yaml", HEAD "kind: Container\nmetadata: {name: c}\nspec:\n  image: x\n"
                              "  ports: [{port: 80, public: true}, {port: 81, public: true}, "
                              "{port: 80, protocol: tcp}]\n", NULL);
    ASSERT_ERR(c, "/spec/ports/1/public", "more than one public http port");
    ASSERT_ERR(c, "/spec/ports/2/port", "listed twice");
    unload(&c);
}
END_TEST

START_TEST(quantum_language)
{
    make_tmpdir();
    write_tmp("bell.qasm", "// comment\n/* block */\nOPENQASM 2.0;\nqreg q[2];\n");
    write_tmp("none.qasm", "qreg q[2];\n");
    write_tmp("v4.qasm", "OPENQASM 4.0;\n");
    loaded l = load("q.yaml", HEAD "kind: QuantumJob\nmetadata: {name: a}\n"
                              "spec: {program: {file: bell.qasm}, shots: 10, seed: 3, "
                              "deadline: 90s}\n", tmpdir);
    ASSERT_VALID(l);
    const json_t *n = fbi_spec_doc(l.set, 0);
    ck_assert_str_eq(str_of(n, "/spec/language"), "openqasm2");
    ck_assert_str_eq(str_of(n, "/spec/program/source"),
                     "// comment\n/* block */\nOPENQASM 2.0;\nqreg q[2];\n");
    ck_assert_ptr_null(at(n, "/spec/program/file"));
    ck_assert_int_eq(int_of(n, "/spec/deadlineMs"), 90000);
    ck_assert_int_eq(int_of(n, "/spec/seed"), 3);
    unload(&l);
    loaded m = load("q.yaml", HEAD "kind: QuantumJob\nmetadata: {name: a}\n"
                              "spec: {program: {file: bell.qasm}, language: openqasm3}\n", tmpdir);
    ASSERT_ERR(m, "/spec/language", "header says openqasm2");
    unload(&m);
    loaded o = load("q.yaml", HEAD "kind: QuantumJob\nmetadata: {name: a}\n"
                              "spec: {program: {file: none.qasm}}\n", tmpdir);
    ASSERT_ERR(o, "/spec/program/file", "cannot tell the program's language");
    unload(&o);
    loaded p = load("q.yaml", HEAD "kind: QuantumJob\nmetadata: {name: a}\n"
                              "spec: {program: {file: none.qasm}, language: openqasm2}\n", tmpdir);
    ASSERT_VALID(p);
    unload(&p);
    loaded v = load("q.yaml", HEAD "kind: QuantumJob\nmetadata: {name: a}\n"
                              "spec: {program: {file: v4.qasm}}\n", tmpdir);
    ASSERT_ERR(v, "/spec/program/file", "unsupported OpenQASM version");
    unload(&v);
    loaded x = load("q.yaml", HEAD "kind: QuantumJob\nmetadata: {name: a}\n"
                              "spec: {program: {file: missing.qasm}}\n", tmpdir);
    ASSERT_ERR(x, "/spec/program/file", "cannot be read");
    unload(&x);
    loaded y = load("q.yaml", HEAD "kind: QuantumJob\nmetadata: {name: a}\n"
                              "spec: {program: {source: \"OPENQASM 3;\"}, "
                              "placement: {latencySLO: {p50: 1s}}}\n", tmpdir);
    ASSERT_ERR(y, "/spec/placement/latencySLO", "no request latency");
    unload(&y);
    rm_tmpdir();
}
END_TEST

/* ---- federations ---- */

START_TEST(federation_inline_and_files)
{
    make_tmpdir();
    write_tmp("sub/worker.yaml", HEAD "kind: Function\nmetadata: {name: worker}\nspec: {image: w}\n"
                                 "---\n" HEAD "kind: Container\nmetadata: {name: db}\n"
                                 "spec: {image: postgres}\n");
    write_tmp("fed.yaml", HEAD "kind: Federation\nmetadata: {name: app, tenant: acme}\n"
                          "spec:\n  budget: {monthly: \"100.5\"}\n  workloads:\n"
                          "    - {file: sub/worker.yaml}\n"
                          "    - apiVersion: fedbroker.dev/v1\n      kind: Function\n"
                          "      metadata: {name: api}\n"
                          "      spec:\n        image: a\n"
                          "        dependencies: [{workload: db, volumePerMonth: 1Gi}]\n"
                          "  links:\n"
                          "    - {from: api, to: worker, volumePerMonth: 2Gi, latencyBudget: 10ms}\n"
                          "    - {from: api, to: db, volumePerMonth: 1Gi, latencyBudget: 5ms}\n");
    char path[512];
    snprintf(path, sizeof path, "%s/fed.yaml", tmpdir);
    fb_spec_set *s;
    fb_spec_set_new(&s);
    fb_diag *d = fb_diag_new();
    ck_assert_int_eq(fb_spec_set_add_file(s, path, d), FB_OK);
    ck_assert_int_eq(fb_spec_set_finish(s, d), FB_OK);
    ck_assert_uint_eq(fb_spec_count(s), 3);
    for (size_t i = 0; i < 3; i++) ck_assert_str_eq(fb_spec_tenant(s, i), "acme");
    ck_assert_ptr_nonnull(strstr(fb_spec_file(s, 0), "sub/worker.yaml"));
    json_t *feds = json_loads(fb_spec_federations_json(s), 0, NULL);
    ck_assert_uint_eq(json_array_size(feds), 1);
    ck_assert_str_eq(str_of(feds, "/0/name"), "app");
    ck_assert_str_eq(str_of(feds, "/0/tenant"), "acme");
    ck_assert_int_eq(int_of(feds, "/0/budget/monthlyMicroUsd"), 100500000);
    ck_assert_uint_eq(json_array_size(at(feds, "/0/workloads")), 3);
    ck_assert_str_eq(str_of(feds, "/0/workloads/2"), "api");
    ck_assert_uint_eq(strlen(str_of(feds, "/0/specHash")), 64);
    json_decref(feds);
    /* links and dependencies fold per (tenant, from, to) */
    json_t *links = json_loads(fb_spec_links_json(s), 0, NULL);
    ck_assert_uint_eq(json_array_size(links), 2);
    ck_assert_str_eq(str_of(links, "/0/to"), "db");
    ck_assert_int_eq(int_of(links, "/0/volumeBytesPerMonth"), 2LL << 30);
    ck_assert_int_eq(int_of(links, "/0/latencyBudgetMs"), 5);
    ck_assert_str_eq(str_of(links, "/0/tenant"), "acme");
    ck_assert_str_eq(str_of(links, "/1/to"), "worker");
    json_decref(links);
    fb_diag_free(d);
    fb_spec_set_free(s);
    rm_tmpdir();
}
END_TEST

START_TEST(federation_errors)
{
    make_tmpdir();
    write_tmp("a.yaml", HEAD "kind: Federation\nmetadata: {name: a}\n"
                        "spec: {workloads: [{file: b.yaml}]}\n");
    write_tmp("b.yaml", HEAD "kind: Federation\nmetadata: {name: b}\n"
                        "spec: {workloads: [{file: a.yaml}]}\n");
    write_tmp("self.yaml", HEAD "kind: Federation\nmetadata: {name: s}\n"
                           "spec: {workloads: [{file: self.yaml}]}\n");
    char path[512];
    snprintf(path, sizeof path, "%s/a.yaml", tmpdir);
    fb_spec_set *s;
    fb_spec_set_new(&s);
    fb_diag *d = fb_diag_new();
    ck_assert_int_eq(fb_spec_set_add_file(s, path, d), FB_INVALID);
    long i = find_err(d, "/spec/workloads/0/file", "include cycle");
    if (i < 0) fb_diag_print(d, stderr);
    ck_assert_int_ge(i, 0);
    ck_assert_ptr_nonnull(strstr(fb_diag_file(d, (size_t)i), "b.yaml"));
    ck_assert_ptr_nonnull(strstr(fb_diag_detail(d, (size_t)i), "a.yaml -> "));
    fb_diag_free(d);
    d = fb_diag_new();
    snprintf(path, sizeof path, "%s/self.yaml", tmpdir);
    ck_assert_int_eq(fb_spec_set_add_file(s, path, d), FB_INVALID);
    ck_assert_int_ge(find_err(d, "/spec/workloads/0/file", "include cycle"), 0);
    fb_diag_free(d);
    fb_spec_set_free(s);

    /* a chain deeper than the include limit (no cycle) */
    for (int k = 0; k < 12; k++) {
        char name[32], text[256];
        snprintf(name, sizeof name, "chain%d.yaml", k);
        snprintf(text, sizeof text, HEAD "kind: Federation\nmetadata: {name: c%d}\n"
                                         "spec: {workloads: [{file: chain%d.yaml}]}\n", k, k + 1);
        write_tmp(name, text);
    }
    write_tmp("chain12.yaml", FN_MIN);
    snprintf(path, sizeof path, "%s/chain0.yaml", tmpdir);
    fb_spec_set_new(&s);
    d = fb_diag_new();
    ck_assert_int_eq(fb_spec_set_add_file(s, path, d), FB_INVALID);
    ck_assert_int_ge(find_err(d, "/spec/workloads/0/file", "nest deeper than 8"), 0);
    fb_diag_free(d);
    fb_spec_set_free(s);

    /* links to unknown members, self links, duplicates, tenant clash */
    loaded l = load("f.yaml", HEAD "kind: Federation\nmetadata: {name: f, tenant: t}\n"
                              "spec:\n  workloads:\n"
                              "    - {apiVersion: fedbroker.dev/v1, kind: Function, "
                              "metadata: {name: a}, spec: {image: x}}\n"
                              "    - {apiVersion: fedbroker.dev/v1, kind: Function, "
                              "metadata: {name: a}, spec: {image: y}}\n"
                              "    - {apiVersion: fedbroker.dev/v1, kind: Function, "
                              "metadata: {name: b, tenant: other}, spec: {image: y}}\n"
                              "  links: [{from: a, to: zz}, {from: a, to: a}]\n", tmpdir);
    ASSERT_ERR(l, "/spec/workloads/1", "appears twice");
    ASSERT_ERR(l, "/spec/workloads/2/metadata/tenant", "differs from the federation's tenant");
    ASSERT_ERR(l, "/spec/links/0/to", "`zz` is not a workload of federation `f`");
    ASSERT_ERR(l, "/spec/links/1/to", "links to itself");
    /* an inline Federation is refused by the schema */
    loaded n = load("n.yaml", HEAD "kind: Federation\nmetadata: {name: f}\n"
                              "spec: {workloads: [{apiVersion: fedbroker.dev/v1, kind: Federation, "
                              "metadata: {name: g}, spec: {workloads: []}}]}\n", NULL);
    ASSERT_ERR(n, "/spec/workloads/0/kind", "workload kinds");
    /* file references need a base directory */
    loaded r = load("r.yaml", HEAD "kind: Federation\nmetadata: {name: f}\n"
                              "spec: {workloads: [{file: a.yaml}]}\n", NULL);
    ASSERT_ERR(r, "/spec/workloads/0/file", "disabled");
    loaded m = load("m.yaml", HEAD "kind: Federation\nmetadata: {name: f}\n"
                              "spec: {workloads: [{file: missing.yaml}]}\n", tmpdir);
    ASSERT_ERR(m, "/spec/workloads/0/file", "cannot be read");
    unload(&l);
    unload(&n);
    unload(&r);
    unload(&m);
    rm_tmpdir();
}
END_TEST

START_TEST(finish_cross_document)
{
    fb_spec_set *s;
    fb_spec_set_new(&s);
    fb_diag *d = fb_diag_new();
    const char *a = FN_MIN;
    const char *b = HEAD "kind: Container\nmetadata: {name: f}\nspec: {image: y}\n"
                         "---\n" HEAD "kind: Container\nmetadata: {name: f, tenant: other}\n"
                         "spec:\n  image: y\n  dependencies: [{workload: nope}]\n"
                         "  placement: {antiAffinity: [ghost]}\n";
    ck_assert_int_eq(fb_spec_set_add_buffer(s, "a.yaml", a, strlen(a), NULL, d), FB_OK);
    ck_assert_int_eq(fb_spec_set_add_buffer(s, "b.yaml", b, strlen(b), NULL, d), FB_OK);
    ck_assert_int_eq(fb_spec_set_finish(s, d), FB_INVALID);
    long i = find_err(d, "/metadata/name", "defined twice");
    ck_assert_int_ge(i, 0);
    ck_assert_str_eq(fb_diag_file(d, (size_t)i), "b.yaml");
    ck_assert_int_eq(fb_diag_line(d, (size_t)i), 3);
    ck_assert_ptr_nonnull(strstr(fb_diag_detail(d, (size_t)i), "a.yaml:3"));
    i = find_err(d, "/spec/dependencies/0/workload", "`nope` is not a workload of tenant `other`");
    ck_assert_int_ge(i, 0);
    ck_assert_int_eq(fb_diag_line(d, (size_t)i), 11);
    ck_assert_int_ge(find_err(d, "/spec/placement/antiAffinity/0", "ghost"), 0);
    fb_diag_free(d);
    fb_spec_set_free(s);
}
END_TEST

/* ---- the schema loader ---- */

START_TEST(schema_loader)
{
    const char *err = NULL;
    ck_assert_ptr_nonnull(fbi_spec_schema(&err));
    char *e = NULL;
    fbi_schema *s = fbi_schema_new("{\"type\": \"object\", \"format\": \"email\"}", &e);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(e, "format is not supported"));
    free(e);
    s = fbi_schema_new("{\"$ref\": \"#/definitions/a\", \"type\": \"string\", "
                       "\"definitions\": {\"a\": {}}}", &e);
    ck_assert_ptr_null(s);
    free(e);
    s = fbi_schema_new("{\"uniqueItems\": true}", &e); /* unbounded quadratic check */
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(e, "needs maxItems"));
    free(e);
    s = fbi_schema_new("{\"pattern\": \"a(\"}", &e);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(e, "does not compile"));
    free(e);
    s = fbi_schema_new("{\"$ref\": \"#/definitions/missing\"}", &e);
    ck_assert_ptr_null(s);
    free(e);
    /* the validator on a small schema: every error, with pointers */
    s = fbi_schema_new("{\"type\": \"object\", \"additionalProperties\": false,"
                       " \"properties\": {\"n\": {\"type\": \"integer\", \"minimum\": 1},"
                       "  \"l\": {\"type\": \"array\", \"uniqueItems\": true, \"maxItems\": 3},"
                       "  \"m\": {\"type\": \"array\", \"maxItems\": 1},"
                       "  \"o\": {\"anyOf\": [{\"type\": \"string\"}, {\"type\": \"null\"}]},"
                       "  \"x\": {\"oneOf\": [{\"minimum\": 0}, {\"maximum\": 10}]}}}", &e);
    ck_assert_ptr_nonnull(s);
    json_t *inst = json_loads("{\"n\": 0, \"l\": [1, 1.0, 2], \"m\": [1, 2], \"o\": 3, "
                              "\"x\": 5, \"q\": 1}", 0, NULL);
    fbi_schema_errors errs = {0};
    ck_assert_uint_eq(fbi_schema_validate(s, "#", inst, &errs), 6);
    int seen_l1 = 0, seen_l = 0;
    for (size_t i = 0; i < errs.n; i++) {
        if (!strcmp(errs.v[i].pointer, "/l/1")) seen_l1 = 1; /* 1 and 1.0 are equal */
        if (!strcmp(errs.v[i].pointer, "/m")) seen_l = 1;
    }
    ck_assert(seen_l1 && seen_l);
    fbi_schema_errors_free(&errs);
    json_decref(inst);
    inst = json_loads("{\"n\": 2.0, \"o\": null, \"x\": -1}", 0, NULL);
    ck_assert_uint_eq(fbi_schema_validate(s, "#", inst, &errs), 0);
    json_decref(inst);
    fbi_schema_free(s);
}
END_TEST

/* fbi_schema_count_parallel counts what the serial check counts, and a
 * large Federation (its members checked on several threads before the
 * serial pass) is refused with the same messages as a small one. */
START_TEST(schema_count_parallel)
{
    char *e = NULL;
    fbi_schema *s = fbi_schema_new("{\"type\": \"object\", \"properties\": {"
                                   " \"a\": {\"type\": \"array\", \"maxItems\": 90, \"items\":"
                                   "  {\"type\": \"object\", \"required\": [\"n\"], \"properties\": {"
                                   "   \"n\": {\"type\": \"integer\", \"minimum\": 0},"
                                   "   \"l\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}}}}}}}",
                                   &e);
    ck_assert_ptr_nonnull(s);
    json_t *arr = json_array();
    for (int i = 0; i < 100; i++) {
        json_t *o = json_pack("{s:i}", "n", i % 13 == 5 ? -1 : i); /* 8 below the minimum */
        if (i % 17 == 3) json_object_del(o, "n");                  /* 6 without n */
        if (i % 10 == 0) {                                          /* 40 items, 3 not strings */
            json_t *l = json_array();
            for (int k = 0; k < 40; k++)
                json_array_append_new(l, k % 15 == 7 ? json_integer(k) : json_string("x"));
            json_object_set_new(o, "l", l);
        }
        json_array_append_new(arr, o);
    }
    json_t *inst = json_pack("{s:o}", "a", arr);
    size_t serial = fbi_schema_validate(s, "#", inst, NULL);
    ck_assert_uint_gt(serial, 30);
    for (unsigned t = 1; t <= 8; t++) ck_assert_uint_eq(fbi_schema_count_parallel(s, "#", inst, t), serial);
    json_decref(inst);
    inst = json_pack("{s:[]}", "a");
    for (int i = 0; i < 60; i++) json_array_append_new(json_object_get(inst, "a"), json_pack("{s:i}", "n", i));
    ck_assert_uint_eq(fbi_schema_validate(s, "#", inst, NULL), 0);
    ck_assert_uint_eq(fbi_schema_count_parallel(s, "#", inst, 4), 0);
    json_decref(inst);
    fbi_schema_free(s);

    /* a Federation of 40 members: valid, then with one bad member deep inside */
    for (int bad = 0; bad < 2; bad++) {
        fbi_buf b;
        fbi_buf_init(&b);
        fbi_buf_puts(&b, "apiVersion: fedbroker.dev/v1\nkind: Federation\n"
                         "metadata: {name: big, tenant: t}\nspec:\n  workloads:\n");
        for (int i = 0; i < 40; i++)
            fbi_buf_printf(&b, "    - apiVersion: fedbroker.dev/v1\n      kind: Function\n"
                               "      metadata: {name: fn-%02d}\n      spec:\n"
                               "        image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/b:1\n"
                               "        resources: {memory: %s}\n",
                           i, bad && i == 33 ? "[1]" : "256Mi");
        loaded l = load("big.yaml", b.data, NULL);
        if (!bad) {
            if (l.add != FB_OK) dump_diag(l.diag);
            ck_assert_int_eq(l.add, FB_OK);
            ck_assert_uint_eq(fb_spec_count(l.set), 40);
        } else {
            ck_assert_int_eq(l.add, FB_INVALID);
            ASSERT_ERR(l, "/spec/workloads/33/spec/resources/memory", NULL);
            ck_assert_uint_eq(fb_spec_count(l.set), 0);
        }
        unload(&l);
        fbi_buf_free(&b);
    }
}
END_TEST

START_TEST(api_robustness)
{
    fb_spec_set *s;
    fb_spec_set_new(&s);
    fb_diag *d = fb_diag_new();
    ck_assert_int_eq(fb_spec_set_add_buffer(NULL, "x", "a", 1, NULL, d), FB_INVALID);
    ck_assert_int_eq(fb_spec_set_add_buffer(s, NULL, NULL, 0, NULL, d), FB_INVALID);
    ck_assert_int_eq(fb_spec_set_add_file(s, "/nonexistent/spec.yaml", d), FB_INVALID);
    ck_assert_int_eq(fb_spec_set_add_file(s, "/", d), FB_INVALID);
    ck_assert_ptr_null(fb_spec_json(s, 0));
    ck_assert_ptr_null(fb_spec_name(NULL, 0));
    ck_assert_ptr_null(fbi_spec_doc(s, 3));
    ck_assert_uint_eq(fb_spec_count(NULL), 0);
    ck_assert_str_eq(fb_spec_links_json(s), "[]");
    ck_assert_str_eq(fb_spec_federations_json(s), "[]");
    ck_assert_int_eq(fb_spec_set_finish(s, d), FB_OK);
    fb_diag_free(d);
    fb_spec_set_free(s);
    fb_spec_set_free(NULL);
}
END_TEST

/* Hostile inputs, each refused (or accepted) cleanly. The fuzzer
 * (tests/fuzz/fuzz_spec.c) found no crasher in 23 minutes and 2.47 million
 * runs; these are hand-written edge cases of the same kind, and where a
 * fuzzer crasher is ever found it is added here. */
#define E(name, text) {name, text, sizeof text - 1}
static const struct { const char *name; const char *data; size_t len; } fuzz_regressions[] = {
    E("empty.yaml", ""),
    E("empty.json", ""),
    E("bom.json", "\xEF\xBB\xBF"),
    E("recursive-alias.yaml", "&a [*a]\n"),
    E("alias-to-open-anchor.yaml", "a: &x\n  b: *x\n"),
    E("alias-only.yaml", "*x\n"),
    E("empty-docs.yaml", "---\n---\n...\n"),
    E("unclosed.yaml", "["),
    E("unclosed.json", "{\"a\":"),
    E("tag-only.yaml", "!!str"),
    E("key-no-value.yaml", "? a\n"),
    E("big-tagged-int.yaml", "a: !!int 99999999999999999999\n"),
    E("bad-tagged-float.yaml", "a: !!float abc\n"),
    E("null-key.yaml", "~: a\nnull: b\n"),
    E("nul-escape.yaml", "a: \"x\\0y\"\n"),
    E("nul-escape.json", "{\"a\": \"x\\u0000y\"}"),
    E("lone-surrogate.json", "{\"\\ud800\": 1}"),
    E("deep-alias.yaml", "a: &d {b: {c: {d: {e: {f: {g: {h: {i: {j: {k: {l: {m: {n: {o: {p: 1}}}}}}}}}}}}}}}\n"
                         "x: {b: {c: {d: {e: {f: {g: {h: {i: {j: {k: {l: {m: {n: {o: {p: *d}}}}}}}}}}}}}}}\n"),
    E("fed-null-base.yaml", "apiVersion: fedbroker.dev/v1\nkind: Federation\nmetadata: {name: f}\n"
                            "spec: {workloads: [{file: /etc/passwd}, {file: ../x.yaml}],\n"
                            "       links: [{from: a, to: b}]}\n"),
    E("fed-code-null-base.json", "[{\"apiVersion\": \"fedbroker.dev/v1\", \"kind\": \"Function\", "
                                 "\"metadata\": {\"name\": \"f\"}, \"spec\": {\"runtime\": "
                                 "\"python3.12\", \"handler\": \"a.b\", \"code\": {\"path\": \"/\"}}}]"),
    E("numbers.yaml", "a: [0x, 0o, 1e, .5, -.5e-3, +1, 0o777777777777777777777777, 1e999]\n"),
    E("self-link.yaml", "apiVersion: fedbroker.dev/v1\nkind: Function\nmetadata: {name: f}\n"
                        "spec: {image: x, dependencies: [{workload: f}],\n"
                        "       placement: {affinity: [f], antiAffinity: [f]}}\n"),
};
#undef E

START_TEST(fuzz_regression)
{
    for (size_t i = 0; i < sizeof fuzz_regressions / sizeof *fuzz_regressions; i++) {
        fb_spec_set *s;
        fb_spec_set_new(&s);
        fb_diag *d = fb_diag_new();
        fb_status st = fb_spec_set_add_buffer(s, fuzz_regressions[i].name,
                                              fuzz_regressions[i].data, fuzz_regressions[i].len,
                                              NULL, d);
        fb_spec_set_finish(s, d);
        /* none of these is a valid spec: each is refused with a message */
        ck_assert_msg(st == FB_INVALID && fb_diag_errors(d) > 0, "%s was not refused",
                      fuzz_regressions[i].name);
        for (size_t k = 0; k < fb_diag_count(d); k++)
            ck_assert_ptr_nonnull(fb_diag_summary(d, k));
        fb_spec_links_json(s);
        fb_spec_federations_json(s);
        fb_diag_free(d);
        fb_spec_set_free(s);
    }
}
END_TEST

/* Every example in examples/ is valid (srcdir from the test harness). */
START_TEST(examples_valid)
{
    const char *srcdir = getenv("srcdir");
    if (!srcdir) srcdir = ".";
    static const char *const files[] = {"function.yaml", "container.yaml", "quantum-bell.yaml",
                                        "federation.yaml", "shop-worker.yaml", "thumbnailer.json"};
    fb_spec_set *s;
    fb_spec_set_new(&s);
    fb_diag *d = fb_diag_new();
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/examples/%s", srcdir, files[i]);
        fb_status st = fb_spec_set_add_file(s, path, d);
        if (st != FB_OK) fb_diag_print(d, stderr);
        ck_assert_int_eq(st, FB_OK);
    }
    ck_assert_int_eq(fb_spec_set_finish(s, d), FB_OK);
    /* shop-worker.yaml is also a member of federation.yaml: one file
     * reached twice is one workload, the federation's (issue 12) */
    ck_assert_uint_eq(fb_spec_count(s), 8);
    /* the Bell program was inlined and its language detected */
    for (size_t i = 0; i < fb_spec_count(s); i++) {
        if (strcmp(fb_spec_name(s, i), "bell-pair")) continue;
        ck_assert_str_eq(str_of(fbi_spec_doc(s, i), "/spec/language"), "openqasm2");
        ck_assert_ptr_nonnull(strstr(str_of(fbi_spec_doc(s, i), "/spec/program/source"),
                                     "cx q[0],q[1];"));
    }
    fb_diag_free(d);
    fb_spec_set_free(s);
}
END_TEST

static Suite *spec_suite(void)
{
    Suite *s = suite_create("spec");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, units, 0, (int)(sizeof ucases / sizeof *ucases));
    tcase_add_test(tc, normal_form_defaults_function);
    tcase_add_test(tc, spec_text_is_the_hashed_text);
    tcase_add_test(tc, normal_form_defaults_container_quantum);
    tcase_add_test(tc, normal_form_units);
    tcase_add_test(tc, hash_stability_and_sensitivity);
    tcase_add_test(tc, code_path_hash);
    tcase_add_test(tc, kept_texts_are_the_spec_texts);
    tcase_add_test(tc, path_confinement);
    tcase_add_test(tc, program_check);
    tcase_add_test(tc, yaml_line_numbers);
    tcase_add_test(tc, yaml_core_schema);
    tcase_add_test(tc, yaml_refusals);
    tcase_add_test(tc, yaml_alias_bomb);
    tcase_add_test(tc, multi_document);
    tcase_add_test(tc, equal_specs_shared);
    tcase_add_test(tc, equal_parts_shared);
    tcase_add_test(tc, limit_file_size);
    tcase_add_test(tc, limit_depth);
    tcase_add_test(tc, limit_string_and_source);
    tcase_add_test(tc, limit_documents);
    tcase_add_test(tc, limit_values);
    tcase_add_test(tc, location_map);
    tcase_add_test(tc, limit_workloads);
    tcase_add_test(tc, limit_total_bytes);
    tcase_add_test(tc, documented_defaults);
    tcase_add_test(tc, invalid_utf8);
    tcase_add_test(tc, json_syntax_and_duplicates);
    tcase_add_test(tc, did_you_mean);
    tcase_add_test(tc, all_errors_reported);
    tcase_add_test(tc, name_rules_name_providers);
    tcase_add_test(tc, many_documents_checked_in_parallel);
    tcase_add_test(tc, semantic_rules);
    tcase_add_test(tc, quantum_language);
    tcase_add_test(tc, federation_inline_and_files);
    tcase_add_test(tc, federation_errors);
    tcase_add_test(tc, finish_cross_document);
    tcase_add_test(tc, schema_loader);
    tcase_add_test(tc, api_robustness);
    tcase_add_test(tc, schema_count_parallel);
    tcase_add_test(tc, fuzz_regression);
    tcase_add_test(tc, examples_valid);
    suite_add_tcase(s, tc);
    /* the limits at their edges write a 256 MiB sparse file and 20,000
     * entries: minutes under the sanitizers on a loaded machine */
    TCase *edges = tcase_create("edges");
    tcase_set_timeout(edges, 600);
    tcase_add_test(edges, limits_at_their_edges);
    suite_add_tcase(s, edges);
    return s;
}

int main(void)
{
    return fbt_run(spec_suite());
}
