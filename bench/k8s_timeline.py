#!/usr/bin/env python3
"""bench/k8s_timeline.py - where a bench/k8s_apply.sh run's fan-out time goes,
from the request logs `-t DIR` keeps (DIR/run-N.log: start ns, end ns,
method, URL of every request as bench/k8s_fastfake read and answered it;
DIR/run-N.times: the apply's start and end).

    bench/k8s_timeline.py [-p P] DIR/run-1.log [DIR/run-2.log ...]

Per run, times in ms:
  pre / fan-out / post   as bench/k8s_apply.sh splits the wall time
  start                  the run's first request to the 32nd workload's first
                         request (the tenant's serial requests and the lanes'
                         start), and to the first Deployment apply
  workload               a workload's span (its first request read to its last
                         answered), the time its requests spent in the server,
                         and the gap between two of its requests (answer sent
                         to the next request read: the answer crossing the
                         host's I/O thread to the lane, the lane's work, the
                         store barrier of a first change, the request back)
  lanes                  the workloads put back on P lanes (each workload
                         starts on the lane that became free last before it:
                         the broker hands the next item to whichever lane
                         asks), the gap between two workloads of a lane (the
                         host's outcome and the next item's driver work up to
                         its first request), and the lane that ends the
                         fan-out: its workloads, and its time split into
                         server time, gaps inside workloads, gaps between
                         them and its start.
Medians with the 90th percentile and the largest in brackets."""
import collections
import os
import re
import statistics
import sys


def q(xs):
    if not xs:
        return "-"
    s = sorted(xs)
    return f"{statistics.median(s):.2f} [{s[int(len(s) * 0.9)]:.2f}, {s[-1]:.2f}]"


def one(path, p):
    rows = []
    for line in open(path):
        a, b, m, u = line.split()
        rows.append((int(a), int(b), m, u))
    rows.sort()
    t_first = rows[0][0]
    t_last = max(r[1] for r in rows)
    ms = lambda ns: ns / 1e6
    out = [f"{path}: {len(rows)} requests"]
    times = path[:-4] + ".times"
    if os.path.exists(times):
        t0, t1 = (int(x) for x in open(times).read().split())
        out.append(f"  pre {ms(t_first - t0):.1f}  fan-out {ms(t_last - t_first):.1f}  post {ms(t1 - t_last):.1f}")
    wl = collections.defaultdict(list)
    for a, b, m, u in rows:
        g = re.search(r"/namespaces/[^/]+/[a-z]+/(app-\d+)$", u)
        if g:
            wl[g.group(1)].append((a, b, u.split("/")[-2]))
    firsts = sorted(v[0][0] for v in wl.values())
    deps = [a for a, b, m, u in rows if "/deployments/" in u]
    if len(firsts) >= p:
        out.append(f"  start: the first request of workload {p} (in start order) at {ms(firsts[p - 1] - t_first):.1f}, "
                   f"first Deployment at {ms(min(deps) - t_first):.1f}")
    spans, busy, gaps = [], [], []
    for v in wl.values():
        v.sort()
        spans.append(ms(v[-1][1] - v[0][0]))
        busy.append(ms(sum(b - a for a, b, _ in v)))
        gaps += [ms(y[0] - x[1]) for x, y in zip(v, v[1:])]
    out.append(f"  workload: span {q(spans)}, in the server {q(busy)}, gap between its requests {q(gaps)}")
    # lanes: the next workload goes to the lane free the latest before it
    lanes = []  # [ [ (first, last, key) ... ] ]
    for key, v in sorted(wl.items(), key=lambda kv: kv[1][0][0]):
        s, e = v[0][0], v[-1][1]
        if len(lanes) < p:
            lanes.append([(s, e, key)])
            continue
        free = [ln for ln in lanes if ln[-1][1] <= s]
        ln = max(free, key=lambda ln: ln[-1][1]) if free else min(lanes, key=lambda ln: ln[-1][1])
        ln.append((s, e, key))
    between = [ms(y[0] - x[1]) for ln in lanes for x, y in zip(ln, ln[1:])]
    counts = collections.Counter(len(ln) for ln in lanes)
    out.append(f"  lanes: {len(lanes)} (workloads per lane: "
               + ", ".join(f"{c} lanes {k}" for k, c in sorted(counts.items())) + f"), "
               f"gap between a lane's workloads {q(between)}")
    last = max(lanes, key=lambda ln: ln[-1][1])
    srv = sum(ms(sum(b - a for a, b, _ in wl[k])) for _, _, k in last)
    inner = sum(ms(y[0] - x[1]) for _, _, k in last for x, y in zip(sorted(wl[k]), sorted(wl[k])[1:]))
    outer = sum(ms(y[0] - x[1]) for x, y in zip(last, last[1:]))
    out.append(f"  the last lane: {len(last)} workloads, start {ms(last[0][0] - t_first):.1f}, server {srv:.1f}, "
               f"gaps inside workloads {inner:.1f}, between workloads {outer:.1f}, "
               f"ends {ms(last[-1][1] - t_first):.1f}")
    return "\n".join(out)


def main():
    args = sys.argv[1:]
    p = 32
    if args[:1] == ["-p"]:
        p = int(args[1])
        args = args[2:]
    if not args:
        sys.stderr.write(__doc__)
        return 64
    for a in args:
        print(one(a, p))
    return 0


if __name__ == "__main__":
    sys.exit(main())
