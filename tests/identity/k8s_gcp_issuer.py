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
- the pod is given what GKE/AKS workload identity federation gives one:
  web's Deployment (read back from the fake) has a projected token whose
  audience is exactly the provider the GCP side made for the cluster
  (expirationSeconds from callerCredentials), a ConfigMap web-fb-cloud in
  the same projected volume holding a Google external_account credential
  configuration (audience, subject_token_type jwt, token_url, the mounted
  token file, service_account_impersonation_url of the fbc- account), and
  GOOGLE_APPLICATION_CREDENTIALS naming the mounted configuration; acting
  as the pod from those alone (a TokenRequest with the volume's audience,
  the configuration followed by google-auth's identity_pool.Credentials
  where the installed google-auth has it, else by the configuration's
  documented steps: Google STS, then the impersonation URL) gets an access
  token of the account, and the federated token an ID token that api
  accepts and other refuses; status shows no drift; destroy of web deletes
  the ConfigMap;
- discover: nothing fedbroker made untracked; destroy of api deletes the
  account (its bindings go with it).

Environment (tests/local.mk): FEDBROKER, top_srcdir, FEDBROKER_DRIVER_PATH."""
import json
import os
import sys
import tempfile
import urllib.parse

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "gcp"))
sys.path.insert(0, os.path.join(here, "..", "k8s"))
from gcptest import NUMBER, PROJECT, REGION, Checker, Env, Fake, members, settings, skip_unless_built  # noqa: E402
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
TTL = 7200  # callerCredentials.tokenExpirationSeconds (not the default)
env.write_config(gs, extra={"drivers": {"gcp": gs, "k8s": {"kubeconfig": kfake.kubeconfig("kc-admin"),
                                                          "serviceAccountIssuer": K8S_ISSUER,
                                                          "callerCredentials": {
                                                              "gcpProject": PROJECT, "gcpProjectNumber": NUMBER,
                                                              "gcpStsUrl": gfake.url + "/v1/token",
                                                              "gcpIamCredentialsUrl": gfake.url + "/iamcredentials",
                                                              "tokenExpirationSeconds": TTL}}},
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

    # the pod's side, from what the k8s driver gave web's Deployment
    dep = kfake.get("/apis/apps/v1/namespaces/%s/deployments/web" % NS).json or {}
    pod = dep.get("spec", {}).get("template", {}).get("spec", {})
    vol = [v for v in pod.get("volumes", []) if v.get("name") == "fedbroker-cloud-identity"]
    srcs = vol[0]["projected"]["sources"] if vol else []
    toks = [x["serviceAccountToken"] for x in srcs if "serviceAccountToken" in x]
    cms = [x["configMap"]["name"] for x in srcs if "configMap" in x]
    ck.ok(len(toks) == 1 and toks[0].get("audience") == KAUD and toks[0].get("expirationSeconds") == TTL,
          "web's pods get a projected token of exactly the cluster provider's audience, %d s" % TTL, (toks, KAUD))
    cont = (pod.get("containers") or [{}])[0]
    penv = {e["name"]: e.get("value") for e in cont.get("env", [])}
    mnt = [m["mountPath"] for m in cont.get("volumeMounts", []) if m.get("name") == "fedbroker-cloud-identity"]
    cm = kfake.get("/api/v1/namespaces/%s/configmaps/%s" % (NS, cms[0] if cms else "none")).json or {}
    data = cm.get("data") or {}
    gac = penv.get("GOOGLE_APPLICATION_CREDENTIALS", "")
    key = gac[len(mnt[0]) + 1:] if mnt and gac.startswith(mnt[0] + "/") else None
    ck.ok(cms == ["web-fb-cloud"] and key in data and penv.get("FEDBROKER_GOOGLE_CREDENTIALS_API") == gac,
          "GOOGLE_APPLICATION_CREDENTIALS names the mounted configuration from ConfigMap web-fb-cloud",
          (gac, mnt, sorted(data)))
    conf = json.loads(data.get(key) or "{}")
    IMP = "%s/iamcredentials/v1/projects/-/serviceAccounts/%s:generateAccessToken" % (gfake.url, CALLER)
    ck.ok(conf.get("type") == "external_account" and conf.get("audience") == KAUD and
          conf.get("subject_token_type") == "urn:ietf:params:oauth:token-type:jwt" and
          conf.get("token_url") == gfake.url + "/v1/token" and
          conf.get("credential_source") == {"file": mnt[0] + "/" + toks[0]["path"]} and
          conf.get("service_account_impersonation_url") == IMP,
          "it is an external_account configuration: the provider's audience, the mounted token, web's fbc- account",
          conf)
    # the kubelet writes the volume: the token (TokenRequest with exactly
    # the volume's audience and expiry for the pod's account) and the
    # ConfigMap's files, here under a temporary directory for the mount path
    root = tempfile.mkdtemp(prefix="fb-pod-")
    ptok = kubelet_token(kfake, NS, pod.get("serviceAccountName", "?"), toks[0]["audience"] if toks else None,
                         toks[0]["expirationSeconds"] if toks else 600)
    with open(os.path.join(root, toks[0]["path"] if toks else "t"), "w") as f:
        f.write(ptok)
    conf["credential_source"] = {"file": os.path.join(root, toks[0]["path"] if toks else "t")}
    scope = "https://www.googleapis.com/auth/cloud-platform"
    try:
        from google.auth import identity_pool  # google-auth >= 1.27 (Debian 12 has 1.5.1)
    except ImportError:
        identity_pool = None
    if identity_pool:
        import google.auth.transport.requests
        req = google.auth.transport.requests.Request()
        creds = identity_pool.Credentials.from_info(conf, scopes=[scope])
        creds.refresh(req)
        sa_tok = creds.token
        # the federated token itself: the same configuration without impersonation
        fcreds = identity_pool.Credentials.from_info(
            {k: v for k, v in conf.items() if k != "service_account_impersonation_url"}, scopes=[scope])
        fcreds.refresh(req)
        fed_pod = fcreds.token
        how = "google-auth identity_pool.Credentials"
    else:
        # the configuration's documented steps (Google's external_account
        # format): RFC 8693 exchange of the file's token at token_url for
        # audience, then the impersonation URL with the federated token
        with open(conf["credential_source"]["file"]) as f:
            subj = f.read()
        body = urllib.parse.urlencode({
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", "audience": conf["audience"],
            "scope": scope, "requested_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "subject_token": subj, "subject_token_type": conf["subject_token_type"]}).encode()
        st_, doc, _ = gfake.call("POST", conf["token_url"][len(gfake.url):], raw=body,
                                 ctype="application/x-www-form-urlencoded")
        fed_pod = (doc or {}).get("access_token") if st_ == 200 and isinstance(doc, dict) else None
        st_, doc, _ = gfake.call("POST", conf["service_account_impersonation_url"][len(gfake.url):],
                                 {"scope": [scope]}, token=fed_pod or "x")
        sa_tok = (doc or {}).get("accessToken") if st_ == 200 and isinstance(doc, dict) else None
        how = "the configuration's steps (this google-auth has no identity_pool)"
    ck.ok(bool(sa_tok) and bool(fed_pod), "acting as the pod, " + how + ": an access token of web's fbc- account")
    st_, doc, _ = gfake.call("GET", "/iam/v1/projects/%s/serviceAccounts/%s" % (PROJECT, CALLER), token=sa_tok or "x")
    ck.ok(st_ in (200, 403) and st_ != 401, "the fake takes it as a Google access token (not 401)", st_)
    st_, pidt = id_token(CALLER, fed_pod or "", services["api"])
    st2, doc = invoke(services["api"], pidt or "")
    st3, _ = invoke(services["other"], pidt or "")
    ck.ok(st_ == 200 and st2 == 200 and (doc or {}).get("caller") == "serviceAccount:" + CALLER and st3 == 401,
          "the pod's federated token gets an ID token for api that api accepts and other refuses", (st_, st2, st3))
    dep2 = kfake.get("/apis/apps/v1/namespaces/%s/deployments/web2" % NS).json or {}
    ck.ok(not [v for v in dep2.get("spec", {}).get("template", {}).get("spec", {}).get("volumes", [])
               if v.get("name") == "fedbroker-cloud-identity"], "web2 (calls nothing) gets no cloud token")
    rc, out, err = env.run("status", "--format", "json")
    ck.ok(rc == 0, "status: no drift", (rc, out[-1200:], err[-600:]))
    # drift: the configuration changed by hand is reported
    kfake.request("PATCH", "/api/v1/namespaces/%s/configmaps/web-fb-cloud" % NS,
                  {"data": {key: "{}"}}, ctype="application/merge-patch+json")
    rc, out, err = env.run("status", "--format", "json")
    ck.ok(rc == 4 and "ConfigMap.data" in out, "a configuration changed by hand is drift", (rc, out[-1500:]))
    rows = [r[0] for r in env.db("SELECT cloud_id FROM resources WHERE type='k8s:ConfigMap'")]
    ck.ok(rows == ["%s/web-fb-cloud" % NS], "the ConfigMap is recorded", rows)

    left = env.untracked("--provider", "gcp")
    ck.ok(left == [], "discover finds nothing fedbroker made untracked", left)
    rc, out, err = env.run("destroy", "--workload", "api", "--tenant", "shop")
    st_, doc, _ = gfake.call("GET", "/iam/v1/projects/%s/serviceAccounts" % PROJECT, token=gfake.admin)
    ck.ok(rc == 0 and not [a for a in (doc or {}).get("accounts", []) if a["email"] == CALLER],
          "destroy of api deletes the caller account", (rc, err[-1500:]))
    rc, out, err = env.run("destroy", "--workload", "web", "--tenant", "shop")
    st_ = kfake.get("/api/v1/namespaces/%s/configmaps/web-fb-cloud" % NS).status
    ck.ok(rc == 0 and st_ == 404, "destroy of web deletes its ConfigMap", (rc, st_, err[-1500:]))
finally:
    site.shutdown()
    kfake.close()
    gfake.close()
    env.close()
ck.done()
