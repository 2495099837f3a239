/*
 * gcp.c - the "gcp" driver: Functions and Containers on Google Cloud.
 *
 * Services (placement.service):
 *   cloud-run        Cloud Run Admin API v2 services, for Containers and
 *                    image Functions
 *   cloud-functions  Cloud Functions 2nd gen (API v2), source Functions
 *   gke-autopilot    Deployment + Service + HPA on a GKE Autopilot cluster
 *
 * Verbs: configure, offers, validate, render, usage, apply, observe,
 * destroy, discover. Deploy covers Cloud Run and Cloud Functions (with
 * their Scheduler, Pub/Sub and IAM wiring); GKE Autopilot is render and
 * estimate only (deploy it with the k8s driver against the cluster).
 *
 * Settings (the drivers.gcp section of the broker configuration):
 *   project          "fedbroker-demo"  the project id documents name
 *   regions          every region below  which regions to offer
 *   serviceAccount   (none)            runtime identity of services/functions
 *   sourceBucket     PROJECT-fedbroker-sources  where function source goes
 *   gkeCluster       "fedbroker-autopilot"  the Autopilot cluster's name
 *   gkeNamespace     "default"
 *   registryMirrors  {}                registry host -> Artifact Registry
 *                                      remote repository, for images Cloud
 *                                      Run cannot pull directly
 *   invokerServiceAccount  serviceAccount  OIDC identity of Scheduler jobs
 *                                      and Pub/Sub push subscriptions
 *   operationTimeout "20m"             how long a long-running operation
 *                                      may take before apply gives up
 *   endpoints        Google's          {run, cloudfunctions, cloudscheduler,
 *                                      pubsub, secretmanager, iam}: base URLs
 *   certsUrl         https://www.googleapis.com/oauth2/v1/certs  Google's
 *                                      ID token certificates (attest)
 * Credentials: Application Default Credentials (drivers/kit/fbk_google.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcp.h"
#include "fbk_settings.h"

const fb_host *gcp_host;

/* Google's endpoints, by gcp_api; settings.endpoints overrides them. */
static const char *const api_keys[GCP_API_N] = {"run", "cloudfunctions", "cloudscheduler", "pubsub",
                                                 "secretmanager", "iam"};

/* Cloud Run regions and their price groups: the catalog's regions.csv
 * (price_group column, from infracost's regionTierMapping, S1f). The
 * dashboard-only regions of regions.csv (no published location) are left
 * out. A test checks this table against regions.csv. */
const gcp_region gcp_regions[] = {
    {"africa-south1", "tier2"},
    {"asia-east1", "tier1"},
    {"asia-east2", "tier2"},
    {"asia-northeast1", "tier1"},
    {"asia-northeast2", "tier1"},
    {"asia-northeast3", "tier2"},
    {"asia-south1", "tier2"},
    {"asia-south2", "tier2"},
    {"asia-southeast1", "tier2"},
    {"asia-southeast2", "tier2"},
    {"australia-southeast1", "tier2"},
    {"australia-southeast2", "tier2"},
    {"europe-central2", "tier2"},
    {"europe-north1", "tier1"},
    {"europe-southwest1", "tier1"},
    {"europe-west1", "tier1"},
    {"europe-west10", "tier2"},
    {"europe-west12", "tier2"},
    {"europe-west2", "tier2"},
    {"europe-west3", "tier2"},
    {"europe-west4", "tier1"},
    {"europe-west6", "tier2"},
    {"europe-west8", "tier1"},
    {"europe-west9", "tier1"},
    {"me-central1", "tier2"},
    {"me-central2", "tier2"},
    {"me-west1", "tier1"},
    {"northamerica-northeast1", "tier2"},
    {"northamerica-northeast2", "tier2"},
    {"southamerica-east1", "tier2"},
    {"southamerica-west1", "tier2"},
    {"us-central1", "tier1"},
    {"us-east1", "tier1"},
    {"us-east4", "tier1"},
    {"us-east5", "tier1"},
    {"us-south1", "tier1"},
    {"us-west1", "tier1"},
    {"us-west2", "tier2"},
    {"us-west3", "tier2"},
    {"us-west4", "tier2"},
};
const size_t gcp_nregions = sizeof gcp_regions / sizeof *gcp_regions;

/* Diagnostics of one call go to its diag, prefixed with the driver name. */
static fbk_ck checker(fb_diag *diag)
{
    fbk_ck ck = {gcp_host, diag, GCP_DRV, 0, 0};
    return ck;
}

/* A project id: 6-30 lowercase letters, digits and hyphens, a letter first,
 * no trailing hyphen. */
static int project_ok(const char *p)
{
    size_t n = p ? strlen(p) : 0;
    return n >= 6 && n <= 30 && fbk_dns1035(p, 30);
}

/* A bucket name: 3-63 of [a-z0-9._-], starting and ending alphanumeric. */
static int bucket_ok(const char *b)
{
    size_t n = b ? strlen(b) : 0;
    if (n < 3 || n > 63) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = b[i];
        int an = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!an && c != '-' && c != '_' && c != '.') return 0;
        if ((i == 0 || i == n - 1) && !an) return 0;
    }
    return 1;
}

/* The table entry of a region id, or NULL. */
static const gcp_region *region_entry(const char *id)
{
    for (size_t i = 0; id && i < gcp_nregions; i++)
        if (!strcmp(gcp_regions[i].id, id)) return &gcp_regions[i];
    return NULL;
}

/* settings.regions: known ids only, each named when refused, duplicates
 * dropped. */
static void read_regions(struct fb_driver_ctx *c, json_t *v, fbk_ck *ck)
{
    size_t i;
    json_t *r;
    if (!json_is_array(v) || json_array_size(v) == 0) {
        fbk_err(ck, NULL, "list Cloud Run region ids, e.g. [\"europe-west1\", \"us-central1\"]",
                "settings.regions must be a non-empty array of region ids");
        return;
    }
    json_array_foreach(v, i, r) {
        const gcp_region *e = region_entry(json_string_value(r));
        if (!e) {
            char list[1024] = "";
            for (size_t j = 0; j < gcp_nregions; j++) {
                strncat(list, j ? ", " : "", sizeof list - strlen(list) - 1);
                strncat(list, gcp_regions[j].id, sizeof list - strlen(list) - 1);
            }
            fbk_err(ck, NULL, list, "settings.regions[%zu] '%s' is not a Cloud Run region this driver knows", i,
                    json_is_string(r) ? json_string_value(r) : "(not a string)");
            continue;
        }
        int dup = 0;
        for (size_t j = 0; j < c->nregions; j++) dup |= c->regions[j] == e;
        if (!dup && c->nregions < GCP_MAX_REGIONS) c->regions[c->nregions++] = e;
    }
}

/* settings.registryMirrors: host -> an Artifact Registry repository path. */
static void read_mirrors(struct fb_driver_ctx *c, json_t *v, fbk_ck *ck)
{
    const char *k;
    json_t *r;
    if (!json_is_object(v)) {
        fbk_err(ck, NULL, "e.g. {\"ghcr.io\": \"europe-docker.pkg.dev/my-project/ghcr\"}",
                "settings.registryMirrors must be an object of registry host -> Artifact Registry repository");
        return;
    }
    json_object_foreach(v, k, r) {
        const char *repo = json_string_value(r);
        const char *slash = repo ? strchr(repo, '/') : NULL;
        size_t hl = slash ? (size_t)(slash - repo) : 0;
        if (!repo || !slash || hl < 15 || strncmp(slash - 14, "docker.pkg.dev", 14) != 0 ||
            strlen(k) >= sizeof c->mirrors[0].host || strlen(repo) >= sizeof c->mirrors[0].repo) {
            fbk_err(ck, NULL, "use REGION-docker.pkg.dev/PROJECT/REPOSITORY",
                    "settings.registryMirrors['%s'] is not an Artifact Registry repository", k);
            continue;
        }
        if (c->nmirrors == GCP_MAX_MIRRORS) {
            fbk_err(ck, NULL, NULL, "settings.registryMirrors has more than %d entries", GCP_MAX_MIRRORS);
            return;
        }
        snprintf(c->mirrors[c->nmirrors].host, sizeof c->mirrors[0].host, "%s", k);
        snprintf(c->mirrors[c->nmirrors].repo, sizeof c->mirrors[0].repo, "%s", repo);
        c->nmirrors++;
    }
}

/* A service account setting: its email, into out[n]. */
static void read_email(const char *key, const char *str, char *out, size_t n, fbk_ck *ck)
{
    if (!str || !strchr(str, '@') || strlen(str) >= n)
        fbk_err(ck, NULL, "use the service account's email, NAME@PROJECT.iam.gserviceaccount.com",
                "settings.%s must be an email address", key);
    else
        snprintf(out, n, "%s", str);
}

/* settings.endpoints: {API: base URL}, for tests, private endpoints and
 * proxies. A trailing '/' is dropped. */
static void read_endpoints(struct fb_driver_ctx *c, json_t *v, fbk_ck *ck)
{
    const char *k;
    json_t *u;
    if (!json_is_object(v)) {
        fbk_err(ck, NULL, "e.g. {\"run\": \"https://run.googleapis.com\"}",
                "settings.endpoints must be an object of API name -> base URL");
        return;
    }
    json_object_foreach(v, k, u) {
        int i = 0;
        while (i < GCP_API_N && strcmp(api_keys[i], k) != 0) i++;
        const char *url = json_string_value(u);
        const char *why = url ? fbk_endpoint_problem(url) : "not a string";
        if (i == GCP_API_N) {
            fbk_err(ck, NULL, "known: run, cloudfunctions, cloudscheduler, pubsub, secretmanager, iam",
                    "settings.endpoints has an unknown API '%s'", k);
        } else if (why) {
            fbk_err(ck, NULL, "an http:// or https:// URL", "settings.endpoints.%s: %s", k, why);
        } else {
            free(c->endpoints[i]);
            size_t n = strlen(url);
            while (n > 0 && url[n - 1] == '/') n--;
            c->endpoints[i] = fbk_xstrndup(url, n);
        }
    }
}

static void ctx_free(struct fb_driver_ctx *c)
{
    if (!c) return;
    for (int i = 0; i < GCP_API_N; i++) free(c->endpoints[i]);
    free(c->certs_url);
    gcp_certs_free(c->certs);
    fbk_gauth_free(c->auth);
    free(c);
}

/* Reads the settings; unknown keys are refused so a typo does not fall
 * back to a default silently. */
static fb_status gcp_configure(const fb_host *h, const char *config_json, fb_driver_ctx **out, fb_diag *diag)
{
    (void)h;
    fbk_ck ck = checker(diag);
    json_t *cfg = fbk_parse_input(&ck, config_json);
    if (!cfg) return FB_INVALID;
    json_t *s = json_object_get(cfg, "settings");
    if (s && !json_is_object(s) && !json_is_null(s))
        fbk_err(&ck, NULL, "pass {\"settings\": {\"project\": ..., \"regions\": [...]}}", "settings must be an object");
    struct fb_driver_ctx *c = fbk_xcalloc(1, sizeof *c);
    snprintf(c->project, sizeof c->project, "fedbroker-demo");
    snprintf(c->gke_cluster, sizeof c->gke_cluster, "fedbroker-autopilot");
    snprintf(c->gke_namespace, sizeof c->gke_namespace, "default");
    const char *k;
    json_t *v;
    int have_regions = 0;
    json_object_foreach(json_is_object(s) ? s : NULL, k, v) {
        const char *str = json_string_value(v);
        if (!strcmp(k, "project")) {
            if (!project_ok(str))
                fbk_err(&ck, NULL, "a project id is 6-30 lowercase letters, digits and '-', a letter first",
                        "settings.project '%s' is not a project id", str ? str : "(not a string)");
            else snprintf(c->project, sizeof c->project, "%s", str);
        } else if (!strcmp(k, "regions")) {
            have_regions = 1;
            read_regions(c, v, &ck);
        } else if (!strcmp(k, "serviceAccount")) {
            read_email(k, str, c->service_account, sizeof c->service_account, &ck);
        } else if (!strcmp(k, "sourceBucket")) {
            if (!bucket_ok(str))
                fbk_err(&ck, NULL, "3-63 lowercase letters, digits, '-', '_' and '.'",
                        "settings.sourceBucket '%s' is not a bucket name", str ? str : "(not a string)");
            else snprintf(c->source_bucket, sizeof c->source_bucket, "%s", str);
        } else if (!strcmp(k, "gkeCluster")) {
            if (!fbk_dns1035(str, 40))
                fbk_err(&ck, NULL, "a GKE cluster name is at most 40 lowercase letters, digits and '-'",
                        "settings.gkeCluster is not a cluster name");
            else snprintf(c->gke_cluster, sizeof c->gke_cluster, "%s", str);
        } else if (!strcmp(k, "gkeNamespace")) {
            if (!fbk_dns1035(str, 63))
                fbk_err(&ck, NULL, "a namespace is a DNS label", "settings.gkeNamespace is not a namespace name");
            else snprintf(c->gke_namespace, sizeof c->gke_namespace, "%s", str);
        } else if (!strcmp(k, "registryMirrors")) {
            read_mirrors(c, v, &ck);
        } else if (!strcmp(k, "invokerServiceAccount")) {
            read_email(k, str, c->invoker_sa, sizeof c->invoker_sa, &ck);
        } else if (!strcmp(k, "operationTimeout")) {
            int64_t ms = 0;
            const char *why = NULL;
            if (!str || fbk_parse_duration(str, &ms, &why) != 0 || ms < 1000 || ms > 24 * 3600 * 1000LL)
                fbk_err(&ck, NULL, "a duration from 1s to 24h, e.g. \"20m\"",
                        "settings.operationTimeout is not a duration%s%s", why ? ": " : "", why ? why : "");
            else c->op_timeout_ms = ms;
        } else if (!strcmp(k, "endpoints")) {
            read_endpoints(c, v, &ck);
        } else if (!strcmp(k, "certsUrl")) {
            const char *why = str ? fbk_endpoint_problem(str) : "not a string";
            if (why) {
                fbk_err(&ck, NULL, "an http:// or https:// URL, e.g. https://www.googleapis.com/oauth2/v1/certs",
                        "settings.certsUrl: %s", why);
            } else {
                free(c->certs_url);
                c->certs_url = fbk_xstrdup(str);
            }
        } else {
            fbk_err(&ck, NULL,
                    "known settings: project, regions, serviceAccount, invokerServiceAccount, sourceBucket, "
                    "gkeCluster, gkeNamespace, registryMirrors, operationTimeout, endpoints, certsUrl",
                    "unknown setting '%s'", k);
        }
    }
    json_decref(cfg);
    if (!have_regions)
        for (size_t i = 0; i < gcp_nregions; i++) c->regions[c->nregions++] = &gcp_regions[i];
    if (!c->source_bucket[0]) snprintf(c->source_bucket, sizeof c->source_bucket, "%s-fedbroker-sources", c->project);
    for (int i = 0; i < GCP_API_N; i++)
        if (!c->endpoints[i]) c->endpoints[i] = fbk_xasprintf("https://%s.googleapis.com", api_keys[i]);
    if (!c->op_timeout_ms) c->op_timeout_ms = 20 * 60 * 1000;
    /* where google-auth's verify_oauth2_token reads them */
    if (!c->certs_url) c->certs_url = fbk_xstrdup("https://www.googleapis.com/oauth2/v1/certs");
    c->certs = gcp_certs_new();
    fbk_gauth_opts ao = {FBK_GOOGLE_SCOPE_CLOUD, NULL, "google-auth"};
    c->auth = fbk_gauth_new(&ao);
    if (ck.errors) {
        ctx_free(c);
        return FB_INVALID;
    }
    *out = c;
    return FB_OK;
}

/* Per region: source Functions on Cloud Functions, image Functions on Cloud
 * Run; Containers on GKE Autopilot and Cloud Run. */
static fb_status gcp_offers(fb_driver_ctx *ctx, char **out, fb_diag *diag)
{
    fbk_ck ck = checker(diag);
    json_t *offers = json_array();
    for (size_t i = 0; i < ctx->nregions; i++) {
        const gcp_region *r = ctx->regions[i];
        /* the trigger kinds apply wires (docs/driver-abi.md): Cloud
         * Scheduler and Pub/Sub (push, or Eventarc for a function). The
         * deployable services come first in each kind (the conformance kit
         * takes a kind's first offer). */
        json_array_append_new(offers, json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:[sss]}", "kind", "Function", "service",
                                                "cloud-run", "region", r->id, "region_group", r->tier, "accepts",
                                                "image", "scaleToZero", 1, "triggers", "http", "queue", "schedule"));
        json_array_append_new(offers, json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:[sss]}", "kind", "Function", "service",
                                                "cloud-functions", "region", r->id, "region_group", r->tier,
                                                "accepts", "source", "scaleToZero", 1, "triggers", "http", "queue",
                                                "schedule"));
        json_array_append_new(offers, json_pack("{s:s,s:s,s:s,s:s,s:b,s:[sss]}", "kind", "Container", "service",
                                                "cloud-run", "region", r->id, "region_group", r->tier,
                                                "scaleToZero", 1, "triggers", "http", "queue", "schedule"));
        json_array_append_new(offers, json_pack("{s:s,s:s,s:s,s:b,s:[s]}", "kind", "Container", "service",
                                                "gke-autopilot", "region", r->id, "scaleToZero", 0, "triggers",
                                                "http"));
    }
    return fbk_emit(&ck, json_pack("{s:o}", "offers", offers), out);
}

/* What deploying needs beyond the provider's rules (validate in dry-run and
 * apply mode): a deployable service, the settings the documents name,
 * source on disk, and credentials (found, not used: nothing is sent). */
static fb_status check_deploy(fb_driver_ctx *ctx, const json_t *in, const fbk_wl *wl, const gcp_shape *sh, int creds,
                              fbk_ck *ck)
{
    if (sh->svc == GCP_AUTOPILOT) {
        fbk_err(ck, NULL, "deploy it with the k8s driver pointed at the cluster's kubeconfig, or place it on "
                "cloud-run", "the gcp driver renders and prices GKE Autopilot but does not deploy to it");
        return FB_INVALID;
    }
    if (json_array_size(wl->secrets) && !gcp_runtime_sa(ctx)[0] && !json_object_get(in, "identity"))
        fbk_err(ck, "/spec/secrets", "set drivers.gcp.serviceAccount to the service account the workload runs as",
                "reading Secret Manager secrets needs a runtime service account to grant secretAccessor to");
    int oidc = wl->schedule_triggers || (sh->svc == GCP_RUN && wl->queue_triggers);
    if (oidc && !gcp_invoker_sa(ctx)[0])
        fbk_err(ck, "/spec/triggers", "set drivers.gcp.invokerServiceAccount (or serviceAccount)",
                "Cloud Scheduler and Pub/Sub push call the service with an OIDC token of a service account");
    if (sh->svc == GCP_FUNCTIONS && json_object_get(wl->code, "s3"))
        fbk_err(ck, "/spec/code/s3", "give spec.code.path: the broker zips and uploads it",
                "Cloud Functions deploys source uploaded through generateUploadUrl; the gcp driver does not copy "
                "S3 objects");
    if (ck->errors) return FB_INVALID;
    if (!creds) return FB_OK;
    /* the credentials (found, not used): their absence is AUTH, exit 2,
     * with the list of sources the kit tried */
    char *what = NULL;
    fb_status st = fbk_gauth_check(ctx->auth, gcp_host, ck->diag, &what);
    free(what);
    return st;
}

/* Every problem at once, with pointers; nothing is rendered. In dry-run
 * and apply mode also what deploying needs. *wl and *sh: what the checks
 * read (borrowing from in), for a usage that follows (validate_usage). */
static fb_status validate_checked(fb_driver_ctx *ctx, json_t *in, fbk_wl *wlp, gcp_shape *shp, fb_diag *diag)
{
    fbk_ck ck = checker(diag);
    fbk_wl wl;
    gcp_shape sh;
    int rc = gcp_check(ctx, in, &wl, &sh, &ck);
    /* a plan's capacity schedule (docs/simulation.md, "Capacity schedules"):
     * Cloud Scheduler jobs patching a Cloud Run service's minimum
     * instances (gcp_capacity.c); refused elsewhere, so plan places the
     * predictive parts only where they are deployed as priced */
    if (rc == 0) {
        json_t *jobs = NULL;
        char *why = NULL;
        if (gcp_capacity_jobs(ctx, &wl, &sh, &jobs, &why) != 0) {
            char *nl = strchr(why, '\n');
            if (nl) *nl = '\0';
            fbk_err(&ck, "/spec/scaling/schedule", nl ? nl + 1 : NULL, "%s", why);
            rc = -1;
        }
        free(why);
        json_decref(jobs);
    }
    const char *mode = json_string_value(json_object_get(in, "mode"));
    fb_status st = rc == 0 ? FB_OK : FB_INVALID;
    if (rc == 0 && mode && (!strcmp(mode, "apply") || !strcmp(mode, "dry-run")))
        st = check_deploy(ctx, in, &wl, &sh, 1, &ck);
    *wlp = wl;
    *shp = sh;
    return st;
}

static fb_status gcp_validate_in(fb_driver_ctx *ctx, json_t *in, fb_diag *diag)
{
    fbk_wl wl;
    gcp_shape sh;
    return validate_checked(ctx, in, &wl, &sh, diag);
}

static fb_status gcp_validate(fb_driver_ctx *ctx, const char *in_json, fb_diag *diag)
{
    fbk_ck ck = checker(diag);
    json_t *in = fbk_parse_input(&ck, in_json);
    if (!in) return FB_INVALID;
    fb_status st = gcp_validate_in(ctx, in, diag);
    json_decref(in);
    return st;
}

/* The same checks as validate, then the documents of the placement's
 * service. */
static fb_status gcp_render(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *diag)
{
    fbk_ck ck = checker(diag);
    json_t *in = fbk_parse_input(&ck, in_json);
    if (!in) return FB_INVALID;
    fbk_wl wl;
    gcp_shape sh;
    if (gcp_check(ctx, in, &wl, &sh, &ck) != 0) {
        json_decref(in);
        return FB_INVALID;
    }
    json_t *docs = gcp_render_docs(ctx, &wl, &sh, &ck);
    json_decref(in);
    return fbk_emit(&ck, json_pack("{s:o}", "documents", docs), out);
}

/* usage prices the shape render would deploy (rounded resources, billing
 * mode). It refuses only what it cannot price: a bad placement, resources
 * or timeout beyond the service's limits. Other problems (an image
 * registry, a secret reference) do not change the cost: the estimate is
 * given and a note points at validate. */
static fb_status gcp_usage_in(fb_driver_ctx *ctx, json_t *in, json_t **usage, fb_diag *diag)
{
    fbk_ck ck = checker(diag);
    fbk_wl wl;
    gcp_shape sh;
    fbk_ck quiet = ck;
    quiet.quiet = 1;
    int rc = gcp_check(ctx, in, &wl, &sh, &quiet);
    if (rc != 0 && (sh.svc == GCP_UNKNOWN || !sh.region || sh.shape_errors)) {
        gcp_check(ctx, in, &wl, &sh, &ck); /* again, to report every problem */
        return FB_INVALID;
    }
    json_t *u = gcp_usage_doc(&wl, &sh);
    if (quiet.errors) {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "validate refuses this placement (%d problem(s) that do not change the cost): the estimate "
                 "covers resources and requests only", quiet.errors);
        json_array_append_new(json_object_get(u, "notes"), json_string(msg));
    }
    *usage = u;
    return FB_OK;
}

static fb_status gcp_usage(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *diag)
{
    fbk_ck ck = checker(diag);
    json_t *in = fbk_parse_input(&ck, in_json);
    if (!in) return FB_INVALID;
    json_t *u = NULL;
    fb_status st = gcp_usage_in(ctx, in, &u, diag);
    json_decref(in);
    if (st != FB_OK) return st;
    return fbk_emit(&ck, u, out);
}

/* validate then usage (fbk_eval_ops.validate_usage): once validate has
 * passed, gcp_check found no error, so the quiet check usage begins with
 * would find none either (on the same input: validate's secret mapping is
 * idempotent) and add nothing to diag; usage is then the document of the
 * workload and shape validate read, with no note. The document reads of
 * the shape only what the key below holds (gcp_usage_doc), so the call's
 * placements with the same key (a service's regions of one price group)
 * share it. */
static fb_status gcp_validate_usage_in(fb_driver_ctx *ctx, json_t *in, json_t **usage, int *refused,
                                       fbk_eval_memo *memo, fb_diag *diag)
{
    fbk_wl wl;
    gcp_shape sh;
    fb_status st = validate_checked(ctx, in, &wl, &sh, diag);
    *refused = st != FB_OK;
    if (st != FB_OK) return st;
    char key[160];
    snprintf(key, sizeof key, "%d %d %s %lld %lld %lld %lld %lld", (int)sh.svc, sh.instance_based,
             sh.region ? sh.region->tier : "-", sh.cpu_m, sh.mem_mib, sh.eph_mib, sh.conc, sh.min_instances);
    if ((*usage = fbk_eval_memo_get(memo, key))) return FB_OK;
    *usage = gcp_usage_doc(&wl, &sh);
    fbk_eval_memo_put(memo, key, *usage);
    return FB_OK;
}

/* validate then usage on every placement of one workload (ABI 1.2). */
static const fbk_eval_ops gcp_eval_ops = {gcp_validate_in, gcp_usage_in, gcp_validate_usage_in};

static fb_status gcp_evaluate(fb_driver_ctx *ctx, const char *in_json, size_t n, fb_diag *const *diags,
                              char **out, fb_diag *diag)
{
    return fbk_evaluate(gcp_host, GCP_DRV, &gcp_eval_ops, ctx, in_json, n, diags, out, diag);
}

/* apply: the checks again (quietly: the broker ran validate), then the
 * placement's service. */
static fb_status gcp_apply(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *diag)
{
    fbk_ck ck = checker(diag);
    json_t *in = fbk_parse_input(&ck, in_json);
    if (!in) return FB_INVALID;
    fbk_wl wl;
    gcp_shape sh;
    fbk_ck quiet = ck;
    quiet.quiet = 1;
    if (gcp_check(ctx, in, &wl, &sh, &quiet) != 0) {
        gcp_check(ctx, in, &wl, &sh, &ck); /* again, to report */
        json_decref(in);
        return FB_INVALID;
    }
    /* (credentials: validate found them; apply fetches its token, probing
     * the metadata server when that is where they are) */
    fb_status cst = check_deploy(ctx, in, &wl, &sh, 0, &ck);
    if (cst != FB_OK) {
        json_decref(in);
        return cst;
    }
    json_t *o = NULL;
    fb_status st = gcp_svc_apply(ctx, sh.svc == GCP_RUN ? &gcp_run_svc : &gcp_functions_svc, in, &wl, &sh, &o,
                                 diag);
    json_decref(in);
    if (st != FB_OK) {
        json_decref(o);
        return st;
    }
    return fbk_emit(&ck, o, out);
}

/* The service a deployment was made on ("cloud-run" or "cloud-functions"). */
static gcp_service dep_service(const json_t *in, fbk_ck *ck)
{
    const json_t *dep = json_object_get(in, "deployment");
    gcp_service s = gcp_service_of(json_string_value(json_object_get(dep, "service")));
    if (s != GCP_RUN && s != GCP_FUNCTIONS)
        fbk_err(ck, NULL, "pass the deployment the broker stored",
                "the deployment's service '%s' is not one the gcp driver deploys (cloud-run, cloud-functions)",
                json_string_value(json_object_get(dep, "service")) ? json_string_value(json_object_get(dep, "service"))
                                                                   : "(missing)");
    return s;
}

static fb_status gcp_observe(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *diag)
{
    fbk_ck ck = checker(diag);
    json_t *in = fbk_parse_input(&ck, in_json);
    if (!in) return FB_INVALID;
    gcp_service s = dep_service(in, &ck);
    const gcp_svc *k = s == GCP_RUN ? &gcp_run_svc : &gcp_functions_svc;
    json_t *o = NULL;
    fb_status st = ck.errors ? FB_INVALID : gcp_svc_observe(ctx, k, in, &o, diag);
    json_decref(in);
    if (st != FB_OK) {
        json_decref(o);
        return st;
    }
    return fbk_emit(&ck, o, out);
}

static fb_status gcp_destroy(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *diag)
{
    fbk_ck ck = checker(diag);
    json_t *in = fbk_parse_input(&ck, in_json);
    if (!in) return FB_INVALID;
    gcp_service s = dep_service(in, &ck);
    json_t *deleted = json_array();
    const json_t *dep = json_object_get(in, "deployment");
    const gcp_svc *k = s == GCP_RUN ? &gcp_run_svc : &gcp_functions_svc;
    fb_status st = ck.errors ? FB_INVALID : gcp_svc_destroy(ctx, k, dep, deleted, diag);
    /* the workload's copies of the broker's secrets, and its account,
     * once nothing runs as it */
    if (st == FB_OK) st = gcp_secrets_destroy(ctx, dep, deleted, diag);
    if (st == FB_OK) st = gcp_identity_destroy(ctx, dep, deleted, diag);
    json_decref(in);
    if (st != FB_OK) {
        json_decref(deleted);
        return st;
    }
    return fbk_emit(&ck, json_pack("{s:o}", "deleted", deleted), out);
}

/* Services, functions and Scheduler jobs of each region asked for (all
 * configured ones when none), Pub/Sub topics and subscriptions of the
 * project; "managed" by our labels (jobs: their description). */
static fb_status gcp_discover(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *diag)
{
    fbk_ck ck = checker(diag);
    json_t *in = fbk_parse_input(&ck, in_json);
    if (!in) return FB_INVALID;
    json_t *regions = json_object_get(in, "regions");
    json_t *resources = json_array();
    fb_status st = FB_OK;
    size_t n = json_array_size(regions) ? json_array_size(regions) : ctx->nregions;
    for (size_t i = 0; i < n && st == FB_OK; i++) {
        const char *r = json_array_size(regions) ? json_string_value(json_array_get(regions, i))
                                                 : ctx->regions[i]->id;
        if (!r || !gcp_find_region(ctx, r)) continue; /* not one of ours */
        st = gcp_svc_discover(ctx, &gcp_run_svc, r, resources, diag);
        if (st == FB_OK) st = gcp_svc_discover(ctx, &gcp_functions_svc, r, resources, diag);
        if (st == FB_OK) st = gcp_triggers_discover(ctx, r, resources, diag);
    }
    if (st == FB_OK) st = gcp_triggers_discover(ctx, NULL, resources, diag);
    /* IAM is the project's: the workloads' accounts once, when the broker
     * is an issuer */
    if (st == FB_OK && json_is_object(json_object_get(in, "identity")))
        st = gcp_identity_discover(ctx, resources, diag);
    json_decref(in);
    if (st != FB_OK) {
        json_decref(resources);
        return st;
    }
    return fbk_emit(&ck, json_pack("{s:o}", "resources", resources), out);
}

/* ABI 1.3: a workload's Google-signed ID token (gcp_attest.c). */
static fb_status gcp_attest_verb(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *diag)
{
    json_t *in;
    fb_status st = fbk_json_in(gcp_host, diag, "input", in_json, &in);
    if (st != FB_OK) return st;
    json_t *result = NULL;
    st = gcp_attest(ctx, in, &result, diag);
    if (st == FB_OK) st = fbk_json_out(gcp_host, diag, result, out);
    json_decref(result);
    json_decref(in);
    return st;
}

static void gcp_teardown(fb_driver_ctx *ctx)
{
    ctx_free(ctx);
}

static const fb_driver gcp_driver = {
    .abi_major = FB_ABI_MAJOR,
    .abi_minor = FB_ABI_MINOR,
    .struct_size = sizeof(fb_driver),
    .name = GCP_DRV,
    .version = "0.1.0",
    .caps = FB_CAP_FUNCTION | FB_CAP_CONTAINER | FB_CAP_RENDER | FB_CAP_DEPLOY | FB_CAP_DISCOVER |
            FB_CAP_ESTIMATE | FB_CAP_SCALE_TO_ZERO | FB_CAP_PUBLIC_HTTP | FB_CAP_AUTOSCALE | FB_CAP_ATTEST,
    .summary = "Google Cloud: Cloud Run and Cloud Functions 2nd gen (deploy, with Scheduler, Pub/Sub and IAM), "
               "GKE Autopilot (render and estimate)",
    .configure = gcp_configure,
    .offers = gcp_offers,
    .validate = gcp_validate,
    .render = gcp_render,
    .apply = gcp_apply,
    .observe = gcp_observe,
    .destroy = gcp_destroy,
    .discover = gcp_discover,
    .teardown = gcp_teardown,
    .usage = gcp_usage,
    .evaluate = gcp_evaluate,
    .attest = gcp_attest_verb,
};

FB_DRIVER_EXPORT fb_status fb_driver_entry(const fb_host *h, const fb_driver **out, fb_diag *diag)
{
    if (h->abi_major != FB_ABI_MAJOR || h->struct_size < sizeof(fb_host)) {
        if (h->diag_add && h->abi_major == FB_ABI_MAJOR)
            h->diag_add(diag, FB_SEV_ERROR, "gcp: the host's ABI table is older than this driver needs",
                        "upgrade fedbroker", NULL);
        return FB_NOTSUP;
    }
    gcp_host = h;
    *out = &gcp_driver;
    return FB_OK;
}
