#!/usr/bin/python3
"""gcloud, an independent client, reads back what fedbroker deployed to
tests/fakes/fake_gcp.py and must see what the spec says (skipped, exit 77,
where gcloud is not installed, as on a fresh Debian).

gcloud is pointed at the fake as tests/fakes/README.md says: proxy mode
(every API endpoint override names the real host over plain HTTP, and
CLOUDSDK_PROXY_* send the requests to the fake), an access token the fake
issued in CLOUDSDK_AUTH_ACCESS_TOKEN_FILE, the project in
CLOUDSDK_CORE_PROJECT.

- `gcloud run services describe` (the Knative v1 view): image, env,
  limits, concurrency, timeout, min/max scale, the service account, the
  ingress, our labels, the URL fedbroker's status printed, Ready;
- `gcloud run services get-iam-policy`: allUsers may invoke the public one;
- `gcloud functions describe --gen2`: runtime, entry point, memory, the
  secret's environment variable, the URL;
- `gcloud scheduler jobs describe` and `gcloud pubsub subscriptions
  describe`: the cron, the time zone, the target URL and OIDC identity, the
  push endpoint."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gcptest import INVOKER, PROJECT, REGION, RUNNER, Checker, Env, Fake, skip_unless_built  # noqa: E402

skip_unless_built()
GCLOUD = shutil.which("gcloud")
if not GCLOUD:
    print("SKIP: gcloud is not installed (it is not on a fresh Debian)")
    sys.exit(77)
ck = Checker("gcp read back with gcloud")
tmp = tempfile.mkdtemp(prefix="fb-gcp-gcloud-")
fake = Fake(tmp)
env = Env(fake)
os.makedirs(env.path("src"))
env.write("src/main.py", "def handler(request):\n    return 'ok'\n")
st, _ = fake.api("POST", "/secretmanager/v1/projects/%s/secrets?secretId=api-key" % PROJECT,
                 {"replication": {"automatic": {}}})
run_spec = env.write("run.yaml", """apiVersion: fedbroker.dev/v1
kind: Container
metadata: {name: web, tenant: shop, labels: {team: storefront}}
spec:
  image: europe-docker.pkg.dev/p/r/web:7
  ports: [{port: 8080, protocol: http, public: true}]
  env: {MODE: fast}
  resources: {cpu: "2", memory: 1Gi}
  scaling: {minInstances: 1, maxInstances: 6, targetConcurrency: 50}
  timeout: 45s
---
apiVersion: fedbroker.dev/v1
kind: Function
metadata: {name: report, tenant: shop}
spec:
  image: europe-docker.pkg.dev/p/r/report:1
  triggers:
    - schedule: {cron: "0 3 * * *", timezone: Europe/Paris}
    - queue: {name: report-requests, batchSize: 1}
""")
fn_spec = env.write("fn.yaml", """apiVersion: fedbroker.dev/v1
kind: Function
metadata: {name: hello, tenant: shop}
spec:
  runtime: python3.12
  handler: main.handler
  code: {path: %s}
  resources: {memory: 512Mi}
  secrets: [{env: API_KEY, ref: "gcp-sm://api-key"}]
  triggers: [{http: {path: /, public: true}}]
""" % env.path("src"))
rc, out, err = env.run("apply", "--target", "gcp:" + REGION, run_spec)
ck.ok(rc == 0, "apply (Cloud Run)", (rc, out, err))
rc, out, err = env.run("apply", "--target", "gcp:" + REGION, "--service", "cloud-functions", fn_spec)
ck.ok(rc == 0, "apply (Cloud Functions)", (rc, out, err))
# the URLs fedbroker stored for each deployment
urls = {w: json.loads(s).get("uri") for w, s in env.db("SELECT workload, state_json FROM deployments")}
ck.ok(all(urls.get(w) for w in ("web", "report", "hello")), "fedbroker stored each URL", urls)


def gcloud(*args):
    cfg = os.path.join(tmp, "gcloud-config")
    os.makedirs(cfg, exist_ok=True)
    tok = os.path.join(tmp, "token")
    with open(tok, "w") as f:
        f.write(fake.admin)
    e = dict(os.environ, CLOUDSDK_CONFIG=cfg, CLOUDSDK_AUTH_ACCESS_TOKEN_FILE=tok, CLOUDSDK_CORE_PROJECT=PROJECT,
             CLOUDSDK_CORE_DISABLE_USAGE_REPORTING="true", CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK="true",
             CLOUDSDK_CORE_DISABLE_PROMPTS="1", CLOUDSDK_PROXY_TYPE="http", CLOUDSDK_PROXY_ADDRESS="127.0.0.1",
             CLOUDSDK_PROXY_PORT=str(fake.port))
    for api in ("run", "cloudfunctions", "pubsub", "secretmanager", "cloudscheduler", "iam"):
        e["CLOUDSDK_API_ENDPOINT_OVERRIDES_" + api.upper()] = "http://%s.googleapis.com/" % api
    for k in ("GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE"):
        e.pop(k, None)
    r = subprocess.run([GCLOUD, *args, "--format", "json"], env=e, capture_output=True, text=True, timeout=180)
    ck.ok(r.returncode == 0, "gcloud %s" % " ".join(args[:3]), r.stderr[-2000:])
    try:
        return json.loads(r.stdout)
    except ValueError:
        return {}


d = gcloud("run", "services", "describe", "web", "--region", REGION)
meta, spec, status = d.get("metadata", {}), d.get("spec", {}).get("template", {}).get("spec", {}), d.get("status", {})
c = (spec.get("containers") or [{}])[0]
ann = d.get("spec", {}).get("template", {}).get("metadata", {}).get("annotations", {})
ck.ok(c.get("image") == "europe-docker.pkg.dev/p/r/web:7" and c.get("env") == [{"name": "MODE", "value": "fast"}]
      and c.get("resources", {}).get("limits") == {"cpu": "2", "memory": "1Gi"}, "web: image, env, limits", c)
ck.ok(spec.get("containerConcurrency") == 50 and spec.get("timeoutSeconds") == 45
      and spec.get("serviceAccountName") == RUNNER, "web: concurrency, timeout, service account", spec)
ck.ok((ann.get("autoscaling.knative.dev/minScale"), ann.get("autoscaling.knative.dev/maxScale")) == ("1", "6"),
      "web: min and max scale", ann)
ck.ok(meta.get("annotations", {}).get("run.googleapis.com/ingress") == "all", "web: ingress all (public)")
ck.ok({k: v for k, v in meta.get("labels", {}).items() if k in ("managed-by", "workload", "tenant", "team")} ==
      {"managed-by": "fedbroker", "workload": "web", "tenant": "shop", "team": "storefront"}, "web: labels",
      meta.get("labels"))
ck.ok(status.get("url") == urls.get("web") and [x["status"] for x in status.get("conditions", [])
                                                  if x["type"] == "Ready"] == ["True"],
      "web: the URL fedbroker reported, Ready", (status.get("url"), urls.get("web")))
pol = gcloud("run", "services", "get-iam-policy", "web", "--region", REGION)
ck.ok(any(b.get("role") == "roles/run.invoker" and b.get("members") == ["allUsers"] for b in pol.get("bindings", [])),
      "web: allUsers may invoke", pol)
pol = gcloud("run", "services", "get-iam-policy", "report", "--region", REGION)
ck.ok([b.get("members") for b in pol.get("bindings", []) if b.get("role") == "roles/run.invoker"] ==
      [["serviceAccount:" + INVOKER]], "report: only the invoker account may invoke", pol)
f = gcloud("functions", "describe", "hello", "--gen2", "--region", REGION)
ck.ok(f.get("buildConfig", {}).get("runtime") == "python312" and f["buildConfig"].get("entryPoint") == "handler"
      and f.get("serviceConfig", {}).get("availableMemory") == "512Mi"
      and [s.get("key") for s in f["serviceConfig"].get("secretEnvironmentVariables", [])] == ["API_KEY"]
      and f.get("url") == urls.get("hello") and f.get("state") == "ACTIVE",
      "hello: runtime, entry point, memory, secret, URL, ACTIVE", f)
j = gcloud("scheduler", "jobs", "describe", "report-s0", "--location", REGION)
ck.ok(j.get("schedule") == "0 3 * * *" and j.get("timeZone") == "Europe/Paris"
      and j.get("httpTarget", {}).get("uri") == urls.get("report")
      and j.get("httpTarget", {}).get("oidcToken", {}).get("serviceAccountEmail") == INVOKER,
      "the job: cron, zone, target URL, OIDC identity", j)
s = gcloud("pubsub", "subscriptions", "describe", "report-q0")
ck.ok(s.get("pushConfig", {}).get("pushEndpoint") == urls.get("report")
      and s.get("topic") == "projects/%s/topics/report-requests" % PROJECT, "the push subscription", s)
rc, out, err = env.run("destroy", "--all")
ck.ok(rc == 0, "destroy --all", (rc, err))
fake.close()
env.close()
shutil.rmtree(tmp, ignore_errors=True)
ck.done()
