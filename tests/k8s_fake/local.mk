# tests/k8s_fake/local.mk: tests of the fake Kubernetes API server
# (tests/fakes/fake_k8s.py and tests/fakes/k8s/), included from tests/local.mk.
# They drive it with clients we did not write (kubectl when installed, Debian's
# python3-kubernetes) and check it against the Kubernetes OpenAPI and the
# Knative CRD in tests/reference/. See tests/fakes/README.md.
K8S_FAKE_TESTS = \
	tests/k8s_fake/test_kubectl.py \
	tests/k8s_fake/test_pyclient.py \
	tests/k8s_fake/test_validation.py \
	tests/k8s_fake/test_ssa.py \
	tests/k8s_fake/test_protocol.py \
	tests/k8s_fake/test_cluster.py
TESTS += $(K8S_FAKE_TESTS)
EXTRA_DIST += $(K8S_FAKE_TESTS) tests/k8s_fake/k8stest.py tests/k8s_fake/validation_cases.yaml \
	tests/k8s_fake/plant_faults.py \
	tests/fakes/fake_k8s.py tests/fakes/k8s/__init__.py tests/fakes/k8s/api.py \
	tests/fakes/k8s/certs.py tests/fakes/k8s/controllers.py tests/fakes/k8s/discovery.py \
	tests/fakes/k8s/fieldpath.py tests/fakes/k8s/kinds.py tests/fakes/k8s/schema.py tests/fakes/k8s/store.py \
	tests/reference/kubernetes tests/reference/knative-serving
