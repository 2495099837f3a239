// expect: 4:1: add include "stdgates.inc"
OPENQASM 3.0;
qubit[2] q;
cx q[0], q[1];
