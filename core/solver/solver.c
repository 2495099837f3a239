/* solver.c - the placement problem: building it, exact decimals, pricing,
 * compiling it for the algorithms, and fbi_solve() which runs them. */
#include "config.h"
#include "solver/solver_impl.h"
#include "base/util.h"
#include "base/decimal.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- growable arrays ---- */

#define GROW(arr, n, cap) do { \
        if ((n) == (cap)) { \
            (cap) = (cap) ? (cap) * 2 : 16; \
            (arr) = fbi_xrealloc((arr), (cap) * sizeof *(arr)); \
        } \
    } while (0)

static int fail(char **err, const char *fmt, ...) FBI_PRINTF(2, 3);
/* Sets *err (when err is not NULL) and returns -1, so callers can
 * `return fail(err, ...)`. */
static int fail(char **err, const char *fmt, ...)
{
    if (err) {
        fbi_buf b;
        fbi_buf_init(&b);
        va_list ap;
        va_start(ap, fmt);
        fbi_buf_vprintf(&b, fmt, ap);
        va_end(ap);
        *err = fbi_buf_steal(&b);
    }
    return -1;
}

/* Drops the compiled form: called by every change to the problem. */
static void cmp_free(fbi_cmp *c);
static void stale(fbi_problem *p)
{
    if (p->cmp) {
        cmp_free(p->cmp);
        p->cmp = NULL;
    }
}

fbi_problem *fbi_problem_new(void)
{
    return fbi_xcalloc(1, sizeof(fbi_problem));
}

void fbi_problem_free(fbi_problem *p)
{
    if (!p) return;
    stale(p);
    for (size_t i = 0; i < p->nreg; i++) { free(p->reg[i].name); free(p->reg[i].provider); }
    for (size_t i = 0; i < p->nprov; i++) free(p->prov[i]);
    for (size_t i = 0; i < p->noff; i++) free(p->off[i].label);
    for (size_t i = 0; i < p->nwl; i++) free(p->wl[i].label);
    for (size_t i = 0; i < p->ngrp; i++) { free(p->grp[i].name); free(p->grp[i].offers); }
    for (size_t i = 0; i < p->nbud; i++) { free(p->bud[i].name); free(p->bud[i].w); }
    for (size_t i = 0; i < p->npair; i++) free(p->pair[i].pairs);
    free(p->reg); free(p->prov); free(p->egress); free(p->off); free(p->wl);
    free(p->opt); free(p->link); free(p->grp); free(p->bud); free(p->pair);
    free(p);
}

int fbi_problem_add_region(fbi_problem *p, const char *name, const char *provider, char **err)
{
    if (!name || !provider) return fail(err, "a region needs a name and a provider");
    stale(p);
    int prov = -1;
    for (size_t i = 0; i < p->nprov; i++)
        if (strcmp(p->prov[i], provider) == 0) prov = (int)i;
    if (prov < 0) {
        GROW(p->prov, p->nprov, p->capprov);
        p->prov[p->nprov] = fbi_xstrdup(provider);
        prov = (int)p->nprov++;
    }
    GROW(p->reg, p->nreg, p->capreg);
    p->reg[p->nreg].name = fbi_xstrdup(name);
    p->reg[p->nreg].provider = fbi_xstrdup(provider);
    p->reg[p->nreg].prov = prov;
    /* Re-lay the egress matrix for one more region (rows and columns). */
    size_t n = p->nreg, m = n + 1;
    int64_t *eg = fbi_xcalloc(m * m, sizeof *eg);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) eg[i * m + j] = p->egress[i * n + j];
    free(p->egress);
    p->egress = eg;
    return (int)p->nreg++;
}

int fbi_problem_set_egress(fbi_problem *p, int from, int to, int64_t price, char **err)
{
    if (from < 0 || (size_t)from >= p->nreg || to < 0 || (size_t)to >= p->nreg)
        return fail(err, "egress price between unknown regions %d and %d", from, to);
    if (price < 0) return fail(err, "egress price from region %d to %d is negative", from, to);
    stale(p);
    p->egress[(size_t)from * p->nreg + (size_t)to] = price;
    return 0;
}

int64_t fbi_problem_egress(const fbi_problem *p, int i, int j)
{
    return p->egress[(size_t)i * p->nreg + (size_t)j];
}

int fbi_problem_add_offer(fbi_problem *p, const char *label, int region, int64_t cap, char **err)
{
    if (region < 0 || (size_t)region >= p->nreg)
        return fail(err, "offer refers to region %d, which does not exist", region);
    if (cap < 0) return fail(err, "offer capacity is negative");
    stale(p);
    GROW(p->off, p->noff, p->capoff);
    p->off[p->noff].label = label ? fbi_xstrdup(label) : NULL;
    p->off[p->noff].region = region;
    p->off[p->noff].cap = cap;
    return (int)p->noff++;
}

int fbi_problem_add_workload(fbi_problem *p, const char *label, int64_t demand, char **err)
{
    if (demand < 0) return fail(err, "workload demand is negative");
    stale(p);
    GROW(p->wl, p->nwl, p->capwl);
    p->wl[p->nwl].label = label ? fbi_xstrdup(label) : NULL;
    p->wl[p->nwl].demand = demand;
    return (int)p->nwl++;
}

int fbi_problem_add_option(fbi_problem *p, int w, int o, fbi_money cost, char **err)
{
    if (w < 0 || (size_t)w >= p->nwl) return fail(err, "workload %d does not exist", w);
    if (o < 0 || (size_t)o >= p->noff) return fail(err, "offer %d does not exist", o);
    if (cost < 0) return fail(err, "the cost of workload %d on offer %d is negative", w, o);
    /* Duplicates are rare and checked at compile time cheaply; check here for
     * a clear message (options of one workload are usually added together). */
    for (size_t i = p->nopt; i-- > 0 && p->opt[i].w == w;)
        if (p->opt[i].o == o)
            return fail(err, "offer %d is given twice for workload %d", o, w);
    stale(p);
    GROW(p->opt, p->nopt, p->capopt);
    p->opt[p->nopt].w = w;
    p->opt[p->nopt].o = o;
    p->opt[p->nopt].cost = cost;
    return (int)p->nopt++;
}

int fbi_problem_add_link(fbi_problem *p, int from, int to, int64_t vol, char **err)
{
    if (from < 0 || (size_t)from >= p->nwl) return fail(err, "link from unknown workload %d", from);
    if (to < 0 || (size_t)to >= p->nwl) return fail(err, "link to unknown workload %d", to);
    if (vol < 0) return fail(err, "link volume is negative");
    stale(p);
    GROW(p->link, p->nlink, p->caplink);
    p->link[p->nlink].from = from;
    p->link[p->nlink].to = to;
    p->link[p->nlink].vol = vol;
    return (int)p->nlink++;
}

int fbi_problem_add_group(fbi_problem *p, const char *name, fbi_measure measure, int64_t cap,
                          const int *offers, size_t n, char **err)
{
    if (measure != FBI_MEASURE_VCPU && measure != FBI_MEASURE_COUNT)
        return fail(err, "unknown capacity measure %d", (int)measure);
    if (cap < 0) return fail(err, "group capacity is negative");
    if (measure == FBI_MEASURE_COUNT && cap > INT64_MAX / FBI_VCPU)
        return fail(err, "group capacity %" PRId64 " is too large", cap);
    for (size_t i = 0; i < n; i++)
        if (offers[i] < 0 || (size_t)offers[i] >= p->noff)
            return fail(err, "capacity group refers to offer %d, which does not exist", offers[i]);
    stale(p);
    GROW(p->grp, p->ngrp, p->capgrp);
    fbi_sgroup *g = &p->grp[p->ngrp];
    g->name = name ? fbi_xstrdup(name) : fbi_xasprintf("group %zu", p->ngrp);
    g->measure = measure;
    g->cap = cap;
    g->offers = fbi_xmalloc((n ? n : 1) * sizeof(int));
    if (n) memcpy(g->offers, offers, n * sizeof(int));
    g->n = n;
    return (int)p->ngrp++;
}

int fbi_problem_add_budget(fbi_problem *p, const char *name, fbi_money budget,
                           const int *w, size_t n, char **err)
{
    if (budget < 0) return fail(err, "budget is negative");
    for (size_t i = 0; i < n; i++)
        if (w[i] < 0 || (size_t)w[i] >= p->nwl)
            return fail(err, "budget refers to workload %d, which does not exist", w[i]);
    stale(p);
    GROW(p->bud, p->nbud, p->capbud);
    fbi_sbudget *b = &p->bud[p->nbud];
    b->name = name ? fbi_xstrdup(name) : fbi_xasprintf("budget %zu", p->nbud);
    b->budget = budget;
    b->w = fbi_xmalloc((n ? n : 1) * sizeof(int));
    if (n) memcpy(b->w, w, n * sizeof(int));
    b->n = n;
    return (int)p->nbud++;
}

int fbi_problem_add_pair(fbi_problem *p, fbi_pair_kind kind, int a, int b,
                         const int *pairs, size_t npairs, char **err)
{
    if (kind < FBI_PAIR_SAME_REGION || kind > FBI_PAIR_FORBIDDEN_OFFERS)
        return fail(err, "unknown pair constraint kind %d", (int)kind);
    if (a < 0 || (size_t)a >= p->nwl) return fail(err, "pair constraint on unknown workload %d", a);
    if (b < 0 || (size_t)b >= p->nwl) return fail(err, "pair constraint on unknown workload %d", b);
    if (a == b) return fail(err, "a pair constraint needs two different workloads (both are %d)", a);
    if (kind != FBI_PAIR_FORBIDDEN_OFFERS) npairs = 0;
    for (size_t i = 0; i < 2 * npairs; i++)
        if (pairs[i] < 0 || (size_t)pairs[i] >= p->noff)
            return fail(err, "pair constraint refers to offer %d, which does not exist", pairs[i]);
    stale(p);
    GROW(p->pair, p->npair, p->cappair);
    fbi_spair *q = &p->pair[p->npair];
    q->kind = kind;
    q->a = a;
    q->b = b;
    q->npairs = npairs;
    q->pairs = fbi_xmalloc((npairs ? 2 * npairs : 1) * sizeof(int));
    if (npairs) memcpy(q->pairs, pairs, 2 * npairs * sizeof(int));
    return (int)p->npair++;
}

/* A workload's name for messages: its label (the plan's workload name), or
 * "#N" for a problem built without labels. Writes into buf (32 bytes) when
 * it needs to; returns a borrowed string. */
static const char *wname(const fbi_problem *p, int w, char buf[32])
{
    if (w >= 0 && (size_t)w < p->nwl && p->wl[w].label) return p->wl[w].label;
    snprintf(buf, 32, "#%d", w);
    return buf;
}

size_t fbi_problem_nworkloads(const fbi_problem *p) { return p->nwl; }
size_t fbi_problem_noffers(const fbi_problem *p) { return p->noff; }
size_t fbi_problem_nregions(const fbi_problem *p) { return p->nreg; }
size_t fbi_problem_nlinks(const fbi_problem *p) { return p->nlink; }
const char *fbi_problem_offer_label(const fbi_problem *p, int o) { return p->off[o].label; }
const char *fbi_problem_workload_label(const fbi_problem *p, int w) { return p->wl[w].label; }
const char *fbi_problem_region_name(const fbi_problem *p, int r) { return p->reg[r].name; }
int fbi_problem_offer_region(const fbi_problem *p, int o) { return p->off[o].region; }
int64_t fbi_problem_offer_capacity(const fbi_problem *p, int o) { return p->off[o].cap; }
int64_t fbi_problem_workload_demand(const fbi_problem *p, int w) { return p->wl[w].demand; }

/* ---- exact decimals ---- */

/* The solver's JSON accepts signs and exponents (1.5e3); the digits are
 * core/base/decimal.c's. */
int fbi_decimal_parse(const char *s, int scale, int64_t *out, char **why)
{
    return fbi_dec_parse(s, scale, FBI_DEC_SIGNED | FBI_DEC_EXPONENT, out, why);
}

char *fbi_decimal_format(int64_t v, int scale, int min_dp, char *buf)
{
    char b[FBI_DEC_BUF];
    fbi_dec_format(v, scale > 12 ? 12 : scale, min_dp, b);
    memcpy(buf, b, strlen(b) + 1);
    return buf;
}

fbi_money fbi_link_cost(int64_t vol, int64_t price)
{
    /* volume (nano-GiB) x price (nano-USD/GiB) is 10^-18 USD; back
     * to nano-USD by the decimal module's one rule */
    int64_t q;
    if (fbi_dec_muldiv(vol, price, FBI_GIB, &q) != 0 || q > INT64_MAX / 4)
        q = INT64_MAX / 4; /* absurd volumes (the spec's bounds exclude them): capped, see docs */
    return (fbi_money)q;
}

/* ---- exact pricing from the raw problem (independent of the compiled
 * form, so it also checks it) ---- */

int fbi_problem_price(fbi_problem *p, const int *offer_of, fbi_money *total, char **why)
{
    fbi_i128 sum = 0;
    fbi_money *wcost = fbi_xcalloc(p->nwl ? p->nwl : 1, sizeof *wcost);
    int rc = -1;
    /* Each workload's chosen offer must be one of its options. */
    unsigned char *seen = fbi_xcalloc(p->nwl ? p->nwl : 1, 1);
    for (size_t i = 0; i < p->nopt; i++) {
        const fbi_soption *o = &p->opt[i];
        if (offer_of[o->w] == o->o && (!seen[o->w] || o->cost < wcost[o->w])) {
            seen[o->w] = 1;
            wcost[o->w] = o->cost;
        }
    }
    for (size_t w = 0; w < p->nwl; w++) {
        if (!seen[w]) {
            fail(why, "workload %zu is placed on offer %d, which is not one of its feasible offers",
                 w, offer_of[w]);
            goto out;
        }
        sum += wcost[w];
    }
    /* Offer capacities. */
    int64_t *load = fbi_xcalloc(p->noff ? p->noff : 1, sizeof *load);
    int64_t *cnt = fbi_xcalloc(p->noff ? p->noff : 1, sizeof *cnt);
    for (size_t w = 0; w < p->nwl; w++) {
        load[offer_of[w]] += p->wl[w].demand;
        cnt[offer_of[w]]++;
    }
    for (size_t o = 0; o < p->noff; o++)
        if (p->off[o].cap != FBI_UNLIMITED && load[o] > p->off[o].cap) {
            char a[32], b[32];
            fail(why, "offer %zu carries %s vCPU, more than its capacity %s vCPU", o,
                 fbi_decimal_format(load[o], 6, 0, a), fbi_decimal_format(p->off[o].cap, 6, 0, b));
            free(load); free(cnt);
            goto out;
        }
    for (size_t g = 0; g < p->ngrp; g++) {
        int64_t s = 0;
        for (size_t k = 0; k < p->grp[g].n; k++) {
            int o = p->grp[g].offers[k];
            int dup = 0;
            for (size_t k2 = 0; k2 < k; k2++) dup |= p->grp[g].offers[k2] == o;
            if (!dup) s += p->grp[g].measure == FBI_MEASURE_COUNT ? cnt[o] : load[o];
        }
        if (s > p->grp[g].cap) {
            char a[32], b[32];
            int sc = p->grp[g].measure == FBI_MEASURE_COUNT ? 0 : 6;
            fail(why, "capacity group '%s' carries %s %s, more than its capacity %s", p->grp[g].name,
                 fbi_decimal_format(s, sc, 0, a),
                 sc ? "vCPU" : "workloads", fbi_decimal_format(p->grp[g].cap, sc, 0, b));
            free(load); free(cnt);
            goto out;
        }
    }
    free(load);
    free(cnt);
    for (size_t b = 0; b < p->nbud; b++) {
        fbi_i128 s = 0;
        for (size_t k = 0; k < p->bud[b].n; k++) s += wcost[p->bud[b].w[k]];
        if (s > p->bud[b].budget) {
            char a[32], c[32];
            fail(why, "budget '%s': its workloads cost %s USD, more than %s USD", p->bud[b].name,
                 fbi_decimal_format((int64_t)s, 9, 2, a), fbi_decimal_format(p->bud[b].budget, 9, 2, c));
            goto out;
        }
    }
    for (size_t i = 0; i < p->npair; i++) {
        const fbi_spair *q = &p->pair[i];
        int oa = offer_of[q->a], ob = offer_of[q->b];
        int ra = p->off[oa].region, rb = p->off[ob].region;
        int bad = 0;
        switch (q->kind) {
        case FBI_PAIR_SAME_REGION: bad = ra != rb; break;
        case FBI_PAIR_DIFFERENT_REGION: bad = ra == rb; break;
        case FBI_PAIR_DIFFERENT_PROVIDER: bad = p->reg[ra].prov == p->reg[rb].prov; break;
        default:
            for (size_t k = 0; k < q->npairs; k++)
                bad |= q->pairs[2 * k] == oa && q->pairs[2 * k + 1] == ob;
        }
        if (bad) {
            static const char *names[] = {"same_region", "different_region", "different_provider",
                                          "forbidden_offers"};
            char n1[32], n2[32];
            fail(why, "pair constraint %zu (%s) between workloads %s and %s is violated", i,
                 names[q->kind], wname(p, q->a, n1), wname(p, q->b, n2));
            goto out;
        }
    }
    for (size_t l = 0; l < p->nlink; l++) {
        const fbi_slink *k = &p->link[l];
        sum += fbi_link_cost(k->vol, fbi_problem_egress(p, p->off[offer_of[k->from]].region,
                                                        p->off[offer_of[k->to]].region));
    }
    if (sum > INT64_MAX) { fail(why, "the total overflows"); goto out; }
    *total = (fbi_money)sum;
    rc = 0;
out:
    free(seen);
    free(wcost);
    return rc;
}

/* ---- compiling ---- */

static void cmp_free(fbi_cmp *c)
{
    if (!c) return;
    free(c->ostart); free(c->ooffer); free(c->ocost); free(c->alive); free(c->demand);
    free(c->gcap); free(c->gmeasure); free(c->gowner); free(c->og_start); free(c->og);
    free(c->go_start); free(c->go); free(c->bcap); free(c->wb_start); free(c->wb);
    free(c->bw_start); free(c->bw);
    for (int i = 0; i < c->nt; i++) {
        fbi_term *t = &c->t[i];
        free(t->ca); free(t->cb); free(t->ida); free(t->idb); free(t->cost);
    }
    free(c->t); free(c->wt_start); free(c->wt); free(c->reason);
    free(c->ocls); free(c->wncls); free(c->wregion_terms); free(c->oregion);
    free(c);
}

/* A raw pair item (a link or a pair constraint) on the unordered pair
 * (lo, hi), for merging into terms. */
typedef struct item { int lo, hi, link, pair; } item;

static int item_cmp(const void *x, const void *y)
{
    const item *a = x, *b = y;
    if (a->lo != b->lo) return a->lo < b->lo ? -1 : 1;
    if (a->hi != b->hi) return a->hi < b->hi ? -1 : 1;
    return 0;
}

static int opt_cmp(const void *x, const void *y)
{
    const fbi_soption *a = x, *b = y;
    if (a->w != b->w) return a->w < b->w ? -1 : 1;
    if (a->o != b->o) return a->o < b->o ? -1 : 1;
    return (a->cost > b->cost) - (a->cost < b->cost);
}

/* Builds a CSR (start[n+1], list) from pairs (key, value). */
static void csr(int n, const int *keys, const int *vals, size_t m, int **start, int **list)
{
    *start = fbi_xcalloc((size_t)n + 1, sizeof(int));
    *list = fbi_xmalloc((m ? m : 1) * sizeof(int));
    for (size_t i = 0; i < m; i++) (*start)[keys[i] + 1]++;
    for (int i = 0; i < n; i++) (*start)[i + 1] += (*start)[i];
    int *fill = fbi_xmalloc(((size_t)n + 1) * sizeof(int));
    memcpy(fill, *start, ((size_t)n + 1) * sizeof(int));
    for (size_t i = 0; i < m; i++) (*list)[fill[keys[i]]++] = vals[i];
    free(fill);
}

/* Classes of workload w's options for a term: regions or offers, compacted. */
static void term_classes(const fbi_problem *p, const fbi_cmp *c, int w, int by_offer,
                         int **cls, int **ids, int *n)
{
    int k = c->ostart[w + 1] - c->ostart[w];
    *cls = fbi_xmalloc((k ? (size_t)k : 1) * sizeof(int));
    *ids = fbi_xmalloc((k ? (size_t)k : 1) * sizeof(int));
    *n = 0;
    for (int i = 0; i < k; i++) {
        int o = c->ooffer[c->ostart[w] + i];
        int id = by_offer ? o : p->off[o].region;
        int j = 0;
        while (j < *n && (*ids)[j] != id) j++;
        if (j == *n) (*ids)[(*n)++] = id;
        (*cls)[i] = j;
    }
}

static void add_forbid(fbi_term *t, int i, int j)
{
    t->cost[(size_t)i * (size_t)t->nb + (size_t)j] = FBI_FORBID;
    t->has_forbid = 1;
}

/* Arc consistency over the pair terms: an option of a with no allowed
 * partner among the alive options of b cannot be in any plan (and vice
 * versa). Sets c->reason when a workload loses every option. */
static void arc_consistency(const fbi_problem *p, fbi_cmp *c)
{
    int changed = 1;
    unsigned char *sup = NULL;
    size_t supcap = 0;
    while (changed && !c->reason) {
        changed = 0;
        for (int ti = 0; ti < c->nt && !c->reason; ti++) {
            fbi_term *t = &c->t[ti];
            if (!t->has_forbid) continue;
            for (int side = 0; side < 2; side++) {
                int w = side ? t->b : t->a, v = side ? t->a : t->b;
                int nw = side ? t->nb : t->na, nv = side ? t->na : t->nb;
                if ((size_t)(nw + nv) > supcap) {
                    supcap = (size_t)(nw + nv) * 2;
                    sup = fbi_xrealloc(sup, supcap);
                }
                unsigned char *valive = sup + nw; /* classes of v with an alive option */
                memset(sup, 0, (size_t)(nw + nv));
                for (int i = c->ostart[v]; i < c->ostart[v + 1]; i++)
                    if (c->alive[i]) valive[side ? t->ca[i - c->ostart[v]] : t->cb[i - c->ostart[v]]] = 1;
                for (int cw = 0; cw < nw; cw++)
                    for (int cv = 0; cv < nv && !sup[cw]; cv++) {
                        if (!valive[cv]) continue;
                        int64_t x = side ? t->cost[(size_t)cv * (size_t)t->nb + (size_t)cw]
                                         : t->cost[(size_t)cw * (size_t)t->nb + (size_t)cv];
                        if (x != FBI_FORBID) sup[cw] = 1;
                    }
                int left = 0;
                for (int i = c->ostart[w]; i < c->ostart[w + 1]; i++) {
                    int cw = side ? t->cb[i - c->ostart[w]] : t->ca[i - c->ostart[w]];
                    if (c->alive[i] && !sup[cw]) { c->alive[i] = 0; changed = 1; }
                    left += c->alive[i];
                }
                if (left == 0 && c->ostart[w + 1] > c->ostart[w]) {
                    char n1[32], n2[32], n3[32];
                    c->reason = fbi_xasprintf(
                        "workload %s cannot be placed: the pair constraints between %s and %s "
                        "(link latency budgets, missing egress prices, spread, affinity; with the "
                        "others on them) leave it no feasible offer",
                        wname(p, w, n1), wname(p, t->a, n2), wname(p, t->b, n3));
                    break;
                }
            }
        }
    }
    free(sup);
}

/* Finds infeasibility that simple counting proves, with a reason a person
 * can act on. */
static void precheck(const fbi_problem *p, fbi_cmp *c)
{
    char a[32], b[32];
    for (int w = 0; w < c->nw && !c->reason; w++) {
        if (c->ostart[w] == c->ostart[w + 1]) {
            c->reason = fbi_xasprintf("workload %s has no feasible offer (its cost map is empty)",
                                      wname(p, w, a));
            return;
        }
        int fits = 0;
        for (int i = c->ostart[w]; i < c->ostart[w + 1] && !fits; i++) {
            int o = c->ooffer[i], ok = 1;
            for (int k = c->og_start[o]; k < c->og_start[o + 1]; k++)
                ok &= fbi_gweight(c, c->og[k], w) <= c->gcap[c->og[k]];
            fits = ok;
        }
        if (!fits) {
            c->reason = fbi_xasprintf("workload %s needs %s vCPU, more than the capacity of each "
                                      "of its %d feasible offers", wname(p, w, b),
                                      fbi_decimal_format(c->demand[w], 6, 0, a),
                                      c->ostart[w + 1] - c->ostart[w]);
            return;
        }
    }
    /* A group must hold the workloads that can only go to its offers. */
    unsigned char *in = fbi_xcalloc((size_t)c->no + 1, 1);
    for (int g = 0; g < c->ng && !c->reason; g++) {
        for (int k = c->go_start[g]; k < c->go_start[g + 1]; k++) in[c->go[k]] = 1;
        fbi_i128 need = 0;
        int count = 0;
        fbi_buf names;
        fbi_buf_init(&names);
        for (int w = 0; w < c->nw; w++) {
            int only = 1;
            for (int i = c->ostart[w]; i < c->ostart[w + 1] && only; i++)
                only = !c->alive[i] || in[c->ooffer[i]];
            if (only) {
                need += fbi_gweight(c, g, w);
                if (count < 8) fbi_buf_printf(&names, "%s%d", count ? ", " : "", w);
                else if (count == 8) fbi_buf_puts(&names, ", ...");
                count++;
            }
        }
        if (need > c->gcap[g]) {
            int vc = c->gmeasure[g] == FBI_MEASURE_VCPU;
            char *what = c->gowner[g] >= 0
                ? fbi_xasprintf("offer %d (%s)", c->gowner[g],
                                p->off[c->gowner[g]].label ? p->off[c->gowner[g]].label : "-")
                : fbi_xasprintf("capacity group %d", g - (c->ng - (int)p->ngrp));
            int64_t capv = vc ? c->gcap[g] : c->gcap[g] / FBI_VCPU;
            int64_t needv = vc ? (int64_t)need : (int64_t)(need / FBI_VCPU);
            c->reason = fbi_xasprintf(
                "the capacity of %s (%s %s) is smaller than the total demand (%s %s) of the %d "
                "workloads that can only go there (%s)", what, fbi_decimal_format(capv, vc ? 6 : 0, 0, a),
                vc ? "vCPU" : "workloads", fbi_decimal_format(needv, vc ? 6 : 0, 0, b),
                vc ? "vCPU" : "workloads", count, names.data ? names.data : "");
            free(what);
        }
        fbi_buf_free(&names);
        for (int k = c->go_start[g]; k < c->go_start[g + 1]; k++) in[c->go[k]] = 0;
    }
    free(in);
    for (int bi = 0; bi < c->nb && !c->reason; bi++) {
        fbi_i128 need = 0;
        for (int k = c->bw_start[bi]; k < c->bw_start[bi + 1]; k++) {
            int w = c->bw[k];
            fbi_money m = INT64_MAX;
            for (int i = c->ostart[w]; i < c->ostart[w + 1]; i++)
                if (c->ocost[i] < m) m = c->ocost[i];
            need += m;
        }
        if (need > c->bcap[bi])
            c->reason = fbi_xasprintf("budget '%s' (%s USD) is smaller than the cheapest possible cost "
                                      "of its workloads (%s USD)", p->bud[bi].name,
                                      fbi_decimal_format(c->bcap[bi], 9, 2, a),
                                      fbi_decimal_format((int64_t)need, 9, 2, b));
    }
}

fbi_cmp *fbi_problem_compile(fbi_problem *p)
{
    if (p->cmp) return p->cmp;
    fbi_cmp *c = fbi_xcalloc(1, sizeof *c);
    c->nw = (int)p->nwl;
    c->no = (int)p->noff;
    c->nr = (int)p->nreg;
    /* Options, sorted by workload then offer. */
    fbi_soption *opts = fbi_xmalloc((p->nopt ? p->nopt : 1) * sizeof *opts);
    if (p->nopt) memcpy(opts, p->opt, p->nopt * sizeof *opts);
    qsort(opts, p->nopt, sizeof *opts, opt_cmp);
    c->ostart = fbi_xcalloc((size_t)c->nw + 1, sizeof(int));
    c->ooffer = fbi_xmalloc((p->nopt ? p->nopt : 1) * sizeof(int));
    c->ocost = fbi_xmalloc((p->nopt ? p->nopt : 1) * sizeof(fbi_money));
    c->alive = fbi_xmalloc(p->nopt ? p->nopt : 1);
    size_t n = 0;
    for (size_t i = 0; i < p->nopt; i++) {
        if (n && opts[i].w == opts[i - 1].w && opts[i].o == opts[i - 1].o) continue;
        c->ostart[opts[i].w + 1]++;
        c->ooffer[n] = opts[i].o;
        c->ocost[n] = opts[i].cost;
        c->alive[n] = 1;
        n++;
    }
    free(opts);
    for (int w = 0; w < c->nw; w++) c->ostart[w + 1] += c->ostart[w];
    c->oregion = fbi_xmalloc(((size_t)c->no + 1) * sizeof(int));
    for (int o = 0; o < c->no; o++) c->oregion[o] = p->off[o].region;
    c->demand = fbi_xmalloc(((size_t)c->nw + 1) * sizeof(int64_t));
    for (int w = 0; w < c->nw; w++) c->demand[w] = p->wl[w].demand;
    /* Self-links cost the same on every option of their workload's region. */
    for (size_t l = 0; l < p->nlink; l++) {
        if (p->link[l].from != p->link[l].to) continue;
        int w = p->link[l].from;
        for (int i = c->ostart[w]; i < c->ostart[w + 1]; i++) {
            int r = p->off[c->ooffer[i]].region;
            c->ocost[i] += fbi_link_cost(p->link[l].vol, fbi_problem_egress(p, r, r));
        }
    }
    /* Capacity groups: finite per-offer capacities, then the caller's. */
    int ng = 0;
    for (size_t o = 0; o < p->noff; o++) ng += p->off[o].cap != FBI_UNLIMITED;
    ng += (int)p->ngrp;
    c->ng = ng;
    c->gcap = fbi_xmalloc(((size_t)ng + 1) * sizeof(int64_t));
    c->gmeasure = fbi_xmalloc(((size_t)ng + 1) * sizeof(int));
    c->gowner = fbi_xmalloc(((size_t)ng + 1) * sizeof(int));
    size_t m = 0;
    for (size_t g = 0; g < p->ngrp; g++) m += p->grp[g].n;
    m += p->noff;
    int *keys = fbi_xmalloc((m + 1) * sizeof(int)), *vals = fbi_xmalloc((m + 1) * sizeof(int));
    size_t k = 0;
    int g = 0;
    for (size_t o = 0; o < p->noff; o++) {
        if (p->off[o].cap == FBI_UNLIMITED) continue;
        c->gcap[g] = p->off[o].cap;
        c->gmeasure[g] = FBI_MEASURE_VCPU;
        c->gowner[g] = (int)o;
        keys[k] = g; vals[k] = (int)o; k++;
        g++;
    }
    for (size_t gi = 0; gi < p->ngrp; gi++, g++) {
        const fbi_sgroup *sg = &p->grp[gi];
        c->gmeasure[g] = sg->measure;
        c->gcap[g] = sg->measure == FBI_MEASURE_COUNT ? sg->cap * FBI_VCPU : sg->cap;
        c->gowner[g] = -1;
        for (size_t j = 0; j < sg->n; j++) {
            int dup = 0;
            for (size_t j2 = 0; j2 < j; j2++) dup |= sg->offers[j2] == sg->offers[j];
            if (!dup) { keys[k] = g; vals[k] = sg->offers[j]; k++; }
        }
    }
    csr(ng, keys, vals, k, &c->go_start, &c->go);
    csr(c->no, vals, keys, k, &c->og_start, &c->og);
    free(keys);
    free(vals);
    /* Budgets. */
    c->nb = (int)p->nbud;
    c->bcap = fbi_xmalloc(((size_t)c->nb + 1) * sizeof(fbi_money));
    m = 0;
    for (size_t b = 0; b < p->nbud; b++) m += p->bud[b].n;
    keys = fbi_xmalloc((m + 1) * sizeof(int));
    vals = fbi_xmalloc((m + 1) * sizeof(int));
    k = 0;
    for (size_t b = 0; b < p->nbud; b++) {
        c->bcap[b] = p->bud[b].budget;
        for (size_t j = 0; j < p->bud[b].n; j++) {
            int dup = 0;
            for (size_t j2 = 0; j2 < j; j2++) dup |= p->bud[b].w[j2] == p->bud[b].w[j];
            if (!dup) { keys[k] = (int)b; vals[k] = p->bud[b].w[j]; k++; }
        }
    }
    csr(c->nb, keys, vals, k, &c->bw_start, &c->bw);
    csr(c->nw, vals, keys, k, &c->wb_start, &c->wb);
    free(keys);
    free(vals);
    /* Pair terms: merge links and pair constraints per unordered pair. */
    item *items = fbi_xmalloc((p->nlink + p->npair + 1) * sizeof *items);
    size_t ni = 0;
    for (size_t l = 0; l < p->nlink; l++) {
        int a = p->link[l].from, b = p->link[l].to;
        if (a == b) continue;
        items[ni].lo = a < b ? a : b;
        items[ni].hi = a < b ? b : a;
        items[ni].link = (int)l;
        items[ni].pair = -1;
        ni++;
    }
    for (size_t q = 0; q < p->npair; q++) {
        int a = p->pair[q].a, b = p->pair[q].b;
        items[ni].lo = a < b ? a : b;
        items[ni].hi = a < b ? b : a;
        items[ni].link = -1;
        items[ni].pair = (int)q;
        ni++;
    }
    qsort(items, ni, sizeof *items, item_cmp);
    c->t = fbi_xcalloc(ni + 1, sizeof(fbi_term));
    for (size_t i = 0; i < ni;) {
        size_t j = i;
        int by_offer = 0;
        while (j < ni && items[j].lo == items[i].lo && items[j].hi == items[i].hi) {
            if (items[j].pair >= 0 && p->pair[items[j].pair].kind == FBI_PAIR_FORBIDDEN_OFFERS)
                by_offer = 1;
            j++;
        }
        fbi_term *t = &c->t[c->nt++];
        t->a = items[i].lo;
        t->b = items[i].hi;
        t->by_offer = by_offer;
        t->nitems = (int)(j - i);
        term_classes(p, c, t->a, by_offer, &t->ca, &t->ida, &t->na);
        term_classes(p, c, t->b, by_offer, &t->cb, &t->idb, &t->nb);
        t->cost = fbi_xcalloc((size_t)t->na * (size_t)t->nb + 1, sizeof(int64_t));
        for (int x = 0; x < t->na; x++)
            for (int y = 0; y < t->nb; y++) {
                int ra = by_offer ? p->off[t->ida[x]].region : t->ida[x];
                int rb = by_offer ? p->off[t->idb[y]].region : t->idb[y];
                int64_t *cell = &t->cost[(size_t)x * (size_t)t->nb + (size_t)y];
                for (size_t s = i; s < j; s++) {
                    if (*cell == FBI_FORBID) break;
                    if (items[s].link >= 0) {
                        const fbi_slink *lk = &p->link[items[s].link];
                        int64_t pr = lk->from == t->a ? fbi_problem_egress(p, ra, rb)
                                                      : fbi_problem_egress(p, rb, ra);
                        *cell += fbi_link_cost(lk->vol, pr);
                        continue;
                    }
                    const fbi_spair *q = &p->pair[items[s].pair];
                    int bad = 0;
                    switch (q->kind) {
                    case FBI_PAIR_SAME_REGION: bad = ra != rb; break;
                    case FBI_PAIR_DIFFERENT_REGION: bad = ra == rb; break;
                    case FBI_PAIR_DIFFERENT_PROVIDER: bad = p->reg[ra].prov == p->reg[rb].prov; break;
                    default: {
                        int oa = t->ida[x], ob = t->idb[y];
                        for (size_t e = 0; e < q->npairs && !bad; e++) {
                            int pa = q->pairs[2 * e], pb = q->pairs[2 * e + 1];
                            if (q->a == t->a) bad = pa == oa && pb == ob;
                            else bad = pa == ob && pb == oa;
                        }
                    }
                    }
                    if (bad) add_forbid(t, x, y);
                }
            }
        i = j;
    }
    free(items);
    /* Workload -> terms. */
    keys = fbi_xmalloc(((size_t)c->nt * 2 + 1) * sizeof(int));
    vals = fbi_xmalloc(((size_t)c->nt * 2 + 1) * sizeof(int));
    for (int ti = 0; ti < c->nt; ti++) {
        keys[2 * ti] = c->t[ti].a; vals[2 * ti] = 2 * ti;
        keys[2 * ti + 1] = c->t[ti].b; vals[2 * ti + 1] = 2 * ti + 1;
    }
    csr(c->nw, keys, vals, (size_t)c->nt * 2, &c->wt_start, &c->wt);
    free(keys);
    free(vals);
    /* Region classes per workload: the same numbering term_classes() gives
     * every region-based term of the workload. */
    c->ocls = fbi_xmalloc(((size_t)c->ostart[c->nw] + 1) * sizeof(int));
    c->wncls = fbi_xcalloc((size_t)c->nw + 1, sizeof(int));
    c->wregion_terms = fbi_xcalloc((size_t)c->nw + 1, 1);
    for (int w = 0; w < c->nw; w++) {
        int *cls, *ids, ncls;
        term_classes(p, c, w, 0, &cls, &ids, &ncls);
        memcpy(c->ocls + c->ostart[w], cls, (size_t)(c->ostart[w + 1] - c->ostart[w]) * sizeof(int));
        c->wncls[w] = ncls;
        free(cls);
        free(ids);
        int reg = 1;
        for (int q = c->wt_start[w]; q < c->wt_start[w + 1]; q++) reg &= !c->t[c->wt[q] >> 1].by_offer;
        c->wregion_terms[w] = (unsigned char)reg;
    }
    /* An option whose demand alone exceeds a capacity of its offer is dead. */
    for (int w = 0; w < c->nw; w++)
        for (int i = c->ostart[w]; i < c->ostart[w + 1]; i++) {
            int o = c->ooffer[i];
            for (int q = c->og_start[o]; q < c->og_start[o + 1]; q++)
                if (fbi_gweight(c, c->og[q], w) > c->gcap[c->og[q]]) c->alive[i] = 0;
        }
    precheck(p, c);
    if (!c->reason) arc_consistency(p, c);
    p->cmp = c;
    return c;
}

/* ---- solving ---- */

const char *fbi_status_str(fbi_status s)
{
    switch (s) {
    case FBI_OPTIMAL: return "optimal";
    case FBI_FEASIBLE: return "feasible";
    case FBI_INFEASIBLE: return "infeasible";
    default: return "unknown";
    }
}

void fbi_result_free(fbi_result *r)
{
    if (!r) return;
    free(r->offer);
    free(r->reason);
    r->offer = NULL;
    r->reason = NULL;
}

/* Size of the LP model (variables), to decide what is affordable. */
static size_t model_size(const fbi_cmp *c)
{
    size_t n = (size_t)c->ostart[c->nw];
    for (int i = 0; i < c->nt; i++) n += (size_t)c->t[i].na * (size_t)c->t[i].nb;
    return n;
}

/* The bound thread: the capacity Lagrangian (target: the heuristic's best
 * total as it improves), coordinate ascent, then the knapsack Lagrangian,
 * until its deadline. It owns the fbi_lagr while it runs. */
typedef struct bwork {
    fbi_lagr *lg;
    fbi_guide *mail;
    double deadline;
    int verbose;
    fbi_money bound;
    const char *method;
    int infeasible;
} bwork;

/* Tells the heuristic the best bound proven so far (fbi_guide.lb). Only
 * the bound thread writes it. */
static void raise_lb(bwork *b)
{
    if (b->mail && b->bound > atomic_load(&b->mail->lb)) atomic_store(&b->mail->lb, (long long)b->bound);
}

/* Hands the current best capacity prices to the heuristic. */
static void publish(bwork *b)
{
    if (!b->mail) return;
    const fbi_cmp *c = fbi_lagr_cmp(b->lg);
    pthread_mutex_lock(&b->mail->mu);
    memcpy(b->mail->lam, fbi_lagr_group_mult(b->lg), (size_t)c->ng * sizeof(double));
    b->mail->version++;
    atomic_store(&b->mail->fresh, b->mail->version);
    pthread_mutex_unlock(&b->mail->mu);
    raise_lb(b);
}

static void *bound_worker(void *arg)
{
    bwork *b = arg;
    double start = fbi_mono_ms(), span = b->deadline - start;
    fbi_money lb = fbi_lagr_run(b->lg, -1, start + span * 0.3, 1000000, b->verbose);
    if (lb == INT64_MIN) { b->infeasible = 1; return NULL; }
    publish(b);
    lb = fbi_lagr_run(b->lg, -1, start + span * 0.55, 1000000, b->verbose);
    if (lb > b->bound) { b->bound = lb; b->method = "lagrangian"; }
    raise_lb(b);
    lb = fbi_lagr_ascent(b->lg, fbi_mono_ms() + span * 0.1, 20, b->verbose);
    if (lb > b->bound) { b->bound = lb; b->method = "lagrangian"; }
    publish(b);
    double now = fbi_mono_ms();
    lb = fbi_lagr_knap(b->lg, -1, now + (b->deadline - 2 - now) * 0.4, 1000000, b->verbose);
    if (lb == INT64_MIN) { b->infeasible = 1; return NULL; }
    if (lb > b->bound) { b->bound = lb; b->method = "knapsack-lagrangian"; }
    raise_lb(b);
    /* Knapsacks and exact links together: the tightest on egress-heavy
     * instances with tight quotas (bench/README-solver.md). INT64_MIN here
     * only means no bound. */
    lb = fbi_lagr_decomp(b->lg, -1, b->deadline - 2, 1000000, b->verbose);
    if (lb != INT64_MIN && lb > b->bound) { b->bound = lb; b->method = "decomposition-lagrangian"; }
    raise_lb(b);
    return NULL;
}

static void finish(fbi_result *r, fbi_status st, const char *reason, double t0)
{
    r->status = st;
    if (reason) r->reason = fbi_xstrdup(reason);
    r->seconds = (fbi_mono_ms() - t0) / 1e3;
}

/* CPU time of the calling thread, ms. */

int fbi_solve_drain(double max_wait_s)
{
    return fbi_mip_drain(fbi_mono_ms() + (max_wait_s > 0 ? max_wait_s * 1e3 : 0));
}

fbi_money fbi_gap_slack(fbi_money total, double rel_gap)
{
    if (rel_gap <= 0 || total <= 0) return 0;
    double s = floor((double)total * rel_gap);
    return s >= (double)total ? total : (fbi_money)s;
}

int fbi_solve(fbi_problem *p, const fbi_solve_opts *opts, fbi_result *r, char **err)
{
    double t0 = fbi_mono_ms(), cpu0 = fbi_thread_cpu_ms();
    fbi_solve_opts def = {FBI_MODE_AUTO, 10.0, 1, 0, 0};
    if (!opts) opts = &def;
    double limit = opts->time_limit_s > 0 ? opts->time_limit_s : 10.0;
    /* A reserve at the end pays for re-pricing, printing and freeing, so
     * the caller has the answer within the limit. */
    double reserve = limit * 1e3 * 0.02 < 100 ? limit * 1e3 * 0.02 : 100;
    double span = limit * 1e3 - reserve, deadline = t0 + span;
    memset(r, 0, sizeof *r);
    r->nworkloads = p->nwl;
    r->offer = fbi_xmalloc((p->nwl ? p->nwl : 1) * sizeof(int));
    for (size_t w = 0; w < p->nwl; w++) r->offer[w] = -1;
    r->bound_method = "trivial";
    r->plan_method = "heuristic";
    fbi_cmp *c = fbi_problem_compile(p);
    if (c->reason) {
        finish(r, FBI_INFEASIBLE, c->reason, t0);
        return 0;
    }
    size_t size = model_size(c);
    int small = size <= 60000; /* GLPK's LP is affordable */
    /* Default: the heuristic and the bounds first; then, on models small
     * enough for branch and bound, the time left goes to proving. */
    fbi_mode mode = opts->mode;
    int try_mip = mode == FBI_MODE_EXACT || (mode == FBI_MODE_AUTO && size <= 20000);
    if (mode == FBI_MODE_AUTO) mode = FBI_MODE_HEURISTIC;
    /* The tolerance is for models where no exact search is tried: where
     * branch and bound is affordable, the search still goes on to a proof
     * (and plan settles ties only on proven plans). */
    double rel_gap = try_mip ? 0 : opts->rel_gap;

    /* Phase 1 (25%): a first capacity Lagrangian; its prices steer the
     * heuristic's constructions. */
    fbi_lagr *lg = fbi_lagr_new(c);
    fbi_atomic_money ub = -1;
    fbi_lagr_set_live_ub(lg, &ub);
    fbi_lagr_set_rel_gap(lg, rel_gap);
    fbi_money bound = fbi_lagr_run(lg, -1, t0 + span * 0.25, 1000000, opts->verbose);
    if (bound == INT64_MIN) {
        fbi_lagr_free(lg);
        finish(r, FBI_INFEASIBLE, "the Lagrangian relaxation is infeasible: some workload has no offer "
               "that its pair constraints allow", t0);
        return 0;
    }
    r->bound_method = "lagrangian";
    if (opts->verbose) fprintf(stderr, "solve: first lagrangian done at %.0f ms\n", fbi_mono_ms() - t0);
    fbi_guide mail;
    pthread_mutex_init(&mail.mu, NULL);
    mail.lam = fbi_xmalloc(((size_t)c->ng + 1) * sizeof(double));
    memcpy(mail.lam, fbi_lagr_group_mult(lg), (size_t)c->ng * sizeof(double));
    mail.version = 0;
    atomic_store(&mail.fresh, 0);
    atomic_store(&mail.lb, (long long)bound);
    mail.rel_gap = rel_gap;

    /* Phase 2: the heuristic, with the bounds in a second thread. */
    /* Where branch and bound follows, the heuristic gets a quarter: on
     * these models it reaches its best plan in a few milliseconds, and
     * GLPK needs the time to prove it (50x100 with links: 0.05-2.5 s of
     * CPU for glpsol, bench/README-solver.md). */
    double hdead = mode == FBI_MODE_EXACT || try_mip ? t0 + span * 0.25 : small ? t0 + span * 0.6 : deadline;
    /* The bound thread stops a little earlier: one of its steps on a large
     * problem takes a while, and the plan must be priced in time. */
    double margin = span * 0.04 > 50 ? span * 0.04 : 50;
    bwork bw = {lg, &mail, hdead - margin, opts->verbose, bound, "lagrangian", 0};
    /* Where branch and bound follows, it starts now, beside the heuristic
     * and the bounds, and gets the heuristic's plan when it is there: on
     * 50x100 the heuristic's quarter is a quarter of the time in which
     * GLPK could already solve its root and cuts. */
    fbi_mipjob *mj = try_mip ? fbi_mip_start(c, NULL, deadline, opts->verbose) : NULL;
    pthread_t th;
    int threaded = pthread_create(&th, NULL, bound_worker, &bw) == 0;
    int *asg = NULL;
    fbi_money total = -1;
    /* Without branch and bound on the whole model, and with a few seconds
     * to spend, the last 30% of the heuristic's time re-solves
     * neighbourhoods exactly (solver_lns.c). */
    int lns = !try_mip && mode != FBI_MODE_EXACT && c->nt > 0 && p->nbud == 0 &&
              hdead - t0 >= 4000; /* below, a few GLPK solves cost more than they find */
    double hstart = fbi_mono_ms();
    double hend = lns ? hstart + (hdead - margin / 2 - hstart) * 0.7 : hdead - margin / 2;
    if (fbi_heuristic(c, &mail, hend, opts->seed, opts->verbose, &ub, &asg, &total) != 0) {
        free(asg);
        asg = NULL;
        total = -1;
    }
    if (opts->verbose) fprintf(stderr, "solve: heuristic done at %.0f ms\n", fbi_mono_ms() - t0);
    if (mj && total >= 0) fbi_mip_offer(mj, asg);
    if (lns && total >= 0 && (atomic_load(&mail.lb) < total - fbi_gap_slack(total, rel_gap))) {
        fbi_lns(p, c, asg, &total, hdead - margin / 2, opts->seed, &ub, opts->verbose);
        if (opts->verbose) fprintf(stderr, "solve: neighbourhoods done at %.0f ms\n", fbi_mono_ms() - t0);
    }
    /* Without a plan, branch and bound needs the time: stop the bounds.
     * With a plan within rel_gap of the bound, nothing is left to do. */
    if (total < 0 || (rel_gap > 0 && atomic_load(&mail.lb) >= total - fbi_gap_slack(total, rel_gap)))
        fbi_lagr_stop(lg, 1);
    if (threaded) pthread_join(th, NULL);
    else if (total >= 0) bound_worker(&bw);
    fbi_lagr_stop(lg, 0);
    bw.mail = NULL;
    pthread_mutex_destroy(&mail.mu);
    free(mail.lam);
    if (bw.infeasible) {
        fbi_mip_cancel(mj);
        free(asg);
        fbi_lagr_free(lg);
        finish(r, FBI_INFEASIBLE, "the Lagrangian relaxation is infeasible: some workload has no offer "
               "that its pair constraints allow", t0);
        return 0;
    }
    if (bw.bound > bound) { bound = bw.bound; r->bound_method = bw.method; }
    if (opts->verbose) fprintf(stderr, "solve: bound thread joined at %.0f ms\n", fbi_mono_ms() - t0);

    /* Phase 3: the LP bound when affordable. */
    int lp_infeasible = 0;
    if (small && fbi_mono_ms() < deadline && (total < 0 || bound < total - fbi_gap_slack(total, rel_gap))) {
        fbi_money lb = fbi_lagr_lp(lg, fbi_mono_ms() + (deadline - fbi_mono_ms()) * 0.5, &lp_infeasible,
                                   opts->verbose);
        if (lb > bound) { bound = lb; r->bound_method = "lp"; }
    }
    if (lp_infeasible) {
        fbi_mip_cancel(mj);
        free(asg);
        fbi_lagr_free(lg);
        finish(r, FBI_INFEASIBLE, "no placement meets the capacities, budgets and pair constraints "
               "together, not even fractionally (the LP relaxation is infeasible)", t0);
        return 0;
    }
    int proven = total >= 0 && bound >= total;
    /* within the caller's tolerance: good enough to stop, not proven */
    int enough = total >= 0 && bound >= total - fbi_gap_slack(total, rel_gap);
    /* Phase 4: branch and bound when asked for, or when the heuristic found
     * no plan (the only way then to find one or to prove there is none). */
    if (!proven && !enough && (try_mip || total < 0) && deadline - fbi_mono_ms() > 20) {
        int *m = fbi_xcalloc((size_t)c->nw + 1, sizeof(int));
        if (asg) memcpy(m, asg, (size_t)c->nw * sizeof(int));
        /* fbi_mip returns at its deadline whatever GLPK is doing (its
         * branch and bound runs on a thread of its own and is left there,
         * solver_bound.c), so the slack is only for this thread to wake up
         * and price the plan: the less CPU it has been getting, the longer
         * that takes (10 ms of CPU take 10 / share ms of wall time). */
        double share = (fbi_thread_cpu_ms() - cpu0) / (fbi_mono_ms() - t0 + 1);
        if (share < 0.05) share = 0.05;
        if (share > 1) share = 1;
        double slack = 10 / share;
        if (slack > span * 0.1) slack = span * 0.1;
        int mr;
        if (mj) {
            mr = fbi_mip_finish(mj, m, deadline - slack);
            mj = NULL;
        } else {
            mr = fbi_mip(c, m, total >= 0, deadline - slack, opts->verbose);
        }
        if (mr == 2) {
            free(m);
            free(asg);
            fbi_lagr_free(lg);
            finish(r, FBI_INFEASIBLE, "no placement meets the capacities, budgets and pair constraints "
                   "together (proven by branch and bound)", t0);
            return 0;
        }
        if (mr == 1 || mr == 0) {
            fbi_money t2 = fbi_cmp_price(c, m);
            if (t2 >= 0 && (total < 0 || t2 < total)) {
                total = t2;
                r->plan_method = "mip";
                free(asg);
                asg = m;
                m = NULL;
            }
            if (mr == 1 && t2 >= 0) proven = 1;
        }
        free(m);
    } else if (!proven && !enough && total >= 0 && deadline - fbi_mono_ms() > (span * 0.1 > 100 ? span * 0.1 : 100)) {
        /* Phase 4': what is left improves the bound. */
        atomic_store(&ub, total);
        bw.deadline = deadline;
        bound_worker(&bw);
        if (bw.bound > bound) { bound = bw.bound; r->bound_method = bw.method; }
        if (bound >= total) proven = 1;
    }
    fbi_mip_cancel(mj); /* proven or good enough without it */
    fbi_lagr_free(lg);
    if (total < 0) {
        free(asg);
        finish(r, FBI_UNKNOWN, "no feasible placement was found within the time limit, and "
               "infeasibility was not proven; raise --time-limit or try --exact", t0);
        return 0;
    }
    for (int w = 0; w < c->nw; w++) r->offer[w] = c->ooffer[c->ostart[w] + asg[w]];
    free(asg);
    /* Re-price from the raw problem: the number we print. */
    char *why = NULL;
    if (fbi_problem_price(p, r->offer, &r->total, &why) != 0) {
        fail(err, "internal error: the plan found violates a constraint: %s", why);
        free(why);
        return -1;
    }
    if (r->total != total)
        return fail(err, "internal error: compiled total %" PRId64 " differs from the re-priced %" PRId64,
                    total, r->total);
    if (proven) {
        r->status = FBI_OPTIMAL;
        r->bound = r->total;
        if (strcmp(r->plan_method, "mip") == 0 || bound < r->total) r->bound_method = "exact";
    } else {
        r->status = FBI_FEASIBLE;
        r->bound = bound < r->total ? bound : r->total;
    }
    r->gap = r->total > 0 ? (double)(r->total - r->bound) / (double)r->total : 0.0;
    r->seconds = (fbi_mono_ms() - t0) / 1e3;
    return 0;
}
