# examples/: specs and the example driver

# Spec examples, installed under $(pkgdatadir)/examples (the spec helper).
FB_SPEC_EXAMPLES = \
	examples/function.yaml \
	examples/container.yaml \
	examples/quantum-bell.yaml \
	examples/bell.qasm \
	examples/federation.yaml \
	examples/shop-worker.yaml \
	examples/thumbnailer.json \
	examples/src/hello/handler.py \
	examples/src/api/index.mjs
nobase_dist_pkgdata_DATA += $(FB_SPEC_EXAMPLES)
