// expect: 6:14: cannot measure 3 qubits of 'q' into 2 bits of 'c'
OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg c[2];
measure q -> c;
