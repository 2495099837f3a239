# drivers/gcp: Cloud Run, Cloud Functions 2nd gen, GKE Autopilot. The
# Kubernetes rendering (GKE Autopilot), the workload reader, the exact
# decimals, Google's credentials and the zip come from the driver kit
# (drivers/kit), linked statically.
driver_LTLIBRARIES += drivers/gcp/gcp.la
drivers_gcp_gcp_la_SOURCES = drivers/gcp/gcp.c drivers/gcp/gcp.h \
	drivers/gcp/gcp_shape.c drivers/gcp/gcp_render.c drivers/gcp/gcp_usage.c \
	drivers/gcp/gcp_api.c drivers/gcp/gcp_run.c drivers/gcp/gcp_functions.c drivers/gcp/gcp_service.c \
	drivers/gcp/gcp_triggers.c drivers/gcp/gcp_secrets.c drivers/gcp/gcp_identity.c \
	drivers/gcp/gcp_attest.c drivers/gcp/gcp_capacity.c
drivers_gcp_gcp_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/drivers/kit $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS)
drivers_gcp_gcp_la_CFLAGS = $(FB_DRV_CF)
drivers_gcp_gcp_la_LDFLAGS = $(FB_DRV_LD)
drivers_gcp_gcp_la_LIBADD = drivers/kit/libfbkit.la $(JANSSON_LIBS) $(OPENSSL_LIBS) $(ZLIB_LIBS)
EXTRA_DIST += drivers/gcp/README.md
