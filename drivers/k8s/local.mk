# drivers/k8s: Kubernetes from the user's kubeconfig, and Knative. The
# Kubernetes rendering, the workload reader and the exact decimals come from
# the driver kit (drivers/kit), linked statically, so the module stays
# self-contained; libyaml reads the kubeconfig.
driver_LTLIBRARIES += drivers/k8s/k8s.la
drivers_k8s_k8s_la_SOURCES = drivers/k8s/k8s.c drivers/k8s/k8s.h drivers/k8s/kyaml.c \
	drivers/k8s/kubeconfig.c drivers/k8s/k8s_auth.c drivers/k8s/k8s_api.c drivers/k8s/k8s_deploy.c \
	drivers/k8s/k8s_attest.c drivers/k8s/k8s_capacity.c
drivers_k8s_k8s_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/drivers/kit $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS) \
	$(YAML_CFLAGS)
drivers_k8s_k8s_la_CFLAGS = $(FB_DRV_CF)
drivers_k8s_k8s_la_LDFLAGS = $(FB_DRV_LD)
drivers_k8s_k8s_la_LIBADD = drivers/kit/libfbkit.la $(JANSSON_LIBS) $(OPENSSL_LIBS) $(YAML_LIBS) -lpthread
EXTRA_DIST += drivers/k8s/README.md
