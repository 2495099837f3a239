#!/usr/bin/python3
"""Renders workloads with the k8s driver and validates every document against
the Kubernetes 1.36 OpenAPI (Deployment, Service, HPA) and the Knative
Serving CRD schema plus its webhook rules (tests/reference/*/SOURCE.md); then
feeds broken documents to the validators to prove they can fail."""
import copy
import json
import re

import gk
from gk import check
from k8s_schema import K8sValidator, KnativeValidator

k8s = K8sValidator()
kn = KnativeValidator()


def to_k8s_secrets(w):
    """The examples reference AWS/GCP/Vault secrets, which a cluster cannot
    read; point them at Kubernetes Secrets so the rest can be rendered."""
    w = copy.deepcopy(w)
    for s in w["spec"].get("secrets", []):
        s["ref"] = "k8s://%s#value" % s["env"].lower().replace("_", "-")
    return w


SYNTHETIC = [
    """apiVersion: fedbroker.dev/v1
kind: Container
metadata: {name: api-gw, tenant: shop, labels: {team: edge}}
spec:
  image: ghcr.io/acme/gw:2.0
  ports: [{port: 8080, protocol: http, public: true}, {port: 9090, protocol: grpc}]
  env: {MODE: prod, A_FIRST: "1"}
  secrets: [{env: DB_PASSWORD, ref: "k8s://db-creds#password"}]
  resources: {memory: 1536Mi, cpu: 750m, arch: arm64}
  scaling: {minInstances: 2, maxInstances: 12, targetRequestsPerSecond: 40}
  healthCheck: {path: /ready, port: 8080, initialDelay: 2s, period: 5s, timeout: 2s, failureThreshold: 4}
""",
    """apiVersion: fedbroker.dev/v1
kind: Function
metadata: {name: resize, tenant: media}
spec:
  image: ghcr.io/acme/resize:1.0
  resources: {memory: 512Mi}
  scaling: {minInstances: 0, maxInstances: 30, targetConcurrency: 10}
  timeout: 2m
  triggers: [{http: {path: /resize, public: true}}]
  healthCheck: {path: /healthz}
""",
    """apiVersion: fedbroker.dev/v1
kind: Container
metadata: {name: cache, tenant: infra}
spec:
  image: redis:7
  ports: [{port: 6379, protocol: tcp}]
  resources: {memory: 2Gi, cpu: "1"}
  scaling: {minInstances: 3, maxInstances: 3}
  healthCheck: {port: 6379, period: 5s}
""",
    """apiVersion: fedbroker.dev/v1
kind: Container
metadata: {name: rpc, tenant: infra}
spec:
  image: ghcr.io/acme/rpc:1
  ports: [{port: 50051, protocol: grpc, public: true}]
  scaling: {minInstances: 0, maxInstances: 5, targetConcurrency: 50}
  healthCheck: {port: 50051}
""",
]


def quantity_millis(q):
    m = re.fullmatch(r"([0-9]+)(m?)", q)
    return int(m.group(1)) * (1 if m.group(2) else 1000)


def quantity_mib(q):
    m = re.fullmatch(r"([0-9]+)(Mi|Gi)", q)
    return int(m.group(1)) * (1024 if m.group(2) == "Gi" else 1)


def check_semantics(w, docs, label):
    """What the spec asks for is what the documents say."""
    bykind = {}
    for d in docs:
        bykind.setdefault(d["kind"], []).append(d["body"])
    name = w["metadata"]["name"]
    for d in docs:
        b = d["body"]
        check(d["api"] == b["apiVersion"] and d["kind"] == b["kind"] and d["name"] == b["metadata"]["name"]
              and d["namespace"] == b["metadata"]["namespace"], "%s: %s wrapper matches its body" % (label, d["kind"]))
        lb = b["metadata"]["labels"]
        check(lb.get("app.kubernetes.io/name") == name and lb.get("app.kubernetes.io/managed-by") == "fedbroker"
              and lb.get("fedbroker.dev/tenant") == w["metadata"]["tenant"]
              and lb.get("fedbroker.dev/spec-hash") == w["specHash"][:16]
              and b["metadata"]["annotations"]["fedbroker.dev/spec-hash"] == w["specHash"],
              "%s: %s carries the broker's labels" % (label, d["kind"]))
        for k, v in w["metadata"].get("labels", {}).items():
            check(lb.get(k) == v, "%s: %s carries user label %s" % (label, d["kind"], k))
    res = w["spec"]["resources"]
    sc = w["spec"]["scaling"]
    if "Deployment" in bykind:
        dep = bykind["Deployment"][0]
        tmpl = dep["spec"]["template"]
        sel = dep["spec"]["selector"]["matchLabels"]
        check(all(tmpl["metadata"]["labels"].get(k) == v for k, v in sel.items()),
              "%s: the selector matches the pod template" % label)
        c = tmpl["spec"]["containers"][0]
        check(c["image"] == w["spec"]["image"], "%s: image" % label)
        check(quantity_millis(c["resources"]["requests"]["cpu"]) == res["cpuMillis"]
              and quantity_mib(c["resources"]["requests"]["memory"]) == res["memoryMiB"]
              and quantity_mib(c["resources"]["limits"]["memory"]) == res["memoryMiB"],
              "%s: requests %s/%s equal cpuMillis %d, memoryMiB %d" % (
                  label, c["resources"]["requests"]["cpu"], c["resources"]["requests"]["memory"],
                  res["cpuMillis"], res["memoryMiB"]))
        env = {e["name"]: e for e in c.get("env", [])}
        for k, v in w["spec"].get("env", {}).items():
            check(env.get(k, {}).get("value") == v, "%s: env %s" % (label, k))
        for s in w["spec"].get("secrets", []):
            ref = env.get(s["env"], {}).get("valueFrom", {}).get("secretKeyRef", {})
            check(ref.get("name") and ref.get("key"), "%s: secret %s from a secretKeyRef" % (label, s["env"]))
        hc = w["spec"].get("healthCheck")
        if hc:
            p = c["readinessProbe"]
            check(p["periodSeconds"] * 1000 >= hc["periodMs"] and p["failureThreshold"] == hc["failureThreshold"],
                  "%s: readiness probe from healthCheck" % label)
            hport = hc.get("port", (w["spec"].get("ports") or [{"port": 8080}])[0]["port"])
            tcp = any(x["port"] == hport and x["protocol"] == "tcp" for x in w["spec"].get("ports", []))
            grpc = any(x["port"] == hport and x["protocol"] == "grpc" for x in w["spec"].get("ports", []))
            if grpc:
                check(p["grpc"]["port"] == hport, "%s: gRPC probe on the health check's port" % label)
            elif "path" in hc and not tcp:
                check(p["httpGet"]["path"] == hc["path"], "%s: probe path" % label)
            else:
                check(p["tcpSocket"]["port"] == hc.get("port", (w["spec"].get("ports") or [{"port": 8080}])[0]["port"]),
                      "%s: TCP probe on the health check's port" % label)
        if res.get("arch") == "arm64":
            check(tmpl["spec"].get("nodeSelector") == {"kubernetes.io/arch": "arm64"}, "%s: arm64 nodeSelector" % label)
        minr = max(sc["minInstances"], 1)
        maxr = max(sc["maxInstances"], minr)
        if maxr > minr:
            hpa = bykind["HorizontalPodAutoscaler"][0]["spec"]
            check(hpa["minReplicas"] == minr and hpa["maxReplicas"] == maxr
                  and hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
                  and "replicas" not in dep["spec"],
                  "%s: the HPA owns replicas %d..%d" % (label, minr, maxr))
            # one metric per target the spec names (requests per second, then
            # concurrency: the in-flight requests per pod), CPU when none
            want = []
            if sc.get("targetRequestsPerSecond"):
                want.append(("http_requests_per_second", str(sc["targetRequestsPerSecond"])))
            if sc.get("targetConcurrency"):
                want.append(("http_requests_in_flight", str(sc["targetConcurrency"])))
            got = [(m["pods"]["metric"]["name"], m["pods"]["target"]["averageValue"])
                   for m in hpa["metrics"] if m["type"] == "Pods" and m["pods"]["target"]["type"] == "AverageValue"]
            if want:
                check(got == want and len(hpa["metrics"]) == len(want),
                      "%s: HPA on the named metrics %s (got %s)" % (label, want, got))
            else:
                mt = hpa["metrics"][0]
                check(len(hpa["metrics"]) == 1 and mt["type"] == "Resource" and mt["resource"]["name"] == "cpu",
                      "%s: HPA on cpu" % label)
        else:
            check("HorizontalPodAutoscaler" not in bykind and dep["spec"]["replicas"] == minr,
                  "%s: fixed %d replica(s), no HPA" % (label, minr))
        ports = [p["port"] for p in w["spec"].get("ports", [])]
        if w["kind"] == "Function" and any("http" in t for t in w["spec"].get("triggers", [])):
            ports = [8080]
        if ports:
            svc = [s for s in bykind["Service"] if s["metadata"]["name"] == name][0]
            check(sorted(p["port"] for p in svc["spec"]["ports"]) == sorted(ports)
                  and all(svc["spec"]["selector"].get(k) == v for k, v in sel.items()),
                  "%s: Service exposes ports %s" % (label, ports))
        else:
            check("Service" not in bykind, "%s: no ports, no Service" % label)


def render_all():
    examples = [to_k8s_secrets(w) for w in gk.example_workloads()
                if w["kind"] == "Container" or (w["kind"] == "Function" and "image" in w["spec"])]
    synth = [gk.spec_workload(t) for t in SYNTHETIC]
    workloads = examples + synth
    check(len(workloads) >= 7, "%d workloads to render" % len(workloads))
    for settings, service in (({}, "kubernetes"), ({"knative": True}, "knative"),
                              ({"ingressClass": "nginx", "namespace": "shop"}, "kubernetes")):
        calls = []
        for w in workloads:
            inp = {"workload": w, "placement": gk.placement("k8s", w["kind"], service, "on-prem")}
            calls += [("render", inp), ("render", inp)]
        res = gk.call("k8s", settings, calls)["results"]
        for i, w in enumerate(workloads):
            r1, r2 = res[2 * i], res[2 * i + 1]
            label = "k8s %s %s/%s %s" % (service, w["metadata"]["tenant"], w["metadata"]["name"], json.dumps(settings))
            kn_refuses = service == "knative" and (len(w["spec"].get("ports", [])) > 1 or
                                                 any(p["protocol"] == "tcp" for p in w["spec"].get("ports", [])))
            if kn_refuses:
                check(not gk.statusok(r1) and any("/spec/ports" in (d.get("pointer") or "") for d in gk.errors(r1)),
                      "%s: Knative refuses more than one port or a tcp port" % label)
                continue
            if not check(gk.statusok(r1), "%s: renders (%s)" % (label, [d["summary"] for d in gk.errors(r1)])):
                continue
            check(r1["text"] == r2["text"], "%s: deterministic" % label)
            docs = r1["output"]["documents"]
            for d in docs:
                if d["api"] == "serving.knative.dev/v1":
                    errs = kn.errors(d["body"])
                elif d["kind"] == "Ingress":
                    # Not in the reference subset: check the shape we rely on.
                    b = d["body"]
                    errs = [] if (b["apiVersion"] == "networking.k8s.io/v1" and
                                  b["spec"]["ingressClassName"] == settings.get("ingressClass") and
                                  b["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] == w["metadata"]["name"]) \
                        else ["Ingress shape"]
                else:
                    errs = k8s.errors(d["body"])
                check(not errs, "%s: %s valid %s" % (label, d["kind"], errs[:3]))
            if service == "kubernetes":
                check_semantics(w, docs, label)
                public = any(p.get("public") for p in w["spec"].get("ports", [])) or \
                    any(t.get("http", {}).get("public") for t in w["spec"].get("triggers", []))
                kinds = [d["kind"] for d in docs]
                if public and settings.get("ingressClass") and any(
                        p.get("protocol", "http") == "http" and p.get("public") for p in w["spec"].get("ports", [{"protocol": "http", "public": True}])):
                    check("Ingress" in kinds, "%s: public http goes through an Ingress" % label)
                elif public:
                    check(any(d["kind"] == "Service" and d["body"]["spec"]["type"] == "LoadBalancer" for d in docs),
                          "%s: public ports get a LoadBalancer Service" % label)
            else:
                b = docs[0]["body"]
                ann = b["spec"]["template"]["metadata"]["annotations"]
                sc = w["spec"]["scaling"]
                want_min = 0 if sc["scaleToZero"] else max(sc["minInstances"], 1)
                check(ann["autoscaling.knative.dev/min-scale"] == str(want_min)
                      and ann["autoscaling.knative.dev/max-scale"] == str(max(sc["maxInstances"], want_min, 1)),
                      "%s: min-scale %d, max-scale from the spec" % (label, want_min))
                if sc.get("targetConcurrency"):
                    check(ann["autoscaling.knative.dev/target"] == str(sc["targetConcurrency"])
                          and b["spec"]["template"]["spec"]["containerConcurrency"] == sc["targetConcurrency"],
                          "%s: concurrency target" % label)
                check(b["spec"]["template"]["spec"]["timeoutSeconds"] * 1000 >= w["spec"]["timeoutMs"],
                      "%s: timeoutSeconds covers the spec timeout" % label)
    return workloads


def negative():
    """The validators must catch broken documents."""
    w = gk.spec_workload(SYNTHETIC[0])
    res = gk.call("k8s", {}, [("render", {"workload": w, "placement": gk.placement("k8s", "Container", "kubernetes", "on-prem")})])
    docs = {d["kind"]: d["body"] for d in res["results"][0]["output"]["documents"] if d["name"] == "api-gw"}
    good = docs["Deployment"]
    check(not k8s.errors(good), "negative: the unbroken Deployment is valid")

    def broken(what, mutate, base=good, validator=k8s):
        b = copy.deepcopy(base)
        mutate(b)
        errs = validator.errors(b)
        check(errs, "negative: %s is refused (%s)" % (what, errs[:1]))

    broken("a typo (replica)", lambda b: b["spec"].__setitem__("replica", 2))
    broken("a typo in a container (imagePullPolcy)",
           lambda b: b["spec"]["template"]["spec"]["containers"][0].__setitem__("imagePullPolcy", "Always"))
    broken("containerPort as a string",
           lambda b: b["spec"]["template"]["spec"]["containers"][0]["ports"][0].__setitem__("containerPort", "8080"))
    broken("a container without a name",
           lambda b: b["spec"]["template"]["spec"]["containers"][0].pop("name"))
    broken("apiVersion apps/v1beta1", lambda b: b.__setitem__("apiVersion", "apps/v1beta1"))
    broken("a cpu quantity '1.5 cores'",
           lambda b: b["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"].__setitem__("cpu", "1.5 cores"))
    broken("a Service targetPort that is a list",
           lambda b: b["spec"]["ports"][0].__setitem__("targetPort", [8080]), base=docs["Service"])
    broken("an HPA without maxReplicas", lambda b: b["spec"].pop("maxReplicas"), base=docs["HorizontalPodAutoscaler"])
    check(not k8s.errors(docs["Service"]) and not k8s.errors(docs["HorizontalPodAutoscaler"]),
          "negative: the unbroken Service and HPA are valid")
    svc = copy.deepcopy(docs["Service"])
    svc["spec"]["ports"][0]["targetPort"] = "http-8080"
    check(not k8s.errors(svc), "negative: a named targetPort (IntOrString as string) is accepted")

    wf = gk.spec_workload(SYNTHETIC[1])
    res = gk.call("k8s", {"knative": True}, [("render", {"workload": wf, "placement": gk.placement("k8s", "Function", "knative", "on-prem")})])
    ksvc = res["results"][0]["output"]["documents"][0]["body"]
    check(not kn.errors(ksvc), "negative: the unbroken Knative Service is valid")
    c0 = lambda b: b["spec"]["template"]["spec"]["containers"][0]
    broken("Knative: no image", lambda b: c0(b).pop("image"), base=ksvc, validator=kn)
    broken("Knative: two ports", lambda b: c0(b)["ports"].append({"containerPort": 9090, "name": "h2c"}), base=ksvc, validator=kn)
    broken("Knative: containerConcurrency 5000",
           lambda b: b["spec"]["template"]["spec"].__setitem__("containerConcurrency", 5000), base=ksvc, validator=kn)
    broken("Knative: timeoutSeconds 3600",
           lambda b: b["spec"]["template"]["spec"].__setitem__("timeoutSeconds", 3600), base=ksvc, validator=kn)
    broken("Knative: a typo in the revision spec (containerConcurency)",
           lambda b: b["spec"]["template"]["spec"].__setitem__("containerConcurency", 1), base=ksvc, validator=kn)
    broken("Knative: env PORT",
           lambda b: c0(b).setdefault("env", []).append({"name": "PORT", "value": "1"}), base=ksvc, validator=kn)
    broken("Knative: min-scale 'two'",
           lambda b: b["spec"]["template"]["metadata"]["annotations"].__setitem__("autoscaling.knative.dev/min-scale", "two"),
           base=ksvc, validator=kn)


render_all()
negative()
gk.finish()
