# tests/drivers_gcpk8s.mk: the gcp and k8s drivers. drvcall calls a staged
# driver's verbs through the broker's registry and host table; the Python
# tests check what comes out against references we did not write (Google's
# discovery documents, the Kubernetes OpenAPI, the Knative CRD schema, the
# catalog's price rows). See tests/gcpk8s/README.md.
check_PROGRAMS += tests/gcpk8s/drvcall
tests_gcpk8s_drvcall_SOURCES = tests/gcpk8s/drvcall.c
tests_gcpk8s_drvcall_CPPFLAGS = $(FB_CORE_INCS)
tests_gcpk8s_drvcall_LDADD = core/libfbcore.la $(FB_CORE_DEPLIBS)

GCPK8S_TESTS = tests/gcpk8s/conformance.sh \
	tests/gcpk8s/test_k8s_render.py \
	tests/gcpk8s/test_gcp_render.py \
	tests/gcpk8s/test_validate.py \
	tests/gcpk8s/test_usage.py
TESTS += $(GCPK8S_TESTS)
EXTRA_DIST += $(GCPK8S_TESTS) tests/gcpk8s/README.md tests/gcpk8s/gk.py tests/gcpk8s/k8s_schema.py tests/gcpk8s/discovery.py \
	tests/reference/kubernetes tests/reference/knative-serving tests/reference/gcp-discovery
# The tests read the example specs (and the files they reference); ship
# them so `make distcheck` can run the tests from a tarball.
EXTRA_DIST += examples/function.yaml examples/container.yaml examples/federation.yaml \
	examples/shop-worker.yaml examples/thumbnailer.json examples/quantum-bell.yaml \
	examples/bell.qasm examples/src/api/index.mjs examples/src/hello/handler.py
