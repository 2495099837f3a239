#!/usr/bin/python3
"""The fake's refusals and acceptances, data-driven from
validation_cases.json: each case sets up what it needs, sends one request
(an API call, a token-endpoint form, an STS exchange with a subject token
signed here) and checks the status, the google.rpc.Status or OAuth error,
the message and the field the fake names. Valid requests are in the same
file and must be accepted.

The service-account key and the OIDC issuer's key are made with openssl;
JWTs are signed with python3-jwt. Nothing here builds a request the fake
would recognise as "test data": the cases are plain HTTP.
"""
import base64
import copy
import io
import json
import os
import sys
import time
import unittest
import urllib.parse
import urllib.request
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gftest  # noqa: E402
from gftest import CLOUD, NUMBER, PROJECT, Fake, Issuer, make_pool_provider, openssl_service_account_key, \
    provider_name  # noqa: E402

import jwt  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "validation_cases.json")) as f:
    DATA = json.load(f)
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS = "urn:ietf:params:oauth:token-type:access_token"
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"


def subst(value, env):
    """Placeholders in every string of value; a string that is exactly one
    placeholder whose value is not a string is replaced by that value."""
    if isinstance(value, str):
        if value.startswith("{") and value.endswith("}") and value[1:-1] in env and \
                not isinstance(env[value[1:-1]], str):
            return env[value[1:-1]]
        for k, v in env.items():
            if isinstance(v, str):
                value = value.replace("{%s}" % k, v)
        return value
    if isinstance(value, list):
        return [subst(v, env) for v in value]
    if isinstance(value, dict):
        return {k: subst(v, env) for k, v in value.items()}
    return value


class ValidationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.tmp = tempfile.mkdtemp(prefix="gcp-fake-val-")
        cls.fake = Fake()
        cls.issuer = Issuer(cls.tmp)
        keypath, cls.cert = openssl_service_account_key(cls.tmp, "runner")
        with open(keypath, "rb") as f:
            cls.sa_key = serialization.load_pem_private_key(f.read(), None)
        cls.other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    @classmethod
    def tearDownClass(cls):
        cls.issuer.close()
        cls.fake.close()
        import shutil
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # ---- building blocks -------------------------------------------------------
    def base(self):
        f = self.fake
        f.control("POST", "reset")
        self.admin = f.token()
        sa = f.control("POST", "service-accounts", {"account_id": "runner", "cert_pem": self.cert})
        self.env = {"project": PROJECT, "number": NUMBER, "region": DATA["defaults"]["region"],
                    "sa_email": sa["email"], "key_id": sa["key_id"], "fake": f.url, "provider": provider_name(),
                    "audience": "//iam.googleapis.com/" + provider_name()}
        make_pool_provider(f, self.admin, {"attributeMapping": {"google.subject": "assertion.sub"},
                                           "oidc": {"issuerUri": self.issuer.url,
                                                    "jwksJson": json.dumps(self.issuer.jwks)}})

    def ok(self, st, doc, what):
        self.assertEqual(st, 200, "setup %s: %r" % (what, doc))
        return doc

    def setup_step(self, step):
        f, a, env = self.fake, self.admin, self.env
        kind, _, arg = step.partition(":")
        arg = subst(arg, env)
        if kind == "secret":
            self.ok(*f.call("POST", "/secretmanager/v1/projects/%s/secrets?secretId=%s" % (PROJECT, arg),
                            {"replication": {"automatic": {}}}, a)[:2], step)
            self.ok(*f.call("POST", "/secretmanager/v1/projects/%s/secrets/%s:addVersion" % (PROJECT, arg),
                            {"payload": {"data": base64.b64encode(b"hunter2").decode()}}, a)[:2], step)
        elif kind == "grant-accessor":
            secret, _, who = arg.partition(":")
            res = "/secretmanager/v1/projects/%s/secrets/%s" % (PROJECT, secret)
            pol = self.ok(*f.call("GET", res + ":getIamPolicy", token=a)[:2], step)
            pol["bindings"] = [{"role": "roles/secretmanager.secretAccessor",
                                "members": ["serviceAccount:" + env["sa_email"]]}]
            self.ok(*f.call("POST", res + ":setIamPolicy", {"policy": pol}, a)[:2], step)
        elif kind == "service":
            st, op, _ = f.call("POST", "/run/v2/projects/%s/locations/%s/services?serviceId=%s"
                               % (PROJECT, env["region"], arg),
                               {"template": {"containers": [{"image": "europe-docker.pkg.dev/p/r/app:1"}]}}, a)
            f.wait_op(self.ok(st, op, step), a, "/run")
        elif kind == "config":
            k, _, v = arg.partition("=")
            f.control("POST", "config", {k: json.loads(v)})
        elif kind in ("stale-etag", "current-etag"):
            pol = self.ok(*f.call("POST" if "/iam/" in arg else "GET", arg + ":getIamPolicy", token=a)[:2], step)
            env["stale_etag"] = pol["etag"]
            if kind == "stale-etag":  # someone else writes in between
                pol["bindings"] = [{"role": "roles/run.viewer", "members": ["user:other@example.com"]}]
                self.ok(*f.call("POST", arg + ":setIamPolicy", {"policy": pol}, a)[:2], step)
        elif kind == "admins":
            f.control("POST", "admins", {"principals": [arg]})
        elif kind == "bind-sa":
            role, _, member = arg.partition(":")
            res = "/iam/v1/projects/%s/serviceAccounts/%s" % (PROJECT, env["sa_email"])
            pol = self.ok(*f.call("POST", res + ":getIamPolicy", token=a)[:2], step)
            pol["bindings"] = [{"role": role, "members": [member]}]
            self.ok(*f.call("POST", res + ":setIamPolicy", {"policy": pol}, a)[:2], step)
        elif kind == "upload-url":
            up = self.ok(*f.call("POST", "/cloudfunctions/v2/projects/%s/locations/%s/functions:generateUploadUrl"
                                 % (PROJECT, env["region"]), {}, a)[:2], step)
            env.update(upload_bucket=up["storageSource"]["bucket"], upload_object=up["storageSource"]["object"],
                       upload_url=up["uploadUrl"])
        elif kind == "upload-zip":
            b = io.BytesIO()
            with zipfile.ZipFile(b, "w") as z:
                z.writestr("main.py", "def main(request):\n    return 'ok'\n")
            req = urllib.request.Request(env["upload_url"], data=b.getvalue(), method="PUT",
                                         headers={"Content-Type": "application/zip"})
            with urllib.request.urlopen(req, timeout=30) as r:
                self.assertEqual(r.status, 200)
        elif kind == "topic":
            self.ok(*f.call("PUT", "/pubsub/v1/projects/%s/topics/%s" % (PROJECT, arg), {}, a)[:2], step)
        elif kind == "pool":
            st, op, _ = f.call("POST", "/iam/v1/projects/%s/locations/global/workloadIdentityPools?"
                               "workloadIdentityPoolId=%s" % (PROJECT, arg), {}, a)
            f.wait_op(self.ok(st, op, step), a, "/iam")
        elif kind in ("disable-provider", "condition"):
            body, mask = ({"disabled": True}, "disabled") if kind == "disable-provider" else \
                ({"attributeCondition": arg}, "attributeCondition")
            st, op, _ = f.call("PATCH", "/iam/v1/%s?updateMask=%s" % (provider_name(), mask), body, a)
            f.wait_op(self.ok(st, op, step), a, "/iam")
        else:
            raise AssertionError("unknown setup step %s" % step)

    def assertion(self, spec):
        env = self.env
        now = int(time.time()) + spec.get("iat_offset", 0)
        claims = {"iss": env["sa_email"], "aud": spec.get("aud", self.fake.url + "/token"), "iat": now,
                  "exp": now + spec.get("ttl", 3600)}
        scope = spec.get("scope", CLOUD)
        if scope:
            claims["scope"] = scope
        if spec.get("target_audience"):
            claims["target_audience"] = spec["target_audience"]
        if spec.get("alg") == "HS256":
            return jwt.encode(claims, "shared-secret", algorithm="HS256", headers={"kid": env["key_id"]})
        key = self.other_key if spec.get("key") == "other" else self.sa_key
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": spec.get("kid", env["key_id"])})

    def subject(self, spec):
        now = int(time.time()) + spec.get("iat_offset", 0)
        aud = subst(spec.get("aud", self.env["audience"]), self.env)
        claims = {"iss": spec.get("iss", self.issuer.url), "sub": spec.get("sub", "wl-1"), "aud": aud,
                  "iat": now, "exp": now + spec.get("ttl", 600)}
        key = self.other_key if spec.get("key") == "other" else self.issuer.key
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": spec.get("kid", self.issuer.kid)})

    def sts_form(self, subject_token, extra):
        form = {"grant_type": EXCHANGE, "audience": self.env["audience"], "scope": CLOUD,
                "requested_token_type": ACCESS, "subject_token": subject_token, "subject_token_type": JWT_TYPE}
        for k, v in (extra or {}).items():
            if v is None:
                form.pop(k, None)
            else:
                form[k] = subst(v, self.env)
        return form

    def token_for(self, kind):
        f = self.fake
        if kind == "admin":
            return self.admin
        if kind == "none":
            return None
        if kind == "unknown":
            return "ya29.fake-never-issued"
        if kind == "noscope":
            return f.token(scopes=["https://www.googleapis.com/auth/userinfo.email"])
        if kind == "expired":
            t = f.token(lifetime=60)
            f.control("POST", "clock", {"advance": 61})
            return t
        if kind == "federated":
            form = self.sts_form(self.subject({}), {})
            st, out, _ = f.call("POST", "/v1/token", raw=urllib.parse.urlencode(form).encode(),
                                ctype="application/x-www-form-urlencoded")
            return self.ok(st, out, "federated token")["access_token"]
        raise AssertionError("unknown token kind %s" % kind)

    # ---- one case -------------------------------------------------------------------
    def run_case(self, case):
        self.base()
        for step in case.get("setup", []):
            self.setup_step(step)
        token = self.token_for(case.get("token", "admin"))
        env = self.env
        if "assertion" in case:
            env["assertion"] = self.assertion(case["assertion"])
        if "subject" in case:
            form = self.sts_form(self.subject(case["subject"]), case.get("sts_extra"))
            env["sts_form"] = form
            env["sts_json"] = {"".join(w.capitalize() if i else w for i, w in enumerate(k.split("_"))): v
                               for k, v in form.items()}
        req = case["request"]
        path = subst(req["path"], env)
        since = self.fake.log()[-1]["seq"] if self.fake.log() else 0
        if "form" in req:
            form = subst(req["form"], env)
            raw = urllib.parse.urlencode(form).encode()
            st, doc, hdrs = self.fake.call(req["method"], path, raw=raw, ctype="application/x-www-form-urlencoded",
                                           token=token if not path.endswith("token") else None)
        elif "raw" in req:
            st, doc, hdrs = self.fake.call(req["method"], path, raw=req["raw"].encode(), token=token,
                                           ctype=req.get("content_type", "application/json"))
        elif "body" in req:
            body = subst(copy.deepcopy(req["body"]), env)
            st, doc, hdrs = self.fake.call(req["method"], path, body, token if not path.endswith("token") else None)
        else:
            st, doc, hdrs = self.fake.call(req["method"], path, token=token)
        self.check(case, st, doc, since)

    def check(self, case, st, doc, since):
        exp = case["expect"]
        what = "%s -> %s %s" % (case["name"], st, json.dumps(doc)[:600])
        self.assertEqual(st, exp["status"], what)
        err = doc.get("error") if isinstance(doc, dict) else None
        if "error_status" in exp:
            self.assertEqual(err["status"], exp["error_status"], what)
            self.assertEqual(err["code"], exp["status"], what)
        if "oauth_error" in exp:
            self.assertEqual(err, exp["oauth_error"], what)
        if exp["status"] != 200:
            message = err["message"] if isinstance(err, dict) else doc.get("error_description")
            if "message" in exp:
                self.assertEqual(message, subst(exp["message"], self.env), what)
            for c in exp.get("contains", []):
                self.assertIn(c, message, what)
            if isinstance(err, dict):
                details = err.get("details") or []
                if "field" in exp:
                    fv = [d for d in details if d.get("@type", "").endswith("BadRequest")]
                    self.assertTrue(fv, what)
                    self.assertEqual(fv[0]["fieldViolations"][0].get("field"), exp["field"], what)
                if "reason" in exp:
                    self.assertIn(exp["reason"], [d.get("reason") for d in details], what)
        for k, v in (exp.get("json") or {}).items():
            self.assertEqual(doc.get(k), v, what)
        for k in exp.get("has", []):
            self.assertIn(k, doc, what)
        if "log_output_only" in exp:
            entry = [e for e in self.fake.log(since) if e.get("method_id", "").endswith(".create")][-1]
            self.assertEqual(entry.get("output_only"), exp["log_output_only"], what)
            self.assertTrue(any("ignored" in n for n in entry.get("notes", [])), what)


def _make(case):
    def test(self):
        self.run_case(case)
    test.__doc__ = case["name"]
    return test


for i, c in enumerate(DATA["cases"]):
    setattr(ValidationTest, "test_%03d" % i, _make(c))

if __name__ == "__main__":
    gftest.main()
