// expect: 4:1: undefined gate 'h' (it is a standard gate: add include "qelib1.inc";)
OPENQASM 2.0;
qreg q[1];
h q[0];
