#!/usr/bin/env python3
"""Generates one Federation spec for `fedbroker plan` benchmarks and tests.

Shapes (--shape):
  identical  N Functions that differ only in name and labels: one shape.
  distinct   N Functions that all differ (memory, runtime, requests,
             duration, egress, user locations): N shapes.
  mixed      Functions, Containers and a few QuantumJobs, in applications of
             8 workloads with links between them (a chain,
             some with a latency budget), some with EU residency, others
             with a latency SLO (never both); a few shapes repeat, most do
             not.

Deterministic from --seed. Writes YAML (the format people write); --json
writes the same document as JSON. A spec file holds at most 1000 documents
and 4 MiB, so --split K (default 500) writes the workloads of a larger
federation K to a file next to the output (OUT-partNNN.yaml, referenced as
{file: ...}); the federation file keeps the links.

  gen_plan_fed.py --shape identical -n 1000 -o fed.yaml
  gen_plan_fed.py --shape mixed -n 10000 --seed 3 -o fed.yaml
"""
import argparse
import json
import os
import random
import sys

LOCATIONS = ["new-york", "frankfurt", "london", "tokyo", "sao-paulo", "sydney",
             "paris", "singapore", "mumbai", "toronto", "chicago", "seoul"]
RUNTIMES = ["python3.12", "nodejs20", "java21", "go1.22", "ruby3.3", "python3.11"]
MEMORIES = ["128Mi", "256Mi", "512Mi", "1Gi", "2Gi", "3Gi"]


def sources(rng, k):
    locs = rng.sample(LOCATIONS, k)
    # weights in whole percent that add up to 100
    cuts = sorted(rng.sample(range(1, 100), k - 1)) if k > 1 else []
    parts = [b - a for a, b in zip([0] + cuts, cuts + [100])]
    return [{"location": l, "weight": p / 100} for l, p in zip(locs, parts)]


def function(name, rng, distinct, i, code_key=None):
    if not distinct:
        return {
            "apiVersion": "fedbroker.dev/v1", "kind": "Function",
            "metadata": {"name": name, "labels": {"team": "t%d" % (i % 7), "app": name}},
            "spec": {
                "runtime": "python3.12", "handler": "main.handler",
                "code": {"s3": {"bucket": "acme-code", "key": "fn.zip"}},
                "resources": {"memory": "512Mi"},
                "triggers": [{"http": {"path": "/", "public": True}}],
                "traffic": {"requestsPerMonth": 2000000, "meanDuration": "80ms",
                            "egressPerRequest": "4Ki",
                            "sources": [{"location": "new-york", "weight": 0.5},
                                        {"location": "frankfurt", "weight": 0.5}]},
            },
        }
    spec = {
        "runtime": rng.choice(RUNTIMES), "handler": "main.handler",
        "code": {"s3": {"bucket": "acme-code", "key": code_key or "%s.zip" % name}},
        "resources": {"memory": rng.choice(MEMORIES)},
        "triggers": [{"http": {"path": "/", "public": True}}],
        "traffic": {"requestsPerMonth": 100000 + 1000 * i + rng.randrange(1000),
                    "meanDuration": "%dms" % rng.randrange(5, 900),
                    "egressPerRequest": "%dKi" % rng.randrange(1, 64),
                    "sources": sources(rng, rng.randrange(1, 4))},
    }
    return {"apiVersion": "fedbroker.dev/v1", "kind": "Function",
            "metadata": {"name": name, "labels": {"team": "t%d" % (i % 7)}}, "spec": spec}


def container(name, rng, i):
    return {
        "apiVersion": "fedbroker.dev/v1", "kind": "Container",
        "metadata": {"name": name, "labels": {"team": "t%d" % (i % 7)}},
        "spec": {
            "image": "docker.io/acme/%s:1.0" % name,
            "ports": [{"port": 8080, "protocol": "http"}],
            "resources": {"memory": rng.choice(["1Gi", "2Gi", "4Gi"]),
                          "cpu": rng.choice(["0.5", "1", "2"])},
            "scaling": {"minInstances": rng.choice([1, 2]), "maxInstances": 10},
            "traffic": {"requestsPerMonth": 1000000 + 10000 * rng.randrange(100),
                        "meanDuration": "%dms" % rng.randrange(10, 200),
                        "egressPerMonth": "%dGi" % rng.randrange(1, 50),
                        "sources": sources(rng, rng.randrange(1, 3))},
        },
    }


def quantum(name, i):
    return {
        "apiVersion": "fedbroker.dev/v1", "kind": "QuantumJob",
        "metadata": {"name": name},
        "spec": {"program": {"source": "OPENQASM 3.0;\ninclude \"stdgates.inc\";\nqubit[2] q;\n"
                             "bit[2] c;\nh q[0];\ncx q[0], q[1];\nc = measure q;\n"},
                 "shots": 100 + (i % 5) * 100, "backend": {"type": "any", "minQubits": 2},
                 "deadline": "6h", "placement": {"objective": "cost"}},
    }


def mixed(n, rng):
    workloads, links = [], []
    for app in range((n + 7) // 8):
        names = []
        for j in range(8):
            i = app * 8 + j
            if i >= n:
                break
            name = "a%d-w%d" % (app, j)
            if j == 7 and app % 10 == 0:
                w = quantum(name, i)
            elif j in (1, 4):
                w = container(name, rng, i)
            else:
                # every third app's functions share one shape
                w = (function(name, random.Random(app), True, app * 8, "app%d.zip" % app) if app % 3 == 0
                     else function(name, rng, True, i))
            place = w["spec"].setdefault("placement", {})
            if app % 4 == 1 and w["kind"] != "QuantumJob":
                place["residency"] = ["EU"]
            # residency or a latency SLO, never both: a p50 of 250 ms kept in
            # the EU cannot be met for users mostly in Sydney (259 ms at best,
            # gcp:europe-west3), which made every seed but 1 at 1,000 and seed
            # 1 at 10,000 infeasible before any solve
            if app % 5 == 2 and w["kind"] == "Function" and app % 4 != 1:
                place["latencySLO"] = {"p50": "250ms"}
            if not place:
                del w["spec"]["placement"]
            workloads.append(w)
            if w["kind"] != "QuantumJob":
                names.append(name)
        for a, b in zip(names, names[1:]):
            link = {"from": a, "to": b, "volumePerMonth": "%dGi" % rng.randrange(1, 20)}
            if rng.random() < 0.3:
                link["latencyBudget"] = "%dms" % rng.choice([40, 80, 150])
            links.append(link)
    return workloads, links


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shape", choices=["identical", "distinct", "mixed"], required=True)
    ap.add_argument("-n", type=int, required=True, help="number of workloads")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="write JSON instead of YAML")
    ap.add_argument("-o", "--output", default="-")
    ap.add_argument("--split", type=int, default=500,
                    help="workloads per referenced file when there are more (YAML only)")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    links = []
    if a.shape == "mixed":
        workloads, links = mixed(a.n, rng)
    else:
        workloads = [function("fn-%05d" % i, rng, a.shape == "distinct", i) for i in range(a.n)]
    fed = {"apiVersion": "fedbroker.dev/v1", "kind": "Federation",
           "metadata": {"name": "bench-%s" % a.shape, "tenant": "bench"},
           "spec": {"workloads": workloads}}
    if len(links) > 1000:
        # a federation lists at most 1,000 links: the rest are the same
        # traffic written as the sending workload's dependencies
        byname = {w["metadata"]["name"]: w for w in workloads}
        for l in links:
            dep = {"workload": l["to"], "volumePerMonth": l["volumePerMonth"]}
            if "latencyBudget" in l:
                dep["latencyBudget"] = l["latencyBudget"]
            byname[l["from"]]["spec"].setdefault("dependencies", []).append(dep)
    elif links:
        fed["spec"]["links"] = links
    parts = []
    if not a.json and a.output != "-" and len(workloads) > a.split:
        base = a.output[:-5] if a.output.endswith(".yaml") else a.output
        for k in range(0, len(workloads), a.split):
            name = "%s-part%03d.yaml" % (base, k // a.split)
            parts.append((name, workloads[k:k + a.split]))
        fed["spec"]["workloads"] = [{"file": os.path.basename(n)} for n, _ in parts]
    out = sys.stdout if a.output == "-" else open(a.output, "w")
    if a.json:
        json.dump(fed, out, indent=1, sort_keys=False)
        out.write("\n")
    else:
        import yaml  # python3-yaml
        out.write("# generated by bench/gen_plan_fed.py --shape %s -n %d --seed %d\n"
                  % (a.shape, a.n, a.seed))
        yaml.safe_dump(fed, out, sort_keys=False, default_flow_style=None, width=120)
        for name, ws in parts:
            with open(name, "w") as f:
                f.write("# part of %s\n" % os.path.basename(a.output))
                yaml.safe_dump_all(ws, f, sort_keys=False, default_flow_style=None, width=120)
    if out is not sys.stdout:
        out.close()

if __name__ == "__main__":
    main()
