# drivers/kit: code several drivers share (SigV4, AWS credentials, the
# verb/workload reader, exact decimals, Kubernetes documents, small JSON and
# diagnostic helpers). A convenience library each driver links
# statically; -fvisibility=hidden keeps every fbk_ symbol out of the
# driver's export table (drivers export only fb_driver_entry).
noinst_LTLIBRARIES += drivers/kit/libfbkit.la
drivers_kit_libfbkit_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/drivers/kit \
	$(OPENSSL_CFLAGS) $(JANSSON_CFLAGS) $(ZLIB_CFLAGS)
drivers_kit_libfbkit_la_CFLAGS = $(AM_CFLAGS) -fPIC -fvisibility=hidden
drivers_kit_libfbkit_la_SOURCES = $(fbk_source_list)
drivers_kit_libfbkit_la_LIBADD = $(OPENSSL_LIBS) $(JANSSON_LIBS) $(ZLIB_LIBS)

# The same kit installed for out-of-tree driver authors: the headers in
# $(includedir)/fedbroker-kit, a static archive of PIC objects with hidden
# visibility (linked into a driver .so, it exports nothing), and
# fedbroker-kit.pc (Requires: fedbroker jansson libcrypto zlib).
lib_LIBRARIES += drivers/kit/libfedbroker-kit.a
drivers_kit_libfedbroker_kit_a_CPPFLAGS = $(drivers_kit_libfbkit_la_CPPFLAGS)
drivers_kit_libfedbroker_kit_a_CFLAGS = $(drivers_kit_libfbkit_la_CFLAGS)
drivers_kit_libfedbroker_kit_a_SOURCES = $(fbk_source_list)
fbkincludedir = $(includedir)/fedbroker-kit
fbkinclude_HEADERS = $(fbk_header_list)

fbk_header_list = \
	drivers/kit/fbk.h \
	drivers/kit/fbk_verb.h \
	drivers/kit/fbk_decimal.h \
	drivers/kit/fbk_k8s.h \
	drivers/kit/fbk_settings.h \
	drivers/kit/fbk_oauth2.h
fbk_source_list = $(fbk_header_list) \
	drivers/kit/buf.c drivers/kit/sigv4.c drivers/kit/ini.c drivers/kit/xml.c \
	drivers/kit/json.c drivers/kit/awscreds.c drivers/kit/verb.c drivers/kit/decimal.c \
	core/base/decimal.c core/base/decimal.h core/base/jsonspan.c core/base/jsonspan.h \
	core/base/jsonwrite.c core/base/jsonwrite.h core/base/jsonread.c core/base/jsonread.h \
	drivers/kit/k8s.c drivers/kit/settings.c drivers/kit/oauth2.c
EXTRA_DIST += drivers/kit/README.md

# The deterministic zip writer (moved from drivers/aws for the gcp driver's
# Cloud Functions sources).
fbk_header_list += drivers/kit/fbk_zip.h
fbk_source_list += drivers/kit/zip.c

# Google credentials (ADC, service-account JWTs, authorized users, workload
# identity federation, the metadata server) for Google-authenticated drivers.
fbk_header_list += drivers/kit/fbk_google.h
fbk_source_list += drivers/kit/google_auth.c drivers/kit/google_jwt.c
