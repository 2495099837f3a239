/*
 * qd.h - internals of the "quantum" driver (drivers/quantum/): one driver,
 * three backends (local simulator, Amazon Braket, IBM Quantum). Everything
 * here is static to the driver's .so (built with -fvisibility=hidden); the
 * qd_ prefix keeps the names apart from the kit's fbk_ and the quantum
 * library's fbq_.
 *
 * Memory: functions returning char * or json_t * say "new" (free() /
 * json_decref) or "borrowed"; buffers handed to the host come from
 * host->alloc through fbk_json_out.
 */
#ifndef QD_H
#define QD_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "fbk.h"
#include "fbq.h"

#define QD_DRV "quantum"

typedef enum qd_backend { QD_LOCAL = 0, QD_BRAKET = 1, QD_IBM = 2 } qd_backend;

/* One device the driver can place jobs on. The table (qd_devices in
 * quantum.c) is the single list offers, validate, render and usage read. */
typedef struct qd_device {
    qd_backend backend;
    const char *service;      /* offer service: "local", "braket-sv1", "ibm-fez" */
    const char *device;       /* provider's device name: "SV1", "Forte-1", "ibm_fez" */
    const char *arn;          /* Braket device ARN, else NULL */
    const char *vendor;       /* "Amazon", "IonQ", "IBM", "fedbroker" */
    const char *processor;    /* "Heron r2", "state vector", ... */
    const char *variant;      /* catalog variant ("sv1", "ionq-forte"), NULL: unpriced */
    int qubits;               /* 0 for local: derived from the memory limit */
    int simulator;
    uint32_t min_shots, max_shots;
    const char *shots_source; /* where the shot range comes from */
    const char *params_schema;/* Braket deviceParameters braketSchemaHeader.name */
    const char *regions[5];   /* regions it runs in (NULL-terminated) */
} qd_device;

extern const qd_device qd_devices[];
extern const size_t qd_ndevices;

#define QD_MAX_REGIONS 8

/* Driver settings (the drivers.quantum section), see README.md. */
struct fb_driver_ctx {
    uint64_t memory_limit;          /* bytes for local state vectors */
    int enabled[3];                 /* backends offered */
    int64_t queue_s[4];             /* local, braket simulator, braket QPU, ibm */
    /* Braket */
    char braket_endpoint[512];      /* "" = https://braket.REGION.amazonaws.com */
    char braket_regions[QD_MAX_REGIONS][32];
    size_t braket_nregions;         /* 0 = every region a device runs in */
    char s3_bucket[64];             /* "" = not configured */
    char s3_prefix[256];
    char aws_profile[128];
    char sts_endpoint[512];
    char s3_endpoint[512];          /* "" = https://BUCKET.s3.REGION.amazonaws.com (path style with an endpoint) */
    char s3_region[32];             /* "" = the task's region */
    uint32_t braket_poll_ms;
    int64_t braket_timeout_s;
    /* IBM */
    char ibm_endpoint[2][512];      /* us-east, eu-de */
    char iam_endpoint[512];
    char service_crn[512];
    char api_key_file[1024];
    char token_file[1024];
    char ibm_api_version[32];
    uint32_t ibm_poll_ms;
    int64_t ibm_timeout_s;
    /* IAM bearer tokens, shared by the verbs running on this ctx (new in
     * configure, freed in teardown; thread-safe). */
    struct fbk_token_cache *tokens;
};

/* Queue-latency classes for queue_s. */
enum { QD_Q_LOCAL = 0, QD_Q_BRAKET_SIM = 1, QD_Q_BRAKET_QPU = 2, QD_Q_IBM = 3 };

/* The host table kept by fb_driver_entry. */
extern const fb_host *qd_host;

/* A parsed call: the workload, its placement, the device and the program.
 * Filled by qd_prepare; released by qd_job_clear. */
typedef struct qd_job {
    json_t *in;                 /* the whole input (owned) */
    json_t *workload;           /* borrowed from in */
    json_t *spec;               /* borrowed */
    const qd_device *dev;
    const char *region;         /* borrowed from in */
    const char *mode;           /* "plan", "render", "dry-run", "apply" (never NULL) */
    const char *name, *tenant, *spec_hash; /* borrowed; never NULL */
    const char *source;         /* program text, borrowed */
    fbq_program *prog;          /* new */
    int qubits, clbits, dynamic;
    uint64_t shots, seed;
    int has_seed;
    int64_t deadline_ms;        /* 0 = none */
    char *qasm3;                /* new: converted program (NULL for local) */
} qd_job;

/* Parses a verb's {"workload", "placement", "mode"} input and checks the
 * job against the device, adding every problem as a diagnostic with a JSON
 * pointer. need_deploy: also check what dry-run/apply need (settings).
 * Returns FB_OK with *job filled, or an error (job cleared). */
fb_status qd_prepare(fb_driver_ctx *c, const char *in_json, qd_job *job, fb_diag *diag);
void qd_job_clear(qd_job *job);

/* Finds the device of a placement ({"service", "region", "offer"}) or of a
 * deployment ({"service", "state": {"backend", "device"}}). borrowed. */
const qd_device *qd_device_by_service(const char *service);

/* Queue seconds of a device under the settings. */
int64_t qd_queue_seconds(const fb_driver_ctx *c, const qd_device *d);

/* Largest qubit count whose state vector (16 B x 2^n) fits limit. */
int qd_local_max_qubits(uint64_t limit);

/* The deterministic job id / idempotency token of a job: lower-case hex
 * SHA-256 over what makes the run (tenant, name, device, program, shots,
 * seed), into out[65]. */
void qd_job_id(const qd_job *job, char out[65]);

/* ---- backends (qd_local.c, qd_braket.c, qd_ibm.c) -------------------------- */

/* Each returns the verb's output object (new) through *out. */
/* The cloud id (state.KEY) and region of a remote deployment; -1 with a
 * diagnostic naming the backend (what) when apply's state lacks them. */
int qd_deployment_id(json_t *dep, const char *key, const char *what, const char **id,
                     const char **region, fb_diag *diag);
/* apply's output {state, resources: [res], result?}; steals state, result and
 * res, and on a failure status releases them and returns it. */
/* After a create answered 2xx: the new id under `key` in its JSON body
 * (*id, new), recorded at once through host->record as {type, id, region,
 * device} so a crash cannot orphan it. what names the call in errors. */
fb_status qd_take_created(const fb_http_response *resp, const char *key, const char *what,
                          const char *type, const char *region, const char *device, char **id,
                          fb_diag *diag);
fb_status qd_apply_output(fb_status st, json_t *state, json_t *result, json_t *res, json_t **out);

fb_status qd_local_apply(fb_driver_ctx *c, qd_job *job, json_t **out, fb_diag *diag);
json_t *qd_local_render(fb_driver_ctx *c, qd_job *job);

json_t *qd_braket_body(fb_driver_ctx *c, qd_job *job, int for_render);
char *qd_braket_url(fb_driver_ctx *c, const char *region, const char *path);
fb_status qd_braket_apply(fb_driver_ctx *c, qd_job *job, json_t *prior, json_t **out, fb_diag *diag);
fb_status qd_braket_observe(fb_driver_ctx *c, json_t *dep, json_t **out, fb_diag *diag);
fb_status qd_braket_destroy(fb_driver_ctx *c, json_t *dep, json_t **out, fb_diag *diag);

json_t *qd_ibm_body(fb_driver_ctx *c, qd_job *job);
const char *qd_ibm_endpoint(fb_driver_ctx *c, const char *region);
fb_status qd_ibm_apply(fb_driver_ctx *c, qd_job *job, json_t *prior, json_t **out, fb_diag *diag);
fb_status qd_ibm_observe(fb_driver_ctx *c, json_t *dep, json_t **out, fb_diag *diag);
fb_status qd_ibm_destroy(fb_driver_ctx *c, json_t *dep, json_t **out, fb_diag *diag);

/* Converts IBM Sampler V2 samples (data of one pub) to counts keyed like
 * the local simulator's outcomes (registers in layout order, leftmost
 * first, each register's highest bit leftmost). layout: the registers as
 * fbq_outcome_layout gives them ("c1 c0"). Returns counts (new) or NULL
 * with *err (new). Exposed for tests through the ibm backend only. */
json_t *qd_ibm_counts(json_t *data, const char *layout, uint64_t shots, char **err);

#endif
