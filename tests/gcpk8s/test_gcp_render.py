#!/usr/bin/python3
"""Renders workloads with the gcp driver and validates every document against
references we did not write: Cloud Run v2 and Cloud Functions v2 bodies and
request paths against Google's discovery documents (tests/reference/gcp-discovery),
GKE Autopilot objects against the Kubernetes 1.36 OpenAPI; then breaks
documents on purpose to prove the validators can fail. Also checks the
offers' regions and price groups against the catalog's regions.csv."""
import copy
import csv
import json
import re
from fractions import Fraction

import discovery
import gk
from gk import check
from k8s_schema import K8sValidator

k8s = K8sValidator()
run = discovery.for_api("run.googleapis.com/v2")
gcf = discovery.for_api("cloudfunctions.googleapis.com/v2")

ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
SETTINGS = {"project": "acme-prod", "serviceAccount": "runner@acme-prod.iam.gserviceaccount.com",
            "registryMirrors": {"ghcr.io": "europe-docker.pkg.dev/acme-prod/ghcr",
                                ECR: "us-docker.pkg.dev/acme-prod/ecr"}}

# Portable runtime -> Cloud Functions runtime id, written out by hand from
# Google's runtime list (the driver derives it; this table checks it).
GCF_RUNTIMES = {"python3.10": "python310", "python3.11": "python311", "python3.12": "python312",
                "nodejs18": "nodejs18", "nodejs20": "nodejs20", "nodejs22": "nodejs22",
                "go1.22": "go122", "java17": "java17", "java21": "java21", "ruby3.2": "ruby32",
                "ruby3.3": "ruby33", "dotnet8": "dotnet8"}

SYNTHETIC = [
    """apiVersion: fedbroker.dev/v1
kind: Container
metadata: {name: ledger-grpc, tenant: fin, labels: {team: ledger}}
spec:
  image: europe-docker.pkg.dev/acme-prod/apps/ledger:3.1
  ports: [{port: 9090, protocol: grpc, public: true}]
  resources: {cpu: 300m, memory: 768Mi}
  secrets: [{env: LEDGER_KEY, ref: "gcp-sm://projects/shared-secrets/secrets/ledger-key/versions/7"}]
  healthCheck: {port: 9090, period: 20s, timeout: 2s}
  timeout: 90s
""",
    """apiVersion: fedbroker.dev/v1
kind: Function
metadata: {name: render-pdf, tenant: docs}
spec:
  image: nginx:1.25
  resources: {memory: 6Gi}
  scaling: {maxInstances: 40, targetConcurrency: 40}
  timeout: 1500ms
  env: {MODE: fast}
  triggers: [{http: {path: /, public: true}}]
  healthCheck: {path: /healthz, initialDelay: 3s, period: 5s, timeout: 1s, failureThreshold: 5}
""",
    """apiVersion: fedbroker.dev/v1
kind: Function
metadata: {name: on-order, tenant: shop}
spec:
  runtime: nodejs22
  handler: index.onOrder
  code: {path: .}
  resources: {memory: 1Gi, cpu: "1"}
  scaling: {minInstances: 2, maxInstances: 10}
  env: {LEVEL: debug}
  secrets: [{env: API_KEY, ref: "gcp-sm://api-key"}]
  timeout: 5m
  triggers: [{queue: {name: orders-created, batchSize: 1}}]
  traffic: {requestsPerMonth: 500000, meanDuration: 250ms}
""",
    """apiVersion: fedbroker.dev/v1
kind: Function
metadata: {name: internal-go, tenant: ops}
spec:
  runtime: go1.22
  handler: main.Handle
  code: {s3: {bucket: ops-code, key: fn/internal-go.zip, version: "3"}}
  resources: {memory: 128Mi}
  triggers: [{http: {path: /, public: false}}]
""",
    """apiVersion: fedbroker.dev/v1
kind: Container
metadata: {name: batchy, tenant: data}
spec:
  image: ghcr.io/acme/batchy:1
  ports: [{port: 8080, protocol: http, public: true}, {port: 8081, protocol: tcp}]
  resources: {cpu: 300m, memory: 3Gi}
  scaling: {minInstances: 1, maxInstances: 4}
""",
    """apiVersion: fedbroker.dev/v1
kind: Function
metadata: {name: billing-java, tenant: fin}
spec:
  runtime: java21
  handler: com.acme.billing.Handler
  code: {path: .}
  resources: {memory: 2Gi}
  triggers: [{http: {path: /, public: true}}]
""",
    """apiVersion: fedbroker.dev/v1
kind: Function
metadata: {name: nightly-report, tenant: ops}
spec:
  image: europe-docker.pkg.dev/acme-prod/apps/report:2
  scaling: {scaleToZero: false, maxInstances: 3}
  triggers:
    - schedule: {cron: "0 3 * * *", timezone: Europe/Paris}
    - queue: {name: report-requests, batchSize: 1}
    - schedule: {cron: "*/15 * * * 1-5"}
""",
    """apiVersion: fedbroker.dev/v1
kind: Function
metadata: {name: tick, tenant: ops}
spec:
  runtime: python3.12
  handler: main.tick
  code: {path: .}
  triggers: [{schedule: {cron: "*/5 * * * *"}}]
""",
]


def gcp_secrets(w):
    """Examples reference AWS/Vault secrets; a GCP service reads Secret Manager."""
    w = copy.deepcopy(w)
    for s in w["spec"].get("secrets", []):
        if not s["ref"].startswith("gcp-sm://"):
            s["ref"] = "gcp-sm://" + s["env"].lower().replace("_", "-")
    return w


def k8s_secrets(w):
    w = copy.deepcopy(w)
    for s in w["spec"].get("secrets", []):
        s["ref"] = "k8s://%s#value" % s["env"].lower().replace("_", "-")
    return w


def services_for(w):
    if w["kind"] == "Function":
        return ["cloud-run"] if "image" in w["spec"] else ["cloud-functions"]
    return ["cloud-run", "gke-autopilot"]


def ceil_div(a, b):
    return -(-a // b)


LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
LABEL_VAL = re.compile(r"^[a-z0-9_-]{0,63}$")


def check_gcp_labels(w, labels, label):
    check(all(LABEL_KEY.match(k) and LABEL_VAL.match(v) for k, v in labels.items()) and len(labels) <= 64,
          "%s: labels follow GCP's label rules" % label)
    check(labels.get("managed-by") == "fedbroker" and labels.get("workload") == w["metadata"]["name"]
          and labels.get("tenant") == w["metadata"]["tenant"] and labels.get("spec-hash") == w["specHash"][:16],
          "%s: managed-by, workload, tenant, spec-hash labels" % label)
    for k, v in w["metadata"].get("labels", {}).items():
        check(labels.get(k) == v, "%s: user label %s" % (label, k))


def mem_mib(s):
    m = re.fullmatch(r"([0-9]+)(Mi|Gi)", s)
    return int(m.group(1)) * (1024 if m.group(2) == "Gi" else 1)


def cpu_cores(s):
    return Fraction(s)


# Cloud Run's table (Configure CPU limits): memory allowed per vCPU.
def run_mem_range(cpu):
    if cpu < Fraction(1, 2):
        return 128, 512
    if cpu < 1:
        return 128, 1024
    return {1: (128, 4096), 2: (128, 8192), 4: (2048, 16384), 6: (4096, 24576), 8: (4096, 32768)}[int(cpu)]


def is_public(w):
    return any(p.get("public") and p.get("protocol") != "tcp" for p in w["spec"].get("ports", [])) or \
        any(t.get("http", {}).get("public") for t in w["spec"].get("triggers", []))


def min_instances(spec):
    """What the cost model prices as always running (issue 13: scaleToZero
    false keeps one instance)."""
    return spec["scaling"]["minInstances"] or (0 if spec["scaling"]["scaleToZero"] else 1)


def invoker_docs(docs):
    """setIamPolicy documents on a Cloud Run service (not on secrets)."""
    return [d for d in docs if d["kind"] == "SetIamPolicyRequest" and "/services/" in d["path"]]


def has_trigger(w, kind):
    return any(kind in t for t in w["spec"].get("triggers", []))


def check_run(w, docs, label):
    svc = [d for d in docs if d["kind"] == "Service"][0]
    name = w["metadata"]["name"]
    check(svc["path"] == "v2/projects/acme-prod/locations/%s/services?serviceId=%s" % (REGION, name),
          "%s: create path names project, region and serviceId" % label)
    b = svc["body"]
    t = b["template"]
    c = t["containers"][0]
    cpu = cpu_cores(c["resources"]["limits"]["cpu"])
    mem = mem_mib(c["resources"]["limits"]["memory"])
    spec = w["spec"]
    lo, hi = run_mem_range(cpu)
    ok_cpu = (Fraction(8, 100) <= cpu < 1 and (cpu * 100).denominator == 1) or cpu in (1, 2, 4, 6, 8)
    check(ok_cpu and lo <= mem <= hi, "%s: cpu %s / memory %d MiB is an allowed Cloud Run pair" % (label, cpu, mem))
    check(cpu * 1000 >= spec["resources"]["cpuMillis"] and mem >= spec["resources"]["memoryMiB"],
          "%s: never less than the spec asks for" % label)
    inst = spec["scaling"]["minInstances"] > 0 or not spec["scaling"]["scaleToZero"]
    check(c["resources"]["cpuIdle"] == (not inst), "%s: cpuIdle %s (instance-based %s)" % (label, c["resources"]["cpuIdle"], inst))
    if cpu < 1:
        check(t["maxInstanceRequestConcurrency"] == 1 and t["executionEnvironment"] == "EXECUTION_ENVIRONMENT_GEN1"
              and not inst, "%s: below 1 vCPU: concurrency 1, gen1, request-based" % label)
    if spec["scaling"].get("targetConcurrency"):
        check(t["maxInstanceRequestConcurrency"] == spec["scaling"]["targetConcurrency"], "%s: concurrency from the spec" % label)
    mi = min_instances(spec)
    check(t["scaling"] == {"minInstanceCount": mi, "maxInstanceCount": max(mi, spec["scaling"]["maxInstances"])},
          "%s: scaling" % label)
    check(t["timeout"] == "%ds" % ceil_div(spec["timeoutMs"], 1000), "%s: timeout %s" % (label, t["timeout"]))
    check(b["ingress"] == ("INGRESS_TRAFFIC_ALL" if is_public(w) else "INGRESS_TRAFFIC_INTERNAL_ONLY"), "%s: ingress" % label)
    check(t.get("serviceAccount") == SETTINGS["serviceAccount"], "%s: service account" % label)
    check_gcp_labels(w, b["labels"], label)
    env = {e["name"]: e for e in c.get("env", [])}
    for k, v in spec.get("env", {}).items():
        check(env[k].get("value") == v, "%s: env %s" % (label, k))
    for s in spec.get("secrets", []):
        ref = env[s["env"]]["valueSource"]["secretKeyRef"]
        check(ref["secret"].endswith(s["ref"].split("://")[1].split("/versions/")[0].split("/secrets/")[-1]),
              "%s: secret %s from Secret Manager" % (label, s["env"]))
    img = spec["image"]
    for host, repo in SETTINGS["registryMirrors"].items():
        if img.startswith(host + "/"):
            img = repo + img[len(host):]
    check(c["image"] == img, "%s: image %s" % (label, c["image"]))
    if "healthCheck" in spec:
        hc = spec["healthCheck"]
        p = c["startupProbe"]
        grpc = c["ports"][0]["name"] == "h2c"
        kind = "grpc" if grpc else "httpGet" if "path" in hc else "tcpSocket"
        check(p["periodSeconds"] == ceil_div(hc["periodMs"], 1000) and p["failureThreshold"] == hc["failureThreshold"]
              and kind in p and p["periodSeconds"] * p["failureThreshold"] <= 240, "%s: %s startup probe from healthCheck" % (label, kind))
        lp = c.get("livenessProbe")
        check(lp is None or "grpc" in lp or "httpGet" in lp, "%s: liveness probe is HTTP or gRPC (Cloud Run has no TCP liveness)" % label)
    iam = invoker_docs(docs)
    if is_public(w):
        check(len(iam) == 1 and iam[0]["path"].endswith("/services/%s:setIamPolicy" % name)
              and iam[0]["body"]["policy"]["bindings"] == [{"members": ["allUsers"], "role": "roles/run.invoker"}],
              "%s: public: allUsers may invoke" % label)
    elif has_trigger(w, "queue") or has_trigger(w, "schedule"):
        check(len(iam) == 1 and iam[0]["body"]["policy"]["bindings"][0]["members"][0].startswith("serviceAccount:"),
              "%s: private with triggers: only the invoker service account may invoke" % label)
    else:
        check(not iam, "%s: private: no IAM policy document" % label)
    check_triggers(w, docs, label, svc_url=True)


def check_triggers(w, docs, label, svc_url):
    """Queue -> a topic (and, for Cloud Run, a push subscription with an OIDC
    token), schedule -> a Cloud Scheduler job calling the URL with one."""
    queues = [t["queue"]["name"] for t in w["spec"].get("triggers", []) if "queue" in t]
    crons = [t["schedule"] for t in w["spec"].get("triggers", []) if "schedule" in t]
    topics = [d for d in docs if d["kind"] == "Topic"]
    subs = [d for d in docs if d["kind"] == "Subscription"]
    jobs = [d for d in docs if d["kind"] == "Job"]
    check([d["path"] for d in topics] == ["v1/projects/acme-prod/topics/%s" % q for q in queues],
          "%s: one topic per queue %s" % (label, queues))
    if svc_url:
        check(len(subs) == len(queues) and all(s["body"]["topic"] == "projects/acme-prod/topics/" + q
                                               and "oidcToken" in s["body"]["pushConfig"]
                                               for s, q in zip(subs, queues)),
              "%s: a push subscription with an OIDC token per queue" % label)
    else:
        check(not subs, "%s: a function consumes its topic through its eventTrigger" % label)
    check(len(jobs) == len(crons) and all(j["body"]["schedule"] == c["cron"] and j["body"]["timeZone"] == c["timezone"]
                                          and "oidcToken" in j["body"]["httpTarget"] for j, c in zip(jobs, crons)),
          "%s: a Scheduler job with an OIDC token per schedule" % label)


def check_gcf(w, docs, label):
    fn = [d for d in docs if d["kind"] == "Function"][0]
    spec = w["spec"]
    name = w["metadata"]["name"]
    b = fn["body"]
    check(fn["path"] == "v2/projects/acme-prod/locations/%s/functions?functionId=%s" % (REGION, name),
          "%s: create path with functionId" % label)
    check(b["buildConfig"]["runtime"] == GCF_RUNTIMES[spec["runtime"]],
          "%s: runtime %s -> %s" % (label, spec["runtime"], b["buildConfig"]["runtime"]))
    h = spec["handler"]
    want_ep = h if spec["runtime"].startswith(("java", "dotnet")) else h.rsplit(".", 1)[-1]
    check(b["buildConfig"]["entryPoint"] == want_ep, "%s: entryPoint %s" % (label, want_ep))
    so = b["buildConfig"]["source"]["storageSource"]
    check(fn["upload"]["to"] == "gs://%s/%s" % (so["bucket"], so["object"]) and so["bucket"] == "acme-prod-fedbroker-sources",
          "%s: source uploaded where the function reads it" % label)
    sc = b["serviceConfig"]
    check(mem_mib(sc["availableMemory"]) >= spec["resources"]["memoryMiB"]
          and cpu_cores(sc["availableCpu"]) * 1000 >= spec["resources"]["cpuMillis"], "%s: resources" % label)
    queue = [t["queue"]["name"] for t in spec.get("triggers", []) if "queue" in t]
    limit = 540 if queue else 3600
    check(sc["timeoutSeconds"] == ceil_div(spec["timeoutMs"], 1000) <= limit, "%s: timeout within %d s" % (label, limit))
    if queue:
        et = b["eventTrigger"]
        check(et["eventType"] == "google.cloud.pubsub.topic.v1.messagePublished"
              and et["pubsubTopic"] == "projects/acme-prod/topics/" + queue[0], "%s: Pub/Sub event trigger" % label)
    else:
        check("eventTrigger" not in b, "%s: HTTP function" % label)
    check(sc["ingressSettings"] == ("ALLOW_ALL" if is_public(w) else "ALLOW_INTERNAL_ONLY"), "%s: ingress" % label)
    mi = min_instances(spec)
    check(sc["minInstanceCount"] == mi and sc["maxInstanceCount"] == max(mi, spec["scaling"]["maxInstances"]),
          "%s: instance counts" % label)
    check(sc.get("environmentVariables", {}) == spec.get("env", {}), "%s: env" % label)
    check(len(sc.get("secretEnvironmentVariables", [])) == len(spec.get("secrets", [])), "%s: secrets" % label)
    check_gcp_labels(w, b["labels"], label)
    iam = invoker_docs(docs)
    check(len(iam) == (1 if is_public(w) or has_trigger(w, "schedule") else 0),
          "%s: IAM policy iff public or scheduled" % label)
    check_triggers(w, docs, label, svc_url=False)


def check_autopilot(w, docs, label):
    for d in docs:
        check(d["cluster"] == "projects/acme-prod/locations/%s/clusters/fedbroker-autopilot" % REGION, "%s: cluster" % label)
    dep = [d["body"] for d in docs if d["kind"] == "Deployment"][0]
    c = dep["spec"]["template"]["spec"]["containers"][0]
    req, lim = c["resources"]["requests"], c["resources"]["limits"]
    m = re.fullmatch(r"([0-9]+)(m?)", req["cpu"])
    cpu_m = int(m.group(1)) * (1 if m.group(2) else 1000)
    mem = mem_mib(req["memory"])
    check(req == lim, "%s: Autopilot limits equal requests" % label)
    check(cpu_m % 250 == 0 and cpu_m >= 250 and cpu_m * 1024 <= mem * 1000 <= cpu_m * 6656,
          "%s: cpu %dm in 250m steps, memory %d MiB within 1..6.5 GiB per vCPU" % (label, cpu_m, mem))
    check(cpu_m >= w["spec"]["resources"]["cpuMillis"] and mem >= w["spec"]["resources"]["memoryMiB"],
          "%s: never less than the spec" % label)


REGION = "europe-west4"


def render_all():
    ex = [w for w in gk.example_workloads() if w["kind"] in ("Function", "Container")]
    syn = [gk.spec_workload(t) for t in SYNTHETIC]
    workloads = ex + syn
    calls, meta = [], []
    for w in workloads:
        for s in services_for(w):
            ww = k8s_secrets(w) if s == "gke-autopilot" else gcp_secrets(w)
            inp = {"workload": ww, "placement": gk.placement("gcp", w["kind"], s, REGION)}
            calls += [("render", inp), ("render", inp)]
            meta.append((ww, s))
    res = gk.call("gcp", SETTINGS, calls)["results"]
    counts = {"cloud-run": 0, "cloud-functions": 0, "gke-autopilot": 0}
    for i, (w, s) in enumerate(meta):
        r1, r2 = res[2 * i], res[2 * i + 1]
        label = "gcp %s %s/%s" % (s, w["metadata"]["tenant"], w["metadata"]["name"])
        ports = w["spec"].get("ports", [])
        if s == "cloud-run" and (len(ports) > 1 or any(p["protocol"] == "tcp" for p in ports)):
            check(not gk.statusok(r1) and any((d.get("pointer") or "").startswith("/spec/ports") for d in gk.errors(r1)),
                  "%s: Cloud Run refuses more than one port / tcp" % label)
            continue
        if not check(gk.statusok(r1), "%s: renders %s" % (label, [d["summary"] for d in gk.errors(r1)])):
            continue
        check(r1["text"] == r2["text"], "%s: deterministic" % label)
        docs = r1["output"]["documents"]
        counts[s] += 1
        for d in docs:
            if d["api"] in discovery.APIS:
                disc = discovery.for_api(d["api"])
                want = {"Service": "run.projects.locations.services.create",
                        "SetIamPolicyRequest": "secretmanager.projects.secrets.setIamPolicy"
                        if d["api"].startswith("secretmanager") else "run.projects.locations.services.setIamPolicy",
                        "Function": "cloudfunctions.projects.locations.functions.create",
                        "Topic": "pubsub.projects.topics.create",
                        "Subscription": "pubsub.projects.subscriptions.create",
                        "Job": "cloudscheduler.projects.locations.jobs.create"}[d["kind"]]
                errs = disc.request_errors(d["method"], d["path"], d["body"], want)
                check(not errs, "%s: %s %s valid against the discovery document %s" % (label, d["method"], d["kind"], errs[:3]))
            else:
                errs = k8s.errors(d["body"])
                check(not errs, "%s: %s valid against the Kubernetes OpenAPI %s" % (label, d["kind"], errs[:3]))
        if s == "cloud-run":
            check_run(w, docs, label)
        elif s == "cloud-functions":
            check_gcf(w, docs, label)
        else:
            check_autopilot(w, docs, label)
    check(all(n >= 3 for n in counts.values()), "rendered on every service: %s" % counts)


def negative():
    w = gcp_secrets(gk.spec_workload(SYNTHETIC[1]))
    r = gk.call("gcp", SETTINGS, [("render", {"workload": w, "placement": gk.placement("gcp", "Function", "cloud-run", REGION)})])
    svc = [d for d in r["results"][0]["output"]["documents"] if d["kind"] == "Service"][0]
    check(not run.request_errors("POST", svc["path"], svc["body"]), "negative: the unbroken Cloud Run request is valid")

    def broken(what, mutate_body=None, method="POST", path=None, doc=svc, disc=run):
        b = copy.deepcopy(doc["body"])
        if mutate_body:
            mutate_body(b)
        errs = disc.request_errors(method, path or doc["path"], b)
        check(errs, "negative: %s is refused (%s)" % (what, errs[:1]))

    t = lambda b: b["template"]
    c0 = lambda b: b["template"]["containers"][0]
    broken("a typo (tempalte)", lambda b: b.__setitem__("tempalte", b.pop("template")))
    broken("a missing Required. field (template)", lambda b: b.pop("template"))
    broken("a container without its Required. image", lambda b: c0(b).pop("image"))
    broken("an output-only field (uri)", lambda b: b.__setitem__("uri", "https://x.run.app"))
    broken("an int32 sent as a string", lambda b: t(b).__setitem__("maxInstanceRequestConcurrency", "80"))
    broken("a duration without its unit", lambda b: t(b).__setitem__("timeout", "30"))
    broken("a duration written '30 s'", lambda b: t(b).__setitem__("timeout", "30 s"))
    broken("an unknown enum value", lambda b: b.__setitem__("ingress", "PUBLIC"))
    broken("a boolean as a string", lambda b: c0(b)["resources"].__setitem__("cpuIdle", "true"))
    broken("an env var without its Required. name", lambda b: c0(b)["env"][0].pop("name"))
    broken("a typo in a probe", lambda b: c0(b)["startupProbe"].__setitem__("periodSecond", 5))
    broken("an int32 out of range", lambda b: t(b)["scaling"].__setitem__("maxInstanceCount", 2**31))
    broken("an unknown query parameter", path=svc["path"].replace("serviceId=", "serviceID="))
    # serviceId is "Optional" since the run.v2 20260403 revision (the server
    # makes one up): not a negative case any more; the driver names it
    check("serviceId=" in svc["path"], "the create names its serviceId (%s)" % svc["path"])
    broken("PUT instead of POST", method="PUT")
    broken("a path without locations", path="v2/projects/acme-prod/services?serviceId=render-pdf")

    f = gk.spec_workload(SYNTHETIC[2])
    r = gk.call("gcp", SETTINGS, [("render", {"workload": f, "placement": gk.placement("gcp", "Function", "cloud-functions", REGION)})])
    fn = [d for d in r["results"][0]["output"]["documents"] if d["kind"] == "Function"][0]
    check(not gcf.request_errors("POST", fn["path"], fn["body"]), "negative: the unbroken Cloud Functions request is valid")
    broken("Function: an int64 sent as a number",
           lambda b: b["buildConfig"]["source"]["storageSource"].__setitem__("generation", 5), doc=fn, disc=gcf)
    broken("Function: an int64 that is not a number",
           lambda b: b["buildConfig"]["source"]["storageSource"].__setitem__("generation", "five"), doc=fn, disc=gcf)
    broken("Function: an event trigger without its Required. eventType",
           lambda b: b["eventTrigger"].pop("eventType"), doc=fn, disc=gcf)
    broken("Function: output-only state", lambda b: b.__setitem__("state", "ACTIVE"), doc=fn, disc=gcf)
    broken("Function: environment GEN_3", lambda b: b.__setitem__("environment", "GEN_3"), doc=fn, disc=gcf)
    broken("Function: environmentVariables with a number value",
           lambda b: b["serviceConfig"]["environmentVariables"].__setitem__("N", 1), doc=fn, disc=gcf)
    broken("Function: a typo (serviceConfg)", lambda b: b.__setitem__("serviceConfg", b.pop("serviceConfig")), doc=fn, disc=gcf)
    iam = {"body": {"policy": {"bindings": [{"role": "roles/run.invoker", "members": ["allUsers"]}]}},
           "path": "v2/projects/p/locations/r/services/s:setIamPolicy"}
    check(not run.request_errors("POST", iam["path"], iam["body"]), "negative: an unbroken setIamPolicy is valid")
    broken("setIamPolicy without its REQUIRED: policy", lambda b: b.pop("policy"), doc=iam)
    broken("setIamPolicy with a bad resource path", path="v2/projects/p/locations/r/services/a/b:setIamPolicy", doc=iam)


def offers():
    res = gk.call("gcp", {}, [("offers", None)])["results"][0]
    offs = res["output"]["offers"]
    path = gk.catalog_file("regions.csv")
    if path is None:
        print("skip: no catalog/regions.csv in this tree or in the catalog worktree: region tiers not checked")
        return
    with open(path) as f:
        tiers = {r["region"]: r["price_group"] for r in csv.DictReader(f)
                 if r["provider"] == "gcp" and r["kind"] == "region" and r["price_group"] in ("tier1", "tier2")}
    regions = {o["region"] for o in offs}
    check(regions == set(tiers), "offers cover exactly the Cloud Run regions with a price group in %s (%d): extra %s, missing %s"
          % (path, len(tiers), sorted(regions - set(tiers)), sorted(set(tiers) - regions)))
    check(all(o["region_group"] == tiers.get(o["region"]) for o in offs if "region_group" in o),
          "every offer's region_group is the region's price_group")
    kinds = {(o["kind"], o["service"]) for o in offs}
    check(kinds == {("Function", "cloud-run"), ("Function", "cloud-functions"), ("Container", "cloud-run"),
                    ("Container", "gke-autopilot")}, "offers: Function and Container services %s" % sorted(kinds))
    check(len(offs) == 4 * len(tiers), "one offer per service and region")
    sub = gk.call("gcp", {"regions": ["us-east4", "europe-west3"]}, [("offers", None)])["results"][0]["output"]["offers"]
    check({o["region"] for o in sub} == {"us-east4", "europe-west3"} and len(sub) == 8, "settings.regions limits the offers")
    bad = gk.call("gcp", {"regions": ["mars-north1"]}, [])
    check(bad["configure"]["status"] == "invalid" and "mars-north1" in json.dumps(bad["configure"]["diagnostics"]),
          "an unknown region in settings is refused by name")


offers()
render_all()
negative()
gk.finish()
