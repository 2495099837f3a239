# tests/spec.mk - tests of the portable spec (parse, validate, normalise).
check_PROGRAMS += tests/spec/check_spec
tests_spec_check_spec_SOURCES = tests/spec/check_spec.c
tests_spec_check_spec_CPPFLAGS = $(FB_CORE_INCS) $(CHECK_CFLAGS)
tests_spec_check_spec_LDADD = core/libfbcore.la $(FB_CORE_DEPLIBS) $(CHECK_LIBS)

FB_SPEC_SH_TESTS = tests/spec/agree.sh tests/spec/syntax.sh tests/spec/limits.sh \
	tests/spec/paths.sh tests/spec/plan.sh
TESTS += tests/spec/check_spec $(FB_SPEC_SH_TESTS)
EXTRA_DIST += $(FB_SPEC_SH_TESTS) tests/spec/agree.py \
	tests/spec/invalid tests/spec/semantic tests/spec/syntax tests/spec/edge \
	tests/fuzz/fuzz_spec.c tests/fuzz/fuzz_profile.c tests/fuzz/build.sh tests/fuzz/README.md tests/fuzz/spec.dict \
	bench/gen_federation.py
