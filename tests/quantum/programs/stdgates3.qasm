// Every gate of stdgates.inc between layers of h, so relative phases show:
// checks the library's table of standard-gate matrices against the
// reference's textbook matrices.
OPENQASM 3.0;
include "stdgates.inc";
qubit[3] q;
bit[3] c;
h q[0]; h q[1]; ry(0.3) q[2];
p(0.3) q[0]; x q[1]; y q[2]; z q[0]; h q[1]; s q[2]; sdg q[0]; t q[1]; tdg q[2]; sx q[0];
rx(0.7) q[1]; ry(1.1) q[2]; rz(0.4) q[0];
h q[0]; h q[1]; h q[2];
cx q[0], q[1]; cy q[1], q[2]; cz q[2], q[0]; cp(0.9) q[0], q[2]; crx(0.5) q[1], q[0];
cry(1.3) q[2], q[1]; crz(0.8) q[0], q[1]; ch q[1], q[2];
h q[0]; h q[1]; h q[2];
swap q[0], q[2]; ccx q[0], q[1], q[2]; cswap q[2], q[0], q[1]; cu(0.3, 0.5, 0.7, 0.2) q[1], q[0];
h q[0]; h q[1]; h q[2];
CX q[2], q[0]; phase(0.6) q[1]; cphase(1.2) q[1], q[2]; id q[0]; u1(0.25) q[2];
u2(0.1, 0.9) q[0]; u3(0.4, 0.2, 1.6) q[1];
h q[0]; h q[1]; h q[2];
c = measure q;
