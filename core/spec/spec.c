/* spec.c - the portable spec set: reads files and buffers, validates every
 * document against the embedded JSON Schema, applies the semantic checks
 * the schema cannot express, resolves Federations (inline workloads and
 * {file: ...} references), and builds the normal form with its specHash.
 * docs/spec.md is the contract; keep the two in step. */
#include "config.h"
#include "spec/spec.h"
#include "spec/profile.h"
#include "base/diag.h"
#include "base/map.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <openssl/evp.h>

#define MIB (1024ull * 1024)

/* Bounds that keep every figure the cost model derives from a spec exact
 * (docs/spec.md "Limits"): it holds usage quantities as 64-bit integers of
 * millionths (at most 9,223,372,036,854.775807 units) and money as 64-bit
 * nano-USD, and plan must never find an input it cannot price (it would
 * call the workload infeasible, exit 3, instead of invalid, exit 2). */
#define MAX_MEAN_DURATION_MS 3600000ull              /* 60m, the longest timeout */
/* requests x meanDuration (billed in 100 ms steps, as Cloud Run bills) x the
 * largest instance anyone bills per request-second (32 GiB of memory) is a
 * GiB-second quantity: it must fit the 9.22e12 units above. */
#define MAX_REQUEST_MS 288230376151711ull            /* 9223372036854.775807 x 1000 / 32 */
#define MAX_DATA_BYTES (8ull << 50)                  /* 8 PiB a month, 2^53 bytes */
#define MAX_EPHEMERAL_BYTES (1ull << 40)             /* 1Ti */
#define MAX_MONEY_MICRO (1000000000ll * 1000000)     /* $1,000,000,000 a month */

typedef struct spec_item {
    json_t *norm;        /* the normal form (owned) */
    char *text;          /* canonical JSON of norm */
    char *kind, *name, *tenant, *hash, *file;
    fbi_locmap *locs;    /* its own positions, for errors found by finish (owned) */
    char *loc_prefix, *ptr_prefix;
    int in_fed;          /* read as a member of a federation (inherits its labels) */
    int doc;             /* its document's index in its file */
} spec_item;

typedef struct fed_link {
    char *from, *to;
    uint64_t volume;
    int64_t latency_ms;  /* -1 when absent */
} fed_link;

typedef struct fed_item {
    char *name, *tenant, *file;
    json_t *labels;      /* its labels, inherited by members (owned; parent's merged) */
    json_t *members;     /* array of names (owned) */
    json_t *member_set;  /* name -> true, for lookups (owned) */
    json_t *info;        /* the federations_json entry (owned) */
    fed_link *links;
    size_t nlinks;
    fbi_locmap *locs;    /* positions of its metadata (owned) */
    char *loc_prefix, *ptr_prefix;
} fed_item;

struct fb_spec_set {
    spec_item *items;
    size_t n, cap;
    fed_item *feds;
    size_t nfed, capfed;
    char *links_text, *feds_text; /* caches, rebuilt after changes */
    json_t *links_json, *feds_json; /* the values the texts are made from */
    json_t *name_index;  /* index_key(tenant, name) -> item (fbi_spec_find), rebuilt after changes */
    size_t files_read;
    uint64_t bytes_read;  /* spec text read, all files (FBI_SPEC_MAX_TOTAL) */
    size_t max_workloads; /* 0: FBI_SPEC_MAX_WORKLOADS */
    int keep_texts;       /* hash_one leaves each item's text (fbi_spec_set_keep_texts) */
    int full;             /* a per-set limit was reached: nothing more is read */
    char **allow;         /* real paths of --allow-path trees (owned) */
    size_t nallow;
    fbi_program_check_fn check; /* QuantumJob programs (NULL: not parsed) */
    void *check_ctx;
    fbi_vocab_check_fn vocab;   /* locations and regions (NULL: plan checks them) */
    void *vocab_ctx;
    char **stack;        /* real paths of the files being read (cycle check) */
    size_t nstack, capstack;
    /* the structural hash of a "spec" member or of any value in one
     * (pool_key) -> that value: items share their equal parts
     * (share_spec) */
    json_t *spec_pool;
};

/* Per-document context: where errors go and how pointers map to lines. */
typedef struct dctx {
    fb_spec_set *set;
    fb_diag *diag;
    const char *file;
    const char *base_dir;   /* NULL: file references refused */
    const char *root;       /* real path of the tree the spec may read (its top file's
                               directory); NULL with base_dir */
    fbi_locmap *locs;
    const char *loc_prefix; /* the document inside the file's map */
    const char *ptr_prefix; /* the workload inside its document */
    int errors;
    int depth;              /* include depth */
    int doc;                /* the document's index in its file */
} dctx;

/* ------------------------------------------------------------------------ */
/* diagnostics                                                              */

static void derr(dctx *c, const char *rel, const char *summary, const char *detail)
{
    char *full = fbi_xasprintf("%s%s", c->ptr_prefix ? c->ptr_prefix : "", rel ? rel : "");
    char *lp = fbi_xasprintf("%s%s", c->loc_prefix ? c->loc_prefix : "", full);
    int line = 0, col = 0;
    fbi_loc_get(c->locs, lp, &line, &col);
    fb_diag_add(c->diag, FB_SEV_ERROR, c->file, line, col, full, summary, detail);
    free(lp);
    free(full);
    c->errors++;
}

static void derrf(dctx *c, const char *rel, const char *detail, const char *fmt, ...)
    FBI_PRINTF(4, 5);

static void derrf(dctx *c, const char *rel, const char *detail, const char *fmt, ...)
{
    fbi_buf b;
    fbi_buf_init(&b);
    va_list ap;
    va_start(ap, fmt);
    fbi_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    derr(c, rel, b.data, detail);
    fbi_buf_free(&b);
}

typedef struct located_err {
    int line, col;
    size_t seq;
    fbi_schema_error *e;
} located_err;

static int cmp_located(const void *a, const void *b)
{
    const located_err *x = a, *y = b;
    if (x->line != y->line) return x->line < y->line ? -1 : 1;
    if (x->col != y->col) return x->col < y->col ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Validates a document against the schema at ref and reports every error
 * in file order. Returns the number of errors. */
static size_t schema_check(dctx *c, const json_t *doc, const char *ref)
{
    const char *why = NULL;
    const fbi_schema *s = fbi_spec_schema(&why);
    if (!s) {
        derr(c, "", "the embedded schema does not load", why);
        return 1;
    }
    fbi_schema_errors errs = {0};
    size_t n = fbi_schema_validate(s, ref, doc, &errs);
    located_err *l = fbi_xcalloc(errs.n + 1, sizeof *l);
    for (size_t i = 0; i < errs.n; i++) {
        char *lp = fbi_xasprintf("%s%s%s", c->loc_prefix ? c->loc_prefix : "",
                                 c->ptr_prefix ? c->ptr_prefix : "", errs.v[i].pointer);
        fbi_loc_get(c->locs, lp, &l[i].line, &l[i].col);
        free(lp);
        l[i].seq = i;
        l[i].e = &errs.v[i];
    }
    qsort(l, errs.n, sizeof *l, cmp_located);
    for (size_t i = 0; i < errs.n; i++)
        derr(c, l[i].e->pointer, l[i].e->summary, l[i].e->detail);
    if (n > errs.n)
        derrf(c, "", "Fix the errors above and validate again to see the rest.",
              "%zu more errors in this document are not shown", n - errs.n);
    free(l);
    fbi_schema_errors_free(&errs);
    return n;
}

/* ------------------------------------------------------------------------ */
/* small JSON helpers (the document is schema-valid when these run)         */

static const char *str_at(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void copy_if(json_t *dst, const json_t *src, const char *k)
{
    json_t *v = json_object_get(src, k);
    if (v) json_object_set_new(dst, k, json_deep_copy(v));
}

static json_int_t int_at(const json_t *o, const char *k, json_int_t dflt)
{
    json_t *v = json_object_get(o, k);
    if (!v) return dflt;
    if (json_is_integer(v)) return json_integer_value(v);
    if (json_is_real(v)) return (json_int_t)json_real_value(v);
    return dflt;
}

/* Sets key to an integer copy of an integral number (1.0 -> 1). */
static void copy_int_if(json_t *dst, const json_t *src, const char *k)
{
    json_t *v = json_object_get(src, k);
    if (v) json_object_set_new(dst, k, json_integer(int_at(src, k, 0)));
}

static int duration_ms(dctx *c, const json_t *o, const char *k, const char *rel_obj,
                       int64_t *out)
{
    const char *s = str_at(o, k);
    if (!s) return 0;
    char *err = NULL;
    if (fbi_parse_duration(s, out, &err) != 0) {
        char *rel = fbi_xasprintf("%s/%s", rel_obj, k);
        derr(c, rel, err, NULL);
        free(rel);
        free(err);
        return -1;
    }
    return 1;
}

/* Sets dst[outk] to the duration src[k] in ms when present. */
static void put_duration(dctx *c, json_t *dst, const json_t *src, const char *k,
                         const char *outk, const char *rel_obj)
{
    int64_t ms;
    if (duration_ms(c, src, k, rel_obj, &ms) == 1)
        json_object_set_new(dst, outk, json_integer(ms));
}

static int bytes_at(dctx *c, const json_t *o, const char *k, const char *rel_obj,
                    uint64_t *out)
{
    json_t *v = json_object_get(o, k);
    if (!v) return 0;
    char *err = NULL;
    if (fbi_parse_bytes(v, out, &err) != 0) {
        char *rel = fbi_xasprintf("%s/%s", rel_obj, k);
        derr(c, rel, err, NULL);
        free(rel);
        free(err);
        return -1;
    }
    return 1;
}

static json_t *money_norm(dctx *c, const json_t *budget, const char *rel)
{
    json_t *m = json_object_get(budget, "monthly");
    if (!m) return NULL;
    int64_t micro;
    char *err = NULL;
    if (fbi_parse_money(m, &micro, &err) != 0) {
        char *r = fbi_xasprintf("%s/monthly", rel);
        derr(c, r, err, NULL);
        free(r);
        free(err);
        return NULL;
    }
    if (micro > MAX_MONEY_MICRO) {
        char *r = fbi_xasprintf("%s/monthly", rel);
        derr(c, r, "a budget of more than 1000000000 USD a month",
             "Plan compares costs with budgets in 64-bit nano-USD; a budget is at most "
             "1000000000 (a billion USD a month).");
        free(r);
        return NULL;
    }
    /* The basis is part of the normal form (default net): it decides which
     * figure the plan compares with the budget, so a spec whose budget now
     * means something else gets another specHash. The schema has already
     * refused any other value (with its pointer). */
    const char *basis = json_string_value(json_object_get(budget, "basis"));
    return json_pack("{sIss}", "monthlyMicroUsd", (json_int_t)micro, "basis", basis ? basis : "net");
}

static char *rel_idx(const char *base, size_t i)
{
    return fbi_xasprintf("%s/%zu", base, i);
}

/* ------------------------------------------------------------------------ */
/* files referenced by specs                                                */

static char *join_path(const char *base, const char *p)
{
    if (p[0] == '/' || !base || !*base) return fbi_xstrdup(p);
    return fbi_xasprintf("%s/%s", base, p);
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return fbi_xstrdup(".");
    if (slash == path) return fbi_xstrdup("/");
    return fbi_xstrndup(path, (size_t)(slash - path));
}

/* ---- confinement ----
 * Every path a spec names (code.path, program.file, a Federation's
 * {file: ...}) must resolve, symbolic links and all, into the tree of the
 * directory of the spec file named on the command line (dctx.root), or of an
 * --allow-path directory; files under /proc, /sys and /dev (or on a proc or
 * sysfs mount elsewhere) are never read, and only regular files (and
 * directories for code.path) are: a FIFO would block, a device read the
 * kernel's data. Files are opened with O_NOFOLLOW | O_NONBLOCK and checked
 * again on the descriptor, so a file replaced after the check by a link or
 * a FIFO is refused too. A spec read from a buffer without a base directory
 * (over the API) may not name files at all. */

#define CODE_MAX_BYTES (256ull * MIB)
#define CODE_MAX_ENTRIES 20000
#define SPEC_API_VERSION "fedbroker.dev/v1"

#define PROC_FS_MAGIC 0x9fa0       /* proc(5) */
#define SYS_FS_MAGIC 0x62656572    /* sysfs */

static int under_dir(const char *real, const char *root)
{
    size_t n = strlen(root);
    if (n == 1 && root[0] == '/') return 1;
    return strncmp(real, root, n) == 0 && (real[n] == '\0' || real[n] == '/');
}

/* The pseudo filesystem a real path is in ("/proc"), or NULL. */
static const char *pseudo_fs(const char *real)
{
    static const char *const trees[] = {"/proc", "/sys", "/dev"};
    for (size_t i = 0; i < sizeof trees / sizeof *trees; i++)
        if (under_dir(real, trees[i])) return trees[i];
    struct statfs sf;
    if (statfs(real, &sf) == 0) {
        if (sf.f_type == PROC_FS_MAGIC) return "a proc filesystem";
        if (sf.f_type == SYS_FS_MAGIC) return "a sysfs filesystem";
    }
    return NULL;
}

static const char *type_name(mode_t m)
{
    if (S_ISDIR(m)) return "a directory";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISSOCK(m)) return "a socket";
    return "not a regular file";
}

/* Opens a regular file without following a final symbolic link and without
 * blocking on a FIFO; the descriptor's own type is checked. Returns the fd
 * or -1 with *err (new). */
static int open_regular(const char *path, char **err)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        *err = fbi_xasprintf("%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        *err = fbi_xasprintf("%s: is %s, not a regular file", path,
                             fstat(fd, &st) == 0 ? type_name(st.st_mode) : "unreadable");
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads a regular file of at most max bytes (new, NUL-terminated) or NULL
 * with *err (new). */
static char *read_regular(const char *path, size_t max, size_t *len, char **err)
{
    int fd = open_regular(path, err);
    if (fd < 0) return NULL;
    fbi_buf b;
    fbi_buf_init(&b);
    char chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            *err = fbi_xasprintf("%s: read error: %s", path, strerror(errno));
            break;
        }
        if (n == 0) break;
        if (b.len + (size_t)n > max) {
            *err = fbi_xasprintf("%s: file is larger than the limit of %zu bytes", path, max);
            break;
        }
        fbi_buf_append(&b, chunk, (size_t)n);
    }
    close(fd);
    if (*err) {
        fbi_buf_free(&b);
        return NULL;
    }
    *len = b.len;
    if (!b.data) fbi_buf_puts(&b, "");
    return fbi_buf_steal(&b);
}

/* Resolves a path a spec names (p, at pointer rel; what: "code.path") and
 * confines it (see above). dir_ok: a directory is acceptable. Returns the
 * real path (new), *is_dir set, or NULL after an error. */
static char *confined_resolve(dctx *c, const char *p, const char *shown, const char *rel,
                              const char *what, int dir_ok, int *is_dir);

static char *confined_path(dctx *c, const char *p, const char *rel, const char *what,
                           int dir_ok, int *is_dir)
{
    char *shown = fbi_printable(p, 0, 200); /* the spec's text, quoted like any value */
    char *real = confined_resolve(c, p, shown, rel, what, dir_ok, is_dir);
    free(shown);
    return real;
}

/* confined_path's work; shown is p made printable for the messages. */
static char *confined_resolve(dctx *c, const char *p, const char *shown, const char *rel,
                              const char *what, int dir_ok, int *is_dir)
{
    if (!c->base_dir || !c->root) {
        derrf(c, rel,
              "Specs read from a buffer without a base directory (for example over the "
              "API) may not reference files; inline the content instead.",
              "%s \"%s\" cannot be read: file references are disabled here", what, shown);
        return NULL;
    }
    char *full = join_path(c->base_dir, p);
    char *real = realpath(full, NULL);
    if (!real) {
        derrf(c, rel, "Paths are relative to the directory of the spec file.",
              "%s \"%s\" cannot be read: %s (resolved to %.300s)", what, shown, strerror(errno),
              full);
        free(full);
        return NULL;
    }
    free(full);
    const char *tree = NULL;
    if (under_dir(real, c->root)) tree = c->root;
    for (size_t i = 0; !tree && i < c->set->nallow; i++)
        if (under_dir(real, c->set->allow[i])) tree = c->set->allow[i];
    const char *pseudo = pseudo_fs(real);
    struct stat st;
    if (pseudo) {
        char *detail = fbi_xasprintf(
            "It resolves to %.300s. Files under /proc, /sys and /dev hold the state of the "
            "kernel and its processes, not specs, programs or code: they are never read.", real);
        derrf(c, rel, detail, "%s \"%s\" is in %s, which is never read", what, shown, pseudo);
        free(detail);
    } else if (!tree) {
        char *detail = fbi_xasprintf(
            "It resolves to %.300s. A spec reads files only under the directory of the spec "
            "file named on the command line (%.300s), symbolic links resolved. Move the file "
            "there, or allow its tree with --allow-path DIR.", real, c->root);
        derrf(c, rel, detail, "%s \"%s\" is outside the spec's directory tree", what, shown);
        free(detail);
    } else if (stat(real, &st) != 0) {
        derrf(c, rel, NULL, "%s \"%s\" cannot be read: %s", what, shown, strerror(errno));
    } else if (!(S_ISREG(st.st_mode) || (dir_ok && S_ISDIR(st.st_mode)))) {
        derrf(c, rel, dir_ok ? "Give a regular file or a directory." : "Give a regular file.",
              "%s \"%s\" is %s, not a regular file%s", what, shown, type_name(st.st_mode),
              dir_ok ? " or a directory" : "");
    } else {
        if (is_dir) *is_dir = S_ISDIR(st.st_mode);
        return real;
    }
    free(real);
    return NULL;
}

static int sha_file(const char *path, EVP_MD_CTX *md, uint64_t *size, char **err)
{
    int fd = open_regular(path, err);
    if (fd < 0) return -1;
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            *err = fbi_xasprintf("%s: read error: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        if (n == 0) break;
        EVP_DigestUpdate(md, buf, (size_t)n);
        *size += (uint64_t)n;
        if (*size > CODE_MAX_BYTES) break; /* the caller reports the size */
    }
    close(fd);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct tree_walk {
    EVP_MD_CTX *md;
    uint64_t bytes;
    size_t entries;
    char *err;
} tree_walk;

/* Hashes a directory tree in a canonical order: for each entry, sorted by
 * name, "D rel\n", "L rel\0target\n" or "F rel\0sha256\n". */
static int walk_dir(tree_walk *w, const char *abs, const char *rel, int depth)
{
    if (depth > 32) {
        w->err = fbi_xasprintf("%s: directories nest deeper than 32 levels", abs);
        return -1;
    }
    DIR *d = opendir(abs);
    if (!d) {
        w->err = fbi_xasprintf("%s: cannot open directory: %s", abs, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            names = fbi_xrealloc(names, cap * sizeof *names);
        }
        names[n++] = fbi_xstrdup(de->d_name);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_str);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (++w->entries > CODE_MAX_ENTRIES) {
            w->err = fbi_xasprintf("%s: more than %d files", abs, CODE_MAX_ENTRIES);
            rc = -1;
            break;
        }
        char *p = fbi_xasprintf("%s/%s", abs, names[i]);
        char *r = *rel ? fbi_xasprintf("%s/%s", rel, names[i]) : fbi_xstrdup(names[i]);
        struct stat st;
        if (lstat(p, &st) != 0) {
            w->err = fbi_xasprintf("%s: %s", p, strerror(errno));
            rc = -1;
        } else if (S_ISDIR(st.st_mode)) {
            EVP_DigestUpdate(w->md, "D ", 2);
            EVP_DigestUpdate(w->md, r, strlen(r));
            EVP_DigestUpdate(w->md, "\n", 1);
            rc = walk_dir(w, p, r, depth + 1);
        } else if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t tl = readlink(p, target, sizeof target - 1);
            if (tl < 0) tl = 0;
            EVP_DigestUpdate(w->md, "L ", 2);
            EVP_DigestUpdate(w->md, r, strlen(r) + 1);
            EVP_DigestUpdate(w->md, target, (size_t)tl);
            EVP_DigestUpdate(w->md, "\n", 1);
        } else if (S_ISREG(st.st_mode)) {
            EVP_MD_CTX *f = EVP_MD_CTX_new();
            EVP_DigestInit_ex(f, EVP_sha256(), NULL);
            rc = sha_file(p, f, &w->bytes, &w->err);
            unsigned char md[32];
            unsigned mdlen = 0;
            EVP_DigestFinal_ex(f, md, &mdlen);
            EVP_MD_CTX_free(f);
            char hex[65];
            for (int k = 0; k < 32; k++) snprintf(hex + 2 * k, 3, "%02x", md[k]);
            EVP_DigestUpdate(w->md, "F ", 2);
            EVP_DigestUpdate(w->md, r, strlen(r) + 1);
            EVP_DigestUpdate(w->md, hex, 64);
            EVP_DigestUpdate(w->md, "\n", 1);
            if (rc == 0 && w->bytes > CODE_MAX_BYTES) {
                w->err = fbi_xasprintf("%s: the code is larger than 256 MiB", abs);
                rc = -1;
            }
        } else {
            w->err = fbi_xasprintf("%s: not a regular file, directory or symbolic link", p);
            rc = -1;
        }
        free(p);
        free(r);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return rc;
}

/* Content hash of a code file or directory (hex into out). */
static int hash_code(const char *abs, int is_dir, char out[65], uint64_t *bytes, char **err)
{
    tree_walk w;
    memset(&w, 0, sizeof w);
    w.md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(w.md, EVP_sha256(), NULL);
    int rc = is_dir ? walk_dir(&w, abs, "", 0) : sha_file(abs, w.md, &w.bytes, &w.err);
    if (!is_dir && rc == 0 && w.bytes > CODE_MAX_BYTES) {
        w.err = fbi_xasprintf("%s: the code is larger than 256 MiB", abs);
        rc = -1;
    }
    unsigned char md[32];
    unsigned mdlen = 0;
    EVP_DigestFinal_ex(w.md, md, &mdlen);
    EVP_MD_CTX_free(w.md);
    if (rc != 0) {
        *err = w.err;
        return -1;
    }
    for (int k = 0; k < 32; k++) snprintf(out + 2 * k, 3, "%02x", md[k]);
    *bytes = w.bytes;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* normalisation of the parts                                               */

static json_t *norm_resources(dctx *c, const json_t *r, int is_container)
{
    json_t *o = json_object();
    uint64_t mem = is_container ? 512 * MIB : 128 * MIB;
    if (bytes_at(c, r, "memory", "/spec/resources", &mem) == 1 &&
        (mem < 64 * MIB || mem > 32 * 1024 * MIB))
        derrf(c, "/spec/resources/memory",
              "Memory per instance must be between 64Mi and 32Gi (the range every "
              "provider's serverless and container services share).",
              "memory %llu bytes (%.1f MiB) is outside 64Mi..32Gi", (unsigned long long)mem,
              (double)mem / (double)MIB);
    uint64_t mib = (mem + MIB - 1) / MIB;
    json_object_set_new(o, "memoryMiB", json_integer((json_int_t)mib));
    int64_t millis;
    json_t *cpu = json_object_get(r, "cpu");
    if (cpu) {
        char *err = NULL;
        if (fbi_parse_cpu(cpu, &millis, &err) != 0) {
            derr(c, "/spec/resources/cpu", err, NULL);
            free(err);
            millis = 0;
        } else if (millis < 50 || millis > 64000) {
            derrf(c, "/spec/resources/cpu", "CPU per instance must be between 0.05 and 64 cores.",
                  "cpu %lld millicores is outside 50m..64000m (0.05 to 64 cores)",
                  (long long)millis);
        }
    } else if (is_container) {
        millis = 250;
    } else {
        /* Lambda's rule: one core per 1769 MiB, proportionally. */
        millis = (int64_t)((mib * 1000 + 1768) / 1769);
    }
    json_object_set_new(o, "cpuMillis", json_integer(millis));
    const char *arch = str_at(r, "arch");
    json_object_set_new(o, "arch", json_string(arch ? arch : "x86_64"));
    uint64_t eph = 512 * MIB;
    if (bytes_at(c, r, "ephemeralStorage", "/spec/resources", &eph) == 1 && eph > MAX_EPHEMERAL_BYTES) {
        derrf(c, "/spec/resources/ephemeralStorage",
              "Ephemeral storage is at most 1Ti per instance (providers offer up to 200 GiB); "
              "the cost model's figures are exact up to it.",
              "ephemeralStorage of %llu bytes is more than 1Ti", (unsigned long long)eph);
        eph = 512 * MIB;
    }
    json_object_set_new(o, "ephemeralStorageMiB", json_integer((json_int_t)((eph + MIB - 1) / MIB)));
    json_t *gpu = json_object_get(r, "gpu");
    if (gpu)
        json_object_set_new(o, "gpu", json_pack("{sIss}", "count",
                                                int_at(gpu, "count", 1), "type",
                                                str_at(gpu, "type")));
    return o;
}

static json_t *norm_scaling(dctx *c, const json_t *s)
{
    json_t *o = json_object();
    json_int_t mn = int_at(s, "minInstances", 0), mx = int_at(s, "maxInstances", 100);
    if (mn > mx)
        derrf(c, json_object_get(s, "minInstances") ? "/spec/scaling/minInstances" : "/spec/scaling",
              "minInstances must not exceed maxInstances (default 100).",
              "minInstances %lld is greater than maxInstances %lld", (long long)mn,
              (long long)mx);
    json_t *z = json_object_get(s, "scaleToZero");
    if (json_is_true(z) && mn > 0)
        derrf(c, "/spec/scaling/scaleToZero",
              "A workload with minInstances above 0 never scales to zero; drop scaleToZero "
              "or set minInstances to 0.",
              "scaleToZero is true but minInstances is %lld", (long long)mn);
    json_object_set_new(o, "minInstances", json_integer(mn));
    json_object_set_new(o, "maxInstances", json_integer(mx));
    json_object_set_new(o, "scaleToZero", json_boolean(z ? json_is_true(z) : mn == 0));
    copy_int_if(o, s, "targetConcurrency");
    copy_if(o, s, "targetRequestsPerSecond");
    copy_int_if(o, s, "reservedConcurrency");
    return o;
}

static json_t *norm_triggers(const json_t *t)
{
    json_t *arr = json_array();
    size_t i;
    json_t *it;
    json_array_foreach(t, i, it) {
        json_t *o = json_object();
        json_t *h = json_object_get(it, "http"), *q = json_object_get(it, "queue"),
               *s = json_object_get(it, "schedule");
        if (h) {
            json_t *x = json_object();
            const char *p = str_at(h, "path");
            json_object_set_new(x, "path", json_string(p ? p : "/"));
            json_object_set_new(x, "public", json_boolean(json_is_true(json_object_get(h, "public"))));
            json_t *m = json_object_get(h, "methods");
            json_object_set_new(x, "methods", m ? json_deep_copy(m)
                                                : json_pack("[sssssss]", "GET", "HEAD", "POST",
                                                            "PUT", "PATCH", "DELETE", "OPTIONS"));
            json_object_set_new(o, "http", x);
        } else if (q) {
            json_object_set_new(o, "queue", json_pack("{sssI}", "name", str_at(q, "name"),
                                                      "batchSize", int_at(q, "batchSize", 10)));
        } else if (s) {
            const char *tz = str_at(s, "timezone");
            json_object_set_new(o, "schedule", json_pack("{ssss}", "cron", str_at(s, "cron"),
                                                         "timezone", tz ? tz : "UTC"));
        }
        json_array_append_new(arr, o);
    }
    return arr;
}

static json_t *norm_health(dctx *c, const json_t *h)
{
    json_t *o = json_object();
    const char *p = str_at(h, "path");
    json_object_set_new(o, "path", json_string(p ? p : "/"));
    copy_int_if(o, h, "port");
    int64_t v;
    json_object_set_new(o, "initialDelayMs", json_integer(
        duration_ms(c, h, "initialDelay", "/spec/healthCheck", &v) == 1 ? v : 0));
    json_object_set_new(o, "periodMs", json_integer(
        duration_ms(c, h, "period", "/spec/healthCheck", &v) == 1 ? v : 10000));
    json_object_set_new(o, "timeoutMs", json_integer(
        duration_ms(c, h, "timeout", "/spec/healthCheck", &v) == 1 ? v : 1000));
    json_object_set_new(o, "failureThreshold", json_integer(int_at(h, "failureThreshold", 3)));
    return o;
}

/* A data volume per month (egress, a dependency's or link's volume) within
 * MAX_DATA_BYTES; returns 0, or -1 after an error at rel. */
static int check_data_volume(dctx *c, uint64_t bytes, const char *rel, const char *what)
{
    if (bytes <= MAX_DATA_BYTES) return 0;
    char *detail = fbi_xasprintf(
        "A data volume is at most %llu bytes (8Pi) a month: a thousand links between two "
        "workloads then still add up exactly in 63 bits.", (unsigned long long)MAX_DATA_BYTES);
    derrf(c, rel, detail, "%s of %llu bytes is more than 8 PiB a month", what,
          (unsigned long long)bytes);
    free(detail);
    return -1;
}

/* An unknown location or region is an error at validate, with its
 * position, the nearest known name and the command that lists them. */
static void check_vocab(dctx *c, const char *what, const char *name, const char *rel)
{
    if (!c->set->vocab || !name) return;
    char *sugg = NULL;
    const char *hint = NULL;
    if (c->set->vocab(c->set->vocab_ctx, what, name, &sugg, &hint)) return;
    if (sugg)
        derrf(c, rel, hint, "unknown %s '%s'; did you mean '%s'?", what, name, sugg);
    else
        derrf(c, rel, hint, "unknown %s '%s'", what, name);
    free(sugg);
}

/* An inline profile's error at /spec/traffic/profile + rel. */
static void profile_err(void *ctx, const char *rel, const char *summary, const char *detail)
{
    char *full = fbi_xasprintf("/spec/traffic/profile%s", rel);
    derr(ctx, full, summary, detail);
    free(full);
}

/* traffic.profile's normal form (profile.h's summary; the rates inline, or
 * the file's real path and SHA-256 for a CSV file, which simulate and plan
 * read again), or NULL after errors. *mean_rps gets the mean rate. */
static json_t *norm_profile(dctx *c, const json_t *pv, double *mean_rps)
{
    fbi_profile p;
    json_t *o;
    const char *file = json_is_object(pv) ? str_at(pv, "file") : NULL;
    if (file) {
        const char *rel = "/spec/traffic/profile/file";
        char *real = confined_path(c, file, rel, "traffic.profile.file", 0, NULL);
        if (!real) return NULL;
        size_t len = 0;
        char *err = NULL;
        char *data = read_regular(real, FBI_PROFILE_MAX_FILE, &len, &err);
        if (!data) {
            derr(c, rel, err, "A profile file is CSV text of at most 64 MiB.");
            free(err);
            free(real);
            return NULL;
        }
        char *ptr = fbi_xasprintf("%s%s", c->ptr_prefix ? c->ptr_prefix : "", rel);
        size_t before = fb_diag_errors(c->diag);
        int rc = fbi_profile_parse_csv(real, data, len, ptr, &p, c->diag);
        free(ptr);
        c->errors += (int)(fb_diag_errors(c->diag) - before);
        if (rc != 0) {
            if (fb_diag_errors(c->diag) == before) derr(c, rel, "the profile file is invalid", NULL);
            free(data);
            free(real);
            return NULL;
        }
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
        char hex[65];
        for (unsigned i = 0; i < mdlen && i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
        free(data);
        o = fbi_profile_to_json(&p, 0);
        json_object_set_new(o, "file", json_string(real));
        json_object_set_new(o, "sha256", json_string(hex));
        free(real);
    } else {
        if (fbi_profile_from_json(pv, &p, profile_err, c) != 0) return NULL;
        o = fbi_profile_to_json(&p, 1);
    }
    *mean_rps = json_real_value(json_object_get(o, "meanRps"));
    fbi_profile_free(&p);
    return o;
}

static json_t *norm_traffic(dctx *c, const json_t *t, int is_container, int slo_set)
{
    json_t *o = json_object();
    json_int_t req = int_at(t, "requestsPerMonth", 0);
    const json_t *pv = json_object_get(t, "profile");
    int derived = 0;
    if (pv) {
        double mean = 0;
        json_t *prof = norm_profile(c, pv, &mean);
        if (prof) {
            json_object_set_new(o, "profile", prof);
            /* Without requestsPerMonth the profile's mean stands for it (730
             * hours, the month plan prices), so plan and simulate agree. */
            if (!json_object_get(t, "requestsPerMonth")) {
                double r = mean * 730.0 * 3600.0;
                req = r > 2e12 ? (json_int_t)2000000000000LL : (json_int_t)llround(r);
                derived = 1;
            }
        }
    }
    json_object_set_new(o, "requestsPerMonth", json_integer(req));
    int64_t ms = 100;
    if (duration_ms(c, t, "meanDuration", "/spec/traffic", &ms) == 1 &&
        (uint64_t)ms > MAX_MEAN_DURATION_MS) {
        derrf(c, "/spec/traffic/meanDuration",
              "A request lasts at most the longest timeout, 60m; the cost model's figures are "
              "exact only up to it.",
              "meanDuration %lld ms is longer than 60m", (long long)ms);
        ms = 100;
    } else if (req > 0) {
        uint64_t billed = (uint64_t)(ms < 100 ? 100 : (ms + 99) / 100 * 100);
        if ((uint64_t)req > MAX_REQUEST_MS / billed) {
            /* req <= 2e12 (schema) and billed <= 3.6e6: the product fits 64 bits */
            char *detail = fbi_xasprintf(
                "requestsPerMonth x meanDuration (rounded up to 100 ms, as Cloud Run bills) is "
                "%llu request-ms a month; at most %llu fit: the cost model prices a 32 GiB "
                "instance for that time in GiB-seconds as a 64-bit integer of millionths "
                "(9,223,372,036,854.775807 at most). Lower the traffic or split the workload.",
                (unsigned long long)((uint64_t)req * billed), (unsigned long long)MAX_REQUEST_MS);
            derr(c, json_object_get(t, "requestsPerMonth") ? "/spec/traffic/requestsPerMonth"
                                                           : "/spec/traffic",
                 "requestsPerMonth x meanDuration is more than the cost model computes exactly",
                 detail);
            free(detail);
        }
    }
    json_object_set_new(o, "meanDurationMs", json_integer(ms));
    json_object_set_new(o, "concurrencyPerInstance",
                        json_integer(int_at(t, "concurrencyPerInstance", is_container ? 80 : 1)));
    uint64_t eg = 0, per = 0;
    if (bytes_at(c, t, "egressPerMonth", "/spec/traffic", &eg) == 1) {
        check_data_volume(c, eg, "/spec/traffic/egressPerMonth", "egressPerMonth");
    } else if (bytes_at(c, t, "egressPerRequest", "/spec/traffic", &per) == 1) {
        if (req > 0 && per > MAX_DATA_BYTES / (uint64_t)req) {
            char *detail = fbi_xasprintf(
                "egressPerRequest x requestsPerMonth is at most %llu bytes (8 PiB) a month: "
                "a thousand links between two workloads then still add up exactly in 63 bits.",
                (unsigned long long)MAX_DATA_BYTES);
            derr(c, "/spec/traffic/egressPerRequest",
                 "egressPerRequest x requestsPerMonth is more than 8 PiB a month", detail);
            free(detail);
            eg = 0;
        } else {
            eg = per * (uint64_t)req;
        }
    }
    json_object_set_new(o, "egressBytesPerMonth", json_integer((json_int_t)eg));
    json_t *src = json_object_get(t, "sources");
    json_t *arr = json_array();
    double sum = 0;
    size_t i;
    json_t *s;
    json_array_foreach(src, i, s) {
        const char *loc = str_at(s, "location");
        char *lrel = fbi_xasprintf("/spec/traffic/sources/%zu/location", i);
        check_vocab(c, "location", loc, lrel);
        free(lrel);
        for (size_t k = 0; k < i; k++) {
            if (!strcmp(loc, str_at(json_array_get(src, k), "location"))) {
                char *rel = fbi_xasprintf("/spec/traffic/sources/%zu/location", i);
                derrf(c, rel, "Give each location once with the total weight.",
                      "location `%s` is listed twice (first at index %zu)", loc, k);
                free(rel);
                break;
            }
        }
        double w = json_number_value(json_object_get(s, "weight"));
        sum += w;
        json_array_append_new(arr, json_pack("{sssf}", "location", loc, "weight", w));
    }
    if (json_array_size(src) > 0 && fabs(sum - 1.0) > 0.001)
        derrf(c, "/spec/traffic/sources",
              "The weights are shares of the requests and must add up to 1 (+-0.001).",
              "source weights sum to %.6g, not 1", sum);
    if (slo_set && json_array_size(src) == 0)
        derr(c, t ? "/spec/traffic" : "/spec/placement/latencySLO",
             "a latencySLO needs at least one traffic source",
             "Latency is measured from where the requests come from: add "
             "traffic.sources [{location, weight}].");
    json_object_set_new(o, "sources", arr);
    /* Which traffic figures were not given: the cost model refuses to
     * estimate a Function from invented traffic. */
    json_t *defaults = json_array();
    static const char *const given[] = {"requestsPerMonth", "meanDuration"};
    for (size_t k = 0; k < sizeof given / sizeof *given; k++)
        if (!json_object_get(t, given[k]) && !(k == 0 && derived))
            json_array_append_new(defaults, json_string(given[k]));
    json_object_set_new(o, "defaults", defaults);
    return o;
}

static void check_overlap(dctx *c, const json_t *p, const char *allow, const char *deny)
{
    json_t *a = json_object_get(p, allow), *d = json_object_get(p, deny);
    size_t i, j;
    json_t *x, *y;
    json_array_foreach(d, j, y) {
        json_array_foreach(a, i, x) {
            if (!strcmp(json_string_value(x), json_string_value(y))) {
                char *rel = fbi_xasprintf("/spec/placement/%s/%zu", deny, j);
                derrf(c, rel, "A value cannot be both allowed and denied; remove one.",
                      "`%s` is in both %s and %s", json_string_value(y), allow, deny);
                free(rel);
            }
        }
    }
}

static json_t *norm_placement(dctx *c, const json_t *p, const char *self)
{
    json_t *o = json_object();
    static const char *const lists[] = {"providers", "denyProviders", "regions", "denyRegions",
                                        "services", "residency", "affinity", "antiAffinity"};
    for (size_t i = 0; i < sizeof lists / sizeof *lists; i++) copy_if(o, p, lists[i]);
    check_overlap(c, p, "providers", "denyProviders");
    check_overlap(c, p, "regions", "denyRegions");
    check_overlap(c, p, "affinity", "antiAffinity");
    static const char *const rl[] = {"regions", "denyRegions"};
    for (int k = 0; k < 2; k++) {
        size_t i;
        json_t *x;
        json_array_foreach(json_object_get(p, rl[k]), i, x) {
            char *rel = fbi_xasprintf("/spec/placement/%s/%zu", rl[k], i);
            check_vocab(c, "region", json_string_value(x), rel);
            free(rel);
        }
    }
    static const char *const aff[] = {"affinity", "antiAffinity"};
    for (int k = 0; k < 2; k++) {
        size_t i;
        json_t *x;
        json_array_foreach(json_object_get(p, aff[k]), i, x) {
            if (self && !strcmp(json_string_value(x), self)) {
                char *rel = fbi_xasprintf("/spec/placement/%s/%zu", aff[k], i);
                derrf(c, rel, "List other workloads only.", "a workload cannot name itself in %s",
                      aff[k]);
                free(rel);
            }
        }
    }
    json_t *slo = json_object_get(p, "latencySLO");
    if (slo) {
        json_t *s = json_object();
        static const char *const pct[] = {"p50", "p90", "p95", "p99"};
        for (int k = 0; k < 4; k++) {
            char outk[8];
            snprintf(outk, sizeof outk, "%sMs", pct[k]);
            put_duration(c, s, slo, pct[k], outk, "/spec/placement/latencySLO");
        }
        json_object_set_new(o, "latencySLO", s);
    }
    /* Only when given: a default here would change every workload's specHash. */
    copy_if(o, p, "strategy");
    const char *obj = str_at(p, "objective");
    json_object_set_new(o, "objective", json_string(obj ? obj : "cost"));
    json_t *lw = json_object_get(p, "latencyWeight");
    json_object_set_new(o, "latencyWeight", json_real(lw ? json_number_value(lw) : 0.5));
    json_t *b = json_object_get(p, "budget");
    if (b) {
        json_t *m = money_norm(c, b, "/spec/placement/budget");
        if (m) json_object_set_new(o, "budget", m);
    }
    json_t *sp = json_object_get(p, "spread");
    if (sp) {
        json_int_t minr = int_at(sp, "minRegions", 1), minp = int_at(sp, "minProviders", 1);
        json_object_set_new(o, "spread", json_pack("{sIsI}", "minRegions", minr, "minProviders",
                                                   minp));
        /* What plan refuses as contradictory needs no catalog: refuse it here
         * too, with the same words, so validate and plan agree. */
        if ((minr > 1 || minp > 1) && json_array_size(json_object_get(p, "affinity")))
            derr(c, "/spec/placement/affinity",
                 "contradictory constraints: spread over several regions and affinity (same "
                 "region as another workload) cannot both hold",
                 "Drop the affinity and bound the distance with a link latencyBudget instead.");
        json_t *allow = json_object_get(p, "providers");
        if (minp > 1 && json_array_size(allow) && (json_int_t)json_array_size(allow) < minp)
            derrf(c, "/spec/placement/spread/minProviders",
                  "List more providers in placement.providers, or lower spread.minProviders.",
                  "contradictory constraints: spread.minProviders is %lld but placement.providers "
                  "allows %zu", (long long)minp, json_array_size(allow));
    }
    return o;
}

static json_t *norm_dependencies(dctx *c, const json_t *deps, const char *self)
{
    json_t *arr = json_array();
    size_t i;
    json_t *d;
    json_array_foreach(deps, i, d) {
        const char *w = str_at(d, "workload");
        char *rel = rel_idx("/spec/dependencies", i);
        if (self && !strcmp(w, self)) {
            char *r2 = fbi_xasprintf("%s/workload", rel);
            derr(c, r2, "a workload cannot depend on itself", "List the workloads it calls.");
            free(r2);
        }
        for (size_t k = 0; k < i; k++) {
            if (!strcmp(w, str_at(json_array_get(deps, k), "workload"))) {
                char *r2 = fbi_xasprintf("%s/workload", rel);
                derrf(c, r2, "Give each dependency once with its total volume.",
                      "dependency on `%s` is listed twice (first at index %zu)", w, k);
                free(r2);
                break;
            }
        }
        json_t *o = json_object();
        json_object_set_new(o, "workload", json_string(w));
        uint64_t vol = 0;
        if (bytes_at(c, d, "volumePerMonth", rel, &vol) == 1) {
            char *r2 = fbi_xasprintf("%s/volumePerMonth", rel);
            if (check_data_volume(c, vol, r2, "volumePerMonth") != 0) vol = 0;
            free(r2);
        }
        json_object_set_new(o, "volumeBytesPerMonth", json_integer((json_int_t)vol));
        put_duration(c, o, d, "latencyBudget", "latencyBudgetMs", rel);
        json_array_append_new(arr, o);
        free(rel);
    }
    return arr;
}

/* Env and secrets share one namespace and Lambda's 4 KiB budget. */
static void check_env(dctx *c, const json_t *spec)
{
    json_t *env = json_object_get(spec, "env"), *sec = json_object_get(spec, "secrets");
    size_t total = 0;
    const char *k;
    json_t *v;
    json_object_foreach(env, k, v) {
        size_t n = json_string_length(v);
        total += strlen(k) + n;
        if (n > 4096) {
            fbi_buf r;
            fbi_buf_init(&r);
            fbi_buf_puts(&r, "/spec/env");
            fbi_pointer_append(&r, k);
            derrf(c, r.data, "Lambda limits each variable to 4096 bytes; pass large values "
                             "as files or secrets.",
                  "value of %s is %zu bytes, more than 4096", k, n);
            fbi_buf_free(&r);
        }
    }
    if (total > 4096)
        derrf(c, "/spec/env", "Lambda limits all environment variables together to 4 KiB.",
              "environment variables total %zu bytes (names and values), more than 4096", total);
    size_t i;
    json_t *s;
    json_array_foreach(sec, i, s) {
        const char *name = str_at(s, "env");
        char *rel = fbi_xasprintf("/spec/secrets/%zu/env", i);
        if (json_object_get(env, name))
            derrf(c, rel, "An environment variable is declared once: either in env or in "
                          "secrets.",
                  "%s is declared in both env and secrets", name);
        for (size_t j = 0; j < i; j++) {
            if (!strcmp(name, str_at(json_array_get(sec, j), "env"))) {
                derrf(c, rel, "An environment variable is declared once.",
                      "%s is declared twice in secrets (first at index %zu)", name, j);
                break;
            }
        }
        free(rel);
    }
}

static json_t *norm_ports(dctx *c, const json_t *ports)
{
    if (!ports) return json_pack("[{sisssb}]", "port", 8080, "protocol", "http", "public", 0);
    json_t *arr = json_array();
    int public_http = 0;
    size_t i;
    json_t *p;
    json_array_foreach(ports, i, p) {
        json_int_t port = int_at(p, "port", 0);
        const char *proto = str_at(p, "protocol");
        if (!proto) proto = "http";
        int pub = json_is_true(json_object_get(p, "public"));
        for (size_t k = 0; k < i; k++) {
            if (int_at(json_array_get(ports, k), "port", 0) == port) {
                char *rel = fbi_xasprintf("/spec/ports/%zu/port", i);
                derrf(c, rel, "Each port is listed once.", "port %lld is listed twice",
                      (long long)port);
                free(rel);
                break;
            }
        }
        if (pub && !strcmp(proto, "http") && public_http++) {
            char *rel = fbi_xasprintf("/spec/ports/%zu/public", i);
            derr(c, rel, "more than one public http port",
                 "Serverless container platforms route one public HTTP port; make the others "
                 "private.");
            free(rel);
        }
        json_array_append_new(arr, json_pack("{sIsssb}", "port", port, "protocol", proto,
                                             "public", pub));
    }
    return arr;
}

static json_t *norm_code(dctx *c, const json_t *code)
{
    json_t *s3 = json_object_get(code, "s3");
    if (s3) return json_pack("{sO}", "s3", s3);
    const char *p = str_at(code, "path");
    int is_dir = 0;
    char *real = confined_path(c, p, "/spec/code/path", "code.path", 1, &is_dir);
    if (!real) return NULL;
    char hex[65];
    uint64_t bytes = 0;
    char *err = NULL;
    if (hash_code(real, is_dir, hex, &bytes, &err) != 0) {
        derr(c, "/spec/code/path", err, "The code must be readable regular files and "
                                        "directories, at most 256 MiB.");
        free(err);
        free(real);
        return NULL;
    }
    json_t *o = json_pack("{sssssssI}", "path", real, "type", is_dir ? "directory" : "file",
                          "sha256", hex, "bytes", (json_int_t)bytes);
    free(real);
    return o;
}

/* "openqasm2", "openqasm3", or NULL when the program has no OPENQASM
 * header (after blank lines and comments). *unknown is set for a header
 * with another version. */
static const char *detect_language(const char *src, const char **unknown)
{
    const char *p = src;
    *unknown = NULL;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == '\f') p++;
        if (p[0] == '/' && p[1] == '/') {
            while (*p && *p != '\n') p++;
        } else if (p[0] == '/' && p[1] == '*') {
            const char *e = strstr(p + 2, "*/");
            if (!e) return NULL;
            p = e + 2;
        } else {
            break;
        }
    }
    if (strncmp(p, "OPENQASM", 8) != 0 || !(p[8] == ' ' || p[8] == '\t')) return NULL;
    p += 8;
    while (*p == ' ' || *p == '\t') p++;
    if (p[0] == '2' && (p[1] == '.' || p[1] == ';' || p[1] == ' ')) {
        if (p[1] == '.' && p[2] != '0') { *unknown = p; return NULL; }
        return "openqasm2";
    }
    if (p[0] == '3' && (p[1] == '.' || p[1] == ';' || p[1] == ' ')) return "openqasm3";
    *unknown = p;
    return NULL;
}

/* Parses the program as the quantum driver will (through the checker the
 * command installs: core does not link the OpenQASM library), so that what
 * plan would refuse on every backend is invalid here. file: the name the
 * spec gives (NULL for inline source); dir: its directory; has_header: the
 * text starts with an OPENQASM line. A file without one may be anything
 * (it was named by mistake, or by someone probing): its parse error would
 * quote it, so only the position is given. */
static void check_program(dctx *c, const char *source, const char *rel, const char *file,
                          const char *dir, int has_header)
{
    fb_spec_set *s = c->set;
    if (!s->check) return;
    /* the trees includes may come from: the spec's and the --allow-path ones */
    const char **roots = fbi_xcalloc(s->nallow + 2, sizeof *roots);
    size_t n = 0;
    if (c->root) roots[n++] = c->root;
    for (size_t i = 0; i < s->nallow; i++) roots[n++] = s->allow[i];
    char *msg = NULL;
    int line = 0, col = 0;
    char *shown = file ? fbi_printable(file, 0, 200) : NULL;
    if (s->check(s->check_ctx, source, strlen(source), dir, roots, &msg, &line, &col) != 0) {
        const char *detail = "Fix the OpenQASM program (line and column are the program's own); "
                             "plan would refuse the job on every backend.";
        if (!file)
            derrf(c, rel, detail, "the program does not parse: line %d, column %d: %s", line, col,
                  msg ? msg : "invalid program");
        else if (has_header)
            derrf(c, rel, detail, "program file %s does not parse: line %d, column %d: %s", shown,
                  line, col, msg ? msg : "invalid program");
        else
            derrf(c, rel, "Give an OpenQASM program (it starts with `OPENQASM 2.0;` or "
                          "`OPENQASM 3.0;`).",
                  "program file %s does not parse as OpenQASM (line %d, column %d); it has no "
                  "OPENQASM header, so its content is not shown", shown, line, col);
    }
    free(shown);
    free(msg);
    free(roots);
}

static json_t *norm_quantum(dctx *c, const json_t *spec)
{
    json_t *o = json_object();
    json_t *prog = json_object_get(spec, "program");
    char *source = NULL;
    char *prog_dir = NULL; /* the program file's directory */
    const char *inl = str_at(prog, "source");
    if (inl) {
        source = fbi_xstrdup(inl);
    } else {
        const char *f = str_at(prog, "file");
        char *real = confined_path(c, f, "/spec/program/file", "program.file", 0, NULL);
        if (real) {
            size_t len = 0;
            char *err = NULL;
            char *data = read_regular(real, FBI_SPEC_MAX_SOURCE, &len, &err);
            if (!data) {
                derr(c, "/spec/program/file", err, "A program file is at most 1 MiB.");
                free(err);
            } else if (fbi_utf8_first_invalid(data, len) < len) {
                int line, col;
                fbi_text_position(data, len, fbi_utf8_first_invalid(data, len), &line, &col);
                char *shown = fbi_printable(f, 0, 200);
                derrf(c, "/spec/program/file", "OpenQASM programs are UTF-8 text.",
                      "program file %s has invalid UTF-8 or a NUL byte at line %d, column %d",
                      shown, line, col);
                free(shown);
                free(data);
            } else {
                source = data;
                prog_dir = dir_of(real);
            }
        }
        free(real);
    }
    const char *lang = str_at(spec, "language");
    if (source) {
        const char *unknown = NULL;
        const char *det = detect_language(source, &unknown);
        const char *rel = inl ? "/spec/program/source" : "/spec/program/file";
        if (unknown) {
            derrf(c, rel, "Supported: OPENQASM 2.0; and OPENQASM 3 (or 3.x).",
                  "unsupported OpenQASM version \"%.10s\"", unknown);
        } else if (det && lang && strcmp(det, lang) != 0) {
            derrf(c, "/spec/language", "Remove language (it is detected) or fix the header.",
                  "language is %s but the program header says %s", lang, det);
        } else if (!det && !lang) {
            derr(c, rel, "cannot tell the program's language",
                 "Start the program with `OPENQASM 2.0;` or `OPENQASM 3.0;`, or set "
                 "spec.language.");
        } else {
            check_program(c, source, rel, inl ? NULL : str_at(prog, "file"), prog_dir, det != NULL);
        }
        if (!lang) lang = det;
        json_object_set_new(o, "program", json_pack("{ss}", "source", source));
        free(source);
    }
    free(prog_dir);
    json_object_set_new(o, "language", json_string(lang ? lang : "openqasm2"));
    json_object_set_new(o, "shots", json_integer(int_at(spec, "shots", 1000)));
    copy_int_if(o, spec, "seed");
    json_t *be = json_object_get(spec, "backend");
    json_t *b = json_object();
    const char *type = str_at(be, "type");
    json_object_set_new(b, "type", json_string(type ? type : "any"));
    copy_int_if(b, be, "minQubits");
    copy_if(b, be, "providers");
    copy_if(b, be, "devices");
    json_object_set_new(o, "backend", b);
    put_duration(c, o, spec, "deadline", "deadlineMs", "/spec");
    return o;
}

static json_t *norm_metadata(dctx *c, const json_t *md, const char *tenant)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(str_at(md, "name")));
    json_object_set_new(o, "tenant", json_string(tenant));
    json_t *l = json_object_get(md, "labels");
    json_object_set_new(o, "labels", l ? json_deep_copy(l) : json_object());
    json_t *a = json_object_get(md, "annotations");
    json_object_set_new(o, "annotations", a ? json_deep_copy(a) : json_object());
    (void)c;
    return o;
}

/* The workload's normal form, or NULL after errors. */
/* burst and placement.strategy (docs/simulation.md): a hybrid workload is a
 * Container with burst, a profile and a per-replica concurrency; n is the
 * normal form so far. */
static void check_hybrid(dctx *c, const json_t *spec, json_t *n, int is_container)
{
    const json_t *burst = json_object_get(spec, "burst");
    const char *strategy = str_at(json_object_get(spec, "placement"), "strategy");
    if (burst) json_object_set_new(n, "burst", json_deep_copy(burst));
    if (!strategy) strategy = burst ? "hybrid" : "single"; /* burst alone asks for hybrid */
    if (!strcmp(strategy, "single")) return;
    if (!is_container) {
        derrf(c, "/spec/placement/strategy",
              "Hybrid placement runs a Container's image for its baseline and as a function "
              "for the overflow; a Function already scales per request.",
              "placement.strategy %s needs a Container", strategy);
        return;
    }
    if (!burst)
        derrf(c, "/spec/placement/strategy", "Add burst: {to: function} to the Container.",
              "placement.strategy %s needs burst: where the overflow goes", strategy);
    if (!json_object_get(json_object_get(spec, "traffic"), "profile"))
        derrf(c, "/spec/placement/strategy",
              "Add traffic.profile: the split between containers and functions depends on "
              "how the load moves over time.",
              "placement.strategy %s needs traffic.profile", strategy);
    if (!json_object_get(json_object_get(spec, "scaling"), "targetConcurrency"))
        derrf(c, "/spec/placement/strategy",
              "Add scaling.targetConcurrency: with traffic.meanDuration it gives one replica's "
              "capacity (Little's law).",
              "placement.strategy %s needs scaling.targetConcurrency", strategy);
}

static json_t *normalise_workload(dctx *c, const json_t *doc, const char *tenant)
{
    int before = c->errors;
    const char *kind = str_at(doc, "kind");
    const json_t *spec = json_object_get(doc, "spec");
    const char *self = str_at(json_object_get(doc, "metadata"), "name");
    json_t *n = json_object();
    json_object_set_new(n, "apiVersion", json_string("fedbroker.dev/v1"));
    json_object_set_new(n, "kind", json_string(kind));
    json_object_set_new(n, "metadata", norm_metadata(c, json_object_get(doc, "metadata"), tenant));
    json_t *s;
    json_t *pl = json_object_get(spec, "placement");
    if (!strcmp(kind, "QuantumJob")) {
        s = norm_quantum(c, spec);
    } else {
        int is_container = !strcmp(kind, "Container");
        s = json_object();
        if (!is_container) {
            copy_if(s, spec, "runtime");
            copy_if(s, spec, "handler");
            json_t *code = json_object_get(spec, "code");
            if (code) {
                json_t *cn = norm_code(c, code);
                if (cn) json_object_set_new(s, "code", cn);
            }
        }
        copy_if(s, spec, "image");
        copy_if(s, spec, "command");
        copy_if(s, spec, "args");
        if (is_container) json_object_set_new(s, "ports", norm_ports(c, json_object_get(spec, "ports")));
        check_env(c, spec);
        json_t *env = json_object_get(spec, "env");
        json_object_set_new(s, "env", env ? json_deep_copy(env) : json_object());
        json_t *sec = json_object_get(spec, "secrets");
        json_object_set_new(s, "secrets", sec ? json_deep_copy(sec) : json_array());
        json_object_set_new(s, "resources",
                            norm_resources(c, json_object_get(spec, "resources"), is_container));
        json_object_set_new(s, "scaling", norm_scaling(c, json_object_get(spec, "scaling")));
        int64_t t = 30000;
        if (duration_ms(c, spec, "timeout", "/spec", &t) == 1 && (t < 1000 || t > 3600000))
            derrf(c, "/spec/timeout", "The timeout must be between 1s and 60m.",
                  "timeout %lld ms is outside 1s..60m", (long long)t);
        json_object_set_new(s, "timeoutMs", json_integer(t));
        json_t *tr = json_object_get(spec, "triggers");
        json_object_set_new(s, "triggers", tr ? norm_triggers(tr) : json_array());
        json_t *hc = json_object_get(spec, "healthCheck");
        if (hc) json_object_set_new(s, "healthCheck", norm_health(c, hc));
        json_object_set_new(s, "traffic",
                            norm_traffic(c, json_object_get(spec, "traffic"), is_container,
                                         json_object_get(pl, "latencySLO") != NULL));
        json_object_set_new(s, "dependencies",
                            norm_dependencies(c, json_object_get(spec, "dependencies"), self));
        check_hybrid(c, spec, s, is_container);
    }
    json_object_set_new(s, "placement", norm_placement(c, pl, self));
    if (!strcmp(kind, "QuantumJob")) {
        json_t *slo = json_object_get(pl, "latencySLO");
        if (slo)
            derr(c, "/spec/placement/latencySLO", "a QuantumJob has no request latency",
                 "Use spec.deadline for when the result is needed.");
    }
    json_object_set_new(n, "spec", s);
    if (c->errors != before) {
        json_decref(n);
        return NULL;
    }
    return n;
}

/* specHash: SHA-256 of the canonical normal form without the hash and
 * without the local path of the code (its content hash stands for it).
 * Shallow copies of the objects that lose a key: a deep copy of every
 * document cost a tenth of loading a large spec file.
 * text (NULL: not wanted): the canonical text of norm with its new
 * specHash (what fbi_spec_text gives once the hash is set), new, when it
 * follows from the hashed text: nothing but the hash dropped, and every
 * other top-level key sorts before "specHash", so the hash is the text's
 * last member; else NULL (fbi_spec_text makes it when needed). */
static void spec_hash_text(const json_t *norm, char out[65], char **text)
{
    json_t *copy = json_copy((json_t *)norm);
    json_object_del(copy, "specHash");
    int spliced = 1; /* copy is norm without specHash, member for member */
    json_t *spec = json_object_get(copy, "spec");
    json_t *code = json_object_get(spec, "code");
    if (json_object_get(code, "sha256") && json_object_get(code, "path")) {
        json_t *spec2 = json_copy(spec), *code2 = json_copy(code);
        json_object_del(code2, "path");
        json_object_set_new(spec2, "code", code2);
        json_object_set_new(copy, "spec", spec2);
        spliced = 0;
    }
    /* The same for a profile file: its content hash stands for its path. */
    spec = json_object_get(copy, "spec");
    json_t *tr = json_object_get(spec, "traffic");
    json_t *pf = json_object_get(tr, "profile");
    if (json_object_get(pf, "sha256") && json_object_get(pf, "file")) {
        json_t *spec2 = json_copy(spec), *tr2 = json_copy(tr), *pf2 = json_copy(pf);
        json_object_del(pf2, "file");
        json_object_set_new(tr2, "profile", pf2);
        json_object_set_new(spec2, "traffic", tr2);
        json_object_set_new(copy, "spec", spec2);
        spliced = 0;
    }
    const char *k;
    json_t *v;
    json_object_foreach(copy, k, v) if (strcmp(k, "specHash") > 0) spliced = 0;
    char *canon = fbi_json_canonical(copy);
    fbi_sha256_hex(canon, strlen(canon), out);
    if (text) *text = NULL;
    size_t n = strlen(canon);
    if (text && spliced && n >= 2 && canon[0] == '{' && canon[n - 1] == '}') {
        /* {...} -> {...,"specHash":"<hex>"}: the text fb_spec_json gives,
         * without writing the document a second time (that was 3 % of an
         * AWS apply's instructions, in the lanes) */
        static const char key[] = "\"specHash\":\"";
        size_t head = n - 1 + (n > 2); /* the members and their comma */
        char *t = fbi_xmalloc(head + sizeof key - 1 + 64 + 3);
        memcpy(t, canon, n - 1);
        if (n > 2) t[n - 1] = ',';
        memcpy(t + head, key, sizeof key - 1);
        memcpy(t + head + sizeof key - 1, out, 64);
        memcpy(t + head + sizeof key - 1 + 64, "\"}", 3); /* and the NUL */
        *text = t;
    }
    free(canon);
    json_decref(copy);
}

static void spec_hash(const json_t *norm, char out[65])
{
    spec_hash_text(norm, out, NULL);
}

void fbi_spec_rehash(json_t *norm)
{
    char hash[65];
    spec_hash(norm, hash);
    json_object_set_new(norm, "specHash", json_string(hash));
}

/* One serialisation for the text and the hash: the canonical form
 * (base/util.h: compact, sorted keys, shortest round-trip reals), so the
 * stored spec text is exactly what its specHash was computed over, minus
 * the hash-neutral fields spec_hash drops. */
char *fbi_spec_text(const json_t *norm)
{
    return fbi_json_canonical(norm);
}

/* ------------------------------------------------------------------------ */
/* the set                                                                  */

static void item_free(spec_item *it);

static void invalidate(fb_spec_set *s)
{
    free(s->links_text);
    free(s->feds_text);
    s->links_text = s->feds_text = NULL;
    json_decref(s->links_json);
    json_decref(s->feds_json);
    s->links_json = s->feds_json = NULL;
    json_decref(s->name_index);
    s->name_index = NULL;
}

/* FNV-1a over n bytes, continuing from h. */
static uint64_t fnv_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

/* A 64-bit final mix (splitmix64's), so sums of member hashes spread. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

/* A hash of a value's structure: values json_equal calls equal hash
 * equal (an object's members are summed, so their order does not count).
 * Only the pool's key: a collision costs a json_equal that fails. */
static uint64_t value_hash(const json_t *v, int depth)
{
    uint64_t h = UINT64_C(1469598103934665603) + (uint64_t)json_typeof(v);
    if (depth > 64) return h; /* deeper levels are json_equal's to tell apart */
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *m;
        uint64_t sum = 0;
        json_object_foreach((json_t *)v, k, m)
            sum += mix64(fnv_bytes(h, k, strlen(k)) ^ value_hash(m, depth + 1));
        return mix64(h ^ sum);
    }
    case JSON_ARRAY:
        for (size_t i = 0; i < json_array_size(v); i++)
            h = mix64(h ^ value_hash(json_array_get(v, i), depth + 1));
        return h;
    case JSON_STRING:
        return mix64(fnv_bytes(h, json_string_value(v), json_string_length(v)));
    case JSON_INTEGER: {
        json_int_t x = json_integer_value(v);
        return mix64(fnv_bytes(h, &x, sizeof x));
    }
    case JSON_REAL: {
        double x = json_real_value(v);
        return mix64(fnv_bytes(h, &x, sizeof x));
    }
    default:
        return mix64(h);
    }
}

/* The pool's key of v: a hash of its structure (value_hash), in hex. Not
 * the canonical text's hash: serialising and hashing every spec was 3 % of
 * an AWS apply's instructions, on the main thread before the fan-out
 * (perf4). A key only finds the candidate, json_equal decides (two unequal
 * values with one key are simply not shared). */
static void pool_key(const json_t *v, char key[17])
{
    snprintf(key, 17, "%016" PRIx64, value_hash(v, 0));
}

/* The pool's value equal to v (v itself when the pool has none yet): a
 * new reference. A container's members are pooled first, so the equal
 * parts of different specs (the same trigger, source list, code location,
 * runtime string...) become one value too. The key is a hash of the
 * structure (pool_key), checked with json_equal. depth is v's below
 * "spec": the spec's own members (depth 1: scaling, traffic, placement...)
 * stay the workload's own objects, as plan's hybrid split adds a key to
 * one of its parts' (scaling.schedule); their members and anything deeper
 * are shared. */
static json_t *pooled(json_t *pool, json_t *v, int depth)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) {
            if (json_is_true(x) || json_is_false(x) || json_is_null(x)) continue;
            json_t *p = pooled(pool, x, depth + 1);
            /* replacing the value of an existing key changes no structure */
            if (p != x) json_object_set(v, k, p);
            json_decref(p);
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *x = json_array_get(v, i);
            if (json_is_true(x) || json_is_false(x) || json_is_null(x)) continue;
            json_t *p = pooled(pool, x, depth + 1);
            if (p != x) json_array_set(v, i, p);
            json_decref(p);
        }
    }
    if (depth == 1 && (json_is_object(v) || json_is_array(v))) return json_incref(v);
    char key[17];
    pool_key(v, key);
    json_t *have = json_object_get(pool, key);
    if (have && have != v && json_equal(have, v)) return json_incref(have);
    if (!have) json_object_set(pool, key, v);
    return json_incref(v);
}

/* Workloads that differ only in their metadata (10,000 replicas of one
 * function written out, the members of an application) have equal "spec"
 * members: norm's becomes the set's one copy of it, so the set holds each
 * distinct spec once (10,000 identical Functions: about 6 KB of jansson
 * values each; bench/README-plan.md, "Memory"). Distinct specs share their
 * equal parts the same way (pooled): 1,000 distinct Functions kept 7.7 MB
 * of normal forms, most of it the same few objects and strings again.
 * Equal means json_equal with an equal value_hash (which tells 0.0 from
 * -0.0, as the canonical text does), so every text and hash made from
 * norm is unchanged. Normal forms are never changed in place once they are in
 * the set (every caller that edits one edits a json_deep_copy: execute.c,
 * changes.c, plan's replicas and hybrid parts); fbi_spec_set_put's
 * documents are not pooled. */
static void share_spec(fb_spec_set *s, json_t *norm)
{
    json_t *sp = json_object_get(norm, "spec");
    if (!json_is_object(sp)) return;
    if (!s->spec_pool) s->spec_pool = json_object();
    /* the whole spec first: a copy of an earlier one needs no more */
    char key[17];
    pool_key(sp, key);
    json_t *have = json_object_get(s->spec_pool, key);
    if (have && (have == sp || json_equal(have, sp))) {
        if (have != sp) json_object_set(norm, "spec", have);
        return;
    }
    json_t *p = pooled(s->spec_pool, sp, 0);
    if (p != sp) json_object_set(norm, "spec", p);
    json_decref(p);
}

/* Adds norm (stolen) to the set. Its specHash (and it->hash, NULL until
 * then) is made by hash_pending at the end of the file, in parallel with
 * the other workloads'. */
static void add_item(dctx *c, json_t *norm, const char *ptr_prefix)
{
    fb_spec_set *s = c->set;
    share_spec(s, norm);
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->items = fbi_xrealloc(s->items, s->cap * sizeof *s->items);
    }
    spec_item *it = &s->items[s->n++];
    memset(it, 0, sizeof *it);
    it->norm = norm;
    it->text = NULL; /* made on first use (fb_spec_json): apply makes it in parallel */
    it->kind = fbi_xstrdup(str_at(norm, "kind"));
    it->name = fbi_xstrdup(str_at(json_object_get(norm, "metadata"), "name"));
    it->tenant = fbi_xstrdup(str_at(json_object_get(norm, "metadata"), "tenant"));
    it->hash = NULL; /* hash_pending */
    it->file = fbi_xstrdup(c->file);
    /* The item keeps only its own entries: the file's map (16 bytes a node
     * of the whole file) is freed when the file is done. */
    char *root = fbi_xasprintf("%s%s", c->loc_prefix ? c->loc_prefix : "",
                               ptr_prefix ? ptr_prefix : "");
    it->locs = fbi_locmap_subtree(c->locs, root);
    free(root);
    it->loc_prefix = fbi_xstrdup(c->loc_prefix ? c->loc_prefix : "");
    it->ptr_prefix = fbi_xstrdup(ptr_prefix ? ptr_prefix : "");
    it->doc = c->doc;
    invalidate(s);
}

void fbi_spec_set_put(fb_spec_set *s, size_t i, json_t *norm, const char *file)
{
    if (i >= s->n) {
        if (s->n == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 16;
            s->items = fbi_xrealloc(s->items, s->cap * sizeof *s->items);
        }
        i = s->n++;
    } else {
        item_free(&s->items[i]);
    }
    char hash[65];
    spec_hash(norm, hash);
    json_object_set_new(norm, "specHash", json_string(hash));
    spec_item *it = &s->items[i];
    memset(it, 0, sizeof *it);
    it->norm = norm;
    it->kind = fbi_xstrdup(str_at(norm, "kind"));
    it->name = fbi_xstrdup(str_at(json_object_get(norm, "metadata"), "name"));
    it->tenant = fbi_xstrdup(str_at(json_object_get(norm, "metadata"), "tenant"));
    it->hash = fbi_xstrdup(hash);
    it->file = fbi_xstrdup(file);
    it->locs = fbi_locmap_new();
    it->loc_prefix = fbi_xstrdup("");
    it->ptr_prefix = fbi_xstrdup("");
    invalidate(s);
}

static void item_ctx(const fb_spec_set *s, const spec_item *it, fb_diag *diag, dctx *c)
{
    memset(c, 0, sizeof *c);
    c->set = (fb_spec_set *)s;
    c->diag = diag;
    c->file = it->file;
    c->locs = it->locs;
    c->loc_prefix = it->loc_prefix;
    c->ptr_prefix = it->ptr_prefix;
}

/* Processes a workload document (schema-valid). fed may be NULL. Returns
 * the index of the new item or -1. */
static long process_workload(dctx *c, const json_t *doc, fed_item *fed)
{
    const json_t *md = json_object_get(doc, "metadata");
    const char *tenant = str_at(md, "tenant");
    if (fed) {
        if (tenant && strcmp(tenant, fed->tenant) != 0) {
            derrf(c, "/metadata/tenant",
                  "A federation belongs to one tenant; its workloads inherit it. Remove the "
                  "tenant here or move the workload out of the federation.",
                  "tenant `%s` differs from the federation's tenant `%s`", tenant, fed->tenant);
            return -1;
        }
        tenant = fed->tenant;
    }
    if (!tenant) tenant = "default";
    fb_spec_set *s = c->set;
    size_t max = s->max_workloads ? s->max_workloads : FBI_SPEC_MAX_WORKLOADS;
    if (s->n >= max) {
        /* Each workload costs memory (its normal form, about 15 KB) and the
         * planner's time grows with the count: refuse, once, and stop. */
        char *detail = fbi_xasprintf(
            "One invocation reads at most %zu workloads (the default is %d). Raise the limit "
            "with --max-workloads N (fedbroker validate, render, plan, apply) or work on "
            "fewer files at a time.", max, FBI_SPEC_MAX_WORKLOADS);
        derrf(c, "", detail, "more than %zu workloads in one invocation", max);
        free(detail);
        s->full = 1;
        return -1;
    }
    json_t *norm = normalise_workload(c, doc, tenant);
    if (!norm) return -1;
    if (fed && json_object_size(fed->labels)) {
        /* the federation's labels are inherited; the member's own win */
        json_t *ml = json_object_get(json_object_get(norm, "metadata"), "labels");
        const char *k;
        json_t *v;
        json_object_foreach(fed->labels, k, v)
            if (ml && !json_object_get(ml, k)) json_object_set(ml, k, v);
    }
    add_item(c, norm, c->ptr_prefix); /* hashed at the end of the file */
    c->set->items[c->set->n - 1].in_fed = fed != NULL;
    if (fed) json_array_append_new(fed->members, json_string(str_at(md, "name")));
    return (long)c->set->n - 1;
}

static int process_federation(dctx *c, const json_t *doc, fed_item *parent);
static void fed_free(fed_item *f);

static int push_stack(fb_spec_set *s, const char *real)
{
    for (size_t i = 0; i < s->nstack; i++)
        if (!strcmp(s->stack[i], real)) return -1;
    if (s->nstack == s->capstack) {
        s->capstack = s->capstack ? s->capstack * 2 : 8;
        s->stack = fbi_xrealloc(s->stack, s->capstack * sizeof *s->stack);
    }
    s->stack[s->nstack++] = fbi_xstrdup(real);
    return 0;
}

static void pop_stack(fb_spec_set *s)
{
    if (s->nstack) free(s->stack[--s->nstack]);
}

#define TOTAL_DETAIL                                                                         \
    "One invocation reads at most 64 MiB of spec files in all (a 10,000-workload estate "   \
    "is about 8 MB); validate and plan it in parts."

/* Counts len bytes of spec text against the set's total; -1 (and the set
 * stops reading) when that would pass FBI_SPEC_MAX_TOTAL. */
static int account_bytes(fb_spec_set *s, size_t len)
{
    if (len > FBI_SPEC_MAX_TOTAL || s->bytes_read + len > FBI_SPEC_MAX_TOTAL) {
        s->full = 1;
        return -1;
    }
    s->bytes_read += len;
    return 0;
}

/* Reads a file referenced by a Federation and processes its documents as
 * members of fed. */
static void include_file(dctx *c, const char *rel, const char *p, fed_item *fed)
{
    fb_spec_set *s = c->set;
    if (s->full) return;
    char *real = confined_path(c, p, rel, "file", 0, NULL);
    if (!real) return;
    char *full = join_path(c->base_dir, p);
    char *shown = fbi_printable(p, 0, 200);
    if (c->depth + 1 > FBI_SPEC_MAX_INCLUDE_DEPTH) {
        derrf(c, rel, "Federations may reference files that reference files, 8 levels deep "
                      "at most.",
              "file references nest deeper than %d levels", FBI_SPEC_MAX_INCLUDE_DEPTH);
        goto out;
    }
    if (s->files_read >= FBI_SPEC_MAX_FILES) {
        derrf(c, rel, "Merge some of the files.", "more than %d files read for one set",
              FBI_SPEC_MAX_FILES);
        goto out;
    }
    if (push_stack(s, real) != 0) {
        fbi_buf chain;
        fbi_buf_init(&chain);
        size_t start = 0;
        for (size_t i = 0; i < s->nstack; i++)
            if (!strcmp(s->stack[i], real)) { start = i; break; }
        for (size_t i = start; i < s->nstack; i++) fbi_buf_printf(&chain, "%s -> ", s->stack[i]);
        fbi_buf_puts(&chain, real);
        char *detail = fbi_xasprintf("The chain of references is %s. Remove one reference.",
                                     chain.data);
        derrf(c, rel, detail, "include cycle: %s references itself", shown);
        free(detail);
        fbi_buf_free(&chain);
        goto out;
    }
    s->files_read++;
    size_t len = 0;
    char *err = NULL;
    char *data = read_regular(real, FBI_SPEC_MAX_FILE, &len, &err);
    if (!data) {
        derr(c, rel, err, "A spec file is at most 4 MiB.");
        free(err);
        pop_stack(s);
        goto out;
    }
    if (account_bytes(s, len) != 0) {
        derrf(c, rel, TOTAL_DETAIL, "reading %s would make more than %u bytes (64 MiB) of "
              "spec text in one invocation", shown, FBI_SPEC_MAX_TOTAL);
        free(data);
        pop_stack(s);
        goto out;
    }
    if (!memmem(data, len, SPEC_API_VERSION, strlen(SPEC_API_VERSION))) {
        /* Not what a reference must name. Its parse or schema errors would
         * quote its content (a key file, a token under an --allow-path
         * tree): say what it is not, and nothing of what it holds. */
        derrf(c, rel, "A Federation references files of workload or Federation documents "
                      "(apiVersion: " SPEC_API_VERSION "); this file's content is not shown.",
              "the referenced file %s is not a fedbroker spec (it never names "
              "apiVersion " SPEC_API_VERSION ")", shown);
        free(data);
        pop_stack(s);
        goto out;
    }
    fbi_parsed parsed = {0};
    if (fbi_spec_parse(full, data, len, FBI_FMT_AUTO, &parsed, c->diag) != 0) {
        derrf(c, rel, NULL, "the referenced file %s is not valid (see the errors above)", shown);
    } else {
        char *dir = dir_of(full);
        for (size_t i = 0; i < parsed.n && !s->full; i++) {
            fbi_spec_doc_src *d = &parsed.docs[i];
            dctx sub;
            memset(&sub, 0, sizeof sub);
            sub.set = s;
            sub.diag = c->diag;
            sub.file = full;
            sub.base_dir = dir;
            sub.root = c->root; /* the tree of the file named on the command line */
            sub.locs = d->locs;
            sub.loc_prefix = d->prefix;
            sub.ptr_prefix = "";
            sub.depth = c->depth + 1;
            sub.doc = (int)i;
            if (schema_check(&sub, d->value, "#") == 0) {
                if (!strcmp(str_at(d->value, "kind"), "Federation"))
                    process_federation(&sub, d->value, fed);
                else
                    process_workload(&sub, d->value, fed);
            }
            c->errors += sub.errors;
        }
        free(dir);
    }
    fbi_parsed_free(&parsed);
    free(data);
    pop_stack(s);
out:
    free(shown);
    free(real);
    free(full);
}

static int is_member(const fed_item *f, const char *name)
{
    return json_object_get(f->member_set, name) != NULL;
}

static int process_federation(dctx *c, const json_t *doc, fed_item *parent)
{
    fb_spec_set *s = c->set;
    const json_t *md = json_object_get(doc, "metadata");
    const json_t *spec = json_object_get(doc, "spec");
    const char *tenant = str_at(md, "tenant");
    if (parent) {
        if (tenant && strcmp(tenant, parent->tenant) != 0) {
            derrf(c, "/metadata/tenant",
                  "A federation belongs to one tenant; nested federations inherit it.",
                  "tenant `%s` differs from the enclosing federation's tenant `%s`", tenant,
                  parent->tenant);
            return -1;
        }
        tenant = parent->tenant;
    }
    if (!tenant) tenant = "default";
    fed_item f;
    memset(&f, 0, sizeof f);
    f.name = fbi_xstrdup(str_at(md, "name"));
    f.tenant = fbi_xstrdup(tenant);
    /* labels members inherit: the enclosing federation's, then this one's */
    f.labels = parent && parent->labels ? json_deep_copy(parent->labels) : json_object();
    if (json_is_object(json_object_get(md, "labels")))
        json_object_update(f.labels, json_object_get(md, "labels"));
    f.file = fbi_xstrdup(c->file);
    f.members = json_array();
    f.member_set = json_object();
    char *md_ptr = fbi_xasprintf("%s%s/metadata", c->loc_prefix ? c->loc_prefix : "",
                                 c->ptr_prefix ? c->ptr_prefix : "");
    f.locs = fbi_locmap_subtree(c->locs, md_ptr); /* finish reports at /metadata/name */
    free(md_ptr);
    f.loc_prefix = fbi_xstrdup(c->loc_prefix ? c->loc_prefix : "");
    f.ptr_prefix = fbi_xstrdup(c->ptr_prefix ? c->ptr_prefix : "");

    json_t *wl = json_object_get(spec, "workloads");
    json_t *failed = json_object(); /* names of inline members refused with errors */
    size_t i;
    json_t *w;
    json_array_foreach(wl, i, w) {
        if (s->full) break;
        size_t before = json_array_size(f.members);
        const char *file = str_at(w, "file");
        if (file) {
            char *rel = fbi_xasprintf("/spec/workloads/%zu/file", i);
            include_file(c, rel, file, &f);
            free(rel);
        } else {
            char *pp = fbi_xasprintf("%s/spec/workloads/%zu", c->ptr_prefix ? c->ptr_prefix : "", i);
            dctx sub = *c;
            sub.ptr_prefix = pp;
            sub.errors = 0;
            process_workload(&sub, w, &f);
            c->errors += sub.errors;
            free(pp);
            /* a member refused for its own errors: its links are not
             * reported again as links to a stranger */
            const char *wn = str_at(json_object_get(w, "metadata"), "name");
            if (json_array_size(f.members) == before && wn)
                json_object_set_new(failed, wn, json_true());
        }
        /* Names are unique within a federation. */
        for (size_t k = before; k < json_array_size(f.members); k++) {
            const char *nm = json_string_value(json_array_get(f.members, k));
            if (!is_member(&f, nm)) {
                json_object_set_new(f.member_set, nm, json_true());
            } else {
                char *rel = fbi_xasprintf("/spec/workloads/%zu", i);
                derrf(c, rel, "Workload names are unique within a federation (and a tenant).",
                      "workload `%s` appears twice in federation `%s`", nm, f.name);
                free(rel);
            }
        }
    }
    if (s->full) {
        /* A per-set limit cut the member list short: checking its links and
         * hashing it would only add errors about the members not read. */
        fed_free(&f);
        json_decref(failed);
        return -1;
    }
    json_t *links = json_object_get(spec, "links");
    json_t *nlinks = json_array();
    f.links = fbi_xcalloc(json_array_size(links) + 1, sizeof *f.links);
    json_t *l;
    json_array_foreach(links, i, l) {
        char *rel = rel_idx("/spec/links", i);
        const char *from = str_at(l, "from"), *to = str_at(l, "to");
        int ok = 1;
        if (!strcmp(from, to)) {
            char *r = fbi_xasprintf("%s/to", rel);
            derrf(c, r, "Links connect two different workloads.", "`%s` links to itself", from);
            free(r);
            ok = 0;
        }
        static const char *const ends[] = {"from", "to"};
        for (int e = 0; e < 2; e++) {
            const char *nm = e ? to : from;
            if (!is_member(&f, nm) && json_object_get(failed, nm)) {
                ok = 0; /* its errors are reported where it is defined */
            } else if (!is_member(&f, nm)) {
                char *r = fbi_xasprintf("%s/%s", rel, ends[e]);
                fbi_buf mem;
                fbi_buf_init(&mem);
                fbi_buf_puts(&mem, "Members: ");
                size_t k;
                json_t *m;
                json_array_foreach(f.members, k, m) {
                    if (k) fbi_buf_puts(&mem, ", ");
                    fbi_buf_puts(&mem, json_string_value(m));
                }
                if (!json_array_size(f.members)) fbi_buf_puts(&mem, "(none valid)");
                fbi_buf_putc(&mem, '.');
                derrf(c, r, mem.data, "`%s` is not a workload of federation `%s`", nm, f.name);
                fbi_buf_free(&mem);
                free(r);
                ok = 0;
            }
        }
        uint64_t vol = 0;
        int got = bytes_at(c, l, "volumePerMonth", rel, &vol);
        if (got < 0) ok = 0;
        if (got == 1) {
            char *r2 = fbi_xasprintf("%s/volumePerMonth", rel);
            if (check_data_volume(c, vol, r2, "volumePerMonth") != 0) ok = 0;
            free(r2);
        }
        int64_t lat = -1;
        if (duration_ms(c, l, "latencyBudget", rel, &lat) < 0) ok = 0;
        free(rel);
        json_t *o = json_pack("{sssssI}", "from", from, "to", to, "volumeBytesPerMonth",
                              (json_int_t)vol);
        if (lat >= 0) json_object_set_new(o, "latencyBudgetMs", json_integer(lat));
        json_array_append_new(nlinks, o);
        if (!ok) continue;
        fed_link *fl = &f.links[f.nlinks++];
        fl->from = fbi_xstrdup(from);
        fl->to = fbi_xstrdup(to);
        fl->volume = vol;
        fl->latency_ms = lat;
    }
    json_t *budget = NULL;
    if (json_object_get(spec, "budget"))
        budget = money_norm(c, json_object_get(spec, "budget"), "/spec/budget");

    /* The federation's own normal form, for its hash. */
    json_t *norm = json_object();
    json_object_set_new(norm, "apiVersion", json_string("fedbroker.dev/v1"));
    json_object_set_new(norm, "kind", json_string("Federation"));
    json_object_set_new(norm, "metadata", norm_metadata(c, md, tenant));
    json_t *ns = json_object();
    json_object_set_new(ns, "workloads", json_deep_copy(f.members));
    json_object_set_new(ns, "links", nlinks);
    if (budget) json_object_set_new(ns, "budget", json_deep_copy(budget));
    json_object_set_new(norm, "spec", ns);
    char hash[65];
    fbi_json_hash(norm, hash);
    json_decref(norm);

    f.info = json_object();
    json_object_set_new(f.info, "name", json_string(f.name));
    json_object_set_new(f.info, "tenant", json_string(f.tenant));
    json_object_set_new(f.info, "file", json_string(f.file));
    json_object_set_new(f.info, "workloads", json_deep_copy(f.members));
    json_t *labels = json_object_get(md, "labels");
    json_object_set_new(f.info, "labels", labels ? json_deep_copy(labels) : json_object());
    if (budget) json_object_set_new(f.info, "budget", budget);
    json_object_set_new(f.info, "specHash", json_string(hash));

    if (parent) {
        json_t *m;
        json_array_foreach(f.members, i, m)
            json_array_append(parent->members, m);
    }
    if (s->nfed == s->capfed) {
        s->capfed = s->capfed ? s->capfed * 2 : 8;
        s->feds = fbi_xrealloc(s->feds, s->capfed * sizeof *s->feds);
    }
    s->feds[s->nfed++] = f;
    invalidate(s);
    json_decref(failed);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The schema check and the hashing of a file's workloads on every core    */

/* A file holding at least this many documents is pre-checked in threads
 * (and its workloads hashed in threads): below it, starting threads costs
 * more than the work. */
#define PRECHECK_MIN_DOCS 32
#define PRECHECK_MAX_THREADS 8

/* Runs fn(ctx, i) for every i in [0, n), on the online cores (at most
 * PAR_MAX_THREADS threads, the caller's included; fewer when a thread
 * cannot start). fn must be safe to run concurrently for different i. */
#define PAR_MAX_THREADS PRECHECK_MAX_THREADS
typedef struct par_job {
    void (*fn)(void *ctx, size_t i);
    void *ctx;
    size_t n;
    size_t next; /* atomic: the next index to run */
} par_job;

static void *par_worker(void *arg)
{
    par_job *j = arg;
    for (;;) {
        size_t i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
        if (i >= j->n) break;
        j->fn(j->ctx, i);
    }
    return NULL;
}

static void par_for(size_t n, void (*fn)(void *ctx, size_t i), void *ctx)
{
    /* below PRECHECK_MIN_DOCS items, starting threads costs more than it saves */
    long cores = n >= PRECHECK_MIN_DOCS ? sysconf(_SC_NPROCESSORS_ONLN) : 1;
    size_t extra = cores > 1 ? (size_t)(cores > PAR_MAX_THREADS ? PAR_MAX_THREADS : cores) - 1 : 0;
    par_job j = {fn, ctx, n, 0};
    pthread_t th[PAR_MAX_THREADS];
    size_t started = 0;
    while (started < extra && pthread_create(&th[started], NULL, par_worker, &j) == 0) started++;
    par_worker(&j); /* the calling thread runs its share too */
    for (size_t i = 0; i < started; i++) pthread_join(th[i], NULL);
}

typedef struct precheck {
    const fbi_schema *schema; /* borrowed, read-only while the threads run */
    const fbi_parsed *parsed; /* borrowed, read-only while the threads run */
    unsigned char *valid;     /* [parsed->n]: 1 when the document has no schema error */
} precheck;

static void precheck_one(void *ctx, size_t i)
{
    precheck *p = ctx;
    /* silent (no error list): only whether the document is valid */
    p->valid[i] = fbi_schema_validate(p->schema, "#", p->parsed->docs[i].value, NULL) == 0;
}

/* Which of parsed's documents are schema-valid, checked on the online
 * cores. The schema check of every workload was the largest part of
 * loading 1,000 specs and ran on the main thread before an apply's
 * fan-out (bench/README-aws.md, perf5); the check is a pure function of
 * the document, so the documents are checked in parallel here and the
 * serial pass that follows re-runs it (with its messages) only for the
 * invalid ones. Returns a new array of parsed->n flags, or NULL when the
 * file is too small or there is one core (the serial pass then checks
 * every document itself). */
static unsigned char *precheck_parsed(const fbi_parsed *parsed)
{
    if (parsed->n < PRECHECK_MIN_DOCS || sysconf(_SC_NPROCESSORS_ONLN) < 2) return NULL;
    const fbi_schema *schema = fbi_spec_schema(NULL);
    if (!schema) return NULL; /* schema_check reports it */
    precheck p = {schema, parsed, fbi_xcalloc(parsed->n, 1)};
    par_for(parsed->n, precheck_one, &p);
    return p.valid;
}

typedef struct pending {
    fb_spec_set *set;
    size_t *idx; /* the items to hash */
} pending;

static void hash_one(void *ctx, size_t i)
{
    pending *p = ctx;
    spec_item *it = &p->set->items[p->idx[i]];
    char hash[65];
    /* the text only for a set that keeps it (apply): the others would
     * hold a copy of every document they never write */
    spec_hash_text(it->norm, hash, p->set->keep_texts && !it->text ? &it->text : NULL);
    /* only this item's own top-level object changes (the spec objects
     * the pool shares are only read, and jansson counts references
     * atomically) */
    json_object_set_new(it->norm, "specHash", json_string(hash));
    it->hash = fbi_xstrdup(hash);
}

/* Hashes the items from `from` on that add_item left without a hash, on
 * the online cores: spec_hash (canonical text and SHA-256 of each normal
 * form) was the next largest part of loading after the schema check,
 * serial on the main thread. */
static void hash_pending(fb_spec_set *s, size_t from)
{
    size_t n = 0;
    size_t *idx = fbi_xcalloc(s->n - from + 1, sizeof *idx);
    for (size_t i = from; i < s->n; i++)
        if (!s->items[i].hash) idx[n++] = i;
    pending p = {s, idx};
    par_for(n, hash_one, &p);
    free(idx);
}

/* 1 when doc, one document of a file too small for precheck_parsed, is a
 * Federation with at least PRECHECK_MIN_DOCS inline members or references
 * and is schema-valid, checked with its members on the online cores; 0
 * otherwise (the serial check then runs, with its messages). One
 * Federation of 1,000 members was checked on the main thread alone before
 * an apply's first request (146 M instructions; bench/README-aws.md,
 * Stop 26). */
static int precheck_federation(const json_t *doc)
{
    const char *kind = str_at(doc, "kind");
    if (!kind || strcmp(kind, "Federation") != 0) return 0;
    const json_t *wl = json_object_get(json_object_get(doc, "spec"), "workloads");
    if (json_array_size(wl) < PRECHECK_MIN_DOCS) return 0;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 2) return 0;
    const fbi_schema *schema = fbi_spec_schema(NULL);
    if (!schema) return 0; /* schema_check reports it */
    unsigned threads = cores > PRECHECK_MAX_THREADS ? PRECHECK_MAX_THREADS : (unsigned)cores;
    return fbi_schema_count_parallel(schema, "#", doc, threads) == 0;
}

/* Processes the documents of one parsed file. */
static void process_parsed(fb_spec_set *s, const char *name, const char *base_dir,
                           const char *root, fbi_parsed *parsed, fb_diag *diag, int *errors)
{
    unsigned char *valid = precheck_parsed(parsed);
    size_t first = s->n;
    for (size_t i = 0; i < parsed->n && !s->full; i++) {
        fbi_spec_doc_src *d = &parsed->docs[i];
        dctx c;
        memset(&c, 0, sizeof c);
        c.set = s;
        c.diag = diag;
        c.file = name;
        c.base_dir = base_dir;
        c.root = root;
        c.locs = d->locs;
        c.loc_prefix = d->prefix;
        c.ptr_prefix = "";
        c.doc = (int)i;
        /* a valid document's check reports nothing: skipped when prechecked */
        if ((valid && valid[i]) || (!valid && precheck_federation(d->value)) ||
            schema_check(&c, d->value, "#") == 0) {
            if (!strcmp(str_at(d->value, "kind"), "Federation"))
                process_federation(&c, d->value, NULL);
            else
                process_workload(&c, d->value, NULL);
        }
        *errors += c.errors;
    }
    free(valid);
    hash_pending(s, first);
}

fb_status fb_spec_set_new(fb_spec_set **out)
{
    *out = fbi_xcalloc(1, sizeof **out);
    return FB_OK;
}

void fbi_spec_set_max_workloads(fb_spec_set *s, size_t n)
{
    if (s) s->max_workloads = n;
}

void fbi_spec_set_keep_texts(fb_spec_set *s, int keep)
{
    if (s) s->keep_texts = keep;
}

const char *fbi_spec_text_made(const fb_spec_set *s, size_t i)
{
    return s && i < s->n ? s->items[i].text : NULL;
}

void fbi_spec_set_vocab_check(fb_spec_set *s, fbi_vocab_check_fn fn, void *ctx)
{
    if (!s) return;
    s->vocab = fn;
    s->vocab_ctx = ctx;
}

void fbi_spec_set_program_check(fb_spec_set *s, fbi_program_check_fn fn, void *ctx)
{
    if (!s) return;
    s->check = fn;
    s->check_ctx = ctx;
}

int fbi_spec_set_allow_path(fb_spec_set *s, const char *dir, char **err)
{
    char *real = realpath(dir, NULL);
    struct stat st;
    const char *pseudo = real ? pseudo_fs(real) : NULL;
    if (!real) {
        *err = fbi_xasprintf("%s: cannot be resolved: %s", dir, strerror(errno));
    } else if (stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
        *err = fbi_xasprintf("%s: not a directory", dir);
    } else if (pseudo) {
        *err = fbi_xasprintf("%s: is in %s, which specs never read", dir, pseudo);
    } else {
        s->allow = fbi_xrealloc(s->allow, (s->nallow + 1) * sizeof *s->allow);
        s->allow[s->nallow++] = real;
        return 0;
    }
    free(real);
    return -1;
}

static void fed_free(fed_item *f)
{
    json_decref(f->labels);
    free(f->name);
    free(f->tenant);
    free(f->file);
    json_decref(f->members);
    json_decref(f->member_set);
    json_decref(f->info);
    for (size_t i = 0; i < f->nlinks; i++) {
        free(f->links[i].from);
        free(f->links[i].to);
    }
    free(f->links);
    fbi_locmap_unref(f->locs);
    free(f->loc_prefix);
    free(f->ptr_prefix);
}

void fb_spec_set_free(fb_spec_set *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) {
        spec_item *it = &s->items[i];
        json_decref(it->norm);
        free(it->text);
        free(it->kind);
        free(it->name);
        free(it->tenant);
        free(it->hash);
        free(it->file);
        fbi_locmap_unref(it->locs);
        free(it->loc_prefix);
        free(it->ptr_prefix);
    }
    free(s->items);
    for (size_t i = 0; i < s->nfed; i++) fed_free(&s->feds[i]);
    free(s->feds);
    for (size_t i = 0; i < s->nstack; i++) free(s->stack[i]);
    free(s->stack);
    for (size_t i = 0; i < s->nallow; i++) free(s->allow[i]);
    free(s->allow);
    json_decref(s->spec_pool);
    invalidate(s);
    free(s);
}

fb_status fb_spec_set_add_buffer(fb_spec_set *s, const char *name, const char *data,
                                 size_t len, const char *base_dir, fb_diag *diag)
{
    if (!s || (!data && len)) {
        fb_diag_add(diag, FB_SEV_ERROR, name, 0, 0, NULL, "no spec set or no data", NULL);
        return FB_INVALID;
    }
    if (!name) name = "(buffer)";
    if (s->full) return FB_INVALID; /* the limit was reported when it was reached */
    if (account_bytes(s, len) != 0) {
        char *summary = fbi_xasprintf("this file would make more than %u bytes (64 MiB) of spec "
                                      "text in one invocation", FBI_SPEC_MAX_TOTAL);
        fb_diag_add(diag, FB_SEV_ERROR, name, 0, 0, NULL, summary, TOTAL_DETAIL);
        free(summary);
        return FB_INVALID;
    }
    /* The tree the spec's file references are confined to: its base
     * directory, symbolic links resolved. */
    char *root = NULL;
    if (base_dir && !(root = realpath(base_dir, NULL))) {
        char *summary = fbi_xasprintf("the base directory %.300s cannot be resolved: %s",
                                      base_dir, strerror(errno));
        fb_diag_add(diag, FB_SEV_ERROR, name, 0, 0, NULL, summary, NULL);
        free(summary);
        return FB_INVALID;
    }
    fbi_parsed parsed = {0};
    int errors = 0;
    if (fbi_spec_parse(name, data ? data : "", len, FBI_FMT_AUTO, &parsed, diag) != 0) {
        fbi_parsed_free(&parsed);
        free(root);
        return FB_INVALID;
    }
    process_parsed(s, name, base_dir, root, &parsed, diag, &errors);
    fbi_parsed_free(&parsed);
    free(root);
    return errors ? FB_INVALID : FB_OK;
}

fb_status fb_spec_set_add_file(fb_spec_set *s, const char *path, fb_diag *diag)
{
    if (!s || !path) {
        fb_diag_add(diag, FB_SEV_ERROR, path, 0, 0, NULL, "no spec set or no path", NULL);
        return FB_INVALID;
    }
    if (s->full) return FB_INVALID; /* a per-set limit was reported already */
    int is_stdin = !strcmp(path, "-");
    const char *shown = is_stdin ? "(stdin)" : path;
    if (!is_stdin) {
        struct stat st;
        if (stat(path, &st) != 0) {
            char *summary = fbi_xasprintf("cannot open: %s", strerror(errno));
            fb_diag_add(diag, FB_SEV_ERROR, path, 0, 0, NULL, summary,
                        "Check the path; use - to read from standard input.");
            free(summary);
            return FB_INVALID;
        }
        if (!S_ISREG(st.st_mode)) {
            fb_diag_add(diag, FB_SEV_ERROR, path, 0, 0, NULL, "not a regular file",
                        "Give a JSON or YAML file.");
            return FB_INVALID;
        }
    }
    size_t len = 0;
    char *err = NULL;
    char *data = fbi_read_file(path, FBI_SPEC_MAX_FILE, &len, &err);
    if (!data) {
        fb_diag_add(diag, FB_SEV_ERROR, shown, 0, 0, NULL, err,
                    "A spec file is at most 4 MiB; split it (a Federation can reference files).");
        free(err);
        return FB_INVALID;
    }
    char *dir = is_stdin ? fbi_xstrdup(".") : dir_of(path);
    char *real = is_stdin ? NULL : realpath(path, NULL);
    if (real) push_stack(s, real);
    s->files_read++;
    fb_status st = fb_spec_set_add_buffer(s, shown, data, len, dir, diag);
    if (real) pop_stack(s);
    free(real);
    free(dir);
    free(data);
    return st;
}

/* Key of a workload in the by-name index: names and tenants hold no
 * control characters (schema patterns), so \x1f separates them safely. */
static char *index_key(const char *tenant, const char *name)
{
    return fbi_xasprintf("%s\x1f%s", tenant, name);
}

/* Looks a workload up by tenant and name in index; -1 when absent. */
static long find_item(const json_t *index, const char *tenant, const char *name)
{
    char *k = index_key(tenant, name);
    json_t *v = json_object_get(index, k);
    free(k);
    return v ? (long)json_integer_value(v) : -1;
}

static void check_refs(const fb_spec_set *s, const json_t *index, const spec_item *it,
                       fb_diag *diag, int *errors)
{
    dctx c;
    item_ctx(s, it, diag, &c);
    const json_t *spec = json_object_get(it->norm, "spec");
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(spec, "dependencies"), i, d) {
        const char *w = str_at(d, "workload");
        if (!strcmp(w, it->name) || find_item(index, it->tenant, w) >= 0) continue;
        char *rel = fbi_xasprintf("/spec/dependencies/%zu/workload", i);
        derrf(&c, rel, "Dependencies name workloads of the same tenant; validate their files "
                       "together (fedbroker validate a.yaml b.yaml).",
              "dependency `%s` is not a workload of tenant `%s`", w, it->tenant);
        free(rel);
    }
    static const char *const aff[] = {"affinity", "antiAffinity"};
    const json_t *pl = json_object_get(spec, "placement");
    for (int k = 0; k < 2; k++) {
        json_array_foreach(json_object_get(pl, aff[k]), i, d) {
            const char *w = json_string_value(d);
            if (!strcmp(w, it->name) || find_item(index, it->tenant, w) >= 0) continue;
            char *rel = fbi_xasprintf("/spec/placement/%s/%zu", aff[k], i);
            derrf(&c, rel, "Affinity names workloads of the same tenant; validate their files "
                           "together.",
                  "%s names `%s`, which is not a workload of tenant `%s`", aff[k], w, it->tenant);
            free(rel);
        }
    }
    *errors += c.errors;
}

static void item_free(spec_item *it)
{
    json_decref(it->norm);
    free(it->text);
    free(it->kind);
    free(it->name);
    free(it->tenant);
    free(it->hash);
    free(it->file);
    fbi_locmap_unref(it->locs);
    free(it->loc_prefix);
    free(it->ptr_prefix);
}

/* One file reached twice (named on the command line and included by a
 * federation, as `fedbroker validate *.yaml` does) is one definition, not
 * two: a plain read of a document that a federation also read as a member
 * is dropped, keeping the member (it has the federation's tenant and
 * labels). */
static void merge_same_file(fb_spec_set *s)
{
    /* keyed by the document's place: real path, document, workload in it
     * (not by name: a member file read on its own has the default tenant) */
    json_t *index = json_object(), *reals = json_object();
    unsigned char *drop = fbi_xcalloc(s->n + 1, 1);
    int any = 0;
    for (size_t i = 0; i < s->n; i++) {
        spec_item *it = &s->items[i];
        const char *real = json_string_value(json_object_get(reals, it->file));
        if (!json_object_get(reals, it->file)) {
            char *r = realpath(it->file, NULL); /* NULL for a buffer: never merged */
            json_object_set_new(reals, it->file, r ? json_string(r) : json_null());
            free(r);
            real = json_string_value(json_object_get(reals, it->file));
        }
        if (!real) continue;
        char *k = fbi_xasprintf("%s\x1f%d\x1f%s", real, it->doc, it->ptr_prefix);
        json_t *prev = json_object_get(index, k);
        if (!prev) {
            json_object_set_new(index, k, json_integer((json_int_t)i));
            free(k);
            continue;
        }
        free(k);
        spec_item *f = &s->items[json_integer_value(prev)];
        /* only a plain read of a federation's member file is merged: two
         * federations reaching one file, or one file named twice, stay two
         * (finish reports them when they clash) */
        if (it->in_fed == f->in_fed) continue;
        if (it->in_fed) {
            spec_item t = *f;
            *f = *it;
            *it = t;
        }
        drop[i] = 1;
        any = 1;
    }
    json_decref(index);
    json_decref(reals);
    if (any) {
        size_t o = 0;
        for (size_t i = 0; i < s->n; i++) {
            if (drop[i]) item_free(&s->items[i]);
            else s->items[o++] = s->items[i];
        }
        s->n = o;
        invalidate(s);
    }
    free(drop);
}

fb_status fb_spec_set_finish(fb_spec_set *s, fb_diag *diag)
{
    if (!s) return FB_INVALID;
    if (s->full) return FB_INVALID; /* reported; cross checks would name what was not read */
    /* the specs read so far share what they can; the index goes (150
     * bytes a distinct spec), a spec read later starts a new one */
    json_decref(s->spec_pool);
    s->spec_pool = NULL;
    int errors = 0;
    merge_same_file(s);
    json_t *index = json_object();
    for (size_t i = 0; i < s->n; i++) {
        spec_item *it = &s->items[i];
        long first = find_item(index, it->tenant, it->name);
        if (first < 0) {
            char *k = index_key(it->tenant, it->name);
            json_object_set_new(index, k, json_integer((json_int_t)i));
            free(k);
        } else {
            const spec_item *f = &s->items[first];
            dctx c, fc;
            item_ctx(s, it, diag, &c);
            item_ctx(s, f, diag, &fc);
            char *lp = fbi_xasprintf("%s%s/metadata/name", f->loc_prefix, f->ptr_prefix);
            int line = 0, col = 0;
            fbi_loc_get(f->locs, lp, &line, &col);
            free(lp);
            char *detail = fbi_xasprintf("It was first defined at %s:%d. Names are unique per "
                                         "tenant; rename one or give it another tenant.",
                                         f->file, line);
            derrf(&c, "/metadata/name", detail, "workload `%s` of tenant `%s` is defined twice",
                  it->name, it->tenant);
            free(detail);
            errors += c.errors;
        }
    }
    for (size_t i = 0; i < s->n; i++) check_refs(s, index, &s->items[i], diag, &errors);
    json_decref(index);
    json_t *fed_index = json_object();
    for (size_t i = 0; i < s->nfed; i++) {
        char *key = index_key(s->feds[i].tenant, s->feds[i].name);
        json_t *prev = json_object_get(fed_index, key);
        if (!prev) json_object_set_new(fed_index, key, json_integer((json_int_t)i));
        free(key);
        for (size_t j = prev ? (size_t)json_integer_value(prev) : i; j < i; j++) {
            dctx c;
            memset(&c, 0, sizeof c);
            c.diag = diag;
            c.file = s->feds[i].file;
            c.locs = s->feds[i].locs;
            c.loc_prefix = s->feds[i].loc_prefix;
            c.ptr_prefix = s->feds[i].ptr_prefix;
            derrf(&c, "/metadata/name", "Federation names are unique per tenant.",
                  "federation `%s` of tenant `%s` is defined twice (first in %s)",
                  s->feds[i].name, s->feds[i].tenant, s->feds[j].file);
            errors += c.errors;
            break;
        }
    }
    json_decref(fed_index);
    return errors ? FB_INVALID : FB_OK;
}

size_t fb_spec_count(const fb_spec_set *s)
{
    return s ? s->n : 0;
}

#define ITEM_FIELD(fn, field)                                   \
    const char *fn(const fb_spec_set *s, size_t i)              \
    {                                                           \
        return s && i < s->n ? s->items[i].field : NULL;        \
    }
ITEM_FIELD(fb_spec_kind, kind)
ITEM_FIELD(fb_spec_name, name)
ITEM_FIELD(fb_spec_tenant, tenant)
ITEM_FIELD(fb_spec_hash, hash)
ITEM_FIELD(fb_spec_file, file)

const char *fb_spec_json(const fb_spec_set *cs, size_t i)
{
    if (!cs || i >= cs->n) return NULL;
    spec_item *it = &((fb_spec_set *)cs)->items[i];
    if (!it->text && it->norm) it->text = fbi_spec_text(it->norm);
    return it->text;
}

json_t *fbi_spec_doc(const fb_spec_set *s, size_t i)
{
    return s && i < s->n ? s->items[i].norm : NULL;
}

void fbi_spec_release(fb_spec_set *s, size_t i)
{
    if (!s || i >= s->n) return;
    spec_item *it = &s->items[i];
    json_decref(it->norm);
    it->norm = NULL;
    free(it->text);
    it->text = NULL;
    fbi_locmap_unref(it->locs);
    it->locs = NULL;
    free(it->loc_prefix);
    it->loc_prefix = NULL;
    free(it->ptr_prefix);
    it->ptr_prefix = NULL;
}

typedef struct link_acc {
    const char *tenant, *from, *to;
    uint64_t volume;
    int64_t latency;
} link_acc;

static int cmp_link(const void *a, const void *b)
{
    const link_acc *x = a, *y = b;
    int c = strcmp(x->tenant, y->tenant);
    if (!c) c = strcmp(x->from, y->from);
    if (!c) c = strcmp(x->to, y->to);
    return c;
}

static void acc_add(link_acc **v, size_t *n, size_t *cap, json_t *index, const char *tenant,
                    const char *from, const char *to, uint64_t vol, int64_t lat)
{
    char *key = fbi_xasprintf("%s\x1f%s\x1f%s", tenant, from, to);
    json_t *at_i = json_object_get(index, key);
    if (at_i) {
        free(key);
        link_acc *a = &(*v)[json_integer_value(at_i)];
        a->volume = a->volume > UINT64_MAX - vol ? UINT64_MAX : a->volume + vol;
        if (lat >= 0 && (a->latency < 0 || lat < a->latency)) a->latency = lat;
        return;
    }
    json_object_set_new(index, key, json_integer((json_int_t)*n));
    free(key);
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *v = fbi_xrealloc(*v, *cap * sizeof **v);
    }
    (*v)[(*n)++] = (link_acc){tenant, from, to, vol, lat};
}

size_t fbi_spec_find(const fb_spec_set *cs, const char *tenant, const char *name)
{
    if (!cs || !tenant || !name) return (size_t)-1;
    fb_spec_set *s = (fb_spec_set *)cs; /* the cache is not part of the value */
    if (!s->name_index) {
        /* the first of a name wins, as a scan from the start finds it (a
         * finished set has each once) */
        s->name_index = json_object();
        for (size_t i = 0; i < s->n; i++) {
            char *k = index_key(s->items[i].tenant, s->items[i].name);
            if (!json_object_get(s->name_index, k))
                json_object_set_new(s->name_index, k, json_integer((json_int_t)i));
            free(k);
        }
    }
    long i = find_item(s->name_index, tenant, name);
    return i < 0 ? (size_t)-1 : (size_t)i;
}

const json_t *fbi_spec_links(const fb_spec_set *cs)
{
    if (!cs) return NULL;
    fb_spec_set *s = (fb_spec_set *)cs; /* the cache is not part of the value */
    if (s->links_json) return s->links_json;
    link_acc *v = NULL;
    size_t n = 0, cap = 0;
    json_t *index = json_object();
    for (size_t f = 0; f < s->nfed; f++)
        for (size_t k = 0; k < s->feds[f].nlinks; k++) {
            fed_link *l = &s->feds[f].links[k];
            acc_add(&v, &n, &cap, index, s->feds[f].tenant, l->from, l->to, l->volume, l->latency_ms);
        }
    for (size_t i = 0; i < s->n; i++) {
        const json_t *deps = json_object_get(json_object_get(s->items[i].norm, "spec"),
                                             "dependencies");
        size_t k;
        json_t *d;
        json_array_foreach(deps, k, d) {
            json_t *lat = json_object_get(d, "latencyBudgetMs");
            acc_add(&v, &n, &cap, index, s->items[i].tenant, s->items[i].name, str_at(d, "workload"),
                    (uint64_t)int_at(d, "volumeBytesPerMonth", 0),
                    lat ? (int64_t)json_integer_value(lat) : -1);
        }
    }
    json_decref(index);
    if (n) qsort(v, n, sizeof *v, cmp_link);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_pack("{sssssssI}", "from", v[i].from, "to", v[i].to, "tenant",
                              v[i].tenant, "volumeBytesPerMonth",
                              (json_int_t)(v[i].volume > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX
                                                                            : v[i].volume));
        if (v[i].latency >= 0) json_object_set_new(o, "latencyBudgetMs", json_integer(v[i].latency));
        json_array_append_new(arr, o);
    }
    free(v);
    return s->links_json = arr;
}

const char *fb_spec_links_json(const fb_spec_set *cs)
{
    if (!cs) return NULL;
    fb_spec_set *s = (fb_spec_set *)cs;
    if (!s->links_text) s->links_text = json_dumps(fbi_spec_links(s), JSON_COMPACT | JSON_SORT_KEYS);
    return s->links_text;
}

const json_t *fbi_spec_federations(const fb_spec_set *cs)
{
    if (!cs) return NULL;
    fb_spec_set *s = (fb_spec_set *)cs;
    if (s->feds_json) return s->feds_json;
    json_t *arr = json_array();
    for (size_t i = 0; i < s->nfed; i++) json_array_append(arr, s->feds[i].info);
    return s->feds_json = arr;
}

const char *fb_spec_federations_json(const fb_spec_set *cs)
{
    if (!cs) return NULL;
    fb_spec_set *s = (fb_spec_set *)cs;
    if (!s->feds_text) s->feds_text = json_dumps(fbi_spec_federations(s), JSON_COMPACT | JSON_SORT_KEYS);
    return s->feds_text;
}
