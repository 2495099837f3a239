# tests/config.mk - the broker configuration through the CLI: schema
# validation with file:line:col (checked against python3-jsonschema), driver
# settings refused by the drivers, and the trust rules for config.json,
# FEDBROKER_CONFIG and FEDBROKER_HOME (issue 9, items 7 and 11).
CONFIG_TESTS = tests/config/config.py
TESTS += $(CONFIG_TESTS)
EXTRA_DIST += $(CONFIG_TESTS)

check_PROGRAMS += tests/config/check_config
TESTS += tests/config/check_config
tests_config_check_config_SOURCES = tests/config/check_config.c
tests_config_check_config_CPPFLAGS = $(FB_TEST_INCS) -DFB_TEST_SRCDIR='"$(abs_top_srcdir)"'
tests_config_check_config_LDADD = $(FB_TEST_DEPLIBS)
EXTRA_DIST += docs/security.md
