#!/usr/bin/python3
"""How the k8s driver finds and authenticates to a cluster, against
tests/fakes/fake_k8s.py over TLS (certificates made by openssl), each case
through the real CLI (`fedbroker discover --provider k8s`, which lists by
label and so sends authenticated requests):

- KUBECONFIG lists merged by kubectl's rules (the first file to set the
  current-context wins; a missing file is skipped), the context setting,
  ~/.kube/config when nothing else is given, relative paths relative to
  their kubeconfig;
- credentials: client certificate files and embedded -data, a static token,
  a tokenFile re-read on every run (rotation), an exec plugin
  (client.authentication.k8s.io/v1) run once per process while its token is
  valid and again once its expirationTimestamp passes;
- refusals: a CA that did not sign the server (TLS verification fails, exit 2,
  nothing sent), a client certificate from another CA (the server refuses
  the handshake), an unknown token (401), insecure-skip-tls-verify and plain
  http refused unless allowInsecure, a kubeconfig without credentials."""
import json
import os
import stat
import sys
import time

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import k8sdrv  # noqa: E402
from k8sdrv import Checker, Env, Fake  # noqa: E402

k8sdrv.skip_unless_built()
ck = Checker("k8s auth")
fake = Fake()
pki = fake.pki
env = Env(None)


def write_kc(name, clusters, users, contexts, current=None):
    doc = {"apiVersion": "v1", "kind": "Config", "clusters": clusters, "users": users, "contexts": contexts}
    if current:
        doc["current-context"] = current
    p = env.path(name)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        yaml.safe_dump(doc, f)
    os.chmod(p, 0o600)
    return p


def cluster(name, ca=None, **extra):
    c = {"server": fake.url, "certificate-authority": ca or os.path.join(pki, "ca.crt")}
    c.update(extra)
    return {"name": name, "cluster": c}


def cert_user(name, who="admin"):
    return {"name": name, "user": {"client-certificate": os.path.join(pki, who + ".crt"),
                                   "client-key": os.path.join(pki, who + ".key")}}


def ctx(name, cl, us):
    return {"name": name, "context": {"cluster": cl, "user": us}}


def discover(settings=None, envvars=None, unset=()):
    env.write_config(**(settings or {}))
    seq = fake.last_seq()
    rc, out, err = env.run("discover", "--provider", "k8s", "--format", "json", env=envvars, unset=unset)
    return rc, out, err, fake.log(seq)


# ---- kubeconfig lists and contexts
a = write_kc("a/config", [cluster("wrong", ca=os.path.join(pki, "other-ca.crt"))], [cert_user("u")],
             [ctx("bad", "wrong", "u")], current="bad")
b = write_kc("b/config", [cluster("fake")], [cert_user("u", "alice"), cert_user("admin")],
             [ctx("good", "fake", "admin"), ctx("bad", "fake", "u")], current="good")
rc, out, err, log = discover(envvars={"KUBECONFIG": "%s:%s:%s" % (env.path("missing/config"), b, a)})
ck.ok(rc == 0 and log and all(e.get("user") == "admin" for e in log),
      "KUBECONFIG=missing:b:a: the missing file skipped, b's current-context 'good' wins, b's user 'u' wins over "
      "a's", err + out)
ck.ok(all(e.get("user") != "alice" for e in log), "first file wins for a name defined twice (users 'u')")
rc, out, err, log = discover(envvars={"KUBECONFIG": "%s:%s" % (a, b)})
ck.ok(rc != 0 and "TLS verification failed" in err and not log,
      "KUBECONFIG=a:b: a's current-context (a cluster with another CA) is used, TLS refuses, nothing sent", err)
ck.ok("kubeconfig's certificate-authority" in err or "CA the driver was given" in err,
      "the TLS message points at the kubeconfig's CA", err)
rc, out, err, log = discover({"context": "good"}, envvars={"KUBECONFIG": "%s:%s" % (a, b)})
ck.ok(rc == 0 and log, "the context setting picks b's context 'good'", err)
rc, out, err, log = discover({"context": "nope"}, envvars={"KUBECONFIG": b})
ck.ok(rc != 0 and "has no context 'nope'" in err and "drivers.k8s.context" in err,
      "an unknown context is refused naming the setting", err)
os.makedirs(os.path.join(env.home, ".kube"), exist_ok=True)
fake.kubeconfig("home-config")
import shutil  # noqa: E402
shutil.copy(os.path.join(k8sdrv.k8stest.tmpdir(), "home-config"), os.path.join(env.home, ".kube", "config"))
rc, out, err, log = discover()
ck.ok(rc == 0 and log and log[0].get("auth") == "x509", "~/.kube/config when nothing else is given", err)
os.unlink(os.path.join(env.home, ".kube", "config"))
rc, out, err, log = discover()
ck.ok(rc != 0 and "no kubeconfig found" in err and "kind get kubeconfig" in err,
      "no kubeconfig at all: discover fails saying what to do", (rc, err))
spec0 = env.write("none.yaml", "apiVersion: fedbroker.dev/v1\nkind: Container\nmetadata: {name: w, tenant: t}\n"
                  "spec: {image: 'nginx:1.27', resources: {cpu: 100m, memory: 64Mi}}\n")
rc, out, err = env.run("apply", spec0, "--target", "k8s", "--dry-run")
ck.ok(rc == 2 and "no cluster to deploy to" in err, "apply --dry-run without a cluster: exit 2 (credentials)", (rc, err))

# relative paths: relative to their kubeconfig
rel = env.path("rel")
os.makedirs(rel, exist_ok=True)
for f in ("ca.crt", "bob.crt", "bob.key"):
    shutil.copy(os.path.join(pki, f), os.path.join(rel, f))
kc = write_kc("rel/config", [{"name": "c", "cluster": {"server": fake.url, "certificate-authority": "ca.crt"}}],
              [{"name": "bob", "user": {"client-certificate": "bob.crt", "client-key": "bob.key"}}],
              [ctx("x", "c", "bob")], current="x")
rc, out, err, log = discover({"kubeconfig": kc})
ck.ok(rc == 0 and log and all(e.get("user") == "bob" for e in log), "relative CA and client files found", err)

# tls-server-name: the certificate is checked for that name (the server's
# SANs are 127.0.0.1, localhost and kubernetes.default.svc)
kc = write_kc("sni/good", [cluster("c", **{"tls-server-name": "kubernetes.default.svc"})], [cert_user("u")],
              [ctx("x", "c", "u")], current="x")
rc, out, err, log = discover({"kubeconfig": kc})
ck.ok(rc == 0 and log, "tls-server-name kubernetes.default.svc (in the certificate) is accepted", err)
kc = write_kc("sni/bad", [cluster("c", **{"tls-server-name": "api.example.org"})], [cert_user("u")],
              [ctx("x", "c", "u")], current="x")
rc, out, err, log = discover({"kubeconfig": kc})
ck.ok(rc != 0 and not log and ("TLS" in err or "certificate" in err),
      "tls-server-name api.example.org (not in the certificate) is refused, nothing sent", err)

# ---- credentials
kc = fake.kubeconfig("embedded", user="alice", embed=True)
rc, out, err, log = discover({"kubeconfig": kc})
ck.ok(rc == 0 and log and all(e.get("user") == "alice" and e.get("auth") == "x509" for e in log),
      "client-certificate-data / client-key-data / certificate-authority-data from memory", err)
fake.ctl("POST", "tokens", {"token": "static-tok-1", "user": "carol", "groups": ["dev"]})
kc = fake.kubeconfig("token", token="static-tok-1")
rc, out, err, log = discover({"kubeconfig": kc})
ck.ok(rc == 0 and log and all(e.get("user") == "carol" and e.get("auth") == "token" for e in log),
      "a static bearer token", err)
ck.ok("static-tok-1" not in out + err, "the token is never printed")
fake.ctl("POST", "tokens", {"token": "file-tok-1", "user": "dave"})
fake.ctl("POST", "tokens", {"token": "file-tok-2", "user": "erin"})
env.write("tf/token", "file-tok-1\n")
kc = write_kc("tf/config", [cluster("c")], [{"name": "t", "user": {"tokenFile": "token"}}], [ctx("x", "c", "t")],
              current="x")
rc, out, err, log = discover({"kubeconfig": kc})
ck.ok(rc == 0 and log and all(e.get("user") == "dave" for e in log), "tokenFile (relative, newline trimmed)", err)
env.write("tf/token", "file-tok-2")
rc, out, err, log = discover({"kubeconfig": kc})
ck.ok(rc == 0 and log and all(e.get("user") == "erin" for e in log), "tokenFile re-read: a rotated token is used", err)

# exec plugin: counts its runs, issues tokens the fake accepts for `ttl` s
plugin = env.write("exec/plugin.py", """#!/usr/bin/python3
import json, os, sys, time, urllib.request, ssl
d = os.path.dirname(os.path.abspath(__file__))
n = len(open(os.path.join(d, "calls"), "a+").name) and sum(1 for _ in open(os.path.join(d, "calls"))) + 1
with open(os.path.join(d, "calls"), "a") as f:
    f.write("%s\\n" % os.environ.get("KUBERNETES_EXEC_INFO", ""))
ttl = float(sys.argv[1])
tok = "exec-tok-%d" % n
with open(os.path.join(d, "issued"), "a") as f:
    f.write(tok + "\\n")
st = {"token": tok}
if os.environ.get("FAKE_URL"):
    # register the token with the fake, valid a little longer than we say
    ctx = ssl.create_default_context(cafile=os.environ["FAKE_CA"])
    req = urllib.request.Request(os.environ["FAKE_URL"] + "/__fake/tokens", method="POST",
                                 data=json.dumps({"token": tok, "user": "exec-user", "expires_in": ttl + 0.5}).encode(),
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, context=ctx).read()
if ttl > 0:
    st["expirationTimestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + ttl))
print(json.dumps({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", "status": st}))
""")
os.chmod(plugin, 0o755)


def exec_kc(name, ttl):
    return write_kc("exec/" + name, [cluster("c")],
                    [{"name": "x", "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1",
                                                     "command": "./plugin.py", "args": [str(ttl)],
                                                     "env": [{"name": "PLUGIN_MODE", "value": "test"}],
                                                     "interactiveMode": "Never"}}}],
                    [ctx("x", "c", "x")], current="x")


def calls():
    p = env.path("exec", "calls")
    return open(p).read().splitlines() if os.path.exists(p) else []


def issue_tokens(n, ttl):
    """Register the tokens the plugin will issue next (the fake must know them)."""
    have = len(calls())
    for i in range(have + 1, have + n + 1):
        fake.ctl("POST", "tokens", {"token": "exec-tok-%d" % i, "user": "exec-user",
                                     **({"expires_in": ttl + 1} if ttl else {})})


issue_tokens(3, 0)
rc, out, err, log = discover({"kubeconfig": exec_kc("forever", 0)})
ck.ok(rc == 0 and len(log) >= 5 and all(e.get("user") == "exec-user" for e in log),
      "exec plugin: its token authenticates every request", err)
ck.ok(len(calls()) == 1, "without expirationTimestamp the plugin runs once for %d requests" % len(log), calls())
info = json.loads(calls()[0] or "{}")
ck.ok(info.get("apiVersion") == "client.authentication.k8s.io/v1" and info.get("kind") == "ExecCredential" and
      info.get("spec", {}).get("interactive") is False, "KUBERNETES_EXEC_INFO says v1, not interactive", info)
# an apply that lasts past the token's expiry: the plugin runs again
fake2 = Fake("--rollout-delay-ms", "2500")
kc = write_kc("exec/expiring", [{"name": "c", "cluster": {"server": fake2.url,
                                                          "certificate-authority": os.path.join(pki, "ca.crt")}}],
              [{"name": "x", "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1",
                                               "command": "./plugin.py", "args": ["1"],
                                               "env": [{"name": "FAKE_URL", "value": fake2.url},
                                                       {"name": "FAKE_CA", "value": os.path.join(pki, "ca.crt")}]}}}],
              [ctx("x", "c", "x")], current="x")
before = len(calls())
env.write_config(kubeconfig=kc)
spec = env.write("web.yaml", """apiVersion: fedbroker.dev/v1
kind: Container
metadata: {name: web, tenant: auth}
spec:
  image: nginx:1.27
  ports: [{port: 8080, protocol: http, public: false}]
  resources: {cpu: 100m, memory: 64Mi}
""")
seq = fake2.last_seq()
rc, out, err = env.run("apply", spec, "--target", "k8s")
log2 = fake2.log(seq)
runs = len(calls()) - before
ck.ok(rc == 0, "an apply that outlives the exec token succeeds", err + out)
ck.ok(2 <= runs < len(log2), "the plugin ran again after expirationTimestamp (%d runs for %d requests)" % (runs, len(log2)),
      calls()[before:])
rc, out, err = env.run("destroy", "--all")
fake2.close()

# ---- refusals
kc = write_kc("refuse/stranger", [cluster("c")], [cert_user("s", "stranger")], [ctx("x", "c", "s")], current="x")
rc, out, err, log = discover({"kubeconfig": kc})
tls = fake.ctl("GET", "state")["tls_errors"]
ck.ok(rc != 0 and not log and tls, "a client certificate from another CA: the server refuses the handshake",
      (rc, err, tls[-1:]))
kc = fake.kubeconfig("unknown-token", token="no-such-token")
rc, out, err, log = discover({"kubeconfig": kc})
ck.ok(rc != 0 and "401" in err and log and log[0]["status"] == 401, "an unknown token: 401 reported", err)
ck.ok("no-such-token" not in err + out, "the refused token is not printed")
kc = write_kc("refuse/insecure", [{"name": "c", "cluster": {"server": fake.url, "insecure-skip-tls-verify": True}}],
              [cert_user("u")], [ctx("x", "c", "u")], current="x")
rc, out, err, log = discover({"kubeconfig": kc})
ck.ok(rc != 0 and "insecure-skip-tls-verify" in err and "allowInsecure" in err and not log,
      "insecure-skip-tls-verify refused without allowInsecure, nothing sent", err)
rc, out, err, log = discover({"kubeconfig": kc, "allowInsecure": True})
ck.ok(rc == 0 and log, "and accepted with allowInsecure: true", err)
kc = write_kc("refuse/http", [{"name": "c", "cluster": {"server": "http://127.0.0.1:9"}}], [cert_user("u")],
              [ctx("x", "c", "u")], current="x")
rc, out, err, log = discover({"kubeconfig": kc})
ck.ok(rc != 0 and "plain HTTP" in err, "a plain http server refused", err)
kc = write_kc("refuse/nocreds", [cluster("c")], [{"name": "u", "user": {}}], [ctx("x", "c", "u")], current="x")
rc, out, err, log = discover({"kubeconfig": kc})
ck.ok(rc != 0 and "no credentials" in err, "a user without credentials refused", err)
kc = env.write("refuse/broken", "clusters: [\n  - name: x\n   bad indent\n")
os.chmod(kc, stat.S_IRUSR | stat.S_IWUSR)
rc, out, err, log = discover({"kubeconfig": kc})
ck.ok(rc != 0 and "refuse/broken" in err and "line" in err, "a broken kubeconfig: file and line", err)
# proxy-url: the driver reaches the API server through an HTTP CONNECT proxy
# (a stand-in written here that tunnels bytes and records what it was asked
# to reach); TLS is still end to end with the cluster's CA
import socket  # noqa: E402
import threading  # noqa: E402


class ConnectProxy:
    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.targets = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.one, args=(c,), daemon=True).start()

    def one(self, c):
        head = b""
        while b"\r\n\r\n" not in head:
            d = c.recv(4096)
            if not d:
                c.close()
                return
            head += d
        parts = head.split(b"\r\n", 1)[0].decode().split()
        if len(parts) < 2 or parts[0] != "CONNECT":
            c.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            c.close()
            return
        self.targets.append(parts[1])
        host, port = parts[1].rsplit(":", 1)
        u = socket.create_connection((host, int(port)))
        c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")

        def pipe(a, b):
            try:
                while True:
                    d = a.recv(65536)
                    if not d:
                        break
                    b.sendall(d)
            except OSError:
                pass
            for x in (a, b):
                try:
                    x.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        threading.Thread(target=pipe, args=(u, c), daemon=True).start()
        pipe(c, u)


proxy = ConnectProxy()
server_hostport = fake.url.split("://", 1)[1].rstrip("/")
kc = write_kc("proxy/config", [cluster("c", **{"proxy-url": "http://127.0.0.1:%d" % proxy.port})],
              [cert_user("u")], [ctx("x", "c", "u")], current="x")
rc, out, err, log = discover({"kubeconfig": kc})
ck.ok(rc == 0 and log, "proxy-url: the requests reach the cluster through the proxy", err)
ck.ok(proxy.targets and all(t == server_hostport for t in proxy.targets),
      "proxy-url: the proxy was asked to CONNECT to the API server (%s)" % server_hostport, proxy.targets)
dead = socket.socket()
dead.bind(("127.0.0.1", 0))
dead_port = dead.getsockname()[1]
dead.close()
kc = write_kc("proxy/dead", [cluster("c", **{"proxy-url": "http://127.0.0.1:%d" % dead_port})],
              [cert_user("u")], [ctx("x", "c", "u")], current="x")
rc, out, err, log = discover({"kubeconfig": kc})
ck.ok(rc != 0 and not log, "proxy-url: a proxy that is not there fails the request, nothing reaches the cluster",
      (rc, err))
fake.close()
env.close()
ck.done()
