/* tasks.c - where an ECS service without a load balancer answers: the
 * public IPs of its Fargate tasks (discover's "endpoints",
 * docs/driver-abi.md; issue 16). A service whose awsvpcConfiguration has
 * assignPublicIp ENABLED gives each task an elastic network interface with
 * a public IPv4 address; the address is on the interface, not the task:
 * ECS ListTasks (the service's tasks desired RUNNING) -> DescribeTasks (the
 * ElasticNetworkInterface attachment's networkInterfaceId, lastStatus,
 * healthStatus) -> DescribeTaskDefinition (the container ports) -> EC2
 * DescribeNetworkInterfaces (association.publicIp). EC2 speaks the ec2
 * protocol: a Query-style form request, lists as `Name.N` (no `.member`),
 * an answer without a Result wrapper whose lists hold <item> elements; it
 * goes through aws_query, signed as "ec2". Read-only calls only. Tasks
 * come and go: each discover reports the tasks running now, so a stopped
 * task's row is no longer reported and ages out with its lease. */
#include "config.h"
#include "aws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EC2_VERSION "2016-11-15"
/* ListTasks' and DescribeTasks' page and batch limit */
#define TASK_BATCH 100
/* network-interface-id values per DescribeNetworkInterfaces (the API
 * takes up to 1000 filter values per call; a DescribeTasks batch fits) */
#define ENI_BATCH TASK_BATCH

typedef struct tcall {
    aws_ctx *ctx;
    fb_diag *diag;
    const fbk_aws_creds *creds;
    const char *region;
    const char *service; /* the ECS service's name, for messages (borrowed) */
} tcall;

/* Notes an answered denial (or a service deleted meanwhile): the service's
 * task rows are not reported, discover goes on with everything else. */
static void skipped(const tcall *c, const char *what, const char *code, const char *message)
{
    fbk_diag(aws_host, c->diag, FB_SEV_WARNING, NULL,
             "aws: discover: ECS service %s: %s (%s%s%s): its tasks' public IPs are not reported\n"
             "grant ecs:ListTasks, ecs:DescribeTasks, ecs:DescribeTaskDefinition and "
             "ec2:DescribeNetworkInterfaces to the broker's role",
             c->service, what, code ? code : "denied", message ? ": " : "", message ? message : "");
}

/* One read-only ECS call (JSON 1.1). FB_OK with *ans (new) the answer, or
 * NULL when the answer was a denial (warned) or the service is gone (a
 * NotFound: nothing to report). Other error answers fail discover (diag
 * filled), so the rows age out rather than lie. */
static fb_status ecs_read(const tcall *c, const char *op, const json_t *body, json_t **ans)
{
    *ans = NULL;
    aws_req rq = {.api = "ecs", .op = op, .method = "POST", .path = "/", .body = body,
                  .flags = FB_HTTP_READ_ONLY | FB_HTTP_IDEMPOTENT};
    aws_res res;
    fb_status st = aws_send(c->ctx, c->diag, c->creds, c->region, &rq, &res);
    if (st != FB_OK) return st;
    if (res.err == FB_AUTH) skipped(c, op, res.code, res.message);
    else if (res.err != FB_OK && res.err != FB_NOTFOUND) st = aws_fail(c->diag, &rq, &res, NULL);
    else if (res.err == FB_OK && res.status) *ans = res.body ? json_incref(res.body) : json_object();
    aws_res_clear(&res);
    return st;
}

/* The value of detail `name` of a task's ElasticNetworkInterface
 * attachment (borrowed), or NULL. */
static const char *eni_detail(const json_t *task, const char *name)
{
    size_t i, k;
    const json_t *a, *d;
    json_array_foreach(json_object_get(task, "attachments"), i, a) {
        const char *type = aws_str(a, "type");
        if (!type || strcmp(type, "ElasticNetworkInterface")) continue;
        json_array_foreach(json_object_get(a, "details"), k, d) {
            const char *n = aws_str(d, "name");
            if (n && !strcmp(n, name)) return aws_str(d, "value");
        }
    }
    return NULL;
}

/* A task's health as its row carries it: RUNNING and HEALTHY passing,
 * UNHEALTHY critical, RUNNING without a verdict (no container health
 * check) unknown, so a probe judges it; a task still starting or already
 * stopping warning. *detail new. */
static const char *task_health(const json_t *task, const char *ip, const char *eni, char **detail)
{
    const char *last = aws_str(task, "lastStatus") ? aws_str(task, "lastStatus") : "?";
    const char *hs = aws_str(task, "healthStatus") ? aws_str(task, "healthStatus") : "UNKNOWN";
    const char *arn = aws_str(task, "taskArn") ? aws_str(task, "taskArn") : "?";
    const char *id = strrchr(arn, '/') ? strrchr(arn, '/') + 1 : arn;
    *detail = fbk_xasprintf("Fargate task %s: %s, health %s; public IP %s of %s", id, last, hs, ip, eni);
    if (!strcmp(hs, "UNHEALTHY")) return "critical";
    if (strcmp(last, "RUNNING")) return "warning";
    return !strcmp(hs, "HEALTHY") ? "passing" : "unknown";
}

/* The TCP port mappings of task definition arn (borrowed array; memo, an
 * object arn -> array, caches them across the service's tasks; empty when
 * it could not be read, a denial warned), or NULL with *st set when the
 * call failed. */
static const json_t *task_ports(const tcall *c, json_t *memo, const char *arn, fb_status *st)
{
    const json_t *have = json_object_get(memo, arn);
    if (have) return have;
    json_t *b = json_pack("{s:s}", "taskDefinition", arn);
    json_t *ans = NULL;
    *st = ecs_read(c, "DescribeTaskDefinition", b, &ans);
    json_decref(b);
    if (*st != FB_OK) return NULL;
    if (!ans) { /* denied (warned) or gone: no ports, and not asked again */
        json_object_set_new(memo, arn, json_array());
        return json_object_get(memo, arn);
    }
    json_t *ports = json_array();
    size_t i, k;
    const json_t *cd, *pm;
    json_array_foreach(json_object_get(json_object_get(ans, "taskDefinition"), "containerDefinitions"), i, cd) {
        json_array_foreach(json_object_get(cd, "portMappings"), k, pm) {
            const char *proto = aws_str(pm, "protocol");
            if (proto && strcmp(proto, "tcp")) continue; /* udp: no URL */
            if (aws_int(pm, "containerPort", 0) > 0) json_array_append(ports, (json_t *)pm);
        }
    }
    json_decref(ans);
    json_object_set_new(memo, arn, ports);
    return ports;
}

/* Fills ips (borrowed object) with eni id -> public IP for the interfaces
 * named in enis (borrowed array of strings): EC2 DescribeNetworkInterfaces
 * with the network-interface-id filter (an interface deleted meanwhile is
 * simply absent, where NetworkInterfaceIds would fail the call) and
 * MaxResults (AWS refuses unpaginated calls in large accounts), following
 * NextToken. A denial is warned and leaves ips empty. */
static fb_status eni_public_ips(const tcall *c, const json_t *enis, json_t *ips)
{
    size_t n = json_array_size(enis);
    aws_kv *p = fbk_xcalloc(n + 4, sizeof *p);
    char (*keys)[48] = fbk_xcalloc(n + 1, sizeof *keys);
    size_t np = 0;
    p[np++] = (aws_kv){"Filter.1.Name", "network-interface-id"};
    for (size_t i = 0; i < n; i++) {
        snprintf(keys[i], sizeof keys[0], "Filter.1.Value.%zu", i + 1);
        p[np++] = (aws_kv){keys[i], json_string_value(json_array_get(enis, i))};
    }
    p[np++] = (aws_kv){"MaxResults", "1000"};
    char *token = NULL;
    fb_status st = FB_OK;
    for (int page = 0; page < 100 && st == FB_OK; page++) {
        size_t m = np;
        if (token) p[m++] = (aws_kv){"NextToken", token};
        fbk_xml *x = NULL;
        char *code = NULL, *message = NULL;
        long status;
        fb_status err;
        st = aws_query(c->ctx, c->diag, c->creds, "ec2", c->region, EC2_VERSION, "DescribeNetworkInterfaces", p, m,
                       FB_HTTP_READ_ONLY | FB_HTTP_IDEMPOTENT, &x, &code, &message, &status, &err);
        free(token);
        token = NULL;
        if (st == FB_OK && err == FB_AUTH) {
            skipped(c, "EC2 DescribeNetworkInterfaces", code, message);
        } else if (st == FB_OK && err != FB_OK) {
            fbk_diag(aws_host, c->diag, FB_SEV_ERROR, NULL, "aws: EC2 DescribeNetworkInterfaces (%s) failed: HTTP %ld %s%s%s",
                     c->region, status, code ? code : "", message ? ": " : "", message ? message : "");
            st = err;
        }
        free(code);
        free(message);
        const fbk_xml *set = x ? fbk_xml_find(x, "DescribeNetworkInterfacesResponse/networkInterfaceSet") : NULL;
        for (const fbk_xml *it = set ? set->child : NULL; it; it = it->next) {
            const char *id = fbk_xml_text(it, "item/networkInterfaceId");
            const char *ip = fbk_xml_text(it, "item/association/publicIp");
            if (id && ip && *ip) json_object_set_new(ips, id, json_string(ip));
        }
        const char *next = x ? fbk_xml_text(x, "DescribeNetworkInterfacesResponse/nextToken") : NULL;
        if (next && *next) token = fbk_xstrdup(next);
        fbk_xml_free(x);
        if (!token) break;
    }
    free(token);
    free(keys);
    free(p);
    return st;
}

/* The rows of one DescribeTasks batch (tasks: borrowed array of Task). */
static fb_status batch_rows(const tcall *c, const json_t *tasks, json_t *memo, json_t *eps)
{
    json_t *enis = json_array();
    size_t i;
    const json_t *t;
    json_array_foreach(tasks, i, t) {
        const char *last = aws_str(t, "lastStatus");
        const char *eni = eni_detail(t, "networkInterfaceId");
        if (eni && !(last && !strcmp(last, "STOPPED"))) json_array_append_new(enis, json_string(eni));
    }
    json_t *ips = json_object();
    fb_status st = json_array_size(enis) ? eni_public_ips(c, enis, ips) : FB_OK;
    json_array_foreach(tasks, i, t) {
        if (st != FB_OK) break;
        const char *eni = eni_detail(t, "networkInterfaceId");
        const char *ip = eni ? json_string_value(json_object_get(ips, eni)) : NULL;
        const char *td = aws_str(t, "taskDefinitionArn");
        if (!ip || !td) continue; /* no public IP (yet), or stopped meanwhile */
        const json_t *ports = task_ports(c, memo, td, &st);
        char *detail = NULL;
        const char *health = task_health(t, ip, eni, &detail);
        size_t k;
        const json_t *pm;
        json_array_foreach(ports, k, pm) {
            json_int_t port = aws_int(pm, "containerPort", 0);
            const char *name = aws_str(pm, "name");
            /* ECS's appProtocol says http, http2 or grpc, never TLS: https
             * only when the port says so by its name or number */
            int tls = port == 443 || (name && strstr(name, "https"));
            char *url = fbk_xasprintf("%s://%s:%lld", tls ? "https" : "http", ip, (long long)port);
            char *inst = fbk_xasprintf("%s:%lld", ip, (long long)port);
            char *d = fbk_xasprintf("%s; container port %lld", detail, (long long)port);
            json_array_append_new(eps, json_pack("{s:s,s:s,s:s,s:b,s:s,s:s,s:s}", "url", url, "kind", "url",
                                                 "instance", inst, "private", 0, "health", health,
                                                 "detail", d, "source", "aws-ecs-task"));
            free(url);
            free(inst);
            free(d);
        }
        free(detail);
    }
    json_decref(ips);
    json_decref(enis);
    return st;
}

fb_status aws_task_endpoints(aws_ctx *ctx, fb_diag *diag, const fbk_aws_creds *creds, const char *region,
                             const json_t *svc, json_t *eps)
{
    tcall c = {ctx, diag, creds, region, aws_str(svc, "serviceName") ? aws_str(svc, "serviceName") : "?"};
    json_t *arns = json_array();
    char *token = NULL;
    fb_status st = FB_OK;
    for (int page = 0; page < 100 && st == FB_OK; page++) {
        json_t *b = json_pack("{s:s,s:s,s:s,s:i}", "cluster", ctx->cluster, "serviceName", c.service,
                              "desiredStatus", "RUNNING", "maxResults", TASK_BATCH);
        if (token) json_object_set_new(b, "nextToken", json_string(token));
        free(token);
        token = NULL;
        json_t *ans = NULL;
        st = ecs_read(&c, "ListTasks", b, &ans);
        json_decref(b);
        size_t i;
        json_t *a;
        json_array_foreach(json_object_get(ans, "taskArns"), i, a) json_array_append(arns, a);
        if (aws_str(ans, "nextToken")) token = fbk_xstrdup(aws_str(ans, "nextToken"));
        json_decref(ans);
        if (!token) break;
    }
    free(token);
    json_t *memo = json_object();
    for (size_t i = 0; st == FB_OK && i < json_array_size(arns); i += TASK_BATCH) {
        json_t *batch = json_array();
        for (size_t k = i; k < i + TASK_BATCH && k < json_array_size(arns); k++)
            json_array_append(batch, json_array_get(arns, k));
        json_t *b = json_pack("{s:s,s:o}", "cluster", ctx->cluster, "tasks", batch);
        json_t *ans = NULL;
        st = ecs_read(&c, "DescribeTasks", b, &ans);
        json_decref(b);
        if (st == FB_OK && ans) st = batch_rows(&c, json_object_get(ans, "tasks"), memo, eps);
        json_decref(ans);
        if (!ans) break; /* denied: warned once */
    }
    json_decref(memo);
    json_decref(arns);
    return st;
}
