#!/usr/bin/python3
"""Discovery fed by the drivers (issue 16): a workload `api` of tenant shop
deployed on three providers against their fakes (tests/fakes/fake_k8s.py
over TLS, fake_gcp.py, fake_aws.py), each by a broker home of its own; then
a fresh broker home (an empty store) configured for all three runs
`fedbroker discover --lease 30s` and the endpoints table is rebuilt from
what the providers report alone:

- aws: the Lambda function URL, gcp: the Cloud Run service uri (each what
  the fake holds), k8s: the
  Service's cluster DNS name (private) and one private row per pod address
  of its EndpointSlice (source k8s-endpointslice, instance ADDR:PORT, the
  addresses the fake's EndpointSlice holds); every resource discover prints
  matches schemas/driver/discover.output.schema.json (python3-jsonschema);
- the load balancers in front of them (public rows, added for issue 16):
  an ECS service deployed on fake_aws with ecs.targetGroupArn reports its
  Application Load Balancer's listeners (DescribeTargetGroups ->
  DescribeLoadBalancers -> DescribeListeners, each request validated by
  the fake against botocore 1.43.11's elbv2 model), https first, health
  from DescribeTargetHealth (all targets unhealthy: critical); the k8s
  NAME-public LoadBalancer Service its status.loadBalancer address x port,
  and a user's Ingress routing to the workload's Service its TLS host and
  path (https), another's host-less rule and default backend on its address
  (http), once the test, as a controller would, wrote their status (an
  Ingress without an address reports nothing);
- the EndpointSlice rows follow the fake's conditions: a pod failing
  readiness makes its row critical (resolve drops it, --all shows it), a
  terminating one still serving makes it warning, ready again passing;
- `resolve api --from frankfurt` orders the rows by the catalog's latency
  model (each RTT what `catalog rtt` says);
- the aws function removed at the provider: the next discover does not
  report it, so its row goes stale a lease after its last report and is
  removed a lease later (`health`, time moved with FEDBROKER_NOW), while the
  rows still reported stay;
- a malformed discover entry is not in the drivers here; the core's checks
  are exercised by `discover --lease 0s` (a usage error, exit 64)."""
import json
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("top_srcdir") or os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "k8s"))
sys.path.insert(0, os.path.join(TOP, "tests", "gcp"))
sys.path.insert(0, os.path.join(TOP, "tests", "aws"))
import k8sdrv  # noqa: E402
import gcptest  # noqa: E402
import awstest  # noqa: E402
from awstest import Checker  # noqa: E402

import jsonschema  # noqa: E402
import warnings  # noqa: E402

warnings.filterwarnings("ignore", category=DeprecationWarning)

k8sdrv.skip_unless_built()
gcptest.skip_unless_built()
ck = Checker("discovery: three providers")
kfake = k8sdrv.Fake("--rollout-delay-ms", "50")
afake = awstest.Fake()
gfake = gcptest.Fake(tempfile.mkdtemp(prefix="fb-gcp-fake-"))
homes = []


def home(drivers, aws_over=None):
    """A broker home (its own store) with these drivers configured."""
    e = k8sdrv.Env(kfake.kubeconfig("kc-%d" % len(homes)))
    cfg = {}
    if "k8s" in drivers:
        cfg["k8s"] = {"kubeconfig": e.kubeconfig}
    if "aws" in drivers:
        cfg["aws"] = awstest.settings(afake, **(aws_over or {}))
        cfg["aws"]["endpoints"]["elasticloadbalancing"] = afake.base
    if "gcp" in drivers:
        cfg["gcp"] = gcptest.settings(gfake)
    e.write_config(extra={"drivers": cfg, "catalog": {"params": {"local_metro": "new-york"}}})
    e.env.update({"AWS_ACCESS_KEY_ID": awstest.AK, "AWS_SECRET_ACCESS_KEY": awstest.SK,
                  "GOOGLE_APPLICATION_CREDENTIALS": gfake.key_file, "NO_GCE_CHECK": "true"})
    homes.append(e)
    return e


hk, ha, hg = home(["k8s"]), home(["aws"]), home(["gcp"])
# the user's Application Load Balancer in eu-west-1 (HTTPS 443 and HTTP 80
# listeners forwarding to an ip target group), made before deploying, and
# a home that deploys api there behind it (ecs.targetGroupArn)
alb = afake.call("POST", "/__fake/elb", {"region": "eu-west-1", "name": "shop-alb", "scheme": "internet-facing",
                                         "listeners": [{"port": 80, "protocol": "HTTP"},
                                                       {"port": 443, "protocol": "HTTPS"}],
                                         "targetGroup": {"name": "shop-api", "port": 8080}})
ECS = dict(awstest.settings(afake)["ecs"], targetGroupArn=alb["TargetGroupArn"])
he = home(["aws"], {"ecs": ECS})
CONTAINER = """apiVersion: fedbroker.dev/v1
kind: Container
metadata: {name: api, tenant: shop}
spec:
  image: %s
  ports: [{port: 8080, protocol: http, public: true}]
  resources: {cpu: 250m, memory: 256Mi}
  scaling: {minInstances: %d, maxInstances: %d}
"""
hk_spec = hk.write("api.yaml", CONTAINER % ("ghcr.io/shop/api:4", 3, 3))
hg_spec = hg.write("api.yaml", CONTAINER % ("europe-docker.pkg.dev/shop/apps/api:4", 1, 5))
he_spec = he.write("api.yaml", CONTAINER % ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/api:4", 2, 2))
ha.write("src/app.py", "def handler(event, context):\n    return {'statusCode': 200}\n")
ha_spec = ha.write("api.yaml", """apiVersion: fedbroker.dev/v1
kind: Function
metadata: {name: api, tenant: shop}
spec:
  runtime: python3.12
  handler: app.handler
  code: {path: %s}
  triggers: [{http: {path: /, public: true, methods: [GET]}}]
""" % ha.path("src"))

for h, target, spec in ((hk, "k8s:on-prem", hk_spec), (ha, "aws:us-east-1", ha_spec),
                        (hg, "gcp:" + gcptest.REGION, hg_spec), (he, "aws:eu-west-1", he_spec)):
    rc, out, err = h.run("apply", "--target", target, spec, "--yes")
    ck.ok(rc == 0 and h.db("SELECT provider FROM deployments") == [(target.split(":")[0],)],
          "apply api to %s (its own home)" % target, (rc, out[-800:], err[-2000:]))


# what the providers hold (the fakes' own answers): the function URL, the
# Cloud Run service's uri; the k8s Service's cluster DNS name is its name
lam = afake.state().get("lambda", {}).get("us-east-1|shop-api") or {}
want_url = {"aws": (lam.get("url") or {}).get("FunctionUrl"),
            "gcp": (gfake.services().get("api") or {}).get("uri"),
            "k8s": "api.fb-shop.svc.cluster.local"}
ck.ok(all(want_url.values()) and ".lambda-url.us-east-1.on.aws" in want_url["aws"],
      "the fakes hold the function URL and the Cloud Run uri", want_url)
applied = {p: h.db("SELECT url, source FROM endpoints WHERE workload='api' AND provider=?", p)
           for h, p in ((hk, "k8s"), (ha, "aws"), (hg, "gcp"))}
ck.ok(applied == {p: [(u, "apply")] for p, u in want_url.items()},
      "each deploying home's apply (--target) recorded that endpoint (source apply)", (applied, want_url))


def slice_endpoints():
    """(address:port, ready, serving, terminating) of api's EndpointSlice in the fake."""
    r = kfake.get("/apis/discovery.k8s.io/v1/namespaces/fb-shop/endpointslices",
                  query={"labelSelector": "kubernetes.io/service-name=api"})
    out = []
    for s in (r.json or {}).get("items", []):
        for p in s.get("ports") or []:
            for e in s.get("endpoints") or []:
                c = e.get("conditions") or {}
                for a in e.get("addresses") or []:
                    out.append(("%s:%d" % (a, p["port"]), c.get("ready"), c.get("serving"), c.get("terminating")))
    return sorted(out)


def wait_slice(pred, what):
    end = time.time() + 20
    while time.time() < end:
        eps = slice_endpoints()
        if pred(eps):
            return eps
        time.sleep(0.1)
    ck.ok(False, what, slice_endpoints())
    return slice_endpoints()


pods = wait_slice(lambda e: len(e) == 3 and all(x[1] for x in e), "the fake's EndpointSlice has 3 ready pods")

# ---- the load balancers' controllers: addresses in status.loadBalancer ----------------
def backend(svc, port):
    return {"service": {"name": svc, "port": {"number": port}}}


def controller_sets(path, addr, what):
    """Writes status.loadBalancer.ingress as a cloud or Ingress controller would."""
    r = kfake.request("PATCH", path + "/status", {"status": {"loadBalancer": {"ingress": [addr]}}},
                      ctype="application/merge-patch+json")
    ck.ok(r.status == 200, what, (r.status, r.raw[:500]))


def ingress(name, spec, what):
    """Creates the user's Ingress NAME in fb-shop (validated by the fake against the 1.36 OpenAPI)."""
    r = kfake.post("/apis/networking.k8s.io/v1/namespaces/fb-shop/ingresses",
                   {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                    "metadata": {"name": name, "namespace": "fb-shop"}, "spec": spec})
    ck.ok(r.status == 201, what, (r.status, r.raw[:800]))
    return "/apis/networking.k8s.io/v1/namespaces/fb-shop/ingresses/" + name


svc_pub = kfake.get("/api/v1/namespaces/fb-shop/services/api-public").json or {}
ck.ok((svc_pub.get("spec") or {}).get("type") == "LoadBalancer",
      "apply made the api-public LoadBalancer Service (public port 8080)", svc_pub.get("spec"))
controller_sets("/api/v1/namespaces/fb-shop/services/api-public", {"ip": "203.0.113.10"},
                "the cloud controller's address on api-public's status")
web = ingress("shop-web", {"ingressClassName": "nginx",
                           "tls": [{"hosts": ["api.shop.example"], "secretName": "shop-tls"}],
                           "rules": [{"host": "api.shop.example", "http": {"paths": [
                               {"path": "/v1", "pathType": "Prefix", "backend": backend("api", 8080)},
                               {"path": "/other", "pathType": "Prefix", "backend": backend("other", 80)}]}},
                               {"host": "*.shop.example", "http": {"paths": [
                                   {"path": "/", "pathType": "Prefix", "backend": backend("api", 8080)}]}}]},
              "the user's Ingress shop-web routing api.shop.example/v1 to Service api (TLS)")
controller_sets(web, {"hostname": "lb-7.ingress.example.net"}, "the Ingress controller's address on its status")
# a second Ingress without hosts (a rule path and the default backend answer
# on its address, plain http) and a third no controller has admitted yet
plain = ingress("shop-plain", {"defaultBackend": backend("api", 8080),
                               "rules": [{"http": {"paths": [{"path": "/api", "pathType": "Prefix",
                                                              "backend": backend("api", 8080)}]}}]},
                "Ingress shop-plain (no host, a default backend)")
ingress("shop-pending", {"rules": [{"host": "pending.shop.example", "http": {"paths": [
    {"path": "/", "pathType": "Prefix", "backend": backend("api", 8080)}]}}]}, "Ingress shop-pending")
controller_sets(plain, {"ip": "198.51.100.7"}, "shop-plain's address on its status")

# ---- a fresh store: everything from the providers alone ----------------------------
hd = home(["k8s", "aws", "gcp"])
ck.ok(hd.db("SELECT * FROM endpoints") == [], "the discovering home starts with an empty store")
schema = json.load(open(os.path.join(TOP, "schemas", "driver", "discover.output.schema.json")))
item_schema = dict(schema["properties"]["resources"]["items"], **{"$schema": schema["$schema"]})


def discover(*args):
    rc, out, err = hd.run("discover", "--lease", "30s", "--format", "json", *args)
    found = json.loads(out) if out.strip() else []
    bad = []
    for r in found:
        r = {k: v for k, v in r.items() if k not in ("provider", "tracked")}  # the CLI's own columns
        try:
            jsonschema.validate(r, item_schema)
        except jsonschema.ValidationError as e:
            bad.append((r.get("type"), e.message))
    return rc, found, err, bad


def rows():
    """provider|instance -> row; the ECS service's rows (aws eu-west-1) as aws-elb|instance."""
    return {(p if (p, r) != ("aws", "eu-west-1") else "aws-elb") + "|" + i:
            dict(url=u, kind=k, source=s, lease=ls, private=pv, health=h, rep=rep, detail=d)
            for p, r, i, u, k, s, ls, pv, h, rep, d in hd.db(
                "SELECT provider, region, instance, url, kind, source, lease_seconds, private, health, reported_at,"
                " health_detail FROM endpoints WHERE tenant='shop' AND workload='api'")}


rc, found, err, bad = discover()
ck.ok(rc == 0 and not bad, "discover --lease 30s over three drivers; every resource matches the schema",
      (rc, err[-2000:], bad))
ck.ok(any(r.get("endpoints") for r in found if r["provider"] == "aws") and
      any(r.get("endpoints") for r in found if r["provider"] == "gcp") and
      any(r.get("endpoints") for r in found if r["provider"] == "k8s"),
      "each provider's discover output carries endpoints", [(r["provider"], r["type"]) for r in found])
R = rows()
ck.ok(R.get("aws|", {}).get("url") == want_url["aws"] and R.get("gcp|", {}).get("url") == want_url["gcp"],
      "aws and gcp rows: the URLs their deploying homes recorded", R)
ck.ok(R.get("k8s|", {}).get("url") == want_url["k8s"] and R["k8s|"]["kind"] == "service"
      and R["k8s|"]["private"] == 1, "k8s front row: the Service's cluster DNS name, private", R.get("k8s|"))
fronts = [R.get(p + "|") for p in ("aws", "gcp", "k8s")]
ck.ok(all(f and f["source"] == "discover" and f["lease"] == 30 for f in fronts),
      "front rows: source discover, lease 30 s", fronts)
pod_rows = {k[4:]: v for k, v in R.items() if k.startswith("k8s|") and v["source"] == "k8s-endpointslice"}
ck.ok(sorted(pod_rows) == [p[0] for p in pods], "one k8s row per EndpointSlice address:port", (sorted(pod_rows), pods))
ck.ok(pod_rows and all(v["source"] == "k8s-endpointslice" and v["private"] == 1 and v["health"] == "passing"
                       and v["url"] == "http://" + i and v["lease"] == 30 for i, v in pod_rows.items()),
      "pod rows: source k8s-endpointslice, private, passing (ready), http://ADDR:PORT, lease 30 s", pod_rows)


# ---- load balancers: public rows ---------------------------------------------------------
lbd = alb["DNSName"]
ck.ok(R.get("aws-elb|", {}).get("url") == "https://" + lbd and R["aws-elb|"]["source"] == "aws-elb"
      and R["aws-elb|"]["private"] == 0 and R["aws-elb|"]["health"] == "passing"
      and "2 of 2 targets healthy" in (R["aws-elb|"]["detail"] or ""),
      "ECS behind the ALB: front row https://DNS (the 443 listener), public, passing (2 of 2 targets healthy)",
      R.get("aws-elb|"))
ck.ok(R.get("aws-elb|" + lbd, {}).get("url") == "http://" + lbd and R["aws-elb|" + lbd]["private"] == 0,
      "the ALB's port 80 listener: a second row, instance DNS", sorted(k for k in R if k.startswith("aws-elb|")))
elb_calls = [e for e in afake.call("GET", "/__fake/log") if e.get("service") == "elbv2"]
ck.ok(sorted({e["operation"] for e in elb_calls}) ==
      ["DescribeListeners", "DescribeLoadBalancers", "DescribeTargetGroups", "DescribeTargetHealth"]
      and all(e.get("status") == 200 for e in elb_calls),
      "discover's ELBv2 calls: the four Describe operations, each accepted by the model", elb_calls[-4:])
ck.ok(R.get("k8s|203.0.113.10:8080", {}).get("url") == "http://203.0.113.10:8080"
      and R["k8s|203.0.113.10:8080"]["source"] == "k8s-loadbalancer" and R["k8s|203.0.113.10:8080"]["private"] == 0,
      "k8s api-public LoadBalancer: http://203.0.113.10:8080, public, source k8s-loadbalancer",
      R.get("k8s|203.0.113.10:8080"))
ing = {k: v["url"] for k, v in R.items() if v["source"] == "k8s-ingress" and v["private"] == 0}
ck.ok(ing == {"k8s|api.shop.example/v1": "https://api.shop.example/v1",
              "k8s|198.51.100.7/api": "http://198.51.100.7/api", "k8s|198.51.100.7/": "http://198.51.100.7/"},
      "the Ingresses, public: https://api.shop.example/v1 (TLS host; the other Service's path and the wildcard "
      "host are not ours / not URLs); shop-plain's rule path and default backend on its address (http); "
      "nothing for shop-pending (no address yet)", ing)
afake.call("POST", "/__fake/target-health", {"targetGroupArn": alb["TargetGroupArn"], "state": "unhealthy",
                                             "reason": "Target.FailedHealthChecks"})
discover("--provider", "aws")
R = rows()
ck.ok(R.get("aws-elb|", {}).get("health") == "critical" and "Target.FailedHealthChecks" in (R["aws-elb|"]["detail"] or ""),
      "every target unhealthy: the ALB rows critical, the reason in the detail", R.get("aws-elb|"))
afake.call("POST", "/__fake/target-health", {"targetGroupArn": alb["TargetGroupArn"], "state": "healthy"})
discover("--provider", "aws")
ck.ok(rows().get("aws-elb|", {}).get("health") == "passing", "healthy again: passing", rows().get("aws-elb|"))

# ---- EndpointSlice conditions -> health -----------------------------------------------
kfake.ctl("POST", "pod-readiness", {"namespace": "fb-shop", "deployment": "api", "not_ready": 1})
eps = wait_slice(lambda e: sum(1 for x in e if x[1] is False) == 1, "the fake marks one pod not ready")
down = [x[0] for x in eps if x[1] is False]
rc, found, err, bad = discover("--provider", "k8s")
R = rows()
ck.ok(rc == 0 and down and R.get("k8s|" + down[0], {}).get("health") == "critical"
      and "ready=false" in (R["k8s|" + down[0]]["detail"] or "")
      and all(R["k8s|" + x[0]]["health"] == "passing" for x in eps if x[1]),
      "a pod failing readiness: its row critical (conditions in the detail), the others passing",
      (rc, err[-1000:], down, R))
rc, out, err = hd.run("resolve", "api", "--format", "json")
res = json.loads(out) if out.strip() else {}
inst = [e.get("instance") for e in res.get("endpoints", []) if e["source"] == "k8s-endpointslice"]
ck.ok(rc == 0 and down and down[0] not in inst and len([i for i in inst if i]) == 2 and res.get("excluded") == 1,
      "resolve drops the critical pod (excluded 1)", (rc, res, err))
rc, out, err = hd.run("resolve", "api", "--all", "--format", "json")
res = json.loads(out) if out.strip() else {}
ck.ok(rc == 0 and down and [e["health"] for e in res.get("endpoints", []) if e.get("instance") == down[0]] == ["critical"]
      and all(e["private"] == (e["source"] in ("discover", "k8s-endpointslice"))
              for e in res["endpoints"] if e["provider"] == "k8s"),
      "resolve --all shows it critical; the Service and pod rows say private, the load balancers' not", res)
kfake.ctl("POST", "pod-readiness", {"namespace": "fb-shop", "deployment": "api", "not_ready": 1, "terminating": True})
wait_slice(lambda e: sum(1 for x in e if x[3]) == 1, "the fake marks one pod terminating")
discover("--provider", "k8s")
R = rows()
ck.ok(R.get("k8s|" + (down[0] if down else ""), {}).get("health") == "warning",
      "terminating but still serving: warning", R.get("k8s|" + (down[0] if down else "")))
kfake.ctl("POST", "pod-readiness", {"namespace": "fb-shop", "deployment": "api", "not_ready": 0})
wait_slice(lambda e: len(e) == 3 and all(x[1] for x in e), "the fake's pods ready again")
discover("--provider", "k8s")
R = rows()
ck.ok(all(v["health"] == "passing" for k, v in R.items() if v["source"] == "k8s-endpointslice"), "ready again: passing", R)

# ---- resolve orders by the latency model ---------------------------------------------
rc, out, err = hd.run("resolve", "api", "--from", "frankfurt", "--format", "json")
res = json.loads(out) if out.strip() else {}
eps = res.get("endpoints", [])
rtts = [e["rtt_ms"] for e in eps]
known = [r for r in rtts if r is not None]
ck.ok(rc == 0 and len(eps) == 12 and known == sorted(known) and rtts == known + [None] * (len(rtts) - len(known)),
      "resolve --from frankfurt: twelve endpoints (aws lambda, the ALB's two listeners, gcp, k8s front, 3 pods, "
      "the LoadBalancer Service, three Ingress URLs) in ascending RTT, unknown last", (rc, eps, err))
ck.ok(sorted(e["url"] for e in eps if e["provider"] == "aws" and e["region"] == "eu-west-1")
      == ["http://" + alb["DNSName"], "https://" + alb["DNSName"]]
      and sum(1 for e in eps if e["provider"] == "k8s" and not e["private"]) == 4,
      "resolve includes the load balancers' public rows", eps)
model = {}
for p, r in (("aws", "us-east-1"), ("aws", "eu-west-1"), ("gcp", gcptest.REGION), ("k8s", "on-prem")):
    rc2, o2, e2 = hd.run("catalog", "rtt", "frankfurt", "%s:%s" % (p, r), "--format", "json")
    model[p, r] = json.loads(o2).get("rtt_ms") if rc2 == 0 and o2.strip() else None
ck.ok(eps and all((model.get((e["provider"], e["region"])) is None and e["rtt_ms"] is None) or
                  (e["rtt_ms"] is not None and abs(e["rtt_ms"] - model[e["provider"], e["region"]]) < 0.01)
                  for e in eps),
      "each RTT is the catalog's (catalog rtt frankfurt PROVIDER:REGION; none for the on-prem cluster)",
      (model, [(e["provider"], e["rtt_ms"]) for e in eps]))
ck.ok(eps and eps[0]["provider"] == "gcp", "gcp europe-west1 first from frankfurt", [e["provider"] for e in eps])

# ---- a source that stops reporting: stale, then removed --------------------------------
t1 = rows().get("aws|", {}).get("rep", 0)
rc, out, err = ha.run("destroy", "--all")
ck.ok(rc == 0 and afake.state().get("lambda", {}) == {}, "the aws function is gone at the provider", (rc, err[-1500:]))
time.sleep(2.1)  # the next reports are at least 2 s later than the aws row's last
rc, found, err, bad = discover()
R = rows()
t2 = R.get("gcp|", {}).get("rep", 0)
ck.ok(rc == 0 and R.get("aws|", {}).get("rep") == t1 and t2 >= t1 + 2, "discover no longer reports aws; the others refreshed",
      (rc, err[-1000:], t1, t2))


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def health_at(t):
    # probes go to a closed port: the sweep is under test, not the probes
    return hd.run("health", "--format", "json", "--connect-to", "127.0.0.1:1", "--timeout", "1s",
                  env={"FEDBROKER_NOW": iso(t)})


rc, out, err = health_at(t1 + 31)
h = json.loads(out) if out.strip() else {}
stale = sorted((c["provider"], c["instance"]) for c in h.get("lease", []) if c["change"] == "stale")
ck.ok(stale == [("aws", "")], "a lease after its last report the aws row is stale, no other", (rc, h.get("lease"), err))
rc, out, err = hd.run("resolve", "api", "--all", "--format", "json", env={"FEDBROKER_NOW": iso(t1 + 31)})
res = json.loads(out) if out.strip() else {}
ck.ok([e["stale"] for e in res.get("endpoints", []) if e["provider"] == "aws" and e["region"] == "us-east-1"] == [True]
      and not any(e["stale"] for e in res.get("endpoints", []) if e["region"] != "us-east-1"),
      "resolve --all: aws stale, the rest not", res)
rc, out, err = health_at(t1 + 60)
h = json.loads(out) if out.strip() else {}
removed = sorted((c["provider"], c["instance"]) for c in h.get("lease", []) if c["change"] == "removed")
ck.ok(removed == [("aws", "")] and "aws|" not in rows() and "gcp|" in rows() and len(rows()) == 11,
      "two leases after: the aws row removed; gcp and k8s rows remain", (removed, sorted(rows())))

rc, out, err = hd.run("discover", "--lease", "0s")
ck.ok(rc == 64 and "--lease" in err, "discover --lease 0s: a usage error (exit 64) naming the option", (rc, err))

for h in homes:
    h.close()
afake.close()
gfake.close()
kfake.close()
ck.done()
