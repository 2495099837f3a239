# tests/kit.mk - tests of drivers/kit and the fake AWS endpoint.
# Included from tests/local.mk.
FB_KIT_TEST_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/drivers/kit \
	-DKIT_TOP_SRCDIR='"$(abs_top_srcdir)"' $(OPENSSL_CFLAGS) $(JANSSON_CFLAGS) $(CHECK_CFLAGS)

check_PROGRAMS += tests/unit/check_sigv4
tests_unit_check_sigv4_CPPFLAGS = $(FB_KIT_TEST_CPPFLAGS)
tests_unit_check_sigv4_SOURCES = tests/unit/check_sigv4.c
tests_unit_check_sigv4_LDADD = drivers/kit/libfbkit.la $(CHECK_LIBS)
TESTS += tests/unit/check_sigv4

EXTRA_DIST += tests/data/aws-sigv4-test-suite
