#!/usr/bin/python3
"""The fake's refusals, data-driven (validation_cases.yaml): each request's
status code, reason, message and causes as kube-apiserver 1.36 and Knative's
webhook answer them; accepted objects read back in the server's form. Every
answer's shape is also checked with python3-jsonschema against the
reference OpenAPI (meta/v1 Status for refusals, the kind's definition for
objects), so the fake cannot invent fields."""
import copy
import json
import os
import re

import yaml

from k8stest import Fake, check, done, ns_obj, schema_errors

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "validation_cases.yaml")) as f:
    DATA = yaml.safe_load(f)

PATHS = {  # kind -> (API prefix, resource)
    ("apps/v1", "Deployment"): ("/apis/apps/v1", "deployments"),
    ("v1", "Service"): ("/api/v1", "services"),
    ("v1", "ConfigMap"): ("/api/v1", "configmaps"),
    ("v1", "Secret"): ("/api/v1", "secrets"),
    ("v1", "ResourceQuota"): ("/api/v1", "resourcequotas"),
    ("v1", "Namespace"): ("/api/v1", "namespaces"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"): ("/apis/autoscaling/v2", "horizontalpodautoscalers"),
    ("batch/v1", "CronJob"): ("/apis/batch/v1", "cronjobs"),
    ("serving.knative.dev/v1", "Service"): ("/apis/serving.knative.dev/v1", "services"),
}
RESOURCES = {"deployments": ("apps/v1", "Deployment"), "ksvc": ("serving.knative.dev/v1", "Service")}
DEFS = {"Deployment": "io.k8s.api.apps.v1.Deployment", "Service": "io.k8s.api.core.v1.Service",
        "HorizontalPodAutoscaler": "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler",
        "CronJob": "io.k8s.api.batch.v1.CronJob"}


def split(path):
    """a.b\\.c.0 -> ["a", "b.c", 0]"""
    parts = re.split(r"(?<!\\)\.", path)
    return [int(p) if p.isdigit() else p.replace("\\.", ".") for p in parts]


def set_path(obj, path, value):
    parts = split(path)
    cur = obj
    for p in parts[:-1]:
        cur = cur[p]
    cur[parts[-1]] = value


def del_path(obj, path):
    parts = split(path)
    cur = obj
    for p in parts[:-1]:
        cur = cur[p]
    del cur[parts[-1]]


def get_path(obj, path):
    cur = obj
    for p in split(path):
        if isinstance(cur, dict) and p in cur:
            cur = cur[p]
        elif isinstance(cur, list) and isinstance(p, int) and p < len(cur):
            cur = cur[p]
        else:
            return KeyError
    return cur


def subst(v, each):
    if each is None:
        return v
    if isinstance(v, str):
        if v == "$each":
            return each
        return v.replace("$each", str(each))
    if isinstance(v, dict):
        return {subst(k, each): subst(x, each) for k, x in v.items()}
    if isinstance(v, list):
        return [subst(x, each) for x in v]
    return v


def build(body):
    if "base" not in body:
        return copy.deepcopy(body)
    obj = copy.deepcopy(DATA["bases"][body["base"]])
    for p, v in (body.get("set") or {}).items():
        set_path(obj, p, v)
    for p in body.get("del") or []:
        del_path(obj, p)
    return obj


fake = Fake("--knative")
NS = DATA["namespace"]
r = fake.post("/api/v1/namespaces", ns_obj(NS))
assert r.status == 201, r

for case in DATA["cases"]:
    eaches = case.get("each") or [None]
    for each in eaches:
        c = subst(copy.deepcopy(case), each)
        name = c["name"] + ("" if each is None else " (%s)" % each)
        ns = c.get("namespace", NS)
        verb = c["verb"]
        obj = build(c["body"]) if "body" in c else None
        if obj is not None and "resource" not in c:
            av, kind = obj.get("apiVersion"), obj.get("kind")
        else:
            av, kind = RESOURCES[c.get("resource", "deployments")]
        prefix, plural = PATHS[(av, kind)]
        coll = "%s/namespaces/%s/%s" % (prefix, ns, plural) if plural != "namespaces" else prefix + "/namespaces"
        text = c.get("raw") if "raw" in c else json.dumps(obj)
        query = dict(c.get("query") or {})
        objname = c.get("name") if verb in ("merge", "strategic") else (obj or {}).get("metadata", {}).get("name")
        if verb == "create":
            resp = fake.request("POST", coll, text, ctype="application/json", query=query)
        elif verb == "apply":
            manager = c.get("manager", "validation")
            if manager:
                query["fieldManager"] = manager
            resp = fake.request("PATCH", "%s/%s" % (coll, objname), text, ctype="application/apply-patch+yaml",
                                query=query)
        else:
            ctype = {"merge": "application/merge-patch+json", "strategic": "application/strategic-merge-patch+json"}[verb]
            resp = fake.request("PATCH", "%s/%s" % (coll, c["name"]), text, ctype=ctype, query=query)
        exp = c["expect"]
        ok = resp.status == exp["status"]
        detail = repr(resp)
        if "reason" in exp:
            ok = ok and resp.reason == exp["reason"]
        if "message" in exp:
            ok = ok and resp.message == exp["message"]
            detail = "want: %s\ngot:  %s" % (exp["message"], resp.message)
        for s in exp.get("contains") or []:
            ok = ok and s in resp.message
            if s not in resp.message:
                detail = "want substring: %s\ngot: %s" % (s, resp.message)
        if "causes" in exp:
            got = [[x.get("field"), x.get("reason")] for x in (resp.json.get("details") or {}).get("causes", [])]
            ok = ok and all(cz in got for cz in exp["causes"])
            detail += "\ncauses: %s" % got
        if "details" in exp:
            d = resp.json.get("details") or {}
            ok = ok and all(d.get(k) == v for k, v in exp["details"].items())
            detail += "\ndetails: %s" % d
        if "warning" in exp:
            ok = ok and exp["warning"] in (resp.header("Warning") or "")
            detail += "\nWarning: %s" % resp.header("Warning")
        if exp.get("no_warning"):
            ok = ok and not resp.header("Warning")
        if resp.status < 300:
            stored = fake.get("%s/%s" % (coll, objname) if plural != "namespaces" else coll + "/" + objname).json
            for p, v in (exp.get("stored") or {}).items():
                got = get_path(stored, p)
                ok = ok and got == v
                if got != v:
                    detail += "\nstored %s: %r, want %r" % (p, got, v)
            for p in exp.get("absent") or []:
                ok = ok and get_path(stored, p) is KeyError
            if exp.get("schema"):
                errs = schema_errors(stored, exp["schema"])
                ok = ok and not errs
                detail += "\nschema: %s" % errs[:3]
        else:
            errs = schema_errors(resp.json, "io.k8s.apimachinery.pkg.apis.meta.v1.Status")
            ok = ok and not errs and resp.json.get("kind") == "Status" and resp.json.get("status") == "Failure" \
                and resp.json.get("code") == resp.status
            if errs:
                detail += "\nStatus schema: %s" % errs[:3]
            # a refused write leaves nothing behind
            if verb == "create" and objname and exp["status"] != 409:
                left = fake.get("%s/%s" % (coll, objname))
                ok = ok and left.status == 404
                if left.status != 404:
                    detail += "\nthe refused object was stored"
        check(ok, "%s -> %s" % (name, exp["status"]), detail)

done()
