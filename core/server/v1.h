/* v1.h - serve's routes beyond reading tables (docs/serve.md, docs/api.yaml):
 * drivers, specs (validate, submit), plans (create, show, the change set,
 * reports in every format of the CLI), apply and destroy as asynchronous
 * operations (ops.h), operations. Each route is tenant-scoped and
 * role-checked; a name of another tenant is not found (404). Specs and
 * plans made through the API are files in the broker home under
 * serve/tenants/ID/ (ID: the first 16 hex digits of the tenant's SHA-256),
 * so the CLI commands the operations run read exactly what was submitted.
 * Internal to core. Thread notes: any thread. */
#ifndef FB_SERVER_V1_H
#define FB_SERVER_V1_H

#include <jansson.h>
#include <stddef.h>
#include "fedbroker/fedbroker.h"
#include "catalog/catalog.h"
#include "server/ops.h"
#include "server/token.h"

/* Role bits. */
enum { FBI_R_ADMIN = 1, FBI_R_DEPLOYER = 2, FBI_R_VIEWER = 4, FBI_R_FINANCE = 8 };
unsigned fbi_role_bit(const char *role);

typedef struct fbi_v1_env {
    fb_store *store;          /* borrowed */
    fbi_ops *ops;             /* borrowed */
    const char *home;         /* the broker home */
    const char *catalog_dir;  /* serve --catalog, passed on to plan; may be NULL */
} fbi_v1_env;

typedef struct fbi_v1_req {
    const char *method, *url;
    const char *body;         /* may be NULL; body_len bytes */
    size_t body_len;
    const char *content_type; /* may be NULL */
    /* a query argument (NULL when absent) */
    const char *(*arg)(void *cls, const char *name);
    void *arg_cls;
    const fbi_principal *who;
} fbi_v1_req;

typedef struct fbi_v1_resp {
    unsigned status;
    json_t *body;             /* new, or NULL with text */
    char *text;               /* new: a non-JSON answer (reports), of content_type */
    size_t text_len;
    const char *content_type; /* static */
} fbi_v1_resp;

/* 1 when rq is one of these routes (*out filled), 0 when it is not. */
int fbi_v1_route(const fbi_v1_env *env, const fbi_v1_req *rq, fbi_v1_resp *out);

/* The tenant's directory of API-submitted files (new):
 * HOME/serve/tenants/ID/SUB, ID the first 16 hex digits of SHA-256(tenant). */
char *fbi_v1_tenant_dir(const char *home, const char *tenant, const char *sub);
/* The names in dir ending in suffix (NULL: any; no dot files or temp
 * files), sorted. new. */
json_t *fbi_v1_list_dir(const char *dir, const char *suffix);

/* {"error": {"code", "message"}} (new). */
json_t *fbi_v1_error(const char *code, const char *message);

#endif
