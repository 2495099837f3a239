#!/usr/bin/python3
"""The plan notices new callers of an unchanged workload (issue 15, what
was left: item 2), against tests/fakes/fake_aws.py (Lambda and IAM
requests validated against botocore's models).

A federation of two Functions, api and worker, planned (`plan --out`) and
applied (`apply --plan`) with the broker as issuer: nobody calls api, so it
has no function URL. Then worker gains a dependency on api; api's spec is
unchanged, yet the next plan's change set must make api an `update` of
`identity.callers` (reason "+worker"), and `apply --plan` must give api an
AWS_IAM URL whose resource policy grants worker's role. The plan after
that is all no-op. Removing the dependency makes api an update again
("-worker"), and apply withdraws worker's grant. The callers each apply
granted are in the state (deployments.identity_callers, schema 8).

Environment (tests/local.mk): FEDBROKER, top_srcdir, FEDBROKER_DRIVER_PATH."""
import json
import os
import sys

TOP = os.environ.get("top_srcdir") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "aws"))
from awstest import ACCOUNT, Checker, Env, Fake, issuer_site, settings  # noqa: E402
from harness import workload  # noqa: E402

ck = Checker("identity plan callers")
fake = Fake()
env = Env(fake)
s = settings(fake, regions=["us-east-1"])
s["endpoints"]["iam"] = fake.base
env.write_config(s)
ISSUER, site, srv = issuer_site(env)
os.makedirs(env.path("src"))
env.write("src/app.py", "def handler(event, context):\n    return 1\n")


def fed(worker_calls_api):
    fn = """
runtime: python3.12
handler: app.handler
code: {{path: {src}}}
traffic: {{requestsPerMonth: 100000, meanDuration: 20ms, sources: [{{location: new-york, weight: 1}}]}}
{dep}"""
    dep = "dependencies: [{workload: api}]" if worker_calls_api else ""
    return env.write_federation("shop.yaml", "shop", "shop",
                                workload("Function", "api", fn.format(src=env.path("src"), dep="")),
                                workload("Function", "worker", fn.format(src=env.path("src"), dep=dep)))


def plan(n):
    path = env.path(f"plan{n}.json")
    rc, out, err = env.run("plan", env.path("shop.yaml"), "--no-baselines", "--out", path)
    ck.ok(rc == 0, f"plan {n}", (rc, err[-2000:]))
    with open(path) as f:
        doc = json.load(f)
    return path, {c["workload"]: c for c in doc.get("changes", [])}, out


def api_fn():
    fns = fake.state().get("lambda", {})
    return next((v for k, v in fns.items() if k.endswith("|shop-api")), {})


worker_role = f"arn:aws:iam::{ACCOUNT}:role/fb-shop-worker"
try:
    rc, out, err = env.run("identity", "publish", os.path.join(site, "fb"))
    ck.ok(rc == 0, "identity publish", err)
    fed(False)
    p1, ch, _ = plan(1)
    rc, out, err = env.run("apply", "--plan", p1)
    ck.ok(rc == 0, "apply --plan of api and worker (no dependency)", (rc, err[-3000:]))
    ck.ok(not api_fn().get("url"), "nobody calls api: no function URL", api_fn().get("url"))
    rows = env.db("SELECT workload, identity_callers FROM deployments ORDER BY workload")
    ck.ok(rows == [("api", "[]"), ("worker", "[]")], "the state records that each apply granted nobody", rows)

    fed(True)
    p2, ch, out = plan(2)
    api = ch.get("api", {})
    ck.ok(api.get("action") == "update" and api.get("fields") == ["identity.callers"] and
          "+worker" in api.get("reason", ""), "api's spec is unchanged, but its new caller makes it an update",
          api)
    ck.ok(ch.get("worker", {}).get("action") == "update", "worker (its spec changed) is an update", ch.get("worker"))
    ck.ok("api" in out and "callers" in out, "the plan's table shows why api changes", out[-1500:])
    rc, out, err = env.run("apply", "--plan", p2)
    ck.ok(rc == 0, "apply --plan of the new dependency", (rc, err[-3000:]))
    fn = api_fn()
    pol = fn.get("policy", [])
    ck.ok((fn.get("url") or {}).get("AuthType") == "AWS_IAM" and
          sorted(x["Sid"] for x in pol) == ["fb-caller-worker", "fb-caller-worker-invoke"] and
          all(x["Principal"] == worker_role for x in pol),
          "apply gave api an AWS_IAM URL granting worker's role, and nobody else", (fn.get("url"), pol))
    rows = env.db("SELECT identity_callers FROM deployments WHERE workload = 'api'")
    ck.ok(rows and json.loads(rows[0][0]) == [{"name": "worker", "provider": "aws", "region": "us-east-1"}],
          "the state records worker as api's caller", rows)

    rc, out, err = env.run("plan", env.path("shop.yaml"), "--no-baselines", "--no-save", "--detailed-exitcode")
    ck.ok(rc == 0 and "No changes" in out, "the next plan is all no-op", (rc, out[-800:], err[-800:]))

    fed(False)
    p3, ch, _ = plan(3)
    api = ch.get("api", {})
    ck.ok(api.get("action") == "update" and "-worker" in api.get("reason", ""),
          "the dependency removed: api is an update again (-worker)", api)
    rc, out, err = env.run("apply", "--plan", p3)
    ck.ok(rc == 0, "apply --plan without the dependency", (rc, err[-3000:]))
    pol = api_fn().get("policy", [])
    ck.ok(not any(x.get("Principal") == worker_role for x in pol), "worker's grant on api is withdrawn", pol)
    rc, out, err = env.run("plan", env.path("shop.yaml"), "--no-baselines", "--no-save", "--detailed-exitcode")
    ck.ok(rc == 0 and "No changes" in out, "and the plan after that is all no-op", (rc, out[-800:], err[-800:]))
    rc, out, err = env.run("destroy", "--all")
    ck.ok(rc == 0, "destroy --all", (rc, err[-1500:]))
finally:
    srv.shutdown()
    fake.close()
    env.close()
ck.done()
