#!/usr/bin/python3
"""Two tenants on one cluster through the k8s driver and fake_k8s: each
gets its own namespace (fb-blue, fb-green) labelled with its tenant and a
NetworkPolicy that admits its own namespace and non-tenant namespaces but
not the other tenant's; a namespace of the same name that is not the
tenant's (made by hand, or another tenant's label) is refused at apply and
left alone; destroying one workload of a tenant keeps the namespace for its
other workload, destroying the last removes it, and the other tenant's
objects are untouched throughout."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import k8sdrv  # noqa: E402
from k8sdrv import Checker, Env, Fake, ours  # noqa: E402

k8sdrv.skip_unless_built()
ck = Checker("k8s tenants")
fake = Fake("--rollout-delay-ms", "50")
env = Env(fake.kubeconfig("kc-admin"))
T = """apiVersion: fedbroker.dev/v1
kind: Container
metadata: {{name: {name}, tenant: {tenant}}}
spec:
  image: nginx:1.27
  ports: [{{port: 8080, protocol: http, public: false}}]
  resources: {{cpu: 100m, memory: 64Mi}}
"""


def spec(name, tenant):
    return env.write("%s-%s.yaml" % (tenant, name), T.format(name=name, tenant=tenant))


for t in ("blue", "green"):
    for n in ("api", "web"):
        rc, out, err = env.run("apply", spec(n, t), "--target", "k8s")
        ck.ok(rc == 0, "apply %s/%s" % (t, n), err + out)
objs = ours(fake)
for t in ("blue", "green"):
    ck.ok(("Namespace", None, "fb-" + t) in objs and ("Deployment", "fb-" + t, "api") in objs and
          ("Deployment", "fb-" + t, "web") in objs, "tenant %s: its namespace and both workloads" % t, objs)
pols = {o["metadata"]["namespace"]: o["spec"] for o in fake.objects() if o["kind"] == "NetworkPolicy"}
ns_labels = {o["metadata"]["name"]: o["metadata"].get("labels", {}) for o in fake.objects() if o["kind"] == "Namespace"}


def admits(policy, from_labels):
    """Whether a NetworkPolicy's ingress peers select a namespace with these labels."""
    for rule in policy.get("ingress", []):
        for peer in rule.get("from", []):
            sel = peer.get("namespaceSelector")
            if sel is None:
                continue
            ok = all(from_labels.get(k) == v for k, v in sel.get("matchLabels", {}).items())
            for ex in sel.get("matchExpressions", []):
                if ex["operator"] == "DoesNotExist":
                    ok = ok and ex["key"] not in from_labels
                elif ex["operator"] == "In":
                    ok = ok and from_labels.get(ex["key"]) in ex["values"]
            if ok:
                return True
    return False


ck.ok(admits(pols["fb-blue"], ns_labels["fb-blue"]) and not admits(pols["fb-blue"], ns_labels["fb-green"]),
      "blue's policy admits blue, not green", pols["fb-blue"])
ck.ok(admits(pols["fb-green"], ns_labels["fb-green"]) and not admits(pols["fb-green"], ns_labels["fb-blue"]),
      "green's policy admits green, not blue", pols["fb-green"])
ck.ok(admits(pols["fb-blue"], ns_labels["kube-system"]), "an ingress controller's namespace (no tenant) is admitted",
      ns_labels["kube-system"])

# a hand-made namespace fb-red, and one labelled for another tenant
r = fake.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fb-red"}})
ck.ok(r.status == 201, "a hand-made namespace fb-red", r)
seq = fake.last_seq()
rc, out, err = env.run("apply", spec("api", "red"), "--target", "k8s")
ck.ok(rc != 0 and "namespace fb-red exists and is not tenant red's" in err, "apply refuses a namespace that is "
      "not the tenant's", err)
ck.ok(not [e for e in fake.log(seq) if e["method"] in ("PATCH", "POST", "PUT", "DELETE")], "and changes nothing")

# destroy one of blue's workloads: the namespace stays for the other
rc, out, err = env.run("destroy", "--workload", "web", "--tenant", "blue")
ck.ok(rc == 0, "destroy blue/web", err + out)
objs = ours(fake)
ck.ok(("Namespace", None, "fb-blue") in objs and ("Deployment", "fb-blue", "api") in objs and
      ("Deployment", "fb-blue", "web") not in objs, "blue/web gone, blue's namespace and api stay", objs)
green_before = [o for o in objs if o[1] == "fb-green" or o[2] == "fb-green"]
rc, out, err = env.run("destroy", "--workload", "api", "--tenant", "blue")
ck.ok(rc == 0, "destroy blue/api", err + out)
objs = ours(fake)
ck.ok(not [o for o in objs if o[1] == "fb-blue" or o[2] == "fb-blue"], "blue's last workload takes its namespace",
      objs)
ck.ok([o for o in objs if o[1] == "fb-green" or o[2] == "fb-green"] == green_before, "green untouched")
ck.ok(any(o["metadata"]["name"] == "fb-red" for o in fake.objects() if o["kind"] == "Namespace"),
      "the hand-made namespace left alone")
rc, out, err = env.run("destroy", "--all")
ck.ok(rc == 0 and not ours(fake), "destroy --all", err)
fake.close()
env.close()
ck.done()
