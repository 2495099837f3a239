#!/usr/bin/python3
"""`fedbroker serve` publishes the issuer (issue 15: "served by fedbroker
serve when that exists"): with identity.issuer http://127.0.0.1:PORT/fb,
GET /fb/.well-known/openid-configuration and the jwks_uri it names answer
without a bearer token (relying parties fetch them anonymously), the /v1
routes still need one, python3-jwt's PyJWKClient fetches the JWKS from the
server and verifies a token `fedbroker identity token` signed, and after
`identity keys rotate` the running server publishes the new next keys
(read from the store on each request).

Environment (tests/local.mk): FEDBROKER, top_srcdir."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

import jwt

TOP = os.environ.get("top_srcdir") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FEDBROKER = os.environ.get("FEDBROKER") or os.path.join(TOP, "build", "fedbroker")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Checker  # noqa: E402

ck = Checker("serve oidc")
ok = ck.ok


tmp = tempfile.mkdtemp(prefix="fb-serve-oidc-")
os.chmod(tmp, 0o755)
home = os.path.join(tmp, "home")
os.mkdir(home, 0o700)
s = socket.socket()
s.bind(("127.0.0.1", 0))
PORT = s.getsockname()[1]
s.close()
ISSUER = f"http://127.0.0.1:{PORT}/fb"
with open(os.path.join(home, "config.json"), "w") as f:
    json.dump({"identity": {"trustDomain": "prod.example.com", "issuer": ISSUER}}, f)
os.chmod(os.path.join(home, "config.json"), 0o600)
env = dict(os.environ, FEDBROKER_HOME=home)
env.pop("FEDBROKER_NOW", None)


def run(*args):
    p = subprocess.run([FEDBROKER, *args], env=env, capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout.strip(), p.stderr


def get(path, token=None):
    req = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, None


srv = None
try:
    rc, tok, err = run("identity", "token", "api", "--tenant", "demo", "--audience", "sts.amazonaws.com")
    ok(rc == 0, "a token for demo/api", err)
    srv = subprocess.Popen([FEDBROKER, "serve", "--listen", f"127.0.0.1:{PORT}"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = srv.stdout.readline()
    ok("listening on" in line, "serve listens", line)
    st, disc = get("/fb/.well-known/openid-configuration")
    ok(st == 200 and disc["issuer"] == ISSUER and disc["jwks_uri"] == ISSUER + "/jwks.json",
       "the discovery document, without a bearer token", (st, disc))
    st, jwks = get("/fb/jwks.json")
    ok(st == 200 and len(jwks["keys"]) == 4, "the JWKS: current and next keys of RS256 and ES256", (st, jwks))
    st, _ = get("/v1/endpoints")
    ok(st == 401, "the /v1 routes still need a bearer token", st)
    st, _ = get("/.well-known/openid-configuration")
    ok(st in (401, 404), "nothing is published outside the issuer's path", st)
    client = jwt.PyJWKClient(disc["jwks_uri"])
    try:
        key = client.get_signing_key_from_jwt(tok)
        claims = jwt.decode(tok, key.key, algorithms=["RS256"], audience="sts.amazonaws.com", issuer=ISSUER)
        ok(claims["sub"] == "spiffe://prod.example.com/tenant/demo/workload/api",
           "PyJWKClient fetches the served JWKS and verifies the token", claims)
    except jwt.PyJWTError as e:
        ok(False, "PyJWKClient fetches the served JWKS and verifies the token", repr(e))
    rc, out, err = run("identity", "keys", "rotate")
    st, jwks2 = get("/fb/jwks.json")
    ok(rc == 0 and st == 200 and len(jwks2["keys"]) == 6 and
       {k["kid"] for k in jwks["keys"]} < {k["kid"] for k in jwks2["keys"]},
       "after rotation the running server publishes the new next keys and keeps the old ones", (rc, err, jwks2))
finally:
    if srv:
        srv.terminate()
        try:
            srv.wait(timeout=10)
        except subprocess.TimeoutExpired:
            srv.kill()
    shutil.rmtree(tmp, ignore_errors=True)
ck.done()
