#!/usr/bin/python3
"""The k8s driver's life cycle against tests/fakes/fake_k8s.py (TLS with a
test CA made by openssl, a client certificate from the kubeconfig; every
object validated against the Kubernetes OpenAPI, server-side apply
ownership as kube-apiserver keeps it), through the real CLI:

- apply of a Container with a user label, env, a k8s:// secret reference
  and 1..4 replicas: the tenant's namespace fb-shop (labelled), the
  NetworkPolicy, ResourceQuota and LimitRange from the settings, a
  ServiceAccount without token automount, Deployment + Service + HPA v2;
  every object written by server-side apply (PATCH, apply-patch+yaml,
  fieldManager=fedbroker, no force) and owned by manager "fedbroker" in
  managedFields; every object recorded; the rollout waited for;
- status ready without drift; apply again: the same objects, nothing new
  recorded;
- an out-of-band change of the image is drift (exit 4) and apply restores it;
- destroy --all: DELETE with propagationPolicy=Foreground, the namespace goes
  with the last workload, the store is empty, discover finds nothing."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import k8sdrv  # noqa: E402
from k8sdrv import Checker, Env, Fake, ours, rejected, untracked  # noqa: E402

k8sdrv.skip_unless_built()
ck = Checker("k8s life cycle")
fake = Fake("--rollout-delay-ms", "150")
env = Env(fake.kubeconfig("kc-admin"),
          resourceQuota={"requests.cpu": "4", "requests.memory": "8Gi", "pods": "20"},
          limitRange={"default": {"cpu": "500m", "memory": "512Mi"},
                      "defaultRequest": {"cpu": "100m", "memory": "128Mi"}})
SPEC = """apiVersion: fedbroker.dev/v1
kind: Container
metadata: {{name: web, tenant: shop, labels: {{team: storefront}}}}
spec:
  image: nginx:{tag}
  ports: [{{port: 8080, protocol: http, public: false}}]
  env: {{MODE: live}}
  secrets: [{{env: DB_PASSWORD, ref: "k8s://db#password"}}]
  resources: {{cpu: 500m, memory: 256Mi}}
  scaling: {{minInstances: 1, maxInstances: 4}}
"""
spec = env.write("web.yaml", SPEC.format(tag="1.27"))

QUOTA_DELAY = 1.5  # s: the ResourceQuota answered late, to see what is sent meanwhile (room also under valgrind)
fake.ctl("POST", "faults", {"count": 1, "method": "PATCH", "path": "/resourcequotas/fb-quota$",
                            "delay_ms": int(QUOTA_DELAY * 1000)})
seq0 = fake.last_seq()
rc, out, err = env.run("apply", spec, "--target", "k8s")
ck.ok(rc == 0, "apply exits 0", err + out)
log = fake.log(seq0)
ck.ok(not rejected(log, allow={("get", 404)}), "the fake refused nothing", rejected(log, allow={("get", 404)}))
patches = [e for e in log if e["method"] == "PATCH"]
ck.ok(patches and all(e["content_type"].startswith("application/apply-patch+yaml") for e in patches),
      "every write is a server-side apply", [(e["path"], e["content_type"]) for e in patches])
ck.ok(all(e["query"].get("fieldManager") == "fedbroker" and "force" not in e["query"] for e in patches),
      "fieldManager=fedbroker, no force", [e["query"] for e in patches])
ck.ok(all(e.get("auth") == "x509" and e.get("user") == "admin" for e in log),
      "every request authenticated by the kubeconfig's client certificate", {e.get("auth") for e in log})
kinds = [(e["path"].split("/")[-2]) for e in patches]
# the namespace's ResourceQuota, LimitRange and NetworkPolicy are sent
# together, and so are the Deployment, Service and HPA (host->http_many):
# the server sees each group in any order; the account after the quota
# (which counts what is created after it), before what runs pods
ck.ok(kinds[:1] == ["namespaces"] and
      sorted(kinds[1:4]) == ["limitranges", "networkpolicies", "resourcequotas"] and
      kinds[4:5] == ["serviceaccounts"] and
      sorted(kinds[5:]) == ["deployments", "horizontalpodautoscalers", "services"],
      "namespace and its policy first, then the account, then the Deployment, Service and HPA", kinds)
quota_answered = [e["time"] + QUOTA_DELAY for e in patches if e["path"].endswith("/resourcequotas/fb-quota")]
beside = [e["time"] - quota_answered[0] for e in patches
          if quota_answered and e["path"].split("/")[-2] in ("limitranges", "networkpolicies")]
ck.ok(len(beside) == 2 and max(beside) < 0,
      "the LimitRange and NetworkPolicy sent while the ResourceQuota was unanswered (one batch)", beside)
after = [e["time"] - quota_answered[0] for e in patches
         if quota_answered and e["path"].split("/")[-2] in ("serviceaccounts", "deployments")]
ck.ok(after and min(after) >= 0, "the account and the Deployment only after the ResourceQuota answered", after)

objs = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in fake.objects()}
ns = objs.get(("Namespace", None, "fb-shop"), {})
ck.ok(ns.get("metadata", {}).get("labels", {}).get("fedbroker.dev/tenant") == "shop" and
      ns["metadata"]["labels"].get("app.kubernetes.io/managed-by") == "fedbroker", "namespace fb-shop labelled", ns)
netpol = objs.get(("NetworkPolicy", "fb-shop", "fb-tenant-isolation"), {}).get("spec", {})
ck.ok(netpol.get("podSelector") == {} and netpol.get("policyTypes") == ["Ingress"] and
      {"namespaceSelector": {"matchLabels": {"fedbroker.dev/tenant": "shop"}}} in netpol["ingress"][0]["from"] and
      {"namespaceSelector": {"matchExpressions": [{"key": "fedbroker.dev/tenant", "operator": "DoesNotExist"}]}}
      in netpol["ingress"][0]["from"], "ingress from this tenant and non-tenant namespaces only", netpol)
quota = objs.get(("ResourceQuota", "fb-shop", "fb-quota"), {}).get("spec", {})
ck.ok(quota.get("hard", {}).get("pods") == "20" and quota["hard"].get("requests.memory") == "8Gi",
      "ResourceQuota from the settings", quota)
lr = objs.get(("LimitRange", "fb-shop", "fb-limits"), {}).get("spec", {})
ck.ok(lr.get("limits", [{}])[0].get("type") == "Container" and lr["limits"][0]["default"]["cpu"] == "500m",
      "LimitRange from the settings", lr)
sa = objs.get(("ServiceAccount", "fb-shop", "web"), {})
ck.ok(sa.get("automountServiceAccountToken") is False, "ServiceAccount without token automount", sa)
dep = objs.get(("Deployment", "fb-shop", "web"), {})
pod = dep.get("spec", {}).get("template", {}).get("spec", {})
c0 = (pod.get("containers") or [{}])[0]
ck.ok(pod.get("serviceAccountName") == "web" and pod.get("automountServiceAccountToken") is False,
      "the pods run as the workload's account, no token", pod.get("serviceAccountName"))
ck.ok(c0.get("image") == "nginx:1.27", "image", c0.get("image"))
ck.ok({"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}} in c0.get("env", []),
      "k8s://db#password -> secretKeyRef", c0.get("env"))
ck.ok(dep.get("metadata", {}).get("labels", {}).get("team") == "storefront", "the user's label", dep.get("metadata"))
mf = {m["manager"] for m in dep.get("metadata", {}).get("managedFields", []) if m.get("operation") == "Apply"}
ck.ok(mf == {"fedbroker"}, "managedFields: applied by manager fedbroker", mf)
ck.ok(dep.get("status", {}).get("availableReplicas", 0) >= 1, "rolled out before apply returned", dep.get("status"))
dep_path = "/apis/apps/v1/namespaces/fb-shop/deployments/web"
# a new Deployment's apply answer has no rolled-out status yet (the fake's
# controller takes 150 ms): the rollout wait reads it again with GETs
ck.ok([e["status"] for e in log if e["method"] == "GET" and e["path"] == dep_path][-1:] == [200],
      "a fresh Deployment's rollout waited for with GETs", [(e["method"], e["path"]) for e in log])
hpa = objs.get(("HorizontalPodAutoscaler", "fb-shop", "web"), {})
ck.ok(hpa.get("apiVersion") == "autoscaling/v2" and hpa.get("spec", {}).get("maxReplicas") == 4 and
      hpa["spec"].get("minReplicas") == 1, "HPA v2 1..4", hpa.get("spec"))
svc = objs.get(("Service", "fb-shop", "web"), {})
ck.ok(svc.get("spec", {}).get("type") == "ClusterIP", "ClusterIP Service", svc.get("spec"))

rows = env.db("SELECT type, cloud_id FROM resources")
ck.ok(sorted(rows) == sorted([("k8s:Namespace", "fb-shop"), ("k8s:ResourceQuota", "fb-shop/fb-quota"),
                              ("k8s:LimitRange", "fb-shop/fb-limits"),
                              ("k8s:NetworkPolicy", "fb-shop/fb-tenant-isolation"),
                              ("k8s:ServiceAccount", "fb-shop/web"), ("k8s:Deployment", "fb-shop/web"),
                              ("k8s:Service", "fb-shop/web"), ("k8s:HorizontalPodAutoscaler", "fb-shop/web")]),
      "every object recorded", rows)
rc, out, err = env.run("status", "--format", "json")
st = json.loads(out or "[]")
ck.ok(rc == 0 and st and st[0]["status"] == "ready" and st[0]["drift"] == [], "status ready, no drift", out + err)

seq1 = fake.last_seq()
rc, out, err = env.run("apply", spec, "--target", "k8s")
log = fake.log(seq1)
ck.ok(rc == 0, "apply again exits 0", err)
created = [e for e in log if e["status"] == 201]
ck.ok(not created, "apply again creates nothing", [(e["path"]) for e in created])
# the unchanged Deployment's apply answer says rolled out already: that is
# the rollout wait's first look, and no GET follows it
ck.ok([e["method"] for e in log if e["path"] == dep_path] == ["PATCH"],
      "apply again: the Deployment's apply answer ends the rollout wait, no GET",
      [(e["method"], e["path"]) for e in log])

# out-of-band: someone changes the image with kubectl-style SSA of their own
r = fake.apply("/apis/apps/v1/namespaces/fb-shop/deployments/web",
               {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:evil"}]}}}},
               manager="intruder", force=True)
ck.ok(r.status == 200, "an out-of-band forced change of the image", r)
rc, out, err = env.run("status", "--format", "json")
st = json.loads(out or "[]")
drift = st[0]["drift"] if st else []
ck.ok(rc == 4 and any("image" in d.get("field", "") and d.get("live") == "nginx:evil" for d in drift),
      "status: drift in the image (exit 4)", out + err)
# the intruder's manager now owns the image: apply must not take it back
# silently; the conflict names the manager
rc, out, err = env.run("apply", spec, "--target", "k8s")
ck.ok(rc != 0 and '"intruder"' in err and "forceConflicts" in err,
      "apply: the field owned by another manager is a conflict naming it", err + out)
dep = [o for o in fake.objects() if o["kind"] == "Deployment" and o["metadata"]["name"] == "web"][0]
ck.ok(dep["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:evil", "and nothing was overwritten")
env.write_config(forceConflicts=True, resourceQuota={"requests.cpu": "4", "requests.memory": "8Gi", "pods": "20"},
                 limitRange={"default": {"cpu": "500m", "memory": "512Mi"},
                             "defaultRequest": {"cpu": "100m", "memory": "128Mi"}})
seq = fake.last_seq()
rc, out, err = env.run("apply", spec, "--target", "k8s")
ck.ok(rc == 0, "with forceConflicts apply takes the field back", err + out)
log = fake.log(seq)
ck.ok(all(e["query"].get("force") == "true" for e in log if e["method"] == "PATCH"), "force=true sent")
# the image taken back is a new generation, which the apply answer has not
# rolled out: the wait reads the Deployment until it has
ck.ok([e["method"] for e in log if e["path"] == dep_path][:2] == ["PATCH", "GET"],
      "a changed Deployment: its rollout waited for with GETs", [(e["method"], e["path"]) for e in log])
rc, out, err = env.run("status", "--format", "json")
ck.ok(rc == 0 and json.loads(out)[0]["drift"] == [], "no drift after the forced apply", out + err)

# destroy
seq2 = fake.last_seq()
rc, out, err = env.run("destroy", "--all")
ck.ok(rc == 0, "destroy --all exits 0", err + out)
log = fake.log(seq2)
dels = [e for e in log if e["method"] == "DELETE"]
ck.ok(dels and all(e["query"].get("propagationPolicy") == "Foreground" for e in dels
                   if "/namespaces/fb-shop/" in e["path"]), "workload objects deleted in the foreground",
      [(e["path"], e["query"]) for e in dels])
ck.ok(not ours(fake, "fb-shop"), "nothing of ours left in the cluster", ours(fake, "fb-shop"))
ck.ok(not env.db("SELECT * FROM deployments"), "the store holds no deployment", env.db("SELECT * FROM deployments"))
ck.ok(untracked(env) == [], "discover: nothing managed left", untracked(env))
rc, out, err = env.run("destroy", "--all")
ck.ok(rc == 0, "destroy again is fine", err)
fake.close()
env.close()
ck.done()
