// expect: 3:22: gate arguments cannot be indexed inside a gate body
OPENQASM 2.0;
gate g a { U(0,0,0) a[0]; }
