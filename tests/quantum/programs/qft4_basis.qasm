// Four-qubit QFT (with the final swaps) of the basis state |1011>:
// every outcome has probability 1/16.
OPENQASM 2.0;
include "qelib1.inc";
gate swap_ a, b { cx a, b; cx b, a; cx a, b; }
qreg q[4];
creg c[4];
x q[0]; x q[1]; x q[3];
h q[3];
cu1(pi/2) q[2], q[3];
cu1(pi/4) q[1], q[3];
cu1(pi/8) q[0], q[3];
h q[2];
cu1(pi/2) q[1], q[2];
cu1(pi/4) q[0], q[2];
h q[1];
cu1(pi/2) q[0], q[1];
h q[0];
swap_ q[0], q[3];
swap_ q[1], q[2];
measure q -> c;
