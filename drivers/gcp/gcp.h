/*
 * gcp.h - internals of the "gcp" driver (Cloud Run, Cloud Functions 2nd
 * gen, GKE Autopilot), shared by its source files. Nothing here is exported
 * from the module (-fvisibility=hidden). Prefix: gcp_.
 */
#ifndef FB_DRIVERS_GCP_H
#define FB_DRIVERS_GCP_H

#include "fbk_k8s.h"
#include "fbk_decimal.h"

#define GCP_DRV "gcp"
#define GCP_MAX_REGIONS 64
#define GCP_MAX_MIRRORS 16

/* A Cloud Run region and its price group (tier1/tier2, the catalog's
 * regions.csv price_group column, from infracost's regionTierMapping). */
typedef struct gcp_region {
    const char *id;
    const char *tier;
} gcp_region;

/* Every region where Cloud Run (and so Cloud Run functions and GKE
 * Autopilot) is offered, in the order offers lists them. */
extern const gcp_region gcp_regions[];
extern const size_t gcp_nregions;

/* A registry host Cloud Run cannot pull from, mapped to an Artifact
 * Registry remote repository that proxies it. */
typedef struct gcp_mirror {
    char host[128];
    char repo[256];
} gcp_mirror;

struct fb_driver_ctx {
    char project[64];
    char service_account[256];
    char source_bucket[128];
    char gke_cluster[64];
    char gke_namespace[64];
    const gcp_region *regions[GCP_MAX_REGIONS];
    size_t nregions;
    gcp_mirror mirrors[GCP_MAX_MIRRORS];
    size_t nmirrors;
};

/* The services, by placement.service. */
typedef enum gcp_service {
    GCP_RUN = 0,       /* "cloud-run" */
    GCP_FUNCTIONS = 1, /* "cloud-functions" (2nd gen) */
    GCP_AUTOPILOT = 2, /* "gke-autopilot" */
    GCP_UNKNOWN = -1
} gcp_service;

/* What a workload becomes on one service after the platform's rules:
 * resources rounded to what it accepts, concurrency, billing mode. */
typedef struct gcp_shape {
    gcp_service svc;
    const gcp_region *region;
    long long cpu_m, mem_mib, eph_mib;
    long long conc;         /* maxInstanceRequestConcurrency */
    long long min_instances; /* what is deployed and priced as always running:
                               minInstances, or 1 when scaleToZero is false
                               (Cloud Run, Cloud Functions); max(min, 1) pods
                               on GKE Autopilot */
    int instance_based;     /* Cloud Run: CPU always allocated */
    int gen1;               /* Cloud Run execution environment */
    long long timeout_s;
    const char *runtime;    /* Cloud Functions runtime id, e.g. "python312" */
    char entry_point[160];
    char image[1024];       /* the image to deploy (after registry mirrors) */
    int event_function;     /* Cloud Functions: a queue (Pub/Sub) trigger */
    int shape_errors;       /* errors about placement, resources or timeout:
                               usage cannot price what has them */
} gcp_shape;

/* Checks a workload against a placement and works out its shape. Every
 * problem (error), rounding (note) and caveat (warning) goes to ck.
 * Returns 0 when the workload can be placed (ck->errors == 0). */
int gcp_check(fb_driver_ctx *ctx, json_t *in, fbk_wl *wl, gcp_shape *sh, fbk_ck *ck);

/* The service named s, or GCP_UNKNOWN. */
gcp_service gcp_service_of(const char *s);
const char *gcp_service_name(gcp_service s);

/* The region entry for id among the configured ones (NULL when absent). */
const gcp_region *gcp_find_region(fb_driver_ctx *ctx, const char *id);

/* Kubernetes rendering options for GKE Autopilot with the shape's
 * resources. */
void gcp_autopilot_opts(fb_driver_ctx *ctx, const gcp_shape *sh, fbk_k8s_opts *o);

/* Splits a Secret Manager reference, "gcp-sm://projects/P/secrets/S[/versions/V]"
 * or "gcp-sm://S[/versions/V]" (project dflt_project), into its parts
 * (buffers of n bytes; version "latest" when absent). Returns 0, or -1 with
 * *why (static text). */
int gcp_parse_secret(const char *ref, const char *dflt_project, char *project, char *secret,
                     char *version, size_t n, const char **why);

/* Provider documents (new JSON array) for a checked workload. */
json_t *gcp_render_docs(fb_driver_ctx *ctx, const fbk_wl *wl, const gcp_shape *sh, fbk_ck *ck);

/* Monthly billing quantities (new {"lines", "notes", "coldStartMs",
 * "vcpu"}) for a checked workload. */
json_t *gcp_usage_doc(const fbk_wl *wl, const gcp_shape *sh);

#endif
