#!/bin/sh
# quantum_bench.sh SRCDIR BUILDDIR - the quantum simulator benchmark (run by
# `make bench-quantum`): kernel throughput against memory bandwidth, whole
# QFT circuits, and the same QFT on the npm package quantum-circuit under
# node (installed into SRCDIR/bench/node at bench time; node_modules is not
# committed). Environment: QB_QUBITS (default 20,22,24,26), QB_REPS (3),
# QB_QFT (16,20), QB_NODE=0 to skip node.
set -e
src=${1:-.}
build=${2:-.}
cd "$build"
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
./bench/quantum_bench --qubits "${QB_QUBITS:-20,22,24,26}" --reps "${QB_REPS:-3}" \
    --qft "${QB_QFT:-16,20}" | tee bench/quantum_bench.out
[ "${QB_NODE:-1}" = 0 ] && exit 0
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "== node/npm not found: skipping the quantum-circuit comparison"
    exit 0
fi
nd="$src/bench/node"
if [ ! -d "$nd/node_modules/quantum-circuit" ]; then
    echo "== installing quantum-circuit from npm into $nd/node_modules"
    (cd "$nd" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi
echo
echo "== quantum-circuit $(node -p "require('$nd/node_modules/quantum-circuit/package.json').version") under node $(node --version)"
for q in $(echo "${QB_QFT:-16,20}" | tr , ' '); do
    [ "$q" -gt 18 ] && { echo "qft$q: skipped on quantum-circuit (minutes)"; continue; }
    t=$(cd "$nd" && node qc_run.js time "$OLDPWD/bench/qft$q.qasm" 2>/dev/null)
    run=$(echo "$t" | sed 's/.*"run_ms":\([0-9.]*\).*/\1/')
    imp=$(echo "$t" | sed 's/.*"import_ms":\([0-9.]*\).*/\1/')
    ours=$(awk -v q="$q" '$1 == q && NF == 5 {print $3 + $4, $3 + $5}' bench/quantum_bench.out)
    set -- $ours
    awk -v q="$q" -v run="$run" -v imp="$imp" -v a="$1" -v b="$2" 'BEGIN {
        printf "qft%d: quantum-circuit import %.1f ms + run %.1f ms; fedbroker parse+simulate %.2f ms (%.0fx faster than run),\n", q, imp, run, a, run / a;
        printf "       parse + exact probabilities of all outcomes %.2f ms (%.0fx)\n", b, run / b }'
done
echo
echo "== cross-check of probabilities with quantum-circuit"
/usr/bin/python3 "$src/bench/quantum_crosscheck.py" ./fedbroker "$nd" \
    "$src"/tests/quantum/programs/bell.qasm "$src"/tests/quantum/programs/grover3.qasm \
    "$src"/tests/quantum/programs/qft5_roundtrip.qasm "$src"/tests/quantum/data/qasmbench/qaoa_n3.qasm \
    "$src"/tests/quantum/data/qasmbench/qpe_n9.qasm || true
