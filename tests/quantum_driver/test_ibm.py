#!/usr/bin/python3
"""The IBM Quantum backend against tests/fakes/fake_ibm.py through the real
CLI: IAM token exchange, job submission (the fake checks the bearer token,
the Service-CRN header, the job document and that the circuit is OpenQASM 3
the independent reference parser accepts), polling, results converted to
counts. The counts must have the same bit order and distribution as the
local backend's on the same circuit (two-sample chi-square) and as the
reference simulator's exact probabilities (goodness of fit); a
deterministic two-register circuit pins the bit order exactly. Also:
status, destroy of a finished and of a running job, refused credentials and
instance, a dry run without secrets."""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qdtest import (Broker, Fake, check, chi_square, finish, no_secret, reference, two_sample_chi2,  # noqa: E402
                    write_spec)

ALPHA = 1e-4
KEY = 'fake-ibm-api-key-0001'
CRN = 'crn:v1:bluemix:public:quantum-computing:us-east:a/f00dfeed0123456789abcdef:0b5e55ed-fa4e-4b3c-9d1e-feedfacecafe::'
TARGET = ['--target', 'quantum:us-east', '--service', 'ibm-fez']
tmp = tempfile.mkdtemp(prefix='fbq-ibm-')


def settings(fake, **kw):
    s = {'endpoint': fake.url + '/api/v1', 'iamEndpoint': fake.url + '/identity/token', 'serviceCrn': CRN,
         'pollIntervalMs': 1000}
    s.update(kw)
    return {'ibm': s}


def calls(log, method, suffix):
    return [e for e in log if e['method'] == method and e['path'].endswith(suffix)]


WIDE = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[4];
creg a[1];
creg b[3];
h q[0];
cx q[0],q[1];
ry(1.1) q[2];
cx q[2],q[3];
x q[1];
measure q[0] -> a[0];
measure q[1] -> b[0];
measure q[2] -> b[1];
measure q[3] -> b[2];
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

fake = Fake('fake_ibm.py', '--polls', '2')
try:
    b = Broker(settings(fake), env={'IQP_API_TOKEN': KEY})
    shots = 20000
    spec = write_spec(tmp, 'wide-ibm', WIDE, shots=shots, seed=3, backend={'type': 'qpu', 'providers': ['ibm']})
    rc, out, err = b.json('apply', spec, *TARGET)
    check(rc == 0, 'apply on ibm-fez exits 0 (%d: %s)' % (rc, err.strip()))
    log = fake.log()
    iam = calls(log, 'POST', '/identity/token')
    check(len(iam) == 1 and iam[0]['status'] == 200, 'the API key was exchanged for a bearer token at IAM')
    posts = calls(log, 'POST', '/api/v1/jobs')
    check(len(posts) == 1 and posts[0]['status'] == 200, 'the fake accepted the job (token, Service-CRN, document, '
          'OpenQASM 3 circuit): %r' % [(e['status'], e.get('error')) for e in posts])
    job = json.loads(posts[0]['body']) if posts else {}
    hdr = posts[0]['headers'] if posts else {}
    check(hdr.get('Service-CRN') == CRN and hdr.get('Authorization', '').startswith('Bearer fake-ibm-token-'),
          'Service-CRN and the IAM bearer token are sent')
    pub = job.get('params', {}).get('pubs', [[None]])[0]
    check(job.get('program_id') == 'sampler' and job.get('backend') == 'ibm_fez' and len(pub) == 3 and pub[2] == shots
          and pub[0].startswith('OPENQASM 3.0;'), 'a Sampler V2 job for ibm_fez with one pub [OpenQASM 3, null, shots]')
    job_id = out[0]['state'].get('jobId', '?') if rc == 0 else '?'
    gets = [e for e in log if e['method'] == 'GET' and e['path'].endswith('/jobs/' + job_id)]
    check(len(gets) == 3, 'polled GET /jobs/{id} until Completed (%d)' % len(gets))
    check(len(calls(log, 'GET', '/results')) == 1, 'read the results once')
    res = out[0].get('result', {}) if rc == 0 else {}
    ibm_counts = res.get('counts', {})
    check(sum(ibm_counts.values()) == shots and res.get('layout') == 'b a', 'counts add up, layout "b a"')
    ref = reference(WIDE, is_text=True)
    p, stat, dof, bad = chi_square(ibm_counts, ref, shots)
    check(bad is None and p >= ALPHA, 'IBM counts vs the reference: chi2 %.2f dof %d p %.3g %s' % (stat, dof, p, bad or ''))
    # the local backend on the same circuit
    lspec = write_spec(tmp, 'wide-local', WIDE, shots=shots, seed=3)
    rc, lout, err = b.json('apply', lspec, '--target', 'quantum')
    local_counts = lout[0]['result']['counts'] if rc == 0 else {}
    check(set(ibm_counts) <= set(ref) and set(local_counts) <= set(ref), 'both backends give only possible outcomes')
    p, stat, dof = two_sample_chi2(ibm_counts, local_counts)
    check(rc == 0 and p >= ALPHA, 'IBM vs local counts (homogeneity): chi2 %.2f dof %d p %.3g' % (stat, dof, p))
    check(b.results('wide-ibm') and b.results('wide-ibm')[0]['result']['counts'] == ibm_counts, 'the result is stored')
    check(no_secret(json.dumps(out) + err, KEY) and 'fake-ibm-token-' not in json.dumps(out) + err,
          'neither the API key nor the token appears in the output')

    # exact bit order: x on q[0] (a[0]) and q[2] (b[1])
    pspec = write_spec(tmp, 'pinned', PINNED, shots=50, backend={'type': 'qpu'})
    rc, pout, err = b.json('apply', pspec, *TARGET)
    check(rc == 0 and pout[0]['result']['counts'] == {'10 1': 50}, 'bit order: every shot reads "10 1" (%r %s)'
          % (pout[0].get('result', {}).get('counts') if rc == 0 else None, err.strip()))
    lpin = write_spec(tmp, 'pinned-local', PINNED, shots=50)
    rc, lp, _ = b.json('apply', lpin, '--target', 'quantum')
    check(rc == 0 and lp[0]['result']['counts'] == {'10 1': 50}, 'the local backend reads the same "10 1"')

    rc, st, err = b.json('status', '--workload', 'wide-ibm')
    check(rc == 0 and st[0]['status'] == 'ready', 'status: ready (%d %s)' % (rc, err))
    rc, _, err = b.run('destroy', '--workload', 'wide-ibm')
    cancels = calls(fake.log(), 'POST', '/cancel')
    check(rc == 0 and len(cancels) == 1 and cancels[0]['status'] == 409, 'destroy of a finished job: cancel answers '
          '409 and destroy succeeds (%d %s)' % (rc, err))

    # a job IBM no longer knows: status says missing, destroy succeeds
    fake.reset()
    rc, st, _ = b.json('status', '--workload', 'pinned')
    check(rc == 4 and st[0]['status'] == 'missing', 'status: a vanished job is missing (%d %r)' % (rc, st))
    rc, _, err = b.run('destroy', '--workload', 'pinned')
    check(rc == 0 and calls(fake.log(), 'POST', '/cancel')[-1]['status'] == 404, 'destroy of a vanished job succeeds')

    # refused credentials and instance: nothing is created
    n = len(fake.log())
    bad_key = Broker(settings(fake), env={'IQP_API_TOKEN': 'not-a-key'})
    rc, _, err = bad_key.run('apply', spec, *TARGET)
    check(rc == 2 and 'IAM refused the API key' in err and not calls(fake.log()[n:], 'POST', '/api/v1/jobs'),
          'a wrong API key is refused at IAM, no job is created (%d %s)' % (rc, err.strip()))
    check(no_secret(err, 'not-a-key'), 'the refused key is not printed')
    bad_crn = Broker(settings(fake, serviceCrn=CRN.replace('us-east', 'eu-de')), env={'IQP_API_TOKEN': KEY})
    rc, _, err = bad_crn.run('apply', spec, *TARGET)
    check(rc == 2 and 'HTTP 403' in err, 'another instance CRN is refused (%d %s)' % (rc, err.strip()))
    nocred = Broker(settings(fake))
    rc, _, err = nocred.run('apply', spec, *TARGET)
    check(rc == 2 and 'no IBM Quantum credentials' in err, 'no credentials: says where it looked (%d)' % rc)
    keyfile = os.path.join(tmp, 'ibm-key')
    with open(keyfile, 'w') as f:
        f.write(KEY + '\n')
    viafile = Broker(settings(fake, apiKeyFile=keyfile))
    rc, _, err = viafile.run('apply', pspec, *TARGET)
    check(rc == 0, 'the API key can come from settings.ibm.apiKeyFile (%d %s)' % (rc, err.strip()))

    # dry run: the IAM and job requests, no secrets
    rc, d1, e1 = b.run('apply', spec, *TARGET, '--dry-run')
    reqs = json.loads(d1) if rc == 0 else []
    check(rc == 0 and [r['url'] for r in reqs] == [fake.url + '/identity/token', fake.url + '/api/v1/jobs'],
          'dry run shows the IAM exchange and the job submission (%s)' % e1.strip())
    check(no_secret(d1 + e1, KEY), 'dry run: the API key is redacted')
    odd = 'sec/ret+key=1'
    rc, d2, e2 = b.run('apply', spec, *TARGET, '--dry-run', env={'IQP_API_TOKEN': odd})
    check(rc == 0 and no_secret(d2 + e2, odd, 'sec%2Fret%2Bkey%3D1'),
          'dry run: a key with reserved characters is redacted raw and percent-encoded')
finally:
    fake.close()

# a job still queued after the timeout is left running; destroy cancels it
slow = Fake('fake_ibm.py', '--polls', '1000')
try:
    b = Broker(settings(slow, timeoutSeconds=3), env={'IQP_API_TOKEN': KEY})
    spec = write_spec(tmp, 'slow-ibm', PINNED, shots=10, backend={'type': 'qpu'})
    rc, out, err = b.json('apply', spec, *TARGET)
    check(rc == 0 and out[0]['state']['status'] in ('Queued', 'Running') and 'result' not in out[0],
          'a job still running after the timeout is kept without a result (%d %s)' % (rc, err.strip()))
    rc, st, _ = b.json('status')
    check(rc == 4 and st[0]['status'] == 'pending', 'status: pending, exit 4')
    rc, _, err = b.run('destroy', '--workload', 'slow-ibm')
    jobs = slow.control('GET', 'state')['jobs']
    check(rc == 0 and all(j['status'] == 'Cancelled' for j in jobs.values()), 'destroy cancelled the job (%d %s)' % (rc, err))
finally:
    slow.close()
finish('test_ibm')
