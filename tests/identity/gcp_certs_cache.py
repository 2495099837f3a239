#!/usr/bin/python3
"""The gcp driver caches Google's ID token certificates (issue 15, "What is
not built yet": attest fetched them for each proof). A workload's proof
(POST /v1/identity/token of `fedbroker serve`, provider gcp) is checked
against Google's certificates (settings.certsUrl, here fake_gcp's
/oauth2/v1/certs, which answers with Google's Cache-Control: public,
max-age=N, must-revalidate, no-transform). Checked by counting the fake's
certificate GETs (its request log, method "certs"):

- expiry honoured: with max-age=2, a proof, 3 s later another: two GETs;
- many proofs (20, from 8 threads) within max-age: one GET, all accepted;
- a kid Google does not publish: refused, and refetches at most once per
  10 s (no GET storm from invented kids: the GETs of that phase are at
  least 10 s apart);
- Google rotates its key (the fake's POST /__fake/google-key: the new key
  signs, the old one stays published): the first token of the new key makes
  exactly one refetch and is accepted, later ones none; a token of the old
  key is still accepted without a GET;
- the driver's attest run from 32 threads at once on one context
  (tests/identity/attest_many: the gcp driver loaded with the real host
  table, 4 proofs per thread), its set expired: every proof accepted, one
  certificate GET (one thread fetches, the others wait for its answer).

Environment (tests/local.mk): FEDBROKER, top_srcdir, FEDBROKER_DRIVER_PATH."""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "gcp"))
from gcptest import BUILD, DRIVER_PATH, PROJECT, REGION, Checker, Env, Fake, settings, skip_unless_built  # noqa: E402
sys.path.insert(0, here)
import wltest  # noqa: E402
from wltest import post  # noqa: E402

skip_unless_built()
import jwt  # noqa: E402

REFETCH_S = 10  # CERTS_REFETCH_S of drivers/gcp/gcp_attest.c
ck = Checker("identity gcp certificate cache")
fake = Fake(tempfile.mkdtemp(prefix="fb-gcp-fake-"))
env = Env(fake)
TD = "prod.example.com"
ISSUER = "https://oidc.example.com/fb"
TOKEN_URL = "https://broker.example.com/v1/identity/token"
gs = settings(fake)
gs["endpoints"]["iam"] = fake.url + "/iam"
gs["certsUrl"] = fake.url + "/oauth2/v1/certs"
env.write_config(gs, extra={"identity": {"trustDomain": TD, "issuer": ISSUER, "tokenUrl": TOKEN_URL}})
SA = "fb-shop-api@%s.iam.gserviceaccount.com" % PROJECT
api_spec = env.write("api.yaml", """apiVersion: fedbroker.dev/v1
kind: Container
metadata: {name: api, tenant: shop}
spec:
  image: europe-docker.pkg.dev/demo/apps/api:1
  ports: [{port: 8080, protocol: http}]
""")


def id_token():
    """api's ID token from the fake metadata server, for the token URL."""
    fake.control("POST", "metadata", {"email": SA})
    q = "audience=%s&format=full" % urllib.request.quote(TOKEN_URL, safe="")
    r = urllib.request.Request(fake.url + "/computeMetadata/v1/instance/service-accounts/default/identity?" + q,
                               headers={"Metadata-Flavor": "Google"})
    with urllib.request.urlopen(r, timeout=30) as resp:
        return resp.read().decode()


def cert_gets(since):
    """Times of the certificate GETs the fake saw after seq since."""
    return [e["time"] for e in fake.log(since) if e.get("method_id") == "certs"]


def ask(base, tok):
    return post(base, {"provider": "gcp", "proof": {"idToken": tok}, "audience": "https://api.example.com"})


serve = None
seen = []
try:
    rc, out, err = env.run("apply", api_spec, "--target", "gcp:%s" % REGION)
    ck.ok(rc == 0, "apply of a Cloud Run service", (rc, err[-3000:]))
    serve = env.popen("serve", "--listen", "127.0.0.1:0")
    line = serve.stdout.readline().decode()
    ck.ok(line.startswith("listening on http://127.0.0.1:"), "serve listens", line)
    base = line.split()[-1]
    tok = id_token()
    seen.append(tok)

    # expiry: max-age=2, two proofs 3 s apart fetch twice
    fake.config(certs_max_age=2)
    s0 = fake.seq()
    c1, _ = ask(base, tok)
    time.sleep(3)
    c2, _ = ask(base, tok)
    gets = cert_gets(s0)
    ck.ok(c1 == 200 and c2 == 200 and len(gets) == 2,
          "max-age honoured: a proof after the certificates' max-age (2 s) fetches them again", (c1, c2, gets))

    # many proofs within max-age: one GET (the set of max-age 2 has expired)
    fake.config(certs_max_age=3600)
    time.sleep(3)
    s1 = fake.seq()
    codes = []
    lock = threading.Lock()

    def worker(n):
        for _ in range(n):
            c, _ = ask(base, tok)
            with lock:
                codes.append(c)
    threads = [threading.Thread(target=worker, args=(3 if i < 4 else 2,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    gets = cert_gets(s1)
    ck.ok(len(codes) == 20 and set(codes) == {200} and len(gets) == 1,
          "20 proofs from 8 threads within max-age: all accepted, one certificate GET", (codes, gets))

    # invented kids: refused, refetch rate-limited
    h, p, s = tok.split(".")
    hdr = jwt.get_unverified_header(tok)
    bogus = dict(hdr, kid="0" * 40)
    btok = "%s.%s.%s" % (jwt.utils.base64url_encode(json.dumps(bogus).encode()).decode(), p, s)
    t_start = time.time()
    bcodes = [ask(base, btok)[0] for _ in range(6)]
    elapsed = time.time() - t_start
    gets = cert_gets(s1)  # with the fetch of the phase before: the spacing counts from it
    gaps = [b - a for a, b in zip(gets, gets[1:])]
    ck.ok(set(bcodes) == {401} and all(g >= REFETCH_S - 0.5 for g in gaps) and
          len(gets) - 1 <= 1 + int(elapsed // REFETCH_S),
          "6 tokens with a kid Google does not publish: refused, and a refetch at most once per %d s" % REFETCH_S,
          (bcodes, gets, elapsed))

    # Google rotates: the new kid makes one refetch (once REFETCH_S has passed)
    last = cert_gets(0)[-1]
    wait = last + REFETCH_S + 0.5 - time.time()
    if wait > 0:
        time.sleep(wait)
    new_kid = fake.control("POST", "google-key")["kid"]
    s3 = fake.seq()
    tok2 = id_token()
    seen.append(tok2)
    ok_kid = jwt.get_unverified_header(tok2)["kid"] == new_kid != hdr["kid"]
    r = [ask(base, tok2)[0] for _ in range(3)]
    r_old = ask(base, tok)[0]
    gets = cert_gets(s3)
    ck.ok(ok_kid and r == [200, 200, 200] and r_old == 200 and len(gets) == 1,
          "a rotated key: its first token refetches once and is accepted, later ones and the old key's token "
          "fetch nothing", (ok_kid, r, r_old, gets))

    # 32 threads on one driver context, the set expired: one GET
    fake.config(certs_max_age=3600)
    tok3 = id_token()
    seen.append(tok3)
    time.sleep(0.1)
    s4 = fake.seq()
    tool = os.path.join(BUILD, "tests", "identity", "attest_many")
    p = subprocess.run([tool, os.path.join(DRIVER_PATH, "gcp.so"), json.dumps(gs), "32", "4"],
                       input=json.dumps({"proof": {"idToken": tok3}, "serverId": ISSUER, "tokenUrl": TOKEN_URL}).encode(),
                       env=env.env, capture_output=True, timeout=600)
    try:
        res = json.loads(p.stdout)
    except ValueError:
        res = None
    gets = cert_gets(s4)
    ck.ok(p.returncode == 0 and res == {"calls": 128, "statuses": {"ok": 128}} and len(gets) == 1,
          "attest from 32 threads on one context (a fresh cache): 128 proofs accepted, one certificate GET",
          (p.returncode, res, len(gets), p.stderr.decode()[-800:]))
finally:
    log = wltest.stop([serve] if serve else [])
    in_log, _ = wltest.leaks(seen, log, env.home)
    ck.ok(seen and not in_log, "serve's log holds no ID token", in_log)
    fake.close()
    env.close()
ck.done()
