#!/usr/bin/python3
"""Qiskit's extended qelib1.inc (issue 9, usability): `include "qelib1.inc";`
reads it by default, `--strict-qelib` the OpenQASM 2.0 standard header.

1. The copied data is right: every gate of quantum/qelib1_qiskit.inc,
   built by the independent reference simulator (qasmref.py) from its
   definition, equals up to a global phase the published matrix written
   here (the textbook matrices, and for rccx/rc3x the matrices Qiskit's
   RCCXGate/RC3XGate document); every gate of the file has one.
2. The header agrees with the OpenQASM 2.0 one on every shared gate up to
   a global phase except cu3, where Qiskit's is exactly controlled-U3 and
   the standard one has the control phase e^{-i(phi+lambda)/2}.
3. Each added gate, in a circuit of its own, gives fedbroker's exact
   probabilities = qasmref's (within 1e-9), default and after `quantum
   qasm3`; with --strict-qelib each is refused with a hint.
4. --strict-qelib switches the header: qelib1_all.qasm (which uses cu3)
   matches the standard header with it and Qiskit's without, and the two
   differ.
5. The program's own definitions win over the added gates (a gate or a
   register named like one), before or after the include.
6. QASMBench's shor_n5 (it calls cswap) runs on the embedded header alone,
   its counts consistent with qasmref's exact distribution (chi-square)."""
import cmath
import math
import os
import random
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qasmref  # noqa: E402
from qtest import (DATA, PROGRAMS, QELIB1, QELIB1_STANDARD, check, chi_square, finish,  # noqa: E402
                   run, run_json)

rng = random.Random(9)
tmp = tempfile.mkdtemp(prefix='fbq-qelib1-')


def gates_of(path):
    """name -> (parameter count, qubit count) of a header, and a parser
    whose gate_matrix builds them from their definitions."""
    prog = qasmref.Program(path)
    with open(path, encoding='utf-8') as f:
        text = f.read()
    qasmref.Parser(prog, text, os.path.dirname(path)).run()
    out = {}
    for m in re.finditer(r'^gate\s+(\w+)\s*(\(([^)]*)\))?\s*([^{]*)', text, re.M):
        np_ = len([x for x in (m.group(3) or '').split(',') if x.strip()])
        nq = len([x for x in m.group(4).split(',') if x.strip()])
        out[m.group(1)] = (np_, nq)
    return out, qasmref.Parser(prog, '', os.path.dirname(path))


# ---- published matrices ----------------------------------------------------
# A k-qubit matrix's basis index has bit j = operand j (operand 0 is the
# first argument, the control of a controlled gate).
H = 1 / math.sqrt(2)


def u3(t, p, l):
    c, s = math.cos(t / 2), math.sin(t / 2)
    return [[c, -cmath.exp(1j * l) * s], [cmath.exp(1j * p) * s, cmath.exp(1j * (p + l)) * c]]


def ph(l):
    return [[1, 0], [0, cmath.exp(1j * l)]]


def rx(t):
    return [[math.cos(t / 2), -1j * math.sin(t / 2)], [-1j * math.sin(t / 2), math.cos(t / 2)]]


def ry(t):
    return [[math.cos(t / 2), -math.sin(t / 2)], [math.sin(t / 2), math.cos(t / 2)]]


def rz(t):
    return [[cmath.exp(-0.5j * t), 0], [0, cmath.exp(0.5j * t)]]


X = [[0, 1], [1, 0]]
SX = [[0.5 + 0.5j, 0.5 - 0.5j], [0.5 - 0.5j, 0.5 + 0.5j]]
SWAP = [[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]]
I2 = [[1, 0], [0, 1]]


def ctrl(m, n=1):
    for _ in range(n):
        m = qasmref.controlled(m)
    return m


def scaled(m, z):
    return [[z * x for x in row] for row in m]


def xx(t):
    """exp(-i t/2 X(x)X) = cos(t/2) I - i sin(t/2) X(x)X."""
    c, s = math.cos(t / 2), -1j * math.sin(t / 2)
    return [[c, 0, 0, s], [0, c, s, 0], [0, s, c, 0], [s, 0, 0, c]]


def zz(t):
    """exp(-i t/2 Z(x)Z)."""
    a, b = cmath.exp(-0.5j * t), cmath.exp(0.5j * t)
    return [[a, 0, 0, 0], [0, b, 0, 0], [0, 0, b, 0], [0, 0, 0, a]]


def sparse(d, entries):
    """The d x d identity with the (row, column, value) entries set."""
    m = [[1 if r == c else 0 for c in range(d)] for r in range(d)]
    for r, c, v in entries:
        m[r][c] = v
    return m


# Qiskit's RCCXGate and RC3XGate documented matrices (qiskit/circuit/library/
# standard_gates/x.py, with_gate_array): the identity except these entries.
RCCX = sparse(8, [(3, 3, 0), (3, 7, -1j), (5, 5, -1), (7, 7, 0), (7, 3, 1j)])
RC3X = sparse(16, [(3, 3, 1j), (7, 7, 0), (7, 15, 1), (11, 11, -1j), (15, 15, 0), (15, 7, -1)])

PUBLISHED = {
    'u3': lambda t, p, l: u3(t, p, l), 'u2': lambda p, l: u3(math.pi / 2, p, l), 'u1': ph,
    'cx': lambda: ctrl(X), 'id': lambda: I2, 'u0': lambda g: I2, 'u': u3, 'p': ph,
    'x': lambda: X, 'y': lambda: [[0, -1j], [1j, 0]], 'z': lambda: [[1, 0], [0, -1]],
    'h': lambda: [[H, H], [H, -H]], 's': lambda: ph(math.pi / 2), 'sdg': lambda: ph(-math.pi / 2),
    't': lambda: ph(math.pi / 4), 'tdg': lambda: ph(-math.pi / 4), 'rx': rx, 'ry': ry, 'rz': rz,
    'sx': lambda: SX, 'sxdg': lambda: qasmref.dagger(SX),
    'cz': lambda: ctrl([[1, 0], [0, -1]]), 'cy': lambda: ctrl([[0, -1j], [1j, 0]]), 'swap': lambda: SWAP,
    'ch': lambda: ctrl([[H, H], [H, -H]]), 'ccx': lambda: ctrl(X, 2), 'cswap': lambda: ctrl(SWAP),
    'crx': lambda t: ctrl(rx(t)), 'cry': lambda t: ctrl(ry(t)), 'crz': lambda t: ctrl(rz(t)),
    'cu1': lambda l: ctrl(ph(l)), 'cp': lambda l: ctrl(ph(l)), 'cu3': lambda t, p, l: ctrl(u3(t, p, l)),
    'csx': lambda: ctrl(SX), 'cu': lambda t, p, l, g: ctrl(scaled(u3(t, p, l), cmath.exp(1j * g))),
    'rxx': xx, 'rzz': zz, 'rccx': lambda: RCCX, 'rc3x': lambda: RC3X,
    'c3x': lambda: ctrl(X, 3), 'c3sqrtx': lambda: ctrl(SX, 3), 'c4x': lambda: ctrl(X, 4),
}


def phase_distance(a, b):
    """max |a - e^{i phi} b| over the best global phase phi."""
    d = len(a)
    r, c = max(((r, c) for r in range(d) for c in range(d)), key=lambda rc: abs(b[rc[0]][rc[1]]))
    z = a[r][c] / b[r][c] if abs(b[r][c]) > 1e-12 else 1
    z = z / abs(z) if abs(z) > 1e-12 else 1
    return max(abs(a[i][j] - z * b[i][j]) for i in range(d) for j in range(d))


qiskit, qk = gates_of(QELIB1)
standard, st = gates_of(QELIB1_STANDARD)
ADDED = sorted(set(qiskit) - set(standard))
check(set(standard) <= set(qiskit), 'Qiskit\'s header has every standard gate')
check(ADDED == sorted(['u0', 'u', 'p', 'sx', 'sxdg', 'swap', 'cswap', 'crx', 'cry', 'cp', 'csx', 'cu', 'rxx',
                       'rzz', 'rccx', 'rc3x', 'c3x', 'c3sqrtx', 'c4x']), 'the added gates: %r' % ADDED)

# 1. definitions = published matrices
for name, (np_, nq) in sorted(qiskit.items()):
    if not check(name in PUBLISHED, '%s: no published matrix in this test' % name):
        continue
    worst = 0.0
    for _ in range(3):
        vals = [rng.uniform(-math.pi, math.pi) for _ in range(np_)]
        got = qk.gate_matrix(name, vals)
        want = [[complex(x) for x in row] for row in PUBLISHED[name](*vals)]
        check(len(got) == len(want) == 1 << nq, '%s: a %d-qubit matrix' % (name, nq))
        worst = max(worst, phase_distance(got, want))
    check(worst < 1e-9, '%s: the definition differs from the published matrix by %.3g' % (name, worst))
    print('ok %-8s definition = published matrix (%.1g)' % (name, worst))

# 2. the standard header's gates: the same up to a global phase but cu3
for name in sorted(standard):
    vals = [rng.uniform(-math.pi, math.pi) for _ in range(standard[name][0])]
    d = phase_distance(st.gate_matrix(name, vals), qk.gate_matrix(name, vals))
    if name == 'cu3':
        t, p, l = vals
        fixed = qasmref.matmul(ctrl(u3(t, p, l)), [[1, 0, 0, 0], [0, cmath.exp(-0.5j * (p + l)), 0, 0],
                                                   [0, 0, 1, 0], [0, 0, 0, cmath.exp(-0.5j * (p + l))]])
        check(d > 1e-3, 'cu3: the two headers differ (%.3g)' % d)
        check(phase_distance(st.gate_matrix(name, vals), fixed) < 1e-9,
              'cu3: the standard header is controlled-U3 with the control phase e^{-i(phi+lambda)/2}')
    else:
        check(d < 1e-9, '%s: the headers differ by %.3g' % (name, d))


# 3. one circuit per added gate, fedbroker against qasmref
def circuit(name, strict=False):
    np_, nq = qiskit[name]
    n = max(nq, 2)
    order = list(range(n))
    rng.shuffle(order)
    params = ', '.join('%.6f' % rng.uniform(-3, 3) for _ in range(np_))
    call = '%s%s %s;' % (name, '(%s)' % params if np_ else '', ', '.join('q[%d]' % i for i in order[:nq]))
    lines = ['OPENQASM 2.0;', 'include "qelib1.inc";', 'qreg q[%d];' % n, 'creg c[%d];' % n, 'h q;',
             'rx(0.37) q[0];', 'ry(0.81) q[%d];' % (n - 1), 'u3(0.3, 1.1, -0.4) q[%d];' % (n // 2),
             call, 'h q;', 'rz(0.6) q[1];', 'h q;', 'measure q -> c;']
    path = os.path.join(tmp, '%s.qasm' % name)
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path, 9


for name in ADDED:
    path, line = circuit(name)
    ref = qasmref.distribution(qasmref.load(path, QELIB1))
    got = run_json('quantum', 'run', path, '--probabilities')['probabilities']
    worst = max(abs(ref.get(k, 0) - got.get(k, 0)) for k in set(ref) | set(got))
    check(worst < 1e-9, '%s: fedbroker differs from qasmref by %.3g' % (name, worst))
    rc, text, err = run('quantum', 'qasm3', path)
    conv = os.path.join(tmp, '%s.q3.qasm' % name)
    with open(conv, 'w') as f:
        f.write(text)
    got3 = run_json('quantum', 'run', conv, '--probabilities')['probabilities'] if rc == 0 else {}
    ref3 = qasmref.distribution(qasmref.load(conv, QELIB1)) if rc == 0 else {}
    worst3 = max(abs(ref.get(k, 0) - got3.get(k, 0)) for k in set(ref) | set(got3))
    worst3 = max([worst3] + [abs(ref.get(k, 0) - ref3.get(k, 0)) for k in set(ref) | set(ref3)])
    check(rc == 0 and worst3 < 1e-9, '%s: after conversion to OpenQASM 3 (%d %r) differs by %.3g'
          % (name, rc, err, worst3))
    rc, out, err = run('quantum', 'run', path, '--strict-qelib')
    check(rc == 2 and out == '' and '%s:%d:1: undefined gate \'%s\'' % (os.path.basename(path), line, name) in err
          and 'drop --strict-qelib' in err, '%s with --strict-qelib: %d %r' % (name, rc, err))
    print('ok %-8s fedbroker = qasmref (%.1g), after qasm3 (%.1g), refused with --strict-qelib'
          % (name, worst, worst3))

# 4. the switch
allq = os.path.join(PROGRAMS, 'qelib1_all.qasm')
default = run_json('quantum', 'run', allq, '--probabilities')['probabilities']
strict = run_json('quantum', 'run', allq, '--probabilities', '--strict-qelib')['probabilities']
ref_q = qasmref.distribution(qasmref.load(allq, QELIB1))
ref_s = qasmref.distribution(qasmref.load(allq, QELIB1_STANDARD))


def dist(a, b):
    return max(abs(a.get(k, 0) - b.get(k, 0)) for k in set(a) | set(b))


check(dist(default, ref_q) < 1e-9, 'qelib1_all: default = Qiskit\'s header (%.3g)' % dist(default, ref_q))
check(dist(strict, ref_s) < 1e-9, 'qelib1_all: --strict-qelib = the standard header (%.3g)' % dist(strict, ref_s))
check(dist(default, strict) > 1e-3, 'qelib1_all: the headers give different results (cu3): %.3g'
      % dist(default, strict))
rc, out, err = run('quantum', 'qasm3', allq, '--strict-qelib')
check(rc == 0, 'qasm3 --strict-qelib: %r' % err)
conv = os.path.join(tmp, 'all_strict.qasm')
with open(conv, 'w') as f:
    f.write(out)
check(dist(run_json('quantum', 'run', conv, '--probabilities')['probabilities'], ref_s) < 1e-9,
      'qasm3 --strict-qelib converts the standard cu3')
# no qelib1 at all: the hint says which include defines the gate
rc, out, err = run('quantum', 'run', '-', stdin='OPENQASM 2.0;\nqreg q[2];\nswap q[0], q[1];\n')
check(rc == 2 and "<stdin>:3:1: undefined gate 'swap' (Qiskit's extended qelib1.inc defines it" in err,
      'swap without an include: %r' % err)

# 5. the program's own definitions win
own = ('OPENQASM 2.0;\ngate swap a, b { CX a, b; }\ninclude "qelib1.inc";\ngate rzz(t) a, b { U(t, 0, 0) b; }\n'
       'qreg p[2];\ncreg u[2];\nx p[0];\nswap p[0], p[1];\nrzz(pi) p[0], p[1];\nmeasure p -> u;\n')
path = os.path.join(tmp, 'own.qasm')
with open(path, 'w') as f:
    f.write(own)
got = run_json('quantum', 'run', path, '--probabilities')
# own swap (a CX): 01 -> 11; own rzz(pi) flips the second qubit: 11 -> 01
check(got['probabilities'] == {'01': 1} and got['layout'] == 'u',
      'own definitions of swap (before the include) and rzz (after), register p, creg u: %r' % got)
rc, out, err = run('quantum', 'run', path, '--strict-qelib', '--probabilities')
check(rc == 0 and out.splitlines()[-1].split() == ['01', '1'], 'the same with --strict-qelib: %r' % err)
rc, out, err = run('quantum', 'run', '-', stdin='OPENQASM 2.0;\ninclude "qelib1.inc";\ngate cx a, b { CX a, b; }\n')
check(rc == 2 and "'cx' is already defined as a gate at qelib1.inc" in err,
      'a standard gate still cannot be redefined: %r' % err)

# 6. QASMBench shor_n5 on the embedded header alone
shor = os.path.join(tmp, 'shor_n5.qasm')
shutil.copy(os.path.join(DATA, 'qasmbench', 'shor_n5.qasm'), shor)
check(not os.path.exists(os.path.join(tmp, 'qelib1.inc')), 'no qelib1.inc beside the copy')
ref = qasmref.distribution(qasmref.load(shor, QELIB1))
counts = run_json('quantum', 'run', shor, '--shots', '20000', '--seed', '5')['counts']
pval, stat, dof, msg = chi_square(counts, ref, 20000)
check(msg is None and pval > 1e-4, 'shor_n5 on the embedded header: p-value %.3g (%s)' % (pval, msg))
rc, out, err = run('quantum', 'run', shor, '--strict-qelib', '--shots', '10')
check(rc == 2 and "undefined gate 'cswap'" in err, 'shor_n5 with --strict-qelib: %r' % err)
print('ok shor_n5 chi-square p = %.3g over %d degrees of freedom' % (pval, dof))

shutil.rmtree(tmp)
finish('check_qelib1')
