#!/usr/bin/python3
"""Knative Serving on the k8s driver, decided by API discovery, against
fake_k8s (its Knative Service validated against the Knative CRD schema and
the webhook's rules):

- with Knative served: an image Function on service knative becomes one
  Knative Service (scale to zero, concurrency target, min/max scale), its
  Ready condition waited for, its URL recorded as the endpoint; a revision
  that fails (Ready False) fails apply with the condition's message;
- without Knative (the cluster does not serve serving.knative.dev/v1): the
  same placement becomes a Deployment, Service and HPA with at least 1
  replica, and a note says why."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import k8sdrv  # noqa: E402
from k8sdrv import Checker, Env, Fake, ours  # noqa: E402

k8sdrv.skip_unless_built()
ck = Checker("k8s knative")
fake = Fake("--knative", "--knative-delay-ms", "100", "--rollout-delay-ms", "50")
env = Env(fake.kubeconfig("kc-admin"), knative=True)
FN = """apiVersion: fedbroker.dev/v1
kind: Function
metadata: {{name: {name}, tenant: fn}}
spec:
  image: ghcr.io/acme/{name}:1
  resources: {{memory: 256Mi}}
  scaling: {{minInstances: 0, maxInstances: 7, targetConcurrency: 20}}
  triggers: [{{http: {{path: /, public: true}}}}]
"""


def spec(name):
    return env.write(name + ".yaml", FN.format(name=name))


rc, out, err = env.run("apply", spec("thumbs"), "--target", "k8s:on-prem", "--service", "knative")
ck.ok(rc == 0, "apply on knative", err + out)
ks = [o for o in fake.objects() if o["kind"] == "Service" and o["apiVersion"].startswith("serving.knative.dev")]
ck.ok(len(ks) == 1 and ks[0]["metadata"]["name"] == "thumbs" and ks[0]["metadata"]["namespace"] == "fb-fn",
      "one Knative Service in fb-fn", [(o["metadata"]["name"]) for o in ks])
tmpl = ks[0]["spec"]["template"] if ks else {}
ann = tmpl.get("metadata", {}).get("annotations", {})
ck.ok(ann.get("autoscaling.knative.dev/min-scale") == "0" and ann.get("autoscaling.knative.dev/max-scale") == "7",
      "scale to zero, max 7", ann)
ck.ok(tmpl.get("spec", {}).get("containerConcurrency") == 20 and tmpl["spec"].get("serviceAccountName") == "thumbs",
      "containerConcurrency 20, the workload's account", tmpl.get("spec"))
ck.ok(not [o for o in fake.objects() if o["kind"] == "Deployment" and o["metadata"].get("namespace") == "fb-fn"],
      "no Deployment of ours")
url = (env.db("SELECT state_json FROM deployments WHERE workload='thumbs'") or [["{}"]])[0][0]
st = json.loads(url)
ck.ok(st.get("endpoints", {}).get("url", "").startswith("http") and "thumbs" in st["endpoints"]["url"],
      "the Knative URL recorded", st.get("endpoints"))
rc, out, err = env.run("status", "--format", "json")
ck.ok(rc == 0 and json.loads(out)[0]["status"] == "ready", "status ready", out + err)

fake.ctl("POST", "knative-status", {"target": "fb-fn/broken", "fail": True, "message": "image pull backoff"})
rc, out, err = env.run("apply", spec("broken"), "--target", "k8s:on-prem", "--service", "knative")
ck.ok(rc != 0 and "rollout of knative.Service fb-fn/broken failed" in err and "image pull backoff" in err,
      "a Knative Service whose Ready is False fails apply with its message", err)
rc, out, err = env.run("destroy", "--all")
ck.ok(rc == 0 and not ours(fake, "fb-fn"), "destroy", err)

# a cluster without Knative: the same placement falls back to a Deployment
fake.ctl("POST", "knative", {"enabled": False})
rc, out, err = env.run("apply", spec("resize"), "--target", "k8s:on-prem", "--service", "knative")
ck.ok(rc == 0, "apply on knative when the cluster has none", err + out)
ck.ok("does not serve serving.knative.dev/v1" in err and "at least 1 replica" in err, "a note says why", err)
objs = ours(fake, "fb-fn")
ck.ok(("Deployment", "fb-fn", "resize") in objs and ("HorizontalPodAutoscaler", "fb-fn", "resize") in objs,
      "a Deployment and an HPA instead", objs)
hpa = [o for o in fake.objects() if o["kind"] == "HorizontalPodAutoscaler" and o["metadata"]["name"] == "resize"]
ck.ok(hpa and hpa[0]["spec"]["minReplicas"] == 1 and hpa[0]["spec"]["maxReplicas"] == 7, "min 1, max 7",
      hpa[0]["spec"] if hpa else None)
rc, out, err = env.run("status", "--format", "json")
ck.ok(rc == 0 and json.loads(out)[0]["status"] == "ready", "status ready", out + err)
rc, out, err = env.run("destroy", "--all")
ck.ok(rc == 0 and not ours(fake, "fb-fn"), "destroy", err)
fake.close()
env.close()
ck.done()
