/* gcp_render.c - the provider documents of the gcp driver: Cloud Run Admin
 * API v2 services, Cloud Functions API v2 functions, IAM policies for public
 * HTTP, and Kubernetes objects for GKE Autopilot. Pure: no I/O, same input
 * -> same documents. Field names follow Google's discovery documents
 * (run.v2, cloudfunctions.v2), which the tests validate against. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcp.h"

/* GCP labels: the user's, then managed-by, workload, tenant and the first
 * 16 hex digits of the spec hash (label values are at most 63 characters;
 * the full hash goes in an annotation where there is one). */
json_t *gcp_labels_of(const fbk_wl *wl)
{
    static const fbk_label_keys keys = {"workload", "managed-by", "tenant", "spec-hash"};
    return fbk_labels(wl, &keys);
}

const char *gcp_resource_id(const fbk_wl *wl)
{
    return wl->name;
}

const char *gcp_runtime_sa(fb_driver_ctx *ctx)
{
    return ctx->service_account;
}

const char *gcp_invoker_sa(fb_driver_ctx *ctx)
{
    return ctx->invoker_sa[0] ? ctx->invoker_sa : ctx->service_account;
}

/* What render shows for a setting deploy needs and that is not set, and
 * for the service's URL before it exists (apply fills both in). */
#define UNSET_SA "${drivers.gcp.serviceAccount}"
#define UNSET_INVOKER "${drivers.gcp.invokerServiceAccount}"
#define UNKNOWN_URI "${service.uri}"

json_t *gcp_doc(const char *api, const char *kind, const char *method, const char *path, json_t *body)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:o}", "api", api, "kind", kind, "method", method, "path", path,
                     "body", body);
}

/* The IAM policy that lets anyone invoke the Cloud Run service (also the
 * service behind a 2nd gen function). setIamPolicy replaces the whole
 * policy, so this document is the complete policy the broker wants. */
static json_t *public_invoker(fb_driver_ctx *ctx, const fbk_wl *wl, const gcp_shape *sh)
{
    char *path = fbk_xasprintf("v2/projects/%s/locations/%s/services/%s:setIamPolicy", ctx->project,
                           sh->region->id, wl->name);
    json_t *body = json_pack("{s:{s:[{s:s,s:[s]}]}}", "policy", "bindings", "role", "roles/run.invoker",
                             "members", "allUsers");
    json_t *d = gcp_doc("run.googleapis.com/v2", "SetIamPolicyRequest", "POST", path ? path : "", body);
    free(path);
    return d;
}

/* A Cloud Run probe from spec.healthCheck: gRPC health checking on a grpc
 * port, HTTP GET with a path, else (startup only) a TCP check. Cloud Run
 * liveness probes are HTTP or gRPC: NULL when neither applies. */
static json_t *run_probe(const fbk_wl *wl, int grpc, int startup)
{
    json_t *h = wl->health;
    const char *path = json_string_value(json_object_get(h, "path"));
    long long port = fbk_int(h, "port", 0);
    if (!startup && !grpc && !path) return NULL;
    json_t *p = json_object();
    json_t *act = json_object();
    if (!grpc && path) json_object_set_new(act, "path", json_string(path));
    if (port > 0) json_object_set_new(act, "port", json_integer(port));
    json_object_set_new(p, grpc ? "grpc" : path ? "httpGet" : "tcpSocket", act);
    fbk_k8s_probe_timing(p, h, startup);
    return p;
}

/* Secret Manager name as Cloud Run wants it: the bare id in our project,
 * projects/P/secrets/S in another. */
static void secret_name(fb_driver_ctx *ctx, const char *project, const char *secret, char *out, size_t n)
{
    if (!strcmp(project, ctx->project)) snprintf(out, n, "%s", secret);
    else snprintf(out, n, "projects/%s/secrets/%s", project, secret);
}

/* The GoogleCloudRunV2Service body of a checked workload. */
json_t *gcp_run_body(fb_driver_ctx *ctx, const fbk_wl *wl, const gcp_shape *sh)
{
    char cpu[32], mem[32], tmo[32];
    fbk_cores(sh->cpu_m, cpu, sizeof cpu);
    fbk_k8s_mib_quantity(sh->mem_mib, mem, sizeof mem);
    snprintf(tmo, sizeof tmo, "%llds", sh->timeout_s);
    json_t *c = json_pack("{s:s,s:{s:{s:s,s:s},s:b}}", "image", sh->image, "resources", "limits", "cpu", cpu,
                          "memory", mem, "cpuIdle", !sh->instance_based);
    fbk_set_command_args(c, wl);
    long long port = FBK_K8S_FUNCTION_PORT;
    const char *pname = "http1";
    json_t *p0 = json_array_get(wl->ports, 0);
    if (p0) {
        port = fbk_int(p0, "port", FBK_K8S_FUNCTION_PORT);
        const char *proto = json_string_value(json_object_get(p0, "protocol"));
        if (proto && !strcmp(proto, "grpc")) pname = "h2c";
    }
    json_object_set_new(c, "ports", json_pack("[{s:I,s:s}]", "containerPort", (json_int_t)port, "name", pname));
    json_t *env = json_array();
    fbk_env_append(env, wl);
    size_t i;
    json_t *s;
    json_array_foreach(wl->secrets, i, s) {
        char proj[256], sec[256], ver[256], full[600];
        const char *why;
        const char *envn = json_string_value(json_object_get(s, "env"));
        if (!envn || gcp_parse_secret(json_string_value(json_object_get(s, "ref")), ctx->project, proj, sec, ver,
                                      sizeof sec, &why) != 0)
            continue; /* refused by the checks */
        secret_name(ctx, proj, sec, full, sizeof full);
        json_array_append_new(env, json_pack("{s:s,s:{s:{s:s,s:s}}}", "name", envn, "valueSource",
                                             "secretKeyRef", "secret", full, "version", ver));
    }
    if (json_array_size(env)) json_object_set_new(c, "env", env);
    else json_decref(env);
    if (wl->health) {
        int grpc = !strcmp(pname, "h2c");
        json_object_set_new(c, "startupProbe", run_probe(wl, grpc, 1));
        json_t *live = run_probe(wl, grpc, 0);
        if (live) json_object_set_new(c, "livenessProbe", live);
    }
    json_t *tmpl = json_pack("{s:o,s:{s:I,s:I},s:I,s:s,s:s,s:[o]}", "labels", gcp_labels_of(wl), "scaling",
                             "minInstanceCount", (json_int_t)sh->min_instances, "maxInstanceCount",
                             (json_int_t)(wl->max_i < sh->min_instances ? sh->min_instances : wl->max_i),
                             "maxInstanceRequestConcurrency", (json_int_t)sh->conc, "timeout", tmo,
                             "executionEnvironment",
                             sh->gen1 ? "EXECUTION_ENVIRONMENT_GEN1" : "EXECUTION_ENVIRONMENT_GEN2",
                             "containers", c);
    if (ctx->service_account[0])
        json_object_set_new(tmpl, "serviceAccount", json_string(ctx->service_account));
    char desc[160];
    snprintf(desc, sizeof desc, "fedbroker workload %s/%s", wl->tenant, wl->name);
    json_t *body = json_pack("{s:o,s:s,s:s,s:o}", "labels", gcp_labels_of(wl), "description", desc, "ingress",
                             wl->public_http ? "INGRESS_TRAFFIC_ALL" : "INGRESS_TRAFFIC_INTERNAL_ONLY",
                             "template", tmpl);
    if (wl->hash[0])
        json_object_set_new(body, "annotations", json_pack("{s:s}", "fedbroker.dev/spec-hash", wl->hash));
    return body;
}

/* Where the function's source goes in Cloud Storage, and where it comes
 * from: the broker uploads (or copies) it before the create call. */
static json_t *upload(fb_driver_ctx *ctx, const fbk_wl *wl, char *object, size_t n)
{
    json_t *from = json_object();
    const char *sha = json_string_value(json_object_get(wl->code, "sha256"));
    json_t *s3 = json_object_get(wl->code, "s3");
    if (s3) {
        snprintf(object, n, "fedbroker/%s/%s/s3/%s/%s%s%s", wl->tenant, wl->name,
                 json_string_value(json_object_get(s3, "bucket")) ? json_string_value(json_object_get(s3, "bucket")) : "",
                 json_string_value(json_object_get(s3, "key")) ? json_string_value(json_object_get(s3, "key")) : "",
                 json_object_get(s3, "version") ? "@" : "",
                 json_string_value(json_object_get(s3, "version")) ? json_string_value(json_object_get(s3, "version")) : "");
        json_object_set(from, "s3", s3);
    } else {
        char h[17];
        snprintf(h, sizeof h, "%s", sha ? sha : wl->hash);
        snprintf(object, n, "fedbroker/%s/%s/%s.zip", wl->tenant, wl->name, h);
        const char *k;
        json_t *v;
        json_object_foreach(wl->code, k, v) json_object_set(from, k, v);
    }
    char *to = fbk_xasprintf("gs://%s/%s", ctx->source_bucket, object);
    json_t *u = json_pack("{s:o,s:s,s:s}", "from", from, "to", to ? to : "", "archive", "zip");
    free(to);
    return u;
}

json_t *gcp_function_body(fb_driver_ctx *ctx, const fbk_wl *wl, const gcp_shape *sh, const char *bucket,
                          const char *object)
{
    char cpu[32], mem[32];
    fbk_cores(sh->cpu_m, cpu, sizeof cpu);
    fbk_k8s_mib_quantity(sh->mem_mib, mem, sizeof mem);
    json_t *env = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(wl->env, k, v) {
        if (json_is_string(v)) json_object_set(env, k, v);
    }
    json_t *sc = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:s,s:b}", "availableMemory", mem, "availableCpu", cpu,
                           "timeoutSeconds", (json_int_t)sh->timeout_s, "maxInstanceCount",
                           (json_int_t)(wl->max_i < sh->min_instances ? sh->min_instances : wl->max_i),
                           "minInstanceCount", (json_int_t)sh->min_instances, "maxInstanceRequestConcurrency",
                           (json_int_t)sh->conc, "ingressSettings",
                           wl->public_http ? "ALLOW_ALL" : "ALLOW_INTERNAL_ONLY", "allTrafficOnLatestRevision", 1);
    if (json_object_size(env)) json_object_set_new(sc, "environmentVariables", env);
    else json_decref(env);
    json_t *secrets = json_array();
    size_t i;
    json_t *s;
    json_array_foreach(wl->secrets, i, s) {
        char proj[256], sec[256], ver[256];
        const char *why;
        const char *envn = json_string_value(json_object_get(s, "env"));
        if (!envn || gcp_parse_secret(json_string_value(json_object_get(s, "ref")), ctx->project, proj, sec, ver,
                                      sizeof sec, &why) != 0)
            continue;
        json_array_append_new(secrets, json_pack("{s:s,s:s,s:s,s:s}", "key", envn, "projectId", proj, "secret",
                                                 sec, "version", ver));
    }
    if (json_array_size(secrets)) json_object_set_new(sc, "secretEnvironmentVariables", secrets);
    else json_decref(secrets);
    if (ctx->service_account[0])
        json_object_set_new(sc, "serviceAccountEmail", json_string(ctx->service_account));
    char *name = fbk_xasprintf("projects/%s/locations/%s/functions/%s", ctx->project, sh->region->id, wl->name);
    char desc[160];
    snprintf(desc, sizeof desc, "fedbroker workload %s/%s", wl->tenant, wl->name);
    json_t *body = json_pack("{s:s,s:s,s:s,s:o,s:{s:s,s:s,s:{s:{s:s,s:s}}},s:o}", "name", name, "description",
                             desc, "environment", "GEN_2", "labels", gcp_labels_of(wl), "buildConfig", "runtime",
                             sh->runtime ? sh->runtime : "", "entryPoint", sh->entry_point, "source",
                             "storageSource", "bucket", bucket, "object", object, "serviceConfig", sc);
    free(name);
    size_t ti;
    json_t *t;
    json_array_foreach(wl->triggers, ti, t) {
        const char *q = json_string_value(json_object_get(json_object_get(t, "queue"), "name"));
        if (!q) continue;
        char *topic = fbk_xasprintf("projects/%s/topics/%s", ctx->project, q);
        json_t *et = json_pack("{s:s,s:s,s:s,s:s}", "eventType", "google.cloud.pubsub.topic.v1.messagePublished",
                               "pubsubTopic", topic, "retryPolicy", "RETRY_POLICY_RETRY", "triggerRegion",
                               sh->region->id);
        if (gcp_invoker_sa(ctx)[0])
            json_object_set_new(et, "serviceAccountEmail", json_string(gcp_invoker_sa(ctx)));
        json_object_set_new(body, "eventTrigger", et);
        free(topic);
        break;
    }
    return body;
}

/* The create request of a function, with the upload render describes. */
static json_t *function_doc(fb_driver_ctx *ctx, const fbk_wl *wl, const gcp_shape *sh)
{
    char object[1024];
    json_t *up = upload(ctx, wl, object, sizeof object);
    char *path = fbk_xasprintf("v2/projects/%s/locations/%s/functions?functionId=%s", ctx->project, sh->region->id,
                               wl->name);
    json_t *d = gcp_doc("cloudfunctions.googleapis.com/v2", "Function", "POST", path,
                    gcp_function_body(ctx, wl, sh, ctx->source_bucket, object));
    free(path);
    json_object_set_new(d, "upload", up);
    return d;
}

/* The Secret Manager policies that let the runtime service account read
 * exactly the spec's secrets. */
static void secret_docs(fb_driver_ctx *ctx, const fbk_wl *wl, json_t *docs)
{
    size_t i;
    json_t *s;
    const char *sa = ctx->service_account[0] ? ctx->service_account : UNSET_SA;
    json_array_foreach(wl->secrets, i, s) {
        char proj[256], sec[256], ver[256];
        const char *why;
        if (gcp_parse_secret(json_string_value(json_object_get(s, "ref")), ctx->project, proj, sec, ver,
                             sizeof sec, &why) != 0)
            continue;
        char *path = fbk_xasprintf("v1/projects/%s/secrets/%s:setIamPolicy", proj, sec);
        char *member = fbk_xasprintf("serviceAccount:%s", sa);
        json_array_append_new(docs, gcp_doc("secretmanager.googleapis.com/v1", "SetIamPolicyRequest", "POST", path,
                                        json_pack("{s:{s:[{s:s,s:[s]}]}}", "policy", "bindings", "role",
                                                  "roles/secretmanager.secretAccessor", "members", member)));
        free(member);
        free(path);
    }
}

/* The invoker policy of a private service whose triggers call it with the
 * invoker service account's OIDC token. */
static json_t *trigger_invoker(fb_driver_ctx *ctx, const fbk_wl *wl, const gcp_shape *sh)
{
    char *path = fbk_xasprintf("v2/projects/%s/locations/%s/services/%s:setIamPolicy", ctx->project,
                               sh->region->id, wl->name);
    char *member = fbk_xasprintf("serviceAccount:%s", gcp_invoker_sa(ctx)[0] ? gcp_invoker_sa(ctx) : UNSET_INVOKER);
    json_t *d = gcp_doc("run.googleapis.com/v2", "SetIamPolicyRequest", "POST", path,
                    json_pack("{s:{s:[{s:s,s:[s]}]}}", "policy", "bindings", "role", "roles/run.invoker", "members",
                              member));
    free(member);
    free(path);
    return d;
}

json_t *gcp_trigger_specs(fb_driver_ctx *ctx, const fbk_wl *wl, const gcp_shape *sh, const char *uri)
{
    json_t *out = json_array();
    size_t i;
    json_t *t;
    int ns = 0, nq = 0;
    const char *inv = gcp_invoker_sa(ctx)[0] ? gcp_invoker_sa(ctx) : UNSET_INVOKER;
    if (!uri) uri = UNKNOWN_URI;
    json_array_foreach(wl->triggers, i, t) {
        json_t *sch = json_object_get(t, "schedule"), *q = json_object_get(t, "queue");
        if (sch) {
            char *job = fbk_xasprintf("projects/%s/locations/%s/jobs/%s-s%d", ctx->project, sh->region->id, wl->name,
                                      ns);
            char desc[200];
            snprintf(desc, sizeof desc, "fedbroker %s/%s", wl->tenant, wl->name);
            const char *tz = json_string_value(json_object_get(sch, "timezone"));
            json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:{s:s,s:s,s:{s:s,s:s}}}", "name", job, "description", desc,
                                     "schedule", json_string_value(json_object_get(sch, "cron")) ?
                                     json_string_value(json_object_get(sch, "cron")) : "",
                                     "timeZone", tz ? tz : "UTC", "httpTarget", "uri", uri, "httpMethod", "POST",
                                     "oidcToken", "serviceAccountEmail", inv, "audience", uri);
            json_array_append_new(out, json_pack("{s:s,s:I,s:I,s:s,s:o}", "kind", "schedule", "index", (json_int_t)i,
                                                 "n", (json_int_t)ns, "job", job, "body", body));
            free(job);
            ns++;
        } else if (q) {
            const char *qn = json_string_value(json_object_get(q, "name"));
            char *topic = fbk_xasprintf("projects/%s/topics/%s", ctx->project, qn ? qn : "");
            json_t *spec = json_pack("{s:s,s:I,s:I,s:s}", "kind", "queue", "index", (json_int_t)i, "n",
                                     (json_int_t)nq, "topic", topic);
            if (sh->svc == GCP_RUN) {
                /* a push subscription to the service, authenticated with
                 * the invoker's OIDC token; the ack deadline covers the
                 * request timeout (at most Pub/Sub's 600 s) */
                char *sub = fbk_xasprintf("projects/%s/subscriptions/%s-q%d", ctx->project, wl->name, nq);
                long long ack = sh->timeout_s < 10 ? 10 : sh->timeout_s > 600 ? 600 : sh->timeout_s;
                json_t *body = json_pack("{s:s,s:s,s:o,s:I,s:{s:s,s:{s:s,s:s}}}", "name", sub, "topic", topic,
                                         "labels", gcp_labels_of(wl), "ackDeadlineSeconds", (json_int_t)ack,
                                         "pushConfig",
                                         "pushEndpoint", uri, "oidcToken", "serviceAccountEmail", inv, "audience",
                                         uri);
                json_object_set_new(spec, "subscription", json_string(sub));
                json_object_set_new(spec, "body", body);
                free(sub);
            }
            json_array_append_new(out, spec);
            free(topic);
            nq++;
        }
    }
    return out;
}

/* The topic a queue trigger names, created with our labels when missing. */
static json_t *topic_doc(const fbk_wl *wl, const char *topic)
{
    char *path = fbk_xasprintf("v1/%s", topic);
    json_t *d = gcp_doc("pubsub.googleapis.com/v1", "Topic", "PUT", path,
                    json_pack("{s:s,s:o}", "name", topic, "labels", gcp_labels_of(wl)));
    free(path);
    return d;
}

/* The trigger documents: topics (before a function that consumes them),
 * then subscriptions and Scheduler jobs (after the service). */
static void trigger_docs(fb_driver_ctx *ctx, const fbk_wl *wl, const gcp_shape *sh, json_t *docs, int topics)
{
    json_t *specs = gcp_trigger_specs(ctx, wl, sh, NULL);
    size_t i;
    json_t *t;
    json_array_foreach(specs, i, t) {
        const char *kind = json_string_value(json_object_get(t, "kind"));
        if (topics) {
            if (!strcmp(kind, "queue"))
                json_array_append_new(docs, topic_doc(wl, json_string_value(json_object_get(t, "topic"))));
            continue;
        }
        if (!strcmp(kind, "queue") && json_object_get(t, "subscription")) {
            char *path = fbk_xasprintf("v1/%s", json_string_value(json_object_get(t, "subscription")));
            json_array_append_new(docs, gcp_doc("pubsub.googleapis.com/v1", "Subscription", "PUT", path,
                                            json_incref(json_object_get(t, "body"))));
            free(path);
        } else if (!strcmp(kind, "schedule")) {
            char *path = fbk_xasprintf("v1/projects/%s/locations/%s/jobs", ctx->project, sh->region->id);
            json_array_append_new(docs, gcp_doc("cloudscheduler.googleapis.com/v1", "Job", "POST", path,
                                            json_incref(json_object_get(t, "body"))));
            free(path);
        }
    }
    json_decref(specs);
}

json_t *gcp_render_docs(fb_driver_ctx *ctx, const fbk_wl *wl, const gcp_shape *sh, fbk_ck *ck)
{
    if (sh->svc == GCP_RUN || sh->svc == GCP_FUNCTIONS) {
        /* in the order apply sends them: what the revision reads, what
         * the function consumes, the service, who may call it, triggers */
        json_t *docs = json_array();
        secret_docs(ctx, wl, docs);
        if (sh->svc == GCP_RUN) {
            char *path = fbk_xasprintf("v2/projects/%s/locations/%s/services?serviceId=%s", ctx->project,
                                       sh->region->id, wl->name);
            json_array_append_new(docs, gcp_doc("run.googleapis.com/v2", "Service", "POST", path,
                                            gcp_run_body(ctx, wl, sh)));
            free(path);
        } else {
            trigger_docs(ctx, wl, sh, docs, 1);
            json_array_append_new(docs, function_doc(ctx, wl, sh));
        }
        if (wl->public_http) json_array_append_new(docs, public_invoker(ctx, wl, sh));
        else if (wl->schedule_triggers || (sh->svc == GCP_RUN && wl->queue_triggers))
            json_array_append_new(docs, trigger_invoker(ctx, wl, sh));
        if (sh->svc == GCP_RUN) trigger_docs(ctx, wl, sh, docs, 1);
        trigger_docs(ctx, wl, sh, docs, 0);
        if (sh->svc == GCP_RUN) gcp_capacity_docs(ctx, wl, sh, docs); /* after the service it patches */
        return docs;
    }
    fbk_k8s_opts o;
    gcp_autopilot_opts(ctx, sh, &o);
    json_t *docs = fbk_k8s_render_deployment(wl, &o, ck);
    char *cluster = fbk_xasprintf("projects/%s/locations/%s/clusters/%s", ctx->project, sh->region->id,
                              ctx->gke_cluster);
    size_t i;
    json_t *d;
    json_array_foreach(docs, i, d) json_object_set_new(d, "cluster", json_string(cluster ? cluster : ""));
    free(cluster);
    return docs;
}
