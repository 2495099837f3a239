/* check_kit_google.c - the kit's Google credentials in C (fbk_google.h):
 * credential files of each kind read into their fields, bad ones refused
 * with the member named and no secret quoted, base64url against RFC 4648's
 * vectors, RS256 JWTs verified with OpenSSL's own EVP_DigestVerify (the
 * Python side, tests/kit/google_auth.py, verifies them with python3-jwt),
 * base64url decoding against the same vectors, a JWS split into its parts
 * and an RS256 signature checked with the key of a PEM certificate (what
 * the gcp driver's attest does with Google's certificates; its end-to-end
 * test, tests/identity/gcp_workload_token.py, checks tokens google-auth
 * accepts),
 * and the ADC search order through the real host with no network (files,
 * environment, GCE_METADATA_HOST, NO_GCE_CHECK). */
#include "config.h"
#include "fbk_google.h"
#include "fedbroker/fedbroker.h"
#include "base/call.h"

#include <check.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *key_pem;   /* a fresh RSA key, PKCS#8 PEM */
static EVP_PKEY *key;
static char tmpdir[64];

static void make_key(void)
{
    /* outside any test: no ck_assert here */
    key = EVP_RSA_gen(2048);
    BIO *b = BIO_new(BIO_s_mem());
    if (!key || !b || PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) != 1) {
        fprintf(stderr, "cannot make an RSA key\n");
        exit(99);
    }
    char *p;
    long n = BIO_get_mem_data(b, &p);
    key_pem = fbk_xstrndup(p, (size_t)n);
    BIO_free(b);
}

/* The file text of a service-account key with our key. new. */
static char *sa_file(const char *extra)
{
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "service_account", "project_id", "proj-1",
                          "private_key_id", "kid-0123", "private_key", key_pem, "client_email",
                          "deployer@proj-1.iam.gserviceaccount.com");
    if (extra) {
        json_t *e = json_loads(extra, 0, NULL);
        json_object_update(j, e);
        json_decref(e);
    }
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

static int parse(const char *text, fbk_gcred *c, char **err)
{
    return fbk_gcred_parse(text, strlen(text), "creds.json", c, err);
}

START_TEST(test_service_account)
{
    char *t = sa_file(NULL), *err = NULL;
    fbk_gcred c;
    ck_assert_int_eq(parse(t, &c, &err), 0);
    ck_assert_int_eq(c.type, FBK_GCRED_SERVICE_ACCOUNT);
    ck_assert_str_eq(c.client_email, "deployer@proj-1.iam.gserviceaccount.com");
    ck_assert_str_eq(c.private_key_id, "kid-0123");
    ck_assert_str_eq(c.private_key, key_pem);
    ck_assert_str_eq(c.token_uri, FBK_GOOGLE_TOKEN_URI);
    ck_assert_str_eq(c.project_id, "proj-1");
    ck_assert_str_eq(c.source, "creds.json");
    fbk_gcred_clear(&c);
    ck_assert_ptr_null(c.private_key);
    free(t);
    t = sa_file("{\"token_uri\": \"http://127.0.0.1:9/token\"}");
    ck_assert_int_eq(parse(t, &c, &err), 0);
    ck_assert_str_eq(c.token_uri, "http://127.0.0.1:9/token");
    fbk_gcred_clear(&c);
    free(t);
}
END_TEST

START_TEST(test_authorized_user_and_external)
{
    fbk_gcred c;
    char *err = NULL;
    ck_assert_int_eq(parse("{\"type\":\"authorized_user\",\"client_id\":\"cid\",\"client_secret\":\"cs\","
                           "\"refresh_token\":\"1//rt\",\"quota_project_id\":\"q1\"}", &c, &err), 0);
    ck_assert_int_eq(c.type, FBK_GCRED_AUTHORIZED_USER);
    ck_assert_str_eq(c.client_id, "cid");
    ck_assert_str_eq(c.client_secret, "cs");
    ck_assert_str_eq(c.refresh_token, "1//rt");
    ck_assert_str_eq(c.project_id, "q1");
    ck_assert_str_eq(c.token_uri, FBK_GOOGLE_TOKEN_URI);
    fbk_gcred_clear(&c);

    ck_assert_int_eq(parse("{\"type\":\"external_account\",\"audience\":\"//iam.googleapis.com/projects/1/"
                           "locations/global/workloadIdentityPools/p/providers/x\",\"subject_token_type\":"
                           "\"urn:ietf:params:oauth:token-type:jwt\",\"credential_source\":{\"file\":\"/var/t\","
                           "\"format\":{\"type\":\"json\",\"subject_token_field_name\":\"id_token\"}},"
                           "\"service_account_impersonation_url\":\"https://iamcredentials.googleapis.com/v1/"
                           "projects/-/serviceAccounts/a@b:generateAccessToken\"}", &c, &err), 0);
    ck_assert_int_eq(c.type, FBK_GCRED_EXTERNAL_ACCOUNT);
    ck_assert_int_eq(c.subject_kind, FBK_GSUBJECT_FILE);
    ck_assert_str_eq(c.subject_file, "/var/t");
    ck_assert_int_eq(c.subject_json, 1);
    ck_assert_str_eq(c.subject_field, "id_token");
    ck_assert_str_eq(c.sts_url, FBK_GOOGLE_STS_URI);
    ck_assert_int_eq(c.impersonation_lifetime, 3600);
    ck_assert_ptr_nonnull(strstr(c.impersonation_url, ":generateAccessToken"));
    fbk_gcred_clear(&c);

    ck_assert_int_eq(parse("{\"type\":\"external_account\",\"audience\":\"a\",\"subject_token_type\":"
                           "\"urn:ietf:params:aws:token-type:aws4_request\",\"token_url\":\"http://127.0.0.1:1/v1/"
                           "token\",\"credential_source\":{\"environment_id\":\"aws1\",\"region_url\":"
                           "\"http://169.254.169.254/latest/meta-data/placement/availability-zone\",\"url\":"
                           "\"http://169.254.169.254/latest/meta-data/iam/security-credentials\","
                           "\"regional_cred_verification_url\":\"https://sts.{region}.amazonaws.com?"
                           "Action=GetCallerIdentity&Version=2011-06-15\",\"imdsv2_session_token_url\":"
                           "\"http://169.254.169.254/latest/api/token\"}}", &c, &err), 0);
    ck_assert_int_eq(c.subject_kind, FBK_GSUBJECT_AWS);
    ck_assert_str_eq(c.sts_url, "http://127.0.0.1:1/v1/token");
    ck_assert_ptr_nonnull(c.aws_region_url);
    ck_assert_ptr_nonnull(c.aws_imdsv2_url);
    ck_assert_ptr_nonnull(strstr(c.aws_verify_url, "{region}"));
    fbk_gcred_clear(&c);
}
END_TEST

/* Every refusal names the member and quotes no secret. */
START_TEST(test_refusals)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"[1]", "creds.json: not a JSON object"},
        {"{\"type\": \"service_account\", \"private_key\": \"-----BEGIN SECRETSECRET\"", "not JSON (line 1"},
        {"{\"type\": 7}", "member \"type\" must be a non-empty string"},
        {"{\"type\": \"impersonated_service_account\"}", "\"impersonated_service_account\" is not supported"},
        {"{\"type\": \"service_account\", \"private_key\": \"-----BEGIN SECRETSECRET\"}",
         "member \"client_email\" is missing"},
        {"{\"type\": \"service_account\", \"client_email\": \"a@b\", \"private_key\": \"SECRETSECRET\"}",
         "member \"private_key\" is not a PEM key"},
        {"{\"type\": \"authorized_user\", \"client_id\": \"c\", \"refresh_token\": \"SECRETSECRET\"}",
         "member \"client_secret\" is missing"},
        {"{\"type\": \"authorized_user\", \"client_id\": \"c\", \"client_secret\": \"SECRETSECRET\", "
         "\"refresh_token\": \"r\", \"token_uri\": \"https://user:SECRETSECRET@h/\"}",
         "member \"token_uri\" is not a usable URL"},
        {"{\"type\": \"external_account\", \"audience\": \"a\", \"subject_token_type\": \"t\"}",
         "member \"credential_source\" is missing or not an object"},
        {"{\"type\": \"external_account\", \"audience\": \"a\", \"subject_token_type\": \"t\", "
         "\"credential_source\": {\"url\": \"http://h/\", \"headers\": {\"X\": \"a\\r\\nb\"}}}",
         "member \"credential_source.headers\" must map header names to one-line strings"},
        {"{\"type\": \"external_account\", \"audience\": \"a\", \"subject_token_type\": \"t\", "
         "\"credential_source\": {\"file\": \"/f\", \"format\": {\"type\": \"xml\"}}}",
         "member \"credential_source.format.type\" must be \"text\" or \"json\""},
        {"{\"type\": \"external_account\", \"audience\": \"a\", \"subject_token_type\": \"t\", "
         "\"credential_source\": {\"environment_id\": \"azure1\"}}", "\"azure1\" is not supported (only aws1)"},
        {"{\"type\": \"external_account\", \"audience\": \"a\", \"subject_token_type\": \"t\", "
         "\"credential_source\": {\"environment_id\": \"aws1\", \"regional_cred_verification_url\": "
         "\"http://sts.x\"}}", "must be an https AWS STS GetCallerIdentity URL"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fbk_gcred c;
        char *err = NULL;
        ck_assert_msg(parse(cases[i].text, &c, &err) == -1, "case %zu accepted", i);
        ck_assert_msg(err && strstr(err, cases[i].want), "case %zu: got \"%s\", want \"%s\"", i, err,
                      cases[i].want);
        ck_assert_msg(!strstr(err, "SECRETSECRET"), "case %zu quotes a secret: %s", i, err);
        ck_assert_int_eq(c.type, FBK_GCRED_NONE);
        free(err);
    }
}
END_TEST

START_TEST(test_base64url)
{
    /* RFC 4648 section 10, in the URL alphabet without padding */
    static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const out[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        char *s = fbk_base64url(in[i], strlen(in[i]));
        ck_assert_str_eq(s, out[i]);
        free(s);
    }
    const unsigned char odd[] = {0xfb, 0xff, 0xbf};
    char *s = fbk_base64url(odd, 3);
    ck_assert_str_eq(s, "-_-_"); /* '+' and '/' in standard base64 */
    free(s);
}
END_TEST

/* Decodes base64url (no padding) into out; returns the length. */
static size_t unb64u(const char *s, size_t n, unsigned char *out)
{
    char *b = fbk_xmalloc(n + 4);
    for (size_t i = 0; i < n; i++) b[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
    size_t m = n;
    while (m % 4) b[m++] = '=';
    int len = EVP_DecodeBlock(out, (unsigned char *)b, (int)m);
    free(b);
    ck_assert_int_ge(len, 0);
    return (size_t)len - (m - n);
}

START_TEST(test_jwt_rs256_verifies)
{
    const char *hdr = "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}";
    const char *cl = "{\"iss\":\"a@b\",\"scope\":\"s\",\"aud\":\"https://oauth2.googleapis.com/token\","
                     "\"iat\":1,\"exp\":3601}";
    char *jwt = NULL, *err = NULL;
    ck_assert_int_eq(fbk_jwt_rs256(key_pem, hdr, cl, &jwt, &err), 0);
    char *d1 = strchr(jwt, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    ck_assert_ptr_nonnull(d2);
    unsigned char buf[1024];
    size_t n = unb64u(jwt, (size_t)(d1 - jwt), buf);
    ck_assert_int_eq(n, strlen(hdr));
    ck_assert(memcmp(buf, hdr, n) == 0);
    n = unb64u(d1 + 1, (size_t)(d2 - d1 - 1), buf);
    ck_assert_int_eq(n, strlen(cl));
    ck_assert(memcmp(buf, cl, n) == 0);
    unsigned char sig[512];
    size_t sl = unb64u(d2 + 1, strlen(d2 + 1), sig);
    ck_assert_int_eq(sl, 256); /* a 2048-bit RSA signature */
    for (int flip = 0; flip < 2; flip++) {
        if (flip) sig[17] ^= 0x40;
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        ck_assert_int_eq(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key), 1);
        int ok = EVP_DigestVerify(md, sig, sl, (const unsigned char *)jwt, (size_t)(d2 - jwt));
        EVP_MD_CTX_free(md);
        ck_assert_int_eq(ok, flip ? 0 : 1);
    }
    fbk_free_secret(jwt);
    /* not a key: refused, and the message quotes none of it */
    ck_assert_int_eq(fbk_jwt_rs256("-----BEGIN PRIVATE KEY-----\nU0VDUkVU\n-----END PRIVATE KEY-----\n", hdr, cl,
                                   &jwt, &err), -1);
    ck_assert_ptr_null(jwt);
    ck_assert_ptr_nonnull(strstr(err, "not a PEM RSA private key"));
    ck_assert_ptr_null(strstr(err, "U0VDUkVU"));
    free(err);
}
END_TEST

START_TEST(test_base64url_decode)
{
    /* RFC 4648 section 10, in the URL alphabet, with and without padding */
    static const char *const out[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const in[] = {"", "Zg", "Zm8=", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        size_t n = 99;
        unsigned char *d = fbk_base64url_decode(in[i], strlen(in[i]), &n);
        ck_assert_ptr_nonnull(d);
        ck_assert_uint_eq(n, strlen(out[i]));
        ck_assert(memcmp(d, out[i], n) == 0);
        free(d);
    }
    size_t n = 0;
    unsigned char *d = fbk_base64url_decode("-_-_", 4, &n);
    ck_assert_uint_eq(n, 3);
    ck_assert(d[0] == 0xfb && d[1] == 0xff && d[2] == 0xbf);
    free(d);
    ck_assert_ptr_null(fbk_base64url_decode("Zm9v+", 5, &n)); /* standard alphabet */
    ck_assert_ptr_null(fbk_base64url_decode("Z", 1, &n));     /* no byte ends there */
    ck_assert_ptr_null(fbk_base64url_decode("Zm 9", 4, &n));
}
END_TEST

/* A self-signed PEM certificate of the fixture's key (as Google publishes
 * its ID-token keys). new. */
static char *cert_of_key(void)
{
    X509 *x = X509_new();
    ck_assert_ptr_nonnull(x);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"check_kit_google", -1, -1, 0);
    X509_set_issuer_name(x, name);
    ck_assert_int_gt(X509_sign(x, key, EVP_sha256()), 0);
    BIO *b = BIO_new(BIO_s_mem());
    ck_assert_int_eq(PEM_write_bio_X509(b, x), 1);
    char *p;
    long n = BIO_get_mem_data(b, &p);
    char *pem = fbk_xstrndup(p, (size_t)n);
    BIO_free(b);
    X509_free(x);
    return pem;
}

START_TEST(test_jwt_split_and_verify_cert)
{
    const char *hdr = "{\"alg\":\"RS256\",\"kid\":\"k1\"}";
    const char *cl = "{\"iss\":\"https://accounts.google.com\",\"aud\":\"u\",\"exp\":2}";
    char *jwt = NULL, *err = NULL, *pem = cert_of_key();
    ck_assert_int_eq(fbk_jwt_rs256(key_pem, hdr, cl, &jwt, &err), 0);
    json_t *h = NULL, *c = NULL;
    unsigned char *sig = NULL;
    size_t sl = 0, signed_len = 0;
    ck_assert_int_eq(fbk_jwt_split(jwt, &h, &c, &sig, &sl, &signed_len, &err), 0);
    ck_assert_str_eq(json_string_value(json_object_get(h, "kid")), "k1");
    ck_assert_str_eq(json_string_value(json_object_get(c, "aud")), "u");
    ck_assert_uint_eq(sl, 256);
    ck_assert_uint_eq(signed_len, (size_t)(strrchr(jwt, '.') - jwt));
    ck_assert_int_eq(fbk_rs256_verify_cert(pem, jwt, signed_len, sig, sl, &err), 1);
    sig[17] ^= 0x40; /* a changed signature */
    ck_assert_int_eq(fbk_rs256_verify_cert(pem, jwt, signed_len, sig, sl, &err), 0);
    sig[17] ^= 0x40;
    ck_assert_int_eq(fbk_rs256_verify_cert(pem, jwt, signed_len - 1, sig, sl, &err), 0); /* other data */
    ck_assert_int_eq(fbk_rs256_verify_cert("-----BEGIN CERTIFICATE-----\nU0VD\n-----END CERTIFICATE-----\n", jwt,
                                           signed_len, sig, sl, &err), -1);
    ck_assert_ptr_nonnull(strstr(err, "not a PEM X.509 certificate"));
    free(err);
    free(sig);
    json_decref(h);
    json_decref(c);
    /* malformed: each refused, the token not quoted */
    static const char *const bad[] = {"a.b", "a.b.c.d", "!!.e30.c2ln", "e30.IiI.c2ln", "e30.e30.!!"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_msg(fbk_jwt_split(bad[i], &h, &c, &sig, &sl, &signed_len, &err) == -1, "%s accepted", bad[i]);
        ck_assert_ptr_null(h);
        ck_assert_ptr_null(sig);
        ck_assert_ptr_null(strstr(err, bad[i]));
        free(err);
    }
    fbk_free_secret(jwt);
    free(pem);
}
END_TEST

START_TEST(test_assertion_claims)
{
    char *t = sa_file(NULL), *err = NULL, *jwt = NULL;
    fbk_gcred c;
    ck_assert_int_eq(parse(t, &c, &err), 0);
    ck_assert_int_eq(fbk_gcred_assertion(&c, FBK_GOOGLE_SCOPE_CLOUD, 1700000000, &jwt, &err), 0);
    char *d1 = strchr(jwt, '.'), *d2 = strchr(d1 + 1, '.');
    unsigned char buf[1024];
    size_t n = unb64u(jwt, (size_t)(d1 - jwt), buf);
    json_t *h = json_loadb((char *)buf, n, 0, NULL);
    n = unb64u(d1 + 1, (size_t)(d2 - d1 - 1), buf);
    json_t *cl = json_loadb((char *)buf, n, 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(h, "alg")), "RS256");
    ck_assert_str_eq(json_string_value(json_object_get(h, "kid")), "kid-0123");
    ck_assert_str_eq(json_string_value(json_object_get(cl, "iss")), "deployer@proj-1.iam.gserviceaccount.com");
    ck_assert_str_eq(json_string_value(json_object_get(cl, "scope")), FBK_GOOGLE_SCOPE_CLOUD);
    ck_assert_str_eq(json_string_value(json_object_get(cl, "aud")), FBK_GOOGLE_TOKEN_URI);
    ck_assert_int_eq(json_integer_value(json_object_get(cl, "iat")), 1700000000);
    ck_assert_int_eq(json_integer_value(json_object_get(cl, "exp")), 1700003600);
    json_decref(h);
    json_decref(cl);
    fbk_free_secret(jwt);
    fbk_gcred_clear(&c);
    free(t);
}
END_TEST

/* ---- the search order, through the real host, without network ---------- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void env_setup(void)
{
    static const char *const vars[] = {"GOOGLE_OAUTH_ACCESS_TOKEN", "GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_CONFIG", "GCE_METADATA_HOST",
                                       "GCE_METADATA_ROOT", "FEDBROKER_NOW"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) unsetenv(vars[i]);
    setenv("NO_GCE_CHECK", "true", 1);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fbk-google-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    setenv("HOME", tmpdir, 1);
}

static void env_teardown(void)
{
    char *cmd = fbk_xasprintf("rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    free(cmd);
}

/* fbk_gcred_find in a call; *text gets every diagnostic (new). */
static fb_status find(fbk_gcred *c, char **text)
{
    fb_diag *d = fb_diag_new();
    fbi_call call;
    fbi_call_begin(&call, d, "gcp");
    fbk_gcred_opts o = {NULL, 0};
    fb_status st = fbk_gcred_find(fb_host_table(), d, &o, c);
    fbi_call_end(&call, d);
    fbk_buf b;
    fbk_buf_init(&b);
    for (size_t i = 0; i < fb_diag_count(d); i++)
        fbk_buf_printf(&b, "%s\n%s\n", fb_diag_summary(d, i), fb_diag_detail(d, i) ? fb_diag_detail(d, i) : "");
    *text = fbk_buf_steal(&b);
    fb_diag_free(d);
    return st;
}

START_TEST(test_search_order)
{
    fbk_gcred c;
    char *text;
    /* nothing: every source listed */
    ck_assert_int_eq(find(&c, &text), FB_AUTH);
    ck_assert_ptr_nonnull(strstr(text, "0. GOOGLE_OAUTH_ACCESS_TOKEN: not set"));
    ck_assert_ptr_nonnull(strstr(text, "1. GOOGLE_APPLICATION_CREDENTIALS: not set"));
    ck_assert_ptr_nonnull(strstr(text, "2. gcloud's ADC file"));
    ck_assert_ptr_nonnull(strstr(text, "3. the metadata server: not looked for (NO_GCE_CHECK is set)"));
    free(text);
    /* the metadata server by GCE_METADATA_HOST */
    setenv("GCE_METADATA_HOST", "127.0.0.1:1", 1);
    ck_assert_int_eq(find(&c, &text), FB_OK);
    ck_assert_int_eq(c.type, FBK_GCRED_METADATA);
    ck_assert_str_eq(c.metadata_host, "127.0.0.1:1");
    fbk_gcred_clear(&c);
    free(text);
    /* gcloud's ADC file comes before it */
    char *dir = fbk_xasprintf("%s/.config/gcloud", tmpdir);
    char *mk = fbk_xasprintf("mkdir -p '%s'", dir);
    ck_assert_int_eq(system(mk), 0);
    char *adc = fbk_xasprintf("%s/application_default_credentials.json", dir);
    write_file(adc, "{\"type\":\"authorized_user\",\"client_id\":\"c\",\"client_secret\":\"s\","
                    "\"refresh_token\":\"r\"}");
    ck_assert_int_eq(find(&c, &text), FB_OK);
    ck_assert_int_eq(c.type, FBK_GCRED_AUTHORIZED_USER);
    ck_assert_ptr_nonnull(strstr(c.source, "gcloud's ADC file"));
    fbk_gcred_clear(&c);
    free(text);
    /* and GOOGLE_APPLICATION_CREDENTIALS before both */
    char *gac = fbk_xasprintf("%s/sa.json", tmpdir);
    char *sa = sa_file(NULL);
    write_file(gac, sa);
    setenv("GOOGLE_APPLICATION_CREDENTIALS", gac, 1);
    ck_assert_int_eq(find(&c, &text), FB_OK);
    ck_assert_int_eq(c.type, FBK_GCRED_SERVICE_ACCOUNT);
    ck_assert_ptr_nonnull(strstr(c.source, "GOOGLE_APPLICATION_CREDENTIALS file"));
    fbk_gcred_clear(&c);
    free(text);
    /* a malformed named file stops the search, naming the member, no secret */
    write_file(gac, "{\"type\":\"authorized_user\",\"client_id\":\"c\",\"client_secret\":\"SECRETSECRET\"}");
    ck_assert_int_eq(find(&c, &text), FB_INVALID);
    ck_assert_ptr_nonnull(strstr(text, "member \"refresh_token\" is missing"));
    ck_assert_ptr_null(strstr(text, "SECRETSECRET"));
    free(text);
    /* a named file that does not exist stops it too */
    setenv("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/key.json", 1);
    ck_assert_int_eq(find(&c, &text), FB_AUTH);
    ck_assert_ptr_nonnull(strstr(text, "/nonexistent/key.json, which does not exist"));
    free(text);
    /* CLOUDSDK_CONFIG moves gcloud's file */
    unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
    unsetenv("GCE_METADATA_HOST");
    setenv("CLOUDSDK_CONFIG", tmpdir, 1);
    ck_assert_int_eq(find(&c, &text), FB_AUTH);
    char *want = fbk_xasprintf("2. gcloud's ADC file: %s/application_default_credentials.json does not exist",
                               tmpdir);
    ck_assert_msg(strstr(text, want) != NULL, "%s", text);
    free(want);
    free(text);
    free(sa);
    free(gac);
    free(adc);
    free(mk);
    free(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("kit_google");
    TCase *t = tcase_create("parse");
    tcase_add_test(t, test_service_account);
    tcase_add_test(t, test_authorized_user_and_external);
    tcase_add_test(t, test_refusals);
    tcase_add_test(t, test_base64url);
    tcase_add_test(t, test_jwt_rs256_verifies);
    tcase_add_test(t, test_base64url_decode);
    tcase_add_test(t, test_jwt_split_and_verify_cert);
    tcase_add_test(t, test_assertion_claims);
    suite_add_tcase(s, t);
    TCase *f = tcase_create("search");
    tcase_add_checked_fixture(f, env_setup, env_teardown);
    tcase_add_test(f, test_search_order);
    suite_add_tcase(s, f);
    return s;
}

int main(void)
{
    make_key();
    SRunner *r = srunner_create(suite());
    srunner_set_fork_status(r, CK_NOFORK);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    EVP_PKEY_free(key);
    fbk_free_secret(key_pem);
    return failed ? 1 : 0;
}
