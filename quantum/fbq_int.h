/*
 * fbq_int.h - internals of the quantum library shared by its source files
 * and its unit tests. Not installed; names keep the fbq_ prefix because they
 * have external linkage inside the convenience library.
 */
#ifndef FBQ_INT_H
#define FBQ_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "fbq.h"

#if defined(__GNUC__)
#define FBQ_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define FBQ_PRINTF(a, b)
#endif

/* A complex number as two doubles: C's _Complex multiply goes through a
 * library call for NaN handling, which the kernels cannot afford. */
typedef struct fbq_c {
    double re, im;
} fbq_c;

static inline fbq_c fbq_cmul(fbq_c a, fbq_c b)
{
    fbq_c r = {a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re};
    return r;
}
static inline fbq_c fbq_cadd(fbq_c a, fbq_c b)
{
    fbq_c r = {a.re + b.re, a.im + b.im};
    return r;
}
static inline fbq_c fbq_cconj(fbq_c a)
{
    fbq_c r = {a.re, -a.im};
    return r;
}

/* ---- memory ---------------------------------------------------------------- */

/* Small allocations abort on out-of-memory (like the core's fbi_x*); only
 * state vectors, whose size the user controls, fail gracefully. */
void *fbq_xmalloc(size_t n);
void *fbq_xcalloc(size_t n, size_t m);
void *fbq_xrealloc(void *p, size_t n);
char *fbq_xstrdup(const char *s);
char *fbq_xstrndup(const char *s, size_t n);

/* Bump allocator for a program's syntax tree: freed all at once. */
typedef struct fbq_arena_blk fbq_arena_blk;
typedef struct fbq_arena {
    fbq_arena_blk *head;
} fbq_arena;
/* Zeroed memory owned by the arena. */
void *fbq_arena_alloc(fbq_arena *a, size_t n);
char *fbq_arena_strndup(fbq_arena *a, const char *s, size_t n);
void fbq_arena_free(fbq_arena *a);

/* Growable text buffer; d is NUL-terminated after any put. */
typedef struct fbq_sb {
    char *d;
    size_t n, cap;
} fbq_sb;
void fbq_sb_put(fbq_sb *b, const char *s, size_t n);
void fbq_sb_puts(fbq_sb *b, const char *s);
void fbq_sb_printf(fbq_sb *b, const char *fmt, ...) FBQ_PRINTF(2, 3);
/* Hands the text over (new, free()); never NULL. */
char *fbq_sb_steal(fbq_sb *b);

void fbq_seterr(fbq_error *e, fbq_status code, const char *file, int line,
                int col, const char *fmt, ...) FBQ_PRINTF(6, 7);

/* State vectors: 64-byte aligned, 2^n amplitudes. NULL when the allocation
 * fails. Free with fbq_state_free. */
double *fbq_state_alloc(int n);
void fbq_state_free(double *s);

/* ---- syntax tree ------------------------------------------------------------ */

enum { EX_NUM, EX_PARAM, EX_NEG, EX_ADD, EX_SUB, EX_MUL, EX_DIV, EX_POW, EX_FUNC };
enum { FN_SIN, FN_COS, FN_TAN, FN_EXP, FN_LN, FN_SQRT, FN_ASIN, FN_ACOS, FN_ATAN };
enum { K_NONE, K_PI, K_TAU, K_EULER };

typedef struct fbq_expr {
    uint8_t kind, fn, konst;
    int param;            /* EX_PARAM: index into the gate's parameters */
    double num;           /* EX_NUM */
    const char *text;     /* EX_NUM: the literal as written (for printing) */
    struct fbq_expr *a, *b;
    int line, col;
} fbq_expr;

/* A qubit or bit operand. At top level: reg >= 0 and index (-1 for the
 * whole register). Inside a gate body: reg == -1 and index is the gate's
 * local qubit argument. */
typedef struct fbq_arg {
    int reg, index;
    int line, col;
} fbq_arg;

enum { MOD_CTRL, MOD_NEGCTRL, MOD_INV, MOD_POW };
typedef struct fbq_mod {
    int kind, n;          /* n: controls added by ctrl(n)/negctrl(n) */
    fbq_expr *pow;
} fbq_mod;

enum { ST_GATE, ST_MEASURE, ST_RESET, ST_BARRIER, ST_GPHASE };
typedef struct fbq_stmt {
    int kind;
    int file, line, col;
    int gate;             /* ST_GATE: index into prog->gates */
    int nparams;
    fbq_expr **params;    /* ST_GATE parameters; ST_GPHASE: params[0] */
    int nargs;
    fbq_arg *args;        /* qubits (ST_MEASURE: the qubit operand) */
    int nmods;
    fbq_mod *mods;
    fbq_arg carg;         /* ST_MEASURE target, reg -1 when none */
    int has_cond;
    int cond_reg, cond_bit; /* cond_bit -1: whole register */
    uint64_t cond_val;
    int measure_arrow;    /* written `measure a -> b` (vs `b = measure a`) */
    int qasm3_form;       /* written as a QASM3 statement */
} fbq_stmt;

enum { GK_U, GK_CX, GK_STD, GK_USER, GK_OPAQUE, GK_GPHASE };
typedef struct fbq_gate {
    const char *name;
    int kind, std_id;
    int nparams, nqubits;
    const char **pnames, **qnames;
    int nbody;
    fbq_stmt *body;
    int file, line, col;
    const char *header;   /* include name it came from ("qelib1.inc"), NULL
                             when defined in the user's own source */
    int header_embedded;  /* header came from the embedded copy */
    int weak;             /* only Qiskit's extended qelib1.inc defines it: the
                             program's own definition of the name wins */
} fbq_gate;

typedef struct fbq_reg {
    const char *name;
    int quantum, size, offset;
    int file, line, col;
} fbq_reg;

/* A unitary, measurement or reset on global qubits, after gate expansion.
 * Matrix bit j of a row/column index corresponds to q[j]. */
enum { RO_GATE, RO_MEASURE, RO_RESET };
typedef struct fbq_rawop {
    int kind, k;
    int *q;
    fbq_c *m;             /* RO_GATE: 2^k x 2^k, row-major */
    int clbit;            /* RO_MEASURE */
    int has_cond, cond_off, cond_width;
    uint64_t cond_val;
    int stmt;             /* top-level statement it came from */
} fbq_rawop;

typedef struct fbq_name {
    const char *name;
    int kind, index;      /* kind: 1 gate, 2 register */
} fbq_name;

struct fbq_program {
    fbq_arena arena;
    fbq_dialect dialect;
    char **files;
    int nfiles;
    fbq_gate **gates;
    int ngates, capgates;
    fbq_reg *regs;
    int nregs, capregs;
    fbq_stmt *stmts;
    int nstmts, capstmts;
    fbq_name *names;      /* open addressing over gates and registers */
    size_t capnames, nnames;
    char **included;      /* include identities already read */
    int nincluded;
    int nqubits, nclbits;
    int std_included;     /* stdgates.inc seen */
    fbq_rawop *ops;
    int nops, capops;
    int dynamic;
    char *dynamic_why;
};

/* Name table: -1 when absent. */
int fbq_name_find(const fbq_program *p, const char *name, int *kind);

/* Evaluates an expression with the gate parameter values params. */
double fbq_expr_eval(const fbq_expr *e, const double *params);

/* Lowers the program's statements to raw operations (called by the parser
 * after a successful parse). 0 or -1 with *err. */
int fbq_lower(fbq_program *p, fbq_error *err);

/* The OpenQASM 3 standard gate table. */
typedef struct fbq_stdgate {
    const char *name;
    int nparams, nqubits;
} fbq_stdgate;
int fbq_std_count(void);
const fbq_stdgate *fbq_std_get(int id);
int fbq_std_find(const char *name);
/* Fills m (2^nq x 2^nq) with the matrix of standard gate id. */
void fbq_std_matrix(int id, const double *params, fbq_c *m);
/* U(theta, phi, lambda) in the OpenQASM 3 convention. */
void fbq_u_matrix(double theta, double phi, double lambda, fbq_c m[4]);

/* Matrix of a gate call (dense, 2^k x 2^k with k qubit operands), built
 * from the gate's definition and modifiers. new (free()) or NULL with
 * *err (the statement location is added by the caller). */
fbq_c *fbq_gate_matrix(const fbq_program *p, const fbq_gate *g,
                       const double *params, const fbq_mod *mods, int nmods,
                       const double *modpow, int *k_out, char *why, size_t whyn);

/* ---- kernels (kernels.c) -------------------------------------------------- */

/* All kernels act in place on s (2^n interleaved re/im doubles). Control
 * condition: an amplitude index i takes part when (i & cmask) == cval;
 * cmask never overlaps the target qubits. */
void fbq_k_1q(double *s, int n, int t, const fbq_c m[4], uint64_t cmask,
              uint64_t cval);
void fbq_k_1q_diag(double *s, int n, int t, fbq_c d0, fbq_c d1,
                   uint64_t cmask, uint64_t cval);
/* [[0, a01], [a10, 0]] */
void fbq_k_1q_anti(double *s, int n, int t, fbq_c a01, fbq_c a10,
                   uint64_t cmask, uint64_t cval);
/* Multiplies the amplitudes with (i & cmask) == cval by ph. */
void fbq_k_phase(double *s, int n, fbq_c ph, uint64_t cmask, uint64_t cval);
/* The uncontrolled kernels' paths for pair halves at least 2^24 amplitudes
 * apart (block copies through cache); exported so that tests can run them
 * on small states (targets >= 12). */
void fbq_k_1q_far(double *s, int n, int t, const fbq_c m[4]);
void fbq_k_x_far(double *s, int n, int t);
void fbq_k_2q_far(double *s, int n, int q0, int q1, const fbq_c m[16]);
/* Exchanges qubits q0 and q1. */
void fbq_k_swap(double *s, int n, int q0, int q1, uint64_t cmask, uint64_t cval);
void fbq_k_2q(double *s, int n, int q0, int q1, const fbq_c m[16],
              uint64_t cmask, uint64_t cval);
/* k targets qs[0..k) (matrix bit j <-> qs[j]), dense 2^k x 2^k. */
void fbq_k_kq(double *s, int n, int k, const int *qs, const fbq_c *m,
              uint64_t cmask, uint64_t cval);
/* diag: k <= 10 (the other k-target kernels: k <= 8). */
void fbq_k_kq_diag(double *s, int n, int k, const int *qs, const fbq_c *d,
                   uint64_t cmask, uint64_t cval);
/* new[perm[j]] = ph[j] * old[j] for local index j. */
void fbq_k_kq_perm(double *s, int n, int k, const int *qs, const int *perm,
                   const fbq_c *ph, uint64_t cmask, uint64_t cval);
/* Probability that qubit q reads 1. */
double fbq_k_prob1(const double *s, int n, int q);
/* Projects qubit q on outcome (0/1) and renormalises by 1/sqrt(p). */
void fbq_k_collapse(double *s, int n, int q, int outcome, double p);
/* Moves the |1> half of qubit q onto |0> (after a collapse on 1: reset). */
void fbq_k_flip_to_zero(double *s, int n, int q);
double fbq_k_norm2(const double *s, int n);

/* ---- classified operations (sim.c) --------------------------------------- */

enum { CL_NOP, CL_PHASE, CL_1Q, CL_1Q_DIAG, CL_1Q_ANTI, CL_2Q, CL_KQ,
       CL_KQ_DIAG, CL_KQ_PERM, CL_SWAP };
typedef struct fbq_op {
    int kind;             /* RO_* */
    int cls;
    int k;                /* targets */
    int q[16];            /* targets (diagonals: up to DIAG_MAX = 10) */
    uint64_t cmask, cval;
    fbq_c *m;             /* CL_1Q: 4, CL_2Q: 16, CL_KQ: 4^k, diag: 2^k,
                             perm: 2^k phases; CL_PHASE: m[0];
                             CL_1Q_DIAG: m[0..1]; CL_1Q_ANTI: a01, a10 */
    int *perm;
    int qubit, clbit;
    int has_cond, cond_off, cond_width;
    uint64_t cond_val;
    int raw;              /* index of the raw op */
} fbq_op;

/* Finds controls and structure of a k-qubit matrix on qubits q. Fills op
 * (op->m and op->perm new, free with fbq_op_clear). */
void fbq_classify(int k, const int *q, const fbq_c *m, fbq_op *op);
void fbq_op_clear(fbq_op *op);
/* Applies a classified unitary op to the state. */
void fbq_apply(double *s, int n, const fbq_op *op);

/* ---- random numbers (sim.c) ---------------------------------------------- */

/* xoshiro256** (Blackman and Vigna), state seeded by splitmix64(seed). */
typedef struct fbq_rng {
    uint64_t s[4];
} fbq_rng;
void fbq_rng_seed(fbq_rng *r, uint64_t seed);
uint64_t fbq_rng_next(fbq_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double fbq_rng_uniform(fbq_rng *r);
/* Binomial(n, p) draw by geometric waiting times: cost O(n p), or
 * O(n (1-p)) for p > 0.999. Continuous in p except at 0.999. */
uint64_t fbq_rng_binomial(fbq_rng *r, uint64_t n, double p);

/* ---- results (sim.c) -------------------------------------------------------- */

struct fbq_result {
    int qubits, clbits, probs;
    uint64_t shots, seed;
    char *layout;
    size_t n;
    fbq_outcome *out;     /* bits point into strings */
    char *strings;
};

/* ---- include files (include.c) ------------------------------------------ */

/* The resolved directory trees includes may read from. */
typedef struct fbq_roots {
    char **dir;           /* realpath()s */
    int n;
} fbq_roots;
/* base_dir, opt->include_dirs and opt->allowed_roots, resolved; those that
 * do not resolve to a directory are left out. Free with fbq_roots_free. */
void fbq_roots_init(fbq_roots *r, const char *base_dir, const fbq_parse_options *opt);
void fbq_roots_free(fbq_roots *r);
/* 1 when the resolved path real is inside one of the trees. */
int fbq_roots_contain(const fbq_roots *r, const char *real);
/* Reads the include file at path: refused (NULL, *why says why and names
 * the path, never content) when it resolves outside r, is not a regular
 * file, lives on a kernel pseudo-filesystem, is larger than max bytes or
 * does not read as its size says. Returns the text (new, NUL-terminated,
 * *len bytes) and its resolved path in *real (new). */
char *fbq_read_include(const fbq_roots *r, const char *path, size_t max, size_t *len, char **real,
                       char *why, size_t whyn);
/* 0 when s[0..n) is UTF-8 text (no NUL or control bytes but tab, CR, LF,
 * FF, VT); otherwise -1 with the 1-based line/column of the first bad
 * byte. */
int fbq_text_check(const char *s, size_t n, int *line, int *col);

/* ---- embedded headers ----------------------------------------------------- */
extern const char fbq_hdr_qelib1[];
extern const size_t fbq_hdr_qelib1_len;
extern const char fbq_hdr_stdgates[];
extern const size_t fbq_hdr_stdgates_len;
extern const char fbq_hdr_qelib1_qiskit[];
extern const size_t fbq_hdr_qelib1_qiskit_len;

#endif
