// Every gate of the standard qelib1.inc between layers of h.
OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg c[3];
h q;
u3(0.4, 0.2, 1.6) q[0]; u2(0.1, 0.9) q[1]; u1(0.25) q[2]; id q[0]; x q[1]; y q[2]; z q[0];
h q[1]; s q[2]; sdg q[0]; t q[1]; tdg q[2]; rx(0.7) q[0]; ry(1.1) q[1]; rz(0.4) q[2];
h q;
cx q[0], q[1]; cz q[1], q[2]; cy q[2], q[0]; ch q[0], q[2]; crz(0.8) q[1], q[0];
cu1(0.9) q[2], q[1]; cu3(0.3, 0.5, 0.7) q[0], q[2]; ccx q[2], q[0], q[1];
h q;
measure q -> c;
