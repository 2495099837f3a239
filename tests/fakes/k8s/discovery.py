"""Discovery and OpenAPI documents, built from the served kinds and the
reference OpenAPI v2 file.

  /api, /api/v1, /apis, /apis/<g>, /apis/<g>/<v>   legacy discovery (APIVersions,
                                                  APIGroupList, APIGroup, APIResourceList)
  /api, /apis with Accept ...;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList
                                                  aggregated discovery (what kubectl 1.26+ asks for)
  /openapi/v2                                     the swagger (JSON only; the real server also has protobuf)
  /openapi/v3, /openapi/v3/<api|apis/g/v>         OpenAPI v3 per group-version, converted from
                                                  the v2 definitions (kubectl reads these to learn
                                                  that PATCH takes fieldValidation)
"""
import copy
import hashlib
import json

AGG_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
AGG_V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
KNATIVE_DEF = "dev.knative.serving.v1.Service"


def _gv_path(group, version):
    return "api/%s" % version if not group else "apis/%s/%s" % (group, version)


class Discovery:
    def __init__(self, schemas, kinds_fn):
        """kinds_fn() -> the Kind objects served right now (Knative and
        autoscaling/v2 can be switched at run time)."""
        self.schemas = schemas
        self.kinds_fn = kinds_fn
        self._v3_cache = {}

    # -- legacy discovery
    def groups(self):
        """[(group, version, [kinds])] in the API server's order."""
        out = []
        for k in self.kinds_fn():
            for g in out:
                if g[0] == k.group and g[1] == k.version:
                    g[2].append(k)
                    break
            else:
                out.append((k.group, k.version, [k]))
        return out

    def api_versions(self, server_address):
        return {"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}

    def _group_entry(self, group):
        vs = [{"groupVersion": "%s/%s" % (g, v), "version": v} for g, v, _ in self.groups() if g == group]
        return {"name": group, "versions": vs, "preferredVersion": vs[0]}

    def api_group_list(self):
        names = []
        for g, _v, _k in self.groups():
            if g and g not in names:
                names.append(g)
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [self._group_entry(g) for g in names]}

    def api_group(self, group):
        if not any(g == group for g, _, _ in self.groups()):
            return None
        d = self._group_entry(group)
        d.update({"kind": "APIGroup", "apiVersion": "v1"})
        return d

    def resource_list(self, group, version):
        for g, v, kinds in self.groups():
            if g == group and v == version:
                res = []
                for k in kinds:
                    res.extend(k.api_resources())
                return {"kind": "APIResourceList", "apiVersion": "v1",
                        "groupVersion": "%s/%s" % (g, v) if g else v, "resources": res}
        return None

    # -- aggregated discovery (apidiscovery.k8s.io/v2)
    def aggregated(self, core, beta=False):
        items = []
        for g, v, kinds in self.groups():
            if (g == "") != core:
                continue
            resources = []
            for k in kinds:
                r = {"resource": k.plural, "responseKind": {"group": k.group, "version": k.version, "kind": k.kind},
                     "scope": "Namespaced" if k.namespaced else "Cluster", "singularResource": k.singular,
                     "verbs": k.verbs}
                if k.short:
                    r["shortNames"] = k.short
                if k.categories:
                    r["categories"] = k.categories
                subs = []
                if k.status:
                    subs.append({"subresource": "status", "responseKind": {"group": k.group, "version": k.version,
                                                                          "kind": k.kind},
                                 "verbs": ["get", "patch", "update"]})
                for sub, (kind, sg, sv, verbs) in k.extra_sub.items():
                    subs.append({"subresource": sub, "responseKind": {"group": sg if sg is not None else k.group,
                                                                     "version": sv or k.version, "kind": kind},
                                 "verbs": verbs})
                if subs:
                    r["subresources"] = sorted(subs, key=lambda s: s["subresource"])
                resources.append(r)
            ver = {"version": v, "resources": sorted(resources, key=lambda r: r["resource"]), "freshness": "Current"}
            for item in items:
                if item["metadata"].get("name", "") == g:
                    item["versions"].append(ver)
                    break
            else:
                meta = {"creationTimestamp": None}
                if g:
                    meta["name"] = g
                items.append({"metadata": meta, "versions": [ver]})
        return {"kind": "APIGroupDiscoveryList",
                "apiVersion": "apidiscovery.k8s.io/v2beta1" if beta else "apidiscovery.k8s.io/v2",
                "metadata": {}, "items": items}

    # -- OpenAPI v2
    def openapi_v2(self, knative):
        doc = copy.deepcopy(self.schemas.swagger)
        if knative:
            doc["definitions"][KNATIVE_DEF] = self._knative_schema_v2()
        return doc

    def _knative_schema_v2(self):
        s = copy.deepcopy(self.schemas.knative_schema)
        s.setdefault("properties", {})["metadata"] = {"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
        s["x-kubernetes-group-version-kind"] = [{"group": "serving.knative.dev", "kind": "Service", "version": "v1"}]
        return s

    # -- OpenAPI v3
    def v3_index(self):
        paths = {}
        for key in self._v3_keys():
            paths[key] = {"serverRelativeURL": "/openapi/v3/%s?hash=%s" % (key, self._hash(self.v3_doc(key)))}
        return {"paths": paths}

    def _v3_keys(self):
        keys = []
        for g, v, _ in self.groups():
            keys.append(_gv_path(g, v))
        return keys

    @staticmethod
    def _hash(doc):
        return hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest().upper()[:128]

    def v3_doc(self, key):
        """The OpenAPI v3 document of one group-version ("api/v1",
        "apis/apps/v1"), or None."""
        served = {_gv_path(g, v): (g, v, kinds) for g, v, kinds in self.groups()}
        if key not in served:
            return None
        g, v, kinds = served[key]
        cache_key = (key, tuple(k.kind for k in kinds))
        if cache_key in self._v3_cache:
            return self._v3_cache[cache_key]
        swagger = self.schemas.swagger
        prefix = "/" + key + "/"
        paths = {}
        for p, item in swagger["paths"].items():
            if p == prefix or (p.startswith(prefix) and self._path_served(p, prefix, kinds)):
                paths[p] = self._v3_path(item)
        defs = {}
        if any(k.crd for k in kinds):
            for k in kinds:
                if k.crd:
                    paths.update(self._crd_paths(k))
            defs[KNATIVE_DEF] = self._knative_schema_v2()
            defs[KNATIVE_DEF + "List"] = {
                "type": "object", "required": ["items"],
                "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                               "items": {"type": "array", "items": {"$ref": "#/definitions/" + KNATIVE_DEF}},
                               "metadata": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"}},
                "x-kubernetes-group-version-kind": [{"group": g, "kind": "ServiceList", "version": v}]}
        # every definition the paths reach
        todo = list(self._refs(paths)) + list(self._refs(defs))
        while todo:
            name = todo.pop()
            if name in defs:
                continue
            d = swagger["definitions"].get(name)
            if d is None:
                continue
            defs[name] = d
            todo.extend(self._refs(d))
        schemas = {n: self._v3_refs(copy.deepcopy(d)) for n, d in sorted(defs.items())}
        doc = {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.36.0"},
               "paths": paths, "components": {"schemas": schemas, "securitySchemes": {
                   "BearerToken": {"type": "apiKey", "description": "Bearer Token authentication",
                                   "name": "authorization", "in": "header"}}}}
        self._v3_cache[cache_key] = doc
        return doc

    @staticmethod
    def _path_served(path, prefix, kinds):
        rest = path[len(prefix):].split("/")
        plural = rest[2] if rest[0] == "namespaces" and len(rest) > 2 else rest[0]
        return any(k.plural == plural for k in kinds)

    def _refs(self, node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "$ref" and isinstance(v, str):
                    yield v.split("/")[-1]
                else:
                    yield from self._refs(v)
        elif isinstance(node, list):
            for v in node:
                yield from self._refs(v)

    def _v3_refs(self, node):
        if isinstance(node, dict):
            out = {}
            for k, v in node.items():
                if k == "$ref" and isinstance(v, str) and v.startswith("#/definitions/"):
                    out[k] = "#/components/schemas/" + v.split("/")[-1]
                else:
                    out[k] = self._v3_refs(v)
            return out
        if isinstance(node, list):
            return [self._v3_refs(v) for v in node]
        return node

    def _v3_param(self, p):
        if "$ref" in p:
            p = self.schemas.swagger["parameters"][p["$ref"].split("/")[-1]]
        p = copy.deepcopy(p)
        if p.get("in") == "body":
            return None, p
        out = {k: p[k] for k in ("name", "in", "description", "required") if k in p}
        schema = {k: p[k] for k in ("type", "format", "uniqueItems") if k in p}
        out["schema"] = schema
        return out, None

    def _v3_path(self, item):
        out = {}
        for key, op in item.items():
            if key == "parameters":
                out["parameters"] = [x for x in (self._v3_param(p)[0] for p in op) if x]
                continue
            o = {k: copy.deepcopy(v) for k, v in op.items()
                 if k not in ("parameters", "consumes", "produces", "responses", "schemes")}
            params, body = [], None
            for p in op.get("parameters", []):
                q, b = self._v3_param(p)
                if q:
                    params.append(q)
                if b:
                    body = b
            if params:
                o["parameters"] = params
            if body:
                o["requestBody"] = {"content": {ct: {"schema": self._v3_refs(body["schema"])}
                                                for ct in op.get("consumes", ["*/*"])},
                                    "required": bool(body.get("required"))}
            resp = {}
            for code, r in op.get("responses", {}).items():
                rr = {"description": r.get("description", "")}
                if "schema" in r:
                    rr["content"] = {ct: {"schema": self._v3_refs(r["schema"])} for ct in op.get("produces", [])}
                resp[code] = rr
            o["responses"] = resp
            out[key] = o
        return out

    def _crd_paths(self, k):
        """Paths of a custom resource, shaped like the API server's for CRDs
        (taken from the Deployment paths with the kind swapped)."""
        swagger = self.schemas.swagger
        src = "/apis/apps/v1/namespaces/{namespace}/deployments"
        text = json.dumps({"c": swagger["paths"][src], "i": swagger["paths"][src + "/{name}"],
                           "s": swagger["paths"][src + "/{name}/status"]})
        text = text.replace("io.k8s.api.apps.v1.DeploymentList", KNATIVE_DEF + "List")
        text = text.replace("io.k8s.api.apps.v1.Deployment", KNATIVE_DEF)
        text = text.replace('"group": "apps"', '"group": "%s"' % k.group)
        text = text.replace("AppsV1", "ServingKnativeDevV1").replace("apps_v1", "servingKnativeDev_v1")
        text = text.replace("Deployment", "Service").replace("deployments", k.plural)
        d = json.loads(text)
        base = "/apis/%s/%s/namespaces/{namespace}/%s" % (k.group, k.version, k.plural)
        return {base: self._v3_path(d["c"]), base + "/{name}": self._v3_path(d["i"]),
                base + "/{name}/status": self._v3_path(d["s"])}


def negotiate(accept, choices):
    """The first media type in the Accept header that is one of choices
    (application/json also matches */* and application/*)."""
    for part in (accept or "application/json").split(","):
        mt = part.strip()
        params = [x.strip() for x in mt.split(";")]
        base = params[0].lower()
        extra = ";".join(x for x in params[1:] if not x.startswith("q="))
        full = base + (";" + extra if extra else "")
        for c in choices:
            if full.replace(" ", "") == c:
                return c
            if not extra and base in ("*/*", "application/*", "application/json") and c == "application/json":
                return c
    return None
