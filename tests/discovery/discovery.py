#!/usr/bin/python3
"""Discovery (issue 16) through the real CLI against tests/fakes/fake_aws.py:
a workload spread over three AWS regions (us-east-1, eu-central-1,
ap-southeast-1), applied; its function URLs probed over TLS (a test CA, a
TLS front before the fake, Host and TLS name kept) by `fedbroker health`.
Checked: the endpoints appear after apply (source apply, health unknown);
a probe round makes them passing; a 503 on one region's health path makes
that row warning, then critical at the spec's failureThreshold, with the
probe interval backing off (period x 2^(failures-1)), and resolve drops
it (--all shows it); `resolve --from frankfurt` orders by the catalog's
latency model (eu-central-1 first, each RTT what `catalog rtt` says);
an observe report with a lease goes stale after the lease and is removed
a lease later, time moved with FEDBROKER_NOW; resolve exits 1 for an
unknown name and 2 for an unknown location."""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "aws"))
sys.path.insert(0, HERE)
from awstest import Checker, Env, Fake  # noqa: E402
from tlsfront import TlsFront, make_pki  # noqa: E402

REGIONS = ["us-east-1", "eu-central-1", "ap-southeast-1"]
ck = Checker("discovery")
fake = Fake()
env = Env(fake, regions=REGIONS)
ca, crt, key = make_pki(env.tmp, REGIONS)
front = TlsFront(fake.port, crt, key)
env.env["FEDBROKER_CA_BUNDLE"] = ca
probe_to = f"127.0.0.1:{front.port}"

env.write("src/api/index.mjs", "export const handler = async () => ({statusCode: 200});\n")
spec = env.write("api.yaml", """\
apiVersion: fedbroker.dev/v1
kind: Function
metadata: {name: api, tenant: shop}
spec:
  runtime: nodejs20
  handler: index.handler
  code: {path: src/api}
  triggers: [{http: {path: /, public: true, methods: [GET]}}]
  healthCheck: {path: /healthz, period: 10s, failureThreshold: 2}
  traffic: {requestsPerMonth: 1000000, meanDuration: 30ms, sources: [{location: frankfurt, weight: 1}]}
  placement:
    regions: ["aws:us-east-1", "aws:eu-central-1", "aws:ap-southeast-1"]
    spread: {minRegions: 3}
""")

T0 = "2026-12-07T10:00:00Z"


def at(t):
    return {"FEDBROKER_NOW": t}


def resolve(*args, t=T0):
    rc, out, err = env.run("resolve", "api", "--format", "json", *args, env=at(t))
    return rc, (json.loads(out) if out.strip() else None), err


def health(*args, t=T0):
    rc, out, err = env.run("health", "--connect-to", probe_to, "--format", "json", *args, env=at(t))
    return rc, (json.loads(out) if out.strip() else None), err


rc, out, err = env.run("apply", spec, "--yes", env=at(T0))
ck.ok(rc == 0, "apply of the spread workload exits 0", err[-3000:])
rows = env.db("SELECT region, url, source, health, lease_seconds FROM endpoints WHERE workload='api' ORDER BY region")
ck.ok([r[0] for r in rows] == sorted(REGIONS), "an endpoint row per region after apply", rows)
ck.ok(rows and all(r[2] == "apply" and r[3] == "unknown" and r[4] == 0 for r in rows),
      "apply's rows: source apply, health unknown, held until destroy (lease 0)", rows)
ck.ok(rows and all(f".lambda-url.{r[0]}.on.aws" in r[1] for r in rows), "each row has its region's function URL", rows)

# 1. a probe round: every endpoint passing, through TLS with the URL's host
seq = fake.seq()
rc, h, err = health()
ck.ok(rc == 0 and h and len(h["probes"]) == 3 and all(p["health"] == "passing" for p in h["probes"]),
      "health: three probes, all passing", (rc, h, err[-2000:]))
log = [e for e in fake.log(seq) if e.get("operation") == "InvokeFunctionUrl"]
ck.ok(len(log) == 3 and all(e["path"] == "/healthz" and e["method"] == "GET" and e.get("status") == 200 for e in log),
      "the fake saw GET /healthz on each function URL (the spec's healthCheck path)",
      [(e.get("path"), e.get("status")) for e in log])
hosts = sorted(dict(e["headers"]).get("Host", "").split(":")[0].split(".")[2] for e in log)
ck.ok(hosts == sorted(REGIONS), "each probe carried its endpoint's host (Host header)", hosts)
rc, h, err = health(t="2026-12-07T10:00:05Z")
ck.ok(rc == 0 and h["probes"] == [], "nothing is due 5 s later (period 10s)", h)

# 2. resolve --from frankfurt: ordered by the latency model
rc, r, err = resolve("--from", "frankfurt")
order = [e["region"] for e in (r or {}).get("endpoints", [])]
ck.ok(rc == 0 and order[0] == "eu-central-1" and len(order) == 3, "resolve --from frankfurt: eu-central-1 first", (rc, r, err))
rtts = [e["rtt_ms"] for e in r["endpoints"]] if r else []
ck.ok(rtts == sorted(rtts), "endpoints in ascending expected RTT", rtts)
model = []
for e in (r or {}).get("endpoints", []):
    rc2, o2, e2 = env.run("catalog", "rtt", "frankfurt", f"aws:{e['region']}", "--format", "json")
    want = json.loads(o2) if rc2 == 0 else {}
    model.append((e["region"], e["rtt_ms"], e["rtt_kind"], want.get("rtt_ms"), want.get("origin")))
ck.ok(len(model) == 3 and all(m[3] is not None and abs(m[1] - m[3]) < 0.01 and m[2] == m[4] for m in model),
      "each RTT and its kind are the catalog's (catalog rtt frankfurt aws:REGION agrees)", model)
ck.ok(r and all(e["stale_seconds"] == 0 and not e["stale"] for e in r["endpoints"]), "fresh answers: stale_seconds 0", r)
rc, r2, err = resolve("--from", "frankfurt", t="2026-12-07T10:01:40Z")
ck.ok(rc == 0 and r2["endpoints"] and all(e["stale_seconds"] == 100 for e in r2["endpoints"]) and not any(e["stale"] for e in r2["endpoints"]),
      "100 s later: stale_seconds 100, apply's rows are not stale (no lease)", r2)
rc, r3, err = resolve("--from", "sydney")
ck.ok(rc == 0 and r3["endpoints"][0]["region"] == "ap-southeast-1", "resolve --from sydney: ap-southeast-1 first",
      [e["region"] for e in r3["endpoints"]])

# 3. eu-central-1's health path fails: warning, then critical, with backoff
fake.faults([{"service": "lambda-url", "region": "eu-central-1", "status": 503, "count": 10}])
rc, h, err = health(t="2026-12-07T10:00:10Z")
eu = [p for p in h["probes"] if p["region"] == "eu-central-1"]
ck.ok(len(h["probes"]) == 3 and eu and eu[0]["health"] == "warning" and eu[0]["failures"] == 1
      and "503" in eu[0]["detail"], "one 503: warning (failureThreshold 2)", h)
ck.ok(eu and eu[0]["next_probe_at"] == eu[0].get("next_probe_at") and
      env.db("SELECT next_probe_at - checked_at FROM endpoints WHERE region='eu-central-1'") == [(10,)],
      "first failure: next probe a period later", env.db("SELECT next_probe_at, checked_at FROM endpoints"))
rc, h, err = health(t="2026-12-07T10:00:20Z")
eu = [p for p in h["probes"] if p["region"] == "eu-central-1"]
ck.ok(eu and eu[0]["health"] == "critical" and eu[0]["failures"] == 2, "second 503: critical", h)
ck.ok(env.db("SELECT next_probe_at - checked_at FROM endpoints WHERE region='eu-central-1'") == [(20,)],
      "second failure: the interval doubles (backoff)")
rc, h, err = health(t="2026-12-07T10:00:30Z")
ck.ok([p["region"] for p in h["probes"]] == ["ap-southeast-1", "us-east-1"] or
      sorted(p["region"] for p in h["probes"]) == ["ap-southeast-1", "us-east-1"],
      "10 s later only the passing ones are due: the failing one waits its backoff", h)
rc, r, err = resolve("--from", "frankfurt", t="2026-12-07T10:00:30Z")
order = [e["region"] for e in r["endpoints"]]
ck.ok(rc == 0 and "eu-central-1" not in order and order[0] == "us-east-1" and r["excluded"] == 1,
      "resolve leaves the critical endpoint out; us-east-1 is next nearest to Frankfurt", r)
rc, r, err = resolve("--from", "frankfurt", "--all", t="2026-12-07T10:00:30Z")
crit = [e for e in r["endpoints"] if e["region"] == "eu-central-1"]
ck.ok(crit and crit[0]["health"] == "critical" and "503" in crit[0].get("health_detail", "")
      and r["endpoints"][0]["region"] == "eu-central-1",
      "--all includes it with its state, still in latency order", r)
fake.clear_faults()
rc, h, err = health(t="2026-12-07T10:00:40Z")
eu = [p for p in h["probes"] if p["region"] == "eu-central-1"]
ck.ok(eu and eu[0]["health"] == "passing" and eu[0]["failures"] == 0, "the path answers again: passing", h)

# 4. a source with a lease: observe reports with --lease 60s, then stops
rc, out, err = env.run("status", "--lease", "60s", "--format", "json", env=at("2026-12-07T10:01:00Z"))
rows = env.db("SELECT source, lease_seconds, reported_at FROM endpoints WHERE workload='api'")
ck.ok(rc == 0 and len(rows) == 3 and all(r[0] == "observe" and r[1] == 60 for r in rows),
      "status --lease 60s: observe reports the three endpoints with a 60 s lease", (rc, rows, err[-1500:]))
rc, r, err = resolve(t="2026-12-07T10:01:30Z")
ck.ok(rc == 0 and len(r["endpoints"]) == 3, "within the lease: all three resolve", r)
rc, r, err = resolve(t="2026-12-07T10:02:30Z")
ck.ok(rc == 1 and r["endpoints"] == [] and r["excluded"] == 3, "past the lease: stale, resolve answers none (exit 1)", (rc, r))
rc, h, err = health("--tenant", "nobody", t="2026-12-07T10:02:30Z")
ck.ok(rc == 0 and len(h["lease"]) == 3 and all(c["change"] == "stale" for c in h["lease"]),
      "the sweep marks the three stale", h)
ck.ok(env.db("SELECT DISTINCT stale_since FROM endpoints") == [(1765101720,)] or
      len(env.db("SELECT DISTINCT stale_since FROM endpoints WHERE stale_since IS NOT NULL")) == 1,
      "stale since the lease ran out", env.db("SELECT stale_since FROM endpoints"))
rc, r, err = resolve("--all", t="2026-12-07T10:02:30Z")
ck.ok(rc == 0 and len(r["endpoints"]) == 3 and all(e["stale"] and e["stale_seconds"] == 90 for e in r["endpoints"]),
      "--all shows them stale, 90 s old", r)
rc, h, err = health("--tenant", "nobody", t="2026-12-07T10:03:00Z")
ck.ok(len(h["lease"]) == 3 and all(c["change"] == "removed" for c in h["lease"]) and
      env.db("SELECT COUNT(*) FROM endpoints") == [(0,)], "a lease later they are removed", h)
rc, r, err = resolve(t="2026-12-07T10:03:00Z")
ck.ok(rc == 1 and r is None and "no endpoint of 'api'" in err, "resolve of a name with no rows: exit 1, says so", (rc, err))
# a report brings them back
rc, out, err = env.run("status", "--lease", "60s", env=at("2026-12-07T10:04:00Z"))
rc, r, err = resolve("--from", "frankfurt", t="2026-12-07T10:04:10Z")
ck.ok(rc == 0 and len(r["endpoints"]) == 3 and all(e["source"] == "observe" for e in r["endpoints"]),
      "the next observe report brings them back", r)

# 5. bad input
rc, r, err = resolve("--from", "atlantis")
ck.ok(rc == 2 and "atlantis" in err and "locations" in err, "an unknown location: exit 2 naming it", err)
rc, out, err = env.run("resolve", "api", "--from", "frankfurt", "--from-workload", "x")
ck.ok(rc == 64, "--from with --from-workload: usage error", (rc, err))

front.close()
env.close()
fake.close()
ck.done()
