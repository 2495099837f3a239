#!/usr/bin/python3
"""The state file itself (issue 9, item 5).

  backup       a state at schema version 1 (tests/state/state-v1.sql, as the
               base commit wrote it) is copied to backups/ before fedbroker
               migrates it: the copy holds the same rows at version 1, is
               0600 in a 0700 directory, and only the newest 3 backups are
               kept (4 older ones planted);
  damaged      a copy of the migrated state with a damaged b-tree page (the
               cell pointers of `deployments`; then a page of `journal`
               overwritten with junk; then a header that is not SQLite's) is
               refused by every verb that opens it (plan, status, destroy)
               with exit 1 and a message naming the file, the last good copy
               and `.recover`; the file is not changed. Without a backup the
               message says so. (Today's main: `plan` exits 0.)
  schema       the version-1 state once migrated has the schema of a state
               fedbroker creates in a new home (which it makes from one
               script, not by replaying the migrations): tables, columns,
               defaults, constraints, indexes, triggers, user_version.
Runs the real CLI; needs only Python's sqlite3."""
import glob
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile

TOP = os.environ.get("top_srcdir") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("top_builddir") or os.path.join(TOP, "build")
FEDBROKER = os.environ.get("FEDBROKER") or os.path.join(BUILD, "fedbroker")
DRIVER_PATH = os.environ.get("FEDBROKER_DRIVER_PATH") or os.path.join(BUILD, "stage", "drivers")
SPEC = os.path.join(TOP, "examples", "function.yaml")

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Checker  # noqa: E402

ck = Checker("state file")
ok = ck.ok


def run(home, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"FEDBROKER_HOME": home, "FEDBROKER_DRIVER_PATH": DRIVER_PATH, "HOME": home})
    env.pop("FEDBROKER_CONFIG", None)
    p = subprocess.run([FEDBROKER, *args], env=env, capture_output=True, timeout=120)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def rows(path):
    """Every table's rows and the schema version: what a backup must keep."""
    con = sqlite3.connect(path)
    try:
        tables = [t for (t,) in con.execute(
            "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        out = {t: sorted(con.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}
        out["user_version"] = con.execute("PRAGMA user_version").fetchone()[0]
        return out
    finally:
        con.close()


def schema(path):
    """What the schema is to every query: user_version, each object's SQL
    (quotes and spacing normalised: RENAME quotes the new name, ADD COLUMN
    spaces differently), each table's columns, indexes, foreign keys."""
    con = sqlite3.connect(path)
    try:
        out = {"user_version": con.execute("PRAGMA user_version").fetchone()[0]}
        for typ, name, tbl, sql in con.execute(
                "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").fetchall():
            norm = None
            if sql is not None:
                norm = re.sub(r"\s+", " ", sql.replace('"', "")).strip()
                norm = re.sub(r"\s*([(),])\s*", r"\1", norm)
            out[(typ, name)] = [tbl, norm]
            if typ == "index":
                out[(typ, name)].append(con.execute("SELECT * FROM pragma_index_xinfo(?)", (name,)).fetchall())
            if typ == "table":
                out[(typ, name)] += [
                    con.execute("SELECT * FROM pragma_table_xinfo(?)", (name,)).fetchall(),
                    con.execute('SELECT name, "unique", origin, partial FROM pragma_index_list(?) '
                                "ORDER BY name", (name,)).fetchall(),
                    con.execute("SELECT * FROM pragma_foreign_key_list(?) ORDER BY id, seq",
                                (name,)).fetchall()]
        return out
    finally:
        con.close()


def damage(path, table, offset, data):
    """Overwrites bytes of the root page of table (a b-tree page)."""
    con = sqlite3.connect(path)
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name=?", (table,)).fetchone()[0]
    size = con.execute("PRAGMA page_size").fetchone()[0]
    con.close()
    with open(path, "r+b") as f:
        f.seek((root - 1) * size + offset)
        f.write(data)


def main():
    tmp = tempfile.mkdtemp(prefix="fb-state-")
    home = os.path.join(tmp, "home")
    os.mkdir(home, 0o700)
    db = os.path.join(home, "state.db")
    con = sqlite3.connect(db)
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "state-v1.sql")) as f:
        con.executescript(f.read())
    con.execute("PRAGMA user_version = 1")
    con.commit()
    con.close()
    v1 = rows(db)
    backups = os.path.join(home, "backups")
    os.mkdir(backups, 0o700)
    for stamp in ("20240101T000000Z", "20240201T000000Z", "20240301T000000Z", "20240401T000000Z"):
        with open(os.path.join(backups, f"state-{stamp}-v1.db"), "w") as f:
            f.write("an older backup\n")

    # ---- the backup before a migration ------------------------------------------
    rc, out, err = run(home, "plan", SPEC)
    ok(rc == 0, "plan on a version-1 state succeeds (it migrates it)", (rc, err))
    after = rows(db)
    ok(after["user_version"] >= 2 and len(after["deployments"]) == 2,
       "the state is migrated and keeps its deployments", after.get("user_version"))
    kept = sorted(os.path.basename(p) for p in glob.glob(os.path.join(backups, "state-*.db")))
    new = [k for k in kept if not k.startswith("state-2024")]
    ok(len(kept) == 3 and len(new) == 1 and new[0].endswith("-v1.db")
       and "state-20240101T000000Z-v1.db" not in kept and "state-20240201T000000Z-v1.db" not in kept,
       "one backup is taken and the newest 3 are kept", kept)
    if new:
        b = os.path.join(backups, new[0])
        ok(rows(b) == v1, "the backup holds the state as it was before the migration (version 1)",
           (rows(b).get("user_version"), {k: len(v) for k, v in rows(b).items() if isinstance(v, list)}))
        ok(stat.S_IMODE(os.stat(b).st_mode) == 0o600 and stat.S_IMODE(os.stat(backups).st_mode) == 0o700,
           "it is 0600 in a 0700 directory", oct(os.stat(b).st_mode))
        good = b
    else:
        good = None
    fresh_home = os.path.join(tmp, "fresh")
    os.mkdir(fresh_home, 0o700)
    rc, out, err = run(fresh_home, "plans")
    fresh, migrated = schema(os.path.join(fresh_home, "state.db")), schema(db)
    ok(rc == 0 and fresh == migrated and fresh["user_version"] == after["user_version"],
       "the migrated state has the schema of a state created in a new home",
       (rc, err, {k: (fresh.get(k), migrated.get(k)) for k in set(fresh) | set(migrated)
                  if fresh.get(k) != migrated.get(k)}))
    rc, out, err = run(home, "plan", SPEC)
    kept2 = sorted(os.path.basename(p) for p in glob.glob(os.path.join(backups, "state-*.db")))
    ok(rc == 0 and kept2 == kept, "no backup when nothing is migrated", kept2)

    # ---- a damaged page -----------------------------------------------------------
    pristine = os.path.join(tmp, "pristine.db")
    shutil.copy(db, pristine)
    cases = [
        ("the cell pointers of the deployments table", "deployments", 8, b"\xff" * 8),
        ("a page of the journal overwritten with junk", "journal", 0,
         bytes((i * 37 + 11) & 0xFF for i in range(4096))),
    ]
    for what, table, off, data in cases:
        shutil.copy(pristine, db)
        damage(db, table, off, data)
        before = open(db, "rb").read()
        for verb in (["plan", SPEC], ["status"], ["destroy", "--all"]):
            rc, out, err = run(home, *verb)
            ok(rc == 1 and f"state store {db} is damaged" in err and good and good in err
               and ".recover" in err,
               f"{what}: `{verb[0]}` refuses it, naming the file, the last good copy and .recover",
               (rc, out[-300:], err))
        ok(open(db, "rb").read() == before, f"{what}: the damaged file is not changed")
    # not a database at all
    shutil.copy(pristine, db)
    with open(db, "r+b") as f:
        f.write(b"this is not a SQLite file")
    rc, out, err = run(home, "status")
    ok(rc == 1 and f"state store {db} is damaged" in err, "a file that is not SQLite is refused the same way",
       (rc, err))
    # no backup to name
    shutil.copy(pristine, db)
    damage(db, "deployments", 8, b"\xff" * 8)
    shutil.rmtree(backups)
    rc, out, err = run(home, "plan", SPEC)
    ok(rc == 1 and "holds no earlier copy" in err and ".recover" in err,
       "without a backup the message says so and how to salvage", (rc, err))

    shutil.rmtree(tmp, ignore_errors=True)
    ck.done()


if __name__ == "__main__":
    main()
