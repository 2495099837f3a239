"""state.py - everything the fake remembers, and the helpers every service
shares: the clock, projects, IAM policies with etags, long-running
operations, principals and their matching against policy members."""
import base64
import copy
import datetime
import os
import re
import secrets
import threading
import time
import uuid

from .errors import ApiError, bad_request, not_found

DEFAULT_PROJECT = ("fb-test-project", "424242424242")

# Cloud Run / Functions / Scheduler / Eventarc regions the fake knows.
REGIONS = [
    "africa-south1", "asia-east1", "asia-east2", "asia-northeast1", "asia-northeast2", "asia-northeast3",
    "asia-south1", "asia-south2", "asia-southeast1", "asia-southeast2", "australia-southeast1",
    "australia-southeast2", "europe-central2", "europe-north1", "europe-southwest1", "europe-west1",
    "europe-west2", "europe-west3", "europe-west4", "europe-west6", "europe-west8", "europe-west9",
    "europe-west10", "europe-west12", "me-central1", "me-central2", "me-west1", "northamerica-northeast1",
    "northamerica-northeast2", "southamerica-east1", "southamerica-west1", "us-central1", "us-east1",
    "us-east4", "us-east5", "us-south1", "us-west1", "us-west2", "us-west3", "us-west4",
]

DEFAULT_CONFIG = {
    "strict": True,             # refuse what Google accepts but the documents type otherwise
    "check_unknown": True,      # refuse unknown JSON names
    "check_output_only": True,  # refuse output-only fields (Google ignores them)
    "check_signature": True,    # verify JWT / SigV4 signatures
    "op_polls": 2,              # operations.get calls until done (0: done at once)
    "op_polls_by_api": {},      # per API override, e.g. {"iam": 0}
    "token_lifetime": 3600,     # expires_in of access tokens (seconds)
    "max_skew": 300,            # allowed clock skew for JWT iat
    "clock_offset": 0,          # seconds added to the wall clock
    "latency_ms": 0,            # added to every request
    "page_size": 50,            # default list page size
    "log_limit": 200000,        # request log entries kept (oldest dropped)
    "certs_max_age": 21600,     # Cache-Control max-age of Google's certificates (Google's: about 6 h)
}


def rfc3339(t):
    d = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%06dZ" % d.microsecond


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        self.config = copy.deepcopy(DEFAULT_CONFIG)
        for k, v in (getattr(self.args, "config", None) or {}).items():
            self.config[k] = v
        self.projects = {}
        for spec in (getattr(self.args, "project", None) or ["%s:%s" % DEFAULT_PROJECT]):
            pid, _, num = spec.partition(":")
            self.projects[pid] = {"projectId": pid, "number": num or str(400000000000 + len(self.projects))}
        self.tokens = {}            # access token -> info
        self.service_accounts = {}  # email -> SA record
        self.authorized_users = {}  # client_id -> {secret, refresh_tokens: {rt: email}}
        self.pools = {}             # full name (projects/NUMBER/...) -> pool
        self.providers = {}         # full name -> provider
        self.resources = {}         # (api, kind) -> {name: resource}
        self.policies = {}          # resource name -> policy
        self.operations = {}        # name -> op record
        self.uploads = {}           # object -> upload record
        self.secret_versions = {}   # secret name -> [versions]
        self.aws_identities = {}    # access key -> {secret, arn, account, session_token}
        self.admins = None          # None: any authenticated principal may call admin APIs
        self.metadata = {"email": None, "scopes": ["https://www.googleapis.com/auth/cloud-platform"]}
        self.faults = []
        self.op_failures = []
        self.log = []
        self.seq = 0
        self.etag_seq = 0
        self.deleted = {}           # (api, kind) -> {name: resource} (for showDeleted/ops)

    # ---- clock ----------------------------------------------------------------
    def now(self):
        return time.time() + self.config.get("clock_offset", 0)

    def ts(self):
        return rfc3339(self.now())

    # ---- projects -------------------------------------------------------------
    def project(self, ref, permission=None):
        """The project record for a project id or number; a missing project
        answers as Google does for a project the caller cannot see."""
        for p in self.projects.values():
            if ref in (p["projectId"], p["number"]):
                return p
        raise ApiError("PERMISSION_DENIED",
                       "Permission denied on resource project %s." % ref,
                       [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "CONSUMER_INVALID",
                         "domain": "googleapis.com", "metadata": {"consumer": "projects/%s" % ref}}])

    def location(self, loc):
        if loc not in REGIONS:
            raise not_found("Location %s is not found or access is unauthorized." % loc)
        return loc

    # ---- etags ----------------------------------------------------------------
    def new_etag(self):
        """An IAM-style etag: base64 of 8 bytes (Google's start with 0x07)."""
        self.etag_seq += 1
        return base64.b64encode(b"\x07" + self.etag_seq.to_bytes(7, "big")).decode()

    def resource_etag(self):
        self.etag_seq += 1
        return '"%s"' % base64.urlsafe_b64encode(os.urandom(6) + self.etag_seq.to_bytes(4, "big")).decode().rstrip("=")

    # ---- resources ------------------------------------------------------------
    def table(self, api, kind):
        return self.resources.setdefault((api, kind), {})

    # ---- IAM policies ---------------------------------------------------------
    def policy(self, name):
        p = self.policies.get(name)
        if p is None:
            p = {"version": 1, "etag": "ACAB", "bindings": []}
            self.policies[name] = p
        return p

    def set_policy(self, name, policy, member_check):
        """setIamPolicy with Google's etag read-modify-write: a policy whose
        etag is not the current one is refused with 409 ABORTED."""
        cur = self.policy(name)
        etag = policy.get("etag")
        if etag:
            try:
                base64.b64decode(etag, validate=True)
            except ValueError:
                raise bad_request("Invalid value at 'policy.etag' (TYPE_BYTES), Base64 decoding failed for \"%s\"" % etag,
                                  [("policy.etag", "not base64")])
            if etag != cur["etag"]:
                raise ApiError("ABORTED", "There were concurrent policy changes. Please retry the whole "
                               "read-modify-write with exponential backoff. The request's ETag '%s' did not "
                               "match the current policy's ETag '%s'." % (etag, cur["etag"]))
        bindings = []
        for i, b in enumerate(policy.get("bindings") or []):
            role = b.get("role") or ""
            if not re.match(r"^(roles/[A-Za-z0-9_.]+|projects/[^/]+/roles/[A-Za-z0-9_.]+|organizations/[^/]+/roles/[A-Za-z0-9_.]+)$", role):
                raise bad_request("Role (%s) does not exist in the resource's hierarchy." % role,
                                  [("policy.bindings[%d].role" % i, "invalid role")])
            members = b.get("members") or []
            if not members:
                continue  # Google drops bindings without members
            for mem in members:
                member_check(mem, "policy.bindings[%d].members" % i)
            nb = {"role": role, "members": sorted(set(members))}
            if b.get("condition"):
                nb["condition"] = b["condition"]
            bindings.append(nb)
        version = policy.get("version") or 1
        if any("condition" in b for b in bindings) and version != 3:
            raise bad_request("Conditional role bindings require policy version 3.")
        new = {"version": version, "etag": self.new_etag(), "bindings": bindings}
        if policy.get("auditConfigs"):
            new["auditConfigs"] = policy["auditConfigs"]
        self.policies[name] = new
        return new

    def drop_policy(self, name):
        self.policies.pop(name, None)

    # ---- principals -----------------------------------------------------------
    def member_ok(self, member, where):
        """Check a policy member as Google does (types, existing service accounts)."""
        if member in ("allUsers", "allAuthenticatedUsers"):
            return
        kind, _, rest = member.partition(":")
        if member.startswith("principal://") or member.startswith("principalSet://"):
            if not re.match(r"^principal(Set)?://iam\.googleapis\.com/(projects/[0-9]+/locations/global/workloadIdentityPools/[^/]+|locations/global/workforcePools/[^/]+)/", member):
                raise bad_request("Invalid principal identifier %s." % member, [(where, "invalid member")])
            return
        if kind in ("user", "group", "domain") and rest:
            return
        if kind == "serviceAccount" and rest:
            m = re.match(r"^[^@]+@([a-z][a-z0-9-]{4,28}[a-z0-9])\.iam\.gserviceaccount\.com$", rest)
            if m and m.group(1) in self.projects and rest not in self.service_accounts:
                raise bad_request("Service account %s does not exist." % rest, [(where, "unknown service account")])
            return
        if kind == "deleted":
            return
        raise bad_request("Invalid member (%s): members must be of the form user:, group:, serviceAccount:, "
                          "domain:, principal://, principalSet://, allUsers or allAuthenticatedUsers" % member,
                          [(where, "invalid member")])

    @staticmethod
    def member_matches(member, tok):
        """Whether policy member names the caller of token info tok (None:
        an unauthenticated caller)."""
        if member == "allUsers":
            return True
        if tok is None:
            return False
        if member == "allAuthenticatedUsers":
            return True
        if member == tok["principal"]:
            return True
        fed = tok.get("federated")
        if fed and member.startswith("principalSet://iam.googleapis.com/" + fed["pool"] + "/"):
            rest = member[len("principalSet://iam.googleapis.com/" + fed["pool"] + "/"):]
            if rest == "*":
                return True
            if rest.startswith("attribute."):
                k, _, v = rest[len("attribute."):].partition("/")
                return fed["attributes"].get("attribute." + k) == v
            if rest.startswith("group/"):
                return rest[len("group/"):] in (fed["attributes"].get("google.groups") or [])
        return False

    def holds(self, resource, roles, tok):
        pol = self.policies.get(resource)
        if not pol:
            return False
        for b in pol["bindings"]:
            if b["role"] in roles and any(self.member_matches(m, tok) for m in b["members"]):
                return True
        return False

    # ---- long-running operations ----------------------------------------------
    def new_operation(self, api, parent, metadata, on_done, response_type=None, polls=None, fail=None,
                      name_prefix=None):
        """An operation that is done after `polls` operations.get calls (the
        configured count by default); on_done() -> the response, run when it
        completes; `fail` (an ApiError) makes it finish with that error."""
        if polls is None:
            polls = self.config["op_polls_by_api"].get(api, self.config["op_polls"])
        name = "%s/operations/%s" % (name_prefix or parent, uuid.uuid4())
        op = {"name": name, "api": api, "metadata": metadata, "done": False, "polls_left": polls,
              "on_done": on_done, "fail": fail, "response_type": response_type, "response": None,
              "error": None, "gets": 0, "created": self.now()}
        self.operations[name] = op
        if polls <= 0:
            self.finish_operation(op)
        return op

    def finish_operation(self, op):
        if op["done"]:
            return
        op["done"] = True
        if op["fail"] is not None:
            op["error"] = op["fail"].rpc_status()
            cb = op.get("on_fail")
            if cb:
                cb(op["fail"])
            return
        resp = op["on_done"]() if op["on_done"] else None
        if resp is not None and op["response_type"]:
            resp = dict(resp)
            resp["@type"] = op["response_type"]
        op["response"] = resp
        meta = op.get("metadata")
        if isinstance(meta, dict) and "endTime" in meta:
            meta["endTime"] = self.ts()

    def poll_operation(self, name):
        op = self.operations.get(name)
        if op is None:
            raise not_found("Operation %s was not found." % name)
        op["gets"] += 1
        if not op["done"]:
            op["polls_left"] -= 1
            if op["polls_left"] <= 0:
                self.finish_operation(op)
        return op

    @staticmethod
    def op_view(op):
        v = {"name": op["name"], "done": op["done"]}
        if op.get("metadata") is not None:
            v["metadata"] = op["metadata"]
        if op["done"]:
            if op["error"] is not None:
                v["error"] = op["error"]
            elif op["response"] is not None:
                v["response"] = op["response"]
            else:
                v["response"] = {"@type": "type.googleapis.com/google.protobuf.Empty"}
        return v

    # ---- tokens ---------------------------------------------------------------
    def issue_token(self, principal, scopes, lifetime=None, email=None, kind="access", federated=None, source=None):
        tok = "ya29.fake-" + secrets.token_urlsafe(32)
        life = self.config["token_lifetime"] if lifetime is None else lifetime
        self.tokens[tok] = {"principal": principal, "email": email, "scopes": list(scopes or []),
                            "expiry": self.now() + life, "issued": self.now(), "kind": kind,
                            "federated": federated, "source": source}
        return tok, life

    def dump(self):
        def clean(o):
            if isinstance(o, dict):
                return {k: clean(v) for k, v in o.items() if not callable(v) and k not in ("on_done", "on_fail", "fail")}
            if isinstance(o, list):
                return [clean(x) for x in o]
            if isinstance(o, bytes):
                return {"bytes": len(o)}
            return o
        return clean({
            "config": self.config, "projects": self.projects,
            "tokens": {k[:16] + "...": v for k, v in self.tokens.items()},
            "service_accounts": self.service_accounts, "authorized_users": list(self.authorized_users),
            "pools": self.pools, "providers": self.providers,
            "resources": {"%s/%s" % k: v for k, v in self.resources.items()},
            "policies": self.policies, "operations": self.operations, "uploads": self.uploads,
            "secret_versions": self.secret_versions, "aws_identities": list(self.aws_identities),
            "metadata": self.metadata, "faults": self.faults, "admins": self.admins,
        })
