"""functions.py - Cloud Functions v2: functions, generateUploadUrl and the
signed upload URL itself, operations, IAM policies, invocation.

Source code arrives as Google documents it: generateUploadUrl returns a
signed URL (served by the fake under /__upload/) and a storageSource; the
PUT to it must send `Content-Type: application/zip` (it is part of the
signature) and no Authorization header, and its body must be a zip; a
function whose storageSource was never uploaded is refused.
"""
import copy
import hashlib
import hmac
import io
import re
import secrets
import urllib.parse
import zipfile

from .common import OperationMethods, PolicyMethods, apply_mask, canon, listing, new_uid, split_name
from .errors import ApiError, already_exists, bad_request, not_found

KIND = ("cloudfunctions", "functions")
FUNCTION_TYPE = "type.googleapis.com/google.cloud.functions.v2.Function"
META_TYPE = "type.googleapis.com/google.cloud.functions.v2.OperationMetadata"
MUTABLE = ["description", "buildConfig", "serviceConfig", "eventTrigger", "labels", "environment", "kmsKeyName"]
RUNTIMES = {"nodejs18", "nodejs20", "nodejs22", "python310", "python311", "python312", "python313", "go121",
            "go122", "go123", "java17", "java21", "ruby32", "ruby33", "ruby34", "php82", "php83", "php84",
            "dotnet8"}
SIGN_KEY = secrets.token_bytes(32)


def xml_error(code, message, details=None):
    body = "<?xml version='1.0' encoding='UTF-8'?><Error><Code>%s</Code><Message>%s</Message>" % (code, message)
    if details:
        body += "<Details>%s</Details>" % details
    return body + "</Error>"


class Functions:
    def __init__(self, state, auth, srv):
        self.st = state
        self.auth = auth
        self.srv = srv
        self.iam = PolicyMethods(state, "cloudfunctions", self._exists)
        self.ops = OperationMethods(state, "cloudfunctions", lambda n: self._canon(n)[0])

    def handlers(self):
        p = "cloudfunctions.projects.locations."
        return {
            p + "functions.create": self.create, p + "functions.get": self.get, p + "functions.list": self.list,
            p + "functions.patch": self.patch, p + "functions.delete": self.delete,
            p + "functions.generateUploadUrl": self.upload_url,
            p + "functions.getIamPolicy": self.iam.get, p + "functions.setIamPolicy": self.iam.set,
            p + "functions.testIamPermissions": self.iam.test,
            p + "operations.get": self.ops.get, p + "operations.list": self.ops.list,
        }

    def _canon(self, name):
        return canon(self.st, name)

    def _exists(self, name):
        name, _ = self._canon(name)
        if name not in self.st.table(*KIND):
            raise not_found("Resource '%s' was not found" % name)
        return name

    @staticmethod
    def view(fn):
        return copy.deepcopy({k: v for k, v in fn.items() if not k.startswith("_")})

    # ---- source uploads -----------------------------------------------------------
    def upload_url(self, ctx):
        parent, proj = self._canon(ctx.params["parent"])
        region = split_name(parent)["locations"]
        bucket = "gcf-v2-uploads-%s-%s" % (proj["number"], region)
        obj = "%s.zip" % new_uid()
        expires = int(self.st.now()) + 1800
        sig = hmac.new(SIGN_KEY, ("%s/%s:%d:application/zip" % (bucket, obj, expires)).encode(),
                       hashlib.sha256).hexdigest()
        url = "%s/__upload/%s/%s?%s" % (self.srv.invoke_base, bucket, obj, urllib.parse.urlencode(
            {"X-Goog-Algorithm": "GOOG4-RSA-SHA256", "X-Goog-Expires": "1800", "X-Goog-Date": str(expires),
             "X-Goog-SignedHeaders": "content-type;host", "X-Goog-Signature": sig}))
        self.st.uploads["%s/%s" % (bucket, obj)] = {"bucket": bucket, "object": obj, "expires": expires,
                                                    "sig": sig, "data": None, "generation": None}
        return {"uploadUrl": url, "storageSource": {"bucket": bucket, "object": obj}}

    def put_upload(self, ctx, bucket, obj):
        """The signed-URL PUT: -> (status, content type, body)."""
        rec = self.st.uploads.get("%s/%s" % (bucket, obj))
        q = dict(urllib.parse.parse_qsl(ctx.query))
        if ctx.method != "PUT":
            return 405, "application/xml", xml_error("MethodNotAllowed", "The specified method is not allowed "
                                                     "against this resource: use PUT.")
        if rec is None or not hmac.compare_digest(q.get("X-Goog-Signature", ""), rec["sig"]):
            return 403, "application/xml", xml_error("SignatureDoesNotMatch", "Access denied.",
                                                     "The request signature we calculated does not match the "
                                                     "signature you provided.")
        if ctx.headers.get("Authorization"):
            return 403, "application/xml", xml_error("AccessDenied", "Access denied.", "The upload URL is signed; "
                                                     "a request with an Authorization header is made as that "
                                                     "identity, which may not write to the upload bucket. Send no "
                                                     "Authorization header.")
        ctype = (ctx.headers.get("Content-Type") or "").strip().lower()
        if ctype != "application/zip":
            return 403, "application/xml", xml_error("SignatureDoesNotMatch", "Access denied.",
                                                     "The request signature we calculated does not match the "
                                                     "signature you provided: the URL is signed for content-type "
                                                     "application/zip, the request sent %r." % ctype)
        if self.st.now() > rec["expires"]:
            return 400, "application/xml", xml_error("ExpiredToken", "Invalid argument.",
                                                     "Request has expired: the signed URL's time ran out.")
        body = ctx.body
        if len(body) > 100 * 1024 * 1024:
            return 400, "application/xml", xml_error("EntityTooLarge", "Your proposed upload is larger than "
                                                     "the maximum object size specified in your Policy Document.")
        try:
            with zipfile.ZipFile(io.BytesIO(body)) as z:
                bad = z.testzip()
                names = z.namelist()
        except (zipfile.BadZipFile, ValueError, EOFError) as e:
            return 400, "application/xml", xml_error("InvalidArgument", "fake_gcp: the upload is not a valid zip "
                                                     "archive (%s); Google would store it and fail the build." % e)
        if bad is not None:
            return 400, "application/xml", xml_error("InvalidArgument", "fake_gcp: the zip member %s is corrupt "
                                                     "(CRC mismatch)." % bad)
        rec["data"] = body
        rec["names"] = names
        rec["md5"] = hashlib.md5(body).hexdigest()
        rec["generation"] = str(int(self.st.now() * 1e6))
        return 200, "text/html", ""

    # ---- functions ------------------------------------------------------------------
    def _check(self, fn, where, creating):
        bc = fn.get("buildConfig") or {}
        if creating and not bc.get("runtime"):
            raise bad_request("Violation in %s.build_config.runtime: required when deploying a new function."
                              % where, [("%s.build_config.runtime" % where, "required field not present")])
        if bc.get("runtime") and bc["runtime"] not in RUNTIMES:
            raise bad_request("Invalid runtime value: %s. Supported runtimes: %s" % (bc["runtime"],
                              ", ".join(sorted(RUNTIMES))), [("%s.build_config.runtime" % where, "unsupported")])
        src = (bc.get("source") or {})
        if creating and not src:
            raise bad_request("Violation in %s.build_config.source: required when deploying a new function." % where,
                              [("%s.build_config.source" % where, "required field not present")])
        ss = src.get("storageSource")
        if ss:
            rec = self.st.uploads.get("%s/%s" % (ss.get("bucket"), ss.get("object")))
            if rec is None or rec["data"] is None:
                raise bad_request("Violation in %s.build_config.source.storage_source: the object gs://%s/%s does "
                                  "not exist: upload the source to the URL generateUploadUrl returned before "
                                  "creating the function." % (where, ss.get("bucket"), ss.get("object")),
                                  [("%s.build_config.source.storage_source" % where, "object not found")])
        elif src.get("repoSource") or src.get("gitUri"):
            raise bad_request("fake_gcp supports only storageSource sources for Cloud Functions v2.")
        sc = fn.get("serviceConfig") or {}
        if sc.get("minInstanceCount") is not None and sc.get("maxInstanceCount") is not None and \
                sc["minInstanceCount"] > sc["maxInstanceCount"]:
            raise bad_request("Violation in %s.service_config: min_instance_count must not exceed "
                              "max_instance_count." % where)
        if sc.get("timeoutSeconds") is not None and not 1 <= sc["timeoutSeconds"] <= 3600:
            raise bad_request("Violation in %s.service_config.timeout_seconds: must be between 1 and 3600 for "
                              "HTTP functions." % where)
        if fn.get("environment") not in (None, "GEN_2", "ENVIRONMENT_UNSPECIFIED"):
            raise bad_request("fake_gcp implements 2nd gen functions only (environment GEN_2).")

    def _fill(self, fn, name, proj):
        n = split_name(name)
        fn["environment"] = "GEN_2"
        bc = fn.setdefault("buildConfig", {})
        bc.setdefault("entryPoint", n["functions"])
        bc.setdefault("dockerRegistry", "ARTIFACT_REGISTRY")
        sc = fn.setdefault("serviceConfig", {})
        sc.setdefault("timeoutSeconds", 60)
        sc.setdefault("availableMemory", "256M")
        sc.setdefault("availableCpu", "0.1666")
        sc.setdefault("maxInstanceCount", 100)
        sc.setdefault("maxInstanceRequestConcurrency", 1)
        sc.setdefault("ingressSettings", "ALLOW_ALL")
        sc.setdefault("serviceAccountEmail", "%s-compute@developer.gserviceaccount.com" % proj["number"])
        sc.setdefault("allTrafficOnLatestRevision", True)
        sc["service"] = "projects/%s/locations/%s/services/%s" % (n["projects"], n["locations"], n["functions"])
        if fn.get("eventTrigger") and not fn["eventTrigger"].get("trigger"):
            fn["eventTrigger"]["trigger"] = "projects/%s/locations/%s/triggers/%s-%s" % (
                n["projects"], n["locations"], n["functions"], new_uid()[:6])
            fn["eventTrigger"].setdefault("triggerRegion", n["locations"])

    def _start(self, fn, verb, ctx):
        name = fn["name"]
        creator = ctx.caller_email
        n = split_name(name)
        fn["state"] = "DELETING" if verb == "delete" else "DEPLOYING"
        meta = {"@type": META_TYPE, "createTime": self.st.ts(), "target": name, "verb": verb, "apiVersion": "v2",
                "requestResource": dict(self.view(fn), **{"@type": FUNCTION_TYPE}),
                "stages": [{"name": s, "state": "IN_PROGRESS" if s == "BUILD" else "NOT_STARTED"}
                           for s in ("BUILD", "SERVICE", "TRIGGER", "SERVICE_ROLLBACK", "TRIGGER_ROLLBACK")]}

        def done():
            for s in meta["stages"]:
                s["state"] = "COMPLETE"
            meta["endTime"] = self.st.ts()
            table = self.st.table(*KIND)
            if verb == "delete":
                table.pop(name, None)
                self.st.drop_policy(name)
                self.srv.run.drop_function_service(name)
                return None
            f = table.get(name)
            if f is None:
                return None
            f["state"] = "ACTIVE"
            sc = f["serviceConfig"]
            # serviceConfig.uri is the Cloud Run service's; url the function's own
            sc["uri"], rev = self.srv.run.function_service(f, creator)
            sc["revision"] = rev.rsplit("/", 1)[1]
            f["url"] = "%s/__fn/%s/%s/%s" % (self.srv.invoke_base, n["projects"], n["locations"], n["functions"])
            f["buildConfig"]["build"] = "projects/%s/locations/%s/builds/%s" % (
                self.st.project(n["projects"])["number"], n["locations"], new_uid())
            f["updateTime"] = self.st.ts()
            return self.view(f)

        def failed(err):
            meta["endTime"] = self.st.ts()
            f = self.st.table(*KIND).get(name)
            if f is not None:
                f["state"] = "FAILED"
                f["stateMessages"] = [{"severity": "ERROR", "type": "BuildFailed" if verb != "delete" else "DeleteFailed",
                                       "message": err.message}]

        op = self.st.new_operation("cloudfunctions", "projects/%s/locations/%s" % (n["projects"], n["locations"]),
                                   meta, done, FUNCTION_TYPE if verb != "delete" else None,
                                   fail=ctx.fail_for("cloudfunctions", verb))
        op["on_fail"] = failed
        if op["done"] and op["error"] is not None:
            failed(op["fail"])
        return op

    def create(self, ctx):
        parent, proj = self._canon(ctx.params["parent"])
        body = ctx.chk.body or {}
        fid = ctx.chk.query.get("functionId")
        if not fid:
            raise bad_request("Violation in CreateFunctionRequest.function_id: required field not present.",
                              [("function_id", "required field not present")])
        if not re.match(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", fid):
            raise bad_request("Invalid function_id %r: it must start with a lowercase letter, contain only "
                              "lowercase letters, digits and hyphens, not end with a hyphen and be at most 63 "
                              "characters." % fid, [("function_id", "invalid")])
        name = "%s/functions/%s" % (parent, fid)
        if body.get("name") and body["name"] != name and self._canon(body["name"])[0] != name:
            raise bad_request("The function name %s in the body does not match %s." % (body["name"], name))
        table = self.st.table(*KIND)
        if name in table:
            n = split_name(name)
            raise already_exists("Function %s in region %s in project %s already exists"
                                 % (fid, n["locations"], n["projects"]))
        self._check(body, "CreateFunctionRequest.function", True)
        run_svc = self.st.table("run", "services").get(name.replace("/functions/", "/services/"))
        if run_svc is not None and (run_svc.get("labels") or {}).get("goog-managed-by") != "cloudfunctions":
            raise already_exists("Could not create Cloud Run service %s: a Cloud Run service with this name already "
                                 "exists, and a 2nd gen function runs on a service of its own name." % fid)
        fn = {k: copy.deepcopy(body[k]) for k in MUTABLE if k in body}
        fn["name"] = name
        self._fill(fn, name, proj)
        fn["createTime"] = fn["updateTime"] = self.st.ts()
        table[name] = fn
        return self.st.op_view(self._start(fn, "create", ctx))

    def get(self, ctx):
        return self.view(self.st.table(*KIND)[self._exists(ctx.params["name"])])

    def list(self, ctx):
        parent, _ = self._canon(ctx.params["parent"])
        items = [self.view(f) for n, f in self.st.table(*KIND).items() if n.startswith(parent + "/functions/")]
        return listing(items, ctx.chk.query, "functions", self.st.config["page_size"])

    def patch(self, ctx):
        name, proj = self._canon(ctx.params["name"])
        fn = self.st.table(*KIND).get(name)
        if fn is None:
            raise not_found("Resource '%s' was not found" % name)
        if fn["state"] == "DEPLOYING":
            raise ApiError("ABORTED",
                           "An operation on function %s is already in progress. Please try again later." % name)
        body = ctx.chk.body or {}
        new = copy.deepcopy(fn)
        apply_mask(new, body, ctx.mask, MUTABLE)
        self._check(new, "UpdateFunctionRequest.function", False)
        self._fill(new, name, proj)
        new["updateTime"] = self.st.ts()
        self.st.table(*KIND)[name] = new
        return self.st.op_view(self._start(new, "update", ctx))

    def delete(self, ctx):
        name, _ = self._canon(ctx.params["name"])
        fn = self.st.table(*KIND).get(name)
        if fn is None:
            raise not_found("Resource '%s' was not found" % name)
        return self.st.op_view(self._start(fn, "delete", ctx))

    def invoke(self, ctx, project, region, fid, rest):
        """A request to a function's url: roles/cloudfunctions.invoker or
        roles/run.invoker for allUsers or the caller."""
        import json
        name = "projects/%s/locations/%s/functions/%s" % (project, region, fid)
        fn = self.st.table(*KIND).get(name)
        if fn is None or fn.get("state") != "ACTIVE":
            return 404, "text/html", "<html><body><h1>Error: Page not found</h1></body></html>", None
        status, caller, why = self.auth.invoker(ctx.headers, [fn["url"], fn["url"] + "/", fn["serviceConfig"]["uri"],
                                                              fn["serviceConfig"]["uri"] + "/"])
        if status:
            return status, "text/html", ("<html><body><h1>Error: Unauthorized</h1><h2>Your client does not have "
                                         "permission to the requested URL. %s</h2></body></html>" % why), None
        run_name = fn["serviceConfig"]["service"]
        if not (self.st.holds(name, {"roles/cloudfunctions.invoker", "roles/run.invoker", "roles/owner"}, caller) or
                self.st.holds(run_name, {"roles/run.invoker", "roles/run.servicesInvoker", "roles/owner"}, caller)):
            return 403, "text/html", ("<html><body><h1>Error: Forbidden</h1><h2>Your client does not have "
                                      "permission to get URL <code>%s</code> from this server.</h2></body></html>"
                                      % rest), caller
        doc = {"function": name, "revision": fn["serviceConfig"].get("revision"), "method": ctx.method,
               "path": rest, "caller": caller["principal"] if caller else None}
        return 200, "application/json", json.dumps(doc), caller
