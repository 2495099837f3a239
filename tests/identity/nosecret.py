#!/usr/bin/python3
"""No secret value in any output (issue 15, tests): a recognisable value is
planted with `fedbroker secret put`, and a federation that reads it as
secret://db-password on AWS (a Container on Fargate: a Secrets Manager
copy) and on GCP (a Container on Cloud Run: a Secret Manager copy), with
the broker as issuer, goes through every command that shows something,
against tests/fakes/fake_aws.py and tests/fakes/fake_gcp.py, with
FEDBROKER_LOG=debug (every request logged):

  secret put / list / check, validate, render (each target), plan in every
  format (table, json, csv, md, html, focus) and --out, apply --plan
  --dry-run (table and json), apply --plan, report in every format,
  status, endpoints, discover (both providers), identity show, audit list
  and verify, results, serve answering a workload's token request (its
  log), a second secret put and apply, destroy.

Every stdout and stderr (the debug log included) is searched for the value,
its base64 form and the second value; so is every byte of every file under
the broker home (the SQLite state with its journal, the master key's
directory, plans, reports). The values did reach the fakes (read back from
both stores), so the test would see a leak had one happened.

Environment (tests/local.mk): FEDBROKER, top_srcdir, FEDBROKER_DRIVER_PATH."""
import base64
import json
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "gcp"))
sys.path.insert(0, os.path.join(here, "..", "aws"))
from gcptest import FEDBROKER, PROJECT, REGION, Checker, Env, Fake, settings, skip_unless_built  # noqa: E402
import awstest  # noqa: E402
from harness import workload  # noqa: E402

skip_unless_built()
ck = Checker("identity no secret in any output")
PLANT = "PLANTED-nosecret-4e81f9c2d7"
PLANT2 = "PLANTED-nosecret-second-a0b3"
FORMS = [PLANT, PLANT2, base64.b64encode(PLANT.encode()).decode(), base64.b64encode(PLANT2.encode()).decode()]
gfake = Fake(tempfile.mkdtemp(prefix="fb-gcp-fake-"))
afake = awstest.Fake()
env = Env(gfake)
gs = settings(gfake)
gs["endpoints"]["iam"] = gfake.url + "/iam"
aws = awstest.settings(afake)
for k in ("iam", "secretsmanager"):
    aws["endpoints"][k] = afake.base
env.write_config(gs, extra={"drivers": {"gcp": gs, "aws": aws},
                            "identity": {"trustDomain": "prod.example.com", "issuer": "https://oidc.example.com/fb",
                                         "tokenUrl": "https://broker.example.com/v1/identity/token"}})
env.env.update({"AWS_ACCESS_KEY_ID": awstest.AK, "AWS_SECRET_ACCESS_KEY": awstest.SK, "FEDBROKER_LOG": "debug"})
outputs = []


def run(*args, stdin=None):
    p = subprocess.run([FEDBROKER, *args], env=env.env, capture_output=True, timeout=300,
                       input=stdin.encode() if stdin is not None else None)
    out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    outputs.append((" ".join(args), out + err))
    return p.returncode, out, err


fed = env.write_federation("shop.yaml", "shop", "shop", workload("Container", "api", """
    image: europe-docker.pkg.dev/shop/apps/api:4
    ports: [{port: 8080, protocol: http, public: true}]
    secrets: [{env: DB_PASSWORD, ref: "secret://db-password"}]
    traffic: {requestsPerMonth: 1000000, meanDuration: 40ms, sources: [{location: frankfurt, weight: 1}]}
    placement: {regions: ["gcp:%s"]}""" % REGION), workload("Container", "orders", """
    image: docker.io/acme/orders:1.4.2
    ports: [{port: 8080, protocol: http}]
    resources: {memory: 1Gi, cpu: "0.5"}
    secrets: [{env: DB_PASSWORD, ref: "secret://db-password"}]
    traffic: {requestsPerMonth: 100000, meanDuration: 20ms, sources: [{location: new-york, weight: 1}]}
    placement: {regions: ["aws:us-east-1"]}"""))

try:
    rc, out, err = run("secret", "put", "db-password", "--tenant", "shop", stdin=PLANT)
    ck.ok(rc == 0, "secret put", err)
    for args in (("secret", "list", "--tenant", "shop"), ("secret", "check"), ("validate", fed),
                 ("render", fed, "--target", "aws:us-east-1"), ("render", fed, "--target", "gcp:%s" % REGION)):
        rc, out, err = run(*args)
        ck.ok(rc == 0, " ".join(args[:2]), (rc, err[-600:]))
    for fmt in ("table", "json", "csv", "md", "html", "focus"):
        rc, out, err = run("plan", fed, "--no-baselines", "--no-save", "--format", fmt)
        ck.ok(rc == 0, "plan --format %s" % fmt, (rc, err[-600:]))
    plan_file = env.path("plan.json")
    rc, out, err = run("plan", fed, "--no-baselines", "--out", plan_file)
    ck.ok(rc == 0, "plan --out", (rc, err[-600:]))
    for fmt in ("table", "json"):
        rc, out, err = run("apply", "--plan", plan_file, "--dry-run", "--format", fmt)
        ck.ok(rc == 0, "apply --plan --dry-run --format %s" % fmt, (rc, err[-1500:]))
    rc, out, err = run("apply", "--plan", plan_file)
    ck.ok(rc == 0, "apply --plan", (rc, out, err[-3000:]))
    # the value did reach both stores
    st, doc = gfake.api("GET", "/secretmanager/v1/projects/%s/secrets/fedbroker_shop_api_db-password/versions/latest:access"
                        % PROJECT)
    got_g = base64.b64decode(((doc or {}).get("payload") or {}).get("data", "")).decode() if st == 200 else None
    # (read from the fake's state: the copy's resource policy denies the
    # test's own user, as it denies everyone but the workload)
    sec = afake.state().get("secrets", {}).get("us-east-1|fedbroker/shop/orders/db-password", {})
    got_a = next((v["value"] for v in sec.get("versions", {}).values() if "AWSCURRENT" in v["stages"]), None)
    ck.ok(got_g == PLANT and got_a == PLANT, "the value reached Secret Manager and Secrets Manager", (got_g, got_a == PLANT))
    # the Fargate task gets the token endpoint (identity.tokenUrl)

    def env_vars(o):
        if isinstance(o, dict):
            if isinstance(o.get("name"), str) and o["name"].startswith("FEDBROKER_") and "value" in o:
                yield o["name"], o["value"]
            for v in o.values():
                yield from env_vars(v)
        elif isinstance(o, list):
            for v in o:
                yield from env_vars(v)
    got = dict(env_vars(afake.state()))
    ck.ok(got.get("FEDBROKER_TOKEN_URL") == "https://broker.example.com/v1/identity/token" and
          got.get("FEDBROKER_SPIFFE_ID") == "spiffe://prod.example.com/tenant/shop/workload/orders",
          "the Fargate task definition names the token endpoint and the task's SPIFFE ID", got)
    # serve's token endpoint (debug log on): a proof it sends to STS and
    # STS answers with the broker's own user, which is no workload
    req = AWSRequest(method="POST", url=afake.base + "/", data="Action=GetCallerIdentity&Version=2011-06-15",
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                              "X-Fedbroker-Server-Id": "https://oidc.example.com/fb"})
    botocore.auth.SigV4Auth(Credentials(awstest.AK, awstest.SK), "sts", "us-east-1").add_auth(req)
    srv = subprocess.Popen([FEDBROKER, "serve", "--listen", "127.0.0.1:0"], env=env.env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    line = srv.stdout.readline().decode()
    body = json.dumps({"provider": "aws", "audience": "a", "proof": {
        "method": "POST", "url": afake.base + "/", "headers": dict(req.headers), "body": req.data}}).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(line.split()[-1] + "/v1/identity/token", data=body,
                                                           headers={"Content-Type": "application/json"}),
                                    timeout=60) as r:
            code = r.status
    except urllib.error.HTTPError as e:
        code = e.code
    srv.terminate()
    sout, serr = srv.communicate(timeout=60)
    outputs.append(("serve", line + sout.decode("utf-8", "replace") + serr.decode("utf-8", "replace")))
    ck.ok(code == 401, "serve refuses the broker's own user as a workload (401)", code)
    for fmt in ("table", "json", "csv", "md", "html", "focus"):
        rc, out, err = run("report", "--format", fmt)
        ck.ok(rc == 0, "report --format %s" % fmt, (rc, err[-600:]))
    for args in (("status",), ("status", "--format", "json"), ("endpoints",), ("endpoints", "--format", "json"),
                 ("discover", "--provider", "aws", "--format", "json"), ("discover", "--provider", "gcp"),
                 ("identity", "show", "api", "--tenant", "shop", "--format", "json"),
                 ("identity", "show", "orders", "--tenant", "shop"), ("audit", "list"), ("audit", "verify"),
                 ("results",)):
        rc, out, err = run(*args)
        ck.ok(rc in (0, 1), " ".join(args), (rc, err[-600:]))
    rc, out, err = run("secret", "put", "db-password", "--tenant", "shop", stdin=PLANT2)
    rc, out, err = run("plan", fed, "--no-baselines", "--out", plan_file)
    rc, out, err = run("apply", "--plan", plan_file, "--rerun")
    rc, out, err = run("apply", fed, "--target", "gcp:%s" % REGION)
    ck.ok(rc == 0, "apply after a new version", (rc, err[-1500:]))
    rc, out, err = run("destroy", "--all")
    ck.ok(rc == 0, "destroy --all", (rc, err[-1500:]))

    leaks = [(cmd, f) for cmd, text in outputs for f in FORMS if f in text]
    ck.ok(not leaks, "no value (nor its base64) in any of %d outputs (debug log on)" % len(outputs), leaks)
    ck.ok(any("PutSecretValue" in t or "addVersion" in t for _, t in outputs),
          "the debug log did show the requests that carried the value (redacted)")
    leaked = []
    for root, _, files in os.walk(env.tmp):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                b = fh.read()
            leaked += [(os.path.relpath(os.path.join(root, f), env.tmp), x) for x in FORMS if x.encode() in b]
    ck.ok(not leaked, "nor in any file under the broker home (state.db bytes, plans, reports)", leaked)
    ck.ok(os.path.exists(os.path.join(env.home, "state.db")), "the state file was there to search")
finally:
    afake.close()
    gfake.close()
    env.close()
ck.done()
