#!/usr/bin/python3
"""Identity and least privilege on Kubernetes (issue 15, item 4), against
tests/fakes/fake_k8s.py (over TLS; every object validated against the
Kubernetes OpenAPI in tests/reference, server-side apply).

With the broker as issuer, a federation of three Containers on the cluster
(web depends on api; other depends on nothing and nothing on it) deployed
with `apply --target k8s` (the planner cannot price a link inside an
on-prem cluster, see tests/k8s/federation.py): each workload runs as its own
ServiceAccount; the tenant's isolation policy admits only namespaces that
are no tenant's (ingress controllers), not the tenant's own namespace; one
NetworkPolicy, fb-api-from-web, selects api's pods and admits exactly web's
pods; nothing admits other's or web's pods to anything else. The policy is
a recorded resource; applying api alone keeps it (web was not among the
specs given), applying the federation without the dependency deletes it.
web names secret://db-password: apply copies the
broker's value into the Secret fedbroker.shop.web.db-password (key value),
web's pods read it natively (env valueFrom.secretKeyRef) and carry its
version in an annotation, so a new `secret put` and apply roll them; the
value (nor its base64) is in nothing fedbroker printed (debug log on) nor
in the state directory. destroy removes every object.

Environment (tests/local.mk): FEDBROKER, top_srcdir, FEDBROKER_DRIVER_PATH."""
import base64
import os
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "k8s"))
import k8sdrv  # noqa: E402
from k8sdrv import Checker, Env, Fake, ours  # noqa: E402
sys.path.insert(0, here)
import idtest  # noqa: E402

k8sdrv.skip_unless_built()
ck = Checker("identity k8s bindings")
kfake = Fake("--rollout-delay-ms", "50")
env = Env(kfake.kubeconfig("kc-admin"))
env.env["FEDBROKER_LOG"] = "debug"
PLANT, PLANT2 = "PLANTED-k8s-db-pass-77e1d0", "PLANTED-k8s-rotated-0b5c2a"
SECRET = "fedbroker.shop.web.db-password"
outputs = []
env.write_config(extra={"identity": {"trustDomain": "prod.example.com", "issuer": "https://oidc.example.com/fb"},
                        "catalog": {"params": {"local_metro": "new-york"}}})


container = idtest.k8s_container  # a Container placed on the cluster


fed = env.write_federation("shop.yaml", "shop", "shop", container("api"),
                           container("web", "        dependencies: [{workload: api}]\n"
                                            "        secrets: [{env: DB_PASSWORD, ref: \"secret://db-password\"}]\n"),
                           container("other"))


def run(*args, stdin=None):
    p = subprocess.run([k8sdrv.FEDBROKER, *args], env=env.env, capture_output=True, timeout=300,
                       input=stdin.encode() if stdin is not None else None)
    out, err = p.stdout.decode(), p.stderr.decode()
    outputs.append(out + err)
    return p.returncode, out, err


def obj(kind, name):
    for o in kfake.objects():
        md = o.get("metadata", {})
        if o.get("kind") == kind and md.get("name") == name:
            return o
    return None


try:
    rc, out, err = run("secret", "put", "db-password", "--tenant", "shop", stdin=PLANT)
    ck.ok(rc == 0, "secret put", err)
    rc, out, err = run("apply", fed, "--target", "k8s")
    ck.ok(rc == 0, "apply of three Containers on the cluster", (rc, out, err[-3000:]))

    for n in ("api", "web", "other"):
        dep = obj("Deployment", n)
        pod = (((dep or {}).get("spec") or {}).get("template") or {}).get("spec") or {}
        ck.ok(obj("ServiceAccount", n) and pod.get("serviceAccountName") == n,
              "%s runs as its own ServiceAccount" % n, pod.get("serviceAccountName"))
    iso = obj("NetworkPolicy", "fb-tenant-isolation")
    froms = [f for r in ((iso or {}).get("spec") or {}).get("ingress", []) for f in r.get("from", [])]
    ck.ok(iso and froms == [{"namespaceSelector": {"matchExpressions": [
        {"key": "fedbroker.dev/tenant", "operator": "DoesNotExist"}]}}],
        "the tenant's isolation policy admits only namespaces that are no tenant's", froms)
    pols = sorted(o["metadata"]["name"] for o in kfake.objects() if o.get("kind") == "NetworkPolicy")
    ck.ok(pols == ["fb-api-from-web", "fb-tenant-isolation"], "one policy per dependency, nothing else", pols)
    p = obj("NetworkPolicy", "fb-api-from-web") or {}
    spec = p.get("spec") or {}
    ck.ok(spec.get("podSelector") == {"matchLabels": {"app.kubernetes.io/name": "api", "fedbroker.dev/tenant": "shop"}}
          and spec.get("policyTypes") == ["Ingress"] and
          spec.get("ingress") == [{"from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "web",
                                                                              "fedbroker.dev/tenant": "shop"}}}]}],
          "fb-api-from-web selects api's pods and admits exactly web's", spec)
    dep = obj("Deployment", "web") or {}
    labels = (((dep.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}
    ck.ok(labels.get("app.kubernetes.io/name") == "web" and labels.get("fedbroker.dev/tenant") == "shop",
          "web's pods carry the labels the policy selects", labels)
    rc, out, err = run("identity", "show", "api", "--tenant", "shop", "--format", "json")
    shown = out if rc == 0 else ""
    ck.ok('"k8s:ServiceAccount"' in shown and "fb-api-from-web" in shown and "fb-tenant-isolation" not in shown,
          "identity show api lists its ServiceAccount and the policy admitting web", (rc, shown[:1200], err[-400:]))
    rows = env.db("SELECT cloud_id FROM resources WHERE type='k8s:NetworkPolicy'")
    ck.ok(("shop/fb-api-from-web",) in rows or any(r[0].endswith("/fb-api-from-web") for r in rows),
          "the policy is a recorded resource", rows)

    sec = obj("Secret", SECRET) or {}
    ck.ok(base64.b64decode((sec.get("data") or {}).get("value", "")).decode() == PLANT and
          (sec.get("metadata", {}).get("labels") or {}).get("app.kubernetes.io/managed-by") == "fedbroker",
          "the broker's value is copied into the Secret, key value", sec.get("metadata"))
    c0 = ((((obj("Deployment", "web") or {}).get("spec") or {}).get("template") or {}).get("spec") or {}).get(
        "containers", [{}])[0]
    ref = [e for e in c0.get("env", []) if e.get("name") == "DB_PASSWORD"]
    ck.ok(ref and ref[0].get("valueFrom", {}).get("secretKeyRef") == {"name": SECRET, "key": "value"},
          "web reads it natively (valueFrom.secretKeyRef)", ref)

    def versions():
        t = ((obj("Deployment", "web") or {}).get("spec") or {}).get("template") or {}
        return ((t.get("metadata") or {}).get("annotations") or {}).get("fedbroker.dev/secret-versions")
    v1 = versions()
    rc, out, err = run("secret", "put", "db-password", "--tenant", "shop", stdin=PLANT2)
    rc, out, err = run("status", "--format", "json")
    ck.ok("secret-versions" in out and "db-password=2" in out,
          "status reports web's pods reading an older version as drift", (rc, out[-1200:], err[-400:]))
    rc, out, err = run("apply", fed, "--target", "k8s")
    sec = obj("Secret", SECRET) or {}
    ck.ok(rc == 0 and base64.b64decode((sec.get("data") or {}).get("value", "")).decode() == PLANT2 and
          v1 == "db-password=1" and versions() == "db-password=2",
          "a new version updates the Secret and rolls web's pods (template annotation)", (rc, v1, versions(), err[-800:]))

    # api alone: web, not among the specs given, keeps its policy; the
    # federation without the dependency: the policy goes
    api_only = env.write_federation("api.yaml", "shop", "shop", container("api"))
    rc, out, err = run("apply", api_only, "--target", "k8s")
    ck.ok(rc == 0 and obj("NetworkPolicy", "fb-api-from-web"), "api applied alone keeps web's policy", (rc, err[-800:]))
    rc, out, err = run("status", "--format", "json")
    ck.ok(rc == 0, "status after it", err[-600:])
    nodep = env.write("nodep.yaml", open(fed).read().replace("        dependencies: [{workload: api}]\n", ""))
    rc, out, err = run("apply", nodep, "--target", "k8s")
    for _ in range(100):  # a Foreground delete finishes in the background
        if obj("NetworkPolicy", "fb-api-from-web") is None:
            break
        time.sleep(0.1)
    ck.ok(rc == 0 and obj("NetworkPolicy", "fb-api-from-web") is None,
          "once web no longer depends on api, its policy is deleted", (rc, err[-800:]))

    rc, out, err = run("destroy", "--all")
    ck.ok(rc == 0, "destroy --all", (rc, out, err[-1500:]))
    ck.ok(ours(kfake) == [], "no object of ours is left", ours(kfake))
    forms = [PLANT, PLANT2, base64.b64encode(PLANT.encode()).decode(), base64.b64encode(PLANT2.encode()).decode()]
    text = "\n".join(outputs)
    ck.ok(not any(f in text for f in forms), "no value (nor its base64) in anything fedbroker printed (debug log on)")
    leaked = env.files_holding(*forms)
    ck.ok(not leaked, "nor in any file of the state directory", leaked)
finally:
    kfake.close()
    env.close()
ck.done()
