"""The fake Kubernetes API server's parts (tests/fakes/fake_k8s.py runs them).

schema     the OpenAPI v2 definitions and the Knative CRD schema as one node form;
           decoding (Go json semantics), CRD validation, quantities, defaults
fieldpath  server-side apply: field sets, FieldsV1, merge, ownership, conflicts
kinds      the resources served: names, discovery entries, semantic validation,
           the Knative admission webhook's rules
discovery  /api, /apis, aggregated discovery, /openapi/v2, /openapi/v3
store      objects, resourceVersions, selectors, watch events
server     TLS, authentication, routing, verbs, faults, the control API
controllers  what the cluster does on its own: rollouts, Knative readiness,
           cluster IPs, EndpointSlices, HPA status, garbage collection
"""
