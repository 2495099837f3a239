// expect: 44:1: the gate definitions expand to more than 8000000 steps
OPENQASM 2.0;
gate g0 a,b { U(0.1,0,0) a; }
gate g1 a,b { g0 a,b; g0 b,a; }
gate g2 a,b { g1 a,b; g1 b,a; }
gate g3 a,b { g2 a,b; g2 b,a; }
gate g4 a,b { g3 a,b; g3 b,a; }
gate g5 a,b { g4 a,b; g4 b,a; }
gate g6 a,b { g5 a,b; g5 b,a; }
gate g7 a,b { g6 a,b; g6 b,a; }
gate g8 a,b { g7 a,b; g7 b,a; }
gate g9 a,b { g8 a,b; g8 b,a; }
gate g10 a,b { g9 a,b; g9 b,a; }
gate g11 a,b { g10 a,b; g10 b,a; }
gate g12 a,b { g11 a,b; g11 b,a; }
gate g13 a,b { g12 a,b; g12 b,a; }
gate g14 a,b { g13 a,b; g13 b,a; }
gate g15 a,b { g14 a,b; g14 b,a; }
gate g16 a,b { g15 a,b; g15 b,a; }
gate g17 a,b { g16 a,b; g16 b,a; }
gate g18 a,b { g17 a,b; g17 b,a; }
gate g19 a,b { g18 a,b; g18 b,a; }
gate g20 a,b { g19 a,b; g19 b,a; }
gate g21 a,b { g20 a,b; g20 b,a; }
gate g22 a,b { g21 a,b; g21 b,a; }
gate g23 a,b { g22 a,b; g22 b,a; }
gate g24 a,b { g23 a,b; g23 b,a; }
gate g25 a,b { g24 a,b; g24 b,a; }
gate g26 a,b { g25 a,b; g25 b,a; }
gate g27 a,b { g26 a,b; g26 b,a; }
gate g28 a,b { g27 a,b; g27 b,a; }
gate g29 a,b { g28 a,b; g28 b,a; }
gate g30 a,b { g29 a,b; g29 b,a; }
gate g31 a,b { g30 a,b; g30 b,a; }
gate g32 a,b { g31 a,b; g31 b,a; }
gate g33 a,b { g32 a,b; g32 b,a; }
gate g34 a,b { g33 a,b; g33 b,a; }
gate g35 a,b { g34 a,b; g34 b,a; }
gate g36 a,b { g35 a,b; g35 b,a; }
gate g37 a,b { g36 a,b; g36 b,a; }
gate g38 a,b { g37 a,b; g37 b,a; }
gate g39 a,b { g38 a,b; g38 b,a; }
qreg q[2];
g39 q[0],q[1];
