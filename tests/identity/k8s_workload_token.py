#!/usr/bin/python3
"""A workload on Kubernetes fetches its own JWT-SVID from `fedbroker serve`
(issue 15, "A workload's own token" on Kubernetes): with identity.tokenUrl,
apply mounts into the workload's pods a projected service-account token
whose audience is the broker's token URL and which lives 10 minutes (the
pods still mount no API token); the pod sends that token; serve hands it to
the k8s driver (ABI 1.3 attest), which asks the cluster with a TokenReview
(authentication.k8s.io/v1) for exactly that audience; the broker maps
system:serviceaccount:fb-<tenant>:<workload> to the workload that recorded
the ServiceAccount and signs a token for its SPIFFE ID.

Against tests/fakes/fake_k8s.py (over TLS; the TokenReview decoded
strictly against the Kubernetes 1.36 OpenAPI; tokens signed RS256 by the
cluster's service-account key and reviewed as the authenticator does):
- apply: api's and web's Deployments mount the projected token (audience =
  the token URL, expirationSeconds 600, a read-only volume in every
  container), carry FEDBROKER_TOKEN_URL, FEDBROKER_SERVER_ID,
  FEDBROKER_TOKEN_PROVIDER (k8s), FEDBROKER_SPIFFE_ID and
  FEDBROKER_TOKEN_FILE, keep automountServiceAccountToken false; status
  reports no drift;
- the kubelet's part is played by TokenRequest with the volume's audience
  and expiry; that token verifies with python3-jwt against the cluster's
  published JWKS (/openid/v1/jwks), and the fake's TokenReview answer is
  valid against the OpenAPI's TokenReview (python3-jsonschema);
- api's pod token gets api's JWT-SVID, web's gets web's (verified against
  the broker's JWKS: kid, iss, sub, aud, ttl);
- refused (401): a token for the API server's audience (an automounted
  token), one for another audience, an expired one (the broker's clock 20
  min ago by the cluster's clock), a changed signature, a token of a namespace fedbroker does
  not deploy to (kube-system), a ServiceAccount deleted and made again (its
  uid changed); refused (403): the tenant namespace's default account,
  which no workload records; a destroyed workload's token;
- nothing of the tokens in serve's log (debug); each answer an audit row.

Environment (tests/local.mk): FEDBROKER, top_srcdir, FEDBROKER_DRIVER_PATH."""
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "k8s"))
import k8sdrv  # noqa: E402
from k8sdrv import Checker, Env, Fake  # noqa: E402
from harness import workload  # noqa: E402
sys.path.insert(0, here)
import wltest  # noqa: E402
import idtest  # noqa: E402
from wltest import post  # noqa: E402

k8sdrv.skip_unless_built()
import jwt  # noqa: E402
import k8stest  # noqa: E402

ck = Checker("identity k8s workload token")
kfake = Fake("--knative", "--knative-delay-ms", "100", "--rollout-delay-ms", "50")
env = Env(kfake.kubeconfig("kc-admin"), knative=True)
env.env["FEDBROKER_LOG"] = "debug"
TD = "prod.example.com"
ISSUER = "https://oidc.example.com/fb"
TOKEN_URL = "https://broker.example.com/v1/identity/token"
env.write_config(extra={"identity": {"trustDomain": TD, "issuer": ISSUER, "tokenUrl": TOKEN_URL},
                        "catalog": {"params": {"local_metro": "new-york"}}}, knative=True)
NS = "fb-shop"


def container(name, deps=""):
    return workload("Container", name, """
        image: ghcr.io/shop/%s:4
        ports: [{port: 8080, protocol: http}]
        env: {MODE: prod}
        resources: {cpu: 250m, memory: 256Mi}
        scaling: {minInstances: 1, maxInstances: 2}
        traffic: {requestsPerMonth: 1000000, meanDuration: 40ms}
        placement: {providers: [k8s]}
%s""" % (name, deps))


fed = env.write_federation("shop.yaml", "shop", "shop", container("api"),
                           container("web", "        dependencies: [{workload: api}]\n"))


fn_spec = env.write("thumbs.yaml", """apiVersion: fedbroker.dev/v1
kind: Function
metadata: {name: thumbs, tenant: shop}
spec:
  image: ghcr.io/shop/thumbs:1
  resources: {memory: 256Mi}
  scaling: {minInstances: 0, maxInstances: 3}
  triggers: [{http: {path: /, public: true}}]
""")


def sid(n):
    return "spiffe://%s/tenant/shop/workload/%s" % (TD, n)


def pod_spec(name):
    r = kfake.get("/apis/apps/v1/namespaces/%s/deployments/%s" % (NS, name))
    return ((((r.json or {}).get("spec") or {}).get("template") or {}).get("spec")) or {}


def kubelet_token(ns, sa, audience=None, seconds=600):
    """What the kubelet writes into the projected volume (idtest)."""
    return idtest.kubelet_token(kfake, ns, sa, audience, seconds)


serves = []
seen = []


def start_serve():
    p = env.popen("serve", "--listen", "127.0.0.1:0")
    serves.append(p)
    line = p.stdout.readline().decode()
    ck.ok(line.startswith("listening on http://127.0.0.1:"), "serve listens", line)
    return line.split()[-1]


try:
    rc, out, err = env.run("apply", fed, "--target", "k8s")
    ck.ok(rc == 0, "apply of two Containers with a token URL", (rc, err[-3000:]))
    for n in ("api", "web"):
        ps = pod_spec(n)
        vols = ps.get("volumes", [])
        proj = [v for v in vols if v.get("name") == "fedbroker-token"]
        src = ((proj[0].get("projected") or {}).get("sources") or [{}])[0].get("serviceAccountToken") if proj else None
        ck.ok(src == {"audience": TOKEN_URL, "expirationSeconds": 600, "path": "token"} and
              ps.get("automountServiceAccountToken") is False and ps.get("serviceAccountName") == n,
              "%s's pods mount a projected token for the broker (600 s) and no API token" % n, (ps.get("volumes"), src))
        c0 = (ps.get("containers") or [{}])[0]
        mounts = c0.get("volumeMounts", [])
        envs = {e["name"]: e.get("value") for e in c0.get("env", [])}
        ck.ok({"name": "fedbroker-token", "mountPath": "/var/run/secrets/fedbroker.dev/token", "readOnly": True}
              in mounts and envs == {"MODE": "prod", "FEDBROKER_TOKEN_URL": TOKEN_URL, "FEDBROKER_SERVER_ID": ISSUER,
                                     "FEDBROKER_TOKEN_PROVIDER": "k8s", "FEDBROKER_SPIFFE_ID": sid(n),
                                     "FEDBROKER_TOKEN_FILE": "/var/run/secrets/fedbroker.dev/token/token"},
              "%s's container reads it read-only and has the token endpoint's variables" % n, (mounts, envs))
    rc, out, err = env.run("apply", fn_spec, "--target", "k8s", "--service", "knative")
    ck.ok(rc == 0, "apply of a Function on Knative with a token URL", (rc, err[-3000:]))
    r = kfake.get("/apis/serving.knative.dev/v1/namespaces/%s/services/thumbs" % NS)
    kps = ((((r.json or {}).get("spec") or {}).get("template") or {}).get("spec")) or {}
    kvol = [v for v in kps.get("volumes", []) if v.get("name") == "fedbroker-token"]
    kenv = {e["name"]: e.get("value") for e in (kps.get("containers") or [{}])[0].get("env", [])}
    ck.ok(len(kvol) == 1 and kvol[0]["projected"]["sources"][0]["serviceAccountToken"]["audience"] == TOKEN_URL and
          kenv.get("FEDBROKER_SPIFFE_ID") == sid("thumbs") and kps.get("serviceAccountName") == "thumbs",
          "the Knative Service's pods mount the projected token and have the variables (Knative's webhook in "
          "the fake accepts them)", (r.status, kps))
    rc, out, err = env.run("status", "--format", "json")
    try:
        rows = json.loads(out)
    except ValueError:
        rows = None
    ck.ok(rc == 0 and isinstance(rows, list) and len(rows) == 3 and all(d.get("drift") == [] for d in rows),
          "status reports no drift for the mounted token and the variables", (rc, out[-2000:], err[-1000:]))
    env.run("identity", "publish", env.path("site"))
    jwks = json.load(open(env.path("site", "jwks.json")))

    base = start_serve()
    api_tok = kubelet_token(NS, "api", TOKEN_URL)
    seen.append(api_tok)
    cjwks = kfake.get("/openid/v1/jwks").json
    try:
        kid = jwt.get_unverified_header(api_tok)["kid"]
        key = jwt.PyJWK([k for k in cjwks["keys"] if k["kid"] == kid][0]).key
        c = jwt.decode(api_tok, key, algorithms=["RS256"], audience=TOKEN_URL,
                       issuer="https://kubernetes.default.svc.cluster.local")
        ck.ok(c["sub"] == "system:serviceaccount:%s:api" % NS and c["exp"] - c["iat"] == 600,
              "the pod's token verifies against the cluster's published JWKS (python3-jwt)", c)
    except Exception as e:  # noqa: BLE001
        ck.ok(False, "the pod's token verifies against the cluster's published JWKS (python3-jwt)", repr(e))
    review = kfake.post("/apis/authentication.k8s.io/v1/tokenreviews",
                        {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                         "spec": {"token": api_tok, "audiences": [TOKEN_URL]}})
    ck.ok(review.status == 201 and (review.json or {}).get("status", {}).get("authenticated") is True and
          not k8stest.schema_errors(review.json, "io.k8s.api.authentication.v1.TokenReview"),
          "the fake's TokenReview answer is valid against the OpenAPI (python3-jsonschema)",
          (review.status, k8stest.schema_errors(review.json or {}, "io.k8s.api.authentication.v1.TokenReview")))
    bad = kfake.post("/apis/authentication.k8s.io/v1/tokenreviews",
                     {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                      "spec": {"token": api_tok, "audience": TOKEN_URL}})
    ck.ok(bad.status == 400 and "unknown field" in bad.message,
          "the fake refuses a TokenReview the OpenAPI does not describe (strict decoding)", bad)

    def verify(ans, who, aud, ttl=None):
        seen.append(ans.get("token", "") if isinstance(ans, dict) else "")
        return wltest.verify(ans, jwks, ISSUER, sid(who), aud, ttl)

    since = kfake.last_seq()
    code, ans = post(base, {"provider": "k8s", "proof": {"token": api_tok}, "audience": "https://x.example.com",
                            "ttl": 120})
    ck.ok(code == 200 and ans.get("spiffeId") == sid("api") and
          verify(ans, "api", "https://x.example.com", 120) is True,
          "api's pod token gets api's JWT-SVID (verified with the broker's JWKS)", (code, ans))
    reviews = [e for e in kfake.log(since) if e.get("resource") == "tokenreviews"]
    ck.ok(len(reviews) == 1 and reviews[0].get("status") == 201 and reviews[0].get("verb") == "create",
          "one TokenReview reached the cluster", reviews)
    web_tok = kubelet_token(NS, "web", TOKEN_URL)
    seen.append(web_tok)
    code, ans = post(base, {"provider": "k8s", "proof": {"token": web_tok}, "audience": "sts.amazonaws.com"})
    ck.ok(code == 200 and ans.get("spiffeId") == sid("web") and verify(ans, "web", "sts.amazonaws.com") is True,
          "web's pod token gets web's JWT-SVID, not api's", (code, ans))

    def refused(what, tok, code_want=401, text=None):
        seen.append(tok)
        code, ans = post(base, {"provider": "k8s", "proof": {"token": tok}, "audience": "a"})
        msg = ans["error"]["message"] if isinstance(ans, dict) and "error" in ans else str(ans)
        ck.ok(code == code_want and "token" not in ans and (text is None or text in msg) and tok not in msg,
              "refused (%d): %s" % (code_want, what), (code, ans))

    refused("a token for the API server's audience (what automount would give)", kubelet_token(NS, "api"),
            text="audiences")
    refused("a token for another audience", kubelet_token(NS, "api", "https://other-broker.example.com/token"),
            text="audiences")
    h, p, s = api_tok.split(".")
    refused("a changed signature", "%s.%s.%s" % (h, p, ("A" if s[0] != "A" else "B") + s[1:]))
    kfake.post("/api/v1/namespaces/kube-system/serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount",
                                                                  "metadata": {"name": "api"}})
    refused("a token of a namespace fedbroker does not deploy to (kube-system/api)",
            kubelet_token("kube-system", "api", TOKEN_URL), text="namespace")
    kfake.post("/api/v1/namespaces/%s/serviceaccounts" % NS, {"apiVersion": "v1", "kind": "ServiceAccount",
                                                             "metadata": {"name": "ghost"}})
    refused("a token of an account of the tenant's namespace no workload records", kubelet_token(NS, "ghost", TOKEN_URL),
            403, text="no deployed workload")
    # a token of 600 s the kubelet wrote 20 minutes ago (and has renewed since)
    kfake.ctl("POST", "token-clock", {"offset": -1200})
    old = kubelet_token(NS, "api", TOKEN_URL)
    kfake.ctl("POST", "token-clock", {"offset": 0})
    refused("an expired token (issued 20 minutes ago, 600 s of life)", old, text="expired")
    kfake.request("DELETE", "/api/v1/namespaces/%s/serviceaccounts/web" % NS)
    kfake.post("/api/v1/namespaces/%s/serviceaccounts" % NS, {"apiVersion": "v1", "kind": "ServiceAccount",
                                                             "metadata": {"name": "web"}})
    refused("a token of an account deleted and made again (uid changed)", web_tok, text="UID")

    rc, out, err = env.run("destroy", "--workload", "api", "--tenant", "shop")
    ck.ok(rc == 0, "destroy api", (rc, out[-1000:], err[-2000:]))
    refused("a destroyed workload's token (its account is gone)", api_tok, text="not found")

    rows = env.db("SELECT actor, tenant, outcome FROM audit WHERE action = 'POST /v1/identity/token'")
    ck.ok((sid("api"), "shop", "200") in [tuple(r) for r in rows] and (sid("web"), "shop", "200") in
          [tuple(r) for r in rows] and sum(1 for r in rows if r[2] == "401") >= 6,
          "every answer is an audit row, a granted one naming the workload", rows[:8])
finally:
    log = wltest.stop(serves)
    in_log, in_files = wltest.leaks(seen, log, env.home)
    ck.ok(seen and not in_log and "/v1/identity/token" in log,
          "serve's log (debug) shows the requests and no pod token, signature or issued token", (in_log, log[-1500:]))
    ck.ok(seen and not in_files, "no pod token, signature or issued token in any file of the broker home (state, WAL)",
          in_files[:5])
    env.close()
ck.done()
