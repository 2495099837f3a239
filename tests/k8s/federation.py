#!/usr/bin/python3
"""A federation placed partly on local Kubernetes and partly on AWS, applied
in one command by plan-driven apply (issue 11) against tests/fakes/fake_k8s.py
(over TLS) and tests/fakes/fake_aws.py, through one broker home and store:
an API Container the plan places on k8s:on-prem and a Lambda Function in
us-east-1. `plan --out` then `apply --plan`: each fake holds exactly its
part, the API's endpoint (its Service's cluster URL, from the k8s driver's
result) is recorded; status observes both (ready, no drift); discover on
both providers finds everything tracked; the next plan is all no-op;
destroy --federation empties both fakes and the store.

The two workloads do not depend on each other: the catalog has no egress
price out of an on-prem cluster, and plan forbids a link it cannot price
(core/plan/problem.c), so a dependency between the parts is infeasible.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "aws"))
import k8sdrv  # noqa: E402
from k8sdrv import Checker, Env, Fake, ours  # noqa: E402
import awstest  # noqa: E402
from harness import workload  # noqa: E402

k8sdrv.skip_unless_built()
ck = Checker("k8s + aws federation")
kfake = Fake("--rollout-delay-ms", "50")
afake = awstest.Fake()
env = Env(kfake.kubeconfig("kc-admin"))
# the on-prem cluster's metro, so the latency model can place the link
# between the two parts (catalog param local_metro)
env.write_config(extra={"drivers": {"k8s": {"kubeconfig": env.kubeconfig}, "aws": awstest.settings(afake)},
                        "catalog": {"params": {"local_metro": "new-york"}}})
env.env.update({"AWS_ACCESS_KEY_ID": awstest.AK, "AWS_SECRET_ACCESS_KEY": awstest.SK})
os.makedirs(env.path("worker"))
env.write("worker/app.py", "def handler(event, context):\n    return 1\n")
fed = env.write_federation("shop.yaml", "shop", "shop", workload("Container", "api", """
    image: ghcr.io/shop/api:4
    ports: [{port: 8080, protocol: http, public: true}]
    resources: {cpu: 250m, memory: 256Mi}
    scaling: {minInstances: 1, maxInstances: 3}
    traffic: {requestsPerMonth: 1000000, meanDuration: 40ms}
    placement: {providers: [k8s]}"""), workload("Function", "worker", """
    runtime: python3.12
    handler: app.handler
    code: {path: %s}
    traffic: {requestsPerMonth: 100000, meanDuration: 20ms, sources: [{location: new-york, weight: 1}]}
    placement: {providers: [aws], regions: ["aws:us-east-1"]}""" % env.path("worker")))
plan_file = env.path("plan.json")
rc, out, err = env.run("plan", fed, "--no-baselines", "--out", plan_file)
ck.ok(rc == 0, "plan --out", (rc, err[-1500:]))
doc = json.load(open(plan_file)) if rc == 0 else {"workloads": []}
where = {w["name"]: (w["placement"]["provider"], w["placement"]["region"]) for w in doc["workloads"]}
ck.ok(where == {"api": ("k8s", "on-prem"), "worker": ("aws", "us-east-1")}, "the plan spans k8s and aws", where)
mark = afake.seq()
rc, out, err = env.run("apply", "--plan", plan_file)
ck.ok(rc == 0 and "2 created" in out, "apply --plan applies both parts in one command", (rc, out, err[-3000:]))
k = ours(kfake, "fb-shop")
ck.ok(("Deployment", "fb-shop", "api") in k and not [o for o in k if o[2] == "worker"],
      "fake_k8s holds the api (and nothing of the worker)", k)
ck.ok(list(afake.state().get("lambda", {})) == ["us-east-1|shop-worker"], "fake_aws holds the worker function only",
      list(afake.state().get("lambda", {})))
eps = env.db("SELECT kind, url FROM endpoints WHERE workload='api' AND provider='k8s'")
ck.ok(eps == [("service", "api.fb-shop.svc.cluster.local")],
      "the api's endpoint: its Service's cluster DNS name (kind service, a host, not a URL)", eps)
rc, out, err = env.run("status", "--format", "json")
st = {(d["provider"], d["workload"]): d for d in json.loads(out)} if out.strip() else {}
ck.ok(rc == 0 and st.get(("k8s", "api"), {}).get("status") == "ready" and
      st.get(("aws", "worker"), {}).get("status") == "ready" and all(d["drift"] == [] for d in st.values()),
      "status observes both: ready, no drift", (rc, out, err))
for prov in ("k8s", "aws"):
    rc, out, err = env.run("discover", "--provider", prov, "--format", "json")
    found = json.loads(out) if out.strip() else []
    ck.ok(rc == 0 and [r for r in found if r.get("managed")] and
          all(r.get("tracked") for r in found if r.get("managed")), "discover %s: everything tracked" % prov,
          (rc, err, [(r["type"], r.get("tracked")) for r in found]))
rc, out, err = env.run("plan", fed, "--no-baselines", "--no-save", "--detailed-exitcode")
ck.ok(rc == 0 and "No changes" in out, "the next plan is all no-op", (rc, out[-600:], err[-600:]))
rc, out, err = env.run("destroy", "--federation", "shop")
ck.ok(rc == 0, "destroy --federation shop", (rc, out, err[-1500:]))
ck.ok(not ours(kfake, "fb-shop") and afake.state().get("lambda", {}) == {} and not env.db("SELECT * FROM deployments"),
      "both fakes and the store are empty", (ours(kfake, "fb-shop"), list(afake.state().get("lambda", {}))))
afake.close()
kfake.close()
env.close()
ck.done()
