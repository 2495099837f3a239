#!/bin/sh
# The on-premises Kubernetes offer on the map: the k8s driver's "location"
# and "jurisdiction" settings decide whether residency rules admit it and
# what latency the model gives it; a location the catalog does not know is
# invalid input naming the setting.
set -u
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/drv" "$tmp/home"; chmod 700 "$tmp/home"; chmod 755 "$tmp" "$tmp/drv"
cp "$top_builddir/stage/drivers/k8s.so" "$tmp/drv/"; chmod 755 "$tmp/drv/k8s.so"
export FEDBROKER_HOME="$tmp/home" FEDBROKER_DRIVER_PATH="$tmp/drv"
unset FEDBROKER_CONFIG FEDBROKER_CATALOG
fail=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fail=1; }
cat > "$tmp/web.yaml" <<'YAML'
apiVersion: fedbroker.dev/v1
kind: Container
metadata: {name: web, tenant: acme}
spec:
  image: registry.example.com/web:1.0
  ports: [{port: 8080}]
  resources: {cpu: 1, memory: 1Gi}
  scaling: {minInstances: 2, maxInstances: 4}
  traffic: {requestsPerMonth: 1000000, meanDuration: 100ms, sources: [{location: frankfurt, weight: 1}]}
  placement: {residency: [EU]}
YAML
plan() { # config-json expected-exit description
    printf '%s\n' "$1" > "$tmp/home/config.json"
    "$FEDBROKER" plan "$tmp/web.yaml" --no-save --no-baselines --format json >"$tmp/out.json" 2>"$tmp/err"
    got=$?
    if [ "$got" = "$2" ]; then ok "$3"; else bad "$3: exit $got, expected $2"; cat "$tmp/err"; fi
}
field() { "$PYTHON" -c 'import json,sys; p=json.load(open(sys.argv[1])); w=p["workloads"][0]; print(eval(sys.argv[2]))' "$tmp/out.json" "$1"; }

plan '{"drivers": {"k8s": {}}}' 3 "no location: an EU residency rule cannot admit the cluster (exit 3)"
grep -q "jurisdiction (unknown)" "$tmp/out.json" && ok "the reason names the unknown jurisdiction" || bad "reason for the unplaced cluster"

plan '{"drivers": {"k8s": {"location": "frankfurt"}}}' 0 "location frankfurt: the EU rule admits the cluster"
[ "$(field 'w["placement"]["jurisdiction"]')" = EU ] && ok "placement jurisdiction EU from the metro" || bad "jurisdiction: $(field 'w["placement"]')"
p50=$(field 'w["p50_latency_ms"]')
"$PYTHON" -c 'import sys; sys.exit(0 if float(sys.argv[1]) < 30 else 1)' "$p50" && ok "frankfurt users reach a frankfurt cluster in $p50 ms (p50)" || bad "p50 $p50 ms"

plan '{"drivers": {"k8s": {"location": "tokyo"}}}' 3 "location tokyo: the EU rule rules the cluster out"
grep -q "in jurisdiction JP" "$tmp/out.json" && ok "the reason names JP" || bad "tokyo reason: $(grep -o 'in jurisdiction [A-Z]*' "$tmp/out.json" | head -1)"

plan '{"drivers": {"k8s": {"location": "tokyo", "jurisdiction": "EU"}}}' 0 "an explicit jurisdiction overrides the metro's"
[ "$(field 'w["placement"]["jurisdiction"]')" = EU ] && ok "placement jurisdiction EU as configured" || bad "jurisdiction override"
p50=$(field 'w["p50_latency_ms"]')
"$PYTHON" -c 'import sys; sys.exit(0 if float(sys.argv[1]) > 100 else 1)' "$p50" && ok "frankfurt users to tokyo: $p50 ms (p50)" || bad "tokyo p50 $p50 ms"

plan '{"drivers": {"k8s": {"location": "frankfort"}}}' 2 "an unknown location is invalid input (exit 2)"
grep -q 'setting "location" .frankfort. is not a metro or location' "$tmp/err" && ok "the error names the setting and what to do" || { bad "unknown location message"; cat "$tmp/err"; }
plan '{"drivers": {"k8s": {"jurisdiction": "eu"}}}' 2 "a lower-case jurisdiction is refused"
grep -q "jurisdiction" "$tmp/err" && ok "the error names the setting" || bad "jurisdiction message"
# a scheduled job: the cluster's kubernetes offer wires schedules (as a
# CronJob), so plan can place it there, priced by its runs, not always on
cat > "$tmp/nightly.yaml" <<'YAML'
apiVersion: fedbroker.dev/v1
kind: Function
metadata: {name: nightly, tenant: acme}
spec:
  image: registry.example.com/batch:1.0
  resources: {memory: 1Gi}
  timeout: 10m
  triggers: [{schedule: {cron: "0 3 * * *"}}]
  traffic: {requestsPerMonth: 30, meanDuration: 5m}
YAML
printf '%s\n' '{"drivers": {"k8s": {"location": "frankfurt"}}}' > "$tmp/home/config.json"
if "$FEDBROKER" plan "$tmp/nightly.yaml" --no-save --no-baselines --format json >"$tmp/out.json" 2>"$tmp/err"; then
    ok "a schedule-only job is placed"
    "$PYTHON" - "$tmp/out.json" <<'PY' && ok "on kubernetes, priced as 30 runs x 5 min (2.5 GB-hours of 1 GiB)" || bad "scheduled job placement or price"
import json, sys
from decimal import Decimal as D
w = json.load(open(sys.argv[1]))["workloads"][0]
assert w["placement"]["service"] == "kubernetes", w["placement"]
mem = [l for l in w["lines"] if l["metric"] == "memory"][0]
assert D(mem["quantity"]) == D("2.5"), mem
PY
else bad "a schedule-only job on the cluster"; cat "$tmp/err"; fi
exit $fail
