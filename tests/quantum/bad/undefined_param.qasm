// expect: 3:17: undefined parameter 'b' in gate 'g'
OPENQASM 2.0;
gate g(a) q { U(b, 0, 0) q; }
