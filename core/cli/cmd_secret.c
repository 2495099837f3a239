/* cmd_secret.c - `fedbroker secret`: portable secrets, stored once sealed
 * per tenant (core/identity/vault.c) and referenced in specs as
 * secret://NAME. A value is read from standard input or a file, never
 * from the command line, where the shell history and `ps` would keep it;
 * it is read straight into locked memory and wiped after sealing. No verb
 * prints a value. */
#include "config.h"
#include "cli/cli.h"
#include "base/util.h"
#include "identity/identity.h"
#include "state/state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage_text[] =
    "fedbroker secret put NAME [--tenant T] [--file FILE]   (the value on standard input)\n"
    "       fedbroker secret list [--tenant T] [--format table|json]\n"
    "       fedbroker secret rm NAME [--tenant T]\n"
    "       fedbroker secret check [--tenant T] [--format table|json]";

static const char description[] =
    "Portable secrets: specs reference them as secret://NAME, valid on every provider; apply\n"
    "materialises the value in the chosen provider's secret store. Each tenant's values are\n"
    "sealed in the state (XChaCha20-Poly1305 under a key derived from the master key, bound to\n"
    "tenant, name and version). NAME: a lowercase letter, then lowercase letters, digits, '-'.\n"
    "  put NAME     store a new version; the value is read from standard input, or from\n"
    "               --file, byte for byte (no newline is stripped), at most 64 KiB; it is\n"
    "               never taken from the command line\n"
    "  list         names, version counts and dates; never values\n"
    "  rm NAME      forget every version (copies already materialised stay until destroy)\n"
    "  check        open every sealed version and say which do not (changed, moved between\n"
    "               tenants or names, or another master key); exit 2 when any does not";

/* Reads all of fd into locked memory (at most FBI_SECRET_MAX + 1 bytes, so
 * an oversized value is seen as one). 0 or -1 (errno). */
static int read_locked(int fd, unsigned char **out, size_t *n)
{
    unsigned char *b = fbi_locked_alloc(FBI_SECRET_MAX + 2);
    size_t got = 0;
    while (got < FBI_SECRET_MAX + 1) {
        ssize_t r = read(fd, b + got, FBI_SECRET_MAX + 1 - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            fbi_locked_free(b);
            errno = e;
            return -1;
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    b[got] = 0;
    *out = b;
    *n = got;
    return 0;
}

static int open_master(fbi_identity_cfg *cfg, fbi_master_key **mk)
{
    fb_diag *d = fb_diag_new();
    fb_status st = fbi_master_key_load(cfg, 1, mk, d);
    fb_diag_print(d, stderr);
    fb_diag_free(d);
    return st == FB_OK ? FB_EXIT_OK : st == FB_INVALID ? FB_EXIT_INVALID : FB_EXIT_FAILURE;
}

static int cmd_put(fbi_identity_cfg *cfg, const char *tenant, const char *name, const char *file)
{
    char *why = NULL;
    if (fbi_secret_name_check(name, &why) != 0) {
        fprintf(stderr, "fedbroker secret put: %s\n", why);
        free(why);
        return FB_EXIT_INVALID;
    }
    int fd = 0;
    if (file) {
        fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            fprintf(stderr, "fedbroker secret put: --file %s: %s\n", file,
                    fd < 0 ? strerror(errno) : "not a regular file");
            if (fd >= 0) close(fd);
            return FB_EXIT_INVALID;
        }
    } else if (isatty(0)) {
        fprintf(stderr, "fedbroker secret put: reading the value of %s from the terminal; end it "
                        "with Ctrl-D (a newline you type is part of the value)\n", name);
    }
    unsigned char *value = NULL;
    size_t n = 0;
    int bad = read_locked(fd, &value, &n);
    int e = errno;
    if (file) close(fd);
    if (bad) {
        fprintf(stderr, "fedbroker secret put: cannot read the value: %s\n", strerror(e));
        return FB_EXIT_INVALID;
    }
    if (n == 0) {
        fbi_locked_free(value);
        fprintf(stderr, "fedbroker secret put: the value of %s is empty; pipe it in or use "
                        "--file FILE\n", name);
        return FB_EXIT_INVALID;
    }
    fbi_master_key *mk = NULL;
    int rc = open_master(cfg, &mk);
    fb_store *store = NULL;
    if (rc == FB_EXIT_OK) rc = fbc_open_store(&store);
    if (rc == FB_EXIT_OK) {
        fb_diag *d = fb_diag_new();
        long long version = 0;
        fb_status st = fbi_secret_put(mk, store, tenant, name, value, n, &version, d);
        rc = fbc_report_diag(d, st == FB_INVALID ? FB_EXIT_INVALID : FB_EXIT_FAILURE);
        if (st == FB_OK) printf("stored %s/%s version %lld (%zu bytes, sealed)\n", tenant, name,
                                version, n);
        fb_diag_free(d);
    }
    fbi_locked_free(value);
    fbi_master_key_free(mk);
    fb_store_close(store);
    return rc;
}

static int cmd_list(const char *tenant, fbc_format fmt)
{
    fb_store *store = NULL;
    int rc = fbc_open_store(&store);
    if (rc != FB_EXIT_OK) return rc;
    fb_diag *d = fb_diag_new();
    json_t *list = NULL;
    fbi_secret_list(store, tenant, &list, d);
    rc = fbc_report_diag(d, FB_EXIT_FAILURE);
    if (list && fmt == FBC_FMT_JSON) {
        fbc_print_json(list);
    } else if (list) {
        size_t i;
        json_t *e;
        printf("%-20s %-32s %8s %8s  %s\n", "TENANT", "NAME", "VERSIONS", "LATEST", "UPDATED");
        json_array_foreach(list, i, e)
            printf("%-20s %-32s %8lld %8lld  %s\n", json_string_value(json_object_get(e, "tenant")),
                   json_string_value(json_object_get(e, "name")),
                   (long long)json_integer_value(json_object_get(e, "versions")),
                   (long long)json_integer_value(json_object_get(e, "latest")),
                   json_string_value(json_object_get(e, "updated_at")));
        if (json_array_size(list) == 0) printf("(no secrets in the store)\n");
    }
    json_decref(list);
    fb_diag_free(d);
    fb_store_close(store);
    return rc;
}

static int cmd_rm(const char *tenant, const char *name)
{
    fb_store *store = NULL;
    int rc = fbc_open_store(&store);
    if (rc != FB_EXIT_OK) return rc;
    fb_diag *d = fb_diag_new();
    long long removed = 0;
    fb_status st = fbi_store_secret_delete(store, tenant, name, &removed, d);
    rc = fbc_report_diag(d, FB_EXIT_FAILURE);
    if (st == FB_OK && removed == 0) {
        fprintf(stderr, "fedbroker secret rm: no secret %s/%s (fedbroker secret list shows "
                        "them)\n", tenant, name);
        rc = FB_EXIT_INVALID;
    } else if (st == FB_OK) {
        printf("removed %s/%s (%lld version%s)\n", tenant, name, removed, removed == 1 ? "" : "s");
    }
    fb_diag_free(d);
    fb_store_close(store);
    return rc;
}

static int cmd_check(fbi_identity_cfg *cfg, const char *tenant, fbc_format fmt)
{
    fbi_master_key *mk = NULL;
    int rc = open_master(cfg, &mk);
    fb_store *store = NULL;
    if (rc == FB_EXIT_OK) rc = fbc_open_store(&store);
    if (rc != FB_EXIT_OK) {
        fbi_master_key_free(mk);
        return rc;
    }
    fb_diag *d = fb_diag_new();
    json_t *list = NULL;
    fbi_secret_verify(mk, store, tenant, &list, d);
    rc = fbc_report_diag(d, FB_EXIT_FAILURE);
    size_t i, refused = 0;
    json_t *e;
    json_array_foreach(list, i, e) refused += !json_is_true(json_object_get(e, "ok"));
    if (list && fmt == FBC_FMT_JSON) {
        fbc_print_json(list);
    } else if (list) {
        json_array_foreach(list, i, e)
            printf("%s/%s version %lld: %s\n", json_string_value(json_object_get(e, "tenant")),
                   json_string_value(json_object_get(e, "name")),
                   (long long)json_integer_value(json_object_get(e, "version")),
                   json_is_true(json_object_get(e, "ok"))
                       ? "ok"
                       : "REFUSED: does not open (changed, moved from another tenant, name or "
                         "version, or sealed under another master key)");
    }
    if (rc == FB_EXIT_OK && refused) {
        fprintf(stderr, "fedbroker secret check: %zu sealed value%s refused; put them again\n",
                refused, refused == 1 ? "" : "s");
        rc = FB_EXIT_INVALID;
    }
    json_decref(list);
    fb_diag_free(d);
    fbi_master_key_free(mk);
    fb_store_close(store);
    return rc;
}

int fbc_cmd_secret(int argc, char **argv)
{
    const char *tenant = NULL, *file = NULL, *format = NULL;
    fbc_opt opts[] = {
        {"tenant", "T", "the tenant the secret belongs to (default: default)", &tenant, NULL, NULL},
        {"file", "FILE", "put: read the value from FILE instead of standard input", &file, NULL,
         NULL},
        {"format", "FMT", "list, check: table or json", &format, NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, opts, usage_text, description, &pos, &npos, &rc)) return rc;
    fbc_format fmt;
    if (fbc_format_parse(format, (1u << FBC_FMT_TABLE) | (1u << FBC_FMT_JSON), &fmt) != 0) {
        free(pos);
        return FB_EXIT_USAGE;
    }
    const char *sub = npos > 0 ? pos[0] : "";
    int named = !strcmp(sub, "put") || !strcmp(sub, "rm");
    if (!strcmp(sub, "put") && npos > 2) {
        /* never echo what may be the value */
        fprintf(stderr, "fedbroker secret put: a value is never taken from the command line (the "
                        "shell history and ps would keep it); pipe it in, or use --file FILE\n");
        free(pos);
        return FB_EXIT_USAGE;
    }
    if ((named && npos != 2) || (!named && npos != 1) ||
        (!named && strcmp(sub, "list") && strcmp(sub, "check"))) {
        fprintf(stderr, "usage: %s\n", usage_text);
        free(pos);
        return FB_EXIT_USAGE;
    }
    if (file && strcmp(sub, "put")) {
        fprintf(stderr, "fedbroker secret %s: --file is for put only\n", sub);
        free(pos);
        return FB_EXIT_USAGE;
    }
    const char *t = tenant ? tenant : "default";
    if (!strcmp(sub, "list")) rc = cmd_list(tenant, fmt);
    else if (!strcmp(sub, "rm")) rc = cmd_rm(t, pos[1]);
    else {
        fbi_identity_cfg cfg;
        rc = fbc_identity_cfg(0, &cfg);
        if (rc == FB_EXIT_OK) {
            rc = !strcmp(sub, "put") ? cmd_put(&cfg, t, pos[1], file) : cmd_check(&cfg, tenant, fmt);
            fbi_identity_cfg_free(&cfg);
        }
    }
    free(pos);
    return rc;
}
