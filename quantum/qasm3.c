/* qasm3.c - OpenQASM 2 -> 3 conversion in the dialect Amazon Braket's
 * simulator reads: stdgates.inc names, qubit[]/bit[] declarations,
 * `c = measure q;`, braced `if` bodies. */
#include "config.h"
#include "fbq_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Words a converted program must not use as names. */
static const char *reserved3[] = {
    "OPENQASM", "include", "defcalgrammar", "def", "cal", "defcal", "gate", "extern", "box", "let",
    "break", "continue", "if", "else", "end", "return", "for", "while", "in", "switch", "case",
    "default", "input", "output", "const", "readonly", "mutable", "qreg", "qubit", "creg", "bool",
    "bit", "int", "uint", "float", "angle", "complex", "array", "void", "duration", "stretch",
    "gphase", "inv", "pow", "ctrl", "negctrl", "dim", "durationof", "delay", "reset", "measure",
    "barrier", "true", "false", "pi", "tau", "euler", "sin", "cos", "tan", "arcsin", "arccos",
    "arctan", "exp", "log", "ln", "sqrt", "ceiling", "floor", "mod", "popcount", "rotl", "rotr",
    "sizeof", "real", "imag", "U", "opaque", "pragma", "dt", "ns", "us", "ms", "s", NULL};

/* qelib1.inc names whose OpenQASM 3 counterpart has another name. */
static const struct { const char *from, *to; } renames[] = {{"cu1", "cp"}, {NULL, NULL}};

typedef struct conv {
    const fbq_program *p;
    fbq_error *err;
    fbq_sb out;
    char **gname;         /* output name per gate (NULL: not used) */
    int *gstd;            /* 1 when mapped to a standard gate */
    char **rname;         /* output name per register */
    char **taken;         /* names used in the output */
    int ntaken;
} conv;

static int is_taken(const conv *c, const char *name)
{
    for (int i = 0; reserved3[i]; i++)
        if (!strcmp(reserved3[i], name)) return 1;
    if (fbq_std_find(name) >= 0) return 1;
    for (int i = 0; i < c->ntaken; i++)
        if (!strcmp(c->taken[i], name)) return 1;
    return 0;
}

/* A name free in the output: the original or with '_' appended. */
static char *claim(conv *c, const char *want)
{
    char *name = fbq_xstrdup(want);
    while (is_taken(c, name)) {
        size_t n = strlen(name);
        name = fbq_xrealloc(name, n + 2);
        name[n] = '_';
        name[n + 1] = '\0';
    }
    c->taken = fbq_xrealloc(c->taken, (size_t)(c->ntaken + 1) * sizeof *c->taken);
    c->taken[c->ntaken++] = fbq_xstrdup(name);
    return name;
}

/* Local names (parameters, qubit arguments) only avoid keywords. */
static char *local_name(const char *want)
{
    char *name = fbq_xstrdup(want);
    for (int i = 0; reserved3[i]; i++) {
        if (!strcmp(reserved3[i], name)) {
            size_t n = strlen(name);
            name = fbq_xrealloc(name, n + 2);
            name[n] = '_';
            name[n + 1] = '\0';
            i = -1;
        }
    }
    return name;
}

/* Same matrix up to a global phase, for a few parameter values: then the
 * standard gate can stand in for the header's definition. */
static int same_as_std(const fbq_program *p, const fbq_gate *g, int id)
{
    const fbq_stdgate *sg = fbq_std_get(id);
    if (sg->nparams != g->nparams || sg->nqubits != g->nqubits) return 0;
    static const double trial[3][4] = {{0.37, 1.91, -2.3, 0.61}, {2.9, -0.77, 1.3, -1.7}, {-1.1, 0.2, 3.0, 2.2}};
    size_t D = (size_t)1 << g->nqubits;
    fbq_c *sm = fbq_xmalloc(D * D * sizeof *sm);
    int ok = 1;
    for (int t = 0; t < 3 && ok; t++) {
        int k;
        char why[300];
        fbq_c *gm = fbq_gate_matrix(p, g, trial[t], NULL, 0, NULL, &k, why, sizeof why);
        if (!gm || k != g->nqubits) {
            free(gm);
            ok = 0;
            break;
        }
        fbq_std_matrix(id, trial[t], sm);
        size_t best = 0;
        for (size_t i = 1; i < D * D; i++)
            if (hypot(sm[i].re, sm[i].im) > hypot(sm[best].re, sm[best].im)) best = i;
        /* phase = gm[best] / sm[best] */
        double den = sm[best].re * sm[best].re + sm[best].im * sm[best].im;
        fbq_c ph = fbq_cmul(gm[best], fbq_cconj(sm[best]));
        ph.re /= den;
        ph.im /= den;
        for (size_t i = 0; i < D * D && ok; i++) {
            fbq_c v = fbq_cmul(sm[i], ph);
            if (fabs(v.re - gm[i].re) > 1e-9 || fabs(v.im - gm[i].im) > 1e-9) ok = 0;
        }
        free(gm);
    }
    free(sm);
    return ok;
}

static int mark_gate(conv *c, int gi);

static int mark_body(conv *c, const fbq_gate *g)
{
    for (int i = 0; i < g->nbody; i++)
        if (g->body[i].kind == ST_GATE && mark_gate(c, g->body[i].gate)) return -1;
    return 0;
}

/* Decides the output name of gate gi and of what it needs. */
static int mark_gate(conv *c, int gi)
{
    if (c->gname[gi]) return 0;
    const fbq_gate *g = c->p->gates[gi];
    switch (g->kind) {
    case GK_U: c->gname[gi] = fbq_xstrdup("U"); c->gstd[gi] = 1; return 0;
    case GK_CX: c->gname[gi] = fbq_xstrdup("cx"); c->gstd[gi] = 1; return 0;
    case GK_GPHASE: c->gname[gi] = fbq_xstrdup("gphase"); c->gstd[gi] = 1; return 0;
    case GK_STD: c->gname[gi] = fbq_xstrdup(g->name); c->gstd[gi] = 1; return 0;
    case GK_OPAQUE:
        fbq_seterr(c->err, FBQ_EUNSUPPORTED, c->p->files[g->file], g->line, g->col,
                   "opaque gate '%s' is used but cannot be converted: OpenQASM 3 has no opaque gates",
                   g->name);
        return -1;
    default: break;
    }
    if (g->header) {
        const char *to = g->name;
        for (int i = 0; renames[i].from; i++)
            if (!strcmp(renames[i].from, g->name)) to = renames[i].to;
        int id = fbq_std_find(to);
        if (id >= 0 && same_as_std(c->p, g, id)) {
            c->gname[gi] = fbq_xstrdup(to);
            c->gstd[gi] = 1;
            return 0;
        }
    }
    if (mark_body(c, g)) return -1;
    c->gname[gi] = claim(c, g->name);
    return 0;
}

static const char *fn_name(int fn)
{
    switch (fn) {
    case FN_SIN: return "sin";
    case FN_COS: return "cos";
    case FN_TAN: return "tan";
    case FN_EXP: return "exp";
    case FN_LN: return "log";
    case FN_SQRT: return "sqrt";
    case FN_ASIN: return "arcsin";
    case FN_ACOS: return "arccos";
    case FN_ATAN: return "arctan";
    }
    return "?";
}

static int is_atom(const fbq_expr *e)
{
    return e->kind == EX_NUM || e->kind == EX_PARAM || e->kind == EX_FUNC;
}

static void put_expr(conv *c, const fbq_expr *e, char **pnames)
{
    fbq_sb *b = &c->out;
    switch (e->kind) {
    case EX_NUM:
        if (e->konst == K_PI) fbq_sb_puts(b, "pi");
        else if (e->konst == K_TAU) fbq_sb_puts(b, "tau");
        else if (e->konst == K_EULER) fbq_sb_puts(b, "euler");
        else if (e->text) {
            if (e->text[0] == '.') fbq_sb_puts(b, "0");
            fbq_sb_puts(b, e->text);
        } else {
            fbq_sb_printf(b, "%.17g", e->num);
        }
        return;
    case EX_PARAM: fbq_sb_puts(b, pnames[e->param]); return;
    case EX_FUNC:
        fbq_sb_printf(b, "%s(", fn_name(e->fn));
        put_expr(c, e->a, pnames);
        fbq_sb_puts(b, ")");
        return;
    case EX_NEG:
        fbq_sb_puts(b, "-");
        if (!is_atom(e->a)) fbq_sb_puts(b, "(");
        put_expr(c, e->a, pnames);
        if (!is_atom(e->a)) fbq_sb_puts(b, ")");
        return;
    default: {
        const char *op = e->kind == EX_ADD ? " + " : e->kind == EX_SUB ? " - " : e->kind == EX_MUL ? "*" :
                         e->kind == EX_DIV ? "/" : "**";
        for (int side = 0; side < 2; side++) {
            const fbq_expr *x = side ? e->b : e->a;
            if (side) fbq_sb_puts(b, op);
            if (!is_atom(x)) fbq_sb_puts(b, "(");
            put_expr(c, x, pnames);
            if (!is_atom(x)) fbq_sb_puts(b, ")");
        }
    }
    }
}

static void put_arg(conv *c, const fbq_arg *a, char **qnames)
{
    if (a->reg < 0) {
        fbq_sb_puts(&c->out, qnames[a->index]);
        return;
    }
    const fbq_reg *r = &c->p->regs[a->reg];
    if (!strcmp(r->name, "$")) {
        fbq_sb_printf(&c->out, "$%d", a->index);
        return;
    }
    fbq_sb_puts(&c->out, c->rname[a->reg]);
    if (a->index >= 0) fbq_sb_printf(&c->out, "[%d]", a->index);
}

static void put_call(conv *c, const fbq_stmt *s, char **pnames, char **qnames)
{
    for (int i = 0; i < s->nmods; i++) {
        const fbq_mod *m = &s->mods[i];
        if (m->kind == MOD_INV) fbq_sb_puts(&c->out, "inv @ ");
        else if (m->kind == MOD_POW) {
            fbq_sb_puts(&c->out, "pow(");
            put_expr(c, m->pow, pnames);
            fbq_sb_puts(&c->out, ") @ ");
        } else {
            fbq_sb_puts(&c->out, m->kind == MOD_CTRL ? "ctrl" : "negctrl");
            if (m->n != 1) fbq_sb_printf(&c->out, "(%d)", m->n);
            fbq_sb_puts(&c->out, " @ ");
        }
    }
    fbq_sb_puts(&c->out, c->gname[s->gate]);
    if (s->nparams) {
        fbq_sb_puts(&c->out, "(");
        for (int i = 0; i < s->nparams; i++) {
            if (i) fbq_sb_puts(&c->out, ", ");
            put_expr(c, s->params[i], pnames);
        }
        fbq_sb_puts(&c->out, ")");
    }
    for (int i = 0; i < s->nargs; i++) {
        fbq_sb_puts(&c->out, i ? ", " : " ");
        put_arg(c, &s->args[i], qnames);
    }
    fbq_sb_puts(&c->out, ";");
}

static void put_gate_def(conv *c, int gi, char *emitted)
{
    const fbq_gate *g = c->p->gates[gi];
    if (emitted[gi] || c->gstd[gi] || !c->gname[gi]) return;
    for (int i = 0; i < g->nbody; i++)
        if (g->body[i].kind == ST_GATE) put_gate_def(c, g->body[i].gate, emitted);
    emitted[gi] = 1;
    char **pn = fbq_xcalloc((size_t)(g->nparams ? g->nparams : 1), sizeof *pn);
    char **qn = fbq_xcalloc((size_t)g->nqubits, sizeof *qn);
    for (int i = 0; i < g->nparams; i++) pn[i] = local_name(g->pnames[i]);
    for (int i = 0; i < g->nqubits; i++) qn[i] = local_name(g->qnames[i]);
    if (g->header) fbq_sb_printf(&c->out, "// from %s\n", g->header);
    fbq_sb_printf(&c->out, "gate %s", c->gname[gi]);
    if (g->nparams) {
        fbq_sb_puts(&c->out, "(");
        for (int i = 0; i < g->nparams; i++) fbq_sb_printf(&c->out, "%s%s", i ? ", " : "", pn[i]);
        fbq_sb_puts(&c->out, ")");
    }
    for (int i = 0; i < g->nqubits; i++) fbq_sb_printf(&c->out, "%s%s", i ? ", " : " ", qn[i]);
    fbq_sb_puts(&c->out, " {\n");
    for (int i = 0; i < g->nbody; i++) {
        const fbq_stmt *s = &g->body[i];
        fbq_sb_puts(&c->out, "  ");
        if (s->kind == ST_BARRIER) {
            fbq_sb_puts(&c->out, "barrier");
            for (int j = 0; j < s->nargs; j++) fbq_sb_printf(&c->out, "%s%s", j ? ", " : " ", qn[s->args[j].index]);
            fbq_sb_puts(&c->out, ";");
        } else {
            put_call(c, s, pn, qn);
        }
        fbq_sb_puts(&c->out, "\n");
    }
    fbq_sb_puts(&c->out, "}\n");
    for (int i = 0; i < g->nparams; i++) free(pn[i]);
    for (int i = 0; i < g->nqubits; i++) free(qn[i]);
    free(pn);
    free(qn);
}

static void put_stmt(conv *c, const fbq_stmt *s)
{
    fbq_sb *b = &c->out;
    if (s->has_cond) {
        fbq_sb_printf(b, "if (%s", c->rname[s->cond_reg]);
        if (s->cond_bit >= 0) fbq_sb_printf(b, "[%d]", s->cond_bit);
        fbq_sb_printf(b, " == %llu) { ", (unsigned long long)s->cond_val);
    }
    switch (s->kind) {
    case ST_GATE: put_call(c, s, NULL, NULL); break;
    case ST_MEASURE:
        if (s->carg.reg >= 0) {
            put_arg(c, &s->carg, NULL);
            fbq_sb_puts(b, " = ");
        }
        fbq_sb_puts(b, "measure ");
        put_arg(c, &s->args[0], NULL);
        fbq_sb_puts(b, ";");
        break;
    case ST_RESET:
        fbq_sb_puts(b, "reset ");
        put_arg(c, &s->args[0], NULL);
        fbq_sb_puts(b, ";");
        break;
    case ST_BARRIER:
        fbq_sb_puts(b, "barrier");
        for (int i = 0; i < s->nargs; i++) {
            fbq_sb_puts(b, i ? ", " : " ");
            put_arg(c, &s->args[i], NULL);
        }
        fbq_sb_puts(b, ";");
        break;
    }
    if (s->has_cond) fbq_sb_puts(b, " }");
    fbq_sb_puts(b, "\n");
}

fbq_status fbq_to_qasm3(const fbq_program *p, char **out, fbq_error *err)
{
    if (err) memset(err, 0, sizeof *err);
    *out = NULL;
    conv c;
    memset(&c, 0, sizeof c);
    c.p = p;
    c.err = err;
    c.gname = fbq_xcalloc((size_t)p->ngates, sizeof *c.gname);
    c.gstd = fbq_xcalloc((size_t)p->ngates, sizeof *c.gstd);
    c.rname = fbq_xcalloc((size_t)(p->nregs ? p->nregs : 1), sizeof *c.rname);
    char *emitted = fbq_xcalloc((size_t)p->ngates, 1);
    fbq_status st = FBQ_OK;
    for (int i = 0; i < p->nregs; i++)
        if (strcmp(p->regs[i].name, "$") != 0) c.rname[i] = claim(&c, p->regs[i].name);
    for (int i = 0; i < p->nstmts; i++)
        if (p->stmts[i].kind == ST_GATE && mark_gate(&c, p->stmts[i].gate)) {
            st = err ? err->code : FBQ_EUNSUPPORTED;
            goto done;
        }
    fbq_sb_puts(&c.out, "OPENQASM 3.0;\ninclude \"stdgates.inc\";\n");
    if (p->dialect == FBQ_QASM2) fbq_sb_printf(&c.out, "// converted from OpenQASM 2.0 (%s)\n", p->files[0]);
    for (int i = 0; i < p->nregs; i++) {
        const fbq_reg *r = &p->regs[i];
        if (!c.rname[i]) continue;
        fbq_sb_printf(&c.out, "%s[%d] %s;\n", r->quantum ? "qubit" : "bit", r->size, c.rname[i]);
    }
    for (int i = 0; i < p->ngates; i++) put_gate_def(&c, i, emitted);
    for (int i = 0; i < p->nstmts; i++) put_stmt(&c, &p->stmts[i]);
    *out = fbq_sb_steal(&c.out);
done:
    free(c.out.d);
    for (int i = 0; i < p->ngates; i++) free(c.gname[i]);
    for (int i = 0; i < p->nregs; i++) free(c.rname[i]);
    for (int i = 0; i < c.ntaken; i++) free(c.taken[i]);
    free(c.taken);
    free(c.gname);
    free(c.gstd);
    free(c.rname);
    free(emitted);
    return st;
}
