#!/usr/bin/python3
"""A workload fetches its own JWT-SVID from `fedbroker serve` (issue 15,
what was left: item 1), proving who it is with its AWS role, as Vault's AWS
auth method does: it signs an STS GetCallerIdentity request (with the
header X-Fedbroker-Server-Id = the broker's issuer, covered by the
signature) and does not send it; serve's POST /v1/identity/token hands it
to the aws driver (ABI 1.3 attest), which checks it and sends it on to STS;
STS (tests/fakes/fake_aws.py: the request validated against botocore's STS
model, the SigV4 signature recomputed with botocore from the session's
secret) answers with the caller's assumed-role ARN; the broker finds the
workload that recorded that role and signs a token for its SPIFFE ID.

Checked here, against the fake and python3-jwt:
- apply gives each Function FEDBROKER_TOKEN_URL, FEDBROKER_SERVER_ID,
  FEDBROKER_TOKEN_PROVIDER and FEDBROKER_SPIFFE_ID (identity.tokenUrl), and
  a later status reports no drift for them;
- worker's role session gets a token whose signature verifies with the
  published JWKS (kid), iss, sub = worker's SPIFFE ID, the audience asked
  for, exp - iat = the ttl asked for; a token for sts.amazonaws.com opens
  worker's role at the fake STS (AssumeRoleWithWebIdentity), so the
  workload needs nothing but its own role to get the token;
- other's role session gets other's SPIFFE ID, never worker's;
- refused, 401, without anything sent to STS: no server id header, the
  server id not signed, another broker's server id, a URL that is not the
  STS endpoint, another action in the body, a header STS does not need;
- refused, 401, by STS: a body changed after signing, a wrong signature;
- refused: the broker's own user credentials (no role session, 401); a
  role session of a destroyed workload (403); a GET (405); bad JSON (400);
- nothing of the proof or the token in serve's log; each answer an audit
  row naming the workload.

Environment (tests/local.mk): FEDBROKER, top_srcdir, FEDBROKER_DRIVER_PATH."""
import os
import sys

TOP = os.environ.get("top_srcdir") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "aws"))
from awstest import ACCOUNT, AK, SK, Checker, Env, Fake, issuer_site, settings  # noqa: E402
from harness import workload  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wltest import post, stop  # noqa: E402

import botocore.auth  # noqa: E402
import jwt  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

ck = Checker("identity workload token")
fake = Fake()
env = Env(fake)
s = settings(fake)
s["endpoints"]["iam"] = fake.base
env.write_config(s)
TOKEN_URL = "https://broker.example.com/v1/identity/token"
TD = "prod.example.com"
ISSUER, site, srv = issuer_site(env, TD, tokenUrl=TOKEN_URL)
os.makedirs(env.path("src"))
env.write("src/app.py", "def handler(event, context):\n    return 1\n")


def fn(name):
    return workload("Function", name, f"""
runtime: python3.12
handler: app.handler
code: {{path: {env.path("src")}}}
env: {{MODE: prod}}""")


fed = env.write_federation("shop.yaml", "shop", "shop", fn("worker"), fn("other"))
STS_URL = fake.base + "/"
BODY = "Action=GetCallerIdentity&Version=2011-06-15"


def sid(name):
    return f"spiffe://{TD}/tenant/shop/workload/{name}"


def role_arn(n):
    return f"arn:aws:iam::{ACCOUNT}:role/fb-shop-{n}"


def proof(creds, server_id=ISSUER, sign_sid=True, url=STS_URL, body=BODY, extra=None):
    """A GetCallerIdentity request signed with creds (botocore's SigV4, as
    an AWS SDK in the workload would), not sent: {method, url, headers, body}."""
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    if server_id and sign_sid:
        headers["X-Fedbroker-Server-Id"] = server_id
    req = AWSRequest(method="POST", url=url, data=body, headers=headers)
    botocore.auth.SigV4Auth(Credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds.get("SessionToken")),
                            "sts", "us-east-1").add_auth(req)
    h = {k: v for k, v in req.headers.items()}
    if server_id and not sign_sid:
        h["X-Fedbroker-Server-Id"] = server_id  # present but outside the signature
    if extra:
        h.update(extra)
    return {"method": "POST", "url": url, "headers": h, "body": body}


def gci_count():
    return sum(1 for e in fake.log() if e.get("operation") == "GetCallerIdentity")


serve = None
secrets_seen = []
try:
    rc, out, err = env.run("identity", "publish", os.path.join(site, "fb"))
    ck.ok(rc == 0, "identity publish", err)
    sts = fake.client("sts")
    rc, out, err = env.run("apply", fed, "--target", "aws:us-east-1")
    ck.ok(rc == 0, "apply of two Functions", (rc, err[-3000:]))
    fns = fake.state().get("lambda", {})
    for n in ("worker", "other"):
        v = fns.get(f"us-east-1|shop-{n}", {}).get("config", {}).get("Environment", {}).get("Variables")
        ck.ok(v == {"MODE": "prod", "FEDBROKER_TOKEN_URL": TOKEN_URL, "FEDBROKER_SERVER_ID": ISSUER,
                    "FEDBROKER_TOKEN_PROVIDER": "aws", "FEDBROKER_SPIFFE_ID": sid(n)},
              f"{n}'s environment names the token endpoint, the server id and its SPIFFE ID", v)
    rc, out, err = env.run("status", "--format", "json")
    ck.ok(rc == 0 and "FEDBROKER_" not in out, "status reports no drift for the broker's variables",
          (rc, out[-2000:], err[-1000:]))

    serve = env.popen("serve", "--listen", "127.0.0.1:0")
    line = serve.stdout.readline().decode()
    ck.ok(line.startswith("listening on http://127.0.0.1:"), "serve listens", line)
    base = line.split()[-1]

    def creds_of(name):
        """Role credentials of name's role, as Lambda hands them to the
        function (here from the fake STS, by the broker-issued token)."""
        rc, tok, err = env.run("identity", "token", name, "--tenant", "shop", "--audience", "sts.amazonaws.com")
        r = sts.assume_role_with_web_identity(RoleArn=role_arn(name), RoleSessionName="lambda-" + name,
                                              WebIdentityToken=tok.strip())
        c = r["Credentials"]
        secrets_seen.extend([c["SecretAccessKey"], c["SessionToken"]])
        return c

    worker = creds_of("worker")
    other = creds_of("other")
    jwks = jwt.PyJWKClient(ISSUER + "/jwks.json")

    before = gci_count()
    p = proof(worker)
    secrets_seen.append(p["headers"]["Authorization"].split("Signature=")[1])
    code, ans = post(base, {"provider": "aws", "proof": p, "audience": "https://api.example.com", "ttl": 300})
    ck.ok(code == 200 and ans.get("spiffeId") == sid("worker"), "worker's role session gets worker's token",
          (code, ans))
    ck.ok(gci_count() == before + 1, "one GetCallerIdentity reached STS (validated by the fake)",
          gci_count() - before)
    tok = ans.get("token", "") if isinstance(ans, dict) else ""
    secrets_seen.append(tok or "no-token")
    try:
        key = jwks.get_signing_key_from_jwt(tok)
        claims = jwt.decode(tok, key.key, algorithms=["RS256"], audience="https://api.example.com", issuer=ISSUER)
        ck.ok(claims["sub"] == sid("worker") and claims["exp"] - claims["iat"] == 300 and claims["exp"] ==
              ans.get("expiresAt"), "the token verifies with the published JWKS: iss, sub, aud, ttl", claims)
    except Exception as e:  # noqa: BLE001 - any failure to verify is the finding
        ck.ok(False, "the token verifies with the published JWKS: iss, sub, aud, ttl", repr(e))

    code, ans = post(base, {"provider": "aws", "proof": proof(worker), "audience": "sts.amazonaws.com"})
    try:
        r = sts.assume_role_with_web_identity(RoleArn=role_arn("worker"), RoleSessionName="self",
                                              WebIdentityToken=ans["token"])
        ck.ok(r["AssumedRoleUser"]["Arn"].endswith(":assumed-role/fb-shop-worker/self"),
              "the workload's own token for sts.amazonaws.com opens its role at the fake STS", r["AssumedRoleUser"])
        secrets_seen.append(ans["token"])
    except Exception as e:  # noqa: BLE001
        ck.ok(False, "the workload's own token for sts.amazonaws.com opens its role at the fake STS", (code, repr(e)))

    code, ans = post(base, {"provider": "aws", "proof": proof(other), "audience": "https://api.example.com"})
    ck.ok(code == 200 and ans.get("spiffeId") == sid("other") and
          jwt.decode(ans["token"], options={"verify_signature": False})["sub"] == sid("other"),
          "other's role session gets other's token, not worker's", (code, ans))

    # refused before anything is sent to STS
    before = gci_count()
    cases = [
        ("no X-Fedbroker-Server-Id", proof(worker, server_id=None)),
        ("X-Fedbroker-Server-Id outside the signature", proof(worker, sign_sid=False)),
        ("another broker's server id", proof(worker, server_id="https://other-broker.example.com")),
        ("a URL that is not the STS endpoint", proof(worker, url="http://127.0.0.1:9/")),
        ("another action in the body", proof(worker, body="Action=GetSessionToken&Version=2011-06-15")),
        ("a header STS does not need", proof(worker, extra={"X-Forwarded-For": "10.0.0.1"})),
    ]
    for what, pr in cases:
        code, ans = post(base, {"provider": "aws", "proof": pr, "audience": "a"})
        ck.ok(code == 401 and ans["error"]["code"] == "unauthenticated", f"refused (401): {what}", (code, ans))
    ck.ok(gci_count() == before, "none of those reached STS", gci_count() - before)

    # refused by STS
    p = proof(worker)
    p["body"] = "Version=2011-06-15&Action=GetCallerIdentity"  # allowed form, but not what was signed
    code, ans = post(base, {"provider": "aws", "proof": p, "audience": "a"})
    ck.ok(code == 401 and "SignatureDoesNotMatch" in ans["error"]["message"],
          "a body changed after signing: STS refuses the signature (401)", (code, ans))
    p = proof(worker)
    auth = p["headers"]["Authorization"]
    p["headers"]["Authorization"] = auth[:-4] + ("0000" if auth[-4:] != "0000" else "1111")
    code, ans = post(base, {"provider": "aws", "proof": p, "audience": "a"})
    ck.ok(code == 401 and "SignatureDoesNotMatch" in ans["error"]["message"] and
          "Canonical" not in ans["error"]["message"],
          "a changed signature: STS refuses it (401), its canonical request not repeated", (code, ans))
    code, ans = post(base, {"provider": "aws", "proof": proof({"AccessKeyId": AK, "SecretAccessKey": SK}),
                            "audience": "a"})
    ck.ok(code == 401 and "not a role session" in ans["error"]["message"],
          "the broker's own user credentials are no workload (401)", (code, ans))

    code, ans = post(base, None, method="GET")
    ck.ok(code == 405, "GET is refused (405)", (code, ans))
    code, ans = post(base, None, raw=b"{not json")
    ck.ok(code == 400, "a body that is not JSON is refused (400)", (code, ans))
    code, ans = post(base, {"provider": "aws", "proof": proof(worker), "audience": "a", "ttl": 7200})
    ck.ok(code == 400 and "/ttl" in ans["error"]["message"], "a ttl over 1 h is refused (400)", (code, ans))
    code, ans = post(base, {"provider": "nosuch", "proof": proof(worker), "audience": "a"})
    ck.ok(code == 400 and "/provider" in ans["error"]["message"], "an unknown provider is refused (400)",
          (code, ans))

    # a destroyed workload's role session names no workload any more
    rc, out, err = env.run("destroy", "--workload", "other", "--tenant", "shop")
    ck.ok(rc == 0, "destroy other", (rc, out[-1000:], err[-2000:]))
    # the fake deletes the role with it; a session made before still signs
    code, ans = post(base, {"provider": "aws", "proof": proof(other), "audience": "a"})
    ck.ok(code in (401, 403) and "token" not in ans, "a destroyed workload's session gets no token", (code, ans))
    if code == 403:
        ck.ok("no deployed workload" in ans["error"]["message"], "403 says the role names no deployed workload", ans)

    rows = env.db("SELECT actor, tenant, action, outcome FROM audit WHERE action = 'POST /v1/identity/token'")
    ck.ok(("spiffe://prod.example.com/tenant/shop/workload/worker", "shop", "POST /v1/identity/token", "200") in
          [tuple(r) for r in rows] and any(r[3] == "401" for r in rows),
          "every answer is an audit row, a granted one naming the workload", rows[:5])
finally:
    if serve:
        log = stop([serve])
        leaked = [x[:12] for x in secrets_seen if x and x in log]
        ck.ok(not leaked and "/v1/identity/token" in log, "serve's log shows the requests and no token, "
              "signature, secret key or session token", (leaked, log[-1500:]))
    srv.shutdown()
    fake.close()
    env.close()
ck.done()
