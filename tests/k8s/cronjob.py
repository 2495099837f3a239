#!/usr/bin/python3
"""Scheduled workloads on the k8s driver: a Function with only schedule
triggers becomes one CronJob (batch/v1) per trigger, validated by
fake_k8s against the OpenAPI and its cron schedule check: the trigger's
cron and timeZone, concurrencyPolicy Forbid, a Job running the image with
its command to completion (restartPolicy OnFailure), the workload's
ServiceAccount without a token; no Deployment. status ready, render shows
the same CronJobs, destroy removes them and the namespace."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import k8sdrv  # noqa: E402
from k8sdrv import Checker, Env, Fake, ours  # noqa: E402

k8sdrv.skip_unless_built()
ck = Checker("k8s cronjob")
fake = Fake()
env = Env(fake.kubeconfig("kc-admin"))
spec = env.write("cron.yaml", """apiVersion: fedbroker.dev/v1
kind: Function
metadata: {name: nightly, tenant: ops}
spec:
  image: ghcr.io/acme/report:3
  command: [/bin/report]
  args: [--full]
  env: {LEVEL: info}
  resources: {memory: 128Mi}
  triggers: [{schedule: {cron: "0 3 * * *", timezone: Europe/Berlin}}, {schedule: {cron: "*/15 * * * 1-5"}}]
""")
seq = fake.last_seq()
rc, out, err = env.run("apply", spec, "--target", "k8s")
ck.ok(rc == 0, "apply a schedule-only Function", err + out)
ck.ok(not [e for e in fake.log(seq) if e["status"] >= 400 and e["method"] != "GET"], "the fake refused nothing")
cj = {o["metadata"]["name"]: o for o in fake.objects() if o["kind"] == "CronJob"}
ck.ok(sorted(cj) == ["nightly-cron-0", "nightly-cron-1"], "one CronJob per schedule trigger", sorted(cj))
ck.ok(not [o for o in fake.objects() if o["kind"] in ("Deployment", "Service") and o["metadata"].get("namespace") ==
           "fb-ops"], "no Deployment or Service")
c0 = cj.get("nightly-cron-0", {}).get("spec", {})
ck.ok(c0.get("schedule") == "0 3 * * *" and c0.get("timeZone") == "Europe/Berlin" and
      c0.get("concurrencyPolicy") == "Forbid", "cron, time zone, Forbid", c0)
ck.ok("timeZone" not in cj.get("nightly-cron-1", {}).get("spec", {}) or
      cj["nightly-cron-1"]["spec"]["timeZone"] == "UTC", "no time zone given: the spec's default (UTC)",
      cj.get("nightly-cron-1", {}).get("spec"))
pod = c0.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec", {})
c = (pod.get("containers") or [{}])[0]
ck.ok(pod.get("restartPolicy") == "OnFailure" and c.get("image") == "ghcr.io/acme/report:3" and
      c.get("command") == ["/bin/report"] and c.get("args") == ["--full"] and
      {"name": "LEVEL", "value": "info"} in c.get("env", []), "the Job runs the image with its command", pod)
ck.ok(pod.get("serviceAccountName") == "nightly" and pod.get("automountServiceAccountToken") is False,
      "as the workload's account, no token", pod)
ck.ok("readinessProbe" not in c and "ports" not in c, "no probes, no ports", c)
rc, out, err = env.run("render", spec, "--target", "k8s")


def kinds_of(x):
    if isinstance(x, dict):
        return ([x["kind"]] if "kind" in x and "body" in x else []) + [k for v in x.values() for k in kinds_of(v)]
    if isinstance(x, list):
        return [k for v in x for k in kinds_of(v)]
    return []


kinds = sorted(kinds_of(json.loads(out or "[]")))
ck.ok(rc == 0 and kinds == ["CronJob", "CronJob"], "render shows the two CronJobs", out[:500] + err)
rc, out, err = env.run("status", "--format", "json")
ck.ok(rc == 0 and json.loads(out)[0]["status"] == "ready", "status ready", out + err)
r = fake.apply("/apis/batch/v1/namespaces/fb-ops/cronjobs/nightly-cron-0",
               {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly-cron-0"},
                "spec": {"schedule": "5 4 * * *"}}, manager="intruder", force=True)
rc, out, err = env.run("status", "--format", "json")
drift = json.loads(out or "[{}]")[0].get("drift", [])
ck.ok(rc == 4 and any(d["field"].endswith(".schedule") and d["live"] == "5 4 * * *" for d in drift),
      "an out-of-band schedule change is drift", out + err)
rc, out, err = env.run("destroy", "--all")
ck.ok(rc == 0 and not ours(fake, "fb-ops"), "destroy leaves nothing", err + str(ours(fake, "fb-ops")))
fake.close()
env.close()
ck.done()
