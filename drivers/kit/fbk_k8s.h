/*
 * fbk_k8s.h - Kubernetes documents for a workload: Deployment (apps/v1),
 * Service (v1), HorizontalPodAutoscaler (autoscaling/v2), Ingress
 * (networking.k8s.io/v1) or a Knative Service (serving.knative.dev/v1),
 * and the checks a cluster would otherwise make at apply time.
 *
 * Part of the driver kit (prefix fbk_k8s_): used by drivers/k8s (local
 * clusters) and drivers/gcp (GKE Autopilot). Pure functions of their
 * inputs: same workload and options -> the same documents; thread-safe.
 */
#ifndef FBK_K8S_H
#define FBK_K8S_H

#include "fbk_verb.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How to render: the cluster's conventions and the resources to request
 * (after whatever rounding the platform needs). */
typedef struct fbk_k8s_opts {
    const char *platform;      /* for messages: "Kubernetes", "GKE Autopilot" */
    const char *namespace;     /* borrowed */
    const char *ingress_class; /* NULL: public ports get a LoadBalancer Service */
    int autopilot;             /* limits = requests for cpu, memory, storage */
    long long cpu_m, mem_mib, eph_mib;
    long long knative_max_timeout_s; /* Knative's max-revision-timeout-seconds */
    int cronjobs;              /* schedule triggers become CronJobs (fbk_k8s_render_cronjobs);
                                  0: they are refused */
} fbk_k8s_opts;

/* The port of an image Function with an http trigger (the Cloud Run and
 * Knative convention: the container listens on $PORT = 8080). */
#define FBK_K8S_FUNCTION_PORT 8080

/* Checks a workload against what a Kubernetes cluster accepts and what this
 * renderer can wire: DNS-1035 name, an image, ports, k8s:// secrets,
 * triggers, resources; with knative, also the Knative webhook's rules (one
 * port, HTTP only, containerConcurrency 0..1000, the timeout ceiling).
 * Adds every problem to ck. */
void fbk_k8s_check(const fbk_wl *wl, const fbk_k8s_opts *o, int knative, fbk_ck *ck);

/* Deployment + Service(s) + HorizontalPodAutoscaler (+ Ingress): a new JSON
 * array of {"api", "kind", "name", "namespace", "body"}. Notes about
 * choices (HPA metric, replicas) go to ck. */
json_t *fbk_k8s_render_deployment(const fbk_wl *wl, const fbk_k8s_opts *o, fbk_ck *ck);

/* One Knative Service with autoscaling annotations: a new JSON array with
 * one document. */
json_t *fbk_k8s_render_knative(const fbk_wl *wl, const fbk_k8s_opts *o, fbk_ck *ck);

/* One CronJob (batch/v1) per schedule trigger of a workload that has no
 * http trigger and no ports: "<name>-cron-<i>", the trigger's cron and
 * timeZone, concurrencyPolicy Forbid, a Job running the workload's image to
 * completion (restartPolicy OnFailure). A new JSON array of documents as
 * fbk_k8s_render_deployment's (empty without schedule triggers). */
json_t *fbk_k8s_render_cronjobs(const fbk_wl *wl, const fbk_k8s_opts *o);

/* Whether the workload runs only on schedules (CronJobs, no Deployment):
 * schedule triggers, no http trigger, no ports. */
int fbk_k8s_schedule_only(const fbk_wl *wl);

/* The labels every rendered object carries: the user's labels, then
 * app.kubernetes.io/name, app.kubernetes.io/managed-by=fedbroker,
 * fedbroker.dev/tenant, fedbroker.dev/spec-hash (first 16 hex digits; the
 * full hash is the fedbroker.dev/spec-hash annotation). new. */
json_t *fbk_k8s_labels(const fbk_wl *wl);

/* Sets a probe's timing (Kubernetes Probe fields, which Cloud Run's probes
 * share) from a spec healthCheck object: initialDelaySeconds (when
 * initial_delay), periodSeconds, timeoutSeconds (milliseconds rounded up
 * to whole seconds) and failureThreshold (at least 1). */
void fbk_k8s_probe_timing(json_t *probe, json_t *health, int initial_delay);

/* Kubernetes quantities: 250 -> "250m", 2000 -> "2"; MiB -> "512Mi". */
void fbk_k8s_cpu_quantity(long long millis, char *buf, size_t n);
void fbk_k8s_mib_quantity(long long mib, char *buf, size_t n);

/* 1 when s matches ^[a-z]([-a-z0-9]*[a-z0-9])?$ and is at most max long
 * (a DNS-1035 label: Kubernetes Services, Cloud Run services). */
int fbk_dns1035(const char *s, size_t max);

#ifdef __cplusplus
}
#endif

#endif /* FBK_K8S_H */
