# tests/quantum_driver.mk: the quantum driver (drivers/quantum) through the
# real CLI: the conformance kit, the local simulator end to end, Braket
# against tests/fakes/fake_aws.py, IBM Quantum against tests/fakes/fake_ibm.py,
# refusals before any request, and placement by `fedbroker plan`. External
# references: botocore (signatures, the Braket model), python3-jsonschema
# with the Braket schemas, the independent simulator tests/quantum/qasmref.py,
# catalog/prices.csv read with Python's csv. See tests/quantum_driver/README.md.
QDRV_TESTS = tests/quantum_driver/conformance.sh \
	tests/quantum_driver/test_local.py \
	tests/quantum_driver/test_braket.py \
	tests/quantum_driver/test_ibm.py \
	tests/quantum_driver/test_validate.py \
	tests/quantum_driver/test_plan.py \
	tests/quantum_driver/test_limits.py \
	tests/quantum_driver/test_credentials.py
TESTS += $(QDRV_TESTS)
EXTRA_DIST += $(QDRV_TESTS) tests/quantum_driver/qdtest.py tests/quantum_driver/README.md \
	tests/fakes/fake_ibm.py
