#!/usr/bin/python3
"""The quantum driver's documented limits at the limit and one step past it,
and its documented defaults (drivers/quantum/README.md, docs/spec.md), all
through `fedbroker render` (validate runs first; nothing is simulated or
sent):

- local: 28 qubits at the default memoryLimit of 4Gi (4294967296 bytes,
  also shown in the rendered body) and 29 refused; with memoryLimit 1Mi,
  16 and 17; shots 1..1,000,000 (the spec's range), default 1000;
- Braket SV1: 34 qubits, shots 1..100,000; DM1 17 qubits; TN1 50; IQM
  Garnet 20; IonQ Forte-1 shots 1..10,000;
- a program (program.file, or inline source) of at most 1 MiB."""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qdtest import Broker, check, finish, write_spec  # noqa: E402

tmp = tempfile.mkdtemp(prefix='fbq-limits-')
MiB = 1 << 20


def ghz(n):
    return ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[%d];\ncreg c[%d];\nh q[0];\n' % (n, n) +
            ''.join('cx q[0],q[%d];\n' % i for i in range(1, n)) + 'measure q -> c;\n')


def render(b, spec, target):
    rc, out, err = b.run('render', spec, *target)
    body = None
    if rc == 0:
        try:
            body = json.loads(out)[0]['documents'][0]['body']
        except (ValueError, LookupError, TypeError):
            pass
    return rc, body, err


def edge(b, what, target, ok_spec, bad_spec, pointer, words):
    rc, body, err = render(b, ok_spec, target)
    check(rc == 0 and body is not None, '%s: at the limit, accepted (%d %s)' % (what, rc, err.strip()[:300]))
    rc, _, err = render(b, bad_spec, target)
    check(rc == 2 and (pointer is None or pointer in err) and all(w in err for w in words),
          '%s: one step past it, refused at %s naming %s (%d %s)' % (what, pointer, words, rc, err.strip()[:300]))
    return body


LOCAL = ['--target', 'quantum']
SV1 = ['--target', 'quantum:us-east-1', '--service', 'braket-sv1']
b = Broker({})

# ---- local: qubits against the memory limit ----------------------------------
body = edge(b, 'local qubits at the default memoryLimit', LOCAL, write_spec(tmp, 'q28', ghz(28), shots=10),
            write_spec(tmp, 'q29', ghz(29), shots=10), '/spec/program/source',
            ['29 qubits', '8589934592-byte', 'memory limit of 4294967296 bytes'])
check(body is not None and body.get('memoryLimitBytes') == 4 << 30 and body.get('qubits') == 28,
      'the default memoryLimit is 4Gi (%r)' % (body and body.get('memoryLimitBytes')))
for limit in ('1Mi', 1 << 20):
    small = Broker({'memoryLimit': limit})
    body = edge(small, 'local qubits with memoryLimit %r' % (limit,), LOCAL, write_spec(tmp, 'q16', ghz(16), shots=10),
                write_spec(tmp, 'q17', ghz(17), shots=10), '/spec/program/source',
                ['17 qubits', '2097152-byte', 'memory limit of 1048576 bytes'])
    check(body is not None and body.get('memoryLimitBytes') == 1 << 20, 'memoryLimit %r is 1048576 bytes' % (limit,))

# ---- shots ----------------------------------------------------------------------
bell = ghz(2)
body = edge(b, 'local shots', LOCAL, write_spec(tmp, 's1m', bell, shots=1000000),
            write_spec(tmp, 's1m1', bell, shots=1000001), '/spec/shots', ['1000001', '1000000'])
check(body is not None and body.get('shots') == 1000000, 'a million shots rendered (%r)' % (body and body.get('shots')))
edge(b, 'local shots, the low end', LOCAL, write_spec(tmp, 's1', bell, shots=1), write_spec(tmp, 's0', bell, shots=0),
     '/spec/shots', ['0'])
noshots = os.path.join(tmp, 'noshots.yaml')
with open(noshots, 'w') as f:
    f.write('apiVersion: fedbroker.dev/v1\nkind: QuantumJob\nmetadata: {name: noshots, tenant: qa}\nspec:\n'
            '  program:\n    source: |\n' + ''.join('      %s\n' % line for line in bell.strip().split('\n')))
rc, body, err = render(b, noshots, LOCAL)
check(rc == 0 and body is not None and body.get('shots') == 1000, 'default shots: 1000 (%d %r %s)'
      % (rc, body and body.get('shots'), err.strip()))
edge(b, 'SV1 shots', SV1, write_spec(tmp, 'sv100k', bell, shots=100000), write_spec(tmp, 'sv100k1', bell, shots=100001),
     '/spec/shots', ['100001 shots', '1 to 100000'])
IONQ = ['--target', 'quantum:us-east-1', '--service', 'braket-ionq-forte-1']
edge(b, 'IonQ Forte-1 shots', IONQ, write_spec(tmp, 'io10k', bell, shots=10000),
     write_spec(tmp, 'io10k1', bell, shots=10001), '/spec/shots', ['10001 shots', '1 to 10000'])

# ---- device qubits ----------------------------------------------------------------
for service, region, n, name in (('braket-sv1', 'us-east-1', 34, 'SV1'), ('braket-dm1', 'us-east-1', 17, 'DM1'),
                                  ('braket-tn1', 'us-east-1', 50, 'TN1'),
                                  ('braket-iqm-garnet', 'eu-north-1', 20, 'Garnet')):
    edge(b, '%s qubits' % name, ['--target', 'quantum:' + region, '--service', service],
         write_spec(tmp, '%s%d' % (service, n), ghz(n), shots=10),
         write_spec(tmp, '%s%d' % (service, n + 1), ghz(n + 1), shots=10), '/spec/program/source',
         ['%d qubits' % (n + 1), '%s has %d' % (name, n)])

# ---- program size: 1 MiB ----------------------------------------------------------
pad = bell + '//'
prog_edge = pad + 'x' * (MiB - len(pad) - 1) + '\n'
check(len(prog_edge.encode()) == MiB, 'the edge program is 1 MiB')
for name, text in (('edge', prog_edge), ('over', prog_edge + '\n')):
    with open(os.path.join(tmp, name + '.qasm'), 'w') as f:
        f.write(text)
    with open(os.path.join(tmp, 'file-' + name + '.yaml'), 'w') as f:
        f.write('apiVersion: fedbroker.dev/v1\nkind: QuantumJob\nmetadata: {name: file-%s, tenant: qa}\nspec:\n'
                '  program: {file: %s.qasm}\n  shots: 10\n' % (name, name))
    with open(os.path.join(tmp, 'inline-' + name + '.json'), 'w') as f:
        json.dump({'apiVersion': 'fedbroker.dev/v1', 'kind': 'QuantumJob',
                   'metadata': {'name': 'inline-' + name, 'tenant': 'qa'},
                   'spec': {'program': {'source': text}, 'shots': 10}}, f)
edge(b, 'program.file size', LOCAL, os.path.join(tmp, 'file-edge.yaml'), os.path.join(tmp, 'file-over.yaml'),
     '/spec/program/file', ['1 MiB'])
edge(b, 'inline program size', LOCAL, os.path.join(tmp, 'inline-edge.json'), os.path.join(tmp, 'inline-over.json'),
     '/spec/program/source', ['1 MiB'])

for name in os.listdir(tmp):
    os.unlink(os.path.join(tmp, name))
os.rmdir(tmp)
finish('test_limits')
