# tests/http.mk: the host HTTP service (core/http*.c, core/fanout.c): Check
# tests against an in-process fault-injecting server, botocore as the
# reference for the retry policy, and the fan-out benchmark.
FB_HTTP_TEST_CPPFLAGS = $(FB_CORE_INCS) -I$(top_srcdir)/tests/http -I$(top_srcdir)/tests/lib \
	-DFB_TEST_SRCDIR='"$(abs_top_srcdir)"'

check_PROGRAMS += tests/http/check_http
TESTS += tests/http/check_http
tests_http_check_http_SOURCES = tests/http/check_http.c \
	tests/http/fault_server.c tests/http/fault_server.h
tests_http_check_http_CPPFLAGS = $(FB_HTTP_TEST_CPPFLAGS)
tests_http_check_http_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_http_check_http_LDADD = core/libfbcore.la $(FB_CORE_DEPLIBS) $(CHECK_LIBS)

# Built with the tests, run by hand (bench/README-http.md).
check_PROGRAMS += bench/http_fanout
bench_http_fanout_SOURCES = bench/http_fanout.c \
	tests/http/fault_server.c tests/http/fault_server.h
bench_http_fanout_CPPFLAGS = $(FB_HTTP_TEST_CPPFLAGS)
bench_http_fanout_LDADD = core/libfbcore.la $(FB_CORE_DEPLIBS)

EXTRA_DIST += tests/http/botocore_ref.py bench/README-http.md docs/http.md

# host->http_many (core/host/http_many.c, ABI 1.4) against the same server.
check_PROGRAMS += tests/host/check_http_many
TESTS += tests/host/check_http_many
tests_host_check_http_many_SOURCES = tests/host/check_http_many.c \
	tests/http/fault_server.c tests/http/fault_server.h
tests_host_check_http_many_CPPFLAGS = $(FB_HTTP_TEST_CPPFLAGS)
tests_host_check_http_many_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_host_check_http_many_LDADD = core/libfbcore.la $(FB_CORE_DEPLIBS) $(CHECK_LIBS)
