/* spec_yaml.c - the YAML front end: builds jansson values from libyaml
 * events, resolving plain scalars by the YAML 1.2 core schema (so `0.5` is
 * a number and `"0.5"` a string, `yes` and `on` are strings), recording the
 * line:column of every JSON pointer, and refusing what would make a spec
 * ambiguous or dangerous: duplicate keys, non-string keys, tags other than
 * the core ones, alias expansion beyond a budget, nesting beyond the
 * limit. */
#include "config.h"
#include "spec/spec.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define TAG_PREFIX "tag:yaml.org,2002:"

typedef struct frame {
    json_t *node;           /* object or array being filled (owned) */
    int is_map;
    char *key;              /* pending key of a map; NULL when a key is expected */
    int key_dup;            /* the pending key is a duplicate: drop its value */
    size_t index;           /* next index of an array */
    size_t parent_ptr_len;  /* pointer length to restore at the end */
    char *anchor;           /* anchor to register when the node is complete */
} frame;

typedef struct ybuild {
    const char *name;
    fb_diag *diag;
    fbi_parsed *out;
    frame *st;
    size_t nst, capst;
    fbi_buf ptr;
    fbi_locmap *locs;       /* the current document's map */
    json_t *anchors;        /* name -> [value, nodes, depth] */
    size_t alias_nodes;
    size_t nodes;           /* values read from the file (FBI_SPEC_MAX_NODES) */
    int errors;
    int fatal;
    json_t *root;           /* the completed root of the current document */
    int doc_line, doc_col;
    size_t ndocs;
} ybuild;

static void yerr(ybuild *b, const yaml_mark_t *m, const char *pointer, const char *summary,
                 const char *detail)
{
    fb_diag_add(b->diag, FB_SEV_ERROR, b->name, m ? (int)m->line + 1 : 0,
                m ? (int)m->column + 1 : 0, pointer, summary, detail);
    b->errors++;
}

static const char *cur_ptr(const ybuild *b)
{
    return b->ptr.data ? b->ptr.data : "";
}

/* Counts nodes and depth of a value (for the alias budget). */
static void measure(const json_t *v, size_t *nodes, int *depth)
{
    *nodes = 1;
    *depth = 0;
    if (json_is_object(v) || json_is_array(v)) {
        int dmax = 0;
        if (json_is_object(v)) {
            const char *k;
            json_t *x;
            json_object_foreach((json_t *)v, k, x) {
                size_t n;
                int d;
                measure(x, &n, &d);
                *nodes += n;
                if (d > dmax) dmax = d;
            }
        } else {
            size_t i;
            json_t *x;
            json_array_foreach(v, i, x) {
                size_t n;
                int d;
                measure(x, &n, &d);
                *nodes += n;
                if (d > dmax) dmax = d;
            }
        }
        *depth = dmax + 1;
    }
}

static void register_anchor(ybuild *b, const char *anchor, json_t *v)
{
    if (!anchor) return;
    size_t nodes;
    int depth;
    measure(v, &nodes, &depth);
    json_object_set_new(b->anchors, anchor,
                        json_pack("[Oii]", v, (json_int_t)nodes, (json_int_t)depth));
}

/* Before a value: extends the pointer with the key or index of the parent
 * and records where the value starts. Returns the length to restore. */
static size_t value_begin(ybuild *b, const yaml_mark_t *m)
{
    size_t old = b->ptr.len;
    if (b->nst > 0) {
        frame *f = &b->st[b->nst - 1];
        if (f->is_map) fbi_pointer_append(&b->ptr, f->key ? f->key : "");
        else fbi_spec_ptr_index(&b->ptr, f->index);
    }
    fbi_loc_put(b->locs, cur_ptr(b), (int)m->line + 1, (int)m->column + 1);
    if (++b->nodes > FBI_SPEC_MAX_NODES && !b->fatal) {
        /* Stop before the tree (hundreds of bytes a value) grows further. */
        char *summary = fbi_xasprintf("more than %d values in one file", FBI_SPEC_MAX_NODES);
        yerr(b, m, cur_ptr(b), summary,
             "A spec file holds at most 250,000 values (mappings, sequences, scalars), far "
             "more than 1000 workloads need; split it (a Federation can reference the parts "
             "with {file: ...}).");
        free(summary);
        b->fatal = 1;
    }
    return old;
}

static void ptr_restore(ybuild *b, size_t len)
{
    b->ptr.len = len;
    if (b->ptr.data) b->ptr.data[len] = '\0';
}

/* Puts a completed value into its parent (steals v). */
static void attach(ybuild *b, json_t *v)
{
    if (b->nst == 0) {
        json_decref(b->root);
        b->root = v;
        return;
    }
    frame *f = &b->st[b->nst - 1];
    if (f->is_map) {
        if (f->key && !f->key_dup) json_object_set_new(f->node, f->key, v);
        else json_decref(v);
        free(f->key);
        f->key = NULL;
        f->key_dup = 0;
    } else {
        json_array_append_new(f->node, v);
        f->index++;
    }
}

static int expecting_key(const ybuild *b)
{
    return b->nst > 0 && b->st[b->nst - 1].is_map && b->st[b->nst - 1].key == NULL;
}

/* ---- YAML 1.2 core schema ---- */

static int all_in(const char *s, const char *set)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!strchr(set, *s)) return 0;
    return 1;
}

/* Each plain scalar, keys included, goes through these three: the first
 * character rules out nearly all of them before any comparison (15
 * strcmp calls a scalar were 0.5 % of an AWS apply's instructions, on the
 * main thread). */
static int is_null_text(const char *s)
{
    if (*s != '~' && *s != 'n' && *s != 'N') return !*s;
    return !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
           !strcmp(s, "NULL");
}

static int bool_text(const char *s)
{
    if (*s != 't' && *s != 'T' && *s != 'f' && *s != 'F') return -1;
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) return 1;
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) return 0;
    return -1;
}

static int is_int_text(const char *s)
{
    if (s[0] == '0' && s[1] == 'o') return all_in(s + 2, "01234567");
    if (s[0] == '0' && s[1] == 'x') return all_in(s + 2, "0123456789abcdefABCDEF");
    if (*s == '-' || *s == '+') s++;
    return all_in(s, "0123456789");
}

/* [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
static int is_float_text(const char *s)
{
    if (*s == '-' || *s == '+') s++;
    int digits = 0;
    if (*s == '.') {
        s++;
        while (*s >= '0' && *s <= '9') s++, digits++;
        if (!digits) return 0;
    } else {
        while (*s >= '0' && *s <= '9') s++, digits++;
        if (!digits) return 0;
        if (*s == '.') {
            s++;
            while (*s >= '0' && *s <= '9') s++;
        }
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '-' || *s == '+') s++;
        int e = 0;
        while (*s >= '0' && *s <= '9') s++, e++;
        if (!e) return 0;
    }
    return *s == '\0';
}

static int is_special_float(const char *s)
{
    if (*s == '-' || *s == '+') s++;
    if (*s != '.') return 0;
    return !strcmp(s, ".inf") || !strcmp(s, ".Inf") || !strcmp(s, ".INF") ||
           !strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN");
}

/* Converts an int text of the core schema; 0 or -1 when out of range. */
static int int_value(const char *s, json_int_t *out)
{
    errno = 0;
    if (s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
        unsigned long long u = strtoull(s + 2, NULL, s[1] == 'o' ? 8 : 16);
        if (errno == ERANGE || u > (unsigned long long)INT64_MAX) return -1;
        *out = (json_int_t)u;
        return 0;
    }
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE) return -1;
    *out = (json_int_t)v;
    return 0;
}

typedef enum { RT_STR, RT_NULL, RT_BOOL, RT_INT, RT_FLOAT, RT_BAD } rtype;

/* Resolves a scalar to a JSON value. Returns NULL (after an error) for
 * scalars JSON cannot hold. */
static json_t *resolve_scalar(ybuild *b, const yaml_event_t *ev, rtype *rt)
{
    const char *text = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    const char *tag = (const char *)ev->data.scalar.tag;
    const yaml_mark_t *m = &ev->start_mark;
    if (memchr(text, '\0', len)) {
        yerr(b, m, cur_ptr(b), "NUL character in a string",
             "Strings may not contain NUL characters (\\0).");
        *rt = RT_BAD;
        return json_null();
    }
    int plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    const char *want = NULL; /* core tag suffix asked for explicitly */
    if (tag) {
        if (!strcmp(tag, "!")) {
            plain = 0;
        } else if (!strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) &&
                   (!strcmp(tag + strlen(TAG_PREFIX), "str") ||
                    !strcmp(tag + strlen(TAG_PREFIX), "int") ||
                    !strcmp(tag + strlen(TAG_PREFIX), "float") ||
                    !strcmp(tag + strlen(TAG_PREFIX), "bool") ||
                    !strcmp(tag + strlen(TAG_PREFIX), "null"))) {
            want = tag + strlen(TAG_PREFIX);
        } else {
            char *shown = fbi_printable(tag, 0, 60);
            char *summary = fbi_xasprintf("unsupported YAML tag %s", shown);
            free(shown);
            yerr(b, m, cur_ptr(b), summary,
                 "Only the YAML 1.2 core tags are accepted: !!str, !!int, !!float, !!bool, "
                 "!!null, !!map, !!seq.");
            free(summary);
            *rt = RT_BAD;
            return json_null();
        }
    }
    if (want && !strcmp(want, "str")) {
        *rt = RT_STR;
        return json_stringn(text, len);
    }
    if (!want && !plain) {
        *rt = RT_STR;
        return json_stringn(text, len);
    }
    /* Plain scalar (or an explicit core tag): apply the core schema. */
    if ((!want || !strcmp(want, "null")) && is_null_text(text)) {
        *rt = RT_NULL;
        return json_null();
    }
    int bv = bool_text(text);
    if ((!want || !strcmp(want, "bool")) && bv >= 0) {
        *rt = RT_BOOL;
        return json_boolean(bv);
    }
    if ((!want || !strcmp(want, "int") || !strcmp(want, "float")) && is_int_text(text)) {
        json_int_t iv;
        if (int_value(text, &iv) != 0) {
            yerr(b, m, cur_ptr(b), "integer out of range",
                 "Integers must fit in 64 bits; quote the value if it is text.");
            *rt = RT_BAD;
            return json_null();
        }
        *rt = want && !strcmp(want, "float") ? RT_FLOAT : RT_INT;
        return *rt == RT_FLOAT ? json_real((double)iv) : json_integer(iv);
    }
    if ((!want || !strcmp(want, "float")) && is_special_float(text)) {
        yerr(b, m, cur_ptr(b), "infinity and NaN are not allowed",
             "JSON has no infinity or NaN; use a finite number, or quote the value if it "
             "is text.");
        *rt = RT_BAD;
        return json_null();
    }
    if ((!want || !strcmp(want, "float")) && is_float_text(text)) {
        errno = 0;
        double d = strtod(text, NULL);
        if (!isfinite(d) || errno == ERANGE) {
            if (!isfinite(d) || fabs(d) > 1) {
                yerr(b, m, cur_ptr(b), "number out of range",
                     "Numbers must fit in a double; quote the value if it is text.");
                *rt = RT_BAD;
                return json_null();
            }
        }
        *rt = RT_FLOAT;
        return json_real(d);
    }
    if (want) {
        char *shown = fbi_printable(text, 0, 40);
        char *summary = fbi_xasprintf("\"%s\" is not a valid !!%s", shown, want);
        free(shown);
        yerr(b, m, cur_ptr(b), summary, "Remove the tag or fix the value.");
        free(summary);
        *rt = RT_BAD;
        return json_null();
    }
    *rt = RT_STR;
    return json_stringn(text, len);
}

static void handle_key_scalar(ybuild *b, const yaml_event_t *ev)
{
    frame *f = &b->st[b->nst - 1];
    const char *text = (const char *)ev->data.scalar.value;
    rtype rt;
    json_t *v = resolve_scalar(b, ev, &rt);
    json_decref(v);
    if (rt != RT_STR && rt != RT_BAD) {
        static const char *const names[] = {"string", "null", "boolean", "integer", "number"};
        char *shown = fbi_printable(text, 0, 60);
        char *summary = fbi_xasprintf("key `%s` is a %s, not a string", shown, names[rt]);
        free(shown);
        yerr(b, &ev->start_mark, cur_ptr(b), summary,
             "Keys must be strings; quote the key (YAML 1.2 reads it as a scalar of another "
             "type).");
        free(summary);
    }
    f->key = fbi_xstrndup(text, ev->data.scalar.length);
    f->key_dup = 0;
    if (json_object_get(f->node, f->key)) {
        fbi_buf p;
        fbi_buf_init(&p);
        fbi_buf_puts(&p, cur_ptr(b));
        fbi_pointer_append(&p, f->key);
        int line = 0, col = 0;
        fbi_loc_get(b->locs, p.data, &line, &col);
        char *shown = fbi_printable(f->key, 0, 60);
        char *summary = fbi_xasprintf("duplicate key `%s`", shown);
        free(shown);
        char *detail = fbi_xasprintf("The key was first defined at line %d; a key may appear "
                                     "once in a mapping. Remove or rename one of them.", line);
        yerr(b, &ev->start_mark, p.data, summary, detail);
        free(summary);
        free(detail);
        fbi_buf_free(&p);
        f->key_dup = 1;
    }
}

static void push_frame(ybuild *b, json_t *node, int is_map, const char *anchor,
                       size_t parent_len, const yaml_mark_t *m)
{
    if (b->nst == b->capst) {
        b->capst = b->capst ? b->capst * 2 : 16;
        b->st = fbi_xrealloc(b->st, b->capst * sizeof *b->st);
    }
    frame *f = &b->st[b->nst++];
    memset(f, 0, sizeof *f);
    f->node = node;
    f->is_map = is_map;
    f->anchor = anchor ? fbi_xstrdup(anchor) : NULL;
    f->parent_ptr_len = parent_len;
    (void)m;
}

static int check_container_tag(ybuild *b, const yaml_event_t *ev, const char *tag,
                               const char *want)
{
    if (!tag || !strcmp(tag, "!")) return 0;
    if (!strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) && !strcmp(tag + strlen(TAG_PREFIX), want))
        return 0;
    char *shown = fbi_printable(tag, 0, 60);
    char *summary = fbi_xasprintf("unsupported YAML tag %s", shown);
    free(shown);
    yerr(b, &ev->start_mark, cur_ptr(b), summary,
         "Only the YAML 1.2 core tags are accepted: !!str, !!int, !!float, !!bool, !!null, "
         "!!map, !!seq.");
    free(summary);
    return -1;
}

static void start_container(ybuild *b, const yaml_event_t *ev, int is_map)
{
    if (expecting_key(b)) {
        yerr(b, &ev->start_mark, cur_ptr(b), "complex mapping key",
             "Keys must be strings; a mapping or sequence cannot be a key.");
        b->fatal = 1;
        return;
    }
    size_t old = value_begin(b, &ev->start_mark);
    if (b->nst + 1 > FBI_SPEC_MAX_DEPTH) {
        char *summary = fbi_xasprintf("nesting deeper than %d levels", FBI_SPEC_MAX_DEPTH);
        yerr(b, &ev->start_mark, cur_ptr(b), summary,
             "A spec file nests at most 32 levels; flatten the structure.");
        free(summary);
        b->fatal = 1;
        ptr_restore(b, old);
        return;
    }
    const char *tag = (const char *)(is_map ? ev->data.mapping_start.tag
                                            : ev->data.sequence_start.tag);
    const char *anchor = (const char *)(is_map ? ev->data.mapping_start.anchor
                                               : ev->data.sequence_start.anchor);
    check_container_tag(b, ev, tag, is_map ? "map" : "seq");
    push_frame(b, is_map ? json_object() : json_array(), is_map, anchor, old, &ev->start_mark);
}

static void end_container(ybuild *b)
{
    frame f = b->st[--b->nst];
    free(f.key);
    ptr_restore(b, f.parent_ptr_len);
    if (f.anchor) register_anchor(b, f.anchor, f.node);
    free(f.anchor);
    attach(b, f.node);
}

static void handle_alias(ybuild *b, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    if (expecting_key(b)) {
        yerr(b, &ev->start_mark, cur_ptr(b), "alias used as a key",
             "Keys must be plain strings; write the key out.");
        b->fatal = 1;
        return;
    }
    size_t old = value_begin(b, &ev->start_mark);
    json_t *a = json_object_get(b->anchors, name);
    if (!a) {
        char *shown = fbi_printable(name, 0, 60);
        char *summary = fbi_xasprintf("alias *%s refers to no anchor defined before it", shown);
        free(shown);
        yerr(b, &ev->start_mark, cur_ptr(b), summary,
             "Define the anchor (&name) before using it, and not around the alias itself.");
        free(summary);
        attach(b, json_null());
        ptr_restore(b, old);
        return;
    }
    size_t nodes = (size_t)json_integer_value(json_array_get(a, 1));
    int depth = (int)json_integer_value(json_array_get(a, 2));
    if (b->alias_nodes + nodes > FBI_SPEC_MAX_ALIAS_NODES) {
        char *summary = fbi_xasprintf("YAML aliases expand to more than %d nodes",
                                      FBI_SPEC_MAX_ALIAS_NODES);
        yerr(b, &ev->start_mark, cur_ptr(b), summary,
             "Aliases are copied where they are used; this file copies too much (an alias "
             "bomb?). Write the values out or use fewer aliases.");
        free(summary);
        b->fatal = 1;
        ptr_restore(b, old);
        return;
    }
    if ((int)b->nst + depth > FBI_SPEC_MAX_DEPTH) {
        char *shown = fbi_printable(name, 0, 60);
        char *summary = fbi_xasprintf("nesting deeper than %d levels (through alias *%s)",
                                      FBI_SPEC_MAX_DEPTH, shown);
        free(shown);
        yerr(b, &ev->start_mark, cur_ptr(b), summary,
             "A spec file nests at most 32 levels; flatten the structure.");
        free(summary);
        b->fatal = 1;
        ptr_restore(b, old);
        return;
    }
    b->alias_nodes += nodes;
    attach(b, json_deep_copy(json_array_get(a, 0)));
    ptr_restore(b, old);
}

static void handle_scalar(ybuild *b, const yaml_event_t *ev)
{
    if (expecting_key(b)) {
        handle_key_scalar(b, ev);
        return;
    }
    size_t old = value_begin(b, &ev->start_mark);
    rtype rt;
    json_t *v = resolve_scalar(b, ev, &rt);
    if (!v) v = json_null();
    if (ev->data.scalar.anchor) register_anchor(b, (const char *)ev->data.scalar.anchor, v);
    attach(b, v);
    ptr_restore(b, old);
}

static void doc_begin(ybuild *b, const yaml_event_t *ev)
{
    fbi_locmap_unref(b->locs);
    json_decref(b->anchors);
    json_decref(b->root);
    b->root = NULL;
    b->locs = fbi_locmap_new();
    b->anchors = json_object();
    b->doc_line = (int)ev->start_mark.line + 1;
    b->doc_col = (int)ev->start_mark.column + 1;
}

static void doc_end(ybuild *b)
{
    json_t *root = b->root;
    b->root = NULL;
    if (!root || json_is_null(root)) {
        json_decref(root);
        return;
    }
    int line = b->doc_line, col = b->doc_col;
    fbi_loc_get(b->locs, "", &line, &col);
    if (json_is_array(root)) {
        size_t i;
        json_t *d;
        json_array_foreach(root, i, d) {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "/%zu", i);
            int dl = line, dc = col;
            fbi_loc_get(b->locs, prefix, &dl, &dc);
            if (++b->ndocs > FBI_SPEC_MAX_DOCS) break;
            fbi_parsed_add(b->out, json_incref(d), b->locs, prefix, dl, dc);
        }
        json_decref(root);
    } else {
        if (++b->ndocs <= FBI_SPEC_MAX_DOCS)
            fbi_parsed_add(b->out, root, b->locs, "", line, col);
        else
            json_decref(root);
    }
    if (b->ndocs > FBI_SPEC_MAX_DOCS) {
        yaml_mark_t m;
        memset(&m, 0, sizeof m);
        m.line = (size_t)(line - 1);
        m.column = (size_t)(col - 1);
        yerr(b, &m, NULL, "more than 1000 documents in one file",
             "Split the file: a spec file holds at most 1000 documents.");
        b->fatal = 1;
    }
}

int fbi_spec_parse_yaml(const char *name, const char *data, size_t len,
                        fbi_parsed *out, fb_diag *diag)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        fb_diag_add(diag, FB_SEV_ERROR, name, 0, 0, NULL, "cannot initialise the YAML parser",
                    NULL);
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
    ybuild b;
    memset(&b, 0, sizeof b);
    b.name = name;
    b.diag = diag;
    b.out = out;
    fbi_buf_init(&b.ptr);
    fbi_buf_puts(&b.ptr, "");
    size_t first = out->n;
    int done = 0;
    while (!done && !b.fatal) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            const yaml_mark_t *m = &parser.problem_mark;
            char *summary = fbi_xasprintf("YAML syntax error: %s%s%s",
                                          parser.problem ? parser.problem : "malformed input",
                                          parser.context ? " " : "",
                                          parser.context ? parser.context : "");
            char *detail = NULL;
            if (parser.context)
                detail = fbi_xasprintf("The construct started at line %d, column %d.",
                                       (int)parser.context_mark.line + 1,
                                       (int)parser.context_mark.column + 1);
            yerr(&b, m, NULL, summary,
                 detail ? detail : "Fix the YAML syntax at this position (indentation and "
                                   "unclosed quotes or brackets are the usual causes).");
            free(summary);
            free(detail);
            b.fatal = 1;
            break;
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT: done = 1; break;
        case YAML_DOCUMENT_START_EVENT: doc_begin(&b, &ev); break;
        case YAML_DOCUMENT_END_EVENT: doc_end(&b); break;
        case YAML_MAPPING_START_EVENT: start_container(&b, &ev, 1); break;
        case YAML_SEQUENCE_START_EVENT: start_container(&b, &ev, 0); break;
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
            if (b.nst > 0) end_container(&b);
            break;
        case YAML_SCALAR_EVENT: handle_scalar(&b, &ev); break;
        case YAML_ALIAS_EVENT: handle_alias(&b, &ev); break;
        default: break;
        }
        yaml_event_delete(&ev);
    }
    while (b.nst > 0) {
        frame *f = &b.st[--b.nst];
        free(f->key);
        free(f->anchor);
        json_decref(f->node);
    }
    free(b.st);
    json_decref(b.root);
    fbi_locmap_unref(b.locs);
    json_decref(b.anchors);
    fbi_buf_free(&b.ptr);
    yaml_parser_delete(&parser);
    if (b.errors == 0 && out->n == first) {
        fb_diag_add(diag, FB_SEV_ERROR, name, 1, 1, NULL, "no documents in the file",
                    "A YAML spec file holds one or more documents separated by ---.");
        return -1;
    }
    if (b.errors) {
        /* Drop this file's documents: their values may be incomplete. */
        for (size_t i = first; i < out->n; i++) {
            json_decref(out->docs[i].value);
            fbi_locmap_unref(out->docs[i].locs);
            free(out->docs[i].prefix);
        }
        out->n = first;
        return -1;
    }
    return 0;
}
