#!/usr/bin/python3
"""Journal rows an interrupted apply left open are closed by the next apply
even when it applies other workloads (issue 9, item 4; core/broker/
recover.c). crash_inflight.py's crash: CreateFunction held 4 s at the fake,
20 functions at parallelism 3, kill -9 after 2 s, three rows left in
`intent` and three deployments `creating` with no cloud id.

  landed      the held requests create their functions after the kill; an
              apply of another workload, once they have landed, observes
              each deployment by name: the rows are closed as adopted (with
              the reason), the deployments kept as failed, status shows no
              unresolved row; destroy --all then deletes all four functions;
  never       the fake drops the held requests (a reset after the delay):
              nothing is created. An apply of another workload right after
              the kill leaves the rows open (the dead run's requests may
              still land until http.timeout_ms after it was found dead) and
              says so; the next apply after that window closes them as
              failed ("nothing was created") and removes the deployments.
Today's main left the rows in `intent` forever."""
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from awstest import Checker, Env, Fake, wait_for  # noqa: E402

FN = """apiVersion: fedbroker.dev/v1
kind: Function
metadata: {{name: {name}, tenant: rec}}
spec:
  runtime: python3.12
  handler: app.handler
  code: {{s3: {{bucket: rec-code, key: {name}.zip}}}}
"""
TIMEOUT_MS = 5000


def crash(ck, fake, env, reset):
    env.write_config(env.drv_settings, timeout_ms=TIMEOUT_MS)
    spec = env.write("fns.yaml", "---\n".join(FN.format(name=f"f{i:02d}") for i in range(20)))
    fault = {"count": 3, "delay_ms": 4000, "service": "lambda", "operation": "CreateFunction"}
    if reset:
        fault["reset"] = True
    fake.faults([fault])
    p = env.popen("apply", "--parallelism", "3", "--target", "aws:us-east-1", spec)
    time.sleep(2)
    p.send_signal(signal.SIGKILL)
    p.wait()
    killed = time.time()
    ck.ok(env.db("SELECT count(*) FROM journal WHERE phase = 'intent'") == [(3,)],
          "the kill leaves three journal rows in intent", env.db("SELECT id, workload, phase FROM journal"))
    return killed, env.write("other.yaml", FN.format(name="other"))


def resolutions(env):
    return [(w, p, (json.loads(d).get("resolution") or {}))
            for w, p, d in env.db("SELECT workload, phase, detail_json FROM journal WHERE op = 'apply'"
                                  " AND workload != 'other' ORDER BY id")]


def landed(ck):
    fake = Fake()
    env = Env(fake)
    killed, other = crash(ck, fake, env, reset=False)
    ck.ok(wait_for(lambda: len(fake.state()["lambda"]) == 3, 10),
          "the held creates land after the kill", list(fake.state()["lambda"]))
    rc, out, err = env.run("apply", "--target", "aws:us-east-1", other, timeout=60)
    ck.ok(rc == 0, "an apply of another workload succeeds", (rc, out, err))
    res = resolutions(env)
    ck.ok(len(res) == 3 and all(p == "failed" and r.get("outcome") == "adopted" and "has the deployment" in
                                r.get("reason", "") for _, p, r in res),
          "it closes the three rows as adopted, with the reason", res)
    ck.ok("adopted" in err and "journal row" in err, "and says so", err)
    ck.ok(sorted(s for (s,) in env.db("SELECT state FROM deployments WHERE workload != 'other'"))
          == ["failed"] * 3, "the interrupted deployments are kept as failed",
          env.db("SELECT workload, state FROM deployments"))
    rc, out, err = env.run("status")
    ck.ok("UNRESOLVED" not in out and "interrupted" not in out, "status shows no unresolved row", out)
    rc, out, err = env.run("destroy", "--all", timeout=60)
    ck.ok(rc == 0 and not fake.state()["lambda"], "destroy --all deletes all four functions",
          (rc, out, err, list(fake.state()["lambda"])))
    fake.close()
    env.close()


def never(ck):
    fake = Fake()
    env = Env(fake)
    killed, other = crash(ck, fake, env, reset=True)
    rc, out, err = env.run("apply", "--target", "aws:us-east-1", other, timeout=60)
    ck.ok(rc == 0 and err.count("stays unresolved until") == 3,
          "an apply right after the kill leaves the rows open and says until when", (rc, err))
    ck.ok(env.db("SELECT count(*) FROM journal WHERE phase = 'intent'") == [(3,)], "they are still open")
    time.sleep(max(0.0, killed + TIMEOUT_MS / 1000.0 + 1.0 - time.time()))
    ck.ok(not fake.state()["lambda"].keys() - {"us-east-1|rec-other"}, "the dropped creates made nothing",
          list(fake.state()["lambda"]))
    rc, out, err = env.run("apply", "--target", "aws:us-east-1", other, timeout=60)
    res = resolutions(env)
    ck.ok(rc == 0 and len(res) == 3 and all(p == "failed" and r.get("outcome") == "failed"
                                            and "nothing was created" in r.get("reason", "")
                                            for _, p, r in res),
          "after the window the next apply closes them as failed: nothing was created", (res, err))
    ck.ok(env.db("SELECT workload FROM deployments") == [("other",)],
          "and removes the interrupted deployments", env.db("SELECT workload, state FROM deployments"))
    rc, out, err = env.run("destroy", "--all")
    ck.ok(rc == 0 and not fake.state()["lambda"], "destroy --all leaves nothing", (rc, err))
    fake.close()
    env.close()


if __name__ == "__main__":
    c = Checker("aws crash: journal rows closed by the next apply")
    landed(c)
    never(c)
    c.done()
