#!/usr/bin/python3
"""Secrets echoed by a provider never reach what fedbroker prints or stores
(issue 9, item 6). A recognisable session token is planted in the
environment; the fake AWS echoes it back on every error path we can reach:
the 403 InvalidSignatureException that quotes the canonical request (the
secret key is wrong on purpose), a 400 ValidationException quoting the
token, 500 bodies with the token and a secret-looking XML field the call
never sent, on apply, status (observe), destroy and discover, on the quantum
driver's Braket backend too (the redaction is the host's, not a driver's),
plus a dry run, all with FEDBROKER_LOG=debug and --format json and table output.
Then every byte fedbroker printed and every file in its home (state.db and
its WAL) is searched for the token, its URL-encoded form, the secret keys
and the unknown secret. The fake's own log proves each echo happened."""
import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from awstest import SK, Checker, Env, Fake  # noqa: E402

ck = Checker("aws secrets")
TOKEN = "FQoGZXIvYXdzPLANTEDsessionTOKEN+/=leak-canary-7f3a"
WRONG_SK = "wrongSecretKey/PLANTED+0000+leak-canary-9c1d"
UNKNOWN = "UnknownSecretNeverSentPLANTED-4e2b"  # a secret the call never knew
NEEDLES = {
    "session token": TOKEN,
    "URL-encoded session token": urllib.parse.quote(TOKEN, safe=""),
    "secret key": SK,
    "wrong secret key": WRONG_SK,
    "secret-looking field": UNKNOWN,
}

fake = Fake()
env = Env(fake)
env.env["AWS_SESSION_TOKEN"] = TOKEN
env.env["FEDBROKER_LOG"] = "debug"
outputs = []  # (what, text) of everything fedbroker printed


def run(what, *args, **kw):
    rc, out, err = env.run(*args, **kw)
    outputs.append((what + " stdout", out))
    outputs.append((what + " stderr", err))
    return rc, out, err


spec = env.write("leaky.yaml", """apiVersion: fedbroker.dev/v1
kind: Function
metadata: {name: leaky, tenant: ops}
spec:
  runtime: nodejs20
  handler: index.handler
  code: {s3: {bucket: ops-code, key: leaky.zip}}
  resources: {memory: 256Mi}
""")


def echoed(since, op):
    """Whether the fake answered op with an error that quotes the token."""
    return any(e.get("operation") == op and TOKEN in json.dumps(e.get("error") or {})
               for e in fake.log(since))


def echo_faults(op, status, code, service="lambda"):
    body = (f"1 validation error detected: Value '{TOKEN}' at 'X-Amz-Security-Token' failed; "
            f"x-amz-security-token:{TOKEN}\n<SecretAccessKey>{UNKNOWN}</SecretAccessKey>")
    fake.faults([{"count": 10, "status": status, "code": code, "message": body,
                  "service": service, "operation": op}])


# ---- 403: the wrong secret key makes the fake quote the canonical request -------------------
mark = fake.seq()
rc, out, err = run("apply 403", "apply", "--target", "aws:us-east-1", spec,
                   env={"AWS_SECRET_ACCESS_KEY": WRONG_SK})
ck.ok(rc != 0, "apply with a wrong secret key fails", err)
ck.ok(echoed(mark, "GetFunction") or echoed(mark, "CreateFunction"),
      "the fake's 403 quotes the canonical request with the token (the plant works)")
ck.ok("InvalidSignatureException" in err, "the 403 is reported", err)
rc, out, err = run("apply 403 json", "apply", "--target", "aws:us-east-1", spec, "--format", "json",
                   env={"AWS_SECRET_ACCESS_KEY": WRONG_SK})
ck.ok(rc != 0 and "REDACTED" in out + err, "the --format json output says where it redacted", out + err)

# ---- 400 and 500 echoes on apply ------------------------------------------------------------
for status, code in ((400, "InvalidParameterValueException"), (500, "ServiceException")):
    fake.clear_faults()
    echo_faults("CreateFunction", status, code)
    mark = fake.seq()
    rc, out, err = run(f"apply {status}", "apply", "--target", "aws:us-east-1", spec, "--format", "json")
    ck.ok(rc != 0, f"apply fails on the injected {status}", err)
    ck.ok(echoed(mark, "CreateFunction"), f"the fake's {status} quotes the token")
    ck.ok(code in out + err, f"the {status} {code} is reported", out + err)
fake.clear_faults()

# ---- a dry run prints the requests with the token redacted ---------------------------------
rc, out, err = run("dry run", "apply", "--dry-run", "--target", "aws:us-east-1", spec, "--format", "json")
ck.ok(rc == 0 and '"X-Amz-Security-Token": "REDACTED"' in out, "the dry run redacts the token header",
      out[:2000] + err)

# ---- a real apply, then observe, destroy and discover each meet an echo ----------------------
rc, out, err = run("apply ok", "apply", "--target", "aws:us-east-1", spec)
ck.ok(rc == 0, "apply without faults succeeds", err)
for verb, op, args in (("status", "GetFunction", ("status", "--format", "json")),
                       ("discover", "ListFunctions", ("discover", "--provider", "aws", "--format", "json")),
                       ("destroy", "DeleteFunction", ("destroy", "--all", "--format", "json"))):
    echo_faults(op, 400, "InvalidParameterValueException")
    mark = fake.seq()
    rc, out, err = run(verb, *args)
    ck.ok(echoed(mark, op), f"{verb}: the fake's {op} answer quotes the token")
    ck.ok(rc != 0 or "InvalidParameterValueException" in out + err, f"{verb}: the error is reported",
          out + err)
    fake.clear_faults()
rc, out, err = run("destroy ok", "destroy", "--all")
ck.ok(rc == 0, "destroy without faults succeeds", err)

# ---- a second driver, the same host: the quantum driver's Braket backend -----------------------
with open(os.path.join(env.home, "config.json")) as f:
    conf = json.load(f)
conf["drivers"]["quantum"] = {"braket": {"endpoint": fake.base, "s3Endpoint": fake.base,
                                         "outputS3Bucket": "fedbroker-test-results"}}
with open(os.path.join(env.home, "config.json"), "w") as f:
    json.dump(conf, f)
bell = os.path.join(os.environ.get("top_srcdir") or os.path.join(os.path.dirname(__file__), "..", ".."),
                    "examples", "quantum-bell.yaml")
QT = ("--target", "quantum:us-east-1", "--service", "braket-sv1")
for op, status, code in (("CreateQuantumTask", 400, "ValidationException"),
                         ("GetQuantumTask", 500, "InternalServerException")):
    echo_faults(op, status, code, service="braket")
    mark = fake.seq()
    rc, out, err = run(f"braket {op}", "apply", bell, *QT, "--format", "json")
    ck.ok(rc != 0, f"braket: apply fails on the injected {status} on {op}", err)
    ck.ok(echoed(mark, op), f"braket: the fake's {op} answer quotes the token")
    fake.clear_faults()
# destroy meets the task created before GetQuantumTask failed (what it prints
# is searched below; whether it can delete that task is the life cycle's
# business, not this test's)
run("braket destroy", "destroy", "--all")

# ---- nothing printed or stored holds a secret ----------------------------------------------
stored = []
for root, _dirs, files in os.walk(env.home):
    for f in files:
        with open(os.path.join(root, f), "rb") as fh:
            stored.append((os.path.relpath(os.path.join(root, f), env.home),
                           fh.read().decode("latin-1")))
ck.ok(any(n.startswith("state.db") for n, _ in stored), "the state files exist",
      [n for n, _ in stored])
journal = env.db("SELECT detail_json FROM journal")
ck.ok(any("InvalidParameterValueException" in (d or "") for (d,) in journal),
      "the journal stored the provider's errors (so the search below means something)", journal)
for what, needle in NEEDLES.items():
    leaks = [w for w, text in outputs if needle in text]
    ck.ok(not leaks, f"no {what} in anything fedbroker printed", leaks)
    leaks = [n for n, text in stored if needle in text]
    ck.ok(not leaks, f"no {what} in the state files", leaks)
fake.close()
env.close()
ck.done()
