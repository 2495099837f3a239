"""discovery.py - requests checked against Google's API discovery documents.

The documents (tests/reference/gcp-discovery, see its SOURCE.md) are read
as Google writes them, not as JSON Schema:
  - a method is found by its httpMethod and flatPath ({x} is one path
    segment); the {+name} parameters of its path are then rebuilt and
    checked against their "pattern";
  - query parameters must be the method's or the API's standard ones, of
    the right type (boolean, int32, enum, google-fieldmask paths that exist);
  - a body is parsed the way Google's proto3 JSON front end parses it:
    unknown names, wrong JSON types and bad enum values are refused with
    Google's wording ("Invalid JSON payload received. Unknown name ...",
    "Invalid value at 'service.template.timeout' (...)"), field paths in
    proto (snake_case) form with [i] for list items;
  - then fields whose description starts "Required." must be present and
    output-only fields ("readOnly": true, or "Output only." in prose) are
    refused (strict) or dropped and reported (lenient).
Some things Google accepts that the documents type otherwise (an int64 sent
as a JSON number, an int32 as a string, an enum as its number, a field
under its proto name, an output-only field) are refused while the fake is
strict (the default) and accepted and reported in `notes` when it is not.
"""
import base64
import json
import os
import re

from .errors import bad_request

INT32 = (-2**31, 2**31 - 1)
UINT32 = (0, 2**32 - 1)
INT64 = (-2**63, 2**63 - 1)
UINT64 = (0, 2**64 - 1)
DURATION_RE = re.compile(r"^-?[0-9]+(\.[0-9]{1,9})?s$")
DATETIME_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$")
INT_RE = re.compile(r"^-?[0-9]+$")
FIELD_PATH_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")

# The documents the fake reads: API name -> file.
DOCUMENTS = {
    "run": "run.v2.json",
    "cloudfunctions": "cloudfunctions.v2.json",
    "iam": "iam.v1.json",
    "iamcredentials": "iamcredentials.v1.json",
    "sts": "sts.v1.json",
    "secretmanager": "secretmanager.v1.json",
    "cloudscheduler": "cloudscheduler.v1.json",
    "pubsub": "pubsub.v1.json",
    "eventarc": "eventarc.v1.json",
    "cloudresourcemanager": "cloudresourcemanager.v3.json",
}

# Which field of the proto request message the HTTP body is. Discovery does
# not say; Google's error paths start with it ('service.template...').
# Default: the singular of the collection (services -> service). "" means
# the body is the whole request message (body: "*").
BODY_FIELD = {
    "pubsub.projects.topics.create": "",
    "pubsub.projects.subscriptions.create": "",
    "iam.projects.locations.workloadIdentityPools.create": "workload_identity_pool",
    "iam.projects.locations.workloadIdentityPools.patch": "workload_identity_pool",
    "iam.projects.locations.workloadIdentityPools.providers.create": "workload_identity_pool_provider",
    "iam.projects.locations.workloadIdentityPools.providers.patch": "workload_identity_pool_provider",
    "iam.projects.serviceAccounts.update": "",
}
SINGULAR = {"services": "service", "functions": "function", "jobs": "job", "secrets": "secret",
            "topics": "topic", "subscriptions": "subscription", "triggers": "trigger",
            "serviceAccounts": "service_account", "projects": "project", "keys": "key"}


def snake(name):
    """proto field name of a JSON (lowerCamel) name."""
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def camel(name):
    """JSON name of a proto (snake_case) field name."""
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), name)


def required_in_prose(desc):
    d = (desc or "").lstrip()
    return d.startswith("Required.") or d.startswith("REQUIRED:") or d.startswith("Required ")


def output_only(prop):
    if prop.get("readOnly"):
        return True
    d = (prop.get("description") or "").lstrip()
    return d.startswith("Output only") or d.startswith("[Output Only]") or d.startswith("[Output only]") \
        or d.startswith("Output-only")


def show(value):
    """A JSON value as Google's messages quote it."""
    return json.dumps(value, separators=(",", ":"))


class Method:
    def __init__(self, api, m):
        self.api = api
        self.id = m["id"]
        self.http_method = m["httpMethod"]
        self.path = m["path"]
        self.flat_path = m.get("flatPath", m["path"])
        self.params = m.get("parameters", {})
        self.request = (m.get("request") or {}).get("$ref")
        self.response = (m.get("response") or {}).get("$ref")
        self.scopes = m.get("scopes") or []
        self.verb = self.id.rsplit(".", 1)[1]
        self.collection = self.id.rsplit(".", 2)[-2]
        self.flat_rx = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "([^/:]+)", re.escape(self.flat_path)) + "$")
        names = re.findall(r"\{\+?([^}]+)\}", self.path)
        rx = re.escape(self.path)
        for n in names:
            rx = rx.replace(re.escape("{+" + n + "}"), "(.+?)").replace(re.escape("{" + n + "}"), "([^/]+)")
        self.path_rx = re.compile("^" + rx + "$")
        self.path_names = names
        if self.id in BODY_FIELD:
            self.body_field = BODY_FIELD[self.id]
        elif self.request and (self.request.endswith("Request") or self.request.startswith("GoogleIamV1")
                               or self.request.startswith("GoogleLongrunning")):
            self.body_field = ""
        else:
            self.body_field = SINGULAR.get(self.collection, snake(self.collection.rstrip("s")))
        self.request_message = self._request_message()

    def _request_message(self):
        if self.request and self.body_field == "":
            n = self.request
            for p in ("GoogleCloudRunV2", "GoogleIamV1", "GoogleLongrunning", "GoogleIdentityStsV1"):
                if n.startswith(p):
                    n = n[len(p):]
            return n
        verb = {"patch": "Update", "update": "Update"}.get(self.verb, self.verb[:1].upper() + self.verb[1:])
        res = camel(self.body_field) if self.body_field else self.collection.rstrip("s")
        return verb + res[:1].upper() + res[1:] + "Request"

    @property
    def permission(self):
        """The IAM permission Google checks, e.g. run.services.create."""
        verb = {"patch": "update"}.get(self.verb, self.verb)
        return "%s.%s.%s" % (self.api.name, self.collection, verb)


class Api:
    def __init__(self, name, path):
        with open(path) as f:
            self.doc = json.load(f)
        self.name = name
        self.file = os.path.basename(path)
        self.revision = self.doc.get("revision")
        self.schemas = self.doc["schemas"]
        self.std_params = self.doc.get("parameters", {})
        self.methods = []
        self._collect(self.doc.get("resources", {}))
        self.by_id = {m.id: m for m in self.methods}

    def _collect(self, resources):
        for r in resources.values():
            for m in r.get("methods", {}).values():
                self.methods.append(Method(self, m))
            self._collect(r.get("resources", {}))


class Registry:
    def __init__(self, directory):
        self.directory = directory
        self.apis = {name: Api(name, os.path.join(directory, f)) for name, f in DOCUMENTS.items()}

    def method(self, mid):
        return self.apis[mid.split(".", 1)[0]].by_id[mid]

    def candidates(self, http_method, path, api=None):
        """[(method, flat groups)] whose flatPath matches path (no leading /)
        and whose httpMethod is http_method, and whether any path matched at
        all (for a 404 vs a method error)."""
        out, any_path = [], []
        for a in ([self.apis[api]] if api else self.apis.values()):
            for m in a.methods:
                g = m.flat_rx.match(path)
                if g:
                    any_path.append(m)
                    if m.http_method == http_method:
                        out.append(m)
        return out, any_path

    @staticmethod
    def path_params(m, path):
        """{param: value} of m's path template applied to path, each checked
        against its pattern."""
        from urllib.parse import unquote
        g = m.path_rx.match(path)
        if not g:
            raise bad_request("the URL path %s does not match %s's template %s" % (path, m.id, m.path))
        vals = {}
        for n, v in zip(m.path_names, g.groups()):
            v = unquote(v)
            p = m.params.get(n, {})
            if p.get("pattern") and not re.match(p["pattern"], v):
                raise bad_request("Invalid resource field value in the request: %s %r does not match the "
                                  "pattern %s of %s" % (n, v, p["pattern"], m.id),
                                  [(n, "does not match %s" % p["pattern"])])
            vals[n] = v
        return vals


class Checked:
    """The outcome of checking one request: normalised body and query, and
    the lenient notes (what Google accepts that the fake would refuse when
    strict)."""

    def __init__(self):
        self.body = None
        self.query = {}
        self.notes = []
        self.output_only = []


class Validator:
    def __init__(self, registry, state):
        self.reg = registry
        self.state = state

    @property
    def config(self):
        """strict, check_unknown, check_output_only: read on every request."""
        return self.state.config

    def response(self, m, result):
        """Problems of an answer against the method's response schema (a
        mismatch is a fake bug): JSON types and unknown names only."""
        if not m.response or result is None:
            return []
        errs, serrs = [], []
        self._resp = True
        try:
            self._value(m.api, result, {"$ref": m.response}, "", errs, serrs, Checked())
        finally:
            self._resp = False
        return [e[1] for e in errs + serrs]

    _resp = False

    # ---- query ----------------------------------------------------------------
    def query(self, m, pairs, out):
        api = m.api
        seen = {}
        for k, v in pairs:
            p = m.params.get(k)
            if p is not None and p.get("location") != "query":
                p = None
            if p is None:
                p = api.std_params.get(k)
            if p is None:
                raise bad_request('Invalid JSON payload received. Unknown name "%s": Cannot bind query parameter. '
                                  "Field '%s' could not be found in request message." % (k, k), [(None, None)])
            if k in seen and not p.get("repeated"):
                raise bad_request("Invalid JSON payload received. Query parameter %s given more than once: "
                                  "it is not repeated" % k)
            val = self._query_value(k, v, p)
            if p.get("repeated"):
                seen.setdefault(k, []).append(val)
            else:
                seen[k] = val
        for k, p in m.params.items():
            if p.get("location") == "query" and p.get("required") and k not in seen:
                raise bad_request("Required query parameter %s missing for %s" % (k, m.id), [(snake(k), "required field not present")])
        out.query = seen

    def _query_value(self, k, v, p):
        t, fmt = p.get("type"), p.get("format")
        where = snake(k)
        if t == "boolean":
            if v not in ("true", "false"):
                raise bad_request("Invalid value at '%s' (TYPE_BOOL), \"%s\"" % (where, v), [(where, 'Invalid value "%s"' % v)])
            return v == "true"
        if t == "integer":
            if not INT_RE.match(v) or not (INT32[0] <= int(v) <= INT32[1]):
                raise bad_request("Invalid value at '%s' (TYPE_INT32), \"%s\"" % (where, v), [(where, 'Invalid value "%s"' % v)])
            return int(v)
        if "enum" in p and v not in p["enum"]:
            raise bad_request("Invalid value at '%s' (TYPE_ENUM), \"%s\"" % (where, v), [(where, 'Invalid value "%s"' % v)])
        if fmt == "int64" and not INT_RE.match(v):
            raise bad_request("Invalid value at '%s' (TYPE_INT64), \"%s\"" % (where, v), [(where, 'Invalid value "%s"' % v)])
        if fmt == "google-fieldmask":
            paths = [s.strip() for s in v.split(",")] if v else []
            for s in paths:
                if not FIELD_PATH_RE.match(s):
                    raise bad_request("Invalid field mask path %r in %s" % (s, k), [(where, "invalid path %r" % s)])
            return paths
        return v

    # ---- body -----------------------------------------------------------------
    def body(self, m, raw, ctype, out, mask=None, path_params=None):
        if not m.request:
            if raw.strip() in (b"", b"{}"):
                out.body = None
                return
            raise bad_request("Invalid JSON payload received. %s takes no request body; got %d bytes"
                              % (m.id, len(raw)))
        if not raw.strip():
            doc = {}
        else:
            if ctype.split(";")[0].strip().lower() != "application/json":
                raise bad_request("Invalid JSON payload received. Content-Type must be application/json for %s "
                                  "(got %s)" % (m.id, ctype or "none"))
            try:
                doc = json.loads(raw)
            except ValueError as e:
                raise bad_request("Invalid JSON payload received. Unexpected token.\n%s" % e)
        if not isinstance(doc, dict):
            raise bad_request("Invalid JSON payload received. Expected an object for %s, got %s"
                              % (m.request, show(doc)[:60]))
        prefix = m.body_field
        errs, strict_errs = [], []
        norm = self._value(m.api, doc, {"$ref": m.request}, prefix, errs, strict_errs, out)
        if errs:
            raise bad_request("\n".join(e[1] for e in errs), [(f, d) for f, d in errs])
        if strict_errs:
            raise bad_request("fake_gcp strict: " + "\n".join(e[1] for e in strict_errs) +
                              "\n(Google accepts this; the fake refuses it while strict, see POST /__fake/config)",
                              [(f, d) for f, d in strict_errs])
        # path parameters bound into the body (body "*": pubsub topics.create
        # puts {name} in the Topic; subscriptions.patch in subscription.name)
        props = self._schema(m.api, m.request).get("properties", {})
        inner = [k for k, p in props.items() if p.get("$ref")]
        for k, v in (path_params or {}).items():
            if prefix != "":
                continue
            if k in props and k not in norm:
                norm[k] = v
            elif len(inner) == 1 and isinstance(norm.get(inner[0]), dict) and \
                    k in self._schema(m.api, props[inner[0]]["$ref"]).get("properties", {}):
                norm[inner[0]].setdefault(k, v)
        # an update mask inside the body (UpdateSubscriptionRequest, ...)
        # limits the required-field check as a query mask does
        if mask is None and prefix == "" and isinstance(norm.get("updateMask"), str):
            paths = [camel(x.strip()) for x in norm["updateMask"].split(",") if x.strip()]
            mask = ["updateMask"] + ["%s.%s" % (r, p) for r in inner for p in paths]
        missing = []
        self._required(m.api, norm, m.request, prefix, missing, mask)
        if missing:
            msg = "\n".join("Violation in %s.%s: required field not present." % (m.request_message, f) for f in missing)
            raise bad_request(msg, [(f, "required field not present") for f in missing])
        out.body = norm

    def _schema(self, api, ref):
        return api.schemas[ref]

    def _value(self, api, value, schema, where, errs, serrs, out):
        """Check one JSON value against schema; return its normal form."""
        if "$ref" in schema:
            name = schema["$ref"]
            s = api.schemas.get(name)
            if s is None:
                errs.append((where, "fake_gcp: the discovery document names an unknown schema %s" % name))
                return value
            tname = "type.googleapis.com/" + name
            schema = s
        else:
            tname = None
        if value is None:
            return None  # proto3 JSON: null is the default value
        t = schema.get("type")
        fmt = schema.get("format")
        at = "'%s'" % where if where else "the request"
        if t == "object":
            if not isinstance(value, dict):
                errs.append((where, "Invalid value at %s (%s), %s" % (at, tname or "TYPE_MESSAGE", show(value))))
                return value
            props = schema.get("properties")
            addl = schema.get("additionalProperties")
            result = {}
            if props is None and addl is not None:
                for i, (k, v) in enumerate(value.items()):
                    result[k] = self._value(api, v, addl, "%s[%d].value" % (where, i) if where else k, errs, serrs, out)
                return result
            if props is None and addl is None:
                return value  # an open object (google.protobuf.Struct or Any)
            for k, v in value.items():
                name, p = k, props.get(k)
                if p is None and camel(k) in props and "_" in k:
                    name, p = camel(k), props[camel(k)]
                    note = "field %s sent under its proto name %r (JSON name %r)" % (
                        self._join(where, snake(name)), k, name)
                    if self.config.get("strict", True) or self._resp:
                        serrs.append((self._join(where, snake(name)), note))
                    else:
                        out.notes.append(note)
                if p is None:
                    if k == "@type":  # google.protobuf.Any
                        result[k] = v
                        continue
                    if self.config.get("check_unknown", True) or self._resp:
                        if where:
                            errs.append((where, 'Invalid JSON payload received. Unknown name "%s" at \'%s\': Cannot find field.' % (k, where)))
                        else:
                            errs.append((None, 'Invalid JSON payload received. Unknown name "%s": Cannot find field.' % k))
                    else:
                        out.notes.append("unknown field %r at %s accepted (check_unknown is off)" % (k, where or "top"))
                        result[k] = v
                    continue
                fpath = self._join(where, snake(name))
                if output_only(p) and v is not None and not self._resp:
                    out.output_only.append(fpath)
                    if self.config.get("check_output_only", True):
                        serrs.append((fpath, "output-only field %s must not be sent (Google ignores it)" % fpath))
                        continue
                    out.notes.append("output-only field %s ignored" % fpath)
                    continue
                result[name] = self._value(api, v, p, fpath, errs, serrs, out)
            return result
        if t == "array":
            if not isinstance(value, list):
                errs.append((where, "Invalid value at %s (%s), %s" % (at, self._tname(api, schema.get("items", {})), show(value))))
                return value
            return [self._value(api, v, schema.get("items", {"type": "any"}), "%s[%d]" % (where, i), errs, serrs, out)
                    for i, v in enumerate(value)]
        if t == "string":
            if fmt in ("int64", "uint64"):
                lo, hi = INT64 if fmt == "int64" else UINT64
                tn = "TYPE_INT64" if fmt == "int64" else "TYPE_UINT64"
                if isinstance(value, bool) or not isinstance(value, (str, int)):
                    errs.append((where, "Invalid value at %s (%s), %s" % (at, tn, show(value))))
                    return value
                if isinstance(value, int):
                    note = "%s is an %s sent as a JSON number %d; the discovery document types it as a decimal string" % (where, fmt, value)
                    if self.config.get("strict", True) or self._resp:
                        serrs.append((where, note))
                    else:
                        out.notes.append(note)
                    value = str(value)
                if not INT_RE.match(value) or not lo <= int(value) <= hi:
                    errs.append((where, "Invalid value at %s (%s), %s" % (at, tn, show(value))))
                return value
            if not isinstance(value, str):
                errs.append((where, "Invalid value at %s (TYPE_STRING), %s" % (at, show(value))))
                return value
            if "enum" in schema and value not in schema["enum"]:
                errs.append((where, "Invalid value at %s (TYPE_ENUM), %s" % (at, show(value))))
            elif fmt == "google-duration" and not DURATION_RE.match(value):
                errs.append((where, "Invalid value at %s (type.googleapis.com/google.protobuf.Duration), "
                                    "Field '%s', Illegal duration format; duration must end with 's'" % (at, where)))
            elif fmt == "google-datetime" and not DATETIME_RE.match(value):
                errs.append((where, "Invalid value at %s (type.googleapis.com/google.protobuf.Timestamp), "
                                    "Field '%s', Invalid time format: %s" % (at, where, show(value))))
            elif fmt == "byte":
                try:
                    s = value.replace("-", "+").replace("_", "/")
                    base64.b64decode(s + "=" * (-len(s) % 4), validate=True)
                except ValueError:
                    errs.append((where, "Invalid value at %s (TYPE_BYTES), Base64 decoding failed for %s" % (at, show(value))))
            elif fmt == "google-fieldmask":
                for s in filter(None, value.split(",")):
                    if not FIELD_PATH_RE.match(s.strip()):
                        errs.append((where, "Invalid value at %s (type.googleapis.com/google.protobuf.FieldMask), %s" % (at, show(value))))
            return value
        if t == "integer":
            lo, hi = UINT32 if fmt == "uint32" else INT32
            tn = "TYPE_UINT32" if fmt == "uint32" else "TYPE_INT32"
            if isinstance(value, str) and INT_RE.match(value):
                note = "%s is an %s sent as a string %s; the discovery document types it as a JSON number" % (where, fmt or "integer", show(value))
                if self.config.get("strict", True) or self._resp:
                    serrs.append((where, note))
                else:
                    out.notes.append(note)
                value = int(value)
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                errs.append((where, "Invalid value at %s (%s), %s" % (at, tn, show(value))))
            return value
        if t == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                errs.append((where, "Invalid value at %s (TYPE_%s), %s" % (at, "FLOAT" if fmt == "float" else "DOUBLE", show(value))))
            return value
        if t == "boolean":
            if not isinstance(value, bool):
                errs.append((where, "Invalid value at %s (TYPE_BOOL), %s" % (at, show(value))))
            return value
        if t == "any" or t is None:
            return value
        errs.append((where, "fake_gcp: unhandled discovery type %s at %s" % (t, where)))
        return value

    @staticmethod
    def _join(where, name):
        return "%s.%s" % (where, name) if where else name

    def _tname(self, api, schema):
        if "$ref" in schema:
            return "type.googleapis.com/" + schema["$ref"]
        return "TYPE_" + (schema.get("format") or schema.get("type") or "any").upper()

    def _required(self, api, value, ref, where, missing, mask):
        """Fields described "Required." that are absent. With an update mask,
        only the masked subtrees are checked (the rest is not being set)."""
        if not isinstance(value, dict):
            return
        schema = api.schemas.get(ref, {})
        for k, p in (schema.get("properties") or {}).items():
            fpath = self._join(where, snake(k))
            jpath = k
            if mask is not None and not any(self._mask_covers(mp, jpath) for mp in mask):
                continue
            sub_mask = None
            if mask is not None:
                sub = [mp[len(jpath) + 1:] for mp in mask if mp.startswith(jpath + ".")]
                sub_mask = sub if sub and jpath not in mask else None
            if required_in_prose(p.get("description")) and not output_only(p) and \
                    value.get(k) in (None, "", [], {}):
                missing.append(fpath)
                continue
            v = value.get(k)
            iref = p.get("$ref")
            if iref and isinstance(v, dict):
                self._required(api, v, iref, fpath, missing, sub_mask)
            elif p.get("type") == "array" and (p.get("items") or {}).get("$ref") and isinstance(v, list):
                for i, item in enumerate(v):
                    self._required(api, item, p["items"]["$ref"], "%s[%d]" % (fpath, i), missing, None)

    @staticmethod
    def _mask_covers(mp, jpath):
        c = camel(mp)
        return c == jpath or c.startswith(jpath + ".") or c == "*"

    def mask_paths(self, m, paths, schema_ref):
        """Check update-mask paths name fields of the resource; return them in
        JSON (camel) form."""
        api = m.api
        out = []
        for p in paths:
            if p == "*":
                out.append(p)
                continue
            s = api.schemas.get(schema_ref, {})
            parts = [camel(x) for x in p.split(".")]
            for i, part in enumerate(parts):
                props = s.get("properties") or {}
                if part not in props:
                    if s.get("additionalProperties") is not None or (props == {} and s.get("type") == "object" and i > 0):
                        break  # a map key
                    raise bad_request("Invalid update_mask: field %r in path %r does not exist in %s"
                                      % (part, p, schema_ref), [("update_mask", "unknown path %s" % p)])
                if output_only(props[part]):
                    raise bad_request("Invalid update_mask: %r is an output-only field of %s" % (p, schema_ref),
                                      [("update_mask", "output-only path %s" % p)])
                ref = props[part].get("$ref") or (props[part].get("items") or {}).get("$ref")
                s = api.schemas.get(ref, {}) if ref else {"properties": {}}
                if not ref and i + 1 < len(parts) and props[part].get("additionalProperties") is None:
                    raise bad_request("Invalid update_mask: %r goes below the scalar field %r" % (p, part),
                                      [("update_mask", "bad path %s" % p)])
            out.append(".".join(parts))
        return out
