#!/usr/bin/python3
"""Server-side apply in the fake, against the Kubernetes documentation
(https://kubernetes.io/docs/reference/using-api/server-side-apply/): the
managedFields of the documentation's own ConfigMap example, no-op applies,
conflicts with Apply and Update managers (message, causes, 409), shared
ownership, force, fields an applier leaves out (removed, or kept when someone
else owns them), list-map merging of containers, env and ports by their
keys, dryRun, status ignored, generation, Update managers named by
fieldManager or the User-Agent, resourceVersion preconditions."""
import copy
import json
import time

from k8stest import Fake, check, deployment, done, ns_obj, schema_errors

fake = Fake()


def put_edited(path, edit, manager):
    """GET, edit, PUT with the object's resourceVersion, as kubectl edit
    does: the fake's Deployment controller writes the status of a rollout
    (--rollout-delay-ms after a change), and a PUT carrying the version
    read before that write is rightly refused with 409. On a busy machine
    the write can fall between the GET and the PUT: read again and retry,
    as a client of the real API server must."""
    for _ in range(10):
        cur = fake.get(path).json
        edit(cur)
        r = fake.put(path, cur, query={"fieldManager": manager})
        if r.status != 409:
            return r
    return r


NS = "fb-ssa"
assert fake.post("/api/v1/namespaces", ns_obj(NS)).status == 201
CM = "/api/v1/namespaces/%s/configmaps" % NS
DEP = "/apis/apps/v1/namespaces/%s/deployments" % NS


def managed(obj):
    return {(m["manager"], m["operation"]): m for m in obj["metadata"].get("managedFields", [])}


# ---- the documentation's example: a ConfigMap applied by kubectl
doc_cm = {"apiVersion": "v1", "kind": "ConfigMap",
          "metadata": {"name": "test-cm", "namespace": NS, "labels": {"test-label": "test"}},
          "data": {"key": "some value"}}
r = fake.apply(CM + "/test-cm", doc_cm, manager="kubectl")
check(r.status == 201, "apply creates the ConfigMap (201)", r)
mf = r.json["metadata"]["managedFields"]
check(len(mf) == 1 and mf[0]["manager"] == "kubectl" and mf[0]["operation"] == "Apply"
      and mf[0]["apiVersion"] == "v1" and mf[0]["fieldsType"] == "FieldsV1"
      and mf[0]["fieldsV1"] == {"f:data": {"f:key": {}}, "f:metadata": {"f:labels": {"f:test-label": {}}}},
      "managedFields as in the documentation's example", mf)
check(not schema_errors(mf[0], "io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry"),
      "the entry fits meta/v1 ManagedFieldsEntry")
rv = r.json["metadata"]["resourceVersion"]
r = fake.apply(CM + "/test-cm", doc_cm, manager="kubectl")
check(r.status == 200 and r.json["metadata"]["resourceVersion"] == rv, "an identical apply changes nothing (same rv)")

# ---- conflicts with an Apply manager, shared ownership, force
other = copy.deepcopy(doc_cm)
other["data"]["key"] = "other value"
other["metadata"].pop("labels")
r = fake.apply(CM + "/test-cm", other, manager="other")
check(r.status == 409 and r.reason == "Conflict"
      and r.message == 'Apply failed with 1 conflict: conflict with "kubectl": .data.key'
      and r.json["details"]["causes"] == [{"reason": "FieldManagerConflict", "message": 'conflict with "kubectl"',
                                          "field": ".data.key"}],
      "a second applier changing .data.key: 409 naming kubectl", r)
check(not schema_errors(r.json, "io.k8s.apimachinery.pkg.apis.meta.v1.Status"), "the conflict is a meta/v1 Status")
same = copy.deepcopy(other)
same["data"]["key"] = "some value"
r = fake.apply(CM + "/test-cm", same, manager="other")
m = managed(r.json)
check(r.status == 200 and "f:key" in m[("other", "Apply")]["fieldsV1"]["f:data"]
      and "f:key" in m[("kubectl", "Apply")]["fieldsV1"]["f:data"],
      "applying the same value: both managers own .data.key", m)
r = fake.apply(CM + "/test-cm", other, manager="other", force=True)
m = managed(r.json)
check(r.status == 200 and r.json["data"]["key"] == "other value"
      and "f:data" not in m[("kubectl", "Apply")]["fieldsV1"]
      and "f:key" in m[("other", "Apply")]["fieldsV1"]["f:data"],
      "force=true takes the field; kubectl loses it", m)

# ---- fields an applier leaves out
two = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "two"}, "data": {"a": "1", "b": "2"}}
fake.apply(CM + "/two", two, manager="fedbroker")
one = copy.deepcopy(two)
del one["data"]["b"]
r = fake.apply(CM + "/two", one, manager="fedbroker")
check(r.status == 200 and r.json["data"] == {"a": "1"}, "a field the applier owned alone and left out is removed",
      r.json.get("data"))
fake.apply(CM + "/two", two, manager="fedbroker")
fake.apply(CM + "/two", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "two"},
                         "data": {"b": "2"}}, manager="helper")
r = fake.apply(CM + "/two", one, manager="fedbroker")
m = managed(r.json)
check(r.json["data"] == {"a": "1", "b": "2"} and "f:b" not in m[("fedbroker", "Apply")]["fieldsV1"]["f:data"],
      "a field another manager also owns stays; the applier no longer owns it", (r.json.get("data"), m))

# ---- conflicts with Update managers (created by POST, changed by PUT)
d = deployment("web", replicas=2)
r = fake.post(DEP, d, query={"fieldManager": "kubectl"})
check(r.status == 201, "POST with fieldManager=kubectl", r)
m = managed(r.json)
check(("kubectl", "Update") in m and "f:progressDeadlineSeconds" in m[("kubectl", "Update")]["fieldsV1"]["f:spec"],
      "the creator owns the fields the server defaulted too", m)
r = fake.apply(DEP + "/web", deployment("web", replicas=2), manager="fedbroker")
check(r.status == 200, "applying the same values co-owns without conflict", r)
r = fake.apply(DEP + "/web", deployment("web", replicas=4), manager="fedbroker")
check(r.status == 409 and r.message == 'Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas'
      and r.json["details"]["causes"][0]["message"] == 'conflict with "kubectl" using apps/v1',
      "an Update manager is named with its apiVersion", r)
r = put_edited(DEP + "/web", lambda o: o["metadata"]["labels"].__setitem__("team", "a"), "editor")
check(r.status == 200 and ("editor", "Update") in managed(r.json), "PUT records an Update entry for its fieldManager", r)
lab = deployment("web", replicas=6)
lab["metadata"]["labels"]["team"] = "b"
r = fake.apply(DEP + "/web", lab, manager="fedbroker")
check(r.status == 409 and r.message == ('Apply failed with 2 conflicts: conflict with "editor" using apps/v1:\n'
                                        '- .metadata.labels.team\nconflict with "kubectl" using apps/v1:\n- .spec.replicas'),
      "two conflicts with two managers, as the API server lists them", r.message)
check(sorted(c["field"] for c in r.json["details"]["causes"]) == [".metadata.labels.team", ".spec.replicas"],
      "one cause per conflicting field")
r = fake.apply(DEP + "/web", lab, manager="fedbroker", force=True)
m = managed(r.json)
check(r.status == 200 and r.json["spec"]["replicas"] == 6 and r.json["metadata"]["generation"] == 2
      and "f:replicas" not in m[("kubectl", "Update")]["fieldsV1"].get("f:spec", {})
      and ("editor", "Update") not in m,
      "force takes both; the editor's only field is gone, so is its entry", sorted(m))

# ---- list-map merging: containers by name, env by name, ports by containerPort+protocol
app = deployment("mixed", replicas=1)
app["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "A", "value": "1"}]
fake.apply(DEP + "/mixed", app, manager="fedbroker")
side = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "mixed"},
        "spec": {"template": {"spec": {"containers": [
            {"name": "mixed", "env": [{"name": "B", "value": "2"}], "ports": [{"containerPort": 9000}]},
            {"name": "proxy", "image": "envoyproxy/envoy:v1.31.0"}]}}}}
r = fake.apply(DEP + "/mixed", side, manager="mesh")
check(r.status == 200, "a second applier adds an env entry, a port and a container", r)
cs = {c["name"]: c for c in r.json["spec"]["template"]["spec"]["containers"]}
check(sorted(cs) == ["mixed", "proxy"] and [e["name"] for e in cs["mixed"]["env"]] == ["A", "B"]
      and [p["containerPort"] for p in cs["mixed"]["ports"]] == [8080, 9000],
      "containers, env and ports merged by their keys", cs.get("mixed"))
mesh = managed(r.json)[("mesh", "Apply")]["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
check('k:{"name":"proxy"}' in mesh and 'k:{"containerPort":9000,"protocol":"TCP"}' in
      mesh['k:{"name":"mixed"}']["f:ports"] and 'k:{"name":"B"}' in mesh['k:{"name":"mixed"}']["f:env"],
      "FieldsV1 keys: name, and containerPort with the defaulted protocol", mesh)
r = fake.apply(DEP + "/mixed", app, manager="fedbroker")
cs = {c["name"]: c for c in r.json["spec"]["template"]["spec"]["containers"]}
check("proxy" in cs and [e["name"] for e in cs["mixed"]["env"]] == ["A", "B"],
      "re-applying the first config keeps what the other applier owns")

# ---- dryRun, status, generation, omitted fields get defaults back
# (the rollout's status writes move the resourceVersion: let it settle
# first: the status of this generation, every replica available; on a
# busy machine the controller may still write between the two reads, so
# the comparison is tried again, as put_edited does: a dry run that
# stored something would differ every time)
fake.wait_for(DEP + "/mixed", lambda o: (o.get("status") or {}).get("observedGeneration") ==
              o["metadata"].get("generation") and (o.get("status") or {}).get("availableReplicas") == 1,
              timeout=5)
dry = copy.deepcopy(app)
dry["spec"]["replicas"] = 9
for _ in range(5):
    before = fake.get(DEP + "/mixed").json
    r = fake.apply(DEP + "/mixed", dry, manager="fedbroker", dry=True)
    after = fake.get(DEP + "/mixed").json
    if after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]:
        break
    time.sleep(0.2)
check(r.status == 200 and r.json["spec"]["replicas"] == 9 and after["spec"] == before["spec"]
      and after["metadata"]["generation"] == before["metadata"]["generation"]
      and after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"],
      "dryRun=All answers the result and stores nothing",
      (before["metadata"]["resourceVersion"], after["metadata"]["resourceVersion"]))
st = copy.deepcopy(app)
st["status"] = {"replicas": 99, "availableReplicas": 99}
r = fake.apply(DEP + "/mixed", st, manager="fedbroker")
m = managed(r.json)[("fedbroker", "Apply")]
check(r.status == 200 and (r.json.get("status") or {}).get("replicas") != 99 and "f:status" not in m["fieldsV1"],
      "status in an applied config is ignored", r.json.get("status"))
r = put_edited(DEP + "/mixed", lambda o: o.__setitem__("status", {"replicas": 42}), "putter")
check(r.status == 200 and (r.json.get("status") or {}).get("replicas") != 42, "status in a PUT is ignored",
      r.json.get("status"))
gen = r.json["metadata"]["generation"]
lab = copy.deepcopy(app)
lab["metadata"]["labels"]["color"] = "blue"
r = fake.apply(DEP + "/mixed", lab, manager="fedbroker")
check(r.json["metadata"]["generation"] == gen, "a label change leaves generation alone")
nrep = copy.deepcopy(lab)
del nrep["spec"]["replicas"]
r = fake.apply(DEP + "/mixed", nrep, manager="fedbroker")
check(r.json["spec"]["replicas"] == 1 and "f:replicas" not in managed(r.json)[("fedbroker", "Apply")]["fieldsV1"]["f:spec"],
      "replicas left out by its only owner falls back to the default 1")
r = fake.apply(DEP + "/mixed", dict(lab, metadata=dict(lab["metadata"], resourceVersion="1")), manager="fedbroker")
check(r.status == 409 and "the object has been modified" in r.message, "a stale resourceVersion in the config: 409")

# ---- Update managers named by fieldManager or the User-Agent; merge patch
r = fake.request("PATCH", DEP + "/mixed", json.dumps({"spec": {"minReadySeconds": 5}}),
                 ctype="application/merge-patch+json", headers={"User-Agent": "fedbroker/0.9 (linux)"})
m = managed(r.json)
check(r.status == 200 and ("fedbroker", "Update") in m and m[("fedbroker", "Update")]["fieldsV1"] ==
      {"f:spec": {"f:minReadySeconds": {}}}, "a merge patch without fieldManager: Update by the User-Agent's product", m)
r = fake.request("PATCH", DEP + "/mixed", json.dumps([{"op": "replace", "path": "/spec/minReadySeconds", "value": 7}]),
                 ctype="application/json-patch+json", query={"fieldManager": "jp"})
check(r.status == 200 and r.json["spec"]["minReadySeconds"] == 7 and ("jp", "Update") in managed(r.json)
      and ("fedbroker", "Update") not in managed(r.json), "a JSON patch takes the field from the earlier Update manager")
r = fake.request("PATCH", DEP + "/mixed", json.dumps([{"op": "test", "path": "/spec/minReadySeconds", "value": 1}]),
                 ctype="application/json-patch+json")
check(r.status == 422, "a failing JSON patch test op is refused", r)
done()
