#!/usr/bin/python3
"""Two processes on one state (issue 9, item 3).

  fresh home   3 `fedbroker plan` started at once on a new FEDBROKER_HOME,
               10 rounds, all succeed: the migration runs in one BEGIN IMMEDIATE
               transaction with the version check inside, so the one that
               waited finds the schema there (today's main failed with
               `table workloads already exists`);
  apply || destroy --all, 12 trials with a random offset: both wait for
               the state lock (--lock-timeout) and exit 0, and nothing is
               orphaned: every function the fake holds is tracked by the
               store (discover lists nothing untracked) and no deployment is
               left `creating` (today's main orphaned functions in some
               trials, both processes exiting 0)."""
import json
import os
import random
import subprocess
import sys
import tempfile
import shutil
import sqlite3
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from awstest import DRIVER_PATH, EXAMPLES, FEDBROKER, Checker, Env, Fake  # noqa: E402

FN = """apiVersion: fedbroker.dev/v1
kind: Function
metadata: {{name: c{i}, tenant: conc}}
spec:
  runtime: python3.12
  handler: app.handler
  code: {{s3: {{bucket: conc-code, key: c{i}.zip}}}}
"""
TRIALS = 12
FUNCTIONS = 32


def fresh_home(ck):
    """Verbs that open the store, started at once on a new home."""
    fails = []
    for trial in range(10):
        home = tempfile.mkdtemp(prefix="fb-fresh-")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"FEDBROKER_HOME": home, "FEDBROKER_DRIVER_PATH": DRIVER_PATH, "HOME": home})
        # the same verb thrice reaches the store at the same moment
        verbs = [["plan", os.path.join(EXAMPLES, "function.yaml")]] * 3
        ps = [subprocess.Popen([FEDBROKER, *v], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
              for v in verbs]
        for v, p in zip(verbs, ps):
            out, err = p.communicate(timeout=60)
            if p.returncode != 0:
                fails.append((trial, v[0], p.returncode, err.decode()[-400:]))
        con = sqlite3.connect(os.path.join(home, "state.db"))
        version = con.execute("PRAGMA user_version").fetchone()[0]
        con.close()
        if version == 0:
            fails.append((trial, "schema version", version))
        shutil.rmtree(home, ignore_errors=True)
    ck.ok(not fails, "3 processes at once on a fresh home all succeed (10 rounds)", fails)


def untracked(env):
    rc, out, err = env.run("discover", "--provider", "aws", "--format", "json")
    try:
        return [r["id"] for r in json.loads(out) if r.get("managed") and not r.get("tracked")]
    except ValueError:
        return ["discover failed", rc, err]


def apply_destroy_race(ck):
    fake = Fake()
    fake.latency(20)  # a few requests per function: windows wide enough to race in
    env = Env(fake)
    spec = env.write("fns.yaml", "---\n".join(FN.format(i=i) for i in range(FUNCTIONS)))
    rng = random.Random(9)
    bad = []
    for trial in range(TRIALS):
        a = env.popen("apply", "--parallelism", "16", "--lock-timeout", "30s", "--target",
                      "aws:us-east-1", spec)
        # destroy starts at a random point of apply's run (which takes
        # about 0.3 s here); without the lock about one trial in ten
        # orphaned functions
        time.sleep(rng.uniform(0.1, 0.3))
        d = env.popen("destroy", "--all", "--lock-timeout", "30s")
        aout, aerr = a.communicate(timeout=60)
        dout, derr = d.communicate(timeout=60)
        orphans = untracked(env)
        creating = env.db("SELECT workload FROM deployments WHERE state != 'applied'")
        if a.returncode or d.returncode or orphans or creating:
            bad.append({"trial": trial, "apply": a.returncode, "destroy": d.returncode,
                        "untracked": orphans, "not applied": creating,
                        "stderr": (aerr.decode()[-300:], derr.decode()[-300:])})
        rc, out, err = env.run("destroy", "--all")
        if rc or fake.state()["lambda"]:
            bad.append({"trial": trial, "cleanup": rc, "left": list(fake.state()["lambda"]), "err": err})
    ck.ok(not bad, f"apply and destroy --all at once, {TRIALS} trials: both succeed, nothing orphaned",
          bad)
    ck.ok(env.db("SELECT count(*) FROM journal WHERE phase = 'intent'") == [(0,)],
          "no journal row is left open")
    fake.close()
    env.close()


if __name__ == "__main__":
    c = Checker("two processes on one state")
    fresh_home(c)
    apply_destroy_race(c)
    c.done()
