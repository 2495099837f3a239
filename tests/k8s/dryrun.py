#!/usr/bin/python3
"""`fedbroker apply SPEC --target k8s --dry-run --format json` prints the
exact requests (server-side apply PATCHes) with the bearer token redacted,
sends nothing and records nothing; each body is valid against the
Kubernetes OpenAPI definitions (tests/reference/kubernetes, checked by
python3-jsonschema, unknown fields refused); the real apply then sends the
same requests, byte for byte (URL, content type, body)."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import k8sdrv  # noqa: E402
from k8sdrv import Checker, Env, Fake  # noqa: E402

k8sdrv.skip_unless_built()
try:
    import jsonschema  # noqa: F401
except ImportError:
    print("SKIP: python3-jsonschema is needed")
    sys.exit(77)
ck = Checker("k8s dry run")
fake = Fake("--rollout-delay-ms", "50")
TOKEN = "dry-run-bearer-0123456789abcdef"
fake.ctl("POST", "tokens", {"token": TOKEN, "user": "carol"})
env = Env(fake.kubeconfig("kc-token", token=TOKEN), resourceQuota={"pods": "10"})
spec = env.write("web.yaml", """apiVersion: fedbroker.dev/v1
kind: Container
metadata: {name: web, tenant: shop, labels: {team: storefront}}
spec:
  image: nginx:1.27
  ports: [{port: 8080, protocol: http, public: true}]
  env: {MODE: live}
  resources: {cpu: 500m, memory: 256Mi}
  scaling: {minInstances: 1, maxInstances: 4, targetRequestsPerSecond: 50}
  healthCheck: {path: /healthz, port: 8080}
""")
seq = fake.last_seq()
rc, out, err = env.run("apply", spec, "--target", "k8s", "--dry-run", "--format", "json")
ck.ok(rc == 0, "dry run exits 0", err)
reqs = json.loads(out or "[]")
ck.ok(fake.log(seq) == [], "nothing sent to the cluster", fake.log(seq)[:3])
ck.ok(not env.db("SELECT * FROM resources"), "nothing recorded")
ck.ok(TOKEN not in out + err, "the bearer token appears nowhere")
ck.ok(reqs and all(r["headers"].get("Authorization") == "REDACTED" for r in reqs), "Authorization: REDACTED",
      [r["headers"] for r in reqs])
ck.ok(all(r["method"] == "PATCH" and r["headers"].get("Content-Type") == "application/apply-patch+yaml" and
          r["url"].startswith(fake.url + "/") and r["url"].endswith("?fieldManager=fedbroker") for r in reqs),
      "server-side apply PATCHes to the kubeconfig's server", [(r["method"], r["url"]) for r in reqs])
paths = [r["url"][len(fake.url):].split("?")[0] for r in reqs]
ck.ok(paths == ["/api/v1/namespaces/fb-shop", "/api/v1/namespaces/fb-shop/resourcequotas/fb-quota",
                "/apis/networking.k8s.io/v1/namespaces/fb-shop/networkpolicies/fb-tenant-isolation",
                "/api/v1/namespaces/fb-shop/serviceaccounts/web", "/apis/apps/v1/namespaces/fb-shop/deployments/web",
                "/api/v1/namespaces/fb-shop/services/web", "/api/v1/namespaces/fb-shop/services/web-public",
                "/apis/autoscaling/v2/namespaces/fb-shop/horizontalpodautoscalers/web"], "the requests, in order", paths)
DEFS = {"Namespace": "io.k8s.api.core.v1.Namespace", "ResourceQuota": "io.k8s.api.core.v1.ResourceQuota",
        "NetworkPolicy": "io.k8s.api.networking.v1.NetworkPolicy", "ServiceAccount": "io.k8s.api.core.v1.ServiceAccount",
        "Deployment": "io.k8s.api.apps.v1.Deployment", "Service": "io.k8s.api.core.v1.Service",
        "HorizontalPodAutoscaler": "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler"}
for r in reqs:
    body = json.loads(r["body"])
    errs = k8sdrv.k8stest.schema_errors(body, DEFS[body["kind"]])
    ck.ok(not errs, "%s %s is valid against the OpenAPI definition" % (body["kind"], body["metadata"]["name"]), errs)

# A dry run's output is the same on every run: which workload's requests
# carry a tenant's first objects must not depend on the lanes' timing
# (it did when the dry run fanned out: the first lane to reach the tenant
# carried them). 96 workloads in 3 tenants, interleaved, 48 lanes.
many = "".join("---\napiVersion: fedbroker.dev/v1\nkind: Container\n"
               "metadata: {name: app-%02d, tenant: t%d}\nspec:\n  image: nginx:1.27\n"
               "  ports: [{port: 8080, protocol: http}]\n" % (i, i % 3) for i in range(96))
many_spec = env.write("many.yaml", many)
outs = []
for _ in range(25):
    rc, out, err = env.run("apply", many_spec, "--target", "k8s", "--dry-run", "--format", "json",
                           "--parallelism", "48")
    ck.ok(rc == 0, "dry run of 96 workloads", err)
    outs.append(out)
ck.ok(all(o == outs[0] for o in outs), "25 dry runs print the same requests",
      [len(o) for o in outs])
mpaths = [r["url"][len(fake.url):].split("?")[0] for r in json.loads(outs[0] or "[]")]
ns_at = [mpaths.index("/api/v1/namespaces/fb-t%d" % t) if "/api/v1/namespaces/fb-t%d" % t in mpaths else -1
         for t in range(3)]
first_sa = [mpaths.index("/api/v1/namespaces/fb-t%d/serviceaccounts/app-%02d" % (t, t)) if
            "/api/v1/namespaces/fb-t%d/serviceaccounts/app-%02d" % (t, t) in mpaths else -1 for t in range(3)]
ck.ok(all(0 <= n < a for n, a in zip(ns_at, first_sa)) and ns_at == sorted(ns_at) and
      all(mpaths.count("/api/v1/namespaces/fb-t%d" % t) == 1 for t in range(3)),
      "each tenant's namespace once, with its first workload (in file order)", (ns_at, first_sa))

seq = fake.last_seq()
rc, out, err = env.run("apply", spec, "--target", "k8s")
ck.ok(rc == 0, "the real apply", err)
sent = [e for e in fake.log(seq) if e["method"] == "PATCH"]
# a workload's Deployment, Services and HPA go out together (host->http_many),
# so the server sees them in any order: the dry run's order up to the
# account, the rest as a set
ck.ok([(e["path"], e["content_type"]) for e in sent[:4]] == [(p, "application/apply-patch+yaml") for p in paths[:4]]
      and sorted((e["path"], e["content_type"]) for e in sent[4:]) ==
      sorted((p, "application/apply-patch+yaml") for p in paths[4:]),
      "the real apply sends the same PATCHes", [(e["path"], e["content_type"]) for e in sent])
by_path = {e["path"]: e for e in sent}
same = all(p in by_path and (json.loads(by_path[p]["body"]) if isinstance(by_path[p]["body"], str)
                             else by_path[p]["body"]) == json.loads(r["body"])
           for p, r in zip(paths, reqs))
ck.ok(same and len(sent) == len(reqs), "with the same bodies")
rc, out, err = env.run("destroy", "--all")
ck.ok(rc == 0, "destroy", err)
fake.close()
env.close()
ck.done()
