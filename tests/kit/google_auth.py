#!/usr/bin/python3
"""The kit's Google auth (drivers/kit/fbk_google.h) against what we did not
write: python3-jwt / python3-cryptography verify the RS256 JWTs it signs,
and tests/fakes/fake_gcp.py (which verifies every assertion's signature
against the uploaded certificate, every STS exchange per RFC 8693 and every
AWS subject token's SigV4 signature with botocore) answers its token
requests. tests/kit/google_tool drives the kit through the real host.

- JWT: keys made by openssl (PKCS#8 and PKCS#1), signatures verified with
  the public half; base64url against Python's; a flipped signature byte
  fails verification (the check can fail); EC, encrypted and garbage keys
  are refused;
- the service-account assertion: header kid, iss/scope/aud/iat/exp;
- credential files of every kind parsed, bad ones refused naming the
  member, secrets never in a message;
- an access token in GOOGLE_OAUTH_ACCESS_TOKEN, used as it is, before
  everything else;
- tokens from a service-account key (GOOGLE_APPLICATION_CREDENTIALS),
  gcloud's ADC file (authorized user; HOME and CLOUDSDK_CONFIG), the
  metadata server (GCE_METADATA_HOST), workload identity federation (file,
  url with headers and json format, AWS from the environment and from an
  instance metadata service with IMDSv2, impersonation);
- the order (GOOGLE_APPLICATION_CREDENTIALS before the ADC file before the
  metadata server), the error that lists every source tried, a missing
  named file;
- one exchange for many tokens, a new one at 80% of the lifetime, a 401 to
  a cached token answered by one fresh exchange;
- a dry run fetches nothing and shows Bearer REDACTED.
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("top_srcdir") or os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "gcp_fake"))
import gftest  # noqa: E402
from gftest import NUMBER, PROJECT, REGION, FakeTest, Issuer, make_pool_provider, provider_name  # noqa: E402

import jwt  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402

BUILD = os.environ.get("top_builddir") or os.path.join(TOP, "build")
TOOL = os.path.join(BUILD, "tests", "kit", "google_tool")
CLOUD = "https://www.googleapis.com/auth/cloud-platform"
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"
AWS_TYPE = "urn:ietf:params:aws:token-type:aws4_request"
ENV_DROP = ("GOOGLE_OAUTH_ACCESS_TOKEN", "GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_CONFIG", "GCE_METADATA_HOST", "GCE_METADATA_ROOT",
            "GCE_METADATA_IP", "NO_GCE_CHECK", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
            "AWS_REGION", "AWS_DEFAULT_REGION", "FEDBROKER_NOW", "FEDBROKER_LOG")


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Tool:
    def __init__(self, home):
        self.home = home

    def env(self, extra=None):
        e = {k: v for k, v in os.environ.items() if k not in ENV_DROP}
        e.update({"HOME": self.home, "FEDBROKER_SLEEP_SCALE": "0"})
        e.update(extra or {})
        return e

    def run(self, *args, env=None):
        r = subprocess.run([TOOL, *args], env=self.env(env), capture_output=True, text=True, timeout=120)
        return r.returncode, r.stdout, r.stderr


class JwtTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fbk-google-")
        cls.pkcs8 = os.path.join(cls.tmp, "k8.pem")
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", cls.pkcs8)
        cls.pkcs1 = os.path.join(cls.tmp, "k1.pem")
        openssl("genrsa", "-traditional", "-out", cls.pkcs1, "2048")
        cls.tool = Tool(cls.tmp)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def public(self, path):
        with open(path, "rb") as f:
            return serialization.load_pem_private_key(f.read(), None).public_key()

    def sign(self, key, header, claims):
        rc, out, err = self.tool.run("jwt", key, header, claims)
        self.assertEqual(rc, 0, err)
        return out.strip()

    def test_signatures_verify_with_the_public_half(self):
        for key in (self.pkcs8, self.pkcs1):
            # claim texts of every length mod 3, so every base64url tail occurs
            for pad in ("", "x", "xy", "xyz"):
                header = '{"alg":"RS256","typ":"JWT","kid":"k-%s"}' % pad
                claims = '{"iss":"sa@p.iam.gserviceaccount.com","n":"%s","iat":1700000000,"exp":1700003600}' % pad
                tok = self.sign(key, header, claims)
                h, c, s = tok.split(".")
                self.assertEqual(h, b64u(header.encode()))
                self.assertEqual(c, b64u(claims.encode()))
                self.assertNotIn("=", tok)
                got = jwt.decode(tok, self.public(key), algorithms=["RS256"],
                                 options={"verify_exp": False, "verify_iat": False, "verify_aud": False})
                self.assertEqual(got, json.loads(claims))
                self.assertEqual(jwt.get_unverified_header(tok)["kid"], "k-" + pad)
                # the same check refuses a changed signature: it can fail
                raw = bytearray(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))
                raw[10] ^= 1
                bad = "%s.%s.%s" % (h, c, b64u(bytes(raw)))
                with self.assertRaises(jwt.InvalidSignatureError):
                    jwt.decode(bad, self.public(key), algorithms=["RS256"],
                               options={"verify_exp": False, "verify_iat": False, "verify_aud": False})

    def test_bad_keys_are_refused(self):
        ec = os.path.join(self.tmp, "ec.pem")
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", ec)
        enc = os.path.join(self.tmp, "enc.pem")
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-aes-128-cbc", "-pass",
                "pass:secret", "-out", enc)
        junk = os.path.join(self.tmp, "junk.pem")
        with open(junk, "w") as f:
            f.write("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
        for key, why in ((ec, "not an RSA key"), (enc, "without a passphrase"), (junk, "not a PEM RSA private key")):
            rc, out, err = self.tool.run("jwt", key, "{}", "{}")
            self.assertEqual(rc, 1)
            self.assertIn(why, err)
            self.assertEqual(out, "")


class FakeBase(FakeTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.home = os.path.join(cls.tmp, "home")
        os.mkdir(cls.home)
        cls.tool = Tool(cls.home)
        cls.key_pem, cls.cert = gftest.openssl_service_account_key(cls.tmp)

    def setUp(self):
        super().setUp()
        shutil.rmtree(os.path.join(self.home, ".config"), ignore_errors=True)

    def service_account(self, account_id="deployer"):
        doc = self.fake.control("POST", "service-accounts", {"account_id": account_id, "cert_pem": self.cert})
        path = gftest.key_file(self.tmp, self.fake, doc["email"], self.key_pem, doc["key_id"],
                               name=account_id + ".json")
        return doc, path

    def list_url(self):
        return self.fake.url + "/run/v2/projects/%s/locations/%s/services" % (PROJECT, REGION)

    def token_calls(self, method="oauth2.token"):
        return [e for e in self.fake.log() if e.get("method_id") == method or e.get("fault") == method
                or (method == "oauth2.token" and e.get("path") == "/token")
                or (method == "sts.token" and e.get("path") == "/v1/token")]

    def run_ok(self, *steps, env=None):
        rc, out, err = self.tool.run("run", *steps, env=env)
        self.assertEqual(rc, 0, "stdout:\n%s\nstderr:\n%s" % (out, err))
        return out.splitlines(), err

    def principal_of(self, token):
        st, _, _ = self.fake.call("GET", "/run/v2/projects/%s/locations/%s/services" % (PROJECT, REGION), token=token)
        self.assertEqual(st, 200)
        return self.fake.log()[-1]["principal"]


class ServiceAccountTest(FakeBase):
    def test_assertion_claims_and_signature(self):
        doc, path = self.service_account()
        rc, out, err = self.tool.run("assertion", path, CLOUD, "1700000000")
        self.assertEqual(rc, 0, err)
        tok = out.strip()
        with open(self.key_pem, "rb") as f:
            pub = serialization.load_pem_private_key(f.read(), None).public_key()
        claims = jwt.decode(tok, pub, algorithms=["RS256"], audience=self.fake.url + "/token",
                            options={"verify_exp": False, "verify_iat": False})
        self.assertEqual(claims, {"iss": doc["email"], "scope": CLOUD, "aud": self.fake.url + "/token",
                                  "iat": 1700000000, "exp": 1700003600})
        self.assertEqual(jwt.get_unverified_header(tok), {"alg": "RS256", "typ": "JWT", "kid": doc["key_id"]})

    def test_key_file_token_is_accepted_and_cached(self):
        doc, path = self.service_account()
        lines, err = self.run_ok("token", "get", self.list_url(), "token", "get", self.list_url(),
                                 env={"GOOGLE_APPLICATION_CREDENTIALS": path})
        tokens = [ln.split()[1] for ln in lines if ln.startswith("token ")]
        self.assertEqual(len(set(tokens)), 1, lines)
        self.assertTrue(all(ln.startswith("status 200") for ln in lines if ln.startswith("status")), lines)
        calls = [e for e in self.fake.log() if e["path"] == "/token"]
        self.assertEqual([e["status"] for e in calls], [200], "one exchange, accepted (signature verified)")
        self.assertEqual(self.principal_of(tokens[0]), "serviceAccount:" + doc["email"])
        # the assertion and the token are request secrets: the fake's log shows what was sent
        self.assertIn("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer", calls[0]["body"])

    def test_wrong_key_is_refused_without_printing_it(self):
        doc, path = self.service_account()
        other = os.path.join(self.tmp, "other.key.pem")
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", other)
        with open(path) as f:
            d = json.load(f)
        with open(other) as f:
            d["private_key"] = f.read()
        bad = os.path.join(self.tmp, "bad.json")
        with open(bad, "w") as f:
            json.dump(d, f)
        rc, out, err = self.tool.run("run", "token", env={"GOOGLE_APPLICATION_CREDENTIALS": bad})
        self.assertEqual(rc, 1)
        self.assertIn("error auth", out)
        self.assertIn("Invalid JWT Signature", err)
        self.assertIn(doc["email"], err)
        self.assertNotIn("PRIVATE KEY", out + err)


class AdcOrderTest(FakeBase):
    def write_adc(self, doc, where=None):
        d = where or os.path.join(self.home, ".config", "gcloud")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "application_default_credentials.json"), "w") as f:
            json.dump(doc, f)

    def user(self, client_id="cid-1", refresh="1//refresh-token-secret", email="dev@example.com"):
        self.fake.control("POST", "authorized-users", {"client_id": client_id, "client_secret": "client-secret-x",
                                                       "refresh_token": refresh, "email": email,
                                                       "scopes": [CLOUD]})
        return {"type": "authorized_user", "client_id": client_id, "client_secret": "client-secret-x",
                "refresh_token": refresh, "token_uri": self.fake.url + "/token"}

    def test_gcloud_adc_file_authorized_user(self):
        self.write_adc(self.user())
        lines, _ = self.run_ok("check", "token")
        self.assertIn("authorized user", lines[0])
        self.assertIn(".config/gcloud/application_default_credentials.json", lines[0])
        self.assertEqual(self.principal_of(lines[1].split()[1]), "user:dev@example.com")
        # CLOUDSDK_CONFIG moves the file
        cfg = os.path.join(self.tmp, "cloudsdk")
        shutil.rmtree(os.path.join(self.home, ".config"))
        self.write_adc(self.user("cid-2", "1//other", "ops@example.com"), cfg)
        lines, _ = self.run_ok("token", env={"CLOUDSDK_CONFIG": cfg})
        self.assertEqual(self.principal_of(lines[0].split()[1]), "user:ops@example.com")

    def test_order(self):
        doc, path = self.service_account()
        self.write_adc(self.user())
        self.fake.control("POST", "metadata", {"email": doc["email"]})
        meta = {"GCE_METADATA_HOST": "127.0.0.1:%d" % self.fake.port}
        lines, _ = self.run_ok("check", env=dict(meta, GOOGLE_APPLICATION_CREDENTIALS=path))
        self.assertIn("service account " + doc["email"], lines[0])
        lines, _ = self.run_ok("check", env=meta)
        self.assertIn("authorized user", lines[0])
        shutil.rmtree(os.path.join(self.home, ".config"))
        lines, _ = self.run_ok("check", "token", env=meta)
        self.assertIn("metadata server", lines[0])
        self.assertEqual(self.principal_of(lines[1].split()[1]), "serviceAccount:" + doc["email"])
        self.assertTrue(any(e["path"].endswith("/service-accounts/default/token") for e in self.fake.log()))

    def test_nothing_found_lists_every_source(self):
        for extra in ({"NO_GCE_CHECK": "true"}, {}):
            rc, out, err = self.tool.run("run", "token", env=extra)
            self.assertEqual(rc, 1)
            self.assertIn("error auth", out)
            self.assertIn("no Google credentials found", err)
            for src in ("0. GOOGLE_OAUTH_ACCESS_TOKEN: not set", "1. GOOGLE_APPLICATION_CREDENTIALS: not set",
                        "2. gcloud's ADC file: %s/.config/gcloud/application_default_credentials.json does not exist"
                        % self.home, "3. the metadata server"):
                self.assertIn(src, err)
            self.assertIn("NO_GCE_CHECK" if extra else "metadata.google.internal", err)
        # validate's check and a dry run do not probe the network
        rc, out, err = self.tool.run("run", "check")
        self.assertIn("probed only when requests are sent, not by validate", err)
        rc, out, err = self.tool.run("run", "dry", "token")
        self.assertIn("not in a dry run", err)
        self.assertNotIn("dry ", out)

    def test_access_token_variable_comes_first(self):
        doc, path = self.service_account()
        tok = self.fake.token("user:ci@example.com")
        lines, err = self.run_ok("check", "get", self.list_url(), "get", self.list_url(),
                                 env={"GOOGLE_OAUTH_ACCESS_TOKEN": tok, "GOOGLE_APPLICATION_CREDENTIALS": path})
        self.assertIn("GOOGLE_OAUTH_ACCESS_TOKEN", lines[0])
        self.assertTrue(lines[1].startswith("status 200") and lines[2].startswith("status 200"), lines)
        self.assertEqual([e for e in self.fake.log() if e["path"] == "/token"], [], "no exchange")
        self.assertEqual(self.fake.log()[-1]["principal"], "user:ci@example.com")
        self.assertNotIn(tok, err)

    def test_named_file_missing_or_malformed(self):
        rc, out, err = self.tool.run("run", "token", env={"GOOGLE_APPLICATION_CREDENTIALS": "/nonexistent/k.json"})
        self.assertEqual(rc, 1)
        self.assertIn("GOOGLE_APPLICATION_CREDENTIALS names /nonexistent/k.json, which does not exist", err)
        bad = os.path.join(self.tmp, "bad.json")
        with open(bad, "w") as f:
            json.dump({"type": "authorized_user", "client_id": "c", "client_secret": "sekrit-client-secret"}, f)
        rc, out, err = self.tool.run("run", "token", env={"GOOGLE_APPLICATION_CREDENTIALS": bad})
        self.assertIn("error invalid", out)
        self.assertIn('member "refresh_token" is missing', err)
        self.assertNotIn("sekrit", err)

    def test_cache_80_percent_and_401(self):
        self.write_adc(self.user())
        self.fake.control("POST", "config", {"token_lifetime": 100})
        t0 = 1900000000
        iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))  # noqa: E731
        lines, _ = self.run_ok("now", iso(t0), "token", "now", iso(t0 + 79), "token", "now", iso(t0 + 80), "token")
        toks = [ln.split()[1] for ln in lines]
        self.assertEqual(toks[0], toks[1], "reused before 80% of 100 s")
        self.assertNotEqual(toks[1], toks[2], "exchanged again at 80%")
        self.assertEqual(len([e for e in self.fake.log() if e["path"] == "/token"]), 2)
        # a token the server no longer accepts: one fresh exchange, the request succeeds
        self.fake.control("POST", "config", {"token_lifetime": 3600})
        self.fake.control("POST", "reset")
        self.user()
        lines, err = self.run_ok("token", "get", self.list_url(), "post", self.fake.url + "/__fake/clock",
                                 '{"advance": 7200}', "get", self.list_url())
        self.assertTrue(lines[1].startswith("status 200"), lines)
        self.assertTrue(lines[3].startswith("status 200"), lines)
        statuses = [e["status"] for e in self.fake.log() if e["path"].endswith("/services")]
        self.assertEqual(statuses[-2:], [401, 200])
        self.assertEqual(len([e for e in self.fake.log() if e["path"] == "/token"]), 2)

    def test_dry_run_fetches_nothing(self):
        self.write_adc(self.user())
        mark = len(self.fake.log())
        lines, _ = self.run_ok("dry", "get", self.list_url())
        self.assertEqual(self.fake.log()[mark:], [], "nothing was sent")
        req = json.loads([ln for ln in lines if ln.startswith("dry ")][0][4:])
        self.assertEqual(req["headers"]["Authorization"], "Bearer REDACTED")
        self.assertEqual(req["url"], self.list_url())


class ParseTest(FakeBase):
    def parse(self, doc, ok=True):
        path = os.path.join(self.tmp, "c.json")
        with open(path, "w") as f:
            f.write(doc if isinstance(doc, str) else json.dumps(doc))
        rc, out, err = self.tool.run("parse", path)
        if ok:
            self.assertEqual(rc, 0, err)
            return json.loads(out)
        self.assertEqual(rc, 2, out)
        self.assertIn(path, err)
        return err

    def test_kinds(self):
        with open(self.key_pem) as f:
            pem = f.read()
        sa = self.parse({"type": "service_account", "project_id": "p1", "private_key_id": "kid1",
                         "private_key": pem, "client_email": "a@p1.iam.gserviceaccount.com"})
        self.assertEqual((sa["type"], sa["token_uri"], sa["project_id"], sa["private_key"]),
                         ("service_account", "https://oauth2.googleapis.com/token", "p1", len(pem)))
        au = self.parse({"type": "authorized_user", "client_id": "c", "client_secret": "s", "refresh_token": "r",
                         "quota_project_id": "q"})
        self.assertEqual((au["type"], au["project_id"], au["client_secret"]), ("authorized_user", "q", 1))
        ea = self.parse({"type": "external_account", "audience": "//iam.googleapis.com/x",
                         "subject_token_type": JWT_TYPE, "credential_source": {
                             "url": "http://127.0.0.1:1/t", "headers": {"Metadata": "True"},
                             "format": {"type": "json", "subject_token_field_name": "access_token"}},
                         "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/x",
                         "service_account_impersonation": {"token_lifetime_seconds": 1200}})
        self.assertEqual((ea["subject_kind"], ea["subject_json"], ea["subject_field"], ea["sts_url"],
                          ea["impersonation_lifetime"], ea["subject_headers"]),
                         ("url", True, "access_token", "https://sts.googleapis.com/v1/token", 1200,
                          {"Metadata": "True"}))
        aws = self.parse({"type": "external_account", "audience": "//iam.googleapis.com/x",
                          "subject_token_type": AWS_TYPE, "credential_source": {
                              "environment_id": "aws1", "regional_cred_verification_url":
                                  "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15"}})
        self.assertEqual(aws["subject_kind"], "aws")

    def test_refusals_name_the_member(self):
        cases = [
            ("{not json", "not JSON (line 1"),
            ({"type": "gdch_service_account"}, '"gdch_service_account" is not supported'),
            ({}, 'member "type" is missing'),
            ({"type": "service_account", "client_email": "a@b", "private_key": "MIIsecretbytes"},
             'member "private_key" is not a PEM key'),
            ({"type": "service_account", "client_email": "a@b", "private_key": "-----BEGIN x",
              "token_uri": "ftp://x"}, 'member "token_uri" is not a usable URL'),
            ({"type": "external_account", "audience": "a", "subject_token_type": JWT_TYPE,
              "credential_source": {"executable": {"command": "x"}}}, "credential_source.executable"),
            ({"type": "external_account", "audience": "a", "subject_token_type": JWT_TYPE,
              "credential_source": {"file": "/a", "url": "http://x"}}, "exactly one of file, url"),
            ({"type": "external_account", "audience": "a", "subject_token_type": JWT_TYPE,
              "credential_source": {"file": "/a", "format": {"type": "json"}}},
             '"credential_source.format.subject_token_field_name" is missing'),
            ({"type": "external_account", "audience": "a", "subject_token_type": AWS_TYPE,
              "credential_source": {"environment_id": "aws2"}}, "only version 1"),
            ({"type": "external_account", "audience": "a", "subject_token_type": JWT_TYPE,
              "credential_source": {"file": "/a"}, "service_account_impersonation": {"token_lifetime_seconds": 5}},
             "token_lifetime_seconds"),
        ]
        for doc, want in cases:
            err = self.parse(doc, ok=False)
            self.assertIn(want, err)
            self.assertNotIn("secretbytes", err)


class FederationTest(FakeBase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.issuer = Issuer(cls.tmp)

    @classmethod
    def tearDownClass(cls):
        cls.issuer.close()
        super().tearDownClass()

    def cred(self, aud, source, stype=JWT_TYPE, **extra):
        doc = {"type": "external_account", "audience": aud, "subject_token_type": stype,
               "token_url": self.fake.url + "/v1/token", "credential_source": source}
        doc.update(extra)
        path = os.path.join(self.tmp, "external.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        return {"GOOGLE_APPLICATION_CREDENTIALS": path}

    def oidc(self):
        make_pool_provider(self.fake, self.admin, {
            "attributeMapping": {"google.subject": "assertion.sub"},
            "oidc": {"issuerUri": self.issuer.url, "jwksJson": json.dumps(self.issuer.jwks)}})
        return "//iam.googleapis.com/" + provider_name()

    def test_file_source_and_impersonation(self):
        aud = self.oidc()
        subj = os.path.join(self.tmp, "subject.jwt")
        with open(subj, "w") as f:
            f.write(self.issuer.token(aud, sub="wl-7") + "\n")
        lines, _ = self.run_ok("token", env=self.cred(aud, {"file": subj}))
        pool = "projects/%s/locations/global/workloadIdentityPools/fedbroker" % NUMBER
        self.assertEqual(self.principal_of(lines[0].split()[1]),
                         "principal://iam.googleapis.com/%s/subject/wl-7" % pool)
        sts = [e for e in self.fake.log() if e["path"] == "/v1/token"]
        self.assertEqual([e["status"] for e in sts], [200])
        # impersonation: refused until the principal may use the account, then its token
        st, sa, _ = self.fake.call("POST", "/iam/v1/projects/%s/serviceAccounts" % PROJECT,
                                   {"accountId": "wl-runner"}, self.admin)
        url = self.fake.url + "/iamcredentials/v1/projects/-/serviceAccounts/%s:generateAccessToken" % sa["email"]
        env = self.cred(aud, {"file": subj}, service_account_impersonation_url=url)
        rc, out, err = self.tool.run("run", "token", env=env)
        self.assertEqual(rc, 1)
        self.assertIn("roles/iam.workloadIdentityUser", err)
        st, pol, _ = self.fake.call("POST", "/iam/v1/%s:getIamPolicy" % sa["name"], token=self.admin)
        pol["bindings"] = [{"role": "roles/iam.workloadIdentityUser",
                            "members": ["principal://iam.googleapis.com/%s/subject/wl-7" % pool]}]
        st, _, _ = self.fake.call("POST", "/iam/v1/%s:setIamPolicy" % sa["name"], {"policy": pol}, self.admin)
        self.assertEqual(st, 200)
        lines, _ = self.run_ok("token", env=env)
        self.assertEqual(self.principal_of(lines[0].split()[1]), "serviceAccount:" + sa["email"])
        gen = [e for e in self.fake.log() if e["path"].endswith(":generateAccessToken")]
        self.assertEqual(json.loads(gen[-1]["body"]), {"scope": [CLOUD], "lifetime": "3600s"})

    def test_url_source_json_format(self):
        aud = self.oidc()
        tok = self.issuer.token(aud, sub="wl-url")
        seen = []

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                seen.append(self.headers.get("Metadata"))
                body = json.dumps({"access_token": tok}).encode()
                self.send_response(200 if self.headers.get("Metadata") == "True" else 400)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        try:
            src = {"url": "http://127.0.0.1:%d/token" % srv.server_address[1], "headers": {"Metadata": "True"},
                   "format": {"type": "json", "subject_token_field_name": "access_token"}}
            lines, _ = self.run_ok("token", env=self.cred(aud, src))
            self.assertTrue(self.principal_of(lines[0].split()[1]).endswith("/subject/wl-url"))
            self.assertEqual(seen, ["True"])
        finally:
            srv.shutdown()
            srv.server_close()

    def aws_provider(self):
        make_pool_provider(self.fake, self.admin, {"aws": {"accountId": "123456789012"}})
        return "//iam.googleapis.com/" + provider_name()

    def test_aws_from_environment(self):
        aud = self.aws_provider()
        arn = "arn:aws:sts::123456789012:assumed-role/fedbroker-wl/s1"
        ak, sk, st = "ASIAFAKEEXAMPLE00011", "fakeSecret/EXAMPLE+0011+fedbrokerTEST", "FQoGZXIvYXdzEFAKE11"
        self.fake.control("POST", "aws-identities", {"access_key_id": ak, "secret_access_key": sk, "arn": arn,
                                                     "account": "123456789012", "session_token": st})
        src = {"environment_id": "aws1", "regional_cred_verification_url":
               "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15"}
        env = self.cred(aud, src, stype=AWS_TYPE)
        env.update({"AWS_ACCESS_KEY_ID": ak, "AWS_SECRET_ACCESS_KEY": sk, "AWS_SESSION_TOKEN": st,
                    "AWS_REGION": "eu-west-1"})
        lines, err = self.run_ok("token", env=env)
        self.assertTrue(self.principal_of(lines[0].split()[1]).endswith("/subject/" + arn))
        self.assertNotIn(sk, err)
        # botocore recomputes the signature: another secret is refused
        env["AWS_SECRET_ACCESS_KEY"] = sk + "x"
        rc, out, err = self.tool.run("run", "token", env=env)
        self.assertEqual(rc, 1)
        self.assertIn("SignatureDoesNotMatch", err)
        self.assertNotIn(sk, err)

    def test_aws_from_instance_metadata_v2(self):
        aud = self.aws_provider()
        arn = "arn:aws:sts::123456789012:assumed-role/ec2-role/i-0abc"
        ak, sk, st = "ASIAFAKEEXAMPLE00012", "fakeSecret/EXAMPLE+0012+fedbrokerTEST", "FQoGZXIvYXdzEFAKE12"
        self.fake.control("POST", "aws-identities", {"access_key_id": ak, "secret_access_key": sk, "arn": arn,
                                                     "account": "123456789012", "session_token": st})
        hits = []

        class Imds(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def reply(self, code, text):
                b = text.encode()
                self.send_response(code)
                self.send_header("Content-Length", str(len(b)))
                self.end_headers()
                self.wfile.write(b)

            def do_PUT(self):
                hits.append(("PUT", self.path, self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")))
                self.reply(200, "imds-session-1")

            def do_GET(self):
                hits.append(("GET", self.path, self.headers.get("X-aws-ec2-metadata-token")))
                if self.headers.get("X-aws-ec2-metadata-token") != "imds-session-1":
                    return self.reply(401, "")
                if self.path.endswith("/availability-zone"):
                    return self.reply(200, "eu-central-1b")
                if self.path.endswith("/security-credentials"):
                    return self.reply(200, "ec2-role\n")
                if self.path.endswith("/security-credentials/ec2-role"):
                    return self.reply(200, json.dumps({"Code": "Success", "AccessKeyId": ak,
                                                       "SecretAccessKey": sk, "Token": st}))
                self.reply(404, "")

        srv = ThreadingHTTPServer(("127.0.0.1", 0), Imds)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        base = "http://127.0.0.1:%d" % srv.server_address[1]
        try:
            src = {"environment_id": "aws1", "region_url": base + "/latest/meta-data/placement/availability-zone",
                   "url": base + "/latest/meta-data/iam/security-credentials",
                   "imdsv2_session_token_url": base + "/latest/api/token",
                   "regional_cred_verification_url":
                       "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15"}
            lines, err = self.run_ok("token", env=self.cred(aud, src, stype=AWS_TYPE))
            self.assertTrue(self.principal_of(lines[0].split()[1]).endswith("/subject/" + arn))
            self.assertEqual(hits[0], ("PUT", "/latest/api/token", "300"))
            self.assertTrue(all(h[2] == "imds-session-1" for h in hits[1:]), hits)
            self.assertIn(("GET", "/latest/meta-data/placement/availability-zone", "imds-session-1"), hits)
        finally:
            srv.shutdown()
            srv.server_close()


if __name__ == "__main__":
    if not os.access(TOOL, os.X_OK):
        print("SKIP: %s is not built (run from make check)" % TOOL)
        sys.exit(77)
    gftest.main()
