#!/usr/bin/python3
"""bench/serve_resolve.py - a first look at `fedbroker serve` (not a test):
10,000 endpoints (2,000 names x 5 regions) and 1,000 tokens in a fresh
home, then 2,000 GET /v1/resolve/NAME?from=frankfurt on one keep-alive
connection, and the server's resident memory. Numbers: bench/README-serve.md."""
import http.client, json, os, re, signal, sqlite3, subprocess, sys, time
FB = os.environ.get("FEDBROKER") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "fedbroker")
import tempfile
home = tempfile.mkdtemp(prefix="fb-bench-serve-")
env = dict(os.environ, FEDBROKER_HOME=home, HOME=home)
subprocess.run([FB, "endpoints"], env=env, capture_output=True)
db = sqlite3.connect(os.path.join(home, "state.db"))
regions = ["us-east-1", "eu-central-1", "ap-southeast-1", "eu-west-1", "us-west-2"]
now = int(time.time())
rows = []
for i in range(2000):
    for r in regions:
        rows.append(("shop", f"svc{i}", "aws", r, f"https://svc{i}.{r}.example/", "url", "2026-01-01T00:00:00Z",
                     "2026-01-01T00:00:00Z", "https", "passing", "apply", 0, now))
db.executemany("INSERT INTO endpoints(tenant,workload,provider,region,url,kind,updated_at,observed_at,protocol,health,"
               "source,lease_seconds,reported_at) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
db.commit(); db.close()
t0 = time.time()
toks = []
for i in range(1000):
    toks.append(subprocess.run([FB, "token", "create", "--tenant", "shop", "--role", "viewer"], env=env,
                               capture_output=True).stdout.decode().strip())
print("1000 token creates:", round(time.time() - t0, 1), "s")
srv = subprocess.Popen(["nice", "-n", "19", FB, "serve", "--listen", "127.0.0.1:0", "--rate", "100000", "--burst", "100000"],
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
port = int(re.search(r":(\d+)$", srv.stdout.readline().decode().strip()).group(1))
c = http.client.HTTPConnection("127.0.0.1", port)
lat = []
for i in range(2000):
    t = time.perf_counter()
    c.request("GET", f"/v1/resolve/svc{i % 2000}?from=frankfurt", headers={"Authorization": "Bearer " + toks[i % 1000]})
    r = c.getresponse(); body = r.read()
    lat.append(time.perf_counter() - t)
    assert r.status == 200, (r.status, body)
lat.sort()
rss = int([l for l in open(f"/proc/{srv.pid}/status") if l.startswith("VmRSS")][0].split()[1])
print("resolve, 1 keep-alive connection, 2000 requests: p50 %.2f ms p99 %.2f ms; %.0f req/s" %
      (lat[1000] * 1e3, lat[1980] * 1e3, len(lat) / sum(lat)))
print("serve RSS with 10,000 endpoints and 1,000 tokens after the run:", rss // 1024, "MiB")
print("audit rows:", sqlite3.connect(os.path.join(home, "state.db")).execute("SELECT COUNT(*) FROM audit").fetchone()[0])
srv.send_signal(signal.SIGTERM); srv.wait()
