"""Schemas for the fake Kubernetes API server.

Two references we did not write, turned into one node form (Node):
  - the Kubernetes 1.36 OpenAPI v2 definitions (tests/reference/kubernetes/k8s-swagger.json)
  - the Knative Serving Service CRD's v1 openAPIV3Schema (tests/reference/knative-serving/service.yaml)

What reads the nodes:
  - decode(): a request body for a built-in kind, with the semantics of the
    API server's Go JSON decoder (sigs.k8s.io/json): a wrong JSON type stops
    with Go's UnmarshalTypeError text, resource.Quantity and IntOrString have
    their own parsers, unknown and duplicate fields are collected (fieldValidation
    decides whether they fail the request, warn or are dropped);
  - validate_crd(): a custom resource body, as apiextensions-apiserver does it:
    pruning of unknown fields, then structural schema errors as field errors (422);
  - fieldpath.py (server-side apply): list types, map keys, atomic maps;
  - discovery.py (the /openapi documents).
"""
import base64
import binascii
import datetime
import json
import math
import os
import re
from fractions import Fraction

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.environ.get("FAKE_K8S_REFERENCE",
                           os.path.join(os.path.dirname(os.path.dirname(HERE)), "reference"))


# ---------------------------------------------------------------- field errors
class FieldError:
    """One k8s.io/apimachinery/pkg/util/validation/field.Error."""
    TYPES = {  # type -> (text, StatusCause reason)
        "invalid": ("Invalid value", "FieldValueInvalid"),
        "required": ("Required value", "FieldValueRequired"),
        "notsupported": ("Unsupported value", "FieldValueNotSupported"),
        "duplicate": ("Duplicate value", "FieldValueDuplicate"),
        "forbidden": ("Forbidden", "FieldValueForbidden"),
        "toolong": ("Too long", "FieldValueTooLong"),
        "toomany": ("Too many", "FieldValueTooMany"),
        "notfound": ("Not found", "FieldValueNotFound"),
    }
    NOVALUE = object()

    def __init__(self, etype, field, value=NOVALUE, detail=""):
        self.etype, self.field, self.value, self.detail = etype, field, value, detail

    def body(self):
        text = self.TYPES[self.etype][0]
        if self.etype in ("required", "forbidden", "toolong") or self.value is self.NOVALUE:
            s = text
        else:
            s = "%s: %s" % (text, go_value(self.value))
        if self.detail:
            s += ": " + self.detail
        return s

    def __str__(self):
        return "%s: %s" % (self.field, self.body())

    def cause(self):
        return {"reason": self.TYPES[self.etype][1], "message": self.body(), "field": self.field}


def go_value(v):
    """How field.Error prints a bad value: strings quoted, numbers and bools
    plain, maps the way Go's %#v prints a map[string]string."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, dict) and all(isinstance(x, str) for x in v.values()):
        return "map[string]string{%s}" % ", ".join(
            "%s:%s" % (json.dumps(k), json.dumps(v[k])) for k in sorted(v))
    return json.dumps(v, sort_keys=True)


# ---------------------------------------------------------------- quantities
QUANTITY_RE = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
QUANTITY_FORMAT_MSG = ("quantities must match the regular expression "
                       "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
QUANTITY_SUFFIX_MSG = "unable to parse quantity's suffix"
QUANTITY_NUMERIC_MSG = "unable to parse numeric part of quantity"
_BIN = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DEC = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DEC_SUFFIX = {v: k for k, v in _DEC.items()}


class QuantityError(ValueError):
    pass


def parse_quantity(s):
    """-> (Fraction value, format) as resource.ParseQuantity reads it;
    format is BinarySI, DecimalSI or DecimalExponent."""
    if isinstance(s, bool):
        raise QuantityError(QUANTITY_FORMAT_MSG)
    if isinstance(s, (int, float)):  # a JSON number is read from its text
        s = json.dumps(s)
    m = QUANTITY_RE.match(s or "")
    if not m:
        raise QuantityError(QUANTITY_FORMAT_MSG)
    num, suffix = m.group(1), m.group(2)
    if not re.fullmatch(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)", num):
        raise QuantityError(QUANTITY_NUMERIC_MSG)
    value = Fraction(num)
    if suffix in _BIN:
        return value * (1024 ** _BIN[suffix]), "BinarySI"
    if suffix in _DEC:
        return value * Fraction(10) ** _DEC[suffix], "DecimalSI"
    e = re.fullmatch(r"[eE]([+-]?[0-9]+)", suffix)
    if e:
        return value * Fraction(10) ** int(e.group(1)), "DecimalExponent"
    raise QuantityError(QUANTITY_SUFFIX_MSG)


def canonical_quantity(s):
    """The string the API server stores for a quantity (Quantity.String()):
    binary values >= 1024 that are whole numbers keep a binary suffix with the
    largest power of 1024 that divides them; everything else is an integer
    mantissa with a decimal exponent that is a multiple of 3 (rounded up to
    nano units)."""
    value, fmt = parse_quantity(s)
    if value == 0:
        return "0"
    neg = value < 0
    a = -value if neg else value
    sign = "-" if neg else ""
    if fmt == "BinarySI" and a >= 1024 and a.denominator == 1:
        n, k = int(a), 0
        while n % 1024 == 0 and k < 6:
            n //= 1024
            k += 1
        return sign + str(n) + ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][k]
    n = math.ceil(a * 10 ** 9)
    e = -9
    while n % 1000 == 0 and (e < 18 or fmt == "DecimalExponent"):
        n //= 1000
        e += 3
    if fmt == "DecimalExponent":
        return sign + str(n) + ("e%d" % e if e else "")
    return sign + str(n) + _DEC_SUFFIX[e]


def quantity_value(s):
    return parse_quantity(s)[0]


# ---------------------------------------------------------------- nodes
class Node:
    """One schema node. kind is struct, map, list, scalar, ios (int-or-string),
    quantity, time, or any. Struct and map nodes may be atomic; list nodes have
    list_type atomic, set or map (with keys)."""
    __slots__ = ("kind", "props", "required", "elem", "preserve", "atomic", "list_type", "keys",
                 "stype", "fmt", "go", "enum", "defname", "crd", "nullable", "embedded")

    def __init__(self, kind, **kw):
        self.kind = kind
        self.props = {}
        self.required = []
        self.elem = None
        self.preserve = False
        self.atomic = False
        self.list_type = "atomic"
        self.keys = []
        self.stype = None
        self.fmt = None
        self.go = None
        self.enum = None
        self.defname = None
        self.crd = False
        self.nullable = False
        self.embedded = False
        for k, v in kw.items():
            setattr(self, k, v)

    def child(self, name):
        if self.kind == "struct":
            return self.props.get(name) or (ANY if self.preserve else None)
        if self.kind == "map":
            return self.elem
        if self.kind == "any":
            return ANY
        return None

    def __repr__(self):
        return "<Node %s %s>" % (self.kind, self.defname or self.go or "")


ANY = Node("any", go="interface {}")

SPECIAL = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": lambda: Node("ios", go="intstr.IntOrString"),
    "io.k8s.apimachinery.pkg.api.resource.Quantity": lambda: Node("quantity", go="resource.Quantity"),
    "io.k8s.apimachinery.pkg.apis.meta.v1.Time": lambda: Node("time", go="v1.Time"),
    "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime": lambda: Node("time", go="v1.MicroTime"),
    "io.k8s.apimachinery.pkg.runtime.RawExtension": lambda: Node("any", go="runtime.RawExtension"),
    "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1": lambda: Node("any", go="v1.FieldsV1"),
}

# The list-map key fields that have a default in the Go types (+default=
# markers), which server-side apply uses when an item omits the key.
KEY_DEFAULTS = {"protocol": "TCP"}


def go_scalar(stype, fmt):
    if stype == "integer":
        return {"int32": "int32", "int64": "int64"}.get(fmt, "int")
    if stype == "number":
        return "float64"
    if stype == "boolean":
        return "bool"
    if fmt == "byte":
        return "[]uint8"
    return "string"


class Schemas:
    """The definitions of the OpenAPI v2 file plus the Knative CRD schema."""

    def __init__(self, reference=REFERENCE):
        with open(os.path.join(reference, "kubernetes", "k8s-swagger.json")) as f:
            self.swagger = json.load(f)
        self.defs = self.swagger["definitions"]
        self._nodes = {}
        with open(os.path.join(reference, "knative-serving", "service.yaml")) as f:
            self.knative_crd = yaml.safe_load(f)
        ver = [v for v in self.knative_crd["spec"]["versions"] if v["name"] == "v1"][0]
        self.knative_schema = ver["schema"]["openAPIV3Schema"]
        self._knative = None

    # -- built-in definitions
    def definition(self, name):
        if name in self._nodes:
            return self._nodes[name]
        if name in SPECIAL:
            node = SPECIAL[name]()
            node.defname = name
            self._nodes[name] = node
            return node
        d = self.defs[name]
        parts = name.split(".")
        node = Node("struct", defname=name, go="%s.%s" % (parts[-2], parts[-1]))
        self._nodes[name] = node  # before recursing: definitions may refer to themselves
        self._fill(node, d, crd=False)
        return node

    def _fill(self, node, s, crd):
        """Turn schema dict s into node (in place)."""
        node.crd = crd
        ext_int_or_string = s.get("x-kubernetes-int-or-string") or (
            sorted(x.get("type", "") for x in s.get("anyOf", [])) == ["integer", "string"])
        t = s.get("type")
        if ext_int_or_string:
            node.kind, node.go = "ios", "intstr.IntOrString"
            return node
        if s.get("x-kubernetes-embedded-resource"):
            node.embedded = True
        node.nullable = bool(s.get("nullable"))
        if t == "object" or "properties" in s or "additionalProperties" in s:
            if "properties" in s:
                node.kind = "struct"
                node.required = list(s.get("required", []))
                for k, v in s["properties"].items():
                    node.props[k] = self.node(v, crd)
                node.preserve = bool(s.get("x-kubernetes-preserve-unknown-fields"))
                if isinstance(s.get("additionalProperties"), dict):  # CRD maps with known fields
                    node.elem = self.node(s["additionalProperties"], crd)
            elif isinstance(s.get("additionalProperties"), dict):
                node.kind = "map"
                node.elem = self.node(s["additionalProperties"], crd)
                node.go = "map[string]" + (node.elem.go or "interface {}")
            else:
                node.kind = "any"
                node.go = "map[string]interface {}"
                node.preserve = True
            node.atomic = s.get("x-kubernetes-map-type") == "atomic"
            return node
        if t == "array":
            node.kind = "list"
            node.elem = self.node(s.get("items", {}), crd)
            node.go = "[]" + (node.elem.go or "interface {}")
            lt = s.get("x-kubernetes-list-type")
            if lt in ("atomic", "set", "map"):
                node.list_type = lt
                node.keys = list(s.get("x-kubernetes-list-map-keys", [])) if lt == "map" else []
            elif s.get("x-kubernetes-patch-strategy", "").startswith("merge"):
                key = s.get("x-kubernetes-patch-merge-key")
                node.list_type = "map" if key else "set"
                node.keys = [key] if key else []
            return node
        if t in ("string", "integer", "number", "boolean"):
            node.kind = "scalar"
            node.stype = t
            node.fmt = s.get("format")
            node.enum = s.get("enum")
            node.go = go_scalar(t, node.fmt)
            return node
        node.kind = "any"
        node.go = "interface {}"
        return node

    def node(self, s, crd=False):
        if "$ref" in s:
            return self.definition(s["$ref"].split("/")[-1])
        if len(s.get("allOf", [])) == 1 and "$ref" in s["allOf"][0]:
            return self.definition(s["allOf"][0]["$ref"].split("/")[-1])
        return self._fill(Node("any"), s, crd)

    def knative_service(self):
        """The Knative Service root node; metadata is ObjectMeta, as the API
        server validates it for every custom resource."""
        if self._knative is None:
            root = self.node(self.knative_schema, crd=True)
            root.props["metadata"] = self.definition("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
            root.go = "Service"
            self._knative = root
        return self._knative


# ---------------------------------------------------------------- JSON with duplicates
class ObjDict(dict):
    """A JSON object that remembers the keys it saw twice."""
    dups = ()


def _pairs(pairs):
    d = ObjDict()
    dups = []
    for k, v in pairs:
        if k in d:
            dups.append(k)
        d[k] = v
    if dups:
        d.dups = dups
    return d


def loads_json(text):
    return json.loads(text, object_pairs_hook=_pairs)


# ---------------------------------------------------------------- decoding (built-in kinds)
class Decoded:
    def __init__(self):
        self.unknown = []     # paths like spec.template.spec.containers[0].foo
        self.duplicate = []
        self.type_error = None


def _json_kind(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "null"


_INT_RANGE = {"int32": (-2 ** 31, 2 ** 31 - 1), "int64": (-2 ** 63, 2 ** 63 - 1)}
RFC3339_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def decode(value, node):
    """Decode a built-in object the way the API server's Go decoder does.
    Returns (cleaned value, Decoded). Unknown fields are dropped from the
    cleaned value and listed; quantities are canonicalised."""
    d = Decoded()
    out = _dec(value, node, [], "", None, d)
    return out, d


def _type_err(d, value, node, gopath, struct, literal=False):
    if d.type_error:
        return
    what = _json_kind(value)
    if literal and isinstance(value, (int, float)) and not isinstance(value, bool):
        what = "number " + json.dumps(value)
    go = node.go or "interface {}"
    if node.kind == "ios":  # intstr's UnmarshalJSON decodes a non-string into int32
        d.type_error = "json: cannot unmarshal %s into Go value of type int32" % what
    elif struct and gopath:
        d.type_error = "json: cannot unmarshal %s into Go struct field %s.%s of type %s" % (
            what, struct, ".".join(gopath), go)
    else:
        d.type_error = "json: cannot unmarshal %s into Go value of type %s" % (what, go)


def _dec(v, node, gopath, ipath, struct, d):
    if v is None:
        return None
    k = node.kind
    if k == "any":
        return v
    if k == "struct":
        if not isinstance(v, dict):
            _type_err(d, v, node, gopath, struct)
            return None
        sname = node.go.split(".")[-1] if node.go else struct
        for dup in getattr(v, "dups", ()):
            d.duplicate.append((ipath + "." if ipath else "") + dup)
        out = {}
        for key, val in v.items():
            sub = node.props.get(key)
            p = (ipath + "." if ipath else "") + key
            if sub is None:
                if node.preserve:
                    out[key] = val
                else:
                    d.unknown.append(p)
                continue
            r = _dec(val, sub, gopath + [key], p, sname, d)
            if r is not None:
                out[key] = r
        return out
    if k == "map":
        if not isinstance(v, dict):
            _type_err(d, v, node, gopath, struct)
            return None
        for dup in getattr(v, "dups", ()):
            d.duplicate.append((ipath + "." if ipath else "") + dup)
        out = {}
        for key, val in v.items():
            r = _dec(val, node.elem, gopath, "%s[%s]" % (ipath, key), struct, d)
            out[key] = r if r is not None else _zero(node.elem)
        return out
    if k == "list":
        if not isinstance(v, list):
            _type_err(d, v, node, gopath, struct)
            return None
        out = []
        for i, item in enumerate(v):
            r = _dec(item, node.elem, gopath, "%s[%d]" % (ipath, i), struct, d)
            out.append(r if r is not None else _zero(node.elem))
        return out
    if k == "ios":
        if isinstance(v, str):
            return v
        if isinstance(v, int) and not isinstance(v, bool) and -2 ** 31 <= v < 2 ** 31:
            return v
        _type_err(d, v, node, gopath, struct, literal=True)
        return None
    if k == "quantity":
        if isinstance(v, bool) or not isinstance(v, (str, int, float)):
            _type_err(d, v, node, gopath, struct)
            return None
        try:
            return canonical_quantity(v)
        except QuantityError as e:
            if not d.type_error:
                d.type_error = str(e)
            return None
    if k == "time":
        if not isinstance(v, str):
            _type_err(d, v, Node("scalar", go="string"), [], None)
            return None
        if not RFC3339_RE.match(v):
            if not d.type_error:
                d.type_error = 'parsing time "%s" as "2006-01-02T15:04:05Z07:00": cannot parse "%s" as "2006"' % (v, v)
            return None
        return v
    # scalars
    st = node.stype
    if st == "string":
        if not isinstance(v, str):
            _type_err(d, v, node, gopath, struct)
            return None
        if node.fmt == "byte":
            bad = _base64_error(v)
            if bad is not None and not d.type_error:
                d.type_error = "illegal base64 data at input byte %d" % bad
        return v
    if st == "boolean":
        if not isinstance(v, bool):
            _type_err(d, v, node, gopath, struct)
            return None
        return v
    if st == "integer":
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            _type_err(d, v, node, gopath, struct)
            return None
        lo, hi = _INT_RANGE.get(node.fmt, (-2 ** 63, 2 ** 63 - 1))
        if isinstance(v, float) or not lo <= v <= hi:
            _type_err(d, v, node, gopath, struct, literal=True)
            return None
        return v
    if st == "number":
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            _type_err(d, v, node, gopath, struct)
            return None
        return v
    return v


def _zero(node):
    if node.kind == "scalar":
        return {"string": "", "integer": 0, "number": 0, "boolean": False}.get(node.stype)
    return None


def _base64_error(s):
    """Index of the first byte Go's base64.StdEncoding refuses, or None."""
    alphabet = re.compile(r"[A-Za-z0-9+/]")
    body = s.rstrip("=")
    for i, ch in enumerate(body):
        if not alphabet.match(ch):
            return i
    try:
        base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        return len(body) - (len(body) % 4) if len(s) % 4 else len(body)
    return None


# ---------------------------------------------------------------- CRD validation
def _oapi_type(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def validate_crd(value, node):
    """Prune and validate a custom resource against its structural schema.
    Returns (pruned value, unknown paths, [FieldError])."""
    unknown, errs = [], []
    out = _crd(value, node, "", unknown, errs, top=True)
    return out, unknown, errs


def _crd(v, node, path, unknown, errs, top=False):
    k = node.kind
    if v is None:
        if node.nullable or k == "any":
            return None
        errs.append(FieldError("invalid", path, "null", "%s in body must be of type %s: \"null\"" % (
            path, {"struct": "object", "map": "object", "list": "array"}.get(k, node.stype or "object"))))
        return None
    if not node.crd and not top and k in ("struct", "map", "list", "scalar", "time", "quantity"):
        # ObjectMeta inside a custom resource: the API server decodes it as Go would
        d = Decoded()
        out = _dec(v, node, [], path, None, d)
        for u in d.unknown:
            unknown.append(u)
        if d.type_error:
            errs.append(FieldError("invalid", path, _oapi_type(v), d.type_error))
        return out
    if k == "any":
        return v
    if k == "ios":
        if isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool)):
            return v
        errs.append(FieldError("invalid", path, _oapi_type(v),
                               "%s in body must be of type integer,string: \"%s\"" % (path, _oapi_type(v))))
        return v
    if k in ("struct", "map"):
        if not isinstance(v, dict):
            errs.append(FieldError("invalid", path, _oapi_type(v),
                                   "%s in body must be of type object: \"%s\"" % (path, _oapi_type(v))))
            return v
        out = {}
        for key, val in v.items():
            p = (path + "." if path else "") + key
            sub = node.props.get(key) if k == "struct" else node.elem
            if sub is None and k == "struct" and node.elem is not None:
                sub = node.elem
            if sub is None:
                if node.preserve:
                    out[key] = val
                else:
                    unknown.append(p)
                continue
            out[key] = _crd(val, sub, p if k == "struct" else "%s[%s]" % (path, key), unknown, errs)
        for r in node.required:
            if r not in v:
                errs.append(FieldError("required", (path + "." if path else "") + r))
        return out
    if k == "list":
        if not isinstance(v, list):
            errs.append(FieldError("invalid", path, _oapi_type(v),
                                   "%s in body must be of type array: \"%s\"" % (path, _oapi_type(v))))
            return v
        return [_crd(item, node.elem, "%s[%d]" % (path, i), unknown, errs) for i, item in enumerate(v)]
    want = node.stype or "string"
    got = _oapi_type(v)
    ok = got == want or (want == "number" and got == "integer")
    if not ok:
        errs.append(FieldError("invalid", path, got, "%s in body must be of type %s: \"%s\"" % (path, want, got)))
        return v
    if node.enum is not None and v not in node.enum:
        errs.append(FieldError("notsupported", path, v,
                               "supported values: " + ", ".join(json.dumps(e) for e in node.enum)))
    if want == "integer" and node.fmt == "int32" and not -2 ** 31 <= v < 2 ** 31:
        errs.append(FieldError("invalid", path, v, "%s in body should be less than or equal to %d" % (path, 2 ** 31 - 1)))
    return v


def now_rfc3339(t=None):
    t = datetime.datetime.now(datetime.timezone.utc) if t is None else \
        datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")
