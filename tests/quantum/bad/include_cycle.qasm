// expect: include_cycle.inc:1:9: include cycle: "include_cycle.inc" is already being read
include "include_cycle.inc";
