#!/usr/bin/python3
"""gcloud as an independent client of fake_gcp (skipped, exit 77, where
gcloud is not installed, as on a fresh Debian).

gcloud reads Cloud Run through the v1 (Knative) API on a *regional*
endpoint: it derives https://REGION-run.googleapis.com/ from the run
endpoint, so CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN=http://127.0.0.1:PORT/
would become http://REGION-127.0.0.1:PORT/. The tests therefore use the
fake's proxy mode: every endpoint override names the real host over plain
HTTP (http://run.googleapis.com/, http://cloudfunctions.googleapis.com/,
...) and CLOUDSDK_PROXY_* send all of gcloud's requests to the fake, which
tells the services apart by the Host of the absolute-form request line.
Authentication: CLOUDSDK_AUTH_ACCESS_TOKEN_FILE holds a token the fake
issued; CLOUDSDK_CORE_PROJECT the project.

- services created through the REST v2 API are read back with
  `gcloud run services describe --region R --format json` and
  `gcloud run services list`, and compared field by field;
- `gcloud functions describe --gen2` reads a function created through the
  REST v2 API and prints exactly what the REST GET returns;
- gcloud writes (pubsub topics and push subscriptions with OIDC auth,
  secrets and their versions and IAM bindings, scheduler HTTP jobs with OIDC
  tokens, service accounts): the fake accepts what gcloud sends, and the REST
  API reads it back;
- a refusal reaches gcloud as Google's error (the message it prints).
"""
import io
import json
import os
import subprocess
import sys
import urllib.request
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gftest  # noqa: E402
from gftest import NUMBER, PROJECT, REGION, FakeTest  # noqa: E402

APIS = ["run", "cloudfunctions", "pubsub", "secretmanager", "cloudscheduler", "iam", "eventarc",
        "cloudresourcemanager", "iamcredentials"]


class GcloudTest(FakeTest):
    def gcloud(self, *args, ok=True):
        cfg = os.path.join(self.tmp, "gcloud-config")
        os.makedirs(cfg, exist_ok=True)
        tok = os.path.join(self.tmp, "token")
        with open(tok, "w") as f:
            f.write(self.admin)
        env = dict(os.environ, CLOUDSDK_CONFIG=cfg, CLOUDSDK_AUTH_ACCESS_TOKEN_FILE=tok,
                   CLOUDSDK_CORE_PROJECT=PROJECT, CLOUDSDK_CORE_DISABLE_USAGE_REPORTING="true",
                   CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK="true", CLOUDSDK_CORE_DISABLE_PROMPTS="1",
                   CLOUDSDK_PROXY_TYPE="http", CLOUDSDK_PROXY_ADDRESS="127.0.0.1",
                   CLOUDSDK_PROXY_PORT=str(self.fake.port))
        for api in APIS:
            env["CLOUDSDK_API_ENDPOINT_OVERRIDES_" + api.upper()] = "http://%s.googleapis.com/" % api
        for k in ("GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE"):
            env.pop(k, None)
        r = subprocess.run([gftest.GCLOUD, *args], env=env, capture_output=True, text=True, timeout=180)
        if ok:
            self.assertEqual(r.returncode, 0, "gcloud %s: %s" % (" ".join(args), r.stderr))
        return r

    def test_run_describe_and_list(self):
        a = self.admin
        self.fake.control("POST", "config", {"op_polls": 1})
        body = {"labels": {"managed-by": "fedbroker", "team": "shop"}, "ingress": "INGRESS_TRAFFIC_INTERNAL_ONLY",
                "template": {"timeout": "45s", "maxInstanceRequestConcurrency": 20,
                             "scaling": {"minInstanceCount": 1, "maxInstanceCount": 4},
                             "containers": [{"image": "europe-docker.pkg.dev/p/r/api:3",
                                             "env": [{"name": "MODE", "value": "prod"}],
                                             "resources": {"limits": {"cpu": "2", "memory": "1Gi"}}}]}}
        self.run_service("api", body)
        self.run_service("worker")
        st, v2, _ = self.fake.call("GET", "/run/v2/projects/%s/locations/%s/services/api" % (PROJECT, REGION), token=a)
        r = self.gcloud("run", "services", "describe", "api", "--region", REGION, "--format", "json")
        d = json.loads(r.stdout)
        meta, spec, status = d["metadata"], d["spec"]["template"]["spec"], d["status"]
        self.assertEqual((meta["name"], meta["namespace"]), ("api", NUMBER))
        self.assertEqual(meta["labels"], {"managed-by": "fedbroker", "team": "shop",
                                          "cloud.googleapis.com/location": REGION})
        self.assertEqual(meta["annotations"]["run.googleapis.com/ingress"], "internal")
        self.assertEqual(meta["generation"], int(v2["generation"]))
        c = spec["containers"][0]
        self.assertEqual(c["image"], "europe-docker.pkg.dev/p/r/api:3")
        self.assertEqual(c["env"], [{"name": "MODE", "value": "prod"}])
        self.assertEqual(c["resources"]["limits"], {"cpu": "2", "memory": "1Gi"})
        self.assertEqual((spec["timeoutSeconds"], spec["containerConcurrency"]), (45, 20))
        self.assertEqual(spec["serviceAccountName"], v2["template"]["serviceAccount"])
        ann = d["spec"]["template"]["metadata"]["annotations"]
        self.assertEqual((ann["autoscaling.knative.dev/minScale"], ann["autoscaling.knative.dev/maxScale"]), ("1", "4"))
        self.assertEqual(status["url"], v2["uri"])
        self.assertEqual(status["latestReadyRevisionName"], v2["latestReadyRevision"].rsplit("/", 1)[1])
        self.assertEqual([x["status"] for x in status["conditions"] if x["type"] == "Ready"], ["True"])
        # regionless list: the global endpoint's locations/- list
        r = self.gcloud("run", "services", "list", "--format", "json")
        self.assertEqual(sorted(s["metadata"]["name"] for s in json.loads(r.stdout)), ["api", "worker"])
        r = self.gcloud("run", "services", "list", "--region", REGION, "--format", "json")
        self.assertEqual(sorted(s["metadata"]["name"] for s in json.loads(r.stdout)), ["api", "worker"])
        hosts = {e["host"] for e in self.fake.log() if e.get("method_id") == "run.v1"}
        self.assertEqual(hosts, {"run.googleapis.com", REGION + "-run.googleapis.com"})
        r = self.gcloud("run", "services", "describe", "nope", "--region", REGION, "--format", "json", ok=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("nope", r.stderr)

    def test_functions_describe_gen2(self):
        a = self.admin
        fn = "/cloudfunctions/v2/projects/%s/locations/%s/functions" % (PROJECT, REGION)
        st, up, _ = self.fake.call("POST", fn + ":generateUploadUrl", {}, a)
        b = io.BytesIO()
        with zipfile.ZipFile(b, "w") as z:
            z.writestr("index.js", "exports.main = (req, res) => res.send('ok');\n")
        req = urllib.request.Request(up["uploadUrl"], data=b.getvalue(), method="PUT",
                                     headers={"Content-Type": "application/zip"})
        urllib.request.urlopen(req, timeout=30).close()
        st, op, _ = self.fake.call("POST", fn + "?functionId=thumb", {
            "buildConfig": {"runtime": "nodejs22", "entryPoint": "main", "source": {"storageSource": up["storageSource"]}},
            "serviceConfig": {"availableMemory": "1Gi", "environmentVariables": {"SIZE": "128"}},
            "labels": {"managed-by": "fedbroker"}}, a)
        self.assertEqual(st, 200, op)
        self.fake.wait_op(op, a, "/cloudfunctions")
        rest = self.fake.call("GET", fn + "/thumb", token=a)[1]
        r = self.gcloud("functions", "describe", "thumb", "--gen2", "--region", REGION, "--format", "json")
        self.assertEqual(json.loads(r.stdout), rest)

    def test_gcloud_writes_are_accepted(self):
        a = self.admin
        self.gcloud("iam", "service-accounts", "create", "pusher", "--display-name", "Pusher")
        email = "pusher@%s.iam.gserviceaccount.com" % PROJECT
        self.gcloud("pubsub", "topics", "create", "orders", "--labels", "managed-by=fedbroker")
        self.gcloud("pubsub", "subscriptions", "create", "orders-push", "--topic", "orders",
                    "--push-endpoint", "https://svc.example/push", "--push-auth-service-account", email,
                    "--ack-deadline", "30")
        st, sub, _ = self.fake.call("GET", "/pubsub/v1/projects/%s/subscriptions/orders-push" % PROJECT, token=a)
        self.assertEqual(st, 200, sub)
        self.assertEqual(sub["pushConfig"]["oidcToken"]["serviceAccountEmail"], email)
        self.assertEqual(sub["ackDeadlineSeconds"], 30)
        secret_file = os.path.join(self.tmp, "secret.txt")
        with open(secret_file, "w") as f:
            f.write("hunter2")
        self.gcloud("secrets", "create", "db-pass", "--replication-policy", "automatic", "--data-file", secret_file)
        r = self.gcloud("secrets", "versions", "access", "latest", "--secret", "db-pass")
        self.assertEqual(r.stdout, "hunter2")
        self.gcloud("secrets", "add-iam-policy-binding", "db-pass", "--member", "serviceAccount:" + email,
                    "--role", "roles/secretmanager.secretAccessor")
        pol = self.fake.call("GET", "/secretmanager/v1/projects/%s/secrets/db-pass:getIamPolicy" % PROJECT,
                             token=a)[1]
        self.assertEqual(pol["bindings"], [{"role": "roles/secretmanager.secretAccessor",
                                            "members": ["serviceAccount:" + email]}])
        self.gcloud("scheduler", "jobs", "create", "http", "tick", "--location", REGION, "--schedule", "*/5 * * * *",
                    "--uri", "https://svc.example/tick", "--oidc-service-account-email", email)
        job = self.fake.call("GET", "/cloudscheduler/v1/projects/%s/locations/%s/jobs/tick" % (PROJECT, REGION),
                             token=a)[1]
        self.assertEqual(job["httpTarget"]["oidcToken"]["serviceAccountEmail"], email)
        # every request gcloud sent passed the discovery checks (no 400 anywhere)
        bad = [(e["method"], e["path"], e.get("error")) for e in self.fake.log()
               if isinstance(e.get("status"), int) and e["status"] >= 400]
        self.assertEqual(bad, [])

    def test_refusal_reaches_gcloud(self):
        r = self.gcloud("pubsub", "topics", "create", "t1", ok=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Invalid resource name given (name=projects/%s/topics/t1)" % PROJECT, r.stderr)


if __name__ == "__main__":
    if not gftest.GCLOUD:
        print("SKIP: gcloud is not installed (it is not a Debian package); these tests use it as an "
              "independent client of the fake.")
        sys.exit(77)
    gftest.main()
