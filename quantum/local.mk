# quantum/: OpenQASM parser and state-vector simulator (prefix fbq_), a PIC
# convenience library linked by the fedbroker command and the quantum driver.
noinst_LTLIBRARIES += quantum/libfbq.la
quantum_libfbq_la_CPPFLAGS = -I$(top_srcdir)/quantum -I$(top_builddir)/quantum
# Explicit -f flags win over -O2's defaults whatever CFLAGS says: the kernels
# are loops over long arrays that vectorise.
quantum_libfbq_la_CFLAGS = $(AM_CFLAGS) -fPIC -ftree-vectorize -fno-math-errno
quantum_libfbq_la_SOURCES = \
	quantum/fbq.h quantum/fbq_int.h \
	quantum/util.c quantum/parse.c quantum/include.c quantum/lower.c quantum/kernels.c \
	quantum/sim.c quantum/qasm3.c
nodist_quantum_libfbq_la_SOURCES = quantum/fbq_headers.c
quantum_libfbq_la_LIBADD = -lm
EXTRA_DIST += quantum/qelib1.inc quantum/stdgates.inc quantum/qelib1_qiskit.inc\
	quantum/SOURCE.md quantum/LICENSE.openqasm
BUILT_SOURCES += quantum/fbq_headers.c
CLEANFILES += quantum/fbq_headers.c

# The standard headers are embedded so `include "qelib1.inc";` needs no file.
quantum/fbq_headers.c: $(top_srcdir)/quantum/qelib1.inc $(top_srcdir)/quantum/stdgates.inc \
		$(top_srcdir)/quantum/qelib1_qiskit.inc $(FB_EMBED)
	$(AM_V_GEN)$(MKDIR_P) quantum && \
	$(SHELL) $(FB_EMBED) -i fbq_int.h fbq_hdr_qelib1=$(top_srcdir)/quantum/qelib1.inc \
	  fbq_hdr_stdgates=$(top_srcdir)/quantum/stdgates.inc \
	  fbq_hdr_qelib1_qiskit=$(top_srcdir)/quantum/qelib1_qiskit.inc > $@.tmp && mv $@.tmp $@

# Benchmarks (not part of make check): `make bench-quantum`, see
# bench/README-quantum.md.
bench/quantum_bench$(EXEEXT): $(top_srcdir)/bench/quantum_bench.c quantum/libfbq.la
	@$(MKDIR_P) bench
	$(AM_V_CCLD)$(LIBTOOL) $(AM_V_lt) --tag=CC --mode=link $(CC) $(DEFS) -I$(top_builddir) \
	  -I$(top_srcdir)/quantum $(AM_CFLAGS) $(CFLAGS) -O2 -o $@ $(top_srcdir)/bench/quantum_bench.c \
	  quantum/libfbq.la -lm
bench-quantum: bench/quantum_bench$(EXEEXT) fedbroker$(EXEEXT)
	$(SHELL) $(top_srcdir)/bench/quantum_bench.sh $(top_srcdir) .
.PHONY: bench-quantum
CLEANFILES += bench/quantum_bench$(EXEEXT)
EXTRA_DIST += bench/quantum_bench.c bench/quantum_bench.sh bench/README-quantum.md \
	bench/quantum_crosscheck.py bench/node/package.json bench/node/package-lock.json \
	bench/node/qc_run.js quantum/README.md
