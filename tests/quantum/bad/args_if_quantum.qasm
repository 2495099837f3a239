// expect: 5:5: 'q' is a quantum register; a classical register is needed here
OPENQASM 2.0;
include "qelib1.inc";
qreg q[1];
if (q == 1) x q[0];
