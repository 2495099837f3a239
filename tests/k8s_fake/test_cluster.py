#!/usr/bin/python3
"""What the fake cluster does on its own, and deletion: Deployment status
progressing then available (or ProgressDeadlineExceeded when told to fail),
Knative Service readiness and failure, cluster IPs and node ports,
EndpointSlices following the available replicas, HPA and ResourceQuota
status, the default ServiceAccount and kube-root-ca.crt of a namespace,
Foreground / Background / Orphan propagation through ownerReferences,
finalizers, namespace termination, delete preconditions and dryRun, the
scale subresource."""
import json
import time

from k8stest import Fake, check, deployment, done, hpa, ksvc, ns_obj, schema_errors, service

# The GC delay is the window in which a Foreground delete's owner is seen
# still there: 1 s, so that it holds on a loaded machine (make distcheck
# at a load of 20 missed a 200 ms one).
fake = Fake("--knative", "--rollout-delay-ms", "400", "--knative-delay-ms", "300", "--gc-delay-ms", "1000",
            "--deadline-scale", "0.005")
NS = "fb-cluster"
assert fake.post("/api/v1/namespaces", ns_obj(NS)).status == 201
DEP = "/apis/apps/v1/namespaces/%s/deployments" % NS
SVC = "/api/v1/namespaces/%s/services" % NS
EPS = "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices" % NS
CM = "/api/v1/namespaces/%s/configmaps" % NS


def cond(obj, t):
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c["type"] == t:
            return c
    return {}


# ---- namespace defaults
r = fake.wait_for("/api/v1/namespaces/%s/serviceaccounts/default" % NS, lambda o: True, timeout=3)
cm = fake.get(CM + "/kube-root-ca.crt").json or {}
with open(fake.pki + "/ca.crt") as f:
    ca = f.read()
check(r.status == 200 and cm.get("data", {}).get("ca.crt") == ca,
      "a new namespace gets the default ServiceAccount and kube-root-ca.crt with the cluster CA")

# ---- a Deployment rolls out
t0 = time.time()
r = fake.apply(DEP + "/web", deployment("web", replicas=2), manager="fedbroker")
check(r.status == 201 and r.json["metadata"]["generation"] == 1, "created with generation 1")
early = fake.wait_for(DEP + "/web", lambda o: (o.get("status") or {}).get("observedGeneration") == 1, timeout=2).json
check(cond(early, "Progressing").get("reason") == "ReplicaSetUpdated" and cond(early, "Available").get("status") == "False"
      and cond(early, "Available").get("reason") == "MinimumReplicasUnavailable"
      and not early["status"].get("availableReplicas") and early["status"].get("replicas") == 2,
      "first: Progressing (ReplicaSetUpdated), not Available", early.get("status"))
late = fake.wait_for(DEP + "/web", lambda o: (o.get("status") or {}).get("availableReplicas") == 2, timeout=5).json
took = time.time() - t0
st = late.get("status", {})
check(st.get("updatedReplicas") == 2 and st.get("readyReplicas") == 2 and cond(late, "Available").get("status") == "True"
      and cond(late, "Progressing").get("reason") == "NewReplicaSetAvailable"
      and 'has successfully progressed.' in cond(late, "Progressing").get("message", "") and took >= 0.35,
      "after the rollout delay: all replicas available, NewReplicaSetAvailable (%.2fs)" % took, st)
check(late["metadata"]["annotations"].get("deployment.kubernetes.io/revision") == "1"
      and any(m["manager"] == "kube-controller-manager" and m.get("subresource") == "status"
              for m in late["metadata"]["managedFields"]),
      "revision annotation and status written by kube-controller-manager on the status subresource")
check(not schema_errors(late, "io.k8s.api.apps.v1.Deployment"), "the progressed Deployment fits its definition")

# ---- a Service: cluster IP, EndpointSlice with the available replicas
svc = service("web", target="http")
r = fake.post(SVC, svc)
check(r.status == 201 and r.json["spec"]["clusterIP"].startswith("10.96.") and r.json["spec"]["clusterIPs"] ==
      [r.json["spec"]["clusterIP"]] and r.json["spec"]["ipFamilies"] == ["IPv4"], "the Service gets a cluster IP")
fake.request("PATCH", DEP + "/web", json.dumps({"spec": {"template": {"spec": {"containers": [
    {"name": "web", "ports": [{"containerPort": 8080, "name": "http"}]}]}}}}),
    ctype="application/strategic-merge-patch+json")
sl = fake.wait_for(EPS, lambda o: any(len(i.get("endpoints") or []) == 2 and (i.get("ports") or [{}])[0].get("port") == 8080
                                      for i in o["items"]), timeout=5).json["items"]
check(len(sl) == 1 and sl[0]["metadata"]["labels"]["kubernetes.io/service-name"] == "web"
      and sl[0]["metadata"]["ownerReferences"][0]["kind"] == "Service" and sl[0]["addressType"] == "IPv4"
      and len(sl[0]["endpoints"]) == 2 and sl[0]["ports"][0]["port"] == 8080,
      "an EndpointSlice with the 2 available replicas, named targetPort resolved to 8080", sl)
check(not schema_errors(dict(sl[0], apiVersion="discovery.k8s.io/v1", kind="EndpointSlice"),
                        "io.k8s.api.discovery.v1.EndpointSlice"), "the EndpointSlice fits its definition")
r = fake.request("PATCH", DEP + "/web/scale", json.dumps({"spec": {"replicas": 4}}),
                 ctype="application/merge-patch+json")
check(r.status == 200 and r.json["kind"] == "Scale" and r.json["spec"]["replicas"] == 4, "scale subresource", r)
d = fake.wait_for(DEP + "/web", lambda o: (o.get("status") or {}).get("availableReplicas") == 4, timeout=5).json
check(d["metadata"]["generation"] == 3 and d["status"]["observedGeneration"] == 3, "scaling bumps generation",
      d["metadata"]["generation"])
sl = fake.wait_for(EPS, lambda o: any(len(i.get("endpoints") or []) == 4 for i in o["items"]), timeout=5).json["items"]
check(len(sl[0].get("endpoints") or []) == 4, "the EndpointSlice follows to 4 endpoints")
r = fake.post(SVC, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "np"},
                    "spec": {"type": "NodePort", "selector": {"app": "x"}, "ports": [{"port": 80}]}})
check(r.status == 201 and 30000 <= r.json["spec"]["ports"][0]["nodePort"] <= 32767
      and r.json["spec"]["externalTrafficPolicy"] == "Cluster", "a NodePort Service gets a node port", r)
r = fake.post(SVC, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "headless"},
                    "spec": {"clusterIP": "None", "selector": {"app": "web"}, "ports": [{"port": 80}]}})
check(r.status == 201 and r.json["spec"]["clusterIP"] == "None", "a headless Service keeps clusterIP None")

# ---- HPA and ResourceQuota status
r = fake.post("/apis/autoscaling/v2/namespaces/%s/horizontalpodautoscalers" % NS, hpa("web", 2, 3))
h = fake.wait_for("/apis/autoscaling/v2/namespaces/%s/horizontalpodautoscalers/web" % NS,
                  lambda o: (o.get("status") or {}).get("currentReplicas") == 4, timeout=5).json
check(h["status"].get("desiredReplicas") == 3 and cond(h, "ScalingLimited").get("reason") == "TooManyReplicas"
      and cond(h, "AbleToScale").get("status") == "True", "HPA status: current 4, desired 3 (max), limited",
      h.get("status"))
r = fake.post("/apis/autoscaling/v2/namespaces/%s/horizontalpodautoscalers" % NS, hpa("ghost"))
g = fake.wait_for("/apis/autoscaling/v2/namespaces/%s/horizontalpodautoscalers/ghost" % NS,
                  lambda o: cond(o, "AbleToScale").get("reason") == "FailedGetScale", timeout=5).json
check(cond(g, "AbleToScale").get("status") == "False", "an HPA without its target: AbleToScale False FailedGetScale")
fake.post("/api/v1/namespaces/%s/resourcequotas" % NS, {
    "apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "tenant"},
    "spec": {"hard": {"count/deployments.apps": "10", "services": "5", "requests.cpu": "4"}}})
fake.request("PATCH", DEP + "/web", json.dumps({"spec": {"template": {"spec": {"containers": [
    {"name": "web", "resources": {"requests": {"cpu": "250m"}}}]}}}}), ctype="application/strategic-merge-patch+json")
q = fake.wait_for("/api/v1/namespaces/%s/resourcequotas/tenant" % NS,
                  lambda o: (o.get("status") or {}).get("used", {}).get("requests.cpu") == "1", timeout=5).json
check(q["status"]["hard"] == {"count/deployments.apps": "10", "services": "5", "requests.cpu": "4"}
      and q["status"]["used"].get("count/deployments.apps") == "1" and q["status"]["used"].get("services") == "3",
      "ResourceQuota status: hard, and used (objects, 4 x 250m cpu)", q.get("status"))

# ---- a failing rollout: ProgressDeadlineExceeded
fake.ctl("POST", "rollout", {"target": "%s/stuck" % NS, "fail": True})
d = deployment("stuck", replicas=1, extra_spec={"progressDeadlineSeconds": 100})
t0 = time.time()
fake.apply(DEP + "/stuck", d, manager="fedbroker")
s = fake.wait_for(DEP + "/stuck", lambda o: cond(o, "Progressing").get("status") == "False", timeout=5).json
took = time.time() - t0
check(cond(s, "Progressing").get("reason") == "ProgressDeadlineExceeded"
      and cond(s, "Progressing")["message"].endswith("has timed out progressing.")
      and cond(s, "Available").get("status") == "False" and took >= 0.45,
      "told to fail: Progressing False ProgressDeadlineExceeded after 100 s x 0.005 (%.2fs)" % took, s.get("status"))

# ---- Knative Services: ready, or failed with a message
KS = "/apis/serving.knative.dev/v1/namespaces/%s/services" % NS
fake.apply(KS + "/hello", ksvc("hello"), manager="fedbroker")
k = fake.wait_for(KS + "/hello", lambda o: cond(o, "Ready").get("status") == "True", timeout=5).json
check(k["status"].get("url") == "http://hello.%s.example.com" % NS and k["status"]["latestReadyRevisionName"] == "hello-00001"
      and cond(k, "ConfigurationsReady").get("status") == "True" and cond(k, "RoutesReady").get("status") == "True"
      and k["status"]["traffic"] == [{"revisionName": "hello-00001", "latestRevision": True, "percent": 100}],
      "a ksvc becomes Ready with its URL and revision", k.get("status"))
fake.ctl("POST", "knative-status", {"target": "%s/broken" % NS, "fail": True, "message": "Back-off pulling image"})
fake.ctl("POST", "knative-status", {"domain": "apps.internal"})
fake.apply(KS + "/broken", ksvc("broken"), manager="fedbroker")
b = fake.wait_for(KS + "/broken", lambda o: cond(o, "Ready").get("status") == "False", timeout=5).json
check(cond(b, "Ready").get("reason") == "RevisionFailed"
      and cond(b, "Ready").get("message") == 'Revision "broken-00001" failed with message: Back-off pulling image.'
      and "url" not in b["status"], "a failing ksvc: Ready False with the message", b.get("status"))
fake.apply(KS + "/other", ksvc("other"), manager="fedbroker")
o = fake.wait_for(KS + "/other", lambda o: cond(o, "Ready").get("status") == "True", timeout=5).json
check(o["status"]["url"] == "http://other.%s.apps.internal" % NS, "the Knative domain is configurable")

# ---- deletion through ownerReferences
def owned_cm(name, owner):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "ownerReferences": [
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": owner["metadata"]["name"],
         "uid": owner["metadata"]["uid"]}]}, "data": {"k": "v"}}


def deleted_rv(path, name, since):
    """The resourceVersion of the DELETED event of name, from a watch."""
    r = fake.get(path, query={"watch": "1", "resourceVersion": since, "timeoutSeconds": "1"})
    for line in r.raw.splitlines():
        ev = json.loads(line)
        if ev["type"] == "DELETED" and ev["object"]["metadata"]["name"] == name:
            return int(ev["object"]["metadata"]["resourceVersion"])
    return None


for policy, name in (("Foreground", "fg"), ("Background", "bg"), ("Orphan", "or")):
    owner = fake.post(DEP, deployment(name)).json
    since = fake.post(CM, owned_cm(name + "-dep", owner)).json["metadata"]["resourceVersion"]
    r = fake.delete(DEP + "/" + name, query={"propagationPolicy": policy})
    if policy == "Foreground":
        check(r.status == 200 and r.json["kind"] == "Deployment" and r.json["metadata"].get("deletionTimestamp")
              and "foregroundDeletion" in r.json["metadata"]["finalizers"],
              "Foreground: the answer is the object with deletionTimestamp and the foregroundDeletion finalizer", r)
        mid = fake.get(DEP + "/" + name)
        check(mid.status == 200 and mid.json["metadata"].get("deletionTimestamp"), "Foreground: still there at first")
    elif policy == "Background":
        check(r.status == 200 and r.json["kind"] == "Status" and r.json["status"] == "Success"
              and r.json["details"] == {"name": name, "group": "apps", "kind": "deployments",
                                        "uid": owner["metadata"]["uid"]},
              "Background: gone at once, the answer is a Success Status", r)
    gone = fake.wait_gone(DEP + "/" + name, timeout=10)
    check(gone.status == 404, "%s: the owner is deleted" % policy)
    if policy == "Orphan":
        dep_cm = fake.wait_for(CM + "/" + name + "-dep", lambda o: not o["metadata"].get("ownerReferences"), timeout=10)
        check(dep_cm.status == 200 and not dep_cm.json["metadata"].get("ownerReferences"),
              "Orphan: the dependent stays, without its ownerReference")
    else:
        check(fake.wait_gone(CM + "/" + name + "-dep", timeout=10).status == 404,
              "%s: the dependent is collected" % policy)
        dep_rv, owner_rv = deleted_rv(CM, name + "-dep", since), deleted_rv(DEP, name, since)
        check(dep_rv and owner_rv and (dep_rv < owner_rv) == (policy == "Foreground"),
              "%s: the %s goes first" % (policy, "dependent" if policy == "Foreground" else "owner"),
              (dep_rv, owner_rv))
r = fake.delete(SVC + "/web", query={"propagationPolicy": "Foreground"})
gone = fake.wait_gone(SVC + "/web", timeout=10)
sl = [i for i in fake.get(EPS).json["items"] if i["metadata"]["labels"].get("kubernetes.io/service-name") == "web"]
check(gone.status == 404 and not sl, "deleting the Service removed its EndpointSlice first")

# ---- finalizers, preconditions, dryRun, errors
fake.post(CM, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "held",
                                                                      "finalizers": ["example.com/hold"]}})
r = fake.delete(CM + "/held")
check(r.status == 200 and r.json["metadata"].get("deletionTimestamp"), "a finalizer holds the object")
time.sleep(1.2)
check(fake.get(CM + "/held").status == 200, "still held after the GC delay")
fake.request("PATCH", CM + "/held", json.dumps({"metadata": {"finalizers": None}}), ctype="application/merge-patch+json")
check(fake.get(CM + "/held").status == 404, "removing the last finalizer deletes it")
fake.post(CM, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "pre"}})
r = fake.delete(CM + "/pre", {"apiVersion": "v1", "kind": "DeleteOptions", "preconditions": {"uid": "nope"}})
check(r.status == 409 and "Precondition failed: UID in precondition: nope" in r.message, "a uid precondition: 409", r)
r = fake.delete(CM + "/pre", query={"dryRun": "All"})
check(r.status == 200 and fake.get(CM + "/pre").status == 200, "dryRun delete keeps the object")
r = fake.delete(CM + "/pre", query={"propagationPolicy": "Sometimes"})
check(r.status == 422 and 'propagationPolicy: Unsupported value: "Sometimes"' in r.message, "a bad propagationPolicy: 422")
r = fake.delete(CM + "/nothing")
check(r.status == 404 and r.message == 'configmaps "nothing" not found', "deleting a missing object: 404", r)

# ---- namespace termination
r = fake.delete("/api/v1/namespaces/" + NS)
check(r.status == 200 and r.json["status"]["phase"] == "Terminating" and r.json["metadata"].get("deletionTimestamp"),
      "deleting a namespace: Terminating", r)
r = fake.post(CM, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "late"}})
check(r.status == 403 and r.reason == "Forbidden" and r.message ==
      'configmaps "late" is forbidden: unable to create new content in namespace %s because it is being terminated' % NS,
      "no new content in a terminating namespace (403)", r)
gone = fake.wait_gone("/api/v1/namespaces/" + NS, timeout=15)
left = [(o["kind"], o["metadata"]["name"]) for o in fake.objects() if o["metadata"].get("namespace") == NS]
check(gone.status == 404 and not left, "the namespace and everything in it are gone", left)
done()
