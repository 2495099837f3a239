// expect: 4:6: 'q' is already defined as a quantum register at
OPENQASM 2.0;
qreg q[2];
qreg q[3];
