/* gcp_identity.c - a workload's identity on Google Cloud (docs/identity.md).
 * The broker is an OIDC issuer, so the project gets a workload identity pool
 * (POOL_ID) with an OIDC provider for the issuer (google.subject =
 * assertion.sub; shared by every workload, so not recorded with any one of
 * them and left by destroy, as the AWS OIDC provider is), and each workload
 * its own service account, which only the principal
 *   principal://iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/POOL/subject/<SPIFFE ID>
 * may impersonate (roles/iam.workloadIdentityUser on the account). Cloud Run
 * services run as that account. Least privilege from the federation graph:
 * for each caller A of this workload B, roles/run.invoker on B for A's
 * account when A is on Google Cloud; for a caller elsewhere, for an account
 * fbc-... made for A to call B, which only A's federated principal may
 * impersonate (Cloud Run takes Google-signed ID tokens, which a federated
 * principal gets through generateIdToken on such an account). Nothing
 * else. The accounts and every binding are recorded (gcp-service-account,
 * gcp-iam-binding) and removed by destroy. */
#include "config.h"
#include "gcp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POOL_ID FBK_GCP_POOL_ID
#define INVOKER "roles/run.invoker"
#define WI_USER "roles/iam.workloadIdentityUser"
#define SA_TYPE "gcp-service-account"
#define BINDING_TYPE "gcp-iam-binding"
#define SA_ID_MAX 30
/* What a capacity schedule's Cloud Scheduler jobs need on the one Cloud
 * Run service they patch: run.services.update (and get). The narrowest
 * predefined role that holds it, granted on the service, not the project. */
#define SCALER_ROLE "roles/run.developer"

static fb_status delete_account(fb_driver_ctx *ctx, fb_diag *diag, const char *name);

/* The service account id of tenant/name (new): fb-TENANT-NAME when it fits
 * IAM's 6..30 characters, else cut with 8 hex digits of a hash so two
 * workloads never share one. Spec names are [a-z][-a-z0-9]*, so the id is
 * always [a-z][-a-z0-9]*[a-z0-9]. */
static char *sa_id_of(const char *prefix, const char *tenant, const char *name)
{
    char *full = fbk_xasprintf("%s-%s-%s", prefix, tenant, name);
    if (strlen(full) <= SA_ID_MAX) return full;
    char *key = fbk_xasprintf("%s/%s", tenant, name);
    char hex[65];
    fbk_sha256_hex(key, strlen(key), hex);
    free(key);
    full[SA_ID_MAX - 9] = '\0';
    char *out = fbk_xasprintf("%s-%.8s", full, hex);
    free(full);
    return out;
}

static char *sa_id(const char *tenant, const char *name)
{
    return sa_id_of("fb", tenant, name);
}

char *gcp_identity_sa_email(fb_driver_ctx *ctx, const char *tenant, const char *name)
{
    char *id = sa_id(tenant, name);
    char *email = fbk_xasprintf("%s@%s.iam.gserviceaccount.com", id, ctx->project);
    free(id);
    return email;
}

/* The description that marks an account as this workload's (accounts have
 * no labels). new. */
static char *sa_description(const char *tenant, const char *name)
{
    return fbk_xasprintf("fedbroker: the identity of workload %s/%s (docs/identity.md)", tenant, name);
}

/* The provider id for an issuer (new): "fb-" and 12 hex digits of its
 * hash, so a changed issuer gets its own provider. */
static char *provider_id(const char *issuer)
{
    return fbk_issuer_provider_id(issuer);
}

/* Sends a create and waits for its operation (IAM pools and providers).
 * *exists set when Google answers ALREADY_EXISTS. */
static fb_status create_lro(fb_driver_ctx *ctx, fb_diag *diag, const char *what, const char *path,
                            const char *query, const json_t *body, int *exists)
{
    *exists = 0;
    gcp_req rq = {GCP_API_IAM, what, "POST", path, query, body, FB_HTTP_TOKEN_GUARDED};
    gcp_res res;
    fb_status st = gcp_call(ctx, diag, &rq, &res);
    if (st == FB_OK && res.err == FB_OK) st = gcp_wait(ctx, diag, GCP_API_IAM, what, res.body, NULL);
    else if (st == FB_OK && res.code && !strcmp(res.code, "ALREADY_EXISTS")) *exists = 1;
    else if (st == FB_OK) st = gcp_fail(diag, &rq, &res, NULL);
    gcp_res_clear(&res);
    return st;
}

/* The pool and the issuer's provider, made when missing. *pool (new) is the
 * pool's name with the project number ("projects/N/locations/global/
 * workloadIdentityPools/fedbroker"), as principals name it; in a dry run,
 * where nothing is read, the project id stands in for the number. */
static fb_status ensure_pool(fb_driver_ctx *ctx, fb_diag *diag, const char *issuer, const char *what,
                             char **pool, char **provider)
{
    *pool = *provider = NULL;
    int dry = gcp_host->dry_run(diag);
    char *parent = fbk_xasprintf("projects/%s/locations/global", ctx->project);
    char *pname = fbk_xasprintf("%s/workloadIdentityPools/%s", parent, POOL_ID);
    char *prov_id = provider_id(issuer);
    json_t *live = NULL;
    int found = 0, exists = 0;
    fb_status st = FB_OK;
    if (!dry) st = gcp_get(ctx, diag, GCP_API_IAM, "workloadIdentityPools.get", pname, &live, &found);
    if (st == FB_OK && found && strcmp(json_string_value(json_object_get(live, "state")) ?
                                       json_string_value(json_object_get(live, "state")) : "", "ACTIVE")) {
        fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL,
                 "gcp: the workload identity pool %s is deleted (kept 30 days)\nundelete it "
                 "(gcloud iam workload-identity-pools undelete %s --location global) and apply again",
                 pname, POOL_ID);
        st = FB_CONFLICT;
    }
    if (st == FB_OK && !found) {
        char *p = fbk_xasprintf("v1/%s/workloadIdentityPools", parent);
        json_t *body = json_pack("{s:s,s:s}", "displayName", "fedbroker workloads", "description",
                                 "fedbroker: workloads identified by the broker's issuer (docs/identity.md)");
        st = create_lro(ctx, diag, "workloadIdentityPools.create", p, "workloadIdentityPoolId=" POOL_ID, body,
                        &exists);
        json_decref(body);
        free(p);
        json_decref(live);
        live = NULL;
        if (st == FB_OK && !dry)
            st = gcp_get(ctx, diag, GCP_API_IAM, "workloadIdentityPools.get", pname, &live, &found);
    }
    if (st == FB_OK) {
        const char *n = json_string_value(json_object_get(live, "name"));
        *pool = fbk_xstrdup(n ? n : pname);
    }
    json_decref(live);
    live = NULL;
    char *prname = st == FB_OK ? fbk_xasprintf("%s/providers/%s", pname, prov_id) : NULL;
    found = 0;
    if (st == FB_OK && !dry)
        st = gcp_get(ctx, diag, GCP_API_IAM, "providers.get", prname, &live, &found);
    if (st == FB_OK && found) {
        const char *iu = json_string_value(json_object_get(json_object_get(live, "oidc"), "issuerUri"));
        const char *state = json_string_value(json_object_get(live, "state"));
        if (!iu || strcmp(iu, issuer) || !state || strcmp(state, "ACTIVE")) {
            fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL,
                     "gcp: the workload identity provider %s is %s\nundelete it or delete it for good, "
                     "then apply again", prname,
                     state && strcmp(state, "ACTIVE") ? "deleted" : "not for this issuer");
            st = FB_CONFLICT;
        }
    }
    if (st == FB_OK && !found) {
        char *p = fbk_xasprintf("v1/%s/providers", pname);
        char *q = fbk_xasprintf("workloadIdentityPoolProviderId=%s", prov_id);
        /* no allowedAudiences: a token's aud must then be the provider's
         * own resource name, so a token made for AWS STS is refused here */
        char *desc = fbk_xasprintf("fedbroker: %s (docs/identity.md)", what);
        json_t *body = json_pack("{s:s,s:s,s:{s:s},s:{s:s}}", "displayName", "fedbroker issuer", "description",
                                 desc, "attributeMapping", "google.subject", "assertion.sub", "oidc", "issuerUri",
                                 issuer);
        free(desc);
        st = create_lro(ctx, diag, "providers.create", p, q, body, &exists);
        json_decref(body);
        free(p);
        free(q);
    }
    if (st == FB_OK) {
        /* the audience names the pool by project number, as the pool's name does */
        *provider = fbk_xasprintf("%s/providers/%s", *pool, prov_id);
    } else {
        free(*pool);
        *pool = NULL;
    }
    json_decref(live);
    free(prname);
    free(prov_id);
    free(pname);
    free(parent);
    return st;
}

/* The service account id@project (email), made when missing (not in a dry
 * run: there the create is shown) with description desc and display name
 * display. *created says whether this call made it. An account of that id
 * with another description (not fedbroker's, or not for this purpose) is
 * refused. */
static fb_status ensure_account(fb_driver_ctx *ctx, fb_diag *diag, const char *id, const char *desc,
                                const char *display_in, const char *email, int *created)
{
    *created = 0;
    char *sname = fbk_xasprintf("projects/%s/serviceAccounts/%s", ctx->project, email);
    json_t *live = NULL;
    int found = 0;
    fb_status st = FB_OK;
    if (!gcp_host->dry_run(diag))
        st = gcp_get(ctx, diag, GCP_API_IAM, "serviceAccounts.get", sname, &live, &found);
    if (st == FB_OK && !found) {
        char *display = fbk_xstrdup(display_in);
        if (strlen(display) > 100) display[100] = '\0';
        json_t *body = json_pack("{s:s,s:{s:s,s:s}}", "accountId", id, "serviceAccount", "displayName", display,
                                 "description", desc);
        char *p = fbk_xasprintf("v1/projects/%s/serviceAccounts", ctx->project);
        gcp_req rq = {GCP_API_IAM, "serviceAccounts.create", "POST", p, NULL, body, FB_HTTP_TOKEN_GUARDED};
        gcp_res res;
        st = gcp_call(ctx, diag, &rq, &res);
        if (st == FB_OK && res.err == FB_OK) {
            *created = 1;
        } else if (st == FB_OK && res.code && !strcmp(res.code, "ALREADY_EXISTS")) {
            st = gcp_get(ctx, diag, GCP_API_IAM, "serviceAccounts.get", sname, &live, &found);
        } else if (st == FB_OK) {
            st = gcp_fail(diag, &rq, &res, NULL);
        }
        gcp_res_clear(&res);
        free(p);
        json_decref(body);
        free(display);
    }
    if (st == FB_OK && found) {
        const char *d = json_string_value(json_object_get(live, "description"));
        if (!d || strcmp(d, desc) != 0) {
            fbk_diag(gcp_host, diag, FB_SEV_ERROR, NULL,
                     "gcp: a service account %s exists and is not the one fedbroker makes here (%s): its "
                     "description differs\nrename the workload or tenant, or delete the account yourself",
                     email, desc);
            st = FB_CONFLICT;
        }
    }
    json_decref(live);
    free(sname);
    return st;
}

/* The workload tenant/name's own account, as ensure_account makes it. */
static fb_status ensure_sa(fb_driver_ctx *ctx, fb_diag *diag, const char *tenant, const char *name,
                           const char *email, int *created)
{
    char *id = sa_id(tenant, name), *desc = sa_description(tenant, name);
    char *display = fbk_xasprintf("fedbroker %s/%s", tenant, name);
    fb_status st = ensure_account(ctx, diag, id, desc, display, email, created);
    free(display);
    free(desc);
    free(id);
    return st;
}

/* The account id a caller tenant/caller outside Google Cloud impersonates
 * to call tenant/callee (new): "fbc-", the names cut to fit, and 8 hex of
 * a hash of all three, so it is unambiguous and at most 30 characters. */
static char *caller_sa_id(const char *tenant, const char *caller, const char *callee)
{
    return fbk_caller_binding_id(tenant, caller, callee, 17, 1);
}

/* Grants role on the resource at path (wire path) to member and records
 * the binding under the name who (the workload it is for: the caller of
 * a run.invoker grant); appends it to resources. */
static fb_status bind(fb_driver_ctx *ctx, fb_diag *diag, const json_t *prev, const char *path, const char *role,
                      const char *member, const char *region, const char *who, json_t *resources)
{
    gcp_api api = !strncmp(path, "v2/", 3) ? GCP_API_RUN : GCP_API_IAM;
    fb_status st = gcp_iam_member(ctx, diag, api, path, role, member, 1, NULL);
    char *id = fbk_xasprintf("%s|%s|%s", path, role, member);
    if (st == FB_OK) st = gcp_record(diag, prev, BINDING_TYPE, id, region, who);
    if (st == FB_OK && !gcp_host->dry_run(diag))
        json_array_append_new(resources, json_pack("{s:s,s:s,s:s?,s:s}", "type", BINDING_TYPE, "id", id, "region",
                                                   region, "name", who));
    free(id);
    return st;
}

fb_status gcp_identity_bind(fb_driver_ctx *ctx, const json_t *in, const fbk_wl *wl, const char *region,
                            gcp_identity *out, json_t *resources, fb_diag *diag)
{
    memset(out, 0, sizeof *out);
    const json_t *ident = json_object_get(in, "identity"), *prev = json_object_get(in, "deployment");
    const char *issuer = json_string_value(json_object_get(ident, "issuer"));
    const char *sub = json_string_value(json_object_get(ident, "spiffeId"));
    if (!issuer || !sub) return FB_OK;
    fb_status st = ensure_pool(ctx, diag, issuer, "the broker's OIDC issuer", &out->pool, &out->provider);
    if (st != FB_OK) return st;
    out->email = gcp_identity_sa_email(ctx, wl->tenant, wl->name);
    out->external = gcp_identity_external_callers(in);
    out->principal = fbk_xasprintf("principal://iam.googleapis.com/%s/subject/%s", out->pool, sub);
    json_t *env = json_object();
    fbk_identity_env(ident, GCP_DRV, env); /* with identity.tokenUrl: gcp_attest.c checks its proof */
    if (json_object_size(env)) out->env = env;
    else json_decref(env);
    int created = 0;
    st = ensure_sa(ctx, diag, wl->tenant, wl->name, out->email, &created);
    char *sname = fbk_xasprintf("projects/%s/serviceAccounts/%s", ctx->project, out->email);
    if (st == FB_OK) {
        st = gcp_record(diag, prev, SA_TYPE, sname, NULL, out->email);
        if (!gcp_host->dry_run(diag))
            json_array_append_new(resources, json_pack("{s:s,s:s,s:s}", "type", SA_TYPE, "id", sname, "name",
                                                       out->email));
    }
    /* only the workload's own federated principal may act as the account */
    char *sp = fbk_xasprintf("v1/%s", sname);
    if (st == FB_OK) st = bind(ctx, diag, prev, sp, WI_USER, out->principal, NULL, wl->name, resources);
    free(sp);
    free(sname);
    if (st != FB_OK) gcp_identity_clear(out);
    return st;
}

fb_status gcp_identity_invokers(fb_driver_ctx *ctx, const json_t *in, const gcp_identity *id,
                                const char *service, const char *region, json_t *resources, fb_diag *diag)
{
    if (!id->pool) return FB_OK;
    const json_t *callers = json_object_get(json_object_get(in, "identity"), "callers");
    const json_t *prev = json_object_get(in, "deployment");
    const json_t *md = json_object_get(json_object_get(in, "workload"), "metadata");
    const char *tenant = json_string_value(json_object_get(md, "tenant"));
    const char *callee = json_string_value(json_object_get(md, "name"));
    char *path = fbk_xasprintf("v2/%s", service);
    fb_status st = FB_OK;
    size_t i;
    const json_t *c;
    json_array_foreach(callers, i, c) {
        if (st != FB_OK) break;
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *prov = json_string_value(json_object_get(c, "provider"));
        const char *csub = json_string_value(json_object_get(c, "spiffeId"));
        if (!name || !prov) continue;
        char *member = NULL;
        if (!strcmp(prov, GCP_DRV)) {
            /* a caller on Google Cloud calls as its own account: made here
             * when B comes first (its apply adopts it), not recorded here */
            char *email = gcp_identity_sa_email(ctx, tenant ? tenant : "default", name);
            int created = 0;
            st = ensure_sa(ctx, diag, tenant ? tenant : "default", name, email, &created);
            member = fbk_xasprintf("serviceAccount:%s", email);
            free(email);
        } else if (csub) {
            /* a caller elsewhere exchanges its broker-issued token at
             * Google's STS, then, as its federated principal, asks for an
             * ID token of an account made for calling this workload (Cloud
             * Run takes ID tokens): that account only, recorded with B */
            char *aid = caller_sa_id(tenant ? tenant : "default", name, callee ? callee : "");
            char *email = fbk_xasprintf("%s@%s.iam.gserviceaccount.com", aid, ctx->project);
            char *desc = fbk_xasprintf("fedbroker: what %s/%s impersonates to call %s/%s (docs/identity.md)",
                                       tenant ? tenant : "default", name, tenant ? tenant : "default",
                                       callee ? callee : "");
            char *display = fbk_xasprintf("fedbroker caller %s of %s", name, callee ? callee : "");
            int created = 0;
            st = ensure_account(ctx, diag, aid, desc, display, email, &created);
            char *sname = fbk_xasprintf("projects/%s/serviceAccounts/%s", ctx->project, email);
            if (st == FB_OK) {
                /* recorded under the caller's name: see the removal below */
                st = gcp_record(diag, prev, SA_TYPE, sname, NULL, name);
                if (!gcp_host->dry_run(diag))
                    json_array_append_new(resources, json_pack("{s:s,s:s,s:s}", "type", SA_TYPE, "id", sname, "name",
                                                               name));
            }
            char *principal = fbk_xasprintf("principal://iam.googleapis.com/%s/subject/%s", id->pool, csub);
            char *sp = fbk_xasprintf("v1/%s", sname);
            if (st == FB_OK) st = bind(ctx, diag, prev, sp, WI_USER, principal, NULL, name, resources);
            /* a caller whose platform issues it tokens (a Kubernetes
             * cluster's service-account issuer, callers[].workloadIssuer):
             * a provider of the pool for that issuer, and the same account
             * may be impersonated by exactly that subject's principal. The
             * broker's tokens name SPIFFE IDs only, so its provider never
             * yields a system:serviceaccount:... subject */
            const json_t *wi = json_object_get(c, "workloadIssuer");
            const char *kiss = json_string_value(json_object_get(wi, "issuer"));
            const char *ksub = json_string_value(json_object_get(wi, "subject"));
            if (st == FB_OK && kiss && ksub) {
                char *kpool = NULL, *kprov = NULL;
                st = ensure_pool(ctx, diag, kiss, "a Kubernetes cluster's service-account issuer", &kpool, &kprov);
                char *kp = st == FB_OK ? fbk_xasprintf("principal://iam.googleapis.com/%s/subject/%s", kpool, ksub)
                                       : NULL;
                if (st == FB_OK) st = bind(ctx, diag, prev, sp, WI_USER, kp, NULL, name, resources);
                free(kp);
                free(kpool);
                free(kprov);
            }
            member = fbk_xasprintf("serviceAccount:%s", email);
            free(sp);
            free(principal);
            free(sname);
            free(display);
            free(desc);
            free(email);
            free(aid);
        }
        if (st == FB_OK && member) {
            st = bind(ctx, diag, prev, path, INVOKER, member, region, name, resources);
        }
        free(member);
    }
    /* what the previous apply recorded and this one did not: a grant or a
     * caller account of a workload this apply did not consider stays (its
     * record carried on); of one that no longer calls, the run.invoker
     * grant is removed and the fbc- account deleted (its own policy goes
     * with it) */
    const json_t *ident = json_object_get(in, "identity");
    const json_t *r;
    json_array_foreach(json_object_get(prev, "resources"), i, r) {
        const char *t = json_string_value(json_object_get(r, "type"));
        const char *rid = json_string_value(json_object_get(r, "id"));
        const char *who = json_string_value(json_object_get(r, "name"));
        if (st != FB_OK) break;
        if (!t || !rid || (strcmp(t, BINDING_TYPE) && strcmp(t, SA_TYPE))) continue;
        int again = 0;
        size_t k;
        const json_t *o;
        json_array_foreach(resources, k, o) again |= !strcmp(json_string_value(json_object_get(o, "id")), rid);
        if (again) continue;
        int on_service = !strcmp(t, BINDING_TYPE) && !strncmp(rid, path, strlen(path)) && rid[strlen(path)] == '|';
        const char *acct = !strcmp(t, SA_TYPE) ? strstr(rid, "/serviceAccounts/") : NULL;
        int caller_acct = acct && !strncmp(acct + 17, "fbc-", 4);
        int caller_acct_binding = !strcmp(t, BINDING_TYPE) && strstr(rid, "/serviceAccounts/fbc-");
        if (!on_service && !caller_acct && !caller_acct_binding) continue;
        if (!fbk_identity_considers(ident, who)) {
            if (!gcp_host->dry_run(diag)) json_array_append(resources, (json_t *)r);
            continue;
        }
        if (on_service) {
            st = gcp_iam_member(ctx, diag, GCP_API_RUN, path, INVOKER, strrchr(rid, '|') + 1, 0, NULL);
        } else if (caller_acct) {
            st = delete_account(ctx, diag, rid);
        } else if (caller_acct_binding && strchr(rid, '|')) {
            /* a principal the kept account no longer names (the cluster's
             * issuer no longer trusted): removed; on an account deleted
             * with its caller, nothing to do */
            const char *bar = strchr(rid, '|');
            char *acct_path = fbk_xstrndup(rid, (size_t)(bar - rid));
            int kept = 0;
            json_array_foreach(resources, k, o) {
                const char *oid = json_string_value(json_object_get(o, "id"));
                kept |= oid && !strcmp(oid, acct_path + 3); /* without "v1/" */
            }
            if (kept) st = gcp_iam_member(ctx, diag, GCP_API_IAM, acct_path, WI_USER, strrchr(rid, '|') + 1, 0, NULL);
            free(acct_path);
        }
    }
    free(path);
    return st;
}

int gcp_identity_external_callers(const json_t *in)
{
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(json_object_get(in, "identity"), "callers"), i, c) {
        const char *p = json_string_value(json_object_get(c, "provider"));
        if (p && strcmp(p, GCP_DRV) != 0) return 1;
    }
    return 0;
}

json_t *gcp_identity_state(const gcp_identity *id)
{
    if (!id->pool) return NULL;
    return json_pack("{s:s,s:s,s:s,s:s,s:b,s:O?}", "serviceAccount", id->email, "principal", id->principal, "pool",
                     id->pool, "audience", id->provider ? id->provider : "", "externalCallers", id->external,
                     "env", id->env);
}

const char *gcp_identity_sa_of(const json_t *dep)
{
    return json_string_value(json_object_get(json_object_get(json_object_get(dep, "state"), "identity"),
                                             "serviceAccount"));
}

void gcp_identity_body(json_t *body, const gcp_identity *id, const json_t *dep_state)
{
    const json_t *is = json_object_get(dep_state, "identity");
    const char *email = id ? id->email : json_string_value(json_object_get(is, "serviceAccount"));
    int external = id ? id->external : json_is_true(json_object_get(is, "externalCallers"));
    const json_t *env = id ? id->env : json_object_get(is, "env");
    if (!email) return;
    const char *k;
    const json_t *v;
    json_t *sc = json_object_get(body, "serviceConfig");
    if (sc) { /* a Cloud Function */
        json_object_set_new(sc, "serviceAccountEmail", json_string(email));
        if (external) json_object_set_new(sc, "ingressSettings", json_string("ALLOW_ALL"));
        json_t *ev = json_object_get(sc, "environmentVariables");
        if (json_object_size(env) && !ev) json_object_set_new(sc, "environmentVariables", ev = json_object());
        json_object_foreach((json_t *)env, k, v)
            if (!json_object_get(ev, k)) json_object_set(ev, k, (json_t *)v);
        return;
    }
    json_t *tpl = json_object_get(body, "template");
    json_object_set_new(tpl, "serviceAccount", json_string(email));
    if (external) json_object_set_new(body, "ingress", json_string("INGRESS_TRAFFIC_ALL"));
    /* appended after the spec's variables and secrets, sorted by name, so
     * apply's and observe's (read back from the state) are in one order:
     * drift compares the array element by element */
    json_t *c0 = json_array_get(json_object_get(tpl, "containers"), 0);
    json_t *ea = json_object_get(c0, "env");
    size_t m = 0;
    const char **keys = env ? fbk_sorted_keys((json_t *)env, &m) : NULL;
    for (size_t j = 0; c0 && j < m; j++) {
        int set = 0;
        size_t i;
        const json_t *e;
        json_array_foreach(ea, i, e) {
            const char *en = json_string_value(json_object_get(e, "name"));
            set |= en && !strcmp(en, keys[j]);
        }
        if (set) continue;
        if (!ea) json_object_set_new(c0, "env", ea = json_array());
        json_array_append_new(ea, json_pack("{s:s,s:O}", "name", keys[j], "value", json_object_get(env, keys[j])));
    }
    free(keys);
}

void gcp_identity_clear(gcp_identity *id)
{
    free(id->pool);
    free(id->provider);
    free(id->email);
    free(id->principal);
    json_decref(id->env);
    memset(id, 0, sizeof *id);
}

/* Deletes the account named (projects/P/serviceAccounts/EMAIL); gone is fine. */
static fb_status delete_account(fb_driver_ctx *ctx, fb_diag *diag, const char *name)
{
    char *p = fbk_xasprintf("v1/%s", name);
    gcp_req rq = {GCP_API_IAM, "serviceAccounts.delete", "DELETE", p, NULL, NULL, FB_HTTP_IDEMPOTENT};
    gcp_res res;
    fb_status st = gcp_call(ctx, diag, &rq, &res);
    if (st == FB_OK && res.err != FB_OK && res.err != FB_NOTFOUND) st = gcp_fail(diag, &rq, &res, NULL);
    gcp_res_clear(&res);
    free(p);
    return st;
}

fb_status gcp_identity_destroy(fb_driver_ctx *ctx, const json_t *dep, json_t *deleted, fb_diag *diag)
{
    fb_status st = FB_OK;
    size_t i;
    const json_t *r;
    /* Every binding this deployment recorded is on its own service (run
     * invoker) or its own account (workload identity user): each goes
     * with its resource. The service is gone already (the caller deletes
     * it first); the account goes here. */
    json_array_foreach(json_object_get(dep, "resources"), i, r) {
        const char *t = json_string_value(json_object_get(r, "type"));
        const char *rid = json_string_value(json_object_get(r, "id"));
        if (st != FB_OK) break;
        if (!t || !rid || strcmp(t, SA_TYPE) != 0) continue;
        st = delete_account(ctx, diag, rid);
        if (st == FB_OK) json_array_append_new(deleted, json_string(rid));
    }
    json_array_foreach(json_object_get(dep, "resources"), i, r) {
        const char *t = json_string_value(json_object_get(r, "type"));
        if (st == FB_OK && t && !strcmp(t, BINDING_TYPE) && json_object_get(r, "id"))
            json_array_append(deleted, json_object_get(r, "id"));
    }
    return st;
}

/* The tenant and workload an account's description names (new, or NULL
 * each): "... workload T/W (" for a workload's own, "... to call T/W (" for
 * a caller's (recorded with the callee W). */
static void described(const char *desc, char **tenant, char **workload)
{
    *tenant = *workload = NULL;
    const char *marks[] = {"the identity of workload ", " to call ", "the scaler of workload "};
    for (size_t i = 0; i < 3 && desc; i++) {
        const char *p = strstr(desc, marks[i]);
        if (!p) continue;
        p += strlen(marks[i]);
        const char *slash = strchr(p, '/'), *end = strchr(p, ' ');
        if (!slash || !end || slash > end) continue;
        *tenant = fbk_xstrndup(p, (size_t)(slash - p));
        *workload = fbk_xstrndup(slash + 1, (size_t)(end - slash - 1));
        return;
    }
}

/* Is member one fedbroker grants: an fb-/fbc- account of the project
 * (run.invoker), or a principal of the fedbroker pool (workload identity
 * user)? */
static int our_member(fb_driver_ctx *ctx, const char *role, const char *member)
{
    if (!strcmp(role, WI_USER))
        return !strncmp(member, "principal://iam.googleapis.com/projects/", 40) &&
               strstr(member, "/workloadIdentityPools/" POOL_ID "/subject/") != NULL;
    const char *email = !strncmp(member, "serviceAccount:", 15) ? member + 15 : NULL;
    if (!strcmp(role, SCALER_ROLE)) { /* a capacity schedule's scaler (gcp_identity_scaler) */
        if (!email || strncmp(email, "fbs-", 4)) return 0;
    } else if (!email || (strncmp(email, "fb-", 3) && strncmp(email, "fbc-", 4))) {
        return 0;
    }
    char *dom = fbk_xasprintf("@%s.iam.gserviceaccount.com", ctx->project);
    const char *at = strchr(email, '@');
    int ok = at && !strcmp(at, dom);
    free(dom);
    return ok;
}

/* The rows of role's bindings fedbroker makes in the policy of the
 * resource row r (borrowed): path is its wire path (v1/..., v2/...). */
static fb_status discover_bindings(fb_driver_ctx *ctx, const json_t *r, gcp_api api, const char *path,
                                   const char *role, json_t *found, fb_diag *diag)
{
    json_t *pol = NULL;
    fb_status st = gcp_iam_policy(ctx, diag, api, path, &pol);
    if (st == FB_NOTFOUND) st = FB_OK; /* deleted since it was listed */
    size_t i, j;
    const json_t *b, *m;
    json_array_foreach(json_object_get(pol, "bindings"), i, b) {
        const char *br = json_string_value(json_object_get(b, "role"));
        if (!br || strcmp(br, role) != 0 || json_object_get(b, "condition")) continue;
        json_array_foreach(json_object_get(b, "members"), j, m) {
            const char *member = json_string_value(m);
            if (!member || !our_member(ctx, role, member)) continue;
            char *id = fbk_xasprintf("%s|%s|%s", path, role, member);
            json_array_append_new(found, json_pack("{s:s,s:s,s:s,s:O,s:b,s:O?,s:O?}", "type", BINDING_TYPE, "id", id,
                                                   "name", member, "region", json_object_get(r, "region"), "managed",
                                                   1, "tenant", json_object_get(r, "tenant"), "workload",
                                                   json_object_get(r, "workload")));
            free(id);
        }
    }
    json_decref(pol);
    return st;
}

fb_status gcp_identity_discover(fb_driver_ctx *ctx, json_t *resources, fb_diag *diag)
{
    json_t *items = json_array();
    char *path = fbk_xasprintf("v1/projects/%s/serviceAccounts", ctx->project);
    fb_status st = gcp_list(ctx, diag, GCP_API_IAM, "serviceAccounts.list", path, "accounts", items);
    free(path);
    size_t i;
    const json_t *a;
    json_array_foreach(items, i, a) {
        const char *email = json_string_value(json_object_get(a, "email"));
        const char *desc = json_string_value(json_object_get(a, "description"));
        if (st != FB_OK || !email ||
            (strncmp(email, "fb-", 3) && strncmp(email, "fbc-", 4) && strncmp(email, "fbs-", 4)))
            continue;
        char *tenant, *workload;
        described(desc, &tenant, &workload);
        int ours = desc && !strncmp(desc, "fedbroker: ", 11) && tenant;
        char *id = fbk_xasprintf("projects/%s/serviceAccounts/%s", ctx->project, email);
        json_array_append_new(resources, json_pack("{s:s,s:s,s:s,s:s,s:b,s:s?,s:s?}", "type", SA_TYPE, "id", id,
                                                   "name", email, "region", "global", "managed", ours, "tenant",
                                                   ours ? tenant : NULL, "workload", ours ? workload : NULL));
        free(id);
        free(tenant);
        free(workload);
    }
    json_decref(items);
    /* the bindings fedbroker makes, on the managed accounts and services
     * found (a binding lives in its resource's policy) */
    json_t *found = json_array();
    const json_t *r;
    json_array_foreach(resources, i, r) {
        const char *t = json_string_value(json_object_get(r, "type"));
        const char *id = json_string_value(json_object_get(r, "id"));
        if (st != FB_OK) break;
        if (!t || !id || !json_is_true(json_object_get(r, "managed"))) continue;
        int acct = !strcmp(t, SA_TYPE), svc = !strcmp(t, "run-service");
        if (!acct && !svc) continue;
        char *wire = fbk_xasprintf("%s/%s", acct ? "v1" : "v2", id);
        st = discover_bindings(ctx, r, acct ? GCP_API_IAM : GCP_API_RUN, wire, acct ? WI_USER : INVOKER, found, diag);
        /* and a capacity schedule's scaler on the service */
        if (st == FB_OK && svc) st = discover_bindings(ctx, r, GCP_API_RUN, wire, SCALER_ROLE, found, diag);
        free(wire);
    }
    json_array_extend(resources, found);
    json_decref(found);
    return st;
}

char *gcp_identity_scaler_email(fb_driver_ctx *ctx, const char *tenant, const char *name)
{
    char *id = sa_id_of("fbs", tenant, name);
    char *email = fbk_xasprintf("%s@%s.iam.gserviceaccount.com", id, ctx->project);
    free(id);
    return email;
}

fb_status gcp_identity_scaler(fb_driver_ctx *ctx, const json_t *prev, const fbk_wl *wl, const char *region,
                              const char *service, int add, json_t *resources, fb_diag *diag)
{
    char *email = gcp_identity_scaler_email(ctx, wl->tenant, wl->name);
    char *sname = fbk_xasprintf("projects/%s/serviceAccounts/%s", ctx->project, email);
    char *member = fbk_xasprintf("serviceAccount:%s", email);
    char *spath = fbk_xasprintf("v2/%s", service);
    fb_status st = FB_OK;
    if (add) {
        char *id = sa_id_of("fbs", wl->tenant, wl->name);
        char *desc = fbk_xasprintf("fedbroker: the scaler of workload %s/%s (its capacity schedule's Cloud "
                                   "Scheduler jobs, docs/simulation.md)", wl->tenant, wl->name);
        char *display = fbk_xasprintf("fedbroker scaler %s/%s", wl->tenant, wl->name);
        /* journalled before the create: its id is known */
        st = gcp_record(diag, prev, SA_TYPE, sname, NULL, email);
        int created = 0;
        if (st == FB_OK) st = ensure_account(ctx, diag, id, desc, display, email, &created);
        if (st == FB_OK && !gcp_host->dry_run(diag))
            json_array_append_new(resources, json_pack("{s:s,s:s,s:s}", "type", SA_TYPE, "id", sname, "name",
                                                       email));
        /* least privilege: the role on this one service only */
        if (st == FB_OK) st = bind(ctx, diag, prev, spath, SCALER_ROLE, member, region, wl->name, resources);
        free(display);
        free(desc);
        free(id);
    } else {
        /* the schedule is gone: its binding and account, when the
         * previous deployment made them */
        int had = 0;
        size_t i;
        const json_t *r;
        json_array_foreach(json_object_get(prev, "resources"), i, r) {
            const char *t = json_string_value(json_object_get(r, "type"));
            const char *rid = json_string_value(json_object_get(r, "id"));
            had |= t && rid && !strcmp(t, SA_TYPE) && !strcmp(rid, sname);
        }
        if (had) {
            st = gcp_iam_member(ctx, diag, GCP_API_RUN, spath, SCALER_ROLE, member, 0, NULL);
            if (st == FB_NOTFOUND) st = FB_OK;
            if (st == FB_OK) st = delete_account(ctx, diag, sname);
        }
    }
    free(spath);
    free(member);
    free(sname);
    free(email);
    return st;
}
