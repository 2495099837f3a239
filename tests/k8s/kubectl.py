#!/usr/bin/python3
"""kubectl (a client we did not write) reads back through the fake what
fedbroker applied: after `fedbroker apply`, `kubectl get deploy,svc,hpa -n
fb-TENANT -o json` returns every field fedbroker sent (the PATCH bodies of
the fake's log) with the same values, the objects carry managed-by and the
tenant label, and `kubectl rollout status` says the Deployment rolled out;
`kubectl get ksvc` shows the Knative Service with its Ready condition.
Skipped when kubectl is not installed (Debian 12: kubernetes-client)."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import k8sdrv  # noqa: E402
from k8sdrv import Checker, Env, Fake  # noqa: E402

k8sdrv.skip_unless_built()
k8stest = k8sdrv.k8stest
if not k8stest.KUBECTL:
    print("SKIP: kubectl is not installed (Debian: apt-get install kubernetes-client)")
    sys.exit(77)
ck = Checker("k8s kubectl read-back")
print("kubectl %s" % (k8stest.kubectl_version(),))
fake = Fake("--rollout-delay-ms", "100", "--knative")
kc = fake.kubeconfig("kc-admin")
env = Env(kc, knative=True)
spec = env.write("shop.yaml", """apiVersion: fedbroker.dev/v1
kind: Container
metadata: {name: web, tenant: acme, labels: {team: storefront}}
spec:
  image: nginx:1.27
  ports: [{port: 8080, protocol: http, public: false}, {port: 9090, protocol: grpc, public: false}]
  env: {MODE: live}
  resources: {cpu: 250m, memory: 128Mi}
  scaling: {minInstances: 2, maxInstances: 6}
""")
fn = env.write("fn.yaml", """apiVersion: fedbroker.dev/v1
kind: Function
metadata: {name: thumbs, tenant: acme}
spec:
  image: ghcr.io/acme/thumbs:2
  resources: {memory: 256Mi}
  scaling: {minInstances: 0, maxInstances: 5, targetConcurrency: 10}
  triggers: [{http: {path: /, public: true}}]
""")


def subset(sent, got, path=""):
    if isinstance(sent, dict):
        if not isinstance(got, dict):
            return "%s: read back %r" % (path, got)
        for k, v in sent.items():
            if k not in got:
                return "%s.%s: sent, not read back" % (path, k)
            d = subset(v, got[k], path + "." + k)
            if d:
                return d
        return None
    if isinstance(sent, list):
        if not isinstance(got, list) or len(got) != len(sent):
            return "%s: sent %d items, read back %r" % (path, len(sent), got)
        for i, (a, b) in enumerate(zip(sent, got)):
            d = subset(a, b, "%s[%d]" % (path, i))
            if d:
                return d
        return None
    return None if sent == got else "%s: sent %r, read back %r" % (path, sent, got)


seq = fake.last_seq()
rc, out, err = env.run("apply", spec, "--target", "k8s")
ck.ok(rc == 0, "fedbroker apply (Deployment, Service, HPA)", err + out)
rc, out, err = env.run("apply", fn, "--target", "k8s:on-prem", "--service", "knative")
ck.ok(rc == 0, "fedbroker apply (Knative Service)", err + out)
sent = {}
for e in fake.log(seq):
    if e["method"] == "PATCH":
        b = json.loads(e["body"]) if isinstance(e["body"], str) else e["body"]
        sent[(b["kind"], b["metadata"]["name"])] = b

code, o, e = k8stest.kubectl(kc, "get", "deploy,svc,hpa", "-n", "fb-acme", "-o", "json")
ck.ok(code == 0, "kubectl get deploy,svc,hpa -n fb-acme -o json", e)
items = json.loads(o or "{}").get("items", [])
got = {(i["kind"], i["metadata"]["name"]): i for i in items}
ck.ok({("Deployment", "web"), ("Service", "web"), ("HorizontalPodAutoscaler", "web")} <= set(got),
      "kubectl sees the Deployment, Service and HPA", sorted(got))
for key in (("Deployment", "web"), ("Service", "web"), ("HorizontalPodAutoscaler", "web")):
    if key in got and key in sent:
        d = subset(sent[key], got[key])
        ck.ok(d is None, "%s %s: kubectl reads back every field fedbroker sent" % key, d)
        lab = got[key]["metadata"].get("labels", {})
        ck.ok(lab.get("app.kubernetes.io/managed-by") == "fedbroker" and lab.get("fedbroker.dev/tenant") == "acme"
              and lab.get("team") == "storefront", "%s %s: labels" % key, lab)
code, o, e = k8stest.kubectl(kc, "rollout", "status", "deployment/web", "-n", "fb-acme", "--timeout=20s")
ck.ok(code == 0 and "successfully rolled out" in o, "kubectl rollout status: rolled out", o + e)
code, o, e = k8stest.kubectl(kc, "get", "services.serving.knative.dev", "thumbs", "-n", "fb-acme", "-o", "json")
ksvc = json.loads(o or "{}")
ck.ok(code == 0 and subset(sent.get(("Service", "thumbs"), {}), ksvc) is None,
      "kubectl reads back the Knative Service as sent", (e, subset(sent.get(("Service", "thumbs"), {}), ksvc)))
ready = [c for c in ksvc.get("status", {}).get("conditions", []) if c.get("type") == "Ready"]
ck.ok(ready and ready[0]["status"] == "True", "Knative Ready", ksvc.get("status"))
ann = ksvc.get("spec", {}).get("template", {}).get("metadata", {}).get("annotations", {})
ck.ok(ann.get("autoscaling.knative.dev/min-scale") == "0" and ann.get("autoscaling.knative.dev/max-scale") == "5",
      "scale to zero, max 5", ann)
rc, out, err = env.run("status", "--format", "json")
st = json.loads(out or "[]")
ck.ok(rc == 0 and len(st) == 2 and all(s["status"] == "ready" and not s["drift"] for s in st), "both ready, no drift",
      out + err)
rc, out, err = env.run("destroy", "--all")
ck.ok(rc == 0, "destroy --all", err)
code, o, e = k8stest.kubectl(kc, "get", "ns", "fb-acme")
ck.ok(code != 0 and "NotFound" in e, "kubectl: the namespace is gone", o + e)
fake.close()
env.close()
ck.done()
