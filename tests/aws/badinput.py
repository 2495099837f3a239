#!/usr/bin/python3
"""Bad input through the real CLI: each case is refused before any request
reaches AWS (the fake's request log stays empty), with exit code 2 and the
JSON pointer of the field in the message (whether the spec validator or the
driver refuses it). Missing credentials: refused before any request with
the credential chain's listing of every source tried (an FB_AUTH failure:
exit 1). The driver's own refusals of inputs the spec cannot express are
in verbs.py."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from awstest import Checker, Env, Fake  # noqa: E402

ck = Checker("aws bad input")
fake = Fake()
env = Env(fake)


def fn(name, spec_lines):
    return env.write(f"{name}.yaml", f"""apiVersion: fedbroker.dev/v1
kind: Function
metadata: {{name: {name}, tenant: bad}}
spec:
{spec_lines}""")


def ctr(name, spec_lines):
    return env.write(f"{name}.yaml", f"""apiVersion: fedbroker.dev/v1
kind: Container
metadata: {{name: {name}, tenant: bad}}
spec:
  image: public.ecr.aws/nginx/nginx:1.25
{spec_lines}""")


ZIP = """  runtime: python3.12
  handler: app.handler
  code: {s3: {bucket: b-code, key: f.zip}}
"""
big_env = "  env:\n" + "".join(f"    VAR_{i:02d}: {'x' * 200}\n" for i in range(21))

cases = [
    # (description, spec file, target, pointer, words in the message)
    ("Lambda memory above 10240 MiB", fn("mem", ZIP + "  resources: {memory: 12Gi}\n"), "aws:us-east-1",
     "/spec/resources/memory", "128..10240"),
    ("Lambda timeout above 900 s", fn("slow", ZIP + "  timeout: 20m\n"), "aws:us-east-1",
     "/spec/timeout", "900 s"),
    ("Lambda ephemeral storage above 10240 MiB", fn("disk", ZIP + "  resources: {ephemeralStorage: 12Gi}\n"),
     "aws:us-east-1", "/spec/resources/ephemeralStorage", "512..10240"),
    ("env over 4 KB", fn("env", ZIP + big_env), "aws:us-east-1", "/spec/env", "4"),
    ("an image function with a runtime", fn("img", "  image: nginx:1\n  runtime: python3.12\n"),
     "aws:us-east-1", "/spec/runtime", "image"),
    ("secrets on Lambda", fn("sec", ZIP + "  secrets: [{env: DB_PASSWORD, ref: 'aws-sm://db#pw'}]\n"),
     "aws:us-east-1", "/spec/secrets", "Lambda cannot"),
    ("a Fargate cpu no task size fits", ctr("huge", "  resources: {cpu: 20, memory: 8Gi}\n"),
     "aws:eu-west-1", "/spec/resources", "16 vCPU"),
    ("a Fargate secret outside Secrets Manager",
     ctr("vault", "  secrets: [{env: TOKEN, ref: 'vault://secret/data/x#token'}]\n"),
     "aws:eu-west-1", "/spec/secrets/0/ref", "Secrets Manager"),
]
for desc, path, target, pointer, words in cases:
    fake.reset()
    rc, out, err = env.run("apply", "--target", target, path)
    ck.ok(rc == 2, f"{desc}: exit 2", (rc, err))
    ck.ok(pointer in err and words in err, f"{desc}: the message names {pointer}", err)
    ck.ok(fake.log() == [], f"{desc}: nothing was sent", fake.log())
    rc, out, err = env.run("apply", "--dry-run", "--target", target, path)
    ck.ok(rc == 2 and pointer in err, f"{desc}: refused by --dry-run too", err)

# a region the driver does not offer
fake.reset()
rc, out, err = env.run("apply", "--target", "aws:ap-east-1", fn("where", ZIP))
ck.ok(rc == 2 and "ap-east-1" in err and "us-east-1" in err and fake.log() == [],
      "a region not offered: exit 2, the offered regions listed, nothing sent", err)

# no execution role configured for Lambda
env.write_config({k: v for k, v in __import__("awstest").settings(fake).items() if k != "lambda"})
fake.reset()
rc, out, err = env.run("apply", "--target", "aws:us-east-1", fn("role", ZIP))
ck.ok(rc == 2 and "drivers.aws.lambda.role" in err and fake.log() == [],
      "Lambda without an execution role: exit 2, says which setting, nothing sent", err)
env.write_config(__import__("awstest").settings(fake))

# missing credentials: every source tried, nothing sent
fake.reset()
rc, out, err = env.run("apply", "--target", "aws:us-east-1", fn("creds", ZIP),
                       unset=("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"))
ck.ok(rc == 2, "no credentials: refused as invalid input (exit 2)", (rc, err))
for words in ("AWS_ACCESS_KEY_ID", "credentials", "config"):
    ck.ok(words in err, f"the listing of sources tried mentions {words}", err)
ck.ok(fake.log() == [], "no credentials: nothing was sent", fake.log())
rc, out, err = env.run("apply", "--dry-run", "--target", "aws:us-east-1", fn("creds", ZIP),
                       unset=("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"))
ck.ok(rc == 2 and "AWS_ACCESS_KEY_ID" in err, "a dry run needs credentials too (it signs)", err)
rc, out, err = env.run("render", "--target", "aws:us-east-1", fn("creds", ZIP),
                       unset=("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"))
ck.ok(rc == 0 and "CreateFunction" in out, "render needs no credentials", err)
fake.close()
env.close()
ck.done()
