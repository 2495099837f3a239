#!/usr/bin/python3
"""OpenQASM 2 -> 3 conversion (`fedbroker quantum qasm3`, fbq_to_qasm3),
tested by round trip on every valid program: the converted text must parse
again, give the same exact probabilities (static circuits, within 1e-12) or
the same counts for the same seed (dynamic circuits), and the independent
reference (qasmref.py, which knows the standard gates only from their
textbook matrices) must find the same distribution for the original and the
converted program. The converted text may only use stdgates.inc names,
`c = measure q` and braced `if` bodies."""
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qtest import check, finish, is_dynamic, reference, run, run_json, valid_programs  # noqa: E402

tmp = tempfile.mkdtemp(prefix='fbq-rt-')
n = 0
for path in valid_programs():
    base = os.path.basename(path)
    rc, text, err = run('quantum', 'qasm3', path)
    if not check(rc == 0 and err == '', '%s: conversion failed (%d): %s' % (base, rc, err)):
        continue
    check(text.startswith('OPENQASM 3.0;\ninclude "stdgates.inc";\n'), '%s: OpenQASM 3 header' % base)
    check('->' not in text and 'qreg' not in text and 'creg' not in text, '%s: no OpenQASM 2 forms left' % base)
    check(re.search(r'\bif\s*\([^)]*\)\s*[^{ ]', text) is None, '%s: if bodies are braced' % base)
    out = os.path.join(tmp, base)
    with open(out, 'w', encoding='utf-8') as f:
        f.write(text)
    ref_a, ref_b = reference(path), reference(out)
    worst = max(abs(ref_a.get(k, 0) - ref_b.get(k, 0)) for k in set(ref_a) | set(ref_b))
    check(worst < 1e-9, '%s: the reference sees another distribution after conversion (%.3g)' % (base, worst))
    if is_dynamic(path):
        a = run_json('quantum', 'run', path, '--shots', '4000', '--seed', '17')
        b = run_json('quantum', 'run', out, '--shots', '4000', '--seed', '17')
        check(a['counts'] == b['counts'], '%s: same seed, other counts after conversion' % base)
    else:
        a = run_json('quantum', 'run', path, '--probabilities')['probabilities']
        b = run_json('quantum', 'run', out, '--probabilities')['probabilities']
        worst = max(abs(a.get(k, 0) - b.get(k, 0)) for k in set(a) | set(b))
        check(worst < 1e-12, '%s: probabilities changed by %.3g after conversion' % (base, worst))
    # converting the converted program changes nothing but comments
    rc, again, err = run('quantum', 'qasm3', out)
    strip = lambda t: '\n'.join(l for l in t.splitlines() if not l.startswith('//'))  # noqa: E731
    check(rc == 0 and strip(again) == strip(text), '%s: conversion is not idempotent' % base)
    print('ok %s' % base)
    n += 1
    os.unlink(out)
os.rmdir(tmp)
check(n >= 40, 'expected at least 40 conversions, got %d' % n)

rc, out, err = run('quantum', 'qasm3', '-', stdin='OPENQASM 2.0;\nopaque g a;\nqreg q[1];\ng q[0];\n')
check(rc == 2 and out == '' and "<stdin>:4:1: opaque gate 'g'" in err, 'opaque gates cannot be converted: %r' % err)
finish('check_roundtrip')
