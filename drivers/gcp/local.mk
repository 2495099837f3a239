# drivers/gcp: Cloud Run, Cloud Functions 2nd gen, GKE Autopilot. The
# Kubernetes rendering (GKE Autopilot) and the small helpers come from
# drivers/k8s, compiled into this module as well.
driver_LTLIBRARIES += drivers/gcp/gcp.la
drivers_gcp_gcp_la_SOURCES = drivers/gcp/gcp.c drivers/gcp/gcp.h \
	drivers/gcp/gcp_shape.c drivers/gcp/gcp_render.c drivers/gcp/gcp_usage.c \
	drivers/k8s/k8s_render.c drivers/k8s/k8s_render.h \
	drivers/k8s/k8s_util.c drivers/k8s/k8s_util.h
drivers_gcp_gcp_la_CFLAGS = $(FB_DRV_CF) $(JANSSON_CFLAGS)
drivers_gcp_gcp_la_LDFLAGS = $(FB_DRV_LD)
drivers_gcp_gcp_la_LIBADD = $(JANSSON_LIBS)
EXTRA_DIST += drivers/gcp/README.md
