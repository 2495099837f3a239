# drivers/k8s: local Kubernetes and Knative. The Kubernetes rendering, the
# workload reader and the exact decimals come from the driver kit
# (drivers/kit), linked statically, so the module stays self-contained.
driver_LTLIBRARIES += drivers/k8s/k8s.la
drivers_k8s_k8s_la_SOURCES = drivers/k8s/k8s.c
drivers_k8s_k8s_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/drivers/kit $(JANSSON_CFLAGS)
drivers_k8s_k8s_la_CFLAGS = $(FB_DRV_CF)
drivers_k8s_k8s_la_LDFLAGS = $(FB_DRV_LD)
drivers_k8s_k8s_la_LIBADD = drivers/kit/libfbkit.la $(JANSSON_LIBS) $(OPENSSL_LIBS)
EXTRA_DIST += drivers/k8s/README.md
