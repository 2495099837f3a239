#!/usr/bin/python3
"""One plan spanning AWS and GCP applied in one command (issue 11) against
tests/fakes/fake_aws.py and tests/fakes/fake_gcp.py, through one broker
home and store: a public Container the plan places on Cloud Run in
europe-west1 and a Function on Lambda in us-east-1 that depends on it.
`plan --out` then `apply --plan`: each fake holds exactly its part, the
Function's CreateFunction body carries the Cloud Run service's URL (as
FEDBROKER_ENDPOINT_API and through ${endpoints.api.url}), the store has
both deployments with their federation and endpoints; a second plan is
all no-op; destroy --federation empties both fakes and the store."""
import json
import os
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "gcp"))
sys.path.insert(0, os.path.join(here, "..", "aws"))
from gcptest import REGION, Checker, Env, Fake, settings, skip_unless_built  # noqa: E402
import awstest  # noqa: E402
from harness import workload  # noqa: E402

skip_unless_built()
ck = Checker("apply aws + gcp")
gfake = Fake(tempfile.mkdtemp(prefix="fb-gcp-fake-"))
afake = awstest.Fake()
env = Env(gfake)
env.write_config(settings(gfake), extra={"drivers": {"gcp": settings(gfake), "aws": awstest.settings(afake)}})
env.env.update({"AWS_ACCESS_KEY_ID": awstest.AK, "AWS_SECRET_ACCESS_KEY": awstest.SK})
os.makedirs(env.path("worker"))
env.write("worker/app.py", "def handler(event, context):\n    return 1\n")
fed = env.write_federation("shop.yaml", "shop", "shop", workload("Container", "api", """
    image: europe-docker.pkg.dev/shop/apps/api:4
    ports: [{port: 8080, protocol: http, public: true}]
    scaling: {minInstances: 1, maxInstances: 5}
    traffic: {requestsPerMonth: 1000000, meanDuration: 40ms, sources: [{location: frankfurt, weight: 1}]}
    placement: {regions: ["gcp:%s"]}""" % REGION), workload("Function", "worker", """
    runtime: python3.12
    handler: app.handler
    code: {path: %s}
    env: {API_BASE: "${endpoints.api.url}/v4"}
    traffic: {requestsPerMonth: 100000, meanDuration: 20ms, sources: [{location: new-york, weight: 1}]}
    placement: {regions: ["aws:us-east-1"]}
    dependencies: [{workload: api}]""" % env.path("worker")))
plan_file = env.path("plan.json")

rc, out, err = env.run("plan", fed, "--no-baselines", "--out", plan_file)
ck.ok(rc == 0, "plan --out", (rc, err[-1500:]))
doc = json.load(open(plan_file)) if rc == 0 else {"workloads": [], "changes": []}
where = {w["name"]: (w["placement"]["provider"], w["placement"]["region"]) for w in doc["workloads"]}
ck.ok(where == {"api": ("gcp", REGION), "worker": ("aws", "us-east-1")}, "the plan spans gcp and aws", where)
mark = afake.seq()
rc, out, err = env.run("apply", "--plan", plan_file)
ck.ok(rc == 0 and "2 created" in out, "apply --plan applies both parts in one command", (rc, out, err[-3000:]))
ck.ok(list(gfake.services()) == ["api"], "fake_gcp holds the api service", list(gfake.services()))
ck.ok(list(afake.state().get("lambda", {})) == ["us-east-1|shop-worker"], "fake_aws holds the worker function",
      list(afake.state().get("lambda", {})))
url = (env.db("SELECT url FROM endpoints WHERE workload='api' AND provider='gcp'") or [[None]])[0][0]
svc_uri = gfake.services().get("api", {}).get("uri")
ck.ok(url and url == svc_uri, "the Cloud Run service's URL is recorded as api's endpoint", (url, svc_uri))
create = [e for e in afake.log(mark) if e.get("operation") == "CreateFunction"]
vars_ = create[0]["params"].get("Environment", {}).get("Variables", {}) if create else {}
ck.ok(url and vars_.get("FEDBROKER_ENDPOINT_API") == url and vars_.get("API_BASE") == url + "/v4",
      "the worker's CreateFunction body carries the api's URL", vars_)
rows = sorted(env.db("SELECT provider, region, workload, federation FROM deployments"))
ck.ok(rows == [("aws", "us-east-1", "worker", "shop"), ("gcp", REGION, "api", "shop")],
      "one store holds both deployments with their federation", rows)
rc, out, err = env.run("plan", fed, "--no-baselines", "--no-save", "--detailed-exitcode")
ck.ok(rc == 0 and "No changes" in out, "the next plan is all no-op", (rc, out[-600:], err[-600:]))
rc, out, err = env.run("destroy", "--federation", "shop")
ck.ok(rc == 0, "destroy --federation shop", (rc, out, err[-1500:]))
ck.ok(gfake.services() == {} and afake.state().get("lambda", {}) == {} and not env.db("SELECT * FROM deployments"),
      "both fakes and the store are empty", (list(gfake.services()), list(afake.state().get("lambda", {}))))

afake.close()
gfake.close()
env.close()
ck.done()
