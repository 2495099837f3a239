#!/usr/bin/python3
"""Round trips through fake_gcp's services beyond Cloud Run:

- Cloud Functions v2: generateUploadUrl, the signed PUT (refused without
  Content-Type application/zip, with an Authorization header, with a body
  that is not a zip), create/get/list/patch/delete with operations,
  serviceConfig.uri, invocation gated by roles/cloudfunctions.invoker;
- Cloud Scheduler jobs, Pub/Sub topics and push subscriptions with OIDC
  tokens, Secret Manager secrets/versions (CRC32C checked; names come back
  with the project number, as Google answers), Eventarc triggers with LRO;
- IAM service accounts (create/get/list/delete, policies with etags),
  generateIdToken, Resource Manager projects.get.
"""
import base64
import io
import json
import os
import sys
import urllib.error
import urllib.request
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gftest  # noqa: E402
from gftest import NUMBER, PROJECT, REGION, FakeTest  # noqa: E402

import jwt  # noqa: E402

FN = "/cloudfunctions/v2/projects/%s/locations/%s/functions" % (PROJECT, REGION)


def zip_bytes():
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        z.writestr(zipfile.ZipInfo("main.py", (2020, 1, 1, 0, 0, 0)), "def main(request):\n    return 'ok'\n")
    return b.getvalue()


def put(url, data, headers):
    req = urllib.request.Request(url, data=data, method="PUT", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class ServicesTest(FakeTest):
    def test_functions_upload_create_invoke(self):
        a = self.admin
        st, up, _ = self.fake.call("POST", FN + ":generateUploadUrl", {"environment": "GEN_2"}, a)
        self.assertEqual(st, 200, up)
        self.assertTrue(up["uploadUrl"].startswith(self.fake.url + "/__upload/"))
        src = {"storageSource": up["storageSource"]}
        body = {"buildConfig": {"runtime": "python312", "entryPoint": "main", "source": src},
                "serviceConfig": {"availableMemory": "512M", "maxInstanceCount": 2}, "labels": {"managed-by": "fedbroker"}}
        # not uploaded yet
        st, err, _ = self.fake.call("POST", FN + "?functionId=hello", body, a)
        self.assertEqual(st, 400, err)
        self.assertIn("upload the source", err["error"]["message"])
        data = zip_bytes()
        self.assertEqual(put(up["uploadUrl"], data, {"Content-Type": "application/octet-stream"})[0], 403)
        st, text = put(up["uploadUrl"], data, {"Content-Type": "application/zip", "Authorization": "Bearer " + a})
        self.assertEqual(st, 403)
        self.assertIn("<Code>AccessDenied</Code>", text)
        st, text = put(up["uploadUrl"], b"PK\x03\x04 not really a zip", {"Content-Type": "application/zip"})
        self.assertEqual(st, 400)
        self.assertIn("not a valid zip", text)
        self.assertEqual(put(up["uploadUrl"] + "x", data, {"Content-Type": "application/zip"})[0], 403)
        self.assertEqual(put(up["uploadUrl"], data, {"Content-Type": "application/zip"})[0], 200)
        st, op, _ = self.fake.call("POST", FN + "?functionId=hello", body, a)
        self.assertEqual(st, 200, op)
        self.assertEqual(op["metadata"]["@type"], "type.googleapis.com/google.cloud.functions.v2.OperationMetadata")
        self.assertEqual(self.fake.call("GET", FN + "/hello", token=a)[1]["state"], "DEPLOYING")
        done = self.fake.wait_op(op, a, "/cloudfunctions")
        self.assertEqual(done["response"]["@type"], "type.googleapis.com/google.cloud.functions.v2.Function")
        st, fn, _ = self.fake.call("GET", FN + "/hello", token=a)
        self.assertEqual(fn["state"], "ACTIVE")
        self.assertEqual(fn["environment"], "GEN_2")
        uri = fn["url"]
        self.assertTrue(uri.startswith(self.fake.url + "/__fn/"))
        self.assertEqual(fn["serviceConfig"]["availableMemory"], "512M")
        # a 2nd gen function runs on a Cloud Run service of its own name
        run = "/run/v2/" + fn["serviceConfig"]["service"]
        st, svc, _ = self.fake.call("GET", run, token=a)
        self.assertEqual(st, 200, svc)
        self.assertEqual(svc["labels"]["goog-managed-by"], "cloudfunctions")
        self.assertEqual(svc["uri"], fn["serviceConfig"]["uri"])
        self.assertEqual(svc["latestReadyRevision"].rsplit("/", 1)[1], fn["serviceConfig"]["revision"])
        self.assertEqual(fn["serviceConfig"]["timeoutSeconds"], 60)
        st, lst, _ = self.fake.call("GET", FN, token=a)
        self.assertEqual([f["name"] for f in lst["functions"]], [fn["name"]])
        # invoke: private until a policy says otherwise; run.invoker on the
        # underlying service opens both URLs
        self.assertEqual(self.fake.call("GET", uri[len(self.fake.url):])[0], 403)
        runuri = fn["serviceConfig"]["uri"][len(self.fake.url):]
        self.assertEqual(self.fake.call("GET", runuri)[0], 403)
        rpol = {"bindings": [{"role": "roles/run.invoker", "members": ["allUsers"]}]}
        self.assertEqual(self.fake.call("POST", run + ":setIamPolicy", {"policy": rpol}, a)[0], 200)
        self.assertEqual(self.fake.call("GET", runuri)[0], 200)
        self.assertEqual(self.fake.call("GET", uri[len(self.fake.url):])[0], 200)
        rpol = self.fake.call("GET", run + ":getIamPolicy", token=a)[1]
        rpol["bindings"] = []
        self.assertEqual(self.fake.call("POST", run + ":setIamPolicy", {"policy": rpol}, a)[0], 200)
        self.assertEqual(self.fake.call("GET", uri[len(self.fake.url):])[0], 403)
        res = FN + "/hello"
        pol = self.fake.call("GET", res + ":getIamPolicy", token=a)[1]
        self.assertEqual(pol, {"version": 1, "etag": "ACAB"})
        pol["bindings"] = [{"role": "roles/cloudfunctions.invoker", "members": ["allUsers"]}]
        st, pol, _ = self.fake.call("POST", res + ":setIamPolicy", {"policy": pol}, a)
        self.assertEqual(st, 200, pol)
        st, echo, _ = self.fake.call("GET", uri[len(self.fake.url):] + "/hi")
        self.assertEqual((st, echo["path"]), (200, "/hi"))
        # patch with a mask, then delete
        st, op, _ = self.fake.call("PATCH", res + "?updateMask=serviceConfig.maxInstanceCount",
                                   {"serviceConfig": {"maxInstanceCount": 7}}, a)
        self.assertEqual(st, 200, op)
        self.fake.wait_op(op, a, "/cloudfunctions")
        fn2 = self.fake.call("GET", res, token=a)[1]
        self.assertEqual(fn2["serviceConfig"]["maxInstanceCount"], 7)
        self.assertEqual(fn2["serviceConfig"]["availableMemory"], "512M")
        self.assertNotEqual(fn2["serviceConfig"]["revision"], fn["serviceConfig"]["revision"])
        st, op, _ = self.fake.call("DELETE", res, token=a)
        self.assertEqual(self.fake.call("GET", res, token=a)[1]["state"], "DELETING")
        done = self.fake.wait_op(op, a, "/cloudfunctions")
        self.assertEqual(done["response"], {"@type": "type.googleapis.com/google.protobuf.Empty"})
        self.assertEqual(self.fake.call("GET", res, token=a)[0], 404)
        self.assertEqual(self.fake.call("GET", run, token=a)[0], 404)
        # a Cloud Run service of the same name, not a function's, blocks the create
        self.run_service("hello")
        st, err, _ = self.fake.call("POST", FN + "?functionId=hello", body, a)
        self.assertEqual((st, err["error"]["status"]), (409, "ALREADY_EXISTS"))

    def test_scheduler_pubsub(self):
        a = self.admin
        sa = self.fake.control("POST", "service-accounts", {"account_id": "invoker"})
        jobs = "/cloudscheduler/v1/projects/%s/locations/%s/jobs" % (PROJECT, REGION)
        job = {"name": "projects/%s/locations/%s/jobs/nightly" % (PROJECT, REGION), "schedule": "0 3 * * *",
               "timeZone": "Etc/UTC", "httpTarget": {"uri": "https://svc.example/run", "httpMethod": "POST",
                                                     "body": base64.b64encode(b"{}").decode(),
                                                     "oidcToken": {"serviceAccountEmail": sa["email"]}}}
        st, got, _ = self.fake.call("POST", jobs, job, a)
        self.assertEqual(st, 200, got)
        self.assertEqual(got["state"], "ENABLED")
        self.assertEqual(self.fake.call("POST", jobs, job, a)[0], 409)
        st, got, _ = self.fake.call("PATCH", jobs + "/nightly?updateMask=schedule", {"schedule": "0 4 * * *"}, a)
        self.assertEqual((st, got["schedule"], got["httpTarget"]["uri"]), (200, "0 4 * * *", "https://svc.example/run"))
        self.assertEqual(self.fake.call("DELETE", jobs + "/nightly", token=a)[:2], (200, {}))
        self.assertEqual(self.fake.call("GET", jobs + "/nightly", token=a)[1]["error"]["message"], "Job not found.")
        topic = "/pubsub/v1/projects/%s/topics/orders" % PROJECT
        st, t, _ = self.fake.call("PUT", topic, {"labels": {"managed-by": "fedbroker"}}, a)
        self.assertEqual((st, t["name"]), (200, "projects/%s/topics/orders" % PROJECT))
        self.assertEqual(self.fake.call("PUT", topic, {}, a)[1]["error"]["message"],
                         "Resource already exists in the project (resource=orders).")
        sub = "/pubsub/v1/projects/%s/subscriptions/orders-push" % PROJECT
        st, s, _ = self.fake.call("PUT", sub, {"topic": "projects/%s/topics/orders" % PROJECT, "pushConfig": {
            "pushEndpoint": "https://svc.example/push", "oidcToken": {"serviceAccountEmail": sa["email"]}}}, a)
        self.assertEqual(st, 200, s)
        self.assertEqual((s["ackDeadlineSeconds"], s["messageRetentionDuration"]), (10, "604800s"))
        st, s, _ = self.fake.call("PATCH", sub, {"subscription": {"ackDeadlineSeconds": 60},
                                                 "updateMask": "ackDeadlineSeconds"}, a)
        self.assertEqual((st, s["ackDeadlineSeconds"]), (200, 60))
        st, err, _ = self.fake.call("PUT", "/pubsub/v1/projects/%s/subscriptions/bad-push" % PROJECT, {
            "topic": "projects/%s/topics/orders" % PROJECT, "pushConfig": {
                "pushEndpoint": "https://x", "oidcToken": {"serviceAccountEmail": "ghost@%s.iam.gserviceaccount.com"
                                                                                % PROJECT}}}, a)
        self.assertEqual(st, 400, err)
        self.assertEqual(self.fake.call("DELETE", topic, token=a)[0], 200)
        self.assertEqual(self.fake.call("GET", sub, token=a)[1]["topic"], "_deleted-topic_")

    def test_secret_manager(self):
        a = self.admin
        base = "/secretmanager/v1/projects/%s/secrets" % PROJECT
        st, sec, _ = self.fake.call("POST", base + "?secretId=api-key", {"replication": {"automatic": {}},
                                                                       "labels": {"managed-by": "fedbroker"}}, a)
        self.assertEqual((st, sec["name"]), (200, "projects/%s/secrets/api-key" % NUMBER))
        value = b"s3cr3t-value"
        crc = crc32c(value)
        st, v, _ = self.fake.call("POST", base + "/api-key:addVersion",
                                  {"payload": {"data": base64.b64encode(value).decode(), "dataCrc32c": str(crc)}}, a)
        self.assertEqual((st, v["name"], v["state"]), (200, "projects/%s/secrets/api-key/versions/1" % NUMBER, "ENABLED"))
        st, acc, _ = self.fake.call("GET", base + "/api-key/versions/latest:access", token=a)
        self.assertEqual(base64.b64decode(acc["payload"]["data"]), value)
        self.assertEqual(acc["payload"]["dataCrc32c"], str(crc))
        self.assertEqual(self.fake.call("POST", base + "/api-key:addVersion", {"payload": {
            "data": base64.b64encode(b"v2").decode()}}, a)[0], 200)
        self.assertEqual(self.fake.call("POST", base + "/api-key/versions/2:disable", {}, a)[1]["state"], "DISABLED")
        # latest is the newest version even when disabled: reading it fails
        st, err, _ = self.fake.call("GET", base + "/api-key/versions/latest:access", token=a)
        self.assertEqual((st, err["error"]["status"]), (400, "FAILED_PRECONDITION"))
        self.assertEqual(self.fake.call("GET", base + "/api-key/versions/2:access", token=a)[0], 400)
        st, acc, _ = self.fake.call("GET", base + "/api-key/versions/1:access", token=a)
        self.assertEqual(base64.b64decode(acc["payload"]["data"]), value)
        # access with admins set: only the secret's accessors may read
        sa = self.fake.control("POST", "service-accounts", {"account_id": "reader"})
        reader = self.fake.token("serviceAccount:" + sa["email"])
        self.fake.control("POST", "admins", {"principals": ["user:admin@example.com"]})
        self.assertEqual(self.fake.call("GET", base + "/api-key/versions/1:access", token=reader)[0], 403)
        pol = self.fake.call("GET", base + "/api-key:getIamPolicy", token=a)[1]
        pol["bindings"] = [{"role": "roles/secretmanager.secretAccessor", "members": ["serviceAccount:" + sa["email"]]}]
        self.assertEqual(self.fake.call("POST", base + "/api-key:setIamPolicy", {"policy": pol}, a)[0], 200)
        self.assertEqual(self.fake.call("GET", base + "/api-key/versions/1:access", token=reader)[0], 200)
        log = json.dumps(self.fake.log()) + json.dumps(self.fake.control("GET", "state"))
        self.assertNotIn(base64.b64encode(value).decode(), log)
        self.assertNotIn("s3cr3t-value", log)
        self.assertEqual(self.fake.call("DELETE", base + "/api-key", token=a)[0], 200)
        st, err, _ = self.fake.call("GET", base + "/api-key", token=a)
        self.assertEqual((st, err["error"]["message"]), (404, "Secret [projects/%s/secrets/api-key] not found." % NUMBER))

    def test_eventarc(self):
        a = self.admin
        self.run_service("consumer")
        base = "/eventarc/v1/projects/%s/locations/%s/triggers" % (PROJECT, REGION)
        trig = {"name": "projects/%s/locations/%s/triggers/on-order" % (PROJECT, REGION),
                "eventFilters": [{"attribute": "type", "value": "google.cloud.pubsub.topic.v1.messagePublished"}],
                "destination": {"cloudRun": {"service": "consumer", "region": REGION, "path": "/events"}}}
        st, op, _ = self.fake.call("POST", base + "?triggerId=on-order", trig, a)
        self.assertEqual(st, 200, op)
        done = self.fake.wait_op(op, a, "/eventarc")
        self.assertEqual(done["response"]["@type"], "type.googleapis.com/google.cloud.eventarc.v1.Trigger")
        tr = self.fake.call("GET", base + "/on-order", token=a)[1]
        self.assertTrue(tr["transport"]["pubsub"]["subscription"].startswith("projects/%s/subscriptions/" % PROJECT))
        # a destination service that does not exist fails the operation
        trig["name"] = trig["name"].replace("on-order", "orphan")
        trig["destination"]["cloudRun"]["service"] = "nothing"
        done = self.fake.wait_op(self.fake.call("POST", base + "?triggerId=orphan", trig, a)[1], a, "/eventarc")
        self.assertEqual(done["error"]["code"], 5)
        st, op, _ = self.fake.call("DELETE", base + "/on-order", token=a)
        self.fake.wait_op(op, a, "/eventarc")
        self.assertEqual(self.fake.call("GET", base + "/on-order", token=a)[0], 404)

    def test_iam_service_accounts_and_id_tokens(self):
        a = self.admin
        base = "/iam/v1/projects/%s/serviceAccounts" % PROJECT
        st, sa, _ = self.fake.call("POST", base, {"accountId": "deployer", "serviceAccount": {"displayName": "D"}}, a)
        self.assertEqual(st, 200, sa)
        st, err, _ = self.fake.call("POST", base, {"accountId": "deployer"}, a)
        self.assertEqual((st, err["error"]["status"]), (409, "ALREADY_EXISTS"))
        self.assertEqual(self.fake.call("GET", "/iam/v1/projects/-/serviceAccounts/" + sa["uniqueId"], token=a)[1]["email"],
                         sa["email"])
        self.assertEqual([x["email"] for x in self.fake.call("GET", base, token=a)[1]["accounts"]], [sa["email"]])
        # policy read-modify-write with etags
        pol = self.fake.call("POST", "/iam/v1/%s:getIamPolicy" % sa["name"], token=a)[1]
        caller = self.fake.token("serviceAccount:ci@example.iam.gserviceaccount.com")
        pol["bindings"] = [{"role": "roles/iam.serviceAccountTokenCreator",
                            "members": ["serviceAccount:ci@example.iam.gserviceaccount.com"]}]
        st, newpol, _ = self.fake.call("POST", "/iam/v1/%s:setIamPolicy" % sa["name"], {"policy": pol}, a)
        self.assertEqual(st, 200, newpol)
        self.assertNotEqual(newpol["etag"], pol["etag"])
        self.assertEqual(self.fake.call("POST", "/iam/v1/%s:setIamPolicy" % sa["name"], {"policy": pol}, a)[0], 409)
        # the token creator can mint an ID token for the SA, checked against the fake's JWKS
        gen = "/iamcredentials/v1/projects/-/serviceAccounts/%s:generateIdToken" % sa["email"]
        st, out, _ = self.fake.call("POST", gen, {"audience": "https://svc.example", "includeEmail": True}, caller)
        self.assertEqual(st, 200, out)
        jwks = self.fake.call("GET", "/oauth2/v3/certs")[1]
        header = jwt.get_unverified_header(out["token"])
        k = [x for x in jwks["keys"] if x["kid"] == header["kid"]][0]
        claims = jwt.decode(out["token"], jwt.PyJWK(k).key, algorithms=["RS256"], audience="https://svc.example")
        self.assertEqual((claims["email"], claims["sub"]), (sa["email"], sa["uniqueId"]))
        self.assertEqual(self.fake.call("DELETE", "/iam/v1/" + sa["name"], token=a)[0], 200)
        self.assertEqual(self.fake.call("GET", "/iam/v1/" + sa["name"], token=a)[1]["error"]["message"],
                         "Unknown service account")
        st, proj, _ = self.fake.call("GET", "/cloudresourcemanager/v3/projects/" + PROJECT, token=a)
        self.assertEqual((proj["name"], proj["projectId"]), ("projects/" + NUMBER, PROJECT))


class PoolLifecycleTest(FakeTest):
    def test_pool_delete_stops_exchange_and_tokens(self):
        import urllib.parse
        from gftest import Issuer, make_pool_provider, provider_name
        iss = Issuer(self.tmp)
        try:
            make_pool_provider(self.fake, self.admin, {"attributeMapping": {"google.subject": "assertion.sub"},
                                                       "oidc": {"issuerUri": iss.url,
                                                                "jwksJson": json.dumps(iss.jwks)}})
            aud = "//iam.googleapis.com/" + provider_name()
            form = {"grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", "audience": aud,
                    "scope": "https://www.googleapis.com/auth/cloud-platform",
                    "requested_token_type": "urn:ietf:params:oauth:token-type:access_token",
                    "subject_token_type": "urn:ietf:params:oauth:token-type:jwt", "subject_token": iss.token(aud)}

            def exchange():
                return self.fake.call("POST", "/v1/token", raw=urllib.parse.urlencode(form).encode(),
                                      ctype="application/x-www-form-urlencoded")
            st, out, _ = exchange()
            self.assertEqual(st, 200, out)
            fed = out["access_token"]
            runs = "/run/v2/projects/%s/locations/%s/services" % (PROJECT, REGION)
            self.assertEqual(self.fake.call("GET", runs, token=fed)[0], 200)
            pool = "/iam/v1/projects/%s/locations/global/workloadIdentityPools/fedbroker" % PROJECT
            self.fake.wait_op(self.fake.call("DELETE", pool, token=self.admin)[1], self.admin, "/iam")
            got = self.fake.call("GET", pool, token=self.admin)[1]
            self.assertEqual(got["state"], "DELETED")
            self.assertIn("expireTime", got)
            st, out, _ = exchange()
            self.assertEqual((st, out["error"]), (400, "invalid_target"))
            self.assertEqual(self.fake.call("GET", runs, token=fed)[0], 401)
            self.fake.wait_op(self.fake.call("POST", pool + ":undelete", {}, self.admin)[1], self.admin, "/iam")
            self.assertEqual(exchange()[0], 200)
            self.assertEqual(self.fake.call("GET", runs, token=fed)[0], 200)
        finally:
            iss.close()


def crc32c(data):
    """CRC-32C computed here independently (bitwise, reflected 0x82F63B78),
    checked against the RFC 3720 test vector below."""
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value

if __name__ == "__main__":
    gftest.main()
