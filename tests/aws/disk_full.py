#!/usr/bin/python3
"""A real full file system during apply (issue 9, item 2). Needs root (it
mounts a 4 MiB tmpfs as FEDBROKER_HOME); skipped (exit 77) otherwise.

fedbroker applies 4 functions at parallelism 4; the fake holds their
CreateFunction requests 1.5 s; while they are held the test fills the file
system, so the functions are created but their ARNs cannot be stored
(SQLITE_FULL). Then:
  - apply fails, and for each function the message says that it exists and
    where (type, ARN, name, region); never "not sent" (today's main said
    `not sent` four times and nothing else);
  - once space is freed, `destroy --all` finds the four functions by their
    names and deletes them: the fake holds none, the store is empty."""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from awstest import Checker, Env, Fake, ops, wait_for  # noqa: E402

FN = """apiVersion: fedbroker.dev/v1
kind: Function
metadata: {{name: full{i}, tenant: df}}
spec:
  runtime: python3.12
  handler: app.handler
  code: {{s3: {{bucket: df-code, key: full{i}.zip}}}}
"""


def fill(path):
    """Writes path until the file system refuses (ENOSPC)."""
    block = b"\0" * 65536
    with open(path, "wb", buffering=0) as f:
        try:
            while True:
                f.write(block)
        except OSError:
            pass
        try:  # the last bytes a block did not fit
            while True:
                f.write(b"\0" * 512)
        except OSError:
            pass


def main():
    if os.geteuid() != 0:
        print("SKIP: needs root to mount a small tmpfs (run as root to test a real full disk)")
        sys.exit(77)
    fake = Fake()
    env = Env(fake)
    config = os.path.join(env.home, "config.json")
    saved = open(config).read()
    shutil.rmtree(env.home)
    os.mkdir(env.home)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", env.home],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(f"SKIP: cannot mount a tmpfs here: {r.stderr.strip()}")
        fake.close()
        env.close()
        sys.exit(77)
    ck = Checker("aws full disk")
    try:
        with open(config, "w") as f:
            f.write(saved)
        spec = env.write("fns.yaml", "---\n".join(FN.format(i=i) for i in range(4)))
        rc, out, err = env.run("status")  # creates the store while there is room
        fake.faults([{"count": 4, "delay_ms": 1500, "service": "lambda", "operation": "CreateFunction"}])
        mark = fake.seq()
        p = env.popen("apply", "--parallelism", "4", "--target", "aws:us-east-1", spec)
        held = wait_for(lambda: ops(fake.log(mark)).count("CreateFunction") == 4, 30)
        ck.ok(held, "the four CreateFunction requests are held at the fake")
        filler = os.path.join(env.home, "filler")
        fill(filler)
        out, err = p.communicate(timeout=60)
        out, err = out.decode(), err.decode()
        ck.ok(p.returncode != 0, "apply fails", (p.returncode, out, err))
        ck.ok(len(fake.state()["lambda"]) == 4, "the four functions exist at the fake",
              list(fake.state()["lambda"]))
        for i in range(4):
            arn = f"arn:aws:lambda:us-east-1:123456789012:function:df-full{i}"
            ck.ok(f"lambda-function {arn} (name df-full{i}) exists at aws in us-east-1" in err,
                  f"the message says function df-full{i} exists, and where", err)
        ck.ok("not sent" not in err, "no message says `not sent`", err)
        os.unlink(filler)
        rc, out, err = env.run("destroy", "--all")
        ck.ok(rc == 0 and not fake.state()["lambda"],
              "with space again, destroy --all finds the four by name and deletes them",
              (rc, out, err, list(fake.state()["lambda"])))
        ck.ok(not env.db("SELECT * FROM deployments"), "the store has no deployment left",
              env.db("SELECT * FROM deployments"))
    finally:
        for _ in range(50):
            if subprocess.run(["umount", env.home], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        fake.close()
        env.close()
    ck.done()


if __name__ == "__main__":
    main()
