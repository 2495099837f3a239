/* catalog_lookup.c - price look-ups for the cost model: one product's rows
 * (with tiers) by provider/service/region/metric/variant, and egress prices
 * between two places chosen by the rows' egress_path, so which traffic a
 * row prices is data in prices.csv, not provider names in code. */
#include "config.h"
#include "catalog/catalog_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- egress paths ------------------------------------------------------------------- */

void fbi_egress_path_free(fbi_egress_path *p)
{
    for (size_t a = 0; a < p->n; a++) {
        fbi_ep_side *sides[2] = {&p->alts[a].src, &p->alts[a].dst};
        for (int s = 0; s < 2; s++) {
            for (size_t t = 0; t < sides[s]->n; t++) free(sides[s]->terms[t].arg);
            free(sides[s]->terms);
        }
    }
    free(p->alts);
    memset(p, 0, sizeof *p);
}

static int parse_side(const char *s, size_t n, const char *provider, fbi_ep_side *side,
                      char **err)
{
    size_t i = 0;
    if (n == 0) {
        *err = fbi_xstrdup("an empty side; write '*' for anything");
        return -1;
    }
    while (i <= n) {
        size_t j = i;
        while (j < n && s[j] != '|') j++;
        char *t = fbi_xstrndup(s + i, j - i);
        fbi_ep_term term = {0, NULL};
        if (strcmp(t, "self") == 0) {
            term.type = FBI_EP_SELF;
        } else if (strcmp(t, "*") == 0) {
            term.type = FBI_EP_ANY;
        } else if (strncmp(t, "r:", 2) == 0 && t[2]) {
            term.type = FBI_EP_REGION;
            term.arg = strchr(t + 2, ':') ? fbi_xstrdup(t + 2)
                                          : fbi_xasprintf("%s:%s", provider, t + 2);
        } else if (strcmp(t, "c:~") == 0) {
            term.type = FBI_EP_OTHER_CONT;
        } else if (strncmp(t, "c:", 2) == 0 && fbi_continent_known(t + 2)) {
            term.type = FBI_EP_CONT;
            term.arg = fbi_xstrdup(t + 2);
        } else if (strncmp(t, "j:", 2) == 0 && t[2]) {
            term.type = FBI_EP_JUR;
            term.arg = fbi_xstrdup(t + 2);
        } else {
            *err = fbi_xasprintf("unknown term '%s' (use self, *, r:REGION, c:CONTINENT, c:~ "
                                 "or j:JURISDICTION)", t);
            free(t);
            return -1;
        }
        free(t);
        side->terms = fbi_xrealloc(side->terms, (side->n + 1) * sizeof *side->terms);
        side->terms[side->n++] = term;
        i = j + 1;
    }
    return 0;
}

int fbi_egress_path_parse(const char *text, const char *provider, fbi_egress_path *out,
                          char **err)
{
    const char *p = text;
    memset(out, 0, sizeof *out);
    while (*p) {
        const char *e = strchr(p, ';');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        const char *gt = memchr(p, '>', n);
        if (!gt || memchr(gt + 1, '>', n - (size_t)(gt - p) - 1)) {
            *err = fbi_xasprintf("'%.*s' needs exactly one '>' between source and destination",
                                 (int)n, p);
            fbi_egress_path_free(out);
            return -1;
        }
        out->alts = fbi_xrealloc(out->alts, (out->n + 1) * sizeof *out->alts);
        fbi_ep_alt *alt = &out->alts[out->n++];
        memset(alt, 0, sizeof *alt);
        if (parse_side(p, (size_t)(gt - p), provider, &alt->src, err) != 0 ||
            parse_side(gt + 1, n - (size_t)(gt - p) - 1, provider, &alt->dst, err) != 0) {
            fbi_egress_path_free(out);
            return -1;
        }
        p += n;
        if (*p == ';') {
            p++;
            if (!*p) {
                *err = fbi_xstrdup("a trailing ';'");
                fbi_egress_path_free(out);
                return -1;
            }
        }
    }
    return 0;
}

/* One end of a transfer, as egress terms see it. */
typedef struct ep_end {
    const char *key;          /* region key or NULL */
    const char *continent;    /* or NULL */
    const char *jurisdiction; /* or NULL */
} ep_end;

static int nonempty(const char *s) { return s && *s; }

static int term_score(const fbi_ep_term *t, const char *row_key, const ep_end *me,
                      const ep_end *other)
{
    switch (t->type) {
    case FBI_EP_SELF:
        return me->key && strcmp(me->key, row_key) == 0 ? 3 : -1;
    case FBI_EP_ANY:
        return 0;
    case FBI_EP_REGION:
        return me->key && strcmp(me->key, t->arg) == 0 ? 3 : -1;
    case FBI_EP_CONT:
        return nonempty(me->continent) && strcmp(me->continent, t->arg) == 0 ? 2 : -1;
    case FBI_EP_OTHER_CONT:
        return nonempty(me->continent) && nonempty(other->continent) &&
               strcmp(me->continent, other->continent) != 0 ? 1 : -1;
    case FBI_EP_JUR:
        return nonempty(me->jurisdiction) && strcmp(me->jurisdiction, t->arg) == 0 ? 2 : -1;
    }
    return -1;
}

static int side_score(const fbi_ep_side *s, const char *row_key, const ep_end *me,
                      const ep_end *other)
{
    int best = -1;
    for (size_t i = 0; i < s->n; i++) {
        int v = term_score(&s->terms[i], row_key, me, other);
        if (v > best) best = v;
    }
    return best;
}

/* Best score of a path for src -> dst: destination specificity first (x10),
 * then source specificity; -1 when it does not apply. */
static int path_score(const fbi_egress_path *p, const char *row_key, const ep_end *src,
                      const ep_end *dst)
{
    int best = -1;
    for (size_t a = 0; a < p->n; a++) {
        int s = side_score(&p->alts[a].src, row_key, src, dst);
        int d = side_score(&p->alts[a].dst, row_key, dst, src);
        if (s < 0 || d < 0) continue;
        if (d * 10 + s > best) best = d * 10 + s;
    }
    return best;
}

const char *fbi_egress_kind_name(fbi_egress_kind k)
{
    static const char *const n[] = {"same-region", "inter-region", "internet"};
    return (unsigned)k < 3 ? n[k] : "?";
}

void fbi_egress_clear(fbi_egress *e)
{
    free(e->tiers);
    memset(e, 0, sizeof *e);
}

static const fbi_price_row *group_first(const fbi_catalog *cat, size_t g)
{
    return &cat->prices[cat->groups[g].rows[0]];
}

static void diag_err(fb_diag *d, const char *summary, const char *detail)
{
    fb_diag_add(d, FB_SEV_ERROR, NULL, 0, 0, NULL, summary, detail);
}

fb_status fbi_catalog_egress(const fbi_catalog *cat, const char *src, const char *dst,
                             fbi_egress *out, fb_diag *diag)
{
    memset(out, 0, sizeof *out);
    const fbi_region *rs = fbi_catalog_region(cat, src);
    if (!rs || strcmp(rs->kind, "scope") == 0 || strcmp(rs->kind, "probe") == 0) {
        char *s = fbi_xasprintf("unknown source region '%s' for egress", src ? src : "(null)");
        diag_err(diag, s, "give a provider:region key from regions.csv, e.g. aws:us-east-1");
        free(s);
        return FB_NOTFOUND;
    }
    ep_end se = {rs->key, rs->continent, rs->jurisdiction}, de = {NULL, NULL, NULL};
    const fbi_region *rd = NULL;
    const char *dname = "the internet";
    if (dst && strcmp(dst, "internet") != 0) {
        rd = fbi_catalog_region(cat, dst);
        const fbi_location *ld = rd ? NULL : fbi_catalog_location(cat, dst);
        if (rd) {
            de.key = rd->key;
            de.continent = rd->continent;
            de.jurisdiction = rd->jurisdiction;
        } else if (ld) {
            de.continent = ld->continent;
            de.jurisdiction = ld->jurisdiction;
        } else {
            char *s = fbi_xasprintf("unknown egress destination '%s'", dst);
            diag_err(diag, s, "give a provider:region key, a location from locations.csv, or "
                              "'internet'");
            free(s);
            return FB_NOTFOUND;
        }
        dname = dst;
    }
    static const char *const same[] = {"egress_inter_az", "egress_inter_zone", NULL};
    static const char *const inter[] = {"egress_inter_region", NULL};
    static const char *const inet[] = {"egress_internet", NULL};
    const char *const *metrics;
    if (rd && rd == rs) {
        out->kind = FBI_EGRESS_SAME_REGION;
        metrics = same;
    } else if (rd && strcmp(rd->provider, rs->provider) == 0) {
        out->kind = FBI_EGRESS_INTER_REGION;
        metrics = inter;
    } else {
        out->kind = FBI_EGRESS_INTERNET;
        metrics = inet;
    }
    int best = -1;
    size_t *cand = fbi_xcalloc(cat->ngroups ? cat->ngroups : 1, sizeof *cand);
    size_t ncand = 0;
    for (size_t g = 0; g < cat->ngroups; g++) {
        const fbi_price_row *r = group_first(cat, g);
        size_t idx = cat->groups[g].rows[0];
        if (strcmp(r->provider, rs->provider) != 0 || strcmp(r->pricing_model, "historical") == 0)
            continue;
        int mok = 0;
        for (const char *const *m = metrics; *m; m++)
            if (strcmp(r->metric, *m) == 0) mok = 1;
        if (!mok || cat->paths[idx].n == 0) continue;
        char *row_key = fbi_xasprintf("%s:%s", r->provider, r->region);
        int sc = path_score(&cat->paths[idx], row_key, &se, &de);
        free(row_key);
        if (sc < 0 || sc < best) continue;
        if (sc > best) {
            best = sc;
            ncand = 0;
        }
        cand[ncand++] = g;
    }
    if (ncand == 0) {
        free(cand);
        if (out->kind == FBI_EGRESS_SAME_REGION) {
            out->fallback = 1;
            snprintf(out->note, sizeof out->note,
                     "%s -> %s: no inter-zone egress row for provider %s; assumed free "
                     "(documented fallback: traffic inside one region; flagged)",
                     src, dname, rs->provider);
            return FB_OK;
        }
        char *s = fbi_xasprintf("no %s egress price for %s -> %s", fbi_egress_kind_name(out->kind),
                                src, dname);
        char *d = fbi_xasprintf("prices.csv has no %s row of provider %s whose egress_path "
                                "covers this pair; add one (or an override) rather than guess",
                                metrics[0], rs->provider);
        diag_err(diag, s, d);
        free(s);
        free(d);
        return FB_NOTFOUND;
    }
    if (ncand > 1) {
        fbi_buf b;
        fbi_buf_init(&b);
        for (size_t k = 0; k < ncand; k++)
            fbi_buf_printf(&b, "%s%s (line %d)", k ? ", " : "", cat->groups[cand[k]].key,
                           group_first(cat, cand[k])->line);
        char *s = fbi_xasprintf("ambiguous egress price for %s -> %s", src, dname);
        char *d = fbi_xasprintf("these rows match equally well: %s; make one egress_path more "
                                "specific", b.data);
        diag_err(diag, s, d);
        free(s);
        free(d);
        fbi_buf_free(&b);
        free(cand);
        return FB_CONFLICT;
    }
    const fbi_price_group *grp = &cat->groups[cand[0]];
    free(cand);
    out->tiers = fbi_xcalloc(grp->n, sizeof *out->tiers);
    for (size_t k = 0; k < grp->n; k++) out->tiers[k] = &cat->prices[grp->rows[k]];
    out->ntiers = grp->n;
    snprintf(out->note, sizeof out->note, "%s -> %s: %s egress, %s (egress_path '%s', line %d)",
             src, dname, fbi_egress_kind_name(out->kind), grp->key, out->tiers[0]->egress_path,
             out->tiers[0]->line);
    /* the provider's account-wide allowance for this metric, if the catalog has one */
    char *ft = fbi_xasprintf("%s_free_tier", metrics[0]);
    for (size_t g = 0; g < cat->ngroups; g++) {
        const fbi_price_row *r = group_first(cat, g);
        if (strcmp(r->provider, rs->provider) == 0 && strcmp(r->region, "global") == 0 &&
            strcmp(r->metric, ft) == 0)
            out->free_tier = r;
    }
    free(ft);
    return FB_OK;
}

/* ---- product look-up ------------------------------------------------------------------ */

/* How well a row's variant answers the query: 4 exact, 3 a '+' part, 2 a
 * leading word, 1 the row has no variant (applies to all), -1 no match. */
static int variant_rank(const char *row, const char *q)
{
    if (!q) return 4;
    if (strcmp(row, q) == 0) return 4;
    if (!*row) return 1;
    size_t n = strlen(q);
    const char *p = row;
    while (*p) {
        const char *e = strchr(p, '+');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, q, n) == 0) return 3;
        p += len;
        if (*p == '+') p++;
    }
    if (strncmp(row, q, n) == 0 && (row[n] == ' ' || row[n] == '/')) return 2;
    return -1;
}

fb_status fbi_catalog_find_prices(const fbi_catalog *cat, const fbi_price_query *q,
                                  const fbi_price_row ***rows, size_t *n, fb_diag *diag)
{
    *rows = NULL;
    *n = 0;
    const char *region = q->region;
    size_t plen = strlen(q->provider);
    if (strncmp(region, q->provider, plen) == 0 && region[plen] == ':') region += plen + 1;
    const char *tries[3] = {region, NULL, NULL};
    const fbi_region *rg = fbi_catalog_region2(cat, q->provider, region);
    if (rg && *rg->price_group) tries[1] = rg->price_group;
    tries[2] = "global";
    size_t *cand = fbi_xcalloc(cat->ngroups ? cat->ngroups : 1, sizeof *cand);
    for (int t = 0; t < 3; t++) {
        if (!tries[t] || (t == 2 && strcmp(region, "global") == 0)) continue;
        int best = -1;
        size_t ncand = 0;
        for (size_t g = 0; g < cat->ngroups; g++) {
            const fbi_price_row *r = group_first(cat, g);
            if (strcmp(r->provider, q->provider) != 0 || strcmp(r->service, q->service) != 0 ||
                strcmp(r->region, tries[t]) != 0 || strcmp(r->metric, q->metric) != 0)
                continue;
            if (q->pricing_model ? strcmp(r->pricing_model, q->pricing_model) != 0
                                 : strcmp(r->pricing_model, "historical") == 0)
                continue;
            int vr = variant_rank(r->variant, q->variant);
            if (vr < 0 || vr < best) continue;
            if (vr > best) {
                best = vr;
                ncand = 0;
            }
            cand[ncand++] = g;
        }
        if (ncand == 0) continue;
        if (ncand > 1) {
            fbi_buf b;
            fbi_buf_init(&b);
            for (size_t k = 0; k < ncand; k++) {
                const fbi_price_row *r = group_first(cat, cand[k]);
                fbi_buf_printf(&b, "%s'%s' (%s)", k ? ", " : "", r->variant, r->pricing_model);
            }
            char *s = fbi_xasprintf("ambiguous price for %s %s %s %s: several variants match",
                                    q->provider, q->service, tries[t], q->metric);
            char *d = fbi_xasprintf("pass one of the variants: %s", b.data);
            diag_err(diag, s, d);
            free(s);
            free(d);
            fbi_buf_free(&b);
            free(cand);
            return FB_CONFLICT;
        }
        const fbi_price_group *grp = &cat->groups[cand[0]];
        *rows = fbi_xcalloc(grp->n, sizeof **rows);
        for (size_t k = 0; k < grp->n; k++) (*rows)[k] = &cat->prices[grp->rows[k]];
        *n = grp->n;
        free(cand);
        return FB_OK;
    }
    free(cand);
    /* say what does exist for this product, so the caller can fix the query */
    fbi_buf b;
    fbi_buf_init(&b);
    size_t shown = 0;
    for (size_t g = 0; g < cat->ngroups && shown < 12; g++) {
        const fbi_price_row *r = group_first(cat, g);
        if (strcmp(r->provider, q->provider) != 0 || strcmp(r->service, q->service) != 0 ||
            strcmp(r->metric, q->metric) != 0)
            continue;
        fbi_buf_printf(&b, "%s%s '%s' (%s)", shown ? ", " : "", r->region, r->variant,
                       r->pricing_model);
        shown++;
    }
    char *s = fbi_xasprintf("no price for %s %s in %s, metric %s%s%s%s", q->provider, q->service,
                            region, q->metric, q->variant ? ", variant '" : "",
                            q->variant ? q->variant : "", q->variant ? "'" : "");
    char *d = shown ? fbi_xasprintf("the catalog has this metric for: %s", b.data)
                    : fbi_xasprintf("the catalog has no %s %s rows with metric %s; add them to "
                                    "prices.csv", q->provider, q->service, q->metric);
    diag_err(diag, s, d);
    free(s);
    free(d);
    fbi_buf_free(&b);
    return FB_NOTFOUND;
}
