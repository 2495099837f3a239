#!/usr/bin/python3
"""fake_ibm.py - a fake IBM Quantum Platform endpoint (Qiskit Runtime REST
API, Sampler V2 jobs) and IBM Cloud IAM token endpoint, for the quantum
driver's tests. Python 3 standard library only, plus the independent
reference simulator tests/quantum/qasmref.py (which shares no code with the
C simulator).

    fake_ibm.py [--port 0] [--port-file FILE] [--api-key KEY]... [--crn CRN]
                [--polls N] [--exit-on-stdin-eof]

Prints "PORT <n>" once it listens. Routes (shapes from IBM's "Set up to use
IBM Quantum Platform with REST API" and "Sampler with the REST API" guides):

  POST /identity/token            IAM: form grant_type=urn:ibm:params:oauth:
                                  grant-type:apikey & apikey=KEY -> {"access_token",
                                  "refresh_token", "token_type": "Bearer",
                                  "expires_in": 3600, "expiration"}
  POST /api/v1/jobs               {"program_id": "sampler", "backend",
                                  "params": {"pubs": [[OPENQASM 3, params?, shots?]],
                                  "version"?, "options"?}, "tags"?} -> {"id", "backend"}
  GET  /api/v1/jobs/{id}          {"id", "backend", "status", "state": {"status"}};
                                  Queued, Running, then Completed after --polls GETs
  GET  /api/v1/jobs/{id}/results  {"results": [{"data": {REG: {"samples": ["0x.."],
                                  "num_bits": n}}, "metadata": {}}], "metadata": {}}
  POST /api/v1/jobs/{id}/cancel   204; 409 when the job has ended; 404 unknown

What it checks (answering 4xx like the service, with {"errors": [{"code",
"message"}]}): a Bearer token it issued and that has not expired; the
Service-CRN header equals --crn; Content-Type application/json; the job
document's members (unknown ones are refused), program_id "sampler", a known
backend, pubs of [circuit, parameter values or null, shots]; that every
circuit is OpenQASM 3 the reference parser accepts and fits the backend.
Results are sampled from the reference's exact distribution (deterministic
per job), one hex string per shot and register, bit i = the register's
bit i, as the Sampler returns them.

Control (no auth): GET /__fake/log, GET /__fake/state, POST /__fake/reset.
"""
import argparse
import hashlib
import json
import os
import random
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'quantum'))
import qasmref  # noqa: E402
import fakeserve  # noqa: E402  (tests/fakes: the announce-and-serve loop every fake shares)

QELIB1 = os.path.join(HERE, '..', '..', 'quantum', 'qelib1.inc')
DEFAULT_KEY = 'fake-ibm-api-key-0001'
DEFAULT_CRN = 'crn:v1:bluemix:public:quantum-computing:us-east:a/f00dfeed0123456789abcdef:0b5e55ed-fa4e-4b3c-9d1e-feedfacecafe::'
BACKENDS = {'ibm_fez': 156, 'ibm_torino': 133, 'ibm_brisbane': 127, 'ibm_aachen': 156, 'ibm_brussels': 127}
JOB_KEYS = {'program_id', 'backend', 'params', 'tags', 'session_id', 'private'}
PARAM_KEYS = {'pubs', 'version', 'options', 'support_qiskit'}


class ApiError(Exception):
    def __init__(self, status, message, code=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or status * 10


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.tokens = {}     # token -> expiry
        self.jobs = {}       # id -> job
        self.log = []
        self.seq = 0

    def dump(self):
        jobs = {k: {x: y for x, y in v.items() if x not in ('samples',)} for k, v in self.jobs.items()}
        return {'jobs': jobs, 'tokens': len(self.tokens)}


def iso(t):
    return time.strftime('%Y-%m-%dT%H:%M:%S.000Z', time.gmtime(t))


def check_circuit(text, backend):
    """Parses an OpenQASM 3 circuit with the reference; returns the program."""
    body = '\n'.join(line for line in text.splitlines() if not line.strip().startswith('//')).lstrip()
    if not body.startswith('OPENQASM 3'):
        raise ApiError(400, 'The circuit must be OpenQASM 3 (it starts with %r)' % body[:20], 1101)
    prog = qasmref.Program(QELIB1)
    try:
        qasmref.Parser(prog, text, HERE).run()
    except Exception as e:  # noqa: BLE001 - any parser failure is the caller's error
        raise ApiError(400, 'The OpenQASM 3 circuit does not parse: %s' % e, 1102)
    if prog.nq() > BACKENDS[backend]:
        raise ApiError(400, 'The circuit uses %d qubits but %s has %d' % (prog.nq(), backend, BACKENDS[backend]),
                       1103)
    if prog.nc() == 0:
        raise ApiError(400, 'The circuit has no classical registers to sample', 1104)
    return prog


def sample(prog, shots, seed):
    """Samples shots outcomes from the reference distribution; returns
    {register: {"samples": [hex...], "num_bits": n}}."""
    dist = qasmref.distribution(prog)
    keys = sorted(dist)
    weights = [dist[k] for k in keys]
    rng = random.Random(seed)
    picks = rng.choices(keys, weights=weights, k=shots)
    regs = prog.cregs
    data = {name: {'samples': [], 'num_bits': size} for name, size in regs}
    for key in picks:
        parts = key.split(' ')
        # the key holds the last declared register leftmost
        for (name, size), part in zip(reversed(regs), parts):
            assert len(part) == size
            data[name]['samples'].append(hex(int(part, 2)))
    return data


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, fmt, *args):
        pass

    def _send(self, status, doc, ctype='application/json'):
        body = b'' if doc is None else (doc if isinstance(doc, bytes) else json.dumps(doc).encode())
        self.send_response(status)
        if body:
            self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _body(self):
        n = int(self.headers.get('Content-Length') or 0)
        return self.rfile.read(n) if n else b''

    def do_GET(self):
        self._dispatch('GET')

    def do_POST(self):
        self._dispatch('POST')

    def do_PUT(self):
        self._dispatch('PUT')

    def do_DELETE(self):
        self._dispatch('DELETE')

    def _dispatch(self, method):
        st = self.server.state
        path = urlsplit(self.path).path
        raw = self._body()
        if path.startswith('/__fake/'):
            return self._control(method, path[len('/__fake/'):])
        entry = {'method': method, 'path': path, 'headers': dict(self.headers.items()),
                 'body': raw.decode('utf-8', 'replace')}
        try:
            with st.lock:
                status, doc = self._route(method, path, raw)
        except ApiError as e:
            status, doc = e.status, {'errors': [{'code': e.code, 'message': e.message}], 'trace': 'fake'}
        with st.lock:
            st.seq += 1
            entry.update(seq=st.seq, status=status, time=time.time())
            if status >= 400:
                entry['error'] = doc
            st.log.append(entry)
        self._send(status, doc)

    def _control(self, method, cmd):
        st = self.server.state
        with st.lock:
            if cmd == 'log' and method == 'GET':
                out = st.log
            elif cmd == 'state' and method == 'GET':
                out = st.dump()
            elif cmd == 'reset' and method == 'POST':
                st.reset()
                out = {'ok': True}
            elif cmd == 'health':
                out = {'ok': True}
            else:
                return self._send(404, {'error': 'unknown control call %s %s' % (method, cmd)})
            return self._send(200, out)

    # -- the API
    def _route(self, method, path, raw):
        if path == '/identity/token' and method == 'POST':
            return self._iam(raw)
        if not path.startswith('/api/v1/jobs'):
            raise ApiError(404, 'No route for %s %s' % (method, path))
        self._auth()
        parts = path[len('/api/v1/jobs'):].strip('/').split('/')
        if parts == [''] and method == 'POST':
            return self._create(raw)
        st = self.server.state
        job = st.jobs.get(parts[0]) if parts and parts[0] else None
        if job is None:
            raise ApiError(404, 'Job not found: %s' % (parts[0] if parts else ''), 1291)
        if len(parts) == 1 and method == 'GET':
            return 200, self._poll(job)
        if parts[1:] == ['results'] and method == 'GET':
            if job['status'] != 'Completed':
                raise ApiError(400, 'Job %s has no results: it is %s' % (job['id'], job['status']), 1292)
            return 200, {'results': [{'data': job['samples'], 'metadata': {'circuit_metadata': {}}}],
                         'metadata': {'version': 2, 'execution': {}}}
        if parts[1:] == ['cancel'] and method == 'POST':
            if job['status'] in ('Completed', 'Failed', 'Cancelled'):
                raise ApiError(409, 'Job %s cannot be cancelled: it is %s' % (job['id'], job['status']), 1293)
            job['status'] = 'Cancelled'
            return 204, None
        raise ApiError(405, 'Method %s not allowed on %s' % (method, path))

    def _iam(self, raw):
        if (self.headers.get('Content-Type') or '').split(';')[0].strip() != 'application/x-www-form-urlencoded':
            raise ApiError(400, 'Content-Type must be application/x-www-form-urlencoded')
        form = dict(parse_qsl(raw.decode('utf-8', 'replace'), keep_blank_values=True))
        if form.get('grant_type') != 'urn:ibm:params:oauth:grant-type:apikey':
            return 400, {'errorCode': 'BXNIM0109E', 'errorMessage': 'Property missing or empty: grant_type'}
        if form.get('apikey') not in self.server.args.api_key:
            return 400, {'errorCode': 'BXNIM0415E', 'errorMessage': 'Provided API key could not be found.'}
        token = 'fake-ibm-token-' + uuid.uuid4().hex
        now = int(time.time())
        self.server.state.tokens[token] = now + 3600
        return 200, {'access_token': token, 'refresh_token': 'not-a-refresh-token', 'token_type': 'Bearer',
                     'expires_in': 3600, 'expiration': now + 3600}

    def _auth(self):
        a = self.headers.get('Authorization') or ''
        if not a.startswith('Bearer '):
            raise ApiError(401, 'Missing or malformed Authorization header (expected a Bearer token)', 1001)
        exp = self.server.state.tokens.get(a[len('Bearer '):])
        if exp is None or exp < time.time():
            raise ApiError(401, 'Invalid or expired token', 1002)
        crn = self.headers.get('Service-CRN')
        if not crn:
            raise ApiError(400, 'Missing Service-CRN header', 1003)
        if crn != self.server.args.crn:
            raise ApiError(403, 'Instance %s not found or not authorized' % crn, 1004)

    def _create(self, raw):
        if (self.headers.get('Content-Type') or '').split(';')[0].strip() != 'application/json':
            raise ApiError(415, 'Content-Type must be application/json')
        try:
            doc = json.loads(raw)
        except ValueError as e:
            raise ApiError(400, 'The body is not JSON: %s' % e)
        if not isinstance(doc, dict):
            raise ApiError(400, 'The body must be a JSON object')
        unknown = set(doc) - JOB_KEYS
        if unknown:
            raise ApiError(400, 'Unknown job members: %s' % ', '.join(sorted(unknown)))
        if doc.get('program_id') != 'sampler':
            raise ApiError(400, 'program_id must be "sampler" (got %r)' % doc.get('program_id'))
        backend = doc.get('backend')
        if backend not in BACKENDS:
            raise ApiError(400, 'Unknown backend %r' % backend, 1211)
        tags = doc.get('tags', [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ApiError(400, 'tags must be a list of strings')
        params = doc.get('params')
        if not isinstance(params, dict):
            raise ApiError(400, 'params must be an object')
        unknown = set(params) - PARAM_KEYS
        if unknown:
            raise ApiError(400, 'Unknown params members: %s' % ', '.join(sorted(unknown)))
        if 'version' in params and params['version'] != 2:
            raise ApiError(400, 'params.version must be 2 for the Sampler V2 primitive')
        pubs = params.get('pubs')
        if not isinstance(pubs, list) or not pubs:
            raise ApiError(400, 'params.pubs must be a non-empty list of [circuit, parameter values, shots]')
        default_shots = (params.get('options') or {}).get('default_shots', 4096)
        job_id = 'd' + uuid.uuid4().hex[:19]
        samples = None
        for i, pub in enumerate(pubs):
            if not isinstance(pub, list) or not 1 <= len(pub) <= 3 or not isinstance(pub[0], str):
                raise ApiError(400, 'pubs[%d] must be [circuit, parameter values or null, shots]' % i)
            if len(pub) >= 2 and pub[1] not in (None, [], {}):
                raise ApiError(400, 'pubs[%d]: the circuits here have no parameters to bind' % i)
            shots = pub[2] if len(pub) == 3 else default_shots
            if not isinstance(shots, int) or isinstance(shots, bool) or not 1 <= shots <= 100000:
                raise ApiError(400, 'pubs[%d]: shots must be an integer from 1 to 100000' % i)
            prog = check_circuit(pub[0], backend)
            seed = int(hashlib.sha256((job_id + str(i)).encode()).hexdigest()[:16], 16)
            if samples is None:
                samples = sample(prog, shots, seed)
        self.server.state.jobs[job_id] = {'id': job_id, 'backend': backend, 'status': 'Queued', 'polls': 0,
                                          'created': iso(time.time()), 'tags': tags, 'pubs': len(pubs),
                                          'samples': samples, 'request': doc}
        return 200, {'id': job_id, 'backend': backend}

    def _poll(self, job):
        if job['status'] in ('Queued', 'Running'):
            job['polls'] += 1
            if job['polls'] > self.server.args.polls:
                job['status'] = 'Completed'
            elif job['polls'] > 1:
                job['status'] = 'Running'
        return {'id': job['id'], 'backend': job['backend'], 'program': {'id': 'sampler'},
                'status': job['status'], 'state': {'status': job['status']}, 'created': job['created'],
                'tags': job['tags']}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--port', type=int, default=0)
    ap.add_argument('--port-file')
    ap.add_argument('--api-key', action='append', help='an API key IAM accepts (repeatable; default %s)' % DEFAULT_KEY)
    ap.add_argument('--crn', default=DEFAULT_CRN, help='the instance CRN the Service-CRN header must name')
    ap.add_argument('--polls', type=int, default=2, help='GET /jobs/{id} calls before a job completes')
    ap.add_argument('--exit-on-stdin-eof', action='store_true')
    args = ap.parse_args()
    if not args.api_key:
        args.api_key = [DEFAULT_KEY]
    srv = Server(('127.0.0.1', args.port), Handler)
    srv.args = args
    srv.state = State(args)
    port = srv.server_address[1]
    fakeserve.serve(srv, port, args.port_file, args.exit_on_stdin_eof)


if __name__ == '__main__':
    main()
