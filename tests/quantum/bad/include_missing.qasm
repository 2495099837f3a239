// expect: 3:9: include file "nowhere.inc" not found
OPENQASM 2.0;
include "nowhere.inc";
