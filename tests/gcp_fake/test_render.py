#!/usr/bin/python3
"""What the gcp driver renders is what the fake accepts: every document
`fedbroker render EXAMPLE --target gcp:europe-west1 --service S` prints for
the examples (Cloud Run services, Cloud Functions with their source upload,
IAM policies) is sent to fake_gcp as the driver will send it, and must pass
its discovery checks (strict: no unknown or output-only fields, int64 as
strings, required fields present) and its service checks. The function
source is uploaded the way Google documents: generateUploadUrl, then a PUT of
the zip to the returned URL.

Skipped (exit 77) when the built fedbroker or the staged drivers are
missing (the test runs from `make check`, which builds them).
"""
import io
import json
import os
import re
import subprocess
import sys
import urllib.request
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gftest  # noqa: E402
from gftest import FakeTest  # noqa: E402

BUILDDIR = os.path.abspath(os.environ.get("top_builddir") or os.getcwd())
FEDBROKER = os.environ.get("FEDBROKER") or os.path.join(BUILDDIR, "fedbroker")
DRIVERS = os.environ.get("FEDBROKER_DRIVER_PATH") or os.path.join(BUILDDIR, "stage", "drivers")
EXAMPLES = ["function.yaml", "container.yaml", "federation.yaml", "shop-worker.yaml", "thumbnailer.json"]
SERVICES = ["cloud-run", "cloud-functions"]


def zip_dir(path):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        if os.path.isdir(path):
            for root, _, files in os.walk(path):
                for f in sorted(files):
                    full = os.path.join(root, f)
                    z.write(full, os.path.relpath(full, path))
        else:
            z.write(path, os.path.basename(path))
    return b.getvalue()


class RenderAcceptedTest(FakeTest):
    def render(self, example, service):
        env = dict(os.environ, FEDBROKER_DRIVER_PATH=DRIVERS, HOME=self.tmp,
                   FEDBROKER_HOME=os.path.join(self.tmp, "home"))
        r = subprocess.run([FEDBROKER, "render", os.path.join(gftest.SRCDIR, "examples", example),
                            "--target", "gcp:europe-west1", "--service", service],
                           capture_output=True, text=True, env=env, timeout=120)
        if r.returncode != 0:
            return None  # the driver refuses this placement (and says why on stderr)
        return json.loads(r.stdout)

    def test_rendered_documents_are_accepted(self):
        self.fake.control("POST", "config", {"op_polls": 0})
        sent = []
        for example in EXAMPLES:
            for service in SERVICES:
                rendered = self.render(example, service)
                if rendered is None:
                    continue
                for w in rendered:
                    for d in w["documents"]:
                        # trigger and secret documents name what only exists
                        # once deployed (${service.uri}) or a setting render
                        # was not given (${drivers.gcp...}): apply fills them
                        # in; tests/gcp sends them to the fake that way
                        if "${" in json.dumps(d):
                            continue
                        sent.append(self.send(example, service, d))
        kinds = {k for k in sent}
        self.assertIn("run.projects.locations.services.create", kinds)
        self.assertIn("cloudfunctions.projects.locations.functions.create", kinds)
        bad = [e for e in self.fake.log() if isinstance(e.get("status"), int) and e["status"] >= 400]
        self.assertEqual(bad, [])
        self.assertEqual([e for e in self.fake.log() if e.get("notes") or e.get("output_only")], [])

    def send(self, example, service, d):
        api = d["api"].split(".", 1)[0]
        path = d["path"]
        m = re.match(r"^v[0-9]+/projects/([^/]+)/", path)
        self.assertIsNotNone(m, path)
        project = m.group(1)
        if project not in self.fake.control("GET", "state")["projects"]:
            self.fake.control("POST", "projects", {"project_id": project, "number": "55555%07d" % len(project)})
        body = d.get("body")
        if d.get("upload"):
            parent = re.match(r"^(v2/projects/[^/]+/locations/[^/]+)/functions", path).group(1)
            st, up, _ = self.fake.call("POST", "/cloudfunctions/%s/functions:generateUploadUrl" % parent, {},
                                       self.admin)
            self.assertEqual(st, 200, up)
            req = urllib.request.Request(up["uploadUrl"], data=zip_dir(d["upload"]["from"]["path"]), method="PUT",
                                         headers={"Content-Type": "application/zip"})
            with urllib.request.urlopen(req, timeout=30) as r:
                self.assertEqual(r.status, 200)
            body["buildConfig"]["source"]["storageSource"] = up["storageSource"]
        st, out, _ = self.fake.call(d["method"], "/%s/%s" % (api, path), body, self.admin)
        self.assertEqual(st, 200, "%s on %s: %s %s -> %s" % (example, service, d["method"], path,
                                                             json.dumps(out)[:1500]))
        return self.fake.log()[-1]["method_id"]


if __name__ == "__main__":
    if not (os.access(FEDBROKER, os.X_OK) and os.path.isdir(DRIVERS)):
        print("SKIP: no built fedbroker (%s) or staged drivers (%s); run it from make check" % (FEDBROKER, DRIVERS))
        sys.exit(77)
    gftest.main()
