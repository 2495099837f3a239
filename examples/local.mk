# examples/: specs for each kind and the example driver for driver authors.
# The example driver is built in tree for the tests (not installed as a
# driver); its source and Makefile are installed as documentation.
check_LTLIBRARIES += examples/driver/example.la
examples_driver_example_la_SOURCES = examples/driver/example.c
examples_driver_example_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/drivers/kit $(JANSSON_CFLAGS)
examples_driver_example_la_CFLAGS = $(FB_DRV_CF)
examples_driver_example_la_LDFLAGS = $(FB_DRV_LD) -rpath /nowhere
examples_driver_example_la_LIBADD = drivers/kit/libfbkit.la $(JANSSON_LIBS) $(OPENSSL_LIBS)
exampledriverdir = $(docdir)/examples/driver
dist_exampledriver_DATA = examples/driver/example.c examples/driver/Makefile
# Spec examples, installed under $(pkgdatadir)/examples (the spec helper).
FB_SPEC_EXAMPLES = \
	examples/function.yaml \
	examples/container.yaml \
	examples/quantum-bell.yaml \
	examples/bell.qasm \
	examples/federation.yaml \
	examples/shop-worker.yaml \
	examples/thumbnailer.json \
	examples/hybrid-nye.yaml examples/hybrid-nye-predictive.yaml examples/hybrid-diurnal.yaml examples/diurnal-week.csv \
	examples/hybrid-daily-auto.yaml \
	examples/src/hello/handler.py \
	examples/src/api/index.mjs
nobase_dist_pkgdata_DATA += $(FB_SPEC_EXAMPLES)
