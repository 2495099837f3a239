// expect: 3:11: unexpected character '%'
OPENQASM 2.0;
qreg q[1] %;
