/* plan_hybrid.c - what `fedbroker plan` adds for hybrid workloads (issue
 * 17): for each Container with burst or placement.strategy hybrid|auto,
 * the offers the planner chooses for its baseline and overflow parts and
 * the five strategies side by side over its traffic profile
 * (core/plan/hybrid.c), in the plan document under "hybrid" and after the
 * table report; the ones it places as two parts (a container part and a
 * function part, chosen by the solver) are handed to the plan before it
 * runs (docs/simulation.md, "The plan places the split"). */
#include "config.h"
#include "cli/cli.h"
#include "cli/planexec.h"
#include "plan/hybrid.h"
#include "spec/spec.h"
#include "base/util.h"
#include "base/decimal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A decimal USD text rounded to cents for the table (the document keeps
 * the exact figure). */
static void cents(const char *usd, char out[40])
{
    int64_t nano = 0;
    char *err = NULL;
    if (!usd || fbi_dec_parse(usd, 9, 0, &nano, &err) != 0) {
        free(err);
        snprintf(out, 40, "?");
        return;
    }
    int64_t c = (nano + 5000000) / 10000000;
    snprintf(out, 40, "%lld.%02lld", (long long)(c / 100), (long long)(c % 100));
}

static int is_hybrid(const json_t *norm)
{
    const json_t *sp = json_object_get(norm, "spec");
    const char *kind = json_string_value(json_object_get(norm, "kind"));
    const char *st = json_string_value(json_object_get(json_object_get(sp, "placement"), "strategy"));
    if (!kind || strcmp(kind, "Container") != 0) return 0;
    if (st) return strcmp(st, "single") != 0;
    return json_object_get(sp, "burst") != NULL;
}

/* Simulates workload i of set (at pin_c, pin_f, or the cheapest offers)
 * into *sp and *one. FB_OK with *placed, or a failure (printed). */
static fb_status simulate_one(fbc_hybrid *h, fbi_broker *b, fb_spec_set *set, size_t i,
                              const fbi_plan_opts *po, const char *pin_c, const char *pin_f,
                              fbi_hybrid_split *sp, json_t **one, int *placed)
{
    const json_t *norm = fbi_spec_doc(set, i);
    const json_t *spread = json_object_get(
        json_object_get(json_object_get(norm, "spec"), "placement"), "spread");
    int spreads = json_integer_value(json_object_get(spread, "minRegions")) > 1 ||
                  json_integer_value(json_object_get(spread, "minProviders")) > 1;
    fb_diag *d = fb_diag_new();
    *placed = 0;
    fb_status st = fbi_hybrid_compare_split(b, norm, po, h->hours, pin_c, pin_f, one,
                                            spreads ? NULL : sp, placed, d);
    size_t n = fb_spec_count(set);
    if (st == FB_OK && *placed) {
        /* the function part's name must be free in its tenant */
        for (size_t k = 0; k < n; k++) {
            const json_t *md = json_object_get(fbi_spec_doc(set, k), "metadata");
            const char *nm = json_string_value(json_object_get(md, "name"));
            if (nm && !strcmp(nm, sp->function_name) && !strcmp(fb_spec_tenant(set, k), sp->tenant)) {
                char *s = fbi_xasprintf("hybrid workload %s/%s: its function part would be named %s, "
                                        "which another workload of the tenant is already called",
                                        sp->tenant, sp->name, sp->function_name);
                fb_diag_add(d, FB_SEV_ERROR, fb_spec_file(set, i), 0, 0, "/metadata/name", s,
                            "rename one of them");
                free(s);
                st = FB_INVALID;
            }
        }
    }
    fb_diag_print(d, stderr);
    fb_diag_free(d);
    if (st != FB_OK) {
        json_decref(*one);
        *one = NULL;
        if (*placed) fbi_hybrid_split_free(sp);
        *placed = 0;
        return st;
    }
    if (spreads)
        json_object_set_new(json_object_get(*one, "placed"), "why", json_string(
            "placement.spread places replicas of the workload: the split is not placed for spread "
            "workloads (each replica is one offer)"));
    return FB_OK;
}

int fbc_hybrid_prepare(fbc_hybrid *h, fbi_broker *b, fb_spec_set *set, fbi_plan_opts *po)
{
    memset(h, 0, sizeof *h);
    int rc = FB_EXIT_OK;
    size_t n = fb_spec_count(set);
    h->splits = fbi_xcalloc(n ? n : 1, sizeof *h->splits);
    h->ps = fbi_xcalloc(n ? n : 1, sizeof *h->ps);
    h->at = fbi_xcalloc(n ? n : 1, sizeof *h->at);
    h->cmp = fbi_xcalloc(n ? n : 1, sizeof *h->cmp);
    h->hours = po->calendar_hours ? 24.0 * po->calendar_hours : 730.0;
    for (size_t i = 0; i < n; i++) {
        if (!is_hybrid(fbi_spec_doc(set, i))) continue;
        json_t *one = NULL;
        int placed = 0;
        fb_status st = simulate_one(h, b, set, i, po, NULL, NULL, &h->splits[h->n], &one, &placed);
        if (st != FB_OK) {
            rc = st == FB_QUOTA ? FB_EXIT_INFEASIBLE : FB_EXIT_INVALID;
            continue;
        }
        if (!h->compare) h->compare = json_array();
        if (placed) {
            h->ps[h->n] = h->splits[h->n].s;
            h->at[h->n] = i;
            h->cmp[h->n] = json_array_size(h->compare);
            h->n++;
        }
        json_array_append_new(h->compare, one);
    }
    po->splits = h->ps;
    po->nsplits = h->n;
    return rc;
}

/* "provider:service:region" of workload name's placement in plan (new),
 * or NULL. */
static char *chosen(const json_t *plan, const char *tenant, const char *name)
{
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(plan, "workloads"), i, w) {
        const char *n = json_string_value(json_object_get(w, "name"));
        const char *t = json_string_value(json_object_get(w, "tenant"));
        const json_t *pl = json_object_get(w, "placement");
        if (!n || !t || strcmp(n, name) || strcmp(t, tenant) || !pl) continue;
        return fbi_xasprintf("%s:%s:%s", json_string_value(json_object_get(pl, "provider")),
                             json_string_value(json_object_get(pl, "service")),
                             json_string_value(json_object_get(pl, "region")));
    }
    return NULL;
}

int fbc_hybrid_refit(fbc_hybrid *h, fbi_broker *b, fb_spec_set *set, fbi_plan_opts *po,
                     const json_t *plan, int *rc)
{
    int changed = 0;
    for (size_t k = 0; k < h->n; k++) {
        fbi_hybrid_split *sp = &h->splits[k];
        char *c = chosen(plan, sp->tenant, sp->name), *f = chosen(plan, sp->tenant, sp->function_name);
        const char *sc = json_string_value(json_object_get(sp->info, "simulated_at"));
        const char *sf = json_string_value(json_object_get(sp->info, "simulated_function_at"));
        if (!c || !f || !sc || !sf || (!strcmp(c, sc) && !strcmp(f, sf))) {
            free(c);
            free(f);
            continue;
        }
        fbi_hybrid_split again;
        json_t *one = NULL;
        int placed = 0;
        fb_status st = simulate_one(h, b, set, h->at[k], po, c, f, &again, &one, &placed);
        free(c);
        free(f);
        if (st != FB_OK) {
            *rc = st == FB_QUOTA ? FB_EXIT_INFEASIBLE : FB_EXIT_INVALID;
            return -1;
        }
        if (!placed) {
            /* at the chosen pair the hybrid strategy no longer wins (auto):
             * the quantities of the first simulation stand, and say where
             * they were simulated */
            json_decref(one);
            continue;
        }
        fbi_hybrid_split_free(sp);
        *sp = again;
        h->ps[k] = sp->s;
        json_array_set_new(h->compare, h->cmp[k], one);
        changed++;
    }
    po->splits = h->ps;
    return changed;
}

void fbc_hybrid_deploy_set(const fbc_hybrid *h, fb_spec_set *set)
{
    for (size_t k = 0; k < h->n; k++) {
        const fbi_hybrid_split *sp = &h->splits[k];
        size_t n = fb_spec_count(set);
        for (size_t i = 0; i < n; i++) {
            if (strcmp(fb_spec_name(set, i), sp->name) || strcmp(fb_spec_tenant(set, i), sp->tenant)) continue;
            char *file = fbi_xstrdup(fb_spec_file(set, i));
            fbi_spec_set_put(set, i, json_deep_copy(sp->deploy_container), file);
            fbi_spec_set_put(set, n, json_deep_copy(sp->deploy_function), file);
            free(file);
            break;
        }
    }
}

void fbc_hybrid_attach(fbc_hybrid *h, json_t *plan)
{
    if (h->compare) json_object_set(plan, "hybrid", h->compare);
}

void fbc_hybrid_free(fbc_hybrid *h)
{
    for (size_t i = 0; i < h->n; i++) fbi_hybrid_split_free(&h->splits[i]);
    free(h->splits);
    free(h->ps);
    free(h->at);
    free(h->cmp);
    json_decref(h->compare);
    memset(h, 0, sizeof *h);
}

/* The capacity schedule apply deploys for the hybrid workload whose
 * container part is cname (its hybrid_part.schedule), one row per step. */
static void print_schedule(const json_t *plan, const char *cname, FILE *out)
{
    size_t i;
    json_t *w;
    const json_t *sc = NULL;
    json_array_foreach(json_object_get(plan, "workloads"), i, w) {
        const char *n = json_string_value(json_object_get(w, "name"));
        if (n && cname && !strcmp(n, cname))
            sc = json_object_get(json_object_get(w, "hybrid_part"), "schedule");
    }
    if (!sc) return;
    const char *start = json_string_value(json_object_get(sc, "start"));
    const json_t *bt = json_object_get(sc, "backtestErrorPct");
    const char *basis = json_string_value(json_object_get(sc, "basis"));
    char bts[64] = "";
    if (json_is_number(bt)) snprintf(bts, sizeof bts, ", backtest error %.1f%%", json_number_value(bt));
    fprintf(out, "  capacity schedule (%s%s%s, each step %lld s ahead; forecast %s%s%s):\n",
            json_string_value(json_object_get(sc, "repeat")), start ? " from " : "", start ? start : "",
            (long long)json_integer_value(json_object_get(sc, "leadSeconds")),
            json_string_value(json_object_get(sc, "forecast")), bts,
            basis && !strcmp(basis, "next-season") ? ", the season after the history" : "");
    fprintf(out, "    %10s %10s %14s\n", "OFFSET", "REPLICAS", "WARM FUNCTIONS");
    json_array_foreach(json_object_get(sc, "steps"), i, w) {
        long long off = (long long)json_integer_value(json_object_get(w, "offsetSeconds"));
        char t[32];
        snprintf(t, sizeof t, "+%lldh%02lldm", off / 3600, off / 60 % 60);
        fprintf(out, "    %10s %10lld %14lld\n", t, (long long)json_integer_value(json_object_get(w, "containers")),
                (long long)json_integer_value(json_object_get(w, "warmFunctions")));
    }
}

void fbc_print_hybrid(const json_t *plan, FILE *out)
{
    const json_t *arr = json_object_get(plan, "hybrid");
    size_t i;
    json_t *h;
    if (!json_array_size(arr)) return;
    fprintf(out, "\nHybrid placement (docs/simulation.md): the strategies over each profile, "
                 "simulated at the cheapest offer of each part\n");
    json_array_foreach(arr, i, h) {
        const json_t *pr = json_object_get(h, "profile");
        fprintf(out, "%s (%s): containers %s, overflow %s; %lld steps of %lld s\n",
                json_string_value(json_object_get(h, "workload")),
                json_string_value(json_object_get(h, "strategy")),
                json_string_value(json_object_get(h, "containerOffer")),
                json_string_value(json_object_get(h, "functionOffer")),
                (long long)json_integer_value(json_object_get(pr, "points")),
                (long long)json_integer_value(json_object_get(pr, "stepSeconds")));
        fprintf(out, "  %-18s %8s %12s %9s %6s %8s %8s %6s\n", "STRATEGY", "BASELINE", "USD/MONTH",
                "VS STATIC", "UTIL", "FN SHARE", "P99 MS", "SLO");
        size_t k;
        json_t *a;
        json_array_foreach(json_object_get(h, "alternatives"), k, a) {
            char bl[16] = "-", p99[24] = "timeout", usd[40];
            cents(json_string_value(json_object_get(a, "monthlyCost")), usd);
            const json_t *bj = json_object_get(a, "baseline");
            if (bj) snprintf(bl, sizeof bl, "%lld", (long long)json_integer_value(bj));
            const json_t *pj = json_object_get(a, "p99Ms");
            if (json_is_number(pj)) snprintf(p99, sizeof p99, "%.0f", json_number_value(pj));
            fprintf(out, "  %-18s %8s %12s %9.0f %5.0f%% %7.1f%% %8s %6s\n",
                    json_string_value(json_object_get(a, "strategy")), bl, usd,
                    json_number_value(json_object_get(a, "vsStaticPeak")),
                    100 * json_number_value(json_object_get(a, "utilisation")),
                    100 * json_number_value(json_object_get(a, "functionShare")), p99,
                    json_is_true(json_object_get(a, "sloMet")) ? "met" : "missed");
        }
        const char *rec = json_string_value(json_object_get(h, "recommended"));
        fprintf(out, "  cheapest with every request served and the SLO met: %s\n",
                rec ? rec : "none");
        const json_t *pl = json_object_get(h, "placed");
        const char *as = json_string_value(json_object_get(pl, "as"));
        if (as && !strcmp(as, "split")) {
            const char *cname = json_string_value(json_object_get(pl, "container"));
            fprintf(out, "  placed as two parts above (%s): %s (containers) and %s (functions)\n",
                    json_string_value(json_object_get(pl, "strategy")), cname,
                    json_string_value(json_object_get(pl, "function")));
            const char *note = json_string_value(json_object_get(pl, "note"));
            if (note) fprintf(out, "  not predictive: %s\n", note);
            print_schedule(plan, cname, out);
        } else if (as)
            fprintf(out, "  placed as one offer: %s\n", json_string_value(json_object_get(pl, "why")));
    }
}
