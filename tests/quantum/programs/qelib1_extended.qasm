// The gates QASMBench's extended qelib1.inc adds, read through a relative
// include of that header (outside this directory: allowed by the option).
// fedbroker-args: --allow-path ../data/qasmbench
OPENQASM 2.0;
include "../data/qasmbench/qelib1.inc";
qreg q[5];
creg c[5];
h q;
u0(0.3) q[0]; rxx(0.7) q[0], q[1]; rzz(1.1) q[1], q[2]; rccx q[0], q[1], q[2];
rc3x q[0], q[1], q[2], q[3]; c3x q[1], q[2], q[3], q[4]; c3sqrtx q[0], q[2], q[3], q[4];
h q;
c4x q[0], q[1], q[2], q[3], q[4]; cu3(0.5, 0.2, 0.9) q[4], q[0]; crx(0.6) q[2], q[3];
cry(0.8) q[3], q[4]; swap q[0], q[4]; cswap q[1], q[2], q[3];
h q;
measure q -> c;
