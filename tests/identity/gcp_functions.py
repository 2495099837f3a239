#!/usr/bin/python3
"""The broker's identity on Cloud Functions (2nd gen), against
tests/fakes/fake_gcp.py (every request checked against Google's discovery
documents).

With the broker as issuer, a federation planned with `plan --out` and
applied with `apply --plan`: a Function `fn` (source code) that reads
secret://api-key, placed on cloud-functions, and a Container `web` on
Cloud Run that depends on it. fn runs as its own service account
(serviceConfig.serviceAccountEmail), which only fn's federated principal
may impersonate; its copy of the secret (fedbroker_shop_fn_api-key, the
broker's value) is readable by that account only; roles/run.invoker on the
function's service goes to web's account and nobody else. After a new
`secret put`, applying fn alone (`apply --target`) adds a version and
deploys the function again, and web, which was not among the specs given,
keeps its grant and its record.
destroy removes the function, the copy and both accounts; the value is in
no output.

Environment (tests/local.mk): FEDBROKER, top_srcdir, FEDBROKER_DRIVER_PATH."""
import base64
import os
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "gcp"))
from gcptest import FEDBROKER, PROJECT, REGION, Checker, Env, Fake, members, methods, settings, skip_unless_built  # noqa: E402
from harness import workload  # noqa: E402

skip_unless_built()
ck = Checker("identity gcp functions")
PLANT, PLANT2 = "PLANTED-fn-api-key-2d91c4", "PLANTED-fn-api-key-rotated-66aa"
SID = "fedbroker_shop_fn_api-key"
fake = Fake(tempfile.mkdtemp(prefix="fb-gcp-fake-"))
env = Env(fake)
gs = settings(fake)
gs["endpoints"]["iam"] = fake.url + "/iam"
env.write_config(gs, extra={"identity": {"trustDomain": "prod.example.com", "issuer": "https://oidc.example.com/fb"}})
env.env["FEDBROKER_LOG"] = "debug"
outputs = []


def run(*args, stdin=None):
    p = subprocess.run([FEDBROKER, *args], env=env.env, capture_output=True, timeout=300,
                       input=stdin.encode() if stdin is not None else None)
    out, err = p.stdout.decode(), p.stderr.decode()
    outputs.append(out + err)
    return p.returncode, out, err


def sa(n):
    return "fb-shop-%s@%s.iam.gserviceaccount.com" % (n, PROJECT)


os.makedirs(env.path("fn"))
env.write("fn/main.py", "def handler(request):\n    return 'ok'\n")
fed = env.write_federation("shop.yaml", "shop", "shop", workload("Function", "fn", """
    runtime: python3.12
    handler: main.handler
    code: {path: %s}
    triggers: [{http: {public: false}}]
    secrets: [{env: API_KEY, ref: "secret://api-key"}]
    traffic: {requestsPerMonth: 100000, meanDuration: 20ms, sources: [{location: frankfurt, weight: 1}]}
    placement: {regions: ["gcp:%s"]}""" % (env.path("fn"), REGION)), workload("Container", "web", """
    image: europe-docker.pkg.dev/shop/apps/web:4
    ports: [{port: 8080, protocol: http}]
    traffic: {requestsPerMonth: 1000000, meanDuration: 40ms, sources: [{location: frankfurt, weight: 1}]}
    placement: {regions: ["gcp:%s"]}
    dependencies: [{workload: fn}]""" % REGION))


def latest_value():
    st, doc = fake.api("GET", "/secretmanager/v1/projects/%s/secrets/%s/versions/latest:access" % (PROJECT, SID))
    return base64.b64decode(((doc or {}).get("payload") or {}).get("data", "")).decode() if st == 200 else None


try:
    rc, out, err = run("secret", "put", "api-key", "--tenant", "shop", stdin=PLANT)
    ck.ok(rc == 0, "secret put", err)
    plan_file = env.path("plan.json")
    rc, out, err = run("plan", fed, "--no-baselines", "--out", plan_file)
    ck.ok(rc == 0, "plan --out", (rc, err[-1500:]))
    rc, out, err = run("apply", "--plan", plan_file)
    ck.ok(rc == 0, "apply --plan", (rc, out, err[-3000:]))
    fns = fake.functions()
    fn = fns.get("fn", {})
    sc = fn.get("serviceConfig") or {}
    ck.ok(sc.get("serviceAccountEmail") == sa("fn"), "the function runs as its own account", sc.get("serviceAccountEmail"))
    pol = fake.call("POST", "/iam/v1/projects/%s/serviceAccounts/%s:getIamPolicy" % (PROJECT, sa("fn")), {},
                    token=fake.admin)[1] or {}
    ck.ok(len(members(pol, "roles/iam.workloadIdentityUser")) == 1 and
          members(pol, "roles/iam.workloadIdentityUser")[0].endswith("/subject/spiffe://prod.example.com/tenant/shop/workload/fn"),
          "only fn's federated principal may impersonate it", pol)
    ck.ok(latest_value() == PLANT, "the function's copy of the secret holds the broker's value")
    spol = fake.policy("secretmanager", "projects/%s/secrets/%s" % (PROJECT, SID))
    ck.ok(members(spol, "roles/secretmanager.secretAccessor") == ["serviceAccount:" + sa("fn")],
          "only the function's account may read it", spol)
    refs = [e for e in sc.get("secretEnvironmentVariables") or [] if e.get("key") == "API_KEY"]
    ck.ok(refs and refs[0].get("secret", "").endswith(SID), "the function reads it natively", refs)
    svc = sc.get("service") or ""
    inv = members(fake.policy("run", svc), "roles/run.invoker") if svc else None
    ck.ok(inv == ["serviceAccount:" + sa("web")], "run.invoker on the function's service: web's account only", inv)

    rc, out, err = run("secret", "put", "api-key", "--tenant", "shop", stdin=PLANT2)
    rc, out, err = run("plan", fed, "--no-baselines", "--no-save", "--detailed-exitcode")
    fn_line = [x for x in out.splitlines() if "shop/fn " in x]
    ck.ok(rc == 2 and fn_line and "update" in fn_line[-1] and "fedbroker-version" in fn_line[-1],
          "the next plan updates fn: its copy is older than the broker's version (drift)", (rc, out[-1500:], err[-600:]))
    # fn alone, with --target (which always applies): a new secret version
    # is rolled out; web, not among the specs given, keeps its grant
    fn_only = env.write("fn-only.yaml", open(fed).read().split("    - apiVersion: fedbroker.dev/v1\n      kind: Container")[0])
    mark = fake.seq()
    rc, out, err = run("apply", fn_only, "--target", "gcp:%s" % REGION, "--service", "cloud-functions")
    ms = methods(fake.log(mark))
    ck.ok(rc == 0 and latest_value() == PLANT2 and "cloudfunctions.projects.locations.functions.patch" in ms,
          "a new version: one more version, and the function deployed again", (rc, err[-1500:], ms[-12:]))
    inv = members(fake.policy("run", svc), "roles/run.invoker") if svc else None
    ck.ok(inv == ["serviceAccount:" + sa("web")], "web, not among the specs applied, keeps its grant", inv)
    rows = env.db("SELECT cloud_id FROM resources WHERE workload='fn' AND type='gcp-iam-binding' AND cloud_id LIKE ?",
                  "%run.invoker%")
    ck.ok(len(rows) == 1, "and its record", rows)
    rc, out, err = run("destroy", "--all")
    ck.ok(rc == 0 and fake.functions() == {}, "destroy", (rc, err[-1500:]))
    st, doc = fake.api("GET", "/secretmanager/v1/projects/%s/secrets/%s" % (PROJECT, SID))
    st2, doc2, _ = fake.call("GET", "/iam/v1/projects/%s/serviceAccounts" % PROJECT, token=fake.admin)
    left = [a["email"] for a in (doc2 or {}).get("accounts", []) if a["email"].startswith(("fb-", "fbc-"))]
    ck.ok(st == 404 and left == [], "the copy and the accounts are gone", (st, left))
    forms = [PLANT, PLANT2, base64.b64encode(PLANT.encode()).decode(), base64.b64encode(PLANT2.encode()).decode()]
    ck.ok(not any(f in t for t in outputs for f in forms), "the values are in no output (debug log on)")
finally:
    fake.close()
    env.close()
ck.done()
