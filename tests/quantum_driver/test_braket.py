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
accepted by the fake's botocore signature check when replayed."""
import json
import os
import sys
import tempfile
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qdtest import (Broker, EXAMPLES, Fake, SRCDIR, check, finish, no_secret, reference, write_spec)  # noqa: E402

try:
    import jsonschema
except ImportError:
    print('SKIP: python3-jsonschema is not installed')
    sys.exit(77)

KEY, SECRET = 'AKIDFAKEEXAMPLE00001', 'fakeSecretKey/EXAMPLE+00001+fedbrokerTEST'
AWS_ENV = {'AWS_ACCESS_KEY_ID': KEY, 'AWS_SECRET_ACCESS_KEY': SECRET}
SCHEMAS = os.path.join(SRCDIR, 'tests', 'fakes', 'reference', 'braket')
bell = os.path.join(EXAMPLES, 'quantum-bell.yaml')
TARGET = ['--target', 'quantum:us-east-1', '--service', 'braket-sv1']


def schema(name):
    with open(os.path.join(SCHEMAS, name)) as f:
        return json.load(f)


def ops(log, op):
    return [e for e in log if e.get('operation') == op]


fake = Fake('fake_aws.py', '--braket-polls', '2')
try:
    settings = {'braket': {'endpoint': fake.url, 'outputS3Bucket': 'fedbroker-test-results',
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
    check(result.get('outputS3', '').startswith('s3://fedbroker-test-results/tasks/') and 'counts' not in result,
          'result: the S3 output location, no invented counts')
    check(b.results('bell-pair') and b.results('bell-pair')[0]['result']['taskArn'] == arn, 'the result is stored')
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
    rc, _, _ = b.run('destroy', '--workload', 'bell-pair')
    check(rc == 0, 'destroy again: nothing left, success')

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
