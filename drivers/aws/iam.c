/* iam.c - a workload's identity on AWS (docs/identity.md): the broker is an
 * OIDC issuer, so the account gets an IAM OIDC provider for the issuer
 * (once; it is shared by every workload, so not recorded with any one of
 * them) and each workload its own role, fb-TENANT-NAME, whose trust policy
 * lets ECS tasks and Lambda functions run as it and lets sts:AssumeRoleWithWebIdentity through
 * only for a token whose sub is the workload's SPIFFE ID and whose aud is
 * sts.amazonaws.com. The role is recorded (iam-role) and deleted with the
 * workload. IAM speaks the Query protocol (form body, XML answer) and is
 * global: requests are signed for us-east-1. */
#include "config.h"
#include "aws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LAMBDA_BASIC_POLICY "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"

typedef aws_kv kv;

/* One IAM call (Query protocol, aws_query). *x (new, fbk_xml_free) is the parsed answer on a 2xx;
 * *code (new) the error code otherwise (*status the HTTP status; 0 in a
 * dry run, where the request is recorded, not sent). */
static fb_status iam_call(aws_ctx *ctx, fb_diag *diag, const fbk_aws_creds *creds,
                          const char *action, const kv *params, size_t n, uint32_t flags,
                          fbk_xml **x, char **code, long *status)
{
    char *message = NULL;
    fb_status err;
    fb_status st = aws_query(ctx, diag, creds, "iam", "us-east-1", "2010-05-08", action, params, n, flags, x,
                             code, &message, status, &err);
    if (st == FB_OK && err != FB_OK &&
        !(*code && (!strcmp(*code, "NoSuchEntity") || !strcmp(*code, "EntityAlreadyExists")))) {
        fbk_diag(aws_host, diag, FB_SEV_ERROR, NULL, "aws: IAM %s failed: HTTP %ld %s%s%s", action,
                 *status, *code ? *code : "", message ? ": " : "", message ? message : "");
        st = err;
    }
    free(message);
    return st;
}

/* s with its %XX escapes decoded (new): IAM answers a role's trust policy
 * URL-encoded (RFC 3986). A malformed escape is kept as is. */
static char *percent_decode(const char *s)
{
    size_t n = strlen(s), o = 0;
    char *out = fbk_xmalloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (s[i] == '%' && i + 2 < n && sscanf(s + i + 1, "%2x", &v) == 1 &&
            strchr("0123456789abcdefABCDEF", s[i + 1]) && strchr("0123456789abcdefABCDEF", s[i + 2])) {
            out[o++] = (char)v;
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

/* The issuer without its scheme and trailing '/': how IAM names the
 * provider and prefixes the condition keys. new. */
static char *host_path(const char *issuer)
{
    const char *p = strstr(issuer, "://");
    p = p ? p + 3 : issuer;
    size_t n = strlen(p);
    while (n && p[n - 1] == '/') n--;
    return fbk_xstrndup(p, n);
}

char *aws_identity_role_name(const json_t *w)
{
    char *base = aws_resource_name(w, 61);
    char *name = fbk_xasprintf("fb-%s", base);
    free(base);
    return name;
}

/* The ARN (new) of the account's OIDC provider whose ARN ends in suffix,
 * or NULL (*st set when the list failed). */
static char *find_provider(aws_ctx *ctx, fb_diag *diag, const fbk_aws_creds *creds, const char *suffix,
                           fb_status *st)
{
    fbk_xml *x = NULL;
    char *code = NULL, *arn = NULL;
    long status = 0;
    *st = iam_call(ctx, diag, creds, "ListOpenIDConnectProviders", NULL, 0, FB_HTTP_IDEMPOTENT | FB_HTTP_READ_ONLY,
                   &x, &code, &status);
    const fbk_xml *list = *st == FB_OK && x
        ? fbk_xml_find(x, "ListOpenIDConnectProvidersResponse/ListOpenIDConnectProvidersResult/"
                          "OpenIDConnectProviderList")
        : NULL;
    for (const fbk_xml *m = list ? list->child : NULL; m && !arn; m = m->next) {
        const char *a = fbk_xml_text(m, "member/Arn");
        size_t al = a ? strlen(a) : 0, sl = strlen(suffix);
        if (a && al > sl && !strcmp(a + al - sl, suffix)) arn = fbk_xstrdup(a);
    }
    fbk_xml_free(x);
    free(code);
    return arn;
}

/* The ARN of the account's OIDC provider for host_path (new), made when
 * missing; NULL after an error. In a dry run the create is shown. */
static char *ensure_provider(aws_ctx *ctx, fb_diag *diag, const fbk_aws_creds *creds,
                             const char *issuer, const char *hp)
{
    fbk_xml *x = NULL;
    char *code = NULL, *arn = NULL;
    long status = 0;
    char *suffix = fbk_xasprintf(":oidc-provider/%s", hp);
    fb_status st = FB_OK;
    if (!aws_host->dry_run(diag)) arn = find_provider(ctx, diag, creds, suffix, &st);
    if (st == FB_OK && !arn) {
        kv p[] = {{"Url", issuer}, {"ClientIDList.member.1", "sts.amazonaws.com"},
                  {"Tags.member.1.Key", "managed-by"}, {"Tags.member.1.Value", "fedbroker"}};
        st = iam_call(ctx, diag, creds, "CreateOpenIDConnectProvider", p, 4, FB_HTTP_IDEMPOTENT, &x,
                      &code, &status);
        const char *a = x ? fbk_xml_text(x, "CreateOpenIDConnectProviderResponse/"
                                            "CreateOpenIDConnectProviderResult/"
                                            "OpenIDConnectProviderArn") : NULL;
        if (st == FB_OK && a) arn = fbk_xstrdup(a);
        else if (st == FB_OK && status == 0)
            arn = fbk_xasprintf("arn:aws:iam::%s%s", ctx->account_id ? ctx->account_id
                                                                     : AWS_UNSET_ACCOUNT, suffix);
        else if (st == FB_OK && code && !strcmp(code, "EntityAlreadyExists"))
            /* made meanwhile by another workload's apply running in
             * parallel: a provider's ARN is its account and host path */
            arn = ctx->account_id ? fbk_xasprintf("arn:aws:iam::%s%s", ctx->account_id, suffix)
                                  : find_provider(ctx, diag, creds, suffix, &st);
        else if (st == FB_OK) {
            fbk_diag(aws_host, diag, FB_SEV_ERROR, NULL,
                     "aws: IAM CreateOpenIDConnectProvider for %s answered without an ARN%s%s",
                     issuer, code ? ": " : "", code ? code : "");
            st = FB_INTERNAL;
        }
        fbk_xml_free(x);
        free(code);
    }
    free(suffix);
    if (st != FB_OK) {
        free(arn);
        return NULL;
    }
    return arn;
}

/* aws_identity_bind and aws_identity_caller_role: the role of w (named
 * role_name, NULL: fb-TENANT-NAME), recorded with this deployment when
 * record. runs_as: ECS tasks and Lambda may run as it (a workload's own
 * role); without, its trust policy has the web identity statement only (a
 * role a caller elsewhere assumes). */
static fb_status bind_role(aws_ctx *ctx, fb_diag *diag, const fbk_aws_creds *creds, const json_t *w,
                           const json_t *ident, const char *region, int record, const char *role_name,
                           int runs_as, const json_t *own_issuer, char **role_arn)
{
    *role_arn = NULL;
    const char *issuer = aws_str(ident, "issuer"), *sub = aws_str(ident, "spiffeId");
    const char *aud = aws_str(ident, "audience") ? aws_str(ident, "audience") : "sts.amazonaws.com";
    if (!issuer || !sub) return FB_OK;
    char *hp = host_path(issuer);
    char *prov = ensure_provider(ctx, diag, creds, issuer, hp);
    if (!prov) {
        free(hp);
        return FB_RETRYABLE;
    }
    char *name = role_name ? fbk_xstrdup(role_name) : aws_identity_role_name(w);
    char *ksub = fbk_xasprintf("%s:sub", hp), *kaud = fbk_xasprintf("%s:aud", hp);
    json_t *policy = json_pack(
        "{s:s, s:[{s:s, s:s, s:{s:s}, s:s}, {s:s, s:s, s:{s:s}, s:s}, "
        "{s:s, s:s, s:{s:s}, s:s, s:{s:{s:s, s:s}}}]}",
        "Version", "2012-10-17", "Statement", "Sid", "EcsTasksRunAsIt", "Effect", "Allow",
        "Principal", "Service", "ecs-tasks.amazonaws.com", "Action", "sts:AssumeRole", "Sid",
        "LambdaRunsAsIt", "Effect", "Allow", "Principal", "Service", "lambda.amazonaws.com",
        "Action", "sts:AssumeRole", "Sid",
        "BrokerIssuedIdentity", "Effect", "Allow", "Principal", "Federated", prov, "Action",
        "sts:AssumeRoleWithWebIdentity", "Condition", "StringEquals", ksub, sub, kaud, aud);
    if (!runs_as) { /* the web identity statement alone */
        json_t *stmts = json_object_get(policy, "Statement");
        while (json_array_size(stmts) > 1) json_array_remove(stmts, 0);
    }
    /* a caller whose own platform issues it tokens (a Kubernetes cluster's
     * service-account issuer, callers[].workloadIssuer): the same role
     * also opens with such a token, for exactly its subject, through an
     * OIDC provider for that issuer (shared, as the broker's) */
    const char *oiss = aws_str(own_issuer, "issuer"), *osub = aws_str(own_issuer, "subject");
    if (oiss && osub) {
        char *ohp = host_path(oiss);
        char *oprov = ensure_provider(ctx, diag, creds, oiss, ohp);
        if (!oprov) {
            free(ohp);
            json_decref(policy);
            free(name);
            free(ksub);
            free(kaud);
            free(prov);
            free(hp);
            return FB_RETRYABLE;
        }
        char *osk = fbk_xasprintf("%s:sub", ohp), *oak = fbk_xasprintf("%s:aud", ohp);
        json_array_append_new(json_object_get(policy, "Statement"),
                              json_pack("{s:s, s:s, s:{s:s}, s:s, s:{s:{s:s, s:s}}}", "Sid", "CallerOwnIssuer",
                                        "Effect", "Allow", "Principal", "Federated", oprov, "Action",
                                        "sts:AssumeRoleWithWebIdentity", "Condition", "StringEquals", osk, osub,
                                        oak, "sts.amazonaws.com"));
        free(osk);
        free(oak);
        free(oprov);
        free(ohp);
    }
    char *doc = json_dumps(policy, JSON_COMPACT | JSON_SORT_KEYS);
    int stale_trust = 0;
    fbk_xml *x = NULL;
    char *code = NULL;
    long status = 0;
    fb_status st = FB_OK;
    int exists = 0;
    char *arn = NULL;
    if (!aws_host->dry_run(diag)) {
        kv g[] = {{"RoleName", name}};
        st = iam_call(ctx, diag, creds, "GetRole", g, 1, FB_HTTP_IDEMPOTENT | FB_HTTP_READ_ONLY, &x,
                      &code, &status);
        if (st == FB_OK && x) {
            exists = 1;
            const char *a = fbk_xml_text(x, "GetRoleResponse/GetRoleResult/Role/Arn");
            arn = a ? fbk_xstrdup(a) : NULL;
            int ours = 0;
            const fbk_xml *tags = fbk_xml_find(x, "GetRoleResponse/GetRoleResult/Role/Tags");
            for (const fbk_xml *t = tags ? tags->child : NULL; t; t = t->next) {
                const char *k = fbk_xml_text(t, "member/Key"), *v = fbk_xml_text(t, "member/Value");
                ours |= k && v && !strcmp(k, "managed-by") && !strcmp(v, "fedbroker");
            }
            if (!ours) {
                fbk_diag(aws_host, diag, FB_SEV_ERROR, NULL,
                         "aws: an IAM role named %s exists and is not managed by fedbroker (no "
                         "managed-by=fedbroker tag)\nrename the workload or tenant, or remove "
                         "the role yourself", name);
                st = FB_CONFLICT;
            }
            /* a trust policy made by an older version (or changed by hand)
             * is brought back to this one */
            const char *enc = fbk_xml_text(x, "GetRoleResponse/GetRoleResult/Role/AssumeRolePolicyDocument");
            char *have = enc ? percent_decode(enc) : NULL;
            json_t *hj = have ? json_loads(have, 0, NULL) : NULL;
            if (st == FB_OK && !json_equal(hj, policy)) stale_trust = 1;
            json_decref(hj);
            free(have);
        }
        fbk_xml_free(x);
        x = NULL;
        free(code);
        code = NULL;
    }
    json_decref(policy);
    if (st == FB_OK && exists && stale_trust) {
        kv u[] = {{"RoleName", name}, {"PolicyDocument", doc}};
        st = iam_call(ctx, diag, creds, "UpdateAssumeRolePolicy", u, 2, FB_HTTP_IDEMPOTENT, &x, &code, &status);
        if (st == FB_OK && code) {
            fbk_diag(aws_host, diag, FB_SEV_ERROR, NULL, "aws: IAM UpdateAssumeRolePolicy %s failed: %s", name,
                     code);
            st = FB_CONFLICT;
        }
        fbk_xml_free(x);
        x = NULL;
        free(code);
        code = NULL;
    }
    if (st == FB_OK && !exists) {
        const char *tenant = aws_str(json_object_get(w, "metadata"), "tenant");
        const char *wname = aws_str(json_object_get(w, "metadata"), "name");
        kv p[] = {{"RoleName", name}, {"AssumeRolePolicyDocument", doc},
                  {"Description", "fedbroker: the workload's identity (docs/identity.md)"},
                  {"Tags.member.1.Key", "managed-by"}, {"Tags.member.1.Value", "fedbroker"},
                  {"Tags.member.2.Key", "tenant"}, {"Tags.member.2.Value", tenant ? tenant : "default"},
                  {"Tags.member.3.Key", "workload"}, {"Tags.member.3.Value", wname ? wname : ""},
                  {"Tags.member.4.Key", "spiffe-id"}, {"Tags.member.4.Value", sub}};
        st = iam_call(ctx, diag, creds, "CreateRole", p, sizeof p / sizeof *p, FB_HTTP_IDEMPOTENT,
                      &x, &code, &status);
        const char *a = x ? fbk_xml_text(x, "CreateRoleResponse/CreateRoleResult/Role/Arn") : NULL;
        if (st == FB_OK && !a && code && !strcmp(code, "EntityAlreadyExists")) {
            /* made meanwhile (a caller's role made by its callee's apply
             * running in parallel): adopt it when it is ours */
            fbk_xml_free(x);
            x = NULL;
            free(code);
            code = NULL;
            kv g[] = {{"RoleName", name}};
            st = iam_call(ctx, diag, creds, "GetRole", g, 1, FB_HTTP_IDEMPOTENT | FB_HTTP_READ_ONLY, &x, &code,
                          &status);
            int ours = 0;
            const fbk_xml *tags = x ? fbk_xml_find(x, "GetRoleResponse/GetRoleResult/Role/Tags") : NULL;
            for (const fbk_xml *t = tags ? tags->child : NULL; t; t = t->next) {
                const char *k = fbk_xml_text(t, "member/Key"), *v = fbk_xml_text(t, "member/Value");
                ours |= k && v && !strcmp(k, "managed-by") && !strcmp(v, "fedbroker");
            }
            a = ours ? fbk_xml_text(x, "GetRoleResponse/GetRoleResult/Role/Arn") : NULL;
        }
        if (st == FB_OK && a) arn = fbk_xstrdup(a);
        else if (st == FB_OK && status == 0)
            arn = fbk_xasprintf("arn:aws:iam::%s:role/%s",
                                ctx->account_id ? ctx->account_id : AWS_UNSET_ACCOUNT, name);
        else if (st == FB_OK) {
            fbk_diag(aws_host, diag, FB_SEV_ERROR, NULL, "aws: IAM CreateRole %s failed%s%s", name,
                     code ? ": " : "", code ? code : "");
            st = FB_CONFLICT;
        }
        fbk_xml_free(x);
        free(code);
    }
    if (st == FB_OK && arn && record && !aws_host->dry_run(diag))
        st = aws_record(diag, "iam-role", arn, region, name);
    /* a function running as the role writes its logs: AWS's managed
     * basic execution policy, and nothing else (attaching twice is a
     * no-op); a caller's role made by its callee gets it from its own
     * apply */
    const char *kind = aws_str(w, "kind");
    if (st == FB_OK && arn && record && kind && !strcmp(kind, "Function")) {
        kv p[] = {{"RoleName", name}, {"PolicyArn", LAMBDA_BASIC_POLICY}};
        fbk_xml *ax = NULL;
        char *acode = NULL;
        long astatus = 0;
        st = iam_call(ctx, diag, creds, "AttachRolePolicy", p, 2, FB_HTTP_IDEMPOTENT, &ax, &acode, &astatus);
        if (st == FB_OK && acode) {
            fbk_diag(aws_host, diag, FB_SEV_ERROR, NULL, "aws: IAM AttachRolePolicy %s to %s failed: %s",
                     LAMBDA_BASIC_POLICY, name, acode);
            st = FB_CONFLICT;
        }
        fbk_xml_free(ax);
        free(acode);
    }
    free(doc);
    free(ksub);
    free(kaud);
    free(name);
    free(prov);
    free(hp);
    if (st == FB_OK) *role_arn = arn;
    else free(arn);
    return st;
}

fb_status aws_identity_bind(aws_ctx *ctx, fb_diag *diag, const fbk_aws_creds *creds,
                            const json_t *w, const json_t *ident, const char *region,
                            char **role_arn)
{
    return bind_role(ctx, diag, creds, w, ident, region, 1, NULL, 1, NULL, role_arn);
}

char *aws_identity_caller_role_name(const char *tenant, const char *caller, const char *callee)
{
    return fbk_caller_binding_id(tenant, caller, callee, 50, 0);
}

fb_status aws_identity_caller_role(aws_ctx *ctx, fb_diag *diag, const fbk_aws_creds *creds,
                                   const json_t *ident, const char *tenant, const char *callee,
                                   const json_t *caller, const char *region, char **role_arn)
{
    *role_arn = NULL;
    const char *name = aws_str(caller, "name"), *sub = aws_str(caller, "spiffeId");
    const char *prov = aws_str(caller, "provider");
    if (!name || !sub || !aws_str(ident, "issuer")) return FB_OK;
    json_t *ci = json_pack("{s:O,s:s,s:O?}", "issuer", json_object_get(ident, "issuer"), "spiffeId", sub,
                           "audience", json_object_get(ident, "audience"));
    fb_status st;
    if (prov && strcmp(prov, "aws") != 0) { /* the driver's name (aws.c) */
        /* a caller elsewhere: a role for calling callee only, assumed
         * with its broker-issued token, recorded (and deleted) with the
         * callee */
        char *rn = aws_identity_caller_role_name(tenant, name, callee);
        json_t *w = json_pack("{s:{s:s,s:s}}", "metadata", "tenant", tenant, "name", callee);
        st = bind_role(ctx, diag, creds, w, ci, region, 1, rn, 0, json_object_get(caller, "workloadIssuer"),
                       role_arn);
        json_decref(w);
        free(rn);
    } else {
        /* the caller's own role, as its own apply makes, adopts and
         * records it */
        json_t *w = json_pack("{s:{s:s,s:s}}", "metadata", "tenant", tenant, "name", name);
        st = bind_role(ctx, diag, creds, w, ci, region, 0, NULL, 1, NULL, role_arn);
        json_decref(w);
    }
    json_decref(ci);
    return st;
}

fb_status aws_identity_discover(aws_ctx *ctx, const fbk_aws_creds *creds, json_t *resources, fb_diag *diag)
{
    char *marker = NULL;
    fb_status st = FB_OK;
    json_t *names = json_array();
    for (int page = 0; page < 1000 && st == FB_OK; page++) {
        kv p[] = {{"MaxItems", "100"}, {"Marker", marker ? marker : ""}};
        fbk_xml *x = NULL;
        char *code = NULL;
        long status = 0;
        st = iam_call(ctx, diag, creds, "ListRoles", p, marker ? 2 : 1, FB_HTTP_IDEMPOTENT | FB_HTTP_READ_ONLY, &x,
                      &code, &status);
        free(marker);
        marker = NULL;
        const fbk_xml *list = x ? fbk_xml_find(x, "ListRolesResponse/ListRolesResult/Roles") : NULL;
        for (const fbk_xml *m = list ? list->child : NULL; m; m = m->next) {
            const char *n = fbk_xml_text(m, "member/RoleName");
            if (n && (!strncmp(n, "fb-", 3) || !strncmp(n, "fbc-", 4))) json_array_append_new(names, json_string(n));
        }
        const char *trunc = x ? fbk_xml_text(x, "ListRolesResponse/ListRolesResult/IsTruncated") : NULL;
        const char *mk = x ? fbk_xml_text(x, "ListRolesResponse/ListRolesResult/Marker") : NULL;
        if (trunc && !strcmp(trunc, "true") && mk) marker = fbk_xstrdup(mk);
        fbk_xml_free(x);
        free(code);
        if (!marker) break;
    }
    free(marker);
    size_t i;
    const json_t *n;
    json_array_foreach(names, i, n) {
        if (st != FB_OK) break;
        kv g[] = {{"RoleName", json_string_value(n)}};
        fbk_xml *x = NULL;
        char *code = NULL;
        long status = 0;
        st = iam_call(ctx, diag, creds, "GetRole", g, 1, FB_HTTP_IDEMPOTENT | FB_HTTP_READ_ONLY, &x, &code, &status);
        const char *arn = x ? fbk_xml_text(x, "GetRoleResponse/GetRoleResult/Role/Arn") : NULL;
        const char *tenant = NULL, *workload = NULL;
        int ours = 0;
        const fbk_xml *tags = x ? fbk_xml_find(x, "GetRoleResponse/GetRoleResult/Role/Tags") : NULL;
        for (const fbk_xml *t = tags ? tags->child : NULL; t; t = t->next) {
            const char *k = fbk_xml_text(t, "member/Key"), *v = fbk_xml_text(t, "member/Value");
            if (!k || !v) continue;
            ours |= !strcmp(k, "managed-by") && !strcmp(v, "fedbroker");
            if (!strcmp(k, "tenant")) tenant = v;
            if (!strcmp(k, "workload")) workload = v;
        }
        if (st == FB_OK && arn) /* a role gone meanwhile (NoSuchEntity) is no row */
            json_array_append_new(resources, json_pack("{s:s,s:s,s:s,s:s,s:b,s:s?,s:s?}", "type", "iam-role", "id",
                                                       arn, "region", "global", "name", json_string_value(n),
                                                       "managed", ours, "tenant", ours ? tenant : NULL, "workload",
                                                       ours ? workload : NULL));
        fbk_xml_free(x);
        free(code);
    }
    json_decref(names);
    return st;
}

fb_status aws_identity_unbind(aws_ctx *ctx, fb_diag *diag, const fbk_aws_creds *creds,
                              const char *role_arn)
{
    const char *slash = strrchr(role_arn, '/');
    kv p[] = {{"RoleName", slash ? slash + 1 : role_arn}};
    fbk_xml *x = NULL;
    char *code = NULL;
    long status = 0;
    /* IAM deletes no role with managed policies attached: detach first */
    fb_status st = iam_call(ctx, diag, creds, "ListAttachedRolePolicies", p, 1,
                            FB_HTTP_IDEMPOTENT | FB_HTTP_READ_ONLY, &x, &code, &status);
    const fbk_xml *list = st == FB_OK && x
        ? fbk_xml_find(x, "ListAttachedRolePoliciesResponse/ListAttachedRolePoliciesResult/AttachedPolicies")
        : NULL;
    for (const fbk_xml *m = list ? list->child : NULL; m && st == FB_OK; m = m->next) {
        const char *parn = fbk_xml_text(m, "member/PolicyArn");
        if (!parn) continue;
        kv d[] = {{"RoleName", p[0].v}, {"PolicyArn", parn}};
        fbk_xml *dx = NULL;
        char *dcode = NULL;
        long dstatus = 0;
        st = iam_call(ctx, diag, creds, "DetachRolePolicy", d, 2, FB_HTTP_IDEMPOTENT, &dx, &dcode, &dstatus);
        fbk_xml_free(dx);
        free(dcode); /* NoSuchEntity: detached already */
    }
    fbk_xml_free(x);
    x = NULL;
    free(code);
    code = NULL;
    if (st == FB_OK)
        st = iam_call(ctx, diag, creds, "DeleteRole", p, 1, FB_HTTP_IDEMPOTENT, &x, &code, &status);
    fbk_xml_free(x);
    free(code); /* NoSuchEntity: already gone */
    return st;
}

void aws_identity_env(const json_t *ident, json_t *env)
{
    fbk_identity_env(ident, "aws", env); /* the driver's name (aws.c) */
}

int aws_identity_env_name(const char *name)
{
    return fbk_identity_env_name(name);
}
