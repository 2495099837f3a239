#!/usr/bin/python3
"""Caller grants for a Container on Fargate through VPC Lattice (issue 15:
least privilege from the federation graph, docs/identity.md "Caller grants
on Fargate"), against tests/fakes/fake_aws.py, which validates every VPC
Lattice request against botocore 1.43.11's vpc-lattice model
(tests/reference/aws-models/vpc-lattice, verbatim) and the ECS ones against
the ECS model, and evaluates the Lattice service's auth policy for a
SigV4-signed invoke (service vpc-lattice-svcs) as VPC Lattice documents.

With drivers.aws.ecs.vpcLattice (the user's service network, VPC and ECS
infrastructure role), api (a Container on Fargate) called by worker (a
Function): apply makes the target group (IP, port 8080, the VPC), the
service (authType AWS_IAM), its listener forwarding to the group, the
association with the service network, and the auth policy allowing
vpc-lattice-svcs:Invoke to worker's role only; the ECS service registers
into the group (vpcLatticeConfigurations: the infrastructure role, the
group, port-8080). Then:
- a request to api's Lattice DNS name signed with worker's role
  credentials (from worker's broker token at the fake STS) is let in; one
  signed with other's role (another Function, no dependency), and an
  unsigned one, are denied (403);
- every Lattice object is recorded; discover lists the service and group
  as tracked, nothing untracked;
- worker stops calling api: the next apply withdraws its grant (denied);
- destroy of api deletes the association, listener, service and group
  (after the ECS service) and the fake holds none of them;
- apply --dry-run shows the Lattice requests and sends none;
- without the setting, nothing of VPC Lattice is called; a wrong setting
  is refused at configure, naming it.

Environment (tests/local.mk): FEDBROKER, top_srcdir, FEDBROKER_DRIVER_PATH."""
import json
import os
import sys

TOP = os.environ.get("top_srcdir") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "aws"))
from awstest import ACCOUNT, Checker, Env, Fake, issuer_site, settings  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from idtest import signed_get  # noqa: E402

ck = Checker("identity aws lattice")
fake = Fake()
env = Env(fake)
net = fake.call("POST", "/__fake/lattice-network", {"name": "shop-net"})
INFRA = f"arn:aws:iam::{ACCOUNT}:role/ecsInfrastructureRoleForLattice"
s = settings(fake)
s["endpoints"]["iam"] = fake.base
s["endpoints"]["vpc-lattice"] = fake.base
s["ecs"]["vpcLattice"] = {"serviceNetwork": net["id"], "vpcId": "vpc-0a1b2c3d", "roleArn": INFRA}
env.write_config(s)
ISSUER, site, srv = issuer_site(env)
os.makedirs(env.path("src"))
env.write("src/app.py", "def handler(event, context):\n    return 1\n")
T = ("--target", "aws:us-east-1")


def fed(worker_calls=True):
    dep = "        dependencies: [{workload: api}]\n" if worker_calls else ""
    return env.write("shop.yaml", f"""apiVersion: fedbroker.dev/v1
kind: Federation
metadata: {{name: shop, tenant: shop}}
spec:
  workloads:
    - apiVersion: fedbroker.dev/v1
      kind: Container
      metadata: {{name: api}}
      spec:
        image: docker.io/acme/api:1.0
        ports: [{{port: 8080, protocol: http}}]
        resources: {{memory: 1Gi, cpu: "0.5"}}
    - apiVersion: fedbroker.dev/v1
      kind: Function
      metadata: {{name: worker}}
      spec:
        runtime: python3.12
        handler: app.handler
        code: {{path: {env.path("src")}}}
{dep}    - apiVersion: fedbroker.dev/v1
      kind: Function
      metadata: {{name: other}}
      spec:
        runtime: python3.12
        handler: app.handler
        code: {{path: {env.path("src")}}}
""")


def creds_of(name):
    rc, tok, err = env.run("identity", "token", name, "--tenant", "shop", "--audience", "sts.amazonaws.com")
    r = sts.assume_role_with_web_identity(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/fb-shop-{name}",
                                          RoleSessionName="fb-" + name, WebIdentityToken=tok.strip())
    return r["Credentials"]


def invoke(url, creds=None):
    return signed_get(fake.base, url, creds, "vpc-lattice-svcs")


def refused():
    """Requests the fake refused as malformed or not allowed by the models,
    and any refused VPC Lattice or ECS request (the existence probes of
    IAM and Lambda, 404/409, are the driver's normal path)."""
    bad = ("ValidationException", "SerializationException", "InvalidParameterException", "UnknownOperationException",
           "UnsupportedOperation", "ConflictException")
    return [e for e in fake.log() if isinstance(e.get("status"), int) and e["status"] >= 400 and
            ((e.get("error") or {}).get("code") in bad or e.get("service") in ("vpc-lattice", "ecs"))]


def lattice():
    return fake.state().get("vpc_lattice", {})


try:
    sts = fake.client("sts")
    rc, out, err = env.run("identity", "publish", os.path.join(site, "fb"))
    ck.ok(rc == 0, "identity publish", err)
    seq = fake.seq()
    rc, out, err = env.run("apply", fed(), *T, "--dry-run", "--format", "json")
    shown = out if rc == 0 else ""
    want = ("/targetgroups", "/services", "/listeners", "/servicenetworkserviceassociations", "/authpolicy/",
            "vpc-lattice-svcs:Invoke", "vpcLatticeConfigurations")
    ck.ok(rc == 0 and [w for w in want if w not in shown] == [] and
          not [e for e in fake.log(seq) if e.get("service") == "vpc-lattice"],
          "dry run: shows the Lattice requests and the ECS registration, sends none",
          (rc, [w for w in want if w not in shown], err[-1500:]))
    rc, out, err = env.run("apply", fed(), *T)
    ck.ok(rc == 0, "apply of api (Fargate), worker and other (Lambda)", (rc, err[-3000:]))
    lat = lattice()
    tgs, svcs = list(lat.get("target_groups", {}).values()), list(lat.get("services", {}).values())
    ck.ok(len(tgs) == 1 and tgs[0]["type"] == "IP" and tgs[0]["config"] == {"port": 8080, "protocol": "HTTP",
                                                                            "vpcIdentifier": "vpc-0a1b2c3d"},
          "a target group: type IP, port 8080, the configured VPC", tgs)
    ck.ok(len(svcs) == 1 and svcs[0]["name"] == "fb-shop-api" and svcs[0]["authType"] == "AWS_IAM" and
          svcs[0]["tags"].get("managed-by") == "fedbroker", "a Lattice service fb-shop-api with authType AWS_IAM", svcs)
    svc = svcs[0] if svcs else {}
    tg = tgs[0] if tgs else {}
    ls = list(lat.get("listeners", {}).values())
    ck.ok(len(ls) == 1 and ls[0]["serviceId"] == svc.get("id") and ls[0]["port"] == 8080 and
          ls[0]["defaultAction"] == {"forward": {"targetGroups": [{"targetGroupIdentifier": tg.get("id")}]}},
          "its listener forwards to the target group", ls)
    assoc = list(lat.get("associations", {}).values())
    ck.ok(len(assoc) == 1 and assoc[0]["serviceNetworkId"] == net["id"] and assoc[0]["serviceId"] == svc.get("id"),
          "the service joins the configured service network", assoc)
    worker_role = f"arn:aws:iam::{ACCOUNT}:role/fb-shop-worker"
    pol = svc.get("policy") or {}
    ck.ok(pol.get("Statement") == [{"Sid": "FedbrokerCallers", "Effect": "Allow", "Principal": {"AWS": [worker_role]},
                                    "Action": "vpc-lattice-svcs:Invoke", "Resource": svc.get("arn", "") + "/*"}],
          "the auth policy allows vpc-lattice-svcs:Invoke to worker's role only", pol)
    el = fake.state().get("ecs_lattice", {})
    ck.ok(list(el.values()) == [[{"roleArn": INFRA, "targetGroupArn": tg.get("arn"), "portName": "port-8080"}]],
          "the ECS service registers its tasks into the group (vpcLatticeConfigurations)", el)
    ck.ok(refused() == [], "every request accepted (validated against the models)", refused()[:5])

    url = "https://" + svc.get("dnsEntry", {}).get("domainName", "none")
    code, doc = invoke(url, creds_of("worker"))
    ck.ok(code == 200 and isinstance(doc, dict) and doc.get("caller", "").startswith(
        f"arn:aws:sts::{ACCOUNT}:assumed-role/fb-shop-worker/"), "a call signed with worker's role is let in",
          (code, doc))
    code, doc = invoke(url, creds_of("other"))
    ck.ok(code == 403, "one signed with other's role is denied", (code, doc))
    code, doc = invoke(url)
    ck.ok(code == 403, "an unsigned one is denied", (code, doc))

    rows = {r[0] for r in env.db("SELECT type FROM resources")}
    want = {"vpc-lattice-target-group", "vpc-lattice-service", "vpc-lattice-listener", "vpc-lattice-association"}
    ck.ok(want <= rows, "every Lattice object is recorded", sorted(rows))
    rc, out, err = env.run("discover", "--format", "json")
    found = [r for r in json.loads(out or "[]") if r.get("type", "").startswith("vpc-lattice-")]
    ck.ok(sorted(r["type"] for r in found) == ["vpc-lattice-service", "vpc-lattice-target-group"] and
          all(r.get("tracked") and r.get("managed") for r in found), "discover lists the service and group, tracked",
          (rc, found, err[-800:]))
    ck.ok(env.untracked("--provider", "aws") == [], "nothing untracked", env.untracked("--provider", "aws"))

    rc, out, err = env.run("apply", fed(worker_calls=False), *T)
    pol = (list(lattice().get("services", {}).values()) or [{}])[0].get("policy") or {}
    code, doc = invoke(url, creds_of("worker"))
    ck.ok(rc == 0 and worker_role not in json.dumps(pol) and code == 403,
          "worker no longer calls api: its grant is withdrawn at the next apply", (rc, pol, code, err[-1500:]))

    rc, out, err = env.run("destroy", "--workload", "api", "--tenant", "shop")
    lat = lattice()
    ck.ok(rc == 0 and not any(lat.get(k) for k in ("services", "target_groups", "listeners", "associations")) and
          lat.get("networks"), "destroy of api deletes the Lattice objects (the user's network stays)",
          (rc, {k: len(v) for k, v in lat.items()}, err[-1500:]))
    ck.ok(refused() == [], "no request refused through destroy", refused()[:5])

    # without the setting: no Lattice call
    s2 = dict(s, ecs={k: v for k, v in s["ecs"].items() if k != "vpcLattice"})
    conf = json.load(open(os.path.join(env.home, "config.json")))
    conf["drivers"]["aws"] = s2
    json.dump(conf, open(os.path.join(env.home, "config.json"), "w"))
    seq = fake.log()[-1]["seq"]
    rc, out, err = env.run("apply", fed(), *T)
    ck.ok(rc == 0 and not [e for e in fake.log(seq) if e.get("service") == "vpc-lattice"],
          "without ecs.vpcLattice nothing of VPC Lattice is called", (rc, err[-1000:]))

    # a wrong setting: refused at configure, located, nothing called
    for bad, want in (({"serviceNetwork": "net-1", "vpcId": "vpc-0a1b2c3d", "roleArn": INFRA}, "sn-"),
                      ({"serviceNetwork": net["id"], "vpcId": "vpc-0a1b2c3d"}, "roleArn"),
                      ({"serviceNetwork": net["id"], "vpcId": "vpc-0a1b2c3d", "roleArn": INFRA, "port": 1}, "port")):
        conf["drivers"]["aws"] = dict(s, ecs=dict(s["ecs"], vpcLattice=bad))
        json.dump(conf, open(os.path.join(env.home, "config.json"), "w"))
        seq = fake.log()[-1]["seq"]
        rc, out, err = env.run("apply", fed(), *T)
        ck.ok(rc != 0 and "/drivers/aws/ecs/vpcLattice" in err and want in err and not fake.log(seq),
              "ecs.vpcLattice %s is refused, naming the setting and %s, before any request" % (json.dumps(bad), want),
              (rc, err[-800:]))
finally:
    srv.shutdown()
    fake.close()
    env.close()
ck.done()
