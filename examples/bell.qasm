// A Bell pair: H on q[0], CNOT to q[1], then measure both.
// Expect about half 00 and half 11, never 01 or 10 on a noiseless simulator.
OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
cx q[0],q[1];
measure q[0] -> c[0];
measure q[1] -> c[1];
