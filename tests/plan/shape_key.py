#!/usr/bin/python3
"""The key plan's evaluation cache relies on, checked against the drivers:
in plan mode, validate and usage answer the same for two workloads whose
normal forms differ only in metadata (name, tenant, labels, annotations)
and specHash (docs/driver-abi.md, "Plan calls"). For each staged driver
(aws, gcp, k8s, quantum), each example and test workload of a kind it
offers, and each of its offers, the answers to the workload as written and
to variants with other valid metadata must be identical: status,
diagnostics and output, byte for byte. The drivers are called through
tests/gcpk8s/drvcall (the broker's registry and host table)."""
import copy
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "gcpk8s"))
import gk  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
workloads = gk.example_workloads() + gk.normal_forms(
    [os.path.join(HERE, f) for f in ("gen-distinct.yaml", "gen-mixed.yaml")])


def variants(w):
    """w with other valid metadata: the longest and shortest names the spec
    allows, another tenant, labels and annotations, another specHash."""
    out = []
    for name, tenant, labels, ann in (
            ("a" * 49, "other-tenant", {"x": "y", "team": "z"}, {"note": "free text"}),
            ("z", "t", {}, {}),
            ("n-9", "default", {"k" * 63: "v" * 63}, {"a": "b" * 4096})):
        v = copy.deepcopy(w)
        v["metadata"] = {"name": name, "tenant": tenant, "labels": labels, "annotations": ann}
        v["specHash"] = "f" * 64
        out.append(v)
    return out


checked = 0
for driver in ("aws", "gcp", "k8s", "quantum"):
    offers = gk.call(driver, {}, [("offers", {})])["results"][0]["output"]["offers"]
    calls, keys = [], []
    for w in workloads:
        for o in offers:
            if o.get("kind") != w["kind"]:
                continue
            pl = {"provider": driver, "service": o["service"], "region": o["region"],
                  "kind": o["kind"], "offer": dict(o, provider=driver)}
            for i, v in enumerate([w] + variants(w)):
                for verb in ("validate", "usage"):
                    calls.append((verb, {"workload": v, "placement": pl, "hoursPerMonth": 730.0,
                                         "mode": "plan"}))
                    keys.append((w["metadata"]["name"], o["service"], o["region"], verb, i))
    res = gk.call(driver, {}, calls)
    if res["configure"]["status"].lower() != "ok":
        gk.check(False, "%s: configure %s" % (driver, res["configure"]))
        continue
    answers = {}
    for k, r in zip(keys, res["results"]):
        answers[k] = json.dumps({"status": r["status"], "diagnostics": r["diagnostics"],
                                 "text": r.get("text")}, sort_keys=True)
    bad = [k for k in answers if k[4] > 0 and answers[k] != answers[k[:4] + (0,)]]
    n = sum(1 for k in answers if k[4] == 0)
    checked += n
    gk.check(not bad, "%s: %d plan-mode answers the same under other metadata%s" % (
        driver, n, "" if not bad else "; differ: %s\n  %s\n  %s" % (
            bad[0], answers[bad[0][:4] + (0,)][:400], answers[bad[0]][:400])))
gk.check(checked > 200, "%d answers compared in all" % checked)
gk.finish()
