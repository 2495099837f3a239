/* k8s_deploy.c - apply, observe, destroy and discover on a cluster.
 *
 * apply: the tenant's namespace (labelled, with the configured
 * ResourceQuota and LimitRange and a NetworkPolicy that admits no traffic
 * from other tenants' namespaces), a ServiceAccount per workload, then
 * render's documents, each by server-side apply (PATCH, application/apply-
 * patch+yaml, fieldManager=fedbroker; force only with forceConflicts),
 * each recorded before it is sent (names are deterministic, so the journal
 * knows the id before the object exists), then a wait for the rollout.
 * observe reads them back (drift in the fields we set), destroy deletes
 * them (Foreground; 404 is done) and the namespace once no workload of
 * ours is left in it, discover lists by the managed-by label. */
#include "config.h"
#include "k8s.h"
#include "base/jsonwrite.h"
#include "fbk_zip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POLL_MS 100
#define GONE_WAIT_MS 30000

/* The object's reference in state and records: {api, kind, namespace?, name}. */
static json_t *ref_of(const char *api, const char *kind, const char *ns, const char *name)
{
    json_t *r = json_pack("{s:s,s:s,s:s}", "api", api, "kind", kind, "name", name);
    if (ns) json_object_set_new(r, "namespace", json_string(ns));
    return r;
}

/* The record's type and id: "k8s:<Kind>" (Knative: "k8s:knative.Service"),
 * "<namespace>/<name>" (or the name of a cluster-scoped object). */
static void type_id(const json_t *ref, char *type, size_t tn, char *id, size_t in)
{
    const char *api = json_string_value(json_object_get(ref, "api"));
    const char *kind = json_string_value(json_object_get(ref, "kind"));
    const char *ns = json_string_value(json_object_get(ref, "namespace"));
    const char *name = json_string_value(json_object_get(ref, "name"));
    snprintf(type, tn, "k8s:%s%s", api && !strncmp(api, "serving.knative.dev/", 20) ? "knative." : "", kind ? kind : "");
    if (ns) snprintf(id, in, "%s/%s", ns, name ? name : "");
    else snprintf(id, in, "%s", name ? name : "");
}

static char *ref_path(const json_t *ref)
{
    return k8s_path(json_string_value(json_object_get(ref, "api")), json_string_value(json_object_get(ref, "kind")),
                    json_string_value(json_object_get(ref, "namespace")),
                    json_string_value(json_object_get(ref, "name")));
}

static char *ref_what(const char *verb, const json_t *ref)
{
    char type[96], id[256];
    type_id(ref, type, sizeof type, id, sizeof id);
    return fbk_xasprintf("%s %s %s", verb, type + 4, id);
}

void k8s_namespace_of(const fb_driver_ctx *ctx, const char *tenant, char *buf, size_t n)
{
    if (ctx->namespace[0]) {
        snprintf(buf, n, "%s", ctx->namespace);
        return;
    }
    snprintf(buf, n, "fb-%.59s", tenant ? tenant : "default");
    for (char *p = buf; *p; p++)
        if (*p == '_') *p = '-';
    size_t l = strlen(buf);
    while (l > 0 && buf[l - 1] == '-') buf[--l] = '\0';
}

/* Records ref through host->record unless prev (the previous deployment)
 * has it. Not in a dry run. */
static fb_status record(fb_diag *diag, const json_t *prev, const json_t *ref, const char *region)
{
    if (k8s_host->dry_run(diag)) return FB_OK;
    char type[96], id[256];
    type_id(ref, type, sizeof type, id, sizeof id);
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(prev, "resources"), i, r) {
        const char *t = json_string_value(json_object_get(r, "type"));
        const char *v = json_string_value(json_object_get(r, "id"));
        if (t && v && !strcmp(t, type) && !strcmp(v, id)) return FB_OK;
    }
    json_t *rec = json_pack("{s:s,s:s,s:s,s:s,s:O}", "type", type, "id", id, "region", region, "name",
                            json_string_value(json_object_get(ref, "name")), "ref", ref);
    char *text = fbi_json_write(rec, FBI_JSON_WRITE_SORT);
    json_decref(rec);
    fb_status st = k8s_host->record(diag, text);
    free(text);
    return st;
}

/* Whether an apply conflict's message ("Apply failed with 1 conflict:
 * conflict with \"MANAGER\" using API: .field", "conflicts with" for
 * several) names only the capacity schedule's manager. */
static int only_capacity_conflicts(const char *m)
{
    if (!m || strncmp(m, "Apply failed with", 17)) return 0;
    int n = 0;
    /* "conflict with" for one, "conflicts with" for several fields of a manager */
    for (const char *p = strstr(m, " with \""); p; p = strstr(p + 1, " with \"")) {
        if (strncmp(p + 7, K8S_CAPACITY_MANAGER "\"", strlen(K8S_CAPACITY_MANAGER) + 1)) return 0;
        n++;
    }
    return n > 0;
}

/* Server-side apply of body (borrowed) at ref. A conflict with another
 * field manager is an error naming it (the API server's message does). */
static const char *ssa_query(const fb_driver_ctx *ctx)
{
    return ctx->force ? "fieldManager=" K8S_FIELD_MANAGER "&force=true" : "fieldManager=" K8S_FIELD_MANAGER;
}

/* ssa, its first PATCH already sent in a batch when first is not NULL
 * (first_st and *first its answer, taken over). */
static fb_status ssa_from(fb_driver_ctx *ctx, fb_diag *diag, const json_t *ref, const json_t *body,
                          const char *secret, json_t **live, fb_status first_st, k8s_res *first)
{
    char *path = ref_path(ref);
    char *what = ref_what("apply", ref);
    const char *query = ssa_query(ctx);
    fb_status st = FB_OK;
    k8s_res r;
    /* a 409 that is not an apply conflict (a racing write, a fault) is
     * worth another try: the patch carries no resourceVersion */
    for (int attempt = 0; attempt < 3; attempt++) {
        if (attempt == 0 && first) {
            st = first_st;
            r = *first;
            memset(first, 0, sizeof *first);
        } else {
            st = k8s_call_secret(ctx, diag, what, "PATCH", path, query, body, "application/apply-patch+yaml",
                                 FB_HTTP_IDEMPOTENT | (live ? 0 : K8S_BODY_UNUSED), secret, &r);
        }
        if (st != FB_OK || r.err != FB_CONFLICT || (r.message && !strncmp(r.message, "Apply failed with", 17)))
            break;
        /* the last 409 stays in r: it is the apply's failure (clearing it
         * made a lasting conflict look applied) */
        if (attempt == 2) break;
        k8s_res_clear(&r);
        k8s_host->sleep_ms(diag, 200u << attempt);
    }
    /* a conflict only with the capacity schedule's own manager (the floor
     * its jobs moved, and the schedule is gone or changed): both are
     * fedbroker, so the spec's value is taken back */
    if (st == FB_OK && !ctx->force && r.err == FB_CONFLICT && only_capacity_conflicts(r.message)) {
        k8s_res_clear(&r);
        st = k8s_call_secret(ctx, diag, what, "PATCH", path, "fieldManager=" K8S_FIELD_MANAGER "&force=true", body,
                             "application/apply-patch+yaml", FB_HTTP_IDEMPOTENT | (live ? 0 : K8S_BODY_UNUSED),
                             secret, &r);
    }
    if (st == FB_OK && r.err != FB_OK) {
        const char *hint = NULL;
        if (r.err == FB_CONFLICT && r.message && !strncmp(r.message, "Apply failed with", 17))
            hint = "another field manager (named in the message) owns these fields; fedbroker does not take them "
                   "over: remove them from that manager's configuration, or set drivers.k8s.forceConflicts: true "
                   "to let fedbroker's values win";
        st = k8s_fail(diag, what, &r, hint);
    }
    if (st == FB_OK && live) *live = json_incref(r.body);
    k8s_res_clear(&r);
    free(path);
    free(what);
    return st;
}

static fb_status ssa(fb_driver_ctx *ctx, fb_diag *diag, const json_t *ref, const json_t *body, const char *secret,
                     json_t **live)
{
    return ssa_from(ctx, diag, ref, body, secret, live, FB_OK, NULL);
}

/* The floor a capacity schedule moves, set to the step in effect now
 * (k8s_capacity_set_floor): a merge patch as the schedule's field manager,
 * the one the jobs use, so it and fedbroker's own apply never conflict. */
static fb_status capacity_floor(fb_driver_ctx *ctx, fb_diag *diag, const json_t *ref, const json_t *patch)
{
    char *path = ref_path(ref);
    char *what = ref_what("set the scheduled floor of", ref);
    k8s_res r;
    fb_status st = k8s_call(ctx, diag, what, "PATCH", path, "fieldManager=" K8S_CAPACITY_MANAGER, patch,
                            "application/merge-patch+json", FB_HTTP_IDEMPOTENT | K8S_BODY_UNUSED, &r);
    if (st == FB_OK && r.err != FB_OK) st = k8s_fail(diag, what, &r, NULL);
    k8s_res_clear(&r);
    free(path);
    free(what);
    return st;
}

/* GET ref: 0 found (*live new), 1 not found, -1 error (diagnostic). */
static int get_obj(fb_driver_ctx *ctx, fb_diag *diag, const json_t *ref, json_t **live, fb_status *st)
{
    char *path = ref_path(ref);
    char *what = ref_what("get", ref);
    k8s_res r;
    *live = NULL;
    int rc = -1;
    *st = k8s_call(ctx, diag, what, "GET", path, NULL, NULL, NULL, FB_HTTP_READ_ONLY | FB_HTTP_IDEMPOTENT, &r);
    if (*st == FB_OK && r.err == FB_NOTFOUND) rc = 1;
    else if (*st == FB_OK && r.err != FB_OK) *st = k8s_fail(diag, what, &r, NULL);
    else if (*st == FB_OK) {
        *live = json_incref(r.body);
        rc = 0;
    }
    k8s_res_clear(&r);
    free(path);
    free(what);
    return rc;
}

/* The labels of the tenant's namespace-level objects. */
static json_t *tenant_labels(const char *tenant)
{
    return json_pack("{s:s,s:s}", K8S_MANAGED_BY, K8S_FIELD_MANAGER, K8S_TENANT_LABEL, tenant);
}

/* The tenant's namespace and its policy objects, as (ref, body) pairs
 * appended to objs. */
static void tenant_objects(fb_driver_ctx *ctx, const char *ns, const char *tenant, int least, json_t *objs)
{
    json_t *body = json_pack("{s:s,s:s,s:{s:s,s:o}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name",
                             ns, "labels", tenant_labels(tenant));
    json_array_append_new(objs, json_pack("{s:o,s:o}", "ref", ref_of("v1", "Namespace", NULL, ns), "body", body));
    if (ctx->quota) {
        body = json_pack("{s:s,s:s,s:{s:s,s:s,s:o},s:{s:O}}", "apiVersion", "v1", "kind", "ResourceQuota", "metadata",
                         "name", "fb-quota", "namespace", ns, "labels", tenant_labels(tenant), "spec", "hard",
                         ctx->quota);
        json_array_append_new(objs, json_pack("{s:o,s:o}", "ref", ref_of("v1", "ResourceQuota", ns, "fb-quota"),
                                              "body", body));
    }
    if (ctx->limits) {
        body = json_pack("{s:s,s:s,s:{s:s,s:s,s:o},s:{s:[O]}}", "apiVersion", "v1", "kind", "LimitRange", "metadata",
                         "name", "fb-limits", "namespace", ns, "labels", tenant_labels(tenant), "spec", "limits",
                         ctx->limits);
        json_array_append_new(objs, json_pack("{s:o,s:o}", "ref", ref_of("v1", "LimitRange", ns, "fb-limits"),
                                              "body", body));
    }
    /* ingress only from this namespace and from namespaces that are no
     * tenant's (ingress controllers, monitoring): never from another
     * tenant's. Under the broker's identity (least), not from this
     * namespace either: each dependency A -> B has its own policy
     * (identity_objects) */
    if (least)
        body = json_pack("{s:s,s:s,s:{s:s,s:s,s:o},s:{s:{},s:[s],s:[{s:[{s:{s:[{s:s,s:s}]}}]}]}}",
                         "apiVersion", "networking.k8s.io/v1", "kind", "NetworkPolicy", "metadata", "name",
                         "fb-tenant-isolation", "namespace", ns, "labels", tenant_labels(tenant), "spec",
                         "podSelector", "policyTypes", "Ingress", "ingress", "from", "namespaceSelector",
                         "matchExpressions", "key", K8S_TENANT_LABEL, "operator", "DoesNotExist");
    else
    body = json_pack("{s:s,s:s,s:{s:s,s:s,s:o},s:{s:{},s:[s],s:[{s:[{s:{s:{s:s}}},{s:{s:[{s:s,s:s}]}}]}]}}",
                     "apiVersion", "networking.k8s.io/v1", "kind", "NetworkPolicy", "metadata", "name",
                     "fb-tenant-isolation", "namespace", ns, "labels", tenant_labels(tenant), "spec", "podSelector",
                     "policyTypes", "Ingress", "ingress", "from", "namespaceSelector", "matchLabels",
                     K8S_TENANT_LABEL, tenant, "namespaceSelector", "matchExpressions", "key", K8S_TENANT_LABEL,
                     "operator", "DoesNotExist");
    json_array_append_new(objs, json_pack("{s:o,s:o}", "ref",
                                          ref_of("networking.k8s.io/v1", "NetworkPolicy", ns, "fb-tenant-isolation"),
                                          "body", body));
}

/* Whether ref is one of the tenant's namespace-level objects (shared by its
 * workloads: left to destroy's last workload). */
static int tenant_level(const json_t *ref)
{
    const char *k = json_string_value(json_object_get(ref, "kind"));
    const char *n = json_string_value(json_object_get(ref, "name"));
    if (!k) return 0;
    return !strcmp(k, "Namespace") || !strcmp(k, "ResourceQuota") || !strcmp(k, "LimitRange") ||
           (!strcmp(k, "NetworkPolicy") && n && !strcmp(n, "fb-tenant-isolation"));
}

/* Least privilege from the federation graph (docs/identity.md): for each
 * caller A of this workload B on this cluster (in.identity.callers), a
 * NetworkPolicy fb-B-from-A letting A's pods reach B's, appended to objs
 * as (ref, body) pairs. Callers elsewhere come through the Ingress (a
 * namespace that is no tenant's). */
static void identity_objects(const json_t *in, const fbk_wl *wl, const char *ns, json_t *objs)
{
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(json_object_get(in, "identity"), "callers"), i, c) {
        const char *a = json_string_value(json_object_get(c, "name"));
        const char *prov = json_string_value(json_object_get(c, "provider"));
        if (!a || !prov || strcmp(prov, K8S_DRV) != 0) continue;
        char *name = fbk_xasprintf("fb-%s-from-%s", wl->name, a);
        json_t *body = json_pack(
            "{s:s,s:s,s:{s:s,s:s,s:o},s:{s:{s:{s:s,s:s}},s:[s],s:[{s:[{s:{s:{s:s,s:s}}}]}]}}", "apiVersion",
            "networking.k8s.io/v1", "kind", "NetworkPolicy", "metadata", "name", name, "namespace", ns, "labels",
            fbk_k8s_labels(wl), "spec", "podSelector", "matchLabels", "app.kubernetes.io/name", wl->name,
            "fedbroker.dev/tenant", wl->tenant, "policyTypes", "Ingress", "ingress", "from", "podSelector",
            "matchLabels", "app.kubernetes.io/name", a, "fedbroker.dev/tenant", wl->tenant);
        json_array_append_new(objs, json_pack("{s:o,s:o}", "ref",
                                              ref_of("networking.k8s.io/v1", "NetworkPolicy", ns, name), "body",
                                              body));
        free(name);
    }
}

/* The broker's portable secrets the workload names (secret://NAME, mapped
 * by validate to k8s://fedbroker.TENANT.WORKLOAD.NAME#value): one Secret
 * each, key "value", in the workload's namespace, inserted into objs at
 * position 1 (after the ServiceAccount, before the pods that read it) as
 * (ref, body, secret: the base64 data, which the host redacts). The value
 * comes from host->credential. *versions (new) gets "NAME=VERSION,..."
 * for the pod template's annotation, so a new version rolls the pods
 * (env from a Secret is read when a pod starts). No Role grants anyone API
 * access to it: only the kubelet reads it, for this workload's pods. */
static char *secret_versions(const fbk_wl *wl, fb_diag *diag);

static fb_status secret_objects(const fbk_wl *wl, const char *ns, json_t *objs, char **versions, fb_diag *diag)
{
    *versions = NULL;
    size_t i, at = 1;
    json_t *s;
    fb_status st = FB_OK;
    json_array_foreach(wl->secrets, i, s) {
        const char *portable = json_string_value(json_object_get(s, "portable"));
        const char *ref = json_string_value(json_object_get(s, "ref"));
        if (!portable || !ref || strncmp(ref, "k8s://", 6) != 0) continue;
        const char *hash = strchr(ref + 6, '#');
        char *name = fbk_xstrndup(ref + 6, hash ? (size_t)(hash - ref - 6) : strlen(ref + 6));
        char ptr[64];
        snprintf(ptr, sizeof ptr, "/spec/secrets/%zu/ref", i);
        char *value = NULL;
        st = k8s_host->credential(diag, portable, &value);
        if (st == FB_NOTFOUND) {
            fbk_diag(k8s_host, diag, FB_SEV_ERROR, ptr,
                     "k8s: %s: the broker has no such secret for this tenant\nstore it with: "
                     "fedbroker secret put %s --tenant TENANT < FILE", portable, portable + 9);
            st = FB_INVALID;
        }
        if (st != FB_OK) {
            free(name);
            break;
        }
        char *b64 = fbk_base64((const unsigned char *)value, strlen(value));
        fbk_wipe(value, strlen(value));
        k8s_host->free(value);
        json_t *body = json_pack("{s:s,s:s,s:{s:s,s:s,s:o},s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Secret",
                                 "metadata", "name", name, "namespace", ns, "labels", fbk_k8s_labels(wl), "type",
                                 "Opaque", "data", "value", b64);
        json_array_insert_new(objs, at++, json_pack("{s:o,s:o,s:s}", "ref", ref_of("v1", "Secret", ns, name), "body",
                                                    body, "secret", b64));
        fbk_free_secret(b64);
        free(name);
    }
    if (st == FB_OK) *versions = secret_versions(wl, diag);
    return st;
}

/* "NAME=VERSION,..." of the broker's portable secrets wl names (new), as
 * secret_objects writes it on the pod template, or NULL when it names none
 * or the broker cannot say (only the version numbers are asked for). */
static char *secret_versions(const fbk_wl *wl, fb_diag *diag)
{
    fbk_buf vb;
    fbk_buf_init(&vb);
    size_t i;
    json_t *s;
    json_array_foreach(wl->secrets, i, s) {
        const char *portable = json_string_value(json_object_get(s, "portable"));
        const char *ref = json_string_value(json_object_get(s, "ref"));
        if (!portable || !ref || strncmp(ref, "k8s://", 6) != 0) continue;
        char vkey[96], *version = NULL;
        snprintf(vkey, sizeof vkey, "secret-version://%s", portable + 9);
        if (k8s_host->credential(diag, vkey, &version) != FB_OK) {
            fbk_buf_free(&vb);
            return NULL;
        }
        fbk_buf_printf(&vb, "%s%s=%s", vb.len ? "," : "", portable + 9, version);
        k8s_host->free(version);
    }
    if (!vb.len) {
        fbk_buf_free(&vb);
        return NULL;
    }
    return fbk_buf_steal(&vb);
}

/* What a workload's pods need to fetch their own JWT-SVID (identity.tokenUrl;
 * docs/identity.md, "A workload's own token"): {"audience": the token URL,
 * "env": FEDBROKER_TOKEN_URL, ..., FEDBROKER_TOKEN_FILE} (new), or NULL
 * without a token URL. apply stores it in the deployment's state, observe
 * reads it from there, so both want the same pods. */
static json_t *token_of(const json_t *ident)
{
    const char *url = json_string_value(json_object_get(ident, "tokenUrl"));
    if (!url) return NULL;
    json_t *env = json_object();
    fbk_identity_env(ident, K8S_DRV, env);
    json_object_set_new(env, "FEDBROKER_TOKEN_FILE", json_string(K8S_TOKEN_DIR "/token"));
    return json_pack("{s:s,s:o}", "audience", url, "env", env);
}

/* Adds volume vol (stolen, named name) to a pod spec, mounted read-only
 * at dir in every container, with the variables of env (borrowed; sorted,
 * after the spec's; a variable the spec sets is kept). */
static void pod_volume(json_t *pod, json_t *vol, const char *name, const char *dir, const json_t *env)
{
    json_t *vols = json_object_get(pod, "volumes");
    if (!vols) json_object_set_new(pod, "volumes", vols = json_array());
    json_array_append_new(vols, vol);
    size_t n = 0;
    const char **keys = fbk_sorted_keys((json_t *)env, &n);
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(pod, "containers"), i, c) {
        json_t *mounts = json_object_get(c, "volumeMounts");
        if (!mounts) json_object_set_new(c, "volumeMounts", mounts = json_array());
        json_array_append_new(mounts, json_pack("{s:s,s:s,s:b}", "name", name, "mountPath", dir, "readOnly", 1));
        json_t *ea = json_object_get(c, "env");
        for (size_t k = 0; k < n; k++) {
            int set = 0;
            size_t j;
            const json_t *e;
            json_array_foreach(ea, j, e) {
                const char *en = json_string_value(json_object_get(e, "name"));
                set |= en && !strcmp(en, keys[k]);
            }
            if (set) continue;
            if (!ea) json_object_set_new(c, "env", ea = json_array());
            json_array_append_new(ea, json_pack("{s:s,s:O}", "name", keys[k], "value", json_object_get(env, keys[k])));
        }
    }
    free(keys);
}

/* Mounts token (token_of's) into a pod spec: a projected service-account
 * token for the broker's audience, short-lived, in every container, with
 * its variables. The pod still mounts no API token: this one is good only
 * at the broker. */
static void pod_token(json_t *pod, const json_t *token)
{
    pod_volume(pod,
               json_pack("{s:s,s:{s:[{s:{s:O,s:i,s:s}}]}}", "name", K8S_TOKEN_VOLUME, "projected", "sources",
                         "serviceAccountToken", "audience", json_object_get(token, "audience"), "expirationSeconds",
                         K8S_TOKEN_TTL_S, "path", "token"),
               K8S_TOKEN_VOLUME, K8S_TOKEN_DIR, json_object_get(token, "env"));
}

/* "PREFIX" and callee's name in capitals, '-' as '_' (new): the variable
 * naming one callee's role or credential file. */
static char *callee_var(const char *prefix, const char *callee)
{
    char *v = fbk_xasprintf("%s%s", prefix, callee);
    for (char *p = v + strlen(prefix); *p; p++) {
        if (*p >= 'a' && *p <= 'z') *p = (char)(*p - 'a' + 'A');
        else if (*p == '-' || *p == '.') *p = '_';
    }
    return v;
}

/* What wl's pods need to call their dependencies on AWS and GCP with the
 * cluster's own token, as EKS (IRSA) and GKE workload identity federation
 * give it (docs/identity.md, "A caller's own issuer"); NULL (nothing to
 * give) without serviceAccountIssuer or such a dependency. The callees'
 * bindings are the ones the AWS and GCP drivers made for this caller
 * (callers[].workloadIssuer); their names are deterministic
 * (fbk_caller_binding_id, fbk_issuer_provider_id) but for the account and
 * project, which settings.callerCredentials gives:
 * - AWS: a projected token of audience sts.amazonaws.com (aws-token),
 *   AWS_ROLE_ARN (the first AWS dependency's fbc- role) and
 *   AWS_WEB_IDENTITY_TOKEN_FILE, the variables the AWS SDKs read, and
 *   FEDBROKER_AWS_ROLE_ARN_<CALLEE> for each;
 * - GCP: a projected token whose audience is the cluster's pool provider
 *   (gcp-token), and per callee an external_account credential
 *   configuration (gcp-CALLEE.json, from the ConfigMap NAME-fb-cloud)
 *   that exchanges it at Google's STS and impersonates the callee's fbc-
 *   account; GOOGLE_APPLICATION_CREDENTIALS names the first,
 *   FEDBROKER_GOOGLE_CREDENTIALS_<CALLEE> each.
 * -> {"sources": projected volume sources, "env", "configMap"?: {"name",
 * "data"}} (new). A dependency on AWS or GCP without the setting it needs
 * is a warning naming it. apply stores the result in the deployment's
 * state, observe reads it from there. */
static json_t *cloud_of(fb_driver_ctx *ctx, const json_t *in, const fbk_wl *wl, fbk_ck *ck)
{
    const json_t *callees = json_object_get(json_object_get(in, "identity"), "callees");
    if (!ctx->sa_issuer || !json_array_size(callees)) return NULL;
    json_t *sources = json_array(), *env = json_object(), *data = json_object();
    int aws = 0, gcp = 0;
    size_t i;
    const json_t *c;
    json_array_foreach(callees, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *prov = json_string_value(json_object_get(c, "provider"));
        if (!name || !prov) continue;
        if (!strcmp(prov, "aws")) {
            if (!ctx->aws_account) {
                fbk_note(ck, NULL, "set drivers.k8s.callerCredentials.awsAccountId to the callees' account",
                         "%s calls %s on AWS, but its pods get no AWS_ROLE_ARN: the account of the role is not "
                         "known", wl->name, name);
                continue;
            }
            char *rn = fbk_caller_binding_id(wl->tenant, wl->name, name, 50, 0);
            char *arn = fbk_xasprintf("arn:aws:iam::%s:role/%s", ctx->aws_account, rn);
            char *var = callee_var("FEDBROKER_AWS_ROLE_ARN_", name);
            json_object_set_new(env, var, json_string(arn));
            if (!aws++) {
                json_array_append_new(sources, json_pack("{s:{s:s,s:I,s:s}}", "serviceAccountToken", "audience",
                                                         "sts.amazonaws.com", "expirationSeconds",
                                                         (json_int_t)ctx->cloud_token_ttl_s, "path", "aws-token"));
                json_object_set_new(env, "AWS_ROLE_ARN", json_string(arn));
                json_object_set_new(env, "AWS_WEB_IDENTITY_TOKEN_FILE", json_string(K8S_CLOUD_DIR "/aws-token"));
            }
            free(var);
            free(arn);
            free(rn);
        } else if (!strcmp(prov, "gcp")) {
            if (!ctx->gcp_project) {
                fbk_note(ck, NULL, "set drivers.k8s.callerCredentials.gcpProject and gcpProjectNumber",
                         "%s calls %s on Google Cloud, but its pods get no credential configuration: the "
                         "project of the account is not known", wl->name, name);
                continue;
            }
            char *prov_id = fbk_issuer_provider_id(ctx->sa_issuer);
            char *aud = fbk_xasprintf("//iam.googleapis.com/projects/%s/locations/global/workloadIdentityPools/"
                                      FBK_GCP_POOL_ID "/providers/%s", ctx->gcp_number, prov_id);
            char *id = fbk_caller_binding_id(wl->tenant, wl->name, name, 17, 1);
            char *imp = fbk_xasprintf("%s/v1/projects/-/serviceAccounts/%s@%s.iam.gserviceaccount.com:"
                                      "generateAccessToken", ctx->gcp_iamcred_url, id, ctx->gcp_project);
            json_t *conf = json_pack("{s:s,s:s,s:s,s:s,s:{s:s},s:s}", "type", "external_account", "audience", aud,
                                     "subject_token_type", "urn:ietf:params:oauth:token-type:jwt", "token_url",
                                     ctx->gcp_sts_url, "credential_source", "file", K8S_CLOUD_DIR "/gcp-token",
                                     "service_account_impersonation_url", imp);
            char *text = json_dumps(conf, JSON_INDENT(2) | JSON_SORT_KEYS);
            char *key = fbk_xasprintf("gcp-%s.json", name);
            char *path = fbk_xasprintf(K8S_CLOUD_DIR "/%s", key);
            json_object_set_new(data, key, json_string(text));
            char *var = callee_var("FEDBROKER_GOOGLE_CREDENTIALS_", name);
            json_object_set_new(env, var, json_string(path));
            if (!gcp++) {
                json_array_append_new(sources, json_pack("{s:{s:s,s:I,s:s}}", "serviceAccountToken", "audience", aud,
                                                         "expirationSeconds", (json_int_t)ctx->cloud_token_ttl_s,
                                                         "path", "gcp-token"));
                json_object_set_new(env, "GOOGLE_APPLICATION_CREDENTIALS", json_string(path));
            }
            free(var);
            free(path);
            free(key);
            free(text);
            json_decref(conf);
            free(imp);
            free(id);
            free(aud);
            free(prov_id);
        }
    }
    if (!json_array_size(sources)) {
        json_decref(sources);
        json_decref(env);
        json_decref(data);
        return NULL;
    }
    json_t *out = json_pack("{s:o,s:o}", "sources", sources, "env", env);
    if (json_object_size(data)) {
        char *cm = fbk_xasprintf("%s-fb-cloud", wl->name);
        json_array_append_new(sources, json_pack("{s:{s:s}}", "configMap", "name", cm));
        json_object_set_new(out, "configMap", json_pack("{s:s,s:o}", "name", cm, "data", data));
        free(cm);
    } else {
        json_decref(data);
    }
    return out;
}

/* A rendered document (borrowed) as a (ref, body) pair in ns. new. */
static json_t *doc_object(const json_t *d, const char *ns)
{
    return json_pack("{s:o,s:O,s:O*}", "ref",
                     ref_of(json_string_value(json_object_get(d, "api")), json_string_value(json_object_get(d, "kind")),
                            ns, json_string_value(json_object_get(d, "name"))),
                     "body", json_object_get(d, "body"), "capacityPatch", json_object_get(d, "capacityPatch"));
}

/* The workload's objects: its ServiceAccount, then render's documents in
 * ns with that account. knative: 1 Knative Service, 0 Deployment etc.
 * token: token_of's, or NULL. cloud: cloud_of's, or NULL (with a
 * ConfigMap, it comes after the account). */
static json_t *workload_objects(fb_driver_ctx *ctx, const fbk_wl *wl, const char *ns, int knative, int fallback_min1,
                                const json_t *token, const json_t *cloud, fbk_ck *ck)
{
    json_t *objs = json_array();
    json_t *labels = fbk_k8s_labels(wl);
    json_t *sa = json_pack("{s:s,s:s,s:{s:s,s:s,s:o},s:b}", "apiVersion", "v1", "kind", "ServiceAccount", "metadata",
                           "name", wl->name, "namespace", ns, "labels", labels, "automountServiceAccountToken", 0);
    json_array_append_new(objs, json_pack("{s:o,s:o}", "ref", ref_of("v1", "ServiceAccount", ns, wl->name), "body", sa));
    const json_t *cm = json_object_get(cloud, "configMap");
    if (cm) {
        const char *cmn = json_string_value(json_object_get(cm, "name"));
        json_t *body = json_pack("{s:s,s:s,s:{s:s,s:s,s:o},s:O}", "apiVersion", "v1", "kind", "ConfigMap", "metadata",
                                 "name", cmn, "namespace", ns, "labels", fbk_k8s_labels(wl), "data",
                                 json_object_get(cm, "data"));
        json_array_append_new(objs, json_pack("{s:o,s:o}", "ref", ref_of("v1", "ConfigMap", ns, cmn), "body", body));
    }
    fbk_k8s_opts o;
    memset(&o, 0, sizeof o);
    o.platform = "Kubernetes";
    o.namespace = ns;
    o.ingress_class = ctx->ingress_class[0] ? ctx->ingress_class : NULL;
    o.cpu_m = wl->cpu_m;
    o.mem_mib = wl->mem_mib;
    o.eph_mib = wl->eph_mib;
    o.knative_max_timeout_s = ctx->knative_max_timeout_s;
    o.cronjobs = 1;
    fbk_wl w = *wl;
    if (fallback_min1 && w.min_i < 1) w.min_i = 1;
    int cron = fbk_k8s_schedule_only(wl);
    json_t *docs = cron ? fbk_k8s_render_cronjobs(&w, &o)
                 : knative ? fbk_k8s_render_knative(&w, &o, ck) : fbk_k8s_render_deployment(&w, &o, ck);
    /* the capacity schedule's objects (k8s_capacity.c) after the object
     * they patch, so destroy (newest first) stops the jobs before it */
    json_t *cap = NULL;
    if (!cron && k8s_capacity_has(&w)) {
        long long fl = -1;
        cap = k8s_capacity_render(&w, ns, knative, ctx->capacity_image, k8s_host->now(), &fl, ck);
        k8s_capacity_set_floor(docs, knative, fl);
    }
    size_t i;
    json_t *d;
    json_array_foreach(docs, i, d) {
        json_t *body = json_object_get(d, "body");
        json_t *pod = NULL;
        const char *dk = json_string_value(json_object_get(d, "kind"));
        if (knative && !cron) pod = json_object_get(json_object_get(json_object_get(body, "spec"), "template"), "spec");
        else if (!strcmp(dk, "Deployment"))
            pod = json_object_get(json_object_get(json_object_get(body, "spec"), "template"), "spec");
        else if (!strcmp(dk, "CronJob"))
        {
            json_t *job = json_object_get(json_object_get(json_object_get(body, "spec"), "jobTemplate"), "spec");
            pod = json_object_get(json_object_get(job, "template"), "spec");
        }
        if (pod) {
            json_object_set_new(pod, "serviceAccountName", json_string(wl->name));
            /* the workload talks to no API server: no token in its pods */
            if (!knative || cron) json_object_set_new(pod, "automountServiceAccountToken", json_false());
            if (token) pod_token(pod, token);
            if (cloud)
                pod_volume(pod,
                           json_pack("{s:s,s:{s:O}}", "name", K8S_CLOUD_VOLUME, "projected", "sources",
                                     json_object_get(cloud, "sources")),
                           K8S_CLOUD_VOLUME, K8S_CLOUD_DIR, json_object_get(cloud, "env"));
        }
        json_array_append_new(objs, doc_object(d, ns));
    }
    json_array_foreach(cap, i, d) json_array_append_new(objs, doc_object(d, ns));
    json_decref(cap);
    json_decref(docs);
    return objs;
}

/* A condition's status and its reason/message. */
static const json_t *condition(const json_t *obj, const char *type)
{
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(json_object_get(obj, "status"), "conditions"), i, c) {
        const char *t = json_string_value(json_object_get(c, "type"));
        if (t && !strcmp(t, type)) return c;
    }
    return NULL;
}

static int cond_is(const json_t *c, const char *status)
{
    const char *s = json_string_value(json_object_get(c, "status"));
    return s && !strcmp(s, status);
}

/* The rollout state of a Deployment or Knative Service: "ready",
 * "pending" or "failed" (*why: a static or borrowed message). */
static const char *rollout_state(const json_t *live, int knative, const char **why)
{
    *why = NULL;
    const json_t *md = json_object_get(live, "metadata");
    const json_t *status = json_object_get(live, "status");
    long long gen = fbk_int((json_t *)md, "generation", 0);
    long long seen = fbk_int((json_t *)status, "observedGeneration", 0);
    if (knative) {
        const json_t *c = condition(live, "Ready");
        if (seen >= gen && cond_is(c, "True")) return "ready";
        if (seen >= gen && cond_is(c, "False")) {
            *why = json_string_value(json_object_get(c, "message"));
            return "failed";
        }
        return "pending";
    }
    const json_t *prog = condition(live, "Progressing");
    const char *reason = json_string_value(json_object_get(prog, "reason"));
    if (cond_is(prog, "False") && reason && !strcmp(reason, "ProgressDeadlineExceeded")) {
        *why = json_string_value(json_object_get(prog, "message"));
        return "failed";
    }
    long long want = fbk_int(json_object_get(live, "spec"), "replicas", 1);
    long long updated = fbk_int((json_t *)status, "updatedReplicas", 0);
    long long avail = fbk_int((json_t *)status, "availableReplicas", 0);
    if (seen >= gen && updated >= want && avail >= want && cond_is(condition(live, "Available"), "True"))
        return "ready";
    return "pending";
}

/* Waits until the main object rolls out, fails, or the timeout passes. */
/* A wait's end: the wall clock (host->now) says when the time is up; a
 * poll budget of one poll per POLL_MS of it bounds the wait when the clock
 * is fixed (FEDBROKER_NOW) or sleeps are scaled down (tests). */
typedef struct waiter {
    int64_t start_s, limit_ms;
    long polls, max_polls;
    uint32_t delay;
} waiter;

static void wait_init(waiter *w, int64_t limit_ms)
{
    w->start_s = k8s_host->now();
    w->limit_ms = limit_ms;
    w->polls = 0;
    /* generous: polls are cheap, and with sleeps scaled down (tests) the
     * clock decides */
    w->max_polls = (long)(limit_ms / POLL_MS) * 20 + 1;
    w->delay = POLL_MS;
}

/* 1 when the time is up, else sleeps (backing off to 1 s) and returns 0. */
static int wait_more(waiter *w, fb_diag *diag, int64_t *waited_s)
{
    *waited_s = k8s_host->now() - w->start_s;
    if (*waited_s * 1000 >= w->limit_ms || ++w->polls >= w->max_polls) return 1;
    k8s_host->sleep_ms(diag, w->delay);
    if (w->delay < 1000) w->delay *= 2;
    return 0;
}

/* Waits for the rollout of ref. first (stolen, may be NULL) is the
 * object as the server-side apply answered it: it is the object's state at
 * that moment, so it is the first poll, and a GET right after it could
 * only say the same (an unchanged Deployment re-applied is rolled out
 * already and needs no GET at all). *last: the ready object, new. */
static fb_status wait_rollout(fb_driver_ctx *ctx, fb_diag *diag, const json_t *ref, int knative, json_t *first,
                              json_t **last)
{
    waiter wt;
    wait_init(&wt, ctx->rollout_timeout_ms);
    int64_t waited = 0;
    for (;;) {
        json_t *live = first;
        fb_status st;
        int rc = 0;
        if (first) first = NULL;
        else rc = get_obj(ctx, diag, ref, &live, &st);
        if (rc < 0) return st;
        const char *why = NULL;
        const char *state = rc == 1 ? "pending" : rollout_state(live, knative, &why);
        if (!strcmp(state, "ready")) {
            json_decref(*last);
            *last = live;
            return FB_OK;
        }
        if (!strcmp(state, "failed")) {
            char *what = ref_what("rollout of", ref);
            char *m = fbk_xasprintf("k8s: %s failed: %s", what, why ? why : "(no message)");
            k8s_host->diag_add(diag, FB_SEV_ERROR, m,
                               knative ? "kubectl describe the Knative Service and its revision for the reason"
                                       : "the pods did not become available within progressDeadlineSeconds: check "
                                         "the image, resources and probes (kubectl describe deployment)",
                               NULL);
            free(m);
            free(what);
            json_decref(live);
            return FB_INVALID;
        }
        json_decref(live);
        if (wait_more(&wt, diag, &waited)) {
            char *what = ref_what("rollout of", ref);
            char *m = fbk_xasprintf("k8s: %s is not done after %lld s (%ld polls)", what, (long long)waited,
                                    wt.polls);
            k8s_host->diag_add(diag, FB_SEV_ERROR, m,
                               "it may still finish: run apply again (it resumes) or raise "
                               "drivers.k8s.rolloutTimeout",
                               NULL);
            free(m);
            free(what);
            return FB_RETRYABLE;
        }
    }
}

/* Whether the namespace may be used by this tenant: absent, or labelled
 * for it. Another tenant's, or one fedbroker did not make, is refused
 * (unless settings.namespace names it on purpose). */
static fb_status check_namespace(fb_driver_ctx *ctx, fb_diag *diag, const char *ns, const char *tenant)
{
    if (ctx->namespace[0] || k8s_host->dry_run(diag)) return FB_OK;
    json_t *live = NULL;
    fb_status st;
    json_t *ref = ref_of("v1", "Namespace", NULL, ns);
    int rc = get_obj(ctx, diag, ref, &live, &st);
    json_decref(ref);
    if (rc < 0) return st;
    if (rc == 1) return FB_OK;
    json_t *labels = json_object_get(json_object_get(live, "metadata"), "labels");
    const char *t = json_string_value(json_object_get(labels, K8S_TENANT_LABEL));
    const char *mb = json_string_value(json_object_get(labels, K8S_MANAGED_BY));
    st = FB_OK;
    if (!t || !mb || strcmp(mb, K8S_FIELD_MANAGER) || strcmp(t, tenant)) {
        char *m = fbk_xasprintf("k8s: namespace %s exists and is not tenant %s's (labels %s=%s, %s=%s)", ns, tenant,
                                K8S_MANAGED_BY, mb ? mb : "(none)", K8S_TENANT_LABEL, t ? t : "(none)");
        k8s_host->diag_add(diag, FB_SEV_ERROR, m,
                           "fedbroker keeps each tenant in its own namespace fb-<tenant>; rename the tenant, or "
                           "set drivers.k8s.namespace to share one namespace on purpose",
                           NULL);
        free(m);
        st = FB_CONFLICT;
    }
    json_decref(live);
    return st;
}

/* What API discovery decides for a workload (wl, ck borrowed): *knative
 * cleared (and *fallback set, with a plan note) when the cluster has no
 * Knative Serving; refused without autoscaling/v2 (a diagnostic). Waits
 * for a discovery another thread is making. Once per workload (the note). */
static fb_status discovery_decides(fb_driver_ctx *ctx, fb_diag *diag, const fbk_wl *wl, fbk_ck *ck, int *knative,
                                   int *fallback)
{
    fb_status st = k8s_discover_apis(ctx, diag);
    if (st != FB_OK) return st;
    if (*knative && !ctx->has_knative) {
        *knative = 0;
        *fallback = 1;
        fbk_note(ck, NULL, "install Knative Serving for scale to zero",
                 "the cluster does not serve serving.knative.dev/v1: %s becomes a Deployment, Service and "
                 "HorizontalPodAutoscaler with at least 1 replica", wl->name);
    }
    if (!ctx->has_hpa_v2) {
        fbk_err(ck, NULL, "use Kubernetes 1.23 or later",
                "the cluster does not serve autoscaling/v2 (HorizontalPodAutoscaler v2)");
        return FB_INVALID;
    }
    return FB_OK;
}

/* A tenant's namespace-level objects are applied once per process, by the
 * first of its workloads (the doer) while the others wait, in two steps:
 * TENANT_NS once the Namespace is applied (and, with a ResourceQuota,
 * the quota too), TENANT_READY once the LimitRange and NetworkPolicy are
 * too. A workload's ServiceAccount starts no pod, so it needs only the
 * first step and is applied beside the tenant's NetworkPolicy: one request
 * less on the path every workload of a run waits for at its start
 * (bench/README-k8s.md). Whatever can run a pod waits for the policy. A
 * doer that fails sets TENANT_NONE again and the next waiting workload
 * tries in its turn. */
enum { TENANT_NONE, TENANT_BUSY, TENANT_NS, TENANT_READY };

/* Waits until namespace ns's tenant state is at least want, and returns
 * it; or returns TENANT_NONE when nobody is applying the tenant's
 * objects: the caller is now their doer (the state is TENANT_BUSY) and
 * must end with tenant_set. */
static int tenant_wait(fb_driver_ctx *ctx, const char *ns, int want)
{
    pthread_mutex_lock(&ctx->tenant_mu);
    int state;
    for (;;) {
        state = (int)json_integer_value(json_object_get(ctx->tenants_ready, ns));
        if (state >= want) break;
        if (state == TENANT_NONE) {
            json_object_set_new(ctx->tenants_ready, ns, json_integer(TENANT_BUSY));
            break;
        }
        pthread_cond_wait(&ctx->tenant_cv, &ctx->tenant_mu);
    }
    pthread_mutex_unlock(&ctx->tenant_mu);
    return state;
}

/* The doer's progress (TENANT_NONE: it failed), told to the waiters. */
static void tenant_set(fb_driver_ctx *ctx, const char *ns, int state)
{
    pthread_mutex_lock(&ctx->tenant_mu);
    if (state == TENANT_NONE) json_object_del(ctx->tenants_ready, ns);
    else json_object_set_new(ctx->tenants_ready, ns, json_integer(state));
    pthread_cond_broadcast(&ctx->tenant_cv);
    pthread_mutex_unlock(&ctx->tenant_mu);
}

static fb_status apply_objs(fb_driver_ctx *ctx, fb_diag *diag, const json_t *objs, const size_t *idx, size_t n,
                            int knative, int dry, json_t *refs, json_t **main_ref, json_t **main_live);

/* The doer's part: the namespace check (and discovery's decision, when
 * this workload has not made it yet: *checked), then the tenant's objects,
 * all recorded before the first is applied, their refs appended to refs:
 * the Namespace, then the others together; TENANT_NS is told before
 * those others are sent (after them with a ResourceQuota). Ends with
 * tenant_set (TENANT_READY, or TENANT_NONE when it failed). */
static fb_status tenant_apply(fb_driver_ctx *ctx, fb_diag *diag, const json_t *in, const fbk_wl *wl, const char *ns,
                              json_t *refs, fbk_ck *ck, int *checked, int *knative, int *fallback)
{
    const json_t *prev = json_object_get(in, "deployment");
    fb_status st = check_namespace(ctx, diag, ns, wl->tenant);
    if (st == FB_OK && !*checked) {
        st = discovery_decides(ctx, diag, wl, ck, knative, fallback);
        *checked = 1;
    }
    json_t *tobjs = json_array();
    tenant_objects(ctx, ns, wl->tenant, json_object_get(in, "identity") != NULL, tobjs);
    size_t i;
    json_t *o;
    /* journal first, all at once (as a workload's objects): the batch
     * after the Namespace then waits for no store commit, which the
     * workloads let go at TENANT_NS would be queueing writes into */
    json_array_foreach(tobjs, i, o) {
        if (st == FB_OK) st = record(diag, prev, json_object_get(o, "ref"), ctx->region);
    }
    /* the Namespace alone (everything else lives in it), then its
     * ResourceQuota, LimitRange and NetworkPolicy together (with a host
     * that sends a batch): none reads another, and all of them are in
     * place before anything that runs a pod (TENANT_READY). The
     * workloads' ServiceAccounts go beside them (TENANT_NS), except with a
     * ResourceQuota: a quota counts only what is created after it, so an
     * account made beside it could pass a count/serviceaccounts limit.
     * One round trip for the namespace's objects instead of one each
     * (three before the first account with a quota and a LimitRange). */
    size_t nt = json_array_size(tobjs);
    if (st == FB_OK) {
        json_t *ref = json_object_get(json_array_get(tobjs, 0), "ref");
        st = ssa(ctx, diag, ref, json_object_get(json_array_get(tobjs, 0), "body"), NULL, NULL);
        if (st == FB_OK) json_array_append(refs, ref);
    }
    if (st == FB_OK) {
        int quota = 0;
        json_array_foreach(tobjs, i, o) {
            const char *kind = json_string_value(json_object_get(json_object_get(o, "ref"), "kind"));
            quota |= !strcmp(kind, "ResourceQuota");
        }
        if (!quota) tenant_set(ctx, ns, TENANT_NS);
        size_t *idx = fbk_xcalloc(nt, sizeof *idx), n = 0;
        for (size_t k = 1; k < nt; k++) idx[n++] = k;
        /* none of them is a workload's main object: mref and mlive stay NULL */
        json_t *mref = NULL, *mlive = NULL;
        int dry = k8s_host->dry_run(diag);
        if (k8s_can_batch()) {
            st = apply_objs(ctx, diag, tobjs, idx, n, 0, dry, refs, &mref, &mlive);
        } else {
            for (size_t k = 0; k < n && st == FB_OK; k++)
                st = apply_objs(ctx, diag, tobjs, &idx[k], 1, 0, dry, refs, &mref, &mlive);
        }
        json_decref(mlive);
        free(idx);
    }
    json_decref(tobjs);
    tenant_set(ctx, ns, st == FB_OK ? TENANT_READY : TENANT_NONE);
    return st;
}

/* Whether the object at ref is the workload's main one (its Deployment,
 * or its Knative Service). */
static int obj_is_main(const json_t *ref, int knative)
{
    const char *kind = json_string_value(json_object_get(ref, "kind"));
    return !strcmp(kind, "Deployment") ||
           (knative && !strcmp(json_string_value(json_object_get(ref, "api")), "serving.knative.dev/v1"));
}

/* the main object's answer is kept as the rollout wait's first poll,
 * unless a capacity floor patches it after its apply */
static int obj_keep(const json_t *o, int knative, int dry)
{
    return obj_is_main(json_object_get(o, "ref"), knative) && !dry && !json_object_get(o, "capacityPatch");
}

/* The apply of one object o of k8s_do_apply's list (its SSA, its capacity
 * floor after it), first_st and *first the answer of its first PATCH when
 * a batch sent it (taken over), else first NULL. On FB_OK its ref is
 * appended to refs, and the main object's ref and answer (the rollout
 * wait's first poll) are kept in *main_ref and *main_live. */
static fb_status apply_obj(fb_driver_ctx *ctx, fb_diag *diag, const json_t *o, int knative, int dry,
                           fb_status first_st, k8s_res *first, json_t *refs, json_t **main_ref, json_t **main_live)
{
    json_t *ref = json_object_get(o, "ref");
    int is_main = obj_is_main(ref, knative);
    int keep = obj_keep(o, knative, dry);
    json_t *live = NULL;
    fb_status st = ssa_from(ctx, diag, ref, json_object_get(o, "body"),
                            json_string_value(json_object_get(o, "secret")), keep ? &live : NULL, first_st, first);
    if (st == FB_OK && json_object_get(o, "capacityPatch"))
        st = capacity_floor(ctx, diag, ref, json_object_get(o, "capacityPatch"));
    if (st != FB_OK) {
        json_decref(live);
        return st;
    }
    json_array_append(refs, ref);
    if (is_main) {
        *main_ref = ref;
        json_decref(*main_live);
        *main_live = live;
    }
    return FB_OK;
}

/* Whether the object at ref makes pods (a controller creates them from
 * its template), and whether o is something a pod reads when it is
 * created (its ServiceAccount, a ConfigMap it mounts or reads). */
static int runs_pods(const json_t *ref, int knative)
{
    const char *kind = json_string_value(json_object_get(ref, "kind"));
    return obj_is_main(ref, knative) || !strcmp(kind, "CronJob") || !strcmp(kind, "Job") ||
           !strcmp(kind, "StatefulSet") || !strcmp(kind, "DaemonSet");
}

static int pod_input(const json_t *o)
{
    const char *kind = json_string_value(json_object_get(json_object_get(o, "ref"), "kind"));
    return !strcmp(kind, "ServiceAccount") || !strcmp(kind, "ConfigMap") || !strcmp(kind, "Secret");
}

/* The objects objs[idx[0..n)] of one workload, independent of each other
 * (no later one waits for an earlier one's answer; only the last may have
 * a capacity floor): their first PATCHes in flight together
 * (host->http_many), then each answer in list order as apply_obj takes
 * it (a racing 409 is tried again alone), stopping at the first failure
 * as the one-by-one apply does. Every object was recorded before. */
static fb_status apply_objs(fb_driver_ctx *ctx, fb_diag *diag, const json_t *objs, const size_t *idx, size_t n,
                            int knative, int dry, json_t *refs, json_t **main_ref, json_t **main_live)
{
    if (n == 0) return FB_OK;
    if (n == 1)
        return apply_obj(ctx, diag, json_array_get(objs, idx[0]), knative, dry, FB_OK, NULL, refs, main_ref,
                         main_live);
    k8s_req *q = fbk_xcalloc(n, sizeof *q);
    char **paths = fbk_xcalloc(n, sizeof *paths), **whats = fbk_xcalloc(n, sizeof *whats);
    fb_status *sts = fbk_xcalloc(n, sizeof *sts);
    k8s_res *res = fbk_xcalloc(n, sizeof *res);
    for (size_t k = 0; k < n; k++) {
        const json_t *o = json_array_get(objs, idx[k]);
        const json_t *ref = json_object_get(o, "ref");
        paths[k] = ref_path(ref);
        whats[k] = ref_what("apply", ref);
        q[k] = (k8s_req){.what = whats[k], .method = "PATCH", .path = paths[k], .query = ssa_query(ctx),
                         .body = json_object_get(o, "body"), .ctype = "application/apply-patch+yaml",
                         .flags = FB_HTTP_IDEMPOTENT | (obj_keep(o, knative, dry) ? 0 : K8S_BODY_UNUSED),
                         .body_secret = json_string_value(json_object_get(o, "secret"))};
    }
    fb_status st = k8s_call_many(ctx, diag, q, n, sts, res);
    for (size_t k = 0; k < n; k++) {
        if (st == FB_OK)
            st = apply_obj(ctx, diag, json_array_get(objs, idx[k]), knative, dry, sts[k], &res[k], refs, main_ref,
                           main_live);
        k8s_res_clear(&res[k]);
        free(paths[k]);
        free(whats[k]);
    }
    free(q);
    free(paths);
    free(whats);
    free(sts);
    free(res);
    return st;
}

fb_status k8s_do_apply(fb_driver_ctx *ctx, json_t *in, const fbk_wl *wl, int knative, json_t **out, fb_diag *diag)
{
    fbk_ck ck = {k8s_host, diag, K8S_DRV, 0, 0};
    const json_t *prev = json_object_get(in, "deployment");
    int dry = k8s_host->dry_run(diag);
    char ns[64];
    k8s_namespace_of(ctx, wl->tenant, ns, sizeof ns);
    fb_status st = FB_OK;
    int fallback = 0;
    /* discovery and the tenant's namespace check are both reads before
     * anything is written: when another workload is reading /apis, this
     * one checks the namespace meanwhile (one request less on the path
     * every workload of the run waits for) and waits for discovery's
     * answer before it writes anything */
    int checked = dry;
    if (!checked && !k8s_discovery_busy(ctx)) {
        st = discovery_decides(ctx, diag, wl, &ck, &knative, &fallback);
        if (st != FB_OK) return st;
        checked = 1;
    }
    /* the tenant's namespace and policy objects once per process (see
     * tenant_wait): this workload goes on once the namespace is there */
    json_t *objs = json_array();
    const char *region = ctx->region;
    json_t *refs = json_array(), *main_ref = NULL;
    size_t i;
    json_t *o;
    int tenant = tenant_wait(ctx, ns, TENANT_NS);
    if (tenant == TENANT_NONE) {
        st = tenant_apply(ctx, diag, in, wl, ns, refs, &ck, &checked, &knative, &fallback);
        tenant = TENANT_READY;
    }
    if (st == FB_OK && !checked) st = discovery_decides(ctx, diag, wl, &ck, &knative, &fallback);
    if (st != FB_OK) {
        json_decref(objs);
        json_decref(refs);
        return st;
    }
    json_t *token = token_of(json_object_get(in, "identity"));
    json_t *cloud = cloud_of(ctx, in, wl, &ck);
    json_t *wobjs = workload_objects(ctx, wl, ns, knative, fallback, token, cloud, &ck);
    json_array_extend(objs, wobjs);
    json_decref(wobjs);
    identity_objects(in, wl, ns, objs);
    char *versions = NULL;
    st = secret_objects(wl, ns, objs, &versions, diag);
    if (versions) {
        /* a new version of a secret rolls the pods that read it */
        json_array_foreach(objs, i, o) {
            json_t *b = json_object_get(o, "body");
            const char *k = json_string_value(json_object_get(b, "kind"));
            json_t *tmpl = k && (!strcmp(k, "Deployment") || !strcmp(k, "Service"))
                               ? json_object_get(json_object_get(b, "spec"), "template") : NULL;
            if (!tmpl || !json_object_get(tmpl, "spec")) continue;
            json_t *md = json_object_get(tmpl, "metadata");
            if (!md) json_object_set_new(tmpl, "metadata", md = json_object());
            json_t *an = json_object_get(md, "annotations");
            if (!an) json_object_set_new(md, "annotations", an = json_object());
            json_object_set_new(an, "fedbroker.dev/secret-versions", json_string(versions));
        }
        free(versions);
    }
    if (st != FB_OK) {
        json_decref(token);
        json_decref(cloud);
        json_decref(objs);
        json_decref(refs);
        return st;
    }
    /* journal first: every object's id is known before any of them
     * exists, so all are recorded before the first is applied. The host
     * stores them in as few transactions as its writer makes and the
     * first apply waits once for them all;
     * recording each just before its own apply made the workload wait for
     * the store before every request (bench/README-k8s.md). An object
     * recorded but never applied (an earlier one failed) is a 404 to
     * destroy, which counts as deleted. */
    json_array_foreach(objs, i, o) {
        st = record(diag, prev, json_object_get(o, "ref"), region);
        if (st != FB_OK) break;
    }
    json_t *main_live = NULL; /* the main object as its apply answered it */
    /* The objects are independent of each other once the tenant is ready
     * (none waits for another's answer): with a host that sends a batch
     * (k8s_can_batch) their PATCHes go out together, in runs that end
     * where the one-by-one order has something in between (the tenant's
     * wait, an object's capacity floor) and before what runs pods when
     * the run holds what they read, so a dry run's requests stay in the
     * same order. A workload of the bench: its ServiceAccount, then its
     * Deployment, Service and HPA together. */
    int batch = k8s_can_batch();
    size_t *pend = fbk_xcalloc(json_array_size(objs) + 1, sizeof *pend), np = 0;
    json_array_foreach(objs, i, o) {
        if (st != FB_OK) break;
        json_t *ref = json_object_get(o, "ref");
        const char *kind = json_string_value(json_object_get(ref, "kind"));
        /* a ServiceAccount runs nothing; whatever else may run a pod
         * waits for the tenant's NetworkPolicy */
        if (tenant < TENANT_READY && strcmp(kind, "ServiceAccount")) {
            st = apply_objs(ctx, diag, objs, pend, np, knative, dry, refs, &main_ref, &main_live);
            np = 0;
            if (st != FB_OK) break;
            tenant = tenant_wait(ctx, ns, TENANT_READY);
            if (tenant == TENANT_NONE) {
                st = tenant_apply(ctx, diag, in, wl, ns, refs, &ck, &checked, &knative, &fallback);
                tenant = TENANT_READY;
                if (st != FB_OK) break;
            }
        }
        /* what runs pods goes after the account and configuration its
         * pods read that come before it in the list (a pod naming an
         * account the server does not have yet is refused; the
         * controller would only retry).
         * Why the account keeps its own round trip (bench/README-k8s.md,
         * Stop 27): sent in the same batch as the Deployment, a real
         * cluster's ReplicaSet controller can create the first pod before
         * the account exists whenever the account's request is the slower
         * one (a retried 429/500, a reset connection), and each such pod is
         * refused (a FailedCreate event, the controller's back-off) until it
         * does. Against that, the saving is within the noise: with P lanes
         * whose batches together ask for more than the P requests the host
         * lets out (fbi_http_outstanding_add), a workload's second round
         * trip mostly waits behind other lanes' queued requests, not in
         * front of the server. The bench's fan-out with the account in the
         * batch: 241.5 against 250 ms (medians, 10 interleaved rounds) and
         * 268.5 against 271.5 ms (8 pairs), shorter in 6 of 10 and 4 of 8
         * pairs; k8sb26's two series were as close. Sending the next
         * workload's account while this one's batch is out is not open to
         * the driver either: a lane gets one workload per apply call, and
         * the next one's intent and records, which must be stored before
         * any of its requests, are made by the host when it starts it. */
        int reads = 0;
        for (size_t k = 0; k < np && !reads; k++) reads = pod_input(json_array_get(objs, pend[k]));
        if (reads && runs_pods(ref, knative)) {
            st = apply_objs(ctx, diag, objs, pend, np, knative, dry, refs, &main_ref, &main_live);
            np = 0;
            if (st != FB_OK) break;
        }
        pend[np++] = i;
        if (!batch || json_object_get(o, "capacityPatch")) {
            st = apply_objs(ctx, diag, objs, pend, np, knative, dry, refs, &main_ref, &main_live);
            np = 0;
        }
    }
    if (st == FB_OK) st = apply_objs(ctx, diag, objs, pend, np, knative, dry, refs, &main_ref, &main_live);
    free(pend);
    /* objects an earlier apply made that the spec no longer has (an HPA
     * once min = max, an Ingress once the port is private) */
    size_t j;
    json_t *old;
    json_array_foreach(json_object_get(json_object_get(prev, "state"), "objects"), j, old) {
        if (st != FB_OK || dry) break;
        /* the tenant's objects are the tenant's, not this workload's (this
         * run may have left them to another workload of the tenant) */
        if (tenant_level(old)) continue;
        int keep = 0;
        json_array_foreach(refs, i, o) keep |= json_equal(o, old);
        if (keep) continue;
        /* the policy admitting a caller this apply did not consider stays */
        const char *on = json_string_value(json_object_get(old, "name"));
        char *pre = fbk_xasprintf("fb-%s-from-", wl->name);
        int foreign = on && !strcmp(json_string_value(json_object_get(old, "kind")), "NetworkPolicy") &&
                      !strncmp(on, pre, strlen(pre)) &&
                      !fbk_identity_considers(json_object_get(in, "identity"), on + strlen(pre));
        free(pre);
        if (foreign) {
            json_array_append(refs, old);
            continue;
        }
        char *path = ref_path(old), *what = ref_what("delete", old);
        k8s_res r;
        st = k8s_call(ctx, diag, what, "DELETE", path, "propagationPolicy=Foreground", NULL, NULL, FB_HTTP_IDEMPOTENT,
                      &r);
        if (st == FB_OK && r.err != FB_OK && r.err != FB_NOTFOUND) st = k8s_fail(diag, what, &r, NULL);
        k8s_res_clear(&r);
        free(path);
        free(what);
    }
    json_t *endpoints = json_object();
    if (st == FB_OK && !dry && main_ref) {
        json_t *last = NULL;
        st = wait_rollout(ctx, diag, main_ref, knative, main_live, &last);
        main_live = NULL;
        const char *url = json_string_value(json_object_get(json_object_get(last, "status"), "url"));
        if (url) json_object_set_new(endpoints, "url", json_string(url));
        json_decref(last);
    }
    if (!knative && main_ref) {
        char dns[160];
        snprintf(dns, sizeof dns, "%s.%s.svc.cluster.local", wl->name, ns);
        /* a host name inside the cluster, not a URL: plan-driven apply
         * records it as kind "service" and does not hand it to workloads
         * elsewhere, which could not resolve it */
        json_object_set_new(endpoints, "service", json_string(dns));
    }
    json_decref(main_live);
    json_decref(objs);
    if (st != FB_OK) {
        json_decref(token);
        json_decref(cloud);
        json_decref(refs);
        json_decref(endpoints);
        return st;
    }
    json_t *state = json_pack("{s:s,s:s,s:s,s:o,s:o,s:o*,s:o*}", "namespace", ns, "name", wl->name, "service",
                              knative ? "knative" : "kubernetes", "objects", refs, "endpoints", endpoints, "token",
                              token, "cloud", cloud); /* token, cloud: the state's now */
    json_t *resources = json_array();
    json_array_foreach(json_object_get(state, "objects"), i, o) {
        char type[96], id[256];
        type_id(o, type, sizeof type, id, sizeof id);
        json_array_append_new(resources, json_pack("{s:s,s:s,s:s,s:O}", "type", type, "id", id, "region", region,
                                                   "ref", o));
    }
    json_t *result = json_object();
    json_object_set(result, "endpoints", json_object_get(state, "endpoints"));
    json_t *url = json_object_get(json_object_get(state, "endpoints"), "url");
    if (url) json_object_set(result, "url", url);
    *out = json_pack("{s:o,s:o,s:o}", "state", state, "resources", resources, "result", result);
    return FB_OK;
}

/* The objects a deployment names: its state's, else its records', else
 * (a crash before anything was stored) those the workload would have. */
static json_t *dep_objects(fb_driver_ctx *ctx, const json_t *in, int *knative)
{
    const json_t *dep = json_object_get(in, "deployment");
    const json_t *state = json_object_get(dep, "state");
    const char *svc = json_string_value(json_object_get(state, "service"));
    *knative = svc && !strcmp(svc, "knative");
    json_t *objs = json_object_get(state, "objects");
    if (json_array_size(objs)) return json_incref(objs);
    json_t *out = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(dep, "resources"), i, r) {
        json_t *ref = json_object_get(r, "ref");
        if (json_is_object(ref)) json_array_append(out, ref);
        const char *t = json_string_value(json_object_get(r, "type"));
        if (t && !strcmp(t, "k8s:knative.Service")) *knative = 1;
    }
    if (json_array_size(out)) return out;
    /* nothing stored: the objects the workload would have */
    const json_t *wl = json_object_get(in, "workload");
    if (wl) {
        fbk_ck quiet = {k8s_host, NULL, K8S_DRV, 0, 1};
        fbk_wl w;
        json_t *tmp = json_pack("{s:O}", "workload", wl);
        const char *psvc0 = json_string_value(json_object_get(json_object_get(in, "placement"), "service"));
        if (!psvc0) psvc0 = json_string_value(json_object_get(dep, "service"));
        if (fbk_wl_load(&w, tmp, &quiet) == 0) {
            char ns0[64];
            k8s_namespace_of(ctx, w.tenant, ns0, sizeof ns0);
            *knative = psvc0 && !strcmp(psvc0, "knative") && !fbk_k8s_schedule_only(&w);
            json_t *objs2 = workload_objects(ctx, &w, ns0, *knative, 0, NULL, NULL, &quiet);
            size_t k;
            json_t *o;
            json_array_foreach(objs2, k, o) json_array_append(out, json_object_get(o, "ref"));
            json_decref(objs2);
        }
        json_decref(tmp);
        if (json_array_size(out)) return out;
    }
    const char *name = json_string_value(json_object_get(json_object_get(wl, "metadata"), "name"));
    const char *tenant = json_string_value(json_object_get(json_object_get(wl, "metadata"), "tenant"));
    const char *psvc = json_string_value(json_object_get(json_object_get(in, "placement"), "service"));
    if (!psvc) psvc = json_string_value(json_object_get(dep, "service"));
    if (!name) return out;
    char ns[64];
    k8s_namespace_of(ctx, tenant, ns, sizeof ns);
    *knative = psvc && !strcmp(psvc, "knative");
    json_array_append_new(out, ref_of("v1", "ServiceAccount", ns, name));
    if (*knative) json_array_append_new(out, ref_of("serving.knative.dev/v1", "Service", ns, name));
    else {
        json_array_append_new(out, ref_of("apps/v1", "Deployment", ns, name));
        json_array_append_new(out, ref_of("v1", "Service", ns, name));
        json_array_append_new(out, ref_of("autoscaling/v2", "HorizontalPodAutoscaler", ns, name));
    }
    return out;
}

/* Appends {"field", "want", "live"} for every member of want that live
 * lacks or has another value for (objects recursively, arrays by element
 * when the lengths agree): what the server defaults or adds is not drift. */
static void drift_of(const json_t *want, const json_t *live, const char *prefix, json_t *drift)
{
    if (json_is_object(want) && json_is_object(live)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)want, k, v) {
            char *p = fbk_xasprintf("%s.%s", prefix, k);
            drift_of(v, json_object_get(live, k), p, drift);
            free(p);
        }
        return;
    }
    if (json_is_array(want) && json_is_array(live) && json_array_size(want) == json_array_size(live)) {
        for (size_t i = 0; i < json_array_size(want); i++) {
            char *p = fbk_xasprintf("%s[%zu]", prefix, i);
            drift_of(json_array_get(want, i), json_array_get(live, i), p, drift);
            free(p);
        }
        return;
    }
    if (!live || !json_equal((json_t *)want, (json_t *)live))
        json_array_append_new(drift, json_pack("{s:s,s:O,s:O}", "field", prefix, "want", want, "live",
                                               live ? (json_t *)live : json_null()));
}

/* Whether a CronJob named name is a schedule-only workload's
 * (fbk_k8s_render_cronjobs: NAME-cron-N), not a capacity schedule's. */
static int job_cronjob(const char *name)
{
    const char *p = NULL;
    for (const char *q = name ? strstr(name, "-cron-") : NULL; q; q = strstr(q + 1, "-cron-")) p = q;
    if (!p || !p[6]) return 0;
    for (p += 6; *p; p++)
        if (*p < '0' || *p > '9') return 0;
    return 1;
}

/* Removes from a wanted spec (changed) what a capacity schedule moves
 * between applies: the HPA's minReplicas, the Knative revision's
 * min-scale, and a one-off step's suspend (its job sets it once it ran). */
static void unscheduled(const char *kind, json_t *spec)
{
    if (!strcmp(kind, "HorizontalPodAutoscaler")) json_object_del(spec, "minReplicas");
    else if (!strcmp(kind, "CronJob")) json_object_del(spec, "suspend");
    else if (!strcmp(kind, "Service"))
        json_object_del(json_object_get(json_object_get(json_object_get(spec, "template"), "metadata"), "annotations"),
                        "autoscaling.knative.dev/min-scale");
}

fb_status k8s_do_observe(fb_driver_ctx *ctx, json_t *in, json_t **out, fb_diag *diag)
{
    int knative = 0;
    json_t *objs = dep_objects(ctx, in, &knative);
    json_t *drift = json_array(), *live_all = json_object();
    const char *status = "ready", *why = NULL;
    fb_status st = FB_OK;
    /* what apply would send now, for drift (when the workload came) */
    json_t *want = NULL;
    char *want_versions = NULL; /* the broker's secret versions the pods should carry */
    const json_t *wlj = json_object_get(in, "workload");
    int scheduled = 0; /* a capacity schedule moves the floor: not drift */
    if (wlj) {
        fbk_ck quiet = {k8s_host, diag, K8S_DRV, 0, 1};
        fbk_wl wl;
        json_t *tmp = json_pack("{s:O}", "workload", wlj);
        /* the portable references as apply saw them (k8s://...) */
        fbk_map_portable_secrets(k8s_host, diag, tmp, "k8s://fedbroker.%t.%w.%n#value", "a Kubernetes Secret", 1);
        if (fbk_wl_load(&wl, tmp, &quiet) == 0) {
            char ns[64];
            k8s_namespace_of(ctx, wl.tenant, ns, sizeof ns);
            const json_t *dstate = json_object_get(json_object_get(in, "deployment"), "state");
            want = workload_objects(ctx, &wl, ns, knative, 0, json_object_get(dstate, "token"),
                                    json_object_get(dstate, "cloud"), &quiet);
            want_versions = secret_versions(&wl, diag);
            scheduled = k8s_capacity_has(&wl);
        }
        json_decref(tmp);
    }
    int main_found = 0, have_main = 0;
    size_t i;
    json_t *ref;
    json_array_foreach(objs, i, ref) {
        const char *kind = json_string_value(json_object_get(ref, "kind"));
        /* a schedule-only workload's CronJobs (NAME-cron-N) are the
         * workload; a capacity schedule's (NAME-capacity-...) are not */
        int is_cron = !strcmp(kind, "CronJob") && job_cronjob(json_string_value(json_object_get(ref, "name")));
        int is_main = is_cron || !strcmp(kind, "Deployment") ||
                      !strcmp(json_string_value(json_object_get(ref, "api")), "serving.knative.dev/v1");
        have_main |= is_main;
        json_t *live = NULL;
        int rc = get_obj(ctx, diag, ref, &live, &st);
        if (rc < 0) break;
        char type[96], id[256];
        type_id(ref, type, sizeof type, id, sizeof id);
        if (rc == 1) {
            if (is_main) status = "missing";
            else if (strcmp(status, "missing"))
                json_array_append_new(drift, json_pack("{s:s,s:s,s:n}", "field", type, "want", id, "live"));
            continue;
        }
        if (is_main && want_versions && !is_cron) {
            /* a copy older than the broker's latest version: the pods
             * still read the old value (apply rolls them) */
            const json_t *an = json_object_get(
                json_object_get(json_object_get(json_object_get(live, "spec"), "template"), "metadata"),
                "annotations");
            const char *have = json_string_value(json_object_get(an, "fedbroker.dev/secret-versions"));
            if (!have || strcmp(have, want_versions) != 0)
                json_array_append_new(drift, json_pack("{s:s,s:s,s:s?}", "field",
                                                       "spec.template.metadata.annotations.fedbroker.dev/secret-versions",
                                                       "want", want_versions, "live", have));
        }
        if (is_main) {
            main_found = 1;
            /* a CronJob has no rollout: it exists, it is ready */
            const char *s = is_cron ? "ready" : rollout_state(live, knative, &why);
            if (strcmp(status, "missing")) status = s;
            json_object_set(live_all, "status", json_object_get(live, "status"));
        }
        size_t j;
        json_t *w;
        json_array_foreach(want, j, w) {
            if (!json_equal(json_object_get(w, "ref"), ref)) continue;
            json_t *body = json_object_get(w, "body");
            json_t *wspec = json_deep_copy(json_object_get(body, "spec"));
            if (scheduled) unscheduled(kind, wspec);
            drift_of(wspec, json_object_get(live, "spec"), type, drift);
            json_decref(wspec);
            /* RBAC objects keep what they grant outside spec */
            static const char *const rbac[] = {"rules", "subjects", "roleRef"};
            if (!strcmp(kind, "Role") || !strcmp(kind, "RoleBinding"))
                for (size_t k = 0; k < 3; k++) {
                    if (!json_object_get(body, rbac[k])) continue;
                    char *f = fbk_xasprintf("%s.%s", type, rbac[k]);
                    drift_of(json_object_get(body, rbac[k]), json_object_get(live, rbac[k]), f, drift);
                    free(f);
                }
            /* a ConfigMap's content is its data (the pods' credential
             * configurations) */
            if (!strcmp(kind, "ConfigMap")) {
                char *f = fbk_xasprintf("%s.data", type);
                drift_of(json_object_get(body, "data"), json_object_get(live, "data"), f, drift);
                free(f);
            }
            drift_of(json_object_get(json_object_get(body, "metadata"), "labels"),
                     json_object_get(json_object_get(live, "metadata"), "labels"), type, drift);
        }
        json_decref(live);
    }
    if (st == FB_OK && !have_main) status = "missing";
    (void)main_found;
    free(want_versions);
    json_decref(want);
    json_decref(objs);
    if (st != FB_OK) {
        json_decref(drift);
        json_decref(live_all);
        return st;
    }
    *out = json_pack("{s:s,s:o,s:o}", "status", status, "drift", drift, "live", live_all);
    if (why) json_object_set_new(*out, "message", json_string(why));
    return FB_OK;
}

/* Waits until ref answers 404 (Foreground deletion keeps it until its
 * dependents are gone). */
static fb_status wait_gone(fb_driver_ctx *ctx, fb_diag *diag, const json_t *ref)
{
    waiter wt;
    wait_init(&wt, GONE_WAIT_MS);
    for (int64_t waited = 0;;) {
        json_t *live = NULL;
        fb_status st;
        int rc = get_obj(ctx, diag, ref, &live, &st);
        json_decref(live);
        if (rc < 0) return st;
        if (rc == 1) return FB_OK;
        if (wait_more(&wt, diag, &waited)) {
            char *what = ref_what("deletion of", ref);
            char *m = fbk_xasprintf("k8s: %s is not finished after %d s", what, GONE_WAIT_MS / 1000);
            k8s_host->diag_add(diag, FB_SEV_ERROR, m, "a finalizer holds it; run destroy again later", NULL);
            free(m);
            free(what);
            return FB_RETRYABLE;
        }
    }
}

/* Whether ns still holds a workload fedbroker manages (other than name). */
static fb_status ns_in_use(fb_driver_ctx *ctx, fb_diag *diag, const char *ns, const char *name, int *used)
{
    static const char *const kinds[][2] = {{"apps/v1", "Deployment"}, {"serving.knative.dev/v1", "Service"},
                                           {"v1", "ServiceAccount"}, {"batch/v1", "CronJob"}};
    *used = 0;
    for (size_t k = 0; k < 4 && !*used; k++) {
        char *path = k8s_path(kinds[k][0], kinds[k][1], ns, NULL);
        k8s_res r;
        fb_status st = k8s_call(ctx, diag, "list the namespace's workloads", "GET", path,
                                "labelSelector=" K8S_MANAGED_BY "%3D" K8S_FIELD_MANAGER, NULL, NULL,
                                FB_HTTP_READ_ONLY | FB_HTTP_IDEMPOTENT, &r);
        free(path);
        /* 404: the kind is not served (no Knative) or the namespace is gone */
        if (st == FB_OK && r.err != FB_OK && r.err != FB_NOTFOUND)
            st = k8s_fail(diag, "list the namespace's workloads", &r, NULL);
        if (st != FB_OK) {
            k8s_res_clear(&r);
            return st;
        }
        size_t i;
        json_t *it;
        json_array_foreach(json_object_get(r.body, "items"), i, it) {
            const char *n = json_string_value(json_object_get(json_object_get(it, "metadata"), "name"));
            const char *dt = json_string_value(json_object_get(json_object_get(it, "metadata"), "deletionTimestamp"));
            if (n && strcmp(n, name) && !dt) *used = 1;
        }
        k8s_res_clear(&r);
    }
    return FB_OK;
}

fb_status k8s_do_destroy(fb_driver_ctx *ctx, json_t *in, json_t **out, fb_diag *diag)
{
    int knative = 0;
    json_t *objs = dep_objects(ctx, in, &knative);
    json_t *deleted = json_array();
    fb_status st = FB_OK;
    const char *ns = NULL, *name = NULL;
    json_t *ns_ref = NULL;
    /* the workload's objects, newest first; the namespace and its policy
     * objects last, and only when no other workload of ours is in it */
    for (size_t n = json_array_size(objs); n-- > 0 && st == FB_OK;) {
        json_t *ref = json_array_get(objs, n);
        const char *kind = json_string_value(json_object_get(ref, "kind"));
        if (!strcmp(kind, "Namespace")) {
            ns_ref = ref;
            continue;
        }
        if (tenant_level(ref)) continue;
        if (!strcmp(kind, "ServiceAccount")) {
            ns = json_string_value(json_object_get(ref, "namespace"));
            name = json_string_value(json_object_get(ref, "name"));
        }
        char *path = ref_path(ref), *what = ref_what("delete", ref);
        k8s_res r;
        st = k8s_call(ctx, diag, what, "DELETE", path, "propagationPolicy=Foreground", NULL, NULL, FB_HTTP_IDEMPOTENT,
                      &r);
        if (st == FB_OK && r.err != FB_OK && r.err != FB_NOTFOUND) st = k8s_fail(diag, what, &r, NULL);
        if (st == FB_OK && !k8s_host->dry_run(diag) && r.err == FB_OK) st = wait_gone(ctx, diag, ref);
        if (st == FB_OK) {
            char type[96], id[256];
            type_id(ref, type, sizeof type, id, sizeof id);
            json_array_append_new(deleted, json_pack("{s:s,s:s}", "type", type, "id", id));
        }
        k8s_res_clear(&r);
        free(path);
        free(what);
    }
    if (st == FB_OK && ns && !ctx->namespace[0] && !k8s_host->dry_run(diag)) {
        int used = 0;
        st = ns_in_use(ctx, diag, ns, name, &used);
        json_t *own = ns_ref ? json_incref(ns_ref) : ref_of("v1", "Namespace", NULL, ns);
        if (st == FB_OK && !used) {
            char *path = ref_path(own), *what = ref_what("delete", own);
            k8s_res r;
            st = k8s_call(ctx, diag, what, "DELETE", path, NULL, NULL, NULL, FB_HTTP_IDEMPOTENT, &r);
            if (st == FB_OK && r.err != FB_OK && r.err != FB_NOTFOUND) st = k8s_fail(diag, what, &r, NULL);
            if (st == FB_OK && r.err == FB_OK) st = wait_gone(ctx, diag, own);
            if (st == FB_OK) json_array_append_new(deleted, json_pack("{s:s,s:s}", "type", "k8s:Namespace", "id", ns));
            k8s_res_clear(&r);
            free(path);
            free(what);
        }
        json_decref(own);
    }
    json_decref(objs);
    if (st != FB_OK) {
        json_decref(deleted);
        return st;
    }
    *out = json_pack("{s:o}", "deleted", deleted);
    return FB_OK;
}

/* One discover row. */
static json_t *found(const char *api, const char *kind, const json_t *item, const char *region, int in_our_ns)
{
    const json_t *md = json_object_get(item, "metadata");
    const json_t *labels = json_object_get(md, "labels");
    const char *mb = json_string_value(json_object_get(labels, K8S_MANAGED_BY));
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    const char *name = json_string_value(json_object_get(md, "name"));
    json_t *ref = ref_of(api, kind, ns, name ? name : "");
    char type[96], id[256];
    type_id(ref, type, sizeof type, id, sizeof id);
    int managed = mb && !strcmp(mb, K8S_FIELD_MANAGER);
    json_t *r = json_pack("{s:s,s:s,s:s,s:s,s:b,s:o}", "type", type, "id", id, "name", name ? name : "", "region",
                          region, "managed", managed, "ref", ref);
    const char *wl = json_string_value(json_object_get(labels, K8S_NAME_LABEL));
    const char *tenant = json_string_value(json_object_get(labels, K8S_TENANT_LABEL));
    if (managed && wl) json_object_set_new(r, "workload", json_string(wl));
    if (managed && tenant) json_object_set_new(r, "tenant", json_string(tenant));
    if (!managed && in_our_ns)
        json_object_set_new(r, "note", json_string("in a fedbroker namespace without the managed-by label"));
    return r;
}

/* An EndpointSlice condition, with the API's meaning of a missing one
 * ("ready" and "serving": nil is true; "terminating": nil is false). */
static int slice_cond(const json_t *conds, const char *name, int if_nil)
{
    const json_t *v = json_object_get(conds, name);
    return json_is_boolean(v) ? json_is_true(v) : if_nil;
}

/* The addresses a load balancer's controller wrote in status.loadBalancer
 * (a Service of type LoadBalancer, an Ingress): each ingress[] entry's ip,
 * else its hostname. borrowed strings, appended to the first n of out. */
static size_t lb_addresses(const json_t *obj, const char **out, size_t n)
{
    size_t i, k = 0;
    const json_t *in;
    json_array_foreach(json_object_get(json_object_get(json_object_get(obj, "status"), "loadBalancer"), "ingress"),
                       i, in) {
        const char *a = json_string_value(json_object_get(in, "ip"));
        if (!a || !*a) a = json_string_value(json_object_get(in, "hostname"));
        if (a && *a && k < n) out[k++] = a;
    }
    return k;
}

/* A managed Service of type LoadBalancer (the NAME-public Service apply
 * makes for public ports): one public row per address in its status x TCP
 * port, https when the port is 443 or named or appProtocol https
 * (instance ADDR:PORT, source k8s-loadbalancer). No health of its own: the
 * broker's probes judge a public row. Nothing before a controller has
 * given it an address. */
static void loadbalancer_endpoints(const json_t *svc, json_t *row)
{
    const json_t *spec = json_object_get(svc, "spec");
    const char *type = json_string_value(json_object_get(spec, "type"));
    const char *addrs[16];
    size_t na = type && !strcmp(type, "LoadBalancer") ? lb_addresses(svc, addrs, 16) : 0;
    json_t *eps = json_array();
    size_t i, j;
    const json_t *port;
    for (i = 0; i < na; i++) {
        json_array_foreach(json_object_get(spec, "ports"), j, port) {
            const char *proto = json_string_value(json_object_get(port, "protocol"));
            if (!json_is_integer(json_object_get(port, "port")) || (proto && strcmp(proto, "TCP"))) continue;
            json_int_t pn = json_integer_value(json_object_get(port, "port"));
            const char *app = json_string_value(json_object_get(port, "appProtocol"));
            const char *pname = json_string_value(json_object_get(port, "name"));
            int https = pn == 443 || (app && !strcmp(app, "https")) || (pname && !strcmp(pname, "https"));
            int v6 = strchr(addrs[i], ':') != NULL;
            char inst[300], url[320];
            snprintf(inst, sizeof inst, v6 ? "[%s]:%lld" : "%s:%lld", addrs[i], (long long)pn);
            snprintf(url, sizeof url, "%s://%s", https ? "https" : "http", inst);
            json_array_append_new(eps, json_pack("{s:s,s:s,s:s,s:b,s:s}", "url", url, "kind", "url", "instance",
                                                 inst, "private", 0, "source", "k8s-loadbalancer"));
        }
    }
    if (json_array_size(eps)) json_object_set_new(row, "endpoints", eps);
    else json_decref(eps);
}

/* Whether Ingress backend b (an IngressBackend) is Service name. */
static int backend_is(const json_t *b, const char *name)
{
    const char *n = json_string_value(json_object_get(json_object_get(b, "service"), "name"));
    return n && !strcmp(n, name);
}

/* Whether host is named by one of the Ingress's spec.tls entries (an entry
 * without hosts covers a rule without a host). */
static int tls_for(const json_t *ing, const char *host)
{
    size_t i, j;
    const json_t *t, *h;
    json_array_foreach(json_object_get(json_object_get(ing, "spec"), "tls"), i, t) {
        const json_t *hosts = json_object_get(t, "hosts");
        if (!json_array_size(hosts) && !host) return 1;
        json_array_foreach(hosts, j, h) if (host && json_string_value(h) && !strcmp(json_string_value(h), host)) return 1;
    }
    return 0;
}

static void ingress_url(json_t *eps, const char *host, const char *path, int https, const char *ing)
{
    if (!path || !*path) path = "/";
    char inst[512], url[600];
    snprintf(inst, sizeof inst, "%s%s%s", host, path[0] == '/' ? "" : "/", path);
    snprintf(url, sizeof url, "%s://%s", https ? "https" : "http", inst);
    size_t i;
    const json_t *e;
    json_array_foreach(eps, i, e) if (!strcmp(json_string_value(json_object_get(e, "url")), url)) return;
    char detail[300];
    snprintf(detail, sizeof detail, "Ingress %s", ing);
    json_array_append_new(eps, json_pack("{s:s,s:s,s:s,s:b,s:s,s:s}", "url", url, "kind", "url", "instance", inst,
                                         "private", 0, "detail", detail, "source", "k8s-ingress"));
}

/* The Ingresses (networking.k8s.io/v1) of Service svc's namespace that
 * route to it (the one apply makes with ingressClass, or the user's own):
 * one public row per rule host x path whose backend is the Service (https
 * when spec.tls names the host; a rule without a host, and the default
 * backend, answer on the load balancer's addresses), once the Ingress
 * controller has written an address in status.loadBalancer (instance
 * HOST/PATH, source k8s-ingress). Wildcard hosts are not URLs: skipped.
 * Appended to eps. A role that may not list Ingresses gets a warning. */
static fb_status ingress_endpoints(fb_driver_ctx *ctx, fb_diag *diag, const char *ns, const char *name, json_t *eps)
{
    char *path = k8s_path("networking.k8s.io/v1", "Ingress", ns, NULL);
    k8s_res res;
    fb_status st = k8s_call(ctx, diag, "discover (Ingresses)", "GET", path, NULL, NULL, NULL,
                            FB_HTTP_READ_ONLY | FB_HTTP_IDEMPOTENT, &res);
    free(path);
    if (st == FB_OK && res.err != FB_OK) {
        fbk_diag(k8s_host, diag, FB_SEV_WARNING, NULL,
                 "k8s: discover: cannot list the Ingresses of namespace %s (HTTP %ld): the URLs they give "
                 "Service %s are not reported\ngrant list on ingresses.networking.k8s.io in the tenant "
                 "namespaces to the broker's account",
                 ns, res.status, name);
        k8s_res_clear(&res);
        return FB_OK;
    }
    size_t i, j, k, a;
    const json_t *ing, *rule, *p;
    json_array_foreach(st == FB_OK ? json_object_get(res.body, "items") : NULL, i, ing) {
        const char *addrs[16];
        size_t na = lb_addresses(ing, addrs, 16);
        if (!na) continue; /* no controller has admitted it yet */
        const char *iname = json_string_value(json_object_get(json_object_get(ing, "metadata"), "name"));
        if (!iname) iname = "?";
        const json_t *spec = json_object_get(ing, "spec");
        json_array_foreach(json_object_get(spec, "rules"), j, rule) {
            const char *host = json_string_value(json_object_get(rule, "host"));
            if (host && host[0] == '*') continue;
            json_array_foreach(json_object_get(json_object_get(rule, "http"), "paths"), k, p) {
                if (!backend_is(json_object_get(p, "backend"), name)) continue;
                const char *pp = json_string_value(json_object_get(p, "path"));
                if (host) ingress_url(eps, host, pp, tls_for(ing, host), iname);
                else
                    for (a = 0; a < na; a++) ingress_url(eps, addrs[a], pp, tls_for(ing, NULL), iname);
            }
        }
        if (backend_is(json_object_get(spec, "defaultBackend"), name))
            for (a = 0; a < na; a++) ingress_url(eps, addrs[a], "/", tls_for(ing, NULL), iname);
    }
    k8s_res_clear(&res);
    return st;
}

/* The endpoints a managed Service reports in discover's output
 * (docs/driver-abi.md, "endpoints"): its cluster DNS name (as apply records
 * it), and each address x port of its EndpointSlices
 * (discovery.k8s.io/v1, label kubernetes.io/service-name), private
 * (in-cluster), with the slice's conditions as health: ready -> passing;
 * not ready but serving while terminating (draining) -> warning; else
 * critical; and the URLs the namespace's Ingresses give it
 * (ingress_endpoints). Set as row's "endpoints". */
static fb_status service_endpoints(fb_driver_ctx *ctx, fb_diag *diag, const json_t *svc, json_t *row)
{
    const json_t *md = json_object_get(svc, "metadata");
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    const char *name = json_string_value(json_object_get(md, "name"));
    if (!ns || !name) return FB_OK;
    json_t *eps = json_array();
    char dns[320];
    snprintf(dns, sizeof dns, "%s.%s.svc.cluster.local", name, ns);
    json_array_append_new(eps, json_pack("{s:s,s:s,s:b}", "url", dns, "kind", "service", "private", 1));
    char *path = k8s_path("discovery.k8s.io/v1", "EndpointSlice", ns, NULL);
    fbk_buf q;
    fbk_buf_init(&q);
    fbk_buf_puts(&q, "labelSelector=");
    char sel[300];
    snprintf(sel, sizeof sel, "kubernetes.io/service-name=%s", name);
    fbk_uri_encode(&q, sel, strlen(sel), 0);
    k8s_res res;
    fb_status st = k8s_call(ctx, diag, "discover (EndpointSlices)", "GET", path, q.data, NULL, NULL,
                            FB_HTTP_READ_ONLY | FB_HTTP_IDEMPOTENT, &res);
    free(path);
    fbk_buf_free(&q);
    if (st == FB_OK && res.err != FB_OK) {
        /* a role that may not list EndpointSlices (or a cluster without
         * discovery.k8s.io/v1) still discovers everything else: the pod
         * rows are missing, and said so */
        fbk_diag(k8s_host, diag, FB_SEV_WARNING, NULL,
                 "k8s: discover: cannot list the EndpointSlices of Service %s/%s (HTTP %ld): its pods' "
                 "endpoints are not reported\ngrant list on endpointslices.discovery.k8s.io in the tenant "
                 "namespaces to the broker's account",
                 ns, name, res.status);
        k8s_res_clear(&res);
        st = ingress_endpoints(ctx, diag, ns, name, eps);
        if (st == FB_OK) json_object_set_new(row, "endpoints", eps);
        else json_decref(eps);
        return st;
    }
    size_t i, j, k, a;
    const json_t *slice, *port, *ep, *addr;
    json_array_foreach(st == FB_OK ? json_object_get(res.body, "items") : NULL, i, slice) {
        const char *at = json_string_value(json_object_get(slice, "addressType"));
        int v6 = at && !strcmp(at, "IPv6");
        if (at && strcmp(at, "IPv4") && !v6) continue; /* FQDN slices name no address of ours */
        json_array_foreach(json_object_get(slice, "ports"), j, port) {
            const char *proto = json_string_value(json_object_get(port, "protocol"));
            if (!json_is_integer(json_object_get(port, "port")) || (proto && strcmp(proto, "TCP")))
                continue; /* a URL needs a TCP port */
            json_int_t pn = json_integer_value(json_object_get(port, "port"));
            const char *app = json_string_value(json_object_get(port, "appProtocol"));
            const char *pname = json_string_value(json_object_get(port, "name"));
            const char *scheme = (app && !strcmp(app, "https")) || (pname && !strcmp(pname, "https"))
                                     ? "https" : "http";
            json_array_foreach(json_object_get(slice, "endpoints"), k, ep) {
                const json_t *conds = json_object_get(ep, "conditions");
                int ready = slice_cond(conds, "ready", 1), serving = slice_cond(conds, "serving", 1),
                    term = slice_cond(conds, "terminating", 0);
                const char *health = ready ? "passing" : serving && term ? "warning" : "critical";
                const char *sname =
                    json_string_value(json_object_get(json_object_get(slice, "metadata"), "name"));
                char *detail = fbk_xasprintf("EndpointSlice %s: ready=%s serving=%s terminating=%s",
                                             sname ? sname : "?",
                                             ready ? "true" : "false", serving ? "true" : "false",
                                             term ? "true" : "false");
                json_array_foreach(json_object_get(ep, "addresses"), a, addr) {
                    const char *ip = json_string_value(addr);
                    if (!ip || !*ip) continue;
                    char inst[96], url[128];
                    snprintf(inst, sizeof inst, v6 ? "[%s]:%lld" : "%s:%lld", ip, (long long)pn);
                    snprintf(url, sizeof url, "%s://%s", scheme, inst);
                    json_array_append_new(eps, json_pack("{s:s,s:s,s:s,s:b,s:s,s:s,s:s}", "url", url, "kind", "url",
                                                         "instance", inst, "private", 1, "health", health,
                                                         "detail", detail, "source", "k8s-endpointslice"));
                }
                free(detail);
            }
        }
    }
    k8s_res_clear(&res);
    if (st == FB_OK) st = ingress_endpoints(ctx, diag, ns, name, eps);
    if (st == FB_OK) json_object_set_new(row, "endpoints", eps);
    else json_decref(eps);
    return st;
}

/* A Knative Service's endpoint: its status.url, public, with its Ready
 * condition as health. */
static void knative_endpoints(const json_t *ksvc, json_t *row)
{
    const json_t *status = json_object_get(ksvc, "status");
    const char *url = json_string_value(json_object_get(status, "url"));
    if (!url || !*url) return;
    const char *health = "unknown", *why = NULL;
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(status, "conditions"), i, c) {
        const char *type = json_string_value(json_object_get(c, "type"));
        if (!type || strcmp(type, "Ready")) continue;
        const char *v = json_string_value(json_object_get(c, "status"));
        health = v && !strcmp(v, "True") ? "passing" : v && !strcmp(v, "False") ? "critical" : "unknown";
        why = json_string_value(json_object_get(c, "message"));
    }
    json_t *e = json_pack("{s:s,s:s,s:s}", "url", url, "kind", "url", "health", health);
    char *detail = fbk_xasprintf("Knative Ready=%s%s%s", health, why ? ": " : "", why ? why : "");
    json_object_set_new(e, "detail", json_string(detail));
    free(detail);
    json_object_set_new(row, "endpoints", json_pack("[o]", e));
}

fb_status k8s_do_discover(fb_driver_ctx *ctx, json_t *in, json_t **out, fb_diag *diag)
{
    json_t *regions = json_object_get(in, "regions");
    int ours = !json_array_size(regions);
    size_t i;
    json_t *r;
    json_array_foreach(regions, i, r) ours |= json_string_value(r) && !strcmp(json_string_value(r), ctx->region);
    json_t *resources = json_array();
    if (!ours) {
        *out = json_pack("{s:o}", "resources", resources);
        return FB_OK;
    }
    fb_status st = k8s_discover_apis(ctx, diag);
    /* our namespaces, then every kind we make, by label across the
     * cluster; workloads in our namespaces without the label are listed
     * as unmanaged */
    static const char *const kinds[][2] = {
        {"v1", "Namespace"},          {"v1", "ServiceAccount"},        {"apps/v1", "Deployment"},
        {"v1", "Service"},            {"autoscaling/v2", "HorizontalPodAutoscaler"},
        {"networking.k8s.io/v1", "Ingress"}, {"serving.knative.dev/v1", "Service"},
        {"v1", "ResourceQuota"},      {"v1", "LimitRange"},            {"networking.k8s.io/v1", "NetworkPolicy"},
        {"batch/v1", "CronJob"},      {"rbac.authorization.k8s.io/v1", "Role"},
        {"rbac.authorization.k8s.io/v1", "RoleBinding"}, {"v1", "ConfigMap"}};
    json_t *our_ns = json_object();
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds && st == FB_OK; k++) {
        if (!strcmp(kinds[k][0], "serving.knative.dev/v1") && !ctx->has_knative) continue;
        int workload_kind = !strcmp(kinds[k][1], "Deployment") || !strcmp(kinds[k][1], "CronJob") ||
                            !strcmp(kinds[k][0], "serving.knative.dev/v1");
        char *path = k8s_path(kinds[k][0], kinds[k][1], NULL, NULL);
        k8s_res res;
        st = k8s_call(ctx, diag, "discover", "GET", path,
                      workload_kind ? NULL : "labelSelector=" K8S_MANAGED_BY "%3D" K8S_FIELD_MANAGER, NULL, NULL,
                      FB_HTTP_READ_ONLY | FB_HTTP_IDEMPOTENT, &res);
        free(path);
        if (st == FB_OK && res.err == FB_AUTH && !strcmp(kinds[k][0], "rbac.authorization.k8s.io/v1")) {
            /* an account that may not list Roles (it needs that only for
             * capacity schedules) still discovers everything else */
            fbk_diag(k8s_host, diag, FB_SEV_WARNING, NULL,
                     "k8s: discover: cannot list %ss (HTTP %ld): capacity schedules' %ss are not reported\n"
                     "grant list on %ss.rbac.authorization.k8s.io to the broker's account",
                     kinds[k][1], res.status, kinds[k][1], kinds[k][1][4] ? "rolebinding" : "role");
            k8s_res_clear(&res);
            continue;
        }
        if (st == FB_OK && res.err == FB_AUTH && !strcmp(kinds[k][1], "ConfigMap")) {
            /* as for Roles: only the pods' cloud credentials are in them */
            fbk_diag(k8s_host, diag, FB_SEV_WARNING, NULL,
                     "k8s: discover: cannot list ConfigMaps (HTTP %ld): the pods' cloud credential "
                     "configurations (NAME-fb-cloud) are not reported\ngrant list on configmaps to the broker's "
                     "account", res.status);
            k8s_res_clear(&res);
            continue;
        }
        if (st == FB_OK && res.err != FB_OK) st = k8s_fail(diag, "discover", &res, NULL);
        size_t j;
        json_t *it;
        json_array_foreach(json_object_get(res.body, "items"), j, it) {
            if (st != FB_OK) break;
            const json_t *md = json_object_get(it, "metadata");
            const char *ns = json_string_value(json_object_get(md, "namespace"));
            const char *mb = json_string_value(json_object_get(json_object_get(md, "labels"), K8S_MANAGED_BY));
            int managed = mb && !strcmp(mb, K8S_FIELD_MANAGER);
            if (k == 0) {
                json_object_set_new(our_ns, json_string_value(json_object_get(md, "name")), json_true());
                json_array_append_new(resources, found(kinds[k][0], kinds[k][1], it, ctx->region, 1));
                continue;
            }
            int in_ours = ns && json_object_get(our_ns, ns);
            if (!managed && !in_ours) continue; /* someone else's, elsewhere */
            json_t *row = found(kinds[k][0], kinds[k][1], it, ctx->region, in_ours);
            /* where a managed workload answers (its Service, pods, Knative URL) */
            if (managed && json_object_get(row, "workload") && json_object_get(row, "tenant")) {
                /* the workload's own Service (named as the workload; the
                 * NAME-public LoadBalancer selects the same pods) */
                if (!strcmp(kinds[k][0], "v1") && !strcmp(kinds[k][1], "Service") &&
                    !strcmp(json_string_value(json_object_get(row, "name")),
                            json_string_value(json_object_get(row, "workload"))))
                    st = service_endpoints(ctx, diag, it, row);
                else if (!strcmp(kinds[k][0], "v1") && !strcmp(kinds[k][1], "Service"))
                    loadbalancer_endpoints(it, row);
                else if (!strcmp(kinds[k][0], "serving.knative.dev/v1"))
                    knative_endpoints(it, row);
            }
            json_array_append_new(resources, row);
        }
        k8s_res_clear(&res);
    }
    json_decref(our_ns);
    if (st != FB_OK) {
        json_decref(resources);
        return st;
    }
    *out = json_pack("{s:o}", "resources", resources);
    return FB_OK;
}
