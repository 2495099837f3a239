#!/usr/bin/python3
"""The local backend end to end through the real CLI: `fedbroker apply
examples/quantum-bell.yaml --target quantum` runs the job on the local
simulator; the counts pass Pearson's chi-square test against the exact
probabilities of the independent reference simulator (tests/quantum/
qasmref.py); the broker stores the result with the job (read back with
Python's sqlite3); the same seed gives the same counts; status reports
ready; destroy is idempotent; a dry run runs and stores nothing."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qdtest import (Broker, EXAMPLES, check, chi_square, finish, reference, write_spec)  # noqa: E402

ALPHA = 1e-4
bell = os.path.join(EXAMPLES, 'quantum-bell.yaml')
ref = reference(os.path.join(EXAMPLES, 'bell.qasm'))

b = Broker()
rc, out, err = b.json('apply', bell, '--target', 'quantum')
check(rc == 0, 'apply bell on quantum (local) exits 0 (%d: %s)' % (rc, err.strip()))
item = out[0] if out else {}
res = item.get('result', {})
counts = res.get('counts', {})
check(item.get('placement', {}).get('service') == 'local', '--target quantum places on the local simulator')
check(sum(counts.values()) == 2000 and res.get('shots') == 2000 and res.get('seed') == 7,
      'counts add up to the spec\'s 2000 shots, seed 7 echoed: %r' % res)
p, stat, dof, bad = chi_square(counts, ref, 2000)
check(bad is None and p >= ALPHA, 'bell counts vs the reference: chi2 %.2f dof %d p %.3g %s' % (stat, dof, p, bad or ''))
probs = res.get('probabilities', {})
check(set(probs) == {k for k, v in ref.items() if v > 1e-12} and
      all(abs(probs[k] - ref[k]) < 1e-12 for k in probs), 'exact probabilities agree with the reference')
stored = b.results('bell-pair')
check(len(stored) == 1 and stored[0]['kind'] == 'result' and stored[0]['result']['counts'] == counts,
      'the broker stored the result with the job')
rec = b.resources()
check(any(r[0] == 'quantum' and r[1] == 'quantum-local-job' and r[2] == res.get('id') for r in rec),
      'the job id was recorded (host->record): %r' % rec)

rc, st, err = b.json('status')
check(rc == 0 and st and st[0]['status'] == 'ready' and st[0]['drift'] == [], 'status: ready, no drift (%d %r)' % (rc, st))

# Same seed, same counts: a fresh broker, and another workload with the same program and seed.
b2 = Broker()
rc, out2, _ = b2.json('apply', bell, '--target', 'quantum:local')
check(rc == 0 and out2[0]['result']['counts'] == counts, 'the same seed reproduces the counts')
tmp = tempfile.mkdtemp(prefix='fbq-local-')
prog = open(os.path.join(EXAMPLES, 'bell.qasm')).read()
other = write_spec(tmp, 'bell-copy', prog, shots=2000, seed=7)
rc, out3, _ = b2.json('apply', other, '--target', 'quantum')
check(rc == 0 and out3[0]['result']['counts'] == counts, 'another workload with the same seed: same counts')
other8 = write_spec(tmp, 'bell-eight', prog, shots=2000, seed=8)
rc, out4, _ = b2.json('apply', other8, '--target', 'quantum')
check(rc == 0 and out4[0]['result']['counts'] != counts, 'another seed: other counts')
check(out3[0]['result']['id'] != res['id'], 'job ids differ between workloads')

# A wider circuit with two registers: bit order and statistics.
wide = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[5];
creg a[2];
creg b[3];
h q[0];
cx q[0],q[1];
ry(0.7) q[2];
x q[3];
h q[4];
cu1(0.4) q[4],q[2];
measure q[0] -> a[0];
measure q[1] -> a[1];
measure q[2] -> b[0];
measure q[3] -> b[1];
measure q[4] -> b[2];
"""
wpath = write_spec(tmp, 'wide', wide, shots=20000, seed=11)
rc, out5, err = b2.json('apply', wpath, '--target', 'quantum')
wres = out5[0]['result'] if rc == 0 else {}
wref = reference(wide, is_text=True)
p, stat, dof, bad = chi_square(wres.get('counts', {}), wref, 20000)
check(rc == 0 and bad is None and p >= ALPHA, 'two-register circuit vs the reference: chi2 %.2f dof %d p %.3g %s %s'
      % (stat, dof, p, bad or '', err.strip()))
check(wres.get('layout') == 'b a' and all(len(k) == 6 and k[3] == ' ' for k in wres.get('counts', {})),
      'outcome keys are "b a" (last register leftmost): %r' % sorted(wres.get('counts', {}))[:3])

# A program as Qiskit exports it: gates of Qiskit's extended qelib1.inc,
# used without definitions (refused as "undefined gate 'swap'" before).
qiskit = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg meas[3];
h q[0];
swap q[0],q[1];
rzz(0.5) q[1],q[2];
sx q[2];
cu(0.3,0.2,0.1,0.4) q[1],q[2];
cp(0.7) q[2],q[0];
rccx q[2],q[1],q[0];
h q;
barrier q[0],q[1],q[2];
measure q[0] -> meas[0];
measure q[1] -> meas[1];
measure q[2] -> meas[2];
"""
qpath = write_spec(tmp, 'qiskit-export', qiskit, shots=20000, seed=3)
rc, out7, err = b2.json('apply', qpath, '--target', 'quantum')
qres = out7[0]['result'] if rc == 0 and out7 else {}
qref = reference(qiskit, is_text=True)
probs = qres.get('probabilities', {})
check(rc == 0 and set(probs) == {k for k, v in qref.items() if v > 1e-12} and
      all(abs(probs[k] - qref[k]) < 1e-9 for k in probs),
      'a Qiskit-exported program (swap, rzz, sx, cu, cp, rccx) runs locally; probabilities = the reference '
      'with Qiskit\'s qelib1.inc (%d %s)' % (rc, err.strip()))
rc, out8, err = b2.run('render', qpath, '--target', 'quantum:us-east-1', '--service', 'braket-sv1')
check(rc == 0 and 'swap' in out8 and 'rzz' in out8, 'and converts to OpenQASM 3 for Braket (%d %s)' % (rc, err.strip()))

# destroy is idempotent through the CLI
rc, o1, _ = b.run('destroy', '--workload', 'bell-pair')
check(rc == 0 and 'destroyed' in o1, 'destroy removes the deployment')
rc, o2, e2 = b.run('destroy', '--workload', 'bell-pair')
check(rc == 2 and 'bell-pair' in e2,
      'a second destroy of the same name: nothing matches it, exit 2 (issue 11)')
rc, o3, _ = b.run('destroy', '--all')
check(rc == 0 and 'nothing to destroy' in o3, 'destroy --all with nothing left succeeds')
rc, st, _ = b.json('status')
check(rc == 0 and st == [], 'nothing left in status')

# a dry run runs nothing and stores nothing
b3 = Broker()
rc, out6, err = b3.run('apply', bell, '--target', 'quantum', '--dry-run')
check(rc == 0 and out6.strip() == '[]', 'dry run: no requests for the local simulator (%r %s)' % (out6, err))
check(not os.path.exists(os.path.join(b3.home, 'state.db')) or b3.results() == [], 'dry run: nothing stored')
finish('test_local')
