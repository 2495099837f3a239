#!/usr/bin/python3
"""The broker as an OIDC issuer through the real CLI (issue 15, items 1-2),
checked by code we did not write: python3-jwt verifies every token against
the JWK Set `fedbroker identity publish` wrote (signature, kid, iss, aud,
exp), python3-cryptography rebuilds the public keys and computes each RFC
7638 thumbprint the kid must equal, python3-jsonschema validates header and
claims against the SPIFFE JWT-SVID schema (tests/reference/spiffe), and the
JWT-SVID rules (only alg/kid/typ in the header, exp <= 1 h) are checked.

Also: SPIFFE IDs in `identity show`; a bad trust domain or an http issuer
refused with file:line and pointer; the master key file at 0644 refused
with the reason (exit 2) and nothing signed; --ttl over 1 h refused; key
rotation with overlap: the next key is published before it signs, a token
signed by the old key still verifies after rotation until it expires, and
an hour after the rotation the old key is gone from the JWKS (the clock
moved with FEDBROKER_NOW).

Environment (tests/local.mk): FEDBROKER, top_srcdir, FEDBROKER_DRIVER_PATH."""
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import jsonschema
import jwt
import yaml
from cryptography.hazmat.primitives.asymmetric import ec, rsa

TOP = os.environ.get("top_srcdir") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FEDBROKER = os.environ.get("FEDBROKER") or os.path.join(TOP, "build", "fedbroker")
SVID_SCHEMA = yaml.safe_load(open(os.path.join(TOP, "tests", "reference", "spiffe", "JWT-SVID.schema")))

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Checker  # noqa: E402

ck = Checker("tokens")
ok = ck.ok


tmp = tempfile.mkdtemp(prefix="fb-identity-")
os.chmod(tmp, 0o755)
home = os.path.join(tmp, "home")
os.mkdir(home, 0o700)
CONFIG = {"identity": {"trustDomain": "prod.example.com", "issuer": "https://oidc.example.com/fb"}}


def write_config(cfg, path=None):
    path = path or os.path.join(home, "config.json")
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2)
    os.chmod(path, 0o600)


def run(*args, now=None, stdin=None):
    env = dict(os.environ, FEDBROKER_HOME=home)
    env.pop("FEDBROKER_NOW", None)
    if now is not None:
        env["FEDBROKER_NOW"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    p = subprocess.run([FEDBROKER, *args], capture_output=True, text=True, env=env, input=stdin, timeout=120)
    return p.returncode, p.stdout, p.stderr


def b64u(b):
    return base64.urlsafe_b64decode(b + "=" * (-len(b) % 4))


def thumbprint(jwk):
    """RFC 7638 section 3: the required members, sorted, no whitespace."""
    req = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y")}[jwk["kty"]]
    text = json.dumps({k: jwk[k] for k in req}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()


def publish(now=None):
    d = os.path.join(tmp, "pub")
    shutil.rmtree(d, ignore_errors=True)
    rc, out, err = run("identity", "publish", d, now=now)
    ok(rc == 0, "identity publish exits 0", err)
    disc = json.load(open(os.path.join(d, ".well-known", "openid-configuration")))
    jwks = json.load(open(os.path.join(d, "jwks.json")))
    return disc, jwks


def verify(token, jwks, aud, now=None):
    """python3-jwt: the key named by kid in the published set; returns claims or raises."""
    kid = jwt.get_unverified_header(token)["kid"]
    keys = {k["kid"]: k for k in jwks["keys"]}
    if kid not in keys:
        raise jwt.InvalidTokenError(f"kid {kid} is not in the JWKS")
    key = jwt.PyJWK(keys[kid]).key
    opts = {"require": ["exp", "iat", "sub", "aud", "iss"]}
    leeway = 0
    if now is not None:  # judge time at the test's clock, not the machine's
        opts.update(verify_exp=False, verify_iat=False, verify_nbf=False)
    claims = jwt.decode(token, key=key, algorithms=["RS256", "ES256"], audience=aud,
                        issuer=CONFIG["identity"]["issuer"], options=opts, leeway=leeway)
    if now is not None and claims["exp"] <= now:
        raise jwt.ExpiredSignatureError("expired at the test clock")
    if now is not None and claims["iat"] > now:
        raise jwt.ImmatureSignatureError("issued after the test clock")
    return claims


try:
    # ---- configuration ----------------------------------------------------
    rc, out, err = run("identity", "show", "api")
    ok(rc == 2 and "trustDomain" in err and "prod.example.com" in err,
       "without identity.trustDomain: exit 2, saying what to add", (rc, err))
    for bad, word in (({"trustDomain": "Prod.Example.com"}, "trustDomain"),
                      ({"trustDomain": "prod.example.com:443"}, "trustDomain"),
                      ({"trustDomain": "prod.example.com", "issuer": "http://oidc.example.com"}, "https"),
                      ({"trustDomain": "prod.example.com", "masterKey": "/k"}, "masterKey")):
        write_config({"identity": bad})
        rc, out, err = run("identity", "show", "api")
        ok(rc == 2 and "config.json:" in err and "/identity/" in err and word in err,
           f"identity {bad} refused with file:line and pointer", (rc, err))
    write_config(CONFIG)

    # ---- SPIFFE IDs -------------------------------------------------------
    rc, out, err = run("identity", "show", "api", "--tenant", "acme", "--format", "json")
    show = json.loads(out) if rc == 0 else {}
    ok(show.get("spiffe_id") == "spiffe://prod.example.com/tenant/acme/workload/api"
       and show.get("issuer") == "https://oidc.example.com/fb",
       "identity show: SPIFFE ID spiffe://TD/tenant/T/workload/NAME and the issuer", (rc, out, err))
    rc, out, err = run("identity", "show", "api/../admin")
    ok(rc == 2 and "SPIFFE" in err, "a workload name that is no path segment is refused", (rc, err))

    # ---- the master key ----------------------------------------------------
    rc, out, err = run("identity", "token", "api", "--tenant", "acme", "--audience", "sts.amazonaws.com")
    mk = os.path.join(home, "master.key")
    ok(rc == 0 and os.stat(mk).st_mode & 0o777 == 0o600 and os.path.getsize(mk) == 32,
       "the master key is made on first use: 32 bytes, mode 0600", (rc, err))
    os.chmod(mk, 0o644)
    rc, out, err = run("identity", "token", "api", "--audience", "x")
    ok(rc == 2 and "0644" in err and "could read it" in err and "chmod 600" in err and out == "",
       "a master key file with mode 0644 is refused, saying why and how to fix it; no token", (rc, out, err))
    os.chmod(mk, 0o600)
    con_keys = subprocess.run(["sqlite3", os.path.join(home, "state.db"),
                               "SELECT sealed_private FROM signing_keys"], capture_output=True, text=True).stdout
    ok("PRIVATE" not in con_keys and len(con_keys.split()) == 4,
       "four keys (RS256, ES256: current and next) stored sealed, no PEM in the state", con_keys[:200])

    # ---- tokens, JWKS, discovery -------------------------------------------
    disc, jwks = publish()
    ok(disc["issuer"] == "https://oidc.example.com/fb" and
       disc["jwks_uri"] == "https://oidc.example.com/fb/jwks.json" and
       "RS256" in disc["id_token_signing_alg_values_supported"],
       "openid-configuration names the issuer and its jwks_uri", disc)
    ok(len(jwks["keys"]) == 4 and all(k["kid"] == thumbprint(k) for k in jwks["keys"]),
       "every published kid is the key's RFC 7638 thumbprint (computed here)", jwks)
    ok(all("d" not in k and "p" not in k for k in jwks["keys"]), "the JWKS has no private parameters")
    for k in jwks["keys"]:
        pk = jwt.PyJWK(k).key
        good = isinstance(pk, rsa.RSAPublicKey) and pk.key_size == 2048 if k["kty"] == "RSA" else \
            isinstance(pk, ec.EllipticCurvePublicKey) and pk.curve.name == "secp256r1"
        ok(good, f"python3-cryptography loads {k['alg']} key {k['kid'][:8]} (RSA 2048 / P-256)")

    t0 = int(time.time())
    for alg in ("RS256", "ES256"):
        rc, tok, err = run("identity", "token", "api", "--tenant", "acme", "--audience", "sts.amazonaws.com",
                           "--ttl", "10m", "--alg", alg)
        tok = tok.strip()
        ok(rc == 0 and tok.count(".") == 2, f"identity token --alg {alg} prints one compact JWS", (rc, err))
        hdr = jwt.get_unverified_header(tok)
        try:
            c = verify(tok, jwks, "sts.amazonaws.com")
        except Exception as e:  # noqa: BLE001 - any failure is the finding
            c = {"error": repr(e)}
        ok(c.get("sub") == "spiffe://prod.example.com/tenant/acme/workload/api" and
           c.get("aud") == "sts.amazonaws.com" and c.get("iss") == "https://oidc.example.com/fb",
           f"{alg}: python3-jwt verifies signature, iss, aud; sub is the SPIFFE ID", c)
        ok(set(hdr) == {"alg", "kid", "typ"} and hdr["alg"] == alg and hdr["typ"] == "JWT",
           f"{alg}: the header holds only alg, kid, typ (JWT-SVID section 2)", hdr)
        ok(c.get("exp", 0) - c.get("iat", 0) == 600 and abs(c.get("iat", 0) - t0) < 60 and
           len(c.get("jti", "")) >= 16, f"{alg}: exp = iat + 10 min, iat now, a jti", c)
        cur = [k for k in jwks["keys"] if k["kid"] == hdr["kid"]]
        ok(cur and cur[0]["alg"] == alg, f"{alg}: signed by the published {alg} key", hdr)
        try:
            jsonschema.validate({"header": hdr, "payload": c}, SVID_SCHEMA)
            ok(True, f"{alg}: header and claims valid against SPIFFE's JWT-SVID.schema")
        except jsonschema.ValidationError as e:
            ok(False, f"{alg}: header and claims valid against SPIFFE's JWT-SVID.schema", str(e))
        try:
            verify(tok, jwks, "https://run.googleapis.com")
            ok(False, f"{alg}: another audience is refused by python3-jwt")
        except jwt.InvalidAudienceError:
            ok(True, f"{alg}: another audience is refused by python3-jwt")
        # a changed claim breaks the signature
        h, p, s = tok.split(".")
        claims = json.loads(b64u(p))
        claims["sub"] = "spiffe://prod.example.com/tenant/acme/workload/admin"
        forged = h + "." + base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode() + "." + s
        try:
            verify(forged, jwks, "sts.amazonaws.com")
            ok(False, f"{alg}: a token with a changed sub fails verification")
        except jwt.InvalidSignatureError:
            ok(True, f"{alg}: a token with a changed sub fails verification")

    # expiry, judged by python3-jwt at the real clock: a 1 s token
    rc, tok, err = run("identity", "token", "api", "--audience", "a", "--ttl", "1s")
    time.sleep(2.2)
    try:
        verify(tok.strip(), jwks, "a")
        ok(False, "a 1 s token is refused as expired by python3-jwt 2 s later")
    except jwt.ExpiredSignatureError:
        ok(True, "a 1 s token is refused as expired by python3-jwt 2 s later")
    for ttl in ("61m", "2h", "0s"):
        rc, out, err = run("identity", "token", "api", "--audience", "a", "--ttl", ttl)
        ok(rc == 2 and out == "" and "1 h" in err, f"--ttl {ttl} refused (1 s to 1 h)", (rc, err))
    rc, out, err = run("identity", "token", "api")
    ok(rc == 64 and "--audience" in err, "a token needs --audience (exit 64)", (rc, err))

    # ---- rotation with overlap ---------------------------------------------
    T = int(time.time()) + 10
    rc, out, err = run("identity", "keys", "--format", "json", now=T)
    before = {k["alg"]: {} for k in json.loads(out)["keys"]}
    for k in json.loads(out)["keys"]:
        before[k["alg"]][k["state"]] = k["kid"]
    rc, old_tok, err = run("identity", "token", "api", "--audience", "a", "--ttl", "1h", now=T)
    old_tok = old_tok.strip()
    old_kid = jwt.get_unverified_header(old_tok)["kid"]
    ok(old_kid == before["RS256"]["current"], "before rotation the current RS256 key signs", (before, old_kid))
    disc, jwks = publish(now=T)
    ok(before["RS256"]["next"] in {k["kid"] for k in jwks["keys"]},
       "the next key is published before it signs anything")
    rc, out, err = run("identity", "keys", "rotate", "--format", "json", now=T + 60)
    rot = json.loads(out) if rc == 0 else {}
    states = {k["kid"]: k["state"] for k in rot.get("keys", [])}
    ok(rc == 0 and states.get(before["RS256"]["current"]) == "retired" and
       states.get(before["RS256"]["next"]) == "current" and list(states.values()).count("next") == 2,
       "rotate: current -> retired, next -> current, a new next per algorithm", (rc, out, err))
    rc, new_tok, err = run("identity", "token", "api", "--audience", "a", now=T + 120)
    new_kid = jwt.get_unverified_header(new_tok.strip())["kid"]
    ok(new_kid == before["RS256"]["next"], "after rotation the former next key signs", (new_kid, before))
    disc, jwks = publish(now=T + 120)
    kids = {k["kid"] for k in jwks["keys"]}
    ok(old_kid in kids and len(kids) == 6, "right after rotation the old key is still published (6 keys)", kids)
    for label, at in (("right after rotation", T + 120), ("59 min later", T + 59 * 60)):
        try:
            verify(old_tok, jwks, "a", now=at)
            ok(True, f"a token signed by the old key still verifies {label}")
        except jwt.InvalidTokenError as e:
            ok(False, f"a token signed by the old key still verifies {label}", repr(e))
    later = T + 60 + 3600
    disc, jwks = publish(now=later)
    kids = {k["kid"] for k in jwks["keys"]}
    ok(old_kid not in kids and before["ES256"]["current"] not in kids and new_kid in kids and len(kids) == 4,
       "an hour after rotation (every token it signed has expired) the old key is gone from the JWKS", kids)
    try:
        verify(old_tok, jwks, "a", now=later)
        ok(False, "the old key's token no longer verifies against the new JWKS")
    except jwt.InvalidTokenError:
        ok(True, "the old key's token no longer verifies against the new JWKS")
    rc, out, err = run("identity", "keys", "--format", "json", now=later)
    ok(rc == 0 and len(json.loads(out)["keys"]) == 4, "keys lists 4 keys once the retired ones are gone", out)

    # ---- a master key that is not the one that sealed the keys --------------
    with open(mk, "wb") as f:
        f.write(os.urandom(32))
    rc, out, err = run("identity", "token", "api", "--audience", "a", now=later)
    ok(rc == 2 and out == "" and "does not unseal" in err,
       "with another master key the signing key does not unseal: exit 2, no token", (rc, out, err))
finally:
    shutil.rmtree(tmp, ignore_errors=True)

ck.done()
