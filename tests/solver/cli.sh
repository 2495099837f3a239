#!/bin/sh
# cli.sh - `fedbroker solve` through the real binary: exit codes, messages
# with JSON pointers, both output formats, the LP export.
set -u
FB=${FEDBROKER:-./fedbroker}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/solvecli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
pass=0
fail=0
check() { # name, condition (shell words)
    name=$1; shift
    if "$@"; then pass=$((pass + 1)); echo "ok   $name"; else fail=$((fail + 1)); echo "FAIL $name"; fi
}

cat > "$tmp/ok.json" <<'EOF'
{"format": "fedbroker-placement-instance/1",
 "regions": [{"id": 0, "name": "aws:us-east-1", "provider": "aws"},
             {"id": 1, "name": "gcp:us-east4", "provider": "gcp"}],
 "egress_price": [[0, 0.09], [0.12, 0]],
 "offers": [{"id": 0, "provider": "aws", "service": "lambda", "region": 0, "capacity_vcpu": 2},
            {"id": 1, "provider": "gcp", "service": "cloud-run", "region": 1, "capacity_vcpu": 4}],
 "workloads": [{"id": 0, "demand_vcpu": 1, "cost": {"0": 10.5, "1": "12"}},
               {"id": 1, "demand_vcpu": 1.5, "cost": {"0": 20, "1": 21}}],
 "links": [{"id": 0, "from": 0, "to": 1, "volume_gib_month": 100}]}
EOF
# Optimum by hand: w0 on 0 (10.5) and w1 on 1 (21) costs 31.5 + 100 GiB x 0.09
# = 40.5; w0 on 1 and w1 on 0 costs 12 + 20 + 100 x 0.12 = 44; both on one
# offer: offer 0 is too small (2.5 > 2), both on 1 cost 33.
"$FB" solve "$tmp/ok.json" --format json > "$tmp/o.json"
rc=$?
check "feasible exits 0" [ $rc -eq 0 ]
check "optimum 33 found and proven" grep -q '"total_monthly_cost": "33.00"' "$tmp/o.json"
check "status optimal" grep -q '"status": "optimal"' "$tmp/o.json"
check "assignment" grep -q '"1": 1' "$tmp/o.json"

"$FB" solve "$tmp/ok.json" --export-lp "$tmp/ok.lp" > "$tmp/t.txt"
check "table output" grep -q '^status: *optimal' "$tmp/t.txt"
check "table utilisation" grep -q 'gcp:us-east4 cloud-run' "$tmp/t.txt"
check "LP file written" grep -q '^Minimize' "$tmp/ok.lp"

sed 's/"0": 20, "1": 21/"0": 20, "7": 21/' "$tmp/ok.json" > "$tmp/bad.json"
"$FB" solve "$tmp/bad.json" > /dev/null 2> "$tmp/e.txt"
rc=$?
check "invalid input exits 2" [ $rc -eq 2 ]
check "error names the JSON pointer" grep -q '/workloads/1/cost/7' "$tmp/e.txt"

sed 's/"capacity_vcpu": 4/"capacity_vcpu": 0.5/' "$tmp/ok.json" > "$tmp/inf.json"
"$FB" solve "$tmp/inf.json" --format json > "$tmp/i.json" 2> "$tmp/ie.txt"
rc=$?
check "infeasible exits 3" [ $rc -eq 3 ]
check "infeasible status" grep -q '"status": "infeasible"' "$tmp/i.json"
check "infeasible reason names the offer" grep -q 'capacity of offer 0' "$tmp/ie.txt"

"$FB" solve "$tmp/ok.json" --exact --heuristic > /dev/null 2>&1
check "--exact with --heuristic is a usage error" [ $? -eq 64 ]
"$FB" solve "$tmp/ok.json" --time-limit nope > /dev/null 2>&1
check "bad --time-limit is a usage error" [ $? -eq 64 ]
"$FB" solve "$tmp/missing.json" > /dev/null 2>&1
check "missing file exits 2" [ $? -eq 2 ]

# The input limit (docs/solver.md): 64 MiB by default, --max-input-size
# raises or lowers it; tested at the limit and one byte past it, from a
# file and from a pipe.
pad() { # file, total size: the instance followed by spaces up to the size
    cp "$tmp/ok.json" "$1" && truncate -s "$2" "$1" && sed -i 's/\x0/ /g' "$1"
}
size=$(wc -c < "$tmp/ok.json")
"$FB" solve "$tmp/ok.json" --max-input-size "$size" > /dev/null 2>&1
check "input of exactly --max-input-size is read" [ $? -eq 0 ]
"$FB" solve "$tmp/ok.json" --max-input-size "$((size - 1))" > /dev/null 2> "$tmp/big.txt"
check "one byte past --max-input-size exits 2" [ $? -eq 2 ]
check "the refusal names the limit and the option" \
    grep -q "$size bytes is larger than the input limit of $((size - 1)) bytes.*" "$tmp/big.txt"
check "... and how to raise it" grep -q -- "--max-input-size" "$tmp/big.txt"
"$FB" solve - --max-input-size "$((size - 1))" < "$tmp/ok.json" > /dev/null 2> "$tmp/pipe.txt"
check "a pipe past the limit exits 2" [ $? -eq 2 ]
check "... naming the limit" grep -q "limit is $((size - 1)) bytes" "$tmp/pipe.txt"
pad "$tmp/64m.json" 67108864
"$FB" solve "$tmp/64m.json" > /dev/null 2>&1
check "the default limit: 64 MiB is read" [ $? -eq 0 ]
pad "$tmp/64m1.json" 67108865
"$FB" solve "$tmp/64m1.json" > /dev/null 2> "$tmp/big.txt"
check "the default limit: 64 MiB + 1 byte exits 2" [ $? -eq 2 ]
check "... with the default named" grep -q "input limit of 67108864 bytes (64 MiB)" "$tmp/big.txt"
rm -f "$tmp/64m.json" "$tmp/64m1.json"
for bad in 0 2Gi 1Ti x 64Mb -5; do
    "$FB" solve "$tmp/ok.json" --max-input-size "$bad" > /dev/null 2>&1
    check "--max-input-size $bad is a usage error" [ $? -eq 64 ]
done
"$FB" solve "$tmp/ok.json" --max-input-size 1Gi > /dev/null 2>&1
check "--max-input-size 1Gi (the most) is accepted" [ $? -eq 0 ]

echo "cli: $pass passed, $fail failed"
[ $fail -eq 0 ]
