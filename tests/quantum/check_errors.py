#!/usr/bin/python3
"""Bad input to `fedbroker quantum run`: every file of tests/quantum/bad
(first line `// expect: [FILE:]LINE:COL: text`) and the two invalid examples
of the OpenQASM 2.0 specification must fail with exit code 2, nothing on
stdout, and `FILE:LINE:COL:` plus the text on stderr. So must bad options and
circuits over the memory limit; and every valid reference program must
parse."""
import glob
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qtest import check, finish, run, valid_programs, DATA, PROGRAMS, SRCDIR  # noqa: E402

BAD = os.path.join(SRCDIR, 'tests', 'quantum', 'bad')


def expect_fail(args, needles, what, stdin=None):
    rc, out, err = run(*args, stdin=stdin)
    ok = check(rc == 2, '%s: exit code %d, expected 2 (stderr %r)' % (what, rc, err))
    ok &= check(out == '', '%s: nothing on stdout, got %r' % (what, out[:200]))
    for nd in needles:
        ok &= check(nd in err, '%s: %r not in stderr %r' % (what, nd, err))
    if ok:
        print('ok %-40s %s' % (what, err.strip()[:150]))


files = sorted(glob.glob(os.path.join(BAD, '*.qasm')))
check(len(files) >= 30, 'expected at least 30 bad programs, found %d' % len(files))
for f in files:
    first = open(f, encoding='utf-8').readline()
    m = re.match(r'// expect: (?:([\w.]+):)?(\d+):(\d+): (.*)$', first.strip())
    if not check(m is not None, '%s: no expect line' % f):
        continue
    where = m.group(1) or os.path.basename(f)
    expect_fail(['quantum', 'run', f], ['%s:%s:%s: ' % (where, m.group(2), m.group(3)), m.group(4)],
                os.path.basename(f))

spec = os.path.join(DATA, 'qasm2-spec')
expect_fail(['quantum', 'run', os.path.join(spec, 'invalid_gate_no_found.qasm')],
            ['invalid_gate_no_found.qasm:5:1: ', "undefined gate 'w'"], 'spec invalid_gate_no_found')
expect_fail(['quantum', 'run', os.path.join(spec, 'invalid_missing_semicolon.qasm')],
            ['invalid_missing_semicolon.qasm:3:13: ', "missing ';' after 'OPENQASM 2.0'"],
            'spec invalid_missing_semicolon')

for path in valid_programs():
    rc, out, err = run('quantum', 'run', path, '--shots', '10')
    check(rc == 0 and err == '', '%s: valid program failed (%d): %s' % (path, rc, err))

bell = os.path.join(PROGRAMS, 'bell.qasm')
for bad in ('0', '-5', '10000001', 'abc', '1e3', ''):
    expect_fail(['quantum', 'run', bell, '--shots', bad], ['--shots must be a whole number from 1 to 10000000'],
                'shots %r' % bad)
expect_fail(['quantum', 'run', bell, '--seed', '-1'], ['--seed must be'], 'seed -1')
expect_fail(['quantum', 'run', bell, '--memory-limit', 'lots'], ['--memory-limit must be'], 'memory limit text')
adder = os.path.join(DATA, 'qasmbench', 'adder_n10.qasm')
expect_fail(['quantum', 'run', adder, '--memory-limit', '16000'],
            ['10 qubits', '16384 bytes', 'memory limit of 16000 bytes'], 'over the memory limit')
rc, out, err = run('quantum', 'run', adder, '--memory-limit', '16K', '--shots', '5')
check(rc == 0, 'a limit of exactly 16 KiB fits 10 qubits (%d %s)' % (rc, err))
big = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[40];\ncreg c[40];\nh q;\nmeasure q -> c;\n'
expect_fail(['quantum', 'run', '-'], ['40 qubits', '17592186044416 bytes', '4294967296'], '40 qubits by default',
            stdin=big)
expect_fail(['quantum', 'run', os.path.join(PROGRAMS, 'reset_reuse.qasm'), '--probabilities'],
            ['--probabilities', 'reset_reuse.qasm:10:1: a reset'], 'probabilities of a dynamic circuit')
expect_fail(['quantum', 'run', os.path.join(BAD, 'no-such-file.qasm')], ['cannot read the program'],
            'missing file')
rc, out, err = run('quantum', 'run', '-', stdin='OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[1];\n'
                   'x q[0];\nmeasure q -> c;\n')
check(rc == 0 and '1  ' in out, 'a program on stdin runs (%d %s)' % (rc, err))
rc, out, err = run('quantum', 'frobnicate')
check(rc == 64, 'unknown sub-verb exits 64 (%d)' % rc)
finish('check_errors')
