"""wltest.py - what the tests of a workload's own token (POST
/v1/identity/token of `fedbroker serve`) share: the request, stopping
serve and reading its log, the verification of an issued JWT-SVID against
the broker's published JWKS (python3-jwt), and the search for a token in
serve's log and in the broker's home."""
import json
import os
import subprocess
import urllib.error
import urllib.request


def post(base, doc, method="POST", raw=None):
    """(status, parsed JSON answer or text) of POST base/v1/identity/token."""
    data = raw if raw is not None else json.dumps(doc).encode()
    r = urllib.request.Request(base + "/v1/identity/token", data=data if method == "POST" else None,
                               method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(r, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        text = e.read().decode()
        try:
            return e.code, json.loads(text)
        except ValueError:
            return e.code, text


def stop(procs):
    """Terminates serve processes; their standard error, joined."""
    log = ""
    for p in procs:
        p.terminate()
        try:
            _, err = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
        log += err.decode()
    return log


def verify(ans, jwks, issuer, sub, aud, ttl=None):
    """True when ans's token verifies with a key of jwks (a JWK Set, by
    kid) for issuer and aud, names sub, lives ttl seconds (when given) and
    expires at ans["expiresAt"]; else why not."""
    import jwt
    tok = ans.get("token", "") if isinstance(ans, dict) else ""
    try:
        kid = jwt.get_unverified_header(tok)["kid"]
        key = jwt.PyJWK([k for k in jwks["keys"] if k["kid"] == kid][0]).key
        c = jwt.decode(tok, key, algorithms=["RS256", "ES256"], audience=aud, issuer=issuer)
        return c["sub"] == sub and (ttl is None or c["exp"] - c["iat"] == ttl) and c["exp"] == ans.get("expiresAt")
    except Exception as e:  # noqa: BLE001 - any failure is the finding
        return repr(e)


def leaks(seen, log, home):
    """The tokens of seen (JWTs: whole, or their signature) found in log
    and in the files under home: (in log, in files), each a short prefix."""
    def parts(x):
        return [x] + ([x.rsplit(".", 1)[-1]] if x.count(".") == 2 else [])
    in_log = [x[:16] for x in seen if x and any(p in log for p in parts(x))]
    in_files = []
    for root, _, files in os.walk(home):
        for name in files:
            with open(os.path.join(root, name), "rb") as fh:
                data = fh.read()
            in_files += [(name, x[:16]) for x in seen if x and any(p.encode() in data for p in parts(x))]
    return in_log, in_files
