#!/usr/bin/python3
"""`fedbroker apply SPEC --target gcp:europe-west1 --dry-run --format json`
prints the exact requests as a JSON array of {method, url, headers, body}:

- the token exchange is not among them (nothing is fetched; the fake sees
  no request at all) and every request carries Authorization: Bearer
  REDACTED; no key material, assertion or token appears anywhere;
- two runs are byte-identical;
- the requests are exactly render's documents (method, URL = endpoint +
  path, body), in order, each one a request the fake's discovery documents
  accept (checked by sending it with a real token after the dry run, for
  those that do not carry a placeholder);
- nothing is stored;
- without credentials the dry run is refused (exit 2) with the list of
  sources tried."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gcptest import TOP, Checker, Env, Fake, REGION, skip_unless_built  # noqa: E402

skip_unless_built()
EXAMPLES = os.path.join(TOP, "examples")
ck = Checker("gcp dry run")
fake = Fake(__import__("tempfile").mkdtemp(prefix="fb-gcp-fake-"))
env = Env(fake)
with open(fake.key_file) as f:
    KEY = json.load(f)["private_key"]
trig = env.write("report.yaml", """apiVersion: fedbroker.dev/v1
kind: Function
metadata: {name: report, tenant: ops}
spec:
  image: europe-docker.pkg.dev/p/r/report:1
  secrets: [{env: TOKEN, ref: "gcp-sm://api-token"}]
  triggers:
    - schedule: {cron: "0 3 * * *", timezone: Europe/Paris}
    - queue: {name: report-requests, batchSize: 1}
""")
ctr = env.write("web.yaml", """apiVersion: fedbroker.dev/v1
kind: Container
metadata: {name: web, tenant: shop}
spec:
  image: europe-docker.pkg.dev/p/r/web:1
  ports: [{port: 8080, protocol: http, public: true}]
  env: {MODE: fast}
  scaling: {minInstances: 1, maxInstances: 4}
""")
CASES = [("container", [ctr], []),
         ("image function with triggers", [trig], []),
         ("source function", [os.path.join(EXAMPLES, "function.yaml")], ["--service", "cloud-functions"])]


def dry(specs, extra, **env_over):
    return env.run("apply", "--dry-run", "--format", "json", "--target", "gcp:" + REGION, *extra, *specs,
                   env=env_over or None)


for what, specs, extra in CASES:
    rc1, a, e1 = dry(specs, extra)
    rc2, b, e2 = dry(specs, extra)
    ck.ok(rc1 == 0 and rc2 == 0, "%s: the dry run succeeds" % what, e1 + e2)
    ck.ok(a == b and a.strip(), "%s: two dry runs are byte-identical" % what)
    reqs = json.loads(a) if rc1 == 0 else []
    ck.ok(isinstance(reqs, list) and reqs and all(set(r) == {"method", "url", "headers", "body"} for r in reqs),
          "%s: a JSON array of {method, url, headers, body}" % what, reqs[:1])
    ck.ok(not any("/token" in r["url"] and "oauth2" in r["url"] for r in reqs)
          and not any(r["url"].endswith("/token") for r in reqs), "%s: no token exchange is shown" % what)
    ck.ok(all(r["headers"].get("Authorization") == "Bearer REDACTED" for r in reqs
              if "/__upload/" not in r["url"] and "storage.googleapis.com" not in r["url"]),
          "%s: Authorization: Bearer REDACTED on every API request" % what,
          [r["headers"].get("Authorization") for r in reqs])
    ck.ok("PRIVATE KEY" not in a + e1 and KEY[40:80] not in a + e1 and "ya29." not in a + e1,
          "%s: no key, assertion or token is printed" % what)
    rc, rout, rerr = env.run("render", "--target", "gcp:" + REGION, *extra, *specs)
    docs = [d for w in json.loads(rout) for d in w["documents"]] if rc == 0 else []
    api_reqs = [r for r in reqs if "storage.googleapis.com" not in r["url"] and ":generateUploadUrl" not in r["url"]]
    ck.ok(len(docs) == len(api_reqs)
          and all(r["method"] == d["method"] and r["url"] == "%s/%s/%s" % (fake.url, d["api"].split(".")[0], d["path"])
                  and json.loads(r["body"]) == d["body"] for r, d in zip(api_reqs, docs)),
          "%s: the requests are render's documents, in order" % what,
          ([(d["method"], d["path"]) for d in docs], [(r["method"], r["url"]) for r in api_reqs]))
    if what == "source function":
        ck.ok([r["method"] + " " + r["url"].rsplit("/", 1)[-1] for r in reqs[:2]] ==
              ["POST functions:generateUploadUrl", "PUT ${generateUploadUrl.uploadUrl}"],
              "source function: generateUploadUrl, then the PUT of the zip to the URL it answers",
              [(r["method"], r["url"]) for r in reqs[:3]])
        ck.ok(reqs[1]["headers"].get("Content-Type") == "application/zip" and "Authorization" not in reqs[1]["headers"],
              "the upload is sent as application/zip without Authorization", reqs[1]["headers"])
    if what == "image function with triggers":
        kinds = [(r["method"], r["url"].split("/v")[1].split("/", 1)[1] if "/v" in r["url"] else r["url"])
                 for r in reqs]
        ck.ok([k[0] for k in kinds] == ["POST", "POST", "POST", "PUT", "POST", "PUT"]
              and kinds[0][1].endswith("secrets/api-token:setIamPolicy") and "services?serviceId=report" in kinds[1][1]
              and kinds[2][1].endswith("services/report:setIamPolicy") and kinds[3][1].endswith("topics/report-requests")
              and kinds[4][1].endswith("jobs") and kinds[5][1].endswith("subscriptions/report-q0"),
              "secret grant, service, invoker policy, topic, then the triggers in the spec's order (Scheduler job, "
              "push subscription)", kinds)
ck.ok(fake.log() == [], "nothing was sent to the fake (no token exchange either)", fake.log()[:3])
ck.ok(not os.path.exists(os.path.join(env.home, "state.db")), "nothing was stored")

# the requests are ones Google accepts: send those without placeholders
rc, out, err = dry([ctr], [])
sent = []
for r in json.loads(out):
    path = r["url"][len(fake.url):]
    st, doc, _ = fake.call(r["method"], path, json.loads(r["body"]) if r["body"] else None, fake.admin)
    sent.append((r["method"], path, st, doc if st >= 300 else None))
ck.ok(all(s[2] == 200 for s in sent), "the container's requests, sent as printed, are accepted by the fake", sent)

rc, out, err = dry(CASES[0][1], [], GOOGLE_APPLICATION_CREDENTIALS="")
ck.ok(rc == 2 and "no Google credentials found" in err and "1. GOOGLE_APPLICATION_CREDENTIALS: not set" in err
      and "3. the metadata server" in err, "without credentials: exit 2 and every source tried", (rc, err))
# a real apply without credentials: validate refuses it before anything is
# sent or journaled
mark = len(fake.log())
rc, out, err = env.run("apply", "--target", "gcp:" + REGION, CASES[0][1][0], env={"GOOGLE_APPLICATION_CREDENTIALS": ""})
ck.ok(rc == 2 and "no Google credentials found" in err and fake.log()[mark:] == []
      and env.db("SELECT * FROM deployments") == [] and env.db("SELECT * FROM journal") == [],
      "apply without credentials: validate refuses it (exit 2), nothing sent or journaled", (rc, err))
fake.close()
env.close()
ck.done()
