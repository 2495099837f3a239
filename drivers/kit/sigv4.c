/* sigv4.c - AWS Signature Version 4, header and presigned-query forms.
 *
 * Written from the public description of the algorithm (AWS General
 * Reference, "Signature Version 4 signing process") and checked against the
 * AWS SigV4 test suite and botocore (tests/kit/check_sigv4.c,
 * tests/kit/sigv4_botocore.py). */
#include "config.h"
#include "fbk.h"

#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>

#define ALGORITHM "AWS4-HMAC-SHA256"
#define UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

/* ---- small character classes ------------------------------------------ */

static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

/* Value of one hex digit, or -1. */
static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* RFC 7230 tchar: what a header name may contain. */
static int is_tchar(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* ASCII-only lower-casing (header names are ASCII tokens; no locale). */
static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* ASCII case-insensitive equality. */
static int ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (lower(*a) != lower(*b)) return 0;
    return *a == *b;
}

/* Case-insensitive: does a[0..n) spell b? (URL schemes) */
static int ieqn(const char *a, size_t n, const char *b)
{
    return strlen(b) == n && strncasecmp(a, b, n) == 0;
}

/* Sets *err (new) when the caller asked for it. */
static void set_err(char **err, const char *fmt, ...) FBK_PRINTF(2, 3);
static void set_err(char **err, const char *fmt, ...)
{
    if (!err) return;
    va_list ap;
    va_start(ap, fmt);
    free(*err);
    *err = fbk_xvasprintf(fmt, ap);
    va_end(ap);
}

/* ---- URL --------------------------------------------------------------- */

typedef struct url_parts {
    char *host;          /* Host header value derived from the URL (new) */
    const char *path;    /* borrowed from the URL */
    size_t path_len;
    const char *query;   /* after '?', borrowed; NULL when there is no '?' */
    size_t query_len;
    size_t base_len;     /* length of the URL without its fragment */
} url_parts;

/* Splits an absolute http(s) URL the way the HTTP client will send it. */
static int parse_url(const char *url, url_parts *u, char **err)
{
    memset(u, 0, sizeof *u);
    const char *sep = strstr(url, "://");
    if (!sep) {
        set_err(err, "URL \"%s\" is not absolute: expected http:// or https://", url);
        return -1;
    }
    size_t slen = (size_t)(sep - url);
    int https;
    if (ieqn(url, slen, "https")) {
        https = 1;
    } else if (ieqn(url, slen, "http")) {
        https = 0;
    } else {
        set_err(err, "URL \"%s\": scheme must be http or https", url);
        return -1;
    }
    const char *a = sep + 3;
    size_t alen = strcspn(a, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < alen; i++)
        if (a[i] == '@') at = a + i;
    if (at) {
        alen -= (size_t)(at + 1 - a);
        a = at + 1;
    }
    const char *hend;
    const char *port = NULL;
    size_t plen = 0;
    if (alen && a[0] == '[') {
        const char *rb = memchr(a, ']', alen);
        if (!rb) {
            set_err(err, "URL \"%s\": unterminated IPv6 address", url);
            return -1;
        }
        hend = rb + 1;
    } else {
        hend = memchr(a, ':', alen);
        if (!hend) hend = a + alen;
    }
    if (hend < a + alen) {
        if (*hend != ':') {
            set_err(err, "URL \"%s\": unexpected characters after the host", url);
            return -1;
        }
        port = hend + 1;
        plen = (size_t)(a + alen - port);
        for (size_t i = 0; i < plen; i++)
            if (port[i] < '0' || port[i] > '9') {
                set_err(err, "URL \"%s\": the port must be digits", url);
                return -1;
            }
    }
    size_t hlen = (size_t)(hend - a);
    if (hlen == 0) {
        set_err(err, "URL \"%s\" has no host", url);
        return -1;
    }
    fbk_buf h;
    fbk_buf_init(&h);
    for (size_t i = 0; i < hlen; i++) {
        unsigned char c = (unsigned char)a[i];
        if (c <= ' ' || c >= 0x7f) {
            fbk_buf_free(&h);
            set_err(err, "URL \"%s\": the host contains a space, control or non-ASCII byte", url);
            return -1;
        }
        fbk_buf_putc(&h, lower((char)c));
    }
    /* The scheme's default port is not part of Host (RFC 7230 5.4). */
    if (plen && !((https && plen == 3 && !memcmp(port, "443", 3)) ||
                  (!https && plen == 2 && !memcmp(port, "80", 2)))) {
        fbk_buf_putc(&h, ':');
        fbk_buf_append(&h, port, plen);
    }
    u->host = fbk_buf_steal(&h);
    const char *rest = a + alen;
    u->path = rest;
    u->path_len = strcspn(rest, "?#");
    const char *q = rest + u->path_len;
    if (*q == '?') {
        u->query = q + 1;
        u->query_len = strcspn(q + 1, "#");
    }
    u->base_len = strcspn(url, "#");
    return 0;
}

/* ---- canonical URI ----------------------------------------------------- */

/* RFC 3986 5.2.4 dot-segment removal plus collapsing of empty segments, as
 * AWS services (and botocore) normalise. Appends to out. */
static void normalize_path(fbk_buf *out, const char *p, size_t n)
{
    if (n == 0) {
        fbk_buf_putc(out, '/');
        return;
    }
    /* segment boundaries of the output, as offsets into a stack */
    size_t cap = n / 2 + 2, depth = 0;
    const char **seg = fbk_xmalloc(cap * sizeof *seg);
    size_t *seglen = fbk_xmalloc(cap * sizeof *seglen);
    size_t i = 0;
    while (i <= n) {
        size_t j = i;
        while (j < n && p[j] != '/') j++;
        size_t len = j - i;
        if (len == 0 || (len == 1 && p[i] == '.')) {
            /* empty or "." : dropped */
        } else if (len == 2 && p[i] == '.' && p[i + 1] == '.') {
            if (depth) depth--;
        } else {
            seg[depth] = p + i;
            seglen[depth] = len;
            depth++;
        }
        i = j + 1;
    }
    if (p[0] == '/') fbk_buf_putc(out, '/');
    for (size_t k = 0; k < depth; k++) {
        if (k) fbk_buf_putc(out, '/');
        fbk_buf_append(out, seg[k], seglen[k]);
    }
    if (p[n - 1] == '/' && depth) fbk_buf_putc(out, '/');
    free(seg);
    free(seglen);
}

/* The canonical URI for the flags (see FBK_SIGV4_NO_*). */
static void canonical_uri(fbk_buf *out, const url_parts *u, unsigned flags)
{
    fbk_buf tmp;
    fbk_buf_init(&tmp);
    if (flags & FBK_SIGV4_NO_NORMALIZE)
        fbk_buf_append(&tmp, u->path, u->path_len);
    else
        normalize_path(&tmp, u->path, u->path_len);
    if (tmp.len == 0) fbk_buf_putc(&tmp, '/');
    if (flags & FBK_SIGV4_NO_URI_ENCODE)
        fbk_buf_append(out, tmp.data, tmp.len);
    else
        fbk_uri_encode(out, tmp.data, tmp.len, 1);
    fbk_buf_free(&tmp);
}

/* ---- canonical query --------------------------------------------------- */

typedef struct qpair {
    char *k, *v; /* canonical (encoded) forms, new */
} qpair;

/* Decodes a wire-form query component once and re-encodes it with the
 * unreserved set, as the service does when it checks the signature. */
static int canon_component(const char *s, size_t n, fbk_buf *out, const char *url, char **err)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            int h1 = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
            int h2 = h1 >= 0 ? hexval((unsigned char)s[i + 2]) : -1;
            if (h1 < 0 || h2 < 0) {
                set_err(err, "URL \"%s\": '%%' in the query is not followed by two hex digits", url);
                return -1;
            }
            c = (unsigned char)(h1 * 16 + h2);
            i += 2;
        } else if (c == '+') {
            set_err(err, "URL \"%s\": '+' in the query is ambiguous (space or plus); "
                         "write %%20 for a space or %%2B for a plus", url);
            return -1;
        } else if (c <= ' ' || c >= 0x7f || strchr("\"<>\\^`{|}#[]", c)) {
            set_err(err, "URL \"%s\": the query contains byte 0x%02X which must be percent-encoded",
                    url, c);
            return -1;
        }
        if (is_unreserved(c)) {
            fbk_buf_putc(out, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            fbk_buf_append(out, e, 3);
        }
    }
    return 0;
}

/* Sort by encoded name, then encoded value (byte order). */
static int qpair_cmp(const void *a, const void *b)
{
    const qpair *x = a, *y = b;
    int c = strcmp(x->k, y->k);
    return c ? c : strcmp(x->v, y->v);
}

/* Query values may hold the session token (presign): wiped. */
static void qpairs_free(qpair *q, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fbk_free_secret(q[i].k);
        fbk_free_secret(q[i].v);
    }
    free(q);
}

static const char *const auth_params[] = {
    "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
    "X-Amz-SignedHeaders", "X-Amz-Security-Token", "X-Amz-Signature",
};

/* Parses the wire query into canonical pairs (unsorted). */
static int parse_query(const url_parts *u, const char *url, int presign, qpair **out, size_t *nout,
                       char **err)
{
    *out = NULL;
    *nout = 0;
    if (!u->query || u->query_len == 0) return 0;
    size_t cap = 1;
    for (size_t i = 0; i < u->query_len; i++) cap += u->query[i] == '&';
    qpair *q = fbk_xcalloc(cap, sizeof *q);
    size_t n = 0;
    const char *p = u->query, *end = u->query + u->query_len;
    while (p <= end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        if (!amp) amp = end;
        if (amp == p) {
            qpairs_free(q, n);
            set_err(err, "URL \"%s\": empty query parameter (stray '&' or '?&')", url);
            return -1;
        }
        const char *eq = memchr(p, '=', (size_t)(amp - p));
        const char *kend = eq ? eq : amp;
        fbk_buf k, v;
        fbk_buf_init(&k);
        fbk_buf_init(&v);
        if (canon_component(p, (size_t)(kend - p), &k, url, err) != 0 ||
            (eq && canon_component(eq + 1, (size_t)(amp - eq - 1), &v, url, err) != 0)) {
            fbk_buf_wipe(&k);
            fbk_buf_wipe(&v);
            qpairs_free(q, n);
            return -1;
        }
        q[n].k = fbk_buf_steal(&k);
        q[n].v = fbk_buf_steal(&v);
        n++;
        for (size_t a = 0; a < sizeof auth_params / sizeof *auth_params; a++) {
            if (!strcmp(q[n - 1].k, auth_params[a]) && (presign || a == 6)) {
                set_err(err, "URL \"%s\" already carries %s: sign the unsigned URL", url,
                        auth_params[a]);
                qpairs_free(q, n);
                return -1;
            }
        }
        if (amp == end) break;
        p = amp + 1;
        if (p == end) {
            qpairs_free(q, n);
            set_err(err, "URL \"%s\": the query ends with '&'", url);
            return -1;
        }
    }
    *out = q;
    *nout = n;
    return 0;
}

/* ---- headers ----------------------------------------------------------- */

typedef struct hent {
    char *name;  /* lower-case, new */
    char *value; /* trimmed, inner blanks collapsed, new */
    size_t order;
} hent;

/* Sort by name; equal names keep their original order. */
static int hent_cmp(const void *a, const void *b)
{
    const hent *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c) return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Trims blanks and collapses inner runs of blanks to one space. Line breaks
 * and other control bytes are refused: they would split the header. */
static int trim_value(const char *name, const char *v, char **out, char **err)
{
    fbk_buf b;
    fbk_buf_init(&b);
    int pending = 0;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == ' ' || *p == '\t') {
            pending = b.len > 0;
            continue;
        }
        if (*p < 0x20 || *p == 0x7f) {
            fbk_buf_wipe(&b);
            set_err(err, "header \"%s\" contains a %s (byte 0x%02X); header values must be one line",
                    name, (*p == '\r' || *p == '\n') ? "line break" : "control character", *p);
            return -1;
        }
        if (pending) fbk_buf_putc(&b, ' ');
        pending = 0;
        fbk_buf_putc(&b, (char)*p);
    }
    *out = fbk_buf_steal(&b);
    return 0;
}

/* Header values may hold the session token: wiped. */
static void hents_free(hent *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(h[i].name);
        fbk_free_secret(h[i].value);
    }
    free(h);
}

/* Header names the signer never signs: clients and proxies change them. */
static int skipped_header(const char *lname)
{
    return !strcmp(lname, "user-agent") || !strcmp(lname, "expect") ||
           !strcmp(lname, "x-amzn-trace-id");
}

/* Case-insensitive header lookup in the message. */
static const char *find_header(const fbk_http_msg *m, const char *name)
{
    for (size_t i = 0; i < m->n_headers; i++)
        if (m->headers[i].name && ieq(m->headers[i].name, name)) return m->headers[i].value;
    return NULL;
}

/* ---- HMAC -------------------------------------------------------------- */

static void hmac256(const void *key, size_t klen, const void *msg, size_t mlen,
                    unsigned char out[32])
{
    fbk_hmac_sha256(key, klen, msg, mlen, out); /* zeros if OpenSSL is broken: the signature fails */
}

/* The documented HMAC chain; intermediates are wiped. */
void fbk_sigv4_signing_key(const char *secret, const char *date8, const char *region,
                           const char *service, unsigned char key[32])
{
    size_t sl = strlen(secret);
    char *k0 = fbk_xmalloc(sl + 5);
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, secret, sl + 1);
    unsigned char a[32], b[32];
    hmac256(k0, sl + 4, date8, strlen(date8), a);
    hmac256(a, 32, region, strlen(region), b);
    hmac256(b, 32, service, strlen(service), a);
    hmac256(a, 32, "aws4_request", 12, key);
    fbk_wipe(k0, sl + 4);
    free(k0);
    fbk_wipe(a, sizeof a);
    fbk_wipe(b, sizeof b);
}

/* Derived keys of recent scopes (secret, day, region, service). Deriving
 * one costs four HMACs, and OpenSSL 3's one-shot HMAC fetches its algorithm
 * under a global lock each time: a parallel apply signing thousands of
 * requests with the same few scopes spent more on that than on the rest
 * of SigV4. Entries name the secret by its SHA-256, never by its text. */
#define KEY_CACHE 8
typedef struct key_entry {
    char secret_sha[65]; /* hex */
    unsigned char key[32];
    char date8[9], region[64], service[64];
    int used;
} key_entry;
static key_entry key_cache[KEY_CACHE];
static unsigned key_cache_next;
static pthread_mutex_t key_cache_mu = PTHREAD_MUTEX_INITIALIZER;

static void signing_key_cached(const char *secret, const char *date8, const char *region,
                               const char *service, unsigned char key[32])
{
    if (strlen(date8) > 8 || strlen(region) >= sizeof key_cache[0].region ||
        strlen(service) >= sizeof key_cache[0].service) {
        fbk_sigv4_signing_key(secret, date8, region, service, key);
        return;
    }
    char sh[65];
    fbk_sha256_hex(secret, strlen(secret), sh);
    pthread_mutex_lock(&key_cache_mu);
    for (int i = 0; i < KEY_CACHE; i++) {
        key_entry *e = &key_cache[i];
        if (e->used && !strcmp(e->secret_sha, sh) && !strcmp(e->date8, date8) &&
            !strcmp(e->region, region) && !strcmp(e->service, service)) {
            memcpy(key, e->key, 32);
            pthread_mutex_unlock(&key_cache_mu);
            return;
        }
    }
    pthread_mutex_unlock(&key_cache_mu);
    fbk_sigv4_signing_key(secret, date8, region, service, key);
    pthread_mutex_lock(&key_cache_mu);
    key_entry *e = &key_cache[key_cache_next++ % KEY_CACHE];
    memcpy(e->secret_sha, sh, sizeof sh);
    memcpy(e->key, key, 32);
    strcpy(e->date8, date8);
    strcpy(e->region, region);
    strcpy(e->service, service);
    e->used = 1;
    pthread_mutex_unlock(&key_cache_mu);
}

/* The n strings of parts joined (new): the signer's own strings are made
 * this way, not with a format (vsnprintf's setup per call was a fifth of
 * signing's own work, bench/README-aws.md, Stop 26). */
static char *join(const char *const *parts, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += strlen(parts[i]);
    char *out = fbk_xmalloc(total + 1), *w = out;
    *w = '\0';
    for (size_t i = 0; i < n; i++) w = stpcpy(w, parts[i]);
    return out;
}

/* ---- the signer -------------------------------------------------------- */

void fbk_sigv4_out_free(fbk_sigv4_out *o)
{
    if (!o) return;
    for (size_t i = 0; i < o->n_headers; i++) {
        fbk_free_secret((char *)o->headers[i].name);
        fbk_free_secret((char *)o->headers[i].value);
    }
    free(o->headers);
    fbk_free_secret(o->url);
    fbk_free_secret(o->canonical_request);
    fbk_free_secret(o->string_to_sign);
    fbk_free_secret(o->credential_scope);
    fbk_free_secret(o->signed_headers);
    fbk_free_secret(o->signature);
    fbk_free_secret(o->authorization);
    memset(o, 0, sizeof *o);
}

/* Adds a header the caller must send. */
static void add_out_header(fbk_sigv4_out *o, const char *name, const char *value)
{
    o->headers = fbk_xrealloc(o->headers, (o->n_headers + 1) * sizeof *o->headers);
    o->headers[o->n_headers].name = fbk_xstrdup(name);
    o->headers[o->n_headers].value = fbk_xstrdup(value);
    o->n_headers++;
}

/* Credential scope parts cannot contain separators. */
static int check_word(const char *what, const char *s, char **err)
{
    if (!s || !*s) {
        set_err(err, "SigV4: %s is missing", what);
        return -1;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= ' ' || *p >= 0x7f || *p == '/' || *p == ',' || *p == '=') {
            set_err(err, "SigV4: %s contains a character that cannot appear in a credential "
                         "scope (space, '/', ',', '=' or non-ASCII)", what);
            return -1;
        }
    return 0;
}

/* Builds the canonical request, string to sign and signature; see fbk.h. */
int fbk_sigv4_sign(const fbk_sigv4_params *p, const fbk_http_msg *msg, fbk_sigv4_out *out,
                   char **err)
{
    memset(out, 0, sizeof *out);
    if (!p || !msg || !msg->url || !msg->method || !*msg->method) {
        set_err(err, "SigV4: the request needs a method and a URL");
        return -1;
    }
    if (check_word("the access key id", p->access_key_id, err) ||
        check_word("the region", p->region, err) || check_word("the service name", p->service, err))
        return -1;
    if (!p->secret_access_key || !*p->secret_access_key) {
        set_err(err, "SigV4: the secret access key is missing");
        return -1;
    }
    for (const char *m = msg->method; *m; m++)
        if (!is_tchar((unsigned char)*m)) {
            set_err(err, "SigV4: method \"%s\" is not an HTTP token", msg->method);
            return -1;
        }
    if (msg->body_len && !msg->body) {
        set_err(err, "SigV4: body_len is %zu but body is NULL", msg->body_len);
        return -1;
    }
    const unsigned flags = p->flags;
    const int presign = (flags & FBK_SIGV4_PRESIGN) != 0;
    const char *token = p->session_token && *p->session_token ? p->session_token : NULL;
    if (presign && (p->expires < 1 || p->expires > 604800)) {
        set_err(err, "SigV4: presigned URLs need expires between 1 and 604800 seconds (got %lld)",
                (long long)p->expires);
        return -1;
    }
    if (token)
        for (const unsigned char *t = (const unsigned char *)token; *t; t++)
            if (*t < 0x20 || *t >= 0x7f) {
                set_err(err, "SigV4: the session token contains a control or non-ASCII byte");
                return -1;
            }

    char amzdate[17], date8[9];
    fbk_format_amz_date(p->time, amzdate);
    memcpy(date8, amzdate, 8);
    date8[8] = '\0';

    url_parts u;
    if (parse_url(msg->url, &u, err) != 0) return -1;

    int rc = -1;
    qpair *qp = NULL;
    size_t nq = 0;
    hent *he = NULL;
    size_t nh = 0;
    fbk_buf cr, sh, tmp, authq;
    fbk_buf_init(&authq);
    fbk_buf_init(&cr);
    fbk_buf_init(&sh);
    fbk_buf_init(&tmp);
    const char *scope_parts[] = {date8, "/", p->region, "/", p->service, "/aws4_request"};
    char *scope = join(scope_parts, 6);
    char *payload = NULL;
    int add_date = 0, add_token = 0, add_sha = 0;

    if (parse_query(&u, msg->url, presign, &qp, &nq, err) != 0) goto done;

    /* Headers: what the message has, then what the signer adds. */
    he = fbk_xcalloc(msg->n_headers + 4, sizeof *he);
    int have_host = 0;
    for (size_t i = 0; i < msg->n_headers; i++) {
        const char *name = msg->headers[i].name, *value = msg->headers[i].value;
        if (!name || !*name) {
            set_err(err, "SigV4: header %zu has no name", i);
            goto done;
        }
        for (const char *c = name; *c; c++)
            if (!is_tchar((unsigned char)*c)) {
                set_err(err, "SigV4: header name \"%s\" contains a character that is not allowed "
                             "(spaces, ':' and control bytes are not)", name);
                goto done;
            }
        if (!value) {
            set_err(err, "SigV4: header \"%s\" has no value", name);
            goto done;
        }
        char *ln = fbk_xstrdup(name);
        for (char *c = ln; *c; c++) *c = lower(*c);
        if (!strcmp(ln, "authorization")) {
            free(ln);
            set_err(err, "SigV4: the request already has an Authorization header: sign the "
                         "unsigned request");
            goto done;
        }
        if (skipped_header(ln)) {
            free(ln);
            continue;
        }
        char *tv = NULL;
        if (trim_value(name, value, &tv, err) != 0) {
            free(ln);
            goto done;
        }
        if (!strcmp(ln, "host")) have_host = 1;
        if (!presign && !strcmp(ln, "x-amz-date") && strcmp(tv, amzdate) != 0) {
            set_err(err, "SigV4: the request's X-Amz-Date \"%s\" differs from the signing time %s; "
                         "leave X-Amz-Date out and the signer adds it", tv, amzdate);
            free(ln);
            free(tv);
            goto done;
        }
        if (!presign && !strcmp(ln, "x-amz-security-token")) {
            if ((token && strcmp(tv, token) != 0) || (flags & FBK_SIGV4_TOKEN_UNSIGNED)) {
                set_err(err, "SigV4: the request already has an X-Amz-Security-Token header that "
                             "does not match how it is to be signed; leave it out and pass the "
                             "session token to the signer");
                free(ln);
                fbk_free_secret(tv);
                goto done;
            }
        }
        he[nh].name = ln;
        he[nh].value = tv;
        he[nh].order = nh;
        nh++;
    }
    const char *given_sha = find_header(msg, "x-amz-content-sha256");
    if (!presign) {
        add_date = find_header(msg, "x-amz-date") == NULL;
        add_token = token && find_header(msg, "x-amz-security-token") == NULL;
        add_sha = (flags & FBK_SIGV4_CONTENT_SHA256) && given_sha == NULL;
    }

    /* Payload hash. */
    if (!presign && given_sha) {
        char *tv = NULL;
        if (trim_value("x-amz-content-sha256", given_sha, &tv, err) != 0) goto done;
        payload = tv;
    } else if (flags & FBK_SIGV4_UNSIGNED_PAYLOAD) {
        payload = fbk_xstrdup(UNSIGNED_PAYLOAD);
    } else if (p->payload_hash) {
        size_t hl = strlen(p->payload_hash);
        int ok = hl == 64;
        for (size_t i = 0; ok && i < hl; i++)
            ok = (p->payload_hash[i] >= '0' && p->payload_hash[i] <= '9') ||
                 (p->payload_hash[i] >= 'a' && p->payload_hash[i] <= 'f');
        if (!ok) {
            set_err(err, "SigV4: payload_hash must be 64 lower-case hex digits");
            goto done;
        }
        payload = fbk_xstrdup(p->payload_hash);
    } else {
        char hx[65];
        fbk_sha256_hex(msg->body, msg->body_len, hx);
        payload = fbk_xstrdup(hx);
    }

    if (!have_host) {
        he[nh].name = fbk_xstrdup("host");
        he[nh].value = fbk_xstrdup(u.host);
        he[nh].order = nh;
        nh++;
    }
    if (add_date) {
        he[nh].name = fbk_xstrdup("x-amz-date");
        he[nh].value = fbk_xstrdup(amzdate);
        he[nh].order = nh;
        nh++;
    }
    if (add_token && !(flags & FBK_SIGV4_TOKEN_UNSIGNED)) {
        he[nh].name = fbk_xstrdup("x-amz-security-token");
        he[nh].value = fbk_xstrdup(token);
        he[nh].order = nh;
        nh++;
    }
    if (add_sha) {
        he[nh].name = fbk_xstrdup("x-amz-content-sha256");
        he[nh].value = fbk_xstrdup(payload);
        he[nh].order = nh;
        nh++;
    }
    qsort(he, nh, sizeof *he, hent_cmp);
    for (size_t i = 0; i < nh; i++) {
        if (i && !strcmp(he[i].name, he[i - 1].name)) continue;
        if (sh.len) fbk_buf_putc(&sh, ';');
        fbk_buf_puts(&sh, he[i].name);
    }

    /* Presign: the auth parameters join the query before signing. */
    if (presign) {
        char *cred = fbk_xasprintf("%s/%s", p->access_key_id, scope);
        char expires[24];
        snprintf(expires, sizeof expires, "%lld", (long long)p->expires);
        const char *vals[6] = {ALGORITHM, cred, amzdate, expires, sh.data, token};
        qp = fbk_xrealloc(qp, (nq + 6) * sizeof *qp);
        for (int i = 0; i < 6; i++) {
            if (!vals[i]) continue;
            fbk_buf v;
            fbk_buf_init(&v);
            fbk_uri_encode(&v, vals[i], strlen(vals[i]), 0);
            if (authq.len) fbk_buf_putc(&authq, '&');
            fbk_buf_printf(&authq, "%s=%s", auth_params[i], v.data);
            qp[nq].k = fbk_xstrdup(auth_params[i]);
            qp[nq].v = fbk_buf_steal(&v);
            nq++;
        }
        free(cred);
    }
    if (nq > 1) qsort(qp, nq, sizeof *qp, qpair_cmp);

    /* The canonical request. */
    for (const char *m = msg->method; *m; m++)
        fbk_buf_putc(&cr, (*m >= 'a' && *m <= 'z') ? (char)(*m - 'a' + 'A') : *m);
    fbk_buf_putc(&cr, '\n');
    canonical_uri(&cr, &u, flags);
    fbk_buf_putc(&cr, '\n');
    for (size_t i = 0; i < nq; i++) {
        if (i) fbk_buf_putc(&cr, '&');
        fbk_buf_puts(&cr, qp[i].k);
        fbk_buf_putc(&cr, '=');
        fbk_buf_puts(&cr, qp[i].v);
    }
    fbk_buf_putc(&cr, '\n');
    for (size_t i = 0; i < nh; i++) {
        if (i && !strcmp(he[i].name, he[i - 1].name)) {
            fbk_buf_putc(&cr, ',');
            fbk_buf_puts(&cr, he[i].value);
            continue;
        }
        if (i) fbk_buf_putc(&cr, '\n');
        fbk_buf_puts(&cr, he[i].name);
        fbk_buf_putc(&cr, ':');
        fbk_buf_puts(&cr, he[i].value);
    }
    fbk_buf_puts(&cr, "\n\n");
    fbk_buf_puts(&cr, sh.data);
    fbk_buf_putc(&cr, '\n');
    fbk_buf_puts(&cr, payload);

    char crhash[65];
    fbk_sha256_hex(cr.data, cr.len, crhash);
    const char *sts_parts[] = {ALGORITHM "\n", amzdate, "\n", scope, "\n", crhash};
    char *sts = join(sts_parts, 6);

    unsigned char key[32], sig[32];
    signing_key_cached(p->secret_access_key, date8, p->region, p->service, key);
    hmac256(key, 32, sts, strlen(sts), sig);
    fbk_wipe(key, sizeof key);
    static const char hexd[] = "0123456789abcdef";
    char sighex[65];
    for (int i = 0; i < 32; i++) {
        sighex[2 * i] = hexd[sig[i] >> 4];
        sighex[2 * i + 1] = hexd[sig[i] & 15];
    }
    sighex[64] = '\0';

    out->canonical_request = fbk_buf_steal(&cr);
    out->string_to_sign = sts;
    out->credential_scope = fbk_xstrdup(scope);
    out->signed_headers = fbk_xstrdup(sh.data);
    out->signature = fbk_xstrdup(sighex);
    if (presign) {
        fbk_buf_append(&tmp, msg->url, u.base_len);
        if (!u.query) fbk_buf_putc(&tmp, '?');
        else if (u.query_len) fbk_buf_putc(&tmp, '&');
        fbk_buf_printf(&tmp, "%s&X-Amz-Signature=%s", authq.data, sighex);
        out->url = fbk_buf_steal(&tmp);
    } else {
        out->url = fbk_xstrdup(msg->url);
        const char *auth_parts[] = {ALGORITHM " Credential=", p->access_key_id, "/", scope,
                                    ", SignedHeaders=", sh.data ? sh.data : "", ", Signature=", sighex};
        out->authorization = join(auth_parts, 8);
        if (add_date) add_out_header(out, "X-Amz-Date", amzdate);
        if (add_token) add_out_header(out, "X-Amz-Security-Token", token);
        if (add_sha) add_out_header(out, "X-Amz-Content-SHA256", payload);
        add_out_header(out, "Authorization", out->authorization);
    }
    rc = 0;

done:
    fbk_buf_wipe(&authq);
    if (rc != 0) fbk_sigv4_out_free(out);
    free(u.host);
    qpairs_free(qp, nq);
    hents_free(he, nh);
    fbk_buf_wipe(&cr);
    fbk_buf_free(&sh);
    fbk_buf_wipe(&tmp);
    free(scope);
    free(payload);
    return rc;
}
