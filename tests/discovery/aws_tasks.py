#!/usr/bin/python3
"""Where an ECS service answers when nothing in front of it says so
(issue 16, docs/discovery.md), through the real CLI against
tests/fakes/fake_aws.py, which validates every request against botocore
1.43.11's models (ecs, ec2 subsets and the full elbv2 in tests/reference)
and runs each service's tasks (one per running count, each with an
elastic network interface in its EC2, a public IP with assignPublicIp):

- a Container `web` on Fargate with assignPublicIp and no load balancer,
  two tasks: `discover --lease 30s` reports one public row per task
  (source aws-ecs-task, instance IP:8080, http://IP:8080, the IPs the
  fake's network interfaces hold, the container port of the task
  definition) by ECS ListTasks (serviceName, desiredStatus RUNNING) ->
  DescribeTasks -> DescribeTaskDefinition -> EC2 DescribeNetworkInterfaces
  (the network-interface-id filter, MaxResults); health from the task's
  healthStatus (HEALTHY: passing; a failing container health check:
  critical, so resolve drops it and --all shows it);
- a task stopping (its essential container exited; the service starts a
  replacement with a new interface and IP): the next discover reports the
  replacement and no longer the stopped task, whose row goes stale a lease
  after its last report and is removed a lease later (`health`, time moved
  with FEDBROKER_NOW), the others staying;
- a Container `api` behind a target group that an Application Load
  Balancer reaches only through listener rules (the HTTPS listener's
  default action answers 404): ELBv2 DescribeRules per listener, a
  path-pattern rule (/api/*: https://DNS/api/, the pattern in the detail)
  and a host-header rule with a weighted ForwardConfig (90 to the group,
  10 to another: https://api.shop.example), a rule whose conditions a URL
  cannot carry (a wildcard host, an HTTP header, a path with an inner
  wildcard: https://DNS, each condition in the detail); a rule forwarding only to
  the other group and the HTTP listener (no rule to the group) give no
  row; api's own tasks (it also has public IPs) are not reported, the
  balancer is its front;
- EC2 DescribeNetworkInterfaces denied (403 UnauthorizedOperation):
  discover exits 0 with a warning naming ec2:DescribeNetworkInterfaces,
  reports web without endpoints, and still reports api's load-balancer
  rows (refreshed), while web's task rows are not (they age out);
- ELBv2 DescribeRules denied: a warning naming it, api reported without
  rows, web's task rows still reported."""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("top_srcdir") or os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "aws"))
from awstest import Checker, Env, Fake, rejected, settings  # noqa: E402

ck = Checker("discovery: ECS task public IPs and listener rules")
fake = Fake()
ENDPOINTS = dict(settings(fake)["endpoints"], elasticloadbalancing=fake.base, ec2=fake.base)
env = Env(fake, endpoints=ENDPOINTS)
SPEC = """apiVersion: fedbroker.dev/v1
kind: Container
metadata: {name: %s, tenant: shop}
spec:
  image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/%s:1
  ports: [{port: 8080, protocol: http, public: true}]
  resources: {cpu: 250m, memory: 512Mi}
  scaling: {minInstances: 2, maxInstances: 2}
  healthCheck: {path: /healthz}
"""
web_spec = env.write("web.yaml", SPEC % ("web", "web"))
rc, out, err = env.run("apply", "--target", "aws:us-east-1", web_spec, "--yes")
ck.ok(rc == 0, "apply web: a Fargate service with assignPublicIp, no load balancer", (rc, err[-1500:]))


def tasks(state=None):
    """The fake's tasks of a service: arn -> (lastStatus, public IP or None)."""
    st = state or fake.state()
    out = {}
    for arn, t in st["ecs_tasks"].items():
        eni = [d["value"] for a in t["attachments"] for d in a["details"] if d["name"] == "networkInterfaceId"]
        iface = st["network_interfaces"].get(eni[0], {}).get("iface", {}) if eni else {}
        out[arn] = (t["group"], t["lastStatus"], (iface.get("Association") or {}).get("PublicIp"))
    return out


def running(group):
    return {a: ip for a, (g, last, ip) in tasks().items() if g == "service:" + group and last == "RUNNING"}


def rows(workload, source=None):
    q = ("SELECT instance, url, private, health, source, lease_seconds, reported_at, health_detail FROM endpoints"
         " WHERE tenant='shop' AND workload=?")
    return {i: dict(url=u, private=p, health=h, source=s, lease=ls, rep=rep, detail=d)
            for i, u, p, h, s, ls, rep, d in env.db(q, workload) if source is None or s == source}


def discover(*extra):
    mark = fake.seq()
    rc, out, err = env.run("discover", "--provider", "aws", "--lease", "30s", "--format", "json", *extra)
    found = {r.get("name"): r for r in (json.loads(out) if rc == 0 and out.strip() else [])
             if r.get("type") == "ecs-service"}
    return rc, found, err, fake.log(mark)


web0 = running("shop-web")
ck.ok(len(web0) == 2 and all(web0.values()) and len(set(web0.values())) == 2,
      "the fake runs web's two tasks, each with a public IP on its network interface", tasks())

# ---- two public tasks: two rows ------------------------------------------------------------------
rc, found, err, log = discover()
eps = (found.get("shop-web") or {}).get("endpoints") or []
want = sorted(("http://%s:8080" % ip, "%s:8080" % ip) for ip in web0.values())
ck.ok(rc == 0 and sorted((e["url"], e.get("instance")) for e in eps) == want,
      "discover: one endpoint per task, http://PUBLIC-IP:8080 (the task definition's container port), "
      "instance IP:8080", (rc, err[-1500:], eps, want))
ck.ok(eps and all(e["private"] is False and e["source"] == "aws-ecs-task" and e["health"] == "passing"
                  and "HEALTHY" in e["detail"] and "container port 8080" in e["detail"] for e in eps),
      "public rows, source aws-ecs-task, health passing from the task's HEALTHY", eps)
R = rows("web")
ck.ok(sorted(R) == sorted(i for _, i in want) and all(v["source"] == "aws-ecs-task" and v["lease"] == 30
                                                       and v["private"] == 0 for v in R.values()),
      "the endpoints table: the two task rows, lease 30 s, public", R)
ec2 = [e for e in log if e.get("service") == "ec2"]
lt = [e for e in log if e.get("operation") == "ListTasks"]
ck.ok(len(ec2) == 1 and ec2[0]["params"].get("MaxResults") == 1000
      and ec2[0]["params"].get("Filters", [{}])[0].get("Name") == "network-interface-id"
      and len(ec2[0]["params"]["Filters"][0]["Values"]) == 2 and "NetworkInterfaceIds" not in ec2[0]["params"],
      "one EC2 DescribeNetworkInterfaces: the network-interface-id filter naming both interfaces, paginated",
      [e.get("params") for e in ec2])
ck.ok(lt and all(e["params"].get("serviceName") == "shop-web" and e["params"].get("desiredStatus") == "RUNNING"
                 for e in lt), "ListTasks by service, desired RUNNING", [e.get("params") for e in lt])
ck.ok(not rejected(log), "the fake (ecs, ec2 1.43.11 models) accepted every request", rejected(log))

# ---- a failing health check: critical, resolve drops it --------------------------------------------
sick, well = sorted(web0)
fake.call("POST", "/__fake/ecs-task", {"taskArn": sick, "healthStatus": "UNHEALTHY"})
rc, found, err, log = discover()
R = rows("web")
ck.ok(rc == 0 and R.get("%s:8080" % web0[sick], {}).get("health") == "critical"
      and R.get("%s:8080" % web0[well], {}).get("health") == "passing",
      "the task failing its container health check: critical; the other passing", (rc, R))
rc, out, err = env.run("resolve", "web", "--format", "json")
res = json.loads(out) if out.strip() else {}
ck.ok(rc == 0 and [e["url"] for e in res.get("endpoints", [])] == ["http://%s:8080" % web0[well]]
      and res.get("excluded") == 1, "resolve web: the healthy task only (one excluded)", (rc, res, err))
fake.call("POST", "/__fake/ecs-task", {"taskArn": sick, "healthStatus": "HEALTHY"})

# ---- a task stops: its row goes ------------------------------------------------------------------
t1 = max(v["rep"] for v in rows("web").values())
fake.call("POST", "/__fake/ecs-task", {"taskArn": sick, "stop": True, "reason": "Essential container in task exited"})
web1 = running("shop-web")
new = [a for a in web1 if a not in web0]
ck.ok(sick not in web1 and len(web1) == 2 and len(new) == 1 and web1[new[0]] not in web0.values(),
      "the fake stopped the task and started a replacement with another public IP", tasks())
time.sleep(2.1)  # the next report is at least 2 s later than the stopped task's last
rc, found, err, log = discover()
eps = (found.get("shop-web") or {}).get("endpoints") or []
ck.ok(rc == 0 and sorted(e["instance"] for e in eps) == sorted("%s:8080" % ip for ip in web1.values()),
      "discover reports the running tasks: the replacement, not the stopped one", (rc, eps, web1))
R = rows("web")
gone = "%s:8080" % web0[sick]
ck.ok(R.get(gone, {}).get("rep") == t1 and all(R[i]["rep"] >= t1 + 2 for i in R if i != gone) and len(R) == 3,
      "the stopped task's row keeps its last report; the others refreshed", R)


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def health_at(t):
    # probes go to a closed port: the sweep is under test, not the probes
    rc, out, err = env.run("health", "--format", "json", "--connect-to", "127.0.0.1:1", "--timeout", "1s",
                           env={"FEDBROKER_NOW": iso(t)})
    return rc, (json.loads(out) if out.strip() else {}), err


rc, h, err = health_at(t1 + 31)
ck.ok(sorted(c["instance"] for c in h.get("lease", []) if c["change"] == "stale") == [gone],
      "a lease after its last report the stopped task's row is stale, no other", (rc, h.get("lease"), err))
rc, h, err = health_at(t1 + 60)
ck.ok(sorted(c["instance"] for c in h.get("lease", []) if c["change"] == "removed") == [gone]
      and sorted(rows("web")) == sorted("%s:8080" % ip for ip in web1.values()),
      "two leases after: the stopped task's row removed; the running tasks' rows remain", (h.get("lease"), rows("web")))

# ---- a target group reached only through listener rules ---------------------------------------------
old = fake.call("POST", "/__fake/elb", {"region": "us-east-1", "name": "shop-old",
                                        "listeners": [{"port": 80, "protocol": "HTTP"}]})
edge = fake.call("POST", "/__fake/elb", {
    "region": "us-east-1", "name": "shop-edge", "scheme": "internet-facing",
    "targetGroup": {"name": "shop-api", "port": 8080},
    "listeners": [
        {"port": 443, "protocol": "HTTPS", "forward": False, "rules": [
            {"priority": 10, "conditions": [{"Field": "path-pattern", "Values": ["/api/*"]}]},
            {"priority": 20, "conditions": [{"Field": "host-header",
                                             "HostHeaderConfig": {"Values": ["api.shop.example"]}}],
             "forward": [{"targetGroupArn": "self", "weight": 90},
                         {"targetGroupArn": old["TargetGroupArn"], "weight": 10}]},
            {"priority": 30, "conditions": [{"Field": "path-pattern", "Values": ["/legacy/*"]}],
             "forward": [{"targetGroupArn": old["TargetGroupArn"], "weight": 1}]},
            {"priority": 40, "conditions": [
                {"Field": "host-header", "HostHeaderConfig": {"Values": ["*.canary.shop.example"]}},
                {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Canary", "Values": ["on"]}},
                {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/v2/*/items"]}}]}]},
        {"port": 80, "protocol": "HTTP", "forward": False}]})
env.write_config(settings(fake, endpoints=ENDPOINTS,
                          ecs=dict(settings(fake)["ecs"], targetGroupArn=edge["TargetGroupArn"])))
api_spec = env.write("api.yaml", SPEC % ("api", "api"))
rc, out, err = env.run("apply", "--target", "aws:us-east-1", api_spec, "--yes")
ck.ok(rc == 0, "apply api behind the rule-only target group (ecs.targetGroupArn)", (rc, err[-1500:]))
time.sleep(1.1)
rc, found, err, log = discover()
eps = (found.get("shop-api") or {}).get("endpoints") or []
dns = edge["DNSName"]
ck.ok(rc == 0 and [(e["url"], e.get("instance")) for e in eps] ==
      [("https://%s/api/" % dns, None), ("https://api.shop.example", "api.shop.example"),
       ("https://" + dns, dns)],
      "the balancer reached through rules: https://DNS/api/ (the path rule, the front), "
      "https://api.shop.example (the host rule's weighted forward), https://DNS (a rule whose conditions "
      "a URL cannot carry); not the rule to the other group", (rc, err[-1500:], eps))
ck.ok(len(eps) == 3 and "path-pattern /api/*" in eps[0]["detail"] and "rule 10" in eps[0]["detail"]
      and "rule 20" in eps[1]["detail"] and "requires" not in eps[1]["detail"]
      and "rule 40, rule requires host-header *.canary.shop.example, http-header X-Canary: on, "
      "path-pattern /v2/*/items;" in eps[2]["detail"]
      and all(e["source"] == "aws-elb" and e["private"] is False and e["health"] == "passing" for e in eps),
      "what the URL cannot say is in the detail (the path pattern; the wildcard host, the header and the "
      "inner-wildcard path); public, passing (the group's targets healthy)", eps)
dr = [e for e in log if e.get("operation") == "DescribeRules"]
ck.ok(sorted(e["params"]["ListenerArn"] for e in dr) == sorted(edge["ListenerArns"]),
      "DescribeRules for each listener whose default action does not forward to the group", [e["params"] for e in dr])
ck.ok(not [r for r in found.values() if r.get("name") == "shop-api" for e in r.get("endpoints", [])
           if e["source"] == "aws-ecs-task"] and sorted(rows("api")) == sorted(["", "api.shop.example", dns]),
      "api's tasks are not reported (the balancer is its front): rows '', api.shop.example, DNS", rows("api"))
ck.ok(not rejected(log), "the fake (elbv2 1.43.11 model) accepted every request", rejected(log))
rc, out, err = env.run("resolve", "api", "--format", "json")
res = json.loads(out) if out.strip() else {}
ck.ok(rc == 0 and sorted(e["url"] for e in res.get("endpoints", [])) ==
      sorted(["https://%s/api/" % dns, "https://api.shop.example", "https://" + dns]),
      "resolve api: the three rule URLs", (rc, res, err))

# ---- DescribeRules denied: a warning, the rule rows not reported --------------------------------------
fake.faults([{"service": "elbv2", "operation": "DescribeRules", "status": 403, "code": "AccessDenied", "count": 2,
              "message": "User is not authorized to perform: elasticloadbalancing:DescribeRules"}])
rc, found, err, log = discover()
ck.ok(rc == 0 and "DescribeRules" in err and "AccessDenied" in err and "shop-api" in err
      and "endpoints" not in found.get("shop-api", {"endpoints": 1})
      and len((found.get("shop-web") or {}).get("endpoints") or []) == 2,
      "DescribeRules denied: exit 0, a warning naming it; api without rows, web's tasks still reported",
      (rc, err[-1500:], found.get("shop-api")))
fake.clear_faults()
time.sleep(1.1)
rc, found, err, log = discover()
ck.ok(rc == 0 and len((found.get("shop-api") or {}).get("endpoints") or []) == 3, "allowed again: api's three rows",
      (rc, err[-800:]))

# ---- EC2 denied: a clear warning, the other rows still reported --------------------------------------
before_web = rows("web")
before_api = rows("api")
time.sleep(1.1)
fake.faults([{"service": "ec2", "operation": "DescribeNetworkInterfaces", "status": 403,
              "code": "UnauthorizedOperation", "count": 1,
              "message": "You are not authorized to perform this operation. User: arn:aws:iam::123456789012:user/"
                         "fedbroker-test is not authorized to perform: ec2:DescribeNetworkInterfaces"}])
rc, found, err, log = discover()
ck.ok(rc == 0 and "ec2:DescribeNetworkInterfaces" in err and "UnauthorizedOperation" in err
      and "shop-web" in err and "endpoints" not in found.get("shop-web", {"endpoints": 1}),
      "DescribeNetworkInterfaces denied: exit 0, a warning naming the service, the error and the permission; "
      "web reported without endpoints", (rc, err[-1500:], found.get("shop-web")))
after_web, after_api = rows("web"), rows("api")
ck.ok(after_web == before_web and sorted(after_api) == sorted(before_api)
      and all(after_api[i]["rep"] > before_api[i]["rep"] for i in after_api),
      "web's task rows not refreshed (they age out); api's load-balancer rows reported again",
      (before_web, after_web, before_api, after_api))
fake.clear_faults()

env.close()
fake.close()
ck.done()
