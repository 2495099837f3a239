// expect: 5:2: gate 'h' takes 0 parameters, got 1
OPENQASM 2.0;
include "qelib1.inc";
qreg q[1];
h(0.5) q[0];
