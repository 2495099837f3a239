#!/usr/bin/env python3
"""Paired A/B of two fedbroker builds on the same placement instances:
for each instance, build A then build B (interleaved, so both see the
same load), `solve FILE --format json --time-limit T --verbose`. Prints
per instance total / bound / gap, CPU seconds (user+sys of the process)
and wall seconds of each, whether the component construction (variant 4)
found no plan ("c4 failed": the heuristic then starts from a construction
that ignores links), the load average, and a per-family summary: the
plan of B against A's, and how many constructions failed.

  solver_ab.py --a /tmp/fedbroker-main --b build/fedbroker --limit 1.9 \\
               --families chains,egress --size 1000x500 --seeds 1,2,3 [--busy]

Instances are generated with bench/gen_families.py into --out (kept).
On a loaded machine the CPU column says how much of a core each run got;
compare A and B only within one run.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_families  # noqa: E402
from solver_families import pct  # noqa: E402


def run(fb, inst, limit, busy=False):
    hog = None
    if busy:
        # A busy loop at the solver's niceness beside it (the "loaded
        # machine" of issue 18); its CPU is not counted below.
        hog = subprocess.Popen(["sh", "-c", "while :; do :; done"])
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.run([fb, "solve", inst, "--format", "json", "--time-limit", str(limit), "--verbose"],
                       capture_output=True, text=True)
    wall = time.monotonic() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if hog:
        hog.kill()
        hog.wait()
    try:
        o = json.loads(p.stdout)
    except ValueError:
        o = {"status": "error (exit %d): %s" % (p.returncode, p.stderr[-300:])}
    o["cpu"] = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    o["wall"] = wall
    o["c4_failed"] = "construction 4: local optimum -0" in p.stderr
    return o


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--a", required=True, help="fedbroker binary A (before)")
    ap.add_argument("--b", required=True, help="fedbroker binary B (after)")
    ap.add_argument("--limit", type=float, default=1.9)
    ap.add_argument("--size", default="1000x500")
    ap.add_argument("--families", default=",".join(sorted(gen_families.FAMILIES)))
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--out", default=os.path.join(HERE, "out", "families"))
    ap.add_argument("--busy", action="store_true", help="a busy loop beside every solve")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    print("| instance | A: total / bound / gap (cpu s, wall s) | B: total / bound / gap (cpu s, wall s) | load |")
    print("|---|---|---|---|")
    summary = {}
    for fam in a.families.split(","):
        for s in (int(x) for x in a.seeds.split(",")):
            inst = gen_families.instance_file(a.out, fam, a.size, s)
            ra, rb = run(a.a, inst, a.limit, a.busy), run(a.b, inst, a.limit, a.busy)
            cells = []
            for r in (ra, rb):
                if r.get("total_monthly_cost") is None:
                    cells.append(str(r.get("status")))
                    continue
                cells.append("%s / %s / %.2f%% (%.2f, %.2f)%s%s" % (
                    r["total_monthly_cost"], r["lower_bound"], 100 * r["gap"], r["cpu"], r["wall"],
                    ", optimal" if r.get("status") == "optimal" else "",
                    ", c4 failed" if r["c4_failed"] else ""))
            print("| %s s%d | %s | %s | %s |" % (fam, s, cells[0], cells[1], open("/proc/loadavg").read().split()[0]),
                  flush=True)
            e = summary.setdefault(fam, {"rel": [], "c4a": 0, "c4b": 0, "opta": 0, "optb": 0, "n": 0,
                                         "wa": [], "wb": [], "ga": [], "gb": []})
            e["n"] += 1
            e["opta"] += ra.get("status") == "optimal"
            e["optb"] += rb.get("status") == "optimal"
            e["wa"].append(ra["wall"] / a.limit)
            e["wb"].append(rb["wall"] / a.limit)
            e["c4a"] += ra["c4_failed"]
            e["c4b"] += rb["c4_failed"]
            for r, key in ((ra, "ga"), (rb, "gb")):
                if r.get("gap") is not None:
                    e[key].append(100 * r["gap"])
            if ra.get("total_monthly_cost") and rb.get("total_monthly_cost"):
                ta, tb = float(ra["total_monthly_cost"]), float(rb["total_monthly_cost"])
                e["rel"].append((tb - ta) / ta)
    print()
    print("| family | B's plan against A's: median / per seed | constructions failed: A / B "
          "| proven optimal: A / B | wall / limit, worst: A / B |")
    print("|---|---|---|---|---|")
    for fam, e in summary.items():
        rel = e["rel"]
        print("| %s | %s / %s | %d / %d | %d / %d of %d | %.2f / %.2f |" % (
            fam, "%+.2f%%" % (100 * statistics.median(rel)) if rel else "-",
            ", ".join("%+.2f%%" % (100 * x) for x in rel), e["c4a"], e["c4b"], e["opta"], e["optb"], e["n"],
            max(e["wa"]), max(e["wb"])))
    # The issue-18 target is on the gap to our own bound: its median and
    # 90th percentile per family, for each build.
    print()
    print("| family | gap to own bound, A: median / p90 / worst | B: median / p90 / worst |")
    print("|---|---|---|")
    for fam, e in summary.items():
        cells = []
        for g in (e["ga"], e["gb"]):
            cells.append("%.2f%% / %.2f%% / %.2f%%" % (statistics.median(g), pct(g, 0.9), max(g)) if g else "-")
        print("| %s | %s | %s |" % (fam, cells[0], cells[1]))


if __name__ == "__main__":
    main()
