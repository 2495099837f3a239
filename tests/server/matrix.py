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

failed = passed = 0


def ok(cond, desc, detail=None):
    global failed, passed
    if cond:
        passed += 1
        print(f"ok: {desc}")
    else:
        failed += 1
        print(f"FAIL: {desc}")
        if detail is not None:
            print("   ", detail if isinstance(detail, str) else json.dumps(detail, default=str)[:3000])


tmp = tempfile.mkdtemp(prefix="fb-serve-")
home = os.path.join(tmp, "home")
os.mkdir(home, 0o700)
env = {k: v for k, v in os.environ.items() if k not in ("FEDBROKER_NOW",)}
env.update(FEDBROKER_HOME=home, HOME=home)


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
                        "--rate", "5", "--burst", "20", "--max-body", "1024", "--max-header", "8192",
                        "--timeout", "2", "--max-connections", "64"],
                       env=env, stdout=subprocess.PIPE, stderr=logf)
line = srv.stdout.readline().decode()
m = re.match(r"listening on http://127\.0\.0\.1:(\d+)", line)
ok(m, "serve prints where it listens", line)
port = int(m.group(1)) if m else 0


def req(method, path, token=None, body=None, headers=None):
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

# the matrix: route x role x own/other tenant -> status. The caller is of
# tenant shop; "own" names are shop's, "other" names are rival's.
READ = {"admin", "deployer", "viewer"}
ROUTES = [
    # (path of own, path of other, roles allowed, status for other when allowed)
    ("/v1/endpoints", None, READ, None),
    ("/v1/resolve/api", "/v1/resolve/ledger", READ, 404),
    ("/v1/deployments", None, READ, None),
    ("/v1/deployments/api", "/v1/deployments/ledger", READ, 404),
    ("/v1/tokens", None, {"admin"}, None),
]
bad = []
n = 0
for own, other, allowed, other_status in ROUTES:
    for role in ROLES:
        tok = tokens[("shop", role)]
        for which, path in (("own", own), ("other", other)):
            if path is None:
                continue
            want = (200 if which == "own" else other_status) if role in allowed else 403
            st, j, h = req("GET", path, tok)
            n += 1
            leak = "ledger" in json.dumps(j) or "rival" in json.dumps(j)
            if st != want or leak:
                bad.append((path, role, which, st, want, j))
ok(not bad and n == 28, f"the matrix: {n} (route, role, tenant) cells answer as expected, nothing of the other tenant leaks", bad)
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
# the rate limit: burst 20, 5/s
codes = []
hdr = {}
for i in range(30):
    st, j, h = req("GET", "/v1/endpoints", tokens[("rival", "admin")])
    codes.append(st)
    if st == 429:
        hdr = h
ok(codes[:20] == [200] * 20 and 429 in codes[20:] and int(hdr.get("Retry-After", "0")) >= 1,
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

srv.send_signal(signal.SIGTERM)
srv.wait(timeout=10)
ok(srv.returncode == 0, "SIGTERM stops it, exit 0", srv.returncode)
logf.close()
lines = open(log_path).read().splitlines()
recs = [json.loads(x) for x in lines if x.startswith("{")]
ok(len(recs) >= 60 and all(r.get("request_id", "").startswith("req-") for r in recs),
   "one JSON log line per request, each with a request id", len(recs))
text = open(log_path).read()
ok(not any(t in text for t in list(tokens.values()) + [expired, revoked, bad_sum]),
   "no token appears in the log")
print(f"serve matrix: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
