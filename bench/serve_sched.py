#!/usr/bin/python3
"""bench/serve_sched.py - who made wrk's and serve's threads wait for a CPU
(bench/serve_bench.sh runs it on `perf script` output of a system-wide
`perf record -e sched:sched_switch -e sched:sched_waking` taken during one
wrk run; bench/README-serve.md).

For every thread of wrk and of serve: each time it became runnable (woken,
or preempted while runnable) until it got a CPU is one wait. Prints, per
group (wrk; serve-req: libmicrohttpd's worker threads; serve-other: serve's
other threads, the audit writer and the request log's flusher), the
waits' p50, p99 and maximum, how many lasted over 1 ms, and for those what
the CPUs ran meanwhile (by group; `other` is every process outside the
benchmark). Last, the CPU time of each group over the recording.

    perf script -i perf.data | bench/serve_sched.py [LONG_MS=1]

LONG_MS: the waits counted as long (1 ms; for a 1 ms p99 target, waits of
0.25 ms matter too). Also prints, per group, how long its threads ran once
on a CPU (p50, p99, max): a background thread's long runs are what the
others wait behind.
"""
import collections
import re
import sys

LONG = float(sys.argv[1]) / 1000 if len(sys.argv) > 1 else 0.001

SWITCH = re.compile(r'\s*(.+?)\s+(\d+)\s+\[(\d+)\]\s+([\d.]+): sched:sched_switch: prev_comm=(.+?) prev_pid=(\d+) '
                    r'prev_prio=\d+ prev_state=(\S+) ==> next_comm=(.+?) next_pid=(\d+)')
WAKING = re.compile(r'\s*(.+?)\s+(\d+)\s+\[(\d+)\]\s+([\d.]+): sched:sched_waking: comm=(.+?) pid=(\d+)')
OURS = ('wrk', 'serve-req', 'serve-other')


def group(comm):
    if comm.startswith('wrk'):
        return 'wrk'
    if comm.startswith('MHD-'):  # MHD-worker (a pool), MHD-single (--threads 1)
        return 'serve-req'
    if comm.startswith('fedbroker') or comm.startswith('fb-'):
        return 'serve-other'
    if comm.startswith('swapper'):
        return 'idle'
    return 'other'


runnable = {}  # tid -> since
running = {}  # cpu -> (group, since)
waits = collections.defaultdict(list)  # group -> [(seconds, start, end)]
segments = []  # (start, end, group) of what each CPU ran
for line in sys.stdin:
    m = SWITCH.match(line)
    if m:
        cpu, t = int(m.group(3)), float(m.group(4))
        prev_pid, prev_state, nxt, nxt_pid = m.group(6), m.group(7), m.group(8), m.group(9)
        if cpu in running:
            g, since = running[cpu]
            segments.append((since, t, g))
        if prev_state.startswith('R'):  # preempted: still runnable
            runnable[prev_pid] = t
        if nxt_pid in runnable:
            since = runnable.pop(nxt_pid)
            g = group(nxt)
            if g in OURS:
                waits[g].append((t - since, since, t))
        running[cpu] = (group(nxt), t)
        continue
    m = WAKING.match(line)
    if m:
        runnable.setdefault(m.group(6), float(m.group(4)))

segments.sort()
starts = [s for s, _, _ in segments]


def ran_during(a, b):
    """CPU time by group between a and b (all CPUs)."""
    import bisect
    out = collections.Counter()
    i = bisect.bisect_left(starts, a - 0.5)  # no segment is longer than the recording's slices; be generous
    for s, e, g in segments[max(0, i - 64):]:
        if s >= b:
            break
        if e > a:
            out[g] += min(e, b) - max(s, a)
    return out


if not segments:
    sys.exit("serve_sched: no sched_switch events in the input (perf script of a sched recording expected)")
for g in OURS:
    ws = sorted(waits.get(g, []))
    if not ws:
        continue
    n = len(ws)
    pct = lambda p: ws[min(n - 1, int(p * n))][0] * 1000  # noqa: E731
    long = [w for w in ws if w[0] > LONG]
    print(f"{g}: {n} waits for a CPU, p50 {pct(.5):.3f} ms, p99 {pct(.99):.3f} ms, max {ws[-1][0] * 1000:.2f} ms; "
          f"{len(long)} over {LONG * 1000:g} ms ({sum(w[0] for w in long) * 1000:.1f} ms in all)")
    meanwhile = collections.Counter()
    for _, a, b in long:
        meanwhile += ran_during(a, b)
    total = sum(meanwhile.values())
    if total:
        print("    while those waited the CPUs ran: " +
              ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in meanwhile.most_common()))
runs = collections.defaultdict(list)
for s, e, g in segments:
    runs[g].append(e - s)
for g in OURS:
    rs = sorted(runs.get(g, []))
    if rs:
        n = len(rs)
        print(f"{g}: {n} runs on a CPU, p50 {rs[n // 2] * 1000:.3f} ms, p99 {rs[min(n - 1, int(.99 * n))] * 1000:.3f} ms, "
              f"max {rs[-1] * 1000:.2f} ms")
busy = collections.Counter()
for s, e, g in segments:
    busy[g] += e - s
total = sum(busy.values())
print("CPU time by group: " + ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in busy.most_common()))
