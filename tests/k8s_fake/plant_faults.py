#!/usr/bin/python3
"""Plant faults in a scratch copy of the fake and check that the tests catch
each one (not run by make check; run it after changing the fake or its tests):

    tests/k8s_fake/plant_faults.py [WORD...]     # only plants whose name has a WORD

Each plant replaces one exact piece of the fake's source (it must occur once)
and names the tests that must then fail. Exit 1 if a test still passes."""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))

PLANTS = [
    ("unknown fields accepted", "tests/fakes/k8s/schema.py",
     "                    d.unknown.append(p)\n", "                    out[key] = val\n",
     ["test_validation.py", "test_kubectl.py"]),
    ("SSA conflicts never raised", "tests/fakes/k8s/fieldpath.py",
     "    if conflicts and not force:\n", "    if False:\n", ["test_ssa.py", "test_kubectl.py"]),
    ("labels not validated", "tests/fakes/k8s/kinds.py",
     "def validate_labels(labels, path):\n    errs = []\n", "def validate_labels(labels, path):\n    return []\n",
     ["test_validation.py", "test_kubectl.py"]),
    ("quantities not parsed", "tests/fakes/k8s/schema.py",
     "        try:\n            return canonical_quantity(v)\n", "        try:\n            return v\n",
     ["test_validation.py"]),
    ("Knative reserved ports allowed", "tests/fakes/k8s/kinds.py",
     "            if cp in KNATIVE_RESERVED_PORTS:", "            if False:", ["test_validation.py", "test_kubectl.py"]),
    ("namespace existence not checked", "tests/fakes/k8s/api.py",
     "            if nso is None:\n                raise ns_not_found(ns)\n", "            if False:\n                pass\n",
     ["test_validation.py"]),
    ("token expiry ignored", "tests/fakes/fake_k8s.py",
     'if t and (t["expires"] is None or time.time() < t["expires"]):', "if t:", ["test_protocol.py", "test_kubectl.py"]),
    ("client certificates not verified", "tests/fakes/fake_k8s.py",
     "tls.verify_mode = ssl.CERT_OPTIONAL", "tls.verify_mode = ssl.CERT_NONE", ["test_protocol.py", "test_kubectl.py"]),
    ("notin selector ignored", "tests/fakes/k8s/store.py",
     '        if op == "notin" and have and v in vals:\n            return False\n', "", ["test_pyclient.py"]),
    ("watch sends no later events", "tests/fakes/fake_k8s.py",
     "                        if match(obj):\n                            out.append(",
     "                        if False:\n                            out.append(", ["test_pyclient.py", "test_protocol.py"]),
    ("rollouts never complete", "tests/fakes/k8s/controllers.py",
     "            elif elapsed >= self.settings.rollout_delay or replicas == 0:",
     "            elif False:", ["test_cluster.py", "test_kubectl.py"]),
    ("foreground deletion leaves dependents to the background", "tests/fakes/k8s/controllers.py",
     "            deps = self._dependents(uid)\n", "            deps = []\n", ["test_cluster.py"]),
    ("discovery invents a field", "tests/fakes/k8s/kinds.py",
     '        main["storageVersionHash"] = self.storage_hash()',
     '        main["storageVersionHash"] = self.storage_hash()\n        main["fooField"] = 1', ["test_protocol.py"]),
    ("Retry-After dropped", "tests/fakes/fake_k8s.py",
     '                        hdrs["Retry-After"] = str(fault["retry_after"])', "                        pass",
     ["test_protocol.py"]),
    ("omitted fields kept", "tests/fakes/k8s/fieldpath.py", "        remove_path(merged, p, node)", "        pass",
     ["test_ssa.py"]),
    ("list maps replaced whole", "tests/fakes/k8s/fieldpath.py",
     "        return _merge_list(live if isinstance(live, list) else [], cfg, node)",
     "        return copy.deepcopy(cfg)", ["test_ssa.py"]),
    ("Status without reason", "tests/fakes/k8s/api.py",
     '        if self.reason:\n            st["reason"] = self.reason', "        pass",
     ["test_validation.py", "test_protocol.py"]),
    ("status from the client kept", [
        ("tests/fakes/k8s/fieldpath.py", '    cfg.pop("status", None)  # reset by the main resource endpoint', "    pass"),
        ("tests/fakes/k8s/api.py", '            if subresource != "status":\n                if "status" in old:',
         '            if False:\n                if "status" in old:')], ["test_ssa.py"]),
    ("EndpointSlices ignore availability", "tests/fakes/k8s/controllers.py",
     '            n = (d.get("status") or {}).get("availableReplicas", 0)', "            n = 1",
     ["test_cluster.py", "test_kubectl.py"]),
    ("no-op writes bump the resourceVersion", "tests/fakes/k8s/api.py",
     "            if cmp_old == cmp_new:\n", "            if False:\n", ["test_ssa.py"]),
]


def main():
    only = sys.argv[1:]
    bad = 0
    for plant in PLANTS:
        if len(plant) == 5:
            name, path, old, new, tests = plant
            edits = [(path, old, new)]
        else:
            name, edits, tests = plant
        if only and not any(w in name for w in only):
            continue
        tmp = tempfile.mkdtemp(prefix="k8splant.")
        try:
            for d in ("tests/fakes", "tests/k8s_fake", "tests/reference"):
                shutil.copytree(os.path.join(SRC, d), os.path.join(tmp, d),
                                ignore=shutil.ignore_patterns("__pycache__"))
            stale = False
            for path, old, new in edits:
                f = os.path.join(tmp, path)
                with open(f) as fh:
                    text = fh.read()
                if text.count(old) != 1:
                    print("STALE %s: the planted text occurs %d times in %s" % (name, text.count(old), path))
                    stale = True
                    break
                with open(f, "w") as fh:
                    fh.write(text.replace(old, new))
            if stale:
                bad += 1
                continue
            env = dict(os.environ, top_srcdir=tmp)
            results = []
            for t in tests:
                p = subprocess.run([sys.executable, os.path.join(tmp, "tests", "k8s_fake", t)], capture_output=True,
                                   text=True, env=env, timeout=600)
                fails = [line[5:] for line in p.stdout.splitlines() if line.startswith("FAIL ")]
                caught = p.returncode == 1 and fails
                if p.returncode == 77:
                    results.append("%s skipped" % t)
                    continue
                if not caught:
                    bad += 1
                results.append("%s %s" % (t, ("caught: %d failed, e.g. %s" % (len(fails), fails[0][:70]))
                                          if caught else "NOT CAUGHT (exit %d)" % p.returncode))
            print("%-55s %s" % (name, " | ".join(results)), flush=True)
        finally:
            shutil.rmtree(tmp, True)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
