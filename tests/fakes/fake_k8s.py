#!/usr/bin/python3
"""fake_k8s.py - a fake Kubernetes API server (1.36) for fedbroker's tests
(see README.md, "fake_k8s.py").

HTTPS only, on 127.0.0.1, with test certificates (--pki DIR makes them with
the openssl command). Every request needs a client certificate signed by the
test CA (CN = user, O = groups) or a known bearer token (with an optional
expiry); anything else is 401, and a client certificate from another CA
fails the TLS handshake. Then:
  - discovery (/version, /api, /apis, per group-version lists, aggregated
    discovery v2) and OpenAPI (/openapi/v2 JSON, /openapi/v3) for core/v1,
    apps/v1, autoscaling/v2, batch/v1, networking.k8s.io/v1,
    discovery.k8s.io/v1, and serving.knative.dev/v1 when Knative is on;
  - every object is decoded and validated against the Kubernetes OpenAPI v2
    definitions or the Knative CRD schema (tests/reference), with the real
    server's Status objects and messages; names, labels, the Go enums and
    defaults, Knative's admission webhook;
  - get, list (label and field selectors, limit/continue), watch, create,
    update, patch (JSON, merge, strategic merge, server-side apply with
    managedFields and conflicts), delete (Foreground, Background, Orphan,
    finalizers), deletecollection; status and scale subresources;
  - controllers that make Deployments and Knative Services progress (or fail),
    give Services cluster IPs and EndpointSlices, HPAs their status;
  - service-account tokens as the real server makes them: TokenRequest
    (serviceaccounts/NAME/token) answers an RS256 JWT signed by the
    cluster's service-account issuer key (iss ISSUER, aud the requested
    audiences, exp, the kubernetes.io claims with the account's uid),
    published at /.well-known/openid-configuration and /openid/v1/jwks;
    TokenReview (authentication.k8s.io/v1, validated against the OpenAPI)
    checks one as the authenticator does: signature, issuer, expiry, the
    audiences (spec.audiences, else the API server's own), and that the
    service account still exists with the token's uid;
  - with --rbac, service accounts authorized by the Roles their
    RoleBindings grant in the request's namespace (rbac.authorization.k8s.io/v1
    Role and RoleBinding are served and validated like every kind);
  - a control API under /__fake/ (no authentication): faults, latency,
    tokens, switches, the request log and a dump of all objects.

Run: fake_k8s.py --pki DIR [--port 0] [--port-file F] [--kubeconfig F]
                 [--knative] [--exit-on-stdin-eof]
It prints "PORT <n>" on stdout once it listens.
"""
import argparse
import base64
import copy
import json
import os
import re
import socket
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from k8s import certs  # noqa: E402
from k8s.api import Api, ApiStatus, Request, Settings, bad_request, qbool  # noqa: E402
from k8s.controllers import Controllers  # noqa: E402
from k8s.discovery import AGG_V2, AGG_V2BETA1, Discovery, negotiate  # noqa: E402
from k8s.schema import Schemas  # noqa: E402
from k8s.store import SelectorError, Store, parse_field_selector, parse_label_selector, labels_match, fields_match  # noqa: E402
import fakeserve  # noqa: E402  (tests/fakes: the announce-and-serve loop every fake shares)

VERSION = {"major": "1", "minor": "36", "emulationMajor": "1", "emulationMinor": "36",
           "minCompatibilityMajor": "1", "minCompatibilityMinor": "35", "gitVersion": "v1.36.0+fake",
           "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
           "buildDate": "2026-05-01T00:00:00Z", "goVersion": "go1.25.0", "compiler": "gc", "platform": "linux/amd64"}
DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
FAULT_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict",
                 422: "Invalid", 429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable",
                 504: "Timeout"}
FAULT_MESSAGES = {429: "Too many requests, please try again later.",
                  500: "Internal error occurred: injected fault",
                  503: "The server is currently unable to handle the request",
                  504: "Timeout: request did not complete within the allowed duration",
                  409: "Operation cannot be fulfilled: the object has been modified; please apply your changes "
                       "to the latest version and try again"}


SA_ISSUER = "https://kubernetes.default.svc.cluster.local"
API_AUDIENCES = [SA_ISSUER]


class SAKey:
    """The cluster's service-account token signing key (the API server's
    --service-account-signing-key-file) and its published JWK Set."""

    def __init__(self):
        from cryptography.hazmat.primitives.asymmetric import rsa
        from jwt.algorithms import RSAAlgorithm
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        self.jwks = {"keys": [jwk]}

    def sign(self, claims):
        import jwt
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    def verify(self, token):
        """The claims of a token this key signed (exp and iss checked, the
        audience left to the caller), or raises ValueError with the
        authenticator's words."""
        import jwt
        try:
            if jwt.get_unverified_header(token).get("kid") != self.kid:
                raise ValueError("invalid bearer token, square/go-jose: error in cryptographic primitive")
            return jwt.decode(token, self.key.public_key(), algorithms=["RS256"], issuer=SA_ISSUER,
                              options={"verify_aud": False, "require": ["exp", "iat", "iss", "sub"]})
        except jwt.ExpiredSignatureError:
            raise ValueError("invalid bearer token, service account token has expired")
        except jwt.InvalidIssuerError:
            raise ValueError("invalid bearer token, token issuer is not %s" % SA_ISSUER)
        except jwt.PyJWTError:
            raise ValueError("invalid bearer token, square/go-jose: error in cryptographic primitive")


class Tokens:
    """Bearer tokens: token -> {user, groups, expires (epoch or None)}."""

    def __init__(self):
        self.t = {}

    def add(self, token, user, groups=(), expires=None):
        self.t[token] = {"user": user, "groups": list(groups), "expires": expires}

    def load_csv(self, path):
        """kube-apiserver's --token-auth-file format: token,user,uid,"g1,g2"."""
        import csv
        with open(path) as f:
            for row in csv.reader(f):
                if len(row) >= 2 and not row[0].startswith("#"):
                    self.add(row[0], row[1], [g for g in (row[3] if len(row) > 3 else "").split(",") if g])

    def dump(self):
        return [{"user": v["user"], "groups": v["groups"], "expires": v["expires"],
                 "token_prefix": k[:4] + "..."} for k, v in self.t.items()]


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.RLock()
        self.seq = 0
        self.log = []
        self.faults = []
        self.latency_ms = args.latency_ms
        self.deny = []


def _path_re(p):
    try:
        return re.compile(p)
    except re.error as e:
        raise ValueError("bad path pattern %r: %s" % (p, e))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-kube-apiserver/1.36"
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        if self.server.args.verbose:
            sys.stderr.write("fake_k8s: " + fmt % args + "\n")

    # -- TLS: the handshake runs in the request's own thread
    def setup(self):
        self.tls_ok = False
        self.request.settimeout(30)
        try:
            self.request = self.server.tls.wrap_socket(self.request, server_side=True,
                                                       do_handshake_on_connect=False)
            self.request.do_handshake()
            self.tls_ok = True
        except (ssl.SSLError, OSError) as e:
            # refused; the server's shutdown_request closes the connection
            self.server.record({"tls_error": str(e), "time": time.time()})
        super().setup()

    def handle(self):
        if self.tls_ok:
            try:
                super().handle()
            except (ConnectionError, ssl.SSLError, socket.timeout, OSError):
                pass

    def do_GET(self):
        self.handle_any()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    # -- helpers
    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                line = self.rfile.readline()
                n = int(line.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    self.rfile.readline()
                    break
                out += self.rfile.read(n)
                self.rfile.readline()
            return out
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, code, body, ctype="application/json", headers=None):
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body, separators=(",", ":"))
        if isinstance(body, str):
            body = body.encode()
        fault = getattr(self, "fault", None) or {}
        # Logged before the answer leaves: a client that reads the log right
        # after its response must find the status there.
        if hasattr(self, "log_entry"):
            self.log_entry.setdefault("status", code)
        self.send_response(code)
        self.send_header("Audit-Id", self.audit_id)
        if not any(k == "Cache-Control" for k, _ in (headers or [])):
            self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or []):
            self.send_header(k, v)
        self.end_headers()
        if self.command == "HEAD":
            return
        trickle = fault.get("trickle_ms")
        if trickle:
            # a slow response: the body in 8 pieces with pauses between
            step = max(1, len(body) // 8)
            for i in range(0, len(body), step):
                self.wfile.write(body[i:i + step])
                self.wfile.flush()
                time.sleep(trickle / 1000.0)
        else:
            self.wfile.write(body)

    def _status(self, err, headers=None):
        self.log_entry["status"] = err.code
        self.log_entry["reason"] = err.reason
        self.log_entry["message"] = err.message
        hdrs = list((headers or {}).items()) + list(err.headers.items())
        self._send(err.code, err.body(), headers=hdrs)

    _reset_connection = fakeserve.reset_connection

    def _authenticate(self):
        """-> (user, groups, method) or raises 401."""
        cert = None
        try:
            cert = self.request.getpeercert()
        except (ValueError, AttributeError):
            cert = None
        if cert:
            cn, orgs = None, []
            for rdn in cert.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        cn = v
                    elif k == "organizationName":
                        orgs.append(v)
            if cn:
                return cn, orgs + ["system:authenticated"], "x509"
        auth = self.headers.get("Authorization") or ""
        m = re.match(r"(?i)^bearer\s+(\S+)\s*$", auth)
        if m:
            with self.server.state.lock:
                t = self.server.tokens.t.get(m.group(1))
            if t and (t["expires"] is None or time.time() < t["expires"]):
                return t["user"], t["groups"] + ["system:authenticated"], "token"
            self.log_entry["auth_error"] = "expired token" if t else "unknown token"
        raise ApiStatus(401, "Unauthorized", "Unauthorized")

    def _authorize(self, user, groups, verb, kind, ns, name=None, sub=""):
        if self.server.args.rbac and user.startswith("system:serviceaccount:"):
            self._rbac(user, verb, kind, ns, name, sub)
        for rule in self.server.state.deny:
            if rule.get("user") and rule["user"] != user:
                continue
            if rule.get("group") and rule["group"] not in groups:
                continue
            if rule.get("verbs") and verb not in rule["verbs"]:
                continue
            if rule.get("resources") and (kind is None or kind.plural not in rule["resources"]):
                continue
            if rule.get("namespaces") and ns not in rule["namespaces"]:
                continue
            what = 'User "%s" cannot %s resource "%s" in API group "%s"' % (
                user, verb, kind.plural if kind else "", kind.group if kind else "")
            where = ' in the namespace "%s"' % ns if ns else " at the cluster scope"
            res = kind.resource if kind else "resource"
            raise ApiStatus(403, "Forbidden", "%s is forbidden: %s%s" % (res, what, where),
                            {"kind": kind.plural if kind else "", **({"group": kind.group} if kind and kind.group else {})})

    def _rbac(self, user, verb, kind, ns, name, sub):
        """--rbac: a service account may do only what a Role bound to it in
        the request's namespace allows (the RBAC authorizer's rule matching:
        apiGroups, resources or resource/subresource, verbs, resourceNames,
        "*" wildcards). ClusterRoles and cluster-scoped requests are not
        modelled: denied."""
        parts = user.split(":")
        sa_ns, sa_name = (parts[2], parts[3]) if len(parts) == 4 else (None, None)
        api = self.server.api
        res = kind.plural + ("/" + sub if sub else "") if kind else ""
        with self.server.store.lock:
            rbk = api.find("rbac.authorization.k8s.io", "v1", "rolebindings")
            rk = api.find("rbac.authorization.k8s.io", "v1", "roles")
            bindings = api.store.list(api.key(rbk), ns) if ns and kind else []
            for b in bindings:
                if not any(s.get("kind") == "ServiceAccount" and s.get("name") == sa_name and
                           (s.get("namespace") or b["metadata"].get("namespace")) == sa_ns
                           for s in b.get("subjects") or []):
                    continue
                ref = b.get("roleRef") or {}
                role = api.store.get(api.key(rk), ns, ref.get("name")) if ref.get("kind") == "Role" else None
                for r in (role or {}).get("rules") or []:
                    if not ({"*", kind.group} & set(r.get("apiGroups") or [])):
                        continue
                    if not ({"*", res} & set(r.get("resources") or [])):
                        continue
                    if not ({"*", verb} & set(r.get("verbs") or [])):
                        continue
                    names = r.get("resourceNames") or []
                    if names and name not in names:
                        continue
                    return
        what = 'User "%s" cannot %s resource "%s" in API group "%s"' % (user, verb, res, kind.group if kind else "")
        where = ' in the namespace "%s"' % ns if ns else " at the cluster scope"
        obj = '%s "%s"' % (kind.resource, name) if kind and name else (kind.resource if kind else "resource")
        raise ApiStatus(403, "Forbidden", "%s is forbidden: %s%s" % (obj, what, where),
                        {"kind": kind.plural if kind else "", **({"name": name} if name else {}),
                         **({"group": kind.group} if kind and kind.group else {})})

    def _fault(self, method, path):
        st = self.server.state
        with st.lock:
            for f in st.faults:
                if f["remaining"] <= 0:
                    continue
                if f.get("method") and f["method"].upper() != method:
                    continue
                if f.get("path") and not _path_re(f["path"]).search(path):
                    continue
                f["remaining"] -= 1
                return dict(f)
        return None

    # -- the request
    def handle_any(self):
        self.audit_id = str(uuid.uuid4())
        self.fault = None
        url = urlsplit(self.path)
        path = url.path
        if path.startswith("/__fake/"):
            self.log_entry = {}
            return self.control(path, url.query)
        st = self.server.state
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        with st.lock:
            st.seq += 1
            self.log_entry = {"seq": st.seq, "time": time.time(), "method": self.command, "path": path,
                              "query": query, "content_type": self.headers.get("Content-Type"),
                              "accept": self.headers.get("Accept"), "user_agent": self.headers.get("User-Agent")}
            st.log.append(self.log_entry)
            if len(st.log) > 20000:
                del st.log[:5000]
            latency = st.latency_ms
        try:
            body = self._read_body()
            self.log_entry["body"] = body.decode("utf-8", "replace")[:65536]
            fault = self._fault(self.command, path)
            if fault:
                self.fault = fault
                self.log_entry["fault"] = {k: v for k, v in fault.items() if k != "remaining"}
                if fault.get("delay_ms"):
                    time.sleep(fault["delay_ms"] / 1000.0)
                if fault.get("reset"):
                    self.log_entry["status"] = "reset"
                    return self._reset_connection()
                if fault.get("status"):
                    code = int(fault["status"])
                    hdrs = {}
                    details = None
                    if fault.get("retry_after") is not None:
                        hdrs["Retry-After"] = str(fault["retry_after"])
                        details = {"retryAfterSeconds": int(fault["retry_after"])}
                    raise ApiStatus(code, fault.get("reason", FAULT_REASONS.get(code, "InternalError")),
                                    fault.get("message") or FAULT_MESSAGES.get(code, "injected fault"), details, hdrs)
            if latency:
                time.sleep(latency / 1000.0)
            user, groups, how = self._authenticate()
            self.log_entry.update({"user": user, "groups": groups, "auth": how})
            self.route(path, query, body.decode("utf-8", "replace"), user, groups)
        except ApiStatus as e:
            self._status(e)
        except (ConnectionError, BrokenPipeError, ssl.SSLError):
            self.close_connection = True
        except Exception as e:  # a fake bug: say so loudly
            import traceback
            traceback.print_exc()
            self._status(ApiStatus(500, "InternalError", "fake_k8s bug: %r" % e))

    # -- routing
    def _accepts_json(self):
        accept = self.headers.get("Accept") or "*/*"
        for part in accept.split(","):
            base = part.split(";")[0].strip().lower()
            if base in ("application/json", "*/*", "application/*"):
                return True
        return False

    def _reply(self, code, obj, warnings=()):
        hdrs = [("Warning", '299 - "%s"' % w.replace('"', '\\"')) for w in warnings]
        if isinstance(obj, dict) and obj.get("kind") not in ("Status", None) and self._wants_table():
            obj = table(self.server.api, obj, self.current_kind)
            return self._send(code, obj, headers=hdrs)
        if not self._accepts_json():
            accept = self.headers.get("Accept") or ""
            if "application/yaml" in accept:
                import yaml
                return self._send(code, yaml.safe_dump(obj, sort_keys=False), "application/yaml", hdrs)
            raise ApiStatus(406, "NotAcceptable", "only the following media types are accepted: application/json, "
                            "application/yaml, application/vnd.kubernetes.protobuf")
        self._send(code, obj, headers=hdrs)

    def _wants_table(self):
        accept = (self.headers.get("Accept") or "").replace(" ", "")
        first = accept.split(",")[0]
        return "as=Table" in first and "g=meta.k8s.io" in first and getattr(self, "current_kind", None) is not None

    def route(self, path, query, text, user, groups):
        srv = self.server
        api, disc = srv.api, srv.discovery
        self.current_kind = None
        m = self.command
        parts = [p for p in path.split("/") if p]
        if m == "GET" and path in ("/healthz", "/livez", "/readyz"):
            return self._send(200, "ok", "text/plain; charset=utf-8")
        if m == "GET" and path == "/version":
            return self._reply(200, VERSION)
        accept = self.headers.get("Accept") or "application/json"
        with srv.store.lock:
            if m == "GET" and path in ("/api", "/api/", "/apis", "/apis/"):
                choice = negotiate(accept, [AGG_V2, AGG_V2BETA1, "application/json"])
                if choice in (AGG_V2, AGG_V2BETA1):
                    doc = disc.aggregated(core=parts == ["api"], beta=choice == AGG_V2BETA1)
                    return self._send(200, doc, choice, [("Vary", "Accept")])
                if choice is None:
                    raise ApiStatus(406, "NotAcceptable", "only the following media types are accepted: "
                                    "application/json, " + AGG_V2)
                if parts == ["api"]:
                    return self._send(200, disc.api_versions("127.0.0.1:%d" % srv.port), headers=[("Vary", "Accept")])
                return self._send(200, disc.api_group_list(), headers=[("Vary", "Accept")])
            if m == "GET" and parts == ["api", "v1"]:
                return self._reply(200, disc.resource_list("", "v1"))
            if m == "GET" and len(parts) == 2 and parts[0] == "apis":
                g = disc.api_group(parts[1])
                if g is None:
                    raise _no_route()
                return self._reply(200, g)
            if m == "GET" and len(parts) == 3 and parts[0] == "apis":
                rl = disc.resource_list(parts[1], parts[2])
                if rl is None:
                    raise _no_route()
                return self._reply(200, rl)
            if m == "GET" and path == "/.well-known/openid-configuration":
                return self._reply(200, {"issuer": SA_ISSUER, "jwks_uri": "https://127.0.0.1:%d/openid/v1/jwks" % srv.port,
                                         "response_types_supported": ["id_token"], "subject_types_supported": ["public"],
                                         "id_token_signing_alg_values_supported": ["RS256"]})
            if m == "GET" and path == "/openid/v1/jwks":
                return self._reply(200, srv.sakey.jwks)
            if m == "GET" and path == "/openapi/v2":
                if not self._accepts_json():
                    raise ApiStatus(406, "NotAcceptable", "the fake serves /openapi/v2 as application/json only")
                return self._send(200, disc.openapi_v2(srv.settings.knative))
            if m == "GET" and path == "/openapi/v3":
                return self._send(200, disc.v3_index())
            if m == "GET" and path.startswith("/openapi/v3/"):
                doc = disc.v3_doc(path[len("/openapi/v3/"):])
                if doc is None:
                    raise _no_route()
                return self._send(200, doc, headers=[("Cache-Control", "public, immutable")]
                                  if "hash" in query else None)
        # resources
        if parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise _no_route()
        ns = None
        if len(rest) >= 3 and rest[0] == "namespaces" and not (
                group == "" and len(rest) == 3 and rest[2] in ("status", "finalize")):
            ns, rest = rest[1], rest[2:]
        if not rest:
            raise _no_route()
        kind = api.find(group, version, rest[0])
        if kind is None:
            raise _no_route()
        self.current_kind = kind
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else ""
        allowed = {"status", "scale", "finalize" if kind.kind == "Namespace" else "status",
                   "token" if kind.kind == "ServiceAccount" else "status"}
        if len(rest) > 3 or (sub and sub not in allowed):
            raise _no_route()
        if kind.namespaced and ns is None and name is not None:
            raise _no_route()
        if not kind.namespaced and ns is not None:
            raise _no_route()
        if sub == "scale" and kind.kind != "Deployment":
            raise _no_route()
        if sub == "status" and not kind.status:
            raise _no_route()
        verb = self._verb(name, query)
        self.log_entry.update({"verb": verb, "resource": kind.plural, "namespace": ns, "name": name,
                               "subresource": sub or None})
        self._authorize(user, groups, verb, kind, ns, name, sub)
        req = Request(user, groups, query, self.headers.get("Content-Type"), self.headers.get("User-Agent"))
        req.options_kind = {"create": "CreateOptions", "update": "UpdateOptions", "patch": "PatchOptions",
                            "delete": "DeleteOptions", "deletecollection": "DeleteOptions"}.get(verb, "ListOptions")
        if verb == "watch":
            return self.watch(kind, ns, name, query)
        with srv.store.lock:
            code, obj, warns = self.dispatch(api, kind, ns, name, sub, verb, req, query, text)
        self._reply(code, obj, warns)

    def _verb(self, name, query):
        m = self.command
        watch = bool(qbool(query.get("watch")))
        if m in ("GET", "HEAD"):
            return "watch" if watch else ("get" if name else "list")
        if m == "POST":
            return "create"
        if m == "PUT":
            return "update"
        if m == "PATCH":
            return "patch"
        if m == "DELETE":
            return "delete" if name else "deletecollection"
        raise ApiStatus(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def dispatch(self, api, kind, ns, name, sub, verb, req, query, text):
        if verb == "get":
            obj = api.get(kind, ns, name)
            if sub == "scale":
                return 200, scale_of(obj), []
            return 200, obj, []
        if verb == "list":
            if name is not None:
                raise _no_route()
            ls, fs = _selectors(query)
            limit = int(query["limit"]) if query.get("limit", "").isdigit() else None
            return 200, api.list(kind, ns, ls, fs, limit, query.get("continue")), []
        if verb == "create" and sub == "token":
            return self._token_request(api, kind, ns, name, req, text)
        if kind.kind == "TokenReview":
            if verb != "create" or name is not None:
                raise ApiStatus(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
            return self._token_review(api, kind, req, text)
        if verb == "create":
            if name is not None:
                raise ApiStatus(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
            if kind.namespaced and ns is None:
                raise _no_route()
            return api.create(kind, ns, req, text)
        if verb == "update":
            if sub == "scale":
                return self._scale_write(api, kind, ns, name, req, text, patch=False)
            return api.update(kind, ns, name, req, text, subresource=sub)
        if verb == "patch":
            if sub == "scale":
                return self._scale_write(api, kind, ns, name, req, text, patch=True)
            return api.patch(kind, ns, name, req, text, subresource=sub)
        if verb == "delete":
            return api.delete(kind, ns, name, req, text)
        if verb == "deletecollection":
            ls, fs = _selectors(query)
            return api.delete_collection(kind, ns, req, ls, fs, text)
        raise ApiStatus(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def _token_request(self, api, kind, ns, name, req, text):
        """POST .../serviceaccounts/NAME/token: a token the fake then accepts
        as system:serviceaccount:NS:NAME until it expires."""
        api.get(kind, ns, name)  # 404 for a missing ServiceAccount
        try:
            body = json.loads(text or "{}")
        except ValueError as e:
            raise bad_request("error decoding TokenRequest: %s" % e)
        spec = dict(body.get("spec") or {})
        exp = spec.get("expirationSeconds", 3600)
        if not isinstance(exp, int) or isinstance(exp, bool) or exp < 600:
            raise ApiStatus(422, "Invalid", 'TokenRequest.authentication.k8s.io "%s" is invalid: spec.expirationSeconds: '
                            "Invalid value: %s: may not specify a duration less than 10 minutes" % (name, json.dumps(exp)))
        spec["expirationSeconds"] = exp
        spec.setdefault("audiences", ["https://kubernetes.default.svc.cluster.local"])

        sa = api.get(kind, ns, name)
        now = int(time.time()) + self.server.token_clock_offset
        token = self.server.sakey.sign({
            "aud": spec["audiences"], "exp": now + exp, "iat": now, "nbf": now, "iss": SA_ISSUER,
            "jti": str(uuid.uuid4()), "sub": "system:serviceaccount:%s:%s" % (ns, name),
            "kubernetes.io": {"namespace": ns, "serviceaccount": {"name": name, "uid": sa["metadata"].get("uid", "")}}})
        with self.server.state.lock:
            self.server.tokens.add(token, "system:serviceaccount:%s:%s" % (ns, name),
                                   ["system:serviceaccounts", "system:serviceaccounts:" + ns], now + exp)
        return 201, {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                     "metadata": {"name": name, "namespace": ns},
                     "spec": spec, "status": {"token": token, "expirationTimestamp": time.strftime(
                         "%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + exp))}}, []

    def _token_review(self, api, kind, req, text):
        """POST /apis/authentication.k8s.io/v1/tokenreviews: the review of
        spec.token as the service-account authenticator does it (201 with
        status.authenticated, and error when false); nothing is stored."""
        body = api._decode_body(req, text)
        api._check_gvk(kind, body)
        obj = api._strict(kind, req, body)
        spec = obj.get("spec") or {}
        token = spec.get("token")
        if not token:
            from k8s.api import invalid
            from k8s.schema import FieldError
            raise invalid(kind, "", [FieldError("required", "spec.token")])
        wanted = spec.get("audiences") or API_AUDIENCES
        status = {"authenticated": False, "user": {}}
        try:
            claims = self.server.sakey.verify(token)
            auds = claims.get("aud")
            auds = [auds] if isinstance(auds, str) else list(auds or [])
            both = [a for a in wanted if a in auds]
            if not both:
                raise ValueError("token audiences %s is invalid for the target audiences %s"
                                 % (json.dumps(auds), json.dumps(wanted)))
            k8s = claims.get("kubernetes.io") or {}
            ns, sa = k8s.get("namespace"), (k8s.get("serviceaccount") or {})
            try:
                live = api.get(api.find("", "v1", "serviceaccounts"), ns, sa.get("name"))
            except ApiStatus:
                raise ValueError('serviceaccounts "%s" not found' % sa.get("name"))
            if live["metadata"].get("uid") != sa.get("uid"):
                raise ValueError("service account UID (%s) does not match claim (%s)"
                                 % (live["metadata"].get("uid"), sa.get("uid")))
            status = {"authenticated": True, "audiences": both,
                      "user": {"username": "system:serviceaccount:%s:%s" % (ns, sa["name"]),
                               "uid": sa.get("uid", ""),
                               "groups": ["system:serviceaccounts", "system:serviceaccounts:" + ns,
                                          "system:authenticated"]}}
        except ValueError as e:
            status["error"] = "[invalid bearer token, %s]" % str(e).replace("invalid bearer token, ", "")
        obj.setdefault("metadata", {})
        obj["status"] = status
        return 201, obj, []

    def _scale_write(self, api, kind, ns, name, req, text, patch):
        obj = api.get(kind, ns, name)
        cur = scale_of(obj)
        try:
            body = json.loads(text or "{}")
        except ValueError as e:
            raise bad_request("error decoding Scale: %s" % e)
        if patch:
            from k8s.api import merge_patch
            body = merge_patch(cur, body)
        replicas = (body.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise ApiStatus(422, "Invalid", 'Scale.autoscaling "%s" is invalid: spec.replicas: Invalid value: %s: '
                            "must be greater than or equal to 0" % (name, json.dumps(replicas)))
        new = copy.deepcopy(obj)
        new["spec"]["replicas"] = replicas
        req.ctype = "application/json"
        code, out, warns = api.update(kind, ns, name, req, json.dumps(new))
        return code, scale_of(out), warns

    # -- watch
    def watch(self, kind, ns, name, query):
        srv = self.server
        store = srv.store
        try:
            ls, fs = _selectors(query)
        except ApiStatus as e:
            return self._status(e)
        if name:
            fs = fs + [("metadata.name", "=", name)]
        kk = srv.api.key(kind)
        timeout = float(query.get("timeoutSeconds") or 1800)
        rv = query.get("resourceVersion") or ""
        initial = bool(qbool(query.get("sendInitialEvents")))
        bookmarks = bool(qbool(query.get("allowWatchBookmarks")))

        def match(o):
            if kind.namespaced and ns is not None and o["metadata"].get("namespace") != ns:
                return False
            return labels_match(ls, (o["metadata"].get("labels"))) and fields_match(fs, o)

        def with_gvk(o):
            o = copy.deepcopy(o)
            o["apiVersion"], o["kind"] = kind.gv, kind.kind
            return o

        pending = []
        with store.lock:
            if rv in ("", "0") or initial:
                for o in store.list(kk, ns if kind.namespaced else None):
                    if match(o):
                        pending.append({"type": "ADDED", "object": with_gvk(o)})
                since = store.rv
                if initial and bookmarks:
                    pending.append({"type": "BOOKMARK", "object": {
                        "kind": kind.kind, "apiVersion": kind.gv, "metadata": {
                            "resourceVersion": str(store.rv), "annotations": {"k8s.io/initial-events-end": "true"}}}})
            else:
                try:
                    since = int(rv)
                except ValueError:
                    return self._status(bad_request("invalid resource version: %s" % rv))
                if since < store.oldest_rv() - 1 and since < store.rv:
                    st = ApiStatus(410, "Expired", "too old resource version: %d (%d)" % (since, store.oldest_rv()))
                    pending.append({"type": "ERROR", "object": st.body()})
        self.log_entry["status"] = 200
        self.send_response(200)
        self.send_header("Audit-Id", self.audit_id)
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        end = time.time() + timeout

        def chunk(ev):
            data = (json.dumps(ev, separators=(",", ":")) + "\n").encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        try:
            for ev in pending:
                chunk(ev)
            if any(ev["type"] == "ERROR" for ev in pending):
                raise StopIteration
            while time.time() < end and not srv.stopping:
                out = []
                with store.lock:
                    news = [e for e in store.events if e[0] > since and e[2] == kk]
                    if not news:
                        store.cond.wait(timeout=min(1.0, max(0.01, end - time.time())))
                        news = [e for e in store.events if e[0] > since and e[2] == kk]
                    for erv, etype, _kk, ens, obj in news:
                        since = max(since, erv)
                        if match(obj):
                            out.append({"type": etype, "object": with_gvk(obj)})
                    since = max(since, store.rv if not news else since)
                for ev in out:
                    chunk(ev)
        except (StopIteration, ConnectionError, BrokenPipeError, ssl.SSLError, OSError):
            pass
        try:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            pass
        self.close_connection = True

    # -- control API
    def control(self, path, qs):
        try:
            body = self._read_body()
            doc = json.loads(body) if body.strip() else {}
        except ValueError as e:
            return self._send(400, {"error": "control body is not JSON: %s" % e})
        cmd = path[len("/__fake/"):]
        m = self.command
        try:
            out = self._control(cmd, m, doc, dict(parse_qsl(qs)))
        except (KeyError, TypeError, ValueError) as e:
            return self._send(400, {"error": "bad control call %s %s: %s" % (m, path, e)})
        if out is None:
            return self._send(404, {"error": "unknown control call %s %s" % (m, path)})
        self._send(200, out)

    def _control(self, cmd, m, doc, q):
        srv = self.server
        st = srv.state
        s = srv.settings
        if cmd == "health":
            return {"ok": True}
        if cmd == "log" and m == "GET":
            since = int(q.get("since", 0))
            with st.lock:
                return [e for e in st.log if e.get("seq", 0) > since]
        if cmd == "state" and m == "GET":
            with srv.store.lock:
                objs = [o for _, o in sorted(srv.store.objects.items(), key=lambda kv: (kv[0][0], kv[0][1] or "", kv[0][2]))]
                return {"objects": copy.deepcopy(objs), "resourceVersion": srv.store.rv, "settings": s.dump(),
                        "faults": st.faults, "latency_ms": st.latency_ms, "tokens": srv.tokens.dump(),
                        "deny": st.deny, "tls_errors": srv.tls_errors[-50:]}
        if cmd == "reset" and m == "POST":
            with srv.store.lock:
                srv.store.reset()
                srv.controllers.reset()
                srv.seed()
            with st.lock:
                st.log, st.faults, st.deny = [], [], []
                st.latency_ms = srv.args.latency_ms
                srv.tls_errors.clear()
            s.fail_rollout.clear()
            s.not_ready.clear()
            s.fail_knative.clear()
            return {"ok": True}
        if cmd == "faults" and m == "POST":
            faults = doc if isinstance(doc, list) else [doc]
            with st.lock:
                for f in faults:
                    if not isinstance(f, dict) or not isinstance(f.get("count", 1), int):
                        raise ValueError("a fault is an object with an integer count")
                    if not (f.get("status") or f.get("reset") or f.get("delay_ms") or f.get("trickle_ms")):
                        raise ValueError("a fault needs status, reset, delay_ms or trickle_ms")
                    if f.get("path"):
                        _path_re(f["path"])
                    f = dict(f)
                    f["remaining"] = f.pop("count", 1)
                    st.faults.append(f)
                return {"ok": True, "faults": st.faults}
        if cmd == "faults" and m == "DELETE":
            with st.lock:
                st.faults = []
            return {"ok": True}
        if cmd == "token-clock" and m == "POST":
            # seconds added to the clock TokenRequest stamps tokens with
            # (iat, exp): a negative offset makes tokens that have expired
            with st.lock:
                srv.token_clock_offset = int(doc.get("offset", 0))
            return {"ok": True, "offset": srv.token_clock_offset}
        if cmd == "latency" and m == "POST":
            with st.lock:
                st.latency_ms = int(doc.get("ms", 0))
            return {"ok": True, "latency_ms": st.latency_ms}
        if cmd == "tokens" and m == "POST":
            exp = doc.get("expires_at")
            if doc.get("expires_in") is not None:
                exp = time.time() + float(doc["expires_in"])
            with st.lock:
                srv.tokens.add(str(doc["token"]), str(doc["user"]), doc.get("groups", []), exp)
            return {"ok": True, "expires": exp}
        if cmd == "tokens" and m == "DELETE":
            with st.lock:
                srv.tokens.t.pop(doc.get("token"), None)
            return {"ok": True}
        if cmd == "knative" and m == "POST":
            s.knative = bool(doc["enabled"])
            return {"ok": True, "knative": s.knative}
        if cmd == "autoscaling" and m == "POST":
            s.autoscaling_v2 = bool(doc["v2"])
            return {"ok": True, "autoscaling_v2": s.autoscaling_v2}
        if cmd == "rollout" and m == "POST":
            with srv.store.lock:
                if "target" in doc:
                    if doc.get("fail"):
                        s.fail_rollout[doc["target"]] = True
                    else:
                        s.fail_rollout.pop(doc["target"], None)
                if "delay_ms" in doc:
                    s.rollout_delay = doc["delay_ms"] / 1000.0
                if "deadline_scale" in doc:
                    s.deadline_scale = float(doc["deadline_scale"])
            return {"ok": True, "settings": s.dump()}
        if cmd == "pod-readiness" and m == "POST":
            # {"namespace", "deployment", "not_ready": N, "terminating": bool}:
            # the last N pods of the Deployment fail readiness (or are
            # being deleted); their EndpointSlice endpoints say so
            key = "%s/%s" % (doc["namespace"], doc["deployment"])
            n = int(doc.get("not_ready", 0))
            if n < 0:
                raise ValueError("not_ready is a count of pods, 0 or more")
            with srv.store.lock:
                if n:
                    s.not_ready[key] = {"count": n, "terminating": bool(doc.get("terminating"))}
                else:
                    s.not_ready.pop(key, None)
                srv.controllers.dirty.add(("apps/Deployment", doc["namespace"], doc["deployment"]))
            return {"ok": True, "not_ready": s.not_ready}
        if cmd == "knative-status" and m == "POST":
            with srv.store.lock:
                if "target" in doc:
                    if doc.get("fail"):
                        s.fail_knative[doc["target"]] = doc.get("message") or "Container failed with: exit status 1"
                    else:
                        s.fail_knative.pop(doc["target"], None)
                if "delay_ms" in doc:
                    s.knative_delay = doc["delay_ms"] / 1000.0
                if "domain" in doc:
                    s.domain = doc["domain"]
            return {"ok": True, "settings": s.dump()}
        if cmd == "settings" and m == "POST":
            with srv.store.lock:
                if "field_validation_default" in doc:
                    if doc["field_validation_default"] not in ("Ignore", "Warn", "Strict"):
                        raise ValueError("field_validation_default is Ignore, Warn or Strict")
                    s.field_validation_default = doc["field_validation_default"]
                if "gc_delay_ms" in doc:
                    s.gc_delay = doc["gc_delay_ms"] / 1000.0
                if "domain" in doc:
                    s.domain = doc["domain"]
            return {"ok": True, "settings": s.dump()}
        if cmd == "authz" and m == "POST":
            rules = doc.get("deny", [])
            if not isinstance(rules, list):
                raise ValueError("deny is a list of rules")
            with st.lock:
                st.deny = rules
            return {"ok": True, "deny": st.deny}
        if cmd == "authz" and m == "DELETE":
            with st.lock:
                st.deny = []
            return {"ok": True}
        return None


def _no_route():
    return ApiStatus(404, "NotFound", "the server could not find the requested resource", {})


def _selectors(query):
    try:
        return parse_label_selector(query.get("labelSelector", "")), parse_field_selector(query.get("fieldSelector", ""))
    except SelectorError as e:
        raise bad_request(str(e))


def scale_of(dep):
    meta = dep["metadata"]
    sel = ((dep.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    out = {"kind": "Scale", "apiVersion": "autoscaling/v1",
           "metadata": {"name": meta["name"], "namespace": meta.get("namespace"), "uid": meta["uid"],
                        "resourceVersion": meta["resourceVersion"], "creationTimestamp": meta["creationTimestamp"]},
           "spec": {"replicas": (dep.get("spec") or {}).get("replicas", 0)},
           "status": {"replicas": (dep.get("status") or {}).get("replicas", 0),
                      "selector": ",".join("%s=%s" % kv for kv in sorted(sel.items()))}}
    return out


def _age(ts):
    import datetime
    try:
        t = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return "<unknown>"
    s = int((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds())
    if s < 120:
        return "%ds" % s
    if s < 7200:
        return "%dm" % (s // 60)
    return "%dh" % (s // 3600)


def table(api, obj, kind):
    """A meta.k8s.io/v1 Table (what kubectl get asks for), with Name and Age
    and a few columns per kind."""
    items = obj["items"] if "items" in obj else [obj]
    cols = [("Name", "string", "name"), ("Age", "string", "")]
    extra = {
        "Deployment": [("Ready", "string", ""), ("Up-to-date", "integer", ""), ("Available", "integer", "")],
        "Service": [("Type", "string", ""), ("Cluster-IP", "string", ""), ("Port(s)", "string", "")],
        "HorizontalPodAutoscaler": [("Reference", "string", ""), ("MinPods", "string", ""),
                                    ("MaxPods", "string", ""), ("Replicas", "string", "")],
        "Namespace": [("Status", "string", "")],
    }.get(kind.kind if not kind.crd else "", [])
    if kind.crd:
        extra = [("URL", "string", ""), ("Ready", "string", "")]
    rows = []
    for o in items:
        meta = o.get("metadata") or {}
        spec, stat = o.get("spec") or {}, o.get("status") or {}
        cells = [meta.get("name"), _age(meta.get("creationTimestamp"))]
        if kind.crd:
            ready = [c.get("status") for c in stat.get("conditions") or [] if c.get("type") == "Ready"]
            cells += [stat.get("url", ""), ready[0] if ready else ""]
        elif kind.kind == "Deployment":
            cells += ["%d/%d" % (stat.get("readyReplicas", 0), spec.get("replicas", 0)), stat.get("updatedReplicas", 0),
                      stat.get("availableReplicas", 0)]
        elif kind.kind == "Service":
            cells += [spec.get("type", ""), spec.get("clusterIP", ""),
                      ",".join("%s/%s" % (p.get("port"), p.get("protocol", "TCP")) for p in spec.get("ports") or [])]
        elif kind.kind == "HorizontalPodAutoscaler":
            ref = spec.get("scaleTargetRef") or {}
            cells += ["%s/%s" % (ref.get("kind"), ref.get("name")), str(spec.get("minReplicas", 1)),
                      str(spec.get("maxReplicas")), str(stat.get("currentReplicas", 0))]
        elif kind.kind == "Namespace":
            cells += [stat.get("phase", "")]
        rows.append({"cells": cells, "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                                "metadata": meta}})
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1",
            "metadata": {"resourceVersion": (obj.get("metadata") or {}).get("resourceVersion", "")},
            "columnDefinitions": [{"name": n, "type": t, "format": f, "description": n, "priority": 0}
                                  for n, t, f in cols + extra],
            "rows": rows}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    stopping = False

    def record(self, entry):
        with self.state.lock:
            self.tls_errors.append(entry)
            if len(self.tls_errors) > 1000:
                del self.tls_errors[:500]

    def seed(self):
        """The namespaces a new cluster has."""
        from k8s.api import Request as R
        ns_kind = self.api.find("", "v1", "namespaces")
        for ns in DEFAULT_NAMESPACES:
            if self.store.get("/Namespace", None, ns) is None:
                req = R("system:apiserver", ["system:masters"], {}, "application/json", "kube-apiserver/v1.36.0")
                self.api.create(ns_kind, None, req, json.dumps({"apiVersion": "v1", "kind": "Namespace",
                                                                "metadata": {"name": ns}}))


def main():
    global SA_ISSUER, API_AUDIENCES
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--pki", help="directory with ca.crt, server.crt/.key (made with openssl when missing)")
    ap.add_argument("--tls-cert", help="server certificate (default: PKI/server.crt)")
    ap.add_argument("--tls-key", help="server key (default: PKI/server.key)")
    ap.add_argument("--client-ca", help="CA for client certificates (default: PKI/ca.crt)")
    ap.add_argument("--kubeconfig", help="write a kubeconfig for PKI/admin.crt here once listening")
    ap.add_argument("--token", action="append", default=[],
                    help="TOKEN=USER[:GROUP,...][@EXPIRES_IN_SECONDS]: a bearer token the fake accepts")
    ap.add_argument("--token-auth-file", help="kube-apiserver's CSV: token,user,uid,\"group1,group2\"")
    ap.add_argument("--knative", action="store_true", help="serve serving.knative.dev/v1 (Knative installed)")
    ap.add_argument("--rbac", action="store_true",
                    help="authorize service accounts by the Roles bound to them (others: everything)")
    ap.add_argument("--no-autoscaling-v2", action="store_true", help="do not serve autoscaling/v2")
    ap.add_argument("--domain", default="example.com", help="Knative's domain for Service URLs")
    ap.add_argument("--rollout-delay-ms", type=int, default=300, help="time until a rollout is available")
    ap.add_argument("--knative-delay-ms", type=int, default=300, help="time until a Knative Service is Ready")
    ap.add_argument("--deadline-scale", type=float, default=0.002,
                    help="progressDeadlineSeconds is multiplied by this (600 s -> 1.2 s by default)")
    ap.add_argument("--gc-delay-ms", type=int, default=100, help="time before deletion finalizers are processed")
    ap.add_argument("--field-validation-default", choices=["Strict", "Warn", "Ignore"], default="Strict",
                    help="fieldValidation when a request gives none (the real server's default is Warn)")
    ap.add_argument("--latency-ms", type=int, default=0)
    ap.add_argument("--sa-issuer", default="https://kubernetes.default.svc.cluster.local",
                    help="the service-account issuer (--service-account-issuer): the iss of the tokens it signs "
                         "and of its discovery document; also the API server's audience")
    ap.add_argument("--exit-on-stdin-eof", action="store_true", help="exit when stdin closes (the parent died)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    SA_ISSUER = args.sa_issuer
    API_AUDIENCES = [SA_ISSUER]

    if args.pki:
        certs.make_pki(args.pki)
    cert = args.tls_cert or (args.pki and os.path.join(args.pki, "server.crt"))
    key = args.tls_key or (args.pki and os.path.join(args.pki, "server.key"))
    ca = args.client_ca or (args.pki and os.path.join(args.pki, "ca.crt"))
    if not (cert and key and ca):
        ap.error("give --pki DIR, or --tls-cert, --tls-key and --client-ca")
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.minimum_version = ssl.TLSVersion.TLSv1_2
    tls.load_cert_chain(cert, key)
    tls.load_verify_locations(ca)
    tls.verify_mode = ssl.CERT_OPTIONAL  # a certificate from another CA fails the handshake
    tls.set_alpn_protocols(["http/1.1"])
    with open(ca) as f:
        ca_pem = f.read()

    schemas = Schemas()
    store = Store()
    settings = Settings(args)
    api = Api(schemas, store, settings, ca_pem)
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.args, srv.tls, srv.store, srv.settings, srv.api = args, tls, store, settings, api
    srv.state = State(args)
    srv.tls_errors = []
    srv.port = srv.server_address[1]
    srv.discovery = Discovery(schemas, api.kinds)
    srv.tokens = Tokens()
    srv.sakey = SAKey()
    srv.token_clock_offset = 0
    for spec in args.token:
        m = re.match(r"^([^=]+)=([^:@]+)(?::([^@]*))?(?:@(\d+))?$", spec)
        if not m:
            ap.error("--token wants TOKEN=USER[:GROUP,...][@EXPIRES_IN_SECONDS]")
        srv.tokens.add(m.group(1), m.group(2), [g for g in (m.group(3) or "").split(",") if g],
                       time.time() + int(m.group(4)) if m.group(4) else None)
    if args.token_auth_file:
        srv.tokens.load_csv(args.token_auth_file)
    srv.controllers = Controllers(api, settings)
    with store.lock:
        srv.seed()
    srv.controllers.start()
    port = srv.port
    if args.kubeconfig and args.pki:
        certs.kubeconfig(args.kubeconfig, "https://127.0.0.1:%d" % port, os.path.join(args.pki, "ca.crt"),
                         cert=os.path.join(args.pki, "admin.crt"), key=os.path.join(args.pki, "admin.key"))
    fakeserve.serve(srv, port, args.port_file, args.exit_on_stdin_eof)


if __name__ == "__main__":
    main()
