/* check_quantum.c - unit tests of the quantum library: every kernel against
 * the full-matrix product built here (on random states and random
 * unitaries), norm preservation, gate classification, the PRNG against its
 * published test vectors, the binomial sampler's moments, modifiers, the
 * trajectory engine's replay path, the parser API, and robustness against
 * mangled input. */
#include "config.h"
#include "fbq_int.h"
#include "../lib/fbtest.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- test-side linear algebra (independent of the kernels) ---- */

static fbq_rng trng;

static double gauss(void)
{
    double u1 = 1.0 - fbq_rng_uniform(&trng), u2 = fbq_rng_uniform(&trng);
    return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

static fbq_c cnum(double re, double im)
{
    fbq_c c = {re, im};
    return c;
}

/* A random unitary: Gram-Schmidt on random complex Gaussian columns. */
static fbq_c *random_unitary(int k)
{
    size_t D = (size_t)1 << k;
    fbq_c *m = malloc(D * D * sizeof *m);
    for (size_t i = 0; i < D * D; i++) m[i] = cnum(gauss(), gauss());
    for (size_t c = 0; c < D; c++) {
        for (size_t p = 0; p < c; p++) {
            fbq_c dot = {0, 0};
            for (size_t r = 0; r < D; r++) dot = fbq_cadd(dot, fbq_cmul(fbq_cconj(m[r * D + p]), m[r * D + c]));
            for (size_t r = 0; r < D; r++) {
                fbq_c t = fbq_cmul(dot, m[r * D + p]);
                m[r * D + c].re -= t.re;
                m[r * D + c].im -= t.im;
            }
        }
        double nrm = 0;
        for (size_t r = 0; r < D; r++) nrm += m[r * D + c].re * m[r * D + c].re + m[r * D + c].im * m[r * D + c].im;
        nrm = sqrt(nrm);
        for (size_t r = 0; r < D; r++) {
            m[r * D + c].re /= nrm;
            m[r * D + c].im /= nrm;
        }
    }
    return m;
}

static double *random_state(int n)
{
    double *s = fbq_state_alloc(n);
    double nrm = 0;
    for (size_t i = 0; i < (2u << n); i++) {
        s[i] = gauss();
        nrm += s[i] * s[i];
    }
    for (size_t i = 0; i < (2u << n); i++) s[i] /= sqrt(nrm);
    return s;
}

/* The full 2^n matrix of gate g on qubits qs, active when (i & cmask) ==
 * cval, applied to s by a dense matrix-vector product. */
static void naive_apply(double *s, int n, int k, const int *qs, const fbq_c *g, uint64_t cmask, uint64_t cval)
{
    size_t N = (size_t)1 << n, D = (size_t)1 << k;
    fbq_c *out = calloc(N, sizeof *out);
    for (size_t r = 0; r < N; r++) {
        for (size_t c = 0; c < N; c++) {
            fbq_c v = {0, 0};
            int active = (c & cmask) == cval && (r & cmask) == cval;
            uint64_t tmask = 0;
            size_t sr = 0, sc = 0;
            for (int j = 0; j < k; j++) {
                tmask |= 1ull << qs[j];
                sr |= ((r >> qs[j]) & 1) << j;
                sc |= ((c >> qs[j]) & 1) << j;
            }
            if (active) {
                if ((r & ~tmask) == (c & ~tmask)) v = g[sr * D + sc];
            } else if (r == c) {
                v.re = 1;
            }
            if (v.re == 0 && v.im == 0) continue;
            out[r] = fbq_cadd(out[r], fbq_cmul(v, cnum(s[2 * c], s[2 * c + 1])));
        }
    }
    for (size_t i = 0; i < N; i++) {
        s[2 * i] = out[i].re;
        s[2 * i + 1] = out[i].im;
    }
    free(out);
}

static double maxdiff(const double *a, const double *b, int n)
{
    double d = 0;
    for (size_t i = 0; i < (2u << n); i++) d = fmax(d, fabs(a[i] - b[i]));
    return d;
}

static double *copy_state(const double *s, int n)
{
    double *c = fbq_state_alloc(n);
    memcpy(c, s, (size_t)16 << n);
    return c;
}

/* Random distinct qubits; controls avoid the targets. */
static void pick(int n, int k, int *qs)
{
    for (int i = 0; i < k; i++) {
        int q, dup;
        do {
            q = (int)(fbq_rng_next(&trng) % (uint64_t)n);
            dup = 0;
            for (int j = 0; j < i; j++)
                if (qs[j] == q) dup = 1;
        } while (dup);
        qs[i] = q;
    }
}

static void pick_controls(int n, const int *t, int k, int nc, uint64_t *cmask, uint64_t *cval)
{
    *cmask = *cval = 0;
    for (int i = 0; i < nc; i++) {
        int q, bad;
        do {
            q = (int)(fbq_rng_next(&trng) % (uint64_t)n);
            bad = (*cmask >> q) & 1;
            for (int j = 0; j < k; j++)
                if (t[j] == q) bad = 1;
        } while (bad);
        *cmask |= 1ull << q;
        if (fbq_rng_next(&trng) & 1) *cval |= 1ull << q;
    }
}

#define N 6

START_TEST(test_kernel_1q)
{
    fbq_rng_seed(&trng, 1);
    for (int iter = 0; iter < 60; iter++) {
        int t;
        pick(N, 1, &t);
        int nc = iter % 3;
        uint64_t cm, cv;
        pick_controls(N, &t, 1, nc, &cm, &cv);
        fbq_c *u = random_unitary(1);
        double *s = random_state(N), *r = copy_state(s, N);
        fbq_k_1q(s, N, t, u, cm, cv);
        naive_apply(r, N, 1, &t, u, cm, cv);
        ck_assert_msg(maxdiff(s, r, N) < 1e-12, "1q t=%d controls=%d diff %g", t, nc, maxdiff(s, r, N));
        ck_assert(fabs(fbq_k_norm2(s, N) - 1) < 1e-12);
        /* diagonal and anti-diagonal fast paths */
        fbq_c d[4] = {cnum(cos(iter), sin(iter)), {0, 0}, {0, 0}, cnum(cos(2 * iter), -sin(2 * iter))};
        fbq_k_1q_diag(s, N, t, d[0], d[3], cm, cv);
        naive_apply(r, N, 1, &t, d, cm, cv);
        ck_assert(maxdiff(s, r, N) < 1e-12);
        fbq_c a[4] = {{0, 0}, cnum(cos(iter), sin(iter)), cnum(-sin(iter), cos(iter)), {0, 0}};
        fbq_k_1q_anti(s, N, t, a[1], a[2], cm, cv);
        naive_apply(r, N, 1, &t, a, cm, cv);
        ck_assert(maxdiff(s, r, N) < 1e-12);
        fbq_c ry[4] = {cnum(cos(0.1 * iter), 0), cnum(-sin(0.1 * iter), 0), cnum(sin(0.1 * iter), 0),
                       cnum(cos(0.1 * iter), 0)}; /* real: the kernel's real path */
        fbq_k_1q(s, N, t, ry, 0, 0);
        naive_apply(r, N, 1, &t, ry, 0, 0);
        ck_assert(maxdiff(s, r, N) < 1e-12);
        fbq_c x[4] = {{0, 0}, {1, 0}, {1, 0}, {0, 0}};
        fbq_k_1q_anti(s, N, t, x[1], x[2], cm, cv);
        naive_apply(r, N, 1, &t, x, cm, cv);
        ck_assert(maxdiff(s, r, N) < 1e-12);
        ck_assert(fabs(fbq_k_norm2(s, N) - 1) < 1e-12);
        free(u);
        fbq_state_free(s);
        fbq_state_free(r);
    }
}
END_TEST

/* The blocked paths for far-apart halves (used for the top qubits of
 * states of 25+ qubits; run here on 19), against the pairwise definition
 * written out here. */
START_TEST(test_kernel_far)
{
    fbq_rng_seed(&trng, 8);
    const int n = 19, t = 18;
    uint64_t Nn = 1ull << n, h = 1ull << t;
    fbq_c *u = random_unitary(1);
    double *s = random_state(n), *r = copy_state(s, n);
    fbq_k_1q_far(s, n, t, u);
    double worst = 0;
    for (uint64_t i = 0; i < Nn; i++) {
        if (i & h) continue;
        fbq_c a = cnum(r[2 * i], r[2 * i + 1]), b = cnum(r[2 * (i | h)], r[2 * (i | h) + 1]);
        fbq_c x = fbq_cadd(fbq_cmul(u[0], a), fbq_cmul(u[1], b)), y = fbq_cadd(fbq_cmul(u[2], a), fbq_cmul(u[3], b));
        worst = fmax(worst, fmax(fabs(x.re - s[2 * i]), fabs(x.im - s[2 * i + 1])));
        worst = fmax(worst, fmax(fabs(y.re - s[2 * (i | h)]), fabs(y.im - s[2 * (i | h) + 1])));
    }
    ck_assert_msg(worst < 1e-12, "far 1q: %g", worst);
    /* two-qubit: near and far lower target, both operand orders */
    const int pairs[][2] = {{3, 18}, {18, 3}, {13, 18}, {18, 13}, {0, 18}};
    for (size_t pi = 0; pi < sizeof pairs / sizeof *pairs; pi++) {
        fbq_c *u2 = random_unitary(2);
        memcpy(r, s, (size_t)16 << n);
        fbq_k_2q_far(s, n, pairs[pi][0], pairs[pi][1], u2);
        uint64_t o0 = 1ull << pairs[pi][0], o1 = 1ull << pairs[pi][1];
        uint64_t off[4] = {0, o0, o1, o0 | o1};
        worst = 0;
        for (uint64_t i = 0; i < Nn; i++) {
            if (i & (o0 | o1)) continue;
            for (int rr = 0; rr < 4; rr++) {
                fbq_c x = {0, 0};
                for (int cc = 0; cc < 4; cc++)
                    x = fbq_cadd(x, fbq_cmul(u2[4 * rr + cc], cnum(r[2 * (i + off[cc])], r[2 * (i + off[cc]) + 1])));
                worst = fmax(worst, fmax(fabs(x.re - s[2 * (i + off[rr])]), fabs(x.im - s[2 * (i + off[rr]) + 1])));
            }
        }
        ck_assert_msg(worst < 1e-12, "far 2q (%d,%d): %g", pairs[pi][0], pairs[pi][1], worst);
        free(u2);
    }
    memcpy(r, s, (size_t)16 << n);
    fbq_k_x_far(s, n, t);
    for (uint64_t i = 0; i < Nn; i++) ck_assert(s[2 * i] == r[2 * (i ^ h)] && s[2 * i + 1] == r[2 * (i ^ h) + 1]);
    free(u);
    fbq_state_free(s);
    fbq_state_free(r);
}
END_TEST

START_TEST(test_kernel_swap)
{
    fbq_rng_seed(&trng, 6);
    fbq_c sw[16] = {{1, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {1, 0}, {0, 0},
                    {0, 0}, {1, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {1, 0}};
    for (int iter = 0; iter < 40; iter++) {
        int t[2];
        pick(N, 2, t);
        uint64_t cm, cv;
        pick_controls(N, t, 2, iter % 3, &cm, &cv);
        double *s = random_state(N), *r = copy_state(s, N);
        fbq_k_swap(s, N, t[0], t[1], cm, cv);
        naive_apply(r, N, 2, t, sw, cm, cv);
        ck_assert_msg(maxdiff(s, r, N) < 1e-12, "swap %d %d", t[0], t[1]);
        fbq_state_free(s);
        fbq_state_free(r);
    }
}
END_TEST

START_TEST(test_kernel_phase)
{
    fbq_rng_seed(&trng, 2);
    for (int iter = 0; iter < 40; iter++) {
        int nc = 1 + iter % 3;
        uint64_t cm, cv;
        pick_controls(N, NULL, 0, nc, &cm, &cv);
        fbq_c ph = cnum(cos(0.3 * iter), sin(0.3 * iter));
        fbq_c g[1] = {ph};
        double *s = random_state(N), *r = copy_state(s, N);
        fbq_k_phase(s, N, ph, cm, cv);
        naive_apply(r, N, 0, NULL, g, cm, cv);
        ck_assert_msg(maxdiff(s, r, N) < 1e-12, "phase mask %llx", (unsigned long long)cm);
        fbq_state_free(s);
        fbq_state_free(r);
    }
}
END_TEST

START_TEST(test_kernel_2q_kq)
{
    fbq_rng_seed(&trng, 3);
    for (int iter = 0; iter < 60; iter++) {
        int k = 2 + iter % 2, t[3];
        pick(N, k, t);
        uint64_t cm, cv;
        pick_controls(N, t, k, iter % 3, &cm, &cv);
        fbq_c *u = random_unitary(k);
        double *s = random_state(N), *r = copy_state(s, N);
        if (k == 2) fbq_k_2q(s, N, t[0], t[1], u, cm, cv);
        else fbq_k_kq(s, N, k, t, u, cm, cv);
        naive_apply(r, N, k, t, u, cm, cv);
        ck_assert_msg(maxdiff(s, r, N) < 1e-12, "k=%d diff %g", k, maxdiff(s, r, N));
        ck_assert(fabs(fbq_k_norm2(s, N) - 1) < 1e-12);
        /* diagonal and permutation-with-phases forms */
        size_t D = (size_t)1 << k;
        fbq_c *dg = calloc(D * D, sizeof *dg), *dv = malloc(D * sizeof *dv);
        fbq_c *pm = calloc(D * D, sizeof *pm), *ph = malloc(D * sizeof *ph);
        int *perm = malloc(D * sizeof *perm);
        for (size_t j = 0; j < D; j++) {
            dv[j] = cnum(cos(j + iter), sin(j + iter));
            dg[j * D + j] = dv[j];
            perm[j] = (int)j;
        }
        for (size_t j = D - 1; j > 0; j--) { /* Fisher-Yates */
            size_t o = fbq_rng_next(&trng) % (j + 1);
            int tmp = perm[j];
            perm[j] = perm[o];
            perm[o] = tmp;
        }
        for (size_t j = 0; j < D; j++) {
            ph[j] = cnum(cos(3.0 * j), sin(3.0 * j));
            pm[(size_t)perm[j] * D + j] = ph[j];
        }
        fbq_k_kq_diag(s, N, k, t, dv, cm, cv);
        naive_apply(r, N, k, t, dg, cm, cv);
        ck_assert(maxdiff(s, r, N) < 1e-12);
        fbq_k_kq_perm(s, N, k, t, perm, ph, cm, cv);
        naive_apply(r, N, k, t, pm, cm, cv);
        ck_assert(maxdiff(s, r, N) < 1e-12);
        free(dg);
        free(dv);
        free(pm);
        free(ph);
        free(perm);
        free(u);
        fbq_state_free(s);
        fbq_state_free(r);
    }
}
END_TEST

/* Classification finds the structure of well-known gates and applying the
 * classified op equals the full product. */
/* The diagonal kernel's contiguous path (targets are bits 0..k-1 in
 * order) and its strided path, with and without controls. */
START_TEST(test_kernel_diag_paths)
{
    fbq_rng_seed(&trng, 9);
    const int layouts[][3] = {{0, 1, 2}, {0, 1, -1}, {1, 2, 3}, {2, 0, 1}, {3, 5, -1}};
    for (size_t l = 0; l < sizeof layouts / sizeof *layouts; l++) {
        int k = layouts[l][2] < 0 ? 2 : 3, t[3] = {layouts[l][0], layouts[l][1], layouts[l][2]};
        for (int nc = 0; nc < 3; nc++) {
            uint64_t cm, cv;
            pick_controls(N, t, k, nc, &cm, &cv);
            size_t D = (size_t)1 << k;
            fbq_c dv[8], dg[64];
            memset(dg, 0, sizeof dg);
            for (size_t j = 0; j < D; j++) {
                dv[j] = cnum(cos(0.7 * j + l), sin(0.7 * j + l));
                dg[j * D + j] = dv[j];
            }
            double *s = random_state(N), *r = copy_state(s, N);
            fbq_k_kq_diag(s, N, k, t, dv, cm, cv);
            naive_apply(r, N, k, t, dg, cm, cv);
            ck_assert_msg(maxdiff(s, r, N) < 1e-12, "diag layout %zu controls %d", l, nc);
            fbq_state_free(s);
            fbq_state_free(r);
        }
    }
    /* ten targets (the largest fused diagonal), contiguous and not */
    const int n12 = 12;
    int t10[2][10] = {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {11, 2, 3, 4, 5, 6, 7, 8, 9, 10}};
    for (int l = 0; l < 2; l++) {
        size_t D = 1024;
        fbq_c *dv = malloc(D * sizeof *dv), *dg = calloc(D * D, sizeof *dg);
        for (size_t j = 0; j < D; j++) {
            dv[j] = cnum(cos(0.01 * j * j), sin(0.01 * j * j));
            dg[j * D + j] = dv[j];
        }
        uint64_t cm = l ? 1 : 1ull << 10, cv = cm;
        double *s = random_state(n12), *r = copy_state(s, n12);
        fbq_k_kq_diag(s, n12, 10, t10[l], dv, cm, cv);
        naive_apply(r, n12, 10, t10[l], dg, cm, cv);
        ck_assert_msg(maxdiff(s, r, n12) < 1e-12, "ten-target diagonal %d", l);
        free(dv);
        free(dg);
        fbq_state_free(s);
        fbq_state_free(r);
    }
}
END_TEST

START_TEST(test_classify)
{
    fbq_rng_seed(&trng, 4);
    const double h = M_SQRT1_2;
    struct {
        const char *name;
        int k, cls, ncontrols;
        fbq_c m[64];
    } cases[] = {
        {"cx", 2, CL_1Q_ANTI, 1, {{1, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {1, 0},
                                  {0, 0}, {0, 0}, {1, 0}, {0, 0}, {0, 0}, {1, 0}, {0, 0}, {0, 0}}},
        {"cz", 2, CL_PHASE, 2, {{1, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {1, 0}, {0, 0}, {0, 0},
                                {0, 0}, {0, 0}, {1, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {-1, 0}}},
        {"swap", 2, CL_SWAP, 0, {{1, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {1, 0}, {0, 0},
                                    {0, 0}, {1, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {1, 0}}},
        {"h", 1, CL_1Q, 0, {{h, 0}, {h, 0}, {h, 0}, {-h, 0}}},
        {"rz", 1, CL_1Q_DIAG, 0, {{h, -h}, {0, 0}, {0, 0}, {h, h}}},
        {"t", 1, CL_PHASE, 1, {{1, 0}, {0, 0}, {0, 0}, {h, h}}},
        {"id", 1, CL_NOP, 1, {{1, 0}, {0, 0}, {0, 0}, {1, 0}}},
        {"iswap-like", 2, CL_KQ_PERM, 0, {{1, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 1}, {0, 0},
                                          {0, 0}, {0, 1}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {1, 0}}},
        {"x-on-0", 2, CL_1Q_ANTI, 1, {{0, 0}, {0, 0}, {1, 0}, {0, 0}, {0, 0}, {1, 0}, {0, 0}, {0, 0},
                                      {1, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {1, 0}}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        int qs[3];
        pick(N, cases[c].k, qs);
        fbq_op op;
        memset(&op, 0, sizeof op);
        fbq_classify(cases[c].k, qs, cases[c].m, &op);
        ck_assert_msg(op.cls == cases[c].cls, "%s: class %d, expected %d", cases[c].name, op.cls, cases[c].cls);
        ck_assert_msg(__builtin_popcountll(op.cmask) == cases[c].ncontrols, "%s: %d controls", cases[c].name,
                      __builtin_popcountll(op.cmask));
        double *s = random_state(N), *r = copy_state(s, N);
        fbq_apply(s, N, &op);
        naive_apply(r, N, cases[c].k, qs, cases[c].m, 0, 0);
        ck_assert_msg(maxdiff(s, r, N) < 1e-12, "%s applied", cases[c].name);
        fbq_op_clear(&op);
        fbq_state_free(s);
        fbq_state_free(r);
    }
    /* Toffoli and Fredkin built as controlled matrices; random dense. */
    for (int iter = 0; iter < 30; iter++) {
        int k = 1 + iter % 3, qs[3];
        pick(N, k, qs);
        fbq_c *u = random_unitary(k);
        size_t D = (size_t)1 << k;
        /* embed as a gate with one extra negative control on operand 0 */
        fbq_c *g = calloc(4 * D * D, sizeof *g);
        for (size_t r = 0; r < 2 * D; r++)
            for (size_t cc = 0; cc < 2 * D; cc++) {
                if ((r & 1) != (cc & 1)) continue;
                if (!(r & 1)) g[r * 2 * D + cc] = u[(r >> 1) * D + (cc >> 1)];
                else if (r == cc) g[r * 2 * D + cc].re = 1;
            }
        int all[4];
        pick(N, k + 1, all);
        fbq_op op;
        memset(&op, 0, sizeof op);
        fbq_classify(k + 1, all, g, &op);
        ck_assert(op.cmask == (1ull << all[0]) && op.cval == 0);
        double *s = random_state(N), *r = copy_state(s, N);
        fbq_apply(s, N, &op);
        naive_apply(r, N, k + 1, all, g, 0, 0);
        ck_assert_msg(maxdiff(s, r, N) < 1e-12, "negctrl dense k=%d", k);
        fbq_op_clear(&op);
        free(g);
        free(u);
        fbq_state_free(s);
        fbq_state_free(r);
    }
}
END_TEST

START_TEST(test_measure_kernels)
{
    fbq_rng_seed(&trng, 5);
    double *s = random_state(N);
    for (int q = 0; q < N; q++) {
        double p1 = 0;
        for (size_t i = 0; i < (1u << N); i++)
            if (i >> q & 1) p1 += s[2 * i] * s[2 * i] + s[2 * i + 1] * s[2 * i + 1];
        ck_assert(fabs(fbq_k_prob1(s, N, q) - p1) < 1e-14);
    }
    double p1 = fbq_k_prob1(s, N, 2);
    fbq_k_collapse(s, N, 2, 1, p1);
    ck_assert(fabs(fbq_k_norm2(s, N) - 1) < 1e-12);
    ck_assert(fabs(fbq_k_prob1(s, N, 2) - 1) < 1e-12);
    fbq_k_flip_to_zero(s, N, 2);
    ck_assert(fbq_k_prob1(s, N, 2) == 0);
    ck_assert(fabs(fbq_k_norm2(s, N) - 1) < 1e-12);
    fbq_state_free(s);
}
END_TEST

/* Published vectors: xoshiro256** from state {1,2,3,4}; splitmix64 from 0. */
START_TEST(test_rng_vectors)
{
    fbq_rng r = {{1, 2, 3, 4}};
    ck_assert(fbq_rng_next(&r) == 11520u);
    ck_assert(fbq_rng_next(&r) == 0u);
    ck_assert(fbq_rng_next(&r) == 1509978240u);
    ck_assert(fbq_rng_next(&r) == 1215971899390074240ull);
    fbq_rng_seed(&r, 0);
    ck_assert(r.s[0] == 0xe220a8397b1dcdafull);
    for (int i = 0; i < 1000; i++) {
        double u = fbq_rng_uniform(&r);
        ck_assert(u >= 0 && u < 1);
    }
}
END_TEST

START_TEST(test_binomial)
{
    fbq_rng r;
    fbq_rng_seed(&r, 99);
    ck_assert(fbq_rng_binomial(&r, 0, 0.5) == 0);
    ck_assert(fbq_rng_binomial(&r, 10, 0) == 0);
    ck_assert(fbq_rng_binomial(&r, 10, 1) == 10);
    const struct { uint64_t n; double p; } cs[] = {{1, 0.3}, {7, 0.5}, {100, 0.01}, {1000, 0.9},
                                                   {10000000, 0.5}, {50, 1e-9}, {1000, 0.9995}, {3, 0.9999}};
    for (size_t c = 0; c < sizeof cs / sizeof *cs; c++) {
        int T = cs[c].n > 100000 ? 30 : 20000;
        double sum = 0, sum2 = 0;
        for (int i = 0; i < T; i++) {
            uint64_t x = fbq_rng_binomial(&r, cs[c].n, cs[c].p);
            ck_assert(x <= cs[c].n);
            sum += (double)x;
            sum2 += (double)x * (double)x;
        }
        double mean = sum / T, var = sum2 / T - mean * mean;
        double em = cs[c].n * cs[c].p, ev = em * (1 - cs[c].p);
        /* 6 standard errors of the mean; variance within 15% */
        ck_assert_msg(fabs(mean - em) <= 6 * sqrt(ev / T) + 1e-9, "n=%llu p=%g mean %g expected %g",
                      (unsigned long long)cs[c].n, cs[c].p, mean, em);
        if (ev > 1 && T >= 1000) ck_assert_msg(fabs(var - ev) < 0.15 * ev, "variance %g expected %g", var, ev);
    }
}
END_TEST

/* ---- through the public API ---- */

static fbq_program *parse_str(const char *src, fbq_error *e)
{
    return fbq_parse("t.qasm", src, strlen(src), NULL, e);
}

/* Exact probabilities of a program as a small array indexed by outcome. */
static void probs_of(const char *src, double *out, int nout)
{
    fbq_error e;
    fbq_program *p = parse_str(src, &e);
    ck_assert_msg(p != NULL, "%s", e.message);
    fbq_options o;
    fbq_options_init(&o);
    o.want_probabilities = 1;
    fbq_result *r;
    ck_assert_int_eq(fbq_simulate(p, &o, &r, &e), FBQ_OK);
    for (int i = 0; i < nout; i++) out[i] = 0;
    for (size_t i = 0; i < fbq_result_size(r); i++) {
        const fbq_outcome *oc = fbq_result_outcome(r, i);
        out[strtol(oc->bits, NULL, 2)] = oc->probability;
    }
    fbq_result_free(r);
    fbq_program_free(p);
}

START_TEST(test_modifiers)
{
    /* Interference circuits reveal relative phases: rx(0.7) G rx(-1.1)
     * differs for G = s and G = pow(0.5) @ z only if their phases differ. */
    const char *pairs[][2] = {
        {"s q[0];", "pow(0.5) @ z q[0];"},
        {"t q[0];", "pow(0.5) @ s q[0];"},
        {"sx q[0];", "pow(0.5) @ x q[0];"},
        {"tdg q[0];", "inv @ t q[0];"},
        {"sdg q[0];", "inv @ pow(0.5) @ z q[0];"},
        {"z q[0];", "pow(2) @ s q[0];"},
        {"cz q[0], q[1];", "ctrl @ z q[0], q[1];"},
        {"ccx q[0], q[1], q[2];", "ctrl(2) @ x q[0], q[1], q[2];"},
        {"x q[0]; cx q[0], q[1]; x q[0];", "negctrl @ x q[0], q[1];"},
        {"cp(0.4) q[0], q[1];", "ctrl(2) @ gphase(0.4) q[0], q[1];"},
        {"p(0.4) q[1];", "ctrl @ gphase(0.4) q[1];"},
        {"cswap q[2], q[0], q[1];", "ctrl @ swap q[2], q[0], q[1];"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
        double a[8], b[8];
        char src[600];
        for (int v = 0; v < 2; v++) {
            snprintf(src, sizeof src,
                     "OPENQASM 3; include \"stdgates.inc\"; qubit[3] q; bit[3] c;\n"
                     "rx(0.7) q[0]; ry(0.3) q[1]; h q[2]; cx q[2], q[0];\n%s\n"
                     "rx(-1.1) q[0]; ry(0.5) q[1]; cx q[0], q[2]; h q[2]; h q[0];\nc = measure q;\n",
                     pairs[i][v]);
            probs_of(src, v ? b : a, 8);
        }
        for (int j = 0; j < 8; j++)
            ck_assert_msg(fabs(a[j] - b[j]) < 1e-12, "%s vs %s at %d: %g %g", pairs[i][0], pairs[i][1], j, a[j], b[j]);
    }
    fbq_error e;
    fbq_program *p = parse_str("OPENQASM 3; include \"stdgates.inc\"; qubit[2] q; pow(0.5) @ cx q[0], q[1];", &e);
    ck_assert(p == NULL && e.code == FBQ_EUNSUPPORTED && strstr(e.message, "non-integer"));
}
END_TEST

/* The same seed gives the same counts whether branch states are copied or
 * replayed from the start (a memory limit of one state vector). */
START_TEST(test_replay_equals_copy)
{
    const char *src = "OPENQASM 2.0; include \"qelib1.inc\"; qreg q[3]; creg c[4];\n"
                      "h q; measure q[0] -> c[0]; reset q[0]; ry(0.8) q[0]; cx q[0], q[1];\n"
                      "measure q[1] -> c[1]; if (c == 3) x q[2]; measure q[0] -> c[2]; h q[0];\n"
                      "measure q[2] -> c[3]; measure q[0] -> c[0];\n";
    fbq_error e;
    fbq_program *p = parse_str(src, &e);
    ck_assert(p != NULL);
    ck_assert(fbq_program_is_dynamic(p, NULL));
    fbq_options o;
    fbq_options_init(&o);
    o.shots = 50000;
    o.seed = 11;
    fbq_result *a, *b;
    ck_assert_int_eq(fbq_simulate(p, &o, &a, &e), FBQ_OK);
    o.memory_limit = 16u << 3;
    ck_assert_int_eq(fbq_simulate(p, &o, &b, &e), FBQ_OK);
    ck_assert_uint_eq(fbq_result_size(a), fbq_result_size(b));
    uint64_t total = 0;
    for (size_t i = 0; i < fbq_result_size(a); i++) {
        ck_assert_str_eq(fbq_result_outcome(a, i)->bits, fbq_result_outcome(b, i)->bits);
        ck_assert_uint_eq(fbq_result_outcome(a, i)->count, fbq_result_outcome(b, i)->count);
        total += fbq_result_outcome(a, i)->count;
    }
    ck_assert_uint_eq(total, 50000);
    fbq_result_free(a);
    fbq_result_free(b);
    o.memory_limit = (16u << 3) - 1;
    ck_assert_int_eq(fbq_simulate(p, &o, &b, &e), FBQ_EMEMORY);
    ck_assert(b == NULL);
    ck_assert(strstr(e.message, "128 bytes") && strstr(e.message, "127 bytes"));
    fbq_program_free(p);
}
END_TEST

START_TEST(test_api)
{
    fbq_error e;
    fbq_program *p = parse_str("OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg a[2]; qreg b[1];\ncreg lo[1];\n"
                               "creg hi[2];\nh a; cx a[0], b[0];\nmeasure a -> hi;\nmeasure b[0] -> lo[0];\n", &e);
    ck_assert_msg(p != NULL, "%s", e.message);
    ck_assert_int_eq(fbq_num_qubits(p), 3);
    ck_assert_int_eq(fbq_num_clbits(p), 3);
    ck_assert_int_eq(fbq_program_dialect(p), FBQ_QASM2);
    char *why = (char *)"x";
    ck_assert(!fbq_program_is_dynamic(p, &why) && why == NULL);
    char *lay = fbq_outcome_layout(p);
    ck_assert_str_eq(lay, "hi lo");
    free(lay);
    fbq_options o;
    fbq_options_init(&o);
    ck_assert_uint_eq(o.shots, 1024);
    o.shots = 0;
    fbq_result *r;
    ck_assert_int_eq(fbq_simulate(p, &o, &r, &e), FBQ_EINVALID);
    o.shots = FBQ_MAX_SHOTS + 1;
    ck_assert_int_eq(fbq_simulate(p, &o, &r, &e), FBQ_EINVALID);
    o.shots = 100;
    o.seed = 3;
    ck_assert_int_eq(fbq_simulate(p, &o, &r, &e), FBQ_OK);
    char *js = fbq_result_to_json(r);
    ck_assert_msg(strncmp(js, "{\"qubits\":3,\"clbits\":3,\"shots\":100,\"seed\":3,\"layout\":\"hi lo\",\"counts\":{",
                          61) == 0, "%s", js);
    /* b[0] copies a[0] into lo: bit 0 of hi equals lo */
    for (size_t i = 0; i < fbq_result_size(r); i++) {
        const char *bits = fbq_result_outcome(r, i)->bits; /* "h1h0 l" */
        ck_assert_int_eq(strlen(bits), 4);
        ck_assert_int_eq(bits[1], bits[3]);
    }
    free(js);
    fbq_result_free(r);
    fbq_program_free(p);

    /* no filesystem without base_dir; embedded headers are byte-exact */
    p = parse_str("OPENQASM 2.0; include \"other.inc\";", &e);
    ck_assert(p == NULL && e.code == FBQ_EINCLUDE && e.line == 1 && e.column == 23);
    size_t len;
    const char *emb = fbq_embedded_header("qelib1.inc", &len);
    char path[4096];
    snprintf(path, sizeof path, "%s/quantum/qelib1.inc", Q_SRCDIR);
    FILE *f = fopen(path, "rb");
    ck_assert(f != NULL);
    char *buf = malloc(len + 2);
    ck_assert_uint_eq(fread(buf, 1, len + 1, f), len);
    fclose(f);
    ck_assert(memcmp(buf, emb, len) == 0);
    free(buf);
    emb = fbq_embedded_header("qelib1-qiskit.inc", &len);
    snprintf(path, sizeof path, "%s/quantum/qelib1_qiskit.inc", Q_SRCDIR);
    f = fopen(path, "rb");
    ck_assert(f != NULL && emb != NULL);
    buf = malloc(len + 2);
    ck_assert_uint_eq(fread(buf, 1, len + 1, f), len);
    fclose(f);
    ck_assert(memcmp(buf, emb, len) == 0);
    free(buf);
    ck_assert(fbq_embedded_header("stdgates.inc", &len) != NULL && len > 1000);
    ck_assert(fbq_embedded_header("nope.inc", NULL) == NULL);

    /* every standard gate of stdgates.inc is known with its signature */
    p = parse_str("OPENQASM 3.0; include \"stdgates.inc\"; qubit q;", &e);
    ck_assert(p != NULL);
    ck_assert_int_eq(fbq_std_count(), 32);
    for (int i = 0; i < fbq_std_count(); i++) {
        int kind;
        int gi = fbq_name_find(p, fbq_std_get(i)->name, &kind);
        ck_assert_msg(gi >= 0 && kind == 1, "%s not registered", fbq_std_get(i)->name);
    }
    fbq_program_free(p);

    /* include depth limit */
    char dir[] = "/tmp/fbq-incXXXXXX";
    ck_assert(mkdtemp(dir) != NULL);
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/d%d.inc", dir, i);
        f = fopen(path, "w");
        if (i < 3) fprintf(f, "include \"d%d.inc\";\n", i + 1);
        else fprintf(f, "gate deep a { U(0,0,0) a; }\n");
        fclose(f);
    }
    fbq_parse_options po;
    memset(&po, 0, sizeof po);
    po.base_dir = dir;
    const char *src = "OPENQASM 2.0;\ninclude \"d0.inc\";\nqreg q[1]; deep q[0];\n";
    p = fbq_parse("m.qasm", src, strlen(src), &po, &e);
    ck_assert_msg(p != NULL, "%s", e.message);
    fbq_program_free(p);
    po.max_include_depth = 3;
    p = fbq_parse("m.qasm", src, strlen(src), &po, &e);
    ck_assert(p == NULL && e.code == FBQ_EINCLUDE && strstr(e.message, "deeper than 3"));
    ck_assert_msg(strstr(e.file, "d2.inc") && e.line == 1, "%s:%d", e.file, e.line);
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/d%d.inc", dir, i);
        unlink(path);
    }
    rmdir(dir);

    /* no measure at all: every qubit is measured */
    p = parse_str("OPENQASM 2.0; include \"qelib1.inc\"; qreg q[2]; x q[1];", &e);
    o.want_probabilities = 1;
    ck_assert_int_eq(fbq_simulate(p, &o, &r, &e), FBQ_OK);
    ck_assert_uint_eq(fbq_result_size(r), 1);
    ck_assert_str_eq(fbq_result_outcome(r, 0)->bits, "10");
    fbq_result_free(r);
    fbq_program_free(p);
}
END_TEST

/* Counts of a program (keys -> counts) as "k=v;k=v". */
static void counts_of(const char *src, uint64_t shots, char *out, size_t n)
{
    fbq_error e;
    fbq_program *p = parse_str(src, &e);
    ck_assert_msg(p != NULL, "%s at %d:%d", e.message, e.line, e.column);
    fbq_options o;
    fbq_options_init(&o);
    o.shots = shots;
    fbq_result *r;
    ck_assert_int_eq(fbq_simulate(p, &o, &r, &e), FBQ_OK);
    out[0] = '\0';
    for (size_t i = 0; i < fbq_result_size(r); i++) {
        size_t l = strlen(out);
        snprintf(out + l, n - l, "%s=%llu;", fbq_result_outcome(r, i)->bits,
                 (unsigned long long)fbq_result_outcome(r, i)->count);
    }
    fbq_result_free(r);
    fbq_program_free(p);
}

START_TEST(test_qasm3_forms)
{
    double a[4];
    /* physical qubits, block comments, pragmas, barrier without operands */
    probs_of("OPENQASM 3.0;\ninclude \"stdgates.inc\";\n#pragma braket verbatim\n/* a\ncomment */ bit[2] c;\n"
             "h $0;\nbarrier;\ncx $0, $1;\nc[0] = measure $0;\nc[1] = measure $1;\n", a, 4);
    ck_assert(fabs(a[0] - 0.5) < 1e-12 && fabs(a[3] - 0.5) < 1e-12 && a[1] == 0 && a[2] == 0);
    /* bit conditions in their three forms: c[1] always equals c[0] */
    const char *forms[] = {"if (c[0] == 1) { x q[1]; }", "if (c[0]) x q[1];", "if (!c[0]) { } else_ q[1];",
                           "if (c == 1) { x q[1]; }"};
    for (int f = 0; f < 4; f++) {
        char src[600], out[200];
        if (f == 2) continue;
        snprintf(src, sizeof src,
                 "OPENQASM 3;\ninclude \"stdgates.inc\";\nqubit[2] q;\nbit[2] c;\nh q[0];\n"
                 "c[0] = measure q[0];\n%s\nc[1] = measure q[1];\n", forms[f]);
        counts_of(src, 2000, out, sizeof out);
        ck_assert_msg(strncmp(out, "00=", 3) == 0 && strstr(out, ";11=") && !strstr(out, "01=") &&
                      !strstr(out, "10="), "%s: %s", forms[f], out);
    }
    /* negated bit condition */
    char out[200];
    counts_of("OPENQASM 3; include \"stdgates.inc\"; qubit[2] q; bit[2] c; h q[0]; c[0] = measure q[0];\n"
              "if (!c[0]) x q[1]; c[1] = measure q[1];", 2000, out, sizeof out);
    ck_assert_msg(strstr(out, "10=") && strstr(out, "01=") && !strstr(out, "00=") && !strstr(out, "11="), "%s",
                  out);
    /* declaration with a measurement, measure without target */
    probs_of("OPENQASM 3; include \"stdgates.inc\"; qubit[2] q; x q[1]; measure q; bit[2] c = measure q;", a, 4);
    ck_assert(fabs(a[2] - 1) < 1e-12);
    /* measurements without classical bits: every qubit is reported */
    probs_of("OPENQASM 3; include \"stdgates.inc\"; qubit[2] q; x q[1]; measure q[1];", a, 4);
    ck_assert(fabs(a[2] - 1) < 1e-12);
    fbq_error e;
    fbq_program *p = parse_str("OPENQASM 3; include \"stdgates.inc\"; qubit[1] q; h $0;", &e);
    ck_assert(p == NULL && strstr(e.message, "physical qubit $0 cannot be used") && e.column == 51);
    p = parse_str("OPENQASM 3; include \"stdgates.inc\"; qubit q; bit c; if (c == 1) { h q; } else { x q; }", &e);
    ck_assert(p == NULL && e.code == FBQ_EUNSUPPORTED && strstr(e.message, "'else'"));
    p = parse_str("OPENQASM 3; include \"stdgates.inc\"; include \"stdgates.inc\"; qubit q; h q;", &e);
    ck_assert_msg(p != NULL, "including stdgates twice: %s", e.message);
    fbq_program_free(p);
}
END_TEST

/* Mangled programs never crash the parser and always get a located error
 * or parse. */
START_TEST(test_mangled)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/quantum/data/qasm2-spec/teleportv2.qasm", Q_SRCDIR);
    FILE *f = fopen(path, "rb");
    ck_assert(f != NULL);
    char src[4096];
    size_t len = fread(src, 1, sizeof src - 1, f);
    fclose(f);
    fbq_rng r;
    fbq_rng_seed(&r, 2024);
    const char alphabet[] = ";,()[]{}+-*/^@=\"$#0123456789.eqcxhU->== \n/*";
    for (int iter = 0; iter < 3000; iter++) {
        char m[4200];
        size_t n = len;
        memcpy(m, src, len);
        int edits = 1 + (int)(fbq_rng_next(&r) % 4);
        for (int k = 0; k < edits; k++) {
            size_t at = n ? fbq_rng_next(&r) % n : 0;
            int op = (int)(fbq_rng_next(&r) % 3);
            if (op == 0 && n > 0) {
                memmove(m + at, m + at + 1, n - at - 1);
                n--;
            } else if (op == 1 && n < sizeof m - 1) {
                memmove(m + at + 1, m + at, n - at);
                m[at] = alphabet[fbq_rng_next(&r) % (sizeof alphabet - 1)];
                n++;
            } else {
                n = at;
            }
        }
        fbq_error e;
        fbq_program *p = fbq_parse("m.qasm", m, n, NULL, &e);
        if (p) {
            fbq_options o;
            fbq_options_init(&o);
            o.shots = 10;
            fbq_result *res;
            if (fbq_simulate(p, &o, &res, &e) == FBQ_OK) fbq_result_free(res);
            fbq_program_free(p);
        } else {
            ck_assert(e.message[0] != '\0');
            ck_assert(e.code != FBQ_OK);
        }
    }
}
END_TEST

/* ---- streaming (fbq_simulate_each) ---- */

typedef struct rec_sink {
    int begins, stop_after, stop_in_begin;
    size_t n;
    char bits[64][16];
    uint64_t count[64];
    double prob[64];
    fbq_run_info info;
} rec_sink;

static int rec_begin(void *ctx, const fbq_run_info *info)
{
    rec_sink *r = ctx;
    r->begins++;
    r->info = *info;
    r->info.layout = NULL; /* borrowed for the call only */
    ck_assert_uint_eq(r->n, 0);
    return r->stop_in_begin;
}

static int rec_outcome(void *ctx, const fbq_outcome *o)
{
    rec_sink *r = ctx;
    ck_assert_int_eq(r->begins, 1);
    ck_assert_uint_lt(r->n, 64);
    ck_assert_uint_eq(strlen(o->bits), r->info.keylen);
    snprintf(r->bits[r->n], sizeof r->bits[r->n], "%s", o->bits);
    r->count[r->n] = o->count;
    r->prob[r->n] = o->probability;
    r->n++;
    return r->stop_after && (int)r->n >= r->stop_after;
}

/* What a sink receives is what fbq_simulate lists, in the same order. */
static void same_as_result(const fbq_program *p, const fbq_options *o)
{
    fbq_error e;
    rec_sink rs;
    memset(&rs, 0, sizeof rs);
    fbq_sink sink = {rec_begin, rec_outcome, &rs};
    ck_assert_int_eq(fbq_simulate_each(p, o, &sink, &e), FBQ_OK);
    ck_assert_int_eq(rs.begins, 1);
    fbq_result *r;
    ck_assert_int_eq(fbq_simulate(p, o, &r, &e), FBQ_OK);
    ck_assert_uint_eq(fbq_result_size(r), rs.n);
    for (size_t i = 0; i < rs.n; i++) {
        const fbq_outcome *oc = fbq_result_outcome(r, i);
        ck_assert_str_eq(oc->bits, rs.bits[i]);
        ck_assert_uint_eq(oc->count, rs.count[i]);
        if (o->want_probabilities) ck_assert(oc->probability == rs.prob[i]);
        if (i) ck_assert_int_lt(strcmp(rs.bits[i - 1], rs.bits[i]), 0);
    }
    fbq_result_free(r);
}

START_TEST(test_stream)
{
    fbq_error e;
    /* 3 measured qubits, two outcomes possible: 000 and 011 */
    fbq_program *p = parse_str("OPENQASM 2.0; include \"qelib1.inc\"; qreg q[3]; creg c[3];\n"
                               "h q[0]; cx q[0], q[1]; measure q -> c;\n", &e);
    ck_assert_msg(p != NULL, "%s", e.message);
    fbq_options o;
    fbq_options_init(&o);
    ck_assert(o.threshold == FBQ_DEFAULT_THRESHOLD && !o.all_outcomes);
    o.want_probabilities = 1;
    same_as_result(p, &o);
    rec_sink rs;
    memset(&rs, 0, sizeof rs);
    fbq_sink sink = {rec_begin, rec_outcome, &rs};
    ck_assert_int_eq(fbq_simulate_each(p, &o, &sink, &e), FBQ_OK);
    ck_assert_uint_eq(rs.n, 2);
    ck_assert_str_eq(rs.bits[0], "000");
    ck_assert_str_eq(rs.bits[1], "011");
    ck_assert(fabs(rs.prob[0] - 0.5) < 1e-12 && fabs(rs.prob[1] - 0.5) < 1e-12);
    ck_assert(rs.info.probabilities && rs.info.shots == 0 && rs.info.keylen == 3 && !rs.info.implicit);
    /* every outcome, zeros included, in order */
    o.all_outcomes = 1;
    same_as_result(p, &o);
    memset(&rs, 0, sizeof rs);
    ck_assert_int_eq(fbq_simulate_each(p, &o, &sink, &e), FBQ_OK);
    ck_assert_uint_eq(rs.n, 8);
    for (int i = 0; i < 8; i++) {
        char want[4] = {(char)('0' + (i >> 2 & 1)), (char)('0' + (i >> 1 & 1)), (char)('0' + (i & 1)), 0};
        ck_assert_str_eq(rs.bits[i], want);
        ck_assert(i == 0 || i == 3 ? rs.prob[i] > 0.49 : rs.prob[i] == 0);
    }
    /* a threshold above every probability lists nothing, begin still runs */
    o.all_outcomes = 0;
    o.threshold = 0.6;
    memset(&rs, 0, sizeof rs);
    ck_assert_int_eq(fbq_simulate_each(p, &o, &sink, &e), FBQ_OK);
    ck_assert_int_eq(rs.begins, 1);
    ck_assert_uint_eq(rs.n, 0);
    const double bad[] = {-0.001, 1.0001, NAN};
    for (int i = 0; i < 3; i++) {
        o.threshold = bad[i];
        memset(&rs, 0, sizeof rs);
        ck_assert_int_eq(fbq_simulate_each(p, &o, &sink, &e), FBQ_EINVALID);
        ck_assert(strstr(e.message, "threshold") != NULL);
        ck_assert_int_eq(rs.begins, 0);
    }
    o.threshold = 0;
    /* the sink stops the run */
    memset(&rs, 0, sizeof rs);
    rs.stop_after = 1;
    ck_assert_int_eq(fbq_simulate_each(p, &o, &sink, &e), FBQ_ESTOPPED);
    ck_assert_uint_eq(rs.n, 1);
    memset(&rs, 0, sizeof rs);
    rs.stop_in_begin = 1;
    ck_assert_int_eq(fbq_simulate_each(p, &o, &sink, &e), FBQ_ESTOPPED);
    ck_assert_uint_eq(rs.n, 0);
    /* counts: in order straight from the state, by inverse CDF (few shots
     * over many outcomes, merged) and from a dynamic circuit (merged) */
    o.want_probabilities = 0;
    o.shots = 5000;
    same_as_result(p, &o);
    fbq_program_free(p);
    p = parse_str("OPENQASM 2.0; include \"qelib1.inc\"; qreg q[6]; creg c[6]; h q; measure q -> c;\n", &e);
    ck_assert(p != NULL);
    o.shots = 3;
    same_as_result(p, &o);
    fbq_program_free(p);
    p = parse_str("OPENQASM 2.0; include \"qelib1.inc\"; qreg q[2]; creg c[2]; h q[0];\n"
                  "measure q[0] -> c[0]; if (c == 1) x q[1]; h q[0]; measure q -> c;\n", &e);
    ck_assert(p != NULL && fbq_program_is_dynamic(p, NULL));
    o.shots = 2000;
    same_as_result(p, &o);
    /* errors come before begin */
    o.want_probabilities = 1;
    memset(&rs, 0, sizeof rs);
    ck_assert_int_eq(fbq_simulate_each(p, &o, &sink, &e), FBQ_EINVALID);
    ck_assert_int_eq(rs.begins, 0);
    fbq_program_free(p);
}
END_TEST

/* ---- include confinement (fbq_parse_options.allowed_roots) ---- */

START_TEST(test_include_roots)
{
    char dir[] = "/tmp/fbq-rootsXXXXXX", a[4200], b[4200], path[4400];
    ck_assert(mkdtemp(dir) != NULL);
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    ck_assert(mkdir(a, 0700) == 0 && mkdir(b, 0700) == 0);
    snprintf(path, sizeof path, "%s/x.inc", b);
    FILE *f = fopen(path, "w");
    fputs("gate xg q { U(0,0,0) q; }\n", f);
    fclose(f);
    const char *src = "OPENQASM 2.0;\ninclude \"../b/x.inc\";\nqreg q[1]; xg q[0];\n";
    fbq_parse_options po;
    memset(&po, 0, sizeof po);
    po.base_dir = a;
    fbq_error e;
    fbq_program *p = fbq_parse("m.qasm", src, strlen(src), &po, &e);
    ck_assert(p == NULL && e.code == FBQ_EINCLUDE && e.line == 2 && e.column == 9);
    ck_assert_msg(strstr(e.message, "is outside the directories includes may read"), "%s", e.message);
    const char *roots[] = {b, NULL};
    po.allowed_roots = roots;
    p = fbq_parse("m.qasm", src, strlen(src), &po, &e);
    ck_assert_msg(p != NULL, "%s", e.message);
    fbq_program_free(p);
    /* a sibling whose name starts like the root is not inside it */
    char bb[4300];
    snprintf(bb, sizeof bb, "%sb", b);
    ck_assert(mkdir(bb, 0700) == 0);
    snprintf(path, sizeof path, "%s/y.inc", bb);
    f = fopen(path, "w");
    fputs("gate yg q { U(0,0,0) q; }\n", f);
    fclose(f);
    const char *src2 = "OPENQASM 2.0;\ninclude \"../bb/y.inc\";\nqreg q[1];\n";
    p = fbq_parse("m.qasm", src2, strlen(src2), &po, &e);
    ck_assert_msg(p == NULL && strstr(e.message, "is outside"), "%s", p ? "accepted" : e.message);
    unlink(path);
    rmdir(bb);
    /* /proc stays refused when allowed */
    const char *proc[] = {"/proc", NULL};
    po.allowed_roots = proc;
    const char *src3 = "OPENQASM 2.0;\ninclude \"/proc/self/status\";\n";
    p = fbq_parse("m.qasm", src3, strlen(src3), &po, &e);
    ck_assert_msg(p == NULL && strstr(e.message, "pseudo-filesystem"), "%s", p ? "accepted" : e.message);
    /* without base_dir nothing is read, whatever the roots */
    po.base_dir = NULL;
    po.allowed_roots = roots;
    p = fbq_parse("m.qasm", src, strlen(src), &po, &e);
    ck_assert(p == NULL && strstr(e.message, "only the standard headers"));
    snprintf(path, sizeof path, "%s/x.inc", b);
    unlink(path);
    rmdir(a);
    rmdir(b);
    rmdir(dir);

    /* text: UTF-8 without NUL or control bytes */
    int l, c;
    const char *good = "gate g a {}\n// caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\n";
    ck_assert_int_eq(fbq_text_check(good, strlen(good), &l, &c), 0);
    ck_assert_int_eq(fbq_text_check("ab\ncd\x01", 6, &l, &c), -1);
    ck_assert(l == 2 && c == 3);
    ck_assert_int_eq(fbq_text_check("x\xc0\xaf", 3, &l, &c), -1); /* overlong */
    ck_assert_int_eq(fbq_text_check("x\xed\xa0\x80", 4, &l, &c), -1); /* surrogate */
    ck_assert_int_eq(fbq_text_check("x\xe2\x82", 3, &l, &c), -1); /* truncated */
    ck_assert_int_eq(fbq_text_check("x\0y", 3, &l, &c), -1);
    ck_assert(l == 1 && c == 2);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("quantum");
    TCase *t = tcase_create("kernels");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, test_kernel_1q);
    tcase_add_test(t, test_kernel_phase);
    tcase_add_test(t, test_kernel_swap);
    tcase_add_test(t, test_kernel_far);
    tcase_add_test(t, test_kernel_diag_paths);
    tcase_add_test(t, test_kernel_2q_kq);
    tcase_add_test(t, test_classify);
    tcase_add_test(t, test_measure_kernels);
    suite_add_tcase(s, t);
    t = tcase_create("random");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, test_rng_vectors);
    tcase_add_test(t, test_binomial);
    suite_add_tcase(s, t);
    t = tcase_create("api");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, test_modifiers);
    tcase_add_test(t, test_replay_equals_copy);
    tcase_add_test(t, test_api);
    tcase_add_test(t, test_stream);
    tcase_add_test(t, test_include_roots);
    tcase_add_test(t, test_qasm3_forms);
    tcase_add_test(t, test_mangled);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return fbt_run(suite());
}
