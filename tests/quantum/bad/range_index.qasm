// expect: 5:5: index 2 is out of range for register 'q' of size 2
OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
h q[2];
