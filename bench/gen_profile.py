#!/usr/bin/env python3
"""Writes a diurnal traffic profile as CSV (timestamp,requests_per_second).

The shape: a night trough at 35% of the daytime plateau, a lunch and an
evening peak, weekends 20% lower, deterministic noise of +-5% (a linear
congruential generator, so the same arguments give the same bytes).
examples/diurnal-week.csv is `gen_profile.py --days 7 --step-minutes 5`;
bench/sim_bench.sh uses `--days 365 --step-minutes 1` (525,600 rows).
"""
import argparse
import datetime
import math
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--step-minutes", type=int, default=5)
    ap.add_argument("--base", type=float, default=1400.0, help="daytime plateau, requests/s")
    ap.add_argument("--start", default="2026-12-07T00:00:00", help="UTC, a Monday by default")
    ap.add_argument("--bursts", type=int, default=0,
                    help="sudden bursts a day: 2-10 minutes at 2-4 times the rate, at random times")
    ap.add_argument("--output", default="-")
    a = ap.parse_args()
    t0 = datetime.datetime.fromisoformat(a.start)
    out = sys.stdout if a.output == "-" else open(a.output, "w")
    out.write("timestamp,requests_per_second\n")
    x = 12345
    n = a.days * 24 * 60 // a.step_minutes
    factor = [1.0] * n
    y = 777
    for _ in range(a.bursts * a.days):
        y = (1103515245 * y + 12345) % (2 ** 31)
        at = y % n
        y = (1103515245 * y + 12345) % (2 ** 31)
        length = max(1, (2 + y % 9) // a.step_minutes)
        y = (1103515245 * y + 12345) % (2 ** 31)
        for j in range(at, min(n, at + length)):
            factor[j] = 2 + 2 * (y / 2 ** 31)
    for i in range(n):
        t = t0 + datetime.timedelta(minutes=a.step_minutes * i)
        h = t.hour + t.minute / 60
        day = 0.35 + 0.65 * max(0, math.sin(math.pi * (h - 6) / 16)) ** 1.5 if 6 <= h <= 22 else 0.35
        peaks = 0.25 * math.exp(-((h - 12.5) / 1.2) ** 2) + 0.45 * math.exp(-((h - 20) / 1.5) ** 2)
        wk = 0.8 if t.weekday() >= 5 else 1.0
        x = (1103515245 * x + 12345) % (2 ** 31)
        noise = 1 + 0.1 * (x / 2 ** 31 - 0.5)
        out.write("%s,%.1f\n" % (t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                  a.base * (day + peaks) * wk * noise * factor[i]))
    if out is not sys.stdout:
        out.close()


if __name__ == "__main__":
    main()
