/* check_kit_creds.c - the kit's AWS credential chain.
 *
 * File and environment sources run against a temporary HOME. The STS
 * sources (AssumeRole, chained roles, credential_source, web identity) go
 * through the REAL host HTTP service (core's fb_host_table(), libcurl) to
 * tests/fakes/fake_aws.py, which recomputes every signature with botocore
 * and refuses mismatches: a passing AssumeRole proves the kit's signed STS
 * request is one botocore accepts. The fake is started once by main() and
 * exits when this process closes its stdin. */
#include "config.h"
#include "fbk.h"
#include "fedbroker/fedbroker.h"
#include "base/call.h"
#include "../lib/fbtest.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef KIT_TOP_SRCDIR
#define KIT_TOP_SRCDIR "."
#endif

extern char **environ;

#define FAKE_AK "AKIDFAKEEXAMPLE00001"
#define FAKE_SK "fakeSecretKey/EXAMPLE+00001+fedbrokerTEST"
#define FILE_SK "fileSecretKeyMustNeverBePrinted/0000000"
#define ROLE "arn:aws:iam::123456789012:role/fedbroker-deployer"

static int fake_port;
static pid_t fake_pid;
static int fake_stdin = -1;
static char tmpdir[256];

/* ---- the fake ------------------------------------------------------------ */

/* Starts fake_aws.py with pipes on stdin/stdout and reads "PORT n". */
static int start_fake(void)
{
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, in[1]);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    char *script = fbk_xasprintf("%s/tests/fakes/fake_aws.py", KIT_TOP_SRCDIR);
    char *argv[] = {"/usr/bin/python3", script, "--port", "0", "--exit-on-stdin-eof", NULL};
    int rc = posix_spawn(&fake_pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    free(script);
    close(in[0]);
    close(out[1]);
    if (rc != 0) {
        fprintf(stderr, "cannot start /usr/bin/python3: %s\n", strerror(rc));
        return -1;
    }
    fake_stdin = in[1];
    fcntl(fake_stdin, F_SETFD, FD_CLOEXEC);
    char line[64];
    size_t n = 0;
    while (n < sizeof line - 1) {
        ssize_t k = read(out[0], line + n, 1);
        if (k <= 0) break;
        if (line[n] == '\n') break;
        n++;
    }
    line[n] = '\0';
    close(out[0]);
    if (sscanf(line, "PORT %d", &fake_port) != 1) {
        fprintf(stderr, "fake_aws.py did not start (got \"%s\")\n", line);
        return -1;
    }
    return 0;
}

static void stop_fake(void)
{
    if (fake_stdin >= 0) close(fake_stdin);
    if (fake_pid > 0) {
        int st;
        waitpid(fake_pid, &st, 0);
    }
}

/* A call to the fake's control API through the host's HTTP service. */
static json_t *control(const char *method, const char *what, const char *body)
{
    const fb_host *h = fb_host_table();
    fb_diag *d = fb_diag_new();
    char *url = fbk_xasprintf("http://127.0.0.1:%d/__fake/%s", fake_port, what);
    fb_http_request req = {.struct_size = sizeof req, .method = method, .url = url,
                           .body = body, .body_len = body ? strlen(body) : 0, .service = "fake"};
    fb_http_response resp;
    fb_status st = h->http(d, &req, &resp);
    ck_assert_msg(st == FB_OK && resp.status == 200, "control %s %s failed (status %ld)", method,
                  what, resp.status);
    json_t *j = json_loadb(resp.body, resp.body_len, 0, NULL);
    ck_assert_ptr_nonnull(j);
    h->http_free(&resp);
    free(url);
    fb_diag_free(d);
    return j;
}

/* The fake's log entries for one operation, in order. new (json array). */
static json_t *log_of(const char *operation)
{
    json_t *log = control("GET", "log", NULL), *out = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(log, i, e) {
        const char *op = json_string_value(json_object_get(e, "operation"));
        if (op && !strcmp(op, operation)) json_array_append(out, e);
    }
    json_decref(log);
    return out;
}

/* ---- per-test environment ------------------------------------------------- */

static const char *const aws_vars[] = {
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_REGION",
    "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "FEDBROKER_NOW",
};

static void setup(void)
{
    for (size_t i = 0; i < sizeof aws_vars / sizeof *aws_vars; i++) unsetenv(aws_vars[i]);
    setenv("FEDBROKER_SLEEP_SCALE", "0", 1); /* no real backoff between the host's retries */
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fbk-creds-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    setenv("HOME", tmpdir, 1);
    char *aws = fbk_xasprintf("%s/.aws", tmpdir);
    mkdir(aws, 0700);
    free(aws);
    char *ep = fbk_xasprintf("http://127.0.0.1:%d/", fake_port);
    setenv("AWS_ENDPOINT_URL_STS", ep, 1);
    free(ep);
    json_decref(control("POST", "reset", NULL));
}

static void teardown(void)
{
    char *cmd = fbk_xasprintf("rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    free(cmd);
}

static char *write_home(const char *rel, const char *text)
{
    char *p = fbk_xasprintf("%s/%s", tmpdir, rel);
    FILE *f = fopen(p, "w");
    ck_assert_msg(f != NULL, "cannot write %s", p);
    fputs(text, f);
    fclose(f);
    return p;
}

typedef struct result {
    fb_status st;
    fbk_aws_creds c;
    char *text; /* every diagnostic: summary + detail */
} result;

static result resolve_mode(const fbk_aws_creds_opts *opts, int dry_run)
{
    result r;
    memset(&r, 0, sizeof r);
    fb_diag *d = fb_diag_new();
    fbi_call call;
    fbi_call_begin(&call, d, "kit-test");
    call.dry_run = dry_run;
    r.st = fbk_aws_creds_resolve(fb_host_table(), d, opts, &r.c);
    fbi_call_end(&call, d);
    fbk_buf b;
    fbk_buf_init(&b);
    for (size_t i = 0; i < fb_diag_count(d); i++)
        fbk_buf_printf(&b, "%s\n%s\n", fb_diag_summary(d, i),
                       fb_diag_detail(d, i) ? fb_diag_detail(d, i) : "");
    r.text = fbk_buf_steal(&b);
    fb_diag_free(d);
    /* nothing the files or environment hold as a secret may be shown */
    ck_assert_msg(strstr(r.text, FILE_SK) == NULL, "a secret key was printed:\n%s", r.text);
    ck_assert_msg(strstr(r.text, FAKE_SK) == NULL, "a secret key was printed:\n%s", r.text);
    return r;
}

static result resolve(const fbk_aws_creds_opts *opts)
{
    return resolve_mode(opts, 0);
}

static void result_free(result *r)
{
    fbk_aws_creds_clear(&r->c);
    free(r->text);
}

#define HAS(r, s) ck_assert_msg(strstr((r).text, (s)) != NULL, "expected \"%s\" in:\n%s", (s), (r).text)

/* ---- static sources --------------------------------------------------------- */

START_TEST(env_keys)
{
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", FILE_SK, 1);
    setenv("AWS_SESSION_TOKEN", "envtoken", 1);
    free(write_home(".aws/credentials", "[default]\naws_access_key_id = AKIDFILE\n"
                                        "aws_secret_access_key = x\n"));
    result r = resolve(NULL);
    ck_assert_int_eq(r.st, FB_OK);
    ck_assert_str_eq(r.c.access_key_id, "AKIDENV");
    ck_assert_str_eq(r.c.secret_access_key, FILE_SK);
    ck_assert_str_eq(r.c.session_token, "envtoken");
    ck_assert_str_eq(r.c.source, "environment variables");
    result_free(&r);
    /* AWS_PROFILE does not override the environment keys */
    setenv("AWS_PROFILE", "default", 1);
    r = resolve(NULL);
    ck_assert_str_eq(r.c.access_key_id, "AKIDENV");
    result_free(&r);
    /* a profile named by the configuration does */
    fbk_aws_creds_opts o = {.profile = "default"};
    r = resolve(&o);
    ck_assert_int_eq(r.st, FB_OK);
    ck_assert_str_eq(r.c.access_key_id, "AKIDFILE");
    ck_assert_ptr_null(r.c.session_token);
    result_free(&r);
}
END_TEST

START_TEST(env_partial)
{
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    result r = resolve(NULL);
    ck_assert_int_eq(r.st, FB_AUTH);
    HAS(r, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
    ck_assert_ptr_null(r.c.access_key_id);
    result_free(&r);
}
END_TEST

START_TEST(files_and_precedence)
{
    free(write_home(".aws/credentials",
                    "# shared credentials\n"
                    "; another comment style\n"
                    "[default]\n"
                    "  aws_access_key_id   =   AKIDCRED  \n"
                    "aws_secret_access_key=" FILE_SK "\n"
                    "\n"
                    "[dev]\n"
                    "AWS_ACCESS_KEY_ID = AKIDDEV\n"
                    "aws_secret_access_key: devsecret\n"
                    "aws_session_token = devtoken\n"));
    free(write_home(".aws/config",
                    "[default]\nregion = eu-west-1\naws_access_key_id = AKIDCONFIG\n"
                    "aws_secret_access_key = cfgsecret\n"
                    "[profile   cfgonly]\naws_access_key_id = AKIDCFGONLY\n"
                    "aws_secret_access_key = s\ns3 =\n  max_concurrent_requests = 4\n"));
    result r = resolve(NULL);
    ck_assert_int_eq(r.st, FB_OK);
    ck_assert_str_eq(r.c.access_key_id, "AKIDCRED"); /* credentials file before config */
    ck_assert_str_eq(r.c.secret_access_key, FILE_SK);
    ck_assert_ptr_nonnull(strstr(r.c.source, "/.aws/credentials, profile default"));
    result_free(&r);
    setenv("AWS_PROFILE", "dev", 1);
    r = resolve(NULL);
    ck_assert_str_eq(r.c.access_key_id, "AKIDDEV"); /* keys are case-insensitive, ':' works */
    ck_assert_str_eq(r.c.session_token, "devtoken");
    result_free(&r);
    setenv("AWS_PROFILE", "cfgonly", 1);
    r = resolve(NULL);
    ck_assert_int_eq(r.st, FB_OK);
    ck_assert_str_eq(r.c.access_key_id, "AKIDCFGONLY");
    ck_assert_ptr_nonnull(strstr(r.c.source, "[profile   cfgonly]"));
    result_free(&r);
    /* explicit file locations */
    unsetenv("AWS_PROFILE");
    char *alt = write_home("elsewhere.ini", "[default]\naws_access_key_id = AKIDALT\n"
                                            "aws_secret_access_key = a\n");
    setenv("AWS_SHARED_CREDENTIALS_FILE", alt, 1);
    r = resolve(NULL);
    ck_assert_str_eq(r.c.access_key_id, "AKIDALT");
    result_free(&r);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "~/missing", 1);
    setenv("AWS_CONFIG_FILE", alt, 1);
    r = resolve(NULL);
    ck_assert_str_eq(r.c.access_key_id, "AKIDALT"); /* [default] of the config file */
    ck_assert_ptr_nonnull(strstr(r.c.source, "config file"));
    result_free(&r);
    free(alt);
}
END_TEST

START_TEST(malformed_ini)
{
    char *p = write_home(".aws/credentials", "[default]\naws_access_key_id = AKID\n"
                                             "aws_secret_access_key " FILE_SK "\n");
    result r = resolve(NULL);
    ck_assert_int_eq(r.st, FB_INVALID);
    char *where = fbk_xasprintf("%s:3:", p);
    HAS(r, where);
    HAS(r, "may hold a secret");
    free(where);
    result_free(&r);
    free(p);
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"aws_access_key_id = x\n", ":1: a key outside any [section]"},
        {"[default\nx = 1\n", ":1: malformed section header"},
        {"[a]\nx = 1\n[a]\n", ":3: section [a] appears twice (first at line 1)"},
        {"[a]\nx = 1\nX = 2\n", ":3: key \"x\" appears twice in [a] (first at line 2)"},
        {"[a]\n= 1\n", ":2: a value without a key"},
        {"[]\n", ":1: empty section name"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        free(write_home(".aws/config", bad[i].text));
        r = resolve(NULL);
        ck_assert_int_eq(r.st, FB_INVALID);
        HAS(r, bad[i].want);
        HAS(r, "/.aws/config");
        result_free(&r);
    }
}
END_TEST

START_TEST(nothing_found_lists_sources)
{
    free(write_home(".aws/config", "[profile other]\nregion = us-east-1\n"));
    result r = resolve(NULL);
    ck_assert_int_eq(r.st, FB_AUTH);
    HAS(r, "no AWS credentials found for profile default");
    HAS(r, "1. environment variables: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set");
    HAS(r, "2. assume role: profile default does not exist");
    HAS(r, "3. web identity: AWS_WEB_IDENTITY_TOKEN_FILE is not set");
    HAS(r, "4. shared credentials file: ");
    HAS(r, ".aws/credentials does not exist");
    HAS(r, "5. config file ");
    HAS(r, "no [default] section");
    HAS(r, "6. container credentials and EC2 instance metadata: not supported");
    result_free(&r);
    /* a named profile that is nowhere */
    setenv("AWS_PROFILE", "ghost", 1);
    r = resolve(NULL);
    ck_assert_int_eq(r.st, FB_AUTH);
    HAS(r, "AWS profile ghost (from AWS_PROFILE) was not found");
    HAS(r, "profiles there: other");
    result_free(&r);
}
END_TEST

START_TEST(unsupported_and_invalid_profiles)
{
    free(write_home(".aws/config",
                    "[profile mfa]\nrole_arn = " ROLE "\nsource_profile = base\nmfa_serial = arn:aws:iam::1:mfa/u\n"
                    "[profile both]\nrole_arn = " ROLE "\nsource_profile = base\ncredential_source = Environment\n"
                    "[profile neither]\nrole_arn = " ROLE "\n"
                    "[profile loop1]\nrole_arn = " ROLE "\nsource_profile = loop2\n"
                    "[profile loop2]\nrole_arn = " ROLE "\nsource_profile = loop1\n"
                    "[profile sso]\nsso_start_url = https://x.awsapps.com/start\n"
                    "[profile proc]\ncredential_process = /bin/echo\n"
                    "[profile imds]\nrole_arn = " ROLE "\ncredential_source = Ec2InstanceMetadata\n"
                    "[profile dur]\nrole_arn = " ROLE "\ncredential_source = Environment\nduration_seconds = 60\n"
                    "[profile half]\naws_access_key_id = AKIDHALF\n"
                    "[profile nosrc]\nrole_arn = " ROLE "\nsource_profile = absent\n"
                    "[profile base]\naws_access_key_id = " FAKE_AK "\naws_secret_access_key = " FAKE_SK "\n"));
    setenv("AWS_ACCESS_KEY_ID", FAKE_AK, 1);
    setenv("AWS_SECRET_ACCESS_KEY", FAKE_SK, 1);
    static const struct {
        const char *profile;
        fb_status st;
        const char *want;
    } t[] = {
        {"mfa", FB_NOTSUP, "needs an MFA code"},
        {"both", FB_INVALID, "sets both source_profile"},
        {"neither", FB_INVALID, "neither source_profile nor credential_source"},
        {"loop1", FB_INVALID, "source_profile cycle: loop1 -> loop2 -> loop1"},
        {"sso", FB_NOTSUP, "uses sso_start_url"},
        {"proc", FB_NOTSUP, "uses credential_process"},
        {"imds", FB_NOTSUP, "credential_source = Ec2InstanceMetadata is not supported"},
        {"dur", FB_INVALID, "duration_seconds must be a whole number of seconds from 900 to 43200"},
        {"half", FB_AUTH, "has aws_access_key_id but no aws_secret_access_key"},
        {"nosrc", FB_INVALID, "names source_profile absent, which does not exist"},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        fbk_aws_creds_opts o = {.profile = t[i].profile};
        result r = resolve(&o);
        ck_assert_msg(r.st == t[i].st, "profile %s: status %d, want %d\n%s", t[i].profile, r.st,
                      t[i].st, r.text);
        HAS(r, t[i].want);
        HAS(r, "looked at before this one"); /* the sources tried so far are listed */
        result_free(&r);
    }
    /* nothing was sent to STS for any of them */
    json_t *l = log_of("AssumeRole");
    ck_assert_uint_eq(json_array_size(l), 0);
    json_decref(l);
}
END_TEST

/* ---- STS through the real host HTTP service and the botocore-checking fake -- */

static json_t *issued_creds(void)
{
    json_t *st = control("GET", "state", NULL);
    json_t *c = json_incref(json_object_get(st, "credentials_issued"));
    json_decref(st);
    return c;
}

static const char *param(json_t *entry, const char *name)
{
    return json_string_value(json_object_get(json_object_get(entry, "params"), name));
}

START_TEST(assume_role_profile)
{
    free(write_home(".aws/credentials", "[base]\naws_access_key_id = " FAKE_AK "\n"
                                        "aws_secret_access_key = " FAKE_SK "\n"));
    free(write_home(".aws/config", "[profile deploy]\nrole_arn = " ROLE "\nsource_profile = base\n"
                                   "external_id = ext-123\nrole_session_name = fb-session\n"
                                   "duration_seconds = 1800\nregion = eu-west-1\n"));
    fbk_aws_creds_opts o = {.profile = "deploy"};
    result r = resolve(&o);
    ck_assert_msg(r.st == FB_OK, "%s", r.text);
    json_t *iss = issued_creds();
    ck_assert_uint_eq(json_array_size(iss), 1);
    json_t *one = json_array_get(iss, 0);
    /* what the kit parsed out of the XML is exactly what the fake issued */
    ck_assert_str_eq(r.c.access_key_id, json_string_value(json_object_get(one, "AccessKeyId")));
    ck_assert_str_eq(r.c.secret_access_key, json_string_value(json_object_get(one, "SecretAccessKey")));
    ck_assert_str_eq(r.c.session_token, json_string_value(json_object_get(one, "SessionToken")));
    ck_assert_int_eq(r.c.expiration, (int64_t)json_number_value(json_object_get(one, "Expiration")));
    ck_assert_ptr_nonnull(strstr(r.c.source, "AssumeRole " ROLE " (profile deploy"));
    json_decref(iss);
    json_t *l = log_of("AssumeRole");
    ck_assert_uint_eq(json_array_size(l), 1);
    json_t *e = json_array_get(l, 0);
    ck_assert_int_eq(json_integer_value(json_object_get(e, "status")), 200);
    ck_assert_str_eq(param(e, "RoleArn"), ROLE);
    ck_assert_str_eq(param(e, "RoleSessionName"), "fb-session");
    ck_assert_str_eq(param(e, "ExternalId"), "ext-123");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(e, "params"), "DurationSeconds")), 1800);
    ck_assert_str_eq(json_string_value(json_object_get(e, "region")), "eu-west-1"); /* profile region */
    json_decref(l);

    /* the temporary credentials sign the next call (with the session token) */
    fb_diag *d = fb_diag_new();
    const char *body = "Action=GetCallerIdentity&Version=2011-06-15";
    fb_http_header h[] = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
    char *url = fbk_xasprintf("http://127.0.0.1:%d/", fake_port);
    fbk_http_msg m = {.method = "POST", .url = url, .headers = h, .n_headers = 1, .body = body,
                      .body_len = strlen(body)};
    fb_http_response resp;
    fb_status st = fbk_aws_send(fb_host_table(), d, &r.c, "eu-west-1", "sts", 0, &m,
                                FB_HTTP_IDEMPOTENT, &resp);
    ck_assert_int_eq(st, FB_OK);
    ck_assert_msg(resp.status == 200, "GetCallerIdentity: %ld %s", resp.status, resp.body);
    fbk_xml *x = NULL;
    char *err = NULL;
    ck_assert_int_eq(fbk_xml_parse(resp.body, resp.body_len, &x, &err), 0);
    ck_assert_str_eq(fbk_xml_text(x, "GetCallerIdentityResponse/GetCallerIdentityResult/Arn"),
                     "arn:aws:sts::123456789012:assumed-role/fedbroker-deployer/fb-session");
    fbk_xml_free(x);
    fb_host_table()->http_free(&resp);
    /* and a wrong session token is refused by the fake */
    free(r.c.session_token);
    r.c.session_token = fbk_xstrdup("not-the-token");
    st = fbk_aws_send(fb_host_table(), d, &r.c, "eu-west-1", "sts", 0, &m, 0, &resp);
    ck_assert_int_eq(st, FB_OK);
    ck_assert_int_eq(resp.status, 403);
    char *code = NULL, *msg = NULL;
    ck_assert_int_eq(fbk_aws_error(&resp, &code, &msg), FB_AUTH);
    ck_assert_str_eq(code, "InvalidClientTokenId");
    free(code);
    free(msg);
    fb_host_table()->http_free(&resp);
    free(url);
    fb_diag_free(d);
    result_free(&r);

    /* a dry run sends nothing, so a role cannot be assumed: said plainly */
    r = resolve_mode(&o, 1);
    ck_assert_int_eq(r.st, FB_AUTH);
    HAS(r, "was not sent (dry run)");
    result_free(&r);
    l = log_of("AssumeRole");
    ck_assert_uint_eq(json_array_size(l), 1); /* still only the first one */
    json_decref(l);
}
END_TEST

START_TEST(assume_role_chain_and_environment_source)
{
    free(write_home(".aws/config",
                    "[profile outer]\nrole_arn = " ROLE "-outer\nsource_profile = middle\n"
                    "[profile middle]\nrole_arn = " ROLE "-middle\nsource_profile = root\n"
                    "[profile root]\naws_access_key_id = " FAKE_AK "\naws_secret_access_key = " FAKE_SK "\n"
                    "[profile self]\nrole_arn = " ROLE "-self\nsource_profile = self\n"
                    "aws_access_key_id = " FAKE_AK "\naws_secret_access_key = " FAKE_SK "\n"
                    "[profile envsrc]\nrole_arn = " ROLE "-env\ncredential_source = Environment\n"));
    fbk_aws_creds_opts o = {.profile = "outer"};
    result r = resolve(&o);
    ck_assert_msg(r.st == FB_OK, "%s", r.text);
    json_t *iss = issued_creds();
    ck_assert_uint_eq(json_array_size(iss), 2);
    /* middle first (signed with root's keys), then outer signed with middle's */
    json_t *a = json_array_get(iss, 0), *b = json_array_get(iss, 1);
    ck_assert_str_eq(json_string_value(json_object_get(a, "RoleArn")), ROLE "-middle");
    ck_assert_str_eq(json_string_value(json_object_get(b, "RoleArn")), ROLE "-outer");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(b, "Source"), "principal")),
                     json_string_value(json_object_get(a, "AssumedRoleArn")));
    ck_assert_str_eq(r.c.access_key_id, json_string_value(json_object_get(b, "AccessKeyId")));
    json_decref(iss);
    result_free(&r);

    o.profile = "self"; /* source_profile naming itself uses its own keys */
    r = resolve(&o);
    ck_assert_msg(r.st == FB_OK, "%s", r.text);
    result_free(&r);

    o.profile = "envsrc";
    r = resolve(&o);
    ck_assert_int_eq(r.st, FB_AUTH); /* environment empty */
    HAS(r, "credential_source = Environment, but AWS_ACCESS_KEY_ID");
    result_free(&r);
    setenv("AWS_ACCESS_KEY_ID", FAKE_AK, 1);
    setenv("AWS_SECRET_ACCESS_KEY", FAKE_SK, 1);
    r = resolve(&o);
    ck_assert_msg(r.st == FB_OK, "%s", r.text);
    ck_assert_ptr_nonnull(strstr(r.c.source, "from environment variables"));
    result_free(&r);
}
END_TEST

START_TEST(web_identity)
{
    char *tok = write_home("token.jwt", "eyJhbGciOi.fake.token\n");
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tok, 1);
    setenv("AWS_ROLE_ARN", ROLE "-wi", 1);
    setenv("AWS_ROLE_SESSION_NAME", "wi-session", 1);
    result r = resolve(NULL);
    ck_assert_msg(r.st == FB_OK, "%s", r.text);
    ck_assert_ptr_nonnull(strstr(r.c.source, "AssumeRoleWithWebIdentity " ROLE "-wi"));
    json_t *l = log_of("AssumeRoleWithWebIdentity");
    ck_assert_uint_eq(json_array_size(l), 1);
    json_t *e = json_array_get(l, 0);
    ck_assert_str_eq(param(e, "WebIdentityToken"), "eyJhbGciOi.fake.token");
    ck_assert_str_eq(param(e, "RoleSessionName"), "wi-session");
    size_t i;
    json_t *hv;
    json_array_foreach(json_object_get(e, "headers"), i, hv)
        ck_assert_msg(strcasecmp(json_string_value(json_array_get(hv, 0)), "Authorization") != 0,
                      "AssumeRoleWithWebIdentity must be unsigned");
    json_decref(l);
    json_t *iss = issued_creds();
    ck_assert_str_eq(r.c.secret_access_key,
                     json_string_value(json_object_get(json_array_get(iss, 0), "SecretAccessKey")));
    json_decref(iss);
    result_free(&r);

    /* from a profile; a token file without a role is an error */
    unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
    unsetenv("AWS_ROLE_ARN");
    unsetenv("AWS_ROLE_SESSION_NAME");
    char *cfg = fbk_xasprintf("[profile wi]\nweb_identity_token_file = %s\nrole_arn = " ROLE "-p\n"
                              "[profile norole]\nweb_identity_token_file = %s\n", tok, tok);
    free(write_home(".aws/config", cfg));
    free(cfg);
    fbk_aws_creds_opts o = {.profile = "wi"};
    r = resolve(&o);
    ck_assert_msg(r.st == FB_OK, "%s", r.text);
    result_free(&r);
    o.profile = "norole";
    r = resolve(&o);
    ck_assert_int_eq(r.st, FB_INVALID);
    HAS(r, "but no role ARN");
    result_free(&r);
    /* an unreadable token file is reported, and a token the IdP rejects too */
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token", 1);
    setenv("AWS_ROLE_ARN", ROLE, 1);
    r = resolve(NULL);
    ck_assert_int_eq(r.st, FB_AUTH);
    HAS(r, "cannot read the web identity token");
    result_free(&r);
    free(write_home("token.jwt", "invalid"));
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tok, 1);
    r = resolve(NULL);
    ck_assert_int_eq(r.st, FB_AUTH);
    HAS(r, "HTTP 400 InvalidIdentityToken");
    result_free(&r);
    free(tok);
}
END_TEST

START_TEST(sts_refusals)
{
    free(write_home(".aws/config",
                    "[profile denied]\nrole_arn = " ROLE "-denied\nsource_profile = good\n"
                    "[profile unknown]\nrole_arn = " ROLE "\nsource_profile = stranger\n"
                    "[profile good]\naws_access_key_id = " FAKE_AK "\naws_secret_access_key = " FAKE_SK "\n"
                    "[profile stranger]\naws_access_key_id = AKIDNOTKNOWN00000000\n"
                    "aws_secret_access_key = " FILE_SK "\n"
                    "[profile badsecret]\nrole_arn = " ROLE "\nsource_profile = wrong\n"
                    "[profile wrong]\naws_access_key_id = " FAKE_AK "\naws_secret_access_key = " FILE_SK "\n"));
    json_decref(control("POST", "roles", "{\"arn\": \"" ROLE "-denied\", \"deny\": true}"));
    static const struct {
        const char *profile;
        fb_status st;
        const char *want;
    } t[] = {
        {"denied", FB_AUTH, "HTTP 403 AccessDenied: User: arn:aws:iam::123456789012:user/fedbroker-test is not authorized"},
        {"unknown", FB_AUTH, "HTTP 403 InvalidClientTokenId"},
        {"badsecret", FB_AUTH, "HTTP 403 SignatureDoesNotMatch"},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        fbk_aws_creds_opts o = {.profile = t[i].profile};
        result r = resolve(&o);
        ck_assert_msg(r.st == t[i].st, "%s: %d\n%s", t[i].profile, r.st, r.text);
        HAS(r, t[i].want);
        result_free(&r);
    }
    /* throttling is retryable (more faults than the host's attempts, which
     * may retry: AssumeRole is sent as idempotent) */
    json_decref(control("POST", "faults", "{\"count\": 10, \"status\": 429, \"service\": \"sts\", \"code\": \"Throttling\"}"));
    fbk_aws_creds_opts o = {.profile = "denied"};
    result r = resolve(&o);
    ck_assert_int_eq(r.st, FB_RETRYABLE);
    HAS(r, "HTTP 429 Throttling");
    result_free(&r);
    /* a reset connection surfaces as the host's transport error */
    json_decref(control("DELETE", "faults", NULL));
    json_decref(control("POST", "faults", "{\"count\": 10, \"reset\": true}"));
    r = resolve(&o);
    ck_assert_int_eq(r.st, FB_RETRYABLE);
    HAS(r, "did not get an answer");
    result_free(&r);
}
END_TEST

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (start_fake() != 0) return 1;
    Suite *s = suite_create("kit_creds");
    TCase *tc = tcase_create("chain");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, env_keys);
    tcase_add_test(tc, env_partial);
    tcase_add_test(tc, files_and_precedence);
    tcase_add_test(tc, malformed_ini);
    tcase_add_test(tc, nothing_found_lists_sources);
    tcase_add_test(tc, unsupported_and_invalid_profiles);
    tcase_add_test(tc, assume_role_profile);
    tcase_add_test(tc, assume_role_chain_and_environment_source);
    tcase_add_test(tc, web_identity);
    tcase_add_test(tc, sts_refusals);
    suite_add_tcase(s, tc);
    int rc = fbt_run(s);
    stop_fake();
    return rc;
}
