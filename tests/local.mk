# tests/: Check unit tests, integration tests, fakes
include tests/quantum.mk
