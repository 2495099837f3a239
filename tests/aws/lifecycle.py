#!/usr/bin/python3
"""The AWS driver's whole life cycle through the real CLI and the real
aws.so against tests/fakes/fake_aws.py (botocore recomputes every
signature and validates every body against the botocore models):
apply -> status -> re-apply (no change) -> update -> status -> drift made
out of band with botocore -> destroy -> destroy again -> discover, for a
zip Function (examples/function.yaml), an image Function and a Fargate
Container with autoscaling (examples/container.yaml). The store is
checked with sqlite3."""
import base64
import io
import json
import os
import shutil
import sys
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from awstest import (ACCOUNT, EXAMPLES, EXEC_ROLE, Checker, Env, Fake, lambda_sha, ops,  # noqa: E402
                     rejected)

ck = Checker("aws lifecycle")
fake = Fake()
env = Env(fake)

FN_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:demo-hello"
IMG_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:media-thumbs"
SVC_ARN = f"arn:aws:ecs:eu-west-1:{ACCOUNT}:service/prod/demo-orders"
OK_404 = {("GetFunction", "ResourceNotFoundException"), ("GetFunctionUrlConfig", "ResourceNotFoundException")}

image_spec = env.write("image.json", json.dumps({
    "apiVersion": "fedbroker.dev/v1", "kind": "Function",
    "metadata": {"name": "thumbs", "tenant": "media", "labels": {"team": "media"}},
    "spec": {
        "image": f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/thumbs:2.0.1",
        "command": ["/usr/local/bin/thumbs"], "args": ["--sizes", "128,512"],
        "env": {"OUTPUT_BUCKET": "acme-thumbs"},
        "resources": {"memory": "2Gi", "ephemeralStorage": "2Gi"},
        "scaling": {"reservedConcurrency": 5},
        "timeout": "2m",
        "triggers": [{"http": {"path": "/", "public": False}}],
    }}))
fn_spec = os.path.join(EXAMPLES, "function.yaml")
ctr_spec = os.path.join(EXAMPLES, "container.yaml")

# ---- apply ---------------------------------------------------------------------
# Two workloads are applied and destroyed at once (the default parallelism),
# which also exercises the store from several fan-out threads.
rc, out, err = env.run("apply", "--target", "aws:us-east-1", fn_spec, image_spec)
ck.ok(rc == 0, "apply the zip and the image function", err)
log = fake.log()
ck.ok(not rejected(log, OK_404), "the fake (botocore) accepted every signature and body", rejected(log, OK_404))
o = ops(log)
ck.ok(o.count("CreateFunction") == 2, "two CreateFunction calls", o)
ck.ok("PutFunctionConcurrency" in o, "reserved concurrency set for the image function", o)
ck.ok(o.count("CreateFunctionUrlConfig") == 2 and o.count("AddPermission") == 2,
      "function URLs: public (with its two permissions) and private", o)
st = fake.state()["lambda"]
fn = st.get("us-east-1|demo-hello", {})
cfg = fn.get("config", {})
ck.ok(cfg.get("Runtime") == "python3.12" and cfg.get("Handler") == "handler.handler"
      and cfg.get("MemorySize") == 256 and cfg.get("Timeout") == 10
      and cfg.get("Architectures") == ["arm64"]
      and cfg.get("Environment", {}).get("Variables") == {"LOG_LEVEL": "info", "GREETING": "Hello"},
      "the zip function has the spec's runtime, handler, memory, timeout, arch and env", cfg)
ck.ok(fn.get("tags", {}).get("managed-by") == "fedbroker" and fn["tags"].get("workload") == "hello"
      and fn["tags"].get("tenant") == "demo" and len(fn["tags"].get("spec-hash", "")) == 64
      and fn["tags"].get("team") == "web", "the function carries the fedbroker tags and the labels",
      fn.get("tags"))
# The package: unzip what was sent and compare with the source directory.
create = [e for e in log if e.get("operation") == "CreateFunction"
          and e["params"]["FunctionName"] == "demo-hello"][0]
zbytes = base64.b64decode(create["params"]["Code"]["ZipFile"])
zf = zipfile.ZipFile(io.BytesIO(zbytes))
with open(os.path.join(EXAMPLES, "src", "hello", "handler.py"), "rb") as f:
    src = f.read()
ck.ok(zf.namelist() == ["handler.py"] and zf.read("handler.py") == src,
      "the zip holds examples/src/hello exactly", zf.namelist())
ck.ok(cfg.get("CodeSha256") == lambda_sha(zbytes), "Lambda's CodeSha256 is the SHA-256 of the zip sent")
img = st.get("us-east-1|media-thumbs", {})
ck.ok(img.get("config", {}).get("PackageType") == "Image" and img.get("code", {}).get("ImageUri", "").endswith("thumbs:2.0.1")
      and img["config"].get("MemorySize") == 2048 and img["config"].get("EphemeralStorage") == {"Size": 2048}
      and img["config"].get("ImageConfigResponse", {}).get("ImageConfig") ==
      {"EntryPoint": ["/usr/local/bin/thumbs"], "Command": ["--sizes", "128,512"]}
      and img.get("concurrency") == 5 and img.get("url", {}).get("AuthType") == "AWS_IAM",
      "the image function: ImageUri, memory, storage, ImageConfig, concurrency, IAM URL", img)
rows = env.db("SELECT type, cloud_id, region, tenant, workload FROM resources ORDER BY cloud_id")
ids = {r[1] for r in rows}
ck.ok(FN_ARN in ids and IMG_ARN in ids, "the store recorded both function ARNs", rows)
ck.ok(any(r[0] == "lambda-url" and r[1].startswith("https://") for r in rows), "and the function URL", rows)

rc, out, err = env.run("apply", "--target", "aws:eu-west-1", ctr_spec)
ck.ok(rc == 0, "apply the Fargate container", err)
ecs = fake.state()
svc = ecs["ecs_services"].get("eu-west-1|prod|demo-orders", {})
ck.ok(svc.get("status") == "ACTIVE" and svc.get("desiredCount") == 1 and svc.get("launchType") == "FARGATE"
      and svc["networkConfiguration"]["awsvpcConfiguration"]["subnets"] == ["subnet-0a1b2c3d"],
      "the ECS service is active, FARGATE, desiredCount 1, in the configured subnets", svc)
tds = ecs["ecs_task_definitions"].get("eu-west-1|demo-orders", [])
td = tds[-1] if tds else {}
c0 = (td.get("containerDefinitions") or [{}])[0]
ck.ok(td.get("cpu") == "1024" and td.get("memory") == "2048",
      "cpu 1 / memory 1Gi rounded up to Fargate's 1024/2048", {k: td.get(k) for k in ("cpu", "memory")})
rc, vout, verr = env.run("validate", "--format", "json", ctr_spec)
want_image = json.loads(vout)["workloads"][0]["spec"]["image"] if rc == 0 else None
ck.ok(want_image and c0.get("image") == want_image and c0.get("command") == ["--listen", ":8080", "--grpc", ":9090"]
      and {p["containerPort"] for p in c0.get("portMappings", [])} == {8080, 9090}
      and c0.get("secrets") == [{"name": "DB_PASSWORD", "valueFrom":
                                 f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:prod/orders/db:password::"}]
      and td.get("executionRoleArn") == EXEC_ROLE and c0.get("healthCheck", {}).get("retries") == 3,
      "the container definition: image, args, ports, secret reference, health check", td)
tgt = ecs["autoscaling_targets"].get("eu-west-1|ecs|service/prod/demo-orders|ecs:service:DesiredCount", {})
ck.ok(tgt.get("MinCapacity") == 1 and tgt.get("MaxCapacity") == 20, "autoscaling target 1..20", tgt)
pol = list(ecs["autoscaling_policies"].values())
ck.ok(len(pol) == 1 and pol[0]["PolicyType"] == "TargetTrackingScaling" and
      pol[0]["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]["PredefinedMetricType"]
      == "ECSServiceAverageCPUUtilization", "a target-tracking CPU policy", pol)
types = {r[0] for r in env.db("SELECT type FROM resources WHERE workload='orders'")}
ck.ok(types == {"ecs-service", "ecs-task-definition", "scalable-target", "scaling-policy"},
      "the store recorded the service, task definition, target and policy", types)

# ---- status ------------------------------------------------------------------------
rc, out, err = env.run("status", "--format", "json")
st_json = json.loads(out) if rc in (0, 4) and out.strip() else []
ck.ok(rc == 0 and len(st_json) == 3 and all(s["status"] == "ready" and not s["drift"] for s in st_json),
      "status: all three ready, no drift", out + err)

# ---- re-apply: nothing to change ------------------------------------------------------
mark = fake.seq()
rc, out, err = env.run("apply", "--target", "aws:us-east-1", fn_spec, image_spec)
rc2, out2, err2 = env.run("apply", "--target", "aws:eu-west-1", ctr_spec)
o = ops(fake.log(mark))
changing = [x for x in o if x and (x.startswith("Create") or x.startswith("Update") or x == "RegisterTaskDefinition")]
ck.ok(rc == 0 and rc2 == 0 and not changing, "applying the same specs again changes nothing", o)

# ---- update -------------------------------------------------------------------------------
shutil.copytree(os.path.join(EXAMPLES, "src"), env.path("v2", "src"))
with open(env.path("v2", "src", "hello", "handler.py"), "a") as f:
    f.write("\n# v2\n")
with open(fn_spec) as f:
    text = f.read()
env.write("v2/function.yaml", text.replace("memory: 256Mi", "memory: 512Mi").replace("GREETING: Hello", "GREETING: Hi"))
with open(ctr_spec) as f:
    text = f.read()
env.write("v2/container.yaml", text.replace('cpu: "1"', 'cpu: "2"').replace("DB_NAME: orders", "DB_NAME: orders2"))
mark = fake.seq()
rc, out, err = env.run("apply", "--target", "aws:us-east-1", env.path("v2", "function.yaml"))
log = fake.log(mark)
o = ops(log)
ck.ok(rc == 0 and "UpdateFunctionCode" in o and "UpdateFunctionConfiguration" in o and "CreateFunction" not in o,
      "a changed spec updates code and configuration in place", (o, err))
ck.ok(o.index("UpdateFunctionCode") < o.index("UpdateFunctionConfiguration")
      and "GetFunction" in o[o.index("UpdateFunctionCode"):o.index("UpdateFunctionConfiguration")],
      "the configuration update waits for the code update (GetFunction between them)", o)
ck.ok(not rejected(log, OK_404), "the updates were accepted", rejected(log, OK_404))
cfg = fake.state()["lambda"]["us-east-1|demo-hello"]["config"]
upd = [e for e in log if e.get("operation") == "UpdateFunctionCode"][0]
ck.ok(cfg["MemorySize"] == 512 and cfg["Environment"]["Variables"]["GREETING"] == "Hi"
      and cfg["CodeSha256"] == lambda_sha(base64.b64decode(upd["params"]["ZipFile"])),
      "the live function has the new memory, env and code", cfg)
mark = fake.seq()
rc, out, err = env.run("apply", "--target", "aws:eu-west-1", env.path("v2", "container.yaml"))
o = ops(fake.log(mark))
ck.ok(rc == 0 and o.count("RegisterTaskDefinition") == 1 and "UpdateService" in o and "CreateService" not in o
      and "DeregisterTaskDefinition" in o, "a changed container registers a revision, updates the service "
      "and deregisters the old revision", (o, err))
ecs = fake.state()
svc = ecs["ecs_services"]["eu-west-1|prod|demo-orders"]
tds = ecs["ecs_task_definitions"]["eu-west-1|demo-orders"]
ck.ok(svc["taskDefinition"].endswith("demo-orders:2") and tds[1]["cpu"] == "2048" and tds[1]["memory"] == "4096"
      and tds[0]["status"] == "INACTIVE", "the service runs revision 2 (2048/4096), revision 1 is inactive",
      [(t["taskDefinitionArn"], t["cpu"], t["memory"], t["status"]) for t in tds])
rc, out, err = env.run("status", "--format", "json")
ck.ok(rc == 0, "status after the update: ready, no drift", out + err)

# ---- drift made out of band ---------------------------------------------------------------
lam = fake.client("lambda", "us-east-1")
lam.update_function_configuration(FunctionName="demo-hello", MemorySize=1024, Timeout=30,
                                  Environment={"Variables": {"LOG_LEVEL": "debug", "GREETING": "Hi", "EXTRA": "1"}})
aas = fake.client("application-autoscaling", "eu-west-1")
aas.register_scalable_target(ServiceNamespace="ecs", ResourceId="service/prod/demo-orders",
                             ScalableDimension="ecs:service:DesiredCount", MaxCapacity=5)
mark = fake.seq()
rc, out, err = env.run("status", "--format", "json")
res = {s["workload"]: s for s in json.loads(out)} if out.strip() else {}
drift = {d["field"]: (d["want"], d["live"]) for d in res.get("hello", {}).get("drift", [])}
ck.ok(rc == 4, "status exits 4 on drift", rc)
ck.ok(drift.get("memoryMiB") == (512, 1024) and drift.get("timeoutSeconds") == (10, 30)
      and drift.get("env.LOG_LEVEL") == ("info", "debug") and drift.get("env.EXTRA") == (None, "1")
      and "env.GREETING" not in drift, "Lambda drift: memory, timeout, changed and extra env, each with want and live",
      res.get("hello"))
cdrift = {d["field"]: (d["want"], d["live"]) for d in res.get("orders", {}).get("drift", [])}
ck.ok(cdrift == {"scaling.maxCapacity": (20, 5)}, "Fargate drift: the autoscaling maximum", res.get("orders"))
ck.ok(res.get("thumbs", {}).get("status") == "ready" and not res["thumbs"]["drift"], "the image function has no drift")
mut = [e for e in fake.log(mark) if e.get("method") not in ("GET", "HEAD")
       and e.get("operation") not in ("DescribeServices", "DescribeTaskDefinition", "DescribeScalableTargets")]
ck.ok(not mut, "status sent only reads", ops(mut))
# re-apply repairs the drift
rc, out, err = env.run("apply", "--target", "aws:us-east-1", env.path("v2", "function.yaml"))
rc2, out2, err2 = env.run("apply", "--target", "aws:eu-west-1", env.path("v2", "container.yaml"))
rc3, out3, err3 = env.run("status")
ck.ok(rc == 0 and rc2 == 0 and rc3 == 0, "apply repairs the drift; status is clean again", out3 + err + err2 + err3)

# ---- destroy --------------------------------------------------------------------------------
rc, out, err = env.run("destroy", "--workload", "hello")
st = fake.state()
ck.ok(rc == 0 and "us-east-1|demo-hello" not in st["lambda"], "destroy one workload deletes its function", err)
ck.ok(not env.db("SELECT * FROM resources WHERE workload='hello'"), "and forgets its records")

# ---- discover (with unmanaged resources seeded) ------------------------------------------------
lam.create_function(FunctionName="legacy-report", Runtime="python3.9", Role="arn:aws:iam::123456789012:role/legacy", Handler="app.handler",
                    Code={"S3Bucket": "legacy-bucket", "S3Key": "report.zip"})
ecsc = fake.client("ecs", "eu-west-1")
ecsc.register_task_definition(family="legacy-web", requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
                              cpu="256", memory="512", containerDefinitions=[{"name": "web", "image": "nginx"}])
ecsc.create_service(cluster="prod", serviceName="legacy-web", taskDefinition="legacy-web", desiredCount=1,
                    launchType="FARGATE",
                    networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-0a1b2c3d"]}})
rc, out, err = env.run("discover", "--provider", "aws", "--format", "json")
found = {r["id"]: r for r in json.loads(out)} if out.strip() else {}
ck.ok(rc == 0, "discover", err)
leg = found.get(f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:legacy-report", {})
ck.ok(leg.get("managed") is False and "workload" not in leg, "the untagged function is unmanaged", leg)
lw = found.get(f"arn:aws:ecs:eu-west-1:{ACCOUNT}:service/prod/legacy-web", {})
ck.ok(lw.get("managed") is False, "the untagged service is unmanaged", lw)
th = found.get(IMG_ARN, {})
ck.ok(th.get("managed") is True and th.get("tracked") is True and th.get("workload") == "thumbs"
      and th.get("tenant") == "media", "our image function: managed, tracked, workload and tenant from tags", th)
oo = found.get(SVC_ARN, {})
ck.ok(oo.get("managed") is True and oo.get("tracked") is True and oo.get("workload") == "orders",
      "our service: managed and tracked", oo)
ck.ok(f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:demo-hello" not in found, "the destroyed function is gone")

# ---- destroy everything, twice ---------------------------------------------------------------------
mark = fake.seq()
rc, out, err = env.run("destroy", "--all")
st = fake.state()
ck.ok(rc == 0, "destroy --all", err)
ck.ok("us-east-1|media-thumbs" not in st["lambda"] and "us-east-1|legacy-report" in st["lambda"],
      "our functions are gone, the unmanaged one stays", list(st["lambda"]))
svc = st["ecs_services"].get("eu-west-1|prod|demo-orders", {})
ck.ok(svc.get("status") in ("DRAINING", "INACTIVE") and svc.get("desiredCount") == 0,
      "our service is scaled to 0 and deleted", svc)
ck.ok(st["ecs_services"]["eu-west-1|prod|legacy-web"]["status"] == "ACTIVE", "the unmanaged service stays")
ck.ok(all(t["status"] == "INACTIVE" for t in st["ecs_task_definitions"]["eu-west-1|demo-orders"]),
      "our task definitions are deregistered")
ck.ok(not st["autoscaling_targets"], "the scalable target is deregistered", st["autoscaling_targets"])
o = ops(fake.log(mark))
ck.ok(o.index("UpdateService") < o.index("DeleteService") and "DeregisterScalableTarget" in o
      and "DeleteFunctionUrlConfig" in o and "DeleteFunction" in o, "destroy: URL, function; target, "
      "scale to 0, delete service, deregister task definitions", o)
ck.ok(not env.db("SELECT * FROM resources") and not env.db("SELECT * FROM deployments"),
      "the store has no deployments or resources left")
mark = fake.seq()
rc, out, err = env.run("destroy", "--all")
ck.ok(rc == 0 and "nothing to destroy" in out, "destroy again is a no-op", out + err)
rows = env.db("SELECT op, phase FROM journal")
ck.ok(rows and all(p == "done" for _, p in rows), "every journal row is closed (done)", rows)
ck.ok(sum(1 for op, _ in rows if op == "apply") == 10 and sum(1 for op, _ in rows if op == "destroy") == 3,
      "journal: 10 applies and 3 destroys", rows)
fake.close()
env.close()
ck.done()
