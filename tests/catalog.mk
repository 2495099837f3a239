# tests/catalog.mk: the catalog's unit tests and its checks against the
# reference data (tests/reference/catalog, a copy of the reference tables with
# their SOURCE.md, read with Python's csv).
check_PROGRAMS += tests/unit/check_catalog
tests_unit_check_catalog_SOURCES = tests/unit/check_catalog.c
tests_unit_check_catalog_CPPFLAGS = $(FB_TEST_INCS) -DFB_TOP_SRCDIR='"$(abs_top_srcdir)"'
tests_unit_check_catalog_LDADD = $(FB_TEST_DEPLIBS) -lm
TESTS += tests/unit/check_catalog tests/catalog/crosscheck.sh tests/catalog/cli.sh
EXTRA_DIST += tests/reference/catalog/SOURCE.md tests/reference/catalog/prices.csv tests/reference/catalog/latency_ms.csv tests/catalog/crosscheck.sh tests/catalog/crosscheck.py tests/catalog/cli.sh \
	tests/catalog/base tests/catalog/bad tests/catalog/diff
