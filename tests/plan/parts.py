#!/usr/bin/python3
"""Plan solves a linked federation part by part (docs/plan.md "When the
solver stops", docs/solver.md "Independent parts"), and the total is the
whole problem's optimum.

For three generated mixed federations of 40 workloads (5 applications of
8 linked workloads, bench/gen_plan_fed.py), `fedbroker plan --export-lp`
writes the whole placement problem as an LP file while plan solves it in
parts. Checked:

1. plan split it (`solver.parts` > 1), proved every part and calls the
   plan optimal;
2. GLPK's glpsol, solving the exported LP file whole (the same problem,
   every coefficient exact), finds the same optimum as plan's total;
3. with a federation budget (basis contracted, 50 USD above that
   optimum) the budget ties every workload into one part: plan solves
   it whole (no `solver.parts`), and the total is the same optimum.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from decimal import Decimal

SRC = os.environ.get("top_srcdir", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD = os.environ.get("top_builddir", ".")
FB = os.environ.get("FEDBROKER", os.path.join(BUILD, "fedbroker"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Checker  # noqa: E402

ck = Checker("plan parts")


def check(cond, what):
    return ck.ok(cond, what)


if not shutil.which("glpsol"):
    print("parts.py: needs glpsol (glpk-utils)", file=sys.stderr)
    sys.exit(1)

tmp = tempfile.mkdtemp(prefix="fb-parts-")
os.chmod(tmp, 0o755)
drivers = os.path.join(tmp, "drivers")
os.mkdir(drivers)
os.chmod(drivers, 0o755)
stage = os.path.join(BUILD, "stage", "drivers")
for name in os.listdir(stage):
    if name.endswith(".so"):
        shutil.copy(os.path.join(stage, name), drivers)
        os.chmod(os.path.join(drivers, name), 0o755)
env = dict(os.environ, FEDBROKER_HOME=os.path.join(tmp, "home"), FEDBROKER_DRIVER_PATH=drivers,
           FEDBROKER_NOW="2026-01-01T00:00:00Z")
env.pop("FEDBROKER_CONFIG", None)


def plan(spec, lp):
    p = subprocess.run([FB, "plan", spec, "--no-save", "--no-baselines", "--format", "json", "--export-lp", lp],
                       env=env, capture_output=True, text=True)
    if p.returncode != 0:
        print(p.stderr)
        return None
    return json.loads(p.stdout)


def glpsol(lp):
    out = os.path.join(tmp, "glpsol.out")
    p = subprocess.run(["glpsol", "--lp", lp, "-o", out], capture_output=True, text=True)
    m = re.search(r"Objective:\s+\S+\s+=\s+(\S+)", open(out).read()) if p.returncode == 0 else None
    status = re.search(r"Status:\s+(\S+)", open(out).read()) if p.returncode == 0 else None
    if not m or not status or status.group(1) != "INTEGER":
        return None
    return Decimal(m.group(1))


try:
    for seed in (1, 2, 3):
        spec = os.path.join(tmp, "mixed-%d.yaml" % seed)
        subprocess.run([sys.executable, os.path.join(SRC, "bench", "gen_plan_fed.py"), "--shape", "mixed",
                        "-n", "40", "--seed", str(seed), "-o", spec], check=True)
        lp = os.path.join(tmp, "mixed-%d.lp" % seed)
        doc = plan(spec, lp)
        if not check(doc is not None, "seed %d: plan succeeds" % seed):
            continue
        solver = doc.get("solver", {})
        total = Decimal(doc["total_monthly_cost"])
        check(solver.get("parts", 0) > 1 and solver.get("parts_proven") == solver.get("parts"),
              "seed %d: solved in %s parts, %s proven" % (seed, solver.get("parts"), solver.get("parts_proven")))
        check(doc["status"] == "optimal" and Decimal(doc["lower_bound"]) == total,
              "seed %d: plan is optimal (%s, bound %s)" % (seed, doc["status"], doc["lower_bound"]))
        opt = glpsol(lp)
        # glpsol prints its objective with 10 significant digits
        check(opt is not None and abs(opt - total) <= Decimal("1e-6") * (1 + total),
              "seed %d: glpsol on the whole LP %s, plan's parts %s" % (seed, opt, total))

        # a federation budget ties every workload into one part
        text = open(spec).read()
        budget = (total + 50).quantize(Decimal("0.01"))
        text = text.replace("\nspec:\n", "\nspec:\n  budget: {monthly: \"%s\", basis: contracted}\n" % budget, 1)
        bspec = os.path.join(tmp, "mixed-%d-budget.yaml" % seed)
        open(bspec, "w").write(text)
        blp = os.path.join(tmp, "mixed-%d-budget.lp" % seed)
        bdoc = plan(bspec, blp)
        if not check(bdoc is not None, "seed %d with a federation budget of %s: plan succeeds" % (seed, budget)):
            continue
        check("parts" not in bdoc.get("solver", {}),
              "seed %d with a federation budget: solved whole (solver %s)" % (seed, bdoc.get("solver")))
        btotal = Decimal(bdoc["total_monthly_cost"])
        check(bdoc["status"] == "optimal" and btotal == total,
              "seed %d with a federation budget: %s %s, the same optimum as in parts %s" %
              (seed, bdoc["status"], btotal, total))
finally:
    shutil.rmtree(tmp, ignore_errors=True)

ck.done()
