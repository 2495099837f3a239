// expect: 3:8: register 'q' must have at least one qubit
OPENQASM 2.0;
qreg q[0];
