/* common.c - what several verbs do the same way: load specs, open the
 * broker and the store, print diagnostics, write a report. */
#include "config.h"
#include "cli/cli.h"
#include "spec/spec.h"
#include "catalog/catalog.h"
#include "base/util.h"
#include "host/host.h"
#include "identity/identity.h"
#include "http/http.h"
#include "state/lock.h"
#include "state/state.h"
#include "fbq.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The spec reader's program checker (fbi_program_check_fn): parses a
 * QuantumJob's program with the OpenQASM library, as the quantum driver
 * does (drivers/quantum/quantum.c), so `validate` refuses what `plan` would
 * find infeasible everywhere. Thread: the caller's.
 *
 * Includes: the normal form carries the program text alone, and the driver
 * parses it without a filesystem (no fbq_parse_options: only the embedded
 * qelib1.inc and stdgates.inc); the check does the same, so it accepts
 * exactly what the driver will. dir and roots (the spec's trees, the
 * --allow-path ones) are the call site for reading a program's own
 * includes confined to those trees once the OpenQASM parser takes a list of
 * allowed roots (issue 9, the quantum side); the normal form would then
 * have to carry the included files for the driver to see them too. */
static int check_program(void *ctx, const char *source, size_t len, const char *dir,
                         const char *const *roots, char **msg, int *line, int *col)
{
    (void)ctx;
    (void)dir;
    (void)roots;
    fbq_error e;
    fbq_program *p = fbq_parse("program", source, len, NULL, &e);
    if (p) {
        fbq_program_free(p);
        return 0;
    }
    *msg = fbi_xasprintf("%s (%s)", e.message, fbq_status_name(e.code));
    *line = e.line;
    *col = e.column;
    return -1;
}

/* The catalog a spec's names are checked against (fbi_vocab_check_fn):
 * the one plan will read ($FEDBROKER_CATALOG or the embedded copy), opened
 * once per process on first use, or ahead on a second thread
 * (fbc_vocab_warm_start); a catalog that cannot be opened checks nothing
 * here (plan reports it). vocab_mu guards the three below and the warm
 * thread's handle; the warm thread writes vocab_cat and vocab_tried
 * unlocked, read only after it is joined (under vocab_mu). */
static pthread_mutex_t vocab_mu = PTHREAD_MUTEX_INITIALIZER;
static fbi_catalog *vocab_cat;
static int vocab_tried, vocab_atexit;
static pthread_t vocab_thread;
static int vocab_warming; /* vocab_thread runs or has not been joined */

static void vocab_free_at_exit(void);

/* Opens the catalog (vocab_tried set). The caller holds vocab_mu, or is
 * the warm thread. */
static void vocab_open(void)
{
    vocab_tried = 1;
    fb_diag *d = fb_diag_new();
    if (fbi_catalog_open(NULL, NULL, &vocab_cat, d) != FB_OK) vocab_cat = NULL;
    fb_diag_free(d);
}

/* The warm thread: the catalog, then the spec schema (compiled once per
 * process, pthread_once). */
static void *vocab_warm_run(void *arg)
{
    (void)arg;
    vocab_open();
    fbi_spec_schema(NULL);
    return NULL;
}

/* Waits for the warm thread. The caller holds vocab_mu. */
static void vocab_join(void)
{
    if (!vocab_warming) return;
    pthread_join(vocab_thread, NULL);
    vocab_warming = 0;
    if (vocab_cat && !vocab_atexit) vocab_atexit = !atexit(vocab_free_at_exit);
}

static void vocab_free_locked(void)
{
    vocab_join();
    fbi_catalog_free(vocab_cat);
    vocab_cat = NULL;
}

static void vocab_free_at_exit(void)
{
    pthread_mutex_lock(&vocab_mu);
    vocab_free_locked();
    pthread_mutex_unlock(&vocab_mu);
}

void fbc_vocab_warm_start(void)
{
    pthread_mutex_lock(&vocab_mu);
    if (!vocab_warming && !vocab_tried && sysconf(_SC_NPROCESSORS_ONLN) >= 2 &&
        pthread_create(&vocab_thread, NULL, vocab_warm_run, NULL) == 0)
        vocab_warming = 1;
    pthread_mutex_unlock(&vocab_mu);
}

void fbc_vocab_warm_end(void)
{
    pthread_mutex_lock(&vocab_mu);
    vocab_free_locked();
    vocab_tried = 0;
    pthread_mutex_unlock(&vocab_mu);
}

/* The catalog to check names against (borrowed, read-only: lookups from
 * any thread), NULL when it cannot be opened. Opens it on first use, or
 * waits for the warm thread. */
static const fbi_catalog *vocab_get(void)
{
    pthread_mutex_lock(&vocab_mu);
    vocab_join();
    if (!vocab_tried) {
        vocab_open();
        if (vocab_cat && !vocab_atexit) vocab_atexit = !atexit(vocab_free_at_exit);
    }
    const fbi_catalog *c = vocab_cat;
    pthread_mutex_unlock(&vocab_mu);
    return c;
}

static int check_vocab(void *ctx, const char *what, const char *name, char **suggestion,
                       const char **hint)
{
    (void)ctx;
    const fbi_catalog *vocab = vocab_get();
    if (!vocab) return 1;
    int region = !strcmp(what, "region");
    if (region ? fbi_catalog_region(vocab, name) != NULL
               : fbi_catalog_location(vocab, name) != NULL)
        return 1;
    /* the nearest name by edit distance, when it is close enough to be a typo */
    size_t n = region ? fbi_catalog_region_count(vocab) : fbi_catalog_location_count(vocab);
    const char *best = NULL;
    int bestd = 4;
    for (size_t i = 0; i < n; i++) {
        const char *k = region ? fbi_catalog_region_at(vocab, i)->key
                               : fbi_catalog_location_at(vocab, i)->name;
        int dist = fbi_edit_distance(name, k, bestd);
        if (dist < bestd) {
            bestd = dist;
            best = k;
        }
    }
    if (best) *suggestion = fbi_xstrdup(best);
    *hint = region ? "`fedbroker catalog show --table regions` lists the regions (provider:region, "
                     "e.g. aws:eu-west-1)"
                   : "`fedbroker catalog show --table locations` lists the locations (city ids "
                     "such as new-york, frankfurt, tokyo)";
    return 0;
}

int fbc_spec_set_open(const char *verb, const fbc_spec_opts *so, fb_spec_set **out)
{
    *out = NULL;
    size_t max = 0;
    if (so && so->max_workloads) {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(so->max_workloads, &end, 10);
        if (errno || !end || *end || so->max_workloads[0] < '1' || so->max_workloads[0] > '9' ||
            v > 100000000ull) {
            fprintf(stderr, "fedbroker %s: --max-workloads '%s' is not a number of workloads "
                            "from 1 to 100000000\n", verb, so->max_workloads);
            return FB_EXIT_USAGE;
        }
        max = (size_t)v;
    }
    fb_spec_set_new(out);
    fbi_spec_set_max_workloads(*out, max);
    /* apply sends and stores every workload's text: made with its hash */
    fbi_spec_set_keep_texts(*out, !strcmp(verb, "apply"));
    fbi_spec_set_program_check(*out, check_program, NULL);
    fbi_spec_set_vocab_check(*out, check_vocab, NULL);
    for (size_t i = 0; so && so->allow && so->allow[i]; i++) {
        char *err = NULL;
        if (fbi_spec_set_allow_path(*out, so->allow[i], &err) != 0) {
            fprintf(stderr, "fedbroker %s: --allow-path %s\n", verb, err);
            free(err);
            fb_spec_set_free(*out);
            *out = NULL;
            return FB_EXIT_USAGE;
        }
    }
    return FB_EXIT_OK;
}

void fbc_spec_opts_free(fbc_spec_opts *so)
{
    free((void *)so->allow);
    so->allow = NULL;
}

int fbc_load_specs(const char *verb, char **files, int nfiles, const fbc_spec_opts *so,
                   fb_spec_set **out)
{
    fb_spec_set *set = NULL;
    int orc = fbc_spec_set_open(verb, so, &set);
    if (orc != FB_EXIT_OK) {
        *out = NULL;
        return orc;
    }
    fb_diag *d = fb_diag_new();
    for (int i = 0; i < nfiles; i++) fb_spec_set_add_file(set, files[i], d);
    if (!fb_diag_errors(d)) fb_spec_set_finish(set, d);
    /* The names are checked: the catalog goes before plan opens its own
     * (a second copy, about 4 MB, held through plan's peak; reopened if
     * another spec is read later). */
    fbc_vocab_warm_end();
    int rc = fbc_report_diag(d, FB_EXIT_INVALID);
    fb_diag_free(d);
    if (rc != FB_EXIT_OK) {
        fb_spec_set_free(set);
        *out = NULL;
        return rc;
    }
    *out = set;
    return FB_EXIT_OK;
}

/* The portable secrets drivers ask for at apply (host->credential's
 * secret://NAME): opened on the first request only, so a run without
 * secret:// references needs no master key. The configuration is the
 * broker's; the master key and a store handle of our own (a dry run opens
 * no store) stay for the rest of the process. Any thread. */
static struct {
    pthread_mutex_t mu;
    json_t *config;       /* the broker configuration (a reference) */
    int opened;           /* 1 ok, -1 failed (the diagnostic repeated) */
    fbi_identity_cfg cfg;
    fbi_master_key *mk;
    fb_store *store;
    char *why;            /* what failed */
} vault = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, {0}, NULL, NULL, NULL};

static fb_status vault_secret(void *ud, const char *tenant, const char *name, char **value,
                              long long *version, fb_diag *diag)
{
    (void)ud;
    *value = NULL;
    *version = 0;
    pthread_mutex_lock(&vault.mu);
    if (!vault.opened) {
        fb_diag *od = fb_diag_new();
        fb_status st = fbi_identity_cfg_load(vault.config, 0, &vault.cfg, od);
        if (st == FB_OK) st = fbi_master_key_load(&vault.cfg, 0, &vault.mk, od);
        if (st == FB_OK) st = fb_store_open(NULL, &vault.store, od);
        vault.opened = st == FB_OK ? 1 : -1;
        if (st != FB_OK)
            vault.why = fbi_xasprintf("%s%s%s", fb_diag_count(od) ? fb_diag_summary(od, 0) : "",
                                      fb_diag_count(od) && fb_diag_detail(od, 0) ? ": " : "",
                                      fb_diag_count(od) && fb_diag_detail(od, 0)
                                          ? fb_diag_detail(od, 0) : "");
        fb_diag_free(od);
    }
    fb_status st = FB_INVALID;
    if (vault.opened < 0) {
        char *m = fbi_xasprintf("secret://%s: the broker's secrets cannot be opened: %s", name,
                                vault.why);
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, m,
                    "fedbroker secret put NAME makes the master key; see docs/identity.md");
        free(m);
    } else {
        unsigned char *v = NULL;
        size_t n = 0;
        st = fbi_secret_open(vault.mk, vault.store, tenant, name, 0, &v, &n, version, diag);
        if (st == FB_OK) {
            /* the host takes it as text: a value with a NUL byte would be cut */
            if (memchr(v, 0, n)) {
                char *m = fbi_xasprintf("secret %s/%s holds a NUL byte; providers' secret stores "
                                        "take text", tenant, name);
                fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, m, NULL);
                free(m);
                st = FB_INVALID;
            } else {
                *value = fbi_xstrndup((const char *)v, n);
            }
        }
        fbi_locked_free(v);
    }
    pthread_mutex_unlock(&vault.mu);
    return st;
}

int fbc_open_broker(fbi_broker *b)
{
    fb_diag *d = fb_diag_new();
    fb_status st = fbi_broker_open(b, d);
    fb_diag_print(d, stderr);
    fb_diag_free(d);
    if (st != FB_OK) {
        fbi_broker_close(b);
        return FB_EXIT_INVALID;
    }
    pthread_mutex_lock(&vault.mu);
    if (!vault.config) vault.config = json_incref(b->config);
    pthread_mutex_unlock(&vault.mu);
    fbi_host_set_secret_source(vault_secret, NULL);
    return FB_EXIT_OK;
}

int fbc_open_store(fb_store **s)
{
    fb_diag *d = fb_diag_new();
    *s = NULL;
    /* the state is trusted only where no other user can replace it */
    if (fbi_home_check(d) != FB_OK) {
        fb_diag_print(d, stderr);
        fb_diag_free(d);
        return FB_EXIT_INVALID;
    }
    fb_status st = fb_store_open(NULL, s, d);
    fb_diag_print(d, stderr);
    fb_diag_free(d);
    return st == FB_OK ? FB_EXIT_OK : FB_EXIT_FAILURE;
}

int fbc_lock_timeout(const char *verb, const char *value, int64_t *ms)
{
    *ms = 0;
    if (!value || !strcmp(value, "0")) return FB_EXIT_OK;
    char *err = NULL;
    if (fbi_parse_duration(value, ms, &err) != 0) {
        fprintf(stderr, "fedbroker %s: --lock-timeout: %s\n", verb, err);
        free(err);
        return FB_EXIT_USAGE;
    }
    return FB_EXIT_OK;
}

int fbc_lock_state(fb_store *s, const char *verb, int64_t timeout_ms, fbi_lock **lock)
{
    fb_diag *d = fb_diag_new();
    /* a dead holder's requests may still land for one HTTP timeout */
    fb_status st = fbi_lock_acquire(fbi_store_path(s), verb, timeout_ms, fbi_http_timeout_ms(),
                                    lock, d);
    fb_diag_print(d, stderr);
    fb_diag_free(d);
    if (st != FB_OK) return st == FB_CONFLICT ? FB_EXIT_LOCKED : FB_EXIT_FAILURE;
    const json_t *dead = fbi_lock_dead_holder(*lock);
    if (dead) {
        char *who = fbi_lock_describe(dead);
        fprintf(stderr, "fedbroker %s: note: the previous holder of the state lock, %s, ended "
                        "without releasing it (killed or crashed); its unfinished work is "
                        "resolved now\n", verb, who);
        free(who);
    }
    return FB_EXIT_OK;
}

void fbc_print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
    puts(s ? s : "null");
    free(s);
}

int fbc_print_rows(fb_store *s, fbc_format fmt, fbc_list_fn list, fbc_table_fn table, const void *arg,
                   fb_diag *d)
{
    char *text = NULL;
    if (list(s, arg, &text, d) != FB_OK) {
        free(text);
        return fbc_report_diag(d, FB_EXIT_FAILURE);
    }
    json_t *rows = json_loads(text, 0, NULL);
    free(text);
    if (!json_is_array(rows)) { /* the store made it: not a user's error */
        json_decref(rows);
        fprintf(stderr, "fedbroker: the store returned a listing that is not a JSON array\n");
        return FB_EXIT_FAILURE;
    }
    if (fmt == FBC_FMT_JSON) fbc_print_json(rows);
    else table(rows, arg);
    json_decref(rows);
    return FB_EXIT_OK;
}

void fbc_item_diag(const char *what, const fb_diag *d)
{
    for (size_t i = 0; i < fb_diag_count(d); i++) {
        fb_severity sev = fb_diag_severity(d, i);
        const char *ptr = fb_diag_pointer(d, i);
        fprintf(stderr, "%s: %s: %s%s%s\n", what,
                sev == FB_SEV_ERROR ? "error" : sev == FB_SEV_WARNING ? "warning" : "note",
                ptr ? ptr : "", ptr ? ": " : "", fb_diag_summary(d, i));
        if (fb_diag_detail(d, i)) fprintf(stderr, "  %s\n", fb_diag_detail(d, i));
    }
}

int fbc_emit_report(const json_t *plan, fbc_format fmt, const char *group_by, const char *path)
{
    if (!path) return fbi_report_write(plan, fmt, group_by, stdout) ? FB_EXIT_FAILURE : 0;
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    fbi_report_write(plan, fmt, group_by, mem);
    fclose(mem);
    char *err = NULL;
    int rc = fbi_write_file_atomic(path, buf, len, &err);
    free(buf);
    if (rc != 0) {
        fprintf(stderr, "fedbroker: %s\n", err);
        free(err);
        return FB_EXIT_FAILURE;
    }
    return FB_EXIT_OK;
}
