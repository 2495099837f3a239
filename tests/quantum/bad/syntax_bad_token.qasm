// expect: 4:10: expected a qubit or quantum register, found '+'
OPENQASM 2.0;
qreg q[2];
CX q[0], +q[1];
