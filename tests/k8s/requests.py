#!/usr/bin/python3
"""The requests one apply of several workloads of a tenant sends, through
the k8s driver and fake_k8s (--parallelism 4, four Containers of one new
tenant):

- API discovery (GET /apis) once per run, the tenant's namespace read once
  and its Namespace and NetworkPolicy applied once, not per workload;
- per workload a server-side apply (PATCH) of its ServiceAccount,
  Deployment, Service and HPA and no GET before any PATCH (server-side apply
  creates); GETs of the Deployment only while its rollout is not done;
- discovery and the namespace check overlap (the fake delays /apis by
  1.5 s: the namespace GET arrives while /apis is still unanswered), and
  nothing is written before /apis has answered;
- the other workloads' ServiceAccounts are applied beside the tenant's
  NetworkPolicy (the fake delays it by 1.5 s: they arrive while it is
  unanswered), and no Deployment before the policy has answered;
- a cluster without autoscaling/v2: apply refuses every workload and writes
  nothing, although the namespace check ran beside the discovery;
- apply again (nothing changed): the Deployments' apply answers say rolled
  out, so no GET at all."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import k8sdrv  # noqa: E402
from k8sdrv import Checker, Env, Fake, rejected  # noqa: E402

k8sdrv.skip_unless_built()
ck = Checker("k8s requests")
fake = Fake("--rollout-delay-ms", "100")
env = Env(fake.kubeconfig("kc-admin"))
NAMES = ["w1", "w2", "w3", "w4"]
DOC = """---
apiVersion: fedbroker.dev/v1
kind: Container
metadata: {{name: {name}, tenant: req}}
spec:
  image: nginx:1.27
  ports: [{{port: 8080, protocol: http, public: false}}]
  resources: {{cpu: 100m, memory: 64Mi}}
  scaling: {{minInstances: 1, maxInstances: 3}}
"""
spec = env.write("four.yaml", "".join(DOC.format(name=n) for n in NAMES))
NS_PATH = "/api/v1/namespaces/fb-req"
APIS_DELAY = 1.5  # s: room for the other lanes to start, also under valgrind
NP_DELAY = 1.5  # s: the tenant's NetworkPolicy answered late (the same room)


def kind_of(path):
    return path.split("/")[-2]


# a cluster without autoscaling/v2 first: refused before anything is written
fake.ctl("POST", "autoscaling", {"v2": False})
fake.ctl("POST", "faults", {"count": 1, "method": "GET", "path": "^/apis$", "delay_ms": int(APIS_DELAY * 1000)})
seq = fake.last_seq()
rc, out, err = env.run("apply", spec, "--target", "k8s", "--parallelism", "4")
log = fake.log(seq)
ck.ok(rc != 0 and "autoscaling/v2" in err, "no autoscaling/v2: apply refuses", err + out)
ck.ok([e["method"] for e in log if e["method"] not in ("GET",)] == [], "and writes nothing",
      [(e["method"], e["path"]) for e in log])
ck.ok(sum(1 for e in log if e["path"] == "/apis") == 1, "one discovery", [e["path"] for e in log])
fake.ctl("DELETE", "faults")
fake.ctl("POST", "autoscaling", {"v2": True})

# a fresh process (a new run) with a fresh tenant
fake.ctl("POST", "faults", {"count": 1, "method": "GET", "path": "^/apis$", "delay_ms": int(APIS_DELAY * 1000)})
fake.ctl("POST", "faults", {"count": 1, "method": "PATCH", "path": "/networkpolicies/fb-tenant-isolation$",
                            "delay_ms": int(NP_DELAY * 1000)})
seq = fake.last_seq()
rc, out, err = env.run("apply", spec, "--target", "k8s", "--parallelism", "4")
log = fake.log(seq)
ck.ok(rc == 0, "apply of four workloads, parallelism 4", err + out)
ck.ok(not rejected(log, allow={("get", 404)}), "the fake refused nothing", rejected(log, allow={("get", 404)}))
apis = [e for e in log if e["path"] == "/apis"]
ck.ok(len(apis) == 1, "GET /apis once per run", len(apis))
ns_gets = [e for e in log if e["method"] == "GET" and e["path"] == NS_PATH]
ck.ok(len(ns_gets) == 1, "the tenant's namespace read once", len(ns_gets))
ck.ok(apis and ns_gets and ns_gets[0]["time"] < apis[0]["time"] + APIS_DELAY,
      "the namespace check ran while discovery was unanswered",
      apis and ns_gets and (ns_gets[0]["time"] - apis[0]["time"]))
writes = [e for e in log if e["method"] != "GET"]
ck.ok(apis and writes and min(e["time"] for e in writes) >= apis[0]["time"] + APIS_DELAY,
      "nothing written before discovery answered", apis and writes and
      (min(e["time"] for e in writes) - apis[0]["time"]))
patches = [e for e in log if e["method"] == "PATCH"]
tenant = [kind_of(e["path"]) for e in patches if kind_of(e["path"]) in ("namespaces", "networkpolicies")]
ck.ok(sorted(tenant) == ["namespaces", "networkpolicies"], "the tenant's objects applied once", tenant)
np = [e for e in patches if kind_of(e["path"]) == "networkpolicies"]
np_answered = np[0]["time"] + NP_DELAY if np else 0
sas = [e["time"] - np_answered for e in patches if kind_of(e["path"]) == "serviceaccounts"]
ck.ok(np and len([t for t in sas if t < 0]) >= 2,
      "ServiceAccounts applied while the tenant's NetworkPolicy was unanswered (the workloads that did not apply it)",
      sas)
deps = [e["time"] - np_answered for e in patches if kind_of(e["path"]) == "deployments"]
ck.ok(np and len(deps) == len(NAMES) and min(deps) >= 0, "no Deployment before the NetworkPolicy answered", deps)
for n in NAMES:
    mine = [e for e in log if e["path"].endswith("/" + n)]
    kinds = sorted(kind_of(e["path"]) for e in mine if e["method"] == "PATCH")
    ck.ok(kinds == ["deployments", "horizontalpodautoscalers", "serviceaccounts", "services"],
          "%s: one apply each of its ServiceAccount, Deployment, Service and HPA" % n, kinds)
    first = {}
    for e in mine:
        first.setdefault(e["path"], e["method"])
    ck.ok(all(m == "PATCH" for m in first.values()), "%s: no GET before an object's apply" % n, first)
    gets = [kind_of(e["path"]) for e in mine if e["method"] == "GET"]
    ck.ok(gets and set(gets) == {"deployments"},
          "%s: the fresh Deployment's rollout read with GETs (its apply answer is not rolled out)" % n, gets)

# again, unchanged: the apply answers end the rollout waits
seq = fake.last_seq()
rc, out, err = env.run("apply", spec, "--target", "k8s", "--parallelism", "4")
log = fake.log(seq)
ck.ok(rc == 0, "apply again", err + out)
gets = sorted(e["path"] for e in log if e["method"] == "GET")
ck.ok(gets == ["/api/v1/namespaces/fb-req", "/apis"],
      "apply again: no GET but discovery and the namespace check (the Deployments are rolled out in their apply "
      "answers)", gets)
rc, out, err = env.run("destroy", "--all")
ck.ok(rc == 0, "destroy --all", err + out)
fake.close()
env.close()
ck.done()
