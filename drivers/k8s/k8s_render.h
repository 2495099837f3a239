/*
 * k8s_render.h - Kubernetes documents for a workload: Deployment (apps/v1),
 * Service (v1), HorizontalPodAutoscaler (autoscaling/v2), Ingress
 * (networking.k8s.io/v1) or a Knative Service (serving.knative.dev/v1),
 * and the checks a cluster would otherwise make at apply time.
 *
 * Shared by drivers/k8s (local clusters) and drivers/gcp (GKE Autopilot):
 * k8s_render.c is compiled into both modules. Pure functions of their
 * inputs: same workload and options -> the same documents.
 */
#ifndef FB_DRIVERS_K8S_RENDER_H
#define FB_DRIVERS_K8S_RENDER_H

#include "k8s_util.h"

/* How to render: the cluster's conventions and the resources to request
 * (after whatever rounding the platform needs). */
typedef struct k8s_opts {
    const char *platform;      /* for messages: "Kubernetes", "GKE Autopilot" */
    const char *namespace;     /* borrowed */
    const char *ingress_class; /* NULL: public ports get a LoadBalancer Service */
    int autopilot;             /* limits = requests for cpu, memory, storage */
    long long cpu_m, mem_mib, eph_mib;
    long long knative_max_timeout_s; /* Knative's max-revision-timeout-seconds */
} k8s_opts;

/* The port of an image Function with an http trigger (the Cloud Run and
 * Knative convention: the container listens on $PORT = 8080). */
#define K8S_FUNCTION_PORT 8080

/* Checks a workload against what a Kubernetes cluster accepts and what this
 * renderer can wire: DNS-1035 name, an image, ports, k8s:// secrets,
 * triggers, resources; with knative, also the Knative webhook's rules (one
 * port, HTTP only, containerConcurrency 0..1000, the timeout ceiling).
 * Adds every problem to ck. */
void k8s_check(const k8s_wl *wl, const k8s_opts *o, int knative, k8s_ck *ck);

/* Deployment + Service(s) + HorizontalPodAutoscaler (+ Ingress): a new JSON
 * array of {"api", "kind", "name", "namespace", "body"}. Notes about
 * choices (HPA metric, replicas) go to ck. */
json_t *k8s_render_deployment(const k8s_wl *wl, const k8s_opts *o, k8s_ck *ck);

/* One Knative Service with autoscaling annotations: a new JSON array with
 * one document. */
json_t *k8s_render_knative(const k8s_wl *wl, const k8s_opts *o, k8s_ck *ck);

/* The labels every rendered object carries: the user's labels, then
 * app.kubernetes.io/name, app.kubernetes.io/managed-by=fedbroker,
 * fedbroker.dev/tenant, fedbroker.dev/spec-hash (first 16 hex digits; the
 * full hash is the fedbroker.dev/spec-hash annotation). new. */
json_t *k8s_labels(const k8s_wl *wl);

#endif
