#!/bin/sh
# The quick start's main job (`./quickstart demo` = `make demo` =
# examples/demo.sh) runs to the end on the embedded defaults: every example
# spec validates, the quantum example runs, the example federation is
# planned and every report is written. It once failed silently in CI (two
# examples define one workload and were validated in one invocation),
# because no test ran it.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
log="$top_builddir/tests/demo.out"
if ! top_srcdir="$top_srcdir" top_builddir="$top_builddir" sh "$top_srcdir/examples/demo.sh" >"$log" 2>&1; then
    echo "FAIL: examples/demo.sh exited non-zero; its last lines:"; tail -20 "$log"; exit 1
fi
fail=0
n=0
for f in "$top_srcdir"/examples/*.yaml "$top_srcdir"/examples/*.json; do
    n=$((n + 1))
    grep -q "^ok $f " "$log" || { echo "FAIL: demo did not validate $f"; fail=1; }
done
for r in report.html report.focus.csv report.json report.md federation.lp; do
    [ -s "$top_builddir/demo/$r" ] || { echo "FAIL: demo wrote no $r"; fail=1; }
done
"${PYTHON:-python3}" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d' "$top_builddir/demo/report.json" ||
    { echo "FAIL: report.json is not JSON"; fail=1; }
[ "$fail" = 0 ] && echo "ok: demo ran to the end; $n example files validated, five outputs written"
exit "$fail"
