"""k8sdrv.py - what the k8s driver's integration tests share: the fake API
server (tests/fakes/fake_k8s.py, over TLS with a test CA made by openssl:
every object validated against the Kubernetes OpenAPI and the Knative CRD,
server-side apply ownership), kubeconfigs for it, a temporary broker home
configured for it, and the real `fedbroker` CLI.

Environment (set by tests/local.mk): FEDBROKER, top_srcdir, top_builddir,
FEDBROKER_DRIVER_PATH."""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("top_srcdir") or os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "k8s_fake"))
sys.path.insert(0, os.path.join(TOP, "tests", "aws"))
import k8stest  # noqa: E402
from awstest import Checker  # noqa: E402,F401

BUILD = os.environ.get("top_builddir") or os.path.join(TOP, "build")
FEDBROKER = os.environ.get("FEDBROKER") or os.path.join(BUILD, "fedbroker")
DRIVER_PATH = os.environ.get("FEDBROKER_DRIVER_PATH") or os.path.join(BUILD, "stage", "drivers")


def skip_unless_built():
    if not (os.access(FEDBROKER, os.X_OK) and os.path.exists(os.path.join(DRIVER_PATH, "k8s.so"))):
        print("SKIP: no built fedbroker or k8s.so (run from make check)")
        sys.exit(77)
    try:
        import yaml  # noqa: F401
    except ImportError:
        print("SKIP: python3-yaml is needed by the fake API server")
        sys.exit(77)
    if not shutil.which("openssl"):
        print("SKIP: the openssl command makes the fake's test certificates")
        sys.exit(77)


Fake = k8stest.Fake


class Env:
    """A temporary FEDBROKER_HOME whose k8s driver points at a kubeconfig."""

    def __init__(self, kubeconfig, **settings):
        self.tmp = tempfile.mkdtemp(prefix="fb-k8s-")
        os.chmod(self.tmp, 0o755)
        self.home = os.path.join(self.tmp, "home")
        os.mkdir(self.home)
        self.kubeconfig = kubeconfig
        self.write_config(**settings)
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("AWS_", "GOOGLE_", "KUBERNETES_"))
                    and k not in ("FEDBROKER_NOW", "FEDBROKER_LOG", "KUBECONFIG")}
        # real sleeps: the fake's rollouts and deletions take real time, and
        # the driver's polls must wait for them (make check scales sleeps to
        # 0; the host's HTTP retries still do not sleep: http.sleep_scale 0)
        self.env.update({"FEDBROKER_HOME": self.home, "FEDBROKER_DRIVER_PATH": DRIVER_PATH, "HOME": self.home,
                         "FEDBROKER_SLEEP_SCALE": "1"})

    def write_config(self, extra=None, **settings):
        s = {"kubeconfig": self.kubeconfig} if self.kubeconfig else {}
        s.update(settings)
        cfg = {"drivers": {"k8s": s}, "http": {"sleep_scale": 0, "seed": 7}}
        cfg.update(extra or {})
        with open(os.path.join(self.home, "config.json"), "w") as f:
            json.dump(cfg, f)

    def path(self, *p):
        return os.path.join(self.tmp, *p)

    def write(self, name, text):
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        return p

    def run(self, *args, env=None, unset=(), timeout=300):
        e = dict(self.env)
        for k in unset:
            e.pop(k, None)
        if env:
            e.update(env)
        p = subprocess.run([FEDBROKER, *args], env=e, capture_output=True, timeout=timeout)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def popen(self, *args, env=None):
        e = dict(self.env)
        e.update(env or {})
        return subprocess.Popen([FEDBROKER, *args], env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def db(self, sql, *params):
        path = os.path.join(self.home, "state.db")
        if not os.path.exists(path):
            return []
        con = sqlite3.connect(path)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def ours(fake, ns=None):
    """(kind, namespace, name) of every object the fake holds with our
    managed-by label (or in ns)."""
    out = []
    for o in fake.objects():
        md = o.get("metadata", {})
        if (md.get("labels") or {}).get("app.kubernetes.io/managed-by") == "fedbroker" or \
                (ns and md.get("namespace") == ns):
            out.append((o.get("kind"), md.get("namespace"), md.get("name")))
    return sorted(out, key=lambda t: tuple(x or "" for x in t))


def untracked(env):
    rc, out, err = env.run("discover", "--provider", "k8s", "--format", "json")
    try:
        rows = json.loads(out)
    except ValueError:
        return ["discover failed", rc, err]
    return [r for r in rows if r.get("managed") and not r.get("tracked")]


def rejected(entries, allow=()):
    """Requests the fake refused (status >= 400) except (verb, status) in allow."""
    return [(e.get("method"), e.get("path"), e.get("status"), e.get("message")) for e in entries
            if isinstance(e.get("status"), int) and e["status"] >= 400 and (e.get("verb"), e["status"]) not in allow]
