/* parse.c - OpenQASM 2.0 and the OpenQASM 3 subset: lexer, recursive-descent
 * parser, includes, name tables and every check that can be made before
 * simulating (counts, ranges, repeats), each reported with file:line:col. */
#include "config.h"
#include "fbq_int.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_REG_SIZE (1 << 20)
#define MAX_TOTAL_BITS (1 << 22)
#define DEFAULT_INCLUDE_DEPTH 16
#define MAX_EXPR_DEPTH 200

/* ---- tokens ---- */

enum { T_EOF, T_ID, T_INT, T_REAL, T_STR, T_PUNCT, T_HWQ };
enum { P_ARROW = 256, P_EQ, P_POW2 };

typedef struct tok {
    int k;
    const char *s;
    size_t n;
    int line, col;
    int end_line, end_col; /* just past the token */
    uint64_t ival;
    int ovf;               /* integer literal too large */
    int punct;
} tok;

typedef struct lexer {
    const char *src;
    size_t len, pos;
    int line, col;
    int file;
} lexer;

typedef struct parser {
    fbq_program *p;
    const fbq_parse_options *opt;
    fbq_error *err;
    lexer L;
    tok cur;
    int prev_end_line, prev_end_col;
    const char *dir;      /* directory of the current file; NULL: no fs */
    int depth;
    int failed;
    const char *header;   /* current include name when inside a header */
    int header_embedded;
    int expr_depth;
    int first_stmt;       /* no statement read yet in this file */
    char *stack[64];      /* include identities being read (cycles) */
    int nstack;
    fbq_gate *g;          /* gate whose body is being read */
    fbq_roots roots;      /* trees includes may read from */
    size_t include_bytes; /* read from include files so far */
    /* 0 while the current file is an include whose first statement has not
     * been read: until then it may be any file (a secret, /proc/...), so
     * errors name the place but quote none of its text */
    int echo_ok;
    int from_file, from_line; /* where the current include was included */
    int in_qiskit;        /* reading the embedded Qiskit qelib1.inc */
    int qelib1;           /* which qelib1.inc was read: QL_* */
} parser;

/* Which qelib1.inc a program read. */
enum { QL_NONE, QL_STANDARD, QL_QISKIT, QL_FILE };

static const char *fname(const parser *ps, int file)
{
    return ps->p->files[file];
}

/* Records the first error only; later ones are consequences. */
FBQ_PRINTF(5, 6)
static int fail(parser *ps, fbq_status code, int line, int col, const char *fmt, ...)
{
    if (ps->failed) return -1;
    ps->failed = 1;
    fbq_error *e = ps->err;
    if (!e) return -1;
    e->code = code;
    e->line = line;
    e->column = col;
    snprintf(e->file, sizeof e->file, "%s", fname(ps, ps->L.file));
    if (!ps->echo_ok) {
        /* the message would quote a file not known to be OpenQASM */
        snprintf(e->message, sizeof e->message,
                 "not an OpenQASM file: %s before its first statement ended (included at %s:%d; the file's "
                 "text is not shown)", fbq_status_name(code), fname(ps, ps->from_file), ps->from_line);
        return -1;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return -1;
}

static int is_id_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static int is_id_char(unsigned char c)
{
    return is_id_start(c) || (c >= '0' && c <= '9');
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* Advances one byte, counting columns in characters (UTF-8 continuation
 * bytes do not move the column). */
static void adv(lexer *L)
{
    unsigned char c = (unsigned char)L->src[L->pos++];
    if (c == '\n') {
        L->line++;
        L->col = 1;
    } else if ((c & 0xC0) != 0x80 && c != '\r') {
        L->col++;
    }
}

static void describe_tok(const tok *t, char *buf, size_t n)
{
    if (t->k == T_EOF)
        snprintf(buf, n, "end of file");
    else if (t->k == T_STR)
        snprintf(buf, n, "string \"%.*s\"", (int)(t->n > 40 ? 40 : t->n), t->s);
    else
        snprintf(buf, n, "'%.*s'", (int)(t->n > 40 ? 40 : t->n), t->s);
}

/* Reads the next token into ps->cur. Returns -1 on a lexical error. */
static int next(parser *ps)
{
    lexer *L = &ps->L;
    ps->prev_end_line = ps->cur.end_line;
    ps->prev_end_col = ps->cur.end_col;
    for (;;) {
        while (L->pos < L->len) {
            unsigned char c = (unsigned char)L->src[L->pos];
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v')
                adv(L);
            else
                break;
        }
        if (L->pos + 1 < L->len && L->src[L->pos] == '/' && L->src[L->pos + 1] == '/') {
            while (L->pos < L->len && L->src[L->pos] != '\n') adv(L);
            continue;
        }
        if (L->pos + 1 < L->len && L->src[L->pos] == '/' && L->src[L->pos + 1] == '*') {
            int sl = L->line, sc = L->col;
            adv(L);
            adv(L);
            for (;;) {
                if (L->pos >= L->len)
                    return fail(ps, FBQ_ESYNTAX, sl, sc, "unterminated /* comment");
                if (L->src[L->pos] == '*' && L->pos + 1 < L->len && L->src[L->pos + 1] == '/') {
                    adv(L);
                    adv(L);
                    break;
                }
                adv(L);
            }
            continue;
        }
        break;
    }
    tok *t = &ps->cur;
    memset(t, 0, sizeof *t);
    t->line = L->line;
    t->col = L->col;
    if (L->pos >= L->len) {
        t->k = T_EOF;
        t->s = "";
        t->end_line = L->line;
        t->end_col = L->col;
        return 0;
    }
    size_t start = L->pos;
    unsigned char c = (unsigned char)L->src[L->pos];
    if (c == 0)
        return fail(ps, FBQ_ESYNTAX, t->line, t->col, "unexpected NUL byte in the source");
    if (is_id_start(c)) {
        while (L->pos < L->len && is_id_char((unsigned char)L->src[L->pos])) adv(L);
        t->k = T_ID;
    } else if (is_digit(c) || (c == '.' && L->pos + 1 < L->len && is_digit((unsigned char)L->src[L->pos + 1]))) {
        int real = 0;
        while (L->pos < L->len && is_digit((unsigned char)L->src[L->pos])) adv(L);
        if (L->pos < L->len && L->src[L->pos] == '.') {
            real = 1;
            adv(L);
            while (L->pos < L->len && is_digit((unsigned char)L->src[L->pos])) adv(L);
        }
        if (L->pos < L->len && (L->src[L->pos] == 'e' || L->src[L->pos] == 'E')) {
            size_t save = L->pos;
            int scol = L->col;
            adv(L);
            if (L->pos < L->len && (L->src[L->pos] == '+' || L->src[L->pos] == '-')) adv(L);
            if (L->pos < L->len && is_digit((unsigned char)L->src[L->pos])) {
                real = 1;
                while (L->pos < L->len && is_digit((unsigned char)L->src[L->pos])) adv(L);
            } else {
                L->pos = save;
                L->col = scol;
            }
        }
        if (L->pos < L->len && is_id_start((unsigned char)L->src[L->pos]))
            return fail(ps, FBQ_ESYNTAX, t->line, t->col, "malformed number '%.*s%c'",
                        (int)(L->pos - start), L->src + start, L->src[L->pos]);
        t->k = real ? T_REAL : T_INT;
        if (!real) {
            uint64_t v = 0;
            for (size_t i = start; i < L->pos; i++) {
                unsigned d = (unsigned)(L->src[i] - '0');
                if (v > (UINT64_MAX - d) / 10) t->ovf = 1;
                v = v * 10 + d;
            }
            t->ival = v;
        }
    } else if (c == '"' || c == '\'') {
        adv(L);
        size_t s0 = L->pos;
        while (L->pos < L->len && (unsigned char)L->src[L->pos] != c && L->src[L->pos] != '\n') adv(L);
        if (L->pos >= L->len || L->src[L->pos] != (char)c)
            return fail(ps, FBQ_ESYNTAX, t->line, t->col, "unterminated string");
        t->k = T_STR;
        t->s = L->src + s0;
        t->n = L->pos - s0;
        adv(L);
        t->end_line = L->line;
        t->end_col = L->col;
        return 0;
    } else if (c == '$' && L->pos + 1 < L->len && is_digit((unsigned char)L->src[L->pos + 1])) {
        adv(L);
        uint64_t v = 0;
        while (L->pos < L->len && is_digit((unsigned char)L->src[L->pos])) {
            if (v < 100000000) v = v * 10 + (unsigned)(L->src[L->pos] - '0');
            adv(L);
        }
        t->k = T_HWQ;
        t->ival = v;
    } else {
        t->k = T_PUNCT;
        t->punct = c;
        adv(L);
        if (c == '-' && L->pos < L->len && L->src[L->pos] == '>') {
            t->punct = P_ARROW;
            adv(L);
        } else if (c == '=' && L->pos < L->len && L->src[L->pos] == '=') {
            t->punct = P_EQ;
            adv(L);
        } else if (c == '*' && L->pos < L->len && L->src[L->pos] == '*') {
            t->punct = P_POW2;
            adv(L);
        } else if (!strchr(";,()[]{}+-*/^@=!#", c)) {
            return fail(ps, FBQ_ESYNTAX, t->line, t->col, "unexpected character '%c'",
                        c >= 0x20 && c < 0x7f ? c : '?');
        }
    }
    t->s = L->src + start;
    t->n = L->pos - start;
    t->end_line = L->line;
    t->end_col = L->col;
    return 0;
}

static int is_p(const parser *ps, int punct)
{
    return ps->cur.k == T_PUNCT && ps->cur.punct == punct;
}

static int is_kw(const parser *ps, const char *kw)
{
    return ps->cur.k == T_ID && ps->cur.n == strlen(kw) && memcmp(ps->cur.s, kw, ps->cur.n) == 0;
}

static int unexpected(parser *ps, const char *what)
{
    char d[80];
    describe_tok(&ps->cur, d, sizeof d);
    return fail(ps, FBQ_ESYNTAX, ps->cur.line, ps->cur.col, "expected %s, found %s", what, d);
}

/* Expects punctuation; a missing ';' is reported just after the previous
 * token, where it belongs. */
static int expect_p(parser *ps, int punct, const char *after)
{
    if (is_p(ps, punct)) return next(ps);
    char d[80];
    describe_tok(&ps->cur, d, sizeof d);
    if (punct == ';')
        return fail(ps, FBQ_ESYNTAX, ps->prev_end_line, ps->prev_end_col,
                    "missing ';' after %s (found %s at %d:%d)", after, d, ps->cur.line,
                    ps->cur.col);
    char want[8];
    if (punct == P_ARROW) snprintf(want, sizeof want, "->");
    else if (punct == P_EQ) snprintf(want, sizeof want, "==");
    else snprintf(want, sizeof want, "%c", punct);
    return fail(ps, FBQ_ESYNTAX, ps->cur.line, ps->cur.col, "expected '%s' %s, found %s",
                want, after, d);
}

static char *tok_str(parser *ps, const tok *t)
{
    return fbq_arena_strndup(&ps->p->arena, t->s, t->n);
}

/* ---- names ---- */

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

int fbq_name_find(const fbq_program *p, const char *name, int *kind)
{
    if (!p->capnames) return -1;
    size_t i = hash_name(name) & (p->capnames - 1);
    while (p->names[i].name) {
        if (strcmp(p->names[i].name, name) == 0) {
            if (kind) *kind = p->names[i].kind;
            return p->names[i].index;
        }
        i = (i + 1) & (p->capnames - 1);
    }
    return -1;
}

static void name_add(fbq_program *p, const char *name, int kind, int index)
{
    if ((p->nnames + 1) * 2 > p->capnames) {
        size_t cap = p->capnames ? p->capnames * 2 : 64;
        fbq_name *nt = fbq_xcalloc(cap, sizeof *nt);
        for (size_t i = 0; i < p->capnames; i++) {
            if (!p->names[i].name) continue;
            size_t j = hash_name(p->names[i].name) & (cap - 1);
            while (nt[j].name) j = (j + 1) & (cap - 1);
            nt[j] = p->names[i];
        }
        free(p->names);
        p->names = nt;
        p->capnames = cap;
    }
    size_t j = hash_name(name) & (p->capnames - 1);
    while (p->names[j].name) {
        if (!strcmp(p->names[j].name, name)) { /* a weak library gate replaced */
            p->names[j].kind = kind;
            p->names[j].index = index;
            return;
        }
        j = (j + 1) & (p->capnames - 1);
    }
    p->names[j].name = name;
    p->names[j].kind = kind;
    p->names[j].index = index;
    p->nnames++;
}

/* Reports a name already taken, pointing at the first definition. A gate
 * that only Qiskit's extended qelib1.inc defines (weak) gives way to the
 * program's own definition of the name, gate or register: before the
 * extension those names were free, and Qiskit-exported files define some of
 * them themselves. */
static int check_new_name(parser *ps, const char *name, int line, int col)
{
    int kind;
    int idx = fbq_name_find(ps->p, name, &kind);
    if (idx < 0) return 0;
    if (kind == 1 && ps->p->gates[idx]->weak && !ps->in_qiskit) return 0;
    int f, l, c;
    const char *what;
    if (kind == 1) {
        fbq_gate *g = ps->p->gates[idx];
        f = g->file;
        l = g->line;
        c = g->col;
        what = g->kind == GK_OPAQUE ? "an opaque gate" : "a gate";
    } else {
        fbq_reg *r = &ps->p->regs[idx];
        f = r->file;
        l = r->line;
        c = r->col;
        what = r->quantum ? "a quantum register" : "a classical register";
    }
    if (l > 0)
        return fail(ps, FBQ_EDUPLICATE, line, col, "'%s' is already defined as %s at %s:%d:%d",
                    name, what, fname(ps, f), l, c);
    return fail(ps, FBQ_EDUPLICATE, line, col, "'%s' is already defined as a built-in gate", name);
}

static fbq_gate *gate_new(parser *ps, const char *name, int kind, int line, int col)
{
    fbq_program *p = ps->p;
    if (p->ngates == p->capgates) {
        p->capgates = p->capgates ? p->capgates * 2 : 64;
        p->gates = fbq_xrealloc(p->gates, (size_t)p->capgates * sizeof *p->gates);
    }
    fbq_gate *g = fbq_arena_alloc(&p->arena, sizeof *g);
    g->name = name;
    g->kind = kind;
    g->file = ps->L.file;
    g->line = line;
    g->col = col;
    g->header = ps->header;
    g->header_embedded = ps->header_embedded;
    p->gates[p->ngates++] = g;
    return g;
}

/* The built-ins every program starts with: U, CX (OpenQASM 2) and gphase
 * (OpenQASM 3). They have no source location. */
static void add_builtins(parser *ps)
{
    static const char *pn[] = {"theta", "phi", "lambda"};
    static const char *qn1[] = {"q"}, *qn2[] = {"c", "t"};
    fbq_gate *u = gate_new(ps, "U", GK_U, 0, 0);
    u->nparams = 3;
    u->nqubits = 1;
    u->pnames = pn;
    u->qnames = qn1;
    u->header = NULL;
    name_add(ps->p, "U", 1, ps->p->ngates - 1);
    fbq_gate *cx = gate_new(ps, "CX", GK_CX, 0, 0);
    cx->nqubits = 2;
    cx->qnames = qn2;
    cx->header = NULL;
    fbq_gate *gp = gate_new(ps, "gphase", GK_GPHASE, 0, 0);
    gp->nparams = 1;
    gp->pnames = pn;
    gp->header = NULL;
}

/* Index of the built-in CX / gphase gates (added in this order). */
#define GATE_U 0
#define GATE_CX 1
#define GATE_GPHASE 2

/* ---- statements storage ---- */

static fbq_stmt *stmt_push(parser *ps)
{
    fbq_program *p = ps->p;
    if (p->nstmts == p->capstmts) {
        p->capstmts = p->capstmts ? p->capstmts * 2 : 64;
        p->stmts = fbq_xrealloc(p->stmts, (size_t)p->capstmts * sizeof *p->stmts);
    }
    fbq_stmt *s = &p->stmts[p->nstmts++];
    memset(s, 0, sizeof *s);
    s->carg.reg = -1;
    s->cond_bit = -1;
    return s;
}

/* ---- expressions ---- */

static fbq_expr *ex_new(parser *ps, int kind, int line, int col)
{
    fbq_expr *e = fbq_arena_alloc(&ps->p->arena, sizeof *e);
    e->kind = (uint8_t)kind;
    e->line = line;
    e->col = col;
    return e;
}

static fbq_expr *parse_expr(parser *ps);

static const struct { const char *name; int fn; } funcs[] = {
    {"sin", FN_SIN}, {"cos", FN_COS}, {"tan", FN_TAN}, {"exp", FN_EXP},
    {"ln", FN_LN}, {"log", FN_LN}, {"sqrt", FN_SQRT}, {"arcsin", FN_ASIN},
    {"arccos", FN_ACOS}, {"arctan", FN_ATAN}, {"asin", FN_ASIN},
    {"acos", FN_ACOS}, {"atan", FN_ATAN},
};

static fbq_expr *parse_primary(parser *ps)
{
    tok t = ps->cur;
    if (t.k == T_INT || t.k == T_REAL) {
        fbq_expr *e = ex_new(ps, EX_NUM, t.line, t.col);
        char buf[128];
        if (t.n >= sizeof buf) {
            fail(ps, FBQ_ESYNTAX, t.line, t.col, "number literal too long");
            return NULL;
        }
        memcpy(buf, t.s, t.n);
        buf[t.n] = '\0';
        e->num = strtod(buf, NULL);
        e->text = tok_str(ps, &t);
        if (next(ps)) return NULL;
        return e;
    }
    if (t.k == T_ID) {
        char *id = tok_str(ps, &t);
        int konst = 0;
        if (!strcmp(id, "pi") || !strcmp(id, "\xcf\x80")) konst = K_PI;
        else if (!strcmp(id, "tau") || !strcmp(id, "\xcf\x84")) konst = K_TAU;
        else if (!strcmp(id, "euler") || !strcmp(id, "\xe2\x84\xaf")) konst = K_EULER;
        if (konst) {
            fbq_expr *e = ex_new(ps, EX_NUM, t.line, t.col);
            e->konst = (uint8_t)konst;
            e->num = konst == K_PI ? M_PI : konst == K_TAU ? 2 * M_PI : M_E;
            e->text = id;
            if (next(ps)) return NULL;
            return e;
        }
        for (size_t i = 0; i < sizeof funcs / sizeof *funcs; i++) {
            if (strcmp(id, funcs[i].name) != 0) continue;
            if (next(ps)) return NULL;
            if (!is_p(ps, '(')) {
                unexpected(ps, "'(' after a function name");
                return NULL;
            }
            if (next(ps)) return NULL;
            fbq_expr *e = ex_new(ps, EX_FUNC, t.line, t.col);
            e->fn = (uint8_t)funcs[i].fn;
            e->a = parse_expr(ps);
            if (!e->a) return NULL;
            if (expect_p(ps, ')', "to close the function call")) return NULL;
            return e;
        }
        if (ps->g) {
            for (int i = 0; i < ps->g->nparams; i++) {
                if (strcmp(ps->g->pnames[i], id) == 0) {
                    fbq_expr *e = ex_new(ps, EX_PARAM, t.line, t.col);
                    e->param = i;
                    if (next(ps)) return NULL;
                    return e;
                }
            }
            for (int i = 0; i < ps->g->nqubits; i++)
                if (strcmp(ps->g->qnames[i], id) == 0) {
                    fail(ps, FBQ_EUNDEFINED, t.line, t.col,
                         "'%s' is a qubit argument of gate '%s', not a parameter", id, ps->g->name);
                    return NULL;
                }
            fail(ps, FBQ_EUNDEFINED, t.line, t.col,
                 "undefined parameter '%s' in gate '%s' (its parameters are listed in "
                 "parentheses after its name)", id, ps->g->name);
            return NULL;
        }
        fail(ps, FBQ_EUNDEFINED, t.line, t.col,
             "undefined identifier '%s' in an expression (only numbers, pi and functions "
             "such as sin() may appear outside a gate definition)", id);
        return NULL;
    }
    if (is_p(ps, '(')) {
        if (next(ps)) return NULL;
        fbq_expr *e = parse_expr(ps);
        if (!e) return NULL;
        if (expect_p(ps, ')', "to close '('")) return NULL;
        return e;
    }
    unexpected(ps, "an expression");
    return NULL;
}

static fbq_expr *parse_unary(parser *ps);

static fbq_expr *parse_power(parser *ps)
{
    fbq_expr *a = parse_primary(ps);
    if (!a) return NULL;
    if (is_p(ps, '^') || is_p(ps, P_POW2)) {
        tok t = ps->cur;
        if (next(ps)) return NULL;
        fbq_expr *b = parse_unary(ps); /* right associative */
        if (!b) return NULL;
        fbq_expr *e = ex_new(ps, EX_POW, t.line, t.col);
        e->a = a;
        e->b = b;
        return e;
    }
    return a;
}

static fbq_expr *parse_unary(parser *ps)
{
    if (++ps->expr_depth > MAX_EXPR_DEPTH) {
        fail(ps, FBQ_ESYNTAX, ps->cur.line, ps->cur.col, "expression nested too deeply");
        return NULL;
    }
    fbq_expr *r;
    if (is_p(ps, '-')) {
        tok t = ps->cur;
        if (next(ps)) return NULL;
        fbq_expr *a = parse_unary(ps);
        if (!a) return NULL;
        r = ex_new(ps, EX_NEG, t.line, t.col);
        r->a = a;
    } else if (is_p(ps, '+')) {
        if (next(ps)) return NULL;
        r = parse_unary(ps);
    } else {
        r = parse_power(ps);
    }
    ps->expr_depth--;
    return r;
}

static fbq_expr *parse_term(parser *ps)
{
    fbq_expr *a = parse_unary(ps);
    while (a && (is_p(ps, '*') || is_p(ps, '/'))) {
        tok t = ps->cur;
        if (next(ps)) return NULL;
        fbq_expr *b = parse_unary(ps);
        if (!b) return NULL;
        fbq_expr *e = ex_new(ps, t.punct == '*' ? EX_MUL : EX_DIV, t.line, t.col);
        e->a = a;
        e->b = b;
        a = e;
    }
    return a;
}

static fbq_expr *parse_expr(parser *ps)
{
    if (++ps->expr_depth > MAX_EXPR_DEPTH) {
        fail(ps, FBQ_ESYNTAX, ps->cur.line, ps->cur.col, "expression nested too deeply");
        return NULL;
    }
    fbq_expr *a = parse_term(ps);
    while (a && (is_p(ps, '+') || is_p(ps, '-'))) {
        tok t = ps->cur;
        if (next(ps)) return NULL;
        fbq_expr *b = parse_term(ps);
        if (!b) return NULL;
        fbq_expr *e = ex_new(ps, t.punct == '+' ? EX_ADD : EX_SUB, t.line, t.col);
        e->a = a;
        e->b = b;
        a = e;
    }
    ps->expr_depth--;
    return a;
}

double fbq_expr_eval(const fbq_expr *e, const double *params)
{
    switch (e->kind) {
    case EX_NUM: return e->num;
    case EX_PARAM: return params[e->param];
    case EX_NEG: return -fbq_expr_eval(e->a, params);
    case EX_ADD: return fbq_expr_eval(e->a, params) + fbq_expr_eval(e->b, params);
    case EX_SUB: return fbq_expr_eval(e->a, params) - fbq_expr_eval(e->b, params);
    case EX_MUL: return fbq_expr_eval(e->a, params) * fbq_expr_eval(e->b, params);
    case EX_DIV: return fbq_expr_eval(e->a, params) / fbq_expr_eval(e->b, params);
    case EX_POW: return pow(fbq_expr_eval(e->a, params), fbq_expr_eval(e->b, params));
    case EX_FUNC: {
        double x = fbq_expr_eval(e->a, params);
        switch (e->fn) {
        case FN_SIN: return sin(x);
        case FN_COS: return cos(x);
        case FN_TAN: return tan(x);
        case FN_EXP: return exp(x);
        case FN_LN: return log(x);
        case FN_SQRT: return sqrt(x);
        case FN_ASIN: return asin(x);
        case FN_ACOS: return acos(x);
        case FN_ATAN: return atan(x);
        }
        return NAN;
    }
    }
    return NAN;
}

/* Parses "( e, e, ... )" (the '(' is current); *out is arena memory. */
static int parse_explist(parser *ps, fbq_expr ***out, int *n)
{
    if (next(ps)) return -1;
    fbq_expr *tmp[64];
    int k = 0;
    if (is_p(ps, ')')) return next(ps) ? -1 : (*out = NULL, *n = 0, 0);
    for (;;) {
        if (k == 64) return fail(ps, FBQ_EARGS, ps->cur.line, ps->cur.col, "more than 64 parameters");
        tmp[k] = parse_expr(ps);
        if (!tmp[k]) return -1;
        k++;
        if (is_p(ps, ',')) {
            if (next(ps)) return -1;
            continue;
        }
        if (expect_p(ps, ')', "after the parameters")) return -1;
        break;
    }
    *out = fbq_arena_alloc(&ps->p->arena, (size_t)k * sizeof **out);
    memcpy(*out, tmp, (size_t)k * sizeof **out);
    *n = k;
    return 0;
}

/* ---- registers and operands ---- */

static int reg_add(parser *ps, const char *name, int quantum, uint64_t size, int line, int col,
                   int size_line, int size_col)
{
    fbq_program *p = ps->p;
    if (check_new_name(ps, name, line, col)) return -1;
    if (size == 0)
        return fail(ps, FBQ_ERANGE, size_line, size_col, "register '%s' must have at least one %s",
                    name, quantum ? "qubit" : "bit");
    if (size > MAX_REG_SIZE)
        return fail(ps, FBQ_ERANGE, size_line, size_col, "register '%s' is too large (%llu; at most %d)",
                    name, (unsigned long long)size, MAX_REG_SIZE);
    int total = quantum ? p->nqubits : p->nclbits;
    if (total + (int)size > MAX_TOTAL_BITS)
        return fail(ps, FBQ_ERANGE, size_line, size_col, "too many %s in the program (at most %d)",
                    quantum ? "qubits" : "bits", MAX_TOTAL_BITS);
    if (p->nregs == p->capregs) {
        p->capregs = p->capregs ? p->capregs * 2 : 16;
        p->regs = fbq_xrealloc(p->regs, (size_t)p->capregs * sizeof *p->regs);
    }
    fbq_reg *r = &p->regs[p->nregs];
    r->name = name;
    r->quantum = quantum;
    r->size = (int)size;
    r->offset = total;
    r->file = ps->L.file;
    r->line = line;
    r->col = col;
    if (quantum) p->nqubits += (int)size;
    else p->nclbits += (int)size;
    name_add(p, name, 2, p->nregs);
    p->nregs++;
    return 0;
}

/* Physical qubits ($n, OpenQASM 3) live in an implicit register "$" that
 * grows to the highest index used; it cannot be mixed with declared
 * qubits. */
static int hw_qubit(parser *ps, const tok *t, fbq_arg *a)
{
    fbq_program *p = ps->p;
    int kind;
    int idx = fbq_name_find(p, "$", &kind);
    if (idx < 0) {
        for (int i = 0; i < p->nregs; i++)
            if (p->regs[i].quantum)
                return fail(ps, FBQ_ESYNTAX, t->line, t->col,
                            "physical qubit $%llu cannot be used in a program that declares qubit "
                            "registers", (unsigned long long)t->ival);
        if (reg_add(ps, "$", 1, 1, t->line, t->col, t->line, t->col)) return -1;
        idx = p->nregs - 1;
    }
    fbq_reg *r = &p->regs[idx];
    if (t->ival >= 4096)
        return fail(ps, FBQ_ERANGE, t->line, t->col, "physical qubit $%llu is out of range (at most $4095)",
                    (unsigned long long)t->ival);
    if ((int)t->ival >= r->size) {
        p->nqubits += (int)t->ival + 1 - r->size;
        r->size = (int)t->ival + 1;
    }
    a->reg = idx;
    a->index = (int)t->ival;
    a->line = t->line;
    a->col = t->col;
    return 0;
}

/* Reads "name" or "name[i]" at top level; quantum selects the register
 * kind expected. */
static int parse_arg(parser *ps, fbq_arg *a, int quantum)
{
    tok t = ps->cur;
    if (t.k == T_HWQ) {
        if (!quantum)
            return fail(ps, FBQ_ESYNTAX, t.line, t.col, "a physical qubit cannot be a classical bit");
        if (hw_qubit(ps, &t, a)) return -1;
        return next(ps);
    }
    if (t.k != T_ID) return unexpected(ps, quantum ? "a qubit or quantum register" : "a bit or classical register");
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)(t.n > 120 ? 120 : t.n), t.s);
    int kind;
    int idx = fbq_name_find(ps->p, name, &kind);
    if (idx < 0 || kind != 2) {
        if (idx >= 0)
            return fail(ps, FBQ_EUNDEFINED, t.line, t.col, "'%s' is a gate, not a register", name);
        return fail(ps, FBQ_EUNDEFINED, t.line, t.col, "undefined register '%s' (declare it with %s)",
                    name, quantum ? (ps->p->dialect == FBQ_QASM3 ? "qubit[n]" : "qreg") :
                                    (ps->p->dialect == FBQ_QASM3 ? "bit[n]" : "creg"));
    }
    fbq_reg *r = &ps->p->regs[idx];
    if (r->quantum != quantum)
        return fail(ps, FBQ_EARGS, t.line, t.col, "'%s' is a %s register; a %s register is needed here",
                    name, r->quantum ? "quantum" : "classical", quantum ? "quantum" : "classical");
    a->reg = idx;
    a->index = -1;
    a->line = t.line;
    a->col = t.col;
    if (next(ps)) return -1;
    if (is_p(ps, '[')) {
        if (next(ps)) return -1;
        tok it = ps->cur;
        if (it.k != T_INT) {
            if (is_p(ps, '{') || it.k == T_PUNCT)
                return unexpected(ps, "an integer index (ranges and sets are not supported)");
            return unexpected(ps, "an integer index");
        }
        if (it.ovf || it.ival >= (uint64_t)r->size)
            return fail(ps, FBQ_ERANGE, it.line, it.col, "index %.*s is out of range for register '%s' of size %d",
                        (int)it.n, it.s, name, r->size);
        a->index = (int)it.ival;
        if (next(ps)) return -1;
        if (is_p(ps, ':')) return unexpected(ps, "']' (ranges are not supported)");
        if (expect_p(ps, ']', "to close the index")) return -1;
    }
    return 0;
}

/* Reads a gate-body operand: one of the gate's qubit arguments. */
static int parse_local_arg(parser *ps, fbq_arg *a)
{
    tok t = ps->cur;
    if (t.k != T_ID) return unexpected(ps, "a qubit argument of the gate");
    for (int i = 0; i < ps->g->nqubits; i++) {
        if (strlen(ps->g->qnames[i]) == t.n && memcmp(ps->g->qnames[i], t.s, t.n) == 0) {
            a->reg = -1;
            a->index = i;
            a->line = t.line;
            a->col = t.col;
            if (next(ps)) return -1;
            if (is_p(ps, '['))
                return fail(ps, FBQ_ESYNTAX, ps->cur.line, ps->cur.col,
                            "gate arguments cannot be indexed inside a gate body");
            return 0;
        }
    }
    for (int i = 0; i < ps->g->nparams; i++)
        if (strlen(ps->g->pnames[i]) == t.n && memcmp(ps->g->pnames[i], t.s, t.n) == 0)
            return fail(ps, FBQ_EARGS, t.line, t.col, "'%.*s' is a parameter of gate '%s', not a qubit",
                        (int)t.n, t.s, ps->g->name);
    return fail(ps, FBQ_EUNDEFINED, t.line, t.col,
                "undefined qubit '%.*s' in the body of gate '%s' (a gate body may only use the "
                "gate's own qubit arguments)", (int)t.n, t.s, ps->g->name);
}

static int arg_size(const parser *ps, const fbq_arg *a)
{
    if (a->reg < 0 || a->index >= 0) return 1;
    return ps->p->regs[a->reg].size;
}

static int arg_qubit(const parser *ps, const fbq_arg *a, int b)
{
    if (a->reg < 0) return a->index;
    const fbq_reg *r = &ps->p->regs[a->reg];
    return r->offset + (a->index >= 0 ? a->index : b);
}

static void arg_name(const parser *ps, const fbq_arg *a, int b, char *buf, size_t n)
{
    if (a->reg < 0) {
        snprintf(buf, n, "%s", ps->g ? ps->g->qnames[a->index] : "?");
        return;
    }
    const fbq_reg *r = &ps->p->regs[a->reg];
    if (!strcmp(r->name, "$"))
        snprintf(buf, n, "$%d", a->index >= 0 ? a->index : b);
    else
        snprintf(buf, n, "%s[%d]", r->name, a->index >= 0 ? a->index : b);
}

/* Register broadcasting: every whole-register operand must have the same
 * size, and no qubit may appear twice in one gate application. */
static int check_operands(parser *ps, fbq_arg *args, int nargs, const char *gname, int *bcast)
{
    int size = 1, size_arg = -1;
    for (int i = 0; i < nargs; i++) {
        int s = arg_size(ps, &args[i]);
        if (args[i].reg >= 0 && args[i].index < 0) {
            if (size_arg >= 0 && s != size)
                return fail(ps, FBQ_EARGS, args[i].line, args[i].col,
                            "register '%s' has %d qubits but '%s' has %d: registers used together "
                            "in one '%s' must have the same size",
                            ps->p->regs[args[i].reg].name, s, ps->p->regs[args[size_arg].reg].name,
                            size, gname);
            size = s;
            size_arg = i;
        }
    }
    *bcast = size;
    if (nargs < 2) return 0;
    for (int b = 0; b < size; b++) {
        for (int i = 0; i < nargs; i++) {
            int qi = arg_qubit(ps, &args[i], b);
            for (int j = 0; j < i; j++) {
                if (arg_qubit(ps, &args[j], b) == qi) {
                    char nm[160];
                    arg_name(ps, &args[i], b, nm, sizeof nm);
                    return fail(ps, FBQ_EARGS, args[i].line, args[i].col,
                                "qubit %s is used twice in one '%s' (operands %d and %d)", nm, gname,
                                j + 1, i + 1);
                }
            }
        }
    }
    return 0;
}

/* ---- gate calls ---- */

static int gate_lookup(parser *ps, const tok *t, int *gi);

static const char *qelib1_names[] = {"u3", "u2", "u1", "cx", "id", "x", "y", "z", "h", "s", "sdg",
                                     "t", "tdg", "rx", "ry", "rz", "cz", "cy", "ch", "ccx", "crz",
                                     "cu1", "cu3", NULL};

/* 1 for a gate of the OpenQASM 2.0 standard qelib1.inc. */
static int is_qelib1_name(const char *name)
{
    for (int i = 0; qelib1_names[i]; i++)
        if (!strcmp(qelib1_names[i], name)) return 1;
    return 0;
}

/* 1 when the embedded Qiskit qelib1.inc defines a gate of that name. */
static int qiskit_defines(const char *name)
{
    size_t n = strlen(name);
    const char *s = fbq_hdr_qelib1_qiskit;
    while ((s = strstr(s, "\ngate ")) != NULL) {
        s += 6;
        if (!strncmp(s, name, n) && (s[n] == ' ' || s[n] == '(')) return 1;
    }
    return 0;
}

/* Reports an undefined gate with the most helpful hint we can find. */
static int undefined_gate(parser *ps, const tok *t)
{
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)(t->n > 120 ? 120 : t->n), t->s);
    int std = fbq_std_find(name) >= 0, q1 = is_qelib1_name(name);
    if (ps->p->dialect == FBQ_QASM3 && std && !ps->p->std_included)
        return fail(ps, FBQ_EUNDEFINED, t->line, t->col,
                    "undefined gate '%s' (it is a standard gate: add include \"stdgates.inc\";)", name);
    if (q1 && fbq_name_find(ps->p, "u3", NULL) < 0)
        return fail(ps, FBQ_EUNDEFINED, t->line, t->col,
                    "undefined gate '%s' (it is a standard gate: add include \"qelib1.inc\";)", name);
    if (!q1 && qiskit_defines(name) && ps->p->dialect == FBQ_QASM2) {
        if (ps->qelib1 == QL_NONE)
            return fail(ps, FBQ_EUNDEFINED, t->line, t->col,
                        "undefined gate '%s' (Qiskit's extended qelib1.inc defines it: add include "
                        "\"qelib1.inc\";)", name);
        if (ps->qelib1 == QL_STANDARD)
            return fail(ps, FBQ_EUNDEFINED, t->line, t->col,
                        "undefined gate '%s' (the OpenQASM 2.0 standard qelib1.inc, read because of "
                        "--strict-qelib, does not define it; Qiskit's extended qelib1.inc does: drop "
                        "--strict-qelib, or define the gate)", name);
        if (ps->qelib1 == QL_FILE)
            return fail(ps, FBQ_EUNDEFINED, t->line, t->col,
                        "undefined gate '%s' (the qelib1.inc beside the program does not define it; "
                        "Qiskit's extended qelib1.inc, used when there is no such file, does)", name);
    }
    /* a near miss among the defined gates */
    const char *best = NULL;
    int bestd = 3;
    for (int i = 0; i < ps->p->ngates; i++) {
        const char *gn = ps->p->gates[i]->name;
        if (i == GATE_GPHASE && ps->p->dialect == FBQ_QASM2) continue;
        size_t la = strlen(gn), lb = strlen(name);
        if (la + 2 < lb || lb + 2 < la) continue;
        /* small edit distance */
        int d[130];
        if (lb > 120) continue;
        for (size_t j = 0; j <= lb; j++) d[j] = (int)j;
        for (size_t a = 1; a <= la; a++) {
            int prev = d[0];
            d[0] = (int)a;
            for (size_t b = 1; b <= lb; b++) {
                int tmp = d[b];
                int cost = gn[a - 1] == name[b - 1] ? 0 : 1;
                int v = prev + cost;
                if (d[b] + 1 < v) v = d[b] + 1;
                if (d[b - 1] + 1 < v) v = d[b - 1] + 1;
                d[b] = v;
                prev = tmp;
            }
        }
        if (d[lb] < bestd && d[lb] < (int)lb) {
            bestd = d[lb];
            best = gn;
        }
    }
    if (best)
        return fail(ps, FBQ_EUNDEFINED, t->line, t->col, "undefined gate '%s' (did you mean '%s'?)", name, best);
    return fail(ps, FBQ_EUNDEFINED, t->line, t->col, "undefined gate '%s'", name);
}

static int gate_lookup(parser *ps, const tok *t, int *gi)
{
    char name[128];
    if (t->n > 120) return undefined_gate(ps, t);
    snprintf(name, sizeof name, "%.*s", (int)t->n, t->s);
    int kind;
    int idx = fbq_name_find(ps->p, name, &kind);
    if (idx >= 0 && kind == 1) {
        *gi = idx;
        return 0;
    }
    if (idx >= 0)
        return fail(ps, FBQ_EUNDEFINED, t->line, t->col, "'%s' is a register, not a gate", name);
    if (!strcmp(name, "CX")) { /* built-in in OpenQASM 2; tolerated in 3 */
        *gi = GATE_CX;
        return 0;
    }
    if (!strcmp(name, "gphase") && (ps->p->dialect == FBQ_QASM3 || ps->header)) {
        *gi = GATE_GPHASE;
        return 0;
    }
    return undefined_gate(ps, t);
}

static int plural(int n)
{
    return n == 1 ? 0 : 1;
}

/* Reads a gate call starting at the modifiers or the gate name; the
 * statement is filled in s. In a gate body operands are local. */
static int parse_gate_call(parser *ps, fbq_stmt *s)
{
    fbq_mod mods[16];
    int nmods = 0, nctrl = 0;
    for (;;) {
        if (ps->cur.k != T_ID) break;
        int kind = -1;
        if (is_kw(ps, "ctrl")) kind = MOD_CTRL;
        else if (is_kw(ps, "negctrl")) kind = MOD_NEGCTRL;
        else if (is_kw(ps, "inv")) kind = MOD_INV;
        else if (is_kw(ps, "pow")) kind = MOD_POW;
        if (kind < 0) break;
        tok mt = ps->cur;
        if (ps->p->dialect == FBQ_QASM2)
            return fail(ps, FBQ_ESYNTAX, mt.line, mt.col,
                        "gate modifier '%.*s @' needs OpenQASM 3 (write OPENQASM 3.0;)", (int)mt.n, mt.s);
        if (nmods == 16) return fail(ps, FBQ_ESYNTAX, mt.line, mt.col, "too many gate modifiers");
        fbq_mod *m = &mods[nmods];
        memset(m, 0, sizeof *m);
        m->kind = kind;
        m->n = 1;
        if (next(ps)) return -1;
        if (is_p(ps, '(')) {
            if (kind == MOD_INV) return unexpected(ps, "'@' after inv");
            if (next(ps)) return -1;
            if (kind == MOD_POW) {
                m->pow = parse_expr(ps);
                if (!m->pow) return -1;
            } else {
                tok nt = ps->cur;
                if (nt.k != T_INT || nt.ival < 1 || nt.ival > 16)
                    return fail(ps, FBQ_EARGS, nt.line, nt.col, "the number of controls must be an integer from 1 to 16");
                m->n = (int)nt.ival;
                if (next(ps)) return -1;
            }
            if (expect_p(ps, ')', "after the modifier argument")) return -1;
        } else if (kind == MOD_POW) {
            return unexpected(ps, "'(' after pow");
        }
        if (!is_p(ps, '@')) return unexpected(ps, "'@' after the gate modifier");
        if (next(ps)) return -1;
        if (kind == MOD_CTRL || kind == MOD_NEGCTRL) nctrl += m->n;
        nmods++;
    }
    tok gt = ps->cur;
    if (gt.k != T_ID) return unexpected(ps, "a gate name");
    int gi = -1;
    if (gate_lookup(ps, &gt, &gi)) return -1;
    fbq_gate *g = ps->p->gates[gi];
    if (ps->g && g == ps->g)
        return fail(ps, FBQ_EUNDEFINED, gt.line, gt.col, "gate '%s' cannot call itself", g->name);
    s->kind = ST_GATE;
    s->gate = gi;
    s->line = s->line ? s->line : gt.line;
    s->col = s->col ? s->col : gt.col;
    if (next(ps)) return -1;
    tok pt = ps->cur;
    if (is_p(ps, '(')) {
        if (parse_explist(ps, &s->params, &s->nparams)) return -1;
    }
    if (s->nparams != g->nparams)
        return fail(ps, FBQ_EARGS, pt.line, pt.col, "gate '%s' takes %d parameter%s, got %d", g->name,
                    g->nparams, plural(g->nparams) ? "s" : "", s->nparams);
    fbq_arg args[64];
    int nargs = 0;
    int want = g->nqubits + nctrl;
    if (!is_p(ps, ';')) {
        for (;;) {
            if (nargs == 64) return fail(ps, FBQ_EARGS, ps->cur.line, ps->cur.col, "too many operands");
            if (ps->g) {
                if (parse_local_arg(ps, &args[nargs])) return -1;
            } else if (parse_arg(ps, &args[nargs], 1)) {
                return -1;
            }
            nargs++;
            if (!is_p(ps, ',')) break;
            if (next(ps)) return -1;
        }
    }
    if (nargs != want) {
        if (nctrl)
            return fail(ps, FBQ_EARGS, gt.line, gt.col,
                        "gate '%s' with %d control%s needs %d qubit operand%s, got %d", g->name, nctrl,
                        plural(nctrl) ? "s" : "", want, plural(want) ? "s" : "", nargs);
        return fail(ps, FBQ_EARGS, gt.line, gt.col, "gate '%s' acts on %d qubit%s, got %d", g->name,
                    want, plural(want) ? "s" : "", nargs);
    }
    int bc;
    if (check_operands(ps, args, nargs, g->name, &bc)) return -1;
    s->nargs = nargs;
    s->args = fbq_arena_alloc(&ps->p->arena, (size_t)(nargs ? nargs : 1) * sizeof *s->args);
    memcpy(s->args, args, (size_t)nargs * sizeof *args);
    if (nmods) {
        s->nmods = nmods;
        s->mods = fbq_arena_alloc(&ps->p->arena, (size_t)nmods * sizeof *s->mods);
        memcpy(s->mods, mods, (size_t)nmods * sizeof *mods);
    }
    return expect_p(ps, ';', "the gate call");
}

/* ---- statements ---- */

static int parse_statement(parser *ps, int in_if, fbq_stmt *cond);
static int parse_file(parser *ps, const char *src, size_t len, int file, const char *dir);

static int parse_measure_tail(parser *ps, fbq_stmt *s, fbq_arg *q, fbq_arg *c, int line, int col)
{
    int qs = arg_size(ps, q);
    if (c->reg >= 0) {
        int cs = arg_size(ps, c);
        if (qs != cs) {
            const fbq_reg *qr = &ps->p->regs[q->reg], *cr = &ps->p->regs[c->reg];
            return fail(ps, FBQ_EARGS, c->line, c->col,
                        "cannot measure %d qubit%s of '%s' into %d bit%s of '%s': the sizes must match",
                        qs, plural(qs) ? "s" : "", qr->name, cs, plural(cs) ? "s" : "", cr->name);
        }
    }
    s->kind = ST_MEASURE;
    s->line = line;
    s->col = col;
    s->nargs = 1;
    s->args = fbq_arena_alloc(&ps->p->arena, sizeof *s->args);
    s->args[0] = *q;
    s->carg = *c;
    return 0;
}

static int is_qasm3_unsupported(const parser *ps)
{
    static const char *kw[] = {"input", "output", "const", "let", "def", "for", "while", "box",
                               "delay", "defcal", "defcalgrammar", "cal", "extern", "return",
                               "break", "continue", "switch", "int", "uint", "float", "angle",
                               "bool", "complex", "duration", "stretch", "array", "else", NULL};
    for (int i = 0; kw[i]; i++)
        if (is_kw(ps, kw[i])) return 1;
    return 0;
}

static void skip_line(parser *ps)
{
    lexer *L = &ps->L;
    while (L->pos < L->len && L->src[L->pos] != '\n') adv(L);
}

static int parse_gate_def(parser *ps, int opaque)
{
    tok kt = ps->cur;
    if (ps->g)
        return fail(ps, FBQ_ESYNTAX, kt.line, kt.col, "gate definitions cannot be nested");
    if (next(ps)) return -1;
    tok nt = ps->cur;
    if (nt.k != T_ID) return unexpected(ps, "a gate name");
    char *name = tok_str(ps, &nt);
    static const char *reserved[] = {"U", "CX", "measure", "reset", "barrier", "if", "gate",
                                     "opaque", "qreg", "creg", "include", "OPENQASM", "pi",
                                     "gphase", "ctrl", "negctrl", "inv", "pow", NULL};
    for (int i = 0; reserved[i]; i++)
        if (!strcmp(reserved[i], name))
            return fail(ps, FBQ_EDUPLICATE, nt.line, nt.col, "'%s' is a reserved word and cannot name a gate", name);
    /* the extended library yields to a name the program already defined */
    int skip = ps->in_qiskit && !is_qelib1_name(name) && fbq_name_find(ps->p, name, NULL) >= 0;
    if (!skip && check_new_name(ps, name, nt.line, nt.col)) return -1;
    if (next(ps)) return -1;
    const char *pn[64], *qn[64];
    int np = 0, nq = 0;
    if (is_p(ps, '(')) {
        if (next(ps)) return -1;
        while (!is_p(ps, ')')) {
            if (ps->cur.k != T_ID) return unexpected(ps, "a parameter name");
            if (np == 64) return fail(ps, FBQ_EARGS, ps->cur.line, ps->cur.col, "more than 64 parameters");
            char *pnm = tok_str(ps, &ps->cur);
            for (int i = 0; i < np; i++)
                if (!strcmp(pn[i], pnm))
                    return fail(ps, FBQ_EDUPLICATE, ps->cur.line, ps->cur.col,
                                "parameter '%s' is listed twice in gate '%s'", pnm, name);
            pn[np++] = pnm;
            if (next(ps)) return -1;
            if (is_p(ps, ',')) {
                if (next(ps)) return -1;
                if (is_p(ps, ')')) return unexpected(ps, "a parameter name");
            } else if (!is_p(ps, ')')) {
                return unexpected(ps, "',' or ')' in the parameter list");
            }
        }
        if (next(ps)) return -1;
    }
    while (ps->cur.k == T_ID) {
        if (nq == 64) return fail(ps, FBQ_EARGS, ps->cur.line, ps->cur.col, "more than 64 qubit arguments");
        char *qnm = tok_str(ps, &ps->cur);
        for (int i = 0; i < nq; i++)
            if (!strcmp(qn[i], qnm))
                return fail(ps, FBQ_EDUPLICATE, ps->cur.line, ps->cur.col,
                            "qubit argument '%s' is listed twice in gate '%s'", qnm, name);
        for (int i = 0; i < np; i++)
            if (!strcmp(pn[i], qnm))
                return fail(ps, FBQ_EDUPLICATE, ps->cur.line, ps->cur.col,
                            "'%s' is both a parameter and a qubit argument of gate '%s'", qnm, name);
        qn[nq++] = qnm;
        if (next(ps)) return -1;
        if (!is_p(ps, ',')) break;
        if (next(ps)) return -1;
        if (ps->cur.k != T_ID) return unexpected(ps, "a qubit argument name");
    }
    if (nq == 0 && !opaque) return unexpected(ps, "the gate's qubit arguments");
    if (nq == 0) return unexpected(ps, "the opaque gate's qubit arguments");
    fbq_gate *g = gate_new(ps, name, opaque ? GK_OPAQUE : GK_USER, nt.line, nt.col);
    g->nparams = np;
    g->nqubits = nq;
    g->weak = ps->in_qiskit && !is_qelib1_name(name);
    g->pnames = fbq_arena_alloc(&ps->p->arena, (size_t)(np ? np : 1) * sizeof(char *));
    g->qnames = fbq_arena_alloc(&ps->p->arena, (size_t)nq * sizeof(char *));
    memcpy(g->pnames, pn, (size_t)np * sizeof(char *));
    memcpy(g->qnames, qn, (size_t)nq * sizeof(char *));
    if (opaque) {
        if (expect_p(ps, ';', "the opaque declaration")) return -1;
        if (!skip) name_add(ps->p, name, 1, ps->p->ngates - 1);
        return 0;
    }
    if (!is_p(ps, '{')) return unexpected(ps, "'{' to open the gate body");
    tok open = ps->cur;
    if (next(ps)) return -1;
    /* the body goes into a temporary list, then into the gate */
    fbq_stmt body[512];
    fbq_stmt *bp = body;
    int nb = 0, capb = 512;
    ps->g = g;
    int rc = 0;
    while (!is_p(ps, '}')) {
        if (ps->cur.k == T_EOF) {
            rc = fail(ps, FBQ_ESYNTAX, open.line, open.col, "gate '%s': '{' is never closed", name);
            break;
        }
        if (nb == capb) {
            capb *= 2;
            if (bp == body) {
                bp = fbq_xmalloc((size_t)capb * sizeof *bp);
                memcpy(bp, body, sizeof body);
            } else {
                bp = fbq_xrealloc(bp, (size_t)capb * sizeof *bp);
            }
        }
        fbq_stmt *s = &bp[nb];
        memset(s, 0, sizeof *s);
        s->carg.reg = -1;
        s->cond_bit = -1;
        s->file = ps->L.file;
        s->line = ps->cur.line;
        s->col = ps->cur.col;
        if (is_kw(ps, "barrier")) {
            if (next(ps)) { rc = -1; break; }
            fbq_arg args[64];
            int na = 0;
            while (!is_p(ps, ';')) {
                if (na == 64) { rc = fail(ps, FBQ_EARGS, ps->cur.line, ps->cur.col, "too many operands"); break; }
                if (parse_local_arg(ps, &args[na])) { rc = -1; break; }
                na++;
                if (!is_p(ps, ',')) break;
                if (next(ps)) { rc = -1; break; }
            }
            if (rc) break;
            if (expect_p(ps, ';', "the barrier")) { rc = -1; break; }
            s->kind = ST_BARRIER;
            s->nargs = na;
            s->args = fbq_arena_alloc(&ps->p->arena, (size_t)(na ? na : 1) * sizeof *s->args);
            memcpy(s->args, args, (size_t)na * sizeof *args);
            nb++;
            continue;
        }
        if (is_kw(ps, "measure") || is_kw(ps, "reset") || is_kw(ps, "if") || is_kw(ps, "qreg") ||
            is_kw(ps, "creg") || is_kw(ps, "gate") || is_kw(ps, "opaque") || is_kw(ps, "qubit") ||
            is_kw(ps, "bit")) {
            rc = fail(ps, FBQ_ESYNTAX, ps->cur.line, ps->cur.col,
                      "'%.*s' cannot appear inside a gate body (only gate calls and barrier can)",
                      (int)ps->cur.n, ps->cur.s);
            break;
        }
        if (parse_gate_call(ps, s)) { rc = -1; break; }
        nb++;
    }
    ps->g = NULL;
    if (!rc) {
        g->nbody = nb;
        g->body = fbq_arena_alloc(&ps->p->arena, (size_t)(nb ? nb : 1) * sizeof *g->body);
        memcpy(g->body, bp, (size_t)nb * sizeof *bp);
        if (!skip) name_add(ps->p, name, 1, ps->p->ngates - 1);
    }
    if (bp != body) free(bp);
    if (rc) return -1;
    return next(ps);
}

/* Reads "(creg == n)", "(creg[i] == n)" or "(creg[i])" after `if`. */
static int parse_condition(parser *ps, fbq_stmt *c)
{
    if (expect_p(ps, '(', "after 'if'")) return -1;
    int neg = 0;
    if (is_p(ps, '!')) {
        if (ps->p->dialect == FBQ_QASM2) return unexpected(ps, "a classical register");
        neg = 1;
        if (next(ps)) return -1;
    }
    fbq_arg a;
    tok at = ps->cur;
    if (parse_arg(ps, &a, 0)) return -1;
    if (a.index >= 0 && ps->p->dialect == FBQ_QASM2)
        return fail(ps, FBQ_ESYNTAX, at.line, at.col,
                    "OpenQASM 2 compares a whole classical register: write if(%s==n)",
                    ps->p->regs[a.reg].name);
    c->has_cond = 1;
    c->cond_reg = a.reg;
    c->cond_bit = a.index;
    if (is_p(ps, P_EQ)) {
        if (neg) return unexpected(ps, "')'");
        if (next(ps)) return -1;
        tok vt = ps->cur;
        if (vt.k != T_INT)
            return unexpected(ps, "a non-negative integer to compare with");
        if (vt.ovf)
            return fail(ps, FBQ_ERANGE, vt.line, vt.col, "integer %.*s is too large", (int)vt.n, vt.s);
        c->cond_val = vt.ival;
        if (a.index >= 0 && vt.ival > 1)
            return fail(ps, FBQ_ERANGE, vt.line, vt.col, "a single bit compares with 0 or 1, not %.*s",
                        (int)vt.n, vt.s);
        if (next(ps)) return -1;
    } else {
        if (ps->p->dialect == FBQ_QASM2 || a.index < 0)
            return unexpected(ps, "'==' in the condition");
        c->cond_val = neg ? 0 : 1;
    }
    return expect_p(ps, ')', "to close the condition");
}

static void apply_cond(fbq_stmt *s, const fbq_stmt *cond)
{
    if (!cond) return;
    s->has_cond = 1;
    s->cond_reg = cond->cond_reg;
    s->cond_bit = cond->cond_bit;
    s->cond_val = cond->cond_val;
}

static int read_include(parser *ps, const tok *st, const char *name);

/* One top-level statement. cond (may be NULL) is the enclosing `if`. */
static int parse_statement(parser *ps, int in_if, fbq_stmt *cond)
{
    tok t = ps->cur;
    fbq_program *p = ps->p;
    int first = ps->first_stmt;
    ps->first_stmt = 0;
    if (t.k == T_PUNCT && t.punct == '#' && p->dialect == FBQ_QASM3) {
        /* `#pragma ...` (Braket result types, ...) is for devices; skipped */
        skip_line(ps);
        return next(ps);
    }
    if (t.k == T_PUNCT && t.punct == '{' && p->dialect == FBQ_QASM3 && in_if) {
        if (next(ps)) return -1;
        while (!is_p(ps, '}')) {
            if (ps->cur.k == T_EOF) return fail(ps, FBQ_ESYNTAX, t.line, t.col, "'{' is never closed");
            if (parse_statement(ps, 1, cond)) return -1;
        }
        return next(ps);
    }
    if (t.k != T_ID) {
        if (t.k == T_EOF) return unexpected(ps, "a statement");
        return unexpected(ps, "a statement");
    }
    if (is_kw(ps, "OPENQASM")) {
        if (!first || in_if)
            return fail(ps, FBQ_ESYNTAX, t.line, t.col, "'OPENQASM' must be the first statement of the file");
        if (next(ps)) return -1;
        tok vt = ps->cur;
        if (vt.k != T_INT && vt.k != T_REAL) return unexpected(ps, "a version number such as 2.0");
        char v[32];
        snprintf(v, sizeof v, "%.*s", (int)(vt.n > 30 ? 30 : vt.n), vt.s);
        int major = atoi(v);
        if (major != 2 && major != 3)
            return fail(ps, FBQ_EUNSUPPORTED, vt.line, vt.col,
                        "OpenQASM version %s is not supported (use 2.0 or 3.0)", v);
        if (ps->depth == 0) p->dialect = major == 2 ? FBQ_QASM2 : FBQ_QASM3;
        if (next(ps)) return -1;
        char what[48];
        snprintf(what, sizeof what, "'OPENQASM %s'", v);
        return expect_p(ps, ';', what);
    }
    if (is_kw(ps, "include")) {
        if (in_if || ps->g) return fail(ps, FBQ_ESYNTAX, t.line, t.col, "'include' must be at the top level");
        if (next(ps)) return -1;
        tok ft = ps->cur;
        if (ft.k != T_STR) return unexpected(ps, "a file name in double quotes");
        char name[512];
        if (ft.n >= sizeof name) return fail(ps, FBQ_EINCLUDE, ft.line, ft.col, "include file name too long");
        memcpy(name, ft.s, ft.n);
        name[ft.n] = '\0';
        if (next(ps)) return -1;
        if (expect_p(ps, ';', "the include")) return -1;
        ps->echo_ok = 1; /* a complete include statement: this file is OpenQASM */
        return read_include(ps, &ft, name);
    }
    if (is_kw(ps, "qreg") || is_kw(ps, "creg")) {
        int quantum = t.s[0] == 'q';
        if (in_if) return fail(ps, FBQ_ESYNTAX, t.line, t.col, "declarations cannot be conditional");
        if (next(ps)) return -1;
        tok nt = ps->cur;
        if (nt.k != T_ID) return unexpected(ps, "a register name");
        if (next(ps)) return -1;
        if (expect_p(ps, '[', "after the register name")) return -1;
        tok st = ps->cur;
        if (st.k != T_INT) return unexpected(ps, "the register size");
        if (next(ps)) return -1;
        if (expect_p(ps, ']', "after the register size")) return -1;
        if (reg_add(ps, tok_str(ps, &nt), quantum, st.ovf ? UINT64_MAX : st.ival, nt.line, nt.col, st.line, st.col))
            return -1;
        return expect_p(ps, ';', "the register declaration");
    }
    if (is_kw(ps, "qubit") || is_kw(ps, "bit")) {
        int quantum = t.s[0] == 'q';
        if (p->dialect == FBQ_QASM2)
            return fail(ps, FBQ_ESYNTAX, t.line, t.col,
                        "'%s' declarations need OpenQASM 3 (in OpenQASM 2 write %s name[size];)",
                        quantum ? "qubit" : "bit", quantum ? "qreg" : "creg");
        if (in_if) return fail(ps, FBQ_ESYNTAX, t.line, t.col, "declarations cannot be conditional");
        if (next(ps)) return -1;
        uint64_t size = 1;
        tok st = t;
        int sized = 0;
        if (is_p(ps, '[')) {
            if (next(ps)) return -1;
            st = ps->cur;
            if (st.k != T_INT) return unexpected(ps, "the register size");
            size = st.ovf ? UINT64_MAX : st.ival;
            sized = 1;
            if (next(ps)) return -1;
            if (expect_p(ps, ']', "after the register size")) return -1;
        }
        (void)sized;
        tok nt = ps->cur;
        if (nt.k != T_ID) return unexpected(ps, "a register name");
        if (next(ps)) return -1;
        if (reg_add(ps, tok_str(ps, &nt), quantum, size, nt.line, nt.col, st.line, st.col)) return -1;
        if (!quantum && is_p(ps, '=')) {
            if (next(ps)) return -1;
            if (!is_kw(ps, "measure")) return unexpected(ps, "'measure' (other initialisers are not supported)");
            tok mt = ps->cur;
            if (next(ps)) return -1;
            fbq_arg q, c = {p->nregs - 1, -1, nt.line, nt.col};
            if (parse_arg(ps, &q, 1)) return -1;
            fbq_stmt *s = stmt_push(ps);
            s->file = ps->L.file;
            s->qasm3_form = 1;
            if (parse_measure_tail(ps, s, &q, &c, mt.line, mt.col)) return -1;
        }
        return expect_p(ps, ';', "the declaration");
    }
    if (is_kw(ps, "gate") || is_kw(ps, "opaque")) {
        if (in_if) return fail(ps, FBQ_ESYNTAX, t.line, t.col, "gate definitions cannot be conditional");
        return parse_gate_def(ps, t.s[0] == 'o');
    }
    if (is_kw(ps, "if")) {
        if (in_if) return fail(ps, FBQ_EUNSUPPORTED, t.line, t.col, "nested 'if' is not supported");
        if (next(ps)) return -1;
        fbq_stmt c;
        memset(&c, 0, sizeof c);
        if (parse_condition(ps, &c)) return -1;
        if (p->dialect == FBQ_QASM2) {
            if (!(ps->cur.k == T_ID) || is_kw(ps, "if") || is_kw(ps, "barrier") || is_kw(ps, "gate") ||
                is_kw(ps, "qreg") || is_kw(ps, "creg") || is_kw(ps, "include") || is_kw(ps, "opaque"))
                return unexpected(ps, "a gate call, measure or reset after the condition");
        }
        if (parse_statement(ps, 1, &c)) return -1;
        if (is_kw(ps, "else"))
            return fail(ps, FBQ_EUNSUPPORTED, ps->cur.line, ps->cur.col, "'else' is not supported");
        return 0;
    }
    if (is_kw(ps, "measure")) {
        if (next(ps)) return -1;
        fbq_arg q, c = {-1, -1, 0, 0};
        if (parse_arg(ps, &q, 1)) return -1;
        fbq_stmt *s = stmt_push(ps);
        s->file = ps->L.file;
        if (is_p(ps, P_ARROW)) {
            if (next(ps)) return -1;
            if (parse_arg(ps, &c, 0)) return -1;
            s = &p->stmts[p->nstmts - 1];
            s->measure_arrow = 1;
        } else if (p->dialect == FBQ_QASM2) {
            return expect_p(ps, P_ARROW, "after the measured qubit");
        }
        s = &p->stmts[p->nstmts - 1];
        if (parse_measure_tail(ps, s, &q, &c, t.line, t.col)) return -1;
        apply_cond(s, cond);
        return expect_p(ps, ';', "the measurement");
    }
    if (is_kw(ps, "reset") || is_kw(ps, "barrier")) {
        int reset = t.s[0] == 'r';
        if (!reset && in_if) return fail(ps, FBQ_ESYNTAX, t.line, t.col, "a barrier cannot be conditional");
        if (next(ps)) return -1;
        fbq_arg args[64], *ap = args;
        int na = 0, cap = 64;
        while (!is_p(ps, ';')) {
            if (na == cap) {
                cap *= 2;
                if (ap == args) {
                    ap = fbq_xmalloc((size_t)cap * sizeof *ap);
                    memcpy(ap, args, sizeof args);
                } else {
                    ap = fbq_xrealloc(ap, (size_t)cap * sizeof *ap);
                }
            }
            if (parse_arg(ps, &ap[na], 1)) goto fail_args;
            na++;
            if (reset) break;
            if (!is_p(ps, ',')) break;
            if (next(ps)) goto fail_args;
        }
        if (na == 0 && (reset || p->dialect == FBQ_QASM2)) {
            unexpected(ps, reset ? "the qubit to reset" : "the qubits of the barrier");
            goto fail_args;
        }
        if (expect_p(ps, ';', reset ? "the reset" : "the barrier")) goto fail_args;
        fbq_stmt *s = stmt_push(ps);
        s->kind = reset ? ST_RESET : ST_BARRIER;
        s->file = ps->L.file;
        s->line = t.line;
        s->col = t.col;
        s->nargs = na;
        s->args = fbq_arena_alloc(&p->arena, (size_t)(na ? na : 1) * sizeof *s->args);
        memcpy(s->args, ap, (size_t)na * sizeof *ap);
        apply_cond(s, cond);
        if (ap != args) free(ap);
        return 0;
    fail_args:
        if (ap != args) free(ap);
        return -1;
    }
    if (p->dialect == FBQ_QASM3 && (is_kw(ps, "pragma"))) {
        skip_line(ps);
        return next(ps);
    }
    if (p->dialect == FBQ_QASM3 && is_qasm3_unsupported(ps))
        return fail(ps, FBQ_EUNSUPPORTED, t.line, t.col,
                    "OpenQASM 3 '%.*s' is not supported by this simulator (supported: qubit/bit "
                    "declarations, gate calls and definitions with modifiers, measure, reset, "
                    "barrier, if)", (int)t.n, t.s);
    /* assignment `c = measure q;` / `c[i] = measure q[i];` (OpenQASM 3) */
    {
        lexer save = ps->L;
        tok savet = ps->cur;
        int spl = ps->prev_end_line, spc = ps->prev_end_col;
        int kind;
        char nm[128];
        snprintf(nm, sizeof nm, "%.*s", (int)(t.n > 120 ? 120 : t.n), t.s);
        int idx = fbq_name_find(p, nm, &kind);
        if (idx >= 0 && kind == 2) {
            fbq_arg c;
            if (parse_arg(ps, &c, 0)) return -1;
            if (!is_p(ps, '=')) return unexpected(ps, "'=' (assignment of a measurement)");
            if (next(ps)) return -1;
            if (!is_kw(ps, "measure")) return unexpected(ps, "'measure' (only measurements can be assigned)");
            tok mt = ps->cur;
            if (next(ps)) return -1;
            fbq_arg q;
            if (parse_arg(ps, &q, 1)) return -1;
            fbq_stmt *s = stmt_push(ps);
            s->file = ps->L.file;
            s->qasm3_form = 1;
            if (parse_measure_tail(ps, s, &q, &c, mt.line, mt.col)) return -1;
            apply_cond(s, cond);
            return expect_p(ps, ';', "the measurement");
        }
        ps->L = save;
        ps->cur = savet;
        ps->prev_end_line = spl;
        ps->prev_end_col = spc;
    }
    fbq_stmt tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.carg.reg = -1;
    tmp.cond_bit = -1;
    tmp.file = ps->L.file;
    if (parse_gate_call(ps, &tmp)) return -1;
    apply_cond(&tmp, cond);
    *stmt_push(ps) = tmp;
    return 0;
}

/* ---- includes ---- */

static int file_add(fbq_program *p, const char *name)
{
    p->files = fbq_xrealloc(p->files, (size_t)(p->nfiles + 1) * sizeof *p->files);
    p->files[p->nfiles] = fbq_xstrdup(name);
    return p->nfiles++;
}

static int already_included(fbq_program *p, const char *ident)
{
    for (int i = 0; i < p->nincluded; i++)
        if (!strcmp(p->included[i], ident)) return 1;
    p->included = fbq_xrealloc(p->included, (size_t)(p->nincluded + 1) * sizeof *p->included);
    p->included[p->nincluded++] = fbq_xstrdup(ident);
    return 0;
}

/* 1 when something is at path (of any type: what it is decides later
 * whether it may be included). */
static int path_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static char *dir_of(const char *path)
{
    const char *sl = strrchr(path, '/');
    if (!sl) return fbq_xstrdup(".");
    if (sl == path) return fbq_xstrdup("/");
    return fbq_xstrndup(path, (size_t)(sl - path));
}

static char *read_all(const char *path, size_t *len, char *why, size_t whyn)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, whyn, "%s", strerror(errno));
        return NULL;
    }
    fbq_sb b = {0};
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        fbq_sb_put(&b, buf, n);
        if (b.n > FBQ_MAX_PROGRAM_SIZE) {
            snprintf(why, whyn, "larger than %u bytes (16 MiB)", FBQ_MAX_PROGRAM_SIZE);
            fclose(f);
            free(b.d);
            return NULL;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        snprintf(why, whyn, "read error");
        free(b.d);
        return NULL;
    }
    *len = b.n;
    return fbq_sb_steal(&b);
}

/* Registers the standard OpenQASM 3 gates declared in the embedded
 * stdgates.inc: names and signatures come from the file, matrices from the
 * built-in table (the file's global-phase conventions differ between
 * versions; the table follows the specification's matrices). */
static int include_stdgates(parser *ps, const tok *st)
{
    if (already_included(ps->p, "<embedded>/stdgates.inc")) return 0;
    ps->p->std_included = 1;
    const char *s = fbq_hdr_stdgates;
    size_t len = fbq_hdr_stdgates_len, i = 0;
    while (i < len) {
        /* skip comments */
        if (s[i] == '/' && i + 1 < len && s[i + 1] == '/') {
            while (i < len && s[i] != '\n') i++;
            continue;
        }
        if (i + 5 <= len && !memcmp(s + i, "gate ", 5) && (i == 0 || s[i - 1] == '\n')) {
            i += 5;
            size_t n0 = i;
            while (i < len && is_id_char((unsigned char)s[i])) i++;
            char name[32];
            snprintf(name, sizeof name, "%.*s", (int)(i - n0), s + n0);
            int np = 0, nq = 0;
            if (s[i] == '(') {
                np = 1;
                while (i < len && s[i] != ')') {
                    if (s[i] == ',') np++;
                    i++;
                }
                i++;
            }
            while (i < len && s[i] != '{') {
                if (is_id_start((unsigned char)s[i])) {
                    nq++;
                    while (i < len && is_id_char((unsigned char)s[i])) i++;
                } else {
                    i++;
                }
            }
            int depth = 0;
            for (; i < len; i++) {
                if (s[i] == '{') depth++;
                if (s[i] == '}' && --depth == 0) break;
            }
            int id = fbq_std_find(name);
            if (id < 0 || fbq_std_get(id)->nparams != np || fbq_std_get(id)->nqubits != nq)
                return fail(ps, FBQ_EINCLUDE, st->line, st->col,
                            "internal error: embedded stdgates.inc gate '%s' does not match the "
                            "built-in gate table", name);
            if (check_new_name(ps, fbq_std_get(id)->name, st->line, st->col)) return -1;
            fbq_gate *g = gate_new(ps, fbq_std_get(id)->name, GK_STD, 0, 0);
            g->std_id = id;
            g->nparams = np;
            g->nqubits = nq;
            g->header = "stdgates.inc";
            g->header_embedded = 1;
            g->file = ps->L.file;
            name_add(ps->p, g->name, 1, ps->p->ngates - 1);
            continue;
        }
        i++;
    }
    return 0;
}

static int read_include(parser *ps, const tok *st, const char *name)
{
    fbq_program *p = ps->p;
    int maxd = ps->opt && ps->opt->max_include_depth > 0 ? ps->opt->max_include_depth : DEFAULT_INCLUDE_DEPTH;
    if (maxd > 64) maxd = 64;
    if (ps->depth + 1 > maxd)
        return fail(ps, FBQ_EINCLUDE, st->line, st->col,
                    "includes nested deeper than %d levels (an include cycle?) at \"%s\"", maxd, name);
    if (!strcmp(name, "stdgates.inc")) return include_stdgates(ps, st);
    char *path = NULL;
    if (ps->dir) {
        if (name[0] == '/') {
            if (path_exists(name)) path = fbq_xstrdup(name);
        } else {
            char *cand = fbq_xmalloc(strlen(ps->dir) + strlen(name) + 2);
            sprintf(cand, "%s/%s", ps->dir, name);
            if (path_exists(cand)) path = cand;
            else free(cand);
            for (int i = 0; !path && ps->opt && ps->opt->include_dirs && ps->opt->include_dirs[i]; i++) {
                const char *d = ps->opt->include_dirs[i];
                cand = fbq_xmalloc(strlen(d) + strlen(name) + 2);
                sprintf(cand, "%s/%s", d, name);
                if (path_exists(cand)) path = cand;
                else free(cand);
            }
        }
    }
    const char *text;
    size_t len;
    char *owned = NULL, *ndir = NULL;
    int embedded = 0;
    char *ident = NULL;
    if (path) {
        char why[1400];
        owned = fbq_read_include(&ps->roots, path, FBQ_MAX_INCLUDE_SIZE, &len, &ident, why, sizeof why);
        if (!owned) {
            int rc = fail(ps, FBQ_EINCLUDE, st->line, st->col, "cannot include \"%s\": %s", name, why);
            free(path);
            return rc;
        }
        if (len > FBQ_MAX_PROGRAM_SIZE - ps->include_bytes) {
            int rc = fail(ps, FBQ_EINCLUDE, st->line, st->col,
                          "cannot include \"%s\": the program's includes together pass %u bytes (16 MiB)", name,
                          FBQ_MAX_PROGRAM_SIZE);
            free(path);
            free(ident);
            free(owned);
            return rc;
        }
        for (int i = 0; i < ps->nstack; i++)
            if (!strcmp(ps->stack[i], ident)) {
                int rc = fail(ps, FBQ_EINCLUDE, st->line, st->col,
                              "include cycle: \"%s\" is already being read (it includes itself, "
                              "directly or through other files)", name);
                free(ident);
                free(path);
                free(owned);
                return rc;
            }
        if (already_included(p, ident)) { /* read before: like an include guard */
            free(ident);
            free(path);
            free(owned);
            return 0;
        }
        ps->include_bytes += len;
        text = owned;
        ndir = dir_of(path);
    } else if (!strcmp(name, "qelib1.inc")) {
        if (already_included(p, "<embedded>/qelib1.inc")) return 0;
        /* Qiskit's extended header unless the caller asked for the
         * OpenQASM 2.0 standard one */
        int strict = ps->opt && ps->opt->strict_qelib;
        text = strict ? fbq_hdr_qelib1 : fbq_hdr_qelib1_qiskit;
        len = strict ? fbq_hdr_qelib1_len : fbq_hdr_qelib1_qiskit_len;
        ps->qelib1 = strict ? QL_STANDARD : QL_QISKIT;
        embedded = strict ? 1 : 2;
    } else {
        if (!ps->dir)
            return fail(ps, FBQ_EINCLUDE, st->line, st->col,
                        "cannot include \"%s\": only the standard headers qelib1.inc and stdgates.inc "
                        "can be included here", name);
        return fail(ps, FBQ_EINCLUDE, st->line, st->col, "include file \"%s\" not found (looked in %s%s)",
                    name, ps->dir, ps->opt && ps->opt->include_dirs && ps->opt->include_dirs[0] ? " and the include directories" : "");
    }
    if (path && !strcmp(name, "qelib1.inc") && ps->qelib1 == QL_NONE) ps->qelib1 = QL_FILE;
    int file = file_add(p, path ? path : name);
    free(path);
    if (!embedded) {
        /* only text can be OpenQASM: refuse anything else before reading a
         * token of it */
        int bl, bc;
        if (fbq_text_check(text, len, &bl, &bc)) {
            ps->failed = 1;
            if (ps->err)
                fbq_seterr(ps->err, FBQ_EINCLUDE, p->files[file], bl, bc,
                           "not an OpenQASM file: a NUL or control byte or invalid UTF-8 here (included at "
                           "%s:%d; the file's text is not shown)", fname(ps, ps->L.file), st->line);
            free(ident);
            free(owned);
            free(ndir);
            return -1;
        }
    }
    /* save the including file's lexer */
    lexer saveL = ps->L;
    tok savet = ps->cur;
    const char *savedir = ps->dir, *savehdr = ps->header;
    int saveemb = ps->header_embedded, savefirst = ps->first_stmt;
    int pl = ps->prev_end_line, pc = ps->prev_end_col;
    int saveecho = ps->echo_ok, savefrom = ps->from_file, savefromline = ps->from_line;
    int saveqk = ps->in_qiskit;
    ps->depth++;
    if (ident && ps->nstack < 64) ps->stack[ps->nstack++] = ident;
    else free(ident);
    ps->header = fbq_arena_strndup(&p->arena, name, strlen(name));
    ps->header_embedded = embedded != 0;
    ps->in_qiskit = embedded == 2;
    ps->echo_ok = embedded != 0;
    ps->from_file = ps->L.file;
    ps->from_line = st->line;
    int rc = parse_file(ps, text, len, file, ndir ? ndir : NULL);
    if (ident && ps->nstack > 0 && ps->stack[ps->nstack - 1] == ident) free(ps->stack[--ps->nstack]);
    ps->depth--;
    ps->header = savehdr;
    ps->header_embedded = saveemb;
    ps->dir = savedir;
    ps->first_stmt = savefirst;
    ps->echo_ok = saveecho;
    ps->in_qiskit = saveqk;
    ps->from_file = savefrom;
    ps->from_line = savefromline;
    if (!ps->failed) {
        ps->L = saveL;
        ps->cur = savet;
        ps->prev_end_line = pl;
        ps->prev_end_col = pc;
    }
    free(owned);
    free(ndir);
    return rc;
}

/* Parses one file's statements. dir: where its includes resolve (NULL: no
 * filesystem). */
static int parse_file(parser *ps, const char *src, size_t len, int file, const char *dir)
{
    ps->L.src = src;
    ps->L.len = len;
    ps->L.pos = 0;
    ps->L.line = 1;
    ps->L.col = 1;
    ps->L.file = file;
    ps->dir = dir;
    ps->first_stmt = 1;
    memset(&ps->cur, 0, sizeof ps->cur);
    ps->cur.end_line = 1;
    ps->cur.end_col = 1;
    /* a UTF-8 byte order mark is not part of the program */
    if (len >= 3 && !memcmp(src, "\xef\xbb\xbf", 3)) ps->L.pos = 3;
    if (next(ps)) return -1;
    while (ps->cur.k != T_EOF) {
        if (parse_statement(ps, 0, NULL)) return -1;
        ps->echo_ok = 1;
    }
    return 0;
}

fbq_program *fbq_parse(const char *name, const char *src, size_t len,
                       const fbq_parse_options *opt, fbq_error *err)
{
    if (err) memset(err, 0, sizeof *err);
    fbq_program *p = fbq_xcalloc(1, sizeof *p);
    p->dialect = FBQ_QASM3;
    parser ps;
    memset(&ps, 0, sizeof ps);
    ps.p = p;
    ps.opt = opt;
    ps.err = err;
    ps.echo_ok = 1;
    int file = file_add(p, name && *name ? name : "<input>");
    /* the dialect decides which built-ins exist: look at the version line */
    {
        const char *s = src;
        size_t i = 0;
        while (i < len) {
            if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n' || (unsigned char)s[i] == 0xef ||
                (unsigned char)s[i] == 0xbb || (unsigned char)s[i] == 0xbf) {
                i++;
            } else if (s[i] == '/' && i + 1 < len && s[i + 1] == '/') {
                while (i < len && s[i] != '\n') i++;
            } else if (s[i] == '/' && i + 1 < len && s[i + 1] == '*') {
                i += 2;
                while (i + 1 < len && !(s[i] == '*' && s[i + 1] == '/')) i++;
                i += 2;
            } else {
                break;
            }
        }
        if (i + 8 < len && !memcmp(s + i, "OPENQASM", 8)) {
            i += 8;
            while (i < len && (s[i] == ' ' || s[i] == '\t')) i++;
            if (i < len && s[i] == '2') p->dialect = FBQ_QASM2;
        }
    }
    add_builtins(&ps);
    if (p->dialect == FBQ_QASM2) name_add(p, "CX", 1, GATE_CX);
    else name_add(p, "gphase", 1, GATE_GPHASE);
    const char *base = opt ? opt->base_dir : NULL;
    if (base) fbq_roots_init(&ps.roots, base, opt);
    int rc = parse_file(&ps, src, len, file, base);
    fbq_roots_free(&ps.roots);
    for (int i = 0; i < ps.nstack; i++) free(ps.stack[i]);
    if (rc == 0 && fbq_lower(p, err) != 0) rc = -1;
    if (rc != 0) {
        if (err && !err->message[0])
            fbq_seterr(err, FBQ_ESYNTAX, p->files[0], 0, 0, "invalid program");
        fbq_program_free(p);
        return NULL;
    }
    return p;
}

fbq_program *fbq_parse_file(const char *path, const fbq_parse_options *opt, fbq_error *err)
{
    if (err) memset(err, 0, sizeof *err);
    char why[128];
    size_t len;
    char *src = read_all(path, &len, why, sizeof why);
    if (!src) {
        fbq_seterr(err, FBQ_EINCLUDE, path, 0, 0, "cannot read the program: %s", why);
        return NULL;
    }
    fbq_parse_options o;
    memset(&o, 0, sizeof o);
    if (opt) o = *opt;
    char *dir = dir_of(path);
    o.base_dir = dir;
    fbq_program *p = fbq_parse(path, src, len, &o, err);
    free(dir);
    free(src);
    return p;
}

void fbq_program_free(fbq_program *p)
{
    if (!p) return;
    for (int i = 0; i < p->nfiles; i++) free(p->files[i]);
    free(p->files);
    for (int i = 0; i < p->nincluded; i++) free(p->included[i]);
    free(p->included);
    for (int i = 0; i < p->nops; i++) {
        free(p->ops[i].q);
        free(p->ops[i].m);
    }
    free(p->ops);
    free(p->gates);
    free(p->regs);
    free(p->stmts);
    free(p->names);
    free(p->dynamic_why);
    fbq_arena_free(&p->arena);
    free(p);
}

fbq_dialect fbq_program_dialect(const fbq_program *p)
{
    return p->dialect;
}

int fbq_num_qubits(const fbq_program *p)
{
    return p->nqubits;
}

int fbq_num_clbits(const fbq_program *p)
{
    return p->nclbits;
}

int fbq_program_is_dynamic(const fbq_program *p, char **why)
{
    if (why) *why = p->dynamic && p->dynamic_why ? fbq_xstrdup(p->dynamic_why) : NULL;
    return p->dynamic;
}

char *fbq_outcome_layout(const fbq_program *p)
{
    fbq_sb b = {0};
    for (int i = p->nregs - 1; i >= 0; i--) {
        if (p->regs[i].quantum) continue;
        if (b.n) fbq_sb_puts(&b, " ");
        fbq_sb_puts(&b, p->regs[i].name);
    }
    return fbq_sb_steal(&b);
}
