#!/usr/bin/python3
"""The workload's identity bound on AWS at apply (issue 15, item 4 for ECS),
against tests/fakes/fake_aws.py (IAM and Secrets Manager requests validated
against botocore's models; STS AssumeRoleWithWebIdentity checks tokens
against the issuer's published JWKS and the role's trust policy, see
tests/identity/aws_oidc.py).

With identity.trustDomain and a loopback issuer configured, apply of a
Container on Fargate makes the account's IAM OIDC provider for the issuer
(once) and the workload's role fb-demo-api, whose trust policy lets ECS tasks
run as it and lets AssumeRoleWithWebIdentity through only for the workload's
SPIFFE ID and audience sts.amazonaws.com; the task definition's taskRoleArn
is that role; the role is a recorded resource. Then a token from `fedbroker
identity token api` is exchanged for the role's credentials, and a token of
another workload is refused. A second apply makes nothing new; a second
workload gets its own role and reuses the provider; the dry run of a third
shows the CreateRole it would send; `identity show` lists the role. A
portable secret's copy in Secrets Manager gets a resource policy that
denies GetSecretValue to every principal but the workload's role and the
execution role: the workload's role (credentials from its token) reads it,
another workload's is denied. destroy deletes the roles (the shared
provider stays).

Environment (tests/local.mk): FEDBROKER, top_srcdir, FEDBROKER_DRIVER_PATH."""
import json
import os
import subprocess
import sys
import urllib.parse

TOP = os.environ.get("top_srcdir") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "aws"))
from awstest import FEDBROKER, Checker, Env, Fake, issuer_site, ops, settings  # noqa: E402

import botocore.config  # noqa: E402
import botocore.exceptions  # noqa: E402
import botocore.session  # noqa: E402

ck = Checker("identity aws binding")
fake = Fake()
env = Env(fake)
s = settings(fake)
s["endpoints"]["iam"] = fake.base
s["endpoints"]["secretsmanager"] = fake.base
env.write_config(s)
# the broker as the OIDC issuer, on loopback
ISSUER, site, srv = issuer_site(env)
HOSTPATH = ISSUER[len("http://"):]
T = ("--target", "aws:us-east-1")


def run(*args):
    p = subprocess.run([FEDBROKER, *args], env=env.env, capture_output=True, timeout=300)
    return p.returncode, p.stdout.decode().strip(), p.stderr.decode()


def spec(name):
    return env.write(f"{name}.yaml", f"""apiVersion: fedbroker.dev/v1
kind: Container
metadata: {{name: {name}, tenant: demo}}
spec:
  image: docker.io/acme/{name}:1.0
  ports: [{{port: 8080, protocol: http}}]
  resources: {{memory: 1Gi, cpu: "0.5"}}
""")


def sub_of(name):
    return f"spiffe://prod.example.com/tenant/demo/workload/{name}"


def assume(role_arn, tok):
    try:
        r = sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="fb", WebIdentityToken=tok)
        return "ok", r
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"].get("Message", "")


try:
    rc, out, err = run("identity", "publish", os.path.join(site, "fb"))
    ck.ok(rc == 0, "identity publish", err)
    sts = fake.client("sts")

    mark = fake.seq()
    rc, out, err = run("apply", spec("api"), *T)
    ck.ok(rc == 0, "apply of demo/api with the broker as issuer", err[-2000:])
    st = fake.state()
    provs = st.get("oidc_providers", {})
    ck.ok(list(provs) == [HOSTPATH] and provs[HOSTPATH]["client_ids"] == ["sts.amazonaws.com"],
          "one IAM OIDC provider for the issuer, audience sts.amazonaws.com", provs)
    role = st.get("iam_roles", {}).get("fb-demo-api")
    stmts = role["policy"]["Statement"] if role else []
    fed = [x for x in stmts if "Federated" in (x.get("Principal") or {})]
    svc = [x for x in stmts if (x.get("Principal") or {}).get("Service") == "ecs-tasks.amazonaws.com"]
    ck.ok(role and len(fed) == 1 and fed[0]["Action"] == "sts:AssumeRoleWithWebIdentity" and
          fed[0]["Principal"]["Federated"] == provs[HOSTPATH]["arn"] and
          fed[0]["Condition"] == {"StringEquals": {f"{HOSTPATH}:sub": sub_of("api"), f"{HOSTPATH}:aud": "sts.amazonaws.com"}},
          "the role's trust policy: web identity only for the workload's SPIFFE ID and audience", stmts)
    ck.ok(len(svc) == 1 and svc[0]["Action"] == "sts:AssumeRole", "ECS tasks may run as the role", stmts)
    ck.ok(role and {"Key": "managed-by", "Value": "fedbroker"} in role["tags"], "the role is tagged managed-by=fedbroker")
    tds = st["ecs_task_definitions"]
    roles_used = [rev.get("taskRoleArn") for td in tds.values() for rev in td]
    ck.ok(role and roles_used and roles_used[-1] == role["arn"], "the task definition runs as the role", roles_used)
    order = [o for o in ops(fake.log(mark)) if o in ("CreateOpenIDConnectProvider", "CreateRole", "RegisterTaskDefinition")]
    ck.ok(order == ["CreateOpenIDConnectProvider", "CreateRole", "RegisterTaskDefinition"],
          "provider and role exist before the task definition", order)
    rows = env.db("SELECT cloud_id FROM resources WHERE type='iam-role'")
    ck.ok(role and rows == [(role["arn"],)], "the role is a recorded resource", rows)

    tok = run("identity", "token", "api", "--tenant", "demo", "--audience", "sts.amazonaws.com")[1]
    r = assume(role["arn"], tok)
    ck.ok(r[0] == "ok" and r[1]["SubjectFromWebIdentityToken"] == sub_of("api"),
          "the workload's broker-issued token is exchanged for the role's credentials", r)
    other = run("identity", "token", "worker", "--tenant", "demo", "--audience", "sts.amazonaws.com")[1]
    r = assume(role["arn"], other)
    ck.ok(r[0] == "AccessDenied", "another workload's token is refused for this role", r)

    mark = fake.seq()
    rc, out, err = run("apply", spec("api"), *T)
    sent = ops(fake.log(mark))
    ck.ok(rc == 0 and "CreateRole" not in sent and "CreateOpenIDConnectProvider" not in sent and
          "UpdateAssumeRolePolicy" not in sent, "a second apply makes no new provider or role, changes no policy", sent)

    # a trust policy as an older version made it (no Lambda statement), or
    # changed by hand, is brought back by the next apply
    iam = fake.client("iam")
    old_doc = {"Version": "2012-10-17", "Statement": [x for x in stmts if x.get("Sid") != "LambdaRunsAsIt"]}
    iam.update_assume_role_policy(RoleName="fb-demo-api", PolicyDocument=json.dumps(old_doc))
    mark = fake.seq()
    rc, out, err = run("apply", spec("api"), *T)
    sent = ops(fake.log(mark))
    ck.ok(rc == 0 and sent.count("UpdateAssumeRolePolicy") == 1 and
          fake.state()["iam_roles"]["fb-demo-api"]["policy"] == role["policy"],
          "a changed trust policy is restored (UpdateAssumeRolePolicy)", (rc, sent, err[-800:]))

    mark = fake.seq()
    rc, out, err = run("apply", spec("worker"), *T)
    sent = ops(fake.log(mark))
    st = fake.state()
    ck.ok(rc == 0 and "fb-demo-worker" in st["iam_roles"] and len(st["oidc_providers"]) == 1 and
          "CreateOpenIDConnectProvider" not in sent, "a second workload: its own role, the same provider", sent)
    r = assume(st["iam_roles"]["fb-demo-worker"]["arn"], other)
    ck.ok(r[0] == "ok", "the worker's token opens the worker's role", r)

    rc, out, err = run("apply", spec("cron"), *T, "--dry-run", "--format", "json")
    bodies = [urllib.parse.unquote_plus(x.get("body") or "") for x in (json.loads(out) if rc == 0 else [])]
    cr = [b for b in bodies if "Action=CreateRole" in b]
    ck.ok(len(cr) == 1 and sub_of("cron") in cr[0] and "RoleName=fb-demo-cron" in cr[0],
          "the dry run shows the CreateRole it would send, naming the workload's SPIFFE ID", (rc, err[-800:], cr))
    ck.ok("fb-demo-cron" not in fake.state()["iam_roles"], "the dry run made no role")

    rc, out, err = run("identity", "show", "api", "--tenant", "demo", "--format", "json")
    show = json.loads(out) if rc == 0 else {}
    ck.ok(any(role["arn"] in json.dumps(b) for b in show.get("bindings", [])),
          "identity show lists the workload's role", show)

    # a portable secret's copy: only the workload's role (and ECS's
    # execution role, which injects it) may read it
    p = subprocess.run([FEDBROKER, "secret", "put", "db-password", "--tenant", "demo"], env=env.env,
                       input=b"PLANTED-binding-7f3a", capture_output=True, timeout=60)
    vault = env.write("vault.yaml", open(spec("vault")).read().replace(
        "  resources:", '  secrets: [{env: DB_PASSWORD, ref: "secret://db-password"}]\n  resources:'))
    rc, out, err = run("apply", vault, *T)
    ck.ok(p.returncode == 0 and rc == 0, "apply of demo/vault with secret://db-password", err[-2000:])
    sm = fake.client("secretsmanager")
    pol = json.loads(sm.get_resource_policy(SecretId="fedbroker/demo/vault/db-password").get("ResourcePolicy", "{}"))
    deny = [x for x in pol.get("Statement", []) if x.get("Effect") == "Deny"]
    ck.ok(len(deny) == 1 and deny[0]["Action"] == "secretsmanager:GetSecretValue" and
          sorted(deny[0]["Condition"]["StringNotEquals"]["aws:PrincipalArn"]) ==
          sorted([fake.state()["iam_roles"]["fb-demo-vault"]["arn"], s["ecs"]["executionRoleArn"]]),
          "the copy's resource policy denies every principal but the workload's role and the execution role", pol)

    def read_as(name):
        tok = run("identity", "token", name, "--tenant", "demo", "--audience", "sts.amazonaws.com")[1]
        c = sts.assume_role_with_web_identity(RoleArn=fake.state()["iam_roles"]["fb-demo-" + name]["arn"],
                                              RoleSessionName="fb", WebIdentityToken=tok)["Credentials"]
        cl = botocore.session.get_session().create_client(
            "secretsmanager", region_name="us-east-1", endpoint_url=fake.base, aws_access_key_id=c["AccessKeyId"],
            aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"],
            config=botocore.config.Config(retries={"max_attempts": 1}))
        try:
            return cl.get_secret_value(SecretId="fedbroker/demo/vault/db-password")["SecretString"]
        except botocore.exceptions.ClientError as e:
            return e.response["Error"]["Code"]
    ck.ok(read_as("vault") == "PLANTED-binding-7f3a", "the workload's role reads it (credentials from its token)")
    ck.ok(read_as("api") == "AccessDeniedException", "another workload's role is denied")

    mark = fake.seq()
    rc, out, err = run("destroy", "--all")
    st = fake.state()
    ck.ok(rc == 0 and not st["iam_roles"] and ops(fake.log(mark)).count("DeleteRole") == 3,
          "destroy deletes the three roles", (rc, err[-1000:], list(st["iam_roles"])))
    ck.ok(len(st["oidc_providers"]) == 1, "the account's provider for the issuer stays (shared)")
finally:
    srv.shutdown()
    fake.close()
    env.close()
ck.done()
