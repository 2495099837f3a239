#!/usr/bin/env python3
"""Writes a large Federation for measuring the spec reader (and plan): a
top-level fed.yaml whose workloads are {file: part-K.yaml} references, each
part holding up to 1000 workload documents (the per-file document limit).
Workloads are realistic Functions and Containers (traffic with sources,
placement, labels, env, a dependency on the previous workload of the same
part), with code in S3 so no code tree is hashed.

  gen_federation.py --workloads 10000 -o DIR      # DIR/fed.yaml, DIR/part-*.yaml
  /usr/bin/time -v build/fedbroker validate DIR/fed.yaml >/dev/null

Deterministic: the same arguments write the same bytes.
"""
import argparse
import os

LOCATIONS = ["new-york", "frankfurt", "london", "tokyo", "sao-paulo", "sydney",
             "singapore", "mumbai", "paris", "chicago"]


def function(i, prev):
    locs = [LOCATIONS[(i + k) % len(LOCATIONS)] for k in range(3)]
    dep = ("  dependencies:\n    - {workload: w%d, volumePerMonth: %dGi, latencyBudget: 30ms}\n"
           % (prev, 1 + i % 50)) if prev is not None else ""
    return """apiVersion: fedbroker.dev/v1
kind: Function
metadata:
  name: w{i}
  labels: {{team: team-{t}, cost-center: cc-{cc}}}
spec:
  runtime: python3.12
  handler: app.handler
  code: {{s3: {{bucket: acme-code, key: "w{i}/build-{b}.zip"}}}}
  env: {{LOG_LEVEL: info, SHARD: "{i}"}}
  resources: {{memory: {mem}Mi}}
  timeout: 15s
  scaling: {{maxInstances: 200}}
  triggers:
    - http: {{path: /w{i}, public: true, methods: [GET, POST]}}
  traffic:
    requestsPerMonth: {req}
    meanDuration: {dur}ms
    egressPerRequest: 4Ki
    sources:
      - {{location: {l0}, weight: 0.5}}
      - {{location: {l1}, weight: 0.3}}
      - {{location: {l2}, weight: 0.2}}
  placement:
    objective: balanced
    latencyWeight: 0.4
    latencySLO: {{p50: 200ms}}
{dep}""".format(i=i, t=i % 17, cc=1000 + i % 97, b=i % 7, mem=128 * (1 + i % 8),
                req=100000 * (1 + i % 400), dur=20 + i % 180, l0=locs[0], l1=locs[1],
                l2=locs[2], dep=dep)


def container(i, prev):
    return """apiVersion: fedbroker.dev/v1
kind: Container
metadata:
  name: w{i}
  labels: {{team: team-{t}}}
spec:
  image: docker.io/acme/svc-{i}:1.{v}
  ports: [{{port: 8080, protocol: http, public: true}}]
  resources: {{memory: 1Gi, cpu: "0.5"}}
  scaling: {{minInstances: 1, maxInstances: 20, targetConcurrency: 80}}
  healthCheck: {{path: /healthz, period: 15s}}
  traffic:
    requestsPerMonth: {req}
    meanDuration: 80ms
    egressPerMonth: {eg}Gi
    sources:
      - {{location: {l0}, weight: 1}}
""".format(i=i, t=i % 17, v=i % 9, req=1000000 * (1 + i % 30), eg=1 + i % 20,
           l0=LOCATIONS[i % len(LOCATIONS)])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workloads", type=int, required=True)
    ap.add_argument("--per-file", type=int, default=1000)
    ap.add_argument("-o", "--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    parts = []
    i = 0
    while i < a.workloads:
        n = min(a.per_file, a.workloads - i)
        name = "part-%d.yaml" % len(parts)
        docs = []
        for k in range(n):
            prev = i + k - 1 if k > 0 else None
            docs.append(container(i + k, prev) if (i + k) % 5 == 4 else function(i + k, prev))
        with open(os.path.join(a.out, name), "w", encoding="utf-8") as f:
            f.write("---\n".join(docs))
        parts.append(name)
        i += n
    with open(os.path.join(a.out, "fed.yaml"), "w", encoding="utf-8") as f:
        f.write("apiVersion: fedbroker.dev/v1\nkind: Federation\nmetadata:\n"
                "  name: big\n  tenant: acme\nspec:\n  workloads:\n")
        for p in parts:
            f.write("    - {file: %s}\n" % p)


if __name__ == "__main__":
    main()
