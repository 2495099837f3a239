/* usage.c - the drivers' usage documents as the model prices them: each
 * read once into what pricing needs (quantities parsed, notes interned),
 * and an evaluate call's results split so that equal documents are read
 * once. A driver prices most regions of a service alike (GCP: 80 results
 * per Function, 2 or 3 distinct), so parsing the whole output into one
 * jansson tree was most of what plan spent on a distinct shape besides the
 * drivers' own work (bench/README-plan.md).
 *
 * The split reads only the outer `{"results": [ ... ]}` (whitespace
 * allowed) and the extent of each element; each distinct element is then
 * parsed by jansson, so the values are exactly json_loads'. Output of any
 * other form (other members, escapes in the key, deep nesting) goes
 * through json_loads of the whole text as before.
 *
 * Thread notes: the functions run on several threads at once, each on its
 * own candidates; they share only the model's memo (interned texts). */
#include "config.h"
#include "plan/plan_int.h"
#include "base/jsonspan.h"

#include <stdlib.h>

/* The elements of `{"results": [...]}` as spans of text: 0, or -1 when
 * text is not of that form. *at and *len: new arrays of *count. */
static int split_results(const char *text, size_t **at, size_t **len, size_t *count)
{
    size_t n = strlen(text), i = fbi_json_skip_ws(text, n, 0);
    static const char key[] = "\"results\"";
    *at = *len = NULL;
    *count = 0;
    if (i >= n || text[i] != '{') return -1;
    i = fbi_json_skip_ws(text, n, i + 1);
    if (n - i < sizeof key - 1 || memcmp(text + i, key, sizeof key - 1) != 0) return -1;
    i = fbi_json_skip_ws(text, n, i + sizeof key - 1);
    if (i >= n || text[i] != ':') return -1;
    i = fbi_json_skip_ws(text, n, i + 1);
    if (i >= n || text[i] != '[') return -1;
    i = fbi_json_skip_ws(text, n, i + 1);
    size_t cap = 0;
    if (i < n && text[i] == ']') {
        i++;
    } else {
        for (;;) {
            size_t end = fbi_json_skip_value(text, n, i);
            if (!end) goto bad;
            if (*count == cap) {
                cap = cap ? 2 * cap : 64;
                *at = fbi_xrealloc(*at, cap * sizeof **at);
                *len = fbi_xrealloc(*len, cap * sizeof **len);
            }
            (*at)[*count] = i;
            (*len)[(*count)++] = end - i;
            i = fbi_json_skip_ws(text, n, end);
            if (i < n && text[i] == ',') {
                i = fbi_json_skip_ws(text, n, i + 1);
                continue;
            }
            if (i < n && text[i] == ']') {
                i++;
                break;
            }
            goto bad;
        }
    }
    i = fbi_json_skip_ws(text, n, i);
    if (i >= n || text[i] != '}') goto bad;
    if (fbi_json_skip_ws(text, n, i + 1) != n) goto bad;
    return 0;
bad:
    free(*at);
    free(*len);
    *at = *len = NULL;
    *count = 0;
    return -1;
}

void fbi_plan_usage_clear(plan_usage *u)
{
    if (u->src && u->src->refs == 0) { /* no candidate kept it */
        free(u->src->lines);
        free(u->src);
    }
    for (size_t i = 0; i < u->nlines; i++) free(u->lines[i].err);
    free(u->lines);
    json_decref(u->doc);
    memset(u, 0, sizeof *u);
}

void fbi_plan_usage_read(const model *m, json_t *doc, plan_usage *u)
{
    memset(u, 0, sizeof *u);
    u->doc = doc;
    if (!json_is_object(doc)) return;
    u->notes = fbi_plan_intern_json(m, json_object_get(doc, "notes"));
    const char *vcpu = jstr(doc, "vcpu");
    char *err = NULL;
    if (vcpu && fbi_decimal_parse(vcpu, 6, &u->vcpu_micro, &err) != 0) {
        free(err);
        u->vcpu_micro = 0;
    }
    u->cold_ms = json_number_value(json_object_get(doc, "coldStartMs"));
    u->idle_s = json_number_value(json_object_get(doc, "idleTimeoutSeconds"));
    json_t *lines = json_object_get(doc, "lines");
    u->lines = fbi_xcalloc(json_array_size(lines) + 1, sizeof *u->lines);
    size_t i;
    json_t *line;
    json_array_foreach(lines, i, line) {
        usage_line *l = &u->lines[u->nlines++];
        l->provider = jstr(line, "provider");
        l->service = jstr(line, "service");
        l->metric = jstr(line, "metric");
        l->variant = jstr(line, "variant");
        l->unit = jstr(line, "unit");
        l->note = fbi_plan_intern(m, jstr(line, "note"));
        const char *qt = jstr(line, "quantity");
        l->bad = !qt || fbi_qty_parse(qt, &l->qty, &l->err) != 0;
    }
}

int fbi_plan_results_read(const model *m, const char *text, size_t k, plan_results *r)
{
    memset(r, 0, sizeof *r);
    size_t *at, *len, count;
    r->of = fbi_xcalloc(k ? k : 1, sizeof *r->of);
    if (split_results(text, &at, &len, &count) == 0) {
        if (count != k) {
            free(at);
            free(len);
            free(r->of);
            r->of = NULL;
            return -1;
        }
        size_t *first = fbi_xcalloc(k ? k : 1, sizeof *first); /* of each distinct one */
        r->docs = fbi_xcalloc(k ? k : 1, sizeof *r->docs);
        int ok = 1;
        for (size_t i = 0; i < k && ok; i++) {
            const char *s = text + at[i];
            size_t d;
            for (d = 0; d < r->ndocs; d++) {
                size_t j = first[d];
                if (len[j] == len[i] && !memcmp(text + at[j], s, len[i])) break;
            }
            if (d == r->ndocs) {
                json_t *v = json_loadb(s, len[i], JSON_DECODE_ANY, NULL);
                if (!v) {
                    ok = 0;
                    break;
                }
                first[r->ndocs] = i;
                fbi_plan_usage_read(m, v, &r->docs[r->ndocs++]);
            }
            r->of[i] = &r->docs[d];
        }
        free(first);
        free(at);
        free(len);
        if (!ok) {
            fbi_plan_results_free(r);
            memset(r, 0, sizeof *r);
            return -1;
        }
        return 0;
    }
    /* any other form: the whole text through jansson, as before */
    json_t *doc = json_loads(text, 0, NULL);
    json_t *results = json_object_get(doc, "results");
    if (!json_is_array(results) || json_array_size(results) != k) {
        json_decref(doc);
        free(r->of);
        r->of = NULL;
        return -1;
    }
    r->docs = fbi_xcalloc(k ? k : 1, sizeof *r->docs);
    for (size_t i = 0; i < k; i++) {
        fbi_plan_usage_read(m, json_incref(json_array_get(results, i)), &r->docs[i]);
        r->of[i] = &r->docs[i];
    }
    r->ndocs = k;
    json_decref(doc);
    return 0;
}

void fbi_plan_results_free(plan_results *r)
{
    for (size_t i = 0; i < r->ndocs; i++) fbi_plan_usage_clear(&r->docs[i]);
    free(r->docs);
    free(r->of);
}
