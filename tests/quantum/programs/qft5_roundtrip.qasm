// QFT of |00101> on five qubits, then the inverse QFT written out gate by
// gate: the phases must cancel exactly and give 00101 with probability 1.
OPENQASM 2.0;
include "qelib1.inc";
gate qft5 a, b, c, d, e {
  h e; cu1(pi/2) d, e; cu1(pi/4) c, e; cu1(pi/8) b, e; cu1(pi/16) a, e;
  h d; cu1(pi/2) c, d; cu1(pi/4) b, d; cu1(pi/8) a, d;
  h c; cu1(pi/2) b, c; cu1(pi/4) a, c;
  h b; cu1(pi/2) a, b;
  h a;
}
qreg q[5];
creg c[5];
x q[0];
x q[2];
qft5 q[0], q[1], q[2], q[3], q[4];
barrier q;
h q[0];
cu1(-pi/2) q[0], q[1];
h q[1];
cu1(-pi/4) q[0], q[2];
cu1(-pi/2) q[1], q[2];
h q[2];
cu1(-pi/8) q[0], q[3];
cu1(-pi/4) q[1], q[3];
cu1(-pi/2) q[2], q[3];
h q[3];
cu1(-pi/16) q[0], q[4];
cu1(-pi/8) q[1], q[4];
cu1(-pi/4) q[2], q[4];
cu1(-pi/2) q[3], q[4];
h q[4];
measure q -> c;
