/* registry.c - finds, checks and loads provider drivers.
 *
 * A driver is refused before any of its code runs (dlopen runs constructors)
 * when its real path, or any directory above it, is owned by another user
 * than root or ourselves or is writable by group or others (base/trust.h),
 * when its directory is given as a relative path, when its name is not
 * [a-z0-9_-], or when its dynamic symbol table exports anything but
 * fb_driver_entry. After the
 * entry point runs, the ABI version, struct size, name and capability bits
 * are checked against the slots. Each refusal says why and what to do. */
#include "config.h"
#include "fedbroker/fedbroker.h"
#include "base/trust.h"
#include "base/util.h"
#include "host/elf.h"
#include "host/host.h"

#include <dirent.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef FB_DRIVERDIR
#define FB_DRIVERDIR "/usr/local/lib/fedbroker/drivers"
#endif

typedef struct loaded {
    char *file;
    void *handle;
    const fb_driver *drv;
    fb_driver_ctx *ctx;
    int configured;      /* 1 configured, -1 configure failed, 0 not yet */
    char *config_error;  /* why configure failed (repeated to later callers) */
} loaded;

struct fb_registry {
    loaded *items;
    size_t n, cap;
    char *config_json;
};

/* The smallest fb_driver a driver may declare: every ABI 1.0 slot, up to
 * teardown. Slots added since (usage, 1.1) may lie past a driver's
 * struct_size; FB_DRIVER_HAS reads them as NULL then. */
#define DRIVER_V1_0_SIZE (offsetof(fb_driver, teardown) + sizeof(void (*)(void)))

static int valid_name(const char *s, size_t n)
{
    if (n == 0 || n > 64) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static void free_names(char **names)
{
    for (size_t i = 0; names && names[i]; i++) free(names[i]);
    free(names);
}

static const struct { uint64_t bit; const char *name; } cap_names[] = {
    {FB_CAP_FUNCTION, "function"},     {FB_CAP_CONTAINER, "container"},
    {FB_CAP_QUANTUM, "quantum"},       {FB_CAP_RENDER, "render"},
    {FB_CAP_DEPLOY, "deploy"},         {FB_CAP_DISCOVER, "discover"},
    {FB_CAP_SCALE_TO_ZERO, "scale-to-zero"}, {FB_CAP_GPU, "gpu"},
    {FB_CAP_PUBLIC_HTTP, "public-http"}, {FB_CAP_AUTOSCALE, "autoscale"},
    {FB_CAP_ARM64, "arm64"},           {FB_CAP_ESTIMATE, "estimate"},
    {FB_CAP_ATTEST, "attest"},
};

void fb_caps_describe(uint64_t caps, char *buf, size_t n)
{
    fbi_buf b;
    fbi_buf_init(&b);
    for (size_t i = 0; i < sizeof cap_names / sizeof *cap_names; i++) {
        if (!(caps & cap_names[i].bit)) continue;
        if (b.len) fbi_buf_putc(&b, ',');
        fbi_buf_puts(&b, cap_names[i].name);
    }
    snprintf(buf, n, "%s", b.data ? b.data : "");
    fbi_buf_free(&b);
}

#define HAS(d, f) FB_DRIVER_HAS(d, f)

int fb_driver_check_caps(const fb_driver *d, char **why)
{
    uint64_t c = d->caps;
    uint64_t kinds = c & (FB_CAP_FUNCTION | FB_CAP_CONTAINER | FB_CAP_QUANTUM);
    uint64_t features = c & ~(FB_CAP_FUNCTION | FB_CAP_CONTAINER | FB_CAP_QUANTUM |
                              FB_CAP_RENDER | FB_CAP_DEPLOY | FB_CAP_DISCOVER |
                              FB_CAP_ESTIMATE | FB_CAP_ATTEST);
    if (c & ~FB_CAP_KNOWN_MASK) {
        *why = fbi_xasprintf("caps has unknown bits 0x%llx; this broker knows "
                             "bits up to 0x%llx (ABI %d.%d)",
                             (unsigned long long)(c & ~FB_CAP_KNOWN_MASK),
                             (unsigned long long)FB_CAP_KNOWN_MASK,
                             FB_ABI_MAJOR, FB_ABI_MINOR);
        return -1;
    }
    if (!HAS(d, configure) || !HAS(d, teardown)) {
        *why = fbi_xstrdup("configure and teardown are required slots but one is NULL");
        return -1;
    }
    if ((kinds != 0) != (HAS(d, offers) && HAS(d, validate))) {
        *why = fbi_xstrdup(kinds ? "caps name a workload kind but offers or validate is NULL"
                                 : "offers/validate are set but caps name no workload kind "
                                   "(FB_CAP_FUNCTION, FB_CAP_CONTAINER or FB_CAP_QUANTUM)");
        return -1;
    }
    if (!!(c & FB_CAP_RENDER) != !!HAS(d, render)) {
        *why = fbi_xstrdup((c & FB_CAP_RENDER) ? "caps has FB_CAP_RENDER but render is NULL"
                                               : "render is set but caps lacks FB_CAP_RENDER");
        return -1;
    }
    int deploy_slots = HAS(d, apply) + HAS(d, observe) + HAS(d, destroy);
    if ((c & FB_CAP_DEPLOY) ? deploy_slots != 3 : deploy_slots != 0) {
        *why = fbi_xstrdup((c & FB_CAP_DEPLOY)
                               ? "caps has FB_CAP_DEPLOY but apply, observe or destroy is NULL"
                               : "apply/observe/destroy are set but caps lacks FB_CAP_DEPLOY "
                                 "(all three go together)");
        return -1;
    }
    if (!!(c & FB_CAP_DISCOVER) != !!HAS(d, discover)) {
        *why = fbi_xstrdup((c & FB_CAP_DISCOVER) ? "caps has FB_CAP_DISCOVER but discover is NULL"
                                                 : "discover is set but caps lacks FB_CAP_DISCOVER");
        return -1;
    }
    if (!!(c & FB_CAP_ESTIMATE) != !!HAS(d, usage)) {
        int past = d->struct_size < offsetof(fb_driver, usage) + sizeof d->usage;
        *why = fbi_xstrdup((c & FB_CAP_ESTIMATE)
                               ? (past ? "caps has FB_CAP_ESTIMATE but the struct ends before the "
                                         "usage slot (an ABI 1.0-sized fb_driver; usage is 1.1)"
                                       : "caps has FB_CAP_ESTIMATE but usage is NULL")
                               : "usage is set but caps lacks FB_CAP_ESTIMATE");
        return -1;
    }
    if (HAS(d, evaluate) && !HAS(d, usage)) {
        *why = fbi_xstrdup("evaluate is set but usage is NULL (evaluate is validate then usage in one "
                           "call; a driver with evaluate has both)");
        return -1;
    }
    if (!!(c & FB_CAP_ATTEST) != !!HAS(d, attest)) {
        *why = fbi_xstrdup((c & FB_CAP_ATTEST) ? "caps has FB_CAP_ATTEST but attest is NULL"
                                               : "attest is set but caps lacks FB_CAP_ATTEST");
        return -1;
    }
    if ((c & FB_CAP_ATTEST) && !(c & FB_CAP_DEPLOY)) {
        *why = fbi_xstrdup("caps has FB_CAP_ATTEST without FB_CAP_DEPLOY (attest names a binding "
                           "the driver's apply recorded)");
        return -1;
    }
    if ((features || (c & FB_CAP_ESTIMATE)) && !kinds) {
        *why = fbi_xstrdup("feature bits (scale-to-zero, gpu, ...) need a workload kind bit");
        return -1;
    }
    return 0;
}

/* What another user could do with a driver file or directory they can
 * write (base/trust.h applies the rules). */
static const fbi_trust_role driver_role = {"driver refused", "could replace the code the broker runs"};

static void refuse(fb_diag *diag, const char *file, const char *summary, const char *detail)
{
    char *m = fbi_xasprintf("driver refused: %s", summary);
    fb_diag_add(diag, FB_SEV_ERROR, file, 0, 0, NULL, m, detail);
    free(m);
}

/* Loading (the ELF check, dlopen, fb_driver_entry, the checks of the
 * driver struct) and dlclose, process-wide one at a time: registries may
 * be opened and freed on several threads at once (serve's GET /v1/drivers
 * opens one per request), and a driver's entry point writes the driver's
 * own statics (its host table pointer), which two threads must not do
 * unordered. The lock also orders a struct read here before another
 * thread's dlclose unmaps it and a later mmap reuses the address (the
 * dynamic linker's own lock is invisible to ThreadSanitizer). Loads are
 * rare (a command's start, a /v1/drivers request): nothing waits long. */
static pthread_mutex_t load_mu = PTHREAD_MUTEX_INITIALIZER;

/* fb_registry_load_file once the file is trusted: real is its resolved
 * path (borrowed), base the file name it was asked for under. load_mu
 * held. */
static fb_status load_real(fb_registry *r, const char *file, const char *real, const char *base,
                           const fb_host *host, const fb_driver **drv, fb_diag *diag)
{
    size_t namelen = strlen(base) - 3;
    char **names = NULL, *err = NULL;
    int nsyms = fbi_elf_exported_symbols(real, &names, &err);
    if (nsyms < 0) {
        refuse(diag, file, err, "a driver is an ELF shared object built with -shared -fPIC");
        free(err);
        return FB_INVALID;
    }
    int has_entry = 0;
    for (int i = 0; i < nsyms; i++)
        if (strcmp(names[i], FB_DRIVER_ENTRY_SYMBOL) == 0) has_entry = 1;
    if (!has_entry) {
        free_names(names);
        refuse(diag, file, "missing entry point: the file does not export fb_driver_entry",
               "define `FB_DRIVER_EXPORT fb_status fb_driver_entry(const fb_host *, "
               "const fb_driver **, fb_diag *)` (see fedbroker/driver.h)");
        return FB_INVALID;
    }
    if (nsyms > 1) {
        fbi_buf b;
        fbi_buf_init(&b);
        for (int i = 0; i < nsyms && i < 8; i++) {
            if (i) fbi_buf_puts(&b, ", ");
            fbi_buf_puts(&b, names[i]);
        }
        if (nsyms > 8) fbi_buf_puts(&b, ", ...");
        char *m = fbi_xasprintf("exports %d symbols (%s); a driver exports only fb_driver_entry",
                                nsyms, b.data);
        refuse(diag, file, m, "build with -fvisibility=hidden and mark only fb_driver_entry "
                              "with FB_DRIVER_EXPORT");
        free(m);
        fbi_buf_free(&b);
        free_names(names);
        return FB_INVALID;
    }
    free_names(names);

    void *h = dlopen(real, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        refuse(diag, file, "dlopen failed", dlerror());
        return FB_INVALID;
    }
    fb_driver_entry_fn entry;
    *(void **)(&entry) = dlsym(h, FB_DRIVER_ENTRY_SYMBOL);
    if (!entry) {
        dlclose(h);
        refuse(diag, file, "missing entry point: dlsym(fb_driver_entry) failed", NULL);
        return FB_INVALID;
    }
    const fb_driver *d = NULL;
    fb_diag *edi = fb_diag_new();
    fb_status st = entry(host, &d, edi);
    if (st != FB_OK || !d) {
        char *m = fbi_xasprintf("fb_driver_entry returned %s%s", fbi_status_name(st),
                                d ? "" : " and no driver struct");
        refuse(diag, file, m, fb_diag_count(edi) ? fb_diag_summary(edi, 0) : NULL);
        free(m);
        fb_diag_free(edi);
        dlclose(h);
        return st == FB_OK ? FB_INVALID : st;
    }
    fb_diag_free(edi);
    char *why = NULL;
    if (d->abi_major != FB_ABI_MAJOR) {
        why = fbi_xasprintf("wrong ABI major version: the driver was built for driver ABI %u.%u, "
                            "this broker speaks %d.%d", d->abi_major, d->abi_minor,
                            FB_ABI_MAJOR, FB_ABI_MINOR);
        refuse(diag, file, why, "rebuild the driver against this fedbroker's fedbroker/driver.h "
                                "(pkg-config --cflags fedbroker)");
    } else if (d->abi_minor > FB_ABI_MINOR) {
        why = fbi_xasprintf("newer ABI minor version: the driver needs driver ABI %u.%u, "
                            "this broker has %d.%d", d->abi_major, d->abi_minor,
                            FB_ABI_MAJOR, FB_ABI_MINOR);
        refuse(diag, file, why, "upgrade fedbroker, or rebuild the driver against the older header");
    } else if (d->struct_size < DRIVER_V1_0_SIZE) {
        why = fbi_xasprintf("struct_size %zu is smaller than an ABI 1.0 fb_driver (%zu bytes)",
                            d->struct_size, (size_t)DRIVER_V1_0_SIZE);
        refuse(diag, file, why, "set struct_size = sizeof(fb_driver)");
    } else if (!d->name || strlen(d->name) != namelen || strncmp(d->name, base, namelen) != 0) {
        why = fbi_xasprintf("the driver calls itself '%s' but its file is %s",
                            d->name ? d->name : "(null)", base);
        refuse(diag, file, why, "the file name (without .so) and the name field must match");
    } else if (fb_driver_check_caps(d, &why) != 0) {
        char *m = fbi_xasprintf("capability bits disagree with the slots: %s", why);
        refuse(diag, file, m, "set caps to exactly what the driver implements (see FB_CAP_* in "
                              "fedbroker/driver.h)");
        free(m);
    } else if (r && fb_registry_find(r, d->name)) {
        for (size_t i = 0; i < r->n; i++)
            if (strcmp(r->items[i].drv->name, d->name) == 0)
                why = fbi_xasprintf("a driver named '%s' is already loaded from %s; "
                                    "the first one found wins", d->name, r->items[i].file);
        fb_diag_add(diag, FB_SEV_WARNING, file, 0, 0, NULL, why, NULL);
        free(why);
        dlclose(h);
        return FB_CONFLICT;
    }
    if (why) {
        free(why);
        dlclose(h);
        return FB_INVALID;
    }
    if (r) {
        if (r->n == r->cap) {
            r->cap = r->cap ? r->cap * 2 : 8;
            r->items = fbi_xrealloc(r->items, r->cap * sizeof *r->items);
        }
        loaded *l = &r->items[r->n++];
        memset(l, 0, sizeof *l);
        l->file = fbi_xstrdup(file);
        l->handle = h;
        l->drv = d;
    }
    *drv = d;
    return FB_OK;
}

fb_status fb_registry_load_file(fb_registry *r, const char *file,
                                const fb_host *host, const fb_driver **drv,
                                fb_diag *diag)
{
    *drv = NULL;
    if (!host) host = fb_host_table();
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    if (!fbi_str_has_suffix(base, ".so")) {
        refuse(diag, file, "a driver file name must end in .so", NULL);
        return FB_INVALID;
    }
    size_t namelen = strlen(base) - 3;
    if (!valid_name(base, namelen)) {
        refuse(diag, file, "the name before .so must use only [a-z0-9_-] (at most 64 characters)",
               "rename the file, e.g. my_driver.so, and set the same name in the driver struct");
        return FB_INVALID;
    }
    /* The real path is checked (the file and every directory above it)
     * and then read and loaded, so a symlink is judged by where it points
     * and nothing can be swapped in between but by root or ourselves. */
    char *real = NULL;
    if (fbi_trust_check(file, &driver_role, file, diag, &real) != 0) return FB_INVALID;
    struct stat st;
    if (stat(real, &st) != 0 || !S_ISREG(st.st_mode)) {
        refuse(diag, file, "not a regular file", "a driver is an ELF shared object file");
        free(real);
        return FB_INVALID;
    }
    pthread_mutex_lock(&load_mu);
    fb_status rst = load_real(r, file, real, base, host, drv, diag);
    pthread_mutex_unlock(&load_mu);
    free(real);
    return rst;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static fb_status load_dir(fb_registry *r, const char *dir, fb_diag *diag)
{
    if (dir[0] != '/') {
        /* "." or "lib" would load whatever the working directory holds */
        char cwd[4096];
        const char *here = getcwd(cwd, sizeof cwd) ? cwd : "$PWD";
        char *m = fbi_xasprintf("driver directory '%s' is a relative path", dir);
        const char *rest = !strcmp(dir, ".") ? "" : !strncmp(dir, "./", 2) ? dir + 2 : dir;
        char *d = fbi_xasprintf("a relative entry in FEDBROKER_DRIVER_PATH loads drivers from "
                                "whatever the working directory is; write it as an absolute "
                                "path, e.g. %s%s%s", here, *rest ? "/" : "", rest);
        refuse(diag, dir, m, d);
        free(m);
        free(d);
        return FB_OK; /* refused with a diagnostic; other directories still load */
    }
    DIR *dh = opendir(dir);
    if (!dh) {
        char *m = fbi_xasprintf("cannot read driver directory %s: %s", dir, strerror(errno));
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, m,
                    "set FEDBROKER_DRIVER_PATH to the directories that hold driver .so files");
        free(m);
        return FB_INVALID;
    }
    if (fbi_trust_check(dir, &driver_role, dir, diag, NULL) != 0) {
        closedir(dh);
        return FB_OK; /* refused with a diagnostic; other directories still load */
    }
    char **files = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(dh)) != NULL) {
        if (!fbi_str_has_suffix(e->d_name, ".so")) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            files = fbi_xrealloc(files, cap * sizeof *files);
        }
        files[n++] = fbi_xasprintf("%s/%s", dir, e->d_name);
    }
    closedir(dh);
    if (n) qsort(files, n, sizeof *files, cmp_str); /* deterministic order */
    for (size_t i = 0; i < n; i++) {
        const fb_driver *d;
        fb_registry_load_file(r, files[i], NULL, &d, diag);
        free(files[i]);
    }
    free(files);
    return FB_OK;
}

fb_registry *fb_registry_new(void)
{
    return fbi_xcalloc(1, sizeof(fb_registry));
}

fb_status fb_registry_open(const char *path, fb_registry **out, fb_diag *diag)
{
    fb_registry *r = fb_registry_new();
    if (!path) path = getenv("FEDBROKER_DRIVER_PATH");
    if (!path || !*path) path = FB_DRIVERDIR;
    char *copy = fbi_xstrdup(path), *save = NULL;
    fb_status st = FB_OK;
    for (char *tok = strtok_r(copy, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
        if (load_dir(r, tok, diag) != FB_OK) st = FB_INVALID;
    }
    free(copy);
    *out = r;
    return st;
}

void fb_registry_free(fb_registry *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) {
        loaded *l = &r->items[i];
        if (l->ctx) l->drv->teardown(l->ctx);
        /* Keep drivers mapped under sanitizers so leak reports stay symbolised. */
#ifndef FB_KEEP_DRIVERS_MAPPED
        pthread_mutex_lock(&load_mu);
        dlclose(l->handle);
        pthread_mutex_unlock(&load_mu);
#endif
        free(l->file);
        free(l->config_error);
    }
    free(r->items);
    free(r->config_json);
    free(r);
}

size_t fb_registry_count(const fb_registry *r) { return r->n; }
const fb_driver *fb_registry_get(const fb_registry *r, size_t i) { return r->items[i].drv; }
const char *fb_registry_file(const fb_registry *r, size_t i) { return r->items[i].file; }

const fb_driver *fb_registry_find(const fb_registry *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->items[i].drv->name, name) == 0) return r->items[i].drv;
    return NULL;
}

void fb_registry_set_config(fb_registry *r, const char *config_json)
{
    free(r->config_json);
    r->config_json = config_json ? fbi_xstrdup(config_json) : NULL;
    /* host->credential answers from the same configuration */
    fbi_host_set_credentials(config_json);
}

fb_status fb_registry_context(fb_registry *r, const char *name,
                              const fb_driver **drv, fb_driver_ctx **ctx,
                              fb_diag *diag)
{
    for (size_t i = 0; i < r->n; i++) {
        loaded *l = &r->items[i];
        if (strcmp(l->drv->name, name) != 0) continue;
        if (l->configured < 0) {
            fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, l->config_error, NULL);
            return FB_INVALID;
        }
        if (!l->configured) {
            json_t *cfg = NULL, *all = NULL;
            if (r->config_json) all = json_loads(r->config_json, 0, NULL);
            json_t *settings = all ? json_object_get(json_object_get(all, "drivers"), name) : NULL;
            cfg = json_object();
            json_object_set_new(cfg, "settings", settings ? json_incref(settings) : json_object());
            char *text = fbi_json_canonical(cfg);
            json_decref(cfg);
            json_decref(all);
            fb_status st = l->drv->configure(fb_host_table(), text, &l->ctx, diag);
            free(text);
            if (st != FB_OK) {
                size_t nd = fb_diag_count(diag);
                l->config_error = fbi_xasprintf("driver %s: configure failed (%s)%s%s", name,
                                                fbi_status_name(st), nd ? ": " : "",
                                                nd ? fb_diag_summary(diag, nd - 1) : "");
                if (!fb_diag_errors(diag))
                    fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, l->config_error, NULL);
                l->configured = -1;
                return st;
            }
            l->configured = 1;
        }
        *drv = l->drv;
        *ctx = l->ctx;
        return FB_OK;
    }
    char *m = fbi_xasprintf("no driver named '%s' is loaded", name);
    fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, m,
                "run `fedbroker drivers` to see the loaded drivers and FEDBROKER_DRIVER_PATH");
    free(m);
    return FB_NOTFOUND;
}
