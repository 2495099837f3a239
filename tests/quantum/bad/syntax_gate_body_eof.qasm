// expect: 3:13: gate 'g': '{' is never closed
OPENQASM 2.0;
gate g(a) q { U(a, 0, 0) q;
