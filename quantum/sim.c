/* sim.c - the simulator: gate fusion and classification, the PRNG, exact
 * outcome probabilities, multinomial sampling of shots, and the branching
 * trajectory engine for mid-circuit measurement, reset and conditions. */
#include "config.h"
#include "fbq_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOL 1e-12

/* ---- PRNG: xoshiro256** seeded with splitmix64 ---- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void fbq_rng_seed(fbq_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t fbq_rng_next(fbq_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double fbq_rng_uniform(fbq_rng *r)
{
    return (double)(fbq_rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t fbq_rng_binomial(fbq_rng *r, uint64_t n, double p)
{
    if (n == 0 || !(p > 0)) return 0;
    if (p >= 1) return n;
    /* Counting the rarer event would be cheaper, but flipping at p = 0.5
     * makes the draw jump when p moves by one rounding error there, and two
     * equivalent circuits would then sample differently with one seed; only
     * nearly certain events are flipped. */
    int flip = p > 0.999;
    double q = flip ? 1 - p : p;
    double lq = log1p(-q);
    uint64_t x = 0;
    double used = 0;
    for (;;) {
        double u = 1.0 - fbq_rng_uniform(r); /* (0, 1] */
        double g = floor(log(u) / lq) + 1;   /* trials up to the next success */
        used += g;
        if (used > (double)n) break;
        x++;
    }
    return flip ? n - x : x;
}

/* ---- classification ---- */

static int near(fbq_c a, double re, double im)
{
    return fabs(a.re - re) <= TOL && fabs(a.im - im) <= TOL;
}

static int is_zero(fbq_c a)
{
    return fabs(a.re) <= TOL && fabs(a.im) <= TOL;
}

/* Columns whose bit is `val` are unit vectors e_c: the qubit is then a
 * control active on the other value. */
static int cols_identity(const fbq_c *w, size_t D, size_t bit, size_t val)
{
    for (size_t c = 0; c < D; c++) {
        if ((c & bit) != val) continue;
        for (size_t r = 0; r < D; r++) {
            if (r == c) {
                if (!near(w[r * D + c], 1, 0)) return 0;
            } else if (!is_zero(w[r * D + c])) {
                return 0;
            }
        }
    }
    return 1;
}

/* Keeps rows and columns with local bit j == val and drops that bit. */
static void reduce(fbq_c *w, int kk, int j, int val)
{
    size_t D = (size_t)1 << kk, H = D / 2, bit = (size_t)1 << j;
    size_t low = bit - 1;
    for (size_t r = 0; r < H; r++)
        for (size_t c = 0; c < H; c++) {
            size_t rr = ((r & ~low) << 1) | (r & low) | (val ? bit : 0);
            size_t cc = ((c & ~low) << 1) | (c & low) | (val ? bit : 0);
            w[r * H + c] = w[rr * D + cc];
        }
}

void fbq_classify(int k, const int *q, const fbq_c *m, fbq_op *op)
{
    size_t D = (size_t)1 << k;
    fbq_c *w = fbq_xmalloc(D * D * sizeof *w);
    memcpy(w, m, D * D * sizeof *w);
    /* rounding leaves parts like 1e-16 where the exact value is 0 (e^{i pi}
     * in h = U(pi/2, 0, pi)); zeroing them lets real matrices take the
     * real kernel, for a change far below rounding error */
    for (size_t i = 0; i < D * D; i++) {
        if (fabs(w[i].re) < 1e-15) w[i].re = 0;
        if (fabs(w[i].im) < 1e-15) w[i].im = 0;
    }
    int lq[8], kk = k;
    memcpy(lq, q, (size_t)k * sizeof *q);
    op->cmask = op->cval = 0;
    op->m = NULL;
    op->perm = NULL;
    for (int changed = 1; changed && kk > 0;) {
        changed = 0;
        size_t Dk = (size_t)1 << kk;
        for (int j = 0; j < kk; j++) {
            size_t bit = (size_t)1 << j;
            int val;
            if (cols_identity(w, Dk, bit, 0)) val = 1;
            else if (cols_identity(w, Dk, bit, bit)) val = 0;
            else continue;
            reduce(w, kk, j, val);
            op->cmask |= 1ull << lq[j];
            if (val) op->cval |= 1ull << lq[j];
            for (int t = j; t < kk - 1; t++) lq[t] = lq[t + 1];
            kk--;
            changed = 1;
            break;
        }
    }
    size_t Dk = (size_t)1 << kk;
    op->k = kk;
    memcpy(op->q, lq, (size_t)kk * sizeof *lq);
    if (kk == 0) {
        if (near(w[0], 1, 0)) {
            op->cls = CL_NOP;
        } else {
            op->cls = CL_PHASE;
            op->m = fbq_xmalloc(sizeof *op->m);
            op->m[0] = w[0];
        }
        free(w);
        return;
    }
    int diag = 1, perm = 1;
    for (size_t c = 0; c < Dk; c++) {
        int nz = 0;
        for (size_t r = 0; r < Dk; r++) {
            if (!is_zero(w[r * Dk + c])) {
                nz++;
                if (r != c) diag = 0;
            }
        }
        if (nz != 1) perm = 0;
    }
    if (diag) {
        op->m = fbq_xmalloc(Dk * sizeof *op->m);
        for (size_t i = 0; i < Dk; i++) op->m[i] = w[i * Dk + i];
        op->cls = kk == 1 ? CL_1Q_DIAG : CL_KQ_DIAG;
    } else if (perm) {
        if (kk == 1) {
            op->cls = CL_1Q_ANTI;
            op->m = fbq_xmalloc(2 * sizeof *op->m);
            op->m[0] = w[1];   /* a01 */
            op->m[1] = w[2];   /* a10 */
        } else if (kk == 2 && !is_zero(w[0]) && near(w[0], 1, 0) && near(w[1 * 4 + 2], 1, 0) &&
                   near(w[2 * 4 + 1], 1, 0) && near(w[3 * 4 + 3], 1, 0)) {
            op->cls = CL_SWAP;
        } else {
            op->cls = CL_KQ_PERM;
            op->m = fbq_xmalloc(Dk * sizeof *op->m);
            op->perm = fbq_xmalloc(Dk * sizeof *op->perm);
            for (size_t c = 0; c < Dk; c++)
                for (size_t r = 0; r < Dk; r++)
                    if (!is_zero(w[r * Dk + c])) {
                        op->perm[c] = (int)r;
                        op->m[c] = w[r * Dk + c];
                    }
        }
    } else {
        op->cls = kk == 1 ? CL_1Q : kk == 2 ? CL_2Q : CL_KQ;
        op->m = fbq_xmalloc(Dk * Dk * sizeof *op->m);
        memcpy(op->m, w, Dk * Dk * sizeof *op->m);
    }
    free(w);
}

void fbq_op_clear(fbq_op *op)
{
    free(op->m);
    free(op->perm);
    op->m = NULL;
    op->perm = NULL;
}

void fbq_apply(double *s, int n, const fbq_op *op)
{
    switch (op->cls) {
    case CL_NOP: break;
    case CL_PHASE: fbq_k_phase(s, n, op->m[0], op->cmask, op->cval); break;
    case CL_1Q: fbq_k_1q(s, n, op->q[0], op->m, op->cmask, op->cval); break;
    case CL_1Q_DIAG: fbq_k_1q_diag(s, n, op->q[0], op->m[0], op->m[1], op->cmask, op->cval); break;
    case CL_1Q_ANTI: fbq_k_1q_anti(s, n, op->q[0], op->m[0], op->m[1], op->cmask, op->cval); break;
    case CL_2Q: fbq_k_2q(s, n, op->q[0], op->q[1], op->m, op->cmask, op->cval); break;
    case CL_KQ: fbq_k_kq(s, n, op->k, op->q, op->m, op->cmask, op->cval); break;
    case CL_KQ_DIAG: fbq_k_kq_diag(s, n, op->k, op->q, op->m, op->cmask, op->cval); break;
    case CL_KQ_PERM: fbq_k_kq_perm(s, n, op->k, op->q, op->perm, op->m, op->cmask, op->cval); break;
    case CL_SWAP: fbq_k_swap(s, n, op->q[0], op->q[1], op->cmask, op->cval); break;
    }
}

/* ---- fusion of diagonal gates ---- */

/* Runs of consecutive unconditional diagonal gates (phase, rz, cz, cp, ...)
 * on at most DIAG_MAX qubits together become one diagonal: one pass over
 * the state instead of one per gate (a QFT is mostly such runs). */
#define DIAG_MAX 10

static int is_diag(const fbq_op *o)
{
    return o->kind == RO_GATE && !o->has_cond &&
           (o->cls == CL_PHASE || o->cls == CL_1Q_DIAG || o->cls == CL_KQ_DIAG);
}

static uint64_t op_mask(const fbq_op *o)
{
    uint64_t m = o->cmask;
    for (int j = 0; j < o->k; j++) m |= 1ull << o->q[j];
    return m;
}

/* The diagonal entry of a diagonal op at basis index idx. */
static fbq_c diag_at(const fbq_op *o, uint64_t idx)
{
    fbq_c one = {1, 0};
    if ((idx & o->cmask) != o->cval) return one;
    if (o->cls == CL_PHASE) return o->m[0];
    size_t local = 0;
    for (int j = 0; j < o->k; j++) local |= (size_t)((idx >> o->q[j]) & 1) << j;
    return o->m[local];
}

/* Replaces ops[from..to) (diagonal, on the qubits of mask) by one op at
 * ops[from]: the product diagonal, with its controls found again. */
static void merge_diag(fbq_op *ops, int from, int to, uint64_t mask)
{
    int S[64], ns = 0;
    for (int b = 0; b < 64; b++)
        if (mask >> b & 1) S[ns++] = b;
    size_t D = (size_t)1 << ns;
    fbq_c d[1 << DIAG_MAX];
    for (size_t i = 0; i < D; i++) {
        uint64_t idx = 0;
        for (int j = 0; j < ns; j++) idx |= (uint64_t)((i >> j) & 1) << S[j];
        fbq_c v = {1, 0};
        for (int k = from; k < to; k++) v = fbq_cmul(v, diag_at(&ops[k], idx));
        d[i] = v;
    }
    fbq_op out;
    memset(&out, 0, sizeof out);
    out.kind = RO_GATE;
    out.raw = ops[from].raw;
    out.qubit = ops[from].qubit;
    out.clbit = -1;
    /* peel controls: a qubit whose 0 (or 1) half is all ones */
    for (int changed = 1; changed && ns > 0;) {
        changed = 0;
        for (int j = 0; j < ns && !changed; j++) {
            for (int val = 1; val >= 0 && !changed; val--) {
                int ok = 1;
                for (size_t i = 0; i < D && ok; i++)
                    if ((int)((i >> j) & 1) != val && !near(d[i], 1, 0)) ok = 0;
                if (!ok) continue;
                size_t h = 0;
                for (size_t i = 0; i < D; i++)
                    if ((int)((i >> j) & 1) == val) d[h++] = d[i];
                out.cmask |= 1ull << S[j];
                if (val) out.cval |= 1ull << S[j];
                for (int t = j; t < ns - 1; t++) S[t] = S[t + 1];
                ns--;
                D /= 2;
                changed = 1;
            }
        }
    }
    out.k = ns;
    memcpy(out.q, S, (size_t)ns * sizeof *S);
    if (ns == 0) {
        out.cls = near(d[0], 1, 0) ? CL_NOP : CL_PHASE;
        out.m = fbq_xmalloc(sizeof *out.m);
        out.m[0] = d[0];
    } else {
        out.cls = ns == 1 ? CL_1Q_DIAG : CL_KQ_DIAG;
        out.m = fbq_xmalloc(D * sizeof *out.m);
        memcpy(out.m, d, D * sizeof *d);
    }
    for (int k = from; k < to; k++) fbq_op_clear(&ops[k]);
    ops[from] = out;
}

static int cmp_low_qubit(const void *a, const void *b)
{
    uint64_t x = op_mask((const fbq_op *)a), y = op_mask((const fbq_op *)b);
    int lx = __builtin_ctzll(x), ly = __builtin_ctzll(y);
    if (lx != ly) return lx < ly ? -1 : 1;
    return ((const fbq_op *)a)->raw < ((const fbq_op *)b)->raw ? -1 : 1;
}

/* Fuses the diagonal runs of ops in place; returns the new count. The
 * gates of a run commute, so they are first ordered by their lowest qubit:
 * groups then cover neighbouring qubits, which the diagonal kernel walks
 * contiguously (the QFT's controlled phases on target j group as
 * {0..6, j}, {7..13, j}, ...). */
static int fuse_diagonals(fbq_op *ops, int n)
{
    int w = 0, i = 0;
    while (i < n) {
        if (!is_diag(&ops[i])) {
            ops[w++] = ops[i++];
            continue;
        }
        int end = i + 1;
        while (end < n && is_diag(&ops[end])) end++;
        qsort(ops + i, (size_t)(end - i), sizeof *ops, cmp_low_qubit);
        while (i < end) {
            uint64_t mask = op_mask(&ops[i]);
            int j = i + 1;
            while (j < end && __builtin_popcountll(mask | op_mask(&ops[j])) <= DIAG_MAX) {
                mask |= op_mask(&ops[j]);
                j++;
            }
            if (j - i > 1) merge_diag(ops, i, j, mask);
            ops[w++] = ops[i];
            i = j;
        }
    }
    return w;
}

/* Raw ops -> classified ops, merging runs of unconditional one-qubit gates
 * on the same qubit (a later gate may move back past operations on other
 * qubits, with which it commutes). */
static fbq_op *build_ops(const fbq_program *p, int *nout)
{
    int n = p->nops, cnt = 0;
    fbq_op *ops = fbq_xcalloc((size_t)(n ? n : 1), sizeof *ops);
    fbq_c (*fused)[4] = fbq_xmalloc((size_t)(n ? n : 1) * sizeof *fused);
    int *pending = fbq_xmalloc((size_t)(p->nqubits ? p->nqubits : 1) * sizeof *pending);
    int *src = fbq_xmalloc((size_t)(n ? n : 1) * sizeof *src);
    for (int i = 0; i < p->nqubits; i++) pending[i] = -1;
    for (int i = 0; i < n; i++) {
        const fbq_rawop *r = &p->ops[i];
        if (r->kind == RO_GATE && r->k == 1 && !r->has_cond) {
            int q = r->q[0];
            if (pending[q] >= 0) {
                fbq_c *a = fused[pending[q]], out[4];
                const fbq_c *b = r->m;
                /* later gate b applied after a: b * a */
                out[0] = fbq_cadd(fbq_cmul(b[0], a[0]), fbq_cmul(b[1], a[2]));
                out[1] = fbq_cadd(fbq_cmul(b[0], a[1]), fbq_cmul(b[1], a[3]));
                out[2] = fbq_cadd(fbq_cmul(b[2], a[0]), fbq_cmul(b[3], a[2]));
                out[3] = fbq_cadd(fbq_cmul(b[2], a[1]), fbq_cmul(b[3], a[3]));
                memcpy(a, out, sizeof out);
                continue;
            }
            memcpy(fused[cnt], r->m, sizeof fused[cnt]);
            pending[q] = cnt;
            src[cnt++] = i;
            continue;
        }
        for (int j = 0; j < r->k; j++) pending[r->q[j]] = -1;
        src[cnt++] = i;
    }
    for (int c = 0; c < cnt; c++) {
        const fbq_rawop *r = &p->ops[src[c]];
        fbq_op *o = &ops[c];
        o->kind = r->kind;
        o->raw = src[c];
        o->has_cond = r->has_cond;
        o->cond_off = r->cond_off;
        o->cond_width = r->cond_width;
        o->cond_val = r->cond_val;
        o->qubit = r->q[0];
        o->clbit = r->clbit;
        if (r->kind == RO_GATE) {
            if (r->k == 1 && !r->has_cond) fbq_classify(1, r->q, fused[c], o);
            else fbq_classify(r->k, r->q, r->m, o);
        }
    }
    free(fused);
    free(pending);
    free(src);
    *nout = fuse_diagonals(ops, cnt);
    return ops;
}

/* ---- outcome bookkeeping ---- */

/* Outcomes with their counts or probabilities. Keys are one byte per
 * classical bit, stored back to back. Entries either arrive already unique
 * and in output order (a single final state: `ordered`), or are merged
 * through a hash index and sorted at the end. */
typedef struct cmap {
    size_t keylen, n, cap;
    uint8_t *keys;
    uint64_t *counts;
    double *probs;
    int32_t *slot;        /* hash slots: entry index or -1 */
    size_t nslot;
    int ordered;
} cmap;

static uint64_t key_hash(const uint8_t *k, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= k[i];
        h *= 1099511628211ull;
    }
    return h;
}

static size_t cmap_append(cmap *m, const uint8_t *key)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->keys = fbq_xrealloc(m->keys, m->cap * (m->keylen ? m->keylen : 1));
        m->counts = fbq_xrealloc(m->counts, m->cap * sizeof *m->counts);
        m->probs = fbq_xrealloc(m->probs, m->cap * sizeof *m->probs);
    }
    memcpy(m->keys + m->n * m->keylen, key, m->keylen);
    m->counts[m->n] = 0;
    m->probs[m->n] = 0;
    return m->n++;
}

/* The entry of key, created when new. */
static size_t cmap_get(cmap *m, const uint8_t *key)
{
    if ((m->n + 1) * 2 > m->nslot) {
        size_t ns = m->nslot ? m->nslot * 2 : 128;
        int32_t *sl = fbq_xmalloc(ns * sizeof *sl);
        for (size_t i = 0; i < ns; i++) sl[i] = -1;
        for (size_t e = 0; e < m->n; e++) {
            size_t j = key_hash(m->keys + e * m->keylen, m->keylen) & (ns - 1);
            while (sl[j] >= 0) j = (j + 1) & (ns - 1);
            sl[j] = (int32_t)e;
        }
        free(m->slot);
        m->slot = sl;
        m->nslot = ns;
    }
    size_t j = key_hash(key, m->keylen) & (m->nslot - 1);
    while (m->slot[j] >= 0) {
        size_t e = (size_t)m->slot[j];
        if (!memcmp(m->keys + e * m->keylen, key, m->keylen)) return e;
        j = (j + 1) & (m->nslot - 1);
    }
    size_t e = cmap_append(m, key);
    m->slot[j] = (int32_t)e;
    return e;
}

static void cmap_free(cmap *m)
{
    free(m->keys);
    free(m->counts);
    free(m->probs);
    free(m->slot);
}

/* The bits of the outcome key: one byte per classical bit (0/1). */
typedef struct layout {
    int nbits;            /* classical bits in the key */
    int nregs;
    int *reg_off, *reg_size; /* registers in output order (leftmost first) */
    int *order;           /* key bit of each output character, leftmost first */
} layout;

static void layout_init(const fbq_program *p, int implicit, layout *L)
{
    int quantum = implicit ? 1 : 0;
    L->nregs = 0;
    L->reg_off = fbq_xmalloc((size_t)(p->nregs + 1) * sizeof *L->reg_off);
    L->reg_size = fbq_xmalloc((size_t)(p->nregs + 1) * sizeof *L->reg_size);
    for (int i = p->nregs - 1; i >= 0; i--) {
        if (p->regs[i].quantum != quantum) continue;
        L->reg_off[L->nregs] = p->regs[i].offset;
        L->reg_size[L->nregs] = p->regs[i].size;
        L->nregs++;
    }
    L->nbits = implicit ? p->nqubits : p->nclbits;
    L->order = fbq_xmalloc((size_t)(L->nbits ? L->nbits : 1) * sizeof *L->order);
    int k = 0;
    for (int r = 0; r < L->nregs; r++)
        for (int b = L->reg_size[r] - 1; b >= 0; b--) L->order[k++] = L->reg_off[r] + b;
}

static void layout_free(layout *L)
{
    free(L->reg_off);
    free(L->reg_size);
    free(L->order);
}

/* Writes the key as text: registers leftmost-first, each highest bit
 * first, separated by spaces. Returns the length. */
static size_t key_text(const layout *L, const uint8_t *key, char *out)
{
    size_t n = 0;
    for (int r = 0; r < L->nregs; r++) {
        if (r) out[n++] = ' ';
        for (int b = L->reg_size[r] - 1; b >= 0; b--) out[n++] = key[L->reg_off[r] + b] ? '1' : '0';
    }
    out[n] = '\0';
    return n;
}

typedef struct sortent {
    uint64_t packed;
    const char *text;
    size_t e;
} sortent;

static int cmp_packed(const void *a, const void *b)
{
    uint64_t x = ((const sortent *)a)->packed, y = ((const sortent *)b)->packed;
    return x < y ? -1 : x > y;
}

static int cmp_text(const void *a, const void *b)
{
    return strcmp(((const sortent *)a)->text, ((const sortent *)b)->text);
}

/* ---- delivering outcomes ---- */

/* Hands outcomes to the caller's sink one at a time: the key becomes text
 * in one reused buffer, so listing 2^m outcomes costs no memory per
 * outcome. */
typedef struct emitter {
    const fbq_sink *sink;
    const layout *L;
    fbq_run_info info;
    char *text;           /* key text: info.keylen + 1 bytes */
    double threshold;
    int all;              /* probabilities: every outcome, zeros included */
    int begun, stopped;
} emitter;

/* Calls begin once. -1 when the sink asked to stop. */
static int emit_begin(emitter *em)
{
    if (!em->begun) {
        em->begun = 1;
        if (em->sink->begin && em->sink->begin(em->sink->ctx, &em->info)) em->stopped = 1;
    }
    return em->stopped ? -1 : 0;
}

/* One outcome (key: one byte per classical bit). -1 when the sink asked to
 * stop. */
static int emit(emitter *em, const uint8_t *key, uint64_t count, double prob)
{
    if (emit_begin(em)) return -1;
    key_text(em->L, key, em->text);
    fbq_outcome o;
    o.bits = em->text;
    o.count = count;
    o.probability = prob;
    if (em->sink->outcome(em->sink->ctx, &o)) em->stopped = 1;
    return em->stopped ? -1 : 0;
}

/* Delivers the entries merged in m (counts of shots that did not arrive in
 * output order), sorted. Memory: one sort entry per distinct outcome, at
 * most one per shot; key texts only when keys are longer than 64 bits. */
static void emit_map(emitter *em, cmap *m)
{
    const layout *L = em->L;
    size_t width = em->info.keylen + 1;
    int packed = L->nbits <= 64;
    sortent *se = fbq_xmalloc((m->n ? m->n : 1) * sizeof *se);
    char *strings = packed ? NULL : fbq_xmalloc(m->n * width + 1);
    size_t n = 0;
    for (size_t e = 0; e < m->n; e++) {
        if (em->info.probabilities ? !(em->all || m->probs[e] > em->threshold) : m->counts[e] == 0) continue;
        const uint8_t *key = m->keys + e * m->keylen;
        se[n].e = e;
        se[n].text = NULL;
        se[n].packed = 0;
        if (packed) {
            for (int k = 0; k < L->nbits; k++) se[n].packed = (se[n].packed << 1) | key[L->order[k]];
        } else {
            char *t = strings + n * width;
            key_text(L, key, t);
            se[n].text = t;
        }
        n++;
    }
    if (!m->ordered) qsort(se, n, sizeof *se, packed ? cmp_packed : cmp_text);
    for (size_t i = 0; i < n; i++)
        if (emit(em, m->keys + se[i].e * m->keylen, m->counts[se[i].e], m->probs[se[i].e])) break;
    free(strings);
    free(se);
}

/* The layout text of the keys: the classical registers, or the quantum
 * ones when every qubit is read implicitly. new (free()). */
static char *layout_text(const fbq_program *p, int implicit)
{
    if (!implicit) return fbq_outcome_layout(p);
    fbq_sb b = {0};
    for (int i = p->nregs - 1; i >= 0; i--) {
        if (!p->regs[i].quantum) continue;
        if (b.n) fbq_sb_puts(&b, " ");
        fbq_sb_puts(&b, p->regs[i].name);
    }
    return fbq_sb_steal(&b);
}

/* ---- final-state marginals ---- */

/* Turns the amplitudes into probabilities in place: afterwards s[i] holds
 * |a_i|^2 for i < 2^n and the upper half of the buffer is free. */
static void probs_in_place(double *s, int n)
{
    uint64_t N = 1ull << n;
    for (uint64_t i = 0; i < N; i++) {
        double re = s[2 * i], im = s[2 * i + 1];
        s[i] = re * re + im * im;
    }
}

/* P[j] = sum of pr[i] over i whose bits at Q[0..m) spell j. */
static void marginal(const double *pr, int n, const int *Q, int m, double *P)
{
    uint64_t N = 1ull << n, M = 1ull << m;
    memset(P, 0, M * sizeof *P);
    int ident = 1;
    for (int b = 0; b < m; b++)
        if (Q[b] != b) ident = 0;
    if (ident) {
        if (m == n) {
            memcpy(P, pr, N * sizeof *P);
            return;
        }
        for (uint64_t i = 0; i < N; i++) P[i & (M - 1)] += pr[i];
        return;
    }
    int nbytes = (n + 7) / 8;
    uint64_t (*tab)[256] = fbq_xcalloc((size_t)(nbytes ? nbytes : 1), sizeof *tab);
    for (int b = 0; b < m; b++) {
        int byte = Q[b] / 8, bit = Q[b] % 8;
        for (int v = 0; v < 256; v++)
            if (v >> bit & 1) tab[byte][v] |= 1ull << b;
    }
    for (uint64_t i = 0; i < N; i++) {
        uint64_t j = 0;
        for (int byte = 0; byte < nbytes; byte++) j |= tab[byte][(i >> (8 * byte)) & 255];
        P[j] += pr[i];
    }
    free(tab);
}

/* The measurements of a static stretch of operations: which qubit each
 * classical bit finally reads (-1: not measured there), and the distinct
 * measured qubits Q ordered so that the marginal index j grows with the
 * outcome text (Q[m-1] is the qubit read leftmost). */
typedef struct mmap {
    int *clq;             /* per key bit: qubit or -1 */
    int *Q;               /* distinct measured qubits */
    int m;
} mmap;

static void mmap_build(const fbq_program *p, const fbq_op *ops, int from, int to, int implicit,
                       const layout *L, mmap *mm)
{
    int nbits = L->nbits;
    mm->clq = fbq_xmalloc((size_t)(nbits ? nbits : 1) * sizeof *mm->clq);
    mm->Q = fbq_xmalloc((size_t)(p->nqubits ? p->nqubits : 1) * sizeof *mm->Q);
    mm->m = 0;
    for (int c = 0; c < nbits; c++) mm->clq[c] = implicit ? c : -1;
    if (!implicit)
        for (int i = from; i < to; i++)
            if (ops[i].kind == RO_MEASURE && ops[i].clbit >= 0) mm->clq[ops[i].clbit] = ops[i].qubit;
    char *seen = fbq_xcalloc((size_t)(p->nqubits ? p->nqubits : 1), 1);
    int *first = fbq_xmalloc((size_t)(p->nqubits ? p->nqubits : 1) * sizeof *first);
    for (int k = 0; k < nbits; k++) {
        int q = mm->clq[L->order[k]];
        if (q >= 0 && !seen[q]) {
            seen[q] = 1;
            first[mm->m++] = q;
        }
    }
    for (int b = 0; b < mm->m; b++) mm->Q[b] = first[mm->m - 1 - b];
    free(first);
    free(seen);
}

static void mmap_free(mmap *mm)
{
    free(mm->clq);
    free(mm->Q);
}

static int qindex(const mmap *mm, int q)
{
    for (int b = 0; b < mm->m; b++)
        if (mm->Q[b] == q) return b;
    return -1;
}

/* Consumes the final state s (destroyed): adds the exact distribution
 * (probs) or `shots` samples to the map, or hands them straight to direct.
 * base: key bits not measured in the stretch. direct: the only final state
 * (outcomes then arrive distinct and in output order, and go to the sink
 * as they are read, except shots sampled by inverse CDF, which go to the
 * map); NULL: merge into the map. Probabilities always come with direct. */
static void finish_state(double *s, int n, const mmap *mm, const uint8_t *base, int nbits, int probs,
                         uint64_t shots, fbq_rng *rng, cmap *out, emitter *direct)
{
    probs_in_place(s, n);
    double *P = s + (1ull << n);
    marginal(s, n, mm->Q, mm->m, P);
    uint64_t M = 1ull << mm->m;
    int *bitof = fbq_xmalloc((size_t)(nbits ? nbits : 1) * sizeof *bitof);
    for (int c = 0; c < nbits; c++) bitof[c] = mm->clq[c] >= 0 ? qindex(mm, mm->clq[c]) : -1;
    uint8_t *key = fbq_xmalloc((size_t)(nbits ? nbits : 1));
    memcpy(key, base, (size_t)nbits);
    uint64_t last = 0;
    double total = 0;
    for (uint64_t j = 0; j < M; j++)
        if (P[j] > 0) {
            last = j;
            total += P[j];
        }
    if (!probs && shots < M / 16) {
        /* few shots over many outcomes: invert the cumulative distribution
         * for each shot (binary search) instead of a binomial per outcome */
        for (uint64_t j = 1; j < M; j++) P[j] += P[j - 1];
        for (uint64_t k = 0; k < shots; k++) {
            double u = fbq_rng_uniform(rng) * P[M - 1];
            uint64_t lo = 0, hi = last;
            while (lo < hi) {
                uint64_t mid = lo + (hi - lo) / 2;
                if (P[mid] > u) hi = mid;
                else lo = mid + 1;
            }
            for (int c = 0; c < nbits; c++)
                if (bitof[c] >= 0) key[c] = (uint8_t)((lo >> bitof[c]) & 1);
            size_t e = cmap_get(out, key); /* may move out->counts */
            out->counts[e]++;
        }
        out->ordered = 0;
        free(key);
        free(bitof);
        return;
    }
    uint64_t left = shots;
    double mass = total;
    for (uint64_t j = 0; j < M; j++) {
        double pj = P[j];
        uint64_t k = 0;
        if (probs) {
            if (!direct->all && !(pj > direct->threshold)) continue;
        } else {
            if (!(pj > 0)) continue;
            if (!left) break;
            if (j == last) {
                k = left;
            } else {
                double q = mass > 0 ? pj / mass : 1;
                if (q > 1) q = 1;
                k = fbq_rng_binomial(rng, left, q);
            }
            left -= k;
            mass -= pj;
            if (!k) continue;
        }
        for (int c = 0; c < nbits; c++)
            if (bitof[c] >= 0) key[c] = (uint8_t)((j >> bitof[c]) & 1);
        if (direct) {
            if (emit(direct, key, k, pj)) break;
            continue;
        }
        size_t e = cmap_get(out, key);
        out->counts[e] += k;
        out->probs[e] += pj;
    }
    free(key);
    free(bitof);
}

/* ---- the trajectory engine ---- */

typedef struct branch {
    int pc;
    uint64_t shots;
    uint8_t *clbits;
    uint8_t *path;        /* outcomes of the measurements/resets executed */
    size_t npath;
    double *state;        /* NULL: replay from the start along path */
} branch;

typedef struct engine {
    const fbq_program *p;
    fbq_op *ops;
    int nops, tail, n, nbits;
    fbq_rng rng;
    cmap out;
    uint64_t max_states, live;
    branch *stack;
    size_t nstack, capstack;
} engine;

static int cond_holds(const fbq_op *o, const uint8_t *cl)
{
    uint64_t v = 0;
    for (int b = 0; b < o->cond_width; b++) {
        if (!cl[o->cond_off + b]) continue;
        if (b >= 64) return 0;
        v |= 1ull << b;
    }
    return v == o->cond_val;
}

static void zero_state(double *s, int n)
{
    memset(s, 0, ((size_t)16) << n);
    s[0] = 1;
}

/* Collapses qubit q on outcome; a reset then returns it to |0>. */
static void do_outcome(engine *E, double *s, const fbq_op *o, int outcome, double p1, uint8_t *cl)
{
    fbq_k_collapse(s, E->n, o->qubit, outcome, outcome ? p1 : 1 - p1);
    if (o->kind == RO_RESET && outcome) fbq_k_flip_to_zero(s, E->n, o->qubit);
    if (o->kind == RO_MEASURE && o->clbit >= 0) cl[o->clbit] = (uint8_t)outcome;
}

static double prob1(const engine *E, const double *s, int q)
{
    double p1 = fbq_k_prob1(s, E->n, q);
    return p1 < 0 ? 0 : p1 > 1 ? 1 : p1;
}

/* Rebuilds a branch's state by re-running the circuit with its recorded
 * outcomes (used when keeping a copy would break the memory limit). */
static void replay(engine *E, branch *b, double *s)
{
    zero_state(s, E->n);
    uint8_t *cl = fbq_xcalloc((size_t)(E->nbits ? E->nbits : 1), 1);
    size_t k = 0;
    for (int pc = 0; pc < b->pc; pc++) {
        const fbq_op *o = &E->ops[pc];
        if (o->has_cond && !cond_holds(o, cl)) continue;
        if (o->kind == RO_GATE) {
            fbq_apply(s, E->n, o);
            continue;
        }
        int outcome = b->path[k++];
        do_outcome(E, s, o, outcome, prob1(E, s, o->qubit), cl);
    }
    free(cl);
}

static void push_branch(engine *E, branch *b)
{
    if (E->nstack == E->capstack) {
        E->capstack = E->capstack ? E->capstack * 2 : 16;
        E->stack = fbq_xrealloc(E->stack, E->capstack * sizeof *E->stack);
    }
    E->stack[E->nstack++] = *b;
}

/* Runs one branch (state at b->pc) to its end, pushing the other outcome of
 * every measurement whose shots split. Consumes b's state buffer. */
static void run_branch(engine *E, branch *b, double *s, const mmap *tailmap)
{
    int n = E->n;
    while (b->pc < E->nops && b->pc < E->tail) {
        const fbq_op *o = &E->ops[b->pc];
        if (o->has_cond && !cond_holds(o, b->clbits)) {
            b->pc++;
            continue;
        }
        if (o->kind == RO_GATE) {
            fbq_apply(s, n, o);
            b->pc++;
            continue;
        }
        double p1 = prob1(E, s, o->qubit);
        uint64_t n1 = fbq_rng_binomial(&E->rng, b->shots, p1), n0 = b->shots - n1;
        b->path = fbq_xrealloc(b->path, b->npath + 1);
        if (n0 && n1) {
            branch nb;
            nb.pc = b->pc + 1;
            nb.shots = n1;
            nb.clbits = fbq_xmalloc((size_t)(E->nbits ? E->nbits : 1));
            memcpy(nb.clbits, b->clbits, (size_t)E->nbits);
            nb.path = fbq_xmalloc(b->npath + 1);
            memcpy(nb.path, b->path, b->npath);
            nb.path[b->npath] = 1;
            nb.npath = b->npath + 1;
            nb.state = NULL;
            if (E->live < E->max_states) {
                nb.state = fbq_state_alloc(n);
                if (nb.state) {
                    E->live++;
                    memcpy(nb.state, s, ((size_t)16) << n);
                    do_outcome(E, nb.state, o, 1, p1, nb.clbits);
                }
            }
            if (!nb.state && o->kind == RO_MEASURE && o->clbit >= 0) nb.clbits[o->clbit] = 1;
            push_branch(E, &nb);
            b->shots = n0;
            do_outcome(E, s, o, 0, p1, b->clbits);
            b->path[b->npath++] = 0;
        } else {
            int outcome = n1 ? 1 : 0;
            do_outcome(E, s, o, outcome, p1, b->clbits);
            b->path[b->npath++] = (uint8_t)outcome;
        }
        b->pc++;
    }
    for (int pc = b->pc; pc < E->nops; pc++)
        if (E->ops[pc].kind == RO_GATE) fbq_apply(s, n, &E->ops[pc]);
    finish_state(s, n, tailmap, b->clbits, E->nbits, 0, b->shots, &E->rng, &E->out, NULL);
}

/* Index from which the rest of the circuit is static (no condition, no
 * reset, no gate after a measurement of the same qubit). */
static int static_tail(const fbq_program *p, const fbq_op *ops, int nops)
{
    char *gated = fbq_xcalloc((size_t)(p->nqubits ? p->nqubits : 1), 1);
    int i;
    for (i = nops - 1; i >= 0; i--) {
        const fbq_op *o = &ops[i];
        if (o->has_cond || o->kind == RO_RESET) break;
        if (o->kind == RO_MEASURE) {
            if (gated[o->qubit]) break;
            continue;
        }
        uint64_t m = op_mask(o);
        for (int b = 0; b < 64; b++)
            if (m >> b & 1) gated[b] = 1;
    }
    free(gated);
    return i + 1;
}

void fbq_options_init(fbq_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->shots = 1024;
    opt->seed = 0;
    opt->memory_limit = FBQ_DEFAULT_MEMORY_LIMIT;
    opt->threshold = FBQ_DEFAULT_THRESHOLD;
}

fbq_status fbq_simulate_each(const fbq_program *p, const fbq_options *optp, const fbq_sink *sink,
                             fbq_error *err)
{
    fbq_options opt;
    if (optp) opt = *optp;
    else fbq_options_init(&opt);
    if (!opt.memory_limit) opt.memory_limit = FBQ_DEFAULT_MEMORY_LIMIT;
    if (err) memset(err, 0, sizeof *err);
    if (!opt.want_probabilities && (opt.shots < 1 || opt.shots > FBQ_MAX_SHOTS)) {
        fbq_seterr(err, FBQ_EINVALID, NULL, 0, 0, "shots must be between 1 and %u, got %llu",
                   FBQ_MAX_SHOTS, (unsigned long long)opt.shots);
        return FBQ_EINVALID;
    }
    if (!(opt.threshold >= 0 && opt.threshold <= 1)) {
        fbq_seterr(err, FBQ_EINVALID, NULL, 0, 0, "the probability threshold must be between 0 and 1, got %g",
                   opt.threshold);
        return FBQ_EINVALID;
    }
    int n = p->nqubits;
    if (n > 58 || ((uint64_t)16 << n) > opt.memory_limit) {
        char need[64];
        if (n > 58) snprintf(need, sizeof need, "16 x 2^%d bytes", n);
        else snprintf(need, sizeof need, "%llu bytes", (unsigned long long)((uint64_t)16 << n));
        fbq_seterr(err, FBQ_EMEMORY, p->files[0], 0, 0,
                   "the circuit has %d qubits: its state vector needs %s (16 bytes x 2^%d), more than "
                   "the memory limit of %llu bytes; raise the limit (--memory-limit) or use fewer qubits",
                   n, need, n, (unsigned long long)opt.memory_limit);
        return FBQ_EMEMORY;
    }
    if (opt.want_probabilities && p->dynamic) {
        fbq_seterr(err, FBQ_EINVALID, NULL, 0, 0,
                   "exact probabilities are only computed for circuits without mid-circuit "
                   "measurement, reset or conditions; this one has %s. Sample it with shots instead",
                   p->dynamic_why ? p->dynamic_why : "one");
        return FBQ_EINVALID;
    }
    int nops;
    fbq_op *ops = build_ops(p, &nops);
    /* no measurement writes a classical bit (none at all, or only OpenQASM
     * 3's `measure q;`): report every qubit, as Braket does */
    int implicit = 1;
    for (int i = 0; i < p->nops; i++)
        if (p->ops[i].kind == RO_MEASURE && p->ops[i].clbit >= 0) implicit = 0;
    if (n == 0) implicit = 0;
    layout L;
    layout_init(p, implicit, &L);
    emitter em;
    memset(&em, 0, sizeof em);
    em.sink = sink;
    em.L = &L;
    em.threshold = opt.threshold;
    em.all = opt.all_outcomes;
    em.info.qubits = p->nqubits;
    em.info.clbits = p->nclbits;
    em.info.probabilities = opt.want_probabilities ? 1 : 0;
    em.info.shots = opt.want_probabilities ? 0 : opt.shots;
    em.info.seed = opt.seed;
    char *ltext = layout_text(p, implicit);
    em.info.layout = ltext;
    em.info.implicit = implicit;
    em.info.keylen = L.nbits ? (size_t)L.nbits + (size_t)L.nregs - 1 : 0;
    em.text = fbq_xmalloc(em.info.keylen + 1);
    engine E;
    memset(&E, 0, sizeof E);
    E.p = p;
    E.ops = ops;
    E.nops = nops;
    E.n = n;
    E.nbits = L.nbits;
    E.out.keylen = (size_t)L.nbits;
    fbq_rng_seed(&E.rng, opt.seed);
    E.tail = static_tail(p, ops, nops);
    E.max_states = opt.memory_limit / ((uint64_t)16 << n);
    double *s = fbq_state_alloc(n);
    fbq_status st = FBQ_OK;
    if (!s) {
        fbq_seterr(err, FBQ_EMEMORY, p->files[0], 0, 0, "cannot allocate %llu bytes for the state vector",
                   (unsigned long long)((uint64_t)16 << n));
        st = FBQ_EMEMORY;
        goto done;
    }
    E.live = 1;
    zero_state(s, n);
    mmap tailmap;
    mmap_build(p, ops, E.tail, nops, implicit, &L, &tailmap);
    if (E.tail == 0) {
        for (int i = 0; i < nops; i++)
            if (ops[i].kind == RO_GATE) fbq_apply(s, n, &ops[i]);
        uint8_t *base = fbq_xcalloc((size_t)(L.nbits ? L.nbits : 1), 1);
        finish_state(s, n, &tailmap, base, L.nbits, opt.want_probabilities, opt.shots, &E.rng, &E.out, &em);
        free(base);
    } else {
        branch b;
        memset(&b, 0, sizeof b);
        b.shots = opt.shots;
        b.clbits = fbq_xcalloc((size_t)(L.nbits ? L.nbits : 1), 1);
        double *spare = NULL;
        for (;;) {
            run_branch(&E, &b, s, &tailmap);
            free(b.clbits);
            free(b.path);
            spare = s;
            if (!E.nstack) break;
            b = E.stack[--E.nstack];
            if (b.state) {
                fbq_state_free(spare);
                E.live--;
                s = b.state;
                b.state = NULL;
            } else {
                s = spare;
                replay(&E, &b, s);
            }
        }
        s = spare;
    }
    mmap_free(&tailmap);
    /* what did not go out as it was read, then begin for an empty list */
    if (!em.stopped) emit_map(&em, &E.out);
    emit_begin(&em);
    if (em.stopped) {
        fbq_seterr(err, FBQ_ESTOPPED, NULL, 0, 0, "the run was stopped by its output");
        st = FBQ_ESTOPPED;
    }
done:
    fbq_state_free(s);
    cmap_free(&E.out);
    free(E.stack);
    layout_free(&L);
    free(em.text);
    free(ltext);
    for (int i = 0; i < nops; i++) fbq_op_clear(&ops[i]);
    free(ops);
    return st;
}

/* ---- fbq_simulate: a sink that keeps everything ---- */

typedef struct collector {
    fbq_result *r;
    fbq_sb strings;       /* the keys back to back, each NUL-terminated */
    size_t width, cap;
} collector;

static int collect_begin(void *ctx, const fbq_run_info *info)
{
    collector *c = ctx;
    fbq_result *r = c->r;
    r->qubits = info->qubits;
    r->clbits = info->clbits;
    r->probs = info->probabilities;
    r->shots = info->shots;
    r->seed = info->seed;
    r->layout = fbq_xstrdup(info->layout);
    c->width = info->keylen + 1;
    return 0;
}

static int collect_outcome(void *ctx, const fbq_outcome *o)
{
    collector *c = ctx;
    fbq_result *r = c->r;
    if (r->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        r->out = fbq_xrealloc(r->out, c->cap * sizeof *r->out);
    }
    r->out[r->n] = *o;
    r->out[r->n].bits = NULL; /* set at the end: strings moves as it grows */
    r->n++;
    fbq_sb_put(&c->strings, o->bits, c->width); /* with its NUL */
    return 0;
}

fbq_status fbq_simulate(const fbq_program *p, const fbq_options *opt, fbq_result **out, fbq_error *err)
{
    *out = NULL;
    collector c;
    memset(&c, 0, sizeof c);
    c.r = fbq_xcalloc(1, sizeof *c.r);
    fbq_sink sink = {collect_begin, collect_outcome, &c};
    fbq_status st = fbq_simulate_each(p, opt, &sink, err);
    fbq_result *r = c.r;
    r->strings = fbq_sb_steal(&c.strings);
    if (!r->out) r->out = fbq_xcalloc(1, sizeof *r->out);
    for (size_t i = 0; i < r->n; i++) r->out[i].bits = r->strings + i * c.width;
    if (st != FBQ_OK) {
        fbq_result_free(r);
        return st;
    }
    *out = r;
    return FBQ_OK;
}

/* ---- result accessors ---- */

void fbq_result_free(fbq_result *r)
{
    if (!r) return;
    free(r->out);
    free(r->strings);
    free(r->layout);
    free(r);
}

size_t fbq_result_size(const fbq_result *r)
{
    return r->n;
}

const fbq_outcome *fbq_result_outcome(const fbq_result *r, size_t i)
{
    return i < r->n ? &r->out[i] : NULL;
}

int fbq_result_is_probabilities(const fbq_result *r)
{
    return r->probs;
}

uint64_t fbq_result_shots(const fbq_result *r)
{
    return r->shots;
}

uint64_t fbq_result_seed(const fbq_result *r)
{
    return r->seed;
}

int fbq_result_qubits(const fbq_result *r)
{
    return r->qubits;
}

int fbq_result_clbits(const fbq_result *r)
{
    return r->clbits;
}

char *fbq_result_to_json(const fbq_result *r)
{
    fbq_sb b = {0};
    fbq_sb_printf(&b, "{\"qubits\":%d,\"clbits\":%d,\"shots\":%llu,\"seed\":%llu,\"layout\":\"", r->qubits,
                  r->clbits, (unsigned long long)r->shots, (unsigned long long)r->seed);
    for (const char *c = r->layout; *c; c++) {
        if (*c == '"' || *c == '\\') fbq_sb_printf(&b, "\\%c", *c);
        else if ((unsigned char)*c < 0x20) fbq_sb_printf(&b, "\\u%04x", (unsigned char)*c);
        else fbq_sb_put(&b, c, 1);
    }
    fbq_sb_printf(&b, "\",\"%s\":{", r->probs ? "probabilities" : "counts");
    for (size_t i = 0; i < r->n; i++) {
        if (i) fbq_sb_puts(&b, ",");
        if (r->probs) fbq_sb_printf(&b, "\"%s\":%.17g", r->out[i].bits, r->out[i].probability);
        else fbq_sb_printf(&b, "\"%s\":%llu", r->out[i].bits, (unsigned long long)r->out[i].count);
    }
    fbq_sb_puts(&b, "}}");
    return fbq_sb_steal(&b);
}
