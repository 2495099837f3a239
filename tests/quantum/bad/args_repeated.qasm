// expect: 5:10: qubit q[0] is used twice in one 'cx'
OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
cx q[0], q[0];
