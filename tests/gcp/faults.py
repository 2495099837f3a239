#!/usr/bin/python3
"""Faults on the way to Google (tests/fakes/fake_gcp.py's fault API), each
on a fresh fake and store, each ending with exactly the service the spec
asks for (no duplicates) and `destroy --all` leaving nothing:

- 429 RESOURCE_EXHAUSTED (with Retry-After), 500 INTERNAL and 503
  UNAVAILABLE on the create, on operations.get, on setIamPolicy and on the
  token exchange: retried by the host (the create is guarded by its
  deterministic id, setIamPolicy by its etag, GETs are idempotent);
- a TCP reset on the create and on the upload of a function's source;
- a slow answer (within the HTTP timeout) and one slower than it: the
  retried create meets the first attempt's service (ALREADY_EXISTS) and
  adopts it: one service;
- 500 on every attempt: apply fails after http.max_attempts naming the
  call, nothing is duplicated, a later apply succeeds;
- an operation that fails (Cloud Run and Cloud Functions): apply fails with
  the operation's error, the service's id is already stored, apply again
  deploys a new revision (Cloud Run: forceNewRevision; Functions: a new
  build) and succeeds;
- an operation slower than settings.operationTimeout: apply gives up after
  the polls that fit (1+2+4+8 s for 10 s), a later apply waits for the
  same operation instead of creating again."""
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gcptest import PROJECT, REGION, Checker, Env, Fake, skip_unless_built  # noqa: E402

skip_unless_built()
ck = Checker("gcp faults")
fake = Fake(tempfile.mkdtemp(prefix="fb-gcp-fake-"))
SVC = """apiVersion: fedbroker.dev/v1
kind: Container
metadata: {name: web, tenant: shop}
spec:
  image: europe-docker.pkg.dev/p/r/web:1
  ports: [{port: 8080, protocol: http, public: true}]
"""
FN = """apiVersion: fedbroker.dev/v1
kind: Function
metadata: {{name: hello, tenant: shop}}
spec:
  runtime: python3.12
  handler: main.handler
  code: {{path: {src}}}
"""


def case(what, faults, expect_rc=0, fn=False, http=None, check=None, op_failure=None):
    fake.reset()
    env = Env(fake)
    if http:
        env.write_config(env.drv_settings, **http)
    os.makedirs(env.path("src"))
    env.write("src/main.py", "def handler(r):\n    return 'ok'\n")
    path = env.write("s.yaml", FN.format(src=env.path("src")) if fn else SVC)
    args = ["apply", "--target", "gcp:" + REGION] + (["--service", "cloud-functions"] if fn else []) + [path]
    if faults:
        fake.faults(faults)
    if op_failure:
        fake.control("POST", "op-failures", op_failure)
    rc, out, err = env.run(*args, timeout=120)
    ck.ok(rc == expect_rc, "%s: apply exits %d" % (what, expect_rc), (rc, out, err))
    if check:
        check(env, rc, out, err)
    fake.clear_faults()
    if rc != 0:
        rc, out, err = env.run(*args, timeout=120)
        ck.ok(rc == 0, "%s: apply again succeeds" % what, (rc, out, err))
    have = fake.functions() if fn else fake.services()
    ck.ok(list(have) == (["hello"] if fn else ["web"]), "%s: exactly one %s" % (what, "function" if fn else "service"),
          list(have))
    rc, out, err = env.run("destroy", "--all")
    ck.ok(rc == 0 and fake.services() == {} and fake.functions() == {}, "%s: destroy --all leaves nothing" % what,
          (rc, err, list(fake.services())))
    env.close()


def count(method_id):
    return len([e for e in fake.log() if e.get("method_id") == method_id])


def retried(method_id, n):
    def chk(env, rc, out, err):
        ck.ok(count(method_id) == n, "%s sent %d times (retried)" % (method_id, n), count(method_id))
    return chk


RUN = "run.projects.locations."
case("429 on the create", [{"count": 2, "status": 429, "retry_after": 0, "method": RUN + "services.create"}],
     check=retried(RUN + "services.create", 3))
case("500 on operations.get", [{"count": 2, "status": 500, "method": RUN + "operations.get"}])
case("503 on setIamPolicy", [{"count": 1, "status": 503, "method": RUN + "services.setIamPolicy"}],
     check=retried(RUN + "services.setIamPolicy", 2))
case("503 on the token exchange", [{"count": 1, "status": 503, "method": "oauth2.token"}])
case("a reset on the create", [{"count": 1, "reset": True, "method": RUN + "services.create"}],
     check=retried(RUN + "services.create", 2))
case("a reset on the source upload", [{"count": 1, "reset": True, "method": "upload"}], fn=True)
case("429 on the function's create", [{"count": 1, "status": 429, "retry_after": 0,
                                       "method": "cloudfunctions.projects.locations.functions.create"}], fn=True)
case("a slow answer", [{"count": 3, "delay_ms": 400, "method": RUN + "services.*"}])


def adopted(env, rc, out, err):
    # The fake goes on with a create the client gave up on: wait until each
    # has answered (its log entry gets its status then), or the destroy
    # below could run before the second one makes the service again (seen
    # at load 33 under the sanitizers).
    deadline = time.time() + 30
    while True:
        creates = [e for e in fake.log() if e.get("method_id") == RUN + "services.create"]
        if all("status" in e for e in creates) or time.time() > deadline:
            break
        time.sleep(0.05)
    # Usually the first attempt's late create makes the service and the
    # retry meets ALREADY_EXISTS and adopts it; on a loaded machine the
    # retry can come first and the late creates meet it. Either way one
    # create made the service and another got 409.
    ck.ok(len(creates) >= 2 and any(e.get("status") == 409 for e in creates) and
          [e.get("status") for e in creates].count(200) == 1,
          "one create made the service, another met ALREADY_EXISTS (adopted when it was the retry)",
          [(e.get("status"), e.get("fault")) for e in creates])


# the first two creates are answered after the client gave up
# (http.timeout_ms 1 s): the first makes the service at 2 s, so the third
# attempt meets ALREADY_EXISTS and adopts it
case("answers slower than the HTTP timeout", [{"count": 2, "delay_ms": 2000, "method": RUN + "services.create"}],
     http={"timeout_ms": 1000}, check=adopted)


def gave_up(env, rc, out, err):
    ck.ok("services.create" in err or "/services" in err, "the error names the call", err)
    ck.ok(env.db("SELECT * FROM resources") == [], "nothing was recorded")


case("500 on every attempt", [{"count": 50, "status": 500, "method": RUN + "services.create"}], expect_rc=1,
     check=gave_up)


def op_failed(env, rc, out, err):
    ck.ok("operation" in err and "FAILED_PRECONDITION" in err and "quota of revisions" in err,
          "the operation's error is the diagnostic", err)
    rows = env.db("SELECT type, cloud_id FROM resources")
    ck.ok(rows and rows[0][1].endswith("/web") or rows and rows[0][1].endswith("/hello"),
          "the id was stored when the create returned", rows)


case("a failed Cloud Run operation", None, expect_rc=1, check=op_failed,
     op_failure={"api": "run", "verb": "create", "count": 1, "status": "FAILED_PRECONDITION",
                 "message": "quota of revisions exceeded (injected)"})
case("a failed Cloud Functions operation", None, expect_rc=1, fn=True, check=op_failed,
     op_failure={"api": "cloudfunctions", "verb": "create", "count": 1, "status": "FAILED_PRECONDITION",
                 "message": "build failed: quota of revisions exceeded (injected)"})

# an operation slower than settings.operationTimeout (10 s of backoff: polls
# after 1, 2, 4 and 8 s, then give up); the service's id is stored, and the
# next apply with the default timeout waits for the same operation
fake.reset()
fake.config(op_polls=10)
env = Env(fake, operationTimeout="10s")
path = env.write("s.yaml", SVC)
rc, out, err = env.run("apply", "--target", "gcp:" + REGION, path)
polls = count(RUN + "operations.get")
ck.ok(rc == 1 and "did not finish within 10 s" in err and polls == 4,
      "an operation slower than operationTimeout: apply gives up after 4 polls (1+2+4+8 s)", (rc, err, polls))
ck.ok(len(env.db("SELECT * FROM resources")) == 1, "the service's id is stored")
env.write_config(dict(env.drv_settings, operationTimeout="20m"))
rc, out, err = env.run("apply", "--target", "gcp:" + REGION, path)
ck.ok(rc == 0 and count(RUN + "services.create") == 1, "apply again waits for the same operation: no second create",
      (rc, err))
rc, out, err = env.run("destroy", "--all")
ck.ok(rc == 0 and fake.services() == {}, "and destroy --all leaves nothing", (rc, err))
env.close()
fake.close()
ck.done()
