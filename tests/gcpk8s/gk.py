"""gk.py - shared helpers for the gcp/k8s driver tests (tests/gcpk8s).

Runs the real `fedbroker validate --format json` to get the normal form the
drivers receive, and tests/gcpk8s/drvcall to call the staged driver .so
files through the broker's registry and host table.
"""
import json
import os
import subprocess
import sys

SRCDIR = os.environ.get("top_srcdir") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILDDIR = os.environ.get("top_builddir") or os.getcwd()
FEDBROKER = os.environ.get("FEDBROKER") or os.path.join(BUILDDIR, "fedbroker")
DRIVER_DIR = os.environ.get("FEDBROKER_DRIVER_PATH") or os.path.join(BUILDDIR, "stage", "drivers")
DRVCALL = os.path.join(BUILDDIR, "tests", "gcpk8s", "drvcall")
DATA = os.path.join(SRCDIR, "tests", "reference")

EXAMPLES = ["function.yaml", "container.yaml", "federation.yaml", "shop-worker.yaml",
            "thumbnailer.json", "quantum-bell.yaml"]

failures = []


def check(cond, what):
    """Records one check; prints ok/FAIL."""
    if cond:
        print("ok:", what)
    else:
        print("FAIL:", what)
        failures.append(what)
    return cond


def finish():
    if failures:
        print("%d check(s) failed" % len(failures))
        sys.exit(1)
    print("all checks passed")
    sys.exit(0)


def normal_forms(paths):
    """The normal form of every workload in the given spec files."""
    out = subprocess.run([FEDBROKER, "validate", "--format", "json"] + list(paths),
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit("fedbroker validate failed:\n" + out.stdout + out.stderr)
    return json.loads(out.stdout)["workloads"]


def example_workloads():
    return normal_forms(os.path.join(SRCDIR, "examples", e) for e in EXAMPLES)


def spec_workload(text, name="t.yaml"):
    """The normal form of one spec given as YAML text."""
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, name)
        with open(p, "w") as f:
            f.write(text)
        ws = normal_forms([p])
    assert len(ws) == 1, ws
    return ws[0]


def call(driver, settings, calls):
    """Runs calls [(verb, input)] on driver NAME; returns the results."""
    batch = {"driver": os.path.join(DRIVER_DIR, driver + ".so"), "settings": settings,
             "calls": [{"verb": v, "input": i} for v, i in calls]}
    p = subprocess.run([DRVCALL], input=json.dumps(batch), capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit("drvcall failed (%d):\n%s%s" % (p.returncode, p.stdout, p.stderr))
    res = json.loads(p.stdout)
    if res["configure"]["status"] != "ok" and res["configure"]["status"] != "OK":
        return res
    return res


def statusok(r):
    return r["status"].lower() == "ok"


def errors(r):
    return [d for d in r["diagnostics"] if d.get("severity") == "error"]


def placement(driver, kind, service, region):
    return {"provider": driver, "kind": kind, "service": service, "region": region,
            "offer": {"kind": kind, "service": service, "region": region}}


def catalog_file(name):
    """catalog/NAME of the source tree; None when it does not exist."""
    p = os.path.join(SRCDIR, "catalog", name)
    return p if os.path.exists(p) else None
