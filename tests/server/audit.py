#!/usr/bin/python3
"""The audit trail (issue 16, item 3): token changes and every credential
use of `fedbroker serve` are rows chained by SHA-256, with Ed25519-signed
checkpoints every 8 rows. `fedbroker audit verify` passes on the untouched
trail; then the SQLite file is tampered with directly, one copy per case:
a row altered, a row deleted, a row inserted in the middle and at the end,
the tail deleted, the whole chain rewritten with correct hashes after an
alteration (the hash formula reimplemented here from docs/serve.md: only
the signatures catch it), and checkpoints signed with a wrong key. Each
time verify exits 1 and names the row (or checkpoint) and what happened."""
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import tempfile

TOP = os.environ.get("top_srcdir") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("top_builddir") or os.path.join(TOP, "build")
FEDBROKER = os.environ.get("FEDBROKER") or os.path.join(BUILD, "fedbroker")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Checker  # noqa: E402

ck = Checker("audit")
ok = ck.ok


tmp = tempfile.mkdtemp(prefix="fb-audit-")


def mkhome(name):
    h = os.path.join(tmp, name)
    os.mkdir(h, 0o700)
    return h


home = mkhome("home")


def run(*args, h=None):
    e = {k: v for k, v in os.environ.items() if k != "FEDBROKER_NOW"}
    e.update(FEDBROKER_HOME=h or home, HOME=h or home, USER="auditor")
    p = subprocess.run([FEDBROKER, *args], env=e, capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


toks = []
for role in ("admin", "viewer", "finance"):
    rc, out, err = run("token", "create", "--tenant", "shop", "--role", role)
    toks.append(out.strip())
rc, out, err = run("token", "revoke", toks[2][:12])
ok(rc == 0, "token create x3, revoke: exit 0", err)
e = {k: v for k, v in os.environ.items() if k != "FEDBROKER_NOW"}
e.update(FEDBROKER_HOME=home, HOME=home)
srv = subprocess.Popen([FEDBROKER, "serve", "--listen", "127.0.0.1:0"], env=e, stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL)
port = int(re.search(r":(\d+)$", srv.stdout.readline().decode().strip()).group(1))
statuses = []
for i in range(19):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    path = ["/v1/endpoints", "/v1/tokens", "/v1/deployments/x"][i % 3]
    c.request("GET", path, headers={"Authorization": f"Bearer {toks[i % 2]}"})
    statuses.append(c.getresponse().status)
    c.close()
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
c.request("GET", "/v1/endpoints", headers={"Authorization": "Bearer " + toks[2]})  # revoked: not a use
c.getresponse().read()
srv.send_signal(signal.SIGTERM)
srv.wait(timeout=10)

db_path = os.path.join(home, "state.db")
con = sqlite3.connect(db_path)
rows = con.execute("SELECT id, actor, tenant, action, outcome FROM audit ORDER BY id").fetchall()
cps = con.execute("SELECT row_id FROM audit_checkpoints ORDER BY id").fetchall()
con.close()
ok(len(rows) == 23, "23 rows: 3 creates, 1 revoke, 19 credential uses (the revoked token's try is not a use)", rows)
ok(rows[0][1] == "cli:auditor" and rows[0][3] == "token.create" and rows[3][3] == "token.revoke",
   "token changes: who (cli:USER), what", rows[:4])
uses = rows[4:]
ok(all(r[1] == toks[i % 2][:12] and r[2] == "shop" for i, r in enumerate(uses)) and
   [r[4] for r in uses] == [str(s) for s in statuses] and uses[1][3] == "GET /v1/tokens",
   "each credential use: the token's id, tenant, method and path, the status it got", uses[:3])
ok(cps == [(8,), (16,)], "signed checkpoints at rows 8 and 16", cps)
rc, out, err = run("audit", "verify", "--format", "json")
rep = json.loads(out) if out.strip() else {}
ok(rc == 0 and rep.get("ok") is True and rep.get("rows") == 23 and rep.get("checkpoints") == 2,
   "audit verify: intact, exit 0", (rc, out, err))
rc, out, err = run("audit", "list", "--format", "json")
listed = json.loads(out) if rc == 0 and out.strip() else []
ok([(r.get("id"), r.get("actor"), r.get("tenant"), r.get("action"), r.get("outcome")) for r in listed] ==
   [tuple(r) for r in rows], "audit list --format json: the 23 rows as the table holds them", (rc, out[:600], err))
rc, out, err = run("audit", "list")
lines = out.splitlines()
ok(rc == 0 and len(lines) == 23 and all(ln.split()[0] == str(r[0]) and r[3].split()[0] in ln
                                         for ln, r in zip(lines, rows)),
   "audit list: one line per row, in order", (rc, out[:600], err))
rc, out, err = run("token", "list", "--format", "json")
tl = json.loads(out) if rc == 0 and out.strip() else []
ok(sorted(t.get("id") for t in tl) == sorted(t[:12] for t in toks) and
   [t.get("id") for t in tl if t.get("revoked_at") is not None] == [toks[2][:12]] and
   not any(t in out for t in toks),
   "token list --format json: the three ids, the revoked one marked, no secret", (rc, out[:600], err))
rc, out, err = run("token", "list", "--tenant", "shop")
ok(rc == 0 and len(out.splitlines()) == 3 and out.count("revoked") == 1 and not any(t in out for t in toks),
   "token list: a line per token, one revoked, no secret", (rc, out, err))
rc, out, err = run("token", "list", "--tenant", "nobody", "--format", "json")
ok(rc == 0 and json.loads(out) == [], "token list of a tenant without tokens: []", (rc, out, err))
shutil.copy(db_path, os.path.join(tmp, "good.db"))


def tampered(desc, sql_fn, want_kind, want_n, want_problem, word=None):
    shutil.copy(os.path.join(tmp, "good.db"), db_path)
    con = sqlite3.connect(db_path)
    sql_fn(con)
    con.commit()
    con.close()
    rc, out, err = run("audit", "verify", "--format", "json")
    rep = json.loads(out) if out.strip() else {}
    first = (rep.get("problems") or [{}])[0]
    good = rc == 1 and rep.get("ok") is False and first.get(want_kind) == want_n and \
        first.get("problem") == want_problem and (word is None or word in first.get("detail", ""))
    ok(good, f"{desc}: verify exits 1 naming {want_kind} {want_n} {want_problem}", (rc, rep, err))
    rc, out, err = run("audit", "verify")
    ok(rc == 1 and out.startswith("TAMPERED") and want_problem in out, f"{desc}: the table output says so", out)


tampered("a row altered", lambda c: c.execute("UPDATE audit SET outcome='200' WHERE id=10"), "row", 10, "changed")
tampered("a row deleted", lambda c: c.execute("DELETE FROM audit WHERE id=5"), "row", 5, "removed")


def insert_middle(c):
    for i in range(23, 11, -1):
        c.execute("UPDATE audit SET id=? WHERE id=?", (i + 1, i))
    prev = c.execute("SELECT hash FROM audit WHERE id=11").fetchone()[0]
    c.execute("INSERT INTO audit(id, at, actor, tenant, action, outcome, detail_json, prev_hash, hash)"
              " VALUES(12, '2026-12-07T00:00:00Z', 'fbk_intruder', 'shop', 'GET /v1/tokens', '200', '{}', ?, ?)",
              (prev, "f" * 64))


tampered("a row inserted in the middle", insert_middle, "row", 12, "inserted")
tampered("a row inserted at the end",
         lambda c: c.execute("INSERT INTO audit(id, at, actor, action, outcome, detail_json, prev_hash, hash)"
                             " VALUES(24, 'x', 'y', 'z', 'ok', '{}', ?, ?)", ("0" * 64, "e" * 64)),
         "row", 24, "inserted")
tampered("the tail deleted (rows 14-23)", lambda c: c.execute("DELETE FROM audit WHERE id>=14"), "row", 16, "removed",
         "ends at row 13")


def row_hash(r, prev):
    rid, at, actor, tenant, action, outcome, detail = r
    buf = f"fedbroker-audit/1|{rid}"
    for f in (at, actor, tenant or "", action, outcome, detail, prev):
        buf += f"|{len(f.encode())}:{f}"
    return hashlib.sha256(buf.encode()).hexdigest()


def rewrite(c):
    c.execute("UPDATE audit SET outcome='200' WHERE id=6")
    prev = "0" * 64
    for r in c.execute("SELECT id, at, actor, tenant, action, outcome, detail_json FROM audit ORDER BY id").fetchall():
        h = row_hash(r, prev)
        c.execute("UPDATE audit SET prev_hash=?, hash=? WHERE id=?", (prev, h, r[0]))
        prev = h


# the formula above is the one verify uses: recomputing it over the
# untouched trail gives the stored hashes
con = sqlite3.connect(os.path.join(tmp, "good.db"))
prev, same = "0" * 64, True
for r in con.execute("SELECT id, at, actor, tenant, action, outcome, detail_json, hash FROM audit ORDER BY id"):
    h = row_hash(r[:7], prev)
    same = same and h == r[7]
    prev = r[7]
con.close()
ok(same, "the hash formula of docs/serve.md reproduces every stored hash")
tampered("a row altered and the whole chain recomputed", rewrite, "row", 8, "changed", "checkpoint")

# a wrong signing key: audit.key replaced by another broker's
shutil.copy(os.path.join(tmp, "good.db"), db_path)
other = mkhome("other")
run("token", "create", "--tenant", "x", "--role", "viewer", h=other)
shutil.copy(os.path.join(other, "audit.key"), os.path.join(home, "audit.key"))
for i in range(2):
    run("token", "create", "--tenant", "shop", "--role", "viewer")
rc, out, err = run("audit", "verify", "--format", "json")
rep = json.loads(out) if out.strip() else {}
first = (rep.get("problems") or [{}])[0]
ok(rc == 1 and first.get("checkpoint") == 3 and first.get("problem") == "bad signature" and "audit.pub" in first.get("detail", ""),
   "a checkpoint signed with a wrong key: verify names checkpoint 3, bad signature", (rc, rep))

# group commit (auditq.h): 8 keep-alive clients at once, 400 credential
# uses; a clean stop commits every queued row, in one chain, in fewer
# transactions than rows
burst = mkhome("burst")
rc, btok, err = run("token", "create", "--tenant", "shop", "--role", "admin", h=burst)
btok = btok.strip()
e = {k: v for k, v in os.environ.items() if k != "FEDBROKER_NOW"}
e.update(FEDBROKER_HOME=burst, HOME=burst)
srv = subprocess.Popen([FEDBROKER, "serve", "--listen", "127.0.0.1:0", "--rate", "100000", "--burst", "100000"],
                       env=e, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
port = int(re.search(r":(\d+)$", srv.stdout.readline().decode().strip()).group(1))
import threading  # noqa: E402
codes = []


def client():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for i in range(50):
        c.request("GET", "/v1/endpoints", headers={"Authorization": "Bearer " + btok})
        r = c.getresponse()
        r.read()
        codes.append(r.status)
    c.close()


ths = [threading.Thread(target=client) for _ in range(8)]
for t in ths:
    t.start()
for t in ths:
    t.join()
# the writer runs below the request threads: on a loaded machine it may
# not have committed yet; wait for it (each /metrics is a row too)
t_end = time.time() + 30
while True:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/metrics", headers={"Authorization": "Bearer " + btok})
    mtext = c.getresponse().read().decode()
    c.close()
    committed = re.search(r"^fedbroker_audit_rows_total (\d+)", mtext, re.M)
    if (committed and int(committed.group(1)) >= 401) or time.time() > t_end:
        break
    time.sleep(0.2)
srv.send_signal(signal.SIGTERM)
srv.wait(timeout=30)
con = sqlite3.connect(os.path.join(burst, "state.db"))
n = con.execute("SELECT COUNT(*) FROM audit WHERE action='GET /v1/endpoints'").fetchone()[0]
con.close()
batches = re.search(r"^fedbroker_audit_batches_total (\d+)", mtext, re.M)
ok(codes == [200] * 400 and n == 400 and srv.returncode == 0,
   "400 concurrent credential uses, then SIGTERM: all 400 audit rows committed", (codes.count(200), n))
ok(batches and committed and 0 < int(batches.group(1)) < int(committed.group(1)),
   "the writer commits them in batches: fewer transactions than rows (metrics)",
   (batches and batches.group(1), committed and committed.group(1)))
rc, out, err = run("audit", "verify", "--format", "json", h=burst)
rep = json.loads(out) if out.strip() else {}
con = sqlite3.connect(os.path.join(burst, "state.db"))
total = con.execute("SELECT COUNT(*) FROM audit").fetchone()[0]
bcps = [r[0] for r in con.execute("SELECT row_id FROM audit_checkpoints ORDER BY id")]
con.close()
# a transaction of more than 64 rows signs only the last multiple of 8 in
# it (auditq.c): every checkpoint on a multiple of 8, and at most 7 rows
# after the last one
ok(bcps and all(r % 8 == 0 for r in bcps) and total - bcps[-1] < 8,
   f"checkpoints of the group commit: on multiples of 8, {len(bcps)} of them for {total} rows in "
   f"{batches and batches.group(1)} transactions, the last within 8 rows of the end", (bcps, total))
ok(rc == 0 and rep.get("ok") is True and rep.get("rows") == total, "and the chain verifies", (rc, out, err))
shutil.rmtree(tmp, ignore_errors=True)
ck.done()
