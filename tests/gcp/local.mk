# tests/gcp/local.mk - tests of the deploying gcp driver (drivers/gcp),
# included from tests/local.mk. The integration tests run the real CLI and
# the real gcp.so against tests/fakes/fake_gcp.py (which checks every
# request against Google's discovery documents, verifies every token), and
# read back with gcloud where it is installed.

# What is priced is what is deployed: the minimum instances of every
# driver's documents against its usage (issue 13's render defect).
GCP_TESTS = tests/gcpk8s/test_min_instances.py \
	tests/gcp/lifecycle.py \
	tests/gcp/dryrun.py \
	tests/gcp/faults.py \
	tests/gcp/crash.py \
	tests/gcp/drift.py \
	tests/gcp/gcloud.py \
	tests/gcp/federation.py
TESTS += $(GCP_TESTS)
EXTRA_DIST += $(GCP_TESTS) tests/gcp/local.mk tests/gcp/gcptest.py

# The apply benchmark's fast Cloud Run stand-in (bench/gcp_apply.sh,
# bench/README-gcp.md).
check_PROGRAMS += bench/gcp_fastfake
bench_gcp_fastfake_SOURCES = bench/gcp_fastfake.c bench/fastfake.c bench/fastfake.h
bench_gcp_fastfake_CPPFLAGS = $(AM_CPPFLAGS) $(MHD_CFLAGS) $(JANSSON_CFLAGS)
bench_gcp_fastfake_LDADD = $(MHD_LIBS) $(JANSSON_LIBS)
EXTRA_DIST += bench/gcp_apply.sh bench/README-gcp.md
