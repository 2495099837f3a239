"""iam.py - IAM v1 (service accounts and their keys and policies, workload
identity pools and OIDC/AWS providers), IAM Credentials v1 (impersonation)
and Resource Manager v3 projects.get."""
import base64
import copy
import datetime
import json
import re
import secrets

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from . import cel
from .common import OperationMethods, PolicyMethods, apply_mask, listing, split_name
from .errors import already_exists, bad_request, not_found

POOL_TYPE = "type.googleapis.com/google.iam.v1.WorkloadIdentityPool"
PROVIDER_TYPE = "type.googleapis.com/google.iam.v1.WorkloadIdentityPoolProvider"
POOL_ID_RX = re.compile(r"^[a-z0-9-]{4,32}$")
SA_ID_RX = re.compile(r"^[a-z]([-a-z0-9]{4,28}[a-z0-9])$")


class Iam:
    def __init__(self, state, auth, srv):
        self.st = state
        self.auth = auth
        self.srv = srv
        self.sa_iam = PolicyMethods(state, "iam", self._sa_resource)
        self.pool_iam = PolicyMethods(state, "iam", self._pool_resource)
        self.ops = OperationMethods(state, "iam", self._pool_name)

    def handlers(self):
        s = "iam.projects.serviceAccounts."
        w = "iam.projects.locations.workloadIdentityPools."
        return {
            s + "create": self.sa_create, s + "get": self.sa_get, s + "list": self.sa_list,
            s + "delete": self.sa_delete, s + "patch": self.sa_patch, s + "disable": self.sa_disable,
            s + "enable": self.sa_enable,
            s + "getIamPolicy": self.sa_iam.get, s + "setIamPolicy": self.sa_iam.set,
            s + "testIamPermissions": self.sa_iam.test,
            s + "keys.upload": self.key_upload, s + "keys.create": self.key_create, s + "keys.list": self.key_list,
            s + "keys.get": self.key_get, s + "keys.delete": self.key_delete, s + "keys.disable": self.key_disable,
            s + "keys.enable": self.key_enable,
            w + "create": self.pool_create, w + "get": self.pool_get, w + "delete": self.pool_delete,
            w + "patch": self.pool_patch, w + "undelete": self.pool_undelete, w + "list": self.pool_list,
            w + "getIamPolicy": self.pool_iam.get, w + "setIamPolicy": self.pool_iam.set,
            w + "operations.get": self.ops.get,
            w + "providers.create": self.prov_create, w + "providers.get": self.prov_get,
            w + "providers.delete": self.prov_delete, w + "providers.patch": self.prov_patch,
            w + "providers.list": self.prov_list, w + "providers.undelete": self.prov_undelete,
            w + "providers.operations.get": self.ops.get,
            "iamcredentials.projects.serviceAccounts.generateAccessToken": self.generate_access_token,
            "iamcredentials.projects.serviceAccounts.generateIdToken": self.generate_id_token,
            "cloudresourcemanager.projects.get": self.project_get,
        }

    # ---- service accounts ---------------------------------------------------------
    def _sa(self, name):
        """The SA record for projects/{P|-}/serviceAccounts/{email|uniqueId}."""
        n = split_name(name)
        if n.get("projects") != "-":
            self.st.project(n["projects"])
        ref = n.get("serviceAccounts")
        sa = self.st.service_accounts.get(ref) or next(
            (s for s in self.st.service_accounts.values() if s["uniqueId"] == ref), None)
        if sa is None:
            raise not_found("Unknown service account")
        return sa

    def _sa_resource(self, name):
        return self._sa(name)["name"]

    @staticmethod
    def sa_view(sa):
        return {k: v for k, v in sa.items() if k not in ("keys",)}

    def add_service_account(self, project, account_id, display_name=None, description=None):
        proj = self.st.project(project)
        email = "%s@%s.iam.gserviceaccount.com" % (account_id, proj["projectId"])
        if email in self.st.service_accounts:
            raise already_exists("Service account %s already exists within project projects/%s."
                                 % (account_id, proj["projectId"]))
        uid = str(100000000000000000000 + secrets.randbelow(10 ** 20))
        sa = {"name": "projects/%s/serviceAccounts/%s" % (proj["projectId"], email), "projectId": proj["projectId"],
              "uniqueId": uid, "email": email, "oauth2ClientId": uid,
              "etag": base64.b64encode(secrets.token_bytes(8)).decode(), "keys": {}}
        if display_name:
            sa["displayName"] = display_name
        if description:
            sa["description"] = description
        self.st.service_accounts[email] = sa
        return sa

    def sa_create(self, ctx):
        body = ctx.chk.body or {}
        aid = body.get("accountId", "")
        if not SA_ID_RX.match(aid):
            raise bad_request("Invalid account ID %r: it must be 6 to 30 characters, start with a lowercase letter, "
                              "contain lowercase letters, digits and hyphens, and not end with a hyphen." % aid,
                              [("account_id", "invalid")])
        inner = body.get("serviceAccount") or {}
        sa = self.add_service_account(ctx.params["name"].split("/")[1], aid, inner.get("displayName"),
                                      inner.get("description"))
        return self.sa_view(sa)

    def sa_get(self, ctx):
        return self.sa_view(self._sa(ctx.params["name"]))

    def sa_list(self, ctx):
        proj = self.st.project(ctx.params["name"].split("/")[1])
        items = [self.sa_view(s) for s in self.st.service_accounts.values() if s["projectId"] == proj["projectId"]]
        return listing(sorted(items, key=lambda x: x["email"]), ctx.chk.query, "accounts", 100)

    def sa_delete(self, ctx):
        sa = self._sa(ctx.params["name"])
        del self.st.service_accounts[sa["email"]]
        self.st.drop_policy(sa["name"])
        return {}

    def sa_patch(self, ctx):
        sa = self._sa(ctx.params["name"])
        body = ctx.chk.body or {}
        mask = [m.strip() for m in (body.get("updateMask") or "").split(",") if m.strip()]
        if not mask:
            raise bad_request("Violation in PatchServiceAccountRequest.update_mask: required field not present.")
        for m in mask:
            if m not in ("displayName", "description", "display_name"):
                raise bad_request("Invalid update_mask path %s: only displayName and description can be patched." % m)
            key = "displayName" if m in ("displayName", "display_name") else "description"
            val = (body.get("serviceAccount") or {}).get(key)
            if val:
                sa[key] = val
            else:
                sa.pop(key, None)
        sa["etag"] = base64.b64encode(secrets.token_bytes(8)).decode()
        return self.sa_view(sa)

    def sa_disable(self, ctx):
        self._sa(ctx.params["name"])["disabled"] = True
        return {}

    def sa_enable(self, ctx):
        self._sa(ctx.params["name"]).pop("disabled", None)
        return {}

    # ---- keys ---------------------------------------------------------------------
    def _key_view(self, sa, kid, k, include_public=False):
        v = {"name": "%s/keys/%s" % (sa["name"], kid), "validAfterTime": k["validAfterTime"],
             "validBeforeTime": k["validBeforeTime"], "keyAlgorithm": "KEY_ALG_RSA_2048",
             "keyOrigin": k["origin"], "keyType": "USER_MANAGED"}
        if k.get("disabled"):
            v["disabled"] = True
        if include_public:
            v["publicKeyData"] = base64.b64encode(k["cert_pem"].encode()).decode()
        return v

    def add_key(self, sa, cert_pem=None, public_pem=None, origin="USER_PROVIDED", kid=None):
        kid = kid or secrets.token_hex(20)
        now = datetime.datetime.now(datetime.timezone.utc)
        rec = {"public_pem": public_pem, "cert_pem": cert_pem or "", "origin": origin,
               "validAfterTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
               "validBeforeTime": (now + datetime.timedelta(days=3650)).strftime("%Y-%m-%dT%H:%M:%SZ")}
        sa["keys"][kid] = rec
        return kid, rec

    def key_upload(self, ctx):
        sa = self._sa(ctx.params["name"])
        data = (ctx.chk.body or {}).get("publicKeyData")
        if not data:
            raise bad_request("Violation in UploadServiceAccountKeyRequest.public_key_data: required field not present.")
        try:
            pem = base64.b64decode(data)
            cert = x509.load_pem_x509_certificate(pem)
        except ValueError:
            raise bad_request("Invalid public key data: it must be a base64-encoded X.509 certificate in PEM form "
                              "(openssl req -x509 ...).", [("public_key_data", "not an X.509 certificate")])
        pub = cert.public_key()
        if not isinstance(pub, rsa.RSAPublicKey) or pub.key_size != 2048:
            raise bad_request("Invalid public key: only 2048-bit RSA keys can be uploaded.")
        for k in sa["keys"].values():
            if k["cert_pem"] and x509.load_pem_x509_certificate(k["cert_pem"].encode()).public_key().public_numbers() \
                    == pub.public_numbers():
                raise already_exists("The public key already exists for service account %s." % sa["email"])
        kid, rec = self.add_key(sa, pem.decode(), pub.public_bytes(serialization.Encoding.PEM,
                                serialization.PublicFormat.SubjectPublicKeyInfo).decode())
        return self._key_view(sa, kid, rec)

    def key_create(self, ctx):
        """Google generates the key and returns the JSON key file once."""
        sa = self._sa(ctx.params["name"])
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pub_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        kid, rec = self.add_key(sa, None, pub_pem, origin="GOOGLE_PROVIDED")
        keyfile = {"type": "service_account", "project_id": sa["projectId"], "private_key_id": kid,
                   "private_key": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()).decode(),
                   "client_email": sa["email"], "client_id": sa["uniqueId"],
                   "auth_uri": "https://accounts.google.com/o/oauth2/auth",
                   "token_uri": self.srv.invoke_base + "/token",
                   "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
                   "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/" + sa["email"],
                   "universe_domain": "googleapis.com"}
        v = self._key_view(sa, kid, rec)
        v["privateKeyType"] = "TYPE_GOOGLE_CREDENTIALS_FILE"
        v["privateKeyData"] = base64.b64encode(json.dumps(keyfile).encode()).decode()
        return v

    def _key(self, ctx):
        n = ctx.params["name"]
        sa = self._sa(n.rsplit("/keys/", 1)[0])
        kid = n.rsplit("/keys/", 1)[1]
        if kid not in sa["keys"]:
            raise not_found("Unknown service account key %s" % kid)
        return sa, kid

    def key_list(self, ctx):
        sa = self._sa(ctx.params["name"])
        return {"keys": [self._key_view(sa, k, r) for k, r in sa["keys"].items()]}

    def key_get(self, ctx):
        sa, kid = self._key(ctx)
        return self._key_view(sa, kid, sa["keys"][kid], include_public=bool(sa["keys"][kid]["cert_pem"]))

    def key_delete(self, ctx):
        sa, kid = self._key(ctx)
        del sa["keys"][kid]
        return {}

    def key_disable(self, ctx):
        sa, kid = self._key(ctx)
        sa["keys"][kid]["disabled"] = True
        return {}

    def key_enable(self, ctx):
        sa, kid = self._key(ctx)
        sa["keys"][kid].pop("disabled", None)
        return {}

    # ---- workload identity pools ---------------------------------------------------
    def _pool_name(self, name):
        """projects/<number>/locations/global/workloadIdentityPools/P[...]: IAM names pools by project number."""
        parts = name.split("/")
        proj = self.st.project(parts[1])
        parts[1] = proj["number"]
        if parts[3] != "global":
            raise bad_request("Workload identity pools live in location global, not %s." % parts[3])
        return "/".join(parts)

    def _pool(self, name, include_deleted=True):
        name = self._pool_name(name)
        pool = self.st.pools.get(name)
        if pool is None or (not include_deleted and pool["state"] == "DELETED"):
            raise not_found("Requested entity was not found.")
        return pool

    def _pool_resource(self, name):
        return self._pool(name)["name"]

    def _set_deleted(self, rec, deleted, response_type):
        """Pools and providers are soft-deleted: state DELETED and purged
        30 days later (expireTime), until then undeletable."""
        if deleted:
            rec["state"] = "DELETED"
            rec["expireTime"] = datetime.datetime.fromtimestamp(self.st.now() + 30 * 86400, datetime.timezone.utc) \
                .strftime("%Y-%m-%dT%H:%M:%SZ")
        else:
            rec["state"] = "ACTIVE"
            rec.pop("expireTime", None)
        return self._lro(rec["name"], rec, response_type)

    def _lro(self, api_parent, resource, response_type):
        return self.st.op_view(self.st.new_operation(
            "iam", api_parent, None, lambda: copy.deepcopy(resource), response_type, name_prefix=api_parent))

    def pool_create(self, ctx):
        parent = self._pool_name(ctx.params["parent"])
        pid = ctx.chk.query.get("workloadIdentityPoolId") or ""
        if not POOL_ID_RX.match(pid) or pid.startswith("gcp-"):
            raise bad_request("Invalid workload_identity_pool_id %r: 4 to 32 lowercase letters, digits or hyphens, "
                              "not starting with gcp-." % pid, [("workload_identity_pool_id", "invalid")])
        name = "%s/workloadIdentityPools/%s" % (parent, pid)
        if name in self.st.pools:
            raise already_exists("Requested entity already exists")
        body = ctx.chk.body or {}
        pool = {k: copy.deepcopy(v) for k, v in body.items() if k in ("displayName", "description", "disabled",
                                                                       "mode", "sessionDuration")}
        if len(pool.get("displayName", "")) > 32:
            raise bad_request("display_name cannot exceed 32 characters.")
        pool.update({"name": name, "state": "ACTIVE"})
        self.st.pools[name] = pool
        return self._lro(name, pool, POOL_TYPE)

    def pool_get(self, ctx):
        return copy.deepcopy(self._pool(ctx.params["name"]))

    def pool_list(self, ctx):
        parent = self._pool_name(ctx.params["parent"])
        show = ctx.chk.query.get("showDeleted")
        items = [copy.deepcopy(p) for n, p in self.st.pools.items() if n.startswith(parent + "/")
                 and (show or p["state"] != "DELETED")]
        return listing(items, ctx.chk.query, "workloadIdentityPools")

    def pool_delete(self, ctx):
        return self._set_deleted(self._pool(ctx.params["name"], include_deleted=False), True, POOL_TYPE)

    def pool_undelete(self, ctx):
        return self._set_deleted(self._pool(ctx.params["name"]), False, POOL_TYPE)

    def pool_patch(self, ctx):
        pool = self._pool(ctx.params["name"], include_deleted=False)
        apply_mask(pool, ctx.chk.body or {}, ctx.mask, ["displayName", "description", "disabled", "sessionDuration"])
        return self._lro(pool["name"], pool, POOL_TYPE)

    def _check_provider(self, body, where):
        kinds = [k for k in ("oidc", "aws", "saml", "x509") if body.get(k)]
        if len(kinds) != 1:
            raise bad_request("Violation in %s: exactly one of oidc, aws, saml or x509 must be set (got %s)."
                              % (where, kinds or "none"))
        if kinds[0] in ("saml", "x509"):
            raise bad_request("fake_gcp implements OIDC and AWS providers only (got %s)." % kinds[0])
        mapping = body.get("attributeMapping") or {}
        for k, expr in mapping.items():
            if not re.match(r"^(google\.(subject|groups|display_name|profile_photo|posix_username)|attribute\.[a-z_][a-z0-9_]{0,99})$", k):
                raise bad_request("Invalid attribute mapping key %s: use google.subject, google.groups or "
                                  "attribute.<name> (lowercase letters, digits, underscores)." % k,
                                  [("%s.attribute_mapping" % where, "invalid key %s" % k)])
            try:
                cel.compile_expr(expr)
            except cel.CelError as e:
                raise bad_request("Invalid attribute mapping for %s: %s" % (k, e),
                                  [("%s.attribute_mapping" % where, str(e))])
        if kinds[0] == "oidc":
            oidc = body["oidc"]
            if "google.subject" not in mapping:
                raise bad_request("Violation in %s.attribute_mapping: an OIDC provider must map google.subject "
                                  "(for example google.subject=assertion.sub)." % where,
                                  [("%s.attribute_mapping" % where, "google.subject missing")])
            iss = oidc.get("issuerUri", "")
            if not (iss.startswith("https://") or re.match(r"^http://(127\.0\.0\.1|localhost)(:[0-9]+)?(/|$)", iss)):
                raise bad_request("Violation in %s.oidc.issuer_uri: the issuer must be an HTTPS URL (the fake also "
                                  "accepts http:// on loopback)." % where)
            if len(oidc.get("allowedAudiences") or []) > 10:
                raise bad_request("Violation in %s.oidc.allowed_audiences: at most 10 audiences." % where)
            if oidc.get("jwksJson"):
                try:
                    jwks = json.loads(oidc["jwksJson"])
                    keys = jwks["keys"]
                    assert isinstance(keys, list) and keys
                    for k in keys:
                        assert k.get("kty") in ("RSA", "EC")
                except (ValueError, KeyError, TypeError, AssertionError):
                    raise bad_request("Violation in %s.oidc.jwks_json: it must be a JWKS ({\"keys\": [...]}) of RSA "
                                      "or EC keys." % where)
        else:
            if not re.match(r"^[0-9]{12}$", body["aws"].get("accountId", "")):
                raise bad_request("Violation in %s.aws.account_id: a 12-digit AWS account id is required." % where)
        cond = body.get("attributeCondition")
        if cond:
            try:
                cel.compile_expr(cond)
            except cel.CelError as e:
                raise bad_request("Invalid attribute condition: %s" % e, [("%s.attribute_condition" % where, str(e))])

    def _prov(self, name, include_deleted=True):
        name = self._pool_name(name)
        p = self.st.providers.get(name)
        if p is None or (not include_deleted and p["state"] == "DELETED"):
            raise not_found("Requested entity was not found.")
        return p

    def prov_create(self, ctx):
        pool = self._pool(ctx.params["parent"], include_deleted=False)
        pid = ctx.chk.query.get("workloadIdentityPoolProviderId") or ""
        if not POOL_ID_RX.match(pid) or pid.startswith("gcp-"):
            raise bad_request("Invalid workload_identity_pool_provider_id %r: 4 to 32 lowercase letters, digits or "
                              "hyphens, not starting with gcp-." % pid,
                              [("workload_identity_pool_provider_id", "invalid")])
        name = "%s/providers/%s" % (pool["name"], pid)
        if name in self.st.providers:
            raise already_exists("Requested entity already exists")
        body = ctx.chk.body or {}
        self._check_provider(body, "CreateWorkloadIdentityPoolProviderRequest.workload_identity_pool_provider")
        prov = {k: copy.deepcopy(v) for k, v in body.items() if k not in ("name", "state", "expireTime")}
        prov.update({"name": name, "state": "ACTIVE"})
        self.st.providers[name] = prov
        return self._lro(name, prov, PROVIDER_TYPE)

    def prov_get(self, ctx):
        return copy.deepcopy(self._prov(ctx.params["name"]))

    def prov_list(self, ctx):
        parent = self._pool_name(ctx.params["parent"])
        items = [copy.deepcopy(p) for n, p in self.st.providers.items() if n.startswith(parent + "/providers/")
                 and (ctx.chk.query.get("showDeleted") or p["state"] != "DELETED")]
        return listing(items, ctx.chk.query, "workloadIdentityPoolProviders")

    def prov_delete(self, ctx):
        return self._set_deleted(self._prov(ctx.params["name"], include_deleted=False), True, PROVIDER_TYPE)

    def prov_undelete(self, ctx):
        return self._set_deleted(self._prov(ctx.params["name"]), False, PROVIDER_TYPE)

    def prov_patch(self, ctx):
        prov = self._prov(ctx.params["name"], include_deleted=False)
        new = copy.deepcopy(prov)
        apply_mask(new, ctx.chk.body or {}, ctx.mask, ["displayName", "description", "disabled", "attributeMapping",
                                                       "attributeCondition", "oidc", "aws"])
        self._check_provider(new, "UpdateWorkloadIdentityPoolProviderRequest.workload_identity_pool_provider")
        self.st.providers[prov["name"]] = new
        return self._lro(prov["name"], new, PROVIDER_TYPE)

    # ---- iamcredentials ------------------------------------------------------------
    def generate_access_token(self, ctx):
        body = ctx.chk.body or {}
        if body.get("delegates"):
            raise bad_request("fake_gcp does not implement delegation chains (delegates).")
        return self.auth.generate_access_token(ctx.params["name"], body, ctx.caller)

    def generate_id_token(self, ctx):
        body = ctx.chk.body or {}
        if body.get("delegates"):
            raise bad_request("fake_gcp does not implement delegation chains (delegates).")
        return self.auth.generate_id_token(ctx.params["name"], body, ctx.caller)

    # ---- cloudresourcemanager --------------------------------------------------------
    def project_get(self, ctx):
        proj = self.st.project(ctx.params["name"].split("/")[1])
        return {"name": "projects/%s" % proj["number"], "projectId": proj["projectId"], "state": "ACTIVE",
                "displayName": proj["projectId"], "createTime": "2024-01-01T00:00:00.000Z",
                "etag": "W/\"%s\"" % proj["number"]}
