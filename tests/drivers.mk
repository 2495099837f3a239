# Test drivers: one source, one variant per way a driver can be wrong.
TESTDRV_LD = -module -avoid-version -shared -rpath /nowhere -no-undefined
TESTDRV_CF = $(AM_CFLAGS) -fvisibility=hidden
check_LTLIBRARIES += tests/drivers/testdrv.la tests/drivers/wrong_major.la \
	tests/drivers/newer_minor.la tests/drivers/no_entry.la \
	tests/drivers/extra_export.la tests/drivers/bad_caps.la tests/drivers/countdrv.la
tests_drivers_testdrv_la_SOURCES = tests/drivers/testdrv.c
tests_drivers_testdrv_la_CFLAGS = $(TESTDRV_CF)
tests_drivers_testdrv_la_LDFLAGS = $(TESTDRV_LD)
tests_drivers_wrong_major_la_SOURCES = tests/drivers/testdrv.c
tests_drivers_wrong_major_la_CFLAGS = $(TESTDRV_CF)
tests_drivers_wrong_major_la_CPPFLAGS = $(AM_CPPFLAGS) -DTESTDRV_WRONG_MAJOR -DTESTDRV_NAME='"wrong_major"'
tests_drivers_wrong_major_la_LDFLAGS = $(TESTDRV_LD)
tests_drivers_newer_minor_la_SOURCES = tests/drivers/testdrv.c
tests_drivers_newer_minor_la_CFLAGS = $(TESTDRV_CF)
tests_drivers_newer_minor_la_CPPFLAGS = $(AM_CPPFLAGS) -DTESTDRV_NEWER_MINOR -DTESTDRV_NAME='"newer_minor"'
tests_drivers_newer_minor_la_LDFLAGS = $(TESTDRV_LD)
tests_drivers_no_entry_la_SOURCES = tests/drivers/testdrv.c
tests_drivers_no_entry_la_CFLAGS = $(TESTDRV_CF)
tests_drivers_no_entry_la_CPPFLAGS = $(AM_CPPFLAGS) -DTESTDRV_NO_ENTRY -DTESTDRV_NAME='"no_entry"'
tests_drivers_no_entry_la_LDFLAGS = $(TESTDRV_LD)
tests_drivers_extra_export_la_SOURCES = tests/drivers/testdrv.c
tests_drivers_extra_export_la_CFLAGS = $(TESTDRV_CF)
tests_drivers_extra_export_la_CPPFLAGS = $(AM_CPPFLAGS) -DTESTDRV_EXTRA_EXPORT -DTESTDRV_NAME='"extra_export"'
tests_drivers_extra_export_la_LDFLAGS = $(TESTDRV_LD)
tests_drivers_bad_caps_la_SOURCES = tests/drivers/testdrv.c
tests_drivers_bad_caps_la_CFLAGS = $(TESTDRV_CF)
tests_drivers_bad_caps_la_CPPFLAGS = $(AM_CPPFLAGS) -DTESTDRV_BAD_CAPS -DTESTDRV_NAME='"bad_caps"'
tests_drivers_bad_caps_la_LDFLAGS = $(TESTDRV_LD)
# countdrv: counts plan's validate and usage calls (tests/plan/calls.sh)
tests_drivers_countdrv_la_SOURCES = tests/drivers/countdrv.c
tests_drivers_countdrv_la_CFLAGS = $(TESTDRV_CF) $(JANSSON_CFLAGS)
tests_drivers_countdrv_la_LDFLAGS = $(TESTDRV_LD)
tests_drivers_countdrv_la_LIBADD = $(JANSSON_LIBS)
