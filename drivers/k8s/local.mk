# drivers/k8s: local Kubernetes and Knative. k8s_render.c and k8s_util.c are
# shared with drivers/gcp (GKE Autopilot), which compiles them into its own
# module, so each driver stays self-contained.
driver_LTLIBRARIES += drivers/k8s/k8s.la
drivers_k8s_k8s_la_SOURCES = drivers/k8s/k8s.c \
	drivers/k8s/k8s_render.c drivers/k8s/k8s_render.h \
	drivers/k8s/k8s_util.c drivers/k8s/k8s_util.h
drivers_k8s_k8s_la_CFLAGS = $(FB_DRV_CF) $(JANSSON_CFLAGS)
drivers_k8s_k8s_la_LDFLAGS = $(FB_DRV_LD)
drivers_k8s_k8s_la_LIBADD = $(JANSSON_LIBS)
EXTRA_DIST += drivers/k8s/README.md
