#!/usr/bin/python3
"""kubectl (a client we did not write) against the fake Kubernetes API server:
server-side apply of a Deployment+Service+HPA read back with `kubectl get -o
json`, rollout status and wait (watch), an SSA conflict between two field
managers and --force-conflicts, validation errors as kubectl shows them,
bearer tokens (and their expiry), TLS and credential refusals, delete and
namespace deletion, and api-resources following the Knative and
autoscaling/v2 switches. Skipped when kubectl is not installed."""
import json
import os
import time

import yaml

from k8stest import (Fake, check, deployment, done, hpa, kubectl, kubectl_version, ksvc, ns_obj, service,
                     skip, tmpdir, KUBECTL)

if not KUBECTL:
    skip("kubectl is not installed (Debian: apt-get install kubernetes-client); the fake's protocol is "
         "still checked by test_pyclient.py and the other tests")
VER = kubectl_version()
print("kubectl %s at %s" % (".".join(map(str, VER or ("?",))), KUBECTL))
# kubectl before 1.26 validates client-side with the protobuf OpenAPI v2,
# which the fake does not serve (it serves JSON v2 and v3)
VALIDATE = [] if VER and VER >= (1, 26) else ["--validate=false"]
# kubectl 1.21+ hides managedFields unless asked; 1.20 has no such flag
SHOW_MF = ["--show-managed-fields"] if VER and VER >= (1, 21) else []

fake = Fake()
kc = fake.kubeconfig("admin.kubeconfig")
NS = "fb-acme"


def manifest(*objs, ns=None):
    docs = []
    for o in objs:
        o = json.loads(json.dumps(o))
        if ns and o["kind"] != "Namespace":
            o["metadata"]["namespace"] = ns
        docs.append(o)
    return yaml.safe_dump_all(docs, sort_keys=False)


def subset(sent, got, path=""):
    """Every field that was sent is in what was read back, with the same value
    (lists item by item). Returns the first difference or None."""
    if isinstance(sent, dict):
        if not isinstance(got, dict):
            return "%s: sent an object, read back %r" % (path, got)
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


# ---- server-side apply of Deployment + Service + HPA, read back with kubectl get
dep = deployment("web", replicas=2)
dep["spec"]["template"]["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "250m", "memory": "128Mi"},
                                                                 "limits": {"cpu": "1", "memory": "256Mi"}}
dep["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "MODE", "value": "prod"}]
sent = [dep, service("web"), hpa("web", 2, 6)]
rc, out, err = kubectl(kc, "apply", "--server-side", "-f", "-", *VALIDATE, stdin=manifest(ns_obj(NS), *sent, ns=NS))
check(rc == 0 and "deployment.apps/web serverside-applied" in out and "service/web serverside-applied" in out
      and "horizontalpodautoscaler.autoscaling/web serverside-applied" in out,
      "kubectl apply --server-side creates namespace, deployment, service, hpa", out + err)
log = fake.log()
patches = [e for e in log if e["method"] == "PATCH"]
check(len(patches) == 4 and all(e["content_type"] == "application/apply-patch+yaml" and
                                e["query"].get("fieldManager") == "kubectl" for e in patches),
      "kubectl sent four apply patches with fieldManager=kubectl", [(e["path"], e["query"]) for e in patches])
if VER and VER >= (1, 26):
    check(any(e["path"].startswith("/openapi/v3") for e in log) and
          all(e["query"].get("fieldValidation") == "Strict" for e in patches),
          "kubectl read /openapi/v3 and asked for fieldValidation=Strict", [(e["path"], e["query"]) for e in log])
    check(any("apidiscovery.k8s.io" in (e.get("accept") or "") and e["status"] == 200 for e in log),
          "kubectl used aggregated discovery")

rc, out, err = kubectl(kc, "get", "deploy,svc,hpa", "-n", NS, "-o", "json", *SHOW_MF)
check(rc == 0, "kubectl get deploy,svc,hpa -o json", err)
got = json.loads(out) if rc == 0 else {"items": []}
by_kind = {i["kind"]: i for i in got.get("items", [])}
check(sorted(by_kind) == ["Deployment", "HorizontalPodAutoscaler", "Service"], "three objects read back",
      sorted(by_kind))
for s in sent:
    g = by_kind.get(s["kind"], {})
    diff = subset({k: v for k, v in s.items() if k != "metadata"}, g)
    check(diff is None, "%s read back as sent" % s["kind"], diff)
    mf = (g.get("metadata") or {}).get("managedFields") or []
    check(any(m["manager"] == "kubectl" and m["operation"] == "Apply" for m in mf),
          "%s has an Apply managedFields entry for kubectl" % s["kind"], mf)
svc = by_kind.get("Service", {})
check(svc.get("spec", {}).get("clusterIP", "").startswith("10.96.") and
      svc["spec"]["ports"][0].get("protocol") == "TCP", "the Service got a cluster IP and defaults",
      svc.get("spec"))
state = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in fake.objects()}
check(state.get(("Deployment", NS, "web"), {}).get("spec") == by_kind.get("Deployment", {}).get("spec"),
      "kubectl's view equals the fake's stored object")

rc, out, err = kubectl(kc, "rollout", "status", "deployment/web", "-n", NS, "--timeout=20s")
check(rc == 0 and "successfully rolled out" in out, "kubectl rollout status (watch) sees the rollout finish",
      out + err)
rc, out, err = kubectl(kc, "get", "deploy", "web", "-n", NS, "-o",
                       "jsonpath={.status.availableReplicas} {.status.observedGeneration}")
check(rc == 0 and out == "2 1", "status: 2 available, observedGeneration 1", out + err)
rc, out, err = kubectl(kc, "get", "endpointslices", "-n", NS, "-l", "kubernetes.io/service-name=web", "-o", "json")
eps = json.loads(out)["items"] if rc == 0 else []
check(len(eps) == 1 and len(eps[0].get("endpoints") or []) == 2 and eps[0]["ports"][0]["port"] == 8080,
      "an EndpointSlice with two endpoints on the target port", eps)

# ---- validation errors as kubectl reports them
bad = deployment("typo")
bad["spec"]["replicass"] = 3
rc, out, err = kubectl(kc, "apply", "--server-side", "-f", "-", stdin=manifest(bad, ns=NS))
check(rc != 0 and ".spec.replicass: field not declared in schema" in err,
      "kubectl apply --server-side: unknown field refused", err)
rc, out, err = kubectl(kc, "create", "-f", "-", *VALIDATE, stdin=manifest(bad, ns=NS))
check(rc != 0 and 'unknown field "spec.replicass"' in err, "kubectl create: unknown field refused", err)
bad = deployment("badlabel", labels={"app": "wave_2_"})
rc, out, err = kubectl(kc, "apply", "--server-side", "-f", "-", stdin=manifest(bad, ns=NS))
check(rc != 0 and 'Deployment "badlabel" is invalid' in err and 'metadata.labels: Invalid value: "wave_2_"' in err,
      "kubectl apply: a label value ending in _ refused (422)", err)

# ---- an SSA conflict between two field managers, then --force-conflicts
cfl = deployment("shared", replicas=2)
rc, out, err = kubectl(kc, "apply", "--server-side", "--field-manager=a", "-f", "-", stdin=manifest(cfl, ns=NS))
check(rc == 0, "manager a applies replicas=2", err)
cfl3 = json.loads(json.dumps(cfl))
cfl3["spec"]["replicas"] = 3
rc, out, err = kubectl(kc, "apply", "--server-side", "--field-manager=b", "-f", "-", stdin=manifest(cfl3, ns=NS))
check(rc != 0 and 'Apply failed with 1 conflict: conflict with "a": .spec.replicas' in err
      and "--force-conflicts" in err, "manager b gets kubectl's conflict error naming manager a", err)
rc, out, err = kubectl(kc, "get", "deploy", "shared", "-n", NS, "-o", "jsonpath={.spec.replicas}")
check(out == "2", "the conflict changed nothing", out)
rc, out, err = kubectl(kc, "apply", "--server-side", "--field-manager=b", "--force-conflicts", "-f", "-",
                       stdin=manifest(cfl3, ns=NS))
check(rc == 0, "--force-conflicts wins", err)
rc, out, err = kubectl(kc, "get", "deploy", "shared", "-n", NS, "-o", "json", *SHOW_MF)
obj = json.loads(out) if rc == 0 else {}
mf = {m["manager"]: m for m in obj.get("metadata", {}).get("managedFields", []) if m["operation"] == "Apply"}
check(obj.get("spec", {}).get("replicas") == 3 and "f:replicas" in mf.get("b", {}).get("fieldsV1", {}).get("f:spec", {})
      and "f:replicas" not in mf.get("a", {}).get("fieldsV1", {}).get("f:spec", {}),
      "replicas is 3 and owned by b alone", mf)

# ---- bearer tokens: accepted, and refused once expired
fake.ctl("POST", "tokens", {"token": "tok-carol-0001", "user": "carol", "groups": ["dev"], "expires_in": 120})
kt = fake.kubeconfig("token.kubeconfig", user=None, token="tok-carol-0001")
seq = fake.last_seq()
rc, out, err = kubectl(kt, "get", "deploy", "-n", NS, "-o", "name")
check(rc == 0 and "deployment.apps/web" in out, "kubectl get with a bearer token", out + err)
check(any(e.get("user") == "carol" and e.get("auth") == "token" for e in fake.log(seq)),
      "the fake saw user carol authenticated by token")
fake.ctl("POST", "tokens", {"token": "tok-short-0002", "user": "dave", "expires_in": 0.3})
time.sleep(0.5)
ks = fake.kubeconfig("expired.kubeconfig", user=None, token="tok-short-0002")
rc, out, err = kubectl(ks, "get", "deploy", "-n", NS)
check(rc != 0 and "You must be logged in to the server" in err, "an expired token is refused (401)", err)
check(any(e.get("status") == 401 and e.get("auth_error") == "expired token" for e in fake.log(seq)),
      "the fake answered 401 for the expired token")

# an exec credential plugin (client.authentication.k8s.io/v1) handing out a
# token with an expirationTimestamp, as cloud plugins do
# (kubectl before 1.22 knows only v1beta1)
EXEC_API = "client.authentication.k8s.io/v1" if VER and VER >= (1, 22) else "client.authentication.k8s.io/v1beta1"
plugin = os.path.join(tmpdir(), "cred-plugin.sh")
with open(plugin, "w") as f:
    f.write("#!/bin/sh\ncat <<'EOF'\n" + json.dumps({
        "apiVersion": EXEC_API, "kind": "ExecCredential",
        "status": {"token": "tok-exec-0007", "expirationTimestamp": time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 60))}}) + "\nEOF\n")
os.chmod(plugin, 0o755)
fake.ctl("POST", "tokens", {"token": "tok-exec-0007", "user": "plugin-user", "expires_in": 60})
exec_cfg = {"apiVersion": EXEC_API, "command": plugin}
if EXEC_API.endswith("/v1"):
    exec_cfg["interactiveMode"] = "Never"
ke = fake.kubeconfig("exec.kubeconfig", user=None, exec_cfg=exec_cfg)
seq = fake.last_seq()
rc, out, err = kubectl(ke, "get", "ns", NS, "-o", "name")
check(rc == 0 and out.strip() == "namespace/%s" % NS and
      any(e.get("user") == "plugin-user" for e in fake.log(seq)), "kubectl with an exec credential plugin", out + err)

# ---- TLS and credentials refused
kw = fake.kubeconfig("wrongca.kubeconfig", ca=os.path.join(fake.pki, "other-ca.crt"))
rc, out, err = kubectl(kw, "get", "ns")
check(rc != 0 and ("x509" in err or "certificate" in err), "a kubeconfig with the wrong CA: TLS refused", err)
n_tls = len(fake.ctl("GET", "state")["tls_errors"])
kx = fake.kubeconfig("stranger.kubeconfig", user="stranger")
rc, out, err = kubectl(kx, "get", "ns")
check(rc != 0 and ("tls" in err.lower() or "certificate" in err.lower()),
      "a client certificate from another CA: handshake refused", err)
check(len(fake.ctl("GET", "state")["tls_errors"]) > n_tls, "the fake recorded the refused handshake")
# kubectl prompts for a user name when a kubeconfig has no credentials at
# all, so it gets basic-auth ones, which kube-apiserver no longer accepts
# (test_behaviour.py sends a request with nothing)
kn = fake.kubeconfig("nocreds.kubeconfig", user=None)
with open(kn) as f:
    doc = yaml.safe_load(f)
doc["users"][0]["user"] = {"username": "nobody", "password": "not-a-token"}
with open(kn, "w") as f:
    yaml.safe_dump(doc, f)
seq = fake.last_seq()
rc, out, err = kubectl(kn, "get", "ns")
check(rc != 0 and "You must be logged in to the server" in err, "no client certificate and no token: 401", err)
check(any(e.get("status") == 401 for e in fake.log(seq)), "the fake answered 401")

# ---- delete, then namespace deletion
rc, out, err = kubectl(kc, "delete", "-f", "-", "--timeout=20s", stdin=manifest(*sent, ns=NS))
check(rc == 0 and 'deployment.apps "web" deleted' in out, "kubectl delete -f (waits for the objects to go)",
      out + err)
rc, out, err = kubectl(kc, "get", "deploy,svc,hpa", "-n", NS, "-o", "name")
check(rc == 0 and "web" not in out, "deleted objects are gone", out)
rc, out, err = kubectl(kc, "delete", "namespace", NS, "--timeout=20s")
check(rc == 0 and 'namespace "%s" deleted' % NS in out, "kubectl delete namespace waits until it is gone",
      out + err)
left = [o for o in fake.objects() if o["metadata"].get("namespace") == NS or o["metadata"]["name"] == NS]
check(not left, "nothing of the namespace is left", [(o["kind"], o["metadata"]["name"]) for o in left])

# ---- api-resources follows the Knative and autoscaling/v2 switches
rc, out, err = kubectl(kc, "api-resources")
check(rc == 0 and "serving.knative.dev" not in out and "autoscaling/v2" in out,
      "api-resources without Knative", out + err)
fake.ctl("POST", "knative", {"enabled": True})
rc, out, err = kubectl(kc, "api-resources", "--api-group=serving.knative.dev")
check(rc == 0 and "ksvc" in out and "serving.knative.dev/v1" in out, "api-resources with Knative", out + err)
fake.ctl("POST", "autoscaling", {"v2": False})
rc, out, err = kubectl(kc, "api-resources")
check(rc == 0 and "horizontalpodautoscalers" not in out, "api-resources without autoscaling/v2", out + err)
fake.ctl("POST", "autoscaling", {"v2": True})

# ---- Knative Service through kubectl: ready, and the webhook's refusal
rc, out, err = kubectl(kc, "apply", "--server-side", "-f", "-", *VALIDATE,
                       stdin=manifest(ns_obj("fb-fn"), ksvc("hello"), ns="fb-fn"))
check(rc == 0 and "service.serving.knative.dev/hello serverside-applied" in out, "kubectl applies a ksvc",
      out + err)
rc, out, err = kubectl(kc, "wait", "--for=condition=Ready", "ksvc/hello", "-n", "fb-fn", "--timeout=20s")
check(rc == 0 and "condition met" in out, "kubectl wait --for=condition=Ready ksvc/hello", out + err)
rc, out, err = kubectl(kc, "get", "ksvc", "hello", "-n", "fb-fn", "-o", "jsonpath={.status.url}")
check(out == "http://hello.fb-fn.example.com", "the ksvc has its URL", out)
rc, out, err = kubectl(kc, "apply", "--server-side", "-f", "-", *VALIDATE,
                       stdin=manifest(ksvc("grpc", port=9090), ns="fb-fn"))
check(rc != 0 and 'admission webhook "validation.webhook.serving.knative.dev" denied the request' in err
      and "9090 is a reserved port" in err, "a ksvc on port 9090 is refused by the webhook", err)

done()
