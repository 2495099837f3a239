"""awstest.py - what the AWS driver's integration tests share: the fake AWS
endpoint (tests/fakes/fake_aws.py, which recomputes every SigV4 signature
with botocore and validates every body against the botocore models), a
temporary broker home configured for it, the real `fedbroker` CLI, botocore
clients for out-of-band changes, and a small check counter.

Environment (set by tests/local.mk): FEDBROKER, top_srcdir, top_builddir,
FEDBROKER_DRIVER_PATH."""
import base64
import hashlib
import json
import os
import shutil
import sys
import tempfile
import urllib.request

# the shared harness (tests/lib/harness.py): paths, checker, fake process, broker home
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import (BUILD, DRIVER_PATH, EXAMPLES, FEDBROKER, TOP, BrokerEnv, Checker,  # noqa: E402,F401
                     FakeProcess, Site, wait_for)
# the fake's models, for botocore clients that speak what it speaks
sys.path.insert(0, os.path.join(TOP, "tests", "fakes"))
from fake_aws import CLIENT_REFERENCE, reference_loader_dir  # noqa: E402

AK = "AKIDFAKEEXAMPLE00001"
SK = "fakeSecretKey/EXAMPLE+00001+fedbrokerTEST"
ACCOUNT = "123456789012"
ROLE = "arn:aws:iam::123456789012:role/fedbroker-lambda"
SCHED_ROLE = "arn:aws:iam::123456789012:role/fedbroker-scheduler"
EXEC_ROLE = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"


class Fake(FakeProcess):
    """fake_aws.py on a free port; it exits when our end of its stdin closes."""

    def __init__(self, *args):
        self.port = self.start(os.path.join(TOP, "tests", "fakes", "fake_aws.py"), "--port", "0", *args)
        self.base = f"http://127.0.0.1:{self.port}"

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b"null")

    def log(self, since=0):
        return self.call("GET", f"/__fake/log?since={since}")

    def seq(self):
        entries = self.log()
        return entries[-1]["seq"] if entries else 0

    def state(self):
        return self.call("GET", "/__fake/state")

    def reset(self):
        return self.call("POST", "/__fake/reset", {})

    def faults(self, faults):
        return self.call("POST", "/__fake/faults", faults)

    def clear_faults(self):
        return self.call("DELETE", "/__fake/faults")

    def latency(self, ms):
        return self.call("POST", "/__fake/latency", {"ms": ms})

    def client(self, service, region="us-east-1"):
        """A botocore client for out-of-band changes; for the services
        Debian's older botocore describes differently made from the fake's
        reference models (fake_aws.reference_loader_dir)."""
        import botocore.session
        from botocore.config import Config
        s = botocore.session.get_session()
        if service in CLIENT_REFERENCE:
            if not hasattr(Fake, "_models"):
                Fake._models = reference_loader_dir(tempfile.mkdtemp(prefix="fb-aws-models-"))
            s.get_component("data_loader").search_paths.insert(0, Fake._models)
        return s.create_client(service, region_name=region, endpoint_url=self.base,
                               aws_access_key_id=AK, aws_secret_access_key=SK,
                               config=Config(retries={"max_attempts": 1}))

    def close(self):
        self.stop()
        if hasattr(Fake, "_models"):
            shutil.rmtree(Fake._models, ignore_errors=True)
            del Fake._models


def settings(fake, **over):
    s = {
        "regions": ["us-east-1", "eu-west-1"],
        "accountId": ACCOUNT,
        # ec2: discover reads the public IPs of tasks (assignPublicIp below)
        "endpoints": {k: fake.base for k in ("lambda", "ecs", "application-autoscaling", "sts",
                                             "scheduler", "sqs", "ec2")},
        "lambda": {"role": ROLE},
        "scheduler": {"role": SCHED_ROLE},
        "ecs": {"cluster": "prod", "subnets": ["subnet-0a1b2c3d"], "securityGroups": ["sg-0123abcd"],
                "assignPublicIp": True, "executionRoleArn": EXEC_ROLE},
    }
    s.update(over)
    return s


class Env(BrokerEnv):
    """A temporary FEDBROKER_HOME configured for the fake (or, with fake
    None, with the given aws settings), the fake's access keys set."""

    def __init__(self, fake, **over):
        super().__init__("fb-aws-", scrub=("AWS_",),
                         set={"AWS_ACCESS_KEY_ID": AK, "AWS_SECRET_ACCESS_KEY": SK})
        self.fake = fake
        self.write_config(settings(fake, **over) if fake else over)

    def write_config(self, drv_settings, **http):
        """config.json: drv_settings for the aws driver; http overrides
        (e.g. timeout_ms) on top of the tests' http defaults."""
        self.drv_settings = drv_settings
        self.write_broker_config("aws", drv_settings, **http)


def ops(entries):
    """The operations of log entries, in order."""
    return [e.get("operation") for e in entries]


def rejected(entries, allow=()):
    """Requests the fake refused (status >= 400), except the (operation,
    error code) pairs in allow."""
    out = []
    for e in entries:
        st = e.get("status")
        if isinstance(st, int) and st >= 400:
            code = (e.get("error") or {}).get("code")
            if (e.get("operation"), code) not in allow:
                out.append((e.get("operation"), st, code, (e.get("error") or {}).get("message")))
        elif st == "reset" and (e.get("operation"), "reset") not in allow:
            out.append((e.get("operation"), st))
    return out


def lambda_sha(zip_bytes):
    """Lambda's CodeSha256: base64 of the SHA-256 digest."""
    return base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode()


def issuer_site(env, trust_domain="prod.example.com", **identity):
    """The broker as an OIDC issuer on loopback, for the identity tests:
    a directory (env.path("site")) served over HTTP on a port the OS picks,
    and env's config.json given {"identity": {"trustDomain", "issuer":
    http://127.0.0.1:PORT/fb, **identity}} (the aws driver's settings kept).
    `fedbroker identity publish SITE/fb` then makes the issuer's documents
    reachable, as the fake STS fetches them. Returns (issuer, site, server);
    server.shutdown() when done."""
    srv = Site(env.path("site"))
    site = srv.dir
    issuer = srv.url + "/fb"
    path = os.path.join(env.home, "config.json")
    with open(path) as f:
        conf = json.load(f)
    conf["identity"] = {"trustDomain": trust_domain, "issuer": issuer, **identity}
    with open(path, "w") as f:
        json.dump(conf, f)
    return issuer, site, srv
