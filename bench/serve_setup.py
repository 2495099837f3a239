#!/usr/bin/python3
"""bench/serve_setup.py HOME [NAMES] [TOKENS] - fills a fresh broker home
for bench/serve_bench.sh: NAMES x 5 endpoint rows (default 2,000 x 5 =
10,000) of tenant shop, and TOKENS tokens (default 1,000; the first admin, the others viewer). The
tokens are made here, in the format of docs/serve.md (fbk_ + 43 base62 +
6 base62 of the CRC-32), and only their SHA-256 is written, as `token
create` does; one process per `token create` would take minutes. Prints
the first token (the one wrk sends)."""
import hashlib, os, secrets, sqlite3, subprocess, sys, time, zlib

home = sys.argv[1]
names = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
ntok = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
FB = os.environ["FEDBROKER"]
env = dict(os.environ, FEDBROKER_HOME=home, HOME=home)
subprocess.run([FB, "endpoints"], env=env, capture_output=True, check=True)  # creates the store
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def b62(n, width):
    out = ""
    for _ in range(width):
        out = B62[n % 62] + out
        n //= 62
    return out


def token():
    body = b62(int.from_bytes(secrets.token_bytes(32), "big"), 43)
    return "fbk_" + body + b62(zlib.crc32(body.encode()), 6)


db = sqlite3.connect(os.path.join(home, "state.db"))
regions = ["us-east-1", "eu-central-1", "ap-southeast-1", "eu-west-1", "us-west-2"]
now = int(time.time())
db.executemany(
    "INSERT INTO endpoints(tenant,workload,provider,region,url,kind,updated_at,observed_at,protocol,health,"
    "source,lease_seconds,reported_at) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [("shop", f"svc{i}", "aws", r, f"https://svc{i}.{r}.example/", "url", "2026-01-01T00:00:00Z",
      "2026-01-01T00:00:00Z", "https", "passing", "apply", 0, now) for i in range(names) for r in regions])
toks = [token() for _ in range(ntok)]
db.executemany("INSERT INTO api_tokens(id,hash,tenant,role,created_at,expires_at) VALUES(?,?,?,?,?,NULL)",
               [(t[:12], hashlib.sha256(t.encode()).hexdigest(), "shop", "admin" if i == 0 else "viewer", now) for i, t in enumerate(toks)])
db.commit()
db.close()
with open(os.path.join(home, "tokens.txt"), "w") as f:
    f.write("\n".join(toks) + "\n")
print(toks[0])
