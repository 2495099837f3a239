// OpenQASM 3 gate modifiers and user gates built on standard gates.
OPENQASM 3;
include "stdgates.inc";
gate rot(a, b) x, y { ry(a) x; ctrl @ rz(b) x, y; inv @ s y; }
gate mix q { h q; pow(2) @ t q; }
qubit[4] q;
bit[4] c;
h q[0];
ry(0.4) q[1];
ctrl @ x q[0], q[2];
negctrl @ ry(0.9) q[1], q[3];
ctrl(2) @ x q[0], q[1], q[3];
inv @ rot(0.3, 1.2) q[2], q[1];
ctrl @ mix q[3], q[0];
pow(3) @ sx q[2];
cu(0.5, 0.2, 0.3, 0.7) q[1], q[2];
crx(0.8) q[0], q[3];
cswap q[1], q[2], q[3];
U(0.2, 0.4, 0.6) q[1];
c[0] = measure q[0];
c[1] = measure q[1];
measure q[2] -> c[2];
c[3] = measure q[3];
