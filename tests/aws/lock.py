#!/usr/bin/python3
"""The state lock (issue 9, item 3): apply and destroy hold it while they
run.

  - while an apply holds it (its CreateFunction held 3 s by the fake),
    `destroy --all` fails at once by default and after --lock-timeout
    otherwise, with exit 5 and a message naming the holder: its pid, host,
    verb and since when; a malformed --lock-timeout is a usage error;
  - `status` (read-only, never waits) shows the apply's open journal row as
    in progress, with the holder's pid, and does not count it as drift;
  - a destroy --lock-timeout long enough waits for the apply and succeeds;
  - a holder killed with SIGKILL never blocks: the next destroy takes the
    lock at once, says that the previous holder died with it, and cleans up
    what it left.
Today's main had no lock: the destroy ran beside the apply."""
import os
import re
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from awstest import Checker, Env, Fake, ops, wait_for  # noqa: E402

FN = """apiVersion: fedbroker.dev/v1
kind: Function
metadata: {name: held, tenant: lk}
spec:
  runtime: python3.12
  handler: app.handler
  code: {s3: {bucket: lk-code, key: held.zip}}
"""


def held_apply(fake, env, spec, ms):
    """Starts an apply whose CreateFunction the fake holds for ms; returns
    once the request is at the fake (so the apply holds the lock)."""
    fake.faults([{"count": 1, "delay_ms": ms, "service": "lambda", "operation": "CreateFunction"}])
    mark = fake.seq()
    p = env.popen("apply", "--target", "aws:us-east-1", spec)
    wait_for(lambda: "GetFunction" in ops(fake.log(mark)), 30)
    time.sleep(0.3)  # GetFunction answered: CreateFunction is being held
    return p


def main():
    ck = Checker("state lock")
    fake = Fake()
    env = Env(fake)
    env.write_config(env.drv_settings, timeout_ms=4000)
    spec = env.write("held.yaml", FN)

    rc, out, err = env.run("destroy", "--all", "--lock-timeout", "soon")
    ck.ok(rc == 64 and "--lock-timeout" in err and "soon" in err,
          "a malformed --lock-timeout is a usage error", (rc, err))

    p = held_apply(fake, env, spec, 3000)
    t0 = time.time()
    rc, out, err = env.run("destroy", "--all")
    took = time.time() - t0
    host = socket.gethostname()
    ck.ok(rc == 5 and took < 3.0, "by default a second destroy fails at once with exit 5",
          (rc, took, err))
    ck.ok(re.search(rf"locked by pid {p.pid} on {re.escape(host)} \(fedbroker apply since "
                    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)", err) and "--lock-timeout" in err,
          "the message names the holder (pid, host, verb, since) and --lock-timeout", err)
    t0 = time.time()
    rc, out, err = env.run("destroy", "--all", "--lock-timeout", "700ms")
    took = time.time() - t0
    ck.ok(rc == 5 and 0.6 <= took < 4.0 and "waited 700 ms" in err,
          "with --lock-timeout 700ms it waits that long, then fails with exit 5", (rc, took, err))

    rc, out, err = env.run("status")
    ck.ok(rc != 4 and re.search(rf"apply\s+lk/held\s+aws:us-east-1\s.*in progress \(pid {p.pid}\)", out),
          "status shows the apply's journal row in progress, not as drift", (rc, out, err))

    rc, out, err = env.run("destroy", "--all", "--lock-timeout", "20s")
    p.communicate(timeout=30)
    ck.ok(p.returncode == 0 and rc == 0 and "destroyed" in out and not fake.state()["lambda"],
          "a destroy with --lock-timeout 20s waits for the apply, then deletes the function",
          (p.returncode, rc, out, err))

    # a holder killed with SIGKILL does not block the next one
    p = held_apply(fake, env, spec, 1500)
    p.send_signal(signal.SIGKILL)
    p.wait()
    t0 = time.time()
    rc, out, err = env.run("destroy", "--all")
    ck.ok(rc == 0 and f"pid {p.pid}" in err and "ended without releasing it" in err,
          "after a kill -9 the next destroy takes the lock at once and says the holder died",
          (rc, time.time() - t0, out, err))
    time.sleep(max(0.0, 1.6 - (time.time() - t0)))
    ck.ok(not fake.state()["lambda"], "and deletes what the killed apply created",
          list(fake.state()["lambda"]))
    ck.ok(not env.db("SELECT * FROM deployments")
          and env.db("SELECT count(*) FROM journal WHERE phase = 'intent'") == [(0,)],
          "the store is empty, no journal row open", env.db("SELECT * FROM journal"))
    rc, out, err = env.run("destroy", "--all")
    ck.ok(rc == 0 and "ended without releasing" not in err,
          "a lock released normally is not reported as a dead holder", err)
    fake.close()
    env.close()
    ck.done()


if __name__ == "__main__":
    main()
