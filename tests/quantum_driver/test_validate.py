#!/usr/bin/python3
"""Bad QuantumJobs are refused by `fedbroker apply` before any request:
exit 2, a JSON pointer into the spec and the numbers in the message, and
the fake endpoints (which would accept a good job) see nothing. Cases:
syntax errors (with the program's line), too many qubits for the device,
shots outside the device's range, a state vector over the memory limit,
a deadline shorter than the queue latency, the spec's backend constraints,
a program that measures nothing, missing deployment settings; and every
problem of one spec reported at once."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qdtest import Broker, EXAMPLES, Fake, check, finish, write_spec  # noqa: E402

AWS_ENV = {'AWS_ACCESS_KEY_ID': 'AKIDFAKEEXAMPLE00001',
           'AWS_SECRET_ACCESS_KEY': 'fakeSecretKey/EXAMPLE+00001+fedbrokerTEST', 'IQP_API_TOKEN': 'fake-ibm-api-key-0001'}
CRN = 'crn:v1:bluemix:public:quantum-computing:us-east:a/f00dfeed0123456789abcdef:0b5e55ed-fa4e-4b3c-9d1e-feedfacecafe::'
tmp = tempfile.mkdtemp(prefix='fbq-bad-')
BELL = open(os.path.join(EXAMPLES, 'bell.qasm')).read()


def ghz(n):
    return ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[%d];\ncreg c[%d];\nh q[0];\n' % (n, n) +
            ''.join('cx q[%d],q[%d];\n' % (i, i + 1) for i in range(n - 1)) + 'measure q -> c;\n')


SYNTAX = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0]\ncx q[0],q[1];\nmeasure q -> c;\n'
UNDEF = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\nfoo q[1];\nmeasure q -> c;\n'
NOMEAS = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[0];\ncx q[0],q[1];\n'

aws = Fake('fake_aws.py')
ibm = Fake('fake_ibm.py')
try:
    settings = {'memoryLimit': '1Mi',
                'braket': {'endpoint': aws.url, 'outputS3Bucket': 'fedbroker-test-results'},
                'ibm': {'endpoint': ibm.url + '/api/v1', 'iamEndpoint': ibm.url + '/identity/token', 'serviceCrn': CRN}}
    b = Broker(settings, env=AWS_ENV)
    SV1 = ['--target', 'quantum:us-east-1', '--service', 'braket-sv1']
    cases = [
        # (name, program, spec options, target, pointer, words in the message)
        ('syntax-local', SYNTAX, {}, ['--target', 'quantum'], '/spec/program/source', ['line 5', "missing ';'"]),
        ('syntax-braket', SYNTAX, {}, SV1, '/spec/program/source', ['line 5']),
        ('undefined-gate', UNDEF, {}, ['--target', 'quantum'], '/spec/program/source', ['line 6', 'foo']),
        ('qubits-dm1', ghz(18), {}, ['--target', 'quantum:us-east-1', '--service', 'braket-dm1'],
         '/spec/program/source', ['18 qubits', 'DM1 has 17']),
        ('qubits-garnet', ghz(21), {'shots': 10}, ['--target', 'quantum:eu-north-1', '--service', 'braket-iqm-garnet'],
         '/spec/program/source', ['21 qubits', 'Garnet has 20']),
        ('shots-sv1', BELL, {'shots': 200000}, SV1, '/spec/shots', ['200000 shots', '1 to 100000']),
        ('shots-ionq', BELL, {'shots': 20000}, ['--target', 'quantum:us-east-1', '--service', 'braket-ionq-forte-1'],
         '/spec/shots', ['20000 shots', '1 to 10000']),
        ('memory-local', ghz(17), {}, ['--target', 'quantum'], '/spec/program/source',
         ['17 qubits', '2097152-byte', '1048576 bytes']),
        ('deadline-sv1', BELL, {'deadline': '2s'}, SV1, '/spec/deadline', ['2 s', 'queue latency of 5 s']),
        ('deadline-ibm', BELL, {'deadline': '10m'}, ['--target', 'quantum:us-east', '--service', 'ibm-fez'],
         '/spec/deadline', ['600 s', '3600 s']),
        ('type-sim', BELL, {'backend': {'type': 'simulator'}}, ['--target', 'quantum:us-east', '--service', 'ibm-fez'],
         '/spec/backend/type', ['QPU']),
        ('min-qubits', BELL, {'backend': {'minQubits': 40}}, SV1, '/spec/backend/minQubits', ['34 qubits', '40']),
        ('providers', BELL, {'backend': {'providers': ['ibm']}}, SV1, '/spec/backend/providers', ['braket']),
        ('devices', BELL, {'backend': {'devices': ['TN1']}}, SV1, '/spec/backend/devices', ['SV1']),
        ('no-measure', NOMEAS, {}, ['--target', 'quantum:us-east', '--service', 'ibm-fez'], '/spec/program/source',
         ['measures nothing']),
        ('wrong-region', BELL, {}, ['--target', 'quantum:eu-north-1', '--service', 'braket-sv1'], None,
         ['no offer', 'eu-north-1']),
    ]
    for name, prog, opts, target, pointer, words in cases:
        spec = write_spec(tmp, name, prog, shots=opts.get('shots', 100), backend=opts.get('backend'),
                          deadline=opts.get('deadline'))
        rc, out, err = b.run('apply', spec, *target)
        check(rc == 2, '%s: exit 2 (got %d)' % (name, rc))
        check(pointer is None or pointer in err, '%s: the message points at %s: %s' % (name, pointer, err.strip()))
        check(all(w in err for w in words), '%s: the message says %s' % (name, words))
    # every problem at once
    spec = write_spec(tmp, 'many', BELL, shots=200000, deadline='1s', backend={'minQubits': 40, 'type': 'qpu'})
    rc, _, err = b.run('apply', spec, *SV1)
    check(rc == 2 and all(p in err for p in ('/spec/shots', '/spec/deadline', '/spec/backend/minQubits',
                                              '/spec/backend/type')), 'all problems of one spec are reported: %s' % err)
    check(aws.log() == [] and ibm.log() == [], 'no request reached Braket or IBM')
    check(b.resources() == [] if os.path.exists(os.path.join(b.home, 'state.db')) else True, 'nothing was recorded')
    # deployment settings are needed for apply (not for render or plan)
    nob = Broker({'braket': {'endpoint': aws.url}}, env=AWS_ENV)
    spec = write_spec(tmp, 'nobucket', BELL, shots=100)
    rc, _, err = nob.run('apply', spec, *SV1)
    check(rc == 2 and 'outputS3Bucket is not set' in err, 'apply without an S3 bucket is refused (%d)' % rc)
    rc, out, err = nob.run('render', spec, *SV1)
    check(rc == 0 and '<settings.braket.outputS3Bucket>' in out,
          'render without a bucket works and shows a placeholder bucket (%d %s)' % (rc, err.strip()))
    nocrn = Broker({'ibm': {'endpoint': ibm.url + '/api/v1'}}, env=AWS_ENV)
    rc, _, err = nocrn.run('apply', spec, '--target', 'quantum:us-east', '--service', 'ibm-fez')
    check(rc == 2 and 'serviceCrn is not set' in err, 'apply without an IBM instance CRN is refused (%d)' % rc)
    check(aws.log() == [] and ibm.log() == [], 'still no request')
    # bad settings are refused with the key named
    for s, word in (({'memoryLimit': 'lots'}, 'memoryLimit'), ({'backends': ['dwave']}, 'dwave'),
                    ({'braket': {'regions': ['mars-1']}}, 'mars-1'), ({'colour': 1}, 'colour'),
                    ({'queueSeconds': {'braket-qpu': -1}}, 'queueSeconds.braket-qpu')):
        bb = Broker(s)
        rc, _, err = bb.run('apply', spec, '--target', 'quantum')
        check(rc != 0 and word in err, 'settings %r refused, naming %s (%d)' % (s, word, rc))
finally:
    aws.close()
    ibm.close()
finish('test_validate')
