#!/usr/bin/python3
"""AWS trusts the broker as an OIDC issuer (issue 15, item 4, provider side),
against tests/fakes/fake_aws.py: its IAM (CreateOpenIDConnectProvider,
CreateRole; requests validated against the botocore 1.43.11 IAM model subset)
and its STS AssumeRoleWithWebIdentity, which checks a token as AWS documents
it: the issuer is an IAM OIDC provider of the account; the signature verifies
(python3-jwt) with the key named by kid in the JWKS that the issuer's
discovery document points at, fetched from the issuer URL at that moment; the
token has not expired; aud is one of the provider's client ids; and the
role's trust policy allows sts:AssumeRoleWithWebIdentity for that provider
with StringEquals on ISSUER:sub and ISSUER:aud.

The issuer here is http://127.0.0.1:PORT/fb (a loopback http issuer, which
the configuration accepts for tests only), serving what `fedbroker identity
publish` wrote. The provider and the per-workload role are made here with
botocore, as the AWS binding will make them at apply (not built yet: see
docs/identity.md). Checked: the workload's token is exchanged for credentials
with SubjectFromWebIdentityToken = its SPIFFE ID; another workload's token,
another audience, a changed signature and an expired token are refused; after
`identity keys rotate` the new signing key's token is accepted even before
publishing again (it was published as the next key), and after publishing a
token signed by the old key is still accepted.

Environment (tests/local.mk): FEDBROKER, top_srcdir, FEDBROKER_DRIVER_PATH."""
import json
import os
import subprocess
import sys
import time

TOP = os.environ.get("top_srcdir") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "aws"))
from awstest import FEDBROKER, Checker, Env, Fake, issuer_site  # noqa: E402

import botocore.exceptions  # noqa: E402

ck = Checker("identity aws oidc")
fake = Fake()
env = Env(fake)
# the broker as the OIDC issuer, on loopback
ISSUER, site, srv = issuer_site(env)
HOSTPATH = ISSUER[len("http://"):]


def run(*args, now=None):
    e = dict(env.env)
    if now is not None:
        e["FEDBROKER_NOW"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    p = subprocess.run([FEDBROKER, *args], env=e, capture_output=True, timeout=120)
    return p.returncode, p.stdout.decode().strip(), p.stderr.decode()


def publish():
    rc, out, err = run("identity", "publish", os.path.join(site, "fb"))
    ck.ok(rc == 0, "identity publish into the issuer's site", err)


def token(workload, aud="sts.amazonaws.com", now=None, ttl="10m"):
    rc, out, err = run("identity", "token", workload, "--tenant", "demo", "--audience", aud, "--ttl", ttl, now=now)
    if rc != 0:
        raise SystemExit(f"identity token failed: {err}")
    return out


def assume(role_arn, tok):
    try:
        r = sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="fb-test", WebIdentityToken=tok)
        return "ok", r
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"].get("Message", "")


try:
    publish()
    iam = fake.client("iam")
    sts = fake.client("sts")
    prov = iam.create_open_id_connect_provider(Url=ISSUER, ClientIDList=["sts.amazonaws.com"],
                                               ThumbprintList=["0" * 40])["OpenIDConnectProviderArn"]
    ck.ok(prov.endswith(f":oidc-provider/{HOSTPATH}"), "IAM OIDC provider for the broker's issuer", prov)
    SUB = "spiffe://prod.example.com/tenant/demo/workload/api"
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": prov}, "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{HOSTPATH}:sub": SUB, f"{HOSTPATH}:aud": "sts.amazonaws.com"}}}]}
    role = iam.create_role(RoleName="fb-demo-api", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]

    st, r = assume(role, token("api"))
    ck.ok(st == "ok" and r["SubjectFromWebIdentityToken"] == SUB and r["Credentials"]["AccessKeyId"].startswith("ASIA"),
          "the workload's broker-issued token is exchanged for the role's credentials", (st, str(r)[:500]))
    ES = run("identity", "token", "api", "--tenant", "demo", "--audience", "sts.amazonaws.com", "--alg", "ES256")[1]
    st2, r2 = assume(role, ES)
    ck.ok(st2 == "ok", "an ES256 token is accepted too", (st2, str(r2)[:300]))
    st, r = assume(role, token("worker"))
    ck.ok(st == "AccessDenied", "another workload's token is refused by the trust policy (sub)", (st, r))
    st, r = assume(role, token("api", aud="https://run.googleapis.com"))
    ck.ok(st == "InvalidIdentityToken" and "audience" in r, "another audience is refused", (st, r))
    t = token("api")
    h, p_, s = t.split(".")
    forged = h + "." + p_ + "." + ("A" if s[0] != "A" else "B") + s[1:]
    st, r = assume(role, forged)
    ck.ok(st == "InvalidIdentityToken", "a changed signature is refused", (st, r))
    st, r = assume(role, token("api", now=time.time() - 7200))
    ck.ok(st == "ExpiredTokenException", "an expired token is refused", (st, r))

    # rotation with overlap, seen from AWS
    old = token("api", ttl="1h")
    rc, out, err = run("identity", "keys", "rotate")
    ck.ok(rc == 0, "identity keys rotate", err)
    new = token("api")
    st, r = assume(role, new)
    ck.ok(st == "ok", "the key that signs after rotation was published before it signed: its token is "
          "accepted before publishing again", (st, str(r)[:300]))
    publish()
    st, r = assume(role, new)
    ck.ok(st == "ok", "after publishing, the new key's token is accepted", (st, str(r)[:300]))
    st, r = assume(role, old)
    ck.ok(st == "ok", "the old key's token is still accepted until it expires", (st, str(r)[:300]))
finally:
    srv.shutdown()
    fake.close()
    env.close()
ck.done()
