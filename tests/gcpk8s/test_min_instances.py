#!/usr/bin/python3
"""What is priced is what is deployed: the minimum number of instances the
cost model (each driver's usage verb) prices against the minimum the
rendered documents deploy, for every driver (aws, gcp, k8s) and every
service, over scaleToZero true/false/unset with minInstances 0/2 with no traffic
(so every priced instance is an always-on one).

Read from the documents (what the provider would run):
  gcp cloud-run        template.scaling.minInstanceCount (absent = 0)
  gcp cloud-functions  serviceConfig.minInstanceCount (absent = 0)
  gcp gke-autopilot,   the HPA's minReplicas, else the Deployment's replicas
  k8s kubernetes
  k8s knative          the autoscaling.knative.dev/min-scale annotation
  aws lambda           provisioned concurrency (no document sets it: 0)
  aws fargate          RegisterScalableTarget MinCapacity, else CreateService desiredCount
Read from usage (what the price assumes is always running), quantity /
(hours x one instance's amount):
  gcp cloud-run        the instance-based cpu line (request-based: 0)
  gcp cloud-functions  the idle_cpu_min_instances line (none: 0)
  gcp gke-autopilot    pod_vcpu
  aws lambda           provisioned_concurrency (GB-seconds / memory)
  aws fargate          vcpu
  k8s (node model)     cpu
Checks:
  (a) the latency model assumes a warm instance (coldStartMs 0) exactly when
      the documents keep one (rendered minimum >= 1);
  (b) rendered == priced; where a driver knowingly differs, validate must
      say so with a warning at /spec/scaling/... (Lambda prices minInstances
      as provisioned concurrency that apply does not configure); the k8s
      node model prices node capacity, so there priced >= rendered;
  (c) scaleToZero: false deploys at least one instance, or validate warns
      at /spec/scaling that it cannot (Lambda without provisioned
      concurrency).
The defect this guards (issue 13): Cloud Run and Cloud Functions rendered
minInstanceCount 0 for scaleToZero: false while the cost model priced an
always-on instance."""
import os
import sys
from fractions import Fraction

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gk  # noqa: E402
from gk import check  # noqa: E402

HOURS = 730
IMAGE = "europe-docker.pkg.dev/p/r/app:1"


def spec(kind, s2z, mn, source=False):
    parts = ([] if s2z is None else ["scaleToZero: %s" % ("true" if s2z else "false")]) + \
        (["minInstances: %d" % mn] if mn else []) + ["maxInstances: 5"]
    scaling = "{%s}" % ", ".join(parts)
    body = ("  runtime: python3.12\n  handler: main.handler\n  code: {s3: {bucket: code-bucket, key: k.zip}}\n" if source
            else "  image: %s\n" % IMAGE)
    trig = "  triggers: [{http: {path: /, public: true}}]\n" if kind == "Function" else \
           "  ports: [{port: 8080, protocol: http, public: true}]\n"
    return ("apiVersion: fedbroker.dev/v1\nkind: %s\nmetadata: {name: mi-%s-%d, tenant: t}\nspec:\n%s"
            "  resources: {cpu: \"1\", memory: 512Mi}\n  scaling: %s\n  traffic: {requestsPerMonth: 0, "
            "meanDuration: 100ms}\n%s" % (kind, {True: "z", False: "w", None: "d"}[s2z], mn, body, scaling, trig))


def rendered_min(driver, service, docs):
    if driver == "gcp" and service == "cloud-run":
        return docs[0]["body"]["template"].get("scaling", {}).get("minInstanceCount", 0)
    if driver == "gcp" and service == "cloud-functions":
        return docs[0]["body"]["serviceConfig"].get("minInstanceCount", 0)
    if driver == "aws" and service == "lambda":
        assert not any("ProvisionedConcurrency" in (d.get("operation") or "") for d in docs)
        return 0
    if driver == "aws" and service == "fargate":
        for d in docs:
            if d.get("operation") == "RegisterScalableTarget":
                return d["body"]["MinCapacity"]
        return [d for d in docs if d.get("operation") == "CreateService"][0]["body"]["desiredCount"]
    if service == "knative":
        ksvc = [d for d in docs if d["body"].get("kind") == "Service" and "serving.knative.dev" in
                d["body"].get("apiVersion", "")][0]["body"]
        return int(ksvc["spec"]["template"]["metadata"]["annotations"]["autoscaling.knative.dev/min-scale"])
    bodies = [d["body"] for d in docs]
    hpa = [b for b in bodies if b.get("kind") == "HorizontalPodAutoscaler"]
    if hpa:
        return hpa[0]["spec"].get("minReplicas", 1)
    return [b for b in bodies if b.get("kind") == "Deployment"][0]["spec"].get("replicas", 1)


def line(lines, metric):
    got = [ln for ln in lines if ln["metric"] == metric]
    return Fraction(got[0]["quantity"]) if got else None


def priced_min(driver, service, usage, cpu_cores, mem_mib):
    lines = usage["lines"]
    if driver == "gcp" and service == "cloud-run":
        q = [Fraction(ln["quantity"]) for ln in lines if ln["metric"] == "cpu" and "instance-based" in ln["variant"]]
        return q[0] / (HOURS * 3600 * cpu_cores) if q else 0
    if driver == "gcp" and service == "cloud-functions":
        q = line(lines, "idle_cpu_min_instances")
        return q / (HOURS * 3600 * cpu_cores) if q is not None else 0
    if driver == "gcp" and service == "gke-autopilot":
        return line(lines, "pod_vcpu") / (HOURS * cpu_cores)
    if driver == "aws" and service == "lambda":
        q = line(lines, "provisioned_concurrency")
        return q / (HOURS * 3600 * Fraction(mem_mib, 1024)) if q is not None else 0
    if driver == "aws" and service == "fargate":
        return line(lines, "vcpu") / (HOURS * cpu_cores)
    return line(lines, "cpu") / (HOURS * cpu_cores)


CASES = [
    # driver, settings, kind, service, region, source
    ("gcp", {}, "Container", "cloud-run", "europe-west1", False),
    ("gcp", {}, "Function", "cloud-run", "europe-west1", False),
    ("gcp", {}, "Function", "cloud-functions", "europe-west1", True),
    ("gcp", {}, "Container", "gke-autopilot", "europe-west1", False),
    ("aws", {}, "Function", "lambda", "us-east-1", False),
    ("aws", {"ecs": {"subnets": ["subnet-0a1b2c3d"]}}, "Container", "fargate", "us-east-1", False),
    ("k8s", {"knative": True}, "Container", "kubernetes", "on-prem", False),
    ("k8s", {"knative": True}, "Container", "knative", "on-prem", False),
    ("k8s", {"knative": True}, "Function", "knative", "on-prem", False),
]


def main():
    for driver, settings, kind, service, region, source in CASES:
        # (the spec refuses scaleToZero true with minInstances above 0)
        for s2z, mn in ((True, 0), (False, 0), (None, 2), (False, 2)):
            if True:
                w = gk.spec_workload(spec(kind, s2z, mn, source))
                pl = gk.placement(driver, kind, service, region)
                res = gk.call(driver, settings, [
                    ("validate", {"workload": w, "placement": pl, "mode": "render"}),
                    ("render", {"workload": w, "placement": pl, "mode": "render"}),
                    ("usage", {"workload": w, "placement": pl, "hoursPerMonth": HOURS, "mode": "plan"})])
                what = "%s:%s %s scaleToZero=%s minInstances=%d" % (driver, service, kind, s2z, mn)
                val, ren, use = res["results"]
                if not check(gk.statusok(ren) and gk.statusok(use), what + ": render and usage succeed"):
                    print("   ", ren["diagnostics"], use["diagnostics"])
                    continue
                # the shape the driver rounded to (Cloud Run may raise cpu): from the documents
                cpu, mem = Fraction(1), 512
                r = rendered_min(driver, service, ren["output"]["documents"])
                p = priced_min(driver, service, use["output"], cpu, mem)
                warm = use["output"]["coldStartMs"] == 0
                check(warm == (r >= 1), "%s: coldStartMs %d and a rendered minimum of %s agree on a warm "
                      "instance" % (what, use["output"]["coldStartMs"], r))
                warned = [d for d in val["diagnostics"] if d.get("severity") == "warning"
                          and (d.get("pointer") or "").startswith("/spec/scaling")]
                if s2z is False:
                    check(r >= 1 or warned, "%s: scaleToZero false deploys at least one instance (%s), or "
                          "validate says it cannot" % (what, r))
                if driver == "k8s":
                    check(p >= r, "%s: the node model prices %s replica(s), at least the %s deployed" % (what, p, r))
                elif p != r:
                    check(warned, "%s: priced %s, deployed %s: validate must warn at /spec/scaling (it says: %s)"
                          % (what, p, r, [d.get("summary") for d in val["diagnostics"]]))
                else:
                    check(True, "%s: priced and deployed minimum %s" % (what, r))
    gk.finish()


if __name__ == "__main__":
    if not (os.access(gk.DRVCALL, os.X_OK) and os.access(gk.FEDBROKER, os.X_OK)):
        print("SKIP: drvcall or fedbroker not built")
        sys.exit(77)
    main()
