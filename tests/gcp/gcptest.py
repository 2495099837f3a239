"""gcptest.py - what the gcp driver's integration tests share: the fake
Google endpoint (tests/fakes/fake_gcp.py: every request checked against
Google's discovery documents, every token verified, strict about unknown
and output-only fields), service accounts made with openssl keys and
uploaded through the fake's IAM, a temporary broker home configured for
the fake, the real `fedbroker` CLI and the checker (tests/lib/harness.py).

Environment (set by tests/local.mk): FEDBROKER, top_srcdir, top_builddir,
FEDBROKER_DRIVER_PATH."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# the shared harness (tests/lib/harness.py): paths, checker, broker home
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from harness import (BUILD, DRIVER_PATH, FEDBROKER, TOP, BrokerEnv, Checker,  # noqa: E402,F401
                     skip_unless_built as _skip_unless_built, wait_for)
sys.path.insert(0, os.path.join(TOP, "tests", "gcp_fake"))
import gftest  # noqa: E402

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


class Env(BrokerEnv):
    """A temporary FEDBROKER_HOME configured for the fake (or, with fake
    None, with the given gcp settings), the deployer's key as Application
    Default Credentials and the metadata server never asked."""

    def __init__(self, fake, **over):
        super().__init__("fb-gcp-", scrub=("AWS_", "GOOGLE_", "CLOUDSDK_", "GCE_"), set={"NO_GCE_CHECK": "true"})
        self.fake = fake
        self.write_config(settings(fake, **over) if fake else over)
        if fake:
            self.env["GOOGLE_APPLICATION_CREDENTIALS"] = fake.key_file

    def write_config(self, drv_settings, extra=None, **http):
        self.drv_settings = drv_settings
        self.write_broker_config("gcp", drv_settings, extra, **http)


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
    return env.untracked()


def skip_unless_built():
    _skip_unless_built("gcp")
