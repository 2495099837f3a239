"""Server-side apply for the fake: field sets, metadata.managedFields, merge,
ownership and conflicts, following the Kubernetes documentation
(https://kubernetes.io/docs/reference/using-api/server-side-apply/) and the
behaviour of structured-merge-diff as the API server shows it.

A path is a tuple of FieldsV1 elements: "f:name" (a struct field or map key),
'k:{"name":"web"}' (an item of a list with x-kubernetes-list-type map, its keys
as sorted compact JSON), 'v:"x"' (an item of a set), "i:3" (an index, unused
here). A field set is a Python set of paths. What goes in a set (as the API
server's toFieldSet does): every scalar, every atomic list or map, every
associative list item (shown as "." when it also has children), every map
entry, and a struct field only when its value is null or an empty object.

Not tracked (as the API server strips them): apiVersion, kind, metadata.name,
.namespace, .uid, .resourceVersion, .generation, .creationTimestamp,
.managedFields, .selfLink, and status (reset by the main resource endpoint).
"""
import copy
import json

from .schema import ANY, KEY_DEFAULTS

STRIPPED = {("f:apiVersion",), ("f:kind",), ("f:metadata",)} | {
    ("f:metadata", "f:" + f) for f in ("name", "namespace", "creationTimestamp", "selfLink", "uid",
                                       "clusterName", "generation", "managedFields", "resourceVersion")}
MISSING = object()


class SSAError(Exception):
    """The applied configuration cannot be turned into a typed value."""


class Conflicts(Exception):
    def __init__(self, conflicts):
        super().__init__("conflicts")
        self.conflicts = conflicts  # [(manager id tuple, path)]


def _dumps(v):
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def item_element(item, node, strict):
    """The path element of one item of an associative list (node.list_type
    map or set)."""
    if node.list_type == "set":
        return "v:" + _dumps(item)
    if not isinstance(item, dict):
        if strict:
            raise SSAError("expected map, got %s" % _dumps(item))
        return None
    key = {}
    for k in node.keys:
        if k in item and item[k] is not None:
            key[k] = item[k]
        elif k in KEY_DEFAULTS and node.elem.kind == "struct" and k in node.elem.props:
            key[k] = KEY_DEFAULTS[k]
        else:
            if strict:
                raise SSAError('associative list with keys has an element that omits key field "%s" '
                               "(and doesn't have default value)" % k)
            return None
    return "k:" + _dumps(key)


def element_str(e):
    """A path element as structured-merge-diff prints it in conflicts."""
    t, rest = e[0], e[2:]
    if t == "f":
        return "." + rest
    if t == "k":
        key = json.loads(rest)
        return "[" + ",".join("%s=%s" % (k, _dumps(key[k])) for k in sorted(key)) + "]"
    if t == "v":
        return "[=%s]" % rest
    return "[%s]" % rest


def path_str(path):
    return "".join(element_str(e) for e in path)


# ---------------------------------------------------------------- field sets
def fieldset(obj, node, errors=None, status=False):
    """The field set of obj. With errors (a list), the value is also checked
    against the schema the way the API server types an applied configuration
    (unknown fields, wrong types, list items without their keys), and each
    problem is appended as "<path>: <message>"."""
    out = set()
    _fs(obj, node, (), out, errors)
    return {p for p in out if p not in STRIPPED and (status or p[:1] != ("f:status",))}


def _child(node, key):
    if node.kind == "struct":
        if key in node.props:
            return node.props[key], True
        if node.elem is not None:
            return node.elem, False
        if node.preserve:
            return ANY, False
        return None, False
    if node.kind == "map":
        return node.elem, False
    return ANY, False


def _fs(v, node, prefix, out, strict):
    k = node.kind
    if k in ("struct", "map") and not node.atomic or (k == "any" and isinstance(v, dict)):
        if not isinstance(v, dict):
            if strict is not None and v is not None:
                strict.append("%s: expected map, got %s" % (path_str(prefix), _dumps(v)))
            if prefix:
                out.add(prefix)
            return
        for key, val in v.items():
            child, declared = _child(node, key)
            if child is None:
                if strict is not None:
                    strict.append("%s: field not declared in schema" % path_str(prefix + ("f:" + key,)))
                continue
            p = prefix + ("f:" + key,)
            if val is None or (isinstance(val, dict) and not val) or not declared:
                out.add(p)
            _fs(val, child, p, out, strict)
        return
    if k == "list" and node.list_type in ("map", "set"):
        if not isinstance(v, list):
            if strict is not None and v is not None:
                strict.append("%s: expected list, got %s" % (path_str(prefix), _dumps(v)))
            out.add(prefix)
            return
        seen = set()
        for item in v:
            try:
                e = item_element(item, node, strict is not None)
            except SSAError as err:
                strict.append("%s: %s" % (path_str(prefix), err))
                continue
            if e is None:
                continue
            if e in seen and strict is not None:
                strict.append("%s: duplicate entries for key %s" % (path_str(prefix), element_str(e)))
            seen.add(e)
            p = prefix + (e,)
            out.add(p)
            if node.list_type == "map":
                _fs(item, node.elem, p, out, strict)
        return
    if strict is not None and v is not None:
        err = _scalar_error(v, node)
        if err:
            strict.append("%s: %s" % (path_str(prefix), err))
    if prefix:
        out.add(prefix)


def _scalar_error(v, node):
    """structured-merge-diff's type checks for a leaf."""
    k = node.kind
    if k == "scalar":
        if node.stype in ("integer", "number"):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                return "expected numeric (int or float), got %s" % _go_kind(v)
        elif node.stype == "string":
            if not isinstance(v, str):
                return "expected string, got %s" % _dumps(v)
        elif node.stype == "boolean":
            if not isinstance(v, bool):
                return "expected boolean, got %s" % _dumps(v)
    elif k in ("ios", "quantity"):
        if isinstance(v, (dict, list)):
            return "expected any scalar, got %s" % _dumps(v)
    elif k == "list":  # atomic
        if not isinstance(v, list):
            return "expected list, got %s" % _dumps(v)
    elif k in ("struct", "map"):  # atomic
        if not isinstance(v, dict):
            return "expected map, got %s" % _dumps(v)
    return None


def _go_kind(v):
    if isinstance(v, str):
        return "string"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, list):
        return "[]interface {}"
    if isinstance(v, dict):
        return "map[string]interface {}"
    return "<nil>"


# ---------------------------------------------------------------- FieldsV1
def encode(fs):
    """A field set as FieldsV1 JSON (nested objects, "." for a member that
    also has children)."""
    root = {}
    for p in sorted(fs, key=len):
        cur = root
        for e in p:
            cur = cur.setdefault(e, {})
    for p in fs:
        cur = root
        for e in p:
            cur = cur[e]
        if cur and "." not in cur:
            cur["."] = {}
    return _sorted(root)


def _sorted(d):
    return {k: _sorted(d[k]) for k in sorted(d)}


def decode(f):
    out = set()

    def walk(d, prefix):
        for k, v in d.items():
            if k == ".":
                out.add(prefix)
                continue
            p = prefix + (k,)
            if not v:
                out.add(p)
            else:
                walk(v, p)
    walk(f or {}, ())
    return out


# ---------------------------------------------------------------- values at paths
def resolve(obj, path, node):
    """(value, node) at path, MISSING when absent."""
    cur, n = obj, node
    for e in path:
        if cur is MISSING or cur is None:
            return MISSING, n
        if e[0] == "f":
            if not isinstance(cur, dict) or e[2:] not in cur:
                return MISSING, n
            n = _child(n, e[2:])[0] or ANY
            cur = cur[e[2:]]
        else:
            if not isinstance(cur, list):
                return MISSING, n
            found = MISSING
            for item in cur:
                if item_element(item, n, False) == e:
                    found = item
                    break
            n = n.elem or ANY
            cur = found
    return cur, n


def container_paths(obj, node):
    """Paths of the non-empty granular maps and associative lists in obj: an
    Update operation that adds one owns it too (shown as "." in FieldsV1),
    as the API server's comparison of old and new objects reports them."""
    out = set()

    def walk(v, n, prefix):
        if n is None:
            return
        if n.kind in ("struct", "map") and not n.atomic and isinstance(v, dict):
            if n.kind == "map" and v and prefix:
                out.add(prefix)
            for key, val in v.items():
                child = _child(n, key)[0]
                walk(val, child, prefix + ("f:" + key,))
        elif n.kind == "list" and n.list_type in ("map", "set") and isinstance(v, list):
            if v and prefix:
                out.add(prefix)
            if n.list_type == "map":
                for item in v:
                    e = item_element(item, n, False)
                    if e is not None:
                        walk(item, n.elem, prefix + (e,))
    walk(obj, node, ())
    return {p for p in out if p not in STRIPPED}


def present_paths(obj, node):
    return fieldset(obj, node, status=True) | container_paths(obj, node)


def is_leaf(node, value):
    if node.kind in ("scalar", "ios", "quantity", "time"):
        return True
    if node.kind in ("struct", "map"):
        return node.atomic or not value
    if node.kind == "list":
        return node.list_type == "atomic"
    return not isinstance(value, dict) or not value


def remove_path(obj, path, node):
    """Remove the field or item at path from obj (in place)."""
    if not path:
        return
    parent, pn = resolve(obj, path[:-1], node)
    e = path[-1]
    if parent is MISSING or parent is None:
        return
    if e[0] == "f" and isinstance(parent, dict):
        parent.pop(e[2:], None)
    elif isinstance(parent, list):
        parent[:] = [i for i in parent if item_element(i, pn, False) != e]


# ---------------------------------------------------------------- merge
def merge(live, cfg, node):
    """The applied configuration merged onto the live object."""
    if cfg is None:
        return None
    k = node.kind
    if (k in ("struct", "map") and not node.atomic) or (k == "any" and isinstance(cfg, dict) and isinstance(live, dict)):
        out = dict(live) if isinstance(live, dict) else {}
        if not isinstance(cfg, dict):
            return copy.deepcopy(cfg)
        for key, val in cfg.items():
            child = _child(node, key)[0] or ANY
            m = merge(out.get(key), val, child)
            if m is None:
                out.pop(key, None)
            else:
                out[key] = m
        return out
    if k == "list" and node.list_type in ("map", "set") and isinstance(cfg, list):
        return _merge_list(live if isinstance(live, list) else [], cfg, node)
    return copy.deepcopy(cfg)


def _merge_list(live, cfg, node):
    """Merge an associative list in the order structured-merge-diff gives:
    walking both lists, items only the live object has stay where they are,
    items both have follow the applied configuration's order, new items come
    where the configuration puts them."""
    lk = [item_element(i, node, False) for i in live]
    ck = [item_element(i, node, False) for i in cfg]
    cset = set(ck)
    by_key = {k: i for k, i in zip(lk, live)}
    shared = [k for k in ck if k in by_key]
    nxt = shared.pop(0) if shared else None
    done = set()
    out, li, ri = [], 0, 0

    def item(key, c):
        return merge(by_key.get(key), c, node.elem) if node.list_type == "map" else copy.deepcopy(c)
    while li < len(live) or ri < len(cfg):
        if li < len(live) and ri < len(cfg):
            pe = lk[li]
            if pe == ck[ri]:
                out.append(item(pe, cfg[ri]))
                done.add(pe)
                li += 1
                ri += 1
                nxt = shared.pop(0) if shared else None
                continue
            if pe in cset and nxt is not None and nxt != pe:
                li += 1  # a shared item, but not the next one: it comes with the configuration
                continue
        if li < len(live):
            pe = lk[li]
            if pe not in cset:
                out.append(live[li])
                li += 1
                continue
            if pe in done:
                li += 1
                continue
        if ri < len(cfg):
            pe = ck[ri]
            done.add(pe)
            out.append(item(pe, cfg[ri]))
            ri += 1
            if nxt is not None and nxt == pe:
                nxt = shared.pop(0) if shared else None
    return out


# ---------------------------------------------------------------- managers
def manager_id(entry):
    """The identity of a managedFields entry: Apply entries are one per
    manager whatever the apiVersion; Update entries per apiVersion."""
    return (entry.get("manager", ""), entry.get("operation", ""),
            entry.get("apiVersion", "") if entry.get("operation") == "Update" else "",
            entry.get("subresource", ""))


def manager_label(mid, api_version=None):
    """How the API server names a manager in a conflict (printManager)."""
    name, op, ver, sub = mid
    s = json.dumps(name)
    if sub:
        s += " with subresource %s" % json.dumps(sub)
    if op == "Update":
        s += " using %s" % ver
    return s


class Managed:
    """metadata.managedFields as {manager id: [set, apiVersion, time]}."""

    def __init__(self, entries):
        self.m = {}
        for e in entries or []:
            self.m[manager_id(e)] = [decode(e.get("fieldsV1")), e.get("apiVersion", ""), e.get("time")]

    def entries(self):
        out = []
        for mid, (fs, ver, t) in self.m.items():
            if not fs:
                continue
            e = {"manager": mid[0], "operation": mid[1], "apiVersion": ver}
            if t:
                e["time"] = t
            e["fieldsType"] = "FieldsV1"
            e["fieldsV1"] = encode(fs)
            if mid[3]:
                e["subresource"] = mid[3]
            out.append(e)
        out.sort(key=lambda e: (e["operation"], e.get("time") or "", e["manager"], e["apiVersion"],
                                e.get("subresource", "")))
        return out

    def prune_to(self, present):
        """Forget ownership of fields that no longer exist."""
        for mid in list(self.m):
            self.m[mid][0] = {p for p in self.m[mid][0] if p in present}


def conflict_message(conflicts):
    """The API server's text for apply conflicts."""
    if len(conflicts) == 1:
        mid, p = conflicts[0]
        return "Apply failed with 1 conflict: conflict with %s: %s" % (manager_label(mid), path_str(p))
    by = {}
    for mid, p in conflicts:
        by.setdefault(manager_label(mid), []).append(path_str(p))
    lines = []
    for label in sorted(by):
        lines.append("conflict with %s:" % label)
        lines.extend("- %s" % p for p in by[label])
    return "Apply failed with %d conflicts: %s" % (len(conflicts), "\n".join(lines))


def apply(live, cfg, entries, manager, force, api_version, node, now):
    """Server-side apply of cfg by manager onto live (None when the object
    does not exist). Returns (merged object, Managed); raises SSAError for a
    configuration that does not fit the schema, Conflicts when fields owned
    by other managers would change and force is off."""
    cfg = copy.deepcopy(cfg)
    cfg.pop("status", None)  # reset by the main resource endpoint
    errors = []
    cfg_set = fieldset(cfg, node, errors)
    if errors:
        raise SSAError(errors[0] if len(errors) == 1 else "errors:\n" + "\n".join("  " + e for e in errors))
    live = live if live is not None else {}
    managed = Managed(entries)
    me = (manager, "Apply", "", "")
    merged = merge(live, cfg, node)
    if isinstance(live.get("status"), dict):
        merged["status"] = copy.deepcopy(live["status"])
    conflicts = []
    for mid, (fs, _ver, _t) in managed.m.items():
        if mid == me:
            continue
        for p in sorted(cfg_set & fs):
            lv, ln = resolve(live, p, node)
            mv, _ = resolve(merged, p, node)
            if lv is MISSING or not is_leaf(ln, lv):
                continue
            if lv != mv:
                conflicts.append((mid, p))
    if conflicts and not force:
        raise Conflicts(conflicts)
    for mid, p in conflicts:
        managed.m[mid][0].discard(p)
    # fields the applier owned before and has now left out go, unless
    # another manager owns them (or something under them)
    previous = managed.m.get(me, [set()])[0]
    others = set()
    for mid, (fs, _v, _t) in managed.m.items():
        if mid != me:
            others |= fs
    for p in sorted(previous - cfg_set, key=len):
        if p in others or any(o[:len(p)] == p for o in others):
            continue
        if any(c[:len(p)] == p for c in cfg_set):
            continue
        remove_path(merged, p, node)
    old = managed.m.get(me)
    changed = old is None or old[0] != cfg_set or merged != live
    managed.m[me] = [cfg_set, api_version, now if changed else (old[2] if old else now)]
    return merged, managed


def update(old, new, entries, manager, api_version, node, now, subresource="", only=None):
    """Ownership after a non-apply write (create, update, merge patch) by
    manager: it takes the fields it changed, from whoever owned them. A
    write to the status subresource owns status fields. only: the top-level
    fields that may differ (the rest is not compared, for speed)."""
    managed = Managed(entries)
    st = subresource == "status"
    if only is not None:
        keep_keys = set(only) | {"apiVersion", "kind"}
        old = {k: v for k, v in (old or {}).items() if k in keep_keys}
        new = {k: v for k, v in new.items() if k in keep_keys}
    before = fieldset(old or {}, node, status=st)
    after = fieldset(new, node, status=st)
    added = after - before
    keep = (lambda p: True) if st else (lambda p: p[:1] != ("f:status",))
    added |= {p for p in container_paths(new, node) - container_paths(old or {}, node) if keep(p)}
    removed = before - after
    modified = set()
    for p in after & before:
        ov, on = resolve(old, p, node)
        nv, _ = resolve(new, p, node)
        if is_leaf(on, ov) and ov != nv:
            modified.add(p)
    changed = added | modified
    me = (manager, "Update", api_version, subresource)
    for mid in managed.m:
        if mid != me:
            managed.m[mid][0] -= changed | removed
    cur = managed.m.get(me)
    mine = ((cur[0] if cur else set()) | changed) - removed
    if cur is None or mine != cur[0] or changed or removed:
        managed.m[me] = [mine, api_version, now]
    present = present_paths(new, node)
    if only is not None:  # paths under the fields not compared stay as they are
        tops = {"f:" + k for k in new} | {"f:" + k for k in only}
        for mid in managed.m:
            managed.m[mid][0] = {p for p in managed.m[mid][0] if p[0] not in tops or p in present}
    else:
        managed.prune_to(present)
    return managed
