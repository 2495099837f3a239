#!/usr/bin/python3
"""`fedbroker simulate` through the real CLI, the real drivers and the
embedded catalog (issue 17).

- The New Year's Eve example (examples/hybrid-nye.yaml) reproduces the
  published table's shape: containers grow by a modest factor (20 -> 45)
  while functions absorb the rest of the surge, hybrid utilisation is more
  than twice static peak's, and hybrid costs less than static peak and
  than functions only at the same SLO.
- The money is recomputed here from the quantities and unit prices the
  JSON reports (replica-seconds x replica-month / 2,628,000 s, function
  requests x price per 10^8, warm seconds x warm month), and scaled to 730
  hours; static peak's replicas and functions-only's requests are
  recomputed from the profile alone (Little's law), not from the model.
- The scale-out time of reactive after a rise is the sync period plus the
  offer's start time from catalog/startup.csv (read here from the file).
- --profile CSV with the same rates gives the same results as the inline
  profile; the output is the same twice.
- The diurnal week: the predictive strategy names its forecast and a
  backtest error.
- Bad input: exit 2 or 64 with the file:line or option, nothing on stdout.
Environment: FEDBROKER, FEDBROKER_DRIVER_PATH, top_srcdir (tests/local.mk)."""
import csv
import json
import math
import os
import subprocess
import sys
import tempfile

TOP = os.environ.get("top_srcdir") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FEDBROKER = os.environ.get("FEDBROKER") or os.path.join(TOP, "build", "fedbroker")
NYE = os.path.join(TOP, "examples", "hybrid-nye.yaml")
DIURNAL = os.path.join(TOP, "examples", "hybrid-diurnal.yaml")
MONTH_S = 2628000
failures = []


def check(name, ok, detail=""):
    print("%s %s%s" % ("ok  " if ok else "FAIL", name, (": " + str(detail)) if detail and not ok else ""))
    if not ok:
        failures.append(name)


def run(*args):
    return subprocess.run([FEDBROKER, "simulate"] + list(args), capture_output=True, text=True)


def sim_json(*args):
    r = run(*(list(args) + ["--format", "json"]))
    if r.returncode != 0:
        raise SystemExit("simulate %s failed (%d): %s" % (args, r.returncode, r.stderr))
    return json.loads(r.stdout)


def dec(s):
    return float(s) if s is not None else 0.0


def main():
    os.environ.setdefault("FEDBROKER_HOME", tempfile.mkdtemp(prefix="fbsim."))
    d = sim_json(NYE, "--no-steps")
    st = {s["strategy"]: s for s in d["strategies"]}
    check("five strategies", sorted(st) == sorted(
        ["static-peak", "reactive", "functions-only", "hybrid", "hybrid-predictive"]), sorted(st))
    h, sp, fo = st["hybrid"], st["static-peak"], st["functions-only"]
    cost = {k: dec(v["monthlyCost"]) for k, v in st.items()}
    print("     monthly: " + ", ".join("%s %.2f" % (k, cost[k]) for k in sorted(cost)))
    check("hybrid cheaper than static peak", cost["hybrid"] < cost["static-peak"], cost)
    check("hybrid cheaper than functions only", cost["hybrid"] < cost["functions-only"], cost)
    check("every strategy meets the p99 SLO here", all(v["sloMet"] for v in st.values()),
          {k: v["p99Ms"] for k, v in st.items()})
    check("hybrid containers 20 -> 45 (a modest factor)",
          round(h["containersMin"]) == 20 and round(h["containersMax"]) == 45,
          (h["containersMin"], h["containersMax"]))
    check("functions absorb the rest of the surge", h["functionsMax"] > 100 and h["functionShare"] > 0.05,
          (h["functionsMax"], h["functionShare"]))
    check("hybrid utilisation more than twice static peak's",
          h["meanUtilisation"] > 2 * sp["meanUtilisation"], (h["meanUtilisation"], sp["meanUtilisation"]))
    check("nothing dropped by hybrid", h["availability"] == 1.0, h["availability"])

    # the money, from the reported quantities and unit prices
    prof = d["profile"]
    span = prof["stepSeconds"] * prof["points"]
    off = d["offers"]
    rm = dec(off["containers"]["replicaMonth"])
    per = dec(off["functions"]["perReferenceRequests"]) / off["functions"]["referenceRequests"]
    wm = dec(off["warmInstanceMonth"])
    for k, v in st.items():
        want = (v["replicaSeconds"] * rm / MONTH_S + v["servedFunctions"] * per +
                v["warmSeconds"] * wm / MONTH_S) * MONTH_S / span
        check("%s: monthly cost = quantities x unit prices (%.4f)" % (k, want),
              abs(dec(v["monthlyCost"]) - want) < 0.01, v["monthlyCost"])
    # static peak and functions-only from the profile alone
    with open(NYE) as f:
        rates = [float(line.split("rps:")[1].split("}")[0]) for line in f if "rps:" in line]
    m = d["model"]
    dur = m["meanDurationMs"] / 1000
    need = math.ceil(max(rates) * dur / (m["targetConcurrency"] * m["targetUtilisation"]))
    check("static peak runs ceil(peak x meanDuration / (conc x 0.7)) = %d replicas" % need,
          abs(sp["replicaSeconds"] - need * span) < 1e-6, sp["replicaSeconds"] / span)
    offered = sum(r * prof["stepSeconds"] for r in rates)
    check("functions-only serves every request of the profile (%d)" % offered,
          abs(fo["servedFunctions"] - offered) < 1 and fo["replicaSeconds"] == 0, fo["servedFunctions"])

    # reactive's scale-out: sync period + the catalog's container start
    start_ms = None
    with open(os.path.join(TOP, "catalog", "startup.csv"), newline="") as f:
        for row in csv.DictReader(f):
            c = off["containers"]
            if (row["provider"], row["service"], row["metric"]) == (c["provider"], c["service"], "container_start"):
                start_ms = int(row["value_ms"])
    check("the container start time is the catalog's row", start_ms == off["containers"]["startMs"],
          (start_ms, off["containers"]["startMs"]))
    # after a rise the replicas of the step before (settled: an hour is
    # longer than any lag) either still cover the load (0 s) or the new
    # ones are ready after the sync period plus the start time
    lag = m["syncSeconds"] + start_ms / 1000
    times = []
    for a, b in zip(rates, rates[1:]):
        if b > a * 1.1:
            before = math.ceil(a * dur / (m["targetConcurrency"] * m["targetUtilisation"]))
            times.append(0 if before * m["targetConcurrency"] >= b * dur else lag)
    want_mean = sum(times) / len(times)
    check("reactive scale-out: %s s after the rises (mean %.1f, max %.0f)" % (times, want_mean, max(times)),
          abs(st["reactive"]["scaleOutMaxS"] - max(times)) < 1e-6 and
          abs(st["reactive"]["scaleOutMeanS"] - want_mean) < 1e-6 and st["reactive"]["rises"] == len(times),
          (st["reactive"]["scaleOutMeanS"], st["reactive"]["scaleOutMaxS"]))

    # the predictive schedule: per hour, replicas for the forecast (here the
    # profile itself, a known event) and warm instances for what they cannot take
    sj = sim_json(NYE, "--no-steps", "--strategy", "hybrid-predictive")["strategies"][0]
    want = []
    for i, r in enumerate(rates):
        load = r * dur
        reps = min(45, max(sj["baseline"], math.ceil(load / (m["targetConcurrency"] * m["targetUtilisation"]) - 1e-9)))
        warm = max(0, math.ceil(load - reps * m["targetConcurrency"] - 1e-9))
        want.append((reps, warm))
    got = [(h["containers"], h["warmFunctions"]) for h in sj.get("schedule", [])]
    check("hybrid-predictive: the hourly schedule is replicas and warm instances for the forecast",
          got == want and sj["schedule"][0]["at"] == "2026-12-31T18:00:00Z" and sj["coldStarts"] == 0, (got, want))

    # a catalog directory whose startup.csv says otherwise: simulate follows it
    import shutil
    cat = tempfile.mkdtemp(prefix="fbsimcat.")
    for fn in os.listdir(os.path.join(TOP, "catalog")):
        if fn.endswith(".csv"):
            shutil.copy(os.path.join(TOP, "catalog", fn), cat)
    f = off["functions"]
    with open(os.path.join(cat, "startup.csv")) as fh:
        text = fh.read()
    key = "%s,%s,cold_start," % (f["provider"], f["service"])
    lines = [l if not l.startswith(key) else key + "3000," + l.split(",", 4)[4] for l in text.splitlines()]
    with open(os.path.join(cat, "startup.csv"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    dc = sim_json(NYE, "--no-steps", "--catalog", cat, "--strategy", "functions-only")
    check("--catalog DIR: the function's cold start comes from its startup.csv (3000 ms)",
          dc["offers"]["functions"]["startMs"] == 3000 and dc["model"]["coldStartMs"] == 3000,
          dc["offers"]["functions"])
    shutil.rmtree(cat)

    # the same rates from a CSV; the same output twice
    tmp = tempfile.mkdtemp(prefix="fbsimcsv.")
    p = os.path.join(tmp, "nye.csv")
    with open(p, "w") as f:
        f.write("timestamp,requests_per_second\n")
        for i, r in enumerate(rates):  # the same UTC times as the spec's points
            f.write("%s,%g\n" % ("2026-12-31T%02d:00:00Z" % (18 + i) if 18 + i < 24 else
                                  "2027-01-01T%02d:00:00Z" % (18 + i - 24), r))
    d2 = sim_json(NYE, "--no-steps", "--profile", p)
    check("--profile CSV gives the inline profile's results", d2["strategies"] == d["strategies"])
    d3 = sim_json(NYE, "--no-steps")
    check("the same output twice", d3 == d)
    steps = sim_json(NYE, "--steps", "--strategy", "hybrid")
    hs = steps["strategies"][0]["steps"]
    check("per-step rows: one per step, load from 100% to 450%",
          len(hs) == 9 and hs[0]["loadPct"] == 100 and max(s["loadPct"] for s in hs) == 450)
    check("per-step requests add up to the summary",
          abs(sum(s["requestsFunctions"] for s in hs) - steps["strategies"][0]["servedFunctions"]) < 1)
    tab = run(NYE)
    check("the table names the offers, the start-time rows and every strategy",
          tab.returncode == 0 and "startup" not in tab.stderr and all(
              k in tab.stdout for k in ("T1", "hybrid-predictive", "VS STATIC", "USD/MONTH")), tab.stderr)
    csvo = run(NYE, "--format", "csv", "--no-steps")
    rows = list(csv.DictReader(csvo.stdout.splitlines()))
    check("csv summary: one row per strategy, the same costs as json",
          len(rows) == 5 and all(dec(r["monthly_cost"]) == cost[r["strategy"]] for r in rows))

    # the diurnal week: a forecast with a backtest
    dd = sim_json(DIURNAL, "--no-steps", "--strategy", "hybrid-predictive")
    pr = dd["strategies"][0]
    check("diurnal week: predictive forecasts with %s, backtest error %s%%" % (pr.get("forecast"), pr.get("backtestErrorPct")),
          pr.get("forecast") in ("seasonal-naive", "holt-winters") and 0 <= pr["backtestErrorPct"] < 25)

    # bad input
    bad = os.path.join(tmp, "gap.csv")
    with open(bad, "w") as f:
        f.write("timestamp,requests_per_second\n0m,10\n1m,10\n5m,10\n")
    r = run(NYE, "--profile", bad)
    check("a profile with a gap: exit 2 naming file:line, nothing on stdout",
          r.returncode == 2 and (bad + ":4:") in r.stderr and r.stdout == "", (r.returncode, r.stderr))
    r = run(NYE, "--strategy", "cheapest")
    check("an unknown strategy: exit 64", r.returncode == 64 and r.stdout == "", r.returncode)
    r = run(NYE, "--baseline", "46")
    check("a baseline above maxInstances: exit 2", r.returncode == 2 and r.stdout == "", (r.returncode, r.stderr))
    r = run(NYE, "--format", "html")
    check("an unknown format: exit 64", r.returncode == 64, r.returncode)
    nt = os.path.join(tmp, "nt.yaml")
    with open(NYE) as f, open(nt, "w") as g:
        g.write(f.read().replace(", targetConcurrency: 10", "").replace("strategy: hybrid", "strategy: single").replace("  burst: {to: function}\n", ""))
    r = run(nt)
    check("no targetConcurrency: exit 2 saying so", r.returncode == 2 and "targetConcurrency" in r.stderr,
          (r.returncode, r.stderr))
    # plan: the strategies side by side for a hybrid workload
    r = subprocess.run([FEDBROKER, "plan", "--no-save", "--format", "json", NYE], capture_output=True, text=True)
    check("plan of the NYE example exits 0", r.returncode == 0, r.stderr[-300:])
    if r.returncode == 0:
        doc = json.loads(r.stdout)
        hy = doc.get("hybrid") or [{}]
        alt = {a["strategy"]: a for a in hy[0].get("alternatives", [])}
        pc = {k: dec(v["monthlyCost"]) for k, v in alt.items()}
        check("plan: hybrid cheaper than static peak and functions only, the same SLO met by all three",
              pc and pc["hybrid"] < pc["static-peak"] and pc["hybrid"] < pc["functions-only"] and
              all(alt[k]["sloMet"] for k in ("hybrid", "static-peak", "functions-only")), pc)
        check("plan: the same numbers as simulate", pc == cost, (pc, cost))
        check("plan: recommends hybrid, offers as simulate's",
              hy[0].get("recommended") == "hybrid" and
              hy[0].get("containerOffer") == "%s:%s:%s" % (off["containers"]["provider"], off["containers"]["service"], off["containers"]["region"]),
              hy[0])
    t = subprocess.run([FEDBROKER, "plan", "--no-save", NYE], capture_output=True, text=True)
    check("plan's table shows the hybrid section", "Hybrid placement" in t.stdout and "cheapest with every" in t.stdout)
    sv = subprocess.run([FEDBROKER, "plan", NYE], capture_output=True, text=True)
    rp = subprocess.run([FEDBROKER, "report"], capture_output=True, text=True)
    check("report of the stored plan shows the same hybrid section",
          sv.returncode == 0 and rp.returncode == 0 and "Hybrid placement" in rp.stdout and
          rp.stdout[rp.stdout.index("Hybrid placement"):] in sv.stdout, (sv.stderr[-200:], rp.stderr[-200:]))
    f = subprocess.run([FEDBROKER, "plan", "--no-save", "--format", "json", os.path.join(TOP, "examples", "container.yaml")],
                       capture_output=True, text=True)
    check("plan of a workload without burst has no hybrid section",
          f.returncode == 0 and "hybrid" not in json.loads(f.stdout), f.stderr[-200:])
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
