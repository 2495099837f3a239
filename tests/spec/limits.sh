#!/bin/sh
# The per-invocation spec limits through the real binary (docs/spec.md
# "Limits"), at the limit and one step past it: the documented default of
# 10,000 workloads across a federation's file references, --max-workloads,
# and its usage errors.
set -u
srcdir=${srcdir:-.}
FB=${FEDBROKER:-./fedbroker}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/speclimits.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
pass=0
fail=0
check() { # name, command...
    name=$1; shift
    if "$@"; then pass=$((pass + 1)); echo "ok   $name"; else fail=$((fail + 1)); echo "FAIL $name"; fi
}
run() { # expected exit, args...: runs fedbroker, output in $tmp/out, $tmp/err
    want=$1; shift
    "$FB" "$@" > "$tmp/out" 2> "$tmp/err"
    rc=$?
    [ "$rc" -eq "$want" ] || { echo "  exit $rc, expected $want: $FB $*"; head -5 "$tmp/err"; return 1; }
}

# 10,000 workloads in ten files of 1000 documents behind one federation: read
"$PY" "$srcdir/bench/gen_federation.py" --workloads 10000 -o "$tmp/f10k" || exit 1
check "10,000 workloads (the default limit) are read" run 0 validate "$tmp/f10k/fed.yaml"
check "... all of them" grep -q "Federation acme/big workloads=10000 " "$tmp/out"
# one more: refused at the workload past the limit, once, exit 2
"$PY" "$srcdir/bench/gen_federation.py" --workloads 10001 -o "$tmp/f10k1" || exit 1
check "10,001 workloads exit 2" run 2 validate "$tmp/f10k1/fed.yaml"
check "... at the 10,001st, naming the limit" \
    grep -q "part-10.yaml:1:1: error: (document): more than 10000 workloads in one invocation" "$tmp/err"
check "... and how to raise it" grep -q -- "--max-workloads N" "$tmp/err"
check "... reported once" [ "$(grep -c ': error: ' "$tmp/err")" -eq 1 ]
check "--max-workloads 10001 reads them" run 0 validate --max-workloads 10001 "$tmp/f10k1/fed.yaml"
# a lower limit through plan and render too (they refuse before any driver runs)
"$PY" "$srcdir/bench/gen_federation.py" --workloads 3 -o "$tmp/f3" || exit 1
for verb in validate plan render; do
    extra=""
    [ $verb = render ] && extra="--target aws"
    [ $verb = plan ] && extra="--no-save"
    check "$verb --max-workloads 3 with 3 workloads gets past the limit" \
        sh -c "! '$FB' $verb --max-workloads 3 $extra '$tmp/f3/fed.yaml' 2>&1 | grep -q 'workloads in one invocation'"
    check "$verb --max-workloads 2 with 3 workloads exits 2" run 2 $verb --max-workloads 2 $extra "$tmp/f3/fed.yaml"
    check "... naming the limit" grep -q "more than 2 workloads in one invocation" "$tmp/err"
done
check "apply --max-workloads 2 with 3 workloads exits 2" \
    run 2 apply --max-workloads 2 --target aws --dry-run "$tmp/f3/fed.yaml"
for bad in 0 -1 x 100000001 1e3; do
    check "--max-workloads $bad is a usage error" run 64 validate --max-workloads "$bad" "$tmp/f3/fed.yaml"
done

# a Federation whose only member file is invalid is not "ok" (it printed
# "ok ... workloads=0" while exiting 2)
mkdir -p "$tmp/badfed"
printf 'apiVersion: fedbroker.dev/v1\nkind: Federation\nmetadata: {name: shop, tenant: acme}\nspec:\n  workloads:\n    - {file: member.yaml}\n' > "$tmp/badfed/fed.yaml"
printf 'apiVersion: fedbroker.dev/v1\nkind: Function\nmetadata: {name: api}\nspec: {runtime: nosuch, handler: x}\n' > "$tmp/badfed/member.yaml"
check "a federation with no valid member exits 2" run 2 validate "$tmp/badfed/fed.yaml"
check "... and is reported invalid, never ok" sh -c "grep -q '^invalid .*Federation acme/shop: none of its workloads is valid' '$tmp/out' && ! grep -q '^ok ' '$tmp/out'"

echo "limits: $pass passed, $fail failed"
[ $fail -eq 0 ]
