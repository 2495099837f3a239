/* zip.c - a deterministic zip writer for deployment packages (Lambda zips,
 * Cloud Functions sources); see fbk_zip.h. Moved here from drivers/aws so
 * every driver that uploads source builds the same bytes.
 *
 * Format: PKWARE APPNOTE.TXT (local file headers, central directory, end of
 * central directory record; no zip64, no data descriptors, no extra
 * fields). Same directory -> same bytes: entries are sorted by their
 * '/'-separated relative path (byte order), every timestamp is the DOS
 * epoch 1980-01-01 00:00, permissions are normalised (files 0644, or 0755
 * when the owner may execute them; directories 0755; symlinks 0777 with
 * their target as content, as `zip -y` stores them), and compression is
 * raw deflate at level 9 through zlib, or "stored" when deflate does not
 * make an entry smaller. */
#include "config.h"
#include "fbk_zip.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>

#define ZIP_MAX_ENTRIES 20000 /* also the spec's limit; far below 65535 */
#define ZIP_MAX_DEPTH 32
#define DOS_DATE_1980_01_01 0x0021u /* (1980-1980) << 9 | 1 << 5 | 1 */

typedef struct entry {
    char *rel;      /* relative path; directories end with '/' */
    char *abs;      /* absolute path on disk */
    int kind;       /* 'F', 'D', 'L' */
    unsigned mode;  /* normalised st_mode */
} entry;

typedef struct walk {
    entry *e;
    size_t n, cap;
    char *err;
} walk;

static void add(walk *w, const char *rel, const char *abs, int kind, unsigned mode)
{
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 32;
        w->e = fbk_xrealloc(w->e, w->cap * sizeof *w->e);
    }
    w->e[w->n].rel = fbk_xstrdup(rel);
    w->e[w->n].abs = fbk_xstrdup(abs);
    w->e[w->n].kind = kind;
    w->e[w->n].mode = mode;
    w->n++;
}

/* Collects every entry below abs (rel is its path inside the zip). */
static int collect(walk *w, const char *abs, const char *rel, int depth)
{
    if (depth > ZIP_MAX_DEPTH) {
        w->err = fbk_xasprintf("%s: directories nest deeper than %d levels", abs, ZIP_MAX_DEPTH);
        return -1;
    }
    DIR *d = opendir(abs);
    if (!d) {
        w->err = fbk_xasprintf("%s: cannot open directory: %s", abs, strerror(errno));
        return -1;
    }
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        if (w->n >= ZIP_MAX_ENTRIES) {
            w->err = fbk_xasprintf("%s: more than %d entries", abs, ZIP_MAX_ENTRIES);
            rc = -1;
            break;
        }
        char *p = fbk_xasprintf("%s/%s", abs, de->d_name);
        char *r = fbk_xasprintf("%s%s", rel, de->d_name);
        struct stat st;
        if (lstat(p, &st) != 0) {
            w->err = fbk_xasprintf("%s: %s", p, strerror(errno));
            rc = -1;
        } else if (S_ISDIR(st.st_mode)) {
            char *rd = fbk_xasprintf("%s/", r);
            add(w, rd, p, 'D', S_IFDIR | 0755);
            rc = collect(w, p, rd, depth + 1);
            free(rd);
        } else if (S_ISLNK(st.st_mode)) {
            add(w, r, p, 'L', S_IFLNK | 0777);
        } else if (S_ISREG(st.st_mode)) {
            add(w, r, p, 'F', S_IFREG | ((st.st_mode & S_IXUSR) ? 0755 : 0644));
        } else {
            w->err = fbk_xasprintf("%s: not a regular file, directory or symbolic link", p);
            rc = -1;
        }
        free(p);
        free(r);
    }
    closedir(d);
    return rc;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->rel, ((const entry *)b)->rel);
}

static void put16(fbk_buf *b, unsigned v)
{
    unsigned char c[2] = {(unsigned char)(v & 0xff), (unsigned char)((v >> 8) & 0xff)};
    fbk_buf_append(b, c, 2);
}

static void put32(fbk_buf *b, uint32_t v)
{
    unsigned char c[4] = {(unsigned char)(v & 0xff), (unsigned char)((v >> 8) & 0xff),
                          (unsigned char)((v >> 16) & 0xff), (unsigned char)((v >> 24) & 0xff)};
    fbk_buf_append(b, c, 4);
}

/* Reads an entry's content: file bytes, or a symlink's target. new. */
static int content(const entry *e, size_t max, unsigned char **data, size_t *len, char **err)
{
    *data = NULL;
    *len = 0;
    if (e->kind == 'D') return 0;
    if (e->kind == 'L') {
        char target[PATH_MAX];
        ssize_t n = readlink(e->abs, target, sizeof target);
        if (n < 0) {
            *err = fbk_xasprintf("%s: cannot read the link: %s", e->abs, strerror(errno));
            return -1;
        }
        *data = fbk_xmalloc((size_t)n + 1);
        memcpy(*data, target, (size_t)n);
        *len = (size_t)n;
        return 0;
    }
    /* The entry was a regular file when the tree was walked; one swapped
     * since (for a link out of the tree, or a FIFO) is refused, not read. */
    char *d = fbk_read_file_nofollow(e->abs, max, len, NULL, err);
    if (!d) return -1;
    *data = (unsigned char *)d;
    return 0;
}

/* Raw deflate at level 9 (new), or NULL when it does not shrink the data. */
static unsigned char *deflate_raw(const unsigned char *in, size_t len, size_t *out_len)
{
    if (len == 0 || len > UINT32_MAX) return NULL;
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
    uLong bound = deflateBound(&z, (uLong)len);
    unsigned char *out = fbk_xmalloc(bound);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)bound;
    int rc = deflate(&z, Z_FINISH);
    *out_len = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END || *out_len >= len) {
        free(out);
        return NULL;
    }
    return out;
}

static int has_non_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80) return 1;
    return 0;
}

/* Writes the entries (already sorted) as a zip into b. */
static int write_zip(walk *w, fbk_buf *b, size_t max_zip, size_t max_unzipped, char **err)
{
    fbk_buf cd;
    fbk_buf_init(&cd);
    uint64_t total = 0;
    int rc = 0;
    for (size_t i = 0; i < w->n && rc == 0; i++) {
        const entry *e = &w->e[i];
        unsigned char *data;
        size_t len;
        if (content(e, max_unzipped, &data, &len, err) != 0) {
            rc = -1;
            break;
        }
        total += len;
        if (total > max_unzipped) {
            *err = fbk_xasprintf("the code is larger than %zu bytes unzipped (Lambda's limit)",
                                 max_unzipped);
            free(data);
            rc = -1;
            break;
        }
        uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0);
        if (len) crc = (uint32_t)crc32(crc, data, (uInt)len);
        size_t clen = 0;
        unsigned char *cdata = e->kind == 'F' ? deflate_raw(data, len, &clen) : NULL;
        unsigned method = cdata ? 8 : 0;
        unsigned need = cdata ? 20 : 10;
        unsigned flags = has_non_ascii(e->rel) ? 0x0800 : 0; /* bit 11: UTF-8 name */
        size_t nlen = strlen(e->rel);
        uint32_t offset = (uint32_t)b->len;
        if (b->len > UINT32_MAX - 64 - nlen) {
            *err = fbk_xstrdup("the zip would need zip64 (over 4 GiB)");
            free(data);
            free(cdata);
            rc = -1;
            break;
        }
        /* local file header */
        put32(b, 0x04034b50u);
        put16(b, need);
        put16(b, flags);
        put16(b, method);
        put16(b, 0);                    /* time 00:00:00 */
        put16(b, DOS_DATE_1980_01_01);  /* date 1980-01-01 */
        put32(b, crc);
        put32(b, (uint32_t)(cdata ? clen : len));
        put32(b, (uint32_t)len);
        put16(b, (unsigned)nlen);
        put16(b, 0);                    /* no extra field */
        fbk_buf_append(b, e->rel, nlen);
        if (cdata) fbk_buf_append(b, cdata, clen);
        else if (len) fbk_buf_append(b, data, len);
        /* central directory entry */
        put32(&cd, 0x02014b50u);
        put16(&cd, (3u << 8) | 30u);    /* made by: Unix, spec 3.0 */
        put16(&cd, need);
        put16(&cd, flags);
        put16(&cd, method);
        put16(&cd, 0);
        put16(&cd, DOS_DATE_1980_01_01);
        put32(&cd, crc);
        put32(&cd, (uint32_t)(cdata ? clen : len));
        put32(&cd, (uint32_t)len);
        put16(&cd, (unsigned)nlen);
        put16(&cd, 0);                  /* extra */
        put16(&cd, 0);                  /* comment */
        put16(&cd, 0);                  /* disk */
        put16(&cd, 0);                  /* internal attributes */
        put32(&cd, (uint32_t)e->mode << 16 | (e->kind == 'D' ? 0x10u : 0u)); /* + MS-DOS dir bit */
        put32(&cd, offset);
        fbk_buf_append(&cd, e->rel, nlen);
        free(data);
        free(cdata);
        if (b->len > max_zip) {
            *err = fbk_xasprintf("the zipped code is larger than %zu bytes", max_zip);
            rc = -1;
        }
    }
    if (rc == 0) {
        uint32_t cd_off = (uint32_t)b->len;
        fbk_buf_append(b, cd.data ? cd.data : "", cd.len);
        put32(b, 0x06054b50u);
        put16(b, 0);
        put16(b, 0);
        put16(b, (unsigned)w->n);
        put16(b, (unsigned)w->n);
        put32(b, (uint32_t)cd.len);
        put32(b, cd_off);
        put16(b, 0); /* comment length */
        if (b->len > max_zip) {
            *err = fbk_xasprintf("the zipped code is larger than %zu bytes", max_zip);
            rc = -1;
        }
    }
    fbk_buf_free(&cd);
    return rc;
}

static void walk_free(walk *w)
{
    for (size_t i = 0; i < w->n; i++) {
        free(w->e[i].rel);
        free(w->e[i].abs);
    }
    free(w->e);
    free(w->err);
}

int fbk_zip_path(const char *path, size_t max_zip, size_t max_unzipped, unsigned char **out,
                 size_t *len, char **err)
{
    *out = NULL;
    *len = 0;
    *err = NULL;
    /* The normal form names the real path the spec reader confined to the
     * spec's tree (docs/spec.md); if it no longer resolves to itself, a
     * component was replaced by a link since: refuse rather than follow. */
    char *real = realpath(path, NULL);
    if (!real || strcmp(real, path) != 0) {
        *err = real ? fbk_xasprintf("%s now resolves to %s: a directory or link changed since "
                                    "the spec was validated; validate it again", path, real)
                    : fbk_xasprintf("%s: %s", path, strerror(errno));
        free(real);
        return -1;
    }
    free(real);
    struct stat st;
    if (stat(path, &st) != 0) {
        *err = fbk_xasprintf("%s: %s", path, strerror(errno));
        return -1;
    }
    walk w;
    memset(&w, 0, sizeof w);
    if (S_ISREG(st.st_mode)) {
        /* Already a zip? Then it is the package as it is. */
        unsigned char magic[4] = {0};
        ssize_t got = -1;
        int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) {
            got = read(fd, magic, sizeof magic);
            close(fd);
        }
        if (got == 4 && magic[0] == 'P' && magic[1] == 'K' &&
            ((magic[2] == 3 && magic[3] == 4) || (magic[2] == 5 && magic[3] == 6))) {
            char *d = fbk_read_file_nofollow(path, max_zip, len, NULL, err);
            if (!d) return -1;
            *out = (unsigned char *)d;
            return 0;
        }
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        add(&w, base, path, 'F', S_IFREG | ((st.st_mode & S_IXUSR) ? 0755 : 0644));
    } else if (S_ISDIR(st.st_mode)) {
        if (collect(&w, path, "", 0) != 0) {
            *err = w.err;
            w.err = NULL;
            walk_free(&w);
            return -1;
        }
        if (w.n) qsort(w.e, w.n, sizeof *w.e, cmp_entry);
    } else {
        *err = fbk_xasprintf("%s: neither a file nor a directory", path);
        return -1;
    }
    fbk_buf b;
    fbk_buf_init(&b);
    int rc = write_zip(&w, &b, max_zip, max_unzipped, err);
    walk_free(&w);
    if (rc != 0) {
        fbk_buf_free(&b);
        return -1;
    }
    *len = b.len;
    *out = (unsigned char *)fbk_buf_steal(&b);
    return 0;
}

char *fbk_base64(const unsigned char *data, size_t len)
{
    size_t n = 4 * ((len + 2) / 3) + 1;
    char *out = fbk_xmalloc(n);
    size_t done = 0, o = 0;
    /* EVP_EncodeBlock takes an int length: go in chunks of 3 * 2^20. */
    while (done < len) {
        size_t chunk = len - done > 3u << 20 ? 3u << 20 : len - done;
        o += (size_t)EVP_EncodeBlock((unsigned char *)out + o, data + done, (int)chunk);
        done += chunk;
    }
    out[o] = '\0';
    return out;
}
