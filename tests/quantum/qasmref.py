#!/usr/bin/python3
"""qasmref.py - an independent OpenQASM 2.0 reference simulator for the tests.

Written apart from the C library and sharing no code or data structures with
it: its own tokenizer and parser, gates known only through their definitions
(the only built-in unitaries are OpenQASM 2's U and CX, and for the
OpenQASM 3 subset the textbook matrices of the standard gates), every call
of a gate on at most three qubits turned into a dense unitary by multiplying
the dense unitaries of its body (bigger gates are expanded into their
bodies), a sparse state (a dict of the nonzero amplitudes), and exact
outcome distributions by enumerating every measurement branch (so
mid-circuit measurement, reset and `if` are exact too).

Pure Python (no numpy) so the tests need nothing beyond python3.

    qasmref.py FILE.qasm [--qelib1 PATH]   prints {"outcome": probability}
"""
import cmath
import json
import math
import os
import re
import sys

# ---------------------------------------------------------------- matrices
# A matrix is a list of rows of complex numbers; a gate on k qubits is a
# 2^k x 2^k matrix whose basis index has bit j = value of the j-th operand.


def identity(d):
    return [[1.0 + 0j if r == c else 0j for c in range(d)] for r in range(d)]


def matmul(a, b):
    n, m, p = len(a), len(b), len(b[0])
    out = [[0j] * p for _ in range(n)]
    for i in range(n):
        ai = a[i]
        oi = out[i]
        for k in range(m):
            x = ai[k]
            if x == 0:
                continue
            bk = b[k]
            for j in range(p):
                oi[j] += x * bk[j]
    return out


def embed(g, where, k):
    """Full 2^k matrix of gate g acting on local operand positions `where`."""
    kg = len(where)
    d = 1 << k
    out = [[0j] * d for _ in range(d)]
    for c in range(d):
        sub_c = 0
        for j, w in enumerate(where):
            sub_c |= ((c >> w) & 1) << j
        rest = c
        for w in where:
            rest &= ~(1 << w)
        for sub_r in range(1 << kg):
            v = g[sub_r][sub_c]
            if v == 0:
                continue
            r = rest
            for j, w in enumerate(where):
                r |= ((sub_r >> j) & 1) << w
            out[r][c] += v
    return out


def u_matrix(theta, phi, lam):
    # OpenQASM 2: U(theta,phi,lambda) = Rz(phi) Ry(theta) Rz(lambda)
    c, s = math.cos(theta / 2), math.sin(theta / 2)
    return [[cmath.exp(-0.5j * (phi + lam)) * c, -cmath.exp(-0.5j * (phi - lam)) * s],
            [cmath.exp(0.5j * (phi - lam)) * s, cmath.exp(0.5j * (phi + lam)) * c]]


def u3conv(t, p, l):
    # OpenQASM 3: U = [[c, -e^{il} s], [e^{ip} s, e^{i(p+l)} c]]
    c, s = math.cos(t / 2), math.sin(t / 2)
    return [[c, -cmath.exp(1j * l) * s], [cmath.exp(1j * p) * s, cmath.exp(1j * (p + l)) * c]]


def dagger(m):
    return [[m[c][r].conjugate() for c in range(len(m))] for r in range(len(m))]


def negcontrolled(m):
    d = len(m)
    out = [[0j] * (2 * d) for _ in range(2 * d)]
    for r in range(2 * d):
        for c in range(2 * d):
            if (r & 1) != (c & 1):
                continue
            if not r & 1:
                out[r][c] = m[r >> 1][c >> 1]
            elif r == c:
                out[r][c] = 1
    return out


def with_modifiers(m, mods):
    for kind, arg in reversed(mods):
        if kind == 'inv':
            m = dagger(m)
        elif kind == 'pow':
            k = int(round(arg))
            if abs(arg - k) > 1e-9:
                raise QasmError('the reference does only integer pow')
            base = dagger(m) if k < 0 else m
            m = identity(len(m))
            for _ in range(abs(k)):
                m = matmul(base, m)
        else:
            for _ in range(arg):
                m = controlled(m) if kind == 'ctrl' else negcontrolled(m)
    return m


CX = [[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0], [0, 1, 0, 0]]  # bit0 control, bit1 target


def controlled(m):
    """Control on operand 0; the old operands shift up by one."""
    d = len(m)
    out = [[0j] * (2 * d) for _ in range(2 * d)]
    for r in range(2 * d):
        for c in range(2 * d):
            if (r & 1) != (c & 1):
                continue
            if r & 1:
                out[r][c] = m[r >> 1][c >> 1]
            elif r == c:
                out[r][c] = 1
    return out


def std3():
    """Textbook matrices of the OpenQASM 3 standard gates (for the
    converted programs only)."""
    h = 1 / math.sqrt(2)
    one = {
        'x': lambda: [[0, 1], [1, 0]],
        'y': lambda: [[0, -1j], [1j, 0]],
        'z': lambda: [[1, 0], [0, -1]],
        'h': lambda: [[h, h], [h, -h]],
        's': lambda: [[1, 0], [0, 1j]],
        'sdg': lambda: [[1, 0], [0, -1j]],
        't': lambda: [[1, 0], [0, cmath.exp(1j * math.pi / 4)]],
        'tdg': lambda: [[1, 0], [0, cmath.exp(-1j * math.pi / 4)]],
        'sx': lambda: [[0.5 + 0.5j, 0.5 - 0.5j], [0.5 - 0.5j, 0.5 + 0.5j]],
        'id': lambda: [[1, 0], [0, 1]],
        'p': lambda l: [[1, 0], [0, cmath.exp(1j * l)]],
        'phase': lambda l: [[1, 0], [0, cmath.exp(1j * l)]],
        'u1': lambda l: [[1, 0], [0, cmath.exp(1j * l)]],
        'rx': lambda t: [[math.cos(t / 2), -1j * math.sin(t / 2)], [-1j * math.sin(t / 2), math.cos(t / 2)]],
        'ry': lambda t: [[math.cos(t / 2), -math.sin(t / 2)], [math.sin(t / 2), math.cos(t / 2)]],
        'rz': lambda t: [[cmath.exp(-0.5j * t), 0], [0, cmath.exp(0.5j * t)]],
        'u2': lambda p, l: u_matrix(math.pi / 2, p, l),
        'u3': lambda t, p, l: u_matrix(t, p, l),
        'U': lambda t, p, l: u_matrix(t, p, l),
    }
    g = {}
    for k, f in one.items():
        g[k] = (f, 1)
    for k in ['x', 'y', 'z', 'h']:
        g['c' + k] = ((lambda f: lambda *a: controlled(f(*a)))(one[k]), 2)
    g['CX'] = g['cx']
    for k, base in [('cp', 'p'), ('cphase', 'p'), ('crx', 'rx'), ('cry', 'ry'), ('crz', 'rz')]:
        g[k] = ((lambda f: lambda *a: controlled(f(*a)))(one[base]), 2)
    sw = [[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]]
    g['swap'] = (lambda: sw, 2)
    g['ccx'] = (lambda: controlled(controlled(one['x']())), 3)
    g['cswap'] = (lambda: controlled(sw), 3)
    # cu: controlled e^{i gamma} U(theta, phi, lambda), U in the OpenQASM 3
    # convention
    g['cu'] = (lambda t, p, l, gm: controlled([[cmath.exp(1j * gm) * x for x in row] for row in u3conv(t, p, l)]), 2)
    return g


# ---------------------------------------------------------------- parsing

TOKEN = re.compile(r'''
    (?P<ws>\s+|//[^\n]*|/\*.*?\*/)
  | (?P<real>(\d+\.\d*|\.\d+)([eE][-+]?\d+)?|\d+[eE][-+]?\d+)
  | (?P<int>\d+)
  | (?P<str>"[^"\n]*")
  | (?P<id>[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)
  | (?P<op>->|==|\*\*|[;,()\[\]{}+\-*/^@=])
''', re.X | re.S)


class QasmError(Exception):
    pass


def tokenize(text):
    out, pos = [], 0
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m:
            raise QasmError('bad character %r at offset %d' % (text[pos], pos))
        pos = m.end()
        if m.lastgroup != 'ws':
            out.append((m.lastgroup, m.group()))
    out.append(('eof', ''))
    return out


FUNCS = {'sin': math.sin, 'cos': math.cos, 'tan': math.tan, 'exp': math.exp,
         'ln': math.log, 'log': math.log, 'sqrt': math.sqrt}
CONSTS = {'pi': math.pi, '\u03c0': math.pi, 'tau': 2 * math.pi, '\u03c4': 2 * math.pi,
          'euler': math.e}


class Program:
    def __init__(self, qelib1):
        self.qelib1 = qelib1
        self.gates = {}      # name -> ('def', params, qargs, body) | ('mat', fn, nq)
        self.qregs = []      # (name, size) in declaration order
        self.cregs = []
        self.ops = []        # ('gate', matrix, qubits, cond) | ('measure', q, c, cond) | ('reset', q, cond)
        self.v3 = False

    # -- registers
    def qoff(self, name):
        off = 0
        for n, s in self.qregs:
            if n == name:
                return off, s
            off += s
        raise QasmError('undefined qreg ' + name)

    def coff(self, name):
        off = 0
        for n, s in self.cregs:
            if n == name:
                return off, s
            off += s
        raise QasmError('undefined creg ' + name)

    def nq(self):
        return sum(s for _, s in self.qregs)

    def nc(self):
        return sum(s for _, s in self.cregs)


class Parser:
    def __init__(self, prog, text, base):
        self.p = prog
        self.t = tokenize(text)
        self.i = 0
        self.base = base

    def peek(self, k=0):
        return self.t[self.i + k]

    def next(self):
        tok = self.t[self.i]
        self.i += 1
        return tok

    def expect(self, v):
        tok = self.next()
        if tok[1] != v:
            raise QasmError('expected %r got %r' % (v, tok[1]))
        return tok

    # expressions -> Python closures of the parameter environment
    def expr(self):
        a = self.term()
        while self.peek()[1] in ('+', '-'):
            op = self.next()[1]
            b = self.term()
            a = (lambda a, b: lambda e: a(e) + b(e))(a, b) if op == '+' else \
                (lambda a, b: lambda e: a(e) - b(e))(a, b)
        return a

    def term(self):
        a = self.unary()
        while self.peek()[1] in ('*', '/'):
            op = self.next()[1]
            b = self.unary()
            a = (lambda a, b: lambda e: a(e) * b(e))(a, b) if op == '*' else \
                (lambda a, b: lambda e: a(e) / b(e))(a, b)
        return a

    def unary(self):
        if self.peek()[1] == '-':
            self.next()
            a = self.unary()
            return lambda e: -a(e)
        if self.peek()[1] == '+':
            self.next()
            return self.unary()
        a = self.atom()
        if self.peek()[1] in ('^', '**'):
            self.next()
            b = self.unary()
            return lambda e: a(e) ** b(e)
        return a

    def atom(self):
        kind, v = self.next()
        if kind in ('int', 'real'):
            x = float(v)
            return lambda e: x
        if v == '(':
            a = self.expr()
            self.expect(')')
            return a
        if kind == 'id':
            if v in CONSTS:
                x = CONSTS[v]
                return lambda e: x
            if v in FUNCS:
                f = FUNCS[v]
                self.expect('(')
                a = self.expr()
                self.expect(')')
                return lambda e: f(a(e))
            return lambda e: e[v]
        raise QasmError('bad expression token ' + v)

    def arglist_names(self):
        names = [self.next()[1]]
        while self.peek()[1] == ',':
            self.next()
            names.append(self.next()[1])
        return names

    def operand(self):
        name = self.next()[1]
        idx = None
        if self.peek()[1] == '[':
            self.next()
            idx = int(self.next()[1])
            self.expect(']')
        return (name, idx)

    def call_head(self, first):
        """Modifiers, gate name and parameter expressions of a gate call
        whose first token `first` was already read."""
        mods = []
        v = first
        while v in ('ctrl', 'negctrl', 'inv', 'pow'):
            arg = 1
            if self.peek()[1] == '(':
                self.next()
                e = self.expr()
                self.expect(')')
                arg = e({})
                if v != 'pow':
                    arg = int(arg)
            mods.append((v, arg))
            self.expect('@')
            v = self.next()[1]
        pe = []
        if self.peek()[1] == '(':
            self.next()
            while self.peek()[1] != ')':
                pe.append(self.expr())
                if self.peek()[1] == ',':
                    self.next()
            self.next()
        return mods, v, pe

    def run(self):
        while self.peek()[0] != 'eof':
            self.statement(None)

    def statement(self, cond):
        p = self.p
        kind, v = self.next()
        if v == 'OPENQASM':
            ver = self.next()[1]
            p.v3 = ver.startswith('3')
            self.expect(';')
        elif v == 'include':
            name = self.next()[1][1:-1]
            self.expect(';')
            if name == 'stdgates.inc':
                for k, (f, nq) in std3().items():
                    p.gates[k] = ('mat', f, nq)
                return
            local = os.path.join(self.base, name)
            if os.path.exists(local):
                path = local
            elif name == 'qelib1.inc':
                path = p.qelib1
            else:
                raise QasmError('missing include ' + name)
            with open(path, encoding='utf-8') as f:
                Parser(p, f.read(), os.path.dirname(path)).run()
        elif v in ('qreg', 'creg', 'qubit', 'bit'):
            if v in ('qreg', 'creg'):
                name = self.next()[1]
                self.expect('[')
                size = int(self.next()[1])
                self.expect(']')
            else:
                size = 1
                if self.peek()[1] == '[':
                    self.next()
                    size = int(self.next()[1])
                    self.expect(']')
                name = self.next()[1]
            (p.qregs if v in ('qreg', 'qubit') else p.cregs).append((name, size))
            if self.peek()[1] == '=':
                self.next()
                self.expect('measure')
                q = self.operand()
                self.measure(q, (name, None), cond)
            self.expect(';')
        elif v in ('gate', 'opaque'):
            name = self.next()[1]
            params = []
            if self.peek()[1] == '(':
                self.next()
                while self.peek()[1] != ')':
                    params.append(self.next()[1])
                    if self.peek()[1] == ',':
                        self.next()
                self.next()
            qargs = self.arglist_names()
            if v == 'opaque':
                self.expect(';')
                p.gates[name] = ('opaque',)
                return
            self.expect('{')
            body = []
            while self.peek()[1] != '}':
                bk, bv = self.next()
                if bv == 'barrier':
                    while self.next()[1] != ';':
                        pass
                    continue
                mods, gname, pe = self.call_head(bv)
                args = self.arglist_names() if self.peek()[1] != ';' else []
                self.expect(';')
                body.append((mods, gname, pe, args))
            self.next()
            p.gates[name] = ('def', params, qargs, body)
        elif v == 'if':
            self.expect('(')
            reg = self.next()[1]
            self.expect('==')
            val = int(self.next()[1])
            self.expect(')')
            if self.peek()[1] == '{':
                self.next()
                while self.peek()[1] != '}':
                    self.statement((reg, val))
                self.next()
            else:
                self.statement((reg, val))
        elif v == 'measure':
            q = self.operand()
            c = None
            if self.peek()[1] == '->':
                self.next()
                c = self.operand()
            self.expect(';')
            self.measure(q, c, cond)
        elif v == 'reset':
            q = self.operand()
            self.expect(';')
            for qi in self.qubits(q):
                p.ops.append(('reset', qi, cond))
        elif v == 'barrier':
            while self.next()[1] != ';':
                pass
        elif kind == 'id' and self.peek()[1] in ('=', '['):
            self.i -= 1
            c = self.operand()
            self.expect('=')
            self.expect('measure')
            q = self.operand()
            self.expect(';')
            self.measure(q, c, cond)
        elif kind == 'id':
            mods, v, pe = self.call_head(v)
            ops = []
            if self.peek()[1] != ';':
                ops = [self.operand()]
                while self.peek()[1] == ',':
                    self.next()
                    ops.append(self.operand())
            self.expect(';')
            vals = [f({}) for f in pe]
            if not ops:
                return  # a global phase
            n = max([self.p.qoff(o[0])[1] if o[1] is None else 1 for o in ops])
            for b in range(n):
                qs = []
                for (name, idx) in ops:
                    off, size = self.p.qoff(name)
                    qs.append(off + (idx if idx is not None else b))
                for m, where in self.expand(v, vals, mods, qs):
                    p.ops.append(('gate', m, where, cond))
        else:
            raise QasmError('unexpected ' + v)

    def qubits(self, op):
        off, size = self.p.qoff(op[0])
        return [off + op[1]] if op[1] is not None else [off + i for i in range(size)]

    def measure(self, q, c, cond):
        qs = self.qubits(q)
        if c is None:
            cs = [None] * len(qs)
        else:
            off, size = self.p.coff(c[0])
            cs = [off + c[1]] if c[1] is not None else [off + i for i in range(size)]
        for qi, ci in zip(qs, cs):
            self.p.ops.append(('measure', qi, ci, cond))

    def expand(self, name, vals, mods, qs):
        """(matrix, qubits) pairs for a gate call: gates on at most 3 qubits
        (or with modifiers) as one dense unitary built from the definition,
        bigger ones by their bodies."""
        g = self.p.gates.get(name)
        if mods or not g or g[0] != 'def' or len(g[2]) <= 3:
            return [(with_modifiers(self.gate_matrix(name, vals), mods), qs)]
        _, params, qargs, body = g
        env = dict(zip(params, vals))
        out = []
        for bmods, gname, pe, args in body:
            if not args:
                continue  # a global phase
            out += self.expand(gname, [f(env) for f in pe], bmods, [qs[qargs.index(a)] for a in args])
        return out

    def gate_matrix(self, name, vals):
        """Dense unitary of a gate call, from its definition."""
        if name == 'U':
            return u3conv(*vals) if self.p.v3 else u_matrix(*vals)
        if name == 'gphase':
            return [[cmath.exp(1j * vals[0])]]
        if name == 'CX' and 'CX' not in self.p.gates:
            return CX
        g = self.p.gates[name]
        if g[0] == 'opaque':
            raise QasmError('opaque gate ' + name)
        if g[0] == 'mat':
            return [[complex(x) for x in row] for row in g[1](*vals)]
        _, params, qargs, body = g
        env = dict(zip(params, vals))
        k = len(qargs)
        m = identity(1 << k)
        for mods, gname, pe, args in body:
            sub = with_modifiers(self.gate_matrix(gname, [f(env) for f in pe]), mods)
            if not args:  # gphase
                m = [[x * sub[0][0] for x in row] for row in m]
                continue
            where = [qargs.index(a) for a in args]
            m = matmul(embed(sub, where, k), m)
        return m


# ---------------------------------------------------------------- simulation

def apply(state, m, qs):
    """A gate on a sparse state (dict basis index -> amplitude): each
    amplitude feeds the nonzero entries of its column of the gate."""
    cols = [[(r, m[r][c]) for r in range(len(m)) if m[r][c] != 0] for c in range(len(m))]
    mask = 0
    for q in qs:
        mask |= 1 << q
    out = {}
    for i, a in state.items():
        sub = 0
        for b, q in enumerate(qs):
            sub |= ((i >> q) & 1) << b
        rest = i & ~mask
        for r, v in cols[sub]:
            j = rest
            for b, q in enumerate(qs):
                if (r >> b) & 1:
                    j |= 1 << q
            out[j] = out.get(j, 0j) + v * a
    return {i: a for i, a in out.items() if abs(a) > 1e-17}


def distribution(prog):
    """Exact distribution over outcome strings, by branching on every
    measurement and reset."""
    n, nc = prog.nq(), prog.nc()
    ops = list(prog.ops)
    # no measurement into a classical bit: every qubit is read at the end
    implicit = not any(o[0] == 'measure' and o[2] is not None for o in ops)
    if implicit:
        ops += [('measure', q, q, None) for q in range(n)]
        nbits, regs = n, prog.qregs
    else:
        nbits, regs = nc, prog.cregs
    state = {0: 1 + 0j}
    branches = [(1.0, state, [0] * nbits)]
    for op in ops:
        cond = op[-1]
        nb = []
        for prob, st, cl in branches:
            if cond is not None:
                off, size = prog.coff(cond[0])
                val = sum(cl[off + i] << i for i in range(size))
                if val != cond[1]:
                    nb.append((prob, st, cl))
                    continue
            if op[0] == 'gate':
                nb.append((prob, apply(st, op[1], op[2]), cl))
                continue
            q = op[1]
            p1 = sum(abs(a) ** 2 for i, a in st.items() if (i >> q) & 1)
            for outcome, po in ((0, 1 - p1), (1, p1)):
                if po < 1e-14:
                    continue
                f = 1 / math.sqrt(po)
                ns = {i: a * f for i, a in st.items() if ((i >> q) & 1) == outcome}
                ncl = list(cl)
                if op[0] == 'measure' and op[2] is not None:
                    ncl[op[2]] = outcome
                if op[0] == 'reset' and outcome == 1:
                    ns = {i & ~(1 << q): a for i, a in ns.items()}
                nb.append((prob * po, ns, ncl))
        branches = nb
    dist = {}
    for prob, st, cl in branches:
        parts = []
        off = 0
        offs = []
        for name, size in regs:
            offs.append((off, size))
            off += size
        for off, size in reversed(offs):
            parts.append(''.join(str(cl[off + b]) for b in reversed(range(size))))
        key = ' '.join(parts)
        dist[key] = dist.get(key, 0.0) + prob
    return dist


def load(path, qelib1):
    prog = Program(qelib1)
    with open(path, encoding='utf-8') as f:
        Parser(prog, f.read(), os.path.dirname(os.path.abspath(path))).run()
    return prog


def main():
    args = sys.argv[1:]
    qelib1 = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'quantum', 'qelib1.inc')
    if '--qelib1' in args:
        i = args.index('--qelib1')
        qelib1 = args[i + 1]
        del args[i:i + 2]
    print(json.dumps(distribution(load(args[0], qelib1)), sort_keys=True, indent=1))


if __name__ == '__main__':
    main()
