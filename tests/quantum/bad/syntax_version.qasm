// expect: 2:10: OpenQASM version 4.0 is not supported
OPENQASM 4.0;
