#!/usr/bin/python3
"""A workload on Cloud Run or Cloud Functions fetches its own JWT-SVID from
`fedbroker serve` (issue 15, "A workload's own token" on GCP): it asks the
metadata server for a Google-signed ID token of the account it runs as,
with the broker's token URL as the audience (format=full, so the token
carries its email), and sends it; serve hands it to the gcp driver (ABI 1.3
attest), which checks it against Google's certificates (settings.certsUrl:
here the fake's /oauth2/v1/certs) and asks IAM whether the account still
exists with the token's sub as its uniqueId; the broker finds the workload
that recorded the account and signs a token for its SPIFFE ID.

Checked, against tests/fakes/fake_gcp.py (every request checked against
Google's discovery documents), google-auth and python3-jwt:
- apply gives the Cloud Run service and the Cloud Function
  FEDBROKER_TOKEN_URL, FEDBROKER_SERVER_ID, FEDBROKER_TOKEN_PROVIDER (gcp)
  and FEDBROKER_SPIFFE_ID (the spec's own variables kept), and a later
  status reports no drift;
- the fake's ID tokens are what Google's own client accepts
  (google.oauth2.id_token.verify_token with the fake's certificates URL),
  so the driver is checked against tokens of Google's form;
- api's ID token gets api's token, fn's gets fn's (verified with
  python3-jwt against the published JWKS: kid, iss, sub, aud, ttl);
- refused (401): an ID token for another audience, one without email
  (format=standard), a changed signature, a kid Google does not publish, an
  expired token (the fake's clock 2 h back), the runtime account of the
  settings (no workload's), a caller account fbc-..., an account deleted
  since (destroy of fn);
- refused (403): an fb- account of the project no deployment records;
- nothing of the ID tokens or the issued tokens in serve's log or in any
  file of the broker home; each answer an audit row;
- discover (issue 15, "What is not built yet": leftover GCP role bindings)
  lists api's workloadIdentityUser binding as tracked, and a run.invoker
  grant on api for an fb- account that no deployment records as a
  leftover.

Environment (tests/local.mk): FEDBROKER, top_srcdir, FEDBROKER_DRIVER_PATH."""
import json
import os
import sys
import tempfile
import urllib.request

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "gcp"))
from gcptest import PROJECT, REGION, RUNNER, Checker, Env, Fake, settings, skip_unless_built, untracked  # noqa: E402
sys.path.insert(0, here)
import wltest  # noqa: E402
from wltest import post  # noqa: E402

skip_unless_built()
import jwt  # noqa: E402
import google.auth.transport.requests  # noqa: E402
import google.oauth2.id_token  # noqa: E402

ck = Checker("identity gcp workload token")
fake = Fake(tempfile.mkdtemp(prefix="fb-gcp-fake-"))
env = Env(fake)
TD = "prod.example.com"
ISSUER = "https://oidc.example.com/fb"
TOKEN_URL = "https://broker.example.com/v1/identity/token"
CERTS = fake.url + "/oauth2/v1/certs"
gs = settings(fake)
gs["endpoints"]["iam"] = fake.url + "/iam"
gs["certsUrl"] = CERTS
env.write_config(gs, extra={"identity": {"trustDomain": TD, "issuer": ISSUER, "tokenUrl": TOKEN_URL}})
T = ("--target", "gcp:%s" % REGION)


def sa(n):
    return "fb-shop-%s@%s.iam.gserviceaccount.com" % (n, PROJECT)


def sid(n):
    return "spiffe://%s/tenant/shop/workload/%s" % (TD, n)


os.makedirs(env.path("fn"))
env.write("fn/main.py", "def handler(request):\n    return 'ok'\n")
fn_spec = env.write("fn.yaml", """apiVersion: fedbroker.dev/v1
kind: Function
metadata: {name: fn, tenant: shop}
spec:
  runtime: python3.12
  handler: main.handler
  code: {path: %s}
  env: {MODE: prod}
  triggers: [{http: {public: false}}]
""" % env.path("fn"))
api_spec = env.write("api.yaml", """apiVersion: fedbroker.dev/v1
kind: Container
metadata: {name: api, tenant: shop}
spec:
  image: europe-docker.pkg.dev/demo/apps/api:1
  ports: [{port: 8080, protocol: http}]
  env: {MODE: prod}
""")


def id_token(email, audience=TOKEN_URL, fmt="full"):
    """What the workload's metadata server answers
    (instance/service-accounts/default/identity) when it runs as email."""
    fake.control("POST", "metadata", {"email": email})
    q = "audience=%s&format=%s" % (urllib.request.quote(audience, safe=""), fmt)
    r = urllib.request.Request(fake.url + "/computeMetadata/v1/instance/service-accounts/default/identity?" + q,
                               headers={"Metadata-Flavor": "Google"})
    with urllib.request.urlopen(r, timeout=30) as resp:
        return resp.read().decode()


def ask(base, tok, audience="https://api.example.com", **kw):
    return post(base, {"provider": "gcp", "proof": {"idToken": tok}, "audience": audience, **kw})


serve = None
seen = []
try:
    rc, out, err = env.run("apply", api_spec, *T)
    rc2, out2, err2 = env.run("apply", fn_spec, *T, "--service", "cloud-functions")
    ck.ok(rc == 0 and rc2 == 0, "apply of a Cloud Run service and a Cloud Function", (rc, err[-3000:], rc2, err2[-3000:]))
    want = {"MODE": "prod", "FEDBROKER_TOKEN_URL": TOKEN_URL, "FEDBROKER_SERVER_ID": ISSUER,
            "FEDBROKER_TOKEN_PROVIDER": "gcp"}
    st, svc = fake.api("GET", "/run/v2/projects/%s/locations/%s/services/api" % (PROJECT, REGION))
    c0 = ((svc or {}).get("template") or {}).get("containers", [{}])[0]
    got = {e["name"]: e.get("value") for e in c0.get("env", [])}
    ck.ok(got == dict(want, FEDBROKER_SPIFFE_ID=sid("api")) and
          (svc.get("template") or {}).get("serviceAccount") == sa("api"),
          "the Cloud Run service runs as its account with the token endpoint's variables", (st, got))
    st, f = fake.api("GET", "/cloudfunctions/v2/projects/%s/locations/%s/functions/fn" % (PROJECT, REGION))
    sc = (f or {}).get("serviceConfig") or {}
    ck.ok(sc.get("environmentVariables") == dict(want, FEDBROKER_SPIFFE_ID=sid("fn")) and
          sc.get("serviceAccountEmail") == sa("fn"),
          "the Cloud Function runs as its account with the token endpoint's variables", (st, sc))
    rc, out, err = env.run("status", "--format", "json")
    try:
        rows = json.loads(out)
    except ValueError:
        rows = None
    ck.ok(rc == 0 and isinstance(rows, list) and len(rows) == 2 and all(d.get("drift") == [] for d in rows),
          "status reports no drift for the broker's variables (Cloud Run and Cloud Functions)",
          (rc, out[-2000:], err[-1000:]))
    rc, out, err = env.run("identity", "publish", env.path("site"))
    jwks = json.load(open(env.path("site", "jwks.json")))

    # discover finds the bindings fedbroker makes: each recorded one tracked,
    # one granted behind the broker's back a leftover
    rc, out, err = env.run("discover", "--format", "json")
    rows = json.loads(out) if out.strip() else []  # rc 1: the other drivers have no cloud here
    wi = [r for r in rows if r.get("type") == "gcp-iam-binding" and
          r["id"].startswith("v1/projects/%s/serviceAccounts/%s|roles/iam.workloadIdentityUser|principal://" %
                             (PROJECT, sa("api")))]
    ck.ok(len(wi) == 1 and wi[0].get("tracked") and wi[0].get("managed") and wi[0]["id"].endswith(sid("api")),
          "discover lists api's workloadIdentityUser binding, tracked", (rc, wi, err[-500:]))
    ck.ok(untracked(env) == [], "nothing fedbroker made is a leftover after apply", untracked(env))
    fake.control("POST", "service-accounts", {"account_id": "fb-shop-stale"})
    svc_name = "projects/%s/locations/%s/services/api" % (PROJECT, REGION)
    pol = fake.policy("run", svc_name)
    pol.setdefault("bindings", []).append({"role": "roles/run.invoker",
                                           "members": ["serviceAccount:" + sa("stale")]})
    st, _ = fake.api("POST", "/run/v2/%s:setIamPolicy" % svc_name, {"policy": pol})
    left = untracked(env)
    ck.ok(st == 200 and [(r["type"], r["id"], r.get("workload")) for r in left] ==
          [("gcp-iam-binding", "v2/%s|roles/run.invoker|serviceAccount:%s" % (svc_name, sa("stale")), "api")],
          "a run.invoker grant on api that no deployment records is a leftover", (st, left))

    serve = env.popen("serve", "--listen", "127.0.0.1:0")
    line = serve.stdout.readline().decode()
    ck.ok(line.startswith("listening on http://127.0.0.1:"), "serve listens", line)
    base = line.split()[-1]

    api_tok = id_token(sa("api"))
    seen.append(api_tok)
    try:
        claims = google.oauth2.id_token.verify_token(api_tok, google.auth.transport.requests.Request(),
                                                     audience=TOKEN_URL, certs_url=CERTS)
        ck.ok(claims["email"] == sa("api") and claims["email_verified"] is True and
              claims["iss"] == "https://accounts.google.com",
              "google-auth accepts the fake's ID token (Google's form: iss, aud, email_verified)", claims)
    except Exception as e:  # noqa: BLE001 - any refusal by google-auth is the finding
        ck.ok(False, "google-auth accepts the fake's ID token", repr(e))

    def verify(ans, who, aud, ttl=None):
        seen.append(ans.get("token", "") if isinstance(ans, dict) else "")
        return wltest.verify(ans, jwks, ISSUER, sid(who), aud, ttl)

    code, ans = ask(base, api_tok, ttl=300)
    ck.ok(code == 200 and ans.get("spiffeId") == sid("api") and
          verify(ans, "api", "https://api.example.com", 300) is True,
          "api's ID token gets api's JWT-SVID (verified with the published JWKS: kid, iss, sub, aud, ttl)",
          (code, ans))
    fn_tok = id_token(sa("fn"))
    seen.append(fn_tok)
    code, ans = ask(base, fn_tok, audience="sts.amazonaws.com")
    ck.ok(code == 200 and ans.get("spiffeId") == sid("fn") and verify(ans, "fn", "sts.amazonaws.com") is True,
          "the function's ID token gets the function's JWT-SVID, not api's", (code, ans))

    def refused(what, tok, code_want=401, text=None):
        seen.append(tok)
        code, ans = ask(base, tok)
        msg = ans["error"]["message"] if isinstance(ans, dict) and "error" in ans else str(ans)
        ck.ok(code == code_want and "token" not in ans and (text is None or text in msg) and tok not in msg,
              "refused (%d): %s" % (code_want, what), (code, ans))

    refused("an ID token for another audience", id_token(sa("api"), audience="https://api-x.a.run.app"),
            text="audience")
    refused("an ID token without email (format=standard)", id_token(sa("api"), fmt="standard"), text="email")
    h, p, s = api_tok.split(".")
    refused("a changed signature", "%s.%s.%s" % (h, p, ("A" if s[0] != "A" else "B") + s[1:]), text="signature")
    other_claims = jwt.decode(api_tok, options={"verify_signature": False})
    other_claims["email"] = sa("fn")
    forged = jwt.encode(other_claims, "x" * 32, algorithm="HS256")
    refused("a token not signed with RS256", forged, text="RS256")
    hdr = json.loads(jwt.utils.base64url_decode(h))
    hdr["kid"] = "0" * 40
    refused("a kid Google does not publish",
            "%s.%s.%s" % (jwt.utils.base64url_encode(json.dumps(hdr).encode()).decode(), p, s), text="kid")
    refused("the settings' runtime account (no workload's)", id_token(RUNNER), text="not a workload")
    fake.control("POST", "service-accounts", {"account_id": "fbc-shop-x-api-12345678"})
    refused("a caller account fbc-...", id_token("fbc-shop-x-api-12345678@%s.iam.gserviceaccount.com" % PROJECT),
            text="not a workload")
    fake.control("POST", "service-accounts", {"account_id": "fb-shop-ghost"})
    refused("an fb- account no deployment records", id_token(sa("ghost")), 403, text="no deployed workload")
    fake.config(clock_offset=-7200)
    old = id_token(sa("api"))
    fake.config(clock_offset=0)
    refused("an expired ID token (issued 2 h ago)", old, text="expired")

    rc, out, err = env.run("destroy", "--workload", "fn", "--tenant", "shop")
    ck.ok(rc == 0, "destroy fn", (rc, out[-1000:], err[-2000:]))
    refused("the ID token of an account deleted since (fn destroyed)", fn_tok, text="no longer exists")
    code, ans = post(base, {"provider": "gcp", "proof": {"idToken": api_tok, "extra": 1}, "audience": "a"})
    ck.ok(code == 401, "a proof with more than idToken is refused (401)", (code, ans))

    rows = env.db("SELECT actor, tenant, outcome FROM audit WHERE action = 'POST /v1/identity/token'")
    ck.ok((sid("api"), "shop", "200") in [tuple(r) for r in rows] and
          sum(1 for r in rows if r[2] == "401") >= 9 and (None, None, "403") not in rows,
          "every answer is an audit row, a granted one naming the workload", rows[:6])
finally:
    log = wltest.stop([serve] if serve else [])
    in_log, in_files = wltest.leaks(seen, log, env.home)
    ck.ok(seen and not in_log and "/v1/identity/token" in log,
          "serve's log shows the requests and no ID token, signature or issued token", (in_log, log[-1500:]))
    ck.ok(seen and not in_files, "no ID token, signature or issued token in any file of the broker home (state, WAL)",
          in_files[:5])
    fake.close()
    env.close()
ck.done()
