"""servetest.py - what the tests of `fedbroker serve` against fake_aws
share (reconcile.py, metrics.py): a serve process on a free loopback port
in an awstest.Env's broker home, requests with one bearer token, the
polling of operations and /metrics values."""
import http.client
import json
import re
import signal
import subprocess
import time

import awstest


class Server:
    """`fedbroker serve --listen 127.0.0.1:0 ARGS...` in env's home; requests
    carry token."""

    def __init__(self, env, token, *args):
        self.token = token
        self.ctype = None  # the Content-Type of the last answer
        self.p = subprocess.Popen([awstest.FEDBROKER, "serve", "--listen", "127.0.0.1:0", *args], env=env.env,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.port = int(re.match(r"listening on http://127\.0\.0\.1:(\d+)",
                                 self.p.stdout.readline().decode()).group(1))

    def req(self, method, path, body=None, ctype=None):
        """(status, the answer parsed as JSON, else its text)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        h = {"Authorization": f"Bearer {self.token}"}
        if ctype:
            h["Content-Type"] = ctype
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read().decode()
        self.ctype = r.getheader("Content-Type")
        c.close()
        try:
            return r.status, json.loads(data)
        except ValueError:
            return r.status, data

    def metric(self, name):
        """The value of an unlabelled sample in /metrics, or None."""
        st, text = self.req("GET", "/metrics")
        m = re.search(r"^" + re.escape(name) + r" (\S+)$", text, re.M)
        return float(m.group(1)) if m else None

    def wait_op(self, href, tries=900):
        """Polls an operation until it succeeded or failed (0.1 s apart)."""
        for _ in range(tries):
            st, j = self.req("GET", href)
            if st != 200 or j["state"] in ("succeeded", "failed"):
                return j
            time.sleep(0.1)
        return j

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        self.p.wait(timeout=120)
        return self.p.returncode
