#!/usr/bin/python3
"""Agreement test: the C validator (`fedbroker validate`) and an independent
JSON Schema draft-07 validator (python3-jsonschema, Draft7Validator, with
PyYAML to read YAML) must agree on schemas/workload.v1.schema.json:

  examples/            both say valid;
  tests/spec/invalid/  both say invalid, and the C validator reports every
                       expected JSON pointer (first line "# expect: /a /b",
                       or expect.txt for JSON files), each with file:line:col;
                       jsonschema reports an error at that pointer or above;
  tests/spec/semantic/ jsonschema says valid (the schema cannot express the
                       rule), the C validator says invalid at the pointer;
  tests/spec/edge/     both say valid: every documented limit exactly at the
                       limit (the past-*.yaml files of the two corpora above
                       are the same specs one step past it).

Prints one line per file and "N agree / M total"; exits 1 on any
disagreement.
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys

import jsonschema
import yaml

ERR_RE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): error: (?P<ptr>\S*): ")
ERR_NOPOS_RE = re.compile(r"^(?P<file>.+?): error: (?P<ptr>\S*): ")


def load_docs(path):
    """The documents of a spec file as the spec defines them: YAML streams
    (empty documents skipped) or JSON; a top-level list is a list of
    documents."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.endswith(".json"):
        raw = [json.loads(text)]
    else:
        raw = [d for d in yaml.safe_load_all(text) if d is not None]
    docs = []
    for d in raw:
        docs.extend(d if isinstance(d, list) else [d])
    return docs


def pointer(path):
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def python_errors(validator, path):
    errs = []
    for doc in load_docs(path):
        for e in validator.iter_errors(doc):
            errs.append((pointer(e.absolute_path), e.message))
    return errs


def run_c(fedbroker, path):
    # the schema alone is compared: validate also checks locations and
    # regions against the catalog (names the schema cannot know), so it runs
    # here with FEDBROKER_CATALOG naming no catalog, which skips that check
    env = dict(os.environ, FEDBROKER_CATALOG=os.path.join(os.sep, "nonexistent", "fedbroker-catalog"))
    p = subprocess.run([fedbroker, "validate", path], capture_output=True, text=True,
                       timeout=60, env=env)
    errors = []
    for line in p.stderr.splitlines():
        m = ERR_RE.match(line)
        if m:
            errors.append((m.group("ptr"), int(m.group("line")), int(m.group("col"))))
            continue
        m = ERR_NOPOS_RE.match(line)
        if m:
            errors.append((m.group("ptr"), 0, 0))
    return p.returncode, errors, p.stderr


def expectations(path, manifest):
    if path.endswith(".json"):
        return manifest.get(os.path.basename(path))
    with open(path, encoding="utf-8") as f:
        first = f.readline()
    m = re.match(r"#\s*expect:\s*(.+)", first)
    return m.group(1).split() if m else None


def read_manifest(directory):
    out = {}
    path = os.path.join(directory, "expect.txt")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                name, _, ptrs = line.partition(":")
                out[name.strip()] = ptrs.split()
    return out


def c_ptr(p):
    return "" if p == "(document)" else p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fedbroker", required=True)
    ap.add_argument("--srcdir", required=True)
    a = ap.parse_args()
    src = a.srcdir
    with open(os.path.join(src, "schemas", "workload.v1.schema.json"), encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())

    total = agree = 0
    failures = []

    def verdict(name, ok, why=""):
        nonlocal total, agree
        total += 1
        if ok:
            agree += 1
            print("agree    %s" % name)
        else:
            failures.append(name)
            print("DISAGREE %s: %s" % (name, why))

    examples = sorted(glob.glob(os.path.join(src, "examples", "*.yaml")) +
                      glob.glob(os.path.join(src, "examples", "*.json")))
    if len(examples) < 5:
        print("too few examples found under %s/examples" % src)
        return 1
    def both_valid(path):
        """Why the two validators do not both accept path (empty: they do)."""
        perrs = python_errors(validator, path)
        rc, _, stderr = run_c(a.fedbroker, path)
        why = []
        if perrs:
            why.append("jsonschema: %s" % "; ".join("%s %s" % e for e in perrs[:3]))
        if rc != 0:
            why.append("fedbroker exit %d: %s" % (rc, stderr.strip()[:300]))
        return why

    for path in examples:
        why = both_valid(path)
        verdict(os.path.relpath(path, src), not why, " | ".join(why))

    edges = sorted(glob.glob(os.path.join(src, "tests", "spec", "edge", "*.yaml")))
    if len(edges) < 40:
        print("the edge corpus has only %d files (40 at least)" % len(edges))
        return 1
    for path in edges:
        name = os.path.relpath(path, src)
        why = both_valid(path)
        past = [os.path.join(src, "tests", "spec", k, "past-" + os.path.basename(path))
                for k in ("invalid", "semantic")]
        if not any(os.path.exists(p) for p in past):
            why.append("no past-%s in tests/spec/invalid or semantic" % os.path.basename(path))
        verdict("%s [edge]" % name, not why, " | ".join(why))

    for kind in ("invalid", "semantic"):
        directory = os.path.join(src, "tests", "spec", kind)
        manifest = read_manifest(directory)
        files = sorted(glob.glob(os.path.join(directory, "*.yaml")) +
                       glob.glob(os.path.join(directory, "*.json")))
        if kind == "invalid" and len(files) < 40:
            print("the invalid corpus has only %d files (40 at least)" % len(files))
            return 1
        for path in files:
            name = os.path.relpath(path, src)
            want = expectations(path, manifest)
            if not want:
                verdict(name, False, "no expected pointer (first line '# expect: /ptr' or "
                                     "expect.txt)")
                continue
            try:
                perrs = python_errors(validator, path)
            except (yaml.YAMLError, ValueError) as e:
                verdict(name, False, "python cannot read it: %s" % e)
                continue
            rc, cerrs, stderr = run_c(a.fedbroker, path)
            why = []
            if kind == "invalid":
                if not perrs:
                    why.append("jsonschema says valid")
                for w in want:
                    wp = c_ptr(w)
                    if not any(wp == p or wp.startswith(p + "/") or p == "" and wp == ""
                               for p, _ in perrs):
                        why.append("jsonschema reports nothing at or above %s (it says %s)" %
                                   (w, [p for p, _ in perrs]))
            else:
                if perrs:
                    why.append("jsonschema says invalid (a semantic case must be schema-valid): "
                               "%s" % perrs[:2])
            if rc != 2:
                why.append("fedbroker exit %d, not 2" % rc)
            got = [p for p, _, _ in cerrs]
            for w in want:
                if w not in got:
                    why.append("fedbroker did not report %s (it reported %s)" % (w, got))
            nopos = [p for p, line, _ in cerrs if line <= 0]
            if nopos:
                why.append("errors without file:line:col: %s" % nopos)
            verdict("%s [%s]" % (name, kind), not why, " | ".join(why))

    print("%d agree / %d total" % (agree, total))
    if failures:
        print("disagreements: %s" % ", ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
