#!/usr/bin/python3
"""The AWS driver's pure verbs on crafted inputs (tests/aws/aws_verb loads
aws.so with the real host table):

- validate refuses what Lambda and Fargate would refuse, including inputs
  the spec validator cannot produce, each with its JSON pointer;
- the Fargate size chosen for every cpu/memory demand on a grid is a valid
  combination in fake_aws.FARGATE (the table the fake enforces, written from
  the ECS documentation) and the smallest one that covers the demand;
- usage: every line names a row that exists in the catalog
  (catalog/prices.csv: provider aws, service, sku_metric, variant, unit) and
  every quantity is the exact decimal of the documented formula, computed
  here with Python's fractions."""
import csv
import io
import json
import os
import subprocess
import sys
from decimal import Decimal
from fractions import Fraction

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from awstest import BUILD, DRIVER_PATH, TOP, Checker  # noqa: E402

sys.path.insert(0, os.path.join(TOP, "tests", "fakes"))
import fake_aws  # noqa: E402

ck = Checker("aws verbs")
TOOL = os.path.join(BUILD, "tests", "aws", "aws_verb")
SO = os.path.join(DRIVER_PATH, "aws.so")
SETTINGS = {"regions": ["us-east-1", "eu-west-1"], "accountId": "123456789012",
            "lambda": {"role": "arn:aws:iam::123456789012:role/fn"},
            "ecs": {"subnets": ["subnet-1"], "executionRoleArn": "arn:aws:iam::123456789012:role/exec"}}


ENV = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
ENV.update({"AWS_ACCESS_KEY_ID": "AKIDFAKEEXAMPLE00001", "AWS_SECRET_ACCESS_KEY": "notARealSecret",
            "HOME": "/nonexistent"})


def verb(name, inp, settings=SETTINGS, env=ENV):
    p = subprocess.run([TOOL, SO, name, json.dumps(settings)], input=json.dumps(inp).encode(),
                       capture_output=True, env=env)
    if p.returncode != 0:
        raise SystemExit(f"aws_verb failed: {p.stderr.decode()}")
    return json.loads(p.stdout)


def function(**spec):
    base = {"runtime": "python3.12", "handler": "app.handler", "code": {"s3": {"bucket": "bkt", "key": "k.zip"}},
            "resources": {"memoryMiB": 256, "cpuMillis": 145, "arch": "x86_64", "ephemeralStorageMiB": 512},
            "scaling": {"minInstances": 0, "maxInstances": 100}, "timeoutMs": 30000, "env": {}, "secrets": [],
            "triggers": [], "traffic": {"requestsPerMonth": 1000000, "meanDurationMs": 100}}
    for k, v in spec.items():
        if v is None:
            base.pop(k, None)
        elif isinstance(v, dict) and isinstance(base.get(k), dict):
            base[k] = {**base[k], **v}
        else:
            base[k] = v
    return {"apiVersion": "fedbroker.dev/v1", "kind": "Function",
            "metadata": {"name": "fn", "tenant": "t", "labels": {}}, "spec": base, "specHash": "ab" * 32}


def container(**spec):
    base = {"image": "nginx:1", "resources": {"memoryMiB": 512, "cpuMillis": 250, "arch": "x86_64",
                                              "ephemeralStorageMiB": 512},
            "scaling": {"minInstances": 1, "maxInstances": 1}, "env": {}, "secrets": [], "ports": [],
            "traffic": {"requestsPerMonth": 0, "meanDurationMs": 0}}
    for k, v in spec.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            base[k] = {**base[k], **v}
        else:
            base[k] = v
    return {"apiVersion": "fedbroker.dev/v1", "kind": "Container",
            "metadata": {"name": "ctr", "tenant": "t", "labels": {}}, "spec": base, "specHash": "cd" * 32}


def place(w, region="us-east-1", mode="apply", **more):
    svc = "lambda" if w["kind"] == "Function" else "fargate"
    return {"workload": w, "placement": {"provider": "aws", "service": svc, "region": region, "kind": w["kind"]},
            "mode": mode, **more}


def refused(desc, w, pointer, words, region="us-east-1", settings=SETTINGS):
    r = verb("validate", place(w, region), settings)
    errs = [d for d in r["diagnostics"] if d.get("severity") == "error"]
    hit = [d for d in errs if d.get("pointer") == pointer and words in (d.get("summary", "") + (d.get("detail") or ""))]
    ck.ok(r["status"] == "invalid" and hit, f"validate refuses {desc} at {pointer}", r)


# ---- validate -----------------------------------------------------------------------
ck.ok(verb("validate", place(function()))["status"] == "ok", "a plain zip function is valid")
ck.ok(verb("validate", place(container()))["status"] == "ok", "a plain container is valid")
refused("an unsupported runtime", function(runtime="python2.7"), "/spec/runtime", "python3.13 nodejs18.x")
refused("a deprecated runtime id", function(runtime="nodejs16.x"), "/spec/runtime", "supported")
refused("memory below 128 MiB", function(resources={"memoryMiB": 64}), "/spec/resources/memory", "128..10240")
refused("memory above 10240 MiB", function(resources={"memoryMiB": 10241}), "/spec/resources/memory", "10241")
refused("a timeout over 900 s", function(timeoutMs=900001), "/spec/timeout", "901 s")
refused("ephemeral storage below 512 MiB", function(resources={"ephemeralStorageMiB": 256}),
        "/spec/resources/ephemeralStorage", "512..10240")
refused("ephemeral storage above 10240 MiB", function(resources={"ephemeralStorageMiB": 10241}),
        "/spec/resources/ephemeralStorage", "512..10240")
img = function(image="nginx:1", code=None)
refused("an image function with a runtime", img, "/spec/runtime", "image")
refused("an image function with a handler", img, "/spec/handler", "handler")
refused("env over 4 KB", function(env={f"V{i:02d}": "x" * 400 for i in range(11)}), "/spec/env", "4 KB")
refused("an env name Lambda refuses", function(env={"_X": "1"}), "/spec/env/_X", "letter")
refused("secrets on Lambda", function(secrets=[{"env": "A", "ref": "aws-sm://a"}]), "/spec/secrets", "Lambda")
refused("GPUs on Lambda", function(resources={"gpu": {"count": 1, "type": "l4"}}), "/spec/resources/gpu", "GPU")
refused("more than 6 vCPU on Lambda", function(resources={"memoryMiB": 10240, "cpuMillis": 8000}),
        "/spec/resources/cpu", "6 vCPU")
refused("a Fargate cpu above 16 vCPU", container(resources={"cpuMillis": 16001}), "/spec/resources", "16 vCPU")
refused("Fargate memory above 120 GiB", container(resources={"memoryMiB": 122881}), "/spec/resources", "122880")
refused("Fargate ephemeral storage above 200 GiB", container(resources={"ephemeralStorageMiB": 201 * 1024}),
        "/spec/resources/ephemeralStorage", "200 GiB")
refused("a gcp-sm secret on ECS", container(secrets=[{"env": "A", "ref": "gcp-sm://p/s"}]),
        "/spec/secrets/0/ref", "Secrets Manager")
no_exec = {**SETTINGS, "ecs": {"subnets": ["subnet-1"]}}
refused("secrets without an execution role", container(secrets=[{"env": "A", "ref": "aws-sm://a"}]),
        "/spec/secrets", "executionRoleArn", settings=no_exec)
r = verb("validate", place(function(), "eu-north-1"))
ck.ok(r["status"] == "invalid" and any("eu-north-1" in d["summary"] and "us-east-1, eu-west-1" in (d.get("detail") or "")
                                       for d in r["diagnostics"]), "a region not configured is refused, the configured ones listed", r)
r = verb("validate", place(function()), {**SETTINGS, "lambda": {}})
ck.ok(r["status"] == "invalid" and any("lambda.role" in (d.get("detail") or "") for d in r["diagnostics"]),
      "no Lambda execution role is refused and the setting named", r)
nothing = {"regions": ["us-east-1"]}
for mode in ("plan", "render"):
    r = verb("validate", place(function(), mode=mode), nothing)
    r2 = verb("validate", place(container(secrets=[{"env": "A", "ref": "aws-sm://db#pw"}]), mode=mode), nothing)
    ck.ok(r["status"] == "ok" and r2["status"] == "ok",
          f"mode {mode}: no deployment settings needed (role, subnets, account, execution role)", (r, r2))
    ck.ok(mode == "plan" and not r["diagnostics"] or mode == "render" and
          any("drivers.aws.lambda.role" in d["summary"] for d in r["diagnostics"] if d["severity"] == "warning"),
          f"mode {mode}: {'no warnings' if mode == 'plan' else 'a warning names the missing setting'}", r)
doc = verb("render", place(container(secrets=[{"env": "A", "ref": "aws-sm://db#pw"}]), mode="render"),
           nothing)["output"]["documents"]
ck.ok(doc[1]["body"]["networkConfiguration"]["awsvpcConfiguration"]["subnets"] == ["${drivers.aws.ecs.subnets}"]
      and doc[0]["body"]["executionRoleArn"] == "${drivers.aws.ecs.executionRoleArn}"
      and "${drivers.aws.accountId}" in doc[0]["body"]["containerDefinitions"][0]["secrets"][0]["valueFrom"],
      "render shows placeholders for the settings that are not configured", doc)
for mode in ("dry-run", "apply"):
    r = verb("validate", place(function(), mode=mode), nothing)
    ck.ok(r["status"] == "invalid", f"mode {mode}: the missing execution role is refused", r)
    r = verb("validate", place(function(), mode=mode), SETTINGS,
             env={**{k: v for k, v in ENV.items() if not k.startswith("AWS_")}})
    ck.ok(r["status"] == "auth" and any("AWS_ACCESS_KEY_ID" in (d.get("detail") or "") + d["summary"]
                                        for d in r["diagnostics"]),
          f"mode {mode}: missing credentials are refused with the sources tried", r)
r = verb("validate", place(function(), mode="plan"), SETTINGS, env={k: v for k, v in ENV.items() if not k.startswith("AWS_")})
ck.ok(r["status"] == "ok", "mode plan: no credentials needed", r)
# ---- triggers: schedule -> EventBridge Scheduler, queue -> SQS + event source mapping ----------
SCHED = {**SETTINGS, "scheduler": {"role": "arn:aws:iam::123456789012:role/sched"}}


def sched(cron, tz=None):
    return {"schedule": {"cron": cron, **({"timezone": tz} if tz else {})}}


r = verb("validate", place(function(triggers=[{"queue": {"name": "q", "batchSize": 1}}])))
ck.ok(r["status"] == "ok" and not r["diagnostics"], "a queue trigger is valid, no warning (it is wired now)", r)
# the spec's five-field cron -> Scheduler's six fields: day-of-week renumbered (cron 0/7 = Sunday,
# Scheduler 1 = Sunday), '?' in the day field the spec leaves '*', year '*'
CRON = [("0 3 * * *", "cron(0 3 * * ? *)"),
        ("*/15 9-17 * * 1-5", "cron(*/15 9-17 ? * 2-6 *)"),
        ("0 0 * * 0", "cron(0 0 ? * 1 *)"),
        ("0 0 * * 7", "cron(0 0 ? * 1 *)"),
        ("0 0 * * 5-7", "cron(0 0 ? * 6-7,1 *)"),
        ("0 0 * * 0-6/2", "cron(0 0 ? * 1-7/2 *)"),
        ("0 0 * * 0-7", "cron(0 0 ? * 1-7 *)"),
        ("0 6 * * sat,sun", "cron(0 6 ? * 7,1 *)"),
        ("30 12 1,15 * *", "cron(30 12 1,15 * ? *)"),
        ("0 8 * jan,jul MON", "cron(0 8 ? JAN,JUL 2 *)"),
        ("0 8 ? * 5L", "cron(0 8 ? * 6L *)"),
        ("0 8 * * 1#2", "cron(0 8 ? * 2#2 *)"),
        ("0 0 L * *", "cron(0 0 L * ? *)"),
        ("0 0 15W 2-11/3 ?", "cron(0 0 15W 2-11/3 ? *)"),
        ("5,35 */2 * * *", "cron(5,35 */2 * * ? *)")]
for cron, want in CRON:
    rr = verb("render", place(function(triggers=[sched(cron)]), mode="render"), SCHED)
    docs = rr.get("output", {}).get("documents", [])
    got = [d["body"]["ScheduleExpression"] for d in docs if d["operation"] == "CreateSchedule"]
    ck.ok(got == [want] and fake_aws.schedule_expression_problem(want) is None,
          f"cron {cron!r} -> {want} (the fake's Scheduler rules accept it)", (got, rr))
for cron, words in (("0 0 1 * 1", "either matches"), ("61 * * * *", "minute"), ("0 0 * * 5-7/2", "Sunday"),
                    ("0 0 * * 5-1", "backwards"), ("0 0 ? * ?", "both '?'"), ("0 0 * 13 *", "month"),
                    ("0 0 * * 1#6", "day-of-week"), ("0 0 * * L", "day-of-week"), ("0 24 * * *", "hour"),
                    ("0 0 1,,2 * *", "empty"), ("0 0 * * * *", "five fields")):
    refused(f"the cron {cron!r}", function(triggers=[{"http": {}}, sched(cron)]),
            "/spec/triggers/1/schedule/cron", words, settings=SCHED)
r = verb("validate", place(function(triggers=[sched("0 3 * * *")])), SETTINGS)
ck.ok(r["status"] == "invalid" and any("drivers.aws.scheduler.role" in (d.get("detail") or "")
                                       for d in r["diagnostics"] if d["severity"] == "error"),
      "apply mode: a schedule without drivers.aws.scheduler.role is refused and the setting named", r)
r = verb("validate", place(function(triggers=[sched("0 3 * * *")]), mode="plan"), nothing)
ck.ok(r["status"] == "ok" and not r["diagnostics"], "plan mode: a schedule needs no settings", r)
r = verb("validate", place(function(triggers=[sched("0 3 * * *"), {"queue": {"name": "q"}}]), mode="render"),
         nothing)
rr = verb("render", place(function(triggers=[sched("0 3 * * *"), {"queue": {"name": "q"}}]), mode="render"),
          nothing)
docs = {d["operation"]: d for d in rr["output"]["documents"]}
warned = " ".join(d["summary"] for d in r["diagnostics"] if d["severity"] == "warning")
ck.ok(r["status"] == "ok" and "drivers.aws.scheduler.role" in warned and "drivers.aws.accountId" in warned
      and docs["CreateSchedule"]["body"]["Target"] == {
          "Arn": "arn:aws:lambda:us-east-1:${drivers.aws.accountId}:function:t-fn",
          "RoleArn": "${drivers.aws.scheduler.role}"}
      and docs["CreateEventSourceMapping"]["body"]["EventSourceArn"] == "arn:aws:sqs:us-east-1:${drivers.aws.accountId}:q",
      "render: placeholders (and warnings) for the scheduler role and the account in the ARNs", (r, docs))
rr = verb("render", place(function(timeoutMs=120000, triggers=[{"queue": {"name": "jobs", "batchSize": 500}},
                                                                {"http": {"public": False}},
                                                                sched("0 3 * * *", "Europe/Berlin")]),
                          mode="render"), SCHED)
docs = rr["output"]["documents"]
ck.ok([d["operation"] for d in docs] == ["CreateFunction", "CreateFunctionUrlConfig", "CreateQueue",
                                         "CreateEventSourceMapping", "CreateSchedule"]
      and [d["api"] for d in docs[2:]] == ["sqs", "lambda", "scheduler"],
      "render: the function and its URL, then the queue, its mapping and the schedule", [d["operation"] for d in docs])
q, m, sc = docs[2]["body"], docs[3]["body"], docs[4]["body"]
ck.ok(q == {"QueueName": "jobs", "Attributes": {"VisibilityTimeout": "720"},
            "tags": {"managed-by": "fedbroker", "workload": "fn", "tenant": "t"}},
      "CreateQueue: visibility 6 x the 120 s timeout, the fedbroker tags (no spec-hash)", q)
ck.ok(m == {"FunctionName": "t-fn", "EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:jobs", "BatchSize": 500,
            "MaximumBatchingWindowInSeconds": 1, "Enabled": True,
            "Tags": {"managed-by": "fedbroker", "workload": "fn", "tenant": "t"}},
      "CreateEventSourceMapping: the queue's ARN, batch 500 with the 1 s window Lambda needs above 10", m)
ck.ok(docs[4]["path"] == "/schedules/t-fn-s0" and sc["ScheduleExpression"] == "cron(0 3 * * ? *)"
      and sc["ScheduleExpressionTimezone"] == "Europe/Berlin" and sc["FlexibleTimeWindow"] == {"Mode": "OFF"}
      and sc["Target"] == {"Arn": "arn:aws:lambda:us-east-1:123456789012:function:t-fn",
                           "RoleArn": "arn:aws:iam::123456789012:role/sched"}
      and sc["Description"] == "fedbroker t/fn" and sc["State"] == "ENABLED" and "ClientToken" not in sc,
      "CreateSchedule: the function as target, the scheduler role, the zone (no ClientToken: the name guards it)", sc)
long = function(triggers=[sched("0 1 * * *"), sched("0 2 * * *")])
long["metadata"]["name"] = "n" * 70
names = [d["path"].split("/")[-1] for d in verb("render", place(long, mode="render"), SCHED)["output"]["documents"]
         if d["operation"] == "CreateSchedule"]
ck.ok(len(names) == 2 and all(len(n) <= 64 for n in names) and names[0][:-1] == names[1][:-1]
      and names[0].endswith("-s0") and names[1].endswith("-s1"),
      "schedule names fit Scheduler's 64 characters (hashed base), numbered per schedule", names)
refused("a queue named twice", function(triggers=[{"queue": {"name": "q"}}, {"queue": {"name": "q", "batchSize": 2}}]),
        "/spec/triggers/1/queue/name", "once")
r = verb("validate", place(container(triggers=[sched("0 3 * * *")])))
ck.ok(r["status"] == "ok" and any(d["severity"] == "warning" and d.get("pointer") == "/spec/triggers/0"
                                  and "Fargate" in d["summary"] for d in r["diagnostics"]),
      "a schedule on Fargate (an explicit target) is a warning: not wired there", r)
# ---- an image in another region's ECR --------------------------------------------------------------
ecr = function(image="123456789012.dkr.ecr.eu-west-1.amazonaws.com/thumbs:2", runtime=None, handler=None, code=None)
for mode in ("plan", "render", "apply"):
    r = verb("validate", place(ecr, "us-east-1", mode=mode))
    hit = [d for d in r["diagnostics"] if d["severity"] == "error" and d.get("pointer") == "/spec/image"]
    ck.ok(r["status"] == "invalid" and hit and "eu-west-1" in hit[0]["summary"] and "us-east-1" in hit[0]["summary"],
          f"mode {mode}: an image in eu-west-1's ECR is refused for a function in us-east-1, both named", r)
ck.ok(verb("validate", place(ecr, "eu-west-1"))["status"] == "ok", "the same image in eu-west-1 is fine")
fips = function(image="123456789012.dkr.ecr-fips.us-east-1.amazonaws.com/x@sha256:" + "0" * 64, runtime=None,
                handler=None, code=None)
ck.ok(verb("validate", place(fips, "us-east-1"))["status"] == "ok"
      and verb("validate", place(fips, "eu-west-1"))["status"] == "invalid", "a FIPS ECR host counts by its region")
# The package is read from the real path the spec reader confined (docs/spec.md):
# a path that no longer resolves to itself (a component swapped for a link
# after validation) and a file in the tree swapped for a FIFO are refused,
# never followed or blocked on.
import tempfile  # noqa: E402
with tempfile.TemporaryDirectory() as td:
    real = os.path.realpath(td)
    os.makedirs(os.path.join(real, "code"))
    with open(os.path.join(real, "code", "app.py"), "w") as f:
        f.write("def handler(e, c):\n    return 1\n")
    os.symlink(os.path.join(real, "code"), os.path.join(real, "swapped"))
    code = lambda p: function(code={"path": p, "type": "directory", "sha256": "00" * 32, "bytes": 1})  # noqa: E731
    r = verb("render", place(code(os.path.join(real, "code")), mode="render"), nothing)
    ck.ok(r["status"] == "ok", "a code directory at its real path is packaged", r)
    r = verb("render", place(code(os.path.join(real, "swapped")), mode="render"), nothing)
    ck.ok(r["status"] == "invalid" and any("now resolves to" in d["summary"] for d in r["diagnostics"]),
          "a code path that resolves elsewhere (a link) is refused", r)
    os.remove(os.path.join(real, "code", "app.py"))
    os.mkfifo(os.path.join(real, "code", "app.py"))
    r = verb("render", place(code(os.path.join(real, "code")), mode="render"), nothing)
    ck.ok(r["status"] == "invalid", "a FIFO in the code tree is refused, not read", r)
    os.remove(os.path.join(real, "code", "app.py"))
    os.symlink("/etc/passwd", os.path.join(real, "code", "app.py"))
    r = verb("render", place(code(os.path.join(real, "code")), mode="render"), nothing)
    zipped = r["output"]["documents"][0]["body"]["Code"]["ZipFile"] if r["status"] == "ok" else ""
    import base64 as b64  # noqa: E402
    ck.ok(r["status"] == "ok" and b"root:" not in b64.b64decode(zipped),
          "a link in the code tree is packaged as a link, its target not read", r["status"])

r = verb("validate", place(function(runtime="go1.23")))
rr = verb("render", place(function(runtime="go1.23")))
ck.ok(r["status"] == "ok" and rr["output"]["documents"][0]["body"]["Runtime"] == "provided.al2023",
      "go1.23 runs on provided.al2023", rr)
r = verb("validate", {"workload": 42})
ck.ok(r["status"] == "invalid" and r["diagnostics"], "a malformed input is refused with a diagnostic", r)
for bad in ({"regions": ["mars-1"]}, {"lambda": {"role": "not-an-arn"}}, {"endpoint": "x"},
            {"ecs": {"assignPublicIp": "yes"}}, {"endpoints": {"lambda": "ftp://x"}},
            {"scheduler": {"role": "not-an-arn"}}, {"scheduler": {"rol": "x"}}, {"scheduler": "x"},
            {"endpoints": {"sqs": "ftp://x"}}):
    r = verb("offers", {}, bad)
    ck.ok(r["status"] == "invalid" and r["diagnostics"], f"configure refuses {json.dumps(bad)}", r)
r = verb("offers", {}, {})
regions = sorted({o["region"] for o in r["output"]["offers"]})
ck.ok(len(regions) == 11 and "us-east-1" in regions and "sa-east-1" in regions
      and {o["service"] for o in r["output"]["offers"]} == {"lambda", "fargate"},
      "default offers: lambda and fargate in 11 regions", regions)
ck.ok(all(o["triggers"] == (["http", "queue", "schedule"] if o["service"] == "lambda" else ["http"])
          for o in r["output"]["offers"]),
      "offers say which triggers they wire: Lambda http, queue, schedule; Fargate http",
      [(o["service"], o.get("triggers")) for o in r["output"]["offers"]][:2])

# ---- Fargate sizes against the fake's table --------------------------------------------------
bad = []
for cpu in (50, 250, 251, 500, 512, 999, 1000, 1001, 1500, 2000, 3000, 4000, 6000, 8000, 12000, 16000):
    for mem in (64, 512, 513, 1024, 2000, 2048, 3000, 4096, 6000, 8192, 12000, 16384, 30720, 30721,
                40000, 61440, 61441, 100000, 122880):
        units = -(-cpu * 1024 // 1000)
        fits = [(c, m) for c, ms in fake_aws.FARGATE.items() for m in ms if c >= units and m >= mem]
        r = verb("render", place(container(resources={"cpuMillis": cpu, "memoryMiB": mem})))
        if not fits:
            if r["status"] != "invalid":
                bad.append((cpu, mem, "should be refused", r["status"]))
            continue
        best = min(fits)
        td = r["output"]["documents"][0]["body"] if r["output"] else {}
        got = (int(td.get("cpu", 0)), int(td.get("memory", 0)))
        if got != best or got[1] not in fake_aws.FARGATE.get(got[0], []):
            bad.append((cpu, mem, got, best))
ck.ok(not bad, "every Fargate size is the smallest valid combination in the fake's table (or refused)", bad)

# ---- usage -----------------------------------------------------------------------------------
def catalog_rows():
    p = os.path.join(TOP, "catalog", "prices.csv")
    if os.path.exists(p):
        text = open(p).read()
    else:
        g = subprocess.run(["git", "-C", TOP, "show", "catalog:catalog/prices.csv"], capture_output=True)
        if g.returncode != 0:
            return None
        text = g.stdout.decode()
    return {(r["service"], r["sku_metric"], r["variant"], r["unit"])
            for r in csv.DictReader(io.StringIO(text)) if r["provider"] == "aws"}


rows = catalog_rows()


def usage(w, hours=None):
    extra = {"hoursPerMonth": hours} if hours is not None else {}
    r = verb("usage", place(w, mode="plan", **extra))
    ck.ok(r["status"] == "ok", f"usage of {w['kind']} answers", r)
    out = r["output"] or {"lines": []}
    lines = {(l["service"], l["metric"], l["variant"], l["unit"]): Decimal(l["quantity"]) for l in out["lines"]}
    if rows is None:
        print("note: no catalog/prices.csv (tree or branch catalog): catalog rows not checked")
    else:
        missing = [k for k in lines if k not in rows]
        ck.ok(not missing, f"every {w['kind']} usage line names a catalog row", missing)
    ck.ok(all(len(l["quantity"].partition(".")[2]) <= 6 for l in out["lines"]),
          "quantities have at most 6 decimal places (what the broker reads)", out["lines"])
    return lines, out


def exact(fr):
    """A Fraction as the broker reads quantities: exact when it has at most
    6 decimal places, else rounded half up to 6."""
    x = fr * 10**6
    q = (2 * x.numerator + x.denominator) // (2 * x.denominator)
    return Decimal(q).scaleb(-6).normalize() if q else Decimal(0)


for r_, d_, m_, e_, arch in ((2000000, 45, 256, 512, "arm64"), (40000000, 60, 512, 512, "x86_64"),
                             (3000000, 800, 2048, 2048, "x86_64"), (7, 1, 10240, 10240, "arm64"),
                             (12345, 7, 200, 600, "x86_64")):
    lines, out = usage(function(resources={"memoryMiB": m_, "ephemeralStorageMiB": e_, "arch": arch},
                                traffic={"requestsPerMonth": r_, "meanDurationMs": d_}))
    want = {("lambda", "requests", "x86_64+arm64", "request"): Decimal(r_),
            ("lambda", "duration", arch, "GB-second"): exact(Fraction(r_ * d_, 1000) * Fraction(m_, 1024))}
    if e_ > 512:
        want[("lambda", "ephemeral_storage", "x86_64+arm64", "GB-second")] = \
            exact(Fraction(r_ * d_, 1000) * Fraction(e_ - 512, 1024))
    ck.ok(lines == want, f"Lambda usage {r_} x {d_} ms x {m_} MiB ({arch}) is exact (6 places)", (lines, want))
    inexact = any(Fraction(v) != Fraction(r_ * d_, 1000) * Fraction(x, 1024) for v, x in
                  ((lines.get(("lambda", "duration", arch, "GB-second"), 0), m_),))
    ck.ok(not inexact or any("rounded" in n for n in out["notes"]), "a rounded quantity is noted", out["notes"])
    ck.ok(isinstance(out.get("coldStartMs"), int) and out["coldStartMs"] > 0
          and any("assumption" in n for n in out.get("notes", [])), "coldStartMs is given and marked as an assumption")
    vcpu = Fraction(r_ * d_, 1000 * 730 * 3600) * Fraction(m_, 1769)
    ck.ok(Decimal(out["vcpu"]) == exact(vcpu), "Lambda vCPU demand (average concurrency x memory / 1769)",
          (out["vcpu"], float(vcpu)))
# provisioned concurrency, in a 30-day month
for hours in (None, 720):
    h = hours or 730
    lines, out = usage(function(scaling={"minInstances": 2}, resources={"memoryMiB": 1024},
                                traffic={"requestsPerMonth": 100000000, "meanDurationMs": 100}), hours)
    cap = Fraction(2 * h * 3600 * 1024, 1024)
    gbs = Fraction(100000000 * 100, 1000) * Fraction(1024, 1024)
    want = {("lambda", "requests", "x86_64+arm64", "request"): Decimal(100000000),
            ("lambda", "provisioned_concurrency", "x86_64", "GB-second"): exact(cap),
            ("lambda", "provisioned_concurrency_duration", "x86_64", "GB-second"): exact(min(gbs, cap)),
            ("lambda", "duration", "x86_64", "GB-second"): exact(gbs - min(gbs, cap))}
    ck.ok(lines == want, f"minInstances priced as provisioned concurrency for {h} h, the rest on demand",
          (lines, want))
# Fargate
for cpu, mem, mn, mx, r_, d_, k, arch, eph, hours in (
        (1000, 1024, 1, 20, 15000000, 80, 60, "x86_64", 512, None),
        (250, 512, 0, 3, 0, 0, 1, "arm64", 512, 744),
        (2000, 4096, 2, 50, 500000000, 200, 10, "x86_64", 40 * 1024, 672),
        (500, 3000, 1, 4, 1000000, 3000, 1, "x86_64", 512, None)):
    w = container(resources={"cpuMillis": cpu, "memoryMiB": mem, "arch": arch, "ephemeralStorageMiB": eph},
                  scaling={"minInstances": mn, "maxInstances": mx, "targetConcurrency": k},
                  traffic={"requestsPerMonth": r_, "meanDurationMs": d_})
    lines, out = usage(w, hours)
    h = hours or 730
    units = -(-cpu * 1024 // 1000)
    c, m = min((c, m) for c, ms in fake_aws.FARGATE.items() for m in ms if c >= units and m >= mem)
    desired = max(mn, 1)
    need = -(-Fraction(r_ * d_, 1000 * h * 3600) // k) if r_ else 0
    tasks = max(desired, min(int(need), mx))
    v = "linux/arm64" if arch == "arm64" else "linux/x86_64"
    want = {("fargate", "vcpu", v, "vCPU-hour"): exact(Fraction(tasks * c * h, 1024)),
            ("fargate", "memory", v, "GB-hour"): exact(Fraction(tasks * m * h, 1024))}
    gib = -(-eph // 1024)
    if gib > 20:
        want[("fargate", "ephemeral_storage", "any", "GB-hour")] = Decimal(tasks * (gib - 20) * h)
    ck.ok(lines == want, f"Fargate usage: {tasks} task(s) of {c}/{m} for {h} h", (lines, want, out.get("notes")))
    ck.ok(Decimal(out["vcpu"]) == exact(Fraction(tasks * c, 1024)), "Fargate vCPU demand", out["vcpu"])
    ck.ok(any("rounded up" in n for n in out["notes"]), "the size rounding is stated in the notes", out["notes"])
    ck.ok(out["coldStartMs"] == 0, "Fargate: no cold start (a task always runs)", out["coldStartMs"])
ck.done()
