// expect: 5:4: gate 'rx' takes 1 parameter, got 0
OPENQASM 2.0;
include "qelib1.inc";
qreg q[1];
rx q[0];
