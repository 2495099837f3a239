/* k8s.c - Kubernetes and Knative documents for a workload (see fbk_k8s.h).
 * Used by drivers/k8s and drivers/gcp (GKE Autopilot). */
#include "config.h"
#include "fbk_k8s.h"
#include "fbk_decimal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A port the container listens on, from spec.ports (Container) or the
 * http trigger of an image Function. */
typedef struct kport {
    long long port;
    const char *proto; /* http | grpc | tcp */
    int pub;
    long long idx;     /* index in spec.ports, -1 for a Function's port */
    char name[16];     /* DNS-1123 label <= 15: "http-8080" */
} kport;

#define MAX_PORTS 64

/* The ports a workload listens on; their names are "<proto>-<port>"
 * (DNS-1123 labels of at most 15 characters, as Service ports need). */
static size_t effective_ports(const fbk_wl *wl, kport *out)
{
    size_t n = 0;
    if (strcmp(wl->kind, "Container") == 0) {
        size_t i;
        json_t *p;
        json_array_foreach(wl->ports, i, p) {
            if (n == MAX_PORTS) break;
            kport *k = &out[n++];
            k->port = fbk_int(p, "port", 0);
            k->proto = json_string_value(json_object_get(p, "protocol"));
            if (!k->proto) k->proto = "http";
            k->pub = json_is_true(json_object_get(p, "public"));
            k->idx = (long long)i;
        }
    } else if (wl->http_trigger) {
        kport *k = &out[n++];
        k->port = FBK_K8S_FUNCTION_PORT;
        k->proto = "http";
        k->pub = wl->public_http;
        k->idx = -1;
    }
    for (size_t i = 0; i < n; i++)
        snprintf(out[i].name, sizeof out[i].name, "%.4s-%lld", out[i].proto,
                 out[i].port < 0 || out[i].port > 99999 ? 0 : out[i].port);
    return n;
}

/* DNS-1123 subdomain: what Kubernetes accepts as a Secret name. */
static int dns1123_subdomain(const char *s, size_t n)
{
    if (n == 0 || n > 253) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && c != '-' && c != '.') return 0;
        if ((i == 0 || i == n - 1) && !alnum) return 0;
    }
    return 1;
}

/* A Secret key: [-._a-zA-Z0-9]+. */
static int secret_key_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_'))
            return 0;
    }
    return 1;
}

/* Splits "k8s://[NAMESPACE/]NAME#KEY". Returns 0 and fills the parts
 * (copied into the buffers), or -1 with *why. */
static int parse_k8s_ref(const char *rest, char *ns, char *name, char *key, size_t n,
                         const char **why)
{
    const char *hash = strchr(rest, '#');
    if (!hash) {
        *why = "a k8s:// reference names a key: k8s://SECRET#KEY or k8s://NAMESPACE/SECRET#KEY";
        return -1;
    }
    const char *slash = memchr(rest, '/', (size_t)(hash - rest));
    const char *nm = slash ? slash + 1 : rest;
    size_t nslen = slash ? (size_t)(slash - rest) : 0;
    size_t nmlen = (size_t)(hash - nm);
    if (nslen >= n || nmlen >= n || strlen(hash + 1) >= n) {
        *why = "the reference is too long";
        return -1;
    }
    memcpy(ns, rest, nslen);
    ns[nslen] = '\0';
    memcpy(name, nm, nmlen);
    name[nmlen] = '\0';
    snprintf(key, n, "%s", hash + 1);
    if (!dns1123_subdomain(name, nmlen)) {
        *why = "the Secret name must be a DNS-1123 subdomain (lowercase letters, digits, '-', '.')";
        return -1;
    }
    if (!secret_key_ok(key)) {
        *why = "the Secret key must match [-._a-zA-Z0-9]+";
        return -1;
    }
    return 0;
}

void fbk_k8s_check(const fbk_wl *wl, const fbk_k8s_opts *o, int knative, fbk_ck *ck)
{
    const char *plat = o->platform;
    if (!fbk_dns1035(wl->name, 63))
        fbk_err(ck, "/metadata/name", "use lowercase letters, digits and '-', starting with a letter",
                "%s object names are DNS-1035 labels of at most 63 characters; '%s' is not one",
                plat, wl->name);
    if (!wl->image || !*wl->image)
        fbk_err(ck, "/spec/image",
                "build a container image for the function and set spec.image, or place it on a FaaS offer",
                "%s runs container images; this %s has no spec.image", plat, wl->kind);
    if (wl->cpu_m <= 0)
        fbk_err(ck, "/spec/resources/cpu", "request at least 1m of CPU", "cpu must be positive");
    if (wl->mem_mib <= 0)
        fbk_err(ck, "/spec/resources/memory", "request at least 1Mi of memory", "memory must be positive");
    if (wl->has_gpu)
        fbk_err(ck, "/spec/resources/gpu", "remove resources.gpu or place the workload on a GPU offer",
                "this driver does not place GPU workloads on %s", plat);
    if (strcmp(wl->arch, "arm64") == 0)
        fbk_note(ck, "/spec/resources/arch", NULL,
                 "arm64: pods get nodeSelector kubernetes.io/arch=arm64; the cluster needs arm64 nodes");

    kport ports[MAX_PORTS];
    size_t np = effective_ports(wl, ports);
    char ptr[96];
    for (size_t i = 0; i < np; i++) {
        if (ports[i].idx >= 0)
            snprintf(ptr, sizeof ptr, "/spec/ports/%lld/port", ports[i].idx);
        else
            snprintf(ptr, sizeof ptr, "/spec/triggers");
        if (ports[i].port < 1 || ports[i].port > 65535)
            fbk_err(ck, ptr, "use a port from 1 to 65535", "port %lld is out of range", ports[i].port);
        for (size_t j = 0; j < i; j++)
            if (ports[j].port == ports[i].port)
                fbk_err(ck, ptr, "list each port once", "port %lld is listed twice", ports[i].port);
        if (strcmp(ports[i].proto, "http") && strcmp(ports[i].proto, "grpc") && strcmp(ports[i].proto, "tcp"))
            fbk_err(ck, ptr, "use protocol http, grpc or tcp", "unknown protocol %s", ports[i].proto);
    }
    if (wl->health && np == 0 && fbk_int(wl->health, "port", 0) <= 0)
        fbk_err(ck, "/spec/healthCheck/port", "set healthCheck.port to the port the check should reach",
                "the health check has no port to probe: the workload exposes none");
    if (knative) {
        if (np > 1)
            fbk_err(ck, "/spec/ports",
                    "keep one port, or place the workload on the kubernetes offer (a Deployment and Service)",
                    "a Knative Service exposes at most one container port; this workload has %zu", np);
        for (size_t i = 0; i < np; i++) {
            if (strcmp(ports[i].proto, "tcp") == 0) {
                snprintf(ptr, sizeof ptr, "/spec/ports/%lld/protocol", ports[i].idx);
                fbk_err(ck, ptr, "use http or grpc, or place the workload on the kubernetes offer",
                        "Knative serves HTTP and gRPC only; port %lld is tcp", ports[i].port);
            }
        }
        /* Knative's webhook refuses the ports its queue-proxy and
         * autoscaler use in the pod, and the env names it sets itself
         * (knative.dev/serving pkg/apis/serving/k8s_validation.go). Its
         * reserved env names (PORT, K_SERVICE, K_CONFIGURATION, K_REVISION)
         * are refused by the spec itself for every provider (Cloud Run
         * reserves the same ones), secrets' env names included. */
        static const long long reserved_ports[] = {8012, 8013, 8022, 9090, 9091, 8008};
        for (size_t i = 0; i < np; i++)
            for (size_t r = 0; r < sizeof reserved_ports / sizeof reserved_ports[0]; r++)
                if (ports[i].port == reserved_ports[r]) {
                    if (ports[i].idx >= 0) snprintf(ptr, sizeof ptr, "/spec/ports/%lld/port", ports[i].idx);
                    else snprintf(ptr, sizeof ptr, "/spec/triggers");
                    fbk_err(ck, ptr,
                            "listen on another port (e.g. 8080), or place the workload on the kubernetes offer",
                            "Knative reserves ports 8012, 8013, 8022, 9090, 9091 and 8008 for its queue-proxy; "
                            "its webhook refuses port %lld", ports[i].port);
                }
        if (wl->target_conc < 0 || wl->target_conc > 1000)
            fbk_err(ck, "/spec/scaling/targetConcurrency", "use 0 (unlimited) to 1000",
                    "Knative's containerConcurrency is 0..1000; the spec asks for %lld", wl->target_conc);
        long long ts = fbk_ceil_seconds(wl->timeout_ms, 1);
        if (ts > o->knative_max_timeout_s)
            fbk_err(ck, "/spec/timeout",
                    "lower spec.timeout, or raise max-revision-timeout-seconds in Knative's config-defaults "
                    "and set the k8s driver setting knativeMaxTimeoutSeconds to match",
                    "Knative refuses timeoutSeconds %lld: the cluster's ceiling is %lld s", ts,
                    o->knative_max_timeout_s);
    }
    size_t i;
    json_t *s;
    json_array_foreach(wl->secrets, i, s) {
        const char *ref = json_string_value(json_object_get(s, "ref"));
        char scheme[16], ns[256], name[256], key[256];
        const char *rest = NULL, *why = NULL;
        snprintf(ptr, sizeof ptr, "/spec/secrets/%zu/ref", i);
        if (!ref || fbk_ref_scheme(ref, scheme, sizeof scheme, &rest) != 0 || strcmp(scheme, "k8s") != 0) {
            fbk_err(ck, ptr,
                    "store the value in a Kubernetes Secret and use k8s://SECRET#KEY, or deny this provider",
                    "%s reads secrets from Kubernetes Secrets only; '%s' is not a k8s:// reference",
                    plat, ref ? ref : "(missing)");
        } else if (parse_k8s_ref(rest, ns, name, key, sizeof name, &why) != 0) {
            fbk_err(ck, ptr, why, "bad Kubernetes secret reference '%s'", ref);
        } else if (ns[0] && strcmp(ns, o->namespace) != 0) {
            fbk_err(ck, ptr, "copy the Secret into the workload's namespace or change the driver's namespace",
                    "a pod reads Secrets of its own namespace '%s' only; the reference names '%s'",
                    o->namespace, ns);
        }
    }
    json_array_foreach(wl->triggers, i, s) {
        snprintf(ptr, sizeof ptr, "/spec/triggers/%zu", i);
        json_t *sched = json_object_get(s, "schedule");
        if (sched && !o->cronjobs) {
            fbk_err(ck, ptr, "use an http trigger and an external scheduler, or place it on a FaaS offer",
                    "schedule triggers are not rendered for %s (no CronJob support here)", plat);
        } else if (sched && np > 0) {
            fbk_err(ck, ptr, "give the scheduled job its own workload without an http trigger or ports",
                    "%s runs a schedule trigger as a CronJob that runs the image to completion; this workload "
                    "also serves requests (an http trigger or ports)", plat);
        } else if (sched) {
            /* Kubernetes' cron parser (robfig/cron's standard one) has
             * no L, W or # */
            const char *cron = json_string_value(json_object_get(sched, "cron"));
            if (cron && strpbrk(cron, "LW#"))
                fbk_err(ck, ptr, "use a standard five-field expression (*, ranges, lists, steps, names)",
                        "Kubernetes CronJobs do not understand L, W or # in '%s'", cron);
            if (strlen(wl->name) > 45)
                fbk_err(ck, "/metadata/name", "use a name of at most 45 characters",
                        "the CronJob '%s-cron-%zu' would be longer than Kubernetes' 52", wl->name, i);
        }
        if (json_object_get(s, "queue"))
            fbk_warn(ck, ptr, "the container itself must consume the queue (e.g. with its own client)",
                     "%s has no managed queue trigger: queue '%s' is not wired to the workload", plat,
                     json_string_value(json_object_get(json_object_get(s, "queue"), "name")));
    }
}

json_t *fbk_k8s_labels(const fbk_wl *wl)
{
    static const fbk_label_keys keys = {"app.kubernetes.io/name", "app.kubernetes.io/managed-by",
                                        "fedbroker.dev/tenant", "fedbroker.dev/spec-hash"};
    return fbk_labels(wl, &keys);
}

/* The selector: stable across spec changes (a Deployment's selector is
 * immutable). */
static json_t *selector(const fbk_wl *wl)
{
    return json_pack("{s:s,s:s}", "app.kubernetes.io/name", wl->name, "fedbroker.dev/tenant",
                     wl->tenant);
}

/* Object metadata: name, namespace, labels, the full spec hash. */
static json_t *metadata(const fbk_wl *wl, const char *name, const char *ns)
{
    json_t *md = json_pack("{s:s,s:s,s:o}", "name", name, "namespace", ns, "labels", fbk_k8s_labels(wl));
    if (wl->hash[0])
        json_object_set_new(md, "annotations", json_pack("{s:s}", "fedbroker.dev/spec-hash", wl->hash));
    return md;
}

/* env: spec.env sorted by name, then secrets as secretKeyRef; extra
 * (may be NULL) is a PORT variable for Function images. */
static json_t *env_list(const fbk_wl *wl, const char *port_env)
{
    json_t *env = json_array();
    if (port_env) json_array_append_new(env, json_pack("{s:s,s:s}", "name", "PORT", "value", port_env));
    fbk_env_append(env, wl);
    size_t i;
    json_t *s;
    json_array_foreach(wl->secrets, i, s) {
        const char *envn = json_string_value(json_object_get(s, "env"));
        const char *ref = json_string_value(json_object_get(s, "ref"));
        char scheme[16], ns[256], name[256], key[256];
        const char *rest = NULL, *why = NULL;
        if (!envn || !ref || fbk_ref_scheme(ref, scheme, sizeof scheme, &rest) != 0 ||
            strcmp(scheme, "k8s") != 0 || parse_k8s_ref(rest, ns, name, key, sizeof name, &why) != 0)
            continue; /* fbk_k8s_check refused it */
        json_array_append_new(env, json_pack("{s:s,s:{s:{s:s,s:s}}}", "name", envn, "valueFrom",
                                             "secretKeyRef", "name", name, "key", key));
    }
    return env;
}

/* A probe from spec.healthCheck: gRPC health checking on a grpc port,
 * httpGet when a path is given and the port speaks HTTP, else a TCP check
 * (the spec fills path "/" by default, which means nothing on a tcp port). with_port 0 leaves the port
 * to the platform (Knative). */
static json_t *probe(const fbk_wl *wl, const kport *ports, size_t np, int with_port)
{
    json_t *h = wl->health;
    const char *path = json_string_value(json_object_get(h, "path"));
    long long hp = fbk_int(h, "port", np ? ports[0].port : 0);
    int grpc = 0;
    for (size_t i = 0; i < np; i++) {
        if (ports[i].port != hp) continue;
        if (strcmp(ports[i].proto, "tcp") == 0) path = NULL;
        if (strcmp(ports[i].proto, "grpc") == 0) grpc = 1;
    }
    json_t *p = json_object();
    if (grpc) {
        /* gRPC health checking; Kubernetes needs the port even on Knative */
        json_object_set_new(p, "grpc", json_pack("{s:I}", "port", (json_int_t)hp));
    } else if (path) {
        json_t *get = json_pack("{s:s}", "path", path);
        if (with_port && hp > 0) json_object_set_new(get, "port", json_integer(hp));
        json_object_set_new(p, "httpGet", get);
    } else {
        json_t *tcp = json_object();
        if (with_port && hp > 0) json_object_set_new(tcp, "port", json_integer(hp));
        json_object_set_new(p, "tcpSocket", tcp);
    }
    fbk_k8s_probe_timing(p, h, 1);
    return p;
}

void fbk_k8s_probe_timing(json_t *probe, json_t *health, int initial_delay)
{
    json_t *h = health;
    if (initial_delay)
        json_object_set_new(probe, "initialDelaySeconds",
                            json_integer(fbk_ceil_seconds(fbk_int(h, "initialDelayMs", 0), 0)));
    json_object_set_new(probe, "periodSeconds", json_integer(fbk_ceil_seconds(fbk_int(h, "periodMs", 10000), 1)));
    json_object_set_new(probe, "timeoutSeconds", json_integer(fbk_ceil_seconds(fbk_int(h, "timeoutMs", 1000), 1)));
    long long ft = fbk_int(h, "failureThreshold", 3);
    json_object_set_new(probe, "failureThreshold", json_integer(ft < 1 ? 1 : ft));
}

/* Requests from the options; limits: memory only on a plain cluster (no
 * CPU throttling), everything on Autopilot, which sets limits = requests. */
static json_t *resources(const fbk_k8s_opts *o)
{
    char cpu[32], mem[32], eph[32];
    fbk_k8s_cpu_quantity(o->cpu_m, cpu, sizeof cpu);
    fbk_k8s_mib_quantity(o->mem_mib, mem, sizeof mem);
    fbk_k8s_mib_quantity(o->eph_mib, eph, sizeof eph);
    json_t *req = json_pack("{s:s,s:s,s:s}", "cpu", cpu, "memory", mem, "ephemeral-storage", eph);
    json_t *lim = o->autopilot ? json_deep_copy(req) : json_pack("{s:s}", "memory", mem);
    return json_pack("{s:o,s:o}", "requests", req, "limits", lim);
}

/* The one container of the pod or Knative revision. */
static json_t *container(const fbk_wl *wl, const fbk_k8s_opts *o, const kport *ports, size_t np,
                         int knative)
{
    json_t *c = json_pack("{s:s,s:s}", "name", wl->name, "image", wl->image ? wl->image : "");
    fbk_set_command_args(c, wl);
    if (np) {
        json_t *pl = json_array();
        for (size_t i = 0; i < np; i++) {
            if (knative)
                json_array_append_new(pl, json_pack("{s:s,s:I}", "name",
                                                    strcmp(ports[i].proto, "grpc") ? "http1" : "h2c",
                                                    "containerPort", (json_int_t)ports[i].port));
            else
                json_array_append_new(pl, json_pack("{s:s,s:I,s:s}", "name", ports[i].name,
                                                    "containerPort", (json_int_t)ports[i].port,
                                                    "protocol", "TCP"));
        }
        json_object_set_new(c, "ports", pl);
    }
    /* An image Function follows the Cloud Run contract (listen on $PORT);
     * Knative sets PORT itself and refuses it in env. */
    int fn_port = strcmp(wl->kind, "Function") == 0 && np && !knative;
    json_t *env = env_list(wl, fn_port ? "8080" : NULL);
    if (json_array_size(env)) json_object_set_new(c, "env", env);
    else json_decref(env);
    json_object_set_new(c, "resources", resources(o));
    if (wl->health) {
        json_object_set_new(c, "readinessProbe", probe(wl, ports, np, !knative));
        json_object_set_new(c, "livenessProbe", probe(wl, ports, np, !knative));
    }
    return c;
}

/* Pod spec around the container; arm64 pins the node architecture. */
static json_t *pod_spec(const fbk_wl *wl, json_t *c)
{
    json_t *ps = json_pack("{s:[o]}", "containers", c);
    if (strcmp(wl->arch, "arm64") == 0)
        json_object_set_new(ps, "nodeSelector", json_pack("{s:s}", "kubernetes.io/arch", "arm64"));
    return ps;
}

/* The wrapper the broker shows and applies: api, kind, name, namespace. */
static json_t *document(const char *api, const char *kind, const char *name, const char *ns,
                        json_t *body)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:o}", "api", api, "kind", kind, "name", name, "namespace",
                     ns, "body", body);
}

/* A Service over some of the ports. */
static json_t *service(const fbk_wl *wl, const char *name, const char *ns, const char *type,
                       const kport *ports, size_t np, int public_only)
{
    json_t *pl = json_array();
    for (size_t i = 0; i < np; i++) {
        if (public_only && !ports[i].pub) continue;
        json_t *sp = json_pack("{s:s,s:I,s:I,s:s}", "name", ports[i].name, "port",
                               (json_int_t)ports[i].port, "targetPort", (json_int_t)ports[i].port,
                               "protocol", "TCP");
        if (strcmp(ports[i].proto, "http") == 0) json_object_set_new(sp, "appProtocol", json_string("http"));
        if (strcmp(ports[i].proto, "grpc") == 0)
            json_object_set_new(sp, "appProtocol", json_string("kubernetes.io/h2c"));
        json_array_append_new(pl, sp);
    }
    json_t *body = json_pack("{s:s,s:s,s:o,s:{s:s,s:o,s:o}}", "apiVersion", "v1", "kind", "Service",
                             "metadata", metadata(wl, name, ns), "spec", "type", type, "selector",
                             selector(wl), "ports", pl);
    return document("v1", "Service", name, ns, body);
}

json_t *fbk_k8s_render_deployment(const fbk_wl *wl, const fbk_k8s_opts *o, fbk_ck *ck)
{
    kport ports[MAX_PORTS];
    size_t np = effective_ports(wl, ports);
    const char *ns = o->namespace;
    json_t *docs = json_array();
    long long minr = wl->min_i < 1 ? 1 : wl->min_i;
    long long maxr = wl->max_i < minr ? minr : wl->max_i;
    int hpa = maxr > minr;
    if (wl->min_i < 1)
        fbk_note(ck, "/spec/scaling/minInstances",
                 "place the workload on a Knative offer to scale to zero",
                 "a Deployment keeps at least 1 replica on %s (the spec allows 0)", o->platform);

    json_t *tmpl = json_pack("{s:{s:o},s:o}", "metadata", "labels", fbk_k8s_labels(wl), "spec",
                             pod_spec(wl, container(wl, o, ports, np, 0)));
    json_t *dspec = json_pack("{s:{s:o},s:o}", "selector", "matchLabels", selector(wl), "template", tmpl);
    /* With an HPA the autoscaler owns replicas; setting them here would
     * fight it on every apply. */
    if (!hpa) json_object_set_new(dspec, "replicas", json_integer(minr));
    json_t *dep = json_pack("{s:s,s:s,s:o,s:o}", "apiVersion", "apps/v1", "kind", "Deployment",
                            "metadata", metadata(wl, wl->name, ns), "spec", dspec);
    json_array_append_new(docs, document("apps/v1", "Deployment", wl->name, ns, dep));

    if (np) {
        json_array_append_new(docs, service(wl, wl->name, ns, "ClusterIP", ports, np, 0));
        size_t npub = 0, http_pub = (size_t)-1;
        for (size_t i = 0; i < np; i++) {
            if (!ports[i].pub) continue;
            npub++;
            if (http_pub == (size_t)-1 && strcmp(ports[i].proto, "http") == 0) http_pub = i;
        }
        if (npub && o->ingress_class && http_pub != (size_t)-1) {
            const char *path = "/";
            size_t i;
            json_t *t;
            json_array_foreach(wl->triggers, i, t) {
                const char *tp = json_string_value(json_object_get(json_object_get(t, "http"), "path"));
                if (tp) { path = tp; break; }
            }
            json_t *ing = json_pack(
                "{s:s,s:s,s:o,s:{s:s,s:[{s:{s:[{s:s,s:s,s:{s:{s:s,s:{s:I}}}}]}}]}}", "apiVersion",
                "networking.k8s.io/v1", "kind", "Ingress", "metadata", metadata(wl, wl->name, ns),
                "spec", "ingressClassName", o->ingress_class, "rules", "http", "paths", "path", path,
                "pathType", "Prefix", "backend", "service", "name", wl->name, "port", "number",
                (json_int_t)ports[http_pub].port);
            json_array_append_new(docs, document("networking.k8s.io/v1", "Ingress", wl->name, ns, ing));
            if (npub > 1)
                fbk_warn(ck, "/spec/ports", "expose the other public ports with their own load balancer",
                         "the Ingress routes the first public http port only");
        } else if (npub) {
            char pubname[80];
            snprintf(pubname, sizeof pubname, "%s-public", wl->name);
            json_array_append_new(docs, service(wl, pubname, ns, "LoadBalancer", ports, np, 1));
        }
    }

    if (hpa) {
        /* the metrics the spec names (the HPA follows the largest of their
         * proposals), CPU when it names none */
        json_t *metrics = json_array();
        char av[32];
        if (wl->target_rps > 0) {
            snprintf(av, sizeof av, "%lld", wl->target_rps);
            json_array_append_new(metrics, json_pack("{s:s,s:{s:{s:s},s:{s:s,s:s}}}", "type", "Pods", "pods",
                                                     "metric", "name", "http_requests_per_second", "target",
                                                     "type", "AverageValue", "averageValue", av));
            fbk_note(ck, "/spec/scaling/targetRequestsPerSecond",
                     "install a custom-metrics adapter (e.g. prometheus-adapter) serving it",
                     "the HPA scales on the per-pod metric http_requests_per_second");
        }
        if (wl->target_conc > 0) {
            snprintf(av, sizeof av, "%lld", (long long)wl->target_conc);
            json_array_append_new(metrics, json_pack("{s:s,s:{s:{s:s},s:{s:s,s:s}}}", "type", "Pods", "pods",
                                                     "metric", "name", "http_requests_in_flight", "target",
                                                     "type", "AverageValue", "averageValue", av));
            fbk_note(ck, "/spec/scaling/targetConcurrency",
                     "install a custom-metrics adapter (e.g. prometheus-adapter) serving the pods' in-flight "
                     "request gauge under that name",
                     "the HPA scales on the per-pod metric http_requests_in_flight (requests being served)");
        }
        if (!json_array_size(metrics))
            json_array_append_new(metrics, json_pack("{s:s,s:{s:s,s:{s:s,s:i}}}", "type", "Resource", "resource",
                                                     "name", "cpu", "target", "type", "Utilization",
                                                     "averageUtilization", 70));
        json_t *h = json_pack("{s:s,s:s,s:o,s:{s:{s:s,s:s,s:s},s:I,s:I,s:o}}", "apiVersion",
                              "autoscaling/v2", "kind", "HorizontalPodAutoscaler", "metadata",
                              metadata(wl, wl->name, ns), "spec", "scaleTargetRef", "apiVersion",
                              "apps/v1", "kind", "Deployment", "name", wl->name, "minReplicas",
                              (json_int_t)minr, "maxReplicas", (json_int_t)maxr, "metrics", metrics);
        json_array_append_new(docs, document("autoscaling/v2", "HorizontalPodAutoscaler", wl->name, ns, h));
    }
    return docs;
}

int fbk_k8s_schedule_only(const fbk_wl *wl)
{
    kport ports[MAX_PORTS];
    return wl->schedule_triggers > 0 && effective_ports(wl, ports) == 0;
}

json_t *fbk_k8s_render_cronjobs(const fbk_wl *wl, const fbk_k8s_opts *o)
{
    json_t *docs = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(wl->triggers, i, t) {
        json_t *sched = json_object_get(t, "schedule");
        if (!sched) continue;
        char name[96];
        snprintf(name, sizeof name, "%s-cron-%zu", wl->name, i);
        json_t *c = container(wl, o, NULL, 0, 0);
        /* a job has no probes: it runs and exits */
        json_object_del(c, "readinessProbe");
        json_object_del(c, "livenessProbe");
        json_t *ps = pod_spec(wl, c);
        json_object_set_new(ps, "restartPolicy", json_string("OnFailure"));
        json_t *spec = json_pack("{s:s,s:s,s:{s:{s:I,s:{s:{s:o},s:o}}}}", "schedule",
                                 json_string_value(json_object_get(sched, "cron")), "concurrencyPolicy", "Forbid",
                                 "jobTemplate", "spec", "backoffLimit", (json_int_t)2, "template", "metadata",
                                 "labels", fbk_k8s_labels(wl), "spec", ps);
        const char *tz = json_string_value(json_object_get(sched, "timezone"));
        if (tz && *tz) json_object_set_new(spec, "timeZone", json_string(tz));
        json_t *body = json_pack("{s:s,s:s,s:o,s:o}", "apiVersion", "batch/v1", "kind", "CronJob", "metadata",
                                 metadata(wl, name, o->namespace), "spec", spec);
        json_array_append_new(docs, document("batch/v1", "CronJob", name, o->namespace, body));
    }
    return docs;
}

json_t *fbk_k8s_render_knative(const fbk_wl *wl, const fbk_k8s_opts *o, fbk_ck *ck)
{
    (void)ck;
    kport ports[MAX_PORTS];
    size_t np = effective_ports(wl, ports);
    if (np > 1) np = 1; /* fbk_k8s_check refused more */
    const char *ns = o->namespace;
    char buf[32];
    json_t *ann = json_object();
    long long mins = wl->scale_to_zero ? 0 : (wl->min_i < 1 ? 1 : wl->min_i);
    snprintf(buf, sizeof buf, "%lld", mins);
    json_object_set_new(ann, "autoscaling.knative.dev/min-scale", json_string(buf));
    snprintf(buf, sizeof buf, "%lld", wl->max_i < (mins ? mins : 1) ? (mins ? mins : 1) : wl->max_i);
    json_object_set_new(ann, "autoscaling.knative.dev/max-scale", json_string(buf));
    if (wl->target_rps > 0) {
        json_object_set_new(ann, "autoscaling.knative.dev/metric", json_string("rps"));
        snprintf(buf, sizeof buf, "%lld", wl->target_rps);
        json_object_set_new(ann, "autoscaling.knative.dev/target", json_string(buf));
    } else if (wl->target_conc > 0) {
        json_object_set_new(ann, "autoscaling.knative.dev/metric", json_string("concurrency"));
        snprintf(buf, sizeof buf, "%lld", wl->target_conc);
        json_object_set_new(ann, "autoscaling.knative.dev/target", json_string(buf));
    }
    if (mins == 0)
        json_object_set_new(ann, "autoscaling.knative.dev/scale-to-zero-pod-retention-period",
                            json_string("0s"));
    json_t *c = container(wl, o, ports, np, 1);
    json_t *rspec = pod_spec(wl, c);
    json_object_set_new(rspec, "containerConcurrency",
                        json_integer(wl->target_conc > 0 ? wl->target_conc : 0));
    json_object_set_new(rspec, "timeoutSeconds", json_integer(fbk_ceil_seconds(wl->timeout_ms, 1)));
    json_t *md = metadata(wl, wl->name, ns);
    if (!wl->public_http)
        json_object_set_new(json_object_get(md, "labels"), "networking.knative.dev/visibility",
                            json_string("cluster-local"));
    json_t *body = json_pack("{s:s,s:s,s:o,s:{s:{s:{s:o,s:o},s:o}}}", "apiVersion",
                             "serving.knative.dev/v1", "kind", "Service", "metadata", md, "spec",
                             "template", "metadata", "labels", fbk_k8s_labels(wl), "annotations", ann,
                             "spec", rspec);
    json_t *docs = json_array();
    json_array_append_new(docs, document("serving.knative.dev/v1", "Service", wl->name, ns, body));
    return docs;
}

void fbk_k8s_cpu_quantity(long long millis, char *buf, size_t n)
{
    if (millis % 1000 == 0) snprintf(buf, n, "%lld", millis / 1000);
    else snprintf(buf, n, "%lldm", millis);
}

void fbk_k8s_mib_quantity(long long mib, char *buf, size_t n)
{
    if (mib % 1024 == 0) snprintf(buf, n, "%lldGi", mib / 1024);
    else snprintf(buf, n, "%lldMi", mib);
}

int fbk_dns1035(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max) return 0;
    if (s[0] < 'a' || s[0] > 'z') return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return 0;
    }
    return s[n - 1] != '-';
}
