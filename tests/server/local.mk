# tests/server/local.mk - `fedbroker serve` and its tokens (issue 16,
# docs/serve.md): the route x role x tenant matrix, token failures, limits,
# the request log, against a real server on loopback.
SERVER_TESTS = \
	tests/server/matrix.py
TESTS += $(SERVER_TESTS)
EXTRA_DIST += $(SERVER_TESTS) docs/serve.md
