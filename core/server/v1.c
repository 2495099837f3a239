/* v1.c - serve's specs, plans, operations and drivers routes (v1.h). */
#include "config.h"
#include "server/v1.h"
#include "base/diag.h"
#include "base/util.h"
#include "host/host.h"
#include "plan/report.h"
#include "spec/spec.h"

#include <dirent.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

unsigned fbi_role_bit(const char *r)
{
    return !strcmp(r, "admin") ? FBI_R_ADMIN : !strcmp(r, "deployer") ? FBI_R_DEPLOYER
         : !strcmp(r, "viewer") ? FBI_R_VIEWER : !strcmp(r, "finance") ? FBI_R_FINANCE : 0;
}

json_t *fbi_v1_error(const char *code, const char *message)
{
    /* messages may quote what the client sent (a location, a name): bytes
     * that are not UTF-8 would make no JSON string */
    char *safe = fbi_printable(message, 0, 1024);
    json_t *j = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", safe);
    free(safe);
    return j;
}

static int fail(fbi_v1_resp *out, unsigned status, const char *code, const char *message)
{
    out->status = status;
    out->body = fbi_v1_error(code, message);
    return 1;
}

char *fbi_v1_tenant_dir(const char *home, const char *tenant, const char *sub)
{
    char h[65];
    fbi_sha256_hex(tenant, strlen(tenant), h);
    return fbi_xasprintf("%s/serve/tenants/%.16s/%s", home, h, sub);
}

static char *tenant_dir(const fbi_v1_env *env, const char *tenant, const char *sub)
{
    return fbi_v1_tenant_dir(env->home, tenant, sub);
}

/* 1 when s is n characters of [0-9a-f] (ids taken from URLs: never a path). */
static int hex_id(const char *s, size_t n)
{
    if (strlen(s) != n) return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdef", s[i])) return 0;
    return 1;
}

/* A spec body read as one set, file references refused (it comes from the
 * network). *set new. */
static void read_spec(const fbi_v1_req *rq, const char **ext, fb_spec_set **set, fb_diag *d)
{
    const char *ct = rq->content_type ? rq->content_type : "";
    size_t i = 0;
    while (i < rq->body_len && strchr(" \t\r\n", rq->body[i])) i++;
    int json = strstr(ct, "json") ? 1 : strstr(ct, "yaml") ? 0
             : i < rq->body_len && (rq->body[i] == '{' || rq->body[i] == '[');
    *ext = json ? "json" : "yaml";
    fb_spec_set_new(set);
    fb_spec_set_add_buffer(*set, json ? "request.json" : "request.yaml", rq->body ? rq->body : "",
                           rq->body_len, NULL, d);
    fb_spec_set_finish(*set, d);
}

static int specs_validate(const fbi_v1_req *rq, fbi_v1_resp *out)
{
    const char *ext;
    fb_spec_set *set = NULL;
    fb_diag *d = fb_diag_new();
    read_spec(rq, &ext, &set, d);
    out->body = fbi_spec_set_view(set, d);
    json_object_set_new(out->body, "valid", json_boolean(fb_diag_errors(d) == 0 && fb_spec_count(set) > 0));
    out->status = 200;
    fb_spec_set_free(set);
    fb_diag_free(d);
    return 1;
}

static int specs_submit(const fbi_v1_env *env, const fbi_v1_req *rq, fbi_v1_resp *out)
{
    const char *ext;
    fb_spec_set *set = NULL;
    fb_diag *d = fb_diag_new();
    read_spec(rq, &ext, &set, d);
    if (fb_diag_errors(d) || fb_spec_count(set) == 0) {
        out->status = 400;
        out->body = fbi_v1_error("invalid", fb_diag_errors(d) ? fb_diag_summary(d, 0) : "the body holds no workload");
        json_object_set_new(json_object_get(out->body, "error"), "errors", fbi_diag_json(d));
        goto done;
    }
    for (size_t i = 0; i < fb_spec_count(set); i++)
        if (strcmp(fb_spec_tenant(set, i), rq->who->tenant) != 0) {
            fail(out, 403, "forbidden", "a spec submitted with this token may only name the token's tenant");
            goto done;
        }
    char h[65];
    fbi_sha256_hex(rq->body, rq->body_len, h);
    char *dir = tenant_dir(env, rq->who->tenant, "specs"), *err = NULL;
    char *path = fbi_xasprintf("%s/%.16s.%s", dir, h, ext);
    if (fbi_mkdirs(dir, 0700, &err) != 0 || fbi_write_file_atomic(path, rq->body, rq->body_len, &err) != 0) {
        fprintf(stderr, "fedbroker serve: %s\n", err);
        free(err);
        fail(out, 500, "internal", "the spec could not be saved; see the server log");
    } else {
        json_t *wl = json_array();
        for (size_t i = 0; i < fb_spec_count(set); i++)
            json_array_append_new(wl, json_pack("{s:s,s:s}", "kind", fb_spec_kind(set, i), "name",
                                                fb_spec_name(set, i)));
        out->status = 201;
        out->body = json_pack("{s:s%,s:o}", "id", h, (size_t)16, "workloads", wl);
    }
    free(path);
    free(dir);
done:
    fb_spec_set_free(set);
    fb_diag_free(d);
    return 1;
}

/* The files of a directory whose names end in suffix (NULL: any), sorted
 * (new array of names). */
static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

json_t *fbi_v1_list_dir(const char *dir, const char *suffix)
{
    char **names = NULL;
    size_t n = 0, cap = 0;
    DIR *dp = opendir(dir);
    struct dirent *e;
    while (dp && (e = readdir(dp))) {
        if (e->d_name[0] == '.' || (suffix && !fbi_str_has_suffix(e->d_name, suffix)) || strstr(e->d_name, ".tmp"))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            names = fbi_xrealloc(names, cap * sizeof *names);
        }
        names[n++] = fbi_xstrdup(e->d_name);
    }
    if (dp) closedir(dp);
    /* sorted: the answer does not depend on the directory's order */
    if (n) qsort(names, n, sizeof *names, by_name);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(out, json_string(names[i]));
        free(names[i]);
    }
    free(names);
    return out;
}

static int specs_list(const fbi_v1_env *env, const fbi_v1_req *rq, fbi_v1_resp *out)
{
    char *dir = tenant_dir(env, rq->who->tenant, "specs");
    json_t *names = fbi_v1_list_dir(dir, NULL), *specs = json_array();
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n) {
        const char *s = json_string_value(n);
        const char *dot = strchr(s, '.');
        if (!dot) continue;
        json_array_append_new(specs, json_pack("{s:s%,s:s}", "id", s, (size_t)(dot - s), "format", dot + 1));
    }
    json_decref(names);
    free(dir);
    out->status = 200;
    out->body = json_pack("{s:o}", "specs", specs);
    return 1;
}

static int submit_op(const fbi_v1_env *env, const fbi_v1_req *rq, const char *kind, const char *const *argv,
                     json_t *extra, fbi_v1_resp *out)
{
    char *id = NULL;
    if (fbi_ops_submit(env->ops, rq->who->tenant, kind, argv, &id) != 0) {
        json_decref(extra);
        return fail(out, 503, "busy", "too many operations are waiting; try again later");
    }
    out->status = 202;
    out->body = extra ? extra : json_object();
    json_object_set_new(out->body, "operation", json_string(id));
    json_object_set_new(out->body, "href", json_sprintf("/v1/operations/%s", id));
    free(id);
    return 1;
}

static int plans_create(const fbi_v1_env *env, const fbi_v1_req *rq, fbi_v1_resp *out)
{
    /* the body, optional: {"specs": [ID, ...]}; default every submitted spec */
    json_t *want = NULL;
    if (rq->body_len) {
        json_error_t je;
        json_t *b = json_loadb(rq->body, rq->body_len, 0, &je);
        want = json_object_get(b, "specs");
        if (!b || !json_is_object(b) || (want && !json_is_array(want))) {
            json_decref(b);
            char *m = fbi_xasprintf("the body must be {\"specs\": [ID, ...]} (line %d: %s)", je.line,
                                    b ? "not that shape" : je.text);
            fail(out, 400, "invalid", m);
            free(m);
            return 1;
        }
        json_incref(want);
        json_decref(b);
    }
    char *dir = tenant_dir(env, rq->who->tenant, "specs");
    json_t *names = fbi_v1_list_dir(dir, NULL), *files = json_array();
    size_t i, k;
    json_t *n, *w;
    json_array_foreach(names, i, n) {
        const char *s = json_string_value(n);
        int take = !want;
        json_array_foreach(want, k, w)
            if (json_is_string(w) && hex_id(json_string_value(w), 16) && !strncmp(s, json_string_value(w), 16))
                take = 1;
        if (take) json_array_append_new(files, json_sprintf("%s/%s", dir, s));
    }
    size_t nwant = json_array_size(want);
    json_decref(names);
    json_decref(want);
    free(dir);
    if (json_array_size(files) == 0 || (nwant && json_array_size(files) != nwant)) {
        json_decref(files);
        return fail(out, nwant ? 404 : 400, nwant ? "not_found" : "invalid",
                    nwant ? "no such spec; POST /v1/specs first" : "no spec submitted; POST /v1/specs first");
    }
    unsigned char rnd[6];
    randombytes_buf(rnd, sizeof rnd);
    char pid[16];
    sodium_bin2hex(pid, sizeof pid, rnd, sizeof rnd);
    char *pdir = tenant_dir(env, rq->who->tenant, "plans"), *err = NULL;
    if (fbi_mkdirs(pdir, 0700, &err) != 0) {
        fprintf(stderr, "fedbroker serve: %s\n", err);
        free(err);
        free(pdir);
        json_decref(files);
        return fail(out, 500, "internal", "the plan directory could not be made; see the server log");
    }
    char *pfile = fbi_xasprintf("%s/%s.json", pdir, pid);
    size_t nf = json_array_size(files);
    const char **argv = fbi_xcalloc(nf + 10, sizeof *argv);
    size_t a = 0;
    argv[a++] = "plan";
    json_array_foreach(files, i, n) argv[a++] = json_string_value(n);
    argv[a++] = "--format";
    argv[a++] = "json";
    argv[a++] = "--out";
    argv[a++] = pfile;
    if (env->catalog_dir) {
        argv[a++] = "--catalog";
        argv[a++] = env->catalog_dir;
    }
    argv[a] = NULL;
    submit_op(env, rq, "plan", argv, json_pack("{s:s,s:o}", "plan", pid, "plan_href", json_sprintf("/v1/plans/%s", pid)),
              out);
    free(argv);
    free(pfile);
    free(pdir);
    json_decref(files);
    return 1;
}

/* The tenant's plan id (new), or NULL (404 set). */
static json_t *load_plan(const fbi_v1_env *env, const fbi_v1_req *rq, const char *pid, char **path,
                         fbi_v1_resp *out)
{
    *path = NULL;
    if (!hex_id(pid, 12)) {
        fail(out, 404, "not_found", "no such plan");
        return NULL;
    }
    char *dir = tenant_dir(env, rq->who->tenant, "plans");
    char *p = fbi_xasprintf("%s/%s.json", dir, pid), *err = NULL;
    free(dir);
    size_t len = 0;
    char *text = fbi_read_file(p, 64u << 20, &len, &err);
    free(err);
    json_t *plan = text ? json_loadb(text, len, 0, NULL) : NULL;
    free(text);
    if (!plan) {
        free(p);
        fail(out, 404, "not_found", "no such plan (or its operation has not finished)");
        return NULL;
    }
    *path = p;
    return plan;
}

static int plans_list(const fbi_v1_env *env, const fbi_v1_req *rq, fbi_v1_resp *out)
{
    char *dir = tenant_dir(env, rq->who->tenant, "plans");
    json_t *names = fbi_v1_list_dir(dir, ".json"), *plans = json_array();
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n) {
        const char *s = json_string_value(n);
        if (strlen(s) == 17)
            json_array_append_new(plans, json_pack("{s:s%,s:o}", "id", s, (size_t)12, "href",
                                                   json_sprintf("/v1/plans/%.12s", s)));
    }
    json_decref(names);
    free(dir);
    out->status = 200;
    out->body = json_pack("{s:o}", "plans", plans);
    return 1;
}

static const char *const REPORT_TYPES[] = {"text/plain; charset=utf-8", "application/json", "text/csv; charset=utf-8",
                                           "text/markdown; charset=utf-8", "text/html; charset=utf-8",
                                           "text/csv; charset=utf-8"};

static int plan_report(const json_t *plan, const fbi_v1_req *rq, fbi_v1_resp *out)
{
    const char *f = rq->arg(rq->arg_cls, "format");
    const char *group_by = rq->arg(rq->arg_cls, "group_by");
    unsigned fmt = 0;
    const char *name;
    int found = !f;
    for (unsigned i = 0; f && (name = fbi_report_format_name(i)); i++)
        if (!strcmp(name, f)) {
            fmt = i;
            found = 1;
        }
    if (!found) return fail(out, 400, "invalid", "format: give table, json, csv, md, html or focus");
    if (!f) fmt = FBI_REPORT_JSON;
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem) abort();
    int rc = fbi_report_write(plan, (fbi_report_format)fmt, group_by, mem);
    fclose(mem);
    if (rc != 0) {
        free(buf);
        return fail(out, 400, "invalid", "the report could not be made (group_by?)");
    }
    out->status = 200;
    out->text = buf;
    out->text_len = len;
    out->content_type = fmt < sizeof REPORT_TYPES / sizeof *REPORT_TYPES ? REPORT_TYPES[fmt] : "text/plain";
    return 1;
}

static int plans_route(const fbi_v1_env *env, const fbi_v1_req *rq, const char *rest, unsigned role,
                       fbi_v1_resp *out)
{
    char pid[16] = "";
    const char *slash = strchr(rest, '/');
    size_t idlen = slash ? (size_t)(slash - rest) : strlen(rest);
    if (idlen >= sizeof pid) return fail(out, 404, "not_found", "no such plan");
    memcpy(pid, rest, idlen);
    pid[idlen] = 0;
    const char *what = slash ? slash + 1 : "";
    const unsigned READERS = FBI_R_ADMIN | FBI_R_DEPLOYER | FBI_R_VIEWER;
    unsigned need = !strcmp(what, "report") ? READERS | FBI_R_FINANCE
                  : !strcmp(what, "apply") ? FBI_R_ADMIN | FBI_R_DEPLOYER : READERS;
    int is_post = !strcmp(what, "apply");
    if (strcmp(what, "") && strcmp(what, "changes") && strcmp(what, "report") && strcmp(what, "apply"))
        return fail(out, 404, "not_found", "no such route; see docs/api.yaml");
    if (strcmp(rq->method, is_post ? "POST" : "GET") != 0)
        return fail(out, 405, "method_not_allowed", is_post ? "use POST" : "use GET");
    if (!(role & need)) return fail(out, 403, "forbidden", "this token's role may not call this route");
    char *path = NULL;
    json_t *plan = load_plan(env, rq, pid, &path, out);
    if (!plan) return 1;
    if (!*what) {
        out->status = 200;
        out->body = json_incref(plan);
    } else if (!strcmp(what, "changes")) {
        out->status = 200;
        out->body = json_pack("{s:s,s:O,s:O}", "plan", pid, "changes",
                              json_object_get(plan, "changes") ? json_object_get(plan, "changes") : json_null(),
                              "change_summary", json_object_get(plan, "change_summary")
                                                    ? json_object_get(plan, "change_summary") : json_null());
    } else if (!strcmp(what, "report")) {
        plan_report(plan, rq, out);
    } else {
        const char *argv[] = {"apply", "--plan", path, "--yes", "--format", "json", NULL};
        submit_op(env, rq, "apply", argv, json_pack("{s:s}", "plan", pid), out);
    }
    json_decref(plan);
    free(path);
    return 1;
}

static int destroy_route(const fbi_v1_env *env, const fbi_v1_req *rq, const char *name, fbi_v1_resp *out)
{
    char *text = NULL;
    fb_diag *d = fb_diag_new();
    fb_status st = fb_store_list_deployments(env->store, rq->who->tenant, name, &text, d);
    json_t *rows = st == FB_OK ? json_loads(text ? text : "[]", 0, NULL) : NULL;
    free(text);
    if (st != FB_OK) {
        fb_diag_print(d, stderr);
        fail(out, 500, "internal", "the state store failed; see the server log");
    } else if (json_array_size(rows) == 0) {
        fail(out, 404, "not_found", "no such deployment");
    } else {
        const char *argv[] = {"destroy", "--workload", name, "--tenant", rq->who->tenant, "--format", "json", NULL};
        submit_op(env, rq, "destroy", argv, json_pack("{s:s}", "workload", name), out);
    }
    json_decref(rows);
    fb_diag_free(d);
    return 1;
}

static int drivers_route(fbi_v1_resp *out)
{
    fb_diag *d = fb_diag_new();
    fb_registry *r = NULL;
    fb_registry_open(NULL, &r, d);
    out->status = 200;
    out->body = fbi_registry_json(r, d);
    fb_registry_free(r);
    fb_diag_free(d);
    return 1;
}

int fbi_v1_route(const fbi_v1_env *env, const fbi_v1_req *rq, fbi_v1_resp *out)
{
    memset(out, 0, sizeof *out);
    const char *u = rq->url, *m = rq->method;
    unsigned role = fbi_role_bit(rq->who->role);
    const unsigned READERS = FBI_R_ADMIN | FBI_R_DEPLOYER | FBI_R_VIEWER;
    const unsigned WRITERS = FBI_R_ADMIN | FBI_R_DEPLOYER;
    /* route, method, roles: the table of docs/api.yaml */
    unsigned need = 0;
    const char *method = NULL;
    enum { NONE, DRIVERS, VALIDATE, SUBMIT, SPECS, PLANS_NEW, PLANS, PLAN, OPERATION, DESTROY } r = NONE;
    if (!strcmp(u, "/v1/drivers")) r = DRIVERS, method = "GET", need = READERS;
    else if (!strcmp(u, "/v1/specs/validate")) r = VALIDATE, method = "POST", need = READERS;
    else if (!strcmp(u, "/v1/specs")) {
        int post = !strcmp(m, "POST");
        r = post ? SUBMIT : SPECS, method = post ? "POST" : "GET", need = post ? WRITERS : READERS;
    } else if (!strcmp(u, "/v1/plans")) {
        int post = !strcmp(m, "POST");
        r = post ? PLANS_NEW : PLANS, method = post ? "POST" : "GET", need = post ? WRITERS : READERS;
    } else if (!strncmp(u, "/v1/plans/", 10) && u[10]) {
        return plans_route(env, rq, u + 10, role, out);
    } else if (!strncmp(u, "/v1/operations/", 15) && u[15] && !strchr(u + 15, '/')) {
        r = OPERATION, method = "GET", need = READERS;
    } else if (!strncmp(u, "/v1/deployments/", 16) && u[16] && !strchr(u + 16, '/') && !strcmp(m, "DELETE")) {
        r = DESTROY, method = "DELETE", need = WRITERS;
    }
    if (r == NONE) return 0;
    if (strcmp(m, method) != 0) {
        char *msg = fbi_xasprintf("use %s", method);
        fail(out, 405, "method_not_allowed", msg);
        free(msg);
        return 1;
    }
    if (!(role & need)) return fail(out, 403, "forbidden", "this token's role may not call this route");
    switch (r) {
    case DRIVERS: return drivers_route(out);
    case VALIDATE: return specs_validate(rq, out);
    case SUBMIT: return specs_submit(env, rq, out);
    case SPECS: return specs_list(env, rq, out);
    case PLANS_NEW: return plans_create(env, rq, out);
    case PLANS: return plans_list(env, rq, out);
    case OPERATION:
        out->body = fbi_ops_get(env->ops, u + 15, rq->who->tenant);
        if (!out->body) return fail(out, 404, "not_found", "no such operation");
        out->status = 200;
        return 1;
    case DESTROY: return destroy_route(env, rq, u + 16, out);
    default: return 0;
    }
}
