"""auth.py - Google's token endpoints as the fake answers them.

  POST /token      oauth2.googleapis.com: RFC 7523 jwt-bearer (service-account
                   keys; scope -> access token, target_audience -> ID token)
                   and refresh_token (authorized-user ADC)
  POST /v1/token   sts.googleapis.com: RFC 8693 token exchange of an OIDC JWT
                   or an AWS-signed GetCallerIdentity request for a federated
                   access token, against a workload identity pool provider
  iamcredentials   generateAccessToken / generateIdToken (impersonation)
  metadata server  /computeMetadata/v1/... with Metadata-Flavor: Google
  certificates     /oauth2/v3/certs (JWKS) and /oauth2/v1/certs (PEM) of the
                   key the fake signs ID tokens with

Every JWT signature is verified with python3-jwt over python3-cryptography;
every AWS signature is recomputed with botocore's SigV4Auth.
"""
import datetime
import hmac
import json
import re
import urllib.parse
import urllib.request
import uuid

import jwt
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from . import cel
from .errors import ApiError, OAuthError, bad_request, error_info

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
SUBJECT_TYPES = {
    "urn:ietf:params:oauth:token-type:jwt": "oidc",
    "urn:ietf:params:oauth:token-type:id_token": "oidc",
    "urn:ietf:params:aws:token-type:aws4_request": "aws",
}
UNSUPPORTED_SUBJECT_TYPES = ("urn:ietf:params:oauth:token-type:saml2", "urn:ietf:params:oauth:token-type:mtls",
                             ACCESS_TOKEN_TYPE)
GOOGLE_TOKEN_URIS = ("https://oauth2.googleapis.com/token", "https://www.googleapis.com/oauth2/v4/token",
                     "https://accounts.google.com/o/oauth2/token")
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
AUDIENCE_RX = re.compile(r"^(?:https:)?//iam\.googleapis\.com/projects/([0-9]+)/locations/global/"
                         r"workloadIdentityPools/([^/]+)/providers/([^/]+)$")
SHORT_LIVED = ("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. "
               "Check your iat and exp values in the JWT claim.")
SIG_RX = re.compile(r"^AWS4-HMAC-SHA256 Credential=([^/,\s]+)/(\d{8})/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request,\s*"
                    r"SignedHeaders=([a-z0-9;\-]+),\s*Signature=([0-9a-f]{64})$")


class GoogleKey:
    """The RSA key the fake signs ID tokens with, published as a JWKS and
    as PEM certificates as Google publishes its own."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake_gcp ID token signer")])
        now = datetime.datetime.utcnow()
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(days=1))
                     .not_valid_after(now + datetime.timedelta(days=30))
                     .sign(self.key, hashes.SHA256()))
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        self.jwks = {"keys": [jwk]}
        self.pem_certs = {self.kid: self.cert.public_bytes(serialization.Encoding.PEM).decode()}

    def sign(self, claims):
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid, "typ": "JWT"})

    def verify(self, token):
        return jwt.decode(token, self.key.public_key(), algorithms=["RS256"],
                          options={"verify_aud": False, "verify_exp": False, "verify_iat": False})


def form(body):
    try:
        pairs = urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError) as e:
        raise OAuthError("invalid_request", "Malformed form body: %s" % e)
    out = {}
    for k, v in pairs:
        if k in out:
            raise OAuthError("invalid_request", "Duplicate parameter %s" % k)
        out[k] = v
    return out


class Auth:
    def __init__(self, state, validator):
        self.st = state
        self.val = validator
        self.gkey = GoogleKey()
        self.old_gkeys = []  # rotated out, still published (the last one only)
        self.jwks_cache = {}

    def rotate_google_key(self):
        """Google's rotation: a new signing key; the old one stays published."""
        self.old_gkeys = [self.gkey]
        self.gkey = GoogleKey()
        return self.gkey.kid

    def published_pem_certs(self):
        out = {}
        for k in [self.gkey] + self.old_gkeys:
            out.update(k.pem_certs)
        return out

    def published_jwks(self):
        return {"keys": [j for k in [self.gkey] + self.old_gkeys for j in k.jwks["keys"]]}

    # ---- bearer tokens on API calls ---------------------------------------------
    def bearer(self, headers, query, service, method_name):
        """The token info of the caller, or ApiError 401."""
        h = headers.get("Authorization")
        tok = None
        if h:
            m = re.match(r"^Bearer\s+(\S+)$", h)
            if not m:
                raise self._unauth("Request had invalid authentication credentials. Expected OAuth 2 access token, "
                                   "login cookie or other valid authentication credential.",
                                   "ACCESS_TOKEN_TYPE_UNSUPPORTED", service, method_name)
            tok = m.group(1)
        elif query.get("access_token"):
            tok = query["access_token"]
        if not tok:
            raise self._unauth("Request is missing required authentication credential. Expected OAuth 2 access "
                               "token, login cookie or other valid authentication credential. See "
                               "https://developers.google.com/identity/sign-in/web/devconsole-project.",
                               "CREDENTIALS_MISSING", service, method_name)
        info = self.st.tokens.get(tok)
        if info is None:
            raise self._unauth("Request had invalid authentication credentials. Expected OAuth 2 access token, "
                               "login cookie or other valid authentication credential. See "
                               "https://developers.google.com/identity/sign-in/web/devconsole-project.",
                               "ACCESS_TOKEN_TYPE_UNSUPPORTED", service, method_name)
        if info["expiry"] <= self.st.now():
            raise self._unauth("Request had invalid authentication credentials. Expected OAuth 2 access token, "
                               "login cookie or other valid authentication credential. See "
                               "https://developers.google.com/identity/sign-in/web/devconsole-project.",
                               "ACCESS_TOKEN_EXPIRED", service, method_name)
        fed = info.get("federated")
        if fed:
            pool = self.st.pools.get(fed["pool"])
            if pool is None or pool.get("disabled") or pool.get("state") == "DELETED":
                raise self._unauth("Request had invalid authentication credentials: the workload identity pool "
                                   "of this federated token is disabled or deleted.",
                                   "ACCESS_TOKEN_TYPE_UNSUPPORTED", service, method_name)
        return info

    @staticmethod
    def _unauth(msg, reason, service, method_name):
        return ApiError("UNAUTHENTICATED", msg,
                        [error_info(reason, metadata={"service": service, "method": method_name})],
                        headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"'})

    @staticmethod
    def need_scope(info, service, method_name, scopes=()):
        """The token must carry one of the method's scopes (its discovery
        "scopes"; cloud-platform when it lists none)."""
        ok = set(scopes) or {CLOUD_PLATFORM}
        if not ok & set(info["scopes"]):
            raise ApiError("PERMISSION_DENIED", "Request had insufficient authentication scopes.",
                           [error_info("ACCESS_TOKEN_SCOPE_INSUFFICIENT",
                                       metadata={"service": service, "method": method_name})],
                           headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", '
                                                        'error="insufficient_scope", scope="%s"' % CLOUD_PLATFORM})

    # ---- oauth2.googleapis.com/token ----------------------------------------------
    def token(self, ctx):
        if ctx.method != "POST":
            raise OAuthError("invalid_request", "Use POST for the token endpoint", 405)
        ctype = (ctx.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            raise OAuthError("invalid_request", "Content-Type must be application/x-www-form-urlencoded (got %s)"
                             % (ctype or "none"))
        f = form(ctx.body)
        gt = f.get("grant_type")
        if gt == JWT_BEARER:
            return self._jwt_bearer(ctx, f)
        if gt == "refresh_token":
            return self._refresh(f)
        if not gt:
            raise OAuthError("invalid_request", "Missing required parameter: grant_type")
        raise OAuthError("unsupported_grant_type", "Invalid grant_type: %s" % gt)

    def _jwt_bearer(self, ctx, f):
        assertion = f.get("assertion")
        if not assertion:
            raise OAuthError("invalid_request", "Missing required parameter: assertion")
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError as e:
            raise OAuthError("invalid_grant", "Invalid JWT: %s" % e)
        if header.get("alg") != "RS256":
            raise OAuthError("invalid_grant", "Invalid JWT: the algorithm must be RS256 (got %s)" % header.get("alg"))
        iss = claims.get("iss")
        sa = self.st.service_accounts.get(iss) if isinstance(iss, str) else None
        if sa is None:
            raise OAuthError("invalid_grant", "Invalid grant: account not found")
        if sa.get("disabled"):
            raise OAuthError("invalid_grant", "Invalid grant: account disabled")
        kid = header.get("kid")
        if not kid:
            raise OAuthError("invalid_grant", "Invalid JWT: the header has no kid (the key file's private_key_id)")
        key = sa["keys"].get(kid)
        if key is None or key.get("disabled"):
            raise OAuthError("invalid_grant", "Invalid JWT Signature.")
        if self.st.config["check_signature"]:
            try:
                pub = serialization.load_pem_public_key(key["public_pem"].encode())
                jwt.decode(assertion, pub, algorithms=["RS256"],
                           options={"verify_aud": False, "verify_exp": False, "verify_iat": False, "verify_nbf": False})
            except jwt.PyJWTError:
                raise OAuthError("invalid_grant", "Invalid JWT Signature.")
        own = ctx.base_url + "/token"
        if claims.get("aud") not in GOOGLE_TOKEN_URIS + (own,):
            raise OAuthError("invalid_grant", "Invalid JWT: Failed audience check. The right audience is "
                             "https://oauth2.googleapis.com/token")
        now = self.st.now()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, (int, float)) or not isinstance(exp, (int, float)) or exp - iat > 3600 or \
                exp <= now or iat > now + self.st.config["max_skew"] or exp <= iat:
            raise OAuthError("invalid_grant", SHORT_LIVED)
        if claims.get("sub") not in (None, iss):
            raise OAuthError("unauthorized_client", "Client is unauthorized to retrieve access tokens using this "
                             "method, or client not authorized for any of the scopes requested.", 401)
        email = iss
        principal = "serviceAccount:" + email
        if claims.get("target_audience"):
            idt = self.id_token(email, sa["uniqueId"], claims["target_audience"])
            return 200, {"id_token": idt}
        scope = claims.get("scope")
        if not scope or not isinstance(scope, str):
            raise OAuthError("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
        tok, life = self.st.issue_token(principal, scope.split(), email=email, source="jwt-bearer")
        return 200, {"access_token": tok, "expires_in": life, "token_type": "Bearer"}

    def _refresh(self, f):
        for k in ("client_id", "client_secret", "refresh_token"):
            if not f.get(k):
                raise OAuthError("invalid_request", "Missing required parameter: %s" % k)
        cl = self.st.authorized_users.get(f["client_id"])
        if cl is None:
            raise OAuthError("invalid_client", "The OAuth client was not found.", 401)
        if not hmac.compare_digest(cl["secret"], f["client_secret"]):
            raise OAuthError("invalid_client", "Unauthorized", 401)
        user = cl["refresh_tokens"].get(f["refresh_token"])
        if user is None:
            raise OAuthError("invalid_grant", "Bad Request")
        scopes = user["scopes"]
        if f.get("scope"):
            want = f["scope"].split()
            if not set(want) <= set(scopes):
                raise OAuthError("invalid_scope", "Some requested scopes were invalid. {invalid=[%s]}"
                                 % ", ".join(sorted(set(want) - set(scopes))))
            scopes = want
        tok, life = self.st.issue_token("user:" + user["email"], scopes, email=user["email"], source="refresh_token")
        return 200, {"access_token": tok, "expires_in": life, "token_type": "Bearer", "scope": " ".join(scopes)}

    def id_token(self, email, unique_id, audience, lifetime=3600, include_email=True):
        now = int(self.st.now())
        claims = {"iss": "https://accounts.google.com", "aud": audience, "azp": unique_id, "sub": unique_id,
                  "iat": now, "exp": now + lifetime}
        if include_email:
            claims["email"] = email
            claims["email_verified"] = True
        return self.gkey.sign(claims)

    def verify_id_token(self, token):
        """Claims of an ID token this fake signed, or None."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = next((k for k in [self.gkey] + self.old_gkeys if k.kid == kid), None)
            if key is None:
                return None
            claims = key.verify(token) if self.st.config["check_signature"] else \
                jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return None
        if claims.get("exp", 0) <= self.st.now():
            return None
        return claims

    def invoker(self, headers, audiences):
        """Who calls a deployed service: (error status or None, token info or
        None for an anonymous caller, why). An ID token signed here must name
        one of audiences; an access token issued here is taken as is."""
        h = headers.get("X-Serverless-Authorization") or headers.get("Authorization")
        if not h:
            return None, None, ""
        m = re.match(r"^Bearer\s+(\S+)$", h)
        tok = m.group(1) if m else ""
        if tok.count(".") == 2:
            claims = self.verify_id_token(tok)
            if claims is None:
                return 401, None, "The ID token is invalid or expired."
            if claims.get("aud") not in audiences:
                return 401, None, "The ID token's audience %s is not this service's URL." % claims.get("aud")
            who = claims.get("email") or claims.get("sub")
            kind = "serviceAccount:" if who in self.st.service_accounts or who.endswith(".gserviceaccount.com") \
                else "user:"
            return None, {"principal": kind + who, "federated": None, "scopes": [], "email": who}, ""
        info = self.st.tokens.get(tok)
        if info is None or info["expiry"] <= self.st.now():
            return 401, None, "The access token is unknown or expired."
        return None, info, ""

    # ---- sts.googleapis.com/v1/token ---------------------------------------------
    def sts(self, ctx):
        if ctx.method != "POST":
            raise OAuthError("invalid_request", "Use POST for the token exchange endpoint", 405)
        ctype = (ctx.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype == "application/x-www-form-urlencoded":
            raw = form(ctx.body)
            body = {}
            for k, v in raw.items():
                body[re.sub(r"_([a-z])", lambda m: m.group(1).upper(), k)] = v
        elif ctype == "application/json":
            try:
                body = json.loads(ctx.body or b"{}")
            except ValueError as e:
                raise OAuthError("invalid_request", "Invalid JSON payload received. %s" % e)
            if not isinstance(body, dict):
                raise OAuthError("invalid_request", "Invalid JSON payload received: expected an object")
        else:
            raise OAuthError("invalid_request", "Content-Type must be application/x-www-form-urlencoded or "
                             "application/json (got %s)" % (ctype or "none"))
        # The request as the discovery document describes it (sts.token).
        from .discovery import Checked
        m = self.val.reg.method("sts.token")
        chk = Checked()
        try:
            self.val.body(m, json.dumps(body).encode(), "application/json", chk)
        except ApiError as e:
            raise OAuthError("invalid_request", e.message)
        req = chk.body
        if req.get("grantType") != TOKEN_EXCHANGE:
            raise OAuthError("unsupported_grant_type", "Invalid value for \"grant_type\": %s. Expected %s."
                             % (req.get("grantType"), TOKEN_EXCHANGE))
        if req.get("requestedTokenType") != ACCESS_TOKEN_TYPE:
            raise OAuthError("invalid_request", "Invalid value for \"requested_token_type\": %s. The fake issues "
                             "only %s." % (req.get("requestedTokenType"), ACCESS_TOKEN_TYPE))
        stype = req.get("subjectTokenType")
        if stype in UNSUPPORTED_SUBJECT_TYPES:
            raise OAuthError("invalid_request", "fake_gcp does not implement subject_token_type %s (only jwt, "
                             "id_token and aws4_request)" % stype)
        if stype not in SUBJECT_TYPES:
            raise OAuthError("invalid_request", "Invalid value for \"subject_token_type\": %s." % stype)
        aud = req.get("audience") or ""
        am = AUDIENCE_RX.match(aud)
        if not am or not aud.startswith("//"):
            raise OAuthError("invalid_request", "Invalid value for \"audience\". This value should be the full "
                             "resource name of the Identity Provider. See "
                             "https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token for the list "
                             "of possible formats.")
        scope = req.get("scope")
        if not scope:
            raise OAuthError("invalid_scope", "Invalid value for \"scope\": a scope is required when exchanging an "
                             "external credential for a Google access token.")
        number, pool_id, prov_id = am.groups()
        pool_name = "projects/%s/locations/global/workloadIdentityPools/%s" % (number, pool_id)
        prov_name = pool_name + "/providers/" + prov_id
        pool = self.st.pools.get(pool_name)
        prov = self.st.providers.get(prov_name)
        if pool is None or prov is None or pool.get("disabled") or prov.get("disabled") or \
                pool.get("state") != "ACTIVE" or prov.get("state") != "ACTIVE":
            raise OAuthError("invalid_target", "The target service indicated by the \"audience\" parameters is "
                             "invalid. This might either be because the pool or provider is disabled or deleted or "
                             "because it doesn't exist.")
        kind = SUBJECT_TYPES[stype]
        if kind == "oidc":
            if "oidc" not in prov:
                raise OAuthError("invalid_request", "The subject_token_type %s does not match the provider %s, "
                                 "which is not an OIDC provider." % (stype, prov_name))
            assertion, _ = self._oidc_assertion(req["subjectToken"], prov, prov_name)
        else:
            if "aws" not in prov:
                raise OAuthError("invalid_request", "The subject_token_type %s does not match the provider %s, "
                                 "which is not an AWS provider." % (stype, prov_name))
            assertion, _ = self._aws_assertion(req["subjectToken"], prov, aud, prov_name)
        attrs = self._map_attributes(prov, assertion, kind)
        subject = attrs.get("google.subject")
        if not subject:
            raise OAuthError("invalid_grant", "The mapped attribute google.subject is empty: the attribute "
                             "mapping of %s produced no subject for this credential." % prov_name)
        if len(subject.encode()) > 127:
            raise OAuthError("invalid_request", "The size of mapped attribute google.subject exceeds the 127 "
                             "bytes limit. Either modify your attribute mapping or the incoming assertion to "
                             "produce a mapped attribute that is less than 127 bytes.")
        cond = prov.get("attributeCondition")
        if cond:
            env = {"assertion": assertion, "attribute": {k[len("attribute."):]: v for k, v in attrs.items()
                                                         if k.startswith("attribute.")},
                   "google": {k[len("google."):]: v for k, v in attrs.items() if k.startswith("google.")}}
            if not cel.evaluate(cel.compile_expr(cond), env) is True:
                raise OAuthError("unauthorized_client", "The given credential is rejected by the attribute condition.")
        principal = "principal://iam.googleapis.com/%s/subject/%s" % (pool_name, subject)
        # A federated token lives the configured lifetime (an hour by default),
        # not bounded by the subject token's exp.
        tok, life = self.st.issue_token(principal, scope.split(), kind="federated",
                                        federated={"pool": pool_name, "provider": prov_name, "attributes": attrs,
                                                   "subject": subject}, source="sts")
        return 200, {"access_token": tok, "issued_token_type": ACCESS_TOKEN_TYPE, "token_type": "Bearer",
                     "expires_in": life}

    def introspect(self, ctx):
        """POST sts.googleapis.com/v1/introspect (RFC 7662), as gcloud calls it
        to name an external account: client authentication, then the token's
        metadata; an unknown or expired token is {"active": false}."""
        if ctx.method != "POST":
            raise OAuthError("invalid_request", "Use POST for token introspection", 405)
        auth = ctx.headers.get("Authorization") or ""
        if not auth.startswith("Basic "):
            raise OAuthError("invalid_client", "Token introspection requires client authentication (HTTP Basic).", 401)
        f = form(ctx.body)
        if not f.get("token"):
            raise OAuthError("invalid_request", "Missing required parameter: token")
        info = self.st.tokens.get(f["token"])
        if info is None or info["expiry"] <= self.st.now():
            return 200, {"active": False}
        out = {"active": True, "scope": " ".join(info["scopes"]), "exp": int(info["expiry"]),
               "iat": int(info["issued"]), "token_type": "Bearer",
               "username": info.get("email") or info["principal"].split(":", 1)[-1]}
        if info.get("federated"):
            out["sub"] = info["federated"]["subject"]
            out["username"] = info["principal"]
        return 200, out

    def _oidc_assertion(self, token, prov, prov_name):
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as e:
            raise OAuthError("invalid_grant", "Unable to parse the ID Token: %s" % e)
        alg = header.get("alg")
        if alg not in ("RS256", "ES256"):
            raise OAuthError("invalid_grant", "The ID Token's signing algorithm %s is not supported: use RS256 or "
                             "ES256." % alg)
        if not header.get("kid"):
            raise OAuthError("invalid_grant", "The ID Token's header has no kid.")
        oidc = prov["oidc"]
        if claims.get("iss") != oidc["issuerUri"]:
            raise OAuthError("invalid_grant", "The issuer in ID Token %s does not match the expected ones: %s."
                             % (claims.get("iss"), oidc["issuerUri"]))
        keys = self._jwks(oidc)
        jwk = next((k for k in keys.get("keys", []) if k.get("kid") == header["kid"]), None)
        if jwk is None:
            raise OAuthError("invalid_grant", "The ID Token's kid %s is not among the provider's keys (JWKS)."
                             % header["kid"])
        if self.st.config["check_signature"]:
            try:
                pub = (RSAAlgorithm if jwk.get("kty") == "RSA" else ECAlgorithm).from_jwk(json.dumps(jwk))
                jwt.decode(token, pub, algorithms=[alg],
                           options={"verify_aud": False, "verify_exp": False, "verify_iat": False, "verify_nbf": False})
            except (jwt.PyJWTError, ValueError, KeyError) as e:
                raise OAuthError("invalid_grant", "Invalid ID Token signature: %s" % e)
        allowed = list(oidc.get("allowedAudiences") or [])
        if not allowed:
            allowed = ["//iam.googleapis.com/" + prov_name, "https://iam.googleapis.com/" + prov_name]
        auds = claims.get("aud")
        auds = auds if isinstance(auds, list) else [auds]
        if not any(a in allowed for a in auds):
            raise OAuthError("invalid_grant", "The audience in ID Token %s does not match the expected audience."
                             % json.dumps(auds))
        now = self.st.now()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, (int, float)) or not isinstance(exp, (int, float)):
            raise OAuthError("invalid_grant", "The ID Token must carry iat and exp.")
        if exp <= now:
            raise OAuthError("invalid_grant", "The ID Token has expired (exp %d is before now %d)." % (exp, now))
        if iat > now + self.st.config["max_skew"] or iat < now - 86400:
            raise OAuthError("invalid_grant", "ID Token issued at %d is stale to sign-in: iat must be in the "
                             "past and no more than 24 hours ago." % iat)
        if not claims.get("sub"):
            raise OAuthError("invalid_grant", "The ID Token has no sub.")
        return claims, exp - now

    def _jwks(self, oidc):
        if oidc.get("jwksJson"):
            try:
                return json.loads(oidc["jwksJson"])
            except ValueError:
                raise OAuthError("invalid_grant", "The provider's jwksJson is not JSON.")
        issuer = oidc["issuerUri"]
        u = urllib.parse.urlsplit(issuer)
        if u.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise OAuthError("invalid_grant", "fake_gcp fetches OIDC discovery documents only from loopback "
                             "issuers (%s); configure oidc.jwksJson instead." % issuer)
        try:
            with urllib.request.urlopen(issuer.rstrip("/") + "/.well-known/openid-configuration", timeout=5) as r:
                conf = json.loads(r.read())
            ju = conf["jwks_uri"]
            if urllib.parse.urlsplit(ju).hostname not in ("127.0.0.1", "localhost", "::1"):
                raise OAuthError("invalid_grant", "fake_gcp fetches JWKS only from loopback (%s)" % ju)
            if conf.get("issuer") not in (None, issuer):
                raise OAuthError("invalid_grant", "The discovery document's issuer %s is not %s" % (conf.get("issuer"), issuer))
            with urllib.request.urlopen(ju, timeout=5) as r:
                return json.loads(r.read())
        except OAuthError:
            raise
        except Exception as e:  # noqa: BLE001 - any fetch failure is the IdP's fault
            raise OAuthError("invalid_grant", "Unable to fetch the OIDC discovery document or JWKS of %s: %s"
                             % (issuer, e))

    def _aws_assertion(self, token, prov, aud, prov_name):
        """Check a serialized GetCallerIdentity request (URL-encoded JSON)
        and its SigV4 signature; the assertion is the caller identity."""
        import botocore.auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        try:
            doc = json.loads(urllib.parse.unquote(token))
        except ValueError:
            raise OAuthError("invalid_grant", "The AWS subject token is not URL-encoded JSON.")
        if not isinstance(doc, dict) or set(doc) - {"url", "method", "headers", "body"} or \
                not isinstance(doc.get("headers"), list):
            raise OAuthError("invalid_grant", "The AWS subject token must be an object with url, method and headers "
                             "(a list of {key, value}).")
        if doc.get("method") != "POST":
            raise OAuthError("invalid_grant", "The AWS subject token's method must be POST.")
        url = urllib.parse.urlsplit(doc.get("url") or "")
        hm = re.match(r"^sts(?:\.([a-z0-9-]+))?\.amazonaws\.com$", url.hostname or "")
        if url.scheme != "https" or not hm or url.path not in ("", "/"):
            raise OAuthError("invalid_grant", "The AWS subject token's url must be the AWS STS endpoint "
                             "(https://sts[.REGION].amazonaws.com), got %s" % doc.get("url"))
        q = dict(urllib.parse.parse_qsl(url.query))
        if q != {"Action": "GetCallerIdentity", "Version": "2011-06-15"}:
            raise OAuthError("invalid_grant", "The AWS subject token's url must call Action=GetCallerIdentity&"
                             "Version=2011-06-15, got %s" % url.query)
        headers = {}
        for h in doc["headers"]:
            if not isinstance(h, dict) or set(h) != {"key", "value"}:
                raise OAuthError("invalid_grant", "Each AWS subject token header must be {key, value}.")
            headers[h["key"].lower()] = h["value"]
        for k in ("authorization", "x-amz-date", "host", "x-goog-cloud-target-resource"):
            if k not in headers:
                raise OAuthError("invalid_grant", "The AWS subject token lacks the %s header." % k)
        if headers["host"] != url.hostname:
            raise OAuthError("invalid_grant", "The AWS subject token's host header %s is not the url's host %s."
                             % (headers["host"], url.hostname))
        tr = headers["x-goog-cloud-target-resource"]
        if tr not in ("//iam.googleapis.com/" + prov_name, "https://iam.googleapis.com/" + prov_name):
            raise OAuthError("invalid_grant", "The x-goog-cloud-target-resource header %s does not name the "
                             "provider in the audience (%s)." % (tr, aud))
        sm = SIG_RX.match(headers["authorization"])
        if not sm:
            raise OAuthError("invalid_grant", "The AWS subject token's Authorization is not an AWS4-HMAC-SHA256 "
                             "signature.")
        ak, date8, region, service, signed, sig = sm.groups()
        if service != "sts":
            raise OAuthError("invalid_grant", "The AWS signature is scoped to %s, not sts." % service)
        want_region = hm.group(1) or "us-east-1"
        if region != want_region:
            raise OAuthError("invalid_grant", "The AWS signature's region %s does not match the endpoint's %s."
                             % (region, want_region))
        amz = headers["x-amz-date"]
        if not re.fullmatch(r"\d{8}T\d{6}Z", amz) or amz[:8] != date8:
            raise OAuthError("invalid_grant", "The AWS x-amz-date %s is malformed or not the credential scope's "
                             "date." % amz)
        t = datetime.datetime.strptime(amz, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()
        if abs(t - self.st.now()) > 900:
            raise OAuthError("invalid_grant", "The AWS request is signed for %s, more than 15 minutes from now "
                             "(AWS would answer SignatureDoesNotMatch: Signature expired)." % amz)
        ident = self.st.aws_identities.get(ak)
        if ident is None:
            raise OAuthError("invalid_grant", "AWS answered InvalidClientTokenId: The security token included in "
                             "the request is invalid (access key %s is unknown to the fake)." % ak)
        if ident.get("session_token") and headers.get("x-amz-security-token") != ident["session_token"]:
            raise OAuthError("invalid_grant", "AWS answered InvalidClientTokenId: the x-amz-security-token does "
                             "not belong to access key %s." % ak)
        names = signed.split(";")
        if "host" not in names:
            raise OAuthError("invalid_grant", "The AWS signature must sign the host header.")
        for n in names:
            if n not in headers:
                raise OAuthError("invalid_grant", "The AWS signature names the header %s, which the token lacks." % n)
        if self.st.config["check_signature"]:
            req = AWSRequest(method="POST", url=doc["url"], data=(doc.get("body") or "").encode() or None)
            for n in names:
                req.headers[n] = headers[n]
            signer = botocore.auth.SigV4Auth(Credentials(ak, ident["secret"], ident.get("session_token")),
                                             "sts", region)
            req.context["timestamp"] = amz
            creq = signer.canonical_request(req)
            want = signer.signature(signer.string_to_sign(req, creq), req)
            if not hmac.compare_digest(want, sig):
                raise OAuthError("invalid_grant", "AWS answered SignatureDoesNotMatch: The request signature we "
                                 "calculated does not match the signature you provided.")
        if ident["account"] != prov["aws"]["accountId"]:
            raise OAuthError("invalid_grant", "The AWS account %s of the caller does not match the provider's "
                             "account %s." % (ident["account"], prov["aws"]["accountId"]))
        arn = ident["arn"]
        return {"arn": arn, "account": ident["account"], "userid": ident.get("userid", "AIDAFAKE" + ak[-8:])}, None

    def _map_attributes(self, prov, assertion, kind):
        mapping = prov.get("attributeMapping") or {}
        attrs = {}
        if not mapping and kind == "aws":
            arn = assertion["arn"]
            attrs["google.subject"] = arn
            m = re.match(r"^arn:aws:sts::([0-9]+):assumed-role/([^/]+)/", arn)
            attrs["attribute.aws_role"] = ("arn:aws:sts::%s:assumed-role/%s" % m.groups()) if m else arn
            return attrs
        env = {"assertion": assertion}
        for k, expr in mapping.items():
            v = cel.evaluate(cel.compile_expr(expr), env)
            if v is not None:
                attrs[k] = v
        return attrs

    # ---- iamcredentials --------------------------------------------------------
    def impersonate_target(self, name, caller):
        """The SA a projects/-/serviceAccounts/X name designates, if the caller
        may mint its tokens (roles/iam.serviceAccountTokenCreator, or
        roles/iam.workloadIdentityUser for federated principals)."""
        m = re.match(r"^projects/-/serviceAccounts/([^/]+)$", name)
        if not m:
            raise bad_request("Invalid form of account ID %s. Should be [Gaia ID |Email |Unique ID |] of the "
                              "account" % name)
        ref = m.group(1)
        sa = self.st.service_accounts.get(ref) or next(
            (s for s in self.st.service_accounts.values() if s["uniqueId"] == ref), None)
        res = "projects/-/serviceAccounts/%s" % ref
        perm = ApiError("PERMISSION_DENIED", "Permission 'iam.serviceAccounts.getAccessToken' denied on resource "
                        "(or it may not exist).",
                        [error_info("IAM_PERMISSION_DENIED", "iam.googleapis.com",
                                    {"permission": "iam.serviceAccounts.getAccessToken", "resource": res})])
        if sa is None:
            raise perm  # Google does not say whether it exists
        roles = {"roles/iam.serviceAccountTokenCreator", "roles/owner"}
        if caller.get("federated"):
            roles.add("roles/iam.workloadIdentityUser")
        if not self.st.holds(sa["name"], roles, caller):
            raise perm
        if sa.get("disabled"):
            raise ApiError("FAILED_PRECONDITION", "Service account %s is disabled." % sa["email"])
        return sa

    def generate_access_token(self, name, body, caller):
        sa = self.impersonate_target(name, caller)
        scopes = body.get("scope") or []
        if not scopes:
            raise bad_request("Scope is required.", [("scope", "required field not present")])
        life = 3600
        if body.get("lifetime"):
            life = float(body["lifetime"][:-1])
            if life <= 0 or life > 3600:
                raise bad_request("The lifetime %s is out of range: at most 3600s without the "
                                  "constraints/iam.allowServiceAccountCredentialLifetimeExtension policy."
                                  % body["lifetime"], [("lifetime", "out of range")])
        life = min(int(life), self.st.config["token_lifetime"])
        tok, life = self.st.issue_token("serviceAccount:" + sa["email"], scopes, lifetime=life, email=sa["email"],
                                        source="generateAccessToken by " + caller["principal"])
        exp = self.st.tokens[tok]["expiry"]
        return {"accessToken": tok,
                "expireTime": datetime.datetime.fromtimestamp(int(exp), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}

    def generate_id_token(self, name, body, caller):
        sa = self.impersonate_target(name, caller)
        if not body.get("audience"):
            raise bad_request("Audience is required.", [("audience", "required field not present")])
        return {"token": self.id_token(sa["email"], sa["uniqueId"], body["audience"],
                                       include_email=bool(body.get("includeEmail")))}

    # ---- metadata server ---------------------------------------------------------
    def metadata(self, ctx):
        """GCE/Cloud Run metadata server: /computeMetadata/v1/..."""
        if ctx.headers.get("Metadata-Flavor") != "Google":
            return 403, "text/html", ("Missing required header \"Metadata-Flavor\": \"Google\"\n"
                                      "(fake_gcp metadata server)\n")
        if ctx.headers.get("X-Forwarded-For"):
            return 403, "text/html", "Request denied: X-Forwarded-For is not allowed on the metadata server\n"
        path = ctx.path
        q = dict(urllib.parse.parse_qsl(ctx.query))
        if path in ("/", ""):
            return 200, "application/text", "computeMetadata/\n"
        st = self.st
        proj = next(iter(st.projects.values()))
        email = st.metadata.get("email")
        if path == "/computeMetadata/v1/project/project-id":
            return 200, "application/text", proj["projectId"]
        if path == "/computeMetadata/v1/project/numeric-project-id":
            return 200, "application/text", proj["number"]
        m = re.match(r"^/computeMetadata/v1/instance/service-accounts/([^/]+)/?(.*)$", path)
        if m:
            who, what = m.groups()
            if email is None:
                return 404, "text/html", "no service account on this instance (POST /__fake/metadata to set one)\n"
            if who not in ("default", email):
                return 404, "text/html", "unknown service account %s\n" % who
            sa = st.service_accounts.get(email)
            if what == "" and q.get("recursive") == "true":
                return 200, "application/json", json.dumps({"aliases": ["default"], "email": email,
                                                            "scopes": st.metadata["scopes"]})
            if what == "email":
                return 200, "application/text", email
            if what == "scopes":
                return 200, "application/text", "\n".join(st.metadata["scopes"]) + "\n"
            if what == "token":
                scopes = q.get("scopes", "").split(",") if q.get("scopes") else st.metadata["scopes"]
                tok, life = st.issue_token("serviceAccount:" + email, scopes, email=email, source="metadata")
                return 200, "application/json", json.dumps({"access_token": tok, "expires_in": life,
                                                            "token_type": "Bearer"})
            if what == "identity":
                if not q.get("audience"):
                    return 400, "text/html", "non-empty audience parameter required\n"
                uid = sa["uniqueId"] if sa else "1" * 21
                return 200, "application/text", self.id_token(email, uid, q["audience"],
                                                              include_email=q.get("format") == "full")
        return 404, "text/html", "fake_gcp metadata server: no %s\n" % path
