#!/usr/bin/python3
"""Portable secrets through the real CLI (issue 15, item 3).

put reads the value from stdin or --file, byte for byte, never from argv (a
value given as an argument is refused without being echoed); list shows
names, versions and dates, never values; the state holds only sealed text
(the planted value is not in state.db, its WAL, or any output); rm forgets
every version. Tampering, done with sqlite3 on the state file: a sealed value
moved to another tenant, renamed, renumbered, or with one flipped byte is
refused by `secret check` (exit 2) while the untouched ones still open; a
value sealed for one tenant copied over another's row is refused too. The
master key file at 0644 is refused (exit 2) and nothing is stored; a value
over 64 KiB or empty is refused.

Environment (tests/local.mk): FEDBROKER, top_srcdir."""
import base64
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

TOP = os.environ.get("top_srcdir") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FEDBROKER = os.environ.get("FEDBROKER") or os.path.join(TOP, "build", "fedbroker")
PLANT = "PLANTED-s3cr3t-7f1c9e"

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Checker  # noqa: E402

ck = Checker("secrets")
ok = ck.ok


tmp = tempfile.mkdtemp(prefix="fb-secrets-")
os.chmod(tmp, 0o755)
home = os.path.join(tmp, "home")
os.mkdir(home, 0o700)
outputs = []


def run(*args, stdin=None):
    env = dict(os.environ, FEDBROKER_HOME=home)
    p = subprocess.run([FEDBROKER, *args], capture_output=True, env=env,
                       input=stdin.encode() if isinstance(stdin, str) else stdin, timeout=60)
    outputs.append(p.stdout + p.stderr)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def db():
    return sqlite3.connect(os.path.join(home, "state.db"))


def check(tenant=None):
    args = ["secret", "check", "--format", "json"] + (["--tenant", tenant] if tenant else [])
    rc, out, err = run(*args)
    return rc, {(r["tenant"], r["name"], r["version"]): r["ok"] for r in json.loads(out or "[]")}, err


try:
    rc, out, err = run("secret", "put", "db-password", "--tenant", "acme", stdin=PLANT)
    ok(rc == 0 and "version 1" in out and PLANT not in out + err, "put from stdin: version 1", (rc, out, err))
    vfile = os.path.join(tmp, "v")
    with open(vfile, "wb") as f:
        f.write(PLANT.encode() + b"-v2\n")
    rc, out, err = run("secret", "put", "db-password", "--tenant", "acme", "--file", vfile)
    ok(rc == 0 and "version 2" in out and f"{len(PLANT) + 4} bytes" in out,
       "put --file: version 2, every byte kept (the newline too)", (rc, out, err))
    rc, out, err = run("secret", "put", "api-key", stdin=PLANT + "-api")
    ok(rc == 0, "put into the default tenant", (rc, err))
    rc, out, err = run("secret", "put", "db-password", PLANT + "-argv")
    ok(rc == 64 and "never taken from the command line" in err and PLANT not in out + err,
       "a value on the command line is refused (exit 64) and not echoed", (rc, out, err))
    rc, out, err = run("secret", "put", "bad/name", stdin="x")
    ok(rc == 2 and "lowercase letter" in err, "a name with '/' is refused", (rc, err))
    rc, out, err = run("secret", "put", "DB_Password", stdin="x")
    ok(rc == 2 and "lowercase letter" in err, "a name with upper case or '_' is refused", (rc, err))
    rc, out, err = run("secret", "put", "empty", stdin="")
    ok(rc == 2 and "empty" in err, "an empty value is refused", (rc, err))
    rc, out, err = run("secret", "put", "big", stdin=b"x" * 65537)
    ok(rc == 2 and "65537 bytes" in err, "a value over 64 KiB is refused", (rc, err))
    rc, out, err = run("secret", "put", "big", stdin=b"x" * 65536)
    ok(rc == 0, "a value of exactly 64 KiB is stored", (rc, err))

    rc, out, err = run("secret", "list", "--format", "json")
    lst = json.loads(out) if rc == 0 else []
    ok(rc == 0 and {(e["tenant"], e["name"], e["versions"], e["latest"]) for e in lst} ==
       {("acme", "db-password", 2, 2), ("default", "api-key", 1, 1), ("default", "big", 1, 1)},
       "list: tenant, name, versions, latest", lst)
    ok(all("sealed" not in e and "value" not in e for e in lst), "list shows no sealed text and no value", lst)
    rc, out, err = run("secret", "list")
    ok(rc == 0 and "db-password" in out and PLANT not in out, "list as a table", out)

    con = db()
    sealed = [r[0] for r in con.execute("SELECT sealed FROM secrets")]
    con.close()
    raw = b""
    for name in os.listdir(home):
        if name.startswith("state.db"):
            raw += open(os.path.join(home, name), "rb").read()
    ok(len(sealed) == 4 and PLANT.encode() not in raw and base64.b64encode(PLANT.encode())[:12] not in raw,
       "the state file (and its WAL) holds no plain value, only sealed text", len(sealed))

    rc, res, err = check()
    ok(rc == 0 and len(res) == 4 and all(res.values()), "check: every sealed value opens", (rc, res, err))

    # ---- tampering -----------------------------------------------------------
    def tamper(sql, params, desc, key):
        con = db()
        before = con.execute("SELECT tenant, name, version, sealed FROM secrets").fetchall()
        con.execute(sql, params)
        con.commit()
        con.close()
        rc, res, err = check()
        ok(rc == 2 and res.get(key) is False and sum(1 for v in res.values() if not v) == 1 and
           "1 sealed value refused" in err, f"tampering refused: {desc}", (rc, res, err))
        con = db()  # put the state back
        con.execute("DELETE FROM secrets")
        con.executemany("INSERT INTO secrets(tenant,name,version,sealed,created_at) VALUES(?,?,?,?,'x')", before)
        con.commit()
        con.close()

    tamper("UPDATE secrets SET tenant='evil' WHERE tenant='acme' AND version=1", (),
           "moved to another tenant", ("evil", "db-password", 1))
    tamper("UPDATE secrets SET name='other' WHERE tenant='acme' AND version=1", (),
           "moved to another name", ("acme", "other", 1))
    tamper("UPDATE secrets SET version=7 WHERE tenant='acme' AND version=1", (),
           "moved to another version", ("acme", "db-password", 7))
    s = bytearray(base64.b64decode(sealed[0]))
    for i in (0, 30, len(s) - 1):  # in the nonce, the ciphertext, the tag
        t = bytearray(s)
        t[i] ^= 0x80
        tamper("UPDATE secrets SET sealed=? WHERE tenant='acme' AND version=1",
               (base64.b64encode(bytes(t)).decode(),), f"one flipped byte at offset {i}",
               ("acme", "db-password", 1))
    con = db()
    acme = con.execute("SELECT sealed FROM secrets WHERE tenant='acme' AND version=2").fetchone()[0]
    con.close()
    tamper("UPDATE secrets SET sealed=? WHERE tenant='default' AND name='api-key'", (acme,),
           "another tenant's sealed value copied over a row", ("default", "api-key", 1))
    rc, res, err = check()
    ok(rc == 0 and all(res.values()), "the restored state opens again", (rc, res))

    # ---- the master key --------------------------------------------------------
    mk = os.path.join(home, "master.key")
    ok(os.stat(mk).st_mode & 0o777 == 0o600, "the master key file was made 0600")
    os.chmod(mk, 0o644)
    rc, out, err = run("secret", "put", "later", stdin="x")
    ok(rc == 2 and "0644" in err and "chmod 600" in err, "put with a 0644 master key: refused, saying why", (rc, err))
    rc, out, err = run("secret", "check")
    ok(rc == 2 and "0644" in err, "check with a 0644 master key: refused", (rc, err))
    os.chmod(mk, 0o600)
    rc, out, err = run("secret", "list", "--format", "json")
    ok("later" not in out, "nothing was stored under the refused key")

    rc, out, err = run("secret", "rm", "db-password", "--tenant", "acme")
    ok(rc == 0 and "2 versions" in out, "rm forgets every version", (rc, out))
    rc, out, err = run("secret", "rm", "db-password", "--tenant", "acme")
    ok(rc == 2 and "no secret" in err, "rm of a missing secret: exit 2", (rc, err))

    ok(not any(PLANT.encode() in o for o in outputs), "the planted value is in no output of any command")
finally:
    shutil.rmtree(tmp, ignore_errors=True)

ck.done()
