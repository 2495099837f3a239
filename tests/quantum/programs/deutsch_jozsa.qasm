// Deutsch-Jozsa on three input bits with the balanced oracle
// f(x) = x0 xor x1 xor x2: the inputs read 111, never 000.
OPENQASM 2.0;
include "qelib1.inc";
gate X_ a { U(pi, 0, pi) a; }
qreg inp[3];
qreg anc[1];
creg c[3];
X_ anc[0];
h inp;
h anc[0];
cx inp[0], anc[0];
cx inp[1], anc[0];
cx inp[2], anc[0];
h inp;
measure inp -> c;
