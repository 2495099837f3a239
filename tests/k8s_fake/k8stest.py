"""Helpers for the tests of tests/fakes/fake_k8s.py: start the fake with a
fresh test PKI, talk to it over HTTPS with a client certificate or a token,
run kubectl against it.

Tests exit 0 when all checks pass, 1 on a failure, 77 (skip) when a tool
they need is missing.
"""
import atexit
import http.client
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("top_srcdir") or os.path.dirname(os.path.dirname(HERE))
FAKE = os.path.join(SRCDIR, "tests", "fakes", "fake_k8s.py")
PY = os.environ.get("PYTHON", "/usr/bin/python3")
sys.path.insert(0, os.path.join(SRCDIR, "tests", "fakes"))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))

from harness import FakeProcess  # noqa: E402
from k8s import certs  # noqa: E402

FAILS = []
CHECKS = [0]


def check(cond, what, detail=""):
    CHECKS[0] += 1
    if cond:
        print("ok   %s" % what)
    else:
        print("FAIL %s%s" % (what, ("\n     " + str(detail).replace("\n", "\n     ")) if detail else ""))
        FAILS.append(what)
    return cond


def done():
    print("%d checks, %d failed" % (CHECKS[0], len(FAILS)))
    sys.exit(1 if FAILS else 0)


def skip(msg):
    print("SKIP: " + msg)
    sys.exit(77)


_tmp = tempfile.mkdtemp(prefix="k8sfake.")
atexit.register(shutil.rmtree, _tmp, True)


def tmpdir():
    return _tmp


_pki = None


def pki():
    """One test PKI per test script (openssl; a second or so)."""
    global _pki
    if _pki is None:
        _pki = certs.make_pki(os.path.join(_tmp, "pki"))
    return _pki


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.raw = status, headers, body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def header(self, name):
        return self.headers.get(name.lower())

    @property
    def message(self):
        return (self.json or {}).get("message", "")

    @property
    def reason(self):
        return (self.json or {}).get("reason")

    def __repr__(self):
        return "<%d %s>" % (self.status, self.raw[:300])


class Fake(FakeProcess):
    """A running fake_k8s.py."""

    def __init__(self, *args):
        self.pki = pki()
        self.port_file = os.path.join(_tmp, "port.%d" % os.getpid())
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        self.port = self.start(FAKE, "--pki", self.pki, "--port-file", self.port_file, *args, stderr=sys.stderr)
        self.url = "https://127.0.0.1:%d" % self.port
        atexit.register(self.close)

    def close(self):
        self.stop(timeout=5)

    # -- HTTPS
    def context(self, user="admin", ca=None):
        ctx = ssl.create_default_context(cafile=ca or os.path.join(self.pki, "ca.crt"))
        if user:
            ctx.load_cert_chain(os.path.join(self.pki, user + ".crt"), os.path.join(self.pki, user + ".key"))
        return ctx

    def request(self, method, path, body=None, ctype=None, user="admin", token=None, query=None, headers=None,
                accept="application/json", timeout=30):
        ctx = self.context(None if token is not None else user)
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=timeout)
        if query:
            path += "?" + urllib.parse.urlencode(query)
        h = {"Accept": accept}
        if body is not None and not isinstance(body, (str, bytes)):
            body = json.dumps(body)
            ctype = ctype or "application/json"
        if ctype:
            h["Content-Type"] = ctype
        if token is not None:
            h["Authorization"] = "Bearer " + token
        h.update(headers or {})
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read().decode("utf-8", "replace")
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body, **kw):
        return self.request("PUT", path, body, **kw)

    def delete(self, path, body=None, **kw):
        return self.request("DELETE", path, body, **kw)

    def apply(self, path, obj, manager="test", force=False, dry=False, **kw):
        q = {"fieldManager": manager} if manager else {}
        if force:
            q["force"] = "true"
        if dry:
            q["dryRun"] = "All"
        q.update(kw.pop("query", {}))
        return self.request("PATCH", path, json.dumps(obj), ctype="application/apply-patch+yaml", query=q, **kw)

    def ctl(self, method, what, body=None):
        """The control API (no credentials needed)."""
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context(None), timeout=30)
        try:
            conn.request(method, "/__fake/" + what, body=json.dumps(body) if body is not None else None,
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            data = json.loads(r.read() or b"null")
            if r.status != 200:
                raise RuntimeError("control %s %s: %s %s" % (method, what, r.status, data))
            return data
        finally:
            conn.close()

    def log(self, since=0):
        return self.ctl("GET", "log?since=%d" % since)

    def last_seq(self):
        log = self.log()
        return log[-1]["seq"] if log else 0

    def objects(self):
        return self.ctl("GET", "state")["objects"]

    def wait_for(self, path, pred, timeout=10, **kw):
        """Poll a GET until pred(json) holds; returns the last response."""
        end = time.time() + timeout
        while True:
            r = self.get(path, **kw)
            if r.status == 200 and pred(r.json):
                return r
            if time.time() > end:
                return r
            time.sleep(0.05)

    def wait_gone(self, path, timeout=10, **kw):
        """Poll a GET until it answers 404; returns the last response."""
        end = time.time() + timeout
        while True:
            r = self.get(path, **kw)
            if r.status == 404 or time.time() > end:
                return r
            time.sleep(0.05)

    def kubeconfig(self, name, user="admin", token=None, ca=None, exec_cfg=None, embed=False):
        path = os.path.join(_tmp, name)
        cert = key = None
        if user and token is None and exec_cfg is None:
            cert, key = os.path.join(self.pki, user + ".crt"), os.path.join(self.pki, user + ".key")
        return certs.kubeconfig(path, self.url, ca or os.path.join(self.pki, "ca.crt"), user=user or "u",
                                cert=cert, key=key, token=token, exec_cfg=exec_cfg, embed=embed)


def ns_obj(name, labels=None):
    o = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    if labels:
        o["metadata"]["labels"] = labels
    return o


def deployment(name, replicas=1, image="nginx:1.27", port=8080, labels=None, extra_spec=None):
    lbl = labels or {"app": name}
    d = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": dict(lbl)},
         "spec": {"replicas": replicas, "selector": {"matchLabels": dict(lbl)},
                  "template": {"metadata": {"labels": dict(lbl)},
                               "spec": {"containers": [{"name": name, "image": image,
                                                        "ports": [{"containerPort": port}]}]}}}}
    d["spec"].update(extra_spec or {})
    return d


def service(name, port=80, target=8080, selector=None):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": selector or {"app": name}, "ports": [{"port": port, "targetPort": target}]}}


def hpa(name, mn=1, mx=5):
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": name},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                     "minReplicas": mn, "maxReplicas": mx,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                         "type": "Utilization", "averageUtilization": 70}}}]}}


def ksvc(name, port=8080, env=None, image="ghcr.io/example/fn:1"):
    c = {"image": image, "ports": [{"containerPort": port}]}
    if env:
        c["env"] = env
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"template": {"metadata": {"annotations": {"autoscaling.knative.dev/min-scale": "0"}},
                                  "spec": {"containers": [c]}}}}


KUBECTL = shutil.which("kubectl")


def kubectl_version():
    """(major, minor) of the kubectl client, or None."""
    if not KUBECTL:
        return None
    p = subprocess.run([KUBECTL, "version", "--client", "-o", "json"], capture_output=True, text=True)
    try:
        v = json.loads(p.stdout)["clientVersion"]
        return int(v["major"]), int(re.match(r"\d+", v["minor"]).group(0))
    except (ValueError, KeyError, AttributeError):
        p = subprocess.run([KUBECTL, "version", "--client", "--short"], capture_output=True, text=True)
        m = re.search(r"v(\d+)\.(\d+)", p.stdout)
        return (int(m.group(1)), int(m.group(2))) if m else None


def kubectl(kubeconfig, *args, stdin=None, cache=None, timeout=60):
    """Run kubectl with its own discovery cache (a fresh one unless given):
    -> (exit code, stdout, stderr)."""
    cache = cache or tempfile.mkdtemp(dir=_tmp, prefix="kcache.")
    env = dict(os.environ, KUBECONFIG=kubeconfig, HOME=_tmp)
    env.pop("KUBERNETES_SERVICE_HOST", None)
    p = subprocess.run([KUBECTL, "--cache-dir", cache, "--request-timeout", "20s"] + list(args),
                       input=stdin, capture_output=True, text=True, env=env, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


# ---- independent shape checks: python3-jsonschema over the reference OpenAPI
_validators = {}


def _close(node):
    """additionalProperties:false on every object schema with properties, so
    a field the fake invents fails (as k8s_schema.py does for renders)."""
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node \
                and not node.get("x-kubernetes-preserve-unknown-fields"):
            node["additionalProperties"] = False
        for v in node.values():
            _close(v)
    elif isinstance(node, list):
        for v in node:
            _close(v)


def schema_errors(obj, defname):
    """Problems of obj against a definition of tests/reference/kubernetes/
    k8s-swagger.json (IntOrString as integer-or-string, Quantity as its
    grammar, unknown fields refused), by python3-jsonschema."""
    import copy
    import jsonschema
    if "defs" not in _validators:
        with open(os.path.join(SRCDIR, "tests", "reference", "kubernetes", "k8s-swagger.json")) as f:
            defs = copy.deepcopy(json.load(f)["definitions"])
        defs["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] = {"oneOf": [{"type": "integer"}, {"type": "string"}]}
        defs["io.k8s.apimachinery.pkg.api.resource.Quantity"] = {
            "type": "string", "pattern": r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|n|u|[eE][+-]?[0-9]+)?$"}
        _close(defs)
        _validators["defs"] = defs
    schema = {"$ref": "#/definitions/" + defname, "definitions": _validators["defs"]}
    v = jsonschema.Draft4Validator(schema)
    return ["/".join(str(p) for p in e.absolute_path) + ": " + e.message for e in v.iter_errors(obj)]
