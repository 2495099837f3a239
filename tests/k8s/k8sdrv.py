"""k8sdrv.py - what the k8s driver's integration tests share: the fake API
server (tests/fakes/fake_k8s.py, over TLS with a test CA made by openssl:
every object validated against the Kubernetes OpenAPI and the Knative CRD,
server-side apply ownership), kubeconfigs for it, a temporary broker home
configured for it, and the real `fedbroker` CLI.

Environment (set by tests/local.mk): FEDBROKER, top_srcdir, top_builddir,
FEDBROKER_DRIVER_PATH."""
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# the shared harness (tests/lib/harness.py): paths, checker, broker home
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from harness import (BUILD, DRIVER_PATH, FEDBROKER, TOP, BrokerEnv, Checker,  # noqa: E402,F401
                     skip_unless_built as _skip_unless_built)
sys.path.insert(0, os.path.join(TOP, "tests", "k8s_fake"))
import k8stest  # noqa: E402


def skip_unless_built():
    _skip_unless_built("k8s")
    try:
        import yaml  # noqa: F401
    except ImportError:
        print("SKIP: python3-yaml is needed by the fake API server")
        sys.exit(77)
    if not shutil.which("openssl"):
        print("SKIP: the openssl command makes the fake's test certificates")
        sys.exit(77)


Fake = k8stest.Fake


class Env(BrokerEnv):
    """A temporary FEDBROKER_HOME whose k8s driver points at a kubeconfig."""

    def __init__(self, kubeconfig, **settings):
        # real sleeps: the fake's rollouts and deletions take real time, and
        # the driver's polls must wait for them (make check scales sleeps to
        # 0; the host's HTTP retries still do not sleep: http.sleep_scale 0)
        super().__init__("fb-k8s-", scrub=("AWS_", "GOOGLE_", "KUBERNETES_", "KUBECONFIG"),
                         set={"FEDBROKER_SLEEP_SCALE": "1"})
        self.kubeconfig = kubeconfig
        self.write_config(**settings)

    def write_config(self, extra=None, **settings):
        s = {"kubeconfig": self.kubeconfig} if self.kubeconfig else {}
        s.update(settings)
        self.write_broker_config("k8s", s, extra)


def ours(fake, ns=None):
    """(kind, namespace, name) of every object the fake holds with our
    managed-by label (or in ns)."""
    out = []
    for o in fake.objects():
        md = o.get("metadata", {})
        if (md.get("labels") or {}).get("app.kubernetes.io/managed-by") == "fedbroker" or \
                (ns and md.get("namespace") == ns):
            out.append((o.get("kind"), md.get("namespace"), md.get("name")))
    return sorted(out, key=lambda t: tuple(x or "" for x in t))


def untracked(env):
    return env.untracked("--provider", "k8s")


def rejected(entries, allow=()):
    """Requests the fake refused (status >= 400) except (verb, status) in allow."""
    return [(e.get("method"), e.get("path"), e.get("status"), e.get("message")) for e in entries
            if isinstance(e.get("status"), int) and e["status"] >= 400 and (e.get("verb"), e["status"]) not in allow]
