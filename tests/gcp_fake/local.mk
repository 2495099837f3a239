# tests/gcp_fake/local.mk - tests of the fake Google endpoint
# tests/fakes/fake_gcp.py (its code is in tests/fakes/gcp/), included from
# tests/local.mk. Clients we did not write drive it: Debian's google-auth,
# the google-auth 2.x and gcloud that the Cloud SDK bundles (skipped, exit
# 77, where gcloud is absent), botocore for SigV4 and python3-jwt /
# python3-cryptography for JWTs; every request is checked against Google's
# discovery documents in tests/reference/gcp-discovery.
GCP_FAKE_TESTS = \
	tests/gcp_fake/test_validation.py \
	tests/gcp_fake/test_google_auth.py \
	tests/gcp_fake/test_lro_faults.py \
	tests/gcp_fake/test_services.py \
	tests/gcp_fake/test_render.py \
	tests/gcp_fake/test_external_account.py \
	tests/gcp_fake/test_gcloud.py
TESTS += $(GCP_FAKE_TESTS)
EXTRA_DIST += $(GCP_FAKE_TESTS) tests/gcp_fake/local.mk tests/gcp_fake/gftest.py tests/gcp_fake/ext_client.py \
	tests/gcp_fake/validation_cases.json \
	tests/fakes/fake_gcp.py tests/fakes/gcp/__init__.py tests/fakes/gcp/auth.py tests/fakes/gcp/cel.py \
	tests/fakes/gcp/common.py tests/fakes/gcp/discovery.py tests/fakes/gcp/errors.py tests/fakes/gcp/functions.py \
	tests/fakes/gcp/iam.py tests/fakes/gcp/misc.py tests/fakes/gcp/run.py tests/fakes/gcp/server.py \
	tests/fakes/gcp/state.py tests/reference/gcp-discovery
