"""run.py - Cloud Run Admin API v2 services, the v1 (Knative) read view
gcloud uses, and invocation of deployed services.

A service is created reconciling (terminalCondition Ready PENDING) and
becomes ready when its operation completes (after the configured number of
operations.get calls); the server sets uid, generation, observedGeneration,
etag, revisions, conditions, uri and the defaults Google fills in. A
revision whose secret references name a missing secret, or a secret its
service account may not access, fails as Google fails it.
"""
import copy
import json
import random
import re
import string

from .common import OperationMethods, PolicyMethods, apply_mask, canon, listing, new_uid, policy_view, split_name
from .errors import ApiError, already_exists, bad_request, not_found

KIND = ("run", "services")
SERVICE_TYPE = "type.googleapis.com/google.cloud.run.v2.Service"
MUTABLE = ["description", "labels", "annotations", "client", "clientVersion", "ingress", "launchStage",
           "binaryAuthorization", "template", "traffic", "scaling", "invokerIamDisabled", "defaultUriDisabled",
           "customAudiences", "buildConfig", "iapEnabled", "multiRegionSettings"]
SPEC = ["template", "traffic", "scaling", "ingress", "binaryAuthorization", "invokerIamDisabled",
        "defaultUriDisabled", "customAudiences", "launchStage", "iapEnabled"]
INGRESS_V1 = {"INGRESS_TRAFFIC_ALL": "all", "INGRESS_TRAFFIC_INTERNAL_ONLY": "internal",
              "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER": "internal-and-cloud-load-balancing",
              "INGRESS_TRAFFIC_NONE": "none"}


def short(rev):
    return rev.rsplit("/", 1)[-1] if rev else rev


class Run:
    def __init__(self, state, auth, srv):
        self.st = state
        self.auth = auth
        self.srv = srv
        self.iam = PolicyMethods(state, "run", self._exists)
        self.ops = OperationMethods(state, "run", lambda n: self._canon(n)[0])

    def handlers(self):
        p = "run.projects.locations."
        return {
            p + "services.create": self.create, p + "services.get": self.get, p + "services.list": self.list,
            p + "services.patch": self.patch, p + "services.delete": self.delete,
            p + "services.getIamPolicy": self.iam.get, p + "services.setIamPolicy": self.iam.set,
            p + "services.testIamPermissions": self.iam.test,
            p + "services.revisions.get": self.revision_get, p + "services.revisions.list": self.revision_list,
            p + "operations.get": self.ops.get, p + "operations.wait": self.ops.wait,
            p + "operations.list": self.ops.list, p + "operations.delete": self.ops.delete,
        }

    # ---- names -------------------------------------------------------------------
    def _canon(self, name):
        return canon(self.st, name)

    def _exists(self, name):
        name, _ = self._canon(name)
        if name not in self.st.table(*KIND):
            raise self._missing(name)
        return name

    @staticmethod
    def _missing(name):
        n = split_name(name)
        return not_found("Resource '%s' of kind 'SERVICE' in region '%s' in project '%s' does not exist."
                         % (n.get("services"), n.get("locations"), n.get("projects")))

    # ---- the resource as Google answers it -----------------------------------------
    def _defaults(self, svc, proj):
        t = svc.setdefault("template", {})
        t.setdefault("scaling", {}).setdefault("maxInstanceCount", 100)
        t.setdefault("timeout", "300s")
        t.setdefault("serviceAccount", "%s-compute@developer.gserviceaccount.com" % proj["number"])
        t.setdefault("maxInstanceRequestConcurrency", 80)
        for c in t.get("containers") or []:
            res = c.setdefault("resources", {})
            res.setdefault("limits", {}).setdefault("cpu", "1000m")
            res["limits"].setdefault("memory", "512Mi")
            res.setdefault("cpuIdle", True)
            if not c.get("ports") and len(t["containers"]) == 1:
                c["ports"] = [{"name": "http1", "containerPort": 8080}]
            for p in c.get("ports") or []:
                p.setdefault("name", "http1")
                p.setdefault("containerPort", 8080)
            if c.get("ports") and "startupProbe" not in c:
                c["startupProbe"] = {"timeoutSeconds": 240, "periodSeconds": 240, "failureThreshold": 1,
                                     "tcpSocket": {"port": c["ports"][0]["containerPort"]}}
        svc.setdefault("ingress", "INGRESS_TRAFFIC_ALL")
        svc.setdefault("launchStage", "GA")
        if not svc.get("traffic"):
            svc["traffic"] = [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 100}]

    def _validate(self, svc, where):
        t = svc.get("template") or {}
        cs = t.get("containers") or []
        if not cs:
            raise bad_request("Violation in %s.template.containers: at least one container is required." % where,
                              [("%s.template.containers" % where, "at least one container is required")])
        if len(cs) > 10:
            raise bad_request("Violation in %s.template.containers: at most 10 containers are allowed." % where)
        with_ports = 0
        for i, c in enumerate(cs):
            ports = c.get("ports") or []
            if len(ports) > 1:
                f = "%s.template.containers[%d].ports" % (where, i)
                raise bad_request("Violation in %s: ports should contain 0 or 1 port." % f,
                                  [("Violation in " + f, "ports should contain 0 or 1 port.")])
            with_ports += bool(ports)
            names = [e.get("name") for e in c.get("env") or []]
            dup = {n for n in names if names.count(n) > 1}
            if dup:
                raise bad_request("Violation in %s.template.containers[%d].env: duplicate environment variable "
                                  "names %s." % (where, i, sorted(dup)))
            for j, e in enumerate(c.get("env") or []):
                if "value" in e and "valueSource" in e:
                    raise bad_request("Violation in %s.template.containers[%d].env[%d]: value and value_source "
                                      "are mutually exclusive." % (where, i, j))
        if len(cs) > 1 and with_ports != 1:
            raise bad_request("Violation in %s.template.containers: exactly one container (the ingress "
                              "container) must declare a port when there are several containers." % where)
        traffic = svc.get("traffic") or []
        if traffic and sum(x.get("percent", 0) for x in traffic) != 100:
            raise bad_request("Violation in %s.traffic: the percentages must add up to 100." % where)
        mx = (t.get("scaling") or {}).get("maxInstanceCount")
        mn = (t.get("scaling") or {}).get("minInstanceCount")
        if mx is not None and mn is not None and mn > mx:
            raise bad_request("Violation in %s.template.scaling: min_instance_count must not exceed "
                              "max_instance_count." % where)

    def _revision_problem(self, svc, proj):
        """Why a revision of svc cannot become ready (as Google reports it),
        or None."""
        sa = (svc.get("template") or {}).get("serviceAccount")
        for i, c in enumerate((svc.get("template") or {}).get("containers") or []):
            for j, e in enumerate(c.get("env") or []):
                ref = ((e.get("valueSource") or {}).get("secretKeyRef") or {})
                if not ref.get("secret"):
                    continue
                sname = ref["secret"]
                if not sname.startswith("projects/"):
                    sname = "projects/%s/secrets/%s" % (proj["projectId"], sname)
                parts = sname.split("/")
                try:
                    sp = self.st.project(parts[1])
                except ApiError:
                    sp = None
                full = "projects/%s/secrets/%s" % (sp["projectId"] if sp else parts[1], parts[3] if len(parts) > 3 else "")
                sname = "projects/%s/secrets/%s" % (sp["number"] if sp else parts[1], parts[3] if len(parts) > 3 else "")
                where = "spec.template.spec.containers[%d].env[%d].value_from.secret_key_ref.name" % (i, j)
                version = ref.get("version") or "latest"
                if full not in self.st.table("secretmanager", "secrets"):
                    return ("%s: Secret %s/versions/%s was not found" % (where, sname, version))
                if not self.st.holds(full, {"roles/secretmanager.secretAccessor", "roles/secretmanager.admin",
                                            "roles/owner"}, {"principal": "serviceAccount:" + sa, "federated": None}):
                    return ("%s: Permission denied on secret: %s/versions/%s for Revision service account %s. "
                            "The service account used must be granted the 'Secret Manager Secret Accessor' role "
                            "(roles/secretmanager.secretAccessor) at the secret, project or higher level."
                            % (where, sname, version, sa))
        return None

    def view(self, svc):
        return copy.deepcopy({k: v for k, v in svc.items() if not k.startswith("_")})

    def _new_revision(self, svc):
        n = split_name(svc["name"])
        rid = "%s-%05d-%s" % (n["services"], int(svc["generation"]),
                              "".join(random.choice(string.ascii_lowercase) for _ in range(3)))
        rev = "%s/revisions/%s" % (svc["name"], rid)
        svc["latestCreatedRevision"] = rev
        svc.setdefault("_revisions", []).append({"name": rev, "template": copy.deepcopy(svc.get("template")),
                                                 "createTime": self.st.ts(), "generation": svc["generation"],
                                                 "ready": False})
        return rev

    def _start(self, svc, verb, proj, ctx):
        """Mark svc reconciling and return the operation that finishes it."""
        svc["reconciling"] = True
        svc["terminalCondition"] = {"type": "Ready", "state": "CONDITION_PENDING",
                                    "lastTransitionTime": self.st.ts()}
        svc["etag"] = self.st.resource_etag()
        name = svc["name"]
        problem = self._revision_problem(svc, proj) if verb != "delete" else None
        fail = ctx.fail_for("run", verb)
        if problem and fail is None:
            fail = ApiError("FAILED_PRECONDITION", "Revision '%s' is not ready and cannot serve traffic. %s"
                            % (short(svc.get("latestCreatedRevision")), problem))

        def done():
            s = self.st.table(*KIND).get(name)
            if verb == "delete":
                gone = self.st.table(*KIND).pop(name, None) or s
                self.st.drop_policy(name)
                v = self.view(gone) if gone else {"name": name}
                v["reconciling"] = False
                return v
            if s is None:
                return {"name": name}
            s["reconciling"] = False
            s["observedGeneration"] = s["generation"]
            s["latestReadyRevision"] = s["latestCreatedRevision"]
            for r in s.get("_revisions", []):
                if r["name"] == s["latestCreatedRevision"]:
                    r["ready"] = True
            t = self.st.ts()
            s["terminalCondition"] = {"type": "Ready", "state": "CONDITION_SUCCEEDED", "lastTransitionTime": t}
            s["conditions"] = [{"type": "RoutesReady", "state": "CONDITION_SUCCEEDED", "lastTransitionTime": t},
                               {"type": "ConfigurationsReady", "state": "CONDITION_SUCCEEDED",
                                "lastTransitionTime": t}]
            s["trafficStatuses"] = [{"type": x.get("type", "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"),
                                     "percent": x.get("percent", 100)} for x in s.get("traffic", [])]
            s["uri"] = self.srv.invoke_base + "/__run/%s" % "/".join(
                [split_name(name)["projects"], split_name(name)["locations"], split_name(name)["services"]])
            s["urls"] = [s["uri"]]
            s["updateTime"] = t
            return self.view(s)

        def failed(err):
            s = self.st.table(*KIND).get(name)
            if s is None:
                return
            s["reconciling"] = False
            t = self.st.ts()
            s["terminalCondition"] = {"type": "Ready", "state": "CONDITION_FAILED", "message": err.message,
                                      "lastTransitionTime": t, "reason": "REVISION_FAILED"
                                      if verb != "delete" else "INTERNAL"}
            s["conditions"] = [{"type": "ConfigurationsReady", "state": "CONDITION_FAILED", "message": err.message,
                                "lastTransitionTime": t}]

        n = split_name(name)
        op = self.st.new_operation("run", "projects/%s/locations/%s" % (n["projects"], n["locations"]),
                                   dict(self.view(svc), **{"@type": SERVICE_TYPE}), done, SERVICE_TYPE, fail=fail)
        op["on_fail"] = failed
        if op["done"] and op["error"] is not None:
            failed(fail)
        return op

    def function_service(self, fn, creator):
        """The Cloud Run service a 2nd gen function runs on (Google creates it
        with the function's name and labels it goog-managed-by=cloudfunctions):
        created or updated, ready, when the function's operation completes.
        -> the service's uri."""
        n = split_name(fn["name"])
        proj = self.st.project(n["projects"])
        name = "projects/%s/locations/%s/services/%s" % (n["projects"], n["locations"], n["functions"])
        sc = fn.get("serviceConfig") or {}
        table = self.st.table(*KIND)
        svc = table.get(name)
        now = self.st.ts()
        if svc is None:
            svc = {"name": name, "uid": new_uid(), "generation": "0", "createTime": now, "creator": creator}
            table[name] = svc
        env = [{"name": k, "value": v} for k, v in sorted((sc.get("environmentVariables") or {}).items())]
        container = {"image": "%s-docker.pkg.dev/%s/gcf-artifacts/%s:version_%s" % (
            n["locations"], n["projects"], n["functions"], int(svc["generation"]) + 1),
            "resources": {"limits": {"cpu": sc.get("availableCpu", "0.1666"), "memory": sc.get("availableMemory", "256M")}}}
        if env:
            container["env"] = env
        svc.update({"labels": dict(fn.get("labels") or {}, **{"goog-managed-by": "cloudfunctions"}),
                    "template": {"containers": [container], "serviceAccount": sc.get("serviceAccountEmail"),
                                 "timeout": "%ds" % sc.get("timeoutSeconds", 60),
                                 "maxInstanceRequestConcurrency": sc.get("maxInstanceRequestConcurrency", 1),
                                 "scaling": {"maxInstanceCount": sc.get("maxInstanceCount", 100),
                                             "minInstanceCount": sc.get("minInstanceCount", 0)}},
                    "generation": str(int(svc["generation"]) + 1), "updateTime": now, "lastModifier": creator,
                    "etag": self.st.resource_etag()})
        self._defaults(svc, proj)
        self._new_revision(svc)
        t = now
        svc.update({"reconciling": False, "observedGeneration": svc["generation"],
                    "latestReadyRevision": svc["latestCreatedRevision"],
                    "terminalCondition": {"type": "Ready", "state": "CONDITION_SUCCEEDED", "lastTransitionTime": t},
                    "conditions": [{"type": "RoutesReady", "state": "CONDITION_SUCCEEDED", "lastTransitionTime": t},
                                   {"type": "ConfigurationsReady", "state": "CONDITION_SUCCEEDED",
                                    "lastTransitionTime": t}],
                    "trafficStatuses": [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 100}],
                    "uri": self.srv.invoke_base + "/__run/%s/%s/%s" % (n["projects"], n["locations"], n["functions"])})
        svc["urls"] = [svc["uri"]]
        return svc["uri"], svc["latestReadyRevision"]

    def drop_function_service(self, fn_name):
        n = split_name(fn_name)
        name = "projects/%s/locations/%s/services/%s" % (n["projects"], n["locations"], n["functions"])
        if self.st.table(*KIND).pop(name, None) is not None:
            self.st.drop_policy(name)

    # ---- methods -----------------------------------------------------------------
    def create(self, ctx):
        parent, proj = self._canon(ctx.params["parent"])
        body = ctx.chk.body or {}
        sid = ctx.chk.query.get("serviceId")
        if sid is None:
            sid = "svc-" + new_uid()[:8]
        if not re.match(r"^[a-z]([-a-z0-9]*[a-z0-9])?$", sid) or len(sid) >= 50:
            raise bad_request("Violation in CreateServiceRequest.service_id: must start with a letter, contain "
                              "only lowercase letters, digits and hyphens, not end with a hyphen, and be fewer "
                              "than 50 characters.", [("service_id", "invalid id %r" % sid)])
        name = "%s/services/%s" % (parent, sid)
        table = self.st.table(*KIND)
        if name in table:
            raise already_exists("Resource '%s' already exists." % sid)
        self._validate(body, "CreateServiceRequest.service")
        svc = {k: copy.deepcopy(body[k]) for k in MUTABLE if k in body}
        self._defaults(svc, proj)
        now = self.st.ts()
        svc.update({"name": name, "uid": new_uid(), "generation": "1", "createTime": now, "updateTime": now,
                    "creator": ctx.caller_email, "lastModifier": ctx.caller_email})
        if ctx.chk.query.get("validateOnly"):
            preview = dict(self.view(svc), **{"@type": SERVICE_TYPE})
            return {"name": "%s/operations/%s" % (parent, new_uid()), "done": True,
                    "metadata": preview, "response": preview}
        self._new_revision(svc)
        table[name] = svc
        return self.st.op_view(self._start(svc, "create", proj, ctx))

    def get(self, ctx):
        name = self._exists(ctx.params["name"])
        return self.view(self.st.table(*KIND)[name])

    def list(self, ctx):
        parent, _ = self._canon(ctx.params["parent"])
        items = [self.view(s) for n, s in self.st.table(*KIND).items() if n.startswith(parent + "/services/")]
        return listing(items, ctx.chk.query, "services", self.st.config["page_size"])

    def patch(self, ctx):
        name, proj = self._canon(ctx.params["name"])
        body = ctx.chk.body or {}
        q = ctx.chk.query
        table = self.st.table(*KIND)
        svc = table.get(name)
        if svc is None:
            if not q.get("allowMissing"):
                raise self._missing(name)
            ctx.chk.query["serviceId"] = split_name(name)["services"]
            ctx.params = {"parent": name.rsplit("/services/", 1)[0]}
            return self.create(ctx)
        if body.get("etag") and body["etag"] != svc["etag"]:
            raise ApiError("ABORTED", "The etag %s does not match the current etag %s of %s: the service was "
                           "modified; read it again and retry." % (body["etag"], svc["etag"], name))
        mask = ctx.mask
        new = copy.deepcopy(svc)
        apply_mask(new, body, mask, MUTABLE)
        self._validate(new, "UpdateServiceRequest.service")
        self._defaults(new, proj)
        if q.get("validateOnly"):
            preview = dict(self.view(new), **{"@type": SERVICE_TYPE})
            return {"name": "%s/operations/%s" % (name.rsplit("/services/", 1)[0], new_uid()), "done": True,
                    "metadata": preview, "response": preview}
        spec_changed = any(new.get(k) != svc.get(k) for k in SPEC)
        template_changed = new.get("template") != svc.get("template") or q.get("forceNewRevision")
        if spec_changed or template_changed or new != svc:
            new["generation"] = str(int(svc["generation"]) + 1)
        new["lastModifier"] = ctx.caller_email
        new["updateTime"] = self.st.ts()
        if template_changed:
            self._new_revision(new)
        table[name] = new
        return self.st.op_view(self._start(new, "update", proj, ctx))

    def delete(self, ctx):
        name, proj = self._canon(ctx.params["name"])
        svc = self.st.table(*KIND).get(name)
        if svc is None:
            raise self._missing(name)
        etag = ctx.chk.query.get("etag")
        if etag and etag != svc["etag"]:
            raise ApiError("ABORTED", "The etag %s does not match the current etag %s of %s." % (etag, svc["etag"], name))
        if ctx.chk.query.get("validateOnly"):
            preview = dict(self.view(svc), **{"@type": SERVICE_TYPE})
            return {"name": "%s/operations/%s" % (name.rsplit("/services/", 1)[0], new_uid()), "done": True,
                    "metadata": preview, "response": preview}
        svc["deleteTime"] = self.st.ts()
        svc["expireTime"] = svc["deleteTime"]
        return self.st.op_view(self._start(svc, "delete", proj, ctx))

    def revision_get(self, ctx):
        name, _ = self._canon(ctx.params["name"])
        svc_name = name.rsplit("/revisions/", 1)[0]
        svc = self.st.table(*KIND).get(svc_name)
        for r in (svc or {}).get("_revisions", []):
            if r["name"] == name:
                return self._revision_view(svc, r)
        n = split_name(name)
        raise not_found("Resource '%s' of kind 'REVISION' in region '%s' in project '%s' does not exist."
                        % (n.get("revisions"), n.get("locations"), n.get("projects")))

    def _revision_view(self, svc, r):
        t = r["template"] or {}
        v = {"name": r["name"], "uid": new_uid(), "generation": "1", "service": svc["name"],
             "createTime": r["createTime"], "containers": t.get("containers", []), "scaling": t.get("scaling", {}),
             "serviceAccount": t.get("serviceAccount"), "timeout": t.get("timeout"),
             "maxInstanceRequestConcurrency": t.get("maxInstanceRequestConcurrency"),
             "conditions": [{"type": "Ready", "state": "CONDITION_SUCCEEDED" if r["ready"] else "CONDITION_PENDING"}]}
        return {k: v for k, v in v.items() if v is not None}

    def revision_list(self, ctx):
        svc_name = self._exists(ctx.params["parent"])
        svc = self.st.table(*KIND)[svc_name]
        items = [self._revision_view(svc, r) for r in svc.get("_revisions", [])]
        return listing(items, ctx.chk.query, "revisions")

    # ---- invocation ----------------------------------------------------------------
    def invoke(self, ctx, project, region, service, rest):
        """A request to a deployed service's uri: allowed when the service's
        policy grants roles/run.invoker to allUsers or to the caller (an ID
        token for the service's URL, or an access token issued here)."""
        name = "projects/%s/locations/%s/services/%s" % (project, region, service)
        svc = self.st.table(*KIND).get(name)
        page404 = ("text/html", "<html><body><h1>Error: Page not found</h1><h2>The requested URL was not found "
                                "on this server.</h2></body></html>")
        if svc is None or not svc.get("latestReadyRevision"):
            return 404, page404[0], page404[1], None
        status, caller, why = self.auth.invoker(
            ctx.headers, [svc["uri"], svc["uri"] + "/"] + list(svc.get("customAudiences") or []))
        if status:
            return status, "text/html", ("<html><body><h1>Error: Unauthorized</h1><h2>Your client does not have "
                                         "permission to the requested URL <code>%s</code>. %s</h2></body></html>"
                                         % (rest, why)), None
        allowed = svc.get("invokerIamDisabled") or \
            self.st.holds(name, {"roles/run.invoker", "roles/run.servicesInvoker", "roles/run.admin",
                                 "roles/owner"}, caller)
        if not allowed:
            return 403, "text/html", ("<html><body><h1>Error: Forbidden</h1><h2>Your client does not have "
                                      "permission to get URL <code>%s</code> from this server.</h2></body></html>"
                                      % rest), caller
        doc = {"service": name, "revision": svc["latestReadyRevision"], "method": ctx.method, "path": rest,
               "query": ctx.query, "caller": caller["principal"] if caller else None,
               "body": ctx.body.decode("utf-8", "replace")}
        return 200, "application/json", json.dumps(doc), caller

    # ---- the v1 (Knative) view gcloud reads ----------------------------------------
    def v1_service(self, svc):
        n = split_name(svc["name"])
        proj = self.st.project(n["projects"])
        t = svc.get("template") or {}
        ann = {"serving.knative.dev/creator": svc.get("creator") or "",
               "serving.knative.dev/lastModifier": svc.get("lastModifier") or "",
               "run.googleapis.com/ingress": INGRESS_V1.get(svc.get("ingress"), "all"),
               "run.googleapis.com/ingress-status": INGRESS_V1.get(svc.get("ingress"), "all")}
        ann.update(svc.get("annotations") or {})
        labels = dict(svc.get("labels") or {})
        labels["cloud.googleapis.com/location"] = n["locations"]
        tann = {}
        sc = t.get("scaling") or {}
        if sc.get("maxInstanceCount") is not None:
            tann["autoscaling.knative.dev/maxScale"] = str(sc["maxInstanceCount"])
        if sc.get("minInstanceCount"):
            tann["autoscaling.knative.dev/minScale"] = str(sc["minInstanceCount"])
        containers = []
        for c in t.get("containers") or []:
            k = {"image": c.get("image")}
            for f in ("name", "command", "args", "workingDir"):
                if c.get(f):
                    k[f] = c[f]
            env = []
            for e in c.get("env") or []:
                if "value" in e or not e.get("valueSource"):
                    env.append({"name": e["name"], "value": e.get("value", "")})
                else:
                    ref = e["valueSource"].get("secretKeyRef") or {}
                    env.append({"name": e["name"], "valueFrom": {"secretKeyRef": {
                        "name": ref.get("secret", "").rsplit("/", 1)[-1], "key": ref.get("version", "latest")}}})
            if env:
                k["env"] = env
            if c.get("ports"):
                k["ports"] = [{"name": p.get("name", "http1"), "containerPort": p.get("containerPort", 8080)}
                              for p in c["ports"]]
            if (c.get("resources") or {}).get("limits"):
                k["resources"] = {"limits": dict(c["resources"]["limits"])}
            containers.append(k)
        spec = {"containerConcurrency": t.get("maxInstanceRequestConcurrency", 80),
                "timeoutSeconds": int(float(t.get("timeout", "300s")[:-1])),
                "serviceAccountName": t.get("serviceAccount"), "containers": containers}
        tmeta = {"annotations": tann} if tann else {}
        if t.get("labels"):
            tmeta["labels"] = dict(t["labels"])
        traffic = [{"percent": x.get("percent", 100), "latestRevision": True}
                   if x.get("type", "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST") == "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
                   else {"percent": x.get("percent", 0), "revisionName": x.get("revision")}
                   for x in svc.get("traffic") or []]
        ready = svc.get("terminalCondition") or {}
        status_of = {"CONDITION_SUCCEEDED": "True", "CONDITION_FAILED": "False"}
        conds = [{"type": "Ready", "status": status_of.get(ready.get("state"), "Unknown"),
                  "lastTransitionTime": ready.get("lastTransitionTime")}]
        if ready.get("message"):
            conds[0]["message"] = ready["message"]
        for c in svc.get("conditions") or []:
            conds.append({"type": c["type"], "status": status_of.get(c.get("state"), "Unknown"),
                          "lastTransitionTime": c.get("lastTransitionTime")})
        status = {"observedGeneration": int(svc.get("observedGeneration") or 0), "conditions": conds}
        if svc.get("latestReadyRevision"):
            status["latestReadyRevisionName"] = short(svc["latestReadyRevision"])
            status["traffic"] = [{"revisionName": short(svc["latestReadyRevision"]), "percent": 100,
                                  "latestRevision": True}]
        if svc.get("latestCreatedRevision"):
            status["latestCreatedRevisionName"] = short(svc["latestCreatedRevision"])
        if svc.get("uri"):
            status["url"] = svc["uri"]
            status["address"] = {"url": svc["uri"]}
        return {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
                "metadata": {"name": n["services"], "namespace": proj["number"],
                             "selfLink": "/apis/serving.knative.dev/v1/namespaces/%s/services/%s"
                                         % (proj["number"], n["services"]),
                             "uid": svc["uid"], "resourceVersion": svc["etag"].strip('"'),
                             "generation": int(svc["generation"]),
                             "creationTimestamp": svc["createTime"][:19] + "Z",
                             "labels": labels, "annotations": ann},
                "spec": {"template": {"metadata": tmeta, "spec": spec}, "traffic": traffic},
                "status": status}

    def v1(self, ctx, host_region):
        """GET apis/serving.knative.dev/v1/namespaces/NS/services[/NAME] on a
        regional endpoint, and v1/projects/P/locations/L/services on the
        global one. Read-only: the fake takes writes through v2 only."""
        path = ctx.path
        if ctx.method != "GET":
            raise ApiError("UNIMPLEMENTED", "fake_gcp serves the Run v1 (Knative) API read-only, for gcloud; "
                           "use the v2 API to change services.")
        pm = re.match(r"^/v1/projects/([^/]+)/locations/([^/]+)/services/([^/:]+):getIamPolicy$", path)
        if pm:
            # gcloud run services get-iam-policy reads the policy through v1:
            # the same policy the v2 API keeps (read only, like the rest)
            proj = self.st.project(pm.group(1))
            name = "projects/%s/locations/%s/services/%s" % (proj["projectId"], pm.group(2), pm.group(3))
            if name not in self.st.table(*KIND):
                raise self._missing(name)
            return policy_view(self.st.policy(name))
        m = re.match(r"^/apis/serving\.knative\.dev/v1/namespaces/([^/]+)/services(?:/([^/]+))?$", path)
        g = re.match(r"^/v1/projects/([^/]+)/locations/([^/]+)/services(?:/([^/]+))?$", path)
        if m:
            proj = self.st.project(m.group(1))
            region = host_region
            if not region:
                raise bad_request("The Run v1 namespaces API is regional: call https://REGION-run.googleapis.com/ "
                                  "(through the fake's proxy mode).")
            sname = m.group(2)
        elif g:
            proj = self.st.project(g.group(1))
            region = None if g.group(2) == "-" else g.group(2)
            sname = g.group(3)
        else:
            raise not_found("fake_gcp: no Run v1 method at %s" % path)
        table = self.st.table(*KIND)
        if sname:
            name = "projects/%s/locations/%s/services/%s" % (proj["projectId"], region, sname)
            if name not in table:
                raise not_found("Resource '%s' of kind 'SERVICE' in region '%s' in project '%s' does not exist."
                                % (sname, region, proj["projectId"]))
            return self.v1_service(table[name])
        items = [self.v1_service(s) for n, s in sorted(table.items())
                 if split_name(n)["projects"] == proj["projectId"] and
                 (region is None or split_name(n)["locations"] == region)]
        return {"apiVersion": "serving.knative.dev/v1", "kind": "ServiceList", "items": items,
                "metadata": {"selfLink": path}}
