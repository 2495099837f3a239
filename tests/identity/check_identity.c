/* check_identity.c - core/identity/ below the CLI:
 *  - SPIFFE IDs: the examples and rules of SPIFFE-ID.md sections 2 to 2.3
 *    (../shared/reference/spiffe), each rule seen refusing;
 *  - JOSE: RFC 7520 section 4.1 (the JOSE cookbook's jws/4_1, RS256, the
 *    one reproducible RSA vector) signed again from its JWK byte for byte,
 *    and the RFC 7638 section 3.1 thumbprint example;
 *  - sealing: a sealed value opens only with its key and additional data,
 *    a flipped byte anywhere is refused;
 *  - the master key: 0644 refused with the reason and the chmod, a file
 *    of the wrong size refused, the default file made 0600. */
#include "config.h"
#include "../lib/fbtest.h"
#include "fedbroker/fedbroker.h"
#include "identity/identity.h"
#include "base/util.h"

#include <openssl/evp.h>
#include <string.h>
#include <sys/stat.h>

#ifndef FB_TEST_SRCDIR
#define FB_TEST_SRCDIR "."
#endif
#define REF FB_TEST_SRCDIR "/tests/reference"

START_TEST(spiffe_ids)
{
    /* valid: the standard's own examples (2.2) and edge cases of 2.1-2.3 */
    static const char *const good[] = {
        "spiffe://staging.example.com/payments/mysql",
        "spiffe://staging.example.com/payments/web-fe",
        "spiffe://k8s-west.example.com/ns/staging/sa/default",
        "spiffe://example.com/9eebccd2-12bf-40a6-b262-65fe0487d453",
        "spiffe://trust_domain_name.example.com",
        "spiffe://192.168.0.1/a", /* dotted quads are not excluded (2.1) */
        "SPIFFE://example.com/Path.With_Upper-Case", /* scheme case-insensitive (2.4) */
    };
    char *why = NULL;
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        ck_assert_msg(fbi_spiffe_check_id(good[i], &why) == 0, "%s: %s", good[i], why);
    }
    static const struct { const char *id, *word; } bad[] = {
        {"https://example.com/a", "scheme"},
        {"spiffe://", "empty"},
        {"spiffe:///path", "empty"},
        {"spiffe://Example.com/a", "lowercase"},
        {"spiffe://example.com:8080/a", "port"},
        {"spiffe://user@example.com/a", "userinfo"},
        {"spiffe://exa%41mple.com/a", "percent"},
        {"spiffe://example.com/a?x=1", "query"},
        {"spiffe://example.com/a#frag", "fragment"},
        {"spiffe://example.com/a/", "trailing"},
        {"spiffe://example.com/a//b", "empty segment"},
        {"spiffe://example.com/a/./b", "relative"},
        {"spiffe://example.com/a/../b", "relative"},
        {"spiffe://example.com/a%20b", "percent"},
        {"spiffe://example.com/a b", "[a-zA-Z0-9._-]"},
        {"spiffe://example.com/caf\xc3\xa9", "[a-zA-Z0-9._-]"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_msg(fbi_spiffe_check_id(bad[i].id, &why) != 0, "%s accepted", bad[i].id);
        ck_assert_msg(strstr(why, bad[i].word), "%s: '%s' does not say %s", bad[i].id, why,
                      bad[i].word);
        free(why);
    }
    /* 2.3: 2048 bytes accepted, 2049 refused; a 256-byte trust domain refused */
    char *id = fbi_xmalloc(2050);
    strcpy(id, "spiffe://example.com/");
    size_t n = strlen(id);
    memset(id + n, 'a', 2048 - n);
    id[2048] = 0;
    ck_assert_int_eq(fbi_spiffe_check_id(id, &why), 0);
    id[2048] = 'a';
    id[2049] = 0;
    ck_assert_int_ne(fbi_spiffe_check_id(id, &why), 0);
    free(why);
    free(id);
    char td[257];
    memset(td, 'a', 256);
    td[256] = 0;
    ck_assert_int_ne(fbi_spiffe_check_trust_domain(td, &why), 0);
    free(why);
    td[255] = 0;
    ck_assert_int_eq(fbi_spiffe_check_trust_domain(td, &why), 0);

    fb_diag *d = fb_diag_new();
    char *w = fbi_spiffe_workload_id("prod.example.com", "acme", "api", d);
    ck_assert_str_eq(w, "spiffe://prod.example.com/tenant/acme/workload/api");
    free(w);
    ck_assert_ptr_null(fbi_spiffe_workload_id("prod.example.com", "acme", "a/../b", d));
    ck_assert_int_eq(fb_diag_errors(d), 1);
    fb_diag_free(d);
}
END_TEST

START_TEST(jose_rfc7520_rs256)
{
    json_error_t e;
    json_t *v = json_load_file(REF "/jose/4_1.rsa_v15_signature.json", 0, &e);
    ck_assert_msg(v != NULL, "%s", e.text);
    json_t *in = json_object_get(v, "input"), *sg = json_object_get(v, "signing");
    fb_diag *d = fb_diag_new();
    EVP_PKEY *key = fbi_jwk_private_key(json_object_get(in, "key"), d);
    ck_assert_ptr_nonnull(key);
    const char *payload = json_string_value(json_object_get(in, "payload"));
    char *pb = fbi_b64url(payload, strlen(payload));
    char *jws = fbi_jws_sign_raw(key, json_string_value(json_object_get(in, "alg")),
                                 json_string_value(json_object_get(sg, "protected_b64u")), pb, d);
    ck_assert_str_eq(jws, json_string_value(json_object_get(json_object_get(v, "output"),
                                                            "compact")));
    /* the public JWK we publish for it has the vector's n and e */
    json_t *pub = fbi_jwk_public(key, "RS256", "k");
    ck_assert(json_equal(json_object_get(pub, "n"), json_object_get(json_object_get(in, "key"), "n")));
    ck_assert(json_equal(json_object_get(pub, "e"), json_object_get(json_object_get(in, "key"), "e")));
    json_decref(pub);
    free(jws);
    free(pb);
    EVP_PKEY_free(key);
    fb_diag_free(d);
    json_decref(v);
}
END_TEST

START_TEST(jose_rfc7638_thumbprint)
{
    /* RFC 7638 section 3.1: the example RSA key and its thumbprint */
    json_t *jwk = json_pack(
        "{s:s, s:s, s:s, s:s}", "kty", "RSA", "e", "AQAB", "alg", "RS256", "n",
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebW"
        "KRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQM"
        "icAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2Nc"
        "Rwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw");
    char *t = fbi_jwk_thumbprint(jwk);
    ck_assert_str_eq(t, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    free(t);
    json_decref(jwk);
}
END_TEST

START_TEST(seal_tamper)
{
    unsigned char k1[32], k2[32];
    memset(k1, 1, 32);
    memset(k2, 2, 32);
    const char *plain = "s3cr3t-value", *ad = "acme\0db\0" "1";
    char *sealed = fbi_seal(k1, plain, strlen(plain), ad, 9);
    ck_assert_ptr_null(strstr(sealed, plain));
    unsigned char *out = NULL;
    size_t n = 0;
    ck_assert_int_eq(fbi_unseal(k1, sealed, ad, 9, &out, &n), 0);
    ck_assert_uint_eq(n, strlen(plain));
    ck_assert_str_eq((char *)out, plain);
    fbi_locked_free(out);
    ck_assert_int_ne(fbi_unseal(k2, sealed, ad, 9, &out, &n), 0);        /* another key */
    ck_assert_int_ne(fbi_unseal(k1, sealed, "acme\0db\0" "2", 9, &out, &n), 0); /* version */
    ck_assert_int_ne(fbi_unseal(k1, sealed, "evil\0db\0" "1", 9, &out, &n), 0); /* tenant */
    /* every byte of the sealed value matters: flip one bit of each in turn */
    size_t bn = 0;
    unsigned char *raw = fbi_xmalloc(strlen(sealed));
    char *b64 = NULL;
    {
        /* decode with the url-safe helper after mapping the alphabet */
        char *u = fbi_xstrdup(sealed);
        for (char *p = u; *p; p++) *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
        unsigned char *dec = fbi_b64url_decode(u, &bn);
        ck_assert_ptr_nonnull(dec);
        memcpy(raw, dec, bn);
        free(dec);
        free(u);
    }
    for (size_t i = 0; i < bn; i++) {
        raw[i] ^= 0x01;
        char *u = fbi_b64url(raw, bn);
        for (char *p = u; *p; p++) *p = *p == '-' ? '+' : *p == '_' ? '/' : *p;
        size_t l = strlen(u);
        b64 = fbi_xasprintf("%s%s", u, l % 4 == 2 ? "==" : l % 4 == 3 ? "=" : "");
        ck_assert_msg(fbi_unseal(k1, b64, ad, 9, &out, &n) != 0, "flipped byte %zu accepted", i);
        free(b64);
        free(u);
        raw[i] ^= 0x01;
    }
    ck_assert_int_ne(fbi_unseal(k1, "not base64!", ad, 9, &out, &n), 0);
    ck_assert_int_ne(fbi_unseal(k1, "AAAA", ad, 9, &out, &n), 0);
    free(raw);
    free(sealed);
}
END_TEST

START_TEST(master_key_file)
{
    char dir[64];
    fbt_tmpdir(dir, sizeof dir, "fbident");
    chmod(dir, 0700);
    fbi_identity_cfg cfg = {0};
    cfg.master_key_file = fbi_xasprintf("%s/master.key", dir);
    cfg.master_key_default = 1;
    fb_diag *d = fb_diag_new();
    fbi_master_key *mk = NULL;
    /* not there and not to be made: refused with how to make one */
    ck_assert_int_eq(fbi_master_key_load(&cfg, 0, &mk, d), FB_INVALID);
    ck_assert_ptr_nonnull(strstr(fb_diag_detail(d, 0), "/dev/urandom"));
    fb_diag_free(d);
    /* made on first use, 0600, 32 bytes */
    d = fb_diag_new();
    ck_assert_int_eq(fbi_master_key_load(&cfg, 1, &mk, d), FB_OK);
    struct stat st;
    ck_assert_int_eq(stat(cfg.master_key_file, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(st.st_size, 32);
    unsigned char a[32], b[32];
    fbi_master_derive(mk, "fbtenant", fbi_tenant_subkey_id("acme"), a);
    fbi_master_derive(mk, "fbtenant", fbi_tenant_subkey_id("other"), b);
    ck_assert(memcmp(a, b, 32) != 0);
    fbi_master_key_free(mk);
    fb_diag_free(d);
    /* 0644: refused, saying why and how to fix it */
    chmod(cfg.master_key_file, 0644);
    d = fb_diag_new();
    ck_assert_int_eq(fbi_master_key_load(&cfg, 1, &mk, d), FB_INVALID);
    ck_assert_ptr_nonnull(strstr(fb_diag_summary(d, 0), "mode 0644"));
    ck_assert_ptr_nonnull(strstr(fb_diag_summary(d, 0), "could read it"));
    ck_assert_ptr_nonnull(strstr(fb_diag_detail(d, 0), "chmod 600"));
    fb_diag_free(d);
    /* the right mode but not 32 bytes */
    chmod(cfg.master_key_file, 0600);
    FILE *f = fopen(cfg.master_key_file, "a");
    fputs("x", f);
    fclose(f);
    d = fb_diag_new();
    ck_assert_int_eq(fbi_master_key_load(&cfg, 1, &mk, d), FB_INVALID);
    ck_assert_ptr_nonnull(strstr(fb_diag_summary(d, 0), "33 bytes"));
    fb_diag_free(d);
    free(cfg.master_key_file);
    fbt_rmtree(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("identity");
    TCase *t = tcase_create("identity");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, spiffe_ids);
    tcase_add_test(t, jose_rfc7520_rs256);
    tcase_add_test(t, jose_rfc7638_thumbprint);
    tcase_add_test(t, seal_tamper);
    tcase_add_test(t, master_key_file);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return fbt_run(suite());
}
