// expect: 5:1: OpenQASM 3 'for' is not supported
OPENQASM 3.0;
include "stdgates.inc";
qubit[2] q;
for int i in [0:1] { h q[i]; }
