/* evaluate.c - every candidate evaluated once: one evaluation per workload
 * shape and offer (workloads that differ only in metadata share theirs;
 * docs/driver-abi.md, "Plan calls"), spread over the machine's cores.
 *
 * Each evaluation writes only its own candidate, and everything that reads
 * the candidates afterwards walks them in shape and offer order, so the
 * plan does not depend on which thread evaluated what. The drivers' verbs
 * run concurrently on one context, as the ABI allows (the contexts are made
 * here, on this thread, before the workers start). */
#include "config.h"
#include "plan/plan_int.h"
#include "broker/fanout.h"

#include <stdlib.h>
#include <unistd.h>

/* One job: candidate k of the shapes in order. */
typedef struct eval_job {
    model *m;
    size_t *first;  /* by shape: the index of its first candidate */
} eval_job;

static fb_status eval_one(void *ud, size_t i)
{
    eval_job *j = ud;
    model *m = j->m;
    /* the shape holding candidate i: the last whose first is <= i */
    size_t lo = 0, hi = m->nshapes;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (j->first[mid] <= i) lo = mid;
        else hi = mid;
    }
    shape *sh = m->shapes[lo];
    fbi_plan_evaluate(m, sh, &sh->opts[i - j->first[lo]]);
    return FB_OK;
}

/* The shape's canonical text, for the drivers' input. */
static fb_status dump_one(void *ud, size_t i)
{
    model *m = ud;
    m->shapes[i]->doc_text = fbi_json_canonical(m->shapes[i]->doc);
    return FB_OK;
}

/* How many threads evaluate: FEDBROKER_PLAN_THREADS, else the online
 * cores (at most 16). */
static unsigned eval_threads(void)
{
    const char *env = getenv("FEDBROKER_PLAN_THREADS");
    long n = env && *env ? strtol(env, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    if (n > 16) n = 16;
    return (unsigned)n;
}

void fbi_plan_evaluate_all(model *m)
{
    /* configure every driver with offers here: configure is not called
     * concurrently, the verbs are */
    for (size_t k = 0; k < m->noffers; k++) {
        if (k && !strcmp(m->offers[k].provider, m->offers[k - 1].provider)) continue;
        const fb_driver *drv;
        fb_driver_ctx *ctx;
        fb_diag *scratch = fb_diag_new(); /* each evaluation reports its own failure */
        fb_registry_context(m->b->reg, m->offers[k].provider, &drv, &ctx, scratch);
        fb_diag_free(scratch);
    }
    unsigned threads = eval_threads();
    fbi_fanout(m->nshapes, threads, dump_one, m, NULL);
    eval_job j = {m, fbi_xcalloc(m->nshapes + 1, sizeof *j.first)};
    size_t n = 0;
    for (size_t i = 0; i < m->nshapes; i++) {
        j.first[i] = n;
        n += m->shapes[i]->nopts;
    }
    fbi_fanout(n, threads, eval_one, &j, NULL);
    free(j.first);
    for (size_t i = 0; i < m->nshapes; i++) {
        shape *sh = m->shapes[i];
        free(sh->doc_text);
        sh->doc_text = NULL;
        if (!m->o->stats) continue;
        m->o->stats->evaluations += sh->nopts;
        for (size_t k = 0; k < sh->nopts; k++) {
            m->o->stats->validate_calls += sh->opts[k].validated;
            m->o->stats->usage_calls += sh->opts[k].estimated;
        }
    }
}
