#!/usr/bin/python3
"""Every documented limit of `fedbroker quantum run`, at the limit and one
step past it, and the documented defaults (issue 9, "limits tested at their
edges"; fedbroker(1) and quantum/README.md):

- qubits: the default memory limit is 4 GiB (4294967296 bytes), so 28
  qubits pass the check (the allocation is then made to fail by an address
  space limit, which proves the check passed without using 4 GiB) and 29 are
  refused with both numbers; --memory-limit at exactly 16 x 2^n bytes runs
  n qubits and one byte less refuses them;
- registers: at most 2^20 bits each, 2^22 qubits in all;
- shots: 1 to 10,000,000 (default 1024, seed 0);
- a program file or standard input: at most 16 MiB.
(Includes: 1 MiB each, in check_includes.py; --threshold 0 and 1, in
check_stream.py.)"""
import json
import os
import resource
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qtest import FEDBROKER, check, finish, run  # noqa: E402

tmp = tempfile.mkdtemp(prefix='fbq-limits-')
GiB = 1 << 30
DEFAULT_MEMORY = 4 * GiB    # FBQ_DEFAULT_MEMORY_LIMIT, documented
MAX_SHOTS = 10000000        # FBQ_MAX_SHOTS, documented
MAX_PROGRAM = 16 << 20      # FBQ_MAX_PROGRAM_SIZE, documented


def ghz(n):
    return 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[%d];\ncreg c[%d];\nh q[0];\nmeasure q -> c;\n' % (n, n)


def fails(args, needles, what, stdin=None, preexec=None):
    p = subprocess.run([FEDBROKER] + args, input=stdin, capture_output=True, text=True, timeout=120,
                       preexec_fn=preexec)
    ok = check(p.returncode == 2 and p.stdout == '', '%s: exit %d, expected 2 (%r)' % (what, p.returncode, p.stderr))
    for nd in needles:
        ok &= check(nd in p.stderr, '%s: %r not in %r' % (what, nd, p.stderr))
    if ok:
        print('ok %-40s %s' % (what, p.stderr.strip()[:140]))


def works(args, what, stdin=None):
    p = subprocess.run([FEDBROKER] + args, input=stdin, capture_output=True, text=True, timeout=300)
    if check(p.returncode == 0 and p.stderr == '', '%s: exit %d %r' % (what, p.returncode, p.stderr)):
        print('ok %-40s accepted' % what)
    return p.stdout


# ---- qubits at the default memory limit ------------------------------------
fails(['quantum', 'run', '-'], ['29 qubits', '%d bytes' % (16 << 29), 'memory limit of %d bytes' % DEFAULT_MEMORY],
      '29 qubits at the default limit', stdin=ghz(29))


def small_address_space():
    resource.setrlimit(resource.RLIMIT_AS, (GiB, GiB))


# The sanitizer build cannot start in 1 GiB of address space (its shadow
# memory is reserved up front): the 28-qubit edge is then skipped.
probe = subprocess.run([FEDBROKER, 'quantum', 'run', '-'], input=ghz(2), capture_output=True, text=True,
                       timeout=60, preexec_fn=small_address_space)
if probe.returncode == 0:
    fails(['quantum', 'run', '-'], ['cannot allocate %d bytes for the state vector' % DEFAULT_MEMORY],
          '28 qubits pass the default limit', stdin=ghz(28), preexec=small_address_space)
else:
    print('SKIP: 28 qubits at the default limit (this build does not run with a 1 GiB address space: '
          'a sanitizer build?)')

# ---- --memory-limit at the byte ----------------------------------------------
for n in (10, 20):
    need = 16 << n
    out = works(['quantum', 'run', '-', '--memory-limit', str(need), '--shots', '8', '--format', 'json'],
                '%d qubits in exactly %d bytes' % (n, need), stdin=ghz(n))
    check(out and json.loads(out)['qubits'] == n, '%d qubits ran' % n)
    fails(['quantum', 'run', '-', '--memory-limit', str(need - 1)],
          ['%d qubits' % n, '%d bytes' % need, 'memory limit of %d bytes' % (need - 1)],
          '%d qubits in %d bytes' % (n, need - 1), stdin=ghz(n))
works(['quantum', 'run', '-', '--memory-limit', '16MiB', '--shots', '1'], '20 qubits in 16MiB', stdin=ghz(20))
fails(['quantum', 'run', '-', '--memory-limit', '16MiB'], ['memory limit of 16777216 bytes'], '21 qubits in 16MiB',
      stdin=ghz(21))

# ---- registers -------------------------------------------------------------------
REG = 1 << 20
fails(['quantum', 'run', '-'], ['%d qubits' % REG, 'memory limit'], 'a register of 2^20 qubits parses',
      stdin='OPENQASM 2.0;\nqreg q[%d];\n' % REG)
fails(['quantum', 'run', '-'], ['<stdin>:2:8: ', "register 'q' is too large (%d; at most %d)" % (REG + 1, REG)],
      'a register of 2^20 + 1 qubits', stdin='OPENQASM 2.0;\nqreg q[%d];\n' % (REG + 1))
fails(['quantum', 'run', '-'], ['<stdin>:2:8: ', "register 'c' is too large"], 'a creg of 2^20 + 1 bits',
      stdin='OPENQASM 2.0;\ncreg c[%d];\n' % (REG + 1))
four = 'OPENQASM 2.0;\n' + ''.join('qreg r%d[%d];\n' % (i, REG) for i in range(4))
fails(['quantum', 'run', '-'], ['%d qubits' % (4 * REG), 'memory limit'], '2^22 qubits in all parse', stdin=four)
fails(['quantum', 'run', '-'], ['<stdin>:6:8: ', 'too many qubits in the program (at most %d)' % (4 * REG)],
      '2^22 + 1 qubits', stdin=four + 'qreg s[1];\n')

# ---- shots ----------------------------------------------------------------------
bell = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'
for shots in (1, MAX_SHOTS):
    out = works(['quantum', 'run', '-', '--shots', str(shots), '--format', 'json'], '%d shots' % shots, stdin=bell)
    doc = json.loads(out) if out else {}
    check(doc.get('shots') == shots and sum(doc.get('counts', {}).values()) == shots,
          '%d shots: the counts add up: %r' % (shots, doc.get('counts')))
for shots in (0, MAX_SHOTS + 1):
    fails(['quantum', 'run', '-', '--shots', str(shots)], ['--shots must be a whole number from 1 to 10000000'],
          '%d shots' % shots, stdin=bell)
out = works(['quantum', 'run', '-', '--format', 'json'], 'default shots and seed', stdin=bell)
doc = json.loads(out) if out else {}
check(doc.get('shots') == 1024 and doc.get('seed') == 0 and sum(doc.get('counts', {}).values()) == 1024,
      'defaults: 1024 shots, seed 0: %r' % {k: doc.get(k) for k in ('shots', 'seed')})

# ---- program size ---------------------------------------------------------------
head = 'OPENQASM 2.0;\nqreg q[1];\n'
edge = head + '/' * (MAX_PROGRAM - len(head) - 1) + '\n'
check(len(edge) == MAX_PROGRAM, 'the edge program is 16 MiB')
edge_path = os.path.join(tmp, 'edge.qasm')
over_path = os.path.join(tmp, 'over.qasm')
with open(edge_path, 'w') as f:
    f.write(edge)
with open(over_path, 'w') as f:
    f.write(edge + '\n')
works(['quantum', 'run', edge_path, '--shots', '1'], 'a program file of exactly 16 MiB')
fails(['quantum', 'run', over_path], ['over.qasm: cannot read the program: larger than %d bytes' % MAX_PROGRAM],
      'a program file of 16 MiB + 1 byte')
works(['quantum', 'run', '-', '--shots', '1'], '16 MiB on standard input', stdin=edge)
fails(['quantum', 'run', '-'], ['cannot read standard input', 'larger than the limit of %d bytes' % MAX_PROGRAM],
      '16 MiB + 1 byte on standard input', stdin=edge + '\n')
works(['quantum', 'qasm3', edge_path], 'quantum qasm3: a program of exactly 16 MiB')
fails(['quantum', 'qasm3', over_path], ['larger than %d bytes' % MAX_PROGRAM], 'quantum qasm3: 16 MiB + 1 byte')

for name in os.listdir(tmp):
    os.unlink(os.path.join(tmp, name))
os.rmdir(tmp)
finish('check_limits')
