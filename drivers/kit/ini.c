/* ini.c - reading small local files and the INI dialect of the AWS shared
 * config and credentials files (Python configparser rules, which botocore
 * uses). Files hold secrets: buffers are wiped, lines are never quoted in
 * error messages. */
#include "config.h"
#include "fbk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* fbk_read_file and fbk_read_file_nofollow: open flags added to
 * O_RDONLY | O_CLOEXEC. */
static char *read_file_flags(const char *path, int flags, size_t max_bytes, size_t *len_out,
                             int *errno_out, char **err)
{
    if (errno_out) *errno_out = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | flags);
    if (fd < 0) {
        int e = errno;
        if (errno_out) *errno_out = e;
        if (err) *err = fbk_xasprintf("cannot open %s: %s", path, strerror(e));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        if (errno_out) *errno_out = EINVAL;
        if (err) *err = fbk_xasprintf("%s is not a regular file", path);
        return NULL;
    }
    if ((uint64_t)st.st_size > max_bytes) {
        close(fd);
        if (errno_out) *errno_out = EFBIG;
        if (err)
            *err = fbk_xasprintf("%s is larger than the %zu-byte limit", path, max_bytes);
        return NULL;
    }
    fbk_buf b;
    fbk_buf_init(&b);
    char tmp[4096];
    for (;;) {
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            close(fd);
            fbk_wipe(tmp, sizeof tmp);
            fbk_buf_wipe(&b);
            if (errno_out) *errno_out = e;
            if (err) *err = fbk_xasprintf("cannot read %s: %s", path, strerror(e));
            return NULL;
        }
        if (n == 0) break;
        if (b.len + (size_t)n > max_bytes) {
            close(fd);
            fbk_wipe(tmp, sizeof tmp);
            fbk_buf_wipe(&b);
            if (errno_out) *errno_out = EFBIG;
            if (err)
                *err = fbk_xasprintf("%s is larger than the %zu-byte limit", path, max_bytes);
            return NULL;
        }
        fbk_buf_append(&b, tmp, (size_t)n);
    }
    close(fd);
    fbk_wipe(tmp, sizeof tmp);
    if (len_out) *len_out = b.len;
    return fbk_buf_steal(&b);
}

/* Reads a small local file (AWS config, token) with a size cap and errno for "missing". */
char *fbk_read_file(const char *path, size_t max_bytes, size_t *len_out, int *errno_out,
                    char **err)
{
    return read_file_flags(path, 0, max_bytes, len_out, errno_out, err);
}

char *fbk_read_file_nofollow(const char *path, size_t max_bytes, size_t *len_out, int *errno_out,
                             char **err)
{
    return read_file_flags(path, O_NOFOLLOW | O_NONBLOCK, max_bytes, len_out, errno_out, err);
}

/* ---- INI ---------------------------------------------------------------- */

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* Errors always carry file:line. */
static void ini_set_err(char **err, const char *file, int line, const char *what)
{
    if (err) *err = fbk_xasprintf("%s:%d: %s", file, line, what);
}

/* Values may be secrets: wiped. */
void fbk_ini_free(fbk_ini *ini)
{
    if (!ini) return;
    for (size_t i = 0; i < ini->n; i++) {
        free(ini->entries[i].section);
        free(ini->entries[i].key);
        fbk_free_secret(ini->entries[i].value);
    }
    free(ini->entries);
    for (size_t i = 0; i < ini->n_sections; i++) free(ini->sections[i]);
    free(ini->sections);
    free(ini->section_lines);
    free(ini->file);
    memset(ini, 0, sizeof *ini);
}

/* See fbk.h. */
int fbk_ini_has_section(const fbk_ini *ini, const char *section)
{
    for (size_t i = 0; i < ini->n_sections; i++)
        if (!strcmp(ini->sections[i], section)) return 1;
    return 0;
}

/* Linear lookup: these files are small. */
const fbk_ini_entry *fbk_ini_get(const fbk_ini *ini, const char *section, const char *key)
{
    for (size_t i = 0; i < ini->n; i++)
        if (!strcmp(ini->entries[i].section, section) && !strcmp(ini->entries[i].key, key))
            return &ini->entries[i];
    return NULL;
}

/* configparser-compatible parse; see fbk.h for the deliberate differences. */
int fbk_ini_parse(const char *text, size_t len, const char *file, fbk_ini *out, char **err)
{
    memset(out, 0, sizeof *out);
    out->file = fbk_xstrdup(file ? file : "<ini>");
    const char *p = text, *end = text + len;
    int lineno = 0;
    const char *cur = NULL;   /* current section (borrowed from out->sections) */
    fbk_ini_entry *last = NULL; /* last key of the current section, for continuations */
    size_t key_indent = 0;    /* indentation of that key's line */
    int blanks = 0;           /* blank lines seen since, kept if a continuation follows */
    size_t cap_e = 0, cap_s = 0;
    if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) p += 3; /* UTF-8 BOM */
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        lineno++;
        const char *s = p, *e = le;
        p = nl ? nl + 1 : end;
        if (memchr(s, '\0', (size_t)(e - s))) {
            ini_set_err(err, out->file, lineno, "contains a NUL byte; this is not a text file");
            goto fail;
        }
        while (e > s && is_blank(e[-1])) e--;
        const char *line = s;
        while (s < e && is_blank(*s)) s++;
        size_t indent = (size_t)(s - line);
        if (s == e) { /* blank: part of a continued value only if one follows */
            if (last) blanks++;
            continue;
        }
        if (*s == '#' || *s == ';') continue;
        /* A line indented deeper than the key's continues its value
         * (configparser's rule), even one that looks like a header. */
        if (last && indent > key_indent) {
            size_t ol = strlen(last->value), tl = (size_t)(e - s);
            char *nv = fbk_xmalloc(ol + (size_t)blanks + 1 + tl + 1);
            memcpy(nv, last->value, ol);
            memset(nv + ol, '\n', (size_t)blanks + 1);
            memcpy(nv + ol + blanks + 1, s, tl);
            nv[ol + blanks + 1 + tl] = '\0';
            fbk_free_secret(last->value);
            last->value = nv;
            blanks = 0;
            continue;
        }
        blanks = 0;
        key_indent = indent;
        if (*s == '[') {
            if (e[-1] != ']' || e - s < 2) {
                ini_set_err(err, out->file, lineno,
                            "malformed section header: expected \"[name]\" with nothing after ']'");
                goto fail;
            }
            const char *ns = s + 1, *ne = e - 1;
            while (ns < ne && is_blank(*ns)) ns++;
            while (ne > ns && is_blank(ne[-1])) ne--;
            if (ns == ne) {
                ini_set_err(err, out->file, lineno, "empty section name \"[]\"");
                goto fail;
            }
            char *name = fbk_xstrndup(ns, (size_t)(ne - ns));
            for (size_t i = 0; i < out->n_sections; i++)
                if (!strcmp(out->sections[i], name)) {
                    char *m = fbk_xasprintf("section [%s] appears twice (first at line %d); "
                                            "merge them", name, out->section_lines[i]);
                    ini_set_err(err, out->file, lineno, m);
                    free(m);
                    free(name);
                    goto fail;
                }
            if (out->n_sections == cap_s) {
                cap_s = cap_s ? cap_s * 2 : 8;
                out->sections = fbk_xrealloc(out->sections, cap_s * sizeof *out->sections);
                out->section_lines = fbk_xrealloc(out->section_lines, cap_s * sizeof(int));
            }
            out->sections[out->n_sections] = name;
            out->section_lines[out->n_sections] = lineno;
            out->n_sections++;
            cur = name;
            last = NULL;
            continue;
        }
        /* key = value | key: value (the first delimiter wins) */
        const char *d = s;
        while (d < e && *d != '=' && *d != ':') d++;
        if (d == e) {
            ini_set_err(err, out->file, lineno,
                        "expected \"[section]\", \"key = value\" or a comment starting with '#' "
                        "or ';' (the line is not shown: it may hold a secret)");
            goto fail;
        }
        const char *ke = d;
        while (ke > s && is_blank(ke[-1])) ke--;
        if (ke == s) {
            ini_set_err(err, out->file, lineno, "a value without a key before the '='");
            goto fail;
        }
        if (!cur) {
            ini_set_err(err, out->file, lineno,
                        "a key outside any [section]; put it under a section such as [default]");
            goto fail;
        }
        const char *vs = d + 1;
        while (vs < e && is_blank(*vs)) vs++;
        char *key = fbk_xstrndup(s, (size_t)(ke - s));
        for (char *c = key; *c; c++)
            if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
        const fbk_ini_entry *dup = fbk_ini_get(out, cur, key);
        if (dup) {
            char *m = fbk_xasprintf("key \"%s\" appears twice in [%s] (first at line %d)", key, cur,
                                    dup->line);
            ini_set_err(err, out->file, lineno, m);
            free(m);
            free(key);
            goto fail;
        }
        if (out->n == cap_e) {
            cap_e = cap_e ? cap_e * 2 : 16;
            out->entries = fbk_xrealloc(out->entries, cap_e * sizeof *out->entries);
        }
        fbk_ini_entry *en = &out->entries[out->n++];
        en->section = fbk_xstrdup(cur);
        en->key = key;
        en->value = fbk_xstrndup(vs, (size_t)(e - vs));
        en->line = lineno;
        last = en;
    }
    return 0;
fail:
    fbk_ini_free(out);
    return -1;
}
