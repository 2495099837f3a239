# tests/identity/ - the broker as an issuer (issue 15): SPIFFE IDs, JOSE
# against RFC 7520/7638 vectors, sealing, the master key file (Check), and
# through the CLI: tokens and the JWKS verified by python3-jwt and
# python3-cryptography, key rotation, the configuration.
check_PROGRAMS += tests/identity/check_identity
TESTS += tests/identity/check_identity
tests_identity_check_identity_SOURCES = tests/identity/check_identity.c
tests_identity_check_identity_CPPFLAGS = $(FB_TEST_INCS) -DFB_TEST_SRCDIR='"$(abs_top_srcdir)"'
tests_identity_check_identity_LDADD = $(FB_TEST_DEPLIBS)
# attest from many threads on one driver context (gcp_certs_cache.py)
check_PROGRAMS += tests/identity/attest_many
tests_identity_attest_many_SOURCES = tests/identity/attest_many.c
tests_identity_attest_many_CPPFLAGS = $(FB_TEST_INCS)
tests_identity_attest_many_LDADD = $(FB_TEST_DEPLIBS) -lpthread

IDENTITY_TESTS = tests/identity/tokens.py tests/identity/secrets.py tests/identity/portable.py tests/identity/aws_secrets.py \
	tests/identity/aws_oidc.py tests/identity/aws_binding.py tests/identity/serve_oidc.py \
	tests/identity/crosscloud.py tests/identity/gcp_secrets.py tests/identity/k8s_bindings.py \
	tests/identity/nosecret.py tests/identity/aws_invoke.py tests/identity/gcp_functions.py \
	tests/identity/workload_token.py tests/identity/plan_callers.py tests/identity/gcp_workload_token.py \
	tests/identity/k8s_workload_token.py tests/identity/gcp_certs_cache.py tests/identity/k8s_aws_issuer.py tests/identity/k8s_gcp_issuer.py tests/identity/aws_lattice.py
EXTRA_DIST += tests/identity/wltest.py tests/identity/idtest.py
TESTS += $(IDENTITY_TESTS)
EXTRA_DIST += $(IDENTITY_TESTS)
EXTRA_DIST += tests/reference/jose/SOURCE.md tests/reference/jose/LICENSE \
	tests/reference/jose/4_1.rsa_v15_signature.json \
	tests/reference/spiffe/SOURCE.md tests/reference/spiffe/LICENSE tests/reference/spiffe/JWT-SVID.schema
EXTRA_DIST += docs/identity.md
