/* kernels.c - in-place state-vector kernels. Amplitude i is
 * (s[2i], s[2i+1]); qubit q is bit q of i. Each kernel walks only the index
 * pairs/groups it changes (bit tricks, no full-matrix expansion), with fast
 * paths for diagonal and permutation matrices. */
#include "config.h"
#include "fbq_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The hot kernels are also compiled for AVX2+FMA on x86-64 and the best
 * version is picked when the library loads (GCC/Clang target_clones).
 * Not under ThreadSanitizer: the clones' ifunc resolver is instrumented
 * (__tsan_func_entry) but the dynamic linker runs it while relocating, before
 * the TSan runtime is set up, so every program linking this file died with
 * SIGSEGV before main (gcc 12; clang before 22, llvm-project#163369). */
#if defined(__SANITIZE_THREAD__)
#define FBQ_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FBQ_TSAN 1
#endif
#endif
#if defined(__x86_64__) && defined(__GNUC__) && defined(__ELF__) && !defined(FBQ_NO_CLONES) && \
    !defined(FBQ_TSAN)
#define HOT __attribute__((target_clones("avx2,fma", "default")))
#else
#define HOT
#endif

/* Every index i < N whose fixed bits read cval, in increasing order: the
 * next one sets the fixed bits, adds one (the carry skips them) and puts
 * the pattern back. Targets are fixed bits reading 0. */
#define FOR_FREE(i, N, fixed, cval) \
    for (uint64_t i = (cval); i < (N); i = ((((i) | (fixed)) + 1) & ~(fixed)) | (cval))

/* The free bits from the lowest free bit up to the next fixed bit: indices
 * differing only there form a run with a fixed stride, walked by an inner
 * loop instead of one carry step per element. */
typedef struct run {
    uint64_t bits, len, stride;
} run;

static run run_of(uint64_t fixed, int n)
{
    uint64_t N = 1ull << n, freeb = ~fixed & (N - 1);
    run r = {0, 1, 1};
    if (!freeb) return r;
    uint64_t f = freeb & -freeb;
    uint64_t above = fixed & ~((f << 1) - 1);
    uint64_t g = above ? (above & -above) : N;
    r.bits = (g - 1) & ~(f - 1);
    r.len = g / f;
    r.stride = f;
    return r;
}

static uint64_t target_mask(const int *t, int nt)
{
    uint64_t m = 0;
    for (int i = 0; i < nt; i++) m |= 1ull << t[i];
    return m;
}

static inline void mul2(double *a, double *b, const fbq_c m[4])
{
    double ar = a[0], ai = a[1], br = b[0], bi = b[1];
    a[0] = m[0].re * ar - m[0].im * ai + m[1].re * br - m[1].im * bi;
    a[1] = m[0].re * ai + m[0].im * ar + m[1].re * bi + m[1].im * br;
    b[0] = m[2].re * ar - m[2].im * ai + m[3].re * br - m[3].im * bi;
    b[1] = m[2].re * ai + m[2].im * ar + m[3].re * bi + m[3].im * br;
}

/* When the two halves of a pair are very far apart (256 MiB and more: the
 * top qubits of states of 25 qubits and up), reading them element by
 * element alternates between two distant DRAM rows and runs at a third of
 * the bandwidth on the machines we measured; copying blocks of each half
 * into cache first restores streaming. Nearer halves stream better without
 * the copies (see bench/README-quantum.md). */
#define FAR_PAIRS (1ull << 24) /* amplitudes between the halves */
#define PAIR_BLOCK 4096        /* amplitudes per block (64 KiB per half) */

HOT void fbq_k_1q_far(double *s, int n, int t, const fbq_c m[4])
{
    uint64_t N = 1ull << n, h = 1ull << t;
    double *ta = fbq_xmalloc(2 * PAIR_BLOCK * sizeof *ta), *tb = fbq_xmalloc(2 * PAIR_BLOCK * sizeof *tb);
    for (uint64_t base = 0; base < N; base += 2 * h) {
        double *a = s + 2 * base, *b = s + 2 * (base + h);
        for (uint64_t j0 = 0; j0 < 2 * h; j0 += 2 * PAIR_BLOCK) {
            memcpy(ta, a + j0, 2 * PAIR_BLOCK * sizeof *ta);
            memcpy(tb, b + j0, 2 * PAIR_BLOCK * sizeof *tb);
            for (uint64_t j = 0; j < 2 * PAIR_BLOCK; j += 2) {
                double ar = ta[j], ai = ta[j + 1], br = tb[j], bi = tb[j + 1];
                a[j0 + j] = m[0].re * ar - m[0].im * ai + m[1].re * br - m[1].im * bi;
                a[j0 + j + 1] = m[0].re * ai + m[0].im * ar + m[1].re * bi + m[1].im * br;
            }
            for (uint64_t j = 0; j < 2 * PAIR_BLOCK; j += 2) {
                double ar = ta[j], ai = ta[j + 1], br = tb[j], bi = tb[j + 1];
                b[j0 + j] = m[2].re * ar - m[2].im * ai + m[3].re * br - m[3].im * bi;
                b[j0 + j + 1] = m[2].re * ai + m[2].im * ar + m[3].re * bi + m[3].im * br;
            }
        }
    }
    free(ta);
    free(tb);
}

HOT void fbq_k_1q(double *s, int n, int t, const fbq_c m[4], uint64_t cmask, uint64_t cval)
{
    uint64_t N = 1ull << n, h = 1ull << t;
    if (!cmask && h >= FAR_PAIRS) {
        fbq_k_1q_far(s, n, t, m);
        return;
    }
    if (!cmask && m[0].im == 0 && m[1].im == 0 && m[2].im == 0 && m[3].im == 0) {
        /* a real matrix (h, ry, ...): half the multiplications */
        const double m0 = m[0].re, m1 = m[1].re, m2 = m[2].re, m3 = m[3].re;
        for (uint64_t base = 0; base < N; base += 2 * h) {
            double *restrict a = s + 2 * base, *restrict b = s + 2 * (base + h);
            for (uint64_t j = 0; j < 2 * h; j++) {
                double x = a[j], y = b[j];
                a[j] = m0 * x + m1 * y;
                b[j] = m2 * x + m3 * y;
            }
        }
        return;
    }
    if (!cmask) {
        const double m0r = m[0].re, m0i = m[0].im, m1r = m[1].re, m1i = m[1].im;
        const double m2r = m[2].re, m2i = m[2].im, m3r = m[3].re, m3i = m[3].im;
        if (t == 0) {
            for (uint64_t i = 0; i < N; i += 2) {
                double *a = s + 2 * i;
                double ar = a[0], ai = a[1], br = a[2], bi = a[3];
                a[0] = m0r * ar - m0i * ai + m1r * br - m1i * bi;
                a[1] = m0r * ai + m0i * ar + m1r * bi + m1i * br;
                a[2] = m2r * ar - m2i * ai + m3r * br - m3i * bi;
                a[3] = m2r * ai + m2i * ar + m3r * bi + m3i * br;
            }
            return;
        }
        for (uint64_t base = 0; base < N; base += 2 * h) {
            double *restrict a = s + 2 * base, *restrict b = s + 2 * (base + h);
            for (uint64_t j = 0; j < 2 * h; j += 2) {
                double ar = a[j], ai = a[j + 1], br = b[j], bi = b[j + 1];
                a[j] = m0r * ar - m0i * ai + m1r * br - m1i * bi;
                a[j + 1] = m0r * ai + m0i * ar + m1r * bi + m1i * br;
                b[j] = m2r * ar - m2i * ai + m3r * br - m3i * bi;
                b[j + 1] = m2r * ai + m2i * ar + m3r * bi + m3i * br;
            }
        }
        return;
    }
    run r = run_of(cmask | h, n);
    FOR_FREE(i0, N, cmask | h | r.bits, cval)
        for (uint64_t u = 0, i = i0; u < r.len; u++, i += r.stride) mul2(s + 2 * i, s + 2 * (i | h), m);
}

HOT void fbq_k_1q_diag(double *s, int n, int t, fbq_c d0, fbq_c d1, uint64_t cmask, uint64_t cval)
{
    uint64_t N = 1ull << n, h = 1ull << t;
    if (!cmask) {
        for (uint64_t base = 0; base < N; base += 2 * h) {
            for (uint64_t j = base; j < base + h; j++) {
                double *a = s + 2 * j, *b = s + 2 * (j + h);
                double ar = a[0], ai = a[1], br = b[0], bi = b[1];
                a[0] = d0.re * ar - d0.im * ai;
                a[1] = d0.re * ai + d0.im * ar;
                b[0] = d1.re * br - d1.im * bi;
                b[1] = d1.re * bi + d1.im * br;
            }
        }
        return;
    }
    run r = run_of(cmask | h, n);
    FOR_FREE(i0, N, cmask | h | r.bits, cval)
    for (uint64_t u = 0, i = i0; u < r.len; u++, i += r.stride) {
        double *a = s + 2 * i, *b = s + 2 * (i | h);
        double ar = a[0], ai = a[1], br = b[0], bi = b[1];
        a[0] = d0.re * ar - d0.im * ai;
        a[1] = d0.re * ai + d0.im * ar;
        b[0] = d1.re * br - d1.im * bi;
        b[1] = d1.re * bi + d1.im * br;
    }
}

void fbq_k_x_far(double *s, int n, int t)
{
    uint64_t N = 1ull << n, h = 1ull << t, blk = 2 * PAIR_BLOCK;
    double *tmp = fbq_xmalloc(blk * sizeof *tmp);
    for (uint64_t base = 0; base < N; base += 2 * h) {
        double *a = s + 2 * base, *b = s + 2 * (base + h);
        for (uint64_t j0 = 0; j0 < 2 * h; j0 += blk) {
            memcpy(tmp, a + j0, blk * sizeof *tmp);
            memcpy(a + j0, b + j0, blk * sizeof *tmp);
            memcpy(b + j0, tmp, blk * sizeof *tmp);
        }
    }
    free(tmp);
}

void fbq_k_1q_anti(double *s, int n, int t, fbq_c a01, fbq_c a10, uint64_t cmask, uint64_t cval)
{
    uint64_t N = 1ull << n, h = 1ull << t;
    int plain = a01.re == 1 && a01.im == 0 && a10.re == 1 && a10.im == 0;
    if (!cmask && plain && h >= FAR_PAIRS) {
        fbq_k_x_far(s, n, t);
        return;
    }
    if (!cmask && plain) { /* X: swap halves */
        for (uint64_t base = 0; base < N; base += 2 * h) {
            double *a = s + 2 * base, *b = s + 2 * (base + h);
            for (uint64_t j = 0; j < 2 * h; j++) {
                double tmp = a[j];
                a[j] = b[j];
                b[j] = tmp;
            }
        }
        return;
    }
    run r = run_of(cmask | h, n);
    FOR_FREE(i0, N, cmask | h | r.bits, cval)
    for (uint64_t u = 0, i = i0; u < r.len; u++, i += r.stride) {
        double *a = s + 2 * i, *b = s + 2 * (i | h);
        double ar = a[0], ai = a[1], br = b[0], bi = b[1];
        a[0] = a01.re * br - a01.im * bi;
        a[1] = a01.re * bi + a01.im * br;
        b[0] = a10.re * ar - a10.im * ai;
        b[1] = a10.re * ai + a10.im * ar;
    }
}

HOT void fbq_k_phase(double *s, int n, fbq_c ph, uint64_t cmask, uint64_t cval)
{
    uint64_t N = 1ull << n;
    if (!cmask) { /* a global phase */
        for (uint64_t j = 0; j < 2 * N; j += 2) {
            double ar = s[j], ai = s[j + 1];
            s[j] = ph.re * ar - ph.im * ai;
            s[j + 1] = ph.re * ai + ph.im * ar;
        }
        return;
    }
    run r = run_of(cmask, n);
    FOR_FREE(i0, N, cmask | r.bits, cval)
    for (uint64_t u = 0, i = i0; u < r.len; u++, i += r.stride) {
        double *a = s + 2 * i;
        double ar = a[0], ai = a[1];
        a[0] = ph.re * ar - ph.im * ai;
        a[1] = ph.re * ai + ph.im * ar;
    }
}

void fbq_k_swap(double *s, int n, int q0, int q1, uint64_t cmask, uint64_t cval)
{
    uint64_t N = 1ull << n, h0 = 1ull << q0, h1 = 1ull << q1, fixed = cmask | h0 | h1;
    run r = run_of(fixed, n);
    FOR_FREE(i0, N, fixed | r.bits, cval | h0)
    for (uint64_t u = 0, i = i0; u < r.len; u++, i += r.stride) {
        double *a = s + 2 * i, *b = s + 2 * (i ^ h0 ^ h1);
        double x = a[0], y = a[1];
        a[0] = b[0];
        a[1] = b[1];
        b[0] = x;
        b[1] = y;
    }
}

/* Two-qubit dense gate whose higher target is far: the four amplitudes of
 * each group are copied window by window into cache (see FAR_PAIRS). */
static void mul4(fbq_c *v0, fbq_c *v1, fbq_c *v2, fbq_c *v3, const fbq_c m[16])
{
    fbq_c in[4] = {*v0, *v1, *v2, *v3}, out[4];
    for (int r = 0; r < 4; r++) {
        double re = 0, im = 0;
        for (int c = 0; c < 4; c++) {
            re += m[4 * r + c].re * in[c].re - m[4 * r + c].im * in[c].im;
            im += m[4 * r + c].re * in[c].im + m[4 * r + c].im * in[c].re;
        }
        out[r].re = re;
        out[r].im = im;
    }
    *v0 = out[0];
    *v1 = out[1];
    *v2 = out[2];
    *v3 = out[3];
}

void fbq_k_2q_far(double *s, int n, int q0, int q1, const fbq_c m[16])
{
    uint64_t N = 1ull << n;
    int lo = q0 < q1 ? q0 : q1, hi = q0 < q1 ? q1 : q0;
    uint64_t hl = 1ull << lo, hh = 1ull << hi, W = PAIR_BLOCK;
    fbq_c *c = (fbq_c *)s;
    /* local index r = bit0 (q0) | bit1 (q1); slot of r: which window and
     * whether it is the +hl element */
    int r_lo = q0 == lo ? 1 : 2, r_hi = q0 == lo ? 2 : 1;
    if (2 * hl <= W) {
        fbq_c *ta = fbq_xmalloc(W * sizeof *ta), *tb = fbq_xmalloc(W * sizeof *tb);
        for (uint64_t b1 = 0; b1 < N; b1 += 2 * hh)
            for (uint64_t w = 0; w < hh; w += W) {
                memcpy(ta, c + b1 + w, W * sizeof *ta);
                memcpy(tb, c + b1 + hh + w, W * sizeof *tb);
                for (uint64_t b0 = 0; b0 < W; b0 += 2 * hl)
                    for (uint64_t i = b0; i < b0 + hl; i++) {
                        fbq_c *v[4];
                        v[0] = &ta[i];
                        v[r_lo] = &ta[i + hl];
                        v[r_hi] = &tb[i];
                        v[3] = &tb[i + hl];
                        mul4(v[0], v[1], v[2], v[3], m);
                    }
                memcpy(c + b1 + w, ta, W * sizeof *ta);
                memcpy(c + b1 + hh + w, tb, W * sizeof *tb);
            }
        free(ta);
        free(tb);
        return;
    }
    fbq_c *t[4];
    for (int k = 0; k < 4; k++) t[k] = fbq_xmalloc(W * sizeof *t[k]);
    uint64_t off[4];
    off[0] = 0;
    off[r_lo] = hl;
    off[r_hi] = hh;
    off[3] = hl + hh;
    for (uint64_t b1 = 0; b1 < N; b1 += 2 * hh)
        for (uint64_t b0 = b1; b0 < b1 + hh; b0 += 2 * hl)
            for (uint64_t w = b0; w < b0 + hl; w += W) {
                for (int k = 0; k < 4; k++) memcpy(t[k], c + w + off[k], W * sizeof *t[k]);
                for (uint64_t i = 0; i < W; i++) mul4(&t[0][i], &t[1][i], &t[2][i], &t[3][i], m);
                for (int k = 0; k < 4; k++) memcpy(c + w + off[k], t[k], W * sizeof *t[k]);
            }
    for (int k = 0; k < 4; k++) free(t[k]);
}

HOT void fbq_k_2q(double *s, int n, int q0, int q1, const fbq_c m[16], uint64_t cmask, uint64_t cval)
{
    if (!cmask && (1ull << (q0 > q1 ? q0 : q1)) >= FAR_PAIRS) {
        fbq_k_2q_far(s, n, q0, q1, m);
        return;
    }
    uint64_t N = 1ull << n;
    uint64_t off[4] = {0, 1ull << q0, 1ull << q1, (1ull << q0) | (1ull << q1)};
    if (!cmask) {
        /* blocks of the higher target, then of the lower, then a contiguous
         * run: four amplitudes at a time with the matrix in registers */
        int lo = q0 < q1 ? q0 : q1, hi = q0 < q1 ? q1 : q0;
        uint64_t hl = 1ull << lo, hh = 1ull << hi;
        double mr[16], mi[16];
        for (int k = 0; k < 16; k++) {
            mr[k] = m[k].re;
            mi[k] = m[k].im;
        }
        for (uint64_t b1 = 0; b1 < N; b1 += 2 * hh)
            for (uint64_t b0 = b1; b0 < b1 + hh; b0 += 2 * hl)
                for (uint64_t i0 = b0; i0 < b0 + hl; i0++) {
                    double vr[4], vi[4];
                    for (int r = 0; r < 4; r++) {
                        vr[r] = s[2 * (i0 + off[r])];
                        vi[r] = s[2 * (i0 + off[r]) + 1];
                    }
                    for (int r = 0; r < 4; r++) {
                        double re = 0, im = 0;
                        for (int c = 0; c < 4; c++) {
                            re += mr[4 * r + c] * vr[c] - mi[4 * r + c] * vi[c];
                            im += mr[4 * r + c] * vi[c] + mi[4 * r + c] * vr[c];
                        }
                        s[2 * (i0 + off[r])] = re;
                        s[2 * (i0 + off[r]) + 1] = im;
                    }
                }
        return;
    }
    FOR_FREE(i0, N, cmask | off[3], cval) {
        fbq_c v[4];
        for (int r = 0; r < 4; r++) {
            v[r].re = s[2 * (i0 + off[r])];
            v[r].im = s[2 * (i0 + off[r]) + 1];
        }
        for (int r = 0; r < 4; r++) {
            const fbq_c *row = m + 4 * r;
            double re = 0, im = 0;
            for (int c = 0; c < 4; c++) {
                re += row[c].re * v[c].re - row[c].im * v[c].im;
                im += row[c].re * v[c].im + row[c].im * v[c].re;
            }
            s[2 * (i0 + off[r])] = re;
            s[2 * (i0 + off[r]) + 1] = im;
        }
    }
}

static void offsets(int k, const int *qs, uint64_t *off)
{
    size_t D = (size_t)1 << k;
    for (size_t j = 0; j < D; j++) {
        uint64_t o = 0;
        for (int b = 0; b < k; b++)
            if (j >> b & 1) o |= 1ull << qs[b];
        off[j] = o;
    }
}

void fbq_k_kq(double *s, int n, int k, const int *qs, const fbq_c *m, uint64_t cmask, uint64_t cval)
{
    uint64_t N = 1ull << n, tm = target_mask(qs, k);
    size_t D = (size_t)1 << k;
    uint64_t off[256];
    fbq_c v[256];
    offsets(k, qs, off);
    FOR_FREE(i0, N, cmask | tm, cval) {
        for (size_t r = 0; r < D; r++) {
            v[r].re = s[2 * (i0 + off[r])];
            v[r].im = s[2 * (i0 + off[r]) + 1];
        }
        for (size_t r = 0; r < D; r++) {
            const fbq_c *row = m + D * r;
            double re = 0, im = 0;
            for (size_t c = 0; c < D; c++) {
                re += row[c].re * v[c].re - row[c].im * v[c].im;
                im += row[c].re * v[c].im + row[c].im * v[c].re;
            }
            s[2 * (i0 + off[r])] = re;
            s[2 * (i0 + off[r]) + 1] = im;
        }
    }
}

HOT void fbq_k_kq_diag(double *s, int n, int k, const int *qs, const fbq_c *d, uint64_t cmask, uint64_t cval)
{
    uint64_t N = 1ull << n, tm = target_mask(qs, k);
    size_t D = (size_t)1 << k;
    uint64_t off[1024];
    offsets(k, qs, off);
    int low = 1; /* the targets, in order, are bits 0..k-1: a block is contiguous */
    for (int j = 0; j < k; j++)
        if (qs[j] != j) low = 0;
    if (low) {
        FOR_FREE(i0, N, cmask | tm, cval) {
            double *a = s + 2 * i0;
            for (size_t r = 0; r < D; r++) {
                double ar = a[2 * r], ai = a[2 * r + 1];
                a[2 * r] = d[r].re * ar - d[r].im * ai;
                a[2 * r + 1] = d[r].re * ai + d[r].im * ar;
            }
        }
        return;
    }
    /* otherwise: for each diagonal entry, a strided run of the free bits
     * just above the lowest fixed bits, with one multiplier */
    run rr = run_of(cmask | tm, n);
    FOR_FREE(i0, N, cmask | tm | rr.bits, cval)
        for (size_t r = 0; r < D; r++) {
            const double dr = d[r].re, di = d[r].im;
            double *a = s + 2 * (i0 + off[r]);
            for (uint64_t u = 0; u < 2 * rr.len * rr.stride; u += 2 * rr.stride) {
                double ar = a[u], ai = a[u + 1];
                a[u] = dr * ar - di * ai;
                a[u + 1] = dr * ai + di * ar;
            }
        }
}

void fbq_k_kq_perm(double *s, int n, int k, const int *qs, const int *perm, const fbq_c *ph,
                   uint64_t cmask, uint64_t cval)
{
    uint64_t N = 1ull << n, tm = target_mask(qs, k);
    size_t D = (size_t)1 << k;
    uint64_t off[256];
    fbq_c v[256];
    offsets(k, qs, off);
    FOR_FREE(i0, N, cmask | tm, cval) {
        for (size_t r = 0; r < D; r++) {
            v[r].re = s[2 * (i0 + off[r])];
            v[r].im = s[2 * (i0 + off[r]) + 1];
        }
        for (size_t j = 0; j < D; j++) {
            fbq_c x = fbq_cmul(ph[j], v[j]);
            double *a = s + 2 * (i0 + off[perm[j]]);
            a[0] = x.re;
            a[1] = x.im;
        }
    }
}

double fbq_k_prob1(const double *s, int n, int q)
{
    uint64_t N = 1ull << n, h = 1ull << q;
    double p = 0;
    for (uint64_t base = h; base < N; base += 2 * h) {
        const double *a = s + 2 * base;
        for (uint64_t j = 0; j < 2 * h; j++) p += a[j] * a[j];
    }
    return p;
}

void fbq_k_collapse(double *s, int n, int q, int outcome, double p)
{
    uint64_t N = 1ull << n, h = 1ull << q;
    double f = p > 0 ? 1.0 / sqrt(p) : 0;
    for (uint64_t base = 0; base < N; base += 2 * h) {
        double *keep = s + 2 * (base + (outcome ? h : 0));
        double *drop = s + 2 * (base + (outcome ? 0 : h));
        for (uint64_t j = 0; j < 2 * h; j++) {
            keep[j] *= f;
            drop[j] = 0;
        }
    }
}

void fbq_k_flip_to_zero(double *s, int n, int q)
{
    uint64_t N = 1ull << n, h = 1ull << q;
    for (uint64_t base = 0; base < N; base += 2 * h) {
        double *a = s + 2 * base, *b = s + 2 * (base + h);
        memcpy(a, b, 2 * h * sizeof *a);
        memset(b, 0, 2 * h * sizeof *b);
    }
}

double fbq_k_norm2(const double *s, int n)
{
    uint64_t N = 2ull << n;
    double p = 0;
    for (uint64_t i = 0; i < N; i++) p += s[i] * s[i];
    return p;
}
