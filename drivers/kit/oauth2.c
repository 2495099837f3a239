/* oauth2.c - OAuth2 token exchange, a thread-safe token cache and bearer
 * requests (see fbk_oauth2.h). Grew out of the IBM Quantum backend's IAM
 * exchange (drivers/quantum/qd_ibm.c). */
#include "config.h"
#include "fbk_oauth2.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Entries are few (one per credential and scope a driver uses); the cap
 * only keeps a driver that makes up credentials from growing without
 * bound: stale entries are dropped to make room. */
#define MAX_ENTRIES 256

typedef struct entry {
    char key[65];        /* SHA-256 hex of url, credential id and scope */
    char *token;         /* new, secret; NULL when none yet */
    int64_t refresh_at;  /* host->now() from which the token is not reused */
    int fetching;        /* a thread is exchanging for this key */
} entry;

struct fbk_token_cache {
    pthread_mutex_t mu;
    pthread_cond_t done; /* an exchange finished */
    entry *v;
    size_t n;
};

fbk_token_cache *fbk_token_cache_new(void)
{
    fbk_token_cache *c = fbk_xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->done, NULL);
    c->v = fbk_xcalloc(MAX_ENTRIES, sizeof *c->v);
    return c;
}

void fbk_token_cache_free(fbk_token_cache *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) fbk_free_secret(c->v[i].token);
    free(c->v);
    pthread_cond_destroy(&c->done);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* The cache key: a hash, so the cache never holds a credential that was
 * passed as its own id. Fields are length-prefixed so no two triples
 * collide by concatenation. */
static void key_of3(const char *url, const char *credential_id, const char *scope, char out[65])
{
    fbk_buf b;
    fbk_buf_init(&b);
    const char *parts[3] = {url, credential_id, scope};
    for (int i = 0; i < 3; i++) {
        const char *p = parts[i] ? parts[i] : "";
        fbk_buf_printf(&b, "%zu:", strlen(p));
        fbk_buf_puts(&b, p);
    }
    fbk_sha256_hex(b.data, b.len, out);
    fbk_buf_wipe(&b);
}

static void key_of(const fbk_oauth2_grant *g, char out[65])
{
    key_of3(g->token_url, g->credential_id, g->scope, out);
}

/* The entry for key; a new one when absent (mu held). NULL when the cache
 * is full of exchanges in flight. */
static entry *find(fbk_token_cache *c, const char *key, int64_t now)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->v[i].key, key)) return &c->v[i];
    if (c->n == MAX_ENTRIES) {
        /* drop the stale entries nobody is fetching */
        size_t k = 0;
        for (size_t i = 0; i < c->n; i++) {
            if (!c->v[i].fetching && c->v[i].refresh_at <= now) {
                fbk_free_secret(c->v[i].token);
                continue;
            }
            c->v[k++] = c->v[i];
        }
        c->n = k;
        if (c->n == MAX_ENTRIES) return NULL;
    }
    entry *e = &c->v[c->n++];
    memset(e, 0, sizeof *e);
    memcpy(e->key, key, 65);
    return e;
}

/* The message for a refusal: RFC 6749's error/error_description, or
 * IBM's errorMessage. borrowed from j. */
static const char *error_text(json_t *j)
{
    const char *m = json_string_value(json_object_get(j, "error_description"));
    if (!m) m = json_string_value(json_object_get(j, "errorMessage"));
    if (!m) m = json_string_value(json_object_get(j, "error"));
    return m ? m : "";
}

/* One exchange at the token endpoint. *token new, *lifetime in seconds
 * (0 when the answer gave none). */
fb_status fbk_oauth2_exchange(const fb_host *host, fb_diag *diag, const fbk_oauth2_grant *g,
                              char **token, int64_t *lifetime)
{
    *token = NULL;
    *lifetime = 0;
    fbk_buf body;
    fbk_buf_init(&body);
    /* each secret value raw and as it appears percent-encoded in the body */
    char **enc = fbk_xcalloc(g->n_fields ? g->n_fields : 1, sizeof *enc);
    const char **secrets = fbk_xcalloc(2 * g->n_fields + 1, sizeof *secrets);
    size_t ns = 0;
    for (size_t i = 0; i < g->n_fields; i++) {
        const char *v = g->fields[i].value ? g->fields[i].value : "";
        fbk_buf e;
        fbk_buf_init(&e);
        fbk_uri_encode(&e, v, strlen(v), 0);
        enc[i] = fbk_buf_steal(&e);
        if (i) fbk_buf_putc(&body, '&');
        fbk_uri_encode(&body, g->fields[i].name, strlen(g->fields[i].name), 0);
        fbk_buf_putc(&body, '=');
        fbk_buf_puts(&body, enc[i]);
        if (g->fields[i].secret && *v) {
            secrets[ns++] = v;
            secrets[ns++] = enc[i];
        }
    }
    fb_http_header h[] = {{"Content-Type", "application/x-www-form-urlencoded"},
                          {"Accept", "application/json"}};
    fb_http_request req = {.struct_size = sizeof req, .method = "POST", .url = g->token_url,
                           .headers = h, .n_headers = 2, .body = body.data ? body.data : "",
                           .body_len = body.len, .flags = FB_HTTP_IDEMPOTENT,
                           .service = g->service ? g->service : "oauth2",
                           .secrets = secrets, .n_secrets = ns};
    fb_http_response resp;
    fb_status st = host->http(diag, &req, &resp);
    fbk_buf_wipe(&body);
    for (size_t i = 0; i < g->n_fields; i++) fbk_free_secret(enc[i]);
    free(enc);
    free(secrets);
    if (st != FB_OK) return st;
    if (host->dry_run(diag)) {
        host->http_free(&resp);
        *token = fbk_xstrdup(FBK_OAUTH2_DRY_TOKEN);
        return FB_OK;
    }
    const char *what = g->what ? g->what : "the token endpoint";
    const char *cred = g->credential ? g->credential : "the credential";
    json_t *j = json_loads(resp.body ? resp.body : "", 0, NULL);
    const char *t = json_string_value(json_object_get(j, "access_token"));
    long s = resp.status;
    if (s >= 200 && s < 300 && t && *t) {
        *token = fbk_xstrdup(t);
        json_t *ex = json_object_get(j, "expires_in");
        if (json_is_integer(ex) && json_integer_value(ex) > 0) *lifetime = json_integer_value(ex);
    } else if (s >= 200 && s < 300) {
        fbk_diag(host, diag, FB_SEV_ERROR, NULL,
                 "%s answered HTTP %ld without an access_token\n"
                 "an OAuth2 token response is {\"access_token\": ..., \"expires_in\": ...}", what, s);
        st = FB_INTERNAL;
    } else {
        st = s == 429 || s >= 500 || s == 0 ? FB_RETRYABLE : FB_AUTH;
        fbk_diag(host, diag, FB_SEV_ERROR, NULL, "%s refused %s: HTTP %ld %s%s%s", what, cred, s,
                 error_text(j), g->hint ? "\n" : "", g->hint ? g->hint : "");
    }
    /* the answer holds the token (and perhaps a refresh token): wipe it */
    if (resp.body) fbk_wipe(resp.body, resp.body_len);
    json_decref(j);
    host->http_free(&resp);
    return st;
}

/* The cache's single-flight lookup around any fetch (see
 * fbk_token_cache_get). */
static fb_status cache_get(fbk_token_cache *c, const fb_host *host, fb_diag *diag, const char key[65],
                           fbk_token_fetch_fn fetch, void *ud, char **token, int *cached)
{
    *token = NULL;
    *cached = 0;
    pthread_mutex_lock(&c->mu);
    entry *e;
    for (;;) {
        e = find(c, key, host->now());
        if (!e) break;
        if (e->token && host->now() < e->refresh_at) {
            *token = fbk_xstrdup(e->token);
            *cached = 1;
            pthread_mutex_unlock(&c->mu);
            return FB_OK;
        }
        if (!e->fetching) break;
        /* single flight: wait for the thread already exchanging */
        pthread_cond_wait(&c->done, &c->mu);
    }
    int mine = e != NULL;
    if (e) e->fetching = 1;
    pthread_mutex_unlock(&c->mu);

    int64_t life = 0;
    int64_t t0 = host->now();
    fb_status st = fetch(ud, host, diag, token, &life);
    if (st != FB_OK && *token) {
        fbk_free_secret(*token);
        *token = NULL;
    }

    if (!mine) return st; /* the cache was full of exchanges in flight */
    pthread_mutex_lock(&c->mu);
    /* looked up again: making room may have moved entries (never this
     * one away, as it is marked fetching) */
    e = NULL;
    for (size_t i = 0; i < c->n && !e; i++)
        if (!strcmp(c->v[i].key, key)) e = &c->v[i];
    if (e && e->fetching) {
        fbk_free_secret(e->token);
        e->token = NULL;
        e->refresh_at = 0;
        if (st == FB_OK && life > 0) {
            e->token = fbk_xstrdup(*token);
            /* reuse for 80% of the lifetime: a token is never sent in
             * its last fifth, when it could expire in flight */
            e->refresh_at = t0 + life * 4 / 5;
        }
        e->fetching = 0;
        pthread_cond_broadcast(&c->done);
    }
    pthread_mutex_unlock(&c->mu);
    return st;
}

fb_status fbk_token_cache_get(fbk_token_cache *c, const fb_host *host, fb_diag *diag, const char *url,
                              const char *credential_id, const char *scope, fbk_token_fetch_fn fetch,
                              void *ud, char **token, int *cached)
{
    char key[65];
    int dummy;
    key_of3(url, credential_id, scope, key);
    return cache_get(c, host, diag, key, fetch, ud, token, cached ? cached : &dummy);
}

void fbk_token_cache_drop(fbk_token_cache *c, const char *url, const char *credential_id,
                          const char *scope)
{
    char key[65];
    key_of3(url, credential_id, scope, key);
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->v[i].key, key) != 0 || c->v[i].fetching) continue;
        fbk_free_secret(c->v[i].token);
        c->v[i].token = NULL;
        c->v[i].refresh_at = 0;
    }
    pthread_mutex_unlock(&c->mu);
}

/* The form-POST exchange as a fetch. */
static fb_status grant_fetch(void *ud, const fb_host *host, fb_diag *diag, char **token,
                             int64_t *lifetime)
{
    return fbk_oauth2_exchange(host, diag, (const fbk_oauth2_grant *)ud, token, lifetime);
}

/* fbk_oauth2_token that also says whether the token came from the cache. */
static fb_status get_token(fbk_token_cache *c, const fb_host *host, fb_diag *diag,
                           const fbk_oauth2_grant *g, char **token, int *cached)
{
    *token = NULL;
    *cached = 0;
    if (host->dry_run(diag)) {
        int64_t life;
        return fbk_oauth2_exchange(host, diag, g, token, &life); /* shown, never cached */
    }
    char key[65];
    key_of(g, key);
    return cache_get(c, host, diag, key, grant_fetch, (void *)g, token, cached);
}

fb_status fbk_oauth2_token(fbk_token_cache *c, const fb_host *host, fb_diag *diag,
                           const fbk_oauth2_grant *g, char **token)
{
    int cached;
    return get_token(c, host, diag, g, token, &cached);
}

void fbk_oauth2_forget(fbk_token_cache *c, const fbk_oauth2_grant *g)
{
    fbk_token_cache_drop(c, g->token_url, g->credential_id, g->scope);
}

fb_status fbk_bearer_send(const fb_host *host, fb_diag *diag, const char *token,
                          const fb_http_request *req, fb_http_response *resp)
{
    size_t sz = req->struct_size ? req->struct_size : sizeof *req;
    fb_http_request r;
    memset(&r, 0, sizeof r);
    memcpy(&r, req, sz < sizeof r ? sz : sizeof r);
    r.struct_size = sizeof r;
    fb_http_header *h = fbk_xcalloc(r.n_headers + 1, sizeof *h);
    if (r.n_headers) memcpy(h, r.headers, r.n_headers * sizeof *h);
    char *auth = fbk_xasprintf("Bearer %s", token);
    h[r.n_headers] = (fb_http_header){"Authorization", auth};
    r.headers = h;
    r.n_headers++;
    int secret = strcmp(token, FBK_OAUTH2_DRY_TOKEN) != 0;
    const char **sec = fbk_xcalloc(r.n_secrets + 1, sizeof *sec);
    if (r.n_secrets) memcpy(sec, r.secrets, r.n_secrets * sizeof *sec);
    if (secret) sec[r.n_secrets++] = token;
    r.secrets = sec;
    fb_status st = host->http(diag, &r, resp);
    fbk_free_secret(auth);
    free(h);
    free(sec);
    return st;
}

fb_status fbk_oauth2_send(fbk_token_cache *c, const fb_host *host, fb_diag *diag,
                          const fbk_oauth2_grant *g, const fb_http_request *req,
                          fb_http_response *resp)
{
    char *token = NULL;
    int cached = 0;
    memset(resp, 0, sizeof *resp);
    fb_status st = get_token(c, host, diag, g, &token, &cached);
    if (st != FB_OK) return st;
    st = fbk_bearer_send(host, diag, token, req, resp);
    if (st == FB_OK && resp->status == 401 && cached) {
        /* revoked or expired early: one fresh exchange, one more try */
        host->http_free(resp);
        fbk_oauth2_forget(c, g);
        fbk_free_secret(token);
        token = NULL;
        st = get_token(c, host, diag, g, &token, &cached);
        if (st == FB_OK) st = fbk_bearer_send(host, diag, token, req, resp);
    }
    fbk_free_secret(token);
    return st;
}
