// expect: 5:1: gate modifier 'ctrl @' needs OpenQASM 3
OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
ctrl @ x q[0], q[1];
