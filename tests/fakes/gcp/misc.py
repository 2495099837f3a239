"""misc.py - the trigger and secret services a deployment wires around a
service: Cloud Scheduler v1 jobs, Pub/Sub v1 topics and subscriptions,
Secret Manager v1 secrets and versions, Eventarc v1 triggers."""
import base64
import copy
import re

from .common import OperationMethods, PolicyMethods, apply_mask, canon, listing, new_uid, split_name
from .errors import ApiError, already_exists, bad_request, not_found

TRIGGER_TYPE = "type.googleapis.com/google.cloud.eventarc.v1.Trigger"
EVENTARC_META = "type.googleapis.com/google.cloud.eventarc.v1.OperationMetadata"
CRON_FIELD = re.compile(r"^(\*|[0-9]+(-[0-9]+)?)(/[0-9]+)?(,(\*|[0-9]+(-[0-9]+)?)(/[0-9]+)?)*$|^[A-Za-z]{3}(-[A-Za-z]{3})?$")
TOPIC_ID = re.compile(r"^[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$")


def crc32c(data):
    """CRC-32C (Castagnoli), as Secret Manager checks dataCrc32c."""
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


class Misc:
    def __init__(self, state, auth, srv):
        self.st = state
        self.auth = auth
        self.srv = srv
        self.secret_iam = PolicyMethods(state, "secretmanager", self._secret_name)
        self.topic_iam = PolicyMethods(state, "pubsub", lambda n: self._ps(n, "topics")[0])
        self.sub_iam = PolicyMethods(state, "pubsub", lambda n: self._ps(n, "subscriptions")[0])
        self.trigger_iam = PolicyMethods(state, "eventarc", self._trigger_name)
        self.eventarc_ops = OperationMethods(state, "eventarc", lambda n: self._canon(n)[0])

    def handlers(self):
        j = "cloudscheduler.projects.locations.jobs."
        t = "pubsub.projects.topics."
        s = "pubsub.projects.subscriptions."
        sm = "secretmanager.projects.secrets."
        e = "eventarc.projects.locations."
        return {
            j + "create": self.job_create, j + "get": self.job_get, j + "patch": self.job_patch,
            j + "delete": self.job_delete, j + "list": self.job_list, j + "pause": self.job_pause,
            j + "resume": self.job_resume,
            t + "create": self.topic_create, t + "get": self.topic_get, t + "delete": self.topic_delete,
            t + "list": self.topic_list, t + "patch": self.topic_patch,
            t + "getIamPolicy": self.topic_iam.get, t + "setIamPolicy": self.topic_iam.set,
            s + "create": self.sub_create, s + "get": self.sub_get, s + "delete": self.sub_delete,
            s + "list": self.sub_list, s + "patch": self.sub_patch, s + "modifyPushConfig": self.sub_push,
            s + "getIamPolicy": self.sub_iam.get, s + "setIamPolicy": self.sub_iam.set,
            sm + "create": self.secret_create, sm + "get": self.secret_get, sm + "delete": self.secret_delete,
            sm + "list": self.secret_list, sm + "patch": self.secret_patch, sm + "addVersion": self.add_version,
            sm + "getIamPolicy": self.secret_iam.get, sm + "setIamPolicy": self.secret_iam.set,
            sm + "testIamPermissions": self.secret_iam.test,
            sm + "versions.access": self.version_access, sm + "versions.get": self.version_get,
            sm + "versions.list": self.version_list, sm + "versions.disable": self.version_disable,
            sm + "versions.enable": self.version_enable, sm + "versions.destroy": self.version_destroy,
            e + "triggers.create": self.trigger_create, e + "triggers.get": self.trigger_get,
            e + "triggers.delete": self.trigger_delete, e + "triggers.list": self.trigger_list,
            e + "triggers.patch": self.trigger_patch,
            e + "triggers.getIamPolicy": self.trigger_iam.get, e + "triggers.setIamPolicy": self.trigger_iam.set,
            e + "operations.get": self.eventarc_ops.get, e + "operations.list": self.eventarc_ops.list,
        }

    def _canon(self, name, by_number=False):
        return canon(self.st, name, by_number)

    # ---- Cloud Scheduler -----------------------------------------------------------
    def _check_job(self, job, where, creating):
        targets = [k for k in ("httpTarget", "pubsubTarget", "appEngineHttpTarget") if job.get(k)]
        if len(targets) != 1:
            raise bad_request("Violation in %s: exactly one of http_target, pubsub_target or app_engine_http_target "
                              "must be set." % where)
        sched = job.get("schedule")
        if creating and not sched:
            raise bad_request("Violation in %s.schedule: required field not present." % where,
                              [("%s.schedule" % where, "required field not present")])
        if sched and not sched.startswith("every ") and (len(sched.split()) != 5 or
                                                        not all(CRON_FIELD.match(f) for f in sched.split())):
            raise bad_request("Schedule or time zone is invalid: %r is not a unix-cron schedule of five fields."
                              % sched, [("%s.schedule" % where, "invalid")])
        ht = job.get("httpTarget")
        if ht:
            if not re.match(r"^https?://", ht.get("uri", "")):
                raise bad_request("Violation in %s.http_target.uri: must begin with http:// or https://." % where)
            if ht.get("oidcToken") and ht.get("oauthToken"):
                raise bad_request("Violation in %s.http_target: oidc_token and oauth_token are mutually exclusive."
                                  % where)
            oi = ht.get("oidcToken")
            if oi and not oi.get("serviceAccountEmail"):
                raise bad_request("Violation in %s.http_target.oidc_token.service_account_email: required field not "
                                  "present." % where)
            if oi:
                self.st.member_ok("serviceAccount:" + oi["serviceAccountEmail"],
                                  "%s.http_target.oidc_token.service_account_email" % where)
            if ht.get("body") and ht.get("httpMethod", "POST") not in ("POST", "PUT", "PATCH"):
                raise bad_request("Violation in %s.http_target.body: a body is allowed only with POST, PUT or PATCH."
                                  % where)
        pt = job.get("pubsubTarget")
        if pt:
            tn, _ = self._canon(pt.get("topicName", "projects/x/topics/x"))
            if tn not in self.st.table("pubsub", "topics"):
                raise not_found("Topic %s not found." % pt.get("topicName"))

    def _job_name(self, name):
        name, _ = self._canon(name)
        if name not in self.st.table("cloudscheduler", "jobs"):
            raise not_found("Job not found.")
        return name

    def job_create(self, ctx):
        parent, _ = self._canon(ctx.params["parent"])
        body = ctx.chk.body or {}
        name = body.get("name")
        if name:
            if not re.match(r"^projects/[^/]+/locations/[^/]+/jobs/[A-Za-z0-9_-]{1,500}$", name):
                raise bad_request("Job name must be like projects/PROJECT_ID/locations/LOCATION_ID/jobs/JOB_ID "
                                  "(JOB_ID: letters, digits, hyphens, underscores).", [("job.name", "invalid")])
            name, _ = self._canon(name)
            if not name.startswith(parent + "/jobs/"):
                raise bad_request("The job name %s is not under the parent %s." % (name, parent))
        else:
            name = "%s/jobs/%s" % (parent, new_uid().replace("-", "")[:20])
        table = self.st.table("cloudscheduler", "jobs")
        if name in table:
            raise already_exists("Job %s already exists." % name)
        self._check_job(body, "CreateJobRequest.job", True)
        job = copy.deepcopy(body)
        job["name"] = name
        job.setdefault("timeZone", "Etc/UTC")
        if job.get("httpTarget"):
            job["httpTarget"].setdefault("httpMethod", "POST")
        job.setdefault("attemptDeadline", "180s")
        job.setdefault("retryConfig", {"maxRetryDuration": "0s", "minBackoffDuration": "5s",
                                       "maxBackoffDuration": "3600s", "maxDoublings": 5})
        job.update({"state": "ENABLED", "userUpdateTime": self.st.ts(), "scheduleTime": self.st.ts()})
        table[name] = job
        return copy.deepcopy(job)

    def job_get(self, ctx):
        return copy.deepcopy(self.st.table("cloudscheduler", "jobs")[self._job_name(ctx.params["name"])])

    def job_patch(self, ctx):
        name = self._job_name(ctx.params["name"])
        job = self.st.table("cloudscheduler", "jobs")[name]
        new = copy.deepcopy(job)
        apply_mask(new, ctx.chk.body or {}, ctx.mask, ["description", "schedule", "timeZone", "httpTarget",
                                                       "pubsubTarget", "appEngineHttpTarget", "retryConfig",
                                                       "attemptDeadline"])
        self._check_job(new, "UpdateJobRequest.job", False)
        new["userUpdateTime"] = self.st.ts()
        self.st.table("cloudscheduler", "jobs")[name] = new
        return copy.deepcopy(new)

    def job_delete(self, ctx):
        del self.st.table("cloudscheduler", "jobs")[self._job_name(ctx.params["name"])]
        return {}

    def job_list(self, ctx):
        parent, _ = self._canon(ctx.params["parent"])
        items = [copy.deepcopy(j) for n, j in self.st.table("cloudscheduler", "jobs").items()
                 if n.startswith(parent + "/jobs/")]
        return listing(items, ctx.chk.query, "jobs", 500)

    def job_pause(self, ctx):
        job = self.st.table("cloudscheduler", "jobs")[self._job_name(ctx.params["name"])]
        job["state"] = "PAUSED"
        return copy.deepcopy(job)

    def job_resume(self, ctx):
        job = self.st.table("cloudscheduler", "jobs")[self._job_name(ctx.params["name"])]
        job["state"] = "ENABLED"
        return copy.deepcopy(job)

    # ---- Pub/Sub ---------------------------------------------------------------
    def _ps(self, name, kind, must_exist=True):
        name, proj = self._canon(name)
        rid = name.rsplit("/", 1)[1]
        if not TOPIC_ID.match(rid) or rid.lower().startswith("goog"):
            raise bad_request("Invalid resource name given (name=%s). Refer to "
                              "https://cloud.google.com/pubsub/docs/pubsub-basics#resource_names for more "
                              "information." % name)
        table = self.st.table("pubsub", kind)
        if must_exist and name not in table:
            raise not_found("Resource not found (resource=%s)." % rid)
        return name, table

    def topic_create(self, ctx):
        name, table = self._ps(ctx.params["name"], "topics", must_exist=False)
        if name in table:
            raise already_exists("Resource already exists in the project (resource=%s)." % name.rsplit("/", 1)[1])
        body = ctx.chk.body or {}
        topic = copy.deepcopy(body)
        topic["name"] = name
        topic["state"] = "ACTIVE"
        table[name] = topic
        return copy.deepcopy(topic)

    def topic_get(self, ctx):
        name, table = self._ps(ctx.params["topic"], "topics")
        return copy.deepcopy(table[name])

    def topic_delete(self, ctx):
        name, table = self._ps(ctx.params["topic"], "topics")
        del table[name]
        for s in self.st.table("pubsub", "subscriptions").values():
            if s.get("topic") == name:
                s["topic"] = "_deleted-topic_"
        self.st.drop_policy(name)
        return {}

    def topic_list(self, ctx):
        proj = self.st.project(ctx.params["project"].split("/")[1])
        items = [copy.deepcopy(t) for n, t in self.st.table("pubsub", "topics").items()
                 if n.startswith("projects/%s/" % proj["projectId"])]
        return listing(items, ctx.chk.query, "topics", 100)

    def topic_patch(self, ctx):
        name, table = self._ps(ctx.params["name"], "topics")
        body = ctx.chk.body or {}
        mask = [m.strip() for m in (body.get("updateMask") or "").split(",") if m.strip()]
        if not mask:
            raise bad_request("The update_mask in the UpdateTopicRequest must be set, and must be non-empty.")
        apply_mask(table[name], body.get("topic") or {}, mask, [])
        return copy.deepcopy(table[name])

    def _check_sub(self, sub, where):
        ack = sub.get("ackDeadlineSeconds")
        if ack is not None and ack != 0 and not 10 <= ack <= 600:
            raise bad_request("Invalid ack deadline given: it must be between 10 and 600 seconds (got %d)." % ack,
                              [("%s.ack_deadline_seconds" % where, "out of range")])
        pc = sub.get("pushConfig") or {}
        if pc:
            ep = pc.get("pushEndpoint", "")
            if ep and not re.match(r"^https?://", ep):
                raise bad_request("Invalid push endpoint given (endpoint=%s). Refer to "
                                  "https://cloud.google.com/pubsub/docs/create-subscription#push_subscription for "
                                  "more information." % ep)
            oi = pc.get("oidcToken")
            if oi:
                if not ep:
                    raise bad_request("An OIDC token needs a push endpoint.")
                if not oi.get("serviceAccountEmail"):
                    raise bad_request("Violation in %s.push_config.oidc_token.service_account_email: required for "
                                      "authenticated push." % where)
                self.st.member_ok("serviceAccount:" + oi["serviceAccountEmail"],
                                  "%s.push_config.oidc_token.service_account_email" % where)

    def sub_create(self, ctx):
        name, table = self._ps(ctx.params["name"], "subscriptions", must_exist=False)
        if name in table:
            raise already_exists("Resource already exists in the project (resource=%s)." % name.rsplit("/", 1)[1])
        body = ctx.chk.body or {}
        tname, _ = self._ps(body["topic"], "topics", must_exist=False)
        if tname not in self.st.table("pubsub", "topics"):
            raise not_found("Resource not found (resource=%s)." % tname.rsplit("/", 1)[1])
        self._check_sub(body, "subscription")
        sub = copy.deepcopy(body)
        sub.update({"name": name, "topic": tname, "state": "ACTIVE"})
        sub.setdefault("ackDeadlineSeconds", 10)
        sub.setdefault("messageRetentionDuration", "604800s")
        sub.setdefault("expirationPolicy", {"ttl": "2678400s"})
        if sub.get("pushConfig") and not sub["pushConfig"].get("attributes"):
            sub["pushConfig"]["attributes"] = {"x-goog-version": "v1"}
        table[name] = sub
        return copy.deepcopy(sub)

    def sub_get(self, ctx):
        name, table = self._ps(ctx.params["subscription"], "subscriptions")
        return copy.deepcopy(table[name])

    def sub_delete(self, ctx):
        name, table = self._ps(ctx.params["subscription"], "subscriptions")
        del table[name]
        self.st.drop_policy(name)
        return {}

    def sub_list(self, ctx):
        proj = self.st.project(ctx.params["project"].split("/")[1])
        items = [copy.deepcopy(t) for n, t in self.st.table("pubsub", "subscriptions").items()
                 if n.startswith("projects/%s/" % proj["projectId"])]
        return listing(items, ctx.chk.query, "subscriptions", 100)

    def sub_patch(self, ctx):
        name, table = self._ps(ctx.params["name"], "subscriptions")
        body = ctx.chk.body or {}
        mask = [m.strip() for m in (body.get("updateMask") or "").split(",") if m.strip()]
        if not mask:
            raise bad_request("The update_mask in the UpdateSubscriptionRequest must be set, and must be non-empty.")
        new = copy.deepcopy(table[name])
        apply_mask(new, body.get("subscription") or {}, mask, [])
        self._check_sub(new, "subscription")
        table[name] = new
        return copy.deepcopy(new)

    def sub_push(self, ctx):
        name, table = self._ps(ctx.params["subscription"], "subscriptions")
        pc = (ctx.chk.body or {}).get("pushConfig")
        if pc is None:
            raise bad_request("Violation in ModifyPushConfigRequest.push_config: required field not present.")
        self._check_sub({"pushConfig": pc}, "push")
        table[name]["pushConfig"] = copy.deepcopy(pc)
        return {}

    # ---- Secret Manager ------------------------------------------------------------
    def _secret_name(self, name):
        """Secret Manager names secrets by project number."""
        name, _ = self._canon(name, by_number=False)
        if name not in self.st.table("secretmanager", "secrets"):
            parts = name.split("/")
            raise not_found("Secret [projects/%s/secrets/%s] not found." % (self.st.project(parts[1])["number"],
                                                                            parts[3]))
        return name

    def _secret_view(self, s):
        v = copy.deepcopy({k: x for k, x in s.items() if not k.startswith("_")})
        p = v["name"].split("/")
        v["name"] = "projects/%s/secrets/%s" % (self.st.project(p[1])["number"], p[3])
        return v

    def secret_create(self, ctx):
        parent, proj = self._canon(ctx.params["parent"])
        sid = ctx.chk.query.get("secretId")
        if not sid or not re.match(r"^[A-Za-z0-9_-]{1,255}$", sid):
            raise bad_request("Violation in CreateSecretRequest.secret_id: it must be 1 to 255 letters, digits, "
                              "hyphens or underscores.", [("secret_id", "invalid")])
        name = "%s/secrets/%s" % (parent, sid)
        table = self.st.table("secretmanager", "secrets")
        if name in table:
            raise already_exists("Secret [projects/%s/secrets/%s] already exists." % (proj["number"], sid))
        body = ctx.chk.body or {}
        rep = body.get("replication") or {}
        if len([k for k in ("automatic", "userManaged") if k in rep]) != 1:
            raise bad_request("Violation in CreateSecretRequest.secret.replication: exactly one of automatic or "
                              "user_managed is required for a global secret.",
                              [("secret.replication", "required field not present")])
        if "userManaged" in rep and not rep["userManaged"].get("replicas"):
            raise bad_request("Violation in CreateSecretRequest.secret.replication.user_managed.replicas: "
                              "required field not present.")
        sec = copy.deepcopy({k: v for k, v in body.items() if k != "ttl"})
        sec.update({"name": name, "createTime": self.st.ts(), "etag": '"%s"' % new_uid()[:13]})
        table[name] = sec
        self.st.secret_versions[name] = []
        return self._secret_view(sec)

    def secret_get(self, ctx):
        return self._secret_view(self.st.table("secretmanager", "secrets")[self._secret_name(ctx.params["name"])])

    def secret_delete(self, ctx):
        name = self._secret_name(ctx.params["name"])
        sec = self.st.table("secretmanager", "secrets")[name]
        etag = ctx.chk.query.get("etag")
        if etag and etag != sec["etag"]:
            raise ApiError("ABORTED", "The etag provided in the request does not match the etag of the secret.")
        del self.st.table("secretmanager", "secrets")[name]
        self.st.secret_versions.pop(name, None)
        self.st.drop_policy(name)
        return {}

    def secret_list(self, ctx):
        parent, _ = self._canon(ctx.params["parent"])
        items = [self._secret_view(s) for n, s in self.st.table("secretmanager", "secrets").items()
                 if n.startswith(parent + "/secrets/")]
        out = listing(items, ctx.chk.query, "secrets", 25000)
        out["totalSize"] = len(items)
        return out

    def secret_patch(self, ctx):
        name = self._secret_name(ctx.params["name"])
        sec = self.st.table("secretmanager", "secrets")[name]
        body = ctx.chk.body or {}
        if body.get("etag") and body["etag"] != sec["etag"]:
            raise ApiError("ABORTED", "The etag provided in the request does not match the etag of the secret.")
        if not ctx.mask:
            raise bad_request("Violation in UpdateSecretRequest.update_mask: required field not present.")
        for p in ctx.mask:
            if p.split(".")[0] == "replication":
                raise bad_request("replication is immutable: it cannot be updated.")
        apply_mask(sec, body, ctx.mask, [])
        sec["etag"] = '"%s"' % new_uid()[:13]
        return self._secret_view(sec)

    def _versions(self, ctx, param="parent"):
        return self._secret_name(ctx.params[param])

    def add_version(self, ctx):
        name = self._secret_name(ctx.params["parent"])
        payload = (ctx.chk.body or {}).get("payload") or {}
        data = payload.get("data", "")
        raw = base64.b64decode(data.replace("-", "+").replace("_", "/") + "=" * (-len(data) % 4))
        if len(raw) > 65536:
            raise bad_request("Secret payload data must be no larger than 64KiB (got %d bytes)." % len(raw))
        if payload.get("dataCrc32c") is not None and int(payload["dataCrc32c"]) != crc32c(raw):
            raise bad_request("Checksum mismatch: data_crc32c %s does not match the payload's CRC32C %d."
                              % (payload["dataCrc32c"], crc32c(raw)))
        vers = self.st.secret_versions.setdefault(name, [])
        v = {"name": "%s/versions/%d" % (name, len(vers) + 1), "createTime": self.st.ts(), "state": "ENABLED",
             "etag": '"%s"' % new_uid()[:13], "_data": raw,
             "clientSpecifiedPayloadChecksum": payload.get("dataCrc32c") is not None}
        vers.append(v)
        return self._version_view(v)

    def _version_view(self, v):
        out = {k: x for k, x in v.items() if not k.startswith("_")}
        p = out["name"].split("/")
        out["name"] = "projects/%s/secrets/%s/versions/%s" % (self.st.project(p[1])["number"], p[3], p[5])
        return out

    def _version(self, ctx):
        full = ctx.params["name"]
        secret = self._secret_name(full.rsplit("/versions/", 1)[0])
        vid = full.rsplit("/versions/", 1)[1]
        vers = self.st.secret_versions.get(secret, [])
        parts = secret.split("/")
        shown = "projects/%s/secrets/%s/versions/%s" % (self.st.project(parts[1])["number"], parts[3], vid)
        if vid == "latest":  # the most recently created version, whatever its state
            if not vers:
                raise not_found("Secret [%s] not found or has no versions." % shown.rsplit("/versions/", 1)[0])
            return secret, vers[-1]
        if not vid.isdigit() or not 1 <= int(vid) <= len(vers):
            raise not_found("Secret Version [%s] not found." % shown)
        return secret, vers[int(vid) - 1]

    def version_access(self, ctx):
        secret, v = self._version(ctx)
        c = ctx.caller
        if self.st.admins is not None and c["principal"] not in self.st.admins and not self.st.holds(
                secret, {"roles/secretmanager.secretAccessor", "roles/secretmanager.admin", "roles/owner"}, c):
            raise ApiError("PERMISSION_DENIED", "Permission 'secretmanager.versions.access' denied for resource "
                           "'%s' (or it may not exist)." % self._version_view(v)["name"])
        if v["state"] != "ENABLED":
            raise ApiError("FAILED_PRECONDITION", "Secret Version [%s] is in %s state."
                           % (self._version_view(v)["name"], v["state"]))
        return {"name": self._version_view(v)["name"],
                "payload": {"data": base64.b64encode(v["_data"]).decode(), "dataCrc32c": str(crc32c(v["_data"]))}}

    def version_get(self, ctx):
        return self._version_view(self._version(ctx)[1])

    def version_list(self, ctx):
        secret = self._secret_name(ctx.params["parent"])
        items = [self._version_view(v) for v in reversed(self.st.secret_versions.get(secret, []))]
        out = listing(items, ctx.chk.query, "versions", 25000)
        out["totalSize"] = len(items)
        return out

    def _set_state(self, ctx, state):
        _, v = self._version(ctx)
        if v["state"] == "DESTROYED":
            raise ApiError("FAILED_PRECONDITION", "Secret Version [%s] is destroyed." % self._version_view(v)["name"])
        v["state"] = state
        if state == "DESTROYED":
            v["destroyTime"] = self.st.ts()
            v["_data"] = b""
        return self._version_view(v)

    def version_disable(self, ctx):
        return self._set_state(ctx, "DISABLED")

    def version_enable(self, ctx):
        return self._set_state(ctx, "ENABLED")

    def version_destroy(self, ctx):
        return self._set_state(ctx, "DESTROYED")

    # ---- Eventarc ------------------------------------------------------------------
    def _trigger_name(self, name):
        name, _ = self._canon(name)
        if name not in self.st.table("eventarc", "triggers"):
            raise not_found("Resource '%s' was not found" % name)
        return name

    def _check_trigger(self, tr, where):
        filters = tr.get("eventFilters") or []
        if not any(f.get("attribute") == "type" for f in filters):
            raise bad_request("Violation in %s.event_filters: the attribute \"type\" must be filtered." % where,
                              [("%s.event_filters" % where, "type filter missing")])
        dest = tr.get("destination") or {}
        kinds = [k for k in ("cloudRun", "cloudFunction", "gke", "workflow", "httpEndpoint") if dest.get(k)]
        if len(kinds) != 1:
            raise bad_request("Violation in %s.destination: exactly one destination must be set." % where)
        if tr.get("serviceAccount"):
            self.st.member_ok("serviceAccount:" + tr["serviceAccount"], "%s.service_account" % where)

    def _eventarc_lro(self, name, verb, done, ctx, fail=None):
        n = split_name(name)
        meta = {"@type": EVENTARC_META, "createTime": self.st.ts(), "target": name, "verb": verb,
                "requestedCancellation": False, "apiVersion": "v1"}
        op = self.st.new_operation("eventarc", "projects/%s/locations/%s" % (n["projects"], n["locations"]),
                                   meta, done, TRIGGER_TYPE if verb != "delete" else None,
                                   fail=fail or ctx.fail_for("eventarc", verb))
        return self.st.op_view(op)

    def _run_problem(self, tr, proj):
        cr = (tr.get("destination") or {}).get("cloudRun")
        if not cr:
            return None
        svc = "projects/%s/locations/%s/services/%s" % (proj["projectId"], cr.get("region"), cr.get("service"))
        if svc not in self.st.table("run", "services"):
            return ApiError("NOT_FOUND", "Cloud Run service %s not found in region %s of project %s."
                            % (cr.get("service"), cr.get("region"), proj["projectId"]))
        return None

    def trigger_create(self, ctx):
        parent, proj = self._canon(ctx.params["parent"])
        tid = ctx.chk.query.get("triggerId")
        if not tid or not re.match(r"^[a-z]([a-z0-9-]{0,62}[a-z0-9])?$", tid):
            raise bad_request("Violation in CreateTriggerRequest.trigger_id: required, lowercase letters, digits "
                              "and hyphens, at most 64 characters.", [("trigger_id", "invalid")])
        body = ctx.chk.body or {}
        name = "%s/triggers/%s" % (parent, tid)
        if body.get("name") and self._canon(body["name"])[0] != name:
            raise bad_request("Violation in CreateTriggerRequest.trigger.name: %s does not match parent and "
                              "trigger_id (%s)." % (body["name"], name))
        table = self.st.table("eventarc", "triggers")
        if name in table:
            raise already_exists("Resource '%s' already exists" % name)
        self._check_trigger(body, "CreateTriggerRequest.trigger")
        tr = copy.deepcopy(body)
        tr.update({"name": name, "uid": new_uid(), "createTime": self.st.ts(), "updateTime": self.st.ts(),
                   "etag": new_uid()[:20]})
        n = split_name(name)
        tr.setdefault("transport", {}).setdefault("pubsub", {})
        ps = tr["transport"]["pubsub"]
        ps.setdefault("topic", "projects/%s/topics/eventarc-%s-%s-%s" % (n["projects"], n["locations"], tid,
                                                                        new_uid()[:3]))
        ps["subscription"] = "projects/%s/subscriptions/eventarc-%s-%s-sub-%s" % (n["projects"], n["locations"],
                                                                                 tid, new_uid()[:3])
        if ctx.chk.query.get("validateOnly"):
            return {"name": "%s/operations/%s" % (parent, new_uid()), "done": True,
                    "response": dict(tr, **{"@type": TRIGGER_TYPE})}
        table[name] = tr
        return self._eventarc_lro(name, "create", lambda: copy.deepcopy(table.get(name)), ctx,
                                  fail=self._run_problem(tr, proj))

    def trigger_get(self, ctx):
        return copy.deepcopy(self.st.table("eventarc", "triggers")[self._trigger_name(ctx.params["name"])])

    def trigger_list(self, ctx):
        parent, _ = self._canon(ctx.params["parent"])
        items = [copy.deepcopy(t) for n, t in self.st.table("eventarc", "triggers").items()
                 if n.startswith(parent + "/triggers/")]
        return listing(items, ctx.chk.query, "triggers")

    def trigger_patch(self, ctx):
        name, proj = self._canon(ctx.params["name"])
        table = self.st.table("eventarc", "triggers")
        if name not in table:
            if ctx.chk.query.get("allowMissing"):
                ctx.params = {"parent": name.rsplit("/triggers/", 1)[0]}
                ctx.chk.query["triggerId"] = name.rsplit("/", 1)[1]
                return self.trigger_create(ctx)
            raise not_found("Resource '%s' was not found" % name)
        new = copy.deepcopy(table[name])
        apply_mask(new, ctx.chk.body or {}, ctx.mask, ["eventFilters", "destination", "serviceAccount", "labels",
                                                       "channel", "eventDataContentType", "retryPolicy"])
        self._check_trigger(new, "UpdateTriggerRequest.trigger")
        new["updateTime"] = self.st.ts()
        new["etag"] = new_uid()[:20]
        if ctx.chk.query.get("validateOnly"):
            return {"name": "%s/operations/%s" % (name.rsplit("/triggers/", 1)[0], new_uid()), "done": True,
                    "response": dict(new, **{"@type": TRIGGER_TYPE})}
        table[name] = new
        return self._eventarc_lro(name, "update", lambda: copy.deepcopy(table.get(name)), ctx,
                                  fail=self._run_problem(new, proj))

    def trigger_delete(self, ctx):
        name, _ = self._canon(ctx.params["name"])
        table = self.st.table("eventarc", "triggers")
        if name not in table:
            if ctx.chk.query.get("allowMissing"):
                return {"name": "%s/operations/%s" % (name.rsplit("/triggers/", 1)[0], new_uid()), "done": True,
                        "response": {"@type": "type.googleapis.com/google.protobuf.Empty"}}
            raise not_found("Resource '%s' was not found" % name)
        etag = ctx.chk.query.get("etag")
        if etag and etag != table[name]["etag"]:
            raise ApiError("ABORTED", "The etag %s does not match the trigger's current etag." % etag)
        if ctx.chk.query.get("validateOnly"):
            return {"name": "%s/operations/%s" % (name.rsplit("/triggers/", 1)[0], new_uid()), "done": True,
                    "response": {"@type": "type.googleapis.com/google.protobuf.Empty"}}

        def done():
            table.pop(name, None)
            self.st.drop_policy(name)
            return None
        return self._eventarc_lro(name, "delete", done, ctx)
