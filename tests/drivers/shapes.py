#!/usr/bin/python3
"""The JSON documents that cross the driver ABI have the shapes
docs/driver-abi.md gives them, written down as one JSON Schema per verb
document in schemas/driver/ and checked with python3-jsonschema (which we
did not write):

1. What the real broker sends. tests/drivers/behave.so records every input
   it gets (BEHAVE_RECORD) while `fedbroker` runs plan, render, apply
   --dry-run, apply, apply again, status, discover and destroy against a
   small HTTP fake of its API; every recorded input matches
   <verb>.input.schema.json (configure's has only "settings"; validate's
   has "mode"), and every verb the broker has was seen.
2. What the drivers answer. The example driver's offers, validate,
   render, usage, apply, observe, destroy and discover over real HTTP
   against tests/fakes/example_cloud.py, and the offers, render and usage of
   every in-tree driver (aws, gcp, k8s, quantum) for the example specs,
   through tests/gcpk8s/drvcall; every output matches
   <verb>.output.schema.json.

Environment (tests/local.mk): FEDBROKER, top_srcdir, top_builddir,
FEDBROKER_DRIVER_PATH, TESTDRV_DIR."""
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import warnings

import jsonschema

# RefResolver is what Debian 12's python3-jsonschema (4.10) has; newer
# releases warn that it is deprecated.
warnings.filterwarnings("ignore", category=DeprecationWarning)

TOP = os.environ.get("top_srcdir") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("top_builddir") or os.path.join(TOP, "build")
FEDBROKER = os.environ.get("FEDBROKER") or os.path.join(BUILD, "fedbroker")
DRIVERS = os.environ.get("FEDBROKER_DRIVER_PATH") or os.path.join(BUILD, "stage", "drivers")
TESTDRV = os.environ.get("TESTDRV_DIR") or os.path.join(BUILD, "tests", "drivers", ".libs")
DRVCALL = os.path.join(BUILD, "tests", "gcpk8s", "drvcall")
SCHEMAS = os.path.join(TOP, "schemas", "driver")
EX = os.path.join(TOP, "examples")

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Checker  # noqa: E402

ck = Checker("shapes")
ok = ck.ok


# ---- the schemas ---------------------------------------------------------------

STORE = {}
for f in sorted(os.listdir(SCHEMAS)):
    with open(os.path.join(SCHEMAS, f)) as fh:
        s = json.load(fh)
    jsonschema.Draft7Validator.check_schema(s)
    STORE[s["$id"]] = s
    STORE[f] = s
ok(len(STORE) >= 2 * 15, "%d schemas under schemas/driver are valid draft-07" % (len(STORE) // 2))


def validator(doc):
    s = STORE[doc + ".schema.json"]
    resolver = jsonschema.RefResolver(base_uri=s["$id"], referrer=s, store=STORE)
    return jsonschema.Draft7Validator(s, resolver=resolver)


def problems(doc, value):
    return ["%s: %s" % ("/" + "/".join(str(p) for p in e.absolute_path), e.message)
            for e in validator(doc).iter_errors(value)]


def check_doc(doc, value, who):
    p = problems(doc, value)
    return ok(not p, "%s: %s matches schemas/driver/%s.schema.json" % (who, doc, doc), p[:5])


# ---- 1. what the broker sends -------------------------------------------------------

class Api(http.server.BaseHTTPRequestHandler):
    """behave's API: PUT/GET/DELETE /apps/NAME, GET /apps."""
    apps = {}

    def log_message(self, *a):
        pass

    def answer(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        name = self.path.rsplit("/", 1)[-1]
        Api.apps[name] = {"name": name}
        self.answer(201, Api.apps[name])

    def do_GET(self):
        if self.path == "/apps":
            return self.answer(200, {"apps": list(Api.apps.values())})
        name = self.path.rsplit("/", 1)[-1]
        if name in Api.apps:
            return self.answer(200, Api.apps[name])
        self.answer(404, {"message": "not found"})

    def do_DELETE(self):
        name = self.path.rsplit("/", 1)[-1]
        self.answer(204 if Api.apps.pop(name, None) else 404, {})


tmp = tempfile.mkdtemp(prefix="fb-shapes-")
os.chmod(tmp, 0o755)
try:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    drv = os.path.join(tmp, "drv")
    home = os.path.join(tmp, "home")
    os.mkdir(drv)
    os.mkdir(home)
    os.chmod(drv, 0o755)
    os.chmod(home, 0o700)
    shutil.copy(os.path.join(TESTDRV, "behave.so"), drv)
    os.chmod(os.path.join(drv, "behave.so"), 0o755)
    with open(os.path.join(home, "config.json"), "w") as f:
        json.dump({"drivers": {"behave": {"endpoint": "http://127.0.0.1:%d" % srv.server_address[1]}}}, f)
    rec = os.path.join(tmp, "calls.jsonl")
    env = dict(os.environ, FEDBROKER_HOME=home, FEDBROKER_DRIVER_PATH=drv, BEHAVE_RECORD=rec)
    env.pop("FEDBROKER_CONFIG", None)
    fn = os.path.join(EX, "function.yaml")
    runs = [["plan", fn], ["render", fn, "--target", "behave:r1"], ["apply", "--dry-run", "--target", "behave", fn],
            ["apply", "--target", "behave", fn], ["apply", "--target", "behave", fn], ["status"], ["discover"],
            ["destroy", "--all"]]
    for args in runs:
        p = subprocess.run([FEDBROKER] + args, capture_output=True, text=True, env=env, timeout=120)
        # plan may find the local price rows' region without a latency estimate: any exit but a crash
        ok(p.returncode in (0, 3, 4) if args[0] in ("plan", "status") else p.returncode == 0,
           "fedbroker %s with behave.so (exit %d)" % (" ".join(args[:2]), p.returncode), p.stderr[-1500:])
    calls = [json.loads(l) for l in open(rec)]
    seen = set(c["verb"] for c in calls)
    for verb in sorted(seen - {"offers"}):
        ins = [c["input"] for c in calls if c["verb"] == verb]
        bad = [p for i in ins for p in problems(verb + ".input", i)]
        ok(not bad, "broker -> behave: %d %s input(s) match schemas/driver/%s.input.schema.json"
           % (len(ins), verb, verb), bad[:5])
    modes = sorted({c["input"].get("mode") for c in calls if c["verb"] == "validate"})
    ok(modes == ["apply", "dry-run", "plan", "render"], "validate saw every mode: %s" % modes)
    want = {"configure", "offers", "validate", "render", "usage", "apply", "observe", "destroy", "discover"}
    ok(want <= seen, "the broker called every verb (%s)" % ", ".join(sorted(seen)), sorted(want - seen))
    second = [c for c in calls if c["verb"] == "apply" and c["input"].get("mode") == "apply"]
    ok(len(second) == 2 and second[1]["input"].get("deployment") and not second[0]["input"].get("deployment"),
       "apply gets the previous deployment on the second run, none on the first")
    for c in calls:
        if c.get("output") is not None and c["verb"] != "configure":
            check_doc(c["verb"] + ".output", c["output"], "behave %s" % c["verb"])
finally:
    srv.shutdown()

# ---- 2. what the drivers answer -----------------------------------------------------


def drvcall(driver_so, settings, calls):
    batch = {"driver": driver_so, "settings": settings, "calls": [{"verb": v, "input": i} for v, i in calls]}
    p = subprocess.run([DRVCALL], input=json.dumps(batch), capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise SystemExit("drvcall failed: " + p.stderr)
    return json.loads(p.stdout)


def workloads(*files):
    p = subprocess.run([FEDBROKER, "validate", "--format", "json"] + [os.path.join(EX, f) for f in files],
                       capture_output=True, text=True)
    return json.loads(p.stdout)["workloads"]


def placement(provider, offer):
    return {"provider": provider, "service": offer["service"], "region": offer["region"], "kind": offer["kind"],
            "offer": offer}


ex_pid = None
port_file = os.path.join(tmp, "port")
ex = subprocess.Popen([sys.executable, os.path.join(TOP, "tests", "fakes", "example_cloud.py"), port_file])
try:
    for _ in range(100):
        if os.path.exists(port_file) and open(port_file).read().strip():
            break
        threading.Event().wait(0.1)
    port = open(port_file).read().strip()
    exso = os.path.join(BUILD, "examples", "driver", ".libs", "example.so")
    settings = {"endpoint": "http://127.0.0.1:%s" % port}
    off = drvcall(exso, settings, [("offers", {})])["results"][0]
    check_doc("offers.output", off.get("output"), "example")
    wls = workloads("function.yaml", "container.yaml")
    for w in wls:
        o = [x for x in off["output"]["offers"] if x["kind"] == w["kind"]][0]
        pl = placement("example", o)
        r = drvcall(exso, settings, [
            ("validate", {"workload": w, "placement": pl, "mode": "apply"}),
            ("render", {"workload": w, "placement": pl, "mode": "render"}),
            ("usage", {"workload": w, "placement": pl, "hoursPerMonth": 730, "mode": "plan"}),
            ("apply", {"workload": w, "placement": pl, "deployment": None, "mode": "apply"})])["results"]
        name = w["metadata"]["name"]
        ok(r[0]["status"] == "ok", "example validates %s" % name, r[0])
        for verb, res in zip(("render", "usage", "apply"), r[1:]):
            if verb == "usage" and res["status"] == "not supported":
                continue
            if ok(res["status"] == "ok", "example %s of %s answers ok" % (verb, name), res.get("diagnostics")):
                check_doc(verb + ".output", res["output"], "example %s of %s" % (verb, name))
        dep = {"provider": "example", "service": pl["service"], "region": pl["region"],
               "state": r[3].get("output", {}).get("state"), "tenant": w["metadata"].get("tenant", "default"),
               "workload": name, "resources": r[3].get("output", {}).get("resources", [])}
        r = drvcall(exso, settings, [("observe", {"deployment": dep, "workload": w}), ("discover", {"regions": []}),
                                     ("destroy", {"deployment": dep}), ("observe", {"deployment": dep})])["results"]
        for verb, res in zip(("observe", "discover", "destroy", "observe"), r):
            if ok(res["status"] == "ok", "example %s of %s answers ok" % (verb, name), res.get("diagnostics")):
                check_doc(verb + ".output", res["output"], "example %s of %s" % (verb, name))
        ok(r[3].get("output", {}).get("status") == "missing", "example observe after destroy: missing")
finally:
    ex.terminate()
    ex.wait()

# The in-tree drivers: offers, render and usage of the example specs on their
# first offer of each kind (no network: render and usage are pure).
wls = workloads("function.yaml", "container.yaml", "quantum-bell.yaml")
for name in ("aws", "gcp", "k8s", "quantum"):
    so = os.path.join(DRIVERS, name + ".so")
    off = drvcall(so, {}, [("offers", {})])["results"][0]
    if not check_doc("offers.output", off.get("output"), name):
        continue
    n = 0
    for w in wls:
        cands = [x for x in off["output"]["offers"] if x["kind"] == w["kind"]]
        for o in cands[:2]:
            pl = placement(name, o)
            r = drvcall(so, {}, [("render", {"workload": w, "placement": pl, "mode": "render"}),
                                 ("usage", {"workload": w, "placement": pl, "hoursPerMonth": 730,
                                            "mode": "plan"})])["results"]
            for verb, res in zip(("render", "usage"), r):
                if res["status"] == "ok":
                    n += 1
                    check_doc(verb + ".output", res["output"], "%s %s of %s on %s" % (name, verb,
                              w["metadata"]["name"], o["service"]))
    ok(n > 0, "%s: %d render/usage outputs checked" % (name, n))

shutil.rmtree(tmp, ignore_errors=True)
ck.done()
