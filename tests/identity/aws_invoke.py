#!/usr/bin/python3
"""Least privilege on AWS from the federation graph (issue 15, item 1),
against tests/fakes/fake_aws.py (Lambda and IAM requests validated against
botocore's models; STS AssumeRoleWithWebIdentity checks the broker's token
against the published JWKS and the role's trust policy; an AWS_IAM function
URL recomputes the caller's SigV4 signature and checks the function's
resource policy for the caller's role).

With the broker as issuer (served on loopback from `identity publish`), a
federation of three Functions applied with `apply --target aws:us-east-1`:
worker depends on api; other has a private HTTP trigger and no callers.
Each runs as its own role (CreateFunction's Role), with AWS's managed
AWSLambdaBasicExecutionRole attached (and detached before the role is
deleted, as IAM requires). api gets a function URL
with AuthType AWS_IAM whose resource policy grants lambda:InvokeFunctionUrl
(FunctionUrlAuthType AWS_IAM) and lambda:InvokeFunction (through the URL)
to worker's role and to nobody else; other's URL grants nothing.

Then the call: worker's broker-issued token is exchanged at the fake STS for
worker's role credentials, and a SigV4-signed request with them is accepted
by api's URL and refused by other's; other's role credentials and an
unsigned request are refused by api's. The roles are recorded with their
own workloads (api's apply made worker's role, worker's apply adopted it);
applying api alone keeps worker's grant (worker was not among the specs
given); applying the federation without the dependency removes it (and
worker's signed call is refused). discover lists the roles (managed,
tracked); a role whose record is lost shows
as a leftover (managed, untracked), before and after destroy deletes every
recorded role.

Environment (tests/local.mk): FEDBROKER, top_srcdir, FEDBROKER_DRIVER_PATH."""
import json
import os
import sys

TOP = os.environ.get("top_srcdir") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "aws"))
from awstest import ACCOUNT, Checker, Env, Fake, issuer_site, settings  # noqa: E402
from harness import workload  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from idtest import signed_get  # noqa: E402


ck = Checker("identity aws invoke")
fake = Fake()
env = Env(fake)
s = settings(fake)
s["endpoints"]["iam"] = fake.base
env.write_config(s)
# the broker as the OIDC issuer, on loopback
ISSUER, site, srv = issuer_site(env)
os.makedirs(env.path("src"))
env.write("src/app.py", "def handler(event, context):\n    return 1\n")


PRIVATE = "triggers: [{http: {public: false}}]"


def fn(name, extra=""):
    return workload("Function", name, f"""
runtime: python3.12
handler: app.handler
code: {{path: {env.path("src")}}}
{extra}""")


fed = env.write_federation("shop.yaml", "shop", "shop", fn("api"), fn("worker", "dependencies: [{workload: api}]"),
                           fn("other", PRIVATE))


def role_arn(n):
    return f"arn:aws:iam::{ACCOUNT}:role/fb-shop-{n}"


def call_url(url, creds=None):
    return signed_get(fake.base, url, creds)


def creds_of(name):
    rc, tok, err = env.run("identity", "token", name, "--tenant", "shop", "--audience", "sts.amazonaws.com")
    r = sts.assume_role_with_web_identity(RoleArn=role_arn(name), RoleSessionName="fb-" + name,
                                          WebIdentityToken=tok.strip())
    return r["Credentials"]


try:
    rc, out, err = env.run("identity", "publish", os.path.join(site, "fb"))
    ck.ok(rc == 0, "identity publish", err)
    sts = fake.client("sts")
    rc, out, err = env.run("apply", fed, "--target", "aws:us-east-1")
    ck.ok(rc == 0, "apply of the three Functions", (rc, err[-3000:]))
    st = fake.state()
    fns = st.get("lambda", {})
    roles = {k: fns.get(f"us-east-1|shop-{k}", {}).get("config", {}).get("Role") for k in ("api", "worker", "other")}
    ck.ok(roles == {k: role_arn(k) for k in roles}, "each function runs as its own role", roles)
    basic = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    attached = {k: st.get("iam_roles", {}).get("fb-shop-" + k, {}).get("attached") for k in ("api", "worker", "other")}
    ck.ok(attached == {k: [basic] for k in attached}, "each role has AWS's basic execution policy, and only it", attached)
    api = fns.get("us-east-1|shop-api", {})
    other = fns.get("us-east-1|shop-other", {})
    ck.ok((api.get("url") or {}).get("AuthType") == "AWS_IAM", "api (called by worker) gets an AWS_IAM URL", api.get("url"))
    pol = api.get("policy", [])
    want = [{"Sid": "fb-caller-worker", "Effect": "Allow", "Principal": role_arn("worker"),
             "Action": "lambda:InvokeFunctionUrl", "Resource": api["config"]["FunctionArn"],
             "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}}},
            {"Sid": "fb-caller-worker-invoke", "Effect": "Allow", "Principal": role_arn("worker"),
             "Action": "lambda:InvokeFunction", "Resource": api["config"]["FunctionArn"],
             "Condition": {"Bool": {"lambda:InvokedViaFunctionUrl": "true"}}}] if api else []
    ck.ok(pol == want, "api's resource policy grants worker's role, and nobody else", pol)
    ck.ok((other.get("url") or {}).get("AuthType") == "AWS_IAM" and other.get("policy") == [],
          "other's URL grants nothing", (other.get("url"), other.get("policy")))
    ck.ok(not fns.get("us-east-1|shop-worker", {}).get("url"), "worker (nobody calls it) has no URL")
    rows = sorted(env.db("SELECT workload, cloud_id FROM resources WHERE type='iam-role'"))
    ck.ok(rows == [(n, role_arn(n)) for n in ("api", "other", "worker")],
          "each role is recorded with its own workload only", rows)

    wc = creds_of("worker")
    code, doc = call_url(api["url"]["FunctionUrl"], wc)
    ck.ok(code == 200 and isinstance(doc, dict) and "assumed-role/fb-shop-worker/" in (doc.get("caller") or ""),
          "worker's role credentials (from its broker-issued token) call api's URL", (code, doc))
    code, doc = call_url(other["url"]["FunctionUrl"], wc)
    ck.ok(code == 403, "and are refused by other's", (code, doc))
    code, doc = call_url(api["url"]["FunctionUrl"], creds_of("other"))
    ck.ok(code == 403, "other's role credentials are refused by api's URL", (code, doc))
    code, doc = call_url(api["url"]["FunctionUrl"])
    ck.ok(code == 403, "an unsigned call is refused", (code, doc))

    # api alone: worker, not among the specs given, keeps its grant; the
    # federation without the dependency: the grant goes
    api_only = env.write_federation("api.yaml", "shop", "shop", fn("api", PRIVATE))
    rc, out, err = env.run("apply", api_only, "--target", "aws:us-east-1")
    sids = [x["Sid"] for x in fake.state().get("lambda", {}).get("us-east-1|shop-api", {}).get("policy", [])]
    ck.ok(rc == 0 and sids == ["fb-caller-worker", "fb-caller-worker-invoke"],
          "api applied alone keeps worker's grant", (rc, err[-800:], sids))
    nodep = env.write_federation("nodep.yaml", "shop", "shop", fn("api", PRIVATE), fn("worker"), fn("other", PRIVATE))
    rc, out, err = env.run("apply", nodep, "--target", "aws:us-east-1")
    sids = [x["Sid"] for x in fake.state().get("lambda", {}).get("us-east-1|shop-api", {}).get("policy", [])]
    ck.ok(rc == 0 and sids == [], "once worker no longer depends on api, its grant is removed", (rc, err[-800:], sids))
    code, doc = call_url(api["url"]["FunctionUrl"], wc)
    ck.ok(code == 403, "and worker's credentials are refused", (code, doc))
    rc, out, err = env.run("apply", fed, "--target", "aws:us-east-1")

    def role_rows():
        rc, out, err = env.run("discover", "--provider", "aws", "--format", "json")
        rows = json.loads(out) if rc == 0 else []
        return rc, sorted((r["name"], r.get("managed"), r.get("tracked"), r.get("workload")) for r in rows
                          if r.get("type") == "iam-role")
    rc, rows = role_rows()
    ck.ok(rc == 0 and rows == [("fb-shop-%s" % n, True, True, n) for n in ("api", "other", "worker")],
          "discover lists the three roles, managed and tracked", (rc, rows))
    # a role the store lost (a crash between its create and its record)
    import sqlite3
    con = sqlite3.connect(os.path.join(env.home, "state.db"))
    con.execute("DELETE FROM resources WHERE type='iam-role' AND workload='worker'")
    con.commit()
    con.close()
    rc, rows = role_rows()
    ck.ok(("fb-shop-worker", True, False, "worker") in rows, "discover finds it as a leftover (managed, untracked)", rows)

    rc, out, err = env.run("destroy", "--all")
    st = fake.state()
    left = sorted(r for r in st.get("iam_roles", {}) if r.startswith("fb-shop-"))
    ck.ok(rc == 0 and not st.get("lambda") and left == ["fb-shop-worker"],
          "destroy deletes the functions and every recorded role (the lost one stays)", (rc, err[-1500:], left))
    rc, rows = role_rows()
    ck.ok(rows == [("fb-shop-worker", True, False, "worker")], "discover still shows the leftover", rows)
finally:
    srv.shutdown()
    fake.close()
    env.close()
ck.done()
