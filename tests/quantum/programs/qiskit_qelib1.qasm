// Every gate Qiskit's extended qelib1.inc adds to the OpenQASM 2.0 standard
// header (and its cu3, which differs), between layers of h and rotations so
// that relative phases show in the outcome probabilities. No qelib1.inc is
// beside this file: `include "qelib1.inc";` reads the embedded Qiskit header.
OPENQASM 2.0;
include "qelib1.inc";
qreg q[5];
creg c[5];
h q;
u0(0.3) q[0]; u(0.4, 0.9, 1.3) q[1]; p(0.7) q[2]; sx q[3]; sxdg q[4];
rx(0.3) q[0]; ry(0.5) q[2];
swap q[0], q[3]; cswap q[4], q[1], q[2]; crx(0.6) q[2], q[3]; cry(0.8) q[3], q[4];
h q;
cp(1.1) q[0], q[4]; csx q[1], q[0]; cu(0.5, 0.2, 0.9, 0.4) q[4], q[2]; cu3(0.3, 0.5, 0.7) q[0], q[1];
rxx(0.7) q[0], q[1]; rzz(1.1) q[1], q[2];
h q;
rccx q[0], q[1], q[2]; rc3x q[1], q[2], q[3], q[4]; c3x q[4], q[0], q[1], q[2];
ry(0.4) q[3];
c3sqrtx q[0], q[2], q[3], q[4]; c4x q[0], q[1], q[2], q[3], q[4];
h q;
measure q -> c;
