/* check_split.c - fbi_solve_parts (core/solver/solver_split.c) against the
 * whole solve, on federation-shaped problems: applications of 2-7 linked
 * workloads (chains and trees, which the parts' dynamic programming
 * solves, and chains closed into a cycle, which go to branch and bound),
 * some with forbidden offer pairs (a link's latency budget) or a
 * same-region pair, over offers in regions of two providers.
 *
 * Each instance is solved whole by fbi_solve in exact mode (GLPK's branch
 * and bound proves it) and part by part; both must be proven optimal with
 * the same total, and the parts' plan must keep every constraint (the test
 * prices it through fbi_problem_price on the whole problem). Three
 * families: independent applications (one part per application), a
 * tight budget over two applications (they become one part), and an
 * offer capacity that binds across applications (every application that
 * may use the offer joins one part). The tiny random instances of
 * check_solver.c compare fbi_solve_parts with exhaustive enumeration. */
#include "config.h"
#include "solver/solver.h"
#include "base/util.h"

#include <check.h>
#include "../lib/fbtest.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rs = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void) { return fbt_xorshift(&rs); }
static int rint_(int n) { return (int)(rnd() % (uint64_t)n); }

enum { FAM_INDEPENDENT = 0, FAM_BUDGET = 1, FAM_CAPACITY = 2 };

#define NREG 6
#define NOFF 12

typedef struct finst {
    fbi_problem *p;
    int napps;
    int app_first[16], app_n[16];
    int64_t cheap[128];  /* each workload's cheapest option, nano-USD */
} finst;

/* new (in f->p): a federation of napps applications of the family. */
static void make_fed(finst *f, int napps, int family)
{
    char *err = NULL;
    fbi_problem *p = fbi_problem_new();
    memset(f, 0, sizeof *f);
    f->p = p;
    f->napps = napps;
    for (int r = 0; r < NREG; r++) {
        char name[32];
        snprintf(name, sizeof name, "p%d:r%d", r % 2, r);
        ck_assert_int_eq(fbi_problem_add_region(p, name, r % 2 ? "p1" : "p0", &err), r);
    }
    for (int a = 0; a < NREG; a++)
        for (int b = 0; b < NREG; b++)
            ck_assert_int_eq(fbi_problem_set_egress(p, a, b, a == b ? 0 : (int64_t)(20 + rint_(100)) * 1000000,
                                                    &err), 0);
    /* offer 0 is the contested one of the capacity family: cheap, and
     * room for two workloads of demand 1 vCPU */
    for (int o = 0; o < NOFF; o++)
        ck_assert_int_eq(fbi_problem_add_offer(p, NULL, o % NREG,
                                               family == FAM_CAPACITY && o == 0 ? 2000000 : FBI_UNLIMITED, &err), o);
    int w = 0;
    for (int a = 0; a < napps; a++) {
        int n = 2 + rint_(6);
        f->app_first[a] = w;
        f->app_n[a] = n;
        for (int k = 0; k < n; k++, w++) {
            ck_assert_int_eq(fbi_problem_add_workload(p, NULL, 1000000, &err), w);
            int added = 0;
            for (int o = 0; o < NOFF; o++) {
                /* the contested offer is the cheapest for everyone */
                int on = family == FAM_CAPACITY && o == 0 ? 1 : rint_(2) != 0;
                if (!on && !(o == NOFF - 1 && !added)) continue;
                int64_t cost = family == FAM_CAPACITY && o == 0 ? 1000000000
                                                                : (int64_t)(5 + rint_(40)) * 1000000000 + rint_(1000);
                ck_assert_int_ge(fbi_problem_add_option(p, w, o, cost, &err), 0);
                if (!added || cost < f->cheap[w]) f->cheap[w] = cost;
                added++;
            }
            if (k == 0) continue;
            /* a chain, or a tree: linked to an earlier member */
            int to = rint_(2) ? w - 1 : f->app_first[a] + rint_(k);
            ck_assert_int_ge(fbi_problem_add_link(p, to, w, (int64_t)(50 + rint_(900)) * FBI_GIB / 10, &err), 0);
            if (rint_(4) == 0) {
                /* a latency budget forbids some offer pairs */
                int pairs[6];
                for (int i = 0; i < 3; i++) {
                    pairs[2 * i] = rint_(NOFF);
                    pairs[2 * i + 1] = rint_(NOFF);
                }
                ck_assert_int_ge(fbi_problem_add_pair(p, FBI_PAIR_FORBIDDEN_OFFERS, to, w, pairs, 3, &err), 0);
            }
            if (rint_(8) == 0) ck_assert_int_ge(fbi_problem_add_pair(p, FBI_PAIR_SAME_REGION, to, w, NULL, 0, &err), 0);
        }
        /* every third application closes its chain into a cycle */
        if (a % 3 == 2 && n >= 3)
            ck_assert_int_ge(fbi_problem_add_link(p, w - 1, f->app_first[a], 3 * FBI_GIB, &err), 0);
    }
    if (family == FAM_BUDGET) {
        /* applications 0 and 1 under one budget: their cheapest options
         * and 2 USD a workload more, so it holds but keeps them from the
         * dearer options their links pull them to */
        int ws[16], nws = 0;
        int64_t budget = 0;
        for (int a = 0; a < 2; a++)
            for (int k = 0; k < f->app_n[a]; k++) {
                ws[nws++] = f->app_first[a] + k;
                budget += f->cheap[f->app_first[a] + k] + 2 * FBI_USD;
            }
        ck_assert_int_ge(fbi_problem_add_budget(p, "apps 0 and 1", budget, ws, (size_t)nws, &err), 0);
    }
    ck_assert_ptr_null(err);
}

static void check_family(int family, int runs)
{
    int split_runs = 0;
    for (int it = 0; it < runs; it++) {
        finst f;
        int napps = 3 + rint_(3);
        make_fed(&f, napps, family);
        fbi_solve_opts o = {FBI_MODE_EXACT, 8.0, 1, 0, 0};
        fbi_result whole, parts;
        char *err = NULL;
        ck_assert_msg(fbi_solve(f.p, &o, &whole, &err) == 0, "whole solve failed: %s", err ? err : "");
        ck_assert_msg(fbi_solve_parts(f.p, &o, 0, &parts, &err) == 0, "parts failed: %s", err ? err : "");
        ck_assert_int_eq(parts.nworkloads, whole.nworkloads);
        if (whole.status == FBI_INFEASIBLE) {
            /* the budget family can be cut too tight: the parts then
             * solve the whole problem for its reason */
            ck_assert_int_eq(parts.status, FBI_INFEASIBLE);
            ck_assert_ptr_nonnull(parts.reason);
        } else {
            ck_assert_msg(whole.status == FBI_OPTIMAL, "instance %d: the whole solve is %s", it,
                          fbi_status_str(whole.status));
            ck_assert_msg(parts.status == FBI_OPTIMAL && parts.total == whole.total,
                          "family %d instance %d: parts %s total %" PRId64 ", whole optimum %" PRId64, family, it,
                          fbi_status_str(parts.status), parts.total, whole.total);
            ck_assert_int_eq(parts.bound, parts.total);
            /* the parts' plan keeps every constraint and prices to its total */
            fbi_money t = -1;
            char *why = NULL;
            ck_assert_msg(fbi_problem_price(f.p, parts.offer, &t, &why) == 0, "the parts' plan: %s", why ? why : "");
            ck_assert_int_eq(t, parts.total);
            ck_assert_uint_eq(parts.parts_proven, parts.parts);
            /* how many parts, by the family */
            if (family == FAM_INDEPENDENT) ck_assert_uint_eq(parts.parts, (size_t)napps);
            if (family == FAM_BUDGET) ck_assert_uint_eq(parts.parts, (size_t)napps - 1);
            if (family == FAM_CAPACITY) ck_assert_uint_eq(parts.parts, 1);
            split_runs += parts.parts > 1;
        }
        fbi_result_free(&whole);
        fbi_result_free(&parts);
        fbi_problem_free(f.p);
    }
    if (family != FAM_CAPACITY) ck_assert_int_gt(split_runs, runs / 2);
}

START_TEST(test_independent_applications)
{
    check_family(FAM_INDEPENDENT, 25);
}
END_TEST

START_TEST(test_coupling_budget)
{
    check_family(FAM_BUDGET, 12);
}
END_TEST

START_TEST(test_coupling_capacity)
{
    check_family(FAM_CAPACITY, 10);
}
END_TEST

/* A capacity that cannot bind ties nothing: offer 0 with room for every
 * workload that may use it keeps the applications apart. */
START_TEST(test_capacity_that_cannot_bind)
{
    char *err = NULL;
    fbi_problem *p = fbi_problem_new();
    ck_assert_int_eq(fbi_problem_add_region(p, "a:r0", "a", &err), 0);
    ck_assert_int_eq(fbi_problem_add_region(p, "a:r1", "a", &err), 1);
    ck_assert_int_eq(fbi_problem_set_egress(p, 0, 1, FBI_USD / 10, &err), 0);
    ck_assert_int_eq(fbi_problem_add_offer(p, NULL, 0, 4 * FBI_VCPU, &err), 0);
    ck_assert_int_eq(fbi_problem_add_offer(p, NULL, 1, FBI_UNLIMITED, &err), 1);
    for (int w = 0; w < 4; w++) {
        ck_assert_int_eq(fbi_problem_add_workload(p, NULL, FBI_VCPU, &err), w);
        ck_assert_int_ge(fbi_problem_add_option(p, w, 0, (2 + w) * FBI_USD, &err), 0);
        ck_assert_int_ge(fbi_problem_add_option(p, w, 1, 3 * FBI_USD, &err), 0);
    }
    ck_assert_int_ge(fbi_problem_add_link(p, 0, 1, 10 * FBI_GIB, &err), 0);
    ck_assert_int_ge(fbi_problem_add_link(p, 2, 3, 10 * FBI_GIB, &err), 0);
    fbi_solve_opts o = {FBI_MODE_EXACT, 10.0, 1, 0, 0};
    fbi_result r;
    ck_assert_int_eq(fbi_solve_parts(p, &o, 0, &r, &err), 0);
    ck_assert_uint_eq(r.parts, 2);
    ck_assert_int_eq(r.status, FBI_OPTIMAL);
    /* 0 and 1 on offer 0 (2 + 3), 2 and 3 on offer 1 (3 + 3, 4 and 5 on
     * offer 0, the link 1 USD across) */
    ck_assert_int_eq(r.total, 11 * FBI_USD);
    fbi_result_free(&r);
    /* with room for three only, the capacity binds: one part */
    fbi_problem_free(p);
    p = fbi_problem_new();
    ck_assert_int_eq(fbi_problem_add_region(p, "a:r0", "a", &err), 0);
    ck_assert_int_eq(fbi_problem_add_offer(p, NULL, 0, 3 * FBI_VCPU, &err), 0);
    ck_assert_int_eq(fbi_problem_add_offer(p, NULL, 0, FBI_UNLIMITED, &err), 1);
    for (int w = 0; w < 4; w++) {
        ck_assert_int_eq(fbi_problem_add_workload(p, NULL, FBI_VCPU, &err), w);
        ck_assert_int_ge(fbi_problem_add_option(p, w, 0, FBI_USD, &err), 0);
        ck_assert_int_ge(fbi_problem_add_option(p, w, 1, 2 * FBI_USD, &err), 0);
    }
    ck_assert_int_eq(fbi_solve_parts(p, &o, 0, &r, &err), 0);
    ck_assert_uint_eq(r.parts, 1);
    ck_assert_int_eq(r.status, FBI_OPTIMAL);
    ck_assert_int_eq(r.total, 5 * FBI_USD);
    fbi_result_free(&r);
    fbi_problem_free(p);
    ck_assert_ptr_null(err);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("solver parts");
    /* one case each, so that CK_RUN_CASE runs one */
    struct { const char *name; const TTest *test; } cases[] = {
        {"unbound", test_capacity_that_cannot_bind},
        {"independent", test_independent_applications},
        {"budget", test_coupling_budget},
        {"capacity", test_coupling_capacity},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_set_timeout(tc, 600);
        tcase_add_test(tc, cases[i].test);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
