#!/usr/bin/python3
"""`fedbroker serve` /metrics (issue 16): the provider calls that serve's
operations make (apply, destroy, the reconciler's observe: each a
fedbroker subprocess reporting on FEDBROKER_METRICS_FD) appear in serve's
/metrics, and the exposition parses with an independent parser, the
Prometheus project's Python client (Debian python3-prometheus-client,
text_string_to_metric_families). The counts are checked against the
requests tests/fakes/fake_aws.py received, by its own log: for each
service, requests + retries = the attempts the fake saw, the 2xx class =
the fake's 2xx answers, the 4xx class = its 4xx answers; an injected 503
is a retry, not an error. Skips (77) when the aws driver is not built or
prometheus_client is missing."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "aws"))
import awstest  # noqa: E402
import servetest  # noqa: E402

if not os.path.exists(os.path.join(awstest.DRIVER_PATH, "aws.so")):
    print("SKIP: the aws driver is not built")
    sys.exit(77)
try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    print("SKIP: python3-prometheus-client is not installed (apt-get install python3-prometheus-client)")
    sys.exit(77)

ck = awstest.Checker("serve metrics")
ok = ck.ok

fake = awstest.Fake()
env = awstest.Env(fake)
rc, tok, err = env.run("token", "create", "--tenant", "mx", "--role", "admin")
tok = tok.strip()


class Server(servetest.Server):
    def scrape(self):
        """/metrics parsed by prometheus_client: {family name: family}, the
        provider samples as {(name, labels tuple): value}, the text and its
        Content-Type."""
        st, text = self.req("GET", "/metrics")
        assert st == 200, (st, text)
        fams = {f.name: f for f in text_string_to_metric_families(text)}
        samples = {}
        for f in fams.values():
            if f.name.startswith("fedbroker_provider_"):
                for s in f.samples:
                    samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
        return fams, samples, text, self.ctype


def series(samples, name, **want):
    """{labels dict as tuple: value} of one sample name whose labels
    include want."""
    out = {}
    for (n, labels), v in samples.items():
        d = dict(labels)
        if n == name and all(d.get(k) == v2 for k, v2 in want.items()):
            out[labels] = v
    return out


def delta(after, before):
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


def check_against_fake(before, after, entries, operation, what):
    """The counts of operation's series that moved between two scrapes
    against the fake's log entries of the same window."""
    d = delta(after, before)
    mine = {k: v for k, v in d.items() if dict(k[1]).get("operation") == operation}
    ok(mine, f"{what}: provider samples under operation={operation}", sorted(d)[:20])
    others = {k for k in d if dict(k[1]).get("operation") != operation}
    ok(not others, f"{what}: nothing counted under another operation", sorted(others)[:10])
    by_svc = {}
    for e in entries:
        by_svc.setdefault(e.get("service"), []).append(e)
    svcs = {dict(k[1])["service"] for k in mine}
    ok(svcs == set(by_svc), f"{what}: the services counted are those the fake was called for",
       (sorted(svcs), sorted(by_svc, key=str)))
    for svc in sorted(by_svc, key=str):
        es = by_svc[svc]
        reqs = series(d, "fedbroker_provider_requests_total", operation=operation, service=svc)
        rets = series(d, "fedbroker_provider_retries_total", operation=operation, service=svc)
        cnt = series(d, "fedbroker_provider_request_duration_seconds_count", operation=operation, service=svc)

        def cls(c, s):
            return sum(v for k, v in s.items() if dict(k)["class"] == c)
        n2 = sum(1 for e in es if isinstance(e.get("status"), int) and 200 <= e["status"] < 300)
        n4 = sum(1 for e in es if isinstance(e.get("status"), int) and 400 <= e["status"] < 500
                 and e["status"] != 429)
        ok(sum(reqs.values()) + sum(rets.values()) == len(es),
           f"{what}: {svc}: requests {sum(reqs.values()):g} + retries {sum(rets.values()):g} = "
           f"the {len(es)} requests the fake received", [(e.get("operation"), e.get("status")) for e in es])
        ok(cls("2xx", reqs) == n2 and cls("4xx", reqs) == n4,
           f"{what}: {svc}: class 2xx {cls('2xx', reqs):g} and 4xx {cls('4xx', reqs):g} as the fake answered "
           f"({n2}, {n4})", reqs)
        ok(sum(cnt.values()) == sum(reqs.values()), f"{what}: {svc}: the histogram counts every request",
           (cnt, reqs))
        ok(all(dict(k)["provider"] == "aws" for k in reqs), f"{what}: {svc}: provider aws", list(reqs))
    return mine


SPEC = """apiVersion: fedbroker.dev/v1
kind: Function
metadata: {name: x, tenant: mx}
spec:
  runtime: python3.12
  handler: app.handler
  code: {s3: {bucket: mx-code, key: x.zip}}
  resources: {memory: 256Mi}
  traffic: {requestsPerMonth: 100000, meanDuration: 20ms}
  placement: {providers: [aws], regions: ["aws:us-east-1"]}
"""

# 1. apply as an operation, with one injected 503 (a retry)
s = Server(env, tok)
fams, m0, text, ctype = s.scrape()
ok(ctype and ctype.startswith("text/plain") and "version=0.0.4" in ctype, "/metrics: text/plain; version=0.0.4", ctype)
ok(fams.get("fedbroker_provider_requests") and fams["fedbroker_provider_requests"].type == "counter"
   and fams.get("fedbroker_provider_retries").type == "counter"
   and fams.get("fedbroker_provider_request_duration_seconds").type == "histogram"
   and fams.get("fedbroker_provider_reports_malformed").type == "counter",
   "the provider families parse with prometheus_client, with their types", sorted(fams))
ok(fams.get("fedbroker_http_requests") and fams.get("fedbroker_audit_rows"),
   "and serve's other families too", sorted(fams))
ok(not series(m0, "fedbroker_provider_requests_total"), "no provider call yet", m0)
st, j = s.req("POST", "/v1/specs", SPEC, "application/yaml")
ok(st == 201, "the spec submitted", (st, j))
st, j = s.req("POST", "/v1/plans")
plan = j["plan"]
op = s.wait_op(j["href"])
ok(op["state"] == "succeeded", "planned", op)
_, m1, _, _ = s.scrape()
ok(not series(m1, "fedbroker_provider_requests_total", operation="plan"),
   "planning calls no provider (offers come from the catalog)", series(m1, "fedbroker_provider_requests_total"))
seq0 = fake.seq()
fake.faults([{"service": "lambda", "status": 503, "count": 1}])
st, j = s.req("POST", f"/v1/plans/{plan}/apply")
op = s.wait_op(j["href"])
ok(op["state"] == "succeeded", "applied through the API", op)
entries = fake.log(seq0)
_, m2, text2, _ = s.scrape()
mine = check_against_fake(m1, m2, entries, "apply", "apply")
ok(any(e.get("status") == 503 for e in entries) and
   sum(series(delta(m2, m1), "fedbroker_provider_retries_total", operation="apply", service="lambda").values()) >= 1 and
   not series(delta(m2, m1), "fedbroker_provider_requests_total", operation="apply", **{"class": "5xx"}),
   "the injected 503 was retried: a retry of lambda, no 5xx request", [e.get("status") for e in entries])
verbs = {dict(k[1])["verb"] for k in mine}
ok("apply" in verbs and verbs <= {"apply", "observe"}, "the driver verbs of an apply", verbs)
fams, _, _, _ = s.scrape()
h = fams["fedbroker_provider_request_duration_seconds"]
byl = {}
for smp in h.samples:
    key = tuple(sorted((k, v) for k, v in smp.labels.items() if k != "le"))
    byl.setdefault(key, []).append(smp)
good = True
for key, smps in byl.items():
    b = [(float(x.labels["le"]), x.value) for x in smps if x.name.endswith("_bucket")]
    cnt = [x.value for x in smps if x.name.endswith("_count")]
    total = [x.value for x in smps if x.name.endswith("_sum")]
    vals = [v for _, v in sorted(b)]
    good &= (vals == sorted(vals) and b and sorted(b)[-1][0] == float("inf") and cnt == [vals[-1]]
             and total and total[0] >= 0)
ok(byl and good, "each histogram: cumulative buckets up to +Inf = _count, a _sum", list(byl)[:3])
ok(s.stop() == 0, "SIGTERM: exit 0")

# 2. the reconciler's observe passes (fedbroker status, operation reconcile)
s = Server(env, tok, "--reconcile", "1s")
_, m3, _, _ = s.scrape()
ok(not series(m3, "fedbroker_provider_requests_total"), "a new serve starts from zero", m3)
seq1 = fake.seq()
# a window with no pass in flight: two equal scrapes around the fake's log
matched = None
t_end = time.time() + 60
while time.time() < t_end and not matched:
    time.sleep(1.3)
    _, a, _, _ = s.scrape()
    entries = fake.log(seq1)
    _, b, _, _ = s.scrape()
    n = sum(series(b, "fedbroker_provider_requests_total", operation="reconcile").values())
    if a == b and n >= 2 and sum(b.values()) and \
            sum(series(b, "fedbroker_provider_requests_total").values()) + \
            sum(series(b, "fedbroker_provider_retries_total").values()) == len(entries):
        matched = (b, entries)
ok(matched, "reconcile passes: a quiet moment where serve's counts and the fake's log agree", None)
if matched:
    mine = check_against_fake(m3, matched[0], matched[1], "reconcile", "reconcile")
    verbs = {dict(k[1])["verb"] for k in mine}
    ok(verbs == {"observe"}, "the reconciler only observes (policy report)", verbs)

# 3. destroy as an operation, while the reconciler goes on
st, j = s.req("DELETE", "/v1/deployments/x")
ok(st == 202, "DELETE /v1/deployments/x: an operation", (st, j))
op = s.wait_op(j["href"])
ok(op["state"] == "succeeded", "destroyed", op)
_, m4, _, _ = s.scrape()
d = delta(m4, m3)
dv = {dict(k)["verb"] for k in series(d, "fedbroker_provider_requests_total", operation="destroy")}
ok("destroy" in dv and dv <= {"destroy", "observe", "apply"}, "the destroy operation's calls, verb destroy", dv)
destroy_seen = sum(series(d, "fedbroker_provider_requests_total", operation="destroy").values()) + \
    sum(series(d, "fedbroker_provider_retries_total", operation="destroy").values())
fake_deletes = [e for e in fake.log(seq1) if e.get("operation", "").startswith("Delete")]
ok(destroy_seen >= len(fake_deletes) >= 1, "at least the fake's Delete* requests are counted under destroy",
   (destroy_seen, len(fake_deletes)))
ok(s.stop() == 0, "SIGTERM: exit 0")
fake.close()
env.close()
ck.done()
