#!/usr/bin/python3
"""fake_gcp against Debian's google-auth (python3-google-auth, 1.5.1 on
Debian 12): the library builds and signs the JWT assertions, posts them,
parses the answers and decides when to refresh, so the fake's token
endpoint, ID tokens, metadata server and 401 answers are checked by code we
did not write.

- service-account key made with openssl and uploaded through IAM keys:upload:
  access token (expires_in honoured), API call through AuthorizedSession,
  refused: a key that is not the uploaded one, an unknown kid, no scope, a
  token whose time ran out on the fake's clock (AuthorizedSession refreshes
  on the 401 and retries);
- ID token credentials: invoking a Cloud Run service is 403 until the
  service's policy grants roles/run.invoker, 401 for another audience;
- authorized-user refresh tokens: right, wrong secret, wrong refresh token;
- the metadata server: google.auth.default() finds it through
  GCE_METADATA_IP/GCE_METADATA_ROOT and gets a token for the instance's
  service account; a request without Metadata-Flavor is refused.
"""
import base64
import datetime
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gftest  # noqa: E402
from gftest import CLOUD, PROJECT, REGION, FakeTest, key_file, openssl_service_account_key  # noqa: E402

import google.auth.exceptions  # noqa: E402
import google.auth.transport.requests as gr  # noqa: E402
from google.oauth2 import credentials as user_credentials  # noqa: E402
from google.oauth2 import service_account  # noqa: E402


class GoogleAuthTest(FakeTest):
    def make_sa(self, account="deployer"):
        st, sa, _ = self.fake.call("POST", "/iam/v1/projects/%s/serviceAccounts" % PROJECT,
                                   {"accountId": account, "serviceAccount": {"displayName": account}}, self.admin)
        self.assertEqual(st, 200, sa)
        key, cert = openssl_service_account_key(self.tmp, account)
        st, k, _ = self.fake.call("POST", "/iam/v1/%s/keys:upload" % sa["name"],
                                  {"publicKeyData": base64.b64encode(cert.encode()).decode()}, self.admin)
        self.assertEqual(st, 200, k)
        kid = k["name"].rsplit("/", 1)[1]
        return sa, key, kid, key_file(self.tmp, self.fake, sa["email"], key, kid, account + ".json")

    def test_service_account_token(self):
        self.fake.control("POST", "config", {"token_lifetime": 1200})
        sa, _, _, kf = self.make_sa()
        c = service_account.Credentials.from_service_account_file(kf, scopes=[CLOUD])
        before = datetime.datetime.utcnow()
        c.refresh(gr.Request())
        self.assertTrue(c.token.startswith("ya29."))
        # google-auth computes expiry from expires_in: the configured lifetime
        self.assertAlmostEqual((c.expiry - before).total_seconds(), 1200, delta=15)
        s = gr.AuthorizedSession(c)
        r = s.get(self.fake.url + "/run/v2/projects/%s/locations/%s/services" % (PROJECT, REGION))
        self.assertEqual(r.status_code, 200, r.text)
        log = self.fake.log()
        tok = [e for e in log if e["path"] == "/token"][0]
        self.assertIn("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer", tok["body"])
        self.assertIn("assertion=<redacted>", tok["body"])  # a bearer credential for an hour
        api = [e for e in log if e["path"].startswith("/run/")][0]
        self.assertEqual(api["principal"], "serviceAccount:" + sa["email"])
        self.assertIn(["authorization", "Bearer <redacted>"], [[k.lower(), v] for k, v in api["headers"]])
        self.assertNotIn(c.token, json.dumps(log))

    def test_wrong_key_refused(self):
        sa, _, kid, _ = self.make_sa()
        other_key, _ = openssl_service_account_key(self.tmp, "other")
        kf = key_file(self.tmp, self.fake, sa["email"], other_key, kid, "forged.json")
        c = service_account.Credentials.from_service_account_file(kf, scopes=[CLOUD])
        with self.assertRaises(google.auth.exceptions.RefreshError) as cm:
            c.refresh(gr.Request())
        self.assertIn("invalid_grant", str(cm.exception))
        self.assertIn("Invalid JWT Signature.", str(cm.exception))

    def test_unknown_kid_and_account(self):
        sa, key, kid, _ = self.make_sa()
        kf = key_file(self.tmp, self.fake, sa["email"], key, "0" * 40, "badkid.json")
        with self.assertRaises(google.auth.exceptions.RefreshError) as cm:
            service_account.Credentials.from_service_account_file(kf, scopes=[CLOUD]).refresh(gr.Request())
        self.assertIn("Invalid JWT Signature.", str(cm.exception))
        kf = key_file(self.tmp, self.fake, "nobody@%s.iam.gserviceaccount.com" % PROJECT, key, kid, "nobody.json")
        with self.assertRaises(google.auth.exceptions.RefreshError) as cm:
            service_account.Credentials.from_service_account_file(kf, scopes=[CLOUD]).refresh(gr.Request())
        self.assertIn("account not found", str(cm.exception))

    def test_no_scope_refused(self):
        _, _, _, kf = self.make_sa()
        c = service_account.Credentials.from_service_account_file(kf)
        with self.assertRaises(google.auth.exceptions.RefreshError) as cm:
            c.refresh(gr.Request())
        self.assertIn("invalid_scope", str(cm.exception))

    def test_assertion_outside_the_hour_refused(self):
        # the fake's clock two hours ahead: google-auth's iat/exp are stale
        _, _, _, kf = self.make_sa()
        self.fake.control("POST", "clock", {"advance": 7200})
        c = service_account.Credentials.from_service_account_file(kf, scopes=[CLOUD])
        with self.assertRaises(google.auth.exceptions.RefreshError) as cm:
            c.refresh(gr.Request())
        self.assertIn("Token must be a short-lived token (60 minutes)", str(cm.exception))

    def test_expired_access_token_refreshed_on_401(self):
        self.fake.control("POST", "config", {"token_lifetime": 300})
        _, _, _, kf = self.make_sa()
        c = service_account.Credentials.from_service_account_file(kf, scopes=[CLOUD])
        s = gr.AuthorizedSession(c)
        url = self.fake.url + "/run/v2/projects/%s/locations/%s/services" % (PROJECT, REGION)
        self.assertEqual(s.get(url).status_code, 200)
        first = c.token
        self.fake.control("POST", "clock", {"advance": 301})
        st, err, hdrs = self.fake.call("GET", url[len(self.fake.url):], token=first)
        self.assertEqual(st, 401)
        self.assertEqual(err["error"]["status"], "UNAUTHENTICATED")
        self.assertEqual(err["error"]["details"][0]["reason"], "ACCESS_TOKEN_EXPIRED")
        self.assertIn('error="invalid_token"', hdrs.get("WWW-Authenticate", ""))
        # google-auth still thinks the token is fresh; the fake says 401; it refreshes and retries
        r = s.get(url)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertNotEqual(c.token, first)
        statuses = [e.get("status") for e in self.fake.log() if e["path"].startswith("/run/")]
        self.assertEqual(statuses[-2:], [401, 200])

    def test_id_token_invokes_run_service_only_with_invoker(self):
        sa, _, _, kf = self.make_sa("invoker")
        op = self.run_service("api")
        uri = op["response"]["uri"]
        idc = service_account.IDTokenCredentials.from_service_account_file(kf, target_audience=uri)
        s = gr.AuthorizedSession(idc)
        r = s.get(uri + "/orders?x=1")
        self.assertEqual(r.status_code, 403, r.text)
        name = "projects/%s/locations/%s/services/api" % (PROJECT, REGION)
        st, pol, _ = self.fake.call("GET", "/run/v2/%s:getIamPolicy" % name, token=self.admin)
        self.assertEqual(st, 200, pol)
        pol["bindings"] = [{"role": "roles/run.invoker", "members": ["serviceAccount:" + sa["email"]]}]
        st, pol, _ = self.fake.call("POST", "/run/v2/%s:setIamPolicy" % name, {"policy": pol}, self.admin)
        self.assertEqual(st, 200, pol)
        r = s.get(uri + "/orders?x=1")
        self.assertEqual(r.status_code, 200, r.text)
        echo = r.json()
        self.assertEqual(echo["caller"], "serviceAccount:" + sa["email"])
        self.assertEqual(echo["path"], "/orders")
        # an ID token for another audience is not accepted
        other = service_account.IDTokenCredentials.from_service_account_file(kf, target_audience="https://elsewhere")
        r = gr.AuthorizedSession(other).get(uri + "/")
        self.assertEqual(r.status_code, 401)
        # anonymous callers: 403 until allUsers holds run.invoker
        self.assertEqual(self.fake.call("GET", uri[len(self.fake.url):] + "/")[0], 403)
        pol["bindings"].append({"role": "roles/run.invoker", "members": ["allUsers"]})
        st, pol, _ = self.fake.call("POST", "/run/v2/%s:setIamPolicy" % name, {"policy": pol}, self.admin)
        self.assertEqual(st, 200, pol)
        st, echo, _ = self.fake.call("GET", uri[len(self.fake.url):] + "/")
        self.assertEqual((st, echo["caller"]), (200, None))

    def test_authorized_user_refresh(self):
        self.fake.control("POST", "authorized-users", {"client_id": "cid.apps.googleusercontent.com",
                                                       "client_secret": "s3cret", "refresh_token": "1//rt",
                                                       "email": "dev@example.com"})
        token_uri = self.fake.url + "/token"
        c = user_credentials.Credentials(None, refresh_token="1//rt", client_id="cid.apps.googleusercontent.com",
                                         client_secret="s3cret", token_uri=token_uri)
        c.refresh(gr.Request())
        self.assertTrue(c.token.startswith("ya29."))
        r = gr.AuthorizedSession(c).get(self.fake.url + "/run/v2/projects/%s/locations/%s/services"
                                        % (PROJECT, REGION))
        self.assertEqual(r.status_code, 200)
        self.assertEqual(self.fake.log()[-1]["principal"], "user:dev@example.com")
        for kwargs, want in (({"client_secret": "wrong"}, "invalid_client"),
                             ({"refresh_token": "1//other"}, "invalid_grant"),
                             ({"client_id": "unknown"}, "invalid_client")):
            args = {"refresh_token": "1//rt", "client_id": "cid.apps.googleusercontent.com",
                    "client_secret": "s3cret", "token_uri": token_uri}
            args.update(kwargs)
            with self.assertRaises(google.auth.exceptions.RefreshError) as cm:
                user_credentials.Credentials(None, **args).refresh(gr.Request())
            self.assertIn(want, str(cm.exception))

    def test_metadata_server_adc(self):
        sa, _, _, _ = self.make_sa("runtime")
        self.fake.control("POST", "metadata", {"email": sa["email"]})
        host = "127.0.0.1:%d" % self.fake.port
        code = ("import json, google.auth, google.auth.transport.requests as gr\n"
                "c, p = google.auth.default(scopes=['%s'])\n"
                "c.refresh(gr.Request())\n"
                "print(json.dumps({'project': p, 'token': c.token, 'email': c.service_account_email,"
                " 'type': type(c).__module__}))\n" % CLOUD)
        env = dict(os.environ, GCE_METADATA_IP=host, GCE_METADATA_ROOT=host, HOME=self.tmp)
        for k in ("GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_CONFIG", "GOOGLE_CLOUD_PROJECT"):
            env.pop(k, None)
        env["CLOUDSDK_CONFIG"] = os.path.join(self.tmp, "no-gcloud")
        r = subprocess.run([gftest.PY, "-c", code], env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual(out["project"], PROJECT)
        self.assertEqual(out["email"], sa["email"])
        self.assertIn("compute_engine", out["type"])
        st, _, _ = self.fake.call("GET", "/run/v2/projects/%s/locations/%s/services" % (PROJECT, REGION),
                                  token=out["token"])
        self.assertEqual(st, 200)
        self.assertEqual(self.fake.log()[-1]["principal"], "serviceAccount:" + sa["email"])
        # without the header the metadata server refuses, as Google's does
        st, body, hdrs = self.fake.call("GET", "/computeMetadata/v1/instance/service-accounts/default/token")
        self.assertEqual(st, 403)
        self.assertEqual(hdrs.get("Metadata-Flavor"), "Google")


if __name__ == "__main__":
    gftest.main()
