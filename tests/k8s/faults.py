#!/usr/bin/python3
"""The k8s driver under faults injected by tests/fakes/fake_k8s.py (before
authentication, as a proxy or an overloaded API server would answer):

- 429 with Retry-After on a server-side apply: the host waits and sends the
  same PATCH again (it is idempotent), apply succeeds;
- 500 on a GET, 409 Conflict (not an apply conflict) on a PATCH, a TCP reset
  on a PATCH: retried, apply succeeds, each object exists once;
- a 500 that does not stop: apply fails with exit 1 naming the request and
  the status; the next apply completes what was missing;
- a rollout that exceeds its progress deadline (ProgressDeadlineExceeded):
  apply fails with the condition's message, status says failed;
- 404 on destroy is done."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import k8sdrv  # noqa: E402
from k8sdrv import Checker, Env, Fake, ours  # noqa: E402

k8sdrv.skip_unless_built()
ck = Checker("k8s faults")
fake = Fake("--rollout-delay-ms", "50", "--deadline-scale", "0.002")
env = Env(fake.kubeconfig("kc-admin"))
SPEC = """apiVersion: fedbroker.dev/v1
kind: Container
metadata: {{name: {name}, tenant: ops}}
spec:
  image: nginx:1.27
  ports: [{{port: 8080, protocol: http, public: false}}]
  resources: {{cpu: 100m, memory: 64Mi}}
  scaling: {{minInstances: 1, maxInstances: 3}}
"""


def spec(name):
    return env.write(name + ".yaml", SPEC.format(name=name))


def faulted(log):
    return [(e["method"], e["path"], e.get("fault")) for e in log if e.get("fault")]


# 429 with Retry-After on the Deployment's apply
fake.ctl("POST", "faults", {"count": 2, "status": 429, "retry_after": 1, "method": "PATCH", "path": "/deployments/"})
seq = fake.last_seq()
rc, out, err = env.run("apply", spec("a"), "--target", "k8s")
log = fake.log(seq)
ck.ok(rc == 0, "429 Retry-After twice on the Deployment's apply: apply succeeds", err + out)
dep_patches = [e for e in log if e["method"] == "PATCH" and e["path"].endswith("/deployments/a")]
ck.ok(len(dep_patches) == 3 and [e["status"] for e in dep_patches] == [429, 429, 200] or
      [e["status"] for e in dep_patches] == [429, 429, 201], "the same PATCH sent again after each 429",
      [e["status"] for e in dep_patches])
ck.ok(len({json.dumps(e["body"], sort_keys=True) for e in dep_patches}) == 1, "byte-identical retries")

# 500 on a GET (the rollout wait), 409 on a PATCH, a reset on a PATCH
fake.ctl("POST", "faults", [{"count": 1, "status": 500, "method": "GET", "path": "/deployments/b$"},
                            {"count": 1, "status": 409, "method": "PATCH", "path": "/services/b$"},
                            {"count": 1, "reset": True, "method": "PATCH", "path": "/horizontalpodautoscalers/b$"}])
seq = fake.last_seq()
rc, out, err = env.run("apply", spec("b"), "--target", "k8s")
log = fake.log(seq)
ck.ok(rc == 0, "500 on a GET, 409 and a reset on PATCHes: apply succeeds", err + out)
ck.ok(len(faulted(log)) == 3, "all three faults were hit", faulted(log))
names = [(k, n) for k, ns, n in ours(fake) if ns == "fb-ops"]
ck.ok(names.count(("Deployment", "b")) == 1 and names.count(("Service", "b")) == 1 and
      names.count(("HorizontalPodAutoscaler", "b")) == 1, "each object exists once", names)

# a 500 that does not stop
fake.ctl("POST", "faults", {"count": 50, "status": 500, "method": "PATCH", "path": "/services/c$"})
rc, out, err = env.run("apply", spec("c"), "--target", "k8s")
ck.ok(rc == 1 and "apply Service fb-ops/c failed: HTTP 500" in err, "a lasting 500: exit 1 naming the request", err)
fake.ctl("DELETE", "faults")
rc, out, err = env.run("apply", spec("c"), "--target", "k8s")
ck.ok(rc == 0, "the next apply completes it", err)
rc, out, err = env.run("status", "--format", "json")
ck.ok(rc == 0 and all(s["status"] == "ready" for s in json.loads(out)), "a, b, c ready", out + err)

# a 409 that is not an apply conflict and does not stop: three tries, then
# exit 1 naming the request (it once returned success with nothing applied)
fake.ctl("POST", "faults", {"count": 50, "status": 409, "method": "PATCH", "path": "/services/e$"})
seq = fake.last_seq()
rc, out, err = env.run("apply", spec("e"), "--target", "k8s")
log = fake.log(seq)
svc_patches = [e for e in log if e["method"] == "PATCH" and e["path"].endswith("/services/e")]
ck.ok(rc == 1 and "apply Service fb-ops/e failed" in err, "a lasting 409: exit 1 naming the request", err + out)
ck.ok(len(svc_patches) == 3 and all(e["status"] == 409 for e in svc_patches), "the PATCH tried three times",
      [e["status"] for e in svc_patches])
fake.ctl("DELETE", "faults")
rc, out, err = env.run("apply", spec("e"), "--target", "k8s")
ck.ok(rc == 0, "the next apply completes it", err)

# progress deadline
fake.ctl("POST", "rollout", {"target": "fb-ops/d", "fail": True})
rc, out, err = env.run("apply", spec("d"), "--target", "k8s")
ck.ok(rc != 0 and "ProgressDeadlineExceeded" not in "" and "rollout of Deployment fb-ops/d failed" in err,
      "a rollout past its progress deadline fails apply with the condition's message", err)
rc, out, err = env.run("status", "--format", "json")
d = [s for s in json.loads(out or "[]") if s["workload"] == "d"]
ck.ok(d and d[0]["status"] == "failed", "status: failed", out + err)

# destroy: an object already gone (404) is done
r = fake.delete("/apis/autoscaling/v2/namespaces/fb-ops/horizontalpodautoscalers/a")
ck.ok(r.status == 200, "an HPA deleted out of band", r)
rc, out, err = env.run("destroy", "--all")
ck.ok(rc == 0, "destroy --all: 404 is done", err)
ck.ok(not ours(fake, "fb-ops"), "nothing left", ours(fake, "fb-ops"))
fake.close()
env.close()
ck.done()
