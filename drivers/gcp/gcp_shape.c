/* gcp_shape.c - what Cloud Run, Cloud Functions (2nd gen) and GKE Autopilot
 * accept, and what a workload becomes on each: the checks behind validate,
 * and the shape render and usage both use, so what is priced is what is
 * rendered.
 *
 * Sources for the limits (documentation facts, no code):
 *  - Cloud Run "Configure CPU limits" and "Memory limits": 0.08..8 vCPU,
 *    fractional below 1 in 0.01 steps, integers 1, 2, 4, 6, 8 above; up to
 *    512 MiB below 0.5 vCPU, 1 GiB below 1, 4/8/16/24/32 GiB for
 *    1/2/4/6/8 vCPU; 4, 6, 8 vCPU need at least 2, 4, 4 GiB; below 1 vCPU
 *    concurrency must be 1, billing request-based, environment gen1.
 *    Memory 128 MiB..32 GiB; concurrency at most 1000; request timeout
 *    at most 60 min; service names at most 49 characters; reserved env
 *    PORT, K_SERVICE, K_REVISION, K_CONFIGURATION; startup probes at most
 *    240 s for initial delay and period.
 *  - Cloud Functions 2nd gen: the Cloud Run rules above, HTTP functions up
 *    to 60 min and event functions up to 9 min, names up to 63
 *    characters, reserved env also FUNCTION_TARGET,
 *    FUNCTION_SIGNATURE_TYPE and the X_GOOGLE_ prefix.
 *  - GKE Autopilot general-purpose class: cpu in 250m steps (at least
 *    250m), memory:cpu from 1 GiB to 6.5 GiB per vCPU (Autopilot raises
 *    requests to fit), at most 30 vCPU and 110 GiB per pod, ephemeral
 *    storage 10 MiB..10 GiB.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gcp.h"

gcp_service gcp_service_of(const char *s)
{
    if (!s) return GCP_UNKNOWN;
    if (!strcmp(s, "cloud-run")) return GCP_RUN;
    if (!strcmp(s, "cloud-functions")) return GCP_FUNCTIONS;
    if (!strcmp(s, "gke-autopilot")) return GCP_AUTOPILOT;
    return GCP_UNKNOWN;
}

const char *gcp_service_name(gcp_service s)
{
    switch (s) {
    case GCP_RUN: return "cloud-run";
    case GCP_FUNCTIONS: return "cloud-functions";
    case GCP_AUTOPILOT: return "gke-autopilot";
    default: return "(unknown)";
    }
}

const gcp_region *gcp_find_region(fb_driver_ctx *ctx, const char *id)
{
    for (size_t i = 0; id && i < ctx->nregions; i++)
        if (!strcmp(ctx->regions[i]->id, id)) return ctx->regions[i];
    return NULL;
}

/* ---- Cloud Run and Cloud Functions resources --------------------------------- */

/* Largest memory (MiB) an integer vCPU count allows, and the least it
 * needs. */
static long long run_max_mem(long long cpu_m)
{
    if (cpu_m < 500) return 512;
    if (cpu_m < 1000) return 1024;
    if (cpu_m <= 1000) return 4096;
    if (cpu_m <= 2000) return 8192;
    if (cpu_m <= 4000) return 16384;
    if (cpu_m <= 6000) return 24576;
    return 32768;
}

static long long run_min_mem(long long cpu_m)
{
    if (cpu_m >= 6000) return 4096;
    if (cpu_m >= 4000) return 2048;
    return 128;
}

/* The next allowed integer vCPU count at or above cpu_m (1000..8000). */
static long long run_integer_cpu(long long cpu_m)
{
    static const long long steps[] = {1000, 2000, 4000, 6000, 8000};
    for (size_t i = 0; i < 5; i++)
        if (cpu_m <= steps[i]) return steps[i];
    return 8000;
}

/* Cloud Run's CPU/memory rules applied to the spec: round up what can be
 * rounded (a note says so), refuse the rest. functions: Cloud Functions
 * 2nd gen (request-based billing always; idle min instances instead). */
static void run_resources(const fbk_wl *wl, int functions, gcp_shape *sh, fbk_ck *ck)
{
    const char *svc = functions ? "Cloud Functions" : "Cloud Run";
    long long cpu = wl->cpu_m, mem = wl->mem_mib;
    char c1[32], c2[32];
    /* scaleToZero: false keeps one instance: the cost model prices it as
     * always on, so the service must be deployed with it */
    sh->min_instances = wl->min_i > 0 ? wl->min_i : wl->scale_to_zero ? 0 : 1;
    if (wl->min_i < 1 && !wl->scale_to_zero)
        fbk_note(ck, "/spec/scaling/scaleToZero", NULL,
                 "%s keeps 1 instance running (minInstanceCount 1): scaleToZero is false", svc);
    sh->instance_based = !functions && sh->min_instances > 0;
    if (mem > 32768)
        fbk_err(ck, "/spec/resources/memory", "lower resources.memory to 32Gi or less, or place it on gke-autopilot",
                "%s allows at most 32 GiB of memory; the spec asks for %lld MiB", svc, mem);
    if (cpu > 8000)
        fbk_err(ck, "/spec/resources/cpu", "lower resources.cpu to 8 or less, or place it on gke-autopilot",
                "%s allows at most 8 vCPU; the spec asks for %lld millicores", svc, cpu);
    if (wl->target_conc > 1000)
        fbk_err(ck, "/spec/scaling/targetConcurrency", "use 1000 or less",
                "%s allows at most 1000 concurrent requests per instance; the spec asks for %lld", svc,
                wl->target_conc);
    if (ck->errors) {
        sh->cpu_m = cpu;
        sh->mem_mib = mem;
        return;
    }
    if (mem < 128) {
        fbk_note(ck, "/spec/resources/memory", NULL, "%s memory rounded up from %lld MiB to its minimum, 128 MiB",
                 svc, mem);
        mem = 128;
    }
    if (cpu < 1000) {
        const char *why = NULL;
        if (sh->instance_based)
            why = "instance-based billing (CPU always allocated, which keeps minInstances warm) needs at least 1 vCPU";
        else if (wl->target_conc > 1)
            why = "a concurrency above 1 needs at least 1 vCPU";
        else if (mem > 1024)
            why = "more than 1 GiB of memory needs at least 1 vCPU";
        if (why) {
            fbk_cores(cpu, c1, sizeof c1);
            fbk_note(ck, "/spec/resources/cpu", "set resources.cpu to 1 to make this explicit",
                     "%s cpu rounded up from %s to 1 vCPU: %s", svc, c1, why);
            cpu = 1000;
        } else {
            long long r = cpu < 80 ? 80 : (cpu + 9) / 10 * 10;
            const char *reason = "fractional vCPU goes in steps of 0.01 from 0.08";
            if (mem > 512 && r < 500) {
                r = 500;
                reason = "more than 512 MiB of memory needs at least 0.5 vCPU";
            }
            if (r != cpu) {
                fbk_cores(cpu, c1, sizeof c1);
                fbk_cores(r, c2, sizeof c2);
                fbk_note(ck, "/spec/resources/cpu", NULL, "%s cpu rounded up from %s to %s vCPU: %s", svc, c1,
                         c2, reason);
            }
            cpu = r;
        }
    }
    if (cpu > 1000) {
        long long r = run_integer_cpu(cpu);
        if (r != cpu) {
            fbk_cores(cpu, c1, sizeof c1);
            fbk_note(ck, "/spec/resources/cpu", NULL,
                     "%s cpu rounded up from %s to %lld vCPU: above 1 it must be 1, 2, 4, 6 or 8", svc, c1,
                     r / 1000);
            cpu = r;
        }
    }
    if (cpu >= 1000) {
        if (mem > run_max_mem(cpu)) {
            long long r = cpu;
            while (r < 8000 && mem > run_max_mem(r)) r = run_integer_cpu(r + 1);
            fbk_note(ck, "/spec/resources/cpu", NULL,
                     "%s cpu rounded up from %lld to %lld vCPU: %lld MiB of memory needs it", svc, cpu / 1000,
                     r / 1000, mem);
            cpu = r;
        }
        if (mem < run_min_mem(cpu)) {
            fbk_note(ck, "/spec/resources/memory", NULL,
                     "%s memory rounded up from %lld MiB to %lld MiB: %lld vCPU need at least that", svc, mem,
                     run_min_mem(cpu), cpu / 1000);
            mem = run_min_mem(cpu);
        }
    }
    sh->cpu_m = cpu;
    sh->mem_mib = mem;
    sh->conc = wl->target_conc > 0 ? wl->target_conc : (cpu < 1000 ? 1 : 80);
    sh->gen1 = cpu < 1000 || mem < 512;
    if (wl->target_rps > 0)
        fbk_note(ck, "/spec/scaling/targetRequestsPerSecond", NULL,
                 "%s scales on concurrency and CPU, not on requests per second: the target is not sent", svc);
}

/* The request timeout in whole seconds, within limit. */
static void run_timeout(const fbk_wl *wl, long long limit_s, const char *what, gcp_shape *sh, fbk_ck *ck)
{
    sh->timeout_s = fbk_ceil_seconds(wl->timeout_ms, 1);
    if (wl->timeout_ms % 1000)
        fbk_note(ck, "/spec/timeout", NULL, "timeout rounded up from %lld ms to %lld s", wl->timeout_ms,
                 sh->timeout_s);
    if (sh->timeout_s > limit_s)
        fbk_err(ck, "/spec/timeout", "lower spec.timeout",
                "%s time out after at most %lld s (%lld min); the spec asks for %lld s", what, limit_s,
                limit_s / 60, sh->timeout_s);
}

/* Environment names Cloud Run (and Cloud Functions) set themselves. */
static const char *reserved_env(const char *name, int functions)
{
    static const char *const run[] = {"PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION"};
    static const char *const gcf[] = {"FUNCTION_TARGET", "FUNCTION_SIGNATURE_TYPE"};
    for (size_t i = 0; i < 4; i++)
        if (!strcmp(name, run[i])) return "Cloud Run";
    if (functions) {
        for (size_t i = 0; i < 2; i++)
            if (!strcmp(name, gcf[i])) return "Cloud Functions";
        if (!strncmp(name, "X_GOOGLE_", 9)) return "Cloud Functions (the X_GOOGLE_ prefix)";
    }
    return NULL;
}

/* A pointer token escaped per RFC 6901. */
static void pointer_token(char *out, size_t n, const char *prefix, const char *tok)
{
    size_t o = (size_t)snprintf(out, n, "%s", prefix);
    for (const char *p = tok; *p && o + 3 < n; p++) {
        if (*p == '~') { out[o++] = '~'; out[o++] = '0'; }
        else if (*p == '/') { out[o++] = '~'; out[o++] = '1'; }
        else out[o++] = *p;
    }
    out[o < n ? o : n - 1] = '\0';
}

/* Reserved environment names in env and in secrets. */
static void check_env(const fbk_wl *wl, int functions, fbk_ck *ck)
{
    char ptr[160];
    const char *k;
    json_t *v;
    json_object_foreach(wl->env, k, v) {
        const char *who = reserved_env(k, functions);
        if (who) {
            pointer_token(ptr, sizeof ptr, "/spec/env/", k);
            fbk_err(ck, ptr, "rename the variable", "%s reserves the environment variable %s", who, k);
        }
    }
    size_t i;
    json_array_foreach(wl->secrets, i, v) {
        const char *e = json_string_value(json_object_get(v, "env"));
        const char *who = e ? reserved_env(e, functions) : NULL;
        if (who) {
            snprintf(ptr, sizeof ptr, "/spec/secrets/%zu/env", i);
            fbk_err(ck, ptr, "rename the variable", "%s reserves the environment variable %s", who, e);
        }
    }
}

/* A Secret Manager secret id: 1-255 of [A-Za-z0-9_-]. */
static int sm_id_ok(const char *s, size_t n)
{
    if (n == 0 || n > 255) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_'))
            return 0;
    }
    return 1;
}

int gcp_parse_secret(const char *ref, const char *dflt_project, char *project, char *secret,
                     char *version, size_t n, const char **why)
{
    char scheme[16];
    const char *rest = NULL;
    *why = "use gcp-sm://projects/PROJECT/secrets/NAME[/versions/VERSION] or gcp-sm://NAME";
    if (!ref || fbk_ref_scheme(ref, scheme, sizeof scheme, &rest) != 0 || strcmp(scheme, "gcp-sm") != 0)
        return -1;
    const char *name = rest;
    snprintf(project, n, "%s", dflt_project);
    if (!strncmp(rest, "projects/", 9)) {
        const char *p = rest + 9, *slash = strchr(p, '/');
        if (!slash || strncmp(slash, "/secrets/", 9) != 0 || (size_t)(slash - p) >= n || slash == p)
            return -1;
        memcpy(project, p, (size_t)(slash - p));
        project[slash - p] = '\0';
        name = slash + 9;
    }
    const char *vers = strstr(name, "/versions/");
    size_t nlen = vers ? (size_t)(vers - name) : strlen(name);
    if (nlen >= n || !sm_id_ok(name, nlen)) {
        *why = "a secret id is 1-255 letters, digits, '-' and '_'";
        return -1;
    }
    memcpy(secret, name, nlen);
    secret[nlen] = '\0';
    const char *v = vers ? vers + 10 : "latest";
    if (!*v || strlen(v) >= n || (strcmp(v, "latest") != 0 && strspn(v, "0123456789") != strlen(v))) {
        *why = "a secret version is \"latest\" or a number";
        return -1;
    }
    snprintf(version, n, "%s", v);
    return 0;
}

/* Every secret must be a Secret Manager reference we can parse. */
static void check_secrets(fb_driver_ctx *ctx, const fbk_wl *wl, const char *svc, fbk_ck *ck)
{
    size_t i;
    json_t *s;
    char ptr[64], p[256], name[256], ver[256];
    json_array_foreach(wl->secrets, i, s) {
        const char *ref = json_string_value(json_object_get(s, "ref"));
        const char *why = NULL;
        snprintf(ptr, sizeof ptr, "/spec/secrets/%zu/ref", i);
        char scheme[16];
        const char *rest;
        if (!ref || fbk_ref_scheme(ref, scheme, sizeof scheme, &rest) != 0 || strcmp(scheme, "gcp-sm") != 0)
            fbk_err(ck, ptr, "store the secret in Secret Manager and use gcp-sm://..., or deny provider gcp",
                    "%s reads secrets from Secret Manager only; '%s' is not a gcp-sm:// reference", svc,
                    ref ? ref : "(missing)");
        else if (gcp_parse_secret(ref, ctx->project, p, name, ver, sizeof name, &why) != 0)
            fbk_err(ck, ptr, why, "bad Secret Manager reference '%s'", ref);
    }
}

/* ---- images --------------------------------------------------------------------- */

/* Registries Cloud Run pulls from itself: Artifact Registry, Container
 * Registry and Docker Hub. */
static int native_registry(const char *host)
{
    size_t n = strlen(host);
    if (!strcmp(host, "docker.io") || !strcmp(host, "index.docker.io") || !strcmp(host, "gcr.io") ||
        !strcmp(host, "docker.pkg.dev"))
        return 1;
    if (n > 7 && !strcmp(host + n - 7, ".gcr.io")) return 1;
    if (n > 15 && !strcmp(host + n - 15, "-docker.pkg.dev")) return 1;
    return 0;
}

/* Works out the image Cloud Run will pull: as given when its registry is
 * one Cloud Run supports, through a configured Artifact Registry remote
 * repository otherwise, else an error. */
static void run_image(fb_driver_ctx *ctx, const fbk_wl *wl, gcp_shape *sh, fbk_ck *ck)
{
    const char *img = wl->image;
    const char *slash = strchr(img, '/');
    char host[256] = "";
    if (slash && (size_t)(slash - img) < sizeof host) {
        memcpy(host, img, (size_t)(slash - img));
        host[slash - img] = '\0';
    }
    /* Docker Hub short forms: no registry host in the first component */
    int has_host = host[0] && (strchr(host, '.') || strchr(host, ':') || !strcmp(host, "localhost"));
    if (!has_host || native_registry(host)) {
        snprintf(sh->image, sizeof sh->image, "%s", img);
        return;
    }
    for (size_t i = 0; i < ctx->nmirrors; i++) {
        if (!strcmp(ctx->mirrors[i].host, host)) {
            snprintf(sh->image, sizeof sh->image, "%s/%s", ctx->mirrors[i].repo, slash + 1);
            fbk_note(ck, "/spec/image", NULL, "Cloud Run pulls %s through the Artifact Registry remote repository %s",
                     host, ctx->mirrors[i].repo);
            return;
        }
    }
    char detail[1024];
    snprintf(detail, sizeof detail,
             "push the image to Artifact Registry, or create an Artifact Registry remote repository for %s "
             "and set the gcp driver setting registryMirrors: {\"%s\": \"REGION-docker.pkg.dev/PROJECT/REPO\"}",
             host, host);
    fbk_err(ck, "/spec/image", detail,
            "Cloud Run pulls images from Artifact Registry, Container Registry and Docker Hub only, not from %s",
            host);
    snprintf(sh->image, sizeof sh->image, "%s", img);
}

/* ---- Cloud Functions runtimes -------------------------------------------------- */

/* Cloud Functions 2nd gen runtime ids this driver places. */
static const char *const gcf_runtimes[] = {
    "python310", "python311", "python312", "nodejs18", "nodejs20", "nodejs22", "go121", "go122",
    "java17", "java21", "ruby32", "ruby33", "dotnet8", "php82", "php83",
};
#define N_GCF_RUNTIMES (sizeof gcf_runtimes / sizeof *gcf_runtimes)

/* Maps a portable runtime name (python3.12, nodejs20, nodejs20.x, go1.22,
 * ruby3.3) to the Cloud Functions id: drop a ".x" suffix and the dots. */
static const char *gcf_runtime(const char *portable)
{
    char id[32];
    size_t o = 0, n = strlen(portable);
    if (n > 2 && !strcmp(portable + n - 2, ".x")) n -= 2;
    for (size_t i = 0; i < n && o + 1 < sizeof id; i++)
        if (portable[i] != '.') id[o++] = portable[i];
    id[o] = '\0';
    for (size_t i = 0; i < N_GCF_RUNTIMES; i++)
        if (!strcmp(gcf_runtimes[i], id)) return gcf_runtimes[i];
    return NULL;
}

/* The source file each runtime loads, for the module part of a handler. */
static const char *gcf_main_module(const char *rt)
{
    if (!strncmp(rt, "python", 6)) return "main";
    if (!strncmp(rt, "nodejs", 6)) return "index";
    if (!strncmp(rt, "ruby", 4)) return "app";
    if (!strncmp(rt, "php", 3)) return "index";
    return NULL;
}

/* Schedule and queue triggers as Cloud Scheduler and Pub/Sub take them:
 * a five-field cron (the spec's form is Scheduler's unix-cron), and a
 * queue name that is a Pub/Sub topic id (3-255 characters, a letter
 * first, not starting with "goog"). */
static void check_triggers(const fbk_wl *wl, fbk_ck *ck)
{
    size_t i;
    json_t *t;
    char ptr[64];
    json_array_foreach(wl->triggers, i, t) {
        const char *q = json_string_value(json_object_get(json_object_get(t, "queue"), "name"));
        if (q) {
            snprintf(ptr, sizeof ptr, "/spec/triggers/%zu/queue/name", i);
            size_t n = strlen(q);
            int letter = (q[0] >= 'a' && q[0] <= 'z') || (q[0] >= 'A' && q[0] <= 'Z');
            if (n < 3 || !letter || !strncasecmp(q, "goog", 4))
                fbk_err(ck, ptr, "use at least 3 characters, a letter first, not starting with goog",
                        "Pub/Sub cannot name a topic '%s'", q);
        }
        const char *cron = json_string_value(json_object_get(json_object_get(t, "schedule"), "cron"));
        if (json_object_get(t, "schedule") && (!cron || !*cron)) {
            snprintf(ptr, sizeof ptr, "/spec/triggers/%zu/schedule/cron", i);
            fbk_err(ck, ptr, "give a five-field cron expression", "a schedule trigger needs a cron expression");
        }
    }
}

/* Cloud Functions 2nd gen: source, runtime, handler, triggers, then the
 * Cloud Run resource rules and the timeout of its kind of function. */
static void check_functions(fb_driver_ctx *ctx, const fbk_wl *wl, gcp_shape *sh, fbk_ck *ck)
{
    (void)ctx;
    if (wl->image)
        fbk_err(ck, "/spec/image", "place image functions on cloud-run",
                "Cloud Functions builds functions from source; this one is an image");
    if (!fbk_dns1035(wl->name, 63))
        fbk_err(ck, "/metadata/name", "use lowercase letters, digits and '-', starting with a letter",
                "Cloud Functions names are at most 63 characters, a letter first; '%s' is not one", wl->name);
    if (!wl->image) {
        sh->runtime = wl->runtime ? gcf_runtime(wl->runtime) : NULL;
        if (!sh->runtime) {
            char list[512] = "";
            for (size_t i = 0; i < N_GCF_RUNTIMES; i++) {
                strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
                strncat(list, gcf_runtimes[i], sizeof list - strlen(list) - 1);
            }
            char detail[640];
            snprintf(detail, sizeof detail,
                     "use a runtime Cloud Functions 2nd gen supports (%s), e.g. python3.12 or nodejs20, "
                     "or place the function elsewhere", list);
            fbk_err(ck, "/spec/runtime", detail, "Cloud Functions has no runtime for '%s'",
                    wl->runtime ? wl->runtime : "(missing)");
        }
        if (!json_is_object(wl->code))
            fbk_err(ck, "/spec/code", "give spec.code.path (the broker uploads it to Cloud Storage)",
                    "a source function needs spec.code");
        else if (json_object_get(wl->code, "s3"))
            fbk_warn(ck, "/spec/code/s3", "use spec.code.path, or make sure the broker can read the S3 object",
                     "Cloud Functions reads source from Cloud Storage: the S3 object is copied to the "
                     "source bucket before deploy");
        const char *h = wl->handler ? wl->handler : "";
        const char *dot = strrchr(h, '.');
        if (!*h) {
            fbk_err(ck, "/spec/handler", "set spec.handler, e.g. main.handler", "a source function needs a handler");
        } else if (sh->runtime && (!strncmp(sh->runtime, "java", 4) || !strncmp(sh->runtime, "dotnet", 6))) {
            snprintf(sh->entry_point, sizeof sh->entry_point, "%s", h); /* a class name */
        } else {
            snprintf(sh->entry_point, sizeof sh->entry_point, "%s", dot ? dot + 1 : h);
            const char *mainmod = sh->runtime ? gcf_main_module(sh->runtime) : NULL;
            if (mainmod && dot && ((size_t)(dot - h) != strlen(mainmod) || strncmp(h, mainmod, (size_t)(dot - h))))
                fbk_warn(ck, "/spec/handler", "rename the file, or add one that re-exports the handler",
                         "Cloud Functions loads the function '%s' from %s (%s runtime), not from module '%.*s'",
                         sh->entry_point, mainmod, sh->runtime, (int)(dot - h), h);
        }
    }
    if (strcmp(wl->arch, "arm64") == 0)
        fbk_note(ck, "/spec/resources/arch", NULL, "Cloud Functions builds and runs source functions on x86_64");
    if (wl->health)
        fbk_warn(ck, "/spec/healthCheck", "remove healthCheck or place the function on cloud-run",
                 "Cloud Functions has no health checks: healthCheck is not sent");
    int http = 0, queue = 0, sched = 0;
    size_t i;
    json_t *t;
    char ptr[64];
    check_triggers(wl, ck);
    json_array_foreach(wl->triggers, i, t) {
        snprintf(ptr, sizeof ptr, "/spec/triggers/%zu", i);
        if (json_object_get(t, "http")) http++;
        if (json_object_get(t, "queue")) {
            if (++queue > 1)
                fbk_err(ck, ptr, "deploy one function per queue", "a Cloud Function has one event trigger");
            long long bs = fbk_int(json_object_get(t, "queue"), "batchSize", 1);
            if (bs > 1)
                fbk_note(ck, ptr, NULL, "Pub/Sub delivers one message per invocation: batchSize %lld is not used",
                         bs);
        }
        if (json_object_get(t, "schedule")) sched++;
    }
    if (http && queue)
        fbk_err(ck, "/spec/triggers", "split it into an HTTP function and an event function",
                "a Cloud Function is either an HTTP function or an event function, not both");
    if (sched && queue)
        fbk_err(ck, "/spec/triggers", "split it into an HTTP function for the schedule and an event function",
                "Cloud Scheduler calls a function over HTTP; an event (queue) function has no HTTP endpoint");
    sh->event_function = queue > 0;
    int e0 = ck->errors;
    run_resources(wl, 1, sh, ck);
    run_timeout(wl, queue ? 540 : 3600, queue ? "event functions" : "HTTP functions", sh, ck);
    sh->shape_errors += ck->errors - e0;
    check_env(wl, 1, ck);
    check_secrets(ctx, wl, "Cloud Functions", ck);
}

/* Cloud Run: name, image, ports, probes, triggers, resources, timeout,
 * env and secrets. */
static void check_run(fb_driver_ctx *ctx, const fbk_wl *wl, gcp_shape *sh, fbk_ck *ck)
{
    check_triggers(wl, ck);
    if (!fbk_dns1035(wl->name, 49))
        fbk_err(ck, "/metadata/name", "use at most 49 lowercase letters, digits and '-', a letter first",
                "Cloud Run service names are at most 49 characters; '%s' is not one", wl->name);
    if (!wl->image || !*wl->image)
        fbk_err(ck, "/spec/image", "place source functions on cloud-functions, or build an image",
                "Cloud Run runs container images; this %s has no spec.image", wl->kind);
    else
        run_image(ctx, wl, sh, ck);
    if (strcmp(wl->arch, "arm64") == 0)
        fbk_err(ck, "/spec/resources/arch", "build a linux/amd64 image, or place it on gke-autopilot",
                "Cloud Run runs linux/amd64 images only");
    if (wl->ports) {
        size_t n = json_array_size(wl->ports);
        if (n > 1)
            fbk_err(ck, "/spec/ports", "keep one port, or place the container on gke-autopilot",
                    "Cloud Run sends requests to one container port; this container has %zu", n);
        size_t i;
        json_t *p;
        char ptr[64];
        json_array_foreach(wl->ports, i, p) {
            const char *proto = json_string_value(json_object_get(p, "protocol"));
            long long port = fbk_int(p, "port", 0);
            if (proto && !strcmp(proto, "tcp")) {
                snprintf(ptr, sizeof ptr, "/spec/ports/%zu/protocol", i);
                fbk_err(ck, ptr, "use http or grpc, or place the container on gke-autopilot",
                        "Cloud Run serves HTTP and gRPC only; port %lld is tcp", port);
            }
            if (port < 1 || port > 65535) {
                snprintf(ptr, sizeof ptr, "/spec/ports/%zu/port", i);
                fbk_err(ck, ptr, "use a port from 1 to 65535", "port %lld is out of range", port);
            }
        }
    }
    if (wl->health) {
        long long d = fbk_ceil_seconds(fbk_int(wl->health, "initialDelayMs", 0), 0);
        long long per = fbk_ceil_seconds(fbk_int(wl->health, "periodMs", 10000), 1);
        long long to = fbk_ceil_seconds(fbk_int(wl->health, "timeoutMs", 1000), 1);
        if (d > 240)
            fbk_err(ck, "/spec/healthCheck/initialDelay", "use 240s or less",
                    "Cloud Run startup probes wait at most 240 s; the spec asks for %lld s", d);
        long long ft = fbk_int(wl->health, "failureThreshold", 3);
        if (per > 240)
            fbk_err(ck, "/spec/healthCheck/period", "use 240s or less",
                    "Cloud Run startup probes run at most every 240 s; the spec asks for %lld s", per);
        else if (ft * per > 240)
            fbk_err(ck, "/spec/healthCheck/failureThreshold", "lower healthCheck.failureThreshold or healthCheck.period",
                    "a Cloud Run startup probe gives up after at most 240 s (failureThreshold x period); "
                    "the spec asks for %lld x %lld s", ft, per);
        if (to > per)
            fbk_err(ck, "/spec/healthCheck/timeout", "make healthCheck.timeout at most healthCheck.period",
                    "Cloud Run probe timeouts must not exceed the period (%lld s > %lld s)", to, per);
    }
    size_t i;
    json_t *t;
    char ptr[64];
    json_array_foreach(wl->triggers, i, t) {
        snprintf(ptr, sizeof ptr, "/spec/triggers/%zu", i);
        long long bs = fbk_int(json_object_get(t, "queue"), "batchSize", 1);
        if (json_object_get(t, "queue") && bs > 1)
            fbk_note(ck, ptr, NULL, "Pub/Sub pushes one message per request: batchSize %lld is not used", bs);
        const char *path = json_string_value(json_object_get(json_object_get(t, "http"), "path"));
        if (path && strcmp(path, "/") != 0)
            fbk_note(ck, ptr, NULL, "Cloud Run serves every path of the service; the trigger path %s is the "
                     "application's business", path);
    }
    if (!strcmp(wl->kind, "Function") && !wl->http_trigger)
        fbk_note(ck, "/spec/triggers", NULL,
                 "Cloud Run starts the container only once it listens on $PORT (8080), even without an http trigger");
    if (wl->eph_mib > 512)
        fbk_note(ck, "/spec/resources/ephemeralStorage", NULL,
                 "Cloud Run's filesystem is in memory: files written count against the memory limit");
    int e0 = ck->errors;
    run_resources(wl, 0, sh, ck);
    run_timeout(wl, 3600, "Cloud Run requests", sh, ck);
    sh->shape_errors += ck->errors - e0;
    check_env(wl, 0, ck);
    check_secrets(ctx, wl, "Cloud Run", ck);
}

/* ---- GKE Autopilot ------------------------------------------------------------- */

void gcp_autopilot_opts(fb_driver_ctx *ctx, const gcp_shape *sh, fbk_k8s_opts *o)
{
    memset(o, 0, sizeof *o);
    o->platform = "GKE Autopilot";
    o->namespace = ctx->gke_namespace;
    o->autopilot = 1;
    o->cpu_m = sh->cpu_m;
    o->mem_mib = sh->mem_mib;
    o->eph_mib = sh->eph_mib;
    o->knative_max_timeout_s = 600;
}

/* Autopilot's general-purpose rules: round up to 250m steps and into the
 * 1..6.5 GiB-per-vCPU band, as Autopilot itself would (a note says so);
 * refuse what exceeds a pod's maximum. */
static void check_autopilot(fb_driver_ctx *ctx, const fbk_wl *wl, gcp_shape *sh, fbk_ck *ck)
{
    int e0 = ck->errors;
    long long cpu = wl->cpu_m < 250 ? 250 : (wl->cpu_m + 249) / 250 * 250;
    long long mem = wl->mem_mib;
    for (int i = 0; i < 4; i++) {
        long long minmem = (cpu * 1024 + 999) / 1000;
        if (mem < minmem) mem = minmem;
        long long maxmem = cpu * 6656 / 1000;
        if (mem > maxmem) cpu = ((mem * 1000 + 6655) / 6656 + 249) / 250 * 250;
    }
    char a[32], b[32];
    if (cpu != wl->cpu_m) {
        fbk_cores(wl->cpu_m, a, sizeof a);
        fbk_cores(cpu, b, sizeof b);
        fbk_note(ck, "/spec/resources/cpu", NULL,
                 "GKE Autopilot cpu rounded up from %s to %s vCPU (steps of 0.25, at least 1 vCPU per 6.5 GiB)", a, b);
    }
    if (mem != wl->mem_mib)
        fbk_note(ck, "/spec/resources/memory", NULL,
                 "GKE Autopilot memory rounded up from %lld MiB to %lld MiB (at least 1 GiB per vCPU)", wl->mem_mib,
                 mem);
    if (cpu > 30000)
        fbk_err(ck, "/spec/resources/cpu", "lower resources.cpu or resources.memory",
                "a GKE Autopilot general-purpose pod has at most 30 vCPU; this one needs %lld millicores", cpu);
    if (mem > 110 * 1024)
        fbk_err(ck, "/spec/resources/memory", "lower resources.memory to 110Gi or less",
                "a GKE Autopilot general-purpose pod has at most 110 GiB; this one needs %lld MiB", mem);
    long long eph = wl->eph_mib < 10 ? 10 : wl->eph_mib;
    if (eph > 10240)
        fbk_err(ck, "/spec/resources/ephemeralStorage", "use 10Gi or less, or mount a volume",
                "a GKE Autopilot general-purpose pod has at most 10 GiB of ephemeral storage; the spec asks for %lld MiB",
                eph);
    sh->shape_errors += ck->errors - e0;
    sh->cpu_m = cpu;
    sh->mem_mib = mem;
    sh->eph_mib = eph;
    sh->min_instances = wl->min_i < 1 ? 1 : wl->min_i; /* a Deployment keeps one replica */
    sh->conc = wl->target_conc;
    sh->timeout_s = fbk_ceil_seconds(wl->timeout_ms, 1);
    fbk_k8s_opts o;
    gcp_autopilot_opts(ctx, sh, &o);
    fbk_k8s_check(wl, &o, 0, ck);
    if (wl->image) snprintf(sh->image, sizeof sh->image, "%s", wl->image);
}

/* ---- entry ------------------------------------------------------------------------ */

int gcp_check(fb_driver_ctx *ctx, json_t *in, fbk_wl *wl, gcp_shape *sh, fbk_ck *ck)
{
    memset(sh, 0, sizeof *sh);
    sh->svc = GCP_UNKNOWN;
    /* secret://NAME: the broker's portable secrets, kept in Secret Manager
     * as fedbroker_TENANT_WORKLOAD_NAME ('_' is in no tenant, workload or
     * secret name); Cloud Run's and Cloud Functions' apply copy the value
     * there (gcp_secrets.c); GKE Autopilot is not deployed by this driver */
    const char *svc0 = json_string_value(json_object_get(json_object_get(in, "placement"), "service"));
    if (fbk_map_portable_secrets(ck->host, ck->diag, in, "gcp-sm://fedbroker_%t_%w_%n", "Google Secret Manager",
                                 svc0 && (!strcmp(svc0, "cloud-run") || !strcmp(svc0, "cloud-functions"))) != 0) {
        ck->errors++;
        return -1;
    }
    if (fbk_wl_load(wl, in, ck) != 0) return -1;
    const char *svc, *region, *kind;
    if (fbk_placement_read(in, ck, &svc, &region, &kind) != 0) return -1;
    sh->svc = gcp_service_of(svc);
    int fn = !strcmp(wl->kind, "Function");
    if (sh->svc == GCP_UNKNOWN || (fn && sh->svc == GCP_AUTOPILOT) || (!fn && sh->svc == GCP_FUNCTIONS)) {
        fbk_err(ck, NULL,
                fn ? "Functions go on cloud-functions (source) or cloud-run (image)"
                   : "Containers go on cloud-run or gke-autopilot",
                "placement.service '%s' is not offered for a %s", svc ? svc : "(missing)", wl->kind);
        sh->svc = GCP_UNKNOWN;
    }
    sh->region = gcp_find_region(ctx, region);
    if (!sh->region)
        fbk_err(ck, NULL, "use a region from the gcp driver's offers (its setting \"regions\")",
                "placement.region '%s' is not offered by the gcp driver", region ? region : "(missing)");
    if (kind && strcmp(kind, wl->kind) != 0)
        fbk_err(ck, NULL, "plan the workload again", "placement.kind %s does not match the workload's kind %s",
                kind, wl->kind);
    if (ck->errors) sh->shape_errors += ck->errors; /* placement: nothing to price */
    if (wl->has_gpu)
        fbk_err(ck, "/spec/resources/gpu", "remove resources.gpu or place the workload elsewhere",
                "the gcp driver does not place GPU workloads");
    switch (sh->svc) {
    case GCP_RUN: check_run(ctx, wl, sh, ck); break;
    case GCP_FUNCTIONS: check_functions(ctx, wl, sh, ck); break;
    case GCP_AUTOPILOT: check_autopilot(ctx, wl, sh, ck); break;
    default: break;
    }
    if (sh->eph_mib == 0) sh->eph_mib = wl->eph_mib;
    return ck->errors ? -1 : 0;
}
