#!/usr/bin/python3
"""Forecasting the next season of a dated history (issue 17,
docs/simulation.md, "Forecasting the next season"), through the real CLI.

Two synthetic histories with a known shape, written here as CSV:
- A: four days at 30-minute steps of one daily shape repeated exactly
  (daily season): seasonal naive has no backtest error and must be chosen;
  the next day is the last day again.
- B: sixteen days at hourly steps (weekly season) of a level with a linear
  trend, a weekly shape (days and hours) and seeded noise: Holt-Winters
  must backtest better than seasonal naive (the trend makes the week-old
  value a week's growth too low).
For each, seasonal naive and additive Holt-Winters (alpha 0.2, beta 0.01,
gamma 0.3, started from the first season) are computed here from the
formulas in docs/simulation.md, not from our C code: the one-step-ahead
backtest error of both (sum |f - x| / sum x over the steps after the first
season), the chosen method, and its forecast of the next season (seasonal
naive: the last season; Holt-Winters: level + h x trend + season, h steps
past the last). Then:
- `simulate --format json`: nextSeason names the method, its backtest
  error and the other's (to 1e-6), starts at the end of the history and
  spans one season; the hybrid-predictive strategy's backtest error is the
  same.
- `plan --format json` (placement.strategy predictive): the capacity
  schedule is basis next-season, a one-off from the end of the history
  (after its last timestamp) over one season, with the method and the
  backtest error; its steps per hour are the model's replicas and warm
  function instances for the forecast rates (as in tests/hybrid/
  predictive.py); the document is valid against the plan schema.
- B's forecast is within 10% (weighted) of the true next week of the
  known series without noise.
Environment: FEDBROKER, FEDBROKER_DRIVER_PATH, top_srcdir (tests/local.mk)."""
import datetime
import json
import math
import os
import random
import subprocess
import sys
import tempfile

import jsonschema

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Checker  # noqa: E402

TOP = os.environ.get("top_srcdir") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FEDBROKER = os.environ.get("FEDBROKER") or os.path.join(TOP, "build", "fedbroker")
MAXI, C, D = 30, 10, 0.1
SPEC = """apiVersion: fedbroker.dev/v1
kind: Container
metadata: {name: seasonal, tenant: retail}
spec:
  image: ghcr.io/acme/seasonal:1
  ports: [{port: 8080, protocol: http, public: true}]
  resources: {cpu: "1", memory: 2Gi}
  scaling: {minInstances: 1, maxInstances: %d, targetConcurrency: %d}
  burst: {to: function}
  traffic:
    meanDuration: 100ms
    sources: [{location: new-york, weight: 1}]
    profile: {file: history.csv}
  placement:
    strategy: predictive
    providers: [aws]
    latencySLO: {p99: 1500ms}
""" % (MAXI, C)
ALPHA, BETA, GAMMA = 0.2, 0.01, 0.3
ck = Checker("forecast the next season")


def check(name, ok, detail=""):
    ck.ok(ok, name, detail if not ok else None)


def wape(f, x, start):
    e = sum(abs(f[i] - x[i]) for i in range(start, len(x)))
    s = sum(abs(v) for v in x[start:])
    return 100.0 * e / s if s > 0 else 0.0


def seasonal_naive(x, m):
    one = [0.0] * m + [x[i - m] for i in range(m, len(x))]
    return one, x[len(x) - m:]


def holt_winters(x, m):
    """Additive Holt-Winters as docs/simulation.md writes it."""
    level = sum(x[:m]) / m
    trend = 0.0
    season = [x[i] - level for i in range(m)]
    one = [0.0] * m
    for t in range(m, len(x)):
        s = season[t % m]
        one.append(max(0.0, level + trend + s))
        new_level = ALPHA * (x[t] - s) + (1 - ALPHA) * (level + trend)
        trend = BETA * (new_level - level) + (1 - BETA) * trend
        season[t % m] = GAMMA * (x[t] - new_level) + (1 - GAMMA) * s
        level = new_level
    n = len(x)
    ahead = [max(0.0, level + h * trend + season[(n + h - 1) % m]) for h in range(1, m + 1)]
    return one, ahead


def expected(x, m):
    sn1, sn_next = seasonal_naive(x, m)
    hw1, hw_next = holt_winters(x, m)
    e_sn, e_hw = wape(sn1, x, m), wape(hw1, x, m)
    if e_hw < e_sn:
        return "holt-winters", e_hw, e_sn, hw_next
    return "seasonal-naive", e_sn, e_hw, sn_next


def run(*args, cwd):
    r = subprocess.run([FEDBROKER] + list(args), capture_output=True, text=True, cwd=cwd,
                       env=dict(os.environ, FEDBROKER_HOME=os.path.join(cwd, "home")))
    return r.returncode, r.stdout, r.stderr


def fmt(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def case(label, t0, step_s, x, m, must, truth=None):
    x = [round(v, 3) for v in x]  # what the CSV holds
    d = tempfile.mkdtemp(prefix="fb-forecast-")
    with open(os.path.join(d, "history.csv"), "w") as f:
        f.write("timestamp,requests_per_second\n")
        for i, v in enumerate(x):
            f.write("%s,%.3f\n" % (fmt(t0 + datetime.timedelta(seconds=i * step_s)), v))
    spec = os.path.join(d, "seasonal.yaml")
    with open(spec, "w") as f:
        f.write(SPEC)
    method, err, other, nxt = expected(x, m)
    check("%s: the backtest chooses %s" % (label, must), method == must, (method, err, other))
    end = t0 + datetime.timedelta(seconds=len(x) * step_s)
    last = t0 + datetime.timedelta(seconds=(len(x) - 1) * step_s)

    rc, out, e = run("simulate", spec, "--strategy", "hybrid-predictive", "--no-steps", "--format", "json", cwd=d)
    check("%s: simulate exits 0" % label, rc == 0, e[-800:])
    sim = json.loads(out) if rc == 0 else {"strategies": [{}]}
    ns = sim.get("nextSeason", {})
    check("%s: simulate's nextSeason: method, backtest errors, start at the history's end, one season" % label,
          ns.get("forecast") == method and abs(ns.get("backtestErrorPct", -9) - err) < 1e-6 and
          abs(ns.get("otherMethodErrorPct", -9) - other) < 1e-6 and ns.get("start") == fmt(end) and
          ns.get("periodSeconds") == m * step_s,
          (ns, method, err, other, fmt(end)))
    check("%s: simulate's forecast peak and mean are the forecast's" % label,
          abs(ns.get("peakRps", -1) - max(nxt)) < 1e-6 * max(1, max(nxt)) and
          abs(ns.get("meanRps", -1) - sum(nxt) / m) < 1e-6 * max(1, sum(nxt) / m), (ns, max(nxt), sum(nxt) / m))
    sp = sim["strategies"][0]
    check("%s: the hybrid-predictive strategy shows the same method and backtest error" % label,
          sp.get("forecast") == method and abs(sp.get("backtestErrorPct", -9) - err) < 1e-6,
          (sp.get("forecast"), sp.get("backtestErrorPct")))
    rc, out, e = run("simulate", spec, "--strategy", "hybrid-predictive", "--no-steps", cwd=d)
    check("%s: simulate's table names the next season's method and error" % label,
          rc == 0 and ("next season" in out and method in out and "backtest error %.1f%%" % err in out), out[-600:])

    rc, out, e = run("plan", "--no-save", "--format", "json", spec, cwd=d)
    check("%s: plan exits 0" % label, rc == 0, e[-800:])
    plan = json.loads(out) if rc == 0 else {"workloads": []}
    wl = {w["name"]: w for w in plan["workloads"]}
    hp = wl.get("seasonal", {}).get("hybrid_part", {})
    sc = hp.get("schedule", {})
    check("%s: a one-off schedule of the next season from the end of the history" % label,
          sc.get("basis") == "next-season" and sc.get("repeat") == "once" and sc.get("start") == fmt(end) and
          sc.get("start") > fmt(last) and sc.get("periodSeconds") == m * step_s, sc)
    check("%s: the plan's schedule names the method and its backtest error" % label,
          sc.get("forecast") == method and abs(sc.get("backtestErrorPct", -9) - err) < 1e-6,
          (sc.get("forecast"), sc.get("backtestErrorPct")))
    # the model's schedule for the forecast rates: per hour, the most of
    # each step's replicas and warm instances (tests/hybrid/predictive.py)
    base = hp.get("baseline", 0)
    floor = max(1, base)
    per_hour = {}
    for i, r in enumerate(nxt):
        load = r * D
        reps = min(MAXI, max(base, math.ceil(load / (C * 0.7) - 1e-9)))
        warm = max(0, math.ceil(load - reps * C - 1e-9))
        h = i * step_s // 3600
        a = per_hour.setdefault(h, [0, 0])
        a[0], a[1] = max(a[0], reps), max(a[1], warm)
    want = [(h * 3600, max(floor, v[0]), v[1]) for h, v in sorted(per_hour.items())]
    got = [(s["offsetSeconds"], s["containers"], s["warmFunctions"]) for s in sc.get("steps", [])]
    check("%s: the schedule per hour is the model's for the forecast season" % label, got == want,
          [(g, w) for g, w in zip(got, want) if g != w][:6] or (len(got), len(want)))
    schema = json.load(open(os.path.join(TOP, "schemas", "plan.v1.schema.json")))
    rc, out, e = run("plan", spec, "--out", os.path.join(d, "plan.json"), cwd=d)
    doc = json.load(open(os.path.join(d, "plan.json"))) if rc == 0 else {}
    errs = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=str)
    check("%s: the plan document is valid against schemas/plan.v1.schema.json" % label, rc == 0 and not errs,
          [x.message for x in errs[:5]] or e[-300:])
    if truth:
        dev = wape(nxt, truth, 0)
        check("%s: the forecast is within 10%% of the known series' next season (%.1f%%)" % (label, dev),
              dev < 10, dev)


def main():
    if not os.access(FEDBROKER, os.X_OK):
        print("SKIP: no fedbroker binary at %s" % FEDBROKER)
        sys.exit(77)
    # A: one daily shape, exactly repeated (Monday 7 December 2026 onwards)
    day = [400 + 1800 * math.exp(-((h / 2.0 - 13) ** 2) / 8) + 300 * math.sin(math.pi * h / 48) for h in range(48)]
    case("A daily repeat", datetime.datetime(2026, 12, 7, tzinfo=datetime.timezone.utc), 1800, day * 4, 48,
         "seasonal-naive")
    # B: level + trend + weekly shape + noise, hourly, 16 days
    rng = random.Random(17)

    def shape(t):
        dow, h = (t // 24) % 7, t % 24
        daily = 900 * math.exp(-((h - 12) ** 2) / 10) + 500 * math.exp(-((h - 19) ** 2) / 6)
        return (0.6 if dow >= 5 else 1.0) * daily

    def known(t):
        return 600 + 2.5 * t + shape(t)

    n = 16 * 24
    x = [max(0.0, known(t) + rng.gauss(0, 25)) for t in range(n)]
    truth = [known(t) for t in range(n, n + 168)]
    case("B weekly with trend", datetime.datetime(2026, 11, 2, tzinfo=datetime.timezone.utc), 3600, x, 168,
         "holt-winters", truth)
    ck.done()


if __name__ == "__main__":
    main()
