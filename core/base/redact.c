/* redact.c - secrets out of everything the host shows or keeps (redact.h). */
#include "config.h"
#include "base/redact.h"
#include "base/util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Secrets do not outlive their use in freed memory. */
static void wipe(void *p, size_t n)
{
    if (p && n) explicit_bzero(p, n);
}

/* ---- the set ------------------------------------------------------------- */

/* Inserts a copy of s[0..n) keeping the set sorted longest first, so a
 * secret is replaced before any shorter one that is part of it. */
static void insert(fbi_secrets *set, const char *s, size_t n)
{
    if (n == 0) return;
    for (size_t i = 0; i < set->n; i++)
        if (set->len[i] == n && memcmp(set->v[i], s, n) == 0) return;
    if (set->n == set->cap) {
        set->cap = set->cap ? set->cap * 2 : 8;
        set->v = fbi_xrealloc(set->v, set->cap * sizeof *set->v);
        set->len = fbi_xrealloc(set->len, set->cap * sizeof *set->len);
    }
    size_t at = set->n;
    while (at > 0 && set->len[at - 1] < n) at--;
    memmove(&set->v[at + 1], &set->v[at], (set->n - at) * sizeof *set->v);
    memmove(&set->len[at + 1], &set->len[at], (set->n - at) * sizeof *set->len);
    set->v[at] = fbi_xstrndup(s, n);
    set->len[at] = n;
    set->n++;
}

/* RFC 3986 percent-encoding (unreserved kept, upper-case hex), as SigV4
 * and most query strings write it. new. Written straight into a buffer of
 * the largest size it can take: every request's credentials pass through
 * here, and a call per character was 2-3 % of an apply's CPU. */
static char *url_encode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = fbi_xmalloc(3 * strlen(s) + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

/* s as it appears inside a JSON string by an encoder that escapes '/'.
 * new. Like url_encode, into a buffer of its largest size. */
static char *json_escape(const char *s)
{
    char *out = fbi_xmalloc(6 * strlen(s) + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\' || *p == '/') {
            *o++ = '\\';
            *o++ = (char)*p;
        } else if (*p < 0x20) {
            o += snprintf(o, 7, "\\u%04x", *p);
        } else {
            *o++ = (char)*p;
        }
    }
    *o = '\0';
    return out;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decoding of s[0..n). new. */
static char *url_decode(const char *s, size_t n)
{
    fbi_buf b;
    fbi_buf_init(&b);
    for (size_t i = 0; i < n; i++) {
        int h, l;
        if (s[i] == '%' && i + 2 < n && (h = hexval(s[i + 1])) >= 0 && (l = hexval(s[i + 2])) >= 0) {
            fbi_buf_putc(&b, (char)(h * 16 + l));
            i += 2;
        } else {
            fbi_buf_putc(&b, s[i]);
        }
    }
    fbi_buf_puts(&b, "");
    return fbi_buf_steal(&b);
}

void fbi_secrets_add(fbi_secrets *set, const char *s)
{
    if (!s || !*s) return;
    insert(set, s, strlen(s));
    /* the encoded forms only when they differ from s (a hex signature, a
     * plain token): every request of every call adds its credentials, and
     * building copies equal to s was most of this function's cost */
    int plain_url = 1, plain_json = 1;
    for (const unsigned char *p = (const unsigned char *)s; *p && (plain_url || plain_json); p++) {
        if (!(isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~')) plain_url = 0;
        if (*p == '"' || *p == '\\' || *p == '/' || *p < 0x20) plain_json = 0;
    }
    if (!plain_url) {
        char *u = url_encode(s);
        insert(set, u, strlen(u));
        wipe(u, strlen(u));
        free(u);
    }
    if (!plain_json) {
        char *j = json_escape(s);
        insert(set, j, strlen(j));
        wipe(j, strlen(j));
        free(j);
    }
}

/* The value after "key=" in an Authorization header ("Signature=abc, ..."),
 * added when present. */
static void add_auth_part(fbi_secrets *set, const char *value, const char *key)
{
    const char *p = strstr(value, key);
    if (!p) return;
    p += strlen(key);
    size_t n = strcspn(p, ", ");
    char *part = fbi_xstrndup(p, n);
    fbi_secrets_add(set, part);
    wipe(part, n);
    free(part);
}

/* The value of query parameter name in url, added raw and decoded. */
static void add_query_param(fbi_secrets *set, const char *url, const char *name)
{
    const char *q = strchr(url, '?');
    size_t nl = strlen(name);
    for (const char *p = q; p && *p; p = strchr(p + 1, '&')) {
        const char *k = p + 1;
        if (strncasecmp(k, name, nl) != 0 || k[nl] != '=') continue;
        const char *v = k + nl + 1;
        size_t n = strcspn(v, "&#");
        char *raw = fbi_xstrndup(v, n), *dec = url_decode(v, n);
        fbi_secrets_add(set, raw);
        fbi_secrets_add(set, dec);
        wipe(raw, n);
        wipe(dec, strlen(dec));
        free(raw);
        free(dec);
    }
}

void fbi_secrets_add_request(fbi_secrets *set, const fb_http_request *req)
{
    /* fields past the driver's struct_size count as absent (0 = current) */
    size_t sz = req->struct_size ? req->struct_size : sizeof *req;
    if (sz >= offsetof(fb_http_request, n_secrets) + sizeof req->n_secrets && req->secrets)
        for (size_t i = 0; i < req->n_secrets; i++) fbi_secrets_add(set, req->secrets[i]);
    for (size_t i = 0; req->headers && i < req->n_headers; i++) {
        const char *name = req->headers[i].name, *value = req->headers[i].value;
        if (!name || !value) continue;
        if (!strcasecmp(name, "Authorization")) {
            fbi_secrets_add(set, value);
            add_auth_part(set, value, "Signature=");
            add_auth_part(set, value, "Credential=");
            const char *sp = strchr(value, ' ');
            if (sp && (!strncasecmp(value, "Bearer ", 7) || !strncasecmp(value, "Basic ", 6)))
                fbi_secrets_add(set, sp + 1);
        } else if (!strcasecmp(name, "X-Amz-Security-Token") || !strcasecmp(name, "X-Amz-Credential")) {
            fbi_secrets_add(set, value);
        }
    }
    if (req->url) {
        add_query_param(set, req->url, "X-Amz-Credential");
        add_query_param(set, req->url, "X-Amz-Security-Token");
        add_query_param(set, req->url, "X-Amz-Signature");
    }
}

void fbi_secrets_clear(fbi_secrets *set)
{
    for (size_t i = 0; i < set->n; i++) {
        wipe(set->v[i], set->len[i]);
        free(set->v[i]);
    }
    free(set->v);
    free(set->len);
    memset(set, 0, sizeof *set);
}

/* ---- text ---------------------------------------------------------------- */

/* Field names whose value is a credential wherever it appears, compared
 * case-insensitively as whole names (DB_PASSWORD is not "password"). */
static const char *const secret_names[] = {
    "authorization", "x-amz-security-token", "x-amz-credential", "x-amz-signature",
    "secretaccesskey", "secret_access_key", "aws_secret_access_key", "sessiontoken",
    "session_token", "aws_session_token", "securitytoken", "security_token", "access_token",
    "refresh_token", "id_token", "client_secret", "apikey", "api_key", "password", NULL,
};

static int name_char(int c)
{
    return isalnum(c) || c == '_' || c == '-';
}

/* The length of the secret field name at t[0..len) (whole name), or 0. */
static size_t secret_name_at(const char *t, size_t len, int *is_auth)
{
    /* the names are lower-case: most words are ruled out by their first
     * letter without a comparison (every string of every output is
     * scanned, word by word) */
    int c0 = len ? tolower((unsigned char)t[0]) : 0;
    for (size_t k = 0; secret_names[k]; k++) {
        if (secret_names[k][0] != c0) continue;
        size_t n = strlen(secret_names[k]);
        if (n <= len && strncasecmp(t, secret_names[k], n) == 0 &&
            (n == len || !name_char((unsigned char)t[n]))) {
            *is_auth = k == 0;
            return n;
        }
    }
    return 0;
}

/* Where the value of the field named at t[i..j) starts and ends, in one
 * of the forms a credential is written: <Name>v</Name>, "name": "v",
 * name: v, name=v (quoted or not). 1 when found. */
static int field_value(const char *t, size_t len, size_t i, size_t j, int is_auth, size_t *vs,
                       size_t *ve)
{
    if (i > 0 && t[i - 1] == '<' && j < len && t[j] == '>') { /* XML */
        size_t e = j + 1;
        while (e < len && t[e] != '<') e++;
        *vs = j + 1;
        *ve = e;
        return e > j + 1;
    }
    size_t p = j;
    if (i > 0 && (t[i - 1] == '"' || t[i - 1] == '\'') && p < len && t[p] == t[i - 1]) p++;
    size_t before = p;
    while (p < len && t[p] == ' ') p++;
    if (p >= len || (t[p] != ':' && !(t[p] == '=' && p == before))) return 0;
    p++;
    while (p < len && (t[p] == ' ' || t[p] == '\t')) p++;
    if (p < len && (t[p] == '"' || t[p] == '\'')) { /* quoted */
        char q = t[p];
        size_t e = p + 1;
        while (e < len && t[e] != q) e += t[e] == '\\' && e + 1 < len ? 2 : 1;
        if (e > len) e = len;
        *vs = p + 1;
        *ve = e;
        return e > p + 1;
    }
    size_t e = p;
    if (is_auth) { /* "Authorization: AWS4-HMAC-SHA256 Credential=..., Signature=..." */
        while (e < len && t[e] != '\r' && t[e] != '\n') e++;
    } else {
        while (e < len && !strchr(" \t\r\n&,;<>\"')]}", t[e])) e++;
    }
    *vs = p;
    *ve = e;
    return e > p;
}

/* Replaces the values of credential-looking fields in t[0..len) into out;
 * out NULL: only counts them. Returns how many values were (would be)
 * replaced. */
static size_t redact_patterns(const char *t, size_t len, fbi_buf *out)
{
    size_t hits = 0;
    size_t done = 0, i = 0;
    while (i < len) {
        int is_auth = 0;
        size_t n;
        if (isalpha((unsigned char)t[i]) && (i == 0 || !name_char((unsigned char)t[i - 1])) &&
            (n = secret_name_at(t + i, len - i, &is_auth)) > 0) {
            size_t vs, ve;
            const size_t rl = sizeof FBI_REDACTED - 1;
            if (field_value(t, len, i, i + n, is_auth, &vs, &ve) &&
                !(ve - vs == rl && memcmp(t + vs, FBI_REDACTED, rl) == 0)) {
                hits++;
                if (out) {
                    fbi_buf_append(out, t + done, vs - done);
                    fbi_buf_puts(out, FBI_REDACTED);
                }
                done = i = ve;
                continue;
            }
            i += n;
            continue;
        }
        i++;
    }
    if (out) fbi_buf_append(out, t + done, len - done);
    return hits;
}

/* 1 when fbi_redact_text(set, patterns, t, len) would change t: a secret
 * of set occurs in it, or (patterns) a credential-looking field does.
 * Lets the JSON walk leave the (nearly all) clean strings and keys alone
 * instead of copying each: that copying was 2-3 % of a parallel apply's
 * CPU (bench/README-k8s.md). */
static int redaction_needed(const fbi_secrets *set, int patterns, const char *t, size_t len)
{
    for (size_t k = 0; set && k < set->n; k++) {
        size_t sl = set->len[k];
        if (sl <= len && memmem(t, len, set->v[k], sl)) return 1;
    }
    return patterns && len && redact_patterns(t, len, NULL) > 0;
}

char *fbi_redact_text(const fbi_secrets *set, int patterns, const char *text, size_t len)
{
    fbi_buf cur;
    fbi_buf_init(&cur);
    fbi_buf_append(&cur, text ? text : "", text ? len : 0);
    for (size_t k = 0; set && k < set->n; k++) {
        const char *sec = set->v[k];
        size_t sl = set->len[k];
        if (!cur.len || sl > cur.len) continue;
        fbi_buf out;
        fbi_buf_init(&out);
        const char *p = cur.data, *end = cur.data + cur.len, *hit;
        while ((hit = memmem(p, (size_t)(end - p), sec, sl)) != NULL) {
            fbi_buf_append(&out, p, (size_t)(hit - p));
            fbi_buf_puts(&out, FBI_REDACTED);
            p = hit + sl;
        }
        if (p == cur.data) { /* no hit */
            fbi_buf_free(&out);
            continue;
        }
        fbi_buf_append(&out, p, (size_t)(end - p));
        wipe(cur.data, cur.len);
        fbi_buf_free(&cur);
        cur = out;
    }
    if (patterns && cur.len) {
        fbi_buf out;
        fbi_buf_init(&out);
        redact_patterns(cur.data, cur.len, &out);
        fbi_buf_free(&cur);
        cur = out;
    }
    fbi_buf_puts(&cur, "");
    return fbi_buf_steal(&cur);
}

/* ---- JSON ---------------------------------------------------------------- */

static int is_secret_key(const char *k)
{
    int is_auth;
    size_t n = strlen(k);
    return secret_name_at(k, n, &is_auth) == n && n > 0;
}

void fbi_redact_json(const fbi_secrets *set, int patterns, json_t *j)
{
    if (json_is_string(j)) {
        const char *s = json_string_value(j);
        size_t n = json_string_length(j);
        if (!redaction_needed(set, patterns, s, n)) return;
        char *r = fbi_redact_text(set, patterns, s, n);
        if (strlen(r) != n || memcmp(r, s, n) != 0) json_string_set(j, r);
        free(r);
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) fbi_redact_json(set, patterns, v);
    } else if (json_is_object(j)) {
        /* keys that change are re-set after the walk (never during it) */
        json_t *renamed = NULL;
        const char *k;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(j, tmp, k, v) {
            if (patterns && json_is_string(v) && is_secret_key(k)) {
                json_string_set(v, FBI_REDACTED);
            } else {
                fbi_redact_json(set, patterns, v);
            }
            if (!redaction_needed(set, 0, k, strlen(k))) continue;
            char *rk = fbi_redact_text(set, 0, k, strlen(k));
            if (strcmp(rk, k) != 0) {
                if (!renamed) renamed = json_object();
                json_object_set(renamed, rk, v);
                json_object_del(j, k);
            }
            free(rk);
        }
        if (renamed) {
            json_object_update(j, renamed);
            json_decref(renamed);
        }
    }
}
