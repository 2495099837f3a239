/* k8s_api.c - how the k8s driver talks to the API server: one request with
 * the kubeconfig's credentials (bearer token, client certificate, CA, all
 * through the host's HTTP service), Status answers mapped to fb_status,
 * REST paths, and API discovery (/apis) read once. */
#include "config.h"
#include "k8s.h"
#include "base/jsonread.h"
#include "base/jsonwrite.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void k8s_res_clear(k8s_res *r)
{
    json_decref(r->body);
    free(r->message);
    free(r->reason);
    memset(r, 0, sizeof *r);
}

/* HTTP status -> fb_status. 429 and 5xx were retried by the host already
 * (for the requests that may be). */
static fb_status map_status(long http)
{
    if (http >= 200 && http < 300) return FB_OK;
    if (http == 404 || http == 410) return FB_NOTFOUND;
    if (http == 409) return FB_CONFLICT;
    if (http == 401 || http == 403) return FB_AUTH;
    if (http == 429 || http >= 500) return FB_RETRYABLE;
    return FB_INVALID;
}

/* The plural resource name of a kind (the API's REST name). */
static void plural_of(const char *kind, char *out, size_t n)
{
    size_t k = 0;
    for (const char *p = kind; *p && k + 4 < n; p++) out[k++] = (char)tolower((unsigned char)*p);
    out[k] = '\0';
    if (k && out[k - 1] == 'y') snprintf(out + k - 1, n - k + 1, "ies");
    else if (k && out[k - 1] == 's') snprintf(out + k, n - k, "es");
    else snprintf(out + k, n - k, "s");
}

char *k8s_path(const char *api, const char *kind, const char *ns, const char *name)
{
    char plural[96];
    plural_of(kind, plural, sizeof plural);
    fbk_buf b;
    fbk_buf_init(&b);
    fbk_buf_printf(&b, "%s/%s", strchr(api, '/') ? "/apis" : "/api", api);
    if (ns) fbk_buf_printf(&b, "/namespaces/%s", ns);
    fbk_buf_printf(&b, "/%s", plural);
    if (name) fbk_buf_printf(&b, "/%s", name);
    return fbk_buf_steal(&b);
}

static void take_answer(fb_diag *diag, int body_unused, fb_http_response *resp, k8s_res *res);

/* The credential of a request: the bearer token and its Authorization
 * value, or the client certificate and key (each new or NULL). */
typedef struct k8s_cred {
    char *token, *authz, *cert, *key;
} k8s_cred;

static fb_status cred_get(fb_driver_ctx *ctx, fb_diag *diag, int refresh, k8s_cred *cr)
{
    memset(cr, 0, sizeof *cr);
    fb_status st = k8s_auth(ctx->conn, diag, refresh, &cr->token, &cr->cert, &cr->key);
    if (st == FB_OK && cr->token) cr->authz = fbk_xasprintf("Bearer %s", cr->token);
    return st;
}

static void cred_free(k8s_cred *cr)
{
    fbk_free_secret(cr->authz);
    fbk_free_secret(cr->token);
    free(cr->cert);
    fbk_free_secret(cr->key);
    memset(cr, 0, sizeof *cr);
}

/* A request to the cluster (all borrowed: url, body, cr; h and secrets
 * are the request's arrays, filled here). The host redacts the secrets
 * wherever it shows the request (dry run, logs). */
static void fill_request(fb_http_request *rq, fb_http_header h[3], const char *secrets[3], const k8s_conn *c,
                         const char *method, const char *url, const char *body, const char *ctype, uint32_t flags,
                         const char *body_secret, const k8s_cred *cr)
{
    size_t nh = 0, ns = 0;
    h[nh++] = (fb_http_header){"Accept", "application/json"};
    if (body) h[nh++] = (fb_http_header){"Content-Type", ctype ? ctype : "application/json"};
    if (cr->authz) h[nh++] = (fb_http_header){"Authorization", cr->authz};
    if (cr->token) secrets[ns++] = cr->token;
    if (cr->authz) secrets[ns++] = cr->authz;
    if (body_secret) secrets[ns++] = body_secret;
    *rq = (fb_http_request){.struct_size = sizeof *rq, .method = method, .url = url, .headers = h, .n_headers = nh,
                            .body = body, .body_len = body ? strlen(body) : 0, .flags = flags,
                            .service = "kubernetes", .secrets = secrets, .n_secrets = ns,
                            .tls_ca_pem = c->ca_pem, .tls_cert_pem = cr->cert, .tls_key_pem = cr->key,
                            .tls_server_name = c->tls_server_name, .proxy_url = c->proxy_url,
                            .tls_flags = c->insecure ? FB_TLS_INSECURE : 0};
}

/* The URL of path and query on ctx's cluster (new). */
static char *request_url(const fb_driver_ctx *ctx, const char *path, const char *query)
{
    fbk_buf url;
    fbk_buf_init(&url);
    fbk_buf_printf(&url, "%s%s", ctx->conn->server, path);
    if (query && *query) fbk_buf_printf(&url, "?%s", query);
    return fbk_buf_steal(&url);
}

/* FB_OK when ctx has a cluster; otherwise FB_AUTH with a diagnostic
 * naming what (the request) could not be sent. */
static fb_status need_cluster(fb_driver_ctx *ctx, fb_diag *diag, const char *what)
{
    if (ctx->conn) return FB_OK;
    char *m = fbk_xasprintf("k8s: %s: no cluster to talk to: %s", what, ctx->conn_error);
    k8s_host->diag_add(diag, FB_SEV_ERROR, m, "set drivers.k8s.kubeconfig or KUBECONFIG", NULL);
    free(m);
    return FB_AUTH;
}

/* One attempt with the current credential. */
static fb_status send_once(fb_driver_ctx *ctx, fb_diag *diag, int refresh, const char *method, const char *url,
                           const char *body, const char *ctype, uint32_t flags, const char *body_secret,
                           fb_http_response *resp)
{
    k8s_cred cr;
    fb_status st = cred_get(ctx, diag, refresh, &cr);
    if (st != FB_OK) return st;
    fb_http_header h[3];
    const char *secrets[3];
    fb_http_request req;
    fill_request(&req, h, secrets, ctx->conn, method, url, body, ctype, flags, body_secret, &cr);
    st = k8s_host->http(diag, &req, resp);
    cred_free(&cr);
    return st;
}

fb_status k8s_call(fb_driver_ctx *ctx, fb_diag *diag, const char *what, const char *method, const char *path,
                   const char *query, const json_t *body, const char *ctype, uint32_t flags, k8s_res *res)
{
    return k8s_call_secret(ctx, diag, what, method, path, query, body, ctype, flags, NULL, res);
}

fb_status k8s_call_secret(fb_driver_ctx *ctx, fb_diag *diag, const char *what, const char *method, const char *path,
                          const char *query, const json_t *body, const char *ctype, uint32_t flags,
                          const char *body_secret, k8s_res *res)
{
    memset(res, 0, sizeof *res);
    int body_unused = (flags & K8S_BODY_UNUSED) != 0;
    flags &= ~K8S_BODY_UNUSED;
    fb_status st = need_cluster(ctx, diag, what);
    if (st != FB_OK) return st;
    char *url = request_url(ctx, path, query);
    /* compact and sorted: the same request is the same bytes (dry runs
     * compare byte for byte) */
    char *text = body ? fbi_json_write(body, FBI_JSON_WRITE_SORT) : NULL;
    fb_http_response resp;
    memset(&resp, 0, sizeof resp);
    st = send_once(ctx, diag, 0, method, url, text, ctype, flags, body_secret, &resp);
    if (st == FB_OK && resp.status == 401 && ctx->conn->exec_command) {
        /* kubectl's rule: a 401 means the cached exec credential is
         * stale; run the plugin again and retry once */
        k8s_host->http_free(&resp);
        st = send_once(ctx, diag, 1, method, url, text, ctype, flags, body_secret, &resp);
    }
    free(text);
    free(url);
    if (st != FB_OK) return st;
    take_answer(diag, body_unused, &resp, res);
    return FB_OK;
}

/* res from resp (released here): status, parsed body, a Status's message. */
static void take_answer(fb_diag *diag, int body_unused, fb_http_response *resp, k8s_res *res)
{
    res->status = resp->status;
    if (resp->body_len && !(body_unused && map_status(resp->status) == FB_OK))
        res->body = fbi_json_read(resp->body, resp->body_len, 0, NULL);
    k8s_host->http_free(resp);
    if (k8s_host->dry_run(diag) && res->status == 0) return;
    res->err = map_status(res->status);
    if (res->err != FB_OK) {
        const char *kind = json_string_value(json_object_get(res->body, "kind"));
        if (kind && !strcmp(kind, "Status")) {
            const char *m = json_string_value(json_object_get(res->body, "message"));
            const char *r = json_string_value(json_object_get(res->body, "reason"));
            if (m) res->message = fbk_xstrdup(m);
            if (r) res->reason = fbk_xstrdup(r);
        }
    }
}

int k8s_can_batch(void)
{
    return k8s_host->abi_minor >= 4 && FB_HOST_HAS(k8s_host, http_many);
}

fb_status k8s_call_many(fb_driver_ctx *ctx, fb_diag *diag, const k8s_req *reqs, size_t n, fb_status *sts,
                        k8s_res *res)
{
    memset(res, 0, n * sizeof *res);
    fb_status st = need_cluster(ctx, diag, n ? reqs[0].what : "apply");
    if (st != FB_OK) return st;
    k8s_cred cr;
    st = cred_get(ctx, diag, 0, &cr);
    if (st != FB_OK) return st;
    /* per request: its URL, body text, headers, secrets and the request */
    char **urls = fbk_xcalloc(n, sizeof *urls), **texts = fbk_xcalloc(n, sizeof *texts);
    fb_http_header(*h)[3] = fbk_xcalloc(n, sizeof *h);
    const char *(*secrets)[3] = fbk_xcalloc(n, sizeof *secrets);
    fb_http_request *rq = fbk_xcalloc(n, sizeof *rq);
    const fb_http_request **rp = fbk_xcalloc(n, sizeof *rp);
    fb_http_response *resps = fbk_xcalloc(n, sizeof *resps);
    for (size_t i = 0; i < n; i++) {
        const k8s_req *q = &reqs[i];
        urls[i] = request_url(ctx, q->path, q->query);
        /* compact and sorted, as k8s_call_secret sends it */
        texts[i] = q->body ? fbi_json_write(q->body, FBI_JSON_WRITE_SORT) : NULL;
        fill_request(&rq[i], h[i], secrets[i], ctx->conn, q->method, urls[i], texts[i], q->ctype,
                     q->flags & ~K8S_BODY_UNUSED, q->body_secret, &cr);
        rp[i] = &rq[i];
    }
    st = k8s_host->http_many(diag, rp, n, resps, sts);
    cred_free(&cr);
    for (size_t i = 0; st == FB_OK && i < n; i++) {
        const k8s_req *q = &reqs[i];
        if (sts[i] == FB_OK && resps[i].status == 401 && ctx->conn->exec_command) {
            /* kubectl's rule, as k8s_call_secret: the cached exec
             * credential is stale; this one again with a fresh one */
            k8s_host->http_free(&resps[i]);
            sts[i] = send_once(ctx, diag, 1, q->method, urls[i], texts[i], q->ctype, q->flags & ~K8S_BODY_UNUSED,
                               q->body_secret, &resps[i]);
        }
        if (sts[i] == FB_OK) take_answer(diag, (q->flags & K8S_BODY_UNUSED) != 0, &resps[i], &res[i]);
    }
    for (size_t i = 0; i < n; i++) {
        free(urls[i]);
        free(texts[i]);
    }
    free(urls);
    free(texts);
    free(h);
    free(secrets);
    free(rq);
    free(rp);
    free(resps);
    return st;
}

fb_status k8s_fail(fb_diag *diag, const char *what, const k8s_res *res, const char *hint)
{
    if (!hint) {
        switch (res->err) {
        case FB_AUTH:
            hint = res->status == 401 ? "the cluster refused the credentials: check the kubeconfig's user (an "
                                        "expired token or certificate?)"
                                      : "the user lacks RBAC permission for this: grant it (kubectl auth can-i)";
            break;
        case FB_RETRYABLE: hint = "the API server is overloaded or failing; try again later"; break;
        case FB_NOTFOUND: hint = "it does not exist (any more)"; break;
        case FB_CONFLICT: hint = "another client changed it; run apply again"; break;
        default: hint = "the API server refused the object; fix the spec as the message says"; break;
        }
    }
    char *m = fbk_xasprintf("k8s: %s failed: HTTP %ld%s%s%s%s", what, res->status, res->reason ? " " : "",
                            res->reason ? res->reason : "", res->message ? ": " : "",
                            res->message ? res->message : "");
    k8s_host->diag_add(diag, FB_SEV_ERROR, m, hint, NULL);
    free(m);
    return res->err ? res->err : FB_INTERNAL;
}

fb_status k8s_discover_apis(fb_driver_ctx *ctx, fb_diag *diag)
{
    pthread_mutex_lock(&ctx->disc_mu);
    fb_status st = FB_OK;
    if (!ctx->discovered) {
        k8s_res r;
        st = k8s_call(ctx, diag, "API discovery (GET /apis)", "GET", "/apis", NULL, NULL, NULL, FB_HTTP_READ_ONLY | FB_HTTP_IDEMPOTENT,
                      &r);
        if (st == FB_OK && r.err != FB_OK) st = k8s_fail(diag, "API discovery (GET /apis)", &r, NULL);
        if (st == FB_OK) {
            size_t i, j;
            json_t *g, *v;
            json_array_foreach(json_object_get(r.body, "groups"), i, g) {
                const char *name = json_string_value(json_object_get(g, "name"));
                json_array_foreach(json_object_get(g, "versions"), j, v) {
                    const char *ver = json_string_value(json_object_get(v, "version"));
                    if (!name || !ver) continue;
                    if (!strcmp(name, "serving.knative.dev") && !strcmp(ver, "v1")) ctx->has_knative = 1;
                    if (!strcmp(name, "autoscaling") && !strcmp(ver, "v2")) ctx->has_hpa_v2 = 1;
                }
            }
            ctx->discovered = 1;
        }
        k8s_res_clear(&r);
    }
    pthread_mutex_unlock(&ctx->disc_mu);
    return st;
}

int k8s_discovery_busy(fb_driver_ctx *ctx)
{
    if (pthread_mutex_trylock(&ctx->disc_mu) != 0) return 1;
    pthread_mutex_unlock(&ctx->disc_mu);
    return 0;
}
