# Test drivers: one source, one variant per way a driver can be wrong.
TESTDRV_LD = -module -avoid-version -shared -rpath /nowhere -no-undefined
TESTDRV_CF = $(AM_CFLAGS) -fvisibility=hidden
check_LTLIBRARIES += tests/drivers/testdrv.la tests/drivers/wrong_major.la \
	tests/drivers/newer_minor.la tests/drivers/no_entry.la \
	tests/drivers/extra_export.la tests/drivers/bad_caps.la tests/drivers/countdrv.la \
	tests/drivers/countdrv_batch.la
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

# behave.c: a complete small driver; one build keeps every behaviour rule,
# each other build breaks one (tests/drivers/behaviour.sh). behave_v1_0 is
# shaped as an ABI 1.0 driver (no usage slot) for the registry.
BEHAVE_LIBADD = $(JANSSON_LIBS)
check_LTLIBRARIES += tests/drivers/behave.la tests/drivers/behave_v1_0.la
tests_drivers_behave_la_SOURCES = tests/drivers/behave.c
tests_drivers_behave_la_CFLAGS = $(TESTDRV_CF) $(JANSSON_CFLAGS)
tests_drivers_behave_la_LDFLAGS = $(TESTDRV_LD)
tests_drivers_behave_la_LIBADD = $(BEHAVE_LIBADD)
tests_drivers_behave_v1_0_la_SOURCES = tests/drivers/behave.c
tests_drivers_behave_v1_0_la_CFLAGS = $(TESTDRV_CF) $(JANSSON_CFLAGS)
tests_drivers_behave_v1_0_la_CPPFLAGS = $(AM_CPPFLAGS) -DBEHAVE_ABI_1_0 -DBEHAVE_NAME='"behave_v1_0"'
tests_drivers_behave_v1_0_la_LDFLAGS = $(TESTDRV_LD)
tests_drivers_behave_v1_0_la_LIBADD = $(BEHAVE_LIBADD)

# The documents crossing the ABI against schemas/driver (python3-jsonschema).
TESTS += tests/drivers/shapes.py
EXTRA_DIST += tests/drivers/shapes.py schemas/driver

# One build of behave.c per behaviour rule it breaks (tests/drivers/behaviour.sh).
BEHAVE_BROKEN = tests/drivers/behave_render_io.la tests/drivers/behave_render_clock.la tests/drivers/behave_observe_mutates.la tests/drivers/behave_apply_twice.la tests/drivers/behave_destroy_404.la tests/drivers/behave_validate_silent.la tests/drivers/behave_status_no_diag.la tests/drivers/behave_caps_notsup.la tests/drivers/behave_usage_garbage.la tests/drivers/behave_usage_clock.la tests/drivers/behave_foreign_buffer.la tests/drivers/behave_evaluate_differs.la
check_LTLIBRARIES += $(BEHAVE_BROKEN)
tests_drivers_behave_render_io_la_SOURCES = tests/drivers/behave.c
tests_drivers_behave_render_io_la_CFLAGS = $(TESTDRV_CF) $(JANSSON_CFLAGS)
tests_drivers_behave_render_io_la_CPPFLAGS = $(AM_CPPFLAGS) -DBEHAVE_RENDER_IO -DBEHAVE_NAME='"behave_render_io"'
tests_drivers_behave_render_io_la_LDFLAGS = $(TESTDRV_LD)
tests_drivers_behave_render_io_la_LIBADD = $(BEHAVE_LIBADD)
tests_drivers_behave_render_clock_la_SOURCES = tests/drivers/behave.c
tests_drivers_behave_render_clock_la_CFLAGS = $(TESTDRV_CF) $(JANSSON_CFLAGS)
tests_drivers_behave_render_clock_la_CPPFLAGS = $(AM_CPPFLAGS) -DBEHAVE_RENDER_CLOCK -DBEHAVE_NAME='"behave_render_clock"'
tests_drivers_behave_render_clock_la_LDFLAGS = $(TESTDRV_LD)
tests_drivers_behave_render_clock_la_LIBADD = $(BEHAVE_LIBADD)
tests_drivers_behave_observe_mutates_la_SOURCES = tests/drivers/behave.c
tests_drivers_behave_observe_mutates_la_CFLAGS = $(TESTDRV_CF) $(JANSSON_CFLAGS)
tests_drivers_behave_observe_mutates_la_CPPFLAGS = $(AM_CPPFLAGS) -DBEHAVE_OBSERVE_MUTATES -DBEHAVE_NAME='"behave_observe_mutates"'
tests_drivers_behave_observe_mutates_la_LDFLAGS = $(TESTDRV_LD)
tests_drivers_behave_observe_mutates_la_LIBADD = $(BEHAVE_LIBADD)
tests_drivers_behave_apply_twice_la_SOURCES = tests/drivers/behave.c
tests_drivers_behave_apply_twice_la_CFLAGS = $(TESTDRV_CF) $(JANSSON_CFLAGS)
tests_drivers_behave_apply_twice_la_CPPFLAGS = $(AM_CPPFLAGS) -DBEHAVE_APPLY_NOT_IDEMPOTENT -DBEHAVE_NAME='"behave_apply_twice"'
tests_drivers_behave_apply_twice_la_LDFLAGS = $(TESTDRV_LD)
tests_drivers_behave_apply_twice_la_LIBADD = $(BEHAVE_LIBADD)
tests_drivers_behave_destroy_404_la_SOURCES = tests/drivers/behave.c
tests_drivers_behave_destroy_404_la_CFLAGS = $(TESTDRV_CF) $(JANSSON_CFLAGS)
tests_drivers_behave_destroy_404_la_CPPFLAGS = $(AM_CPPFLAGS) -DBEHAVE_DESTROY_404_FAILS -DBEHAVE_NAME='"behave_destroy_404"'
tests_drivers_behave_destroy_404_la_LDFLAGS = $(TESTDRV_LD)
tests_drivers_behave_destroy_404_la_LIBADD = $(BEHAVE_LIBADD)
tests_drivers_behave_validate_silent_la_SOURCES = tests/drivers/behave.c
tests_drivers_behave_validate_silent_la_CFLAGS = $(TESTDRV_CF) $(JANSSON_CFLAGS)
tests_drivers_behave_validate_silent_la_CPPFLAGS = $(AM_CPPFLAGS) -DBEHAVE_VALIDATE_SILENT -DBEHAVE_NAME='"behave_validate_silent"'
tests_drivers_behave_validate_silent_la_LDFLAGS = $(TESTDRV_LD)
tests_drivers_behave_validate_silent_la_LIBADD = $(BEHAVE_LIBADD)
tests_drivers_behave_status_no_diag_la_SOURCES = tests/drivers/behave.c
tests_drivers_behave_status_no_diag_la_CFLAGS = $(TESTDRV_CF) $(JANSSON_CFLAGS)
tests_drivers_behave_status_no_diag_la_CPPFLAGS = $(AM_CPPFLAGS) -DBEHAVE_STATUS_NO_DIAG -DBEHAVE_NAME='"behave_status_no_diag"'
tests_drivers_behave_status_no_diag_la_LDFLAGS = $(TESTDRV_LD)
tests_drivers_behave_status_no_diag_la_LIBADD = $(BEHAVE_LIBADD)
tests_drivers_behave_caps_notsup_la_SOURCES = tests/drivers/behave.c
tests_drivers_behave_caps_notsup_la_CFLAGS = $(TESTDRV_CF) $(JANSSON_CFLAGS)
tests_drivers_behave_caps_notsup_la_CPPFLAGS = $(AM_CPPFLAGS) -DBEHAVE_CAPS_NOTSUP -DBEHAVE_NAME='"behave_caps_notsup"'
tests_drivers_behave_caps_notsup_la_LDFLAGS = $(TESTDRV_LD)
tests_drivers_behave_caps_notsup_la_LIBADD = $(BEHAVE_LIBADD)
tests_drivers_behave_usage_garbage_la_SOURCES = tests/drivers/behave.c
tests_drivers_behave_usage_garbage_la_CFLAGS = $(TESTDRV_CF) $(JANSSON_CFLAGS)
tests_drivers_behave_usage_garbage_la_CPPFLAGS = $(AM_CPPFLAGS) -DBEHAVE_USAGE_GARBAGE -DBEHAVE_NAME='"behave_usage_garbage"'
tests_drivers_behave_usage_garbage_la_LDFLAGS = $(TESTDRV_LD)
tests_drivers_behave_usage_garbage_la_LIBADD = $(BEHAVE_LIBADD)
tests_drivers_behave_usage_clock_la_SOURCES = tests/drivers/behave.c
tests_drivers_behave_usage_clock_la_CFLAGS = $(TESTDRV_CF) $(JANSSON_CFLAGS)
tests_drivers_behave_usage_clock_la_CPPFLAGS = $(AM_CPPFLAGS) -DBEHAVE_USAGE_CLOCK -DBEHAVE_NAME='"behave_usage_clock"'
tests_drivers_behave_usage_clock_la_LDFLAGS = $(TESTDRV_LD)
tests_drivers_behave_usage_clock_la_LIBADD = $(BEHAVE_LIBADD)
tests_drivers_behave_foreign_buffer_la_SOURCES = tests/drivers/behave.c
tests_drivers_behave_foreign_buffer_la_CFLAGS = $(TESTDRV_CF) $(JANSSON_CFLAGS)
tests_drivers_behave_foreign_buffer_la_CPPFLAGS = $(AM_CPPFLAGS) -DBEHAVE_FOREIGN_BUFFER -DBEHAVE_NAME='"behave_foreign_buffer"'
tests_drivers_behave_foreign_buffer_la_LDFLAGS = $(TESTDRV_LD)
tests_drivers_behave_foreign_buffer_la_LIBADD = $(BEHAVE_LIBADD)
TESTS += tests/drivers/behaviour.sh
EXTRA_DIST += tests/drivers/behaviour.sh tests/drivers/behaviour.txt

# countdrv: counts plan's validate and usage calls (tests/plan/calls.sh)
tests_drivers_countdrv_la_SOURCES = tests/drivers/countdrv.c
tests_drivers_countdrv_la_CFLAGS = $(TESTDRV_CF) $(JANSSON_CFLAGS)
tests_drivers_countdrv_la_LDFLAGS = $(TESTDRV_LD)
tests_drivers_countdrv_la_LIBADD = $(JANSSON_LIBS)
tests_drivers_countdrv_batch_la_SOURCES = tests/drivers/countdrv.c
tests_drivers_countdrv_batch_la_CFLAGS = $(TESTDRV_CF) $(JANSSON_CFLAGS)
tests_drivers_countdrv_batch_la_CPPFLAGS = $(AM_CPPFLAGS) -DCOUNTDRV_EVALUATE
tests_drivers_countdrv_batch_la_LDFLAGS = $(TESTDRV_LD)
tests_drivers_countdrv_batch_la_LIBADD = $(JANSSON_LIBS)
tests_drivers_behave_evaluate_differs_la_SOURCES = tests/drivers/behave.c
tests_drivers_behave_evaluate_differs_la_CFLAGS = $(TESTDRV_CF) $(JANSSON_CFLAGS)
tests_drivers_behave_evaluate_differs_la_CPPFLAGS = $(AM_CPPFLAGS) -DBEHAVE_EVALUATE_DIFFERS -DBEHAVE_NAME='"behave_evaluate_differs"'
tests_drivers_behave_evaluate_differs_la_LDFLAGS = $(TESTDRV_LD)
tests_drivers_behave_evaluate_differs_la_LIBADD = $(BEHAVE_LIBADD)
