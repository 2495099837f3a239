#!/usr/bin/python3
"""The aws driver's Query-protocol calls (aws_query: IAM, ELBv2, STS), the
parts no other test reaches, through the CLI against the fake, which
validates every request against botocore's models (elbv2: the full 1.43.11
model in tests/reference/aws-models):

- settings.role_arn: the driver assumes the role with STS AssumeRole
  (RoleArn, RoleSessionName fedbroker, DurationSeconds 3600, signed with
  the environment's keys) and signs everything after with the temporary
  keys the fake issued; a role that refuses (AccessDenied) fails the verb
  with the role and the credentials' source named, no secret printed;
- discover behind an internal Network Load Balancer (us-east-1, TLS 443 and
  TCP 8080 listeners forwarding to the group, a TCP 9000 one whose default
  action does not): private rows https://DNS (the front) and
  http://DNS:8080, none for the listener that does not forward to the
  service's group; health from the group's targets (draining only:
  warning);
- a denied DescribeTargetGroups (403 AccessDenied): discover warns, names
  the permissions, and reports the service without endpoints (exit 0);
- DescribeListeners failing with 500 past the retries: discover fails
  (non-zero) naming the call, and the rows of the last good report stay
  as they were (nothing half-written)."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from awstest import ACCOUNT, AK, SK, Checker, Env, Fake, rejected, settings  # noqa: E402

ck = Checker("aws Query-protocol calls")
fake = Fake()
ROLE = "arn:aws:iam::%s:role/fb-deployer" % ACCOUNT

# ---- settings.role_arn: STS AssumeRole ------------------------------------------------
env = Env(fake, role_arn=ROLE)
mark = fake.seq()
rc, out, err = env.run("discover", "--provider", "aws", "--format", "json")
log = fake.log(mark)
sts = [e for e in log if e.get("operation") == "AssumeRole"]
ck.ok(rc == 0 and len(sts) == 1 and sts[0]["params"] == {"RoleArn": ROLE, "RoleSessionName": "fedbroker",
                                                         "DurationSeconds": 3600},
      "discover with role_arn: one AssumeRole (RoleArn, RoleSessionName fedbroker, 3600 s)", (rc, err[-800:], sts))
auth = [dict(h for h in e["headers"]).get("Authorization", "") for e in log]
ck.ok(sts and ("Credential=%s/" % AK) in auth[log.index(sts[0])]
      and all("Credential=%s/" % AK not in a for a in auth[log.index(sts[0]) + 1:])
      and len(auth) > log.index(sts[0]) + 1,
      "AssumeRole signed with the environment's key; every later call with the role's temporary key",
      auth[:4])
ck.ok(not rejected(log), "the fake accepted every request", rejected(log))
fake.call("POST", "/__fake/roles", {"arn": ROLE, "deny": True})
rc, out, err = env.run("discover", "--provider", "aws", "--format", "json")
ck.ok(rc != 0 and "STS AssumeRole of %s (settings.role_arn) failed: HTTP 403 AccessDenied" % ROLE in err
      and SK not in err and SK not in out,
      "a role that refuses: the verb fails naming the role and the error; no secret printed", (rc, err[-800:]))
env.close()

# ---- discover behind an internal NLB -------------------------------------------------
nlb = fake.call("POST", "/__fake/elb", {"region": "us-east-1", "name": "shop-nlb", "type": "network",
                                        "scheme": "internal",
                                        "listeners": [{"port": 8080, "protocol": "TCP"},
                                                      {"port": 443, "protocol": "TLS"},
                                                      {"port": 9000, "protocol": "TCP", "forward": False}],
                                        "targetGroup": {"name": "shop-worker", "port": 8080, "protocol": "TCP"}})
base = settings(fake)
ecs = dict(base["ecs"], targetGroupArn=nlb["TargetGroupArn"])
endpoints = dict(base["endpoints"], elasticloadbalancing=fake.base)
env = Env(fake, ecs=ecs, endpoints=endpoints)
spec = env.write("worker.yaml", """apiVersion: fedbroker.dev/v1
kind: Container
metadata: {name: worker, tenant: shop}
spec:
  image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/worker:1
  ports: [{port: 8080, protocol: http, public: true}]
  resources: {cpu: 250m, memory: 512Mi}
  scaling: {minInstances: 2, maxInstances: 2}
""")
rc, out, err = env.run("apply", "--target", "aws:us-east-1", spec, "--yes")
ck.ok(rc == 0, "apply the Container behind the NLB's target group (ecs.targetGroupArn)", (rc, err[-1500:]))
fake.call("POST", "/__fake/target-health", {"targetGroupArn": nlb["TargetGroupArn"], "state": "draining",
                                            "reason": "Target.DeregistrationInProgress"})


def rows():
    return {i: dict(url=u, private=p, health=h, source=s, detail=d)
            for i, u, p, h, s, d in env.db("SELECT instance, url, private, health, source, health_detail FROM endpoints"
                                           " WHERE tenant='shop' AND workload='worker' AND source='aws-elb'")}


mark = fake.seq()
rc, out, err = env.run("discover", "--provider", "aws", "--lease", "30s", "--format", "json")
found = [r for r in (json.loads(out) if out.strip() else []) if r.get("type") == "ecs-service"]
dns = nlb["DNSName"]
eps = found[0].get("endpoints") if found else None
ck.ok(rc == 0 and eps and [(e["url"], e.get("instance"), e["private"]) for e in eps] ==
      [("https://" + dns, None, True), ("http://%s:8080" % dns, "%s:8080" % dns, True)],
      "internal NLB: https://DNS (TLS 443, the front) then http://DNS:8080 (TCP), both private; "
      "not the listener forwarding elsewhere", (rc, err[-800:], eps))
ck.ok(eps and all(e["health"] == "warning" and "Target.DeregistrationInProgress" in e["detail"] for e in eps),
      "only draining targets: warning, with the reason", eps)
R = rows()
ck.ok(sorted(R) == ["", "%s:8080" % dns] and all(v["private"] == 1 and v["health"] == "warning" for v in R.values()),
      "the rows: private, warning", R)
ck.ok(not rejected(fake.log(mark)), "the fake (elbv2 1.43.11 model) accepted every request", rejected(fake.log(mark)))

# ---- a denied DescribeTargetGroups: warned, reported without URL ------------------------
fake.faults([{"service": "elbv2", "operation": "DescribeTargetGroups", "status": 403, "code": "AccessDenied",
              "message": "User is not authorized to perform: elasticloadbalancing:DescribeTargetGroups", "count": 1}])
rc, out, err = env.run("discover", "--provider", "aws", "--format", "json")
found = [r for r in (json.loads(out) if out.strip() else []) if r.get("type") == "ecs-service"]
ck.ok(rc == 0 and found and "endpoints" not in found[0] and "elasticloadbalancing:DescribeTargetGroups" in err
      and "AccessDenied" in err,
      "DescribeTargetGroups denied: exit 0, a warning naming the permission, the service without endpoints",
      (rc, err[-800:], found))

# ---- DescribeListeners failing: discover fails, the rows stay ---------------------------
before = rows()
fake.faults([{"service": "elbv2", "operation": "DescribeListeners", "status": 500, "count": 20}])
rc, out, err = env.run("discover", "--provider", "aws", "--lease", "30s", "--format", "json")
ck.ok(rc != 0 and "DescribeListeners" in err, "DescribeListeners answering 500: discover fails naming the call",
      (rc, err[-800:]))
ck.ok(rows() == before, "the rows of the last good report are unchanged", (before, rows()))
fake.call("DELETE", "/__fake/faults")
env.close()
fake.close()
ck.done()
