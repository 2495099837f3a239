/* kernels.c - in-place state-vector kernels. Amplitude i is
 * (s[2i], s[2i+1]); qubit q is bit q of i. Each kernel walks only the index
 * pairs/groups it changes (bit tricks, no full-matrix expansion), with fast
 * paths for diagonal and permutation matrices. */
#include "config.h"
#include "fbq_int.h"

#include <math.h>
#include <string.h>

/* Inserts a zero bit at each position of pos[0..n) (ascending) into x. */
static inline uint64_t insert_zeros(uint64_t x, const int *pos, int n)
{
    for (int i = 0; i < n; i++) {
        uint64_t low = x & ((1ull << pos[i]) - 1);
        x = ((x >> pos[i]) << (pos[i] + 1)) | low;
    }
    return x;
}

/* Sorted positions of the fixed bits: targets plus control bits. */
static int fixed_positions(const int *t, int nt, uint64_t cmask, int *pos)
{
    int n = 0;
    for (int i = 0; i < nt; i++) pos[n++] = t[i];
    for (int b = 0; b < 64; b++)
        if (cmask >> b & 1) pos[n++] = b;
    for (int i = 1; i < n; i++) {
        int v = pos[i], j = i - 1;
        while (j >= 0 && pos[j] > v) {
            pos[j + 1] = pos[j];
            j--;
        }
        pos[j + 1] = v;
    }
    return n;
}

static inline void mul2(double *a, double *b, const fbq_c m[4])
{
    double ar = a[0], ai = a[1], br = b[0], bi = b[1];
    a[0] = m[0].re * ar - m[0].im * ai + m[1].re * br - m[1].im * bi;
    a[1] = m[0].re * ai + m[0].im * ar + m[1].re * bi + m[1].im * br;
    b[0] = m[2].re * ar - m[2].im * ai + m[3].re * br - m[3].im * bi;
    b[1] = m[2].re * ai + m[2].im * ar + m[3].re * bi + m[3].im * br;
}

void fbq_k_1q(double *s, int n, int t, const fbq_c m[4], uint64_t cmask, uint64_t cval)
{
    uint64_t N = 1ull << n, h = 1ull << t;
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
    int pos[64];
    int nf = fixed_positions(&t, 1, cmask, pos);
    uint64_t cnt = N >> nf;
    for (uint64_t i = 0; i < cnt; i++) {
        uint64_t i0 = insert_zeros(i, pos, nf) | cval;
        mul2(s + 2 * i0, s + 2 * (i0 | h), m);
    }
}

void fbq_k_1q_diag(double *s, int n, int t, fbq_c d0, fbq_c d1, uint64_t cmask, uint64_t cval)
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
    int pos[64];
    int nf = fixed_positions(&t, 1, cmask, pos);
    uint64_t cnt = N >> nf;
    for (uint64_t i = 0; i < cnt; i++) {
        uint64_t i0 = insert_zeros(i, pos, nf) | cval;
        double *a = s + 2 * i0, *b = s + 2 * (i0 | h);
        double ar = a[0], ai = a[1], br = b[0], bi = b[1];
        a[0] = d0.re * ar - d0.im * ai;
        a[1] = d0.re * ai + d0.im * ar;
        b[0] = d1.re * br - d1.im * bi;
        b[1] = d1.re * bi + d1.im * br;
    }
}

void fbq_k_1q_anti(double *s, int n, int t, fbq_c a01, fbq_c a10, uint64_t cmask, uint64_t cval)
{
    uint64_t N = 1ull << n, h = 1ull << t;
    int plain = a01.re == 1 && a01.im == 0 && a10.re == 1 && a10.im == 0;
    int pos[64];
    int nf = fixed_positions(&t, 1, cmask, pos);
    uint64_t cnt = N >> nf;
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
    for (uint64_t i = 0; i < cnt; i++) {
        uint64_t i0 = cmask ? insert_zeros(i, pos, nf) | cval : insert_zeros(i, pos, 1);
        double *a = s + 2 * i0, *b = s + 2 * (i0 | h);
        double ar = a[0], ai = a[1], br = b[0], bi = b[1];
        a[0] = a01.re * br - a01.im * bi;
        a[1] = a01.re * bi + a01.im * br;
        b[0] = a10.re * ar - a10.im * ai;
        b[1] = a10.re * ai + a10.im * ar;
    }
}

void fbq_k_phase(double *s, int n, fbq_c ph, uint64_t cmask, uint64_t cval)
{
    uint64_t N = 1ull << n;
    int pos[64];
    int nf = fixed_positions(NULL, 0, cmask, pos);
    uint64_t cnt = N >> nf;
    if (nf == 1) { /* one fixed bit: contiguous runs */
        uint64_t h = 1ull << pos[0], off = cval ? h : 0;
        for (uint64_t base = 0; base < N; base += 2 * h) {
            double *a = s + 2 * (base + off);
            for (uint64_t j = 0; j < 2 * h; j += 2) {
                double ar = a[j], ai = a[j + 1];
                a[j] = ph.re * ar - ph.im * ai;
                a[j + 1] = ph.re * ai + ph.im * ar;
            }
        }
        return;
    }
    for (uint64_t i = 0; i < cnt; i++) {
        uint64_t i0 = insert_zeros(i, pos, nf) | cval;
        double *a = s + 2 * i0;
        double ar = a[0], ai = a[1];
        a[0] = ph.re * ar - ph.im * ai;
        a[1] = ph.re * ai + ph.im * ar;
    }
}

void fbq_k_2q(double *s, int n, int q0, int q1, const fbq_c m[16], uint64_t cmask, uint64_t cval)
{
    int t[2] = {q0, q1}, pos[64];
    int nf = fixed_positions(t, 2, cmask, pos);
    uint64_t cnt = (1ull << n) >> nf;
    uint64_t off[4] = {0, 1ull << q0, 1ull << q1, (1ull << q0) | (1ull << q1)};
    for (uint64_t i = 0; i < cnt; i++) {
        uint64_t i0 = insert_zeros(i, pos, nf) | cval;
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
    int pos[64];
    int nf = fixed_positions(qs, k, cmask, pos);
    uint64_t cnt = (1ull << n) >> nf;
    size_t D = (size_t)1 << k;
    uint64_t off[256];
    fbq_c v[256];
    offsets(k, qs, off);
    for (uint64_t i = 0; i < cnt; i++) {
        uint64_t i0 = insert_zeros(i, pos, nf) | cval;
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

void fbq_k_kq_diag(double *s, int n, int k, const int *qs, const fbq_c *d, uint64_t cmask, uint64_t cval)
{
    int pos[64];
    int nf = fixed_positions(qs, k, cmask, pos);
    uint64_t cnt = (1ull << n) >> nf;
    size_t D = (size_t)1 << k;
    uint64_t off[256];
    offsets(k, qs, off);
    for (uint64_t i = 0; i < cnt; i++) {
        uint64_t i0 = insert_zeros(i, pos, nf) | cval;
        for (size_t r = 0; r < D; r++) {
            double *a = s + 2 * (i0 + off[r]);
            double ar = a[0], ai = a[1];
            a[0] = d[r].re * ar - d[r].im * ai;
            a[1] = d[r].re * ai + d[r].im * ar;
        }
    }
}

void fbq_k_kq_perm(double *s, int n, int k, const int *qs, const int *perm, const fbq_c *ph,
                   uint64_t cmask, uint64_t cval)
{
    int pos[64];
    int nf = fixed_positions(qs, k, cmask, pos);
    uint64_t cnt = (1ull << n) >> nf;
    size_t D = (size_t)1 << k;
    uint64_t off[256];
    fbq_c v[256];
    offsets(k, qs, off);
    for (uint64_t i = 0; i < cnt; i++) {
        uint64_t i0 = insert_zeros(i, pos, nf) | cval;
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
