/* host.c - the services table handed to every driver. Everything a driver
 * needs from the outside world (memory, time, HTTP, credentials, logging,
 * recording cloud ids) goes through here so tests can fix it. */
#include "config.h"
#include "base/call.h"
#include "http/http.h"
#include "base/diag.h"
#include "base/trust.h"
#include "base/util.h"
#include "host/host.h"
#include "base/jsonread.h"

#include <pthread.h>
#include <stddef.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void *host_alloc(size_t n) { return fbi_xmalloc(n); }
static void host_free(void *p) { free(p); }

/* Redacted like diagnostics: a driver may log what a provider said. */
static void host_log(fb_diag *d, fb_log_level level, const char *message)
{
    fbi_call *c = fbi_call_of(d);
    fbi_call_log(c, c ? c->driver : "driver", level, message);
}

static int64_t host_now(void)
{
    int64_t t;
    char *err = NULL;
    if (fbi_now(&t, &err) != 0) {
        /* Malformed FEDBROKER_NOW is reported by the CLI at start-up; fall
         * back to the real clock rather than inventing a time. */
        free(err);
        return (int64_t)time(NULL);
    }
    return t;
}

/* Tests set FEDBROKER_SLEEP_SCALE=0 to poll without waiting. */
static void host_sleep_ms(fb_diag *d, uint32_t ms)
{
    const char *s = getenv("FEDBROKER_SLEEP_SCALE");
    double scale = s ? atof(s) : 1.0;
    double total = (double)ms * scale;
    if (total <= 0) return;
    struct timespec ts = {(time_t)(total / 1000), (long)((long long)total % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static fb_status host_http(fb_diag *d, const fb_http_request *req, fb_http_response *resp)
{
    fbi_call *c = fbi_call_of(d);
    memset(resp, 0, sizeof *resp);
    /* From now on the call knows what it sent: whatever comes back quoting
     * it is redacted before it is printed or stored. */
    if (c) fbi_secrets_add_request(&c->secrets, req);
    if (c && c->dry_run) {
        if (!c->dry_requests) c->dry_requests = json_array();
        json_t *shown = fbi_http_request_json(req);
        /* a portable secret the driver put in a body (CreateSecret) */
        if (c->handed.n) fbi_redact_json(&c->handed, 0, shown);
        json_array_append_new(c->dry_requests, shown);
        return FB_OK;
    }
    /* fields past the driver's struct_size count as absent (0 = current) */
    size_t sz = req->struct_size ? req->struct_size : sizeof *req;
    uint32_t flags = sz >= offsetof(fb_http_request, flags) + sizeof req->flags ? req->flags : 0;
    if (c && c->barrier_cb && req->method && strcmp(req->method, "GET") != 0 &&
        strcmp(req->method, "HEAD") != 0 && !(flags & FB_HTTP_READ_ONLY)) {
        fb_status st = c->barrier_cb(c->barrier_ud, d);
        if (st != FB_OK) return st;
    }
    return fbi_http_perform(d, req, resp);
}

/* The configuration's credentials section (new JSON; NULL = none). */
static pthread_mutex_t cred_mu = PTHREAD_MUTEX_INITIALIZER;
static json_t *cred_section;

void fbi_host_set_credentials(const char *config_json)
{
    json_t *all = config_json ? json_loads(config_json, 0, NULL) : NULL;
    json_t *sec = json_object_get(all, "credentials");
    pthread_mutex_lock(&cred_mu);
    json_decref(cred_section);
    cred_section = json_is_object(sec) ? json_deep_copy(sec) : NULL;
    pthread_mutex_unlock(&cred_mu);
    json_decref(all);
}

/* A credential file: a secret, so another user must not be able to write
 * it (base/trust.h's rules) nor read it (mode without group/other bits). */
static const fbi_trust_role credential_role = {"credential refused",
                                               "could replace the credential the broker sends"};

static char *read_credential_file(const char *path, fb_diag *d, const char *what)
{
    char *real = NULL;
    if (path[0] != '/') {
        char *m = fbi_xasprintf("%s: file '%s' is a relative path", what, path);
        fb_diag_add(d, FB_SEV_ERROR, NULL, 0, 0, NULL, m,
                    "name the credential file by its absolute path in the configuration");
        free(m);
        return NULL;
    }
    if (fbi_trust_check(path, &credential_role, path, d, &real) != 0) return NULL;
    struct stat st;
    if (stat(real, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077)) {
        char *m = fbi_xasprintf("%s: file %s is not a regular file readable by its owner only",
                                what, path);
        char *fix = fbi_xasprintf("chmod 600 %s", real);
        fb_diag_add(d, FB_SEV_ERROR, NULL, 0, 0, NULL, m, fix);
        free(m);
        free(fix);
        free(real);
        return NULL;
    }
    size_t len = 0;
    char *err = NULL;
    char *v = fbi_read_file(real, 64 * 1024, &len, &err);
    free(real);
    if (!v) {
        char *m = fbi_xasprintf("%s: %s", what, err ? err : "cannot read the file");
        fb_diag_add(d, FB_SEV_ERROR, NULL, 0, 0, NULL, m, NULL);
        free(m);
        free(err);
        return NULL;
    }
    /* one line, as files written with echo or an editor end */
    while (len && (v[len - 1] == '\n' || v[len - 1] == '\r')) v[--len] = '\0';
    return v;
}

static fbi_secret_source_fn secret_source;
static void *secret_source_ud;

void fbi_host_set_secret_source(fbi_secret_source_fn fn, void *ud)
{
    pthread_mutex_lock(&cred_mu);
    secret_source = fn;
    secret_source_ud = ud;
    pthread_mutex_unlock(&cred_mu);
}

/* secret://NAME or secret-version://NAME of the call's tenant. */
static fb_status portable_secret(fbi_call *c, fb_diag *d, const char *key, char **out)
{
    int want_version = strncmp(key, "secret-version://", 17) == 0;
    const char *name = key + (want_version ? 17 : 9);
    pthread_mutex_lock(&cred_mu);
    fbi_secret_source_fn fn = secret_source;
    void *ud = secret_source_ud;
    pthread_mutex_unlock(&cred_mu);
    if (!fn || !c->tenant) return FB_NOTFOUND;
    char *v = NULL;
    long long version = 0;
    fb_status st = fn(ud, c->tenant, name, &v, &version, d);
    if (st != FB_OK) return st;
    if (want_version) {
        explicit_bzero(v, strlen(v));
        free(v);
        char num[24];
        snprintf(num, sizeof num, "%lld", version);
        *out = host_alloc(strlen(num) + 1);
        memcpy(*out, num, strlen(num) + 1);
        return FB_OK;
    }
    /* from now on the call redacts the value wherever it shows what it did */
    fbi_secrets_add(&c->secrets, v);
    fbi_secrets_add(&c->handed, v);
    size_t n = strlen(v) + 1;
    *out = host_alloc(n);
    memcpy(*out, v, n);
    explicit_bzero(v, n);
    free(v);
    return FB_OK;
}

/* credentials.DRIVER.KEY of the configuration, for the driver the call is
 * attributed to: a driver sees only what was configured for it; and the
 * call's tenant's portable secrets (secret://NAME). */
static fb_status host_credential(fb_diag *d, const char *key, char **out)
{
    *out = NULL;
    fbi_call *c = fbi_call_of(d);
    if (!c || !c->driver || !key) return FB_NOTFOUND;
    if (strncmp(key, "secret://", 9) == 0 || strncmp(key, "secret-version://", 17) == 0)
        return portable_secret(c, d, key, out);
    pthread_mutex_lock(&cred_mu);
    json_t *src = json_deep_copy(json_object_get(json_object_get(cred_section, c->driver), key));
    pthread_mutex_unlock(&cred_mu);
    if (!src) return FB_NOTFOUND;
    char *what = fbi_xasprintf("credential %s of driver %s (credentials/%s/%s)", key, c->driver,
                               c->driver, key);
    const char *env = json_string_value(json_object_get(src, "env"));
    const char *file = json_string_value(json_object_get(src, "file"));
    char *v = NULL;
    if (env) {
        const char *e = getenv(env);
        if (e && *e) v = fbi_xstrdup(e);
        else {
            char *m = fbi_xasprintf("%s: the environment variable %s is not set", what, env);
            fb_diag_add(d, FB_SEV_ERROR, NULL, 0, 0, NULL, m,
                        "set it in the broker's environment, or remove the credential from the "
                        "configuration");
            free(m);
        }
    } else if (file) {
        v = read_credential_file(file, d, what);
    } else {
        char *m = fbi_xasprintf("%s names neither \"env\" nor \"file\"", what);
        fb_diag_add(d, FB_SEV_ERROR, NULL, 0, 0, NULL, m, NULL);
        free(m);
    }
    free(what);
    json_decref(src);
    if (!v || !*v) {
        if (v) {
            fb_diag_add(d, FB_SEV_ERROR, NULL, 0, 0, NULL, "a configured credential is empty", key);
            free(v);
        }
        return FB_AUTH;
    }
    /* from now on the call redacts it wherever it shows what it did */
    fbi_secrets_add(&c->secrets, v);
    size_t n = strlen(v) + 1;
    *out = host_alloc(n);
    memcpy(*out, v, n);
    explicit_bzero(v, n); /* glibc: not optimised away */
    free(v);
    return FB_OK;
}

static void host_diag_add(fb_diag *d, fb_severity sev, const char *summary,
                          const char *detail, const char *pointer)
{
    fb_diag_add(d, sev, NULL, 0, 0, pointer, summary, detail);
}

static fb_status host_record(fb_diag *d, const char *resource_json)
{
    fbi_call *c = fbi_call_of(d);
    json_error_t je;
    json_t *j = fbi_json_reads(resource_json, 0, &je);
    if (!j || !json_is_object(j) || !json_is_string(json_object_get(j, "id"))) {
        json_decref(j);
        fb_diag_add(d, FB_SEV_ERROR, NULL, 0, 0, NULL,
                    "host->record needs a JSON object with a string \"id\"", resource_json);
        return FB_INVALID;
    }
    /* stored as the broker keeps it: redacted like everything else */
    fbi_call_redact_json(c, j);
    if (c) json_array_append(c->recorded, j);
    fb_status st = FB_OK;
    if (c && c->record_cb) {
        char *text = fbi_json_canonical(j);
        st = c->record_cb(c->record_ud, c->driver, j, text, d);
        free(text);
    }
    json_decref(j);
    return st;
}

static int host_dry_run(fb_diag *d)
{
    fbi_call *c = fbi_call_of(d);
    return c ? c->dry_run : 0;
}

static const fb_host host_table = {
    .abi_major = FB_ABI_MAJOR,
    .abi_minor = FB_ABI_MINOR,
    .struct_size = sizeof(fb_host),
    .alloc = host_alloc,
    .free = host_free,
    .log = host_log,
    .now = host_now,
    .sleep_ms = host_sleep_ms,
    .http = host_http,
    .http_free = fbi_http_free,
    .credential = host_credential,
    .diag_add = host_diag_add,
    .record = host_record,
    .dry_run = host_dry_run,
    .http_many = fbi_host_http_many,
};

const fb_host *fb_host_table(void)
{
    return &host_table;
}
