# Core unit tests (registry, store, util) and the driver/ABI integration tests.
check_PROGRAMS += tests/host/check_registry tests/state/check_store tests/base/check_util
TESTS += tests/host/check_registry tests/state/check_store tests/base/check_util
tests_host_check_registry_SOURCES = tests/host/check_registry.c
tests_host_check_registry_CPPFLAGS = $(FB_TEST_INCS)
tests_host_check_registry_LDADD = $(FB_TEST_DEPLIBS)
tests_state_check_store_SOURCES = tests/state/check_store.c
tests_state_check_store_CPPFLAGS = $(FB_TEST_INCS)
tests_state_check_store_LDADD = $(FB_TEST_DEPLIBS)
tests_base_check_util_SOURCES = tests/base/check_util.c
tests_base_check_util_CPPFLAGS = $(FB_TEST_INCS)
tests_base_check_util_LDADD = $(FB_TEST_DEPLIBS)

TESTS += tests/layering.sh tests/exported_symbols.sh tests/conformance.sh tests/lifecycle.sh tests/cli.sh tests/demo.sh
EXTRA_DIST += tests/layering.sh tests/exported_symbols.sh tests/conformance.sh tests/exported-symbols.txt \
	tests/lifecycle.sh tests/fakes/example_cloud.py tests/cli.sh tests/demo.sh

# plan and report: unit tests of the report writer and the model
check_PROGRAMS += tests/plan/check_report tests/plan/check_plan_model
TESTS += tests/plan/check_report tests/plan/check_plan_model
tests_plan_check_report_SOURCES = tests/plan/check_report.c
tests_plan_check_report_CPPFLAGS = $(FB_TEST_INCS)
tests_plan_check_report_LDADD = $(FB_TEST_DEPLIBS)
tests_plan_check_plan_model_SOURCES = tests/plan/check_plan_model.c
tests_plan_check_plan_model_CPPFLAGS = $(FB_TEST_INCS)
tests_plan_check_plan_model_LDADD = $(FB_TEST_DEPLIBS)

# plan and report end to end (needs glpk-utils, coinor-cbc, sqlite3)
TESTS += tests/plan/plan.sh tests/plan/html.sh tests/plan/same_plans.sh tests/plan/calls.sh tests/plan/compare.sh tests/plan/onprem.sh \
	tests/plan/shape_key.py tests/plan/budget_net.py tests/plan/mem_growth.py tests/plan/parts.py
EXTRA_DIST += tests/plan/parts.py tests/plan/budget_net.py tests/plan/mem_growth.py tests/plan/compare.sh tests/plan/onprem.sh tests/plan/focus_validate.py tests/plan/plan.sh tests/plan/check_plan.py tests/plan/reconcile.py tests/plan/fed.yaml tests/plan/html.sh \
	tests/plan/same_plans.sh tests/plan/calls.sh tests/plan/shape_key.py tests/plan/gen-identical.yaml tests/plan/gen-distinct.yaml \
	tests/plan/gen-mixed.yaml \
	tests/plan/expected/example-calendar.json \
	tests/plan/expected/example.json \
	tests/plan/expected/fed-all-drivers.json \
	tests/plan/expected/fed-anti-affinity.json \
	tests/plan/expected/fed-budget-infeasible.json \
	tests/plan/expected/fed-overrides.json \
	tests/plan/expected/fed-quota.json \
	tests/plan/expected/fed-slo-infeasible.json \
	tests/plan/expected/fed.json \
	tests/plan/expected/gen-distinct.json \
	tests/plan/expected/gen-identical.json \
	tests/plan/expected/gen-mixed.json \
	bench/gen_plan_fed.py bench/plan_bench.sh bench/plan_mem.sh bench/plan_lib.sh bench/README-plan.md
check_PROGRAMS += tests/base/check_redact
TESTS += tests/base/check_redact
tests_base_check_redact_SOURCES = tests/base/check_redact.c
tests_base_check_redact_CPPFLAGS = $(FB_TEST_INCS)
tests_base_check_redact_LDADD = $(FB_TEST_DEPLIBS)

# The state file: backups before migrations, damaged pages refused (issue 9).
TESTS += tests/state/state_file.py
EXTRA_DIST += tests/state/state_file.py tests/state/state-v1.sql

# the FOCUS 1.2 requirements model (data, tests/reference/focus12/SOURCE.md)
EXTRA_DIST += tests/reference/focus12/SOURCE.md \
	tests/reference/focus12/attributes/currencyformat.json \
	tests/reference/focus12/attributes/stringhandling.json \
	tests/reference/focus12/attributes/unitformat.json \
	tests/reference/focus12/check_functions.json \
	tests/reference/focus12/columns/billedcost.json \
	tests/reference/focus12/columns/billingaccountid.json \
	tests/reference/focus12/columns/billingaccountname.json \
	tests/reference/focus12/columns/billingcurrency.json \
	tests/reference/focus12/columns/billingperiodend.json \
	tests/reference/focus12/columns/billingperiodstart.json \
	tests/reference/focus12/columns/chargecategory.json \
	tests/reference/focus12/columns/chargeclass.json \
	tests/reference/focus12/columns/chargedescription.json \
	tests/reference/focus12/columns/chargefrequency.json \
	tests/reference/focus12/columns/chargeperiodend.json \
	tests/reference/focus12/columns/chargeperiodstart.json \
	tests/reference/focus12/columns/consumedquantity.json \
	tests/reference/focus12/columns/consumedunit.json \
	tests/reference/focus12/columns/contractedcost.json \
	tests/reference/focus12/columns/contractedunitprice.json \
	tests/reference/focus12/columns/effectivecost.json \
	tests/reference/focus12/columns/invoiceissuer.json \
	tests/reference/focus12/columns/listcost.json \
	tests/reference/focus12/columns/listunitprice.json \
	tests/reference/focus12/columns/pricingquantity.json \
	tests/reference/focus12/columns/pricingunit.json \
	tests/reference/focus12/columns/providername.json \
	tests/reference/focus12/columns/publishername.json \
	tests/reference/focus12/columns/regionid.json \
	tests/reference/focus12/columns/regionname.json \
	tests/reference/focus12/columns/servicecategory.json \
	tests/reference/focus12/columns/servicename.json \
	tests/reference/focus12/columns/servicesubcategory.json \
	tests/reference/focus12/columns/skuid.json \
	tests/reference/focus12/columns/skupriceid.json \
	tests/reference/focus12/columns/tags.json \
	tests/reference/focus12/datasets/costandusage.json \
	tests/reference/focus12/model_details.json

# broker: the fan-out, --target parsing, the broker on a real configuration
# and the staged drivers
check_PROGRAMS += tests/broker/check_broker
TESTS += tests/broker/check_broker
tests_broker_check_broker_SOURCES = tests/broker/check_broker.c
tests_broker_check_broker_CPPFLAGS = $(FB_TEST_INCS)
tests_broker_check_broker_LDADD = $(FB_TEST_DEPLIBS)

# fbi_json_write against jansson's json_dumps (same bytes, same refusals), and
# fbi_json_read against json_loadb (same values, same errors).
check_PROGRAMS += tests/base/check_jsonwrite
TESTS += tests/base/check_jsonwrite
tests_base_check_jsonwrite_SOURCES = tests/base/check_jsonwrite.c
tests_base_check_jsonwrite_CPPFLAGS = $(FB_TEST_INCS)
tests_base_check_jsonwrite_LDADD = $(FB_TEST_DEPLIBS)
