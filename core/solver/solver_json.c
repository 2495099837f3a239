/* solver_json.c - strict loader for fedbroker-placement-instance/1 (see
 * /docs/solver.md). Every error names the JSON pointer of what is wrong;
 * unknown keys are ignored, as the format says. */
#include "config.h"
#include "solver/solver_impl.h"
#include "base/util.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FORMAT_ID "fedbroker-placement-instance/1"

typedef struct ld {
    fb_diag *diag;
    const char *file;
    int errors;
} ld;

static void err_at(ld *L, const char *ptr, const char *detail, const char *fmt, ...) FBI_PRINTF(4, 5);
/* Records one error at a JSON pointer. */
static void err_at(ld *L, const char *ptr, const char *detail, const char *fmt, ...)
{
    fbi_buf b;
    fbi_buf_init(&b);
    va_list ap;
    va_start(ap, fmt);
    fbi_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    fb_diag_add(L->diag, FB_SEV_ERROR, L->file, 0, 0, ptr, b.data, detail);
    fbi_buf_free(&b);
    L->errors++;
}

/* The decimal text of a JSON number or string, exactly as written when the
 * number has at most 15 significant digits (new, or NULL with *why). */
static char *number_text(const json_t *v, char **why)
{
    if (json_is_string(v)) return fbi_xstrdup(json_string_value(v));
    if (json_is_integer(v)) return fbi_xasprintf("%lld", (long long)json_integer_value(v));
    if (json_is_real(v)) {
        double d = json_real_value(v);
        char buf[64];
        /* %.15g of a double read from a decimal of at most DBL_DIG (15)
         * significant digits is that decimal (trailing zeros dropped); if it
         * does not read back, the text had more digits than a double keeps. */
        snprintf(buf, sizeof buf, "%.*g", DBL_DIG, d);
        if (strtod(buf, NULL) != d) {
            snprintf(buf, sizeof buf, "%.17g", d);
            *why = fbi_xasprintf("%s has more than %d significant digits and cannot be read "
                                 "exactly; write it as a decimal string", buf, DBL_DIG);
            return NULL;
        }
        return fbi_xstrdup(buf);
    }
    *why = fbi_xstrdup("expected a number (or a decimal string)");
    return NULL;
}

/* The fast path of get_decimal, for the numbers that make up most of a
 * large instance (costs, egress prices): a JSON integer, or a JSON real
 * that is n / 10^scale for an integer 0 <= n < 10^15. Returns 1 with *out
 * = n when it gives exactly what number_text and fbi_decimal_parse would
 * give, 0 when the slow path must decide (strings, negatives, more digits,
 * errors). Why it is exact: n < 10^15 has at most DBL_DIG (15) significant
 * digits, so the double nearest to n / 10^scale prints back as that decimal
 * with %.15g; n and 10^scale are exact doubles and IEEE division rounds to
 * nearest, so (double)n / 10^scale is that nearest double, and comparing it
 * with the parsed value checks that the text was that decimal. Skipping the
 * text round trip (snprintf, strtod, two allocations) was most of the
 * loader's time on the 1000x500 benchmark files. */
static int fast_decimal(const json_t *v, int scale, int64_t *out)
{
    static const double pow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
    if (scale < 0 || scale > 9) return 0;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        int64_t m = 1;
        for (int k = 0; k < scale; k++) m *= 10;
        if (i < 0 || i > INT64_MAX / m) return 0;
        *out = (int64_t)i * m;
        return 1;
    }
    if (!json_is_real(v)) return 0;
    double d = json_real_value(v);
    if (!(d >= 0) || signbit(d)) return 0;
    double scaled = d * pow10[scale];
    if (!(scaled < 1e15)) return 0;
    int64_t n = (int64_t)llround(scaled);
    if ((double)n / pow10[scale] != d) return 0;
    *out = n;
    return 1;
}

/* Reads a non-negative decimal at ptr into value x 10^scale. */
static int get_decimal(ld *L, const json_t *v, const char *ptr, int scale, const char *what,
                       int64_t *out)
{
    if (fast_decimal(v, scale, out)) return 0;
    char *why = NULL;
    char *txt = number_text(v, &why);
    if (!txt) {
        err_at(L, ptr, "give a non-negative decimal number", "%s: %s", what, why);
        free(why);
        return -1;
    }
    int rc = fbi_decimal_parse(txt, scale, out, &why);
    if (rc != 0) {
        err_at(L, ptr, NULL, "%s: %s", what, why);
        free(why);
    } else if (*out < 0) {
        err_at(L, ptr, "costs, prices, capacities, demands and volumes cannot be negative",
               "%s is negative (%s)", what, txt);
        rc = -1;
    }
    free(txt);
    return rc;
}

/* An integer id in [0, n) at ptr. */
static int get_index(ld *L, const json_t *v, const char *ptr, size_t n, const char *what, int *out)
{
    if (!json_is_integer(v)) {
        err_at(L, ptr, NULL, "%s must be an integer", what);
        return -1;
    }
    json_int_t i = json_integer_value(v);
    if (i < 0 || (size_t)i >= n) {
        err_at(L, ptr, NULL, "%s %lld does not exist (there are %zu)", what, (long long)i, n);
        return -1;
    }
    *out = (int)i;
    return 0;
}

static const json_t *need(ld *L, const json_t *obj, const char *key, const char *ptr,
                          int (*is)(const json_t *), const char *type)
{
    const json_t *v = json_object_get(obj, key);
    char *p = fbi_xasprintf("%s/%s", ptr, key);
    if (!v) err_at(L, p, NULL, "missing required key '%s'", key);
    else if (is && !is(v)) { err_at(L, p, NULL, "'%s' must be %s", key, type); v = NULL; }
    free(p);
    return v;
}

static int is_array(const json_t *v) { return json_is_array(v); }
static int is_object(const json_t *v) { return json_is_object(v); }
static int is_string(const json_t *v) { return json_is_string(v); }

/* Checks "id" equals the index, as the format requires. */
static void check_id(ld *L, const json_t *o, const char *ptr, size_t i)
{
    const json_t *id = json_object_get(o, "id");
    char *p = fbi_xasprintf("%s/id", ptr);
    if (!id) err_at(L, p, NULL, "missing required key 'id'");
    else if (!json_is_integer(id) || json_integer_value(id) != (json_int_t)i)
        err_at(L, p, "ids are the array index", "id must be %zu", i);
    free(p);
}

static int *int_list(ld *L, const json_t *arr, const char *ptr, size_t n, const char *what, size_t *len)
{
    size_t k = json_array_size(arr);
    int *out = fbi_xmalloc((k ? k : 1) * sizeof(int));
    for (size_t i = 0; i < k; i++) {
        char *p = fbi_xasprintf("%s/%zu", ptr, i);
        if (get_index(L, json_array_get(arr, i), p, n, what, &out[i]) != 0) out[i] = 0;
        free(p);
    }
    *len = k;
    return out;
}

static void load_extensions(ld *L, fbi_problem *p, const json_t *root)
{
    const json_t *a = json_object_get(root, "capacity_groups");
    if (a && !json_is_array(a)) err_at(L, "/capacity_groups", NULL, "'capacity_groups' must be an array");
    for (size_t i = 0; a && json_is_array(a) && i < json_array_size(a); i++) {
        const json_t *g = json_array_get(a, i);
        char *ptr = fbi_xasprintf("/capacity_groups/%zu", i);
        if (!json_is_object(g)) { err_at(L, ptr, NULL, "a capacity group must be an object"); free(ptr); continue; }
        const json_t *offers = need(L, g, "offers", ptr, is_array, "an array of offer ids");
        const json_t *name = json_object_get(g, "name");
        const json_t *meas = json_object_get(g, "measure");
        fbi_measure m = FBI_MEASURE_VCPU;
        if (meas && json_is_string(meas) && strcmp(json_string_value(meas), "count") == 0)
            m = FBI_MEASURE_COUNT;
        else if (meas && !(json_is_string(meas) && strcmp(json_string_value(meas), "vcpu") == 0)) {
            char *pp = fbi_xasprintf("%s/measure", ptr);
            err_at(L, pp, NULL, "measure must be \"vcpu\" or \"count\"");
            free(pp);
        }
        const json_t *cap = need(L, g, "capacity", ptr, NULL, NULL);
        int64_t capv = 0;
        int ok = 1;
        if (cap) {
            char *pp = fbi_xasprintf("%s/capacity", ptr);
            ok = get_decimal(L, cap, pp, m == FBI_MEASURE_COUNT ? 0 : 6, "capacity", &capv) == 0;
            free(pp);
        }
        if (offers && cap && ok) {
            char *pp = fbi_xasprintf("%s/offers", ptr);
            size_t n;
            int e0 = L->errors;
            int *ids = int_list(L, offers, pp, p->noff, "offer", &n);
            char *err = NULL;
            if (L->errors == e0 &&
                fbi_problem_add_group(p, name && json_is_string(name) ? json_string_value(name) : NULL,
                                      m, capv, ids, n, &err) < 0) {
                err_at(L, ptr, NULL, "%s", err);
                free(err);
            }
            free(ids);
            free(pp);
        }
        free(ptr);
    }
    a = json_object_get(root, "budgets");
    if (a && !json_is_array(a)) err_at(L, "/budgets", NULL, "'budgets' must be an array");
    for (size_t i = 0; a && json_is_array(a) && i < json_array_size(a); i++) {
        const json_t *b = json_array_get(a, i);
        char *ptr = fbi_xasprintf("/budgets/%zu", i);
        if (!json_is_object(b)) { err_at(L, ptr, NULL, "a budget must be an object"); free(ptr); continue; }
        const json_t *ws = need(L, b, "workloads", ptr, is_array, "an array of workload ids");
        const json_t *usd = need(L, b, "budget_usd", ptr, NULL, NULL);
        const json_t *name = json_object_get(b, "name");
        int64_t v = 0;
        int ok = 0;
        if (usd) {
            char *pp = fbi_xasprintf("%s/budget_usd", ptr);
            ok = get_decimal(L, usd, pp, 9, "budget", &v) == 0;
            free(pp);
        }
        if (ws && ok) {
            char *pp = fbi_xasprintf("%s/workloads", ptr);
            size_t n;
            int e0 = L->errors;
            int *ids = int_list(L, ws, pp, p->nwl, "workload", &n);
            char *err = NULL;
            if (L->errors == e0 &&
                fbi_problem_add_budget(p, name && json_is_string(name) ? json_string_value(name) : NULL,
                                       v, ids, n, &err) < 0) {
                err_at(L, ptr, NULL, "%s", err);
                free(err);
            }
            free(ids);
            free(pp);
        }
        free(ptr);
    }
    a = json_object_get(root, "pair_constraints");
    if (a && !json_is_array(a)) err_at(L, "/pair_constraints", NULL, "'pair_constraints' must be an array");
    static const char *kinds[] = {"same_region", "different_region", "different_provider",
                                  "forbidden_offers"};
    for (size_t i = 0; a && json_is_array(a) && i < json_array_size(a); i++) {
        const json_t *q = json_array_get(a, i);
        char *ptr = fbi_xasprintf("/pair_constraints/%zu", i);
        if (!json_is_object(q)) { err_at(L, ptr, NULL, "a pair constraint must be an object"); free(ptr); continue; }
        const json_t *type = need(L, q, "type", ptr, is_string, "a string");
        int kind = -1;
        for (int k = 0; type && k < 4; k++)
            if (strcmp(json_string_value(type), kinds[k]) == 0) kind = k;
        if (type && kind < 0) {
            char *pp = fbi_xasprintf("%s/type", ptr);
            err_at(L, pp, "one of same_region, different_region, different_provider, forbidden_offers",
                   "unknown pair constraint type '%s'", json_string_value(type));
            free(pp);
        }
        int wa = -1, wb = -1;
        const json_t *va = need(L, q, "a", ptr, NULL, NULL), *vb = need(L, q, "b", ptr, NULL, NULL);
        char *pa = fbi_xasprintf("%s/a", ptr), *pb = fbi_xasprintf("%s/b", ptr);
        if (va) get_index(L, va, pa, p->nwl, "workload", &wa);
        if (vb) get_index(L, vb, pb, p->nwl, "workload", &wb);
        if (wa >= 0 && wa == wb) err_at(L, pb, NULL, "a pair constraint needs two different workloads");
        free(pa);
        free(pb);
        int *pairs = NULL;
        size_t np = 0;
        int e0 = L->errors;
        if (kind == FBI_PAIR_FORBIDDEN_OFFERS) {
            const json_t *ps = need(L, q, "pairs", ptr, is_array, "an array of [offer of a, offer of b]");
            np = ps ? json_array_size(ps) : 0;
            pairs = fbi_xcalloc(2 * np + 1, sizeof(int));
            for (size_t k = 0; k < np; k++) {
                const json_t *e = json_array_get(ps, k);
                char *pp = fbi_xasprintf("%s/pairs/%zu", ptr, k);
                if (!json_is_array(e) || json_array_size(e) != 2) {
                    err_at(L, pp, NULL, "each forbidden pair is [offer of a, offer of b]");
                } else {
                    for (int s = 0; s < 2; s++) {
                        char *p2 = fbi_xasprintf("%s/%d", pp, s);
                        get_index(L, json_array_get(e, (size_t)s), p2, p->noff, "offer", &pairs[2 * k + (size_t)s]);
                        free(p2);
                    }
                }
                free(pp);
            }
        }
        if (L->errors == e0 && kind >= 0 && wa >= 0 && wb >= 0 && wa != wb) {
            char *err = NULL;
            if (fbi_problem_add_pair(p, (fbi_pair_kind)kind, wa, wb, pairs, np, &err) < 0) {
                err_at(L, ptr, NULL, "%s", err);
                free(err);
            }
        }
        free(pairs);
        free(ptr);
    }
}

fb_status fbi_problem_load_json(const char *text, size_t len, const char *file,
                                fbi_problem **out, fb_diag *diag)
{
    *out = NULL;
    ld L = {diag, file, 0};
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        fb_diag_add(diag, FB_SEV_ERROR, file, je.line, je.column, NULL, "not valid JSON", je.text);
        return FB_INVALID;
    }
    if (!json_is_object(root)) {
        err_at(&L, "", NULL, "a placement instance is a JSON object");
        json_decref(root);
        return FB_INVALID;
    }
    const json_t *fmt = need(&L, root, "format", "", is_string, "a string");
    if (fmt && strcmp(json_string_value(fmt), FORMAT_ID) != 0)
        err_at(&L, "/format", "this version reads " FORMAT_ID,
               "unknown format '%s'", json_string_value(fmt));
    const json_t *regions = need(&L, root, "regions", "", is_array, "an array");
    const json_t *egress = need(&L, root, "egress_price", "", is_array, "an array of arrays");
    const json_t *offers = need(&L, root, "offers", "", is_array, "an array");
    const json_t *workloads = need(&L, root, "workloads", "", is_array, "an array");
    const json_t *links = json_object_get(root, "links");
    if (links && !json_is_array(links)) { err_at(&L, "/links", NULL, "'links' must be an array"); links = NULL; }
    if (L.errors) { json_decref(root); return FB_INVALID; }

    fbi_problem *p = fbi_problem_new();
    char *err = NULL;
    size_t nr = json_array_size(regions);
    for (size_t i = 0; i < nr; i++) {
        const json_t *r = json_array_get(regions, i);
        char *ptr = fbi_xasprintf("/regions/%zu", i);
        if (!json_is_object(r)) {
            err_at(&L, ptr, NULL, "a region must be an object");
        } else {
            check_id(&L, r, ptr, i);
            const json_t *name = need(&L, r, "name", ptr, is_string, "a string");
            const json_t *prov = need(&L, r, "provider", ptr, is_string, "a string");
            if (name && prov) fbi_problem_add_region(p, json_string_value(name), json_string_value(prov), &err);
        }
        free(ptr);
    }
    if (L.errors) goto bad;
    if (json_array_size(egress) != nr)
        err_at(&L, "/egress_price", NULL, "egress_price must have one row per region (%zu), not %zu",
               nr, json_array_size(egress));
    for (size_t i = 0; i < nr && !L.errors; i++) {
        const json_t *row = json_array_get(egress, i);
        char *ptr = fbi_xasprintf("/egress_price/%zu", i);
        if (!json_is_array(row) || json_array_size(row) != nr) {
            err_at(&L, ptr, NULL, "each egress_price row must be an array of %zu prices", nr);
        } else {
            for (size_t j = 0; j < nr; j++) {
                int64_t v;
                if (fast_decimal(json_array_get(row, j), 9, &v)) {
                    fbi_problem_set_egress(p, (int)i, (int)j, v, NULL);
                    continue;
                }
                char *pp = fbi_xasprintf("%s/%zu", ptr, j);
                if (get_decimal(&L, json_array_get(row, j), pp, 9, "egress price", &v) == 0)
                    fbi_problem_set_egress(p, (int)i, (int)j, v, NULL);
                free(pp);
            }
        }
        free(ptr);
    }
    size_t no = json_array_size(offers);
    for (size_t i = 0; i < no; i++) {
        const json_t *o = json_array_get(offers, i);
        char *ptr = fbi_xasprintf("/offers/%zu", i);
        if (!json_is_object(o)) {
            err_at(&L, ptr, NULL, "an offer must be an object");
            free(ptr);
            continue;
        }
        check_id(&L, o, ptr, i);
        const json_t *reg = need(&L, o, "region", ptr, NULL, NULL);
        const json_t *cap = need(&L, o, "capacity_vcpu", ptr, NULL, NULL);
        int r = -1;
        int64_t capv = 0;
        char *pr = fbi_xasprintf("%s/region", ptr), *pc = fbi_xasprintf("%s/capacity_vcpu", ptr);
        if (reg) get_index(&L, reg, pr, nr, "region", &r);
        int capok = 0;
        if (cap && json_is_null(cap)) { capv = FBI_UNLIMITED; capok = 1; }
        else if (cap) capok = get_decimal(&L, cap, pc, 6, "capacity_vcpu", &capv) == 0;
        free(pr);
        free(pc);
        const json_t *svc = json_object_get(o, "service");
        char *label = fbi_xasprintf("%s %s", r >= 0 ? p->reg[r].name : "?",
                                    svc && json_is_string(svc) ? json_string_value(svc) : "offer");
        if (r >= 0 && capok) fbi_problem_add_offer(p, label, r, capv, NULL);
        else if (nr > 0) fbi_problem_add_offer(p, label, 0, 0, NULL); /* keep ids aligned */
        free(label);
        free(ptr);
    }
    if (nr == 0 && no > 0) err_at(&L, "/regions", NULL, "offers need at least one region");
    size_t nw = json_array_size(workloads);
    for (size_t i = 0; i < nw; i++) {
        const json_t *w = json_array_get(workloads, i);
        char *ptr = fbi_xasprintf("/workloads/%zu", i);
        if (!json_is_object(w)) {
            err_at(&L, ptr, NULL, "a workload must be an object");
            fbi_problem_add_workload(p, NULL, 0, NULL);
            free(ptr);
            continue;
        }
        check_id(&L, w, ptr, i);
        const json_t *dem = need(&L, w, "demand_vcpu", ptr, NULL, NULL);
        int64_t d = 0;
        if (dem) {
            char *pp = fbi_xasprintf("%s/demand_vcpu", ptr);
            if (get_decimal(&L, dem, pp, 6, "demand_vcpu", &d) != 0) d = 0;
            free(pp);
        }
        const json_t *name = json_object_get(w, "name");
        const json_t *app = json_object_get(w, "app");
        char *label = name && json_is_string(name) ? fbi_xstrdup(json_string_value(name))
                      : app && json_is_string(app) ? fbi_xasprintf("%s/%zu", json_string_value(app), i)
                      : fbi_xasprintf("w%zu", i);
        int wi = fbi_problem_add_workload(p, label, d, NULL);
        free(label);
        const json_t *cost = need(&L, w, "cost", ptr, is_object, "an object {\"<offer id>\": USD/month}");
        const char *key;
        const json_t *val;
        if (cost) {
            json_object_foreach((json_t *)cost, key, val) {
                /* The common case first, without building the pointer
                 * that only an error message needs. */
                char *end = NULL;
                long o = strtol(key, &end, 10);
                int64_t c;
                if (*key && !*end && o >= 0 && key[0] != '+' && key[0] != '-' && !(key[0] == '0' && key[1]) &&
                    (size_t)o < no && fast_decimal(val, 9, &c)) {
                    if (!L.errors) fbi_problem_add_option(p, wi, (int)o, c, NULL);
                    continue;
                }
                fbi_buf pp;
                fbi_buf_init(&pp);
                fbi_buf_printf(&pp, "%s/cost", ptr);
                fbi_pointer_append(&pp, key);
                if (!*key || *end || o < 0 || key[0] == '+' || key[0] == '-' || (key[0] == '0' && key[1])) {
                    err_at(&L, pp.data, "keys of cost are offer ids", "'%s' is not an offer id", key);
                } else if ((size_t)o >= no) {
                    err_at(&L, pp.data, NULL, "offer %ld does not exist (there are %zu offers)", o, no);
                } else {
                    if (get_decimal(&L, val, pp.data, 9, "cost", &c) == 0 && !L.errors)
                        fbi_problem_add_option(p, wi, (int)o, c, NULL);
                }
                fbi_buf_free(&pp);
            }
        }
        free(ptr);
    }
    size_t nl = links ? json_array_size(links) : 0;
    for (size_t i = 0; i < nl; i++) {
        const json_t *l = json_array_get(links, i);
        char *ptr = fbi_xasprintf("/links/%zu", i);
        if (!json_is_object(l)) {
            err_at(&L, ptr, NULL, "a link must be an object");
            free(ptr);
            continue;
        }
        const json_t *f = need(&L, l, "from", ptr, NULL, NULL), *t = need(&L, l, "to", ptr, NULL, NULL);
        const json_t *v = need(&L, l, "volume_gib_month", ptr, NULL, NULL);
        int from = -1, to = -1;
        int64_t vol = -1;
        char *pf = fbi_xasprintf("%s/from", ptr), *pt = fbi_xasprintf("%s/to", ptr),
             *pv = fbi_xasprintf("%s/volume_gib_month", ptr);
        if (f) get_index(&L, f, pf, nw, "workload", &from);
        if (t) get_index(&L, t, pt, nw, "workload", &to);
        if (v && get_decimal(&L, v, pv, 9, "volume_gib_month", &vol) != 0) vol = -1;
        if (from >= 0 && to >= 0 && vol >= 0) fbi_problem_add_link(p, from, to, vol, NULL);
        free(pf);
        free(pt);
        free(pv);
        free(ptr);
    }
    if (!L.errors) load_extensions(&L, p, root);
    if (L.errors) goto bad;
    free(err);
    json_decref(root);
    *out = p;
    return FB_OK;
bad:
    free(err);
    fbi_problem_free(p);
    json_decref(root);
    return FB_INVALID;
}
