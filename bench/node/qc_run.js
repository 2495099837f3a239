// qc_run.js - runs an OpenQASM 2.0 file on the npm package quantum-circuit
// (the comparison simulator of bench/quantum). Usage:
//   node qc_run.js time FILE.qasm      prints {"import_ms":..,"run_ms":..}
//   node qc_run.js probs FILE.qasm     prints the probability of every basis
//                                      state, keys with qubit 0 rightmost
"use strict";
const fs = require("fs");
const QuantumCircuit = require("quantum-circuit");

const [mode, file] = process.argv.slice(2);
if (!mode || !file) {
  console.error("usage: node qc_run.js time|probs FILE.qasm");
  process.exit(64);
}
const src = fs.readFileSync(file, "utf8");
const circ = new QuantumCircuit();
let t0 = process.hrtime.bigint();
let failed = null;
circ.importQASM(src, (errors) => {
  if (errors && errors.length) failed = errors;
});
if (failed) {
  console.error("quantum-circuit could not import " + file + ": " + JSON.stringify(failed));
  process.exit(2);
}
let t1 = process.hrtime.bigint();
circ.run();
let t2 = process.hrtime.bigint();
if (mode === "time") {
  console.log(JSON.stringify({
    qubits: circ.numQubits,
    import_ms: Number(t1 - t0) / 1e6,
    run_ms: Number(t2 - t1) / 1e6,
  }));
} else {
  const n = circ.numQubits;
  const out = {};
  for (const k of Object.keys(circ.state)) {
    const a = circ.state[k];
    const p = a.re * a.re + a.im * a.im;
    if (p < 1e-15) continue;
    out[parseInt(k, 10).toString(2).padStart(n, "0")] = p;
  }
  console.log(JSON.stringify(out));
}
