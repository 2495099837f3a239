# core/: libfedbroker and the fedbroker command.
FB_CORE_INCS = $(AM_CPPFLAGS) -DFB_DRIVERDIR='"$(driverdir)"' -DFB_PKGDATADIR='"$(pkgdatadir)"' \
	$(CURL_CFLAGS) $(OPENSSL_CFLAGS) $(JANSSON_CFLAGS) $(SQLITE_CFLAGS) \
	$(SODIUM_CFLAGS) $(MHD_CFLAGS) $(YAML_CFLAGS)
FB_CORE_DEPLIBS = $(CURL_LIBS) $(OPENSSL_LIBS) $(JANSSON_LIBS) $(SQLITE_LIBS) \
	$(SODIUM_LIBS) $(MHD_LIBS) $(YAML_LIBS) $(GLPK_LIBS)

# Everything of core, as a convenience library the command and tests link
# statically; libfedbroker.la exports only its fb_ symbols.
noinst_LTLIBRARIES += core/libfbcore.la
core_libfbcore_la_CPPFLAGS = $(FB_CORE_INCS)
core_libfbcore_la_SOURCES = \
	core/util.c core/util.h \
	core/diag.c core/diag.h \
	core/host.c core/host.h \
	core/http.c \
	core/registry.c \
	core/store.c
core_libfbcore_la_LIBADD = $(FB_CORE_DEPLIBS)

lib_LTLIBRARIES += core/libfedbroker.la
core_libfedbroker_la_SOURCES =
core_libfedbroker_la_LIBADD = core/libfbcore.la $(FB_CORE_DEPLIBS)
core_libfedbroker_la_LDFLAGS = -version-info 0:0:0 -no-undefined -export-symbols-regex '^fb_'

fbincludedir = $(includedir)/fedbroker
fbinclude_HEADERS = core/fedbroker/driver.h core/fedbroker/fedbroker.h

bin_PROGRAMS += fedbroker
fedbroker_CPPFLAGS = $(FB_CORE_INCS) -I$(top_srcdir)/core/cli
fedbroker_SOURCES = \
	core/cli/main.c core/cli/cli.h \
	core/cli/opts.c \
	core/cli/cmd_drivers.c \
	core/cli/cmd_drivers_test.c
fedbroker_LDADD = core/libfbcore.la $(FB_CORE_DEPLIBS)
fedbroker_SOURCES += core/cli/cmd_quantum.c
fedbroker_LDADD += quantum/libfbq.la
fedbroker_CPPFLAGS += -I$(top_srcdir)/quantum
