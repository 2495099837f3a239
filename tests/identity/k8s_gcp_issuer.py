#!/usr/bin/python3
"""A workload on Kubernetes calls a Container on Cloud Run with the
cluster's own service-account token (issue 15: "where the cluster's
service-account issuer is trusted by AWS or GCP, the same bindings name that
issuer's subject"; docs/identity.md, "A caller's own issuer"): the GCP side
of tests/identity/k8s_aws_issuer.py.

The k8s driver's setting serviceAccountIssuer names the cluster's issuer
(fake_k8s started with --sa-issuer; its discovery document and JWK Set
published on a loopback site). One `apply --plan` of a federation where web
(a Container on the cluster) depends on api (a Container on Cloud Run),
against tests/fakes/fake_k8s.py and tests/fakes/fake_gcp.py (every request
checked against Google's discovery documents):

- the project's pool fedbroker gets a second OIDC provider, for the
  cluster's issuer (google.subject = assertion.sub); the account made for
  web to call api (fbc-..., recorded with api) may be impersonated by web's
  broker principal and by exactly
  principal://.../subject/system:serviceaccount:fb-shop:web (both bindings
  recorded);
- the kubelet's part is played by TokenRequest (audience: the cluster
  provider's resource name): the fake GCP STS exchanges web's pod token
  (fetching the issuer's discovery document and JWK Set: signature, kid,
  iss, aud, exp), generateIdToken on the account gives a Google-signed ID
  token for api's URL, which the fake Cloud Run accepts for api and which
  other refuses (and an ID token made for other's URL too: no run.invoker);
- refused: web2's pod token may not impersonate the account, web's token
  for the broker's provider (another issuer), web's federated token may
  not impersonate api's own account;
- discover: nothing fedbroker made untracked; destroy of api deletes the
  account (its bindings go with it).

Environment (tests/local.mk): FEDBROKER, top_srcdir, FEDBROKER_DRIVER_PATH."""
import os
import sys
import tempfile
import urllib.parse

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "gcp"))
sys.path.insert(0, os.path.join(here, "..", "k8s"))
from gcptest import PROJECT, REGION, Checker, Env, Fake, members, settings, skip_unless_built  # noqa: E402
import k8sdrv  # noqa: E402
sys.path.insert(0, here)
from idtest import Site, k8s_container, kubelet_token, plan_and_apply, publish_cluster_issuer  # noqa: E402

skip_unless_built()
k8sdrv.skip_unless_built()
ck = Checker("identity k8s issuer trusted by GCP")
site = Site()
K8S_ISSUER = site.url + "/k8s"
ISSUER = site.url + "/fb"

kfake = k8sdrv.Fake("--rollout-delay-ms", "50", "--sa-issuer", K8S_ISSUER)
gfake = Fake(tempfile.mkdtemp(prefix="fb-gcp-fake-"))
env = Env(gfake)
env.env["FEDBROKER_SLEEP_SCALE"] = "1"  # the fake cluster's rollouts take real time
gs = settings(gfake)
gs["endpoints"]["iam"] = gfake.url + "/iam"
env.write_config(gs, extra={"drivers": {"gcp": gs, "k8s": {"kubeconfig": kfake.kubeconfig("kc-admin"),
                                                          "serviceAccountIssuer": K8S_ISSUER}},
                            "identity": {"trustDomain": "prod.example.com", "issuer": ISSUER},
                            "catalog": {"params": {"local_metro": "frankfurt"}}})
NS = "fb-shop"


def rcontainer(name):
    return """    - apiVersion: fedbroker.dev/v1
      kind: Container
      metadata: {name: %s}
      spec:
        image: europe-docker.pkg.dev/shop/apps/%s:4
        ports: [{port: 8080, protocol: http}]
        traffic: {requestsPerMonth: 1000000, meanDuration: 40ms, sources: [{location: frankfurt, weight: 1}]}
        placement: {regions: ["gcp:%s"]}
""" % (name, name, REGION)


fed = env.write("shop.yaml", """apiVersion: fedbroker.dev/v1
kind: Federation
metadata: {name: shop, tenant: shop}
spec:
  workloads:
%s%s%s%s""" % (k8s_container("web", "        dependencies: [{workload: api}]\n"), k8s_container("web2"), rcontainer("api"),
               rcontainer("other")))


def sts_exchange(tok, audience):
    body = urllib.parse.urlencode({
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", "audience": audience,
        "scope": "https://www.googleapis.com/auth/cloud-platform",
        "requested_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "subject_token": tok, "subject_token_type": "urn:ietf:params:oauth:token-type:jwt"}).encode()
    st, doc, _ = gfake.call("POST", "/v1/token", raw=body, ctype="application/x-www-form-urlencoded")
    return st, (doc or {}).get("access_token") if isinstance(doc, dict) else None


def id_token(account, fed, svc):
    st, doc, _ = gfake.call("POST", "/iamcredentials/v1/projects/-/serviceAccounts/%s:generateIdToken" % account,
                            {"audience": svc["uri"], "includeEmail": True}, token=fed)
    return st, (doc or {}).get("token") if isinstance(doc, dict) else None


def invoke(svc, tok):
    st, doc, _ = gfake.call("GET", urllib.parse.urlsplit(svc["uri"]).path + "/orders", token=tok)
    return st, doc


try:
    ck.ok(publish_cluster_issuer(kfake, site, K8S_ISSUER) == K8S_ISSUER,
          "the cluster's discovery document names the issuer of the setting")
    rc, out, err = env.run("identity", "publish", os.path.join(site.dir, "fb"))
    ck.ok(rc == 0, "identity publish", err)
    (prc, perr), (rc, out, err) = plan_and_apply(env, fed)
    ck.ok(prc == 0, "plan --out", (prc, perr[-1500:]))
    ck.ok(rc == 0 and "4 created" in out, "apply --plan deploys the cluster and the Cloud Run side", (rc, out, err[-3000:]))

    st_, pl, _ = gfake.call("GET", "/iam/v1/projects/%s/locations/global/workloadIdentityPools/fedbroker/providers"
                            % PROJECT, token=gfake.admin)
    provs = {p["oidc"]["issuerUri"]: p for p in (pl or {}).get("workloadIdentityPoolProviders", [])}
    kprov = provs.get(K8S_ISSUER) or {}
    ck.ok(sorted(provs) == sorted([ISSUER, K8S_ISSUER]) and
          kprov.get("attributeMapping") == {"google.subject": "assertion.sub"},
          "the pool has a provider for the cluster's issuer (google.subject = assertion.sub) besides the broker's",
          sorted(provs))
    KAUD = "//iam.googleapis.com/" + kprov.get("name", "")
    BAUD = "//iam.googleapis.com/" + (provs.get(ISSUER) or {}).get("name", "")
    pool = kprov.get("name", "").split("/providers/")[0]
    st_, doc, _ = gfake.call("GET", "/iam/v1/projects/%s/serviceAccounts" % PROJECT, token=gfake.admin)
    fbc = [a["email"] for a in (doc or {}).get("accounts", []) if a["email"].startswith("fbc-")]
    ck.ok(len(fbc) == 1 and fbc[0].startswith("fbc-shop-web-api-"), "one account made for web to call api", fbc)
    CALLER = fbc[0] if fbc else "none"
    pol = gfake.call("POST", "/iam/v1/projects/%s/serviceAccounts/%s:getIamPolicy" % (PROJECT, CALLER), {},
                     token=gfake.admin)[1] or {}
    want = sorted(["principal://iam.googleapis.com/%s/subject/spiffe://prod.example.com/tenant/shop/workload/web" % pool,
                   "principal://iam.googleapis.com/%s/subject/system:serviceaccount:%s:web" % (pool, NS)])
    ck.ok(members(pol, "roles/iam.workloadIdentityUser") == want and len(pol.get("bindings", [])) == 1,
          "web's broker principal and exactly the cluster's system:serviceaccount:fb-shop:web may impersonate it",
          pol)
    rows = [r[0] for r in env.db("SELECT cloud_id FROM resources WHERE type='gcp-iam-binding'")]
    ck.ok(any(r.endswith("|roles/iam.workloadIdentityUser|" + want[1]) for r in rows),
          "the cluster principal's binding is recorded", rows)
    services = gfake.services()

    tok = kubelet_token(kfake, NS, "web", KAUD)
    st_, fed_tok = sts_exchange(tok, KAUD)
    ck.ok(st_ == 200 and fed_tok, "the fake GCP STS exchanges web's pod token (the cluster's JWKS, iss, aud, exp)",
          st_)
    st_, idt = id_token(CALLER, fed_tok or "", services.get("api", {"uri": ""}))
    ck.ok(st_ == 200 and idt, "web's federated principal gets an ID token of the account for api's URL", st_)
    st_, doc = invoke(services["api"], idt or "")
    ck.ok(st_ == 200 and (doc or {}).get("caller") == "serviceAccount:" + CALLER, "api accepts it", (st_, doc))
    st_, _ = invoke(services["other"], idt or "")
    st2, idt2 = id_token(CALLER, fed_tok or "", services["other"])
    st3, _ = invoke(services["other"], idt2 or "")
    ck.ok(st_ == 401 and st2 == 200 and st3 == 403, "other refuses it, and an ID token made for its URL",
          (st_, st2, st3))
    st_, fed2 = sts_exchange(kubelet_token(kfake, NS, "web2", KAUD), KAUD)
    st2, _ = id_token(CALLER, fed2 or "", services["api"])
    ck.ok(st_ == 200 and st2 == 403, "web2's pod token may not impersonate the account (another subject)", (st_, st2))
    st_, _ = sts_exchange(kubelet_token(kfake, NS, "web", BAUD), BAUD)
    ck.ok(st_ == 400, "web's pod token for the broker's provider is refused (another issuer)", st_)
    st_, _ = id_token("fb-shop-api@%s.iam.gserviceaccount.com" % PROJECT, fed_tok or "", services["api"])
    ck.ok(st_ == 403, "web's federated token may not impersonate api's own account", st_)

    left = env.untracked("--provider", "gcp")
    ck.ok(left == [], "discover finds nothing fedbroker made untracked", left)
    rc, out, err = env.run("destroy", "--workload", "api", "--tenant", "shop")
    st_, doc, _ = gfake.call("GET", "/iam/v1/projects/%s/serviceAccounts" % PROJECT, token=gfake.admin)
    ck.ok(rc == 0 and not [a for a in (doc or {}).get("accounts", []) if a["email"] == CALLER],
          "destroy of api deletes the caller account", (rc, err[-1500:]))
finally:
    site.shutdown()
    kfake.close()
    gfake.close()
    env.close()
ck.done()
