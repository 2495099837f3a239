/* spec_json.c - reading spec files: the byte-level checks (size, UTF-8,
 * NUL), the JSON front end (jansson for the values and syntax errors, plus
 * a scan that maps every JSON pointer to its line:column), the pointer maps
 * both front ends share, and the limits checked on the parsed documents. */
#include "config.h"
#include "spec/spec.h"
#include "base/jsonread.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

/* ---- pointers ---- */

void fbi_spec_ptr_index(fbi_buf *ptr, size_t index)
{
    char tmp[24];
    tmp[0] = '/';
    char *end = fbi_put_dec(tmp + 1, index);
    fbi_buf_append(ptr, tmp, (size_t)(end - tmp));
}

/* ---- parsed documents ---- */

void fbi_parsed_add(fbi_parsed *p, json_t *value, fbi_locmap *locs,
                    const char *prefix, int line, int col)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 8;
        p->docs = fbi_xrealloc(p->docs, p->cap * sizeof *p->docs);
    }
    fbi_spec_doc_src *d = &p->docs[p->n++];
    d->value = value;
    d->locs = fbi_locmap_ref(locs);
    d->prefix = fbi_xstrdup(prefix ? prefix : "");
    d->line = line;
    d->col = col;
}

void fbi_parsed_free(fbi_parsed *p)
{
    for (size_t i = 0; i < p->n; i++) {
        json_decref(p->docs[i].value);
        fbi_locmap_unref(p->docs[i].locs);
        free(p->docs[i].prefix);
    }
    free(p->docs);
    p->docs = NULL;
    p->n = p->cap = 0;
}

/* ---- bytes ---- */

size_t fbi_utf8_first_invalid(const char *data, size_t len)
{
    const unsigned char *s = (const unsigned char *)data;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        unsigned min;
        if (c == 0) return i;
        if (c < 0x80) { i++; continue; }
        if ((c & 0xE0) == 0xC0) { n = 2; min = 0x80; c &= 0x1F; }
        else if ((c & 0xF0) == 0xE0) { n = 3; min = 0x800; c &= 0x0F; }
        else if ((c & 0xF8) == 0xF0) { n = 4; min = 0x10000; c &= 0x07; }
        else return i;
        if (i + n > len) return i;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return i;
            c = (c << 6) | (s[i + k] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return i;
        i += n;
    }
    return len;
}

void fbi_text_position(const char *data, size_t len, size_t off, int *line, int *col)
{
    int l = 1, c = 1;
    if (off > len) off = len;
    for (size_t i = 0; i < off; i++) {
        unsigned char ch = (unsigned char)data[i];
        if (ch == '\n') { l++; c = 1; }
        else if ((ch & 0xC0) != 0x80) c++;
    }
    *line = l;
    *col = c;
}

/* ---- the JSON location scan ---- */

typedef struct jscan {
    const char *s;
    size_t n, i;
    int line, col;
    fbi_locmap *locs;
    fbi_buf ptr;
    int failed;
    size_t nodes;
    /* A limit crossed, reported after jansson's parse unless the syntax
     * is broken (then the syntax error is the one to fix first). */
    enum { JS_OK, JS_DEPTH, JS_NODES } over;
    int over_line, over_col;
    char *over_ptr;
} jscan;

static void adv(jscan *j)
{
    if (j->i >= j->n) return;
    unsigned char ch = (unsigned char)j->s[j->i++];
    if (ch == '\n') { j->line++; j->col = 1; }
    else if ((ch & 0xC0) != 0x80) j->col++;
}

static int cur(const jscan *j)
{
    return j->i < j->n ? (unsigned char)j->s[j->i] : -1;
}

static void skip_ws(jscan *j)
{
    while (cur(j) == ' ' || cur(j) == '\t' || cur(j) == '\n' || cur(j) == '\r') adv(j);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static unsigned read_hex4(jscan *j)
{
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        int h = hexval(cur(j));
        if (h < 0) return 0xFFFD;
        v = v * 16 + (unsigned)h;
        adv(j);
    }
    return v;
}

static void put_utf8(fbi_buf *b, unsigned cp)
{
    char t[4];
    if (cp < 0x80) { t[0] = (char)cp; fbi_buf_append(b, t, 1); }
    else if (cp < 0x800) {
        t[0] = (char)(0xC0 | (cp >> 6)); t[1] = (char)(0x80 | (cp & 0x3F));
        fbi_buf_append(b, t, 2);
    } else if (cp < 0x10000) {
        t[0] = (char)(0xE0 | (cp >> 12)); t[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        t[2] = (char)(0x80 | (cp & 0x3F));
        fbi_buf_append(b, t, 3);
    } else {
        t[0] = (char)(0xF0 | (cp >> 18)); t[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        t[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); t[3] = (char)(0x80 | (cp & 0x3F));
        fbi_buf_append(b, t, 4);
    }
}

/* Reads a string at the cursor (on its opening quote); decodes it into out
 * when out is not NULL. */
static void scan_string(jscan *j, fbi_buf *out)
{
    adv(j); /* opening quote */
    while (j->i < j->n && cur(j) != '"') {
        int ch = cur(j);
        if (ch == '\\') {
            adv(j);
            int e = cur(j);
            adv(j);
            if (!out) {
                if (e == 'u') read_hex4(j);
                continue;
            }
            switch (e) {
            case 'b': fbi_buf_putc(out, '\b'); break;
            case 'f': fbi_buf_putc(out, '\f'); break;
            case 'n': fbi_buf_putc(out, '\n'); break;
            case 'r': fbi_buf_putc(out, '\r'); break;
            case 't': fbi_buf_putc(out, '\t'); break;
            case 'u': {
                unsigned cp = read_hex4(j);
                if (cp >= 0xD800 && cp <= 0xDBFF && cur(j) == '\\' && j->i + 1 < j->n &&
                    j->s[j->i + 1] == 'u') {
                    adv(j);
                    adv(j);
                    unsigned lo = read_hex4(j);
                    if (lo >= 0xDC00 && lo <= 0xDFFF)
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    else
                        cp = 0xFFFD;
                } else if (cp >= 0xD800 && cp <= 0xDFFF) {
                    cp = 0xFFFD;
                }
                put_utf8(out, cp);
                break;
            }
            default:
                if (e >= 0) fbi_buf_putc(out, (char)e);
            }
        } else {
            if (out) fbi_buf_putc(out, (char)ch);
            adv(j);
        }
    }
    adv(j); /* closing quote */
}

/* Records the first limit crossed and stops the scan. */
static void scan_over(jscan *j, int what)
{
    j->over = what;
    j->over_line = j->line;
    j->over_col = j->col;
    j->over_ptr = fbi_xstrdup(j->ptr.data ? j->ptr.data : "");
    j->failed = 1;
}

static void scan_value(jscan *j, int depth)
{
    if (j->failed) return;
    skip_ws(j);
    if (++j->nodes > FBI_SPEC_MAX_NODES) {
        scan_over(j, JS_NODES);
        return;
    }
    fbi_loc_put(j->locs, j->ptr.data ? j->ptr.data : "", j->line, j->col);
    int ch = cur(j);
    if ((ch == '{' || ch == '[') && depth > FBI_SPEC_MAX_DEPTH) {
        scan_over(j, JS_DEPTH);
        return;
    }
    if (ch == '{') {
        adv(j);
        skip_ws(j);
        if (cur(j) == '}') { adv(j); return; }
        while (j->i < j->n && !j->failed) {
            skip_ws(j);
            if (cur(j) != '"') { j->failed = 1; return; }
            fbi_buf key;
            fbi_buf_init(&key);
            fbi_buf_puts(&key, "");
            scan_string(j, &key);
            skip_ws(j);
            if (cur(j) == ':') adv(j);
            size_t old = j->ptr.len;
            fbi_pointer_append(&j->ptr, key.data);
            fbi_buf_free(&key);
            scan_value(j, depth + 1);
            j->ptr.len = old;
            j->ptr.data[old] = '\0';
            skip_ws(j);
            if (cur(j) == ',') { adv(j); continue; }
            adv(j); /* '}' */
            return;
        }
        return;
    }
    if (ch == '[') {
        adv(j);
        skip_ws(j);
        if (cur(j) == ']') { adv(j); return; }
        for (size_t idx = 0; j->i < j->n && !j->failed; idx++) {
            size_t old = j->ptr.len;
            fbi_spec_ptr_index(&j->ptr, idx);
            scan_value(j, depth + 1);
            j->ptr.len = old;
            j->ptr.data[old] = '\0';
            skip_ws(j);
            if (cur(j) == ',') { adv(j); continue; }
            adv(j); /* ']' */
            return;
        }
        return;
    }
    if (ch == '"') {
        scan_string(j, NULL);
        return;
    }
    while (j->i < j->n) {
        ch = cur(j);
        if (ch == ',' || ch == '}' || ch == ']' || ch == ' ' || ch == '\t' || ch == '\n' ||
            ch == '\r')
            break;
        adv(j);
    }
}

/* jansson reports the column where the offending token ends ("... near
 * 'TOKEN'"); editors and other parsers point at where it starts. */
static int token_start_column(const char *text, int col)
{
    const char *near = strstr(text, " near '");
    const char *end = strrchr(text, '\'');
    if (!near || !end || end <= near + 7) return col;
    const char *tok = near + 7;
    int chars = 0;
    for (const char *p = tok; p < end; p++)
        if (((unsigned char)*p & 0xC0) != 0x80) chars++;
    return col - chars + 1 > 0 ? col - chars + 1 : col;
}

/* Reports the limit the scan crossed. */
static void report_over(const jscan *j, const char *name, fb_diag *diag)
{
    char *summary;
    const char *detail;
    if (j->over == JS_NODES) {
        summary = fbi_xasprintf("more than %d values in one file", FBI_SPEC_MAX_NODES);
        detail = "A spec file holds at most 250,000 values (objects, arrays, strings, numbers "
                 "...), far more than 1000 workloads need; split it (a Federation can "
                 "reference the parts with {file: ...}).";
    } else {
        summary = fbi_xasprintf("nesting deeper than %d levels", FBI_SPEC_MAX_DEPTH);
        detail = "A spec file nests at most 32 levels; flatten the structure.";
    }
    fb_diag_add(diag, FB_SEV_ERROR, name, j->over_line, j->over_col, j->over_ptr, summary, detail);
    free(summary);
}

int fbi_spec_parse_json(const char *name, const char *data, size_t len,
                        fbi_parsed *out, fb_diag *diag)
{
    /* The location scan runs first: it stops at the value limit before
     * jansson builds a tree of millions of values (hundreds of bytes each). */
    jscan j;
    memset(&j, 0, sizeof j);
    j.s = data;
    j.n = len;
    j.line = 1;
    j.col = 1;
    j.locs = fbi_locmap_new();
    fbi_buf_init(&j.ptr);
    fbi_buf_puts(&j.ptr, "");
    scan_value(&j, 1);
    fbi_buf_free(&j.ptr);
    if (j.over == JS_NODES) {
        report_over(&j, name, diag);
        free(j.over_ptr);
        fbi_locmap_unref(j.locs);
        return -1;
    }
    json_error_t jerr;
    json_t *root = fbi_json_read(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        int line = jerr.line, col = jerr.column;
        if ((line <= 0 || col <= 0) && jerr.position >= 0)
            fbi_text_position(data, len, (size_t)jerr.position, &line, &col);
        else
            col = token_start_column(jerr.text, col);
        const char *detail = "Fix the JSON syntax at this position (a missing comma, quote or "
                             "bracket is the usual cause).";
        if (strstr(jerr.text, "duplicate"))
            detail = "Each key may appear once in an object; remove or rename one.";
        else if (strstr(jerr.text, "depth"))
            detail = "A spec file nests at most 32 levels; flatten the structure.";
        char *summary = fbi_xasprintf("JSON syntax error: %s", jerr.text);
        fb_diag_add(diag, FB_SEV_ERROR, name, line > 0 ? line : 0, col > 0 ? col : 0, NULL,
                    summary, detail);
        free(summary);
        free(j.over_ptr);
        fbi_locmap_unref(j.locs);
        return -1;
    }
    if (j.over) {
        report_over(&j, name, diag);
        free(j.over_ptr);
        fbi_locmap_unref(j.locs);
        json_decref(root);
        return -1;
    }
    int line = 1, col = 1;
    fbi_loc_get(j.locs, "", &line, &col);
    if (json_is_array(root)) {
        size_t i;
        json_t *d;
        json_array_foreach(root, i, d) {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "/%zu", i);
            int dl = line, dc = col;
            fbi_loc_get(j.locs, prefix, &dl, &dc);
            if (i >= FBI_SPEC_MAX_DOCS) {
                fb_diag_add(diag, FB_SEV_ERROR, name, dl, dc, prefix,
                            "more than 1000 documents in one file",
                            "Split the file: a spec file holds at most 1000 documents.");
                fbi_locmap_unref(j.locs);
                json_decref(root);
                return -1;
            }
            fbi_parsed_add(out, json_incref(d), j.locs, prefix, dl, dc);
        }
        if (json_array_size(root) == 0) {
            fb_diag_add(diag, FB_SEV_ERROR, name, line, col, NULL, "no documents in the file",
                        "A JSON spec file holds one document (an object) or an array of them.");
            fbi_locmap_unref(j.locs);
            json_decref(root);
            return -1;
        }
    } else {
        fbi_parsed_add(out, json_incref(root), j.locs, "", line, col);
    }
    fbi_locmap_unref(j.locs);
    json_decref(root);
    return 0;
}

/* ---- limits on the parsed documents ---- */

/* A path from the document root, kept on the stack while walking; the
 * pointer text is only built when an error needs it. */
typedef struct walk_path {
    const struct walk_path *up;
    const char *key;   /* NULL for an array index */
    size_t index;
} walk_path;

static void path_text(const walk_path *w, fbi_buf *out)
{
    if (!w) return;
    path_text(w->up, out);
    if (w->key) fbi_pointer_append(out, w->key);
    else fbi_spec_ptr_index(out, w->index);
}

static void string_error(const char *name, const fbi_spec_doc_src *d, const walk_path *w,
                         const char *summary, const char *detail, fb_diag *diag)
{
    fbi_buf ptr;
    fbi_buf_init(&ptr);
    fbi_buf_puts(&ptr, "");
    path_text(w, &ptr);
    char *full = fbi_xasprintf("%s%s", d->prefix, ptr.data);
    int line = 0, col = 0;
    fbi_loc_get(d->locs, full, &line, &col);
    fb_diag_add(diag, FB_SEV_ERROR, name, line, col, ptr.data, summary, detail);
    free(full);
    fbi_buf_free(&ptr);
}

static int is_program_source(const walk_path *w)
{
    return w && w->key && !strcmp(w->key, "source") && w->up && w->up->key &&
           !strcmp(w->up->key, "program");
}

static void check_strings(const char *name, const fbi_spec_doc_src *d, const json_t *v,
                          const walk_path *w, int *bad, fb_diag *diag)
{
    if (*bad > 20) return; /* enough is enough */
    if (json_is_string(v)) {
        size_t n = json_string_length(v);
        size_t lim = is_program_source(w) ? FBI_SPEC_MAX_SOURCE : FBI_SPEC_MAX_STRING;
        if (n > lim) {
            char *summary = fbi_xasprintf("string of %zu bytes is longer than the limit of %zu",
                                          n, lim);
            string_error(name, d, w, summary,
                         lim == FBI_SPEC_MAX_SOURCE
                             ? "Inline program source is at most 1 MiB; larger programs do not "
                               "fit the providers' job limits."
                             : "Strings are at most 64 KiB (inline program source 1 MiB); "
                               "put large content in a file and reference it.",
                         diag);
            free(summary);
            (*bad)++;
        }
        return;
    }
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) {
            walk_path sub = {w, k, 0};
            if (strlen(k) > FBI_SPEC_MAX_STRING) {
                string_error(name, d, &sub, "key longer than the limit of 65536 bytes",
                             "Keys are at most 64 KiB.", diag);
                (*bad)++;
            } else {
                check_strings(name, d, x, &sub, bad, diag);
            }
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            walk_path sub = {w, NULL, i};
            check_strings(name, d, x, &sub, bad, diag);
        }
    }
}

static int has_ext(const char *name, const char *ext)
{
    size_t a = strlen(name), b = strlen(ext);
    return a > b && strcasecmp(name + a - b, ext) == 0;
}

int fbi_spec_parse(const char *name, const char *data, size_t len,
                   fbi_spec_format fmt, fbi_parsed *out, fb_diag *diag)
{
    if (len > FBI_SPEC_MAX_FILE) {
        char *summary = fbi_xasprintf("file of %zu bytes is larger than the limit of %u bytes "
                                      "(4 MiB)", len, FBI_SPEC_MAX_FILE);
        fb_diag_add(diag, FB_SEV_ERROR, name, 0, 0, NULL, summary,
                    "Split it into several files (a Federation can reference them with "
                    "{file: ...}).");
        free(summary);
        return -1;
    }
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
        data += 3;
        len -= 3;
    }
    size_t bad = fbi_utf8_first_invalid(data, len);
    if (bad < len) {
        int line, col;
        fbi_text_position(data, len, bad, &line, &col);
        char *summary = data[bad] == 0
            ? fbi_xstrdup("NUL byte in the file")
            : fbi_xasprintf("invalid UTF-8 (byte 0x%02x at offset %zu)",
                            (unsigned char)data[bad], bad);
        fb_diag_add(diag, FB_SEV_ERROR, name, line, col, NULL, summary,
                    "Spec files must be UTF-8 text; convert the file (e.g. with iconv -t UTF-8) "
                    "or remove the stray bytes.");
        free(summary);
        return -1;
    }
    if (fmt == FBI_FMT_AUTO) {
        if (has_ext(name, ".json")) fmt = FBI_FMT_JSON;
        else if (has_ext(name, ".yaml") || has_ext(name, ".yml")) fmt = FBI_FMT_YAML;
        else {
            size_t i = 0;
            while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' ||
                               data[i] == '\r'))
                i++;
            fmt = i < len && (data[i] == '{' || data[i] == '[') ? FBI_FMT_JSON : FBI_FMT_YAML;
        }
    }
    size_t first = out->n;
    int rc = fmt == FBI_FMT_JSON ? fbi_spec_parse_json(name, data, len, out, diag)
                                 : fbi_spec_parse_yaml(name, data, len, out, diag);
    if (rc != 0) return -1;
    int nbad = 0;
    for (size_t i = first; i < out->n; i++)
        check_strings(name, &out->docs[i], out->docs[i].value, NULL, &nbad, diag);
    return nbad ? -1 : 0;
}
