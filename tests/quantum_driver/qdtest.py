"""qdtest.py - helpers for the quantum driver's tests (tests/quantum_driver):
run the real fedbroker binary in a private state directory with a driver
configuration, start the fake endpoints, read the store, and the chi-square
tests (from tests/quantum/qtest.py, which also brings the independent
reference simulator qasmref.py)."""
import json
import math
import os
import sqlite3
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.abspath(os.environ.get('top_srcdir') or os.path.join(HERE, '..', '..'))
BUILDDIR = os.path.abspath(os.environ.get('top_builddir') or os.getcwd())
FEDBROKER = os.path.abspath(os.environ.get('FEDBROKER') or os.path.join(BUILDDIR, 'fedbroker'))
DRIVER_DIR = os.environ.get('FEDBROKER_DRIVER_PATH') or os.path.join(BUILDDIR, 'stage', 'drivers')
FAKES = os.path.join(SRCDIR, 'tests', 'fakes')
EXAMPLES = os.path.join(SRCDIR, 'examples')
sys.path.insert(0, os.path.join(SRCDIR, 'tests', 'quantum'))
import qasmref  # noqa: E402
from qtest import chi_square, chi2_sf  # noqa: E402,F401

# what `include "qelib1.inc";` reads in a QuantumJob: Qiskit's extended header
QELIB1 = os.path.join(SRCDIR, 'quantum', 'qelib1_qiskit.inc')
failures = []


def check(cond, what):
    if cond:
        print('ok:', what)
    else:
        print('FAIL:', what)
        failures.append(what)
    return cond


def finish(name):
    if failures:
        print('%s: %d check(s) failed' % (name, len(failures)))
        sys.exit(1)
    print('%s: all checks passed' % name)
    sys.exit(0)


def reference(path_or_text, is_text=False):
    """Exact outcome distribution from the independent reference."""
    if not is_text:
        return qasmref.distribution(qasmref.load(path_or_text, QELIB1))
    prog = qasmref.Program(QELIB1)
    qasmref.Parser(prog, path_or_text, HERE).run()
    return qasmref.distribution(prog)


class Broker:
    """A private FEDBROKER_HOME with a configuration for the quantum driver."""

    def __init__(self, settings=None, env=None):
        self.home = tempfile.mkdtemp(prefix='fbq-drv-')
        self.config = os.path.join(self.home, 'config.json')
        self.env = dict(os.environ)
        for k in ('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE',
                  'IQP_API_TOKEN', 'FEDBROKER_NOW', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_STS'):
            self.env.pop(k, None)
        self.env.update({'FEDBROKER_HOME': self.home, 'FEDBROKER_CONFIG': self.config,
                         'FEDBROKER_DRIVER_PATH': DRIVER_DIR, 'FEDBROKER_SLEEP_SCALE': '0',
                         'HOME': self.home, 'AWS_CONFIG_FILE': os.path.join(self.home, 'no-aws-config'),
                         'AWS_SHARED_CREDENTIALS_FILE': os.path.join(self.home, 'no-aws-credentials')})
        if env:
            self.env.update(env)
        self.set(settings or {})

    def set(self, settings):
        with open(self.config, 'w') as f:
            json.dump({'drivers': {'quantum': settings}}, f)

    def run(self, *args, env=None):
        e = dict(self.env)
        if env:
            e.update(env)
        p = subprocess.run([FEDBROKER] + list(args), capture_output=True, text=True, env=e, timeout=600)
        return p.returncode, p.stdout, p.stderr

    def json(self, *args, env=None):
        rc, out, err = self.run(*args, '--format', 'json', env=env)
        try:
            return rc, json.loads(out), err
        except ValueError:
            return rc, None, out + err

    def results(self, workload=None):
        """The result rows the broker stored (read with Python's sqlite3)."""
        db = sqlite3.connect(os.path.join(self.home, 'state.db'))
        try:
            q = 'SELECT tenant, workload, kind, result_json FROM results'
            rows = db.execute(q + (' WHERE workload=?' if workload else '') + ' ORDER BY id',
                              (workload,) if workload else ()).fetchall()
        finally:
            db.close()
        return [{'tenant': t, 'workload': w, 'kind': k, 'result': json.loads(r)} for t, w, k, r in rows]

    def resources(self):
        db = sqlite3.connect(os.path.join(self.home, 'state.db'))
        try:
            rows = db.execute('SELECT provider, type, cloud_id, region FROM resources').fetchall()
        finally:
            db.close()
        return rows


class Fake:
    """A fake endpoint process (fake_aws.py or fake_ibm.py) on 127.0.0.1."""

    def __init__(self, script, *args):
        self.p = subprocess.Popen([sys.executable, os.path.join(FAKES, script), '--exit-on-stdin-eof'] + list(args),
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()
        if not line.startswith('PORT '):
            raise SystemExit('%s did not start: %r' % (script, line))
        self.port = int(line.split()[1])
        self.url = 'http://127.0.0.1:%d' % self.port

    def control(self, method, what, doc=None):
        import urllib.request
        req = urllib.request.Request(self.url + '/__fake/' + what, method=method,
                                     data=json.dumps(doc).encode() if doc is not None else None)
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b'null')

    def log(self):
        return self.control('GET', 'log')

    def reset(self):
        self.control('POST', 'reset')

    def close(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()


def write_spec(dirname, name, program, shots=1000, seed=None, backend=None, deadline=None, extra=''):
    """Writes a QuantumJob spec with an inline program; returns its path."""
    lines = ['apiVersion: fedbroker.dev/v1', 'kind: QuantumJob', 'metadata: {name: %s, tenant: qa}' % name,
             'spec:', '  program:', '    source: |']
    lines += ['      ' + line for line in program.strip('\n').split('\n')]
    lines.append('  shots: %d' % shots)
    if seed is not None:
        lines.append('  seed: %d' % seed)
    if backend:
        lines.append('  backend: %s' % json.dumps(backend))
    if deadline:
        lines.append('  deadline: %s' % deadline)
    if extra:
        lines.append(extra)
    path = os.path.join(dirname, name + '.yaml')
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


def two_sample_chi2(a, b):
    """Pearson's chi-square test of homogeneity of two count tables (cells
    with a pooled expectation below 5 are merged). Returns (p, stat, dof)."""
    na, nb = sum(a.values()), sum(b.values())
    keys = sorted(set(a) | set(b))
    small_a = small_b = 0
    cells = []
    for k in keys:
        ea = (a.get(k, 0) + b.get(k, 0)) * na / (na + nb)
        if ea < 5 or (a.get(k, 0) + b.get(k, 0)) * nb / (na + nb) < 5:
            small_a += a.get(k, 0)
            small_b += b.get(k, 0)
        else:
            cells.append((a.get(k, 0), b.get(k, 0)))
    if small_a + small_b:
        cells.append((small_a, small_b))
    if len(cells) < 2:
        return 1.0, 0.0, 0
    stat = 0.0
    for oa, ob in cells:
        tot = oa + ob
        for o, n in ((oa, na), (ob, nb)):
            e = tot * n / (na + nb)
            stat += (o - e) ** 2 / e
    dof = len(cells) - 1
    return chi2_sf(stat, dof), stat, dof


def no_secret(text, *secrets):
    return all(s not in text for s in secrets if s)


__all__ = ['check', 'finish', 'reference', 'Broker', 'Fake', 'write_spec', 'chi_square', 'two_sample_chi2',
           'no_secret', 'EXAMPLES', 'SRCDIR', 'math']
