/* probe.c - health probes: GET the spec's healthCheck path on each public
 * endpoint through the host's HTTP service (its limits, TLS trust and
 * logging), a bounded number at once, with exponential backoff for
 * endpoints that keep failing so a dead region is not hammered. */
#include "config.h"
#include "discovery/discovery.h"
#include "base/util.h"
#include "broker/fanout.h"
#include "spec/spec.h"
#include "state/state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *jstr(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

/* The workload spec's "spec" member (the stored text is the whole
 * document), or the object itself. borrowed. */
static const json_t *spec_body(const json_t *row)
{
    const json_t *doc = json_object_get(row, "spec");
    const json_t *inner = json_object_get(doc, "spec");
    return inner ? inner : doc;
}

/* Public unless the spec says every way in is private: http triggers or
 * service ports, none of them public (the schema's default is false). */
static int is_public(const json_t *spec)
{
    int seen = 0;
    size_t i;
    const json_t *t;
    json_array_foreach(json_object_get(spec, "triggers"), i, t) {
        const json_t *h = json_object_get(t, "http");
        if (!h) continue;
        seen = 1;
        if (json_is_true(json_object_get(h, "public"))) return 1;
    }
    json_array_foreach(json_object_get(spec, "ports"), i, t) {
        seen = 1;
        if (json_is_true(json_object_get(t, "public"))) return 1;
    }
    return !seen;
}

static int64_t duration_s(const json_t *hc, const char *key, int64_t dflt_ms)
{
    const char *v = json_string_value(json_object_get(hc, key));
    int64_t ms = dflt_ms;
    char *err = NULL;
    if (v && fbi_parse_duration(v, &ms, &err) != 0) {
        free(err);
        ms = dflt_ms;
    }
    return ms;
}

typedef struct probe {
    fbi_endpoint_key key;
    char *url;           /* what is fetched: the endpoint URL + the health path */
    char *server_name;   /* with connect_to: the URL's host, kept as the TLS name */
    char *fetch_url;     /* with connect_to: the URL aimed at connect_to */
    int64_t period_s, threshold, failures;
    long status;
    int ok;
    char *detail;        /* new */
} probe;

typedef struct probe_run {
    probe *p;
    const fbi_probe_opts *o;
} probe_run;

static char *join_path(const char *url, const char *path)
{
    size_t n = strlen(url);
    if (n && url[n - 1] == '/' && path[0] == '/') path++;
    return fbi_xasprintf("%s%s", url, path);
}

/* connect_to "ADDR:PORT": the URL's scheme and path with ADDR:PORT as
 * authority; the real host becomes the TLS server name (https) or the
 * Host header (http). -1 when url has no scheme://host. */
static int aim(probe *p, const char *connect_to)
{
    const char *sep = strstr(p->url, "://");
    if (!sep) return -1;
    const char *host = sep + 3, *end = host + strcspn(host, "/?#");
    const char *colon = memchr(host, ':', (size_t)(end - host));
    size_t hl = (size_t)((colon ? colon : end) - host);
    if (hl == 0) return -1;
    p->server_name = fbi_xasprintf("%.*s", (int)hl, host);
    p->fetch_url = fbi_xasprintf("%.*s%s%s", (int)(host - p->url), p->url, connect_to, end);
    return 0;
}

static fb_status probe_one(void *ud, size_t i)
{
    probe_run *run = ud;
    probe *p = &run->p[i];
    fb_diag *d = fb_diag_new();
    fb_http_header hdr[2];
    size_t nh = 0;
    hdr[nh++] = (fb_http_header){"Accept", "*/*"};
    char *host_hdr = NULL;
    fb_http_request req = {.struct_size = sizeof req, .method = "GET",
                           .url = p->fetch_url ? p->fetch_url : p->url, .headers = hdr,
                           .service = "health-probe"};
    if (p->server_name) {
        if (strncmp(p->url, "https:", 6) == 0) {
            req.tls_server_name = p->server_name;
        } else {
            host_hdr = fbi_xstrdup(p->server_name);
            hdr[nh++] = (fb_http_header){"Host", host_hdr};
        }
    }
    req.n_headers = nh;
    fb_http_response resp;
    fb_status st = fbi_http_client_perform(run->o->http, d, &req, &resp);
    if (st == FB_OK) {
        p->status = resp.status;
        p->ok = resp.status >= 200 && resp.status < 400;
        p->detail = fbi_xasprintf("GET %s: HTTP %ld", p->url, resp.status);
        fbi_http_free(&resp);
    } else {
        const char *why = fb_diag_count(d) ? fb_diag_summary(d, 0) : NULL;
        p->detail = fbi_xasprintf("GET %s: %s", p->url, why ? why : fbi_status_name(st));
    }
    free(host_hdr);
    fb_diag_free(d);
    return FB_OK; /* a failing endpoint is a result */
}

fb_status fbi_discovery_probe(fb_store *s, const fbi_probe_opts *o, json_t **results,
                              fb_diag *diag)
{
    *results = json_array();
    char *text = NULL;
    fb_status st = fbi_store_endpoint_rows(s, o->tenant, NULL, &text, diag);
    if (st != FB_OK) return st;
    json_t *rows = json_loads(text, 0, NULL);
    free(text);
    size_t n = 0, i;
    json_t *r;
    probe *p = fbi_xcalloc(json_array_size(rows) + 1, sizeof *p);
    json_array_foreach(rows, i, r) {
        const char *proto = jstr(r, "protocol");
        if (strcmp(jstr(r, "kind"), "url") || (strcmp(proto, "http") && strcmp(proto, "https")))
            continue;
        const json_t *spec = spec_body(r);
        if (!is_public(spec)) continue; /* observe's to judge */
        /* an in-cluster address the broker cannot reach: its source's
         * conditions are its health */
        if (json_is_true(json_object_get(r, "private"))) continue;
        if (!o->force && json_integer_value(json_object_get(r, "next_probe_at")) > o->now) continue;
        const json_t *hc = json_object_get(spec, "healthCheck");
        const char *path = json_string_value(json_object_get(hc, "path"));
        probe *q = &p[n++];
        q->key = (fbi_endpoint_key){jstr(r, "tenant"), jstr(r, "workload"), jstr(r, "provider"),
                                    jstr(r, "region"), jstr(r, "instance")};
        q->url = join_path(jstr(r, "url"), path && *path ? path : "/");
        q->period_s = (duration_s(hc, "period", 10000) + 999) / 1000;
        if (q->period_s < 1) q->period_s = 1;
        json_int_t th = json_integer_value(json_object_get(hc, "failureThreshold"));
        q->threshold = th > 0 ? th : 3;
        q->failures = json_integer_value(json_object_get(r, "failures"));
        /* a URL aim cannot parse is probed as it is (and fails as it would) */
        if (o->connect_to) (void)aim(q, o->connect_to);
    }
    probe_run run = {p, o};
    /* bounded: a federation of hundreds of endpoints never opens hundreds
     * of connections at once */
    fbi_fanout(n, o->parallelism ? o->parallelism : 8, probe_one, &run, NULL);
    int64_t cap = o->max_backoff_s > 0 ? o->max_backoff_s : 300;
    for (i = 0; i < n && st == FB_OK; i++) {
        probe *q = &p[i];
        const char *health;
        int64_t fails, next;
        if (q->ok) {
            health = "passing";
            fails = 0;
            next = o->now + q->period_s;
        } else {
            fails = q->failures + 1;
            health = fails >= q->threshold ? "critical" : "warning";
            /* backoff: period x 2^(failures-1), at most cap */
            int64_t wait = q->period_s;
            for (int64_t k = 1; k < fails && wait < cap; k++) wait *= 2;
            if (wait > cap) wait = cap;
            next = o->now + wait;
        }
        st = fbi_store_set_endpoint_health(s, &q->key, health, q->detail, fails, o->now, next, diag);
        json_array_append_new(*results, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s?,s:I,s:I}",
            "tenant", q->key.tenant, "workload", q->key.workload, "provider", q->key.provider,
            "region", q->key.region, "url", q->url, "health", health, "detail", q->detail,
            "failures", (json_int_t)fails, "next_probe_at", (json_int_t)next));
    }
    for (i = 0; i < n; i++) {
        free(p[i].url);
        free(p[i].server_name);
        free(p[i].fetch_url);
        free(p[i].detail);
    }
    free(p);
    json_decref(rows);
    return st;
}
