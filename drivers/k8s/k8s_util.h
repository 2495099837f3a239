/*
 * k8s_util.h - small helpers the gcp and k8s drivers share: reading the
 * verb input, diagnostics, the workload's normal form, exact decimals.
 *
 * k8s_util.c is compiled into each driver module (drivers/gcp/gcp.la and
 * drivers/k8s/k8s.la); with -fvisibility=hidden nothing here is exported,
 * so each module stays self-contained. Prefix: k8s_.
 */
#ifndef FB_DRIVERS_K8S_UTIL_H
#define FB_DRIVERS_K8S_UTIL_H

#include <stdarg.h>
#include <stddef.h>

#include <jansson.h>
#include <fedbroker/driver.h>

#if defined(__GNUC__)
#define K8S_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define K8S_PRINTF(a, b)
#endif

/* Exact arithmetic for billing quantities: 128-bit unsigned integers. */
__extension__ typedef unsigned __int128 k8s_u128;

/* Seconds in the 730-hour month the cost model uses. */
#define K8S_MONTH_HOURS 730
#define K8S_MONTH_SECONDS (730LL * 3600LL)

/* A checker: where diagnostics go and how many errors were added. */
typedef struct k8s_ck {
    const fb_host *host;  /* borrowed */
    fb_diag *diag;        /* borrowed */
    const char *drv;      /* driver name, prefixed to every summary */
    int errors;
    int quiet;            /* count errors but add nothing to diag */
} k8s_ck;

/* Adds an error (counted), a warning or a note. pointer: a JSON pointer
 * into the workload or NULL; detail: what to do (may be NULL). All strings
 * are copied by the host. */
void k8s_err(k8s_ck *ck, const char *pointer, const char *detail, const char *fmt, ...)
    K8S_PRINTF(4, 5);
void k8s_warn(k8s_ck *ck, const char *pointer, const char *detail, const char *fmt, ...)
    K8S_PRINTF(4, 5);
void k8s_note(k8s_ck *ck, const char *pointer, const char *detail, const char *fmt, ...)
    K8S_PRINTF(4, 5);

/* Parses a verb's input, which must be a JSON object. new, or NULL with an
 * error diagnostic. */
json_t *k8s_parse_input(k8s_ck *ck, const char *in_json);

/* Serialises j (compact, sorted keys: deterministic) into a host->alloc
 * buffer in *out. Steals j. */
fb_status k8s_emit(k8s_ck *ck, json_t *j, char **out);

/* The fields of a workload's normal form (docs/spec.md) the drivers read.
 * Every pointer is borrowed from the input document. */
typedef struct k8s_wl {
    json_t *doc;              /* the workload object */
    json_t *spec, *metadata;
    const char *kind;         /* "Function" | "Container" */
    const char *name, *tenant, *hash;
    const char *image;        /* NULL when absent */
    const char *runtime, *handler;
    const char *arch;         /* "x86_64" | "arm64" */
    json_t *code;             /* spec.code or NULL */
    long long cpu_m, mem_mib, eph_mib;
    long long min_i, max_i;
    long long target_conc;    /* 0 when unset */
    long long target_rps;     /* 0 when unset */
    int scale_to_zero;
    long long timeout_ms;
    long long req_pm, dur_ms, conc_pi; /* traffic; conc_pi >= 1 */
    int has_gpu;
    json_t *ports;            /* Container ports (array) or NULL */
    json_t *triggers;         /* array or NULL */
    json_t *health;           /* healthCheck object or NULL */
    json_t *env;              /* object or NULL */
    json_t *secrets;          /* array or NULL */
    json_t *labels;           /* metadata.labels or NULL */
    int public_http;          /* a public http trigger or a public http port */
    int http_trigger;         /* a Function has an http trigger */
    int queue_triggers, schedule_triggers;
} k8s_wl;

/* Reads in.workload into *wl. Reports a missing or malformed workload (not
 * an object, no kind/name/spec, a kind other than Function or Container)
 * as errors on ck and returns -1; 0 when it can be used. */
int k8s_wl_load(k8s_wl *wl, json_t *in, k8s_ck *ck);

/* The placement's service and region (borrowed; NULL when absent). */
const char *k8s_placement_str(json_t *in, const char *key);

/* Integer member of an object, or dflt when absent or not an integer. */
long long k8s_int(json_t *obj, const char *key, long long dflt);

/* Object keys sorted bytewise (deterministic iteration). *n gets the
 * count. new array (free()); the strings are borrowed from obj. */
const char **k8s_sorted_keys(json_t *obj, size_t *n);

/* num/den as a decimal string. Exact when the reduced denominator has no
 * prime factor other than 2 and 5; otherwise rounded up at 9 decimals and
 * *inexact set to 1. new (malloc). den must be non-zero. */
char *k8s_decimal(k8s_u128 num, k8s_u128 den, int *inexact);

/* Millicores as a decimal number of cores: 250 -> "0.25", 2000 -> "2".
 * Writes into buf. */
void k8s_cores(long long millis, char *buf, size_t n);

/* Kubernetes quantities: 250 -> "250m", 2000 -> "2"; MiB -> "512Mi". */
void k8s_cpu_quantity(long long millis, char *buf, size_t n);
void k8s_mib_quantity(long long mib, char *buf, size_t n);

/* 1 when s matches ^[a-z]([-a-z0-9]*[a-z0-9])?$ and is at most max long. */
int k8s_dns1035(const char *s, size_t max);

/* Ceiling of ms / 1000 (seconds), at least min_s. */
long long k8s_ceil_seconds(long long ms, long long min_s);

/* A secret reference split into its scheme ("aws-sm", "gcp-sm", "k8s",
 * "vault") and the rest. Returns 0, or -1 when ref has no "scheme://". */
int k8s_ref_scheme(const char *ref, char *scheme, size_t n, const char **rest);

#endif
