"""Object storage for the fake: one resourceVersion counter (as etcd's
revision), objects by (kind, namespace, name), an event history for watches,
and label/field selectors parsed as the API server parses them."""
import collections
import copy
import re
import threading

from .kinds import label_value_errors, qualified_name_errors


class SelectorError(ValueError):
    pass


class Store:
    HISTORY = 5000  # watch events kept; an older resourceVersion is "too old" (410)

    def __init__(self):
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.reset()

    def reset(self):
        with self.lock:
            self.rv = 100
            self.objects = {}  # (kindkey, ns, name) -> object
            self.by_kind = {}  # kindkey -> {(ns, name): object}, so a list does not scan everything
            self.events = collections.deque(maxlen=self.HISTORY)  # (rv, type, kindkey, ns, obj)
            self.cond.notify_all()

    def next_rv(self):
        self.rv += 1
        return self.rv

    def get(self, kk, ns, name):
        return self.objects.get((kk, ns, name))

    def put(self, kk, ns, name, obj, event):
        """Store obj (its metadata.resourceVersion already set) and record
        the watch event ADDED/MODIFIED."""
        self.objects[(kk, ns, name)] = obj
        self.by_kind.setdefault(kk, {})[(ns, name)] = obj
        self._event(event, kk, ns, obj)

    def delete(self, kk, ns, name):
        obj = self.objects.pop((kk, ns, name), None)
        self.by_kind.get(kk, {}).pop((ns, name), None)
        if obj is not None:
            obj = copy.deepcopy(obj)
            obj["metadata"]["resourceVersion"] = str(self.next_rv())
            self._event("DELETED", kk, ns, obj)
        return obj

    def _event(self, etype, kk, ns, obj):
        # stored objects are replaced, never changed in place, so the history
        # can share them
        self.events.append((int(obj["metadata"]["resourceVersion"]), etype, kk, ns, obj))
        self.cond.notify_all()

    def list(self, kk, ns=None):
        """Objects of one kind (in one namespace), in etcd's key order."""
        items = self.by_kind.get(kk, {})
        keys = sorted((k for k in items if ns is None or k[0] == ns), key=lambda k: (k[0] or "", k[1]))
        return [items[k] for k in keys]

    def oldest_rv(self):
        return self.events[0][0] if self.events else self.rv


# ---------------------------------------------------------------- selectors
def _split_top(s):
    """Split at commas outside parentheses."""
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return [x.strip() for x in out if x.strip() != ""]


def _check_key(key):
    errs = qualified_name_errors(key)
    if errs:
        raise SelectorError('unable to parse requirement: <nil>: Invalid value: "%s": %s' % (key, errs[0]))


def _check_value(key, v):
    errs = label_value_errors(v)
    if errs:
        raise SelectorError('unable to parse requirement: values[0][%s]: Invalid value: "%s": %s' % (key, v, errs[0]))


def parse_label_selector(s):
    """A labelSelector query string -> list of (key, op, values)."""
    reqs = []
    for part in _split_top(s or ""):
        m = re.match(r"^(\S+)\s+(in|notin)\s*\((.*)\)$", part)
        if m:
            key, op = m.group(1), m.group(2)
            vals = [v.strip() for v in m.group(3).split(",") if v.strip()]
            if not vals:
                raise SelectorError("found ')', expected: identifier")
            _check_key(key)
            for v in vals:
                _check_value(key, v)
            reqs.append((key, op, vals))
            continue
        m = re.match(r"^([^=!<>\s]+)\s*(==|=|!=|>|<)\s*(\S*)$", part)
        if m:
            key, op, val = m.group(1), m.group(2), m.group(3)
            _check_key(key)
            if op in (">", "<"):
                if not re.fullmatch(r"-?[0-9]+", val):
                    raise SelectorError("unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer")
            else:
                _check_value(key, val)
            reqs.append((key, {"==": "=", "=": "=", "!=": "!="}.get(op, op), [val]))
            continue
        m = re.match(r"^(!?)\s*([^=!<>\s()]+)$", part)
        if m:
            _check_key(m.group(2))
            reqs.append((m.group(2), "!exists" if m.group(1) else "exists", []))
            continue
        raise SelectorError("unable to parse requirement: found '%s', expected: identifier" % part)
    return reqs


def labels_match(reqs, labels):
    labels = labels or {}
    for key, op, vals in reqs:
        have = key in labels
        v = labels.get(key)
        if op == "=" and v != vals[0]:
            return False
        if op == "!=" and have and v == vals[0]:
            return False
        if op == "in" and (not have or v not in vals):
            return False
        if op == "notin" and have and v in vals:
            return False
        if op == "exists" and not have:
            return False
        if op == "!exists" and have:
            return False
        if op in (">", "<"):
            try:
                n = int(v)
            except (TypeError, ValueError):
                return False
            if (op == ">" and not n > int(vals[0])) or (op == "<" and not n < int(vals[0])):
                return False
    return True


FIELDS = ("metadata.name", "metadata.namespace")


def parse_field_selector(s):
    reqs = []
    for part in _split_top(s or ""):
        m = re.match(r"^([^=!\s]+)\s*(==|=|!=)\s*(.*)$", part)
        if not m:
            raise SelectorError("invalid selector: '%s'; can't understand '%s'" % (s, part))
        key, op, val = m.group(1), m.group(2), m.group(3)
        if key not in FIELDS:
            raise SelectorError('field label not supported: %s' % key)
        reqs.append((key, "!=" if op == "!=" else "=", val))
    return reqs


def fields_match(reqs, obj):
    meta = obj.get("metadata") or {}
    for key, op, val in reqs:
        have = meta.get(key.split(".", 1)[1], "")
        if (op == "=") != (have == val):
            return False
    return True
