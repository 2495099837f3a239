// expect: 5:1: parameter 1 evaluates to infinity
OPENQASM 2.0;
include "qelib1.inc";
qreg q[1];
rx(1/0) q[0];
