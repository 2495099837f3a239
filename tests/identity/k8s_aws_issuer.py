#!/usr/bin/python3
"""A workload on Kubernetes calls a Function on AWS with the cluster's own
service-account token (issue 15: "where the cluster's service-account
issuer is trusted by AWS or GCP, the same bindings name that issuer's
subject"; docs/identity.md, "A caller's own issuer").

The k8s driver's setting serviceAccountIssuer names the cluster's issuer
(here fake_k8s started with --sa-issuer, its discovery document and JWK Set
published on a loopback site as one publishes them to a bucket); its offers
carry it (workloadIssuer), and the broker gives the callee's apply each
caller's issuer and subject. One `apply --plan` of a federation where web
(a Container on the cluster) depends on worker (a Function on AWS Lambda),
against tests/fakes/fake_k8s.py and tests/fakes/fake_aws.py (every IAM,
STS and Lambda request checked against botocore's models):

- AWS gets an IAM OIDC provider for the cluster's issuer (client id
  sts.amazonaws.com), besides the broker's; the role made for web to call
  worker (fbc-..., recorded with worker) is opened by web's broker token
  and by a token of the cluster for exactly
  system:serviceaccount:fb-shop:web with audience sts.amazonaws.com;
- the kubelet's part is played by TokenRequest (audience
  sts.amazonaws.com): web's pod token is exchanged at the fake STS
  (AssumeRoleWithWebIdentity: the fake fetches the issuer's discovery
  document and JWK Set, checks signature, kid, iss, aud, exp and the trust
  policy's conditions) for the role's credentials, and a call signed with
  them is let in by worker's function URL (AWS_IAM) and refused by other's;
- refused: web2's token (another account of the namespace), web's token
  for another audience, web's token at worker's own role, a token of
  another namespace;
- the pod is given what EKS (IRSA) gives one: web's Deployment (read back
  from the fake, validated against the 1.36 OpenAPI) has a projected
  serviceAccountToken volume of audience sts.amazonaws.com and
  expirationSeconds 3600 (the default of callerCredentials), and
  AWS_ROLE_ARN (the fbc- role, computed by the k8s driver from the account
  of callerCredentials.awsAccountId and the documented name) and
  AWS_WEB_IDENTITY_TOKEN_FILE (the mounted path) in its container; acting
  as the pod from those alone (a TokenRequest with exactly the volume's
  audience and expiry for the pod's serviceAccountName, then
  AssumeRoleWithWebIdentity for AWS_ROLE_ARN) reaches worker's URL;
  web2, which calls nothing, gets no such volume; status shows no drift;
- the role is recorded (discover: tracked, no leftover); destroy of worker
  deletes it (the shared OIDC providers stay).

Environment (tests/local.mk): FEDBROKER, top_srcdir, FEDBROKER_DRIVER_PATH."""
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "k8s"))
sys.path.insert(0, os.path.join(here, "..", "aws"))
import k8sdrv  # noqa: E402
from k8sdrv import Checker, Env, Fake  # noqa: E402
import awstest  # noqa: E402
sys.path.insert(0, here)
from idtest import Site, k8s_container, kubelet_token, plan_and_apply, publish_cluster_issuer, signed_get  # noqa: E402

k8sdrv.skip_unless_built()
import botocore.exceptions  # noqa: E402

ck = Checker("identity k8s issuer trusted by AWS")
site = Site()
K8S_ISSUER = site.url + "/k8s"   # the cluster's service-account issuer
ISSUER = site.url + "/fb"        # the broker's

kfake = Fake("--rollout-delay-ms", "50", "--sa-issuer", K8S_ISSUER)
afake = awstest.Fake()
env = Env(kfake.kubeconfig("kc-admin"))
aws = awstest.settings(afake)
aws["endpoints"]["iam"] = afake.base
env.write_config(extra={"drivers": {"k8s": {"kubeconfig": env.kubeconfig, "serviceAccountIssuer": K8S_ISSUER,
                                            "callerCredentials": {"awsAccountId": awstest.ACCOUNT}},
                                    "aws": aws},
                        "identity": {"trustDomain": "prod.example.com", "issuer": ISSUER},
                        "catalog": {"params": {"local_metro": "new-york"}}})
env.env.update({"AWS_ACCESS_KEY_ID": awstest.AK, "AWS_SECRET_ACCESS_KEY": awstest.SK})
NS = "fb-shop"
os.makedirs(env.path("src"))
env.write("src/app.py", "def handler(event, context):\n    return 1\n")


def function(name, extra=""):
    return """    - apiVersion: fedbroker.dev/v1
      kind: Function
      metadata: {name: %s}
      spec:
        runtime: python3.12
        handler: app.handler
        code: {path: %s}
        traffic: {requestsPerMonth: 100000, meanDuration: 20ms}
        placement: {regions: ["aws:us-east-1"]}
%s""" % (name, env.path("src"), extra)


fed = env.write("shop.yaml", """apiVersion: fedbroker.dev/v1
kind: Federation
metadata: {name: shop, tenant: shop}
spec:
  workloads:
%s%s%s%s""" % (k8s_container("web", "        dependencies: [{workload: worker}]\n"), k8s_container("web2"),
               function("worker"), function("other", "        triggers: [{http: {public: false}}]\n")))


def assume(role_arn, tok):
    try:
        r = sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="web", WebIdentityToken=tok)
        return r["Credentials"], r.get("SubjectFromWebIdentityToken")
    except botocore.exceptions.ClientError as e:
        return None, e.response["Error"]["Code"]


try:
    sts = afake.client("sts")
    ck.ok(publish_cluster_issuer(kfake, site, K8S_ISSUER) == K8S_ISSUER,
          "the cluster's discovery document names the issuer of the setting")
    rc, out, err = env.run("identity", "publish", os.path.join(site.dir, "fb"))
    ck.ok(rc == 0, "identity publish", err)
    # without callerCredentials.awsAccountId the pods cannot be told the role: a warning naming the setting
    conf = json.load(open(os.path.join(env.home, "config.json")))
    del conf["drivers"]["k8s"]["callerCredentials"]
    json.dump(conf, open(os.path.join(env.home, "config.json"), "w"))
    rc, _, err = env.run("plan", fed, "--no-baselines", "--out", env.path("dry.json"))
    rc, out, err = env.run("apply", "--plan", env.path("dry.json"), "--dry-run")
    ck.ok(rc == 0 and "callerCredentials.awsAccountId" in err and "web calls worker on AWS" in err,
          "a dependency on AWS without callerCredentials.awsAccountId: a warning naming it (dry run)",
          (rc, err[-1500:]))
    conf["drivers"]["k8s"]["callerCredentials"] = {"awsAccountId": awstest.ACCOUNT}
    json.dump(conf, open(os.path.join(env.home, "config.json"), "w"))
    (prc, perr), (rc, out, err) = plan_and_apply(env, fed)
    ck.ok(prc == 0, "plan --out", (prc, perr[-1500:]))
    ck.ok(rc == 0 and "4 created" in out, "apply --plan deploys the cluster and the AWS side", (rc, out, err[-3000:]))

    st = afake.state()
    provs = st.get("oidc_providers", {})
    khp = K8S_ISSUER[len("http://"):]
    ck.ok(khp in provs and provs[khp].get("client_ids") == ["sts.amazonaws.com"] and ISSUER[len("http://"):] in provs,
          "AWS has an OIDC provider for the cluster's issuer (client id sts.amazonaws.com) and the broker's",
          sorted(provs))
    roles = st.get("iam_roles", {})
    fbc = [n for n in roles if n.startswith("fbc-shop-web-worker-")]
    ck.ok(len(fbc) == 1 and not [n for n in roles if n.startswith("fbc-") and n not in fbc],
          "one role made for web to call worker, and no other caller role", sorted(roles))
    role = roles.get(fbc[0]) if fbc else {}
    stmts = (role.get("policy") or {}).get("Statement", [])
    kstmt = [s for s in stmts if s.get("Principal", {}).get("Federated") == (provs.get(khp) or {}).get("arn")]
    ck.ok(len(kstmt) == 1 and kstmt[0].get("Action") == "sts:AssumeRoleWithWebIdentity" and
          kstmt[0].get("Condition") == {"StringEquals": {khp + ":sub": "system:serviceaccount:%s:web" % NS,
                                                         khp + ":aud": "sts.amazonaws.com"}},
          "its trust policy opens it to the cluster's token of exactly system:serviceaccount:fb-shop:web", stmts)
    fns = st.get("lambda", {})
    worker = fns.get("us-east-1|shop-worker", {})
    other = fns.get("us-east-1|shop-other", {})
    wurl = (worker.get("url") or {}).get("FunctionUrl")
    ourl = (other.get("url") or {}).get("FunctionUrl")
    ck.ok(wurl and ourl and (worker.get("url") or {}).get("AuthType") == "AWS_IAM",
          "worker has an AWS_IAM function URL", (worker.get("url"), other.get("url")))

    tok = kubelet_token(kfake, NS, "web", "sts.amazonaws.com")
    creds, sub = assume(role.get("arn", ""), tok)
    ck.ok(creds is not None and sub == "system:serviceaccount:%s:web" % NS,
          "web's pod token (signed by the cluster) opens the role at the fake STS", sub)
    if creds:
        ck.ok(signed_get(afake.base, wurl, creds)[0] == 200, "a call signed with those credentials is let in by worker's URL")
        ck.ok(signed_get(afake.base, ourl, creds)[0] == 403, "and refused by other's URL (no grant)")
    creds2, why = assume(role.get("arn", ""), kubelet_token(kfake, NS, "web2", "sts.amazonaws.com"))
    ck.ok(creds2 is None and why == "AccessDenied", "web2's pod token is refused (another subject)", why)
    creds3, why = assume(role.get("arn", ""), kubelet_token(kfake, NS, "web", "https://example.com"))
    ck.ok(creds3 is None and why == "InvalidIdentityToken", "web's token for another audience is refused", why)
    wrole = (roles.get("fb-shop-worker") or {}).get("arn", "")
    creds4, why = assume(wrole, tok)
    ck.ok(wrole and creds4 is None and why == "AccessDenied", "web's token does not open worker's own role", why)
    kfake.post("/api/v1/namespaces/default/serviceaccounts",
               {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "web"}})
    creds5, why = assume(role.get("arn", ""), kubelet_token(kfake, "default", "web", "sts.amazonaws.com"))
    ck.ok(creds5 is None and why == "AccessDenied", "a token of account web in another namespace is refused", why)

    # the pod's side, from what the k8s driver gave web's Deployment
    dep = kfake.get("/apis/apps/v1/namespaces/%s/deployments/web" % NS).json or {}
    pod = dep.get("spec", {}).get("template", {}).get("spec", {})
    vol = [v for v in pod.get("volumes", []) if v.get("name") == "fedbroker-cloud-identity"]
    srcs = [s["serviceAccountToken"] for s in (vol[0]["projected"]["sources"] if vol else [])
            if "serviceAccountToken" in s]
    ck.ok(len(srcs) == 1 and srcs[0].get("audience") == "sts.amazonaws.com" and
          srcs[0].get("expirationSeconds") == 3600,
          "web's pods get a projected token of audience sts.amazonaws.com, 3600 s (the default)", vol)
    cont = (pod.get("containers") or [{}])[0]
    penv = {e["name"]: e.get("value") for e in cont.get("env", [])}
    mnt = [m for m in cont.get("volumeMounts", []) if m.get("name") == "fedbroker-cloud-identity"]
    tfile = (mnt[0]["mountPath"] + "/" + srcs[0]["path"]) if mnt and srcs else None
    ck.ok(tfile and penv.get("AWS_WEB_IDENTITY_TOKEN_FILE") == tfile and mnt[0].get("readOnly") is True,
          "AWS_WEB_IDENTITY_TOKEN_FILE is the mounted token's path (read-only)", (penv, mnt))
    ck.ok(penv.get("AWS_ROLE_ARN") == role.get("arn") and
          penv.get("FEDBROKER_AWS_ROLE_ARN_WORKER") == role.get("arn"),
          "AWS_ROLE_ARN (and FEDBROKER_AWS_ROLE_ARN_WORKER) is the role AWS made for web to call worker",
          (penv.get("AWS_ROLE_ARN"), role.get("arn")))
    ptok = kubelet_token(kfake, NS, pod.get("serviceAccountName", "?"), srcs[0]["audience"] if srcs else None,
                         srcs[0]["expirationSeconds"] if srcs else 600)
    pcreds, psub = assume(penv.get("AWS_ROLE_ARN", ""), ptok)
    ck.ok(pcreds is not None and psub == "system:serviceaccount:%s:web" % NS,
          "acting as the pod (TokenRequest with the volume's audience, AssumeRoleWithWebIdentity for AWS_ROLE_ARN)",
          psub)
    ck.ok(pcreds is not None and signed_get(afake.base, wurl, pcreds)[0] == 200,
          "and the pod's call signed with those credentials is let in by worker's URL")
    dep2 = kfake.get("/apis/apps/v1/namespaces/%s/deployments/web2" % NS).json or {}
    ck.ok(not [v for v in dep2.get("spec", {}).get("template", {}).get("spec", {}).get("volumes", [])
               if v.get("name") == "fedbroker-cloud-identity"], "web2 (calls nothing) gets no cloud token")
    rc, out, err = env.run("status", "--format", "json")
    ck.ok(rc == 0 and "fedbroker-cloud-identity" not in out, "status: no drift", (rc, out[-1200:], err[-600:]))

    rows = env.db("SELECT type, cloud_id FROM resources WHERE type = 'iam-role'")
    ck.ok(role.get("arn") in [r[1] for r in rows], "the caller role is recorded", rows)
    ck.ok(env.untracked("--provider", "aws") == [], "discover finds nothing fedbroker made untracked",
          env.untracked("--provider", "aws"))
    rc, out, err = env.run("destroy", "--workload", "worker", "--tenant", "shop")
    st = afake.state()
    ck.ok(rc == 0 and fbc and fbc[0] not in st.get("iam_roles", {}) and khp in st.get("oidc_providers", {}),
          "destroy of worker deletes the caller role; the shared OIDC provider stays", (rc, err[-1500:]))

    # a setting that is no issuer URL: refused, naming it
    conf = json.load(open(os.path.join(env.home, "config.json")))
    conf["drivers"]["k8s"]["serviceAccountIssuer"] = "http://kubernetes.example.com"
    json.dump(conf, open(os.path.join(env.home, "config.json"), "w"))
    rc, out, err = env.run("plan", fed, "--no-baselines", "--no-save")
    ck.ok(rc != 0 and "serviceAccountIssuer" in err and "https://" in err,
          "serviceAccountIssuer http:// off loopback is refused, naming the setting", (rc, err[-800:]))
    # callerCredentials: an account id that is none, a project without its number
    conf["drivers"]["k8s"]["serviceAccountIssuer"] = K8S_ISSUER
    conf["drivers"]["k8s"]["callerCredentials"] = {"awsAccountId": "12345678901x"}
    json.dump(conf, open(os.path.join(env.home, "config.json"), "w"))
    rc, out, err = env.run("plan", fed, "--no-baselines", "--no-save")
    ck.ok(rc != 0 and "awsAccountId" in err and "12-digit" in err,
          "callerCredentials.awsAccountId that is no account id is refused, naming it", (rc, err[-800:]))
    conf["drivers"]["k8s"]["callerCredentials"] = {"gcpProject": "shop-prod", "tokenExpirationSeconds": 60}
    json.dump(conf, open(os.path.join(env.home, "config.json"), "w"))
    rc, out, err = env.run("plan", fed, "--no-baselines", "--no-save")
    ck.ok(rc != 0 and "gcpProjectNumber" in err and "tokenExpirationSeconds" in err,
          "gcpProject without gcpProjectNumber, and a token expiry under 600 s, are refused, naming them",
          (rc, err[-800:]))
finally:
    site.shutdown()
    afake.close()
    kfake.close()
    env.close()
ck.done()
