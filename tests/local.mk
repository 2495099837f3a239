# tests/: Check unit tests, integration tests, fakes
