"""gcptest.py - what the gcp driver's integration tests share: the fake
Google endpoint (tests/fakes/fake_gcp.py: every request checked against
Google's discovery documents, every token verified, strict about unknown
and output-only fields), service accounts made with openssl keys and
uploaded through the fake's IAM, a temporary broker home configured for
the fake, the real `fedbroker` CLI, and the check counter of the AWS tests.

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
sys.path.insert(0, os.path.join(TOP, "tests", "gcp_fake"))
sys.path.insert(0, os.path.join(TOP, "tests", "aws"))
import gftest  # noqa: E402
from awstest import Checker, wait_for  # noqa: E402,F401

BUILD = os.environ.get("top_builddir") or os.path.join(TOP, "build")
FEDBROKER = os.environ.get("FEDBROKER") or os.path.join(BUILD, "fedbroker")
DRIVER_PATH = os.environ.get("FEDBROKER_DRIVER_PATH") or os.path.join(BUILD, "stage", "drivers")
PROJECT, NUMBER = gftest.PROJECT, gftest.NUMBER
REGION = "europe-west1"
APIS = ("run", "cloudfunctions", "cloudscheduler", "pubsub", "secretmanager")
RUNNER = "runner@%s.iam.gserviceaccount.com" % PROJECT
INVOKER = "invoker@%s.iam.gserviceaccount.com" % PROJECT


class Fake(gftest.Fake):
    """fake_gcp.py on a free port with the accounts a deployment uses: the
    deployer (a key made by openssl, its certificate uploaded), the runtime
    account and the invoker account."""

    def __init__(self, tmp, *args):
        super().__init__(*args)
        self.tmp = tmp
        self.key_pem, self.cert = gftest.openssl_service_account_key(tmp, "deployer")
        self.setup()

    def setup(self):
        d = self.control("POST", "service-accounts", {"account_id": "deployer", "cert_pem": self.cert})
        self.deployer = d["email"]
        self.key_file = gftest.key_file(self.tmp, self, d["email"], self.key_pem, d["key_id"], "deployer.json")
        for a in ("runner", "invoker"):
            self.control("POST", "service-accounts", {"account_id": a})
        self.admin = self.token()

    def reset(self):
        self.control("POST", "reset")
        self.setup()

    def log(self, since=0):
        return self.control("GET", "log?since=%d" % since)

    def seq(self):
        entries = self.log()
        return entries[-1]["seq"] if entries else 0

    def state(self):
        return self.control("GET", "state")

    def faults(self, faults):
        return self.control("POST", "faults", faults)

    def clear_faults(self):
        return self.control("DELETE", "faults")

    def config(self, **kw):
        return self.control("POST", "config", kw)

    def api(self, method, path, body=None):
        """A call as the admin; -> (status, doc)."""
        st, doc, _ = self.call(method, path, body, self.admin)
        return st, doc

    def services(self, region=REGION):
        st, doc = self.api("GET", "/run/v2/projects/%s/locations/%s/services" % (PROJECT, region))
        return {s["name"].rsplit("/", 1)[1]: s for s in (doc or {}).get("services", [])
                if (s.get("labels") or {}).get("goog-managed-by") != "cloudfunctions"}

    def functions(self, region=REGION):
        st, doc = self.api("GET", "/cloudfunctions/v2/projects/%s/locations/%s/functions" % (PROJECT, region))
        return {f["name"].rsplit("/", 1)[1]: f for f in (doc or {}).get("functions", [])}

    def jobs(self, region=REGION):
        st, doc = self.api("GET", "/cloudscheduler/v1/projects/%s/locations/%s/jobs" % (PROJECT, region))
        return {j["name"].rsplit("/", 1)[1]: j for j in (doc or {}).get("jobs", [])}

    def topics(self):
        st, doc = self.api("GET", "/pubsub/v1/projects/%s/topics" % PROJECT)
        return {t["name"].rsplit("/", 1)[1]: t for t in (doc or {}).get("topics", [])}

    def subscriptions(self):
        st, doc = self.api("GET", "/pubsub/v1/projects/%s/subscriptions" % PROJECT)
        return {s["name"].rsplit("/", 1)[1]: s for s in (doc or {}).get("subscriptions", [])}

    def policy(self, api, name):
        v = "v2" if api in ("run", "cloudfunctions") else "v1"
        st, doc = self.api("GET", "/%s/%s/%s:getIamPolicy" % (api, v, name))
        return doc or {}


def members(policy, role):
    return sorted(m for b in policy.get("bindings", []) if b.get("role") == role for m in b.get("members", []))


def settings(fake, **over):
    s = {"project": PROJECT, "regions": [REGION, "us-central1"], "serviceAccount": RUNNER,
         "invokerServiceAccount": INVOKER,
         "endpoints": {a: "%s/%s" % (fake.url, a) for a in APIS}}
    s.update(over)
    return s


class Env:
    """A temporary FEDBROKER_HOME configured for the fake, and the CLI."""

    def __init__(self, fake, **over):
        self.tmp = tempfile.mkdtemp(prefix="fb-gcp-")
        os.chmod(self.tmp, 0o755)
        self.home = os.path.join(self.tmp, "home")
        os.mkdir(self.home)
        self.fake = fake
        self.write_config(settings(fake, **over) if fake else over)
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("AWS_", "GOOGLE_", "CLOUDSDK_", "GCE_"))
                    and k not in ("FEDBROKER_NOW", "FEDBROKER_LOG")}
        self.env.update({"FEDBROKER_HOME": self.home, "FEDBROKER_DRIVER_PATH": DRIVER_PATH, "HOME": self.home,
                         "FEDBROKER_SLEEP_SCALE": "0", "NO_GCE_CHECK": "true"})
        if fake:
            self.env["GOOGLE_APPLICATION_CREDENTIALS"] = fake.key_file

    def write_config(self, drv_settings, extra=None, **http):
        self.drv_settings = drv_settings
        cfg = {"drivers": {"gcp": drv_settings}, "http": {"sleep_scale": 0, "seed": 7, **http}}
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


def methods(entries):
    """The discovery method ids (or special endpoints) of log entries, in order."""
    return [e.get("method_id") or e.get("path") for e in entries]


def rejected(entries, allow=()):
    """Requests the fake refused (status >= 400), except (method id, status) pairs in allow."""
    out = []
    for e in entries:
        st = e.get("status")
        if isinstance(st, int) and st >= 400 and (e.get("method_id"), st) not in allow:
            out.append((e.get("method_id") or e.get("path"), st, (e.get("error") or {}) if isinstance(
                e.get("error"), dict) else e.get("error")))
    return out


def untracked(env):
    rc, out, err = env.run("discover", "--format", "json")
    try:
        rows = json.loads(out)
    except ValueError:
        return ["discover failed", rc, err]
    return [r for r in rows if r.get("managed") and not r.get("tracked")]


def skip_unless_built():
    if not (os.access(FEDBROKER, os.X_OK) and os.path.exists(os.path.join(DRIVER_PATH, "gcp.so"))):
        print("SKIP: no built fedbroker or gcp.so (run from make check)")
        sys.exit(77)
