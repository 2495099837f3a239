"""The API server's verbs for the fake: create, get, list, update, patch
(JSON patch, merge patch, strategic merge patch, server-side apply), delete
with propagation policies and finalizers, and the Status objects the real
server answers with. HTTP is fake_k8s.py's business; this module takes parsed
requests and returns (code, body, headers) or raises ApiStatus."""
import base64
import copy
import json
import random
import uuid

import yaml

from . import fieldpath, kinds as K
from .schema import FieldError, decode as decode_obj, loads_json, now_rfc3339, validate_crd

FIELD_VALIDATION = ("Ignore", "Warn", "Strict")


class ApiStatus(Exception):
    """An error answered as a meta/v1 Status."""

    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.details = details
        self.headers = headers or {}

    def body(self):
        st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": self.message}
        if self.reason:
            st["reason"] = self.reason
        if self.details is not None:
            st["details"] = self.details
        st["code"] = self.code
        return st


def _details(kind, name, causes=None, kind_field=None):
    d = {}
    if name is not None:
        d["name"] = name
    if kind is not None:
        if kind.group:
            d["group"] = kind.group
        d["kind"] = kind_field or kind.plural
    if causes:
        d["causes"] = causes
    return d


def not_found(kind, name):
    return ApiStatus(404, "NotFound", '%s "%s" not found' % (kind.resource, name), _details(kind, name))


def ns_not_found(ns):
    return ApiStatus(404, "NotFound", 'namespaces "%s" not found' % ns, {"name": ns, "kind": "namespaces"})


def already_exists(kind, name):
    return ApiStatus(409, "AlreadyExists", '%s "%s" already exists' % (kind.resource, name), _details(kind, name))


def rv_conflict(kind, name):
    return ApiStatus(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": the object has been modified; '
                     "please apply your changes to the latest version and try again" % (kind.resource, name),
                     _details(kind, name))


def bad_request(msg):
    return ApiStatus(400, "BadRequest", msg)


def invalid(kind, name, errs):
    if len(errs) == 1:
        agg = str(errs[0])
    else:
        agg = "[" + ", ".join(str(e) for e in errs) + "]"
    return ApiStatus(422, "Invalid", '%s "%s" is invalid: %s' % (kind.qualified_kind, name, agg),
                     _details(kind, name, [e.cause() for e in errs], kind_field=kind.kind))


def options_invalid(what, errs):
    """An invalid CreateOptions/PatchOptions/DeleteOptions."""
    agg = str(errs[0]) if len(errs) == 1 else "[" + ", ".join(str(e) for e in errs) + "]"
    return ApiStatus(422, "Invalid", '%s.meta.k8s.io "" is invalid: %s' % (what, agg),
                     {"group": "meta.k8s.io", "kind": what, "causes": [e.cause() for e in errs]})


def rand_suffix(n=5):
    return "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(n))


def strip_nulls_and_empty(v, node):
    """How a built-in object looks after the API server's Go round trip:
    null fields are gone, empty optional maps and lists are omitted
    (omitempty); what the schema requires stays."""
    if isinstance(v, dict):
        out = {}
        for k, val in v.items():
            child = node.child(k) if node is not None else None
            required = node is not None and node.kind == "struct" and k in node.required
            val = strip_nulls_and_empty(val, child)
            if val is None:
                continue
            if not required and isinstance(val, (dict, list)) and not val and child is not None \
                    and child.kind in ("map", "list"):
                continue
            out[k] = val
        return out
    if isinstance(v, list):
        elem = node.elem if node is not None else None
        return [strip_nulls_and_empty(x, elem) for x in v]
    return v


class Settings:
    def __init__(self, args):
        self.knative = args.knative
        self.autoscaling_v2 = not args.no_autoscaling_v2
        self.domain = args.domain
        self.rollout_delay = args.rollout_delay_ms / 1000.0
        self.knative_delay = args.knative_delay_ms / 1000.0
        self.deadline_scale = args.deadline_scale
        self.gc_delay = args.gc_delay_ms / 1000.0
        self.field_validation_default = args.field_validation_default
        self.fail_rollout = {}    # "ns/name" or "*" -> True
        self.fail_knative = {}    # "ns/name" or "*" -> message
        self.not_ready = {}       # "ns/deployment" -> {"count": pods not ready, "terminating": bool}

    def dump(self):
        return {"knative": self.knative, "autoscaling_v2": self.autoscaling_v2, "domain": self.domain,
                "rollout_delay_ms": int(self.rollout_delay * 1000), "knative_delay_ms": int(self.knative_delay * 1000),
                "deadline_scale": self.deadline_scale, "gc_delay_ms": int(self.gc_delay * 1000),
                "field_validation_default": self.field_validation_default,
                "fail_rollout": self.fail_rollout, "fail_knative": self.fail_knative,
                "not_ready": self.not_ready}


def qbool(value):
    """A boolean query parameter as the API server converts it: absent is
    unset, "0" and "false" (any case) are false, anything else is true."""
    if value is None:
        return None
    return not (value == "0" or value.lower() == "false")


class Request:
    """What a verb needs to know about the request."""

    def __init__(self, user, groups, query, ctype, user_agent):
        self.user, self.groups, self.query = user, groups, query
        self.ctype = ctype
        self.options_kind = "CreateOptions"
        self.user_agent = user_agent or ""
        self.warnings = []

    def q(self, name, default=None):
        return self.query.get(name, default)

    @property
    def dry_run(self):
        v = self.query.get("dryRun")
        if v is None:
            return False
        if v != "All":
            raise options_invalid(self.options_kind, [K.not_supported("dryRun", v, ["All"])])
        return True

    def manager(self):
        fm = self.query.get("fieldManager")
        if fm is None:
            fm = self.user_agent.split("/")[0][:128]
        if len(fm) > 128:
            raise options_invalid(self.options_kind, [FieldError("toolong", "fieldManager",
                                                               detail="may not be more than 128 bytes")])
        return fm

    def field_validation(self, default):
        v = self.query.get("fieldValidation") or default
        if v not in FIELD_VALIDATION:
            raise bad_request('fieldValidation must be one of "Ignore", "Warn", or "Strict", got "%s"' % v)
        return v


class Api:
    def __init__(self, schemas, store, settings, ca_pem=""):
        self.schemas = schemas
        self.store = store
        self.settings = settings
        self.ca_pem = ca_pem
        self._ip = 10
        self._nodeport = 30000
        K.knative_from_crd(schemas.knative_crd)
        self.hooks = []  # callables(kind, obj, event) run after a write (controllers)

    # -- kinds
    def kinds(self):
        out = [k for k in K.KINDS if self.settings.autoscaling_v2 or k.group != "autoscaling"]
        if self.settings.knative:
            out.append(K.KNATIVE)
        return out

    def find(self, group, version, plural):
        for k in self.kinds():
            if k.group == group and k.version == version and k.plural == plural:
                return k
        return None

    @staticmethod
    def key(kind):
        return "%s/%s" % (kind.group, kind.kind)

    def node(self, kind):
        return self.schemas.knative_service() if kind.crd else self.schemas.definition(kind.defname)

    def kind_by_key(self, kk):
        for k in K.KINDS + [K.KNATIVE]:
            if self.key(k) == kk:
                return k
        return None

    # -- reading
    def get(self, kind, ns, name):
        obj = self.store.get(self.key(kind), ns, name)
        if obj is None:
            raise not_found(kind, name)
        return copy.deepcopy(obj)

    def list(self, kind, ns, label_sel, field_sel, limit=None, cont=None):
        items = [o for o in self.store.list(self.key(kind), ns)
                 if (not label_sel or _labels_match(label_sel, o)) and (not field_sel or _fields_match(field_sel, o))]
        start = 0
        if cont:
            try:
                tok = json.loads(base64.b64decode(cont))
                start = int(tok["start"])
            except (ValueError, KeyError, TypeError):
                raise bad_request('continue key is not valid: illegal base64 data at input byte 0')
        meta = {"resourceVersion": str(self.store.rv)}
        page = items[start:]
        if limit:
            page = items[start:start + limit]
            if start + limit < len(items):
                meta["continue"] = base64.b64encode(json.dumps({"v": "meta.k8s.io/v1", "rv": self.store.rv,
                                                                "start": start + limit}).encode()).decode()
                meta["remainingItemCount"] = len(items) - start - limit
        out_items = []
        for o in page:
            o = copy.deepcopy(o)
            if not kind.crd:  # a typed list's items carry no kind/apiVersion
                o.pop("kind", None)
                o.pop("apiVersion", None)
            out_items.append(o)
        return {"kind": kind.kind + "List", "apiVersion": kind.gv, "metadata": meta, "items": out_items}

    # -- writes
    def _decode_body(self, req, text):
        ctype = (req.ctype or "application/json").split(";")[0].strip().lower()
        try:
            if ctype in ("application/yaml", "application/apply-patch+yaml"):
                return _yaml_load(text)
            if ctype in ("application/json", ""):
                return loads_json(text)
        except ValueError as e:
            raise bad_request("couldn't get version/kind; json parse error: %s" % e)
        except yaml.YAMLError as e:
            raise bad_request("error converting YAML to JSON: %s" % str(e).replace("\n", " "))
        raise ApiStatus(415, "UnsupportedMediaType", 'the body of the request was in an unknown format - accepted '
                        'media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf, '
                        'application/cbor')

    def _check_gvk(self, kind, body):
        if not isinstance(body, dict):
            raise bad_request("couldn't get version/kind; json parse error: expected an object")
        av, k = body.get("apiVersion"), body.get("kind")
        if not k:
            if kind.crd:  # custom resources are decoded as unstructured, which needs a kind
                raise bad_request("Object 'Kind' is missing in '%s'" % json.dumps(body, separators=(",", ":"))[:200])
            return  # a built-in endpoint defaults the group-version-kind it serves
        if av and av != kind.gv:
            raise bad_request('the API version in the data (%s) does not match the expected API version (%s)'
                              % (av, kind.gv))
        if k != kind.kind:
            raise bad_request('%s in version "%s" cannot be handled as a %s: no kind "%s" is registered for '
                              'version "%s" in scheme "pkg/api/legacyscheme/scheme.go:30"'
                              % (k, kind.version, kind.kind, k, kind.gv))

    def _strict(self, kind, req, body, default=None):
        """Decode body for kind: Go-JSON type errors (400), unknown and
        duplicate fields by fieldValidation; returns the cleaned object."""
        fv = req.field_validation(default or self.settings.field_validation_default)
        node = self.node(kind)
        if kind.crd:
            out, unknown, errs = validate_crd(body, node)
            dup = []
            if errs:
                raise invalid(kind, (body.get("metadata") or {}).get("name", ""), errs)
        else:
            out, d = decode_obj(body, node)
            if d.type_error:
                raise bad_request('%s in version "%s" cannot be handled as a %s: %s'
                                  % (kind.kind, kind.version, kind.kind, d.type_error))
            unknown, dup = d.unknown, d.duplicate
        problems = ['unknown field "%s"' % u for u in unknown] + ['duplicate field "%s"' % x for x in dup]
        if problems:
            if fv == "Strict":
                raise bad_request('%s in version "%s" cannot be handled as a %s: strict decoding error: %s'
                                  % (kind.kind, kind.version, kind.kind, ", ".join(problems)))
            if fv == "Warn":
                req.warnings.extend(problems)
        out["apiVersion"], out["kind"] = kind.gv, kind.kind
        return out

    def create(self, kind, ns, req, text):
        body = self._decode_body(req, text)
        self._check_gvk(kind, body)
        obj = self._strict(kind, req, body)
        meta = obj.setdefault("metadata", {})
        if meta.get("namespace") and kind.namespaced and meta["namespace"] != ns:
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + rand_suffix()
        if meta.get("managedFields"):
            meta.pop("managedFields")  # the API server recomputes them
        _no_rv_on_create(meta)
        manager = req.manager()
        dry = req.dry_run
        return self._write(kind, ns, meta.get("name", ""), None, obj, req, dry, manager=manager, code=201)

    def update(self, kind, ns, name, req, text, subresource=""):
        body = self._decode_body(req, text)
        self._check_gvk(kind, body)
        obj = self._strict(kind, req, body)
        meta = obj.setdefault("metadata", {})
        if meta.get("name") and meta["name"] != name:
            raise bad_request("the name of the object (%s) does not match the name on the URL (%s)" % (meta["name"], name))
        if meta.get("namespace") and kind.namespaced and meta["namespace"] != ns:
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
        old = self.store.get(self.key(kind), ns, name)
        if old is None:
            raise not_found(kind, name)
        rv = meta.get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise rv_conflict(kind, name)
        if subresource == "status":
            new = copy.deepcopy(old)
            new["status"] = obj.get("status", {})
            obj = new
        return self._write(kind, ns, name, old, obj, req, req.dry_run, manager=req.manager(), code=200,
                           subresource=subresource)

    def patch(self, kind, ns, name, req, text, subresource=""):
        ctype = (req.ctype or "").split(";")[0].strip().lower()
        force = req.q("force")
        if ctype == "application/apply-patch+yaml":
            return self._apply(kind, ns, name, req, text, bool(qbool(force)))
        if force is not None:
            raise options_invalid("PatchOptions", [FieldError("forbidden", "force",
                                                              detail="may not be specified for non-apply patch")])
        accepted = ["application/json-patch+json", "application/merge-patch+json"]
        if not kind.crd:
            accepted.append("application/strategic-merge-patch+json")
        if ctype not in accepted:
            raise ApiStatus(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                            "accepted media types include: " + ", ".join(accepted + ["application/apply-patch+yaml",
                                                                                    "application/apply-patch+cbor"]))
        old = self.store.get(self.key(kind), ns, name)
        if old is None:
            raise not_found(kind, name)
        try:
            patch = json.loads(text or "null")
        except ValueError as e:
            raise bad_request("error decoding patch: %s" % e)
        cur = copy.deepcopy(old)
        try:
            if ctype == "application/json-patch+json":
                new = json_patch(cur, patch)
            elif ctype == "application/merge-patch+json":
                new = merge_patch(cur, patch)
            else:
                new = strategic_merge(cur, patch, self.node(kind))
        except PatchError as e:
            raise ApiStatus(422, "Invalid", str(e))
        if not isinstance(new, dict):
            raise bad_request("the patch did not produce an object")
        if (new.get("metadata") or {}).get("name") != name:
            raise bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                              % ((new.get("metadata") or {}).get("name"), name))
        rv = (patch.get("metadata") or {}).get("resourceVersion") if isinstance(patch, dict) else None
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise rv_conflict(kind, name)
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        self._check_gvk(kind, new)
        obj = self._strict(kind, req, new)
        if subresource == "status":
            st = obj.get("status", {})
            obj = copy.deepcopy(old)
            obj["status"] = st
        return self._write(kind, ns, name, old, obj, req, req.dry_run, manager=req.manager(), code=200,
                           subresource=subresource)

    def _apply(self, kind, ns, name, req, text, force):
        fm = req.q("fieldManager")
        if not fm:
            raise options_invalid("PatchOptions", [FieldError("required", "fieldManager",
                                                              detail="is required for apply patch")])
        if len(fm) > 128:
            raise options_invalid("PatchOptions", [FieldError("toolong", "fieldManager",
                                                              detail="may not be more than 128 bytes")])
        try:
            cfg = _yaml_load(text)
        except yaml.YAMLError as e:
            raise bad_request("error decoding YAML: %s" % str(e).replace("\n", " "))
        if not isinstance(cfg, dict):
            raise bad_request("error decoding YAML: the apply patch is not an object")
        av = cfg.get("apiVersion")
        if av != kind.gv:
            raise bad_request("Incorrect version specified in apply patch. Specified patch version: %s, expected: %s"
                              % (av or "", kind.gv))
        if cfg.get("kind") != kind.kind:
            raise bad_request("Incorrect kind specified in apply patch. Specified patch kind: %s, expected: %s"
                              % (cfg.get("kind", ""), kind.kind))
        meta = cfg.get("metadata") or {}
        if not isinstance(meta, dict):
            meta = {}
        if meta.get("managedFields"):
            raise bad_request("metadata.managedFields must be nil")
        if meta.get("name") not in (None, name):
            raise bad_request("the name of the object (%s) does not match the name on the URL (%s)" % (meta["name"], name))
        if meta.get("namespace") not in (None, "") and kind.namespaced and meta["namespace"] != ns:
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
        req.field_validation(self.settings.field_validation_default)
        old = self.store.get(self.key(kind), ns, name)
        if old is not None and meta.get("resourceVersion") and meta["resourceVersion"] != old["metadata"]["resourceVersion"]:
            raise rv_conflict(kind, name)
        if old is None:
            _no_rv_on_create(meta)
        node = self.node(kind)
        now = now_rfc3339()
        live = copy.deepcopy(old) if old is not None else None
        if live is None:
            # an apply that creates: the object starts from the identity the request names
            live_base = {"apiVersion": kind.gv, "kind": kind.kind, "metadata": {"name": name}}
            if kind.namespaced:
                live_base["metadata"]["namespace"] = ns
        else:
            live_base = live
        try:
            merged, managed = fieldpath.apply(live_base, cfg, (live or {}).get("metadata", {}).get("managedFields"),
                                              fm, force, kind.gv, node, now)
        except fieldpath.SSAError as e:
            raise ApiStatus(500, "", "failed to create typed patch object (%s/%s; %s, Kind=%s): %s"
                            % (ns if kind.namespaced else "", name, kind.gv, kind.kind, e))
        except fieldpath.Conflicts as c:
            raise ApiStatus(409, "Conflict", fieldpath.conflict_message(c.conflicts), {"causes": [
                {"reason": "FieldManagerConflict", "message": "conflict with %s" % fieldpath.manager_label(mid),
                 "field": fieldpath.path_str(p)} for mid, p in c.conflicts]})
        merged.setdefault("metadata", {})["name"] = name
        obj = self._strict(kind, req, merged, default="Ignore")
        return self._write(kind, ns, name, old, obj, req, req.dry_run, managed=managed,
                           code=201 if old is None else 200)

    # -- the shared write path: defaults, validation, admission, storage
    def _write(self, kind, ns, name, old, obj, req, dry, manager=None, managed=None, code=200, subresource=""):
        kk = self.key(kind)
        meta = obj.setdefault("metadata", {})
        if kind.namespaced:
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        now = now_rfc3339()
        # server-set metadata
        if old is None:
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now
            for f in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
                meta.pop(f, None)
            obj.pop("status", None)
        else:
            om = old["metadata"]
            for f in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"):
                if f in om:
                    meta[f] = om[f]
                else:
                    meta.pop(f, None)
            if subresource != "status":
                if "status" in old:
                    obj["status"] = copy.deepcopy(old["status"])
                else:
                    obj.pop("status", None)
        meta.pop("resourceVersion", None)
        meta.pop("generation", None)
        # mutating admission: NamespaceLifecycle (before any validation)
        if kind.namespaced:
            nso = self.store.get("/Namespace", None, ns)
            if nso is None:
                raise ns_not_found(ns)
            if old is None and (nso.get("status") or {}).get("phase") == "Terminating":
                msg = "unable to create new content in namespace %s because it is being terminated" % ns
                raise ApiStatus(403, "Forbidden", '%s "%s" is forbidden: %s' % (kind.resource, name, msg),
                                _details(kind, name, [{"reason": "NamespaceTerminating", "message": msg,
                                                       "field": "metadata.namespace"}]))
        # the registry's own work
        if kind.kind == "Namespace" and not kind.crd:
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = name
            if old is None:
                obj["status"] = {"phase": "Active"}
        if kind.kind == "Service" and not kind.crd:
            self._allocate_service(obj, old)
        if kind.kind == "Secret" and not kind.crd and obj.get("stringData"):
            # stringData is write-only: the conversion folds it into data
            data = obj.setdefault("data", {})
            for k, v in obj.pop("stringData").items():
                data[k] = base64.b64encode((v or "").encode()).decode()
        if kind.crd:
            self._knative_mutate(obj, old, req)
        K.apply_defaults(kind, obj)
        node = self.node(kind)
        if not kind.crd:
            obj = strip_nulls_and_empty(obj, node)
            meta = obj["metadata"]
        # generation: bumped by any change outside metadata and status
        if kind.generation:
            if old is None:
                meta["generation"] = 1
            else:
                gen = old["metadata"].get("generation", 1)
                strip = lambda o: {k: v for k, v in o.items() if k not in ("metadata", "status", "apiVersion", "kind")}
                meta["generation"] = gen + 1 if strip(old) != strip(obj) else gen
        # validation (422)
        errs = K.meta_errors(kind, obj)
        if kind.crd:
            _, _, cerrs = validate_crd(obj, node)
            errs += cerrs
        else:
            errs += K.generic_errors(obj, node)
        errs += K.kind_errors(kind, obj)
        if old is not None:
            errs += self._immutable(kind, old, obj)
        if errs:
            raise invalid(kind, name, _dedupe(errs))
        # validating admission: Knative's webhook
        if kind.crd:
            kerrs = K.knative_webhook_errors(obj)
            if kerrs:
                raise ApiStatus(400, "", K.knative_denied_message(kerrs))
        if old is None and self.store.get(kk, ns if kind.namespaced else None, name) is not None:
            raise already_exists(kind, name)
        # managed fields
        if managed is None:
            managed = fieldpath.update(old, obj, (old or {}).get("metadata", {}).get("managedFields"),
                                       manager, kind.gv, node, now, subresource=subresource)
        else:
            managed.prune_to(fieldpath.present_paths(obj, node))
        entries = managed.entries()
        if entries:
            meta["managedFields"] = entries
        else:
            meta.pop("managedFields", None)
        # finalizers emptied on a deleting object: it goes now
        if old is not None and meta.get("deletionTimestamp") and not meta.get("finalizers"):
            if not dry:
                gone = self.store.delete(kk, ns if kind.namespaced else None, name)
                self._after(kind, gone, "DELETED")
            return 200, self._deleted_status(kind, obj), req.warnings
        # a write that changes nothing is not stored (no new resourceVersion)
        if old is not None:
            cmp_old = _without_times(old)
            cmp_new = _without_times(obj)
            cmp_new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
            if cmp_old == cmp_new:
                return 200, copy.deepcopy(old), req.warnings
        obj = _order(obj)
        meta = obj["metadata"]
        if dry:
            if old is not None:
                meta["resourceVersion"] = old["metadata"]["resourceVersion"]
            return code, obj, req.warnings
        meta["resourceVersion"] = str(self.store.next_rv())
        self.store.put(kk, ns if kind.namespaced else None, name, obj, "ADDED" if old is None else "MODIFIED")
        self._after(kind, obj, "ADDED" if old is None else "MODIFIED")
        return code, copy.deepcopy(obj), req.warnings

    def _after(self, kind, obj, event):
        for h in self.hooks:
            h(kind, obj, event)

    def _immutable(self, kind, old, new):
        errs = []
        if kind.kind == "Deployment" and not kind.crd:
            if (old.get("spec") or {}).get("selector") != (new.get("spec") or {}).get("selector"):
                errs.append(FieldError("invalid", "spec.selector", (new.get("spec") or {}).get("selector"),
                                       "field is immutable"))
        if kind.kind == "Service" and not kind.crd:
            o, n = old.get("spec") or {}, new.get("spec") or {}
            if o.get("clusterIP") and n.get("clusterIP") != o.get("clusterIP") and n.get("type") != "ExternalName":
                errs.append(FieldError("invalid", "spec.clusterIPs[0]", n.get("clusterIP"),
                                       "may not change once set"))
        if kind.kind in ("Secret", "ConfigMap") and not kind.crd and old.get("immutable"):
            for f in ("data", "binaryData", "stringData"):
                if old.get(f) != new.get(f):
                    errs.append(FieldError("forbidden", f, detail="field is immutable when `immutable` is set"))
        if kind.kind == "RoleBinding" and old.get("roleRef") != new.get("roleRef"):
            errs.append(FieldError("invalid", "roleRef", new.get("roleRef"), "cannot change roleRef"))
        if kind.kind == "Job" and not kind.crd:
            if (old.get("spec") or {}).get("template") != (new.get("spec") or {}).get("template"):
                errs.append(FieldError("invalid", "spec.template", "", "field is immutable"))
        return errs

    def _allocate_service(self, obj, old):
        spec = obj.setdefault("spec", {})
        if spec.get("type") == "ExternalName":
            return
        if old is not None and (old.get("spec") or {}).get("clusterIP"):
            spec.setdefault("clusterIP", old["spec"]["clusterIP"])
            spec.setdefault("clusterIPs", old["spec"].get("clusterIPs", [old["spec"]["clusterIP"]]))
        if not spec.get("clusterIP"):
            self._ip += 1
            spec["clusterIP"] = "10.96.%d.%d" % (self._ip // 250, self._ip % 250 + 1)
        if spec["clusterIP"] != "None":
            spec.setdefault("clusterIPs", [spec["clusterIP"]])
        else:
            spec.setdefault("clusterIPs", ["None"])
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            oldports = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
                        for p in ((old or {}).get("spec") or {}).get("ports") or []}
            for p in spec.get("ports") or []:
                if not p.get("nodePort"):
                    np = oldports.get((p.get("port"), p.get("protocol", "TCP")))
                    if not np:
                        self._nodeport += 1
                        np = self._nodeport
                    p["nodePort"] = np
        if old is None:
            obj["status"] = {"loadBalancer": {}}

    def _knative_mutate(self, obj, old, req):
        """Knative's defaulting webhook: creator and lastModifier annotations."""
        ann = obj.setdefault("metadata", {}).setdefault("annotations", {})
        if old is None:
            ann["serving.knative.dev/creator"] = req.user
            ann["serving.knative.dev/lastModifier"] = req.user
        else:
            oann = old["metadata"].get("annotations") or {}
            ann["serving.knative.dev/creator"] = oann.get("serving.knative.dev/creator", req.user)
            ann["serving.knative.dev/lastModifier"] = req.user if old.get("spec") != obj.get("spec") else \
                oann.get("serving.knative.dev/lastModifier", req.user)

    # -- delete
    def delete(self, kind, ns, name, req, text):
        opts = {}
        if text and text.strip():
            try:
                opts = json.loads(text)
            except ValueError as e:
                raise bad_request("error decoding DeleteOptions: %s" % e)
        policy = req.q("propagationPolicy") or opts.get("propagationPolicy")
        orphan = opts.get("orphanDependents")
        if req.q("orphanDependents") is not None:
            orphan = qbool(req.q("orphanDependents"))
        if policy is not None and policy not in ("Orphan", "Background", "Foreground"):
            raise options_invalid("DeleteOptions", [K.not_supported("propagationPolicy", policy,
                                                                    ["Foreground", "Background", "Orphan", "nil"])])
        if policy is None:
            policy = "Orphan" if orphan else "Background"
        dry = req.dry_run or "All" in (opts.get("dryRun") or [])
        kk = self.key(kind)
        nsk = ns if kind.namespaced else None
        obj = self.store.get(kk, nsk, name)
        if obj is None:
            raise not_found(kind, name)
        pre = opts.get("preconditions") or {}
        if pre.get("uid") and pre["uid"] != obj["metadata"]["uid"]:
            raise ApiStatus(409, "Conflict", "Operation cannot be fulfilled on %s \"%s\": Precondition failed: UID in "
                            "precondition: %s, UID in object meta: %s" % (kind.resource, name, pre["uid"],
                                                                          obj["metadata"]["uid"]), _details(kind, name))
        if pre.get("resourceVersion") and pre["resourceVersion"] != obj["metadata"]["resourceVersion"]:
            raise ApiStatus(409, "Conflict", "Operation cannot be fulfilled on %s \"%s\": Precondition failed: "
                            "ResourceVersion in precondition: %s, ResourceVersion in object meta: %s"
                            % (kind.resource, name, pre["resourceVersion"], obj["metadata"]["resourceVersion"]),
                            _details(kind, name))
        new = copy.deepcopy(obj)
        meta = new["metadata"]
        fins = list(meta.get("finalizers") or [])
        if policy == "Foreground" and "foregroundDeletion" not in fins:
            fins.append("foregroundDeletion")
        if policy == "Orphan" and "orphan" not in fins:
            fins.append("orphan")
        if kind.kind == "Namespace" and not kind.crd:
            # the namespace controller empties it, then removes spec.finalizers
            if dry:
                return 200, new, []
            if not meta.get("deletionTimestamp"):
                meta["deletionTimestamp"] = now_rfc3339()
                meta["deletionGracePeriodSeconds"] = 0
                new["status"] = {"phase": "Terminating"}
                if fins:
                    meta["finalizers"] = fins
                meta["resourceVersion"] = str(self.store.next_rv())
                self.store.put(kk, None, name, new, "MODIFIED")
                self._after(kind, new, "MODIFIED")
            return 200, copy.deepcopy(self.store.get(kk, None, name)), []
        if fins:
            if dry:
                meta.setdefault("deletionTimestamp", now_rfc3339())
                return 200, new, []
            if not meta.get("deletionTimestamp"):
                meta["deletionTimestamp"] = now_rfc3339()
                meta["deletionGracePeriodSeconds"] = 0
            meta["finalizers"] = fins
            if new != obj:
                meta["resourceVersion"] = str(self.store.next_rv())
                self.store.put(kk, nsk, name, new, "MODIFIED")
                self._after(kind, new, "MODIFIED")
            return 200, copy.deepcopy(new), []
        if dry:
            return 200, self._deleted_status(kind, obj), []
        gone = self.store.delete(kk, nsk, name)
        self._after(kind, gone, "DELETED")
        return 200, self._deleted_status(kind, obj), []

    def delete_collection(self, kind, ns, req, label_sel, field_sel, text):
        items = self.list(kind, ns, label_sel, field_sel)["items"]
        for o in items:
            try:
                self.delete(kind, ns, o["metadata"]["name"], req, text)
            except ApiStatus:
                pass
        return 200, self.list(kind, ns, label_sel, field_sel), []

    @staticmethod
    def _deleted_status(kind, obj):
        d = {"name": obj["metadata"]["name"], "kind": kind.plural, "uid": obj["metadata"].get("uid", "")}
        if kind.group:
            d["group"] = kind.group
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": d}

    # -- controllers' writes (no validation; status subresource semantics)
    def controller_write(self, kind, ns, name, mutate, manager="kube-controller-manager", subresource="status"):
        kk = self.key(kind)
        nsk = ns if kind.namespaced else None
        old = self.store.get(kk, nsk, name)
        if old is None:
            return None
        # controllers change metadata, status and (EndpointSlices) top-level
        # lists they replace whole: copy only metadata and status
        new = dict(old)
        new["metadata"] = dict(old["metadata"])  # mutators replace lists and managedFields whole
        if "annotations" in old["metadata"]:
            new["metadata"]["annotations"] = dict(old["metadata"]["annotations"])
        if "status" in old:
            new["status"] = copy.deepcopy(old["status"])
        mutate(new)
        if new == old:
            return old
        node = self.node(kind)
        changed = [k for k in set(old) | set(new) if old.get(k) != new.get(k)]
        managed = fieldpath.update(old, new, old["metadata"].get("managedFields"), manager, kind.gv, node,
                                   now_rfc3339(), subresource=subresource, only=changed)
        entries = managed.entries()
        if entries:
            new["metadata"]["managedFields"] = entries
        new["metadata"]["resourceVersion"] = str(self.store.next_rv())
        self.store.put(kk, nsk, name, new, "MODIFIED")
        self._after(kind, new, "MODIFIED")
        return new

    def controller_create(self, kind, ns, obj, manager):
        """An object a controller makes (EndpointSlices, the default
        ServiceAccount, kube-root-ca.crt)."""
        kk = self.key(kind)
        meta = obj.setdefault("metadata", {})
        if not meta.get("name"):
            meta["name"] = meta.get("generateName", "") + rand_suffix()
        meta["namespace"] = ns
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_rfc3339()
        if kind.generation:
            meta["generation"] = 1
        obj["apiVersion"], obj["kind"] = kind.gv, kind.kind
        K.apply_defaults(kind, obj)
        node = self.node(kind)
        managed = fieldpath.update(None, obj, None, manager, kind.gv, node, now_rfc3339())
        meta["managedFields"] = managed.entries()
        obj = _order(obj)
        obj["metadata"]["resourceVersion"] = str(self.store.next_rv())
        self.store.put(kk, ns, meta["name"], obj, "ADDED")
        self._after(kind, obj, "ADDED")
        return obj

    def controller_delete(self, kind, ns, name):
        kk = self.key(kind)
        gone = self.store.delete(kk, ns if kind.namespaced else None, name)
        if gone is not None:
            self._after(kind, gone, "DELETED")
        return gone


# ---------------------------------------------------------------- helpers
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _yaml_load(text):
    """An apply body: JSON (what most clients send, and valid YAML) is read
    as JSON, anything else as YAML (with libyaml when python3-yaml has it)."""
    if not text or not text.strip():
        return None
    if text.lstrip().startswith("{"):
        try:
            return loads_json(text)
        except ValueError:
            pass
    return yaml.load(text, Loader=_YAML_LOADER)


def _labels_match(reqs, obj):
    from .store import labels_match
    return labels_match(reqs, (obj.get("metadata") or {}).get("labels"))


def _fields_match(reqs, obj):
    from .store import fields_match
    return fields_match(reqs, obj)


def _no_rv_on_create(meta):
    """kube-apiserver refuses a create (or an apply that creates) whose
    object carries a resourceVersion it can parse (a 500 without a reason)."""
    rv = meta.get("resourceVersion")
    if isinstance(rv, str) and rv.isdigit() and int(rv) > 0:
        raise ApiStatus(500, "", "resourceVersion should not be set on objects to be created")


def _dedupe(errs):
    seen, out = set(), []
    for e in errs:
        k = str(e)
        if k not in seen:
            seen.add(k)
            out.append(e)
    return out


def _without_times(obj):
    o = copy.deepcopy(obj)
    for e in o.get("metadata", {}).get("managedFields") or []:
        e.pop("time", None)
    return o


META_ORDER = ["name", "generateName", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
              "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences",
              "finalizers", "managedFields"]


def _order(obj):
    """Field order as the API server writes JSON (Go struct order) for the
    top level and metadata."""
    out = {}
    for k in ("kind", "apiVersion", "metadata"):
        if k in obj:
            out[k] = obj[k]
    for k, v in obj.items():
        if k not in out and k != "status":
            out[k] = v
    if "status" in obj:
        out["status"] = obj["status"]
    meta = out.get("metadata")
    if isinstance(meta, dict):
        m = {k: meta[k] for k in META_ORDER if k in meta}
        m.update({k: v for k, v in meta.items() if k not in m})
        out["metadata"] = m
    return out


# ---------------------------------------------------------------- patches
class PatchError(ValueError):
    pass


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError('invalid JSON pointer "%s"' % path)
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc, parts):
    cur = doc
    for p in parts:
        if isinstance(cur, dict) and p in cur:
            cur = cur[p]
        elif isinstance(cur, list) and p.isdigit() and int(p) < len(cur):
            cur = cur[int(p)]
        else:
            raise PatchError("jsonpatch: path %s does not exist" % "/".join([""] + parts))
    return cur


def json_patch(doc, ops):
    """RFC 6902 JSON patch."""
    if not isinstance(ops, list):
        raise PatchError("json patch must be an array of operations")
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError("invalid JSON patch operation: %s" % json.dumps(op))
        parts = _pointer(op["path"])
        name = op["op"]
        if name == "test":
            if _walk(doc, parts) != op.get("value"):
                raise PatchError("testing value %s failed: test failed" % op["path"])
            continue
        if name in ("move", "copy"):
            val = copy.deepcopy(_walk(doc, _pointer(op.get("from", ""))))
            if name == "move":
                doc = _remove(doc, _pointer(op["from"]))
            doc = _add(doc, parts, val)
        elif name == "add":
            doc = _add(doc, parts, copy.deepcopy(op.get("value")))
        elif name == "remove":
            doc = _remove(doc, parts)
        elif name == "replace":
            _walk(doc, parts)
            doc = _remove(doc, parts)
            doc = _add(doc, parts, copy.deepcopy(op.get("value")))
        else:
            raise PatchError('Unexpected kind: %s' % name)
    return doc


def _add(doc, parts, val):
    if not parts:
        return val
    parent = _walk(doc, parts[:-1])
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = val
    elif isinstance(parent, list):
        if last == "-":
            parent.append(val)
        elif last.isdigit() and int(last) <= len(parent):
            parent.insert(int(last), val)
        else:
            raise PatchError("jsonpatch: index %s out of range" % last)
    else:
        raise PatchError("jsonpatch: cannot add to %s" % "/".join([""] + parts))
    return doc


def _remove(doc, parts):
    parent = _walk(doc, parts[:-1])
    last = parts[-1]
    if isinstance(parent, dict) and last in parent:
        del parent[last]
    elif isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        del parent[int(last)]
    else:
        raise PatchError("jsonpatch: path %s does not exist" % "/".join([""] + parts))
    return doc


def strategic_merge(target, patch, node):
    """Strategic merge patch, the simple parts: maps merge, null deletes,
    lists with patch strategy merge merge items by their merge key (an item
    {"$patch": "delete", key: v} deletes), primitive merge lists union,
    other lists are replaced; $setElementOrder and $retainKeys directives
    are accepted and ignored, $patch: replace replaces a map."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: v for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if k.startswith("$setElementOrder/") or k in ("$retainKeys", "$patch"):
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            f = k.split("/", 1)[1]
            out[f] = [x for x in out.get(f) or [] if x not in (v or [])]
            continue
        child = node.child(k) if node is not None else None
        if v is None:
            out.pop(k, None)
        elif child is not None and child.kind == "list" and isinstance(v, list) and child.list_type in ("map", "set"):
            out[k] = _smp_list(out.get(k) or [], v, child)
        elif isinstance(v, dict) and (child is None or child.kind in ("struct", "map", "any")):
            r = strategic_merge(out.get(k), v, child)
            if r is None:
                out.pop(k, None)
            else:
                out[k] = r
        else:
            out[k] = copy.deepcopy(v)
    return out


def _smp_list(cur, patch, node):
    if node.list_type == "set" or node.elem is None or node.elem.kind != "struct":
        out = list(cur)
        for x in patch:
            if x not in out:
                out.append(x)
        return out
    key = node.keys[0] if node.keys else "name"
    out = [copy.deepcopy(x) for x in cur]
    for item in patch:
        if not isinstance(item, dict):
            continue
        kv = item.get(key)
        idx = next((i for i, x in enumerate(out) if isinstance(x, dict) and x.get(key) == kv), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                del out[idx]
            continue
        if idx is None:
            out.append(strategic_merge({}, item, node.elem))
        else:
            out[idx] = strategic_merge(out[idx], item, node.elem)
    return out
