/* jose.c - the JOSE pieces the issuer needs (RFC 7515 JWS compact
 * serialisation, RFC 7517 JWKs, RFC 7518 RS256/ES256, RFC 7638
 * thumbprints), on OpenSSL 3's EVP interface. Only what signing needs:
 * verification is the relying party's job, and the tests verify with
 * implementations we did not write (python3-jwt, python3-cryptography). */
#include "config.h"
#include "identity/identity.h"
#include "base/util.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

char *fbi_b64url(const void *data, size_t n)
{
    size_t len = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = fbi_xmalloc(len);
    sodium_bin2base64(out, len, data, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

unsigned char *fbi_b64url_decode(const char *s, size_t *n)
{
    size_t len = strlen(s);
    unsigned char *out = fbi_xmalloc(len + 1);
    size_t got = 0;
    if (sodium_base642bin(out, len + 1, s, len, "=", &got, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
        free(out);
        return NULL;
    }
    out[got] = 0;
    *n = got;
    return out;
}

/* base64url of a big-endian number; width 0 = its minimal length. */
static char *bn_b64url(const BIGNUM *bn, int width)
{
    int n = width ? width : BN_num_bytes(bn);
    unsigned char *b = fbi_xmalloc((size_t)n + 1);
    BN_bn2binpad(bn, b, n);
    char *s = fbi_b64url(b, (size_t)n);
    free(b);
    return s;
}

static void put_bn(json_t *o, const char *key, EVP_PKEY *k, const char *param, int width)
{
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(k, param, &bn) != 1) return;
    char *s = bn_b64url(bn, width);
    json_object_set_new(o, key, json_string(s));
    free(s);
    BN_free(bn);
}

json_t *fbi_jwk_public(EVP_PKEY *key, const char *alg, const char *kid)
{
    json_t *o = json_object();
    if (EVP_PKEY_is_a(key, "RSA")) {
        json_object_set_new(o, "kty", json_string("RSA"));
        put_bn(o, "n", key, OSSL_PKEY_PARAM_RSA_N, 0);
        put_bn(o, "e", key, OSSL_PKEY_PARAM_RSA_E, 0);
    } else {
        /* P-256: coordinates are exactly 32 bytes (RFC 7518 6.2.1.2) */
        json_object_set_new(o, "kty", json_string("EC"));
        json_object_set_new(o, "crv", json_string("P-256"));
        put_bn(o, "x", key, OSSL_PKEY_PARAM_EC_PUB_X, 32);
        put_bn(o, "y", key, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
    }
    if (alg) json_object_set_new(o, "alg", json_string(alg));
    json_object_set_new(o, "use", json_string("sig"));
    if (kid) json_object_set_new(o, "kid", json_string(kid));
    return o;
}

char *fbi_jwk_thumbprint(const json_t *jwk)
{
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    const char *const *members;
    static const char *const rsa[] = {"e", "kty", "n", NULL};
    static const char *const ec[] = {"crv", "kty", "x", "y", NULL};
    if (kty && strcmp(kty, "RSA") == 0) members = rsa;
    else if (kty && strcmp(kty, "EC") == 0) members = ec;
    else return NULL;
    /* RFC 7638 3.1: the required members only, in lexicographic order,
     * no whitespace; their values are base64url text, so no escaping */
    fbi_buf b;
    fbi_buf_init(&b);
    fbi_buf_putc(&b, '{');
    for (int i = 0; members[i]; i++) {
        const char *v = json_string_value(json_object_get(jwk, members[i]));
        if (!v) {
            fbi_buf_free(&b);
            return NULL;
        }
        fbi_buf_printf(&b, "%s\"%s\":\"%s\"", i ? "," : "", members[i], v);
    }
    fbi_buf_putc(&b, '}');
    unsigned char h[32];
    crypto_hash_sha256(h, (const unsigned char *)b.data, b.len);
    fbi_buf_free(&b);
    return fbi_b64url(h, sizeof h);
}

static BIGNUM *jwk_bn(const json_t *jwk, const char *name)
{
    const char *s = json_string_value(json_object_get(jwk, name));
    size_t n = 0;
    unsigned char *b = s ? fbi_b64url_decode(s, &n) : NULL;
    if (!b) return NULL;
    BIGNUM *bn = BN_bin2bn(b, (int)n, NULL);
    sodium_memzero(b, n);
    free(b);
    return bn;
}

EVP_PKEY *fbi_jwk_private_key(const json_t *jwk, fb_diag *diag)
{
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    int rsa = kty && strcmp(kty, "RSA") == 0;
    int ec = kty && strcmp(kty, "EC") == 0;
    static const char *const rsa_names[] = {"n", "e", "d", "p", "q", "dp", "dq", "qi"};
    static const char *const rsa_params[] = {
        OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E, OSSL_PKEY_PARAM_RSA_D,
        OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
        OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
        OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
    EVP_PKEY *key = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *bns[8] = {0};
    unsigned char *pub = NULL;
    int ok = bld != NULL;
    if (rsa) {
        for (int i = 0; i < 8 && ok; i++) {
            bns[i] = jwk_bn(jwk, rsa_names[i]);
            ok = bns[i] && OSSL_PARAM_BLD_push_BN(bld, rsa_params[i], bns[i]);
        }
    } else if (ec && json_string_value(json_object_get(jwk, "crv")) &&
               strcmp(json_string_value(json_object_get(jwk, "crv")), "P-256") == 0) {
        bns[0] = jwk_bn(jwk, "x");
        bns[1] = jwk_bn(jwk, "y");
        bns[2] = jwk_bn(jwk, "d");
        ok = ok && bns[0] && bns[1] && bns[2];
        if (ok) {
            pub = fbi_xmalloc(65);
            pub[0] = 4; /* uncompressed point */
            ok = BN_bn2binpad(bns[0], pub + 1, 32) == 32 && BN_bn2binpad(bns[1], pub + 33, 32) == 32;
        }
        ok = ok && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
             OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, 65) &&
             OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, bns[2]);
    } else {
        ok = 0;
    }
    OSSL_PARAM *params = ok ? OSSL_PARAM_BLD_to_param(bld) : NULL;
    EVP_PKEY_CTX *ctx = params ? EVP_PKEY_CTX_new_from_name(NULL, rsa ? "RSA" : "EC", NULL) : NULL;
    if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_KEYPAIR, params) != 1) {
        key = NULL;
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL,
                    "the JWK is not an RSA or P-256 private key with all its parameters", NULL);
    }
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    for (int i = 0; i < 8; i++) BN_clear_free(bns[i]);
    free(pub);
    return key;
}

char *fbi_jws_sign_raw(EVP_PKEY *key, const char *alg, const char *protected_b64,
                       const char *payload_b64, fb_diag *diag)
{
    int es = strcmp(alg, "ES256") == 0;
    if (!es && strcmp(alg, "RS256") != 0) {
        char *m = fbi_xasprintf("unsupported JWS algorithm %s (RS256 or ES256)", alg);
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, m, NULL);
        free(m);
        return NULL;
    }
    char *input = fbi_xasprintf("%s.%s", protected_b64, payload_b64);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t siglen = 0;
    unsigned char *sig = NULL;
    int ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
             EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)input, strlen(input)) == 1;
    if (ok) {
        sig = fbi_xmalloc(siglen);
        ok = EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input, strlen(input)) == 1;
    }
    EVP_MD_CTX_free(md);
    char *out = NULL;
    if (ok && es) {
        /* OpenSSL gives DER; JWS wants r || s, 32 bytes each (RFC 7518 3.4) */
        const unsigned char *p = sig;
        ECDSA_SIG *e = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
        unsigned char rs[64];
        ok = e && BN_bn2binpad(ECDSA_SIG_get0_r(e), rs, 32) == 32 &&
             BN_bn2binpad(ECDSA_SIG_get0_s(e), rs + 32, 32) == 32;
        ECDSA_SIG_free(e);
        if (ok) {
            char *s = fbi_b64url(rs, sizeof rs);
            out = fbi_xasprintf("%s.%s", input, s);
            free(s);
        }
    } else if (ok) {
        char *s = fbi_b64url(sig, siglen);
        out = fbi_xasprintf("%s.%s", input, s);
        free(s);
    }
    free(sig);
    free(input);
    if (!out)
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL,
                    "OpenSSL could not sign with the key (is it the algorithm's key type?)", NULL);
    return out;
}

char *fbi_jws_sign(EVP_PKEY *key, const char *alg, const json_t *header, const json_t *payload,
                   fb_diag *diag)
{
    char *h = json_dumps(header, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char *p = json_dumps(payload, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char *hb = fbi_b64url(h, strlen(h));
    char *pb = fbi_b64url(p, strlen(p));
    char *out = fbi_jws_sign_raw(key, alg, hb, pb, diag);
    free(h);
    free(p);
    free(hb);
    free(pb);
    return out;
}
