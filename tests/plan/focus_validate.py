#!/usr/bin/env python3
"""Validate a FOCUS 1.2 CSV file against the FOCUS requirements model.

usage: focus_validate.py MODEL_DIR FOCUS.csv

MODEL_DIR is a copy of the FOCUS specification's machine-readable
requirements model (tests/reference/focus12: columns/*.json,
check_functions.json, ...; see SOURCE.md there).  The rules are not
written here: every rule of every columns/*.json file whose column
(the rule's "Reference") is in the CSV header is interpreted from its
ValidationCriteria:

  Condition    row filter; the rule applies only to rows matching it
               ({} = every row)
  Requirement  a CheckFunction expression that must hold on those rows
  Keyword      MUST / MUST NOT / REQUIRED / SHALL -> error,
               SHOULD / RECOMMENDED / MAY / OPTIONAL -> warning

Conventions (documented, not taken from the model):
  * an empty CSV field is null;
  * a column referenced by a rule but absent from the CSV reads as null
    (FOCUS: a column that is not provided carries no value);
  * type/format checks (Type*, Format*, CheckDecimalValue,
    CheckGreaterOrEqualThanValue) pass on null: nullability has its own
    rules in the model;
  * ColumnByColumnEqualsColumnValue is computed with decimal.Decimal and
    may differ from the result column by at most PRODUCT_TOLERANCE;
    a null operand makes the product undefined and the row is skipped
    for that rule (the rules' sentences say "when ... is not null");
  * composite rules (Requirement made only of CheckModelRule items) are
    evaluated, but failures are printed for the leaf rules only, so a
    fault is printed once.
Dataset rules (datasets/*.json, ColumnPresent) are checked too.  A presence
rule with ApplicabilityCriteria (e.g. UNIT_PRICING_SUPPORTED) only applies
when the provider has that capability, which the file cannot show: name the
capabilities in FOCUS_APPLICABILITY=CRIT1,CRIT2 to have them checked;
otherwise such a rule whose column is absent is listed as not checked.
Column rules are evaluated whenever their column is in the header, whatever
their ApplicabilityCriteria.  MAY rules are permissions: a row that does not
use one is reported as a warning, one line per rule.
Rules with no Requirement (the model's "Dynamic" rules, which need
knowledge outside the file) and rules using a CheckFunction this script
does not interpret are printed as "not checked: RULE-ID (reason)";
they are never counted as passed.

Standard library only (python3 >= 3.7).
"""

import csv
import decimal
import json
import os
import re
import sys
from datetime import datetime

# Half a micro-unit: our documented rounding of line costs.
PRODUCT_TOLERANCE = decimal.Decimal("0.0000005")

ERROR_KEYWORDS = {"MUST", "MUST NOT", "REQUIRED", "SHALL", "SHALL NOT"}

decimal.getcontext().prec = 50


class NotInterpretable(Exception):
    """A CheckFunction (or a missing Requirement) we cannot evaluate."""


# --------------------------------------------------------------------------
# value helpers

NUMERIC_RE = re.compile(r"^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$")
# FOCUS DateTimeFormat: ISO 8601 in UTC, YYYY-MM-DDTHH:mm:ssZ
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
# ISO 4217 codes that are not national currencies (precious metals, funds,
# testing, no-currency).
NON_NATIONAL = {"XAU", "XAG", "XPD", "XPT", "XDR", "XBA", "XBB", "XBC",
                "XBD", "XTS", "XXX", "XSU", "XUA"}

# FOCUS UnitFormat building blocks (singular; plural "s" accepted).
UNIT_WORDS = {
    # data size
    "b", "B", "Kb", "KB", "Mb", "MB", "Gb", "GB", "Tb", "TB", "Pb", "PB",
    "Eb", "EB", "Kib", "KiB", "Mib", "MiB", "Gib", "GiB", "Tib", "TiB",
    "Pib", "PiB", "Eib", "EiB",
    # time
    "Year", "Month", "Week", "Day", "Hour", "Minute", "Second",
    # counts
    "Count", "Unit", "Request", "Token", "Connection", "Certificate",
    "Domain", "Core", "Query", "Transaction", "Message", "Event",
    "Operation", "Call", "Execution", "Instance", "User", "Seat",
    "Invocation", "Node", "Device", "Job", "Step", "Character", "Page",
    "Image", "Hit", "Record", "Object", "Key", "Address", "IP", "vCPU",
    "CPU", "GPU", "Processor", "Resource", "Task", "Zone", "License",
}
UNIT_RE = re.compile(r"^(?:\d+ )?([A-Za-z]+)(?:([-/])([A-Za-z]+))?$")


def unit_word_ok(word):
    """UnitFormat (attributes/unitformat.json, UnitFormat-A-003-M/-004-C):
    listed terms must keep the listed capitalisation; count-based units
    not in the recommended list (e.g. "Shots") are allowed."""
    forms = {word}
    if word.endswith("ies"):
        forms.add(word[:-3] + "y")
    if word.endswith("es"):
        forms.add(word[:-2])
    if word.endswith("s"):
        forms.add(word[:-1])
    if forms & UNIT_WORDS:
        return True
    lowered = {w.lower(): w for w in UNIT_WORDS if w.lower() == w.lower() and not re.match(r"^[KMGTPE]?i?[bB]$", w)}
    return not any(f.lower() in lowered for f in forms)


def to_decimal(text):
    if text is None:
        return None
    try:
        d = decimal.Decimal(text.strip())
    except (decimal.InvalidOperation, ValueError):
        return None
    if not d.is_finite():
        return None
    return d


def parse_datetime(text):
    t = text.strip()
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(t)
    except ValueError:
        return None


def unique_pairs(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key")
    return dict(pairs)


# --------------------------------------------------------------------------
# the interpreter

class Model:
    def __init__(self, model_dir):
        self.rules = {}
        self.rule_file = {}
        cdir = os.path.join(model_dir, "columns")
        for name in sorted(os.listdir(cdir)):
            if not name.endswith(".json"):
                continue
            with open(os.path.join(cdir, name), encoding="utf-8") as f:
                data = json.load(f)
            for rid, rule in data.items():
                self.rules[rid] = rule
                self.rule_file[rid] = "columns/" + name
        self.dataset_rules = {}
        ddir = os.path.join(model_dir, "datasets")
        if os.path.isdir(ddir):
            for name in sorted(os.listdir(ddir)):
                if name.endswith(".json"):
                    with open(os.path.join(ddir, name), encoding="utf-8") as f:
                        for rid, rule in json.load(f).items():
                            self.dataset_rules[rid] = rule
                            self.rule_file[rid] = "datasets/" + name
        self.known_functions = set()
        cf = os.path.join(model_dir, "check_functions.json")
        if os.path.exists(cf):
            with open(cf, encoding="utf-8") as f:
                self.known_functions = set(json.load(f)["CheckFunctions"])


class Evaluator:
    """Evaluates CheckFunction expressions on one CSV row.

    Every expression returns True, False or None (None = unknown: it
    depends on a rule that cannot be checked)."""

    IMPLEMENTED = {
        "AND", "OR", "CheckValue", "CheckNotValue", "CheckSameValue",
        "CheckNotSameValue", "CheckGreaterOrEqualThanValue",
        "CheckDecimalValue", "CheckNationalCurrency", "CheckDistinctCount",
        "CheckModelRule", "ColumnPresent", "TypeString", "TypeDecimal",
        "TypeDateTime", "FormatDateTime", "FormatNumeric", "FormatCurrency",
        "FormatUnit", "FormatKeyValue", "ColumnByColumnEqualsColumnValue",
    }
    # FormatString refers to StringHandling, whose requirements (keep the
    # provider's casing, spacing, ...) cannot be decided from the file.
    NOT_INTERPRETABLE = {"FormatString": "StringHandling is not decidable from the data"}

    def __init__(self, model, header, rows):
        self.model = model
        self.header = set(header)
        self.rows = rows
        self.row = None
        self.skipped_product = 0
        self._distinct = {}
        # A rule reached through CheckModelRule from a composite inherits the
        # composite's Condition (e.g. PricingQuantity-C-008-M only applies
        # "When PricingQuantity is not null", the Condition of its parent
        # PricingQuantity-C-007-C).
        self.parents = {}
        for rid, rule in model.rules.items():
            req = rule["ValidationCriteria"].get("Requirement") or {}
            for it in req.get("Items", []) if req.get("CheckFunction") in ("AND", "OR") else []:
                if it.get("CheckFunction") == "CheckModelRule":
                    self.parents.setdefault(it["ModelRuleId"], []).append(rid)

    def applies(self, rid, seen=()):
        """True when the rule's own Condition and those of all its
        composite ancestors (along at least one parent path) match the row;
        None when that cannot be decided."""
        rule = self.model.rules[rid]
        cond = rule["ValidationCriteria"].get("Condition") or {}
        if cond:
            c = self.ev(cond)
            if c is not True:
                return c
        parents = [p for p in self.parents.get(rid, []) if p not in seen]
        if not parents:
            return True
        res = [self.applies(p, seen + (rid,)) for p in parents]
        if True in res:
            return True
        return None if None in res else False

    # ---- cell access
    def val(self, col):
        if col not in self.header:
            return None
        v = self.row.get(col)
        if v is None or v == "":
            return None
        return v

    # ---- static analysis: which functions / columns an expression uses
    def functions_of(self, expr, seen=None):
        """Uninterpretable functions reached by expr (through CheckModelRule)."""
        seen = set() if seen is None else seen
        out = []
        if not expr:
            return out
        fn = expr.get("CheckFunction")
        if fn in ("AND", "OR"):
            for it in expr.get("Items", []):
                out += self.functions_of(it, seen)
        elif fn == "CheckModelRule":
            rid = expr.get("ModelRuleId")
            if rid in seen:
                return out
            seen.add(rid)
            rule = self.model.rules.get(rid)
            if rule is None:
                out.append("CheckModelRule->%s (rule not in model copy)" % rid)
            else:
                vc = rule["ValidationCriteria"]
                if not vc.get("Requirement"):
                    out.append("%s: no Requirement" % rid)
                out += self.functions_of(vc.get("Requirement"), seen)
                out += self.functions_of(vc.get("Condition"), seen)
        elif fn in self.NOT_INTERPRETABLE:
            out.append("%s: %s" % (fn, self.NOT_INTERPRETABLE[fn]))
        elif fn not in self.IMPLEMENTED:
            out.append("%s: unknown CheckFunction" % fn)
        return out

    def columns_of(self, expr, acc):
        if not expr:
            return acc
        for k in ("ColumnName", "ColumnAName", "ColumnBName", "ResultColumnName"):
            if k in expr and expr[k] not in acc:
                acc.append(expr[k])
        for it in expr.get("Items", []):
            self.columns_of(it, acc)
        return acc

    # ---- evaluation
    def rule_holds(self, rid, stack=()):
        """CheckModelRule semantics: the rule holds on this row (True when
        its Condition does not match)."""
        rule = self.model.rules.get(rid)
        if rule is None or rid in stack:
            return None
        vc = rule["ValidationCriteria"]
        cond = vc.get("Condition") or {}
        if cond:
            c = self.ev(cond, stack + (rid,))
            if c is False:
                return True
            if c is None:
                return None
        req = vc.get("Requirement") or {}
        if not req:
            return None
        return self.ev(req, stack + (rid,))

    def ev(self, e, stack=()):
        fn = e.get("CheckFunction")
        if fn == "AND":
            res = [self.ev(i, stack) for i in e["Items"]]
            if False in res:
                return False
            return None if None in res else True
        if fn == "OR":
            res = [self.ev(i, stack) for i in e["Items"]]
            if True in res:
                return True
            return None if None in res else False
        if fn == "CheckModelRule":
            child = self.model.rules.get(e["ModelRuleId"])
            kw = (child or {}).get("ValidationCriteria", {}).get("Keyword", "MUST").upper()
            if child is not None and kw not in ERROR_KEYWORDS:
                # a SHOULD/MAY child is reported on its own (as a warning);
                # it cannot make the enclosing MUST rule fail
                return True
            return self.rule_holds(e["ModelRuleId"], stack)
        if fn in ("CheckValue", "CheckNotValue"):
            r = self.equals(self.val(e["ColumnName"]), e.get("Value"))
            return r if fn == "CheckValue" else not r
        if fn in ("CheckSameValue", "CheckNotSameValue"):
            same = self.val(e["ColumnAName"]) == self.val(e["ColumnBName"])
            return same if fn == "CheckSameValue" else not same
        if fn == "ColumnPresent":
            return e["ColumnName"] in self.header
        if fn in self.NOT_INTERPRETABLE or fn not in self.IMPLEMENTED:
            return None  # unknown; such rules are listed as "not checked"
        v = self.val(e.get("ColumnName")) if "ColumnName" in e else None
        if fn == "TypeString":
            return True  # every non-null CSV field is a string
        if fn in ("TypeDecimal", "CheckDecimalValue"):
            return v is None or to_decimal(v) is not None
        if fn == "FormatNumeric":
            return v is None or bool(NUMERIC_RE.match(v))
        if fn == "TypeDateTime":
            return v is None or parse_datetime(v) is not None
        if fn == "FormatDateTime":
            return v is None or (bool(DATETIME_RE.match(v))
                                 and parse_datetime(v) is not None)
        if fn == "FormatCurrency":
            return v is None or bool(CURRENCY_RE.match(v))
        if fn == "CheckNationalCurrency":
            return v is None or (bool(CURRENCY_RE.match(v)) and v not in NON_NATIONAL)
        if fn == "FormatUnit":
            if v is None:
                return True
            m = UNIT_RE.match(v)
            return bool(m) and unit_word_ok(m.group(1)) and (
                m.group(3) is None or unit_word_ok(m.group(3)))
        if fn == "FormatKeyValue":
            if v is None:
                return True
            try:
                obj = json.loads(v, object_pairs_hook=unique_pairs)
            except ValueError:
                return False
            return isinstance(obj, dict) and all(
                not isinstance(x, (dict, list)) for x in obj.values())
        if fn == "CheckGreaterOrEqualThanValue":
            d = to_decimal(v)
            if v is None:
                return True
            return d is not None and d >= decimal.Decimal(str(e["Value"]))
        if fn == "ColumnByColumnEqualsColumnValue":
            a = self.val(e["ColumnAName"])
            b = self.val(e["ColumnBName"])
            r = self.val(e["ResultColumnName"])
            if a is None or b is None:
                self.skipped_product += 1
                return True
            da, db, dr = to_decimal(a), to_decimal(b), to_decimal(r)
            if da is None or db is None or dr is None:
                return False
            return abs(da * db - dr) <= PRODUCT_TOLERANCE
        if fn == "CheckDistinctCount":
            return self.distinct_count(e) == int(e["ExpectedCount"])
        raise NotInterpretable(fn)

    def equals(self, cell, value):
        if value is None:
            return cell is None
        if cell is None:
            return False
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            d = to_decimal(cell)
            return d is not None and d == decimal.Decimal(str(value))
        return cell == str(value)

    def distinct_count(self, e):
        a, b = e["ColumnAName"], e["ColumnBName"]
        key = (a, b)
        if key not in self._distinct:
            groups = {}
            for row in self.rows:
                av = row.get(a) or None
                bv = row.get(b) or None
                if av is None:
                    continue
                groups.setdefault(av, set())
                if bv is not None:
                    groups[av].add(bv)
            self._distinct[key] = groups
        av = self.val(a)
        if av is None:
            return int(e["ExpectedCount"])  # nothing to count
        return len(self._distinct[key].get(av, ()))


def is_composite(rule):
    req = rule["ValidationCriteria"].get("Requirement") or {}
    if req.get("CheckFunction") not in ("AND", "OR"):
        return False
    return all(i.get("CheckFunction") == "CheckModelRule" for i in req["Items"])


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: focus_validate.py MODEL_DIR FOCUS.csv\n")
        return 2
    model = Model(argv[1])
    with open(argv[2], newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        rows = list(reader)

    ev = Evaluator(model, header, rows)
    print("FOCUS requirements model: %s (%d rules in columns/*.json)"
          % (argv[1], len(model.rules)))
    print("file: %s (%d data rows, %d columns)" % (argv[2], len(rows), len(header)))
    print("PRODUCT_TOLERANCE = %s (max |A x B - Result| for "
          "ColumnByColumnEqualsColumnValue)" % PRODUCT_TOLERANCE)

    unknown_fns = sorted({fn for r in model.rules.values()
                          for fn in [r["ValidationCriteria"].get("Requirement", {}).get("CheckFunction")]
                          if fn and model.known_functions and fn not in model.known_functions})
    if unknown_fns:
        print("note: functions used but not in check_functions.json: %s" % ", ".join(unknown_fns))

    covered_columns = sorted({r["Reference"] for r in model.rules.values()})
    missing_model = [c for c in header if c not in covered_columns and not c.startswith("x_")]
    if missing_model:
        print("note: CSV columns with no rules in the model copy: %s" % ", ".join(missing_model))

    checked, composites, not_checked = [], [], []
    absent_cols = set()
    for rid in sorted(model.rules):
        rule = model.rules[rid]
        if rule.get("Reference") not in ev.header:
            continue
        if rule.get("Status", "Active") != "Active":
            continue
        vc = rule["ValidationCriteria"]
        req = vc.get("Requirement") or {}
        if not req:
            not_checked.append((rid, "no Requirement; %s rule" % rule.get("Type", "?")))
            continue
        if is_composite(rule):
            composites.append(rid)
            continue
        bad = ev.functions_of(req) + ev.functions_of(vc.get("Condition") or {})
        if bad:
            not_checked.append((rid, "; ".join(bad)))
            continue
        for c in ev.columns_of(req, []) + ev.columns_of(vc.get("Condition") or {}, []):
            if c not in ev.header:
                absent_cols.add(c)
        checked.append(rid)

    if absent_cols:
        print("note: columns referenced by checked rules but absent from the CSV "
              "(read as null): %s" % ", ".join(sorted(absent_cols)))
    print()

    errors = warnings = 0
    failing_rules = {}
    may_lines = []

    # Dataset rules (datasets/*.json): column presence (ColumnPresent).
    # A presence rule with ApplicabilityCriteria applies only when the
    # provider has that capability, which the file cannot tell; declare
    # capabilities with FOCUS_APPLICABILITY=CRIT1,CRIT2 (names as in the
    # model) or the rule is listed as not checked when its column is absent.
    assumed = {c.strip() for c in os.environ.get("FOCUS_APPLICABILITY", "").split(",") if c.strip()}
    ds_checked = []
    ds_composites = 0
    for rid in sorted(model.dataset_rules):
        rule = model.dataset_rules[rid]
        vc = rule["ValidationCriteria"]
        req = vc.get("Requirement") or {}
        if is_composite(rule):
            ds_composites += 1
            continue
        if req.get("CheckFunction") != "ColumnPresent":
            not_checked.append((rid, "dataset rule with %s" % (req.get("CheckFunction") or "no Requirement")))
            continue
        col = req["ColumnName"]
        crit = rule.get("ApplicabilityCriteria") or []
        present = col in ev.header
        if not present and crit and not set(crit) <= assumed:
            not_checked.append((rid, "%s absent; applies only if %s (not declared in FOCUS_APPLICABILITY)"
                                % (col, " and ".join(crit))))
            continue
        ds_checked.append(rid)
        if present:
            continue
        kw = vc.get("Keyword", "MUST").upper()
        failing_rules[rid] = 1
        if kw in ("MAY", "OPTIONAL"):
            may_lines.append("WARNING %s [%s] dataset: %s absent: permission not used | %s"
                             % (rid, kw, col, vc.get("MustSatisfy", "")))
            warnings += 1
            continue
        severity = "ERROR" if kw in ERROR_KEYWORDS else "WARNING"
        print("%s %s [%s] dataset: column %s absent | %s"
              % (severity, rid, kw, col, vc.get("MustSatisfy", "")))
        if severity == "ERROR":
            errors += 1
        else:
            warnings += 1
    for rid in checked:
        rule = model.rules[rid]
        vc = rule["ValidationCriteria"]
        kw = vc.get("Keyword", "MUST").upper()
        severity = "ERROR" if kw in ERROR_KEYWORDS else "WARNING"
        cols = ev.columns_of(vc["Requirement"], [])
        cols += [c for c in ev.columns_of(vc.get("Condition") or {}, []) if c not in cols]
        may_rows = []
        for n, row in enumerate(rows, start=1):
            ev.row = row
            if ev.applies(rid) is not True:
                continue
            if ev.ev(vc["Requirement"]) is not False:
                continue
            shown = ", ".join("%s=%s" % (c, "null" if ev.val(c) is None else repr(ev.val(c)))
                              for c in cols)
            failing_rules[rid] = failing_rules.get(rid, 0) + 1
            if kw in ("MAY", "OPTIONAL"):
                # a permission that the row does not use: reported as a
                # warning, one line per rule (see the summary)
                may_rows.append(n)
                warnings += 1
                continue
            print("%s %s [%s] row %d (line %d): %s | %s"
                  % (severity, rid, kw, n, n + 1, shown, vc.get("MustSatisfy", "")))
            if severity == "ERROR":
                errors += 1
            else:
                warnings += 1

        if may_rows:
            may_lines.append("WARNING %s [%s] rows %s (%d rows): permission not used | %s"
                             % (rid, kw, ",".join(map(str, may_rows)), len(may_rows),
                                vc.get("MustSatisfy", "")))
    for line in may_lines:
        print(line)

    # composites: evaluated through their children; reported, not counted
    comp_fail = {}
    for rid in composites:
        vc = model.rules[rid]["ValidationCriteria"]
        for row in rows:
            ev.row = row
            if ev.rule_holds(rid) is False:
                comp_fail[rid] = comp_fail.get(rid, 0) + 1

    print()
    for rid, why in not_checked:
        print("not checked: %s (%s)" % (rid, why))
    print()
    print("composite rules (evaluated through their child rules): %d, of which "
          "failing: %s" % (len(composites), ", ".join(
              "%s x%d" % (k, v) for k, v in sorted(comp_fail.items())) or "none"))
    if ev.skipped_product:
        print("ColumnByColumnEqualsColumnValue skipped (null operand): %d row checks"
              % ev.skipped_product)
    print("checked column rules: %s" % " ".join(checked))
    print("checked dataset rules: %s" % " ".join(ds_checked))
    print("dataset presence rules checked: %d (composite dataset rules: %d)"
          % (len(ds_checked), ds_composites))
    print("rules checked: %d (column rules %d + dataset rules %d), rows: %d, "
          "errors: %d, warnings: %d, not checked: %d"
          % (len(checked) + len(ds_checked), len(checked), len(ds_checked), len(rows),
             errors, warnings, len(not_checked)))
    if failing_rules:
        print("failing rules: %s" % ", ".join(
            "%s x%d" % (k, v) for k, v in sorted(failing_rules.items())))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
