# core/: libfedbroker and the fedbroker command.
FB_CORE_INCS = $(AM_CPPFLAGS) -DFB_DRIVERDIR='"$(driverdir)"' -DFB_PKGDATADIR='"$(pkgdatadir)"' \
	$(CURL_CFLAGS) $(OPENSSL_CFLAGS) $(JANSSON_CFLAGS) $(SQLITE_CFLAGS) \
	$(SODIUM_CFLAGS) $(MHD_CFLAGS) $(YAML_CFLAGS)
FB_CORE_DEPLIBS = $(CURL_LIBS) $(OPENSSL_LIBS) $(JANSSON_LIBS) $(SQLITE_LIBS) \
	$(SODIUM_LIBS) $(MHD_LIBS) $(YAML_LIBS) $(GLPK_LIBS)

# Everything of core, as a convenience library the command and tests link
# statically; libfedbroker.la exports only its fb_ symbols.
noinst_LTLIBRARIES += core/libfbcore.la
core_libfbcore_la_CPPFLAGS = $(FB_CORE_INCS)
core_libfbcore_la_SOURCES = \
	core/base/util.c core/base/util.h core/base/decimal.c core/base/decimal.h core/base/jsonspan.c core/base/jsonspan.h \
	core/base/jsonwrite.c core/base/jsonwrite.h core/base/jsonread.c core/base/jsonread.h \
	core/base/trust.c core/base/trust.h \
	core/base/redact.c core/base/redact.h \
	core/base/diag.c core/base/diag.h \
	core/base/call.c core/base/call.h core/base/map.c core/base/map.h \
	core/http/http.c core/http/http.h core/http/http_policy.c core/http/http_metrics.c \
	core/host/host.c core/host/host.h core/host/http_many.c core/host/registry.c core/host/registry_json.c core/host/elf.c core/host/elf.h \
	core/host/conformance.c \
	core/state/store.c core/state/writer.c core/state/writer.h \
	core/state/state.h core/state/lock.c core/state/lock.h \
	core/identity/identity.h core/identity/spiffe.c core/identity/settings.c \
	core/identity/seal.c core/identity/jose.c core/identity/keyring.c core/identity/vault.c \
	core/broker/broker.c core/broker/broker.h core/broker/config.c \
	core/broker/offers.c core/broker/lifecycle.c core/broker/recover.c \
	core/broker/fanout.c core/broker/fanout.h \
	core/discovery/discovery.h core/discovery/table.c core/discovery/probe.c \
	core/discovery/resolve.c \
	core/server/server.h core/server/server.c core/server/token.h core/server/token.c \
	core/server/audit.h core/server/audit.c core/server/auditq.h core/server/auditq.c \
	core/server/ttlcache.h core/server/ttlcache.c core/server/ops.h core/server/ops.c \
	core/server/v1.h core/server/v1.c core/server/reconcile.h core/server/reconcile.c \
	core/server/wltoken.h core/server/wltoken.c core/server/reqlog.h core/server/reqlog.c \
	core/plan/plan.c core/plan/plan.h core/plan/plan_int.h core/plan/input.c \
	core/plan/model.c core/plan/evaluate.c core/plan/lookup.c core/plan/usage.c core/plan/problem.c core/plan/freetier.c core/plan/budget.c core/plan/explain.c \
	core/plan/document.c core/plan/report.c core/plan/report.h core/plan/focus.c core/plan/compare.c core/plan/compare.h \
	core/plan/hybrid.c core/plan/hybrid.h \
	core/sim/sim.c core/sim/sim.h core/sim/forecast.c core/sim/forecast.h
core_libfbcore_la_SOURCES += core/solver/solver.c core/solver/solver.h \
	core/solver/solver_impl.h core/solver/solver_json.c \
	core/solver/solver_heur.c core/solver/solver_bound.c core/solver/solver_lp.c \
	core/solver/solver_lns.c core/solver/solver_split.c
core_libfbcore_la_LIBADD = $(FB_CORE_DEPLIBS)

lib_LTLIBRARIES += core/libfedbroker.la
core_libfedbroker_la_SOURCES =
core_libfedbroker_la_LIBADD = core/libfbcore.la $(FB_CORE_DEPLIBS)
core_libfedbroker_la_LDFLAGS = -version-info 0:0:0 -no-undefined -export-symbols-regex '^fb_'

fbincludedir = $(includedir)/fedbroker
fbinclude_HEADERS = core/fedbroker/driver.h core/fedbroker/fedbroker.h

bin_PROGRAMS += fedbroker
fedbroker_CPPFLAGS = $(FB_CORE_INCS) -I$(top_srcdir)/core/cli
fedbroker_SOURCES = \
	core/cli/main.c core/cli/cli.h \
	core/cli/opts.c \
	core/cli/cmd_drivers.c \
	core/cli/cmd_drivers_test.c \
	core/cli/common.c \
	core/cli/cmd_render.c \
	core/cli/deploy.c core/cli/deploy.h \
	core/cli/cmd_apply.c core/cli/cmd_status.c core/cli/cmd_destroy.c core/cli/cmd_discover.c
fedbroker_SOURCES += core/cli/cmd_solve.c core/cli/cmd_plan.c core/cli/cmd_report.c
fedbroker_SOURCES += core/cli/planexec.h core/cli/plandoc.c core/cli/changes.c core/cli/execute.c \
	core/cli/cmd_plans.c core/cli/cmd_endpoints.c
fedbroker_SOURCES += core/cli/cmd_resolve.c core/cli/cmd_health.c core/cli/cmd_serve.c core/cli/cmd_token.c core/cli/cmd_audit.c
fedbroker_SOURCES += core/cli/cmd_simulate.c core/cli/gateway.c core/cli/gateway.h core/cli/plan_hybrid.c
fedbroker_LDADD = core/libfbcore.la $(FB_CORE_DEPLIBS)

# Portable specs: parse, validate (schema embedded at build time), normalise.
core_libfbcore_la_SOURCES += \
	core/spec/spec.c core/spec/spec.h \
	core/spec/spec_schema.c \
	core/spec/spec_json.c core/spec/spec_view.c \
	core/spec/spec_yaml.c \
	core/spec/spec_units.c core/spec/spec_profile.c core/spec/profile.h \
	core/spec/spec_locs.c
nodist_core_libfbcore_la_SOURCES = core/spec/spec_schema_data.c
BUILT_SOURCES += core/spec/spec_schema_data.c
CLEANFILES += core/spec/spec_schema_data.c
core/spec/spec_schema_data.c: $(top_srcdir)/schemas/workload.v1.schema.json $(FB_EMBED)
	$(AM_V_GEN)$(MKDIR_P) core/spec && \
	$(SHELL) $(FB_EMBED) fbi_spec_schema_data=$(top_srcdir)/schemas/workload.v1.schema.json \
	  > $@.tmp && mv $@.tmp $@
# The broker configuration's schema, embedded the same way (broker/config.c).
nodist_core_libfbcore_la_SOURCES += core/broker/config_schema_data.c
BUILT_SOURCES += core/broker/config_schema_data.c
CLEANFILES += core/broker/config_schema_data.c
core/broker/config_schema_data.c: $(top_srcdir)/schemas/config.v1.schema.json $(FB_EMBED)
	$(AM_V_GEN)$(MKDIR_P) core/broker && \
	$(SHELL) $(FB_EMBED) fbi_config_schema_data=$(top_srcdir)/schemas/config.v1.schema.json \
	  > $@.tmp && mv $@.tmp $@
fbspecschemadir = $(pkgdatadir)/schemas
dist_fbspecschema_DATA = schemas/workload.v1.schema.json schemas/catalog.v1.schema.json schemas/plan.v1.schema.json \
	schemas/config.v1.schema.json
fedbroker_SOURCES += core/cli/cmd_validate.c

# The catalog (catalog/local.mk generates core/catalog/catalog_data.c).
core_libfbcore_la_SOURCES += core/catalog/catalog.c core/catalog/catalog.h \
	core/catalog/catalog_priv.h core/catalog/catalog_csv.c \
	core/catalog/catalog_money.c core/catalog/catalog_lookup.c \
	core/catalog/catalog_latency.c core/catalog/catalog_overrides.c \
	core/catalog/catalog_diff.c core/catalog/catalog_hash.c
nodist_core_libfbcore_la_SOURCES += core/catalog/catalog_data.c
fedbroker_SOURCES += core/cli/cmd_catalog.c
fedbroker_SOURCES += core/cli/cmd_quantum.c
fedbroker_LDADD += quantum/libfbq.la
fedbroker_CPPFLAGS += -I$(top_srcdir)/quantum
fedbroker_SOURCES += core/cli/cmd_results.c core/cli/cmd_identity.c core/cli/cmd_secret.c
