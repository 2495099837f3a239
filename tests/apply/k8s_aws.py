#!/usr/bin/python3
"""A plan spanning Kubernetes and AWS applied in one command (issue 11:
drivers that deploy join plan-driven apply with no change to it), against
tests/fakes/fake_k8s.py (TLS, OpenAPI-validated server-side apply) and
tests/fakes/fake_aws.py: a Container the plan places on the cluster and a
Function on Lambda in us-east-1 (independent: the catalog has no egress
or latency between a local cluster and a cloud region to price a link). `plan --out`, then
`apply --plan`: the Deployment is in the cluster and the function at the
fake, the store holds both with their federation, the cluster Service's
address is recorded as an endpoint (the URL the driver reports, or its
host name as kind service); the next plan is no-op; destroy --federation
empties both."""
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "k8s"))
sys.path.insert(0, os.path.join(here, "..", "aws"))
import k8sdrv  # noqa: E402
from k8sdrv import Checker, Env, Fake  # noqa: E402
import awstest  # noqa: E402
from harness import workload  # noqa: E402

k8sdrv.skip_unless_built()
ck = Checker("apply k8s + aws")
kfake = Fake()
afake = awstest.Fake()
kc = kfake.kubeconfig("kc-admin")
env = Env(kc)
env.write_config(extra={"drivers": {"k8s": {"kubeconfig": kc}, "aws": awstest.settings(afake)}})
env.env.update({"AWS_ACCESS_KEY_ID": awstest.AK, "AWS_SECRET_ACCESS_KEY": awstest.SK})
fed = env.write_federation("mix.yaml", "mix", "shop", workload("Container", "web", """
    image: nginx:1.27
    ports: [{port: 8080, protocol: http}]
    resources: {cpu: 250m, memory: 256Mi}
    placement: {providers: [k8s]}"""), workload("Function", "hook", """
    runtime: python3.12
    handler: app.handler
    code: {s3: {bucket: mix-code, key: hook.zip}}
    env: {MODE: batch}
    traffic: {requestsPerMonth: 100000, meanDuration: 20ms, sources: [{location: new-york, weight: 1}]}
    placement: {regions: ["aws:us-east-1"]}"""))
plan_file = env.path("plan.json")
rc, out, err = env.run("plan", fed, "--no-baselines", "--out", plan_file)
ck.ok(rc == 0, "plan --out", (rc, err[-1500:]))
doc = json.load(open(plan_file)) if rc == 0 else {"workloads": []}
where = {w["name"]: w["placement"]["provider"] for w in doc["workloads"]}
ck.ok(where == {"web": "k8s", "hook": "aws"}, "the plan spans k8s and aws", where)
rc, out, err = env.run("apply", "--plan", plan_file)
ck.ok(rc == 0 and "2 created" in out, "apply --plan applies both in one command", (rc, out, err[-3000:]))
deploys = [o for o in kfake.objects() if o["kind"] == "Deployment" and o["metadata"]["name"] == "web"]
ck.ok(len(deploys) == 1, "the cluster holds the web Deployment", [o["kind"] for o in kfake.objects()])
ck.ok(list(afake.state().get("lambda", {})) == ["us-east-1|shop-hook"], "fake_aws holds the hook function",
      list(afake.state().get("lambda", {})))
rows = sorted(env.db("SELECT provider, workload, federation FROM deployments"))
ck.ok(rows == [("aws", "hook", "mix"), ("k8s", "web", "mix")], "one store holds both with their federation", rows)
eps = env.db("SELECT workload, kind, url FROM endpoints WHERE provider='k8s'")
ck.ok(eps and eps[0][0] == "web" and ".svc.cluster.local" in eps[0][2] and "web." in eps[0][2]
      and (eps[0][1] == "service" or (eps[0][1] == "url" and eps[0][2].startswith("http://"))),
      "the Service's address is recorded (a URL the driver gives, or its host name)", eps)
rc, out, err = env.run("plan", fed, "--no-baselines", "--no-save", "--detailed-exitcode")
ck.ok(rc == 0 and "No changes" in out, "the next plan is no-op", (rc, out[-600:], err[-800:]))
rc, out, err = env.run("destroy", "--federation", "mix")
ck.ok(rc == 0, "destroy --federation mix", (rc, out, err[-1500:]))
ck.ok(not [o for o in kfake.objects() if o["kind"] == "Deployment"] and afake.state().get("lambda", {}) == {}
      and not env.db("SELECT * FROM deployments"), "the cluster, fake_aws and the store are empty",
      ([o["kind"] for o in kfake.objects()], list(afake.state().get("lambda", {}))))

afake.close()
kfake.close()
env.close()
ck.done()
