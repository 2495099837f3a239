# tests/server/local.mk - `fedbroker serve` and its tokens (issue 16,
# docs/serve.md, docs/api.yaml), against real servers on loopback: the
# route x role x tenant matrix, token failures, limits and the request log
# (matrix.py); the audit chain and its group commit (audit.py), what a
# crash of serve leaves of it (audit_crash.py); --rt-priority (sched.py); specs,
# plans, reports, apply and destroy as operations on fake_aws (ops.py);
# every response against docs/api.yaml (openapi.py); 10,000 idle
# connections (idle.py); the reconciler (reconcile.py); the provider-call
# metrics of serve's operations in /metrics, parsed by prometheus_client
# and counted against fake_aws's log (metrics.py).
SERVER_TESTS = \
	tests/server/matrix.py \
	tests/server/audit.py \
	tests/server/audit_crash.py \
	tests/server/sched.py \
	tests/server/ops.py \
	tests/server/openapi.py \
	tests/server/idle.py \
	tests/server/reconcile.py \
	tests/server/metrics.py
TESTS += $(SERVER_TESTS)
EXTRA_DIST += $(SERVER_TESTS) tests/server/servetest.py docs/serve.md docs/api.yaml bench/serve_bench.sh bench/serve_setup.py \
	bench/serve_resolve.py bench/serve_sched.py bench/serve_ab.sh bench/serve_wrk.sh bench/README-serve.md \
	tests/fuzz/fuzz_serve.c tests/fuzz/build_serve.sh tests/fuzz/serve.dict
# The audit writer's store work per row, for callgrind (bench/audit_append.c,
# bench/README-serve.md "serve5").
check_PROGRAMS += bench/audit_append
bench_audit_append_SOURCES = bench/audit_append.c
bench_audit_append_CPPFLAGS = $(FB_TEST_INCS)
bench_audit_append_LDADD = $(FB_TEST_DEPLIBS)
EXTRA_DIST += bench/serve_cost.sh bench/serve_modes.sh
# The least an HTTP server does per request, for bench/serve_floor.sh (the
# p99 floor of this machine with wrk beside the server; bench/README-serve.md
# "Stop 25: serve16").
check_PROGRAMS += bench/floor_http
bench_floor_http_SOURCES = bench/floor_http.c
EXTRA_DIST += bench/serve_floor.sh
