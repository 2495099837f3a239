/*
 * k8s.c - the "k8s" driver: Functions (container images) and Containers on
 * a Kubernetes cluster the user already has (kind, k3s, minikube, or any
 * cluster in their kubeconfig), optionally with Knative Serving.
 *
 * Verbs: configure, offers, validate, render, usage, apply, observe,
 * destroy, discover. Settings: drivers/k8s/README.md. Connecting:
 * kubeconfig.c and k8s_auth.c; requests: k8s_api.c; deploying:
 * k8s_deploy.c.
 */
#include "config.h"
#include "k8s.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DRV K8S_DRV

const fb_host *k8s_host;
#define host k8s_host

/* Diagnostics of one call go to its diag, prefixed with the driver name. */
static fbk_ck checker(fb_diag *diag)
{
    fbk_ck ck = {host, diag, DRV, 0, 0};
    return ck;
}

static void ctx_free(struct fb_driver_ctx *c)
{
    if (!c) return;
    json_decref(c->quota);
    json_decref(c->limits);
    free(c->sa_issuer);
    free(c->aws_account);
    free(c->gcp_project);
    free(c->gcp_number);
    free(c->gcp_sts_url);
    free(c->gcp_iamcred_url);
    k8s_conn_free(c->conn);
    free(c->conn_error);
    pthread_mutex_destroy(&c->disc_mu);
    pthread_mutex_destroy(&c->tenant_mu);
    pthread_cond_destroy(&c->tenant_cv);
    json_decref(c->tenants_ready);
    fbk_input_cache_free(c->inputs);
    free(c);
}

/* Reads and checks the settings; unknown keys are refused so a typo does
 * not silently fall back to a default. The cluster connection is loaded
 * here too, but its absence is no error yet: render and plan need no
 * cluster; validate in apply and dry-run mode reports it. */
static fb_status k8s_configure(const fb_host *h, const char *config_json, fb_driver_ctx **out,
                               fb_diag *diag)
{
    fbk_settings s;
    fb_status st = fbk_settings_open(&s, h, diag, "k8s", config_json);
    if (st != FB_OK) return st;
    static const char *const keys[] = {"namespace", "region", "knative", "ingressClass",
                                       "knativeMaxTimeoutSeconds", "kubeconfig", "context", "allowInsecure",
                                       "forceConflicts", "rolloutTimeout", "resourceQuota", "limitRange",
                                       "inClusterDir", "location", "jurisdiction", "capacityImage",
                                       "serviceAccountIssuer", "callerCredentials", NULL};
    fbk_settings_known(&s, NULL, keys);
    static const char *const ckeys[] = {"awsAccountId", "gcpProject", "gcpProjectNumber", "gcpStsUrl",
                                        "gcpIamCredentialsUrl", "tokenExpirationSeconds", NULL};
    fbk_settings_known(&s, "callerCredentials", ckeys);
    struct fb_driver_ctx *c = fbk_xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->disc_mu, NULL);
    pthread_mutex_init(&c->tenant_mu, NULL);
    pthread_cond_init(&c->tenant_cv, NULL);
    c->tenants_ready = json_object();
    c->inputs = fbk_input_cache_new();
    char *ns = NULL, *region = NULL, *ic = NULL, *kc = NULL, *cx = NULL, *icd = NULL, *loc = NULL, *jur = NULL,
         *cimg = NULL;
    long long max_timeout;
    int allow_insecure = 0;
    if (fbk_set_string(&s, "namespace", 63, NULL, &ns) > 0 && ns && !fbk_dns1035(ns, 63))
        fbk_settings_error(&s, "namespace", "must be a namespace name (lowercase letters, digits, '-')\n"
                           "use a DNS label such as \"team-a\", or leave it out for one namespace per tenant");
    fbk_set_string(&s, "region", sizeof c->region - 1, "on-prem", &region);
    /* where the cluster is, for residency and latency: the planner checks
     * the location against the catalog's metros and locations */
    if (fbk_set_string(&s, "location", sizeof c->location - 1, NULL, &loc) > 0 && loc &&
        !fbk_dns1035(loc, 63))
        fbk_settings_error(&s, "location", "must be a metro or location name of the catalog\n"
                           "e.g. \"frankfurt\"; see `fedbroker catalog show --table locations`");
    if (fbk_set_string(&s, "jurisdiction", sizeof c->jurisdiction - 1, NULL, &jur) > 0 && jur) {
        int okj = jur[0] != 0;
        for (const char *q = jur; *q; q++) okj &= (*q >= 'A' && *q <= 'Z');
        if (!okj)
            fbk_settings_error(&s, "jurisdiction", "must be a jurisdiction or country code in capitals\n"
                               "e.g. \"EU\", \"DE\" or \"US\", as placement.residency names them");
    }
    /* the cluster's service-account issuer, when AWS or GCP is to trust
     * it (docs/identity.md, "A caller's own issuer"): https, or http on
     * loopback for tests, as the broker's own issuer */
    if (fbk_set_url(&s, "serviceAccountIssuer", NULL, &c->sa_issuer) > 0 && c->sa_issuer &&
        strncmp(c->sa_issuer, "https://", 8) != 0 && strncmp(c->sa_issuer, "http://127.0.0.1", 16) != 0 &&
        strncmp(c->sa_issuer, "http://localhost", 16) != 0)
        fbk_settings_error(&s, "serviceAccountIssuer",
                           "must be the cluster's service-account issuer, an https:// URL\n"
                           "the \"issuer\" of the cluster's /.well-known/openid-configuration (kubectl get "
                           "--raw /.well-known/openid-configuration), published where AWS and Google can read it");
    /* what the pods need to call their dependencies on AWS and GCP with
     * the cluster's own token: the clouds' names of the callees' fbc-
     * bindings are deterministic but for the account and project */
    if (fbk_set_string(&s, "callerCredentials/awsAccountId", 12, NULL, &c->aws_account) > 0 &&
        (strlen(c->aws_account) != 12 || strspn(c->aws_account, "0123456789") != 12))
        fbk_settings_error(&s, "callerCredentials/awsAccountId",
                           "must be the 12-digit id of the AWS account the callees run in\n"
                           "e.g. \"123456789012\" (aws sts get-caller-identity --query Account)");
    if (fbk_set_string(&s, "callerCredentials/gcpProject", 30, NULL, &c->gcp_project) > 0 &&
        !fbk_dns1035(c->gcp_project, 30))
        fbk_settings_error(&s, "callerCredentials/gcpProject",
                           "must be the id of the Google Cloud project the callees run in\n"
                           "e.g. \"shop-prod\", as drivers.gcp.project names it");
    if (fbk_set_string(&s, "callerCredentials/gcpProjectNumber", 20, NULL, &c->gcp_number) > 0 &&
        (!c->gcp_number[0] || strspn(c->gcp_number, "0123456789") != strlen(c->gcp_number)))
        fbk_settings_error(&s, "callerCredentials/gcpProjectNumber",
                           "must be the project's number (digits), which names its workload identity pool\n"
                           "gcloud projects describe PROJECT --format='value(projectNumber)'");
    if ((c->gcp_project != NULL) != (c->gcp_number != NULL))
        fbk_settings_error(&s, c->gcp_project ? "callerCredentials/gcpProjectNumber" : "callerCredentials/gcpProject",
                           "gcpProject and gcpProjectNumber go together\n"
                           "set both, or neither (then the pods get no Google credential configuration)");
    fbk_set_url(&s, "callerCredentials/gcpStsUrl", "https://sts.googleapis.com/v1/token", &c->gcp_sts_url);
    fbk_set_url(&s, "callerCredentials/gcpIamCredentialsUrl", "https://iamcredentials.googleapis.com",
                &c->gcp_iamcred_url);
    /* the API server's minimum is 600 s; the kubelet renews at 80 % */
    fbk_set_int(&s, "callerCredentials/tokenExpirationSeconds", 600, 86400, 3600, &c->cloud_token_ttl_s);
    fbk_set_bool(&s, "knative", 0, &c->knative);
    fbk_set_string(&s, "ingressClass", sizeof c->ingress_class - 1, NULL, &ic);
    /* the image the capacity schedule's CronJobs run `kubectl patch` in
     * (k8s_capacity.c): a mirror for clusters without internet access */
    fbk_set_string(&s, "capacityImage", sizeof c->capacity_image - 1, K8S_CAPACITY_IMAGE, &cimg);
    if (cimg && (!cimg[0] || strpbrk(cimg, " \t\n")))
        fbk_settings_error(&s, "capacityImage", "must be an image reference with kubectl on its PATH\n"
                           "e.g. \"registry.k8s.io/kubectl:v1.36.0\" or your registry's mirror of it");
    fbk_set_int(&s, "knativeMaxTimeoutSeconds", 1, 1000000000, 600, &max_timeout);
    fbk_set_string(&s, "kubeconfig", 4096, NULL, &kc);
    fbk_set_string(&s, "context", 253, NULL, &cx);
    fbk_set_string(&s, "inClusterDir", 4096, NULL, &icd);
    fbk_set_bool(&s, "allowInsecure", 0, &allow_insecure);
    fbk_set_bool(&s, "forceConflicts", 0, &c->force);
    fbk_set_duration(&s, "rolloutTimeout", 1000, 3600 * 1000LL, 300 * 1000LL, &c->rollout_timeout_ms);
    json_t *quota = fbk_settings_get(&s, "resourceQuota");
    if (quota && !json_is_object(quota))
        fbk_settings_error(&s, "resourceQuota", "must be an object of quantities\n"
                           "e.g. {\"requests.cpu\": \"4\", \"requests.memory\": \"8Gi\", \"pods\": \"20\"}");
    else if (quota) c->quota = json_deep_copy(quota);
    json_t *limits = fbk_settings_get(&s, "limitRange");
    if (limits && !json_is_object(limits))
        fbk_settings_error(&s, "limitRange", "must be a LimitRange item\n"
                           "e.g. {\"default\": {\"cpu\": \"500m\"}, \"defaultRequest\": {\"cpu\": \"100m\"}}");
    else if (limits) {
        c->limits = json_deep_copy(limits);
        if (!json_object_get(c->limits, "type")) json_object_set_new(c->limits, "type", json_string("Container"));
    }
    if (kc && kc[0] != '/')
        fbk_settings_error(&s, "kubeconfig", "must be an absolute path\ne.g. \"/home/me/.kube/config\"");
    if (ns) snprintf(c->namespace, sizeof c->namespace, "%s", ns);
    snprintf(c->region, sizeof c->region, "%s", region);
    if (loc) snprintf(c->location, sizeof c->location, "%s", loc);
    if (jur) snprintf(c->jurisdiction, sizeof c->jurisdiction, "%s", jur);
    if (ic) snprintf(c->ingress_class, sizeof c->ingress_class, "%s", ic);
    snprintf(c->capacity_image, sizeof c->capacity_image, "%s", cimg ? cimg : K8S_CAPACITY_IMAGE);
    c->knative_max_timeout_s = max_timeout;
    st = fbk_settings_close(&s);
    if (st == FB_OK) {
        k8s_conn_opts o = {kc, cx, icd, allow_insecure};
        if (k8s_conn_load(&o, &c->conn, &c->conn_error) != 0 && !c->conn_error)
            c->conn_error = fbk_xstrdup("no cluster configured");
    }
    free(ns);
    free(region);
    free(ic);
    free(kc);
    free(cx);
    free(icd);
    free(loc);
    free(jur);
    free(cimg);
    if (st != FB_OK) {
        ctx_free(c);
        return st;
    }
    *out = c;
    return FB_OK;
}

/* Where an offer is: the catalog prices and places an on-prem cluster as
 * the region local:on-prem (OpenCost's defaults; catalog/README.md), and
 * the settings' location and jurisdiction, when given, put it on the map
 * so residency rules and the latency model can select it. */
static void place(const fb_driver_ctx *ctx, json_t *o)
{
    json_object_set_new(o, "catalog", json_pack("{s:s,s:s}", "provider", "local", "region", "on-prem"));
    if (ctx->location[0]) json_object_set_new(o, "location", json_string(ctx->location));
    if (ctx->jurisdiction[0]) json_object_set_new(o, "jurisdiction", json_string(ctx->jurisdiction));
}

/* With settings.serviceAccountIssuer, the offer names the issuer of the
 * projected tokens its workloads hold and their subject (the driver ABI's
 * workloadIssuer; {tenant} and {workload} filled in by the host), so a
 * callee on AWS or GCP can trust the cluster's own tokens. */
static void issuer_of_offer(const fb_driver_ctx *ctx, json_t *o)
{
    if (!ctx->sa_issuer) return;
    char *sub = ctx->namespace[0] ? fbk_xasprintf("system:serviceaccount:%s:{workload}", ctx->namespace)
                                  : fbk_xstrdup("system:serviceaccount:fb-{tenant}:{workload}");
    json_object_set_new(o, "workloadIssuer", json_pack("{s:s,s:s}", "issuer", ctx->sa_issuer, "subject", sub));
    free(sub);
}

/* One offer per kind and service; Functions must bring an image. */
static fb_status k8s_offers(fb_driver_ctx *ctx, char **out, fb_diag *diag)
{
    fbk_ck ck = checker(diag);
    json_t *offers = json_array();
    static const char *const kinds[] = {"Function", "Container"};
    /* the namespace each tenant gets (informational) */
    const char *ns = ctx->namespace[0] ? ctx->namespace : "fb-<tenant>";
    for (size_t i = 0; i < 2; i++) {
        /* "accepts": a Function must bring a container image here */
        json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:b}", "kind", kinds[i], "service", "kubernetes",
                              "region", ctx->region, "namespace", ns, "scaleToZero", 0);
        if (i == 0) json_object_set_new(o, "accepts", json_string("image"));
        /* what apply wires (docs/driver-abi.md): ports through Services,
         * schedules as CronJobs (a schedule-only workload; validate refuses
         * a schedule on a workload that also serves http) */
        json_object_set_new(o, "triggers", json_pack("[s,s]", "http", "schedule"));
        place(ctx, o);
        issuer_of_offer(ctx, o);
        json_array_append_new(offers, o);
        if (ctx->knative) {
            o = json_pack("{s:s,s:s,s:s,s:s,s:b}", "kind", kinds[i], "service", "knative", "region",
                          ctx->region, "namespace", ns, "scaleToZero", 1);
            if (i == 0) json_object_set_new(o, "accepts", json_string("image"));
            place(ctx, o);
            issuer_of_offer(ctx, o);
            json_array_append_new(offers, o);
        }
    }
    return fbk_emit(&ck, json_pack("{s:o}", "offers", offers), out);
}

/* Rendering options from the settings: a local cluster takes the spec's
 * resources as they are. */
static void options(fb_driver_ctx *ctx, const fbk_wl *wl, fbk_k8s_opts *o, char *ns, size_t nsn)
{
    memset(o, 0, sizeof *o);
    k8s_namespace_of(ctx, wl->tenant, ns, nsn);
    o->platform = "Kubernetes";
    o->namespace = ns;
    o->ingress_class = ctx->ingress_class[0] ? ctx->ingress_class : NULL;
    o->cpu_m = wl->cpu_m;
    o->mem_mib = wl->mem_mib;
    o->eph_mib = wl->eph_mib;
    o->knative_max_timeout_s = ctx->knative_max_timeout_s;
    o->cronjobs = 1;
}

/* The placement must be one of our offers; returns 1 for knative, 0 for
 * kubernetes, -1 (with an error) otherwise. */
static int check_placement(fb_driver_ctx *ctx, json_t *in, const fbk_wl *wl, fbk_ck *ck)
{
    const char *svc, *region, *kind;
    if (fbk_placement_read(in, ck, &svc, &region, &kind) != 0) return -1;
    int kn = -1;
    if (svc && strcmp(svc, "kubernetes") == 0) kn = 0;
    else if (svc && strcmp(svc, "knative") == 0 && ctx->knative) kn = 1;
    if (kn < 0)
        fbk_err(ck, NULL,
                ctx->knative ? "use service \"kubernetes\" or \"knative\""
                             : "use service \"kubernetes\" (set knative: true when Knative Serving is installed)",
                "placement.service '%s' is not offered", svc ? svc : "(missing)");
    if (!region || strcmp(region, ctx->region) != 0)
        fbk_err(ck, NULL, "the configured region is the driver setting \"region\"",
                "placement.region '%s' is not offered: this cluster is region '%s'",
                region ? region : "(missing)", ctx->region);
    if (kind && strcmp(kind, wl->kind) != 0)
        fbk_err(ck, NULL, "plan the workload again", "placement.kind %s does not match the workload's kind %s",
                kind, wl->kind);
    return ck->errors ? -1 : kn;
}

/* validate and render share this: every problem, then whether it can go on. */
static int check_all(fb_driver_ctx *ctx, json_t *in, fbk_wl *wl, fbk_k8s_opts *o, char *ns, size_t nsn, int *knative,
                     fbk_ck *ck)
{
    /* secret://NAME: the broker's portable secrets, kept as the key "value"
     * of the Secret fedbroker.TENANT.WORKLOAD.NAME in the workload's
     * namespace ('.' is in no tenant, workload or secret name); apply
     * copies the value there (k8s_deploy.c) */
    if (fbk_map_portable_secrets(k8s_host, ck->diag, in, "k8s://fedbroker.%t.%w.%n#value",
                                 "a Kubernetes Secret", 1) != 0) {
        ck->errors++;
        return -1;
    }
    if (fbk_wl_load(wl, in, ck) != 0) return -1;
    *knative = check_placement(ctx, in, wl, ck);
    options(ctx, wl, o, ns, nsn);
    fbk_k8s_check(wl, o, *knative == 1, ck);
    if (k8s_capacity_has(wl)) {
        /* a plan's capacity schedule (docs/simulation.md, "Capacity
         * schedules"): CronJobs moving the floor; rendered here for its
         * errors only */
        long long fl;
        json_t *cap = fbk_k8s_schedule_only(wl) ? NULL
                    : k8s_capacity_render(wl, ns, *knative == 1, ctx->capacity_image, k8s_host->now(), &fl, ck);
        if (fbk_k8s_schedule_only(wl))
            fbk_err(ck, "/spec/scaling/schedule", "leave the capacity schedule out of a scheduled job",
                    "a capacity schedule moves a serving workload's floor; this workload only runs on schedules");
        json_decref(cap);
    }
    if (*knative == 1 && strcmp(wl->arch, "arm64") == 0)
        fbk_warn(ck, "/spec/resources/arch", "enable kubernetes.podspec-nodeselector in Knative's config-features",
                 "Knative refuses nodeSelector unless the podspec-nodeselector feature is enabled");
    return ck->errors ? -1 : 0;
}

/* Every problem at once, with pointers; nothing is rendered. In dry-run
 * and apply mode also a cluster to deploy to (the kubeconfig). */
static fb_status k8s_validate(fb_driver_ctx *ctx, const char *in_json, fb_diag *diag)
{
    fbk_ck ck = checker(diag);
    json_t *in = fbk_parse_input(&ck, in_json);
    if (!in) return FB_INVALID;
    fbk_wl wl;
    fbk_k8s_opts o;
    char ns[64];
    int kn = 0;
    int rc = check_all(ctx, in, &wl, &o, ns, sizeof ns, &kn, &ck);
    const char *mode = json_string_value(json_object_get(in, "mode"));
    fb_status st = rc == 0 ? FB_OK : FB_INVALID;
    if (st == FB_OK && mode && (!strcmp(mode, "apply") || !strcmp(mode, "dry-run")) && !ctx->conn) {
        fbk_err(&ck, NULL, "fix what the message says, or point drivers.k8s.kubeconfig (or KUBECONFIG) at the cluster's kubeconfig",
                "no cluster to deploy to: %s", ctx->conn_error);
        st = FB_AUTH;
    }
    /* the apply that follows gets the same text: it takes this parse
     * (check_all changed it only by the idempotent secret mapping) */
    if (st == FB_OK && mode && (!strcmp(mode, "apply") || !strcmp(mode, "dry-run")))
        fbk_input_cache_put(ctx->inputs, in_json, in);
    else
        json_decref(in);
    return st;
}

/* The same checks as validate, then the documents of the placement's
 * service. */
static fb_status k8s_render(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *diag)
{
    fbk_ck ck = checker(diag);
    json_t *in = fbk_parse_input(&ck, in_json);
    if (!in) return FB_INVALID;
    fbk_wl wl;
    fbk_k8s_opts o;
    char ns[64];
    int kn = 0;
    if (check_all(ctx, in, &wl, &o, ns, sizeof ns, &kn, &ck) != 0) {
        json_decref(in);
        return FB_INVALID;
    }
    json_t *docs = fbk_k8s_schedule_only(&wl) ? fbk_k8s_render_cronjobs(&wl, &o)
                 : kn ? fbk_k8s_render_knative(&wl, &o, &ck) : fbk_k8s_render_deployment(&wl, &o, &ck);
    if (k8s_capacity_has(&wl) && !fbk_k8s_schedule_only(&wl)) {
        long long fl = -1;
        json_t *cap = k8s_capacity_render(&wl, ns, kn == 1, ctx->capacity_image, k8s_host->now(), &fl, &ck);
        k8s_capacity_set_floor(docs, kn == 1, fl);
        json_array_extend(docs, cap);
        json_decref(cap);
    }
    json_t *result = json_pack("{s:o}", "documents", docs);
    json_decref(in);
    return fbk_emit(&ck, result, out);
}

/* num/den as a line's quantity: the planner reads quantities to 6
 * decimal places (a function's 205 MiB / 1024 has 10), so rounded up
 * there: never under the exact figure. new. */
static char *qty(fbk_u128 num, fbk_u128 den)
{
    return fbk_decimal(num, den, 6, FBK_ROUND_UP, NULL);
}

/* One billing line of the catalog's local rows. Steals quantity. */
static json_t *line(const char *metric, const char *unit, char *quantity, const char *note)
{
    json_t *l = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "provider", "local", "service",
                          "kubernetes-node (assumption)", "region_group", "on-prem", "metric", metric,
                          "variant", "opencost default.json", "unit", unit, "quantity",
                          quantity ? quantity : "0");
    free(quantity);
    if (note) json_object_set_new(l, "note", json_string(note));
    return l;
}

/* Node-level cost model: the requested cpu and memory of
 * max(minInstances, 1) replicas, always on for 730 h. Scale-to-zero does
 * not lower it: the nodes run anyway. */
static fb_status k8s_usage(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *diag)
{
    (void)ctx;
    fbk_ck ck = checker(diag);
    json_t *in = fbk_parse_input(&ck, in_json);
    if (!in) return FB_INVALID;
    fbk_wl wl;
    if (fbk_wl_load(&wl, in, &ck) != 0) {
        json_decref(in);
        return FB_INVALID;
    }
    const char *svc = fbk_placement_str(in, "service");
    int knative = svc && strcmp(svc, "knative") == 0;
    long long replicas = wl.min_i < 1 ? 1 : wl.min_i;
    long long cpu = wl.cpu_m < 0 ? 0 : wl.cpu_m, mem = wl.mem_mib < 0 ? 0 : wl.mem_mib;
    unsigned long long rs = 0;
    int64_t period = 0;
    char note[256];
    json_t *lines = json_array();
    json_t *notes = json_array();
    if (fbk_k8s_schedule_only(&wl)) {
        /* a CronJob's pod holds its requests only while a run lasts:
         * requestsPerMonth runs x meanDuration, in milliseconds */
        fbk_u128 ms = (fbk_u128)(wl.req_pm < 0 ? 0 : wl.req_pm) * (fbk_u128)(wl.dur_ms < 0 ? 0 : wl.dur_ms);
        snprintf(note, sizeof note, "%lld run(s) x %lld ms / 3600000 x %lld millicores / 1000", wl.req_pm,
                 wl.dur_ms, cpu);
        json_array_append_new(lines, line("cpu", "vCPU-hour",
                                          qty(ms * (fbk_u128)cpu, (fbk_u128)3600000 * 1000),
                                          note));
        snprintf(note, sizeof note, "%lld run(s) x %lld ms / 3600000 x %lld MiB / 1024 (GB = 2^30 bytes, as OpenCost)",
                 wl.req_pm, wl.dur_ms, mem);
        json_array_append_new(lines, line("memory", "GB-hour",
                                          qty(ms * (fbk_u128)mem, (fbk_u128)3600000 * 1024),
                                          note));
        json_array_append_new(notes, json_string(
            "CronJob model: the requested resources while each run lasts (traffic.requestsPerMonth runs of "
            "traffic.meanDuration), at OpenCost's default prices (an assumption, not an on-prem TCO)"));
    } else if (!strcmp(wl.kind, "Function") && k8s_capacity_replica_seconds(&wl, replicas, &rs, &period) == 0) {
        /* warm instances of a hybrid function part (docs/simulation.md,
         * "Capacity schedules"): replicas the schedule keeps, each step
         * for its share of the period, at least the always-on ones */
        snprintf(note, sizeof note, "%llu replica-seconds of the capacity schedule / %lld s x 730 h x %lld "
                 "millicores / 1000", rs, (long long)period, cpu);
        json_array_append_new(lines, line("cpu", "vCPU-hour",
                                          qty((fbk_u128)rs * FBK_MONTH_HOURS * (fbk_u128)cpu,
                                              (fbk_u128)period * 1000), note));
        snprintf(note, sizeof note, "%llu replica-seconds of the capacity schedule / %lld s x 730 h x %lld MiB / "
                 "1024 (GB = 2^30 bytes, as OpenCost)", rs, (long long)period, mem);
        json_array_append_new(lines, line("memory", "GB-hour",
                                          qty((fbk_u128)rs * FBK_MONTH_HOURS * (fbk_u128)mem,
                                              (fbk_u128)period * 1024), note));
        json_array_append_new(notes, json_string(
            "node-level model with a capacity schedule: the replicas the schedule keeps (its floors over the "
            "period, at least max(minInstances, 1)) on always-on nodes, at OpenCost's default prices (an "
            "assumption, not an on-prem TCO)"));
    } else {
        snprintf(note, sizeof note, "%lld replica(s) x 730 h x %lld millicores / 1000", replicas, cpu);
        json_array_append_new(lines, line("cpu", "vCPU-hour",
                                          qty((fbk_u128)replicas * FBK_MONTH_HOURS * (fbk_u128)cpu,
                                                      1000), note));
        snprintf(note, sizeof note, "%lld replica(s) x 730 h x %lld MiB / 1024 (GB = 2^30 bytes, as OpenCost)",
                 replicas, mem);
        json_array_append_new(lines, line("memory", "GB-hour",
                                          qty((fbk_u128)replicas * FBK_MONTH_HOURS * (fbk_u128)mem,
                                                      1024), note));
        json_array_append_new(notes, json_string(
            "node-level model: requested resources of max(minInstances, 1) replicas on always-on nodes, "
            "730 h per month, at OpenCost's default prices (an assumption, not an on-prem TCO)"));
    }
    long long cold = 0;
    if (knative && wl.scale_to_zero) {
        cold = 2000;
        json_array_append_new(notes, json_string(
            "coldStartMs 2000 is an assumption: a typical Knative scale-from-zero (pod scheduling, "
            "image already cached, readiness); not measured"));
    } else if (fbk_k8s_schedule_only(&wl)) {
        json_array_append_new(notes, json_string("coldStartMs 0: a CronJob's pod start is on no request's path"));
    } else {
        json_array_append_new(notes, json_string("coldStartMs 0: at least one replica is always running"));
    }
    long long peak = (wl.max_i > replicas ? wl.max_i : replicas) * cpu;
    char vc[32];
    fbk_cores(peak, vc, sizeof vc);
    json_array_append_new(notes, json_string("vcpu: peak demand, maxInstances x requested cpu"));
    json_t *result = json_pack("{s:o,s:o,s:I,s:s}", "lines", lines, "notes", notes, "coldStartMs",
                               (json_int_t)cold, "vcpu", vc);
    json_decref(in);
    return fbk_emit(&ck, result, out);
}

/* apply: the checks again (quietly: the broker ran validate), then the
 * objects (k8s_deploy.c). */
static fb_status k8s_apply(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *diag)
{
    fbk_ck ck = checker(diag);
    /* validate's parse of these very bytes when it ran first */
    json_t *in = in_json ? fbk_input_cache_take(ctx->inputs, in_json) : NULL;
    if (!in) in = fbk_parse_input(&ck, in_json);
    if (!in) return FB_INVALID;
    fbk_wl wl;
    fbk_k8s_opts o;
    char ns[64];
    int kn = 0;
    fbk_ck quiet = ck;
    quiet.quiet = 1;
    if (check_all(ctx, in, &wl, &o, ns, sizeof ns, &kn, &quiet) != 0) {
        check_all(ctx, in, &wl, &o, ns, sizeof ns, &kn, &ck); /* again, to report */
        json_decref(in);
        return FB_INVALID;
    }
    if (!ctx->conn) {
        fbk_err(&ck, NULL, "fix what the message says, or point drivers.k8s.kubeconfig (or KUBECONFIG) at the cluster's kubeconfig",
                "no cluster to deploy to: %s", ctx->conn_error);
        json_decref(in);
        return FB_AUTH;
    }
    json_t *o2 = NULL;
    fb_status st = k8s_do_apply(ctx, in, &wl, kn == 1, &o2, diag);
    json_decref(in);
    if (st != FB_OK) return st;
    return fbk_emit(&ck, o2, out);
}

/* observe, destroy and discover share this shape: parse, run, emit. */
typedef fb_status (*k8s_verb)(fb_driver_ctx *, json_t *, json_t **, fb_diag *);

static fb_status run_verb(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *diag, k8s_verb fn)
{
    fbk_ck ck = checker(diag);
    json_t *in = fbk_parse_input(&ck, in_json);
    if (!in) return FB_INVALID;
    if (!ctx->conn) {
        fbk_err(&ck, NULL, "fix what the message says, or point drivers.k8s.kubeconfig (or KUBECONFIG) at the cluster's kubeconfig",
                "no cluster to talk to: %s", ctx->conn_error);
        json_decref(in);
        return FB_AUTH;
    }
    json_t *o = NULL;
    fb_status st = fn(ctx, in, &o, diag);
    json_decref(in);
    if (st != FB_OK) return st;
    return fbk_emit(&ck, o, out);
}

static fb_status k8s_observe(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *diag)
{
    return run_verb(ctx, in_json, out, diag, k8s_do_observe);
}

static fb_status k8s_destroy(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *diag)
{
    return run_verb(ctx, in_json, out, diag, k8s_do_destroy);
}

static fb_status k8s_discover(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *diag)
{
    return run_verb(ctx, in_json, out, diag, k8s_do_discover);
}

/* ABI 1.3: a pod's projected service-account token (k8s_attest.c). */
static fb_status k8s_attest_verb(fb_driver_ctx *ctx, const char *in_json, char **out, fb_diag *diag)
{
    fbk_ck ck = checker(diag);
    json_t *in = fbk_parse_input(&ck, in_json);
    if (!in) return FB_INVALID;
    if (!ctx->conn) {
        /* the broker's configuration, not the workload's proof */
        fbk_err(&ck, NULL, "point drivers.k8s.kubeconfig (or KUBECONFIG) at the cluster's kubeconfig",
                "no cluster to review the token with: %s", ctx->conn_error);
        json_decref(in);
        return FB_INTERNAL;
    }
    json_t *o = NULL;
    fb_status st = k8s_attest(ctx, in, &o, diag);
    json_decref(in);
    if (st != FB_OK) return st;
    return fbk_emit(&ck, o, out);
}

static void k8s_teardown(fb_driver_ctx *ctx)
{
    ctx_free(ctx);
}

static const fb_driver k8s_driver = {
    .abi_major = FB_ABI_MAJOR,
    .abi_minor = FB_ABI_MINOR,
    .struct_size = sizeof(fb_driver),
    .name = DRV,
    .version = "0.1.0",
    .caps = FB_CAP_FUNCTION | FB_CAP_CONTAINER | FB_CAP_RENDER | FB_CAP_ESTIMATE | FB_CAP_DEPLOY |
            FB_CAP_DISCOVER | FB_CAP_SCALE_TO_ZERO | FB_CAP_AUTOSCALE | FB_CAP_PUBLIC_HTTP | FB_CAP_ATTEST,
    .summary = "Kubernetes from your kubeconfig (Deployment/Service/HPA by server-side apply, a namespace "
               "per tenant) and Knative Serving",
    .configure = k8s_configure,
    .offers = k8s_offers,
    .validate = k8s_validate,
    .render = k8s_render,
    .apply = k8s_apply,
    .observe = k8s_observe,
    .destroy = k8s_destroy,
    .discover = k8s_discover,
    .teardown = k8s_teardown,
    .usage = k8s_usage,
    .attest = k8s_attest_verb,
};

FB_DRIVER_EXPORT fb_status fb_driver_entry(const fb_host *h, const fb_driver **out, fb_diag *diag)
{
    /* the TLS members of fb_http_request (1.2) carry the kubeconfig's CA
     * and client certificate: an older host would drop them. A 1.3 host
     * (no http_many) is served one request at a time (k8s_can_batch). */
    if (h->abi_major != FB_ABI_MAJOR || h->struct_size < offsetof(fb_host, http_many) || h->abi_minor < 2) {
        if (h->diag_add && h->abi_major == FB_ABI_MAJOR)
            h->diag_add(diag, FB_SEV_ERROR, "k8s: the host's ABI table is older than this driver needs",
                        "upgrade fedbroker", NULL);
        return FB_NOTSUP;
    }
    host = h;
    *out = &k8s_driver;
    return FB_OK;
}
