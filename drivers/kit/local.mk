# drivers/kit: code several drivers share (SigV4, AWS credentials, the
# verb/workload reader, exact decimals, Kubernetes documents, small JSON and
# diagnostic helpers). A convenience library each driver links
# statically; -fvisibility=hidden keeps every fbk_ symbol out of the
# driver's export table (drivers export only fb_driver_entry).
noinst_LTLIBRARIES += drivers/kit/libfbkit.la
drivers_kit_libfbkit_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/drivers/kit \
	$(OPENSSL_CFLAGS) $(JANSSON_CFLAGS)
drivers_kit_libfbkit_la_CFLAGS = $(AM_CFLAGS) -fPIC -fvisibility=hidden
drivers_kit_libfbkit_la_SOURCES = \
	drivers/kit/fbk.h \
	drivers/kit/buf.c \
	drivers/kit/sigv4.c \
	drivers/kit/ini.c \
	drivers/kit/xml.c \
	drivers/kit/json.c \
	drivers/kit/awscreds.c \
	drivers/kit/fbk_verb.h \
	drivers/kit/verb.c \
	drivers/kit/fbk_decimal.h \
	drivers/kit/decimal.c \
	drivers/kit/fbk_k8s.h \
	drivers/kit/k8s.c \
	drivers/kit/fbk_settings.h \
	drivers/kit/settings.c \
	drivers/kit/fbk_oauth2.h \
	drivers/kit/oauth2.c
drivers_kit_libfbkit_la_LIBADD = $(OPENSSL_LIBS) $(JANSSON_LIBS)
EXTRA_DIST += drivers/kit/README.md
