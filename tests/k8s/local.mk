# tests/k8s/local.mk - tests of the deploying k8s driver (drivers/k8s),
# included from tests/local.mk. They run the real CLI and the real k8s.so
# against tests/fakes/fake_k8s.py over TLS (a test CA and client
# certificates made with openssl), and read back with kubectl where it is
# installed.
K8S_TESTS = tests/k8s/lifecycle.py \
	tests/k8s/auth.py \
	tests/k8s/dryrun.py \
	tests/k8s/kubectl.py \
	tests/k8s/faults.py \
	tests/k8s/crash.py \
	tests/k8s/tenants.py \
	tests/k8s/cronjob.py \
	tests/k8s/federation.py \
	tests/k8s/knative.py \
	tests/k8s/requests.py
TESTS += $(K8S_TESTS)
EXTRA_DIST += $(K8S_TESTS) tests/k8s/local.mk tests/k8s/k8sdrv.py

# The apply benchmark's fast API server stand-in (bench/k8s_apply.sh,
# bench/README-k8s.md).
check_PROGRAMS += bench/k8s_fastfake
bench_k8s_fastfake_SOURCES = bench/k8s_fastfake.c bench/fastfake.c bench/fastfake.h
bench_k8s_fastfake_CPPFLAGS = $(AM_CPPFLAGS) $(MHD_CFLAGS) $(JANSSON_CFLAGS)
bench_k8s_fastfake_LDADD = $(MHD_LIBS) $(JANSSON_LIBS)
EXTRA_DIST += bench/k8s_apply.sh bench/k8s_timeline.py bench/README-k8s.md bench/bench_lib.sh
