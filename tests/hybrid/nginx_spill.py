#!/usr/bin/python3
"""The overflow path for real (issue 17): Debian's nginx in front of stand-in
container and function backends, with the configuration fedbroker renders.

`fedbroker simulate SPEC --gateway-config nginx` renders an upstream of two
container replicas (max_conns = targetConcurrency = 5 each, in a shared
zone) and the function URL as a backup server. nginx runs on loopback as a
non-root user with a temporary prefix. The stand-ins are HTTP servers in
this process: each holds every request for the workload's meanDuration
(100 ms), counts the requests it served and how many were in flight at the
containers when a function request arrived. wrk drives the gateway with
7, 14 and 31 connections: a closed loop, so the offered concurrency is the
number of connections, and 7 is the baseline (70% of the 10 container
slots; 14 is 200%, 31 is 450%). Checked:
  - the containers never hold more than max_conns each;
  - at 100% nothing spills to the function;
  - a function request arrives only when the containers are saturated
    (all 10 slots busy at some moment of the 100 ms, one hold time, before
    it arrived, for at least 90% of them: the request's trip from nginx's
    decision to the function backend takes that long on a loaded machine);
  - the measured function share is within 10 percentage points of the
    simulator's for the same load (`simulate --profile` at the rate
    connections / meanDuration, hybrid, --baseline 2).
Then the same with the function behind https (as Lambda and Cloud Run
URLs are): the rendering sends nginx's own 502 (all containers full) to it
through error_page, verifying its certificate (a CA made here with
openssl); at 100% and 450% the same checks hold, and with a CA that does
not vouch for the function's certificate no request reaches it.
Skips (77) when nginx or wrk is absent. Environment: FEDBROKER,
FEDBROKER_DRIVER_PATH (tests/local.mk)."""
import http.server
import json
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.environ.get("top_srcdir") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FEDBROKER = os.environ.get("FEDBROKER") or os.path.join(TOP, "build", "fedbroker")
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
WRK = shutil.which("wrk")
HOLD = 0.100          # meanDuration
SLOTS = 5             # targetConcurrency (max_conns per replica)
REPLICAS = 2
RUN_S = 5

SPEC = """apiVersion: fedbroker.dev/v1
kind: Container
metadata: {name: spill-api}
spec:
  image: ghcr.io/acme/spill:1
  ports: [{port: 8080, protocol: http, public: true}]
  resources: {cpu: "0.5", memory: 1Gi}
  scaling: {minInstances: 2, maxInstances: 2, targetConcurrency: 5}
  burst: {to: function}
  traffic:
    meanDuration: 100ms
    sources: [{location: new-york, weight: 1}]
    profile: [{at: 0m, rps: 70}, {at: 1m, rps: 70}]
  placement: {strategy: hybrid}
"""

failures = []


def check(name, ok, detail=""):
    print("%s %s%s" % ("ok  " if ok else "FAIL", name, (": " + detail) if detail and not ok else ""))
    if not ok:
        failures.append(name)


class Log:
    """What the stand-ins saw: each container request's arrival, when its
    answer started and when it was written, and each function request's
    arrival. nginx counts a request from before its arrival here until it
    has read the answer: [arrival, answer started] is never longer than
    nginx's count (for max_conns), [arrival, written + 5 ms] never shorter
    (for saturation)."""
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.cont = {}    # port -> [(start, answered)]
            self.fn = []      # arrival times
            self.fn_conns = 0  # TLS connections the function accepted


L = Log()
CONTAINER_PORTS = []
FUNCTION_PORT = [0]


def handler_for(port):
    class H(http.server.BaseHTTPRequestHandler):
        # HTTP/1.1: a connection stays open for the next request (nginx keeps
        # the function's connections, see the rendering)
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            start = time.monotonic()
            if port == FUNCTION_PORT[0]:
                with L.lock:
                    L.fn.append(start)
            time.sleep(HOLD)
            answering = time.monotonic()
            body = b"ok\n"
            try:
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass  # wrk stopped and nginx closed the connection: not an answer
            if port != FUNCTION_PORT[0]:
                with L.lock:
                    L.cont.setdefault(port, []).append((start, answering, time.monotonic()))

        def log_message(self, *a):
            pass
    return H


# one request's hold time at the stand-in backends (HOLD)
SATURATION_WINDOW = HOLD


def saturated_before(intervals, t, window, need):
    """Were `need` container requests in flight at once at some moment of
    [t - window, t]? The occupancy only rises at a request's start, so the
    moments to look at are the window's start and the starts inside it."""
    lo = t - window
    for p in [lo] + [a for a, _, _ in intervals if lo <= a <= t]:
        if sum(1 for a, _, b in intervals if a <= p <= b) >= need:
            return True
    return False


def peak_overlap(intervals):
    ev = sorted([(a, 1) for a, _, _ in intervals] + [(b, -1) for _, b, _ in intervals],
                key=lambda e: (e[0], e[1]))
    cur = best = 0
    for _, d in ev:
        cur += d
        best = max(best, cur)
    return best


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


class TLSServer(Server):
    """The https function. The handshake is made in the connection's own
    thread (wrapping the listening socket would make it in the accepting
    thread, one at a time: on a loaded machine that queue, not nginx, would
    set the function's share)."""
    ctx = None

    def finish_request(self, request, client_address):
        try:
            request = self.ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # a client that does not trust the certificate
        with L.lock:
            L.fn_conns += 1
        super().finish_request(request, client_address)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def start_backend():
    srv = Server(("127.0.0.1", 0), None)
    port = srv.server_address[1]
    srv.RequestHandlerClass = handler_for(port)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, port


def simulated_share(tmp, conns):
    rps = conns / HOLD
    prof = os.path.join(tmp, "p%d.csv" % conns)
    with open(prof, "w") as f:
        f.write("timestamp,requests_per_second\n0m,%g\n1m,%g\n" % (rps, rps))
    r = subprocess.run([FEDBROKER, "simulate", os.path.join(tmp, "spec.yaml"), "--profile", prof,
                        "--strategy", "hybrid", "--baseline", "2", "--format", "json", "--no-steps"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        check("simulate at %d connections" % conns, False, r.stderr.strip()[:300])
        return None
    s = json.loads(r.stdout)["strategies"][0]
    return s["servedFunctions"] / s["offered"]


def start_nginx(tmp, tag, snippet, pre, gw):
    """Writes a configuration around snippet and starts nginx on it (as the
    user pre switches to). Returns the process, or None after a failed
    check."""
    prefix = os.path.join(tmp, tag)
    os.makedirs(prefix, exist_ok=True)
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as f:
        f.write("worker_processes 1;\npid %s/nginx.pid;\nerror_log %s/error.log warn;\n"
                "events { worker_connections 1024; }\n"
                "http {\n  access_log off;\n  client_body_temp_path %s/body;\n"
                "  proxy_temp_path %s/proxy;\n  fastcgi_temp_path %s/fcgi;\n"
                "  uwsgi_temp_path %s/uwsgi;\n  scgi_temp_path %s/scgi;\n%s}\n"
                % ((prefix,) * 7 + (snippet,)))
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        for d, _, files in os.walk(tmp):
            os.chown(d, nobody.pw_uid, nobody.pw_gid)
            for fn in files:
                os.chown(os.path.join(d, fn), nobody.pw_uid, nobody.pw_gid)
    # -e: the error log before the configuration is read (the default
    # under /var/log is not writable by an unprivileged user)
    elog = ["-e", os.path.join(prefix, "error.log")]
    t = subprocess.run(pre + [NGINX, "-t", "-p", prefix, "-c", conf] + elog, capture_output=True, text=True)
    check("%s: nginx -t accepts the rendered configuration" % tag, t.returncode == 0, t.stderr.strip()[-400:])
    if t.returncode != 0:
        return None
    nginx = subprocess.Popen(pre + [NGINX, "-p", prefix, "-c", conf, "-g", "daemon off;"] + elog,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", gw), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    return nginx


def drive(tmp, tag, gw, levels):
    for pct, conns in levels:
        L.reset()
        w = subprocess.run([WRK, "-t1", "-c%d" % conns, "-d%ds" % RUN_S, "--timeout", "5s",
                            "http://127.0.0.1:%d/" % gw], capture_output=True, text=True)
        check("%s %d%%: wrk (%d connections) ran" % (tag, pct, conns), w.returncode == 0, w.stderr[-200:])
        time.sleep(HOLD * 3)
        with L.lock:
            cont_iv = {p: list(L.cont.get(p, [])) for p in CONTAINER_PORTS}
            fn_at = list(L.fn)
        cont = sum(len(v) for v in cont_iv.values())
        fn = len(fn_at)
        total = cont + fn
        check("%s %d%%: every request answered 2xx" % (tag, pct), "Non-2xx" not in w.stdout and total > 0,
              w.stdout[-300:])
        peaks = [peak_overlap(v) for v in cont_iv.values()]
        check("%s %d%%: no replica ever held more than max_conns=%d" % (tag, pct, SLOTS),
              max(peaks) <= SLOTS, "peaks %s" % peaks)
        share = fn / total if total else 0
        print("     %s %d%%: %d requests, containers %d, function %d (share %.3f)"
              % (tag, pct, total, cont, fn, share))
        if pct == 100:
            check("%s 100%%: nothing spills while the containers have room" % tag, fn == 0,
                  "function %d" % fn)
        else:
            # were all container slots busy just before each function request
            # arrived? nginx decides, then the request travels to the
            # function backend: on a loaded machine that takes tens of
            # milliseconds, so the question is asked of the last
            # SATURATION_WINDOW (one request's hold time) before the arrival
            allc = [iv for v in cont_iv.values() for iv in v]
            sat = sum(1 for t in fn_at if saturated_before(allc, t, SATURATION_WINDOW, REPLICAS * SLOTS))
            check("%s %d%%: function requests arrive only with the containers saturated" % (tag, pct),
                  fn_at and sat >= 0.9 * len(fn_at),
                  "%d of %d saw all %d slots busy within %.0f ms before" % (sat, len(fn_at), REPLICAS * SLOTS,
                                                                          SATURATION_WINDOW * 1000))
        sim = simulated_share(tmp, conns)
        if sim is not None:
            check("%s %d%%: measured function share %.3f within 0.10 of the simulator's %.3f"
                  % (tag, pct, share, sim), abs(share - sim) <= 0.10)


def render(tmp, gw, url, extra=()):
    cmd = [FEDBROKER, "simulate", os.path.join(tmp, "spec.yaml"), "--gateway-config", "nginx",
           "--function-url", url, "--listen", "127.0.0.1:%d" % gw] + list(extra)
    for p in CONTAINER_PORTS:
        cmd += ["--container-endpoint", "127.0.0.1:%d" % p]
    return subprocess.run(cmd, capture_output=True, text=True)


def main():
    if not NGINX or not WRK:
        print("SKIP: nginx and wrk are needed (apt-get install nginx wrk; ./quickstart installs them)")
        return 77
    pre = []
    if os.geteuid() == 0:
        # nginx as a non-root user: as root, drop to nobody for the whole process
        setpriv = shutil.which("setpriv")
        if not setpriv:
            print("SKIP: running as root and setpriv (util-linux) is missing to drop to nobody")
            return 77
        nobody = pwd.getpwnam("nobody")
        pre = [setpriv, "--reuid=%d" % nobody.pw_uid, "--regid=%d" % nobody.pw_gid, "--clear-groups"]
    tmp = tempfile.mkdtemp(prefix="fbspill.")
    nginx = None
    servers = []
    try:
        with open(os.path.join(tmp, "spec.yaml"), "w") as f:
            f.write(SPEC)
        for _ in range(REPLICAS):
            srv, port = start_backend()
            servers.append(srv)
            CONTAINER_PORTS.append(port)
        fsrv, FUNCTION_PORT[0] = start_backend()
        servers.append(fsrv)

        # 1. an http function: the backup server of the containers' upstream
        gw = free_port()
        r = render(tmp, gw, "http://127.0.0.1:%d/" % FUNCTION_PORT[0])
        check("simulate --gateway-config nginx exits 0", r.returncode == 0, r.stderr.strip()[:300])
        if r.returncode != 0:
            return 1
        snippet = r.stdout
        check("max_conns per replica is targetConcurrency",
              snippet.count("max_conns=%d;" % SLOTS) == REPLICAS, snippet[-400:])
        check("the function is the backup server",
              ("server 127.0.0.1:%d backup;" % FUNCTION_PORT[0]) in snippet)
        bad = render(tmp, gw, "https://x.lambda-url.us-east-1.on.aws/path")
        check("a function URL with a path is refused (exit 2, nothing on stdout)",
              bad.returncode == 2 and bad.stdout == "", "rc=%d" % bad.returncode)
        bad = render(tmp, gw, "http://127.0.0.1:1/", ["--function-ca", "/tmp/x.pem"])
        check("--function-ca with an http function is refused", bad.returncode == 2 and bad.stdout == "")
        nginx = start_nginx(tmp, "http", snippet, pre, gw)
        if not nginx:
            return 1
        drive(tmp, "http", gw, ((100, 7), (200, 14), (450, 31)))
        nginx.terminate()
        nginx.wait(timeout=10)
        nginx = None

        # 2. an https function (as Lambda and Cloud Run URLs are): nginx's own
        # 502 when the containers are full goes to it through error_page, its
        # certificate verified against a CA made here
        fsrv.shutdown()
        fsrv.server_close()
        key, crt = os.path.join(tmp, "fn.key"), os.path.join(tmp, "fn.pem")
        g = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                            "-out", crt, "-days", "1", "-subj", "/CN=localhost",
                            "-addext", "subjectAltName=DNS:localhost"], capture_output=True, text=True)
        check("a test certificate for localhost", g.returncode == 0, g.stderr[-300:])
        tsrv = TLSServer(("127.0.0.1", 0), None)
        FUNCTION_PORT[0] = tsrv.server_address[1]
        tsrv.RequestHandlerClass = handler_for(FUNCTION_PORT[0])
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, key)
        tsrv.ctx = ctx
        threading.Thread(target=tsrv.serve_forever, daemon=True).start()
        servers[-1] = tsrv
        gw = free_port()
        r = render(tmp, gw, "https://localhost:%d/" % FUNCTION_PORT[0], ["--function-ca", crt])
        check("https function: rendered", r.returncode == 0, r.stderr[-300:])
        snippet = r.stdout
        check("https function: error_page to it, its certificate verified, no backup server",
              "error_page 502 = @function;" in snippet and "proxy_ssl_verify on;" in snippet and
              ("proxy_ssl_trusted_certificate %s;" % crt) in snippet and "backup" not in snippet)
        nginx = start_nginx(tmp, "https", snippet, pre, gw)
        if not nginx:
            return 1
        check("https function: its connections are kept open (an upstream with keepalive, HTTP/1.1)",
              "keepalive" in snippet and "_function;" in snippet)
        drive(tmp, "https", gw, ((100, 7), (450, 31)))
        with L.lock:
            fn_n, conns_n = len(L.fn), L.fn_conns
        # a handshake per request is what keepalive avoids: at 450% the
        # function served hundreds of requests over at most the gateway's
        # 21 overflow connections at a time (plus reconnects)
        check("https 450%%: the function's TLS connections are reused (%d requests over %d connections)"
              % (fn_n, conns_n), fn_n > 0 and conns_n * 2 <= fn_n)
        # a function whose certificate does not verify gets nothing
        nginx.terminate()
        nginx.wait(timeout=10)
        other = os.path.join(tmp, "other.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        os.path.join(tmp, "other.key"), "-out", other, "-days", "1", "-subj", "/CN=localhost"],
                       capture_output=True)
        r = render(tmp, gw, "https://localhost:%d/" % FUNCTION_PORT[0], ["--function-ca", other])
        nginx = start_nginx(tmp, "https-untrusted", r.stdout, pre, gw)
        if nginx:
            L.reset()
            w = subprocess.run([WRK, "-t1", "-c31", "-d2s", "--timeout", "5s", "http://127.0.0.1:%d/" % gw],
                               capture_output=True, text=True)
            time.sleep(HOLD * 3)
            with L.lock:
                fn = len(L.fn)
            check("https function with a certificate the CA does not vouch for: no request reaches it, "
                  "the overflow fails (Non-2xx)", fn == 0 and "Non-2xx" in w.stdout, (fn, w.stdout[-200:]))
        for srv in servers:
            srv.shutdown()
    finally:
        if nginx:
            nginx.terminate()
            try:
                nginx.wait(timeout=5)
            except subprocess.TimeoutExpired:
                nginx.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
