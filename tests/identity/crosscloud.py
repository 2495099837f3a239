#!/usr/bin/python3
"""Issue 15's done-when test: one federation whose Function on AWS Lambda
(worker) depends on a Container on Cloud Run (api), deployed with one
`apply --plan` against tests/fakes/fake_aws.py and tests/fakes/fake_gcp.py
(every IAM, STS, Lambda, Run and IAM-policy request checked against
botocore's models and Google's discovery documents), with the broker as the
OIDC issuer of both sides (served on loopback from `identity publish`).

AWS side: worker runs as its own role fb-shop-worker (CreateFunction's
Role), whose trust policy lets Lambda run as it and lets
AssumeRoleWithWebIdentity through only for worker's SPIFFE ID.

GCP side: the project's workload identity pool with an OIDC provider for the
issuer (google.subject = assertion.sub); api runs as its own service account
fb-shop-api, which only api's federated principal may impersonate
(roles/iam.workloadIdentityUser); roles/run.invoker on api for exactly its
callers: web's service account (web: a Container on Cloud Run that also
depends on api) and, for worker (on AWS), an account fbc-... made for worker
to call api, which only worker's federated principal may impersonate;
`other`, a third Container nobody depends on, grants none of them.

Then the flow a call takes: `fedbroker identity token worker` with the
provider's audience, exchanged at the fake GCP STS (RFC 8693; the fake
fetches the issuer's discovery document and JWKS and checks signature, kid,
iss, aud, exp and the attribute mapping) for a federated token; with it,
generateIdToken on worker's fbc- account for api's URL (allowed by
workloadIdentityUser) gives a Google-signed ID token, which the fake Cloud
Run accepts for api, and which other refuses (another audience; and an ID
token made for other's URL is refused too: no run.invoker). web's token
takes the same path through web's own account. Refused: the federated
token itself at api (the principal holds no run.invoker), worker's token
with another audience (AWS's), another workload's token, worker's
federated token impersonating api's account. The records are in
the store; discover lists the accounts as tracked and an account a crash
left as untracked; destroy removes the role, the accounts and the services
(the shared pool and OIDC providers stay).

Environment (tests/local.mk): FEDBROKER, top_srcdir, FEDBROKER_DRIVER_PATH."""
import hashlib
import json
import os
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "gcp"))
sys.path.insert(0, os.path.join(here, "..", "aws"))
from gcptest import PROJECT, REGION, Checker, Env, Fake, members, settings, skip_unless_built  # noqa: E402
import awstest  # noqa: E402
from harness import workload  # noqa: E402

import botocore.auth  # noqa: E402
import botocore.exceptions  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

skip_unless_built()
ck = Checker("identity cross-cloud")
gfake = Fake(tempfile.mkdtemp(prefix="fb-gcp-fake-"))
afake = awstest.Fake()
env = Env(gfake)
gs = settings(gfake)
gs["endpoints"]["iam"] = gfake.url + "/iam"
aws = awstest.settings(afake)
aws["endpoints"]["iam"] = afake.base
env.write_config(gs, extra={"drivers": {"gcp": gs, "aws": aws}})
# the broker as the OIDC issuer, on loopback
ISSUER, site, srv = awstest.issuer_site(env)
env.env.update({"AWS_ACCESS_KEY_ID": awstest.AK, "AWS_SECRET_ACCESS_KEY": awstest.SK})
os.makedirs(env.path("worker"))
env.write("worker/app.py", "def handler(event, context):\n    return 1\n")


def container(name, deps=""):
    return workload("Container", name, """
        image: europe-docker.pkg.dev/shop/apps/%s:4
        ports: [{port: 8080, protocol: http}]
        traffic: {requestsPerMonth: 1000000, meanDuration: 40ms, sources: [{location: frankfurt, weight: 1}]}
        placement: {regions: ["gcp:%s"]}
%s""" % (name, REGION, deps))


fed = env.write_federation("shop.yaml", "shop", "shop", container("api"),
                           container("web", "        dependencies: [{workload: api}]\n"), container("other"),
                           container("web2", "        dependencies: [{workload: worker}]\n"),
                           workload("Function", "worker", """
    runtime: python3.12
    handler: app.handler
    code: {path: %s}
    traffic: {requestsPerMonth: 100000, meanDuration: 20ms, sources: [{location: new-york, weight: 1}]}
    placement: {regions: ["aws:us-east-1"]}
    dependencies: [{workload: api}]""" % env.path("worker")))


def spiffe(name):
    return "spiffe://prod.example.com/tenant/shop/workload/%s" % name


def sa(name):
    return "fb-shop-%s@%s.iam.gserviceaccount.com" % (name, PROJECT)


def sts_exchange(tok, audience):
    body = urllib.parse.urlencode({
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", "audience": audience,
        "scope": "https://www.googleapis.com/auth/cloud-platform",
        "requested_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "subject_token": tok, "subject_token_type": "urn:ietf:params:oauth:token-type:jwt"}).encode()
    st, doc, _ = gfake.call("POST", "/v1/token", raw=body, ctype="application/x-www-form-urlencoded")
    return st, doc


def invoke(svc, tok):
    path = urllib.parse.urlsplit(svc["uri"]).path + "/orders"
    st, doc, _ = gfake.call("GET", path, token=tok)
    return st, doc


try:
    rc, out, err = env.run("identity", "publish", os.path.join(site, "fb"))
    ck.ok(rc == 0, "identity publish", err)
    plan_file = env.path("plan.json")
    rc, out, err = env.run("plan", fed, "--no-baselines", "--out", plan_file)
    ck.ok(rc == 0, "plan --out", (rc, err[-1500:]))
    rc, out, err = env.run("apply", "--plan", plan_file)
    ck.ok(rc == 0 and "5 created" in out, "apply --plan deploys both sides with their identities",
          (rc, out, err[-3000:]))

    # ---- AWS: worker runs as its own role ----
    ast = afake.state()
    role = ast.get("iam_roles", {}).get("fb-shop-worker")
    create = [e for e in afake.log() if e.get("operation") == "CreateFunction"]
    ck.ok(role and create and create[-1]["params"].get("Role") == role["arn"],
          "the Lambda function runs as the workload's role", (role and role["arn"], create and create[-1]["params"].get("Role")))
    stmts = role["policy"]["Statement"] if role else []
    hp = ISSUER[len("http://"):]
    ck.ok(any((s.get("Principal") or {}).get("Service") == "lambda.amazonaws.com" and s["Action"] == "sts:AssumeRole"
              for s in stmts) and
          any(s.get("Condition") == {"StringEquals": {hp + ":sub": spiffe("worker"), hp + ":aud": "sts.amazonaws.com"}}
              for s in stmts), "its trust policy: Lambda, and web identity only for worker's SPIFFE ID", stmts)

    # ---- GCP: pool, provider, accounts, bindings ----
    st_, pl, _ = gfake.call("GET", "/iam/v1/projects/%s/locations/global/workloadIdentityPools/fedbroker/providers"
                            % PROJECT, token=gfake.admin)
    provs = (pl or {}).get("workloadIdentityPoolProviders", [])
    ck.ok(len(provs) == 1 and provs[0]["oidc"]["issuerUri"] == ISSUER and
          provs[0]["attributeMapping"] == {"google.subject": "assertion.sub"},
          "one pool provider for the broker's issuer, google.subject = assertion.sub", provs)
    provider = provs[0]["name"] if provs else ""
    pool = provider.split("/providers/")[0]
    AUD = "//iam.googleapis.com/" + provider
    services = gfake.services()
    ck.ok(sorted(services) == ["api", "other", "web", "web2"], "fake_gcp holds the four services", list(services))
    run_as = {n: (s.get("template") or {}).get("serviceAccount") for n, s in services.items()}
    ck.ok(run_as == {n: sa(n) for n in ("api", "other", "web", "web2")}, "each service runs as its own account", run_as)
    for n in ("api", "web"):
        # IAM's getIamPolicy is a POST (its discovery document)
        pol = gfake.call("POST", "/iam/v1/projects/%s/serviceAccounts/%s:getIamPolicy" % (PROJECT, sa(n)), {},
                         token=gfake.admin)[1] or {}
        ck.ok(members(pol, "roles/iam.workloadIdentityUser") == ["principal://iam.googleapis.com/%s/subject/%s"
                                                                 % (pool, spiffe(n))] and
              len(pol.get("bindings", [])) == 1,
              "only %s's federated principal may impersonate %s" % (n, sa(n)), pol)
    svc_name = "projects/%s/locations/%s/services/%%s" % (PROJECT, REGION)
    st_, doc, _ = gfake.call("GET", "/iam/v1/projects/%s/serviceAccounts" % PROJECT, token=gfake.admin)
    fbc = [a for a in (doc or {}).get("accounts", []) if a["email"].startswith("fbc-")]
    ck.ok(len(fbc) == 1 and "shop/worker" in fbc[0].get("description", "") and "shop/api" in fbc[0].get("description", ""),
          "one account made for worker to call api", fbc)
    CALLER = fbc[0]["email"] if fbc else "none"
    pol = gfake.call("POST", "/iam/v1/projects/%s/serviceAccounts/%s:getIamPolicy" % (PROJECT, CALLER), {},
                     token=gfake.admin)[1] or {}
    ck.ok(members(pol, "roles/iam.workloadIdentityUser") == ["principal://iam.googleapis.com/%s/subject/%s"
                                                             % (pool, spiffe("worker"))] and len(pol.get("bindings", [])) == 1,
          "only worker's federated principal may impersonate it", pol)
    inv_api = members(gfake.policy("run", svc_name % "api"), "roles/run.invoker")
    want = sorted(["serviceAccount:" + CALLER, "serviceAccount:" + sa("web")])
    ck.ok(inv_api == want, "run.invoker on api: exactly worker's caller account and web's account", inv_api)
    inv_other = members(gfake.policy("run", svc_name % "other"), "roles/run.invoker")
    inv_web = members(gfake.policy("run", svc_name % "web"), "roles/run.invoker")
    ck.ok(inv_other == [] and inv_web == [], "nobody may call other or web (no dependency on them)", (inv_other, inv_web))
    types = sorted({r[0] for r in env.db("SELECT type FROM resources")})
    ck.ok({"iam-role", "gcp-service-account", "gcp-iam-binding"} <= set(types), "every binding is a recorded resource",
          types)
    rows = env.db("SELECT cloud_id FROM resources WHERE type='gcp-iam-binding'")
    ck.ok(len(rows) == 7, "7 bindings recorded (5 workloadIdentityUser, 2 run.invoker)", rows)

    rc, out, err = env.run("identity", "show", "api", "--tenant", "shop", "--format", "json")
    shown = json.dumps(json.loads(out)) if rc == 0 else ""
    ck.ok(sa("api") in shown and CALLER in shown and "roles/run.invoker" in shown and
          "roles/iam.workloadIdentityUser" in shown, "identity show api lists its account, its caller's and the bindings",
          (rc, shown[:1500], err[-500:]))

    # ---- the cross-cloud call ----
    rc, tok, err = env.run("identity", "token", "worker", "--tenant", "shop", "--audience", AUD)
    tok = tok.strip()
    ck.ok(rc == 0 and tok.count(".") == 2, "a broker-issued token for worker, audience the pool provider", err)
    st_, doc = sts_exchange(tok, AUD)
    fed_tok = (doc or {}).get("access_token")
    ck.ok(st_ == 200 and fed_tok, "the fake GCP STS exchanges it (JWKS, iss, aud, exp, mapping checked)", (st_, doc))
    st_, doc = invoke(services["api"], fed_tok)
    ck.ok(st_ == 403, "the federated token itself is refused by api (its principal holds no run.invoker)", (st_, doc))

    def id_token(account, fed, svc):
        st_, doc, _ = gfake.call("POST", "/iamcredentials/v1/projects/-/serviceAccounts/%s:generateIdToken" % account,
                                 {"audience": svc["uri"], "includeEmail": True}, token=fed)
        return st_, (doc or {}).get("token") if isinstance(doc, dict) else None
    st_, idt = id_token(CALLER, fed_tok, services["api"])
    ck.ok(st_ == 200 and idt, "worker's federated principal gets an ID token of its caller account for api's URL",
          st_)
    st_, doc = invoke(services["api"], idt or "")
    ck.ok(st_ == 200 and isinstance(doc, dict) and doc.get("caller") == "serviceAccount:" + CALLER,
          "the fake Cloud Run accepts it for api", (st_, doc))
    for n in ("other", "web"):
        st_, doc = invoke(services[n], idt or "")
        st2, idt2 = id_token(CALLER, fed_tok, services[n])
        st3, doc3 = invoke(services[n], idt2 or "")
        ck.ok(st_ == 401 and st2 == 200 and st3 == 403,
              "and %s refuses it, and an ID token made for its own URL" % n, (st_, st2, st3, doc3))
    st_, doc, _ = gfake.call("POST", "/iamcredentials/v1/projects/-/serviceAccounts/%s:generateIdToken" % sa("api"),
                             {"audience": services["api"]["uri"]}, token=fed_tok)
    ck.ok(st_ == 403, "worker's federated token may not impersonate api's account", (st_, doc))

    rc, aws_tok, err = env.run("identity", "token", "worker", "--tenant", "shop", "--audience", "sts.amazonaws.com")
    st_, doc = sts_exchange(aws_tok.strip(), AUD)
    ck.ok(st_ == 400 and (doc or {}).get("error") == "invalid_grant", "a token made for AWS STS is refused at GCP STS",
          (st_, doc))
    rc, other_tok, err = env.run("identity", "token", "other", "--tenant", "shop", "--audience", AUD)
    st_, doc = sts_exchange(other_tok.strip(), AUD)
    other_fed = (doc or {}).get("access_token") or ""
    st2, doc2 = invoke(services["api"], other_fed)
    st3, _ = id_token(CALLER, other_fed, services["api"])
    ck.ok(st_ == 200 and st2 == 403 and st3 == 403,
          "another workload's exchanged token is refused by api and may not impersonate worker's account",
          (st_, st2, st3, doc2))
    bad = tok[:-4] + ("AAAA" if not tok.endswith("AAAA") else "BBBB")
    st_, doc = sts_exchange(bad, AUD)
    ck.ok(st_ == 400, "a token with a changed signature is refused at STS", (st_, doc))

    # ---- a caller on Google Cloud: STS, its own account, an ID token ----
    rc, web_tok, err = env.run("identity", "token", "web", "--tenant", "shop", "--audience", AUD)
    st_, doc = sts_exchange(web_tok.strip(), AUD)
    web_fed = (doc or {}).get("access_token") or ""
    st_, doc, _ = gfake.call("POST", "/iamcredentials/v1/projects/-/serviceAccounts/%s:generateIdToken" % sa("web"),
                             {"audience": services["api"]["uri"], "includeEmail": True}, token=web_fed)
    idt = (doc or {}).get("token")
    ck.ok(st_ == 200 and idt, "web's principal impersonates web's account (workloadIdentityUser)", (st_, doc))
    st_, doc = invoke(services["api"], idt or "")
    ck.ok(st_ == 200 and (doc or {}).get("caller") == "serviceAccount:" + sa("web"),
          "api accepts web's ID token", (st_, doc))
    st_, doc, _ = gfake.call("POST", "/iamcredentials/v1/projects/-/serviceAccounts/%s:generateIdToken" % sa("web"),
                             {"audience": services["other"]["uri"], "includeEmail": True}, token=web_fed)
    st2, doc2 = invoke(services["other"], (doc or {}).get("token") or "")
    ck.ok(st2 == 403, "other refuses web's ID token", (st2, doc2))

    # ---- a second apply changes nothing; destroy removes every binding ----
    rc, out, err = env.run("plan", fed, "--no-baselines", "--no-save", "--detailed-exitcode")
    ck.ok(rc == 0 and "No changes" in out, "the next plan is all no-op", (rc, out[-600:], err[-600:]))
    # ---- the other way: web2 on Cloud Run calls worker on Lambda ----
    wfn = afake.state().get("lambda", {}).get("us-east-1|shop-worker", {})
    key = "shop/web2/worker"
    fbc_role = "fbc-shop-web2-worker-" + hashlib.sha256(key.encode()).hexdigest()[:8]
    roles = afake.state().get("iam_roles", {})
    crole = roles.get(fbc_role)
    ck.ok((wfn.get("url") or {}).get("AuthType") == "AWS_IAM" and crole and
          [x["Sid"] for x in wfn.get("policy", [])] == ["fb-caller-web2", "fb-caller-web2-invoke"] and
          all(x["Principal"] == crole["arn"] for x in wfn.get("policy", [])),
          "worker (called by web2) gets an AWS_IAM URL granting only the role made for web2 to call it",
          (wfn.get("url"), wfn.get("policy"), list(roles)))
    ck.ok(crole and len(crole["policy"]["Statement"]) == 1 and
          crole["policy"]["Statement"][0]["Condition"]["StringEquals"][hp + ":sub"] == spiffe("web2"),
          "that role trusts web2's SPIFFE ID only (web identity, nothing else)", crole and crole["policy"])
    sts = afake.client("sts")

    def signed_get(url, creds):
        host = url.split("/")[2]
        req = AWSRequest(method="GET", url="https://%s/orders" % host, data=None)
        botocore.auth.SigV4Auth(Credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]),
                                "lambda", "us-east-1").add_auth(req)
        r = urllib.request.Request(afake.base + "/orders", headers=dict(req.headers.items(), Host=host))
        try:
            with urllib.request.urlopen(r, timeout=30) as resp:
                return resp.status
        except urllib.error.HTTPError as e:
            return e.code

    def assume(role_arn, name):
        tok = env.run("identity", "token", name, "--tenant", "shop", "--audience", "sts.amazonaws.com")[1].strip()
        try:
            return sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="fb",
                                                    WebIdentityToken=tok)["Credentials"]
        except botocore.exceptions.ClientError as e:
            return e.response["Error"]["Code"]
    c2 = assume(crole["arn"], "web2") if crole else None
    ck.ok(isinstance(c2, dict) and signed_get(wfn["url"]["FunctionUrl"], c2) == 200,
          "web2's token opens that role, whose signed call worker's URL accepts", c2 if not isinstance(c2, dict) else "")
    ck.ok(crole and assume(crole["arn"], "web") == "AccessDenied", "web's token does not open web2's role")
    cw = assume(role["arn"], "worker")
    ck.ok(isinstance(cw, dict) and signed_get(wfn["url"]["FunctionUrl"], cw) == 403,
          "worker's own role may not call worker (it is not its caller)")

    # discover: the accounts, managed and tracked; one a crash left (made,
    # never recorded) shows as managed and untracked
    fake_desc = "fedbroker: the identity of workload shop/ghost (docs/identity.md)"
    gfake.call("POST", "/iam/v1/projects/%s/serviceAccounts" % PROJECT,
               {"accountId": "fb-shop-ghost", "serviceAccount": {"description": fake_desc}}, token=gfake.admin)
    rc, out, err = env.run("discover", "--provider", "gcp", "--format", "json")
    rows = sorted((r["name"].split("@")[0], r.get("managed"), r.get("tracked"), r.get("workload"))
                  for r in (json.loads(out) if rc == 0 else []) if r.get("type") == "gcp-service-account")
    want_rows = sorted([("fb-shop-api", True, True, "api"), ("fb-shop-web", True, True, "web"),
                        ("fb-shop-web2", True, True, "web2"),
                        ("fb-shop-other", True, True, "other"), (CALLER.split("@")[0], True, True, "api"),
                        ("fb-shop-ghost", True, False, "ghost")])
    ck.ok(rows == want_rows, "discover lists the accounts (tracked) and finds the leftover (untracked)", (rc, rows, err[-600:]))
    gfake.call("DELETE", "/iam/v1/projects/%s/serviceAccounts/fb-shop-ghost@%s.iam.gserviceaccount.com" % (PROJECT, PROJECT),
               token=gfake.admin)

    rc, out, err = env.run("destroy", "--federation", "shop")
    ck.ok(rc == 0, "destroy --federation shop", (rc, out, err[-1500:]))
    st_, doc, _ = gfake.call("GET", "/iam/v1/projects/%s/serviceAccounts" % PROJECT, token=gfake.admin)
    left = sorted(a["email"] for a in (doc or {}).get("accounts", []) if a["email"].startswith(("fb-", "fbc-")))
    ck.ok(left == [], "the workloads' and the caller's service accounts are deleted", left)
    left_roles = [r for r in afake.state().get("iam_roles", {}) if r.startswith(("fb-shop-", "fbc-shop-"))]
    ck.ok(left_roles == [], "worker's role and the role made for web2 are deleted", left_roles)
    ck.ok(gfake.services() == {} and not env.db("SELECT * FROM resources"), "no service and no record left",
          (list(gfake.services()), env.db("SELECT type, cloud_id FROM resources")))
finally:
    srv.shutdown()
    afake.close()
    gfake.close()
    env.close()
ck.done()
