/* elb.c - where an ECS service deployed with ecs.targetGroupArn answers: the
 * user's Application or Network Load Balancer in front of its target group
 * (discover's "endpoints", docs/driver-abi.md; issue 16). From the service's
 * loadBalancers: DescribeTargetGroups (the group's load balancers),
 * DescribeLoadBalancers (DNS name, scheme: internet-facing is public,
 * internal private), DescribeListeners (the port and protocol of each
 * listener whose default action forwards to the group), DescribeRules (for
 * an HTTP or HTTPS listener whose default action does not: the rules that
 * forward to the group, their host and path conditions in the URL) and
 * DescribeTargetHealth (the group's targets: the row's health). Elastic Load
 * Balancing v2 speaks the Query protocol (form body, XML answer), signed as
 * "elasticloadbalancing" for the service's region. Read-only calls only. */
#include "config.h"
#include "aws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ELB_API "elasticloadbalancing"
#define ELB_VERSION "2015-12-01"

/* One ELBv2 Describe call (aws_query). On FB_OK, *x (new, fbk_xml_free)
 * is the parsed answer, or NULL with *code (new) naming a denial or a
 * missing group or balancer the service answered (NULL in a dry run).
 * Other error answers (throttling past the host's retries, 5xx, a
 * malformed request) fail discover, so the rows age out rather than lie. */
static fb_status elb_call(aws_ctx *ctx, fb_diag *diag, const fbk_aws_creds *creds, const char *region,
                          const char *action, const aws_kv *params, size_t n, fbk_xml **x, char **code)
{
    char *message = NULL;
    long status;
    fb_status err;
    fb_status st = aws_query(ctx, diag, creds, ELB_API, region, ELB_VERSION, action, params, n,
                             FB_HTTP_READ_ONLY | FB_HTTP_IDEMPOTENT, x, code, &message, &status, &err);
    if (st == FB_OK && err != FB_OK) {
        if (err != FB_AUTH && err != FB_NOTFOUND && !(*code && strstr(*code, "NotFound"))) {
            fbk_diag(aws_host, diag, FB_SEV_ERROR, NULL,
                     "aws: Elastic Load Balancing %s (%s) failed: HTTP %ld %s%s%s", action, region, status,
                     *code ? *code : "", message ? ": " : "", message ? message : "");
            st = err;
        } else if (!*code) {
            *code = fbk_xstrdup(err == FB_AUTH ? "AccessDenied" : "NotFound");
        }
    }
    free(message);
    return st;
}

/* The members of list element `path` under the Result element, as a
 * borrowed first child (walk ->next), or NULL. */
static const fbk_xml *members(const fbk_xml *x, const char *action, const char *list)
{
    char path[160];
    snprintf(path, sizeof path, "%sResponse/%sResult/%s", action, action, list);
    const fbk_xml *l = fbk_xml_find(x, path);
    return l ? l->child : NULL;
}

/* Whether a list of actions (a listener's DefaultActions, a rule's
 * Actions; borrowed, may be NULL) sends traffic to target group tg: a
 * forward action naming it, directly or in its ForwardConfig (weighted
 * forwarding: any weight, 0 included, since the user may shift it). */
static int forwards_to(const fbk_xml *acts, const char *tg)
{
    for (const fbk_xml *a = acts ? acts->child : NULL; a; a = a->next) {
        const char *type = fbk_xml_text(a, "member/Type");
        if (!type || strcmp(type, "forward")) continue;
        const char *direct = fbk_xml_text(a, "member/TargetGroupArn");
        if (direct && !strcmp(direct, tg)) return 1;
        const fbk_xml *groups = fbk_xml_find(a, "member/ForwardConfig/TargetGroups");
        for (const fbk_xml *g = groups ? groups->child : NULL; g; g = g->next) {
            const char *arn = fbk_xml_text(g, "member/TargetGroupArn");
            if (arn && !strcmp(arn, tg)) return 1;
        }
    }
    return 0;
}

/* The URL of a listener on host: HTTPS and TLS listeners are https, HTTP,
 * TCP and the rest http (a Container's port speaks http); the port is left
 * out when it is the scheme's default. new. */
static char *listener_url(const char *host, const char *proto, const char *port)
{
    int tls = proto && (!strcmp(proto, "HTTPS") || !strcmp(proto, "TLS"));
    const char *scheme = tls ? "https" : "http";
    int dflt = port && ((tls && !strcmp(port, "443")) || (!tls && !strcmp(port, "80")));
    return dflt || !port ? fbk_xasprintf("%s://%s", scheme, host)
                         : fbk_xasprintf("%s://%s:%s", scheme, host, port);
}

/* The values of a rule condition (member/Values, else those of the
 * field's own config: HostHeaderConfig, PathPatternConfig,
 * HttpHeaderConfig, HttpRequestMethodConfig, SourceIpConfig): a borrowed
 * first element (walk ->next), or NULL (query-string's are key/value
 * pairs: not listed). */
static const fbk_xml *cond_values(const fbk_xml *cond, const char *field)
{
    static const char *const cfg[][2] = {
        {"host-header", "member/HostHeaderConfig/Values"}, {"path-pattern", "member/PathPatternConfig/Values"},
        {"http-header", "member/HttpHeaderConfig/Values"},
        {"http-request-method", "member/HttpRequestMethodConfig/Values"},
        {"source-ip", "member/SourceIpConfig/Values"}};
    const fbk_xml *v = fbk_xml_find(cond, "member/Values");
    if (v && v->child) return v->child;
    for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++) {
        if (strcmp(field, cfg[i][0])) continue;
        v = fbk_xml_find(cond, cfg[i][1]);
        return v ? v->child : NULL;
    }
    return NULL;
}

/* The URL a rule's traffic arrives by on a listener of load balancer dns,
 * and *note (new, "" when none) what the URL cannot say. A condition's
 * values are alternatives: the first host-header value without wildcards
 * becomes the URL's host (the user's DNS points it at the balancer), the
 * first path-pattern value without wildcards its path, else one ending in
 * a single '*' its literal prefix (the pattern noted). Wildcard-only
 * values and the other conditions (http-header, query-string,
 * http-request-method, source-ip) are noted: a plain GET may not match
 * them. new. */
static char *rule_url(const fbk_xml *rule, const char *dns, const char *proto, const char *port, char **note)
{
    const char *host = NULL, *path = NULL;
    size_t path_len = 0;
    fbk_buf nb;
    fbk_buf_init(&nb);
    const fbk_xml *conds = fbk_xml_find(rule, "member/Conditions");
    for (const fbk_xml *c = conds ? conds->child : NULL; c; c = c->next) {
        const char *field = fbk_xml_text(c, "member/Field");
        if (!field) continue;
        int is_host = !strcmp(field, "host-header"), is_path = !strcmp(field, "path-pattern");
        int used = 0, pattern = 0;
        const fbk_xml *vals = cond_values(c, field);
        for (const fbk_xml *v = vals; v && (is_host || is_path); v = v->next) {
            size_t lit = strcspn(v->text, "*?");
            if (is_host && !v->text[lit] && !host) host = v->text, used = 1;
            if (is_path && !path && (!v->text[lit] || !strcmp(v->text + lit, "*"))) {
                path = v->text;
                path_len = lit;
                used = 1;
                pattern = v->text[lit] != '\0';
            }
        }
        if (used && !pattern && !(vals && vals->next)) continue;
        /* noted: the pattern, the alternatives, or a condition a URL cannot carry */
        fbk_buf_printf(&nb, "%s%s", nb.len ? ", " : "", field);
        const char *header = fbk_xml_text(c, "member/HttpHeaderConfig/HttpHeaderName");
        if (header) fbk_buf_printf(&nb, " %s:", header);
        for (const fbk_xml *v = vals; v; v = v->next) fbk_buf_printf(&nb, "%s%s", v == vals ? " " : " | ", v->text);
    }
    char *base = listener_url(host ? host : dns, proto, port);
    char *url = path ? fbk_xasprintf("%s%s%.*s", base, path[0] == '/' ? "" : "/", (int)path_len, path)
                     : fbk_xstrdup(base);
    free(base);
    *note = nb.len ? fbk_xstrndup(nb.data, nb.len) : fbk_xstrdup("");
    fbk_buf_free(&nb);
    return url;
}

/* A target group's health from DescribeTargetHealth: passing when a target
 * is healthy, warning while none is but some are initial or draining
 * (registering, deregistering), critical otherwise (unhealthy, unavailable,
 * or no target registered). *detail new. */
static const char *group_health(const fbk_xml *x, char **detail)
{
    int n = 0, healthy = 0, transit = 0;
    const char *reason = NULL;
    for (const fbk_xml *t = members(x, "DescribeTargetHealth", "TargetHealthDescriptions"); t; t = t->next) {
        const char *state = fbk_xml_text(t, "member/TargetHealth/State");
        n++;
        if (state && !strcmp(state, "healthy")) {
            healthy++;
            continue;
        }
        if (state && (!strcmp(state, "initial") || !strcmp(state, "draining"))) transit++;
        if (!reason) reason = fbk_xml_text(t, "member/TargetHealth/Reason");
    }
    *detail = fbk_xasprintf("target group: %d of %d targets healthy%s%s%s", healthy, n,
                            transit ? ", some registering or draining" : "", reason ? "; " : "",
                            reason ? reason : "");
    return healthy ? "passing" : transit ? "warning" : "critical";
}

/* Notes an answered error that is not a failure of discover (a role
 * without elasticloadbalancing:Describe*, a group or balancer deleted by
 * the user): the service keeps its other endpoints. */
static void skipped(fb_diag *diag, const char *service, const char *what, const char *code)
{
    fbk_diag(aws_host, diag, FB_SEV_WARNING, NULL,
             "aws: discover: ECS service %s: %s (%s): its load balancer's URL is not reported\n"
             "grant elasticloadbalancing:DescribeTargetGroups, DescribeLoadBalancers, DescribeListeners, "
             "DescribeRules and DescribeTargetHealth to the broker's role, or check that the target group still "
             "exists",
             service, what, code);
}

/* Appends to all (borrowed) a row for url: what (the balancer and
 * listener), note (a rule's, "" when none) and the group's health. */
static void add_row(json_t *all, const char *url, int priv, const char *what, const char *note,
                    const char *health, const char *detail)
{
    char *d = fbk_xasprintf("%s%s%s; %s", what, *note ? ", rule requires " : "", note,
                            detail ? detail : "target health not read");
    json_t *e = json_pack("{s:s,s:s,s:b,s:s,s:s}", "url", url, "kind", "url", "private", priv, "detail", d,
                          "source", "aws-elb");
    if (health) json_object_set_new(e, "health", json_string(health));
    json_array_append_new(all, e);
    free(d);
}

/* What rule_rows needs of the listener it reads (all borrowed). */
typedef struct rule_ctx {
    aws_ctx *ctx;
    fb_diag *diag;
    const fbk_aws_creds *creds;
    const char *region, *service, *tg, *dns, *proto, *port;
    int priv;
    const char *what, *health, *detail;
} rule_ctx;

/* Appends a row for each non-default rule of listener larn that forwards
 * to the group (DescribeRules, following NextMarker), in priority order. */
static fb_status rule_rows(const rule_ctx *r, const char *larn, json_t *all)
{
    if (!larn) return FB_OK;
    char *marker = NULL;
    fb_status st = FB_OK;
    for (int page = 0; page < 100 && st == FB_OK; page++) {
        aws_kv p[3] = {{"ListenerArn", larn}, {"PageSize", "400"}, {"Marker", marker}};
        fbk_xml *x = NULL;
        char *code = NULL;
        st = elb_call(r->ctx, r->diag, r->creds, r->region, "DescribeRules", p, marker ? 3 : 2, &x, &code);
        if (st == FB_OK && code) skipped(r->diag, r->service, "DescribeRules", code);
        free(code);
        free(marker);
        marker = NULL;
        for (const fbk_xml *u = x ? members(x, "DescribeRules", "Rules") : NULL; u; u = u->next) {
            const char *dflt = fbk_xml_text(u, "member/IsDefault");
            if ((dflt && !strcmp(dflt, "true")) || !forwards_to(fbk_xml_find(u, "member/Actions"), r->tg)) continue;
            char *note = NULL;
            char *url = rule_url(u, r->dns, r->proto, r->port, &note);
            const char *prio = fbk_xml_text(u, "member/Priority");
            char *what = fbk_xasprintf("%s rule %s", r->what, prio ? prio : "?");
            add_row(all, url, r->priv, what, note, r->health, r->detail);
            free(what);
            free(url);
            free(note);
        }
        const char *next = x ? fbk_xml_text(x, "DescribeRulesResponse/DescribeRulesResult/NextMarker") : NULL;
        if (next && *next) marker = fbk_xstrdup(next);
        fbk_xml_free(x);
        if (!marker) break;
    }
    free(marker);
    return st;
}

fb_status aws_elb_endpoints(aws_ctx *ctx, fb_diag *diag, const fbk_aws_creds *creds, const char *region,
                            const json_t *svc, json_t *eps)
{
    const char *sname = aws_str(svc, "serviceName");
    if (!sname) sname = "?";
    size_t i;
    const json_t *lb;
    json_t *all = json_array();
    fb_status st = FB_OK;
    json_array_foreach(json_object_get(svc, "loadBalancers"), i, lb) {
        const char *tg = aws_str(lb, "targetGroupArn");
        if (!tg || st != FB_OK) continue; /* a Classic Load Balancer (loadBalancerName): not v2 */
        fbk_xml *x = NULL;
        char *code = NULL;
        const aws_kv p1[] = {{"TargetGroupArns.member.1", tg}};
        st = elb_call(ctx, diag, creds, region, "DescribeTargetGroups", p1, 1, &x, &code);
        if (st == FB_OK && code) skipped(diag, sname, "DescribeTargetGroups", code);
        free(code);
        if (st != FB_OK || !x) {
            fbk_xml_free(x);
            continue;
        }
        /* the group's health once, shared by each of its balancers' URLs */
        fbk_xml *hx = NULL;
        const aws_kv p2[] = {{"TargetGroupArn", tg}};
        st = elb_call(ctx, diag, creds, region, "DescribeTargetHealth", p2, 1, &hx, &code);
        char *detail = NULL;
        const char *health = hx ? group_health(hx, &detail) : NULL;
        if (st == FB_OK && code) skipped(diag, sname, "DescribeTargetHealth", code);
        free(code);
        fbk_xml_free(hx);
        const fbk_xml *g = members(x, "DescribeTargetGroups", "TargetGroups");
        const fbk_xml *arns = g ? fbk_xml_find(g, "member/LoadBalancerArns") : NULL;
        int k = 1;
        aws_kv p3[20];
        char keys[20][48];
        size_t np = 0;
        for (const fbk_xml *a = arns ? arns->child : NULL; a && k <= 20; a = a->next, k++) {
            snprintf(keys[k - 1], sizeof keys[0], "LoadBalancerArns.member.%d", k);
            p3[np++] = (aws_kv){keys[k - 1], a->text};
        }
        fbk_xml *lx = NULL;
        if (st == FB_OK && np) {
            st = elb_call(ctx, diag, creds, region, "DescribeLoadBalancers", p3, np, &lx, &code);
            if (st == FB_OK && code) skipped(diag, sname, "DescribeLoadBalancers", code);
            free(code);
        }
        for (const fbk_xml *b = lx ? members(lx, "DescribeLoadBalancers", "LoadBalancers") : NULL;
             b && st == FB_OK; b = b->next) {
            const char *dns = fbk_xml_text(b, "member/DNSName");
            const char *arn = fbk_xml_text(b, "member/LoadBalancerArn");
            const char *scheme = fbk_xml_text(b, "member/Scheme");
            const char *name = fbk_xml_text(b, "member/LoadBalancerName");
            if (!dns || !arn) continue;
            int priv = scheme && !strcmp(scheme, "internal");
            fbk_xml *ls = NULL;
            const aws_kv p4[] = {{"LoadBalancerArn", arn}, {"PageSize", "400"}};
            st = elb_call(ctx, diag, creds, region, "DescribeListeners", p4, 2, &ls, &code);
            if (st == FB_OK && code) skipped(diag, sname, "DescribeListeners", code);
            free(code);
            for (const fbk_xml *l = ls ? members(ls, "DescribeListeners", "Listeners") : NULL;
                 l && st == FB_OK; l = l->next) {
                const char *proto = fbk_xml_text(l, "member/Protocol");
                const char *port = fbk_xml_text(l, "member/Port");
                char *front = fbk_xasprintf("%s %s load balancer %s, listener %s %s",
                                            priv ? "internal" : "internet-facing",
                                            fbk_xml_text(b, "member/Type") ? fbk_xml_text(b, "member/Type") : "",
                                            name ? name : dns, proto ? proto : "?", port ? port : "?");
                if (forwards_to(fbk_xml_find(l, "member/DefaultActions"), tg)) {
                    char *url = listener_url(dns, proto, port);
                    add_row(all, url, priv, front, "", health, detail);
                    free(url);
                } else if (proto && (!strcmp(proto, "HTTP") || !strcmp(proto, "HTTPS"))) {
                    /* only rules route this listener's traffic to the group
                     * (Application Load Balancers; an NLB's listeners have none) */
                    rule_ctx rc = {ctx, diag, creds, region, sname, tg, dns, proto, port, priv, front, health, detail};
                    st = rule_rows(&rc, fbk_xml_text(l, "member/ListenerArn"), all);
                }
                free(front);
            }
            fbk_xml_free(ls);
        }
        fbk_xml_free(lx);
        fbk_xml_free(x);
        free(detail);
    }
    /* public before internal, https before http, then the order AWS
     * listed them; one row per URL. The first is the service's front (no
     * instance: the row dependents' env reads); every other URL is an
     * instance named by its host and port. */
    json_t *ordered = json_array();
    for (int pass = 0; pass < 4; pass++) {
        json_t *e;
        json_array_foreach(all, i, e) {
            int https = !strncmp(aws_str(e, "url"), "https:", 6);
            int priv = json_is_true(json_object_get(e, "private"));
            if (priv != pass / 2 || https != !(pass % 2)) continue;
            int dup = 0;
            size_t j;
            json_t *o;
            json_array_foreach(ordered, j, o) dup |= !strcmp(aws_str(o, "url"), aws_str(e, "url"));
            if (!dup) json_array_append(ordered, e);
        }
    }
    json_decref(all);
    json_t *e;
    json_array_foreach(ordered, i, e) {
        if (i > 0) json_object_set_new(e, "instance", json_string(strstr(aws_str(e, "url"), "://") + 3));
        json_array_append(eps, e);
    }
    json_decref(ordered);
    return st;
}
