"""Test certificates for the fake API server, made with the openssl command
(P-256 keys, valid two days; nothing here is a real secret):

  ca.crt/.key            the cluster CA: signs the server and client certificates
  server.crt/.key        CN kube-apiserver, SAN IP:127.0.0.1, DNS:localhost,
                         DNS:kubernetes.default.svc
  <user>.crt/.key        client certificates: CN = user, one O per group
  other-ca.crt/.key      an unrelated CA
  stranger.crt/.key      a client certificate signed by other-ca (the fake refuses
                         its TLS handshake)

make_pki(dir, users) creates what is missing; kubeconfig() writes a kubeconfig
for kubectl or any client that reads one.
"""
import os
import subprocess

import yaml

DEFAULT_USERS = {"admin": ["system:masters"], "alice": ["dev", "tenants"], "bob": ["dev"]}


def _run(args, cwd):
    p = subprocess.run(["openssl"] + args, cwd=cwd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (" ".join(args), p.stderr.strip()))


def _key(name, d):
    _run(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", name + ".key"], d)
    os.chmod(os.path.join(d, name + ".key"), 0o600)


def _ca(name, cn, d):
    _key(name, d)
    _run(["req", "-x509", "-new", "-key", name + ".key", "-out", name + ".crt", "-days", "2",
          "-subj", "/CN=" + cn, "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"], d)


def _leaf(name, subj, ext, ca, d):
    _key(name, d)
    _run(["req", "-new", "-key", name + ".key", "-out", name + ".csr", "-subj", subj], d)
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write(ext)
    serial = "0x" + os.urandom(8).hex()
    _run(["x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt", "-CAkey", ca + ".key", "-set_serial", serial,
          "-out", name + ".crt", "-days", "2", "-extfile", name + ".ext"], d)
    for suffix in (".csr", ".ext"):
        os.unlink(os.path.join(d, name + suffix))


def client_cert(d, user, groups, ca="ca"):
    subj = "".join("/O=" + g for g in groups) + "/CN=" + user
    _leaf(user, subj, "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                      "extendedKeyUsage=clientAuth\n", ca, d)


def make_pki(d, users=None):
    os.makedirs(d, exist_ok=True)
    if not os.path.exists(os.path.join(d, "ca.crt")):
        _ca("ca", "fake-k8s-ca", d)
    if not os.path.exists(os.path.join(d, "server.crt")):
        _leaf("server", "/CN=kube-apiserver",
              "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
              "extendedKeyUsage=serverAuth\n"
              "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\n", "ca", d)
    for user, groups in (users or DEFAULT_USERS).items():
        if not os.path.exists(os.path.join(d, user + ".crt")):
            client_cert(d, user, groups)
    if not os.path.exists(os.path.join(d, "other-ca.crt")):
        _ca("other-ca", "some-other-ca", d)
    if not os.path.exists(os.path.join(d, "stranger.crt")):
        client_cert(d, "stranger", ["system:masters"], ca="other-ca")
    return d


def kubeconfig(path, server, ca_file, user="admin", cert=None, key=None, token=None, exec_cfg=None,
               namespace=None, embed=False):
    """Write a kubeconfig with one cluster, user and context (current)."""
    def data(p):
        import base64
        with open(p, "rb") as f:
            return base64.b64encode(f.read()).decode()
    cluster = {"server": server}
    if embed:
        cluster["certificate-authority-data"] = data(ca_file)
    else:
        cluster["certificate-authority"] = ca_file
    u = {}
    if cert:
        if embed:
            u["client-certificate-data"], u["client-key-data"] = data(cert), data(key)
        else:
            u["client-certificate"], u["client-key"] = cert, key
    if token:
        u["token"] = token
    if exec_cfg:
        u["exec"] = exec_cfg
    ctx = {"cluster": "fake", "user": user}
    if namespace:
        ctx["namespace"] = namespace
    doc = {"apiVersion": "v1", "kind": "Config", "clusters": [{"name": "fake", "cluster": cluster}],
           "users": [{"name": user, "user": u}], "contexts": [{"name": "fake", "context": ctx}],
           "current-context": "fake", "preferences": {}}
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        yaml.safe_dump(doc, f, sort_keys=False)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path
