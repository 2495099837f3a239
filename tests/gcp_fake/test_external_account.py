#!/usr/bin/python3
"""fake_gcp's STS and IAM Credentials against google-auth's external-account
credentials (workload identity federation) and gcloud.

Debian 12's python3-google-auth (1.5.1) predates external accounts, so this
runs the copy of google-auth (2.x) that gcloud bundles, under gcloud's own
Python (ext_client.py), and gcloud itself; without gcloud it is skipped
(exit 77). The STS refusals are also covered by test_validation.py with
requests built here, which needs nothing beyond Debian.

- identity_pool, file-sourced OIDC token signed by a test key (openssl),
  the provider's JWKS given inline (oidc.jwksJson) or found through the
  issuer's /.well-known/openid-configuration on loopback;
- service_account_impersonation_url pointed at the fake: refused until the
  service account's policy grants roles/iam.workloadIdentityUser to the
  federated principal (or a principalSet with its attribute);
- attributeCondition: a credential it rejects gets unauthorized_client;
- aws: google-auth signs GetCallerIdentity with SigV4; the fake recomputes the
  signature with botocore and refuses it under a wrong secret;
- gcloud auth login --cred-file with token_info_url pointed at the fake's
  introspection endpoint, then gcloud auth print-access-token.
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gftest  # noqa: E402
from gftest import NUMBER, PROJECT, REGION, FakeTest, Issuer, make_pool_provider, provider_name  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def gcloud_python():
    """gcloud's bundled Python and its third_party directory (google-auth 2.x)."""
    if not gftest.GCLOUD:
        return None
    root = os.path.dirname(os.path.dirname(os.path.realpath(gftest.GCLOUD)))
    py = os.path.join(root, "platform", "bundledpythonunix", "bin", "python3")
    tp = os.path.join(root, "lib", "third_party")
    if not (os.access(py, os.X_OK) and os.path.isfile(os.path.join(tp, "google", "auth", "identity_pool.py"))):
        return None
    return py, tp


BUNDLED = gcloud_python()
JWT = "urn:ietf:params:oauth:token-type:jwt"
AWS = "urn:ietf:params:aws:token-type:aws4_request"


class ExternalAccountTest(FakeTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.issuer = Issuer(cls.tmp)

    @classmethod
    def tearDownClass(cls):
        cls.issuer.close()
        super().tearDownClass()

    def oidc_provider(self, **extra):
        body = {"attributeMapping": {"google.subject": "assertion.sub", "attribute.tenant": "assertion.tenant"},
                "oidc": {"issuerUri": self.issuer.url, "jwksJson": json.dumps(self.issuer.jwks)}}
        body.update(extra)
        make_pool_provider(self.fake, self.admin, body)
        return "//iam.googleapis.com/" + provider_name()

    def cred_file(self, audience, source, stype=JWT, **extra):
        doc = {"type": "external_account", "audience": audience, "subject_token_type": stype,
               "token_url": self.fake.url + "/v1/token", "credential_source": source}
        doc.update(extra)
        path = os.path.join(self.tmp, "external.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        return path

    def subject_file(self, token):
        path = os.path.join(self.tmp, "subject.jwt")
        with open(path, "w") as f:
            f.write(token)
        return {"file": path}

    def client(self, cred, env=None):
        py, tp = BUNDLED
        e = dict(os.environ, PYTHONPATH=tp)
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
                  "AWS_DEFAULT_REGION", "GOOGLE_APPLICATION_CREDENTIALS"):
            e.pop(k, None)
        e.update(env or {})
        r = subprocess.run([py, os.path.join(HERE, "ext_client.py"), cred], env=e, capture_output=True, text=True,
                           timeout=120)
        self.assertIn(r.returncode, (0, 3), r.stderr)
        return r.returncode, json.loads(r.stdout)

    def principal_of(self, token):
        st, _, _ = self.fake.call("GET", "/run/v2/projects/%s/locations/%s/services" % (PROJECT, REGION),
                                  token=token)
        self.assertEqual(st, 200)
        return self.fake.log()[-1]["principal"]

    def test_oidc_inline_jwks(self):
        aud = self.oidc_provider()
        rc, out = self.client(self.cred_file(aud, self.subject_file(self.issuer.token(aud, sub="wl-1"))))
        self.assertEqual(rc, 0, out)
        self.assertEqual(self.principal_of(out["token"]),
                         "principal://iam.googleapis.com/projects/%s/locations/global/workloadIdentityPools/"
                         "fedbroker/subject/wl-1" % NUMBER)
        sts = [e for e in self.fake.log() if e["path"] == "/v1/token"][0]
        self.assertIn("subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt", sts["body"])
        self.assertIn("requested_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token", sts["body"])

    def test_oidc_discovery_and_refusals(self):
        body = {"attributeMapping": {"google.subject": "assertion.sub"}, "oidc": {"issuerUri": self.issuer.url}}
        make_pool_provider(self.fake, self.admin, body)
        aud = "//iam.googleapis.com/" + provider_name()
        rc, out = self.client(self.cred_file(aud, self.subject_file(self.issuer.token(aud))))
        self.assertEqual(rc, 0, out)
        # a token for another audience, and one signed by a key not in the JWKS
        rc, out = self.client(self.cred_file(aud, self.subject_file(self.issuer.token("https://other"))))
        self.assertEqual(rc, 3)
        self.assertIn("invalid_grant", out["error"])
        self.assertIn("audience", out["error"])
        from cryptography.hazmat.primitives.asymmetric import rsa
        forged = self.issuer.token(aud, key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
        rc, out = self.client(self.cred_file(aud, self.subject_file(forged)))
        self.assertEqual(rc, 3)
        self.assertIn("signature", out["error"].lower())

    def test_impersonation_needs_workload_identity_user(self):
        aud = self.oidc_provider()
        st, sa, _ = self.fake.call("POST", "/iam/v1/projects/%s/serviceAccounts" % PROJECT,
                                   {"accountId": "wl-runner"}, self.admin)
        self.assertEqual(st, 200, sa)
        url = self.fake.url + "/v1/projects/-/serviceAccounts/%s:generateAccessToken" % sa["email"]
        cred = self.cred_file(aud, self.subject_file(self.issuer.token(aud, sub="wl-2", tenant="acme")),
                              service_account_impersonation_url=url)
        rc, out = self.client(cred)
        self.assertEqual(rc, 3, out)
        self.assertIn("PERMISSION_DENIED", out["error"])
        pool = "projects/%s/locations/global/workloadIdentityPools/fedbroker" % NUMBER
        for member in ("principal://iam.googleapis.com/%s/subject/wl-2" % pool,
                       "principalSet://iam.googleapis.com/%s/attribute.tenant/acme" % pool):
            st, pol, _ = self.fake.call("POST", "/iam/v1/%s:getIamPolicy" % sa["name"], token=self.admin)
            pol["bindings"] = [{"role": "roles/iam.workloadIdentityUser", "members": [member]}]
            st, pol, _ = self.fake.call("POST", "/iam/v1/%s:setIamPolicy" % sa["name"], {"policy": pol}, self.admin)
            self.assertEqual(st, 200, pol)
            rc, out = self.client(cred)
            self.assertEqual(rc, 0, out)
            self.assertEqual(self.principal_of(out["token"]), "serviceAccount:" + sa["email"])
        gen = [e for e in self.fake.log() if e["path"].endswith(":generateAccessToken")]
        self.assertEqual([e["status"] for e in gen], [403, 200, 200])

    def test_attribute_condition(self):
        aud = self.oidc_provider(attributeCondition="attribute.tenant == 'acme'")
        rc, out = self.client(self.cred_file(aud, self.subject_file(self.issuer.token(aud, tenant="other"))))
        self.assertEqual(rc, 3)
        self.assertIn("unauthorized_client", out["error"])
        self.assertIn("rejected by the attribute condition", out["error"])
        rc, out = self.client(self.cred_file(aud, self.subject_file(self.issuer.token(aud, tenant="acme"))))
        self.assertEqual(rc, 0, out)

    def test_aws_signed_get_caller_identity(self):
        make_pool_provider(self.fake, self.admin, {"aws": {"accountId": "123456789012"}})
        aud = "//iam.googleapis.com/" + provider_name()
        arn = "arn:aws:sts::123456789012:assumed-role/fedbroker-wl/session-1"
        ak, sk, tok = "ASIAFAKEEXAMPLE00009", "fakeSecret/EXAMPLE+0009+fedbrokerTEST", "FQoGZXIvYXdzEFAKE"
        self.fake.control("POST", "aws-identities", {"access_key_id": ak, "secret_access_key": sk, "arn": arn,
                                                     "account": "123456789012", "session_token": tok})
        source = {"environment_id": "aws1", "region_url": "http://169.254.169.254/latest/meta-data/placement/"
                  "availability-zone", "url": "http://169.254.169.254/latest/meta-data/iam/security-credentials",
                  "regional_cred_verification_url": "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity"
                                                    "&Version=2011-06-15"}
        cred = self.cred_file(aud, source, stype=AWS)
        env = {"AWS_ACCESS_KEY_ID": ak, "AWS_SECRET_ACCESS_KEY": sk, "AWS_SESSION_TOKEN": tok,
               "AWS_REGION": "eu-west-1"}
        rc, out = self.client(cred, env)
        self.assertEqual(rc, 0, out)
        self.assertTrue(self.principal_of(out["token"]).endswith("/subject/" + arn))
        # the same request signed with another secret: botocore's signature differs
        env["AWS_SECRET_ACCESS_KEY"] = sk + "x"
        rc, out = self.client(cred, env)
        self.assertEqual(rc, 3)
        self.assertIn("SignatureDoesNotMatch", out["error"])

    def test_gcloud_login_with_cred_file(self):
        aud = self.oidc_provider()
        cred = self.cred_file(aud, self.subject_file(self.issuer.token(aud, sub="gcloud-user")),
                              token_info_url=self.fake.url + "/v1/introspect")
        cfg = tempfile.mkdtemp(dir=self.tmp)
        env = dict(os.environ, CLOUDSDK_CONFIG=cfg, CLOUDSDK_CORE_DISABLE_USAGE_REPORTING="true",
                   CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK="true", CLOUDSDK_CORE_DISABLE_PROMPTS="1")
        r = subprocess.run([gftest.GCLOUD, "auth", "login", "--cred-file=" + cred], env=env, capture_output=True,
                           text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("/subject/gcloud-user", r.stderr)
        r = subprocess.run([gftest.GCLOUD, "auth", "print-access-token"], env=env, capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(self.principal_of(r.stdout.strip()).endswith("/subject/gcloud-user"))


if __name__ == "__main__":
    if BUNDLED is None:
        print("SKIP: gcloud (and the google-auth 2.x it bundles) is not installed; Debian 12's python3-google-auth "
              "has no external-account support. test_validation.py covers the STS refusals without it.")
        sys.exit(77)
    gftest.main()
