// expect: 5:4: malformed number
OPENQASM 2.0;
include "qelib1.inc";
qreg q[1];
rx(1.5x) q[0];
