#!/usr/bin/python3
"""A public function URL answers: since October 2025 Lambda requires both
lambda:InvokeFunctionUrl and lambda:InvokeFunction for a new public URL
(developer guide, "Control access to Lambda function URLs"). Through the
CLI against the fake, which validates AddPermission with botocore 1.43.11's
model (InvokedViaFunctionUrl) and answers an anonymous call to the URL with
403 unless both statements exist: apply adds both, InvokeFunction limited to
calls through the URL; the URL answers 200; a statement removed out of band
shows as drift (status exit 4) and the URL answers 403; apply adds it back
(and nothing else); destroy leaves nothing."""
import json
import os
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from awstest import EXAMPLES, Checker, Env, Fake, ops, rejected  # noqa: E402

ck = Checker("aws function URL permissions")
fake = Fake()
env = Env(fake)
spec = os.path.join(EXAMPLES, "function.yaml")  # a public HTTP trigger
OK_404 = {("GetFunction", "ResourceNotFoundException"), ("GetFunctionUrlConfig", "ResourceNotFoundException")}


def invoke(url):
    """An anonymous GET of the function URL, sent to the fake with the URL's host."""
    req = urllib.request.Request(fake.base + "/hello", headers={"Host": url.split("/")[2]})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def policy():
    return {st["Sid"]: st for st in fake.state()["lambda"].get("us-east-1|demo-hello", {}).get("policy", [])}


rc, out, err = env.run("apply", "--target", "aws:us-east-1", spec)
ck.ok(rc == 0, "apply the public function", err)
log = fake.log()
ck.ok(not rejected(log, OK_404), "the fake (botocore 1.43.11's model) accepted every body", rejected(log, OK_404))
adds = [e["params"] for e in log if e.get("operation") == "AddPermission"]
ck.ok(len(adds) == 2 and adds[1].get("InvokedViaFunctionUrl") is True, "two AddPermission, the second with "
      "InvokedViaFunctionUrl", adds)
pol = policy()
ck.ok(pol.get("FunctionURLAllowPublicAccess", {}).get("Action") == "lambda:InvokeFunctionUrl"
      and pol["FunctionURLAllowPublicAccess"].get("Condition") ==
      {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}},
      "statement 1: lambda:InvokeFunctionUrl for * with FunctionUrlAuthType NONE", pol)
ck.ok(pol.get("FunctionURLAllowInvokeAction", {}).get("Action") == "lambda:InvokeFunction"
      and pol["FunctionURLAllowInvokeAction"].get("Principal") == "*"
      and pol["FunctionURLAllowInvokeAction"].get("Condition") == {"Bool": {"lambda:InvokedViaFunctionUrl": "true"}},
      "statement 2: lambda:InvokeFunction for *, only through the function URL", pol)
url = fake.state()["lambda"]["us-east-1|demo-hello"]["url"]["FunctionUrl"]
ck.ok(invoke(url) == 200, "the public URL answers 200")

rc, out, err = env.run("status", "--format", "json")
ck.ok(rc == 0, "status: no drift with both statements", out + err)
mark = fake.seq()
rc, out, err = env.run("apply", "--target", "aws:us-east-1", spec)
o = ops(fake.log(mark))
ck.ok(rc == 0 and "GetPolicy" in o and "AddPermission" not in o, "re-apply reads the policy and adds nothing", o)

# out of band: the second statement removed (what a URL made before the fix had)
fake.client("lambda", "us-east-1").remove_permission(FunctionName="demo-hello",
                                                     StatementId="FunctionURLAllowInvokeAction")
ck.ok(invoke(url) == 403, "without lambda:InvokeFunction the URL answers 403")
rc, out, err = env.run("status", "--format", "json")
res = json.loads(out)[0] if out.strip() else {}
drift = {d["field"]: (d["want"], d["live"]) for d in res.get("drift", [])}
ck.ok(rc == 4 and drift.get("url.permissions") == (["lambda:InvokeFunctionUrl", "lambda:InvokeFunction"],
                                                  ["lambda:InvokeFunctionUrl"]),
      "status shows the missing statement as drift (exit 4)", (rc, res))
mark = fake.seq()
rc, out, err = env.run("apply", "--target", "aws:us-east-1", spec)
log = fake.log(mark)
added = [e["params"]["StatementId"] for e in log if e.get("operation") == "AddPermission"]
ck.ok(rc == 0 and added == ["FunctionURLAllowInvokeAction"], "apply adds back only the missing statement",
      (ops(log), err))
ck.ok(invoke(url) == 200, "and the URL answers again")

rc, out, err = env.run("destroy", "--all")
ck.ok(rc == 0 and fake.state()["lambda"] == {}, "destroy removes the function", err)
ck.ok(invoke(url) == 404, "and its URL")
fake.close()
env.close()
ck.done()
