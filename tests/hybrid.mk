# tests/hybrid.mk - hybrid burst placement and `fedbroker simulate` (issue
# 17): the simulator through the CLI with the real drivers and catalog
# (shape of the published table, money recomputed from the quantities,
# scale-out from startup.csv, CSV = inline, bad input), the baseline
# optimiser against a sweep of --baseline, and the overflow gateway for
# real: Debian's nginx with the rendered configuration in front of stand-in
# backends, driven by wrk (skips, 77, without nginx or wrk).
HYBRID_TESTS = tests/hybrid/simulate.py tests/hybrid/optimiser.py tests/hybrid/nginx_spill.py
TESTS += $(HYBRID_TESTS)
EXTRA_DIST += $(HYBRID_TESTS)
