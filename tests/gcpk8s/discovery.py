"""discovery.py - a validator for Google API discovery documents.

Discovery documents (tests/reference/gcp-discovery, Google's own, SOURCE.md) are
not JSON Schema. This reads them as they are written:
  - schemas[NAME].properties; "$ref" names another schema; "items" for
    arrays; "additionalProperties" for maps; "enum" lists the values;
  - "type"/"format": integer int32 in range; int64/uint64 travel as decimal
    strings; google-duration as "<seconds>s"; byte as base64;
  - a field not in "properties" is refused (unknown field, typo);
  - "readOnly": true marks output-only fields: a request must not send them;
  - "required" lives in prose: a field whose description starts with
    "Required." (or "REQUIRED:") must be present when its object is;
  - methods: httpMethod, flatPath with {name} segments, and "parameters"
    (path/query, "required", "pattern", and "Required." in prose).
"""
import base64
import json
import os
import re

from gk import DATA

INT32 = (-2**31, 2**31 - 1)
DURATION_RE = re.compile(r"^-?[0-9]+(\.[0-9]{1,9})?s$")
INT64_RE = re.compile(r"^-?[0-9]+$")

APIS = {
    "run.googleapis.com/v2": "run.v2.json",
    "cloudfunctions.googleapis.com/v2": "cloudfunctions.v2.json",
    # the trigger and secret APIs deploy wires (issue 13)
    "pubsub.googleapis.com/v1": "pubsub.v1.json",
    "cloudscheduler.googleapis.com/v1": "cloudscheduler.v1.json",
    "secretmanager.googleapis.com/v1": "secretmanager.v1.json",
}


def required_in_prose(desc):
    d = (desc or "").lstrip()
    return d.startswith("Required.") or d.startswith("REQUIRED:")


class Discovery:
    def __init__(self, filename):
        with open(os.path.normpath(os.path.join(DATA, "gcp-discovery", filename))) as f:
            self.doc = json.load(f)
        self.schemas = self.doc["schemas"]
        self.methods = []
        self._collect(self.doc.get("resources", {}))

    def _collect(self, resources):
        for r in resources.values():
            for m in r.get("methods", {}).values():
                self.methods.append(m)
            self._collect(r.get("resources", {}))

    # ---- bodies -------------------------------------------------------------
    def validate(self, value, schema, path="", errs=None):
        """Every problem of value against schema (a dict or a schema name)."""
        if errs is None:
            errs = []
        if isinstance(schema, str):
            schema = {"$ref": schema}
        if "$ref" in schema:
            name = schema["$ref"]
            if name not in self.schemas:
                errs.append("%s: unknown schema %s" % (path or "/", name))
                return errs
            schema = self.schemas[name]
        t = schema.get("type")
        fmt = schema.get("format")
        where = path or "/"
        if t == "object":
            if not isinstance(value, dict):
                errs.append("%s: expected an object, got %s" % (where, type(value).__name__))
                return errs
            props = schema.get("properties")
            addl = schema.get("additionalProperties")
            for k, v in value.items():
                if props is not None and k in props:
                    p = props[k]
                    if p.get("readOnly"):
                        errs.append("%s/%s: output-only field must not be sent" % (path, k))
                    self.validate(v, p, "%s/%s" % (path, k), errs)
                elif addl is not None:
                    self.validate(v, addl, "%s/%s" % (path, k), errs)
                else:
                    errs.append("%s/%s: unknown field" % (path, k))
            for k, p in (props or {}).items():
                if required_in_prose(p.get("description")) and not p.get("readOnly") and k not in value:
                    errs.append("%s/%s: required field missing" % (path, k))
        elif t == "array":
            if not isinstance(value, list):
                errs.append("%s: expected an array" % where)
                return errs
            for i, v in enumerate(value):
                self.validate(v, schema.get("items", {"type": "any"}), "%s/%d" % (path, i), errs)
        elif t == "string":
            if not isinstance(value, str):
                errs.append("%s: expected a string (%s), got %r" % (where, fmt or "string", value))
                return errs
            if fmt in ("int64", "uint64") and not INT64_RE.match(value):
                errs.append("%s: %r is not an %s decimal string" % (where, value, fmt))
            if fmt == "google-duration" and not DURATION_RE.match(value):
                errs.append("%s: %r is not a google-duration like \"30s\"" % (where, value))
            if fmt == "byte":
                try:
                    base64.b64decode(value, validate=True)
                except Exception:
                    errs.append("%s: %r is not base64" % (where, value))
            if "enum" in schema and value not in schema["enum"]:
                errs.append("%s: %r is not one of %s" % (where, value, schema["enum"]))
        elif t == "integer":
            if not isinstance(value, int) or isinstance(value, bool):
                errs.append("%s: expected an integer, got %r" % (where, value))
            elif fmt == "int32" and not INT32[0] <= value <= INT32[1]:
                errs.append("%s: %d is outside int32" % (where, value))
            elif fmt == "uint32" and not 0 <= value <= 2**32 - 1:
                errs.append("%s: %d is outside uint32" % (where, value))
        elif t == "number":
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                errs.append("%s: expected a number" % where)
        elif t == "boolean":
            if not isinstance(value, bool):
                errs.append("%s: expected a boolean, got %r" % (where, value))
        elif t == "any" or t is None:
            pass
        else:
            errs.append("%s: unhandled type %s" % (where, t))
        return errs

    # ---- methods ------------------------------------------------------------
    def match(self, http_method, path):
        """(method, path params, query params) of the method whose flatPath
        matches, or (None, why)."""
        base, _, query = path.partition("?")
        qs = {}
        for part in filter(None, query.split("&")):
            k, _, v = part.partition("=")
            qs[k] = v
        for m in self.methods:
            names = re.findall(r"\{([^}]+)\}", m["flatPath"])
            rx = "^" + re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(m["flatPath"])) + "$"
            g = re.match(rx, base)
            if g and m["httpMethod"] == http_method:
                return m, dict(zip(names, g.groups())), qs
        return None, "no %s method has a flatPath matching %s" % (http_method, base), qs

    def request_errors(self, http_method, path, body, want_id=None):
        m, pp, qs = self.match(http_method, path)
        if m is None:
            return [pp]
        errs = []
        if want_id and m["id"] != want_id:
            errs.append("path matches %s, expected %s" % (m["id"], want_id))
        params = m.get("parameters", {})
        # the {+name} path parameter rebuilt from the flat path must match its pattern
        base = path.partition("?")[0]
        for pname, p in params.items():
            if p.get("location") == "path":
                tmpl = m["path"]
                prefix = tmpl.split("{+" + pname + "}")[0]
                suffix = tmpl.split("{+" + pname + "}")[1] if "{+" + pname + "}" in tmpl else ""
                if not base.startswith(prefix):
                    errs.append("path does not start with %s" % prefix)
                    continue
                val = base[len(prefix):]
                if suffix:
                    # the path template's literal tail, e.g. "/services" or ":setIamPolicy"
                    if not val.endswith(suffix):
                        errs.append("path does not end with %s" % suffix)
                        continue
                    val = val[: -len(suffix)]
                if p.get("pattern") and not re.match(p["pattern"], val):
                    errs.append("path parameter %s=%r does not match %s" % (pname, val, p["pattern"]))
        for k, v in qs.items():
            p = params.get(k)
            if not p or p.get("location") != "query":
                errs.append("unknown query parameter %s" % k)
            elif not v:
                errs.append("empty query parameter %s" % k)
        for k, p in params.items():
            if p.get("location") == "query" and (p.get("required") or required_in_prose(p.get("description"))) \
                    and k not in qs:
                errs.append("required query parameter %s missing" % k)
        req = m.get("request")
        if req:
            errs += self.validate(body, req["$ref"])
        elif body is not None:
            errs.append("the method takes no body")
        return errs


_cache = {}


def for_api(api):
    f = APIS.get(api)
    if not f:
        return None
    if f not in _cache:
        _cache[f] = Discovery(f)
    return _cache[f]
