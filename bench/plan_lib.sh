# plan_lib.sh - what plan_bench.sh and plan_mem.sh share (sourced, not
# run): a scratch directory with the drivers of the build (and of an older
# build), and the environment every plan of the benchmarks runs in.

# plan_setup SCRIPT BUILDDIR OLDDIR: sets build (absolute) and tmp (a new
# directory, removed on exit) with tmp/new (and tmp/old when OLDDIR is
# not empty) holding the drivers, tmp/home the FEDBROKER_HOME.
plan_setup() {
    [ -x /usr/bin/time ] || { echo "$1: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
    build=$(cd "$2" && pwd)
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    mkdir -p "$tmp/new" "$tmp/home"
    cp "$build"/stage/drivers/*.so "$tmp/new/"
    chmod 755 "$tmp" "$tmp/new" "$tmp"/new/*.so
    if [ -n "$3" ]; then
        mkdir -p "$tmp/old"
        cp "$3"/drivers/*.so "$tmp/old/"
        chmod 755 "$tmp/old" "$tmp"/old/*.so
    fi
    export FEDBROKER_HOME="$tmp/home" FEDBROKER_NOW=2026-01-01T00:00:00Z
    unset FEDBROKER_CONFIG FEDBROKER_PLAN_THREADS FEDBROKER_PLAN_STATS
}
