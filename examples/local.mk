# examples/: specs and the example driver
