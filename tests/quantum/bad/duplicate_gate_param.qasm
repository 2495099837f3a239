// expect: 3:11: parameter 'a' is listed twice in gate 'g'
OPENQASM 2.0;
gate g(a, a) q { U(a, 0, 0) q; }
