#!/usr/bin/python3
"""subset.py - writes a subset of a botocore service model: version,
metadata and documentation as they are, only the named operations, and
every shape reachable from their input, output and error shapes (each
shape's JSON unchanged).

Usage: subset.py FULL_MODEL.json OUT.json OPERATION...
"""
import json
import sys


def reachable(shapes, start):
    seen, todo = set(), list(start)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        s = shapes[name]
        for m in s.get("members", {}).values():
            todo.append(m["shape"])
        for k in ("member", "key", "value"):
            if k in s:
                todo.append(s[k]["shape"])
    return seen


def main():
    full, out, ops = sys.argv[1], sys.argv[2], sys.argv[3:]
    with open(full) as f:
        m = json.load(f)
    missing = [o for o in ops if o not in m["operations"]]
    if missing:
        raise SystemExit(f"subset.py: {full} has no operation {', '.join(missing)}")
    start = []
    for o in ops:
        op = m["operations"][o]
        for k in ("input", "output"):
            if k in op:
                start.append(op[k]["shape"])
        start += [e["shape"] for e in op.get("errors", [])]
    keep = reachable(m["shapes"], start)
    sub = {"version": m.get("version"), "metadata": m["metadata"],
           "operations": {o: m["operations"][o] for o in ops},
           "shapes": {k: v for k, v in m["shapes"].items() if k in keep},
           "documentation": m.get("documentation", "")}
    with open(out, "w") as f:
        json.dump(sub, f, indent=1)



if __name__ == "__main__":
    main()
