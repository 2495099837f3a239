// expect: 5:1: gate 'cx' acts on 2 qubits, got 1
OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
cx q[0];
