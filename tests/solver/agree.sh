#!/bin/sh
# agree.sh - `fedbroker solve` against independent solvers on small generated
# placement problems with links, tight capacities and (for half of them)
# capacity groups, budgets and pair constraints.
#
# For each instance: solve with `fedbroker solve --exact --format json
# --export-lp`, then solve the exported LP with glpsol (and cbc when it is
# installed). Require: the same optimum within 1e-6 relative, our lower bound
# <= their optimum <= our total, and our plan re-priced and checked by
# python3 with decimal arithmetic from the instance file (not by our code).
# Needs: glpk-utils (glpsol), python3; coinor-cbc optional.
set -eu

srcdir=${srcdir:-.}
FB=${FEDBROKER:-./fedbroker}
GEN="$srcdir/bench/gen_placement.py"

if ! command -v glpsol >/dev/null 2>&1; then
    echo "SKIP: glpsol not found (apt-get install glpk-utils)"
    exit 77
fi
if ! command -v python3 >/dev/null 2>&1; then
    echo "SKIP: python3 not found"
    exit 77
fi
HAVE_CBC=0
command -v cbc >/dev/null 2>&1 && HAVE_CBC=1

tmp=$(mktemp -d "${TMPDIR:-/tmp}/agree.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# Independent check of a plan: re-prices it with Decimal (each link's
# volume x price rounded half-to-even to 1e-9 USD, as docs/solver.md says)
# and checks every constraint. Prints the exact total.
cat > "$tmp/check.py" <<'EOF'
import json, sys
from decimal import Decimal, ROUND_HALF_EVEN
inst = json.load(open(sys.argv[1]), parse_float=Decimal, parse_int=Decimal)
out = json.load(open(sys.argv[2]))
asg = {int(k): int(v) for k, v in out["assignment"].items()}
nw = len(inst["workloads"])
assert sorted(asg) == list(range(nw)), "assignment does not cover every workload"
D = lambda x: Decimal(str(x))
offers = inst["offers"]
region = [int(o["region"]) for o in offers]
prov = [r["provider"] for r in inst["regions"]]
total = Decimal(0)
load = {}
count = {}
for w, o in asg.items():
    wl = inst["workloads"][w]
    assert str(o) in wl["cost"], "workload %d on offer %d, not one of its offers" % (w, o)
    total += D(wl["cost"][str(o)])
    load[o] = load.get(o, 0) + D(wl["demand_vcpu"])
    count[o] = count.get(o, 0) + 1
for o, l in load.items():
    assert l <= D(offers[o]["capacity_vcpu"]), "offer %d over capacity" % o
for g in inst.get("capacity_groups", []):
    s = sum((count if g.get("measure") == "count" else load).get(o, 0) for o in set(int(x) for x in g["offers"]))
    assert s <= D(g["capacity"]), "group %s over capacity" % g.get("name")
for b in inst.get("budgets", []):
    s = sum(D(inst["workloads"][int(w)]["cost"][str(asg[int(w)])]) for w in set(b["workloads"]))
    assert s <= D(b["budget_usd"]), "budget %s exceeded" % b.get("name")
for q in inst.get("pair_constraints", []):
    oa, ob = asg[int(q["a"])], asg[int(q["b"])]
    ra, rb = region[oa], region[ob]
    t = q["type"]
    ok = {"same_region": ra == rb, "different_region": ra != rb,
          "different_provider": prov[ra] != prov[rb]}.get(t)
    if t == "forbidden_offers":
        ok = [oa, ob] not in [[int(x), int(y)] for x, y in q["pairs"]]
    assert ok, "pair constraint %s violated" % q
for l in inst.get("links", []):
    price = D(inst["egress_price"][region[asg[int(l["from"])]]][region[asg[int(l["to"])]]])
    total += (D(l["volume_gib_month"]) * price).quantize(Decimal("1e-9"), rounding=ROUND_HALF_EVEN)
assert total == Decimal(out["total_monthly_cost"]), "re-priced %s, solver says %s" % (total, out["total_monthly_cost"])
assert Decimal(out["lower_bound"]) <= total
print(total)
EOF

pass=0
fail=0
# size seed extras
set -- "8x10 1 0" "10x12 2 1" "12x15 3 0" "12x15 4 1" "15x20 5 0" "15x20 6 1" \
       "20x30 7 0" "20x30 8 1" "25x40 9 0" "30x60 10 1" "12x15 11 budget0.8"
for spec in "$@"; do
    set -- $spec
    size=$1 seed=$2 extra=$3
    inst="$tmp/i$seed.json"
    args=""
    case $extra in 1) args="--groups --budgets --pairs 4";; budget*) args="--budgets";; esac
    python3 "$GEN" --size "$size" --seed "$seed" --tight 0.8 $args -o "$inst"
    if [ "$extra" = budget0.8 ]; then
        # Budgets cut below the generator's witness: may become infeasible;
        # both solvers must agree either way.
        python3 -c "
import json,sys
d=json.load(open(sys.argv[1]))
for b in d['budgets']: b['budget_usd']=round(b['budget_usd']*0.8,6)
json.dump(d,open(sys.argv[1],'w'))" "$inst"
    fi
    set +e
    "$FB" solve "$inst" --exact --format json --time-limit 60 --export-lp "$tmp/i$seed.lp" > "$tmp/o$seed.json" 2> "$tmp/e$seed.txt"
    rc=$?
    glpsol --lp "$tmp/i$seed.lp" --tmlim 120 -w "$tmp/g$seed.txt" > "$tmp/glpsol$seed.log" 2>&1
    set -e
    gline=$(grep '^s mip' "$tmp/g$seed.txt" || true)
    gstat=$(echo "$gline" | awk '{print $5}')
    gobj=$(echo "$gline" | awk '{print $6}')
    ours=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['status'])" "$tmp/o$seed.json" 2>/dev/null || echo none)
    ok=1
    why=""
    if [ "$gstat" = n ]; then
        [ "$ours" = infeasible ] && [ $rc -eq 3 ] || { ok=0; why="glpsol: infeasible, we: $ours (exit $rc)"; }
    elif [ "$gstat" = o ]; then
        if [ "$ours" != optimal ] || [ $rc -ne 0 ]; then
            ok=0; why="glpsol: optimal $gobj, we: $ours (exit $rc) $(cat "$tmp/e$seed.txt")"
        elif ! total=$(python3 "$tmp/check.py" "$inst" "$tmp/o$seed.json" 2>&1); then
            ok=0; why="plan check: $total"
        else
            res=$(python3 -c "
import json,sys
o=json.load(open(sys.argv[1])); g=float(sys.argv[2])
t=float(o['total_monthly_cost']); b=float(o['lower_bound'])
tol=1e-6*max(1.0,abs(g))
print('ok' if abs(t-g)<=tol and b<=g+tol and g<=t+tol else 'ours %s bound %s glpsol %s'%(t,b,g))" "$tmp/o$seed.json" "$gobj")
            [ "$res" = ok ] || { ok=0; why="$res"; }
        fi
    else
        ok=0; why="glpsol did not finish ($gline)"
    fi
    if [ $ok -eq 1 ] && [ $HAVE_CBC -eq 1 ]; then
        (cd "$tmp" && cbc "i$seed.lp" sec 120 solve solu "c$seed.txt" > "cbc$seed.log" 2>&1) || true
        cline=$(head -1 "$tmp/c$seed.txt" 2>/dev/null || true)
        case $cline in
        Optimal*)
            cobj=$(echo "$cline" | awk '{print $NF}')
            res=$(python3 -c "
import json,sys
o=json.load(open(sys.argv[1])); c=float(sys.argv[2])
t=float(o['total_monthly_cost']); b=float(o['lower_bound'])
tol=1e-6*max(1.0,abs(c))
print('ok' if abs(t-c)<=tol and b<=c+tol else 'ours %s bound %s cbc %s'%(t,b,c))" "$tmp/o$seed.json" "$cobj")
            [ "$res" = ok ] || { ok=0; why="$res"; } ;;
        Infeasible*)
            [ "$ours" = infeasible ] || { ok=0; why="cbc: infeasible, we: $ours"; } ;;
        *) ok=0; why="cbc: $cline" ;;
        esac
    fi
    if [ $ok -eq 1 ]; then
        pass=$((pass + 1))
        echo "ok   $size seed $seed extras $extra: $ours ${gobj:-}"
    else
        fail=$((fail + 1))
        echo "FAIL $size seed $seed extras $extra: $why"
    fi
done
echo "agree: $pass passed, $fail failed"
[ $fail -eq 0 ]
