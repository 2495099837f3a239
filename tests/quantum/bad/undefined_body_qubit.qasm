// expect: 3:21: undefined qubit 'r' in the body of gate 'g'
OPENQASM 2.0;
gate g q { U(0,0,0) r; }
