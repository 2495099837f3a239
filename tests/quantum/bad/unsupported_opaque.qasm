// expect: 5:1: opaque gate 'magic' has no definition
OPENQASM 2.0;
opaque magic(a) q;
qreg q[1];
magic(0.5) q[0];
