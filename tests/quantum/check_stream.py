#!/usr/bin/python3
"""`fedbroker quantum run` writes its outcomes as it reads them off the
final state: memory is the state vector, not the output (issue 9, item 9).

- Peak RSS of `--probabilities` at 20 qubits in a uniform superposition
  (2^20 non-zero outcomes, 52 MB of JSON) in both formats stays within the
  RSS of a 1-qubit run plus the 16 MiB state vector plus 16 MiB of slack.
  Before streaming, the JSON run peaked at 341 MB and the table at 136 MB.
  The RSS comes from wait4(2), so the bound holds in the ASan build too
  (its baseline is measured the same way).
- The output is still complete and right: 2^20 keys of 2^-20 each.
- --threshold and --all-outcomes against the independent reference
  simulator (qasmref.py): the default lists the non-zero probabilities,
  --threshold P those above P, --all-outcomes all 2^m with zeros.
- A failed write (a full disk: /dev/full) exits 1 with a message."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qtest import FEDBROKER, PROGRAMS, check, finish, reference, run, run_json  # noqa: E402

tmp = tempfile.mkdtemp(prefix='fbq-stream-')


def program(n, body):
    path = os.path.join(tmp, 'q%d.qasm' % n)
    with open(path, 'w') as f:
        f.write('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[%d];\ncreg c[%d];\n%s\nmeasure q -> c;\n'
                % (n, n, body))
    return path


def run_rss(args, out_path):
    """Runs fedbroker with stdout to a file; returns (exit code, stderr,
    peak RSS in KiB of that process alone)."""
    with open(out_path, 'wb') as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen([FEDBROKER] + args, stdout=out, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        return p.returncode, err.read().decode('utf-8', 'replace'), ru.ru_maxrss


N = 20
STATE_KIB = (16 << N) // 1024
base_path = os.path.join(tmp, 'base.out')
rc, err, base_rss = run_rss(['quantum', 'run', program(1, 'h q;'), '--probabilities', '--format', 'json'],
                            base_path)
check(rc == 0, 'baseline run: %r' % err)
bound = base_rss + STATE_KIB + 16 * 1024
big = program(N, 'h q;')

# Both big runs first: a child forked from this process starts with its
# pages, so Python must not hold the parsed output when they start.
json_path, table_path = os.path.join(tmp, 'big.json'), os.path.join(tmp, 'big.txt')
rc, err, rss = run_rss(['quantum', 'run', big, '--probabilities', '--format', 'json'], json_path)
print('json: peak RSS %d KiB (1-qubit run %d KiB, bound %d KiB), %d bytes written'
      % (rss, base_rss, bound, os.path.getsize(json_path)))
check(rc == 0 and err == '', 'json run failed (%d): %r' % (rc, err))
check(rss <= bound, 'json at %d qubits: peak RSS %d KiB above %d KiB: the output is held in memory'
      % (N, rss, bound))
rc, err, rss = run_rss(['quantum', 'run', big, '--probabilities'], table_path)
print('table: peak RSS %d KiB (bound %d KiB)' % (rss, bound))
check(rc == 0 and err == '', 'table run failed (%d): %r' % (rc, err))
check(rss <= bound, 'table at %d qubits: peak RSS %d KiB above %d KiB' % (N, rss, bound))

with open(json_path) as f:
    doc = json.load(f)
probs = doc['probabilities']
check(len(probs) == 1 << N, 'json lists %d outcomes, expected %d' % (len(probs), 1 << N))
check(all(abs(v - 2.0 ** -N) < 1e-15 for v in probs.values()), 'every probability is 2^-%d' % N)
check(sorted(probs) == list(probs), 'outcomes in ascending order')
check([k for k in doc] == ['qubits', 'clbits', 'shots', 'seed', 'layout', 'probabilities', 'program',
                           'dialect'] and doc['qubits'] == N and doc['program'] == big,
      'json document keys: %r' % list(doc)[:10])
del doc, probs
os.unlink(json_path)
with open(table_path) as f:
    lines = f.read().splitlines()
check(len(lines) == 4 + (1 << N), 'table has %d lines, expected %d' % (len(lines), 4 + (1 << N)))
check(lines[3].split() == ['c', 'probability'] and lines[4].split() == ['0' * N, '%.12g' % 2.0 ** -N]
      and lines[-1].split()[0] == '1' * N, 'table rows: %r %r' % (lines[3:5], lines[-1:]))
del lines
os.unlink(table_path)

# ---- what is listed, against the reference --------------------------------
# Deutsch-Jozsa (balanced): the outcomes other than 111 have probability 0,
# which the simulator computes as rounding noise below 1e-31.
dj = os.path.join(PROGRAMS, 'deutsch_jozsa.qasm')
ref = reference(dj)
width = len(next(iter(ref)))
got = run_json('quantum', 'run', dj, '--probabilities')['probabilities']
check(set(got) == {k for k, v in ref.items() if v > 1e-15},
      'default lists the non-zero outcomes: %r vs %r' % (sorted(got), sorted(ref)))
check(all(abs(got[k] - ref[k]) < 1e-9 for k in got), 'default: probabilities match the reference')
everything = run_json('quantum', 'run', dj, '--probabilities', '--all-outcomes')['probabilities']
check(len(everything) == 2 ** width and list(everything) == sorted(everything),
      '--all-outcomes lists all %d outcomes in order: %r' % (2 ** width, list(everything)))
check(all(abs(everything[k] - ref.get(k, 0.0)) < 1e-9 for k in everything),
      '--all-outcomes: values (zeros included) match the reference')
# a Bell pair: 01 and 10 are exactly zero
bell = run_json('quantum', 'run', os.path.join(PROGRAMS, 'bell.qasm'), '--probabilities', '--all-outcomes')
check(bell['probabilities'] == {'00': bell['probabilities']['00'], '01': 0, '10': 0,
                                '11': bell['probabilities']['11']}, '--all-outcomes lists the zeros: %r' % bell)
# QFT of a basis state: 16 outcomes of 1/16; a periodic state: 4 of 1/4
for name, thr in (('qft4_periodic.qasm', '0.2'), ('grover3.qasm', '0.05'), ('grover3.qasm', '0')):
    path = os.path.join(PROGRAMS, name)
    ref = reference(path)
    got = run_json('quantum', 'run', path, '--probabilities', '--threshold', thr)['probabilities']
    want = {k for k, v in ref.items() if v > float(thr) + 1e-12}
    check(want <= set(got) and all(ref.get(k, 0) > float(thr) - 1e-12 for k in got),
          '%s --threshold %s: %r, reference above it: %r' % (name, thr, sorted(got), sorted(want)))
rc, out, err = run('quantum', 'run', dj, '--probabilities', '--threshold', '1')
check(rc == 0 and out.splitlines()[-1].split() == ['c', 'probability'],
      '--threshold 1 lists nothing but the header: %r' % out)
rc, out, err = run('quantum', 'run', dj, '--probabilities', '--threshold', '1', '--format', 'json')
check(rc == 0 and json.loads(out)['probabilities'] == {}, '--threshold 1 in json: an empty object')
for args, code, words in ((['--probabilities', '--threshold', '1.5'], 2, 'from 0 to 1'),
                          (['--probabilities', '--threshold', '-0'], 2, 'from 0 to 1'),
                          (['--probabilities', '--threshold', 'nan'], 2, 'from 0 to 1'),
                          (['--probabilities', '--threshold', ''], 2, 'from 0 to 1'),
                          (['--threshold', '0.1'], 64, 'only applies to --probabilities'),
                          (['--all-outcomes'], 64, 'only applies to --probabilities'),
                          (['--probabilities', '--all-outcomes', '--threshold', '0.1'], 64, 'exclude each other')):
    rc, out, err = run('quantum', 'run', dj, *args)
    check(rc == code and out == '' and words in err, '%s: exit %d (want %d) %r' % (args, rc, code, err))
rc, out, err = run('quantum', 'run', dj, '--probabilities', '--threshold', '0')
check(rc == 0, '--threshold 0 is accepted (every probability above exactly 0)')

# ---- a write that fails ----------------------------------------------------
if os.path.exists('/dev/full'):
    with open('/dev/full', 'w') as full:
        p = subprocess.run([FEDBROKER, 'quantum', 'run', program(12, 'h q;'), '--probabilities', '--format',
                            'json'], stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
    check(p.returncode == 1 and 'cannot write the output' in p.stderr,
          'a full disk: exit %d %r' % (p.returncode, p.stderr))
else:
    print('SKIP: no /dev/full')

for f in os.listdir(tmp):
    os.unlink(os.path.join(tmp, f))
os.rmdir(tmp)
finish('check_stream')
