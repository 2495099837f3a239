/* lower.c - from syntax tree to raw operations: gate matrices (built from
 * the definitions, the standard gate table and the OpenQASM 3 modifiers),
 * register broadcasting, and the static/dynamic classification of the
 * circuit. */
#include "config.h"
#include "fbq_int.h"

#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A user gate on at most FUSE_MAX qubits becomes one dense matrix (the
 * simulator then finds its controls and structure); bigger gates are
 * expanded into their bodies. Modifiers need the matrix of the whole gate,
 * which is allowed up to MAT_MAX qubits. */
#define FUSE_MAX 4
#define MAT_MAX 8
#define MAX_CALL_DEPTH 64
/* Nested gate definitions can describe exponentially long circuits; the
 * lowering of one program may take at most this many steps (gate
 * applications while building matrices, plus operations emitted). */
#define MAX_WORK 8000000L

/* ---- standard gates (OpenQASM 3 stdgates.inc, specification matrices) ---- */

enum { S_P, S_X, S_Y, S_Z, S_H, S_S, S_SDG, S_T, S_TDG, S_SX, S_RX, S_RY, S_RZ, S_CX, S_CY, S_CZ,
       S_CP, S_CRX, S_CRY, S_CRZ, S_CH, S_SWAP, S_CCX, S_CSWAP, S_CU, S_CX2, S_PHASE, S_CPHASE,
       S_ID, S_U1, S_U2, S_U3, S_COUNT };

static const fbq_stdgate stdgates[S_COUNT] = {
    [S_P] = {"p", 1, 1},       [S_X] = {"x", 0, 1},        [S_Y] = {"y", 0, 1},
    [S_Z] = {"z", 0, 1},       [S_H] = {"h", 0, 1},        [S_S] = {"s", 0, 1},
    [S_SDG] = {"sdg", 0, 1},   [S_T] = {"t", 0, 1},        [S_TDG] = {"tdg", 0, 1},
    [S_SX] = {"sx", 0, 1},     [S_RX] = {"rx", 1, 1},      [S_RY] = {"ry", 1, 1},
    [S_RZ] = {"rz", 1, 1},     [S_CX] = {"cx", 0, 2},      [S_CY] = {"cy", 0, 2},
    [S_CZ] = {"cz", 0, 2},     [S_CP] = {"cp", 1, 2},      [S_CRX] = {"crx", 1, 2},
    [S_CRY] = {"cry", 1, 2},   [S_CRZ] = {"crz", 1, 2},    [S_CH] = {"ch", 0, 2},
    [S_SWAP] = {"swap", 0, 2}, [S_CCX] = {"ccx", 0, 3},    [S_CSWAP] = {"cswap", 0, 3},
    [S_CU] = {"cu", 4, 2},     [S_CX2] = {"CX", 0, 2},     [S_PHASE] = {"phase", 1, 1},
    [S_CPHASE] = {"cphase", 1, 2}, [S_ID] = {"id", 0, 1},  [S_U1] = {"u1", 1, 1},
    [S_U2] = {"u2", 2, 1},     [S_U3] = {"u3", 3, 1},
};

int fbq_std_count(void)
{
    return S_COUNT;
}

const fbq_stdgate *fbq_std_get(int id)
{
    return id >= 0 && id < S_COUNT ? &stdgates[id] : NULL;
}

int fbq_std_find(const char *name)
{
    for (int i = 0; i < S_COUNT; i++)
        if (!strcmp(stdgates[i].name, name)) return i;
    return -1;
}

static fbq_c cx_(double re, double im)
{
    fbq_c c = {re, im};
    return c;
}

static fbq_c cexp_i(double a)
{
    return cx_(cos(a), sin(a));
}

void fbq_u_matrix(double theta, double phi, double lambda, fbq_c m[4])
{
    double c = cos(theta / 2), s = sin(theta / 2);
    m[0] = cx_(c, 0);
    fbq_c el = cexp_i(lambda), ep = cexp_i(phi), epl = cexp_i(phi + lambda);
    m[1] = cx_(-el.re * s, -el.im * s);
    m[2] = cx_(ep.re * s, ep.im * s);
    m[3] = cx_(epl.re * c, epl.im * c);
}

/* out (2D x 2D) = the gate m (D x D) with a new control as bit 0 (the
 * first operand); neg: the control is active on |0>. */
static void add_control(const fbq_c *m, int k, fbq_c *out, int neg)
{
    size_t D = (size_t)1 << k, D2 = D * 2;
    int active = neg ? 0 : 1;
    for (size_t r = 0; r < D2; r++)
        for (size_t c = 0; c < D2; c++) {
            fbq_c v = {0, 0};
            if ((r & 1) == (c & 1)) {
                if ((int)(r & 1) == active) v = m[(r >> 1) * D + (c >> 1)];
                else if ((r >> 1) == (c >> 1)) v.re = 1;
            }
            out[r * D2 + c] = v;
        }
}

static void one_qubit(int id, const double *p, fbq_c m[4])
{
    const double h = M_SQRT1_2;
    memset(m, 0, 4 * sizeof *m);
    switch (id) {
    case S_P: case S_PHASE: case S_U1:
        m[0].re = 1;
        m[3] = cexp_i(p[0]);
        break;
    case S_X: m[1].re = m[2].re = 1; break;
    case S_Y: m[1].im = -1; m[2].im = 1; break;
    case S_Z: m[0].re = 1; m[3].re = -1; break;
    case S_H: m[0].re = m[1].re = m[2].re = h; m[3].re = -h; break;
    case S_S: m[0].re = 1; m[3].im = 1; break;
    case S_SDG: m[0].re = 1; m[3].im = -1; break;
    case S_T: m[0].re = 1; m[3] = cx_(h, h); break;
    case S_TDG: m[0].re = 1; m[3] = cx_(h, -h); break;
    case S_SX:
        m[0] = m[3] = cx_(0.5, 0.5);
        m[1] = m[2] = cx_(0.5, -0.5);
        break;
    case S_RX:
        m[0] = m[3] = cx_(cos(p[0] / 2), 0);
        m[1] = m[2] = cx_(0, -sin(p[0] / 2));
        break;
    case S_RY:
        m[0] = m[3] = cx_(cos(p[0] / 2), 0);
        m[1] = cx_(-sin(p[0] / 2), 0);
        m[2] = cx_(sin(p[0] / 2), 0);
        break;
    case S_RZ:
        m[0] = cexp_i(-p[0] / 2);
        m[3] = cexp_i(p[0] / 2);
        break;
    case S_ID: m[0].re = m[3].re = 1; break;
    case S_U2: fbq_u_matrix(M_PI / 2, p[0], p[1], m); break;
    case S_U3: fbq_u_matrix(p[0], p[1], p[2], m); break;
    }
}

void fbq_std_matrix(int id, const double *p, fbq_c *m)
{
    fbq_c v[4], sw[16];
    switch (id) {
    case S_CX: case S_CX2: one_qubit(S_X, p, v); add_control(v, 1, m, 0); return;
    case S_CY: one_qubit(S_Y, p, v); add_control(v, 1, m, 0); return;
    case S_CZ: one_qubit(S_Z, p, v); add_control(v, 1, m, 0); return;
    case S_CP: case S_CPHASE: one_qubit(S_P, p, v); add_control(v, 1, m, 0); return;
    case S_CRX: one_qubit(S_RX, p, v); add_control(v, 1, m, 0); return;
    case S_CRY: one_qubit(S_RY, p, v); add_control(v, 1, m, 0); return;
    case S_CRZ: one_qubit(S_RZ, p, v); add_control(v, 1, m, 0); return;
    case S_CH: one_qubit(S_H, p, v); add_control(v, 1, m, 0); return;
    case S_CU: {
        /* controlled e^{i gamma} U(theta, phi, lambda) */
        fbq_u_matrix(p[0], p[1], p[2], v);
        fbq_c g = cexp_i(p[3]);
        for (int i = 0; i < 4; i++) v[i] = fbq_cmul(v[i], g);
        add_control(v, 1, m, 0);
        return;
    }
    case S_SWAP:
    case S_CSWAP:
        memset(sw, 0, sizeof sw);
        sw[0 * 4 + 0].re = sw[1 * 4 + 2].re = sw[2 * 4 + 1].re = sw[3 * 4 + 3].re = 1;
        if (id == S_SWAP) memcpy(m, sw, sizeof sw);
        else add_control(sw, 2, m, 0);
        return;
    case S_CCX: {
        fbq_c c1[16];
        one_qubit(S_X, p, v);
        add_control(v, 1, c1, 0);
        add_control(c1, 2, m, 0);
        return;
    }
    default:
        one_qubit(id, p, m);
    }
}

/* ---- dense matrix helpers ---- */

static fbq_c *mat_identity(int k)
{
    size_t D = (size_t)1 << k;
    fbq_c *m = fbq_xcalloc(D * D, sizeof *m);
    for (size_t i = 0; i < D; i++) m[i * D + i].re = 1;
    return m;
}

static fbq_c *mat_mul(const fbq_c *a, const fbq_c *b, size_t D)
{
    fbq_c *r = fbq_xcalloc(D * D, sizeof *r);
    for (size_t i = 0; i < D; i++)
        for (size_t k = 0; k < D; k++) {
            fbq_c aik = a[i * D + k];
            if (aik.re == 0 && aik.im == 0) continue;
            for (size_t j = 0; j < D; j++) r[i * D + j] = fbq_cadd(r[i * D + j], fbq_cmul(aik, b[k * D + j]));
        }
    return r;
}

static void mat_dagger(fbq_c *m, size_t D)
{
    for (size_t i = 0; i < D; i++)
        for (size_t j = i; j < D; j++) {
            fbq_c a = m[i * D + j], b = m[j * D + i];
            m[i * D + j] = fbq_cconj(b);
            m[j * D + i] = fbq_cconj(a);
        }
}

/* lambda^r on the principal branch, arg in (-pi, pi] (an eigenvalue that
 * rounding put just below -pi counts as pi, so pow(0.5) @ z is s). */
static double complex cpow_principal(double complex l, double r)
{
    double a = carg(l);
    if (a <= -M_PI + 1e-12) a = M_PI;
    double mag = pow(cabs(l), r);
    return mag * cexp(I * a * r);
}

/* m <- m^r. 0 or -1 when the power is not supported (why filled). */
static int mat_pow(fbq_c **mp, int k, double r, char *why, size_t whyn)
{
    size_t D = (size_t)1 << k;
    fbq_c *m = *mp;
    double ri = round(r);
    if (fabs(r - ri) < 1e-9 && fabs(ri) <= (1 << 20)) {
        long e = (long)ri;
        if (e < 0) {
            mat_dagger(m, D);
            e = -e;
        }
        fbq_c *res = mat_identity(k), *base = m;
        int own_base = 0;
        while (e) {
            if (e & 1) {
                fbq_c *t = mat_mul(res, base, D);
                free(res);
                res = t;
            }
            e >>= 1;
            if (e) {
                fbq_c *t = mat_mul(base, base, D);
                if (own_base) free(base);
                base = t;
                own_base = 1;
            }
        }
        if (own_base) free(base);
        free(m);
        *mp = res;
        return 0;
    }
    int diag = 1;
    for (size_t i = 0; i < D && diag; i++)
        for (size_t j = 0; j < D; j++)
            if (i != j && hypot(m[i * D + j].re, m[i * D + j].im) > 1e-12) {
                diag = 0;
                break;
            }
    if (diag) {
        for (size_t i = 0; i < D; i++) {
            double complex l = m[i * D + i].re + I * m[i * D + i].im;
            double complex v = cpow_principal(l, r);
            m[i * D + i] = cx_(creal(v), cimag(v));
            for (size_t j = 0; j < D; j++)
                if (j != i) m[i * D + j] = cx_(0, 0);
        }
        return 0;
    }
    if (D == 2) {
        double complex a = m[0].re + I * m[0].im, b = m[1].re + I * m[1].im;
        double complex c = m[2].re + I * m[2].im, d = m[3].re + I * m[3].im;
        double complex tr = a + d, det = a * d - b * c;
        double complex disc = csqrt(tr * tr - 4 * det);
        double complex l1 = (tr + disc) / 2, l2 = (tr - disc) / 2;
        if (cabs(l1 - l2) < 1e-9) {
            double complex v = cpow_principal(l1, r);
            m[0] = m[3] = cx_(creal(v), cimag(v));
            m[1] = m[2] = cx_(0, 0);
            return 0;
        }
        double complex p1 = cpow_principal(l1, r), p2 = cpow_principal(l2, r);
        /* Sylvester: M^r = p1 (M - l2)/(l1 - l2) + p2 (M - l1)/(l2 - l1) */
        double complex mm[4] = {a, b, c, d}, out[4];
        for (int i = 0; i < 4; i++) {
            double complex id = (i == 0 || i == 3) ? 1 : 0;
            out[i] = p1 * (mm[i] - l2 * id) / (l1 - l2) + p2 * (mm[i] - l1 * id) / (l2 - l1);
        }
        for (int i = 0; i < 4; i++) m[i] = cx_(creal(out[i]), cimag(out[i]));
        return 0;
    }
    snprintf(why, whyn, "pow(%g) with a non-integer exponent is supported for one-qubit and "
             "diagonal gates only", r);
    return -1;
}

/* Applies a kc-qubit matrix c on local qubits lq of a k-qubit matrix m
 * (m <- embed(c) * m), column by column with the dense kernel. */
static void mat_apply(fbq_c *m, int k, const fbq_c *c, int kc, const int *lq)
{
    size_t D = (size_t)1 << k;
    fbq_c *col = fbq_xmalloc(D * sizeof *col);
    for (size_t j = 0; j < D; j++) {
        for (size_t i = 0; i < D; i++) col[i] = m[i * D + j];
        fbq_k_kq((double *)col, k, kc, lq, c, 0, 0);
        for (size_t i = 0; i < D; i++) m[i * D + j] = col[i];
    }
    free(col);
}

static int eval_params(const fbq_stmt *b, const double *params, double *vals, double *modpow,
                       char *why, size_t whyn)
{
    for (int i = 0; i < b->nparams; i++) {
        vals[i] = fbq_expr_eval(b->params[i], params);
        if (!isfinite(vals[i])) {
            snprintf(why, whyn, "parameter %d evaluates to %s (division by zero or a function "
                     "outside its domain?)", i + 1, isnan(vals[i]) ? "NaN" : "infinity");
            return -1;
        }
    }
    for (int i = 0; i < b->nmods; i++) {
        modpow[i] = 0;
        if (b->mods[i].kind == MOD_POW) {
            modpow[i] = fbq_expr_eval(b->mods[i].pow, params);
            if (!isfinite(modpow[i])) {
                snprintf(why, whyn, "the pow() exponent is not a finite number");
                return -1;
            }
        }
    }
    return 0;
}

static fbq_c *gate_matrix_rec(const fbq_program *p, const fbq_gate *g, const double *params,
                              const fbq_mod *mods, int nmods, const double *modpow, int *k_out,
                              char *why, size_t whyn, int depth, long *work)
{
    if (--*work < 0) {
        snprintf(why, whyn, "the gate definitions expand to more than %ld steps; the circuit is too "
                 "large to simulate", MAX_WORK);
        return NULL;
    }
    if (depth > MAX_CALL_DEPTH) {
        snprintf(why, whyn, "gate definitions nested too deeply");
        return NULL;
    }
    int k = g->nqubits;
    fbq_c *m = NULL;
    switch (g->kind) {
    case GK_U:
        m = fbq_xmalloc(4 * sizeof *m);
        fbq_u_matrix(params[0], params[1], params[2], m);
        break;
    case GK_CX:
        m = fbq_xmalloc(16 * sizeof *m);
        fbq_std_matrix(S_CX, params, m);
        break;
    case GK_GPHASE:
        m = fbq_xmalloc(sizeof *m);
        m[0] = cexp_i(params[0]);
        break;
    case GK_STD:
        m = fbq_xmalloc(((size_t)1 << (2 * k)) * sizeof *m);
        fbq_std_matrix(g->std_id, params, m);
        break;
    case GK_OPAQUE:
        snprintf(why, whyn, "opaque gate '%s' has no definition, so it cannot be simulated", g->name);
        return NULL;
    case GK_USER: {
        if (k > MAT_MAX) {
            snprintf(why, whyn, "gate '%s' acts on %d qubits; modifiers are supported on gates of "
                     "at most %d qubits", g->name, k, MAT_MAX);
            return NULL;
        }
        m = mat_identity(k);
        for (int i = 0; i < g->nbody; i++) {
            const fbq_stmt *b = &g->body[i];
            if (b->kind != ST_GATE) continue;
            const fbq_gate *cg = p->gates[b->gate];
            double vals[64], mp[16];
            if (eval_params(b, params, vals, mp, why, whyn)) {
                free(m);
                return NULL;
            }
            int kc;
            fbq_c *c = gate_matrix_rec(p, cg, vals, b->mods, b->nmods, mp, &kc, why, whyn, depth + 1, work);
            if (!c) {
                free(m);
                return NULL;
            }
            if (kc == 0) {
                size_t D = (size_t)1 << k;
                for (size_t j = 0; j < D * D; j++) m[j] = fbq_cmul(m[j], c[0]);
            } else {
                int lq[64];
                for (int j = 0; j < kc; j++) lq[j] = b->args[j].index;
                mat_apply(m, k, c, kc, lq);
            }
            free(c);
        }
        break;
    }
    }
    for (int i = nmods - 1; i >= 0; i--) {
        const fbq_mod *md = &mods[i];
        size_t D = (size_t)1 << k;
        if (md->kind == MOD_INV) {
            mat_dagger(m, D);
        } else if (md->kind == MOD_POW) {
            if (mat_pow(&m, k, modpow[i], why, whyn)) {
                free(m);
                return NULL;
            }
        } else {
            for (int c = 0; c < md->n; c++) {
                if (k + 1 > MAT_MAX) {
                    snprintf(why, whyn, "a controlled gate on more than %d qubits is not supported", MAT_MAX);
                    free(m);
                    return NULL;
                }
                size_t D2 = ((size_t)1 << (k + 1));
                fbq_c *out = fbq_xmalloc(D2 * D2 * sizeof *out);
                add_control(m, k, out, md->kind == MOD_NEGCTRL);
                free(m);
                m = out;
                k++;
            }
        }
    }
    *k_out = k;
    return m;
}

fbq_c *fbq_gate_matrix(const fbq_program *p, const fbq_gate *g, const double *params,
                       const fbq_mod *mods, int nmods, const double *modpow, int *k_out,
                       char *why, size_t whyn)
{
    long work = MAX_WORK;
    return gate_matrix_rec(p, g, params, mods, nmods, modpow, k_out, why, whyn, 0, &work);
}

/* ---- lowering ---- */

typedef struct lctx {
    fbq_program *p;
    fbq_error *err;
    int stmt;
    long work;            /* steps left (MAX_WORK) */
} lctx;

static int lfail(lctx *L, fbq_status code, const char *fmt, ...) FBQ_PRINTF(3, 4);
static int lfail(lctx *L, fbq_status code, const char *fmt, ...)
{
    const fbq_stmt *s = &L->p->stmts[L->stmt];
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fbq_seterr(L->err, code, L->p->files[s->file], s->line, s->col, "%s", msg);
    return -1;
}

static fbq_rawop *op_push(fbq_program *p)
{
    /* callers check the work budget before pushing */
    if (p->nops == p->capops) {
        p->capops = p->capops ? p->capops * 2 : 256;
        p->ops = fbq_xrealloc(p->ops, (size_t)p->capops * sizeof *p->ops);
    }
    fbq_rawop *o = &p->ops[p->nops++];
    memset(o, 0, sizeof *o);
    return o;
}

static void set_cond(lctx *L, fbq_rawop *o)
{
    const fbq_stmt *s = &L->p->stmts[L->stmt];
    o->stmt = L->stmt;
    if (!s->has_cond) return;
    const fbq_reg *r = &L->p->regs[s->cond_reg];
    o->has_cond = 1;
    o->cond_off = r->offset + (s->cond_bit >= 0 ? s->cond_bit : 0);
    o->cond_width = s->cond_bit >= 0 ? 1 : r->size;
    o->cond_val = s->cond_val;
}

static int lower_call(lctx *L, const fbq_gate *g, const double *params, const fbq_mod *mods,
                      int nmods, const double *modpow, const int *qs, int depth)
{
    if (depth > MAX_CALL_DEPTH) return lfail(L, FBQ_EUNSUPPORTED, "gate definitions nested too deeply");
    if (--L->work < 0)
        return lfail(L, FBQ_ERANGE, "the circuit expands to more than %ld operations; it is too large to "
                     "simulate", MAX_WORK);
    if (g->kind == GK_OPAQUE)
        return lfail(L, FBQ_EUNSUPPORTED, "opaque gate '%s' has no definition, so it cannot be simulated",
                     g->name);
    if (nmods == 0 && g->kind == GK_USER && g->nqubits > FUSE_MAX) {
        for (int i = 0; i < g->nbody; i++) {
            const fbq_stmt *b = &g->body[i];
            if (b->kind != ST_GATE) continue;
            const fbq_gate *cg = L->p->gates[b->gate];
            if (cg->kind == GK_GPHASE && b->nmods == 0) continue; /* global phase */
            double vals[64], mp[16];
            char why[300];
            if (eval_params(b, params, vals, mp, why, sizeof why))
                return lfail(L, FBQ_EINVALID, "in gate '%s' (%s:%d:%d): %s", g->name,
                             L->p->files[b->file], b->line, b->col, why);
            int cq[64];
            for (int j = 0; j < b->nargs; j++) cq[j] = qs[b->args[j].index];
            if (lower_call(L, cg, vals, b->mods, b->nmods, mp, cq, depth + 1)) return -1;
        }
        return 0;
    }
    char why[300] = "";
    int k;
    fbq_c *m = gate_matrix_rec(L->p, g, params, mods, nmods, modpow, &k, why, sizeof why, 0, &L->work);
    if (!m) return lfail(L, FBQ_EUNSUPPORTED, "%s", why);
    if (k == 0) { /* a global phase changes no probability */
        free(m);
        return 0;
    }
    fbq_rawop *o = op_push(L->p);
    o->kind = RO_GATE;
    o->k = k;
    o->q = fbq_xmalloc((size_t)k * sizeof *o->q);
    memcpy(o->q, qs, (size_t)k * sizeof *qs);
    o->m = m;
    set_cond(L, o);
    return 0;
}

static int qubit_of(const fbq_program *p, const fbq_arg *a, int b)
{
    const fbq_reg *r = &p->regs[a->reg];
    return r->offset + (a->index >= 0 ? a->index : b);
}

static int bcast_size(const fbq_program *p, const fbq_arg *args, int n)
{
    int size = 1;
    for (int i = 0; i < n; i++)
        if (args[i].index < 0) size = p->regs[args[i].reg].size;
    return size;
}

/* Names global qubit q as reg[i] for messages. */
static void qubit_name(const fbq_program *p, int q, char *buf, size_t n)
{
    for (int i = 0; i < p->nregs; i++) {
        const fbq_reg *r = &p->regs[i];
        if (r->quantum && q >= r->offset && q < r->offset + r->size) {
            if (!strcmp(r->name, "$")) snprintf(buf, n, "$%d", q - r->offset);
            else snprintf(buf, n, "%s[%d]", r->name, q - r->offset);
            return;
        }
    }
    snprintf(buf, n, "qubit %d", q);
}

/* A circuit is static when nothing depends on a measurement: no reset, no
 * condition, and no operation on a qubit after it was measured. */
static void find_dynamic(fbq_program *p)
{
    int *measured_at = fbq_xmalloc((size_t)(p->nqubits ? p->nqubits : 1) * sizeof *measured_at);
    for (int i = 0; i < p->nqubits; i++) measured_at[i] = -1;
    for (int i = 0; i < p->nops && !p->dynamic; i++) {
        const fbq_rawop *o = &p->ops[i];
        const fbq_stmt *s = &p->stmts[o->stmt];
        char buf[600];
        if (o->has_cond) {
            snprintf(buf, sizeof buf, "%s:%d:%d: an operation conditioned on a measurement (if)",
                     p->files[s->file], s->line, s->col);
        } else if (o->kind == RO_RESET) {
            snprintf(buf, sizeof buf, "%s:%d:%d: a reset", p->files[s->file], s->line, s->col);
        } else if (o->kind == RO_MEASURE) {
            measured_at[o->q[0]] = o->stmt;
            continue;
        } else {
            int hit = -1;
            for (int j = 0; j < o->k; j++)
                if (measured_at[o->q[j]] >= 0) hit = j;
            if (hit < 0) continue;
            char qn[160];
            qubit_name(p, o->q[hit], qn, sizeof qn);
            const fbq_stmt *ms = &p->stmts[measured_at[o->q[hit]]];
            snprintf(buf, sizeof buf, "%s:%d:%d: qubit %s is used again after its measurement at %d:%d",
                     p->files[s->file], s->line, s->col, qn, ms->line, ms->col);
        }
        p->dynamic = 1;
        p->dynamic_why = fbq_xstrdup(buf);
    }
    free(measured_at);
}

int fbq_lower(fbq_program *p, fbq_error *err)
{
    lctx L = {p, err, 0, MAX_WORK};
    for (int si = 0; si < p->nstmts; si++) {
        const fbq_stmt *s = &p->stmts[si];
        L.stmt = si;
        if (s->kind == ST_BARRIER) continue;
        if (s->kind == ST_MEASURE || s->kind == ST_RESET) {
            int n = bcast_size(p, s->args, 1);
            for (int b = 0; b < n; b++) {
                if (--L.work < 0)
                    return lfail(&L, FBQ_ERANGE, "the circuit expands to more than %ld operations; it is "
                                 "too large to simulate", MAX_WORK);
                fbq_rawop *o = op_push(p);
                o->kind = s->kind == ST_MEASURE ? RO_MEASURE : RO_RESET;
                o->k = 1;
                o->q = fbq_xmalloc(sizeof *o->q);
                o->q[0] = qubit_of(p, &s->args[0], b);
                o->clbit = -1;
                if (s->kind == ST_MEASURE && s->carg.reg >= 0) {
                    const fbq_reg *cr = &p->regs[s->carg.reg];
                    o->clbit = cr->offset + (s->carg.index >= 0 ? s->carg.index : b);
                }
                set_cond(&L, o);
            }
            continue;
        }
        const fbq_gate *g = p->gates[s->gate];
        double vals[64], mp[16];
        char why[300];
        if (eval_params(s, NULL, vals, mp, why, sizeof why)) return lfail(&L, FBQ_EINVALID, "%s", why);
        if (g->kind == GK_GPHASE && s->nmods == 0) continue;
        int n = bcast_size(p, s->args, s->nargs);
        int qs[64];
        for (int b = 0; b < n; b++) {
            for (int j = 0; j < s->nargs; j++) qs[j] = qubit_of(p, &s->args[j], b);
            if (lower_call(&L, g, vals, s->mods, s->nmods, mp, qs, 0)) return -1;
        }
    }
    find_dynamic(p);
    return 0;
}
