/* awscreds.c - AWS credentials in the order botocore and the AWS CLI look
 * for them, STS AssumeRole / AssumeRoleWithWebIdentity through host->http,
 * signed sending and AWS error decoding for drivers.
 *
 * Behaviour follows the AWS CLI / SDK documentation ("Configuration and
 * credential file settings", "Assume role credentials", "Standardized
 * credential providers"). No code was taken from any SDK. */
#include "config.h"
#include "fbk.h"
#include "base/jsonread.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define INI_MAX (1024 * 1024)
#define TOKEN_MAX (1024 * 1024)
#define MAX_CHAIN 8
#define STS_VERSION "2011-06-15"

/* ---- small helpers ------------------------------------------------------- */

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* Credentials are secrets: wipe before freeing. */
void fbk_aws_creds_clear(fbk_aws_creds *c)
{
    if (!c) return;
    fbk_free_secret(c->access_key_id);
    fbk_free_secret(c->secret_access_key);
    fbk_free_secret(c->session_token);
    free(c->source);
    memset(c, 0, sizeof *c);
}

/* Replaces *c with copies of the given keys; takes source_new. */
static void creds_set(fbk_aws_creds *c, const char *ak, const char *sk, const char *tok,
                      int64_t exp, char *source_new)
{
    fbk_aws_creds_clear(c);
    c->access_key_id = fbk_xstrdup(ak);
    c->secret_access_key = fbk_xstrdup(sk);
    c->session_token = tok && *tok ? fbk_xstrdup(tok) : NULL;
    c->expiration = exp;
    c->source = source_new;
}

/* ---- the resolver's state ------------------------------------------------ */

typedef struct file_state {
    char *path;   /* new; NULL when it cannot be located (no HOME) */
    int loaded;   /* parsed successfully */
    char *why;    /* new: why it is not loaded ("not found", ...) */
    fbk_ini ini;
} file_state;

typedef struct rctx {
    const fb_host *host;
    fb_diag *diag;
    const fbk_aws_creds_opts *opts;
    char *home;         /* new or NULL */
    char *profile;      /* new */
    const char *profile_origin; /* "the configuration", "AWS_PROFILE", NULL = default */
    file_state cfg, cred;
    fbk_buf tried;      /* "  N. source: reason\n" lines */
    int ntried;
} rctx;

/* Records why a source did not apply, for the final message. */
static void tried(rctx *r, const char *fmt, ...) FBK_PRINTF(2, 3);
static void tried(rctx *r, const char *fmt, ...)
{
    fbk_buf_printf(&r->tried, "  %d. ", ++r->ntried);
    va_list ap;
    va_start(ap, fmt);
    fbk_buf_vprintf(&r->tried, fmt, ap);
    va_end(ap);
    fbk_buf_putc(&r->tried, '\n');
}

/* A hard error: this source was configured but failed. The detail lists
 * the sources looked at before it. */
static fb_status fail(rctx *r, fb_status st, const char *fmt, ...) FBK_PRINTF(3, 4);
static fb_status fail(rctx *r, fb_status st, const char *fmt, ...)
{
    fbk_buf b;
    fbk_buf_init(&b);
    va_list ap;
    va_start(ap, fmt);
    fbk_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (r->ntried)
        fbk_buf_printf(&b, "\nAWS credential sources looked at before this one:\n%s",
                       r->tried.data);
    fbk_diag(r->host, r->diag, FB_SEV_ERROR, NULL, "%s", b.data);
    fbk_buf_free(&b);
    return st;
}

/* Expands a leading "~/" the way the AWS CLI does; NULL without HOME. */
static char *expand_home(rctx *r, const char *p)
{
    if (p[0] == '~' && (p[1] == '/' || p[1] == '\0')) {
        if (!r->home) return NULL;
        return fbk_xasprintf("%s%s", r->home, p + 1);
    }
    return fbk_xstrdup(p);
}

/* Loads one of the two files; a missing file is not an error, a malformed
 * one is (it must be fixed, not silently skipped). */
static fb_status load_file(rctx *r, file_state *f, const char *envname, const char *deflt)
{
    const char *e = env(envname);
    if (e) {
        f->path = expand_home(r, e);
        if (!f->path) {
            f->why = fbk_xasprintf("%s=%s needs HOME, which is not set", envname, e);
            return FB_OK;
        }
    } else if (r->home) {
        f->path = fbk_xasprintf("%s/%s", r->home, deflt);
    } else {
        f->why = fbk_xasprintf("HOME is not set, so ~/%s cannot be located (set %s)", deflt,
                               envname);
        return FB_OK;
    }
    size_t len = 0;
    int eno = 0;
    char *err = NULL;
    char *text = fbk_read_file(f->path, INI_MAX, &len, &eno, &err);
    if (!text) {
        if (eno == ENOENT) {
            f->why = fbk_xasprintf("%s does not exist", f->path);
            free(err);
            return FB_OK;
        }
        f->why = err;
        return FB_OK;
    }
    int rc = fbk_ini_parse(text, len, f->path, &f->ini, &err);
    fbk_wipe(text, len);
    free(text);
    if (rc != 0) {
        fb_status st = fail(r, FB_INVALID, "malformed AWS %s file: %s\nFix the line or point %s "
                                           "at another file.",
                            strcmp(envname, "AWS_CONFIG_FILE") ? "credentials" : "config", err,
                            envname);
        free(err);
        return st;
    }
    f->loaded = 1;
    return FB_OK;
}

/* The config-file section of a profile: [default] / [profile default] for
 * "default", [profile NAME] (any blanks, optional quotes) otherwise. */
static const char *cfg_section(const rctx *r, const char *profile)
{
    if (!r->cfg.loaded) return NULL;
    const fbk_ini *ini = &r->cfg.ini;
    const char *found = NULL;
    for (size_t i = 0; i < ini->n_sections; i++) {
        const char *s = ini->sections[i];
        if (!strcmp(profile, "default") && !strcmp(s, "default")) return s;
        if (strncmp(s, "profile", 7) != 0 || !(s[7] == ' ' || s[7] == '\t')) continue;
        const char *n = s + 8;
        while (*n == ' ' || *n == '\t') n++;
        size_t len = strlen(n);
        if (len >= 2 && n[0] == '"' && n[len - 1] == '"') {
            n++;
            len -= 2;
        }
        if (len == strlen(profile) && !memcmp(n, profile, len)) found = s;
    }
    return found;
}

/* Whether the credentials file has [profile]. */
static int cred_has(const rctx *r, const char *profile)
{
    return r->cred.loaded && fbk_ini_has_section(&r->cred.ini, profile);
}

/* A profile setting, the credentials file's value winning over the config
 * file's (botocore merges them that way). *where = "file:line" (new). */
static const char *prof_get(const rctx *r, const char *profile, const char *key, char **where)
{
    const fbk_ini_entry *e = NULL;
    const fbk_ini *from = NULL;
    if (r->cred.loaded && (e = fbk_ini_get(&r->cred.ini, profile, key)) != NULL) {
        from = &r->cred.ini;
    } else {
        const char *sec = cfg_section(r, profile);
        if (sec && (e = fbk_ini_get(&r->cfg.ini, sec, key)) != NULL) from = &r->cfg.ini;
    }
    if (where) *where = e ? fbk_xasprintf("%s:%d", from->file, e->line) : NULL;
    return e && *e->value ? e->value : NULL;
}

/* A profile exists when either file has a section for it. */
static int profile_exists(const rctx *r, const char *p)
{
    return cred_has(r, p) || cfg_section(r, p) != NULL;
}

/* Profile names found in both files, for "not found" messages (new). */
static char *list_profiles(const rctx *r)
{
    fbk_buf b;
    fbk_buf_init(&b);
    if (r->cred.loaded)
        for (size_t i = 0; i < r->cred.ini.n_sections; i++)
            fbk_buf_printf(&b, "%s%s", b.len ? ", " : "", r->cred.ini.sections[i]);
    if (r->cfg.loaded)
        for (size_t i = 0; i < r->cfg.ini.n_sections; i++) {
            const char *s = r->cfg.ini.sections[i];
            if (!strcmp(s, "default")) {
                fbk_buf_printf(&b, "%sdefault", b.len ? ", " : "");
            } else if (!strncmp(s, "profile", 7) && (s[7] == ' ' || s[7] == '\t')) {
                const char *n = s + 8;
                while (*n == ' ' || *n == '\t') n++;
                fbk_buf_printf(&b, "%s%s", b.len ? ", " : "", n);
            }
        }
    return b.len ? fbk_buf_steal(&b) : fbk_xstrdup("none");
}

/* ---- STS ------------------------------------------------------------------- */

static const char *sts_region(rctx *r, const char *profile)
{
    if (r->opts && r->opts->region) return r->opts->region;
    const char *e = env("AWS_REGION");
    if (!e) e = env("AWS_DEFAULT_REGION");
    if (e) return e;
    return profile ? prof_get(r, profile, "region", NULL) : NULL;
}

/* The STS endpoint: option, AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, regional (new). */
static char *sts_endpoint(rctx *r, const char *region)
{
    if (r->opts && r->opts->sts_endpoint) return fbk_xstrdup(r->opts->sts_endpoint);
    const char *e = env("AWS_ENDPOINT_URL_STS");
    if (!e) e = env("AWS_ENDPOINT_URL");
    if (e) return fbk_xstrdup(e);
    if (!region) return fbk_xstrdup("https://sts.amazonaws.com/");
    return fbk_xasprintf("https://sts.%s.%s/", region,
                         strncmp(region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com");
}

/* Appends one name=value pair to a form body, RFC 3986-encoded. */
static void form_add(fbk_buf *b, const char *k, const char *v)
{
    if (b->len) fbk_buf_putc(b, '&');
    fbk_uri_encode(b, k, strlen(k), 0);
    fbk_buf_putc(b, '=');
    fbk_uri_encode(b, v, strlen(v), 0);
}

/* STS answers carry secrets: wipe the body before the host frees it. */
static void wipe_response(const fb_host *host, fb_http_response *resp)
{
    if (resp->body) fbk_wipe(resp->body, resp->body_len);
    host->http_free(resp);
}

/* One STS Query-protocol call. signer NULL = unsigned
 * (AssumeRoleWithWebIdentity). what: "role arn:..." for messages. */
static fb_status sts_call(rctx *r, const char *action, const fbk_aws_creds *signer,
                          const char *region, fbk_buf *params, const char *what,
                          const char *extra_secret, fbk_aws_creds *out, char *source_new)
{
    char *endpoint = sts_endpoint(r, region);
    fbk_buf body;
    fbk_buf_init(&body);
    form_add(&body, "Action", action);
    form_add(&body, "Version", STS_VERSION);
    if (params->len) {
        fbk_buf_putc(&body, '&');
        fbk_buf_append(&body, params->data, params->len);
    }
    fb_http_header hdr[] = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
    fbk_http_msg msg = {.method = "POST", .url = endpoint, .headers = hdr, .n_headers = 1,
                        .body = body.data, .body_len = body.len};
    fb_http_response resp;
    memset(&resp, 0, sizeof resp);
    fb_status st;
    if (signer) {
        st = fbk_aws_send(r->host, r->diag, signer, region ? region : "us-east-1", "sts", 0, &msg,
                          FB_HTTP_IDEMPOTENT, &resp);
    } else {
        const char *secrets[] = {extra_secret};
        fb_http_request req = {.struct_size = sizeof req, .method = "POST", .url = endpoint,
                               .headers = hdr, .n_headers = 1, .body = body.data,
                               .body_len = body.len, .flags = FB_HTTP_IDEMPOTENT,
                               .service = "sts", .secrets = secrets,
                               .n_secrets = extra_secret ? 1 : 0};
        st = r->host->http(r->diag, &req, &resp);
    }
    fbk_buf_wipe(&body);
    if (st != FB_OK) {
        st = fail(r, st, "STS %s for %s at %s did not get an answer\nSee the HTTP error above; "
                         "check the network or the STS endpoint (AWS_ENDPOINT_URL_STS).",
                  action, what, endpoint);
        free(endpoint);
        free(source_new);
        return st;
    }
    if (resp.status == 0) { /* the host answers a dry run with status 0 */
        wipe_response(r->host, &resp);
        st = fail(r, FB_AUTH, "STS %s for %s was not sent (dry run), so no temporary "
                              "credentials could be obtained\nUse static credentials for dry "
                              "runs, or run without --dry-run.",
                  action, what);
        free(endpoint);
        free(source_new);
        return st;
    }
    if (resp.status != 200) {
        char *code = NULL, *message = NULL;
        fb_status est = fbk_aws_error(&resp, &code, &message);
        if (est == FB_OK) est = FB_INTERNAL;
        st = fail(r, est, "STS %s for %s refused: HTTP %ld %s%s%s\nendpoint %s; check the role's "
                          "trust policy and the source credentials.",
                  action, what, resp.status, code ? code : "", message ? ": " : "",
                  message ? message : "", endpoint);
        free(code);
        free(message);
        wipe_response(r->host, &resp);
        free(endpoint);
        free(source_new);
        return st;
    }
    fbk_xml *x = NULL;
    char *xerr = NULL;
    if (fbk_xml_parse(resp.body ? resp.body : "", resp.body_len, &x, &xerr) != 0) {
        st = fail(r, FB_INTERNAL, "STS %s answered with malformed XML (%s)\nendpoint %s", action,
                  xerr, endpoint);
        free(xerr);
        wipe_response(r->host, &resp);
        free(endpoint);
        free(source_new);
        return st;
    }
    wipe_response(r->host, &resp);
    char path[160];
    snprintf(path, sizeof path, "%sResponse/%sResult/Credentials", action, action);
    const fbk_xml *c = fbk_xml_find(x, path);
    const char *ak = c ? fbk_xml_text(c, "Credentials/AccessKeyId") : NULL;
    const char *sk = c ? fbk_xml_text(c, "Credentials/SecretAccessKey") : NULL;
    const char *tok = c ? fbk_xml_text(c, "Credentials/SessionToken") : NULL;
    const char *exps = c ? fbk_xml_text(c, "Credentials/Expiration") : NULL;
    int64_t exp = 0;
    if (!ak || !*ak || !sk || !*sk || !tok || !*tok || !exps || fbk_parse_rfc3339(exps, &exp) != 0) {
        fbk_xml_free(x);
        st = fail(r, FB_INTERNAL, "STS %s answered 200 without complete credentials\nexpected "
                                  "%s/{AccessKeyId,SecretAccessKey,SessionToken,Expiration}; "
                                  "endpoint %s",
                  action, path, endpoint);
        free(endpoint);
        free(source_new);
        return st;
    }
    if (exp <= r->host->now()) {
        fbk_xml_free(x);
        char ts[21];
        fbk_format_rfc3339(exp, ts);
        st = fail(r, FB_AUTH, "STS %s returned credentials that expired at %s\nCheck the clock "
                              "(FEDBROKER_NOW) and duration_seconds.",
                  action, ts);
        free(endpoint);
        free(source_new);
        return st;
    }
    creds_set(out, ak, sk, tok, exp, source_new);
    fbk_xml_free(x);
    free(endpoint);
    return FB_OK;
}

/* role_session_name: AWS allows [\w+=,.@-]{2,64}. */
static int valid_session_name(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || n > 64) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("_+=,.@-", *s)) return 0;
    return 1;
}

/* RoleSessionName and DurationSeconds, shared by both AssumeRole calls. */
static fb_status common_role_params(rctx *r, const char *profile, const char *session_env,
                                    fbk_buf *params)
{
    char *where = NULL;
    const char *name = session_env ? session_env : profile ? prof_get(r, profile, "role_session_name", &where) : NULL;
    char *dflt = NULL;
    if (!name) name = dflt = fbk_xasprintf("fedbroker-%lld", (long long)r->host->now());
    if (!valid_session_name(name)) {
        fb_status st = fail(r, FB_INVALID, "role session name \"%s\" (%s) is not valid\nUse 2 to "
                                           "64 characters from letters, digits and _+=,.@-",
                            name, where ? where : "AWS_ROLE_SESSION_NAME");
        free(where);
        free(dflt);
        return st;
    }
    form_add(params, "RoleSessionName", name);
    free(where);
    free(dflt);
    where = NULL;
    const char *dur = profile ? prof_get(r, profile, "duration_seconds", &where) : NULL;
    if (dur) {
        char *end = NULL;
        errno = 0;
        long v = strtol(dur, &end, 10);
        if (errno || !end || *end || v < 900 || v > 43200) {
            fb_status st = fail(r, FB_INVALID, "%s: duration_seconds must be a whole number of "
                                               "seconds from 900 to 43200",
                                where);
            free(where);
            return st;
        }
        form_add(params, "DurationSeconds", dur);
    }
    free(where);
    return FB_OK;
}

static fb_status web_identity(rctx *r, const char *profile, const char *token_file,
                              const char *token_where, const char *role_arn,
                              const char *session_env, fbk_aws_creds *out)
{
    size_t len = 0;
    int eno = 0;
    char *err = NULL;
    char *path = expand_home(r, token_file);
    if (!path)
        return fail(r, FB_AUTH, "web identity token file %s (%s) needs HOME, which is not set",
                    token_file, token_where);
    char *tok = fbk_read_file(path, TOKEN_MAX, &len, &eno, &err);
    if (!tok) {
        fb_status st = fail(r, FB_AUTH, "cannot read the web identity token (%s): %s", token_where,
                            err);
        free(err);
        free(path);
        return st;
    }
    while (len && (tok[len - 1] == '\n' || tok[len - 1] == '\r' || tok[len - 1] == ' ')) tok[--len] = '\0';
    if (!len || strlen(tok) != len) {
        fbk_free_secret(tok);
        fb_status st = fail(r, FB_AUTH, "the web identity token file %s is empty or not text", path);
        free(path);
        return st;
    }
    fbk_buf params;
    fbk_buf_init(&params);
    form_add(&params, "RoleArn", role_arn);
    fb_status st = common_role_params(r, profile, session_env, &params);
    if (st == FB_OK) {
        form_add(&params, "WebIdentityToken", tok);
        char *what = fbk_xasprintf("role %s", role_arn);
        st = sts_call(r, "AssumeRoleWithWebIdentity", NULL, sts_region(r, profile), &params, what,
                      tok, out,
                      fbk_xasprintf("AssumeRoleWithWebIdentity %s (token file %s)", role_arn, path));
        free(what);
    }
    fbk_buf_wipe(&params);
    fbk_free_secret(tok);
    free(path);
    return st;
}

/* The access keys written in a profile (source_profile without a role). */
static fb_status static_keys(rctx *r, const char *profile, fbk_aws_creds *out, const char *role)
{
    char *w1 = NULL, *w2 = NULL;
    const char *ak = prof_get(r, profile, "aws_access_key_id", &w1);
    const char *sk = prof_get(r, profile, "aws_secret_access_key", &w2);
    fb_status st = FB_OK;
    if (ak && sk) {
        creds_set(out, ak, sk, prof_get(r, profile, "aws_session_token", NULL), 0,
                  fbk_xasprintf("keys of profile %s (%s)", profile, w1));
    } else if (ak || sk) {
        st = fail(r, FB_AUTH, "profile %s has %s (%s) but no %s\nAdd the missing key or remove "
                              "the other.",
                  profile, ak ? "aws_access_key_id" : "aws_secret_access_key", ak ? w1 : w2,
                  ak ? "aws_secret_access_key" : "aws_access_key_id");
    } else {
        st = fail(r, FB_AUTH, "source_profile %s (for %s) has no credentials\nGive it "
                              "aws_access_key_id and aws_secret_access_key, a role_arn with its own "
                              "source, or a web_identity_token_file.",
                  profile, role);
    }
    free(w1);
    free(w2);
    return st;
}

/* AssumeRole for a profile with role_arn, after resolving its source. */
static fb_status assume_role(rctx *r, const char *profile, const char **chain, int depth,
                             fbk_aws_creds *out);

/* Credentials of a source_profile (botocore semantics: a role in the source
 * profile is assumed first unless it points at itself). */
static fb_status source_profile_creds(rctx *r, const char *src, const char *from,
                                      const char **chain, int depth, fbk_aws_creds *out)
{
    if (!profile_exists(r, src)) {
        char *list = list_profiles(r);
        fb_status st = fail(r, FB_INVALID, "profile %s names source_profile %s, which does not "
                                           "exist\nProfiles found: %s",
                            from, src, list);
        free(list);
        return st;
    }
    if (strcmp(src, from) != 0 && prof_get(r, src, "role_arn", NULL)) {
        for (int i = 0; i < depth; i++)
            if (!strcmp(chain[i], src)) {
                fbk_buf b;
                fbk_buf_init(&b);
                for (int k = 0; k < depth; k++) fbk_buf_printf(&b, "%s -> ", chain[k]);
                fbk_buf_puts(&b, src);
                fb_status st = fail(r, FB_INVALID, "source_profile cycle: %s\nBreak the cycle "
                                                   "with a profile that has keys.",
                                    b.data);
                fbk_buf_free(&b);
                return st;
            }
        return assume_role(r, src, chain, depth, out);
    }
    const char *tf = prof_get(r, src, "web_identity_token_file", NULL);
    const char *ra = prof_get(r, src, "role_arn", NULL);
    if (strcmp(src, from) != 0 && tf && ra) {
        char *w = NULL;
        prof_get(r, src, "web_identity_token_file", &w);
        fb_status st = web_identity(r, src, tf, w, ra, NULL, out);
        free(w);
        return st;
    }
    return static_keys(r, src, out, from);
}

/* AssumeRole for a profile with role_arn, after resolving its source. */
static fb_status assume_role(rctx *r, const char *profile, const char **chain, int depth,
                             fbk_aws_creds *out)
{
    if (depth >= MAX_CHAIN)
        return fail(r, FB_INVALID, "role chain from profile %s is longer than %d roles", chain[0],
                    MAX_CHAIN);
    chain[depth] = profile;
    char *w_role = NULL, *w_src = NULL, *w_cs = NULL, *w_mfa = NULL;
    const char *role = prof_get(r, profile, "role_arn", &w_role);
    const char *src = prof_get(r, profile, "source_profile", &w_src);
    const char *cs = prof_get(r, profile, "credential_source", &w_cs);
    const char *mfa = prof_get(r, profile, "mfa_serial", &w_mfa);
    fb_status st = FB_OK;
    fbk_aws_creds base;
    memset(&base, 0, sizeof base);
    if (mfa) {
        st = fail(r, FB_NOTSUP, "%s: profile %s needs an MFA code (mfa_serial), which fedbroker "
                                "cannot prompt for\nUse a profile without mfa_serial, or get "
                                "session credentials first and put them in the environment.",
                  w_mfa, profile);
        goto out;
    }
    if (src && cs) {
        st = fail(r, FB_INVALID, "profile %s sets both source_profile (%s) and credential_source "
                                 "(%s); keep one",
                  profile, w_src, w_cs);
        goto out;
    }
    if (!src && !cs) {
        st = fail(r, FB_INVALID, "profile %s has role_arn (%s) but neither source_profile nor "
                                 "credential_source\nSay where the credentials that assume the "
                                 "role come from.",
                  profile, w_role);
        goto out;
    }
    if (cs) {
        if (strcmp(cs, "Environment") != 0) {
            st = fail(r, FB_NOTSUP, "%s: credential_source = %s is not supported by fedbroker "
                                    "(only Environment)",
                      w_cs, cs);
            goto out;
        }
        const char *ak = env("AWS_ACCESS_KEY_ID"), *sk = env("AWS_SECRET_ACCESS_KEY");
        if (!ak || !sk) {
            st = fail(r, FB_AUTH, "%s: credential_source = Environment, but AWS_ACCESS_KEY_ID "
                                  "and AWS_SECRET_ACCESS_KEY are not both set",
                      w_cs);
            goto out;
        }
        const char *tok = env("AWS_SESSION_TOKEN");
        creds_set(&base, ak, sk, tok ? tok : env("AWS_SECURITY_TOKEN"), 0,
                  fbk_xstrdup("environment variables"));
    } else {
        st = source_profile_creds(r, src, profile, chain, depth + 1, &base);
        if (st != FB_OK) goto out;
    }
    fbk_buf params;
    fbk_buf_init(&params);
    form_add(&params, "RoleArn", role);
    st = common_role_params(r, profile, NULL, &params);
    if (st == FB_OK) {
        char *w_ext = NULL;
        const char *ext = prof_get(r, profile, "external_id", &w_ext);
        if (ext) form_add(&params, "ExternalId", ext);
        free(w_ext);
        char *what = fbk_xasprintf("role %s (profile %s)", role, profile);
        st = sts_call(r, "AssumeRole", &base, sts_region(r, profile), &params, what, NULL, out,
                      fbk_xasprintf("AssumeRole %s (profile %s, from %s)", role, profile,
                                    base.source));
        free(what);
    }
    fbk_buf_wipe(&params);
out:
    fbk_aws_creds_clear(&base);
    free(w_role);
    free(w_src);
    free(w_cs);
    free(w_mfa);
    return st;
}

/* ---- the chain ----------------------------------------------------------- */

static fb_status resolve(rctx *r, fbk_aws_creds *out)
{
    /* 1. environment */
    if (r->profile_origin && !strcmp(r->profile_origin, "the configuration")) {
        tried(r, "environment variables: skipped, because the configuration names profile %s",
              r->profile);
    } else {
        const char *ak = env("AWS_ACCESS_KEY_ID"), *sk = env("AWS_SECRET_ACCESS_KEY");
        if (ak && sk) {
            const char *tok = env("AWS_SESSION_TOKEN");
            creds_set(out, ak, sk, tok ? tok : env("AWS_SECURITY_TOKEN"), 0,
                      fbk_xstrdup("environment variables"));
            return FB_OK;
        }
        if (ak || sk)
            return fail(r, FB_AUTH, "%s is set but %s is not\nSet both, or unset both to use a "
                                    "profile.",
                        ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                        ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
        tried(r, "environment variables: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set");
    }

    fb_status st = load_file(r, &r->cfg, "AWS_CONFIG_FILE", ".aws/config");
    if (st != FB_OK) return st;
    st = load_file(r, &r->cred, "AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
    if (st != FB_OK) return st;
    const char *P = r->profile;
    int exists = profile_exists(r, P);
    if (!exists && r->profile_origin) {
        char *list = list_profiles(r);
        st = fail(r, FB_AUTH, "AWS profile %s (from %s) was not found\nLooked in %s and %s; "
                              "profiles there: %s",
                  P, r->profile_origin, r->cred.path ? r->cred.path : "(no credentials file)",
                  r->cfg.path ? r->cfg.path : "(no config file)", list);
        free(list);
        return st;
    }

    /* 2. AssumeRole from the profile */
    const char *role = exists ? prof_get(r, P, "role_arn", NULL) : NULL;
    const char *tfile = exists ? prof_get(r, P, "web_identity_token_file", NULL) : NULL;
    if (role && !tfile) {
        const char *chain[MAX_CHAIN];
        return assume_role(r, P, chain, 0, out);
    }
    tried(r, "assume role: profile %s %s", P,
          !exists ? "does not exist" : role ? "uses web identity instead" : "has no role_arn");

    /* 3. web identity */
    const char *etf = env("AWS_WEB_IDENTITY_TOKEN_FILE");
    const char *erole = env("AWS_ROLE_ARN");
    char *w_tf = NULL, *w_role = NULL;
    const char *tf = etf ? etf : tfile;
    const char *ra = erole ? erole : exists ? prof_get(r, P, "role_arn", &w_role) : NULL;
    if (etf) w_tf = fbk_xstrdup("AWS_WEB_IDENTITY_TOKEN_FILE");
    else if (tfile) prof_get(r, P, "web_identity_token_file", &w_tf);
    if (tf && ra) {
        st = web_identity(r, P, tf, w_tf, ra, env("AWS_ROLE_SESSION_NAME"), out);
        free(w_tf);
        free(w_role);
        return st;
    }
    if (tf) {
        st = fail(r, FB_INVALID, "a web identity token file is configured (%s) but no role ARN\n"
                                 "Set AWS_ROLE_ARN or role_arn in profile %s.",
                  w_tf, P);
        free(w_tf);
        free(w_role);
        return st;
    }
    free(w_tf);
    free(w_role);
    tried(r, "web identity: AWS_WEB_IDENTITY_TOKEN_FILE is not set and profile %s has no "
             "web_identity_token_file", P);

    /* Sources fedbroker does not implement: say so rather than skip. */
    if (exists) {
        static const char *const unsup[] = {"sso_start_url", "sso_session", "credential_process"};
        for (size_t i = 0; i < 3; i++) {
            char *w = NULL;
            if (prof_get(r, P, unsup[i], &w)) {
                st = fail(r, FB_NOTSUP, "%s: profile %s uses %s, which fedbroker does not "
                                        "support\nExport credentials into the environment "
                                        "(e.g. `aws configure export-credentials`) or use keys "
                                        "or role_arn.",
                          w, P, unsup[i]);
                free(w);
                return st;
            }
            free(w);
        }
    }

    /* 4. shared credentials file */
    if (!r->cred.loaded) {
        tried(r, "shared credentials file: %s", r->cred.why ? r->cred.why : "not loaded");
    } else if (!fbk_ini_has_section(&r->cred.ini, P)) {
        tried(r, "shared credentials file %s: no [%s] section", r->cred.path, P);
    } else {
        const fbk_ini_entry *ak = fbk_ini_get(&r->cred.ini, P, "aws_access_key_id");
        const fbk_ini_entry *sk = fbk_ini_get(&r->cred.ini, P, "aws_secret_access_key");
        const fbk_ini_entry *tok = fbk_ini_get(&r->cred.ini, P, "aws_session_token");
        if (ak && *ak->value && sk && *sk->value) {
            creds_set(out, ak->value, sk->value, tok ? tok->value : NULL, 0,
                      fbk_xasprintf("shared credentials file %s, profile %s", r->cred.path, P));
            return FB_OK;
        }
        if ((ak && *ak->value) || (sk && *sk->value))
            return fail(r, FB_AUTH, "%s:%d: profile %s has %s but no %s", r->cred.path,
                        (ak && *ak->value) ? ak->line : sk->line, P,
                        (ak && *ak->value) ? "aws_access_key_id" : "aws_secret_access_key",
                        (ak && *ak->value) ? "aws_secret_access_key" : "aws_access_key_id");
        tried(r, "shared credentials file %s: [%s] has no aws_access_key_id", r->cred.path, P);
    }

    /* 5. config file */
    const char *sec = cfg_section(r, P);
    if (!r->cfg.loaded) {
        tried(r, "config file: %s", r->cfg.why ? r->cfg.why : "not loaded");
    } else if (!sec) {
        tried(r, "config file %s: no [%s%s] section", r->cfg.path,
              strcmp(P, "default") ? "profile " : "", P);
    } else {
        const fbk_ini_entry *ak = fbk_ini_get(&r->cfg.ini, sec, "aws_access_key_id");
        const fbk_ini_entry *sk = fbk_ini_get(&r->cfg.ini, sec, "aws_secret_access_key");
        const fbk_ini_entry *tok = fbk_ini_get(&r->cfg.ini, sec, "aws_session_token");
        if (ak && *ak->value && sk && *sk->value) {
            creds_set(out, ak->value, sk->value, tok ? tok->value : NULL, 0,
                      fbk_xasprintf("config file %s, [%s]", r->cfg.path, sec));
            return FB_OK;
        }
        if ((ak && *ak->value) || (sk && *sk->value))
            return fail(r, FB_AUTH, "%s:%d: [%s] has %s but no %s", r->cfg.path,
                        (ak && *ak->value) ? ak->line : sk->line, sec,
                        (ak && *ak->value) ? "aws_access_key_id" : "aws_secret_access_key",
                        (ak && *ak->value) ? "aws_secret_access_key" : "aws_access_key_id");
        tried(r, "config file %s: [%s] has no aws_access_key_id", r->cfg.path, sec);
    }
    tried(r, "container credentials and EC2 instance metadata: not supported by fedbroker");

    fbk_diag(r->host, r->diag, FB_SEV_ERROR, NULL,
             "no AWS credentials found for profile %s\nTried, in order:\n%s"
             "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, add [%s] with aws_access_key_id "
             "and aws_secret_access_key to the shared credentials file, or give the profile a "
             "role_arn with a source_profile.",
             P, r->tried.data, P);
    return FB_AUTH;
}

/* Sets up the search (profile, HOME) and runs it; see fbk.h. */
fb_status fbk_aws_creds_resolve(const fb_host *host, fb_diag *diag,
                                const fbk_aws_creds_opts *opts, fbk_aws_creds *out)
{
    memset(out, 0, sizeof *out);
    rctx r;
    memset(&r, 0, sizeof r);
    r.host = host;
    r.diag = diag;
    r.opts = opts;
    fbk_buf_init(&r.tried);
    const char *home = opts && opts->home ? opts->home : env("HOME");
    r.home = home ? fbk_xstrdup(home) : NULL;
    if (opts && opts->profile && *opts->profile) {
        r.profile = fbk_xstrdup(opts->profile);
        r.profile_origin = "the configuration";
    } else if (env("AWS_PROFILE")) {
        r.profile = fbk_xstrdup(env("AWS_PROFILE"));
        r.profile_origin = "AWS_PROFILE";
    } else {
        r.profile = fbk_xstrdup("default");
    }
    fb_status st = resolve(&r, out);
    if (st != FB_OK) fbk_aws_creds_clear(out);
    free(r.home);
    free(r.profile);
    free(r.cfg.path);
    free(r.cfg.why);
    fbk_ini_free(&r.cfg.ini);
    free(r.cred.path);
    free(r.cred.why);
    fbk_ini_free(&r.cred.ini);
    fbk_buf_free(&r.tried);
    return st;
}

/* ---- signed sending ------------------------------------------------------ */

fb_status fbk_aws_send(const fb_host *host, fb_diag *diag, const fbk_aws_creds *creds,
                       const char *region, const char *service, unsigned sigv4_flags,
                       const fbk_http_msg *msg, uint32_t http_flags, fb_http_response *resp)
{
    memset(resp, 0, sizeof *resp);
    fbk_sigv4_params p = {
        .access_key_id = creds->access_key_id,
        .secret_access_key = creds->secret_access_key,
        .session_token = creds->session_token,
        .region = region,
        .service = service,
        .time = host->now(),
        .flags = sigv4_flags & ~(unsigned)FBK_SIGV4_PRESIGN,
    };
    fbk_sigv4_out o;
    char *err = NULL;
    if (fbk_sigv4_sign(&p, msg, &o, &err) != 0) {
        fbk_diag(host, diag, FB_SEV_ERROR, NULL, "cannot sign the %s request to %s\n%s", service,
                 msg->url, err);
        free(err);
        return FB_INVALID;
    }
    size_t n = msg->n_headers + o.n_headers;
    fb_http_header *h = fbk_xcalloc(n, sizeof *h);
    for (size_t i = 0; i < msg->n_headers; i++) h[i] = msg->headers[i];
    for (size_t i = 0; i < o.n_headers; i++) h[msg->n_headers + i] = o.headers[i];
    const char *secrets[2];
    size_t ns = 0;
    secrets[ns++] = creds->secret_access_key;
    if (creds->session_token) secrets[ns++] = creds->session_token;
    fb_http_request req = {
        .struct_size = sizeof req, .method = msg->method, .url = o.url, .headers = h,
        .n_headers = n, .body = msg->body, .body_len = msg->body_len, .flags = http_flags,
        .service = service, .secrets = secrets, .n_secrets = ns,
    };
    fb_status st = host->http(diag, &req, resp);
    free(h);
    fbk_sigv4_out_free(&o);
    return st;
}

/* ---- AWS error bodies ---------------------------------------------------- */

static int has(const char *code, const char *part)
{
    return code && strstr(code, part) != NULL;
}

/* Decodes the error shapes of the JSON, REST-JSON and Query protocols. */
fb_status fbk_aws_error(const fb_http_response *resp, char **code, char **message)
{
    *code = *message = NULL;
    if (resp->status >= 200 && resp->status < 300) return FB_OK;
    for (size_t i = 0; i < resp->n_headers; i++)
        if (resp->headers[i].name && !strcasecmp(resp->headers[i].name, "x-amzn-ErrorType") &&
            resp->headers[i].value)
            *code = fbk_xstrndup(resp->headers[i].value, strcspn(resp->headers[i].value, ":"));
    const char *b = resp->body ? resp->body : "";
    size_t bl = resp->body_len;
    while (bl && isspace((unsigned char)*b)) {
        b++;
        bl--;
    }
    if (bl && *b == '{') {
        /* the one-pass reader (json_loadb's value; every 404 of a
         * GetFunction before a create is parsed here, perf4) */
        json_t *j = fbi_json_read(b, bl, 0, NULL);
        if (j) {
            const char *t = json_string_value(json_object_get(j, "__type"));
            if (!t) t = json_string_value(json_object_get(j, "code"));
            if (!t) t = json_string_value(json_object_get(j, "Code"));
            if (t && !*code) {
                const char *hash = strrchr(t, '#');
                *code = fbk_xstrdup(hash ? hash + 1 : t);
            }
            const char *m = json_string_value(json_object_get(j, "message"));
            if (!m) m = json_string_value(json_object_get(j, "Message"));
            if (m) *message = fbk_xstrdup(m);
            json_decref(j);
        }
    } else if (bl && *b == '<') {
        fbk_xml *x = NULL;
        char *err = NULL;
        if (fbk_xml_parse(b, bl, &x, &err) == 0) {
            const char *c = fbk_xml_text(x, "ErrorResponse/Error/Code");
            const char *m = fbk_xml_text(x, "ErrorResponse/Error/Message");
            if (!c) c = fbk_xml_text(x, "Error/Code");
            if (!m) m = fbk_xml_text(x, "Error/Message");
            if (!c) c = fbk_xml_text(x, "Response/Errors/Error/Code");
            if (!m) m = fbk_xml_text(x, "Response/Errors/Error/Message");
            if (c && !*code) *code = fbk_xstrdup(c);
            if (m) *message = fbk_xstrdup(m);
            fbk_xml_free(x);
        }
        free(err);
    }
    const char *c = *code;
    long s = resp->status;
    if (has(c, "Throttl") || has(c, "TooManyRequests") || has(c, "RequestLimitExceeded") ||
        s == 429 || s >= 500 || has(c, "ServiceUnavailable") || has(c, "InternalFailure"))
        return FB_RETRYABLE;
    if (has(c, "LimitExceeded") || has(c, "Quota")) return FB_QUOTA;
    if (s == 401 || s == 403 || has(c, "AccessDenied") || has(c, "Signature") ||
        has(c, "UnrecognizedClient") || has(c, "ExpiredToken") || has(c, "InvalidClientTokenId") ||
        has(c, "Unauthorized") || has(c, "InvalidIdentityToken") || has(c, "IDPRejectedClaim") ||
        has(c, "IDPCommunicationError"))
        return FB_AUTH;
    if (s == 404 || has(c, "NotFound") || has(c, "NoSuch")) return FB_NOTFOUND;
    if (s == 409 || has(c, "Conflict") || has(c, "InUse") || has(c, "AlreadyExists"))
        return FB_CONFLICT;
    if (s >= 400) return FB_INVALID;
    return FB_INTERNAL;
}
