#!/usr/bin/python3
"""Schedule and queue triggers of a Lambda function through the CLI against
the fake AWS (tests/fakes/fake_aws.py: EventBridge Scheduler, SQS in the
JSON protocol and Lambda event source mappings, every body validated with
botocore 1.43.11's models, every signature recomputed with botocore):

apply creates the schedules (the function as target, the scheduler role,
the cron translated), the queue the spec names when it is missing (an
existing untagged queue is only used) and a mapping from each queue, and
records each right after its create; status reads only and shows no
drift; a second apply changes nothing; drift made out of band (an
expression, a batch size, a deleted mapping and schedule) is reported
field by field and repaired; a spec that drops triggers removes them (the
queue it created, not the one it found); discover lists schedules,
mappings and queues, managed or not, tracked or not; a create whose
answer is lost is adopted (mapping) or answered again (schedule's
ClientToken) with no duplicate; destroy removes what a failed apply left
without a record; a queue carrying our tags is adopted, a foreign schedule
of the same name refused; SQS's 60 s before re-creating a deleted queue is
said; destroy leaves only what was not ours."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from awstest import ACCOUNT, SCHED_ROLE, Checker, Env, Fake, ops, rejected  # noqa: E402

REGION = "eu-west-1"
FN = "ops-nightly"
FN_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FN}"
OK_MISSING = {("GetFunction", "ResourceNotFoundException"), ("GetSchedule", "ResourceNotFoundException"),
              ("GetQueueUrl", "QueueDoesNotExist"), ("GetFunctionUrlConfig", "ResourceNotFoundException"),
              ("DeleteFunctionUrlConfig", "ResourceNotFoundException"),
              ("DeleteEventSourceMapping", "ResourceNotFoundException"), ("ListQueueTags", "QueueDoesNotExist"),
              ("CreateSchedule", "ConflictException")}
MUTATING = ("Create", "Update", "Delete", "Put", "Add", "Tag", "Register", "Remove")

ck = Checker("aws triggers")
fake = Fake()
env = Env(fake)
sch = fake.client("scheduler", REGION)
sqs = fake.client("sqs", REGION)
lam = fake.client("lambda", REGION)


def spec(triggers, name="v1"):
    lines = "\n".join(f"    - {t}" for t in triggers)
    # the code inside the spec's directory tree, where a spec may read files
    env.write(f"{name}/src/app.py", "def handler(event, context):\n    return event\n")
    return env.write(f"{name}/job.yaml", f"""apiVersion: fedbroker.dev/v1
kind: Function
metadata: {{name: nightly, tenant: ops, labels: {{team: ops}}}}
spec:
  runtime: python3.12
  handler: app.handler
  code: {{path: {env.path(name + '/src')}}}
  resources: {{memory: 256Mi}}
  timeout: 60s
  triggers:
{lines}
  traffic: {{requestsPerMonth: 1000, meanDuration: 2s}}
""")


def apply(path):
    return env.run("apply", "--target", f"aws:{REGION}", path)


def state():
    return fake.state()


def queue_arn(name):
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def mappings():
    return {m["config"]["EventSourceArn"].rsplit(":", 1)[1]: m for m in state()["event_source_mappings"].values()}


def records(kind):
    return sorted(r[0] for r in env.db("SELECT cloud_id FROM resources WHERE type=?", kind))


def mutating(entries):
    return [e.get("operation") for e in entries if (e.get("operation") or "").startswith(MUTATING)]


# A queue that exists already, not fedbroker's: the trigger uses it as it is.
shared_url = sqs.create_queue(QueueName="shared-events", Attributes={"VisibilityTimeout": "600"})["QueueUrl"]
V1 = ['schedule: {cron: "0 3 * * 1-5", timezone: Europe/Berlin}',
      "queue: {name: ops-jobs, batchSize: 20}",
      "queue: {name: shared-events}",
      'schedule: {cron: "*/15 * * * *"}']
v1 = spec(V1)

# ---- apply -----------------------------------------------------------------------------------
mark = fake.seq()
rc, out, err = apply(v1)
ck.ok(rc == 0, "apply a function with two schedules and two queue triggers", err)
log = fake.log(mark)
ck.ok(not rejected(log, OK_MISSING), "the fake (botocore 1.43.11's models) accepted every request",
      rejected(log, OK_MISSING))
o = ops(log)
ck.ok(o.count("CreateFunction") == 1 and o.count("CreateSchedule") == 2 and o.count("CreateQueue") == 1
      and o.count("CreateEventSourceMapping") == 2 and o.index("CreateFunction") < o.index("CreateSchedule"),
      "the function first, then two schedules, one queue (the missing one) and two mappings", o)
creates = [e for e in log if e.get("operation") == "CreateQueue"]
ck.ok(creates and creates[0]["params"]["QueueName"] == "ops-jobs", "CreateQueue only for ops-jobs", creates)
hdr = {k.lower(): v for k, v in creates[0]["headers"]} if creates else {}
ck.ok(hdr.get("x-amz-target") == "AmazonSQS.CreateQueue" and hdr.get("content-type") == "application/x-amz-json-1.0",
      "SQS spoken in its JSON 1.0 protocol", hdr)
st = state()
s0 = st["schedules"].get(f"{REGION}|default|{FN}-s0", {})
s1 = st["schedules"].get(f"{REGION}|default|{FN}-s1", {})
ck.ok(s0.get("ScheduleExpression") == "cron(0 3 ? * 2-6 *)" and s0.get("ScheduleExpressionTimezone") == "Europe/Berlin"
      and s0.get("Target") == {"Arn": FN_ARN, "RoleArn": SCHED_ROLE} and s0.get("State") == "ENABLED"
      and s0.get("FlexibleTimeWindow") == {"Mode": "OFF"} and s0.get("Description") == "fedbroker ops/nightly",
      "schedule 0: weekdays 03:00 Berlin (cron 1-5 -> Scheduler 2-6), the function as target, the scheduler role", s0)
ck.ok(s1.get("ScheduleExpression") == "cron(*/15 * * * ? *)" and s1.get("ScheduleExpressionTimezone") == "UTC",
      "schedule 1: every 15 minutes, UTC", s1)
q = st["queues"].get(f"{REGION}|ops-jobs", {})
ck.ok(q.get("attributes", {}).get("VisibilityTimeout") == "360"
      and q.get("tags") == {"managed-by": "fedbroker", "workload": "nightly", "tenant": "ops", "team": "ops"},
      "the queue apply created: visibility 6 x 60 s, our tags", q)
ck.ok(st["queues"][f"{REGION}|shared-events"]["tags"] == {}, "the queue that existed is left as it was")
ms = mappings()
ck.ok(set(ms) == {"ops-jobs", "shared-events"} and all(m["config"]["FunctionArn"] == FN_ARN for m in ms.values())
      and ms["ops-jobs"]["config"]["BatchSize"] == 20 and ms["ops-jobs"]["config"]["MaximumBatchingWindowInSeconds"] == 1
      and ms["shared-events"]["config"]["BatchSize"] == 10
      and all(m["tags"].get("managed-by") == "fedbroker" for m in ms.values()),
      "a mapping from each queue to the function, batch 20 (window 1 s) and 10, tagged", ms)
ck.ok(records("scheduler-schedule") == sorted(s["Arn"] for s in (s0, s1))
      and records("sqs-queue") == [f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/ops-jobs"]
      and records("lambda-event-source-mapping") == sorted(m["config"]["EventSourceMappingArn"] for m in ms.values()),
      "the store recorded both schedules, the created queue (not the found one) and both mappings",
      env.db("SELECT type, cloud_id FROM resources"))
dep_state = json.loads(env.db("SELECT state_json FROM deployments")[0][0])
ck.ok([(t["kind"], t["index"]) for t in dep_state.get("triggers", [])] ==
      [("schedule", 0), ("queue", 1), ("queue", 2), ("schedule", 3)]
      and [t.get("owned") for t in dep_state["triggers"] if t["kind"] == "queue"] == [True, False],
      "the deployment's state lists the triggers, which queue is ours", dep_state.get("triggers"))
ck.ok(env.db("SELECT phase FROM journal WHERE op='apply'") == [("done",)], "the journal row is closed",
      env.db("SELECT op, phase FROM journal"))

# ---- status, re-apply -------------------------------------------------------------------------
mark = fake.seq()
rc, out, err = env.run("status", "--format", "json")
res = json.loads(out)[0] if out.strip() else {}
ck.ok(rc == 0 and res.get("status") == "ready" and res.get("drift") == [], "status: ready, no drift", out + err)
ck.ok(not mutating(fake.log(mark)), "status sent only reads", ops(fake.log(mark)))
mark = fake.seq()
rc, out, err = apply(v1)
ck.ok(rc == 0 and not mutating(fake.log(mark)), "applying the same spec again changes nothing",
      (ops(fake.log(mark)), err))

# ---- drift made out of band -------------------------------------------------------------------
# an update without Description (UpdateSchedule replaces it all): still ours, by its target
sch.update_schedule(Name=f"{FN}-s0", ScheduleExpression="cron(0 4 ? * 2-6 *)", ScheduleExpressionTimezone="Europe/Berlin",
                    FlexibleTimeWindow={"Mode": "OFF"}, Target={"Arn": FN_ARN, "RoleArn": SCHED_ROLE})
lam.update_event_source_mapping(UUID=ms["ops-jobs"]["config"]["UUID"], BatchSize=5, MaximumBatchingWindowInSeconds=1)
lam.delete_event_source_mapping(UUID=ms["shared-events"]["config"]["UUID"])
sch.delete_schedule(Name=f"{FN}-s1")
mark = fake.seq()
rc, out, err = env.run("status", "--format", "json")
res = json.loads(out)[0] if out.strip() else {}
drift = {d["field"]: (d["want"], d["live"]) for d in res.get("drift", [])}
ck.ok(rc == 4 and drift == {
    "triggers.0.schedule.expression": ("cron(0 3 ? * 2-6 *)", "cron(0 4 ? * 2-6 *)"),
    "triggers.1.queue.batchSize": (20, 5),
    "triggers.2.queue.mapping": ("Enabled", None),
    "triggers.3.schedule.name": (f"{FN}-s1", None)},
    "status (exit 4): the changed expression and batch size, the missing mapping and schedule", (rc, res))
ck.ok(not mutating(fake.log(mark)), "status sent only reads", ops(fake.log(mark)))
mark = fake.seq()
rc, out, err = apply(v1)
o = mutating(fake.log(mark))
ck.ok(rc == 0 and sorted(o) == ["CreateEventSourceMapping", "CreateSchedule", "UpdateEventSourceMapping",
                                "UpdateSchedule"], "apply repairs exactly that", (o, err))
ck.ok(not rejected(fake.log(mark), OK_MISSING), "the repairs were accepted", rejected(fake.log(mark), OK_MISSING))
ck.ok(state()["schedules"][f"{REGION}|default|{FN}-s0"].get("Description") == "fedbroker ops/nightly",
      "the schedule's Description is back")
rc, out, err = env.run("status", "--format", "json")
ck.ok(rc == 0, "status after the repair: no drift", out + err)

# ---- the spec drops triggers ------------------------------------------------------------------
v2 = spec(['schedule: {cron: "30 2 * * *", timezone: Europe/Berlin}', "queue: {name: shared-events}"], "v2")
mark = fake.seq()
rc, out, err = apply(v2)
o = mutating(fake.log(mark))
ck.ok(rc == 0 and sorted(o) == ["DeleteEventSourceMapping", "DeleteQueue", "DeleteSchedule", "TagResource",
                                "UpdateSchedule"],
      "dropped triggers removed: the ops-jobs mapping and queue, schedule 1; schedule 0 updated "
      "(and the function's spec-hash tag)", (o, err))
st = state()
ck.ok(set(st["schedules"]) == {f"{REGION}|default|{FN}-s0"}
      and st["schedules"][f"{REGION}|default|{FN}-s0"]["ScheduleExpression"] == "cron(30 2 * * ? *)"
      and set(st["queues"]) == {f"{REGION}|shared-events"} and set(mappings()) == {"shared-events"},
      "left: schedule 0 (02:30), the shared queue and its mapping", st["schedules"])

# ---- discover ---------------------------------------------------------------------------------
sch.create_schedule(Name="someone-else", ScheduleExpression="rate(1 day)", FlexibleTimeWindow={"Mode": "OFF"},
                    Target={"Arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:other", "RoleArn": SCHED_ROLE},
                    Description="not ours")
rc, out, err = env.run("discover", "--provider", "aws", "--format", "json")
found = {(r["type"], r.get("name")): r for r in json.loads(out)} if rc == 0 and out.strip() else {}
mine = found.get(("scheduler-schedule", f"{FN}-s0"), {})
ck.ok(mine.get("managed") and mine.get("tracked") and mine.get("workload") == "nightly" and mine.get("tenant") == "ops",
      "discover: our schedule, managed and tracked, with its workload", mine)
ck.ok(found.get(("scheduler-schedule", "someone-else"), {}).get("managed") is False, "another schedule: unmanaged")
mp = found.get(("lambda-event-source-mapping", "shared-events"), {})
ck.ok(mp.get("managed") and mp.get("tracked") and mp.get("workload") == "nightly", "our mapping, tracked", mp)
ck.ok(found.get(("sqs-queue", "shared-events"), {}).get("managed") is False, "the shared queue: unmanaged",
      found.get(("sqs-queue", "shared-events")))

# ---- a create whose answer is lost --------------------------------------------------------------
V3 = ['schedule: {cron: "30 2 * * *", timezone: Europe/Berlin}', "queue: {name: shared-events}",
      "queue: {name: ops-late, batchSize: 5}", 'schedule: {cron: "0 12 1 * *"}']
v3 = spec(V3, "v3")
fake.faults([{"operation": "CreateEventSourceMapping", "after": True, "reset": True, "count": 1}])
rc, out, err = apply(v3)
ck.ok(rc != 0 and "CreateEventSourceMapping" in err, "a mapping whose answer is lost fails the apply, saying so",
      (rc, err))
ck.ok("ops-late" in mappings() and not any("ops-late" in r for r in records("lambda-event-source-mapping")),
      "(Lambda made the mapping; nothing recorded it)")
fake.clear_faults()
# and now the schedule's answer is lost: the host sends it again
fake.faults([{"operation": "CreateSchedule", "after": True, "reset": True, "count": 1}])
mark = fake.seq()
rc, out, err = apply(v3)
fake.clear_faults()
o = ops(fake.log(mark))
ck.ok(rc == 0 and "CreateEventSourceMapping" not in o and len([m for m in state()["event_source_mappings"].values()
                                                                if m["config"]["EventSourceArn"] == queue_arn("ops-late")]) == 1,
      "apply again adopts it (found from the queue, tagged ours): no second mapping", (o, err))
ck.ok(any(mappings()["ops-late"]["config"]["EventSourceMappingArn"] == r for r in records("lambda-event-source-mapping")),
      "and records it")
s2 = [e for e in fake.log(mark) if e.get("operation") == "CreateSchedule"]
ck.ok([e.get("status") for e in s2] == ["reset", 409] and (s2[1].get("error") or {}).get("code") == "ConflictException"
      and sum(1 for k in state()["schedules"] if k.endswith(f"{FN}-s1")) == 1
      and any(r.endswith(f"/{FN}-s1") for r in records("scheduler-schedule")),
      "a CreateSchedule whose answer was lost is sent again, meets its own schedule (409) and adopts it: "
      "one schedule, recorded", [(e.get("status"), e.get("error")) for e in s2])

# ---- adoption and refusal ---------------------------------------------------------------------
sqs.create_queue(QueueName="ops-adopt", Attributes={"VisibilityTimeout": "360"},
                 tags={"managed-by": "fedbroker", "workload": "nightly", "tenant": "ops"})
sqs.create_queue(QueueName="ops-theirs", Attributes={"VisibilityTimeout": "360"},
                 tags={"managed-by": "fedbroker", "workload": "another", "tenant": "ops"})
v4 = spec(V3 + ["queue: {name: ops-adopt}", "queue: {name: ops-theirs}"], "v4")
mark = fake.seq()
rc, out, err = apply(v4)
ck.ok(rc == 0 and "CreateQueue" not in ops(fake.log(mark)), "queues that exist are not created", (ops(fake.log(mark)), err))
urls = records("sqs-queue")
ck.ok(any(u.endswith("/ops-adopt") for u in urls) and not any(u.endswith("/ops-theirs") for u in urls),
      "the queue with this workload's tags is adopted (recorded), another workload's only used", urls)

# ---- destroy ----------------------------------------------------------------------------------
mark = fake.seq()
rc, out, err = env.run("destroy", "--all")
log = fake.log(mark)
ck.ok(rc == 0, "destroy", err)
st = state()
ck.ok(not [k for k in st["schedules"] if FN in k] and set(st["schedules"]) == {f"{REGION}|default|someone-else"},
      "our schedules are gone, the other one stays", st["schedules"])
ck.ok(st["event_source_mappings"] == {} and st["lambda"] == {}, "no mapping and no function left",
      (st["event_source_mappings"], st["lambda"]))
ck.ok(set(st["queues"]) == {f"{REGION}|shared-events", f"{REGION}|ops-theirs"},
      "the queues apply created or adopted are deleted; the found ones stay", set(st["queues"]))
ck.ok(not rejected(log, OK_MISSING), "destroy's requests were accepted", rejected(log, OK_MISSING))
mark = fake.seq()
rc, out, err = env.run("destroy", "--all")
ck.ok(rc == 0 and not mutating(fake.log(mark)), "a second destroy has nothing to do", (ops(fake.log(mark)), err))

# ---- destroy after an apply that failed with an unrecorded mapping ----------------------------------
v5 = spec(["queue: {name: ops-crash}", 'schedule: {cron: "0 5 * * *"}'], "v5")
fake.faults([{"operation": "CreateEventSourceMapping", "after": True, "reset": True, "count": 1}])
rc, out, err = apply(v5)
fake.clear_faults()
ck.ok(rc != 0 and "ops-crash" in mappings(), "(an apply stopped after Lambda made a mapping it never heard of)")
rc, out, err = env.run("destroy", "--all")
st = state()
ck.ok(rc == 0 and st["event_source_mappings"] == {} and f"{REGION}|ops-crash" not in st["queues"] and st["lambda"] == {},
      "destroy finds the mapping by its function and deletes it, and the recorded queue", (err, st["event_source_mappings"]))
# SQS keeps a deleted queue's name for 60 s
rc, out, err = apply(v5)
ck.ok(rc != 0 and "60 s" in err and "apply again" in err, "re-creating the queue at once: SQS's wait, said", err)
rc, out, err = env.run("destroy", "--all")
ck.ok(rc == 0 and state()["lambda"] == {}, "and destroy cleans that up", err)

# ---- a schedule of the same name that is not ours ----------------------------------------------
sch.create_schedule(Name=f"{FN}-s0", ScheduleExpression="rate(1 day)", FlexibleTimeWindow={"Mode": "OFF"},
                    Target={"Arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:other", "RoleArn": SCHED_ROLE},
                    Description="made by hand")
rc, out, err = apply(spec(['schedule: {cron: "0 5 * * *"}'], "v6"))
ck.ok(rc != 0 and "not this workload's" in err, "a foreign schedule with our name is refused, not taken", err)
ck.ok(state()["schedules"][f"{REGION}|default|{FN}-s0"]["Description"] == "made by hand", "and left as it was")
rc, out, err = env.run("destroy", "--all")
ck.ok(rc == 0 and f"{REGION}|default|{FN}-s0" in state()["schedules"], "destroy does not delete it either", err)

fake.close()
env.close()
ck.done()
