"""gftest.py - helpers for the tests of tests/fakes/fake_gcp.py.

Starts the fake on a free port (it dies with the test through
--exit-on-stdin-eof), talks to its control API and to its Google APIs with
plain urllib (so nothing here decides what a valid request is: the fake and
the clients under test do), makes service-account keys with openssl, and
runs a small OIDC issuer on loopback for the workload identity tests.
"""
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from harness import FakeProcess  # noqa: E402
SRCDIR = os.path.abspath(os.environ.get("top_srcdir") or os.path.join(HERE, "..", ".."))
FAKE = os.path.join(SRCDIR, "tests", "fakes", "fake_gcp.py")
PY = "/usr/bin/python3"
PROJECT, NUMBER = "fb-test-project", "424242424242"
REGION = "europe-west1"
CLOUD = "https://www.googleapis.com/auth/cloud-platform"
GCLOUD = shutil.which("gcloud")


class Fake(FakeProcess):
    def __init__(self, *extra):
        self.port = self.start(FAKE, "--port", "0", *extra)
        self.url = "http://127.0.0.1:%d" % self.port

    def close(self):
        self.stop()

    # ---- the control API ----
    def control(self, method, what, doc=None):
        data = json.dumps(doc).encode() if doc is not None else None
        req = urllib.request.Request(self.url + "/__fake/" + what, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b"null")

    def token(self, principal="user:admin@example.com", scopes=None, lifetime=None):
        doc = {"principal": principal}
        if scopes is not None:
            doc["scopes"] = scopes
        if lifetime is not None:
            doc["lifetime"] = lifetime
        return self.control("POST", "tokens", doc)["access_token"]

    def log(self, since=0):
        return self.control("GET", "log?since=%d" % since)

    # ---- raw HTTP ----
    def call(self, method, path, body=None, token=None, headers=None, raw=None, ctype="application/json"):
        """(status, parsed JSON or text, headers). path is relative to the fake's root."""
        h = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None and ctype:
            h.setdefault("Content-Type", ctype)
        if token:
            h["Authorization"] = "Bearer " + token
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, text, hdrs = r.status, r.read(), dict(r.headers)
        except urllib.error.HTTPError as e:
            status, text, hdrs = e.code, e.read(), dict(e.headers)
        try:
            doc = json.loads(text) if text else None
        except ValueError:
            doc = text.decode("utf-8", "replace")
        return status, doc, hdrs

    def wait_op(self, op, token, prefix="", limit=20):
        """Poll a long-running operation to done with operations.get."""
        for _ in range(limit):
            if op.get("done"):
                return op
            st, op, _ = self.call("GET", "%s/%s/%s" % (prefix, op_version(op["name"], prefix), op["name"]),
                                  token=token)
            assert st == 200, (st, op)
        raise AssertionError("operation never finished: %r" % op)


def op_version(name, prefix):
    return {"/run": "v2", "/cloudfunctions": "v2"}.get(prefix, "v1")


def openssl_service_account_key(tmpdir, name="sa"):
    """An RSA key and a self-signed X.509 certificate made by openssl, as a
    user does before `keys upload`. -> (key PEM path, cert PEM text)."""
    key = os.path.join(tmpdir, name + ".key.pem")
    cert = os.path.join(tmpdir, name + ".cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-nodes", "-newkey", "rsa:2048", "-days", "2", "-subj",
                    "/CN=fedbroker-test", "-keyout", key, "-out", cert],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(cert) as f:
        return key, f.read()


def key_file(tmpdir, fake, email, key_pem_path, key_id, name="sa.json"):
    """A service-account JSON key file, as Google hands them out, with the
    token URI pointed at the fake."""
    with open(key_pem_path) as f:
        pem = f.read()
    doc = {"type": "service_account", "project_id": PROJECT, "private_key_id": key_id, "private_key": pem,
           "client_email": email, "client_id": "1", "token_uri": fake.url + "/token",
           "auth_uri": "https://accounts.google.com/o/oauth2/auth"}
    path = os.path.join(tmpdir, name)
    with open(path, "w") as f:
        json.dump(doc, f)
    return path


class Issuer:
    """An OIDC issuer on loopback: /.well-known/openid-configuration and a
    JWKS for RSA keys made with openssl."""

    def __init__(self, tmpdir):
        from cryptography.hazmat.primitives import serialization
        from jwt.algorithms import RSAAlgorithm
        path = os.path.join(tmpdir, "issuer.key.pem")
        subprocess.run(["openssl", "genrsa", "-out", path, "2048"], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        with open(path, "rb") as f:
            self.key = serialization.load_pem_private_key(f.read(), None)
        self.kid = "test-key-1"
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        self.jwks = {"keys": [jwk]}
        issuer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": issuer.url, "jwks_uri": issuer.url + "/jwks",
                            "id_token_signing_alg_values_supported": ["RS256"], "response_types_supported": ["id_token"],
                            "subject_types_supported": ["public"]}
                elif self.path == "/jwks":
                    body = issuer.jwks
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def token(self, aud, sub="spiffe://example.org/tenant/t/workload/w", ttl=600, key=None, kid=None, iat=None,
              **claims):
        import jwt
        now = int(time.time()) if iat is None else iat
        c = {"iss": self.url, "sub": sub, "aud": aud, "iat": now, "exp": now + ttl}
        c.update(claims)
        return jwt.encode(c, key or self.key, algorithm="RS256", headers={"kid": kid or self.kid})

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def provider_name(pool="fedbroker", provider="broker"):
    return "projects/%s/locations/global/workloadIdentityPools/%s/providers/%s" % (NUMBER, pool, provider)


def make_pool_provider(fake, token, provider_body, pool="fedbroker", provider="broker"):
    """A workload identity pool and provider created through the IAM API."""
    base = "/v1/projects/%s/locations/global/workloadIdentityPools" % PROJECT
    st, op, _ = fake.call("POST", base + "?workloadIdentityPoolId=" + pool, {"displayName": "fedbroker"}, token)
    assert st == 200, (st, op)
    fake.wait_op(op, token, "/iam")
    st, op, _ = fake.call("POST", "%s/%s/providers?workloadIdentityPoolProviderId=%s" % (base, pool, provider),
                          provider_body, token)
    assert st == 200, (st, op)
    return fake.wait_op(op, token, "/iam")


class FakeTest(unittest.TestCase):
    """A fresh fake per test class, reset before each test, with an admin
    token in self.admin."""
    fake_args = ()

    @classmethod
    def setUpClass(cls):
        cls.fake = Fake(*cls.fake_args)
        cls.tmp = tempfile.mkdtemp(prefix="gcp-fake-test-")

    @classmethod
    def tearDownClass(cls):
        cls.fake.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.fake.control("POST", "reset")
        self.admin = self.fake.token()

    def run_service(self, sid="hello", body=None, token=None, wait=True):
        body = body or {"template": {"containers": [{"image": "europe-docker.pkg.dev/p/r/hello:1"}]}}
        st, op, _ = self.fake.call("POST", "/run/v2/projects/%s/locations/%s/services?serviceId=%s"
                                   % (PROJECT, REGION, sid), body, token or self.admin)
        self.assertEqual(st, 200, op)
        if wait:
            op = self.fake.wait_op(op, token or self.admin, "/run")
            self.assertNotIn("error", op)
        return op


def main():
    import warnings
    # google-auth 1.5.1's Request() leaves its requests sessions open
    warnings.filterwarnings("ignore", category=ResourceWarning)
    unittest.main(verbosity=2, warnings="ignore")
