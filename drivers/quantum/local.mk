# drivers/quantum: QuantumJobs on the local simulator (quantum/libfbq),
# Amazon Braket (SigV4 through drivers/kit) and IBM Quantum (Qiskit Runtime
# REST). See drivers/quantum/README.md.
driver_LTLIBRARIES += drivers/quantum/quantum.la
drivers_quantum_quantum_la_SOURCES = drivers/quantum/qd.h drivers/quantum/quantum.c \
	drivers/quantum/qd_local.c drivers/quantum/qd_braket.c drivers/quantum/qd_ibm.c
drivers_quantum_quantum_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/drivers/kit -I$(top_srcdir)/quantum \
	$(JANSSON_CFLAGS)
drivers_quantum_quantum_la_CFLAGS = $(FB_DRV_CF)
drivers_quantum_quantum_la_LDFLAGS = $(FB_DRV_LD)
drivers_quantum_quantum_la_LIBADD = quantum/libfbq.la drivers/kit/libfbkit.la $(OPENSSL_LIBS) $(JANSSON_LIBS) -lm
EXTRA_DIST += drivers/quantum/README.md
