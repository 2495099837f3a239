#!/usr/bin/python3
"""Cross-check of the kit's SigV4 signer against botocore.

Generates random requests (methods, hosts and ports, paths with dot
segments, repeated slashes and percent-encoded bytes, queries, duplicate and
messy headers, bodies, session tokens, unsigned payloads, S3 mode, presigned
URLs), signs each with botocore's SigV4Auth / S3SigV4Auth / SigV4QueryAuth /
S3SigV4QueryAuth at a fixed time, and with tests/kit/sigv4_tool (the kit's
fbk_sigv4_sign), and compares canonical request, string to sign, signature,
Authorization and the headers or URL that go on the wire.

Run from the build directory (make check does); SIGV4_SEED and SIGV4_CASES
override the seed and the number of cases.
"""
import datetime
import json
import logging
import os
import random
import subprocess
import sys
import types
from urllib.parse import parse_qsl, urlsplit

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

TOOL = os.path.join(os.getcwd(), "tests", "kit", "sigv4_tool")


# ---- a fixed clock for botocore --------------------------------------------
class _Clock(datetime.datetime):
    fixed = None

    @classmethod
    def utcnow(cls):
        return cls.fixed


botocore.auth.datetime = types.SimpleNamespace(datetime=_Clock)


# ---- botocore logs the canonical request and string to sign ------------------
class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.creq = None
        self.sts = None

    def emit(self, record):
        msg = record.getMessage()
        if msg.startswith("CanonicalRequest:\n"):
            self.creq = msg[len("CanonicalRequest:\n"):]
        elif msg.startswith("StringToSign:\n"):
            self.sts = msg[len("StringToSign:\n"):]


CAP = _Capture()
_log = logging.getLogger("botocore.auth")
_log.setLevel(logging.DEBUG)
_log.addHandler(CAP)
_log.propagate = False

# ---- generators --------------------------------------------------------------
UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
PATH_EXTRA = list("!$&'()*+,;=:@") + ["%20", "%2F", "%E1%88%B4", "%25", "%3a", "%7E"]
QUERY_ENC = ["%2F", "%3D", "%26", "%20", "%2B", "%E2%82%AC", "%3A", "%2C", "%25"]
HOSTS = [
    ("https", "example.amazonaws.com"),
    ("https", "lambda.eu-west-1.amazonaws.com:443"),
    ("http", "127.0.0.1:8080"),
    ("http", "localhost:80"),
    ("https", "[::1]:8443"),
    ("https", "Mixed.Case.Example.COM"),
    ("http", "sts.example.test:9999"),
]
HEADER_NAMES = ["X-Amz-Meta-Alpha", "x-amz-meta-alpha", "Content-Type", "X-Custom",
                "My-Header", "Accept", "X-Amz-Target", "User-Agent", "Expect",
                "X-Amzn-Trace-Id", "Content-Encoding", "x-amz-meta-Zeta"]
SERVICES = ["service", "lambda", "ecs", "sts", "s3", "execute-api", "braket"]
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1"]


def word(r, alphabet, extra, maxlen):
    out = []
    for _ in range(r.randint(0, maxlen)):
        if extra and r.random() < 0.2:
            out.append(r.choice(extra))
        else:
            out.append(r.choice(alphabet))
    return "".join(out)


def gen_path(r):
    segs = []
    for _ in range(r.randint(0, 5)):
        x = r.random()
        if x < 0.1:
            segs.append("")
        elif x < 0.17:
            segs.append(".")
        elif x < 0.24:
            segs.append("..")
        else:
            segs.append(word(r, UNRESERVED, PATH_EXTRA, 8) or "a")
    path = "/" + "/".join(segs)
    if r.random() < 0.2:
        path += "/"
    if r.random() < 0.05:
        path = ""
    return path


def gen_query(r, unique_keys):
    pairs = []
    keys = set()
    for _ in range(r.randint(0, 4)):
        k = word(r, UNRESERVED, QUERY_ENC, 6) or "k"
        if unique_keys and k in keys:
            continue
        keys.add(k)
        if r.random() < 0.15:
            pairs.append(k)
        else:
            pairs.append(k + "=" + word(r, UNRESERVED, QUERY_ENC, 8))
        if not unique_keys and r.random() < 0.15:
            pairs.append(k + "=" + word(r, UNRESERVED, QUERY_ENC, 4))
    return "&".join(pairs)


def gen_value(r):
    words = [word(r, UNRESERVED + "/:;,\"'()=", None, 6) for _ in range(r.randint(0, 3))]
    out = "".join(r.choice([" ", "  ", "\t", " \t "]) if r.random() < 0.3 else "" for _ in range(1))
    for i, w in enumerate(words):
        if i:
            out += r.choice([" ", "   ", "\t", " \t  "])
        out += w
    if r.random() < 0.3:
        out += r.choice([" ", "\t", "  "])
    return out


def gen_case(r, i):
    mode = r.choices(["header", "unsigned", "s3", "s3-unsigned", "presign", "s3-presign"],
                     [50, 10, 15, 5, 12, 8])[0]
    presign = "presign" in mode
    scheme, host = r.choice(HOSTS)
    if mode in ("unsigned", "s3-unsigned"):
        scheme = "https"  # botocore signs the payload over plain http regardless
    method = r.choice(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"])
    path = gen_path(r)
    if "s3" in mode and path == "":
        # botocore's S3 signers keep an empty path empty while the SigV4
        # rules say an empty absolute path is "/" (what the kit does);
        # botocore's S3 serializer never produces one, so do not compare it.
        path = "/"
    query = gen_query(r, presign)
    url = f"{scheme}://{host}{path}" + (("?" + query) if query or r.random() < 0.05 else "")
    headers = []
    for _ in range(r.randint(0, 5)):
        headers.append((r.choice(HEADER_NAMES), gen_value(r)))
    if r.random() < 0.1:
        headers.append(("Host", urlsplit(url).netloc.lower().replace(":443", "")
                        if scheme == "https" else urlsplit(url).netloc.lower().replace(":80", "")))
    if mode == "header" and r.random() < 0.05:
        headers.append(("X-Amz-Content-SHA256", "%064x" % r.getrandbits(256)))
    body = b""
    if not presign and method in ("POST", "PUT", "PATCH") and r.random() < 0.8:
        body = bytes(r.getrandbits(8) for _ in range(r.randint(0, 300)))
    token = None
    if r.random() < 0.5:
        token = word(r, UNRESERVED + "/+=", None, 80) or "tok"
    t = datetime.datetime(2000, 1, 1) + datetime.timedelta(seconds=r.randint(0, 35 * 365 * 86400))
    return {
        "id": i, "mode": mode, "method": method, "url": url, "headers": headers,
        "body": body, "token": token, "time": t,
        "access_key": "AKID" + word(r, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", None, 16),
        "secret_key": word(r, UNRESERVED + "/+", None, 40) or "secret",
        "region": r.choice(REGIONS), "service": r.choice(SERVICES),
        "expires": r.randint(1, 604800),
    }


# ---- botocore side -------------------------------------------------------------
def botocore_sign(c):
    _Clock.fixed = _Clock(*c["time"].timetuple()[:6])
    creds = Credentials(c["access_key"], c["secret_key"], c["token"])
    req = AWSRequest(method=c["method"], url=c["url"], data=c["body"] or None)
    for n, v in c["headers"]:
        req.headers[n] = v  # HTTPMessage appends: duplicates are kept in order
    mode = c["mode"]
    if mode == "unsigned":
        req.context["payload_signing_enabled"] = False
    if mode == "s3-unsigned":
        req.context["client_config"] = Config(s3={"payload_signing_enabled": False})
    if mode in ("header", "unsigned"):
        signer = botocore.auth.SigV4Auth(creds, c["service"], c["region"])
    elif mode in ("s3", "s3-unsigned"):
        signer = botocore.auth.S3SigV4Auth(creds, c["service"], c["region"])
    elif mode == "presign":
        signer = botocore.auth.SigV4QueryAuth(creds, c["service"], c["region"], c["expires"])
    else:
        signer = botocore.auth.S3SigV4QueryAuth(creds, c["service"], c["region"], c["expires"])
    CAP.creq = CAP.sts = None
    signer.add_auth(req)
    return {"canonical_request": CAP.creq, "string_to_sign": CAP.sts, "url": req.url,
            "headers": list(req.headers.items())}


def kit_input(c):
    flags = {"header": [], "unsigned": ["unsigned", "content_sha256"], "s3": ["s3"],
             "s3-unsigned": ["s3", "unsigned"], "presign": ["presign"],
             "s3-presign": ["presign", "s3", "unsigned"]}[c["mode"]]
    return {"method": c["method"], "url": c["url"], "headers": c["headers"],
            "body_hex": c["body"].hex(), "access_key": c["access_key"],
            "secret_key": c["secret_key"], "token": c["token"], "region": c["region"],
            "service": c["service"], "time": int(c["time"].replace(
                tzinfo=datetime.timezone.utc).timestamp()),
            "flags": flags, "expires": c["expires"]}


def compare(c, b, k):
    """Returns a list of differences (empty when they agree)."""
    if "error" in k:
        return [f"kit refused: {k['error']}"]
    diffs = []
    for f in ("canonical_request", "string_to_sign"):
        if b[f] != k[f]:
            diffs.append(f"{f}:\n--- botocore\n{b[f]}\n--- kit\n{k[f]}")
    if "presign" in c["mode"]:
        bu, ku = urlsplit(b["url"]), urlsplit(k["url"])
        if (bu.scheme, bu.netloc, bu.path) != (ku.scheme, ku.netloc, ku.path):
            diffs.append(f"presigned URL base: botocore {b['url']} kit {k['url']}")
        bq = sorted(parse_qsl(bu.query, keep_blank_values=True))
        kq = sorted(parse_qsl(ku.query, keep_blank_values=True))
        if bq != kq:
            diffs.append(f"presigned query:\n botocore {bq}\n kit      {kq}")
        if not k["url"].endswith("&X-Amz-Signature=" + k["signature"]):
            diffs.append("presigned URL does not end with X-Amz-Signature")
        if k["headers"]:
            diffs.append(f"presign added headers {k['headers']}")
    else:
        ours = [(n, v) for n, v in c["headers"]] + [(n, v) for n, v in k["headers"]]
        if b["headers"] != ours:
            diffs.append(f"headers on the wire:\n botocore {b['headers']}\n kit      {ours}")
    return diffs


def main():
    seed = int(os.environ.get("SIGV4_SEED", "20150830"))
    n = int(os.environ.get("SIGV4_CASES", "600"))
    if not os.access(TOOL, os.X_OK):
        print(f"FAIL: {TOOL} not built (run from the build directory)")
        return 1
    r = random.Random(seed)
    cases = [gen_case(r, i) for i in range(n)]
    inp = "".join(json.dumps(kit_input(c)) + "\n" for c in cases)
    proc = subprocess.run([TOOL], input=inp.encode(), stdout=subprocess.PIPE, check=True)
    outs = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    if len(outs) != n:
        print(f"FAIL: tool answered {len(outs)} of {n}")
        return 1
    failures = 0
    modes = {}
    for c, k in zip(cases, outs):
        b = botocore_sign(c)
        modes[c["mode"]] = modes.get(c["mode"], 0) + 1
        d = compare(c, b, k)
        if d:
            failures += 1
            if failures <= 5:
                print(f"--- case {c['id']} ({c['mode']} {c['method']} {c['url']!r} "
                      f"headers={c['headers']!r} token={'yes' if c['token'] else 'no'})")
                for x in d:
                    print(x)
    print(f"sigv4 vs botocore {botocore.__version__}: seed {seed}, {n} cases "
          f"({', '.join(f'{m} {v}' for m, v in sorted(modes.items()))}), {failures} differ")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
