#!/usr/bin/env python3
"""example cloud: the tiny REST API the tutorial driver (examples/driver)
talks to. It validates what it receives (JSON body, the fields an app must
have, the labels fedbroker sets) so the life-cycle test proves the driver
sends well-formed requests, and it keeps state so apply -> status ->
destroy -> discover round-trip.

    PUT    /v1/apps/NAME   create or replace (201 created, 200 replaced)
    GET    /v1/apps/NAME   200 with the app, 404 when absent
    DELETE /v1/apps/NAME   204, 404 when absent
    GET    /v1/apps        {"apps": [...]}
    POST   /__fake/seed    add an app directly (an unmanaged one, for discover)
    POST   /__fake/mutate  change a field of an app (drift, for status)
    GET    /__fake/log     the requests received

Usage: example_cloud.py PORTFILE   (listens on 127.0.0.1, an ephemeral port)
"""
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

APPS = {}
LOG = []
LOCK = threading.Lock()
NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
REQUIRED = {"name": str, "kind": str, "memoryMiB": int, "cpuMillis": int, "labels": dict}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, code, body=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        return json.loads(raw) if raw else None

    def handle_any(self, method):
        with LOCK:
            LOG.append({"method": method, "path": self.path})
        m = re.fullmatch(r"/v1/apps/([^/]+)", self.path)
        if self.path == "/__fake/log" and method == "GET":
            return self.reply(200, {"log": LOG})
        if self.path == "/__fake/seed" and method == "POST":
            app = self.body()
            with LOCK:
                APPS[app["name"]] = app
            return self.reply(201, app)
        if self.path == "/__fake/mutate" and method == "POST":
            b = self.body()
            with LOCK:
                APPS[b["name"]][b["field"]] = b["value"]
            return self.reply(200, APPS[b["name"]])
        if self.path == "/v1/apps" and method == "GET":
            with LOCK:
                return self.reply(200, {"apps": sorted(APPS.values(), key=lambda a: a["name"])})
        if not m:
            return self.reply(404, {"message": "no such route"})
        name = m.group(1)
        if method == "PUT":
            if self.headers.get("Content-Type") != "application/json":
                return self.reply(415, {"message": "Content-Type must be application/json"})
            try:
                app = self.body()
            except ValueError as e:
                return self.reply(400, {"message": "body is not JSON: %s" % e})
            for field, typ in REQUIRED.items():
                if not isinstance(app.get(field), typ):
                    return self.reply(400, {"message": "field %s missing or not %s" % (field, typ.__name__)})
            if app["name"] != name or not NAME.match(name):
                return self.reply(400, {"message": "name in the body must match the path and be a DNS label"})
            if app["memoryMiB"] > 4096:
                return self.reply(400, {"message": "at most 4096 MiB"})
            if app["labels"].get("managed-by") != "fedbroker":
                return self.reply(400, {"message": "label managed-by missing"})
            with LOCK:
                existed = name in APPS
                APPS[name] = app
            return self.reply(200 if existed else 201, app)
        if method == "GET":
            with LOCK:
                app = APPS.get(name)
            return self.reply(200, app) if app else self.reply(404, {"message": "not found"})
        if method == "DELETE":
            with LOCK:
                existed = APPS.pop(name, None) is not None
            return self.reply(204) if existed else self.reply(404, {"message": "not found"})
        return self.reply(405, {"message": "method not allowed"})

    def do_GET(self):
        self.handle_any("GET")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def do_POST(self):
        self.handle_any("POST")


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    srv.serve_forever()


if __name__ == "__main__":
    main()
