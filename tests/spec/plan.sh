#!/bin/sh
# Validation catches everything plan would refuse as invalid input (issue 9,
# item 13), through the real binary and the real drivers:
#  - every fixture of tests/spec/{edge,invalid,semantic} with a "# plan: N"
#    line: plan exits N. Edge fixtures at the cost model's limits plan (exit
#    0) with no quantity refused anywhere; the same specs one step past
#    them, a program that does not parse, constraints that contradict each
#    other, are refused by validate AND plan with exit 2 (on main plan said
#    "infeasible", exit 3) at the same pointer;
#  - keys holding terminal escapes are printed escaped, never raw.
set -u
srcdir=${srcdir:-.}
FB=${FEDBROKER:-./fedbroker}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/specplan.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
export FEDBROKER_HOME="$tmp/home"
pass=0
fail=0
check() { # name, command...
    name=$1; shift
    if "$@"; then pass=$((pass + 1)); echo "ok   $name"; else fail=$((fail + 1)); echo "FAIL $name"; fi
}
n=0
for f in "$srcdir"/tests/spec/edge/*.yaml "$srcdir"/tests/spec/invalid/*.yaml "$srcdir"/tests/spec/semantic/*.yaml; do
    want=$(sed -n 's/^# plan: *\([0-9]*\).*/\1/p' "$f" | head -1)
    [ -n "$want" ] || continue
    n=$((n + 1))
    name=${f#"$srcdir"/}
    "$FB" plan --no-save "$f" > "$tmp/out" 2> "$tmp/err"
    rc=$?
    check "plan $name exits $want" [ "$rc" -eq "$want" ]
    [ "$rc" -eq "$want" ] || head -5 "$tmp/err"
    check "... no usage quantity refused" sh -c "! grep -qi 'bad quantity\|out of range\|too large\|overflow' '$tmp/out' '$tmp/err'"
    ptr=$(sed -n '1s/^# expect: *//p' "$f")
    if [ -n "$ptr" ]; then
        check "... at $ptr, as validate says" grep -q ": error: $ptr: " "$tmp/err"
        "$FB" validate "$f" > /dev/null 2> "$tmp/verr"
        check "... validate exits 2 there too" [ $? -eq 2 ]
    fi
done
check "at least 10 plan fixtures" [ $n -ge 10 ]

# Keys are printed escaped (like values), never raw: an unknown key, a
# duplicate key (YAML and JSON), a label key, in validate and plan output
ESC=$(printf '\033')
printf 'apiVersion: fedbroker.dev/v1\nkind: Container\nmetadata: {name: a}\nspec:\n  image: ghcr.io/a/b:1\n  "nosuch\\e[2J": 1\n' > "$tmp/k1.yaml"
printf 'apiVersion: fedbroker.dev/v1\nkind: Container\nmetadata:\n  name: a\n  labels: {"x\\e]0;owned\\a": v}\nspec: {image: ghcr.io/a/b:1}\n' > "$tmp/k2.yaml"
printf 'a: 1\n"x\\e[2J": 1\n"x\\e[2J": 2\n' > "$tmp/k3.yaml"
printf '{"a": 1, "x\\u001b[2J": 1, "x\\u001b[2J": 2}' > "$tmp/k4.json"
printf '{"apiVersion": "fedbroker.dev/v1", "kind": "Container", "metadata": {"name": "a"}, "spec": {"image": "ghcr.io/a/b:1", "\\u009b2J": 1}}' > "$tmp/k5.json"
for k in k1.yaml k2.yaml k3.yaml k4.json k5.json; do
    for verb in validate "plan --no-save"; do
        # shellcheck disable=SC2086
        "$FB" $verb "$tmp/$k" > "$tmp/out" 2> "$tmp/err"
        check "$verb $k exits 2" [ $? -eq 2 ]
        check "... no escape character on the terminal" sh -c "! grep -q '$ESC' '$tmp/out' '$tmp/err'"
        check "... no C1 control either" sh -c "! LC_ALL=C grep -q \"\$(printf '\\302\\233')\" '$tmp/out' '$tmp/err'"
    done
done
"$FB" validate "$tmp/k1.yaml" 2> "$tmp/err" > /dev/null
check "the unknown key is shown escaped" grep -q 'unknown property `nosuch\\u001b\[2J`' "$tmp/err"
check "... and its pointer too" grep -q '/spec/nosuch\\u001b\[2J: ' "$tmp/err"
"$FB" validate "$tmp/k5.json" 2> "$tmp/err" > /dev/null
check "a C1 control (CSI) in a key is shown escaped" grep -q 'unknown property `\\u009b2J`' "$tmp/err"
"$FB" validate --format json "$tmp/k1.yaml" > "$tmp/out" 2> /dev/null
check "the JSON report holds the key escaped as JSON" grep -q 'nosuch\\\\u001b\[2J' "$tmp/out"

echo "plan: $pass passed, $fail failed"
[ $fail -eq 0 ]
