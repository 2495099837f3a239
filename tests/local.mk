# tests/: Check unit tests, integration tests, fakes
include tests/solver.mk
