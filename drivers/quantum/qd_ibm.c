/*
 * qd_ibm.c - the IBM Quantum Platform backend (Qiskit Runtime REST API,
 * Sampler V2 primitive).
 *
 *   apply    POST {endpoint}/jobs {"program_id": "sampler", "backend",
 *            "params": {"pubs": [[OPENQASM 3, null, shots]], "version": 2}}
 *            with "Authorization: Bearer <IAM token>" and "Service-CRN";
 *            GET {endpoint}/jobs/{id} every pollIntervalMs until
 *            Completed, Failed or Cancelled; GET {endpoint}/jobs/{id}/results
 *            and convert the samples to counts
 *   observe  GET {endpoint}/jobs/{id}
 *   destroy  POST {endpoint}/jobs/{id}/cancel; a job that has already
 *            ended (409) or is gone (404) counts as destroyed
 *
 * The bearer token comes from the IBM Cloud IAM token endpoint in exchange
 * for an API key (POST grant_type=urn:ibm:params:oauth:grant-type:apikey),
 * or is given directly. Where the key or token comes from: the host's
 * credential service ("ibm.token", "ibm.apiKey": the configuration's
 * credentials.quantum section), the IQP_API_TOKEN
 * environment variable (an API key, as IBM's guides name it),
 * settings.ibm.tokenFile, settings.ibm.apiKeyFile. Secrets are passed to
 * the host as req.secrets so it redacts them everywhere.
 *
 * The result shape parsed (IBM's "Sampler with the REST API" guide): 
 * {"results": [{"data": {"<register>": {"samples": ["0x3", ...],
 * "num_bits": 2}, ...}, "metadata": {...}}], "metadata": {...}}: one
 * entry per pub, one field per classical register, one hex string per
 * shot whose bit i is the register's bit i.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "qd.h"
#include "fbk_oauth2.h"

#define ERR(diag, ptr, ...) fbk_diag(qd_host, diag, FB_SEV_ERROR, ptr, "quantum: " __VA_ARGS__)
#define WARN(diag, ptr, ...) fbk_diag(qd_host, diag, FB_SEV_WARNING, ptr, "quantum: " __VA_ARGS__)

#define DRY_TOKEN FBK_OAUTH2_DRY_TOKEN

const char *qd_ibm_endpoint(fb_driver_ctx *c, const char *region)
{
    return c->ibm_endpoint[region && !strcmp(region, "eu-de") ? 1 : 0];
}

/* The job's tags: who manages it and for which workload. new. */
static json_t *tags_of(const qd_job *job)
{
    json_t *t = json_array();
    json_array_append_new(t, json_string("managed-by:fedbroker"));
    char *w = fbk_xasprintf("workload:%s", job->name);
    char *tn = fbk_xasprintf("tenant:%s", job->tenant);
    json_array_append_new(t, json_string(w));
    json_array_append_new(t, json_string(tn));
    free(w);
    free(tn);
    char id[65];
    qd_job_id(job, id);
    char *j = fbk_xasprintf("fedbroker-job:%.32s", id);
    json_array_append_new(t, json_string(j));
    free(j);
    return t;
}

json_t *qd_ibm_body(fb_driver_ctx *c, qd_job *job)
{
    (void)c;
    return json_pack("{s:s,s:s,s:{s:[[s,n,I]],s:i},s:o}", "program_id", "sampler", "backend", job->dev->device,
                     "params", "pubs", job->qasm3 ? job->qasm3 : "", (json_int_t)job->shots, "version", 2, "tags",
                     tags_of(job));
}

/* ---- credentials ---------------------------------------------------------------- */

/* Reads a one-line secret file (trimmed). new (fbk_free_secret) or NULL
 * with a diagnostic. */
static char *read_secret(const char *path, const char *what, fb_diag *diag)
{
    size_t len;
    int en;
    char *err = NULL;
    char *s = fbk_read_file(path, 64 * 1024, &len, &en, &err);
    if (!s) {
        ERR(diag, NULL, "cannot read %s: %s", what, err ? err : path);
        free(err);
        return NULL;
    }
    while (len && isspace((unsigned char)s[len - 1])) s[--len] = '\0';
    size_t lead = strspn(s, " \t\r\n");
    if (lead) memmove(s, s + lead, len - lead + 1);
    if (!*s) {
        ERR(diag, NULL, "%s is empty", what);
        fbk_free_secret(s);
        return NULL;
    }
    return s;
}

/* The IAM API-key grant for key (borrowed, as the fields are). */
static fbk_oauth2_grant iam_grant(fb_driver_ctx *c, const char *key, fbk_oauth2_field f[2])
{
    f[0] = (fbk_oauth2_field){"grant_type", "urn:ibm:params:oauth:grant-type:apikey", 0};
    f[1] = (fbk_oauth2_field){"apikey", key, 1};
    return (fbk_oauth2_grant){.token_url = c->iam_endpoint, .credential_id = key, .fields = f,
                              .n_fields = 2, .service = "ibm-iam", .what = "IBM Cloud IAM",
                              .credential = "the API key",
                              .hint = "create an API key on the IBM Quantum dashboard and pass it as "
                                      "IQP_API_TOKEN or settings.ibm.apiKeyFile"};
}

/* Exchanges an API key for a bearer token at the IAM endpoint, through
 * the kit's token cache (reused for 80% of its lifetime by every verb of
 * this ctx). fresh: drop a cached token first (the API refused it). *token
 * new (fbk_free_secret). */
static fb_status iam_exchange(fb_driver_ctx *c, const char *key, int fresh, char **token, fb_diag *diag)
{
    fbk_oauth2_field f[2];
    fbk_oauth2_grant g = iam_grant(c, key, f);
    if (fresh) fbk_oauth2_forget(c->tokens, &g);
    return fbk_oauth2_token(c->tokens, qd_host, diag, &g, token);
}

/* A bearer token from the first source that has a key or token. new. */
static fb_status bearer(fb_driver_ctx *c, int fresh, char **token, fb_diag *diag)
{
    *token = NULL;
    char *v = NULL;
    /* the broker's configured credentials first (credentials.quantum.*);
     * one that is configured but cannot be read stops here, with the
     * host's diagnostic, rather than falling back to another source */
    fb_status cst = FB_HOST_HAS(qd_host, credential) ? qd_host->credential(diag, "ibm.token", &v)
                                                     : FB_NOTFOUND;
    if (cst == FB_OK && v) {
        *token = fbk_xstrdup(v);
        fbk_wipe(v, strlen(v));
        qd_host->free(v);
        return FB_OK;
    }
    if (cst != FB_NOTFOUND && cst != FB_OK) return cst;
    char *key = NULL;
    cst = FB_HOST_HAS(qd_host, credential) ? qd_host->credential(diag, "ibm.apiKey", &v) : FB_NOTFOUND;
    if (cst == FB_OK && v) {
        key = fbk_xstrdup(v);
        fbk_wipe(v, strlen(v));
        qd_host->free(v);
    }
    if (cst != FB_NOTFOUND && cst != FB_OK) return cst;
    const char *env = getenv("IQP_API_TOKEN");
    if (!key && env && *env) key = fbk_xstrdup(env);
    if (!key && c->token_file[0]) {
        *token = read_secret(c->token_file, "settings.ibm.tokenFile", diag);
        return *token ? FB_OK : FB_AUTH;
    }
    if (!key && c->api_key_file[0]) {
        key = read_secret(c->api_key_file, "settings.ibm.apiKeyFile", diag);
        if (!key) return FB_AUTH;
    }
    if (!key) {
        ERR(diag, NULL, "no IBM Quantum credentials\ntried: the configuration's credentials.quantum (ibm.token, ibm.apiKey), "
                        "the IQP_API_TOKEN environment variable, settings.ibm.tokenFile and settings.ibm.apiKeyFile; "
                        "set one of them (an API key from the IBM Quantum dashboard)");
        return FB_AUTH;
    }
    fb_status st = iam_exchange(c, key, fresh, token, diag);
    fbk_free_secret(key);
    return st;
}

/* ---- calls ------------------------------------------------------------------------ */

/* One call to the Runtime API. body may be NULL. */
static fb_status call(fb_driver_ctx *c, const char *token, const char *region, const char *method,
                      const char *path, const char *body, uint32_t flags, fb_http_response *resp,
                      fb_diag *diag)
{
    char *url = fbk_xasprintf("%s%s", qd_ibm_endpoint(c, region), path);
    char *auth = fbk_xasprintf("Bearer %s", token);
    fb_http_header h[5];
    size_t n = 0;
    h[n++] = (fb_http_header){"Authorization", auth};
    h[n++] = (fb_http_header){"Service-CRN", c->service_crn[0] ? c->service_crn : "<settings.ibm.serviceCrn>"};
    h[n++] = (fb_http_header){"Accept", "application/json"};
    if (body) h[n++] = (fb_http_header){"Content-Type", "application/json"};
    if (c->ibm_api_version[0]) h[n++] = (fb_http_header){"IBM-API-Version", c->ibm_api_version};
    const char *secrets[] = {token};
    int secret = strcmp(token, DRY_TOKEN) != 0;
    fb_http_request req = {.struct_size = sizeof req, .method = method, .url = url, .headers = h, .n_headers = n,
                           .body = body, .body_len = body ? strlen(body) : 0, .flags = flags,
                           .service = "ibm-quantum", .secrets = secret ? secrets : NULL,
                           .n_secrets = secret ? 1 : 0};
    fb_status st = qd_host->http(diag, &req, resp);
    fbk_wipe(auth, strlen(auth));
    free(auth);
    free(url);
    return st;
}

/* Adds a diagnostic for an error answer and returns its status. */
static fb_status failure(const char *what, fb_http_response *resp, fb_diag *diag)
{
    json_t *j = json_loads(resp->body ? resp->body : "", 0, NULL);
    const char *m = json_string_value(json_object_get(json_array_get(json_object_get(j, "errors"), 0), "message"));
    if (!m) m = json_string_value(json_object_get(j, "message"));
    long s = resp->status;
    fb_status st = s == 401 || s == 403 ? FB_AUTH : s == 404 ? FB_NOTFOUND : s == 409 ? FB_CONFLICT
                 : s == 429 || s >= 500 || s == 0 ? FB_RETRYABLE : FB_INVALID;
    ERR(diag, NULL, "IBM Quantum %s failed: HTTP %ld: %s%s", what, s, m ? m : (resp->body ? resp->body : ""),
        st == FB_AUTH ? "\ncheck the API key and that settings.ibm.serviceCrn names an instance it may use" : "");
    json_decref(j);
    return st;
}

/* A job's status word ("Completed", ...), from "status" or "state.status". */
static const char *job_status(json_t *j)
{
    const char *s = json_string_value(json_object_get(json_object_get(j, "state"), "status"));
    return s ? s : json_string_value(json_object_get(j, "status"));
}

static int is(const char *s, const char *word)
{
    return s && !strncasecmp(s, word, strlen(word));
}

static int ended(const char *s)
{
    return is(s, "Completed") || is(s, "Failed") || is(s, "Cancelled");
}

/* GET {path}; *j (new) for HTTP 200; *code the status. */
static fb_status get_json(fb_driver_ctx *c, const char *token, const char *region, const char *path, json_t **j,
                          long *code, fb_diag *diag)
{
    *j = NULL;
    fb_http_response resp;
    fb_status st = call(c, token, region, "GET", path, NULL, FB_HTTP_IDEMPOTENT | FB_HTTP_READ_ONLY, &resp, diag);
    if (st != FB_OK) return st;
    *code = resp.status;
    if (resp.status == 200) {
        *j = json_loads(resp.body ? resp.body : "", 0, NULL);
        if (!json_is_object(*j)) {
            json_decref(*j);
            *j = NULL;
            ERR(diag, NULL, "IBM Quantum answered GET %s with HTTP 200 but no JSON object", path);
            st = FB_INTERNAL;
        }
    } else if (resp.status != 404 && resp.status != 401) {
        st = failure("GET job", &resp, diag);
    }
    qd_host->http_free(&resp);
    return st;
}

/* ---- samples to counts ------------------------------------------------------------ */

/* Appends the width-bit binary form of hex ("0x..") to b, highest bit
 * first. -1 when hex is malformed or does not fit width bits. */
static int hex_bits(fbk_buf *b, const char *hex, int width)
{
    if (!hex || (strncmp(hex, "0x", 2) != 0 && strncmp(hex, "0X", 2) != 0) || !hex[2]) return -1;
    const char *h = hex + 2;
    size_t nd = strlen(h);
    int nbits = (int)nd * 4;
    char *bits = fbk_xmalloc((size_t)nbits + 1);
    for (size_t i = 0; i < nd; i++) {
        int v = isdigit((unsigned char)h[i]) ? h[i] - '0'
              : (h[i] >= 'a' && h[i] <= 'f') ? h[i] - 'a' + 10
              : (h[i] >= 'A' && h[i] <= 'F') ? h[i] - 'A' + 10 : -1;
        if (v < 0) {
            free(bits);
            return -1;
        }
        for (int k = 0; k < 4; k++) bits[i * 4 + (size_t)k] = (char)('0' + ((v >> (3 - k)) & 1));
    }
    bits[nbits] = '\0';
    /* leading digits beyond width must be zero */
    for (int i = 0; i < nbits - width; i++) {
        if (bits[i] != '0') {
            free(bits);
            return -1;
        }
    }
    for (int i = 0; i < width - nbits; i++) fbk_buf_putc(b, '0');
    fbk_buf_puts(b, bits + (nbits > width ? nbits - width : 0));
    free(bits);
    return 0;
}

json_t *qd_ibm_counts(json_t *data, const char *layout, uint64_t shots, char **err)
{
    *err = NULL;
    /* the registers, leftmost first */
    char *names = fbk_xstrdup(layout ? layout : "");
    const char *reg[64];
    int nreg = 0;
    for (char *t = strtok(names, " "); t && nreg < 64; t = strtok(NULL, " ")) reg[nreg++] = t;
    json_t *samples[64];
    int width[64];
    if (nreg == 0 || !json_is_object(data)) {
        *err = fbk_xasprintf("no classical registers to read (layout '%s', data %s)", layout ? layout : "",
                         json_is_object(data) ? "present" : "missing");
        free(names);
        return NULL;
    }
    for (int r = 0; r < nreg; r++) {
        json_t *f = json_object_get(data, reg[r]);
        samples[r] = json_object_get(f, "samples");
        json_t *nb = json_object_get(f, "num_bits");
        width[r] = json_is_integer(nb) ? (int)json_integer_value(nb) : -1;
        if (!json_is_array(samples[r]) || width[r] < 1 || width[r] > 100000) {
            *err = fbk_xasprintf("result data has no samples/num_bits for register '%s'", reg[r]);
            free(names);
            return NULL;
        }
        if (json_array_size(samples[r]) != shots) {
            *err = fbk_xasprintf("register '%s' has %zu samples, expected %llu (one per shot)", reg[r],
                             json_array_size(samples[r]), (unsigned long long)shots);
            free(names);
            return NULL;
        }
    }
    json_t *counts = json_object();
    fbk_buf key;
    fbk_buf_init(&key);
    for (uint64_t i = 0; i < shots; i++) {
        key.len = 0;
        if (key.data) key.data[0] = '\0';
        for (int r = 0; r < nreg; r++) {
            if (r) fbk_buf_putc(&key, ' ');
            const char *hx = json_string_value(json_array_get(samples[r], (size_t)i));
            if (hex_bits(&key, hx, width[r]) != 0) {
                *err = fbk_xasprintf("sample %llu of register '%s' ('%s') is not a hex number of at most %d bits",
                                 (unsigned long long)i, reg[r], hx ? hx : "(not a string)", width[r]);
                fbk_buf_free(&key);
                json_decref(counts);
                free(names);
                return NULL;
            }
        }
        json_t *v = json_object_get(counts, key.data);
        json_object_set_new(counts, key.data, json_integer(v ? json_integer_value(v) + 1 : 1));
    }
    fbk_buf_free(&key);
    free(names);
    return counts;
}

/* ---- apply ------------------------------------------------------------------------ */

/* The register layout IBM sees: that of the OpenQASM 3 text sent. new. */
static char *sent_layout(const qd_job *job)
{
    fbq_error e;
    fbq_program *p = fbq_parse("sent", job->qasm3, strlen(job->qasm3), NULL, &e);
    char *l = p ? fbq_outcome_layout(p) : NULL;
    fbq_program_free(p);
    return l;
}

fb_status qd_ibm_apply(fb_driver_ctx *c, qd_job *job, json_t *prior, json_t **out, fb_diag *diag)
{
    const qd_device *d = job->dev;
    char id[65];
    qd_job_id(job, id);
    json_t *state = json_pack("{s:s,s:s,s:s,s:s,s:I}", "backend", "ibm", "device", d->device, "region",
                              job->region, "fedbrokerJob", id, "shots", (json_int_t)job->shots);
    char *token = NULL;
    fb_status st = bearer(c, 0, &token, diag);
    if (st != FB_OK) {
        json_decref(state);
        return st;
    }
    /* The job a previous apply of the same spec created, if any. */
    json_t *pstate = json_object_get(prior, "state");
    const char *pj = json_string_value(json_object_get(pstate, "fedbrokerJob"));
    const char *jid = pj && !strcmp(pj, id) ? json_string_value(json_object_get(pstate, "jobId")) : NULL;
    char *created = NULL;
    if (!jid) {
        json_t *body = qd_ibm_body(c, job);
        char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(body);
        fb_http_response resp;
        /* Not retried by the host: a second POST would be a second job. */
        st = call(c, token, job->region, "POST", "/jobs", text, 0, &resp, diag);
        free(text);
        if (st == FB_OK && qd_host->dry_run(diag)) {
            qd_host->http_free(&resp);
            fbk_free_secret(token);
            json_object_set_new(state, "status", json_string("DRY-RUN"));
            json_object_set_new(state, "dryRun", json_true());
            *out = json_pack("{s:o,s:[]}", "state", state, "resources");
            return FB_OK;
        }
        if (st == FB_OK && resp.status != 200 && resp.status != 201) st = failure("create job", &resp, diag);
        if (st == FB_OK)
            st = qd_take_created(&resp, "id", "IBM Quantum's job creation", "ibm-quantum-job",
                                 job->region, d->device, &created, diag);
        qd_host->http_free(&resp);
        if (st != FB_OK) {
            free(created);
            fbk_free_secret(token);
            json_decref(state);
            return st;
        }
        jid = created;
    }
    json_object_set_new(state, "id", json_string(jid));
    json_object_set_new(state, "jobId", json_string(jid));
    /* Poll until the job ends, bounded by the deadline and the timeout. */
    char *path = fbk_xasprintf("/jobs/%s", jid);
    int64_t limit_ms = c->ibm_timeout_s * 1000;
    if (job->deadline_ms && job->deadline_ms < limit_ms) limit_ms = job->deadline_ms;
    uint64_t max_polls = (uint64_t)(limit_ms / c->ibm_poll_ms) + 1;
    json_t *j = NULL;
    const char *status = NULL;
    int refreshed = 0;
    for (uint64_t i = 0; i < max_polls; i++) {
        long code = 0;
        json_decref(j);
        st = get_json(c, token, job->region, path, &j, &code, diag);
        if (st != FB_OK) break;
        if (code == 401 && !refreshed) {
            /* the token expired while we waited: get a new one, once */
            fbk_free_secret(token);
            refreshed = 1;
            st = bearer(c, 1, &token, diag);
            if (st != FB_OK) break;
            i--;
            continue;
        }
        if (code != 200) {
            ERR(diag, NULL, "IBM Quantum job %s answered HTTP %ld while it was polled", jid, code);
            st = code == 404 ? FB_NOTFOUND : FB_AUTH;
            break;
        }
        status = job_status(j);
        if (ended(status)) break;
        if (i + 1 < max_polls) qd_host->sleep_ms(diag, c->ibm_poll_ms);
    }
    free(path);
    json_t *result = NULL;
    if (st == FB_OK) {
        json_object_set_new(state, "status", json_string(status ? status : "Unknown"));
        if (is(status, "Completed")) {
            char *rpath = fbk_xasprintf("/jobs/%s/results", jid);
            json_t *r = NULL;
            long code = 0;
            st = get_json(c, token, job->region, rpath, &r, &code, diag);
            free(rpath);
            if (st == FB_OK && code != 200) {
                ERR(diag, NULL, "IBM Quantum job %s is Completed but its results answered HTTP %ld", jid, code);
                st = FB_INTERNAL;
            }
            if (st == FB_OK) {
                char *layout = sent_layout(job);
                char *err = NULL;
                json_t *data = json_object_get(json_array_get(json_object_get(r, "results"), 0), "data");
                json_t *counts = qd_ibm_counts(data, layout, job->shots, &err);
                if (!counts) {
                    ERR(diag, NULL, "cannot read the results of IBM Quantum job %s: %s", jid, err);
                    st = FB_INTERNAL;
                } else {
                    result = json_pack("{s:s,s:s,s:s,s:s,s:i,s:i,s:I,s:o}", "backend", "ibm", "device",
                                       d->device, "jobId", jid, "layout", layout ? layout : "", "qubits",
                                       job->qubits, "clbits", job->clbits, "shots", (json_int_t)job->shots,
                                       "counts", counts);
                }
                free(err);
                free(layout);
            }
            json_decref(r);
        } else if (is(status, "Failed")) {
            const char *why = json_string_value(json_object_get(json_object_get(j, "state"), "reason"));
            ERR(diag, NULL, "IBM Quantum job %s Failed: %s", jid, why ? why : "(no reason given)");
            st = FB_INVALID;
        } else if (is(status, "Cancelled")) {
            ERR(diag, NULL, "IBM Quantum job %s was %s before it completed", jid, status);
            st = FB_CONFLICT;
        } else {
            WARN(diag, NULL, "IBM Quantum job %s is still %s after %lld s of polling\n`fedbroker status` follows "
                             "it; `fedbroker destroy` cancels it", jid, status ? status : "Unknown",
                 (long long)(limit_ms / 1000));
        }
    }
    json_decref(j);
    fbk_free_secret(token);
    json_t *res = json_pack("{s:s,s:s,s:s}", "type", "ibm-quantum-job", "id", jid, "region", job->region);
    free(created);
    return qd_apply_output(st, state, result, res, out);
}

/* ---- observe, destroy ----------------------------------------------------------------- */


fb_status qd_ibm_observe(fb_driver_ctx *c, json_t *dep, json_t **out, fb_diag *diag)
{
    const char *jid, *region;
    if (qd_deployment_id(dep, "jobId", "IBM", &jid, &region, diag) != 0) return FB_NOTFOUND;
    char *token = NULL;
    fb_status st = bearer(c, 0, &token, diag);
    if (st != FB_OK) return st;
    char *path = fbk_xasprintf("/jobs/%s", jid);
    json_t *j = NULL;
    long code = 0;
    st = get_json(c, token, region, path, &j, &code, diag);
    free(path);
    fbk_free_secret(token);
    if (st != FB_OK) return st;
    if (code == 404) {
        *out = json_pack("{s:s,s:[]}", "status", "missing", "drift");
        return FB_OK;
    }
    if (code != 200) {
        ERR(diag, NULL, "IBM Quantum refused the token (HTTP %ld) while observing job %s", code, jid);
        return FB_AUTH;
    }
    const char *s = job_status(j);
    const char *verdict = is(s, "Completed") ? "ready" : (is(s, "Failed") || is(s, "Cancelled")) ? "failed"
                        : "pending";
    *out = json_pack("{s:s,s:[],s:{s:s,s:s}}", "status", verdict, "drift", "live", "jobId", jid, "status",
                     s ? s : "Unknown");
    json_decref(j);
    return FB_OK;
}

fb_status qd_ibm_destroy(fb_driver_ctx *c, json_t *dep, json_t **out, fb_diag *diag)
{
    const char *jid, *region;
    if (qd_deployment_id(dep, "jobId", "IBM", &jid, &region, diag) != 0) {
        if (json_is_true(json_object_get(json_object_get(dep, "state"), "dryRun"))) {
            *out = json_pack("{s:[]}", "deleted");
            return FB_OK;
        }
        return FB_INVALID;
    }
    char *token = NULL;
    fb_status st = bearer(c, 0, &token, diag);
    if (st != FB_OK) return st;
    char *path = fbk_xasprintf("/jobs/%s/cancel", jid);
    fb_http_response resp;
    st = call(c, token, region, "POST", path, NULL, FB_HTTP_IDEMPOTENT, &resp, diag);
    free(path);
    fbk_free_secret(token);
    if (st != FB_OK) return st;
    long s = resp.status;
    if (s == 200 || s == 202 || s == 204 || s == 404 || s == 409 || s == 0) {
        *out = json_pack("{s:[s],s:s}", "deleted", jid, "how",
                         s == 404 ? "already gone" : s == 409 ? "already ended" : s == 0 ? "dry run" : "cancelled");
    } else {
        st = failure("cancel job", &resp, diag);
    }
    qd_host->http_free(&resp);
    return st;
}
