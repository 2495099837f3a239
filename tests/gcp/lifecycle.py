#!/usr/bin/python3
"""The gcp driver's life cycle against tests/fakes/fake_gcp.py (strict: every
request checked against Google's discovery documents, unknown and
output-only fields refused, every token verified), through the real CLI:

- apply of a public Container (Cloud Run), a private image Function with a
  schedule and a queue trigger (Cloud Run + Cloud Scheduler + Pub/Sub push),
  a public source Function reading a Secret Manager secret (Cloud Functions:
  zip uploaded through generateUploadUrl), an event Function (queue ->
  eventTrigger); what the fake holds is what the spec says (read back through
  the API as an admin): images, scaling, ingress, labels, the invoker
  policies (allUsers only where public; the invoker account where triggers
  call a private service), the job's cron, time zone and OIDC identity, the
  push endpoint = the service's URL, secretAccessor for the runtime account on
  exactly the named secret;
- every created id recorded; status ready with no drift;
- apply again: nothing but reads;
- a changed spec: PATCH with exactly the changed members in the update
  mask; the source function is uploaded again only when its code changed;
  public -> private removes allUsers; a dropped schedule deletes its job;
- destroy --all: the fake holds nothing of ours (the topic we created goes,
  the topic we did not create stays), the store is empty, discover finds
  nothing managed."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gcptest import (INVOKER, PROJECT, REGION, RUNNER, Checker, Env, Fake, members, methods,  # noqa: E402
                     rejected, skip_unless_built)

skip_unless_built()
ck = Checker("gcp life cycle")
fake = Fake(__import__("tempfile").mkdtemp(prefix="fb-gcp-fake-"))
env = Env(fake)
os.makedirs(env.path("src"))
env.write("src/main.py", "def handler(request):\n    return 'ok'\n")
os.makedirs(env.path("ev"))
env.write("ev/main.py", "def on_event(event):\n    pass\n")
# a secret the function reads, and one it does not name (must not be granted)
for sid in ("db-password", "other-secret"):
    st, doc = fake.api("POST", "/secretmanager/v1/projects/%s/secrets?secretId=%s" % (PROJECT, sid),
                       {"replication": {"automatic": {}}})
    ck.ok(st == 200, "secret %s created out of band" % sid, doc)
# a topic that exists already: used, never deleted
st, doc = fake.api("PUT", "/pubsub/v1/projects/%s/topics/shared-events" % PROJECT,
                   {"name": "projects/%s/topics/shared-events" % PROJECT})
ck.ok(st == 200, "a pre-existing topic", doc)

SPEC = """apiVersion: fedbroker.dev/v1
kind: Container
metadata: {{name: web, tenant: shop, labels: {{team: storefront}}}}
spec:
  image: europe-docker.pkg.dev/p/r/web:{tag}
  ports: [{{port: 8080, protocol: http, public: {public}}}]
  env: {{MODE: {mode}}}
  resources: {{cpu: "1", memory: 512Mi}}
  scaling: {{minInstances: 1, maxInstances: 4}}
---
apiVersion: fedbroker.dev/v1
kind: Function
metadata: {{name: report, tenant: shop}}
spec:
  image: europe-docker.pkg.dev/p/r/report:1
  triggers:
{triggers}
"""
# source Functions go to Cloud Functions (--service cloud-functions: with a
# bare --target the broker takes the provider's first Function offer,
# Cloud Run, whatever the offer accepts)
FN_SPEC = """apiVersion: fedbroker.dev/v1
kind: Function
metadata: {{name: hello, tenant: shop}}
spec:
  runtime: python3.12
  handler: main.handler
  code: {{path: {src}}}
  secrets: [{{env: DB_PASSWORD, ref: "gcp-sm://db-password"}}]
  triggers: [{{http: {{path: /, public: true}}}}]
---
apiVersion: fedbroker.dev/v1
kind: Function
metadata: {{name: on-order, tenant: shop}}
spec:
  runtime: python3.12
  handler: main.on_event
  code: {{path: {ev}}}
  triggers: [{{queue: {{name: shared-events, batchSize: 1}}}}]
"""
TRIGGERS = ("    - schedule: {cron: \"0 3 * * *\", timezone: Europe/Paris}\n"
            "    - queue: {name: report-requests, batchSize: 1}\n"
            "    - schedule: {cron: \"*/15 * * * 1-5\"}\n")


def spec(tag="1", public="true", mode="fast", triggers=TRIGGERS):
    env.write("fn.yaml", FN_SPEC.format(src=env.path("src"), ev=env.path("ev")))
    return env.write("app.yaml", SPEC.format(tag=tag, public=public, mode=mode, triggers=triggers))


def apply(path):
    mark = fake.seq()
    rc, out, err = env.run("apply", "--target", "gcp:" + REGION, path)
    if rc == 0:
        rc2, out2, err2 = env.run("apply", "--target", "gcp:" + REGION, "--service", "cloud-functions",
                                  env.path("fn.yaml"))
        rc, out, err = rc2, out + out2, err + err2
    return rc, out, err, fake.log(mark)


# ---- create ---------------------------------------------------------------------------------------
rc, out, err, log = apply(spec())
ck.ok(rc == 0, "apply creates the four workloads", (rc, out, err))
ck.ok(not rejected(log, allow={("run.projects.locations.services.get", 404),
                               ("cloudfunctions.projects.locations.functions.get", 404),
                               ("cloudscheduler.projects.locations.jobs.get", 404),
                               ("pubsub.projects.subscriptions.get", 404),
                               ("pubsub.projects.topics.get", 404)}),
      "the fake refused nothing (discovery checks, strict fields, tokens)", rejected(log))
ck.ok([e for e in log if e.get("notes") or e.get("output_only")] == [], "no output-only field, no lenient notes")
svcs, fns = fake.services(), fake.functions()
web, report = svcs.get("web"), svcs.get("report")
ck.ok(web and report and set(fns) == {"hello", "on-order"}, "two Cloud Run services and two functions",
      (list(svcs), list(fns)))
c0 = web["template"]["containers"][0]
ck.ok(c0["image"] == "europe-docker.pkg.dev/p/r/web:1" and c0["env"] == [{"name": "MODE", "value": "fast"}]
      and c0["resources"]["limits"] == {"cpu": "1", "memory": "512Mi"} and c0["resources"]["cpuIdle"] is False
      and web["template"]["scaling"] == {"minInstanceCount": 1, "maxInstanceCount": 4}
      and web["ingress"] == "INGRESS_TRAFFIC_ALL" and web["template"]["serviceAccount"] == RUNNER,
      "web: image, env, resources, instance-based billing, scaling, ingress, runtime account", web)
ck.ok(web["labels"].get("managed-by") == "fedbroker" and web["labels"].get("workload") == "web"
      and web["labels"].get("tenant") == "shop" and web["labels"].get("team") == "storefront",
      "web carries our labels and the user's", web["labels"])
ck.ok(web["terminalCondition"]["state"] == "CONDITION_SUCCEEDED", "web is ready")
ck.ok(members(fake.policy("run", web["name"]), "roles/run.invoker") == ["allUsers"], "web: allUsers may invoke")
ck.ok(members(fake.policy("run", report["name"]), "roles/run.invoker") == ["serviceAccount:" + INVOKER],
      "report (private, with triggers): only the invoker account may invoke",
      fake.policy("run", report["name"]))
jobs = fake.jobs()
ck.ok(set(jobs) == {"report-s0", "report-s1"}, "one Scheduler job per schedule", list(jobs))
j0 = jobs.get("report-s0", {})
ck.ok(j0.get("schedule") == "0 3 * * *" and j0.get("timeZone") == "Europe/Paris"
      and j0.get("httpTarget", {}).get("uri") == report["uri"]
      and j0.get("httpTarget", {}).get("oidcToken") == {"serviceAccountEmail": INVOKER, "audience": report["uri"]}
      and j0.get("description") == "fedbroker shop/report",
      "the job calls the service's URL with the invoker's OIDC token, the spec's cron and zone", j0)
ck.ok(jobs.get("report-s1", {}).get("timeZone") == "UTC", "the default time zone is UTC")
subs, topics = fake.subscriptions(), fake.topics()
sub = subs.get("report-q0", {})
ck.ok(sub.get("topic") == "projects/%s/topics/report-requests" % PROJECT
      and sub.get("pushConfig", {}).get("pushEndpoint") == report["uri"]
      and sub.get("pushConfig", {}).get("oidcToken") == {"serviceAccountEmail": INVOKER, "audience": report["uri"]},
      "a push subscription to the service with the invoker's OIDC token", sub)
ck.ok(topics.get("report-requests", {}).get("labels", {}).get("managed-by") == "fedbroker",
      "the missing topic was created with our labels", topics.get("report-requests"))
hello, onorder = fns.get("hello", {}), fns.get("on-order", {})
ck.ok(hello.get("state") == "ACTIVE" and hello["buildConfig"]["runtime"] == "python312"
      and hello["buildConfig"]["entryPoint"] == "handler"
      and hello["buildConfig"]["source"]["storageSource"]["bucket"].startswith("gcf-v2-uploads-")
      and hello["serviceConfig"]["secretEnvironmentVariables"] == [
          {"key": "DB_PASSWORD", "projectId": PROJECT, "secret": "db-password", "version": "latest"}],
      "hello: built from the uploaded zip, reading its secret", hello)
up = [u for u in fake.state()["uploads"].values()] if isinstance(fake.state().get("uploads"), dict) else []
ck.ok(any(sorted(u.get("names") or []) == ["main.py"] for u in up), "the upload is a zip holding main.py",
      [u.get("names") for u in up])
ck.ok(members(fake.policy("run", hello["serviceConfig"]["service"]), "roles/run.invoker") == ["allUsers"],
      "hello is public through its Cloud Run service")
ck.ok(onorder.get("eventTrigger", {}).get("pubsubTopic") == "projects/%s/topics/shared-events" % PROJECT
      and onorder["eventTrigger"].get("serviceAccountEmail") == INVOKER, "on-order consumes its topic", onorder)
acc = "roles/secretmanager.secretAccessor"
ck.ok(members(fake.policy("secretmanager", "projects/%s/secrets/db-password" % PROJECT), acc) ==
      ["serviceAccount:" + RUNNER] and members(fake.policy("secretmanager", "projects/%s/secrets/other-secret"
                                                            % PROJECT), acc) == [],
      "secretAccessor for the runtime account on exactly the named secret")
rows = sorted(r[0] for r in env.db("SELECT type FROM resources"))
ck.ok(rows == sorted(["run-service", "run-service", "cloud-function", "cloud-function", "scheduler-job",
                      "scheduler-job", "pubsub-subscription", "pubsub-topic"]),
      "every created id is in the store (the pre-existing topic is not ours)", rows)
ops = [e for e in log if e.get("method_id", "").endswith("operations.get")]
ck.ok(ops, "the operations were polled")
rc, out, err = env.run("status", "--format", "json")
st = json.loads(out) if rc == 0 else []
ck.ok(rc == 0 and len(st) == 4 and all(d["status"] == "ready" and d["drift"] == [] for d in st),
      "status: all four ready, no drift", (rc, out, err))

# ---- apply again: reads only --------------------------------------------------------------------------
rc, out, err, log = apply(spec())
writes = [e for e in log if e["method"] not in ("GET", "HEAD") and e.get("path") != "/token"]
ck.ok(rc == 0 and writes == [], "apply again sends no write", [(e["method"], e.get("method_id")) for e in writes])

# ---- changes ------------------------------------------------------------------------------------------
env.write("src/main.py", "def handler(request):\n    return 'ok, v2'\n")
one_schedule = ("    - schedule: {cron: \"0 4 * * *\", timezone: Europe/Paris}\n"
                "    - queue: {name: report-requests, batchSize: 1}\n")
rc, out, err, log = apply(spec(tag="2", public="false", mode="slow", triggers=one_schedule))
ck.ok(rc == 0, "apply of the changed spec", (rc, out, err))
patches = [(e["path"].rsplit("/", 1)[1], e["query"]) for e in log if e["method"] == "PATCH"]
web_patch = [q for p, q in patches if p == "web"]
ck.ok(web_patch and "updateMask=annotations%2Cingress%2Clabels%2Ctemplate" in web_patch[0].replace(",", "%2C"),
      "web: PATCH with the changed members only (annotations, ingress, labels, template)", patches)
svcs = fake.services()
c0 = svcs["web"]["template"]["containers"][0]
ck.ok(c0["image"].endswith("web:2") and c0["env"] == [{"name": "MODE", "value": "slow"}]
      and svcs["web"]["ingress"] == "INGRESS_TRAFFIC_INTERNAL_ONLY", "web updated in place")
ck.ok(members(fake.policy("run", svcs["web"]["name"]), "roles/run.invoker") == [],
      "web is private now: allUsers removed")
jobs = fake.jobs()
ck.ok(set(jobs) == {"report-s0"} and jobs["report-s0"]["schedule"] == "0 4 * * *",
      "the dropped schedule's job is deleted, the other updated", {k: v.get("schedule") for k, v in jobs.items()})
uploads = [e for e in log if e.get("method_id", "").endswith("generateUploadUrl")]
ck.ok(len(uploads) == 1, "only the function whose code changed was uploaded again", len(uploads))
hello = fake.functions()["hello"]
ck.ok(hello["labels"]["source-sha256"] != fns["hello"]["labels"]["source-sha256"], "hello runs the new source")
rc, out, err = env.run("status", "--format", "json")
ck.ok(rc == 0 and all(d["drift"] == [] for d in json.loads(out)), "no drift after the update", out)

# ---- destroy ---------------------------------------------------------------------------------------------
mark = fake.seq()
rc, out, err = env.run("destroy", "--all")
ck.ok(rc == 0, "destroy --all", (rc, out, err))
ck.ok(fake.services() == {} and fake.functions() == {} and fake.jobs() == {} and fake.subscriptions() == {},
      "no service, function, job or subscription is left",
      (list(fake.services()), list(fake.functions()), list(fake.jobs()), list(fake.subscriptions())))
ck.ok(set(fake.topics()) == {"shared-events"}, "the topic we created is gone, the one we found stays",
      list(fake.topics()))
ck.ok(env.db("SELECT * FROM resources") == [] and env.db("SELECT * FROM deployments") == [],
      "the store holds nothing")
rc, out, err = env.run("discover", "--provider", "gcp", "--format", "json")
ck.ok(rc == 0 and [r for r in json.loads(out) if r.get("managed")] == [], "discover finds nothing managed",
      (rc, out, err))
rc, out, err = env.run("destroy", "--all")
ck.ok(rc == 0, "destroy --all again is a no-op", (rc, out, err))
fake.close()
env.close()
ck.done()
