#!/usr/bin/python3
"""`fedbroker serve` (issue 16, item 2): the data-driven matrix every route
x every role x own/other tenant against a real server on loopback, with
tokens created by `fedbroker token create`; then tokens expired, revoked,
malformed, with a bad checksum; the limits (413 body, oversized headers,
429 with Retry-After, idle connections closed by the timeout); the request
log (one line per request, a request id, never a token) and the store
holding only token hashes. Data: endpoint and deployment rows of two
tenants written into the state file (the discovery test covers how apply
fills them)."""
import hashlib
import http.client
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

TOP = os.environ.get("top_srcdir") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("top_builddir") or os.path.join(TOP, "build")
FEDBROKER = os.environ.get("FEDBROKER") or os.path.join(BUILD, "fedbroker")

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Checker  # noqa: E402

ck = Checker("serve matrix")
ok = ck.ok


tmp = tempfile.mkdtemp(prefix="fb-serve-")
home = os.path.join(tmp, "home")
os.mkdir(home, 0o700)
env = {k: v for k, v in os.environ.items() if k not in ("FEDBROKER_NOW",)}
env.update(FEDBROKER_HOME=home, HOME=home, FEDBROKER_SLEEP_SCALE="0")
# the drivers the plan operations load (plans need the catalog only)
env.setdefault("FEDBROKER_DRIVER_PATH", os.path.join(BUILD, "stage", "drivers"))


def run(*args, extra=None):
    e = dict(env)
    e.update(extra or {})
    p = subprocess.run([FEDBROKER, *args], env=e, capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


rc, out, err = run("endpoints")
ok(rc == 0, "the store is created", err)
db = sqlite3.connect(os.path.join(home, "state.db"))
now = int(time.time())
for tenant, wl, region in [("shop", "api", "eu-central-1"), ("shop", "api", "us-east-1"),
                           ("rival", "ledger", "us-east-1")]:
    db.execute("INSERT INTO endpoints(tenant,workload,provider,region,url,kind,updated_at,observed_at,"
               "protocol,health,source,lease_seconds,reported_at) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
               (tenant, wl, "aws", region, f"https://{wl}-{region}.example/", "url", "2026-01-01T00:00:00Z",
                "2026-01-01T00:00:00Z", "https", "passing", "apply", 0, now))
    db.execute("INSERT OR IGNORE INTO deployments(tenant,workload,provider,service,region,state,state_json,"
               "created_at,updated_at) VALUES(?,?,?,?,?,?,?,?,?)",
               (tenant, wl, "aws", "lambda", region, "ready", "{}", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"))
db.commit()
db.close()

ROLES = ["admin", "deployer", "viewer", "finance"]
tokens = {}
for tenant in ("shop", "rival"):
    for role in ROLES:
        rc, out, err = run("token", "create", "--tenant", tenant, "--role", role)
        tokens[(tenant, role)] = out.strip()
t0 = tokens[("shop", "viewer")]
ok(re.fullmatch(r"fbk_[0-9A-Za-z]{49}", t0 or ""), "a token: fbk_ + 49 base62 characters", t0)
ok(len(set(tokens.values())) == 8, "eight distinct tokens")
rc, out, err = run("token", "create", "--tenant", "shop", "--role", "root")
ok(rc == 64 and "admin|deployer|viewer|finance" in err, "an unknown role is a usage error", (rc, err))

# the store keeps hashes only
con = sqlite3.connect(os.path.join(home, "state.db"))
rows = con.execute("SELECT id, hash FROM api_tokens").fetchall()
dump = "\n".join(con.iterdump())
con.close()
ok(len(rows) == 8 and all(h == hashlib.sha256(t.encode()).hexdigest() for t in tokens.values()
                          for (i, h) in rows if t.startswith(i)),
   "each stored hash is the SHA-256 of its token", rows[:2])
ok(not any(t in dump for t in tokens.values()), "no token appears anywhere in the state file")

# an expired and a revoked token
rc, expired, err = run("token", "create", "--tenant", "shop", "--role", "admin", "--expires-in", "1h",
                       extra={"FEDBROKER_NOW": "2020-01-01T00:00:00Z"})
expired = expired.strip()
rc, revoked, err = run("token", "create", "--tenant", "shop", "--role", "admin")
revoked = revoked.strip()
rc, out, err = run("token", "revoke", revoked[:12])
ok(rc == 0, "token revoke ID", err)
rc, out, err = run("token", "revoke", "fbk_nosuchid")
ok(rc == 1 and "no token" in err, "revoking an unknown id: exit 1", (rc, err))
bad_sum = t0[:-1] + ("A" if t0[-1] != "A" else "B")

log_path = os.path.join(tmp, "serve.log")
logf = open(log_path, "w")
srv = subprocess.Popen([FEDBROKER, "serve", "--listen", "127.0.0.1:0", "--log-format", "json",
                        "--rate", "5", "--burst", "60", "--max-body", "1024", "--max-body-total", "4096", "--max-header", "8192",
                        "--timeout", "2", "--max-connections", "64"],
                       env=env, stdout=subprocess.PIPE, stderr=logf)
line = srv.stdout.readline().decode()
m = re.match(r"listening on http://127\.0\.0\.1:(\d+)", line)
ok(m, "serve prints where it listens", line)
port = int(m.group(1)) if m else 0


def req(method, path, token=None, body=None, headers=None):
    if isinstance(body, str):
        body = body.encode()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    try:
        j = json.loads(data)
    except ValueError:
        j = None
    return r.status, j, dict(r.getheaders())


st, j, h = req("GET", "/v1/healthz")
ok(st == 200 and j == {"status": "ok"}, "healthz needs no token", (st, j))
st, j, h = req("GET", "/v1/readyz")
ok(st == 200 and j == {"status": "ready"}, "readyz", (st, j))

def spec(tenant):
    return ("apiVersion: fedbroker.dev/v1\nkind: Container\nmetadata: {name: web, tenant: %s}\nspec:\n"
            "  image: public.ecr.aws/nginx/nginx:1.25\n  ports: [{port: 8080, public: true}]\n"
            "  placement: {providers: [aws], regions: [\"aws:us-east-1\"]}\n" % tenant)


def wait_op(href, tok):
    for _ in range(600):
        st, j, h = req("GET", href, tok)
        if st != 200 or j["state"] in ("succeeded", "failed"):
            return j
        time.sleep(0.1)
    return j


# a plan and an operation of each tenant, made through the API with tokens
# of their own (the matrix's tokens keep their rate-limit buckets)
plans, opers = {}, {}
for tenant in ("shop", "rival"):
    rc, out, err = run("token", "create", "--tenant", tenant, "--role", "admin")
    tokens[(tenant, "setup")] = out.strip()
    st, j, h = req("POST", "/v1/specs", tokens[(tenant, "setup")], body=spec(tenant),
                   headers={"Content-Type": "application/yaml"})
    ok(st == 201, f"tenant {tenant}: a spec submitted", (st, j))
    st, j, h = req("POST", "/v1/plans", tokens[(tenant, "setup")])
    ok(st == 202, f"tenant {tenant}: a plan queued", (st, j))
    plans[tenant], opers[tenant] = j["plan"], j["operation"]
    op = wait_op(j["href"], tokens[(tenant, "setup")])
    ok(op["state"] == "succeeded", f"tenant {tenant}: the plan operation succeeds", op)

# the matrix: route x role x own/other tenant -> status. The caller is of
# tenant shop; "own" names are shop's, "other" names are rival's.
READ = {"admin", "deployer", "viewer"}
WRITE = {"admin", "deployer"}
P, Q = plans["shop"], plans["rival"]
ROUTES = [
    # (method, path of own, path of other, body of own, body of other, roles allowed,
    #  status for own, status for other when allowed)
    ("GET", "/v1/endpoints", None, None, None, READ, 200, None),
    ("GET", "/v1/resolve/api", "/v1/resolve/ledger", None, None, READ, 200, 404),
    ("GET", "/v1/deployments", None, None, None, READ, 200, None),
    ("GET", "/v1/deployments/api", "/v1/deployments/ledger", None, None, READ, 200, 404),
    ("GET", "/v1/tokens", None, None, None, {"admin"}, 200, None),
    ("GET", "/metrics", None, None, None, {"admin"}, 200, None),
    ("GET", "/v1/drivers", None, None, None, READ, 200, None),
    ("POST", "/v1/specs/validate", None, spec("shop"), None, READ, 200, None),
    ("GET", "/v1/specs", None, None, None, READ, 200, None),
    ("POST", "/v1/specs", "/v1/specs", spec("shop"), spec("rival"), WRITE, 201, 403),
    ("GET", "/v1/plans", None, None, None, READ, 200, None),
    ("GET", f"/v1/plans/{P}", f"/v1/plans/{Q}", None, None, READ, 200, 404),
    ("GET", f"/v1/plans/{P}/changes", f"/v1/plans/{Q}/changes", None, None, READ, 200, 404),
    ("GET", f"/v1/plans/{P}/report", f"/v1/plans/{Q}/report", None, None, READ | {"finance"}, 200, 404),
    ("GET", f"/v1/operations/{opers['shop']}", f"/v1/operations/{opers['rival']}", None, None, READ, 200, 404),
    ("POST", "/v1/plans", None, None, None, WRITE, 202, None),
    ("POST", f"/v1/plans/{P}/apply", f"/v1/plans/{Q}/apply", None, None, WRITE, 202, 404),
    ("DELETE", "/v1/deployments/api", "/v1/deployments/ledger", None, None, WRITE, 202, 404),
]
bad = []
n = 0
for method, own, other, body_own, body_other, allowed, own_status, other_status in ROUTES:
    for role in ROLES:
        tok = tokens[("shop", role)]
        for which, path, body in (("own", own, body_own), ("other", other, body_other)):
            if path is None:
                continue
            want = (own_status if which == "own" else other_status) if role in allowed else 403
            st, j, h = req(method, path, tok, body=body, headers={"Content-Type": "application/yaml"} if body else None)
            n += 1
            leak = "ledger" in json.dumps(j) or "rival" in json.dumps(j) or (Q in json.dumps(j))
            if st != want or leak:
                bad.append((method, path, role, which, st, want, j))
ok(not bad and n == 108, f"the matrix: {n} (route, role, tenant) cells answer as expected, nothing of the other tenant leaks", bad)
# what the list routes hold: only the own tenant's rows
st, j, h = req("GET", "/v1/endpoints", tokens[("rival", "viewer")])
ok(st == 200 and [e["workload"] for e in j["endpoints"]] == ["ledger"], "rival sees only its own endpoints", j)
st, j, h = req("GET", "/v1/endpoints", tokens[("shop", "viewer")])
ok(st == 200 and sorted(e["region"] for e in j["endpoints"]) == ["eu-central-1", "us-east-1"]
   and all(e["tenant"] == "shop" for e in j["endpoints"]), "shop sees its two", j)
st, j, h = req("GET", "/v1/resolve/api?from=frankfurt", tokens[("shop", "deployer")])
ok(st == 200 and [e["region"] for e in j["endpoints"]] == ["eu-central-1", "us-east-1"],
   "resolve ?from=frankfurt orders by the latency model", j)
st, j, h = req("GET", "/v1/resolve/api?from=atlantis", tokens[("shop", "deployer")])
ok(st == 400 and "atlantis" in j["error"]["message"], "an unknown location: 400", (st, j))
st, j, h = req("GET", "/v1/nosuch", tokens[("shop", "admin")])
ok(st == 404, "an unknown route: 404", st)


# /metrics: Prometheus text, counts by route class and status, no names
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
c.request("GET", "/metrics", headers={"Authorization": f"Bearer {tokens[('shop', 'admin')]}"})
r = c.getresponse()
mtext = r.read().decode()
ctype = r.getheader("Content-Type")
c.close()
mvals = {}
for ln in mtext.splitlines():
    if ln and not ln.startswith("#"):
        k, v = ln.rsplit(" ", 1)
        mvals[k] = float(v)
ok(r.status == 200 and ctype.startswith("text/plain; version=0.0.4")
   and mvals.get('fedbroker_http_requests_total{route="resolve",code="404"}') == 3
   and mvals.get('fedbroker_http_requests_total{route="tokens",code="403"}') == 3
   and mvals.get('fedbroker_resolve_total{outcome="found"}') == 4
   and mvals.get('fedbroker_resolve_total{outcome="invalid"}') == 1
   and "ledger" not in mtext and "api" not in mtext.replace("fedbroker", ""),
   "/metrics counts requests by route and status and resolves by outcome, naming no workload", mtext[:1500])
# the time inside serve per request, a histogram by route class: each
# route's _count is its requests (the scrape itself is counted after its
# answer is queued), its buckets never fall as le grows, +Inf = _count
hist_ok, hist_why = True, []
for rc_ in ("resolve", "tokens", "endpoints", "healthz"):
    reqs = sum(v for k, v in mvals.items() if k.startswith(f'fedbroker_http_requests_total{{route="{rc_}",'))
    les = [(k, v) for k, v in mvals.items()
           if k.startswith(f'fedbroker_http_request_duration_seconds_bucket{{route="{rc_}",le=')]
    cum = [v for _, v in les]
    count = mvals.get(f'fedbroker_http_request_duration_seconds_count{{route="{rc_}"}}')
    if not (len(les) == 12 and les[-1][0].endswith('le="+Inf"}') and cum == sorted(cum) and cum[-1] == count == reqs
            and reqs > 0 and mvals.get(f'fedbroker_http_request_duration_seconds_sum{{route="{rc_}"}}', -1) >= 0):
        hist_ok = False
        hist_why.append((rc_, reqs, count, les))
ok(hist_ok, "/metrics: fedbroker_http_request_duration_seconds by route, cumulative buckets, counts = requests",
   hist_why)
# bytes that are not UTF-8 in the path, a query argument or the method
# (percent-decoded by the server): 400, never an answer that is not JSON
# (this crashed serve once: an error message quoting ?from=%FF)
for path in ("/v1/resolve/api?from=%ff", "/v1/resolve/%ff%fe", "/v1/deployments/%c3", "/v1/plans/%ff/report",
             "/v1/endpoints?%ff=1"):
    st, j, h = req("GET", path, tokens[("shop", "viewer")])
    ok(st == 400 and j and j["error"]["code"] == "invalid", f"GET {path}: 400, not UTF-8", (st, j))
# the same bytes raw, not percent-encoded, in the query (a fuzzer input once
# committed by mistake as crash-c5d6d10...: "?from=fran:furt\x9aall")
raw = socket.create_connection(("127.0.0.1", port))
raw.sendall(b"GET /v1/resolve/api?from=fran:furt\x9aall HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + tokens[("shop", "viewer")].encode() + b"\r\nConnection: close\r\n\r\n")
data = raw.recv(4096)
raw.close()
ok(data.startswith(b"HTTP/1.1 400"),
   "raw bytes that are not UTF-8 in a query: 400", data[:200])
raw = socket.create_connection(("127.0.0.1", port))
raw.sendall(b"G\xffT /v1/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
data = raw.recv(4096)
raw.close()
ok(data.startswith(b"HTTP/1.1 400"), "a method that is not UTF-8: 400", data[:100])
st, j, h = req("GET", "/v1/resolve/api?from=m%C3%BCnchen", tokens[("shop", "viewer")])
ok(st == 400 and "m\u00fcnchen" in j["error"]["message"], "a UTF-8 unknown location is quoted back", (st, j))
# tokens refused
cases = [("no header", None, "Authorization: Bearer"), ("malformed", "abc", "malformed"),
         ("bad checksum", bad_sum, "bad checksum"), ("expired", expired, "expired"),
         ("revoked", revoked, "revoked"),
         ("unknown", "fbk_" + "0" * 43 + t0[-6:], None)]
for name, tok, word in cases:
    st, j, h = req("GET", "/v1/endpoints", tok)
    msg = (j or {}).get("error", {}).get("message", "")
    ok(st == 401 and "Bearer" in h.get("WWW-Authenticate", "") and (word is None or word in msg),
       f"token {name}: 401 with WWW-Authenticate", (st, j, h))

# limits: a body over --max-body is 413; headers over --max-header are refused
st, j, h = req("POST", "/v1/endpoints", tokens[("shop", "admin")], body=b"x" * 5000,
               headers={"Content-Type": "application/json"})
ok(st == 413, "a 5000-byte body over --max-body 1024: 413", (st, j))
try:
    st, j, h = req("GET", "/v1/endpoints", tokens[("shop", "admin")], headers={"X-Big": "y" * 20000})
except (ConnectionError, http.client.HTTPException) as e:
    st = str(e)
ok(st == 431, "headers over --max-header: 431", st)
st, j, h = req("GET", "/v1/healthz")
ok(st == 200, "and the server answers the next request", st)
# --max-body-total 4096: four connections holding 999 bytes of a 1000-byte
# body each leave no room for a fifth body: 503 with Retry-After; once they
# finish, bodies are accepted again
held = []
hdr = ("POST /v1/specs/validate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
       "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n" % tokens[("shop", "setup")]).encode()
for i in range(4):
    hs = socket.create_connection(("127.0.0.1", port), timeout=10)
    hs.sendall(hdr + b" " * 999)
    held.append(hs)
# the held bodies count once the server has read them: on a loaded machine
# that may take a moment, so the fifth is tried until it meets them
for attempt in range(20):
    time.sleep(0.3)
    fifth = socket.create_connection(("127.0.0.1", port), timeout=10)
    fifth.sendall(hdr + b" " * 1000)
    answer = fifth.recv(4096)
    fifth.close()
    if not answer.startswith(b"HTTP/1.1 200"):
        break
ok(answer.startswith(b"HTTP/1.1 503") and b"Retry-After: 1" in answer and b'"busy"' in answer,
   "request bodies past --max-body-total: 503 busy with Retry-After", answer[:300])
codes = []
for hs in held:
    hs.sendall(b" ")
    codes.append(hs.recv(4096)[:12])
    hs.close()
ok(codes == [b"HTTP/1.1 200"] * 4, "the four held bodies are answered when complete", codes)
st, j, h = req("POST", "/v1/specs/validate", tokens[("shop", "setup")], body=" " * 1000,
               headers={"Content-Type": "application/json"})
ok(st == 200, "and a body is accepted again", (st, j))
# the rate limit: burst 60, 5/s
codes = []
hdr = {}
for i in range(80):
    st, j, h = req("GET", "/v1/endpoints", tokens[("rival", "admin")])
    codes.append(st)
    if st == 429:
        hdr = h
ok(codes[:60] == [200] * 60 and 429 in codes[60:] and int(hdr.get("Retry-After", "0")) >= 1,
   "per-token rate limit: 429 with Retry-After after the burst", (codes, hdr))
st, j, h = req("GET", "/v1/endpoints", tokens[("shop", "viewer")])
ok(st == 200, "another token is not limited by it", st)
# an idle (slowloris) connection is closed by the timeout
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"GET /v1/healthz HTTP/1.1\r\nHost: x\r\n")
s.settimeout(10)
t1 = time.time()
try:
    data = s.recv(100)
except OSError:
    data = b""
ok(data == b"" and time.time() - t1 < 8, "a client that stops mid-headers is disconnected by --timeout 2",
   (data, time.time() - t1))
s.close()
st, j, h = req("GET", "/v1/healthz")
ok(st == 200, "the server still answers", st)

# a revocation takes effect within the token cache's 5 seconds (docs/serve.md)
rc, late, err = run("token", "create", "--tenant", "shop", "--role", "viewer")
late = late.strip()
st1, j, h = req("GET", "/v1/endpoints", late)
rc, out, err = run("token", "revoke", late[:12])
t1 = time.time()
st2 = 200
while st2 == 200 and time.time() - t1 < 10:
    st2, j, h = req("GET", "/v1/endpoints", late)
    time.sleep(0.2)
took = time.time() - t1
ok(st1 == 200 and rc == 0 and st2 == 401 and took < 6.5,
   f"a revoked token is refused {took:.1f} s after `token revoke` (the cache holds 5 s)", (st1, rc, st2, took))

srv.send_signal(signal.SIGTERM)
srv.wait(timeout=10)
ok(srv.returncode == 0, "SIGTERM stops it, exit 0", srv.returncode)
logf.close()
lines = open(log_path).read().splitlines()
recs = [json.loads(x) for x in lines if x.startswith("{")]
ok(len(recs) >= 60 and all(r.get("request_id", "").startswith("req-") for r in recs),
   "one JSON log line per request, each with a request id", len(recs))
text = open(log_path).read()
ok(not any(t in text for t in list(tokens.values()) + [expired, revoked, bad_sum, late]),
   "no token appears in the log")
# optional TLS: a certificate and key from files (made here with openssl)
import ssl  # noqa: E402
sys.path.insert(0, os.path.join(TOP, "tests", "discovery"))
from tlsfront import make_pki  # noqa: E402
ca, crt, key = make_pki(tmp, ["us-east-1"])
# make_pki's certificate is for *.lambda-url.us-east-1.on.aws: the client
# checks the chain and that name (sent as SNI) while connecting to loopback
tls = subprocess.Popen([FEDBROKER, "serve", "--listen", "127.0.0.1:0", "--tls-cert", crt, "--tls-key", key],
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
line = tls.stdout.readline().decode()
m = re.match(r"listening on https://127\.0\.0\.1:(\d+)", line)
ok(m, "with --tls-cert/--tls-key it listens on https", line)
if m:
    ctx = ssl.create_default_context(cafile=ca)
    raw = socket.create_connection(("127.0.0.1", int(m.group(1))), timeout=10)
    ts = ctx.wrap_socket(raw, server_hostname="abc.lambda-url.us-east-1.on.aws")
    ts.sendall(b"GET /v1/endpoints HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tokens[("shop", "viewer")].encode()
               + b"\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        chunk = ts.recv(65536)
        if not chunk:
            break
        data += chunk
    ts.close()
    ok(data.startswith(b"HTTP/1.1 200") and b'"endpoints"' in data, "an authenticated request over verified TLS", data[:200])
rc, out, err = run("serve", "--listen", "127.0.0.1:0", "--tls-cert", crt)
ok(rc == 2 and "--tls-key" in err, "a certificate without its key: exit 2 naming what is missing", (rc, err))
tls.send_signal(signal.SIGTERM)
tls.wait(timeout=10)
import shutil  # noqa: E402
shutil.rmtree(tmp, ignore_errors=True)
ck.done()
