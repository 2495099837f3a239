/* config.c - the broker configuration: where it is read from, whether it
 * may be trusted, and whether it says what it means.
 *
 * The configuration decides where signed requests go (endpoints, roles, a
 * CA bundle), so it is read only from a file and a state directory that no
 * other user can change (base/trust.h, the driver loader's rules), and it
 * is validated against schemas/config.v1.schema.json (embedded at build
 * time, checked by the spec validator's machinery) so a misspelt key is
 * an error with file:line:col, JSON pointer and did-you-mean, never a
 * silently ignored setting. Driver settings are the drivers' own: each
 * driver that has settings is configured when the broker opens, and a
 * setting it refuses is an error there too (fbi_broker_open). */
#include "config.h"
#include "broker/broker.h"
#include "base/trust.h"
#include "base/util.h"
#include "http/http.h"
#include "spec/spec.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FB_CONFIG_MAX (1u << 20)

static const fbi_trust_role config_role = {
    "configuration refused",
    "could change where the broker sends signed requests (endpoints, roles, the CA bundle)"};
static const fbi_trust_role home_role = {
    "state directory refused",
    "could replace the configuration and the state the broker trusts (the endpoints signed "
    "requests go to, the cloud ids it deletes)"};

/* ---- the embedded schema ---------------------------------------------- */

extern const char fbi_config_schema_data[];
static fbi_schema *schema;
static char *schema_err;
static pthread_once_t schema_once = PTHREAD_ONCE_INIT;

static void schema_load(void)
{
    schema = fbi_schema_new(fbi_config_schema_data, &schema_err);
}

const char *fbi_config_schema_text(void)
{
    return fbi_config_schema_data;
}

/* ---- where a pointer is ------------------------------------------------ */

void fbi_config_src_free(fbi_config_src *src)
{
    free(src->file);
    fbi_locmap_unref(src->locs);
    free(src->prefix);
    memset(src, 0, sizeof *src);
}

void fbi_config_diag(const fbi_config_src *src, fb_diag *diag, fb_severity sev,
                     const char *pointer, const char *summary, const char *detail)
{
    int line = 0, col = 0;
    if (src && src->locs && pointer) {
        char *lp = fbi_xasprintf("%s%s", src->prefix ? src->prefix : "", pointer);
        fbi_loc_get(src->locs, lp, &line, &col);
        free(lp);
    }
    fb_diag_add(diag, sev, src ? src->file : NULL, line, col, pointer, summary, detail);
}

/* Moves every diagnostic of from into diag, located in the configuration
 * file by its pointer (or at `fallback` when it has none). */
static void relocate(const fbi_config_src *src, fb_diag *diag, const fb_diag *from,
                     const char *fallback)
{
    for (size_t i = 0; i < fb_diag_count(from); i++) {
        const char *p = fb_diag_pointer(from, i);
        fbi_config_diag(src, diag, fb_diag_severity(from, i), p ? p : fallback,
                        fb_diag_summary(from, i), fb_diag_detail(from, i));
    }
}

/* ---- reading ---------------------------------------------------------- */

typedef struct located {
    int line, col;
    size_t seq;
    const fbi_schema_error *e;
} located;

static int cmp_located(const void *a, const void *b)
{
    const located *x = a, *y = b;
    if (x->line != y->line) return x->line < y->line ? -1 : 1;
    if (x->col != y->col) return x->col < y->col ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Validates cfg against the embedded schema; every error in file order.
 * Returns the number of errors. */
static size_t schema_check(const fbi_config_src *src, const json_t *cfg, fb_diag *diag)
{
    pthread_once(&schema_once, schema_load);
    if (!schema) {
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL,
                    "the embedded configuration schema does not load", schema_err);
        return 1;
    }
    fbi_schema_errors errs = {0};
    size_t n = fbi_schema_validate(schema, "#", cfg, &errs);
    located *l = fbi_xcalloc(errs.n + 1, sizeof *l);
    for (size_t i = 0; i < errs.n; i++) {
        char *lp = fbi_xasprintf("%s%s", src->prefix ? src->prefix : "", errs.v[i].pointer);
        fbi_loc_get(src->locs, lp, &l[i].line, &l[i].col);
        free(lp);
        l[i].seq = i;
        l[i].e = &errs.v[i];
    }
    qsort(l, errs.n, sizeof *l, cmp_located);
    for (size_t i = 0; i < errs.n; i++) {
        const fbi_schema_error *e = l[i].e;
        fb_diag_add(diag, FB_SEV_ERROR, src->file, l[i].line, l[i].col, e->pointer, e->summary,
                    e->detail);
    }
    if (n > errs.n) {
        char *m = fbi_xasprintf("%zu more errors in the configuration are not shown", n - errs.n);
        fb_diag_add(diag, FB_SEV_ERROR, src->file, 0, 0, NULL, m,
                    "fix the errors above and run again to see the rest");
        free(m);
    }
    free(l);
    fbi_schema_errors_free(&errs);
    return n;
}

/* Reads and parses one configuration file (JSON or YAML, one document),
 * after checking that no other user can change it. */
static json_t *config_read(const char *path, fbi_config_src *src, fb_diag *diag)
{
    struct stat st;
    /* a missing file is reported by the read below, with its own advice */
    if (stat(path, &st) == 0 && fbi_trust_check(path, &config_role, path, diag, NULL) != 0)
        return NULL;
    char *err = NULL;
    size_t len;
    char *text = fbi_read_file(path, FB_CONFIG_MAX, &len, &err);
    if (!text) {
        fb_diag_add(diag, FB_SEV_ERROR, path, 0, 0, NULL, err,
                    "fix FEDBROKER_CONFIG or remove the file to use the defaults");
        free(err);
        return NULL;
    }
    fbi_parsed parsed;
    memset(&parsed, 0, sizeof parsed);
    json_t *cfg = NULL;
    if (fbi_spec_parse(path, text, len, FBI_FMT_AUTO, &parsed, diag) == 0) {
        if (parsed.n == 1 && json_is_object(parsed.docs[0].value)) {
            cfg = json_incref(parsed.docs[0].value);
            src->file = fbi_xstrdup(path);
            src->locs = fbi_locmap_ref(parsed.docs[0].locs);
            src->prefix = fbi_xstrdup(parsed.docs[0].prefix ? parsed.docs[0].prefix : "");
        } else {
            fb_diag_add(diag, FB_SEV_ERROR, path, 0, 0, NULL,
                        "the configuration must be one object (drivers, http, quotas, catalog)",
                        "see schemas/config.v1.schema.json");
        }
    }
    fbi_parsed_free(&parsed);
    free(text);
    return cfg;
}

/* What the schema cannot say about the identity section: the issuer is
 * where AWS and GCP fetch the signing keys from, so it must be https (they
 * refuse anything else); plain http is accepted for a loopback host only,
 * where tests serve the published documents. Returns the errors added. */
static int identity_check(const fbi_config_src *src, const json_t *cfg, fb_diag *diag)
{
    const char *iss = json_string_value(json_object_get(json_object_get(cfg, "identity"), "issuer"));
    if (!iss || strncmp(iss, "https://", 8) == 0) return 0;
    static const char *const loopback[] = {"http://127.0.0.1", "http://localhost", "http://[::1]"};
    for (size_t i = 0; i < sizeof loopback / sizeof *loopback; i++) {
        size_t n = strlen(loopback[i]);
        if (strncmp(iss, loopback[i], n) == 0 && strchr(":/", iss[n] ? iss[n] : '/')) return 0;
    }
    fbi_config_diag(src, diag, FB_SEV_ERROR, "/identity/issuer",
                    "the issuer must be an https:// URL (plain http only on a loopback host)",
                    "AWS IAM and GCP STS fetch the issuer's keys over HTTPS only; host the output "
                    "of `fedbroker identity publish` on an HTTPS origin and name it here");
    return 1;
}

fb_status fbi_home_check(fb_diag *diag)
{
    char *dir = fb_state_dir();
    struct stat st;
    int bad = stat(dir, &st) == 0 && fbi_trust_check(dir, &home_role, dir, diag, NULL) != 0;
    free(dir);
    return bad ? FB_INVALID : FB_OK;
}

json_t *fbi_config_load(fbi_config_src *src_out, fb_diag *diag)
{
    fbi_config_src src = {0};
    const char *env = getenv("FEDBROKER_CONFIG");
    json_t *cfg = NULL;
    /* the state directory holds the state (and usually the configuration):
     * refused as a whole when another user could change it */
    if (fbi_home_check(diag) != FB_OK) return NULL;
    if (env && *env) {
        cfg = config_read(env, &src, diag);
    } else {
        char *dir = fb_state_dir();
        static const char *names[] = {"config.json", "config.yaml", "config.yml"};
        for (size_t i = 0; i < 3 && !cfg; i++) {
            char *p = fbi_xasprintf("%s/%s", dir, names[i]);
            struct stat st;
            if (stat(p, &st) == 0) {
                cfg = config_read(p, &src, diag);
                if (!cfg) {
                    free(p);
                    free(dir);
                    fbi_config_src_free(&src);
                    return NULL;
                }
            }
            free(p);
        }
        free(dir);
        if (!cfg) cfg = json_object();
    }
    if (!cfg || schema_check(&src, cfg, diag) != 0 || identity_check(&src, cfg, diag) != 0) {
        json_decref(cfg);
        fbi_config_src_free(&src);
        return NULL;
    }
    /* The HTTP service reads its section itself (it is also configured by
     * tests without a file); what it refuses is located in the file too. */
    char *text = fbi_json_canonical(cfg);
    fb_diag *hd = fb_diag_new();
    fb_status st = fbi_http_configure(text, hd);
    free(text);
    relocate(&src, diag, hd, "/http");
    fb_diag_free(hd);
    if (st != FB_OK) {
        json_decref(cfg);
        fbi_config_src_free(&src);
        return NULL;
    }
    if (src_out) *src_out = src;
    else fbi_config_src_free(&src);
    return cfg;
}

/* ---- driver settings --------------------------------------------------- */

/* The loaded driver name nearest to name, or NULL. borrowed. */
static const char *nearest_driver(const fb_registry *reg, const char *name)
{
    const char *best = NULL;
    int bestd = 3;
    for (size_t i = 0; i < fb_registry_count(reg); i++) {
        const char *n = fb_registry_get(reg, i)->name;
        int d = fbi_edit_distance(name, n, 2);
        if (d < bestd) {
            bestd = d;
            best = n;
        }
    }
    return best;
}

fb_status fbi_config_configure_drivers(fb_registry *reg, const json_t *cfg,
                                       const fbi_config_src *src, fb_diag *diag)
{
    fb_status out = FB_OK;
    const char *name;
    json_t *settings;
    json_object_foreach(json_object_get(cfg, "drivers"), name, settings) {
        fbi_buf ptr;
        fbi_buf_init(&ptr);
        fbi_buf_puts(&ptr, "/drivers");
        fbi_pointer_append(&ptr, name);
        if (!fb_registry_find(reg, name)) {
            /* a driver not installed here is not an error (one configuration
             * may serve several hosts), a misspelt one should be seen */
            const char *near = nearest_driver(reg, name);
            char *m = near ? fbi_xasprintf("settings for driver '%s', which is not loaded; did you "
                                           "mean '%s'?", name, near)
                           : fbi_xasprintf("settings for driver '%s', which is not loaded", name);
            fbi_config_diag(src, diag, FB_SEV_WARNING, ptr.data, m,
                            "`fedbroker drivers` lists the loaded drivers (FEDBROKER_DRIVER_PATH)");
            free(m);
            fbi_buf_free(&ptr);
            continue;
        }
        const fb_driver *drv;
        fb_driver_ctx *ctx;
        fb_diag *cd = fb_diag_new();
        fb_status st = fb_registry_context(reg, name, &drv, &ctx, cd);
        if (st == FB_INVALID) {
            /* the driver refused its settings: the configuration is wrong */
            relocate(src, diag, cd, ptr.data);
            out = FB_INVALID;
        } else if (st != FB_OK) {
            /* not the settings' fault (memory, ...): the driver is left out */
            for (size_t i = 0; i < fb_diag_count(cd); i++) {
                const char *p = fb_diag_pointer(cd, i);
                fbi_config_diag(src, diag, FB_SEV_WARNING, p ? p : ptr.data,
                                fb_diag_summary(cd, i), fb_diag_detail(cd, i));
            }
        }
        fb_diag_free(cd);
        fbi_buf_free(&ptr);
    }
    return out;
}
