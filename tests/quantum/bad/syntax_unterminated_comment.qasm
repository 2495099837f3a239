// expect: 3:1: unterminated /* comment
OPENQASM 2.0;
/* never closed
qreg q[1];
