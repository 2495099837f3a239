/* budget.c - budgets (a workload's placement.budget, a federation's
 * budget) and the figure each is compared with: net after free tiers (the
 * default), contracted (before free tiers) or list (docs/spec.md,
 * "Budgets"), computed exactly as the plan document computes it.
 *
 * Net depends on the whole plan: a free tier is shared by every chosen
 * line it covers, so one workload's credit falls when another joins its
 * pool. The solver cannot see that, so the plan is found by verify and
 * branch (docs/plan.md, "Budgets"): the solver gets each budget relaxed to
 * what its figure could at best allow (a workload's candidates are
 * filtered on the most credit they can get, a federation's budget is
 * raised by the most its members can save), which keeps every plan that
 * meets the real budgets; the plan it returns is checked on its own
 * figures; when one breaks a budget, the search branches on a workload
 * that figure depends on (force its candidate, or rule it out) and solves
 * again, until the cheapest plan that keeps every budget is found or none
 * is left. A federation's figure adds the egress of the links its members
 * send; the solver's row leaves them out (a link costs >= 0, so that is
 * still a relaxation) and the search branches on both ends of them. A subtree whose workloads that matter are all forced and still
 * breaks the budget holds no plan that keeps it: its figure no longer
 * depends on anything else.
 *
 * Thread notes: all of it runs on the thread that solves. */
#include "config.h"
#include "plan/plan_int.h"
#include "spec/spec.h"
#include "base/decimal.h"

#include <stdlib.h>

/* At most this many solves of the search; past it (or past the time
 * limit) the plan found is reported with an honest bound (feasible, not
 * optimal), or the status is unknown. */
#define SEARCH_MAX_SOLVES 400

budget_basis fbi_plan_basis(const json_t *budget)
{
    const char *b = jstr(budget, "basis");
    if (b && !strcmp(b, "contracted")) return BASIS_CONTRACTED;
    if (b && !strcmp(b, "list")) return BASIS_LIST;
    return BASIS_NET;
}

const char *fbi_plan_basis_words(budget_basis b)
{
    return b == BASIS_LIST ? "at list prices" : b == BASIS_CONTRACTED ? "contracted (before free tiers)"
                                                                      : "net after free tiers";
}

static const char *basis_name(budget_basis b)
{
    return b == BASIS_LIST ? "list" : b == BASIS_CONTRACTED ? "contracted" : "net";
}

/* The lowest figure a candidate can have on this basis. */
static int64_t figure_lo(const option *op, budget_basis b)
{
    return b == BASIS_LIST ? opt_ev(op)->list_nano
           : b == BASIS_NET ? opt_ev(op)->contracted_nano - opt_ev(op)->credit_ub_nano
                            : opt_ev(op)->contracted_nano;
}

int64_t fbi_plan_budget_slack(const wl *w, budget_basis b)
{
    int64_t s = 0;
    for (size_t k = 0; k < w->nopts; k++) {
        const option *op = &w->opts[k];
        if (opt_class(w, op)) continue;
        int64_t d = opt_ev(op)->contracted_nano - figure_lo(op, b);
        if (d > s) s = d;
    }
    return s;
}

/* The figure of workload w's chosen candidate (w->chosen >= 0; its free
 * tiers netted by fbi_plan_free_tiers): its own lines. A federation's
 * figure adds the links its members send (link_figure). */
static int64_t wl_figure(const wl *w, budget_basis b)
{
    const option *op = &w->opts[w->chosen];
    if (b == BASIS_LIST) return opt_ev(op)->list_nano;
    if (b == BASIS_CONTRACTED) return opt_ev(op)->contracted_nano;
    int64_t c = 0;
    for (size_t k = 0; k < w->ncredit; k++) c += w->credit_nano[k];
    return opt_ev(op)->contracted_nano + c;
}

static int64_t wl_credit(const wl *w)
{
    int64_t c = 0;
    for (size_t k = 0; k < w->ncredit; k++) c += w->credit_nano[k];
    return c;
}

/* One budget of the plan: a workload's (fed NULL) or a federation's. */
typedef struct budget_ref {
    const json_t *fed;   /* borrowed, or NULL */
    size_t w;            /* the workload, when fed is NULL */
    int64_t budget_nano;
    budget_basis basis;
} budget_ref;

/* Every budget of the model (new array in *out). */
static size_t list_budgets(const model *m, budget_ref **out)
{
    size_t n = 0;
    *out = NULL;
    for (size_t i = 0; i < m->nw; i++) {
        const json_t *bj = json_object_get(m->w[i].placement, "budget");
        int64_t b = json_integer_value(json_object_get(bj, "monthlyMicroUsd"));
        if (b <= 0) continue;
        *out = fbi_xrealloc(*out, (n + 1) * sizeof **out);
        (*out)[n++] = (budget_ref){NULL, i, b * NANO_PER_MICRO, fbi_plan_basis(bj)};
    }
    size_t fi;
    json_t *fed;
    json_array_foreach(fbi_spec_federations(m->set), fi, fed) {
        const json_t *bj = json_object_get(fed, "budget");
        int64_t b = json_integer_value(json_object_get(bj, "monthlyMicroUsd"));
        if (b <= 0) continue;
        *out = fbi_xrealloc(*out, (n + 1) * sizeof **out);
        (*out)[n++] = (budget_ref){fed, 0, b * NANO_PER_MICRO, fbi_plan_basis(bj)};
    }
    return n;
}

static int has_budgets(const model *m)
{
    budget_ref *bs = NULL;
    size_t n = list_budgets(m, &bs);
    free(bs);
    return n > 0;
}

/* The workloads (replicas included) a budget's figure adds up (new). */
static size_t budget_members(const model *m, const budget_ref *br, size_t **out)
{
    size_t n = 0;
    *out = NULL;
    if (!br->fed) {
        *out = fbi_xcalloc(1, sizeof **out);
        (*out)[n++] = br->w;
        return n;
    }
    const char *tenant = jstr(br->fed, "tenant");
    size_t k, cap = 0;
    json_t *name;
    json_array_foreach(json_object_get(br->fed, "workloads"), k, name) {
        size_t first = 0, cnt = fbi_plan_find_wl(m, tenant, json_string_value(name), &first);
        for (size_t r = 0; r < cnt; r++) {
            if (n == cap) {
                cap = cap ? 2 * cap : 16;
                *out = fbi_xrealloc(*out, cap * sizeof **out);
            }
            (*out)[n++] = first + r;
        }
    }
    return n;
}

/* The egress of the links a federation's members send (to a member or
 * not), priced as the document prices them: each link's monthly_cost
 * (contracted) on net and contracted, its list_cost on list; free tiers
 * never cover a link. A link belongs to its sender, as the report
 * allocates it. *placed is cleared when a sender or receiver has no
 * candidate chosen. When deps is given, the receivers outside the
 * federation of links with volume are appended to it (the figure depends
 * on their choice too); deps may be the address of mem itself: mem is
 * read only before the first append. */
static int64_t link_figure(const model *m, const build *bd, const size_t *mem, size_t nm,
                           budget_basis b, int *placed, size_t **deps, size_t *ndeps)
{
    if (!bd || !bd->nlinks || !nm) return 0;
    unsigned char *in = fbi_xcalloc(m->nw ? m->nw : 1, 1);
    for (size_t j = 0; j < nm; j++) in[mem[j]] = 1;
    int64_t sum = 0;
    for (size_t i = 0; i < bd->nlinks; i++) {
        const jlink *l = &bd->links[i];
        if (in[l->from] != 1) continue; /* not a member (2: a receiver listed below) */
        if (deps && !in[l->to] && l->volume_nano_gib > 0) {
            in[l->to] = 2; /* listed once */
            *deps = fbi_xrealloc(*deps, (*ndeps + 1) * sizeof **deps);
            (*deps)[(*ndeps)++] = (size_t)l->to;
        }
        const wl *wa = &m->w[l->from], *wb = &m->w[l->to];
        if (wa->chosen < 0 || wb->chosen < 0) {
            *placed = 0;
            continue;
        }
        const plan_link_egress *e = fbi_plan_link_egress(m, opt_of(m, &wa->opts[wa->chosen]), opt_of(m, &wb->opts[wb->chosen]));
        int64_t unit = !e->ok ? 0 : b == BASIS_LIST ? e->list_nano : e->unit_nano;
        sum += fbi_plan_link_cost(l->volume_nano_gib, unit);
    }
    free(in);
    return sum;
}

/* "placement.budget.monthly of tenant/api" or "budget.monthly of
 * federation tenant/shop" (new). */
static char *budget_name(const model *m, const budget_ref *br)
{
    if (br->fed)
        return fbi_xasprintf("budget.monthly of federation %s/%s", jstr(br->fed, "tenant"), jstr(br->fed, "name"));
    return fbi_xasprintf("placement.budget.monthly of %s/%s", m->w[br->w].tenant, m->w[br->w].name);
}

/* Nano-USD rounded up to the cent, as a decimal ("12.35"). */
static char *cents_up(int64_t nano, char *buf)
{
    int64_t cents = nano > 0 ? (nano + 9999999) / 10000000 : 0;
    return fbi_dec_format(cents, 2, 2, buf);
}

int fbi_plan_budgets_hold(model *m, const build *bd, const fbi_result *r, char **viol,
                          size_t **members, size_t *nmembers, budget_basis *basis)
{
    *viol = NULL;
    if (members) *members = NULL;
    if (nmembers) *nmembers = 0;
    if (!has_budgets(m)) return 1;
    for (size_t i = 0; i < m->nw; i++) {
        wl *w = &m->w[i];
        w->chosen = -1;
        int off = w->sp_w >= 0 && (size_t)w->sp_w < r->nworkloads ? r->offer[w->sp_w] : -1;
        for (size_t k = 0; k < w->nopts; k++)
            if (!opt_class(w, &w->opts[k]) && bd->sp_of[opt_of(m, &w->opts[k])->idx] == off) w->chosen = (int)k;
        /* a failure here is a bug the document reports */
        if (w->chosen >= 0) (void)fbi_plan_option_lines(m, w->sh, &w->opts[w->chosen]);
    }
    int64_t credit = 0;
    json_decref(fbi_plan_free_tiers(m, &credit));
    budget_ref *bs = NULL;
    size_t nb = list_budgets(m, &bs);
    fbi_buf v;
    fbi_buf_init(&v);
    int first = 1;
    for (size_t b = 0; b < nb; b++) {
        size_t *mem = NULL;
        size_t nm = budget_members(m, &bs[b], &mem);
        int64_t fig = 0;
        int placed = 1;
        for (size_t j = 0; j < nm; j++) {
            if (m->w[mem[j]].chosen < 0) placed = 0;
            else fig += wl_figure(&m->w[mem[j]], bs[b].basis);
        }
        /* the members' links; their receivers outside the federation join
         * the workloads the figure depends on, after the members (pick) */
        size_t nmem = nm;
        int64_t lc = bs[b].fed ? link_figure(m, bd, mem, nmem, bs[b].basis, &placed, &mem, &nm) : 0;
        fig += lc;
        if (!placed || fig <= bs[b].budget_nano) {
            free(mem);
            continue;
        }
        char *nmtxt = budget_name(m, &bs[b]);
        char a[40], c[40], d[FBI_DEC_BUF];
        char e[40];
        fbi_buf_printf(&v, "%s%s is %s USD/month; the plan's figure is %s USD/month %s (the "
                       "workloads' own lines%s%s%s%s; raise it to \"%s\" to admit this plan)",
                       first ? "" : "; ", nmtxt, fbi_nano_str(bs[b].budget_nano, a),
                       fbi_nano_str(fig, c), fbi_plan_basis_words(bs[b].basis),
                       bs[b].basis == BASIS_NET ? " plus their share of the free tiers" : "",
                       bs[b].fed ? " plus the egress of the links they send (" : "",
                       bs[b].fed ? fbi_nano_str(lc, e) : "", bs[b].fed ? ")" : "",
                       cents_up(fig, d));
        free(nmtxt);
        if (first) {
            if (members) *members = mem;
            else free(mem);
            mem = NULL;
            if (nmembers) *nmembers = nm;
            if (basis) *basis = bs[b].basis;
        }
        free(mem);
        first = 0;
    }
    free(bs);
    if (first) {
        fbi_buf_free(&v);
        return 1;
    }
    *viol = fbi_buf_steal(&v);
    return 0;
}

json_t *fbi_plan_budgets_json(model *m, const build *bd)
{
    json_t *out = json_array();
    budget_ref *bs = NULL;
    size_t nb = list_budgets(m, &bs);
    for (size_t b = 0; b < nb; b++) {
        size_t *mem = NULL;
        size_t nm = budget_members(m, &bs[b], &mem);
        int64_t fig = 0, contracted = 0, list = 0, credit = 0;
        int placed = nm > 0;
        for (size_t j = 0; j < nm; j++) {
            const wl *w = &m->w[mem[j]];
            if (w->chosen < 0) {
                placed = 0;
                continue;
            }
            fig += wl_figure(w, bs[b].basis);
            contracted += opt_ev(&w->opts[w->chosen])->contracted_nano;
            list += opt_ev(&w->opts[w->chosen])->list_nano;
            credit += wl_credit(w);
        }
        int64_t lc = bs[b].fed ? link_figure(m, bd, mem, nm, bs[b].basis, &placed, NULL, NULL) : 0;
        fig += lc;
        json_t *o = bs[b].fed ? json_pack("{s:s,s:s,s:s}", "scope", "federation", "federation",
                                          jstr(bs[b].fed, "name"), "tenant", jstr(bs[b].fed, "tenant"))
                              : json_pack("{s:s,s:s,s:s}", "scope", "workload", "workload",
                                          m->w[bs[b].w].name, "tenant", m->w[bs[b].w].tenant);
        json_object_set_new(o, "basis", json_string(basis_name(bs[b].basis)));
        json_object_set_new(o, "budget", fbi_plan_nano_json(bs[b].budget_nano));
        if (placed) {
            /* the figure and its parts, each the sum of the members' own
             * contracted_cost, list_cost and free_tier_credit */
            json_object_set_new(o, "compared", fbi_plan_nano_json(fig));
            json_object_set_new(o, "contracted_cost", fbi_plan_nano_json(contracted));
            json_object_set_new(o, "list_cost", fbi_plan_nano_json(list));
            json_object_set_new(o, "free_tier_credit", fbi_plan_nano_json(credit));
            /* the egress of the links the members send, at the basis's
             * price (list_cost or monthly_cost of each link in links[]) */
            if (bs[b].fed) json_object_set_new(o, "link_cost", fbi_plan_nano_json(lc));
            json_object_set_new(o, "within", json_boolean(fig <= bs[b].budget_nano));
        }
        json_object_set_new(o, "figure", json_string(
            bs[b].fed ? (bs[b].basis == BASIS_NET
                             ? "net after free tiers: the members' contracted_cost plus their free_tier_credit "
                               "plus link_cost, the monthly_cost of the links they send"
                         : bs[b].basis == BASIS_LIST
                             ? "list: the members' list_cost plus link_cost, the list_cost of the links they send"
                             : "contracted: the members' contracted_cost plus link_cost, the monthly_cost of "
                               "the links they send, before free tiers")
            : bs[b].basis == BASIS_NET ? "net after free tiers: the workload's contracted_cost plus its "
                                         "free_tier_credit (links not included)"
            : bs[b].basis == BASIS_LIST ? "list: the workload's list_cost (links not included)"
                                        : "contracted: the workload's contracted_cost, before free tiers "
                                          "(links not included)"));
        json_array_append_new(out, o);
        free(mem);
    }
    free(bs);
    return out;
}

/* ---- the search ------------------------------------------------------------------ */

typedef struct bdec {
    size_t w;
    int k;
    int fix;             /* 1: force candidate k, 0: rule it out */
} bdec;

typedef struct bnode {
    bdec *d;
    size_t n;
    int64_t bound;       /* a lower bound on every plan of the subtree */
} bnode;

static void apply_node(model *m, const bnode *nd)
{
    for (size_t i = 0; i < m->nw; i++) {
        m->w[i].bb_fixed = -1;
        if (m->w[i].bb_out) memset(m->w[i].bb_out, 0, m->w[i].nopts ? m->w[i].nopts : 1);
    }
    for (size_t j = 0; nd && j < nd->n; j++) {
        wl *w = &m->w[nd->d[j].w];
        if (nd->d[j].fix) {
            w->bb_fixed = nd->d[j].k;
        } else {
            if (!w->bb_out) w->bb_out = fbi_xcalloc(w->nopts ? w->nopts : 1, 1);
            w->bb_out[nd->d[j].k] = 1;
        }
    }
}

static size_t alive(const wl *w)
{
    size_t n = 0;
    for (size_t k = 0; k < w->nopts; k++) n += !opt_class(w, &w->opts[k]);
    return n;
}

static int any_covered(const wl *w)
{
    for (size_t k = 0; k < w->nopts; k++)
        if (!opt_class(w, &w->opts[k]) && opt_ev(&w->opts[k])->in_free_tier) return 1;
    return 0;
}

/* The workload to branch on for a broken budget: one of its members that
 * still has a choice; for net, then one that shares (or could share) a
 * free tier, those whose chosen candidate is in one first. -1 when the
 * figure depends on nothing left to choose. */
static long pick(const model *m, const size_t *mem, size_t nm, budget_basis b)
{
    for (size_t j = 0; j < nm; j++)
        if (alive(&m->w[mem[j]]) > 1) return (long)mem[j];
    if (b != BASIS_NET) return -1;
    int members_covered = 0;
    for (size_t j = 0; j < nm && !members_covered; j++) members_covered = any_covered(&m->w[mem[j]]);
    if (!members_covered) return -1; /* no free tier in its figure */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < m->nw; i++) {
            const wl *w = &m->w[i];
            if (alive(w) < 2) continue;
            if (pass == 0 ? (w->chosen >= 0 && opt_ev(&w->opts[w->chosen])->in_free_tier) : any_covered(w))
                return (long)i;
        }
    return -1;
}

static void push(bnode **st, size_t *n, const bnode *parent, size_t w, int k, int fix, int64_t bound)
{
    *st = fbi_xrealloc(*st, (*n + 1) * sizeof **st);
    bnode *c = &(*st)[(*n)++];
    c->n = parent->n + 1;
    c->d = fbi_xcalloc(c->n, sizeof *c->d);
    if (parent->n) memcpy(c->d, parent->d, parent->n * sizeof *c->d);
    c->d[parent->n] = (bdec){w, k, fix};
    c->bound = bound;
}

fb_status fbi_plan_budget_search(model *m, build *bd, fbi_result *r, int *solved, char **why,
                                 char **nearest)
{
    *why = *nearest = NULL;
    m->budget_solves = 0;
    if (!*solved || !has_budgets(m)) return FB_OK;
    char *viol = NULL;
    size_t *mem = NULL, nm = 0;
    budget_basis basis = BASIS_NET;
    if (fbi_plan_budgets_hold(m, bd, r, &viol, &mem, &nm, &basis)) return FB_OK;
    double limit = m->o->time_limit_s > 0 ? m->o->time_limit_s : 10.0;
    double deadline = fbi_mono_ms() + 1000.0 * limit;
    int64_t root_bound = r->bound;
    fb_status rc = FB_OK;
    bnode *st = NULL;
    size_t nst = 0;
    bnode root = {NULL, 0, r->bound};
    long bw = pick(m, mem, nm, basis);
    if (bw >= 0) {
        int k = m->w[bw].chosen;
        push(&st, &nst, &root, (size_t)bw, k, 0, root.bound);
        push(&st, &nst, &root, (size_t)bw, k, 1, root.bound);
    }
    free(mem);
    build ib;
    fbi_result ir;
    memset(&ib, 0, sizeof ib);
    memset(&ir, 0, sizeof ir);
    int have = 0, incomplete = 0;
    int64_t open_lb = INT64_MAX;
    size_t solves = 0;
    while (nst) {
        bnode nd = st[--nst];
        if (rc != FB_OK || (have && nd.bound >= ir.total)) {
            free(nd.d);
            continue;
        }
        if (solves >= SEARCH_MAX_SOLVES || fbi_mono_ms() > deadline) {
            if (nd.bound < open_lb) open_lb = nd.bound;
            incomplete = 1;
            free(nd.d);
            continue;
        }
        solves++;
        apply_node(m, &nd);
        build nb;
        fbi_result nr;
        memset(&nb, 0, sizeof nb);
        memset(&nr, 0, sizeof nr);
        fbi_plan_build_problem(m, &nb);
        double left = (deadline - fbi_mono_ms()) / 1000.0;
        fbi_solve_opts so = {FBI_MODE_AUTO, left > 0.05 ? left : 0.05, 1, 0, fbi_plan_solve_gap(m)};
        char *err = NULL;
        int keep = 0;
        if (fbi_solve_parts(nb.p, &so, FBI_PLAN_PARTS_MIN, &nr, &err) != 0) {
            fb_diag_add(m->diag, FB_SEV_ERROR, NULL, 0, 0, NULL, "the solver failed", err);
            rc = FB_INTERNAL;
        } else if (nr.status == FBI_UNKNOWN) {
            if (nd.bound < open_lb) open_lb = nd.bound;
            incomplete = 1;
        } else if (nr.status != FBI_INFEASIBLE) {
            int64_t lb = nr.bound > nd.bound ? nr.bound : nd.bound;
            char *v2 = NULL;
            size_t *m2 = NULL, n2 = 0;
            budget_basis b2 = BASIS_NET;
            if (have && lb >= ir.total) {
                /* nothing cheaper below */
            } else if (fbi_plan_budgets_hold(m, &nb, &nr, &v2, &m2, &n2, &b2)) {
                if (nr.status != FBI_OPTIMAL && lb < open_lb) open_lb = lb; /* not explored to the end */
                if (!have || nr.total < ir.total) {
                    if (have) {
                        fbi_result_free(&ir);
                        fbi_plan_build_free(&ib);
                    }
                    ib = nb;
                    ir = nr;
                    have = keep = 1;
                }
            } else {
                long b = pick(m, m2, n2, b2);
                if (b >= 0) {
                    int k = m->w[b].chosen;
                    push(&st, &nst, &nd, (size_t)b, k, 0, lb);
                    push(&st, &nst, &nd, (size_t)b, k, 1, lb);
                }
                /* else every workload its figure depends on is forced:
                 * no plan of this subtree keeps that budget */
            }
            free(v2);
            free(m2);
        }
        free(err);
        if (!keep) {
            fbi_result_free(&nr);
            fbi_plan_build_free(&nb);
        }
        free(nd.d);
    }
    free(st);
    apply_node(m, NULL);
    m->budget_solves = solves;
    if (rc != FB_OK) {
        if (have) {
            fbi_result_free(&ir);
            fbi_plan_build_free(&ib);
        }
        free(viol);
        return rc;
    }
    if (have) {
        fbi_plan_build_free(bd);
        *bd = ib;
        fbi_result_free(r);
        *r = ir;
        int64_t lb = open_lb < r->total ? open_lb : r->total;
        if (lb < root_bound) lb = root_bound;
        r->bound = lb;
        r->status = lb >= r->total ? FBI_OPTIMAL : FBI_FEASIBLE;
        r->gap = r->total > 0 ? (double)(r->total - lb) / (double)r->total : 0.0;
        free(viol);
        /* the chosen candidates and free tiers of the plan kept */
        char *v3 = NULL;
        if (!fbi_plan_budgets_hold(m, bd, r, &v3, NULL, NULL, NULL)) free(v3);
        return FB_OK;
    }
    *solved = 0;
    /* no plan: nothing is chosen (the document shows none) */
    for (size_t i = 0; i < m->nw; i++) m->w[i].chosen = -1;
    r->status = incomplete ? FBI_UNKNOWN : FBI_INFEASIBLE;
    if (incomplete)
        *why = fbi_xasprintf("no plan that keeps every budget was found within the search's limits "
                             "(%zu solves, %.0f s); the cheapest plan within the other constraints "
                             "breaks one: %s", solves, limit, viol);
    else
        *why = fbi_xasprintf("no placement keeps every budget on the figure it is compared with "
                             "(searched in %zu solves); the cheapest plan within the other "
                             "constraints breaks one: %s", solves, viol);
    *nearest = fbi_xasprintf("raise the budgets named to the figures given (that admits the cheapest "
                             "plan within the other constraints), or choose another basis "
                             "(budget.basis: contracted or list; docs/spec.md)%s",
                             incomplete ? ", or give the search more time (--time-limit)" : "");
    free(viol);
    return FB_OK;
}

char *fbi_plan_budget_relaxation(model *m)
{
    int any = 0;
    size_t fi;
    json_t *fed;
    json_array_foreach(fbi_spec_federations(m->set), fi, fed)
        any |= json_integer_value(jpath(fed, "budget", "monthlyMicroUsd")) > 0;
    if (!any) return NULL;
    m->skip_fed_budgets = 1;
    build nb;
    fbi_result nr;
    memset(&nb, 0, sizeof nb);
    memset(&nr, 0, sizeof nr);
    fbi_plan_build_problem(m, &nb);
    m->skip_fed_budgets = 0;
    fbi_solve_opts so = {FBI_MODE_AUTO, m->o->time_limit_s, 1, 0, fbi_plan_solve_gap(m)};
    char *err = NULL, *v = NULL, *out = NULL;
    if (fbi_solve_parts(nb.p, &so, FBI_PLAN_PARTS_MIN, &nr, &err) == 0 && (nr.status == FBI_OPTIMAL || nr.status == FBI_FEASIBLE) &&
        !fbi_plan_budgets_hold(m, &nb, &nr, &v, NULL, NULL, NULL))
        out = fbi_xasprintf("without the federation budgets the cheapest plan found within the other "
                            "constraints costs %s USD/month contracted: %s",
                            fbi_nano_str(nr.total, (char[40]){0}), v);
    free(v);
    free(err);
    for (size_t i = 0; i < m->nw; i++) m->w[i].chosen = -1;
    fbi_result_free(&nr);
    fbi_plan_build_free(&nb);
    return out;
}
