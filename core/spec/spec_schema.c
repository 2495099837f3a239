/* spec_schema.c - a validator for the subset of JSON Schema draft-07 that
 * schemas/workload.v1.schema.json uses. It is driven by the schema file
 * (embedded at build time), reports every error with a JSON pointer, what
 * was expected and what was found, and suggests the closest allowed name
 * for a misspelt property or enum value.
 *
 * Patterns are compiled with POSIX regcomp(REG_EXTENDED); the schema keeps
 * to the regular-expression features ECMA-262 and POSIX ERE share. */
#include "config.h"
#include "spec/spec.h"

#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rx_entry {
    const json_t *node; /* the schema object holding "pattern" (or a key of patternProperties) */
    const char *pattern;
    regex_t re;         /* valid once ready */
    int ready;          /* atomic: re compiled (first use; see add_regex) */
} rx_entry;

/* A schema object and the groups of keywords it has (keyword_groups). */
typedef struct kw_entry {
    const json_t *node;
    unsigned groups;
} kw_entry;

struct fbi_schema {
    json_t *root;
    rx_entry *rx;
    size_t nrx, caprx;
    pthread_mutex_t rx_lock; /* serialises the first-use compiles */
    kw_entry *kw;            /* every schema object's groups, sorted by node */
    size_t nkw, capkw;
};

static unsigned keyword_groups(const json_t *sch);

/* ------------------------------------------------------------------------ */
/* Loading: refuse what the validator would not understand, so the schema  */
/* can never say more than the C side checks.                               */

static const char *const annotation_kw[] = {
    "$schema", "$id", "$comment", "title", "description", "default",
    "examples", "x-explain", NULL,
};

static int is_annotation(const char *k)
{
    for (size_t i = 0; annotation_kw[i]; i++)
        if (strcmp(k, annotation_kw[i]) == 0) return 1;
    return 0;
}

static const char *const type_names[] = {
    "null", "boolean", "object", "array", "number", "string", "integer", NULL,
};

static int known_type(const char *t)
{
    for (size_t i = 0; type_names[i]; i++)
        if (strcmp(t, type_names[i]) == 0) return 1;
    return 0;
}

/* Resolves "#" or "#/definitions/NAME" (with ~0 ~1 escapes) in root. */
static const json_t *resolve_ref(const json_t *root, const char *ref)
{
    if (strcmp(ref, "#") == 0) return root;
    if (strncmp(ref, "#/", 2) != 0) return NULL;
    const json_t *cur = root;
    const char *p = ref + 1;
    char tok[256];
    while (*p == '/') {
        p++;
        size_t n = 0;
        while (*p && *p != '/') {
            char ch = *p++;
            if (ch == '~' && *p == '0') { ch = '~'; p++; }
            else if (ch == '~' && *p == '1') { ch = '/'; p++; }
            if (n + 1 >= sizeof tok) return NULL;
            tok[n++] = ch;
        }
        tok[n] = '\0';
        if (!json_is_object(cur)) return NULL;
        cur = json_object_get(cur, tok);
        if (!cur) return NULL;
    }
    return cur;
}

static int add_regex(fbi_schema *s, const json_t *node, const char *pattern,
                     const char *where, char **err)
{
    if (s->nrx == s->caprx) {
        s->caprx = s->caprx ? s->caprx * 2 : 32;
        s->rx = fbi_xrealloc(s->rx, s->caprx * sizeof *s->rx);
    }
    rx_entry *e = &s->rx[s->nrx];
    int rc = regcomp(&e->re, pattern, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char msg[256];
        regerror(rc, &e->re, msg, sizeof msg);
        regfree(&e->re);
        *err = fbi_xasprintf("%s: pattern %s does not compile as a POSIX "
                             "extended regular expression: %s", where, pattern, msg);
        return -1;
    }
    /* Compiled here only to refuse a bad pattern when the schema loads;
     * kept compiled only once a value is matched against it (find_rx).
     * Why: glibc expands a counted repetition into that many NFA nodes and
     * keeps every node's epsilon closure, so "[a-z0-9._-]{1,255}" and its
     * like in the config schema held 1 MB of heap for the whole process,
     * though most configs never give those strings. */
    regfree(&e->re);
    e->ready = 0;
    e->node = node;
    e->pattern = pattern;
    s->nrx++;
    return 0;
}

static int check_schema(fbi_schema *s, const json_t *node, fbi_buf *path,
                        char **err);

/* kw_entry order: by node address (a node checked twice, as a $ref target
 * reached from two places, has two equal entries; either is right) */
static int kw_cmp(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const kw_entry *)a)->node, y = (uintptr_t)((const kw_entry *)b)->node;
    return x < y ? -1 : x > y;
}

static int check_sub(fbi_schema *s, const json_t *node, fbi_buf *path,
                     const char *tok, char **err)
{
    size_t old = path->len;
    fbi_pointer_append(path, tok);
    int rc = check_schema(s, node, path, err);
    path->len = old;
    if (path->data) path->data[old] = '\0';
    return rc;
}

static int is_nonneg_int(const json_t *v)
{
    return json_is_integer(v) && json_integer_value(v) >= 0;
}

static int check_schema(fbi_schema *s, const json_t *node, fbi_buf *path,
                        char **err)
{
    const char *where = path->len ? path->data : "#";
    if (json_is_boolean(node)) return 0;
    if (!json_is_object(node)) {
        *err = fbi_xasprintf("%s: a schema must be an object or a boolean", where);
        return -1;
    }
    /* its keywords, found once here rather than at each validation */
    if (s->nkw == s->capkw) {
        s->capkw = s->capkw ? s->capkw * 2 : 64;
        s->kw = fbi_xrealloc(s->kw, s->capkw * sizeof *s->kw);
    }
    s->kw[s->nkw++] = (kw_entry){node, keyword_groups(node)};
    const json_t *ref = json_object_get(node, "$ref");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)node, k, v) {
        if (is_annotation(k)) {
            if (strcmp(k, "x-explain") == 0 &&
                (!json_is_string(v) || strcmp(json_string_value(v), "name") != 0)) {
                *err = fbi_xasprintf("%s: x-explain must be \"name\"", where);
                return -1;
            }
            continue;
        }
        if (ref && strcmp(k, "$ref") != 0) {
            *err = fbi_xasprintf("%s: keyword %s next to $ref is ignored by draft-07; "
                                 "move it into the referenced schema", where, k);
            return -1;
        }
        if (strcmp(k, "$ref") == 0) {
            if (!json_is_string(v) || !resolve_ref(s->root, json_string_value(v))) {
                *err = fbi_xasprintf("%s: $ref must be \"#\" or \"#/definitions/NAME\" "
                                     "naming an existing definition", where);
                return -1;
            }
        } else if (strcmp(k, "definitions") == 0 || strcmp(k, "properties") == 0 ||
                   strcmp(k, "patternProperties") == 0) {
            if (!json_is_object(v)) {
                *err = fbi_xasprintf("%s: %s must be an object", where, k);
                return -1;
            }
            const char *k2;
            json_t *v2;
            size_t old = path->len;
            fbi_pointer_append(path, k);
            json_object_foreach(v, k2, v2) {
                if (strcmp(k, "patternProperties") == 0 &&
                    add_regex(s, v2, k2, path->data, err) != 0) return -1;
                if (check_sub(s, v2, path, k2, err) != 0) return -1;
            }
            path->len = old;
            if (path->data) path->data[old] = '\0';
        } else if (strcmp(k, "additionalProperties") == 0 ||
                   strcmp(k, "propertyNames") == 0 || strcmp(k, "not") == 0 ||
                   strcmp(k, "if") == 0 || strcmp(k, "then") == 0 ||
                   strcmp(k, "else") == 0 || strcmp(k, "items") == 0) {
            if (json_is_array(v)) {
                *err = fbi_xasprintf("%s: %s as an array (tuple validation) is not "
                                     "supported", where, k);
                return -1;
            }
            if (check_sub(s, v, path, k, err) != 0) return -1;
        } else if (strcmp(k, "allOf") == 0 || strcmp(k, "anyOf") == 0 ||
                   strcmp(k, "oneOf") == 0) {
            if (!json_is_array(v) || json_array_size(v) == 0) {
                *err = fbi_xasprintf("%s: %s must be a non-empty array", where, k);
                return -1;
            }
            size_t old = path->len;
            fbi_pointer_append(path, k);
            size_t i;
            json_t *v2;
            json_array_foreach(v, i, v2) {
                char idx[32];
                snprintf(idx, sizeof idx, "%zu", i);
                if (check_sub(s, v2, path, idx, err) != 0) return -1;
            }
            path->len = old;
            if (path->data) path->data[old] = '\0';
        } else if (strcmp(k, "type") == 0) {
            if (json_is_string(v)) {
                if (!known_type(json_string_value(v))) goto bad_type;
            } else if (json_is_array(v) && json_array_size(v) > 0) {
                size_t i;
                json_t *t;
                json_array_foreach(v, i, t)
                    if (!json_is_string(t) || !known_type(json_string_value(t))) goto bad_type;
            } else {
            bad_type:
                *err = fbi_xasprintf("%s: type must be a type name or a list of them", where);
                return -1;
            }
        } else if (strcmp(k, "required") == 0) {
            size_t i;
            json_t *t;
            if (!json_is_array(v)) goto bad_required;
            json_array_foreach(v, i, t)
                if (!json_is_string(t)) goto bad_required;
            continue;
        bad_required:
            *err = fbi_xasprintf("%s: required must be a list of strings", where);
            return -1;
        } else if (strcmp(k, "enum") == 0) {
            if (!json_is_array(v) || json_array_size(v) == 0) {
                *err = fbi_xasprintf("%s: enum must be a non-empty array", where);
                return -1;
            }
        } else if (strcmp(k, "const") == 0) {
            /* any value */
        } else if (strcmp(k, "pattern") == 0) {
            if (!json_is_string(v)) {
                *err = fbi_xasprintf("%s: pattern must be a string", where);
                return -1;
            }
            if (add_regex(s, node, json_string_value(v), where, err) != 0) return -1;
        } else if (strcmp(k, "minimum") == 0 || strcmp(k, "maximum") == 0 ||
                   strcmp(k, "exclusiveMinimum") == 0 ||
                   strcmp(k, "exclusiveMaximum") == 0) {
            if (!json_is_number(v)) {
                *err = fbi_xasprintf("%s: %s must be a number", where, k);
                return -1;
            }
        } else if (strcmp(k, "minLength") == 0 || strcmp(k, "maxLength") == 0 ||
                   strcmp(k, "minItems") == 0 || strcmp(k, "maxItems") == 0 ||
                   strcmp(k, "minProperties") == 0 || strcmp(k, "maxProperties") == 0) {
            if (!is_nonneg_int(v)) {
                *err = fbi_xasprintf("%s: %s must be a non-negative integer", where, k);
                return -1;
            }
        } else if (strcmp(k, "uniqueItems") == 0) {
            if (!json_is_boolean(v)) {
                *err = fbi_xasprintf("%s: uniqueItems must be a boolean", where);
                return -1;
            }
            /* The check is quadratic: bound it. */
            const json_t *mx = json_object_get(node, "maxItems");
            if (json_is_true(v) && (!mx || !json_is_integer(mx) || json_integer_value(mx) > 1000)) {
                *err = fbi_xasprintf("%s: uniqueItems needs maxItems of at most 1000 next to it",
                                     where);
                return -1;
            }
        } else {
            *err = fbi_xasprintf("%s: keyword %s is not supported by the C validator; "
                                 "use the subset listed in core/spec_schema.c", where, k);
            return -1;
        }
    }
    return 0;
}

fbi_schema *fbi_schema_new(const char *text, char **err)
{
    json_error_t jerr;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        *err = fbi_xasprintf("schema: line %d column %d: %s", jerr.line, jerr.column,
                             jerr.text);
        return NULL;
    }
    fbi_schema *s = fbi_xcalloc(1, sizeof *s);
    s->root = root;
    pthread_mutex_init(&s->rx_lock, NULL);
    fbi_buf path;
    fbi_buf_init(&path);
    fbi_buf_puts(&path, "#");
    int rc = check_schema(s, root, &path, err);
    fbi_buf_free(&path);
    if (rc != 0) {
        fbi_schema_free(s);
        return NULL;
    }
    qsort(s->kw, s->nkw, sizeof *s->kw, kw_cmp);
    return s;
}

void fbi_schema_free(fbi_schema *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->nrx; i++)
        if (s->rx[i].ready) regfree(&s->rx[i].re);
    free(s->rx);
    free(s->kw);
    pthread_mutex_destroy(&s->rx_lock);
    json_decref(s->root);
    free(s);
}

/* The embedded schema, compiled once per process (threads may validate
 * concurrently: the compiled schema is read-only afterwards). */
extern const char fbi_spec_schema_data[];
static fbi_schema *embedded;
static char *embedded_err;
static pthread_once_t embedded_once = PTHREAD_ONCE_INIT;

static void load_embedded(void)
{
    embedded = fbi_schema_new(fbi_spec_schema_data, &embedded_err);
}

const fbi_schema *fbi_spec_schema(const char **err)
{
    pthread_once(&embedded_once, load_embedded);
    if (!embedded && err) *err = embedded_err;
    return embedded;
}

const char *fbi_spec_schema_text(void)
{
    return fbi_spec_schema_data;
}

void fbi_schema_errors_free(fbi_schema_errors *e)
{
    for (size_t i = 0; i < e->n; i++) {
        free(e->v[i].pointer);
        free(e->v[i].summary);
        free(e->v[i].detail);
    }
    free(e->v);
    e->v = NULL;
    e->n = e->cap = 0;
}

/* ------------------------------------------------------------------------ */
/* Validation                                                                */

typedef struct vctx {
    const fbi_schema *s;
    fbi_schema_errors *out; /* NULL: silent, only count */
    size_t nerr;
    fbi_buf ptr;
    int depth;
    const char *key_prefix; /* while checking property names */
    int no_ptr;             /* no message is ever kept: the pointer is not built */
    unsigned threads;       /* >1: the items of the first large array are checked on
                             * this many threads (silent validation only) */
} vctx;

static void add_err(vctx *c, char *summary, char *detail)
{
    c->nerr++;
    if (!c->out) {
        free(summary);
        free(detail);
        return;
    }
    fbi_schema_errors *e = c->out;
    if (e->n >= FBI_SCHEMA_MAX_ERRORS) { /* counted, not kept: a bound on memory */
        free(summary);
        free(detail);
        return;
    }
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 16;
        e->v = fbi_xrealloc(e->v, e->cap * sizeof *e->v);
    }
    fbi_schema_error *it = &e->v[e->n++];
    it->pointer = fbi_xstrdup(c->ptr.data ? c->ptr.data : "");
    if (c->key_prefix) {
        it->summary = fbi_xasprintf("%s%s", c->key_prefix, summary);
        free(summary);
    } else {
        it->summary = summary;
    }
    it->detail = detail;
}

/* When errors are only counted (silent evaluation, or the list is full),
 * counts one and returns 1 so the caller skips building the message. */
static int skip_err(vctx *c)
{
    if (c->out && c->out->n < FBI_SCHEMA_MAX_ERRORS) return 0;
    c->nerr++;
    return 1;
}

static const char *jtype(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "number";
    case JSON_TRUE: case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
    return "value";
}

/* A short rendering of a value for messages: strings quoted and cut after
 * 60 bytes (on a character boundary), containers by their size. */
static char *describe(const json_t *v, int with_type)
{
    if (json_is_object(v))
        return fbi_xasprintf("an object with %zu propert%s", json_object_size(v),
                             json_object_size(v) == 1 ? "y" : "ies");
    if (json_is_array(v))
        return fbi_xasprintf("an array of %zu item%s", json_array_size(v),
                             json_array_size(v) == 1 ? "" : "s");
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!s) s = fbi_xstrdup("?");
    size_t n = strlen(s);
    if (n > 60) {
        size_t cut = 60;
        while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80) cut--;
        char *t = fbi_xasprintf("%.*s...%s", (int)cut, s, json_is_string(v) ? "\"" : "");
        free(s);
        s = t;
    }
    if (with_type && !json_is_null(v)) {
        char *t = fbi_xasprintf("%s %s", jtype(v), s);
        free(s);
        return t;
    }
    return s;
}

static int is_integral(const json_t *v)
{
    if (json_is_integer(v)) return 1;
    if (!json_is_real(v)) return 0;
    double d = json_real_value(v);
    return isfinite(d) && floor(d) == d;
}

static int type_ok(const char *t, const json_t *v)
{
    if (strcmp(t, "null") == 0) return json_is_null(v);
    if (strcmp(t, "boolean") == 0) return json_is_boolean(v);
    if (strcmp(t, "object") == 0) return json_is_object(v);
    if (strcmp(t, "array") == 0) return json_is_array(v);
    if (strcmp(t, "number") == 0) return json_is_number(v);
    if (strcmp(t, "string") == 0) return json_is_string(v);
    if (strcmp(t, "integer") == 0) return is_integral(v);
    return 0;
}

/* JSON Schema equality: numbers by value (1 == 1.0), the rest structurally. */
static int jequal(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b)) {
        if (json_is_integer(a) && json_is_integer(b))
            return json_integer_value(a) == json_integer_value(b);
        return json_number_value(a) == json_number_value(b);
    }
    if (json_typeof(a) != json_typeof(b)) return 0;
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b)) return 0;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!jequal(json_array_get(a, i), json_array_get(b, i))) return 0;
        return 1;
    }
    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b)) return 0;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)a, k, v) {
            json_t *w = json_object_get(b, k);
            if (!w || !jequal(v, w)) return 0;
        }
        return 1;
    }
    return json_equal((json_t *)a, (json_t *)b);
}

static const char *sch_str(const json_t *sch, const char *k)
{
    return json_is_object(sch) ? json_string_value(json_object_get(sch, k)) : NULL;
}

static char *detail_of(const json_t *sch, const char *hint)
{
    const char *d = hint ? hint : sch_str(sch, "description");
    return d ? fbi_xstrdup(d) : NULL;
}

static size_t utf8_chars(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) c++;
    return c;
}

/* The compiled pattern, compiled on its first use. Thread-safe: the
 * schema is shared read-only by validating threads, and this is the one
 * thing they change in it (under rx_lock, published by the ready flag);
 * hence the cast from const. */
static const regex_t *find_rx(const fbi_schema *s, const json_t *node,
                              const char *pattern)
{
    for (size_t i = 0; i < s->nrx; i++)
        if (s->rx[i].node == node && strcmp(s->rx[i].pattern, pattern) == 0) {
            rx_entry *e = (rx_entry *)&s->rx[i];
            if (__atomic_load_n(&e->ready, __ATOMIC_ACQUIRE)) return &e->re;
            pthread_mutex_t *lock = (pthread_mutex_t *)&s->rx_lock;
            pthread_mutex_lock(lock);
            if (!e->ready) {
                /* It compiled when the schema loaded; failing now is the
                 * allocator's, which fbi_xmalloc treats the same way. */
                if (regcomp(&e->re, e->pattern, REG_EXTENDED | REG_NOSUB) != 0) {
                    fprintf(stderr, "fedbroker: out of memory compiling pattern %s\n",
                            e->pattern);
                    abort();
                }
                __atomic_store_n(&e->ready, 1, __ATOMIC_RELEASE);
            }
            pthread_mutex_unlock(lock);
            return &e->re;
        }
    return NULL;
}

/* The closest candidate to word within a few edits (or equal ignoring
 * case); NULL when nothing is close. */
static const char *closest(const char *word, const char *const *cand, size_t n)
{
    size_t len = strlen(word);
    int cap = len <= 4 ? 1 : len <= 8 ? 2 : 3;
    const char *best = NULL;
    int bestd = cap + 1;
    for (size_t i = 0; i < n; i++) {
        int d = strcasecmp(word, cand[i]) == 0 ? 0 : fbi_edit_distance(word, cand[i], cap);
        if (d < bestd) { bestd = d; best = cand[i]; }
    }
    return best;
}

/* The pointer only names an error in its message: a validation that keeps
 * no messages at all (fbi_schema_validate with out NULL, as spec.c's
 * parallel pre-check runs it) does not build it (14 % of its cost). */
static void ptr_push(vctx *c, const char *tok, size_t *old)
{
    *old = c->ptr.len;
    if (!c->no_ptr) fbi_pointer_append(&c->ptr, tok);
}

static void ptr_push_index(vctx *c, size_t i, size_t *old)
{
    *old = c->ptr.len;
    if (!c->no_ptr) fbi_spec_ptr_index(&c->ptr, i);
}

static void ptr_pop(vctx *c, size_t old)
{
    if (c->no_ptr) return;
    c->ptr.len = old;
    if (c->ptr.data) c->ptr.data[old] = '\0';
}

static void validate(vctx *c, const json_t *sch, const json_t *inst, const char *hint);

/* Runs sch on inst without reporting: the number of errors. */
static size_t count_errors(vctx *c, const json_t *sch, const json_t *inst)
{
    fbi_schema_errors *save = c->out;
    size_t before = c->nerr;
    c->out = NULL;
    validate(c, sch, inst, NULL);
    size_t n = c->nerr - before;
    c->nerr = before;
    c->out = save;
    return n;
}

static char *expected_text(const json_t *sch, const char *fallback)
{
    const char *t = sch_str(sch, "title");
    return fbi_xstrdup(t ? t : fallback);
}

static void check_type(vctx *c, const json_t *sch, const json_t *inst,
                       const json_t *type, const char *hint, int *stop)
{
    int ok = 0;
    size_t i;
    json_t *t;
    if (json_is_string(type)) ok = type_ok(json_string_value(type), inst);
    else json_array_foreach(type, i, t) if (type_ok(json_string_value(t), inst)) ok = 1;
    if (ok) return; /* the common case: no message text to build (every node of every spec) */
    fbi_buf want;
    fbi_buf_init(&want);
    if (json_is_string(type)) {
        fbi_buf_puts(&want, json_string_value(type));
    } else {
        json_array_foreach(type, i, t) {
            if (i) fbi_buf_puts(&want, i + 1 == json_array_size(type) ? " or " : ", ");
            fbi_buf_puts(&want, json_string_value(t));
        }
    }
    if (skip_err(c)) {
        *stop = 1;
    } else {
        char *exp = expected_text(sch, want.data);
        char *found = describe(inst, 1);
        char *detail = detail_of(sch, hint);
        if (json_is_number(inst) || json_is_boolean(inst)) {
            int wants_string = json_is_string(type) ? strcmp(json_string_value(type), "string") == 0
                                                    : 0;
            if (wants_string && !json_object_get(sch, "pattern")) {
                char *d2 = fbi_xasprintf("%s%sQuote the value to make it a string.",
                                         detail ? detail : "", detail ? " " : "");
                free(detail);
                detail = d2;
            }
        }
        add_err(c, fbi_xasprintf("expected %s, found %s", exp, found), detail);
        free(exp);
        free(found);
        *stop = 1;
    }
    fbi_buf_free(&want);
}

static void check_enum(vctx *c, const json_t *sch, const json_t *inst,
                       const json_t *en, const char *hint)
{
    size_t i;
    json_t *e;
    json_array_foreach(en, i, e)
        if (jequal(e, inst)) return;
    if (skip_err(c)) return;
    fbi_buf list;
    fbi_buf_init(&list);
    const char **cand = fbi_xcalloc(json_array_size(en) + 1, sizeof *cand);
    size_t nc = 0;
    json_array_foreach(en, i, e) {
        char *d = json_dumps(e, JSON_ENCODE_ANY | JSON_COMPACT);
        if (i) fbi_buf_puts(&list, ", ");
        fbi_buf_puts(&list, d ? d : "?");
        free(d);
        if (json_is_string(e)) cand[nc++] = json_string_value(e);
    }
    const char *sugg = json_is_string(inst) ? closest(json_string_value(inst), cand, nc) : NULL;
    char *found = describe(inst, 0);
    char *exp = json_array_size(en) == 1 ? fbi_xstrdup(list.data)
                                         : fbi_xasprintf("one of %s", list.data);
    const char *t = sch_str(sch, "title");
    char *summary;
    if (sugg)
        summary = fbi_xasprintf("expected %s, found %s (did you mean `%s`?)",
                                t ? t : exp, found, sugg);
    else
        summary = fbi_xasprintf("expected %s, found %s", t ? t : exp, found);
    char *d = detail_of(sch, hint);
    char *detail = fbi_xasprintf("%s%sAllowed: %s.", d ? d : "", d ? " " : "", list.data);
    add_err(c, summary, detail);
    free(d);
    free(exp);
    free(found);
    free(cand);
    fbi_buf_free(&list);
}

static void check_string(vctx *c, const json_t *sch, const json_t *inst, const char *hint)
{
    const char *s = json_string_value(inst);
    size_t bytes = json_string_length(inst);
    size_t chars = utf8_chars(s, bytes);
    const json_t *minl = json_object_get(sch, "minLength");
    const json_t *maxl = json_object_get(sch, "maxLength");
    const json_t *pat = json_object_get(sch, "pattern");
    char *summary = NULL;
    char *found = NULL;
    if (maxl && (json_int_t)chars > json_integer_value(maxl)) {
        summary = fbi_xasprintf("expected at most %lld characters, found %zu",
                                (long long)json_integer_value(maxl), chars);
    } else if (minl && (json_int_t)chars < json_integer_value(minl)) {
        found = describe(inst, 0);
        summary = fbi_xasprintf("expected at least %lld character%s, found %s",
                                (long long)json_integer_value(minl),
                                json_integer_value(minl) == 1 ? "" : "s", found);
    } else if (pat) {
        const regex_t *re = find_rx(c->s, sch, json_string_value(pat));
        if (re && regexec(re, s, 0, NULL, 0) != 0) {
            found = describe(inst, 0);
            const char *t = sch_str(sch, "title");
            if (t)
                summary = fbi_xasprintf("expected %s, found %s", t, found);
            else
                summary = fbi_xasprintf("expected a string matching %s, found %s",
                                        json_string_value(pat), found);
        }
    }
    if (!summary) return;
    if (skip_err(c)) {
        free(summary);
        free(found);
        return;
    }
    char *detail = NULL;
    const char *ex = sch_str(sch, "x-explain");
    if (ex && strcmp(ex, "name") == 0) detail = fbi_spec_explain_name(s);
    if (!detail) {
        char *d = detail_of(sch, hint);
        if (pat)
            detail = fbi_xasprintf("%s%s(pattern %s)", d ? d : "", d ? " " : "",
                                   json_string_value(pat));
        else
            detail = d, d = NULL;
        free(d);
    }
    add_err(c, summary, detail);
    free(found);
}

static void check_number(vctx *c, const json_t *sch, const json_t *inst, const char *hint)
{
    static const char *const kws[] = {"minimum", "maximum", "exclusiveMinimum",
                                      "exclusiveMaximum"};
    static const char *const ops[] = {">=", "<=", ">", "<"};
    double x = json_number_value(inst);
    for (int i = 0; i < 4; i++) {
        const json_t *lim = json_object_get(sch, kws[i]);
        if (!lim) continue;
        int bad;
        if (json_is_integer(inst) && json_is_integer(lim)) {
            json_int_t a = json_integer_value(inst), b = json_integer_value(lim);
            bad = i == 0 ? a < b : i == 1 ? a > b : i == 2 ? a <= b : a >= b;
        } else {
            double b = json_number_value(lim);
            bad = i == 0 ? x < b : i == 1 ? x > b : i == 2 ? x <= b : x >= b;
        }
        if (!bad) continue;
        if (skip_err(c)) return;
        char *found = describe(inst, 0);
        char *limtxt = json_dumps(lim, JSON_ENCODE_ANY | JSON_COMPACT);
        const char *t = sch_str(sch, "title");
        char *summary = t ? fbi_xasprintf("expected %s, found %s", t, found)
                          : fbi_xasprintf("expected a number %s %s, found %s", ops[i],
                                          limtxt ? limtxt : "?", found);
        char *d = detail_of(sch, hint);
        char *detail = fbi_xasprintf("%s%s(%s %s)", d ? d : "", d ? " " : "", kws[i],
                                     limtxt ? limtxt : "?");
        add_err(c, summary, detail);
        free(d);
        free(found);
        free(limtxt);
        return; /* one range error per value is enough */
    }
}

static void check_object(vctx *c, const json_t *sch, const json_t *inst, const char *hint)
{
    const json_t *props = json_object_get(sch, "properties");
    const json_t *pp = json_object_get(sch, "patternProperties");
    const json_t *addl = json_object_get(sch, "additionalProperties");
    const json_t *req = json_object_get(sch, "required");
    const json_t *pn = json_object_get(sch, "propertyNames");
    size_t i, old;
    json_t *r;
    json_array_foreach(req, i, r) {
        const char *name = json_string_value(r);
        if (json_object_get(inst, name) || skip_err(c)) continue;
        const json_t *psch = json_object_get(props, name);
        const char *pd = NULL;
        if (psch) {
            pd = sch_str(psch, "description");
            const char *ref = sch_str(psch, "$ref");
            if (!pd && ref) pd = sch_str(resolve_ref(c->s->root, ref), "description");
        }
        char *detail;
        if (!psch && sch_str(sch, "description"))
            detail = fbi_xstrdup(sch_str(sch, "description"));
        else if (pd)
            detail = fbi_xstrdup(pd);
        else
            detail = detail_of(sch, hint);
        add_err(c, fbi_xasprintf("missing required property `%s`", name), detail);
    }
    const json_t *minp = json_object_get(sch, "minProperties");
    const json_t *maxp = json_object_get(sch, "maxProperties");
    size_t n = json_object_size(inst);
    if (((minp && (json_int_t)n < json_integer_value(minp)) ||
         (maxp && (json_int_t)n > json_integer_value(maxp))) && !skip_err(c)) {
        const char *t = sch_str(sch, "title");
        int low = minp && (json_int_t)n < json_integer_value(minp);
        char *lim = fbi_xasprintf("%s %lld propert%s", low ? "at least" : "at most",
                                  (long long)json_integer_value(low ? minp : maxp),
                                  json_integer_value(low ? minp : maxp) == 1 ? "y" : "ies");
        char *summary = t ? fbi_xasprintf("expected %s (%s), found %zu", t, lim, n)
                          : fbi_xasprintf("expected %s, found %zu", lim, n);
        add_err(c, summary, detail_of(sch, hint));
        free(lim);
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)inst, k, v) {
        ptr_push(c, k, &old);
        if (pn) {
            json_t *ks = json_string(k);
            if (ks && count_errors(c, pn, ks) > 0) {
                const char *save = c->key_prefix;
                char *shown = fbi_printable(k, 0, 60); /* keys are quoted like values */
                char *pre = fbi_xasprintf("property name `%s`: ", shown);
                free(shown);
                c->key_prefix = pre;
                validate(c, pn, ks, NULL);
                c->key_prefix = save;
                free(pre);
            }
            json_decref(ks);
        }
        int known = 0;
        const json_t *psch = json_object_get(props, k);
        if (psch) {
            known = 1;
            validate(c, psch, v, NULL);
        }
        if (json_is_object(pp)) {
            const char *pk;
            json_t *pv;
            json_object_foreach((json_t *)pp, pk, pv) {
                const regex_t *re = find_rx(c->s, pv, pk);
                if (re && regexec(re, k, 0, NULL, 0) == 0) {
                    known = 1;
                    validate(c, pv, v, NULL);
                }
            }
        }
        if (!known && addl) {
            if (json_is_false(addl) && skip_err(c)) {
                /* counted */
            } else if (json_is_false(addl)) {
                size_t np = json_object_size(props);
                const char **cand = fbi_xcalloc(np + 1, sizeof *cand);
                size_t nc = 0;
                fbi_buf allowed;
                fbi_buf_init(&allowed);
                const char *pk;
                json_t *pv;
                json_object_foreach((json_t *)props, pk, pv) {
                    cand[nc++] = pk;
                    if (allowed.len) fbi_buf_puts(&allowed, ", ");
                    fbi_buf_puts(&allowed, pk);
                }
                const char *sugg = closest(k, cand, nc);
                char *shown = fbi_printable(k, 0, 60); /* keys are quoted like values */
                char *summary = sugg
                    ? fbi_xasprintf("unknown property `%s` (did you mean `%s`?)", shown, sugg)
                    : fbi_xasprintf("unknown property `%s`", shown);
                free(shown);
                char *detail;
                if (strcmp(k, "<<") == 0)
                    detail = fbi_xstrdup("YAML merge keys (<<) are not part of YAML 1.2 and "
                                         "are not supported; repeat the fields instead.");
                else if (nc)
                    detail = fbi_xasprintf("Allowed here: %s.", allowed.data);
                else
                    detail = fbi_xstrdup("No properties are allowed here.");
                add_err(c, summary, detail);
                fbi_buf_free(&allowed);
                free(cand);
            } else {
                validate(c, addl, v, NULL);
            }
        }
        ptr_pop(c, old);
    }
}

/* An array with at least this many items is checked on several threads
 * (fbi_schema_count_parallel): fewer cost more to start than they save. */
#define PAR_ITEMS_MIN 32
#define PAR_ITEMS_MAX_THREADS 8

typedef struct par_items {
    const vctx *parent;
    const json_t *items, *inst;
    size_t n;
    size_t next; /* atomic: the next item to check */
    size_t nerr; /* atomic: the errors found */
} par_items;

static void *par_items_run(void *arg)
{
    par_items *p = arg;
    vctx c;
    memset(&c, 0, sizeof c);
    c.s = p->parent->s;
    c.depth = p->parent->depth;
    c.key_prefix = p->parent->key_prefix;
    c.no_ptr = 1; /* silent: no message, no pointer */
    fbi_buf_init(&c.ptr);
    for (;;) {
        size_t i = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);
        if (i >= p->n) break;
        validate(&c, p->items, json_array_get(p->inst, i), NULL);
    }
    fbi_buf_free(&c.ptr);
    __atomic_fetch_add(&p->nerr, c.nerr, __ATOMIC_RELAXED);
    return NULL;
}

/* The items of inst checked against items on c->threads threads (the
 * caller's included; fewer when a thread cannot start), each with its own
 * silent context: the count is the serial one (every error counts once,
 * whatever the order). Arrays within the items are checked serially by
 * the thread that checks their item. */
static void check_items_parallel(vctx *c, const json_t *items, const json_t *inst, size_t n)
{
    par_items p = {c, items, inst, n, 0, 0};
    pthread_t th[PAR_ITEMS_MAX_THREADS];
    size_t extra = c->threads > PAR_ITEMS_MAX_THREADS ? PAR_ITEMS_MAX_THREADS - 1 : c->threads - 1;
    size_t started = 0;
    while (started < extra && pthread_create(&th[started], NULL, par_items_run, &p) == 0) started++;
    par_items_run(&p);
    for (size_t i = 0; i < started; i++) pthread_join(th[i], NULL);
    c->nerr += p.nerr;
}

static void check_array(vctx *c, const json_t *sch, const json_t *inst, const char *hint)
{
    const json_t *items = json_object_get(sch, "items");
    size_t i, old;
    json_t *v;
    size_t n = json_array_size(inst);
    const json_t *mini = json_object_get(sch, "minItems");
    const json_t *maxi = json_object_get(sch, "maxItems");
    if (((mini && (json_int_t)n < json_integer_value(mini)) ||
         (maxi && (json_int_t)n > json_integer_value(maxi))) && !skip_err(c)) {
        int low = mini && (json_int_t)n < json_integer_value(mini);
        json_int_t lim = json_integer_value(low ? mini : maxi);
        add_err(c, fbi_xasprintf("expected %s %lld item%s, found %zu",
                                 low ? "at least" : "at most", (long long)lim,
                                 lim == 1 ? "" : "s", n),
                detail_of(sch, hint));
    }
    if (items && c->threads > 1 && !c->out && c->no_ptr && n >= PAR_ITEMS_MIN) {
        check_items_parallel(c, items, inst, n);
    } else if (items) {
        json_array_foreach(inst, i, v) {
            ptr_push_index(c, i, &old);
            validate(c, items, v, NULL);
            ptr_pop(c, old);
        }
    }
    if (json_is_true(json_object_get(sch, "uniqueItems")) &&
        (!maxi || (json_int_t)n <= json_integer_value(maxi))) {
        for (size_t a = 0; a < n; a++) {
            for (size_t b = 0; b < a; b++) {
                if (!jequal(json_array_get(inst, a), json_array_get(inst, b))) continue;
                if (skip_err(c)) break;
                char *found = describe(json_array_get(inst, a), 0);
                ptr_push_index(c, a, &old);
                add_err(c, fbi_xasprintf("expected unique items, found %s again "
                                         "(first at index %zu)", found, b),
                        detail_of(sch, hint));
                ptr_pop(c, old);
                free(found);
                break;
            }
        }
    }
}

static void check_combinators(vctx *c, const json_t *sch, const json_t *inst,
                              const char *hint)
{
    const json_t *all = json_object_get(sch, "allOf");
    size_t i;
    json_t *sub;
    json_array_foreach(all, i, sub) validate(c, sub, inst, NULL);

    const json_t *lists[2] = {json_object_get(sch, "anyOf"), json_object_get(sch, "oneOf")};
    for (int which = 0; which < 2; which++) {
        const json_t *l = lists[which];
        if (!l) continue;
        size_t matched = 0, best = (size_t)-1, besti = 0;
        json_array_foreach(l, i, sub) {
            size_t ne = count_errors(c, sub, inst);
            if (ne == 0) matched++;
            if (ne < best) { best = ne; besti = i; }
        }
        int bad = which == 0 ? matched == 0 : matched != 1;
        if (!bad || skip_err(c)) continue;
        char *found = describe(inst, 0);
        const char *t = sch_str(sch, "title");
        if (matched > 1) {
            add_err(c, fbi_xasprintf("expected exactly one of %zu forms%s%s, found %s matching %zu",
                                     json_array_size(l), t ? ": " : "", t ? t : "", found, matched),
                    detail_of(sch, hint));
        } else {
            /* Report why the closest alternative failed, as the detail. */
            fbi_schema_errors tmp = {0};
            fbi_schema_errors *save = c->out;
            size_t before = c->nerr;
            c->out = &tmp;
            validate(c, json_array_get(l, besti), inst, NULL);
            c->out = save;
            c->nerr = before;
            char *detail = tmp.n ? fbi_xasprintf("closest form: %s: %s",
                                                 tmp.v[0].pointer[0] ? tmp.v[0].pointer : "(here)",
                                                 tmp.v[0].summary)
                                 : detail_of(sch, hint);
            fbi_schema_errors_free(&tmp);
            add_err(c, fbi_xasprintf("expected %s, found %s", t ? t : "one of the allowed forms",
                                     found), detail);
        }
        free(found);
    }

    const json_t *not = json_object_get(sch, "not");
    if (not && count_errors(c, not, inst) == 0 && !skip_err(c)) {
        const char *t = sch_str(not, "title");
        add_err(c, fbi_xasprintf("not allowed: %s", t ? t : "the value matches a forbidden form"),
                detail_of(sch, hint));
    }

    const json_t *cond = json_object_get(sch, "if");
    if (cond) {
        const json_t *branch = count_errors(c, cond, inst) == 0
                                   ? json_object_get(sch, "then")
                                   : json_object_get(sch, "else");
        if (branch) validate(c, branch, inst, NULL);
    }
}

/* Which groups of keywords a schema node has (one pass over its few keys),
 * so validate skips the checks that would look each of theirs up and
 * find nothing: the lookups were half of the schema's CPU in a bench
 * apply (bench/README-aws.md). A check whose bit is clear does nothing
 * for any instance. */
enum {
    KW_REF = 1u << 0, KW_TYPE = 1u << 1, KW_ENUM = 1u << 2, KW_CONST = 1u << 3,
    KW_STRING = 1u << 4, KW_NUMBER = 1u << 5, KW_OBJECT = 1u << 6, KW_ARRAY = 1u << 7,
    KW_COMB = 1u << 8,
};

static unsigned keyword_groups(const json_t *sch)
{
    static const struct {
        const char *name;
        unsigned bit;
    } kw[] = {
        {"$ref", KW_REF}, {"type", KW_TYPE}, {"enum", KW_ENUM}, {"const", KW_CONST},
        {"minLength", KW_STRING}, {"maxLength", KW_STRING}, {"pattern", KW_STRING},
        {"minimum", KW_NUMBER}, {"maximum", KW_NUMBER}, {"exclusiveMinimum", KW_NUMBER},
        {"exclusiveMaximum", KW_NUMBER}, {"properties", KW_OBJECT},
        {"patternProperties", KW_OBJECT}, {"additionalProperties", KW_OBJECT},
        {"required", KW_OBJECT}, {"propertyNames", KW_OBJECT}, {"minProperties", KW_OBJECT},
        {"maxProperties", KW_OBJECT}, {"items", KW_ARRAY}, {"minItems", KW_ARRAY},
        {"maxItems", KW_ARRAY}, {"uniqueItems", KW_ARRAY}, {"allOf", KW_COMB},
        {"anyOf", KW_COMB}, {"oneOf", KW_COMB}, {"not", KW_COMB}, {"if", KW_COMB},
    };
    unsigned m = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)sch, k, v) {
        for (size_t i = 0; i < sizeof kw / sizeof *kw; i++) {
            if (k[0] == kw[i].name[0] && !strcmp(k, kw[i].name)) {
                m |= kw[i].bit;
                break;
            }
        }
    }
    return m;
}

static void validate(vctx *c, const json_t *sch, const json_t *inst, const char *hint)
{
    if (json_is_true(sch)) return;
    if (json_is_false(sch)) {
        if (skip_err(c)) return;
        char *found = describe(inst, 0);
        add_err(c, fbi_xasprintf("no value is allowed here, found %s", found), NULL);
        free(found);
        return;
    }
    if (c->depth > 200) {
        add_err(c, fbi_xstrdup("schema recursion too deep"), NULL);
        return;
    }
    c->depth++;
    const kw_entry key = {sch, 0};
    const kw_entry *known = bsearch(&key, c->s->kw, c->s->nkw, sizeof key, kw_cmp);
    unsigned kw = known ? known->groups : keyword_groups(sch);
    const char *ref = kw & KW_REF ? sch_str(sch, "$ref") : NULL;
    if (ref) {
        const json_t *target = resolve_ref(c->s->root, ref);
        const char *d = sch_str(sch, "description");
        if (target) validate(c, target, inst, d ? d : hint);
        c->depth--;
        return;
    }
    int stop = 0;
    const json_t *type = kw & KW_TYPE ? json_object_get(sch, "type") : NULL;
    if (type) check_type(c, sch, inst, type, hint, &stop);
    if (!stop) {
        const json_t *en = kw & KW_ENUM ? json_object_get(sch, "enum") : NULL;
        if (en) check_enum(c, sch, inst, en, hint);
        const json_t *cst = kw & KW_CONST ? json_object_get(sch, "const") : NULL;
        if (cst && !jequal(cst, inst) && !skip_err(c)) {
            char *found = describe(inst, 0);
            char *want = json_dumps(cst, JSON_ENCODE_ANY | JSON_COMPACT);
            const char *t = sch_str(sch, "title");
            add_err(c, fbi_xasprintf("expected %s, found %s", t ? t : (want ? want : "?"), found),
                    detail_of(sch, hint));
            free(found);
            free(want);
        }
        if ((kw & KW_STRING) && json_is_string(inst)) check_string(c, sch, inst, hint);
        if ((kw & KW_NUMBER) && json_is_number(inst)) check_number(c, sch, inst, hint);
        if ((kw & KW_OBJECT) && json_is_object(inst)) check_object(c, sch, inst, hint);
        if ((kw & KW_ARRAY) && json_is_array(inst)) check_array(c, sch, inst, hint);
        if (kw & KW_COMB) check_combinators(c, sch, inst, hint);
    }
    c->depth--;
}

static size_t validate_top(const fbi_schema *s, const char *ref, const json_t *inst,
                           fbi_schema_errors *out, unsigned threads)
{
    const json_t *sch = resolve_ref(s->root, ref ? ref : "#");
    vctx c;
    memset(&c, 0, sizeof c);
    c.s = s;
    c.out = out;
    c.no_ptr = out == NULL;
    c.threads = out ? 1 : threads;
    fbi_buf_init(&c.ptr);
    fbi_buf_puts(&c.ptr, "");
    if (!sch) {
        add_err(&c, fbi_xasprintf("schema reference %s not found", ref), NULL);
    } else {
        validate(&c, sch, inst, NULL);
    }
    fbi_buf_free(&c.ptr);
    return c.nerr;
}

size_t fbi_schema_validate(const fbi_schema *s, const char *ref,
                           const json_t *inst, fbi_schema_errors *out)
{
    return validate_top(s, ref, inst, out, 1);
}

size_t fbi_schema_count_parallel(const fbi_schema *s, const char *ref, const json_t *inst,
                                 unsigned threads)
{
    return validate_top(s, ref, inst, NULL, threads ? threads : 1);
}
