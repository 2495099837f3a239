# tests/quantum.mk: tests of the quantum library (quantum/) and of
# `fedbroker quantum`. The Python scripts need only /usr/bin/python3.
check_PROGRAMS += tests/quantum/check_quantum
tests_quantum_check_quantum_SOURCES = tests/quantum/check_quantum.c
tests_quantum_check_quantum_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/quantum \
	-DQ_SRCDIR='"$(abs_top_srcdir)"'
tests_quantum_check_quantum_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_quantum_check_quantum_LDADD = quantum/libfbq.la $(CHECK_LIBS) -lm

FBQ_TESTS = tests/quantum/exact.test tests/quantum/sampling.test \
	tests/quantum/errors.test tests/quantum/roundtrip.test \
	tests/quantum/node_crosscheck.test tests/quantum/stream.test \
	tests/quantum/includes.test tests/quantum/qelib1.test tests/quantum/limits.test
TESTS += tests/quantum/check_quantum $(FBQ_TESTS)
EXTRA_DIST += $(FBQ_TESTS) tests/quantum/qasmref.py tests/quantum/qtest.py \
	tests/quantum/check_exact.py tests/quantum/check_sampling.py \
	tests/quantum/check_errors.py tests/quantum/check_roundtrip.py \
	tests/quantum/check_stream.py tests/quantum/check_includes.py tests/quantum/check_qelib1.py \
	tests/quantum/check_limits.py \
	tests/quantum/data tests/quantum/programs \
	tests/quantum/bad
