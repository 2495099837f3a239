/* google_auth.c - Application Default Credentials and the tokens they give
 * (service-account keys, authorized users, workload identity federation,
 * the metadata server), cached per credential and scope. See fbk_google.h
 * for the order, the kinds and the rules; google_jwt.c signs. */
#include "config.h"
#include "fbk_google.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_CRED_FILE (1u << 20)     /* a credentials file is a few KiB */
#define MAX_SUBJECT_TOKEN (1u << 20)
#define METADATA_DNS "metadata.google.internal"
#define TOKEN_EXCHANGE "urn:ietf:params:oauth:grant-type:token-exchange"
#define ACCESS_TOKEN_TYPE "urn:ietf:params:oauth:token-type:access_token"

/* ---- parsing a credentials file ----------------------------------------------------- */

/* Overwrites every string of j (keys too) before it is freed: a parsed
 * credentials file holds private keys and refresh tokens. */
static void wipe_json(json_t *j)
{
    if (json_is_string(j)) {
        fbk_wipe((char *)json_string_value(j), json_string_length(j));
    } else if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) wipe_json(v);
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) wipe_json(v);
    }
}

void fbk_gcred_clear(fbk_gcred *c)
{
    if (!c) return;
    char **plain[] = {&c->source, &c->project_id, &c->token_uri, &c->client_email, &c->private_key_id,
                      &c->client_id, &c->audience, &c->subject_token_type, &c->sts_url,
                      &c->impersonation_url, &c->workforce_user_project, &c->subject_file, &c->subject_url,
                      &c->subject_field, &c->aws_region_url, &c->aws_verify_url, &c->aws_imdsv2_url,
                      &c->metadata_host};
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++) free(*plain[i]);
    fbk_free_secret(c->private_key);
    fbk_free_secret(c->client_secret);
    fbk_free_secret(c->refresh_token);
    fbk_free_secret(c->access_token);
    json_decref(c->subject_headers);
    memset(c, 0, sizeof *c);
}

/* A parse in progress: the document, where it came from, the first error. */
typedef struct parser {
    json_t *root;
    const char *source;
    char *err;
} parser;

static void perr(parser *p, const char *member, const char *fmt, ...) FBK_PRINTF(3, 4);
static void perr(parser *p, const char *member, const char *fmt, ...)
{
    if (p->err) return;
    va_list ap;
    va_start(ap, fmt);
    char *what = fbk_xvasprintf(fmt, ap);
    va_end(ap);
    p->err = member ? fbk_xasprintf("%s: member \"%s\" %s", p->source, member, what)
                    : fbk_xasprintf("%s: %s", p->source, what);
    free(what);
}

/* The string member at a '.'-separated path (borrowed), NULL when absent;
 * an error when present and not a non-empty string. */
static const char *pstr(parser *p, const char *path, int required)
{
    json_t *v = p->root;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *tok = buf, *dot; v && tok; tok = dot) {
        dot = strchr(tok, '.');
        if (dot) *dot++ = '\0';
        v = json_is_object(v) ? json_object_get(v, tok) : NULL;
    }
    if (!v || json_is_null(v)) {
        if (required) perr(p, path, "is missing");
        return NULL;
    }
    if (!json_is_string(v) || !*json_string_value(v)) {
        perr(p, path, "must be a non-empty string");
        return NULL;
    }
    return json_string_value(v);
}

static char *dup_or_null(const char *s)
{
    return s ? fbk_xstrdup(s) : NULL;
}

/* An endpoint member: an http(s) URL, or the default. */
static char *purl(parser *p, const char *member, const char *dflt)
{
    const char *u = pstr(p, member, 0);
    if (!u) return dflt ? fbk_xstrdup(dflt) : NULL;
    const char *why = fbk_endpoint_problem(u);
    if (why) {
        perr(p, member, "is not a usable URL: %s", why);
        return NULL;
    }
    return fbk_xstrdup(u);
}

static void parse_service_account(parser *p, fbk_gcred *c)
{
    c->type = FBK_GCRED_SERVICE_ACCOUNT;
    c->client_email = dup_or_null(pstr(p, "client_email", 1));
    c->private_key_id = dup_or_null(pstr(p, "private_key_id", 0));
    const char *pk = pstr(p, "private_key", 1);
    if (pk && !strstr(pk, "-----BEGIN"))
        perr(p, "private_key", "is not a PEM key (-----BEGIN PRIVATE KEY-----)");
    c->private_key = dup_or_null(pk);
    c->token_uri = purl(p, "token_uri", FBK_GOOGLE_TOKEN_URI);
    c->project_id = dup_or_null(pstr(p, "project_id", 0));
}

static void parse_authorized_user(parser *p, fbk_gcred *c)
{
    c->type = FBK_GCRED_AUTHORIZED_USER;
    c->client_id = dup_or_null(pstr(p, "client_id", 1));
    c->client_secret = dup_or_null(pstr(p, "client_secret", 1));
    c->refresh_token = dup_or_null(pstr(p, "refresh_token", 1));
    c->token_uri = purl(p, "token_uri", FBK_GOOGLE_TOKEN_URI);
    c->project_id = dup_or_null(pstr(p, "quota_project_id", 0));
}

static void parse_format(parser *p, fbk_gcred *c)
{
    json_t *f = json_object_get(json_object_get(p->root, "credential_source"), "format");
    if (!f || json_is_null(f)) return; /* text */
    if (!json_is_object(f)) {
        perr(p, "credential_source.format", "must be an object {\"type\": \"text\"|\"json\", ...}");
        return;
    }
    const char *t = pstr(p, "credential_source.format.type", 0);
    if (!t || !strcmp(t, "text")) return;
    if (strcmp(t, "json") != 0) {
        perr(p, "credential_source.format.type", "must be \"text\" or \"json\", not \"%s\"", t);
        return;
    }
    c->subject_json = 1;
    c->subject_field = dup_or_null(pstr(p, "credential_source.format.subject_token_field_name", 1));
}

static void parse_external_account(parser *p, fbk_gcred *c)
{
    c->type = FBK_GCRED_EXTERNAL_ACCOUNT;
    c->audience = dup_or_null(pstr(p, "audience", 1));
    c->subject_token_type = dup_or_null(pstr(p, "subject_token_type", 1));
    c->sts_url = purl(p, "token_url", FBK_GOOGLE_STS_URI);
    c->impersonation_url = purl(p, "service_account_impersonation_url", NULL);
    c->workforce_user_project = dup_or_null(pstr(p, "workforce_pool_user_project", 0));
    c->project_id = dup_or_null(pstr(p, "quota_project_id", 0));
    c->impersonation_lifetime = 3600;
    json_t *imp = json_object_get(p->root, "service_account_impersonation");
    json_t *life = json_object_get(imp, "token_lifetime_seconds");
    if (life && !json_is_null(life)) {
        if (!json_is_integer(life) || json_integer_value(life) < 600 || json_integer_value(life) > 43200)
            perr(p, "service_account_impersonation.token_lifetime_seconds", "must be an integer from 600 to 43200");
        else
            c->impersonation_lifetime = json_integer_value(life);
    }
    if (json_object_get(p->root, "token_info_url") && !json_is_string(json_object_get(p->root, "token_info_url")))
        perr(p, "token_info_url", "must be a string");
    json_t *src = json_object_get(p->root, "credential_source");
    if (!json_is_object(src)) {
        perr(p, "credential_source", "is missing or not an object (it says where the subject token comes "
             "from: file, url or environment_id)");
        return;
    }
    if (json_object_get(src, "executable")) {
        perr(p, "credential_source.executable", "is not supported by fedbroker (executable-sourced "
             "credentials run a program); use a file or url source");
        return;
    }
    if (json_object_get(src, "certificate")) {
        perr(p, "credential_source.certificate", "is not supported by fedbroker (X.509 workload identity)");
        return;
    }
    int n = !!json_object_get(src, "file") + !!json_object_get(src, "url") + !!json_object_get(src, "environment_id");
    const char *env = pstr(p, "credential_source.environment_id", 0);
    if (env) {
        if (strncmp(env, "aws", 3) != 0) {
            perr(p, "credential_source.environment_id", "\"%s\" is not supported (only aws1)", env);
            return;
        }
        if (strcmp(env, "aws1") != 0) {
            perr(p, "credential_source.environment_id", "\"%s\": only version 1 of the AWS source (aws1) is "
                 "supported", env);
            return;
        }
        c->subject_kind = FBK_GSUBJECT_AWS;
        c->aws_region_url = purl(p, "credential_source.region_url", NULL);
        c->subject_url = purl(p, "credential_source.url", NULL);
        c->aws_imdsv2_url = purl(p, "credential_source.imdsv2_session_token_url", NULL);
        const char *v = pstr(p, "credential_source.regional_cred_verification_url", 1);
        if (v && (strncmp(v, "https://", 8) != 0 || !strstr(v, "Action=GetCallerIdentity")))
            perr(p, "credential_source.regional_cred_verification_url",
                 "must be an https AWS STS GetCallerIdentity URL, e.g. "
                 "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15");
        c->aws_verify_url = dup_or_null(v);
        /* (url is the AWS source's instance-metadata credentials URL) */
        if (json_object_get(src, "file"))
            perr(p, "credential_source", "has environment_id and also file: give one source");
        return;
    }
    if (n != 1) {
        perr(p, "credential_source", "must have exactly one of file, url or environment_id");
        return;
    }
    const char *file = pstr(p, "credential_source.file", 0);
    if (file) {
        c->subject_kind = FBK_GSUBJECT_FILE;
        c->subject_file = fbk_xstrdup(file);
    } else {
        c->subject_kind = FBK_GSUBJECT_URL;
        c->subject_url = purl(p, "credential_source.url", NULL);
        json_t *h = json_object_get(src, "headers");
        if (h && !json_is_null(h)) {
            const char *k;
            json_t *v;
            if (!json_is_object(h)) perr(p, "credential_source.headers", "must be an object of strings");
            json_object_foreach(h, k, v) {
                if (!json_is_string(v) || strpbrk(json_string_value(v), "\r\n") || strpbrk(k, "\r\n: "))
                    perr(p, "credential_source.headers", "must map header names to one-line strings");
            }
            if (json_is_object(h)) c->subject_headers = json_deep_copy(h);
        }
    }
    parse_format(p, c);
}

int fbk_gcred_parse(const char *text, size_t len, const char *source, fbk_gcred *out, char **err)
{
    memset(out, 0, sizeof *out);
    *err = NULL;
    json_error_t je;
    parser p = {NULL, source ? source : "credentials", NULL};
    p.root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!p.root || !json_is_object(p.root)) {
        /* jansson's text may quote the document: give the position only */
        *err = p.root ? fbk_xasprintf("%s: not a JSON object", p.source)
                      : fbk_xasprintf("%s: not JSON (line %d, column %d)", p.source, je.line, je.column);
        wipe_json(p.root);
        json_decref(p.root);
        return -1;
    }
    const char *t = pstr(&p, "type", 0);
    if (!t) {
        perr(&p, "type", "is missing: a Google credentials file says \"type\": \"service_account\", "
             "\"authorized_user\" or \"external_account\"");
    } else if (!strcmp(t, "service_account")) {
        parse_service_account(&p, out);
    } else if (!strcmp(t, "authorized_user")) {
        parse_authorized_user(&p, out);
    } else if (!strcmp(t, "external_account")) {
        parse_external_account(&p, out);
    } else {
        perr(&p, "type", "\"%s\" is not supported (fedbroker reads service_account, authorized_user and "
             "external_account credentials)", t);
    }
    if (!p.err) out->source = fbk_xstrdup(p.source);
    wipe_json(p.root);
    json_decref(p.root);
    if (p.err) {
        fbk_gcred_clear(out);
        *err = p.err;
        return -1;
    }
    return 0;
}

/* ---- finding Application Default Credentials --------------------------------------- */

/* The value of a set, non-empty environment variable, or NULL. */
static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static int env_true(const char *name)
{
    const char *v = env(name);
    return v && (!strcasecmp(v, "true") || !strcmp(v, "1"));
}

/* Reads and parses the file at path. 1 found (out filled), 0 absent
 * (ENOENT: *why new), -1 an error that stops the search (diagnostic added). */
static int from_file(const fb_host *host, fb_diag *diag, const char *path, const char *what, fbk_gcred *out,
                     char **why, fb_status *st)
{
    size_t len = 0;
    int eno = 0;
    char *err = NULL;
    char *text = fbk_read_file(path, MAX_CRED_FILE, &len, &eno, &err);
    if (!text) {
        if (eno == ENOENT) {
            *why = fbk_xasprintf("%s does not exist", path);
            free(err);
            return 0;
        }
        fbk_diag(host, diag, FB_SEV_ERROR, NULL, "google auth: %s: %s\nmake the file readable by the broker, "
                 "or unset what points at it", what, err);
        free(err);
        *st = FB_AUTH;
        return -1;
    }
    char *src = fbk_xasprintf("%s %s", what, path);
    int rc = fbk_gcred_parse(text, len, src, out, &err);
    fbk_free_secret(text);
    free(src);
    if (rc != 0) {
        fbk_diag(host, diag, FB_SEV_ERROR, NULL, "google auth: %s\nfix the file, or point %s elsewhere", err,
                 what);
        free(err);
        *st = FB_INVALID;
        return -1;
    }
    return 1;
}

/* Whether this machine says it is on Google Cloud: a Cloud Run service or
 * job's environment, or a Google Compute Engine VM (the DMI product name
 * google-auth's residency check reads). */
static int gce_residency(void)
{
    /* Cloud Run and Cloud Functions set these; their sandbox may not
     * show the DMI file */
    if (env("K_SERVICE") || env("CLOUD_RUN_JOB")) return 1;
    size_t len = 0;
    int eno = 0;
    char *err = NULL;
    char *t = fbk_read_file("/sys/class/dmi/id/product_name", 256, &len, &eno, &err);
    free(err);
    int yes = t && !strncmp(t, "Google", 6);
    free(t);
    return yes;
}

/* GET http://metadata.google.internal/ with Metadata-Flavor: Google: 1
 * when it answers as the metadata server, else 0 with *why. A read: the
 * host may retry it within its budget. */
static int probe_metadata(const fb_host *host, fb_diag *diag, char **why)
{
    fb_http_header h[] = {{"Metadata-Flavor", "Google"}};
    fb_http_request req = {.struct_size = sizeof req, .method = "GET", .url = "http://" METADATA_DNS "/",
                           .headers = h, .n_headers = 1, .flags = FB_HTTP_IDEMPOTENT | FB_HTTP_READ_ONLY,
                           .service = "gce-metadata"};
    fb_http_response resp;
    fb_status st = host->http(diag, &req, &resp);
    if (st != FB_OK) {
        *why = fbk_xasprintf("%s did not answer (see the HTTP error above): not on Google Cloud", METADATA_DNS);
        return 0;
    }
    int ok = 0;
    for (size_t i = 0; i < resp.n_headers; i++)
        if (!strcasecmp(resp.headers[i].name, "Metadata-Flavor") && !strcmp(resp.headers[i].value, "Google"))
            ok = 1;
    if (!ok)
        *why = fbk_xasprintf("%s answered HTTP %ld without Metadata-Flavor: Google: not the metadata server",
                             METADATA_DNS, resp.status);
    host->http_free(&resp);
    return ok;
}

/* The search with one more input: the metadata server is known absent
 * (probed earlier in this context). */
static fb_status find(const fb_host *host, fb_diag *diag, const fbk_gcred_opts *o, int metadata_absent,
                      fbk_gcred *out, int *probed_absent)
{
    memset(out, 0, sizeof *out);
    if (probed_absent) *probed_absent = 0;
    fbk_buf tried;
    fbk_buf_init(&tried);
    fb_status st = FB_OK;
    char *why = NULL;
    /* 0. an access token minted elsewhere (Terraform's Google provider
     * reads the same variable): used as it is, never refreshed */
    if (env("GOOGLE_OAUTH_ACCESS_TOKEN")) {
        out->type = FBK_GCRED_ACCESS_TOKEN;
        out->access_token = fbk_xstrdup(env("GOOGLE_OAUTH_ACCESS_TOKEN"));
        out->source = fbk_xstrdup("the access token in GOOGLE_OAUTH_ACCESS_TOKEN");
        goto found;
    }
    /* 1. GOOGLE_APPLICATION_CREDENTIALS: set but missing is an error (google-auth's) */
    const char *gac = env("GOOGLE_APPLICATION_CREDENTIALS");
    if (gac) {
        int rc = from_file(host, diag, gac, "GOOGLE_APPLICATION_CREDENTIALS file", out, &why, &st);
        if (rc == 1) goto found;
        if (rc < 0) goto out;
        fbk_diag(host, diag, FB_SEV_ERROR, NULL, "google auth: GOOGLE_APPLICATION_CREDENTIALS names %s, which "
                 "does not exist\nset it to a credentials file, or unset it", gac);
        st = FB_AUTH;
        goto out;
    }
    fbk_buf_puts(&tried, "\n  1. GOOGLE_APPLICATION_CREDENTIALS: not set");
    /* 2. gcloud's ADC file */
    char *path;
    if (env("CLOUDSDK_CONFIG")) {
        path = fbk_xasprintf("%s/application_default_credentials.json", env("CLOUDSDK_CONFIG"));
    } else {
        const char *home = o && o->home ? o->home : env("HOME");
        path = home ? fbk_xasprintf("%s/.config/gcloud/application_default_credentials.json", home) : NULL;
    }
    if (path) {
        int rc = from_file(host, diag, path, "gcloud's ADC file", out, &why, &st);
        free(path);
        if (rc == 1) goto found;
        if (rc < 0) goto out;
        fbk_buf_printf(&tried, "\n  2. gcloud's ADC file: %s (`gcloud auth application-default login` writes it)",
                       why);
        free(why);
        why = NULL;
    } else {
        fbk_buf_puts(&tried, "\n  2. gcloud's ADC file: neither CLOUDSDK_CONFIG nor HOME is set");
    }
    /* 3. the metadata server, only on Google Cloud */
    const char *mh = env("GCE_METADATA_HOST");
    if (!mh) mh = env("GCE_METADATA_ROOT");
    if (mh) {
        out->type = FBK_GCRED_METADATA;
        out->metadata_host = fbk_xstrdup(mh);
        out->source = fbk_xasprintf("the metadata server at %s (GCE_METADATA_HOST)", mh);
        goto found;
    }
    if (env_true("NO_GCE_CHECK")) {
        fbk_buf_puts(&tried, "\n  3. the metadata server: not looked for (NO_GCE_CHECK is set) and "
                     "GCE_METADATA_HOST is not set");
    } else if (metadata_absent) {
        fbk_buf_printf(&tried, "\n  3. the metadata server: GCE_METADATA_HOST is not set and %s did not answer "
                       "earlier in this run", METADATA_DNS);
    } else if (host->dry_run(diag) || (o && o->no_network)) {
        if (gce_residency()) {
            out->type = FBK_GCRED_METADATA;
            out->metadata_host = fbk_xstrdup(METADATA_DNS);
            out->source = fbk_xstrdup("the metadata server (a Google Compute Engine machine)");
            goto found;
        }
        fbk_buf_printf(&tried, "\n  3. the metadata server: GCE_METADATA_HOST is not set and this machine does not "
                       "say it is on Google Cloud (/sys/class/dmi/id/product_name); %s is probed only when "
                       "requests are sent, not %s", METADATA_DNS,
                       host->dry_run(diag) ? "in a dry run" : "by validate");
    } else if (probe_metadata(host, diag, &why)) {
        out->type = FBK_GCRED_METADATA;
        out->metadata_host = fbk_xstrdup(METADATA_DNS);
        out->source = fbk_xasprintf("the metadata server (%s)", METADATA_DNS);
        goto found;
    } else {
        if (probed_absent) *probed_absent = 1;
        fbk_buf_printf(&tried, "\n  3. the metadata server: GCE_METADATA_HOST is not set and %s", why);
        free(why);
        why = NULL;
    }
    fbk_diag(host, diag, FB_SEV_ERROR, NULL,
             "google auth: no Google credentials found\nsources tried, in order:\n  0. "
             "GOOGLE_OAUTH_ACCESS_TOKEN: not set%s\nset "
             "GOOGLE_APPLICATION_CREDENTIALS to a service-account key or workload identity federation "
             "file, run `gcloud auth application-default login`, or run the broker on Google Cloud",
             tried.data);
    st = FB_AUTH;
    goto out;
found:
    st = FB_OK;
out:
    free(why);
    fbk_buf_free(&tried);
    if (st != FB_OK) fbk_gcred_clear(out);
    return st;
}

fb_status fbk_gcred_find(const fb_host *host, fb_diag *diag, const fbk_gcred_opts *o, fbk_gcred *out)
{
    return find(host, diag, o, 0, out, NULL);
}

/* ---- tokens --------------------------------------------------------------------------- */

struct fbk_gauth {
    char *scope, *home, *service;
    fbk_token_cache *cache;
    pthread_mutex_t mu;
    fbk_gcred cred;      /* found on first use; read-only once set */
    int have_cred;
    int metadata_absent; /* probed in this context without an answer */
};

fbk_gauth *fbk_gauth_new(const fbk_gauth_opts *o)
{
    fbk_gauth *a = fbk_xcalloc(1, sizeof *a);
    a->scope = fbk_xstrdup(o && o->scope ? o->scope : FBK_GOOGLE_SCOPE_CLOUD);
    a->home = o && o->home ? fbk_xstrdup(o->home) : NULL;
    a->service = fbk_xstrdup(o && o->service ? o->service : "google-auth");
    a->cache = fbk_token_cache_new();
    pthread_mutex_init(&a->mu, NULL);
    return a;
}

void fbk_gauth_free(fbk_gauth *a)
{
    if (!a) return;
    fbk_gcred_clear(&a->cred);
    fbk_token_cache_free(a->cache);
    pthread_mutex_destroy(&a->mu);
    free(a->scope);
    free(a->home);
    free(a->service);
    free(a);
}

/* A description of c for messages (no secret). new. */
static char *describe(const fbk_gcred *c)
{
    switch (c->type) {
    case FBK_GCRED_SERVICE_ACCOUNT:
        return fbk_xasprintf("service account %s from %s", c->client_email, c->source);
    case FBK_GCRED_AUTHORIZED_USER:
        return fbk_xasprintf("authorized user (OAuth client %s) from %s", c->client_id, c->source);
    case FBK_GCRED_EXTERNAL_ACCOUNT:
        return fbk_xasprintf("workload identity federation (%s%s%s) from %s", c->audience,
                             c->impersonation_url ? ", impersonating through " : "",
                             c->impersonation_url ? c->impersonation_url : "", c->source);
    case FBK_GCRED_METADATA:
    case FBK_GCRED_ACCESS_TOKEN:
        return fbk_xasprintf("%s", c->source);
    default:
        return fbk_xstrdup("no credential");
    }
}

fb_status fbk_gauth_check(fbk_gauth *a, const fb_host *host, fb_diag *diag, char **what)
{
    if (what) *what = NULL;
    pthread_mutex_lock(&a->mu);
    if (a->have_cred) {
        if (what) *what = describe(&a->cred);
        pthread_mutex_unlock(&a->mu);
        return FB_OK;
    }
    int absent = a->metadata_absent;
    pthread_mutex_unlock(&a->mu);
    fbk_gcred c;
    fbk_gcred_opts o = {a->home, 1};
    fb_status st = find(host, diag, &o, absent, &c, NULL);
    if (st == FB_OK && what) *what = describe(&c);
    fbk_gcred_clear(&c);
    return st;
}

/* The credential of a (found on first use, then kept). The pointer stays
 * valid for a's lifetime. */
static fb_status credential(fbk_gauth *a, const fb_host *host, fb_diag *diag, const fbk_gcred **out)
{
    pthread_mutex_lock(&a->mu);
    fb_status st = FB_OK;
    if (!a->have_cred) {
        /* found under the lock: 64 verbs starting at once search once */
        fbk_gcred_opts o = {a->home, 0};
        int probed_absent = 0;
        st = find(host, diag, &o, a->metadata_absent, &a->cred, &probed_absent);
        if (probed_absent) a->metadata_absent = 1;
        if (st == FB_OK) a->have_cred = 1;
    }
    *out = a->have_cred ? &a->cred : NULL;
    pthread_mutex_unlock(&a->mu);
    return st;
}

/* What a fetch needs. */
typedef struct fetch_ctx {
    const fbk_gauth *a;
    const fbk_gcred *c;
} fetch_ctx;

/* A JSON answer's "access_token"/"expires_in" (metadata) or
 * "accessToken"/"expireTime" (generateAccessToken). */
static fb_status token_of(const fb_host *host, fb_diag *diag, const char *what, fb_http_response *resp,
                          char **token, int64_t *life, const char *hint)
{
    json_t *j = json_loadb(resp->body ? resp->body : "", resp->body_len, 0, NULL);
    fb_status st = FB_OK;
    long s = resp->status;
    if (s >= 200 && s < 300) {
        const char *t = json_string_value(json_object_get(j, "access_token"));
        json_t *ex = json_object_get(j, "expires_in");
        const char *t2 = json_string_value(json_object_get(j, "accessToken"));
        const char *et = json_string_value(json_object_get(j, "expireTime"));
        int64_t when;
        if (t && *t) {
            *token = fbk_xstrdup(t);
            *life = json_is_integer(ex) && json_integer_value(ex) > 0 ? json_integer_value(ex) : 0;
        } else if (t2 && *t2) {
            *token = fbk_xstrdup(t2);
            *life = et && fbk_parse_rfc3339(et, &when) == 0 && when > host->now() ? when - host->now() : 0;
        } else {
            fbk_diag(host, diag, FB_SEV_ERROR, NULL, "google auth: %s answered HTTP %ld without an access token",
                     what, s);
            st = FB_INTERNAL;
        }
    } else {
        const char *m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
        if (!m) m = json_string_value(json_object_get(j, "error_description"));
        st = s == 429 || s >= 500 ? FB_RETRYABLE : FB_AUTH;
        fbk_diag(host, diag, FB_SEV_ERROR, NULL, "google auth: %s refused: HTTP %ld%s%s%s%s", what, s, m ? " " : "",
                 m ? m : "", hint ? "\n" : "", hint ? hint : "");
    }
    if (resp->body) fbk_wipe(resp->body, resp->body_len);
    wipe_json(j);
    json_decref(j);
    return st;
}

static fb_status fetch_metadata(const fetch_ctx *f, const fb_host *host, fb_diag *diag, char **token,
                                int64_t *life)
{
    fbk_buf u;
    fbk_buf_init(&u);
    const char *h = f->c->metadata_host;
    fbk_buf_printf(&u, "%s%s/computeMetadata/v1/instance/service-accounts/default/token?scopes=",
                   strncmp(h, "http://", 7) && strncmp(h, "https://", 8) ? "http://" : "", h);
    fbk_uri_encode(&u, f->a->scope, strlen(f->a->scope), 0);
    fb_http_header hd[] = {{"Metadata-Flavor", "Google"}};
    fb_http_request req = {.struct_size = sizeof req, .method = "GET", .url = u.data, .headers = hd,
                           .n_headers = 1, .flags = FB_HTTP_IDEMPOTENT, .service = "gce-metadata"};
    fb_http_response resp;
    fb_status st = host->http(diag, &req, &resp);
    fbk_buf_free(&u);
    if (st != FB_OK) return st;
    st = token_of(host, diag, "the metadata server", &resp, token, life,
                  "give the VM (or Cloud Run service) a service account with the cloud-platform scope");
    host->http_free(&resp);
    return st;
}

static fb_status fetch_service_account(const fetch_ctx *f, const fb_host *host, fb_diag *diag, char **token,
                                       int64_t *life)
{
    char *jwt = NULL, *err = NULL;
    if (fbk_gcred_assertion(f->c, f->a->scope, host->now(), &jwt, &err) != 0) {
        fbk_diag(host, diag, FB_SEV_ERROR, NULL, "google auth: %s: %s\ndownload a new JSON key for %s",
                 f->c->source, err, f->c->client_email);
        free(err);
        return FB_INVALID;
    }
    fbk_oauth2_field fields[] = {{"grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer", 0},
                                 {"assertion", jwt, 1}};
    char *cred = fbk_xasprintf("the key %s of service account %s", f->c->private_key_id ? f->c->private_key_id : "",
                               f->c->client_email);
    fbk_oauth2_grant g = {.token_url = f->c->token_uri, .credential_id = f->c->client_email,
                          .scope = f->a->scope, .fields = fields, .n_fields = 2, .service = f->a->service,
                          .what = "Google's token endpoint", .credential = cred,
                          .hint = "check that the key and the service account are enabled and that the "
                                  "machine's clock is right (the assertion is valid for an hour)"};
    fb_status st = fbk_oauth2_exchange(host, diag, &g, token, life);
    free(cred);
    fbk_free_secret(jwt);
    return st;
}

static fb_status fetch_authorized_user(const fetch_ctx *f, const fb_host *host, fb_diag *diag, char **token,
                                       int64_t *life)
{
    fbk_oauth2_field fields[] = {{"grant_type", "refresh_token", 0},
                                 {"client_id", f->c->client_id, 0},
                                 {"client_secret", f->c->client_secret, 1},
                                 {"refresh_token", f->c->refresh_token, 1}};
    fbk_oauth2_grant g = {.token_url = f->c->token_uri, .credential_id = f->c->refresh_token,
                          .scope = f->a->scope, .fields = fields, .n_fields = 4, .service = f->a->service,
                          .what = "Google's token endpoint", .credential = "the user's refresh token",
                          .hint = "run `gcloud auth application-default login` again"};
    return fbk_oauth2_exchange(host, diag, &g, token, life);
}

/* A GET for the AWS subject token's inputs (EC2 instance metadata). *body
 * new. */
static fb_status imds_get(const fb_host *host, fb_diag *diag, const char *url, const char *session, char **body)
{
    fb_http_header h[] = {{"X-aws-ec2-metadata-token", session}};
    fb_http_request req = {.struct_size = sizeof req, .method = "GET", .url = url, .headers = h,
                           .n_headers = session ? 1 : 0, .flags = FB_HTTP_IDEMPOTENT, .service = "aws-imds",
                           .secrets = session ? (const char *const[]){session} : NULL, .n_secrets = session ? 1 : 0};
    fb_http_response resp;
    *body = NULL;
    fb_status st = host->http(diag, &req, &resp);
    if (st != FB_OK) return st;
    if (resp.status != 200) {
        fbk_diag(host, diag, FB_SEV_ERROR, NULL, "google auth: the AWS instance metadata service answered HTTP %ld "
                 "to GET %s\nrun on EC2 with an instance profile, or set AWS_ACCESS_KEY_ID, "
                 "AWS_SECRET_ACCESS_KEY and AWS_REGION", resp.status, url);
        host->http_free(&resp);
        return FB_AUTH;
    }
    *body = fbk_xstrndup(resp.body ? resp.body : "", resp.body_len);
    if (resp.body) fbk_wipe(resp.body, resp.body_len);
    host->http_free(&resp);
    return FB_OK;
}

/* The serialized, SigV4-signed GetCallerIdentity request google-auth's
 * aws.Credentials sends as an AWS subject token. *out new (secret). */
static fb_status aws_subject(const fetch_ctx *f, const fb_host *host, fb_diag *diag, char **out)
{
    const fbk_gcred *c = f->c;
    *out = NULL;
    char *session = NULL, *region = NULL, *ak = NULL, *sk = NULL, *tok = NULL, *body = NULL;
    fb_status st = FB_OK;
    const char *er = env("AWS_REGION") ? env("AWS_REGION") : env("AWS_DEFAULT_REGION");
    int need_imds = !er || !(env("AWS_ACCESS_KEY_ID") && env("AWS_SECRET_ACCESS_KEY"));
    if (need_imds && c->aws_imdsv2_url) {
        /* IMDSv2: a session token first */
        fb_http_header h[] = {{"X-aws-ec2-metadata-token-ttl-seconds", "300"}};
        fb_http_request req = {.struct_size = sizeof req, .method = "PUT", .url = c->aws_imdsv2_url, .headers = h,
                               .n_headers = 1, .flags = FB_HTTP_IDEMPOTENT, .service = "aws-imds"};
        fb_http_response resp;
        st = host->http(diag, &req, &resp);
        if (st == FB_OK) {
            if (resp.status == 200) {
                session = fbk_xstrndup(resp.body ? resp.body : "", resp.body_len);
            } else {
                fbk_diag(host, diag, FB_SEV_ERROR, NULL, "google auth: the AWS instance metadata service "
                         "refused a session token: HTTP %ld", resp.status);
                st = FB_AUTH;
            }
            if (resp.body) fbk_wipe(resp.body, resp.body_len);
            host->http_free(&resp);
        }
    }
    if (st == FB_OK && er) {
        region = fbk_xstrdup(er);
    } else if (st == FB_OK && c->aws_region_url) {
        st = imds_get(host, diag, c->aws_region_url, session, &body);
        if (st == FB_OK) {
            /* an availability zone: the region is it without its last letter */
            size_t n = strcspn(body, "\r\n \t");
            if (n < 2) {
                fbk_diag(host, diag, FB_SEV_ERROR, NULL, "google auth: %s answered no availability zone",
                         c->aws_region_url);
                st = FB_AUTH;
            } else {
                region = fbk_xstrndup(body, n - 1);
            }
        }
        free(body);
        body = NULL;
    } else if (st == FB_OK) {
        fbk_diag(host, diag, FB_SEV_ERROR, NULL, "google auth: %s: no AWS region (AWS_REGION, AWS_DEFAULT_REGION "
                 "or credential_source.region_url)", c->source);
        st = FB_AUTH;
    }
    if (st == FB_OK && env("AWS_ACCESS_KEY_ID") && env("AWS_SECRET_ACCESS_KEY")) {
        ak = fbk_xstrdup(env("AWS_ACCESS_KEY_ID"));
        sk = fbk_xstrdup(env("AWS_SECRET_ACCESS_KEY"));
        tok = env("AWS_SESSION_TOKEN") ? fbk_xstrdup(env("AWS_SESSION_TOKEN")) : NULL;
    } else if (st == FB_OK && c->subject_url) {
        /* the instance profile: its role name, then its credentials */
        st = imds_get(host, diag, c->subject_url, session, &body);
        char *role = st == FB_OK ? fbk_xstrndup(body, strcspn(body, "\r\n \t")) : NULL;
        free(body);
        body = NULL;
        if (st == FB_OK) {
            char *u = fbk_xasprintf("%s/%s", c->subject_url, role);
            st = imds_get(host, diag, u, session, &body);
            free(u);
        }
        free(role);
        json_t *j = st == FB_OK ? json_loads(body, 0, NULL) : NULL;
        const char *a = json_string_value(json_object_get(j, "AccessKeyId"));
        const char *s = json_string_value(json_object_get(j, "SecretAccessKey"));
        const char *t = json_string_value(json_object_get(j, "Token"));
        if (st == FB_OK && (!a || !s)) {
            fbk_diag(host, diag, FB_SEV_ERROR, NULL, "google auth: the AWS instance metadata service's security "
                     "credentials lack AccessKeyId or SecretAccessKey");
            st = FB_AUTH;
        } else if (st == FB_OK) {
            ak = fbk_xstrdup(a);
            sk = fbk_xstrdup(s);
            tok = t ? fbk_xstrdup(t) : NULL;
        }
        wipe_json(j);
        json_decref(j);
        fbk_free_secret(body);
        body = NULL;
    } else if (st == FB_OK) {
        fbk_diag(host, diag, FB_SEV_ERROR, NULL, "google auth: %s: no AWS credentials (AWS_ACCESS_KEY_ID and "
                 "AWS_SECRET_ACCESS_KEY, or credential_source.url of the instance metadata service)", c->source);
        st = FB_AUTH;
    }
    if (st == FB_OK) {
        /* the verification URL of the region, signed at the host's clock */
        fbk_buf u;
        fbk_buf_init(&u);
        const char *v = c->aws_verify_url, *ph;
        while ((ph = strstr(v, "{region}"))) {
            fbk_buf_append(&u, v, (size_t)(ph - v));
            fbk_buf_puts(&u, region);
            v = ph + 8;
        }
        fbk_buf_puts(&u, v);
        fb_http_header h[] = {{"x-goog-cloud-target-resource", c->audience}};
        fbk_http_msg m = {.method = "POST", .url = u.data, .headers = h, .n_headers = 1, .body = "", .body_len = 0};
        fbk_sigv4_params p = {.access_key_id = ak, .secret_access_key = sk, .session_token = tok,
                              .region = region, .service = "sts", .time = host->now()};
        fbk_sigv4_out o;
        char *err = NULL;
        if (fbk_sigv4_sign(&p, &m, &o, &err) != 0) {
            fbk_diag(host, diag, FB_SEV_ERROR, NULL, "google auth: cannot sign the AWS GetCallerIdentity request: "
                     "%s", err);
            free(err);
            st = FB_INVALID;
        } else {
            /* {"headers": [{key, value}] sorted by key, "method", "url"},
             * compact with sorted keys, then URL-quoted ('/' kept), as
             * google-auth serializes it */
            const char *date = NULL, *auth = NULL, *sec = NULL;
            for (size_t i = 0; i < o.n_headers; i++) {
                if (!strcasecmp(o.headers[i].name, "X-Amz-Date")) date = o.headers[i].value;
                else if (!strcasecmp(o.headers[i].name, "Authorization")) auth = o.headers[i].value;
                else if (!strcasecmp(o.headers[i].name, "X-Amz-Security-Token")) sec = o.headers[i].value;
            }
            const char *hs = strstr(u.data, "://") + 3;
            size_t hl = strcspn(hs, "/?#");
            char *hostname = fbk_xstrndup(hs, hl);
            json_t *hdrs = json_array();
            json_array_append_new(hdrs, json_pack("{s:s,s:s}", "key", "Authorization", "value", auth ? auth : ""));
            json_array_append_new(hdrs, json_pack("{s:s,s:s}", "key", "host", "value", hostname));
            json_array_append_new(hdrs, json_pack("{s:s,s:s}", "key", "x-amz-date", "value", date ? date : ""));
            if (sec) json_array_append_new(hdrs, json_pack("{s:s,s:s}", "key", "x-amz-security-token", "value", sec));
            json_array_append_new(hdrs, json_pack("{s:s,s:s}", "key", "x-goog-cloud-target-resource", "value",
                                                  c->audience));
            json_t *doc = json_pack("{s:o,s:s,s:s}", "headers", hdrs, "method", "POST", "url", u.data);
            char *txt = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
            wipe_json(doc);
            json_decref(doc);
            fbk_buf q;
            fbk_buf_init(&q);
            fbk_uri_encode(&q, txt, strlen(txt), 1);
            *out = fbk_buf_steal(&q);
            fbk_free_secret(txt);
            free(hostname);
            fbk_sigv4_out_free(&o);
        }
        fbk_buf_free(&u);
    }
    fbk_free_secret(session);
    free(region);
    fbk_free_secret(ak);
    fbk_free_secret(sk);
    fbk_free_secret(tok);
    return st;
}

/* The external account's subject token (new, secret). */
static fb_status subject_token(const fetch_ctx *f, const fb_host *host, fb_diag *diag, char **out)
{
    const fbk_gcred *c = f->c;
    *out = NULL;
    if (c->subject_kind == FBK_GSUBJECT_AWS) return aws_subject(f, host, diag, out);
    char *raw = NULL;
    size_t len = 0;
    const char *from;
    if (c->subject_kind == FBK_GSUBJECT_FILE) {
        int eno = 0;
        char *err = NULL;
        raw = fbk_read_file(c->subject_file, MAX_SUBJECT_TOKEN, &len, &eno, &err);
        if (!raw) {
            fbk_diag(host, diag, FB_SEV_ERROR, NULL, "google auth: %s: cannot read the subject token: %s\nthe "
                     "credential_source.file must hold the workload's token (e.g. a projected service account "
                     "token)", c->source, err);
            free(err);
            return FB_AUTH;
        }
        from = c->subject_file;
    } else {
        size_t nh = json_object_size(c->subject_headers);
        fb_http_header *h = fbk_xcalloc(nh ? nh : 1, sizeof *h);
        const char *k;
        json_t *v;
        size_t i = 0;
        json_object_foreach(c->subject_headers, k, v) h[i++] = (fb_http_header){k, json_string_value(v)};
        fb_http_request req = {.struct_size = sizeof req, .method = "GET", .url = c->subject_url, .headers = h,
                               .n_headers = nh, .flags = FB_HTTP_IDEMPOTENT, .service = "google-auth-subject"};
        fb_http_response resp;
        fb_status st = host->http(diag, &req, &resp);
        free(h);
        if (st != FB_OK) return st;
        if (resp.status != 200) {
            fbk_diag(host, diag, FB_SEV_ERROR, NULL, "google auth: %s: the subject token URL answered HTTP %ld",
                     c->source, resp.status);
            host->http_free(&resp);
            return resp.status >= 500 || resp.status == 429 ? FB_RETRYABLE : FB_AUTH;
        }
        raw = fbk_xstrndup(resp.body ? resp.body : "", resp.body_len);
        len = resp.body_len;
        if (resp.body) fbk_wipe(resp.body, resp.body_len);
        host->http_free(&resp);
        from = c->subject_url;
    }
    fb_status st = FB_OK;
    if (c->subject_json) {
        json_t *j = json_loadb(raw, len, 0, NULL);
        const char *t = json_string_value(json_object_get(j, c->subject_field));
        if (!t || !*t) {
            fbk_diag(host, diag, FB_SEV_ERROR, NULL, "google auth: %s: the subject token from %s is not a JSON "
                     "object with a string member \"%s\" (credential_source.format)", c->source, from,
                     c->subject_field);
            st = FB_AUTH;
        } else {
            *out = fbk_xstrdup(t);
        }
        wipe_json(j);
        json_decref(j);
    } else {
        /* text: the whole content, without a trailing newline */
        while (len && (raw[len - 1] == '\n' || raw[len - 1] == '\r')) len--;
        if (!len) {
            fbk_diag(host, diag, FB_SEV_ERROR, NULL, "google auth: %s: the subject token from %s is empty",
                     c->source, from);
            st = FB_AUTH;
        } else {
            *out = fbk_xstrndup(raw, len);
        }
    }
    fbk_free_secret(raw);
    return st;
}

static fb_status fetch_external_account(const fetch_ctx *f, const fb_host *host, fb_diag *diag, char **token,
                                        int64_t *life)
{
    const fbk_gcred *c = f->c;
    char *subject = NULL;
    fb_status st = subject_token(f, host, diag, &subject);
    if (st != FB_OK) return st;
    /* STS (RFC 8693); with impersonation the federated token only needs to
     * call generateAccessToken, so it asks for cloud-platform */
    const char *sts_scope = c->impersonation_url ? FBK_GOOGLE_SCOPE_CLOUD : f->a->scope;
    char *options = NULL;
    if (c->workforce_user_project && !c->impersonation_url)
        options = fbk_xasprintf("{\"userProject\":\"%s\"}", c->workforce_user_project);
    fbk_oauth2_field fields[] = {{"grant_type", TOKEN_EXCHANGE, 0},
                                 {"audience", c->audience, 0},
                                 {"scope", sts_scope, 0},
                                 {"requested_token_type", ACCESS_TOKEN_TYPE, 0},
                                 {"subject_token", subject, 1},
                                 {"subject_token_type", c->subject_token_type, 0},
                                 {"options", options, 0}};
    fbk_oauth2_grant g = {.token_url = c->sts_url, .credential_id = c->audience, .scope = sts_scope,
                          .fields = fields, .n_fields = options ? 7 : 6, .service = f->a->service,
                          .what = "Google's Security Token Service", .credential = "the external subject token",
                          .hint = "check the workload identity pool provider (issuer, audience, attribute "
                                  "condition) named by the credential file's audience"};
    char *sts = NULL;
    int64_t sts_life = 0;
    st = fbk_oauth2_exchange(host, diag, &g, &sts, &sts_life);
    fbk_free_secret(subject);
    free(options);
    if (st != FB_OK || !c->impersonation_url) {
        *token = sts;
        *life = sts_life;
        return st;
    }
    /* then the service account's own token (generateAccessToken) */
    json_t *b = json_pack("{s:[s],s:s}", "scope", f->a->scope, "lifetime", "");
    char lt[32];
    snprintf(lt, sizeof lt, "%llds", (long long)c->impersonation_lifetime);
    json_object_set_new(b, "lifetime", json_string(lt));
    char *body = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(b);
    fb_http_header h[] = {{"Content-Type", "application/json"}};
    fb_http_request req = {.struct_size = sizeof req, .method = "POST", .url = c->impersonation_url,
                           .headers = h, .n_headers = 1, .body = body, .body_len = strlen(body),
                           .flags = FB_HTTP_IDEMPOTENT, .service = f->a->service};
    fb_http_response resp;
    st = fbk_bearer_send(host, diag, sts, &req, &resp);
    free(body);
    fbk_free_secret(sts);
    if (st != FB_OK) return st;
    st = token_of(host, diag, "IAM Credentials generateAccessToken", &resp, token, life,
                  "the federated principal needs roles/iam.workloadIdentityUser (or "
                  "roles/iam.serviceAccountTokenCreator) on the service account it impersonates");
    host->http_free(&resp);
    return st;
}

static fb_status fetch(void *ud, const fb_host *host, fb_diag *diag, char **token, int64_t *life)
{
    const fetch_ctx *f = ud;
    switch (f->c->type) {
    case FBK_GCRED_SERVICE_ACCOUNT: return fetch_service_account(f, host, diag, token, life);
    case FBK_GCRED_AUTHORIZED_USER: return fetch_authorized_user(f, host, diag, token, life);
    case FBK_GCRED_EXTERNAL_ACCOUNT: return fetch_external_account(f, host, diag, token, life);
    case FBK_GCRED_METADATA: return fetch_metadata(f, host, diag, token, life);
    default:
        fbk_diag(host, diag, FB_SEV_ERROR, NULL, "google auth: no credential");
        return FB_INTERNAL;
    }
}

/* The cache key of a credential: (url, id); never a secret in clear (the
 * cache hashes it). */
static void cache_key(const fbk_gcred *c, const char **url, const char **id)
{
    switch (c->type) {
    case FBK_GCRED_SERVICE_ACCOUNT: *url = c->token_uri; *id = c->client_email; break;
    case FBK_GCRED_AUTHORIZED_USER: *url = c->token_uri; *id = c->refresh_token; break;
    case FBK_GCRED_EXTERNAL_ACCOUNT:
        *url = c->impersonation_url ? c->impersonation_url : c->sts_url;
        *id = c->audience;
        break;
    default: *url = c->metadata_host; *id = "metadata"; break;
    }
}

/* fbk_gauth_token that also says whether the token came from the cache. */
static fb_status get_token(fbk_gauth *a, const fb_host *host, fb_diag *diag, char **token, int *cached)
{
    *token = NULL;
    *cached = 0;
    if (host->dry_run(diag)) {
        /* nothing is sent: no exchange, but the credential must be there */
        fb_status st = fbk_gauth_check(a, host, diag, NULL);
        if (st == FB_OK) *token = fbk_xstrdup(FBK_GOOGLE_DRY_TOKEN);
        return st;
    }
    const fbk_gcred *c;
    fb_status st = credential(a, host, diag, &c);
    if (st != FB_OK) return st;
    if (c->type == FBK_GCRED_ACCESS_TOKEN) {
        *token = fbk_xstrdup(c->access_token); /* nothing to fetch or refresh */
        return FB_OK;
    }
    const char *url, *id;
    cache_key(c, &url, &id);
    fetch_ctx f = {a, c};
    return fbk_token_cache_get(a->cache, host, diag, url, id, a->scope, fetch, &f, token, cached);
}

fb_status fbk_gauth_token(fbk_gauth *a, const fb_host *host, fb_diag *diag, char **token)
{
    int cached;
    return get_token(a, host, diag, token, &cached);
}

fb_status fbk_gauth_send(fbk_gauth *a, const fb_host *host, fb_diag *diag, const fb_http_request *req,
                         fb_http_response *resp)
{
    char *token = NULL;
    int cached = 0;
    memset(resp, 0, sizeof *resp);
    fb_status st = get_token(a, host, diag, &token, &cached);
    if (st != FB_OK) return st;
    st = fbk_bearer_send(host, diag, token, req, resp);
    if (st == FB_OK && resp->status == 401 && cached) {
        /* revoked or expired early: one fresh token, one more try */
        host->http_free(resp);
        const fbk_gcred *c;
        if (credential(a, host, diag, &c) == FB_OK) {
            const char *url, *id;
            cache_key(c, &url, &id);
            fbk_token_cache_drop(a->cache, url, id, a->scope);
        }
        fbk_free_secret(token);
        token = NULL;
        st = get_token(a, host, diag, &token, &cached);
        if (st == FB_OK) st = fbk_bearer_send(host, diag, token, req, resp);
    }
    fbk_free_secret(token);
    return st;
}
