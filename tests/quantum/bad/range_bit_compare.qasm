// expect: 6:13: a single bit compares with 0 or 1, not 2
OPENQASM 3.0;
include "stdgates.inc";
qubit[1] q;
bit[2] c;
if (c[0] == 2) x q[0];
