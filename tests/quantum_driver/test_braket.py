#!/usr/bin/python3
"""The Braket backend against tests/fakes/fake_aws.py through the real CLI.

The fake recomputes every SigV4 signature with botocore, validates the
CreateQuantumTask body against the botocore Braket model and the `action`
and `deviceParameters` JSON against the Braket schemas; it completes a task
after --braket-polls GetQuantumTask calls and cancels with
CancelQuantumTask. On top of that this test checks, independently: the
action against the Braket program schema with python3-jsonschema, that its
OpenQASM 3 source has the same exact distribution as the spec's program in
the reference simulator, the idempotent clientToken, status, destroy of a
finished and of a running task, and a dry run that is byte-for-byte
reproducible with FEDBROKER_NOW, shows Authorization but no secret, and is
accepted by the fake's botocore signature check when replayed.

Results: the fake writes each completed task's results.json (a
GateModelTaskResult sampled from the independent reference simulator
qasmref, one column per measured qubit) to its S3, which checks every
GetObject signature with botocore's S3SigV4Auth. The counts the driver
stores pass a chi-square test against qasmref's exact probabilities (a Bell
pair, a 3-qubit circuit measured in a shuffled order into two registers)
and agree with the local backend (homogeneity); deterministic circuits pin
the bit order; counts from measurementProbabilities are the exact
probabilities times the shots; a missing results.json is a warning without
counts; a foreign schema header, a malformed result and a wrong S3 region are
refused; the driver's own GetObject replayed is accepted and refused once
its signature or key is tampered with; the fake's S3 check is also driven
directly with botocore."""
import json
import os
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qdtest import (Broker, EXAMPLES, Fake, SRCDIR, check, chi_square, finish, no_secret, reference,  # noqa: E402
                    two_sample_chi2, write_spec)

try:
    import jsonschema
except ImportError:
    print('SKIP: python3-jsonschema is not installed')
    sys.exit(77)

KEY, SECRET = 'AKIDFAKEEXAMPLE00001', 'fakeSecretKey/EXAMPLE+00001+fedbrokerTEST'
AWS_ENV = {'AWS_ACCESS_KEY_ID': KEY, 'AWS_SECRET_ACCESS_KEY': SECRET}
SCHEMAS = os.path.join(SRCDIR, 'tests', 'reference', 'braket')
bell = os.path.join(EXAMPLES, 'quantum-bell.yaml')
TARGET = ['--target', 'quantum:us-east-1', '--service', 'braket-sv1']


def schema(name):
    with open(os.path.join(SCHEMAS, name)) as f:
        return json.load(f)


def ops(log, op):
    return [e for e in log if e.get('operation') == op]


ALPHA = 1e-4
tmp = tempfile.mkdtemp(prefix='fbq-braket-')


def http(method, url, headers=None):
    """(status, body text) of a plain HTTP request."""
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def replay(entry, url, **change):
    """Sends a logged request again, with headers changed (None drops one)."""
    h = {k: v for k, v in entry['headers'] if k.lower() not in ('host', 'content-length', 'accept-encoding')}
    for k, v in change.items():
        k = k.replace('_', '-')
        h = {hk: hv for hk, hv in h.items() if hk.lower() != k.lower()}
        if v is not None:
            h[k] = v
    return http(entry['method'], url, h)


def botocore_get(base, bucket, key, secret=SECRET, region='us-east-1', tamper=False):
    """GetObject signed independently by botocore's S3SigV4Auth."""
    url = '%s/%s/%s' % (base, bucket, urllib.parse.quote(key, safe='/~'))
    req = AWSRequest(method='GET', url=url)
    botocore.auth.S3SigV4Auth(Credentials(KEY, secret), 's3', region).add_auth(req)
    h = dict(req.headers.items())
    if tamper:
        sig = h['Authorization'][-64:]
        h['Authorization'] = h['Authorization'][:-64] + ('0' if sig[0] != '0' else '1') + sig[1:]
    return http('GET', url, h)


def xml_code(text):
    import xml.etree.ElementTree as ET
    try:
        return ET.fromstring(text).findtext('Code')
    except ET.ParseError:
        return None


fake = Fake('fake_aws.py', '--braket-polls', '2')
try:
    settings = {'braket': {'endpoint': fake.url, 's3Endpoint': fake.url, 'outputS3Bucket': 'fedbroker-test-results',
                           'outputS3KeyPrefix': 'tasks'}}
    b = Broker(settings, env=AWS_ENV)
    rc, out, err = b.json('apply', bell, *TARGET)
    check(rc == 0, 'apply on braket-sv1 exits 0 (%d: %s)' % (rc, err.strip()))
    log = fake.log()
    creates = ops(log, 'CreateQuantumTask')
    check(len(creates) == 1 and creates[0]['status'] == 201,
          'the fake (botocore signature + model + schema checks) accepted CreateQuantumTask: %r'
          % [(e['status'], e.get('error')) for e in creates])
    gets = ops(log, 'GetQuantumTask')
    check(len(gets) == 3 and all(e['status'] == 200 for e in gets), 'polled GetQuantumTask until COMPLETED (%d gets)' % len(gets))
    check(all(e['status'] < 400 for e in log), 'no request was refused: %r' % [e.get('error') for e in log if e['status'] >= 400])
    body = json.loads(creates[0]['body']) if creates else {}
    action = json.loads(body.get('action', '{}'))
    errs = list(jsonschema.Draft7Validator(schema('braket.ir.openqasm.program_v1.schema.json')).iter_errors(action))
    check(not errs, 'action validates against the Braket program schema: %s' % [e.message for e in errs])
    dp = json.loads(body.get('deviceParameters', '{}'))
    errs = list(jsonschema.Draft7Validator(schema(
        'braket.device_schema.simulators.gate_model_simulator_device_parameters_v1.schema.json')).iter_errors(dp))
    check(not errs and dp['paradigmParameters']['qubitCount'] == 2, 'deviceParameters validate, qubitCount 2')
    check(body.get('deviceArn') == 'arn:aws:braket:::device/quantum-simulator/amazon/sv1' and body.get('shots') == 2000
          and body.get('outputS3Bucket') == 'fedbroker-test-results' and body.get('outputS3KeyPrefix') == 'tasks',
          'device, shots and output location as configured')
    check(body.get('tags', {}).get('managed-by') == 'fedbroker' and body['tags'].get('workload') == 'bell-pair',
          'tags name the workload')
    src = action.get('source', '')
    check(src.startswith('OPENQASM 3.0;'), 'the action is OpenQASM 3')
    a, r = reference(src, is_text=True), reference(os.path.join(EXAMPLES, 'bell.qasm'))
    check(set(a) == set(r) and all(abs(a[k] - r[k]) < 1e-12 for k in a),
          'the sent OpenQASM 3 has the same distribution as the program (reference simulator)')
    item = out[0] if out else {}
    state, result = item.get('state', {}), item.get('result', {})
    arn = state.get('taskArn', '')
    check(state.get('status') == 'COMPLETED' and arn.startswith('arn:aws:braket:us-east-1:123456789012:quantum-task/'),
          'state: COMPLETED task %s' % arn)
    check(result.get('outputS3', '').startswith('s3://fedbroker-test-results/tasks/') and
          result.get('results') == result['outputS3'] + '/results.json', 'result: the S3 output location and results.json')
    gets3 = ops(log, 'GetObject')
    task_id = arn.rsplit('/', 1)[-1]
    check(len(gets3) == 1 and gets3[0]['status'] == 200 and
          gets3[0]['path'] == '/fedbroker-test-results/tasks/%s/results.json' % task_id,
          'results.json was read once from <bucket>/<prefix>/<task id>/results.json, path style, signature accepted')
    counts = result.get('counts', {})
    ref = reference(os.path.join(EXAMPLES, 'bell.qasm'))
    p, stat, dof, bad = chi_square(counts, ref, 2000)
    check(sum(counts.values()) == 2000 and set(counts) <= {'00', '11'} and bad is None and p >= ALPHA,
          'Bell counts from Braket vs the reference: chi2 %.2f dof %d p %.3g %s %r' % (stat, dof, p, bad or '', counts))
    check(result.get('countsFrom') == 'measurements' and result.get('layout') == 'c' and
          result.get('measuredQubits') == [0, 1], 'counts come from the measurements, layout "c"')
    h = dict(gets3[0]['headers']) if gets3 else {}
    check(h.get('Authorization', '').startswith('AWS4-HMAC-SHA256 Credential=%s/' % KEY) and '/us-east-1/s3/aws4_request'
          in h.get('Authorization', '') and h.get('X-Amz-Content-SHA256') ==
          'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
          'the GET is signed for s3 in the task region with the empty-payload hash')
    if gets3:
        url = fake.url + gets3[0]['path']
        code, text = replay(gets3[0], url)
        check(code == 200 and json.loads(text)['taskMetadata']['id'] == arn,
              'the driver\'s GetObject replayed: the fake accepts it (%d)' % code)
        auth = h.get('Authorization', '')
        code, text = replay(gets3[0], url, Authorization=auth[:-1] + ('0' if auth[-1] != '0' else '1'))
        check(code == 403 and xml_code(text) == 'SignatureDoesNotMatch',
              'the same GET with a tampered signature is refused: %d %s' % (code, xml_code(text)))
        code, text = replay(gets3[0], url.replace('results.json', 'results.jsom'))
        check(code == 403 and xml_code(text) == 'SignatureDoesNotMatch', 'the signed GET for another key is refused (%d)'
              % code)
        code, text = replay(gets3[0], url, X_Amz_Content_SHA256=None)
        check(code == 400 and xml_code(text) == 'InvalidRequest', 'without x-amz-content-sha256: 400 (%d)' % code)
    check(b.results('bell-pair') and b.results('bell-pair')[0]['result'].get('counts') == counts,
          'the counts are stored with the job')
    rc, text, err = b.run('results', '--workload', 'bell-pair')
    check(rc == 0 and all(k in text and str(v) in text for k, v in counts.items()),
          '`fedbroker results` prints the counts (%d %s)' % (rc, err.strip()))
    check(b.results('bell-pair') and b.results('bell-pair')[0]['result']['taskArn'] == arn, 'the result is stored')
    check(fake.control('GET', 'state')['braket_tasks'][arn].get('resultKey', '').endswith(task_id + '/results.json'),
          'the fake wrote results.json under the task id')
    check(any(r[1] == 'braket-quantum-task' and r[2] == arn for r in b.resources()), 'the task ARN was recorded')
    check(no_secret(json.dumps(out) + err, SECRET), 'no secret in the output')

    # clientToken: a retried apply (a fresh store) gets the same task back
    b2 = Broker(settings, env=AWS_ENV)
    rc, out2, err = b2.json('apply', bell, *TARGET)
    creates = ops(fake.log(), 'CreateQuantumTask')
    check(rc == 0 and out2[0]['state']['taskArn'] == arn, 'the same job gets the same task (clientToken)')
    check(len(creates) == 2 and json.loads(creates[0]['body'])['clientToken'] == json.loads(creates[1]['body'])['clientToken'],
          'the clientToken is deterministic')
    # re-apply with the stored deployment: no second create
    rc, out3, _ = b.json('apply', bell, *TARGET)
    check(rc == 0 and len(ops(fake.log(), 'CreateQuantumTask')) == 2 and out3[0]['state']['taskArn'] == arn,
          're-apply reuses the stored task (no new CreateQuantumTask)')

    rc, st, err = b.json('status')
    check(rc == 0 and st[0]['status'] == 'ready', 'status: ready (%d %r %s)' % (rc, st, err))
    n_before = len(fake.log())
    rc, so, err = b.run('destroy', '--workload', 'bell-pair')
    cancels = ops(fake.log()[n_before:], 'CancelQuantumTask')
    check(rc == 0 and len(cancels) == 1 and cancels[0]['status'] == 409,
          'destroy of a finished task: CancelQuantumTask answers 409 and destroy succeeds (%d %s)' % (rc, err))
    rc, _, _ = b.run('destroy', '--all')
    check(rc == 0, 'destroy again: nothing left, success')
    rc, _, _ = b.run('destroy', '--workload', 'bell-pair')
    check(rc == 2, 'destroy --workload of a name nothing matches any more: exit 2 (issue 11)')

    # provider errors and vanished tasks, seen by status (observe)
    fake.control('POST', 'faults', {'count': 50, 'status': 500, 'service': 'braket', 'operation': 'GetQuantumTask'})
    rc, st, err = b2.json('status')
    check(rc == 1 and st[0]['status'] == 'error' and 'HTTP 500' in json.dumps(st[0]['diagnostics']) + err,
          'status: a Braket 500 is an error with a diagnostic (%d %r)' % (rc, st))
    fake.control('DELETE', 'faults')
    fake.reset()
    rc, st, _ = b2.json('status')
    check(rc == 4 and st[0]['status'] == 'missing', 'status: a task Braket no longer knows is missing (%d)' % rc)
    rc, _, err = b2.run('destroy', '--workload', 'bell-pair')
    cancels = ops(fake.log(), 'CancelQuantumTask')
    check(rc == 0 and len(cancels) == 1 and cancels[0]['status'] == 404, 'destroy of a vanished task succeeds (%d %s)'
          % (rc, err))
finally:
    fake.close()

# Counts: distributions, bit order, probabilities, missing and malformed
# results, the fake's S3 check driven with botocore.
WIDE = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg a[1];
creg b[2];
ry(0.9) q[0];
h q[1];
cx q[1],q[2];
ry(2.1) q[2];
measure q[2] -> a[0];
measure q[0] -> b[1];
measure q[1] -> b[0];
"""
ONLY_Q0 = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg c[3];
x q[0];
measure q -> c;
"""
SHUFFLED = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg c[3];
x q[0];
measure q[2] -> c[1];
measure q[0] -> c[2];
measure q[1] -> c[0];
"""
PINNED = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg a[1];
creg b[2];
x q[0];
x q[2];
measure q[0] -> a[0];
measure q[1] -> b[0];
measure q[2] -> b[1];
"""
DYNAMIC = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[1];
creg d[1];
h q[0];
measure q[0] -> c[0];
if (c==1) x q[1];
measure q[1] -> d[0];
"""
BUCKET = 'fedbroker-test-results'
fake = Fake('fake_aws.py', '--braket-polls', '1')
try:
    settings = {'braket': {'endpoint': fake.url, 's3Endpoint': fake.url, 'outputS3Bucket': BUCKET}}
    b = Broker(settings, env=AWS_ENV)
    shots = 20000
    spec = write_spec(tmp, 'wide-braket', WIDE, shots=shots, seed=5)
    rc, out, err = b.json('apply', spec, *TARGET)
    res = out[0].get('result', {}) if rc == 0 else {}
    wide = res.get('counts', {})
    check(rc == 0 and sum(wide.values()) == shots and res.get('layout') == 'b a' and res.get('clbits') == 3,
          'a 3-qubit job in two registers: %d shots counted, layout "b a" (%d %s)' % (sum(wide.values()), rc, err.strip()))
    check(res.get('measuredQubits') == [2, 0, 1], 'Braket reported the qubits in measurement order [2, 0, 1]: %r'
          % res.get('measuredQubits'))
    ref = reference(WIDE, is_text=True)
    p, stat, dof, bad = chi_square(wide, ref, shots)
    check(bad is None and p >= ALPHA and set(wide) <= set(ref),
          'Braket counts vs the reference: chi2 %.2f dof %d p %.3g %s' % (stat, dof, p, bad or ''))
    lspec = write_spec(tmp, 'wide-local', WIDE, shots=shots, seed=5)
    rc, lout, err = b.json('apply', lspec, '--target', 'quantum')
    local = lout[0]['result']['counts'] if rc == 0 else {}
    p, stat, dof = two_sample_chi2(wide, local)
    check(rc == 0 and p >= ALPHA, 'Braket vs local counts (homogeneity): chi2 %.2f dof %d p %.3g' % (stat, dof, p))

    # the bit order, pinned: X on q[0] only, measured into c[0], is "001"
    for name, prog, want in (('only-q0', ONLY_Q0, {'001': 64}), ('shuffled', SHUFFLED, {'100': 64}),
                             ('pinned', PINNED, {'10 1': 64})):
        spec = write_spec(tmp, name, prog, shots=64)
        rc, out, err = b.json('apply', spec, *TARGET)
        got = out[0].get('result', {}).get('counts') if rc == 0 else None
        rc2, lout, _ = b.json('apply', write_spec(tmp, name + '-local', prog, shots=64), '--target', 'quantum')
        lgot = lout[0]['result']['counts'] if rc2 == 0 else None
        check(got == want and lgot == want, '%s: Braket counts %r, local %r, want %r (%s)' % (name, got, lgot, want,
                                                                                          err.strip()))

    # counts from measurementProbabilities: the exact probabilities x shots
    fake.control('POST', 'braket-results', {'format': 'probabilities'})
    spec = write_spec(tmp, 'wide-probs', WIDE, shots=999)
    rc, out, err = b.json('apply', spec, *TARGET)
    res = out[0].get('result', {}) if rc == 0 else {}
    pc = res.get('counts', {})
    check(rc == 0 and res.get('countsFrom') == 'measurementProbabilities' and sum(pc.values()) == 999 and
          set(pc) == {k for k, v in ref.items() if v * 999 >= 1} and
          all(abs(pc[k] - ref[k] * 999) < 1 for k in pc), 'counts from measurementProbabilities are the reference '
          'probabilities x 999 shots, each within 1, adding up to 999: %r (%s)' % (pc, err.strip()))
    fake.control('POST', 'braket-results', {'format': 'both'})
    rc, out, err = b.json('apply', write_spec(tmp, 'both', ONLY_Q0, shots=10), *TARGET)
    check(rc == 0 and out[0]['result'].get('countsFrom') == 'measurements' and out[0]['result']['counts'] == {'001': 10},
          'with both, the measurements are counted')

    # no results.json: a warning, status and location, no counts
    fake.control('POST', 'braket-results', {'format': 'none'})
    n = len(fake.log())
    rc, out, err = b.json('apply', write_spec(tmp, 'missing', ONLY_Q0, shots=10), *TARGET)
    res = out[0].get('result', {}) if rc == 0 else {}
    g = ops(fake.log()[n:], 'GetObject')
    check(rc == 0 and 'counts' not in res and res.get('status') == 'COMPLETED' and res.get('outputS3', '').startswith(
          's3://' + BUCKET) and 'no counts' in res.get('note', ''), 'missing results.json: status and location, no '
          'counts (%d %r)' % (rc, res))
    check('warning' in err and 'results.json does not exist' in err and len(g) == 1 and g[0]['status'] == 404 and
          g[0]['error']['code'] == 'NoSuchKey', 'missing results.json: the fake answers 404 NoSuchKey and apply warns: %s'
          % err.strip())
    check(b.results('missing') and 'counts' not in b.results('missing')[0]['result'], 'the stored result has no counts')
    fake.control('POST', 'braket-results', {'format': 'measurements'})

    # a result that is not a gate-model result, or malformed: refused with the reason
    rc, out, err = b.json('apply', write_spec(tmp, 'tampered', ONLY_Q0, shots=8), *TARGET)
    st = out[0]['state'] if rc == 0 else {}
    key = '%s/results.json' % fake.control('GET', 'state')['braket_tasks'][st.get('taskArn')]['outputS3Directory'] \
        if rc == 0 else ''
    good = botocore_get(fake.url, BUCKET, key)[1]
    for what, edit, want in (
            ('an annealing result', lambda d: d['braketSchemaHeader'].update(name='braket.task_result.annealing_task_result'),
             'braketSchemaHeader is braket.task_result.annealing_task_result 1, not braket.task_result.gate_model_task_result'),
            ('version 2', lambda d: d['braketSchemaHeader'].update(version='2'), 'gate_model_task_result 2, not'),
            ('short rows', lambda d: d['measurements'][3].pop(), 'measurements[3] has 2 entries; measuredQubits has 3'),
            ('another task', lambda d: d['taskMetadata'].update(id='arn:aws:braket:us-east-1:123456789012:quantum-task/x'),
             'taskMetadata.id is arn:aws:braket:us-east-1:123456789012:quantum-task/x, not this task'),
            ('no outcomes', lambda d: d.pop('measurements'), 'neither measurements nor measurementProbabilities'),
            ('a qubit missing', lambda d: (d.update(measuredQubits=[0, 1]), [r.pop() for r in d['measurements']]),
             'measuredQubits lacks qubit 2, which the program measures into c[2]')):
        doc = json.loads(good)
        edit(doc)
        fake.control('POST', 's3-object', {'bucket': BUCKET, 'key': key, 'body': json.dumps(doc)})
        rc, _, err = b.json('apply', write_spec(tmp, 'tampered', ONLY_Q0, shots=8), *TARGET)
        check(rc != 0 and want in err and 'not a result this driver can read' in err,
              '%s is refused: %d %s' % (what, rc, err.strip()[:300]))
    fake.control('POST', 's3-object', {'bucket': BUCKET, 'key': key, 'body': good})
    rc, out, err = b.json('apply', write_spec(tmp, 'tampered', ONLY_Q0, shots=8), *TARGET)
    check(rc == 0 and out[0]['result']['counts'] == {'001': 8}, 'the original result reads again (%d %s)'
          % (rc, err.strip()))

    # a bucket in another region than the one signed for: S3 refuses, the driver says what to set
    wrong = Broker({'braket': dict(settings['braket'], s3Region='eu-west-2')}, env=AWS_ENV)
    rc, _, err = wrong.run('apply', write_spec(tmp, 'tampered', ONLY_Q0, shots=8), *TARGET)
    check(rc != 0 and 'AuthorizationHeaderMalformed' in err and 's3Region' in err,
          'S3 signed for the wrong region: refused, the diagnostic names s3Region (%d %s)' % (rc, err.strip()[:300]))

    # a dynamic program: Braket's per-qubit results cannot give its bits
    n = len(fake.log())
    rc, out, err = b.json('apply', write_spec(tmp, 'dynamic', DYNAMIC, shots=10), *TARGET)
    check(rc == 0 and 'counts' not in out[0].get('result', {}) and 'counts are not read' in err and
          not ops(fake.log()[n:], 'GetObject'), 'a dynamic program: completed, no counts, a warning (%d %s)'
          % (rc, err.strip()[:200]))

    # the fake's S3 check itself, driven by botocore
    code, text = botocore_get(fake.url, BUCKET, key)
    check(code == 200 and json.loads(text)['braketSchemaHeader']['name'] == 'braket.task_result.gate_model_task_result',
          'botocore-signed GetObject: 200 with the result')
    code, text = botocore_get(fake.url, BUCKET, key, tamper=True)
    check(code == 403 and xml_code(text) == 'SignatureDoesNotMatch', 'tampered signature: 403 SignatureDoesNotMatch')
    code, text = botocore_get(fake.url, BUCKET, key, secret='not-the-secret')
    check(code == 403 and xml_code(text) == 'SignatureDoesNotMatch', 'wrong secret: 403 SignatureDoesNotMatch')
    code, text = botocore_get(fake.url, BUCKET, 'no/such/results.json')
    check(code == 404 and xml_code(text) == 'NoSuchKey' and '<Key>no/such/results.json</Key>' in text,
          'missing key: 404 NoSuchKey naming the key')
    code, text = botocore_get(fake.url, 'no-such-bucket', key)
    check(code == 404 and xml_code(text) == 'NoSuchBucket', 'missing bucket: 404 NoSuchBucket')
    code, text = botocore_get(fake.url, BUCKET, key, region='eu-west-2')
    check(code == 400 and xml_code(text) == 'AuthorizationHeaderMalformed', 'signed for another region: 400')
    code, text = http('GET', '%s/%s/%s' % (fake.url, BUCKET, key))
    check(code == 403 and xml_code(text) == 'AccessDenied', 'unsigned: 403 AccessDenied')
finally:
    fake.close()

# A task that does not finish within the timeout: apply leaves it running,
# status says pending, destroy cancels it.
slow = Fake('fake_aws.py', '--braket-polls', '1000')
try:
    settings = {'braket': {'endpoint': slow.url, 'outputS3Bucket': 'fedbroker-test-results',
                           'pollIntervalMs': 1000, 'timeoutSeconds': 5}}
    b = Broker(settings, env=AWS_ENV)
    rc, out, err = b.json('apply', bell, *TARGET)
    check(rc == 0 and out[0]['state']['status'] in ('QUEUED', 'RUNNING') and 'result' not in out[0],
          'a task still running after the timeout is kept, without a result (%d)' % rc)
    check('still' in err and 'fedbroker destroy' in err, 'apply warns that the task is still running: %s' % err.strip())
    check(len(ops(slow.log(), 'GetQuantumTask')) == 6, 'polled 5 s / 1 s + 1 = 6 times')
    rc, st, _ = b.json('status')
    check(rc == 4 and st[0]['status'] == 'pending', 'status: pending, exit 4 (%d)' % rc)
    rc, _, err = b.run('destroy', '--workload', 'bell-pair')
    cancels = ops(slow.log(), 'CancelQuantumTask')
    tasks = slow.control('GET', 'state')['braket_tasks']
    check(rc == 0 and len(cancels) == 1 and cancels[0]['status'] == 200 and
          all(t['status'] in ('CANCELLING', 'CANCELLED') for t in tasks.values()),
          'destroy cancels the running task (%d %s)' % (rc, err))
finally:
    slow.close()

# Dry run: the exact request, signed, reproducible, without secrets.
fake = Fake('fake_aws.py')
try:
    b = Broker({'braket': {'endpoint': fake.url, 'outputS3Bucket': 'fedbroker-test-results'}}, env=AWS_ENV)
    now = {'FEDBROKER_NOW': '2026-03-04T05:06:07Z'}
    rc1, d1, e1 = b.run('apply', bell, *TARGET, '--dry-run', env=now)
    rc2, d2, e2 = b.run('apply', bell, *TARGET, '--dry-run', env=now)
    check(rc1 == 0 and rc2 == 0 and d1 == d2, 'dry run is byte-for-byte reproducible with FEDBROKER_NOW (%s)' % e1.strip())
    reqs = json.loads(d1) if rc1 == 0 else []
    check(len(reqs) == 1 and reqs[0]['method'] == 'POST' and reqs[0]['url'] == fake.url + '/quantum-task',
          'dry run shows one CreateQuantumTask request')
    h = reqs[0]['headers'] if reqs else {}
    check(h.get('Authorization', '').startswith('AWS4-HMAC-SHA256 Credential=%s/20260304/us-east-1/braket/aws4_request' % KEY)
          and h.get('X-Amz-Date') == '20260304T050607Z', 'the request carries its SigV4 Authorization at the fixed time')
    check(no_secret(d1 + e1, SECRET), 'no secret in the dry-run output')
    check(fake.log() == [], 'a dry run sends nothing')
    check(not os.path.exists(os.path.join(b.home, 'state.db')) or b.results() == [], 'a dry run stores nothing')
    # the printed request is the one that would be sent: the fake's botocore check accepts it
    if reqs:
        req = urllib.request.Request(reqs[0]['url'], data=reqs[0]['body'].encode(), method='POST',
                                     headers={k: v for k, v in h.items()})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                code = r.status
        except urllib.error.HTTPError as e:
            code = e.code
            print(e.read().decode()[:2000])
        check(code == 201, 'replaying the dry-run request: the fake accepts signature and body (HTTP %d)' % code)
finally:
    fake.close()

# A QPU job renders the IonQ device parameters; the fake knows simulators only.
tmp = tempfile.mkdtemp(prefix='fbq-braket-')
spec = write_spec(tmp, 'ionq-bell', open(os.path.join(EXAMPLES, 'bell.qasm')).read(), shots=100, seed=1)
b = Broker({'braket': {'outputS3Bucket': 'fedbroker-test-results'}})
rc, text, err = b.run('render', spec, '--target', 'quantum:us-east-1', '--service', 'braket-ionq-forte-1')
doc = json.loads(text) if rc == 0 else None
body = doc[0]['documents'][0]['body'] if rc == 0 and doc else {}
check(rc == 0 and body.get('deviceArn') == 'arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1' and
      json.loads(body['deviceParameters'])['braketSchemaHeader']['name'] == 'braket.device_schema.ionq.ionq_device_parameters',
      'render for IonQ Forte names its ARN and device parameters (%d %s)' % (rc, err.strip()))
finish('test_braket')
