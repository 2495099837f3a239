# tests/catalog.mk: the catalog's unit tests and its checks against the
# reference data (tests/reference/catalog, a copy of the reference tables with
# their SOURCE.md, read with Python's csv).
check_PROGRAMS += tests/catalog/check_catalog
tests_catalog_check_catalog_SOURCES = tests/catalog/check_catalog.c
tests_catalog_check_catalog_CPPFLAGS = $(FB_TEST_INCS) -DFB_TOP_SRCDIR='"$(abs_top_srcdir)"'
tests_catalog_check_catalog_LDADD = $(FB_TEST_DEPLIBS) -lm
TESTS += tests/catalog/check_catalog tests/catalog/crosscheck.sh tests/catalog/cli.sh
EXTRA_DIST += tests/reference/catalog/SOURCE.md tests/reference/catalog/prices.csv tests/reference/catalog/latency_ms.csv tests/catalog/crosscheck.sh tests/catalog/crosscheck.py tests/catalog/cli.sh \
	tests/catalog/base tests/catalog/bad tests/catalog/diff
