/*
 * quantum.c - the "quantum" driver: QuantumJobs on three backends.
 *
 *   local   fedbroker's state-vector simulator (quantum/libfbq), run in the
 *           broker's process: no account, no network (qd_local.c)
 *   braket  Amazon Braket CreateQuantumTask / GetQuantumTask /
 *           CancelQuantumTask, SigV4 through the kit (qd_braket.c)
 *   ibm     IBM Quantum Platform (Qiskit Runtime) Sampler V2 jobs over REST
 *           with an IAM bearer token (qd_ibm.c)
 *
 * This file holds the device table, the settings, the checks every verb
 * shares (qd_prepare), offers, validate, render, usage and the dispatch of
 * apply/observe/destroy to the backends. README.md describes the settings,
 * the documents and the assumptions of the cost estimates.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "qd.h"
#include "fbk_decimal.h"
#include "fbk_oauth2.h"

const fb_host *qd_host;

/* The devices. Qubit counts, ARNs and regions: AWS's device properties
 * (catalog/SOURCE.md Q2) and IBM's backend list; shot ranges: see
 * shots_source. A row with variant NULL has no sourced price: usage says
 * so instead of guessing. */
const qd_device qd_devices[] = {
    {QD_LOCAL, "local", "statevector", NULL, "fedbroker", "state vector (quantum/)", "statevector",
     0, 1, 1, 1000000, "the spec's own limit (1..1000000)", NULL, {"local", NULL}},
    {QD_BRAKET, "braket-sv1", "SV1", "arn:aws:braket:::device/quantum-simulator/amazon/sv1", "Amazon",
     "state-vector simulator", "sv1", 34, 1, 1, 100000, "GetDevice shotsRange (catalog/SOURCE.md Q2)",
     "braket.device_schema.simulators.gate_model_simulator_device_parameters",
     {"us-east-1", "us-west-1", "us-west-2", "eu-west-2", NULL}},
    {QD_BRAKET, "braket-dm1", "DM1", "arn:aws:braket:::device/quantum-simulator/amazon/dm1", "Amazon",
     "density-matrix simulator", NULL, 17, 1, 1, 100000, "assumed equal to SV1's",
     "braket.device_schema.simulators.gate_model_simulator_device_parameters",
     {"us-east-1", "us-west-1", "us-west-2", "eu-west-2", NULL}},
    {QD_BRAKET, "braket-tn1", "TN1", "arn:aws:braket:::device/quantum-simulator/amazon/tn1", "Amazon",
     "tensor-network simulator", NULL, 50, 1, 1, 100000, "assumed equal to SV1's",
     "braket.device_schema.simulators.gate_model_simulator_device_parameters",
     {"us-east-1", "us-west-2", "eu-west-2", NULL}},
    {QD_BRAKET, "braket-ionq-forte-1", "Forte-1", "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1", "IonQ",
     "trapped ion (Forte)", "ionq-forte", 36, 0, 1, 10000, "IonQ's 10,000 shots per job (assumption)",
     "braket.device_schema.ionq.ionq_device_parameters", {"us-east-1", NULL}},
    {QD_BRAKET, "braket-rigetti-ankaa-3", "Ankaa-3", "arn:aws:braket:us-west-1::device/qpu/rigetti/Ankaa-3",
     "Rigetti", "superconducting (Ankaa)", "rigetti-ankaa", 84, 0, 1, 100000,
     "assumed equal to the simulators' (check GetDevice shotsRange)",
     "braket.device_schema.rigetti.rigetti_device_parameters", {"us-west-1", NULL}},
    {QD_BRAKET, "braket-iqm-garnet", "Garnet", "arn:aws:braket:eu-north-1::device/qpu/iqm/Garnet", "IQM",
     "superconducting (Garnet)", "iqm-garnet", 20, 0, 1, 100000,
     "assumed equal to the simulators' (check GetDevice shotsRange)",
     "braket.device_schema.iqm.iqm_device_parameters", {"eu-north-1", NULL}},
    {QD_IBM, "ibm-fez", "ibm_fez", NULL, "IBM", "Heron r2", "pay-as-you-go", 156, 0, 1, 100000,
     "IBM backends' max_shots", NULL, {"us-east", NULL}},
    {QD_IBM, "ibm-torino", "ibm_torino", NULL, "IBM", "Heron r1", "pay-as-you-go", 133, 0, 1, 100000,
     "IBM backends' max_shots", NULL, {"us-east", NULL}},
    {QD_IBM, "ibm-brisbane", "ibm_brisbane", NULL, "IBM", "Eagle r3", "pay-as-you-go", 127, 0, 1, 100000,
     "IBM backends' max_shots", NULL, {"us-east", NULL}},
    {QD_IBM, "ibm-aachen", "ibm_aachen", NULL, "IBM", "Heron r2", "pay-as-you-go", 156, 0, 1, 100000,
     "IBM backends' max_shots", NULL, {"eu-de", NULL}},
    {QD_IBM, "ibm-brussels", "ibm_brussels", NULL, "IBM", "Eagle r3", "pay-as-you-go", 127, 0, 1, 100000,
     "IBM backends' max_shots", NULL, {"eu-de", NULL}},
};
const size_t qd_ndevices = sizeof qd_devices / sizeof *qd_devices;

static const char *const backend_names[] = {"local", "braket", "ibm"};

/* Typical queue latency before a job starts (seconds), by class. These are
 * assumptions, not measurements (README.md); settings.queueSeconds
 * overrides them. */
static const int64_t default_queue_s[4] = {0, 5, 4 * 3600, 3600};
static const char *const queue_keys[4] = {"local", "braket-simulator", "braket-qpu", "ibm"};

/* A diagnostic with the driver's name in front. */
#define ERR(diag, ptr, ...) fbk_diag(qd_host, diag, FB_SEV_ERROR, ptr, "quantum: " __VA_ARGS__)
#define WARN(diag, ptr, ...) fbk_diag(qd_host, diag, FB_SEV_WARNING, ptr, "quantum: " __VA_ARGS__)

const qd_device *qd_device_by_service(const char *service)
{
    for (size_t i = 0; service && i < qd_ndevices; i++)
        if (!strcmp(qd_devices[i].service, service)) return &qd_devices[i];
    return NULL;
}

int64_t qd_queue_seconds(const fb_driver_ctx *c, const qd_device *d)
{
    if (d->backend == QD_LOCAL) return c->queue_s[QD_Q_LOCAL];
    if (d->backend == QD_IBM) return c->queue_s[QD_Q_IBM];
    return c->queue_s[d->simulator ? QD_Q_BRAKET_SIM : QD_Q_BRAKET_QPU];
}

int qd_local_max_qubits(uint64_t limit)
{
    int n = 0;
    while (n < 62 && (UINT64_C(16) << (n + 1)) <= limit) n++;
    return (UINT64_C(16) << n) <= limit ? n : 0;
}

/* Is region one the device runs in (and, for Braket, one the settings
 * allow)? */
static int region_ok(const fb_driver_ctx *c, const qd_device *d, const char *region)
{
    int runs = 0;
    for (int i = 0; d->regions[i]; i++) runs |= region && !strcmp(d->regions[i], region);
    if (!runs) return 0;
    if (d->backend == QD_BRAKET && c->braket_nregions) {
        for (size_t i = 0; i < c->braket_nregions; i++)
            if (!strcmp(c->braket_regions[i], region)) return 1;
        return 0;
    }
    return 1;
}

/* ---- settings ------------------------------------------------------------------ */

/* Bytes: an integer or a quantity with Ki/Mi/Gi/Ti (or K/M/G/T, decimal). */
static int parse_bytes(json_t *v, uint64_t *out)
{
    if (json_is_integer(v)) {
        if (json_integer_value(v) <= 0) return -1;
        *out = (uint64_t)json_integer_value(v);
        return 0;
    }
    const char *s = json_string_value(v);
    if (!s || *s < '0' || *s > '9') return -1;
    char *end;
    unsigned long long n = strtoull(s, &end, 10);
    static const struct { const char *suf; uint64_t mul; } units[] = {
        {"", 1}, {"Ki", 1ull << 10}, {"Mi", 1ull << 20}, {"Gi", 1ull << 30}, {"Ti", 1ull << 40},
        {"K", 1000ull}, {"M", 1000000ull}, {"G", 1000000000ull}, {"T", 1000000000000ull}};
    for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
        if (!strcmp(end, units[i].suf)) {
            if (n == 0 || n > UINT64_MAX / units[i].mul) return -1;
            *out = n * units[i].mul;
            return 0;
        }
    }
    return -1;
}

/* Copies a string setting into buf, refusing other types and overlong
 * values. */
static void set_str(char *buf, size_t n, json_t *v, const char *key, fb_diag *diag, int *errors)
{
    const char *s = json_string_value(v);
    if (!s || strlen(s) >= n) {
        ERR(diag, NULL, "settings %s must be a string of at most %zu characters", key, n - 1);
        (*errors)++;
        return;
    }
    snprintf(buf, n, "%s", s);
}

/* set_str for an endpoint: it must also be an http(s) URL with a host. */
static void set_url(char *buf, size_t n, json_t *v, const char *key, fb_diag *diag, int *errors)
{
    int before = *errors;
    set_str(buf, n, v, key, diag, errors);
    const char *why = *errors == before ? fbk_endpoint_problem(buf) : NULL;
    if (why) {
        ERR(diag, NULL, "settings %s must be an http:// or https:// URL: %s", key, why);
        (*errors)++;
    }
}

static void set_pos(int64_t *dst, json_t *v, int64_t max, const char *key, fb_diag *diag, int *errors)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max) {
        ERR(diag, NULL, "settings %s must be an integer from 0 to %lld", key, (long long)max);
        (*errors)++;
        return;
    }
    *dst = json_integer_value(v);
}

static void read_braket(fb_driver_ctx *c, json_t *b, fb_diag *diag, int *errors)
{
    const char *k;
    json_t *v;
    json_object_foreach(b, k, v) {
        int64_t n = 0;
        if (!strcmp(k, "endpoint")) set_url(c->braket_endpoint, sizeof c->braket_endpoint, v, "braket.endpoint", diag, errors);
        else if (!strcmp(k, "outputS3Bucket")) {
            set_str(c->s3_bucket, sizeof c->s3_bucket, v, "braket.outputS3Bucket", diag, errors);
            if (strlen(c->s3_bucket) < 3) {
                ERR(diag, NULL, "settings braket.outputS3Bucket must have 3 to 63 characters\n"
                                "Braket writes each task's results to this S3 bucket");
                (*errors)++;
            }
        } else if (!strcmp(k, "outputS3KeyPrefix")) {
            set_str(c->s3_prefix, sizeof c->s3_prefix, v, "braket.outputS3KeyPrefix", diag, errors);
            if (!c->s3_prefix[0]) {
                ERR(diag, NULL, "settings braket.outputS3KeyPrefix must not be empty");
                (*errors)++;
            }
        } else if (!strcmp(k, "profile")) set_str(c->aws_profile, sizeof c->aws_profile, v, "braket.profile", diag, errors);
        else if (!strcmp(k, "stsEndpoint")) set_url(c->sts_endpoint, sizeof c->sts_endpoint, v, "braket.stsEndpoint", diag, errors);
        else if (!strcmp(k, "s3Endpoint")) set_url(c->s3_endpoint, sizeof c->s3_endpoint, v, "braket.s3Endpoint", diag, errors);
        else if (!strcmp(k, "s3Region")) {
            set_str(c->s3_region, sizeof c->s3_region, v, "braket.s3Region", diag, errors);
            if (strspn(c->s3_region, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(c->s3_region) ||
                !c->s3_region[0]) {
                ERR(diag, NULL, "settings braket.s3Region '%s' is not an AWS region id\n"
                                "name the region of braket.outputS3Bucket, e.g. us-east-1", c->s3_region);
                (*errors)++;
            }
        }
        else if (!strcmp(k, "pollIntervalMs")) {
            set_pos(&n, v, 600000, "braket.pollIntervalMs", diag, errors);
            if (n) c->braket_poll_ms = (uint32_t)n;
        } else if (!strcmp(k, "timeoutSeconds")) {
            set_pos(&c->braket_timeout_s, v, 7 * 86400, "braket.timeoutSeconds", diag, errors);
        } else if (!strcmp(k, "regions")) {
            size_t i;
            json_t *r;
            if (!json_is_array(v) || !json_array_size(v) || json_array_size(v) > QD_MAX_REGIONS) {
                ERR(diag, NULL, "settings braket.regions must be a list of 1 to %d AWS region ids\n"
                                "Braket runs in us-east-1, us-west-1, us-west-2, eu-west-2 and eu-north-1",
                    QD_MAX_REGIONS);
                (*errors)++;
                continue;
            }
            json_array_foreach(v, i, r) {
                const char *s = json_string_value(r);
                int known = 0;
                for (size_t d = 0; s && d < qd_ndevices; d++)
                    for (int j = 0; qd_devices[d].backend == QD_BRAKET && qd_devices[d].regions[j]; j++)
                        known |= !strcmp(qd_devices[d].regions[j], s);
                if (!known) {
                    ERR(diag, NULL, "settings braket.regions[%zu] '%s' is not a region with a Braket device\n"
                                    "use us-east-1, us-west-1, us-west-2, eu-west-2 or eu-north-1",
                        i, s ? s : "(not a string)");
                    (*errors)++;
                    continue;
                }
                snprintf(c->braket_regions[c->braket_nregions++], sizeof c->braket_regions[0], "%s", s);
            }
        } else {
            ERR(diag, NULL, "unknown setting braket.%s\nknown: endpoint, regions, outputS3Bucket, "
                            "outputS3KeyPrefix, profile, stsEndpoint, s3Endpoint, s3Region, pollIntervalMs, "
                            "timeoutSeconds", k);
            (*errors)++;
        }
    }
}

static void read_ibm(fb_driver_ctx *c, json_t *b, fb_diag *diag, int *errors)
{
    const char *k;
    json_t *v;
    json_object_foreach(b, k, v) {
        int64_t n = 0;
        if (!strcmp(k, "endpoint")) {
            set_url(c->ibm_endpoint[0], sizeof c->ibm_endpoint[0], v, "ibm.endpoint", diag, errors);
            snprintf(c->ibm_endpoint[1], sizeof c->ibm_endpoint[1], "%s", c->ibm_endpoint[0]);
        } else if (!strcmp(k, "endpoints")) {
            const char *r;
            json_t *u;
            json_object_foreach(json_is_object(v) ? v : NULL, r, u) {
                int i = !strcmp(r, "us-east") ? 0 : !strcmp(r, "eu-de") ? 1 : -1;
                if (i < 0) {
                    ERR(diag, NULL, "settings ibm.endpoints: unknown region '%s'\nuse us-east or eu-de", r);
                    (*errors)++;
                    continue;
                }
                set_url(c->ibm_endpoint[i], sizeof c->ibm_endpoint[i], u, "ibm.endpoints", diag, errors);
            }
            if (!json_is_object(v)) {
                ERR(diag, NULL, "settings ibm.endpoints must be an object {\"us-east\": URL, \"eu-de\": URL}");
                (*errors)++;
            }
        } else if (!strcmp(k, "iamEndpoint")) set_url(c->iam_endpoint, sizeof c->iam_endpoint, v, "ibm.iamEndpoint", diag, errors);
        else if (!strcmp(k, "serviceCrn")) {
            set_str(c->service_crn, sizeof c->service_crn, v, "ibm.serviceCrn", diag, errors);
            if (strncmp(c->service_crn, "crn:", 4) != 0) {
                ERR(diag, NULL, "settings ibm.serviceCrn must be an instance CRN (crn:v1:bluemix:public:"
                                "quantum-computing:REGION:a/ACCOUNT:INSTANCE::)\nthe IBM Quantum dashboard lists "
                                "it with each instance");
                (*errors)++;
            }
        } else if (!strcmp(k, "apiKeyFile")) set_str(c->api_key_file, sizeof c->api_key_file, v, "ibm.apiKeyFile", diag, errors);
        else if (!strcmp(k, "tokenFile")) set_str(c->token_file, sizeof c->token_file, v, "ibm.tokenFile", diag, errors);
        else if (!strcmp(k, "apiVersion")) set_str(c->ibm_api_version, sizeof c->ibm_api_version, v, "ibm.apiVersion", diag, errors);
        else if (!strcmp(k, "pollIntervalMs")) {
            set_pos(&n, v, 600000, "ibm.pollIntervalMs", diag, errors);
            if (n) c->ibm_poll_ms = (uint32_t)n;
        } else if (!strcmp(k, "timeoutSeconds")) {
            set_pos(&c->ibm_timeout_s, v, 7 * 86400, "ibm.timeoutSeconds", diag, errors);
        } else {
            ERR(diag, NULL, "unknown setting ibm.%s\nknown: endpoint, endpoints, iamEndpoint, serviceCrn, "
                            "apiKeyFile, tokenFile, apiVersion, pollIntervalMs, timeoutSeconds", k);
            (*errors)++;
        }
    }
}

/* Reads the settings; unknown keys are refused so a typo does not fall
 * back to a default silently. */
static fb_status qd_configure(const fb_host *h, const char *config_json, fb_driver_ctx **out,
                              fb_diag *diag)
{
    (void)h;
    json_t *cfg = NULL;
    if (fbk_json_in(qd_host, diag, "quantum configuration", config_json, &cfg) != FB_OK) return FB_INVALID;
    json_t *s = json_object_get(cfg, "settings");
    int errors = 0;
    if (s && !json_is_object(s) && !json_is_null(s)) {
        ERR(diag, NULL, "settings must be an object\npass {\"settings\": {\"memoryLimit\": \"4Gi\", ...}}");
        errors++;
    }
    fb_driver_ctx *c = fbk_xcalloc(1, sizeof *c);
    c->memory_limit = FBQ_DEFAULT_MEMORY_LIMIT;
    c->enabled[0] = c->enabled[1] = c->enabled[2] = 1;
    memcpy(c->queue_s, default_queue_s, sizeof c->queue_s);
    snprintf(c->s3_prefix, sizeof c->s3_prefix, "fedbroker");
    c->braket_poll_ms = 2000;
    c->braket_timeout_s = 3600;
    snprintf(c->ibm_endpoint[0], sizeof c->ibm_endpoint[0], "https://quantum.cloud.ibm.com/api/v1");
    snprintf(c->ibm_endpoint[1], sizeof c->ibm_endpoint[1], "https://eu-de.quantum.cloud.ibm.com/api/v1");
    snprintf(c->iam_endpoint, sizeof c->iam_endpoint, "https://iam.cloud.ibm.com/identity/token");
    c->ibm_poll_ms = 5000;
    c->ibm_timeout_s = 3600;
    const char *k;
    json_t *v;
    json_object_foreach(json_is_object(s) ? s : NULL, k, v) {
        if (!strcmp(k, "memoryLimit")) {
            if (parse_bytes(v, &c->memory_limit) != 0 || c->memory_limit < 32) {
                ERR(diag, NULL, "settings memoryLimit must be bytes (an integer) or a quantity such as "
                                "\"4Gi\" or \"512Mi\"\nthe local simulator needs 16 bytes x 2^qubits");
                errors++;
            }
        } else if (!strcmp(k, "backends")) {
            size_t i;
            json_t *b;
            c->enabled[0] = c->enabled[1] = c->enabled[2] = 0;
            if (!json_is_array(v) || !json_array_size(v)) {
                ERR(diag, NULL, "settings backends must be a non-empty list of local, braket, ibm");
                errors++;
            }
            json_array_foreach(json_is_array(v) ? v : NULL, i, b) {
                const char *n = json_string_value(b);
                int hit = 0;
                for (int j = 0; j < 3; j++)
                    if (n && !strcmp(n, backend_names[j])) c->enabled[j] = hit = 1;
                if (!hit) {
                    ERR(diag, NULL, "settings backends[%zu] '%s' is not a backend\nuse local, braket or ibm", i,
                        n ? n : "(not a string)");
                    errors++;
                }
            }
        } else if (!strcmp(k, "queueSeconds")) {
            const char *q;
            json_t *qv;
            if (!json_is_object(v)) {
                ERR(diag, NULL, "settings queueSeconds must be an object such as {\"braket-qpu\": 7200}");
                errors++;
            }
            json_object_foreach(json_is_object(v) ? v : NULL, q, qv) {
                int hit = -1;
                for (int j = 0; j < 4; j++)
                    if (!strcmp(q, queue_keys[j])) hit = j;
                if (hit < 0) {
                    ERR(diag, NULL, "settings queueSeconds.%s: unknown class\nuse local, braket-simulator, "
                                    "braket-qpu or ibm", q);
                    errors++;
                    continue;
                }
                char key[64];
                snprintf(key, sizeof key, "queueSeconds.%s", q);
                set_pos(&c->queue_s[hit], qv, 30 * 86400, key, diag, &errors);
            }
        } else if (!strcmp(k, "braket")) {
            if (!json_is_object(v)) {
                ERR(diag, NULL, "settings braket must be an object");
                errors++;
            } else {
                read_braket(c, v, diag, &errors);
            }
        } else if (!strcmp(k, "ibm")) {
            if (!json_is_object(v)) {
                ERR(diag, NULL, "settings ibm must be an object");
                errors++;
            } else {
                read_ibm(c, v, diag, &errors);
            }
        } else {
            ERR(diag, NULL, "unknown setting '%s'\nknown: memoryLimit, backends, queueSeconds, braket, ibm", k);
            errors++;
        }
    }
    json_decref(cfg);
    if (errors) {
        free(c);
        return FB_INVALID;
    }
    c->tokens = fbk_token_cache_new();
    *out = c;
    return FB_OK;
}

static void qd_teardown(fb_driver_ctx *c)
{
    if (c) fbk_token_cache_free(c->tokens);
    free(c);
}

/* ---- offers --------------------------------------------------------------------- */

static json_t *offer_json(const fb_driver_ctx *c, const qd_device *d, const char *region)
{
    int qubits = d->backend == QD_LOCAL ? qd_local_max_qubits(c->memory_limit) : d->qubits;
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:b,s:I,s:I,s:I,s:b}", "kind", "QuantumJob",
                          "service", d->service, "region", region, "backend", backend_names[d->backend],
                          "device", d->device, "vendor", d->vendor, "processor", d->processor, "qubits",
                          qubits, "simulator", d->simulator, "minShots", (json_int_t)d->min_shots, "maxShots",
                          (json_int_t)d->max_shots, "queueSeconds", (json_int_t)qd_queue_seconds(c, d),
                          "priced", d->variant != NULL);
    if (d->arn) json_object_set_new(o, "deviceArn", json_string(d->arn));
    const char *cp = d->backend == QD_LOCAL ? "local" : d->backend == QD_BRAKET ? "aws" : "ibm";
    json_object_set_new(o, "catalog", json_pack("{s:s,s:s}", "provider", cp, "region", region));
    if (d->backend == QD_LOCAL)
        json_object_set_new(o, "memoryLimitBytes", json_integer((json_int_t)c->memory_limit));
    return o;
}

/* One offer per device and region, local first (so `--target quantum`
 * runs on the local simulator). */
static fb_status qd_offers(fb_driver_ctx *c, char **out, fb_diag *diag)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < qd_ndevices; i++) {
        const qd_device *d = &qd_devices[i];
        if (!c->enabled[d->backend]) continue;
        for (int r = 0; d->regions[r]; r++)
            if (region_ok(c, d, d->regions[r])) json_array_append_new(arr, offer_json(c, d, d->regions[r]));
    }
    json_t *o = json_pack("{s:o}", "offers", arr);
    fb_status st = fbk_json_out(qd_host, diag, o, out);
    json_decref(o);
    return st;
}

/* ---- the shared checks ----------------------------------------------------------- */

void qd_job_clear(qd_job *job)
{
    json_decref(job->in);
    fbq_program_free(job->prog);
    free(job->qasm3);
    memset(job, 0, sizeof *job);
}

void qd_job_id(const qd_job *job, char out[65])
{
    fbk_buf b;
    fbk_buf_init(&b);
    fbk_buf_printf(&b, "fedbroker-quantum-job/1\n%s\n%s\n%s\n%s\nshots=%llu\nseed=%llu%s\n", job->tenant,
                   job->name, job->dev->service, job->region ? job->region : "",
                   (unsigned long long)job->shots, (unsigned long long)job->seed,
                   job->has_seed ? "" : " (default)");
    fbk_buf_puts(&b, job->source ? job->source : "");
    fbk_sha256_hex(b.data, b.len, out);
    fbk_buf_free(&b);
}

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int in_list_ci(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        const char *x = json_string_value(v);
        if (x && s && !strcasecmp(x, s)) return 1;
    }
    return 0;
}

fb_status qd_prepare(fb_driver_ctx *c, const char *in_json, qd_job *job, fb_diag *diag)
{
    memset(job, 0, sizeof *job);
    if (fbk_json_in(qd_host, diag, "input", in_json, &job->in) != FB_OK) return FB_INVALID;
    if (!json_is_object(job->in)) {
        ERR(diag, NULL, "the input is not a JSON object\npass {\"workload\": {...}, \"placement\": {...}}");
        qd_job_clear(job);
        return FB_INVALID;
    }
    job->workload = json_object_get(job->in, "workload");
    json_t *pl = json_object_get(job->in, "placement");
    if (!json_is_object(job->workload)) {
        ERR(diag, NULL, "input has no \"workload\" object\npass {\"workload\": {...}, \"placement\": {...}}");
        qd_job_clear(job);
        return FB_INVALID;
    }
    job->mode = jstr(job->in, "mode");
    if (!job->mode) job->mode = "render";
    int deploy = !strcmp(job->mode, "dry-run") || !strcmp(job->mode, "apply");
    int errors = 0;
    const char *kind = jstr(job->workload, "kind");
    if (!kind || strcmp(kind, "QuantumJob") != 0) {
        ERR(diag, "/kind", "cannot run a %s\nthe quantum driver runs QuantumJob workloads", kind ? kind : "workload without a kind");
        qd_job_clear(job);
        return FB_INVALID;
    }
    json_t *md = json_object_get(job->workload, "metadata");
    job->name = jstr(md, "name") ? jstr(md, "name") : "";
    job->tenant = jstr(md, "tenant") ? jstr(md, "tenant") : "default";
    job->spec_hash = jstr(job->workload, "specHash") ? jstr(job->workload, "specHash") : "";
    if (!*job->name) {
        ERR(diag, "/metadata/name", "the workload has no name");
        errors++;
    }
    job->spec = json_object_get(job->workload, "spec");
    /* the device */
    const char *service = jstr(pl, "service");
    job->region = jstr(pl, "region");
    job->dev = qd_device_by_service(service);
    if (!json_is_object(pl)) {
        ERR(diag, NULL, "input has no \"placement\" object\npass the offer's service and region");
        qd_job_clear(job);
        return FB_INVALID;
    }
    if (!job->dev) {
        fbk_buf list;
        fbk_buf_init(&list);
        for (size_t i = 0; i < qd_ndevices; i++) fbk_buf_printf(&list, "%s%s", i ? ", " : "", qd_devices[i].service);
        ERR(diag, NULL, "unknown service '%s'\nthe quantum driver's services: %s", service ? service : "(none)",
            list.data);
        fbk_buf_free(&list);
        qd_job_clear(job);
        return FB_INVALID;
    }
    const qd_device *d = job->dev;
    if (!c->enabled[d->backend]) {
        ERR(diag, NULL, "backend %s is not enabled\nadd it to settings.backends", backend_names[d->backend]);
        errors++;
    }
    if (!region_ok(c, d, job->region)) {
        fbk_buf list;
        fbk_buf_init(&list);
        for (int i = 0; d->regions[i]; i++) fbk_buf_printf(&list, "%s%s", i ? ", " : "", d->regions[i]);
        ERR(diag, NULL, "%s (%s) does not run in region '%s'\nit runs in %s%s", d->device, d->service,
            job->region ? job->region : "(none)", list.data,
            d->backend == QD_BRAKET && c->braket_nregions ? " (and settings.braket.regions limits them)" : "");
        fbk_buf_free(&list);
        errors++;
    }
    /* shots, seed, deadline */
    json_t *shots = json_object_get(job->spec, "shots");
    job->shots = json_is_integer(shots) && json_integer_value(shots) > 0 ? (uint64_t)json_integer_value(shots) : 1000;
    json_t *seed = json_object_get(job->spec, "seed");
    job->has_seed = json_is_integer(seed) && json_integer_value(seed) >= 0;
    job->seed = job->has_seed ? (uint64_t)json_integer_value(seed) : 0;
    json_t *dl = json_object_get(job->spec, "deadlineMs");
    job->deadline_ms = json_is_integer(dl) && json_integer_value(dl) > 0 ? json_integer_value(dl) : 0;
    if (job->shots < d->min_shots || job->shots > d->max_shots) {
        ERR(diag, "/spec/shots", "%llu shots are outside %s's range of %u to %u shots per task\n"
                                 "change spec.shots or place the job elsewhere (range: %s)",
            (unsigned long long)job->shots, d->device, d->min_shots, d->max_shots, d->shots_source);
        errors++;
    }
    /* the backend constraints of the spec */
    json_t *be = json_object_get(job->spec, "backend");
    const char *type = jstr(be, "type");
    if (type && !strcmp(type, "simulator") && !d->simulator) {
        ERR(diag, "/spec/backend/type", "%s is a QPU but spec.backend.type is simulator", d->device);
        errors++;
    } else if (type && !strcmp(type, "qpu") && d->simulator) {
        ERR(diag, "/spec/backend/type", "%s is a simulator but spec.backend.type is qpu", d->device);
        errors++;
    }
    int dev_qubits = d->backend == QD_LOCAL ? qd_local_max_qubits(c->memory_limit) : d->qubits;
    json_t *mq = json_object_get(be, "minQubits");
    if (json_is_integer(mq) && json_integer_value(mq) > dev_qubits) {
        ERR(diag, "/spec/backend/minQubits", "%s has %d qubits, fewer than spec.backend.minQubits (%lld)%s",
            d->device, dev_qubits, (long long)json_integer_value(mq),
            d->backend == QD_LOCAL ? "\nthe local simulator's qubits follow settings.memoryLimit (16 B x 2^n)" : "");
        errors++;
    }
    json_t *provs = json_object_get(be, "providers");
    if (json_array_size(provs) && !in_list_ci(provs, backend_names[d->backend]) && !in_list_ci(provs, QD_DRV)) {
        ERR(diag, "/spec/backend/providers", "backend %s is not in spec.backend.providers",
            backend_names[d->backend]);
        errors++;
    }
    json_t *devs = json_object_get(be, "devices");
    if (json_array_size(devs) && !in_list_ci(devs, d->device) && !in_list_ci(devs, d->service) &&
        !(d->arn && in_list_ci(devs, d->arn))) {
        ERR(diag, "/spec/backend/devices", "device %s (%s) is not in spec.backend.devices", d->device, d->service);
        errors++;
    }
    int64_t queue = qd_queue_seconds(c, d);
    if (job->deadline_ms && job->deadline_ms < queue * 1000) {
        ERR(diag, "/spec/deadline", "the deadline of %lld s is shorter than %s's typical queue latency of %lld s\n"
                                    "allow more time, or choose a backend that starts sooner (queue latencies "
                                    "are estimates: settings.queueSeconds)",
            (long long)(job->deadline_ms / 1000), d->device, (long long)queue);
        errors++;
    }
    /* the program */
    job->source = jstr(json_object_get(job->spec, "program"), "source");
    if (!job->source) {
        ERR(diag, "/spec/program", "the QuantumJob has no program source\nthe normal form inlines "
                                   "spec.program.file as spec.program.source; validate the spec first");
        errors++;
    } else {
        fbq_error e;
        job->prog = fbq_parse("program", job->source, strlen(job->source), NULL, &e);
        if (!job->prog) {
            ERR(diag, "/spec/program/source", "the program does not parse: line %d, column %d: %s (%s)\n"
                                              "fix the OpenQASM program (spec.program.source or the file "
                                              "spec.program.file names); the line is the program's own",
                e.line, e.column, e.message, fbq_status_name(e.code));
            errors++;
        } else {
            job->qubits = fbq_num_qubits(job->prog);
            job->clbits = fbq_num_clbits(job->prog);
            job->dynamic = fbq_program_is_dynamic(job->prog, NULL);
            if (job->qubits > dev_qubits && d->backend != QD_LOCAL) {
                ERR(diag, "/spec/program/source", "the program uses %d qubits; %s has %d\n"
                                                  "place it on a device with at least %d qubits",
                    job->qubits, d->device, d->qubits, job->qubits);
                errors++;
            }
            if (d->backend == QD_LOCAL) {
                uint64_t need = job->qubits >= 60 ? UINT64_MAX : (UINT64_C(16) << job->qubits);
                if (need > c->memory_limit) {
                    ERR(diag, "/spec/program/source", "the program's %d qubits need a %llu-byte state vector "
                                                      "(16 B x 2^%d), more than the local simulator's memory "
                                                      "limit of %llu bytes\nraise settings.memoryLimit or "
                                                      "place the job on Braket or IBM",
                        job->qubits, (unsigned long long)need, job->qubits,
                        (unsigned long long)c->memory_limit);
                    errors++;
                }
            } else {
                if (job->clbits == 0) {
                    ERR(diag, "/spec/program/source", "the program measures nothing (no classical bits)\n"
                                                      "%s returns measurement outcomes; add bit registers and "
                                                      "measure into them", d->device);
                    errors++;
                }
                fbq_error e3;
                if (fbq_to_qasm3(job->prog, &job->qasm3, &e3) != FBQ_OK) {
                    ERR(diag, "/spec/program/source", "the program cannot be sent as OpenQASM 3: %s",
                        e3.message);
                    errors++;
                }
                if (job->dynamic && d->backend == QD_BRAKET)
                    WARN(diag, "/spec/program/source", "the program measures mid-circuit, resets or branches "
                                                        "on results; %s may refuse such programs", d->device);
            }
        }
    }
    /* what deploying needs from the settings */
    if (deploy && d->backend == QD_BRAKET && !c->s3_bucket[0]) {
        ERR(diag, NULL, "settings braket.outputS3Bucket is not set\nBraket writes every task's results to S3: "
                        "set drivers.quantum.braket.outputS3Bucket (and optionally outputS3KeyPrefix)");
        errors++;
    }
    if (deploy && d->backend == QD_IBM && !c->service_crn[0]) {
        ERR(diag, NULL, "settings ibm.serviceCrn is not set\nIBM Quantum needs the CRN of the instance that "
                        "runs (and pays for) the job: set drivers.quantum.ibm.serviceCrn");
        errors++;
    }
    if (errors) {
        qd_job_clear(job);
        return FB_INVALID;
    }
    return FB_OK;
}

static fb_status qd_validate(fb_driver_ctx *c, const char *in_json, fb_diag *diag)
{
    qd_job job;
    fb_status st = qd_prepare(c, in_json, &job, diag);
    qd_job_clear(&job);
    return st;
}

/* ---- render ----------------------------------------------------------------------- */

static fb_status qd_render(fb_driver_ctx *c, const char *in_json, char **out, fb_diag *diag)
{
    qd_job job;
    fb_status st = qd_prepare(c, in_json, &job, diag);
    if (st != FB_OK) return st;
    json_t *doc = NULL;
    if (job.dev->backend == QD_LOCAL) {
        doc = qd_local_render(c, &job);
    } else if (job.dev->backend == QD_BRAKET) {
        if (!c->s3_bucket[0])
            WARN(diag, NULL, "settings braket.outputS3Bucket is not set; the body shows a placeholder bucket");
        char *url = qd_braket_url(c, job.region, "/quantum-task");
        doc = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "api", "braket/2019-09-01", "kind", "CreateQuantumTask",
                        "method", "POST", "url", url, "region", job.region, "body", qd_braket_body(c, &job, 1));
        free(url);
    } else {
        if (!c->service_crn[0])
            WARN(diag, NULL, "settings ibm.serviceCrn is not set; the Service-CRN header shows a placeholder");
        char *url = fbk_xasprintf("%s/jobs", qd_ibm_endpoint(c, job.region));
        doc = json_pack("{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s},s:o}", "api", "qiskit-runtime/v1", "kind", "Job",
                        "method", "POST", "url", url, "region", job.region, "headers", "Content-Type",
                        "application/json", "Service-CRN",
                        c->service_crn[0] ? c->service_crn : "<settings.ibm.serviceCrn>", "body",
                        qd_ibm_body(c, &job));
        free(url);
    }
    json_t *o = json_pack("{s:[o]}", "documents", doc);
    st = fbk_json_out(qd_host, diag, o, out);
    json_decref(o);
    qd_job_clear(&job);
    return st;
}

/* ---- usage ------------------------------------------------------------------------- */

/* Gate applications and measurements in OpenQASM 3 text: the statements
 * outside gate definitions that are not declarations (a rough size of the
 * circuit for the simulator time estimate). */
static uint64_t count_ops(const char *q3)
{
    uint64_t n = 0;
    int gate_depth = 0;
    const char *p = q3;
    while (p && *p) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        while (len && (*p == ' ' || *p == '\t')) p++, len--;
        int braces = 0;
        for (size_t i = 0; i < len; i++) braces += p[i] == '{' ? 1 : p[i] == '}' ? -1 : 0;
        if (gate_depth > 0 || (len >= 5 && !strncmp(p, "gate ", 5))) {
            gate_depth += braces;
        } else if (!(len >= 2 && !strncmp(p, "//", 2)) && !(len >= 8 && !strncmp(p, "OPENQASM", 8)) &&
                   !(len >= 7 && !strncmp(p, "include", 7)) && !(len >= 6 && !strncmp(p, "qubit[", 6)) &&
                   !(len >= 4 && !strncmp(p, "bit[", 4))) {
            for (size_t i = 0; i < len; i++) n += p[i] == ';';
        }
        p = e ? e + 1 : NULL;
    }
    return n ? n : 1;
}

/* A non-negative count of micro-units as an exact decimal string (new),
 * written by the kit's decimal module like every driver's quantity. */
static char *micro_str(uint64_t micro)
{
    return fbk_decimal(micro, 1000000u, 6, FBK_ROUND_HALF_UP, NULL);
}

static fb_status qd_usage(fb_driver_ctx *c, const char *in_json, char **out, fb_diag *diag)
{
    qd_job job;
    fb_status st = qd_prepare(c, in_json, &job, diag);
    if (st != FB_OK) return st;
    const qd_device *d = job.dev;
    json_t *lines = json_array(), *notes = json_array();
    int64_t queue = qd_queue_seconds(c, d);
    char shots[32];
    snprintf(shots, sizeof shots, "%llu", (unsigned long long)job.shots);
    if (!d->variant) {
        ERR(diag, NULL, "no sourced price for %s (%s) in the catalog, so its cost cannot be estimated\n"
                        "the driver does not guess prices; add a sourced catalog row (see "
                        "drivers/quantum/README.md) or choose another device", d->device, d->service);
        json_decref(lines);
        json_decref(notes);
        qd_job_clear(&job);
        return FB_NOTSUP;
    }
    if (d->backend == QD_LOCAL) {
        json_array_append_new(lines, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "provider", "local", "service",
                                               "quantum-simulator", "metric", "shots", "variant", "statevector",
                                               "unit", "shot", "quantity", shots, "note",
                                               "one run on the broker's own machine (no charge)"));
        json_array_append_new(notes, json_string("a QuantumJob is one run: its plan cost is the cost of that run"));
    } else if (d->backend == QD_BRAKET && d->simulator) {
        /* Assumption (README.md): 1 ns per amplitude update per operation
         * plus 1 us per shot, billed per ms with Braket's 3 s minimum. */
        uint64_t ops = count_ops(job.qasm3);
        unsigned __int128 work = (unsigned __int128)ops << job.qubits;
        uint64_t ms = (uint64_t)((work + 999999u) / 1000000u) + (job.shots + 999u) / 1000u;
        uint64_t billed = ms < 3000 ? 3000 : ms;
        uint64_t micro_h = (billed * 1000u + 3599u) / 3600u; /* ms -> micro-hours, rounded up */
        char *q = micro_str(micro_h);
        char *note = fbk_xasprintf("estimated %llu ms of simulation (assumption: %llu operations x 2^%d amplitudes x "
                               "1 ns + %llu shots x 1 us), billed %llu ms (3 s minimum per task), rounded up to "
                               "the micro-hour", (unsigned long long)ms, (unsigned long long)ops, job.qubits,
                               (unsigned long long)job.shots, (unsigned long long)billed);
        json_array_append_new(lines, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "provider", "aws", "service",
                                               "braket", "metric", "simulator_duration", "variant", d->variant,
                                               "unit", "hour", "quantity", q, "note", note));
        free(q);
        free(note);
        json_array_append_new(notes, json_string("simulator minutes are an estimate (drivers/quantum/README.md); "
                                                 "Braket bills the measured duration"));
    } else if (d->backend == QD_BRAKET) {
        json_array_append_new(lines, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "provider", "aws", "service",
                                               "braket", "metric", "task", "variant", d->variant, "unit", "task",
                                               "quantity", "1", "note", "one quantum task"));
        json_array_append_new(lines, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "provider", "aws", "service",
                                               "braket", "metric", "shot", "variant", d->variant, "unit", "shot",
                                               "quantity", shots, "note", "spec.shots"));
    } else {
        /* Assumption (README.md): 2 s of set-up plus 250 us per shot,
         * billed per whole second. */
        uint64_t secs = 2 + (job.shots + 3999u) / 4000u;
        char q[32];
        snprintf(q, sizeof q, "%llu", (unsigned long long)secs);
        char *note = fbk_xasprintf("estimated quantum time (assumption: 2 s + %llu shots x 250 us, rounded up to "
                               "whole seconds)", (unsigned long long)job.shots);
        json_array_append_new(lines, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "provider", "ibm", "service",
                                               "qiskit-runtime", "metric", "quantum_time", "variant", d->variant,
                                               "unit", "QPU-second", "quantity", q, "note", note));
        free(note);
        json_array_append_new(notes, json_string("IBM bills measured quantum time; this is an estimate "
                                                 "(drivers/quantum/README.md)"));
    }
    char *qn = fbk_xasprintf("typical queue latency of %s: %lld s (an assumption; settings.queueSeconds)", d->device,
                         (long long)queue);
    json_array_append_new(notes, json_string(qn));
    free(qn);
    json_t *o = json_pack("{s:o,s:o,s:I,s:I}", "lines", lines, "notes", notes, "queueSeconds", (json_int_t)queue,
                          "coldStartMs", (json_int_t)(queue * 1000));
    st = fbk_json_out(qd_host, diag, o, out);
    json_decref(o);
    qd_job_clear(&job);
    return st;
}

/* ---- apply, observe, destroy --------------------------------------------------------- */

static fb_status emit(json_t *o, char **out, fb_diag *diag)
{
    fb_status st = fbk_json_out(qd_host, diag, o, out);
    json_decref(o);
    return st;
}

static fb_status qd_apply(fb_driver_ctx *c, const char *in_json, char **out, fb_diag *diag)
{
    /* The mode follows the host when the input does not say. */
    json_t *peek = json_loads(in_json ? in_json : "", 0, NULL);
    int need_mode = json_is_object(peek) && !json_object_get(peek, "mode");
    char *fixed = NULL;
    if (need_mode) {
        json_object_set_new(peek, "mode", json_string(qd_host->dry_run(diag) ? "dry-run" : "apply"));
        fixed = json_dumps(peek, JSON_COMPACT);
    }
    json_decref(peek);
    qd_job job;
    fb_status st = qd_prepare(c, fixed ? fixed : in_json, &job, diag);
    free(fixed);
    if (st != FB_OK) return st;
    json_t *prior = json_object_get(job.in, "deployment");
    json_t *res = NULL;
    if (job.dev->backend == QD_LOCAL) st = qd_local_apply(c, &job, &res, diag);
    else if (job.dev->backend == QD_BRAKET) st = qd_braket_apply(c, &job, json_is_object(prior) ? prior : NULL, &res, diag);
    else st = qd_ibm_apply(c, &job, json_is_object(prior) ? prior : NULL, &res, diag);
    qd_job_clear(&job);
    if (st != FB_OK) {
        json_decref(res);
        return st;
    }
    return emit(res, out, diag);
}

/* The deployment of an observe/destroy input and its backend. */
static json_t *deployment_of(const char *in_json, json_t **in, qd_backend *b, fb_diag *diag)
{
    *in = NULL;
    if (fbk_json_in(qd_host, diag, "input", in_json, in) != FB_OK) return NULL;
    json_t *dep = json_object_get(*in, "deployment");
    json_t *state = json_object_get(dep, "state");
    const char *backend = jstr(state, "backend");
    for (int i = 0; backend && i < 3; i++) {
        if (!strcmp(backend, backend_names[i])) {
            *b = (qd_backend)i;
            return dep;
        }
    }
    ERR(diag, NULL, "the deployment has no state.backend (local, braket or ibm)\npass {\"deployment\": "
                    "{\"state\": {...}}} as apply returned it");
    json_decref(*in);
    *in = NULL;
    return NULL;
}

/* observe of a local run: it finished inside apply and its result is
 * stored with the deployment (the broker's results table); nothing can
 * drift. */
static fb_status local_observe(fb_driver_ctx *c, json_t *dep, json_t **res, fb_diag *diag)
{
    (void)c;
    json_t *state = json_object_get(dep, "state");
    if (json_is_true(json_object_get(state, "dryRun")) || !jstr(state, "id")) {
        ERR(diag, NULL, "local job %s was never run: the state comes from a dry run\nrun `fedbroker "
                        "apply` without --dry-run", jstr(state, "id") ? jstr(state, "id") : "(no id)");
        return FB_NOTFOUND;
    }
    *res = json_pack("{s:s,s:[],s:O}", "status", "ready", "drift", "live", state);
    return FB_OK;
}

/* destroy of a local run: a finished run holds nothing to release. */
static fb_status local_destroy(fb_driver_ctx *c, json_t *dep, json_t **res, fb_diag *diag)
{
    (void)c;
    (void)diag;
    const char *id = jstr(json_object_get(dep, "state"), "id");
    *res = json_pack("{s:[s]}", "deleted", id ? id : "");
    return FB_OK;
}

typedef fb_status (*backend_verb)(fb_driver_ctx *c, json_t *dep, json_t **res, fb_diag *diag);

/* Runs the verb of the deployment's backend (indexed like backend_names)
 * and emits its output. */
static fb_status on_deployment(fb_driver_ctx *c, const char *in_json, const backend_verb fns[3],
                               char **out, fb_diag *diag)
{
    json_t *in;
    qd_backend b;
    json_t *dep = deployment_of(in_json, &in, &b, diag);
    if (!dep) return FB_INVALID;
    json_t *res = NULL;
    fb_status st = fns[b](c, dep, &res, diag);
    json_decref(in);
    if (st != FB_OK) {
        json_decref(res);
        return st;
    }
    return emit(res, out, diag);
}

static fb_status qd_observe(fb_driver_ctx *c, const char *in_json, char **out, fb_diag *diag)
{
    static const backend_verb fns[3] = {local_observe, qd_braket_observe, qd_ibm_observe};
    return on_deployment(c, in_json, fns, out, diag);
}

static fb_status qd_destroy(fb_driver_ctx *c, const char *in_json, char **out, fb_diag *diag)
{
    static const backend_verb fns[3] = {local_destroy, qd_braket_destroy, qd_ibm_destroy};
    return on_deployment(c, in_json, fns, out, diag);
}

/* ---- the driver ---------------------------------------------------------------------- */

static const fb_driver quantum_driver = {
    .abi_major = FB_ABI_MAJOR,
    .abi_minor = FB_ABI_MINOR,
    .struct_size = sizeof(fb_driver),
    .name = QD_DRV,
    .version = "1.0.0",
    .caps = FB_CAP_QUANTUM | FB_CAP_RENDER | FB_CAP_DEPLOY | FB_CAP_ESTIMATE,
    .summary = "QuantumJobs on the local simulator, Amazon Braket and IBM Quantum",
    .configure = qd_configure,
    .offers = qd_offers,
    .validate = qd_validate,
    .render = qd_render,
    .apply = qd_apply,
    .observe = qd_observe,
    .destroy = qd_destroy,
    .teardown = qd_teardown,
    .usage = qd_usage,
};

FB_DRIVER_EXPORT fb_status fb_driver_entry(const fb_host *h, const fb_driver **out, fb_diag *diag)
{
    if (h->abi_major != FB_ABI_MAJOR || h->struct_size < sizeof(fb_host)) {
        if (h->diag_add && h->abi_major == FB_ABI_MAJOR)
            h->diag_add(diag, FB_SEV_ERROR, "quantum: the host's ABI table is older than this driver needs", NULL, NULL);
        return FB_NOTSUP;
    }
    qd_host = h;
    *out = &quantum_driver;
    return FB_OK;
}

/* Braket and IBM deployments name their task/job the same way. */
int qd_deployment_id(json_t *dep, const char *key, const char *what, const char **id,
                     const char **region, fb_diag *diag)
{
    json_t *state = json_object_get(dep, "state");
    *id = json_string_value(json_object_get(state, key));
    *region = json_string_value(json_object_get(state, "region"));
    if (!*region) *region = json_string_value(json_object_get(dep, "region"));
    if (!*id || !*region) {
        ERR(diag, NULL, "the %s deployment has no state.%s or region\n%s", what, key,
            json_is_true(json_object_get(state, "dryRun")) ? "its state comes from a dry run: nothing was created"
                                                          : "pass the deployment as apply returned it");
        return -1;
    }
    return 0;
}

fb_status qd_take_created(const fb_http_response *resp, const char *key, const char *what,
                          const char *type, const char *region, const char *device, char **id,
                          fb_diag *diag)
{
    *id = NULL;
    json_t *r = json_loadb(resp->body ? resp->body : "", resp->body_len, 0, NULL);
    const char *v = json_string_value(json_object_get(r, key));
    if (v) *id = fbk_xstrdup(v);
    json_decref(r);
    if (!*id) {
        ERR(diag, NULL, "%s answered without \"%s\"", what, key);
        return FB_INTERNAL;
    }
    json_t *rec = json_pack("{s:s,s:s,s:s,s:s}", "type", type, "id", *id, "region", region,
                            "device", device);
    char *rt = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(rec);
    fb_status st = qd_host->record(diag, rt);
    free(rt);
    if (st != FB_OK) {
        free(*id);
        *id = NULL;
    }
    return st;
}

fb_status qd_apply_output(fb_status st, json_t *state, json_t *result, json_t *res, json_t **out)
{
    if (st != FB_OK) {
        json_decref(res);
        json_decref(result);
        json_decref(state);
        return st;
    }
    *out = json_pack("{s:o,s:[o]}", "state", state, "resources", res);
    if (result) json_object_set_new(*out, "result", result);
    return FB_OK;
}
