/* lookup.c - what the candidates share, kept once per plan: the texts
 * many of them carry (reasons, driver notes: interned), and the catalog
 * look-ups the model makes again and again, each made once: the price rows of a product in a region, internet egress
 * from a region to a location, user RTT from a location to a region (each
 * keyed by their strings, for the evaluations, which run on several
 * threads), and egress and RTT between the region keys of two offers (by
 * region index, for the problem's links, which are built on one thread).
 * The catalog answers the same every time (it does not change during a
 * plan), so a remembered answer is the answer.
 *
 * Thread notes: the keyed look-ups take the memo's mutex around the map;
 * the catalog call itself runs outside it (two threads may compute the same
 * answer, and the first one stored wins, so the result does not depend on
 * timing). A returned pointer stays valid until fbi_plan_memo_free. */
#include "config.h"
#include "plan/plan_int.h"

#include <pthread.h>
#include <stdlib.h>

struct fbi_plan_memo {
    pthread_mutex_t mu;
    fbi_smap idx;      /* key -> index in vals */
    char **keys;       /* owned, one per value */
    void **vals;       /* owned results (plan_prices, plan_egress, plan_rtt) */
    int *kinds;        /* what each value is, for freeing */
    size_t n, cap;
    /* by region index (offer_info.rix): link egress and RTT, made on first use */
    size_t nrix;
    plan_link_egress **egress; /* nrix x nrix */
    plan_rtt **rtt;            /* nrix x nrix */
};

enum { MEMO_PRICES, MEMO_EGRESS, MEMO_RTT, MEMO_STRING, MEMO_JSON };

fbi_plan_memo *fbi_plan_memo_new(size_t nrix)
{
    fbi_plan_memo *mm = fbi_xcalloc(1, sizeof *mm);
    pthread_mutex_init(&mm->mu, NULL);
    mm->nrix = nrix;
    mm->egress = fbi_xcalloc(nrix * nrix + 1, sizeof *mm->egress);
    mm->rtt = fbi_xcalloc(nrix * nrix + 1, sizeof *mm->rtt);
    return mm;
}

static void free_value(int kind, void *v)
{
    if (kind == MEMO_STRING) return; /* the key itself */
    if (kind == MEMO_JSON) {
        json_decref(v);
        return;
    }
    if (kind == MEMO_PRICES) {
        plan_prices *p = v;
        free(p->rows);
        free(p->err);
    } else if (kind == MEMO_EGRESS) {
        plan_egress *e = v;
        fbi_egress_clear(&e->e);
        free(e->err);
    }
    free(v);
}

void fbi_plan_memo_free(fbi_plan_memo *mm)
{
    if (!mm) return;
    for (size_t i = 0; i < mm->n; i++) {
        free(mm->keys[i]);
        free_value(mm->kinds[i], mm->vals[i]);
    }
    free(mm->keys);
    free(mm->vals);
    free(mm->kinds);
    fbi_smap_free(&mm->idx);
    for (size_t i = 0; i < mm->nrix * mm->nrix; i++) {
        free(mm->egress[i]);
        free(mm->rtt[i]);
    }
    free(mm->egress);
    free(mm->rtt);
    pthread_mutex_destroy(&mm->mu);
    free(mm);
}

/* The value stored under key, or NULL. */
static void *memo_get(fbi_plan_memo *mm, const char *key)
{
    size_t i;
    pthread_mutex_lock(&mm->mu);
    void *v = fbi_smap_get(&mm->idx, key, &i) ? mm->vals[i] : NULL;
    pthread_mutex_unlock(&mm->mu);
    return v;
}

/* Stores v (stolen) under key (stolen) unless another thread stored one
 * first; returns the stored value. */
static void *memo_put(fbi_plan_memo *mm, char *key, int kind, void *v)
{
    size_t i;
    pthread_mutex_lock(&mm->mu);
    if (fbi_smap_get(&mm->idx, key, &i)) {
        void *first = mm->vals[i];
        pthread_mutex_unlock(&mm->mu);
        if (kind != MEMO_STRING) free_value(kind, v);
        free(key);
        return first;
    }
    if (mm->n == mm->cap) {
        /* the map borrows the keys; the key strings never move, only the
         * array of pointers to them does */
        mm->cap = mm->cap ? 2 * mm->cap : 64;
        mm->keys = fbi_xrealloc(mm->keys, mm->cap * sizeof *mm->keys);
        mm->vals = fbi_xrealloc(mm->vals, mm->cap * sizeof *mm->vals);
        mm->kinds = fbi_xrealloc(mm->kinds, mm->cap * sizeof *mm->kinds);
    }
    mm->keys[mm->n] = key;
    mm->vals[mm->n] = v;
    mm->kinds[mm->n] = kind;
    fbi_smap_put(&mm->idx, key, mm->n++, NULL);
    pthread_mutex_unlock(&mm->mu);
    return v;
}

/* A key from parts joined by \x1f (NULL parts are empty). new */
static char *join(const char *a, const char *b, const char *c, const char *d, const char *e,
                  const char *f)
{
    const char *parts[] = {a, b, c, d, e, f};
    fbi_buf k;
    fbi_buf_init(&k);
    for (size_t i = 0; i < 6; i++) {
        if (i) fbi_buf_puts(&k, "\x1f");
        fbi_buf_puts(&k, parts[i] ? parts[i] : "\x1e"); /* NULL differs from "" */
    }
    return fbi_buf_steal(&k);
}

const char *fbi_plan_intern(const model *m, const char *s)
{
    if (!s) return NULL;
    char *key = fbi_xasprintf("s\x1f%s", s);
    char *v = memo_get(m->memo, key);
    if (v) {
        free(key);
        return v + 2;
    }
    /* kept to the end: its own size, not the formatting buffer's (at
     * least 256 bytes; a distinct federation keeps a few per workload) */
    key = fbi_xrealloc(key, strlen(key) + 1);
    return (char *)memo_put(m->memo, key, MEMO_STRING, key) + 2;
}

json_t *fbi_plan_json_str(const model *m, const char *s)
{
    if (!s) return NULL;
    char *key = fbi_xasprintf("J\x1f%s", s);
    json_t *have = memo_get(m->memo, key);
    if (have) {
        free(key);
        return json_incref(have);
    }
    json_t *v = json_string(s);
    if (!v) { /* not UTF-8: jansson refuses it, as json_pack's "s" would */
        free(key);
        return NULL;
    }
    return json_incref(memo_put(m->memo, key, MEMO_JSON, v));
}

json_t *fbi_plan_intern_json(const model *m, json_t *v)
{
    if (!v) return NULL;
    char *text = fbi_json_canonical(v);
    char *key = fbi_xasprintf("j\x1f%s", text);
    free(text);
    json_t *have = memo_get(m->memo, key);
    if (have) {
        free(key);
        return have;
    }
    key = fbi_xrealloc(key, strlen(key) + 1); /* kept: its own size (fbi_plan_intern) */
    return memo_put(m->memo, key, MEMO_JSON, json_incref(v));
}

const plan_prices *fbi_plan_find_prices(const model *m, const fbi_price_query *q)
{
    char *key = join("p", q->provider, q->service, q->region, q->metric, q->variant);
    plan_prices *p = memo_get(m->memo, key);
    if (p) {
        free(key);
        return p;
    }
    p = fbi_xcalloc(1, sizeof *p);
    fb_diag *d = fb_diag_new();
    p->st = fbi_catalog_find_prices(m->cat, q, &p->rows, &p->n, d);
    if (p->st != FB_OK)
        p->err = fbi_xstrdup(fb_diag_count(d) ? fb_diag_summary(d, 0) : fbi_status_name(p->st));
    fb_diag_free(d);
    return memo_put(m->memo, key, MEMO_PRICES, p);
}

const plan_egress *fbi_plan_egress_to(const model *m, const char *src, const char *dst)
{
    char *key = join("e", src, dst, NULL, NULL, NULL);
    plan_egress *e = memo_get(m->memo, key);
    if (e) {
        free(key);
        return e;
    }
    e = fbi_xcalloc(1, sizeof *e);
    fb_diag *d = fb_diag_new();
    e->st = fbi_catalog_egress(m->cat, src, dst, &e->e, d);
    e->err = fb_diag_count(d) ? fbi_xstrdup(fb_diag_summary(d, 0)) : NULL;
    fb_diag_free(d);
    return memo_put(m->memo, key, MEMO_EGRESS, e);
}

const plan_rtt *fbi_plan_user_rtt(const model *m, const char *location, const char *key_)
{
    char *key = join("u", location, key_, NULL, NULL, NULL);
    plan_rtt *r = memo_get(m->memo, key);
    if (r) {
        free(key);
        return r;
    }
    r = fbi_xcalloc(1, sizeof *r);
    r->st = fbi_catalog_user_rtt(m->cat, location, key_, &r->ms, &r->org);
    return memo_put(m->memo, key, MEMO_RTT, r);
}

/* Nano-USD per GiB of a per-GB or per-GiB unit price. */
static int64_t per_gib_nano(fbi_pusd unit, const char *row_unit)
{
    unsigned __int128 v = (unsigned __int128)unit;
    if (row_unit && !strcmp(row_unit, "GiB")) return (int64_t)((v + 500) / 1000);
    /* GB = 10^9 bytes: per GiB = per GB x 2^30 / 10^9 */
    v = v * (UINT64_C(1) << 30);
    unsigned __int128 den = (unsigned __int128)1000 * 1000000000u;
    return (int64_t)((v + den / 2) / den);
}

const plan_link_egress *fbi_plan_link_egress(const model *m, const offer_info *a,
                                             const offer_info *b)
{
    fbi_plan_memo *mm = m->memo;
    plan_link_egress **slot = &mm->egress[a->rix * mm->nrix + b->rix];
    if (*slot) return *slot;
    plan_link_egress *e = fbi_xcalloc(1, sizeof *e);
    const plan_egress *eg = fbi_plan_egress_to(m, a->key, b->key);
    if (eg->st == FB_OK && (eg->e.ntiers > 0 || eg->e.fallback)) {
        const fbi_price_row *row = eg->e.ntiers ? eg->e.tiers[0] : NULL;
        e->ok = 1;
        e->unit_nano = row ? per_gib_nano(fbi_catalog_contracted_price(m->cat, row, &e->rule),
                                          row->unit)
                           : per_gib_nano(0, NULL);
        e->list_nano = row ? per_gib_nano(row->usd_per_unit, row->unit) : per_gib_nano(0, NULL);
        e->service = row ? row->service : NULL;
        e->source = row ? row->source : NULL;
        e->as_of = row ? row->as_of : NULL;
        e->kind = fbi_egress_kind_name(eg->e.kind);
        e->sku = row ? row->sku : NULL;
        e->note = eg->e.note;
    } else {
        e->note = eg->err ? eg->err : "no egress row";
    }
    return *slot = e;
}

const plan_rtt *fbi_plan_link_rtt(const model *m, const offer_info *a, const offer_info *b)
{
    fbi_plan_memo *mm = m->memo;
    plan_rtt **slot = &mm->rtt[a->rix * mm->nrix + b->rix];
    if (*slot) return *slot;
    plan_rtt *r = fbi_xcalloc(1, sizeof *r);
    r->st = fbi_catalog_rtt(m->cat, a->key, b->key, &r->ms, &r->org);
    return *slot = r;
}
