#!/usr/bin/python3
"""traffic.profile through `fedbroker validate` (issue 17, spec part).

Valid forms: a CSV with a header, CRLF line ends, comments and blank lines,
UTC times with and without seconds or Z, Unix seconds, offsets; inline
points; daily and weekly patterns. The normal form's summary (step, points,
start, peak, mean, min) and the requestsPerMonth derived from the mean
(x 730 h x 3600 s) are recomputed here from the input, not from our code.
The specHash does not depend on where the CSV lives, and does change with
its content. Invalid CSVs: each error names file:line (the first 20 bad
rows, then a count), exit 2, nothing on stdout: bad rate, negative rate,
decreasing time, a gap, a step over an hour, a mix of times and offsets,
three columns, one row, an empty file, a file outside the spec's tree.
Environment: FEDBROKER (tests/local.mk)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

TOP = os.environ.get("top_srcdir") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FEDBROKER = os.environ.get("FEDBROKER") or os.path.join(TOP, "build", "fedbroker")
failures = []

SPEC = """apiVersion: fedbroker.dev/v1
kind: Container
metadata: {name: api}
spec:
  image: ghcr.io/acme/api:1
  scaling: {targetConcurrency: 10}
  burst: {to: function}
  traffic:
    meanDuration: 100ms
    profile: %s
"""


def check(name, ok, detail=""):
    print("%s %s%s" % ("ok  " if ok else "FAIL", name, (": " + str(detail)) if detail and not ok else ""))
    if not ok:
        failures.append(name)


def validate(d, profile, csv=None, name="spec.yaml", fmt="json"):
    os.makedirs(d, exist_ok=True)
    if csv is not None:
        with open(os.path.join(d, "p.csv"), "w", newline="") as f:
            f.write(csv)
    with open(os.path.join(d, name), "w") as f:
        f.write(SPEC % profile)
    r = subprocess.run([FEDBROKER, "validate", "--format", fmt, os.path.join(d, name)],
                       capture_output=True, text=True)
    return r


def norm(r):
    return json.loads(r.stdout)["workloads"][0]


def main():
    tmp = tempfile.mkdtemp(prefix="fbprof.")
    try:
        rates = [120.5, 130, 0, 99.25, 400]
        csv = "# exported by a test\r\ntimestamp,requests_per_second\r\n\r\n" + "".join(
            "2024-02-29T23:%02d:00Z,%s\r\n" % (58 + i, r) if i < 2 else
            "2024-03-01T00:%02d%s,%s\r\n" % (i - 2, "" if i % 2 else ":00Z", r)
            for i, r in enumerate(rates))
        r = validate(tmp, "{file: p.csv}", csv)
        check("CSV: header, CRLF, comment, blank line, a leap day, times with and without seconds",
              r.returncode == 0, r.stderr)
        if r.returncode == 0:
            n = norm(r)
            p = n["spec"]["traffic"]["profile"]
            mean = sum(rates) / len(rates)
            check("normal form: step 60, %d points, start, peak, mean, min" % len(rates),
                  p["stepSeconds"] == 60 and p["points"] == len(rates) and p["start"] == "2024-02-29T23:58:00Z"
                  and p["peakRps"] == max(rates) and abs(p["meanRps"] - mean) < 1e-9 and p["minRps"] == min(rates), p)
            check("a file profile keeps its path and sha256, not the rates",
                  p["file"].endswith("p.csv") and len(p["sha256"]) == 64 and "rps" not in p, p)
            want = round(mean * 730 * 3600)
            check("requestsPerMonth = mean x 730 h x 3600 s = %d" % want,
                  n["spec"]["traffic"]["requestsPerMonth"] == want and
                  "requestsPerMonth" not in n["spec"]["traffic"]["defaults"], n["spec"]["traffic"])
            h1 = n["specHash"]
            other = os.path.join(tmp, "elsewhere")
            r2 = validate(other, "{file: p.csv}", csv)
            check("the specHash does not depend on where the CSV lives", r2.returncode == 0 and norm(r2)["specHash"] == h1)
            r3 = validate(other, "{file: p.csv}", csv.replace("400", "401"))
            check("the specHash changes with the CSV's content", r3.returncode == 0 and norm(r3)["specHash"] != h1)
        r = validate(tmp, "{file: p.csv}", "1767225600,10\n1767229200,20\n")
        check("Unix seconds, no header, a step of one hour", r.returncode == 0 and
              norm(r)["spec"]["traffic"]["profile"]["stepSeconds"] == 3600, r.stderr)
        r = validate(tmp, "{file: p.csv}", "0m,1\n15m,2\n30m,3\n")
        check("offsets: no start", r.returncode == 0 and norm(r)["spec"]["traffic"]["profile"]["start"] is None, r.stderr)
        r = validate(tmp, "[{at: 0m, rps: 5}, {at: 1m, rps: 7.5}]")
        check("inline points keep their rates", r.returncode == 0 and
              norm(r)["spec"]["traffic"]["profile"]["rps"] == [5, 7.5], r.stderr)
        r = validate(tmp, "{pattern: weekly, step: 1h, rps: [%s]}" % ", ".join(str(i % 24) for i in range(168)))
        check("a weekly pattern: 168 hourly rates, period 604800",
              r.returncode == 0 and norm(r)["spec"]["traffic"]["profile"]["periodSeconds"] == 604800, r.stderr)

        bad = [
            ("a rate that is not a number", "0m,1\n1m,x\n2m,3\n", [":2:1: error: "]),
            ("a negative rate", "0m,1\n1m,-1\n", [":2:1: error: "]),
            ("a time before the previous one", "t,r\n0m,1\n2m,1\n1m,1\n", [":4:1: error: "]),
            ("a gap", "t,r\n2026-01-01T00:00:00Z,1\n2026-01-01T00:01:00Z,1\n2026-01-01T00:04:00Z,1\n",
             [":4:1: error: ", "gap of 180 s"]),
            ("a step of two hours", "0h,1\n2h,1\n", [":2:1: error: ", "3600 s"]),
            ("a time and an offset mixed", "2026-01-01T00:00:00Z,1\n1m,1\n", [":2:1: error: "]),
            ("three columns", "0m,1,2\n1m,1\n", [":1:1: error: ", "more than two columns"]),
            ("one row", "t,r\n0m,1\n", ["only one row"]),
            ("an empty file", "", ["no rows"]),
            ("a time zone other than UTC", "2026-01-01T00:00:00+01:00,1\n2026-01-01T00:01:00+01:00,1\n", ["not in UTC"]),
            ("25 bad rows: 20 shown and a count", "".join("%dm,x\n" % i for i in range(25)), [":20:1: error: ", "5 more bad rows"]),
        ]
        for name, text, wants in bad:
            r = validate(tmp, "{file: p.csv}", text, fmt="table")
            ok = r.returncode == 2 and r.stdout == "" and all(w in r.stderr for w in wants) and \
                "p.csv" in r.stderr and "/spec/traffic/profile/file" in r.stderr
            check("invalid CSV, %s: exit 2 at p.csv %s" % (name, wants), ok, (r.returncode, r.stderr[:400]))
        r = validate(tmp, "[{at: 0m, rps: 5}, {at: 1m, rps: 7}, {at: 2m, rps: 1}, {at: 4m, rps: 1}]")
        check("inline gap: the pointer of the point", r.returncode == 2 and "/spec/traffic/profile/3/at" in r.stderr, r.stderr)
        outside = os.path.join(os.path.dirname(tmp), "fbprof-outside.csv")
        with open(outside, "w") as f:
            f.write("0m,1\n1m,1\n")
        r = validate(tmp, "{file: ../%s}" % os.path.basename(outside))
        check("a CSV outside the spec's directory tree is refused", r.returncode == 2 and "outside" in r.stderr, r.stderr)
        os.unlink(outside)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
