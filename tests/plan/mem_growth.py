#!/usr/bin/python3
"""A loose bound on what `fedbroker plan` adds to its memory per workload
(issue 10: memory; bench/README-plan.md, "Memory").

Plans a federation of one Function and one of 2,000 distinct Functions
(bench/gen_plan_fed.py --shape distinct, the benchmark's own generator;
every workload a shape of its own, so nothing is shared between workloads'
candidates) and compares the peak resident set of the two processes
(getrusage of the child: ru_maxrss, which depends on what the process
touched, not on the machine's load). The growth per extra workload must
stay under LIMIT_KB, a third above what it is now (10.6-10.7 KB a
workload on branch mem27, 2026-12-08: each normal form dropped once its
workload is evaluated, candidates of 24 bytes made as their shape is
evaluated; 17.1-17.4 KB on branch mem26: candidates of 32 bytes, the blocks of
candidates ruled out before pricing dropped; 24.1-24.5 KB on main at
17e6e90 and on branch plan10, two runs each, 2026-12-07; 31.7-32.5 KB when
the JSON report was first written as the document is built, one workload
at a time; 48-51 KB before, when the whole document was held; 53 KB before
the candidates were two-level and the spec set shared equal parts):
a change that holds the whole plan document again (about 16 KB a workload
here) or keeps the normal forms to the end of the plan again (16.4 KB a
workload when mem27's build was made not to release them) fails it; smaller regressions do not, the bound is loose
on purpose.
FEDBROKER_PLAN_THREADS=1: the evaluation threads' stacks and arenas are
not the workloads'.

Both plans must succeed with every workload placed, so the bound is on a
real plan. A sanitizer build (its allocator keeps freed memory in
quarantine and pads every block) is skipped: its RSS measures the
sanitizer.
"""
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile

SRC = os.environ.get("top_srcdir", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD = os.environ.get("top_builddir", ".")
FB = os.environ.get("FEDBROKER", os.path.join(BUILD, "fedbroker"))
DRIVERS = os.environ.get("FEDBROKER_DRIVER_PATH", os.path.join(BUILD, "stage", "drivers"))
N = 2000
LIMIT_KB = 14


def sanitized(path):
    with open(path, "rb") as f:
        return b"__asan_init" in f.read()


def plan(tmp, spec):
    """Runs plan on spec; returns (document, peak RSS in KB)."""
    env = dict(os.environ, FEDBROKER_HOME=os.path.join(tmp, "home"),
               FEDBROKER_NOW="2026-01-01T00:00:00Z", FEDBROKER_PLAN_THREADS="1",
               FEDBROKER_DRIVER_PATH=os.path.join(tmp, "drivers"))
    out = os.path.join(tmp, "plan.json")
    with open(out, "wb") as o, open(os.path.join(tmp, "err"), "wb") as e:
        p = subprocess.Popen([FB, "plan", spec, "--no-save", "--format", "json"],
                             stdout=o, stderr=e, env=env)
        _, status, ru = os.wait4(p.pid, 0)
    rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        sys.stderr.write(open(os.path.join(tmp, "err")).read())
        sys.exit("FAIL: plan of %s exited %d" % (spec, rc))
    return json.load(open(out)), ru.ru_maxrss


def main():
    if sanitized(FB):
        print("SKIP: a sanitizer build; its RSS is the sanitizer's")
        return 77
    tmp = tempfile.mkdtemp()
    try:
        os.makedirs(os.path.join(tmp, "home"))
        os.makedirs(os.path.join(tmp, "drivers"))
        for d in ("aws", "gcp", "k8s", "quantum"):
            shutil.copy(os.path.join(DRIVERS, d + ".so"), os.path.join(tmp, "drivers"))
        os.chmod(tmp, 0o755)
        os.chmod(os.path.join(tmp, "drivers"), 0o755)
        rss = {}
        for n in (1, N):
            spec = os.path.join(tmp, "fed-%d.yaml" % n)
            subprocess.run([sys.executable, os.path.join(SRC, "bench", "gen_plan_fed.py"),
                            "--shape", "distinct", "-n", str(n), "--seed", "1", "-o", spec], check=True)
            doc, rss[n] = plan(tmp, spec)
            placed = [w for w in doc.get("workloads", []) if w.get("placement")]
            if doc.get("status") not in ("optimal", "feasible") or len(placed) != n:
                sys.exit("FAIL: plan of %d workloads: status %s, %d placed" % (n, doc.get("status"), len(placed)))
            print("plan of %d distinct Functions: peak RSS %d KB" % (n, rss[n]))
        per = (rss[N] - rss[1]) / (N - 1)
        print("growth: %.1f KB per workload (limit %d KB)" % (per, LIMIT_KB))
        if per >= LIMIT_KB:
            print("FAIL: plan keeps %.1f KB per extra workload, over %d KB" % (per, LIMIT_KB))
            return 1
        print("ok")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
