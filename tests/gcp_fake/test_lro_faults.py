#!/usr/bin/python3
"""Long-running operations, faults, latency and the request log of
fake_gcp.

- an operation is done after the configured number of operations.get calls;
  until then the service is reconciling with Ready PENDING, after it Ready
  SUCCEEDED with uri, latestReadyRevision and observedGeneration; a patch
  bumps generation and makes a new revision; a delete removes the service
  when its operation completes (then 404);
- a planted operation failure finishes with `error` (google.rpc.Status,
  code 9) and leaves the service's terminalCondition FAILED with the same
  message; a secret reference the revision's service account may not read
  fails the same way, as Google does;
- faults: 429 with and without Retry-After, 500, 503, a connection reset,
  a slow answer, on the next N requests matching a method pattern only;
  a fixed latency; the log redacts Authorization and keeps the body.
"""
import http.client
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gftest  # noqa: E402
from gftest import PROJECT, REGION, FakeTest  # noqa: E402

SVC = "/run/v2/projects/%s/locations/%s/services" % (PROJECT, REGION)
BODY = {"template": {"containers": [{"image": "europe-docker.pkg.dev/p/r/app:1"}]}}


class LroFaultTest(FakeTest):
    def get_op(self, name):
        st, op, _ = self.fake.call("GET", "/run/v2/" + name, token=self.admin)
        self.assertEqual(st, 200, op)
        return op

    def test_operation_done_after_configured_polls(self):
        self.fake.control("POST", "config", {"op_polls": 3})
        st, op, _ = self.fake.call("POST", SVC + "?serviceId=slow", BODY, self.admin)
        self.assertEqual(st, 200, op)
        self.assertFalse(op["done"])
        self.assertEqual(op["metadata"]["@type"], "type.googleapis.com/google.cloud.run.v2.Service")
        st, svc, _ = self.fake.call("GET", SVC + "/slow", token=self.admin)
        self.assertTrue(svc["reconciling"])
        self.assertEqual(svc["terminalCondition"]["state"], "CONDITION_PENDING")
        self.assertNotIn("uri", svc)
        self.assertEqual(svc["generation"], "1")
        dones = [self.get_op(op["name"])["done"] for _ in range(3)]
        self.assertEqual(dones, [False, False, True])
        final = self.get_op(op["name"])
        self.assertEqual(final["response"]["@type"], "type.googleapis.com/google.cloud.run.v2.Service")
        st, svc, _ = self.fake.call("GET", SVC + "/slow", token=self.admin)
        self.assertFalse(svc["reconciling"])
        self.assertEqual(svc["terminalCondition"]["type"], "Ready")
        self.assertEqual(svc["terminalCondition"]["state"], "CONDITION_SUCCEEDED")
        self.assertEqual(svc["observedGeneration"], svc["generation"])
        self.assertEqual(svc["latestReadyRevision"], svc["latestCreatedRevision"])
        self.assertTrue(svc["uri"].startswith(self.fake.url + "/__run/"))
        self.assertEqual(final["response"]["uri"], svc["uri"])
        # patch: new generation and revision; the etag changes
        st, op2, _ = self.fake.call("PATCH", SVC + "/slow?updateMask=template.containers",
                                    {"template": {"containers": [{"image": "europe-docker.pkg.dev/p/r/app:2"}]}},
                                    self.admin)
        self.assertEqual(st, 200, op2)
        st, svc2, _ = self.fake.call("GET", SVC + "/slow", token=self.admin)
        self.assertEqual(svc2["generation"], "2")
        self.assertNotEqual(svc2["etag"], svc["etag"])
        self.assertNotEqual(svc2["latestCreatedRevision"], svc["latestCreatedRevision"])
        self.assertEqual(svc2["latestReadyRevision"], svc["latestReadyRevision"])
        self.fake.wait_op(op2, self.admin, "/run")
        st, svc3, _ = self.fake.call("GET", SVC + "/slow", token=self.admin)
        self.assertEqual((svc3["observedGeneration"], svc3["latestReadyRevision"]),
                         ("2", svc2["latestCreatedRevision"]))
        # delete: gone once the operation completes; a second delete is 404
        st, op3, _ = self.fake.call("DELETE", SVC + "/slow", token=self.admin)
        self.assertEqual(st, 200, op3)
        self.assertEqual(self.fake.call("GET", SVC + "/slow", token=self.admin)[0], 200)
        done = self.fake.wait_op(op3, self.admin, "/run")
        self.assertIn("deleteTime", done["response"])
        self.assertEqual(self.fake.call("GET", SVC + "/slow", token=self.admin)[0], 404)
        self.assertEqual(self.fake.call("DELETE", SVC + "/slow", token=self.admin)[0], 404)

    def test_operation_failure_carries_the_error(self):
        self.fake.control("POST", "op-failures", {"api": "run", "verb": "create", "count": 1,
                                                  "status": "FAILED_PRECONDITION",
                                                  "message": "Revision 'bad-00001' is not ready: container failed to start"})
        st, op, _ = self.fake.call("POST", SVC + "?serviceId=bad", BODY, self.admin)
        self.assertEqual(st, 200, op)
        done = self.fake.wait_op(op, self.admin, "/run")
        self.assertTrue(done["done"])
        self.assertNotIn("response", done)
        self.assertEqual(done["error"]["code"], 9)
        self.assertIn("container failed to start", done["error"]["message"])
        st, svc, _ = self.fake.call("GET", SVC + "/bad", token=self.admin)
        self.assertEqual(svc["terminalCondition"]["state"], "CONDITION_FAILED")
        self.assertIn("container failed to start", svc["terminalCondition"]["message"])
        self.assertNotIn("latestReadyRevision", svc)
        # only the next one failed
        op = self.run_service("good")
        self.assertIn("response", op)

    def test_secret_reference_needs_accessor(self):
        a = self.admin
        st, _, _ = self.fake.call("POST", "/secretmanager/v1/projects/%s/secrets?secretId=db" % PROJECT,
                                  {"replication": {"automatic": {}}}, a)
        self.assertEqual(st, 200)
        sa = self.fake.control("POST", "service-accounts", {"account_id": "runtime"})
        body = {"template": {"serviceAccount": sa["email"], "containers": [{
            "image": "i", "env": [{"name": "PW", "valueSource": {"secretKeyRef": {"secret": "db", "version": "1"}}}]}]}}
        op = self.fake.wait_op(self.fake.call("POST", SVC + "?serviceId=s1", body, a)[1], a, "/run")
        self.assertIn("Permission denied on secret", op["error"]["message"])
        self.assertIn("roles/secretmanager.secretAccessor", op["error"]["message"])
        res = "/secretmanager/v1/projects/%s/secrets/db" % PROJECT
        pol = self.fake.call("GET", res + ":getIamPolicy", token=a)[1]
        pol["bindings"] = [{"role": "roles/secretmanager.secretAccessor", "members": ["serviceAccount:" + sa["email"]]}]
        self.assertEqual(self.fake.call("POST", res + ":setIamPolicy", {"policy": pol}, a)[0], 200)
        op = self.fake.wait_op(self.fake.call("POST", SVC + "?serviceId=s2", body, a)[1], a, "/run")
        self.assertNotIn("error", op)
        body["template"]["containers"][0]["env"][0]["valueSource"]["secretKeyRef"]["secret"] = "missing"
        op = self.fake.wait_op(self.fake.call("POST", SVC + "?serviceId=s3", body, a)[1], a, "/run")
        self.assertIn("Secret projects/424242424242/secrets/missing/versions/1 was not found", op["error"]["message"])

    def test_http_faults(self):
        a = self.admin
        self.fake.control("POST", "faults", [
            {"method": "run.projects.locations.services.get", "status": 429, "retry_after": 2, "count": 1},
            {"method": "run.projects.locations.services.get", "status": 429, "count": 1},
            {"method": "run.projects.locations.services.get", "status": 500, "count": 1},
            {"method": "run.projects.locations.services.get", "status": 503, "count": 1}])
        self.run_service("hello")  # create and operations.get do not match the pattern
        got = []
        for _ in range(5):
            st, doc, hdrs = self.fake.call("GET", SVC + "/hello", token=a)
            got.append((st, (doc.get("error") or {}).get("status"), hdrs.get("Retry-After")))
        self.assertEqual(got, [(429, "RESOURCE_EXHAUSTED", "2"), (429, "RESOURCE_EXHAUSTED", None),
                               (500, "INTERNAL", None), (503, "UNAVAILABLE", None), (200, None, None)])
        # a reset closes the connection without an answer
        self.fake.control("POST", "faults", {"method": "run.*", "reset": True, "count": 1})
        conn = http.client.HTTPConnection("127.0.0.1", self.fake.port, timeout=10)
        with self.assertRaises((ConnectionError, http.client.HTTPException, OSError)):
            conn.request("GET", SVC + "/hello", headers={"Authorization": "Bearer " + a})
            conn.getresponse().read()
        conn.close()
        self.assertEqual(self.fake.call("GET", SVC + "/hello", token=a)[0], 200)
        # slow: the answer comes late but normally
        self.fake.control("POST", "faults", {"path": "/services/hello$", "delay_ms": 400, "count": 1})
        t = time.monotonic()
        self.assertEqual(self.fake.call("GET", SVC + "/hello", token=a)[0], 200)
        self.assertGreaterEqual(time.monotonic() - t, 0.4)
        # faults also reach the token endpoint
        self.fake.control("POST", "faults", {"method": "oauth2.token", "status": 503, "count": 1})
        st, doc, _ = self.fake.call("POST", "/token", raw=b"grant_type=x", ctype="application/x-www-form-urlencoded")
        self.assertEqual(st, 503)
        statuses = [e.get("status") for e in self.fake.log() if e.get("fault")]
        self.assertEqual(statuses, [429, 429, 500, 503, "reset", 200, 503])

    def test_latency(self):
        self.fake.control("POST", "latency", {"ms": 150})
        t = time.monotonic()
        for _ in range(3):
            self.fake.call("GET", SVC, token=self.admin)
        self.assertGreaterEqual(time.monotonic() - t, 0.45)
        self.fake.control("POST", "latency", {"ms": 0})

    def test_log_and_state(self):
        self.run_service("logged", {"labels": {"k": "v"}, **BODY})
        log = self.fake.log()
        create = [e for e in log if e.get("method_id") == "run.projects.locations.services.create"][0]
        self.assertEqual(json.loads(create["body"])["labels"], {"k": "v"})
        self.assertEqual(create["query"], "serviceId=logged")
        auth = [v for k, v in create["headers"] if k.lower() == "authorization"]
        self.assertEqual(auth, ["Bearer <redacted>"])
        self.assertNotIn(self.admin, json.dumps(log))
        state = self.fake.control("GET", "state")
        self.assertIn("projects/%s/locations/%s/services/logged" % (PROJECT, REGION), state["resources"]["run/services"])
        self.assertNotIn(self.admin, json.dumps(state))
        since = log[-1]["seq"]
        self.fake.call("GET", SVC, token=self.admin)
        self.assertEqual(len(self.fake.log(since)), 1)

    def test_validate_only_and_allow_missing(self):
        st, op, _ = self.fake.call("POST", SVC + "?serviceId=dry&validateOnly=true", BODY, self.admin)
        self.assertEqual(st, 200, op)
        self.assertTrue(op["done"])
        self.assertEqual(self.fake.call("GET", SVC + "/dry", token=self.admin)[0], 404)
        st, op, _ = self.fake.call("PATCH", SVC + "/upsert?allowMissing=true", BODY, self.admin)
        self.assertEqual(st, 200, op)
        self.fake.wait_op(op, self.admin, "/run")
        self.assertEqual(self.fake.call("GET", SVC + "/upsert", token=self.admin)[0], 200)

    def test_list_pages(self):
        self.fake.control("POST", "config", {"op_polls": 0})
        for i in range(5):
            self.run_service("svc-%d" % i)
        names, tok = [], None
        while True:
            st, page, _ = self.fake.call("GET", SVC + "?pageSize=2" + ("&pageToken=" + tok if tok else ""),
                                         token=self.admin)
            self.assertEqual(st, 200, page)
            names += [s["name"].rsplit("/", 1)[1] for s in page.get("services", [])]
            tok = page.get("nextPageToken")
            if not tok:
                break
        self.assertEqual(names, ["svc-%d" % i for i in range(5)])


if __name__ == "__main__":
    gftest.main()
