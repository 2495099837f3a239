#!/usr/bin/python3
"""Exact outcome probabilities from `fedbroker quantum run --probabilities
--format json` against the independent reference simulator (qasmref.py),
within 1e-9, for every valid program of the reference data (OpenQASM spec
examples, QASMBench) and of tests/quantum/programs. Dynamic circuits must be
refused with exit code 2; they are checked by check_sampling.py."""
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qtest import (check, finish, is_dynamic, reference, run, run_json, valid_programs,  # noqa: E402
                   PROGRAMS)

TOL = 1e-9


def own(name):
    return reference(os.path.join(PROGRAMS, name))


# The reference itself, on cases with a known closed form.
check(own('bell.qasm').keys() == {'00', '11'} and abs(own('bell.qasm')['00'] - 0.5) < 1e-12,
      'reference: Bell pair')
check(abs(own('ghz5.qasm').get('11111', 0) - 0.5) < 1e-12, 'reference: GHZ')
g3 = own('grover3.qasm')
check(abs(g3['101'] - math.sin(5 * math.asin(1 / math.sqrt(8))) ** 2) < 1e-12, 'reference: Grover 3')
check(abs(own('grover2.qasm')['11'] - 1) < 1e-12, 'reference: Grover 2')
check(own('deutsch_jozsa.qasm').get('000', 0) < 1e-12, 'reference: Deutsch-Jozsa balanced')
check(all(abs(v - 1 / 16) < 1e-12 for v in own('qft4_basis.qasm').values()) and
      len(own('qft4_basis.qasm')) == 16, 'reference: QFT of a basis state')
check(set(k for k, v in own('qft4_periodic.qasm').items() if v > 1e-12) == {'0000', '0100', '1000', '1100'},
      'reference: QFT of a periodic state')
check(abs(own('qft5_roundtrip.qasm').get('00101', 0) - 1) < 1e-12, 'reference: QFT then inverse QFT')

nstatic = ndynamic = 0
for path in valid_programs():
    name = os.path.relpath(path)
    ref = reference(path)
    check(abs(sum(ref.values()) - 1) < 1e-9, '%s: reference probabilities sum to 1' % name)
    if is_dynamic(path):
        ndynamic += 1
        rc, out, err = run('quantum', 'run', path, '--probabilities', '--format', 'json')
        check(rc == 2 and out == '' and 'mid-circuit' in err,
              '%s: dynamic circuit must be refused by --probabilities (rc %d, %r)' % (name, rc, err))
        continue
    nstatic += 1
    try:
        got = run_json('quantum', 'run', path, '--probabilities')
    except RuntimeError as e:
        check(False, '%s: %s' % (name, e))
        continue
    probs = got['probabilities']
    check(got['shots'] == 0, '%s: shots is 0 in probabilities mode' % name)
    worst = 0.0
    for k in set(ref) | set(probs):
        worst = max(worst, abs(ref.get(k, 0.0) - probs.get(k, 0.0)))
    check(worst <= TOL, '%s: largest difference from the reference %.3g' % (name, worst))
    print('ok %-60s %2d outcomes, max diff %.2g' % (name, len(probs), worst))

check(nstatic >= 30 and ndynamic >= 8, 'expected >= 30 static and >= 8 dynamic programs, got %d and %d'
      % (nstatic, ndynamic))
finish('check_exact')
