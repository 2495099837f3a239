# tests/discovery/local.mk - discovery (issue 16, docs/discovery.md): the
# endpoints table's sources and leases, health probes, resolve. Integration
# tests through the real CLI against tests/fakes/fake_aws.py, its function
# URLs reached over TLS (tests/discovery/tlsfront.py, a test CA).
DISCOVERY_TESTS = \
	tests/discovery/discovery.py
TESTS += $(DISCOVERY_TESTS)
EXTRA_DIST += $(DISCOVERY_TESTS) tests/discovery/tlsfront.py docs/discovery.md
