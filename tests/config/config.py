#!/usr/bin/python3
"""The broker configuration through the real CLI (issue 9, items 7 and 11).

Validation: unknown keys ("driver", "htttp"), wrong types and values out of
range are errors with file:line:col, JSON pointer and did-you-mean, exit 2,
in JSON and YAML; a driver setting the driver refuses (aws regions given
as a string, a quantum memoryLimit that is not a size) is an error located
in the file, exit 2, not a warning that drops the driver; every endpoint
must be an http(s) URL (file:///etc/passwd is refused by the schema and by
the drivers); settings for a driver that is not loaded are a warning with
the nearest name. python3-jsonschema, which we did not write, must agree
with the C validator on every case the schema decides.

Trust: config.json, a FEDBROKER_CONFIG file or $FEDBROKER_HOME writable by
group or others, or (as root) owned by another user, is refused with the
exact chmod/chown fix, exit 2, for plan and for report (which reads only
the state); a config file directly in /tmp (sticky) is accepted.

Environment (tests/local.mk): FEDBROKER, top_srcdir, FEDBROKER_DRIVER_PATH."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import jsonschema

TOP = os.environ.get("top_srcdir") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FEDBROKER = os.environ.get("FEDBROKER") or os.path.join(TOP, "build", "fedbroker")
DRIVERS = os.environ.get("FEDBROKER_DRIVER_PATH") or os.path.join(TOP, "build", "stage", "drivers")
SPEC = os.path.join(TOP, "examples", "function.yaml")
SCHEMA = json.load(open(os.path.join(TOP, "schemas", "config.v1.schema.json")))
VALIDATOR = jsonschema.Draft7Validator(SCHEMA)
OTHER_UID = 65534  # "nobody" on Debian

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Checker  # noqa: E402

ck = Checker("config")
ok = ck.ok


tmp = tempfile.mkdtemp(prefix="fb-config-")
os.chmod(tmp, 0o755)
home = os.path.join(tmp, "home")


def fresh_home(mode=0o755):
    shutil.rmtree(home, ignore_errors=True)
    os.mkdir(home)
    os.chmod(home, mode)


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def run(*args, config=None):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k not in ("FEDBROKER_CONFIG", "FEDBROKER_LOG")}
    env.update({"FEDBROKER_HOME": home, "FEDBROKER_DRIVER_PATH": DRIVERS, "HOME": home,
                "FEDBROKER_NOW": "2015-08-30T12:36:00Z"})
    if config:
        env["FEDBROKER_CONFIG"] = config
    p = subprocess.run([FEDBROKER, *args], env=env, capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def plan(config=None):
    return run("plan", SPEC, "--format", "json", "--no-save", "--no-baselines", config=config)


# ---- validation: the schema (and python3-jsonschema agrees) --------------------------------
GOOD = {
    "drivers": {"aws": {"regions": ["us-east-1"], "endpoints": {"lambda": "http://127.0.0.1:9"}},
                "quantum": {"braket": {"endpoint": "https://braket.us-east-1.amazonaws.com"}}},
    "http": {"max_attempts": 100, "timeout_ms": 1, "connect_timeout_ms": 3600000, "ca_file": None,
             "services": {"lambda": {"concurrency": 16, "rate": 2.5}}, "default_service": {"burst": 4}},
    "quotas": {"aws:us-east-1": {"vcpu": 0.5, "instances": 3}},
    "catalog": {"params": {"route_factor": "1.4", "last_mile_ms": 12, "local_metro": "frankfurt"}},
}
# (name, config, the pointer the error must name, did-you-mean or other text in the message)
BAD = [
    ("top-level 'driver'", {"driver": {}}, "/driver", "did you mean `drivers`?"),
    ("top-level 'htttp'", {"htttp": {"max_attempts": 3}}, "/htttp", "did you mean `http`?"),
    ("http key misspelt", {"http": {"max_atempts": 3}}, "/http/max_atempts", "did you mean `max_attempts`?"),
    ("max_attempts one past 100", {"http": {"max_attempts": 101}}, "/http/max_attempts", "from 1 to 100"),
    ("timeout_ms one below 1", {"http": {"timeout_ms": 0}}, "/http/timeout_ms", "found 0"),
    ("a wrong type", {"http": {"parallelism": "16"}}, "/http/parallelism", "found"),
    ("a service limit misspelt", {"http": {"services": {"s3": {"concurency": 2}}}},
     "/http/services/s3/concurency", "did you mean `concurrency`?"),
    ("an aws endpoint file:///etc/passwd", {"drivers": {"aws": {"endpoints": {"lambda": "file:///etc/passwd"}}}},
     "/drivers/aws/endpoints/lambda", "http:// or https:// URL"),
    ("a quantum endpoint file:///etc/passwd", {"drivers": {"quantum": {"braket": {"endpoint": "file:///etc/passwd"}}}},
     "/drivers/quantum/braket/endpoint", "http:// or https:// URL"),
    ("an endpoint with user info", {"drivers": {"quantum": {"ibm": {"iamEndpoint": "https://u:p@iam.example"}}}},
     "/drivers/quantum/ibm/iamEndpoint", "http:// or https:// URL"),
    ("a driver name with capitals", {"drivers": {"AWS": {}}}, "/drivers/AWS", "driver name"),
    ("a quota key without a region", {"quotas": {"aws": {"vcpu": 1}}}, "/quotas/aws", "provider:region"),
    ("an empty quota", {"quotas": {"aws:us-east-1": {}}}, "/quotas/aws:us-east-1", "at least 1"),
    ("a catalog param misspelt", {"catalog": {"params": {"route_factr": 1}}}, "/catalog/params/route_factr",
     "did you mean `route_factor`?"),
    ("the configuration is not an object", [1], "", "must be one object"),
]

fresh_home()
cfg = write(os.path.join(home, "config.json"), json.dumps(GOOD, indent=2))
ok(VALIDATOR.is_valid(GOOD), "python3-jsonschema accepts the good configuration",
   [e.message for e in VALIDATOR.iter_errors(GOOD)])
rc, out, err = plan()
ok(rc == 0, "a configuration with every section plans (exit 0)", err)

for name, conf, pointer, text in BAD:
    fresh_home()
    cfg = write(os.path.join(home, "config.json"), json.dumps(conf, indent=2))
    if isinstance(conf, dict):
        ok(not VALIDATOR.is_valid(conf), f"{name}: python3-jsonschema refuses it too")
    rc, out, err = plan()
    ok(rc == 2, f"{name}: exit 2", (rc, err))
    line = next((e for e in err.splitlines() if "error:" in e and (pointer + ":" in e or pointer == "")), "")
    ok(line.startswith(cfg + ":") and (pointer == "" or f"error: {pointer}:" in line) and text in err,
       f"{name}: file:line:col, {pointer or 'the document'} and '{text}'", err)
    if pointer:
        parts = line[len(cfg):].split(":")
        ok(len(parts) > 3 and parts[1].isdigit() and parts[2].isdigit(), f"{name}: with line and column", line)

# exact location, JSON and YAML
fresh_home()
cfg = write(os.path.join(home, "config.json"), '{\n  "drivers": {},\n  "htttp": {"max_attempts": 3}\n}\n')
rc, out, err = plan()
ok(f"{cfg}:3:12: error: /htttp: unknown property `htttp` (did you mean `http`?)" in err,
   "the JSON error is at 3:12 (where the value starts)", err)
os.unlink(cfg)
cfg = write(os.path.join(home, "config.yaml"), "drivers: {}\nhttp:\n  max_attempts: 3\n  timeout_ms: 0\n")
rc, out, err = plan()
ok(rc == 2 and f"{cfg}:4:15: error: /http/timeout_ms: expected milliseconds from 1 to 86400000, found 0" in err,
   "a YAML configuration is located the same way", err)

# ---- driver settings: the driver's configure decides, and its refusal is an error -------------
DRIVER_BAD = [
    ("aws regions given as a string", "drivers:\n  aws:\n    regions: us-east-1\n",
     "3:14", "/drivers/aws/regions", "regions must be an array"),
    ("a quantum memoryLimit that is not a size", "drivers:\n  quantum:\n    memoryLimit: lots\n",
     "3:5", "/drivers/quantum", "memoryLimit"),
    ("an aws role that is not an ARN", "drivers:\n  aws:\n    lambda: {role: admin}\n",
     "3:20", "/drivers/aws/lambda/role", "not an IAM role ARN"),
]
for name, text, where, pointer, needle in DRIVER_BAD:
    fresh_home()
    cfg = write(os.path.join(home, "config.yaml"), text)
    import yaml  # noqa: E402 (python3-yaml: the same document, for jsonschema)
    ok(VALIDATOR.is_valid(yaml.safe_load(text)), f"{name}: the schema leaves it to the driver")
    rc, out, err = plan()
    ok(rc == 2, f"{name}: exit 2 (not a warning that drops the driver)", (rc, err))
    ok(f"{cfg}:{where}: error: {pointer}:" in err and needle in err, f"{name}: located at {where} {pointer}", err)
fresh_home()
cfg = write(os.path.join(home, "config.json"), '{"drivers": {"awz": {}}}')
rc, out, err = plan()
ok(rc == 0 and "warning: /drivers/awz: settings for driver 'awz', which is not loaded; did you mean 'aws'?" in err,
   "settings for a driver that is not loaded: a warning with the nearest name", (rc, err))

# ---- trust: who could change the configuration or the state --------------------------------------
fresh_home()
cfg = write(os.path.join(home, "config.json"), '{"drivers": {}}', 0o664)
rc, out, err = plan()
ok(rc == 2 and f"configuration refused: file {cfg} is group-writable (mode 0664)" in err
   and f"fix it with: chmod g-w {cfg}" in err, "a group-writable config.json is refused with the chmod", err)
os.chmod(cfg, 0o646)
rc, out, err = plan()
ok(rc == 2 and "is world-writable (mode 0646)" in err and f"chmod o-w {cfg}" in err,
   "a world-writable config.json is refused with the chmod", err)
os.chmod(cfg, 0o644)
rc, out, err = plan()
ok(rc == 0, "fixed as told, it plans", err)
for mode, fix in ((0o775, "g-w"), (0o777, "go-w"), (0o757, "o-w")):
    os.chmod(home, mode)
    rc, out, err = plan()
    ok(rc == 2 and f"state directory refused: directory {home} is" in err and f"chmod {fix} {home}" in err,
       f"a home of mode {mode:o} is refused with chmod {fix}", err)
    rc, out, err = run("report")
    ok(rc == 2 and f"chmod {fix} {home}" in err, f"report refuses the home of mode {mode:o} too", err)
os.chmod(home, 0o1777)
rc, out, err = plan()
ok(rc == 0, "a sticky home (1777) is accepted: others cannot replace what is in it", err)
os.chmod(home, 0o755)
# FEDBROKER_CONFIG elsewhere: in a world-writable directory without and with the sticky bit
ww = os.path.join(tmp, "ww")
os.mkdir(ww)
os.chmod(ww, 0o777)
other = write(os.path.join(ww, "fb.json"), '{"drivers": {}}')
rc, out, err = plan(config=other)
ok(rc == 2 and f"configuration refused: directory {ww} is world-writable (mode 0777), above {other}" in err,
   "FEDBROKER_CONFIG in a 0777 directory is refused, naming the directory", err)
os.chmod(ww, 0o1777)
rc, out, err = plan(config=other)
ok(rc == 0, "the same file under a sticky 1777 directory (as /tmp) is accepted", err)
if os.geteuid() == 0:
    os.chown(other, OTHER_UID, -1)
    rc, out, err = plan(config=other)
    ok(rc == 2 and f"file {other} is owned by uid {OTHER_UID}" in err and f"chown root {other}" in err,
       "a config file owned by another user is refused with the chown", err)
    os.chown(home, OTHER_UID, -1)
    rc, out, err = plan()
    ok(rc == 2 and f"directory {home} is owned by uid {OTHER_UID}" in err, "a home owned by another user is refused",
       err)
    os.chown(home, 0, -1)
else:
    print(f"skip: ownership checks need root to chown to uid {OTHER_UID}")

shutil.rmtree(tmp, ignore_errors=True)
ck.done()
