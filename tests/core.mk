# Core unit tests (registry, store, util) and the driver/ABI integration tests.
check_PROGRAMS += tests/unit/check_registry tests/unit/check_store tests/unit/check_util
TESTS += tests/unit/check_registry tests/unit/check_store tests/unit/check_util
tests_unit_check_registry_SOURCES = tests/unit/check_registry.c
tests_unit_check_registry_CPPFLAGS = $(FB_TEST_INCS)
tests_unit_check_registry_LDADD = $(FB_TEST_DEPLIBS)
tests_unit_check_store_SOURCES = tests/unit/check_store.c
tests_unit_check_store_CPPFLAGS = $(FB_TEST_INCS)
tests_unit_check_store_LDADD = $(FB_TEST_DEPLIBS)
tests_unit_check_util_SOURCES = tests/unit/check_util.c
tests_unit_check_util_CPPFLAGS = $(FB_TEST_INCS)
tests_unit_check_util_LDADD = $(FB_TEST_DEPLIBS)

TESTS += tests/layering.sh tests/exported_symbols.sh tests/conformance.sh tests/lifecycle.sh tests/cli.sh
EXTRA_DIST += tests/layering.sh tests/exported_symbols.sh tests/conformance.sh tests/exported-symbols.txt \
	tests/lifecycle.sh tests/fakes/example_cloud.py tests/cli.sh

# plan and report end to end (needs glpk-utils, coinor-cbc, sqlite3)
TESTS += tests/plan/plan.sh tests/plan/html.sh
EXTRA_DIST += tests/plan/plan.sh tests/plan/check_plan.py tests/plan/fed.yaml tests/plan/html.sh
check_PROGRAMS += tests/unit/check_redact
TESTS += tests/unit/check_redact
tests_unit_check_redact_SOURCES = tests/unit/check_redact.c
tests_unit_check_redact_CPPFLAGS = $(FB_TEST_INCS)
tests_unit_check_redact_LDADD = $(FB_TEST_DEPLIBS)

# The state file: backups before migrations, damaged pages refused (issue 9).
TESTS += tests/state/state_file.py
EXTRA_DIST += tests/state/state_file.py tests/state/state-v1.sql
