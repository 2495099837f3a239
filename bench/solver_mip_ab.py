#!/usr/bin/env python3
"""Branch and bound's model, paired A/B: for each instance of the
bench/gen_families.py families, `fedbroker solve FILE --exact --verbose`
with build A then build B (interleaved, so both see the same load), and
the root LP of B's model without and with its conflict rows
(bench/solver_root, built by `make check`). Prints per instance the
status, the branch and bound thread's CPU (ms, from --verbose: "ms of CPU
since the model was built") and nodes of A and B, and per family the root
LP's gap to the proven optimum (median / p90 / worst) without and with the
rows, and the branch and bound CPU of A and B (median / total / worst).

  solver_mip_ab.py --a /tmp/fb-main --b build/fedbroker --root build/bench/solver_root \\
                   --size 50x100 --seeds 1..10 --limit 40

Load-independent: CPU time and the root LP; the wall time of a proof is
not reported (on a loaded machine it says little).
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_families  # noqa: E402
from solver_families import pct  # noqa: E402


def solve(fb, inst, limit):
    p = subprocess.run([fb, "solve", inst, "--exact", "--time-limit", str(limit), "--verbose", "--format", "json"],
                       capture_output=True, text=True)
    m = re.search(r"mip: branch and bound \d+ ms .*?, (\d+) ms of CPU", p.stderr)
    nodes = re.findall(r"\(\d+; (\d+)\)", p.stderr)
    try:
        d = json.loads(p.stdout)
    except ValueError:
        d = {"status": "error", "total_monthly_cost": "nan"}
    return {"status": d["status"], "total": float(d["total_monthly_cost"]),
            "bb_cpu": int(m.group(1)) if m else None, "nodes": int(nodes[-1]) if nodes else None}


def seeds_of(spec):
    if ".." in spec:
        lo, hi = spec.split("..")
        return list(range(int(lo), int(hi) + 1))
    return [int(x) for x in spec.split(",")]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--a", required=True)
    ap.add_argument("--b", required=True)
    ap.add_argument("--root", required=True, help="bench/solver_root of build B")
    ap.add_argument("--size", default="50x100")
    ap.add_argument("--seeds", default="1..10")
    ap.add_argument("--limit", type=float, default=40)
    ap.add_argument("--families", default=",".join(sorted(gen_families.FAMILIES)))
    ap.add_argument("--out", default=os.path.join(HERE, "out", "families"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    print("| instance | A: status, B&B CPU ms, nodes | B: status, B&B CPU ms, nodes | root LP without / with rows | optimum | load |")
    print("|---|---|---|---|---|---|")
    fam_rows = {}
    for fam in a.families.split(","):
        for s in seeds_of(a.seeds):
            inst = gen_families.instance_file(a.out, fam, a.size, s)
            ra, rb = solve(a.a, inst, a.limit), solve(a.b, inst, a.limit)
            root = subprocess.run([a.root, inst], capture_output=True, text=True).stdout.split()
            r0, r1 = float(root[1]), float(root[2])
            opt = rb["total"] if rb["status"] == "optimal" else ra["total"] if ra["status"] == "optimal" else None
            if opt is not None and r1 > opt * (1 + 1e-9) + 1e-6:
                print("ROOT ABOVE THE OPTIMUM: %s %.9f > %.9f" % (inst, r1, opt))
            if ra["status"] == rb["status"] == "optimal" and abs(ra["total"] - rb["total"]) > 1e-9:
                print("DIFFERENT OPTIMA: %s %.9f %.9f" % (inst, ra["total"], rb["total"]))
            print("| %s s%d | %s, %s, %s | %s, %s, %s | %.3f / %.3f | %s | %.1f |" % (
                fam, s, ra["status"], ra["bb_cpu"], ra["nodes"], rb["status"], rb["bb_cpu"], rb["nodes"],
                r0, r1, "%.3f" % opt if opt is not None else "-", os.getloadavg()[0]), flush=True)
            fam_rows.setdefault(fam, []).append((ra, rb, r0, r1, opt))
    print()
    print("| family | proven A / B | root LP gap to the optimum, without rows (median / p90 / worst) | with rows |"
          " B&B CPU ms A (median / total / worst) | B |")
    print("|---|---|---|---|---|---|")
    for fam, rows in fam_rows.items():
        g0 = [100 * (o - r0) / o for _, _, r0, _, o in rows if o]
        g1 = [100 * (o - r1) / o for _, _, _, r1, o in rows if o]
        both = [(ra, rb) for ra, rb, _, _, _ in rows if ra["bb_cpu"] is not None and rb["bb_cpu"] is not None]
        ca = [ra["bb_cpu"] for ra, _ in both]
        cb = [rb["bb_cpu"] for _, rb in both]
        pa = sum(ra["status"] == "optimal" for ra, _, _, _, _ in rows)
        pb = sum(rb["status"] == "optimal" for _, rb, _, _, _ in rows)

        def three(xs, f="%.2f"):
            return " / ".join(f % v for v in (statistics.median(xs), pct(xs, 0.9), max(xs))) if xs else "-"

        def cpu(xs):
            return "%d / %d / %d" % (statistics.median(xs), sum(xs), max(xs)) if xs else "-"
        print("| %s | %d / %d | %s %% | %s %% | %s | %s |" % (fam, pa, pb, three(g0), three(g1), cpu(ca), cpu(cb)))


if __name__ == "__main__":
    main()
