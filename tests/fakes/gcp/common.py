"""common.py - what the service modules share: name parsing, paging,
field masks, and the three IAM policy methods."""
import base64
import copy
import uuid

from .errors import bad_request, not_found

# Roles each kind of resource accepts in setIamPolicy (Google refuses others
# with "Role X is not supported for this resource.").
BASIC = {"roles/owner", "roles/editor", "roles/viewer"}
ROLES = {
    "run": BASIC | {"roles/run.invoker", "roles/run.servicesInvoker", "roles/run.admin", "roles/run.developer",
                    "roles/run.viewer", "roles/run.sourceDeveloper"},
    "cloudfunctions": BASIC | {"roles/cloudfunctions.invoker", "roles/cloudfunctions.admin",
                               "roles/cloudfunctions.developer", "roles/cloudfunctions.viewer",
                               "roles/run.invoker"},
    "secretmanager": BASIC | {"roles/secretmanager.secretAccessor", "roles/secretmanager.admin",
                              "roles/secretmanager.viewer", "roles/secretmanager.secretVersionManager",
                              "roles/secretmanager.secretVersionAdder"},
    "iam": BASIC | {"roles/iam.serviceAccountTokenCreator", "roles/iam.workloadIdentityUser",
                    "roles/iam.serviceAccountUser", "roles/iam.serviceAccountAdmin",
                    "roles/iam.serviceAccountOpenIdTokenCreator", "roles/iam.serviceAccountKeyAdmin"},
    "pubsub": BASIC | {"roles/pubsub.publisher", "roles/pubsub.subscriber", "roles/pubsub.viewer",
                       "roles/pubsub.editor", "roles/pubsub.admin"},
    "eventarc": BASIC | {"roles/eventarc.admin", "roles/eventarc.viewer", "roles/eventarc.developer"},
}


def split_name(name):
    """projects/P/locations/L/services/S -> {"projects": P, "locations": L, "services": S}"""
    parts = name.split("/")
    return {parts[i]: parts[i + 1] for i in range(0, len(parts) - 1, 2)}


def page(items, query, key="name", default_size=50, max_size=1000):
    """(page of items, next page token) with Google's opaque tokens."""
    items = sorted(items, key=lambda x: x.get(key, ""))
    size = query.get("pageSize") or default_size
    if size < 0:
        raise bad_request("Invalid page_size %d: must not be negative" % size, [("page_size", "negative")])
    size = min(size or default_size, max_size)
    start = 0
    tok = query.get("pageToken")
    if tok:
        try:
            start = int(base64.urlsafe_b64decode(tok.encode() + b"==").decode().split(":", 1)[1])
        except (ValueError, IndexError, UnicodeDecodeError):
            raise bad_request("Invalid page_token %r" % tok, [("page_token", "invalid")])
    chunk = items[start:start + size]
    nxt = None
    if start + size < len(items):
        nxt = base64.urlsafe_b64encode(("fake:%d" % (start + size)).encode()).decode().rstrip("=")
    return chunk, nxt


def listing(items, query, key, default_size=50):
    """A list answer: {key: page} plus nextPageToken, as Google's lists."""
    chunk, nxt = page(items, query, default_size=default_size)
    out = {key: chunk} if chunk else {}
    if nxt:
        out["nextPageToken"] = nxt
    return out


def canon(state, name, by_number=False):
    """projects/<id or number>/[locations/L/]... with the project id (or
    number), the location checked -> (name, project record)."""
    parts = name.split("/")
    proj = state.project(parts[1])
    parts[1] = proj["number"] if by_number else proj["projectId"]
    if len(parts) > 3 and parts[2] == "locations":
        state.location(parts[3])
    return "/".join(parts), proj


class OperationMethods:
    """operations.get / wait / list / delete of one API; canon(name) turns
    the path's name into the operation's key."""

    def __init__(self, state, api, canon_fn):
        self.st = state
        self.api = api
        self.canon = canon_fn

    def _name(self, ctx):
        name = self.canon(ctx.params["name"])
        op = self.st.operations.get(name)
        if op is None or op["api"] != self.api:
            raise not_found("Operation %s was not found." % name)
        return name

    def get(self, ctx):
        return self.st.op_view(self.st.poll_operation(self._name(ctx)))

    def wait(self, ctx):
        name = self._name(ctx)
        op = self.st.operations[name]
        while not op["done"]:
            self.st.poll_operation(name)
        return self.st.op_view(op)

    def list(self, ctx):
        parent = self.canon(ctx.params["name"])
        items = [self.st.op_view(o) for n, o in self.st.operations.items()
                 if n.startswith(parent + "/operations/") and o["api"] == self.api]
        return listing(items, ctx.chk.query, "operations")

    def delete(self, ctx):
        self.st.operations.pop(self._name(ctx), None)
        return {}


def get_path(doc, path):
    cur = doc
    for p in path.split("."):
        if not isinstance(cur, dict) or p not in cur:
            return None
        cur = cur[p]
    return cur


def set_path(doc, path, value):
    parts = path.split(".")
    cur = doc
    for p in parts[:-1]:
        if not isinstance(cur.get(p), dict):
            cur[p] = {}
        cur = cur[p]
    if value is None:
        cur.pop(parts[-1], None)
    else:
        cur[parts[-1]] = copy.deepcopy(value)


def apply_mask(target, source, mask, mutable):
    """Apply the masked fields of source onto target (absent in source:
    cleared). Without a mask every mutable top-level field is replaced."""
    if not mask or mask == ["*"]:
        for k in mutable:
            if k in source:
                target[k] = copy.deepcopy(source[k])
            else:
                target.pop(k, None)
        return
    for p in mask:
        set_path(target, p, get_path(source, p))


def policy_view(pol):
    v = {"version": pol.get("version", 1), "etag": pol["etag"]}
    if pol.get("bindings"):
        v["bindings"] = copy.deepcopy(pol["bindings"])
    if pol.get("auditConfigs"):
        v["auditConfigs"] = pol["auditConfigs"]
    return v


class PolicyMethods:
    """getIamPolicy / setIamPolicy / testIamPermissions for one kind of
    resource; exists(name) -> the resource name to key the policy by (or
    raises NOT_FOUND)."""

    def __init__(self, state, api, exists, permissions=()):
        self.st = state
        self.api = api
        self.exists = exists
        self.permissions = set(permissions)

    def get(self, ctx):
        name = self.exists(ctx.params["resource"])
        req = (ctx.chk.query.get("options.requestedPolicyVersion") if ctx.chk.query else None) or \
              ((ctx.chk.body or {}).get("options") or {}).get("requestedPolicyVersion")
        if req not in (None, 0, 1, 3):
            raise bad_request("Invalid requested policy version %s: valid values are 0, 1 and 3." % req)
        return policy_view(self.st.policy(name))

    def set(self, ctx):
        name = self.exists(ctx.params["resource"])
        body = ctx.chk.body or {}
        pol = body.get("policy")
        if pol is None:
            raise bad_request("Violation in %s.policy: required field not present." % ctx.m.request_message,
                              [("policy", "required field not present")])
        allowed = ROLES.get(self.api)
        for i, b in enumerate(pol.get("bindings") or []):
            if allowed is not None and b.get("role") not in allowed and (b.get("role") or "").startswith("roles/"):
                raise bad_request("Role %s is not supported for this resource." % b.get("role"),
                                  [("policy.bindings[%d].role" % i, "not supported for this resource")])
        mask = body.get("updateMask")
        if mask:
            cur = self.st.policy(name)
            merged = {"version": cur.get("version", 1), "etag": pol.get("etag"), "bindings": cur["bindings"]}
            for p in mask.split(","):
                p = p.strip()
                if p not in ("bindings", "etag", "auditConfigs", "version"):
                    raise bad_request("Invalid update_mask path %s for a Policy" % p)
                if p in pol:
                    merged[p] = pol[p]
            pol = merged
        return policy_view(self.st.set_policy(name, pol, self.st.member_ok))

    def test(self, ctx):
        name = self.exists(ctx.params["resource"])
        perms = (ctx.chk.body or {}).get("permissions") or []
        pol = self.st.policy(name)
        granted = []
        roles_of = {b["role"] for b in pol["bindings"]
                    if any(self.st.member_matches(m, ctx.caller) for m in b["members"])}
        for p in perms:
            if "roles/owner" in roles_of or any(r.split("/")[-1].split(".")[0] == p.split(".")[0] for r in roles_of):
                granted.append(p)
        # the caller authenticated to the admin API: with no admins list it may do anything
        if self.st.admins is None or ctx.caller["principal"] in self.st.admins:
            granted = list(perms)
        return {"permissions": granted} if granted else {}


def new_uid():
    return str(uuid.uuid4())

