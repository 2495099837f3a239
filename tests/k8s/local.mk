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
	tests/k8s/tenants.py
TESTS += $(K8S_TESTS)
EXTRA_DIST += $(K8S_TESTS) tests/k8s/local.mk tests/k8s/k8sdrv.py
