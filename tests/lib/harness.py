"""harness.py - what the Python tests share: the checker (one `ok` per
check, a summary line and the exit status automake reads), the places of
the build under test, a fake cloud started on a port the OS picks, a
temporary broker home with the real `fedbroker` CLI, and the federation
specs the tests write (workload(), federation()). The per-driver
modules (tests/aws/awstest.py, tests/gcp/gcptest.py, tests/k8s/k8sdrv.py)
add only what is particular to their cloud. Import it with tests/lib on
sys.path:

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
    from harness import Checker
    ck = Checker("config")
    ok = ck.ok
    ...
    ck.done()

Environment (set by tests/local.mk): FEDBROKER, top_srcdir, top_builddir,
FEDBROKER_DRIVER_PATH; without them the paths fall back to an in-tree
build/ directory.
"""
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("top_srcdir") or os.path.abspath(os.path.join(HERE, "..", ".."))
BUILD = os.environ.get("top_builddir") or os.path.join(TOP, "build")
FEDBROKER = os.environ.get("FEDBROKER") or os.path.join(BUILD, "fedbroker")
DRIVER_PATH = os.environ.get("FEDBROKER_DRIVER_PATH") or os.path.join(BUILD, "stage", "drivers")
EXAMPLES = os.path.join(TOP, "examples")
PY = os.environ.get("PYTHON") or "/usr/bin/python3"


class Checker:
    def __init__(self, name):
        self.name = name
        self.failed = 0
        self.passed = 0

    def ok(self, cond, desc, detail=None):
        """Counts and prints one check; detail (text, or JSON-able) is
        printed under a failure. Returns bool(cond)."""
        if cond:
            self.passed += 1
            print(f"ok: {desc}")
        else:
            self.failed += 1
            print(f"FAIL: {desc}")
            if detail is not None:
                print("   ", detail if isinstance(detail, str) else json.dumps(detail, indent=1, default=str)[:4000])
        return bool(cond)

    def done(self):
        """Prints the summary and exits: 1 when a check failed, else 0."""
        print(f"{self.name}: {self.passed} passed, {self.failed} failed")
        sys.exit(1 if self.failed else 0)


def wait_for(pred, timeout=30.0, step=0.05):
    """pred()'s first true value within timeout seconds, else None."""
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None


def skip_unless_built(driver):
    """Exits 77 (automake's skip) unless the CLI and drivers/DRIVER.so are built."""
    if not (os.access(FEDBROKER, os.X_OK) and os.path.exists(os.path.join(DRIVER_PATH, driver + ".so"))):
        print(f"SKIP: no built fedbroker or {driver}.so (run from make check)")
        sys.exit(77)


def workload(kind, name, spec, api="fedbroker.dev/v1"):
    """One member of a Federation's spec.workloads, as YAML text: its kind,
    metadata.name and spec, whose YAML text (at any common indentation,
    e.g. a triple-quoted block) is indented under it."""
    body = textwrap.indent(textwrap.dedent(spec).strip("\n"), " " * 8)
    return (f"    - apiVersion: {api}\n      kind: {kind}\n      metadata: {{name: {name}}}\n"
            f"      spec:\n{body}\n")


def federation(name, tenant, *workloads, labels=None):
    """A Federation's YAML text: metadata name, tenant (and labels, a dict),
    then the workloads (workload()'s texts) in order."""
    meta = f"name: {name}, tenant: {tenant}"
    if labels:
        meta += ", labels: " + json.dumps(labels)
    return (f"apiVersion: fedbroker.dev/v1\nkind: Federation\nmetadata: {{{meta}}}\nspec:\n  workloads:\n"
            + "".join(workloads))


class Site:
    """A directory (dir; a new temporary one when None) served over HTTP on
    a loopback port the OS picks, at url: where a test publishes an
    issuer's documents, as one publishes them to a bucket. shutdown()
    when done."""

    def __init__(self, dir=None):
        import functools
        import http.server
        import threading

        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *a):
                pass
        self.dir = dir or tempfile.mkdtemp(prefix="fb-site-")
        os.makedirs(self.dir, exist_ok=True)
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=self.dir))
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        self.url = "http://127.0.0.1:%d" % self.srv.server_address[1]

    def shutdown(self):
        self.srv.shutdown()


class FakeProcess:
    """One fake cloud (a script under tests/fakes/) as a child process.
    Every fake takes --exit-on-stdin-eof and prints `PORT N` as its first
    line once it listens on a port the OS chose (--port 0, or a port file);
    it exits when our end of its stdin closes, so a test that dies takes its
    fake with it. Subclasses set self.port from start()'s answer."""

    def start(self, script, *args, stderr=None):
        """Runs PY SCRIPT --exit-on-stdin-eof ARGS...; -> the port it
        printed. Raises RuntimeError (with the line it printed instead)
        when it did not start; the process is then reaped."""
        self.proc = subprocess.Popen([PY, script, "--exit-on-stdin-eof", *args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr)
        line = self.proc.stdout.readline().decode()
        m = re.match(r"PORT (\d+)", line or "")
        if not m:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(f"{os.path.basename(script)} did not start: {line!r}")
        return int(m.group(1))

    def stop(self, timeout=10):
        """Closes the fake's stdin and waits for it (killed after timeout s)."""
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=timeout)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


class BrokerEnv:
    """A temporary FEDBROKER_HOME and the real CLI run in it: HOME and
    FEDBROKER_HOME point into a fresh directory, the drivers come from the
    build, and the caller's variables named by `scrub` (prefixes) and
    FEDBROKER_NOW/FEDBROKER_LOG are removed so a developer's own cloud
    credentials or clock never leak into a test. `set` adds variables.
    close() removes the directory."""

    def __init__(self, prefix, scrub=(), set=None):
        self.tmp = tempfile.mkdtemp(prefix=prefix)
        os.chmod(self.tmp, 0o755)
        self.home = os.path.join(self.tmp, "home")
        os.mkdir(self.home)
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(tuple(scrub)) and k not in ("FEDBROKER_NOW", "FEDBROKER_LOG")}
        self.env.update({"FEDBROKER_HOME": self.home, "FEDBROKER_DRIVER_PATH": DRIVER_PATH, "HOME": self.home,
                         "FEDBROKER_SLEEP_SCALE": "0"})
        self.env.update(set or {})

    def write_broker_config(self, driver, drv_settings, extra=None, **http):
        """config.json: drv_settings for DRIVER, http overrides (e.g.
        timeout_ms) on the tests' http defaults (no sleeps, a fixed jitter
        seed), then the top-level members of extra."""
        cfg = {"drivers": {driver: drv_settings}, "http": {"sleep_scale": 0, "seed": 7, **http}}
        cfg.update(extra or {})
        with open(os.path.join(self.home, "config.json"), "w") as f:
            json.dump(cfg, f)

    def path(self, *p):
        return os.path.join(self.tmp, *p)

    def write(self, name, text):
        """Writes text to NAME under the temporary directory; -> its path."""
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        return p

    def write_federation(self, name, fed, tenant, *workloads, labels=None):
        """Writes federation(fed, tenant, *workloads, labels) to NAME under
        the temporary directory; -> its path."""
        return self.write(name, federation(fed, tenant, *workloads, labels=labels))

    def run(self, *args, env=None, unset=(), timeout=300):
        """fedbroker ARGS... -> (exit status, stdout, stderr)."""
        e = dict(self.env)
        for k in unset:
            e.pop(k, None)
        if env:
            e.update(env)
        p = subprocess.run([FEDBROKER, *args], env=e, capture_output=True, timeout=timeout)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def popen(self, *args, env=None):
        """fedbroker ARGS... started, its stdout and stderr piped."""
        e = dict(self.env)
        e.update(env or {})
        return subprocess.Popen([FEDBROKER, *args], env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def db(self, sql, *params):
        """The rows of SQL on the home's state.db ([] before it exists)."""
        path = os.path.join(self.home, "state.db")
        if not os.path.exists(path):
            return []
        con = sqlite3.connect(path)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()

    def untracked(self, *discover_args):
        """Resources `discover` finds with our managed-by mark that the
        state does not track (a list of rows; a failure is shown as one)."""
        rc, out, err = self.run("discover", *discover_args, "--format", "json")
        try:
            rows = json.loads(out)
        except ValueError:
            return ["discover failed", rc, err]
        return [r for r in rows if r.get("managed") and not r.get("tracked")]

    def files_holding(self, *texts):
        """The files under the broker home (paths relative to it) whose
        bytes hold any of texts: where a secret must never be found."""
        found = []
        for root, _, files in os.walk(self.home):
            for name in files:
                path = os.path.join(root, name)
                with open(path, "rb") as f:
                    data = f.read()
                if any(t.encode() in data for t in texts):
                    found.append(os.path.relpath(path, self.home))
        return found

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)
