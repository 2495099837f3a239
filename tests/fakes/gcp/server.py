"""server.py - the HTTP front: routing, faults, latency, the request log,
bearer auth, request checking against the discovery documents, and the
/__fake/ control API."""
import fnmatch
import json
import re
import sys
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import fakeserve  # tests/fakes (on the path of fake_gcp.py): the reset every fake answers with

from .auth import Auth
from .common import canon
from .discovery import DOCUMENTS, Checked, Registry, Validator
from .errors import ApiError, OAuthError, error_info, not_found
from .functions import Functions
from .iam import Iam
from .misc import Misc
from .run import Run
from .state import State

API_NAMES = sorted(DOCUMENTS, key=len, reverse=True) + ["oauth2"]
HOST_RX = re.compile(r"^(?:([a-z0-9-]+)-)?(%s)\.googleapis\.com(?::[0-9]+)?$" % "|".join(API_NAMES))
FAULT_STATUS = {429: ("RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Requests' and limit 'Requests per "
                                            "minute' of service (fake_gcp injected fault)."),
                500: ("INTERNAL", "Internal error encountered."),
                502: ("UNAVAILABLE", "Bad Gateway"),
                503: ("UNAVAILABLE", "The service is currently unavailable."),
                504: ("DEADLINE_EXCEEDED", "The request was aborted because there was no available instance.")}
# Scopes Google accepts beyond what the discovery documents list: google-auth
# exchanges a federated token for the iam scope before it impersonates.
EXTRA_SCOPES = {"iamcredentials": ["https://www.googleapis.com/auth/iam"],
                "iam": ["https://www.googleapis.com/auth/iam"]}
# Methods whose own checks decide who may call them (not the admin list).
SELF_AUTHORIZED = ("iamcredentials.", "secretmanager.projects.secrets.versions.access")


# Predefined roles that, granted on the resource itself, let a principal
# outside the admins list call a method: the permissions they hold per
# Google's predefined-roles reference (a subset; roles/run.developer holds
# run.services.get and run.services.update, what a capacity schedule's
# Cloud Scheduler job needs to patch minInstanceCount).
RESOURCE_GRANTS = {
    "run.services.get": {"roles/run.developer", "roles/run.admin", "roles/run.viewer", "roles/owner",
                         "roles/editor", "roles/viewer"},
    "run.services.update": {"roles/run.developer", "roles/run.admin", "roles/owner", "roles/editor"},
    "cloudfunctions.functions.update": {"roles/cloudfunctions.developer", "roles/cloudfunctions.admin",
                                        "roles/owner", "roles/editor"},
}


def granted_on_resource(st, m, ctx):
    """Whether the caller holds, in the policy of the resource the method
    names (a Cloud Run service, a function), a role granting the method's
    permission: Google checks resource-level bindings as well as the
    project's."""
    roles = RESOURCE_GRANTS.get(m.permission)
    res = ctx.params.get("name") or ctx.params.get("resource")
    if not roles or not res:
        return False
    try:
        name, _ = canon(st, res)
    except ApiError:
        return False
    return st.holds(name, roles, ctx.caller)


class Ctx:
    """One request as the service modules see it."""

    def __init__(self, handler, method, path, query, headers, body, host, base_url):
        self.handler = handler
        self.method = method
        self.path = path
        self.query = query
        self.qpairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
        self.headers = headers
        self.body = body
        self.host = host
        self.base_url = base_url
        self.m = None
        self.params = {}
        self.chk = Checked()
        self.caller = None
        self.mask = None

    @property
    def caller_email(self):
        c = self.caller or {}
        return c.get("email") or c.get("principal", "").split(":", 1)[-1]

    def fail_for(self, api, verb):
        """An operation failure planted through POST /__fake/op-failures."""
        st = self.handler.server.state
        for f in st.op_failures:
            if f["remaining"] > 0 and f.get("api", api) == api and f.get("verb", verb) == verb:
                f["remaining"] -= 1
                return ApiError(f.get("status", "FAILED_PRECONDITION"), f.get("message", "injected operation "
                                "failure (fake_gcp)"))
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-gcp/1"
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        if self.server.args.verbose:
            sys.stderr.write("fake_gcp: " + fmt % args + "\n")

    def do_GET(self):
        self.handle_any()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    # ---- plumbing ----------------------------------------------------------------
    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                line = self.rfile.readline().strip()
                n = int(line.split(b";")[0], 16)
                if n == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(n))
                self.rfile.readline()
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, status, body, ctype="application/json; charset=UTF-8", headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body, indent=2)
        if isinstance(body, str):
            body = body.encode()
        # Logged before the answer leaves: a client that reads the log right
        # after its response must find the status there.
        if self.entry is not None:
            self.entry["status"] = status
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    _reset_connection = fakeserve.reset_connection

    def _api_error(self, e):
        if self.entry is not None:
            self.entry["error"] = {"status": e.status, "message": e.message}
        self._send(e.http, e.body(), headers=e.headers)

    def _oauth_error(self, e):
        if self.entry is not None:
            self.entry["error"] = {"error": e.error, "error_description": e.description}
        self._send(e.http, e.body())

    def _fault(self, st, mid, path):
        with st.lock:
            for f in st.faults:
                if f["remaining"] <= 0:
                    continue
                if f.get("method") and not fnmatch.fnmatchcase(mid or "", f["method"]):
                    continue
                if f.get("path") and not re.search(f["path"], path):
                    continue
                if f.get("http_method") and f["http_method"] != self.command:
                    continue
                f["remaining"] -= 1
                return dict(f)
        return None

    def _apply_fault(self, fault):
        """True when the fault answered the request."""
        self.entry["fault"] = fault
        if fault.get("delay_ms"):
            time.sleep(fault["delay_ms"] / 1000.0)
        if fault.get("reset"):
            self.entry["status"] = "reset"
            self._reset_connection()
            return True
        if fault.get("status"):
            code = fault["status"]
            status, msg = FAULT_STATUS.get(code, ("UNKNOWN", "injected fault"))
            hdrs = {}
            if fault.get("retry_after") is not None:
                hdrs["Retry-After"] = str(fault["retry_after"])
            details = [error_info("RATE_LIMIT_EXCEEDED")] if code == 429 else []
            self._api_error(ApiError(fault.get("grpc_status", status), fault.get("message") or msg, details,
                                     hdrs, http=code))
            return True
        return False

    # ---- the request ---------------------------------------------------------------
    def handle_any(self):
        self.entry = None
        st = self.server.state
        raw = self.path
        host = self.headers.get("Host", "")
        prefix = ""
        if raw.startswith("http://") or raw.startswith("https://"):  # proxy (absolute-form) request
            u = urllib.parse.urlsplit(raw)
            host = u.netloc
            raw = urllib.parse.urlunsplit(("", "", u.path or "/", u.query, ""))
        path, _, query = raw.partition("?")
        if path.startswith("/__fake/"):
            return self.control(path, query)
        with st.lock:
            st.seq += 1
            logq = urllib.parse.urlencode([(k, "<redacted>" if k in ("access_token", "oauth_token") else v)
                                           for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True)],
                                          safe="<>/:,*")
            self.entry = {"seq": st.seq, "time": time.time(), "method": self.command, "path": path,
                          "query": logq, "host": host,
                          "headers": [[k, self._redact(k, v)] for k, v in self.headers.items()]}
            st.log.append(self.entry)
            if len(st.log) > st.config["log_limit"]:  # keep memory bounded on long benchmarks
                del st.log[:len(st.log) - st.config["log_limit"]]
            latency = st.config["latency_ms"]
        try:
            body = self._read_body()
        except (ValueError, OSError) as e:
            return self._api_error(ApiError("INVALID_ARGUMENT", "could not read the request body: %s" % e))
        self.entry["body"] = self._log_body(path, body)
        if latency:
            time.sleep(latency / 1000.0)
        api_hint, region = None, None
        hm = HOST_RX.match(host)
        if hm:
            region, api_hint = hm.group(1), hm.group(2)
        first = path.split("/")[1] if path.count("/") >= 1 else ""
        if first in API_NAMES and not path.startswith("/oauth2/v"):
            api_hint = first
            prefix = "/" + first
            path = path[len(prefix):] or "/"
        base = "http://%s%s" % (host or "127.0.0.1:%d" % self.server.server_address[1], prefix)
        ctx = Ctx(self, self.command, path, query, self.headers, body, host, base)
        try:
            self._dispatch(ctx, api_hint, region)
        except ApiError as e:
            self._api_error(e)
        except OAuthError as e:
            self._oauth_error(e)
        except (ConnectionError, BrokenPipeError):
            self.close_connection = True
        except Exception as e:  # a fake bug: say so loudly
            traceback.print_exc()
            self._api_error(ApiError("INTERNAL", "fake_gcp bug: %r" % e))

    # Credentials in bodies the log keeps out: token-endpoint form fields,
    # and secret payloads (test values, but the log is printed on failures).
    SECRET_FIELDS = ("assertion", "client_secret", "refresh_token", "subject_token", "token", "access_token")

    def _log_body(self, path, body):
        text = body.decode("utf-8", "replace")
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype == "application/x-www-form-urlencoded":
            pairs = urllib.parse.parse_qsl(text, keep_blank_values=True)
            return urllib.parse.urlencode([(k, "<redacted>" if k in self.SECRET_FIELDS else v) for k, v in pairs],
                                          safe="<>")
        if path.endswith(":addVersion") or path.endswith("/v1/token"):
            try:
                doc = json.loads(text)
            except ValueError:
                return text
            if isinstance(doc, dict):
                if isinstance(doc.get("payload"), dict) and "data" in doc["payload"]:
                    doc["payload"]["data"] = "<redacted %d base64 chars>" % len(str(doc["payload"]["data"]))
                for k in ("subjectToken", "subject_token"):
                    if k in doc:
                        doc[k] = "<redacted>"
                return json.dumps(doc)
        return text

    @staticmethod
    def _redact(k, v):
        if k.lower() in ("authorization", "x-serverless-authorization"):
            return v.split(" ", 1)[0] + " <redacted>" if " " in v else "<redacted>"
        return v

    def _dispatch(self, ctx, api_hint, region):
        st = self.server.state
        srv = self.server
        path = ctx.path
        # fixed endpoints first
        special = None
        if path.startswith("/computeMetadata/") or (path == "/" and ctx.headers.get("Metadata-Flavor")):
            special = "metadata"
        elif path.startswith("/__run/"):
            special = "run.invoke"
        elif path.startswith("/__fn/"):
            special = "cloudfunctions.invoke"
        elif path.startswith("/__upload/"):
            special = "upload"
        elif path in ("/oauth2/v3/certs", "/oauth2/v1/certs"):
            special = "certs"
        elif path == "/token" and api_hint in (None, "oauth2"):
            special = "oauth2.token"
        elif path == "/v1/token" and api_hint in (None, "sts"):
            special = "sts.token"
        elif path == "/v1/introspect" and api_hint in (None, "sts"):
            special = "sts.introspect"
        elif api_hint in (None, "run") and (path.startswith("/apis/serving.knative.dev/v1/") or
                                             re.match(r"^/v1/projects/[^/]+/locations/[^/]+/services(/[^/]+)?$", path)):
            special = "run.v1"
        if special:
            self.entry["method_id"] = special
            fault = self._fault(st, special, path)
            if fault and self._apply_fault(fault):
                return
            return self._special(ctx, special, region)
        # a discovery method
        cands, any_path = srv.registry.candidates(ctx.method, path.lstrip("/"), api_hint)
        if not cands:
            if any_path:
                raise not_found("fake_gcp: %s %s matches %s, whose httpMethod is %s, not %s (Google answers 404)"
                                % (ctx.method, path, any_path[0].id, any_path[0].http_method, ctx.method))
            raise not_found("fake_gcp: no method of %s matches %s %s (check the path against the discovery "
                            "document's path templates, or prefix the path with the API name, e.g. /run/v2/...)"
                            % (api_hint or "any API", ctx.method, path))
        m = cands[0]
        if len(cands) > 1:
            with st.lock:
                for c in cands:  # operations of Run vs Functions, Eventarc vs Scheduler: the operation knows
                    if "operations" in c.id:
                        nm = path.lstrip("/").split("/", 1)[1]
                        op = st.operations.get(nm)
                        if op and op["api"] == c.api.name:
                            m = c
                            break
        ctx.m = m
        self.entry["method_id"] = m.id
        fault = self._fault(st, m.id, path)
        if fault and self._apply_fault(fault):
            return
        service = "%s.googleapis.com" % m.api.name
        with st.lock:
            ctx.params = srv.registry.path_params(m, path.lstrip("/"))
            ctx.caller = srv.auth.bearer(ctx.headers, dict(ctx.qpairs), service, m.id)
            self.entry["principal"] = ctx.caller["principal"]
            srv.auth.need_scope(ctx.caller, service, m.id, m.scopes + EXTRA_SCOPES.get(m.api.name, []))
            if st.admins is not None and ctx.caller["principal"] not in st.admins and \
                    not m.id.startswith(SELF_AUTHORIZED) and not granted_on_resource(st, m, ctx):
                res = next(iter(ctx.params.values()), "")
                raise ApiError("PERMISSION_DENIED", "Permission '%s' denied on resource '%s' (or it may not exist)."
                               % (m.permission, res),
                               [error_info("IAM_PERMISSION_DENIED", service,
                                           {"permission": m.permission, "resource": res})])
            srv.validator.query(m, ctx.qpairs, ctx.chk)
            mask = ctx.chk.query.get("updateMask")
            if mask is not None and m.request:
                ctx.mask = srv.validator.mask_paths(m, mask, m.request)
            srv.validator.body(m, ctx.body, ctx.headers.get("Content-Type") or "", ctx.chk, ctx.mask, ctx.params)
            if ctx.chk.notes:
                self.entry["notes"] = list(ctx.chk.notes)
            if ctx.chk.output_only:
                self.entry["output_only"] = list(ctx.chk.output_only)
            fn = srv.handlers.get(m.id)
            if fn is None:
                raise ApiError("UNIMPLEMENTED", "fake_gcp does not implement %s" % m.id)
            result = fn(ctx)
            problems = srv.validator.response(m, result)
            if problems:
                raise ApiError("INTERNAL", "fake_gcp bug: the answer to %s does not match %s: %s"
                               % (m.id, m.response, "; ".join(problems[:5])))
        self._send(200, result)

    def _special(self, ctx, what, region):
        srv = self.server
        st = srv.state
        if what == "metadata":
            with st.lock:
                code, ctype, body = srv.auth.metadata(ctx)
            return self._send(code, body, ctype, {"Metadata-Flavor": "Google"})
        if what == "certs":
            # published as Google publishes them: the current key and the
            # ones rotated out lately, cacheable for certs_max_age seconds
            cc = {"Cache-Control": "public, max-age=%d, must-revalidate, no-transform"
                  % int(st.config["certs_max_age"])}
            if ctx.path.endswith("/v3/certs"):
                return self._send(200, srv.auth.published_jwks(), headers=cc)
            return self._send(200, srv.auth.published_pem_certs(), headers=cc)
        if what == "oauth2.token":
            with st.lock:
                code, out = srv.auth.token(ctx)
            self.entry["principal"] = "token endpoint"
            return self._send(code, out, headers={"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate",
                                                  "Pragma": "no-cache"})
        if what == "sts.token":
            with st.lock:
                code, out = srv.auth.sts(ctx)
            return self._send(code, out)
        if what == "sts.introspect":
            with st.lock:
                code, out = srv.auth.introspect(ctx)
            return self._send(code, out)
        if what == "upload":
            parts = ctx.path.split("/", 3)
            if len(parts) < 4:
                return self._send(404, "<Error><Code>NoSuchKey</Code></Error>", "application/xml")
            with st.lock:
                code, ctype, body = srv.functions.put_upload(ctx, parts[2], parts[3])
            return self._send(code, body, ctype)
        if what in ("run.invoke", "cloudfunctions.invoke"):
            parts = ctx.path.split("/", 5)
            if len(parts) < 5:
                return self._send(404, "not found", "text/plain")
            rest = "/" + (parts[5] if len(parts) > 5 else "")
            with st.lock:
                if what == "run.invoke":
                    code, ctype, body, caller = srv.run.invoke(ctx, parts[2], parts[3], parts[4], rest)
                else:
                    code, ctype, body, caller = srv.functions.invoke(ctx, parts[2], parts[3], parts[4], rest)
            self.entry["principal"] = caller["principal"] if caller else None
            return self._send(code, body, ctype)
        if what == "run.v1":
            with st.lock:
                ctx.caller = srv.auth.bearer(ctx.headers, dict(ctx.qpairs), "run.googleapis.com", "run.v1")
                self.entry["principal"] = ctx.caller["principal"]
                srv.auth.need_scope(ctx.caller, "run.googleapis.com", "run.v1")
                out = srv.run.v1(ctx, region)
            return self._send(200, out)
        raise not_found(what)

    # ---- control API ----------------------------------------------------------------
    def control(self, path, query):
        st = self.server.state
        srv = self.server
        self.entry = None
        try:
            body = self._read_body()
            doc = json.loads(body) if body.strip() else {}
        except ValueError as e:
            return self._send(400, {"error": "control body is not JSON: %s" % e})
        cmd = path[len("/__fake/"):]
        verb = self.command
        try:
            with st.lock:
                out = self._control(st, srv, cmd, verb, doc, dict(urllib.parse.parse_qsl(query)))
        except (KeyError, TypeError, ValueError) as e:
            return self._send(400, {"error": "bad control request %s %s: %r" % (verb, path, e)})
        except ApiError as e:
            return self._send(e.http, e.body())
        if out is None:
            return self._send(404, {"error": "unknown control call %s %s" % (verb, path)})
        self._send(200, out)

    def _control(self, st, srv, cmd, verb, doc, q):
        if cmd == "health":
            return {"ok": True, "port": srv.server_address[1]}
        if cmd == "log" and verb == "GET":
            since = int(q.get("since", 0))
            return [e for e in st.log if e["seq"] > since]
        if cmd == "state" and verb == "GET":
            return st.dump()
        if cmd == "reset" and verb == "POST":
            st.reset()
            return {"ok": True}
        if cmd == "config" and verb == "GET":
            return st.config
        if cmd == "config" and verb == "POST":
            for k, v in doc.items():
                if k not in st.config:
                    raise ValueError("unknown config key %s (known: %s)" % (k, ", ".join(sorted(st.config))))
                st.config[k] = v
            return st.config
        if cmd == "google-key" and verb == "POST":
            # Google's rotation: a new key signs from now on; the previous
            # one stays published (its ID tokens live up to 1 h)
            kid = srv.auth.rotate_google_key()
            return {"ok": True, "kid": kid}
        if cmd == "clock" and verb == "POST":
            st.config["clock_offset"] += float(doc.get("advance", 0))
            return {"ok": True, "clock_offset": st.config["clock_offset"], "now": st.now()}
        if cmd == "latency" and verb == "POST":
            st.config["latency_ms"] = int(doc.get("ms", 0))
            return {"ok": True, "latency_ms": st.config["latency_ms"]}
        if cmd == "faults" and verb == "POST":
            for f in (doc if isinstance(doc, list) else [doc]):
                if not isinstance(f, dict) or not isinstance(f.get("count", 1), int):
                    raise ValueError("a fault is an object with an integer count")
                if not (f.get("status") or f.get("reset") or f.get("delay_ms")):
                    raise ValueError("a fault needs status, reset or delay_ms")
                f = dict(f)
                f["remaining"] = f.pop("count", 1)
                st.faults.append(f)
            return {"ok": True, "faults": st.faults}
        if cmd == "faults" and verb == "DELETE":
            st.faults = []
            return {"ok": True}
        if cmd == "op-failures" and verb == "POST":
            for f in (doc if isinstance(doc, list) else [doc]):
                f = dict(f)
                f["remaining"] = f.pop("count", 1)
                st.op_failures.append(f)
            return {"ok": True, "op_failures": st.op_failures}
        if cmd == "projects" and verb == "POST":
            st.projects[doc["project_id"]] = {"projectId": doc["project_id"], "number": str(doc["number"])}
            return {"ok": True}
        if cmd == "service-accounts" and verb == "POST":
            proj = doc.get("project") or next(iter(st.projects))
            email = "%s@%s.iam.gserviceaccount.com" % (doc["account_id"], st.project(proj)["projectId"])
            sa = st.service_accounts.get(email) or srv.iam.add_service_account(proj, doc["account_id"],
                                                                             doc.get("display_name"))
            out = {"email": sa["email"], "uniqueId": sa["uniqueId"], "name": sa["name"]}
            if doc.get("cert_pem") or doc.get("public_key_pem"):
                pub = doc.get("public_key_pem")
                if doc.get("cert_pem"):
                    from cryptography import x509
                    from cryptography.hazmat.primitives import serialization
                    cert = x509.load_pem_x509_certificate(doc["cert_pem"].encode())
                    pub = cert.public_key().public_bytes(serialization.Encoding.PEM,
                                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()
                kid, _ = srv.iam.add_key(sa, doc.get("cert_pem"), pub, kid=doc.get("key_id"))
                out["key_id"] = kid
            return out
        if cmd == "tokens" and verb == "POST":
            principal = doc["principal"]
            email = doc.get("email") or (principal.split(":", 1)[1] if principal.startswith(("user:", "serviceAccount:")) else None)
            tok, life = st.issue_token(principal, doc.get("scopes") or ["https://www.googleapis.com/auth/cloud-platform"],
                                       lifetime=doc.get("lifetime"), email=email, source="control")
            return {"access_token": tok, "expires_in": life, "token_type": "Bearer"}
        if cmd == "authorized-users" and verb == "POST":
            cl = st.authorized_users.setdefault(doc["client_id"], {"secret": doc["client_secret"], "refresh_tokens": {}})
            cl["secret"] = doc["client_secret"]
            cl["refresh_tokens"][doc["refresh_token"]] = {
                "email": doc["email"], "scopes": doc.get("scopes") or [
                    "https://www.googleapis.com/auth/cloud-platform", "openid",
                    "https://www.googleapis.com/auth/userinfo.email"]}
            return {"ok": True}
        if cmd == "aws-identities" and verb == "POST":
            st.aws_identities[doc["access_key_id"]] = {"secret": doc["secret_access_key"], "arn": doc["arn"],
                                                       "account": doc["account"],
                                                       "session_token": doc.get("session_token")}
            return {"ok": True}
        if cmd == "metadata" and verb == "POST":
            st.metadata["email"] = doc.get("email")
            if doc.get("scopes"):
                st.metadata["scopes"] = doc["scopes"]
            return {"ok": True, "metadata": st.metadata}
        if cmd == "admins" and verb == "POST":
            st.admins = doc.get("principals")
            return {"ok": True, "admins": st.admins}
        if cmd == "policies" and verb == "POST":
            pol = st.set_policy(doc["resource"], {"bindings": doc.get("bindings", [])}, lambda m, w: None)
            return pol
        if cmd == "operations" and verb == "GET":
            return [st.op_view(o) for o in st.operations.values()]
        return None


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def build(args, reference_dir):
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.args = args
    srv.state = State(args)
    srv.registry = Registry(reference_dir)
    srv.validator = Validator(srv.registry, srv.state)
    srv.invoke_base = "http://127.0.0.1:%d" % srv.server_address[1]
    srv.auth = Auth(srv.state, srv.validator)
    srv.run = Run(srv.state, srv.auth, srv)
    srv.functions = Functions(srv.state, srv.auth, srv)
    srv.iam = Iam(srv.state, srv.auth, srv)
    srv.misc = Misc(srv.state, srv.auth, srv)
    srv.handlers = {}
    for mod in (srv.run, srv.functions, srv.iam, srv.misc):
        srv.handlers.update(mod.handlers())
    for mid in srv.handlers:  # every handler must name a real discovery method
        srv.registry.method(mid)
    return srv
