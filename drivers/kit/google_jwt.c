/* google_jwt.c - RS256 JSON Web Tokens (RFC 7515/7519) signed with OpenSSL,
 * and the service-account assertion Google's token endpoint takes (RFC
 * 7523). See fbk_google.h. */
#include "config.h"
#include "fbk_google.h"

#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

char *fbk_base64url(const void *data, size_t len)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const unsigned char *p = data;
    char *out = fbk_xmalloc(4 * ((len + 2) / 3) + 1);
    size_t o = 0, i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = tab[v >> 6 & 63];
        out[o++] = tab[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = tab[v >> 6 & 63];
    }
    out[o] = '\0';
    return out;
}

unsigned char *fbk_base64url_decode(const char *s, size_t len, size_t *n)
{
    while (len > 0 && s[len - 1] == '=') len--;
    if (len % 4 == 1) return NULL; /* no byte count ends there */
    unsigned char *out = fbk_xmalloc(len * 3 / 4 + 1);
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int v = c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26
              : c >= '0' && c <= '9' ? c - '0' + 52 : c == '-' ? 62 : c == '_' ? 63 : -1;
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = (acc << 6 | (uint32_t)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits & 0xff);
        }
    }
    out[o] = '\0';
    *n = o;
    return out;
}

/* The JSON object of one base64url part of a JWS (new), or NULL. */
static json_t *jws_part(const char *p, size_t len)
{
    size_t n = 0;
    unsigned char *raw = fbk_base64url_decode(p, len, &n);
    json_t *o = raw ? json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, NULL) : NULL;
    free(raw);
    if (o && !json_is_object(o)) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

int fbk_jwt_split(const char *jwt, json_t **header, json_t **claims, unsigned char **sig, size_t *sig_len,
                  size_t *signed_len, char **err)
{
    *header = *claims = NULL;
    *sig = NULL;
    *sig_len = *signed_len = 0;
    *err = NULL;
    const char *d1 = jwt ? strchr(jwt, '.') : NULL;
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d2 || strchr(d2 + 1, '.')) {
        *err = fbk_xstrdup("the token is not a JWS in compact form (three base64url parts joined by '.')");
        return -1;
    }
    *header = jws_part(jwt, (size_t)(d1 - jwt));
    *claims = *header ? jws_part(d1 + 1, (size_t)(d2 - d1 - 1)) : NULL;
    *sig = *claims ? fbk_base64url_decode(d2 + 1, strlen(d2 + 1), sig_len) : NULL;
    if (!*sig) {
        *err = fbk_xstrdup(!*header ? "the token's header is not base64url of a JSON object"
                           : !*claims ? "the token's claims are not base64url of a JSON object"
                                      : "the token's signature is not base64url");
        json_decref(*header);
        json_decref(*claims);
        *header = *claims = NULL;
        return -1;
    }
    *signed_len = (size_t)(d2 - jwt);
    return 0;
}

int fbk_rs256_verify_cert(const char *cert_pem, const void *data, size_t n, const unsigned char *sig,
                          size_t sig_len, char **err)
{
    *err = NULL;
    BIO *b = cert_pem ? BIO_new_mem_buf(cert_pem, -1) : NULL;
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    EVP_PKEY *k = x ? X509_get_pubkey(x) : NULL;
    X509_free(x);
    int rc = -1;
    if (!k) {
        *err = fbk_xstrdup("the certificate is not a PEM X.509 certificate");
    } else if (EVP_PKEY_base_id(k) != EVP_PKEY_RSA) {
        *err = fbk_xstrdup("the certificate's key is not an RSA key: RS256 needs one");
    } else {
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        rc = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k) == 1 &&
             EVP_DigestVerify(md, sig, sig_len, data, n) == 1;
        EVP_MD_CTX_free(md);
    }
    ERR_clear_error();
    EVP_PKEY_free(k);
    return rc;
}

/* The RSA private key of a PEM text, or NULL with *err. new (EVP_PKEY_free). */
static EVP_PKEY *load_key(const char *pem, char **err)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    /* the error queue may name the key's bytes' position: drop it, say why */
    ERR_clear_error();
    if (!k) {
        *err = fbk_xstrdup("the private key is not a PEM RSA private key (-----BEGIN PRIVATE KEY----- "
                           "or -----BEGIN RSA PRIVATE KEY-----) without a passphrase");
        return NULL;
    }
    if (EVP_PKEY_base_id(k) != EVP_PKEY_RSA) {
        *err = fbk_xstrdup("the private key is not an RSA key: RS256 needs one");
        EVP_PKEY_free(k);
        return NULL;
    }
    return k;
}

int fbk_jwt_rs256(const char *pem_key, const char *header_json, const char *claims_json, char **jwt,
                  char **err)
{
    *jwt = NULL;
    *err = NULL;
    if (!pem_key || !header_json || !claims_json) {
        *err = fbk_xstrdup("a JWT needs a key, a header and claims");
        return -1;
    }
    EVP_PKEY *k = load_key(pem_key, err);
    if (!k) return -1;
    char *h = fbk_base64url(header_json, strlen(header_json));
    char *c = fbk_base64url(claims_json, strlen(claims_json));
    char *input = fbk_xasprintf("%s.%s", h, c);
    free(h);
    free(c);
    unsigned char *sig = NULL;
    size_t siglen = 0;
    int rc = -1;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    /* RS256 = RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 3.3), the default
     * padding of an RSA key's DigestSign */
    if (md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) == 1 &&
        EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)input, strlen(input)) == 1) {
        sig = fbk_xmalloc(siglen ? siglen : 1);
        if (EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input, strlen(input)) == 1) rc = 0;
    }
    ERR_clear_error();
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(k);
    if (rc == 0) {
        char *s = fbk_base64url(sig, siglen);
        *jwt = fbk_xasprintf("%s.%s", input, s);
        free(s);
    } else {
        *err = fbk_xstrdup("OpenSSL could not sign the JWT with the private key");
    }
    free(sig);
    fbk_free_secret(input);
    return rc;
}

int fbk_gcred_assertion(const fbk_gcred *c, const char *scope, int64_t now, char **jwt, char **err)
{
    *jwt = NULL;
    if (!c || c->type != FBK_GCRED_SERVICE_ACCOUNT || !c->private_key || !c->client_email) {
        *err = fbk_xstrdup("an assertion needs a service-account key (client_email and private_key)");
        return -1;
    }
    json_t *h = json_pack("{s:s,s:s,s:s?}", "alg", "RS256", "typ", "JWT", "kid", c->private_key_id);
    /* a one-hour assertion: the longest Google accepts */
    json_t *cl = json_pack("{s:s,s:s,s:s,s:I,s:I}", "iss", c->client_email, "scope", scope ? scope : "",
                           "aud", c->token_uri ? c->token_uri : FBK_GOOGLE_TOKEN_URI, "iat", (json_int_t)now,
                           "exp", (json_int_t)(now + 3600));
    char *hs = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char *cs = json_dumps(cl, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(h);
    json_decref(cl);
    int rc = fbk_jwt_rs256(c->private_key, hs, cs, jwt, err);
    free(hs);
    free(cs);
    return rc;
}
