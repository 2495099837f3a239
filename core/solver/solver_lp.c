/* solver_lp.c - CPLEX LP export of a placement problem, for glpsol and cbc.
 *
 *   x_W_O   binary: workload W placed on offer O (one per feasible pair)
 *   zT_I_J  continuous >= 0: pair term T (links and pair constraints between
 *           two workloads) with class I on the first side and J on the second
 *           (classes are regions, or offers for offer-level constraints)
 * Rows: one assignment row per workload; one capacity row per finite offer
 * capacity and per capacity group; one row per budget; for each pair term,
 * the flow rows sum_J zT_I_J = sum of x of the first workload in class I and
 * sum_I zT_I_J = sum of x of the second workload in class J. Forbidden class
 * pairs have no z variable. The objective is the total monthly cost in USD,
 * with every coefficient the exact nano-USD amount the solver uses.
 * Options ruled out by our own preprocessing are still written, so the file
 * is the plain model. */
#include "config.h"
#include "solver/solver_impl.h"
#include "base/util.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

typedef struct lw {
    FILE *f;
    int col;   /* characters on the current line */
    int first; /* first term of the current expression */
} lw;

/* Appends " + coef name" to the current expression, wrapping long lines
 * (readers limit line length). coef is value x 10^-scale. */
static void term(lw *w, int64_t coef, int scale, const char *name)
{
    char num[40];
    fbi_decimal_format(coef < 0 ? -coef : coef, scale, 0, num);
    if (w->col > 200) {
        fputs("\n   ", w->f);
        w->col = 3;
    }
    int n;
    int one = strcmp(num, "1") == 0; /* a coefficient of 1 is left out */
    if (w->first && coef >= 0) n = one ? fprintf(w->f, " %s", name) : fprintf(w->f, " %s %s", num, name);
    else if (one) n = fprintf(w->f, " %s %s", coef < 0 ? "-" : "+", name);
    else n = fprintf(w->f, " %s %s %s", coef < 0 ? "-" : "+", num, name);
    w->col += n > 0 ? n : 0;
    w->first = 0;
}

static void begin(lw *w, const char *label)
{
    int n = fprintf(w->f, " %s:", label);
    w->col = n > 0 ? n : 0;
    w->first = 1;
}

static void zname(char *buf, size_t n, int ti, int i, int j)
{
    snprintf(buf, n, "z%d_%d_%d", ti, i, j);
}

int fbi_problem_write_lp(fbi_problem *p, FILE *f, char **err)
{
    fbi_cmp *c = fbi_problem_compile(p);
    lw w = {f, 0, 1};
    char name[64];
    fprintf(f, "\\ fedbroker placement problem: %d workloads, %d offers, %zu links, %d pair terms\n"
               "\\ objective: total monthly cost in USD\n", c->nw, c->no, p->nlink, c->nt);
    fputs("Minimize\n", f);
    begin(&w, "cost");
    int any = 0;
    for (int wl = 0; wl < c->nw; wl++)
        for (int i = c->ostart[wl]; i < c->ostart[wl + 1]; i++) {
            if (!c->ocost[i]) continue;
            snprintf(name, sizeof name, "x_%d_%d", wl, c->ooffer[i]);
            term(&w, c->ocost[i], 9, name);
            any = 1;
        }
    for (int ti = 0; ti < c->nt; ti++) {
        const fbi_term *t = &c->t[ti];
        for (int x = 0; x < t->na; x++)
            for (int y = 0; y < t->nb; y++) {
                int64_t v = t->cost[(size_t)x * (size_t)t->nb + (size_t)y];
                if (v == FBI_FORBID || v == 0) continue;
                zname(name, sizeof name, ti, t->ida[x], t->idb[y]);
                term(&w, v, 9, name);
                any = 1;
            }
    }
    if (!any) {
        /* An objective needs a term: a zero one on any variable. */
        if (c->ostart[c->nw] > 0) {
            snprintf(name, sizeof name, "x_%d_%d", 0, c->ooffer[0]);
            for (int wl = 0; wl < c->nw; wl++)
                if (c->ostart[wl + 1] > c->ostart[wl]) {
                    snprintf(name, sizeof name, "x_%d_%d", wl, c->ooffer[c->ostart[wl]]);
                    break;
                }
            term(&w, 0, 0, name);
        }
    }
    fputs("\nSubject To\n", f);
    for (int wl = 0; wl < c->nw; wl++) {
        snprintf(name, sizeof name, "assign_%d", wl);
        begin(&w, name);
        if (c->ostart[wl] == c->ostart[wl + 1]) {
            /* No feasible offer: an empty row that cannot hold. */
            fputs(" 0 x_none = 1\n", f);
            continue;
        }
        for (int i = c->ostart[wl]; i < c->ostart[wl + 1]; i++) {
            snprintf(name, sizeof name, "x_%d_%d", wl, c->ooffer[i]);
            term(&w, 1, 0, name);
        }
        fputs(" = 1\n", f);
    }
    /* Capacity rows: group -> offers -> workloads with an option there. */
    int *first = fbi_xmalloc(((size_t)c->no + 1) * sizeof(int));
    int *next = fbi_xmalloc(((size_t)c->ostart[c->nw] + 1) * sizeof(int));
    for (int o = 0; o < c->no; o++) first[o] = -1;
    for (int i = c->ostart[c->nw] - 1; i >= 0; i--) {
        next[i] = first[c->ooffer[i]];
        first[c->ooffer[i]] = i;
    }
    int *owner = fbi_xmalloc(((size_t)c->ostart[c->nw] + 1) * sizeof(int));
    for (int wl = 0; wl < c->nw; wl++)
        for (int i = c->ostart[wl]; i < c->ostart[wl + 1]; i++) owner[i] = wl;
    for (int g = 0; g < c->ng; g++) {
        if (c->gowner[g] >= 0) snprintf(name, sizeof name, "cap_offer_%d", c->gowner[g]);
        else snprintf(name, sizeof name, "cap_group_%d", g);
        begin(&w, name);
        int n = 0;
        for (int k = c->go_start[g]; k < c->go_start[g + 1]; k++)
            for (int i = first[c->go[k]]; i >= 0; i = next[i]) {
                int64_t m = fbi_gweight(c, g, owner[i]);
                if (!m) continue;
                snprintf(name, sizeof name, "x_%d_%d", owner[i], c->ooffer[i]);
                term(&w, m, 6, name);
                n++;
            }
        if (!n) fputs(" 0 x_none", f);
        char num[40];
        fprintf(f, " <= %s\n", fbi_decimal_format(c->gcap[g], 6, 0, num));
    }
    for (int b = 0; b < c->nb; b++) {
        snprintf(name, sizeof name, "budget_%d", b);
        begin(&w, name);
        int n = 0;
        for (int k = c->bw_start[b]; k < c->bw_start[b + 1]; k++) {
            int wl = c->bw[k];
            for (int i = c->ostart[wl]; i < c->ostart[wl + 1]; i++) {
                if (!c->ocost[i]) continue;
                snprintf(name, sizeof name, "x_%d_%d", wl, c->ooffer[i]);
                term(&w, c->ocost[i], 9, name);
                n++;
            }
        }
        if (!n) fputs(" 0 x_none", f);
        char num[40];
        fprintf(f, " <= %s\n", fbi_decimal_format(c->bcap[b], 9, 0, num));
    }
    for (int ti = 0; ti < c->nt; ti++) {
        const fbi_term *t = &c->t[ti];
        for (int side = 0; side < 2; side++) {
            int nk = side ? t->nb : t->na;
            for (int k = 0; k < nk; k++) {
                snprintf(name, sizeof name, "t%d_%c%d", ti, side ? 'b' : 'a', side ? t->idb[k] : t->ida[k]);
                begin(&w, name);
                int n = 0;
                int other = side ? t->na : t->nb;
                for (int q = 0; q < other; q++) {
                    int x = side ? q : k, y = side ? k : q;
                    if (t->cost[(size_t)x * (size_t)t->nb + (size_t)y] == FBI_FORBID) continue;
                    zname(name, sizeof name, ti, t->ida[x], t->idb[y]);
                    term(&w, 1, 0, name);
                    n++;
                }
                int wl = side ? t->b : t->a;
                for (int i = c->ostart[wl]; i < c->ostart[wl + 1]; i++) {
                    int cls = side ? t->cb[i - c->ostart[wl]] : t->ca[i - c->ostart[wl]];
                    if (cls != k) continue;
                    snprintf(name, sizeof name, "x_%d_%d", wl, c->ooffer[i]);
                    term(&w, -1, 0, name);
                    n++;
                }
                if (!n) fputs(" 0 x_none", f);
                fputs(" = 0\n", f);
            }
        }
    }
    free(first);
    free(next);
    free(owner);
    fputs("Bounds\n", f);
    int none = 0;
    for (int wl = 0; wl < c->nw; wl++) none |= c->ostart[wl] == c->ostart[wl + 1];
    if (none) fputs(" x_none = 0\n", f);
    fputs("Binary\n", f);
    w.col = 0;
    for (int wl = 0; wl < c->nw; wl++)
        for (int i = c->ostart[wl]; i < c->ostart[wl + 1]; i++) {
            int n = fprintf(f, " x_%d_%d", wl, c->ooffer[i]);
            w.col += n > 0 ? n : 0;
            if (w.col > 200) { fputc('\n', f); w.col = 0; }
        }
    fputs("\nEnd\n", f);
    if (fflush(f) != 0 || ferror(f)) {
        if (err) *err = fbi_xasprintf("writing the LP file failed: %s", strerror(errno));
        return -1;
    }
    return 0;
}
