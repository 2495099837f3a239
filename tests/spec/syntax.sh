#!/bin/sh
# Syntax errors carry file:line:col: for every broken JSON and YAML file in
# tests/spec/syntax/, `fedbroker validate` must exit 2 and put its first
# error at the position an independent parser reports (Python's json module,
# PyYAML).
srcdir=${srcdir:-.}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
if ! "$PY" -c 'import yaml' 2>/dev/null; then
    echo "SKIP: python3-yaml is needed"
    exit 77
fi
fail=0
n=0
for f in "$srcdir"/tests/spec/syntax/*.json "$srcdir"/tests/spec/syntax/*.yaml; do
    n=$((n + 1))
    want=$("$PY" - "$f" <<'PYEOF'
import json, sys, yaml
p = sys.argv[1]
try:
    with open(p, encoding="utf-8") as fh:
        if p.endswith(".json"):
            json.load(fh)
        else:
            list(yaml.safe_load_all(fh))
    print("parses")
except json.JSONDecodeError as e:
    print("%d:%d" % (e.lineno, e.colno))
except yaml.MarkedYAMLError as e:
    print("%d:%d" % (e.problem_mark.line + 1, e.problem_mark.column + 1))
PYEOF
)
    out=$(./fedbroker validate "$f" 2>&1 >/dev/null)
    rc=$?
    first=$(printf '%s\n' "$out" | grep -m1 ': error: ')
    got=$(printf '%s\n' "$first" | sed -n "s|^$f:\([0-9]*:[0-9]*\): error: .*|\1|p")
    if [ "$want" = parses ]; then
        echo "FAIL $f: the reference parser accepts it; not a syntax-error fixture"
        fail=1
    elif [ $rc -ne 2 ]; then
        echo "FAIL $f: exit $rc, expected 2"
        fail=1
    elif [ "$got" != "$want" ]; then
        echo "FAIL $f: fedbroker says ${got:-no position} ($first), reference parser says $want"
        fail=1
    else
        echo "ok   $f:$got: $(printf '%s' "$first" | sed 's/^[^ ]* error: //')"
    fi
done
[ $n -ge 8 ] || { echo "FAIL: only $n syntax fixtures"; fail=1; }
exit $fail
