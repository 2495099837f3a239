# tests/solver.mk - the placement solver's tests (included from tests/local.mk).
check_PROGRAMS += tests/solver/check_solver
tests_solver_check_solver_SOURCES = tests/solver/check_solver.c
tests_solver_check_solver_CPPFLAGS = $(FB_CORE_INCS) $(CHECK_CFLAGS)
tests_solver_check_solver_LDADD = core/libfbcore.la $(FB_CORE_DEPLIBS) $(CHECK_LIBS)
TESTS += tests/solver/check_solver tests/solver/cli.sh tests/solver/agree.sh tests/solver/families.sh
dist_noinst_SCRIPTS += tests/solver/agree.sh tests/solver/cli.sh tests/solver/families.sh bench/gen_placement.py \
	bench/gen_families.py bench/solver_families.py bench/solver_bench.sh bench/solver_ab.py bench/solver_glpk_settings.sh \
	bench/solver_mip_ab.py
EXTRA_DIST += bench/data/SOURCE.md bench/data/latency_ms.csv bench/data/egress_prices.csv \
	bench/README-solver.md docs/solver.md docs/plan.md
check_PROGRAMS += tests/solver/check_split
tests_solver_check_split_SOURCES = tests/solver/check_split.c
tests_solver_check_split_CPPFLAGS = $(FB_CORE_INCS) $(CHECK_CFLAGS)
tests_solver_check_split_LDADD = core/libfbcore.la $(FB_CORE_DEPLIBS) $(CHECK_LIBS)
TESTS += tests/solver/check_split
# not a test: the root LP of branch and bound's model (bench/solver_mip_ab.py)
check_PROGRAMS += bench/solver_root
bench_solver_root_SOURCES = bench/solver_root.c
bench_solver_root_CPPFLAGS = $(FB_CORE_INCS)
bench_solver_root_LDADD = core/libfbcore.la $(FB_CORE_DEPLIBS)
