#!/usr/bin/python3
"""`fedbroker serve --rt-priority N` (docs/serve.md): the request threads
(libmicrohttpd's workers) run in SCHED_FIFO at priority N, the audit writer
and the request log's flusher stay SCHED_BATCH; out-of-range values are
usage errors; where the kernel refuses (no CAP_SYS_NICE) serve says so once
on stderr and keeps serving in the fair scheduler. Read from
/proc/PID/task/*/sched, the kernel's own account of each thread's policy.
Requests still answer and every one is an audit row. And
`--thread-per-connection`, libmicrohttpd's other threading mode: a thread
per open connection instead of the pool."""
import http.client
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import FEDBROKER, Checker  # noqa: E402

ck = Checker("sched")
ok = ck.ok
tmp = tempfile.mkdtemp(prefix="fb-sched-")
home = os.path.join(tmp, "home")
os.mkdir(home, 0o700)
env = {k: v for k, v in os.environ.items() if k != "FEDBROKER_NOW"}
env.update(FEDBROKER_HOME=home, HOME=home, USER="sched")

for bad in ("0", "100", "x"):
    p = subprocess.run([FEDBROKER, "serve", "--rt-priority", bad], env=env, capture_output=True, timeout=30)
    ok(p.returncode == 64 and b"rt-priority" in p.stderr, f"--rt-priority {bad}: usage error (64)",
       (p.returncode, p.stderr))

p = subprocess.run([FEDBROKER, "token", "create", "--tenant", "shop", "--role", "admin"], env=env,
                   capture_output=True, timeout=60)
tok = p.stdout.decode().strip()


def may_rt():
    """Whether this process may use SCHED_FIFO (what serve will be allowed)."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    except (PermissionError, OSError):
        return False
    os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    return True


allowed = may_rt()
errf = open(os.path.join(tmp, "serve.err"), "w+b")
srv = subprocess.Popen([FEDBROKER, "serve", "--listen", "127.0.0.1:0", "--rt-priority", "7", "--rate", "100000",
                        "--burst", "100000"], env=env, stdout=subprocess.PIPE, stderr=errf)
port = int(re.search(r":(\d+)$", srv.stdout.readline().decode().strip()).group(1))
codes = []
lock = threading.Lock()


def client():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for _ in range(25):
        c.request("GET", "/v1/endpoints", headers={"Authorization": "Bearer " + tok})
        r = c.getresponse()
        r.read()
        with lock:
            codes.append(r.status)
    c.close()


ths = [threading.Thread(target=client) for _ in range(8)]
for t in ths:
    t.start()
for t in ths:
    t.join()
threads = []
for t in os.listdir(f"/proc/{srv.pid}/task"):
    comm = open(f"/proc/{srv.pid}/task/{t}/comm").read().strip()
    sched = open(f"/proc/{srv.pid}/task/{t}/sched").read()
    policy = int(re.search(r"^policy\s*:\s*(\d+)", sched, re.M).group(1))
    prio = int(re.search(r"^prio\s*:\s*(\d+)", sched, re.M).group(1))
    threads.append((comm, policy, prio))
workers = [t for t in threads if t[0].startswith("MHD-")]
others = {t[0]: t[1] for t in threads if t[0] in ("fb-audit", "fb-reqlog")}
ok(codes == [200] * 200, "200 requests on 8 connections answered 200", codes.count(200))
if allowed:
    # a thread's policy is set on its first request; the kernel's prio of
    # SCHED_FIFO priority 7 is 99 - 7 = 92
    rt = [t for t in workers if t[1] == 1]
    ok(rt and all(t[2] == 92 for t in rt) and all(t[1] in (0, 1) for t in workers),
       f"request threads that served: SCHED_FIFO priority 7 ({len(rt)} of {len(workers)} workers)", threads)
else:
    ok(all(t[1] == 0 for t in workers), "not permitted: the request threads stay SCHED_OTHER", threads)
ok(others.get("fb-audit") == 3 and others.get("fb-reqlog") == 3,
   "the audit writer and the log flusher stay SCHED_BATCH (policy 3)", threads)
srv.send_signal(signal.SIGTERM)
srv.wait(timeout=30)
errf.seek(0)
err = errf.read().decode()
ok(("refused" in err) == (not allowed), "stderr says the policy was refused exactly when it was", err[-300:])
con = sqlite3.connect(os.path.join(home, "state.db"))
n = con.execute("SELECT COUNT(*) FROM audit WHERE action='GET /v1/endpoints'").fetchone()[0]
con.close()
ok(srv.returncode == 0 and n == 200, "SIGTERM: exit 0, 200 audit rows", (srv.returncode, n))

# --thread-per-connection: libmicrohttpd's other threading mode, a thread
# per connection (bench/README-serve.md compares the two); 8 keep-alive
# connections open at once are 8 connection threads, each answering
srv = subprocess.Popen([FEDBROKER, "serve", "--listen", "127.0.0.1:0", "--thread-per-connection", "--rate", "100000",
                        "--burst", "100000"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
port = int(re.search(r":(\d+)$", srv.stdout.readline().decode().strip()).group(1))
conns, got = [], []
for _ in range(8):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", "/v1/endpoints", headers={"Authorization": "Bearer " + tok})
    r = c.getresponse()
    r.read()
    got.append(r.status)
    conns.append(c)
comms = [open(f"/proc/{srv.pid}/task/{t}/comm").read().strip() for t in os.listdir(f"/proc/{srv.pid}/task")]
for c in conns:
    c.close()
per_conn = sum(1 for c in comms if c.startswith("MHD-conn"))
ok(got == [200] * 8 and per_conn == 8 and not any(c == "MHD-worker" for c in comms),
   "--thread-per-connection: 8 open connections, 8 connection threads, no pool worker", (got, sorted(comms)))
srv.send_signal(signal.SIGTERM)
srv.wait(timeout=30)
ok(srv.returncode == 0, "and it stops cleanly", srv.returncode)
ck.done()
