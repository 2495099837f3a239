#!/usr/bin/python3
"""docs/api.yaml against a real `fedbroker serve` (issue 16): every
response this test gets - from every documented route, with good and bad
tokens, roles, the other tenant, bad input - must be documented there (the
path, the method, the status or a default, the content type) and its JSON
must validate against the documented schema (python3-jsonschema, JSON
Schema 2020-12 as OpenAPI 3.1 uses; python3-yaml loads the document).
Every documented route must have been exercised (the issuer's two
documents by a second server with identity configured). Plans and apply run against tests/fakes/fake_aws.py.
Skips (77) without python3-jsonschema or the aws driver."""
import http.client
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time

try:
    import jsonschema
    import yaml
except ImportError as e:
    print(f"SKIP: {e}")
    sys.exit(77)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "aws"))
import awstest  # noqa: E402

if not os.path.exists(os.path.join(awstest.DRIVER_PATH, "aws.so")):
    print("SKIP: the aws driver is not built")
    sys.exit(77)

with open(os.path.join(awstest.TOP, "docs", "api.yaml")) as f:
    API = yaml.safe_load(f)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Checker  # noqa: E402

ck = Checker("openapi")
ok = ck.ok


ok(API.get("openapi", "").startswith("3.1"), "docs/api.yaml is OpenAPI 3.1")
# the templates as regular expressions; a literal path wins over a template
ROUTES = []
for p in API["paths"]:
    rx = "^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(p)) + "$"
    ROUTES.append((p.count("{"), p, re.compile(rx)))
ROUTES.sort()
seen = set()
problems = []


def check(method, path, status, ctype, data):
    """Validates one response against the document; returns a problem or None."""
    bare = path.split("?")[0]
    tmpl = next((p for _, p, rx in ROUTES if rx.match(bare)), None)
    op = API["paths"][tmpl].get(method.lower()) if tmpl else None
    if op is None:
        # an undocumented path is 404, an undocumented method 405, and a
        # body over the limit 413 before any routing: the Error shape
        want = 404 if tmpl is None else (405, 413)
        if status != want and status not in (want if isinstance(want, tuple) else ()):
            return f"{method} {bare}: not documented, and answered {status}"
        op = {"responses": {"default": {"$ref": "#/components/responses/Error"}}}
        tmpl = bare
    if tmpl in API["paths"]:
        seen.add((method, tmpl))
    resp = op["responses"].get(str(status)) or op["responses"].get("default")
    if resp is None:
        return f"{method} {tmpl}: status {status} not documented"
    if "$ref" in resp:
        resp = API["components"]["responses"][resp["$ref"].rsplit("/", 1)[1]]
    content = resp.get("content", {})
    base = (ctype or "").strip()
    media = content.get(base) or content.get(base.split(";")[0])
    if media is None:
        return f"{method} {tmpl} {status}: content type {ctype!r} not documented ({list(content)})"
    schema = dict(media.get("schema", {}))
    if base.split(";")[0] == "application/json":
        try:
            body = json.loads(data)
        except ValueError as e:
            return f"{method} {tmpl} {status}: not JSON: {e}"
    else:
        body = data.decode("utf-8", "replace")
    # the refs point into the document: validate with its components at the root
    schema["components"] = API["components"]
    errs = sorted(jsonschema.Draft202012Validator(schema).iter_errors(body), key=lambda e: list(e.path))
    if errs:
        return f"{method} {path} {status}: {errs[0].message[:300]} at {list(errs[0].path)}"
    return None


fake = awstest.Fake()
env = awstest.Env(fake)
toks = {}
for tenant in ("ops", "rival"):
    for role in ("admin", "deployer", "viewer", "finance"):
        rc, out, err = env.run("token", "create", "--tenant", tenant, "--role", role)
        toks[(tenant, role)] = out.strip()
rc, revoked, err = env.run("token", "create", "--tenant", "ops", "--role", "admin")
revoked = revoked.strip()
env.run("token", "revoke", revoked[:12])
db = sqlite3.connect(os.path.join(env.home, "state.db"))
now = int(time.time())
db.execute("INSERT INTO endpoints(tenant,workload,provider,region,url,kind,updated_at,observed_at,protocol,health,"
           "health_detail,source,lease_seconds,reported_at) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
           ("ops", "api", "aws", "eu-central-1", "https://api.example/", "url", "2026-01-01T00:00:00Z",
            "2026-01-01T00:00:00Z", "https", "warning", "HTTP 503", "observe", 60, now))
db.execute("INSERT INTO endpoints(tenant,workload,provider,region,url,kind,updated_at,protocol,health,source,"
           "lease_seconds,reported_at) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
           ("ops", "api", "aws", "us-east-1", "https://api-us.example/", "url", "2026-01-01T00:00:00Z",
            "https", "critical", "apply", 0, now))
db.commit()
db.close()
srv = subprocess.Popen([awstest.FEDBROKER, "serve", "--listen", "127.0.0.1:0", "--rate", "5", "--burst", "200",
                        "--max-body", "65536"], env=env.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
m = re.match(r"listening on http://127\.0\.0\.1:(\d+)", srv.stdout.readline().decode())
port = int(m.group(1))
n_checked = 0


def req(method, path, token=("ops", "admin"), body=None, ctype=None):
    global n_checked
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    h = {}
    if token is not None:
        h["Authorization"] = "Bearer " + (toks[token] if isinstance(token, tuple) else token)
    if ctype:
        h["Content-Type"] = ctype
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    prob = check(method, path, r.status, r.getheader("Content-Type"), data)
    n_checked += 1
    if prob:
        problems.append(prob)
    try:
        j = json.loads(data)
    except ValueError:
        j = None
    return r.status, j


def wait(href):
    for _ in range(600):
        st, j = req("GET", href)
        if st != 200 or j["state"] in ("succeeded", "failed"):
            return j
        time.sleep(0.1)
    return j


SPEC = """apiVersion: fedbroker.dev/v1
kind: Container
metadata: {name: web, tenant: ops}
spec:
  image: public.ecr.aws/nginx/nginx:1.25
  ports: [{port: 8080, public: true}]
  placement: {providers: [aws], regions: ["aws:us-east-1"]}
"""
statuses = {}
ROLES = ["admin", "deployer", "viewer", "finance"]
# the public and the reading routes, every role, both tenants
for path in ("/v1/healthz", "/v1/readyz"):
    statuses[path] = req("GET", path, token=None)[0]
for role in ROLES:
    for tenant in ("ops", "rival"):
        for path in ("/v1/endpoints", "/v1/resolve/api", "/v1/resolve/api?from=frankfurt&all",
                     "/v1/deployments", "/v1/deployments/api", "/v1/tokens", "/v1/drivers", "/v1/specs",
                     "/v1/plans", "/metrics", "/v1/operations/op-1"):
            req("GET", path, token=(tenant, role))
req("GET", "/v1/resolve/api?from=atlantis")
for tok in (None, "abc", revoked, toks[("ops", "admin")][:-1] + "0"):
    req("GET", "/v1/endpoints", token=tok)
req("POST", "/v1/endpoints", body=b"x" * 70000)
req("PATCH", "/v1/specs")
req("GET", "/v1/nosuch")
# specs: validate (good, bad), submit (bad, other tenant's, good)
for role in ROLES:
    req("POST", "/v1/specs/validate", token=("ops", role), body=SPEC, ctype="application/yaml")
req("POST", "/v1/specs/validate", body=SPEC.replace("image:", "imagex:"), ctype="application/yaml")
req("POST", "/v1/specs/validate", body=b"{\"kind\": 1", ctype="application/json")
req("POST", "/v1/specs", body=b"\xff\xfe", ctype="application/json")
req("POST", "/v1/specs", token=("rival", "admin"), body=SPEC, ctype="application/yaml")
st, j = req("POST", "/v1/specs", token=("ops", "deployer"), body=SPEC, ctype="application/yaml")
ok(st == 201, "a spec submitted", (st, j))
req("GET", "/v1/specs")
# plans: refused, created, shown, reported in every format, applied
req("POST", "/v1/plans", token=("rival", "deployer"))
req("POST", "/v1/plans", body=b"[1,2]", ctype="application/json")
req("POST", "/v1/plans", body=json.dumps({"specs": ["0123456789abcdef"]}), ctype="application/json")
st, j = req("POST", "/v1/plans", token=("ops", "deployer"))
ok(st == 202, "a plan operation queued", (st, j))
plan = j["plan"]
op = wait(j["href"])
ok(op["state"] == "succeeded", "and it succeeds", op)
req("GET", "/v1/plans")
for role in ROLES:
    for tenant in ("ops", "rival"):
        for sub in ("", "/changes", "/report", "/report?format=csv&group_by=team"):
            req("GET", f"/v1/plans/{plan}{sub}", token=(tenant, role))
for fmt in ("table", "json", "csv", "md", "html", "focus", "pdf"):
    req("GET", f"/v1/plans/{plan}/report?format={fmt}", token=("ops", "finance"))
req("GET", "/v1/plans/zzzz")
req("GET", f"/v1/plans/{plan}/apply")
req("POST", f"/v1/plans/{plan}/apply", token=("rival", "admin"))
req("POST", f"/v1/plans/{plan}/apply", token=("ops", "viewer"))
st, j = req("POST", f"/v1/plans/{plan}/apply", token=("ops", "deployer"))
ok(st == 202, "apply queued", (st, j))
op = wait(j["href"])
ok(op["state"] == "succeeded", "apply succeeds", op)
req("GET", "/v1/deployments/web")
req("DELETE", "/v1/deployments/web", token=("rival", "admin"))
req("DELETE", "/v1/deployments/web", token=("ops", "finance"))
req("DELETE", "/v1/deployments/nosuch")
st, j = req("DELETE", "/v1/deployments/web")
ok(st == 202, "destroy queued", (st, j))
op = wait(j["href"])
ok(op["state"] == "succeeded", "destroy succeeds", op)
# the rate limit: 429
codes = [req("GET", "/v1/healthz" if i % 2 else "/v1/endpoints", token=("rival", "viewer"))[0] for i in range(450)]
ok(429 in codes, "the rate limit answers 429", codes[-5:])
srv.send_signal(signal.SIGTERM)
srv.wait(timeout=60)
# the broker as an OIDC issuer (a server of its own: with identity
# configured, apply would bind workload identities at AWS IAM): the two
# documents under the issuer's path /fb, without a token
conf_path = os.path.join(env.home, "config.json")
conf = json.load(open(conf_path))
conf["identity"] = {"trustDomain": "prod.example.com", "issuer": "http://127.0.0.1:9/fb"}
json.dump(conf, open(conf_path, "w"))
env.run("identity", "token", "web", "--tenant", "ops", "--audience", "sts.amazonaws.com")
srv = subprocess.Popen([awstest.FEDBROKER, "serve", "--listen", "127.0.0.1:0"], env=env.env, stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL)
port = int(re.match(r"listening on http://127\.0\.0\.1:(\d+)", srv.stdout.readline().decode()).group(1))
for path in ("/fb/.well-known/openid-configuration", "/fb/jwks.json"):
    st, j = req("GET", path, token=None)
    ok(st == 200, f"GET {path}", (st, j))
# a workload's own token: refused answers here (a good proof needs a
# workload's role session: tests/identity/workload_token.py)
st, j = req("POST", "/v1/identity/token", token=None, ctype="application/json",
            body=json.dumps({"provider": "aws", "proof": {}, "audience": "a"}))
ok(st == 401, "POST /v1/identity/token with an empty proof: 401", (st, j))
st, j = req("POST", "/v1/identity/token", token=None, ctype="application/json",
            body=json.dumps({"provider": "aws", "audience": "a"}))
ok(st == 400, "POST /v1/identity/token without a proof: 400", (st, j))
srv.send_signal(signal.SIGTERM)
srv.wait(timeout=60)
fake.close()

ok(not problems, f"every one of the {n_checked} responses is documented and validates against docs/api.yaml",
   problems[:20])
documented = {(m.upper(), p) for p, ops in API["paths"].items() for m in ops if m in ("get", "post", "delete", "put", "patch")}
missing = sorted(documented - seen)
ok(not missing, f"every documented route was exercised ({len(seen & documented)} of {len(documented)})", missing)
ck.done()
