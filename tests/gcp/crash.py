#!/usr/bin/python3
"""kill -9 of `fedbroker apply` against the gcp driver, then zero duplicates
and zero orphans:

1. between create and record: the fake holds three services.create
   requests 3 s before it creates the services; fedbroker (10 services,
   parallelism 3) is killed after 1 s, so the three services appear in the
   fake after the kill and no id of theirs is stored (three deployments
   `creating`, three journal rows `intent`). Then
     a. `destroy --all` right away: looks each one up by name, waits out
        the window in which the dead run's requests may land
        (http.timeout_ms), deletes what appeared: the fake holds no service,
        discover lists nothing untracked, the journal rows are closed;
     b. `apply` right away: adopts the three (no second create of any
        service), all 10 exist once; `destroy --all` empties the fake.
2. during operation polling: the fake holds an operations.get for 60 s;
   the service's id is already stored (recorded right after the create
   answered), the journal row is an open intent. Then
     a. `destroy --all` deletes the service;
     b. `apply` resumes: no second create, it waits for the running
        operation (operations.list) and finishes; `destroy --all` empties
        the fake."""
import json
import os
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gcptest import REGION, Checker, Env, Fake, skip_unless_built, untracked, wait_for  # noqa: E402

skip_unless_built()
ck = Checker("gcp crash")
fake = Fake(tempfile.mkdtemp(prefix="fb-gcp-fake-"))
SVC = """apiVersion: fedbroker.dev/v1
kind: Container
metadata: {{name: s{i:02d}, tenant: crash}}
spec:
  image: europe-docker.pkg.dev/p/r/app:1
"""
RUN = "run.projects.locations."
DELAY_MS = 3000
TIMEOUT_MS = 5000


def creates():
    return [e for e in fake.log() if e.get("method_id") == RUN + "services.create"]


def kill_between_create_and_record():
    fake.reset()
    env = Env(fake)
    env.write_config(env.drv_settings, timeout_ms=TIMEOUT_MS)
    spec = env.write("svcs.yaml", "---\n".join(SVC.format(i=i) for i in range(10)))
    fake.faults([{"count": 3, "delay_ms": DELAY_MS, "method": RUN + "services.create"}])
    p = env.popen("apply", "--parallelism", "3", "--target", "gcp:" + REGION, spec)
    ck.ok(wait_for(lambda: len(creates()) >= 3, 30), "three creates are held by the fake")
    held = time.time()  # their journal intents were written just before
    time.sleep(0.5)
    p.send_signal(signal.SIGKILL)
    p.wait()
    killed = time.time()
    ck.ok(p.returncode == -signal.SIGKILL, "fedbroker was killed mid-apply", p.returncode)
    rows = env.db("SELECT workload, state FROM deployments ORDER BY workload")
    ck.ok(len(rows) == 3 and all(s == "creating" for _, s in rows), "three deployments are left `creating`", rows)
    ck.ok(env.db("SELECT * FROM resources") == [], "with no id stored", env.db("SELECT * FROM resources"))
    ck.ok(env.db("SELECT count(*) FROM journal WHERE phase = 'intent'") == [(3,)], "three journal rows `intent`",
          env.db("SELECT op, workload, phase FROM journal"))
    ck.ok(fake.services() == {}, "no service exists yet: they appear after the kill", list(fake.services()))
    return env, spec, held


def destroy_right_away():
    env, spec, held = kill_between_create_and_record()
    rc, out, err = env.run("destroy", "--all", timeout=120)
    ck.ok(rc == 0, "1a. destroy --all succeeds", (rc, out, err))
    ck.ok(time.time() >= held + TIMEOUT_MS / 1000.0 - 0.5, "1a. destroy waited out the dead run's window "
          "(http.timeout_ms after the creates were sent)", time.time() - held)
    # the held creates landed during destroy's wait (DELAY_MS < TIMEOUT_MS)
    time.sleep(max(0.0, held + DELAY_MS / 1000.0 + 0.5 - time.time()))
    ck.ok(fake.services() == {}, "1a. the fake holds no service (what landed was deleted)", list(fake.services()))
    ck.ok(len([e for e in fake.log() if e.get("method_id") == RUN + "services.delete"]) == 3,
          "1a. the three services that appeared were deleted")
    ck.ok(not untracked(env), "1a. discover lists nothing untracked", untracked(env))
    ck.ok(env.db("SELECT * FROM deployments") == [], "1a. the store has no deployment left")
    phases = env.db("SELECT phase FROM journal WHERE op = 'apply'")
    ck.ok(phases and all(p != "intent" for (p,) in phases), "1a. the interrupted journal rows are closed", phases)
    env.close()


def apply_right_away():
    env, spec, held = kill_between_create_and_record()
    mark = fake.seq()
    rc, out, err = env.run("apply", "--parallelism", "3", "--target", "gcp:" + REGION, spec, timeout=120)
    ck.ok(rc == 0, "1b. apply again succeeds", (rc, out, err))
    time.sleep(max(0.0, held + DELAY_MS / 1000.0 + 0.5 - time.time()))
    ck.ok(len(fake.services()) == 10, "1b. the fake holds the 10 services, each once", list(fake.services()))
    made = [e["query"] for e in fake.log() if e.get("method_id") == RUN + "services.create" and e.get("status") == 200]
    ck.ok(len(made) == 10 and len(set(made)) == 10, "1b. every service was created exactly once (the dead run's "
          "three and the new run's seven; a second attempt met ALREADY_EXISTS)", sorted(made))
    ck.ok(not untracked(env), "1b. every one is tracked", untracked(env))
    rc, out, err = env.run("destroy", "--all", timeout=120)
    ck.ok(rc == 0 and fake.services() == {}, "1b. destroy --all empties the fake", (rc, err))
    env.close()


def kill_during_polling(then):
    fake.reset()
    env = Env(fake)
    spec = env.write("one.yaml", SVC.format(i=99))
    fake.faults([{"count": 1, "delay_ms": 60000, "method": RUN + "operations.get"}])
    p = env.popen("apply", "--target", "gcp:" + REGION, spec)
    held = wait_for(lambda: any(e.get("method_id") == RUN + "operations.get" for e in fake.log()), 30)
    ck.ok(held, "2%s. the fake holds the operation poll" % then)
    time.sleep(0.3)
    p.send_signal(signal.SIGKILL)
    p.wait()
    fake.clear_faults()
    ck.ok(list(fake.services()) == ["s99"], "2%s. the service exists" % then)
    rows = env.db("SELECT type, cloud_id FROM resources")
    ck.ok(rows == [("run-service", "projects/fb-test-project/locations/%s/services/s99" % REGION)],
          "2%s. its id is already stored (recorded before polling)" % then, rows)
    ck.ok(env.db("SELECT op, phase FROM journal") == [("apply", "intent")], "2%s. the journal row is an open intent"
          % then, env.db("SELECT op, phase FROM journal"))
    mark = fake.seq()
    if then == "b":
        rc, out, err = env.run("apply", "--target", "gcp:" + REGION, spec, timeout=120)
        log = fake.log(mark)
        ck.ok(rc == 0 and not any(e.get("method_id") == RUN + "services.create" for e in log),
              "2b. apply again resumes without a second create", (rc, err, [e.get("method_id") for e in log]))
        ck.ok(any(e.get("method_id") == RUN + "operations.list" for e in log),
              "2b. it found the running operation and waited for it")
        rc, out, err = env.run("status", "--format", "json")
        ck.ok(rc == 0 and json.loads(out)[0]["status"] == "ready", "2b. the service is ready", out)
    rc, out, err = env.run("destroy", "--all", timeout=120)
    ck.ok(rc == 0 and fake.services() == {}, "2%s. destroy --all deletes it" % then, (rc, err))
    ck.ok(env.db("SELECT * FROM resources") == [], "2%s. and the store forgets it" % then)
    env.close()


destroy_right_away()
apply_right_away()
kill_during_polling("a")
kill_during_polling("b")
fake.close()
ck.done()
