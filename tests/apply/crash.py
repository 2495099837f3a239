#!/usr/bin/python3
"""kill -9 during a plan-driven apply of a 30-workload federation (issue 11)
against tests/fakes/fake_aws.py: 10 functions in us-east-1 (level 0) and 20
in eu-west-1 that depend on them (level 1). apply is killed three times at
different points (inside level 0; in level 1 with two CreateFunction calls
held past the kill, so they land after it with no id stored; late in level
1), each time the next `apply SPEC --yes` starts from what the last one
left; the fourth converges. Then: every function exists once, each created
exactly once (no successful CreateFunction repeated: no duplicate), in the
region the plan chose; the next plan is all no-op; `destroy --federation`
leaves the fake and the store empty (no orphan) and no journal row open."""
import collections
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "aws"))
from awstest import Checker, Env, Fake, wait_for  # noqa: E402
from harness import workload  # noqa: E402

ck = Checker("apply crash")
fake = Fake()
env = Env(fake)
env.write_config(env.drv_settings, timeout_ms=3000)
fake.latency(25)

FN = """
runtime: python3.12
handler: app.handler
code: {{s3: {{bucket: fleet-code, key: f{i:02d}.zip}}}}
traffic: {{requestsPerMonth: 100000, meanDuration: 20ms, sources: [{{location: {loc}, weight: 1}}]}}
placement: {{regions: ["aws:{region}"]}}
{deps}"""
parts = []
for i in range(30):
    lvl1 = i >= 10
    deps = f"dependencies: [{{workload: f{i % 10:02d}}}]" if lvl1 else ""
    parts.append(workload("Function", f"f{i:02d}", FN.format(i=i, loc="london" if lvl1 else "new-york",
                                                            region="eu-west-1" if lvl1 else "us-east-1", deps=deps)))
fed = env.write_federation("fleet.yaml", "fleet", "fly", *parts)


def creates():
    return [e for e in fake.log() if e.get("operation") == "CreateFunction"]


def run_and_kill(at, label, hold=None):
    if hold:
        fake.faults([{"count": hold, "delay_ms": 2500, "service": "lambda", "operation": "CreateFunction"}])
    p = env.popen("apply", fed, "--yes", "--parallelism", "4")
    got = wait_for(lambda: len(creates()) >= at or p.poll() is not None, timeout=120)
    p.send_signal(signal.SIGKILL)
    p.wait()
    ck.ok(got and p.returncode == -signal.SIGKILL, f"{label}: killed after {len(creates())} CreateFunction",
          (p.returncode, p.stderr.read().decode()[-1500:]))
    fake.clear_faults()


run_and_kill(3, "kill 1 (level 0)")
run_and_kill(14, "kill 2 (level 1, two creates held past the kill)", hold=2)
run_and_kill(26, "kill 3 (late in level 1)")
rc, out, err = env.run("apply", fed, "--yes", "--parallelism", "4")
ck.ok(rc == 0, "the fourth apply converges", (rc, out[-1500:], err[-3000:]))
time.sleep(3)  # anything held at the fake lands by now

fns = sorted(fake.state()["lambda"])
want = sorted([f"us-east-1|fly-f{i:02d}" for i in range(10)] + [f"eu-west-1|fly-f{i:02d}" for i in range(10, 30)])
ck.ok(fns == want, "30 functions, each in its planned region", fns)
ok_creates = collections.Counter(e["params"]["FunctionName"] for e in creates()
                                 if isinstance(e.get("status"), int) and e["status"] < 300)
dups = {k: v for k, v in ok_creates.items() if v != 1}
ck.ok(len(ok_creates) == 30 and not dups, "each function was created exactly once (no duplicate)",
      {"created": len(ok_creates), "dups": dups})
rows = env.db("SELECT workload, region, state FROM deployments WHERE federation='fleet'")
ck.ok(len(rows) == 30 and all(s == "applied" for _, _, s in rows), "the store holds 30 applied deployments",
      [r for r in rows if r[2] != "applied"] or len(rows))
rc, out, err = env.run("plan", fed, "--no-baselines", "--no-save", "--detailed-exitcode")
ck.ok(rc == 0 and "No changes" in out, "the next plan is all no-op", (rc, out[-800:], err[-800:]))

rc, out, err = env.run("destroy", "--federation", "fleet", "--parallelism", "8")
ck.ok(rc == 0, "destroy --federation fleet", (rc, err[-1500:]))
ck.ok(fake.state()["lambda"] == {}, "the fake holds no function (no orphan)", sorted(fake.state()["lambda"]))
ck.ok(not env.db("SELECT * FROM deployments") and not env.db("SELECT * FROM resources"),
      "the store holds no deployment or resource")
ck.ok(env.db("SELECT count(*) FROM journal WHERE phase='intent'") == [(0,)], "no journal row is left open",
      env.db("SELECT id, op, workload FROM journal WHERE phase='intent'"))

env.close()
fake.close()
ck.done()
