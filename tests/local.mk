# tests/: Check unit tests, integration scripts, fakes. Each area has its own
# fragment included below.
AM_TESTS_ENVIRONMENT = \
	export top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)'; \
	export FEDBROKER='$(abs_top_builddir)/fedbroker'; \
	export FEDBROKER_DRIVER_PATH='$(abs_top_builddir)/stage/drivers'; \
	export TESTDRV_DIR='$(abs_top_builddir)/tests/drivers/.libs'; \
	export PYTHON=/usr/bin/python3; \
	export FB_NODE_DIR='$(FB_NODE_DIR)'; \
	export FEDBROKER_SLEEP_SCALE=0; \
	export LC_ALL=C.UTF-8; \
	unset FEDBROKER_HOME FEDBROKER_NOW FEDBROKER_LOG FEDBROKER_CONFIG AWS_PROFILE \
	      FEDBROKER_CATALOG FEDBROKER_CATALOG_OVERRIDES FEDBROKER_PLAN_STATS FEDBROKER_PLAN_THREADS;

# Check programs link the core convenience library statically.
FB_TEST_INCS = $(FB_CORE_INCS) -I$(top_srcdir)/tests/lib $(CHECK_CFLAGS)
FB_TEST_DEPLIBS = core/libfbcore.la $(FB_CORE_DEPLIBS) $(CHECK_LIBS)

EXTRA_DIST += tests/lib/fbtest.h tests/lib/harness.py

include tests/drivers.mk
include tests/core.mk
include tests/http.mk
include tests/catalog.mk
include tests/spec.mk
include tests/kit.mk
include tests/solver.mk
include tests/drivers_gcpk8s.mk
include tests/aws.mk
include tests/quantum.mk
include tests/quantum_driver.mk
include tests/config.mk
include tests/hybrid.mk
include tests/gcp_fake/local.mk
include tests/gcp/local.mk
include tests/k8s_fake/local.mk
include tests/apply/local.mk
include tests/k8s/local.mk
include tests/identity/local.mk
include tests/discovery/local.mk
include tests/server/local.mk
