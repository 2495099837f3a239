// expect: 6:14: undefined register 'd'
OPENQASM 2.0;
include "qelib1.inc";
qreg q[1];
creg c[1];
measure q -> d;
