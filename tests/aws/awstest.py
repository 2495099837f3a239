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
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

TOP = os.environ.get("top_srcdir") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("top_builddir") or os.path.join(TOP, "build")
FEDBROKER = os.environ.get("FEDBROKER") or os.path.join(BUILD, "fedbroker")
DRIVER_PATH = os.environ.get("FEDBROKER_DRIVER_PATH") or os.path.join(BUILD, "stage", "drivers")
EXAMPLES = os.path.join(TOP, "examples")

AK = "AKIDFAKEEXAMPLE00001"
SK = "fakeSecretKey/EXAMPLE+00001+fedbrokerTEST"
ACCOUNT = "123456789012"
ROLE = "arn:aws:iam::123456789012:role/fedbroker-lambda"
SCHED_ROLE = "arn:aws:iam::123456789012:role/fedbroker-scheduler"
EXEC_ROLE = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"


class Fake:
    """fake_aws.py on a free port; it exits when our end of its stdin closes."""

    def __init__(self, *args):
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(TOP, "tests", "fakes", "fake_aws.py"), "--port", "0",
             "--exit-on-stdin-eof", *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("PORT "):
            raise SystemExit(f"fake_aws did not start: {line!r}")
        self.port = int(line.split()[1])
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
        """A botocore client for out-of-band changes; for SQS, Scheduler and
        Lambda made from the fake's reference models (botocore 1.43.11,
        tests/fakes/reference/aws-models), which Debian's older botocore
        describes differently (SQS in the Query protocol, Lambda without
        the newer members)."""
        import botocore.session
        from botocore.config import Config
        s = botocore.session.get_session()
        if service in ("sqs", "scheduler", "lambda"):
            if not hasattr(Fake, "_models"):
                Fake._models = tempfile.mkdtemp(prefix="fb-aws-models-")
                ref = os.path.join(TOP, "tests", "fakes", "reference", "aws-models")
                for svc, ver in (("sqs", "2012-11-05"), ("scheduler", "2021-06-30"),
                                 ("lambda", "2015-03-31")):
                    os.makedirs(os.path.join(Fake._models, svc, ver))
                    shutil.copy(os.path.join(ref, svc, ver, "service-2.subset.json"),
                                os.path.join(Fake._models, svc, ver, "service-2.json"))
            s.get_component("data_loader").search_paths.insert(0, Fake._models)
        return s.create_client(service, region_name=region, endpoint_url=self.base,
                               aws_access_key_id=AK, aws_secret_access_key=SK,
                               config=Config(retries={"max_attempts": 1}))

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
        if hasattr(Fake, "_models"):
            shutil.rmtree(Fake._models, ignore_errors=True)
            del Fake._models


def settings(fake, **over):
    s = {
        "regions": ["us-east-1", "eu-west-1"],
        "accountId": ACCOUNT,
        "endpoints": {k: fake.base for k in ("lambda", "ecs", "application-autoscaling", "sts",
                                             "scheduler", "sqs")},
        "lambda": {"role": ROLE},
        "scheduler": {"role": SCHED_ROLE},
        "ecs": {"cluster": "prod", "subnets": ["subnet-0a1b2c3d"], "securityGroups": ["sg-0123abcd"],
                "assignPublicIp": True, "executionRoleArn": EXEC_ROLE},
    }
    s.update(over)
    return s


class Env:
    """A temporary FEDBROKER_HOME configured for the fake, and the CLI."""

    def __init__(self, fake, **over):
        self.tmp = tempfile.mkdtemp(prefix="fb-aws-")
        os.chmod(self.tmp, 0o755)
        self.home = os.path.join(self.tmp, "home")
        os.mkdir(self.home)
        self.fake = fake
        self.write_config(settings(fake, **over) if fake else over)
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("AWS_") and k not in ("FEDBROKER_NOW", "FEDBROKER_LOG")}
        self.env.update({
            "FEDBROKER_HOME": self.home, "FEDBROKER_DRIVER_PATH": DRIVER_PATH,
            "HOME": self.home, "FEDBROKER_SLEEP_SCALE": "0",
            "AWS_ACCESS_KEY_ID": AK, "AWS_SECRET_ACCESS_KEY": SK,
        })

    def write_config(self, drv_settings, **http):
        """config.json: drv_settings for the aws driver; http overrides
        (e.g. timeout_ms) on top of the tests' http defaults."""
        self.drv_settings = drv_settings
        with open(os.path.join(self.home, "config.json"), "w") as f:
            json.dump({"drivers": {"aws": drv_settings}, "http": {"sleep_scale": 0, "seed": 7, **http}}, f)

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

    def popen(self, *args):
        return subprocess.Popen([FEDBROKER, *args], env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)

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


# the checker every Python test uses (tests/lib/harness.py)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Checker  # noqa: E402,F401


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


def wait_for(pred, timeout=30.0, step=0.05):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None


def issuer_site(env, trust_domain="prod.example.com", **identity):
    """The broker as an OIDC issuer on loopback, for the identity tests:
    a directory (env.path("site")) served over HTTP on a port the OS picks,
    and env's config.json given {"identity": {"trustDomain", "issuer":
    http://127.0.0.1:PORT/fb, **identity}} (the aws driver's settings kept).
    `fedbroker identity publish SITE/fb` then makes the issuer's documents
    reachable, as the fake STS fetches them. Returns (issuer, site, server);
    server.shutdown() when done."""
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a):
            pass

    site = env.path("site")
    os.makedirs(site, exist_ok=True)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=site))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    issuer = f"http://127.0.0.1:{srv.server_address[1]}/fb"
    path = os.path.join(env.home, "config.json")
    with open(path) as f:
        conf = json.load(f)
    conf["identity"] = {"trustDomain": trust_domain, "issuer": issuer, **identity}
    with open(path, "w") as f:
        json.dump(conf, f)
    return issuer, site, srv
