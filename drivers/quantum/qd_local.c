/*
 * qd_local.c - the local backend: fedbroker's state-vector simulator
 * (quantum/libfbq) run inside apply. No account, no network: the job runs
 * synchronously with the spec's shots and seed under settings.memoryLimit,
 * and apply returns the counts as its "result" (the broker stores it with
 * the deployment).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qd.h"

#define ERR(diag, ptr, ...) fbk_diag(qd_host, diag, FB_SEV_ERROR, ptr, "quantum: " __VA_ARGS__)

/* Largest number of outcome bits for which apply also returns the exact
 * probabilities of a static circuit (2^16 entries at most). */
#define QD_PROB_MAX_CLBITS 16

/* The layout of outcome keys ("c1 c0"), new. */
static json_t *layout_json(const fbq_program *p)
{
    char *l = fbq_outcome_layout(p);
    json_t *j = json_string(l ? l : "");
    free(l);
    return j;
}

json_t *qd_local_render(fb_driver_ctx *c, qd_job *job)
{
    char id[65];
    qd_job_id(job, id);
    char *q3 = NULL;
    fbq_error e;
    if (fbq_to_qasm3(job->prog, &q3, &e) != FBQ_OK) q3 = NULL;
    json_t *body = json_pack("{s:s,s:s,s:s,s:I,s:I,s:b,s:I,s:i,s:i,s:o,s:b}", "id", id, "program",
                             q3 ? q3 : job->source, "language", q3 ? "openqasm3" : "as written", "shots",
                             (json_int_t)job->shots, "seed", (json_int_t)job->seed, "seedGiven", job->has_seed,
                             "memoryLimitBytes", (json_int_t)c->memory_limit, "qubits", job->qubits, "clbits",
                             job->clbits, "layout", layout_json(job->prog), "dynamic", job->dynamic);
    free(q3);
    return json_pack("{s:s,s:s,s:s,s:o}", "api", "fedbroker/quantum-local/v1", "kind", "LocalRun", "region",
                     "local", "body", body);
}

/* The status a simulator error maps to. */
static fb_status sim_status(fbq_status s)
{
    switch (s) {
    case FBQ_EMEMORY: return FB_QUOTA;
    case FBQ_EUNSUPPORTED:
    case FBQ_EINVALID:
    case FBQ_ESYNTAX:
    case FBQ_EUNDEFINED:
    case FBQ_EARGS:
    case FBQ_ERANGE:
    case FBQ_EDUPLICATE:
    case FBQ_EINCLUDE: return FB_INVALID;
    default: return FB_INTERNAL;
    }
}

/* Runs the program; *out is the result document (new). */
static fb_status run(fb_driver_ctx *c, qd_job *job, int probabilities, json_t **out, fb_diag *diag)
{
    fbq_options o;
    fbq_options_init(&o);
    o.shots = job->shots;
    o.seed = job->seed;
    o.memory_limit = c->memory_limit;
    o.want_probabilities = probabilities;
    fbq_result *r = NULL;
    fbq_error e;
    fbq_status s = fbq_simulate(job->prog, &o, &r, &e);
    if (s != FBQ_OK) {
        char buf[1200];
        fbq_error_format(&e, buf, sizeof buf);
        ERR(diag, "/spec/program/source", "the local simulator refused the program: %s%s", buf,
            s == FBQ_EMEMORY ? "\nraise settings.memoryLimit or place the job on Braket or IBM" : "");
        return sim_status(s);
    }
    char *text = fbq_result_to_json(r);
    fbq_result_free(r);
    *out = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    if (!*out) {
        ERR(diag, NULL, "the simulator's result is not JSON (a bug in quantum/)");
        return FB_INTERNAL;
    }
    return FB_OK;
}

fb_status qd_local_apply(fb_driver_ctx *c, qd_job *job, json_t **out, fb_diag *diag)
{
    char id[65];
    qd_job_id(job, id);
    json_t *state = json_pack("{s:s,s:s,s:s,s:i,s:i,s:I,s:I,s:o}", "backend", "local", "id", id, "device",
                              "statevector", "qubits", job->qubits, "clbits", job->clbits, "shots",
                              (json_int_t)job->shots, "seed", (json_int_t)job->seed, "layout",
                              layout_json(job->prog));
    if (qd_host->dry_run(diag)) {
        /* Nothing is sent and nothing runs: this is the state a run would
         * leave, marked so observe can tell. */
        json_object_set_new(state, "dryRun", json_true());
        *out = json_pack("{s:o,s:[]}", "state", state, "resources");
        return FB_OK;
    }
    json_t *result = NULL;
    fb_status st = run(c, job, 0, &result, diag);
    if (st != FB_OK) {
        json_decref(state);
        return st;
    }
    /* The run exists from here on: record it before anything else. */
    json_t *rec = json_pack("{s:s,s:s,s:s,s:s}", "type", "quantum-local-job", "id", id, "region", "local",
                            "device", "statevector");
    char *rt = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
    st = qd_host->record(diag, rt);
    free(rt);
    if (st != FB_OK) {
        json_decref(rec);
        json_decref(state);
        json_decref(result);
        return st;
    }
    /* Exact probabilities too, for static circuits with few outcome bits. */
    if (!job->dynamic && job->clbits <= QD_PROB_MAX_CLBITS) {
        json_t *pr = NULL;
        if (run(c, job, 1, &pr, diag) == FB_OK) /* a failure is reported: it should not happen */
            json_object_set(result, "probabilities", json_object_get(pr, "probabilities"));
        json_decref(pr);
    }
    json_object_set_new(result, "backend", json_string("local"));
    json_object_set_new(result, "device", json_string("statevector"));
    json_object_set_new(result, "id", json_string(id));
    char *rtext = json_dumps(result, JSON_COMPACT | JSON_SORT_KEYS);
    char hash[65];
    fbk_sha256_hex(rtext, strlen(rtext), hash);
    free(rtext);
    json_object_set_new(state, "resultSha256", json_string(hash));
    json_object_set_new(state, "outcomes", json_integer((json_int_t)json_object_size(json_object_get(result, "counts"))));
    *out = json_pack("{s:o,s:o,s:[o]}", "state", state, "result", result, "resources", rec);
    return FB_OK;
}
