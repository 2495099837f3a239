#!/bin/sh
# The whole life cycle through the real CLI, the real example driver (.so)
# and real HTTP against tests/fakes/example_cloud.py, which validates what it
# receives: apply -> status (ready) -> drift -> discover -> destroy (twice).
set -u
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
mkdir -p "$tmp/drv" "$tmp/home"; chmod 755 "$tmp" "$tmp/drv"
cp "$top_builddir/examples/driver/.libs/example.so" "$tmp/drv/"; chmod 755 "$tmp/drv/example.so"
"$PYTHON" "$top_srcdir/tests/fakes/example_cloud.py" "$tmp/port" & pid=$!
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do [ -f "$tmp/port" ] && break; sleep 0.2; done
port=$(cat "$tmp/port")
printf '{"drivers": {"example": {"endpoint": "http://127.0.0.1:%s"}}}\n' "$port" > "$tmp/home/config.json"
export FEDBROKER_HOME="$tmp/home" FEDBROKER_DRIVER_PATH="$tmp/drv"
ex="$top_srcdir/examples"
fail=0
check() { # description, expected exit, command...
    desc=$1; want=$2; shift 2
    out=$("$@" 2>&1); got=$?
    if [ "$got" != "$want" ]; then echo "FAIL: $desc: exit $got, expected $want"; echo "$out"; fail=1
    else echo "ok: $desc"; fi
}
contains() { # description, needle
    case "$out" in *"$2"*) echo "ok: $1" ;; *) echo "FAIL: $1: '$2' not in:"; echo "$out"; fail=1 ;; esac
}

check "dry run sends nothing" 0 "$FEDBROKER" apply --dry-run --target example "$ex/function.yaml"
contains "dry run prints the PUT" '"method": "PUT"'
a=$(FEDBROKER_NOW=2015-08-30T12:36:00Z "$FEDBROKER" apply --dry-run --target example "$ex/function.yaml")
b=$(FEDBROKER_NOW=2015-08-30T12:36:00Z "$FEDBROKER" apply --dry-run --target example "$ex/function.yaml")
[ "$a" = "$b" ] && echo "ok: dry run is reproducible" || { echo "FAIL: dry runs differ"; fail=1; }
[ ! -f "$tmp/home/state.db" ] && echo "ok: dry run stored nothing" || { echo "FAIL: dry run created a store"; fail=1; }

check "apply two workloads" 0 "$FEDBROKER" apply --target example "$ex/function.yaml" "$ex/container.yaml"
check "status: all ready" 0 "$FEDBROKER" status
contains "status lists hello" "hello"
check "apply again updates in place" 0 "$FEDBROKER" apply --target example "$ex/function.yaml"
curl -s -X POST "http://127.0.0.1:$port/__fake/mutate" -d '{"name":"hello","field":"memoryMiB","value":1024}' >/dev/null
check "status: drift exits 4" 4 "$FEDBROKER" status --format json
contains "drift names the field" '"field": "memoryMiB"'
curl -s -X POST "http://127.0.0.1:$port/__fake/seed" -d '{"name":"legacy","kind":"Container","labels":{}}' >/dev/null
check "discover" 0 "$FEDBROKER" discover --format json
contains "discover marks an unmanaged app" '"managed": false'
contains "discover marks tracked apps" '"tracked": true'
check "destroy one workload" 0 "$FEDBROKER" destroy --workload hello
check "status after partial destroy" 0 "$FEDBROKER" status
check "destroy everything" 0 "$FEDBROKER" destroy --all
check "destroy again is a no-op" 0 "$FEDBROKER" destroy --all
contains "nothing left" "nothing to destroy"
check "destroy needs a selection" 64 "$FEDBROKER" destroy
check "unknown target is refused" 2 "$FEDBROKER" apply --target nosuch "$ex/function.yaml"
contains "unknown target says why" "no driver named 'nosuch'"
# the journal has one closed row per provider call
n=$(sqlite3 "$tmp/home/state.db" "SELECT count(*) FROM journal WHERE phase='done'")
i=$(sqlite3 "$tmp/home/state.db" "SELECT count(*) FROM journal WHERE phase='intent'")
[ "$n" = 5 ] && [ "$i" = 0 ] && echo "ok: journal has 5 closed rows (3 applies, 2 destroys)" || { echo "FAIL: journal done=$n intent=$i"; fail=1; }
exit $fail
