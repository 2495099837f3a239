#!/usr/bin/python3
"""Sampled counts of `fedbroker quantum run --shots N --seed S` against the
exact distribution of the independent reference (qasmref.py), with Pearson's
chi-square goodness-of-fit test: every dynamic circuit (mid-circuit
measurement, reset, if: the trajectory engine) and a few static ones (the
multinomial sampler). Seeds are fixed, so the test is deterministic; the
threshold p >= 1e-4 is one a correct sampler passes with overwhelming
probability. Also: the same seed reproduces the counts, other seeds give
other counts, and the teleported state has the right statistics."""
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qtest import (check, chi_square, finish, is_dynamic, reference, run_json, valid_programs,  # noqa: E402
                   DATA, PROGRAMS)

SHOTS = 20000
SEEDS = (1, 7, 123456789)
ALPHA = 1e-4

static_sampled = {'grover3.qasm', 'qft4_basis.qasm', 'W-state.qasm', 'qaoa_n3.qasm', 'teleportation_n3.qasm',
                  'bell3.qasm', 'modifiers3.qasm'}
n = 0
for path in valid_programs():
    base = os.path.basename(path)
    if not (is_dynamic(path) or base in static_sampled):
        continue
    ref = reference(path)
    for seed in SEEDS:
        got = run_json('quantum', 'run', path, '--shots', str(SHOTS), '--seed', str(seed))
        counts = got['counts']
        check(sum(counts.values()) == SHOTS, '%s: counts add up to the shots' % base)
        check(got['seed'] == seed and got['shots'] == SHOTS, '%s: seed and shots echoed' % base)
        p, stat, dof, bad = chi_square(counts, ref, SHOTS)
        check(bad is None, '%s seed %d: %s' % (base, seed, bad))
        check(p >= ALPHA, '%s seed %d: chi-square %.2f with %d dof, p = %.3g < %g' % (base, seed, stat, dof, p,
                                                                                    ALPHA))
        print('ok %-28s seed %-10d chi2 %8.2f dof %3d p %.3f' % (base, seed, stat, dof, p))
        n += 1
check(n >= 30, 'expected at least 30 sampled runs, got %d' % n)

# Reproducibility: the same seed gives the same counts, other seeds others.
for path in (os.path.join(PROGRAMS, 'reset_reuse.qasm'), os.path.join(PROGRAMS, 'grover3.qasm')):
    a = run_json('quantum', 'run', path, '--shots', '5000', '--seed', '42')['counts']
    b = run_json('quantum', 'run', path, '--shots', '5000', '--seed', '42')['counts']
    c = run_json('quantum', 'run', path, '--shots', '5000', '--seed', '43')['counts']
    d = run_json('quantum', 'run', path, '--shots', '5000')['counts']
    e = run_json('quantum', 'run', path, '--shots', '5000', '--seed', '0')['counts']
    check(a == b, '%s: the same seed reproduces the counts' % path)
    check(a != c, '%s: another seed gives other counts' % path)
    check(d == e, '%s: the default seed is 0' % path)

# Teleportation: the teleported qubit q[2] of the spec example reads 1 with
# probability sin^2(0.15) (state u3(0.3,0.2,0.1)|0>), whatever c0, c1 read.
tele = os.path.join(DATA, 'qasm2-spec', 'teleport.qasm')
ref = reference(tele)
p1 = sum(v for k, v in ref.items() if k.split()[0] == '1')
check(abs(p1 - math.sin(0.15) ** 2) < 1e-12, 'reference: teleported state P(1) = sin^2(0.15)')
got = run_json('quantum', 'run', tele, '--shots', '200000', '--seed', '5')['counts']
ones = sum(v for k, v in got.items() if k.split()[0] == '1')
sigma = math.sqrt(200000 * p1 * (1 - p1))
check(abs(ones - 200000 * p1) < 5 * sigma, 'teleport: %d ones, expected %.1f +- %.1f' % (ones, 200000 * p1, sigma))
for pre in ('0 0', '0 1', '1 0', '1 1'):
    m = sum(v for k, v in got.items() if ' '.join(k.split()[1:]) == pre)
    check(abs(m - 50000) < 5 * math.sqrt(200000 * 0.25 * 0.75), 'teleport: c1 c0 = %s seen %d times' % (pre, m))
und = run_json('quantum', 'run', os.path.join(PROGRAMS, 'teleport_undo.qasm'), '--shots', '100000', '--seed', '9')
check(all(k.split()[0] == '0' for k in und['counts']), 'teleport_undo: the undone state always reads 0')
check(len(und['counts']) == 4, 'teleport_undo: all four corrections happen')

finish('check_sampling')
