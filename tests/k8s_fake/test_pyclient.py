#!/usr/bin/python3
"""Debian's python3-kubernetes client (a second client we did not write)
against the fake: typed CoreV1/AppsV1 calls with a client certificate and
with a token, label selectors (equality, !=, in, notin, exists, !exists),
field selector metadata.name, resourceVersions, paging with limit and
continue, replace with a stale resourceVersion (409), strategic merge patch,
the watch stream, the dynamic client (legacy discovery) with server-side
apply, and delete. Skipped when python3-kubernetes is missing."""
import json
import threading
import time

from k8stest import Fake, check, done, skip

try:
    from kubernetes import client, dynamic, watch
except ImportError:
    skip("python3-kubernetes is not installed (apt-get install python3-kubernetes)")

fake = Fake()


def api_client(user="alice", token=None):
    cfg = client.Configuration()
    cfg.host = fake.url
    cfg.ssl_ca_cert = fake.pki + "/ca.crt"
    if token:
        cfg.api_key = {"authorization": "Bearer " + token}
    else:
        cfg.cert_file = "%s/%s.crt" % (fake.pki, user)
        cfg.key_file = "%s/%s.key" % (fake.pki, user)
    return client.ApiClient(cfg)


ac = api_client()
core = client.CoreV1Api(ac)
apps = client.AppsV1Api(ac)
NS = "py-tenant"


def dep(name, labels, replicas=1):
    sel = {"app": name}
    return client.V1Deployment(
        api_version="apps/v1", kind="Deployment",
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1DeploymentSpec(
            replicas=replicas, selector=client.V1LabelSelector(match_labels=sel),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=sel),
                spec=client.V1PodSpec(containers=[client.V1Container(name="main", image="busybox:1.36")]))))


ns = core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS, labels={"tenant": "py"})))
check(ns.metadata.uid and ns.metadata.labels.get("kubernetes.io/metadata.name") == NS and ns.status.phase == "Active",
      "create_namespace: uid, the metadata.name label, phase Active")
rvs = []
specs = [("api", {"tier": "web", "app.kubernetes.io/managed-by": "fedbroker"}),
         ("db", {"tier": "data", "app.kubernetes.io/managed-by": "fedbroker"}),
         ("cache", {"tier": "data"}),
         ("legacy", {"tier": "web", "owner": "ops"})]
for name, labels in specs:
    d = apps.create_namespaced_deployment(NS, dep(name, labels))
    rvs.append(int(d.metadata.resource_version))
check(rvs == sorted(rvs) and len(set(rvs)) == 4, "each create gets a new, larger resourceVersion", rvs)
d = apps.read_namespaced_deployment("api", NS)
check(d.metadata.generation == 1 and d.spec.strategy.type == "RollingUpdate" and d.spec.replicas == 1
      and d.spec.template.spec.containers[0].image_pull_policy == "IfNotPresent",
      "read_namespaced_deployment: generation 1 and the API server's defaults")
check(d.metadata.managed_fields[0].manager == "OpenAPI-Generator" and d.metadata.managed_fields[0].operation == "Update",
      "a create without fieldManager is an Update by the User-Agent's product", d.metadata.managed_fields[0])


def names(**kw):
    return sorted(x.metadata.name for x in apps.list_namespaced_deployment(NS, **kw).items)


for sel, want in [("tier=web", ["api", "legacy"]),
                  ("tier==data", ["cache", "db"]),
                  ("tier!=web", ["cache", "db"]),
                  ("tier in (web,data),app.kubernetes.io/managed-by=fedbroker", ["api", "db"]),
                  ("tier notin (web)", ["cache", "db"]),
                  ("owner", ["legacy"]),
                  ("!app.kubernetes.io/managed-by", ["cache", "legacy"]),
                  ("tier=web,!owner", ["api"])]:
    got = names(label_selector=sel)
    check(got == want, "labelSelector %s" % sel, got)
check(names(field_selector="metadata.name=db") == ["db"], "fieldSelector metadata.name=db")
check(names(field_selector="metadata.name!=db") == ["api", "cache", "legacy"], "fieldSelector metadata.name!=db")
try:
    apps.list_namespaced_deployment(NS, label_selector="tier in (web")
    check(False, "a malformed labelSelector is refused")
except client.exceptions.ApiException as e:
    check(e.status == 400, "a malformed labelSelector is refused (400)", e.body)
try:
    apps.list_namespaced_deployment(NS, field_selector="spec.replicas=1")
    check(False, "an unsupported field selector is refused")
except client.exceptions.ApiException as e:
    check(e.status == 400 and "field label not supported: spec.replicas" in e.body,
          "an unsupported field selector is refused (400)", e.body)

page1 = apps.list_namespaced_deployment(NS, limit=3)
page2 = apps.list_namespaced_deployment(NS, limit=3, _continue=page1.metadata._continue)
check(len(page1.items) == 3 and page1.metadata.remaining_item_count == 1 and len(page2.items) == 1
      and not page2.metadata._continue,
      "limit and continue page through the list", (len(page1.items), page1.metadata.remaining_item_count))
lst = apps.list_namespaced_deployment(NS)
check(int(lst.metadata.resource_version) >= max(rvs), "a list carries the current resourceVersion")

# replace with a stale resourceVersion: 409 Conflict. The rollout's status
# writes change the resourceVersion too: let it finish first (on a loaded
# machine it can land between the read and the replace).
end = time.time() + 30
while (apps.read_namespaced_deployment("api", NS).status.available_replicas or 0) < 1 and time.time() < end:
    time.sleep(0.05)
stale = apps.read_namespaced_deployment("api", NS)
fresh = apps.read_namespaced_deployment("api", NS)
fresh.spec.replicas = 3
updated = apps.replace_namespaced_deployment("api", NS, fresh)
check(updated.metadata.generation == 2 and updated.spec.replicas == 3, "replace bumps generation")
stale.spec.replicas = 5
try:
    apps.replace_namespaced_deployment("api", NS, stale)
    check(False, "replace with a stale resourceVersion is refused")
except client.exceptions.ApiException as e:
    check(e.status == 409 and "the object has been modified" in e.body and '"reason":"Conflict"' in e.body,
          "replace with a stale resourceVersion: 409 Conflict", e.body)
try:
    apps.create_namespaced_deployment(NS, dep("api", {"tier": "web"}))
    check(False, "create of an existing name is refused")
except client.exceptions.ApiException as e:
    check(e.status == 409 and 'deployments.apps \\"api\\" already exists' in e.body, "create twice: 409 AlreadyExists",
          e.body)

# strategic merge patch: containers merge by name
patched = apps.patch_namespaced_deployment("api", NS, {"spec": {"template": {"spec": {"containers": [
    {"name": "main", "env": [{"name": "MODE", "value": "blue"}]},
    {"name": "sidecar", "image": "envoyproxy/envoy:v1.31.0"}]}}}})
cs = {c.name: c for c in patched.spec.template.spec.containers}
check(sorted(cs) == ["main", "sidecar"] and cs["main"].image == "busybox:1.36" and cs["main"].env[0].value == "blue",
      "strategic merge patch merges containers by name", sorted(cs))

# the watch stream
events = []


def watcher():
    w = watch.Watch()
    for ev in w.stream(apps.list_namespaced_deployment, NS, label_selector="tier=data", timeout_seconds=5):
        events.append((ev["type"], ev["object"].metadata.name))
        if ev["type"] == "DELETED":
            w.stop()


t = threading.Thread(target=watcher)
t.start()
time.sleep(0.5)
apps.patch_namespaced_deployment("cache", NS, {"metadata": {"labels": {"color": "red"}}})
apps.delete_namespaced_deployment("cache", NS)
t.join(10)
check(("ADDED", "cache") in events and ("ADDED", "db") in events and ("MODIFIED", "cache") in events
      and ("DELETED", "cache") in events and ("ADDED", "api") not in events,
      "watch: ADDED for the current objects, then MODIFIED and DELETED, label selector applied", events)

# the dynamic client: legacy discovery (/api, /apis, /apis/g/v), then SSA
dyn = dynamic.DynamicClient(ac)
res = dyn.resources.get(api_version="apps/v1", kind="Deployment")
check(res.namespaced and res.name == "deployments" and "patch" in res.verbs, "dynamic client discovers Deployment")
hpa_res = dyn.resources.get(api_version="autoscaling/v2", kind="HorizontalPodAutoscaler")
check(hpa_res.short_names == ["hpa"], "dynamic client discovers the HPA with its short name")
body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "ssa", "namespace": NS,
                                                                    "labels": {"app.kubernetes.io/managed-by": "fedbroker"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "ssa"}},
                 "template": {"metadata": {"labels": {"app": "ssa"}},
                              "spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]}}}}
out = dyn.server_side_apply(res, body=json.dumps(body), name="ssa", namespace=NS, field_manager="fedbroker")
mf = out.metadata.managedFields
check(out.spec.replicas == 2 and mf[0]["manager"] == "fedbroker" and mf[0]["operation"] == "Apply",
      "dynamic server_side_apply creates with an Apply entry", mf)

# token authentication with the typed client
fake.ctl("POST", "tokens", {"token": "py-token-0003", "user": "robot", "groups": ["ci"]})
tc = client.CoreV1Api(api_client(token="py-token-0003"))
check([n.metadata.name for n in tc.list_namespace(label_selector="tenant=py").items] == [NS],
      "list_namespace with a bearer token")

# delete and 404
apps.delete_namespaced_deployment("legacy", NS)
try:
    apps.read_namespaced_deployment("legacy", NS)
    check(False, "a deleted deployment is gone")
except client.exceptions.ApiException as e:
    check(e.status == 404, "a deleted deployment is gone (404)")
try:
    apps.delete_namespaced_deployment("legacy", NS)
    check(False, "deleting twice is 404")
except client.exceptions.ApiException as e:
    check(e.status == 404 and '"reason":"NotFound"' in e.body, "deleting twice: 404 NotFound", e.body)
core.delete_namespace(NS)
end = time.time() + 10
while time.time() < end:
    try:
        core.read_namespace(NS)
        time.sleep(0.05)
    except client.exceptions.ApiException:
        break
check(not any(o["metadata"].get("namespace") == NS for o in fake.objects()),
      "deleting the namespace removed everything in it")
done()
