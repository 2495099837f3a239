#!/usr/bin/python3
"""`fedbroker serve` (issue 16): specs, plans, reports, apply and destroy
through the API, against tests/fakes/fake_aws.py. A Container spec is
validated and submitted (POST /v1/specs), planned (POST /v1/plans: an
asynchronous operation), shown (the plan, its change set, its report in
every format, each byte for byte what `fedbroker report --format F`
prints for the same stored plan), applied (POST /v1/plans/ID/apply: the
fake then runs the service; the deployment is listed) and destroyed
(DELETE /v1/deployments/NAME: the fake is empty again), each operation
polled at GET /v1/operations/ID with its progress. Another tenant's
token finds none of it (404), and cannot submit a spec naming this
tenant. Skips (77) when the drivers are not built."""
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "aws"))
import awstest  # noqa: E402

if not os.path.exists(os.path.join(awstest.DRIVER_PATH, "aws.so")):
    print("SKIP: the aws driver is not built")
    sys.exit(77)

ck = awstest.Checker("serve operations")
ok = ck.ok


fake = awstest.Fake()
env = awstest.Env(fake)
rc, tok, err = env.run("token", "create", "--tenant", "ops", "--role", "deployer")
tok = tok.strip()
rc, rival, err = env.run("token", "create", "--tenant", "rival", "--role", "admin")
rival = rival.strip()
rc, fin, err = env.run("token", "create", "--tenant", "ops", "--role", "finance")
fin = fin.strip()
log_path = env.path("serve.log")
logf = open(log_path, "w")
srv = subprocess.Popen([awstest.FEDBROKER, "serve", "--listen", "127.0.0.1:0", "--log-format", "text"],
                       env=env.env, stdout=subprocess.PIPE, stderr=logf)
m = re.match(r"listening on http://127\.0\.0\.1:(\d+)", srv.stdout.readline().decode())
port = int(m.group(1))


def req(method, path, token=tok, body=None, ctype=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    h = {"Authorization": f"Bearer {token}"}
    if ctype:
        h["Content-Type"] = ctype
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    try:
        j = json.loads(data)
    except ValueError:
        j = None
    return r.status, j, data, r.getheader("Content-Type")


def wait_op(href, token=tok):
    for _ in range(600):
        st, j, _, _ = req("GET", href, token)
        if st != 200 or j["state"] in ("succeeded", "failed"):
            return st, j
        time.sleep(0.1)
    return st, j


SPEC = """apiVersion: fedbroker.dev/v1
kind: Container
metadata: {name: web, tenant: ops}
spec:
  image: public.ecr.aws/nginx/nginx:1.25
  ports: [{port: 8080, public: true}]
  scaling: {minInstances: 1, maxInstances: 2}
  placement: {providers: [aws], regions: ["aws:us-east-1"]}
"""
st, j, _, _ = req("POST", "/v1/specs/validate", body=SPEC, ctype="application/yaml")
ok(st == 200 and j["valid"] is True and j["workloads"][0]["metadata"]["name"] == "web",
   "POST /v1/specs/validate: valid, with the normal form", (st, j))
st, j, _, _ = req("POST", "/v1/specs/validate", body=SPEC.replace("image:", "imagex:"), ctype="application/yaml")
ok(st == 200 and j["valid"] is False and any("imagex" in json.dumps(e) for e in j.get("errors", [])),
   "an invalid spec: valid false, the error names the member", (st, j))
st, j, _, _ = req("POST", "/v1/specs", token=rival, body=SPEC, ctype="application/yaml")
ok(st == 403, "another tenant's token cannot submit a spec of tenant ops", (st, j))
st, j, _, _ = req("POST", "/v1/specs", token=fin, body=SPEC, ctype="application/yaml")
ok(st == 403, "finance cannot submit", (st, j))
st, j, _, _ = req("POST", "/v1/specs", body=b"\xff\xfe{", ctype="application/json")
ok(st == 400 and j["error"]["code"] == "invalid", "invalid UTF-8 / JSON: 400", (st, j))
st, j, _, _ = req("POST", "/v1/specs", body=SPEC, ctype="application/yaml")
ok(st == 201 and re.fullmatch(r"[0-9a-f]{16}", j.get("id", "")) and j["workloads"] == [{"kind": "Container", "name": "web"}],
   "POST /v1/specs: 201 with the spec's id and workloads", (st, j))
spec_id = j.get("id")
st, j, _, _ = req("GET", "/v1/specs")
ok(st == 200 and j["specs"] == [{"id": spec_id, "format": "yaml"}], "GET /v1/specs lists it", j)
st, j, _, _ = req("GET", "/v1/specs", token=rival)
ok(st == 200 and j["specs"] == [], "not to another tenant", j)

st, j, _, _ = req("POST", "/v1/plans", body=json.dumps({"specs": [spec_id]}), ctype="application/json")
ok(st == 202 and j["href"].startswith("/v1/operations/op-") and re.fullmatch(r"[0-9a-f]{12}", j["plan"]),
   "POST /v1/plans: 202, an operation and the plan's id", (st, j))
plan_id, plan_op = j["plan"], j["href"]
st, j, _, _ = req("GET", plan_op, token=rival)
ok(st == 404, "another tenant's token: the operation is not found", st)
st, op = wait_op(plan_op)
ok(st == 200 and op["state"] == "succeeded" and op["exit_code"] == 0 and op["kind"] == "plan"
   and isinstance(op["result"], dict), "the plan operation succeeds with the report as its result", op)
st, plan, _, _ = req("GET", f"/v1/plans/{plan_id}")
ok(st == 200 and any(w.get("workload", w.get("name")) == "web" for w in plan.get("workloads", plan.get("placements", []))) or
   (st == 200 and "web" in json.dumps(plan)), "GET /v1/plans/ID: the plan document", (st, str(plan)[:500]))
st, j, _, _ = req("GET", "/v1/plans")
ok(st == 200 and [p["id"] for p in j["plans"]] == [plan_id], "GET /v1/plans lists it", j)
st, ch, _, _ = req("GET", f"/v1/plans/{plan_id}/changes")
ok(st == 200 and [c["action"] for c in ch["changes"]] == ["create"] and ch["changes"][0]["workload"] == "web",
   "GET /v1/plans/ID/changes: one create", ch)
for who in (rival,):
    for path in (f"/v1/plans/{plan_id}", f"/v1/plans/{plan_id}/changes", f"/v1/plans/{plan_id}/report"):
        st, j, _, _ = req("GET", path, token=who)
        ok(st == 404, f"another tenant: {path.replace(plan_id, 'ID')} is 404", st)
# reports: every format, equal to the CLI's for the same stored plan
for fmt in ("table", "json", "csv", "md", "html", "focus"):
    st, j, data, ctype = req("GET", f"/v1/plans/{plan_id}/report?format={fmt}", token=fin)
    rc, out, err = env.run("report", "--format", fmt)
    ok(st == 200 and rc == 0 and data.decode() == out and len(data) > 20,
       f"report ?format={fmt} (finance token): {ctype}, the bytes `fedbroker report --format {fmt}` prints",
       (st, rc, data[:200], out[:200], err))
st, j, _, _ = req("GET", f"/v1/plans/{plan_id}/report?format=pdf", token=fin)
ok(st == 400, "an unknown report format: 400", st)
st, j, _, _ = req("GET", f"/v1/plans/{plan_id}", token=fin)
ok(st == 403, "finance may read reports only", st)

st, j, _, _ = req("POST", f"/v1/plans/{plan_id}/apply", token=fin)
ok(st == 403, "finance cannot apply", st)
st, j, _, _ = req("POST", f"/v1/plans/{plan_id}/apply", token=rival)
ok(st == 404, "another tenant cannot apply it (404)", st)
st, j, _, _ = req("POST", f"/v1/plans/{plan_id}/apply")
ok(st == 202 and j["href"].startswith("/v1/operations/"), "POST /v1/plans/ID/apply: 202 and an operation", (st, j))
st, op = wait_op(j["href"])
ok(st == 200 and op["state"] == "succeeded" and op["kind"] == "apply", "the apply operation succeeds",
   op)
ok(len(op["progress"]) > 0, "with progress lines", op["progress"])
svc = {k: v for k, v in fake.state().get("ecs_services", {}).items() if k.endswith("|ops-web")}
ok(len(svc) == 1, "the fake runs the service", fake.state().get("ecs_services"))
st, j, _, _ = req("GET", "/v1/deployments/web")
ok(st == 200 and j["deployments"][0]["provider"] == "aws", "GET /v1/deployments/web", j)
st, j, _, _ = req("DELETE", "/v1/deployments/web", token=rival)
ok(st == 404, "another tenant cannot destroy it (404)", st)
st, j, _, _ = req("DELETE", "/v1/deployments/web", token=fin)
ok(st == 403, "finance cannot destroy", st)
st, j, _, _ = req("DELETE", "/v1/deployments/web")
ok(st == 202, "DELETE /v1/deployments/web: 202 and an operation", (st, j))
st, op = wait_op(j["href"])
ok(st == 200 and op["state"] == "succeeded" and op["kind"] == "destroy", "the destroy operation succeeds", op)
svc = {k: v for k, v in fake.state().get("ecs_services", {}).items()
       if k.endswith("|ops-web") and v.get("status") not in ("INACTIVE", "DRAINING")}
ok(not svc, "the fake's service is deleted (DRAINING, as ECS answers)", fake.state().get("ecs_services"))
st, j, _, _ = req("GET", "/v1/deployments/web")
ok(st == 404, "and the deployment", (st, j))
st, j, _, _ = req("GET", "/v1/operations/op-999")
ok(st == 404, "an unknown operation: 404", st)
st, j, _, _ = req("PUT", "/v1/specs")
ok(st == 405, "PUT /v1/specs: 405", st)

srv.send_signal(signal.SIGTERM)
srv.wait(timeout=60)
ok(srv.returncode == 0, "SIGTERM: exit 0", srv.returncode)
logf.close()
# the audit: the mutating calls are rows with their outcome
con = __import__("sqlite3").connect(os.path.join(env.home, "state.db"))
acts = [r[0] for r in con.execute("SELECT action || ' ' || outcome FROM audit WHERE actor=?", (tok[:12],))]
con.close()
ok(f"POST /v1/plans/{plan_id}/apply 202" in acts and "DELETE /v1/deployments/web 202" in acts and
   "POST /v1/specs 201" in acts, "apply, destroy and submit are audit rows with their status", acts)
text = open(log_path).read()
ok(not any(t in text for t in (tok, rival, fin)), "no token in the log")
fake.close()
ck.done()
