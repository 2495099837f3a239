/* lattice.c - least privilege for a Container on Fargate (docs/identity.md,
 * "Caller grants on Fargate"): a Lambda function's callers get a function
 * URL with AWS_IAM auth (lambda.c); an ECS service has no such door, so
 * AWS's native one is VPC Lattice. With settings.ecs.vpcLattice (opt-in:
 * it joins the user's service network and VPC) a Container with callers
 * is exposed as a Lattice service with authType AWS_IAM whose auth policy
 * allows vpc-lattice-svcs:Invoke to its callers' roles and nobody else:
 *
 *   target group fb-TENANT-NAME (type IP, the container's port, the VPC),
 *   service      fb-TENANT-NAME (authType AWS_IAM),
 *   listener     fb-http on it (HTTP, the port, forward to the group),
 *   association  of the service with the service network,
 *   auth policy  on the service (PutAuthPolicy),
 *
 * and ECS registers the tasks into the target group
 * (vpcLatticeConfigurations on the ECS service, with the infrastructure
 * role of the settings). Each is recorded (vpc-lattice-target-group,
 * -service, -listener, -association; the auth policy is the service's)
 * right after its create, deleted by destroy after the ECS service, and
 * listed by discover. VPC Lattice speaks REST-JSON (signing name
 * vpc-lattice). Thread notes: reads ctx only; aws_send is thread-safe. */
#include "config.h"
#include "aws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LATTICE_API "vpc-lattice"
#define LISTENER_NAME "fb-http"
#define NAME_MAX_LEN 40 /* a Lattice service's name: at most 40 characters */

/* One call; *ans (new) the parsed answer on a 2xx. A 404 sets *missing
 * (when given) instead of failing. */
static fb_status lcall(aws_ctx *ctx, fb_diag *diag, const fbk_aws_creds *creds, const char *region,
                       const char *op, const char *method, const char *path, const char *query,
                       const json_t *body, uint32_t flags, json_t **ans, int *missing)
{
    if (ans) *ans = NULL;
    if (missing) *missing = 0;
    aws_req rq = {.api = LATTICE_API, .op = op, .method = method, .path = path, .query = query, .body = body,
                  .flags = flags};
    aws_res res;
    fb_status st = aws_send(ctx, diag, creds, region, &rq, &res);
    if (st == FB_OK && res.err == FB_NOTFOUND && missing) *missing = 1;
    else if (st == FB_OK && res.err != FB_OK) st = aws_fail(diag, &rq, &res, NULL);
    else if (st == FB_OK && ans) *ans = res.body ? json_incref(res.body) : json_object();
    aws_res_clear(&res);
    return st;
}

/* The Lattice name of a workload (new): "fb-TENANT-NAME" as Lattice
 * accepts names (lowercase letters, digits and single '-', not at either
 * end), cut to 40 characters with 8 hex digits of its hash when longer. */
static char *lattice_name(const json_t *w)
{
    char *base = aws_resource_name(w, 255);
    char *raw = fbk_xasprintf("fb-%s", base);
    free(base);
    size_t o = 0;
    for (size_t i = 0; raw[i]; i++) {
        char c = raw[i] >= 'A' && raw[i] <= 'Z' ? (char)(raw[i] - 'A' + 'a') : raw[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) c = '-';
        if (c == '-' && o && raw[o - 1] == '-') continue;
        raw[o++] = c;
    }
    while (o && raw[o - 1] == '-') o--;
    raw[o] = '\0';
    if (o <= NAME_MAX_LEN) return raw;
    char hex[65];
    fbk_sha256_hex(raw, o, hex);
    raw[NAME_MAX_LEN - 9] = '\0';
    size_t n = strlen(raw);
    while (n && raw[n - 1] == '-') raw[--n] = '\0';
    char *out = fbk_xasprintf("%s-%.8s", raw, hex);
    free(raw);
    return out;
}

/* The item of a List answer's "items" named name (borrowed from list), or
 * NULL. Lattice lists are paged: every page is read. *all (new) holds them. */
static fb_status find_named(aws_ctx *ctx, fb_diag *diag, const fbk_aws_creds *creds, const char *region,
                            const char *op, const char *path, const char *query, const char *name, json_t **all,
                            const json_t **item)
{
    *item = NULL;
    *all = json_array();
    char *token = NULL;
    fb_status st = FB_OK;
    for (int page = 0; page < 100 && st == FB_OK; page++) {
        fbk_buf q;
        fbk_buf_init(&q);
        if (query) fbk_buf_puts(&q, query);
        if (token) {
            fbk_buf_printf(&q, "%snextToken=", q.len ? "&" : "");
            fbk_uri_encode(&q, token, strlen(token), 0);
        }
        json_t *ans = NULL;
        st = lcall(ctx, diag, creds, region, op, "GET", path, q.len ? q.data : NULL, NULL,
                   FB_HTTP_IDEMPOTENT | FB_HTTP_READ_ONLY, &ans, NULL);
        fbk_buf_free(&q);
        free(token);
        token = NULL;
        size_t i;
        json_t *it;
        json_array_foreach(json_object_get(ans, "items"), i, it) json_array_append(*all, it);
        if (aws_str(ans, "nextToken")) token = fbk_xstrdup(aws_str(ans, "nextToken"));
        json_decref(ans);
        if (!token) break;
    }
    free(token);
    size_t i;
    const json_t *it;
    json_array_foreach(*all, i, it)
        if (name && aws_str(it, "name") && !strcmp(aws_str(it, "name"), name)) *item = it;
    return st;
}

/* Is the resource arn tagged managed-by=fedbroker? */
static fb_status ours(aws_ctx *ctx, fb_diag *diag, const fbk_aws_creds *creds, const char *region, const char *arn,
                      int *yes, json_t **tags)
{
    *yes = 0;
    fbk_buf p;
    fbk_buf_init(&p);
    fbk_buf_puts(&p, "/tags/");
    fbk_uri_encode(&p, arn, strlen(arn), 0);
    json_t *ans = NULL;
    fb_status st = lcall(ctx, diag, creds, region, "ListTagsForResource", "GET", p.data, NULL, NULL,
                         FB_HTTP_IDEMPOTENT | FB_HTTP_READ_ONLY, &ans, NULL);
    fbk_buf_free(&p);
    const char *mb = aws_str(json_object_get(ans, "tags"), "managed-by");
    *yes = mb && !strcmp(mb, "fedbroker");
    if (tags) *tags = ans ? json_incref(json_object_get(ans, "tags")) : NULL;
    json_decref(ans);
    return st;
}

static fb_status refuse_foreign(fb_diag *diag, const char *what, const char *name)
{
    fbk_diag(aws_host, diag, FB_SEV_ERROR, NULL,
             "aws: a VPC Lattice %s named %s exists and is not managed by fedbroker (no managed-by=fedbroker "
             "tag)\nrename the workload or tenant, or remove the %s yourself", what, name, what);
    return FB_CONFLICT;
}

/* A named Lattice object of one kind (a target group, a service). */
typedef struct lattice_kind {
    const char *what, *list_op, *create_op, *path, *record_type, *dry_arn;
} lattice_kind;

/* Finds the object named name (list_query narrows the list) and checks it
 * is ours, or creates it with body; records it. *arn and *id new (in a dry
 * run, where nothing is read: an ARN marked "(dry-run)" built from the kind's dry_arn, since no object exists yet). */
static fb_status ensure_named(aws_ctx *ctx, fb_diag *diag, const fbk_aws_creds *creds, const char *region,
                              const lattice_kind *k, const char *list_query, const char *name, const json_t *body,
                              char **arn, char **id)
{
    int dry = aws_host->dry_run(diag);
    json_t *all = NULL, *ans = NULL;
    const json_t *it = NULL;
    fb_status st = FB_OK;
    if (!dry) st = find_named(ctx, diag, creds, region, k->list_op, k->path, list_query, name, &all, &it);
    if (st == FB_OK && it) {
        int yes = 0;
        st = ours(ctx, diag, creds, region, aws_str(it, "arn"), &yes, NULL);
        if (st == FB_OK && !yes) st = refuse_foreign(diag, k->what, name);
    } else if (st == FB_OK) {
        st = lcall(ctx, diag, creds, region, k->create_op, "POST", k->path, NULL, body, FB_HTTP_IDEMPOTENT, &ans, NULL);
        it = ans;
    }
    *arn = aws_str(it, "arn") ? fbk_xstrdup(aws_str(it, "arn"))
                              : fbk_xasprintf("arn:aws:vpc-lattice:%s:(dry-run):%s", region, k->dry_arn);
    *id = aws_str(it, "id") ? fbk_xstrdup(aws_str(it, "id")) : fbk_xasprintf("(dry-run %s)", k->what);
    if (st == FB_OK && !dry) st = aws_record(diag, k->record_type, *arn, region, name);
    json_decref(ans);
    json_decref(all);
    return st;
}

/* The auth policy (new text): vpc-lattice-svcs:Invoke on the service for
 * the roles of grants ({caller: role ARN}), nobody else; with no grant, a
 * deny for everyone (AWS_IAM with no allow denies anyway; said plainly). */
static char *auth_policy(const char *svc_arn, const json_t *grants)
{
    json_t *roles = json_array();
    size_t n = 0;
    const char **keys = fbk_sorted_keys((json_t *)grants, &n);
    for (size_t i = 0; i < n; i++) json_array_append(roles, json_object_get(grants, keys[i]));
    free(keys);
    char *res = fbk_xasprintf("%s/*", svc_arn);
    json_t *stmt = json_array_size(roles)
        ? json_pack("{s:s,s:s,s:{s:O},s:s,s:s}", "Sid", "FedbrokerCallers", "Effect", "Allow", "Principal", "AWS", roles,
                    "Action", "vpc-lattice-svcs:Invoke", "Resource", res)
        : json_pack("{s:s,s:s,s:s,s:s,s:s}", "Sid", "FedbrokerNoCallers", "Effect", "Deny", "Principal", "*", "Action",
                    "vpc-lattice-svcs:Invoke", "Resource", res);
    json_t *doc = json_pack("{s:s,s:[o]}", "Version", "2012-10-17", "Statement", stmt);
    char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(doc);
    json_decref(roles);
    free(res);
    return text;
}

fb_status aws_lattice_apply(aws_ctx *ctx, fb_diag *diag, const fbk_aws_creds *creds, const json_t *in,
                            const char *region, json_int_t port, json_t *state, json_t **ecs_cfg)
{
    *ecs_cfg = NULL;
    const json_t *w = json_object_get(in, "workload");
    const json_t *ident = json_object_get(in, "identity");
    const json_t *callers = json_object_get(ident, "callers");
    const json_t *prev = json_object_get(json_object_get(json_object_get(in, "deployment"), "state"), "lattice");
    if (!ctx->lattice_network || !aws_str(ident, "spiffeId") || port <= 0) return FB_OK;
    if (!json_array_size(callers) && !prev) return FB_OK; /* nobody calls: nothing to open */
    const char *tenant = aws_str(json_object_get(w, "metadata"), "tenant");
    const char *callee = aws_str(json_object_get(w, "metadata"), "name");
    int dry = aws_host->dry_run(diag);
    char *name = lattice_name(w);
    json_t *tags = aws_tags(w);
    json_object_del(tags, "spec-hash"); /* made once: a later spec does not retag */
    json_t *all = NULL, *ans = NULL;
    const json_t *it = NULL;
    char *tg_arn = NULL, *tg_id = NULL, *svc_arn = NULL, *svc_id = NULL;
    fb_status st = FB_OK;

    /* the target group, then the service (AWS_IAM) */
    char *vq = fbk_xasprintf("vpcIdentifier=%s", ctx->lattice_vpc);
    json_t *tgb = json_pack("{s:s,s:s,s:{s:I,s:s,s:s},s:O}", "name", name, "type", "IP", "config", "port", port,
                            "protocol", "HTTP", "vpcIdentifier", ctx->lattice_vpc, "tags", tags);
    lattice_kind tgk = {"target group", "ListTargetGroups", "CreateTargetGroup", "/targetgroups",
                        "vpc-lattice-target-group", "targetgroup/tg"};
    st = ensure_named(ctx, diag, creds, region, &tgk, vq, name, tgb, &tg_arn, &tg_id);
    json_decref(tgb);
    free(vq);
    json_t *sb = json_pack("{s:s,s:s,s:O}", "name", name, "authType", "AWS_IAM", "tags", tags);
    lattice_kind sk = {"service", "ListServices", "CreateService", "/services", "vpc-lattice-service", "service/svc"};
    if (st == FB_OK) st = ensure_named(ctx, diag, creds, region, &sk, NULL, name, sb, &svc_arn, &svc_id);
    json_decref(sb);
    /* its DNS name: where callers send their signed requests */
    json_t *svc_live = NULL;
    if (st == FB_OK && !dry) {
        char *p = fbk_xasprintf("/services/%s", svc_id);
        st = lcall(ctx, diag, creds, region, "GetService", "GET", p, NULL, NULL, FB_HTTP_IDEMPOTENT | FB_HTTP_READ_ONLY,
                   &svc_live, NULL);
        free(p);
        const char *at = aws_str(svc_live, "authType");
        if (st == FB_OK && (!at || strcmp(at, "AWS_IAM") != 0)) {
            fbk_diag(aws_host, diag, FB_SEV_ERROR, NULL,
                     "aws: the VPC Lattice service %s has authType %s, not AWS_IAM: its auth policy would not be "
                     "enforced\nset it back (aws vpc-lattice update-service --auth-type AWS_IAM) or delete it",
                     name, at ? at : "(none)");
            st = FB_CONFLICT;
        }
    }

    /* the listener, forwarding to the group */
    char *lpath = fbk_xasprintf("/services/%s/listeners", svc_id);
    if (st == FB_OK && !dry) st = find_named(ctx, diag, creds, region, "ListListeners", lpath, NULL, LISTENER_NAME, &all, &it);
    const char *l_arn = it ? aws_str(it, "arn") : NULL;
    if (st == FB_OK && !l_arn) {
        json_t *b = json_pack("{s:s,s:s,s:I,s:{s:{s:[{s:s}]}},s:O}", "name", LISTENER_NAME, "protocol", "HTTP", "port",
                              port, "defaultAction", "forward", "targetGroups", "targetGroupIdentifier", tg_id, "tags",
                              tags);
        st = lcall(ctx, diag, creds, region, "CreateListener", "POST", lpath, NULL, b, FB_HTTP_IDEMPOTENT, &ans, NULL);
        json_decref(b);
        l_arn = aws_str(ans, "arn");
    }
    if (st == FB_OK && !dry && l_arn) st = aws_record(diag, "vpc-lattice-listener", l_arn, region, name);
    char *listener = l_arn ? fbk_xstrdup(l_arn) : NULL;
    free(lpath);
    json_decref(ans);
    ans = NULL;
    json_decref(all);
    all = NULL;
    it = NULL;

    /* the association with the user's service network */
    char *aq = fbk_xasprintf("serviceIdentifier=%s", svc_id);
    if (st == FB_OK && !dry)
        st = find_named(ctx, diag, creds, region, "ListServiceNetworkServiceAssociations",
                        "/servicenetworkserviceassociations", aq, NULL, &all, &it);
    free(aq);
    size_t i;
    const json_t *a;
    const char *as_arn = NULL;
    json_array_foreach(all, i, a)
        if (aws_str(a, "serviceNetworkId") && !strcmp(aws_str(a, "serviceNetworkId"), ctx->lattice_network))
            as_arn = aws_str(a, "arn");
    if (st == FB_OK && !as_arn) {
        json_t *b = json_pack("{s:s,s:s,s:O}", "serviceIdentifier", svc_id, "serviceNetworkIdentifier",
                              ctx->lattice_network, "tags", tags);
        st = lcall(ctx, diag, creds, region, "CreateServiceNetworkServiceAssociation", "POST",
                   "/servicenetworkserviceassociations", NULL, b, FB_HTTP_IDEMPOTENT, &ans, NULL);
        json_decref(b);
        as_arn = aws_str(ans, "arn");
    }
    if (st == FB_OK && !dry && as_arn) st = aws_record(diag, "vpc-lattice-association", as_arn, region, name);
    json_decref(ans);
    ans = NULL;
    json_decref(all);
    all = NULL;

    /* the grants: each caller's role (made when missing, as for a
     * function URL); a previous grant to a workload this apply did not
     * consider is kept, one to a workload that no longer calls is not */
    json_t *grants = json_object();
    const json_t *c;
    json_array_foreach(callers, i, c) {
        if (st != FB_OK) break;
        char *arn = NULL;
        st = aws_identity_caller_role(ctx, diag, creds, ident, tenant ? tenant : "default", callee, c, region, &arn);
        if (st == FB_OK && arn && aws_str(c, "name")) json_object_set_new(grants, aws_str(c, "name"), json_string(arn));
        free(arn);
    }
    const char *k;
    const json_t *v;
    json_object_foreach(json_object_get(prev, "grants"), k, v)
        if (!json_object_get(grants, k) && !fbk_identity_considers(ident, k)) json_object_set(grants, k, (json_t *)v);
    char *policy = auth_policy(svc_arn, grants);
    if (st == FB_OK) {
        json_t *b = json_pack("{s:s}", "policy", policy);
        char *p = fbk_xasprintf("/authpolicy/%s", svc_id);
        st = lcall(ctx, diag, creds, region, "PutAuthPolicy", "PUT", p, NULL, b, FB_HTTP_IDEMPOTENT, NULL, NULL);
        free(p);
        json_decref(b);
    }
    free(policy);
    if (st == FB_OK) {
        const char *dns = aws_str(json_object_get(svc_live, "dnsEntry"), "domainName");
        json_object_set_new(state, "lattice",
                            json_pack("{s:s,s:s,s:s,s:s?,s:s?,s:o}", "serviceArn", svc_arn, "targetGroupArn", tg_arn,
                                      "serviceNetwork", ctx->lattice_network, "listenerArn", listener, "url",
                                      NULL, "grants", grants));
        if (dns) json_object_set_new(json_object_get(state, "lattice"), "url", json_sprintf("https://%s", dns));
        grants = NULL;
        char pname[32];
        snprintf(pname, sizeof pname, "port-%lld", (long long)port); /* taskdef_body's port name */
        *ecs_cfg = json_pack("[{s:s,s:s,s:s}]", "roleArn", ctx->lattice_role, "targetGroupArn", tg_arn, "portName",
                             pname);
    }
    json_decref(grants);
    json_decref(svc_live);
    free(listener);
    json_decref(tags);
    free(tg_arn);
    free(tg_id);
    free(svc_arn);
    free(svc_id);
    free(name);
    return st;
}

/* Deletes one recorded Lattice object; gone already is fine. */
static fb_status delete_one(aws_ctx *ctx, fb_diag *diag, const fbk_aws_creds *creds, const char *region,
                            const char *type, const char *arn, json_t *deleted)
{
    const char *op = NULL;
    fbk_buf p;
    fbk_buf_init(&p);
    if (!strcmp(type, "vpc-lattice-association")) {
        op = "DeleteServiceNetworkServiceAssociation";
        fbk_buf_puts(&p, "/servicenetworkserviceassociations/");
        fbk_buf_puts(&p, strrchr(arn, '/') + 1);
    } else if (!strcmp(type, "vpc-lattice-listener")) {
        /* ...:service/svc-ID/listener/listener-ID */
        const char *s = strstr(arn, ":service/"), *l = strstr(arn, "/listener/");
        if (!s || !l) return FB_OK;
        op = "DeleteListener";
        fbk_buf_puts(&p, "/services/");
        fbk_buf_append(&p, s + 9, (size_t)(l - s - 9));
        fbk_buf_printf(&p, "/listeners/%s", l + 10);
    } else if (!strcmp(type, "vpc-lattice-service")) {
        op = "DeleteService";
        fbk_buf_printf(&p, "/services/%s", strrchr(arn, '/') + 1);
    } else if (!strcmp(type, "vpc-lattice-target-group")) {
        op = "DeleteTargetGroup";
        fbk_buf_printf(&p, "/targetgroups/%s", strrchr(arn, '/') + 1);
    }
    int missing = 0;
    fb_status st = lcall(ctx, diag, creds, region, op, "DELETE", p.data, NULL, NULL, FB_HTTP_IDEMPOTENT, NULL, &missing);
    fbk_buf_free(&p);
    if (st == FB_OK) json_array_append_new(deleted, json_string(arn));
    return st;
}

fb_status aws_lattice_destroy(aws_ctx *ctx, fb_diag *diag, const fbk_aws_creds *creds, const json_t *dep,
                              const char *region, json_t *deleted)
{
    /* in the order Lattice allows: the association, the listener, the
     * service (its auth policy with it), then the group (the ECS service,
     * deleted before, no longer registers into it) */
    static const char *const order[] = {"vpc-lattice-association", "vpc-lattice-listener", "vpc-lattice-service",
                                        "vpc-lattice-target-group"};
    fb_status st = FB_OK;
    for (size_t k = 0; k < sizeof order / sizeof *order && st == FB_OK; k++) {
        size_t i;
        const json_t *r;
        json_array_foreach(json_object_get(dep, "resources"), i, r) {
            const char *t = aws_str(r, "type"), *id = aws_str(r, "id");
            if (st != FB_OK) break;
            if (!t || !id || strcmp(t, order[k]) != 0 || !strrchr(id, '/')) continue;
            st = delete_one(ctx, diag, creds, aws_str(r, "region") ? aws_str(r, "region") : region, t, id, deleted);
        }
    }
    return st;
}

fb_status aws_lattice_discover(aws_ctx *ctx, const fbk_aws_creds *creds, const char *region, json_t *resources,
                               fb_diag *diag)
{
    if (!ctx->lattice_network) return FB_OK; /* not used: nothing of ours can be there */
    static const struct {
        const char *op, *path, *type;
    } kinds[] = {{"ListServices", "/services", "vpc-lattice-service"},
                 {"ListTargetGroups", "/targetgroups", "vpc-lattice-target-group"}};
    fb_status st = FB_OK;
    for (size_t k = 0; k < 2 && st == FB_OK; k++) {
        json_t *all = NULL;
        const json_t *it = NULL;
        st = find_named(ctx, diag, creds, region, kinds[k].op, kinds[k].path, NULL, NULL, &all, &it);
        size_t i;
        const json_t *o;
        json_array_foreach(all, i, o) {
            const char *n = aws_str(o, "name"), *arn = aws_str(o, "arn");
            if (st != FB_OK) break;
            if (!n || !arn || strncmp(n, "fb-", 3) != 0) continue;
            int yes = 0;
            json_t *tags = NULL;
            st = ours(ctx, diag, creds, region, arn, &yes, &tags);
            if (st == FB_OK)
                json_array_append_new(resources,
                                      json_pack("{s:s,s:s,s:s,s:s,s:b,s:s?,s:s?}", "type", kinds[k].type, "id", arn,
                                                "region", region, "name", n, "managed", yes, "tenant",
                                                yes ? aws_str(tags, "tenant") : NULL, "workload",
                                                yes ? aws_str(tags, "workload") : NULL));
            json_decref(tags);
        }
        json_decref(all);
    }
    return st;
}
