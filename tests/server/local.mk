# tests/server/local.mk - `fedbroker serve` and its tokens (issue 16,
# docs/serve.md): the route x role x tenant matrix, token failures, limits,
# the request log, against a real server on loopback.
SERVER_TESTS = \
	tests/server/matrix.py \
	tests/server/audit.py \
	tests/server/ops.py \
	tests/server/openapi.py \
	tests/server/idle.py \
	tests/server/reconcile.py
TESTS += $(SERVER_TESTS)
EXTRA_DIST += $(SERVER_TESTS) docs/serve.md docs/api.yaml bench/serve_bench.sh bench/serve_setup.py \
	bench/serve_resolve.py bench/README-serve.md \
	tests/fuzz/fuzz_serve.c tests/fuzz/build_serve.sh tests/fuzz/serve.dict
