"""The resources the fake serves, and what the API server checks and fills in
beyond the OpenAPI schema: name rules, label and annotation syntax, the
enums of the Go validation code, the defaulting functions, the few
kind-specific rules a deploying client meets first, and Knative Serving's
admission webhook.

Everything here is written from the Kubernetes and Knative documentation and
error texts (the schema itself is read from tests/reference); what is not
checked is listed in tests/fakes/README.md.
"""
import base64
import hashlib
import json
import re

from .schema import FieldError, QuantityError, quantity_value

STD_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


class Kind:
    def __init__(self, group, version, kind, plural, defname=None, namespaced=True, short=(),
                 categories=(), name_rule="subdomain", generation=False, status=True, extra_sub=None,
                 crd=False, verbs=STD_VERBS, max_name=None):
        self.group, self.version, self.kind, self.plural = group, version, kind, plural
        self.singular = kind.lower()
        self.defname = defname
        self.namespaced = namespaced
        self.short, self.categories = list(short), list(categories)
        self.name_rule = name_rule
        self.generation = generation
        self.status = status
        self.extra_sub = extra_sub or {}
        self.crd = crd
        self.verbs = list(verbs)
        self.max_name = max_name

    @property
    def gv(self):
        return "%s/%s" % (self.group, self.version) if self.group else self.version

    @property
    def resource(self):
        """deployments.apps (the form in NotFound messages)."""
        return "%s.%s" % (self.plural, self.group) if self.group else self.plural

    @property
    def qualified_kind(self):
        """Deployment.apps (the form in Invalid messages)."""
        return "%s.%s" % (self.kind, self.group) if self.group else self.kind

    def storage_hash(self):
        gvk = "%s/%s/%s" % (self.group, self.version, self.kind)
        return base64.b64encode(hashlib.sha256(gvk.encode()).digest()[:8]).decode()

    def api_resources(self):
        """The APIResource entries of /apis/<group>/<version> for this kind."""
        main = {"name": self.plural, "singularName": self.singular, "namespaced": self.namespaced,
                "kind": self.kind, "verbs": self.verbs}
        if self.short:
            main["shortNames"] = self.short
        if self.categories:
            main["categories"] = self.categories
        main["storageVersionHash"] = self.storage_hash()
        out = [main]
        if self.status:
            out.append({"name": self.plural + "/status", "singularName": "", "namespaced": self.namespaced,
                        "kind": self.kind, "verbs": ["get", "patch", "update"]})
        for sub, (kind, group, version, verbs) in self.extra_sub.items():
            e = {"name": "%s/%s" % (self.plural, sub), "singularName": "", "namespaced": self.namespaced,
                 "kind": kind, "verbs": verbs}
            if group is not None:
                e["group"], e["version"] = group, version
            out.append(e)
        return out


def _k(group, version, kind, plural, **kw):
    parts = {"": "io.k8s.api.core.", "apps": "io.k8s.api.apps.", "autoscaling": "io.k8s.api.autoscaling.",
             "batch": "io.k8s.api.batch.", "networking.k8s.io": "io.k8s.api.networking.",
             "discovery.k8s.io": "io.k8s.api.discovery.", "rbac.authorization.k8s.io": "io.k8s.api.rbac."}
    if "defname" not in kw and group in parts:
        kw["defname"] = "%s%s.%s" % (parts[group], version, kind)
    return Kind(group, version, kind, plural, **kw)


KINDS = [
    _k("", "v1", "Namespace", "namespaces", namespaced=False, short=["ns"], name_rule="label",
       verbs=["create", "delete", "get", "list", "patch", "update", "watch"],
       extra_sub={"finalize": ("Namespace", None, None, ["update"])}),
    _k("", "v1", "ServiceAccount", "serviceaccounts", short=["sa"], status=False,
       extra_sub={"token": ("TokenRequest", "authentication.k8s.io", "v1", ["create"])}),
    _k("", "v1", "Secret", "secrets", status=False),
    _k("", "v1", "ConfigMap", "configmaps", short=["cm"], status=False),
    _k("", "v1", "Service", "services", short=["svc"], categories=["all"], name_rule="dns1035",
       extra_sub={"proxy": ("ServiceProxyOptions", None, None, ["create", "delete", "get", "patch", "update"])}),
    _k("", "v1", "ResourceQuota", "resourcequotas", short=["quota"]),
    _k("", "v1", "LimitRange", "limitranges", short=["limits"], status=False),
    _k("apps", "v1", "Deployment", "deployments", short=["deploy"], categories=["all"], generation=True,
       extra_sub={"scale": ("Scale", "autoscaling", "v1", ["get", "patch", "update"])}),
    _k("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", short=["hpa"],
       categories=["all"]),
    _k("batch", "v1", "CronJob", "cronjobs", short=["cj"], categories=["all"], generation=True, max_name=52),
    _k("batch", "v1", "Job", "jobs", categories=["all"], generation=True),
    _k("networking.k8s.io", "v1", "Ingress", "ingresses", short=["ing"], generation=True),
    _k("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", short=["netpol"], status=False,
       generation=True),
    _k("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", status=False, generation=True),
    _k("rbac.authorization.k8s.io", "v1", "Role", "roles", status=False),
    _k("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", status=False),
    # create only, nothing stored: the answer is the review (fake_k8s.py)
    _k("authentication.k8s.io", "v1", "TokenReview", "tokenreviews", namespaced=False, status=False,
       verbs=["create"], defname="io.k8s.api.authentication.v1.TokenReview"),
]
KNATIVE = Kind("serving.knative.dev", "v1", "Service", "services", crd=True, short=["kservice", "ksvc"],
               categories=["all", "knative", "serving"], name_rule="subdomain", generation=True)


def knative_from_crd(crd):
    """Discovery names of the Knative Service from its CRD."""
    names = crd["spec"]["names"]
    KNATIVE.plural = names["plural"]
    KNATIVE.singular = names["singular"]
    KNATIVE.short = list(names.get("shortNames", []))
    KNATIVE.categories = list(names.get("categories", []))
    ver = [v for v in crd["spec"]["versions"] if v["name"] == "v1"][0]
    KNATIVE.status = "status" in (ver.get("subresources") or {})


# ---------------------------------------------------------------- names and labels
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
IANA_SVC_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])*$")

MSG_LABEL = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
             "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
             "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
MSG_SUBDOMAIN = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                 "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                 "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
MSG_DNS1035 = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
               "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
               "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
MSG_QNAME = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
             "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
             "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
MSG_QNAME_SLASHES = ("a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and "
                     "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used "
                     "for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain "
                     "prefix and '/' (e.g. 'example.com/MyName')")
MSG_LABEL_VALUE = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                   "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
                   "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
MSG_CONFIG_KEY = ("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  "
                  "or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")
MSG_ENV = ("a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', "
           "and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used "
           "for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')")


def name_errors(name, rule):
    """IsDNS1123Label / IsDNS1123Subdomain / IsDNS1035Label."""
    errs = []
    if rule == "label":
        if len(name) > 63:
            errs.append("must be no more than 63 characters")
        if not DNS1123_LABEL.match(name):
            errs.append(MSG_LABEL)
    elif rule == "dns1035":
        if len(name) > 63:
            errs.append("must be no more than 63 characters")
        if not DNS1035_LABEL.match(name):
            errs.append(MSG_DNS1035)
    else:
        if len(name) > 253:
            errs.append("must be no more than 253 characters")
        if not DNS1123_SUBDOMAIN.match(name):
            errs.append(MSG_SUBDOMAIN)
    return errs


def qualified_name_errors(key):
    """IsQualifiedName: [prefix/]name, name segment up to 63 characters,
    beginning and ending with an alphanumeric character, prefix a DNS-1123
    subdomain."""
    errs = []
    parts = key.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + m for m in name_errors(prefix, "subdomain"))
    else:
        return [MSG_QNAME_SLASHES]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part must be no more than 63 characters")
    if name and not QUALIFIED_NAME.match(name):
        errs.append(MSG_QNAME)
    return errs


def label_value_errors(v):
    errs = []
    if len(v) > 63:
        errs.append("must be no more than 63 characters")
    if not LABEL_VALUE.match(v):
        errs.append(MSG_LABEL_VALUE)
    return errs


def validate_labels(labels, path):
    errs = []
    if not isinstance(labels, dict):
        return errs
    for k, v in labels.items():
        for m in qualified_name_errors(k):
            errs.append(FieldError("invalid", path, k, m))
        if isinstance(v, str):
            for m in label_value_errors(v):
                errs.append(FieldError("invalid", path, v, m))
    return errs


def validate_annotations(ann, path):
    errs = []
    if not isinstance(ann, dict):
        return errs
    total = 0
    for k, v in ann.items():
        for m in qualified_name_errors(k.lower()):
            errs.append(FieldError("invalid", path, k, m))
        total += len(k) + len(v or "")
    if total > 256 * 1024:
        errs.append(FieldError("toolong", path, detail="may not be more than %d bytes" % (256 * 1024)))
    return errs


def validate_selector(sel, path):
    """A metav1.LabelSelector."""
    errs = []
    if not isinstance(sel, dict):
        return errs
    errs += validate_labels(sel.get("matchLabels"), path + ".matchLabels")
    for i, r in enumerate(sel.get("matchExpressions") or []):
        p = "%s.matchExpressions[%d]" % (path, i)
        op = r.get("operator")
        vals = r.get("values") or []
        if op in ("In", "NotIn") and not vals:
            errs.append(FieldError("required", p + ".values", detail="must be specified when `operator` is 'In' or 'NotIn'"))
        elif op in ("Exists", "DoesNotExist") and vals:
            errs.append(FieldError("forbidden", p + ".values", detail="may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
        elif op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            errs.append(FieldError("invalid", p + ".operator", op, "not a valid selector operator"))
        for m in qualified_name_errors(r.get("key", "")):
            errs.append(FieldError("invalid", p + ".key", r.get("key", ""), m))
        for j, v in enumerate(vals):
            for m in label_value_errors(v):
                errs.append(FieldError("invalid", "%s.values[%d]" % (p, j), v, m))
    return errs


def selector_matches(sel, labels):
    """Does a LabelSelector select these labels."""
    labels = labels or {}
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for r in sel.get("matchExpressions") or []:
        k, op, vals = r.get("key"), r.get("operator"), r.get("values") or []
        if op == "In" and labels.get(k) not in vals:
            return False
        if op == "NotIn" and k in labels and labels[k] in vals:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True


# ---------------------------------------------------------------- enums of the Go validation code
ENUMS = {
    ("io.k8s.api.core.v1.Container", "imagePullPolicy"): ["Always", "IfNotPresent", "Never"],
    ("io.k8s.api.core.v1.Container", "terminationMessagePolicy"): ["FallbackToLogsOnError", "File"],
    ("io.k8s.api.core.v1.ContainerPort", "protocol"): ["SCTP", "TCP", "UDP"],
    ("io.k8s.api.core.v1.ServicePort", "protocol"): ["SCTP", "TCP", "UDP"],
    ("io.k8s.api.core.v1.ServiceSpec", "type"): ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
    ("io.k8s.api.core.v1.ServiceSpec", "sessionAffinity"): ["ClientIP", "None"],
    ("io.k8s.api.core.v1.ServiceSpec", "externalTrafficPolicy"): ["Cluster", "Local"],
    ("io.k8s.api.core.v1.ServiceSpec", "internalTrafficPolicy"): ["Cluster", "Local"],
    ("io.k8s.api.core.v1.ServiceSpec", "ipFamilyPolicy"): ["PreferDualStack", "RequireDualStack", "SingleStack"],
    ("io.k8s.api.core.v1.PodSpec", "restartPolicy"): ["Always", "Never", "OnFailure"],
    ("io.k8s.api.core.v1.PodSpec", "dnsPolicy"): ["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"],
    ("io.k8s.api.core.v1.HTTPGetAction", "scheme"): ["HTTP", "HTTPS"],
    ("io.k8s.api.core.v1.LimitRangeItem", "type"): ["Container", "PersistentVolumeClaim", "Pod"],
    ("io.k8s.api.apps.v1.DeploymentStrategy", "type"): ["Recreate", "RollingUpdate"],
    ("io.k8s.api.batch.v1.CronJobSpec", "concurrencyPolicy"): ["Allow", "Forbid", "Replace"],
    ("io.k8s.api.batch.v1.JobSpec", "completionMode"): ["Indexed", "NonIndexed"],
    ("io.k8s.api.autoscaling.v2.MetricSpec", "type"): ["ContainerResource", "External", "Object", "Pods", "Resource"],
    ("io.k8s.api.autoscaling.v2.HPAScalingRules", "selectPolicy"): ["Disabled", "Max", "Min"],
    ("io.k8s.api.autoscaling.v2.HPAScalingPolicy", "type"): ["Percent", "Pods"],
    ("io.k8s.api.networking.v1.NetworkPolicyPort", "protocol"): ["SCTP", "TCP", "UDP"],
    ("io.k8s.api.networking.v1.HTTPIngressPath", "pathType"): ["Exact", "ImplementationSpecific", "Prefix"],
    ("io.k8s.api.discovery.v1.EndpointSlice", "addressType"): ["FQDN", "IPv4", "IPv6"],
}
LIST_ENUMS = {("io.k8s.api.networking.v1.NetworkPolicySpec", "policyTypes"): ["Egress", "Ingress"]}


def not_supported(path, value, allowed):
    return FieldError("notsupported", path, value,
                      "supported values: " + ", ".join(json.dumps(a) for a in allowed))


def generic_errors(obj, node, path=""):
    """Required fields (the schema's required lists) and the enum table,
    over everything but status."""
    errs = []
    _gen(obj, node, path, errs)
    return errs


def _gen(v, node, path, errs):
    if node is None or v is None:
        return
    if node.kind == "struct" and isinstance(v, dict):
        for r in node.required:
            if r not in v and not node.crd:
                errs.append(FieldError("required", (path + "." if path else "") + r))
        for k, val in v.items():
            if not path and k == "status":
                continue
            p = (path + "." if path else "") + k
            allowed = ENUMS.get((node.defname, k))
            if allowed and isinstance(val, str) and val not in allowed:
                errs.append(not_supported(p, val, allowed))
            allowed = LIST_ENUMS.get((node.defname, k))
            if allowed and isinstance(val, list):
                for i, item in enumerate(val):
                    if item not in allowed:
                        errs.append(not_supported("%s[%d]" % (p, i), item, allowed))
            _gen(val, node.props.get(k), p, errs)
    elif node.kind == "list" and isinstance(v, list):
        for i, item in enumerate(v):
            _gen(item, node.elem, "%s[%d]" % (path, i), errs)
    elif node.kind == "map" and isinstance(v, dict):
        for k, item in v.items():
            _gen(item, node.elem, "%s[%s]" % (path, k), errs)


# ---------------------------------------------------------------- defaults
def _image_pull_policy(image):
    ref = image.split("@")[0]
    last = ref.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else ""
    return "Always" if tag in ("", "latest") and "@" not in image else "IfNotPresent"


def _default_probe(p):
    if not isinstance(p, dict):
        return
    p.setdefault("timeoutSeconds", 1)
    p.setdefault("periodSeconds", 10)
    p.setdefault("successThreshold", 1)
    p.setdefault("failureThreshold", 3)
    if isinstance(p.get("httpGet"), dict):
        p["httpGet"].setdefault("scheme", "HTTP")


def default_container(c):
    if not isinstance(c, dict):
        return
    if isinstance(c.get("image"), str):
        c.setdefault("imagePullPolicy", _image_pull_policy(c["image"]))
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    c.setdefault("resources", {})
    for p in c.get("ports") or []:
        if isinstance(p, dict):
            p.setdefault("protocol", "TCP")
    for e in c.get("env") or []:
        fr = ((e or {}).get("valueFrom") or {}).get("fieldRef")
        if isinstance(fr, dict):
            fr.setdefault("apiVersion", "v1")
    for pr in ("livenessProbe", "readinessProbe", "startupProbe"):
        _default_probe(c.get(pr))


def default_pod_template(t):
    if not isinstance(t, dict):
        return
    t.setdefault("metadata", {})
    spec = t.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        default_container(c)


def apply_defaults(kind, obj):
    """The API server's defaulting functions (SetDefaults_*) for the kinds
    served; in place."""
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else None
    k = kind.kind if not kind.crd else "knative"
    if k == "Namespace":
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    elif k == "Secret":
        obj.setdefault("type", "Opaque")
    elif k == "Deployment" and spec is not None:
        spec.setdefault("replicas", 1)
        st = spec.setdefault("strategy", {})
        st.setdefault("type", "RollingUpdate")
        if st["type"] == "RollingUpdate":
            ru = st.setdefault("rollingUpdate", {})
            ru.setdefault("maxUnavailable", "25%")
            ru.setdefault("maxSurge", "25%")
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        default_pod_template(spec.get("template"))
    elif k == "Service" and spec is not None:
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        for p in spec.get("ports") or []:
            if isinstance(p, dict):
                p.setdefault("protocol", "TCP")
                if "targetPort" not in p and "port" in p:
                    p["targetPort"] = p["port"]
        if spec["type"] != "ExternalName":
            spec.setdefault("ipFamilyPolicy", "SingleStack")
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("internalTrafficPolicy", "Cluster")
        if spec["type"] in ("NodePort", "LoadBalancer"):
            spec.setdefault("externalTrafficPolicy", "Cluster")
        if spec["type"] == "LoadBalancer":
            spec.setdefault("allocateLoadBalancerNodePorts", True)
    elif k == "HorizontalPodAutoscaler" and spec is not None:
        spec.setdefault("minReplicas", 1)
        if not spec.get("metrics"):
            spec["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": {
                "type": "Utilization", "averageUtilization": 80}}}]
        b = spec.get("behavior")
        if isinstance(b, dict):
            up = b.setdefault("scaleUp", {})
            up.setdefault("stabilizationWindowSeconds", 0)
            up.setdefault("selectPolicy", "Max")
            up.setdefault("policies", [{"type": "Pods", "value": 4, "periodSeconds": 15},
                                       {"type": "Percent", "value": 100, "periodSeconds": 15}])
            down = b.setdefault("scaleDown", {})
            down.setdefault("stabilizationWindowSeconds", 300)
            down.setdefault("selectPolicy", "Max")
            down.setdefault("policies", [{"type": "Percent", "value": 100, "periodSeconds": 15}])
    elif k == "Job" and spec is not None:
        _default_job_spec(spec)
    elif k == "CronJob" and spec is not None:
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
        jt = spec.get("jobTemplate")
        if isinstance(jt, dict):
            jt.setdefault("metadata", {})
            if isinstance(jt.get("spec"), dict):
                _default_job_spec(jt["spec"])
    elif k == "NetworkPolicy" and spec is not None:
        if "policyTypes" not in spec:
            spec["policyTypes"] = ["Ingress"] + (["Egress"] if spec.get("egress") else [])
        for rules in (spec.get("ingress") or []) + (spec.get("egress") or []):
            for p in (rules or {}).get("ports") or []:
                if isinstance(p, dict):
                    p.setdefault("protocol", "TCP")
    elif k == "LimitRange" and spec is not None:
        for item in spec.get("limits") or []:
            if isinstance(item, dict) and item.get("type") == "Container":
                if "default" not in item and item.get("max"):
                    item["default"] = dict(item["max"])
                if "defaultRequest" not in item and item.get("default"):
                    item["defaultRequest"] = dict(item["default"])
    elif k == "EndpointSlice":
        for p in obj.get("ports") or []:
            if isinstance(p, dict):
                p.setdefault("protocol", "TCP")
    elif k == "knative" and spec is not None:
        tmpl = spec.setdefault("template", {})
        if isinstance(tmpl, dict):
            tmpl.setdefault("metadata", {})
            ts = tmpl.setdefault("spec", {})
            if isinstance(ts, dict):
                ts.setdefault("containerConcurrency", 0)
                ts.setdefault("timeoutSeconds", 300)
                ts.setdefault("enableServiceLinks", False)
                cs = ts.get("containers") or []
                for i, c in enumerate(cs):
                    if not isinstance(c, dict):
                        continue
                    if len(cs) == 1 or c.get("ports"):
                        c.setdefault("name", "user-container")
                        c.setdefault("readinessProbe", {"successThreshold": 1, "tcpSocket": {"port": 0}})
                    else:
                        c.setdefault("name", "sidecar-%d" % i)
                    c.setdefault("resources", {})
        if not spec.get("traffic"):
            spec["traffic"] = [{"latestRevision": True, "percent": 100}]


def _default_job_spec(spec):
    spec.setdefault("completions", 1)
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    default_pod_template(spec.get("template"))  # restartPolicy Always too, which Job validation refuses


# ---------------------------------------------------------------- kind-specific validation
def _port_range(v, path, errs):
    if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 65535:
        errs.append(FieldError("invalid", path, v, "must be between 1 and 65535, inclusive"))


def _resources(res, path, errs):
    if not isinstance(res, dict):
        return
    lim = res.get("limits") or {}
    req = res.get("requests") or {}
    for name, q in req.items():
        if name in lim:
            try:
                if quantity_value(q) > quantity_value(lim[name]):
                    errs.append(FieldError("invalid", "%s.requests[%s]" % (path, name), q,
                                           "must be less than or equal to %s limit of %s" % (name, lim[name])))
            except QuantityError:
                pass
    for which, m in (("limits", lim), ("requests", req)):
        for name, q in m.items():
            try:
                if quantity_value(q) < 0:
                    errs.append(FieldError("invalid", "%s.%s[%s]" % (path, which, name), q,
                                           "must be greater than or equal to 0"))
            except QuantityError:
                pass


def validate_pod_spec(spec, path, errs, restart_policies=None):
    if not isinstance(spec, dict):
        return
    cs = spec.get("containers")
    if not cs:
        errs.append(FieldError("required", path + ".containers"))
    names = set()
    for group in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(group) or []):
            if not isinstance(c, dict):
                continue
            p = "%s.%s[%d]" % (path, group, i)
            n = c.get("name")
            if n:
                for m in name_errors(n, "label"):
                    errs.append(FieldError("invalid", p + ".name", n, m))
                if n in names:
                    errs.append(FieldError("duplicate", p + ".name", n))
                names.add(n)
            if not c.get("image"):
                errs.append(FieldError("required", p + ".image"))
            pnames = set()
            for j, port in enumerate(c.get("ports") or []):
                pp = "%s.ports[%d]" % (p, j)
                _port_range(port.get("containerPort"), pp + ".containerPort", errs)
                if "hostPort" in port:
                    _port_range(port["hostPort"], pp + ".hostPort", errs)
                if port.get("name"):
                    pn = port["name"]
                    if len(pn) > 15 or not IANA_SVC_NAME.match(pn) or "--" in pn or not re.search("[a-z]", pn):
                        errs.append(FieldError("invalid", pp + ".name", pn,
                                               "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"
                                               if not IANA_SVC_NAME.match(pn) else "must be no more than 15 characters"
                                               if len(pn) > 15 else "must contain at least one letter (a-z)"))
                    if pn in pnames:
                        errs.append(FieldError("duplicate", pp + ".name", pn))
                    pnames.add(pn)
            for j, e in enumerate(c.get("env") or []):
                en = (e or {}).get("name", "")
                if not en:
                    errs.append(FieldError("required", "%s.env[%d].name" % (p, j)))
                elif not ENV_NAME.match(en):
                    errs.append(FieldError("invalid", "%s.env[%d].name" % (p, j), en, MSG_ENV))
                vf = (e or {}).get("valueFrom")
                if isinstance(vf, dict):
                    skr = vf.get("secretKeyRef")
                    if isinstance(skr, dict):
                        if not skr.get("key"):
                            errs.append(FieldError("required", "%s.env[%d].valueFrom.secretKeyRef.key" % (p, j)))
                        if not skr.get("name"):
                            errs.append(FieldError("required", "%s.env[%d].valueFrom.secretKeyRef.name" % (p, j)))
                    if len([x for x in vf if vf[x] is not None]) > 1:
                        errs.append(FieldError("invalid", "%s.env[%d].valueFrom" % (p, j), "",
                                               "may not have more than one field specified at a time"))
            _resources(c.get("resources"), p + ".resources", errs)
    rp = spec.get("restartPolicy")
    if restart_policies and rp is not None and rp not in restart_policies:
        errs.append(not_supported(path + ".restartPolicy", rp, restart_policies))
    san = spec.get("serviceAccountName")
    if san:
        for m in name_errors(san, "subdomain"):
            errs.append(FieldError("invalid", path + ".serviceAccountName", san, m))


def _template_matches(sel, tmpl, path, errs):
    labels = ((tmpl or {}).get("metadata") or {}).get("labels") or {}
    if sel and isinstance(sel, dict) and not selector_matches(sel, labels):
        errs.append(FieldError("invalid", path + ".template.metadata.labels", labels,
                               "`selector` does not match template `labels`"))


def _hpa_target(metric_type, src, path, errs):
    """autoscaling/v2 metric targets as the HPA validation checks them."""
    tgt = src.get("target") if isinstance(src, dict) else None
    p = path + ".target"
    if not isinstance(tgt, dict):
        errs.append(FieldError("required", p, detail="must specify a metric target"))
        return
    t = tgt.get("type")
    if not t:
        errs.append(FieldError("required", p + ".type", detail="must specify a metric target type"))
    elif t not in ("Utilization", "Value", "AverageValue"):
        errs.append(FieldError("invalid", p + ".type", t, "must be either Utilization, Value, or AverageValue"))
    for f in ("value", "averageValue"):
        if f in tgt:
            try:
                if quantity_value(tgt[f]) <= 0:
                    errs.append(FieldError("invalid", "%s.%s" % (p, f), tgt[f], "must be positive"))
            except QuantityError:
                pass
    au = tgt.get("averageUtilization")
    if isinstance(au, int) and au < 1:
        errs.append(FieldError("invalid", p + ".averageUtilization", au, "must be greater than 0"))
    if metric_type in ("Resource", "ContainerResource"):
        if au is None and "averageValue" not in tgt:
            errs.append(FieldError("required", p + ".averageUtilization",
                                   detail="must set either a target raw value or a target utilization"))
        if au is not None and "averageValue" in tgt:
            errs.append(FieldError("forbidden", p + ".averageValue",
                                   detail="may not set both a target raw value and a target utilization"))
    elif metric_type == "Pods":
        if "averageValue" not in tgt:
            errs.append(FieldError("required", p + ".averageValue", detail="must specify a positive target averageValue"))
    elif "value" not in tgt and "averageValue" not in tgt:
        errs.append(FieldError("required", p + ".value", detail="must set either a target value or averageValue"))


CRON_FIELD = re.compile(r"^(\*|\?|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(/[0-9]+)?(,(\*|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(/[0-9]+)?)*$")
CRON_MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}


def kind_errors(kind, obj):
    """The Go validation a deploying client meets first, per kind."""
    errs = []
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    k = kind.kind if not kind.crd else "knative"
    if k == "Deployment":
        sel = spec.get("selector")
        if not sel:
            errs.append(FieldError("required", "spec.selector"))
        else:
            errs += validate_selector(sel, "spec.selector")
            if not (sel.get("matchLabels") or sel.get("matchExpressions")):
                errs.append(FieldError("invalid", "spec.selector", sel, "empty selector is invalid for deployment"))
        tmpl = spec.get("template") or {}
        errs += validate_labels((tmpl.get("metadata") or {}).get("labels"), "spec.template.metadata.labels")
        _template_matches(sel, tmpl, "spec", errs)
        if isinstance(spec.get("replicas"), int) and spec["replicas"] < 0:
            errs.append(FieldError("invalid", "spec.replicas", spec["replicas"], "must be greater than or equal to 0"))
        validate_pod_spec(tmpl.get("spec"), "spec.template.spec", errs, ["Always"])
        pds, mrs = spec.get("progressDeadlineSeconds"), spec.get("minReadySeconds", 0)
        if isinstance(pds, int) and isinstance(mrs, int) and pds <= mrs:
            errs.append(FieldError("invalid", "spec.progressDeadlineSeconds", pds,
                                   "must be greater than minReadySeconds"))
    elif k == "Service":
        typ = spec.get("type", "ClusterIP")
        ports = spec.get("ports") or []
        if typ != "ExternalName" and spec.get("clusterIP") != "None" and not ports:
            errs.append(FieldError("required", "spec.ports"))
        seen = set()
        for i, p in enumerate(ports):
            pp = "spec.ports[%d]" % i
            _port_range(p.get("port"), pp + ".port", errs)
            if len(ports) > 1 and not p.get("name"):
                errs.append(FieldError("required", pp + ".name"))
            tp = p.get("targetPort")
            if isinstance(tp, int):
                _port_range(tp, pp + ".targetPort", errs)
            key = (p.get("port"), p.get("protocol", "TCP"))
            if key in seen:
                errs.append(FieldError("duplicate", pp, {"port": key[0], "protocol": key[1]}))
            seen.add(key)
        errs += validate_labels(spec.get("selector"), "spec.selector")
    elif k == "HorizontalPodAutoscaler":
        ref = spec.get("scaleTargetRef") or {}
        for f in ("kind", "name"):
            if not ref.get(f):
                errs.append(FieldError("required", "spec.scaleTargetRef." + f))
        mn, mx = spec.get("minReplicas", 1), spec.get("maxReplicas")
        if isinstance(mn, int) and mn < 1:
            errs.append(FieldError("invalid", "spec.minReplicas", mn, "must be greater than or equal to 1"))
        if isinstance(mx, int) and isinstance(mn, int) and mx < mn:
            errs.append(FieldError("invalid", "spec.maxReplicas", mx, "must be greater than or equal to `minReplicas`"))
        for i, m in enumerate(spec.get("metrics") or []):
            t = (m or {}).get("type")
            member = {"Resource": "resource", "Pods": "pods", "Object": "object", "External": "external",
                      "ContainerResource": "containerResource"}.get(t)
            if member and not m.get(member):
                errs.append(FieldError("required", "spec.metrics[%d].%s" % (i, member),
                                       detail="must populate information for the given metric source"))
            elif member:
                _hpa_target(t, m[member], "spec.metrics[%d].%s" % (i, member), errs)
    elif k in ("Job", "CronJob"):
        if k == "CronJob":
            sched = spec.get("schedule", "")
            fields = sched.split()
            if not sched:
                errs.append(FieldError("required", "spec.schedule"))
            elif not (sched in CRON_MACROS or sched.startswith("@every ") or
                      (len(fields) == 5 and all(CRON_FIELD.match(f) for f in fields))):
                errs.append(FieldError("invalid", "spec.schedule", sched,
                                       "unparseable cron expression" if len(fields) == 5 else
                                       "expected exactly 5 fields, found %d: %s" % (len(fields), sched)))
            jspec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
            base = "spec.jobTemplate.spec"
        else:
            jspec, base = spec, "spec"
        tmpl = jspec.get("template") or {}
        ps = tmpl.get("spec") or {}
        validate_pod_spec(ps, base + ".template.spec", errs, ["OnFailure", "Never"])
    elif k in ("Secret", "ConfigMap"):
        for field in ("data", "stringData", "binaryData"):
            for key in (obj.get(field) or {}):
                if not CONFIG_KEY.match(key) or len(key) > 253:
                    errs.append(FieldError("invalid", "%s[%s]" % (field, key), key, MSG_CONFIG_KEY))
    elif k == "NetworkPolicy":
        errs += validate_selector(spec.get("podSelector"), "spec.podSelector")
        for d in ("ingress", "egress"):
            for i, rule in enumerate(spec.get(d) or []):
                peers = (rule or {}).get("from" if d == "ingress" else "to") or []
                for j, peer in enumerate(peers):
                    for s in ("podSelector", "namespaceSelector"):
                        if s in (peer or {}):
                            errs += validate_selector(peer[s], "spec.%s[%d].%s[%d].%s" % (
                                d, i, "from" if d == "ingress" else "to", j, s))
    elif k == "Role":
        # pkg/apis/rbac/validation: ValidatePolicyRule for a namespaced rule
        for i, r in enumerate(obj.get("rules") or []):
            p = "rules[%d]" % i
            if not (r or {}).get("verbs"):
                errs.append(FieldError("required", p + ".verbs", detail="verbs must contain at least one value"))
            if (r or {}).get("nonResourceURLs"):
                errs.append(FieldError("invalid", p + ".nonResourceURLs", r["nonResourceURLs"],
                                       "namespaced rules cannot apply to non-resource URLs"))
            elif not (r or {}).get("resources"):
                errs.append(FieldError("required", p + ".resources",
                                       detail="resource rules must supply at least one resource"))
            elif not (r or {}).get("apiGroups"):
                errs.append(FieldError("required", p + ".apiGroups",
                                       detail="resource rules must supply at least one api group"))
    elif k == "RoleBinding":
        # pkg/apis/rbac/validation: ValidateRoleBinding
        ref = obj.get("roleRef") or {}
        if ref.get("apiGroup") != "rbac.authorization.k8s.io":
            errs.append(FieldError("notsupported", "roleRef.apiGroup", ref.get("apiGroup"),
                                   detail='supported values: "rbac.authorization.k8s.io"'))
        if ref.get("kind") not in ("Role", "ClusterRole"):
            errs.append(FieldError("notsupported", "roleRef.kind", ref.get("kind"),
                                   detail='supported values: "Role", "ClusterRole"'))
        if not ref.get("name"):
            errs.append(FieldError("required", "roleRef.name"))
        for i, sub in enumerate(obj.get("subjects") or []):
            p = "subjects[%d]" % i
            if not (sub or {}).get("name"):
                errs.append(FieldError("required", p + ".name"))
            if sub.get("kind") == "ServiceAccount" and sub.get("apiGroup"):
                errs.append(FieldError("notsupported", p + ".apiGroup", sub["apiGroup"], detail='supported values: ""'))
            elif sub.get("kind") not in ("ServiceAccount", "User", "Group"):
                errs.append(FieldError("notsupported", p + ".kind", sub.get("kind"),
                                       detail='supported values: "ServiceAccount", "User", "Group"'))
    elif k == "Ingress":
        for i, rule in enumerate(spec.get("rules") or []):
            for j, p in enumerate(((rule or {}).get("http") or {}).get("paths") or []):
                if not p.get("pathType"):
                    errs.append(FieldError("required", "spec.rules[%d].http.paths[%d].pathType" % (i, j),
                                           detail="pathType must be specified"))
    elif k == "ResourceQuota":
        for which in ("hard",):
            for name, q in ((spec.get(which) or {}).items()):
                for m in qualified_name_errors(name):
                    errs.append(FieldError("invalid", "spec.%s[%s]" % (which, name), name, m))
    return errs


def meta_errors(kind, obj):
    """ValidateObjectMeta: name, labels, annotations, finalizers."""
    errs = []
    meta = obj.get("metadata") or {}
    name = meta.get("name")
    if not name and not meta.get("generateName"):
        errs.append(FieldError("required", "metadata.name", detail="name or generateName is required"))
    elif name:
        for m in name_errors(name, kind.name_rule):
            errs.append(FieldError("invalid", "metadata.name", name, m))
        if kind.max_name and len(name) > kind.max_name:
            errs.append(FieldError("invalid", "metadata.name", name,
                                   "must be no more than %d characters" % kind.max_name))
    errs += validate_labels(meta.get("labels"), "metadata.labels")
    errs += validate_annotations(meta.get("annotations"), "metadata.annotations")
    for i, f in enumerate(meta.get("finalizers") or []):
        for m in qualified_name_errors(f):
            errs.append(FieldError("invalid", "metadata.finalizers[%d]" % i, f, m))
    return errs


# ---------------------------------------------------------------- Knative's admission webhook
KNATIVE_WEBHOOK = "validation.webhook.serving.knative.dev"
KNATIVE_RESERVED_PORTS = {8012, 8013, 8022, 9090, 9091, 8008}
KNATIVE_RESERVED_ENV = {"PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION"}
KNATIVE_PORT_NAMES = {"h2c", "http1", ""}
KNATIVE_MAX_TIMEOUT = 600        # config-defaults max-revision-timeout-seconds
KNATIVE_MAX_CONCURRENCY = 1000   # config-defaults container-concurrency-max-limit


class KError:
    """A knative.dev/pkg/apis.FieldError leaf."""

    def __init__(self, message, paths, details=""):
        self.message, self.paths, self.details = message, paths, details

    def __str__(self):
        s = "%s: %s" % (self.message, ", ".join(self.paths))
        return s + ("\n" + self.details if self.details else "")


def knative_webhook_errors(obj):
    """The rules of knative.dev/serving's validating webhook that a client
    meets first (reserved ports and env names, one serving port, port names,
    image required, concurrency and timeout bounds, scale annotations)."""
    errs = []
    meta = obj.get("metadata") or {}
    name = meta.get("name") or ""
    if name and len(name) > 63:
        errs.append(KError("invalid value: %s" % name, ["metadata.name"], "must be no more than 63 characters"))
    elif name and not DNS1035_LABEL.match(name):
        errs.append(KError("invalid value: not a DNS 1035 label: [%s]" % MSG_DNS1035, ["metadata.name"]))
    spec = obj.get("spec") or {}
    tmpl = spec.get("template") or {}
    ts = tmpl.get("spec") or {}
    base = "spec.template.spec"
    cs = ts.get("containers") or []
    nports = sum(len(c.get("ports") or []) for c in cs if isinstance(c, dict))
    if nports > 1:
        errs.append(KError("more than one container port is set", [base + ".containers[*].ports"],
                           "Only a single port is allowed across all containers"))
    if len(cs) == 0:
        errs.append(KError("missing field(s)", [base + ".containers"]))
    for i, c in enumerate(cs):
        if not isinstance(c, dict):
            continue
        p = "%s.containers[%d]" % (base, i)
        if c.get("name") == "queue-proxy":
            errs.append(KError('"queue-proxy" is a reserved container name', [p + ".name"]))
        for j, e in enumerate(c.get("env") or []):
            en = (e or {}).get("name", "")
            if not en:
                errs.append(KError("missing field(s)", ["%s.env[%d].name" % (p, j)]))
            elif en in KNATIVE_RESERVED_ENV:
                errs.append(KError('"%s" is a reserved environment variable' % en, ["%s.env[%d].name" % (p, j)]))
        if not c.get("image"):
            errs.append(KError("missing field(s)", [p + ".image"]))
        ports = c.get("ports") or []
        if ports:
            port = ports[0]
            cp = port.get("containerPort")
            if cp in KNATIVE_RESERVED_PORTS:
                errs.append(KError("invalid value: %d is a reserved port" % cp, [p + ".ports.containerPort"],
                                   "%d is a reserved port, please use a different value" % cp))
            if isinstance(cp, int) and not 0 <= cp <= 65535:
                errs.append(KError("expected 0 <= %d <= 65535" % cp, [p + ".ports.containerPort"]))
            proto = port.get("protocol", "")
            if proto not in ("", "TCP"):
                errs.append(KError("invalid value: %s" % proto, [p + ".ports.protocol"]))
            if port.get("name", "") not in KNATIVE_PORT_NAMES:
                errs.append(KError("Port name %s is not allowed" % port["name"], [p + ".ports"],
                                   "Name must be empty, or one of: 'h2c', 'http1'"))
    cc = ts.get("containerConcurrency")
    if isinstance(cc, int) and not 0 <= cc <= KNATIVE_MAX_CONCURRENCY:
        errs.append(KError("expected 0 <= %d <= %d" % (cc, KNATIVE_MAX_CONCURRENCY), [base + ".containerConcurrency"]))
    to = ts.get("timeoutSeconds")
    if isinstance(to, int) and not 0 <= to <= KNATIVE_MAX_TIMEOUT:
        errs.append(KError("expected 0 <= %d <= %d" % (to, KNATIVE_MAX_TIMEOUT), [base + ".timeoutSeconds"]))
    ann = ((tmpl.get("metadata") or {}).get("annotations")) or {}
    scale = {}
    for key in ("autoscaling.knative.dev/min-scale", "autoscaling.knative.dev/max-scale",
                "autoscaling.knative.dev/target", "autoscaling.knative.dev/initial-scale"):
        if key in ann:
            v = ann[key]
            try:
                scale[key] = int(v) if key != "autoscaling.knative.dev/target" else float(v)
                if scale[key] < 0 or (key.endswith("target") and scale[key] < 0.01):
                    raise ValueError
            except (TypeError, ValueError):
                errs.append(KError("invalid value: %s" % v, ["spec.template.metadata.annotations.%s" % key]))
    mn, mx = scale.get("autoscaling.knative.dev/min-scale"), scale.get("autoscaling.knative.dev/max-scale")
    if mn is not None and mx is not None and mx != 0 and mn > mx:
        errs.append(KError("min-scale=%d is greater than max-scale=%d" % (mn, mx), [
            "spec.template.metadata.annotations.autoscaling.knative.dev/max-scale",
            "spec.template.metadata.annotations.autoscaling.knative.dev/min-scale"]))
    metric = ann.get("autoscaling.knative.dev/metric")
    if metric is not None and metric not in ("concurrency", "rps", "cpu", "memory"):
        errs.append(KError("invalid value: %s" % metric,
                           ["spec.template.metadata.annotations.autoscaling.knative.dev/metric"]))
    return errs


def knative_denied_message(errs):
    """The webhook's text: knative.dev/pkg merges errors with the same
    message and details (their paths joined and sorted), then sorts them by
    message and details."""
    merged = {}
    for e in errs:
        k = (e.message, e.details)
        if k in merged:
            merged[k].paths = merged[k].paths + [p for p in e.paths if p not in merged[k].paths]
        else:
            merged[k] = KError(e.message, list(e.paths), e.details)
    out = sorted(merged.values(), key=lambda e: (e.message, e.details))
    for e in out:
        e.paths.sort()
    return 'admission webhook "%s" denied the request: validation failed: %s' % (
        KNATIVE_WEBHOOK, "\n".join(str(e) for e in out))

