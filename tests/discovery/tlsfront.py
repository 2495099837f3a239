"""tlsfront.py - a TLS terminator in front of tests/fakes/fake_aws.py, so
health probes reach https://<id>.lambda-url.<region>.on.aws/ URLs as they
are recorded (TLS verified against a test CA, Host kept) while the fake
itself speaks plain HTTP on loopback. The certificate is made here with
the openssl command for *.lambda-url.<region>.on.aws of the given regions."""
import os
import socket
import ssl
import subprocess
import threading


def make_pki(d, regions):
    """-> (ca.pem, cert.pem, key.pem) under d."""
    ca_key, ca = os.path.join(d, "ca.key"), os.path.join(d, "ca.pem")
    key, csr, crt = os.path.join(d, "srv.key"), os.path.join(d, "srv.csr"), os.path.join(d, "srv.pem")
    ext = os.path.join(d, "ext.cnf")
    q = dict(check=True, capture_output=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key,
                    "-out", ca, "-days", "2", "-subj", "/CN=fedbroker test CA"], **q)
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
                    "-subj", "/CN=lambda-url"], **q)
    with open(ext, "w") as f:
        f.write("subjectAltName=" + ",".join(f"DNS:*.lambda-url.{r}.on.aws" for r in regions) + "\n")
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
                    "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", ext], **q)
    return ca, crt, key


class TlsFront:
    """Accepts TLS on 127.0.0.1:port and pipes each connection to the
    backend port in plain text."""

    def __init__(self, backend_port, cert, key):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.backend = backend_port
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _serve(self, c):
        try:
            t = self.ctx.wrap_socket(c, server_side=True)
            b = socket.create_connection(("127.0.0.1", self.backend))
        except (OSError, ssl.SSLError):
            c.close()
            return
        threading.Thread(target=self._pipe, args=(b, t), daemon=True).start()
        self._pipe(t, b)

    def close(self):
        self.sock.close()
