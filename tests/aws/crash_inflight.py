#!/usr/bin/python3
"""A kill -9 while CreateFunction requests are in flight (issue 9, items 1
and 4). The fake holds each CreateFunction 4 s before it creates the
function, fedbroker applies 20 functions at parallelism 3 and is killed
after 2 s: three deployments are left in state `creating` with no cloud id
and three journal rows in `intent`, and the three functions appear in the
fake 2 s after the kill, while nothing of fedbroker runs.

  destroy right away  `status` shows the three unresolved journal rows
                      (table and JSON, exit 4); `destroy --all` looks each
                      deployment up by its deterministic name, waits out the
                      window in which the dead apply's requests may still
                      land (http.timeout_ms, 6 s here), deletes what
                      appeared, closes the journal rows with the reason; the
                      fake ends with no function and `discover` lists
                      nothing untracked.
  apply right away    apply again adopts what the dead run created and closes
                      its journal rows; destroy --all then empties the fake.

Today's main printed `destroyed` without sending a request and the fake kept
three untracked functions."""
import json
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from awstest import Checker, Env, Fake, ops, wait_for  # noqa: E402

FN = """apiVersion: fedbroker.dev/v1
kind: Function
metadata: {{name: f{i:02d}, tenant: fly}}
spec:
  runtime: python3.12
  handler: app.handler
  code: {{s3: {{bucket: fly-code, key: f{i:02d}.zip}}}}
"""
DELAY_MS = 4000
TIMEOUT_MS = 6000  # http.timeout_ms: how long a dead run's request may still land


def crash(ck, fake, env):
    """Applies 20 functions with CreateFunction held 4 s and kills fedbroker
    after 2 s. Returns the spec file and the kill time."""
    env.write_config(env.drv_settings, timeout_ms=TIMEOUT_MS)
    spec = env.write("fns.yaml", "---\n".join(FN.format(i=i) for i in range(20)))
    fake.faults([{"count": 3, "delay_ms": DELAY_MS, "service": "lambda", "operation": "CreateFunction"}])
    p = env.popen("apply", "--parallelism", "3", "--target", "aws:us-east-1", spec)
    time.sleep(2)
    p.send_signal(signal.SIGKILL)
    p.wait()
    killed = time.time()
    ck.ok(p.returncode == -signal.SIGKILL, "fedbroker was killed mid-apply", p.returncode)
    rows = env.db("SELECT workload, state FROM deployments ORDER BY workload")
    ck.ok(len(rows) == 3 and all(s == "creating" for _, s in rows),
          "three deployments are left `creating`", rows)
    ck.ok(not env.db("SELECT * FROM resources"), "with no cloud id recorded", env.db("SELECT * FROM resources"))
    ck.ok(env.db("SELECT count(*) FROM journal WHERE phase = 'intent'") == [(3,)],
          "three journal rows are left in `intent`", env.db("SELECT id, op, workload, phase FROM journal"))
    return spec, killed, [w for w, _ in rows]


def untracked(env):
    rc, out, err = env.run("discover", "--provider", "aws", "--format", "json")
    try:
        rows = json.loads(out)
    except ValueError:
        return ["discover failed", rc, err]
    return [r for r in rows if r.get("managed") and not r.get("tracked")]


def destroy_right_away():
    ck = Checker("aws crash with creates in flight: destroy right away")
    fake = Fake()
    env = Env(fake)
    spec, killed, names = crash(ck, fake, env)

    rc, out, err = env.run("status")
    rows = [ln for ln in out.splitlines() if re.match(r"^\d+\s+apply\s+fly/f\d\d\s+aws:us-east-1\s.*interrupted$", ln)]
    ck.ok(rc == 4 and len(rows) == 3 and all(any(f"fly/{n} " in r for r in rows) for n in names),
          "status (table) lists the three interrupted journal rows and exits 4", (rc, out, err))
    rc, out, err = env.run("status", "--format", "json")
    try:
        st = json.loads(out)
    except ValueError:
        st = None
    unresolved = [u for d in (st or []) for u in d.get("unresolved", [])]
    ck.ok(rc == 4 and len(unresolved) == 3 and all(u.get("op") == "apply" and u.get("state") == "interrupted"
                                                   and u.get("id") for u in unresolved),
          "status (json) gives each deployment its unresolved journal rows", (rc, out, err))

    mark = fake.seq()
    t0 = time.time()
    rc, out, err = env.run("destroy", "--all", timeout=60)
    took = time.time() - t0
    o = ops(fake.log(mark))
    ck.ok(rc == 0, "destroy --all succeeds", (rc, out, err))
    ck.ok(killed + TIMEOUT_MS / 1000.0 - 1.0 <= time.time(),
          "destroy waited out the window in which the dead run's requests may land", (took, err))
    ck.ok(o.count("DeleteFunction") == 3, "it deleted the three functions that appeared after the kill", o)
    # the fake created them DELAY_MS after they were sent; look again after that
    time.sleep(max(0.0, killed + DELAY_MS / 1000.0 + 0.5 - time.time()))
    ck.ok(not fake.state()["lambda"], "the fake holds no function", list(fake.state()["lambda"]))
    ck.ok(not untracked(env), "discover lists nothing untracked", untracked(env))
    ck.ok(not env.db("SELECT * FROM deployments"), "the store has no deployment left",
          env.db("SELECT * FROM deployments"))
    rows = env.db("SELECT id, phase, detail_json FROM journal WHERE op = 'apply'")
    res = [json.loads(d).get("resolution") or {} for _, _, d in rows]
    ck.ok(len(rows) == 3 and all(p != "intent" for _, p, _ in rows)
          and all(r.get("outcome") == "deleted" and r.get("reason") for r in res),
          "the interrupted journal rows are closed as deleted, with the reason", rows)
    rc, out, err = env.run("status")
    ck.ok(rc == 0 and "interrupted" not in out, "status shows nothing unresolved", (rc, out, err))
    fake.close()
    env.close()
    return ck


def apply_right_away(ck):
    fake = Fake()
    env = Env(fake)
    spec, killed, names = crash(ck, fake, env)
    mark = fake.seq()
    rc, out, err = env.run("apply", "--parallelism", "3", "--target", "aws:us-east-1", spec, timeout=60)
    ck.ok(rc == 0, "apply again succeeds", (rc, out, err))
    time.sleep(max(0.0, killed + DELAY_MS / 1000.0 + 0.5 - time.time()))
    ck.ok(len(fake.state()["lambda"]) == 20, "the fake holds the 20 functions", len(fake.state()["lambda"]))
    ck.ok(not untracked(env), "every one of them is tracked", untracked(env))
    ck.ok(ops(fake.log(mark)).count("CreateFunction") <= 20, "no function was created twice",
          ops(fake.log(mark)))
    rows = [(i, p, json.loads(d).get("resolution") or {})
            for i, p, d in env.db("SELECT id, phase, detail_json FROM journal WHERE workload IN (?, ?, ?)"
                                  " ORDER BY id", *names)]
    old = rows[:3]
    ck.ok(all(p != "intent" and r.get("outcome") == "adopted" and r.get("reason") for _, p, r in old),
          "the dead run's journal rows are closed as adopted, with the reason", rows)
    ck.ok(env.db("SELECT count(*) FROM journal WHERE phase = 'intent'") == [(0,)], "no journal row is open")
    rc, out, err = env.run("destroy", "--all")
    ck.ok(rc == 0 and not fake.state()["lambda"], "destroy --all empties the fake", (rc, err))
    fake.close()
    env.close()


if __name__ == "__main__":
    c = destroy_right_away()
    c.name = "aws crash with creates in flight"
    apply_right_away(c)
    c.done()
