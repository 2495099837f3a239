// Mid-circuit measurement, reset and reuse of a qubit, with a condition on
// a whole register.
OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[3];
ry(1.1) q[0];
cx q[0], q[1];
measure q[0] -> c[0];
reset q[0];
ry(0.7) q[0];
measure q[0] -> c[1];
if (c == 3) x q[1];
h q[1];
measure q[1] -> c[2];
