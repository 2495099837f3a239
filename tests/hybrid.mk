# tests/hybrid.mk - hybrid burst placement and `fedbroker simulate` (issue
# 17): the simulator through the CLI with the real drivers and catalog
# (shape of the published table, money recomputed from the quantities,
# scale-out from startup.csv, CSV = inline, bad input), the baseline
# optimiser against a sweep of --baseline, and the overflow gateway for
# real: Debian's nginx with the rendered configuration in front of stand-in
# backends, driven by wrk (skips, 77, without nginx or wrk); the plan
# placing the split (two parts, quantities from the simulator, totals,
# budgets, FOCUS, the schema) and apply deploying both parts (fake AWS);
# capacity schedules on AWS, on GCP (Cloud Scheduler jobs executed against
# the fake Run API) and on k8s (CronJobs run as their RBAC-bound account);
# the next season forecast from a dated history; `auto` choosing predictive or not.
HYBRID_TESTS = tests/hybrid/profile.py tests/hybrid/simulate.py tests/hybrid/optimiser.py tests/hybrid/nginx_spill.py \
	tests/hybrid/split.py tests/hybrid/predictive.py tests/hybrid/forecast_next.py tests/hybrid/predictive_gcp.py \
	tests/hybrid/predictive_k8s.py tests/hybrid/auto.py
TESTS += $(HYBRID_TESTS)
EXTRA_DIST += $(HYBRID_TESTS)
EXTRA_DIST += docs/simulation.md bench/sim_bench.sh bench/README-sim.md bench/gen_profile.py
check_PROGRAMS += tests/hybrid/check_sim
TESTS += tests/hybrid/check_sim
tests_hybrid_check_sim_SOURCES = tests/hybrid/check_sim.c
tests_hybrid_check_sim_CPPFLAGS = $(FB_TEST_INCS)
tests_hybrid_check_sim_LDADD = $(FB_TEST_DEPLIBS)
