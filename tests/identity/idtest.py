"""idtest.py - what the identity tests of a caller's own issuer and of
caller grants share: a loopback HTTP site (where an issuer's discovery
document and JWK Set are published, as one publishes them to a bucket), the
Kubernetes cluster's issuer published there from fake_k8s, the kubelet's
projected token (a TokenRequest), a Container spec placed on the cluster,
and a request signed with SigV4 for a service and sent to fake_aws."""
import json
import os
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Site, workload  # noqa: E402,F401  (Site: the loopback site the issuer tests publish to)


def publish_cluster_issuer(kfake, site, issuer):
    """The cluster's JWK Set (fake_k8s /openid/v1/jwks) and a discovery
    document for issuer (SITE/k8s) on the site; -> the issuer the cluster's
    own discovery document names (it must be the same)."""
    r = kfake.get("/openid/v1/jwks")
    os.makedirs(os.path.join(site.dir, "k8s", ".well-known"), exist_ok=True)
    with open(os.path.join(site.dir, "k8s", "jwks.json"), "w") as f:
        json.dump(r.json, f)
    with open(os.path.join(site.dir, "k8s", ".well-known", "openid-configuration"), "w") as f:
        json.dump({"issuer": issuer, "jwks_uri": issuer + "/jwks.json", "response_types_supported": ["id_token"],
                   "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"]}, f)
    return (kfake.get("/.well-known/openid-configuration").json or {}).get("issuer")


def kubelet_token(kfake, ns, sa, audience=None, seconds=600):
    """What the kubelet writes into a projected volume: a TokenRequest for
    the pod's account with the volume's audience and expiry."""
    spec = {"expirationSeconds": seconds}
    if audience:
        spec["audiences"] = [audience]
    r = kfake.post("/api/v1/namespaces/%s/serviceaccounts/%s/token" % (ns, sa),
                   {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec})
    return (r.json or {}).get("status", {}).get("token", "") if r.status == 201 else ("failed %r" % r)


def k8s_container(name, deps=""):
    """A Federation member: a Container placed on the cluster (deps: more
    lines of its spec)."""
    return workload("Container", name, """
        image: ghcr.io/shop/%s:4
        ports: [{port: 8080, protocol: http}]
        resources: {cpu: 250m, memory: 256Mi}
        scaling: {minInstances: 1, maxInstances: 2}
        traffic: {requestsPerMonth: 1000000, meanDuration: 40ms}
        placement: {providers: [k8s]}
%s""" % (name, deps))


def signed_get(base, url, creds=None, service="lambda", region="us-east-1"):
    """GET url's /orders through fake_aws at base (Host: url's host),
    SigV4-signed for service with creds (STS Credentials) when given;
    -> (status, parsed JSON answer or text)."""
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    host = url.split("/")[2]
    headers = {"Host": host}
    if creds:
        req = AWSRequest(method="GET", url="https://%s/orders" % host, data=None)
        botocore.auth.SigV4Auth(Credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]),
                                service, region).add_auth(req)
        headers.update({k: v for k, v in req.headers.items()})
    r = urllib.request.Request(base + "/orders", headers=headers)
    try:
        with urllib.request.urlopen(r, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def plan_and_apply(env, fed):
    """`plan FED --no-baselines --out` then `apply --plan`: -> ((plan rc,
    stderr), (apply rc, stdout, stderr))."""
    plan_file = env.path("plan.json")
    rc, _, err = env.run("plan", fed, "--no-baselines", "--out", plan_file)
    return (rc, err), env.run("apply", "--plan", plan_file)
