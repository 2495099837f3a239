#!/usr/bin/python3
"""The deterministic Lambda zip, through `fedbroker render` (which needs no
credentials): the same directory gives the same bytes (and SHA-256) even
after its timestamps and non-execute permission bits change; Debian's
`unzip -t` accepts it; Python's zipfile reads the expected sorted entries
with the files' contents, fixed 1980-01-01 timestamps, normalised modes,
the symlink as a link and no extra fields; a changed file changes the
bytes; a single file and a ready-made zip are packaged as documented; and
the fake's independent CodeSha256 of the uploaded package matches."""
import base64
import hashlib
import io
import json
import os
import stat
import subprocess
import sys
import time
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from awstest import Checker, Env, Fake, lambda_sha  # noqa: E402

ck = Checker("aws zip")
fake = Fake()
env = Env(fake)
src = env.path("code", "src")
files = {
    "app.py": b"def handler(event, context):\n    return {'ok': True}\n" * 20,
    "lib/util.py": b"X = 1\n",
    "lib/deep/data.json": json.dumps({"k": list(range(50))}).encode(),
    "bin/run": b"#!/bin/sh\nexec python3 app.py\n",
    ".hidden": b"secret-ish but part of the package\n",
    "n\u00e4me.txt": "non-ASCII name \u00e4\n".encode(),
    "a.txt": b"",
}
for rel, data in files.items():
    p = os.path.join(src, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data)
os.chmod(os.path.join(src, "bin", "run"), 0o755)
os.makedirs(os.path.join(src, "empty"))
os.symlink("lib/util.py", os.path.join(src, "link.py"))
spec = env.write("code/fn.yaml", """apiVersion: fedbroker.dev/v1
kind: Function
metadata: {name: zipped, tenant: z}
spec:
  runtime: python3.12
  handler: app.handler
  code: {path: src}
""")


def render_zip(spec_path):
    rc, out, err = env.run("render", "--target", "aws:us-east-1", spec_path,
                           unset=("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"))
    if rc != 0:
        print(err)
        return None
    doc = json.loads(out)[0]["documents"][0]
    return base64.b64decode(doc["body"]["Code"]["ZipFile"])


z1 = render_zip(spec)
ck.ok(z1 is not None, "render packages the directory without credentials")
# same content, other timestamps and non-execute permission bits
past = time.time() - 86400 * 400
for root, dirs, fs in os.walk(src):
    for n in dirs + fs:
        p = os.path.join(root, n)
        if not os.path.islink(p):
            os.utime(p, (past, past))
os.chmod(os.path.join(src, "app.py"), 0o600)
os.chmod(os.path.join(src, "lib", "util.py"), 0o664)
z2 = render_zip(spec)
ck.ok(z1 == z2, "same directory -> same bytes, whatever the timestamps and read/write bits",
      (hashlib.sha256(z1 or b"").hexdigest(), hashlib.sha256(z2 or b"").hexdigest()))
zpath = env.path("out.zip")
with open(zpath, "wb") as f:
    f.write(z1)
t = subprocess.run(["unzip", "-t", zpath], capture_output=True)
ck.ok(t.returncode == 0 and b"No errors detected" in t.stdout, "unzip -t accepts it", t.stdout + t.stderr)
zf = zipfile.ZipFile(io.BytesIO(z1))
names = zf.namelist()
want = sorted(list(files) + ["lib/", "lib/deep/", "bin/", "empty/", "link.py"])
ck.ok(names == want, "the entries are every file, directory and link, sorted by path", (names, want))
ck.ok(zf.testzip() is None, "zipfile's CRC check passes")
ck.ok(all(zf.read(rel) == data for rel, data in files.items()), "every file's content is intact")
infos = {i.filename: i for i in zf.infolist()}
ck.ok(all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos.values()), "every timestamp is 1980-01-01 00:00")
ck.ok(all(i.extra == b"" and i.comment == b"" for i in infos.values()), "no extra fields, no comments")
mode = {n: i.external_attr >> 16 for n, i in infos.items()}
ck.ok(mode["bin/run"] == 0o100755 and mode["app.py"] == 0o100644 and mode["lib/util.py"] == 0o100644
      and mode["lib/"] == 0o040755 and stat.S_ISLNK(mode["link.py"]),
      "modes: 0755 executables, 0644 files, 0755 directories, a symlink", {k: oct(v) for k, v in mode.items()})
ck.ok(zf.read("link.py") == b"lib/util.py", "the symlink stores its target")
ck.ok(infos["app.py"].compress_type == zipfile.ZIP_DEFLATED and infos["a.txt"].compress_type == zipfile.ZIP_STORED,
      "deflated where it helps, stored where it does not")
ck.ok(infos["n\u00e4me.txt"].flag_bits & 0x800, "a non-ASCII name is flagged UTF-8")
ck.ok(subprocess.run(["unzip", "-qq", "-o", zpath, "-d", env.path("unz")]).returncode == 0
      and open(env.path("unz", "bin", "run"), "rb").read() == files["bin/run"]
      and os.stat(env.path("unz", "bin", "run")).st_mode & 0o100, "unzip restores the executable bit")
# a changed file changes the package
with open(os.path.join(src, "lib", "util.py"), "ab") as f:
    f.write(b"Y = 2\n")
z3 = render_zip(spec)
ck.ok(z3 is not None and z3 != z1, "a changed file changes the bytes")
# a single file is zipped under its name; a zip is taken as it is
single = env.write("one/fn.yaml", open(spec).read().replace("code: {path: src}", "code: {path: app.py}"))
with open(env.path("one", "app.py"), "wb") as f:
    f.write(files["app.py"])
zs = render_zip(single)
ck.ok(zs is not None and zipfile.ZipFile(io.BytesIO(zs)).namelist() == ["app.py"], "a single file: one entry")
ready = env.path("ready", "pkg.zip")
os.makedirs(os.path.dirname(ready))
with zipfile.ZipFile(ready, "w") as zw:
    zw.writestr("app.py", files["app.py"])
env.write("ready/fn.yaml", open(spec).read().replace("code: {path: src}", "code: {path: pkg.zip}"))
zr = render_zip(env.path("ready", "fn.yaml"))
ck.ok(zr == open(ready, "rb").read(), "a ready-made zip is sent as it is")
# the fake computes CodeSha256 from what it received
rc, out, err = env.run("apply", "--target", "aws:us-east-1", spec)
cfg = fake.state()["lambda"].get("us-east-1|z-zipped", {}).get("config", {})
ck.ok(rc == 0 and cfg.get("CodeSha256") == lambda_sha(z3), "the fake's CodeSha256 matches the package", err)
fake.close()
env.close()
ck.done()
