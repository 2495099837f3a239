#!/usr/bin/python3
"""kill -9 of `fedbroker apply` against the k8s driver, then zero orphans.
Every object is recorded before its server-side apply is sent (its name is
known in advance), so a crash at any point leaves nothing the store does
not know about:

1. ten workloads applied at parallelism 4, every Deployment PATCH held 1.5 s
   by the fake, fedbroker killed while they are held (the PATCHes land after
   the kill): `destroy --all` deletes everything that landed (the recorded
   ids, the names of what was not recorded yet), the cluster holds nothing
   of ours, discover finds nothing untracked, no journal intent stays open;
2. the same crash, then `apply` again: each object exists exactly once,
   all ready, then destroy."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import k8sdrv  # noqa: E402
from k8sdrv import Checker, Env, Fake, ours, untracked  # noqa: E402

k8sdrv.skip_unless_built()
ck = Checker("k8s crash")
fake = Fake("--rollout-delay-ms", "50")
env = Env(fake.kubeconfig("kc-admin"))
docs = []
for i in range(10):
    docs.append("""apiVersion: fedbroker.dev/v1
kind: Container
metadata: {name: w%d, tenant: crash}
spec:
  image: nginx:1.27
  ports: [{port: 8080, protocol: http, public: false}]
  resources: {cpu: 50m, memory: 64Mi}
  scaling: {minInstances: 1, maxInstances: 2}
""" % i)
spec = env.write("ten.yaml", "---\n".join(docs))


def held():
    return [e for e in fake.log() if e["method"] == "PATCH" and "/deployments/" in e["path"] and e.get("fault")]


def crash_run():
    fake.ctl("POST", "faults", {"count": 10, "delay_ms": 1500, "method": "PATCH", "path": "/deployments/"})
    seq = fake.last_seq()
    p = env.popen("apply", spec, "--target", "k8s", "--parallelism", "4")
    end = time.time() + 30
    while time.time() < end and not [e for e in fake.log(seq) if e["method"] == "PATCH" and "/deployments/" in e["path"]]:
        time.sleep(0.05)
    time.sleep(0.3)
    p.send_signal(signal.SIGKILL)
    p.wait()
    time.sleep(1.8)  # the held PATCHes land
    fake.ctl("DELETE", "faults")
    return p.returncode


rc = crash_run()
ck.ok(rc == -signal.SIGKILL, "fedbroker apply killed while Deployment PATCHes were held")
landed = [n for k, ns, n in ours(fake) if k == "Deployment"]
ck.ok(landed, "some Deployments landed after the kill", landed)
ck.ok(untracked(env) == [], "discover: everything of ours is known to the store (recorded before it was sent)",
      untracked(env))
rc, out, err = env.run("destroy", "--all")
ck.ok(rc == 0, "destroy --all after the crash", err + out)
ck.ok(ours(fake, "fb-crash") == [], "zero orphans in the cluster", ours(fake, "fb-crash"))
ck.ok(untracked(env) == [], "discover: nothing untracked", untracked(env))
ck.ok(env.db("SELECT count(*) FROM journal WHERE phase = 'intent'") == [(0,)], "no journal intent left open",
      env.db("SELECT op, workload, detail_json FROM journal WHERE phase = 'intent'"))
ck.ok(env.db("SELECT count(*) FROM deployments") == [(0,)], "no deployment left in the store")

rc = crash_run()
ck.ok(rc == -signal.SIGKILL, "killed again")
rc, out, err = env.run("apply", spec, "--target", "k8s", "--parallelism", "4")
ck.ok(rc == 0, "apply after the crash completes", err + out)
objs = ours(fake, "fb-crash")
deps = sorted(n for k, ns, n in objs if k == "Deployment")
ck.ok(deps == sorted("w%d" % i for i in range(10)), "each Deployment exactly once", deps)
ck.ok(len(objs) == len(set(objs)), "no duplicate object")
rc, out, err = env.run("destroy", "--all")
ck.ok(rc == 0 and ours(fake, "fb-crash") == [], "destroy leaves nothing", err)
fake.close()
env.close()
ck.done()
