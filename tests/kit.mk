# tests/kit.mk - tests of drivers/kit and the fake AWS endpoint.
# Included from tests/local.mk.
FB_KIT_TEST_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/drivers/kit -I$(top_srcdir)/tests/lib \
	-DKIT_TOP_SRCDIR='"$(abs_top_srcdir)"' $(OPENSSL_CFLAGS) $(JANSSON_CFLAGS) $(CHECK_CFLAGS)

check_PROGRAMS += tests/kit/check_sigv4
tests_kit_check_sigv4_CPPFLAGS = $(FB_KIT_TEST_CPPFLAGS)
tests_kit_check_sigv4_SOURCES = tests/kit/check_sigv4.c
tests_kit_check_sigv4_LDADD = drivers/kit/libfbkit.la $(CHECK_LIBS)
TESTS += tests/kit/check_sigv4

EXTRA_DIST += tests/reference/aws-sigv4-test-suite

# botocore cross-check: sigv4_tool signs what sigv4_botocore.py generates.
check_PROGRAMS += tests/kit/sigv4_tool
tests_kit_sigv4_tool_CPPFLAGS = $(FB_KIT_TEST_CPPFLAGS)
tests_kit_sigv4_tool_SOURCES = tests/kit/sigv4_tool.c
tests_kit_sigv4_tool_LDADD = drivers/kit/libfbkit.la $(JANSSON_LIBS)
TESTS += tests/kit/sigv4_botocore.py
EXTRA_DIST += tests/kit/sigv4_botocore.py

# The fake AWS endpoint, tested with botocore as the client.
TESTS += tests/fakes/test_fake_aws.py
EXTRA_DIST += tests/fakes/fake_aws.py tests/fakes/fakeserve.py tests/fakes/test_fake_aws.py tests/fakes/README.md \
	tests/reference/aws-models tests/reference/braket

# The credential chain, with STS through the real host HTTP service and the
# fake (which checks every signature with botocore).
check_PROGRAMS += tests/kit/check_kit_creds
tests_kit_check_kit_creds_CPPFLAGS = $(FB_KIT_TEST_CPPFLAGS) $(FB_CORE_INCS)
tests_kit_check_kit_creds_SOURCES = tests/kit/check_kit_creds.c
tests_kit_check_kit_creds_LDADD = drivers/kit/libfbkit.la core/libfbcore.la $(FB_CORE_DEPLIBS) $(CHECK_LIBS)
TESTS += tests/kit/check_kit_creds

# INI reader cross-checked against Python's configparser (what botocore uses).
check_PROGRAMS += tests/kit/ini_tool
tests_kit_ini_tool_CPPFLAGS = $(FB_KIT_TEST_CPPFLAGS)
tests_kit_ini_tool_SOURCES = tests/kit/ini_tool.c
tests_kit_ini_tool_LDADD = drivers/kit/libfbkit.la $(JANSSON_LIBS)
TESTS += tests/kit/ini_configparser.py
EXTRA_DIST += tests/kit/ini_configparser.py

check_PROGRAMS += tests/kit/check_kit_parse
tests_kit_check_kit_parse_CPPFLAGS = $(FB_KIT_TEST_CPPFLAGS) $(FB_CORE_INCS)
tests_kit_check_kit_parse_SOURCES = tests/kit/check_kit_parse.c
tests_kit_check_kit_parse_LDADD = drivers/kit/libfbkit.la core/libfbcore.la $(FB_CORE_DEPLIBS) $(CHECK_LIBS)
TESTS += tests/kit/check_kit_parse

# The settings reader, exact decimals and the OAuth2 token cache.
check_PROGRAMS += tests/kit/check_kit_driver
tests_kit_check_kit_driver_CPPFLAGS = $(FB_KIT_TEST_CPPFLAGS) $(FB_CORE_INCS)
tests_kit_check_kit_driver_SOURCES = tests/kit/check_kit_driver.c
tests_kit_check_kit_driver_LDADD = drivers/kit/libfbkit.la core/libfbcore.la $(FB_CORE_DEPLIBS) $(CHECK_LIBS)
TESTS += tests/kit/check_kit_driver

# A module linking the kit exports nothing but fb_driver_entry.
check_LTLIBRARIES += tests/kit/kitprobe.la
tests_kit_kitprobe_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/drivers/kit $(OPENSSL_CFLAGS) $(JANSSON_CFLAGS)
tests_kit_kitprobe_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
tests_kit_kitprobe_la_SOURCES = tests/kit/kitprobe.c
tests_kit_kitprobe_la_LIBADD = drivers/kit/libfbkit.la $(OPENSSL_LIBS) $(JANSSON_LIBS)
tests_kit_kitprobe_la_LDFLAGS = -module -avoid-version -shared -no-undefined -rpath /nowhere
check_PROGRAMS += tests/kit/check_kit_visibility
tests_kit_check_kit_visibility_CPPFLAGS = $(FB_CORE_INCS) $(CHECK_CFLAGS)
tests_kit_check_kit_visibility_SOURCES = tests/kit/check_kit_visibility.c
tests_kit_check_kit_visibility_LDADD = core/libfbcore.la $(FB_CORE_DEPLIBS) $(CHECK_LIBS)
EXTRA_tests_kit_check_kit_visibility_DEPENDENCIES = tests/kit/kitprobe.la
TESTS += tests/kit/check_kit_visibility

# Google auth (drivers/kit/fbk_google.h): google_tool signs JWTs, parses
# credential files and fetches tokens through the real host; google_auth.py
# verifies the JWTs with python3-jwt / python3-cryptography and runs every
# credential kind against tests/fakes/fake_gcp.py (which verifies each
# assertion's signature and each STS exchange). check_kit_google: the
# credential files and the ADC search order, in C.
check_PROGRAMS += tests/kit/google_tool
tests_kit_google_tool_CPPFLAGS = $(FB_KIT_TEST_CPPFLAGS) $(FB_CORE_INCS)
tests_kit_google_tool_SOURCES = tests/kit/google_tool.c
tests_kit_google_tool_LDADD = drivers/kit/libfbkit.la core/libfbcore.la $(FB_CORE_DEPLIBS)
TESTS += tests/kit/google_auth.py
EXTRA_DIST += tests/kit/google_auth.py
check_PROGRAMS += tests/kit/check_kit_google
tests_kit_check_kit_google_CPPFLAGS = $(FB_KIT_TEST_CPPFLAGS) $(FB_CORE_INCS)
tests_kit_check_kit_google_SOURCES = tests/kit/check_kit_google.c
tests_kit_check_kit_google_LDADD = drivers/kit/libfbkit.la core/libfbcore.la $(FB_CORE_DEPLIBS) $(CHECK_LIBS)
TESTS += tests/kit/check_kit_google
