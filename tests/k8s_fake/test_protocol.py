#!/usr/bin/python3
"""The fake's protocol surface: authentication (certificates, tokens from
--token and --token-auth-file, expiry, nothing at all, a foreign client
certificate, a client that does not trust the server), authorization deny
rules, discovery documents checked with python3-jsonschema against the
reference OpenAPI (APIVersions, APIGroupList, APIGroup, APIResourceList),
aggregated discovery, /openapi/v3 advertising fieldValidation on PATCH,
/version, watch (resourceVersion, 410 for a too old one), the fault and
latency controls (429 with Retry-After, 500, 503, 409 on matching requests,
connection resets, slow answers) and the request log."""
import http.client
import json
import os
import socket
import ssl
import time

from k8stest import Fake, check, deployment, done, ns_obj, schema_errors, tmpdir

tokfile = os.path.join(tmpdir(), "tokens.csv")
with open(tokfile, "w") as f:
    f.write('file-token-0005,erin,1005,"ops,dev"\n')
fake = Fake("--token", "flag-token-0004=frank:admins,dev", "--token-auth-file", tokfile, "--knative")

# ---- authentication
r = fake.get("/api/v1/namespaces", user=None)
check(r.status == 401 and r.json == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                     "message": "Unauthorized", "reason": "Unauthorized", "code": 401},
      "no certificate and no token: 401 with the API server's Status", r)
r = fake.get("/api/v1/namespaces")
check(r.status == 200, "a client certificate signed by the test CA is accepted", r)
r = fake.get("/api/v1/namespaces", token="flag-token-0004")
check(r.status == 200, "a --token token is accepted", r)
r = fake.get("/api/v1/namespaces", token="file-token-0005")
check(r.status == 200, "a --token-auth-file token is accepted", r)
r = fake.get("/api/v1/namespaces", token="no-such-token")
check(r.status == 401, "an unknown token: 401")
r = fake.get("/api/v1/namespaces", user=None, headers={"Authorization": "Basic bm9ib2R5Og=="})
check(r.status == 401, "basic auth: 401 (kube-apiserver has none)")
fake.ctl("POST", "tokens", {"token": "exp-token-0006", "user": "gina", "expires_in": 0.4})
r1 = fake.get("/api/v1/namespaces", token="exp-token-0006")
time.sleep(0.6)
r2 = fake.get("/api/v1/namespaces", token="exp-token-0006")
check(r1.status == 200 and r2.status == 401, "a token with an expiry works until it expires, then 401",
      (r1.status, r2.status))
log = fake.log()
users = {(e.get("user"), e.get("auth")) for e in log if e.get("status") == 200}
check({("admin", "x509"), ("frank", "token"), ("erin", "token")} <= users, "the log names user and method", users)
check(any(e.get("groups") == ["admins", "dev", "system:authenticated"] for e in log if e.get("user") == "frank")
      and any(e.get("groups") == ["system:masters", "system:authenticated"] for e in log if e.get("user") == "admin"),
      "groups from the token and from the certificate's O")
check(not any("flag-token-0004" in json.dumps(e) for e in log), "the log does not hold tokens")

try:
    ctx = fake.context("stranger")
    conn = http.client.HTTPSConnection("127.0.0.1", fake.port, context=ctx, timeout=10)
    conn.request("GET", "/api/v1/namespaces")
    conn.getresponse().read()
    check(False, "a client certificate from another CA fails the handshake")
except (ssl.SSLError, ConnectionError, OSError) as e:
    check(True, "a client certificate from another CA fails the handshake (%s)" % type(e).__name__)
try:
    ctx = ssl.create_default_context(cafile=os.path.join(fake.pki, "other-ca.crt"))
    conn = http.client.HTTPSConnection("127.0.0.1", fake.port, context=ctx, timeout=10)
    conn.request("GET", "/version")
    conn.getresponse().read()
    check(False, "a client trusting another CA refuses the server")
except ssl.SSLCertVerificationError as e:
    check("certificate verify failed" in str(e), "a client trusting another CA refuses the server's certificate")
s = socket.create_connection(("127.0.0.1", fake.port), timeout=5)
s.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
try:
    data = s.recv(100)
except OSError:
    data = b""
s.close()
check(not data.startswith(b"HTTP/"), "plain HTTP gets no HTTP answer (HTTPS only)")

# ---- a ServiceAccount token (TokenRequest), as in-cluster clients use
sa = fake.wait_for("/api/v1/namespaces/default/serviceaccounts/default", lambda o: True, timeout=3)
r = fake.post("/api/v1/namespaces/default/serviceaccounts/default/token",
              {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 600}})
tok = (r.json or {}).get("status", {}).get("token", "")
check(r.status == 201 and tok.count(".") == 2 and not schema_errors(
    r.json, "io.k8s.api.authentication.v1.TokenRequest"), "TokenRequest issues a JWT-shaped token", r)
r = fake.get("/api/v1/namespaces", token=tok)
check(r.status == 200 and any(e.get("user") == "system:serviceaccount:default:default" for e in fake.log()[-1:]),
      "the ServiceAccount token authenticates as system:serviceaccount:default:default")
r = fake.post("/api/v1/namespaces/default/serviceaccounts/nobody/token", {"spec": {}})
check(r.status == 404, "a token for a missing ServiceAccount: 404")

# ---- authorization deny rules (RBAC stand-in)
fake.ctl("POST", "authz", {"deny": [{"user": "frank", "verbs": ["create"], "resources": ["deployments"],
                                     "namespaces": ["default"]}]})
r = fake.post("/apis/apps/v1/namespaces/default/deployments", deployment("x"), token="flag-token-0004")
check(r.status == 403 and r.reason == "Forbidden" and r.message ==
      'deployments.apps is forbidden: User "frank" cannot create resource "deployments" in API group "apps" '
      'in the namespace "default"', "a deny rule answers 403 as RBAC does", r)
fake.ctl("DELETE", "authz")

# ---- discovery, against the reference definitions
r = fake.get("/version")
check(r.status == 200 and r.json["major"] == "1" and r.json["minor"] == "36", "/version says 1.36", r.json)
for path, defname in [("/api", "io.k8s.apimachinery.pkg.apis.meta.v1.APIVersions"),
                      ("/apis", "io.k8s.apimachinery.pkg.apis.meta.v1.APIGroupList"),
                      ("/apis/apps", "io.k8s.apimachinery.pkg.apis.meta.v1.APIGroup"),
                      ("/api/v1", "io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList"),
                      ("/apis/apps/v1", "io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList"),
                      ("/apis/autoscaling/v2", "io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList"),
                      ("/apis/serving.knative.dev/v1", "io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList")]:
    r = fake.get(path)
    errs = schema_errors(r.json, defname) if r.status == 200 else ["status %d" % r.status]
    check(not errs, "%s fits %s" % (path, defname.split(".")[-1]), errs[:3])
groups = {g["name"]: [v["groupVersion"] for v in g["versions"]] for g in fake.get("/apis").json["groups"]}
check(groups == {"apps": ["apps/v1"], "autoscaling": ["autoscaling/v2"], "batch": ["batch/v1"],
                 "networking.k8s.io": ["networking.k8s.io/v1"], "discovery.k8s.io": ["discovery.k8s.io/v1"],
                 "rbac.authorization.k8s.io": ["rbac.authorization.k8s.io/v1"],
                 "authentication.k8s.io": ["authentication.k8s.io/v1"],
                 "serving.knative.dev": ["serving.knative.dev/v1"]}, "the groups served", groups)
res = {x["name"]: x for x in fake.get("/apis/apps/v1").json["resources"]}
check(res["deployments"]["kind"] == "Deployment" and res["deployments"]["namespaced"] is True
      and res["deployments"]["shortNames"] == ["deploy"] and "patch" in res["deployments"]["verbs"]
      and res["deployments"]["storageVersionHash"] == "8aSe+NMegvE="
      and res["deployments/scale"]["group"] == "autoscaling" and res["deployments/scale"]["kind"] == "Scale",
      "apps/v1 lists deployments, status and scale as the API server does", res.get("deployments"))
core = {x["name"]: x for x in fake.get("/api/v1").json["resources"]}
check(core["namespaces"]["namespaced"] is False and core["services"]["shortNames"] == ["svc"]
      and core["serviceaccounts/token"]["kind"] == "TokenRequest", "core/v1 resources", sorted(core))
kn = {x["name"]: x for x in fake.get("/apis/serving.knative.dev/v1").json["resources"]}
check(kn["services"]["shortNames"] == ["kservice", "ksvc"] and kn["services"]["categories"] == ["all", "knative", "serving"],
      "Knative's names come from its CRD", kn.get("services"))
agg = fake.get("/apis", accept="application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json")
check(agg.status == 200 and agg.header("Content-Type") == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
      and agg.json["kind"] == "APIGroupDiscoveryList" and any(
          i["metadata"].get("name") == "apps" and i["versions"][0]["resources"][0]["resource"] == "deployments"
          for i in agg.json["items"]), "aggregated discovery when asked for it", agg.json and agg.json.get("kind"))
fake.ctl("POST", "knative", {"enabled": False})
fake.ctl("POST", "autoscaling", {"v2": False})
groups = [g["name"] for g in fake.get("/apis").json["groups"]]
r = fake.get("/apis/serving.knative.dev/v1/namespaces/default/services")
check("serving.knative.dev" not in groups and "autoscaling" not in groups and r.status == 404,
      "switched off, Knative and autoscaling/v2 leave discovery and their paths 404", groups)
fake.ctl("POST", "knative", {"enabled": True})
fake.ctl("POST", "autoscaling", {"v2": True})
idx = fake.get("/openapi/v3").json["paths"]
check({"api/v1", "apis/apps/v1", "apis/autoscaling/v2", "apis/serving.knative.dev/v1"} <= set(idx),
      "/openapi/v3 lists the group-versions", sorted(idx))
doc = fake.get(idx["apis/apps/v1"]["serverRelativeURL"]).json
op = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
check(op["x-kubernetes-group-version-kind"]["kind"] == "Deployment"
      and any(p["name"] == "fieldValidation" and p["in"] == "query" for p in op["parameters"])
      and "io.k8s.api.apps.v1.Deployment" in doc["components"]["schemas"],
      "the v3 document has PATCH with fieldValidation and the Deployment schema")
kdoc = fake.get(idx["apis/serving.knative.dev/v1"]["serverRelativeURL"]).json
kop = kdoc["paths"]["/apis/serving.knative.dev/v1/namespaces/{namespace}/services/{name}"]["patch"]
check(kop["x-kubernetes-group-version-kind"] == {"group": "serving.knative.dev", "kind": "Service", "version": "v1"},
      "the Knative v3 document has its PATCH with the right kind")
r = fake.get("/openapi/v2", accept="application/com.github.proto-openapi.spec.v2@v1.0+protobuf")
check(r.status == 406, "/openapi/v2 as protobuf only: 406 (JSON only)")
r = fake.get("/apis/apps/v1/namespaces/default/widgets")
check(r.status == 404 and r.message == "the server could not find the requested resource", "an unknown resource: 404")

# ---- watch
NS = "fb-watch"
fake.post("/api/v1/namespaces", ns_obj(NS))
base = "/api/v1/namespaces/%s/configmaps" % NS
rv = fake.get(base).json["metadata"]["resourceVersion"]
fake.post(base, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "1"}})
fake.request("PATCH", base + "/a", json.dumps({"data": {"k": "2"}}), ctype="application/merge-patch+json")
fake.delete(base + "/a")
r = fake.get(base, query={"watch": "1", "resourceVersion": rv, "timeoutSeconds": "1",
                          "fieldSelector": "metadata.name=a"})
evs = [json.loads(line) for line in r.raw.splitlines() if line.strip()]
check([(e["type"], e["object"]["metadata"]["name"]) for e in evs] == [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]
      and evs[0]["object"]["kind"] == "ConfigMap" and int(evs[2]["object"]["metadata"]["resourceVersion"]) > int(rv),
      "watch from a resourceVersion (fieldSelector name=a): ADDED, MODIFIED, DELETED", [e["type"] for e in evs])
check(all(not schema_errors(e, "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent") for e in evs),
      "watch events fit meta/v1 WatchEvent")
r = fake.get(base, query={"watch": "true", "resourceVersion": "1", "timeoutSeconds": "1"})
evs = [json.loads(line) for line in r.raw.splitlines() if line.strip()]
check(len(evs) == 1 and evs[0]["type"] == "ERROR" and evs[0]["object"]["code"] == 410
      and evs[0]["object"]["reason"] == "Expired", "a too old resourceVersion: an ERROR event with 410 Expired", evs)

# ---- faults and latency
D = "/apis/apps/v1/namespaces/default/deployments"
fake.ctl("POST", "faults", {"count": 2, "status": 429, "retry_after": 3, "method": "GET", "path": "/deployments$"})
r1, r2, r3 = fake.get(D), fake.get(D), fake.get(D)
check(r1.status == 429 and r1.header("Retry-After") == "3" and r1.reason == "TooManyRequests"
      and r1.json["details"]["retryAfterSeconds"] == 3 and r2.status == 429 and r3.status == 200,
      "429 with Retry-After on the next 2 matching requests, then normal", (r1, r2.status, r3.status))
fake.ctl("POST", "faults", [{"count": 1, "status": 500, "path": "deployments"},
                            {"count": 1, "status": 503, "path": "deployments"}])
r1, r2 = fake.get(D), fake.get(D)
check(r1.status == 500 and r1.reason == "InternalError" and r2.status == 503 and r2.reason == "ServiceUnavailable",
      "500 then 503", (r1, r2))
fake.ctl("POST", "faults", {"count": 1, "status": 409, "method": "PATCH"})
r1 = fake.get(D)
r2 = fake.apply(D + "/f", deployment("f"), manager="t")
r3 = fake.apply(D + "/f", deployment("f"), manager="t")
check(r1.status == 200 and r2.status == 409 and r2.reason == "Conflict" and r3.status == 201,
      "409 on the next PATCH only, other methods untouched", (r1.status, r2, r3.status))
fake.ctl("POST", "faults", {"count": 1, "reset": True, "path": "deployments"})
try:
    fake.get(D)
    check(False, "a reset fault resets the connection")
except (ConnectionError, ssl.SSLError, http.client.RemoteDisconnected, OSError) as e:
    check(True, "a reset fault resets the connection (%s)" % type(e).__name__)
fake.ctl("POST", "faults", {"count": 1, "delay_ms": 400, "path": "deployments"})
t = time.time()
r = fake.get(D)
check(r.status == 200 and time.time() - t >= 0.4, "a delay fault answers late", time.time() - t)
fake.ctl("POST", "faults", {"count": 1, "trickle_ms": 60, "path": "deployments"})
t = time.time()
r = fake.get(D)
check(r.status == 200 and r.json["kind"] == "DeploymentList" and time.time() - t >= 0.4,
      "a slow answer trickles its body", time.time() - t)
fake.ctl("POST", "latency", {"ms": 150})
t = time.time()
fake.get(D)
lat = time.time() - t
fake.ctl("POST", "latency", {"ms": 0})
check(lat >= 0.15, "latency applies to every request", lat)
faulted = [e for e in fake.log() if e.get("fault")]
check(len(faulted) == 8 and {e["fault"].get("status") for e in faulted} >= {429, 500, 503, 409},
      "the log records each injected fault", len(faulted))

# ---- the request log and the object dump
seq = fake.last_seq()
fake.apply("/api/v1/namespaces/default/configmaps/logged", {"apiVersion": "v1", "kind": "ConfigMap",
                                                            "metadata": {"name": "logged"}, "data": {"x": "y"}},
           manager="fedbroker", dry=True)
e = [x for x in fake.log(seq)][-1]
check(e["method"] == "PATCH" and e["path"] == "/api/v1/namespaces/default/configmaps/logged"
      and e["query"] == {"fieldManager": "fedbroker", "dryRun": "All"}
      and e["content_type"] == "application/apply-patch+yaml" and e["user"] == "admin" and e["status"] == 201
      and json.loads(e["body"])["data"] == {"x": "y"} and e["verb"] == "patch",
      "the log holds method, path, query, content type, user, status and body", e)
names = [(o["kind"], o["metadata"]["name"]) for o in fake.objects()]
check(("Namespace", "default") in names and ("ConfigMap", "logged") not in names and ("Deployment", "f") in names,
      "the dump has every stored object (and not the dry run)")
fake.ctl("POST", "faults", {"count": 5, "status": 500})
fake.ctl("POST", "reset")
names = {(o["kind"], o["metadata"]["name"]) for o in fake.objects()}
check({n for n in names if n[0] == "Namespace"} == {("Namespace", n) for n in
                                                   ("default", "kube-system", "kube-public", "kube-node-lease")}
      and ("Deployment", "f") not in names and fake.log() == [] and fake.get("/api/v1/namespaces").status == 200,
      "reset: a new cluster, an empty log, no pending faults", sorted(names))
done()
