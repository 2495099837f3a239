"""k8s_schema.py - validators for rendered Kubernetes and Knative objects.

References (not ours): the Kubernetes 1.36 OpenAPI v2 subset for Deployment,
Service and HorizontalPodAutoscaler, and the Knative Serving Service CRD's
openAPIV3Schema (tests/reference/*/SOURCE.md). The SOURCE.md caveats are applied:
IntOrString becomes oneOf integer/string, every object schema with
properties gets additionalProperties:false (so a typo fails), apiVersion and
kind are checked against x-kubernetes-group-version-kind, and the Knative
webhook rules the CRD schema leaves out are checked in code.
"""
import copy
import json
import os
import re

import jsonschema

from gk import DATA

# The grammar in the Quantity definition's description:
# <signedNumber><suffix>, suffix binary (Ki..Ei), decimal (m, k, M..E) or exponent.
QUANTITY_RE = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$"

KINDS = {
    "Deployment": "io.k8s.api.apps.v1.Deployment",
    "Service": "io.k8s.api.core.v1.Service",
    "HorizontalPodAutoscaler": "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler",
}


def _close(node):
    """additionalProperties:false on every object schema that lists properties
    (unless it already says something, or preserves unknown fields)."""
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node \
                and not node.get("x-kubernetes-preserve-unknown-fields"):
            node["additionalProperties"] = False
        for v in node.values():
            _close(v)
    elif isinstance(node, list):
        for v in node:
            _close(v)


class K8sValidator:
    def __init__(self):
        with open(os.path.join(DATA, "kubernetes", "k8s-swagger.json")) as f:
            self.swagger = json.load(f)
        defs = copy.deepcopy(self.swagger["definitions"])
        defs["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] = {
            "oneOf": [{"type": "integer"}, {"type": "string"}]}
        defs["io.k8s.apimachinery.pkg.api.resource.Quantity"] = {
            "type": "string", "pattern": QUANTITY_RE}
        _close(defs)
        self.defs = defs

    def gvk(self, kind):
        d = self.swagger["definitions"][KINDS[kind]]
        g = d["x-kubernetes-group-version-kind"][0]
        return (g["group"] + "/" + g["version"]) if g["group"] else g["version"]

    def errors(self, body):
        """Every problem with one object (empty list = valid)."""
        kind = body.get("kind") if isinstance(body, dict) else None
        if kind not in KINDS:
            return ["kind %r is not one of %s" % (kind, sorted(KINDS))]
        errs = []
        if body.get("apiVersion") != self.gvk(kind):
            errs.append("apiVersion %r, x-kubernetes-group-version-kind says %r"
                        % (body.get("apiVersion"), self.gvk(kind)))
        schema = {"$ref": "#/definitions/" + KINDS[kind], "definitions": self.defs}
        v = jsonschema.Draft4Validator(schema)
        for e in v.iter_errors(body):
            errs.append("%s: %s" % ("/".join(str(p) for p in e.absolute_path), e.message))
        return errs


# Knative's defaults (config-defaults): max-revision-timeout-seconds 600,
# container-concurrency-max-limit 1000.
KNATIVE_MAX_TIMEOUT = 600
KNATIVE_MAX_CC = 1000
KNATIVE_RESERVED_ENV = {"PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION"}


class KnativeValidator:
    def __init__(self, max_timeout=KNATIVE_MAX_TIMEOUT):
        # the CRD as Knative ships it; its v1 version's openAPIV3Schema
        import yaml
        with open(os.path.join(DATA, "knative-serving", "service.yaml")) as f:
            crd = yaml.safe_load(f)
        schema = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")["schema"]["openAPIV3Schema"]
        _close(schema)
        self.schema = schema
        self.max_timeout = max_timeout

    def errors(self, body):
        errs = []
        if not isinstance(body, dict):
            return ["not an object"]
        if body.get("apiVersion") != "serving.knative.dev/v1" or body.get("kind") != "Service":
            errs.append("apiVersion/kind %r/%r, expected serving.knative.dev/v1 Service"
                        % (body.get("apiVersion"), body.get("kind")))
        for e in jsonschema.Draft7Validator(self.schema).iter_errors(body):
            errs.append("%s: %s" % ("/".join(str(p) for p in e.absolute_path), e.message))
        # The webhook's rules (SOURCE.md caveats), which the CRD schema omits.
        spec = ((body.get("spec") or {}).get("template") or {}).get("spec") or {}
        containers = spec.get("containers") or []
        if len(containers) != 1:
            errs.append("webhook: exactly one serving container expected, got %d" % len(containers))
        nports = 0
        for c in containers:
            if not c.get("image"):
                errs.append("webhook: container has no image")
            nports += len(c.get("ports") or [])
            for p in c.get("ports") or []:
                if p.get("name") not in (None, "http1", "h2c"):
                    errs.append("webhook: port name %r is not http1 or h2c" % p.get("name"))
            for e in c.get("env") or []:
                if e.get("name") in KNATIVE_RESERVED_ENV:
                    errs.append("webhook: env %s is reserved" % e["name"])
            for probe in ("readinessProbe", "livenessProbe"):
                pr = c.get(probe) or {}
                for h in ("httpGet", "tcpSocket"):
                    port = (pr.get(h) or {}).get("port")
                    if port is not None and port not in [p.get("containerPort") for p in c.get("ports") or []]:
                        errs.append("webhook: %s port %r is not the container port" % (probe, port))
        if nports > 1:
            errs.append("webhook: more than one container port")
        cc = spec.get("containerConcurrency")
        if cc is not None and not (isinstance(cc, int) and 0 <= cc <= KNATIVE_MAX_CC):
            errs.append("webhook: containerConcurrency %r outside 0..%d" % (cc, KNATIVE_MAX_CC))
        ts = spec.get("timeoutSeconds")
        if ts is not None and not (isinstance(ts, int) and 0 <= ts <= self.max_timeout):
            errs.append("webhook: timeoutSeconds %r above max-revision-timeout-seconds %d" % (ts, self.max_timeout))
        ann = (((body.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("annotations") or {}
        scale = {}
        for k, v in ann.items():
            if k.startswith("autoscaling.knative.dev/"):
                key = k.split("/", 1)[1]
                if key in ("min-scale", "max-scale", "target"):
                    if not re.fullmatch(r"[0-9]+", v or ""):
                        errs.append("webhook: annotation %s=%r is not a non-negative integer" % (k, v))
                    else:
                        scale[key] = int(v)
                elif key == "metric":
                    if v not in ("concurrency", "rps", "cpu", "memory"):
                        errs.append("webhook: unknown autoscaling metric %r" % v)
                elif key == "scale-to-zero-pod-retention-period":
                    if not re.fullmatch(r"([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+", v or ""):
                        errs.append("webhook: %s=%r is not a duration" % (k, v))
                elif key not in ("class", "window", "panic-window-percentage", "initial-scale",
                                 "activation-scale", "target-utilization-percentage"):
                    errs.append("webhook: unknown autoscaling annotation %s" % k)
        if "min-scale" in scale and "max-scale" in scale and scale["max-scale"] and scale["min-scale"] > scale["max-scale"]:
            errs.append("webhook: min-scale %d > max-scale %d" % (scale["min-scale"], scale["max-scale"]))
        return errs
