/* include.c - reading the files an OpenQASM `include` names, without
 * letting a program read what it should not: only regular files inside the
 * allowed directory trees (the program's own, the include directories and
 * roots the caller adds), never pseudo-files (/proc, /sys), devices or
 * FIFOs, at most a size limit, and only text. Messages name paths, never
 * the bytes read. */
#include "config.h"
#include "fbq_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/magic.h>
#include <sys/vfs.h>
#endif

/* Adds the resolved form of dir to r (a directory that does not resolve is
 * skipped: it holds nothing to include). */
static void roots_add(fbq_roots *r, const char *dir)
{
    if (!dir || !*dir) return;
    char *real = realpath(dir, NULL);
    if (!real) return;
    struct stat st;
    if (stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
        free(real);
        return;
    }
    r->dir = fbq_xrealloc(r->dir, (size_t)(r->n + 1) * sizeof *r->dir);
    r->dir[r->n++] = real;
}

void fbq_roots_init(fbq_roots *r, const char *base_dir, const fbq_parse_options *opt)
{
    memset(r, 0, sizeof *r);
    roots_add(r, base_dir);
    for (int i = 0; opt && opt->include_dirs && opt->include_dirs[i]; i++) roots_add(r, opt->include_dirs[i]);
    for (int i = 0; opt && opt->allowed_roots && opt->allowed_roots[i]; i++) roots_add(r, opt->allowed_roots[i]);
}

void fbq_roots_free(fbq_roots *r)
{
    for (int i = 0; i < r->n; i++) free(r->dir[i]);
    free(r->dir);
    memset(r, 0, sizeof *r);
}

/* 1 when the resolved path real lies in the tree of the resolved
 * directory root (at a component boundary: /a/bc is not under /a/b). */
static int under(const char *real, const char *root)
{
    size_t n = strlen(root);
    if (n == 1 && root[0] == '/') return 1;
    return strncmp(real, root, n) == 0 && (real[n] == '/' || real[n] == '\0');
}

int fbq_roots_contain(const fbq_roots *r, const char *real)
{
    for (int i = 0; i < r->n; i++)
        if (under(real, r->dir[i])) return 1;
    return 0;
}

/* The roots as "a, b" for a message. */
static void roots_text(const fbq_roots *r, char *buf, size_t n)
{
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i < r->n && k + 1 < n; i++) {
        int w = snprintf(buf + k, n - k, "%s%s", i ? ", " : "", r->dir[i]);
        if (w < 0) break;
        k += (size_t)w;
    }
    if (!r->n) snprintf(buf, n, "none");
}

#ifdef __linux__
/* Kernel pseudo-filesystems: their "files" are generated state (a
 * process's environment, kernel tunables), not programs. */
static const char *pseudo_fs(long type)
{
    switch (type) {
    case PROC_SUPER_MAGIC: return "/proc";
    case SYSFS_MAGIC: return "sysfs";
    case DEBUGFS_MAGIC: return "debugfs";
    case SECURITYFS_MAGIC: return "securityfs";
    case CGROUP_SUPER_MAGIC:
    case CGROUP2_SUPER_MAGIC: return "cgroupfs";
    case TRACEFS_MAGIC: return "tracefs";
    case BPF_FS_MAGIC: return "bpffs";
    case EFIVARFS_MAGIC: return "efivarfs";
    case PSTOREFS_MAGIC: return "pstore";
    default: return NULL;
    }
}
#endif

/* What the file type is, for a refusal. */
static const char *kind_of(mode_t m)
{
    if (S_ISDIR(m)) return "a directory";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISSOCK(m)) return "a socket";
    return "not a regular file";
}

char *fbq_read_include(const fbq_roots *r, const char *path, size_t max, size_t *len, char **real_out, char *why,
                       size_t whyn)
{
    *real_out = NULL;
    char *real = realpath(path, NULL);
    if (!real) {
        snprintf(why, whyn, "cannot resolve %s: %s", path, strerror(errno));
        return NULL;
    }
    if (!fbq_roots_contain(r, real)) {
        char rt[1024];
        roots_text(r, rt, sizeof rt);
        snprintf(why, whyn,
                 "%s is outside the directories includes may read (%s): put the file there, or allow its "
                 "directory (--allow-path)", real, rt);
        free(real);
        return NULL;
    }
    /* Look before opening: opening a FIFO waits for a writer, and opening
     * some devices acts on them. */
    struct stat st;
    if (stat(real, &st) != 0) {
        snprintf(why, whyn, "cannot read %s: %s", real, strerror(errno));
        free(real);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, whyn, "%s is %s: only regular files can be included", real, kind_of(st.st_mode));
        free(real);
        return NULL;
    }
    int fd = open(real, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, whyn, "cannot read %s: %s", real, strerror(errno));
        free(real);
        return NULL;
    }
    struct stat fst;
    if (fstat(fd, &fst) != 0 || fst.st_dev != st.st_dev || fst.st_ino != st.st_ino || !S_ISREG(fst.st_mode)) {
        snprintf(why, whyn, "%s changed while it was opened", real);
        goto fail;
    }
#ifdef __linux__
    {
        struct statfs sf;
        const char *pf = fstatfs(fd, &sf) == 0 ? pseudo_fs((long)sf.f_type) : NULL;
        if (pf) {
            snprintf(why, whyn, "%s is on %s, a kernel pseudo-filesystem: not a file that can be included", real,
                     pf);
            goto fail;
        }
        /* the path actually opened: a directory swapped for a symlink after
         * realpath would show here */
        char link[64], opened[PATH_MAX];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t k = readlink(link, opened, sizeof opened - 1);
        if (k > 0) {
            opened[k] = '\0';
            if (!fbq_roots_contain(r, opened)) {
                snprintf(why, whyn, "%s changed while it was opened (it now leads outside the allowed directories)",
                         real);
                goto fail;
            }
        }
    }
#endif
    if ((uint64_t)fst.st_size > (uint64_t)max) {
        snprintf(why, whyn, "%s is %llu bytes, more than the %zu bytes an include may have", real,
                 (unsigned long long)fst.st_size, max);
        goto fail;
    }
    /* Read what the size says, and one byte more to notice a file that
     * reports a size it does not have (pseudo-files report 0). */
    size_t size = (size_t)fst.st_size, got = 0;
    char *buf = fbq_xmalloc(size + 2);
    for (;;) {
        ssize_t k = read(fd, buf + got, size + 1 - got);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) {
            snprintf(why, whyn, "cannot read %s: %s", real, strerror(errno));
            free(buf);
            goto fail;
        }
        if (k == 0) break;
        got += (size_t)k;
        if (got > size) {
            snprintf(why, whyn, "%s has more bytes than its size says (a pseudo-file or a file being written)",
                     real);
            free(buf);
            goto fail;
        }
    }
    close(fd);
    buf[got] = '\0';
    *len = got;
    *real_out = real;
    return buf;
fail:
    close(fd);
    free(real);
    return NULL;
}

int fbq_text_check(const char *s, size_t n, int *line, int *col)
{
    int l = 1, c = 1;
    size_t i = 0;
    while (i < n) {
        unsigned char b = (unsigned char)s[i];
        size_t k = 0;
        uint32_t cp = 0;
        if (b < 0x80) {
            if (b == 0 || (b < 0x20 && b != '\t' && b != '\n' && b != '\r' && b != '\f' && b != '\v') ||
                b == 0x7f)
                goto bad;
            i++;
            if (b == '\n') {
                l++;
                c = 1;
            } else {
                c++;
            }
            continue;
        }
        if (b >= 0xc2 && b <= 0xdf) {
            k = 1;
            cp = b & 0x1f;
        } else if (b >= 0xe0 && b <= 0xef) {
            k = 2;
            cp = b & 0x0f;
        } else if (b >= 0xf0 && b <= 0xf4) {
            k = 3;
            cp = b & 0x07;
        } else {
            goto bad;
        }
        for (size_t j = 1; j <= k; j++) {
            if (i + j >= n || ((unsigned char)s[i + j] & 0xc0) != 0x80) goto bad;
            cp = (cp << 6) | ((unsigned char)s[i + j] & 0x3f);
        }
        /* overlong forms, surrogates, past U+10FFFF */
        if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
            goto bad;
        i += k + 1;
        c++;
    }
    return 0;
bad:
    *line = l;
    *col = c;
    return -1;
}
