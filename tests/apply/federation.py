#!/usr/bin/python3
"""Plan-driven apply (issue 11) through the real CLI against
tests/fakes/fake_aws.py (botocore recomputes every signature and validates
every body against the botocore models) and the local quantum backend: a
federation that is not among the examples, spanning two AWS regions and
quantum:local, applied from its plan file in one command. Checked: every
function is in the region plan.json names (the fake's state and the region
of each request), the store (deployments with their federation, endpoints,
results), the dependent's env in the CreateFunction body the fake received
(FEDBROKER_ENDPOINT_INGEST and ${endpoints.ingest.url} filled with the
function URL of its dependency); then the plan/apply cycle: no-op
(--detailed-exitcode 0), one update, one move (the new function created
and observed before the old one is deleted, by the fake's log order), one
delete only with --prune; a stale plan, a cycle and a missing dependency
refused with exit 2; destroy --federation in reverse dependency order and
an unmatched destroy --workload (exit 2)."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "aws"))
from awstest import Checker, Env, Fake, ops, rejected  # noqa: E402
from harness import federation, workload  # noqa: E402

ck = Checker("apply a plan")
fake = Fake()
env = Env(fake)
OK_404 = {("GetFunction", "ResourceNotFoundException"),
          ("GetFunctionUrlConfig", "ResourceNotFoundException")}

env.write("src/ingest/index.mjs", "export const handler = async () => ({statusCode: 200});\n")
env.write("src/report/index.mjs", "export const handler = async () => ({statusCode: 204});\n")


def fed_text(ingest_level="info", report_residency="EU", sampler=True, extra=""):
    wls = [workload("Function", "ingest", f"""
        runtime: nodejs20
        handler: index.handler
        code: {{path: src/ingest}}
        env: {{LOG_LEVEL: {ingest_level}}}
        triggers: [{{http: {{path: /, public: true, methods: [POST]}}}}]
        traffic: {{requestsPerMonth: 1000000, meanDuration: 30ms, sources: [{{location: new-york, weight: 1}}]}}
        placement: {{regions: ["aws:us-east-1"]}}"""), workload("Function", "report", f"""
        runtime: nodejs20
        handler: index.handler
        code: {{path: src/report}}
        env: {{TARGET: "${{endpoints.ingest.url}}v1/batch", MODE: nightly}}
        triggers: [{{http: {{path: /, public: true, methods: [GET]}}}}]
        traffic: {{requestsPerMonth: 10000, meanDuration: 100ms, sources: [{{location: london, weight: 1}}]}}
        placement: {{residency: [{report_residency}], providers: [aws]}}
        dependencies: [{{workload: ingest, volumePerMonth: 1Gi}}]""")]
    if sampler:
        wls.append(workload("QuantumJob", "sampler", """
        program: {source: "OPENQASM 3.0; include \\"stdgates.inc\\"; qubit[2] q; bit[2] c; h q[0]; cx q[0], q[1]; c = measure q;"}
        shots: 200
        seed: 11
        backend: {type: simulator, providers: [local]}
        placement: {providers: [quantum]}"""))
    return federation("telemetry", "lab", *wls) + extra


fed = env.write("fed.yaml", fed_text())
plan_file = env.path("plan.json")


def plan(*extra):
    return env.run("plan", fed, "--no-baselines", "--out", plan_file, *extra)


def changes():
    doc = json.load(open(plan_file))
    return {(c["name"], c["action"]) for c in doc["changes"]}, doc


def fns():
    return sorted(fake.state()["lambda"])


# 1. plan, then apply the plan file in one command
rc, out, err = plan()
ck.ok(rc == 0, "plan --out", err)
doc = json.load(open(plan_file))
where = {w["name"]: (w["placement"]["provider"], w["placement"]["region"]) for w in doc["workloads"]}
ck.ok(where == {"ingest": ("aws", "us-east-1"), "report": ("aws", "eu-west-1"),
                "sampler": ("quantum", "local")}, "the plan spans two AWS regions and quantum:local", where)
ck.ok({c["name"]: c["level"] for c in doc["changes"]} == {"ingest": 0, "report": 1, "sampler": 0},
      "report is ordered after ingest (level 1)", doc["changes"])
# a dry run of the plan: the exact requests, nothing sent or stored
seqd = fake.seq()
rc, out, err = env.run("apply", fed, "--dry-run")
reqs = json.loads(out) if rc == 0 else []
bodies = " ".join(json.dumps(r) for r in reqs)
scopes = " ".join(json.dumps(r.get("headers")) for r in reqs)
ck.ok(rc == 0 and "/us-east-1/lambda/aws4_request" in scopes and "/eu-west-1/lambda/aws4_request" in scopes,
      "apply SPEC --dry-run prints the requests signed for both regions", (rc, err[-1500:], scopes[:600]))
ck.ok("https://endpoint-of-ingest.known-after-apply.invalid" in bodies,
      "a dependency not deployed yet shows as a placeholder URL in the dry run")
ck.ok(fake.seq() == seqd and not env.db("SELECT * FROM deployments"), "the dry run sent and stored nothing")
seq0 = fake.seq()
rc, out, err = env.run("apply", "--plan", plan_file)
ck.ok(rc == 0, "apply --plan plan.json exits 0", err[-3000:])
ck.ok("[1/3]" in err and "[3/3]" in err and "... done" in err, "one progress line per workload on stderr", err[-2000:])
ck.ok("Apply: 3 created, 0 updated, 0 moved, 0 deleted, 0 unchanged, 0 failed, 0 skipped." in out,
      "the summary line", out)
ck.ok(fns() == ["eu-west-1|lab-report", "us-east-1|lab-ingest"],
      "every function is in the region plan.json names", fns())
log = fake.log(seq0)
ck.ok(not rejected(log, OK_404), "the fake accepted every request", rejected(log, OK_404))
creates = {e["params"]["FunctionName"]: e for e in log if e.get("operation") == "CreateFunction"}
ck.ok(creates.get("lab-ingest", {}).get("region") == "us-east-1" and
      creates.get("lab-report", {}).get("region") == "eu-west-1",
      "each CreateFunction went to its region's endpoint",
      {k: v.get("region") for k, v in creates.items()})
url = (env.db("SELECT url FROM endpoints WHERE workload='ingest'") or [[None]])[0][0]
ck.ok(url and url.startswith("https://") and ".lambda-url.us-east-1." in url,
      "ingest's function URL is recorded in the endpoints table", url)
renv = creates.get("lab-report", {}).get("params", {}).get("Environment", {}).get("Variables", {})
ck.ok(renv.get("FEDBROKER_ENDPOINT_INGEST") == url and renv.get("TARGET") == f"{url}v1/batch"
      and renv.get("MODE") == "nightly",
      "the dependent's CreateFunction body carries its dependency's endpoint", renv)
first = min(e["seq"] for e in log if e.get("params", {}).get("FunctionName") == "lab-report")
last_ingest = max(e["seq"] for e in log if e.get("params", {}).get("FunctionName") == "lab-ingest")
ck.ok(last_ingest < first, "ingest was applied completely before report's first request")
rows = env.db("SELECT workload, provider, region, state, federation FROM deployments ORDER BY workload")
ck.ok(rows == [("ingest", "aws", "us-east-1", "applied", "telemetry"),
               ("report", "aws", "eu-west-1", "applied", "telemetry"),
               ("sampler", "quantum", "local", "applied", "telemetry")],
      "the store holds each deployment where the plan put it, with its federation", rows)
eps = env.db("SELECT workload, provider, region, kind FROM endpoints ORDER BY workload")
ck.ok(("ingest", "aws", "us-east-1", "url") in eps and ("report", "aws", "eu-west-1", "url") in eps
      and ("sampler", "quantum", "local", "job") in eps, "endpoints: workload, provider, region, kind", eps)
rc, out, err = env.run("endpoints", "--format", "json")
ck.ok(rc == 0 and {e["workload"] for e in json.loads(out)} == {"ingest", "report", "sampler"}
      and all(e["observed_at"] for e in json.loads(out)), "fedbroker endpoints lists them", out)
nresults = len(env.db("SELECT id FROM results WHERE workload='sampler'"))
ck.ok(nresults == 1, "the QuantumJob ran once", nresults)

# 2. the same plan again is stale
rc, out, err = env.run("apply", "--plan", plan_file)
ck.ok(rc == 2 and "stale" in err and "plan again" in err, "re-applying an applied plan is refused as stale", err)

# 3. no changes right after apply
rc, out, err = env.run("plan", fed, "--no-baselines", "--detailed-exitcode", "--out", plan_file)
got, doc = changes()
ck.ok(rc == 0 and got == {("ingest", "no-op"), ("report", "no-op"), ("sampler", "no-op")},
      "second plan --detailed-exitcode: exit 0, all no-op", (rc, got, err[-800:]))
seq1 = fake.seq()
rc, out, err = env.run("apply", fed, "--yes")
ck.ok(rc == 0 and "3 unchanged" in out, "apply SPEC --yes with nothing to do", (rc, out, err[-800:]))
mut = [e.get("operation") for e in fake.log(seq1) if not e.get("operation", "").startswith(("Get", "List"))]
ck.ok(not mut, "an unchanged federation sends no change", mut)
ck.ok(len(env.db("SELECT id FROM results WHERE workload='sampler'")) == 1, "the QuantumJob was not run again")

# 4. one spec change: one update
with open(fed, "w") as f:
    f.write(fed_text(ingest_level="debug"))
rc, out, err = plan("--detailed-exitcode")
got, doc = changes()
upd = [c for c in doc["changes"] if c["action"] == "update"]
ck.ok(rc == 2 and got == {("ingest", "update"), ("report", "no-op"), ("sampler", "no-op")}
      and upd and upd[0]["fields"] == ["spec.env"], "changing ingest's env: one update (spec.env)", (rc, got, upd))
ck.ok("~ update  lab/ingest" in out and "Plan: 0 to create, 1 to update, 0 to move, 0 to delete." in out,
      "the table shows '~ update' and the summary", out[-800:])
seq2 = fake.seq()
rc, out, err = env.run("apply", "--plan", "latest")
ck.ok(rc == 0 and "1 updated" in out, "apply --plan latest", (rc, out, err[-1500:]))
ops2 = ops(fake.log(seq2))
ck.ok("UpdateFunctionConfiguration" in ops2 and "CreateFunction" not in ops2,
      "the update changed ingest in place", ops2)

# 5. one residency change (EU -> US): one move, created and observed first, old deleted after
with open(fed, "w") as f:
    f.write(fed_text(ingest_level="debug", report_residency="US"))
rc, out, err = plan("--detailed-exitcode")
got, doc = changes()
mv = [c for c in doc["changes"] if c["action"] == "move"]
ck.ok(rc == 2 and got == {("ingest", "no-op"), ("report", "move"), ("sampler", "no-op")} and mv
      and mv[0]["from"]["region"] == "eu-west-1" and mv[0]["region"] == "us-east-1",
      "changing report's residency from EU to US: one move to us-east-1", (rc, got, mv))
ck.ok("-/+ move    lab/report" in out, "the table shows '-/+ move'", out[-800:])
seq3 = fake.seq()
rc, out, err = env.run("apply", "--plan", plan_file)
ck.ok(rc == 0 and "1 moved" in out, "apply the move", (rc, out, err[-1500:]))
log3 = fake.log(seq3)
c_new = [e["seq"] for e in log3 if e.get("operation") == "CreateFunction" and e.get("region") == "us-east-1"]
g_new = [e["seq"] for e in log3 if e.get("operation") == "GetFunction" and e.get("region") == "us-east-1"
         and c_new and e["seq"] > c_new[0]]
d_old = [e["seq"] for e in log3 if e.get("operation") == "DeleteFunction" and e.get("region") == "eu-west-1"]
ck.ok(c_new and g_new and d_old and c_new[0] < g_new[0] < d_old[0],
      "the new function is created and observed before the old one is deleted",
      [(e["seq"], e.get("operation"), e.get("region")) for e in log3])
ck.ok(fns() == ["us-east-1|lab-ingest", "us-east-1|lab-report"], "report now lives in us-east-1 only", fns())
ck.ok(env.db("SELECT region FROM deployments WHERE workload='report'") == [("us-east-1",)],
      "the store follows the move", env.db("SELECT region FROM deployments WHERE workload='report'"))

# 6. a removed workload: delete, acted on only with --prune
with open(fed, "w") as f:
    f.write(fed_text(ingest_level="debug", report_residency="US", sampler=False))
rc, out, err = plan("--detailed-exitcode")
got, doc = changes()
ck.ok(got == {("ingest", "no-op"), ("report", "no-op"), ("sampler", "delete")} and "- delete  lab/sampler" in out,
      "removing sampler from the federation: delete", (got, out[-600:]))
rc, out, err = env.run("apply", fed, "--yes")
ck.ok(rc == 0 and env.db("SELECT workload FROM deployments WHERE workload='sampler'") == [("sampler",)]
      and "--prune" in out, "without --prune the deployment is kept (and the output says so)", (rc, out))
rc, out, err = env.run("apply", fed, "--yes", "--prune")
ck.ok(rc == 0 and "1 deleted" in out and not env.db("SELECT workload FROM deployments WHERE workload='sampler'"),
      "with --prune it is deleted", (rc, out, err[-800:]))
ck.ok(not env.db("SELECT workload FROM endpoints WHERE workload='sampler'"), "and its endpoint forgotten")

# 7. refusals: apply without --yes and no terminal, a cycle, a missing dependency
with open(fed, "w") as f:
    f.write(fed_text(ingest_level="warn", report_residency="US", sampler=False))
rc, out, err = env.run("apply", fed)
ck.ok(rc == 64 and "--yes" in err, "apply SPEC with changes and no terminal needs --yes", (rc, err[-400:]))
cyc = env.write("cycle.yaml", fed_text(sampler=False).replace(
    "placement: {regions: [\"aws:us-east-1\"]}",
    "placement: {regions: [\"aws:us-east-1\"]}\n        dependencies: [{workload: report}]", 1))
rc, out, err = env.run("plan", cyc, "--no-baselines", "--out", env.path("cycle.json"))
ck.ok(rc == 2 and "dependency cycle" in err and "ingest -> report -> ingest" in err,
      "a dependency cycle is refused (exit 2), naming the cycle", (rc, err[-600:]))
rc, out, err = env.run("apply", cyc, "--yes")
ck.ok(rc == 2 and "ingest -> report -> ingest" in err, "apply refuses it too", (rc, err[-600:]))
miss = env.write("missing.yaml", fed_text(sampler=False).replace("workload: ingest, volumePerMonth",
                                                                  "workload: ingester, volumePerMonth"))
rc, out, err = env.run("apply", miss, "--yes")
ck.ok(rc == 2 and "ingester" in err, "a missing dependency is refused (exit 2)", (rc, err[-600:]))

# 8. destroy: the federation, in reverse dependency order; an unmatched name
rc, out, err = env.run("destroy", "--workload", "no-such-thing")
ck.ok(rc == 2 and "no-such-thing" in err, "destroy --workload of an unknown name: exit 2", (rc, out, err))
seq4 = fake.seq()
rc, out, err = env.run("destroy", "--federation", "telemetry")
ck.ok(rc == 0, "destroy --federation telemetry", (rc, out, err[-800:]))
dels = [e["params"]["FunctionName"] for e in fake.log(seq4) if e.get("operation") == "DeleteFunction"]
ck.ok(dels == ["lab-report", "lab-ingest"], "the dependent is deleted before its dependency", dels)
ck.ok(fns() == [] and not env.db("SELECT * FROM deployments") and not env.db("SELECT * FROM endpoints"),
      "nothing left at the fake or in the store", (fns(), env.db("SELECT * FROM deployments")))
rc, out, err = env.run("destroy", "--federation", "telemetry")
ck.ok(rc == 2, "destroy --federation of a federation with nothing deployed: exit 2", (rc, out, err))

env.close()
fake.close()
ck.done()
