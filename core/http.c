/* http.c - the host HTTP service drivers use (libcurl). */
#include "config.h"
#include "host.h"
#include "util.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#define FB_HTTP_MAX_RESPONSE (64u * 1024 * 1024)

typedef struct collect {
    fbi_buf body;
    fbi_buf headers; /* "name\0value\0" pairs */
    size_t nheaders;
    int too_big;
} collect;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    collect *c = ud;
    size_t len = size * n;
    if (c->body.len + len > FB_HTTP_MAX_RESPONSE) {
        c->too_big = 1;
        return 0;
    }
    fbi_buf_append(&c->body, p, len);
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    collect *c = ud;
    size_t len = size * n;
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) { /* a new response (redirect, 100) */
        fbi_buf_free(&c->headers);
        c->nheaders = 0;
        return len;
    }
    char *colon = memchr(p, ':', len);
    if (!colon) return len;
    size_t nlen = (size_t)(colon - p);
    const char *v = colon + 1;
    size_t vlen = len - nlen - 1;
    while (vlen && (*v == ' ' || *v == '\t')) { v++; vlen--; }
    while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' ')) vlen--;
    fbi_buf_append(&c->headers, p, nlen);
    fbi_buf_putc(&c->headers, '\0');
    fbi_buf_append(&c->headers, v, vlen);
    fbi_buf_putc(&c->headers, '\0');
    c->nheaders++;
    return len;
}

static long env_long(const char *name, long def)
{
    const char *s = getenv(name);
    return s && *s ? atol(s) : def;
}

fb_status fbi_http_perform(fb_diag *d, const fb_http_request *req, fb_http_response *resp)
{
    fbi_call *call = fbi_call_of(d);
    memset(resp, 0, sizeof *resp);
    CURL *h = curl_easy_init();
    if (!h) {
        fb_diag_add(d, FB_SEV_ERROR, NULL, 0, 0, NULL, "cannot initialise libcurl", NULL);
        return FB_INTERNAL;
    }
    collect c;
    memset(&c, 0, sizeof c);
    struct curl_slist *hl = NULL;
    for (size_t i = 0; i < req->n_headers; i++) {
        char *line = fbi_xasprintf("%s: %s", req->headers[i].name, req->headers[i].value);
        hl = curl_slist_append(hl, line);
        free(line);
    }
    hl = curl_slist_append(hl, "Expect:");
    if (!req->body_len) hl = curl_slist_append(hl, "Content-Type:");
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    if (strcmp(req->method, "HEAD") == 0) curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    if (req->body_len || strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &c);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &c);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, env_long("FEDBROKER_HTTP_CONNECT_TIMEOUT_MS", 10000));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, env_long("FEDBROKER_HTTP_TIMEOUT_MS", 60000));
    double t0 = fbi_mono_ms();
    CURLcode rc = curl_easy_perform(h);
    double ms = fbi_mono_ms() - t0;
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
    char line[512];
    CURLU *u = curl_url();
    char *host = NULL, *path = NULL;
    if (curl_url_set(u, CURLUPART_URL, req->url, 0) == CURLUE_OK) {
        curl_url_get(u, CURLUPART_HOST, &host, 0);
        curl_url_get(u, CURLUPART_PATH, &path, 0);
    }
    snprintf(line, sizeof line, "%s %s%s %ld attempt=1 %.0fms", req->method, host ? host : "?",
             path ? path : "", status, ms);
    curl_free(host);
    curl_free(path);
    curl_url_cleanup(u);
    fbi_log(call ? call->driver : NULL, FB_LOG_INFO, line);
    if (rc != CURLE_OK) {
        char *m = fbi_xasprintf("HTTP %s %s failed: %s", req->method, req->service ? req->service : "",
                                c.too_big ? "response larger than the 64 MiB limit"
                                          : curl_easy_strerror(rc));
        fb_diag_add(d, FB_SEV_ERROR, NULL, 0, 0, NULL, m, NULL);
        free(m);
        fbi_buf_free(&c.body);
        fbi_buf_free(&c.headers);
        return c.too_big ? FB_INVALID : FB_RETRYABLE;
    }
    resp->status = status;
    resp->body_len = c.body.len;
    resp->body = fbi_buf_steal(&c.body);
    resp->n_headers = c.nheaders;
    resp->headers = fbi_xcalloc(c.nheaders ? c.nheaders : 1, sizeof(fb_http_header));
    const char *p = c.headers.data;
    for (size_t i = 0; i < c.nheaders; i++) {
        resp->headers[i].name = fbi_xstrdup(p);
        p += strlen(p) + 1;
        resp->headers[i].value = fbi_xstrdup(p);
        p += strlen(p) + 1;
    }
    fbi_buf_free(&c.headers);
    return FB_OK;
}

void fbi_http_free(fb_http_response *resp)
{
    if (!resp) return;
    for (size_t i = 0; i < resp->n_headers; i++) {
        free((char *)resp->headers[i].name);
        free((char *)resp->headers[i].value);
    }
    free(resp->headers);
    free(resp->body);
    memset(resp, 0, sizeof *resp);
}

/* Replaces every occurrence of each secret in s with REDACTED. new. */
static char *redact(const char *s, size_t len, const fb_http_request *req)
{
    fbi_buf b;
    fbi_buf_init(&b);
    fbi_buf_append(&b, s, len);
    for (size_t k = 0; k < req->n_secrets; k++) {
        const char *sec = req->secrets[k];
        size_t sl = sec ? strlen(sec) : 0;
        if (sl == 0) continue;
        fbi_buf out;
        fbi_buf_init(&out);
        const char *p = b.data ? b.data : "";
        const char *hit;
        while ((hit = strstr(p, sec)) != NULL) {
            fbi_buf_append(&out, p, (size_t)(hit - p));
            fbi_buf_puts(&out, "REDACTED");
            p = hit + sl;
        }
        fbi_buf_puts(&out, p);
        fbi_buf_free(&b);
        b = out;
    }
    return fbi_buf_steal(&b);
}

json_t *fbi_http_request_json(const fb_http_request *req)
{
    json_t *o = json_object();
    json_object_set_new(o, "method", json_string(req->method));
    char *url = redact(req->url, strlen(req->url), req);
    json_object_set_new(o, "url", json_string(url));
    free(url);
    json_t *h = json_object();
    for (size_t i = 0; i < req->n_headers; i++) {
        const char *v = req->headers[i].value;
        char *rv = redact(v, strlen(v), req);
        json_object_set_new(h, req->headers[i].name, json_string(rv));
        free(rv);
    }
    json_object_set_new(o, "headers", h);
    char *body = redact(req->body ? req->body : "", req->body_len, req);
    json_t *bj = json_string(body);
    if (!bj) bj = json_stringn_nocheck(body, strlen(body));
    json_object_set_new(o, "body", bj);
    free(body);
    return o;
}
