# tests/discovery/local.mk - discovery (issue 16, docs/discovery.md): the
# endpoints table's sources and leases, health probes, resolve. Integration
# tests through the real CLI against tests/fakes/fake_aws.py, its function
# URLs reached over TLS (tests/discovery/tlsfront.py, a test CA); and the
# drivers' discover feeding it from aws, gcp and k8s fakes (federation3.py,
# EndpointSlices included).
DISCOVERY_TESTS = \
	tests/discovery/discovery.py \
	tests/discovery/federation3.py \
	tests/discovery/aws_tasks.py
TESTS += $(DISCOVERY_TESTS)
EXTRA_DIST += $(DISCOVERY_TESTS) tests/discovery/tlsfront.py docs/discovery.md
