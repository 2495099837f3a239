#!/usr/bin/python3
"""secret://NAME is valid on every provider (issue 15, item 3).

The example Container (examples/container.yaml) names its database password
as aws-sm://..., so the plan can only place it on AWS: the GCP and
Kubernetes offers are eliminated because the secret lives elsewhere. The same
spec with secret://db-password validates, and no offer is eliminated for its
secret: Fargate, Cloud Run, GKE Autopilot and Kubernetes all stay feasible.
render maps the portable reference to each provider's own store under a name
that joins tenant, workload and name with a character no name holds: ECS
valueFrom fedbroker/demo/orders-portable/db-password (Secrets Manager), Cloud
Run's fedbroker_demo_orders-portable_db-password (Secret Manager), Kubernetes'
secretKeyRef fedbroker.demo.orders-portable.db-password key value. A malformed
secret:// reference is a schema error with its pointer. GCP's apply no
longer refuses a portable secret (Cloud Run materialises it:
tests/identity/gcp_secrets.py; AWS: tests/identity/aws_secrets.py).

Environment (tests/local.mk): FEDBROKER, top_srcdir, FEDBROKER_DRIVER_PATH."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import yaml

TOP = os.environ.get("top_srcdir") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FEDBROKER = os.environ.get("FEDBROKER") or os.path.join(TOP, "build", "fedbroker")

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Checker  # noqa: E402

ck = Checker("portable")
ok = ck.ok


tmp = tempfile.mkdtemp(prefix="fb-portable-")
os.chmod(tmp, 0o755)
home = os.path.join(tmp, "home")
os.mkdir(home, 0o700)


def run(*args):
    env = dict(os.environ, FEDBROKER_HOME=home, FEDBROKER_NOW="2026-06-01T00:00:00Z")
    for k in [k for k in env if k.startswith(("AWS_", "GOOGLE_", "CLOUDSDK_"))]:
        del env[k]
    p = subprocess.run([FEDBROKER, *args], capture_output=True, text=True, env=env, timeout=300, cwd=tmp)
    return p.returncode, p.stdout, p.stderr


def spec_with(ref, name):
    doc = yaml.safe_load(open(os.path.join(TOP, "examples", "container.yaml")))
    doc["spec"]["secrets"] = [{"env": "DB_PASSWORD", "ref": ref}]
    # one port (Cloud Run serves one) and no residency, so every provider
    # could take it but for the secret
    doc["spec"]["ports"] = doc["spec"]["ports"][:1]
    doc["spec"]["args"] = ["--listen", ":8080"]
    doc.get("placement", {}).pop("residency", None)
    doc["spec"].get("placement", {}).pop("residency", None)
    doc["metadata"]["name"] = name
    path = os.path.join(tmp, f"{name}.yaml")
    with open(path, "w") as f:
        yaml.safe_dump(doc, f)
    return path


def baselines(plan):
    return {b["provider"]: b for b in plan.get("baselines", [])}


try:
    native = spec_with("aws-sm://prod/orders/db#password", "orders-native")
    portable = spec_with("secret://db-password", "orders-portable")
    bad = spec_with("secret://DB_Password", "orders-bad")

    rc, out, err = run("validate", portable)
    ok(rc == 0, "a spec with secret://db-password validates", (rc, err))
    rc, out, err = run("validate", bad)
    ok(rc == 2 and "/spec/secrets/0/ref" in err, "secret://DB_Password is a schema error at its pointer", (rc, err))

    rc, out, err = run("plan", native, "--format", "json")
    bn = baselines(json.loads(out)) if rc == 0 else {}
    ok(rc == 0 and bn.get("aws", {}).get("status") == "feasible" and
       all(bn.get(p, {}).get("status") == "infeasible" and "driver" in bn.get(p, {}).get("reason", "")
           for p in ("gcp", "k8s")),
       "aws-sm://: only all-aws is feasible; GCP's and Kubernetes' offers are refused by their drivers",
       (rc, bn, err[:1500]))
    rc, out, err = run("plan", portable, "--format", "json")
    bp = baselines(json.loads(out)) if rc == 0 else {}
    ok(rc == 0 and all(bp.get(p, {}).get("status") == "feasible" for p in ("aws", "gcp")),
       "secret://: the all-aws and all-gcp baselines are feasible", (rc, bp, err[:1500]))
    # the local Kubernetes offer may have no price row; what matters is
    # that its driver no longer refuses the workload
    ok(bp.get("k8s", {}).get("status") == "feasible" or "driver" not in bp.get("k8s", {}).get("reason", "driver"),
       "secret://: no Kubernetes offer is refused by its driver", bp.get("k8s"))

    targets = {
        "aws:eu-west-1": "fedbroker/demo/orders-portable/db-password",
        "gcp:europe-west1": "fedbroker_demo_orders-portable_db-password",
        "k8s": "fedbroker.demo.orders-portable.db-password",
    }
    for target, want in targets.items():
        rc, out, err = run("render", portable, "--target", target)
        ok(rc == 0 and want in out and "secret://" not in out.replace('"portable"', ""),
           f"render --target {target}: the portable secret becomes {want} in the provider's store", (rc, err[:2000], out[:1500]))
    rc, out, err = run("render", portable, "--target", "k8s")
    ok('"key": "value"' in out or '"key":"value"' in out, "Kubernetes: the Secret's key is value", out[:1500])

    # AWS and Cloud Run materialise it (aws_secrets.py, gcp_secrets.py)
    rc, out, err = run("apply", portable, "--target", "gcp:europe-west1", "--dry-run")
    ok("does not yet materialise" not in err,
       "GCP: apply --dry-run no longer refuses a portable secret", (rc, err[:2000]))
finally:
    shutil.rmtree(tmp, ignore_errors=True)

ck.done()
