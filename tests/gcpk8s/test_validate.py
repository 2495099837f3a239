#!/usr/bin/python3
"""validate of the gcp and k8s drivers: a table of bad (and borderline)
workloads, each with the status, JSON pointers and messages expected. The
bases are real normal forms from `fedbroker validate --format json`; each
case patches one or more fields the way a hand-edited or future spec could.
"""
import copy

import gk
from gk import check

BASES = {
    "ctr": """apiVersion: fedbroker.dev/v1
kind: Container
metadata: {name: web, tenant: t1}
spec:
  image: nginx:1.25
  ports: [{port: 8080, protocol: http, public: true}]
  resources: {cpu: "1", memory: 1Gi}
""",
    "fn_img": """apiVersion: fedbroker.dev/v1
kind: Function
metadata: {name: fimg, tenant: t1}
spec:
  image: nginx:1.25
  resources: {memory: 512Mi}
  triggers: [{http: {path: /, public: true}}]
""",
    "fn_src": """apiVersion: fedbroker.dev/v1
kind: Function
metadata: {name: fsrc, tenant: t1}
spec:
  runtime: python3.12
  handler: main.handler
  code: {path: .}
  resources: {memory: 256Mi}
  triggers: [{http: {path: /, public: true}}]
""",
}
B = {k: gk.spec_workload(v) for k, v in BASES.items()}


def patched(base, patches):
    w = copy.deepcopy(B[base])
    for ptr, val in patches:
        parts = ptr.strip("/").split("/")
        node = w
        for p in parts[:-1]:
            node = node[int(p)] if isinstance(node, list) else node.setdefault(p, {})
        last = parts[-1]
        if val is DELETE:
            del node[int(last) if isinstance(node, list) else last]
        elif isinstance(node, list) and int(last) == len(node):
            node.append(val)
        elif isinstance(node, list):
            node[int(last)] = val
        else:
            node[last] = val
    return w


DELETE = object()
LONG = "a" + "b" * 49  # 50 characters

E, W, N = "error", "warning", "note"

# (driver, settings, service, region, base, patches, status, [(severity, pointer, substring)])
GCP = [
    ("cloud-run", "ctr", [("/spec/resources/memoryMiB", 40960)], "invalid",
     [(E, "/spec/resources/memory", "at most 32 GiB")]),
    ("cloud-run", "ctr", [("/spec/resources/cpuMillis", 16000)], "invalid",
     [(E, "/spec/resources/cpu", "at most 8 vCPU")]),
    ("cloud-run", "ctr", [("/spec/scaling/targetConcurrency", 2000)], "invalid",
     [(E, "/spec/scaling/targetConcurrency", "at most 1000")]),
    ("cloud-run", "ctr", [("/spec/timeoutMs", 4000000)], "invalid", [(E, "/spec/timeout", "at most 3600 s")]),
    ("cloud-run", "ctr", [("/metadata/name", LONG)], "invalid", [(E, "/metadata/name", "at most 49 characters")]),
    ("cloud-run", "ctr", [("/spec/env/PORT", "9000"), ("/spec/env/K_SERVICE", "x")], "invalid",
     [(E, "/spec/env/PORT", "reserves the environment variable PORT"),
      (E, "/spec/env/K_SERVICE", "reserves the environment variable K_SERVICE")]),
    ("cloud-run", "ctr", [("/spec/secrets", [{"env": "DB", "ref": "aws-sm://prod/db#pw"}])], "invalid",
     [(E, "/spec/secrets/0/ref", "Secret Manager only")]),
    ("cloud-run", "ctr", [("/spec/secrets", [{"env": "DB", "ref": "gcp-sm://projects/p1/secrets/bad!name"}])], "invalid",
     [(E, "/spec/secrets/0/ref", "bad Secret Manager reference")]),
    ("cloud-run", "ctr", [("/spec/image", "public.ecr.aws/nginx/nginx:1.25")], "invalid",
     [(E, "/spec/image", "not from public.ecr.aws")]),
    ("cloud-run", "ctr", [("/spec/ports", [{"port": 8080, "protocol": "http", "public": True},
                                           {"port": 9090, "protocol": "grpc", "public": False}])], "invalid",
     [(E, "/spec/ports", "one container port")]),
    ("cloud-run", "ctr", [("/spec/ports/0/protocol", "tcp")], "invalid",
     [(E, "/spec/ports/0/protocol", "HTTP and gRPC only")]),
    ("cloud-run", "ctr", [("/spec/resources/arch", "arm64")], "invalid",
     [(E, "/spec/resources/arch", "linux/amd64 images only")]),
    ("cloud-run", "fn_src", [], "invalid", [(E, "/spec/image", "runs container images")]),
    ("cloud-run", "ctr", [("/spec/healthCheck", {"path": "/h", "initialDelayMs": 300000, "periodMs": 10000,
                                                 "timeoutMs": 20000, "failureThreshold": 3})], "invalid",
     [(E, "/spec/healthCheck/initialDelay", "at most 240 s"), (E, "/spec/healthCheck/timeout", "must not exceed the period")]),
    ("cloud-run", "ctr", [("/spec/healthCheck", {"path": "/h", "initialDelayMs": 0, "periodMs": 60000,
                                                 "timeoutMs": 1000, "failureThreshold": 5})], "invalid",
     [(E, "/spec/healthCheck/failureThreshold", "at most 240 s")]),
    # schedule -> Cloud Scheduler, queue -> Pub/Sub push (issue 13): wired, so no warning
    ("cloud-run", "fn_img", [("/spec/triggers", [{"schedule": {"cron": "* * * * *", "timezone": "UTC"}}])], "ok",
     []),
    ("cloud-run", "fn_img", [("/spec/triggers", [{"queue": {"name": "orders", "batchSize": 5}}])], "ok",
     [(N, "/spec/triggers/0", "Pub/Sub pushes one message per request")]),
    ("cloud-run", "fn_img", [("/spec/triggers", [{"queue": {"name": "q", "batchSize": 1}}])], "invalid",
     [(E, "/spec/triggers/0/queue/name", "Pub/Sub cannot name a topic 'q'")]),
    ("cloud-functions", "fn_src", [("/spec/triggers", [{"schedule": {"cron": "* * * * *", "timezone": "UTC"}},
                                                       {"queue": {"name": "jobs", "batchSize": 1}}])], "invalid",
     [(E, "/spec/triggers", "Cloud Scheduler calls a function over HTTP")]),
    ("cloud-run", "ctr", [("/spec/resources/cpuMillis", 1500)], "ok",
     [(N, "/spec/resources/cpu", "rounded up from 1.5 to 2 vCPU")]),
    ("cloud-run", "ctr", [("/spec/resources/cpuMillis", 250), ("/spec/resources/memoryMiB", 768)], "ok",
     [(N, "/spec/resources/cpu", "rounded up from 0.25 to 0.5 vCPU")]),
    ("cloud-run", "ctr", [("/spec/resources/cpuMillis", 250), ("/spec/resources/memoryMiB", 256),
                          ("/spec/scaling/minInstances", 1), ("/spec/scaling/scaleToZero", False)], "ok",
     [(N, "/spec/resources/cpu", "instance-based billing")]),
    ("cloud-run", "ctr", [("/spec/resources/cpuMillis", 1000), ("/spec/resources/memoryMiB", 6144)], "ok",
     [(N, "/spec/resources/cpu", "rounded up from 1 to 2 vCPU")]),
    ("cloud-run", "ctr", [("/spec/resources/cpuMillis", 4000), ("/spec/resources/memoryMiB", 1024)], "ok",
     [(N, "/spec/resources/memory", "rounded up from 1024 MiB to 2048 MiB")]),
    ("cloud-functions", "fn_src", [("/spec/runtime", "python3.9")], "invalid",
     [(E, "/spec/runtime", "no runtime for 'python3.9'")]),
    ("cloud-functions", "fn_src", [("/spec/runtime", "go1.23"), ("/spec/handler", "main.Handle")], "invalid",
     [(E, "/spec/runtime", "no runtime for 'go1.23'")]),
    ("cloud-functions", "fn_src", [("/spec/triggers", [{"queue": {"name": "jobs", "batchSize": 1}}]),
                                   ("/spec/timeoutMs", 600000)], "invalid",
     [(E, "/spec/timeout", "at most 540 s")]),
    ("cloud-functions", "fn_src", [("/spec/triggers/1", {"queue": {"name": "jobs", "batchSize": 1}})], "invalid",
     [(E, "/spec/triggers", "either an HTTP function or an event function")]),
    ("cloud-functions", "fn_img", [], "invalid", [(E, "/spec/image", "builds functions from source")]),
    ("cloud-functions", "fn_src", [("/spec/env/FUNCTION_TARGET", "x"), ("/spec/env/X_GOOGLE_FOO", "y")], "invalid",
     [(E, "/spec/env/FUNCTION_TARGET", "reserves"), (E, "/spec/env/X_GOOGLE_FOO", "X_GOOGLE_ prefix")]),
    ("cloud-functions", "fn_src", [("/spec/code", DELETE)], "invalid", [(E, "/spec/code", "needs spec.code")]),
    ("cloud-functions", "fn_src", [("/spec/handler", "app.handler")], "ok",
     [(W, "/spec/handler", "loads the function 'handler' from main")]),
    ("cloud-functions", "fn_src", [("/spec/code", {"s3": {"bucket": "b", "key": "k.zip"}})], "ok",
     [(W, "/spec/code/s3", "reads source from Cloud Storage")]),
    ("cloud-functions", "fn_src", [("/metadata/name", "f" * 63)], "ok", []),
    ("cloud-functions", "fn_src", [("/metadata/name", "f" * 64)], "invalid",
     [(E, "/metadata/name", "at most 63 characters")]),
    ("gke-autopilot", "ctr", [("/spec/resources/cpuMillis", 40000), ("/spec/resources/memoryMiB", 204800),
                              ("/spec/resources/ephemeralStorageMiB", 20480)], "invalid",
     [(E, "/spec/resources/cpu", "at most 30 vCPU"), (E, "/spec/resources/memory", "at most 110 GiB"),
      (E, "/spec/resources/ephemeralStorage", "at most 10 GiB")]),
    ("gke-autopilot", "ctr", [("/spec/resources/cpuMillis", 300), ("/spec/resources/memoryMiB", 256)], "ok",
     [(N, "/spec/resources/cpu", "rounded up from 0.3 to 0.5 vCPU"),
      (N, "/spec/resources/memory", "rounded up from 256 MiB to 512 MiB")]),
    ("gke-autopilot", "ctr", [("/spec/resources/cpuMillis", 250), ("/spec/resources/memoryMiB", 4096)], "ok",
     [(N, "/spec/resources/cpu", "rounded up from 0.25 to 0.75 vCPU")]),
    ("gke-autopilot", "ctr", [("/spec/secrets", [{"env": "DB", "ref": "gcp-sm://db"}])], "invalid",
     [(E, "/spec/secrets/0/ref", "Kubernetes Secrets only")]),
    ("gke-autopilot", "ctr", [("/metadata/name", "Web")], "invalid", [(E, "/metadata/name", "DNS-1035")]),
    ("cloud-functions", "ctr", [], "invalid", [(E, None, "placement.service 'cloud-functions' is not offered for a Container")]),
    ("cloud-run", "ctr", [("/spec/resources/gpu", {"count": 1, "type": "nvidia-l4"})], "invalid",
     [(E, "/spec/resources/gpu", "does not place GPU workloads")]),
    ("cloud-run", "ctr", [("/kind", "QuantumJob")], "invalid", [(E, "/kind", "cannot run kind QuantumJob")]),
    # every problem at once
    ("cloud-run", "ctr", [("/metadata/name", LONG), ("/spec/resources/memoryMiB", 40960), ("/spec/env/PORT", "1"),
                          ("/spec/resources/arch", "arm64")], "invalid",
     [(E, "/metadata/name", "49"), (E, "/spec/resources/memory", "32 GiB"), (E, "/spec/env/PORT", "PORT"),
      (E, "/spec/resources/arch", "amd64")]),
]

K8S = [
    ({}, "kubernetes", "ctr", [("/metadata/name", "Bad_Name")], "invalid", [(E, "/metadata/name", "DNS-1035 labels")]),
    ({}, "kubernetes", "fn_src", [], "invalid", [(E, "/spec/image", "runs container images")]),
    ({}, "kubernetes", "ctr", [("/spec/ports", [{"port": 70000, "protocol": "http", "public": False},
                                                 {"port": 8080, "protocol": "http", "public": True},
                                                 {"port": 8080, "protocol": "grpc", "public": False}])], "invalid",
     [(E, "/spec/ports/0/port", "out of range"), (E, "/spec/ports/2/port", "listed twice")]),
    ({}, "kubernetes", "ctr", [("/spec/secrets", [{"env": "A", "ref": "aws-sm://x#y"},
                                                   {"env": "B", "ref": "k8s://creds"},
                                                   {"env": "C", "ref": "k8s://other-ns/creds#pw"},
                                                   {"env": "D", "ref": "k8s://creds#pw"}])], "invalid",
     [(E, "/spec/secrets/0/ref", "Kubernetes Secrets only"), (E, "/spec/secrets/1/ref", "bad Kubernetes secret reference"),
      (E, "/spec/secrets/2/ref", "own namespace 'fb-t1'")]),
    # a schedule-only Function becomes CronJobs; a schedule next to an
    # http trigger, or a cron Kubernetes cannot parse, is refused
    ({}, "kubernetes", "fn_img", [("/spec/triggers", [{"schedule": {"cron": "* * * * *", "timezone": "UTC"}}])], "ok", []),
    ({}, "kubernetes", "fn_img", [("/spec/triggers/1", {"schedule": {"cron": "* * * * *", "timezone": "UTC"}})],
     "invalid", [(E, "/spec/triggers/1", "also serves requests")]),
    ({}, "kubernetes", "fn_img", [("/spec/triggers", [{"schedule": {"cron": "0 0 L * ?", "timezone": "UTC"}}])],
     "invalid", [(E, "/spec/triggers/0", "do not understand L, W or #")]),
    ({}, "kubernetes", "fn_img", [("/spec/triggers", [{"queue": {"name": "jobs", "batchSize": 5}}])], "ok",
     [(W, "/spec/triggers/0", "queue 'jobs' is not wired")]),
    ({}, "kubernetes", "ctr", [("/spec/resources/cpuMillis", 0)], "invalid", [(E, "/spec/resources/cpu", "must be positive")]),
    ({}, "kubernetes", "ctr", [("/spec/resources/gpu", {"count": 1, "type": "nvidia-l4"})], "invalid",
     [(E, "/spec/resources/gpu", "does not place GPU")]),
    ({}, "knative", "ctr", [], "invalid", [(E, None, "placement.service 'knative' is not offered")]),
    ({"knative": True}, "knative", "ctr", [("/spec/ports", [{"port": 8080, "protocol": "http", "public": True},
                                                            {"port": 9000, "protocol": "tcp", "public": False}]),
                                            ("/spec/scaling/targetConcurrency", 2000), ("/spec/timeoutMs", 900000)], "invalid",
     [(E, "/spec/ports", "at most one container port"), (E, "/spec/ports/1/protocol", "HTTP and gRPC only"),
      (E, "/spec/scaling/targetConcurrency", "0..1000"), (E, "/spec/timeout", "ceiling is 600 s")]),
    ({"knative": True, "knativeMaxTimeoutSeconds": 1800}, "knative", "ctr", [("/spec/timeoutMs", 900000)], "ok", []),
    # Knative's webhook refuses its queue-proxy's ports (a gRPC server on
    # 9090 is the common case); a Deployment takes them
    ({"knative": True}, "knative", "ctr", [("/spec/ports", [{"port": 9090, "protocol": "grpc", "public": False}])],
     "invalid", [(E, "/spec/ports/0/port", "its webhook refuses port 9090")]),
    ({"knative": True}, "knative", "ctr", [("/spec/ports", [{"port": 8012, "protocol": "http", "public": True}])],
     "invalid", [(E, "/spec/ports/0/port", "reserves ports 8012, 8013, 8022, 9090, 9091 and 8008")]),
    ({"knative": True}, "kubernetes", "ctr", [("/spec/ports", [{"port": 9090, "protocol": "grpc", "public": False}])],
     "ok", []),
    ({"knative": True}, "knative", "ctr", [("/spec/resources/arch", "arm64")], "ok",
     [(W, "/spec/resources/arch", "podspec-nodeselector")]),
    ({}, "kubernetes", "ctr", [], "ok", []),
    ({}, "kubernetes", "fn_img", [("/spec/triggers", [{"queue": {"name": "jobs", "batchSize": 1}}]),
                                  ("/spec/healthCheck", {"initialDelayMs": 0, "periodMs": 10000, "timeoutMs": 1000,
                                                         "failureThreshold": 3})], "invalid",
     [(E, "/spec/healthCheck/port", "no port to probe")]),
    ({}, "kubernetes", "ctr", [("/spec/traffic/requestsPerMonth", 2**62), ("/spec/resources/memoryMiB", -1)], "invalid",
     [(E, "/spec/traffic/requestsPerMonth", "out of range"), (E, "/spec/resources/memory", "out of range")]),
    ({"region": "lab-1"}, "kubernetes", "ctr", [], "invalid", [(E, None, "placement.region 'on-prem' is not offered")]),
]


def run_table():
    calls, cases = [], []
    for svc, base, patches, status, want in GCP:
        w = patched(base, patches)
        calls.append(("validate", {"workload": w, "placement": gk.placement("gcp", w["kind"], svc, "us-central1")}))
        cases.append((svc, base, patches, status, want))
    res = gk.call("gcp", {}, calls)["results"]
    region_bad = gk.call("gcp", {}, [("validate", {"workload": B["ctr"], "placement": gk.placement("gcp", "Container", "cloud-run", "mars-1")})])
    res.append(region_bad["results"][0])
    cases.append(("cloud-run", "ctr", [("placement.region", "mars-1")], "invalid",
                  [(E, None, "placement.region 'mars-1' is not offered")]))
    for r, (svc, base, patches, status, want) in zip(res, cases):
        judge("gcp", svc, base, patches, status, want, r)
    for settings, svc, base, patches, status, want in K8S:
        w = patched(base, patches)
        r = gk.call("k8s", settings, [("validate", {"workload": w, "placement": gk.placement("k8s", w["kind"], svc, "on-prem")})])
        judge("k8s", svc, base, patches, status, want, r["results"][0])


def judge(drv, svc, base, patches, status, want, r):
    label = "%s %s %s %s" % (drv, svc, base, [p for p, _ in patches])
    diags = r["diagnostics"]
    check(r["status"] == status, "%s: status %s (got %s: %s)" % (label, status, r["status"],
                                                                 [d["summary"] for d in gk.errors(r)]))
    for sev, ptr, sub in want:
        hit = [d for d in diags if d["severity"] == sev and d.get("pointer") == ptr and sub in (d["summary"] + " " + d.get("detail", ""))]
        check(hit, "%s: %s at %s saying '%s'" % (label, sev, ptr, sub))
        for d in hit:
            check(d["summary"].startswith(drv + ": ") and (sev != E or d.get("detail")),
                  "%s: the %s names the driver and says what to do" % (label, sev))
    if status == "invalid":
        nerr = len([w for w in want if w[0] == E])
        check(len(gk.errors(r)) >= nerr, "%s: all %d problems reported at once" % (label, nerr))
    else:
        check(not gk.errors(r), "%s: no errors" % label)


def runtime_list_in_error():
    r = gk.call("gcp", {}, [("validate", {"workload": patched("fn_src", [("/spec/runtime", "python3.9")]),
                                          "placement": gk.placement("gcp", "Function", "cloud-functions", "us-central1")})])
    d = [x for x in gk.errors(r["results"][0]) if x.get("pointer") == "/spec/runtime"][0]
    for rt in ("python310", "python311", "python312", "nodejs18", "nodejs20", "nodejs22", "go121", "go122", "java17",
               "java21", "ruby32", "ruby33", "dotnet8", "php82", "php83"):
        check(rt in d["detail"], "the runtime error lists %s" % rt)


def malformed():
    for drv in ("gcp", "k8s"):
        r = gk.call(drv, {}, [("validate", "not json"), ("validate", "[]"), ("validate", {"workload": 42}),
                              ("validate", {"workload": B["ctr"]}), ("render", {}), ("usage", "{")])
        for i, x in enumerate(r["results"]):
            check(x["status"] == "invalid" and gk.errors(x), "%s: malformed input %d refused with an error" % (drv, i))
    bad = gk.call("k8s", {"namespace": "Not_OK", "knative": "yes", "colour": 1}, [])
    msgs = " ".join(d["summary"] for d in bad["configure"]["diagnostics"])
    check(bad["configure"]["status"] == "invalid" and "namespace" in msgs and "knative" in msgs and "colour" in msgs,
          "k8s: bad settings are refused, each by name")
    bad = gk.call("gcp", {"project": "X", "serviceAccount": "nobody", "registryMirrors": {"ghcr.io": "ghcr.io/x"}}, [])
    msgs = " ".join(d["summary"] for d in bad["configure"]["diagnostics"])
    check(bad["configure"]["status"] == "invalid" and "project" in msgs and "serviceAccount" in msgs and "registryMirrors" in msgs,
          "gcp: bad settings are refused, each by name")


run_table()
runtime_list_in_error()
malformed()
gk.finish()
